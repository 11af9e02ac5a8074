/*
 * passes.c - settling each worker pass into the lcore's pass profile
 * (see passes.h): its duration histogram, its stages, and what a long pass
 * did, with a look at the thread's context switches after each long one.
 */
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>

#include "core/passes.h"

struct wc_passes wc_passes_lcores[WC_MAX_WORKERS];

/* The thread's context switches so far, voluntary or not (a syscall: long passes only). */
static long thread_switches(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

void wc_passes_init(struct wc_passes *p, uint64_t tsc_hz)
{
	memset(p, 0, sizeof(*p));
	p->us_tsc = tsc_hz / 1000000 ? tsc_hz / 1000000 : 1;
	p->long_tsc_min = p->us_tsc * WC_PASS_LONG_US;
	p->slow_tsc_min = p->us_tsc * WC_PASS_SLOW_US;
	p->last_csw = thread_switches();
}

static void add(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

static void zero(struct wc_passes *p)
{
	size_t keep = offsetof(struct wc_passes, stage_start);

	for (uint64_t *c = (uint64_t *)p; (char *)c < (char *)p + keep; c++)
		__atomic_store_n(c, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&p->reset, false, __ATOMIC_RELAXED);
}

void wc_passes_top(struct wc_passes *p, uint64_t now)
{
	uint64_t d = p->top_tsc && now > p->top_tsc ? now - p->top_tsc : 0;

	if (__atomic_load_n(&p->reset, __ATOMIC_RELAXED))
		zero(p);
	if (d) {
		unsigned worst = 0, b = 0;

		add(&p->passes, 1);
		p->cur[WC_STAGE_GAP] = now > p->stage_start ? now - p->stage_start : 0;
		for (unsigned s = 0; s < WC_STAGE_COUNT; s++) {
			add(&p->stage_tsc[s], p->cur[s]);
			if (p->cur[s] > p->stage_max_tsc[s])
				__atomic_store_n(&p->stage_max_tsc[s], p->cur[s], __ATOMIC_RELAXED);
			if (p->cur[s] > p->cur[worst])
				worst = s;
		}
		if (p->worked) {
			for (uint64_t us = d / p->us_tsc; us && b < WC_PASS_HIST - 1; us >>= 1)
				b++;
			add(&p->hist[b], 1);
		}
		if (d > p->max_pass_tsc)
			__atomic_store_n(&p->max_pass_tsc, d, __ATOMIC_RELAXED);
		if (d >= p->long_tsc_min) {
			long csw = thread_switches();

			add(&p->long_passes, 1);
			add(&p->long_tsc, d);
			add(&p->long_rx, p->cur_rx);
			add(&p->long_by_stage[worst], 1);
			if (csw != p->last_csw) {
				add(&p->long_switched, 1);
				add(&p->switches, (uint64_t)(csw - p->last_csw));
				p->last_csw = csw;
			}
		}
	}
	memset(p->cur, 0, sizeof(p->cur));
	p->cur_rx = 0;
	p->worked = false;
	p->top_tsc = now;
	p->stage_start = now;
}
