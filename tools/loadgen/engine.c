/*
 * engine.c - what the load generator sends and how it counts what comes
 * back, the same for every transport: the next request (preload SETs in
 * key order, then keys by popularity and GET:SET by ratio), its encoding
 * (memcached text or RESP), open-loop arrival times (Poisson), and the
 * accounting of a finished request (outcome, value check, latency).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lg.h"

bool lg_encode(const struct lg_cfg *c, const struct lg_req *r, struct mc_out *o)
{
	char key[LG_KEY_MAX + 1], line[LG_KEY_MAX + 64];
	unsigned klen = lg_key(c, r->key, key);
	uint32_t vlen;
	int n;

	if (r->op == LG_GET) {
		if (c->proto == LG_REDIS)
			n = snprintf(line, sizeof(line), "*2\r\n$3\r\nGET\r\n$%u\r\n%s\r\n", klen, key);
		else
			n = snprintf(line, sizeof(line), "get %s\r\n", key);
		mc_out_put(o, line, (size_t)n);
		return !o->failed;
	}
	vlen = lg_value_len(c, r->key);
	if (c->proto == LG_REDIS)
		n = snprintf(line, sizeof(line), "*3\r\n$3\r\nSET\r\n$%u\r\n%s\r\n$%u\r\n", klen, key,
			     vlen);
	else
		n = snprintf(line, sizeof(line), "set %s 0 0 %u\r\n", key, vlen);
	mc_out_put(o, line, (size_t)n);
	mc_out_put(o, lg_value(r->key), vlen);
	mc_out_put(o, "\r\n", 2);
	return !o->failed;
}

void lg_next(struct lg_worker *w, struct lg_req *r, uint64_t t0)
{
	const struct lg_cfg *c = w->cfg;

	r->t0 = t0;
	r->live = true;
	r->got = r->total = 0;
	r->preload = w->preloading;
	if (w->preloading) {
		r->op = LG_SET;
		r->key = w->preload_next;
		r->verify = false;
		w->preload_next += w->preload_step;
		if (--w->preload_left == 0)
			w->preloading = false;
		return;
	}
	r->key = wc_keydist_next(w->kd, &w->rng);
	r->op = (wc_rng_next(&w->rng) % 100) < c->get_pct ? LG_GET : LG_SET;
	r->verify = c->verify_every && r->op == LG_GET &&
		    wc_rng_next(&w->rng) % c->verify_every == 0;
}

/* Ticks to ns: a multiply for waits under 2^32 ticks, exact division beyond (no overflow). */
static inline uint64_t ticks_to_ns(struct lg_worker *w, uint64_t d)
{
	if (!w->ns_mult)
		w->ns_mult = (uint64_t)((1000000000.0 * 4294967296.0) / (double)w->tsc_hz);
	if (d < (1ull << 32) && w->ns_mult <= (1ull << 32))
		return (d * w->ns_mult) >> 32;
	return d / w->tsc_hz * 1000000000ull + d % w->tsc_hz * 1000000000ull / w->tsc_hz;
}

void lg_unnext(struct lg_worker *w, struct lg_req *r)
{
	r->live = false;
	if (r->preload && r->key + w->preload_step == w->preload_next) {
		w->preload_next = r->key;	/* this preload key goes again */
		w->preload_left++;
		w->preloading = true;
	}
}

void lg_complete(struct lg_worker *w, struct lg_req *r, enum lg_result res, bool value_ok,
		 uint64_t now)
{
	struct lg_counters *k = &w->cnt;

	r->live = false;
	k->done++;
	if (r->op == LG_GET)
		k->gets++;
	else
		k->sets++;
	switch (res) {
	case LG_R_HIT:
		k->hits++;
		if (r->op != LG_GET)
			k->errors++;
		break;
	case LG_R_MISS:
		k->misses++;
		break;
	case LG_R_STORED:
		if (r->op != LG_SET)
			k->errors++;
		break;
	default:
		k->errors++;
		break;
	}
	if (r->verify && res == LG_R_HIT) {
		k->verified++;
		if (!value_ok)
			k->verify_failed++;
	}
	if (w->measuring && now > r->t0)
		wc_hist_record(&w->hist, ticks_to_ns(w, now - r->t0));
}

uint64_t lg_next_arrival(struct lg_worker *w, uint64_t prev)
{
	double u = wc_rng_unit(&w->rng);

	if (u <= 0)
		u = 1e-12;
	return prev + (uint64_t)(-log(u) / w->per_tsc_rate) + 1;
}
