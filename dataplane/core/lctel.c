/*
 * lctel.c - the telemetry commands /wirecache/lcores and /wirecache/latency
 * (see lctel.h). They run on DPDK's telemetry threads, one per client, so
 * the latency mark is kept under a mutex; nothing here is on the packet path.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "core/latency.h"
#include "core/lctel.h"
#include "core/passes.h"

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

static const char *const stage_names[WC_STAGE_COUNT] = {
	"rx", "mailbox", "polls", "flush", "background", "gap",
};

static uint64_t ns_of(uint64_t tsc, uint64_t hz)
{
	return hz ? (uint64_t)((double)tsc * 1e9 / (double)hz) : 0;
}

/* One figure summed over the lcores (max: their largest). */
static uint64_t pass_sum(size_t off, bool max)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < tel_app->nworkers && i < WC_MAX_WORKERS; i++) {
		uint64_t x = load((const uint64_t *)((const char *)&wc_passes_lcores[i] + off));

		v = max ? (x > v ? x : v) : v + x;
	}
	return v;
}

#define PSUM(f) pass_sum(offsetof(struct wc_passes, f), false)
#define PMAX(f) pass_sum(offsetof(struct wc_passes, f), true)

static int tel_passes(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t hz = rte_get_tsc_hz();
	char key[40];

	(void)cmd;
	if (params && strcmp(params, "reset") == 0) {
		for (unsigned i = 0; i < tel_app->nworkers && i < WC_MAX_WORKERS; i++)
			__atomic_store_n(&wc_passes_lcores[i].reset, true, __ATOMIC_RELAXED);
	} else if (params && *params) {
		return -1;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "long_us", WC_PASS_LONG_US);
	for (unsigned n = 1; n <= WC_RX_BURST; n++) {
		uint64_t c = PSUM(bursts[n]), t = PSUM(burst_tsc[n]);

		snprintf(key, sizeof(key), "bursts_%u", n);
		rte_tel_data_add_dict_u64(d, key, c);
		snprintf(key, sizeof(key), "burst_mean_ns_%u", n);
		rte_tel_data_add_dict_u64(d, key, c ? ns_of(t, hz) / c : 0);
	}
	for (unsigned b = 0; b < WC_PASS_HIST; b++) {
		snprintf(key, sizeof(key), "passes_ge_%uus", b ? 1u << (b - 1) : 0);
		rte_tel_data_add_dict_u64(d, key, PSUM(hist[b]));
	}
	for (unsigned s = 0; s < WC_STAGE_COUNT; s++) {
		snprintf(key, sizeof(key), "stage_ns_%s", stage_names[s]);
		rte_tel_data_add_dict_u64(d, key, ns_of(PSUM(stage_tsc[s]), hz));
		snprintf(key, sizeof(key), "stage_max_ns_%s", stage_names[s]);
		rte_tel_data_add_dict_u64(d, key, ns_of(PMAX(stage_max_tsc[s]), hz));
		snprintf(key, sizeof(key), "long_by_%s", stage_names[s]);
		rte_tel_data_add_dict_u64(d, key, PSUM(long_by_stage[s]));
	}
	rte_tel_data_add_dict_u64(d, "passes", PSUM(passes));
	rte_tel_data_add_dict_u64(d, "long_passes", PSUM(long_passes));
	rte_tel_data_add_dict_u64(d, "long_ns", ns_of(PSUM(long_tsc), hz));
	rte_tel_data_add_dict_u64(d, "long_rx", PSUM(long_rx));
	rte_tel_data_add_dict_u64(d, "long_switched", PSUM(long_switched));
	rte_tel_data_add_dict_u64(d, "switches", PSUM(switches));
	rte_tel_data_add_dict_u64(d, "max_pass_ns", ns_of(PMAX(max_pass_tsc), hz));
	rte_tel_data_add_dict_u64(d, "slow_us", WC_PASS_SLOW_US);
	rte_tel_data_add_dict_u64(d, "slow_frames", PSUM(slow_frames));
	rte_tel_data_add_dict_u64(d, "slow_frame_ns", ns_of(PSUM(slow_frame_tsc), hz));
	rte_tel_data_add_dict_u64(d, "slow_frame_max_ns", ns_of(PMAX(slow_frame_max_tsc), hz));
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
	rte_telemetry_register_cmd("/wirecache/passes", tel_passes,
				   "Worker passes: rx burst sizes and their service time, pass "
				   "durations, stages, long passes. Parameter: reset (zero them).");
}
