/*
 * sampler.h - what the control plane remembers between snapshots: one
 * history point per sample (rates over the last interval, for the charts),
 * cumulative figures for the sliding alert window, and the alerts' state.
 * The main loop adds a sample every interval; HTTP threads read under mu.
 */
#ifndef WC_CONTROL_SAMPLER_H
#define WC_CONTROL_SAMPLER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "alerts.h"
#include "wirecache/cpshm.h"

#define CP_HISTORY 600		/* points kept (10 minutes at 1 s) */

struct cp_point {
	int64_t t_ms;
	double ops_s, gets_s, sets_s;
	double hit_rate;		/* < 0: no gets in the interval */
	double evictions_s, rx_pps, tx_pps;
	double rx_bytes_s, tx_bytes_s;	/* frames in and out, Ethernet header included */
	uint64_t mem_bytes, mem_limit, items;
	double p50_us, p95_us, p99_us, p999_us;
	unsigned nlc;
	float lc_ops_s[WC_CP_MAX_LCORES];
	float lc_hit_rate[WC_CP_MAX_LCORES];
	float lc_p99_us[WC_CP_MAX_LCORES];
	float lc_busy[WC_CP_MAX_LCORES];	/* busy ratio over the interval, < 0: unknown */
};

struct cp_window {
	double secs;			/* 0 until two samples exist */
	double ops_s;
	double hit_rate;		/* < 0: no gets */
	uint64_t gets;
	double evictions_s, evictions_s_prev;
	bool have_prev;
	double p50_us, p95_us, p99_us, p999_us;
	uint64_t samples;
	double memory_ratio;
};

struct cp_cum;

struct sampler {
	pthread_mutex_t mu;
	struct cp_alert_rules rules;
	unsigned window;		/* samples per window */
	char node[64];
	struct cp_point *points;
	unsigned npoints, next;
	struct cp_cum *cum;
	unsigned ncum, cnext, cmax;
	struct wc_cp_shm *prev;
	bool have_prev;
	struct cp_window win;
	struct cp_alert alerts[CP_ALERT_COUNT];
	uint64_t samples;
};

int sampler_init(struct sampler *s, const struct cp_alert_rules *r, unsigned window,
		 const char *node);
void sampler_free(struct sampler *s);

/* A different dataplane (restart): its counters began again. */
void sampler_reset(struct sampler *s);

/* Add a snapshot taken now; logs alert changes to stderr. */
void sampler_add(struct sampler *s, const struct wc_cp_shm *now);

/* The i-th newest point (0 = newest), or NULL; call with mu held. */
const struct cp_point *sampler_point(const struct sampler *s, unsigned i);

#endif
