/*
 * test_tcp_fast.c - TCP's fast paths (header prediction in, one whole reply
 * out from the connection's header template) against the general paths,
 * over the NIC-less harness: the same script of segments run once with the
 * fast paths on and once with them off (wc_tcp_lc.slow_only, which also
 * turns off memcached's single-GET answer) must send the
 * same bytes and leave every connection in the same state (sequence numbers,
 * windows, the retransmission queue, timers), with and without timestamps,
 * for memcached and Redis, with checksums computed here and by the "NIC";
 * and each case off the fast paths' narrow one must fall back to the general
 * path. memcached sets on the fast path (mc_tcp.c fast_set) the same: the
 * same bytes, connection states, stored items (value, flags, exptime, CAS)
 * and store counters as the session's, and every set it must not take
 * (cut short, a bad chunk end, too large, numbers or keys mc_parse_line
 * refuses or reads otherwise, fenced, a read-only replica, a full send
 * queue) left to the session. memcached deletes and Redis's cache-aside
 * writes (SET EX/PX, SETEX, PSETEX, a one-key DEL) the same, with every
 * case their fast paths leave to the session (bad numbers, other options,
 * more keys, other spellings, ACL, fencing, a read-only replica).
 * memcached gets of several keys (fast_multi_get) and Redis MGETs
 * (mget_fast) likewise: replies, items, store and engine counters,
 * tracking, the ACL, replies that fill the send queue part way through a
 * get line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/fence.h"
#include "core/slots.h"
#include "dp_redis.h"
#include "net/tcp_impl.h"
#include "proto/mc_set_line.h"
#include "redis/replica_impl.h"
#include "store/part.h"

#define MC 11211
#define RD DP_REDIS_PORT
#define TRACE_MAX (4u << 20)

static struct dp_harness h;

/* What one run sent, frame after frame, and the connections' states along the way. */
struct trace {
	size_t n;
	uint8_t bytes[TRACE_MAX];
};

/* The state of a connection that the two paths must leave alike. */
struct tcb_state {
	uint32_t snd_una, snd_nxt, snd_max, snd_wnd, cwnd, ssthresh, rcv_nxt, rcv_adv;
	uint32_t rtt_seq, srtt, rttvar, rto_ms, ts_recent;
	uint64_t tx_len, rx_len, t_rto, t_delack, t_persist, t_idle, rtt_start;
	uint8_t state, unacked_segs, dupacks;
	bool ack_now, rtt_active, in_recovery, sack_dirty;
	uint16_t nooo;
};

/* A client connection driven segment by segment. */
struct cl {
	uint16_t cport, dport;
	uint32_t seq, ack;
	bool ts;		/* it sends timestamps (and offered SACK) */
	uint32_t tsval;
	size_t got;		/* reply bytes received in order */
	char last[4096];	/* the newest of them (what fits) */
	size_t nlast;
};

static struct trace *cur;
static bool offload;
static struct cl *other;	/* a second connection whose replies collect() takes too */

/* The fast run's trace is the general run's, byte for byte. */
static void assert_same_trace(const struct trace *fast, const struct trace *slow)
{
	assert_int_equal(fast->n, slow->n);
	for (size_t i = 0; i < fast->n; i++)
		if (fast->bytes[i] != slow->bytes[i])
			fail_msg("the runs differ at byte %zu of %zu", i, fast->n);
}

static void put(const void *p, size_t n)
{
	assert_true(cur->n + n <= TRACE_MAX);
	memcpy(cur->bytes + cur->n, p, n);
	cur->n += n;
}

static void snap(const struct cl *c)
{
	const struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c->cport, c->dport);
	struct tcb_state s;

	memset(&s, 0, sizeof(s));
	if (t) {
		s = (struct tcb_state){
			.snd_una = t->snd_una, .snd_nxt = t->snd_nxt, .snd_max = t->snd_max,
			.snd_wnd = t->snd_wnd, .cwnd = t->cwnd, .ssthresh = t->ssthresh,
			.rcv_nxt = t->rcv_nxt, .rcv_adv = t->rcv_adv, .rtt_seq = t->rtt_seq,
			.srtt = t->srtt, .rttvar = t->rttvar, .rto_ms = t->rto_ms,
			.ts_recent = t->ts_recent, .tx_len = t->tx.len, .rx_len = t->rx.len,
			.t_rto = t->t_rto, .t_delack = t->t_delack, .t_persist = t->t_persist,
			.t_idle = t->t_idle, .rtt_start = t->rtt_start, .state = t->state,
			.unacked_segs = t->unacked_segs, .dupacks = t->dupacks, .ack_now = t->ack_now,
			.rtt_active = t->rtt_active, .in_recovery = t->in_recovery,
			.sack_dirty = t->sack_dirty, .nooo = t->nooo,
		};
	}
	put(&s, sizeof(s));
}

/* c's reply bytes of one segment, in order. */
static void take(struct cl *c, const struct rte_ipv4_hdr *ip, const struct rte_tcp_hdr *th)
{
	uint16_t hl = (uint16_t)((th->data_off >> 4) * 4u);
	uint16_t len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - 20 - hl);
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);

	if (len && seq == c->ack) {
		size_t k = len < sizeof(c->last) ? len : sizeof(c->last);

		memcpy(c->last, (const uint8_t *)th + hl, k);
		c->nlast = k;
		c->got += len;
		c->ack += len;
	}
	if ((th->tcp_flags & RTE_TCP_FIN_FLAG) && seq + len == c->ack)
		c->ack++;
}

/* Record what the node sent (every frame whole), taking c's reply bytes in order. */
static void collect(struct cl *c)
{
	for (unsigned i = 0; i < h.nsent; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(h.sent[i], const uint8_t *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
		const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
		uint32_t n32 = h.sent[i]->data_len;

		put(&n32, sizeof(n32));
		put(f, n32);
		if (ip->next_proto_id == IPPROTO_TCP && other && other != c &&
		    rte_be_to_cpu_16(th->dst_port) == other->cport) {
			take(other, ip, th);
			continue;
		}
		if (ip->next_proto_id != IPPROTO_TCP || rte_be_to_cpu_16(th->dst_port) != c->cport)
			continue;
		if (offload)
			assert_true(h.sent[i]->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM);
		else
			assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, th), 0);
		take(c, ip, th);
	}
	dp_clear_sent(&h);
	snap(c);
}

/* A segment from c: seq given (out of order, repeated) or c's next. */
static void seg_at(struct cl *c, uint32_t seq, uint8_t flags, uint16_t win, const char *data,
		   size_t n)
{
	uint8_t f[4096], o[12] = { 1, 1, 8, 10 };
	uint32_t v[2] = { rte_cpu_to_be_32(++c->tsval), rte_cpu_to_be_32(0) };

	memcpy(o + 4, v, 8);
	dp_input(&h, f, dp_tcp_ports(f, c->cport, c->dport, flags, seq, c->ack, win, data, n,
				     c->ts ? o : NULL, c->ts ? 12 : 0));
	if (seq == c->seq || SEQ_GT(seq + (uint32_t)n, c->seq))
		c->seq = seq + (uint32_t)n;
	collect(c);
}

static void seg(struct cl *c, const char *data)
{
	seg_at(c, c->seq, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 65535, data, strlen(data));
}

static void ack(struct cl *c)
{
	seg_at(c, c->seq, RTE_TCP_ACK_FLAG, 65535, NULL, 0);
}

static void open_cl(struct cl *c, uint16_t cport, uint16_t dport, bool ts)
{
	static const uint8_t plain[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };
	uint8_t full[24] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 1, 1, 4, 2, 1, 1, 8, 10, 0, 0, 0, 1 };
	uint8_t f[256];
	const struct rte_tcp_hdr *th;

	memset(c, 0, sizeof(*c));
	c->cport = cport;
	c->dport = dport;
	c->seq = 5000;
	c->ts = ts;
	c->tsval = 1;
	dp_input(&h, f, dp_tcp_ports(f, cport, dport, RTE_TCP_SYN_FLAG, c->seq, 0, 65535, NULL, 0,
				     ts ? full : plain, ts ? sizeof(full) : sizeof(plain)));
	assert_int_equal(h.nsent, 1);
	th = (const struct rte_tcp_hdr *)(rte_pktmbuf_mtod(h.sent[0], const uint8_t *) +
					  RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr));
	c->ack = rte_be_to_cpu_32(th->sent_seq) + 1;
	c->seq++;
	collect(c);
	ack(c);
}

static void advance(struct cl *c, uint64_t ms)
{
	h.lc->tcp->now_ms += ms;
	h.lc->tcp->now_us += ms * 1000;
	wc_tcp_poll(h.lc);
	wc_net_flush(h.lc);
	collect(c);
}

static bool last_has(const struct cl *c, const char *s)
{
	return memmem(c->last, c->nlast, s, strlen(s)) != NULL;
}

static void up(bool slow)
{
	assert_int_equal(dp_redis_setup(&h, 48u << 20, 30000), 0);
	h.lc->tcp->slow_only = slow;
	h.lc->tcp->cookie_secret = 0x5eed;	/* the same initial sequence numbers in both runs */
	h.app.ports[0].tx_ip_cksum = h.app.ports[0].tx_l4_cksum = offload;
}

/* The script: every kind of segment a connection meets, fast case or not. */
static void script(struct cl *c, bool resp)
{
	char big[3000 + 64], req[320];
	const char *get = resp ? "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n" : "get k1\r\n";

	/* a value, then single GETs acknowledging the previous reply (the fast case) */
	seg(c, resp ? "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$5\r\nhello\r\n" : "set k1 0 0 5\r\nhello\r\n");
	for (int i = 0; i < 4; i++) {
		seg(c, get);
		assert_true(last_has(c, "hello"));
	}
	/* replies of every length up to past what is copied in 16-byte pieces */
	for (unsigned n = 0; n <= 130; n += 3) {
		char v[160];

		memset(v, 'a' + n % 26, n);
		v[n] = 0;
		if (resp)
			snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$2\r\nkv\r\n$%u\r\n%s\r\n", n, v);
		else
			snprintf(req, sizeof(req), "set kv 0 0 %u\r\n%s\r\n", n, v);
		seg(c, req);
		seg(c, resp ? "*2\r\n$3\r\nGET\r\n$2\r\nkv\r\n" : "get kv\r\n");
		assert_true(last_has(c, v));
	}
	seg(c, resp ? "*2\r\n$3\r\nGET\r\n$4\r\nnone\r\n" : "get none\r\n");	/* a miss */
	if (!resp) {
		/* gets (its cas), flags of several digits, a key of 250 bytes */
		char key[251];

		seg(c, "gets kv\r\n");
		assert_true(last_has(c, "VALUE kv 0 "));
		seg(c, "set kf 4294967295 0 3\r\nabc\r\n");
		seg(c, "get kf\r\n");
		assert_true(last_has(c, "VALUE kf 4294967295 3\r\nabc\r\nEND\r\n"));
		seg(c, "gets kf\r\n");
		memset(key, 'K', 250);
		key[250] = 0;
		snprintf(req, sizeof(req), "set %s 7 0 2\r\nhi\r\n", key);
		seg(c, req);
		snprintf(req, sizeof(req), "get %s\r\n", key);
		seg(c, req);
		assert_true(last_has(c, "hi\r\nEND\r\n"));
		seg(c, "get kv kf\r\n");	/* two keys */
		assert_true(last_has(c, "abc"));
		/* pipelines of gets: whole, then with the general path taking over part way */
		seg(c, "get kv\r\nget kf\r\nget none\r\ngets kf\r\nget kf\n");
		assert_true(last_has(c, "VALUE kf 4294967295 3\r\nabc\r\nEND\r\n"));
		seg(c, "get kf\r\nset kz 0 0 1\r\nz\r\nget kz\r\n");
		assert_true(last_has(c, "STORED\r\nVALUE kz 0 1\r\nz\r\nEND\r\n"));
		seg(c, "get kf\r\nget kv kf\r\nget kz\r\n");
		assert_true(last_has(c, "VALUE kz 0 1\r\nz\r\nEND\r\n"));
		seg(c, "get kf\r\nget kz\r\nget k");	/* the last cut short */
		seg(c, "z\r\n");
		assert_true(last_has(c, "VALUE kz 0 1\r\nz\r\nEND\r\n"));
		seg(c, "get kz\r\nbogus\r\nget kz\r\n");
		assert_true(last_has(c, "ERROR\r\nVALUE kz 0 1\r\nz\r\nEND\r\n"));
		seg(c, "get kz\r\nget \r\n");
	} else {
		/* pipelines of GETs: whole, then with the general path taking over part way */
		uint64_t piped = h.lc->tcp->fast_pipelined;

		seg(c, "*2\r\n$3\r\nGET\r\n$2\r\nkv\r\n*2\r\n$3\r\nget\r\n$4\r\nnone\r\n"
		       "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n");
		assert_true(last_has(c, "$-1\r\n$5\r\nhello\r\n"));
		assert_int_equal(h.lc->tcp->fast_pipelined - piped, h.lc->tcp->slow_only ? 0 : 3);
		seg(c, "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*3\r\n$3\r\nSET\r\n$2\r\nkz\r\n$1\r\nz\r\n"
		       "*2\r\n$3\r\nGET\r\n$2\r\nkz\r\n");
		assert_true(last_has(c, "+OK\r\n$1\r\nz\r\n"));
		seg(c, "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n"
		       "*2\r\n$4\r\nECHO\r\n$2\r\nk1\r\n");
		seg(c, "*2\r\n$3\r\nGET\r\n$2\r\nkz\r\n*2\r\n$3\r\nGET\r\n$2\r\nk");
		seg(c, "z\r\n");
		assert_true(last_has(c, "$1\r\nz\r\n"));
		seg(c, "*2\r\n$3\r\nGET\r\n$2\r\nkz\r\nPING\r\n");
		assert_true(last_has(c, "+PONG\r\n"));
	}
	ack(c);			/* a pure ACK */
	ack(c);			/* ... and a duplicate one */
	/* receive buffers under pressure: windows held to a share, the right edge pulled back */
	h.lc->tcp->rx_pressure = true;
	seg(c, get);
	seg(c, get);
	h.lc->tcp->rx_pressure = false;
	seg(c, get);
	assert_true(last_has(c, "hello"));
	/* two requests in one segment; one cut in two */
	snprintf(req, sizeof(req), "%s%s", get, get);
	seg(c, req);
	seg_at(c, c->seq, RTE_TCP_ACK_FLAG, 65535, get, 5);
	seg(c, get + 5);
	/* out of order: the second half first, then the first, then the first again */
	{
		uint32_t s0 = c->seq;
		size_t n = strlen(get);

		seg_at(c, s0 + 6, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 65535, get + 6, n - 6);
		seg_at(c, s0, RTE_TCP_ACK_FLAG, 65535, get, 6);
		seg_at(c, s0, RTE_TCP_ACK_FLAG, 65535, get, 6);
		c->seq = s0 + (uint32_t)n;
		assert_true(last_has(c, "hello"));
	}
	/* a reply larger than a segment */
	memset(big, 'v', sizeof(big));
	if (resp)
		snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$3000\r\n");
	else
		snprintf(req, sizeof(req), "set k2 0 0 3000\r\n");
	seg(c, req);
	for (int i = 0; i < 3; i++)
		seg_at(c, c->seq, RTE_TCP_ACK_FLAG, 65535, big, 1000);
	seg(c, "\r\n");
	seg(c, resp ? "*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n" : "get k2\r\n");
	ack(c);
	{
		/* a pipeline whose replies fill the send queue (mbufs short): stopped between gets */
		const char *one = resp ? "*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n" : "get k2\r\n";
		size_t n1 = strlen(one);
		char pipe[40 * 24 + 1];

		for (int i = 0; i < 40; i++)
			memcpy(pipe + n1 * (size_t)i, one, n1);
		pipe[40 * n1] = 0;
		h.lc->tcp->pool_low = true;
		seg(c, pipe);
		h.lc->tcp->pool_low = false;
		for (int i = 0; i < 40; i++) {
			ack(c);
			advance(c, 1);
		}
		assert_true(last_has(c, resp ? "vvvv\r\n" : "vvvv\r\nEND\r\n"));
	}
	/* a small window from the peer: the reply waits or goes in part */
	seg_at(c, c->seq, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 0, get, strlen(get));
	seg_at(c, c->seq, RTE_TCP_ACK_FLAG, 1, NULL, 0);
	advance(c, 300);
	seg_at(c, c->seq, RTE_TCP_ACK_FLAG, 65535, NULL, 0);
	/* a reply lost: the node retransmits it after its RTO */
	{
		uint32_t acked = c->ack;

		seg(c, get);
		c->ack = acked;	/* as if it never came */
		advance(c, 1500);
		assert_true(last_has(c, "hello"));
		seg(c, get);
	}
	/* a delayed ACK's timer */
	seg_at(c, c->seq, RTE_TCP_ACK_FLAG, 65535, get, 3);
	advance(c, 50);
	seg(c, get + 3);
	/* the last request comes with the FIN */
	seg_at(c, c->seq, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG | RTE_TCP_FIN_FLAG, 65535, get,
	       strlen(get));
	c->seq++;
	ack(c);
	assert_true(last_has(c, "hello"));
}

