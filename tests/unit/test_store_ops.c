/*
 * test_store_ops.c - every store operation and its edges: key and value
 * limits, store modes, cas, delete, incr/decr, exptime, touch, gat,
 * flush_all, the meta-protocol item state, counters and bad arguments.
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

#define NOW 1000

struct fixture {
	struct wc_part *p;
	struct wc_ctx ctx;
};

static int fx_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->p = test_part(64u << 20, 0, 10);
	test_ctx(&f->ctx, NOW);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *f = *state;

	wc_part_destroy(f->p);
	free(f);
	return 0;
}

#define FX struct fixture *f = *state; struct wc_part *p = f->p; struct wc_ctx *ctx = &f->ctx

static void set_get_flags_binary(void **state)
{
	FX;
	struct wc_view v;
	const char bin[] = { 'a', 0, '\r', '\n', (char)0xff, 'z' };

	assert_int_equal(store_mode(p, ctx, WC_SET, "k1", bin, sizeof(bin), 0xFFFFFFFFu, 0, 0, NULL),
			 WC_OK);
	assert_true(get_str(p, ctx, "k1", &v));
	assert_int_equal(v.vlen, sizeof(bin));
	assert_memory_equal(v.value, bin, sizeof(bin));
	assert_int_equal(v.flags, 0xFFFFFFFFu);
	assert_int_equal(v.klen, 2);
	assert_memory_equal(v.key, "k1", 2);

	assert_int_equal(store_mode(p, ctx, WC_SET, "k2", "", 0, 0, 0, 0, NULL), WC_OK);
	assert_true(get_str(p, ctx, "k2", &v));
	assert_int_equal(v.vlen, 0);
	assert_int_equal(v.flags, 0);

	assert_int_equal(set_str(p, ctx, "k1", "second"), WC_OK);
	assert_value(p, ctx, "k1", "second");
	assert_missing(p, ctx, "nope");
}

static void key_length_limits(void **state)
{
	FX;
	char k250[251], k251[252];
	struct wc_view v;

	memset(k250, 'a', 250);
	k250[250] = 0;
	memset(k251, 'b', 251);
	k251[251] = 0;
	assert_int_equal(set_str(p, ctx, k250, "v"), WC_OK);
	assert_value(p, ctx, k250, "v");
	assert_int_equal(set_str(p, ctx, k251, "v"), WC_ERR_KEY);
	assert_false(get_str(p, ctx, k251, &v));
	assert_int_equal(set_str(p, ctx, "", "v"), WC_ERR_KEY);
	assert_int_equal(wc_delete(p, ctx, k251, 251, wc_hash(k251, 251), 0), WC_ERR_KEY);
	assert_int_equal(wc_touch(p, ctx, "", 0, 0, 10), WC_ERR_KEY);
	struct wc_arith_req ar = { .key = k251, .klen = 251, .delta = 1 };
	assert_int_equal(wc_arith(p, ctx, &ar, NULL), WC_ERR_KEY);
}

static void value_limits(void **state)
{
	FX;
	uint32_t lim = WC_VALUE_MAX_DEFAULT;
	char *big = malloc(lim + 1);
	struct wc_view v;

	memset(big, 'x', lim + 1);
	assert_int_equal(store_mode(p, ctx, WC_SET, "big", big, lim, 0, 0, 0, NULL), WC_OK);
	assert_true(get_str(p, ctx, "big", &v));
	assert_int_equal(v.vlen, lim);
	assert_int_equal(store_mode(p, ctx, WC_SET, "big2", big, lim + 1, 0, 0, 0, NULL),
			 WC_ERR_TOO_LARGE);
	assert_false(get_str(p, ctx, "big2", &v));
	/* memcached: a set that fails leaves no stale value behind */
	assert_int_equal(set_str(p, ctx, "stale", "old"), WC_OK);
	assert_int_equal(store_mode(p, ctx, WC_SET, "stale", big, lim + 1, 0, 0, 0, NULL),
			 WC_ERR_TOO_LARGE);
	assert_missing(p, ctx, "stale");
	/* ... but a refused add/replace/append keeps it */
	assert_int_equal(set_str(p, ctx, "keep", "old"), WC_OK);
	assert_int_equal(store_mode(p, ctx, WC_REPLACE, "keep", big, lim + 1, 0, 0, 0, NULL),
			 WC_ERR_TOO_LARGE);
	assert_value(p, ctx, "keep", "old");
	/* ... unless the caller asks, as a meta set (any mode) does */
	{
		struct iovec iov = { .iov_base = big, .iov_len = lim + 1 };
		struct wc_store_req r = { .mode = WC_REPLACE, .opts = WC_STORE_DROP_ON_REFUSE,
					  .key = "keep", .klen = 4, .hash = wc_hash("keep", 4),
					  .val = &iov, .val_cnt = 1 };

		assert_int_equal(wc_store(p, ctx, &r, NULL), WC_ERR_TOO_LARGE);
		assert_missing(p, ctx, "keep");
	}
	/* append that would cross the limit is refused and leaves the item alone, also as a
	 * meta append (ms MA): memcached drops the old value only when the data itself is
	 * refused */
	{
		struct iovec iov = { .iov_base = "y", .iov_len = 1 };
		struct wc_store_req r = { .mode = WC_APPEND, .opts = WC_STORE_DROP_ON_REFUSE,
					  .key = "big", .klen = 3, .hash = wc_hash("big", 3),
					  .val = &iov, .val_cnt = 1 };

		assert_int_equal(wc_store(p, ctx, &r, NULL), WC_ERR_TOO_LARGE);
		assert_true(get_str(p, ctx, "big", &v));
		assert_int_equal(v.vlen, lim);
	}
	assert_int_equal(store_mode(p, ctx, WC_APPEND, "big", "y", 1, 0, 0, 0, NULL),
			 WC_ERR_TOO_LARGE);
	assert_true(get_str(p, ctx, "big", &v));
	assert_int_equal(v.vlen, lim);
	assert_true(ctx->st.refused_too_large >= 2);
	free(big);
}

