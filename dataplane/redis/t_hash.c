/*
 * t_hash.c - Redis hashes: HSET, HMSET, HSETNX, HGET, HMGET, HGETALL, HDEL,
 * HEXISTS, HLEN, HKEYS, HVALS, HSTRLEN, HINCRBY, HINCRBYFLOAT, HRANDFIELD
 * (count, negative count, WITHVALUES) and HSCAN (MATCH, COUNT).
 *
 * A hash is a container in the store (store/container.h): reads run here,
 * lock-free, on any partition (rdcont.h retries one caught mid-change);
 * every change runs on the key's owner, one field at a time, each costing
 * the same whatever the hash's size. A hash emptied by HDEL is deleted.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "redis/cmds.h"
#include "redis/keyev.h"
#include "redis/rdcont.h"
#include "redis/rdutil.h"

#define HT WC_TYPE_HASH

/* ---- reads ---- */

static int hget_body(struct rd_session *s)
{
	struct rd_cview cv;
	struct rd_argsrc as;
	struct wc_cbytes f;
	struct wc_cmember m;
	int r = rd_copen(s, 1, HT, 0, &cv);

	if (r == RD_CO_MISSING) {
		resp_null(rd_out(s), s->proto);
		return RD_R_DONE;
	}
	if (r == RD_CO_WRONGTYPE) {
		rd_err_wrongtype(s);
		return RD_R_DONE;
	}
	rd_arg_bytes(s, 2, &as, &f);
	r = wc_c_find(cv.part, rd_env(s)->ctx, &cv.h, &f, &m);
	if (r == WC_C_RETRY)
		return RD_R_RETRY;
	if (r == WC_C_OK)
		resp_bulk(rd_out(s), m.val, m.vlen);
	else
		resp_null(rd_out(s), s->proto);
	return RD_R_DONE;
}

static enum rd_res hget(struct rd_session *s)
{
	return rd_cread(s, hget_body);
}

static int hexists_body(struct rd_session *s)
{
	return rd_cmember_int(s, HT, false);
}

static int hstrlen_body(struct rd_session *s)
{
	return rd_cmember_int(s, HT, true);
}

static enum rd_res hexists(struct rd_session *s)
{
	return rd_cread(s, hexists_body);
}

static enum rd_res hstrlen(struct rd_session *s)
{
	return rd_cread(s, hstrlen_body);
}

static int hmget_body(struct rd_session *s)
{
	struct rd_cview cv;
	struct rd_refs found = { 0 };
	int r = rd_copen(s, 1, HT, 0, &cv);
	uint32_t argc = rd_argc(s);

	if (r == RD_CO_WRONGTYPE) {
		rd_err_wrongtype(s);
		return RD_R_DONE;
	}
	if (r == RD_CO_MISSING) {
		resp_array(rd_out(s), argc - 2);
		for (uint32_t i = 2; i < argc; i++)
			resp_null(rd_out(s), s->proto);
		return RD_R_DONE;
	}
	/* every field first: the reply goes out only once none needs a retry */
	for (uint32_t i = 2; i < argc; i++) {
		struct rd_argsrc as;
		struct wc_cbytes f;
		struct wc_cmember m = { 0 };

		rd_arg_bytes(s, i, &as, &f);
		r = wc_c_find(cv.part, rd_env(s)->ctx, &cv.h, &f, &m);
		if (r == WC_C_RETRY)
			return RD_R_RETRY;
		if (r != WC_C_OK)
			m.val = NULL;
		if (!rd_refs_add(s, &found, &m)) {
			rd_err_scratch(s);
			return RD_R_DONE;
		}
	}
	resp_array(rd_out(s), argc - 2);
	for (uint32_t i = 0; i < found.n; i++) {
		const struct wc_cmember *m = rd_refs_at(&found, i);

		if (m->val)
			resp_bulk(rd_out(s), m->val, m->vlen);
		else
			resp_null(rd_out(s), s->proto);
	}
	return RD_R_DONE;
}

static enum rd_res hmget(struct rd_session *s)
{
	return rd_cread(s, hmget_body);
}

