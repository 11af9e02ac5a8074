/*
 * t_string.c - Redis strings: GET, SET (EX PX EXAT PXAT NX XX KEEPTTL GET),
 * SETEX, PSETEX, SETNX, GETSET, GETDEL, GETEX, MGET, MSET, MSETNX, APPEND,
 * STRLEN, GETRANGE, SETRANGE, INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT.
 *
 * A Redis string is a memcached item (flags 0): reads run on this lcore;
 * every write runs on the key's owner (rd_call), where it reads the current
 * version, decides, writes, and replies.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "redis/cmds.h"
#include "redis/rdutil.h"
#include "redis/server.h"
#include "store/item.h"

/* ---- expiry options ---- */

enum { EXP_NONE, EXP_KEEP, EXP_AT, EXP_PERSIST };

struct expiry_opt {
	uint8_t kind;
	int64_t unix_ms;	/* EXP_AT: the deadline */
	int64_t rel_ms;		/* EX/PX: relative, turned into a deadline on the owner */
	bool relative;
};

/*
 * Parse EX/PX/EXAT/PXAT at argument i (value at i + 1). Redis: a value that
 * is not a positive integer, or overflows once in milliseconds, is "invalid
 * expire time in '<cmd>' command".
 */
static int parse_expiry(struct rd_session *s, uint32_t i, struct expiry_opt *e, const char *cmd)
{
	int64_t v;
	bool ms = rd_arg_is(s, i, "px") || rd_arg_is(s, i, "pxat");
	bool at = rd_arg_is(s, i, "exat") || rd_arg_is(s, i, "pxat");

	if (i + 1 >= rd_argc(s)) {
		rd_err_syntax(s);
		return -1;
	}
	if (!rd_arg_ll(s, i + 1, &v)) {
		rd_err_int(s);
		return -1;
	}
	if (v <= 0 || (!ms && v > INT64_MAX / 1000)) {
		rd_err_fmt(s, "ERR invalid expire time in '%s' command", cmd);
		return -1;
	}
	if (!ms)
		v *= 1000;
	e->kind = EXP_AT;
	e->relative = !at;
	if (at)
		e->unix_ms = v;
	else
		e->rel_ms = v;
	return 0;
}

/* The deadline as the owner's clock sees it; false when it overflows. */
static bool expiry_deadline(const struct expiry_opt *e, const struct wc_clock *c, int64_t *ms)
{
	int64_t now = wc_clock_unix_ms(c);

	if (!e->relative) {
		*ms = e->unix_ms;
		return true;
	}
	if (e->rel_ms > INT64_MAX - now)
		return false;
	*ms = now + e->rel_ms;
	return true;
}

/* ---- GET and friends (reads) ---- */

static enum rd_res get(struct rd_session *s)
{
	struct wc_view v;

	if (!rd_lookup(s, rd_argp(s, 1), rd_arg(s, 1)->len, &v, 0)) {
		resp_null(rd_out(s), s->proto);
		return RD_DONE;
	}
	if (v.type != WC_TYPE_STRING) {
		rd_err_wrongtype(s);
		return RD_DONE;
	}
	resp_bulk(rd_out(s), v.value, v.vlen);
	return RD_DONE;
}

static enum rd_res strlen_cmd(struct rd_session *s)
{
	struct wc_view v;

	if (!rd_lookup(s, rd_argp(s, 1), rd_arg(s, 1)->len, &v, WC_LOOKUP_NO_TOUCH)) {
		resp_int(rd_out(s), 0);
		return RD_DONE;
	}
	if (v.type != WC_TYPE_STRING) {
		rd_err_wrongtype(s);
		return RD_DONE;
	}
	resp_int(rd_out(s), v.vlen);
	return RD_DONE;
}

static enum rd_res getrange(struct rd_session *s)
{
	struct wc_view v;
	int64_t start, end, len;

