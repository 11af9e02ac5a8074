/*
 * mc_tcp.c - memcached over TCP: each connection runs the same protocol
 * engine as UDP (proto/mc_session.h) over its byte queues.
 *
 * The session reads and writes through the connection's views
 * (tcp_io.c): it parses straight out of the received segments and writes
 * replies into the send queue.
 *
 * When unsent replies pile up past WC_TCP_SND_QUEUE_MAX the connection
 * stops reading requests until the peer catches up, so a client that sends
 * without reading fills its own window, not our memory.
 */
/* rcu_dereference inline (a load), not a call into liburcu, once per request */
#define URCU_INLINE_SMALL_FUNCTIONS
#include <string.h>

#include <urcu-qsbr.h>

#include "core/fence.h"
#include "core/slots.h"
#include "net/mc_tcp_mget.h"
#include "net/tcp_impl.h"
#include "proto/mc_exec.h"
#include "proto/mc_arith_line.h"
#include "proto/mc_delete_line.h"
#include "proto/mc_set_line.h"
#include "redis/acl.h"

bool wc_mc_tcp_refused(const struct wc_app *app, uint16_t lport, uint32_t rip)
{
	const struct wc_config *cfg = &app->cfg;

	if (!cfg->tcp_enabled || lport != cfg->tcp_port || !rd_acl_mc_gated(app->rd))
		return false;
	for (unsigned i = 0; i < cfg->nmc_allow; i++)
		if (wc_prefix_match(&cfg->mc_allow[i], rip))
			return false;
	return true;
}

static void mc_tcp_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	(void)lc;
	c->sess.owner = c;
	c->sess.owner_kind = MC_OWNER_TCP;
	mc_session_init(&c->sess);
}

static void mc_tcp_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	/* a write still in flight may read the stage: the completion releases it */
	if (!c->sess.pending)
		mc_session_release(&c->sess, &lc->env);
}

/*
 * One get's lookup and reply (what mc_exec_get_one writes, byte for byte):
 * written in place with mc_get_reply_at when the whole reply fits the
 * output window, through the general writer otherwise.
 */
static inline __attribute__((always_inline)) void get_reply(struct wc_lcore *lc, struct mc_out *out,
							      const uint8_t *key, uint32_t klen,
							      bool cas)
{
	const struct wc_app *app = lc->app;
	struct mc_route rt = { .read = true };
	struct wc_view v;
	const struct wc_view *found;
	uint8_t *end;

	/* the key's partition: the only one, or the one its slot maps to */
	rt.part = wc_slot_read_part(app, rcu_dereference(app->slot_part));
	if (!rt.part)
		lc->env.route(&lc->env, key, klen, &rt);
	if (__builtin_expect(rt.redirect != NULL, 0)) {
		mc_out_str(out, rt.redirect);
		return;
	}
	found = wc_get(rt.part, lc->env.ctx, key, klen, wc_hash(key, klen), cas ? WC_LOOKUP_CAS : 0,
		       &v) ? &v : NULL;
	if (__builtin_expect(out->failed || out->limit ||
			     (size_t)(out->end - out->p) < MC_GET_REPLY_MAX(klen, found ? v.vlen : 0),
			     0)) {
		mc_exec_get_reply(out, key, klen, found, cas);
		return;
	}
	end = mc_get_reply_at(out->p, key, klen, found, cas);
	out->written += (uint64_t)(end - out->p);
	out->p = end;
}

/*
 * The partition of a key this lcore may write here and now as the session
 * would: writes not fenced, no read-only replica, the key's partition this
 * lcore's own (no redirect, no mailbox hop, as run_write decides); NULL
 * otherwise.
 */
static inline __attribute__((always_inline)) struct wc_part *own_write_part(struct wc_lcore *lc,
									    const uint8_t *key,
									    uint32_t klen)
{
	const struct wc_app *app = lc->app;
	struct mc_route rt = { .read = false };

	if (wc_writes_fenced() || __atomic_load_n(&lc->env.set->read_only, __ATOMIC_RELAXED))
		return NULL;
	/* the key's partition: the only one (its owner the first), or the one its slot maps to */
	if ((rt.part = wc_slot_read_part(app, rcu_dereference(app->slot_part))) != NULL)
		rt.owner = app->part_owner[0];
	else
		lc->env.route(&lc->env, key, klen, &rt);
	if (rt.redirect || (lc->env.mbox && rt.owner != lc->env.self))
		return NULL;
	return rt.part;
}

