/*
 * test_bus.c - the lcore message bus (core/bus.h): batching and order,
 * flush and drain, a receiver whose ring is full (held buffers, then drops
 * and the WC_BUS_LOST that tells it), limits, and producers on threads of
 * their own keeping their order.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "core/app.h"
#include "core/bus.h"
#include "core/mem_dpdk.h"

#define NLC 3

static struct wc_app app;
static struct wc_mem_ops mem;
static int socket_any = SOCKET_ID_ANY;

/* what handlers saw, per receiving lcore */
struct seen {
	unsigned n, lost;
	unsigned from[70000];
	uint32_t val[70000];
	uint32_t len[70000];
	bool aligned;
};
static struct seen seen[NLC];

static void on_test(struct wc_lcore *lc, unsigned from, const void *msg, uint32_t len)
{
	struct seen *s = &seen[lc->id];

	if ((uintptr_t)msg % 8)
		s->aligned = false;
	if (s->n < 70000) {
		s->from[s->n] = from;
		s->val[s->n] = len >= 4 ? *(const uint32_t *)msg : UINT32_MAX;
		s->len[s->n] = len;
	}
	s->n++;
}

static void on_lost(struct wc_lcore *lc, unsigned from, const void *msg, uint32_t len)
{
	(void)from;
	(void)msg;
	assert_int_equal(len, 0);
	seen[lc->id].lost++;
}

static int eal_up(void)
{
	char *argv[] = { "test_bus", "--no-huge", "-m", "256", "--no-pci", "--no-telemetry",
			 "--log-level=*:error", "--file-prefix=wc_test_bus", NULL };

	return rte_eal_init(8, argv) < 0 ? -1 : 0;
}

static int setup(void **state)
{
	(void)state;
	memset(&app, 0, sizeof(app));
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < NLC; i++)
		seen[i].aligned = true;
	wc_mem_dpdk_init(&mem, &socket_any, SOCKET_ID_ANY);
	app.mem = &mem;
	app.nworkers = NLC;
	app.pool = rte_pktmbuf_pool_create("bus_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	if (!app.pool)
		return -1;
	for (unsigned i = 0; i < NLC; i++) {
		app.lc[i] = rte_zmalloc("bus_lc", sizeof(struct wc_lcore), 64);
		if (!app.lc[i])
			return -1;
		app.lc[i]->id = i;
		app.lc[i]->app = &app;
		app.lc[i]->pool = app.pool;
	}
	wc_bus_register(WC_BUS_TEST, on_test);
	wc_bus_register(WC_BUS_LOST, on_lost);
	return wc_bus_init(&app);
}

static int teardown(void **state)
{
	(void)state;
	wc_bus_fini(&app);
	for (unsigned i = 0; i < NLC; i++)
		rte_free(app.lc[i]);
	/* every buffer came back to the pool: nothing leaked */
	assert_int_equal(rte_mempool_avail_count(app.pool), 4095);
	rte_mempool_free(app.pool);
	return 0;
}

static void put_u32(unsigned from, unsigned to, uint32_t v, uint32_t len)
{
	uint32_t *p = wc_bus_put(app.lc[from], to, WC_BUS_TEST, len);

	assert_non_null(p);
	*p = v;
}

static void batches_keep_order(void **state)
{
	struct wc_bus_stats st;

	(void)state;
	/* many small messages to two receivers, some odd lengths */
	for (uint32_t i = 0; i < 2000; i++) {
		put_u32(0, 1, i, 4 + i % 13);
		put_u32(0, 2, 100000 + i, 4);
	}
	assert_true(wc_bus_pending(app.lc[0]));
	/* nothing is seen before it is drained, and the last batch waits for a flush */
	assert_int_equal(seen[1].n, 0);
	wc_bus_flush(app.lc[0]);
	assert_false(wc_bus_pending(app.lc[0]));
	while (wc_bus_drain(app.lc[1], 16))
		;
	wc_bus_drain(app.lc[2], 1u << 20);
	assert_int_equal(seen[1].n, 2000);
	assert_int_equal(seen[2].n, 2000);
	for (uint32_t i = 0; i < 2000; i++) {
		assert_int_equal(seen[1].val[i], i);
		assert_int_equal(seen[1].len[i], 4 + i % 13);
		assert_int_equal(seen[1].from[i], 0);
		assert_int_equal(seen[2].val[i], 100000 + i);
	}
	assert_true(seen[1].aligned && seen[2].aligned);
	wc_bus_get_stats(app.lc[0], &st);
	assert_int_equal(st.msgs_out, 4000);
	assert_int_equal(st.dropped, 0);
	/* batched: far fewer buffers than messages */
	assert_true(st.bufs_out > 2 && st.bufs_out < 100);
	wc_bus_get_stats(app.lc[1], &st);
	assert_int_equal(st.msgs_in, 2000);
}

