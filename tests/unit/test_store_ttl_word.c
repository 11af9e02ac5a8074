/*
 * test_store_ttl_word.c - the item's optional exptime word (item.h): an item
 * without a TTL has an 8-byte header, one with a TTL 12; giving a TTL to an
 * item that has no word for it writes a new version (wc_item_reexpire) that
 * keeps the value, flags, state bits, access time and, for memcached's
 * touches, the CAS; an item that has the word changes in place. Checked
 * through the store's public calls, the log's byte counts and the
 * replication log's entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/item.h"
#include "store/kv.h"
#include "store/repl.h"
#include "store/store.h"
#include "store_helpers.h"

#define MEM   (8u << 20)
#define NOW   1000u

/* bytes of a record: header, optional words, key, value, padding to 4 */
static uint64_t rec(uint32_t words, uint32_t klen, uint32_t vlen)
{
	return (8 + 4 * words + klen + vlen + 3) & ~3ull;
}

static uint64_t log_bytes(const struct wc_part *p)
{
	struct wc_part_stats ps;

	wc_part_get_stats(p, &ps);
	return ps.bytes;
}

static uint64_t h_of(const char *k)
{
	return wc_hash(k, strlen(k));
}

static void header_is_8_bytes_without_a_ttl(void **state)
{
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_ctx ctx;
	struct wc_view v;

	(void)state;
	test_ctx(&ctx, NOW);
	assert_int_equal(set_str(p, &ctx, "plain:0001", "0123456789abcdef0123456789abcdef"),
			 WC_OK);
	assert_int_equal(log_bytes(p), rec(0, 10, 32));
	assert_int_equal(store_mode(p, &ctx, WC_SET, "ttl:00001", "v", 1, 0, 60, 0, NULL), WC_OK);
	assert_int_equal(log_bytes(p), rec(0, 10, 32) + rec(1, 9, 1));
	assert_int_equal(store_mode(p, &ctx, WC_SET, "both:0001", "v", 1, 7, 60, 0, NULL), WC_OK);
	assert_int_equal(log_bytes(p), rec(0, 10, 32) + rec(1, 9, 1) + rec(2, 9, 1));
	assert_true(get_str(p, &ctx, "both:0001", &v));
	assert_int_equal(v.flags, 7);
	assert_int_equal(v.exptime, NOW + 60);
	assert_true(get_str(p, &ctx, "plain:0001", &v));
	assert_int_equal(v.exptime, 0);
	assert_int_equal(v.flags, 0);
	wc_part_destroy(p);
}

/* memcached touch / gat of an item stored without a TTL: same item, same CAS */
static void touch_gives_a_ttl_and_keeps_the_item(void **state)
{
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_ctx ctx;
	struct wc_view v, w;
	uint64_t cas = 0, before;

	(void)state;
	test_ctx(&ctx, NOW);
	assert_int_equal(store_mode(p, &ctx, WC_SET, "k", "value", 5, 42, 0, 0, &cas), WC_OK);
	assert_true(get_str(p, &ctx, "k", &v));	/* fetched, accessed at NOW */
	ctx.clock.now = NOW + 20;
	before = log_bytes(p);
	assert_int_equal(wc_touch(p, &ctx, "k", 1, h_of("k"), 100), WC_OK);
	/* a new version with the exptime word and the CAS stored: 4 + 8 more bytes */
	assert_int_equal(before, rec(1, 1, 5));	/* (the flags word) */
	assert_int_equal(log_bytes(p), rec(4, 1, 5));
	assert_true(wc_get(p, &ctx, "k", 1, h_of("k"), WC_LOOKUP_CAS | WC_LOOKUP_NO_TOUCH, &w));
	assert_int_equal(w.vlen, 5);
	assert_memory_equal(w.value, "value", 5);
	assert_int_equal(w.flags, 42);
	assert_int_equal(w.cas, cas);
	assert_int_equal(w.exptime, NOW + 20 + 100);
	assert_true(w.state_before & WC_STATE_FETCHED);
	assert_int_equal(w.idle_before, 20);	/* a touch is no read */
	assert_int_equal(store_mode(p, &ctx, WC_CAS, "k", "new", 3, 0, 0, cas, NULL), WC_OK);
	assert_value(p, &ctx, "k", "new");

	/* now it has the word: a second touch is in place, no bytes written */
	assert_int_equal(wc_touch(p, &ctx, "k", 1, h_of("k"), 0), WC_OK);	/* (0: never) */
	assert_int_equal(store_mode(p, &ctx, WC_SET, "j", "x", 1, 0, 0, 0, NULL), WC_OK);
	assert_int_equal(wc_gat(p, &ctx, "j", 1, h_of("j"), 50, &v), WC_OK);
	assert_int_equal(v.exptime, NOW + 20 + 50);
	before = log_bytes(p);
	assert_int_equal(wc_gat(p, &ctx, "j", 1, h_of("j"), 10, &v), WC_OK);
	assert_int_equal(log_bytes(p), before);
	assert_int_equal(v.exptime, NOW + 20 + 10);
	ctx.clock.now = NOW + 20 + 10;
	assert_missing(p, &ctx, "j");
	assert_value(p, &ctx, "k", "new");	/* touched to "never" */
	wc_part_destroy(p);
}

