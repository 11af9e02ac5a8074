/*
 * test_store_kv.c - the owner's typed writes (store/kv.h): values built by
 * a callback from the old version, types that memcached lookups do not see,
 * millisecond expiries (in place when the item has an ext word, by a new
 * version when it has not), key and expiry counts, and a synchronous flush.
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
#include "store/item.h"
#include "store/kv.h"

static struct wc_part *part;
static struct wc_ctx ctx;

static int setup(void **state)
{
	(void)state;
	rcu_register_thread();
	part = test_part(8u << 20, 0, 10);
	test_ctx(&ctx, 1000);
	ctx.clock.epoch = 1700000000;
	ctx.clock.ms = 100;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wc_part_destroy(part);
	rcu_unregister_thread();
	return 0;
}

struct text {
	const char *s;
};

static void fill_text(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	const struct text *t = arg;
	uint64_t n = 0;

	if (old) {
		memcpy(dst, wc_item_value(old), wc_item_vlen(old));
		n = wc_item_vlen(old);
	}
	memcpy(dst + n, t->s, vlen - n);
}

static enum wc_status put(const char *key, uint8_t type, const char *val, unsigned opts,
			  uint32_t exptime, uint32_t ms)
{
	struct text t = { val };
	struct wc_item *old = wc_kv_find(part, &ctx, key, (uint32_t)strlen(key),
					 wc_hash(key, strlen(key)));
	uint64_t oldlen = (old && (opts & WC_PUT_NEEDS_OLD)) ? wc_item_vlen(old) : 0;
	struct wc_put_req r = { .key = key, .klen = (uint32_t)strlen(key),
				.hash = wc_hash(key, strlen(key)), .type = type,
				.vlen = oldlen + strlen(val), .fill = fill_text, .arg = &t,
				.opts = opts, .exptime = exptime, .exp_ms = ms };

	if (!(opts & WC_PUT_NEEDS_OLD))
		t.s = val;
	return wc_kv_put(part, &ctx, &r, NULL);
}

static bool get_any(const char *key, struct wc_view *v)
{
	return wc_get(part, &ctx, key, (uint32_t)strlen(key), wc_hash(key, strlen(key)),
		      WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_STATS, v);
}

static bool get_mc(const char *key, struct wc_view *v)
{
	return wc_get(part, &ctx, key, (uint32_t)strlen(key), wc_hash(key, strlen(key)),
		      WC_LOOKUP_NO_STATS, v);
}

static void types_and_visibility(void **state)
{
	struct wc_view v;
	struct wc_part_stats ps;
	uint64_t sets;

	(void)state;
	sets = ctx.st.ops[WC_OP_SET];
	assert_int_equal(put("s", WC_TYPE_STRING, "abc", 0, 0, 0), WC_OK);
	assert_int_equal(put("h", WC_TYPE_HASH, "\x01xyz", 0, 0, 0), WC_OK);
	assert_int_equal(ctx.st.ops[WC_OP_SET], sets + 2);	/* each put is a store operation */
	assert_true(get_mc("s", &v));
	assert_int_equal(v.type, WC_TYPE_STRING);
	assert_false(v.it->vlen_layout & WC_LAYOUT_EXT);	/* a plain string has no ext word */
	assert_false(get_mc("h", &v));	/* memcached does not see a hash */
	assert_true(get_any("h", &v));
	assert_int_equal(v.type, WC_TYPE_HASH);
	assert_int_equal(v.vlen, 4);
	assert_memory_equal(v.value, "\x01xyz", 4);
	/* append and incr on a hash are refused the memcached way */
	assert_int_equal(store_mode(part, &ctx, WC_APPEND, "h", "q", 1, 0, 0, 0, NULL),
			 WC_NOT_STORED);
	{
		struct wc_arith_req a = { .key = "h", .klen = 1, .hash = wc_hash("h", 1), .delta = 1 };

		assert_int_equal(wc_arith(part, &ctx, &a, NULL), WC_ERR_NON_NUMERIC);
	}
	/* a version built from the old one */
	assert_int_equal(put("s", WC_TYPE_STRING, "def", WC_PUT_NEEDS_OLD, 0, 0), WC_OK);
	assert_true(get_any("s", &v));
	assert_int_equal(v.vlen, 6);
	assert_memory_equal(v.value, "abcdef", 6);
	/* internal parts are never keys, nor operations of their own */
	sets = ctx.st.ops[WC_OP_SET];
	assert_int_equal(put("b", WC_TYPE_BUCKET, "zz", WC_PUT_INTERNAL, 0, 0), WC_OK);
	assert_int_equal(ctx.st.ops[WC_OP_SET], sets);
	assert_false(get_mc("b", &v));
	wc_part_get_stats(part, &ps);
	assert_int_equal(ps.keys, 2);
	assert_int_equal(ps.items, 3);
	assert_int_equal(wc_kv_delete(part, &ctx, "h", 1, wc_hash("h", 1)), WC_OK);
	assert_int_equal(wc_kv_delete(part, &ctx, "h", 1, wc_hash("h", 1)), WC_NOT_FOUND);
	assert_int_equal(wc_kv_delete(part, &ctx, "b", 1, wc_hash("b", 1)), WC_OK);
	wc_part_get_stats(part, &ps);
	assert_int_equal(ps.keys, 1);
}

