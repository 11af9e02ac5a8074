/*
 * report.c - what the load generator tells: a progress line each second
 * (ops/s, errors, p99 so far), and at the end a human summary and the same
 * as JSON (throughput, hit ratio, errors, value checks, latency
 * percentiles p50/p90/p99/p99.9/max from the merged histograms).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "lg.h"

static void add(struct lg_counters *t, const struct lg_counters *k)
{
	const uint64_t *s = (const uint64_t *)k;
	uint64_t *d = (uint64_t *)t;

	for (size_t i = 0; i < sizeof(*k) / sizeof(uint64_t); i++)
		d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

void lg_totals(struct lg_run *run, struct lg_counters *t, struct wc_hist *h)
{
	memset(t, 0, sizeof(*t));
	if (h)
		wc_hist_reset(h);
	for (unsigned i = 0; i < run->nworkers; i++) {
		add(t, &run->w[i]->cnt);
		if (h)
			wc_hist_merge(h, &run->w[i]->hist);
	}
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

void lg_progress(struct lg_run *run, double t)
{
	static struct wc_hist h;
	struct lg_counters now;
	double dt = t - run->last_t;

	lg_totals(run, &now, &h);
	if (!run->cfg.quiet && dt > 0)
		fprintf(stderr, "[%5.1fs] %10.0f ops/s  errors %lu  timeouts %lu  p99 %.1f us\n", t,
			(double)(now.done - run->last.done) / dt, (unsigned long)now.errors,
			(unsigned long)now.timeouts, us(wc_hist_quantile(&h, 0.99)));
	run->last = now;
	run->last_t = t;
}

static const char *transport_name(const struct lg_cfg *c)
{
	switch (c->transport) {
	case LG_UDP:
		return "udp";
	case LG_TCP:
		return "tcp";
	case LG_ECHO:
		return "echo";
	default:
		return c->proto == LG_REDIS ? "socket-redis" : "socket-memcached";
	}
}

int lg_summary(struct lg_run *run, double seconds)
{
	static struct wc_hist h;
	struct lg_counters t;
	const struct lg_cfg *c = &run->cfg;
	double ops, hit_ratio;
	const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	const char *qn[] = { "p50_us", "p90_us", "p99_us", "p999_us" };
	json_t *j, *lat;

	lg_totals(run, &t, &h);
	ops = seconds > 0 ? (double)h.count / seconds : 0;
	hit_ratio = t.gets ? (double)t.hits / (double)t.gets : 0;
	printf("wirecache-loadgen %s: %.0f ops/s over %.1f s (%lu measured, %lu total)\n",
	       transport_name(c), ops, seconds, (unsigned long)h.count, (unsigned long)t.done);
	printf("  gets %lu  sets %lu  hit ratio %.3f  errors %lu  timeouts %lu\n",
	       (unsigned long)t.gets, (unsigned long)t.sets, hit_ratio, (unsigned long)t.errors,
	       (unsigned long)t.timeouts);
	printf("  values checked %lu, wrong %lu", (unsigned long)t.verified,
	       (unsigned long)t.verify_failed);
	if (c->rate > 0)
		printf("  (open loop at %.0f/s, %lu sends found every flow busy)", c->rate,
		       (unsigned long)t.backlog);
	printf("\n  latency us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
	       us(wc_hist_quantile(&h, 0.5)), us(wc_hist_quantile(&h, 0.9)),
	       us(wc_hist_quantile(&h, 0.99)), us(wc_hist_quantile(&h, 0.999)), us(h.max));
	if (!c->json_path)
		return 0;
	lat = json_object();
	for (unsigned i = 0; i < 4; i++)
		json_object_set_new(lat, qn[i], json_real(us(wc_hist_quantile(&h, qs[i]))));
	json_object_set_new(lat, "max_us", json_real(us(h.max)));
	json_object_set_new(lat, "mean_us", json_real(h.count ? us(h.sum / h.count) : 0));
	j = json_pack("{s:s, s:s, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, "
		      "s:I, s:I, s:f, s:I, s:i, s:i, s:I, s:o}",
		      "label", c->label ? c->label : "", "transport", transport_name(c),
		      "ops_per_sec", ops, "seconds", seconds, "measured", (json_int_t)h.count,
		      "requests", (json_int_t)t.done, "gets", (json_int_t)t.gets,
		      "sets", (json_int_t)t.sets, "hits", (json_int_t)t.hits,
		      "hit_ratio", hit_ratio, "errors", (json_int_t)t.errors,
		      "timeouts", (json_int_t)t.timeouts, "verified", (json_int_t)t.verified,
		      "verify_failed", (json_int_t)t.verify_failed, "backlog", (json_int_t)t.backlog,
		      "conn_failed", (json_int_t)t.conn_failed, "rate", c->rate,
		      "keys", (json_int_t)c->keys, "flows", (int)c->flows, "depth", (int)c->depth,
		      "get_pct", (json_int_t)c->get_pct, "latency", lat);
	if (!j || json_dump_file(j, c->json_path, JSON_INDENT(2)) != 0) {
		fprintf(stderr, "wirecache-loadgen: cannot write %s\n", c->json_path);
		json_decref(j);
		return -1;
	}
	json_decref(j);
	return 0;
}