static void configurable_value_limit(void **state)
{
	struct wc_part_cfg cfg;
	enum wc_status err;
	struct wc_ctx ctx;
	struct wc_part *p;
	uint32_t lim = 4u << 20;
	char *big = malloc(lim + 1);

	(void)state;
	memset(big, 'q', lim + 1);
	test_ctx(&ctx, NOW);
	p = test_part(64u << 20, lim, 10);
	assert_int_equal(store_mode(p, &ctx, WC_SET, "b", big, lim, 0, 0, 0, NULL), WC_OK);
	assert_int_equal(store_mode(p, &ctx, WC_SET, "b", big, lim + 1, 0, 0, 0, NULL),
			 WC_ERR_TOO_LARGE);
	wc_part_destroy(p);

	/* 128 MiB is the most a value may be configured to */
	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = 64u << 20;
	cfg.max_value = WC_VALUE_MAX_LIMIT + 1;
	assert_null(wc_part_create(&cfg, &wc_mem_mmap, &err));
	assert_int_equal(err, WC_ERR_ARG);
	/* an item larger than a quarter of the partition is refused, not evicting all */
	cfg.max_value = WC_VALUE_MAX_LIMIT;
	cfg.mem_bytes = 16u << 20;
	p = wc_part_create(&cfg, &wc_mem_mmap, &err);
	assert_non_null(p);
	assert_int_equal(store_mode(p, &ctx, WC_SET, "b", big, lim + 1, 0, 0, 0, NULL),
			 WC_ERR_TOO_LARGE);
	wc_part_destroy(p);
	free(big);
}

static void add_replace(void **state)
{
	FX;
	assert_int_equal(store_mode(p, ctx, WC_REPLACE, "r", "1", 1, 0, 0, 0, NULL), WC_NOT_STORED);
	assert_missing(p, ctx, "r");
	assert_int_equal(store_mode(p, ctx, WC_ADD, "r", "1", 1, 0, 0, 0, NULL), WC_OK);
	assert_int_equal(store_mode(p, ctx, WC_ADD, "r", "2", 1, 0, 0, 0, NULL), WC_NOT_STORED);
	assert_value(p, ctx, "r", "1");
	assert_int_equal(store_mode(p, ctx, WC_REPLACE, "r", "3", 1, 7, 0, 0, NULL), WC_OK);
	assert_value(p, ctx, "r", "3");
}

static void append_prepend(void **state)
{
	FX;
	struct wc_view v;

	assert_int_equal(store_mode(p, ctx, WC_APPEND, "a", "x", 1, 0, 0, 0, NULL), WC_NOT_STORED);
	assert_int_equal(store_mode(p, ctx, WC_PREPEND, "a", "x", 1, 0, 0, 0, NULL), WC_NOT_STORED);
	assert_int_equal(store_mode(p, ctx, WC_SET, "a", "mid", 3, 42, 100, 0, NULL), WC_OK);
	assert_int_equal(store_mode(p, ctx, WC_APPEND, "a", "_end", 4, 9, 0, 0, NULL), WC_OK);
	assert_int_equal(store_mode(p, ctx, WC_PREPEND, "a", "start_", 6, 9, 0, 0, NULL), WC_OK);
	assert_value(p, ctx, "a", "start_mid_end");
	/* flags and exptime of the original survive, as in memcached */
	assert_true(get_str(p, ctx, "a", &v));
	assert_int_equal(v.flags, 42);
	assert_int_equal(v.exptime, NOW + 100);
}

