/*
 * test_store_evict.c - memory limits and the eviction policy's own
 * properties: sets never fail while anything is evictable, S3-FIFO keeps
 * re-read items through scans of one-hit items, ghosts bring returning keys
 * straight to main, index pressure evicts instead of failing, expired items
 * are reclaimed proactively, and dead space is reused without evicting live
 * items. Values are checked after heavy churn (items are moved by the
 * policy).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store_helpers.h"
#include "store/part.h"

#define NOW 5000
#define MEM (4u << 20)

static void key_of(char *buf, size_t n, const char *prefix, unsigned i)
{
	snprintf(buf, n, "%s:%08u", prefix, i);
}

/* value bytes derived from key and version, so any mix-up is visible */
static size_t value_of(char *buf, size_t len, unsigned i, unsigned version)
{
	for (size_t j = 0; j < len; j++)
		buf[j] = (char)('a' + (i * 7 + version * 13 + j) % 26);
	return len;
}

static enum wc_status put(struct wc_part *p, struct wc_ctx *ctx, const char *prefix, unsigned i,
			  unsigned version, size_t len, int64_t ttl)
{
	char k[64], v[2048];

	key_of(k, sizeof(k), prefix, i);
	value_of(v, len, i, version);
	return store_mode(p, ctx, WC_SET, k, v, len, i, ttl, 0, NULL);
}

static bool present(struct wc_part *p, struct wc_ctx *ctx, const char *prefix, unsigned i,
		    unsigned version, size_t len)
{
	char k[64], v[2048];
	struct wc_view view;

	key_of(k, sizeof(k), prefix, i);
	if (!get_str(p, ctx, k, &view))
		return false;
	value_of(v, len, i, version);
	assert_int_equal(view.vlen, len);
	assert_memory_equal(view.value, v, len);
	assert_int_equal(view.flags, i);
	return true;
}

static bool touch_get(struct wc_part *p, struct wc_ctx *ctx, const char *prefix, unsigned i)
{
	char k[64];
	struct wc_view view;

	key_of(k, sizeof(k), prefix, i);
	return get_str(p, ctx, k, &view);
}

static void memory_full_sets_never_fail(void **state)
{
	struct wc_ctx ctx;
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_part_stats ps;

	(void)state;
	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 200000; i++)
		assert_int_equal(put(p, &ctx, "full", i, 0, 100, 0), WC_OK);
	wc_part_get_stats(p, &ps);
	assert_true(ps.evictions > 100000);
	assert_true(ps.bytes <= ps.log_bytes);
	assert_int_equal(ps.items + ps.evictions, 200000);
	for (unsigned i = 199900; i < 200000; i++)
		assert_true(present(p, &ctx, "full", i, 0, 100));
	wc_part_destroy(p);
}

static void mixed_sizes_never_fail(void **state)
{
	struct wc_ctx ctx;
	struct wc_part *p = test_part(8u << 20, 0, 10);
	char *v = malloc(64 << 10);
	char k[32];
	uint64_t x = 12345;

	(void)state;
	test_ctx(&ctx, NOW);
	memset(v, 'm', 64 << 10);
	for (unsigned i = 0; i < 5000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		size_t len = 1 + (size_t)((x >> 33) % (64 << 10));

		snprintf(k, sizeof(k), "mix%u", i);
		assert_int_equal(store_mode(p, &ctx, WC_SET, k, v, len, 0, 0, 0, NULL), WC_OK);
		struct wc_view view;
		assert_true(get_str(p, &ctx, k, &view));
		assert_int_equal(view.vlen, len);
	}
	free(v);
	wc_part_destroy(p);
}

/* S3-FIFO: an item read now and then survives a flood of one-hit items. */
static void scan_resistance(uint8_t small_pct)
{
	struct wc_ctx ctx;
	struct wc_part *p = test_part(MEM, 0, small_pct);

	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 60000; i++)	/* memory full first */
		assert_int_equal(put(p, &ctx, "fill", i, 0, 100, 0), WC_OK);
	assert_int_equal(put(p, &ctx, "hot", 1, 0, 100, 0), WC_OK);
	assert_int_equal(put(p, &ctx, "once", 1, 0, 100, 0), WC_OK);
	for (unsigned i = 0; i < 300000; i++) {
		if (i % 2000 == 0)
			assert_true(present(p, &ctx, "hot", 1, 0, 100));
		assert_int_equal(put(p, &ctx, "scan", i, 0, 100, 0), WC_OK);
	}
	assert_true(present(p, &ctx, "hot", 1, 0, 100));
	assert_false(touch_get(p, &ctx, "once", 1));
	wc_part_destroy(p);
}

