/*
 * rd_tcp.c - Redis over TCP: each connection on --redis-port runs a Redis
 * session (redis/rd.h) over its byte queues, exactly as mc_tcp.c runs the
 * memcached engine: parsing straight out of the received segments,
 * replies streamed into the send queue, reading paused while the peer
 * does not read its replies.
 */
/* rcu_dereference inline (a load), not a call into liburcu, once per request */
#define URCU_INLINE_SMALL_FUNCTIONS
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include <rte_cycles.h>
#include <urcu-qsbr.h>

#include "core/slots.h"
#include "net/rd_tcp_get.h"
#include "net/tcp_impl.h"
#include "store/item.h"
#include "redis/acl.h"
#include "redis/clients.h"
#include "redis/pubsub.h"
#include "redis/repl_master.h"
#include "redis/push.h"
#include "redis/server.h"
#include "redis/slotkeys.h"
#include "redis/tracking.h"

static void rd_tcp_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct rd_server *srv = lc->app->rd;

	c->rd.owner = c;
	rd_session_init(&c->rd, rd_server_next_client_id(srv),
			(uint64_t)wc_clock_unix_ms(&lc->ctx.clock));
	c->rd.env = &lc->env;
	c->rd.laddr_port = c->lport;
	c->rd.raddr = c->rip;
	c->rd.rport = c->rport;
	c->rd.laddr = lc->app->ports[c->port].ip;
	rd_acl_session_start(&c->rd);
	lc->rdst.connections++;
	lc->rdst.open++;
	c->rd.counted = true;
}

/*
 * The session is over (closed by either side, killed, or freed): it leaves
 * connected_clients at once, as it leaves CLIENT LIST, even while TCP
 * still finishes the close.
 */
static void ended(struct wc_lcore *lc, struct wc_tcb *c)
{
	if (c->rd.counted) {
		c->rd.counted = false;
		lc->rdst.open--;
	}
	/* ... and tracking_clients: its reads and prefixes go (tracking.h) */
	if (c->rd.trk.flags || c->rd.trk.held)
		rd_tracking_end(lc, &c->rd);
	/* ... and a replica's feed stops (its snapshot is given back) */
	if (c->rd.flags & RD_C_REPL_FEED)
		rd_repl_session_ended(lc, &c->rd);
}

static void rd_tcp_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	/* a half-open connection never had a session: nothing of it is ours */
	if (!c->app_opened)
		return;
	ended(lc, c);
	/* what it listens to goes now (no call in flight reads it), with its unsent pushes */
	rd_pubsub_release(lc, &c->rd);
	rd_push_release(&c->rd);
	/* a call still in flight may read the command: its completion releases */
	if (!c->rd.pending)
		rd_session_release(&c->rd, &lc->env);
}

/*
 * The common requests, a lone "GET <key>" in one segment or a pipeline of
 * GETs and plain SETs (rd_tcp_pipe.c), answered without the general session
 * machinery (the same replies rd_session_run would give, in order); true
 * when all of it was answered. Otherwise a leading run of them may have
 * been answered and consumed, the rest (another command, one cut short,
 * output full) left to the session.
 */
static bool single_get(struct wc_lcore *lc, struct wc_tcb *c)
{
	const uint8_t *start, *key;
	uint32_t klen;

	if (c->rx.head != c->rx.tail || !c->rx.head || !rd_session_idle(&c->rd) ||
	    lc->app->rd->cluster || lc->tcp->slow_only ||
	    c->rd.acl_gen != __atomic_load_n(&lc->app->rd->acl_gen, __ATOMIC_ACQUIRE))
		return false;	/* (users changed: the general path looks the user up again) */
	start = rte_pktmbuf_mtod_offset(c->rx.head, const uint8_t *, c->rx.head_off);
	key = resp_single_get(start, (uint32_t)c->rx.len, &klen);
	if (!key)
		return wc_rd_tcp_pipelined_gets(lc, c, start, start + c->rx.len);
	wc_rd_tcp_get_one(lc, c, start, key, klen, (uint32_t)c->rx.len);
	wc_tcp_rx_answered(lc, c);
	return true;
}