	if (!rd_arg_ll(s, 2, &start) || !rd_arg_ll(s, 3, &end)) {
		rd_err_int(s);
		return RD_DONE;
	}
	if (!rd_lookup(s, rd_argp(s, 1), rd_arg(s, 1)->len, &v, 0)) {
		resp_bulk(rd_out(s), "", 0);
		return RD_DONE;
	}
	if (v.type != WC_TYPE_STRING) {
		rd_err_wrongtype(s);
		return RD_DONE;
	}
	len = v.vlen;
	if (start < 0 && end < 0 && start > end) {
		resp_bulk(rd_out(s), "", 0);
		return RD_DONE;
	}
	if (start < 0)
		start = len + start;
	if (end < 0)
		end = len + end;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0) {
		resp_bulk(rd_out(s), "", 0);
		return RD_DONE;
	}
	resp_bulk(rd_out(s), v.value + start, (size_t)(end - start + 1));
	return RD_DONE;
}

static enum rd_res mget(struct rd_session *s)
{
	uint32_t argc = rd_argc(s);

	resp_array(rd_out(s), argc - 1);
	for (uint32_t i = 1; i < argc; i++) {
		struct wc_view v;
		const struct resp_arg *k = rd_arg(s, i);

		if (k->kind == RESP_ARG_PTR && rd_lookup(s, k->u.p, k->len, &v, 0) &&
		    v.type == WC_TYPE_STRING)
			resp_bulk(rd_out(s), v.value, v.vlen);
		else
			resp_null(rd_out(s), s->proto);
	}
	return RD_DONE;
}

/* ---- SET ---- */

enum set_flags {
	SET_NX = 1u << 0, SET_XX = 1u << 1, SET_GET = 1u << 2, SET_KEEPTTL = 1u << 3,
	SET_REPLY_INT = 1u << 4,	/* SETNX: :1 / :0 */
	SET_REPLY_OLD = 1u << 5,	/* GETSET */
};

/* What the owner needs for a SET (kept in the session while the call runs). */
struct set_job {
	uint32_t key, val;		/* argument positions */
	uint32_t flags;
	struct expiry_opt exp;
};

_Static_assert(sizeof(struct set_job) <= RD_JOB_BYTES, "the job fits the session");

static void set_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct set_job *j = rd_job_const(s);
	const struct resp_arg *k = rd_arg(s, j->key);
	struct wc_item *old;
	struct rd_value_src src = { .s = s, .arg = j->val };
	struct wc_put_req put = { .key = k->u.p, .klen = k->len, .hash = wc_hash(k->u.p, k->len),
				  .type = WC_TYPE_STRING, .vlen = rd_arg(s, j->val)->len,
				  .fill = rd_fill_arg, .arg = &src };
	enum wc_status st;
	int64_t deadline;

	old = wc_kv_find(o->part, o->ctx, k->u.p, k->len, put.hash);
	if ((j->flags & (SET_GET | SET_REPLY_OLD)) && old && wc_item_type(old) != WC_TYPE_STRING) {
		resp_error(o->out, RD_WRONGTYPE);
		return;
	}
	if ((j->flags & SET_NX && old) || (j->flags & SET_XX && !old)) {
		if (j->flags & SET_REPLY_INT)
			resp_int(o->out, 0);
		else if (j->flags & SET_GET)
			rd_reply_item(o->out, s->proto, old);
		else
			resp_null(o->out, s->proto);
		return;
	}
	if (j->flags & SET_KEEPTTL) {
		put.opts |= WC_PUT_KEEP_TTL;
	} else if (j->exp.kind == EXP_AT) {
		if (!expiry_deadline(&j->exp, &o->ctx->clock, &deadline)) {
			resp_error(o->out, "ERR invalid expire time in 'set' command");
			return;
		}
		if (!wc_expiry_from_unix_ms(&o->ctx->clock, deadline, &put.exptime, &put.exp_ms)) {
			/* a deadline already past: the key is set and gone at once */
			if (j->flags & (SET_GET | SET_REPLY_OLD))
				rd_reply_item(o->out, s->proto, old);
			if (old)
				wc_kv_delete(o->part, o->ctx, k->u.p, k->len, put.hash);
			/* Redis sets it with a past deadline, then it expires (then +OK) */
			rd_keyev_emit_write(o, !old, RD_EV_SET, k->u.p, k->len);
			rd_keyev_emit(o, RD_EV_EXPIRE, k->u.p, k->len);
			rd_keyev_emit(o, RD_EV_EXPIRED, k->u.p, k->len);
			if (!(j->flags & (SET_GET | SET_REPLY_OLD)))
				resp_ok(o->out);
			return;
		}
	}
	/* the old value goes into the reply before the write may reuse its memory */
	if (j->flags & (SET_GET | SET_REPLY_OLD))
		rd_reply_item(o->out, s->proto, old);
	st = wc_kv_put(o->part, o->ctx, &put, NULL);
	if (st == WC_OK) {
		rd_keyev_emit_write(o, !old, RD_EV_SET, k->u.p, k->len);
		if (j->exp.kind == EXP_AT)
			rd_keyev_emit(o, RD_EV_EXPIRE, k->u.p, k->len);
	} else if (old) {
		rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);	/* a refused store drops it */
	}
	if (j->flags & (SET_GET | SET_REPLY_OLD))
		return;
	if (st != WC_OK)
		rd_reply_store_error(o->out, st);
	else if (j->flags & SET_REPLY_INT)
		resp_int(o->out, 1);
	else
		resp_ok(o->out);
}

