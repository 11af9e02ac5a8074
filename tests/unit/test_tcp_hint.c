/*
 * test_tcp_hint.c - the rx burst's pre-pass for TCP GETs (net/tcp_hint.h)
 * is hints only: wc_tcp_hint_payload finds exactly the keys of the whole
 * GETs in a payload (memcached get/gets/mg, RESP GET, one or pipelined,
 * other commands stepped over) and never reads past it (each payload sits in a buffer of its
 * own size, for ASan); and bursts of mixed frames (truncated, bad header
 * lengths, bad checksums, non-GET commands, pipelined GETs, foreign ports,
 * fragments, keys at the frame's end, UDP) send the same bytes and leave
 * the same connection and store state with the pre-pass on and off, with
 * the pre-pass counting the keys it hinted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_redis.h"
#include "net/tcp_hint.h"
#include "net/tcp_impl.h"
#include "net/udp_out.h"

#define MC 11211
#define RD DP_REDIS_PORT
#define TRACE_MAX (1u << 20)
#define RGET(k) "*2\r\n$3\r\nGET\r\n$" #k "\r\n"

/* ---- wc_tcp_hint_payload ---- */

/* The keys found in s (copied to a buffer of its exact size), joined by '|'. */
static unsigned keys_of(bool resp, const char *s, size_t len, unsigned max, char *joined)
{
	struct wc_tcp_hint_key k[WC_TCP_HINT_MAX];
	uint8_t *buf = malloc(len ? len : 1);
	unsigned n;

	assert_non_null(buf);
	memcpy(buf, s, len);
	n = wc_tcp_hint_payload(resp, buf, (uint32_t)len, k, max);
	joined[0] = 0;
	for (unsigned i = 0; i < n; i++) {
		assert_true(k[i].key >= buf && k[i].key + k[i].klen <= buf + len);
		if (i)
			strcat(joined, "|");
		strncat(joined, (const char *)k[i].key, k[i].klen);
	}
	free(buf);
	return n;
}

static void expect(bool resp, const char *s, const char *want)
{
	char got[4096];

	keys_of(resp, s, strlen(s), WC_TCP_HINT_MAX, got);
	if (strcmp(got, want) != 0)
		fail_msg("%s: found \"%s\", want \"%s\"", s, got, want);
}

