/*
 * sampler.c - history, windows and alerts over successive snapshots (see
 * sampler.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "derive.h"
#include "sampler.h"

struct cp_cum {
	int64_t t_ms;
	uint64_t hits, misses, evictions, ops;
	struct wc_hist hist;
};

int sampler_init(struct sampler *s, const struct cp_alert_rules *r, unsigned window,
		 const char *node)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->rules = *r;
	s->window = window ? window : 1;
	snprintf(s->node, sizeof(s->node), "%s", node);
	s->cmax = 2 * s->window + 1;
	s->points = calloc(CP_HISTORY, sizeof(*s->points));
	s->cum = calloc(s->cmax, sizeof(*s->cum));
	s->prev = malloc(sizeof(*s->prev));
	cp_alerts_init(s->alerts);
	return s->points && s->cum && s->prev ? 0 : -1;
}

void sampler_free(struct sampler *s)
{
	free(s->points);
	free(s->cum);
	free(s->prev);
	pthread_mutex_destroy(&s->mu);
}

void sampler_reset(struct sampler *s)
{
	pthread_mutex_lock(&s->mu);
	s->have_prev = false;
	s->ncum = s->cnext = 0;
	memset(&s->win, 0, sizeof(s->win));
	pthread_mutex_unlock(&s->mu);
}

const struct cp_point *sampler_point(const struct sampler *s, unsigned i)
{
	if (i >= s->npoints)
		return NULL;
	return &s->points[(s->next + CP_HISTORY - 1 - i) % CP_HISTORY];
}

static const struct cp_cum *cum_back(const struct sampler *s, unsigned i)
{
	if (i >= s->ncum)
		return NULL;
	return &s->cum[(s->cnext + s->cmax - 1 - i) % s->cmax];
}

static double per_s(uint64_t now, uint64_t then, double secs)
{
	return now >= then && secs > 0 ? (double)(now - then) / secs : 0;
}

static double ratio(uint64_t hits, uint64_t misses)
{
	return hits + misses ? (double)hits / (double)(hits + misses) : -1;
}

/* The point for the interval prev -> now. */
static void make_point(struct sampler *s, const struct wc_cp_shm *now, struct cp_point *p)
{
	const struct wc_cp_shm *pr = s->prev;
	double secs = (double)(now->published_unix_ms - pr->published_unix_ms) / 1000.0;
	struct cp_store_totals st, stp;
	struct wc_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *d = malloc(sizeof(*d));

	memset(p, 0, sizeof(*p));
	p->t_ms = now->published_unix_ms;
	cp_store_totals(now, -1, &st);
	cp_store_totals(pr, -1, &stp);
	p->mem_bytes = st.bytes;
	p->mem_limit = st.limit;
	p->items = st.items;
	p->hit_rate = -1;
	p->nlc = now->nworkers;
	for (unsigned i = 0; i < WC_CP_MAX_LCORES; i++)
		p->lc_busy[i] = -1;
	if (!s->have_prev || secs <= 0 || !a || !b || !d)
		goto out;
	p->ops_s = per_s(cp_ops_raw(now, -1), cp_ops_raw(pr, -1), secs);
	p->gets_s = per_s(cp_total_raw(now, "op_get") + cp_total_raw(now, "op_gat"),
			  cp_total_raw(pr, "op_get") + cp_total_raw(pr, "op_gat"), secs);
	p->sets_s = per_s(cp_total_raw(now, "op_set"), cp_total_raw(pr, "op_set"), secs);
	p->hit_rate = ratio(cp_total_raw(now, "get_hits") - cp_total_raw(pr, "get_hits"),
			    cp_total_raw(now, "get_misses") - cp_total_raw(pr, "get_misses"));
	p->evictions_s = per_s(st.evictions, stp.evictions, secs);
	p->rx_pps = per_s(cp_total_raw(now, "rx_packets"), cp_total_raw(pr, "rx_packets"), secs);
	p->tx_pps = per_s(cp_total_raw(now, "tx_packets"), cp_total_raw(pr, "tx_packets"), secs);
	p->rx_bytes_s = per_s(cp_total_raw(now, "rx_bytes"), cp_total_raw(pr, "rx_bytes"), secs);
	p->tx_bytes_s = per_s(cp_total_raw(now, "tx_bytes"), cp_total_raw(pr, "tx_bytes"), secs);
	cp_hist(now, -1, a);
	cp_hist(pr, -1, b);
	cp_hist_delta(a, b, d);
	p->p50_us = cp_hist_us(d, 0.50);
	p->p95_us = cp_hist_us(d, 0.95);
	p->p99_us = cp_hist_us(d, 0.99);
	p->p999_us = cp_hist_us(d, 0.999);
	for (unsigned i = 0; i < now->nworkers && i < WC_CP_MAX_LCORES; i++) {
		p->lc_ops_s[i] = (float)per_s(cp_ops_raw(now, (int)i), cp_ops_raw(pr, (int)i), secs);
		p->lc_hit_rate[i] = (float)ratio(
			cp_lcore(now, i, "get_hits") - cp_lcore(pr, i, "get_hits"),
			cp_lcore(now, i, "get_misses") - cp_lcore(pr, i, "get_misses"));
		cp_hist_delta(&now->lat[i].h, &pr->lat[i].h, d);
		p->lc_p99_us[i] = (float)cp_hist_us(d, 0.99);
		p->lc_busy[i] = (float)cp_busy_ratio(&now->lc[i], &pr->lc[i]);
	}
out:
	free(a);
	free(b);
	free(d);
}

