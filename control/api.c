/*
 * api.c - JSON documents of the HTTP API (see api.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "derive.h"
#include "slotrange.h"

static const char *const move_states[] = {
	[WC_MOVE_IDLE] = "idle", [WC_MOVE_FREEZING] = "freezing",
	[WC_MOVE_DRAINING] = "draining", [WC_MOVE_COPYING] = "copying",
	[WC_MOVE_SWITCHING] = "switching", [WC_MOVE_DROPPING] = "dropping",
	[WC_MOVE_DONE] = "done", [WC_MOVE_FAILED] = "failed",
};

/* a number, or null for "no data" (negative) */
static json_t *maybe(double v)
{
	return v < 0 || isnan(v) ? json_null() : json_real(v);
}

json_t *cp_api_error(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static json_t *dataplane(const struct wc_cp_shm *now)
{
	return json_pack("{s:I,s:s#,s:I,s:I,s:i,s:i,s:I,s:I,s:s#}", "pid", (json_int_t)now->pid,
			 "version", now->version, (int)strnlen(now->version, sizeof(now->version)),
			 "started", (json_int_t)now->started_unix,
			 "uptime_s", (json_int_t)(time(NULL) - now->started_unix), "workers",
			 (int)now->nworkers, "partitions", (int)now->nparts, "memory_limit",
			 (json_int_t)now->mem_limit, "boot_id", (json_int_t)(now->boot_id >> 1),
			 "socket", now->name, (int)strnlen(now->name, sizeof(now->name)));
}

json_t *cp_api_status(const struct cp_api_ctx *c, const struct wc_cp_shm *now,
		      const struct sampler *s)
{
	json_t *o = json_pack("{s:s,s:b,s:s,s:I,s:I}", "node", c->node, "attached", now != NULL,
			      "socket", c->socket, "samples", (json_int_t)s->samples,
			      "reattaches", (json_int_t)c->reattaches);
	unsigned firing = 0;

	for (unsigned i = 0; i < CP_ALERT_COUNT; i++)
		firing += now && s->alerts[i].firing;
	json_object_set_new(o, "alerts_firing", json_integer(firing));
	if (now) {
		json_object_set_new(o, "dataplane", dataplane(now));
		json_object_set_new(o, "attached_since_ms", json_integer(c->attached_since_ms));
	} else {
		json_object_set_new(o, "error", json_string(c->attach_error));
	}
	return o;
}

static json_t *latency_obj(double p50, double p95, double p99, double p999, uint64_t n)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:I}", "p50", maybe(p50), "p95", maybe(p95), "p99",
			 maybe(p99), "p999", maybe(p999), "samples", (json_int_t)n);
}

static json_t *lcores(const struct wc_cp_shm *now, const struct sampler *s)
{
	const struct cp_point *p = sampler_point(s, 0);
	json_t *a = json_array();

	for (unsigned i = 0; i < now->nworkers; i++) {
		struct cp_store_totals st;
		json_t *parts = json_array();

		cp_store_totals(now, (int)i, &st);
		for (unsigned k = 0; k < now->nparts; k++)
			if (now->part[k].owner == i)
				json_array_append_new(parts, json_integer(k));
		json_array_append_new(a, json_pack(
			"{s:i,s:i,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:o}", "lcore", (int)i,
			"eal_lcore", (int)now->lcore_id[i], "ops_per_s",
			maybe(p ? p->lc_ops_s[i] : 0), "busy_ratio", maybe(p ? p->lc_busy[i] : -1),
			"hit_rate", maybe(p ? p->lc_hit_rate[i] : -1), "p99_us",
			maybe(p ? p->lc_p99_us[i] : -1), "ops", (json_int_t)cp_ops_raw(now, (int)i),
			"memory_bytes", (json_int_t)st.bytes, "memory_limit", (json_int_t)st.limit,
			"items", (json_int_t)st.items, "rx_packets",
			(json_int_t)cp_lcore(now, i, "rx_packets"), "partitions", parts));
	}
	return a;
}

static json_t *partitions(const struct wc_cp_shm *now)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < now->nparts; i++) {
		const struct wc_cp_part_snap *p = &now->part[i];

		json_array_append_new(a, json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:I}", "partition",
						   (int)i, "lcore", (int)p->owner, "items",
						   (json_int_t)p->items, "bytes",
						   (json_int_t)p->bytes, "limit_bytes",
						   (json_int_t)p->limit_bytes, "evictions",
						   (json_int_t)p->evictions, "expirations",
						   (json_int_t)p->expirations));
	}
	return a;
}