static void payload_keys_memcached(void **state)
{
	char req[600], key[252], got[4096];

	(void)state;
	expect(false, "get k1\r\n", "k1");
	expect(false, "get k1\n", "k1");
	expect(false, "gets k1\r\n", "k1");
	expect(false, "get k1\r\nget k22\r\ngets k3\r\n", "k1|k22|k3");
	expect(false, "get k1\r\nset k2 0 0 1\r\nx\r\nget k3\r\n", "k1|k2|k3");	/* a value stepped over */
	expect(false, "set k2 0 0 1\r\nx\r\nget k3\r\n", "k2|k3");
	expect(false, "set k2 0 0 1 noreply\r\nx\r\n", "k2");
	expect(false, "set k2\r\n", "");		/* no space after the key */
	expect(false, "set  k2 0 0 1\r\n", "");
	expect(false, "set k2 0 0 1", "");		/* no newline */
	expect(false, "SET k2 0 0 1\r\nx\r\n", "");
	expect(false, "add k2 0 0 1\r\nx\r\ntouch k3 1\r\n", "");	/* others stepped over */
	/* deletes (a cache's invalidations): their keys too */
	expect(false, "add k2 0 0 1\r\nx\r\ndelete k3\r\n", "k3");
	expect(false, "delete k3 noreply\r\nget k1\r\n", "k3|k1");
	expect(false, "delete k3\n", "");		/* a bare newline: no '\r' or space after it */
	expect(false, "delete k3 0\r\n", "k3");	/* (a hint only: the session reads it) */
	expect(false, "delete  k3\r\n", "");
	expect(false, "delete \r\n", "");
	expect(false, "delete k3", "");
	expect(false, "DELETE k3\r\n", "");
	expect(false, "deletes k3\r\n", "");
	/* the counters: incr, decr */
	expect(false, "incr k3 1\r\ndecr k4 10 noreply\r\nget k1\r\n", "k3|k4|k1");
	expect(false, "incr k3\r\n", "");		/* no delta: not the key's end */
	expect(false, "incr  k3 1\r\n", "");
	expect(false, "INCR k3 1\r\n", "");
	expect(false, "incrs k3 1\r\n", "");
	expect(false, "get a b\r\nget c\r\n", "a|b|c");	/* several keys: each */
	expect(false, "gets a bb ccc\n", "a|bb|ccc");
	expect(false, "get a  b\r\nget c\r\n", "c");	/* two spaces: the session's */
	expect(false, "get a b \r\nget c\r\n", "c");	/* a trailing one */
	expect(false, "get a\tb c\r\nget d\r\n", "d");	/* a control byte */
	expect(false, "get a b", "");			/* no newline */
	expect(false, "get a b\r\nget c d", "a|b");
	expect(false, "get k1", "");		/* the key at the payload's end, no newline */
	expect(false, "get k1\r\nget k2", "k1");
	expect(false, "get k1\r", "");
	expect(false, "get \r\n", "");
	expect(false, "get", "");
	expect(false, "", "");
	expect(false, "GET k1\r\n", "");	/* memcached commands are lower case */
	expect(false, "mg k1 v f t\r\n", "k1");
	expect(false, "mg k1\r\n", "k1");
	expect(false, "mg k1\n", "k1");
	expect(false, "mg k1 v\r\nget k2\r\nmg k3 s v\r\n", "k1|k2|k3");
	expect(false, "mg a2V5 b v\r\n", "");	/* a base64 key: not its bytes */
	expect(false, "mg a2V5 v b\r\nget k2\r\n", "k2");
	expect(false, "mg \r\n", "");
	expect(false, "mg  k1\r\n", "");
	expect(false, "mg k1 v", "");
	expect(false, "mn\r\nget k1\r\n", "k1");
	expect(false, "\n\n\r\nget k1\r\n\n", "k1");
	expect(false, "get k1\r\nget k2\r\nget", "k1|k2");
	memset(key, 'x', sizeof(key));
	for (unsigned n = 248; n <= 252; n++) {
		snprintf(req, sizeof(req), "get %.*s\r\n", (int)n, key);
		if (n <= 250) {
			assert_int_equal(keys_of(false, req, strlen(req), 8, got), 1);
			assert_int_equal(strlen(got), n);
		}
		snprintf(req, sizeof(req), "mg %.*s v\r\n", (int)n, key);
		assert_int_equal(keys_of(false, req, strlen(req), 8, got), n <= 250 ? 1 : 0);
	}
	/* a get of several keys, one of them over 250 bytes: none */
	snprintf(req, sizeof(req), "get a %.250s b\r\n", key);
	assert_int_equal(keys_of(false, req, strlen(req), 8, got), 3);
	snprintf(req, sizeof(req), "get a %.251s b\r\nget c\r\n", key);
	assert_int_equal(keys_of(false, req, strlen(req), 8, got), 1);
	assert_string_equal(got, "c");
	/* at most max */
	assert_int_equal(keys_of(false, "get a\r\nget b\r\nget c\r\nget d\r\n", 28, 2, got), 2);
	assert_string_equal(got, "a|b");
	assert_int_equal(keys_of(false, "get a b c d\r\nget e\r\n", 20, 3, got), 3);
	assert_string_equal(got, "a|b|c");
	assert_int_equal(keys_of(false, "get a\r\nget b c d\r\n", 19, 2, got), 2);
	assert_string_equal(got, "a|b");
	assert_int_equal(keys_of(false, "get a\r\nget b\r\n", 14, 0, got), 0);
}