/* An item as the store holds it (or its absence), into the trace. */
static void item_snap(const char *key)
{
	struct {
		uint8_t found;
		uint32_t flags, vlen, exptime, exp_ms;
		uint64_t cas;
		uint8_t val[64];
	} s;
	struct wc_view v;
	uint32_t klen = (uint32_t)strlen(key);

	memset(&s, 0, sizeof(s));
	if (wc_get(h.app.parts[0], &h.lc->ctx, key, klen, wc_hash(key, klen),
		   WC_LOOKUP_CAS | WC_LOOKUP_NO_STATS | WC_LOOKUP_NO_TOUCH | WC_LOOKUP_ANY_TYPE, &v)) {
		s.found = 1;
		s.flags = v.flags;
		s.vlen = v.vlen;
		s.exptime = v.exptime;
		s.exp_ms = v.exp_ms;
		s.cas = v.cas;
		memcpy(s.val, v.value, v.vlen < sizeof(s.val) ? v.vlen : sizeof(s.val));
	}
	put(&s, sizeof(s));
}

/* The store's counters, into the trace. */
static void stats_snap(void)
{
	put(&h.lc->ctx.st, sizeof(h.lc->ctx.st));
}

/*
 * A memcached set, then whatever came of it: the reply, the item, the
 * counters. fast: whether the fast path must have taken it (in the fast run).
 */
static void set_seg_at(int line, struct cl *c, const char *data, const char *key,
		       const char *reply, bool fast)
{
	uint64_t piped = h.lc->tcp->fast_pipelined;

	c->nlast = 0;
	seg(c, data);
	if (reply ? !last_has(c, reply) : c->nlast != 0)
		fail_msg("line %d: the reply is \"%.*s\"", line, (int)c->nlast, c->last);
	if (key)
		item_snap(key);
	stats_snap();
	if (h.lc->tcp->slow_only ? h.lc->tcp->fast_pipelined != piped :
	    fast != (h.lc->tcp->fast_pipelined > piped))
		fail_msg("line %d: the fast path %s", line, fast ? "did not run" : "ran");
}

#define set_seg(...) set_seg_at(__LINE__, __VA_ARGS__)

/*
 * A pipeline of n requests sent while the send queue is short of mbufs
 * (the fast path and the session stop between requests), then read a
 * reply at a time; the first and last items it stores, and the store's
 * counters, into the trace.
 */
static void short_of_mbufs(struct cl *c, const char *pipe, int n, const char *first,
			   const char *last)
{
	h.lc->tcp->pool_low = true;
	seg(c, pipe);
	h.lc->tcp->pool_low = false;
	for (int i = 0; i < n; i++) {
		ack(c);
		advance(c, 1);
	}
	item_snap(first);
	item_snap(last);
	stats_snap();
}

/* memcached sets of every kind: each on the fast path or left to the session. */
static void set_script(struct cl *c)
{
	char req[1024], key[260];

	/* a lone set, a new key then a replaced one (a new CAS), noreply */
	set_seg(c, "set s1 5 0 3\r\nabc\r\n", "s1", "STORED\r\n", true);
	set_seg(c, "set s1 6 0 4\r\nabcd\r\n", "s1", "STORED\r\n", true);
	set_seg(c, "set s1 7 0 2 noreply\r\nxy\r\n", "s1", NULL, true);
	set_seg(c, "gets s1\r\n", "s1", "VALUE s1 7 2 ", false);	/* (a lone get: not counted) */
	set_seg(c, "set s0 0 0 0\r\n\r\n", "s0", "STORED\r\n", true);	/* an empty value */
	/* pipelines: a GET after a SET in the same segment sees the new value */
	set_seg(c, "get s1\r\nset s1 0 0 3\r\nnew\r\nget s1\r\nset s2 1 0 1\r\nz\r\n", "s1",
		"VALUE s1 7 2\r\nxy\r\nEND\r\nSTORED\r\nVALUE s1 0 3\r\nnew\r\nEND\r\nSTORED\r\n", true);
	item_snap("s2");
	set_seg(c, "set s3 0 0 1 noreply\r\na\r\nset s3 0 0 1 noreply\r\nb\r\nget s3\r\n", "s3",
		"VALUE s3 0 1\r\nb\r\nEND\r\n", true);
	/* exptimes: relative, negative (gone at once), over 30 days (absolute, past or future) */
	set_seg(c, "set e1 0 100 1\r\na\r\n", "e1", "STORED\r\n", true);
	set_seg(c, "set e1 0 -1 1\r\na\r\n", "e1", "STORED\r\n", true);
	set_seg(c, "set e2 0 2592001 1\r\na\r\n", "e2", "STORED\r\n", true);
	set_seg(c, "set e3 0 4102444800 1\r\na\r\n", "e3", "STORED\r\n", true);
	set_seg(c, "set e4 0 -9223372036854775807 1\r\na\r\n", "e4", "STORED\r\n", true);
	set_seg(c, "set e5 0 9223372036854775807 1\r\na\r\n", "e5", "STORED\r\n", true);
	/* flags: the largest, leading zeros, long digit strings */
	set_seg(c, "set f1 4294967295 0 1\r\na\r\n", "f1", "STORED\r\n", true);
	set_seg(c, "set f1 000000000000000000042 0 1\r\na\r\n", "f1",
		"CLIENT_ERROR bad command line format", false);
	set_seg(c, "set f1 00000000000000000042 0 1\r\nb\r\n", "f1", "STORED\r\n", true);
	set_seg(c, "set f1 4294967296 0 1\r\na\r\n", "f1", "CLIENT_ERROR bad command line format",
		false);
	set_seg(c, "set f1 99999999999999999999 0 1\r\na\r\n", "f1",
		"CLIENT_ERROR bad command line format", false);
	set_seg(c, "set f1 -1 0 1\r\na\r\n", "f1", "CLIENT_ERROR bad command line format", false);
	set_seg(c, "set f1 1x 0 1\r\na\r\n", "f1", "CLIENT_ERROR bad command line format", false);
	set_seg(c, "set f1 0 9223372036854775808 1\r\na\r\n", "f1",
		"CLIENT_ERROR bad command line format", false);
	set_seg(c, "set f1 0 -9223372036854775808 1\r\na\r\n", "f1",
		"CLIENT_ERROR bad command line format", false);
	set_seg(c, "set f1 0 - 1\r\na\r\n", "f1", "CLIENT_ERROR bad command line format", false);
	set_seg(c, "set f1 0 0 +1\r\na\r\n", "f1", "CLIENT_ERROR bad command line format", false);
	set_seg(c, "set f1 0 0 2147483646\r\na\r\n", "f1", "CLIENT_ERROR bad command line format",
		false);
	set_seg(c, "set f1 0 0 2147483647\r\na\r\n", "f1", "CLIENT_ERROR bad command line format",
		false);
	set_seg(c, "set f1 0 0 1\r\na\r\n", "f1", "STORED\r\n", true);
	/* odd spellings: left to the session (which may still take them) */
	set_seg(c, "set  f2 0 0 1\r\na\r\n", "f2", "STORED\r\n", false);
	set_seg(c, "set f2 0  0 1\r\nb\r\n", "f2", "STORED\r\n", false);
	set_seg(c, "set f2 0 0 1 \r\nc\r\n", "f2", "STORED\r\n", false);
	set_seg(c, "set f2 0 0 1\nd\r\n", "f2", "STORED\r\n", false);
	set_seg(c, "set f2 0 0 1 noreplyx\r\ne\r\n", "f2", "STORED\r\n", false);
	set_seg(c, "set f2 0 0 1 other\r\nf\r\n", "f2", "STORED\r\n", false);
	set_seg(c, "set f2 0 0 1 noreply\r\ng\r\n", "f2", NULL, true);
	set_seg(c, "SET f2 0 0 1\r\nh\r\n", "f2", "ERROR", false);
	set_seg(c, "set f2 0 0\r\nh\r\n", "f2", "ERROR", false);
	set_seg(c, "set f2 0 0 1 noreply x\r\nh\r\n", "f2", "ERROR", false);
	set_seg(c, "set f\x01 0 0 1\r\nh\r\n", NULL, "STORED\r\n", false);
	set_seg(c, "set f\x7f\x80 0 0 1\r\nh\r\n", "f\x7f\x80", "STORED\r\n", true);
	/* keys of 250 bytes (fast) and 251 (refused) */
	memset(key, 'K', 251);
	key[250] = 0;
	snprintf(req, sizeof(req), "set %s 1 0 2\r\nhi\r\n", key);
	set_seg(c, req, key, "STORED\r\n", true);
	key[250] = 'K';
	key[251] = 0;
	snprintf(req, sizeof(req), "set %s 1 0 2\r\nhi\r\n", key);
	set_seg(c, req, key, "CLIENT_ERROR bad command line format", false);
	/* data blocks: a bad end, cut short then completed, longer than said */
	set_seg(c, "set d1 0 0 3\r\nabcd\r\n", "d1", "CLIENT_ERROR bad data chunk", false);
	set_seg(c, "set d1 0 0 3\r\nab", "d1", NULL, false);
	set_seg(c, "c\r\n", "d1", "STORED\r\n", true);	/* (whole now, in one buffer) */
	set_seg(c, "set d1 0 0 3\r\nabc", "d1", NULL, false);
	set_seg(c, "\r\nget d1\r\n", "d1", "STORED\r\nVALUE d1 0 3\r\nabc\r\nEND\r\n", true);
	set_seg(c, "set d1 0 0 3\r\nxyz\r\nset d1 0 0 3\r\nuv", "d1", "STORED\r\n", true);
	set_seg(c, "w\r\n", "d1", "STORED\r\n", true);
	set_seg(c, "set d1 0 0 3\r\nabc\rX", "d1", "CLIENT_ERROR bad data chunk", false);
	set_seg(c, "set d1 0 0 3\r\nabc\n\nget d1\r\n", "d1",
		"CLIENT_ERROR bad data chunk\r\nVALUE d1 0 3\r\nuvw\r\nEND\r\n", false);
	/* other storage commands: the session, after a fast set in the same segment */
	set_seg(c, "set a1 0 0 1\r\na\r\nadd a1 0 0 1\r\nb\r\nappend a1 0 0 1\r\nc\r\n", "a1",
		"STORED\r\nNOT_STORED\r\nSTORED\r\n", true);
	/* too large for this node (max_value): refused by the session, the old value dropped */
	h.app.mcset.max_value = 16;
	set_seg(c, "set big 0 0 16\r\n0123456789abcdef\r\n", "big", "STORED\r\n", true);
	set_seg(c, "set big 0 0 17\r\n0123456789abcdefg\r\nget big\r\n", "big",
		"SERVER_ERROR object too large for cache\r\nEND\r\n", false);
	h.app.mcset.max_value = h.app.cfg.max_value;
	/* fenced: refused by the session */
	wc_fence_set(0);
	set_seg(c, "set fe 0 0 1\r\na\r\n", "fe", "SERVER_ERROR cluster down", false);
	set_seg(c, "get s1\r\nset fe 0 0 1\r\na\r\n", "fe", "SERVER_ERROR cluster down", true);
	wc_fence_set(-1);
	set_seg(c, "set fe 0 0 1\r\na\r\n", "fe", "STORED\r\n", true);
	/* a read-only replica: refused by the session */
	h.app.mcset.read_only = true;
	set_seg(c, "set ro 0 0 1\r\na\r\n", "ro", "SERVER_ERROR read only replica", false);
	set_seg(c, "set ro 0 0 1 noreply\r\na\r\n", "ro", NULL, false);
	h.app.mcset.read_only = false;
	set_seg(c, "set ro 0 0 1 noreply\r\na\r\n", "ro", NULL, true);
	/* a full send queue (mbufs short): sets and gets stopped between requests */
	{
		char pipe[48 * 24 + 1];
		size_t n = 0;

		for (int i = 0; i < 48; i++)
			n += (size_t)snprintf(pipe + n, sizeof(pipe) - n, i % 2 ? "get k2\r\n" :
							       "set q%d 0 0 1\r\nq\r\n", i);
		short_of_mbufs(c, pipe, 48, "q0", "q46");
	}
}

