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
#include <stdio.h>
#include <string.h>

#include "net/tcp_impl.h"
#include "proto/mc_exec.h"

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

/* memcached and Redis hang up on HTTP in silence; the log says so, at most every 10 s */
static void log_http(struct wc_lcore *lc, const struct wc_tcb *c)
{
	static __thread uint64_t last_ms, since;

	since++;
	if (last_ms && lc->tcp->now_ms - last_ms < 10000)
		return;
	printf("wirecache-dp: lcore %u: hung up on %lu connection(s) that sent HTTP to port %u "
	       "(cross-protocol; the last from %u.%u.%u.%u)\n", lc->id, (unsigned long)since,
	       c->lport, c->rip >> 24, (c->rip >> 16) & 255, (c->rip >> 8) & 255, c->rip & 255);
	last_ms = lc->tcp->now_ms;
	since = 0;
}

/*
 * The common request, "get <key>" alone in one segment, answered without
 * the general session machinery (the same reply mc_session_run would give).
 */
static bool single_get(struct wc_lcore *lc, struct wc_tcb *c)
{
	const uint8_t *key;
	uint32_t klen;
	bool cas;

	if (c->rx.head != c->rx.tail || !c->rx.head || !mc_session_idle(&c->sess))
		return false;
	key = mc_single_get(rte_pktmbuf_mtod_offset(c->rx.head, const uint8_t *, c->rx.head_off),
			    (uint32_t)c->rx.len, &klen, &cas);
	if (!key)
		return false;
	mc_exec_get_one(&lc->env, &c->out, key, klen, cas);
	/* the request is answered: its mbuf carries the next segment out */
	wc_tcp_recycle(lc, c->rx.head);
	memset(&c->rx, 0, sizeof(c->rx));
	c->inq.len = 0;
	return true;
}

static void mc_tcp_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_tcp_lc *t = lc->tcp;
	enum mc_run r;

	if (c->state == TCP_FREE || c->zombie)
		return;
	if (c->app_closed)
		goto out;
	if (c->tx.len <= WC_TCP_SND_QUEUE_LOW && single_get(lc, c)) {
		r = MC_RUN_MORE;
	} else if (wc_tcp_out_full(&c->out)) {
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
	wc_tcp_out_commit(c);
	if (c->out.failed) {
		/* no buffers left for a reply: this connection cannot go on */
		wc_tcp_reset_conn(lc, c);
		return;
	}
	if (c->sess.stage_wait) {
		c->sess.stage_wait = false;
		wc_tcp_stage_wait_add(t, c);	/* run again once an upload gives room back */
	}
	if (mc_session_mid_request(&c->sess, &c->inq) || c->mid_request) {
		/* the request timeout runs from the last data that came (tcp.h) */
		c->mid_request = mc_session_mid_request(&c->sess, &c->inq);
		wc_tcp_touch_idle(lc, c);
		wc_tcb_schedule(t, c);	/* the idle timer may have moved earlier */
	}
	switch (r) {
	case MC_RUN_CLOSE:
		if (c->sess.close_reason == MC_CLOSE_HTTP)
			log_http(lc, c);
		c->app_closed = true;
		c->fin_wanted = true;
		break;
	case MC_RUN_BUSY:
	case MC_RUN_FULL:
		wc_tcp_retry_add(t, c);	/* mailbox room, or the peer reading */
		break;
	case MC_RUN_PENDING:
		break;
	case MC_RUN_MORE:
		/* the peer finished sending and every request is answered */
		if (c->state == TCP_CLOSE_WAIT && c->rx.len == 0) {
			c->app_closed = true;
			c->fin_wanted = true;
		}
		break;
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

const struct wc_tcp_app wc_mc_tcp_app = {
	.open = mc_tcp_open, .run = mc_tcp_run, .close = mc_tcp_close,
};