static void payload_keys_resp(void **state)
{
	char req[600], key[252], got[4096];
	int mlen;

	(void)state;
	expect(true, RGET(1) "k\r\n", "k");
	expect(true, RGET(2) "k1\r\n", "k1");
	expect(true, "*2\r\n$3\r\nget\r\n$2\r\nk1\r\n", "k1");
	expect(true, "*2\r\n$3\r\nGeT\r\n$2\r\nk1\r\n", "k1");
	expect(true, RGET(2) "k1\r\n" RGET(3) "k22\r\n" RGET(2) "k3\r\n", "k1|k22|k3");
	expect(true, RGET(2) "k1\r\n" "*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$1\r\nx\r\n" RGET(2) "k3\r\n",
	       "k1|k2|k3");
	expect(true, "*5\r\n$3\r\nsEt\r\n$2\r\nk2\r\n$1\r\nx\r\n$2\r\nEX\r\n$2\r\n10\r\n", "k2");
	expect(true, "*2\r\n$3\r\nSET\r\n$2\r\nk2\r\n" RGET(2) "k1\r\n", "k1");	/* no value */
	expect(true, "*3\r\n$3\r\nGET\r\n$2\r\nk2\r\n$1\r\nx\r\n", "");	/* GET with two */
	expect(true, "*3\r\n$3\r\nSEX\r\n$2\r\nk2\r\n$1\r\nx\r\n", "");
	expect(true, "*3\r\n$4\r\nHSET\r\n$2\r\nk2\r\n$1\r\nx\r\n" RGET(2) "k1\r\n", "k1");
	/* the cache-aside writes: SETEX, PSETEX, a one-key DEL (any case) */
	expect(true, "*4\r\n$5\r\nSETEX\r\n$2\r\nk2\r\n$3\r\n300\r\n$1\r\nx\r\n"
		     "*4\r\n$6\r\npsetex\r\n$2\r\nk3\r\n$1\r\n5\r\n$1\r\nx\r\n"
		     "*2\r\n$3\r\nDel\r\n$2\r\nk4\r\n" RGET(2) "k1\r\n", "k2|k3|k4|k1");
	expect(true, "*3\r\n$3\r\nDEL\r\n$2\r\nk2\r\n$2\r\nk3\r\n" RGET(2) "k1\r\n", "k1");
	expect(true, "*3\r\n$5\r\nSETEX\r\n$2\r\nk2\r\n$1\r\nx\r\n" RGET(2) "k1\r\n", "k1");
	expect(true, "*4\r\n$5\r\nSETEY\r\n$2\r\nk2\r\n$1\r\n1\r\n$1\r\nx\r\n", "");
	expect(true, "*2\r\n$4\r\nDELS\r\n$2\r\nk2\r\n*2\r\n$2\r\nDE\r\n$2\r\nk2\r\n", "");
	expect(true, "*2\r\n$3\r\nDEL\r\n$0\r\n\r\n", "");
	/* the counters: INCR, DECR, INCRBY, DECRBY (any case); other counts or names not */
	expect(true, "*2\r\n$4\r\nINCR\r\n$2\r\nk2\r\n*2\r\n$4\r\ndecr\r\n$2\r\nk3\r\n"
		     "*3\r\n$6\r\nIncrBy\r\n$2\r\nk4\r\n$1\r\n5\r\n"
		     "*3\r\n$6\r\nDECRBY\r\n$2\r\nk5\r\n$2\r\n-5\r\n" RGET(2) "k1\r\n",
	       "k2|k3|k4|k5|k1");
	expect(true, "*3\r\n$4\r\nINCR\r\n$2\r\nk2\r\n$1\r\n1\r\n" RGET(2) "k1\r\n", "k1");
	expect(true, "*2\r\n$6\r\nINCRBY\r\n$2\r\nk2\r\n" RGET(2) "k1\r\n", "k1");
	expect(true, "*3\r\n$11\r\nINCRBYFLOAT\r\n$2\r\nk2\r\n$1\r\n1\r\n", "");
	expect(true, "*2\r\n$4\r\nINCX\r\n$2\r\nk2\r\n", "");
	expect(true, "*1\r\n$4\r\nPING\r\n" RGET(2) "k1\r\n", "k1");
	expect(true, "*2\r\n$3\r\nGET\r\n$0\r\n\r\n" RGET(2) "k1\r\n", "k1");	/* (an empty key) */
	expect(true, "*3\r\n$3\r\nGET\r\n$2\r\nk1\r\n$1\r\nx\r\n" RGET(2) "k2\r\n", "k2");
	expect(true, "PING\r\n" RGET(2) "k1\r\n", "");		/* an inline command: the end */
	expect(true, "*0\r\n" RGET(2) "k1\r\n", "");
	expect(true, "*1\r\n:1\r\n" RGET(2) "k1\r\n", "");
	expect(true, "*1\r\n$1234567890\r\n", "");			/* ten digits */
	expect(true, "*1\r\n$-1\r\n" RGET(2) "k1\r\n", "");
	expect(true, "*1\r\n$999999999\r\nab\r\n", "");
	expect(true, RGET(9) "k1\r\n", "");		/* the length says more than there is */
	expect(true, RGET(2) "k12\r\n", "");		/* ... or less */
	expect(true, RGET(1) "k1\r\n", "");
	expect(true, RGET(02) "k1\r\n", "k1");		/* a leading zero: the general path judges */
	expect(true, RGET(0) "\r\n", "");
	expect(true, RGET(1000) "k\r\n", "");		/* four digits */
	expect(true, RGET(2x) "k1\r\n", "");
	expect(true, RGET(2) "k1\r\n" RGET(2) "k2\r", "k1");	/* the key at the payload's end */
	expect(true, RGET(2) "k1", "");
	expect(true, RGET(2), "");
	expect(true, "*2\r\n$3\r\nGET\r\n", "");
	expect(true, "*3\r\n$3\r\nGET\r\n$2\r\nk1\r\n", "");
	expect(true, "*2\r\n$3\r\nGEX\r\n$2\r\nk1\r\n", "");
	expect(true, "get k1\r\n", "");
	expect(true, "", "");
	memset(key, 'y', sizeof(key));
	for (unsigned n = 1; n <= 252; n++) {
		int len = snprintf(req, sizeof(req), RGET(%u) "%.*s\r\n", n, (int)n, key);

		assert_int_equal(keys_of(true, req, (size_t)len, 8, got), n <= 250 ? 1 : 0);
		if (n <= 250)
			assert_int_equal(strlen(got), n);
		/* every cut short of the whole: nothing */
		assert_int_equal(keys_of(true, req, (size_t)len - 1, 8, got), 0);
	}
	assert_int_equal(keys_of(true, RGET(1) "a\r\n" RGET(1) "b\r\n", 40, 1, got), 1);
	assert_string_equal(got, "a");
	/* MGETs: every key of 1..250 bytes, any case, whole commands only, at most max */
	expect(true, "*2\r\n$4\r\nMGET\r\n$2\r\nk1\r\n", "k1");
	expect(true, "*4\r\n$4\r\nmGeT\r\n$2\r\nk1\r\n$1\r\nk\r\n$3\r\nk22\r\n" RGET(2) "k3\r\n",
	       "k1|k|k22|k3");
	expect(true, "*3\r\n$4\r\nMGET\r\n$0\r\n\r\n$2\r\nk1\r\n", "k1");
	expect(true, "*3\r\n$4\r\nMGET\r\n$2\r\nk1\r\n$2\r\nk2", "");	/* cut short */
	expect(true, "*3\r\n$4\r\nMGEX\r\n$2\r\nk1\r\n$2\r\nk2\r\n" RGET(2) "k3\r\n", "k3");
	expect(true, "*1\r\n$4\r\nMGET\r\n" RGET(2) "k3\r\n", "k3");
	expect(true, "*3\r\n$5\r\nMGETX\r\n$2\r\nk1\r\n$2\r\nk2\r\n", "");
	mlen = snprintf(req, sizeof(req), "*4\r\n$4\r\nMGET\r\n$2\r\nk1\r\n$251\r\n%.251s\r\n"
		       "$250\r\n%.250s\r\n", key, key);
	assert_int_equal(keys_of(true, req, (size_t)mlen, 8, got), 2);
	assert_int_equal(strlen(got), 2 + 1 + 250);
#define MGET_ABC "*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n" RGET(1) "d\r\n"
	assert_int_equal(keys_of(true, MGET_ABC, sizeof(MGET_ABC) - 1, 2, got), 2);
	assert_string_equal(got, "a|b");
#define GET_MGET RGET(1) "a\r\n*3\r\n$4\r\nMGET\r\n$1\r\nb\r\n$1\r\nc\r\n"
	assert_int_equal(keys_of(true, GET_MGET, sizeof(GET_MGET) - 1, 2, got), 2);
	assert_string_equal(got, "a|b");
}