/* Route the SET's key and run it on the owner (steps 0 and 1 of every SET-like command). */
static enum rd_res run_set(struct rd_session *s)
{
	const struct set_job *j = rd_job_const(s);
	struct rd_route rt;

	if (s->step == 0) {
		enum rd_res r;

		rd_route_key(s, rd_argp(s, j->key), rd_arg(s, j->key)->len, &rt);
		r = rd_call(s, &rt, set_owner, true, 0, rd_argp(s, j->key), rd_arg(s, j->key)->len);
		if (r == RD_BUSY)
			return r;
		s->step = 1;
		return r;
	}
	return RD_DONE;
}

static enum rd_res set(struct rd_session *s)
{
	struct set_job *j = rd_job(s);

	if (s->step == 0) {
		uint32_t argc = rd_argc(s);

		*j = (struct set_job){ .key = 1, .val = 2 };
		for (uint32_t i = 3; i < argc; i++) {
			if (rd_arg_is(s, i, "nx") && !(j->flags & SET_XX)) {
				j->flags |= SET_NX;
			} else if (rd_arg_is(s, i, "xx") && !(j->flags & SET_NX)) {
				j->flags |= SET_XX;
			} else if (rd_arg_is(s, i, "get")) {
				j->flags |= SET_GET;
			} else if (rd_arg_is(s, i, "keepttl") && j->exp.kind == EXP_NONE) {
				j->flags |= SET_KEEPTTL;
				j->exp.kind = EXP_KEEP;
			} else if ((rd_arg_is(s, i, "ex") || rd_arg_is(s, i, "px") ||
				    rd_arg_is(s, i, "exat") || rd_arg_is(s, i, "pxat")) &&
				   j->exp.kind == EXP_NONE && i + 1 < argc) {
				if (parse_expiry(s, i, &j->exp, "set") < 0)
					return RD_DONE;
				i++;
			} else {
				rd_err_syntax(s);
				return RD_DONE;
			}
		}
	}
	return run_set(s);
}

static enum rd_res setex_common(struct rd_session *s, bool ms)
{
	struct set_job *j = rd_job(s);

	if (s->step == 0) {
		int64_t v;

		*j = (struct set_job){ .key = 1, .val = 3 };
		if (!rd_arg_ll(s, 2, &v)) {
			rd_err_int(s);
			return RD_DONE;
		}
		if (v <= 0 || (!ms && v > INT64_MAX / 1000)) {
			rd_err_fmt(s, "ERR invalid expire time in '%s' command", ms ? "psetex" : "setex");
			return RD_DONE;
		}
		j->exp = (struct expiry_opt){ .kind = EXP_AT, .relative = true,
					      .rel_ms = ms ? v : v * 1000 };
	}
	return run_set(s);
}

static enum rd_res setex(struct rd_session *s)
{
	return setex_common(s, false);
}

static enum rd_res psetex(struct rd_session *s)
{
	return setex_common(s, true);
}

static enum rd_res setnx(struct rd_session *s)
{
	if (s->step == 0)
		*(struct set_job *)rd_job(s) = (struct set_job){ .key = 1, .val = 2, .flags = SET_NX | SET_REPLY_INT };
	return run_set(s);
}

static enum rd_res getset(struct rd_session *s)
{
	if (s->step == 0)
		*(struct set_job *)rd_job(s) = (struct set_job){ .key = 1, .val = 2, .flags = SET_REPLY_OLD };
	return run_set(s);
}

/* ---- GETDEL, GETEX ---- */

