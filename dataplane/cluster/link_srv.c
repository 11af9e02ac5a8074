/*
 * link_srv.c - the owning side of node-to-node links (see link.h): links
 * accepted on this node's cluster bus port, the handshake's server half,
 * and each forwarded memcached request run by a session of its own as if
 * this node's client had sent it, its reply framed back unchanged; PUBLISH
 * frames are handed to link_pub.c, which delivers them here.
 *
 * A request is run only once its whole frame is in the receive queue (the
 * receive buffer holds a whole value and then some, net/tcp.h). Its reply
 * is written into buffers of its own (it may wait on another lcore's
 * mailbox meanwhile) and joins the send queue behind its header when done,
 * so requests are answered one at a time, in order.
 */
#include <string.h>

#include "cluster/link.h"
#include "net/tcp_impl.h"

enum { HS_HELLO = 0, HS_AUTH = 1, HS_UP = 2 };

static void frame(struct mc_out *o, uint8_t kind, uint32_t id, const void *p, uint32_t len)
{
	uint8_t h[WC_LINK_HDR];

	wc_link_hdr_put(h, &(struct wc_link_hdr){ .len = len, .id = id, .kind = kind });
	mc_out_put(o, h, sizeof(h));
	if (p)
		mc_out_put(o, p, len);
}

/* ---- the request's input: its payload at the front of the receive queue ---- */

static const uint8_t *sub_peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct wc_tcb *c = q->arg;
	const uint8_t *p = c->inq.peek(&c->inq, off, contig);

	if (*contig > q->len - off)
		*contig = q->len - off;
	return p;
}

static void sub_consume(struct mc_inq *q, uint64_t n)
{
	struct wc_tcb *c = q->arg;

	c->inq.consume(&c->inq, n);
	q->len -= n;
}

/* ---- the request's output: buffers of its own until it is done ---- */

static void rq_commit(struct wc_link_srv *L)
{
	struct rte_mbuf *m = L->rq_tail;
	uint16_t used;

	if (!m || !L->rout.p)
		return;
	used = (uint16_t)(L->rout.p - rte_pktmbuf_mtod(m, uint8_t *));
	L->rq_len += used - m->data_len;
	m->data_len = m->pkt_len = used;
}

static bool rout_more(struct mc_out *o)
{
	struct wc_tcb *c = o->arg;
	struct wc_link_srv *L = &c->link;
	struct rte_mbuf *m;

	rq_commit(L);
	m = wc_tcp_mbuf(c->lc);
	if (!m)
		return false;
	m->data_len = m->pkt_len = 0;
	m->next = NULL;
	m->nb_segs = 1;
	if (L->rq_tail)
		L->rq_tail->next = m;
	else
		L->rq_head = m;
	L->rq_tail = m;
	o->p = rte_pktmbuf_mtod(m, uint8_t *);
	o->end = (uint8_t *)m->buf_addr + m->buf_len;
	return true;
}

