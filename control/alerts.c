/*
 * alerts.c - alert rules (see alerts.h).
 */
#include <stdio.h>
#include <string.h>

#include "alerts.h"

static const char *const names[CP_ALERT_COUNT] = {
	[CP_ALERT_HIT_RATE] = "hit_rate",
	[CP_ALERT_MEMORY] = "memory",
	[CP_ALERT_EVICTIONS] = "evictions",
	[CP_ALERT_P99] = "latency_p99",
	[CP_ALERT_REPLICATION] = "replication",
};

void cp_alert_rules_default(struct cp_alert_rules *r)
{
	r->hit_rate_min = 0.80;
	r->min_gets = 100;
	r->memory_max = 0.90;
	r->evict_min = 1.0;
	r->evict_growth = 1.5;
	r->p99_max_us = 1000.0;
	r->min_samples = 100;
	r->repl_lag_max_s = 10.0;
}

void cp_alerts_init(struct cp_alert *a)
{
	for (unsigned i = 0; i < CP_ALERT_COUNT; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].name = names[i];
		snprintf(a[i].message, sizeof(a[i].message), "ok");
	}
}

static bool set(struct cp_alert *a, bool firing, double value, double threshold, int64_t now,
		const char *msg)
{
	bool changed = a->firing != firing;

	a->value = value;
	a->threshold = threshold;
	snprintf(a->message, sizeof(a->message), "%s", msg);
	if (changed) {
		a->firing = firing;
		a->since_ms = now;
	}
	return changed;
}

unsigned cp_alerts_eval(struct cp_alert *a, const struct cp_alert_rules *r,
			const struct cp_alert_input *in, int64_t now_ms, bool *changed)
{
	char msg[160];
	bool fire;
	unsigned n = 0;

	memset(changed, 0, CP_ALERT_COUNT * sizeof(*changed));
	/* hit rate */
	fire = in->gets >= r->min_gets && in->hit_rate < r->hit_rate_min;
	if (in->gets >= r->min_gets)
		snprintf(msg, sizeof(msg), "hit rate %.1f%% over %lu gets (alert under %.1f%%)",
			 in->hit_rate * 100, (unsigned long)in->gets, r->hit_rate_min * 100);
	else
		snprintf(msg, sizeof(msg), "too few gets to judge (%lu, need %lu)",
			 (unsigned long)in->gets, (unsigned long)r->min_gets);
	n += changed[CP_ALERT_HIT_RATE] = set(&a[CP_ALERT_HIT_RATE], fire, in->hit_rate,
					      r->hit_rate_min, now_ms, msg);
	/* memory */
	fire = in->memory_ratio > r->memory_max;
	snprintf(msg, sizeof(msg), "memory in use (items + index) %.1f%% of the limit (alert over %.1f%%)",
		 in->memory_ratio * 100, r->memory_max * 100);
	n += changed[CP_ALERT_MEMORY] = set(&a[CP_ALERT_MEMORY], fire, in->memory_ratio,
					    r->memory_max, now_ms, msg);
	/* evictions rising */
	if (a[CP_ALERT_EVICTIONS].firing)
		fire = in->evict_rate >= r->evict_min && in->evict_rate >= in->evict_rate_prev;
	else
		fire = in->have_prev && in->evict_rate >= r->evict_min &&
		       in->evict_rate >= r->evict_growth * in->evict_rate_prev;
	snprintf(msg, sizeof(msg), "%.1f evictions/s, %.1f/s the window before (alert from "
		 "%.1f/s when rising %.1fx)", in->evict_rate, in->evict_rate_prev, r->evict_min,
		 r->evict_growth);
	n += changed[CP_ALERT_EVICTIONS] = set(&a[CP_ALERT_EVICTIONS], fire, in->evict_rate,
					       r->evict_min, now_ms, msg);
	/* p99 */
	fire = in->samples >= r->min_samples && in->p99_us > r->p99_max_us;
	if (in->samples >= r->min_samples)
		snprintf(msg, sizeof(msg), "p99 %.1f us over %lu operations (alert over %.1f us)",
			 in->p99_us, (unsigned long)in->samples, r->p99_max_us);
	else
		snprintf(msg, sizeof(msg), "too few operations to judge (%lu, need %lu)",
			 (unsigned long)in->samples, (unsigned long)r->min_samples);
	n += changed[CP_ALERT_P99] = set(&a[CP_ALERT_P99], fire, in->p99_us, r->p99_max_us,
					 now_ms, msg);
	/* replication: a replica lagging, or this replica's link to its master down */
	if (in->is_replica && !in->link_up) {
		fire = (double)in->link_down_s > r->repl_lag_max_s;
		snprintf(msg, sizeof(msg), "the link to the master has been down %lu s (alert over "
			 "%.0f s)", (unsigned long)in->link_down_s, r->repl_lag_max_s);
		n += changed[CP_ALERT_REPLICATION] = set(&a[CP_ALERT_REPLICATION], fire,
							 (double)in->link_down_s,
							 r->repl_lag_max_s, now_ms, msg);
	} else {
		fire = in->replicas > 0 && (double)in->repl_max_lag_s > r->repl_lag_max_s;
		if (in->is_replica)
			snprintf(msg, sizeof(msg), "following the master's stream");
		else if (in->replicas)
			snprintf(msg, sizeof(msg), "%lu replica(s), the furthest behind last "
				 "acknowledged %lu s ago (alert over %.0f s)",
				 (unsigned long)in->replicas, (unsigned long)in->repl_max_lag_s,
				 r->repl_lag_max_s);
		else
			snprintf(msg, sizeof(msg), "no replicas");
		n += changed[CP_ALERT_REPLICATION] = set(&a[CP_ALERT_REPLICATION], fire,
							 (double)in->repl_max_lag_s,
							 r->repl_lag_max_s, now_ms, msg);
	}
	return n;
}