struct getex_job {
	bool del;
	struct expiry_opt exp;
};

static void getex_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct getex_job *j = rd_job_const(s);
	const struct resp_arg *k = rd_arg(s, 1);
	uint64_t h = wc_hash(k->u.p, k->len);
	struct wc_item *it = wc_kv_find(o->part, o->ctx, k->u.p, k->len, h);
	int64_t deadline;
	uint32_t exptime = 0, ms = 0;
	bool gone;

	if (!it) {
		o->ctx->st.get_misses++;
		resp_null(o->out, s->proto);
		return;
	}
	o->ctx->st.get_hits++;
	if (wc_item_type(it) != WC_TYPE_STRING) {
		resp_error(o->out, RD_WRONGTYPE);
		return;
	}
	rd_reply_item(o->out, s->proto, it);
	if (j->del) {
		wc_kv_delete(o->part, o->ctx, k->u.p, k->len, h);
		rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);
	} else if (j->exp.kind == EXP_PERSIST) {
		uint32_t cur_t, cur_ms;

		wc_kv_expiry(it, &cur_t, &cur_ms);
		wc_kv_expire(o->part, o->ctx, k->u.p, k->len, h, 0, 0, &gone);
		if (cur_t)
			rd_keyev_emit(o, RD_EV_PERSIST, k->u.p, k->len);
	} else if (j->exp.kind == EXP_AT) {
		if (!expiry_deadline(&j->exp, &o->ctx->clock, &deadline) ||
		    !wc_expiry_from_unix_ms(&o->ctx->clock, deadline, &exptime, &ms)) {
			wc_kv_delete(o->part, o->ctx, k->u.p, k->len, h);	/* due already */
			rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);
			return;
		}
		wc_kv_expire(o->part, o->ctx, k->u.p, k->len, h, exptime, ms, &gone);
		rd_keyev_emit(o, RD_EV_EXPIRE, k->u.p, k->len);
	}
}

static enum rd_res getex_run(struct rd_session *s)
{
	struct rd_route rt;
	enum rd_res r;

	if (s->step)
		return RD_DONE;
	rd_route_key(s, rd_argp(s, 1), rd_arg(s, 1)->len, &rt);
	r = rd_call(s, &rt, getex_owner, true, 0, rd_argp(s, 1), rd_arg(s, 1)->len);
	if (r != RD_BUSY)
		s->step = 1;
	return r;
}

static enum rd_res getdel(struct rd_session *s)
{
	if (s->step == 0)
		*(struct getex_job *)rd_job(s) = (struct getex_job){ .del = true };
	return getex_run(s);
}

static enum rd_res getex(struct rd_session *s)
{
	struct getex_job *j = rd_job(s);

	if (s->step == 0) {
		uint32_t argc = rd_argc(s);

		*j = (struct getex_job){ 0 };
		for (uint32_t i = 2; i < argc; i++) {
			if (rd_arg_is(s, i, "persist") && j->exp.kind == EXP_NONE) {
				j->exp.kind = EXP_PERSIST;
			} else if ((rd_arg_is(s, i, "ex") || rd_arg_is(s, i, "px") ||
				    rd_arg_is(s, i, "exat") || rd_arg_is(s, i, "pxat")) &&
				   j->exp.kind == EXP_NONE && i + 1 < argc) {
				if (parse_expiry(s, i, &j->exp, "getex") < 0)
					return RD_DONE;
				i++;
			} else {
				rd_err_syntax(s);
				return RD_DONE;
			}
		}
		if (j->exp.kind == EXP_NONE) {
			/* a plain read: no need to trouble the owner */
			s->step = 1;
			return get(s);
		}
	}
	return getex_run(s);
}

/* ---- MSET, MSETNX ---- */

static void mset_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	uint32_t argc = rd_argc(s);

	for (uint32_t i = 1; i + 1 < argc; i += 2) {
		const struct resp_arg *k = rd_arg(s, i);
		struct rd_route rt;
		struct rd_value_src src = { .s = s, .arg = i + 1 };
		struct wc_put_req put = { .key = k->u.p, .klen = k->len,
					  .hash = wc_hash(k->u.p, k->len), .type = WC_TYPE_STRING,
					  .vlen = rd_arg(s, i + 1)->len, .fill = rd_fill_arg,
					  .arg = &src };

		bool created;

		rd_route_key(s, k->u.p, k->len, &rt);
		if (rt.part_idx != o->arg0)
			continue;
		created = rd_keyev_on(o->ctx) && !wc_kv_find(o->part, o->ctx, k->u.p, k->len, put.hash);
		if (wc_kv_put(o->part, o->ctx, &put, NULL) != WC_OK)
			o->acc2++;
		else
			rd_keyev_emit_write(o, created, RD_EV_SET, k->u.p, k->len);
	}
}

