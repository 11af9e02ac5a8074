/*
 * rd_tcp_pipe.c - Redis GETs, plain SETs, MGETs and the cache-aside writes
 * (SET with EX or PX, SETEX, PSETEX, a one-key DEL) and counters (INCR,
 * DECR, INCRBY, DECRBY) pipelined in one segment (or one alone), answered
 * on the fast path one after another: a GET as rd_tcp.c answers a lone
 * one (rd_tcp_get.h), a SET as the
 * session's SET would (set_fast), an MGET as the session's (rd_tcp_mget.c),
 * the others as their session commands would (write_fast); apart from
 * rd_tcp.c so that each keeps its one GET's code inline.
 */
#include "core/fence.h"
#include "net/rd_tcp_get.h"
#include "redis/keyev.h"
#include "redis/obj.h"
#include "redis/pubsub.h"
#include "redis/rdbload.h"
#include "redis/rdutil.h"
#include "redis/repl_master.h"
#include "redis/replica.h"
#include "store/kv.h"

/*
 * May a write (acl: the user may run it on any key; vlen: its value's
 * length) run here and now without the session: what admit() checks for
 * a write (ACL, fencing, a read-only replica, a start-up load,
 * min-replicas-to-write), and nothing the general command does besides
 * its write, events and reply: not the master's stream, no tracking of its
 * own (tracking.c's per-command bookkeeping), no own keyspace events in
 * its reply (pubsub.h).
 */
static inline __attribute__((always_inline)) bool write_admitted(struct wc_lcore *lc,
								 struct wc_tcb *c, bool acl,
								 uint32_t vlen)
{
	const struct rd_session *s = &c->rd;

	return acl && !(s->flags & RD_C_MASTER) && !rd_trk_flags(&s->trk) &&
	       vlen <= lc->app->rd->proto_max_bulk_len && !wc_writes_fenced() &&
	       !rd_replica_read_only() && !rd_rdb_loading() && !rd_repl_writes_refused(s) &&
	       !(rd_keyev_on(&lc->ctx) && rd_pubsub_own_in_reply(s));
}

/*
 * A string put (the key's partition part), written as t_string.c's
 * set_owner writes it: the events ("set", then "expire" when it has a
 * time to live; "del" when a refused store dropped an old value) and the
 * reply. Returns the store's answer (a refusal for memory is counted as
 * the session counts it: counted_or_refused).
 */
static inline __attribute__((always_inline)) enum wc_status put_string(struct wc_lcore *lc,
							       struct wc_tcb *c,
							       struct wc_part *part,
							       const struct wc_put_req *put,
							       bool expires)
{
	struct rd_owner o = { .part = part, .ctx = &lc->ctx, .s = &c->rd, .out = &c->out };
	enum wc_status st;
	/* (the old version matters only to the events: none while nobody listens) */
	bool existed = rd_keyev_on(&lc->ctx) &&
		       wc_kv_find(part, &lc->ctx, put->key, put->klen, put->hash) != NULL;

	st = wc_kv_put(part, &lc->ctx, put, NULL);
	if (st == WC_OK) {
		rd_keyev_emit_write(&o, !existed, RD_EV_SET, put->key, put->klen);
		if (expires)
			rd_keyev_emit(&o, RD_EV_EXPIRE, put->key, put->klen);
		resp_ok(&c->out);
	} else {
		if (existed)
			rd_keyev_emit(&o, RD_EV_DEL, put->key, put->klen);	/* a refused store drops it */
		rd_reply_store_error(&c->out, st);
	}
	return st;
}

/*
 * A write refused for memory: as Redis counts its OOM refusal (and the
 * session, session.c count_command), a rejected call of command id, an
 * OOM error reply, not a call. Out of line: rare.
 */
static __attribute__((noinline, cold)) void count_refused(struct wc_lcore *lc, struct wc_tcb *c,
							  unsigned id)
{
	lc->rdst.rejected++;
	lc->rdst.cmd_rejected[id]++;
	lc->rdst.errstat[RD_ERRSTAT_OOM]++;
	c->rd.last_cmd_id = (uint16_t)id;
}

/* A write the fast path answered (st: the store's answer), counted as the session counts it. */
static inline __attribute__((always_inline)) void counted_or_refused(struct wc_lcore *lc,
								     struct wc_tcb *c,
								     unsigned id, uint64_t t0,
								     const uint8_t *req,
								     uint32_t len,
								     enum wc_status st)
{
	if (__builtin_expect(st != WC_OK, 0) && rd_store_error_is_oom(st))
		count_refused(lc, c, id);
	else
		wc_rd_tcp_counted(lc, c, id, t0, req, len);
}

/*
 * One whole "SET <key> <value>" at p (resp_set_at), written and answered
 * as t_string.c's set_owner does for a SET without options, when the
 * key's partition is this lcore's own; the command counted as the session
 * counts it. Returns its length, 0 when it is left to the session.
 */