static void to_self_and_limits(void **state)
{
	(void)state;
	put_u32(1, 1, 7, 4);
	wc_bus_flush(app.lc[1]);
	wc_bus_drain(app.lc[1], 64);
	assert_int_equal(seen[1].n, 1);
	assert_int_equal(seen[1].from[0], 1);
	/* the largest message fits; one byte more, or an lcore that is not there, does not */
	assert_non_null(wc_bus_put(app.lc[0], 1, WC_BUS_TEST, WC_BUS_MSG_MAX));
	assert_null(wc_bus_put(app.lc[0], 1, WC_BUS_TEST, WC_BUS_MSG_MAX + 1));
	assert_null(wc_bus_put(app.lc[0], NLC, WC_BUS_TEST, 4));
	wc_bus_flush(app.lc[0]);
	wc_bus_drain(app.lc[1], 64);
	assert_int_equal(seen[1].n, 2);
	assert_int_equal(seen[1].len[1], WC_BUS_MSG_MAX);
	assert_int_equal(seen[1].lost, 0);
}

static void full_ring_holds_then_drops_and_tells(void **state)
{
	struct wc_bus_stats st;
	uint32_t i, sent;

	(void)state;
	/* one message per buffer (1 KiB payloads: one fits a 2 KiB mbuf), never drained */
	for (i = 0; i < WC_BUS_RING - 1 + WC_BUS_HOLD; i++) {
		put_u32(0, 1, i, 1024);
		wc_bus_flush(app.lc[0]);
	}
	wc_bus_get_stats(app.lc[0], &st);
	assert_int_equal(st.dropped, 0);
	assert_true(wc_bus_pending(app.lc[0]));	/* the held ones */
	/* the ring is full and the hold too: the next buffers are dropped */
	for (; i < WC_BUS_RING - 1 + WC_BUS_HOLD + 5; i++) {
		put_u32(0, 1, i, 1024);
		wc_bus_flush(app.lc[0]);
	}
	wc_bus_get_stats(app.lc[0], &st);
	assert_int_equal(st.dropped, 5);
	sent = i;
	/* the receiver catches up: held buffers follow in order, then LOST, then new ones */
	while (wc_bus_drain(app.lc[1], 1u << 20) || wc_bus_pending(app.lc[0]))
		wc_bus_flush(app.lc[0]);
	put_u32(0, 1, 999999, 4);
	wc_bus_flush(app.lc[0]);
	wc_bus_drain(app.lc[1], 64);
	assert_int_equal(seen[1].lost, 1);
	for (uint32_t k = 1; k < seen[1].n; k++)
		assert_true(seen[1].val[k] > seen[1].val[k - 1]);
	assert_int_equal(seen[1].val[seen[1].n - 1], 999999);
	assert_int_equal(seen[1].n, sent - st.dropped + 1);
	wc_bus_get_stats(app.lc[1], &st);
	assert_int_equal(st.lost_in, 1);
}

/* ---- producers on threads of their own ---- */

#define PER_PRODUCER 30000

static void *producer(void *arg)
{
	unsigned from = (unsigned)(uintptr_t)arg;

	for (uint32_t i = 0; i < PER_PRODUCER; i++) {
		uint32_t *p;

		while (!(p = wc_bus_put(app.lc[from], 2, WC_BUS_TEST, 8)))
			;
		p[0] = i;
		p[1] = from;
		if (i % 64 == 63) {
			/* (a producer that outruns the consumer waits rather than drops) */
			wc_bus_flush(app.lc[from]);
			while (wc_bus_pending(app.lc[from]))
				wc_bus_flush(app.lc[from]);
		}
	}
	while (wc_bus_pending(app.lc[from]))
		wc_bus_flush(app.lc[from]);
	return NULL;
}

static void threads_keep_each_senders_order(void **state)
{
	pthread_t t[2];
	uint32_t next[2] = { 0, 0 };
	struct wc_bus_stats st[2];

	(void)state;
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, producer, (void *)(uintptr_t)i), 0);
	while (seen[2].n < 2 * PER_PRODUCER)
		wc_bus_drain(app.lc[2], 64);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (unsigned k = 0; k < seen[2].n; k++) {
		unsigned f = seen[2].from[k];

		assert_true(f < 2);
		assert_int_equal(seen[2].val[k], next[f]);
		next[f]++;
	}
	wc_bus_get_stats(app.lc[0], &st[0]);
	wc_bus_get_stats(app.lc[1], &st[1]);
	assert_int_equal(st[0].dropped + st[1].dropped, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(batches_keep_order, setup, teardown),
		cmocka_unit_test_setup_teardown(to_self_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(full_ring_holds_then_drops_and_tells, setup,
						teardown),
		cmocka_unit_test_setup_teardown(threads_keep_each_senders_order, setup, teardown),
	};

	if (eal_up() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
