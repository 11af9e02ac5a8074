/*
 * keys.c - commands on keys of any type: DEL, UNLINK, EXISTS, TYPE, TOUCH,
 * EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX XX GT LT), TTL, PTTL,
 * EXPIRETIME, PEXPIRETIME, PERSIST, RENAME, RENAMENX, COPY, DBSIZE,
 * FLUSHALL, FLUSHDB, KEYS, SCAN, RANDOMKEY.
 *
 * Multi-key writes (DEL, UNLINK) fan out over the partitions their keys
 * live in; RENAME, RENAMENX and COPY need both keys in one partition (in
 * cluster mode: one slot), where they run as one owner call.
 *
 * SCAN's cursor is the partition in its top bits and the index bucket
 * below; the index only ever moves an entry to a later bucket (store/
 * index.c), so a key present for the whole scan is returned at least once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include "core/app.h"
#include "redis/cmds.h"
#include "redis/glob.h"
#include "redis/obj.h"
#include "redis/rdutil.h"
#include "redis/server.h"
#include "store/scan.h"

/* ---- reads ---- */

static enum rd_res exists(struct rd_session *s)
{
	int64_t n = 0;
	struct wc_view v;

	for (uint32_t i = 1; i < rd_argc(s); i++)
		if (rd_lookup(s, rd_argp(s, i), rd_arg(s, i)->len, &v, WC_LOOKUP_NO_TOUCH))
			n++;
	resp_int(rd_out(s), n);
	return RD_DONE;
}

static enum rd_res touch(struct rd_session *s)
{
	int64_t n = 0;
	struct wc_view v;

	for (uint32_t i = 1; i < rd_argc(s); i++)
		if (rd_lookup(s, rd_argp(s, i), rd_arg(s, i)->len, &v, 0))
			n++;
	resp_int(rd_out(s), n);
	return RD_DONE;
}

static enum rd_res type(struct rd_session *s)
{
	struct wc_view v;

	if (!rd_lookup(s, rd_argp(s, 1), rd_arg(s, 1)->len, &v, WC_LOOKUP_NO_TOUCH))
		resp_simple(rd_out(s), "none");
	else
		resp_simple(rd_out(s), rd_type_name(v.type));
	return RD_DONE;
}

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 missing, -1 no expiry. */
static enum rd_res ttl_common(struct rd_session *s, bool ms, bool absolute)
{
	struct wc_view v;
	int64_t at, now;

	if (!rd_lookup(s, rd_argp(s, 1), rd_arg(s, 1)->len, &v, WC_LOOKUP_NO_TOUCH)) {
		resp_int(rd_out(s), -2);
		return RD_DONE;
	}
	if (!v.exptime) {
		resp_int(rd_out(s), -1);
		return RD_DONE;
	}
	at = wc_expiry_unix_ms(&rd_env(s)->ctx->clock, v.exptime, v.exp_ms);
	if (absolute) {
		resp_int(rd_out(s), ms ? at : at / 1000);
		return RD_DONE;
	}
	now = wc_clock_unix_ms(&rd_env(s)->ctx->clock);
	at = at > now ? at - now : 0;
	resp_int(rd_out(s), ms ? at : (at + 500) / 1000);
	return RD_DONE;
}

static enum rd_res ttl(struct rd_session *s)
{
	return ttl_common(s, false, false);
}

static enum rd_res pttl(struct rd_session *s)
{
	return ttl_common(s, true, false);
}

static enum rd_res expiretime(struct rd_session *s)
{
	return ttl_common(s, false, true);
}

static enum rd_res pexpiretime(struct rd_session *s)
{
	return ttl_common(s, true, true);
}

/* ---- DEL, UNLINK ---- */

static void del_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;

	for (uint32_t i = 1; i < rd_argc(s); i++) {
		const struct resp_arg *k = rd_arg(s, i);
		struct rd_route rt;

		rd_route_key(s, k->u.p, k->len, &rt);
		if (rt.part_idx != o->arg0)
			continue;
		if (rd_obj_delete(o->part, o->ctx, k->u.p, k->len, wc_hash(k->u.p, k->len))) {
			o->acc++;
			rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);
		}
	}
}

static enum rd_res del(struct rd_session *s)
{
	enum rd_res r = rd_fanout(s, 1, 1, del_owner);

	if (r == RD_DONE)
		resp_int(rd_out(s), s->acc);
	return r;
}