static enum rd_res mset(struct rd_session *s)
{
	enum rd_res r;

	if (rd_argc(s) % 2 == 0) {
		rd_err_arity(s);
		return RD_DONE;
	}
	r = rd_fanout(s, 1, 2, mset_owner);
	if (r != RD_DONE)
		return r;
	if (s->acc2) {
		rd_reply_store_error(rd_out(s), WC_ERR_NOMEM);
		s->oom_refused = true;	/* a rejected call, as Redis counts it */
	}
	else
		resp_ok(rd_out(s));
	return RD_DONE;
}

/* MSETNX: all or nothing, so all its keys must live in one partition (else CROSSSLOT). */
static void msetnx_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	uint32_t argc = rd_argc(s);

	for (uint32_t i = 1; i + 1 < argc; i += 2) {
		const struct resp_arg *k = rd_arg(s, i);

		if (wc_kv_find(o->part, o->ctx, k->u.p, k->len, wc_hash(k->u.p, k->len))) {
			resp_int(o->out, 0);
			return;
		}
	}
	o->arg0 = UINT32_MAX;
	for (uint32_t i = 1; i + 1 < argc; i += 2) {
		const struct resp_arg *k = rd_arg(s, i);
		struct rd_value_src src = { .s = s, .arg = i + 1 };
		struct wc_put_req put = { .key = k->u.p, .klen = k->len,
					  .hash = wc_hash(k->u.p, k->len), .type = WC_TYPE_STRING,
					  .vlen = rd_arg(s, i + 1)->len, .fill = rd_fill_arg,
					  .arg = &src };

		if (wc_kv_put(o->part, o->ctx, &put, NULL) == WC_OK)
			rd_keyev_emit_write(o, true, RD_EV_SET, k->u.p, k->len);
	}
	resp_int(o->out, 1);
}

static enum rd_res msetnx(struct rd_session *s)
{
	struct rd_route rt;
	enum rd_res r;

	if (rd_argc(s) % 2 == 0) {
		rd_err_arity(s);
		return RD_DONE;
	}
	if (s->step)
		return RD_DONE;
	if (!rd_keys_one_partition(s, 1, 2, &rt)) {
		rd_err(s, RD_CROSSSLOT);
		return RD_DONE;
	}
	r = rd_call(s, &rt, msetnx_owner, true, 0, rd_argp(s, 1), rd_arg(s, 1)->len);
	if (r != RD_BUSY)
		s->step = 1;
	return r;
}

/* ---- APPEND, SETRANGE ---- */

struct splice {
	const struct rd_session *s;
	uint32_t arg;		/* the new bytes */
	uint64_t at;		/* where they go */
};

/* old bytes, zeros up to at, the argument at at, the rest of the old bytes */
static void fill_splice(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	const struct splice *sp = arg;
	uint64_t oldlen = old ? wc_item_vlen(old) : 0, n = rd_arg(sp->s, sp->arg)->len;

	if (oldlen)
		memcpy(dst, wc_item_value(old), oldlen < vlen ? oldlen : vlen);
	if (sp->at > oldlen)
		memset(dst + oldlen, 0, sp->at - oldlen);
	resp_arg_read(rd_arg(sp->s, sp->arg), sp->s->in, 0, dst + sp->at, n);
}

