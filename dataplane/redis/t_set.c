/*
 * t_set.c - Redis sets: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD,
 * SPOP (with count), SRANDMEMBER (count, negative count), SMOVE, SSCAN,
 * SINTER, SUNION, SDIFF, SINTERCARD (numkeys, LIMIT), SINTERSTORE,
 * SUNIONSTORE, SDIFFSTORE.
 *
 * A set is a container in the store (store/container.h). Reads, the set
 * algebra included, run on this lcore over any partitions, lock-free; each
 * set is read consistently (a snapshot walk, or member lookups), sets in
 * different partitions are not read at one instant. Writes run on the key's
 * owner; SMOVE and the *STORE commands need every key in one partition
 * (else CROSSSLOT) and run there as one owner call, so they are atomic.
 */
#include <string.h>

#include "redis/cmds.h"
#include "redis/keyev.h"
#include "redis/rdcont.h"
#include "redis/rdutil.h"

#define ST WC_TYPE_SET

/* ---- single-set reads ---- */

static int sismember_body(struct rd_session *s)
{
	return rd_cmember_int(s, ST, false);
}

static enum rd_res sismember(struct rd_session *s)
{
	return rd_cread(s, sismember_body);
}

static int smismember_body(struct rd_session *s)
{
	struct rd_cview cv;
	struct rd_refs found = { 0 };
	int r = rd_copen(s, 1, ST, 0, &cv);
	uint32_t argc = rd_argc(s);

	if (r == RD_CO_WRONGTYPE) {
		rd_err_wrongtype(s);
		return RD_R_DONE;
	}
	if (r == RD_CO_FOUND) {
		for (uint32_t i = 2; i < argc; i++) {
			struct rd_argsrc as;
			struct wc_cbytes mb;
			struct wc_cmember m = { 0 };

			rd_arg_bytes(s, i, &as, &mb);
			r = wc_c_find(cv.part, rd_env(s)->ctx, &cv.h, &mb, &m);
			if (r == WC_C_RETRY)
				return RD_R_RETRY;
			m.nlen = r == WC_C_OK;
			if (!rd_refs_add(s, &found, &m)) {
				rd_err_scratch(s);
				return RD_R_DONE;
			}
		}
	}
	resp_array(rd_out(s), argc - 2);
	for (uint32_t i = 0; i < argc - 2; i++)
		resp_int(rd_out(s), i < found.n ? rd_refs_at(&found, i)->nlen : 0);
	return RD_R_DONE;
}

static enum rd_res smismember(struct rd_session *s)
{
	return rd_cread(s, smismember_body);
}

static int scard_body(struct rd_session *s)
{
	return rd_ccard(s, ST);
}

static enum rd_res scard(struct rd_session *s)
{
	return rd_cread(s, scard_body);
}

static int srandmember_body(struct rd_session *s)
{
	int64_t l = 0;

	if (rd_argc(s) > 3) {
		rd_err_syntax(s);
		return RD_R_DONE;
	}
	if (rd_argc(s) == 3 && !rd_ccount_arg(s, 2, &l))
		return RD_R_DONE;
	return rd_crandom(s, ST, rd_argc(s) == 3, l, false);
}

static enum rd_res srandmember(struct rd_session *s)
{
	return rd_cread(s, srandmember_body);
}

static int sscan_body(struct rd_session *s)
{
	return rd_cscan(s, ST);
}

static enum rd_res sscan(struct rd_session *s)
{
	return rd_cread(s, sscan_body);
}

/* ---- set algebra (reads) ---- */

enum { OP_INTER, OP_UNION, OP_DIFF };

/* The sets at arguments first .. first + n - 1: NULL for a missing key. */
struct sets {
	uint32_t n;
	struct rd_cview **cv;
	struct wc_csnap **snap;
};

static bool same_key(const struct rd_cview *a, const struct rd_cview *b)
{
	return a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0;
}