/* ---- EXPIRE family, PERSIST ---- */

enum { XF_NX = 1, XF_XX = 2, XF_GT = 4, XF_LT = 8 };

struct expire_job {
	int64_t when;		/* ms: relative or absolute */
	bool relative;
	bool persist;
	uint8_t cond;
};

static void expire_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct expire_job *j = rd_job_const(s);
	const struct resp_arg *k = rd_arg(s, 1);
	uint64_t h = wc_hash(k->u.p, k->len);
	struct wc_item *it = wc_kv_find(o->part, o->ctx, k->u.p, k->len, h);
	uint32_t cur_t, cur_ms, exptime, ms;
	int64_t cur_at, at;
	bool gone;

	if (!it) {
		resp_int(o->out, 0);
		return;
	}
	wc_kv_expiry(it, &cur_t, &cur_ms);
	if (j->persist) {
		if (!cur_t) {
			resp_int(o->out, 0);
			return;
		}
		wc_kv_expire(o->part, o->ctx, k->u.p, k->len, h, 0, 0, &gone);
		/* (Redis's order: the notification, then the reply) */
		rd_keyev_emit(o, RD_EV_PERSIST, k->u.p, k->len);
		resp_int(o->out, 1);
		return;
	}
	at = j->relative ? wc_clock_unix_ms(&o->ctx->clock) + j->when : j->when;
	cur_at = wc_expiry_unix_ms(&o->ctx->clock, cur_t, cur_ms);
	if (((j->cond & XF_NX) && cur_t) || ((j->cond & XF_XX) && !cur_t) ||
	    ((j->cond & XF_GT) && (!cur_t || at <= cur_at)) ||
	    ((j->cond & XF_LT) && cur_t && at >= cur_at)) {
		resp_int(o->out, 0);
		return;
	}
	if (!wc_expiry_from_unix_ms(&o->ctx->clock, at, &exptime, &ms)) {
		/* a time already past deletes the key */
		rd_obj_delete(o->part, o->ctx, k->u.p, k->len, h);
		rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);
		resp_int(o->out, 1);
		return;
	}
	wc_kv_expire(o->part, o->ctx, k->u.p, k->len, h, exptime, ms, &gone);
	resp_int(o->out, 1);	/* (Redis replies before it notifies, here) */
	rd_keyev_emit(o, RD_EV_EXPIRE, k->u.p, k->len);
}

static enum rd_res run_on_key_owner(struct rd_session *s, rd_owner_fn fn)
{
	struct rd_route rt;
	enum rd_res r;

	if (s->step)
		return RD_DONE;
	rd_route_key(s, rd_argp(s, 1), rd_arg(s, 1)->len, &rt);
	r = rd_call(s, &rt, fn, true, 0, rd_argp(s, 1), rd_arg(s, 1)->len);
	if (r != RD_BUSY)
		s->step = 1;
	return r;
}

static enum rd_res expire_common(struct rd_session *s, bool ms, bool absolute, const char *name)
{
	struct expire_job *j = rd_job(s);

	if (s->step == 0) {
		int64_t v;

		*j = (struct expire_job){ .relative = !absolute };
		if (!rd_arg_ll(s, 2, &v)) {
			rd_err_int(s);
			return RD_DONE;
		}
		for (uint32_t i = 3; i < rd_argc(s); i++) {
			if (rd_arg_is(s, i, "nx"))
				j->cond |= XF_NX;
			else if (rd_arg_is(s, i, "xx"))
				j->cond |= XF_XX;
			else if (rd_arg_is(s, i, "gt"))
				j->cond |= XF_GT;
			else if (rd_arg_is(s, i, "lt"))
				j->cond |= XF_LT;
			else {
				char opt[64] = "";
				const struct resp_arg *a = rd_arg(s, i);

				if (a->kind == RESP_ARG_PTR)
					snprintf(opt, sizeof(opt), "%.*s", (int)(a->len < 60 ? a->len : 60),
						 (const char *)a->u.p);
				rd_err_fmt(s, "ERR Unsupported option %s", opt);
				return RD_DONE;
			}
		}
		if ((j->cond & XF_NX) && (j->cond & (XF_XX | XF_GT | XF_LT))) {
			rd_err(s, "ERR NX and XX, GT or LT options at the same time are not compatible");
			return RD_DONE;
		}
		if ((j->cond & XF_GT) && (j->cond & XF_LT)) {
			rd_err(s, "ERR GT and LT options at the same time are not compatible");
			return RD_DONE;
		}
		if (!ms) {
			if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000) {
				rd_err_fmt(s, "ERR invalid expire time in '%s' command", name);
				return RD_DONE;
			}
			v *= 1000;
		}
		if (!absolute) {
			int64_t now = wc_clock_unix_ms(&rd_env(s)->ctx->clock);

			if ((v > 0 && v > INT64_MAX - now) || (v < 0 && v < INT64_MIN + now)) {
				rd_err_fmt(s, "ERR invalid expire time in '%s' command", name);
				return RD_DONE;
			}
		}
		j->when = v;
	}
	return run_on_key_owner(s, expire_owner);
}