/*
 * A whole "set" at p (line, block and CRLF before end: mc_set_line_parse)
 * stored and answered as the session's exec_store would, when the session
 * would run it here and now: the key's partition is this lcore's own (no
 * redirect, no mailbox hop, as run_write decides), writes are not fenced,
 * the node is no read-only replica and the value is within max_value.
 * Returns the bytes it took, 0 when it is left to the session.
 */
static uint32_t fast_set(struct wc_lcore *lc, struct mc_out *out, const uint8_t *p,
			 const uint8_t *end)
{
	const struct wc_app *app = lc->app;
	struct mc_set_line sl;
	struct mc_route rt = { .read = false };
	struct iovec val;
	struct wc_store_req req;
	uint32_t used = mc_set_line_parse(p, (uint32_t)(end - p), &sl);

	if (!used || sl.vlen > lc->env.set->max_value || wc_writes_fenced() ||
	    __atomic_load_n(&lc->env.set->read_only, __ATOMIC_RELAXED))
		return 0;
	/* the key's partition: the only one (its owner the first), or the one its slot maps to */
	if ((rt.part = wc_slot_read_part(app, rcu_dereference(app->slot_part))) != NULL)
		rt.owner = app->part_owner[0];
	else
		lc->env.route(&lc->env, sl.key, sl.klen, &rt);
	if (rt.redirect || (lc->env.mbox && rt.owner != lc->env.self))
		return 0;
	val = (struct iovec){ .iov_base = (void *)(uintptr_t)sl.val, .iov_len = sl.vlen };
	req = (struct wc_store_req){ .mode = WC_SET, .key = sl.key, .klen = sl.klen,
				     .hash = wc_hash(sl.key, sl.klen), .val = &val, .val_cnt = 1,
				     .flags = sl.flags, .exptime = sl.exptime };
	/* (no write result: a set's reply is its status alone) */
	mc_exec_store_reply(out, wc_store(rt.part, &lc->ctx, &req, NULL), sl.noreply);
	return used;
}

/*
 * A "delete <key>[ noreply]" line at p (mc_delete_line_parse) run and
 * answered as the session's exec_keyed would, under fast_set's conditions.
 * Returns the bytes it took, 0 when it is left to the session.
 */
static __attribute__((noinline)) uint32_t fast_delete(struct wc_lcore *lc, struct mc_out *out,
						       const uint8_t *p, const uint8_t *end)
{
	struct mc_delete_line dl;
	struct wc_part *part;
	enum wc_status st;
	uint32_t used = mc_delete_line_parse(p, (uint32_t)(end - p), &dl);

	if (!used || !(part = own_write_part(lc, dl.key, dl.klen)))
		return 0;
	st = wc_delete(part, &lc->ctx, dl.key, dl.klen, wc_hash(dl.key, dl.klen), 0);
	if (dl.noreply)
		return used;	/* memcached answers nothing, errors included */
	if (st == WC_OK)
		mc_out_str(out, "DELETED\r\n");
	else if (st == WC_NOT_FOUND)
		mc_out_str(out, "NOT_FOUND\r\n");
	else
		mc_exec_store_reply(out, st, false);	/* (the same SERVER_ERROR texts) */
	return used;
}

/*
 * An "incr"/"decr <key> <delta>[ noreply]" line at p (mc_arith_line_parse)
 * run and answered as the session's exec_keyed would (mc_exec_arith_reply),
 * under fast_set's conditions. Returns the bytes it took, 0 when it is left
 * to the session.
 */