/* Open every set, in order (the first of another type answers WRONGTYPE): -1 replied. */
static int sets_open(struct rd_session *s, uint32_t first, uint32_t n, struct sets *ss,
		     uint32_t *missing)
{
	ss->n = n;
	ss->cv = rd_scratch(s, n * sizeof(*ss->cv));
	ss->snap = rd_scratch(s, n * sizeof(*ss->snap));
	*missing = 0;
	if (!ss->cv || !ss->snap) {
		rd_err_scratch(s);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct rd_cview cv;
		int r = rd_copen(s, first + i, ST, 0, &cv);

		ss->snap[i] = NULL;
		ss->cv[i] = NULL;
		if (r == RD_CO_WRONGTYPE) {
			rd_err_wrongtype(s);
			return -1;
		}
		if (r == RD_CO_MISSING) {
			(*missing)++;
			continue;
		}
		if (!(ss->cv[i] = rd_scratch(s, sizeof(cv)))) {
			rd_err_scratch(s);
			return -1;
		}
		*ss->cv[i] = cv;
	}
	return 0;
}

/* Snapshot set i (once): RD_R_DONE, RD_R_RETRY, or -1 replied (out of memory). */
static int sets_snap(struct rd_session *s, struct sets *ss, uint32_t i)
{
	int r;

	if (!ss->cv[i] || ss->snap[i])
		return RD_R_DONE;
	if (!(ss->snap[i] = rd_scratch(s, sizeof(struct wc_csnap)))) {
		rd_err_scratch(s);
		return -1;
	}
	r = rd_csnap(s, ss->cv[i], ss->snap[i]);
	if (r == WC_C_NOMEM) {
		rd_err_scratch(s);
		return -1;
	}
	return r == WC_C_OK ? RD_R_DONE : RD_R_RETRY;
}

/*
 * SINTER and SINTERCARD: the members of the smallest set found in every
 * other one; limit (SINTERCARD) stops counting early.
 */
static int inter_body(struct rd_session *s, uint32_t first, uint32_t n, bool card,
		      uint64_t limit)
{
	struct sets ss;
	struct rd_refs res = { 0 };
	struct wc_csnap_it it = { 0 };
	struct wc_cmember m;
	uint32_t missing, small = 0;
	uint64_t count = 0;
	int r;

	if (sets_open(s, first, n, &ss, &missing) < 0)
		return RD_R_DONE;
	if (missing) {
		if (card)
			resp_int(rd_out(s), 0);
		else
			resp_set(rd_out(s), s->proto, 0);
		return RD_R_DONE;
	}
	for (uint32_t i = 1; i < n; i++)
		if (ss.cv[i]->h.count < ss.cv[small]->h.count)
			small = i;
	r = sets_snap(s, &ss, small);
	if (r != RD_R_DONE)
		return r < 0 ? RD_R_DONE : r;
	while (wc_csnap_next(ss.snap[small], &it, &m)) {
		struct wc_cbytes mb = wc_cbytes_of(m.name, m.nlen);
		struct wc_cmember x;
		uint32_t j;

		for (j = 0; j < n; j++) {
			if (j == small || same_key(ss.cv[j], ss.cv[small]))
				continue;
			r = wc_c_find(ss.cv[j]->part, rd_env(s)->ctx, &ss.cv[j]->h, &mb, &x);
			if (r == WC_C_RETRY)
				return RD_R_RETRY;
			if (r != WC_C_OK)
				break;
		}
		if (j < n)
			continue;
		count++;
		if (card) {
			if (limit && count >= limit)
				break;
		} else if (!rd_refs_add(s, &res, &m)) {
			rd_err_scratch(s);
			return RD_R_DONE;
		}
	}
	if (card) {
		resp_int(rd_out(s), (int64_t)count);
		return RD_R_DONE;
	}
	resp_set(rd_out(s), s->proto, res.n);
	for (uint32_t i = 0; i < res.n; i++) {
		const struct wc_cmember *e = rd_refs_at(&res, i);

		resp_bulk(rd_out(s), e->name, e->nlen);
	}
	return RD_R_DONE;
}

/* Is m in snapshot j? */
static bool in_snap(const struct sets *ss, uint32_t j, const struct wc_cmember *m)
{
	struct wc_cbytes mb = wc_cbytes_of(m->name, m->nlen);
	struct wc_cmember x;

	return ss->snap[j] && wc_csnap_find(ss->snap[j], &mb, &x);
}

/*
 * SUNION and SDIFF over snapshots of every set, in two passes (count, then
 * write) that see the same members.
 */