static enum rd_res expire(struct rd_session *s)
{
	return expire_common(s, false, false, "expire");
}

static enum rd_res pexpire(struct rd_session *s)
{
	return expire_common(s, true, false, "pexpire");
}

static enum rd_res expireat(struct rd_session *s)
{
	return expire_common(s, false, true, "expireat");
}

static enum rd_res pexpireat(struct rd_session *s)
{
	return expire_common(s, true, true, "pexpireat");
}

static enum rd_res persist(struct rd_session *s)
{
	if (s->step == 0)
		*(struct expire_job *)rd_job(s) = (struct expire_job){ .persist = true };
	return run_on_key_owner(s, expire_owner);
}

/* ---- RENAME, RENAMENX, COPY ---- */

enum { MV_RENAME, MV_RENAMENX, MV_COPY };

struct move_job {
	uint8_t kind;
	bool replace;		/* COPY REPLACE */
};

static void move_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct move_job *j = rd_job_const(s);
	const struct resp_arg *src = rd_arg(s, 1), *dst = rd_arg(s, 2);
	uint64_t sh = wc_hash(src->u.p, src->len), dh = wc_hash(dst->u.p, dst->len);
	bool same = src->len == dst->len && memcmp(src->u.p, dst->u.p, src->len) == 0;
	enum wc_status st;

	if (!wc_kv_find(o->part, o->ctx, src->u.p, src->len, sh)) {
		if (j->kind == MV_COPY)
			resp_int(o->out, 0);
		else
			resp_error(o->out, "ERR no such key");
		return;
	}
	if (same) {
		if (j->kind == MV_RENAME)
			resp_ok(o->out);
		else
			resp_int(o->out, 0);
		return;
	}
	if ((j->kind == MV_RENAMENX || (j->kind == MV_COPY && !j->replace)) &&
	    wc_kv_find(o->part, o->ctx, dst->u.p, dst->len, dh)) {
		resp_int(o->out, 0);
		return;
	}
	st = rd_obj_copy(o->part, o->ctx, src->u.p, src->len, dst->u.p, dst->len,
			 j->kind != MV_COPY);
	if (st == WC_NOT_FOUND) {
		resp_error(o->out, "ERR no such key");
		return;
	}
	if (st != WC_OK) {
		rd_reply_store_error(o->out, st);
		return;
	}
	/* Redis adds the destination anew (`new`), then names the move, then replies */
	rd_keyev_emit(o, RD_EV_NEW, dst->u.p, dst->len);
	if (j->kind == MV_COPY) {
		rd_keyev_emit(o, RD_EV_COPY_TO, dst->u.p, dst->len);
	} else {
		rd_keyev_emit(o, RD_EV_RENAME_FROM, src->u.p, src->len);
		rd_keyev_emit(o, RD_EV_RENAME_TO, dst->u.p, dst->len);
	}
	if (j->kind == MV_RENAME)
		resp_ok(o->out);
	else
		resp_int(o->out, 1);
}

static enum rd_res move_common(struct rd_session *s, uint8_t kind)
{
	struct move_job *j = rd_job(s);
	struct rd_route rt, rt2;
	enum rd_res r;