static int hlen_body(struct rd_session *s)
{
	return rd_ccard(s, HT);
}

static enum rd_res hlen(struct rd_session *s)
{
	return rd_cread(s, hlen_body);
}

enum { ALL_KEYS = 1, ALL_VALUES = 2 };

/* HGETALL, HKEYS, HVALS: a walk of the whole hash. */
static int getall_body(struct rd_session *s, unsigned what)
{
	struct mc_out *o = rd_out(s);
	struct rd_cview cv;
	struct wc_csnap snap;
	struct wc_csnap_it it = { 0 };
	struct wc_cmember m;
	int r = rd_copen(s, 1, HT, 0, &cv);

	if (r == RD_CO_WRONGTYPE) {
		rd_err_wrongtype(s);
		return RD_R_DONE;
	}
	if (r == RD_CO_MISSING) {
		if (what == (ALL_KEYS | ALL_VALUES))
			resp_map(o, s->proto, 0);
		else
			resp_array(o, 0);
		return RD_R_DONE;
	}
	r = rd_csnap(s, &cv, &snap);
	if (r == WC_C_NOMEM) {
		rd_err_scratch(s);
		return RD_R_DONE;
	}
	if (r != WC_C_OK)
		return RD_R_RETRY;
	if (what == (ALL_KEYS | ALL_VALUES))
		resp_map(o, s->proto, (int64_t)snap.count);
	else
		resp_array(o, (int64_t)snap.count);
	while (wc_csnap_next(&snap, &it, &m)) {
		if (what & ALL_KEYS)
			resp_bulk(o, m.name, m.nlen);
		if (what & ALL_VALUES)
			resp_bulk(o, m.val, m.vlen);
	}
	return RD_R_DONE;
}

static int hgetall_body(struct rd_session *s)
{
	return getall_body(s, ALL_KEYS | ALL_VALUES);
}

static int hkeys_body(struct rd_session *s)
{
	return getall_body(s, ALL_KEYS);
}

static int hvals_body(struct rd_session *s)
{
	return getall_body(s, ALL_VALUES);
}

static enum rd_res hgetall(struct rd_session *s)
{
	return rd_cread(s, hgetall_body);
}

static enum rd_res hkeys(struct rd_session *s)
{
	return rd_cread(s, hkeys_body);
}

static enum rd_res hvals(struct rd_session *s)
{
	return rd_cread(s, hvals_body);
}

static int hrandfield_body(struct rd_session *s)
{
	int64_t l = 0;
	uint32_t argc = rd_argc(s);

	if (argc >= 3) {
		if (!rd_ccount_arg(s, 2, &l))
			return RD_R_DONE;
		if (argc > 4 || (argc == 4 && !rd_arg_is(s, 3, "withvalues"))) {
			rd_err_syntax(s);
			return RD_R_DONE;
		}
		if (argc == 4 && (l < -INT64_MAX / 2 || l > INT64_MAX / 2)) {
			rd_err(s, "ERR value is out of range");
			return RD_R_DONE;
		}
	}
	return rd_crandom(s, HT, argc >= 3, l, argc == 4);
}

static enum rd_res hrandfield(struct rd_session *s)
{
	return rd_cread(s, hrandfield_body);
}

static int hscan_body(struct rd_session *s)
{
	return rd_cscan(s, HT);
}

static enum rd_res hscan(struct rd_session *s)
{
	return rd_cread(s, hscan_body);
}

/* ---- writes (on the key's owner) ---- */

/*
 * The hash at argument 1 for a change: false when the reply (WRONGTYPE) is
 * written. *missing says whether the key was missing (a change creates it:
 * keyspace event `new`).
 */
static bool own_hash(struct rd_owner *o, const struct resp_arg **k, bool *missing)
{
	bool wrong;

	*k = rd_arg(o->s, 1);
	*missing = rd_cfind(o, (*k)->u.p, (*k)->len, HT, &wrong) == NULL;
	if (wrong)
		resp_error(o->out, RD_WRONGTYPE);
	return !wrong;
}