static int union_diff_body(struct rd_session *s, uint32_t first, uint32_t n, int op)
{
	struct sets ss;
	uint32_t missing;
	int64_t total = 0;
	bool sameset = false;

	if (sets_open(s, first, n, &ss, &missing) < 0)
		return RD_R_DONE;
	for (uint32_t i = 0; i < n; i++) {
		int r = sets_snap(s, &ss, i);

		if (r != RD_R_DONE)
			return r < 0 ? RD_R_DONE : r;
		if (i > 0 && ss.cv[0] && ss.cv[i] && same_key(ss.cv[0], ss.cv[i]))
			sameset = true;
	}
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			resp_set(rd_out(s), s->proto, total);
		for (uint32_t i = 0; i < n; i++) {
			struct wc_csnap_it it = { 0 };
			struct wc_cmember m;

			/* a missing key is an empty set; a difference walks the first set only */
			if (op == OP_DIFF && (i > 0 || sameset))
				break;
			if (!ss.snap[i])
				continue;
			while (wc_csnap_next(ss.snap[i], &it, &m)) {
				uint32_t j;

				if (op == OP_UNION) {
					for (j = 0; j < i && !in_snap(&ss, j, &m); j++)
						;
					if (j < i)
						continue;
				} else {
					for (j = 1; j < n && !in_snap(&ss, j, &m); j++)
						;
					if (j < n)
						continue;
				}
				if (pass == 0)
					total++;
				else
					resp_bulk(rd_out(s), m.name, m.nlen);
			}
		}
	}
	return RD_R_DONE;
}

static int sinter_body(struct rd_session *s)
{
	return inter_body(s, 1, rd_argc(s) - 1, false, 0);
}

static int smembers_body(struct rd_session *s)
{
	return inter_body(s, 1, 1, false, 0);
}

static int sunion_body(struct rd_session *s)
{
	return union_diff_body(s, 1, rd_argc(s) - 1, OP_UNION);
}

static int sdiff_body(struct rd_session *s)
{
	return union_diff_body(s, 1, rd_argc(s) - 1, OP_DIFF);
}

static enum rd_res sinter(struct rd_session *s)
{
	return rd_cread(s, sinter_body);
}

static enum rd_res smembers(struct rd_session *s)
{
	return rd_cread(s, smembers_body);
}

static enum rd_res sunion(struct rd_session *s)
{
	return rd_cread(s, sunion_body);
}

static enum rd_res sdiff(struct rd_session *s)
{
	return rd_cread(s, sdiff_body);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static int sintercard_body(struct rd_session *s)
{
	int64_t numkeys, limit = 0;
	uint32_t argc = rd_argc(s);

	if (!rd_arg_ll(s, 1, &numkeys) || numkeys < 1) {
		rd_err(s, "ERR numkeys should be greater than 0");
		return RD_R_DONE;
	}
	if (numkeys > (int64_t)argc - 2) {
		rd_err(s, "ERR Number of keys can't be greater than number of args");
		return RD_R_DONE;
	}
	for (uint32_t j = 2 + (uint32_t)numkeys; j < argc; j++) {
		if (rd_arg_is(s, j, "limit") && j + 1 < argc) {
			j++;
			if (!rd_arg_ll(s, j, &limit) || limit < 0) {
				rd_err(s, "ERR LIMIT can't be negative");
				return RD_R_DONE;
			}
		} else {
			rd_err_syntax(s);
			return RD_R_DONE;
		}
	}
	return inter_body(s, 2, (uint32_t)numkeys, true, (uint64_t)limit);
}

static enum rd_res sintercard(struct rd_session *s)
{
	return rd_cread(s, sintercard_body);
}

static unsigned sintercard_keys(const struct resp_cmd *cmd, uint32_t *pos, unsigned max)
{
	const struct resp_arg *a = resp_argv(cmd, 1);
	int64_t numkeys;
	unsigned n = 0;

	if (cmd->argc < 3 || a->kind != RESP_ARG_PTR || !rd_parse_ll(a->u.p, a->len, &numkeys) ||
	    numkeys < 1 || numkeys > (int64_t)cmd->argc - 2)
		return 0;
	for (uint32_t i = 2; i < 2 + (uint32_t)numkeys && n < max; i++)
		pos[n++] = i;
	return n;
}

/* ---- writes (on the key's owner) ---- */

static enum wc_status member_op(struct rd_owner *o, const struct resp_arg *k, uint32_t mi,
				enum wc_cop op, struct wc_cupd *res)
{
	struct rd_argsrc as;
	struct wc_cbytes mb;