/* memcached deletes: each on the fast path or left to the session. */
static void delete_script(struct cl *c)
{
	char req[1024], key[260];

	set_seg(c, "set d1 0 0 1\r\na\r\n", "d1", "STORED\r\n", true);
	set_seg(c, "delete d1\r\n", "d1", "DELETED\r\n", true);
	set_seg(c, "delete d1\r\n", "d1", "NOT_FOUND\r\n", true);
	set_seg(c, "set d1 0 0 1\r\na\r\ndelete d1 noreply\r\n", "d1", "STORED\r\n", true);
	set_seg(c, "delete d1 noreply\r\n", "d1", NULL, true);	/* (a miss, unanswered) */
	/* pipelines: a get after a delete in the same segment misses */
	set_seg(c, "set d2 0 0 2\r\nab\r\nget d2\r\ndelete d2\r\nget d2\r\ndelete d2\r\n", "d2",
		"STORED\r\nVALUE d2 0 2\r\nab\r\nEND\r\nDELETED\r\nEND\r\nNOT_FOUND\r\n", true);
	set_seg(c, "set d3 0 0 1\r\na\r\ndelete d3\r\nversion\r\nget d3\r\n", "d3",
		"DELETED\r\nVERSION ", true);	/* (the rest: the session) */
	/* odd spellings: left to the session */
	set_seg(c, "set d4 0 0 1\r\na\r\n", "d4", "STORED\r\n", true);
	set_seg(c, "delete d4 0\r\n", "d4", "DELETED\r\n", false);
	set_seg(c, "delete d4 0 noreply\r\n", "d4", NULL, false);
	set_seg(c, "delete d4 1\r\n", "d4", "CLIENT_ERROR bad command line format", false);
	set_seg(c, "delete  d4\r\n", "d4", "NOT_FOUND\r\n", false);
	set_seg(c, "delete d4 \r\n", "d4", "NOT_FOUND\r\n", false);
	set_seg(c, "delete d4\n", "d4", "NOT_FOUND\r\n", false);
	set_seg(c, "delete d4 NOREPLY\r\n", "d4", "CLIENT_ERROR bad command line format", false);
	set_seg(c, "delete d4 noreplyx\r\n", "d4", "CLIENT_ERROR bad command line format", false);
	set_seg(c, "delete d4 noreply x\r\n", "d4", "CLIENT_ERROR", false);
	set_seg(c, "delete\r\n", NULL, "ERROR", false);
	set_seg(c, "DELETE d4\r\n", "d4", "ERROR", false);
	set_seg(c, "delete d\x01\r\n", NULL, "NOT_FOUND\r\n", false);
	set_seg(c, "delete d4", "d4", NULL, false);	/* cut short: the session waits */
	set_seg(c, "\r\n", "d4", "NOT_FOUND\r\n", true);	/* (whole now, in one buffer) */
	/* keys of 250 bytes (fast) and 251 (refused) */
	memset(key, 'K', 251);
	key[250] = 0;
	snprintf(req, sizeof(req), "set %s 1 0 2\r\nhi\r\ndelete %s\r\n", key, key);
	set_seg(c, req, key, "STORED\r\nDELETED\r\n", true);
	key[250] = 'K';
	key[251] = 0;
	snprintf(req, sizeof(req), "delete %s\r\n", key);
	set_seg(c, req, NULL, "CLIENT_ERROR bad command line format", false);
	/* fenced, a read-only replica: refused by the session */
	set_seg(c, "set d5 0 0 1\r\na\r\n", "d5", "STORED\r\n", true);
	wc_fence_set(0);
	set_seg(c, "delete d5\r\n", "d5", "SERVER_ERROR cluster down", false);
	wc_fence_set(-1);
	h.app.mcset.read_only = true;
	set_seg(c, "delete d5\r\n", "d5", "SERVER_ERROR read only replica", false);
	set_seg(c, "delete d5 noreply\r\n", "d5", NULL, false);
	h.app.mcset.read_only = false;
	set_seg(c, "delete d5\r\n", "d5", "DELETED\r\n", true);
	/* a full send queue (mbufs short): deletes and gets stopped between requests */
	{
		char pipe[48 * 24 + 1];
		size_t n = 0;

		for (int i = 0; i < 48; i += 2) {
			snprintf(req, sizeof(req), "set q%d 0 0 1\r\nq\r\n", i);
			seg(c, req);
		}
		for (int i = 0; i < 48; i++)
			n += (size_t)snprintf(pipe + n, sizeof(pipe) - n, i % 2 ? "get k2\r\n" :
							       "delete q%d\r\n", i);
		short_of_mbufs(c, pipe, 48, "q0", "q46");
	}
}

/* memcached incr and decr: each on the fast path or left to the session. */
static void arith_script(struct cl *c)
{
	char req[1024], key[260];

	/* hits, misses, decr's floor at 0, incr's wrap at 2^64 */
	set_seg(c, "set n1 5 0 2\r\n10\r\n", "n1", "STORED\r\n", true);
	set_seg(c, "incr n1 1\r\n", "n1", "11\r\n", true);
	set_seg(c, "incr n1 89\r\n", "n1", "100\r\n", true);
	set_seg(c, "decr n1 1\r\n", "n1", "99\r\n", true);
	set_seg(c, "decr n1 1000\r\n", "n1", "0\r\n", true);
	set_seg(c, "incr n1 0\r\n", "n1", "0\r\n", true);
	set_seg(c, "incr n1 18446744073709551615\r\n", "n1", "18446744073709551615\r\n", false);
	set_seg(c, "incr n1 9999999999999999999\r\n", "n1", "9999999999999999998\r\n", true);
	set_seg(c, "incr n1 9999999999999999999\r\n", "n1", "1553255926290448381\r\n", true);
	set_seg(c, "incr n1 0000000000000000001\r\n", "n1", "1553255926290448382\r\n", true);
	set_seg(c, "incr x1 1\r\n", "x1", "NOT_FOUND\r\n", true);
	set_seg(c, "decr x1 1\r\n", "x1", "NOT_FOUND\r\n", true);
	/* noreply: nothing answered, hit or miss */
	set_seg(c, "incr n1 1 noreply\r\n", "n1", NULL, true);
	set_seg(c, "decr x1 1 noreply\r\n", "x1", NULL, true);
	/* a value that is not a number: the session's CLIENT_ERROR, the same counters */
	set_seg(c, "set n2 0 0 3\r\nabc\r\n", "n2", "STORED\r\n", true);
	set_seg(c, "incr n2 1\r\n", "n2",
		"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n", true);
	set_seg(c, "decr n2 1 noreply\r\n", "n2", NULL, true);
	set_seg(c, "set n2 0 0 20\r\n99999999999999999999\r\n", "n2", "STORED\r\n", true);
	set_seg(c, "incr n2 1\r\n", "n2", "CLIENT_ERROR", true);
	set_seg(c, "set n2 0 0 2\r\n-1\r\n", "n2", "STORED\r\n", true);
	set_seg(c, "decr n2 1\r\n", "n2", "CLIENT_ERROR", true);
	set_seg(c, "set n2 0 0 0\r\n\r\n", "n2", "STORED\r\n", true);
	set_seg(c, "incr n2 1\r\n", "n2", "CLIENT_ERROR", true);
	/* a bad delta, odd spellings: left to the session */
	set_seg(c, "incr n1 x\r\n", "n1", "CLIENT_ERROR invalid numeric delta argument\r\n", false);
	set_seg(c, "incr n1 -1\r\n", "n1", "CLIENT_ERROR invalid numeric delta argument\r\n",
		false);
	set_seg(c, "incr n1 18446744073709551616\r\n", "n1", "CLIENT_ERROR invalid numeric delta",
		false);
	set_seg(c, "incr n1\r\n", "n1", "ERROR\r\n", false);
	set_seg(c, "incr n1 1 2 3\r\n", "n1", "ERROR\r\n", false);
	set_seg(c, "incr n1 1 x\r\n", "n1", "\r\n", false);
	set_seg(c, "incr n1 1 NOREPLY\r\n", "n1", "\r\n", false);
	set_seg(c, "incr  n1 1\r\n", "n1", "\r\n", false);
	set_seg(c, "incr n1  1\r\n", "n1", "\r\n", false);
	set_seg(c, "incr n1 1 \r\n", "n1", "\r\n", false);
	set_seg(c, "incr n1 1\n", "n1", "\r\n", false);
	set_seg(c, "INCR n1 1\r\n", "n1", "ERROR\r\n", false);
	set_seg(c, "incrx n1 1\r\n", "n1", "ERROR\r\n", false);
	set_seg(c, "incr n\x01 1\r\n", NULL, "NOT_FOUND\r\n", false);
	set_seg(c, "incr n1 1", "n1", NULL, false);	/* cut short: the session waits */
	set_seg(c, "\r\n", "n1", "\r\n", true);	/* (whole now, in one buffer) */
	/* pipelines: a get after an incr sees it; with sets, deletes and gets */
	set_seg(c, "set n3 0 0 1\r\n7\r\nincr n3 3\r\nget n3\r\ndecr n3 4\r\ndelete n3\r\n"
		"incr n3 1\r\nget n3\r\n", "n3",
		"STORED\r\n10\r\nVALUE n3 0 2\r\n10\r\nEND\r\n6\r\nDELETED\r\nNOT_FOUND\r\nEND\r\n",
		true);
	set_seg(c, "set n3 0 0 1\r\n7\r\nincr n3 1\r\nversion\r\nincr n3 1\r\n", "n3",
		"8\r\nVERSION ", true);	/* (the rest: the session) */
	/* keys of 250 bytes (fast) and 251 (refused) */
	memset(key, 'K', 251);
	key[250] = 0;
	snprintf(req, sizeof(req), "set %s 1 0 1\r\n1\r\nincr %s 2\r\n", key, key);
	set_seg(c, req, key, "STORED\r\n3\r\n", true);
	key[250] = 'K';
	key[251] = 0;
	snprintf(req, sizeof(req), "incr %s 1\r\n", key);
	set_seg(c, req, NULL, "CLIENT_ERROR bad command line format", false);
	/* fenced, a read-only replica: refused by the session */
	set_seg(c, "set n5 0 0 1\r\n1\r\n", "n5", "STORED\r\n", true);
	wc_fence_set(0);
	set_seg(c, "incr n5 1\r\n", "n5", "SERVER_ERROR cluster down", false);
	wc_fence_set(-1);
	h.app.mcset.read_only = true;
	set_seg(c, "decr n5 1\r\n", "n5", "SERVER_ERROR read only replica", false);
	set_seg(c, "incr n5 1 noreply\r\n", "n5", NULL, false);
	h.app.mcset.read_only = false;
	set_seg(c, "incr n5 1\r\n", "n5", "2\r\n", true);
	/* a full send queue (mbufs short): incrs and gets stopped between requests */
	{
		char pipe[48 * 24 + 1];
		size_t n = 0;

		for (int i = 0; i < 48; i += 2) {
			snprintf(req, sizeof(req), "set q%d 0 0 1\r\n%d\r\n", i, i % 10);
			seg(c, req);
		}
		for (int i = 0; i < 48; i++)
			n += (size_t)snprintf(pipe + n, sizeof(pipe) - n, i % 2 ? "get k2\r\n" :
							       "incr q%d 5\r\n", i);
		short_of_mbufs(c, pipe, 48, "q0", "q46");
	}
}

/* One run of the script over four connections; counts of the fast paths taken. */
static void run(struct trace *t, bool slow, uint64_t *fast_in, uint64_t *fast_out)
{
	struct cl c;

	cur = t;
	t->n = 0;
	up(slow);
	open_cl(&c, 30001, MC, false);
	script(&c, false);
	open_cl(&c, 30002, MC, true);
	script(&c, false);
	open_cl(&c, 30003, RD, false);
	script(&c, true);
	open_cl(&c, 30004, RD, true);
	script(&c, true);
	*fast_in = h.lc->tcp->fast_in;
	*fast_out = h.lc->tcp->fast_out;
	dp_teardown(&h);
}

static void same_bytes_and_state(bool nic)
{
	static struct trace fast, slow;
	uint64_t fin, fout, sin, sout;

	offload = nic;
	run(&fast, false, &fin, &fout);
	run(&slow, true, &sin, &sout);
	assert_true(fin > 0 && fout > 0);	/* the fast paths ran ... */
	assert_int_equal(sin + sout, 0);	/* ... and only in the fast run */
	assert_same_trace(&fast, &slow);
}

static void fast_equals_general(void **state)
{
	(void)state;
	same_bytes_and_state(false);
}

static void fast_equals_general_offload(void **state)
{
	(void)state;
	same_bytes_and_state(true);
}

/* Each case off the narrow one: the counters say which path ran. */
static void off_the_narrow_case_falls_back(void **state)
{
	static struct trace t;
	struct wc_tcp_lc *tl;
	struct cl c;
	uint64_t in, out;
	const char *get = "get k1\r\n";
	char big[1500 + 64];

	(void)state;
	cur = &t;
	t.n = 0;
	offload = false;
	up(false);
	tl = h.lc->tcp;
	open_cl(&c, 30010, MC, false);
	seg(&c, "set k1 0 0 5\r\nhello\r\n");
	in = tl->fast_in;
	out = tl->fast_out;
	seg(&c, get);		/* the narrow case: both fast paths */
	assert_int_equal(tl->fast_in, in + 1);
	assert_int_equal(tl->fast_out, out + 1);
	assert_true(last_has(&c, "VALUE k1 0 5\r\nhello\r\nEND\r\n"));

	/* a pipeline of gets: answered by the fast path, all of it or up to another command */
	out = tl->fast_pipelined;
	seg(&c, "get k1\r\nget k1\r\nget nope\r\n");
	assert_int_equal(tl->fast_pipelined, out + 3);
	assert_true(last_has(&c, "hello\r\nEND\r\nEND\r\n"));
	seg(&c, "get k1\r\nversion\r\nget k1\r\n");
	assert_int_equal(tl->fast_pipelined, out + 4);	/* (the rest: the session) */
	assert_true(last_has(&c, "END\r\nVERSION "));
	seg(&c, "get k1 k1\r\nget k1\r\n");	/* (a get of several keys too) */
	assert_int_equal(tl->fast_pipelined, out + 6);
	seg(&c, "get k1  k1\r\nget k1\r\n");	/* (but not with two spaces) */
	assert_int_equal(tl->fast_pipelined, out + 6);

	/* out of order: general in; the reply, once whole, fast out */
	in = tl->fast_in;
	seg_at(&c, c.seq + 4, RTE_TCP_ACK_FLAG, 65535, get + 4, 4);
	assert_int_equal(tl->fast_in, in);
	seg_at(&c, c.seq - 8, RTE_TCP_ACK_FLAG, 65535, get, 4);
	assert_int_equal(tl->fast_in, in);	/* (a hole filled: the general path) */
	assert_true(last_has(&c, "hello"));

	/* the peer's window shut: no fast path either way */
	in = tl->fast_in;
	out = tl->fast_out;
	seg_at(&c, c.seq, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 0, get, strlen(get));
	assert_int_equal(tl->fast_in, in);
	assert_int_equal(tl->fast_out, out);
	seg_at(&c, c.seq, RTE_TCP_ACK_FLAG, 65535, NULL, 0);	/* the window opens: the reply goes */
	assert_true(last_has(&c, "hello"));

	/* a reply longer than a segment: general out */
	memset(big, 'w', 1500);
	seg(&c, "set k3 0 0 1500\r\n");
	seg_at(&c, c.seq, RTE_TCP_ACK_FLAG, 65535, big, 1000);
	seg_at(&c, c.seq, RTE_TCP_ACK_FLAG, 65535, big, 500);
	seg(&c, "\r\n");
	out = tl->fast_out;
	seg(&c, "get k3\r\n");
	assert_int_equal(tl->fast_out, out);
	ack(&c);

	/* a reply while the previous one is unacknowledged (a pipelining peer): fast still */
	out = tl->fast_out;
	{
		uint32_t acked = c.ack, after;

		seg(&c, get);
		after = c.ack;
		c.ack = acked;	/* the next request does not acknowledge the reply */
		seg(&c, get);
		assert_int_equal(tl->fast_out, out + 2);
		c.ack = after + (after - acked);	/* both replies, alike */
		ack(&c);
		assert_int_equal(wc_tcb_lookup(tl, DP_CLIENT, c.cport, c.dport)->tx.len, 0);
	}

	/* a duplicate ACK (nothing new acknowledged, no data): general in */
	ack(&c);
	in = tl->fast_in;
	ack(&c);
	assert_int_equal(tl->fast_in, in);

	/* a request whose ACK is older than what was acknowledged: general in, answered */
	in = tl->fast_in;
	{
		uint8_t f[256];
		uint32_t acked = c.ack;

		dp_input(&h, f, dp_tcp_ports(f, c.cport, c.dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
					     c.seq, c.ack - 3, 65535, get, strlen(get), NULL, 0));
		c.seq += (uint32_t)strlen(get);
		c.nlast = 0;
		collect(&c);
		assert_int_equal(tl->fast_in, in);
		assert_true(c.ack > acked && last_has(&c, "hello"));
	}

	/* under pressure: the fast path still, its window the share (WC_TCP_PRESSURE_SHARE) */
	tl->rx_pressure = true;
	in = tl->fast_in;
	seg(&c, get);
	assert_int_equal(tl->fast_in, in + 1);
	{
		const struct wc_tcb *tcb = wc_tcb_lookup(tl, DP_CLIENT, c.cport, c.dport);

		assert_true(tcb->rcv_adv - tcb->rcv_nxt <= WC_TCP_PRESSURE_SHARE);
	}
	tl->rx_pressure = false;

	/* data with the FIN: general in */
	in = tl->fast_in;
	seg_at(&c, c.seq, RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, 65535, get, strlen(get));
	c.seq++;
	assert_int_equal(tl->fast_in, in);
	assert_true(last_has(&c, "hello"));

	/* a RST at the next sequence number: general in, the connection gone */
	open_cl(&c, 30011, MC, false);
	seg(&c, get);
	in = tl->fast_in;
	seg_at(&c, c.seq, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 65535, NULL, 0);
	assert_int_equal(tl->fast_in, in);
	assert_null(wc_tcb_lookup(tl, DP_CLIENT, c.cport, c.dport));
	dp_teardown(&h);
}