static uint32_t set_fast(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *p,
			 const uint8_t *end)
{
	const struct wc_app *app = lc->app;
	uint64_t t0 = rte_rdtsc();
	struct resp_set rs;
	struct rd_bytes val;
	struct wc_put_req put;
	struct wc_part *part;
	unsigned owner;
	const uint16_t *table;
	uint32_t used = resp_set_at(p, (uint32_t)(end - p), &rs);

	if (!used || !write_admitted(lc, c, c->rd.fast_set, rs.vlen))
		return 0;
	table = rcu_dereference(app->slot_part);
	wc_slot_key_route(app, table, rs.key, rs.klen, &part, &owner);
	if (lc->env.mbox && owner != lc->env.self)
		return 0;	/* another lcore's partition: the session's owner call */
	lc->rdst.net_in += used;
	val = (struct rd_bytes){ .p = rs.val, .n = rs.vlen };
	put = (struct wc_put_req){ .key = rs.key, .klen = rs.klen, .hash = wc_hash(rs.key, rs.klen),
				   .type = WC_TYPE_STRING, .vlen = rs.vlen, .fill = rd_fill_bytes,
				   .arg = &val };
	counted_or_refused(lc, c, rd_set_cmd_id, t0, p, used, put_string(lc, c, part, &put, false));
	return used;
}

void wc_rd_tcp_slowlog(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *req, uint32_t len,
		       uint64_t cycles)
{
	const uint8_t *argv[RD_SLOWLOG_ARGS];
	uint32_t lens[RD_SLOWLOG_ARGS];
	uint32_t argc = resp_flat_argv(req, len, argv, lens, RD_SLOWLOG_ARGS);

	if (argc)
		rd_slowlog_note_flat(lc->app->rd, &c->rd, cycles, argc, argv, lens);
}

/*
 * A SET with a time to live (w), written as t_string.c's set_owner writes
 * a SET with EX/PX: the absolute deadline in ms from this lcore's clock,
 * then put_string (its answer into *st). False, with nothing done, when
 * the deadline is not one set_owner would store (the session answers).
 */
static bool ttl_put(struct wc_lcore *lc, struct wc_tcb *c, struct wc_part *part,
		    const struct resp_write *w, enum wc_status *st)
{
	struct rd_bytes val = { .p = w->val, .n = w->vlen };
	struct wc_put_req put = { .key = w->key, .klen = w->klen, .hash = wc_hash(w->key, w->klen),
				  .type = WC_TYPE_STRING, .vlen = w->vlen, .fill = rd_fill_bytes,
				  .arg = &val };
	int64_t now = wc_clock_unix_ms(&lc->ctx.clock);

	if (w->ttl_ms > INT64_MAX - now ||
	    !wc_expiry_from_unix_ms(&lc->ctx.clock, now + w->ttl_ms, &put.exptime, &put.exp_ms))
		return false;
	*st = put_string(lc, c, part, &put, true);
	return true;
}

/* A one-key DEL (w), as keys.c's del_owner deletes and del answers it. */
static void del_one(struct wc_lcore *lc, struct wc_tcb *c, struct wc_part *part,
		    const struct resp_write *w)
{
	struct rd_owner o = { .part = part, .ctx = &lc->ctx, .s = &c->rd, .out = &c->out };
	bool deleted = rd_obj_delete(part, &lc->ctx, w->key, w->klen, wc_hash(w->key, w->klen));

	if (deleted)
		rd_keyev_emit(&o, RD_EV_DEL, w->key, w->klen);
	resp_int(&c->out, deleted);
}

/*
 * A counter (w: INCR, DECR, INCRBY, DECRBY), as t_string.c's incr_owner
 * adds to an integer string: the sum put keeping the old time to live,
 * its events ("new" when it made the key, then "incrby") and the reply
 * (its answer into *st). False, with nothing done or answered, where the
 * session answers an error (another type, not an integer, an overflow):
 * the session answers and counts those.
 */
static bool incr_one(struct wc_lcore *lc, struct wc_tcb *c, struct wc_part *part,
		     const struct resp_write *w, enum wc_status *st)
{
	struct rd_owner o = { .part = part, .ctx = &lc->ctx, .s = &c->rd, .out = &c->out };
	uint64_t hash = wc_hash(w->key, w->klen);
	struct wc_item *old = wc_kv_find(part, &lc->ctx, w->key, w->klen, hash);
	int64_t cur = 0, next;
	char buf[24];
	char *digits;
	struct rd_bytes b;
	struct wc_put_req put = { .key = w->key, .klen = w->klen, .hash = hash,
				  .type = WC_TYPE_STRING, .fill = rd_fill_bytes, .arg = &b,
				  .opts = WC_PUT_KEEP_TTL };

	if (old && (wc_item_type(old) != WC_TYPE_STRING ||
		    !rd_parse_ll(wc_item_value(old), wc_item_vlen(old), &cur)))
		return false;
	if (__builtin_add_overflow(cur, w->delta, &next))
		return false;
	digits = mc_fmt_u64(buf + sizeof(buf), next < 0 ? (uint64_t)0 - (uint64_t)next :
							    (uint64_t)next);
	if (next < 0)
		*--digits = '-';
	b = (struct rd_bytes){ .p = (const uint8_t *)digits, .n = (size_t)(buf + sizeof(buf) - digits) };
	put.vlen = (uint32_t)b.n;
	*st = wc_kv_put(part, &lc->ctx, &put, NULL);
	if (*st == WC_OK) {
		rd_keyev_emit_write(&o, !old, RD_EV_INCRBY, w->key, w->klen);
		resp_int(&c->out, next);
	} else {
		rd_reply_store_error(&c->out, *st);
	}
	return true;
}