	rd_arg_bytes(o->s, mi, &as, &mb);
	return wc_c_update(o->part, o->ctx, k->u.p, k->len, wc_hash(k->u.p, k->len), ST, op, &mb,
			   NULL, res);
}

/* SADD and SREM */
static void sadd_srem_owner(struct rd_owner *o, enum wc_cop op)
{
	const struct rd_session *s = o->s;
	const struct resp_arg *k = rd_arg(s, 1);
	int64_t n = 0;
	bool wrong, missing, removed = false, failed = false;

	missing = rd_cfind(o, k->u.p, k->len, ST, &wrong) == NULL;
	if (wrong) {
		resp_error(o->out, RD_WRONGTYPE);
		return;
	}
	for (uint32_t i = 2; i < rd_argc(s) && !removed; i++) {
		struct wc_cupd res;
		enum wc_status st = member_op(o, k, i, op, &res);

		if (st != WC_OK) {
			rd_creply_error(o->out, st);
			failed = true;
			break;
		}
		n += res.outcome == (op == WC_COP_DEL ? WC_COUT_DELETED : WC_COUT_ADDED);
		removed = res.key_removed;
	}
	/* (Redis notifies, then replies) */
	if (n && op == WC_COP_DEL) {
		rd_keyev_emit(o, RD_EV_SREM, k->u.p, k->len);
		if (removed)
			rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);
	} else if (n) {
		rd_keyev_emit_write(o, missing, RD_EV_SADD, k->u.p, k->len);
	}
	if (!failed)
		resp_int(o->out, n);
}

static void sadd_owner(struct rd_owner *o)
{
	sadd_srem_owner(o, WC_COP_SET);
}

static void srem_owner(struct rd_owner *o)
{
	sadd_srem_owner(o, WC_COP_DEL);
}

static enum rd_res sadd(struct rd_session *s)
{
	if (s->step == 0 && !rd_cmembers_ok(s, 1, 2))
		return RD_DONE;
	return rd_cwrite(s, 1, sadd_owner);
}

static enum rd_res srem(struct rd_session *s)
{
	return rd_cwrite(s, 1, srem_owner);
}

/* The set at key on its owner, parsed (pointers good until the next write). */
static bool own_set(struct rd_owner *o, const uint8_t *key, uint32_t klen, struct wc_chdr *h,
		    bool *wrong)
{
	struct wc_item *it = rd_cfind(o, key, klen, ST, wrong);

	return it && wc_c_parse(ST, wc_item_value(it), wc_item_vlen(it), h);
}

static void spop_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct resp_arg *k = rd_arg(s, 1);
	uint64_t h64 = wc_hash(k->u.p, k->len), rs = rd_crand();
	int64_t count = 1;
	struct wc_chdr h;
	struct wc_cmember m;
	struct wc_cupd res;
	bool wrong, with_count = rd_argc(s) == 3;

	if (with_count)
		rd_arg_ll(s, 2, &count);
	if (!own_set(o, k->u.p, k->len, &h, &wrong)) {
		if (wrong)
			resp_error(o->out, RD_WRONGTYPE);
		else if (with_count)
			resp_set(o->out, s->proto, 0);
		else
			resp_null(o->out, s->proto);
		return;
	}
	if (with_count && count == 0) {
		resp_set(o->out, s->proto, 0);
		return;
	}
	if (with_count && (uint64_t)count >= h.count) {
		/* everything: the reply, then the key goes */
		uint64_t left = h.count;

		resp_set(o->out, s->proto, (int64_t)h.count);
		for (uint32_t b = 0; b < h.nb && left; b++) {
			struct wc_clist l;
			uint32_t pos = 0;

			if (wc_c_bucket(o->part, o->ctx, &h, b, false, &l) != WC_C_OK)
				break;
			while (left && wc_clist_next(&l, &pos, &m)) {
				resp_bulk(o->out, m.name, m.nlen);
				left--;
			}
		}
		while (left--)
			resp_null(o->out, s->proto);	/* (a broken container: keep the framing) */
		wc_kv_delete(o->part, o->ctx, k->u.p, k->len, h64);
		rd_keyev_emit(o, RD_EV_SPOP, k->u.p, k->len);
		rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);
		return;
	}
	if (with_count)
		resp_set(o->out, s->proto, count);
	res = (struct wc_cupd){ 0 };
	for (int64_t i = 0; i < count; i++) {
		struct wc_cbytes mb;

		/* found again after each removal: a write may move what the last one saw */
		if ((i > 0 && !own_set(o, k->u.p, k->len, &h, &wrong)) ||
		    wc_c_random(o->part, o->ctx, &h, &rs, &m) != WC_C_OK) {
			while (i++ < count)
				resp_null(o->out, s->proto);	/* (out of memory: keep the framing) */
			break;
		}
		resp_bulk(o->out, m.name, m.nlen);
		/* the removal reads the name before it writes anything */
		mb = wc_cbytes_of(m.name, m.nlen);
		(void)wc_c_update(o->part, o->ctx, k->u.p, k->len, h64, ST, WC_COP_DEL, &mb, NULL,
				  &res);
	}
	rd_keyev_emit(o, RD_EV_SPOP, k->u.p, k->len);
	if (res.key_removed)
		rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);
}