static void scan_resistance_s3fifo(void **state)
{
	(void)state;
	scan_resistance(10);
}

static void scan_resistance_clock_only(void **state)
{
	(void)state;
	scan_resistance(0);
}

/*
 * Once memory is full, items read while in the small queue outlive items
 * never read: the one-hit items leave from the small queue, the re-read ones
 * are promoted to main.
 */
static void reused_items_outlive_one_hit_items(void **state)
{
	struct wc_ctx ctx;
	struct wc_part *p = test_part(MEM, 0, 10);
	unsigned kept = 0, lost_once = 0;

	(void)state;
	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 100000; i++) {
		assert_int_equal(put(p, &ctx, "w", i, 0, 100, 0), WC_OK);
		if (i % 10 == 0)	/* every tenth item is read once soon after */
			assert_true(touch_get(p, &ctx, "w", i));
	}
	/* 40000..89999: written when memory was full, no longer in the small queue */
	for (unsigned i = 40000; i < 90000; i++) {
		bool here = touch_get(p, &ctx, "w", i);

		if (i % 10 == 0)
			kept += here;
		else
			lost_once += !here;
	}
	assert_true(lost_once >= 45000 * 95 / 100);
	assert_true(kept >= 5000 * 95 / 100);
	wc_part_destroy(p);
}

static void ghost_sends_returning_keys_to_main(void **state)
{
	struct wc_ctx ctx;
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_part_stats ps;

	(void)state;
	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 60000; i++)	/* fill: main under pressure */
		assert_int_equal(put(p, &ctx, "fill", i, 0, 100, 0), WC_OK);
	assert_int_equal(put(p, &ctx, "ret", 1, 0, 100, 0), WC_OK);
	for (unsigned i = 0; i < 5000; i++)	/* push it out of small, unread */
		assert_int_equal(put(p, &ctx, "push", i, 0, 100, 0), WC_OK);
	assert_false(touch_get(p, &ctx, "ret", 1));
	wc_part_get_stats(p, &ps);
	uint64_t before = ps.ghost_hits;
	assert_int_equal(put(p, &ctx, "ret", 1, 1, 100, 0), WC_OK);
	wc_part_get_stats(p, &ps);
	assert_int_equal(ps.ghost_hits, before + 1);
	/* in main it is not pushed out by the next small-queue's worth of items */
	for (unsigned i = 0; i < 5000; i++)
		assert_int_equal(put(p, &ctx, "push2", i, 0, 100, 0), WC_OK);
	assert_true(present(p, &ctx, "ret", 1, 1, 100));
	wc_part_destroy(p);
}

static void index_pressure_evicts(void **state)
{
	struct wc_part_cfg cfg;
	enum wc_status err;
	struct wc_ctx ctx;
	struct wc_part *p;
	struct wc_part_stats ps;

	(void)state;
	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = MEM;
	cfg.item_size_hint = 4096;	/* index sized for ~1000 items */
	p = wc_part_create(&cfg, &wc_mem_mmap, &err);
	assert_non_null(p);
	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 20000; i++) {
		assert_int_equal(put(p, &ctx, "tiny", i, 0, 4, 0), WC_OK);
		assert_true(present(p, &ctx, "tiny", i, 0, 4));
	}
	wc_part_get_stats(p, &ps);
	assert_true(ps.index_evictions > 0);
	assert_true(ps.items <= ps.index_slots);
	assert_true(ps.items > ps.index_slots / 2);
	wc_part_destroy(p);
}

static void expired_items_reclaimed_proactively(void **state)
{
	struct wc_ctx ctx;
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_part_stats ps;

	(void)state;
	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 10000; i++)
		assert_int_equal(put(p, &ctx, "ttl", i, 0, 100, i < 8000 ? 10 : 0), WC_OK);
	ctx.clock.now = NOW + 11;
	/* nobody reads them: the crawler finds and removes the expired ones */
	for (int pass = 0; pass < 4; pass++)
		wc_part_maintain(p, &ctx, 4096);
	wc_part_get_stats(p, &ps);
	print_message("items %lu expirations %lu reclaimed %lu passes %lu\n", (unsigned long)ps.items,
		      (unsigned long)ps.expirations, (unsigned long)ps.reclaimed,
		      (unsigned long)ps.crawler_passes);
	assert_int_equal(ps.items, 2000);
	assert_int_equal(ps.reclaimed, 8000);
	assert_int_equal(ps.expirations, 8000);
	assert_true(ps.crawler_passes > 0);
	assert_true(ps.bytes < 2000 * 200);
	for (unsigned i = 8000; i < 10000; i++)
		assert_true(present(p, &ctx, "ttl", i, 0, 100));
	wc_part_destroy(p);
}