/* ---- bursts with and without the pre-pass ---- */

static struct dp_harness h;

/* What one run sent and the state it left, in order. */
struct trace {
	size_t n;
	uint8_t bytes[TRACE_MAX];
};

static struct trace *cur;

static void put(const void *p, size_t n)
{
	assert_true(cur->n + n <= TRACE_MAX);
	memcpy(cur->bytes + cur->n, p, n);
	cur->n += n;
}

/* A client connection. */
struct cl {
	uint16_t cport, dport;
	uint32_t seq, ack;
	size_t got;
	char buf[16384];	/* reply bytes received in order (what fits) */
};

#define NCL 4
static struct cl cls[NCL];

static void snap(const struct cl *c)
{
	const struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c->cport, c->dport);
	uint32_t s[6] = { 0 };

	if (t) {
		s[0] = t->snd_una;
		s[1] = t->snd_nxt;
		s[2] = t->rcv_nxt;
		s[3] = t->rcv_adv;
		s[4] = (uint32_t)t->rx.len;
		s[5] = (uint32_t)t->tx.len | (uint32_t)t->state << 24;
	}
	put(s, sizeof(s));
}

/* Record every frame sent, whole, and take each client's reply bytes; then every state. */
static void collect(void)
{
	const struct wc_stats *st = &h.lc->ctx.st;

	for (unsigned i = 0; i < h.nsent; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(h.sent[i], const uint8_t *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
		const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
		uint32_t n32 = h.sent[i]->data_len;

		put(&n32, sizeof(n32));
		put(f, n32);
		if (ip->next_proto_id != IPPROTO_TCP)
			continue;
		for (unsigned k = 0; k < NCL; k++) {
			struct cl *c = &cls[k];
			uint16_t hl = (uint16_t)((th->data_off >> 4) * 4u);
			uint16_t len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - 20 - hl);

			if (rte_be_to_cpu_16(th->dst_port) != c->cport ||
			    rte_be_to_cpu_32(th->sent_seq) != c->ack || !len)
				continue;
			if (c->got + len <= sizeof(c->buf))
				memcpy(c->buf + c->got, (const uint8_t *)th + hl, len);
			c->got += len;
			c->ack += len;
		}
	}
	dp_clear_sent(&h);
	for (unsigned k = 0; k < NCL; k++)
		snap(&cls[k]);
	put(&st->get_hits, sizeof(st->get_hits));
	put(&st->get_misses, sizeof(st->get_misses));
	put(&st->ops, sizeof(st->ops));
	put(h.lc->ns.drops, sizeof(h.lc->ns.drops));
	put(&h.lc->ns.rx_pkts, sizeof(h.lc->ns.rx_pkts));
	put(&h.lc->tcp->st, sizeof(h.lc->tcp->st));
}

