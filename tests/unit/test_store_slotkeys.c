/*
 * test_store_slotkeys.c - the partition's keys per cluster slot
 * (cfg.slot_keys, scan.h wc_part_slot_keys): after any mix of sets,
 * overwrites, deletes, expiries reaped by reads and the crawler, evictions,
 * flush_all, and hashes large enough to have parts of their own, every
 * slot's count equals the keys a full walk finds in that slot, and the
 * counts add up to the partition's key gauge. A partition made without the
 * option counts nothing.
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
#include "store/container.h"
#include "store/scan.h"
#include "wirecache/slot.h"

#define NOW 1000

static struct wc_part *counting_part(uint64_t mem)
{
	struct wc_part_cfg cfg;
	enum wc_status err;
	struct wc_part *p;

	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = mem;
	cfg.small_pct = 10;
	cfg.slot_keys = true;
	p = wc_part_create(&cfg, &wc_mem_mmap, &err);
	assert_non_null(p);
	assert_true(wc_part_counts_slots(p));
	return p;
}

/* One of this file's key names (the walk meets container parts too: they are no key). */
static bool is_test_key(const uint8_t *key, uint32_t klen, void *arg)
{
	static const char *const prefixes[] = { "sk:", "{tagged}:", "bighash", "plain" };

	(void)arg;
	for (unsigned i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (klen >= n && memcmp(key, prefixes[i], n) == 0) {
			for (uint32_t j = (uint32_t)n; j < klen; j++)
				if (key[j] < '0' || key[j] > '9')
					return false;
			return true;
		}
	}
	return false;
}

/* Every slot's count against a full walk; returns the keys walked. */
static uint64_t check_counts(const struct wc_part *p)
{
	static uint32_t walked[WC_SLOTS];
	struct wc_scan_key *out = calloc(4096, sizeof(*out));
	struct wc_part_stats st;
	uint32_t cursor = 0;
	uint64_t total = 0, counted = 0;
	bool done = false;

	assert_non_null(out);
	memset(walked, 0, sizeof(walked));
	while (!done) {
		unsigned n = wc_part_scan_keys(p, &cursor, 256, is_test_key, NULL, out, 4096,
					       &done);

		for (unsigned i = 0; i < n; i++) {
			walked[wc_key_slot(out[i].key, out[i].klen)]++;
			total++;
		}
	}
	free(out);
	for (unsigned s = 0; s < WC_SLOTS; s++) {
		if (wc_part_slot_keys(p, s) != walked[s])
			fail_msg("slot %u: counted %u, walked %u", s, wc_part_slot_keys(p, s),
				 walked[s]);
		counted += wc_part_slot_keys(p, s);
	}
	wc_part_get_stats(p, &st);
	assert_int_equal(counted, st.keys);
	return total;
}

static void key_of(unsigned i, char *buf, size_t n)
{
	/* every tenth key shares a hash tag: many keys in one slot */
	if (i % 10 == 0)
		snprintf(buf, n, "{tagged}:%u", i);
	else
		snprintf(buf, n, "sk:%u", i);
}

static void sets_overwrites_deletes(void **state)
{
	struct wc_part *p = counting_part(16u << 20);
	struct wc_ctx ctx;
	char k[32];

	(void)state;
	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 3000; i++) {
		key_of(i, k, sizeof(k));
		assert_int_equal(set_str(p, &ctx, k, "first"), WC_OK);
	}
	assert_int_equal(check_counts(p), 3000);
	assert_int_equal(wc_part_slot_keys(p, wc_key_slot("{tagged}", 8)), 300);
	for (unsigned i = 0; i < 3000; i += 2) {	/* overwrites: no count changes */
		key_of(i, k, sizeof(k));
		assert_int_equal(set_str(p, &ctx, k, "second, longer value"), WC_OK);
	}
	assert_int_equal(check_counts(p), 3000);
	for (unsigned i = 0; i < 3000; i += 3) {
		key_of(i, k, sizeof(k));
		assert_int_equal(wc_delete(p, &ctx, k, (uint32_t)strlen(k),
					   wc_hash(k, strlen(k)), 0), WC_OK);
	}
	assert_int_equal(check_counts(p), 2000);
	/* a delete of a missing key changes nothing */
	assert_int_equal(wc_delete(p, &ctx, "sk:0", 4, wc_hash("sk:0", 4), 0), WC_NOT_FOUND);
	assert_int_equal(check_counts(p), 2000);
	assert_int_equal(wc_part_slot_keys(p, WC_SLOTS), 0);	/* out of range */
	wc_part_destroy(p);
}