static void cas_semantics(void **state)
{
	FX;
	uint64_t c1 = 0, c2 = 0, c3 = 0;
	struct wc_view v;

	assert_int_equal(store_mode(p, ctx, WC_CAS, "c", "v", 1, 0, 0, 123, NULL), WC_NOT_FOUND);
	assert_int_equal(store_mode(p, ctx, WC_SET, "c", "v1", 2, 0, 0, 0, &c1), WC_OK);
	assert_true(get_str(p, ctx, "c", &v));
	assert_int_equal(v.cas, c1);
	assert_true(c1 != 0);
	assert_int_equal(store_mode(p, ctx, WC_CAS, "c", "v2", 2, 0, 0, c1 + 1, NULL), WC_EXISTS);
	assert_value(p, ctx, "c", "v1");
	assert_int_equal(store_mode(p, ctx, WC_CAS, "c", "v2", 2, 0, 0, c1, &c2), WC_OK);
	assert_true(c2 != c1);
	assert_value(p, ctx, "c", "v2");
	/* the old CAS no longer matches */
	assert_int_equal(store_mode(p, ctx, WC_CAS, "c", "v3", 2, 0, 0, c1, NULL), WC_EXISTS);
	/* touch keeps the CAS, other writes change it */
	assert_int_equal(wc_touch(p, ctx, "c", 1, wc_hash("c", 1), 500), WC_OK);
	assert_true(get_str(p, ctx, "c", &v));
	assert_int_equal(v.cas, c2);
	assert_int_equal(store_mode(p, ctx, WC_APPEND, "c", "!", 1, 0, 0, 0, &c3), WC_OK);
	assert_true(c3 != c2);
	assert_int_equal(ctx->st.cas_hits, 1);
	assert_int_equal(ctx->st.cas_badval, 2);
	assert_int_equal(ctx->st.cas_misses, 1);
	/* CAS uniques are unique across keys too */
	uint64_t ca = 0, cb = 0;
	assert_int_equal(store_mode(p, ctx, WC_SET, "ca", "x", 1, 0, 0, 0, &ca), WC_OK);
	assert_int_equal(store_mode(p, ctx, WC_SET, "cb", "x", 1, 0, 0, 0, &cb), WC_OK);
	assert_true(ca != cb);
}

static void cas_meta_options(void **state)
{
	FX;
	uint64_t c1 = 0;
	struct wc_view v;
	struct iovec iov = { .iov_base = "new", .iov_len = 3 };
	struct wc_store_req r = { .mode = WC_SET, .key = "e", .klen = 1, .hash = wc_hash("e", 1),
				  .val = &iov, .val_cnt = 1,
				  .opts = WC_STORE_EXPLICIT_CAS, .new_cas = 777 };

	struct wc_write_res res;

	/* explicit CAS (meta E) */
	assert_int_equal(wc_store(p, ctx, &r, &res), WC_OK);
	c1 = res.cas;
	assert_int_equal(c1, 777);
	assert_true(get_str(p, ctx, "e", &v));
	assert_int_equal(v.cas, 777);
	/* an older CAS with stale-if-older stores, marked stale (meta ms I) */
	r.mode = WC_CAS;
	r.opts = WC_STORE_STALE_IF_OLDER;
	r.cas_in = 100;
	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_OK);
	assert_true(get_str(p, ctx, "e", &v));
	assert_true(v.state_before & WC_STATE_STALE);
	/* a newer-than-current CAS is still a mismatch */
	r.cas_in = v.cas + 1000;
	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_EXISTS);
}

/*
 * memcached's t/metaget.t: after md I T30 and a client won the recache, a
 * stale set (ms I T90 with an older CAS) replaces the value but keeps the
 * 30 s TTL, the stale mark and the fact that the win token went out.
 */
static void stale_set_keeps_ttl_and_win(void **state)
{
	FX;
	struct wc_view v;
	uint64_t h = wc_hash("toinv", 5);
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct wc_store_req r = { .mode = WC_CAS, .key = "toinv", .klen = 5, .hash = h,
				  .val = &iov, .val_cnt = 1, .exptime = 90, .cas_in = 1,
				  .opts = WC_STORE_STALE_IF_OLDER };
	struct wc_modify_req inv = { .key = "toinv", .klen = 5, .hash = h,
				     .opts = WC_MOD_STALE | WC_MOD_SET_EXPTIME, .exptime = 30 };

	assert_int_equal(set_str(p, ctx, "toinv", "moo"), WC_OK);
	assert_int_equal(wc_modify(p, ctx, &inv, NULL), WC_OK);
	assert_true(get_str(p, ctx, "toinv", &v));
	assert_true(wc_claim_win(p, &v, "toinv", h));		/* this client recaches */
	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_OK);
	assert_true(get_str(p, ctx, "toinv", &v));
	assert_int_equal(v.vlen, 1);				/* the new value ... */
	assert_true(v.state_before & WC_STATE_STALE);		/* ... still stale */
	assert_true(v.state_before & WC_STATE_WIN);		/* token already sent */
	assert_false(wc_claim_win(p, &v, "toinv", h));
	assert_int_equal(v.exptime, NOW + 30);			/* T90 did not apply */
	/* a stale set whose TTL is in the past still keeps the item's */
	r.exptime = -1;
	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_OK);
	assert_true(get_str(p, ctx, "toinv", &v));
	assert_int_equal(v.exptime, NOW + 30);
	/* with the current CAS it is a plain set: fresh, its own TTL, a win to be had */
	r.opts = 0;
	r.cas_in = v.cas;
	r.exptime = 90;
	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_OK);
	assert_true(get_str(p, ctx, "toinv", &v));
	assert_false(v.state_before & (WC_STATE_STALE | WC_STATE_WIN));
	assert_int_equal(v.exptime, NOW + 90);
}

