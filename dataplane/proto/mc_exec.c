/*
 * mc_exec.c - memcached command semantics and reply text (see mc_exec.h),
 * following memcached 1.6's doc/protocol.txt for the classic and the meta
 * commands.
 *
 * Reads run here, on whichever lcore holds the session. Writes run through
 * run_write: inline when this lcore owns the key's partition, otherwise as a
 * mailbox request whose completion resumes the command (mc_exec_resume).
 * Multi-step commands (gat over several keys, flush_all over every
 * partition, mg with T or N) keep their progress in s->step and s->cursor.
 *
 * In a cluster, a key whose slot another node serves is not served here:
 * its command answers the route's redirect line ("SERVER_ERROR moved
 * ip:port", core/slots.h) instead, once per key where the key is routed.
 * A get of several keys stops at the first such key: the values before it,
 * then the redirect line in place of END (as a bad key's CLIENT_ERROR does).
 */
#include <string.h>

#include "core/fence.h"
#include "proto/mc_exec.h"
#include "proto/mc_get_reply.h"
#include "store/item.h"
#include "wirecache/slot.h"

#define CRLF "\r\n"

/* ---- plumbing ---- */

static void value_copy(void *dst, uint64_t len, void *arg)
{
	const struct mc_valsrc *src = arg;

	mc_inq_copy(src->in, src->off, dst, len);
}

/*
 * Point a store request at the command's data block in the receive queue;
 * a block over the value limit is never read: the store refuses it as too
 * large, dropping the old value where a refused store does.
 */
static void value_source(struct mc_session *s, struct mc_inq *in, struct wc_store_req *r)
{
	if (s->too_large) {
		r->opts |= WC_STORE_OVERSIZE;
		return;
	}
	if (s->staged) {
		s->stage_src = (struct wc_stage_src){ .stage = &s->stage, .off = 0 };
		r->copy = wc_stage_copy;
		r->copy_arg = &s->stage_src;
		r->copy_len = s->req.vlen;
		return;
	}
	s->src.in = in;
	s->src.off = s->line_bytes;
	r->copy = value_copy;
	r->copy_arg = &s->src;
	r->copy_len = s->req.vlen;
}

/* A request that only reads: get, gets, and mg without T or N. */
static bool mc_req_reads(const struct mc_req *q)
{
	return q->cmd == MC_GET || q->cmd == MC_GETS ||
	       (q->cmd == MC_MG && !mc_meta_has(&q->meta, 'T') && !mc_meta_has(&q->meta, 'N'));
}

/* A request that may write (a fenced master refuses it). */
static bool mc_req_writes(const struct mc_req *q)
{
	switch (q->cmd) {
	case MC_GAT: case MC_GATS: case MC_SET: case MC_ADD: case MC_REPLACE: case MC_APPEND:
	case MC_PREPEND: case MC_CAS: case MC_DELETE: case MC_INCR: case MC_DECR: case MC_TOUCH:
	case MC_FLUSH_ALL: case MC_MS: case MC_MD: case MC_MA:
		return true;
	case MC_MG:
		return !mc_req_reads(q);
	default:
		return false;
	}
}

static void route_key(const struct mc_session *s, struct mc_env *env, const struct mc_tok *key,
		      struct mc_route *rt)
{
	rt->redirect = NULL;
	rt->asking = s && s->asking;
	rt->read = !s || mc_req_reads(&s->req);
	env->route(env, key->p, key->len, rt);
}

/* Classic commands with noreply say nothing, errors included; meta errors always go out. */
static bool quiet(const struct mc_session *s)
{
	return s->req.noreply && !(s->req.cmd >= MC_MG && s->req.cmd <= MC_ME);
}

/* The key is another node's: its redirect line is the reply (s->redirected). */
static bool redirect(struct mc_session *s, struct mc_out *out, const struct mc_route *rt)
{
	if (__builtin_expect(rt->redirect == NULL, 1))
		return false;
	if (!quiet(s))
		mc_out_str(out, rt->redirect);
	s->redirected = true;
	return true;
}

/*
 * Run a write on the partition's owner: inline here, or queued to the owner.
 * The result lands in s->result and s->res (now or at completion).
 */
static enum mc_exec_result run_write(struct mc_session *s, struct mc_env *env,
				     struct wc_part *part, unsigned owner, struct wc_mbox_req *tmpl)
{
	struct wc_mbox_req *r;

	tmpl->part = part;
	if (!env->mbox || owner == env->self) {
		wc_mbox_execute(tmpl, env->ctx);
		s->result = tmpl->status;
		s->res = tmpl->res;
		return MC_EXEC_DONE;
	}
	r = env->req_get(env);
	if (!r)
		return MC_EXEC_BUSY;
	*r = *tmpl;
	r->origin = (uint16_t)env->self;
	r->cookie = s;
	if (!wc_mbox_send(env->mbox, owner, r)) {
		env->req_put(env, r);
		return MC_EXEC_BUSY;
	}
	s->pending++;
	return MC_EXEC_PENDING;
}

/*
 * Run a single write for s->req.key; step 1 is "result is in". A key of
 * another node is answered with its redirect (DONE with s->redirected).
 */
static enum mc_exec_result write_key(struct mc_session *s, struct mc_out *out,
				     struct mc_env *env, struct wc_mbox_req *tmpl)
{
	struct mc_route rt;
	enum mc_exec_result r;

	route_key(s, env, &s->req.key, &rt);
	if (redirect(s, out, &rt))
		return MC_EXEC_DONE;
	r = run_write(s, env, rt.part, rt.owner, tmpl);
	if (r == MC_EXEC_PENDING)
		s->step = 1;
	return r;
}

/* (always inlined: a literal's length is then known, and its bytes stored as a constant) */
static inline __attribute__((always_inline)) void line(struct mc_out *out, const char *s)
{
	mc_out_str(out, s);
	mc_out_put(out, CRLF, 2);
}

