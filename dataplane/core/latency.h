/*
 * latency.h - service latency of every store operation, measured by the
 * worker lcores with the TSC and kept in per-lcore log-linear histograms
 * (wirecache/hist.h) inside the control plane's shared memory.
 *
 * What one sample is: the time from the rx burst that brought a request to
 * the moment its reply is queued for tx. For operations served on the
 * receiving lcore that is measured around wc_net_input: every store
 * operation the packet caused (a multi-get of N keys is N) is one sample of
 * the packet's time. A write that goes to another lcore's partition is one
 * sample from the rx burst to the moment its completion is handed back to
 * the session (the mailbox request's slot remembers the rx time). Queueing
 * inside the NIC before rx_burst is not seen.
 *
 * Nothing allocates, nothing locks: a few loads, one rdtsc per packet that
 * did work, and a bucket increment in this lcore's own histogram. Without a
 * control interface (unit tests, fuzzers) the hooks see NULL and do nothing.
 */
#ifndef WC_CORE_LATENCY_H
#define WC_CORE_LATENCY_H

#include <stdint.h>

#include <rte_cycles.h>

#include "core/app.h"
#include "wirecache/hist.h"

#define WC_LAT_SHIFT 20

struct wc_lat {
	struct wc_hist *h;		/* this lcore's histogram (shared memory) */
	uint64_t mult;			/* ns = (tsc * mult) >> WC_LAT_SHIFT */
	uint64_t rx_tsc;		/* rx time of the packet in hand, 0 = none */
	uint64_t req_start[WC_REQ_POOL];	/* rx time of each mailbox request in flight */
};

/* Per worker lcore, set up by the control interface before the lcores run. */
extern struct wc_lat *wc_lat_lcores[WC_MAX_WORKERS];

/* Point lat at histogram h, converting TSC ticks at tsc_hz. */
void wc_lat_init(struct wc_lat *lat, struct wc_hist *h, uint64_t tsc_hz);

static inline uint64_t wc_lat_ops(const struct wc_stats *st)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < WC_OP_COUNT; i++)
		n += st->ops[i];
	return n;
}

/* n samples of ns each (one writer: this lcore). */
static inline void wc_lat_record(struct wc_lat *lat, uint64_t ns, uint64_t n)
{
	struct wc_hist *h = lat->h;

	h->b[wc_hist_index(ns)] += n;
	if (ns > h->max)
		h->max = ns;
	if (ns < h->min)	/* min starts at UINT64_MAX (wc_lat_init) */
		h->min = ns;
	h->sum += ns * n;
	h->count += n;
}

static inline uint64_t wc_lat_ns(const struct wc_lat *lat, uint64_t from, uint64_t to)
{
	return to > from ? ((to - from) * lat->mult) >> WC_LAT_SHIFT : 0;
}

/*
 * After a packet was handled: the operations it ran here are those since
 * *ops (the count after the previous packet of the burst, or at its start),
 * which is moved on. One sum per packet.
 */
static inline uint64_t wc_lat_ops_since(const struct wc_stats *st, uint64_t *ops)
{
	uint64_t now = wc_lat_ops(st), n = now - *ops;

	*ops = now;
	return n;
}

static inline void wc_lat_packet_done(struct wc_lat *lat, const struct wc_stats *st,
				      uint64_t *ops)
{
	uint64_t n = wc_lat_ops_since(st, ops);

	if (n)
		wc_lat_record(lat, wc_lat_ns(lat, lat->rx_tsc, rte_rdtsc()), n);
}

/* The same with the TSC already read at tsc_now. */
static inline void wc_lat_packet_done_at(struct wc_lat *lat, const struct wc_stats *st,
					 uint64_t *ops, uint64_t tsc_now)
{
	uint64_t n = wc_lat_ops_since(st, ops);

	if (n)
		wc_lat_record(lat, wc_lat_ns(lat, lat->rx_tsc, tsc_now), n);
}

/* A mailbox request (index in the lcore's pool) was taken for a remote write. */
static inline void wc_lat_req_taken(struct wc_lat *lat, unsigned idx)
{
	lat->req_start[idx] = lat->rx_tsc ? lat->rx_tsc : rte_rdtsc();
}

/* Its completion was handed to the session: the reply is queued. */
static inline void wc_lat_req_done(struct wc_lat *lat, unsigned idx)
{
	wc_lat_record(lat, wc_lat_ns(lat, lat->req_start[idx], rte_rdtsc()), 1);
}

#endif
