/*
 * test_rd_pubsub.c - push delivery and Pub/Sub over the NIC-less harness:
 * frames go into the reply stream whole and never inside a reply, the
 * pubsub output bound cuts a connection that does not read (and counts
 * it), local delivery to channels and patterns, the per-lcore counters
 * other lcores read.
 *
 * Expected replies may contain '#', which matches one or more digits.
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
#include "net/tcp_impl.h"
#include "redis/pubsub_impl.h"
#include "redis/push.h"

static struct dp_harness h;
static uint8_t rbuf[1 << 20];

static int setup(void **state)
{
	(void)state;
	return dp_redis_setup(&h, 32u << 20, 32000);
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

#define ASSERT_GOT(c, want)                                                                   \
	do {                                                                                  \
		if (!dpc_matches((want), (c)->buf, (c)->n))                                   \
			fail_msg("wanted %s\n   got %.*s", (want), (int)(c)->n,               \
				 (const char *)(c)->buf);                                     \
	} while (0)

static struct wc_tcb *tcb_of(const struct dpc *c)
{
	return wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c->cport, c->dport);
}

/* Send the output point's frames and collect them (for every client given). */
static void output_n(struct dpc **cs, unsigned k)
{
	rd_push_output(h.lc);
	wc_net_flush(h.lc);
	for (unsigned i = 0; i < k; i++)
		dpc_take(&h, cs[i]);
	dp_clear_sent(&h);
	for (unsigned i = 0; i < k; i++)
		if (cs[i])
			dpc_ack(&h, cs[i]);
	for (unsigned i = 0; i < k; i++)
		dpc_take(&h, cs[i]);
	dp_clear_sent(&h);
}

static void output(struct dpc *c)
{
	output_n(&c, 1);
}

static void open_conn(struct dpc *c, uint8_t *buf, size_t cap)
{
	assert_true(dp_redis_open(&h, c, buf, cap));
	dpc_send(&h, c, "PING\r\n", 6, 1400);
	ASSERT_GOT(c, "+PONG\r\n");
	c->n = 0;
}

/* A frame made through the push API reaches the client whole, as written. */
static void push_api_frame(void **state)
{
	struct dpc c;
	struct wc_tcb *t;
	struct mc_out *o;

	(void)state;
	open_conn(&c, rbuf, sizeof(rbuf));
	t = tcb_of(&c);
	assert_non_null(t);
	o = rd_push_begin(&t->rd);
	assert_non_null(o);
	resp_push(o, 3, 2);
	resp_bulk_str(o, "invalidate");
	resp_null(o, 3);
	rd_push_end(&t->rd);
	output(&c);
	ASSERT_GOT(&c, ">2\r\n$10\r\ninvalidate\r\n_\r\n");
	dpc_close(&h, &c);
	/* a closed connection takes no frames */
	assert_null(rd_push_begin(&t->rd));
}