static void rd_tcp_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_tcp_lc *t = lc->tcp;
	uint64_t before;
	enum mc_run r;

	if (c->state == TCP_FREE || c->zombie)
		return;
	if (c->app_closed) {
		ended(lc, c);
		goto out;
	}
	wc_tcp_out_commit(c);
	if (wc_tcp_tx_full(c)) {
		wc_tcp_retry_add(t, c);	/* the peer must read first */
		goto out;
	}
	/* BCAST invalidations batched here go out before anything else is answered */
	if (rd_tracking_batched(lc->trk))
		rd_tracking_before_run(lc);
	before = c->out.written;
	if (c->tx.len <= WC_TCP_SND_QUEUE_LOW && single_get(lc, c)) {
		/* answered whole: nothing of the session's state changed */
		lc->rdst.net_out += c->out.written - before;
		wc_tcp_out_commit(c);
		if (c->out.failed) {
			wc_tcp_reset_conn(lc, c);
			return;
		}
		if (c->state == TCP_CLOSE_WAIT) {
			/* the request came with the peer's FIN: all answered, close */
			c->app_closed = true;
			c->fin_wanted = true;
			ended(lc, c);
		}
		goto out;
	}
	r = rd_session_run(&c->rd, &c->inq, &c->out, &lc->env);
	lc->rdst.net_out += c->out.written - before;
	{
		/* (the parser ran out of memory: the request may be whole) */
		struct wc_tcp_ran ran = { .r = r, .stage_wait = c->rd.stage_wait, .whole_waits = true,
					  .mid_request = rd_session_mid_request(&c->rd, &c->inq),
					  .close_reason = c->rd.close_reason };

		c->rd.stage_wait = false;
		if (!wc_tcp_session_ran(lc, c, &ran))
			return;
		if (c->app_closed)
			ended(lc, c);
	}
out:
	wc_tcp_output(lc, c);
}

void wc_rd_tcp_complete(struct wc_lcore *lc, struct wc_mbox_req *req)
{
	struct rd_session *s = req->cookie;
	struct wc_tcb *c = s->owner;
	uint64_t before;

	if (c->zombie) {
		struct mc_out sink;
		uint8_t junk[256];

		/* the connection is gone; it waited only for this (its reply goes nowhere) */
		mc_out_init_buf(&sink, junk, sizeof(junk));
		sink.more = NULL;
		s->out = &sink;
		s->env = &lc->env;
		rd_call_complete(s, req);
		if (!s->pending)
			rd_session_release(s, &lc->env);
		wc_tcb_free(lc, c);
		return;
	}
	before = c->out.written;
	rd_session_complete(s, req, &c->inq, &c->out, &lc->env);
	lc->rdst.net_out += c->out.written - before;
	wc_tcp_out_commit(c);
	rd_tcp_run(lc, c);
}

void wc_rd_tcp_resume(struct wc_lcore *lc, struct rd_session *s)
{
	struct wc_tcb *c = s->owner;
	uint64_t before;

	if (s->pending)
		s->pending--;
	if (c->zombie) {
		/* the connection is gone; it waited only for this */
		if (!s->pending) {
			rd_session_release(s, &lc->env);
			wc_tcb_free(lc, c);
		}
		return;
	}
	before = c->out.written;
	rd_session_resume(s, &c->inq, &c->out, &lc->env);
	lc->rdst.net_out += c->out.written - before;
	wc_tcp_out_commit(c);
	rd_tcp_run(lc, c);
}

static uint32_t rd_tcp_pending(const struct wc_tcb *c)
{
	return c->rd.pending;
}

static void rd_tcp_forget(struct wc_tcb *c)
{
	c->rd.pending = 0;
}

/*
 * Redis never times out a client subscribed to anything (channels, patterns,
 * shard channels), nor a replica past SYNC/PSYNC (it is quiet while it loads
 * a snapshot).
 */
static bool rd_tcp_keep_idle(const struct wc_tcb *c)
{
	return (c->rd.flags & RD_C_PUBSUB) ||
	       ((c->rd.flags & RD_C_REPL_FEED) && (c->rd.flags & RD_C_REPLY_OFF));
}

const struct wc_tcp_app wc_rd_tcp_app = {
	.open = rd_tcp_open, .run = rd_tcp_run, .close = rd_tcp_close,
	.pending = rd_tcp_pending, .forget_pending = rd_tcp_forget,
	.keep_idle = rd_tcp_keep_idle,
};

/* ---- CLIENT LIST and KILL (redis/clients.h) ---- */

static bool listed(const struct wc_tcb *c)
{
	uint8_t st = __atomic_load_n(&c->state, __ATOMIC_RELAXED);

	return (st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT) && c->app == &wc_rd_tcp_app &&
	       c->app_opened && !c->zombie && !c->app_closed;
}

static void view_of(const struct wc_lcore *lc, const struct wc_tcb *c, struct rd_client_view *v)
{
	const struct wc_tcp_lc *t = lc->tcp;
	uint64_t rx = c->rx.len, tx = c->tx.len, cap = c->rcv_cap;
	/*
	 * Redis's last interaction: a read from the client, or a reply written
	 * to it (not to a master's link: Redis counts only what it reads there)
	 */
	uint64_t last = c->rx_last_ms > c->tx_last_ms || (c->rd.flags & RD_C_MASTER) ?
			c->rx_last_ms : c->tx_last_ms;
	unsigned oll = 0;

	for (const struct rte_mbuf *m = tx ? c->tx.head : NULL; m && oll < 1u << 20; m = m->next)
		oll++;	/* (an empty buffer kept for the next reply does not count) */
	*v = (struct rd_client_view){
		.s = &c->rd, .fd = lc->id * t->ntcb + tcb_index(t, c), .qbuf = rx,
		.qbuf_free = cap > rx ? cap - rx : 0, .omem = tx, .oll = oll,
		.writing = c->snd_max - c->snd_una < tx,
		.idle_ms = !last ? -1 : t->now_ms > last ? (int64_t)(t->now_ms - last) : 0,
	};
}