static enum rd_res spop(struct rd_session *s)
{
	if (s->step == 0) {
		int64_t count;

		if (rd_argc(s) > 3) {
			rd_err_syntax(s);
			return RD_DONE;
		}
		if (rd_argc(s) == 3 && (!rd_arg_ll(s, 2, &count) || count < 0)) {
			rd_err(s, "ERR value is out of range, must be positive");
			return RD_DONE;
		}
	}
	return rd_cwrite(s, 1, spop_owner);
}

static void smove_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct resp_arg *src = rd_arg(s, 1), *dst = rd_arg(s, 2);
	struct wc_chdr h;
	struct wc_cupd res;
	bool wrong, missing;
	enum wc_status st;

	if (!own_set(o, src->u.p, src->len, &h, &wrong)) {
		if (wrong)
			resp_error(o->out, RD_WRONGTYPE);
		else
			resp_int(o->out, 0);
		return;
	}
	missing = rd_cfind(o, dst->u.p, dst->len, ST, &wrong) == NULL;
	if (wrong) {
		resp_error(o->out, RD_WRONGTYPE);
		return;
	}
	if (src->len == dst->len && memcmp(src->u.p, dst->u.p, src->len) == 0) {
		struct rd_argsrc as;
		struct wc_cbytes mb;
		struct wc_cmember m;

		rd_arg_bytes(s, 3, &as, &mb);
		resp_int(o->out, wc_c_find(o->part, o->ctx, &h, &mb, &m) == WC_C_OK);
		return;
	}
	st = member_op(o, src, 3, WC_COP_DEL, &res);
	if (st != WC_OK || res.outcome != WC_COUT_DELETED) {
		if (st != WC_OK)
			rd_creply_error(o->out, st);
		else
			resp_int(o->out, 0);
		return;
	}
	rd_keyev_emit(o, RD_EV_SREM, src->u.p, src->len);
	if (res.key_removed)
		rd_keyev_emit(o, RD_EV_DEL, src->u.p, src->len);
	st = member_op(o, dst, 3, WC_COP_SET, &res);
	if (st != WC_OK) {
		rd_creply_error(o->out, st);
	} else {
		if (res.outcome == WC_COUT_ADDED)
			rd_keyev_emit_write(o, missing, RD_EV_SADD, dst->u.p, dst->len);
		resp_int(o->out, 1);
	}
}

/* Every key of the command in one partition (else CROSSSLOT), then fn there. */
static enum rd_res one_partition_write(struct rd_session *s, uint32_t first, rd_owner_fn fn)
{
	struct rd_route rt;
	enum rd_res r;

	if (s->step)
		return RD_DONE;
	if (!rd_ckeys_ok(s, first, rd_argc(s) - 1))
		return RD_DONE;
	if (!rd_keys_one_partition(s, first, 1, &rt)) {
		rd_err(s, RD_CROSSSLOT);
		return RD_DONE;
	}
	r = rd_call(s, &rt, fn, true, 0, rd_argp(s, first), rd_arg(s, first)->len);
	if (r != RD_BUSY)
		s->step = 1;
	return r;
}