static void delete_semantics(void **state)
{
	FX;
	uint64_t c = 0;

	assert_int_equal(wc_delete(p, ctx, "d", 1, wc_hash("d", 1), 0), WC_NOT_FOUND);
	assert_int_equal(store_mode(p, ctx, WC_SET, "d", "v", 1, 0, 0, 0, &c), WC_OK);
	assert_int_equal(wc_delete(p, ctx, "d", 1, wc_hash("d", 1), c + 1), WC_EXISTS);
	assert_value(p, ctx, "d", "v");
	assert_int_equal(wc_delete(p, ctx, "d", 1, wc_hash("d", 1), c), WC_OK);
	assert_missing(p, ctx, "d");
	assert_int_equal(wc_delete(p, ctx, "d", 1, wc_hash("d", 1), 0), WC_NOT_FOUND);
	assert_int_equal(ctx->st.delete_hits, 1);
	assert_int_equal(ctx->st.delete_misses, 2);
}

static enum wc_status arith(struct wc_part *p, struct wc_ctx *ctx, const char *k, bool decr,
			    uint64_t d, uint64_t *out)
{
	struct wc_arith_req r = { .key = k, .klen = (uint32_t)strlen(k),
				  .hash = wc_hash(k, strlen(k)), .decr = decr, .delta = d };
	struct wc_write_res res;
	enum wc_status st = wc_arith(p, ctx, &r, &res);

	if (st == WC_OK)
		*out = res.value;
	return st;
}

static void incr_decr(void **state)
{
	FX;
	uint64_t v = 0;
	struct wc_view view;

	assert_int_equal(arith(p, ctx, "n", false, 1, &v), WC_NOT_FOUND);
	assert_int_equal(store_mode(p, ctx, WC_SET, "n", "9", 1, 5, 0, 0, NULL), WC_OK);
	assert_int_equal(arith(p, ctx, "n", false, 1, &v), WC_OK);
	assert_int_equal(v, 10);
	assert_value(p, ctx, "n", "10");
	assert_true(get_str(p, ctx, "n", &view));
	assert_int_equal(view.flags, 5);
	assert_int_equal(arith(p, ctx, "n", true, 3, &v), WC_OK);
	assert_int_equal(v, 7);
	assert_value(p, ctx, "n", "7");
	/* decr floors at 0 */
	assert_int_equal(arith(p, ctx, "n", true, 100, &v), WC_OK);
	assert_int_equal(v, 0);
	assert_value(p, ctx, "n", "0");
	/* incr wraps at 2^64 */
	assert_int_equal(set_str(p, ctx, "w", "18446744073709551615"), WC_OK);
	assert_int_equal(arith(p, ctx, "w", false, 1, &v), WC_OK);
	assert_int_equal(v, 0);
	assert_value(p, ctx, "w", "0");
	assert_int_equal(set_str(p, ctx, "w", "18446744073709551610"), WC_OK);
	assert_int_equal(arith(p, ctx, "w", false, 10, &v), WC_OK);
	assert_int_equal(v, 4);
	/* trailing spaces are tolerated (memcached pads decremented values) */
	assert_int_equal(set_str(p, ctx, "s", "12  "), WC_OK);
	assert_int_equal(arith(p, ctx, "s", false, 1, &v), WC_OK);
	assert_int_equal(v, 13);
	/* non-numeric values */
	const char *bad[] = { "abc", "", "1a", "-1", " 1", "18446744073709551616",
			      "000000000000000000001", "1.5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(set_str(p, ctx, "x", bad[i]), WC_OK);
		assert_int_equal(arith(p, ctx, "x", false, 1, &v), WC_ERR_NON_NUMERIC);
		assert_int_equal(arith(p, ctx, "x", true, 1, &v), WC_ERR_NON_NUMERIC);
		assert_value(p, ctx, "x", bad[i]);
	}
	assert_true(ctx->st.incr_hits >= 4);
	assert_int_equal(ctx->st.incr_misses, 1);
}