static void rq_free(struct wc_link_srv *L)
{
	struct rte_mbuf *m = L->rq_head, *next;

	for (; m; m = next) {
		next = m->next;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	L->rq_head = L->rq_tail = NULL;
	L->rq_len = 0;
}

static void rq_start(struct wc_tcb *c)
{
	struct wc_link_srv *L = &c->link;

	rq_free(L);
	L->rout = (struct mc_out){ .more = rout_more, .arg = c };
}

/* The request is answered: its header, then its reply buffers, join the send queue. */
static bool send_reply(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_link_srv *L = &c->link;
	struct rte_mbuf *m, *next;
	bool moved = false;

	rq_commit(L);
	if (L->rout.failed)
		return false;
	frame(&c->out, WC_LINK_MC_REP, L->req_id, NULL, (uint32_t)L->rq_len);
	wc_tcp_out_commit(c);
	if (c->out.failed)
		return false;
	for (m = L->rq_head; m; m = next) {
		next = m->next;
		if (m->data_len) {
			wc_bytes_append(&c->tx, m);
			moved = true;
		} else {
			m->next = NULL;
			rte_pktmbuf_free_seg(m);
		}
	}
	L->rq_head = L->rq_tail = NULL;
	L->rq_len = 0;
	if (moved)
		c->out.p = c->out.end = NULL;	/* the next write takes a fresh buffer */
	L->rout = (struct mc_out){ .more = rout_more, .arg = c };
	lc->link->st.fwd_served++;
	return true;
}

/* ---- the handshake ---- */

static bool srv_hello(struct wc_lcore *lc, struct wc_tcb *c, const struct wc_link_hdr *h)
{
	struct wc_link_srv *L = &c->link;
	uint8_t b[4 + WC_LINK_NONCE], ch[WC_LINK_NONCE + WC_LINK_MAC];

	if (h->kind != WC_LINK_HELLO)
		return false;
	mc_inq_copy(&c->inq, WC_LINK_HDR, b, sizeof(b));
	if (memcmp(b, WC_LINK_MAGIC, 4) != 0)
		return false;
	memcpy(L->nc, b + 4, WC_LINK_NONCE);
	wc_link_nonce(L->ns);
	memcpy(ch, L->ns, WC_LINK_NONCE);
	if (!wc_link_mac_server(lc->app->cfg.cluster_secret, L->nc, L->ns, ch + WC_LINK_NONCE))
		return false;
	frame(&c->out, WC_LINK_CHALLENGE, 0, ch, sizeof(ch));
	L->hs = HS_AUTH;
	return true;
}

static bool srv_auth(struct wc_lcore *lc, struct wc_tcb *c, const struct wc_link_hdr *h)
{
	struct wc_link_srv *L = &c->link;
	uint8_t got[WC_LINK_MAC], want[WC_LINK_MAC];

	if (h->kind != WC_LINK_AUTH)
		return false;
	mc_inq_copy(&c->inq, WC_LINK_HDR, got, sizeof(got));
	if (!wc_link_mac_client(lc->app->cfg.cluster_secret, L->ns, L->nc, want) ||
	    !wc_link_mac_equal(want, got))
		return false;
	L->hs = HS_UP;
	return true;
}

/* ---- the server application ---- */

static void srv_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_link_srv *L = &c->link;

	(void)lc;
	memset(L, 0, sizeof(*L));
	L->sess.owner = c;
	L->sess.owner_kind = MC_OWNER_LINK;
	L->sess.datagram = true;	/* no quit, no staging: the whole request is here */
	mc_session_init(&L->sess);
	L->sess.no_forward = true;	/* never sent on again */
	L->sub = (struct mc_inq){ .peek = sub_peek, .consume = sub_consume, .arg = c };
	rq_start(c);
}