static enum rd_res smove(struct rd_session *s)
{
	if (s->step == 0 && !rd_cmembers_ok(s, 2, 3))
		return RD_DONE;
	/* (keys 1 and 2 only: the member is no key) */
	if (s->step == 0) {
		struct rd_route a, b;

		rd_route_key(s, rd_argp(s, 1), rd_arg(s, 1)->len, &a);
		rd_route_key(s, rd_argp(s, 2), rd_arg(s, 2)->len, &b);
		if (a.part_idx != b.part_idx) {
			rd_err(s, RD_CROSSSLOT);
			return RD_DONE;
		}
	}
	return rd_cwrite(s, 1, smove_owner);
}

/* ---- SINTERSTORE, SUNIONSTORE, SDIFFSTORE (one owner call) ---- */

/*
 * A walk over a source set on its owner that survives the writes of the
 * build (which may move items): the set is found again, by key, before
 * each member, and the walk goes on from the same bucket and offset.
 */
struct owalk {
	const uint8_t *key;
	uint32_t klen;
	uint64_t cid;
	uint32_t b, pos;
};

/* The bytes of a member found by an owalk, copied into the build's items. */
struct osrc {
	struct rd_owner *o;
	const struct owalk *w;
	uint32_t b, off;		/* bucket, offset of the name in its list */
};

/* The list of bucket b of the walked set, if it is still the same set. */
static bool owalk_list(struct rd_owner *o, const struct owalk *w, uint32_t b,
		       struct wc_clist *l, uint32_t *nb)
{
	struct wc_chdr h;
	bool wrong;

	if (!own_set(o, w->key, w->klen, &h, &wrong) ||
	    (h.enc == WC_CENC_BUCKETS ? h.cid : 0) != w->cid)
		return false;
	*nb = h.nb;
	return b >= h.nb || wc_c_bucket(o->part, o->ctx, &h, b, false, l) == WC_C_OK;
}

static void osrc_read(const void *src, uint64_t off, void *dst, uint64_t n)
{
	const struct osrc *os = src;
	struct wc_clist l;
	uint32_t nb;

	if (owalk_list(os->o, os->w, os->b, &l, &nb) && os->b < nb &&
	    os->off + off + n <= l.len)
		memcpy(dst, l.p + os->off + off, n);
	else
		memset(dst, 0, n);	/* (cannot happen: the build fails on a lost source first) */
}

/* Next member: false at the end; *lost when the source went away meanwhile. */
static bool owalk_next(struct rd_owner *o, struct owalk *w, struct wc_cmember *m,
		       struct osrc *os, bool *lost)
{
	for (;;) {
		struct wc_clist l;
		uint32_t nb;

		if (!owalk_list(o, w, w->b, &l, &nb)) {
			*lost = true;
			return false;
		}
		if (w->b >= nb)
			return false;
		if (wc_clist_next(&l, &w->pos, m)) {
			*os = (struct osrc){ .o = o, .w = w, .b = w->b,
					     .off = (uint32_t)(m->name - l.p) };
			return true;
		}
		w->b++;
		w->pos = 0;
	}
}

/* Is member m (a name) in the set at argument i? (owner: always consistent) */
static bool own_has(struct rd_owner *o, uint32_t i, const struct wc_cbytes *mb)
{
	const struct resp_arg *k = rd_arg(o->s, i);
	struct wc_chdr h;
	struct wc_cmember x;
	bool wrong;

	return own_set(o, k->u.p, k->len, &h, &wrong) &&
	       wc_c_find(o->part, o->ctx, &h, mb, &x) == WC_C_OK;
}