static void splice_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct resp_arg *k = rd_arg(s, 1);
	bool append = rd_arg_is(s, 0, "append");
	uint32_t varg = append ? 2 : 3;
	uint64_t h = wc_hash(k->u.p, k->len), n = rd_arg(s, varg)->len, oldlen, vlen;
	struct splice sp = { .s = s, .arg = varg };
	struct wc_put_req put = { .key = k->u.p, .klen = k->len, .hash = h,
				  .type = WC_TYPE_STRING, .fill = fill_splice, .arg = &sp,
				  .opts = WC_PUT_KEEP_TTL | WC_PUT_NEEDS_OLD };
	int64_t offset = 0;
	enum wc_status st;

	if (!append)
		(void)rd_arg_ll(s, 2, &offset);	/* (checked by the handler) */
	for (int tries = 0; tries < 8; tries++) {
		struct wc_item *old = wc_kv_find(o->part, o->ctx, k->u.p, k->len, h);

		if (old && wc_item_type(old) != WC_TYPE_STRING) {
			resp_error(o->out, RD_WRONGTYPE);
			return;
		}
		oldlen = old ? wc_item_vlen(old) : 0;
		sp.at = append ? oldlen : (uint64_t)offset;
		vlen = sp.at + n > oldlen ? sp.at + n : oldlen;
		if (!append && n == 0) {
			resp_int(o->out, (int64_t)oldlen);	/* nothing to write, nothing created */
			return;
		}
		if (vlen > rd_server(s)->proto_max_bulk_len) {
			resp_error(o->out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
			return;
		}
		put.vlen = vlen;
		if (!old)
			put.opts &= ~WC_PUT_NEEDS_OLD;
		st = wc_kv_put(o->part, o->ctx, &put, NULL);
		if (st == WC_NOT_FOUND)
			continue;	/* the old version was evicted while room was made: again */
		if (st != WC_OK) {
			rd_reply_store_error(o->out, st);
		} else {
			/* (Redis notifies, then replies) */
			rd_keyev_emit_write(o, !old, append ? RD_EV_APPEND : RD_EV_SETRANGE, k->u.p,
					    k->len);
			resp_int(o->out, (int64_t)vlen);
		}
		return;
	}
	resp_error(o->out, "ERR the key kept changing; try again");
}

static enum rd_res splice_run(struct rd_session *s)
{
	struct rd_route rt;
	enum rd_res r;

	if (s->step)
		return RD_DONE;
	rd_route_key(s, rd_argp(s, 1), rd_arg(s, 1)->len, &rt);
	r = rd_call(s, &rt, splice_owner, true, 0, rd_argp(s, 1), rd_arg(s, 1)->len);
	if (r != RD_BUSY)
		s->step = 1;
	return r;
}

static enum rd_res append(struct rd_session *s)
{
	return splice_run(s);
}

static enum rd_res setrange(struct rd_session *s)
{
	int64_t off;

	if (s->step == 0) {
		if (!rd_arg_ll(s, 2, &off)) {
			rd_err_int(s);
			return RD_DONE;
		}
		if (off < 0) {
			rd_err(s, "ERR offset is out of range");
			return RD_DONE;
		}
		if ((uint64_t)off + rd_arg(s, 3)->len > rd_server(s)->proto_max_bulk_len) {
			rd_err(s, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
			return RD_DONE;
		}
	}
	return splice_run(s);
}

/* ---- INCR family ---- */

struct incr_job {
	int64_t delta;
	long double fdelta;
	bool is_float;
};

static void incr_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct incr_job *j = rd_job_const(s);
	const struct resp_arg *k = rd_arg(s, 1);
	uint64_t h = wc_hash(k->u.p, k->len);
	struct wc_item *old = wc_kv_find(o->part, o->ctx, k->u.p, k->len, h);
	char buf[5200];
	struct rd_bytes b = { .p = (const uint8_t *)buf };
	struct wc_put_req put = { .key = k->u.p, .klen = k->len, .hash = h,
				  .type = WC_TYPE_STRING, .fill = rd_fill_bytes, .arg = &b,
				  .opts = WC_PUT_KEEP_TTL };
	enum wc_status st;