/* The command id of counter cmd and whether c's user may run it on any key (*acl). */
static uint16_t counter_cmd_id(const struct rd_session *s, uint8_t cmd, bool *acl)
{
	switch (cmd) {
	case RESP_W_INCR:
		*acl = s->fast_incr;
		return rd_incr_cmd_id;
	case RESP_W_DECR:
		*acl = s->fast_decr;
		return rd_decr_cmd_id;
	case RESP_W_INCRBY:
		*acl = s->fast_incrby;
		return rd_incrby_cmd_id;
	default:
		*acl = s->fast_decrby;
		return rd_decrby_cmd_id;
	}
}

/*
 * One whole cache-aside write at p (resp_write_at): SET with EX or PX,
 * SETEX, PSETEX, a one-key DEL or a counter, run and answered as the session would
 * when the key's partition is this lcore's own, the command counted as the
 * session counts it. Returns its length, 0 when it is left to the session.
 */
static __attribute__((noinline)) uint32_t write_fast(struct wc_lcore *lc, struct wc_tcb *c,
						     const uint8_t *p, const uint8_t *end)
{
	const struct rd_session *s = &c->rd;
	uint64_t t0 = rte_rdtsc();
	struct resp_write w;
	struct wc_part *part;
	unsigned owner;
	uint16_t id;
	bool acl;
	enum wc_status st = WC_OK;	/* (a DEL's: counted as a call) */
	uint32_t used = resp_write_at(p, (uint32_t)(end - p), &w);

	if (!used)
		return 0;
	switch (w.cmd) {
	case RESP_W_SET:
		id = rd_set_cmd_id;
		acl = s->fast_set;
		break;
	case RESP_W_SETEX:
		id = rd_setex_cmd_id;
		acl = s->fast_setex;
		break;
	case RESP_W_PSETEX:
		id = rd_psetex_cmd_id;
		acl = s->fast_psetex;
		break;
	case RESP_W_DEL:
		id = rd_del_cmd_id;
		acl = s->fast_del;
		break;
	default:
		id = counter_cmd_id(s, w.cmd, &acl);
		break;
	}
	if (!write_admitted(lc, c, acl, w.vlen))
		return 0;
	wc_slot_key_route(lc->app, rcu_dereference(lc->app->slot_part), w.key, w.klen, &part,
			  &owner);
	if (lc->env.mbox && owner != lc->env.self)
		return 0;	/* another lcore's partition: the session's owner call */
	if (w.cmd == RESP_W_DEL)
		del_one(lc, c, part, &w);
	else if (w.cmd >= RESP_W_INCR ? !incr_one(lc, c, part, &w, &st) :
					!ttl_put(lc, c, part, &w, &st))
		return 0;
	lc->rdst.net_in += used;
	counted_or_refused(lc, c, id, t0, p, used, st);
	return used;
}

/*
 * Does the command at p name MGET ("*<n>\r\n$4\r\nM...": a hint of which
 * recognizer to try, wc_rd_tcp_mget's or write_fast's; each checks all)?
 */
static inline bool named_mget(const uint8_t *p, const uint8_t *end)
{
	/* ("*2\r\n" to "*65\r\n": the line ends at p[3] or p[4]) */
	const uint8_t *nl = end - p < 10 ? NULL : p[3] == '\n' ? p + 3 : p + 4;

	return nl && nl[0] == '\n' && nl[1] == '$' && nl[2] == '4' && (nl[5] | 0x20) == 'm';
}

bool wc_rd_tcp_pipelined_gets(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *start,
			      const uint8_t *end)
{
	const uint8_t *p = start, *key;
	uint32_t klen, used;

	while (p < end && !mc_out_full(&c->out)) {
		if ((key = resp_get_at(p, (uint32_t)(end - p), &klen, &used)) != NULL)
			wc_rd_tcp_get_one(lc, c, p, key, klen, used);
		else if (!(used = set_fast(lc, c, p, end)) &&
			 !(used = named_mget(p, end) ? wc_rd_tcp_mget(lc, c, p, end) :
				  write_fast(lc, c, p, end)))
			break;
		lc->tcp->fast_pipelined++;
		p += used;
	}
	if (p == end) {
		wc_tcp_rx_answered(lc, c);
		return true;
	}
	if (p != start)
		c->inq.consume(&c->inq, (uint64_t)(p - start));
	return false;
}