/*
 * A replica (mc_settings.read_only, redis/replica.h) takes its writes from
 * its master only: a client's write (a store, delete, incr/decr, touch,
 * gat, flush_all, ms/md/ma) is answered SERVER_ERROR read only replica,
 * reads are served.
 */
static bool refused_read_only(const struct mc_session *s, const struct mc_env *env)
{
	if (__builtin_expect(!__atomic_load_n(&env->set->read_only, __ATOMIC_RELAXED), 1))
		return false;
	/* (mg is served whole: a T or N on a replica is not refused yet) */
	return s->req.cmd != MC_MG && mc_req_writes(&s->req);
}

/* SERVER_ERROR text for a store failure, NULL for the protocol's own codes */
static const char *server_error(enum wc_status st)
{
	switch (st) {
	case WC_ERR_TOO_LARGE:
		return "SERVER_ERROR object too large for cache";
	case WC_ERR_NOMEM:
		return "SERVER_ERROR out of memory storing object";
	case WC_ERR_KEY:
		return "CLIENT_ERROR bad command line format";
	case WC_ERR_ARG:
		return "SERVER_ERROR invalid argument";
	default:
		return NULL;
	}
}

/* ---- retrieval ---- */

#define VALUE_HEADER_MAX MC_VALUE_HEADER_MAX(MC_KEY_MAX)

static void value_line(struct mc_out *out, const struct mc_tok *key, const struct wc_view *v,
		       bool cas)
{
	uint8_t hdr[VALUE_HEADER_MAX], *end;
	size_t most = VALUE_HEADER_MAX + v->vlen + 2;

	if (most <= (size_t)(out->end - out->p) && !out->failed &&
	    (!out->limit || out->written + most <= out->limit)) {
		/* room for all of it: written in place */
		uint8_t *start = out->p;

		end = mc_value_header_at(start, key->p, (uint32_t)key->len, v, cas);
		memcpy(end, v->value, v->vlen);
		end += v->vlen;
		end[0] = '\r';
		end[1] = '\n';
		out->p = end + 2;
		out->written += (uint64_t)(out->p - start);
		return;
	}
	end = mc_value_header_at(hdr, key->p, (uint32_t)key->len, v, cas);
	mc_out_put(out, hdr, (size_t)(end - hdr));
	mc_out_put(out, v->value, v->vlen);
	mc_out_put(out, CRLF, 2);
}

/* What get_values did with the keys. */
enum gv { GV_OK, GV_BAD, GV_MOVED };

/*
 * VALUE lines for the keys in [p, end), looked up in bursts so their cache
 * misses overlap. GV_BAD on a bad key (after the CLIENT_ERROR), GV_MOVED at
 * another node's key (after its redirect line). When out fills up
 * (backpressure) after at least one value, *resume is where the first
 * unserved key starts; else it is NULL.
 */
static enum gv get_values(const struct mc_session *s, struct mc_env *env, struct mc_out *out,
			  const uint8_t *p, const uint8_t *end, bool cas, const uint8_t **resume)
{
	struct wc_get_req reqs[WC_GET_BURST_MAX / 2];
	struct mc_tok keys[WC_GET_BURST_MAX / 2];
	bool more = true, bad = false;
	const char *moved = NULL;
	const unsigned lflags = WC_LOOKUP_REPLY_ONLY | (cas ? WC_LOOKUP_CAS : 0);
	unsigned served = 0;

	*resume = NULL;

	while (more) {
		unsigned n = 0;
		struct mc_tok t;

		while (n < WC_ARRAY_LEN(reqs)) {
			struct mc_route rt;

			if (!mc_next_token(&p, end, &t)) {
				more = false;
				break;
			}
			if (t.len > MC_KEY_MAX) {
				more = false;
				bad = true;
				break;
			}
			route_key(s, env, &t, &rt);
			if (rt.redirect) {
				/* another node's key: what came before, then its redirect */
				moved = rt.redirect;
				more = false;
				break;
			}
			keys[n] = t;
			reqs[n] = (struct wc_get_req){ .part = rt.part, .key = t.p, .klen = t.len,
						       .hash = wc_hash(t.p, t.len) };
			n++;
		}
		if (n == 0)
			break;
		if (n == 1) {
			/* one key: nothing to overlap */
			reqs[0].hit = wc_get(reqs[0].part, env->ctx, reqs[0].key, reqs[0].klen,
					     reqs[0].hash, lflags, &reqs[0].view);
		} else {
			wc_get_burst(reqs, n, env->ctx, lflags);
		}
		for (unsigned i = 0; i < n; i++) {
			if (!reqs[i].hit)
				continue;
			if (served && out->full && out->full(out)) {
				*resume = keys[i].p;	/* the rest when the peer has read */
				return GV_OK;
			}
			value_line(out, &keys[i], &reqs[i].view, cas);
			served++;
		}
	}
	if (bad)
		line(out, "CLIENT_ERROR bad command line format");
	else if (moved)
		mc_out_str(out, moved);
	return bad ? GV_BAD : moved ? GV_MOVED : GV_OK;
}

void mc_exec_get_reply(struct mc_out *out, const uint8_t *key, uint32_t klen,
		       const struct wc_view *v, bool cas)
{
	struct mc_tok k = { key, klen };

	if (v)
		value_line(out, &k, v, cas);
	mc_out_put(out, "END" CRLF, 5);
}

void mc_exec_get_one(struct mc_env *env, struct mc_out *out, const uint8_t *key,
		     uint32_t klen, bool cas)
{
	struct mc_tok k = { key, klen };
	struct mc_route rt;
	struct wc_view v;
	bool hit;

	route_key(NULL, env, &k, &rt);
	if (rt.redirect) {
		mc_out_str(out, rt.redirect);
		return;
	}
	hit = wc_get(rt.part, env->ctx, key, klen, wc_hash(key, klen),
		     WC_LOOKUP_REPLY_ONLY | (cas ? WC_LOOKUP_CAS : 0), &v);
	mc_exec_get_reply(out, key, klen, hit ? &v : NULL, cas);
}