static void exptime_relative(void **state)
{
	FX;
	assert_int_equal(store_mode(p, ctx, WC_SET, "t", "v", 1, 0, 10, 0, NULL), WC_OK);
	ctx->clock.now = NOW + 9;
	assert_value(p, ctx, "t", "v");
	ctx->clock.now = NOW + 10;
	assert_missing(p, ctx, "t");
	assert_true(ctx->st.get_expired >= 1);
	/* the owner sees it gone too: add succeeds */
	assert_int_equal(store_mode(p, ctx, WC_ADD, "t", "w", 1, 0, 0, 0, NULL), WC_OK);
	assert_value(p, ctx, "t", "w");
}

static void exptime_thirty_days_and_absolute(void **state)
{
	FX;
	int64_t epoch = ctx->clock.epoch;

	assert_int_equal(store_mode(p, ctx, WC_SET, "m", "v", 1, 0, 2592000, 0, NULL), WC_OK);
	ctx->clock.now = NOW + 2592000 - 1;
	assert_value(p, ctx, "m", "v");
	ctx->clock.now = NOW + 2592000;
	assert_missing(p, ctx, "m");
	ctx->clock.now = NOW;

	/* absolute in the future */
	assert_int_equal(store_mode(p, ctx, WC_SET, "a", "v", 1, 0, epoch + NOW + 50, 0, NULL),
			 WC_OK);
	ctx->clock.now = NOW + 49;
	assert_value(p, ctx, "a", "v");
	ctx->clock.now = NOW + 50;
	assert_missing(p, ctx, "a");
	ctx->clock.now = NOW;

	/* absolute in the past and negative: stored as expired, replacing the old value */
	assert_int_equal(set_str(p, ctx, "old", "v"), WC_OK);
	assert_int_equal(store_mode(p, ctx, WC_SET, "old", "w", 1, 0, epoch + NOW - 1, 0, NULL),
			 WC_OK);
	assert_missing(p, ctx, "old");
	assert_int_equal(set_str(p, ctx, "neg", "v"), WC_OK);
	assert_int_equal(store_mode(p, ctx, WC_SET, "neg", "w", 1, 0, -1, 0, NULL), WC_OK);
	assert_missing(p, ctx, "neg");
	/* 30 days + 1 second is an absolute time in 1970: expired */
	assert_int_equal(store_mode(p, ctx, WC_SET, "abs", "w", 1, 0, 2592001, 0, NULL), WC_OK);
	assert_missing(p, ctx, "abs");
}

static void touch_and_gat(void **state)
{
	FX;
	struct wc_view v;
	uint64_t h = wc_hash("g", 1);

	assert_int_equal(wc_touch(p, ctx, "g", 1, h, 10), WC_NOT_FOUND);
	assert_int_equal(wc_gat(p, ctx, "g", 1, h, 10, &v), WC_NOT_FOUND);
	assert_int_equal(store_mode(p, ctx, WC_SET, "g", "val", 3, 3, 10, 0, NULL), WC_OK);
	assert_int_equal(wc_touch(p, ctx, "g", 1, h, 100), WC_OK);
	ctx->clock.now = NOW + 50;
	assert_value(p, ctx, "g", "val");
	assert_int_equal(wc_gat(p, ctx, "g", 1, h, 5, &v), WC_OK);
	assert_int_equal(v.vlen, 3);
	assert_memory_equal(v.value, "val", 3);
	assert_int_equal(v.flags, 3);
	assert_int_equal(v.exptime, NOW + 55);
	assert_true(v.cas != 0);
	ctx->clock.now = NOW + 55;
	assert_missing(p, ctx, "g");
	/* touch with exptime 0 removes the expiry */
	assert_int_equal(store_mode(p, ctx, WC_SET, "g", "val", 3, 0, 10, 0, NULL), WC_OK);
	assert_int_equal(wc_touch(p, ctx, "g", 1, h, 0), WC_OK);
	ctx->clock.now = NOW + 100000;
	assert_value(p, ctx, "g", "val");
	/* gat with a past time returns the item once, then it is gone */
	assert_int_equal(wc_gat(p, ctx, "g", 1, h, -1, &v), WC_OK);
	assert_int_equal(v.vlen, 3);
	assert_missing(p, ctx, "g");
	/* touch with a negative time expires it */
	assert_int_equal(set_str(p, ctx, "g2", "x"), WC_OK);
	assert_int_equal(wc_touch(p, ctx, "g2", 2, wc_hash("g2", 2), -1), WC_OK);
	assert_missing(p, ctx, "g2");
	assert_true(ctx->st.touch_hits >= 3);
	assert_true(ctx->st.touch_misses >= 2);
}

