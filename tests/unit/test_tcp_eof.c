/*
 * test_tcp_eof.c - the end of a client's input (its FIN) on memcached (text
 * and meta) and Redis connections, over the NIC-less harness: a request cut
 * short by the FIN can never complete, so the node answers what was whole
 * and closes at once (it does not wait for --request-timeout); whole
 * requests in front of the FIN are all answered first, also when their
 * replies outgrow the send queue; and a whole request that waits for stage
 * room when the FIN comes is still run and answered before the close.
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

#define MC 11211
#define RD DP_REDIS_PORT

static struct dp_harness h;
static uint8_t rbuf[8 << 20];

static int setup(void **state)
{
	(void)state;
	return dp_redis_setup(&h, 48u << 20, 20000);
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

static void advance(uint64_t ms)
{
	h.lc->tcp->now_ms += ms;
	h.lc->tcp->now_us += ms * 1000;
	wc_tcp_poll(h.lc);
	wc_net_flush(h.lc);
}

static struct dpc conn(uint16_t port)
{
	struct dpc c;

	assert_true(dpc_connect(&h, &c, port, rbuf, sizeof(rbuf)));
	return c;
}

/* Read and acknowledge until the node closes (at most ms milliseconds of its clock). */
static void read_to_close(struct dpc *c, unsigned ms)
{
	for (unsigned i = 0; i < ms && !c->fin && !c->rst; i++) {
		dpc_drain(&h, c);
		dpc_ack(&h, c);
		dpc_drain(&h, c);
		if (!c->fin && !c->rst)
			advance(1);
	}
	dpc_ack(&h, c);
	dp_clear_sent(&h);
}

static bool gone(const struct dpc *c)
{
	return wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c->cport, c->dport) == NULL;
}

/* One request on a new connection, then the client's FIN; the reply is in rbuf. */
static struct dpc ask(uint16_t port, const char *req)
{
	struct dpc c = conn(port);

	dpc_send(&h, &c, req, strlen(req), 1400);
	dpc_close(&h, &c);
	read_to_close(&c, 100);
	return c;
}

#define EXPECT(port, req, want)                                                              \
	do {                                                                                 \
		struct dpc c_ = ask((port), (req));                                          \
		if (!dpc_matches((want), rbuf, c_.n))                                        \
			fail_msg("for %s\nwanted %s\n   got %.*s", (req), (want), (int)c_.n, rbuf); \
	} while (0)

/* Other uploads hold the whole stage pool (until stage_give_back). */
static struct {
	struct wc_stage *held;
	unsigned n;
} hog;

static void stage_take_all(void)
{
	hog.held = calloc(h.lc->stage.nchunks, sizeof(*hog.held));
	assert_non_null(hog.held);
	hog.n = 0;
	while (h.lc->stage.nfree)
		assert_true(wc_stage_admit(&h.lc->stage, &hog.held[hog.n++], 1000));
}

static void stage_give_back(void)
{
	while (hog.n)
		wc_stage_release(&h.lc->stage, &hog.held[--hog.n]);
	free(hog.held);
	hog.held = NULL;
}

/*
 * Requests cut short by the FIN: what came whole is answered, the rest is
 * dropped, and the connection is closed with no time passing.
 */
static void partial_request_then_fin_closes(void **state)
{
	static const struct {
		uint16_t port;
		const char *req, *reply;
	} cases[] = {
		{ RD, "PING\r\n*3\r\n", "+PONG\r\n" },
		{ RD, "*3\r\n$3\r\nSET\r\n$2\r\npk\r\n$10\r\nabc", "" },
		{ RD, "PING\r\n*2\r\n$3\r\nGET\r\n$2\r\npk\r", "+PONG\r\n" },
		{ RD, "PING\r\nSET pk", "+PONG\r\n" },
		{ MC, "set pk 0 0 10\r\nabc", "" },
		{ MC, "version\r\nget pk", "VERSION 1.6.21-wirecache-test\r\n" },
		{ MC, "mn\r\nms pk 10\r\nabc", "MN\r\n" },
		{ MC, "mn\r\nmg pk v", "MN\r\n" },
	};
	unsigned before = wc_tcp_active(h.lc);

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dpc c = conn(cases[i].port);

		dpc_send(&h, &c, cases[i].req, strlen(cases[i].req), 1400);
		assert_false(c.fin || c.rst);
		assert_int_equal(wc_tcp_active(h.lc), before + 1);
		dpc_close(&h, &c);	/* (no clock moves: no timer closes it) */
		if (!c.fin && !c.rst)
			fail_msg("case %u (%s): still open after the FIN", i, cases[i].req);
		assert_true(dpc_matches(cases[i].reply, rbuf, c.n));
		assert_true(gone(&c));
		assert_int_equal(wc_tcp_active(h.lc), before);
	}
	/* nothing of the cut requests was stored */
	EXPECT(RD, "EXISTS pk\r\n", ":0\r\n");
	EXPECT(MC, "get pk\r\n", "END\r\n");
}