void mc_exec_get_keys(struct mc_env *env, struct mc_out *out, const uint8_t *keys,
		      uint32_t len, bool cas)
{
	const uint8_t *resume;

	if (get_values(NULL, env, out, keys, keys + len, cas, &resume) == GV_OK && !resume)
		line(out, "END");
}

/*
 * A get whose keys live on several nodes (try_forward): this node's keys
 * are read here, each other node's key is forwarded alone as "get <key>"
 * and its answer written without its END, in key order; one END at the
 * end. A key that cannot be forwarded (its link is down) ends the get with
 * its redirect line, as without forwarding. s->cursor is the offset of the
 * next key in the line, s->step 2 while it runs.
 */
static enum mc_exec_result exec_get_split(struct mc_session *s, struct mc_out *out,
					  struct mc_env *env)
{
	bool cas = s->req.cmd == MC_GETS;
	const uint8_t *start = s->req.keys.p, *end = start + s->req.keys.len;
	const uint8_t *pos = start + s->cursor, *before = pos;
	struct mc_tok k;

	if (s->forwarded) {
		/* the key sent on came back (its values are written) */
		s->forwarded = false;
		if (!s->fwd_more)
			return MC_EXEC_DONE;	/* an error line ended it */
	}
	s->step = 2;
	while (mc_next_token(&pos, end, &k)) {
		struct mc_route rt;
		const uint8_t *resume;

		route_key(s, env, &k, &rt);
		if (rt.redirect && rt.node != 0 && rt.node <= WC_SLOT_PEERS_MAX) {
			enum mc_exec_result r;

			s->cursor = (uint32_t)(pos - start);
			s->fwd_key = k;
			r = (enum mc_exec_result)env->forward(env, s, NULL, &rt);
			s->fwd_key.len = 0;
			if (r == MC_EXEC_PENDING)
				return r;
			if (r == MC_EXEC_BUSY) {
				s->cursor = (uint32_t)(before - start);	/* this key again */
				return r;
			}
		}
		if (rt.redirect) {
			mc_out_str(out, rt.redirect);	/* not forwarded: as without forwarding */
			return MC_EXEC_DONE;
		}
		(void)get_values(s, env, out, k.p, k.p + k.len, cas, &resume);
		before = pos;
	}
	line(out, "END");
	return MC_EXEC_DONE;
}

static enum mc_exec_result exec_get(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
				    struct mc_env *env)
{
	const uint8_t *resume;
	bool cas = s->req.cmd == MC_GETS;

	if (s->fwd_split)
		return exec_get_split(s, out, env);
	if (get_values(s, env, out, s->req.keys.p, s->req.keys.p + s->req.keys.len, cas, &resume) !=
	    GV_OK)
		return MC_EXEC_DONE;	/* a bad key or another node's: its line said it */
	if (!resume) {
		line(out, "END");
		return MC_EXEC_DONE;
	}
	/* paused: what was served goes, the rest of the line continues as a long get */
	in->consume(in, (uint64_t)(resume - s->cur_line));
	s->line_bytes = 0;
	s->getkeys_cas = cas;
	s->getkeys_skip = false;
	s->st = MC_S_GETKEYS;
	return MC_EXEC_PAUSED;
}

bool mc_exec_getkeys(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
		     struct mc_env *env)
{
	uint64_t have = 0, contig;
	const uint8_t *nl = NULL, *cut;

	/* gather what is queued (up to a line buffer) to find whole keys */
	while (have < in->len && have < MC_LINE_MAX && !nl) {
		const uint8_t *p = in->peek(in, have, &contig);
		uint64_t n = contig < MC_LINE_MAX - have ? contig : MC_LINE_MAX - have;

		memcpy(s->line + have, p, n);
		nl = memchr(s->line + have, '\n', n);
		have += n;
	}
	if (s->getkeys_skip) {
		/* the line was answered (another node's key): its rest goes unread */
		in->consume(in, nl ? (uint64_t)(nl - s->line) + 1 : have);
		if (nl) {
			s->getkeys_skip = false;
			s->st = MC_S_LINE;
		}
		return have > 0;
	}
	if (nl) {
		const uint8_t *end = nl > s->line && nl[-1] == '\r' ? nl - 1 : nl;

		const uint8_t *resume;

		bool ok = get_values(s, env, out, s->line, end, s->getkeys_cas, &resume) == GV_OK;

		if (!ok || !resume) {
			if (ok)
				line(out, "END");
			in->consume(in, (uint64_t)(nl - s->line) + 1);
			s->st = MC_S_LINE;
			return true;
		}
		in->consume(in, (uint64_t)(resume - s->line));	/* backpressure: the rest later */
		return true;
	}
	/* no newline yet: serve the keys that are certainly complete */
	for (cut = s->line + have; cut > s->line && cut[-1] != ' '; cut--)
		;
	if (cut == s->line) {
		if (have < MC_LINE_MAX)
			return false;	/* a key is still arriving */
		line(out, "CLIENT_ERROR bad command line format");
		s->st = MC_S_CLOSE;	/* a 2 KiB "key": nothing sane follows */
		return true;
	}
	{
		const uint8_t *resume;

		enum gv r = get_values(s, env, out, s->line, cut, s->getkeys_cas, &resume);

		if (r == GV_MOVED) {
			/* answered: the rest of the line is discarded as it comes */
			in->consume(in, (uint64_t)(cut - s->line));
			s->getkeys_skip = true;
			return true;
		}
		if (r == GV_BAD) {
			s->st = MC_S_CLOSE;
			return true;
		}
		in->consume(in, (uint64_t)((resume ? resume : cut) - s->line));
	}
	return true;
}