	if (s->step)
		return RD_DONE;
	*j = (struct move_job){ .kind = kind };
	for (uint32_t i = 3; i < rd_argc(s); i++) {
		int64_t db;

		if (kind == MV_COPY && rd_arg_is(s, i, "replace")) {
			j->replace = true;
		} else if (kind == MV_COPY && rd_arg_is(s, i, "db") && i + 1 < rd_argc(s)) {
			if (!rd_arg_ll(s, i + 1, &db)) {
				rd_err_int(s);
				return RD_DONE;
			}
			if (db != 0) {
				rd_err(s, "ERR DB index is out of range");
				return RD_DONE;
			}
			i++;
		} else {
			rd_err_syntax(s);
			return RD_DONE;
		}
	}
	rd_route_key(s, rd_argp(s, 1), rd_arg(s, 1)->len, &rt);
	rd_route_key(s, rd_argp(s, 2), rd_arg(s, 2)->len, &rt2);
	if (rt.part_idx != rt2.part_idx) {
		rd_err(s, RD_CROSSSLOT);
		return RD_DONE;
	}
	r = rd_call(s, &rt, move_owner, true, 0, rd_argp(s, 1), rd_arg(s, 1)->len);
	if (r != RD_BUSY)
		s->step = 1;
	return r;
}

static enum rd_res rename_cmd(struct rd_session *s)
{
	return move_common(s, MV_RENAME);
}

static enum rd_res renamenx(struct rd_session *s)
{
	return move_common(s, MV_RENAMENX);
}

static enum rd_res copy(struct rd_session *s)
{
	return move_common(s, MV_COPY);
}

/* ---- the whole keyspace ---- */

static enum rd_res dbsize(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;
	uint64_t n = 0;

	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_part_stats ps;

		wc_part_get_stats(app->parts[i], &ps);
		n += ps.keys;
	}
	resp_int(rd_out(s), (int64_t)n);
	return RD_DONE;
}

static void flush_owner(struct rd_owner *o)
{
	wc_kv_flush_sync(o->part, o->ctx);
}

