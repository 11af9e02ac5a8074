/*
 * stats.h - counters summed over every lcore and partition (see stats.c).
 */
#ifndef WC_CORE_STATS_H
#define WC_CORE_STATS_H

#include <stddef.h>

#include "core/app.h"
#include "net/tcp.h"

struct wc_totals {
	struct wc_stats op;		/* store operations, summed over lcores */
	struct wc_netstats net;		/* packets, summed over lcores */
	struct wc_tcp_stats tcp;	/* TCP, summed over lcores */
	struct mc_sess_stats sess;	/* protocol sessions, summed over lcores */
	uint64_t upload_bytes, upload_in_use, uploads_staged, upload_waits;	/* stage pools */
	uint64_t items, bytes, limit, total_items;
	uint64_t evictions, evicted_unfetched, expirations, reclaimed, relocations;
};

void wc_stats_collect(struct wc_app *app, struct wc_totals *t);
/* memcached's "stats reset" (also Redis's CONFIG RESETSTAT): new baselines for op, net and
 * the partitions' item counters (total_items, evictions, expirations, reclaimed). */
void wc_stats_reset(struct wc_app *app);
void wc_stats_telemetry_register(struct wc_app *app);
void wc_stats_log_line(struct wc_app *app, char *buf, size_t len);

/* the memcached "stats" command (mc_env.stats) */
bool wc_stats_memcached(struct mc_env *env, const struct mc_tok *arg, struct mc_out *out);

#endif
