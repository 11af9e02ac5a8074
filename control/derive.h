/*
 * derive.h - numbers computed from a dataplane snapshot (wirecache/cpshm.h):
 * counters by name summed over lcores, the store's totals from the
 * partitions, memcached's "stats" fields (the same formulas as the
 * dataplane's stats.c, so the three views agree), merged histograms.
 */
#ifndef WC_CONTROL_DERIVE_H
#define WC_CONTROL_DERIVE_H

#include <stdint.h>

#include "wirecache/cpshm.h"

/* The index of a counter, or -1 when the dataplane does not export it. */
int cp_counter_index(const struct wc_cp_shm *s, const char *name);

/* A counter summed over every lcore, less the "stats reset" baseline. */
uint64_t cp_total(const struct wc_cp_shm *s, const char *name);
/* The same without the baseline: never goes down while the dataplane runs. */
uint64_t cp_total_raw(const struct wc_cp_shm *s, const char *name);
/* One lcore's counter. */
uint64_t cp_lcore(const struct wc_cp_shm *s, unsigned lc, const char *name);

/* Every store operation (op_* counters), raw, of one lcore or (lc < 0) all. */
uint64_t cp_ops_raw(const struct wc_cp_shm *s, int lc);

/*
 * An lcore's busy ratio between two snapshots (busy TSC cycles over all its
 * loop's cycles, dataplane/core/busy.h): 0..1, or -1 when no cycles passed
 * (an lcore not running yet, a dataplane that restarted in between).
 */
double cp_busy_ratio(const struct wc_cp_lcore_snap *now, const struct wc_cp_lcore_snap *then);

/* An lcore's busy time since the dataplane started, in seconds (0 without tsc_hz). */
double cp_busy_seconds(const struct wc_cp_shm *s, unsigned lc);

struct cp_store_totals {
	uint64_t items, bytes, limit, total_items;
	uint64_t evictions, evicted_unfetched, expirations, reclaimed, relocations;
	uint64_t index;		/* bytes of the hash indexes, part of the limit */
};

/*
 * Memory in use, as Redis's used_memory counts it: the items plus the index
 * that holds them. The memory alert compares this with the limit: item
 * bytes alone level off near 88% of the limit when the store is full and
 * evicting (the index and the logs' working room are the rest), so a 90%
 * rule on them would never fire.
 */
static inline uint64_t cp_memory_in_use(const struct cp_store_totals *t)
{
	return t->bytes + t->index;
}

/* Partition figures summed over all partitions, or (lc >= 0) those lc owns. */
void cp_store_totals(const struct wc_cp_shm *s, int lc, struct cp_store_totals *t);

struct cp_stat {
	char name[48];
	uint64_t value;
};

/*
 * memcached's general "stats" as this dataplane reports them (cmd_get,
 * get_hits, curr_items, bytes ...), plus its own counters (drops, TCP).
 * Returns how many were written.
 */
unsigned cp_memcached_stats(const struct wc_cp_shm *s, struct cp_stat *out, unsigned max);

/* Latency histogram of one lcore or (lc < 0) all of them merged. */
void cp_hist(const struct wc_cp_shm *s, int lc, struct wc_hist *out);

/* out = now - then, bucket by bucket (then may be older, same dataplane). */
void cp_hist_delta(const struct wc_hist *now, const struct wc_hist *then, struct wc_hist *out);

/* A quantile in microseconds. */
double cp_hist_us(const struct wc_hist *h, double q);

#endif