/* Expiry at a millisecond: gone exactly then, and counted as an expiring key meanwhile. */
static void millisecond_expiry(void **state)
{
	struct wc_view v;
	struct wc_part_stats ps;
	uint32_t exptime, ms;
	bool gone;
	int64_t now_ms = wc_clock_unix_ms(&ctx.clock);

	(void)state;
	/* a string due 300 ms from now */
	assert_true(wc_expiry_from_unix_ms(&ctx.clock, now_ms + 300, &exptime, &ms));
	assert_int_equal(exptime, ctx.clock.now);
	assert_int_equal(ms, 400);
	assert_int_equal(put("px", WC_TYPE_STRING, "v", 0, exptime, ms), WC_OK);
	assert_true(get_any("px", &v));
	assert_int_equal(v.exp_ms, 400);
	assert_int_equal(wc_expiry_unix_ms(&ctx.clock, v.exptime, v.exp_ms), now_ms + 300);
	wc_part_get_stats(part, &ps);
	assert_int_equal(ps.expiring, 1);
	ctx.clock.ms = 399;
	assert_true(get_mc("px", &v));
	ctx.clock.ms = 400;
	assert_false(get_mc("px", &v));
	ctx.clock.ms = 100;

	/* an expiry with a millisecond on an item without an ext word: a new version */
	assert_int_equal(put("e", WC_TYPE_STRING, "val", 0, 0, 0), WC_OK);
	assert_int_equal(wc_kv_expire(part, &ctx, "e", 1, wc_hash("e", 1), ctx.clock.now + 2, 250,
				      &gone), WC_OK);
	assert_false(gone);
	assert_true(get_any("e", &v));
	assert_true(v.it->vlen_layout & WC_LAYOUT_EXT);
	assert_int_equal(v.exp_ms, 250);
	assert_int_equal(v.vlen, 3);
	assert_memory_equal(v.value, "val", 3);
	/* then in place, and back to none (persist) */
	assert_int_equal(wc_kv_expire(part, &ctx, "e", 1, wc_hash("e", 1), ctx.clock.now + 5, 7,
				      &gone), WC_OK);
	assert_true(get_any("e", &v));
	assert_int_equal(v.exptime, ctx.clock.now + 5);
	assert_int_equal(v.exp_ms, 7);
	assert_int_equal(wc_kv_expire(part, &ctx, "e", 1, wc_hash("e", 1), 0, 0, &gone), WC_OK);
	assert_true(get_any("e", &v));
	assert_int_equal(v.exptime, 0);
	/* keep the TTL across a rewrite */
	assert_int_equal(put("k", WC_TYPE_STRING, "1", 0, ctx.clock.now + 9, 900), WC_OK);
	assert_int_equal(put("k", WC_TYPE_STRING, "2", WC_PUT_KEEP_TTL, 0, 0), WC_OK);
	assert_true(get_any("k", &v));
	assert_int_equal(v.exptime, ctx.clock.now + 9);
	assert_int_equal(v.exp_ms, 900);
	/* a deadline already due deletes */
	assert_int_equal(wc_kv_expire(part, &ctx, "k", 1, wc_hash("k", 1), ctx.clock.now, 50,
				      &gone), WC_OK);
	assert_true(gone);
	assert_false(get_any("k", &v));
	assert_false(wc_expiry_from_unix_ms(&ctx.clock, now_ms, &exptime, &ms));
	/* memcached touch clears the millisecond */
	assert_int_equal(put("t", WC_TYPE_STRING, "x", 0, ctx.clock.now + 3, 123), WC_OK);
	assert_int_equal(wc_touch(part, &ctx, "t", 1, wc_hash("t", 1), 100), WC_OK);
	assert_true(get_any("t", &v));
	assert_int_equal(v.exp_ms, 0);
	assert_int_equal(v.exptime, ctx.clock.now + 100);
}

static void flush_sync_counts_zero(void **state)
{
	struct wc_part_stats ps;
	char key[16];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "f%d", i);
		assert_int_equal(put(key, WC_TYPE_STRING, "v", 0, i % 2 ? ctx.clock.now + 100 : 0, 0),
				 WC_OK);
	}
	wc_part_get_stats(part, &ps);
	assert_true(ps.keys >= 1000);
	assert_true(ps.expiring >= 500);
	wc_kv_flush_sync(part, &ctx);
	wc_part_get_stats(part, &ps);
	assert_int_equal(ps.keys, 0);
	assert_int_equal(ps.expiring, 0);
	assert_int_equal(ps.items, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(types_and_visibility),
		cmocka_unit_test(millisecond_expiry),
		cmocka_unit_test(flush_sync_counts_zero),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
