/*
 * test_store_crawl.c - the crawler's rest after a full lap (store/crawl.c):
 * it walks nothing while it rests, resumes when the rest is over, and wakes
 * early for the work it knows of: an expiry coming due (seen on the last lap
 * or set by a write during the rest), a flush, a container's orphaned parts.
 * Access times are still pinned before their 16 bits wrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "store_helpers.h"
#include "store/container.h"
#include "store/kv.h"

#define NOW 1000u
#define BUDGET (1u << 20)

static struct wc_part *part;
static struct wc_ctx ctx;

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	part = test_part(64u << 20, 0, 10);
	test_ctx(&ctx, NOW);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wc_part_destroy(part);
	rcu_unregister_thread();
	return 0;
}

static struct wc_part_stats stats(void)
{
	struct wc_part_stats ps;

	wc_part_get_stats(part, &ps);
	return ps;
}

static void put_n(const char *prefix, unsigned n)
{
	char k[32];

	for (unsigned i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "%s:%u", prefix, i);
		assert_int_equal(set_str(part, &ctx, k, "a value of some thirty bytes.."), WC_OK);
	}
}

static void expire_at(const char *key, uint32_t sec, uint32_t ms)
{
	bool gone = true;

	assert_int_equal(wc_kv_expire(part, &ctx, key, (uint32_t)strlen(key),
				      wc_hash(key, strlen(key)), sec, ms, &gone), WC_OK);
	assert_false(gone);
}

/* Maintenance until both logs finished a lap and rest. */
static void lap_to_rest(void)
{
	uint64_t rests = stats().crawler_rests;

	for (int i = 0; i < 8 && stats().crawler_rests < rests + 2; i++)
		wc_part_maintain(part, &ctx, BUDGET);
	assert_true(stats().crawler_rests >= rests + 2);
}

/* Many maintenance passes: how many item headers the crawler read meanwhile. */
static uint64_t walked_by(unsigned passes, unsigned budget)
{
	uint64_t before = stats().crawler_visited;

	for (unsigned i = 0; i < passes; i++)
		wc_part_maintain(part, &ctx, budget);
	return stats().crawler_visited - before;
}

static void set_ms(uint32_t sec, uint32_t ms)
{
	ctx.clock.now = sec;
	ctx.clock.ms = (uint16_t)ms;
}

/* After a lap it rests for a second, then laps again. */
static void rests_then_resumes(void **state)
{
	uint64_t passes;

	(void)state;
	set_ms(NOW, 0);
	put_n("plain", 5000);
	lap_to_rest();
	passes = stats().crawler_passes;
	/* the busy lcore's budget, many times: nothing walked */
	assert_int_equal(walked_by(10000, 64), 0);
	set_ms(NOW, 999);
	assert_int_equal(walked_by(100, BUDGET), 0);
	assert_int_equal(stats().crawler_passes, passes);
	/* the rest is over: a full lap again (every item header at least), then rest */
	set_ms(NOW + 1, 0);
	assert_true(walked_by(1, BUDGET) >= 5000);
	assert_true(stats().crawler_passes >= passes + 2);
	assert_int_equal(walked_by(100, BUDGET), 0);
	assert_int_equal(stats().items, 5000);
}

/*
 * An expiry wakes it when due, inside the rest: one the last lap saw, and one
 * set while it rested (a write it never walked past).
 */