static void store_owner(struct rd_owner *o, int op)
{
	const struct rd_session *s = o->s;
	const struct resp_arg *dk = rd_arg(s, 1);
	uint32_t argc = rd_argc(s), small = 2;
	uint64_t expected = 0, smallest = UINT64_MAX;
	struct wc_cbuild b;
	bool missing = false, existed;
	enum wc_status st;

	for (uint32_t i = 2; i < argc; i++) {
		const struct resp_arg *k = rd_arg(s, i);
		struct wc_chdr h;
		bool wrong;

		if (!own_set(o, k->u.p, k->len, &h, &wrong)) {
			if (wrong) {
				resp_error(o->out, RD_WRONGTYPE);
				return;
			}
			missing = true;
			h.count = 0;
		}
		if (h.count < smallest) {
			smallest = h.count;
			small = i;
		}
		if (op == OP_UNION || i == 2)
			expected += h.count;
	}
	if (op == OP_INTER)
		expected = missing ? 0 : smallest;
	existed = rd_keyev_on(o->ctx) &&
		  wc_kv_find(o->part, o->ctx, dk->u.p, dk->len, wc_hash(dk->u.p, dk->len));
	wc_cb_begin(&b, o->part, o->ctx, ST, dk->u.p, dk->len, expected);
	for (uint32_t i = 2; i < argc && !(op == OP_INTER && missing); i++) {
		uint32_t base = op == OP_INTER ? small : i;
		const struct resp_arg *k = rd_arg(s, base);
		struct owalk w = { .key = k->u.p, .klen = k->len };
		struct wc_chdr h;
		struct wc_cmember m;
		struct osrc os;
		bool wrong, lost = false, added;

		if (op != OP_UNION && i > 2)
			break;	/* inter and diff walk one set */
		if (!own_set(o, w.key, w.klen, &h, &wrong))
			continue;
		w.cid = h.enc == WC_CENC_BUCKETS ? h.cid : 0;
		while (owalk_next(o, &w, &m, &os, &lost)) {
			struct wc_cbytes mb = { .p = m.name, .len = m.nlen, .read = osrc_read,
					       .src = &os };
			uint32_t j;

			if (op == OP_INTER) {
				for (j = 2; j < argc; j++)
					if (j != base && !own_has(o, j, &mb))
						break;
				if (j < argc)
					continue;
			} else if (op == OP_DIFF) {
				for (j = 3; j < argc && !own_has(o, j, &mb); j++)
					;
				if (j < argc)
					continue;
			}
			st = wc_cb_add(&b, &mb, NULL, op != OP_UNION, &added);
			if (st != WC_OK)
				break;
		}
		if (lost && !b.failed) {
			wc_cb_abort(&b);
			b.err = WC_ERR_NOMEM;	/* a source was evicted while it was read */
		}
	}
	{
		uint64_t n = b.count;

		static const enum rd_ev ev[] = { [OP_INTER] = RD_EV_SINTERSTORE,
						 [OP_UNION] = RD_EV_SUNIONSTORE,
						 [OP_DIFF] = RD_EV_SDIFFSTORE };

		st = wc_cb_publish(&b, 0, 0);
		if (st != WC_OK) {
			rd_creply_error(o->out, st);
		} else {
			resp_int(o->out, (int64_t)n);
			if (n)
				rd_keyev_emit_write(o, !existed, ev[op], dk->u.p, dk->len);
			else if (existed)
				rd_keyev_emit(o, RD_EV_DEL, dk->u.p, dk->len);
		}
	}
}

static void sinterstore_owner(struct rd_owner *o)
{
	store_owner(o, OP_INTER);
}

static void sunionstore_owner(struct rd_owner *o)
{
	store_owner(o, OP_UNION);
}

static void sdiffstore_owner(struct rd_owner *o)
{
	store_owner(o, OP_DIFF);
}

static enum rd_res sinterstore(struct rd_session *s)
{
	return one_partition_write(s, 1, sinterstore_owner);
}

static enum rd_res sunionstore(struct rd_session *s)
{
	return one_partition_write(s, 1, sunionstore_owner);
}

static enum rd_res sdiffstore(struct rd_session *s)
{
	return one_partition_write(s, 1, sdiffstore_owner);
}

#define S_W (RD_ACL_WRITE | RD_ACL_SET)
#define S_R (RD_ACL_READ | RD_ACL_SET)