/* FLUSHALL / FLUSHDB [ASYNC|SYNC]: every partition, on its owner; OK once all are empty. */
static enum rd_res flushall(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;

	if (s->step == 0) {
		if (rd_argc(s) > 2 || (rd_argc(s) == 2 && !rd_arg_is(s, 1, "async") &&
				       !rd_arg_is(s, 1, "sync"))) {
			rd_err_syntax(s);
			return RD_DONE;
		}
		s->step = 1;
		s->cursor = 0;
	}
	while (s->step == 1 && s->cursor < app->nparts) {
		struct rd_route rt = { .part = app->parts[s->cursor],
				       .owner = app->part_owner[s->cursor],
				       .part_idx = (uint16_t)s->cursor };
		enum rd_res r = rd_call(s, &rt, flush_owner, false, s->cursor, NULL, 0);

		if (r == RD_BUSY)
			return r;
		s->cursor++;
	}
	s->step = 2;
	if (rd_calls_out(s))
		return RD_PENDING;
	/* every partition is empty: one flush event (client tracking; no notification) */
	rd_keyev_flushed(s);
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* SCAN's filters */
struct scan_filter {
	const uint8_t *pat;
	uint32_t plen;
	int type;		/* -1: any */
	const struct wc_part *part;
	const struct wc_ctx *ctx;
};

static bool scan_want(const uint8_t *key, uint32_t klen, void *arg)
{
	const struct scan_filter *f = arg;

	return !f->pat || rd_glob_match(f->pat, f->plen, key, klen, false);
}

/* A key found by the walk: still live, a key (not a container part), of the type asked for. */
static bool scan_keep(struct rd_session *s, const struct scan_filter *f,
		      const struct wc_scan_key *k)
{
	struct wc_view v;

	if (!wc_get(f->part, rd_env(s)->ctx, k->key, k->klen, wc_hash(k->key, k->klen),
		    WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v))
		return false;
	if (v.type >= WC_TYPE_INTERNAL)
		return false;
	return f->type < 0 || v.type == f->type;
}

#define SCAN_PART_SHIFT 40
#define WC_BUCKET_SLOTS_MAX 10	/* entries in one index bucket (store/index.h) */
#define SCAN_MAX_KEYS 8000	/* keys one SCAN call returns at most (COUNT is capped) */

static enum rd_res scan(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;
	uint64_t cursor, count = 10;
	struct scan_filter f = { .type = -1 };
	uint32_t part, bucket;
	uint64_t found = 0, visited = 0;
	unsigned nkeys = 0;
	struct wc_scan_key batch[16 * WC_BUCKET_SLOTS_MAX];
	uint8_t **found_keys;
	const struct resp_arg *c = rd_arg(s, 1);
	char num[24];

	{
		int64_t v;

		if (c->kind != RESP_ARG_PTR || !rd_parse_ll(c->u.p, c->len, &v)) {
			/* Redis parses the cursor as unsigned */
			uint64_t u = 0;
			bool ok = c->kind == RESP_ARG_PTR && c->len > 0 && c->len <= 20;

			for (uint32_t i = 0; ok && i < c->len; i++) {
				unsigned d = (unsigned)c->u.p[i] - '0';

				if (d > 9 || u > (UINT64_MAX - d) / 10)
					ok = false;
				else
					u = u * 10 + d;
			}
			if (!ok) {
				rd_err(s, "ERR invalid cursor");
				return RD_DONE;
			}
			cursor = u;
		} else {
			cursor = (uint64_t)v;
		}
	}
	for (uint32_t i = 2; i < rd_argc(s); i++) {
		if (rd_arg_is(s, i, "match") && i + 1 < rd_argc(s)) {
			f.pat = rd_argp(s, i + 1);
			f.plen = rd_arg(s, i + 1)->len;
			if (f.plen == 1 && f.pat[0] == '*')
				f.pat = NULL;
			i++;
		} else if (rd_arg_is(s, i, "count") && i + 1 < rd_argc(s)) {
			int64_t v;

			if (!rd_arg_ll(s, i + 1, &v)) {
				rd_err_int(s);
				return RD_DONE;
			}
			if (v < 1) {
				rd_err_syntax(s);
				return RD_DONE;
			}
			count = (uint64_t)v;
			i++;
		} else if (rd_arg_is(s, i, "type") && i + 1 < rd_argc(s)) {
			f.type = rd_type_by_name(rd_arg(s, i + 1));
			if (f.type < 0)
				f.type = 0xFF;	/* an unknown type matches nothing (Redis 7.0) */
			i++;
		} else {
			rd_err_syntax(s);
			return RD_DONE;
		}
	}
	part = (uint32_t)(cursor >> SCAN_PART_SHIFT);
	bucket = (uint32_t)(cursor & ((1ull << SCAN_PART_SHIFT) - 1));
	if (count > SCAN_MAX_KEYS - 64 * WC_BUCKET_SLOTS_MAX)
		count = SCAN_MAX_KEYS - 64 * WC_BUCKET_SLOTS_MAX;
	/* the keys found, each copied into the arena: [len][bytes] */
	found_keys = rd_scratch(s, SCAN_MAX_KEYS * sizeof(*found_keys));
	if (!found_keys) {
		rd_err(s, "ERR out of memory for SCAN");
		return RD_DONE;
	}
	/*
	 * Walk buckets until count keys were looked at, or a bounded number of
	 * buckets: the index is sized for the memory, not the keys, so a sparse
	 * one must not cost a call per few buckets.
	 */
	while (part < app->nparts && found < count && visited < count * 100 + 65536) {
		bool done = false;
		unsigned n;
		struct wc_part_stats ps;

		f.part = app->parts[part];
		wc_part_get_stats(f.part, &ps);
		if (ps.keys == 0) {
			part++;	/* nothing to find there */
			bucket = 0;
			continue;
		}
		n = wc_part_scan_keys(f.part, &bucket, 16, scan_want, &f, batch, 16 * WC_BUCKET_SLOTS_MAX,
				      &done);
		found += n;
		visited += 16;
		for (unsigned i = 0; i < n && nkeys < SCAN_MAX_KEYS; i++) {
			uint8_t *k;

			if (!scan_keep(s, &f, &batch[i]))
				continue;
			k = rd_scratch(s, batch[i].klen + 1u);
			if (!k)
				break;
			k[0] = batch[i].klen;
			memcpy(k + 1, batch[i].key, batch[i].klen);
			found_keys[nkeys++] = k;
		}
		if (done) {
			part++;
			bucket = 0;
		}
	}
	cursor = part >= app->nparts ? 0 : ((uint64_t)part << SCAN_PART_SHIFT) | bucket;
	resp_array(rd_out(s), 2);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)cursor);
	resp_bulk_str(rd_out(s), num);
	resp_array(rd_out(s), nkeys);
	for (unsigned i = 0; i < nkeys; i++)
		resp_bulk(rd_out(s), found_keys[i] + 1, found_keys[i][0]);
	return RD_DONE;
}

