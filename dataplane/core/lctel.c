/*
 * lctel.c - the telemetry commands /wirecache/lcores and /wirecache/latency
 * (see lctel.h). They run on DPDK's telemetry threads, one per client, so
 * the latency mark is kept under a mutex; nothing here is on the packet path.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "core/latency.h"
#include "core/lctel.h"

static struct wc_app *tel_app;
static pthread_mutex_t mark_mu = PTHREAD_MUTEX_INITIALIZER;
static struct wc_hist mark_hist, now_hist, since_hist;	/* under mark_mu */

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void wc_lctel_lat_sum(const struct wc_app *app, struct wc_hist *out)
{
	wc_hist_reset(out);
	for (unsigned i = 0; i < app->nworkers && i < WC_MAX_WORKERS; i++) {
		const struct wc_lat *lat = wc_lat_lcores[i];

		if (!lat || !lat->h)
			continue;
		for (unsigned k = 0; k < WC_HIST_BUCKETS; k++)
			out->b[k] += load(&lat->h->b[k]);
		out->count += load(&lat->h->count);
		out->sum += load(&lat->h->sum);
		if (load(&lat->h->max) > out->max)
			out->max = load(&lat->h->max);
	}
}

void wc_lctel_hist_since(const struct wc_hist *now, const struct wc_hist *mark,
			 struct wc_hist *out)
{
	wc_hist_reset(out);
	for (unsigned k = 0; k < WC_HIST_BUCKETS; k++) {
		out->b[k] = now->b[k] >= mark->b[k] ? now->b[k] - mark->b[k] : 0;
		out->count += out->b[k];
	}
	out->sum = now->sum >= mark->sum ? now->sum - mark->sum : 0;
	out->max = now->max;
}

static int tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t busy = 0, total = 0, ops = 0, hz = rte_get_tsc_hz();

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "tsc_hz", hz);
	rte_tel_data_add_dict_u64(d, "lcores", tel_app->nworkers);
	for (unsigned i = 0; i < tel_app->nworkers; i++) {
		const struct wc_lcore *lc = tel_app->lc[i];
		uint64_t b = load(&lc->busy.busy_tsc), t = load(&lc->busy.total_tsc), n = 0;
		char key[32];

		for (unsigned k = 0; k < WC_OP_COUNT; k++)
			n += load(&lc->ctx.st.ops[k]);
		snprintf(key, sizeof(key), "busy_tsc_%u", i);
		rte_tel_data_add_dict_u64(d, key, b);
		snprintf(key, sizeof(key), "total_tsc_%u", i);
		rte_tel_data_add_dict_u64(d, key, t);
		snprintf(key, sizeof(key), "ops_%u", i);
		rte_tel_data_add_dict_u64(d, key, n);
		busy += b;
		total += t;
		ops += n;
	}
	rte_tel_data_add_dict_u64(d, "busy_tsc", busy);
	rte_tel_data_add_dict_u64(d, "total_tsc", total);
	rte_tel_data_add_dict_u64(d, "ops", ops);
	rte_tel_data_add_dict_u64(d, "busy_ns", hz ? (uint64_t)((double)busy * 1e9 / (double)hz)
						   : 0);
	return 0;
}

static int tel_latency(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	pthread_mutex_lock(&mark_mu);
	wc_lctel_lat_sum(tel_app, &now_hist);
	rte_tel_data_start_dict(d);
	if (params && strcmp(params, "mark") == 0) {
		mark_hist = now_hist;
		rte_tel_data_add_dict_u64(d, "marked", now_hist.count);
	} else if (params && *params) {
		pthread_mutex_unlock(&mark_mu);
		return -1;	/* telemetry answers null: an unknown parameter */
	} else {
		wc_lctel_hist_since(&now_hist, &mark_hist, &since_hist);
		rte_tel_data_add_dict_u64(d, "count", since_hist.count);
		rte_tel_data_add_dict_u64(d, "mean_ns", since_hist.count ? since_hist.sum /
									     since_hist.count : 0);
		rte_tel_data_add_dict_u64(d, "p50_ns", wc_hist_quantile(&since_hist, 0.50));
		rte_tel_data_add_dict_u64(d, "p99_ns", wc_hist_quantile(&since_hist, 0.99));
		rte_tel_data_add_dict_u64(d, "p999_ns", wc_hist_quantile(&since_hist, 0.999));
	}
	pthread_mutex_unlock(&mark_mu);
	return 0;
}

void wc_lctel_register(struct wc_app *app)
{
	tel_app = app;
	rte_telemetry_register_cmd("/wirecache/lcores", tel_lcores,
				   "Per worker lcore: busy and total TSC cycles, store operations. "
				   "No parameters.");
	rte_telemetry_register_cmd("/wirecache/latency", tel_latency,
				   "Service-time quantiles since the mark. Parameter: mark (set it).");
}