static __attribute__((noinline)) uint32_t fast_arith(struct wc_lcore *lc, struct mc_out *out,
						      const uint8_t *p, const uint8_t *end)
{
	struct mc_arith_line al;
	struct wc_arith_req r;
	struct wc_write_res res = { 0 };
	struct wc_part *part;
	enum wc_status st;
	uint32_t used = mc_arith_line_parse(p, (uint32_t)(end - p), &al);

	if (!used || !(part = own_write_part(lc, al.key, al.klen)))
		return 0;
	r = (struct wc_arith_req){ .key = al.key, .klen = al.klen, .hash = wc_hash(al.key, al.klen),
				   .decr = al.decr, .delta = al.delta };
	st = wc_arith(part, &lc->ctx, &r, &res);
	mc_exec_arith_reply(out, st, res.value, al.noreply);
	return used;
}

/* What the fast path made of a segment's requests (single_gets). */
enum fast_gets { FAST_NONE, FAST_SOME, FAST_ALL };

/*
 * A pipeline of get lines (one key, or several: wc_mc_tcp_multi_get),
 * whole "set"s (fast_set), "delete"s (fast_delete) and "incr"/"decr"s
 * (fast_arith) in one segment,
 * start[0..end), answered request by request while each is one of them
 * and the output has room (the session stops before a command when it has
 * none). Out of line: the one-get case keeps its registers.
 */
static __attribute__((noinline)) enum fast_gets pipelined_gets(struct wc_lcore *lc,
							       struct wc_tcb *c,
							       const uint8_t *start,
							       const uint8_t *end)
{
	const uint8_t *p = start, *key;
	uint32_t klen, used;
	bool cas;

	while (p < end) {
		const uint8_t *nl;

		if (mc_out_full(&c->out))
			break;
		if (*p == 's') {
			if (!(used = fast_set(lc, &c->out, p, end)))
				break;
			p += used;
		} else if (__builtin_expect(*p != 'g', 0)) {
			/* (a get line starts with 'g': any other a delete, incr or decr, or the end) */
			if (!(used = fast_delete(lc, &c->out, p, end)) &&
			    !(used = fast_arith(lc, &c->out, p, end)))
				break;
			p += used;
		} else {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				break;
			if ((key = mc_single_get(p, (uint32_t)(nl + 1 - p), &klen, &cas)) == NULL) {
				if (!(used = wc_mc_tcp_multi_get(lc, c, p, nl + 1)))
					break;
				p += used;
				lc->tcp->fast_pipelined++;
				if (c->sess.st != MC_S_LINE)
					break;	/* paused inside the line: its rest is the session's */
				continue;
			}
			get_reply(lc, &c->out, key, klen, cas);
			p = nl + 1;
		}
		lc->tcp->fast_pipelined++;
	}
	if (p == start)
		return FAST_NONE;
	if (p == end) {
		wc_tcp_rx_answered(lc, c);
		return FAST_ALL;
	}
	c->inq.consume(&c->inq, (uint64_t)(p - start));
	return FAST_SOME;
}

/*
 * The common requests, "get <key>" alone in one segment or a pipeline of
 * get lines (of one key or several) and whole sets, answered without the
 * general session machinery (the same replies mc_session_run would give,
 * in order).
 * FAST_ALL: every byte answered. FAST_SOME: a leading run of such requests
 * answered and consumed, the rest (another command, one cut short, output
 * full) left to the general path. FAST_NONE: nothing done.
 */
static enum fast_gets single_gets(struct wc_lcore *lc, struct wc_tcb *c)
{
	const uint8_t *start, *key;
	uint32_t klen;
	bool cas;

	if (c->rx.head != c->rx.tail || !c->rx.head || !mc_session_idle(&c->sess) ||
	    lc->tcp->slow_only)
		return FAST_NONE;
	/* a cluster that forwards: the session decides where each key goes */
	if (lc->env.forward && wc_slot_table_of(rcu_dereference(lc->app->slot_part))->remote)
		return FAST_NONE;
	start = rte_pktmbuf_mtod_offset(c->rx.head, const uint8_t *, c->rx.head_off);
	key = mc_single_get(start, (uint32_t)c->rx.len, &klen, &cas);
	if (!key)
		return pipelined_gets(lc, c, start, start + c->rx.len);
	get_reply(lc, &c->out, key, klen, cas);
	wc_tcp_rx_answered(lc, c);
	return FAST_ALL;
}