/* gat/gats: per key, touch on the owner, then read it here. */
static enum mc_exec_result exec_gat(struct mc_session *s, struct mc_out *out,
				    struct mc_env *env)
{
	const uint8_t *end = s->req.keys.p + s->req.keys.len;

	for (;;) {
		const uint8_t *p = s->req.keys.p + s->cursor;
		struct mc_tok key;
		struct mc_route rt;
		struct wc_view v;

		if (!mc_next_token(&p, end, &key)) {
			line(out, "END");
			return MC_EXEC_DONE;
		}
		if (key.len > MC_KEY_MAX) {
			line(out, "CLIENT_ERROR bad command line format");
			return MC_EXEC_DONE;
		}
		route_key(s, env, &key, &rt);
		if (rt.redirect) {
			/* another node's key: what came before, then its redirect */
			mc_out_str(out, rt.redirect);
			return MC_EXEC_DONE;
		}
		if (s->step == 0) {
			struct wc_mbox_req t = { .op = WC_MB_META_TOUCH };
			enum mc_exec_result r;

			t.u.touch = (struct wc_touch_req){ .key = key.p, .klen = key.len,
							   .hash = wc_hash(key.p, key.len),
							   .opts = WC_TOUCH_SET_EXPTIME,
							   .exptime = s->req.exptime };
			r = run_write(s, env, rt.part, rt.owner, &t);
			if (r == MC_EXEC_PENDING)
				s->step = 1;
			if (r != MC_EXEC_DONE)
				return r;
		}
		s->step = 0;
		s->cursor = (uint32_t)(p - s->req.keys.p);
		if (s->result == WC_OK &&
		    wc_get(rt.part, env->ctx, key.p, key.len, wc_hash(key.p, key.len),
			   WC_LOOKUP_CAS | WC_LOOKUP_ANY_TIME, &v))
			value_line(out, &key, &v, s->req.cmd == MC_GATS);
	}
}

/* ---- classic writes ---- */

static const enum wc_store_mode store_modes[] = {
	[MC_SET] = WC_SET, [MC_ADD] = WC_ADD, [MC_REPLACE] = WC_REPLACE,
	[MC_APPEND] = WC_APPEND, [MC_PREPEND] = WC_PREPEND, [MC_CAS] = WC_CAS,
};

/* A mailbox request's fields besides its union, as `= { .op = op }` would set them. */
static inline void mbox_req_head(struct wc_mbox_req *t, enum wc_mbox_op op)
{
	t->part = NULL;
	t->op = (uint8_t)op;
	t->origin = 0;
	t->cookie = NULL;
	t->status = WC_OK;
	t->res = (struct wc_write_res){ 0 };
}

_Static_assert(sizeof(((struct wc_mbox_req *)0)->u) == sizeof(struct wc_store_req),
	       "a store request fills the mailbox request's union");

void mc_exec_store_reply(struct mc_out *out, enum wc_status st, bool noreply)
{
	const char *err = server_error(st);

	if (noreply)
		return;	/* memcached answers nothing, errors included */
	if (err) {
		line(out, err);
		return;
	}
	switch (st) {
	case WC_OK:
		line(out, "STORED");
		break;
	case WC_EXISTS:
		line(out, "EXISTS");
		break;
	case WC_NOT_FOUND:
		line(out, "NOT_FOUND");
		break;
	default:
		line(out, "NOT_STORED");
		break;
	}
}

static enum mc_exec_result exec_store(struct mc_session *s, struct mc_inq *in,
				      struct mc_out *out, struct mc_env *env)
{
	if (s->step == 0) {
		struct wc_mbox_req t;
		enum mc_exec_result r;

		/* each field once (the store request is the union's widest member) */
		mbox_req_head(&t, WC_MB_STORE);
		t.u.store = (struct wc_store_req){
			.mode = store_modes[s->req.cmd], .key = s->req.key.p, .klen = s->req.key.len,
			.hash = wc_hash(s->req.key.p, s->req.key.len), .flags = s->req.flags,
			.exptime = s->req.exptime, .cas_in = s->req.cas,
		};
		value_source(s, in, &t.u.store);
		if ((r = write_key(s, out, env, &t)) != MC_EXEC_DONE || s->redirected)
			return r;
	}
	mc_exec_store_reply(out, s->result, s->req.noreply);
	return MC_EXEC_DONE;
}

void mc_exec_arith_reply(struct mc_out *out, enum wc_status st, uint64_t value, bool noreply)
{
	const char *err;

	if (noreply)
		return;	/* memcached answers nothing, errors included */
	if (st == WC_ERR_NON_NUMERIC) {
		line(out, "CLIENT_ERROR cannot increment or decrement non-numeric value");
	} else if ((err = server_error(st))) {
		line(out, err);
	} else if (st == WC_NOT_FOUND) {
		line(out, "NOT_FOUND");
	} else {
		mc_out_u64(out, value);
		mc_out_str(out, CRLF);
	}
}

static enum mc_exec_result exec_keyed(struct mc_session *s, struct mc_out *out,
				      struct mc_env *env)
{
	const struct mc_tok *k = &s->req.key;
	uint64_t h = wc_hash(k->p, k->len);
	const char *err;

