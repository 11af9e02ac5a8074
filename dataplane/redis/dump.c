/*
 * dump.c - DUMP and RESTORE: a key's value in Redis 7.0's serialization
 * (redis/rdbval.h), out and back in.
 *
 * DUMP is a read on the connection's lcore: a string is encoded from its
 * item, a hash or set from a consistent snapshot of the container
 * (rdcont.h), the size planned first so the bulk reply's length is known.
 *
 * RESTORE checks what Redis checks, in Redis's order, on the connection's
 * lcore (options, an existing key without REPLACE, the TTL, the payload's
 * version and CRC, then a full validating decode), then runs on the key's
 * owner: it decodes again straight into the store (a string through a fill
 * callback, a container member by member through a build that no reader
 * sees until it is published whole), so the payload is never copied and
 * a bad one (a duplicate member, found as the build adds it) leaves the key
 * as it was. IDLETIME sets the key's last access (OBJECT IDLETIME; at most
 * WC_IDLE_MAX, 60000 s, the longest the store shows); FREQ is checked and
 * ignored (the store has no LFU policy: OBJECT FREQ says so). MCFLAGS n
 * (wirecache's own option) gives a string its memcached client flags:
 * MIGRATE between wirecache nodes sends it for a key memcached set with
 * flags, which Redis's payload cannot carry.
 */
#include <string.h>

#include "redis/cmds.h"
#include "redis/dump.h"
#include "redis/csnap_iter.h"
#include "redis/keyev.h"
#include "redis/obj.h"
#include "redis/rdbval.h"
#include "redis/rdcont.h"
#include "redis/rdutil.h"

#define DUMP_INTS_MAX 4096u	/* integers an intset payload may sort (scratch: 32 KiB) */

/* ---- DUMP ---- */

static void out_put(void *arg, const void *p, uint64_t n)
{
	mc_out_put(arg, p, n);
}

/*
 * The thresholds a payload follows: the node's, except that the store keeps
 * at most WC_C_COMPACT_MAX members compact whatever hash-max-listpack-entries
 * asked for, so at that cap Redis's default (128) decides.
 */
static void dump_limits(struct rdbv_limits *l)
{
	struct wc_climits cl;

	wc_c_get_limits(&cl);
	*l = (struct rdbv_limits){ .hash_entries = cl.hash_entries, .hash_value = cl.hash_value,
				   .set_int_entries = cl.set_int_entries };
	if (cl.hash_entries >= WC_C_COMPACT_MAX)
		l->hash_entries = 128;
}

int rd_dump_payload(struct rd_session *s, const uint8_t *key, uint32_t klen,
		    const struct wc_view *v, struct mc_out *o, rd_dump_prefix_fn prefix,
		    void *parg, uint64_t *size)
{
	struct rdbv_out out = { .put = out_put, .arg = o };
	struct rdbv_plan pl;
	struct rd_route rt;
	struct rd_cview cv;
	struct wc_csnap snap;
	struct rd_csnap_iter si;
	struct rdbv_iter it;
	struct rdbv_limits lim;
	uint64_t nints;
	int64_t *ints;
	int r;

	rd_csnap_iter_init(&si, &snap, &it);
	if (v->type == WC_TYPE_STRING) {
		rdbv_plan_string(&pl, v->value, v->vlen);
		if (prefix)
			prefix(parg, o);
		resp_header(o, '$', (int64_t)pl.size);
		rdbv_emit_string(&pl, v->value, v->vlen, &out);
		mc_out_put(o, "\r\n", 2);
		*size = pl.size;
		return RD_DUMP_OK;
	}
	if ((v->type != WC_TYPE_HASH && v->type != WC_TYPE_SET) ||
	    !wc_c_parse(v->type, v->value, v->vlen, &cv.h))
		return RD_DUMP_ABSENT;
	rd_route_key(s, key, klen, &rt);
	cv.part = rt.part;
	cv.key = key;
	cv.klen = klen;
	r = rd_csnap(s, &cv, &snap);
	if (r == WC_C_NOMEM)
		return RD_DUMP_NOMEM;
	if (r == WC_C_ABSENT)
		return RD_DUMP_ABSENT;
	if (r != WC_C_OK)
		return RD_DUMP_RETRY;
	dump_limits(&lim);
	nints = v->type == WC_TYPE_SET ? snap.count : 0;
	if (nints > lim.set_int_entries)
		nints = 0;		/* a hashtable set: no sorting */
	if (nints > DUMP_INTS_MAX)
		nints = DUMP_INTS_MAX;
	ints = rd_scratch(s, (nints ? nints : 1) * sizeof(*ints));
	if (!ints)
		return RD_DUMP_NOMEM;
	if (!rdbv_plan_container(&pl, v->type == WC_TYPE_HASH ? RDBV_HASH : RDBV_SET, &it, &lim,
				 ints, nints))
		return RD_DUMP_ABSENT;	/* (an empty snapshot: the key went away) */
	if (prefix)
		prefix(parg, o);
	resp_header(o, '$', (int64_t)pl.size);
	rdbv_emit_container(&pl, &it, ints, &out);
	mc_out_put(o, "\r\n", 2);
	*size = pl.size;
	return RD_DUMP_OK;
}