/* ---- a burst being built ---- */

static struct rte_mbuf *pkts[WC_RX_BURST];
static unsigned npkts;

/* Queue frame f[0..len) (at most keep bytes of it) for the burst. */
static void add_frame(const uint8_t *f, size_t len, size_t keep)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h.app.pool);

	assert_non_null(m);
	assert_true(npkts < WC_RX_BURST);
	if (keep < len)
		len = keep;
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	pkts[npkts++] = m;
}

/* A segment from c carrying data, queued; advance: the node takes it (c's seq moves on). */
static void add_seg(struct cl *c, const char *data, bool advance)
{
	uint8_t f[2048];
	size_t n = strlen(data);

	add_frame(f, dp_tcp_ports(f, c->cport, c->dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				  c->seq, c->ack, 65535, data, n, NULL, 0), SIZE_MAX);
	if (advance)
		c->seq += (uint32_t)n;
}

/* Serve the burst as the worker loop does, then let every client acknowledge. */
static void run_burst(void)
{
	uint8_t f[128];

	wc_net_input_burst(h.lc, 0, pkts, npkts, NULL);
	npkts = 0;
	wc_mc_udp_poll(h.lc);
	rd_push_output(h.lc);
	wc_net_flush(h.lc);
	collect();
	for (unsigned k = 0; k < NCL; k++) {
		dp_input(&h, f, dp_tcp_ports(f, cls[k].cport, cls[k].dport, RTE_TCP_ACK_FLAG,
					     cls[k].seq, cls[k].ack, 65535, NULL, 0, NULL, 0));
		collect();
	}
}