void rd_tcp_clients(struct wc_lcore *lc, rd_client_fn fn, void *arg)
{
	struct wc_tcp_lc *t = lc->tcp;

	for (unsigned i = 0; t && i < t->ntcb; i++) {
		const struct wc_tcb *c = &t->tcbs[i];
		struct rd_client_view v;

		if (!listed(c))
			continue;
		view_of(lc, c, &v);
		fn(arg, &v);
	}
}

unsigned rd_tcp_kill(struct wc_lcore *lc, rd_client_match match, void *arg)
{
	struct wc_tcp_lc *t = lc->tcp;
	unsigned n = 0;

	for (unsigned i = 0; t && i < t->ntcb; i++) {
		struct wc_tcb *c = &t->tcbs[i];
		struct rd_client_view v;

		if (!listed(c))
			continue;
		view_of(lc, c, &v);
		if (!match(arg, &v))
			continue;
		n++;
		c->rd.flags |= RD_C_KILLED;
		if (c->rd.pending || c->rd.st == RD_S_RUN)
			continue;	/* the session closes once its command is answered */
		/* as the idle timeout closes: what is queued goes out, then FIN, bounded */
		ended(lc, c);
		c->app_closed = true;
		c->fin_wanted = true;
		if (!c->t_end)
			c->t_end = t->now_ms + WC_TCP_FIN_WAIT_MS;
		wc_tcb_schedule(t, c);
		wc_tcp_flush(lc, c);
	}
	return n;
}

/* ---- push frames (redis/push.h) ---- */

/* A connection whose session may still be written to. */
static bool push_open(const struct wc_tcb *c)
{
	return c && c->state != TCP_FREE && !c->zombie && !c->app_closed && c->app_opened &&
	       c->app == &wc_rd_tcp_app && !c->out.failed &&
	       (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT);
}

bool rd_tcp_push_conn(struct rd_session *s, struct rd_push_conn *v)
{
	struct wc_tcb *c = s->owner;

	if (!push_open(c))
		return false;
	wc_tcp_out_commit(c);
	*v = (struct rd_push_conn){ .lc = c->lc, .out = &c->out, .queued = c->tx.len,
				    .pool_low = c->lc->tcp->pool_low };
	return true;
}

void rd_tcp_push_send(struct wc_lcore *lc, struct rd_session *s)
{
	struct wc_tcb *c = s->owner;

	if (!push_open(c))
		return;
	wc_tcp_out_commit(c);
	wc_tcp_output(lc, c);
}

bool rd_tcp_push_reset(struct wc_lcore *lc, struct rd_session *s)
{
	struct wc_tcb *c = s->owner;

	if (!c || c->state == TCP_FREE || c->zombie || c->app != &wc_rd_tcp_app)
		return false;
	wc_tcp_reset_conn(lc, c);
	return true;
}

/* ---- the Redis engine's per-lcore counters ---- */

int rd_lcore_init(struct wc_lcore *lc)
{
	unsigned n = rd_cmd_count();
	uint64_t *mem;

	memset(&lc->rdst, 0, sizeof(lc->rdst));
	if (n == 0)
		n = 1;
	mem = rte_zmalloc("rd_cmdstats", 4 * n * sizeof(uint64_t), 64);
	if (!mem)
		return -1;
	lc->rdst.calls = mem;
	lc->rdst.cycles = mem + n;
	lc->rdst.cmd_rejected = mem + 2 * n;
	lc->rdst.cmd_failed = mem + 3 * n;
	if (rd_push_lcore_init(lc, lc->tcp ? lc->tcp->ntcb : 1) != 0 ||
	    rd_pubsub_lcore_init(lc) != 0)
		return -1;
	rd_keyev_lcore_init(lc);
	if (rd_tracking_lcore_init(lc) != 0 || rd_slotkeys_lcore_init(lc) != 0 ||
	    rd_repl_lcore_init(lc) != 0)
		return -1;
	return 0;
}

void rd_lcore_fini(struct wc_lcore *lc)
{
	rd_repl_lcore_fini(lc);
	rd_slotkeys_lcore_fini(lc);
	rd_tracking_lcore_fini(lc);
	rd_pubsub_lcore_fini(lc);
	rd_push_lcore_fini(lc);
	rte_free(lc->rdst.calls);
	memset(&lc->rdst, 0, sizeof(lc->rdst));
}