static void srv_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_link_srv *L = &c->link;
	struct wc_link_stats *st = &lc->link->st;

	if (c->state == TCP_FREE || c->zombie || c->app_closed)
		return;
	for (;;) {
		uint8_t hb[WC_LINK_HDR];
		struct wc_link_hdr h;

		if (L->in_pub) {
			/* a PUBLISH: the frame stays until every lcore has it (link_pub.c) */
			if (!wc_link_pub_step(lc, c))
				break;
			c->inq.consume(&c->inq, WC_LINK_HDR + L->pub_len);
			L->in_pub = false;
			continue;
		}
		if (L->in_req) {
			enum mc_run r = mc_session_run(&L->sess, &L->sub, &L->rout, &lc->env);

			if (r == MC_RUN_PENDING)
				break;	/* wc_link_srv_complete goes on */
			if (r == MC_RUN_BUSY) {
				wc_tcp_retry_add(lc->tcp, c);
				break;
			}
			/* a payload that is not whole requests: the peer is broken */
			if (r == MC_RUN_CLOSE || L->sub.len || L->sess.st != MC_S_LINE ||
			    !send_reply(lc, c))
				goto reset;
			L->in_req = false;
			continue;
		}
		if (c->inq.len < WC_LINK_HDR)
			break;
		mc_inq_copy(&c->inq, 0, hb, sizeof(hb));
		if (wc_link_hdr_parse(hb, sizeof(hb), &h) != WC_LINK_OK)
			goto refuse;
		if (c->inq.len < WC_LINK_HDR + (uint64_t)h.len)
			break;
		switch (L->hs) {
		case HS_HELLO:
			if (!srv_hello(lc, c, &h))
				goto refuse;
			c->inq.consume(&c->inq, WC_LINK_HDR + h.len);
			continue;
		case HS_AUTH:
			if (!srv_auth(lc, c, &h))
				goto refuse;
			c->inq.consume(&c->inq, WC_LINK_HDR + h.len);
			continue;
		default:
			break;
		}
		if (h.kind == WC_LINK_STATE) {
			if (!wc_link_state_recv(lc, c, &h))
				goto reset;
			continue;
		}
		if (h.kind == WC_LINK_PUBLISH) {
			if (!wc_link_pub_begin(lc, c, &h))
				goto reset;
			continue;
		}
		if (h.kind != WC_LINK_MC_REQ)
			goto reset;
		c->inq.consume(&c->inq, WC_LINK_HDR);
		L->in_req = true;
		L->req_id = h.id;
		L->req_len = h.len;
		L->req_flags = h.flags;
		L->sub.len = h.len;
		mc_session_init(&L->sess);
		L->sess.no_forward = true;
		L->sess.asking = (h.flags & WC_LINK_F_ASKING) != 0;
	}
	if (c->state == TCP_CLOSE_WAIT && !L->in_req && !L->in_pub) {
		wc_tcp_close(lc, c);
		return;
	}
	wc_tcp_flush(lc, c);
	return;
refuse:
	if (L->hs != HS_UP)
		st->link_auth_failed++;	/* an unauthenticated peer gets nothing more */
reset:
	wc_tcp_reset_conn(lc, c);
}

/* A closed link's request got its answer: the session goes once nothing else is out. */
static void zombie_answered(struct wc_lcore *lc, struct wc_tcb *c, struct mc_session *s)
{
	if (s->pending)
		s->pending--;
	if (!s->pending) {
		mc_session_release(s, &lc->env);
		rq_free(&c->link);
	}
	wc_tcb_free(lc, c);
}

void wc_link_srv_complete(struct wc_lcore *lc, struct wc_mbox_req *req)
{
	struct mc_session *s = req->cookie;
	struct wc_tcb *c = s->owner;
	struct wc_link_srv *L = &c->link;

	if (c->zombie) {
		lc->env.req_put(&lc->env, req);
		zombie_answered(lc, c, s);
		return;
	}
	if (L->in_pub) {
		/* another lcore delivered a PUBLISH frame (link_pub.c) */
		lc->env.req_put(&lc->env, req);
		if (s->pending)
			s->pending--;
	} else {
		mc_session_complete(s, req, &L->sub, &L->rout, &lc->env);
	}
	srv_run(lc, c);
}

void wc_link_srv_forwarded(struct wc_lcore *lc, struct mc_session *s, const struct mc_inq *src,
			   uint64_t len, const char *line)
{
	struct wc_tcb *c = s->owner;
	struct wc_link_srv *L = &c->link;

	if (c->zombie) {
		zombie_answered(lc, c, s);
		return;
	}
	wc_link_reply_copy(&L->rout, src, len, line);
	mc_session_forwarded(s, &L->sub, &L->rout, &lc->env);
	srv_run(lc, c);
}

static void srv_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_link_srv *L = &c->link;

	if (!L->sess.pending) {
		mc_session_release(&L->sess, &lc->env);
		rq_free(L);
	}
}

static uint32_t srv_pending(const struct wc_tcb *c)
{
	return c->link.sess.pending;
}

static void srv_forget(struct wc_tcb *c)
{
	c->link.sess.pending = 0;
}

static bool srv_keep_idle(const struct wc_tcb *c)
{
	return c->link.hs == HS_UP;	/* an authenticated link stays however quiet */
}

const struct wc_tcp_app wc_link_srv_app = {
	.open = srv_open, .run = srv_run, .close = srv_close, .pending = srv_pending,
	.forget_pending = srv_forget, .keep_idle = srv_keep_idle,
};