	if (s->step == 0) {
		struct wc_mbox_req t = { 0 };
		enum mc_exec_result r;

		switch (s->req.cmd) {
		case MC_DELETE:
			t.op = WC_MB_MODIFY;
			t.u.modify = (struct wc_modify_req){ .key = k->p, .klen = k->len, .hash = h };
			break;
		case MC_TOUCH:
			t.op = WC_MB_TOUCH;
			t.u.touch = (struct wc_touch_req){ .key = k->p, .klen = k->len, .hash = h,
							   .exptime = s->req.exptime };
			break;
		default:
			t.op = WC_MB_ARITH;
			t.u.arith = (struct wc_arith_req){ .key = k->p, .klen = k->len, .hash = h,
							   .decr = s->req.cmd == MC_DECR,
							   .delta = s->req.delta };
			break;
		}
		if ((r = write_key(s, out, env, &t)) != MC_EXEC_DONE || s->redirected)
			return r;
	}
	if (s->req.cmd == MC_INCR || s->req.cmd == MC_DECR) {
		mc_exec_arith_reply(out, s->result, s->res.value, s->req.noreply);
		return MC_EXEC_DONE;
	}
	if (s->req.noreply)
		return MC_EXEC_DONE;	/* memcached answers nothing, errors included */
	if ((err = server_error(s->result))) {
		line(out, err);
		return MC_EXEC_DONE;
	}
	if (s->result == WC_NOT_FOUND) {
		line(out, "NOT_FOUND");
	} else if (s->req.cmd == MC_DELETE) {
		line(out, "DELETED");
	} else {
		line(out, "TOUCHED");
	}
	return MC_EXEC_DONE;
}

/* flush_all: every partition, each on its owner. */
static enum mc_exec_result exec_flush(struct mc_session *s, struct mc_out *out,
				      struct mc_env *env)
{
	int64_t delay = s->req.has_exptime ? s->req.exptime : 0;

	if (env->broadcast && !s->no_forward && s->step == 0) {
		/* one cache: every other node of the cluster flushes too (cluster/link.h) */
		env->broadcast(env, s);
		s->step = 3;
	}
	while (s->cursor < env->nparts) {
		struct wc_mbox_req t = { .op = WC_MB_FLUSH, .u.flush_delay = delay };
		enum mc_exec_result r = run_write(s, env, env->parts[s->cursor],
						  env->part_owner[s->cursor], &t);

		if (r == MC_EXEC_BUSY)
			return s->pending ? MC_EXEC_PENDING : MC_EXEC_BUSY;
		s->cursor++;
	}
	if (s->pending)
		return MC_EXEC_PENDING;
	/*
	 * once for the whole keyspace (client tracking: store.h's WC_KEV_FLUSH);
	 * a delayed one is raised by each partition when it takes effect
	 */
	if (delay <= 0)
		wc_kev(env->ctx, NULL, WC_KEV_FLUSH, NULL, 0);
	if (!s->req.noreply)
		line(out, "OK");
	return MC_EXEC_DONE;
}

/* ---- meta commands ---- */

static void meta_key(struct mc_out *out, const struct mc_req *req, const uint8_t *key,
		     uint32_t klen)
{
	mc_out_str(out, " k");
	if (req->meta.binary_key) {
		uint8_t b64[(MC_KEY_MAX + 2) / 3 * 4];

		mc_out_put(out, b64, mc_base64_encode(key, klen, b64, sizeof(b64)));
		mc_out_str(out, " b");
	} else {
		mc_out_put(out, key, klen);
	}
}

static void meta_opaque(struct mc_out *out, const struct mc_req *req)
{
	mc_out_char(out, ' ');
	mc_out_put(out, req->meta.opaque.p, req->meta.opaque.len);
}

/* The O and k flags, in request order: what misses and errors echo back. */
static void meta_echo(struct mc_out *out, const struct mc_req *req)
{
	for (unsigned i = 0; i < req->meta.nflags; i++) {
		if (req->meta.order[i] == 'O')
			meta_opaque(out, req);
		else if (req->meta.order[i] == 'k')
			meta_key(out, req, req->key.p, req->key.len);
	}
}

static void meta_flag_u64(struct mc_out *out, char c, uint64_t v)
{
	mc_out_char(out, ' ');
	mc_out_char(out, c);
	mc_out_u64(out, v);
}

static void meta_ttl(struct mc_out *out, uint32_t exptime, uint32_t now)
{
	mc_out_str(out, " t");
	mc_out_i64(out, wc_ttl_left(exptime, now));
}

/* mg: optional touch / vivify on the owner, then the read and the reply here. */
static enum mc_exec_result exec_mg(struct mc_session *s, struct mc_out *out, struct mc_env *env)
{
	const struct mc_req *q = &s->req;
	const struct mc_meta *m = &q->meta;
	bool touch = mc_meta_has(m, 'T'), vivify = mc_meta_has(m, 'N');
	uint64_t h = wc_hash(q->key.p, q->key.len);
	struct mc_route rt;
	struct wc_view v;
	unsigned lflags = 0;
	bool created = false, won = false, zflag = false, value;
	uint32_t now = env->ctx->clock.now;