static void flush_now_and_delayed(void **state)
{
	FX;
	struct wc_part_stats ps;
	char k[16];

	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "f%d", i);
		assert_int_equal(set_str(p, ctx, k, "v"), WC_OK);
	}
	wc_flush(p, ctx, 0);
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "f%d", i);
		assert_missing(p, ctx, k);
	}
	assert_int_equal(set_str(p, ctx, "after", "v"), WC_OK);
	assert_value(p, ctx, "after", "v");
	/* the crawler removes the flushed items without anyone touching them */
	wc_part_maintain(p, ctx, 100000);
	wc_part_get_stats(p, &ps);
	assert_int_equal(ps.items, 1);

	/* delayed: items present until the deadline, including ones set meanwhile */
	wc_flush(p, ctx, 10);
	assert_value(p, ctx, "after", "v");
	ctx->clock.now = NOW + 5;
	assert_int_equal(set_str(p, ctx, "before_deadline", "v"), WC_OK);
	assert_value(p, ctx, "before_deadline", "v");
	ctx->clock.now = NOW + 10;
	/* readers see the flush at the deadline even before the owner applies it */
	assert_missing(p, ctx, "after");
	assert_missing(p, ctx, "before_deadline");
	/* the first write after the deadline applies it, then stores */
	assert_int_equal(set_str(p, ctx, "past_deadline", "v"), WC_OK);
	assert_value(p, ctx, "past_deadline", "v");
	assert_missing(p, ctx, "after");
	assert_missing(p, ctx, "before_deadline");
	assert_int_equal(ctx->st.ops[WC_OP_FLUSH], 2);
}

static void meta_state(void **state)
{
	FX;
	struct wc_view v, v2;
	uint64_t h = wc_hash("ms", 2);

	assert_int_equal(set_str(p, ctx, "ms", "v"), WC_OK);
	assert_true(get_str(p, ctx, "ms", &v));
	assert_false(v.state_before & WC_STATE_FETCHED);
	assert_int_equal(v.idle_before, 0);
	ctx->clock.now = NOW + 30;
	assert_true(get_str(p, ctx, "ms", &v));
	assert_true(v.state_before & WC_STATE_FETCHED);	/* meta h: hit before */
	assert_int_equal(v.idle_before, 30);		/* meta l: since last access */
	/* the win token goes to exactly one claimer per version */
	assert_true(wc_claim_win(p, &v, "ms", h));
	assert_false(wc_claim_win(p, &v, "ms", h));
	assert_true(get_str(p, ctx, "ms", &v2));
	assert_false(wc_claim_win(p, &v2, "ms", h));
	/* invalidate (md I T60): stale, new CAS, win available again */
	struct wc_modify_req inv = { .key = "ms", .klen = 2, .hash = h,
				     .opts = WC_MOD_STALE | WC_MOD_SET_EXPTIME, .exptime = 60 };
	assert_int_equal(wc_modify(p, ctx, &inv, NULL), WC_OK);
	assert_true(get_str(p, ctx, "ms", &v2));
	assert_true(v2.state_before & WC_STATE_STALE);
	assert_true(v2.cas != v.cas);
	assert_int_equal(v2.exptime, NOW + 30 + 60);
	assert_int_equal(v2.vlen, 1);
	assert_true(wc_claim_win(p, &v2, "ms", h));
	assert_false(wc_claim_win(p, &v2, "ms", h));
	struct wc_modify_req inv2 = { .key = "zz", .klen = 2, .hash = wc_hash("zz", 2),
				      .opts = WC_MOD_STALE };
	assert_int_equal(wc_modify(p, ctx, &inv2, NULL), WC_NOT_FOUND);
	/* a fresh set clears stale and the win token */
	assert_int_equal(set_str(p, ctx, "ms", "fresh"), WC_OK);
	assert_true(get_str(p, ctx, "ms", &v2));
	assert_false(v2.state_before & (WC_STATE_STALE | WC_STATE_WIN));
}

static void vivify_on_miss(void **state)
{
	FX;
	struct wc_view v;
	uint64_t h = wc_hash("viv", 3);
	struct wc_touch_req tr = { .key = "viv", .klen = 3, .hash = h, .opts = WC_TOUCH_VIVIFY,
				   .vivify_exptime = 30 };
	struct wc_write_res res;

	assert_int_equal(wc_touch_ex(p, ctx, &tr, &res), WC_OK);	/* first: wins */
	assert_true(res.created);
	assert_int_equal(wc_touch_ex(p, ctx, &tr, &res), WC_OK);
	assert_false(res.created);
	tr.opts = 0;
	tr.key = "nope";
	tr.klen = 4;
	tr.hash = wc_hash("nope", 4);
	assert_int_equal(wc_touch_ex(p, ctx, &tr, &res), WC_NOT_FOUND);
	assert_true(get_str(p, ctx, "viv", &v));
	assert_true(v.vivified);
	assert_int_equal(v.vlen, 0);
	assert_int_equal(v.exptime, NOW + 30);
	assert_true(v.state_before & WC_STATE_WIN);	/* later fetchers get Z */
	assert_false(wc_claim_win(p, &v, "viv", h));
	/* the winner fills it in */
	assert_int_equal(set_str(p, ctx, "viv", "data"), WC_OK);
	assert_true(get_str(p, ctx, "viv", &v));
	assert_false(v.vivified);
	ctx->clock.now = NOW + 31;
	assert_value(p, ctx, "viv", "data");
}