/* A large value cut short while it goes into a stage: closed at once, the stage back. */
static void partial_staged_upload_then_fin_closes(void **state)
{
	static char part[40000];
	static const char *const heads[] = { "*3\r\n$3\r\nSET\r\n$2\r\nbk\r\n$100000\r\n",
					     "set bk 0 0 100000\r\n" };
	unsigned before = wc_tcp_active(h.lc);

	(void)state;
	memset(part, 'u', sizeof(part));
	for (unsigned i = 0; i < 2; i++) {
		struct dpc c = conn(i ? MC : RD);
		struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.cport, c.dport);

		dpc_send(&h, &c, heads[i], strlen(heads[i]), 1400);
		dpc_send(&h, &c, part, i ? 10000 : sizeof(part), 1400);
		assert_true(h.lc->stage.nfree < h.lc->stage.nchunks);	/* staged */
		assert_true(t->mid_request);
		dpc_close(&h, &c);
		assert_true(c.fin || c.rst);
		assert_int_equal(c.n, 0);
		assert_true(gone(&c));
		assert_int_equal(wc_tcp_active(h.lc), before);
		assert_int_equal(h.lc->stage.nfree, h.lc->stage.nchunks);
	}
	EXPECT(RD, "EXISTS bk\r\n", ":0\r\n");
}

/*
 * memcached: a large block that waits for stage room when the FIN comes can
 * never complete (the block was still arriving): closed at once too.
 */
static void mc_upload_waiting_for_stage_then_fin_closes(void **state)
{
	static char part[8000];
	unsigned before = wc_tcp_active(h.lc);
	const char *line = "set wk 0 0 100000\r\n";
	struct dpc c = conn(MC);
	struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.cport, c.dport);

	(void)state;
	memset(part, 'w', sizeof(part));
	stage_take_all();
	dpc_send(&h, &c, line, strlen(line), 1400);
	dpc_send(&h, &c, part, sizeof(part), 1400);
	assert_true(t->upload_wait && t->stage_listed);
	dpc_close(&h, &c);
	assert_true(c.fin || c.rst);
	assert_int_equal(c.n, 0);
	assert_true(gone(&c));
	assert_int_equal(wc_tcp_active(h.lc), before);
	stage_give_back();
	advance(1);	/* (the stage wait list held no stale entry) */
	assert_int_equal(h.lc->stage.nfree, h.lc->stage.nchunks);
	EXPECT(MC, "get wk\r\n", "END\r\n");
}

/* Store a value of n bytes under key through the given protocol. */
static void store(uint16_t port, const char *key, size_t n)
{
	static char req[300000];
	size_t k;
	struct dpc c = conn(port);

	assert_true(n + 100 <= sizeof(req));
	k = port == RD ? (size_t)sprintf(req, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n",
					   strlen(key), key, n)
		       : (size_t)sprintf(req, "set %s 0 0 %zu\r\n", key, n);
	memset(req + k, 'v', n);
	memcpy(req + k + n, "\r\n", 2);
	dpc_send(&h, &c, req, k + n + 2, 1400);
	dpc_close(&h, &c);
	read_to_close(&c, 100);
	assert_true(dpc_matches(port == RD ? "+OK\r\n" : "STORED\r\n", rbuf, c.n));
}

/*
 * Whole requests pipelined in front of the FIN are all answered before the
 * close, also when their replies pass the send queue's bound (the session
 * pauses with the FIN already in, and goes on as the client reads).
 */