static enum wc_status set_field(struct rd_owner *o, const struct resp_arg *k, uint32_t fi,
				const struct wc_cbytes *val, enum wc_cop op, struct wc_cupd *res)
{
	struct rd_argsrc as;
	struct wc_cbytes f;

	rd_arg_bytes(o->s, fi, &as, &f);
	return wc_c_update(o->part, o->ctx, k->u.p, k->len, wc_hash(k->u.p, k->len), HT, op, &f,
			   val, res);
}

static void hset_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct resp_arg *k;
	bool missing;
	int64_t created = 0;

	if (!own_hash(o, &k, &missing))
		return;
	for (uint32_t i = 2; i + 1 < rd_argc(s); i += 2) {
		struct rd_argsrc vs;
		struct wc_cbytes v;
		struct wc_cupd res;
		enum wc_status st;

		rd_arg_bytes(s, i + 1, &vs, &v);
		st = set_field(o, k, i, &v, WC_COP_SET, &res);
		if (st != WC_OK) {
			rd_creply_error(o->out, st);
			if (i > 2)	/* (the fields before it changed) */
				rd_keyev_emit_write(o, missing, RD_EV_HSET, k->u.p, k->len);
			return;
		}
		created += res.outcome == WC_COUT_ADDED;
	}
	/* (Redis replies, then notifies) */
	if (rd_arg_is(s, 0, "hmset"))
		resp_ok(o->out);
	else
		resp_int(o->out, created);
	rd_keyev_emit_write(o, missing, RD_EV_HSET, k->u.p, k->len);
}

static enum rd_res hset(struct rd_session *s)
{
	if (s->step == 0) {
		if (rd_argc(s) % 2 == 1) {
			rd_err_arity(s);
			return RD_DONE;
		}
		if (!rd_cmembers_ok(s, 1, 2))
			return RD_DONE;
	}
	return rd_cwrite(s, 1, hset_owner);
}

static void hsetnx_owner(struct rd_owner *o)
{
	const struct resp_arg *k;
	bool missing;
	struct rd_argsrc vs;
	struct wc_cbytes v;
	struct wc_cupd res;
	enum wc_status st;

	if (!own_hash(o, &k, &missing))
		return;
	rd_arg_bytes(o->s, 3, &vs, &v);
	st = set_field(o, k, 2, &v, WC_COP_SETNX, &res);
	if (st != WC_OK) {
		rd_creply_error(o->out, st);
	} else {
		resp_int(o->out, res.outcome == WC_COUT_ADDED);
		if (res.outcome == WC_COUT_ADDED)
			rd_keyev_emit_write(o, missing, RD_EV_HSET, k->u.p, k->len);
	}
}

static enum rd_res hsetnx(struct rd_session *s)
{
	if (s->step == 0 && !rd_cmembers_ok(s, 1, 2))
		return RD_DONE;
	return rd_cwrite(s, 1, hsetnx_owner);
}

static void hdel_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct resp_arg *k;
	bool missing;
	int64_t deleted = 0;
	bool removed = false, failed = false;

	if (!own_hash(o, &k, &missing))
		return;
	for (uint32_t i = 2; i < rd_argc(s) && !removed; i++) {
		struct wc_cupd res;
		enum wc_status st = set_field(o, k, i, NULL, WC_COP_DEL, &res);

		if (st != WC_OK) {
			rd_creply_error(o->out, st);
			failed = true;
			break;
		}
		deleted += res.outcome == WC_COUT_DELETED;
		removed = res.key_removed;
	}
	/* (Redis notifies, then replies) */
	if (deleted) {
		rd_keyev_emit(o, RD_EV_HDEL, k->u.p, k->len);
		if (removed)
			rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);
	}
	if (!failed)
		resp_int(o->out, deleted);
}

static enum rd_res hdel(struct rd_session *s)
{
	return rd_cwrite(s, 1, hdel_owner);
}