	route_key(s, env, &q->key, &rt);
	if (redirect(s, out, &rt))
		return MC_EXEC_DONE;
	if (touch || vivify) {
		if (s->step == 0) {
			struct wc_mbox_req t = { .op = WC_MB_META_TOUCH };
			enum mc_exec_result r;

			t.u.touch = (struct wc_touch_req){
				.key = q->key.p, .klen = q->key.len, .hash = h,
				.opts = (touch ? WC_TOUCH_SET_EXPTIME : 0u) |
					(vivify ? WC_TOUCH_VIVIFY : 0u) |
					(mc_meta_has(m, 'E') ? WC_TOUCH_EXPLICIT_CAS : 0u),
				.exptime = m->ttl, .vivify_exptime = m->vivify, .new_cas = m->cas_new,
			};
			if ((r = write_key(s, out, env, &t)) != MC_EXEC_DONE)
				return r;
		}
		if (s->result == WC_OK)
			created = s->res.created;
		lflags |= WC_LOOKUP_ANY_TIME;
	}
	if (mc_meta_has(m, 'c') || mc_meta_has(m, 'C'))
		lflags |= WC_LOOKUP_CAS;
	if (mc_meta_has(m, 'u'))
		lflags |= WC_LOOKUP_NO_TOUCH;
	if ((touch || vivify) && s->result != WC_OK) {
		/* the owner found nothing (and made nothing) */
	} else if (wc_get(rt.part, env->ctx, q->key.p, q->key.len, h, lflags, &v)) {
		goto hit;
	}
	if (!q->noreply) {
		mc_out_str(out, "EN");
		meta_echo(out, q);
		mc_out_str(out, CRLF);
	}
	return MC_EXEC_DONE;

hit:
	/* win token: the creator of a placeholder, an early recache, a stale item */
	if (created) {
		won = true;
	} else if ((v.state_before & WC_STATE_WIN) == 0) {
		bool want = (v.state_before & WC_STATE_STALE) ||
			    (mc_meta_has(m, 'R') && v.exptime != 0 && m->recache > 0 &&
			     wc_ttl_left(v.exptime, now) < m->recache);

		if (want) {
			won = wc_claim_win(rt.part, &v, q->key.p, h);
			zflag = !won;
		}
	} else {
		zflag = true;
	}
	value = mc_meta_has(m, 'v') && !(mc_meta_has(m, 'C') && v.cas == m->cas_cmp);
	if (value) {
		mc_out_str(out, "VA ");
		mc_out_u64(out, v.vlen);
	} else {
		mc_out_str(out, "HD");
	}
	for (unsigned i = 0; i < m->nflags; i++) {
		switch (m->order[i]) {
		case 's':
			meta_flag_u64(out, 's', v.vlen);
			break;
		case 't':
			meta_ttl(out, v.exptime, now);
			break;
		case 'c':
			meta_flag_u64(out, 'c', v.cas);
			break;
		case 'f':
			meta_flag_u64(out, 'f', v.flags);
			break;
		case 'l':
			meta_flag_u64(out, 'l', v.idle_before);
			break;
		case 'h':
			meta_flag_u64(out, 'h', (v.state_before & WC_STATE_FETCHED) ? 1 : 0);
			break;
		case 'O':
			meta_opaque(out, q);
			break;
		case 'k':
			meta_key(out, q, v.key, v.klen);
			break;
		}
	}
	if (zflag)
		mc_out_str(out, " Z");
	if (v.state_before & WC_STATE_STALE)
		mc_out_str(out, " X");
	if (won)
		mc_out_str(out, " W");
	mc_out_str(out, CRLF);
	if (value) {
		mc_out_put(out, v.value, v.vlen);
		mc_out_str(out, CRLF);
	}
	return MC_EXEC_DONE;
}

static const char *meta_code(enum wc_status st)
{
	switch (st) {
	case WC_OK:
		return "HD";
	case WC_NOT_STORED:
		return "NS";
	case WC_EXISTS:
		return "EX";
	case WC_NOT_FOUND:
		return "NF";
	default:
		return NULL;
	}
}

static enum mc_exec_result exec_ms(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
				   struct mc_env *env)
{
	const struct mc_req *q = &s->req;
	const struct mc_meta *m = &q->meta;
	const char *code, *err;

	if (s->step == 0) {
		struct wc_mbox_req t = { .op = WC_MB_STORE };
		struct wc_store_req *r = &t.u.store;
		enum mc_exec_result res;

		/* memcached: a refused meta set drops the old value, whatever the mode */
		*r = (struct wc_store_req){ .mode = WC_SET, .opts = WC_STORE_DROP_ON_REFUSE,
					    .key = q->key.p, .klen = q->key.len,
					    .hash = wc_hash(q->key.p, q->key.len),
					    .flags = m->client_flags, .exptime = m->ttl };
		switch (m->mode) {
		case 'E':
			r->mode = WC_ADD;
			break;
		case 'A':
			r->mode = WC_APPEND;
			break;
		case 'P':
			r->mode = WC_PREPEND;
			break;
		case 'R':
			r->mode = WC_REPLACE;
			break;
		default:
			break;
		}
		if (mc_meta_has(m, 'C')) {
			r->opts |= WC_STORE_CHECK_CAS;
			r->cas_in = m->cas_cmp;
			if (mc_meta_has(m, 'I'))
				r->opts |= WC_STORE_STALE_IF_OLDER;
		}
		if (mc_meta_has(m, 'E')) {
			r->opts |= WC_STORE_EXPLICIT_CAS;
			r->new_cas = m->cas_new;
		}
		if (mc_meta_has(m, 'N') && (r->mode == WC_APPEND || r->mode == WC_PREPEND)) {
			r->opts |= WC_STORE_VIVIFY;
			r->vivify_exptime = m->vivify;
		}
		value_source(s, in, r);
		if ((res = write_key(s, out, env, &t)) != MC_EXEC_DONE || s->redirected)
			return res;
	}
	if (!(code = meta_code(s->result))) {
		err = server_error(s->result);
		line(out, err ? err : "SERVER_ERROR unhandled storage type");
		return MC_EXEC_DONE;
	}
	if (s->result == WC_OK && q->noreply)
		return MC_EXEC_DONE;
	mc_out_str(out, code);
	for (unsigned i = 0; i < m->nflags; i++) {
		switch (m->order[i]) {
		case 'O':
			meta_opaque(out, q);
			break;
		case 'k':
			meta_key(out, q, q->key.p, q->key.len);
			break;
		case 'c':
			meta_flag_u64(out, 'c', s->result == WC_OK ? s->res.cas : 0);
			break;
		case 's':
			meta_flag_u64(out, 's', s->result == WC_OK ? s->res.vlen : q->vlen);
			break;
		}
	}
	mc_out_str(out, CRLF);
	return MC_EXEC_DONE;
}

static enum mc_exec_result exec_md(struct mc_session *s, struct mc_out *out, struct mc_env *env)
{
	const struct mc_req *q = &s->req;
	const struct mc_meta *m = &q->meta;
	const char *code;