static void open_cl(struct cl *c, uint16_t cport, uint16_t dport)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	uint8_t f[256];
	const struct rte_tcp_hdr *th;

	memset(c, 0, sizeof(*c));
	c->cport = cport;
	c->dport = dport;
	c->seq = 7000;
	dp_input(&h, f, dp_tcp_ports(f, cport, dport, RTE_TCP_SYN_FLAG, c->seq, 0, 65535, NULL, 0,
				     opts, sizeof(opts)));
	assert_int_equal(h.nsent, 1);
	th = (const struct rte_tcp_hdr *)(rte_pktmbuf_mtod(h.sent[0], const uint8_t *) +
					  RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr));
	c->ack = rte_be_to_cpu_32(th->sent_seq) + 1;
	c->seq++;
	collect();
	dp_input(&h, f, dp_tcp_ports(f, cport, dport, RTE_TCP_ACK_FLAG, c->seq, c->ack, 65535, NULL,
				     0, NULL, 0));
	collect();
}

/* A value stored over c, one request at a time. */
static void store(struct cl *c, const char *req)
{
	add_seg(c, req, true);
	run_burst();
}

static bool has(const struct cl *c, const char *s)
{
	return memmem(c->buf, c->got < sizeof(c->buf) ? c->got : sizeof(c->buf), s,
		      strlen(s)) != NULL;
}

