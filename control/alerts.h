/*
 * alerts.h - the control plane's alert rules, evaluated once per sample
 * over a sliding window (10 s by default):
 *
 *   hit_rate     get hit rate under hit_rate_min (with at least min_gets gets)
 *   memory       memory used over memory_max of the limit
 *   evictions    evictions per second at least evict_min and rising: at least
 *                evict_growth times the window before; it resolves when the
 *                rate falls (below the window before) or under evict_min
 *   latency_p99  p99 service latency over p99_max_us (with at least
 *                min_samples operations in the window)
 *
 * A rule fires and resolves on its own; each change is reported once, for
 * the log, and the state (since when, value, threshold) is kept for the API.
 */
#ifndef WC_CONTROL_ALERTS_H
#define WC_CONTROL_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

enum cp_alert_id { CP_ALERT_HIT_RATE, CP_ALERT_MEMORY, CP_ALERT_EVICTIONS, CP_ALERT_P99,
		   CP_ALERT_REPLICATION, CP_ALERT_COUNT };

struct cp_alert_rules {
	double hit_rate_min;	/* 0.80 */
	uint64_t min_gets;	/* 100 */
	double memory_max;	/* 0.90 */
	double evict_min;	/* 1 eviction/s */
	double evict_growth;	/* 1.5 */
	double p99_max_us;	/* 1000 */
	uint64_t min_samples;	/* 100 */
	double repl_lag_max_s;	/* 10: a replica this far behind, or a link down this long */
};

void cp_alert_rules_default(struct cp_alert_rules *r);

/* What the rules look at: one window, and the window before it. */
struct cp_alert_input {
	uint64_t gets;			/* hits + misses in the window */
	double hit_rate;		/* of those */
	double memory_ratio;		/* in use (items + index) / limit, now */
	double evict_rate, evict_rate_prev;	/* per second: this window, the one before */
	bool have_prev;			/* a full window before exists */
	double p99_us;
	uint64_t samples;		/* latency samples in the window */
	/* replication (the dataplane's repl_* / replica_* gauges) */
	uint64_t replicas;		/* this master's replicas */
	uint64_t repl_max_lag_s;	/* the longest since a replica's last acknowledgement */
	bool is_replica, link_up;	/* this node replicates a master; its link is up */
	uint64_t link_down_s;		/* how long its link has been down */
};

struct cp_alert {
	const char *name;
	bool firing;
	int64_t since_ms;		/* when it last changed state (0: never) */
	double value, threshold;
	char message[160];
};

void cp_alerts_init(struct cp_alert *a);

/*
 * Evaluate every rule at now_ms. For each alert whose state changed,
 * changed[i] is set (the caller logs it). Returns how many changed.
 */
unsigned cp_alerts_eval(struct cp_alert *a, const struct cp_alert_rules *r,
			const struct cp_alert_input *in, int64_t now_ms, bool *changed);

#endif