	if (old && wc_item_type(old) != WC_TYPE_STRING) {
		resp_error(o->out, RD_WRONGTYPE);
		return;
	}
	if (j->is_float) {
		long double cur = 0, next;

		if (old && !rd_parse_ld(wc_item_value(old), wc_item_vlen(old), &cur)) {
			resp_error(o->out, "ERR value is not a valid float");
			return;
		}
		next = cur + j->fdelta;
		if (isnan(next) || isinf(next)) {
			resp_error(o->out, "ERR increment would produce NaN or Infinity");
			return;
		}
		b.n = resp_fmt_long_double(buf, sizeof(buf), next);
		put.vlen = b.n;
		st = wc_kv_put(o->part, o->ctx, &put, NULL);
		if (st != WC_OK) {
			rd_reply_store_error(o->out, st);
		} else {
			rd_keyev_emit_write(o, !old, RD_EV_INCRBYFLOAT, k->u.p, k->len);
			resp_bulk(o->out, buf, b.n);
		}
		return;
	}
	{
		int64_t cur = 0, next;

		if (old && !rd_parse_ll(wc_item_value(old), wc_item_vlen(old), &cur)) {
			resp_error(o->out, "ERR value is not an integer or out of range");
			return;
		}
		if ((j->delta < 0 && cur < 0 && j->delta < INT64_MIN - cur) ||
		    (j->delta > 0 && cur > 0 && j->delta > INT64_MAX - cur)) {
			resp_error(o->out, "ERR increment or decrement would overflow");
			return;
		}
		next = cur + j->delta;
		b.n = (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)next);
		put.vlen = b.n;
		st = wc_kv_put(o->part, o->ctx, &put, NULL);
		if (st != WC_OK) {
			rd_reply_store_error(o->out, st);
		} else {
			rd_keyev_emit_write(o, !old, RD_EV_INCRBY, k->u.p, k->len);
			resp_int(o->out, next);
		}
	}
}

static enum rd_res incr_run(struct rd_session *s)
{
	struct rd_route rt;
	enum rd_res r;

	if (s->step)
		return RD_DONE;
	rd_route_key(s, rd_argp(s, 1), rd_arg(s, 1)->len, &rt);
	r = rd_call(s, &rt, incr_owner, true, 0, rd_argp(s, 1), rd_arg(s, 1)->len);
	if (r != RD_BUSY)
		s->step = 1;
	return r;
}

static enum rd_res incr_by(struct rd_session *s, int64_t delta)
{
	if (s->step == 0)
		*(struct incr_job *)rd_job(s) = (struct incr_job){ .delta = delta };
	return incr_run(s);
}

static enum rd_res incr(struct rd_session *s)
{
	return incr_by(s, 1);
}

static enum rd_res decr(struct rd_session *s)
{
	return incr_by(s, -1);
}

static enum rd_res incrby(struct rd_session *s)
{
	int64_t d = 0;

	if (s->step == 0 && !rd_arg_ll(s, 2, &d)) {
		rd_err_int(s);
		return RD_DONE;
	}
	return incr_by(s, d);
}

static enum rd_res decrby(struct rd_session *s)
{
	int64_t d = 0;

	if (s->step == 0) {
		if (!rd_arg_ll(s, 2, &d)) {
			rd_err_int(s);
			return RD_DONE;
		}
		if (d == INT64_MIN) {
			rd_err(s, "ERR decrement would overflow");
			return RD_DONE;
		}
	}
	return incr_by(s, -d);
}

static enum rd_res incrbyfloat(struct rd_session *s)
{
	if (s->step == 0) {
		long double d;

		if (!rd_arg_ld(s, 2, &d)) {
			rd_err(s, "ERR value is not a valid float");
			return RD_DONE;
		}
		*(struct incr_job *)rd_job(s) = (struct incr_job){ .fdelta = d, .is_float = true };
	}
	return incr_run(s);
}

#define STR_W (RD_ACL_WRITE | RD_ACL_STRING)
#define STR_R (RD_ACL_READ | RD_ACL_STRING)

/*
 * SET's key spec has variable flags: with a GET option the key is read and
 * updated, else only overwritten (what COMMAND GETKEYSANDFLAGS tells).
 */
static uint16_t set_key_flags(const struct resp_cmd *cmd, uint32_t pos)
{
	(void)pos;
	for (uint32_t i = 3; i < cmd->argc; i++)
		if (resp_arg_is(resp_argv(cmd, i), "get"))
			return RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE;
	return RD_KS_OW | RD_KS_UPDATE;
}