/* The sliding window: the newest cumulative record against the one a window back. */
static void make_window(struct sampler *s, const struct wc_cp_shm *now)
{
	const struct cp_cum *c = cum_back(s, 0), *w, *w2;
	struct cp_window *win = &s->win;
	struct cp_store_totals st;
	struct wc_hist *d = malloc(sizeof(*d));
	unsigned back = s->ncum - 1 < s->window ? s->ncum - 1 : s->window;

	cp_store_totals(now, -1, &st);
	memset(win, 0, sizeof(*win));
	win->hit_rate = -1;
	win->memory_ratio = st.limit ? (double)cp_memory_in_use(&st) / (double)st.limit : 0;
	if (!c || back == 0 || !d) {
		free(d);
		return;
	}
	w = cum_back(s, back);
	win->secs = (double)(c->t_ms - w->t_ms) / 1000.0;
	win->ops_s = per_s(c->ops, w->ops, win->secs);
	win->gets = (c->hits - w->hits) + (c->misses - w->misses);
	win->hit_rate = ratio(c->hits - w->hits, c->misses - w->misses);
	win->evictions_s = per_s(c->evictions, w->evictions, win->secs);
	if ((w2 = cum_back(s, 2 * s->window)) != NULL && back == s->window) {
		win->have_prev = true;
		win->evictions_s_prev = per_s(w->evictions, w2->evictions,
					      (double)(w->t_ms - w2->t_ms) / 1000.0);
	}
	cp_hist_delta(&c->hist, &w->hist, d);
	win->samples = d->count;
	win->p50_us = cp_hist_us(d, 0.50);
	win->p95_us = cp_hist_us(d, 0.95);
	win->p99_us = cp_hist_us(d, 0.99);
	win->p999_us = cp_hist_us(d, 0.999);
	free(d);
}

static void log_changes(const struct sampler *s, const bool *changed)
{
	time_t t = time(NULL);
	char when[32];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime(&t));
	for (unsigned i = 0; i < CP_ALERT_COUNT; i++) {
		if (!changed[i])
			continue;
		fprintf(stderr, "%s wirecache-cp[%s]: alert %s %s: %s\n", when, s->node,
			s->alerts[i].name, s->alerts[i].firing ? "FIRING" : "resolved",
			s->alerts[i].message);
	}
}

void sampler_add(struct sampler *s, const struct wc_cp_shm *now)
{
	struct cp_point p;
	struct cp_cum *c;
	struct cp_store_totals st;
	struct cp_alert_input in;
	bool changed[CP_ALERT_COUNT];

	pthread_mutex_lock(&s->mu);
	make_point(s, now, &p);
	if (s->have_prev) {
		s->points[s->next] = p;
		s->next = (s->next + 1) % CP_HISTORY;
		if (s->npoints < CP_HISTORY)
			s->npoints++;
	}
	c = &s->cum[s->cnext];
	s->cnext = (s->cnext + 1) % s->cmax;
	if (s->ncum < s->cmax)
		s->ncum++;
	cp_store_totals(now, -1, &st);
	c->t_ms = now->published_unix_ms;
	c->hits = cp_total_raw(now, "get_hits");
	c->misses = cp_total_raw(now, "get_misses");
	c->evictions = st.evictions;
	c->ops = cp_ops_raw(now, -1);
	cp_hist(now, -1, &c->hist);
	make_window(s, now);
	in = (struct cp_alert_input){
		.gets = s->win.gets, .hit_rate = s->win.hit_rate < 0 ? 1 : s->win.hit_rate,
		.memory_ratio = s->win.memory_ratio, .evict_rate = s->win.evictions_s,
		.evict_rate_prev = s->win.evictions_s_prev, .have_prev = s->win.have_prev,
		.p99_us = s->win.p99_us, .samples = s->win.samples,
		.replicas = cp_total_raw(now, "repl_replicas_connected"),
		.repl_max_lag_s = cp_total_raw(now, "repl_max_lag_seconds"),
		.is_replica = cp_total_raw(now, "replica_role") != 0,
		.link_up = cp_total_raw(now, "replica_link_up") != 0,
		.link_down_s = cp_total_raw(now, "replica_link_down_seconds"),
	};
	if (cp_alerts_eval(s->alerts, &s->rules, &in, now->published_unix_ms, changed))
		log_changes(s, changed);
	memcpy(s->prev, now, sizeof(*s->prev));
	s->have_prev = true;
	s->samples++;
	pthread_mutex_unlock(&s->mu);
}