/* meta touch with a past time on an item without a TTL: shown once, then gone */
static void meta_touch_into_the_past(void **state)
{
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_touch_req r = { .key = "m", .klen = 1, .hash = h_of("m"),
				  .opts = WC_TOUCH_SET_EXPTIME, .exptime = -1 };
	struct wc_write_res res;
	struct wc_ctx ctx;
	uint64_t cas = 0;

	(void)state;
	test_ctx(&ctx, NOW);
	assert_int_equal(store_mode(p, &ctx, WC_SET, "m", "abc", 3, 0, 0, 0, &cas), WC_OK);
	assert_int_equal(wc_touch_ex(p, &ctx, &r, &res), WC_OK);
	assert_int_equal(res.cas, cas);
	assert_int_equal(res.vlen, 3);
	assert_int_equal(res.exptime, NOW);
	assert_missing(p, &ctx, "m");
	wc_part_destroy(p);
}

/* Redis EXPIRE, PERSIST, EXPIRE: one new version, then in place */
static void redis_expire_then_persist(void **state)
{
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_part_stats ps;
	struct wc_ctx ctx;
	struct wc_view v;
	uint64_t before, written;
	bool gone;

	(void)state;
	test_ctx(&ctx, NOW);
	assert_int_equal(set_str(p, &ctx, "r", "payload"), WC_OK);
	wc_part_get_stats(p, &ps);
	written = ps.total_items;
	assert_int_equal(wc_kv_expire(p, &ctx, "r", 1, h_of("r"), NOW + 30, 250, &gone), WC_OK);
	assert_false(gone);
	wc_part_get_stats(p, &ps);
	assert_int_equal(ps.total_items, written + 1);	/* with an exptime and an ext word */
	assert_int_equal(ps.bytes, rec(2, 1, 7));
	assert_true(get_str(p, &ctx, "r", &v));
	assert_int_equal(v.exptime, NOW + 30);
	assert_int_equal(v.exp_ms, 250);
	before = ps.bytes;
	assert_int_equal(wc_kv_expire(p, &ctx, "r", 1, h_of("r"), 0, 0, &gone), WC_OK);
	assert_int_equal(wc_kv_expire(p, &ctx, "r", 1, h_of("r"), NOW + 5, 0, &gone), WC_OK);
	wc_part_get_stats(p, &ps);
	assert_int_equal(ps.total_items, written + 1);
	assert_int_equal(ps.bytes, before);
	assert_int_equal(ps.expiring, 1);
	assert_true(get_str(p, &ctx, "r", &v));
	assert_int_equal(v.exptime, NOW + 5);
	assert_int_equal(v.exp_ms, 0);
	assert_memory_equal(v.value, "payload", 7);
	ctx.clock.now = NOW + 5;
	assert_missing(p, &ctx, "r");
	wc_part_destroy(p);
}

/* The replication log gets the expiry, not the value again */
static void replicas_get_the_expiry_only(void **state)
{
	struct wc_part *p = test_part(MEM, 0, 10);
	struct wc_ctx ctx;
	uint8_t buf[4096];
	uint64_t from;
	size_t got, pos = 0;
	struct wc_rent e;
	unsigned n = 0;
	bool gone;

	(void)state;
	test_ctx(&ctx, NOW);
	assert_true(wc_repl_enable(p, 1u << 20));
	assert_int_equal(set_str(p, &ctx, "x", "v"), WC_OK);
	from = wc_rlog_last(wc_repl_log(p));
	assert_int_equal(wc_kv_expire(p, &ctx, "x", 1, h_of("x"), NOW + 9, 0, &gone), WC_OK);
	assert_int_equal(wc_touch(p, &ctx, "x", 1, h_of("x"), 20), WC_OK);
	assert_int_equal(wc_rlog_read(wc_repl_log(p), &from, buf, sizeof(buf), &got),
			 WC_RREAD_OK);
	while (wc_rent_next(buf, got, &pos, &e)) {
		assert_int_equal(e.op, WC_ROP_PEXPIREAT);
		assert_int_equal(e.klen, 1);
		n++;
	}
	assert_int_equal(n, 2);
	wc_part_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_is_8_bytes_without_a_ttl),
		cmocka_unit_test(touch_gives_a_ttl_and_keeps_the_item),
		cmocka_unit_test(meta_touch_into_the_past),
		cmocka_unit_test(redis_expire_then_persist),
		cmocka_unit_test(replicas_get_the_expiry_only),
	};

	return cmocka_run_group_tests(tests, rcu_setup, rcu_teardown);
}
