/*
 * lctel.h - DPDK telemetry of the worker lcores' own figures, for tools that
 * read a dataplane running without a control plane (tools/bench/netbench.py):
 *
 *   /wirecache/lcores    tsc_hz, and per lcore i busy_tsc_<i>, total_tsc_<i>
 *                        (core/busy.h), ops_<i> (store operations); plus
 *                        their sums busy_tsc, total_tsc, ops and busy_ns
 *   /wirecache/latency   service-time quantiles (core/latency.h) summed over
 *                        the lcores since the last mark: count, mean_ns,
 *                        p50_ns, p99_ns, p999_ns. With the parameter "mark"
 *                        it sets the mark (the histograms as they are now).
 *                        Histograms exist only while the control interface
 *                        runs (--control-socket): count stays 0 without it.
 *   /wirecache/passes    the worker passes' profile (core/passes.h), summed
 *                        over the lcores: rx bursts by size and their mean
 *                        service time, pass durations, cycles by stage, the
 *                        long passes and what they did. With the parameter
 *                        "reset" the lcores zero it at their next pass.
 */
#ifndef WC_CORE_LCTEL_H
#define WC_CORE_LCTEL_H

#include "core/app.h"
#include "wirecache/hist.h"

void wc_lctel_register(struct wc_app *app);

/* The sum of every lcore's latency histogram (relaxed loads), into out. */
void wc_lctel_lat_sum(const struct wc_app *app, struct wc_hist *out);

/* out = now - mark, bucket by bucket (a bucket never goes below 0); out->max caps quantiles. */
void wc_lctel_hist_since(const struct wc_hist *now, const struct wc_hist *mark,
			 struct wc_hist *out);

#endif