static int dump_body(struct rd_session *s)
{
	const struct resp_arg *k = rd_arg(s, 1);
	struct mc_out *o = rd_out(s);
	struct wc_view v;
	uint64_t size;

	if (k->kind != RESP_ARG_PTR || !rd_lookup(s, k->u.p, k->len, &v, 0)) {
		resp_null(o, s->proto);
		return RD_R_DONE;
	}
	switch (rd_dump_payload(s, k->u.p, k->len, &v, o, NULL, NULL, &size)) {
	case RD_DUMP_RETRY:
		return RD_R_RETRY;
	case RD_DUMP_NOMEM:
		rd_err_scratch(s);
		return RD_R_DONE;
	case RD_DUMP_ABSENT:
		resp_null(o, s->proto);
		return RD_R_DONE;
	default:
		return RD_R_DONE;
	}
}

static enum rd_res dump(struct rd_session *s)
{
	return rd_cread(s, dump_body);
}

/* ---- RESTORE ---- */

struct restore_job {
	int64_t at;		/* absolute expiry, Unix ms; 0: none */
	int64_t idle;		/* IDLETIME seconds, -1: none */
	uint64_t count;
	uint8_t kind;		/* enum rdbv_kind */
	bool replace, absttl;
	uint32_t mcflags;	/* MCFLAGS: a string's memcached client flags */
};

static void payload_read(const void *arg, uint64_t off, void *dst, uint64_t n)
{
	rd_arg_read(arg, 3, off, dst, n);
}

static void payload_src(const struct rd_session *s, struct rdbv_src *in)
{
	const struct resp_arg *a = rd_arg(s, 3);

	*in = (struct rdbv_src){ .len = a->len };
	if (a->kind == RESP_ARG_PTR) {
		in->p = a->u.p;
	} else {
		in->read = payload_read;
		in->arg = s;
	}
}

/* The owner's decoding: a string's bytes, or the build the members go into. */
struct restore_sink {
	struct rdbv_bytes str;
	struct wc_cbuild *b;
	enum wc_status st;
	bool dup;
};

static int sink_string(void *arg, const struct rdbv_bytes *name, const struct rdbv_bytes *val)
{
	(void)val;
	((struct restore_sink *)arg)->str = *name;
	return 0;
}

static struct wc_cbytes cbytes(const struct rdbv_bytes *b)
{
	return (struct wc_cbytes){ .p = b->p, .len = b->len, .read = b->read, .src = b->src };
}

static int sink_member(void *arg, const struct rdbv_bytes *name, const struct rdbv_bytes *val)
{
	struct restore_sink *k = arg;
	struct wc_cbytes n = cbytes(name), v;
	bool added;

	if (val)
		v = cbytes(val);
	k->st = wc_cb_add(k->b, &n, val ? &v : NULL, false, &added);
	if (k->st != WC_OK)
		return 1;
	if (!added) {
		k->dup = true;	/* "Duplicate hash fields / set members detected" */
		return 1;
	}
	return 0;
}

static void fill_string(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	const struct rdbv_bytes *b = arg;

	(void)old;
	if (!vlen)
		return;
	if (b->p)
		memcpy(dst, b->p, vlen);
	else
		b->read(b->src, 0, dst, vlen);
}

