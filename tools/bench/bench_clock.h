/*
 * bench_clock.h - the monotonic wall clock every in-process benchmark
 * program times its runs with.
 */
#ifndef WC_BENCH_CLOCK_H
#define WC_BENCH_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC, as a double. */
static inline double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
