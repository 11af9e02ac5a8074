/*
 * busy.h - how busy a worker lcore is, counted the way DPDK applications
 * report lcore busy percentage: TSC cycles of the poll passes that did work
 * (received, sent, ran timers, served the mailbox ...) against all cycles
 * the loop ran, idle passes, pauses and sleeps included.
 *
 * One TSC read per pass, at its top: the cycles since the previous top
 * belong to the previous pass (and to the pause or sleep that followed it,
 * which only an idle pass has), so they count as busy when that pass did
 * work. One writer (the lcore); readers on other threads load the totals
 * relaxed, as every other per-lcore counter.
 */
#ifndef WC_CORE_BUSY_H
#define WC_CORE_BUSY_H

#include <stdbool.h>
#include <stdint.h>

struct wc_busy {
	uint64_t busy_tsc;		/* cycles of passes that did work */
	uint64_t total_tsc;		/* all cycles since the first pass */
	uint64_t last_tsc;		/* top of the pass in hand, 0 before the first */
	bool worked;			/* the pass in hand did work */
};

/* The top of a pass at TSC now: settle the previous pass. */
static inline void wc_busy_pass_start(struct wc_busy *b, uint64_t now)
{
	if (b->last_tsc && now > b->last_tsc) {
		uint64_t d = now - b->last_tsc;

		__atomic_store_n(&b->total_tsc, b->total_tsc + d, __ATOMIC_RELAXED);
		if (b->worked)
			__atomic_store_n(&b->busy_tsc, b->busy_tsc + d, __ATOMIC_RELAXED);
	}
	b->last_tsc = now;
	b->worked = false;
}

/* The pass in hand did (work != 0) or did not do work. */
static inline void wc_busy_pass_done(struct wc_busy *b, unsigned work)
{
	b->worked = work != 0;
}

#endif
