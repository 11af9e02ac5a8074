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

#include "dp_tcpclient.h"
#include "net/tcp_impl.h"
#include "redis/pubsub_impl.h"
#include "redis/push.h"

static struct dp_harness h;
static uint8_t rbuf[1 << 20];
static uint16_t next_port = 32000;

static void redis_cfg(struct wc_config *c)
{
	c->memory = 32u << 20;
	c->max_conns = 64;
	c->redis_port = 6379;
}

static int setup(void **state)
{
	(void)state;
	if (dp_eal_init() != 0 || dp_setup(&h, redis_cfg) != 0)
		return -1;
	h.lc->tcp->frozen_clock = true;
	h.lc->tcp->now_ms = 1000000;
	h.lc->tcp->now_us = 1000000000;
	h.lc->tcp->wheel_done = h.lc->tcp->now_ms;
	h.lc->ctx.clock.epoch = 1700000000;
	h.lc->ctx.clock.now = 1000;
	dp_learn_client(&h);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

/* '#' in want matches one or more digits */
static bool matches(const char *want, const uint8_t *got, size_t n)
{
	size_t i = 0;

	while (*want) {
		if (*want == '#') {
			if (i >= n || got[i] < '0' || got[i] > '9')
				return false;
			while (i < n && got[i] >= '0' && got[i] <= '9')
				i++;
			want++;
			continue;
		}
		if (i >= n || (uint8_t)*want++ != got[i++])
			return false;
	}
	return i == n;
}

#define ASSERT_GOT(c, want)                                                                   \
	do {                                                                                  \
		if (!matches((want), (c)->buf, (c)->n))                                       \
			fail_msg("wanted %s\n   got %.*s", (want), (int)(c)->n,               \
				 (const char *)(c)->buf);                                     \
	} while (0)

static struct wc_tcb *tcb_of(const struct dpc *c)
{
	return wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c->cport, c->dport);
}

/* Take what the node sent to c, leaving the segments for the other clients. */
static void take(struct dpc *c)
{
	/* dpc_drain frees what it looked at: give it references of its own */
	struct rte_mbuf *copy[DP_MAX_SENT];
	unsigned n = h.nsent;

	memcpy(copy, h.sent, n * sizeof(copy[0]));
	for (unsigned i = 0; i < n; i++)
		rte_mbuf_refcnt_update(copy[i], 1);
	dpc_drain(&h, c);
	memcpy(h.sent, copy, n * sizeof(copy[0]));
	h.nsent = n;
}

/* Send the output point's frames and collect them (for every client given). */
static void output_n(struct dpc **cs, unsigned k)
{
	rd_push_output(h.lc);
	wc_net_flush(h.lc);
	for (unsigned i = 0; i < k; i++)
		take(cs[i]);
	dp_clear_sent(&h);
	for (unsigned i = 0; i < k; i++)
		if (cs[i])
			dpc_ack(&h, cs[i]);
	for (unsigned i = 0; i < k; i++)
		take(cs[i]);
	dp_clear_sent(&h);
}

static void output(struct dpc *c)
{
	output_n(&c, 1);
}

static void open_conn(struct dpc *c, uint8_t *buf, size_t cap)
{
	assert_true(dpc_open(&h, c, next_port++, 6379, buf, cap));
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
		take(&slow);	/* (read off the wire, never acknowledged) */
		take(&fast);
		dp_clear_sent(&h);
		dpc_ack(&h, &fast);
		take(&fast);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(push_api_frame),
		cmocka_unit_test(local_delivery),
		cmocka_unit_test(bound_cuts_non_reader),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