/* KEYS pattern: the whole keyspace, every partition, in one reply. */
static enum rd_res keys_cmd(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;
	struct scan_filter f = { .pat = rd_argp(s, 1), .plen = rd_arg(s, 1)->len, .type = -1 };
	struct wc_scan_key *batch = rd_scratch(s, 64 * sizeof(*batch));
	uint64_t total = 0;
	struct mc_out *o = rd_out(s);

	if (!batch) {
		rd_err(s, "ERR out of memory");
		return RD_DONE;
	}
	if (f.plen == 1 && f.pat[0] == '*')
		f.pat = NULL;
	/* first count, then write: the reply's length comes first */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			resp_array(o, (int64_t)total);
		for (unsigned p = 0; p < app->nparts; p++) {
			uint32_t cur = 0;
			bool done = false;

			f.part = app->parts[p];
			while (!done) {
				unsigned n = wc_part_scan_keys(f.part, &cur, 4, scan_want, &f, batch, 64,
							       &done);

				for (unsigned i = 0; i < n; i++) {
					if (!scan_keep(s, &f, &batch[i]))
						continue;
					if (pass == 0)
						total++;
					else if (total) {
						resp_bulk(o, batch[i].key, batch[i].klen);
						total--;
					}
				}
			}
		}
	}
	/* keys that vanished between the passes: the count was promised */
	while (total--)
		resp_null(o, s->proto);
	return RD_DONE;
}

static enum rd_res randomkey(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;
	struct wc_scan_key batch[64];

	for (unsigned tries = 0; tries < 64; tries++) {
		unsigned p = (unsigned)rand() % app->nparts;
		struct scan_filter f = { .type = -1, .part = app->parts[p] };
		uint32_t cur = (uint32_t)rand() % wc_part_index_buckets(f.part);
		bool done = false;
		struct wc_part_stats ps;

		wc_part_get_stats(f.part, &ps);
		if (ps.keys == 0)
			continue;
		/* from a random bucket on, the first live key */
		for (unsigned walked = 0; walked < wc_part_index_buckets(f.part);) {
			unsigned n = wc_part_scan_keys(f.part, &cur, 4, NULL, NULL, batch, 64, &done);

			walked += 4;
			for (unsigned i = 0; i < n; i++) {
				if (scan_keep(s, &f, &batch[i])) {
					resp_bulk(rd_out(s), batch[i].key, batch[i].klen);
					return RD_DONE;
				}
			}
		}
	}
	resp_null(rd_out(s), s->proto);
	return RD_DONE;
}

#define KS_W (RD_ACL_KEYSPACE | RD_ACL_WRITE)
#define KS_R (RD_ACL_KEYSPACE | RD_ACL_READ)

