/*
 * cpcounters.h - the per-lcore counters the control plane sees, by name:
 * every store operation counter, every packet counter and drop reason, and
 * the TCP counters memcached's "stats" reports, in one fixed order.
 */
#ifndef WC_CORE_CPCOUNTERS_H
#define WC_CORE_CPCOUNTERS_H

#include <stdint.h>

#include "core/app.h"
#include "wirecache/cpshm.h"

/* Describe the counters (names, kinds) into out; returns how many. */
unsigned wc_cp_counters_describe(struct wc_cp_counter_desc *out, unsigned max);

/* One lcore's values, in the described order (relaxed loads: never torn). */
void wc_cp_counters_read(const struct wc_lcore *lc, uint64_t *v, unsigned n);

/* The "stats reset" baseline of the totals, in the same order (0 where none). */
void wc_cp_counters_base(const struct wc_app *app, uint64_t *base, unsigned n);

#endif
