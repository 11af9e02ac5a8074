/*
 * test_rd_keyev_bus.c - keyspace events between two lcores (redis/keyev.h
 * over core/bus.h), without a NIC: an event raised on one lcore reaches
 * the other only if it is interested (a keyspace subscriber there for the
 * event's class, or tracking clients for changes), after the sender's
 * flush and the receiver's drain, in order; the owner is handled inline; a
 * read on lcore 0 that finds lcore 1's key expired asks the owner, which
 * removes it and raises `expired` once; a ring overflow reaches listeners
 * as a flush and is counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "core/app.h"
#include "core/bus.h"
#include "core/mem_dpdk.h"
#include "redis/keyev.h"
#include "redis/server.h"
#include "store_helpers.h"

#define NLC 2

static struct wc_app app;
static struct rd_server srv;
static struct wc_mem_ops mem;
static int socket_any = SOCKET_ID_ANY;
static bool wants[NLC];

/* what each lcore was told: notifications and listener calls */
static struct seen {
	unsigned notes, changes, flushes, losses;
	char log[4096];
	uint64_t last_client;
} seen[NLC];

static void note(struct wc_lcore *lc, const struct rd_keyev *ev)
{
	struct seen *s = &seen[lc->id];
	uint8_t ch[RD_KEYEV_CHANNEL_MAX];
	uint32_t n = rd_keyev_channel(ch, false, ev);
	size_t k = strlen(s->log);

	s->notes++;
	snprintf(s->log + k, sizeof(s->log) - k, "%.*s=%.*s;", (int)n, (const char *)ch,
		 (int)ev->klen, (const char *)ev->key);
}

static bool want(const struct wc_app *a, unsigned i)
{
	(void)a;
	return i < NLC && wants[i];
}

static void listener(struct wc_lcore *lc, const struct rd_keyev *ev)
{
	struct seen *s = &seen[lc->id];

	if (ev->kind == RD_KEYEV_FLUSH)
		s->flushes++;
	else if (ev->kind == RD_KEYEV_LOST)
		s->losses++;
	else
		s->changes++;
	s->last_client = ev->client_id;
}