json_t *cp_api_stats(const struct cp_api_ctx *c, const struct wc_cp_shm *now,
		     const struct sampler *s)
{
	struct cp_stat st[WC_CP_MAX_COUNTERS + 32];
	unsigned n;
	json_t *o, *stats, *drops, *ignored;
	const struct cp_point *p;
	struct cp_store_totals tot;
	uint64_t in_use;
	struct wc_hist h;

	if (!now)
		return json_pack("{s:s,s:b,s:s}", "node", c->node, "attached", 0, "error",
				 c->attach_error);
	o = json_pack("{s:s,s:b,s:I}", "node", c->node, "attached", 1, "time_ms",
		      (json_int_t)now->published_unix_ms);
	json_object_set_new(o, "dataplane", dataplane(now));
	/* memcached's "stats" numbers, same names */
	stats = json_object();
	drops = json_object();
	ignored = json_object();
	n = cp_memcached_stats(now, st, sizeof(st) / sizeof(st[0]));
	for (unsigned i = 0; i < n; i++) {
		json_object_set_new(stats, st[i].name, json_integer((json_int_t)st[i].value));
		if (strncmp(st[i].name, "drop_", 5) == 0)
			json_object_set_new(drops, st[i].name + 5,
					    json_integer((json_int_t)st[i].value));
		else if (strncmp(st[i].name, "ignored_", 8) == 0)
			json_object_set_new(ignored, st[i].name + 8,
					    json_integer((json_int_t)st[i].value));
	}
	json_object_set_new(o, "stats", stats);
	json_object_set_new(o, "drops", drops);		/* by reason: frames meant for us */
	json_object_set_new(o, "ignored", ignored);	/* by reason: frames not for us */
	cp_store_totals(now, -1, &tot);
	in_use = cp_memory_in_use(&tot);
	json_object_set_new(o, "memory", json_pack("{s:I,s:I,s:f,s:I,s:f}", "used_bytes",
						   (json_int_t)tot.bytes, "limit_bytes",
						   (json_int_t)tot.limit, "used_ratio",
						   tot.limit ? (double)tot.bytes / (double)tot.limit
							     : 0.0,
						   "in_use_bytes", (json_int_t)in_use, "in_use_ratio",
						   tot.limit ? (double)in_use / (double)tot.limit : 0.0));
	/* rates over the last interval, and over the alert window */
	p = sampler_point(s, 0);
	json_object_set_new(o, "rates", p ? json_pack("{s:f,s:f,s:f,s:o,s:f,s:f,s:f,s:f,s:f,s:I}",
						      "ops_per_s", p->ops_s, "gets_per_s",
						      p->gets_s, "sets_per_s", p->sets_s,
						      "hit_rate", maybe(p->hit_rate),
						      "evictions_per_s", p->evictions_s,
						      "rx_packets_per_s", p->rx_pps,
						      "tx_packets_per_s", p->tx_pps,
						      "rx_bytes_per_s", p->rx_bytes_s,
						      "tx_bytes_per_s", p->tx_bytes_s, "time_ms",
						      (json_int_t)p->t_ms)
					  : json_null());
	json_object_set_new(o, "window", json_pack(
		"{s:f,s:f,s:o,s:I,s:f,s:o}", "seconds", s->win.secs, "ops_per_s", s->win.ops_s,
		"hit_rate", maybe(s->win.hit_rate), "gets", (json_int_t)s->win.gets,
		"evictions_per_s", s->win.evictions_s, "latency_us",
		latency_obj(s->win.p50_us, s->win.p95_us, s->win.p99_us, s->win.p999_us,
			    s->win.samples)));
	cp_hist(now, -1, &h);
	json_object_set_new(o, "latency_us", json_pack(
		"{s:o,s:o,s:f,s:f,s:f,s:f,s:I,s:f}", "interval",
		p ? latency_obj(p->p50_us, p->p95_us, p->p99_us, p->p999_us, 0) : json_null(),
		"window",
		latency_obj(s->win.p50_us, s->win.p95_us, s->win.p99_us, s->win.p999_us,
			    s->win.samples),
		"p50", cp_hist_us(&h, 0.5), "p95", cp_hist_us(&h, 0.95), "p99",
		cp_hist_us(&h, 0.99), "p999", cp_hist_us(&h, 0.999), "count",
		(json_int_t)h.count, "mean", h.count ? (double)h.sum / (double)h.count / 1000.0
						     : 0.0));
	json_object_set_new(o, "lcores", lcores(now, s));
	json_object_set_new(o, "partitions", partitions(now));
	json_object_set_new(o, "alerts", cp_api_alerts(s, true));
	return o;
}