/* memcached sets: the fast run and the general one alike, bytes, connections and items. */
/*
 * The scripts compared fast against general: a memcached one (run twice,
 * on a connection without timestamps and on one with them; mc_seed: a key
 * stored first) or a Redis one (c the client under test, w a second one).
 */
struct script {
	void (*mc)(struct cl *c);
	bool mc_seed;
	void (*rd)(struct cl *c, struct cl *w);
};

/* One run of script s into t, the fast paths off when slow; *piped: what they answered. */
static void run_script(const struct script *s, struct trace *t, bool slow, uint64_t *piped)
{
	struct cl c, w;

	cur = t;
	t->n = 0;
	up(slow);
	if (s->mc) {
		open_cl(&c, 30021, MC, false);
		if (s->mc_seed)
			seg(&c, "set k2 0 0 4\r\nk2k2\r\n");
		s->mc(&c);
		open_cl(&c, 30022, MC, true);
		s->mc(&c);
	} else {
		open_cl(&c, 30031, RD, false);
		open_cl(&w, 30032, RD, true);
		s->rd(&c, &w);
	}
	*piped = h.lc->tcp->fast_pipelined;
	dp_teardown(&h);
}

/*
 * A script run fast and general (run_script; sp: the requests the
 * pipelined fast paths answered): the fast paths took some in the fast
 * run only, and the traces match.
 */
static void sets_compared(const struct script *s)
{
	static struct trace fast, slow;
	uint64_t fp, sp;

	offload = false;
	run_script(s, &fast, false, &fp);
	run_script(s, &slow, true, &sp);
	assert_true(fp > 0);
	assert_int_equal(sp, 0);
	assert_same_trace(&fast, &slow);
}

static void sets_fast_equal_general(void **state)
{
	(void)state;
	sets_compared(&(struct script){ .mc = set_script, .mc_seed = true });
}

/* A memcached set of a value of n bytes of ch, sent in segments of up to 1400 bytes. */
static void big_set(struct cl *c, const char *key, size_t n, char ch)
{
	char line[300], chunk[1400];

	snprintf(line, sizeof(line), "set %s 3 0 %zu\r\n", key, n);
	seg(c, line);
	memset(chunk, ch, sizeof(chunk));
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);

		seg_at(c, c->seq, RTE_TCP_ACK_FLAG, 65535, chunk, k);
		done += k;
	}
	seg(c, "\r\n");
	assert_true(last_has(c, "STORED\r\n"));
}

/* memcached gets of several keys: each on the fast path or left to the session. */
static void mget_script(struct cl *c)
{
	char req[4096], want[2048], key[260];
	size_t n = 0, w = 0;

	set_seg(c, "set m1 1 0 2\r\nv1\r\nset m2 2 0 2\r\nv2\r\nset m3 3 0 2\r\nv3\r\n", "m3",
		"STORED\r\nSTORED\r\nSTORED\r\n", true);
	/* one key (the single-get path), two, hits and misses, gets with its CAS */
	set_seg(c, "get m1\r\n", "m1", "VALUE m1 1 2\r\nv1\r\nEND\r\n", false);
	set_seg(c, "get m1 m2\r\n", "m2", "VALUE m1 1 2\r\nv1\r\nVALUE m2 2 2\r\nv2\r\nEND\r\n", true);
	set_seg(c, "get x1 m2 x2\n", "m2", "VALUE m2 2 2\r\nv2\r\nEND\r\n", true);
	set_seg(c, "get x1 x2\r\n", NULL, "END\r\n", true);
	set_seg(c, "gets m1 x1 m3\r\n", "m3", "VALUE m3 3 2 ", true);
	set_seg(c, "gets m1 m1\r\n", "m1", "VALUE m1 1 2 ", true);
	/* 24 keys, hits and misses mixed; all hits */
	n = (size_t)snprintf(req, sizeof(req), "get");
	for (int i = 0; i < 24; i++) {
		n += (size_t)snprintf(req + n, sizeof(req) - n, " %s", i % 3 == 0 ? "m1" :
							      i % 3 == 1 ? "nokey" : "m3");
		if (i % 3 != 1)
			w += (size_t)snprintf(want + w, sizeof(want) - w, "VALUE %s %d 2\r\nv%d\r\n",
					      i % 3 ? "m3" : "m1", i % 3 ? 3 : 1, i % 3 ? 3 : 1);
	}
	snprintf(req + n, sizeof(req) - n, "\r\n");
	snprintf(want + w, sizeof(want) - w, "END\r\n");
	set_seg(c, req, "m1", want, true);
	n = (size_t)snprintf(req, sizeof(req), "gets");
	for (int i = 0; i < 70; i++)	/* (more than one burst of lookups) */
		n += (size_t)snprintf(req + n, sizeof(req) - n, " m%d", 1 + i % 3);
	snprintf(req + n, sizeof(req) - n, "\r\n");
	set_seg(c, req, "m2", "VALUE m3 3 2 ", true);
	/* keys of 250 bytes (fast) and 251 (the session's error, the other values unsent) */
	memset(key, 'L', 251);
	key[250] = 0;
	snprintf(req, sizeof(req), "set %s 9 0 1\r\nL\r\n", key);
	set_seg(c, req, key, "STORED\r\n", true);
	snprintf(req, sizeof(req), "get m1 %s m2\r\n", key);
	set_seg(c, req, key, "L\r\nVALUE m2 2 2\r\nv2\r\nEND\r\n", true);
	key[250] = 'L';
	key[251] = 0;
	snprintf(req, sizeof(req), "get m1 %s m2\r\n", key);
	set_seg(c, req, NULL, "CLIENT_ERROR bad command line format\r\n", false);
	snprintf(req, sizeof(req), "get m1\r\nget m1 %s\r\nget m2\r\n", key);
	set_seg(c, req, NULL, "v1\r\nEND\r\nCLIENT_ERROR bad command line format\r\nVALUE m2", true);
	/* odd spacing, control bytes, no key: the session */
	set_seg(c, "get m1  m2\r\n", "m1", "VALUE m1 1 2\r\nv1\r\nVALUE m2 2 2\r\nv2\r\nEND\r\n",
		false);
	set_seg(c, "get m1 m2 \r\n", "m1", "VALUE m1 1 2\r\nv1\r\nVALUE m2 2 2\r\nv2\r\nEND\r\n",
		false);
	set_seg(c, "get  m1 m2\r\n", "m1", "VALUE m1 1 2\r\nv1\r\nVALUE m2 2 2\r\nv2\r\nEND\r\n",
		false);
	set_seg(c, "get m1\tm2 m3\r\n", "m1", "VALUE m3 3 2\r\nv3\r\nEND\r\n", false);
	set_seg(c, "get m1 m2\r\r\n", "m1", "VALUE m1 1 2\r\nv1\r\nEND\r\n", false);
	set_seg(c, "get m1 m2\r\n\r\n", "m1", "v2\r\nEND\r\nERROR\r\n", true);
	set_seg(c, "gets  \r\n", NULL, "ERROR\r\n", false);
	set_seg(c, "GET m1 m2\r\n", NULL, "ERROR\r\n", false);
	set_seg(c, "getz m1 m2\r\n", NULL, "ERROR\r\n", false);
	/* pipelines mixing single gets, gets of several keys and sets */
	set_seg(c, "get m1\r\nget m1 m2\r\nset m4 4 0 2\r\nv4\r\nget m4 m3 m4\r\ngets m4 nokey\r\n"
		   "get m2\r\n", "m4", "VALUE m2 2 2\r\nv2\r\nEND\r\n", true);
	set_seg(c, "get m1 m2\r\nversion\r\nget m3 m4\r\n", "m4", "VALUE m4 4 2\r\nv4\r\nEND\r\n",
		true);
	set_seg(c, "get m1 m2\r\nget m3 m", "m4", "VALUE m2 2 2\r\nv2\r\nEND\r\n", true);
	set_seg(c, "4\r\n", "m4", "VALUE m4 4 2\r\nv4\r\nEND\r\n", true);
	/* a cluster: another node's key leaves the line to the session (values, then its redirect) */
	{
		struct wc_slot_table *st = wc_slot_table_of(h.app.slot_part);
		unsigned slot = wc_key_slot("far", 3);

		st->remote = true;
		st->node[slot] = 1;
		snprintf(st->redirect[0], sizeof(st->redirect[0]),
			 "SERVER_ERROR moved 198.18.0.9:11211\r\n");
		set_seg(c, "get m1 m2\r\n", "m2", "VALUE m2 2 2\r\nv2\r\nEND\r\n", true);
		set_seg(c, "get m1 far m2\r\n", "m1",
			"VALUE m1 1 2\r\nv1\r\nSERVER_ERROR moved 198.18.0.9:11211\r\n", false);
		set_seg(c, "get m1\r\nget far m2\r\nget m2\r\n", "m1",
			"SERVER_ERROR moved 198.18.0.9:11211\r\nVALUE m2 2 2\r\nv2\r\nEND\r\n", true);
		st->node[slot] = WC_SLOT_NODE_SELF;
		st->remote = false;
	}
	/* a reply that overflows the output window and the send queue (mbufs short) */
	big_set(c, "b1", 20000, 'a');
	big_set(c, "b2", 20000, 'b');
	big_set(c, "b3", 20000, 'c');
	big_set(c, "b4", 20000, 'd');
	big_set(c, "b5", 3000, 'e');
	set_seg(c, "get b5 m1 b5\r\n", "b5", "eee\r\nEND\r\n", true);
	short_of_mbufs(c, "get m1 b1 b2 nokey b3 b4 b5 m2 b1\r\nget m3 b4\r\nget m2 m3\r\n", 12, "b1",
		       "b4");
	assert_true(last_has(c, "VALUE m3 3 2\r\nv3\r\nEND\r\n"));
	short_of_mbufs(c, "get b1 b2 b3 b4 b1 b2 b3 b4 m1\r\n", 12, "b1", "m1");
	assert_true(last_has(c, "VALUE m1 1 2\r\nv1\r\nEND\r\n"));
	short_of_mbufs(c, "gets b1 b2 b3 b4 b1 b2 b3 b4 m1", 12, "b1", "m1");	/* (cut short) */
	short_of_mbufs(c, "\r\n", 12, "b1", "m1");
	assert_true(last_has(c, "\r\nv1\r\nEND\r\n"));
	set_seg(c, "get m1 b1 m2\r\n", "m1", "VALUE m2 2 2\r\nv2\r\nEND\r\n", true);
}

/* memcached multi-key gets: the fast run and the general one alike. */
static void mgets_fast_equal_general(void **state)
{
	(void)state;
	sets_compared(&(struct script){ .mc = mget_script });
}

/* memcached deletes: the fast run and the general one alike. */
static void deletes_fast_equal_general(void **state)
{
	(void)state;
	sets_compared(&(struct script){ .mc = delete_script, .mc_seed = true });
}

static void incrs_fast_equal_general(void **state)
{
	(void)state;
	sets_compared(&(struct script){ .mc = arith_script, .mc_seed = true });
}

/* The Redis engine's counters a SET moves (not its cycles: time), into the trace. */
static void rd_stats_snap(void)
{
	const struct rd_lcore_stats *st = &h.lc->rdst;
	const uint16_t ctr[4] = { rd_incr_cmd_id, rd_decr_cmd_id, rd_incrby_cmd_id,
				  rd_decrby_cmd_id };
	uint64_t v[15 + 3 * 4] = { st->commands, st->calls[rd_set_cmd_id], st->calls[rd_get_cmd_id],
				   st->calls[rd_setex_cmd_id], st->calls[rd_psetex_cmd_id],
				   st->calls[rd_del_cmd_id], st->calls[rd_mget_cmd_id], st->net_in,
				   st->rejected, st->failed, st->cmd_rejected[rd_set_cmd_id],
				   st->cmd_rejected[rd_setex_cmd_id], st->cmd_rejected[rd_psetex_cmd_id],
				   st->cmd_failed[rd_get_cmd_id], 0 };

	for (unsigned e = 0; e < RD_ERRSTAT_N; e++)
		v[14] = v[14] * 31 + st->errstat[e];	/* (every word's count, in one) */
	for (unsigned i = 0; i < 4; i++) {	/* the counters' calls, failures, refusals */
		v[15 + 3 * i] = st->calls[ctr[i]];
		v[16 + 3 * i] = st->cmd_failed[ctr[i]];
		v[17 + 3 * i] = st->cmd_rejected[ctr[i]];
	}
	put(v, sizeof(v));
}