	if (s->step == 0) {
		struct wc_mbox_req t = { .op = WC_MB_MODIFY };
		struct wc_modify_req *r = &t.u.modify;
		enum mc_exec_result res;

		*r = (struct wc_modify_req){ .key = q->key.p, .klen = q->key.len,
					     .hash = wc_hash(q->key.p, q->key.len),
					     .cas_in = m->cas_cmp, .new_cas = m->cas_new,
					     .exptime = m->ttl, .flags = m->client_flags };
		if (mc_meta_has(m, 'C'))
			r->opts |= WC_MOD_CHECK_CAS;
		if (mc_meta_has(m, 'I'))
			r->opts |= WC_MOD_STALE;
		if (mc_meta_has(m, 'x'))
			r->opts |= WC_MOD_CLEAR_VALUE;
		if (mc_meta_has(m, 'T') && (r->opts & (WC_MOD_STALE | WC_MOD_CLEAR_VALUE)))
			r->opts |= WC_MOD_SET_EXPTIME;
		if (mc_meta_has(m, 'E'))
			r->opts |= WC_MOD_EXPLICIT_CAS;
		if ((res = write_key(s, out, env, &t)) != MC_EXEC_DONE || s->redirected)
			return res;
	}
	if (!(code = meta_code(s->result))) {
		line(out, "SERVER_ERROR out of memory");
		return MC_EXEC_DONE;
	}
	if (s->result == WC_OK && q->noreply)
		return MC_EXEC_DONE;
	mc_out_str(out, code);
	meta_echo(out, q);
	mc_out_str(out, CRLF);
	return MC_EXEC_DONE;
}

static enum mc_exec_result exec_ma(struct mc_session *s, struct mc_out *out, struct mc_env *env)
{
	const struct mc_req *q = &s->req;
	const struct mc_meta *m = &q->meta;
	char num[20];
	uint32_t numlen = 0;
	uint64_t n;