int rd_rdbval_apply(struct wc_part *p, struct wc_ctx *ctx, const uint8_t *key, uint32_t klen,
		    uint64_t h, const struct rd_rdbval *v, uint32_t mcflags, uint32_t exptime,
		    uint32_t ms, enum wc_status *st)
{
	struct restore_sink sink = { .st = WC_OK };
	struct rdbv_dec dec;
	struct rdbv_info info;
	uint64_t next;
	int r;

	dec.max_len = 0;	/* (checked by the caller's validating decode) */
	if (v->kind == RDBV_STRING) {
		struct wc_write_res res;
		struct wc_put_req req;

		r = rdbv_decode_obj(&dec, v->in, v->rdbtype, v->off, v->end, sink_string, &sink,
				    &info, &next);
		if (r != RDBV_OK || next != v->end || info.kind != RDBV_STRING)
			return RD_APPLY_BAD;
		req = (struct wc_put_req){ .key = key, .klen = klen, .hash = h,
					   .type = WC_TYPE_STRING, .flags = mcflags,
					   .vlen = sink.str.len, .fill = fill_string, .arg = &sink.str,
					   .exptime = exptime, .exp_ms = ms };
		*st = wc_kv_put(p, ctx, &req, &res);
	} else {
		struct wc_cbuild *b = &(struct wc_cbuild){ 0 };

		wc_cb_begin(b, p, ctx, v->kind == RDBV_HASH ? WC_TYPE_HASH : WC_TYPE_SET, key, klen,
			    v->count);
		sink.b = b;
		r = rdbv_decode_obj(&dec, v->in, v->rdbtype, v->off, v->end, sink_member, &sink,
				    &info, &next);
		if (r != RDBV_OK || next != v->end || info.kind != v->kind) {
			wc_cb_abort(b);
			if (r == RDBV_ESTOP && !sink.dup) {
				*st = sink.st;
				return RD_APPLY_STORE;
			}
			return RD_APPLY_BAD;
		}
		*st = wc_cb_publish(b, exptime, ms);
	}
	return *st == WC_OK ? RD_APPLY_OK : RD_APPLY_STORE;
}

static void restore_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct restore_job *j = rd_job_const(s);
	const struct resp_arg *k = rd_arg(s, 1);
	uint64_t h = wc_hash(k->u.p, k->len);
	bool existed = wc_kv_find(o->part, o->ctx, k->u.p, k->len, h) != NULL;
	struct rdbv_src in;
	struct rd_rdbval v;
	uint32_t exptime = 0, ms = 0;
	enum wc_status st = WC_OK;
	uint8_t t;

	if (existed && !j->replace) {
		resp_error(o->out, "BUSYKEY Target key name already exists.");
		return;
	}
	if (j->at && !wc_expiry_from_unix_ms(&o->ctx->clock, j->at, &exptime, &ms)) {
		/* already expired: the key is deleted (REPLACE) and not created */
		if (existed && rd_obj_delete(o->part, o->ctx, k->u.p, k->len, h))
			rd_keyev_emit(o, RD_EV_DEL, k->u.p, k->len);
		resp_ok(o->out);
		return;
	}
	payload_src(s, &in);
	if (in.len < RDBV_FOOTER + 1) {
		resp_error(o->out, "ERR Bad data format");
		return;
	}
	if (in.p)
		t = in.p[0];
	else
		in.read(in.arg, 0, &t, 1);
	v = (struct rd_rdbval){ .in = &in, .rdbtype = t, .off = 1, .end = in.len - RDBV_FOOTER,
				.kind = j->kind, .count = j->count };
	switch (rd_rdbval_apply(o->part, o->ctx, k->u.p, k->len, h, &v, j->mcflags, exptime, ms,
				&st)) {
	case RD_APPLY_BAD:
		resp_error(o->out, "ERR Bad data format");
		return;
	case RD_APPLY_STORE:
		rd_creply_error(o->out, st);
		return;
	}
	if (j->idle >= 0)
		wc_kv_set_idle(o->part, o->ctx, k->u.p, k->len, h, (uint64_t)j->idle);
	/* Redis: the old key deleted silently, the new one added (`new`), `restore`, OK */
	rd_keyev_emit_write(o, true, RD_EV_RESTORE, k->u.p, k->len);
	resp_ok(o->out);
}