static int setup(void **state)
{
	static const struct rd_keyev_notifier n = { .deliver = note, .wants = want };
	char *argv[] = { "test_rd_keyev_bus", "--no-huge", "-m", "256", "--no-pci",
			 "--no-telemetry", "--log-level=*:error",
			 "--file-prefix=wc_test_rd_keyev_bus", NULL };

	(void)state;
	if (rte_eal_init(8, argv) < 0)
		return -1;
	rcu_register_thread();
	wc_mem_dpdk_init(&mem, &socket_any, SOCKET_ID_ANY);
	app.mem = &mem;
	app.nworkers = NLC;
	app.rd = &srv;
	app.pool = rte_pktmbuf_pool_create("kev_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	if (!app.pool)
		return -1;
	rd_keyev_setup();
	rd_keyev_set_notifier(&n);
	rd_keyev_listen(listener);
	for (unsigned i = 0; i < NLC; i++) {
		app.lc[i] = rte_zmalloc("kev_lc", sizeof(struct wc_lcore), 64);
		if (!app.lc[i])
			return -1;
		app.lc[i]->id = i;
		app.lc[i]->app = &app;
		app.lc[i]->pool = app.pool;
		test_ctx(&app.lc[i]->ctx, 1000);
		rd_keyev_lcore_init(app.lc[i]);
	}
	/* one partition, owned by lcore 1 */
	app.nparts = 1;
	app.parts[0] = test_part(8u << 20, 0, 0);
	app.part_owner[0] = 1;
	return wc_bus_init(&app);
}

static int teardown(void **state)
{
	(void)state;
	wc_bus_fini(&app);
	wc_part_destroy(app.parts[0]);
	for (unsigned i = 0; i < NLC; i++)
		rte_free(app.lc[i]);
	assert_int_equal(rte_mempool_avail_count(app.pool), 4095);
	rte_mempool_free(app.pool);
	return 0;
}

static void reset(uint32_t flags)
{
	memset(seen, 0, sizeof(seen));
	srv.notify_flags = flags;
	rd_keyev_settings_changed(&app);
}

/* Flush from, drain to, until nothing waits (held buffers go once the ring has room). */
static void deliver(unsigned from, unsigned to)
{
	for (int i = 0; i < 1000; i++) {
		wc_bus_flush(app.lc[from]);
		if (!wc_bus_drain(app.lc[to], 64) && !wc_bus_pending(app.lc[from]))
			break;
	}
}

static void raise_on(unsigned lc, enum rd_ev ev, const char *key)
{
	rd_keyev_raise(&app.lc[lc]->ctx, 7, ev, (const uint8_t *)key, (uint32_t)strlen(key));
}

/* Interest decides who hears; the other lcore only after flush and drain, in order. */
static void interest_and_order(void **state)
{
	(void)state;
	reset(0);
	assert_null(app.lc[0]->ctx.keyev);
	reset(RD_NOTIFY_KEYEVENT | RD_NOTIFY_STRING);
	assert_non_null(app.lc[0]->ctx.keyev);
	assert_non_null(app.lc[1]->ctx.keyev);
	wants[0] = false;
	wants[1] = true;
	raise_on(0, RD_EV_SET, "a");
	raise_on(0, RD_EV_DEL, "b");	/* class g: not asked for */
	raise_on(0, RD_EV_APPEND, "c");
	assert_int_equal(seen[0].notes, 0);
	assert_int_equal(seen[1].notes, 0);	/* not before the flush */
	deliver(0, 1);
	assert_int_equal(seen[0].notes, 0);
	assert_string_equal(seen[1].log, "__keyevent@0__:set=a;__keyevent@0__:append=c;");
	assert_int_equal(app.lc[0]->keyev.sent, 2);
	assert_int_equal(app.lc[1]->keyev.received, 2);
	/* both interested: the raising lcore inline, the other by message */
	wants[0] = true;
	memset(seen, 0, sizeof(seen));
	raise_on(1, RD_EV_INCRBY, "n");
	assert_string_equal(seen[1].log, "__keyevent@0__:incrby=n;");
	assert_int_equal(seen[0].notes, 0);
	deliver(1, 0);
	assert_string_equal(seen[0].log, "__keyevent@0__:incrby=n;");
	wants[0] = wants[1] = false;
	reset(0);
	assert_null(app.lc[1]->ctx.keyev);
}

/* Tracking interest: changes (not misses) reach the lcore with tracking clients. */
static void tracking_interest(void **state)
{
	(void)state;
	reset(0);
	rd_keyev_interest(app.lc[1], RD_KEYEV_WANT_TRACKING, 1);
	assert_non_null(app.lc[0]->ctx.keyev);
	raise_on(0, RD_EV_HSET, "h");
	raise_on(0, RD_EV_KEYMISS, "m");
	deliver(0, 1);
	assert_int_equal(seen[0].changes, 0);
	assert_int_equal(seen[1].changes, 1);
	assert_int_equal(seen[1].last_client, 7);
	/* flags 0: no notification for either, so the notifier hears neither */
	assert_int_equal(seen[1].notes, 0);
	assert_int_equal(seen[0].notes, 0);
	/*
	 * tracking on both lcores, notifications for another class (E + g):
	 * the listeners hear a SET inline and by message, the notifier never;
	 * a DEL (class g) reaches both, on both lcores
	 */
	rd_keyev_interest(app.lc[0], RD_KEYEV_WANT_TRACKING, 1);
	reset(RD_NOTIFY_KEYEVENT | RD_NOTIFY_GENERIC);
	wants[0] = wants[1] = true;
	raise_on(0, RD_EV_SET, "s");
	deliver(0, 1);
	assert_int_equal(seen[0].changes, 1);
	assert_int_equal(seen[1].changes, 1);
	assert_int_equal(seen[0].notes + seen[1].notes, 0);
	raise_on(0, RD_EV_DEL, "d");
	deliver(0, 1);
	assert_int_equal(seen[0].changes, 2);
	assert_int_equal(seen[1].changes, 2);
	assert_string_equal(seen[0].log, "__keyevent@0__:del=d;");
	assert_string_equal(seen[1].log, "__keyevent@0__:del=d;");
	wants[0] = wants[1] = false;
	reset(0);
	rd_keyev_interest(app.lc[0], RD_KEYEV_WANT_TRACKING, -1);
	rd_keyev_interest(app.lc[1], RD_KEYEV_WANT_TRACKING, -1);
	assert_null(app.lc[0]->ctx.keyev);
}

/* A read on lcore 0 finds lcore 1's key expired: the owner removes it, `expired` once. */
static void expired_read_asks_owner(void **state)
{
	struct wc_part *p = app.parts[0];
	struct wc_view v;

	(void)state;
	reset(RD_NOTIFY_KEYEVENT | RD_NOTIFY_EXPIRED);
	wants[0] = true;
	assert_int_equal(store_mode(p, &app.lc[1]->ctx, WC_SET, "gone", "v", 1, 0, 2, 0, NULL),
			 WC_OK);
	app.lc[0]->ctx.clock.now += 10;
	app.lc[1]->ctx.clock.now += 10;
	assert_false(get_str(p, &app.lc[0]->ctx, "gone", &v));
	assert_false(get_str(p, &app.lc[0]->ctx, "gone", &v));	/* asked twice */
	assert_int_equal(app.lc[0]->keyev.expired_asks, 2);
	assert_int_equal(seen[0].notes, 0);
	deliver(0, 1);		/* the owner removes it, raising `expired` once */
	deliver(1, 0);
	assert_string_equal(seen[0].log, "__keyevent@0__:expired=gone;");
	assert_int_equal(seen[0].last_client, 0);
	wants[0] = false;
	reset(0);
}

/* A ring that overflows: the receiver hears WC_BUS_LOST first: a loss, counted. */
static void loss_is_a_flush(void **state)
{
	char key[201];

	(void)state;
	reset(0);
	memset(key, 'k', 200);
	key[200] = 0;
	rd_keyev_interest(app.lc[1], RD_KEYEV_WANT_TRACKING, 1);
	for (int i = 0; i < 40000; i++) {
		raise_on(0, RD_EV_SET, key);
		if (i % 64 == 0)
			wc_bus_flush(app.lc[0]);
	}
	deliver(0, 1);
	raise_on(0, RD_EV_SET, "after");	/* (carries the news of the loss if still owed) */
	deliver(0, 1);
	assert_true(app.lc[1]->keyev.lost >= 1);
	assert_true(seen[1].losses >= 1);
	assert_int_equal(seen[1].flushes, 0);
	assert_true(seen[1].changes < 40000);
	{
		struct rd_keyev_lc sum;

		rd_keyev_totals(&app, &sum);
		assert_int_equal(sum.lost, app.lc[1]->keyev.lost);
	}
	rd_keyev_interest(app.lc[1], RD_KEYEV_WANT_TRACKING, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(interest_and_order),
		cmocka_unit_test(tracking_interest),
		cmocka_unit_test(expired_read_asks_owner),
		cmocka_unit_test(loss_is_a_flush),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
