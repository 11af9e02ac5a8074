/*
 * test_lcore_busy.c - the worker lcore's busy accounting (core/busy.h):
 * cycles of passes that did work against all cycles, an idle pass's pause
 * or sleep counted idle, a TSC that does not move; and the latency window
 * the telemetry reports (core/lctel.h): every lcore's histogram summed,
 * less the mark.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/busy.h"
#include "core/latency.h"
#include "core/lctel.h"

/* One pass starting at tsc `top` that did `work`. */
static void pass(struct wc_busy *b, uint64_t top, unsigned work)
{
	wc_busy_pass_start(b, top);
	wc_busy_pass_done(b, work);
}

static void first_pass_counts_nothing(void **state)
{
	struct wc_busy b = { 0 };

	(void)state;
	pass(&b, 1000, 5);
	assert_int_equal(b.busy_tsc, 0);
	assert_int_equal(b.total_tsc, 0);
	assert_int_equal(b.last_tsc, 1000);
}

static void busy_and_idle_passes(void **state)
{
	struct wc_busy b = { 0 };

	(void)state;
	pass(&b, 1000, 3);	/* worked: 1000..1100 is busy */
	pass(&b, 1100, 0);	/* idle, then slept: 1100..5100 is idle */
	pass(&b, 5100, 1);	/* worked: 5100..5150 busy */
	pass(&b, 5150, 1);	/* worked: 5150..5250 busy */
	pass(&b, 5250, 0);
	assert_int_equal(b.busy_tsc, 100 + 50 + 100);
	assert_int_equal(b.total_tsc, 4250);
	/* saturated: every pass works, busy follows total exactly */
	for (uint64_t t = 6000; t < 7000; t += 10)
		pass(&b, t, 1);
	pass(&b, 7000, 0);
	assert_int_equal(b.busy_tsc, 250 + 1000);
	assert_int_equal(b.total_tsc, 4250 + 750 + 1000);
	assert_true(b.busy_tsc <= b.total_tsc);
}

static void tsc_standing_still_or_back(void **state)
{
	struct wc_busy b = { 0 };

	(void)state;
	pass(&b, 500, 1);
	pass(&b, 500, 1);	/* no cycles passed: nothing counted */
	assert_int_equal(b.total_tsc, 0);
	pass(&b, 400, 1);	/* a TSC read behind the last: counted as nothing */
	assert_int_equal(b.total_tsc, 0);
	pass(&b, 450, 0);
	assert_int_equal(b.busy_tsc, 50);
	assert_int_equal(b.total_tsc, 50);
}

/* The telemetry's window: two lcores' histograms summed, less the mark. */
static void latency_window_since_mark(void **state)
{
	static struct wc_app app;
	static struct wc_hist h[2], mark, now, since;
	static struct wc_lat lat[2];

	(void)state;
	memset(&app, 0, sizeof(app));
	app.nworkers = 2;
	for (unsigned i = 0; i < 2; i++) {
		wc_lat_init(&lat[i], &h[i], 1000000000);
		wc_lat_lcores[i] = &lat[i];
	}
	wc_lat_record(&lat[0], 100000, 500);	/* before the mark: 100 us, slow */
	wc_lctel_lat_sum(&app, &mark);
	assert_int_equal(mark.count, 500);
	wc_lat_record(&lat[0], 2000, 600);	/* after: 2 us and 4 us */
	wc_lat_record(&lat[1], 4000, 400);
	wc_lctel_lat_sum(&app, &now);
	assert_int_equal(now.count, 1500);
	wc_lctel_hist_since(&now, &mark, &since);
	assert_int_equal(since.count, 1000);
	assert_int_equal(since.sum, 600 * 2000 + 400 * 4000);
	/* the slow ones before the mark are not in the window */
	assert_true(wc_hist_quantile(&since, 0.5) >= 2000 && wc_hist_quantile(&since, 0.5) < 2100);
	assert_true(wc_hist_quantile(&since, 0.99) >= 4000 &&
		    wc_hist_quantile(&since, 0.99) < 4200);
	/* an lcore without a histogram (no control interface) adds nothing */
	wc_lat_lcores[1] = NULL;
	wc_lctel_lat_sum(&app, &now);
	assert_int_equal(now.count, 1100);
	wc_lat_lcores[0] = NULL;
	wc_lctel_lat_sum(&app, &now);
	assert_int_equal(now.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_pass_counts_nothing),
		cmocka_unit_test(busy_and_idle_passes),
		cmocka_unit_test(tsc_standing_still_or_back),
		cmocka_unit_test(latency_window_since_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