static bool restore_options(struct rd_session *s, struct restore_job *j)
{
	int64_t freq = -1;

	for (uint32_t i = 4; i < rd_argc(s); i++) {
		bool more = i + 1 < rd_argc(s);

		if (rd_arg_is(s, i, "replace")) {
			j->replace = true;
		} else if (rd_arg_is(s, i, "absttl")) {
			j->absttl = true;
		} else if (rd_arg_is(s, i, "mcflags") && more) {
			/* wirecache's own: MIGRATE between nodes keeps memcached's flags */
			int64_t f;

			if (!rd_arg_ll(s, i + 1, &f) || f < 0 || f > UINT32_MAX) {
				rd_err(s, "ERR Invalid MCFLAGS value, must be >= 0 and <= 4294967295");
				return false;
			}
			j->mcflags = (uint32_t)f;
			i++;
		} else if (rd_arg_is(s, i, "idletime") && more && freq == -1) {
			if (!rd_arg_ll(s, i + 1, &j->idle)) {
				rd_err_int(s);
				return false;
			}
			if (j->idle < 0) {
				rd_err(s, "ERR Invalid IDLETIME value, must be >= 0");
				return false;
			}
			i++;
		} else if (rd_arg_is(s, i, "freq") && more && j->idle == -1) {
			if (!rd_arg_ll(s, i + 1, &freq)) {
				rd_err_int(s);
				return false;
			}
			if (freq < 0 || freq > 255) {
				rd_err(s, "ERR Invalid FREQ value, must be >= 0 and <= 255");
				return false;
			}
			i++;
		} else {
			rd_err_syntax(s);
			return false;
		}
	}
	return true;
}

enum rd_res rd_restore(struct rd_session *s)
{
	struct restore_job *j = rd_job(s);
	const struct resp_arg *k = rd_arg(s, 1);
	struct rdbv_dec dec;
	struct rdbv_info info;
	struct rdbv_src in;
	struct rd_route rt;
	struct wc_view v;
	int64_t ttl;
	enum rd_res r;
	int dr;

	if (s->step)
		return RD_DONE;
	*j = (struct restore_job){ .idle = -1 };
	if (!restore_options(s, j))
		return RD_DONE;
	if (!rd_ckeys_ok(s, 1, 1))
		return RD_DONE;
	/* (a write's lookup: no keyspace hit or miss, no keymiss event, as Redis's) */
	if (!j->replace &&
	    rd_lookup(s, k->u.p, k->len, &v, WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS)) {
		rd_err(s, "BUSYKEY Target key name already exists.");
		return RD_DONE;
	}
	if (!rd_arg_ll(s, 2, &ttl)) {
		rd_err_int(s);
		return RD_DONE;
	}
	if (ttl < 0) {
		rd_err(s, "ERR Invalid TTL value, must be >= 0");
		return RD_DONE;
	}
	payload_src(s, &in);
	if (rdbv_payload_check(&in) != RDBV_OK) {
		rd_err(s, "ERR DUMP payload version or checksum are wrong");
		return RD_DONE;
	}
	rd_route_key(s, k->u.p, k->len, &rt);
	dec.max_len = wc_part_config(rt.part)->max_value;
	dr = rdbv_decode_payload(&dec, &in, NULL, NULL, &info);
	if (dr == RDBV_ETOOBIG) {
		rd_reply_store_error(rd_out(s), WC_ERR_TOO_LARGE);
		s->failed = true;
		return RD_DONE;
	}
	if (dr != RDBV_OK) {
		rd_err(s, "ERR Bad data format");
		return RD_DONE;
	}
	j->kind = info.kind;
	j->count = info.count;
	if (j->mcflags && j->kind != RDBV_STRING) {
		rd_err(s, "ERR MCFLAGS is for a string value only");
		return RD_DONE;
	}
	if (ttl) {
		int64_t now = wc_clock_unix_ms(&rd_env(s)->ctx->clock);

		j->at = j->absttl ? ttl : ttl > INT64_MAX - now ? INT64_MAX : now + ttl;
	}
	r = rd_call(s, &rt, restore_owner, true, 0, k->u.p, k->len);
	if (r != RD_BUSY)
		s->step = 1;
	return r;
}

#define KS_W (RD_ACL_KEYSPACE | RD_ACL_WRITE)
#define KS_R (RD_ACL_KEYSPACE | RD_ACL_READ)

struct rd_cmd rd_cmds_dump[] = {
	RD_CMD_TIPS("nondeterministic_output",
		    "dump", dump, 2, RD_F_READONLY, KS_R | RD_ACL_SLOW, 1, 1, 1, "generic",
		    "A key's value in Redis's serialization format", "2.6.0",
		    "O(1) to find the key, O(N*M) to serialize N members of mean size M"),
	RD_CMD_KS(RD_KS_OW | RD_KS_UPDATE,
		  "restore", rd_restore, -4, RD_F_WRITE | RD_F_DENYOOM,
		  KS_W | RD_ACL_SLOW | RD_ACL_DANGEROUS, 1, 1, 1, "generic",
		  "Create a key from a value DUMP serialized", "2.6.0",
		  "O(1) to create the key, O(N*M) to rebuild N members of mean size M"),
	RD_CMD_END
};