struct rd_cmd rd_cmds_keys[] = {
	RD_CMD_KS(RD_KS_RM | RD_KS_DELETE,
		  "del", del, -2, RD_F_WRITE, KS_W | RD_ACL_SLOW, 1, -1, 1, "generic",
		  "Delete keys", "1.0.0", "O(N) where N is the number of keys"),
	RD_CMD_KS(RD_KS_RM | RD_KS_DELETE,
		  "unlink", del, -2, RD_F_WRITE | RD_F_FAST, KS_W | RD_ACL_FAST, 1, -1, 1,
		  "generic", "Delete keys (the memory is reclaimed in the background)", "4.0.0",
		  "O(1) for each key"),
	RD_CMD_KS(RD_KS_RO,
		  "exists", exists, -2, RD_F_READONLY | RD_F_FAST, KS_R | RD_ACL_FAST, 1, -1, 1,
		  "generic", "How many of the keys exist", "1.0.0",
		  "O(N) where N is the number of keys"),
	RD_CMD_KS(RD_KS_RO,
		  "type", type, 2, RD_F_READONLY | RD_F_FAST, KS_R | RD_ACL_FAST, 1, 1, 1,
		  "generic", "The type of a key's value", "1.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RO,
		  "touch", touch, -2, RD_F_READONLY | RD_F_FAST, KS_R | RD_ACL_FAST, 1, -1, 1,
		  "generic", "Mark keys as used; how many exist", "3.2.1",
		  "O(N) where N is the number of keys"),
	RD_CMD("expire", expire, -3, RD_F_WRITE | RD_F_FAST, KS_W | RD_ACL_FAST, 1, 1, 1,
	       "generic", "Expire a key in seconds", "1.0.0", "O(1)"),
	RD_CMD("pexpire", pexpire, -3, RD_F_WRITE | RD_F_FAST, KS_W | RD_ACL_FAST, 1, 1, 1,
	       "generic", "Expire a key in milliseconds", "2.6.0", "O(1)"),
	RD_CMD("expireat", expireat, -3, RD_F_WRITE | RD_F_FAST, KS_W | RD_ACL_FAST, 1, 1, 1,
	       "generic", "Expire a key at a Unix time in seconds", "1.2.0", "O(1)"),
	RD_CMD("pexpireat", pexpireat, -3, RD_F_WRITE | RD_F_FAST, KS_W | RD_ACL_FAST, 1, 1, 1,
	       "generic", "Expire a key at a Unix time in milliseconds", "2.6.0", "O(1)"),
	RD_CMD("ttl", ttl, 2, RD_F_READONLY | RD_F_FAST, KS_R | RD_ACL_FAST, 1, 1, 1, "generic",
	       "Seconds to live", "1.0.0", "O(1)"),
	RD_CMD("pttl", pttl, 2, RD_F_READONLY | RD_F_FAST, KS_R | RD_ACL_FAST, 1, 1, 1, "generic",
	       "Milliseconds to live", "2.6.0", "O(1)"),
	RD_CMD("expiretime", expiretime, 2, RD_F_READONLY | RD_F_FAST, KS_R | RD_ACL_FAST, 1, 1,
	       1, "generic", "When a key expires, as a Unix time in seconds", "7.0.0", "O(1)"),
	RD_CMD("pexpiretime", pexpiretime, 2, RD_F_READONLY | RD_F_FAST, KS_R | RD_ACL_FAST, 1, 1,
	       1, "generic", "When a key expires, as a Unix time in milliseconds", "7.0.0",
	       "O(1)"),
	RD_CMD("persist", persist, 2, RD_F_WRITE | RD_F_FAST, KS_W | RD_ACL_FAST, 1, 1, 1,
	       "generic", "Remove a key's expiry", "2.2.0", "O(1)"),
	RD_CMD_KS2(RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE, RD_KS_OW | RD_KS_UPDATE,
		   "rename", rename_cmd, 3, RD_F_WRITE, KS_W | RD_ACL_SLOW, 1, 2, 1, "generic",
	       "Rename a key", "1.0.0", "O(1)"),
	RD_CMD_KS2(RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE, RD_KS_OW | RD_KS_INSERT,
		   "renamenx", renamenx, 3, RD_F_WRITE | RD_F_FAST, KS_W | RD_ACL_FAST, 1, 2, 1,
	       "generic", "Rename a key if the new name is free", "1.0.0", "O(1)"),
	RD_CMD_KS2(RD_KS_RO | RD_KS_ACCESS, RD_KS_OW | RD_KS_UPDATE,
		   "copy", copy, -3, RD_F_WRITE | RD_F_DENYOOM, KS_W | RD_ACL_SLOW, 1, 2, 1,
		   "generic", "Copy a key's value to another key", "6.2.0",
		   "O(N) worst case for collections, where N is the number of nested items"),
	RD_CMD("dbsize", dbsize, 1, RD_F_READONLY | RD_F_FAST, KS_R | RD_ACL_FAST, 0, 0, 0,
	       "server", "How many keys there are", "1.0.0", "O(1)"),
	RD_CMD("flushall", flushall, -1, RD_F_WRITE, KS_W | RD_ACL_SLOW | RD_ACL_DANGEROUS, 0, 0,
	       0, "server", "Delete every key", "1.0.0", "O(N) where N is the number of keys"),
	RD_CMD("flushdb", flushall, -1, RD_F_WRITE, KS_W | RD_ACL_SLOW | RD_ACL_DANGEROUS, 0, 0,
	       0, "server", "Delete every key of the (only) database", "1.0.0",
	       "O(N) where N is the number of keys"),
	RD_CMD("keys", keys_cmd, 2, RD_F_READONLY, KS_R | RD_ACL_SLOW | RD_ACL_DANGEROUS, 0, 0, 0,
	       "generic", "Every key matching a pattern", "1.0.0",
	       "O(N) with N being the number of keys in the database"),
	RD_CMD("scan", scan, -2, RD_F_READONLY, KS_R | RD_ACL_SLOW, 0, 0, 0, "generic",
	       "Iterate over the keys", "2.8.0",
	       "O(1) for every call. O(N) for a complete iteration"),
	RD_CMD("randomkey", randomkey, 1, RD_F_READONLY, KS_R | RD_ACL_SLOW, 0, 0, 0, "generic",
	       "A random key", "1.0.0", "O(1)"),
	RD_CMD_END
};