/* Space of expired, deleted and overwritten items is reused: nothing live is evicted. */
static void dead_space_reused_without_evictions(void **state)
{
	struct wc_ctx ctx;
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_part_stats ps;
	char k[32];

	(void)state;
	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(put(p, &ctx, "perm", i, 0, 100, 0), WC_OK);
	for (unsigned round = 0; round < 40; round++) {
		for (unsigned i = 0; i < 10000; i++)	/* short-lived */
			assert_int_equal(put(p, &ctx, "tmp", round * 10000 + i, 0, 100, 1), WC_OK);
		for (unsigned i = 0; i < 2000; i++) {	/* deleted */
			snprintf(k, sizeof(k), "del%u", i);
			assert_int_equal(set_str(p, &ctx, k, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), WC_OK);
			assert_int_equal(wc_delete(p, &ctx, k, (uint32_t)strlen(k),
						   wc_hash(k, strlen(k)), 0), WC_OK);
		}
		for (unsigned i = 0; i < 50; i++)	/* overwritten */
			assert_int_equal(put(p, &ctx, "over", i, round, 1000, 0), WC_OK);
		ctx.clock.now += 2;
		wc_part_maintain(p, &ctx, 100000);
	}
	wc_part_get_stats(p, &ps);
	print_message("evictions %lu (index %lu) relocations %lu grace waits %lu items %lu\n",
		      (unsigned long)ps.evictions, (unsigned long)ps.index_evictions,
		      (unsigned long)ps.relocations, (unsigned long)ps.grace_waits,
		      (unsigned long)ps.items);
	assert_int_equal(ps.evictions, 0);
	assert_true(ps.relocations > 0);	/* live items were copied forward */
	for (unsigned i = 0; i < 1000; i++)
		assert_true(present(p, &ctx, "perm", i, 0, 100));
	for (unsigned i = 0; i < 50; i++)
		assert_true(present(p, &ctx, "over", i, 39, 1000));
	wc_part_destroy(p);
}

/* After many laps of moves and evictions every surviving key holds its last value. */
static void values_intact_after_churn(void **state)
{
	struct wc_ctx ctx;
	struct wc_part *p = test_part(MEM, 0, 10);
	enum { KEYS = 30000 };
	unsigned *ver = calloc(KEYS, sizeof(*ver));
	uint64_t x = 99;
	unsigned found = 0;

	(void)state;
	test_ctx(&ctx, NOW);
	for (unsigned n = 0; n < 400000; n++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		unsigned i = (unsigned)((x >> 33) % KEYS);
		size_t len = 40 + i % 200;

		if ((x >> 20) % 3 == 0) {
			if (ver[i])
				(void)touch_get(p, &ctx, "churn", i);
			continue;
		}
		ver[i]++;
		assert_int_equal(put(p, &ctx, "churn", i, ver[i], len, 0), WC_OK);
	}
	for (unsigned i = 0; i < KEYS; i++)
		if (ver[i])
			found += present(p, &ctx, "churn", i, ver[i], 40 + i % 200);
	assert_true(found > 1000);
	free(ver);
	wc_part_destroy(p);
}

static void large_items_bypass_small_queue(void **state)
{
	struct wc_ctx ctx;
	struct wc_part *p = test_part(MEM, 0, 10);
	char *v = malloc(200 << 10);

	(void)state;
	test_ctx(&ctx, NOW);
	memset(v, 'L', 200 << 10);
	/* larger than a quarter of the small queue (~90 KiB here) */
	assert_int_equal(store_mode(p, &ctx, WC_SET, "large", v, 200 << 10, 0, 0, 0, NULL), WC_OK);
	for (unsigned i = 0; i < 3000; i++)
		assert_int_equal(put(p, &ctx, "small", i, 0, 100, 0), WC_OK);
	struct wc_view view;
	assert_true(get_str(p, &ctx, "large", &view));
	assert_int_equal(view.vlen, 200 << 10);
	/* a value bigger than a quarter of main is refused, not evicting everything */
	char *huge = malloc(1u << 20);
	memset(huge, 'H', 1u << 20);
	assert_int_equal(store_mode(p, &ctx, WC_SET, "huge", huge, 1u << 20, 0, 0, 0, NULL),
			 WC_ERR_TOO_LARGE);
	assert_true(get_str(p, &ctx, "large", &view));
	free(huge);
	free(v);
	wc_part_destroy(p);
}