	if (s->step == 0) {
		struct wc_mbox_req t = { .op = WC_MB_ARITH };
		struct wc_arith_req *r = &t.u.arith;
		enum mc_exec_result res;

		*r = (struct wc_arith_req){ .key = q->key.p, .klen = q->key.len,
					    .hash = wc_hash(q->key.p, q->key.len),
					    .decr = m->mode == 'D' || m->mode == '-',
					    .delta = m->delta, .cas_in = m->cas_cmp,
					    .new_cas = m->cas_new, .initial = m->initial,
					    .exptime = m->ttl, .vivify_exptime = m->vivify };
		if (mc_meta_has(m, 'C'))
			r->opts |= WC_ARITH_CHECK_CAS;
		if (mc_meta_has(m, 'E'))
			r->opts |= WC_ARITH_EXPLICIT_CAS;
		if (mc_meta_has(m, 'N'))
			r->opts |= WC_ARITH_VIVIFY;
		if (mc_meta_has(m, 'T'))
			r->opts |= WC_ARITH_SET_EXPTIME;
		if ((res = write_key(s, out, env, &t)) != MC_EXEC_DONE || s->redirected)
			return res;
	}
	switch (s->result) {
	case WC_OK:
		break;
	case WC_ERR_NON_NUMERIC:
		line(out, "CLIENT_ERROR cannot increment or decrement non-numeric value");
		return MC_EXEC_DONE;
	case WC_NOT_FOUND:
	case WC_EXISTS:
	case WC_NOT_STORED:
		mc_out_str(out, meta_code(s->result));
		meta_echo(out, q);
		mc_out_str(out, CRLF);
		return MC_EXEC_DONE;
	default:
		line(out, "SERVER_ERROR out of memory");
		return MC_EXEC_DONE;
	}
	if (q->noreply)
		return MC_EXEC_DONE;
	n = s->res.value;
	do {
		num[19 - numlen++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	if (mc_meta_has(m, 'v')) {
		mc_out_str(out, "VA ");
		mc_out_u64(out, numlen);
	} else {
		mc_out_str(out, "HD");
	}
	for (unsigned i = 0; i < m->nflags; i++) {
		switch (m->order[i]) {
		case 'O':
			meta_opaque(out, q);
			break;
		case 'k':
			meta_key(out, q, q->key.p, q->key.len);
			break;
		case 'c':
			meta_flag_u64(out, 'c', s->res.cas);
			break;
		case 't':
			meta_ttl(out, s->res.exptime, env->ctx->clock.now);
			break;
		}
	}
	mc_out_str(out, CRLF);
	if (mc_meta_has(m, 'v')) {
		mc_out_put(out, num + 20 - numlen, numlen);
		mc_out_str(out, CRLF);
	}
	return MC_EXEC_DONE;
}

static void exec_me(struct mc_session *s, struct mc_out *out, struct mc_env *env)
{
	const struct mc_req *q = &s->req;
	struct mc_route rt;
	struct wc_view v;

	route_key(s, env, &q->key, &rt);
	if (redirect(s, out, &rt))
		return;
	if (!wc_get(rt.part, env->ctx, q->key.p, q->key.len, wc_hash(q->key.p, q->key.len),
		    WC_LOOKUP_CAS | WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v)) {
		line(out, "EN");
		return;
	}
	mc_out_str(out, "ME ");
	if (q->meta.binary_key) {
		uint8_t b64[(MC_KEY_MAX + 2) / 3 * 4];

		mc_out_put(out, b64, mc_base64_encode(v.key, v.klen, b64, sizeof(b64)));
	} else {
		mc_out_put(out, v.key, v.klen);
	}
	mc_out_str(out, " exp=");
	mc_out_i64(out, wc_ttl_left(v.exptime, env->ctx->clock.now));
	mc_out_str(out, " la=");
	mc_out_u64(out, v.idle_before);
	mc_out_str(out, " cas=");
	mc_out_u64(out, v.cas);
	mc_out_str(out, (v.state_before & WC_STATE_FETCHED) ? " fetch=yes" : " fetch=no");
	mc_out_str(out, " cls=1 size=");
	mc_out_u64(out, wc_item_size(v.it));
	mc_out_str(out, CRLF);
}

/* ---- forwarding (cluster/link.h) ---- */

/*
 * A command for keys all of one other node goes to that node when the
 * environment forwards: single-key commands, and gets whose every key is
 * that node's (a get mixing nodes answers as without forwarding). A request
 * that came over a link (no_forward) goes on only to a moving slot's
 * target, for a key no longer here (rt.ask, core/slots.h): at most once
 * more, since the target serves such a request itself.
 */
static enum mc_exec_result try_forward(struct mc_session *s, struct mc_inq *in,
				       struct mc_env *env)
{
	const struct mc_req *q = &s->req;
	struct mc_route rt;

	switch (q->cmd) {
	case MC_GET: case MC_GETS: case MC_GAT: case MC_GATS: {
		const uint8_t *pos = q->keys.p, *end = q->keys.p + q->keys.len;
		struct mc_tok k;
		uint16_t node = 0;
		bool local = false, all_ask = true;

		while (mc_next_token(&pos, end, &k)) {
			if (k.len == 0 || k.len > MC_KEY_MAX)
				return MC_EXEC_DONE;
			route_key(s, env, &k, &rt);
			if (!rt.redirect || rt.node == 0) {
				local = true;
			} else if (rt.node > WC_SLOT_PEERS_MAX) {
				return MC_EXEC_DONE;	/* a slot no node serves: said so in order */
			} else if (node && rt.node != node) {
				node = UINT16_MAX;	/* several other nodes */
			} else if (!node) {
				node = rt.node;
			}
			all_ask = all_ask && (!rt.redirect || rt.ask);
		}
		if (!node)
			return MC_EXEC_DONE;
		/* from a link: sent on only as a whole, to a moving slot's target */
		if (s->no_forward && (local || node == UINT16_MAX || !all_ask))
			return MC_EXEC_DONE;
		if (local || node == UINT16_MAX) {
			/* keys of several nodes: get splits it key by key (exec_get_split) */
			if (q->cmd == MC_GET || q->cmd == MC_GETS)
				s->fwd_split = true;
			return MC_EXEC_DONE;
		}
		break;
	}
	case MC_SET: case MC_ADD: case MC_REPLACE: case MC_APPEND: case MC_PREPEND: case MC_CAS:
	case MC_DELETE: case MC_INCR: case MC_DECR: case MC_TOUCH:
	case MC_MG: case MC_MS: case MC_MD: case MC_MA: case MC_ME:
		if (s->too_large || q->key.len == 0)
			return MC_EXEC_DONE;
		route_key(s, env, &q->key, &rt);
		if (!rt.redirect || rt.node == 0 || (s->no_forward && !rt.ask))
			return MC_EXEC_DONE;
		break;
	default:
		return MC_EXEC_DONE;
	}
	return (enum mc_exec_result)env->forward(env, s, in, &rt);
}

/* ---- dispatch ---- */

enum mc_exec_result mc_exec_resume(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
				   struct mc_env *env)
{
	struct mc_req *q = &s->req;

	if (__builtin_expect(s->forwarded, 0) && !s->fwd_split)
		return MC_EXEC_DONE;	/* its owner node answered (mc_session_forwarded) */
	if (env->forward && s->step == 0 && s->cursor == 0) {
		enum mc_exec_result r = try_forward(s, in, env);

		if (r != MC_EXEC_DONE)
			return r;
	}
	/* (after forwarding: a cluster replica sends a write of its master's key there) */
	if (s->step == 0 && s->cursor == 0 && refused_read_only(s, env)) {
		if (!quiet(s))
			line(out, "SERVER_ERROR read only replica");
		return MC_EXEC_DONE;
	}
	switch (q->cmd) {
	case MC_GET:
	case MC_GETS:
		return exec_get(s, in, out, env);
	case MC_GAT:
	case MC_GATS:
		return exec_gat(s, out, env);
	case MC_SET: case MC_ADD: case MC_REPLACE: case MC_APPEND: case MC_PREPEND: case MC_CAS:
		return exec_store(s, in, out, env);
	case MC_DELETE: case MC_INCR: case MC_DECR: case MC_TOUCH:
		return exec_keyed(s, out, env);
	case MC_FLUSH_ALL:
		return exec_flush(s, out, env);
	case MC_VERSION:
		mc_out_str(out, "VERSION ");
		line(out, env->set->version);
		return MC_EXEC_DONE;
	case MC_VERBOSITY:
		if (!q->noreply)
			line(out, "OK");
		return MC_EXEC_DONE;
	case MC_QUIT:
		return s->datagram ? MC_EXEC_DONE : MC_EXEC_CLOSE;
	case MC_STATS:
		if (!env->stats || !env->stats(env, &q->arg, out))
			line(out, "ERROR");
		return MC_EXEC_DONE;
	case MC_MN:
		line(out, "MN");
		return MC_EXEC_DONE;
	case MC_ME:
		exec_me(s, out, env);
		return MC_EXEC_DONE;
	case MC_MG:
		return exec_mg(s, out, env);
	case MC_MS:
		return exec_ms(s, in, out, env);
	case MC_MD:
		return exec_md(s, out, env);
	case MC_MA:
		return exec_ma(s, out, env);
	default:
		line(out, "ERROR");
		return MC_EXEC_DONE;
	}
}

enum mc_exec_result mc_exec_start(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
				  struct mc_env *env)
{
	s->step = 0;
	s->cursor = 0;
	s->redirected = false;
	s->forwarded = false;
	s->fwd_split = false;
	s->result = WC_OK;
	memset(&s->res, 0, sizeof(s->res));
	if (__builtin_expect(wc_writes_fenced(), 0) && mc_req_writes(&s->req)) {
		/* a master cut off from etcd (core/fence.h) */
		__atomic_fetch_add(&wc_fence_refused, 1, __ATOMIC_RELAXED);
		if (!quiet(s))
			line(out, "SERVER_ERROR cluster down: this master is fenced");
		return MC_EXEC_DONE;
	}
	return mc_exec_resume(s, in, out, env);
}
