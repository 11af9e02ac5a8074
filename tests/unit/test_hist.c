/*
 * test_hist.c - the log-linear histogram: bucket bounds are contiguous and
 * within 1/32 of any value, quantiles against an exact sort, merging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "wirecache/hist.h"

static void buckets_cover_every_value(void **state)
{
	(void)state;
	for (unsigned i = 0; i + 1 < WC_HIST_BUCKETS; i++) {
		assert_int_equal(wc_hist_high(i) + 1, wc_hist_low(i + 1));
		assert_int_equal(wc_hist_index(wc_hist_low(i)), i);
		assert_int_equal(wc_hist_index(wc_hist_high(i)), i);
	}
	for (uint64_t v = 1; v < (1ull << 40); v = v * 3 + 7) {
		unsigned i = wc_hist_index(v);

		assert_true(wc_hist_low(i) <= v && v <= wc_hist_high(i));
		/* relative width at most 1/32 */
		assert_true((wc_hist_high(i) - wc_hist_low(i)) * 32 <= v);
	}
	assert_int_equal(wc_hist_index(UINT64_MAX), WC_HIST_BUCKETS - 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void quantiles_match_a_sort(void **state)
{
	enum { N = 100000 };
	static uint64_t v[N];
	static struct wc_hist h, a, b;
	const double qs[] = { 0.5, 0.9, 0.99, 0.999, 1.0 };
	uint64_t seed = 7;

	(void)state;
	wc_hist_reset(&h);
	wc_hist_reset(&a);
	wc_hist_reset(&b);
	assert_int_equal(wc_hist_quantile(&h, 0.5), 0);
	for (int i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		/* a long tail: mostly microseconds, some milliseconds */
		v[i] = (seed >> 40) % 5000 + ((seed >> 20) % 100 == 0 ? (seed >> 30) % 5000000 : 0);
		wc_hist_record(&h, v[i]);
		wc_hist_record(i & 1 ? &a : &b, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	assert_int_equal(h.min, v[0]);
	assert_int_equal(h.max, v[N - 1]);
	for (unsigned k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		uint64_t exact = v[(size_t)(qs[k] * N + 0.999999) - 1], got = wc_hist_quantile(&h, qs[k]);

		assert_true(got >= exact);
		assert_true(got - exact <= exact / 32 + 1);
	}
	wc_hist_merge(&a, &b);
	assert_int_equal(a.count, h.count);
	assert_int_equal(a.sum, h.sum);
	assert_int_equal(a.min, h.min);
	assert_int_equal(a.max, h.max);
	assert_memory_equal(a.b, h.b, sizeof(h.b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buckets_cover_every_value),
		cmocka_unit_test(quantiles_match_a_sort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
