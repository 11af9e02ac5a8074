/*
 * test_lcore_passes.c - the worker lcore's pass profile (core/passes.h):
 * passes that did work land in the duration histogram, idle ones do not;
 * a long pass is counted once, with its cycles and received packets, at
 * its longest stage; rx bursts by size; slow frames off the GET fast path;
 * and a reset asked from another thread zeroes the figures at the next
 * pass but keeps the pass in hand's bookkeeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/passes.h"

#define HZ 1000000000ull	/* one cycle a nanosecond: 1 us = 1000 */

static struct wc_passes p;

static int setup(void **state)
{
	(void)state;
	wc_passes_init(&p, HZ);
	return 0;
}

/* A pass from top that did work (worked), cyc cycles of it in stage s: the rest is its gap. */
static void pass(uint64_t top, bool worked, enum wc_pass_stage s, uint64_t cyc)
{
	wc_passes_top(&p, top);
	p.cur[s] += cyc;
	p.stage_start = top + cyc;
	p.worked = worked;
}

static uint64_t hist_total(void)
{
	uint64_t n = 0;

	for (unsigned b = 0; b < WC_PASS_HIST; b++)
		n += p.hist[b];
	return n;
}

static void short_and_idle_passes(void **state)
{
	(void)state;
	pass(1000, true, WC_STAGE_RX, 300);
	pass(2000, false, WC_STAGE_RX, 0);	/* settles the first: 1 us, worked */
	pass(2500, true, WC_STAGE_FLUSH, 100);	/* settles an idle one: not in the histogram */
	wc_passes_top(&p, 2800);
	assert_int_equal(hist_total(), 2);
	assert_int_equal(p.passes, 3);
	assert_int_equal(p.hist[1], 1);		/* 1 us: [1, 2) */
	assert_int_equal(p.hist[0], 1);		/* 0.3 us: < 1 us */
	assert_int_equal(p.long_passes, 0);
	assert_int_equal(p.stage_tsc[WC_STAGE_RX], 300);
	assert_int_equal(p.stage_tsc[WC_STAGE_FLUSH], 100);
	/* every cycle between the first top and the last went to some stage */
	assert_int_equal(p.stage_tsc[WC_STAGE_RX] + p.stage_tsc[WC_STAGE_FLUSH] +
			 p.stage_tsc[WC_STAGE_GAP], 2800 - 1000);
}

static void a_long_pass_at_its_longest_stage(void **state)
{
	(void)state;
	wc_passes_top(&p, 10000);
	p.cur_rx = 32;
	p.cur[WC_STAGE_RX] = 4000;
	p.cur[WC_STAGE_BACKGROUND] = 16000;
	p.stage_start = 30000;
	p.worked = true;
	wc_passes_top(&p, 31000);		/* 21 us */
	assert_int_equal(p.long_passes, 1);
	assert_int_equal(p.long_tsc, 21000);
	assert_int_equal(p.long_rx, 32);
	assert_int_equal(p.long_by_stage[WC_STAGE_BACKGROUND], 1);
	assert_int_equal(p.hist[5], 1);		/* [16, 32) us */
	assert_int_equal(p.max_pass_tsc, 21000);
	assert_int_equal(p.stage_max_tsc[WC_STAGE_BACKGROUND], 16000);
	assert_int_equal(p.stage_tsc[WC_STAGE_GAP], 1000);
	/* a pass just under the mark is not long */
	p.worked = true;
	wc_passes_top(&p, 31000 + WC_PASS_LONG_US * 1000 - 1);
	assert_int_equal(p.long_passes, 1);
}

static void bursts_and_slow_frames(void **state)
{
	uint64_t now = rte_rdtsc();

	(void)state;
	wc_passes_top(&p, now);
	wc_passes_burst(&p, 32, now);
	wc_passes_burst(&p, 1, now);
	wc_passes_burst(&p, 32, now);
	assert_int_equal(p.bursts[32], 2);
	assert_int_equal(p.bursts[1], 1);
	assert_int_equal(p.cur_rx, 65);
	assert_true(p.burst_tsc[32] >= p.burst_tsc[1]);
	wc_passes_frame(&p, 1000, 1000 + WC_PASS_SLOW_US * 1000 - 1);	/* not slow */
	wc_passes_frame(&p, 1000, 1000 + 7000);
	wc_passes_frame(&p, 1000, 1000 + 9000);
	assert_int_equal(p.slow_frames, 2);
	assert_int_equal(p.slow_frame_tsc, 16000);
	assert_int_equal(p.slow_frame_max_tsc, 9000);
}

static void reset_at_the_next_pass(void **state)
{
	(void)state;
	wc_passes_top(&p, 1000);
	p.worked = true;
	wc_passes_top(&p, 50000);
	assert_int_equal(p.long_passes, 1);
	p.reset = true;				/* as the telemetry thread asks */
	assert_int_equal(p.long_passes, 1);	/* nothing happens before the lcore's next pass */
	p.worked = true;
	wc_passes_top(&p, 52000);
	assert_false(p.reset);
	assert_int_equal(p.long_passes, 0);
	assert_int_equal(p.max_pass_tsc, 2000);	/* the pass settled after the reset counts */
	assert_int_equal(hist_total(), 1);
	assert_int_equal(p.top_tsc, 52000);
	assert_int_equal(p.us_tsc, 1000);	/* the setup is kept */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(short_and_idle_passes, setup),
		cmocka_unit_test_setup(a_long_pass_at_its_longest_stage, setup),
		cmocka_unit_test_setup(bursts_and_slow_frames, setup),
		cmocka_unit_test_setup(reset_at_the_next_pass, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
