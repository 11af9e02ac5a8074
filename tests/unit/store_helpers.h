/*
 * store_helpers.h - small wrappers the store tests share: partitions with a
 * given size and policy, and set/get by C string.
 */
#ifndef WC_TEST_STORE_HELPERS_H
#define WC_TEST_STORE_HELPERS_H

#include <string.h>

#include <urcu-qsbr.h>

#include "store/store.h"

static inline struct wc_part *test_part(uint64_t mem, uint32_t max_value, uint8_t small_pct)
{
	struct wc_part_cfg cfg;
	enum wc_status err;
	struct wc_part *p;

	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = mem;
	if (max_value)
		cfg.max_value = max_value;
	cfg.small_pct = small_pct;
	p = wc_part_create(&cfg, &wc_mem_mmap, &err);
	assert_non_null(p);
	assert_int_equal(err, WC_OK);
	return p;
}

static inline void test_ctx(struct wc_ctx *ctx, uint32_t now)
{
	wc_ctx_init(ctx);
	ctx->clock.now = now;
}

static inline enum wc_status store_mode(struct wc_part *p, struct wc_ctx *ctx,
					enum wc_store_mode mode, const char *key, const void *val,
					size_t vlen, uint32_t flags, int64_t exptime,
					uint64_t cas_in, uint64_t *cas_out)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)val, .iov_len = vlen };
	struct wc_store_req r = {
		.mode = mode, .key = key, .klen = (uint32_t)strlen(key),
		.hash = wc_hash(key, strlen(key)), .val = &iov, .val_cnt = 1,
		.flags = flags, .exptime = exptime, .cas_in = cas_in,
	};
	struct wc_write_res res;
	enum wc_status st = wc_store(p, ctx, &r, &res);

	if (cas_out && st == WC_OK)
		*cas_out = res.cas;
	return st;
}

static inline enum wc_status set_str(struct wc_part *p, struct wc_ctx *ctx, const char *key,
				     const char *val)
{
	return store_mode(p, ctx, WC_SET, key, val, strlen(val), 0, 0, 0, NULL);
}

static inline bool get_str(const struct wc_part *p, struct wc_ctx *ctx, const char *key,
			   struct wc_view *v)
{
	return wc_get(p, ctx, key, (uint32_t)strlen(key), wc_hash(key, strlen(key)),
		      WC_LOOKUP_CAS, v);
}

static inline void assert_value(const struct wc_part *p, struct wc_ctx *ctx, const char *key,
				const char *want)
{
	struct wc_view v;

	assert_true(get_str(p, ctx, key, &v));
	assert_int_equal(v.vlen, strlen(want));
	assert_memory_equal(v.value, want, v.vlen);
}

static inline void assert_missing(const struct wc_part *p, struct wc_ctx *ctx, const char *key)
{
	struct wc_view v;

	assert_false(get_str(p, ctx, key, &v));
}

static inline int rcu_setup(void **state)
{
	(void)state;
	rcu_register_thread();
	return 0;
}

static inline int rcu_teardown(void **state)
{
	(void)state;
	rcu_unregister_thread();
	return 0;
}

#endif