/* The field's current value on the owner (always consistent there). */
static bool owner_field(struct rd_owner *o, const struct resp_arg *k, struct wc_cmember *m)
{
	struct wc_item *it = wc_kv_find(o->part, o->ctx, k->u.p, k->len, wc_hash(k->u.p, k->len));
	struct rd_argsrc as;
	struct wc_cbytes f;
	struct wc_chdr h;

	if (!it || !wc_c_parse(wc_item_type(it), wc_item_value(it), wc_item_vlen(it), &h))
		return false;
	rd_arg_bytes(o->s, 2, &as, &f);
	return wc_c_find(o->part, o->ctx, &h, &f, m) == WC_C_OK;
}

static void hincrby_owner(struct rd_owner *o)
{
	const struct resp_arg *k;
	bool missing;
	struct wc_cmember m;
	int64_t cur = 0, incr, next;
	char buf[24];
	struct wc_cbytes v;
	struct wc_cupd res;
	enum wc_status st;

	if (!own_hash(o, &k, &missing))
		return;
	rd_arg_ll(o->s, 3, &incr);
	if (owner_field(o, k, &m) && !rd_parse_ll(m.val, m.vlen, &cur)) {
		resp_error(o->out, "ERR hash value is not an integer");
		return;
	}
	if ((incr < 0 && cur < 0 && incr < INT64_MIN - cur) ||
	    (incr > 0 && cur > 0 && incr > INT64_MAX - cur)) {
		resp_error(o->out, "ERR increment or decrement would overflow");
		return;
	}
	next = cur + incr;
	v = wc_cbytes_of(buf, (uint64_t)snprintf(buf, sizeof(buf), "%lld", (long long)next));
	st = set_field(o, k, 2, &v, WC_COP_SET, &res);
	if (st != WC_OK) {
		rd_creply_error(o->out, st);
	} else {
		resp_int(o->out, next);
		rd_keyev_emit_write(o, missing, RD_EV_HINCRBY, k->u.p, k->len);
	}
}

static enum rd_res hincrby(struct rd_session *s)
{
	int64_t incr;

	if (s->step == 0 && !rd_arg_ll(s, 3, &incr)) {
		rd_err_int(s);
		return RD_DONE;
	}
	return rd_cwrite(s, 1, hincrby_owner);
}

static void hincrbyfloat_owner(struct rd_owner *o)
{
	const struct resp_arg *k;
	bool missing;
	struct wc_cmember m;
	long double cur = 0, incr = 0, next;
	char buf[5400];
	size_t n;
	struct wc_cbytes v;
	struct wc_cupd res;
	enum wc_status st;

	if (!own_hash(o, &k, &missing))
		return;
	rd_arg_ld(o->s, 3, &incr);
	if (owner_field(o, k, &m) && !rd_parse_ld(m.val, m.vlen, &cur)) {
		resp_error(o->out, "ERR hash value is not a float");
		return;
	}
	next = cur + incr;
	if (isnan(next) || isinf(next)) {
		resp_error(o->out, "ERR increment would produce NaN or Infinity");
		return;
	}
	n = resp_fmt_long_double(buf, sizeof(buf), next);
	v = wc_cbytes_of(buf, n);
	st = set_field(o, k, 2, &v, WC_COP_SET, &res);
	if (st != WC_OK) {
		rd_creply_error(o->out, st);
	} else {
		resp_bulk(o->out, buf, n);
		rd_keyev_emit_write(o, missing, RD_EV_HINCRBYFLOAT, k->u.p, k->len);
	}
}

static enum rd_res hincrbyfloat(struct rd_session *s)
{
	long double incr;

	if (s->step == 0) {
		if (!rd_arg_ld(s, 3, &incr)) {
			rd_err(s, "ERR value is not a valid float");
			return RD_DONE;
		}
		if (isnan(incr) || isinf(incr)) {
			rd_err(s, "ERR value is NaN or Infinity");
			return RD_DONE;
		}
	}
	return rd_cwrite(s, 1, hincrbyfloat_owner);
}

#define H_W (RD_ACL_WRITE | RD_ACL_HASH)
#define H_R (RD_ACL_READ | RD_ACL_HASH)