/* Local delivery: a channel's subscribers and matching patterns, counted. */
static void local_delivery(void **state)
{
	struct dpc a, b;
	static uint8_t bbuf[1 << 16];
	struct wc_tcb *ta, *tb;
	struct rd_pubsub_lc *ps = ps_of(h.lc);

	(void)state;
	open_conn(&a, rbuf, sizeof(rbuf));
	open_conn(&b, bbuf, sizeof(bbuf));
	ta = tcb_of(&a);
	tb = tcb_of(&b);
	assert_false(rd_pubsub_lcore_active(&h.app, 0));
	assert_int_equal(ps_subscribe(ps, &ta->rd, PS_CHANNEL, (const uint8_t *)"news", 4), 1);
	assert_int_equal(ps_subscribe(ps, &ta->rd, PS_CHANNEL, (const uint8_t *)"news", 4), 0);
	assert_true(rd_pubsub_lcore_active(&h.app, 0));
	assert_false(rd_pubsub_lcore_wants_keyspace(&h.app, 0));
	assert_int_equal(ps_subscribe(ps, &tb->rd, PS_PATTERN, (const uint8_t *)"n?ws", 4), 1);
	assert_true(rd_pubsub_lcore_wants_keyspace(&h.app, 0));
	assert_int_equal(rd_pubsub_local(h.lc, (const uint8_t *)"news", 4,
					 (const uint8_t *)"hello", 5), 2);
	assert_int_equal(rd_pubsub_local(h.lc, (const uint8_t *)"other", 5,
					 (const uint8_t *)"x", 1), 0);
	output_n((struct dpc *[]){ &a, &b }, 2);
	ASSERT_GOT(&a, "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
	ASSERT_GOT(&b, "*4\r\n$8\r\npmessage\r\n$4\r\nn?ws\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
	/* the last subscriber gone, nothing is delivered and nothing is wanted */
	assert_int_equal(ps_unsubscribe(ps, &tb->rd, PS_PATTERN, (const uint8_t *)"n?ws", 4), 1);
	assert_false(rd_pubsub_lcore_wants_keyspace(&h.app, 0));
	assert_int_equal(ps_subscribe(ps, &tb->rd, PS_CHANNEL,
				      (const uint8_t *)"__keyspace@0__:k", 16), 1);
	assert_true(rd_pubsub_lcore_wants_keyspace(&h.app, 0));
	dpc_close(&h, &b);
	assert_false(rd_pubsub_lcore_wants_keyspace(&h.app, 0));
	dpc_close(&h, &a);
	assert_false(rd_pubsub_lcore_active(&h.app, 0));
}

/*
 * A subscriber that does not read (acknowledges nothing) is cut once what
 * is queued for it passes the hard limit; it is counted, and the others go on.
 */
static void bound_cuts_non_reader(void **state)
{
	struct dpc slow, fast;
	static uint8_t fbuf[1 << 20];
	struct wc_tcb *ts, *tf;
	struct rd_pubsub_lc *ps = ps_of(h.lc);
	struct rd_obuf_limit saved = h.rd.push.obuf[RD_OBUF_PUBSUB];
	static uint8_t msg[1000];
	unsigned sent = 0;

	(void)state;
	memset(msg, 'm', sizeof(msg));
	h.rd.push.obuf[RD_OBUF_PUBSUB] = (struct rd_obuf_limit){ 64u << 10, 0, 0 };
	open_conn(&slow, rbuf, sizeof(rbuf));
	open_conn(&fast, fbuf, sizeof(fbuf));
	ts = tcb_of(&slow);
	tf = tcb_of(&fast);
	assert_int_equal(ps_subscribe(ps, &ts->rd, PS_CHANNEL, (const uint8_t *)"c", 1), 1);
	assert_int_equal(ps_subscribe(ps, &tf->rd, PS_CHANNEL, (const uint8_t *)"c", 1), 1);
	assert_int_equal(h.lc->rdst.obuf_disconnections, 0);
	while (!slow.rst && sent < 200) {
		rd_pubsub_local(h.lc, (const uint8_t *)"c", 1, msg, sizeof(msg));
		sent++;
		rd_push_output(h.lc);
		wc_net_flush(h.lc);
		dpc_take(&h, &slow);	/* (read off the wire, never acknowledged) */
		dpc_take(&h, &fast);
		dp_clear_sent(&h);
		dpc_ack(&h, &fast);
		dpc_take(&h, &fast);
		dp_clear_sent(&h);
	}
	assert_true(slow.rst);
	assert_true(sent > 40 && sent < 80);
	assert_int_equal(h.lc->rdst.obuf_disconnections, 1);
	assert_false(fast.rst);
	/* the reader got every message, whole */
	assert_int_equal(fast.n, (size_t)sent * (4 + 13 + 7 + 7 + sizeof(msg) + 2));
	assert_int_equal(rd_pubsub_local(h.lc, (const uint8_t *)"c", 1, msg, 1), 1);
	h.rd.push.obuf[RD_OBUF_PUBSUB] = saved;
	dpc_close(&h, &fast);
	assert_false(rd_pubsub_lcore_active(&h.app, 0));
}


/* ---- the commands, over TCP ---- */

static void collect(struct dpc **cs, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		dpc_take(&h, cs[i]);
	dp_clear_sent(&h);
}

/* c sends s; what the node sends to any of cs (c among them) is collected and acknowledged. */
static void cmd_n(struct dpc *c, const char *str, struct dpc **cs, unsigned k)
{
	uint8_t f[2048];
	size_t n = strlen(str);

	for (size_t off = 0; off < n; off += 1400) {
		size_t seg = n - off < 1400 ? n - off : 1400;

		dp_input(&h, f, dp_tcp_ports(f, c->cport, c->dport,
					     RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c->seq, c->ack,
					     65535, str + off, seg, NULL, 0));
		c->seq += (uint32_t)seg;
		collect(cs, k);
	}
	for (unsigned i = 0; i < k; i++) {
		dpc_ack(&h, cs[i]);
		collect(cs, k);
	}
}

static void cmd1(struct dpc *c, const char *str)
{
	c->n = 0;
	cmd_n(c, str, &c, 1);
}

#define CMD2(a, b, str)                                                                      \
	do {                                                                                  \
		(a)->n = 0;                                                                   \
		(b)->n = 0;                                                                   \
		cmd_n((a), (str), (struct dpc *[]){ (a), (b) }, 2);                           \
	} while (0)

static bool has(const struct dpc *c, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= c->n; i++)
		if (memcmp(c->buf + i, needle, k) == 0)
			return true;
	return false;
}

/* RESP2: confirmations, messages, pattern messages, subscribed mode, PUBSUB's counts. */
static void resp2_commands(void **state)
{
	struct dpc sub, pub;
	static uint8_t pbuf[1 << 16];

	(void)state;
	open_conn(&sub, rbuf, sizeof(rbuf));
	open_conn(&pub, pbuf, sizeof(pbuf));
	cmd1(&sub, "SUBSCRIBE news sport news\r\n");
	ASSERT_GOT(&sub, "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
			 "*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n"
			 "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:2\r\n");
	cmd1(&sub, "PSUBSCRIBE n*\r\n");
	ASSERT_GOT(&sub, "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n");
	CMD2(&pub, &sub, "PUBLISH news hello\r\n");
	ASSERT_GOT(&pub, ":2\r\n");
	ASSERT_GOT(&sub, "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
			 "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n");
	CMD2(&pub, &sub, "PUBLISH nothing x\r\n");
	ASSERT_GOT(&pub, ":1\r\n");
	/* subscribed mode: only a few commands, Redis's words */
	cmd1(&sub, "GET k\r\n");
	ASSERT_GOT(&sub, "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
			 "PING / QUIT / RESET are allowed in this context\r\n");
	cmd1(&sub, "CLIENT ID\r\n");
	ASSERT_GOT(&sub, "-ERR Can't execute 'client|id': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE "
			 "/ PING / QUIT / RESET are allowed in this context\r\n");
	cmd1(&sub, "PING\r\n");
	ASSERT_GOT(&sub, "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
	cmd1(&sub, "PING foo\r\n");
	ASSERT_GOT(&sub, "*2\r\n$4\r\npong\r\n$3\r\nfoo\r\n");
	/* introspection */
	cmd1(&pub, "PUBSUB NUMSUB news sport none\r\n");
	ASSERT_GOT(&pub, "*6\r\n$4\r\nnews\r\n:1\r\n$5\r\nsport\r\n:1\r\n$4\r\nnone\r\n:0\r\n");
	cmd1(&pub, "PUBSUB NUMPAT\r\n");
	ASSERT_GOT(&pub, ":1\r\n");
	cmd1(&pub, "PUBSUB CHANNELS s*\r\n");
	ASSERT_GOT(&pub, "*1\r\n$5\r\nsport\r\n");
	cmd1(&pub, "PUBSUB CHANNELS\r\n");
	assert_true(has(&pub, "*2\r\n") && has(&pub, "$4\r\nnews\r\n") && has(&pub, "$5\r\nsport\r\n"));
	cmd1(&pub, "CLIENT LIST TYPE pubsub\r\n");
	assert_true(has(&pub, "flags=P ") && has(&pub, " sub=2 psub=1 ssub=0 "));
	cmd1(&pub, "INFO stats\r\n");
	assert_true(has(&pub, "pubsub_channels:2\r\n") && has(&pub, "pubsub_patterns:1\r\n"));
	/* unsubscribing: one, then every one, then none left */
	cmd1(&sub, "UNSUBSCRIBE sport\r\n");
	ASSERT_GOT(&sub, "*3\r\n$11\r\nunsubscribe\r\n$5\r\nsport\r\n:2\r\n");
	cmd1(&sub, "UNSUBSCRIBE\r\n");
	ASSERT_GOT(&sub, "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:1\r\n");
	cmd1(&sub, "PUNSUBSCRIBE\r\n");
	ASSERT_GOT(&sub, "*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:0\r\n");
	cmd1(&sub, "PUNSUBSCRIBE\r\n");
	ASSERT_GOT(&sub, "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
	cmd1(&sub, "PING\r\n");
	ASSERT_GOT(&sub, "+PONG\r\n");
	cmd1(&pub, "PUBLISH news x\r\n");
	ASSERT_GOT(&pub, ":0\r\n");
	/* shard channels: their own count, no patterns */
	cmd1(&sub, "SSUBSCRIBE a b\r\n");
	ASSERT_GOT(&sub, "*3\r\n$10\r\nssubscribe\r\n$1\r\na\r\n:1\r\n"
			 "*3\r\n$10\r\nssubscribe\r\n$1\r\nb\r\n:2\r\n");
	CMD2(&pub, &sub, "SPUBLISH a m\r\n");
	ASSERT_GOT(&pub, ":1\r\n");
	ASSERT_GOT(&sub, "*3\r\n$8\r\nsmessage\r\n$1\r\na\r\n$1\r\nm\r\n");
	cmd1(&pub, "PUBLISH a m\r\n");
	ASSERT_GOT(&pub, ":0\r\n");
	cmd1(&pub, "PUBSUB SHARDNUMSUB a\r\n");
	ASSERT_GOT(&pub, "*2\r\n$1\r\na\r\n:1\r\n");
	/* RESET leaves nothing behind */
	cmd1(&sub, "RESET\r\n");
	ASSERT_GOT(&sub, "+RESET\r\n");
	cmd1(&pub, "PUBSUB SHARDCHANNELS\r\n");
	ASSERT_GOT(&pub, "*0\r\n");
	dpc_close(&h, &sub);
	dpc_close(&h, &pub);
	assert_false(rd_pubsub_lcore_active(&h.app, 0));
}

/* RESP3: confirmations and messages are pushes; other commands still run. */
static void resp3_pushes(void **state)
{
	struct dpc sub, pub;
	static uint8_t pbuf[1 << 16];

	(void)state;
	open_conn(&sub, rbuf, sizeof(rbuf));
	open_conn(&pub, pbuf, sizeof(pbuf));
	cmd1(&sub, "HELLO 3\r\n");
	cmd1(&sub, "SUBSCRIBE c\r\n");
	ASSERT_GOT(&sub, ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
	cmd1(&sub, "SET k v\r\n");
	ASSERT_GOT(&sub, "+OK\r\n");
	CMD2(&pub, &sub, "PUBLISH c hi\r\n");
	ASSERT_GOT(&pub, ":1\r\n");
	ASSERT_GOT(&sub, ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n");
	cmd1(&sub, "PING\r\n");
	ASSERT_GOT(&sub, "+PONG\r\n");
	/* publishing to itself: the push comes first, then the reply (as Redis writes them) */
	cmd1(&sub, "PUBLISH c me\r\nGET k\r\n");
	ASSERT_GOT(&sub, ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nme\r\n:1\r\n$1\r\nv\r\n");
	/* its own transaction's push goes inside EXEC's reply, before the count (Redis 7.0.15) */
	cmd1(&sub, "MULTI\r\nGET k\r\nPUBLISH c tx\r\nGET k\r\nEXEC\r\n");
	ASSERT_GOT(&sub, "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
			 "*3\r\n$1\r\nv\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\ntx\r\n"
			 ":1\r\n$1\r\nv\r\n");
	/* a push made once its command's reply has begun waits for the reply's end (GETDEL) */
	cmd1(&sub, "CONFIG SET notify-keyspace-events Kg\r\n");
	cmd1(&sub, "SUBSCRIBE __keyspace@0__:k\r\n");
	cmd1(&sub, "GETDEL k\r\n");
	ASSERT_GOT(&sub, "$1\r\nv\r\n>3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$3\r\ndel\r\n");
	cmd1(&sub, "CONFIG SET notify-keyspace-events \"\"\r\n");
	cmd1(&sub, "UNSUBSCRIBE __keyspace@0__:k\r\n");
	/* CLIENT REPLY OFF silences replies, not confirmations */
	cmd1(&sub, "CLIENT REPLY OFF\r\n");
	cmd1(&sub, "UNSUBSCRIBE c\r\n");
	ASSERT_GOT(&sub, ">3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n");
	dpc_close(&h, &sub);
	dpc_close(&h, &pub);
}

/* ACL: channel rules where Redis checks them; a subscriber losing its rights is closed. */
static void acl_channels(void **state)
{
	struct dpc sub, adm;
	static uint8_t abuf[1 << 16];

	(void)state;
	open_conn(&sub, rbuf, sizeof(rbuf));
	open_conn(&adm, abuf, sizeof(abuf));
	cmd1(&adm, "ACL SETUSER u on nopass +@all ~* resetchannels &ok* &lit[x]\r\n");
	ASSERT_GOT(&adm, "+OK\r\n");
	cmd1(&sub, "AUTH u any\r\n");
	ASSERT_GOT(&sub, "+OK\r\n");
	cmd1(&sub, "SUBSCRIBE ok1 no\r\n");
	ASSERT_GOT(&sub, "-NOPERM this user has no permissions to access one of the channels "
			 "used as arguments\r\n");
	cmd1(&sub, "PUBLISH no x\r\n");
	ASSERT_GOT(&sub, "-NOPERM this user has no permissions to access one of the channels "
			 "used as arguments\r\n");
	/* a pattern is compared literally */
	cmd1(&sub, "PSUBSCRIBE ok*\r\n");
	ASSERT_GOT(&sub, "*3\r\n$10\r\npsubscribe\r\n$3\r\nok*\r\n:1\r\n");
	cmd1(&sub, "PSUBSCRIBE ok1*\r\n");
	ASSERT_GOT(&sub, "-NOPERM this user has no permissions to access one of the channels "
			 "used as arguments\r\n");
	cmd1(&sub, "SUBSCRIBE ok1\r\n");
	ASSERT_GOT(&sub, "*3\r\n$9\r\nsubscribe\r\n$3\r\nok1\r\n:2\r\n");
	/* rights widened: it stays */
	cmd1(&adm, "ACL SETUSER u &more\r\n");
	ASSERT_GOT(&adm, "+OK\r\n");
	assert_false(sub.fin || sub.rst);
	/* rights taken: it goes */
	CMD2(&adm, &sub, "ACL SETUSER u resetchannels &more\r\n");
	ASSERT_GOT(&adm, "+OK\r\n");
	assert_true(sub.fin || sub.rst);
	/* a subscriber whose user is deleted goes too */
	dpc_close(&h, &sub);
	open_conn(&sub, rbuf, sizeof(rbuf));
	cmd1(&sub, "AUTH u any\r\n");
	ASSERT_GOT(&sub, "+OK\r\n");
	cmd1(&sub, "SUBSCRIBE more\r\n");
	ASSERT_GOT(&sub, "*3\r\n$9\r\nsubscribe\r\n$4\r\nmore\r\n:1\r\n");
	CMD2(&adm, &sub, "ACL DELUSER u nosuch\r\n");
	ASSERT_GOT(&adm, ":1\r\n");
	assert_true(sub.fin || sub.rst);
	dpc_close(&h, &adm);
	dpc_close(&h, &sub);
}

/* CONFIG client-output-buffer-limit: Redis's format and errors. */
static void obuf_config(void **state)
{
	struct dpc c;

	(void)state;
	open_conn(&c, rbuf, sizeof(rbuf));
	cmd1(&c, "CONFIG GET client-output-buffer-limit\r\n");
	ASSERT_GOT(&c, "*2\r\n$26\r\nclient-output-buffer-limit\r\n$67\r\nnormal 0 0 0 slave "
		       "268435456 67108864 60 pubsub 33554432 8388608 60\r\n");
	cmd1(&c, "CONFIG SET client-output-buffer-limit \"pubsub 1mb 512kb 10\"\r\n");
	ASSERT_GOT(&c, "+OK\r\n");
	assert_int_equal(h.rd.push.obuf[RD_OBUF_PUBSUB].hard, 1u << 20);
	assert_int_equal(h.rd.push.obuf[RD_OBUF_PUBSUB].soft, 512u << 10);
	assert_int_equal(h.rd.push.obuf[RD_OBUF_PUBSUB].soft_seconds, 10);
	cmd1(&c, "CONFIG SET client-output-buffer-limit \"pubsub 1mb 512kb\"\r\n");
	assert_true(has(&c, "Wrong number of arguments in buffer limit configuration."));
	cmd1(&c, "CONFIG SET client-output-buffer-limit \"other 1 1 1\"\r\n");
	assert_true(has(&c, "Invalid client class specified in buffer limit configuration."));
	cmd1(&c, "CONFIG SET client-output-buffer-limit \"pubsub 32mb 8mb 60\"\r\n");
	ASSERT_GOT(&c, "+OK\r\n");
	dpc_close(&h, &c);
}

/* A message of a few KiB published over TCP arrives whole, to every subscriber. */
static void big_message(void **state)
{
	struct dpc a, b, pub;
	static uint8_t abuf[1 << 16], pbuf[1 << 16], cmd[8192], want[8192];
	int n;

	(void)state;
	open_conn(&a, rbuf, sizeof(rbuf));
	open_conn(&b, abuf, sizeof(abuf));
	open_conn(&pub, pbuf, sizeof(pbuf));
	cmd1(&a, "SUBSCRIBE big\r\n");
	cmd1(&b, "SUBSCRIBE big\r\n");
	n = snprintf((char *)cmd, sizeof(cmd), "*3\r\n$7\r\nPUBLISH\r\n$3\r\nbig\r\n$4000\r\n");
	memset(cmd + n, 'x', 4000);
	memcpy(cmd + n + 4000, "\r\n", 3);
	a.n = b.n = pub.n = 0;
	cmd_n(&pub, (const char *)cmd, (struct dpc *[]){ &pub, &a, &b }, 3);
	ASSERT_GOT(&pub, ":2\r\n");
	n = snprintf((char *)want, sizeof(want), "*3\r\n$7\r\nmessage\r\n$3\r\nbig\r\n$4000\r\n");
	memset(want + n, 'x', 4000);
	memcpy(want + n + 4000, "\r\n", 3);
	assert_int_equal(a.n, strlen((char *)want));
	assert_memory_equal(a.buf, want, a.n);
	assert_int_equal(b.n, strlen((char *)want));
	dpc_close(&h, &a);
	dpc_close(&h, &b);
	dpc_close(&h, &pub);
}

/*
 * While the lcore's mbuf pool runs low, a push receiver holding more than
 * RD_PUSH_LOW_POOL_SHARE is cut well below its configured bound; one that
 * reads keeps going.
 */
static void low_pool_cuts_early(void **state)
{
	struct dpc slow, fast;
	static uint8_t fbuf[1 << 20];
	struct wc_tcb *ts, *tf;
	struct rd_pubsub_lc *ps = ps_of(h.lc);
	static uint8_t msg[1000];
	uint64_t cut0 = h.lc->rdst.obuf_disconnections;
	unsigned sent = 0;

	(void)state;
	memset(msg, 'p', sizeof(msg));
	open_conn(&slow, rbuf, sizeof(rbuf));
	open_conn(&fast, fbuf, sizeof(fbuf));
	ts = tcb_of(&slow);
	tf = tcb_of(&fast);
	assert_int_equal(ps_subscribe(ps, &ts->rd, PS_CHANNEL, (const uint8_t *)"lp", 2), 1);
	assert_int_equal(ps_subscribe(ps, &tf->rd, PS_CHANNEL, (const uint8_t *)"lp", 2), 1);
	h.lc->tcp->pool_low = true;
	while (!slow.rst && sent < 200) {
		rd_pubsub_local(h.lc, (const uint8_t *)"lp", 2, msg, sizeof(msg));
		sent++;
		rd_push_output(h.lc);
		wc_net_flush(h.lc);
		dpc_take(&h, &slow);
		dpc_take(&h, &fast);
		dp_clear_sent(&h);
		dpc_ack(&h, &fast);
		dpc_take(&h, &fast);
		dp_clear_sent(&h);
	}
	h.lc->tcp->pool_low = false;
	assert_true(slow.rst);
	/* (the default bound is 32 MiB: only the pool rule cuts this early) */
	assert_true(sent * sizeof(msg) < 2 * RD_PUSH_LOW_POOL_SHARE);
	assert_int_equal(h.lc->rdst.obuf_disconnections, cut0 + 1);
	assert_false(fast.rst);
	dpc_close(&h, &fast);
}

/* Time passes on the frozen TCP clock; timers run. */
static void advance(uint64_t ms)
{
	h.lc->tcp->now_ms += ms;
	h.lc->tcp->now_us += ms * 1000;
	wc_tcp_poll(h.lc);
	wc_net_flush(h.lc);
	dp_clear_sent(&h);
}

static bool idled_out(const struct dpc *c)
{
	const struct wc_tcb *t = tcb_of(c);

	return !t || t->app_closed;
}

/*
 * CONFIG timeout spares a client subscribed to anything (a channel, a
 * pattern, a shard channel; RESP2 or RESP3), as Redis does; once it has no
 * subscription left it times out again after being quiet that long.
 */
static void subscribers_exempt_from_idle_timeout(void **state)
{
	struct dpc plain, sub, psub, ssub;
	static uint8_t b1[4096], b2[4096], b3[4096], b4[4096];
	uint64_t idle0 = h.lc->tcp->st.idle_closed;
	uint32_t saved = h.app.cfg.tcp_idle_ms;

	(void)state;
	open_conn(&plain, b1, sizeof(b1));
	open_conn(&sub, b2, sizeof(b2));
	open_conn(&psub, b3, sizeof(b3));
	open_conn(&ssub, b4, sizeof(b4));
	cmd1(&plain, "CONFIG SET timeout 2\r\n");
	ASSERT_GOT(&plain, "+OK\r\n");
	cmd1(&sub, "SUBSCRIBE c\r\n");
	ASSERT_GOT(&sub, "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
	cmd1(&psub, "HELLO 3\r\n");
	cmd1(&psub, "PSUBSCRIBE p*\r\n");
	ASSERT_GOT(&psub, ">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n");
	cmd1(&ssub, "SSUBSCRIBE s\r\n");
	ASSERT_GOT(&ssub, "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n");
	/* five times the timeout: only the client without subscriptions goes */
	for (int i = 0; i < 20; i++)
		advance(500);
	assert_true(idled_out(&plain));
	assert_int_equal(h.lc->tcp->st.idle_closed, idle0 + 1);
	assert_false(idled_out(&sub) || idled_out(&psub) || idled_out(&ssub));
	/* and they still get their messages */
	CMD2(&psub, &sub, "PUBLISH c late\r\n");
	ASSERT_GOT(&psub, ":1\r\n");
	ASSERT_GOT(&sub, "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$4\r\nlate\r\n");
	/* without subscriptions they time out again: quiet for the timeout after the last one */
	cmd1(&sub, "UNSUBSCRIBE\r\n");
	ASSERT_GOT(&sub, "*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n");
	cmd1(&psub, "PUNSUBSCRIBE\r\n");
	ASSERT_GOT(&psub, ">3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n");
	advance(1500);
	assert_false(idled_out(&sub) || idled_out(&psub) || idled_out(&ssub));
	advance(1000);
	assert_true(idled_out(&sub));
	assert_true(idled_out(&psub));
	assert_false(idled_out(&ssub));
	cmd1(&ssub, "SUNSUBSCRIBE s\r\n");
	ASSERT_GOT(&ssub, "*3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n");
	for (int i = 0; i < 6; i++)
		advance(500);
	assert_true(idled_out(&ssub));
	assert_int_equal(h.lc->tcp->st.idle_closed, idle0 + 4);
	h.app.cfg.tcp_idle_ms = saved;
	dpc_close(&h, &plain);
	dpc_close(&h, &sub);
	dpc_close(&h, &psub);
	dpc_close(&h, &ssub);
	advance(60000);	/* (the closed connections' FIN and TIME_WAIT timers run out) */
	assert_false(rd_pubsub_lcore_active(&h.app, 0));
}

/*
 * CLIENT LIST's idle= of a client that only receives: the time since its
 * last interaction, which a message written to it is, as Redis counts it
 * (a read from it, or a reply or push it was sent). (age= runs on the wall
 * clock, which the harness does not move: 0 throughout.)
 */
static void subscriber_idle_counts_pushes(void **state)
{
	struct dpc pub, sub;
	static uint8_t b1[8192], b2[4096];

	(void)state;
	open_conn(&pub, b1, sizeof(b1));
	open_conn(&sub, b2, sizeof(b2));
	cmd1(&sub, "CLIENT SETNAME rcv\r\n");
	cmd1(&sub, "SUBSCRIBE c\r\n");
	ASSERT_GOT(&sub, "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
	advance(3000);
	cmd1(&pub, "CLIENT LIST\r\n");
	if (!has(&pub, " name=rcv age=0 idle=3 flags=P "))
		fail_msg("quiet 3 s: %.*s", (int)pub.n, (const char *)pub.buf);
	/* a message written to it: interaction, idle=0 */
	CMD2(&pub, &sub, "PUBLISH c m\r\n");
	ASSERT_GOT(&sub, "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
	cmd1(&pub, "CLIENT LIST\r\n");
	if (!has(&pub, " name=rcv age=0 idle=0 flags=P "))
		fail_msg("after a message: %.*s", (int)pub.n, (const char *)pub.buf);
	/* and from there it counts again */
	advance(2000);
	cmd1(&pub, "CLIENT LIST\r\n");
	if (!has(&pub, " name=rcv age=0 idle=2 flags=P "))
		fail_msg("quiet 2 s after: %.*s", (int)pub.n, (const char *)pub.buf);
	dpc_close(&h, &pub);
	dpc_close(&h, &sub);
	advance(60000);	/* (the closed connections' FIN and TIME_WAIT timers run out) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(push_api_frame),
		cmocka_unit_test(local_delivery),
		cmocka_unit_test(bound_cuts_non_reader),
		cmocka_unit_test(resp2_commands),
		cmocka_unit_test(resp3_pushes),
		cmocka_unit_test(acl_channels),
		cmocka_unit_test(obuf_config),
		cmocka_unit_test(big_message),
		cmocka_unit_test(low_pool_cuts_early),
		cmocka_unit_test(subscribers_exempt_from_idle_timeout),
		cmocka_unit_test(subscriber_idle_counts_pushes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