json_t *cp_api_history(const struct sampler *s, unsigned max_points)
{
	unsigned n = s->npoints < max_points ? s->npoints : max_points;
	json_t *t = json_array(), *ops = json_array(), *hit = json_array(), *mem = json_array(),
	       *lim = json_array(), *ev = json_array(), *p50 = json_array(), *p95 = json_array(),
	       *p99 = json_array(), *p999 = json_array(), *lc = json_array(), *rxb = json_array(),
	       *txb = json_array();
	unsigned nlc = n ? sampler_point(s, 0)->nlc : 0;

	for (unsigned k = 0; k < nlc; k++)
		json_array_append_new(lc, json_array());
	for (unsigned i = n; i-- > 0;) {
		const struct cp_point *p = sampler_point(s, i);

		json_array_append_new(t, json_real((double)p->t_ms / 1000.0));
		json_array_append_new(ops, json_real(p->ops_s));
		json_array_append_new(hit, maybe(p->hit_rate));
		json_array_append_new(mem, json_integer((json_int_t)p->mem_bytes));
		json_array_append_new(lim, json_integer((json_int_t)p->mem_limit));
		json_array_append_new(ev, json_real(p->evictions_s));
		json_array_append_new(p50, json_real(p->p50_us));
		json_array_append_new(p95, json_real(p->p95_us));
		json_array_append_new(p99, json_real(p->p99_us));
		json_array_append_new(p999, json_real(p->p999_us));
		json_array_append_new(rxb, json_real(p->rx_bytes_s));
		json_array_append_new(txb, json_real(p->tx_bytes_s));
		for (unsigned k = 0; k < nlc; k++)
			json_array_append_new(json_array_get(lc, k),
					      json_real(k < p->nlc ? p->lc_ops_s[k] : 0));
	}
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "t", t,
			 "ops_per_s", ops, "hit_rate", hit, "memory_bytes", mem, "memory_limit", lim,
			 "evictions_per_s", ev, "p50_us", p50, "p95_us", p95, "p99_us", p99,
			 "p999_us", p999, "lcore_ops_per_s", lc, "rx_bytes_per_s", rxb,
			 "tx_bytes_per_s", txb);
}

json_t *cp_api_move(const struct wc_cp_move_snap *m)
{
	return json_pack("{s:I,s:s,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:i,s:i,s:I,s:I,s:I,s:s#}", "id",
			 (json_int_t)m->id,
			 "state", m->state <= WC_MOVE_FAILED ? move_states[m->state] : "unknown",
			 "from", (int)m->from, "to", (int)m->to, "partition", (int)m->part, "slots",
			 (int)m->slots, "keys_copied", (json_int_t)m->keys_copied, "copy_failed",
			 (json_int_t)m->copy_failed, "keys_dropped", (json_int_t)m->keys_dropped,
			 "parked_writes", (json_int_t)m->parked, "copy_passes", (int)m->copy_passes,
			 "drop_passes", (int)m->drop_passes, "freeze_us", (json_int_t)m->freeze_us,
			 "copy_us", (json_int_t)m->copy_us, "total_us", (json_int_t)m->total_us,
			 "error", m->error, (int)strnlen(m->error, sizeof(m->error)));
}

json_t *cp_api_slots(const struct wc_cp_shm *now)
{
	struct cp_slot_run *runs = malloc(WC_SLOTS * sizeof(*runs));
	unsigned n = runs ? cp_slot_runs(now->slot_part, now->slot_node, runs, WC_SLOTS) : 0;
	json_t *a = json_array(), *counts = json_array();
	unsigned per[WC_CP_MAX_PARTS] = { 0 };

	for (unsigned i = 0; i < n && i < WC_SLOTS; i++) {
		unsigned p = runs[i].part;

		per[p % WC_CP_MAX_PARTS] += runs[i].to - runs[i].from + 1;
		json_array_append_new(a, json_pack("{s:i,s:i,s:i,s:i,s:i,s:b}", "from",
						   (int)runs[i].from, "to", (int)runs[i].to,
						   "partition", (int)p, "lcore",
						   p < now->nparts ? (int)now->part[p].owner : -1,
						   "node", (int)runs[i].node, "moving",
						   runs[i].moving));
	}
	free(runs);
	for (unsigned i = 0; i < now->nparts; i++)
		json_array_append_new(counts, json_pack("{s:i,s:i,s:i}", "partition", (int)i,
							"lcore", (int)now->part[i].owner, "slots",
							(int)per[i]));
	return json_pack("{s:I,s:i,s:o,s:o,s:o,s:I,s:I}", "epoch", (json_int_t)now->slot_epoch,
			 "slots", WC_SLOTS, "ranges", a, "partitions", counts, "last_move",
			 cp_api_move(&now->move), "moves_done", (json_int_t)now->moves_done,
			 "moves_failed", (json_int_t)now->moves_failed);
}

json_t *cp_api_alerts(const struct sampler *s, bool attached)
{
	json_t *a = json_array();
	const struct cp_alert_rules *r = &s->rules;

	for (unsigned i = 0; i < CP_ALERT_COUNT; i++) {
		const struct cp_alert *al = &s->alerts[i];

		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:f,s:f,s:s}", "name", al->name,
						   "state", attached && al->firing ? "firing" : "ok",
						   "since_ms", (json_int_t)al->since_ms, "value",
						   al->value, "threshold", al->threshold, "message",
						   al->message));
	}
	return json_pack("{s:o,s:{s:f,s:I,s:f,s:f,s:f,s:f,s:I,s:f,s:f}}", "alerts", a, "rules",
			 "hit_rate_min", r->hit_rate_min, "min_gets", (json_int_t)r->min_gets,
			 "memory_max", r->memory_max, "evictions_min_per_s", r->evict_min,
			 "evictions_growth", r->evict_growth, "p99_max_us", r->p99_max_us,
			 "min_samples", (json_int_t)r->min_samples, "window_s",
			 (double)s->window, "replica_lag_max_s", r->repl_lag_max_s);
}