static void mc_tcp_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_tcp_lc *t = lc->tcp;
	enum fast_gets fast;
	enum mc_run r;

	if (c->state == TCP_FREE || c->zombie)
		return;
	if (c->app_closed)
		goto out;
	fast = FAST_NONE;
	if (c->tx.len <= WC_TCP_SND_QUEUE_LOW && (fast = single_gets(lc, c)) == FAST_ALL) {
		/* answered whole: nothing of the session's state changed */
		wc_tcp_out_commit(c);
		if (c->out.failed) {
			wc_tcp_reset_conn(lc, c);
			return;
		}
		if (c->state == TCP_CLOSE_WAIT) {
			/* the request came with the peer's FIN: all answered, close */
			c->app_closed = true;
			c->fin_wanted = true;
		}
		goto out;
	}
	wc_tcp_out_commit(c);
	if (fast == FAST_SOME && c->out.failed) {
		wc_tcp_reset_conn(lc, c);
		return;
	}
	/* (the rest of a part answered goes to the session, which judges the output's room) */
	if (fast == FAST_NONE && wc_tcp_tx_full(c)) {
		/* the peer must read first; retried until then (a FIN it sent waits too) */
		wc_tcp_retry_add(t, c);
		goto out;
	} else {
		bool waited = c->upload_wait;

		r = mc_session_run(&c->sess, &c->inq, &c->out, &lc->env);
		/* a value waiting for stage room is held to a small window (tcp.h) */
		c->upload_wait = c->sess.stage_wait;
		if (waited && !c->upload_wait)
			c->ack_now = true;	/* staged (or gone): open the window again */
	}
	{
		/* (a block waits for stage room only while it is still arriving) */
		struct wc_tcp_ran ran = { .r = r, .stage_wait = c->sess.stage_wait,
					  .mid_request = mc_session_mid_request(&c->sess, &c->inq),
					  .close_reason = c->sess.close_reason };

		c->sess.stage_wait = false;
		if (!wc_tcp_session_ran(lc, c, &ran))
			return;
	}
out:
	wc_tcp_output(lc, c);
}

void wc_tcp_complete(struct wc_lcore *lc, struct wc_mbox_req *req)
{
	struct mc_session *s = req->cookie;
	struct wc_tcb *c = s->owner;

	if (c->zombie) {
		/* the connection is gone; it waited only for this */
		lc->env.req_put(&lc->env, req);
		if (s->pending)
			s->pending--;
		if (!s->pending)
			mc_session_release(s, &lc->env);
		wc_tcb_free(lc, c);
		return;
	}
	mc_session_complete(s, req, &c->inq, &c->out, &lc->env);
	wc_tcp_out_commit(c);
	mc_tcp_run(lc, c);
}


/* The owner node answered a forwarded request of this connection (cluster/link.h). */
void wc_mc_tcp_forwarded(struct wc_lcore *lc, struct mc_session *s, const struct mc_inq *src,
			 uint64_t len, const char *line)
{
	struct wc_tcb *c = s->owner;

	if (c->zombie) {
		/* the connection is gone; it waited only for this */
		if (s->pending)
			s->pending--;
		if (!s->pending)
			mc_session_release(s, &lc->env);
		wc_tcb_free(lc, c);
		return;
	}
	wc_link_reply_copy(&c->out, src, len, line);
	mc_session_forwarded(s, &c->inq, &c->out, &lc->env);
	wc_tcp_out_commit(c);
	mc_tcp_run(lc, c);
}

static uint32_t mc_tcp_pending(const struct wc_tcb *c)
{
	return c->sess.pending;
}

static void mc_tcp_forget(struct wc_tcb *c)
{
	c->sess.pending = 0;
}

const struct wc_tcp_app wc_mc_tcp_app = {
	.open = mc_tcp_open, .run = mc_tcp_run, .close = mc_tcp_close,
	.pending = mc_tcp_pending, .forget_pending = mc_tcp_forget,
};