/* The frames of the mixed burst; returns the keys a pre-pass should hint. */
static unsigned mixed_burst(void)
{
	struct cl *a = &cls[0], *b = &cls[1], *r = &cls[2], *r2 = &cls[3];
	uint8_t f[2048];
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	char big[300];
	size_t n;

	add_seg(a, "get k1\r\n", true);					/* 1 */
	add_seg(b, "get k2\r\nget k3\r\nget nokey\r\n", true);		/* 3 */
	add_seg(r, RGET(2) "k1\r\n", true);				/* 1 */
	/* cut short: the IPv4 length says more than the frame has */
	n = dp_tcp_ports(f, a->cport, a->dport, RTE_TCP_ACK_FLAG, a->seq, a->ack, 65535,
			 "get k2\r\n", 8, NULL, 0);
	add_frame(f, n, n - 3);
	/* a TCP header longer than the segment */
	n = dp_tcp_ports(f, a->cport, a->dport, RTE_TCP_ACK_FLAG, a->seq, a->ack, 65535,
			 "get k2\r\n", 8, NULL, 0);
	((struct rte_tcp_hdr *)(f + RTE_ETHER_HDR_LEN + 20))->data_off = 0xf0;
	add_frame(f, n, SIZE_MAX);
	/* ... and one shorter than a TCP header */
	((struct rte_tcp_hdr *)(f + RTE_ETHER_HDR_LEN + 20))->data_off = 0x40;
	add_frame(f, n, SIZE_MAX);
	/* a GET to a port nobody listens on */
	n = dp_tcp_ports(f, 31999, 12345, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 1, 1, 65535,
			 "get k1\r\n", 8, NULL, 0);
	add_frame(f, n, SIZE_MAX);
	/* a fragment (checksums right) */
	n = dp_tcp_ports(f, a->cport, a->dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, a->seq,
			 a->ack, 65535, "get k1\r\n", 8, NULL, 0);
	ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	add_frame(f, n, SIZE_MAX);
	/* a GET whose TCP checksum is wrong: hinted, then dropped as before */
	n = dp_tcp_ports(f, a->cport, a->dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, a->seq,
			 a->ack, 65535, "get k2\r\n", 8, NULL, 0);
	th = (struct rte_tcp_hdr *)(f + RTE_ETHER_HDR_LEN + 20);
	th->cksum ^= 0x1234;
	add_frame(f, n, SIZE_MAX);					/* 1 */
	add_seg(a, "set k4 0 0 1\r\nx\r\n", true);			/* 1: a SET */
	add_seg(b, "get k5", true);					/* at the frame's end */
	add_seg(b, "\r\n", true);
	add_seg(a, "mg k1 v f\r\n", true);				/* 1 */
	add_seg(a, "mg a2V5 b v\r\n", true);				/* base64: none */
	/* a memcached GET over UDP: the UDP burst path's */
	n = dp_mc_udp(f, 7, 0, 1, "get k1\r\n", 8, DP_CLIENT);
	add_frame(f, n, SIZE_MAX);
	memset(big, 0, sizeof(big));
	memcpy(big, "get ", 4);
	memset(big + 4, 'z', 250);
	memcpy(big + 254, "\r\n", 2);
	add_seg(b, big, true);						/* 1, at the frame's end */
	add_seg(r, RGET(2) "k1\r\n" RGET(2) "k2\r\n", true);		/* 2 */
	add_seg(r2, RGET(x) "k1\r\n", true);				/* a bad length */
	add_seg(a, "set k6 0 0 2\r\nhi\r\nget k6\r\n", true);		/* 2: a SET, a GET */
	add_seg(r, "*3\r\n$3\r\nSET\r\n$2\r\nk7\r\n$2\r\nho\r\n" RGET(2) "k7\r\n", true);	/* 2 */
	add_seg(b, "gets k1 nokey k2\r\n", true);				/* 3: a get of several */
	add_seg(r, "*3\r\n$4\r\nMGET\r\n$2\r\nk1\r\n$2\r\nk3\r\n", true);	/* 2: an MGET */
	return 1 + 3 + 1 + 1 + 1 + 1 + 1 + 2 + 2 + 2 + 3 + 2;
}

/* A burst of more GETs than the pre-pass hints (WC_TCP_HINT_MAX). */
static unsigned long_burst(void)
{
	char mc[40 * 16], rd[40 * 32];
	size_t m = 0, r = 0;

	for (unsigned i = 0; i < 30; i++) {
		m += (size_t)snprintf(mc + m, sizeof(mc) - m, "get k%u\r\n", i % 6);
		r += (size_t)snprintf(rd + r, sizeof(rd) - r, RGET(2) "k%u\r\n", i % 6);
	}
	add_seg(&cls[0], mc, true);
	add_seg(&cls[1], mc, true);
	add_seg(&cls[2], rd, true);
	add_seg(&cls[0], mc, true);
	add_seg(&cls[1], mc, true);
	assert_true(5 * 30 > WC_TCP_HINT_MAX);
	return WC_TCP_HINT_MAX;
}

