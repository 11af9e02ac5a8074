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
	(void)lc;
	(void)c;
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
		r = mc_session_run(&c->sess, &c->inq, &c->out, &lc->env);
	}
	wc_tcp_out_commit(c);
	if (c->out.failed) {
		/* no buffers left for a reply: this connection cannot go on */
		wc_tcp_reset_conn(lc, c);
		return;
	}
	switch (r) {
	case MC_RUN_CLOSE:
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
