/*
 * passes.h - where a worker lcore's time goes, pass by pass: the sizes of
 * its rx bursts and how long each size took to serve, how long its passes
 * took, and for the long ones (over WC_PASS_LONG_US) which stage of the
 * pass took the most and whether the thread was switched out meanwhile
 * (getrusage's context switch counts, read only after a long pass: a
 * switch in a shorter pass is counted with the next long one). For
 * telling a service-time tail made by our own work (a big burst, a
 * periodic task) from one made by the machine (preemption, steal):
 * telemetry /wirecache/passes (core/lctel.h) shows the sums.
 *
 * One writer, the lcore; the telemetry thread loads the counters relaxed.
 * A few TSC reads a pass (one per stage); nothing allocates, nothing locks.
 */
#ifndef WC_CORE_PASSES_H
#define WC_CORE_PASSES_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_cycles.h>

#include "core/app.h"

#define WC_PASS_LONG_US 10
#define WC_PASS_SLOW_US 5	/* one frame (not a staged GET) this long holds up its burst */
#define WC_PASS_HIST 12		/* pass durations: < 1 us, then doubling, the last >= 1024 us */

enum wc_pass_stage {
	WC_STAGE_RX,		/* rx bursts and their packets, bus drains */
	WC_STAGE_MAILBOX,	/* requests from other lcores, completions of ours */
	WC_STAGE_POLLS,		/* UDP retries, TCP timers, links, replication, push frames */
	WC_STAGE_FLUSH,		/* tx bursts */
	WC_STAGE_BACKGROUND,	/* slot moves, Redis rate samples, the store's maintenance */
	WC_STAGE_GAP,		/* after the pass: RCU, pause or sleep */
	WC_STAGE_COUNT
};

struct wc_passes {
	uint64_t bursts[WC_RX_BURST + 1];	/* rx bursts by size (index 0 unused) */
	uint64_t burst_tsc[WC_RX_BURST + 1];	/* rx to the burst handled, summed by size */
	uint64_t passes;			/* every pass settled */
	uint64_t hist[WC_PASS_HIST];		/* passes that did work, by duration */
	uint64_t stage_tsc[WC_STAGE_COUNT];	/* every pass's cycles, by stage */
	uint64_t stage_max_tsc[WC_STAGE_COUNT];	/* the longest single stage */
	uint64_t long_passes;			/* passes over WC_PASS_LONG_US */
	uint64_t long_tsc;			/* their cycles */
	uint64_t long_rx;			/* packets they received */
	uint64_t long_by_stage[WC_STAGE_COUNT];	/* each counted at its longest stage */
	uint64_t long_switched;			/* of them, passes the thread was switched out in */
	uint64_t switches;			/* context switches seen (voluntary + not) */
	uint64_t max_pass_tsc;
	uint64_t slow_frames;			/* frames off the GET fast path over WC_PASS_SLOW_US */
	uint64_t slow_frame_tsc;		/* their cycles */
	uint64_t slow_frame_max_tsc;
	/* the pass in hand (lcore-private) */
	uint64_t stage_start;			/* TSC at the start of the stage in hand */
	uint64_t cur[WC_STAGE_COUNT];
	uint64_t top_tsc;			/* the pass's top */
	unsigned cur_rx;
	bool worked;				/* the pass in hand did work */
	uint64_t long_tsc_min;			/* WC_PASS_LONG_US in cycles */
	uint64_t slow_tsc_min;			/* WC_PASS_SLOW_US in cycles */
	uint64_t us_tsc;			/* one microsecond in cycles */
	long last_csw;				/* getrusage's switches at the last look */
	bool reset;				/* asked by telemetry: zero the counters */
};

extern struct wc_passes wc_passes_lcores[WC_MAX_WORKERS];

void wc_passes_init(struct wc_passes *p, uint64_t tsc_hz);

/* The top of a pass at TSC now: settle the previous one (its gap stage ends here). */
void wc_passes_top(struct wc_passes *p, uint64_t now);

/* The stage in hand ends now: its cycles go to stage s. */
static inline void wc_passes_stage(struct wc_passes *p, enum wc_pass_stage s)
{
	uint64_t now = rte_rdtsc();

	p->cur[s] += now - p->stage_start;
	p->stage_start = now;
}

/* An rx burst of n (1..WC_RX_BURST) received at rx_tsc is handled now. */
static inline void wc_passes_burst(struct wc_passes *p, unsigned n, uint64_t rx_tsc)
{
	p->bursts[n]++;
	p->burst_tsc[n] += rte_rdtsc() - rx_tsc;
	p->cur_rx += n;
}

/* A frame off the GET fast path took from start to now (TSC). */
static inline void wc_passes_frame(struct wc_passes *p, uint64_t start, uint64_t now)
{
	uint64_t d = now - start;

	if (d < p->slow_tsc_min || !p->slow_tsc_min)
		return;
	p->slow_frames++;
	p->slow_frame_tsc += d;
	if (d > p->slow_frame_max_tsc)
		p->slow_frame_max_tsc = d;
}

#endif
