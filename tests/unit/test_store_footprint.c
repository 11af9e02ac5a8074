/*
 * test_store_footprint.c - how a partition's limit is split (wc_part_plan)
 * and where its bytes are (wc_part_footprint): the split keeps to the limit
 * and sizes the index from the item size hint, the partition uses exactly
 * that split, and the footprint's parts add up to the limit byte for byte
 * while items come, are replaced and are evicted, with the items, payload,
 * headers and padding it counts matching what was stored.
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

#define MEM (4u << 20)

static void plan_splits_the_limit(void **state)
{
	struct wc_part_cfg cfg;
	struct wc_part_plan a, b;
	uint32_t hints[] = { 16, 60, 64, 96, 1000, 100000 };

	(void)state;
	wc_part_cfg_default(&cfg);
	assert_int_equal(cfg.item_size_hint, 64);
	for (unsigned i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		cfg.mem_bytes = 256ull << 20;
		cfg.item_size_hint = hints[i];
		assert_true(wc_part_plan(&cfg, &a));
		assert_true(a.index_bytes + a.log_bytes <= cfg.mem_bytes);
		assert_true(cfg.mem_bytes - a.index_bytes - a.log_bytes < 64);
		assert_int_equal(a.log_bytes % 64, 0);
		assert_int_equal(a.index_bytes, (uint64_t)a.nbuckets * 64);
		assert_true(a.index_bytes <= cfg.mem_bytes / 4);
		assert_int_equal(a.small_bytes, a.log_bytes / 10 / 64 * 64);
		/* 1.25 slots for each item of the hinted size the log holds, when under the cap */
		if (a.index_bytes < cfg.mem_bytes / 4 - 64)
			assert_true((uint64_t)a.nbuckets * 10 * 4 >= a.log_bytes / hints[i] * 5);
	}
	/* a smaller hint never gets a smaller index */
	cfg.item_size_hint = 96;
	assert_true(wc_part_plan(&cfg, &a));
	cfg.item_size_hint = 64;
	assert_true(wc_part_plan(&cfg, &b));
	assert_true(b.index_bytes > a.index_bytes);
	/* no small queue: all of the logs is main */
	cfg.small_pct = 0;
	assert_true(wc_part_plan(&cfg, &a));
	assert_int_equal(a.small_bytes, 0);
	/* what wc_part_create refuses */
	cfg.small_pct = 51;
	assert_false(wc_part_plan(&cfg, &a));
	cfg.small_pct = 10;
	cfg.item_size_hint = 15;
	assert_false(wc_part_plan(&cfg, &a));
	cfg.item_size_hint = 64;
	cfg.mem_bytes = WC_PART_MEM_MIN - 1;
	assert_false(wc_part_plan(&cfg, &a));
	assert_false(wc_part_plan(NULL, &a));
}

static void create_uses_the_plan(void **state)
{
	struct wc_part_cfg cfg;
	struct wc_part_plan plan;
	struct wc_part_stats st;
	struct wc_part *p = test_part(MEM, 0, 10);

	(void)state;
	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = MEM;
	assert_true(wc_part_plan(&cfg, &plan));
	wc_part_get_stats(p, &st);
	assert_int_equal(st.limit_bytes, MEM);
	assert_int_equal(st.index_bytes, plan.index_bytes);
	assert_int_equal(st.log_bytes, plan.log_bytes);
	assert_int_equal(st.index_slots, (uint64_t)plan.nbuckets * 10);
	wc_part_destroy(p);
}

static void assert_adds_up(const struct wc_part *p, struct wc_part_footprint *fp)
{
	struct wc_part_stats st;

	wc_part_footprint(p, fp);
	wc_part_get_stats(p, &st);
	assert_int_equal(fp->limit_bytes, MEM);
	assert_int_equal(fp->payload_bytes + fp->header_bytes + fp->pad_bytes + fp->index_bytes +
			 fp->cushion_bytes + fp->free_bytes + fp->dead_bytes + fp->split_rest_bytes,
			 MEM);
	assert_int_equal(fp->items, st.items);
	assert_int_equal(fp->payload_bytes + fp->header_bytes + fp->pad_bytes, st.bytes);
	assert_int_equal(fp->index_bytes, st.index_bytes);
	assert_int_equal(fp->index_slots, st.index_slots);
	assert_true(fp->items + fp->ghost_slots <= fp->index_slots);
}

static void footprint_adds_up(void **state)
{
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_part_footprint fp;
	struct wc_ctx ctx;
	char k[32], v[64];

	(void)state;
	test_ctx(&ctx, 1000);
	assert_adds_up(p, &fp);
	assert_int_equal(fp.items, 0);
	assert_int_equal(fp.dead_bytes, 0);

	/*
	 * 100 keys of 12 bytes, values of 1..50 bytes, every 10th with client
	 * flags, every 7th with a TTL: an 8-byte header, 4 more for each
	 */
	memset(v, 'v', sizeof(v));
	uint64_t payload = 0, pad = 0, header = 0;

	for (unsigned i = 0; i < 100; i++) {
		uint32_t vl = 1 + i % 50;
		uint32_t flags = i % 10 == 0 ? 7 : 0;
		int64_t ttl = i % 7 == 0 ? 3600 : 0;
		uint32_t head = 8 + (flags ? 4 : 0) + (ttl ? 4 : 0);

		snprintf(k, sizeof(k), "key:%08u", i);
		assert_int_equal(store_mode(p, &ctx, WC_SET, k, v, vl, flags, ttl, 0, NULL), WC_OK);
		payload += 12 + vl;
		header += head;
		pad += (4 - (head + 12 + vl) % 4) % 4;
	}
	assert_adds_up(p, &fp);
	assert_int_equal(fp.items, 100);
	assert_int_equal(fp.payload_bytes, payload);
	assert_int_equal(fp.header_bytes, header);
	assert_int_equal(fp.pad_bytes, pad);
	assert_int_equal(fp.dead_bytes, 0);
	assert_int_equal(fp.ghost_slots, 0);

	/* replacing a key leaves its old record dead in the log until the head passes */
	assert_int_equal(set_str(p, &ctx, "key:00000001", "a new value"), WC_OK);
	assert_adds_up(p, &fp);
	assert_int_equal(fp.items, 100);
	assert_int_equal(fp.dead_bytes, 8 + 12 + 4);	/* header, key, 2 B value, 2 B pad */

	/* far more than fits: evictions, ghosts, relocations; it still adds up */
	for (unsigned i = 0; i < 200000; i++) {
		snprintf(k, sizeof(k), "many:%08u", i);
		assert_int_equal(store_mode(p, &ctx, WC_SET, k, v, 32, 0, 0, 0, NULL), WC_OK);
		if (i % 3 == 0) {
			struct wc_view view;

			snprintf(k, sizeof(k), "many:%08u", i / 2);
			(void)get_str(p, &ctx, k, &view);
		}
		if ((i & 31) == 31)
			rcu_quiescent_state();
	}
	assert_adds_up(p, &fp);
	assert_true(fp.items > 40000);
	assert_true(fp.ghost_slots > 0);
	assert_true(fp.cushion_bytes > 0);
	wc_part_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_splits_the_limit),
		cmocka_unit_test(create_uses_the_plan),
		cmocka_unit_test(footprint_adds_up),
	};

	return cmocka_run_group_tests(tests, rcu_setup, rcu_teardown);
}
