/*
 * rd_tcp_pipe.c - Redis GETs, plain SETs and MGETs pipelined in one
 * segment (or one alone), answered on the fast path one after another: a
 * GET as rd_tcp.c answers a lone one (rd_tcp_get.h), a SET as the
 * session's SET would (set_fast), an MGET as the session's (rd_tcp_mget.c);
 * apart from rd_tcp.c so that each keeps its one GET's code inline.
 */
#include "core/fence.h"
#include "net/rd_tcp_get.h"
#include "redis/keyev.h"
#include "redis/pubsub.h"
#include "redis/rdbload.h"
#include "redis/rdutil.h"
#include "redis/repl_master.h"
#include "redis/replica.h"
#include "store/kv.h"

/*
 * May a SET run here and now without the session: what admit() checks for
 * a write (ACL, fencing, a read-only replica, a start-up load,
 * min-replicas-to-write), and nothing the general SET does besides its
 * write, event and reply: not the master's stream, no tracking of its own
 * (tracking.c's per-command bookkeeping), no own keyspace events in its
 * reply (pubsub.h).
 */
static bool set_admitted(struct wc_lcore *lc, struct wc_tcb *c, const struct resp_set *rs)
{
	const struct rd_session *s = &c->rd;

	return s->fast_set && !(s->flags & RD_C_MASTER) && !rd_trk_flags(&s->trk) &&
	       rs->vlen <= lc->app->rd->proto_max_bulk_len && !wc_writes_fenced() &&
	       !rd_replica_read_only() && !rd_rdb_loading() && !rd_repl_writes_refused(s) &&
	       !(rd_keyev_on(&lc->ctx) && rd_pubsub_own_in_reply(s));
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
	struct rd_owner o;
	struct wc_part *part;
	unsigned owner;
	enum wc_status st;
	bool existed;
	const uint16_t *table;
	uint32_t used = resp_set_at(p, (uint32_t)(end - p), &rs);

	if (!used || !set_admitted(lc, c, &rs))
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
	o = (struct rd_owner){ .part = part, .ctx = &lc->ctx, .s = &c->rd, .out = &c->out };
	/* (the old version matters only to the events: none while nobody listens) */
	existed = rd_keyev_on(&lc->ctx) &&
		  wc_kv_find(part, &lc->ctx, rs.key, rs.klen, put.hash) != NULL;
	st = wc_kv_put(part, &lc->ctx, &put, NULL);
	if (st == WC_OK) {
		rd_keyev_emit_write(&o, !existed, RD_EV_SET, rs.key, rs.klen);
		resp_ok(&c->out);
	} else {
		if (existed)
			rd_keyev_emit(&o, RD_EV_DEL, rs.key, rs.klen);	/* a refused store drops it */
		rd_reply_store_error(&c->out, st);
	}
	lc->rdst.commands++;
	lc->rdst.calls[rd_set_cmd_id]++;
	lc->rdst.cycles[rd_set_cmd_id] += rte_rdtsc() - t0;
	return used;
}

bool wc_rd_tcp_pipelined_gets(struct wc_lcore *lc, struct wc_tcb *c, const uint8_t *start,
			      const uint8_t *end)
{
	const uint8_t *p = start, *key;
	uint32_t klen, used;

	while (p < end && !mc_out_full(&c->out)) {
		if ((key = resp_get_at(p, (uint32_t)(end - p), &klen, &used)) != NULL)
			wc_rd_tcp_get_one(lc, c, key, klen, used);
		else if (!(used = set_fast(lc, c, p, end)) && !(used = wc_rd_tcp_mget(lc, c, p, end)))
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
