/*
 * test_clock.c - memcached exptime rules at every boundary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "store/clock.h"
#include "store/item.h"

#define EPOCH 1700000000LL

static struct wc_clock clock_at(uint32_t now)
{
	struct wc_clock c = { .now = now, .epoch = EPOCH };

	return c;
}

static void zero_never_expires(void **state)
{
	struct wc_clock c = clock_at(100);
	uint32_t at = 7;

	(void)state;
	assert_int_equal(wc_exptime_convert(&c, 0, &at), WC_EXP_NEVER);
	assert_false(wc_is_expired(0, UINT32_MAX - 1));
}

static void relative_up_to_thirty_days(void **state)
{
	struct wc_clock c = clock_at(100);
	uint32_t at = 0;

	(void)state;
	assert_int_equal(wc_exptime_convert(&c, 1, &at), WC_EXP_AT);
	assert_int_equal(at, 101);
	assert_false(wc_is_expired(at, 100));
	assert_true(wc_is_expired(at, 101));
	/* exactly 30 days is still relative */
	assert_int_equal(wc_exptime_convert(&c, 2592000, &at), WC_EXP_AT);
	assert_int_equal(at, 100 + 2592000);
}

static void absolute_beyond_thirty_days(void **state)
{
	struct wc_clock c = clock_at(100);
	uint32_t at = 0;

	(void)state;
	/* 30 days + 1 is an absolute Unix time, long before our epoch: expired */
	assert_int_equal(wc_exptime_convert(&c, 2592001, &at), WC_EXP_PAST);
	/* an absolute time in the future */
	assert_int_equal(wc_exptime_convert(&c, EPOCH + 500, &at), WC_EXP_AT);
	assert_int_equal(at, 500);
	/* absolute time equal to now, or just before: expired */
	assert_int_equal(wc_exptime_convert(&c, EPOCH + 100, &at), WC_EXP_PAST);
	assert_int_equal(wc_exptime_convert(&c, EPOCH + 99, &at), WC_EXP_PAST);
	assert_int_equal(wc_exptime_convert(&c, EPOCH + 101, &at), WC_EXP_AT);
	assert_int_equal(at, 101);
	/* at or before the epoch (server start) */
	assert_int_equal(wc_exptime_convert(&c, EPOCH, &at), WC_EXP_PAST);
}

static void negative_is_expired(void **state)
{
	struct wc_clock c = clock_at(100);
	uint32_t at = 0;

	(void)state;
	assert_int_equal(wc_exptime_convert(&c, -1, &at), WC_EXP_PAST);
	assert_int_equal(wc_exptime_convert(&c, INT64_MIN, &at), WC_EXP_PAST);
}

static void far_future_clamps(void **state)
{
	struct wc_clock c = clock_at(100);
	uint32_t at = 0;

	(void)state;
	assert_int_equal(wc_exptime_convert(&c, INT64_MAX, &at), WC_EXP_AT);
	assert_int_equal(at, WC_EXPTIME_MAX);
	assert_true(at != WC_ITEM_PAD);
}

static void ttl_left(void **state)
{
	(void)state;
	assert_int_equal(wc_ttl_left(0, 50), -1);
	assert_int_equal(wc_ttl_left(60, 50), 10);
	assert_int_equal(wc_ttl_left(40, 50), 0);
}

static void tick_is_monotonic(void **state)
{
	struct wc_clock c;

	(void)state;
	wc_clock_init(&c, wc_clock_default_epoch());
	assert_true(c.now >= 1);
	c.now += 1000;	/* a clock ahead of real time never steps back */
	uint32_t ahead = c.now;
	wc_clock_tick(&c);
	assert_int_equal(c.now, ahead);
}

static int64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A tick reads the time to the millisecond: never behind the real time read just
 * before it. (Redis's PXAT/EXAT and PTTL count on it: a key given PXAT now+10000
 * must show a PTTL of at most 10000; a coarse clock lagging a few ms showed 10003.)
 */
static void tick_reads_the_millisecond(void **state)
{
	struct wc_clock c;

	(void)state;
	wc_clock_init(&c, wc_clock_default_epoch());
	for (int i = 0; i < 20000; i++) {
		int64_t before = real_ms(), got, after;

		wc_clock_tick(&c);
		got = wc_clock_unix_ms(&c);
		after = real_ms();
		if (got < before || got > after)
			fail_msg("tick %d: clock %lld ms, real time %lld..%lld ms", i, (long long)got,
				 (long long)before, (long long)after);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(zero_never_expires),
		cmocka_unit_test(relative_up_to_thirty_days),
		cmocka_unit_test(absolute_beyond_thirty_days),
		cmocka_unit_test(negative_is_expired),
		cmocka_unit_test(far_future_clamps),
		cmocka_unit_test(ttl_left),
		cmocka_unit_test(tick_is_monotonic),
		cmocka_unit_test(tick_reads_the_millisecond),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