struct rd_cmd rd_cmds_string[] = {
	RD_CMD("get", get, 2, RD_F_READONLY | RD_F_FAST, STR_R | RD_ACL_FAST, 1, 1, 1, "string",
	       "Get the value of a key", "1.0.0", "O(1)"),
	RD_CMD_VKS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE | RD_KS_VARIABLE_FLAGS,
		  "set", set, -3, RD_F_WRITE | RD_F_DENYOOM, STR_W | RD_ACL_SLOW, 1, 1, 1, "string",
		  "Set the value of a key, with an expiry and conditions", "1.0.0", "O(1)",
		  set_key_flags),
	RD_CMD_KS(RD_KS_OW | RD_KS_UPDATE,
		  "setex", setex, 4, RD_F_WRITE | RD_F_DENYOOM, STR_W | RD_ACL_SLOW, 1, 1, 1,
		  "string", "Set a value that expires in seconds", "2.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_OW | RD_KS_UPDATE,
		  "psetex", psetex, 4, RD_F_WRITE | RD_F_DENYOOM, STR_W | RD_ACL_SLOW, 1, 1, 1,
		  "string", "Set a value that expires in milliseconds", "2.6.0", "O(1)"),
	RD_CMD_KS(RD_KS_OW | RD_KS_INSERT,
		  "setnx", setnx, 3, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, STR_W | RD_ACL_FAST, 1, 1,
		  1, "string", "Set a value only if the key does not exist", "1.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE,
		  "getset", getset, 3, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, STR_W | RD_ACL_FAST, 1,
		  1, 1, "string", "Set a value and return the old one", "1.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE,
		  "getdel", getdel, 2, RD_F_WRITE | RD_F_FAST, STR_W | RD_ACL_FAST, 1, 1, 1, "string",
		  "Get a value and delete the key", "6.2.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE,
		  "getex", getex, -2, RD_F_WRITE | RD_F_FAST, STR_W | RD_ACL_FAST, 1, 1, 1, "string",
		  "Get a value and change its expiry", "6.2.0", "O(1)"),
	RD_CMD("mget", mget, -2, RD_F_READONLY | RD_F_FAST, STR_R | RD_ACL_FAST, 1, -1, 1,
	       "string", "Get the values of several keys", "1.0.0",
	       "O(N) where N is the number of keys"),
	RD_CMD_KS(RD_KS_OW | RD_KS_UPDATE,
		  "mset", mset, -3, RD_F_WRITE | RD_F_DENYOOM, STR_W | RD_ACL_SLOW, 1, -1, 2, "string",
		  "Set several keys", "1.0.1", "O(N) where N is the number of keys"),
	RD_CMD_KS(RD_KS_OW | RD_KS_INSERT,
		  "msetnx", msetnx, -3, RD_F_WRITE | RD_F_DENYOOM, STR_W | RD_ACL_SLOW, 1, -1, 2,
		  "string", "Set several keys only if none of them exists", "1.0.1",
		  "O(N) where N is the number of keys"),
	RD_CMD_KS(RD_KS_RW | RD_KS_INSERT,
		  "append", append, 3, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, STR_W | RD_ACL_FAST, 1,
		  1, 1, "string", "Append to a string", "2.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RO,
		  "strlen", strlen_cmd, 2, RD_F_READONLY | RD_F_FAST, STR_R | RD_ACL_FAST, 1, 1, 1,
		  "string", "Length of a string", "2.2.0", "O(1)"),
	RD_CMD("getrange", getrange, 4, RD_F_READONLY, STR_R | RD_ACL_SLOW, 1, 1, 1, "string",
	       "A substring of a string", "2.4.0", "O(N) where N is the length returned"),
	RD_CMD("setrange", setrange, 4, RD_F_WRITE | RD_F_DENYOOM, STR_W | RD_ACL_SLOW, 1, 1, 1,
	       "string", "Overwrite part of a string at an offset", "2.2.0", "O(1), O(M) to copy"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE,
		  "incr", incr, 2, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, STR_W | RD_ACL_FAST, 1, 1, 1,
		  "string", "Add 1 to an integer", "1.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE,
		  "decr", decr, 2, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, STR_W | RD_ACL_FAST, 1, 1, 1,
		  "string", "Subtract 1 from an integer", "1.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE,
		  "incrby", incrby, 3, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, STR_W | RD_ACL_FAST, 1,
		  1, 1, "string", "Add to an integer", "1.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE,
		  "decrby", decrby, 3, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, STR_W | RD_ACL_FAST, 1,
		  1, 1, "string", "Subtract from an integer", "1.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE,
		  "incrbyfloat", incrbyfloat, 3, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST,
		  STR_W | RD_ACL_FAST, 1, 1, 1, "string", "Add to a floating point number", "2.6.0",
		  "O(1)"),
	RD_CMD_END
};