static void scattered_value(void **state)
{
	FX;
	struct iovec iov[3] = { { "abc", 3 }, { NULL, 0 }, { "defg", 4 } };
	struct wc_store_req r = { .mode = WC_SET, .key = "sc", .klen = 2, .hash = wc_hash("sc", 2),
				  .val = iov, .val_cnt = 3 };

	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_OK);
	assert_value(p, ctx, "sc", "abcdefg");
	r.mode = WC_APPEND;
	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_OK);
	assert_value(p, ctx, "sc", "abcdefgabcdefg");
}

static void bad_arguments(void **state)
{
	FX;
	struct iovec bad_iov = { NULL, 5 };
	struct wc_store_req r = { .mode = WC_SET, .key = "b", .klen = 1, .hash = wc_hash("b", 1),
				  .val = &bad_iov, .val_cnt = 1 };
	struct wc_part_cfg cfg;
	enum wc_status err;

	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_ERR_ARG);
	r.val = NULL;
	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_ERR_ARG);
	r.val_cnt = 0;
	r.mode = (enum wc_store_mode)99;
	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_ERR_ARG);
	assert_int_equal(wc_store(p, ctx, NULL, NULL), WC_ERR_ARG);
	r.mode = WC_SET;
	r.key = NULL;
	assert_int_equal(wc_store(p, ctx, &r, NULL), WC_ERR_KEY);
	/* partition configurations */
	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = 1000;
	assert_null(wc_part_create(&cfg, &wc_mem_mmap, &err));
	assert_int_equal(err, WC_ERR_ARG);
	wc_part_cfg_default(&cfg);
	cfg.small_pct = 90;
	assert_null(wc_part_create(&cfg, &wc_mem_mmap, &err));
	wc_part_cfg_default(&cfg);
	cfg.max_value = 0;
	assert_null(wc_part_create(&cfg, &wc_mem_mmap, &err));
	assert_null(wc_part_create(NULL, &wc_mem_mmap, &err));
	assert_int_equal(err, WC_ERR_ARG);
	/* names exist for every status and op */
	for (int s = 0; s <= WC_STATUS_COUNT; s++)
		assert_non_null(wc_status_name((enum wc_status)s));
	for (int o = 0; o <= WC_OP_COUNT; o++)
		assert_non_null(wc_op_name((enum wc_op)o));
}

static void counters(void **state)
{
	FX;
	struct wc_view v;
	struct wc_part_stats ps;

	memset(&ctx->st, 0, sizeof(ctx->st));
	assert_int_equal(set_str(p, ctx, "c1", "12345"), WC_OK);
	assert_int_equal(set_str(p, ctx, "c2", "x"), WC_OK);
	assert_true(get_str(p, ctx, "c1", &v));
	assert_false(get_str(p, ctx, "c3", &v));
	assert_int_equal(ctx->st.ops[WC_OP_SET], 2);
	assert_int_equal(ctx->st.ops[WC_OP_GET], 2);
	assert_int_equal(ctx->st.get_hits, 1);
	assert_int_equal(ctx->st.get_misses, 1);
	wc_part_get_stats(p, &ps);
	assert_int_equal(ps.items, 2);
	assert_true(ps.bytes >= 2 * sizeof(struct wc_item) + 4 + 6);
	assert_int_equal(ps.limit_bytes, 64u << 20);
	assert_int_equal(ps.log_bytes + ps.index_bytes <= ps.limit_bytes, 1);
	assert_int_equal(ps.total_items, 2);
	assert_int_equal(wc_delete(p, ctx, "c2", 2, wc_hash("c2", 2), 0), WC_OK);
	wc_part_get_stats(p, &ps);
	assert_int_equal(ps.items, 1);
	/* NO_STATS lookups leave counters alone */
	assert_true(wc_get(p, ctx, "c1", 2, wc_hash("c1", 2), WC_LOOKUP_NO_STATS, &v));
	assert_int_equal(ctx->st.get_hits, 1);
}