static void expiry_reaped_by_reads_and_crawler(void **state)
{
	struct wc_part *p = counting_part(16u << 20);
	struct wc_ctx ctx;
	struct wc_view v;
	char k[32];

	(void)state;
	test_ctx(&ctx, NOW);
	for (unsigned i = 0; i < 1000; i++) {
		key_of(i, k, sizeof(k));
		assert_int_equal(store_mode(p, &ctx, WC_SET, k, "v", 1, 0,
					    i % 2 ? 10 : 0, 0, NULL), WC_OK);
	}
	assert_int_equal(check_counts(p), 1000);
	ctx.clock.now = NOW + 20;
	/* expired but not removed yet: still counted (as Redis counts them) */
	assert_int_equal(check_counts(p), 1000);
	/* the owner's own find removes an expired key on the way (a touch does one) */
	assert_int_equal(wc_touch(p, &ctx, "sk:1", 4, wc_hash("sk:1", 4), 0), WC_NOT_FOUND);
	assert_int_equal(check_counts(p), 999);
	assert_false(get_str(p, &ctx, "sk:3", &v));
	for (int i = 0; i < 100; i++)
		wc_part_maintain(p, &ctx, 1000);
	assert_int_equal(check_counts(p), 500);
	wc_part_destroy(p);
}

static void evictions_and_flush(void **state)
{
	struct wc_part *p = counting_part(1u << 20);
	struct wc_ctx ctx;
	struct wc_part_stats st;
	char k[32], val[200];
	uint64_t n;

	(void)state;
	test_ctx(&ctx, NOW);
	memset(val, 'x', sizeof(val) - 1);
	val[sizeof(val) - 1] = 0;
	for (unsigned i = 0; i < 40000; i++) {
		key_of(i, k, sizeof(k));
		assert_int_equal(set_str(p, &ctx, k, val), WC_OK);
	}
	wc_part_get_stats(p, &st);
	assert_true(st.evictions > 0);
	n = check_counts(p);
	assert_true(n > 0 && n < 40000);
	wc_flush(p, &ctx, 0);
	for (int i = 0; i < 200; i++)
		wc_part_maintain(p, &ctx, 10000);
	assert_int_equal(check_counts(p), 0);
	wc_part_destroy(p);
}

static uint64_t kh(const char *k)
{
	return wc_hash(k, strlen(k));
}

static void containers_count_once(void **state)
{
	struct wc_part *p = counting_part(16u << 20);
	struct wc_ctx ctx;
	char f[32];

	(void)state;
	test_ctx(&ctx, NOW);
	/* big enough to be bucketed: its parts are items of their own, not keys */
	for (unsigned i = 0; i < 2000; i++) {
		struct wc_cbytes name, val = wc_cbytes_of("value", 5);
		struct wc_cupd res;

		snprintf(f, sizeof(f), "field-%u", i);
		name = wc_cbytes_of(f, strlen(f));
		assert_int_equal(wc_c_update(p, &ctx, "bighash", 7, kh("bighash"), WC_TYPE_HASH,
					     WC_COP_SET, &name, &val, &res), WC_OK);
	}
	assert_int_equal(set_str(p, &ctx, "plain", "v"), WC_OK);
	assert_int_equal(wc_part_slot_keys(p, wc_key_slot("bighash", 7)), 1);
	assert_int_equal(check_counts(p), 2);
	assert_int_equal(wc_delete(p, &ctx, "bighash", 7, kh("bighash"), 0), WC_OK);
	for (int i = 0; i < 100; i++)
		wc_part_maintain(p, &ctx, 10000);
	assert_int_equal(wc_part_slot_keys(p, wc_key_slot("bighash", 7)), 0);
	assert_int_equal(check_counts(p), 1);
	wc_part_destroy(p);
}

static void off_by_default(void **state)
{
	struct wc_part *p = test_part(4u << 20, 0, 10);
	struct wc_ctx ctx;

	(void)state;
	test_ctx(&ctx, NOW);
	assert_false(wc_part_counts_slots(p));
	assert_int_equal(set_str(p, &ctx, "k", "v"), WC_OK);
	assert_int_equal(wc_part_slot_keys(p, wc_key_slot("k", 1)), 0);
	wc_part_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sets_overwrites_deletes),
		cmocka_unit_test(expiry_reaped_by_reads_and_crawler),
		cmocka_unit_test(evictions_and_flush),
		cmocka_unit_test(containers_count_once),
		cmocka_unit_test(off_by_default),
	};

	return cmocka_run_group_tests(tests, rcu_setup, rcu_teardown);
}