/*
 * Overwrites and appends of present keys while every write evicts or moves
 * something: the old version a write found may stay linked (the write
 * replaces it in its slot), move, or be evicted itself while room is made
 * (then a set inserts afresh and an append is NOT_STORED). Whatever
 * happened, a key holds its latest version or is gone, never an older one,
 * and the gauges add up.
 */
static void overwrites_while_evicting(void **state)
{
	enum { HOT = 400, ROUNDS = 60 };
	struct wc_ctx ctx;
	struct wc_part *p = test_part(1u << 20, 0, 10);
	struct wc_part_stats ps;
	static unsigned version[HOT];
	static size_t len[HOT];
	static bool appended[HOT];
	unsigned appends_ok = 0, appends_refused = 0;
	uint64_t evictions0;
	uint64_t x = 99;

	(void)state;
	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 20000; i++)	/* memory full first */
		assert_int_equal(put(p, &ctx, "fill", i, 0, 100, 0), WC_OK);
	wc_part_get_stats(p, &ps);
	evictions0 = ps.evictions;
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < HOT; i++) {
			char k[64];

			x = x * 6364136223846793005ull + 1442695040888963407ull;
			key_of(k, sizeof(k), "hot", i);
			if (r > 0 && (x >> 60) == 0 && !appended[i]) {
				/* an append: the old value's bytes are needed, so a lost old is NOT_STORED */
				enum wc_status st = store_mode(p, &ctx, WC_APPEND, k, "+", 1, 0, 0, 0,
							       NULL);

				if (st == WC_OK) {
					appends_ok++;
					appended[i] = true;
				} else {
					assert_int_equal(st, WC_NOT_STORED);
					appends_refused++;
					assert_false(touch_get(p, &ctx, "hot", i));
				}
				continue;
			}
			version[i]++;
			len[i] = 50 + (size_t)((x >> 33) % 300);
			appended[i] = false;
			assert_int_equal(put(p, &ctx, "hot", i, version[i], len[i], 0), WC_OK);
			assert_true(present(p, &ctx, "hot", i, version[i], len[i]));
			/* one-hit traffic in between keeps the logs turning */
			assert_int_equal(put(p, &ctx, "churn", r * HOT + i, 0, 200, 0), WC_OK);
		}
	}
	for (unsigned i = 0; i < HOT; i++) {
		char k[64], v[2048];
		struct wc_view view;

		key_of(k, sizeof(k), "hot", i);
		if (!get_str(p, &ctx, k, &view))
			continue;	/* evicted since: allowed */
		value_of(v, len[i], i, version[i]);
		assert_int_equal(view.vlen, len[i] + (appended[i] ? 1 : 0));
		assert_memory_equal(view.value, v, len[i]);
		if (appended[i])
			assert_int_equal(((const char *)view.value)[len[i]], '+');
	}
	wc_part_get_stats(p, &ps);
	assert_true(ps.evictions - evictions0 > 10000);
	for (int l = 0; l < 2; l++)	/* the logs wrapped many times: their cached tail offset held */
		if (p->log[l].size)
			assert_int_equal(p->log[l].tail_phys, p->log[l].tail % p->log[l].size);
	assert_true(appends_ok > 0);
	assert_int_equal(ps.keys, ps.items);
	assert_true(ps.bytes <= ps.log_bytes);
	(void)appends_refused;
	wc_part_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memory_full_sets_never_fail),
		cmocka_unit_test(mixed_sizes_never_fail),
		cmocka_unit_test(overwrites_while_evicting),
		cmocka_unit_test(scan_resistance_s3fifo),
		cmocka_unit_test(scan_resistance_clock_only),
		cmocka_unit_test(reused_items_outlive_one_hit_items),
		cmocka_unit_test(ghost_sends_returning_keys_to_main),
		cmocka_unit_test(index_pressure_evicts),
		cmocka_unit_test(expired_items_reclaimed_proactively),
		cmocka_unit_test(dead_space_reused_without_evictions),
		cmocka_unit_test(values_intact_after_churn),
		cmocka_unit_test(large_items_bypass_small_queue),
	};

	return cmocka_run_group_tests(tests, rcu_setup, rcu_teardown);
}