struct rd_cmd rd_cmds_hash[] = {
	RD_CMD("hset", hset, -4, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, H_W | RD_ACL_FAST, 1, 1, 1,
	       "hash", "Set fields of a hash", "2.0.0", "O(1) per field"),
	RD_CMD("hmset", hset, -4, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, H_W | RD_ACL_FAST, 1, 1,
	       1, "hash", "Set fields of a hash (answers OK)", "2.0.0", "O(1) per field"),
	RD_CMD_KS(RD_KS_RW | RD_KS_INSERT,
		  "hsetnx", hsetnx, 4, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, H_W | RD_ACL_FAST, 1,
		  1, 1, "hash", "Set a field only if the hash lacks it", "2.0.0", "O(1)"),
	RD_CMD("hget", hget, 3, RD_F_READONLY | RD_F_FAST, H_R | RD_ACL_FAST, 1, 1, 1, "hash",
	       "The value of a field", "2.0.0", "O(1)"),
	RD_CMD("hmget", hmget, -3, RD_F_READONLY | RD_F_FAST, H_R | RD_ACL_FAST, 1, 1, 1, "hash",
	       "The values of several fields", "2.0.0", "O(1) per field"),
	RD_CMD("hgetall", hgetall, 2, RD_F_READONLY, H_R | RD_ACL_SLOW, 1, 1, 1, "hash",
	       "Every field and value", "2.0.0", "O(N), N fields in the hash"),
	RD_CMD_KS(RD_KS_RW | RD_KS_DELETE,
		  "hdel", hdel, -3, RD_F_WRITE | RD_F_FAST, H_W | RD_ACL_FAST, 1, 1, 1, "hash",
		  "Remove fields", "2.0.0", "O(1) per field"),
	RD_CMD_KS(RD_KS_RO,
		  "hexists", hexists, 3, RD_F_READONLY | RD_F_FAST, H_R | RD_ACL_FAST, 1, 1, 1,
		  "hash", "Whether a field is there", "2.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RO,
		  "hlen", hlen, 2, RD_F_READONLY | RD_F_FAST, H_R | RD_ACL_FAST, 1, 1, 1, "hash",
		  "How many fields", "2.0.0", "O(1)"),
	RD_CMD("hkeys", hkeys, 2, RD_F_READONLY, H_R | RD_ACL_SLOW, 1, 1, 1, "hash",
	       "Every field name", "2.0.0", "O(N), N fields in the hash"),
	RD_CMD("hvals", hvals, 2, RD_F_READONLY, H_R | RD_ACL_SLOW, 1, 1, 1, "hash",
	       "Every value", "2.0.0", "O(N), N fields in the hash"),
	RD_CMD_KS(RD_KS_RO,
		  "hstrlen", hstrlen, 3, RD_F_READONLY | RD_F_FAST, H_R | RD_ACL_FAST, 1, 1, 1,
		  "hash", "The length of a field's value", "3.2.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE,
		  "hincrby", hincrby, 4, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST, H_W | RD_ACL_FAST,
		  1, 1, 1, "hash", "Add an integer to a field", "2.0.0", "O(1)"),
	RD_CMD_KS(RD_KS_RW | RD_KS_ACCESS | RD_KS_UPDATE,
		  "hincrbyfloat", hincrbyfloat, 4, RD_F_WRITE | RD_F_DENYOOM | RD_F_FAST,
		  H_W | RD_ACL_FAST, 1, 1, 1, "hash", "Add a floating point number to a field",
		  "2.6.0", "O(1)"),
	RD_CMD("hrandfield", hrandfield, -2, RD_F_READONLY, H_R | RD_ACL_SLOW, 1, 1, 1, "hash",
	       "Random fields", "6.2.0", "O(N), N fields returned"),
	RD_CMD("hscan", hscan, -3, RD_F_READONLY, H_R | RD_ACL_SLOW, 1, 1, 1, "hash",
	       "Iterate over the fields", "2.8.0",
	       "O(1) per call, O(N) for the whole walk (N fields)"),
	RD_CMD_END
};