static void expiry_due_wakes_it(void **state)
{
	uint64_t reclaimed;

	(void)state;
	set_ms(NOW + 10, 0);
	put_n("ttl", 100);
	expire_at("ttl:1", NOW + 10, 300);
	lap_to_rest();
	reclaimed = stats().reclaimed;
	expire_at("ttl:2", NOW + 10, 600);	/* set while it rests */
	put_n("more", 10);
	set_ms(NOW + 10, 299);
	assert_int_equal(walked_by(100, BUDGET), 0);
	set_ms(NOW + 10, 300);
	assert_true(walked_by(2, BUDGET) > 0);
	assert_int_equal(stats().reclaimed, reclaimed + 1);	/* ttl:1, unread */
	assert_int_equal(walked_by(100, BUDGET), 0);		/* back at rest */
	set_ms(NOW + 10, 599);
	assert_int_equal(walked_by(100, BUDGET), 0);
	set_ms(NOW + 10, 600);
	assert_true(walked_by(2, BUDGET) > 0);
	assert_int_equal(stats().reclaimed, reclaimed + 2);	/* ttl:2 */
	assert_int_equal(walked_by(100, BUDGET), 0);
}

/* A flush is swept at once, rest or not. */
static void flush_wakes_it(void **state)
{
	(void)state;
	set_ms(NOW + 20, 0);
	put_n("fl", 1000);
	lap_to_rest();
	assert_true(stats().items > 0);
	wc_flush(part, &ctx, 0);
	assert_true(walked_by(4, BUDGET) > 0);
	assert_int_equal(stats().items, 0);
	assert_int_equal(walked_by(100, BUDGET), 0);
}

/* A deleted container's parts are reclaimed without waiting for the rest to end. */
static void orphans_wake_it(void **state)
{
	char f[32];
	uint64_t orphans;

	(void)state;
	set_ms(NOW + 30, 0);
	for (unsigned i = 0; i < 2000; i++) {
		struct wc_cbytes n = wc_cbytes_of(f, (size_t)snprintf(f, sizeof(f), "m%u", i));
		struct wc_cbytes v = wc_cbytes_of("v", 1);
		struct wc_cupd r;

		assert_int_equal(wc_c_update(part, &ctx, "big", 3, wc_hash("big", 3), WC_TYPE_HASH,
					     WC_COP_SET, &n, &v, &r), WC_OK);
	}
	lap_to_rest();
	/* member changes keep the parts: no lap for them */
	{
		struct wc_cbytes n = wc_cbytes_of("m1", 2), v = wc_cbytes_of("w", 1);
		struct wc_cupd r;

		assert_int_equal(wc_c_update(part, &ctx, "big", 3, wc_hash("big", 3), WC_TYPE_HASH,
					     WC_COP_SET, &n, &v, &r), WC_OK);
		assert_int_equal(walked_by(10, BUDGET), 0);
	}
	orphans = stats().orphans;
	assert_true(stats().items > 1);
	assert_int_equal(wc_kv_delete(part, &ctx, "big", 3, wc_hash("big", 3)), WC_OK);
	assert_true(walked_by(4, BUDGET) > 0);
	assert_true(stats().orphans > orphans);
	assert_int_equal(stats().items, 0);
	assert_int_equal(walked_by(100, BUDGET), 0);
}

/* Idle items are pinned at WC_IDLE_MAX though the crawler rests between laps. */
static void atime_pinned_before_wrap(void **state)
{
	struct wc_view v;

	(void)state;
	set_ms(NOW + 40, 0);
	assert_int_equal(set_str(part, &ctx, "idle", "x"), WC_OK);
	/* a maintenance pass every 7 s of a 70,000 s silence: laps, rests, laps */
	for (uint32_t t = 0; t <= 70000; t += 7) {
		set_ms(NOW + 40 + t, 0);
		wc_part_maintain(part, &ctx, 64);
	}
	assert_true(stats().crawler_rests > 1000);
	assert_true(wc_get(part, &ctx, "idle", 4, wc_hash("idle", 4), 0, &v));
	/* pinned on the last lap (not wrapped to 70,000 - 65,536) */
	assert_in_range(v.idle_before, WC_IDLE_MAX, WC_IDLE_MAX + 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rests_then_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(expiry_due_wakes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(flush_wakes_it, setup, teardown),
		cmocka_unit_test_setup_teardown(orphans_wake_it, setup, teardown),
		cmocka_unit_test_setup_teardown(atime_pinned_before_wrap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