static void pipeline_then_fin_all_answered(void **state)
{
	enum { N = 30, V = 200000 };
	static char req[4096];
	unsigned before = wc_tcp_active(h.lc);

	(void)state;
	EXPECT(RD, "SET a 1\r\nINCR a\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\nGET a",
	       "+OK\r\n:2\r\n$1\r\n2\r\n+PONG\r\n");
	EXPECT(MC, "set a 0 0 1\r\n1\r\nincr a 5\r\nget a\r\nmn\r\nms a 1\r\n7\r\nmg a v\r\nget a",
	       "STORED\r\n6\r\nVALUE a 0 1\r\n6\r\nEND\r\nMN\r\nHD\r\nVA 1\r\n7\r\n");
	for (unsigned p = 0; p < 2; p++) {
		uint16_t port = p ? MC : RD;
		size_t k = 0, each;
		struct dpc c;

		store(port, "big", V);
		for (unsigned i = 0; i < N; i++)
			k += (size_t)sprintf(req + k, "get big\r\n");
		k += (size_t)sprintf(req + k, p ? "mn\r\nget bi" : "PING\r\nGET bi");
		c = conn(port);
		dpc_send(&h, &c, req, k, 1400);
		dpc_close(&h, &c);
		read_to_close(&c, 20000);
		assert_true(c.fin);
		assert_false(c.rst);
		each = p ? strlen("VALUE big 0 200000\r\n") + V + 2 + 5 : strlen("$200000\r\n") + V + 2;
		assert_int_equal(c.n, N * each + 4 + 3 * !p);
		assert_memory_equal(rbuf + N * each, p ? "MN\r\n" : "+PONG\r\n", 4 + 3 * !p);
		assert_true(gone(&c));
		assert_int_equal(wc_tcp_active(h.lc), before);
	}
}

/*
 * A whole Redis request that waits for stage room (its argument must be
 * copied whole and the pool is empty) when the FIN comes: the connection
 * stays until room is back, then the command runs, is answered, and the
 * connection closes.
 */
static void whole_request_waiting_for_stage_then_fin(void **state)
{
	enum { V = 3000 };
	static char req[4000];
	unsigned before = wc_tcp_active(h.lc);
	size_t k = (size_t)sprintf(req, "*3\r\n$3\r\nSET\r\n$2\r\nsw\r\n$%d\r\n", V);
	struct dpc c;
	struct wc_tcb *t;

	(void)state;
	memset(req + k, 's', V);
	k += V;
	k += (size_t)sprintf(req + k, "\r\nSTRLEN sw\r\nPING");
	stage_take_all();
	c = conn(RD);
	t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c.cport, c.dport);
	dpc_send(&h, &c, req, k, 1400);	/* (the value spans buffers: it is copied) */
	assert_true(t->stage_listed);
	dpc_close(&h, &c);
	advance(10);
	dpc_drain(&h, &c);
	assert_false(c.fin || c.rst);
	assert_int_equal(c.n, 0);
	assert_int_equal(t->state, TCP_CLOSE_WAIT);
	/* room again: SET and STRLEN run, the cut PING is dropped, then the close */
	stage_give_back();
	read_to_close(&c, 100);
	assert_true(c.fin);
	assert_true(dpc_matches("+OK\r\n:3000\r\n", rbuf, c.n));
	assert_true(gone(&c));
	assert_int_equal(wc_tcp_active(h.lc), before);
	assert_int_equal(h.lc->stage.nfree, h.lc->stage.nchunks);
	EXPECT(RD, "STRLEN sw\r\n", ":3000\r\n");
}

/*
 * A large SET sent whole while the stage pool is empty (its bulk could not
 * be staged as it arrived), then the FIN: stored and acknowledged before
 * the close, once room is back if it needs room.
 */
static void large_set_while_stage_empty_then_fin(void **state)
{
	enum { V = 100000 };
	static char req[V + 100];
	unsigned before = wc_tcp_active(h.lc);
	size_t k = (size_t)sprintf(req, "*3\r\n$3\r\nSET\r\n$2\r\nlw\r\n$%d\r\n", V);
	struct dpc c;

	(void)state;
	memset(req + k, 'l', V);
	memcpy(req + k + V, "\r\n", 2);
	k += V + 2;
	stage_take_all();
	c = conn(RD);
	dpc_send(&h, &c, req, k, 1400);
	dpc_close(&h, &c);
	advance(10);
	stage_give_back();
	read_to_close(&c, 100);
	assert_true(c.fin);
	assert_true(dpc_matches("+OK\r\n", rbuf, c.n));
	assert_true(gone(&c));
	assert_int_equal(wc_tcp_active(h.lc), before);
	assert_int_equal(h.lc->stage.nfree, h.lc->stage.nchunks);
	EXPECT(RD, "STRLEN lw\r\n", ":100000\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(partial_request_then_fin_closes),
		cmocka_unit_test(partial_staged_upload_then_fin_closes),
		cmocka_unit_test(mc_upload_waiting_for_stage_then_fin_closes),
		cmocka_unit_test(pipeline_then_fin_all_answered),
		cmocka_unit_test(whole_request_waiting_for_stage_then_fin),
		cmocka_unit_test(large_set_while_stage_empty_then_fin),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