/* A Redis request, then its reply, the item, the counters; fast as set_seg's. */
static void rd_seg_at(int line, struct cl *c, const char *data, size_t n, const char *key,
		      const char *reply, bool fast)
{
	uint64_t piped = h.lc->tcp->fast_pipelined;

	c->nlast = 0;
	seg_at(c, c->seq, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 65535, data, n);
	if (reply ? !last_has(c, reply) : c->nlast != 0)
		fail_msg("line %d: the reply is \"%.*s\"", line, (int)c->nlast, c->last);
	if (key)
		item_snap(key);
	stats_snap();
	rd_stats_snap();
	if (h.lc->tcp->slow_only ? h.lc->tcp->fast_pipelined != piped :
	    fast != (h.lc->tcp->fast_pipelined > piped))
		fail_msg("line %d: the fast path %s", line, fast ? "did not run" : "ran");
}

#define rd_seg(c, data, ...) rd_seg_at(__LINE__, c, data, strlen(data), __VA_ARGS__)
#define RSET(k, v) "*3\r\n$3\r\nSET\r\n$" #k "\r\n" k "\r\n$" #v "\r\n" v "\r\n"

/* Redis SETs of every kind, c the writer and w a second client (WATCH, tracking, events). */
static void rd_set_script(struct cl *c, struct cl *w)
{
	char req[1024], key[260];
	int n;

	other = w;
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr1\r\n$3\r\nabc\r\n", "r1", "+OK\r\n", true);
	rd_seg(c, "*3\r\n$3\r\nset\r\n$2\r\nr1\r\n$4\r\nab\r\n\r\n", "r1", "+OK\r\n", true);
	rd_seg(c, "*3\r\n$3\r\nsEt\r\n$2\r\nr2\r\n$0\r\n\r\n", "r2", "+OK\r\n", true);
	/* a GET after a SET in the same segment sees the new value */
	rd_seg(c, "*2\r\n$3\r\nGET\r\n$2\r\nr1\r\n*3\r\n$3\r\nSET\r\n$2\r\nr1\r\n$1\r\nz\r\n"
		  "*2\r\n$3\r\nGET\r\n$2\r\nr1\r\n*3\r\n$3\r\nSET\r\n$2\r\nr3\r\n$2\r\nzz\r\n",
	       "r1", "$4\r\nab\r\n\r\n+OK\r\n$1\r\nz\r\n+OK\r\n", true);
	item_snap("r3");
	/* (with EX: write_fast's) */
	rd_seg(c, "*5\r\n$3\r\nSET\r\n$2\r\nr4\r\n$1\r\na\r\n$2\r\nEX\r\n$3\r\n100\r\n", "r4",
	       "+OK\r\n", true);
	/* the session's cases: options, other spellings, a key too long, a hash */
	rd_seg(c, "*5\r\n$3\r\nSET\r\n$2\r\nr4\r\n$1\r\na\r\n$2\r\nXX\r\n$2\r\nNX\r\n", "r4",
	       "-ERR syntax error", false);
	rd_seg(c, "*3\r\n$4\r\nSETX\r\n$2\r\nr4\r\n$1\r\nb\r\n", "r4", "-ERR unknown", false);
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr4\r\n$01\r\nb\r\n", "r4", "-ERR Protocol error",
	       false);
	open_cl(c, (uint16_t)(c->cport + 100), RD, false);	/* (that one closed) */
	/* (a block longer than said: the session stores its first byte and reads on) */
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr4\r\n$1\r\nbc\r\n", "r4", "+OK\r\n", false);
	open_cl(c, (uint16_t)(c->cport + 200), RD, false);
	memset(key, 'K', 251);
	n = snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$250\r\n%.250s\r\n$1\r\nv\r\n", key);
	rd_seg_at(__LINE__, c, req, (size_t)n, NULL, "+OK\r\n", true);
	n = snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$251\r\n%.251s\r\n$1\r\nv\r\n", key);
	rd_seg_at(__LINE__, c, req, (size_t)n, NULL, "-ERR invalid key length", false);
	rd_seg(c, "*4\r\n$4\r\nHSET\r\n$2\r\nr5\r\n$1\r\nf\r\n$1\r\nv\r\n", "r5", ":1\r\n", false);
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr5\r\n$1\r\nv\r\n*2\r\n$4\r\nTYPE\r\n$2\r\nr5\r\n", "r5",
	       "+OK\r\n+string\r\n", true);
	/* fenced, a read-only replica: refused by the session */
	wc_fence_set(0);
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr6\r\n$1\r\nv\r\n", "r6", "-CLUSTERDOWN", false);
	wc_fence_set(-1);
	rd_replica_state.read_only = true;
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr6\r\n$1\r\nv\r\n", "r6", "-READONLY", false);
	rd_replica_state.read_only = false;
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr6\r\n$1\r\nv\r\n", "r6", "+OK\r\n", true);
	/* a WATCHed key written by another client: EXEC aborts */
	rd_seg(w, "*2\r\n$5\r\nWATCH\r\n$2\r\nr6\r\n", "r6", "+OK\r\n", false);
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr6\r\n$1\r\nw\r\n", "r6", "+OK\r\n", true);
	rd_seg(w, "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\nr7\r\n$1\r\nx\r\n*1\r\n$4\r\nEXEC\r\n",
	       "r7", "+OK\r\n+QUEUED\r\n*-1\r\n", false);
	/* a tracking client (RESP3) told of the write */
	rd_seg(w, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", NULL, "%7\r\n", false);
	rd_seg(w, "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n", NULL, "+OK\r\n", false);
	rd_seg(w, "*2\r\n$3\r\nGET\r\n$2\r\nr6\r\n", NULL, "$1\r\nw\r\n", false);
	w->nlast = 0;
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr6\r\n$1\r\nt\r\n", "r6", "+OK\r\n", true);
	if (!last_has(w, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nr6\r\n"))
		fail_msg("no invalidation: \"%.*s\"", (int)w->nlast, w->last);
	/* ... and the tracking writer itself: the session */
	rd_seg(w, "*3\r\n$3\r\nSET\r\n$2\r\nr6\r\n$1\r\nu\r\n", "r6", "+OK\r\n", false);
	/* a keyspace notification to a subscriber */
	rd_seg(c, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nKEA\r\n",
	       NULL, "+OK\r\n", false);
	rd_seg(w, "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$3\r\noff\r\n", NULL, "+OK\r\n", false);
	rd_seg(w, "*2\r\n$9\r\nSUBSCRIBE\r\n$17\r\n__keyspace@0__:r8\r\n", NULL, "subscribe", false);
	w->nlast = 0;
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr8\r\n$1\r\nn\r\n", "r8", "+OK\r\n", true);
	if (!last_has(w, "__keyspace@0__:r8\r\n$3\r\nset\r\n"))
		fail_msg("no keyspace event: \"%.*s\"", (int)w->nlast, w->last);
	rd_seg(c, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n",
	       NULL, "+OK\r\n", false);
	/* a user who may not SET: the session refuses it */
	rd_seg(c, "*4\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$7\r\ndefault\r\n$4\r\n-set\r\n", NULL, "+OK\r\n",
	       false);
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr9\r\n$1\r\nv\r\n", "r9", "-NOPERM", false);
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr9\r\n$1\r\nv\r\n", "r9", "-NOPERM", false);
	rd_seg(c, "*4\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$7\r\ndefault\r\n$4\r\n+set\r\n", NULL, "+OK\r\n",
	       false);
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr9\r\n$1\r\nv\r\n", "r9", "+OK\r\n", false);
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr9\r\n$1\r\nv\r\n", "r9", "+OK\r\n", true);
	/* a SET cut short: the session waits for the rest, and parses it (its parser's state) */
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nra\r\n$5\r\nab", "ra", NULL, false);
	rd_seg(c, "cde\r\n", "ra", "+OK\r\n", false);
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nra\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$2\r\nra", "ra",
	       "+OK\r\n", true);
	rd_seg(c, "\r\n$1\r\ny\r\n", "ra", "+OK\r\n", false);
	/* a full send queue (mbufs short): SETs and GETs stopped between commands */
	{
		char pipe[48 * 40 + 1];
		size_t len = 0;

		for (int i = 0; i < 48; i++)
			len += (size_t)snprintf(pipe + len, sizeof(pipe) - len, i % 2 ?
						"*2\r\n$3\r\nGET\r\n$2\r\nra\r\n" :
						"*3\r\n$3\r\nSET\r\n$3\r\nq%02d\r\n$1\r\nq\r\n", i);
		short_of_mbufs(c, pipe, 48, "q00", "q46");
		rd_stats_snap();
	}
	/* a GET of a hash: the same error, counted as a failed call on both paths */
	rd_seg(c, "*4\r\n$4\r\nHSET\r\n$2\r\nrh\r\n$1\r\nf\r\n$1\r\nv\r\n", NULL, ":1\r\n",
	       false);
	rd_seg(c, "*2\r\n$3\r\nGET\r\n$2\r\nrh\r\n", NULL, "-WRONGTYPE", false);
	rd_seg(c, "*2\r\n$3\r\nGET\r\n$2\r\nrh\r\n*2\r\n$3\r\nGET\r\n$2\r\nrh\r\n", NULL,
	       "-WRONGTYPE", true);
	/* a value over proto-max-bulk-len: the session's protocol error */
	h.app.rd->proto_max_bulk_len = 4;
	rd_seg(c, "*3\r\n$3\r\nSET\r\n$2\r\nr9\r\n$5\r\nvvvvv\r\n", "r9", "-ERR Protocol error", false);
	h.app.rd->proto_max_bulk_len = 512u << 20;
	other = NULL;
}

static void resp_sets_fast_equal_general(void **state)
{
	(void)state;
	sets_compared(&(struct script){ .rd = rd_set_script });
}

/*
 * What the slow log and CLIENT LIST (cmd=) keep of a command the fast path
 * answered, asserted the same with the fast paths on and off (the replies
 * carry times, so this is checked here rather than compared byte for byte).
 */
static void run_bookkeeping(bool slow)
{
	static struct trace t;
	char val[201], big[512];
	struct cl c, w;
	int n;

	cur = &t;
	t.n = 0;
	up(slow);
	open_cl(&c, 30041, RD, false);
	open_cl(&w, 30042, RD, true);
	rd_seg(&w, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$23\r\nslowlog-log-slower-than\r\n$1\r\n0\r\n",
	       NULL, "+OK\r\n", false);
	rd_seg(&w, "*2\r\n$7\r\nSLOWLOG\r\n$5\r\nRESET\r\n", NULL, "+OK\r\n", false);
	/* a pipelined SET and GET (the pipelined fast path when on) */
	rd_seg(&c, "*3\r\n$3\r\nsEt\r\n$2\r\nrs\r\n$3\r\nxyz\r\n*2\r\n$3\r\nGET\r\n$2\r\nrs\r\n", "rs",
	       "+OK\r\n$3\r\nxyz\r\n", !slow);
	rd_seg(&w, "*3\r\n$7\r\nSLOWLOG\r\n$3\r\nGET\r\n$1\r\n2\r\n", NULL, "*2\r\n", false);
	if (!last_has(&w, "*2\r\n$3\r\nGET\r\n$2\r\nrs\r\n$16\r\n198.18.0.1:30041\r\n") ||
	    !last_has(&w, "*3\r\n$3\r\nsEt\r\n$2\r\nrs\r\n$3\r\nxyz\r\n$16\r\n198.18.0.1:30041\r\n"))
		fail_msg("slow log: \"%.*s\"", (int)w.nlast, w.last);
	rd_seg(&w, "*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n", NULL, "addr=198.18.0.1:30041", false);
	if (!last_has(&w, "cmd=get "))
		fail_msg("CLIENT LIST: \"%.*s\"", (int)w.nlast, w.last);
	/* the cache-aside writes (write_fast) and MGET (wc_rd_tcp_mget) the same */
	rd_seg(&c, "*4\r\n$5\r\nSETEX\r\n$2\r\nrx\r\n$3\r\n100\r\n$1\r\nx\r\n"
	       "*2\r\n$3\r\nDEL\r\n$2\r\nrx\r\n*3\r\n$4\r\nMGET\r\n$2\r\nrs\r\n$2\r\nrx\r\n",
	       "rx", "+OK\r\n:1\r\n*2\r\n$3\r\nxyz\r\n$-1\r\n", !slow);
	rd_seg(&w, "*3\r\n$7\r\nSLOWLOG\r\n$3\r\nGET\r\n$1\r\n3\r\n", NULL, "*3\r\n", false);
	if (!last_has(&w, "*2\r\n$3\r\nDEL\r\n$2\r\nrx\r\n$16\r\n198.18.0.1:30041\r\n") ||
	    !last_has(&w, "*4\r\n$5\r\nSETEX\r\n$2\r\nrx\r\n$3\r\n100\r\n$1\r\nx\r\n") ||
	    !last_has(&w, "*3\r\n$4\r\nMGET\r\n$2\r\nrs\r\n$2\r\nrx\r\n$16\r\n198.18.0.1:30041\r\n"))
		fail_msg("slow log: \"%.*s\"", (int)w.nlast, w.last);
	rd_seg(&w, "*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n", NULL, "addr=198.18.0.1:30041", false);
	if (!last_has(&w, "cmd=mget "))
		fail_msg("CLIENT LIST: \"%.*s\"", (int)w.nlast, w.last);
	/* a lone SET of a value past what an entry keeps of an argument */
	memset(val, 'v', 200);
	val[200] = 0;
	n = snprintf(big, sizeof(big), "*3\r\n$3\r\nSET\r\n$2\r\nrs\r\n$200\r\n%s\r\n", val);
	rd_seg_at(__LINE__, &c, big, (size_t)n, "rs", "+OK\r\n", !slow);
	rd_seg(&w, "*3\r\n$7\r\nSLOWLOG\r\n$3\r\nGET\r\n$1\r\n1\r\n", NULL, "*1\r\n", false);
	if (!last_has(&w, "vvv... (72 more bytes)\r\n"))
		fail_msg("slow log: \"%.*s\"", (int)w.nlast, w.last);
	rd_seg(&w, "*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n", NULL, "addr=198.18.0.1:30041", false);
	if (!last_has(&w, "cmd=set "))
		fail_msg("CLIENT LIST: \"%.*s\"", (int)w.nlast, w.last);
	/* the slow log off: a fast GET leaves it as it was (a lone GET: not a pipeline) */
	rd_seg(&w, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$23\r\nslowlog-log-slower-than\r\n$2\r\n-1\r\n",
	       NULL, "+OK\r\n", false);
	rd_seg(&w, "*2\r\n$7\r\nSLOWLOG\r\n$3\r\nLEN\r\n", NULL, ":13\r\n", false);
	rd_seg(&c, "*2\r\n$3\r\nGET\r\n$2\r\nrs\r\n", "rs", "$200\r\n", false);
	rd_seg(&w, "*2\r\n$7\r\nSLOWLOG\r\n$3\r\nLEN\r\n", NULL, ":13\r\n", false);
	dp_teardown(&h);
}

static void fast_commands_bookkept(void **state)
{
	(void)state;
	run_bookkeeping(false);
	run_bookkeeping(true);
}

/* "SET <k> <v> <opt> <n>", "<cmd> <k> <n> <v>" (SETEX, PSETEX), "DEL <k>": k and v of 2 bytes */
#define RSETX(k, v, opt, n) \
	"*5\r\n$3\r\nSET\r\n$2\r\n" k "\r\n$2\r\n" v "\r\n$2\r\n" opt "\r\n$" #n "\r\n"
#define RSETEX(cmd, k, n) "*4\r\n$" cmd "\r\n$2\r\n" k "\r\n$" #n "\r\n"
#define RDEL(k) "*2\r\n$3\r\nDEL\r\n$2\r\n" k "\r\n"
#define RGET2(k) "*2\r\n$3\r\nGET\r\n$2\r\n" k "\r\n"

/* The cache-aside writes, c the writer and w a second client (events, tracking). */
static void rd_ttl_script(struct cl *c, struct cl *w)
{
	char req[1024], key[260];
	int n;

	other = w;
	/* SET with EX or PX, SETEX, PSETEX: the same deadline (exptime and ms) as the session's */
	rd_seg(c, RSETX("t1", "v1", "EX", 3) "300\r\n", "t1", "+OK\r\n", true);
	rd_seg(c, RSETX("t1", "v2", "px", 4) "1500\r\n", "t1", "+OK\r\n", true);
	rd_seg(c, RSETX("t1", "v3", "eX", 1) "7\r\n", "t1", "+OK\r\n", true);
	rd_seg(c, RSETEX("5\r\nSETEX", "t2", 2) "10\r\n$2\r\nw1\r\n", "t2", "+OK\r\n", true);
	rd_seg(c, RSETEX("6\r\npsetex", "t2", 4) "2999\r\n$2\r\nw2\r\n", "t2", "+OK\r\n", true);
	rd_seg(c, RSETEX("5\r\nsEtEx", "t2", 1) "1\r\n$0\r\n\r\n", "t2", "+OK\r\n", true);
	/* the longest: a deadline past the store's range (its largest exptime, as the session's) */
	rd_seg(c, RSETX("t3", "v1", "PX", 18) "999999999999999999\r\n", "t3", "+OK\r\n", true);
	rd_seg(c, RSETX("t3", "v1", "EX", 16) "9223372036854774\r\n", "t3",
	       "-ERR invalid expire time in 'set' command", false);
	/* every bad number: the session's errors */
	rd_seg(c, RSETX("t4", "v1", "EX", 1) "0\r\n", "t4", "-ERR invalid expire time in 'set' command",
	       false);
	rd_seg(c, RSETX("t4", "v1", "PX", 2) "-5\r\n", "t4",
	       "-ERR invalid expire time in 'set' command", false);
	rd_seg(c, RSETX("t4", "v1", "EX", 3) "abc\r\n", "t4", "-ERR value is not an integer", false);
	rd_seg(c, RSETX("t4", "v1", "EX", 2) "1x\r\n", "t4", "-ERR value is not an integer", false);
	rd_seg(c, RSETX("t4", "v1", "EX", 0) "\r\n", "t4", "-ERR value is not an integer", false);
	rd_seg(c, RSETX("t4", "v1", "EX", 3) "010\r\n", "t4", "-ERR value is not an integer", false);
	rd_seg(c, RSETX("t4", "v1", "EX", 2) "+5\r\n", "t4", "-ERR value is not an integer", false);
	rd_seg(c, RSETX("t4", "v1", "EX", 16) "9223372036854776\r\n", "t4",
	       "-ERR invalid expire time in 'set' command", false);
	rd_seg(c, RSETX("t4", "v1", "EX", 16) "9223372036854775\r\n", "t4",
	       "-ERR invalid expire time in 'set' command", false);	/* (overflows with now) */
	rd_seg(c, RSETX("t4", "v1", "PX", 19) "9223372036854775807\r\n", "t4",
	       "-ERR invalid expire time in 'set' command", false);
	rd_seg(c, RSETX("t4", "v1", "PX", 20) "99999999999999999999\r\n", "t4",
	       "-ERR value is not an integer", false);
	rd_seg(c, RSETEX("5\r\nSETEX", "t4", 1) "0\r\n$1\r\nv\r\n", "t4",
	       "-ERR invalid expire time in 'setex' command", false);
	rd_seg(c, RSETEX("6\r\nPSETEX", "t4", 2) "-1\r\n$1\r\nv\r\n", "t4",
	       "-ERR invalid expire time in 'psetex' command", false);
	rd_seg(c, RSETEX("5\r\nSETEX", "t4", 1) "x\r\n$1\r\nv\r\n", "t4",
	       "-ERR value is not an integer", false);
	rd_seg(c, RSETEX("5\r\nSETEX", "t4", 17) "92233720368547760\r\n$1\r\nv\r\n", "t4",
	       "-ERR invalid expire time in 'setex' command", false);
	/* other options: the session's */
	rd_seg(c, "*6\r\n$3\r\nSET\r\n$2\r\nt4\r\n$1\r\nv\r\n$2\r\nEX\r\n$2\r\n10\r\n$2\r\nNX\r\n",
	       "t4", "+OK\r\n", false);
	rd_seg(c, RSETX("t4", "v2", "XX", 2) "10\r\n", "t4", "-ERR syntax error", false);
	rd_seg(c, "*5\r\n$3\r\nSET\r\n$2\r\nt4\r\n$2\r\nv3\r\n$4\r\nEXAT\r\n$10\r\n4102444800\r\n",
	       "t4", "+OK\r\n", false);
	rd_seg(c, "*4\r\n$3\r\nSET\r\n$2\r\nt4\r\n$2\r\nv4\r\n$7\r\nKEEPTTL\r\n", "t4", "+OK\r\n",
	       false);
	rd_seg(c, "*3\r\n$5\r\nSETEX\r\n$2\r\nt4\r\n$1\r\n5\r\n", "t4", "-ERR wrong number", false);
	/* DEL: a hit, a miss, another type, more keys (the session's) */
	rd_seg(c, RDEL("t1"), "t1", ":1\r\n", true);
	rd_seg(c, RDEL("t1"), "t1", ":0\r\n", true);
	rd_seg(c, "*4\r\n$4\r\nHSET\r\n$2\r\nt5\r\n$1\r\nf\r\n$1\r\nv\r\n", "t5", ":1\r\n", false);
	rd_seg(c, "*2\r\n$3\r\ndel\r\n$2\r\nt5\r\n", "t5", ":1\r\n", true);
	rd_seg(c, "*3\r\n$3\r\nDEL\r\n$2\r\nt2\r\n$2\r\nt3\r\n", "t3", ":2\r\n", false);
	rd_seg(c, "*2\r\n$3\r\nDEL\r\n$0\r\n\r\n", NULL, ":0\r\n", false);
	memset(key, 'K', 251);
	n = snprintf(req, sizeof(req), "*2\r\n$3\r\nDEL\r\n$250\r\n%.250s\r\n", key);
	rd_seg_at(__LINE__, c, req, (size_t)n, NULL, ":0\r\n", true);
	/* pipelines: a GET after a SET EX sees it, a GET after a DEL misses */
	rd_seg(c, RSETX("t6", "v1", "EX", 3) "100\r\n" RGET2("t6") RDEL("t6") RGET2("t6")
	       RSETEX("6\r\nPSETEX", "t6", 5) "10000\r\n$2\r\nv2\r\n" RGET2("t6"), "t6",
	       "+OK\r\n$2\r\nv1\r\n:1\r\n$-1\r\n+OK\r\n$2\r\nv2\r\n", true);
	/* fenced, a read-only replica: refused by the session */
	wc_fence_set(0);
	rd_seg(c, RSETX("t6", "v1", "EX", 3) "100\r\n", "t6", "-CLUSTERDOWN", false);
	rd_seg(c, RDEL("t6"), "t6", "-CLUSTERDOWN", false);
	wc_fence_set(-1);
	rd_replica_state.read_only = true;
	rd_seg(c, RSETEX("5\r\nSETEX", "t6", 3) "100\r\n$1\r\nv\r\n", "t6", "-READONLY", false);
	rd_seg(c, RDEL("t6"), "t6", "-READONLY", false);
	rd_replica_state.read_only = false;
	/* a WATCHed key deleted, or written with a TTL, by another client: EXEC aborts */
	rd_seg(c, RSETX("tw", "v1", "EX", 3) "100\r\n", "tw", "+OK\r\n", true);
	rd_seg(w, "*2\r\n$5\r\nWATCH\r\n$2\r\ntw\r\n", "tw", "+OK\r\n", false);
	rd_seg(c, RDEL("tw"), "tw", ":1\r\n", true);
	rd_seg(w, "*1\r\n$5\r\nMULTI\r\n" RGET2("tw") "*1\r\n$4\r\nEXEC\r\n", "tw",
	       "+OK\r\n+QUEUED\r\n*-1\r\n", false);
	rd_seg(w, "*2\r\n$5\r\nWATCH\r\n$2\r\ntw\r\n", "tw", "+OK\r\n", false);
	rd_seg(c, RSETEX("6\r\nPSETEX", "tw", 2) "10\r\n$1\r\nv\r\n", "tw", "+OK\r\n", true);
	rd_seg(w, "*1\r\n$5\r\nMULTI\r\n" RGET2("tw") "*1\r\n$4\r\nEXEC\r\n", "tw",
	       "+OK\r\n+QUEUED\r\n*-1\r\n", false);
	/* a tracking client (RESP3) told of the writes */
	rd_seg(w, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", NULL, "%7\r\n", false);
	rd_seg(w, "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n", NULL, "+OK\r\n", false);
	rd_seg(w, RGET2("t6"), NULL, "$2\r\nv2\r\n", false);
	w->nlast = 0;
	rd_seg(c, RSETEX("5\r\nSETEX", "t6", 3) "100\r\n$2\r\nv3\r\n", "t6", "+OK\r\n", true);
	if (!last_has(w, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nt6\r\n"))
		fail_msg("no invalidation: \"%.*s\"", (int)w->nlast, w->last);
	rd_seg(w, RGET2("t6"), NULL, "$2\r\nv3\r\n", false);
	w->nlast = 0;
	rd_seg(c, RDEL("t6"), "t6", ":1\r\n", true);
	if (!last_has(w, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nt6\r\n"))
		fail_msg("no invalidation: \"%.*s\"", (int)w->nlast, w->last);
	/* ... and the tracking writer itself: the session */
	rd_seg(w, RSETX("t6", "v4", "EX", 3) "100\r\n", "t6", "+OK\r\n", false);
	rd_seg(w, RDEL("t6"), "t6", ":1\r\n", false);
	rd_seg(w, "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$3\r\noff\r\n", NULL, "+OK\r\n", false);
	/* keyspace notifications to a subscriber: set and expire, del */
	rd_seg(c, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nKEA\r\n",
	       NULL, "+OK\r\n", false);
	rd_seg(w, "*2\r\n$10\r\nPSUBSCRIBE\r\n$17\r\n__keyspace@0__:t*\r\n", NULL, "psubscribe",
	       false);
	w->nlast = 0;
	rd_seg(c, RSETX("t7", "v1", "PX", 5) "50000\r\n", "t7", "+OK\r\n", true);
	if (!last_has(w, "__keyspace@0__:t7\r\n$6\r\nexpire\r\n"))
		fail_msg("no expire event: \"%.*s\"", (int)w->nlast, w->last);
	w->nlast = 0;
	rd_seg(c, RSETEX("5\r\nSETEX", "t7", 2) "50\r\n$2\r\nv2\r\n", "t7", "+OK\r\n", true);
	if (!last_has(w, "__keyspace@0__:t7\r\n$6\r\nexpire\r\n"))
		fail_msg("no expire event: \"%.*s\"", (int)w->nlast, w->last);
	w->nlast = 0;
	rd_seg(c, RDEL("t7"), "t7", ":1\r\n", true);
	if (!last_has(w, "__keyspace@0__:t7\r\n$3\r\ndel\r\n"))
		fail_msg("no del event: \"%.*s\"", (int)w->nlast, w->last);
	w->nlast = 0;
	rd_seg(c, RDEL("t7"), "t7", ":0\r\n", true);
	if (w->nlast)
		fail_msg("an event for nothing deleted: \"%.*s\"", (int)w->nlast, w->last);
	rd_seg(c, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n",
	       NULL, "+OK\r\n", false);
	/* users who may not SETEX or DEL: the session refuses them; SET EX is SET's right */
	rd_seg(c, "*5\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$7\r\ndefault\r\n$6\r\n-setex\r\n$4\r\n-del\r\n",
	       NULL, "+OK\r\n", false);
	rd_seg(c, RSETEX("5\r\nSETEX", "t8", 2) "10\r\n$1\r\nv\r\n", "t8", "-NOPERM", false);
	rd_seg(c, RSETEX("5\r\nSETEX", "t8", 2) "10\r\n$1\r\nv\r\n", "t8", "-NOPERM", false);
	rd_seg(c, RSETEX("6\r\nPSETEX", "t8", 2) "10\r\n$1\r\nv\r\n", "t8", "+OK\r\n", true);
	rd_seg(c, RSETX("t8", "v1", "EX", 2) "10\r\n", "t8", "+OK\r\n", true);
	rd_seg(c, RDEL("t8"), "t8", "-NOPERM", false);
	rd_seg(c, "*5\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$7\r\ndefault\r\n$6\r\n+setex\r\n$4\r\n+del\r\n",
	       NULL, "+OK\r\n", false);
	rd_seg(c, RDEL("t8"), "t8", ":1\r\n", false);	/* (users changed: the general path once) */
	rd_seg(c, RSETEX("5\r\nSETEX", "t8", 2) "10\r\n$1\r\nv\r\n", "t8", "+OK\r\n", true);
	rd_seg(c, RDEL("t8"), "t8", ":1\r\n", true);
	/* cut short: the session waits for the rest */
	rd_seg(c, RSETX("t9", "v1", "EX", 3) "10", "t9", NULL, false);
	rd_seg(c, "0\r\n", "t9", "+OK\r\n", false);
	rd_seg(c, RDEL("t9") "*2\r\n$3\r\nDEL\r\n$2\r\nt", "t9", ":1\r\n", true);
	rd_seg(c, "9\r\n", "t9", ":0\r\n", false);
	other = NULL;
}

static void resp_ttl_writes_fast_equal_general(void **state)
{
	(void)state;
	sets_compared(&(struct script){ .rd = rd_ttl_script });
}

/* "INCR <k>", "DECR <k>" (cmd: its name, any case) and "INCRBY <k> <n>", "DECRBY <k> <n>" */
#define RINCR(cmd, k) "*2\r\n$4\r\n" cmd "\r\n$2\r\n" k "\r\n"
#define RINCRBY(cmd, k, n) "*3\r\n$6\r\n" cmd "\r\n$2\r\n" k "\r\n$" #n "\r\n"
#define RSET2(k, vlen, v) "*3\r\n$3\r\nSET\r\n$2\r\n" k "\r\n$" vlen "\r\n" v "\r\n"
#define NOT_INT "-ERR value is not an integer or out of range\r\n"

/* The counters, c the writer and w a second client (WATCH, tracking, events). */
static void rd_incr_script(struct cl *c, struct cl *w)
{
	other = w;
	/* a miss makes the key, hits add; every name in any case */
	rd_seg(c, RINCR("INCR", "c1"), "c1", ":1\r\n", true);
	rd_seg(c, RINCR("incr", "c1"), "c1", ":2\r\n", true);
	rd_seg(c, RINCR("DeCr", "c1"), "c1", ":1\r\n", true);
	rd_seg(c, RINCR("DECR", "c0"), "c0", ":-1\r\n", true);
	rd_seg(c, RINCRBY("INCRBY", "c1", 2) "10\r\n", "c1", ":11\r\n", true);
	rd_seg(c, RINCRBY("decrby", "c1", 2) "20\r\n", "c1", ":-9\r\n", true);
	rd_seg(c, RINCRBY("incrBY", "c1", 2) "-5\r\n", "c1", ":-14\r\n", true);
	rd_seg(c, RINCRBY("DECRBY", "c1", 3) "-14\r\n", "c1", ":0\r\n", true);
	rd_seg(c, RINCRBY("INCRBY", "c1", 1) "0\r\n", "c1", ":0\r\n", true);
	rd_seg(c, RINCRBY("INCRBY", "c1", 18) "999999999999999999\r\n", "c1",
	       ":999999999999999999\r\n", true);
	rd_seg(c, RINCRBY("DECRBY", "c1", 19) "-999999999999999999\r\n", "c1",
	       ":1999999999999999998\r\n", true);
	/* numbers the fast path leaves to the session: its answers, right or wrong */
	rd_seg(c, RINCRBY("INCRBY", "c1", 19) "1000000000000000000\r\n", "c1",
	       ":2999999999999999998\r\n", false);
	rd_seg(c, RINCRBY("INCRBY", "c1", 2) "-0\r\n", "c1", ":2999999999999999998\r\n", false);
	rd_seg(c, RINCRBY("INCRBY", "c1", 2) "01\r\n", "c1", NOT_INT, false);
	rd_seg(c, RINCRBY("INCRBY", "c1", 2) "+1\r\n", "c1", NOT_INT, false);
	rd_seg(c, RINCRBY("INCRBY", "c1", 1) "x\r\n", "c1", NOT_INT, false);
	rd_seg(c, RINCRBY("INCRBY", "c1", 0) "\r\n", "c1", NOT_INT, false);
	rd_seg(c, RINCRBY("INCRBY", "c1", 1) "-\r\n", "c1", NOT_INT, false);
	rd_seg(c, RINCRBY("INCRBY", "c1", 3) "1.5\r\n", "c1", NOT_INT, false);
	rd_seg(c, RINCRBY("INCRBY", "c1", 20) "99999999999999999999\r\n", "c1", NOT_INT, false);
	rd_seg(c, RINCRBY("DECRBY", "c1", 20) "-9223372036854775808\r\n", "c1",
	       "-ERR decrement would overflow\r\n", false);
	/* the stored value: not an integer, an overflow, another type (the session's errors) */
	rd_seg(c, RSET2("c2", "3", "abc"), "c2", "+OK\r\n", true);
	rd_seg(c, RINCR("INCR", "c2"), "c2", NOT_INT, false);
	rd_seg(c, RSET2("c2", "2", "05"), "c2", "+OK\r\n", true);
	rd_seg(c, RINCR("DECR", "c2"), "c2", NOT_INT, false);
	rd_seg(c, RSET2("c2", "2", " 5"), "c2", "+OK\r\n", true);
	rd_seg(c, RINCR("INCR", "c2"), "c2", NOT_INT, false);
	rd_seg(c, RSET2("c2", "0", ""), "c2", "+OK\r\n", true);
	rd_seg(c, RINCR("INCR", "c2"), "c2", NOT_INT, false);
	rd_seg(c, RSET2("c2", "20", "99999999999999999999"), "c2", "+OK\r\n", true);
	rd_seg(c, RINCR("INCR", "c2"), "c2", NOT_INT, false);
	rd_seg(c, RSET2("c3", "19", "9223372036854775807"), "c3", "+OK\r\n", true);
	rd_seg(c, RINCR("INCR", "c3"), "c3", "-ERR increment or decrement would overflow\r\n",
	       false);
	rd_seg(c, RINCRBY("DECRBY", "c3", 2) "-1\r\n", "c3",
	       "-ERR increment or decrement would overflow\r\n", false);
	rd_seg(c, RINCR("DECR", "c3"), "c3", ":9223372036854775806\r\n", true);
	rd_seg(c, RSET2("c3", "20", "-9223372036854775808"), "c3", "+OK\r\n", true);
	rd_seg(c, RINCR("DECR", "c3"), "c3", "-ERR increment or decrement would overflow\r\n",
	       false);
	rd_seg(c, RINCR("INCR", "c3"), "c3", ":-9223372036854775807\r\n", true);
	rd_seg(c, "*4\r\n$4\r\nHSET\r\n$2\r\nc4\r\n$1\r\nf\r\n$1\r\nv\r\n", "c4", ":1\r\n", false);
	rd_seg(c, RINCR("INCR", "c4"), "c4", "-WRONGTYPE", false);
	rd_seg(c, RINCRBY("DECRBY", "c4", 1) "5\r\n", "c4", "-WRONGTYPE", false);
	/* the time to live kept (the item's exptime and ms the same) */
	rd_seg(c, RSETEX("5\r\nSETEX", "c5", 3) "100\r\n$1\r\n7\r\n", "c5", "+OK\r\n", true);
	rd_seg(c, RINCR("INCR", "c5"), "c5", ":8\r\n", true);
	/* other shapes: arity, an empty key (the session's) */
	rd_seg(c, "*3\r\n$4\r\nINCR\r\n$2\r\nc5\r\n$1\r\n1\r\n", "c5", "-ERR wrong number", false);
	rd_seg(c, "*2\r\n$6\r\nINCRBY\r\n$2\r\nc5\r\n", "c5", "-ERR wrong number", false);
	rd_seg(c, "*2\r\n$4\r\nINCR\r\n$0\r\n\r\n", NULL, "-ERR invalid key length", false);
	/* pipelines mixing them with GET, SET, DEL; one the session must answer mid-way */
	rd_seg(c, RSET2("c6", "2", "10") RINCR("INCR", "c6") RGET2("c6")
	       RINCRBY("DECRBY", "c6", 1) "3\r\n" RGET2("c6") RDEL("c6") RINCR("incr", "c6")
	       RGET2("c6"), "c6", "+OK\r\n:11\r\n$2\r\n11\r\n:8\r\n$1\r\n8\r\n:1\r\n:1\r\n$1\r\n1\r\n",
	       true);
	rd_seg(c, RINCR("INCR", "c6") RINCR("INCR", "c4") RINCR("INCR", "c6") RGET2("c6"), "c6",
	       ":2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:3\r\n"
	       "$1\r\n3\r\n", true);
	/* fenced, a read-only replica: refused by the session */
	wc_fence_set(0);
	rd_seg(c, RINCR("INCR", "c6"), "c6", "-CLUSTERDOWN", false);
	wc_fence_set(-1);
	rd_replica_state.read_only = true;
	rd_seg(c, RINCRBY("INCRBY", "c6", 1) "1\r\n", "c6", "-READONLY", false);
	rd_replica_state.read_only = false;
	/* a WATCHed key counted by another client: EXEC aborts */
	rd_seg(w, "*2\r\n$5\r\nWATCH\r\n$2\r\nc6\r\n", "c6", "+OK\r\n", false);
	rd_seg(c, RINCR("INCR", "c6"), "c6", ":4\r\n", true);
	rd_seg(w, "*1\r\n$5\r\nMULTI\r\n" RGET2("c6") "*1\r\n$4\r\nEXEC\r\n", "c6",
	       "+OK\r\n+QUEUED\r\n*-1\r\n", false);
	rd_seg(w, "*2\r\n$5\r\nWATCH\r\n$2\r\nc7\r\n", "c7", "+OK\r\n", false);
	rd_seg(c, RINCRBY("DECRBY", "c7", 1) "2\r\n", "c7", ":-2\r\n", true);	/* (made) */
	rd_seg(w, "*1\r\n$5\r\nMULTI\r\n" RGET2("c7") "*1\r\n$4\r\nEXEC\r\n", "c7",
	       "+OK\r\n+QUEUED\r\n*-1\r\n", false);
	/* a tracking client (RESP3) told of the writes; the tracking writer itself: the session */
	rd_seg(w, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", NULL, "%7\r\n", false);
	rd_seg(w, "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n", NULL, "+OK\r\n", false);
	rd_seg(w, RGET2("c6"), NULL, "$1\r\n4\r\n", false);
	w->nlast = 0;
	rd_seg(c, RINCR("DECR", "c6"), "c6", ":3\r\n", true);
	if (!last_has(w, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nc6\r\n"))
		fail_msg("no invalidation: \"%.*s\"", (int)w->nlast, w->last);
	rd_seg(w, RINCR("INCR", "c6"), "c6", ":4\r\n", false);
	rd_seg(w, "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$3\r\noff\r\n", NULL, "+OK\r\n", false);
	/* keyspace notifications to a subscriber: new (a key made) and incrby */
	rd_seg(c, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$22\r\nnotify-keyspace-events\r\n$4\r\nKEAn\r\n",
	       NULL, "+OK\r\n", false);
	rd_seg(w, "*2\r\n$10\r\nPSUBSCRIBE\r\n$17\r\n__keyspace@0__:c*\r\n", NULL, "psubscribe",
	       false);
	w->nlast = 0;
	rd_seg(c, RINCR("INCR", "c8"), "c8", ":1\r\n", true);
	if (!last_has(w, "__keyspace@0__:c8\r\n$3\r\nnew\r\n") ||
	    !last_has(w, "__keyspace@0__:c8\r\n$6\r\nincrby\r\n"))
		fail_msg("no new and incrby events: \"%.*s\"", (int)w->nlast, w->last);
	w->nlast = 0;
	rd_seg(c, RINCRBY("DECRBY", "c8", 1) "4\r\n", "c8", ":-3\r\n", true);
	if (!last_has(w, "__keyspace@0__:c8\r\n$6\r\nincrby\r\n") ||
	    last_has(w, "$3\r\nnew\r\n"))
		fail_msg("not one incrby event: \"%.*s\"", (int)w->nlast, w->last);
	w->nlast = 0;
	rd_seg(c, RINCR("INCR", "c4"), "c4", "-WRONGTYPE", false);
	if (w->nlast)
		fail_msg("an event for a refused INCR: \"%.*s\"", (int)w->nlast, w->last);
	rd_seg(c, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n",
	       NULL, "+OK\r\n", false);
	/* users who may not INCR or DECRBY: the session refuses them; DECR, INCRBY theirs */
	rd_seg(c, "*5\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$7\r\ndefault\r\n$5\r\n-incr\r\n$7\r\n"
	       "-decrby\r\n", NULL, "+OK\r\n", false);
	rd_seg(c, RINCR("INCR", "c9"), "c9", "-NOPERM", false);
	rd_seg(c, RINCR("INCR", "c9"), "c9", "-NOPERM", false);
	rd_seg(c, RINCR("DECR", "c9"), "c9", ":-1\r\n", true);
	rd_seg(c, RINCRBY("INCRBY", "c9", 1) "5\r\n", "c9", ":4\r\n", true);
	rd_seg(c, RINCRBY("DECRBY", "c9", 1) "5\r\n", "c9", "-NOPERM", false);
	rd_seg(c, "*5\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$7\r\ndefault\r\n$5\r\n+incr\r\n$7\r\n"
	       "+decrby\r\n", NULL, "+OK\r\n", false);
	rd_seg(c, RINCR("INCR", "c9"), "c9", ":5\r\n", false);	/* (users changed: general once) */
	rd_seg(c, RINCR("INCR", "c9"), "c9", ":6\r\n", true);
	rd_seg(c, RINCRBY("DECRBY", "c9", 1) "6\r\n", "c9", ":0\r\n", true);
	/* cut short: the session waits for the rest */
	rd_seg(c, RINCRBY("INCRBY", "c9", 2) "1", "c9", NULL, false);
	rd_seg(c, "0\r\n", "c9", ":10\r\n", false);
	rd_seg(c, RINCR("INCR", "c9") "*2\r\n$4\r\nINCR\r\n$2\r\nc", "c9", ":11\r\n", true);
	rd_seg(c, "9\r\n", "c9", ":12\r\n", false);
	other = NULL;
}

static void resp_counters_fast_equal_general(void **state)
{
	(void)state;
	sets_compared(&(struct script){ .rd = rd_incr_script });
}

#define RMGET2(a, b) "*3\r\n$4\r\nMGET\r\n$2\r\n" a "\r\n$2\r\n" b "\r\n"

#define OOM_VLEN 600

/*
 * A store with no room for a write: the partition made small (its S3-FIFO
 * small queue 1% of the least memory, so any value of OOM_VLEN goes to the
 * main log), and the main log keeping all of itself as its cushion: a
 * write there evicts all it can and is still refused, WC_ERR_NOMEM, what
 * Redis answers as OOM. (The log's own fields, part.h: the store makes
 * room for any string it takes, so only a test makes it fail to.)
 */
static void store_without_room(void)
{
	struct wc_part_cfg pc;
	enum wc_status err;
	struct wc_log *main;

	wc_part_destroy(h.app.parts[0]);
	wc_part_cfg_default(&pc);
	pc.mem_bytes = WC_PART_MEM_MIN;
	pc.small_pct = 1;
	pc.max_value = (uint32_t)h.app.cfg.max_value;
	h.app.parts[0] = wc_part_create(&pc, &h.mem, &err);
	assert_non_null(h.app.parts[0]);
	main = &h.app.parts[0]->log[WC_LOG_MAIN];
	assert_true(OOM_VLEN > h.app.parts[0]->log[WC_LOG_SMALL].size / 4);
	main->cushion = main->size;
}

#define OOM_REPLY "-OOM command not allowed when used memory > 'maxmemory'.\r\n"

/* What a refused write must have moved: Redis's counting (rejected, not a call). */
struct refusal {
	uint64_t commands, calls, rejected, cmd_rejected, oom, errors;
};

static struct refusal refusal_now(unsigned id)
{
	const struct rd_lcore_stats *st = &h.lc->rdst;
	struct refusal r = { st->commands, st->calls[id], st->rejected, st->cmd_rejected[id],
			     st->errstat[RD_ERRSTAT_OOM], 0 };

	for (unsigned e = 0; e < RD_ERRSTAT_N; e++)
		r.errors += st->errstat[e];
	return r;
}

/* One write (req, n bytes) refused for memory: counted as Redis counts its OOM refusal. */
static void refused_at(int line, struct cl *c, const char *req, size_t n, unsigned id,
		       bool fast)
{
	struct refusal b = refusal_now(id), a;

	rd_seg_at(line, c, req, n, NULL, OOM_REPLY, fast);
	a = refusal_now(id);
	if (a.commands != b.commands || a.calls != b.calls || a.rejected != b.rejected + 1 ||
	    a.cmd_rejected != b.cmd_rejected + 1 || a.oom != b.oom + 1 ||
	    a.errors != b.errors + 1)
		fail_msg("line %d: commands +%lu, calls +%lu, rejected +%lu (its command's +%lu), "
			 "OOM errors +%lu, errors +%lu", line, (unsigned long)(a.commands - b.commands),
			 (unsigned long)(a.calls - b.calls), (unsigned long)(a.rejected - b.rejected),
			 (unsigned long)(a.cmd_rejected - b.cmd_rejected),
			 (unsigned long)(a.oom - b.oom), (unsigned long)(a.errors - b.errors));
}

static unsigned mset_id(void)
{
	struct resp_arg a = { .kind = RESP_ARG_PTR, .len = 4, .u.p = (const uint8_t *)"mset" };

	return rd_cmd_lookup(&a)->id;
}

/* Writes refused for memory on the fast paths and the session's (c the writer). */
static void rd_oom_script(struct cl *c, struct cl *w)
{
	static char val[OOM_VLEN + 1];
	char req[OOM_VLEN + 128];
	int n;

	(void)w;
	store_without_room();
	memset(val, 'v', OOM_VLEN);
	/* SET (set_fast), then SET EX, SETEX and PSETEX (write_fast): each key first small */
	rd_seg(c, RSET2("o1", "1", "a") RSET2("o2", "1", "a") RSET2("o3", "1", "a")
	       RSET2("o4", "1", "a") RSET2("o5", "1", "a"), "o1", "+OK\r\n", true);
	n = snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$2\r\no1\r\n$%d\r\n%s\r\n", OOM_VLEN, val);
	refused_at(__LINE__, c, req, (size_t)n, rd_set_cmd_id, true);
	item_snap("o1");	/* (the refusal dropped the old value) */
	n = snprintf(req, sizeof(req), "*5\r\n$3\r\nSET\r\n$2\r\no2\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$2\r\n10\r\n",
		     OOM_VLEN, val);
	refused_at(__LINE__, c, req, (size_t)n, rd_set_cmd_id, true);
	n = snprintf(req, sizeof(req), "*4\r\n$5\r\nSETEX\r\n$2\r\no3\r\n$2\r\n10\r\n$%d\r\n%s\r\n",
		     OOM_VLEN, val);
	refused_at(__LINE__, c, req, (size_t)n, rd_setex_cmd_id, true);
	n = snprintf(req, sizeof(req), "*4\r\n$6\r\nPSETEX\r\n$2\r\no4\r\n$4\r\n9000\r\n$%d\r\n%s\r\n",
		     OOM_VLEN, val);
	refused_at(__LINE__, c, req, (size_t)n, rd_psetex_cmd_id, true);
	/* the session's SET (an option the fast paths leave to it), and its MSET */
	n = snprintf(req, sizeof(req), "*4\r\n$3\r\nSET\r\n$2\r\no5\r\n$%d\r\n%s\r\n$2\r\nXX\r\n",
		     OOM_VLEN, val);
	refused_at(__LINE__, c, req, (size_t)n, rd_set_cmd_id, false);
	rd_seg(c, RSET2("o5", "1", "a"), "o5", "+OK\r\n", true);
	n = snprintf(req, sizeof(req), "*3\r\n$4\r\nMSET\r\n$2\r\no5\r\n$%d\r\n%s\r\n", OOM_VLEN,
		     val);
	refused_at(__LINE__, c, req, (size_t)n, mset_id(), false);
	/* inside EXEC (Redis checks memory before EXEC, not within): the SET's error, a call */
	{
		const struct rd_lcore_stats *st = &h.lc->rdst;
		struct refusal b = refusal_now(rd_set_cmd_id), a;

		n = snprintf(req, sizeof(req), "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\no6\r\n"
			     "$%d\r\n%s\r\n*1\r\n$4\r\nEXEC\r\n", OOM_VLEN, val);
		rd_seg_at(__LINE__, c, req, (size_t)n, NULL, "+OK\r\n+QUEUED\r\n*1\r\n" OOM_REPLY,
			  false);
		a = refusal_now(rd_set_cmd_id);
		assert_int_equal(a.commands, b.commands + 3);	/* MULTI, the SET, EXEC */
		assert_int_equal(a.calls, b.calls + 1);
		assert_int_equal(a.rejected, b.rejected);
		assert_int_equal(a.cmd_rejected, b.cmd_rejected);
		assert_int_equal(a.oom, b.oom + 1);
		assert_int_equal(a.errors, b.errors + 1);
		assert_int_equal(st->cmd_rejected[mset_id()], 1);	/* (the MSET above's alone) */
	}
	/* a write that fits: a call again */
	rd_seg(c, RSET2("o1", "1", "b"), "o1", "+OK\r\n", true);
	/* a counter (write_fast's incr_one; the session's INCR), once neither log has room */
	h.app.parts[0]->log[WC_LOG_SMALL].cushion = h.app.parts[0]->log[WC_LOG_SMALL].size;
	n = snprintf(req, sizeof(req), "*2\r\n$4\r\nINCR\r\n$2\r\nc1\r\n");
	refused_at(__LINE__, c, req, (size_t)n, rd_incr_cmd_id, true);
}

static void resp_oom_refusals_counted_as_redis(void **state)
{
	(void)state;
	sets_compared(&(struct script){ .rd = rd_oom_script });
}

/* Redis MGETs of every kind, c the reader and w a second client (tracking). */
static void rd_mget_script(struct cl *c, struct cl *w)
{
	char req[4096], want[1024], key[260];
	int n, wn;

	other = w;
	rd_seg(c, RSET2("g1", "3", "abc") RSET2("g2", "2", "de"), "g2", "+OK\r\n+OK\r\n", true);
	rd_seg(c, "*2\r\n$4\r\nMGET\r\n$2\r\ng1\r\n", "g1", "*1\r\n$3\r\nabc\r\n", true);
	rd_seg(c, RMGET2("g1", "g2"), "g2", "*2\r\n$3\r\nabc\r\n$2\r\nde\r\n", true);
	rd_seg(c, "*4\r\n$4\r\nmGeT\r\n$2\r\nx1\r\n$2\r\ng2\r\n$2\r\nx2\r\n", "g2",
	       "*3\r\n$-1\r\n$2\r\nde\r\n$-1\r\n", true);
	/* 24 keys, hits and misses mixed; 64 (the most taken) and 65 (the session) */
	n = snprintf(req, sizeof(req), "*25\r\n$4\r\nMGET\r\n");
	wn = snprintf(want, sizeof(want), "*24\r\n");
	for (int i = 0; i < 24; i++) {
		n += snprintf(req + n, sizeof(req) - (size_t)n, "$2\r\n%s\r\n", i % 2 ? "g1" : "zz");
		wn += snprintf(want + wn, sizeof(want) - (size_t)wn, "%s", i % 2 ? "$3\r\nabc\r\n" :
										"$-1\r\n");
	}
	rd_seg_at(__LINE__, c, req, (size_t)n, "g1", want, true);
	for (int keys = 64; keys <= 65; keys++) {
		n = snprintf(req, sizeof(req), "*%d\r\n$4\r\nMGET\r\n", keys + 1);
		for (int i = 0; i < keys; i++)
			n += snprintf(req + n, sizeof(req) - (size_t)n, "$2\r\ng%d\r\n", 1 + i % 3);
		rd_seg_at(__LINE__, c, req, (size_t)n, "g2", "$2\r\nde\r\n$-1\r\n", keys == 64);
	}
	/* keys of 250 bytes (fast) and 251 (the session), a hash (a null), a bad length */
	memset(key, 'M', 251);
	n = snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$250\r\n%.250s\r\n$1\r\nm\r\n", key);
	rd_seg_at(__LINE__, c, req, (size_t)n, NULL, "+OK\r\n", true);
	n = snprintf(req, sizeof(req), "*3\r\n$4\r\nMGET\r\n$250\r\n%.250s\r\n$2\r\ng1\r\n", key);
	rd_seg_at(__LINE__, c, req, (size_t)n, NULL, "*2\r\n$1\r\nm\r\n$3\r\nabc\r\n", true);
	n = snprintf(req, sizeof(req), "*3\r\n$4\r\nMGET\r\n$251\r\n%.251s\r\n$2\r\ng1\r\n", key);
	rd_seg_at(__LINE__, c, req, (size_t)n, NULL, "*2\r\n$-1\r\n$3\r\nabc\r\n", false);
	rd_seg(c, "*4\r\n$4\r\nHSET\r\n$2\r\ng3\r\n$1\r\nf\r\n$1\r\nv\r\n", "g3", ":1\r\n", false);
	rd_seg(c, RMGET2("g3", "g1"), "g3", "*2\r\n$-1\r\n$3\r\nabc\r\n", true);
	rd_seg(c, "*3\r\n$4\r\nMGET\r\n$2\r\ng1\r\n$02\r\ng2\r\n", NULL, "-ERR Protocol error",
	       false);
	open_cl(c, (uint16_t)(c->cport + 100), RD, false);	/* (that one closed) */
	rd_seg(c, "*1\r\n$4\r\nMGET\r\n", NULL, "-ERR wrong number of arguments", false);
	rd_seg(c, "*2\r\n$5\r\nMGETX\r\n$2\r\ng1\r\n", NULL, "-ERR unknown", false);
	/* pipelines mixing GETs, SETs and MGETs; one cut short, then whole */
	rd_seg(c, "*2\r\n$3\r\nGET\r\n$2\r\ng1\r\n" RMGET2("g1", "g4") RSET2("g4", "1", "f")
		  RMGET2("g4", "g2") "*2\r\n$3\r\nGET\r\n$2\r\ng4\r\n", "g4",
	       "$3\r\nabc\r\n*2\r\n$3\r\nabc\r\n$-1\r\n+OK\r\n*2\r\n$1\r\nf\r\n$2\r\nde\r\n$1\r\nf\r\n",
	       true);
	rd_seg(c, RMGET2("g1", "g4") "*3\r\n$4\r\nMGET\r\n$2\r\ng1", NULL,
	       "*2\r\n$3\r\nabc\r\n$1\r\nf\r\n", true);
	rd_seg(c, "\r\n$2\r\ng2\r\n", NULL, "*2\r\n$3\r\nabc\r\n$2\r\nde\r\n", false);
	rd_seg(c, RMGET2("g1", "g4") "PING\r\n" RMGET2("g2", "g4"), NULL,
	       "+PONG\r\n*2\r\n$2\r\nde\r\n$1\r\nf\r\n", true);
	/* a tracking client (RESP3): its MGET's keys remembered, then invalidated */
	rd_seg(w, "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", NULL, "%7\r\n", false);
	rd_seg(w, "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$2\r\non\r\n", NULL, "+OK\r\n", false);
	rd_seg(w, RMGET2("g1", "g9") RMGET2("g2", "g3"), NULL,
	       "*2\r\n$3\r\nabc\r\n_\r\n*2\r\n$2\r\nde\r\n_\r\n", true);
	w->nlast = 0;
	rd_seg(c, RSET2("g1", "1", "n"), "g1", "+OK\r\n", true);
	if (!last_has(w, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ng1\r\n"))
		fail_msg("no invalidation: \"%.*s\"", (int)w->nlast, w->last);
	w->nlast = 0;
	rd_seg(c, RSET2("g9", "1", "n"), "g9", "+OK\r\n", true);
	if (!last_has(w, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ng9\r\n"))
		fail_msg("no invalidation: \"%.*s\"", (int)w->nlast, w->last);
	rd_seg(w, "*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$3\r\noff\r\n", NULL, "+OK\r\n", false);
	/* a user who may not MGET: the session refuses it; a user who may again */
	rd_seg(c, "*4\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$7\r\ndefault\r\n$5\r\n-mget\r\n", NULL,
	       "+OK\r\n", false);
	rd_seg(c, RMGET2("g1", "g2"), NULL, "-NOPERM", false);
	rd_seg(c, RMGET2("g1", "g2"), NULL, "-NOPERM", false);
	rd_seg(c, "*2\r\n$3\r\nGET\r\n$2\r\ng1\r\n" RMGET2("g1", "g2"), NULL, "$1\r\nn\r\n-NOPERM",
	       true);
	rd_seg(c, "*4\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$7\r\ndefault\r\n$5\r\n+mget\r\n", NULL,
	       "+OK\r\n", false);
	rd_seg(c, RMGET2("g1", "g2"), NULL, "*2\r\n$1\r\nn\r\n$2\r\nde\r\n", false);
	rd_seg(c, RMGET2("g1", "g2"), NULL, "*2\r\n$1\r\nn\r\n$2\r\nde\r\n", true);
	/* a full send queue (mbufs short): MGETs stopped between commands */
	{
		char pipe[40 * 40 + 1];
		size_t len = 0;

		for (int i = 0; i < 40; i++)
			len += (size_t)snprintf(pipe + len, sizeof(pipe) - len, "%s",
						i % 2 ? RMGET2("ra", "g2") : RMGET2("g2", "g1"));
		short_of_mbufs(c, pipe, 40, "g1", "g2");
		rd_stats_snap();
	}
	other = NULL;
}

static void resp_mgets_fast_equal_general(void **state)
{
	(void)state;
	sets_compared(&(struct script){ .rd = rd_mget_script });
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fast_equals_general),
		cmocka_unit_test(fast_equals_general_offload),
		cmocka_unit_test(off_the_narrow_case_falls_back),
		cmocka_unit_test(sets_fast_equal_general),
		cmocka_unit_test(resp_sets_fast_equal_general),
		cmocka_unit_test(fast_commands_bookkept),
		cmocka_unit_test(deletes_fast_equal_general),
		cmocka_unit_test(incrs_fast_equal_general),
		cmocka_unit_test(resp_ttl_writes_fast_equal_general),
		cmocka_unit_test(resp_counters_fast_equal_general),
		cmocka_unit_test(resp_oom_refusals_counted_as_redis),
		cmocka_unit_test(mgets_fast_equal_general),
		cmocka_unit_test(resp_mgets_fast_equal_general),
	};

	if (dp_eal_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