struct rd_cmd rd_cmds_set[] = {
	RD_CMD_KS(RD_KS_RW | RD_KS_INSERT,
		  "sadd", sadd, -3, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, S_W | RD_ACL_FAST, 1, 1,
		  1, "set", "Add members to a set", "1.0.0", "O(1) per member"),
	RD_CMD_KS(RD_KS_RW | RD_KS_DELETE,
		  "srem", srem, -3, RD_F_WRITE | RD_F_FAST, S_W | RD_ACL_FAST, 1, 1, 1, "set",
		  "Remove members from a set", "1.0.0", "O(1) per member"),
	RD_CMD("smembers", smembers, 2, RD_F_READONLY, S_R | RD_ACL_SLOW, 1, 1, 1, "set",
	       "Every member", "1.0.0", "O(N), N members"),
	RD_CMD_KS(RD_KS_RO,
		  "sismember", sismember, 3, RD_F_READONLY | RD_F_FAST, S_R | RD_ACL_FAST, 1, 1, 1,
		  "set", "Whether a value is a member", "1.0.0", "O(1)"),
	RD_CMD("smismember", smismember, -3, RD_F_READONLY | RD_F_FAST, S_R | RD_ACL_FAST, 1, 1, 1,
	       "set", "Whether each value is a member", "6.2.0", "O(1) per value"),
	RD_CMD_KS(RD_KS_RO,
		  "scard", scard, 2, RD_F_READONLY | RD_F_FAST, S_R | RD_ACL_FAST, 1, 1, 1, "set",
		  "How many members", "1.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE,
		  "spop", spop, -2, RD_F_WRITE | RD_F_FAST, S_W | RD_ACL_FAST, 1, 1, 1, "set",
		  "Remove and return random members", "1.0.0", "O(1) per member returned"),
	RD_CMD("srandmember", srandmember, -2, RD_F_READONLY, S_R | RD_ACL_SLOW, 1, 1, 1, "set",
	       "Random members", "1.0.0", "O(N), N members returned"),
	RD_CMD_KS2(RD_KS_RW | RD_KS_ACCESS | RD_KS_DELETE, RD_KS_RW | RD_KS_INSERT,
		   "smove", smove, 4, RD_F_WRITE | RD_F_FAST, S_W | RD_ACL_FAST, 1, 2, 1, "set",
		   "Move a member to another set", "1.0.0", "O(1)"),
	RD_CMD("sscan", sscan, -3, RD_F_READONLY, S_R | RD_ACL_SLOW, 1, 1, 1, "set",
	       "Iterate over the members", "2.8.0",
	       "O(1) per call, O(N) for the whole walk (N members)"),
	RD_CMD("sinter", sinter, -2, RD_F_READONLY, S_R | RD_ACL_SLOW, 1, -1, 1, "set",
	       "Members of every set", "1.0.0", "O(N*M), N the smallest set, M sets"),
	RD_CMD("sunion", sunion, -2, RD_F_READONLY, S_R | RD_ACL_SLOW, 1, -1, 1, "set",
	       "Members of any set", "1.0.0", "O(N), N members of all the sets"),
	RD_CMD("sdiff", sdiff, -2, RD_F_READONLY, S_R | RD_ACL_SLOW, 1, -1, 1, "set",
	       "Members of the first set in no other", "1.0.0", "O(N), N members of all the sets"),
	{ .name = "sintercard", .fn = sintercard, .arity = -3,
	  .flags = RD_F_READONLY | RD_F_MOVABLE_KEYS, .acl = S_R | RD_ACL_SLOW,
	  .keys = { 0, 0, 0 }, .getkeys = sintercard_keys, .keynum_index = 1, .group = "set",
	  .summary = "How many members every set has in common", .since = "7.0.0",
	  .complexity = "O(N*M), N the smallest set, M sets" },
	RD_CMD_KS2(RD_KS_RW | RD_KS_UPDATE, RD_KS_RO | RD_KS_ACCESS,
		   "sinterstore", sinterstore, -3, RD_F_WRITE | RD_F_DENYOOM, S_W | RD_ACL_SLOW, 1,
		   -1, 1, "set", "Store the members of every set", "1.0.0",
		   "O(N*M), N the smallest set, M sets"),
	RD_CMD_KS2(RD_KS_OW | RD_KS_UPDATE, RD_KS_RO | RD_KS_ACCESS,
		   "sunionstore", sunionstore, -3, RD_F_WRITE | RD_F_DENYOOM, S_W | RD_ACL_SLOW, 1,
		   -1, 1, "set", "Store the members of any set", "1.0.0",
		   "O(N), N members of all the sets"),
	RD_CMD_KS2(RD_KS_OW | RD_KS_UPDATE, RD_KS_RO | RD_KS_ACCESS,
		   "sdiffstore", sdiffstore, -3, RD_F_WRITE | RD_F_DENYOOM, S_W | RD_ACL_SLOW, 1,
		   -1, 1, "set", "Store the members of the first set in no other", "1.0.0",
		   "O(N), N members of all the sets"),
	RD_CMD_END
};