/* The whole script, with the pre-pass on or off; the keys it hinted. */
static uint64_t run(struct trace *t, bool hint)
{
	unsigned want;

	cur = t;
	t->n = 0;
	npkts = 0;
	assert_int_equal(dp_redis_setup(&h, 48u << 20, 30000), 0);
	h.lc->tcp->cookie_secret = 0x5eed;	/* the same initial sequence numbers in both runs */
	h.lc->tcp->no_hint = !hint;
	wc_udp_ip_id = 0;	/* the UDP reply's IPv4 id too */
	open_cl(&cls[0], 31001, MC);
	open_cl(&cls[1], 31002, MC);
	open_cl(&cls[2], 31003, RD);
	open_cl(&cls[3], 31004, RD);
	store(&cls[0], "set k1 0 0 5\r\nhello\r\n");
	store(&cls[0], "set k2 3 0 5\r\nworld\r\n");
	store(&cls[2], "*3\r\n$3\r\nSET\r\n$2\r\nk3\r\n$4\r\nresp\r\n");
	h.lc->tcp->hinted = 0;
	want = mixed_burst();
	run_burst();
	assert_int_equal(h.lc->tcp->hinted, hint ? want : 0);
	assert_true(has(&cls[0], "VALUE k1 0 5\r\nhello\r\nEND\r\n"));
	assert_true(has(&cls[0], "STORED\r\n"));
	assert_true(has(&cls[1], "VALUE k2 3 5\r\nworld\r\nEND\r\nVALUE k3 0 4\r\nresp\r\nEND\r\nEND\r\n"));
	assert_true(has(&cls[2], "$5\r\nhello\r\n$5\r\nhello\r\n$5\r\nworld\r\n"));
	assert_true(has(&cls[3], "-ERR"));
	assert_true(has(&cls[0], "STORED\r\nVALUE k6 0 2\r\nhi\r\nEND\r\n"));
	assert_true(has(&cls[2], "+OK\r\n$2\r\nho\r\n"));
	assert_true(has(&cls[1], "VALUE k1 0 5 "));
	assert_true(has(&cls[2], "*2\r\n$5\r\nhello\r\n$4\r\nresp\r\n"));
	h.lc->tcp->hinted = 0;
	want = long_burst();
	run_burst();
	assert_int_equal(h.lc->tcp->hinted, hint ? want : 0);
	dp_teardown(&h);
	return hint ? want : 0;
}

static void burst_same_with_and_without(void **state)
{
	static struct trace on, off;

	(void)state;
	run(&on, true);
	run(&off, false);
	assert_int_equal(on.n, off.n);
	for (size_t i = 0; i < on.n; i++)
		if (on.bytes[i] != off.bytes[i])
			fail_msg("the runs differ at byte %zu of %zu", i, on.n);
}

/* The pre-pass on its own: a burst's GETs hinted, nothing served, nothing changed. */
static void hint_burst_alone(void **state)
{
	static struct trace t;
	struct wc_stats before;
	uint64_t rx;

	(void)state;
	cur = &t;
	t.n = 0;
	npkts = 0;
	assert_int_equal(dp_redis_setup(&h, 48u << 20, 30000), 0);
	open_cl(&cls[0], 31001, MC);
	open_cl(&cls[2], 31003, RD);
	before = h.lc->ctx.st;
	rx = h.lc->ns.rx_pkts;
	add_seg(&cls[0], "get k1\r\nget k2\r\n", false);
	add_seg(&cls[2], RGET(2) "k1\r\n", false);
	add_seg(&cls[0], "version\r\n", false);
	assert_int_equal(wc_tcp_hint_burst(h.lc, 0, pkts, npkts), 3);
	assert_int_equal(h.lc->tcp->hinted, 3);
	assert_int_equal(h.nsent, 0);
	assert_int_equal(h.lc->ns.rx_pkts, rx);
	assert_memory_equal(&h.lc->ctx.st, &before, sizeof(before));
	/* off, or Redis off: none */
	h.lc->tcp->no_hint = true;
	assert_int_equal(wc_tcp_hint_burst(h.lc, 0, pkts, npkts), 0);
	h.lc->tcp->no_hint = false;
	h.app.cfg.redis_port = 0;
	assert_int_equal(wc_tcp_hint_burst(h.lc, 0, pkts, npkts), 2);
	h.app.cfg.redis_port = RD;
	/* a cluster where another node serves some slots: the general path routes, no hints */
	wc_slot_table_of(h.app.slot_part)->remote = true;
	assert_int_equal(wc_tcp_hint_burst(h.lc, 0, pkts, npkts), 0);
	wc_slot_table_of(h.app.slot_part)->remote = false;
	assert_int_equal(wc_tcp_hint_burst(h.lc, 0, pkts, npkts), 3);
	for (unsigned i = 0; i < npkts; i++)
		rte_pktmbuf_free(pkts[i]);
	npkts = 0;
	dp_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(payload_keys_memcached),
		cmocka_unit_test(payload_keys_resp),
		cmocka_unit_test(burst_same_with_and_without),
		cmocka_unit_test(hint_burst_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
