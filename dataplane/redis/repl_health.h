/*
 * repl_health.h - replication's health in a few gauges, for the control
 * plane's counters (core/cpcounters.c), its replica-lag alert and its
 * dashboard: how far behind this master's replicas are, and whether this
 * replica's link to its master is up.
 */
#ifndef WC_REDIS_REPL_HEALTH_H
#define WC_REDIS_REPL_HEALTH_H

#include <stdint.h>

struct wc_app;

struct rd_repl_health {
	uint64_t replicas;		/* this master's replicas past SYNC/PSYNC */
	uint64_t max_lag_s;		/* the longest time since a replica's last ACK (seconds) */
	uint64_t is_replica;		/* 1: this node replicates a master */
	uint64_t link_up;		/* 1: ... and follows its stream */
	uint64_t link_down_s;		/* seconds its link has been down (0 while up) */
	uint64_t master_last_io_s;	/* seconds since the master was last heard */
};

/* Any thread: the gauges now. */
void rd_repl_health_get(const struct wc_app *app, struct rd_repl_health *h);

/* The node-wide copy cpcounters reads (refreshed by rd_repl_health_get's caller). */
const struct rd_repl_health *rd_repl_health_counters(const struct wc_app *app);

#endif