static void burst_matches_single(void **state)
{
	FX;
	struct wc_get_req reqs[100];
	char keys[100][24];

	for (int i = 0; i < 100; i++) {
		snprintf(keys[i], sizeof(keys[i]), "burst%d", i);
		if (i % 3)
			assert_int_equal(set_str(p, ctx, keys[i], keys[i]), WC_OK);
		reqs[i] = (struct wc_get_req){ .part = p, .key = keys[i],
					       .klen = (uint32_t)strlen(keys[i]),
					       .hash = wc_hash(keys[i], strlen(keys[i])) };
	}
	reqs[5].klen = 0;	/* a bad key is a miss, not a crash */
	wc_get_burst(reqs, 100, ctx, WC_LOOKUP_CAS);
	for (int i = 0; i < 100; i++) {
		if (i == 5) {
			assert_false(reqs[i].hit);
			continue;
		}
		assert_int_equal(reqs[i].hit, (i % 3) != 0);
		if (reqs[i].hit) {
			struct wc_view v;

			assert_int_equal(reqs[i].view.vlen, strlen(keys[i]));
			assert_memory_equal(reqs[i].view.value, keys[i], reqs[i].view.vlen);
			assert_true(get_str(p, ctx, keys[i], &v));
			assert_int_equal(v.cas, reqs[i].view.cas);
		}
	}
}

/*
 * A memcached reply's lookup (WC_LOOKUP_REPLY_ONLY) gives the same value,
 * length, flags and CAS as a full one, single and in bursts, with flags,
 * expiry and explicit CAS in the item's layout or not; the fields it does
 * not fill are left as the caller had them.
 */
static void reply_only_view_matches_full(void **state)
{
	FX;
	struct wc_get_req reqs[40];
	char keys[40][24], val[64];

	for (int i = 0; i < 40; i++) {
		snprintf(keys[i], sizeof(keys[i]), "ro%d", i);
		memset(val, 'a' + i % 26, sizeof(val));
		assert_int_equal(store_mode(p, ctx, WC_SET, keys[i], val, (size_t)i,
					    i % 2 ? 0x80000000u + (uint32_t)i : 0,
					    i % 3 ? 0 : 3600, 0, NULL), WC_OK);
	}
	for (unsigned lf = 0; lf < 2; lf++) {
		const unsigned cas = lf ? WC_LOOKUP_CAS : 0;

		for (int i = 0; i < 40; i++) {
			struct wc_view full, brief;
			uint64_t h = wc_hash(keys[i], strlen(keys[i]));

			memset(&brief, 0x5A, sizeof(brief));
			assert_true(wc_get(p, ctx, keys[i], (uint32_t)strlen(keys[i]), h, cas, &full));
			assert_true(wc_get(p, ctx, keys[i], (uint32_t)strlen(keys[i]), h,
					   cas | WC_LOOKUP_REPLY_ONLY, &brief));
			assert_ptr_equal(brief.it, full.it);
			assert_int_equal(brief.klen, full.klen);
			assert_memory_equal(brief.key, keys[i], brief.klen);
			assert_ptr_equal(brief.value, full.value);
			assert_int_equal(brief.vlen, (uint32_t)i);
			assert_int_equal(brief.flags, full.flags);
			assert_int_equal(brief.cas, full.cas);
			if (lf)
				assert_true(brief.cas != 0);
			assert_int_equal(brief.exptime, 0x5A5A5A5Au);	/* not filled */
			reqs[i] = (struct wc_get_req){ .part = p, .key = keys[i],
						       .klen = (uint32_t)strlen(keys[i]), .hash = h };
		}
		wc_get_burst(reqs, 40, ctx, cas | WC_LOOKUP_REPLY_ONLY);
		for (int i = 0; i < 40; i++) {
			struct wc_view full;

			assert_true(reqs[i].hit);
			assert_true(get_str(p, ctx, keys[i], &full));
			assert_ptr_equal(reqs[i].view.value, full.value);
			assert_int_equal(reqs[i].view.vlen, full.vlen);
			assert_int_equal(reqs[i].view.flags, full.flags);
			if (lf)
				assert_int_equal(reqs[i].view.cas, full.cas);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(set_get_flags_binary, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(key_length_limits, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(value_limits, fx_setup, fx_teardown),
		cmocka_unit_test(configurable_value_limit),
		cmocka_unit_test_setup_teardown(add_replace, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(append_prepend, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(cas_semantics, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(cas_meta_options, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(stale_set_keeps_ttl_and_win, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(delete_semantics, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(incr_decr, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(exptime_relative, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(exptime_thirty_days_and_absolute, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(touch_and_gat, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(flush_now_and_delayed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(meta_state, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(vivify_on_miss, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(scattered_value, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bad_arguments, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(counters, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(burst_matches_single, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(reply_only_view_matches_full, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, rcu_setup, rcu_teardown);
}
