/*
 * mc_tcp.c - memcached over TCP: each connection runs the same protocol
 * engine as UDP (proto/mc_session.h) over its byte queues.
 *
 * Receive side: the session parses straight out of the received segments
 * (struct wc_bytes, mbufs chained in order); bytes are released as
 * commands complete, which opens the advertised window again. Send side:
 * replies are written into a chain of mbufs that is the retransmission
 * queue; TCP cuts segments from it and frees what the peer acknowledges.
 *
 * When unsent replies pile up past WC_TCP_SND_QUEUE_MAX the connection
 * stops reading requests until the peer catches up, so a client that sends
 * without reading fills its own window, not our memory.
 */
#include <string.h>

#include "net/tcp_impl.h"
#include "proto/mc_exec.h"

/* ---- byte queues over chained single-segment mbufs ---- */

void wc_bytes_append(struct wc_bytes *q, struct rte_mbuf *m)
{
	m->next = NULL;
	m->nb_segs = 1;
	m->pkt_len = m->data_len;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->len += m->data_len;
}

void wc_bytes_free(struct wc_bytes *q)
{
	struct rte_mbuf *m = q->head, *next;

	for (; m; m = next) {
		next = m->next;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	memset(q, 0, sizeof(*q));
}

/*
 * Drop n bytes from the front. The last mbuf stays even when emptied: it
 * may be the window replies are being written into.
 */
void wc_bytes_drop(struct wc_bytes *q, uint64_t n)
{
	q->len -= n;
	n += q->head_off;
	while (q->head && n >= q->head->data_len && q->head != q->tail) {
		struct rte_mbuf *m = q->head;

		n -= m->data_len;
		q->head = m->next;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	q->head_off = (uint32_t)n;
}

/* The mbuf holding byte off, and the offset inside it. */
static struct rte_mbuf *seek(const struct wc_bytes *q, uint64_t off, uint32_t *in)
{
	struct rte_mbuf *m = q->head;

	off += q->head_off;
	while (m && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	*in = (uint32_t)off;
	return m;
}

void wc_bytes_copy(const struct wc_bytes *q, uint64_t off, uint8_t *dst, uint32_t len)
{
	uint32_t in;
	struct rte_mbuf *m;

	if (q->head && off + q->head_off + len <= q->head->data_len) {
		/* all of it in the first buffer: the common case of a short reply */
		memcpy(dst, rte_pktmbuf_mtod_offset(q->head, const uint8_t *, q->head_off + off), len);
		return;
	}
	m = seek(q, off, &in);
	while (len && m) {
		uint32_t n = m->data_len - in;

		if (n > len)
			n = len;
		memcpy(dst, rte_pktmbuf_mtod_offset(m, const uint8_t *, in), n);
		dst += n;
		len -= n;
		in = 0;
		m = m->next;
	}
}

/* ---- the session's input: the receive queue ---- */

static const uint8_t *rx_peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct wc_tcb *c = q->arg;
	uint32_t in;
	struct rte_mbuf *m = seek(&c->rx, off, &in);

	*contig = m->data_len - in;
	return rte_pktmbuf_mtod_offset(m, const uint8_t *, in);
}

static void rx_consume(struct mc_inq *q, uint64_t n)
{
	struct wc_tcb *c = q->arg;
	uint32_t before = wc_tcp_rcv_window(c);

	wc_bytes_drop(&c->rx, n);
	if (c->rx.len == 0 && c->rx.head) {
		/* empty: give the last segment back too */
		wc_bytes_free(&c->rx);
	}
	q->len = c->rx.len;
	/* the window opened: tell the peer if it matters (RFC 9293 3.8.6.2.2) */
	if (wc_tcp_rcv_window(c) - before >= 2u * c->mss && before < c->rcv_cap / 2)
		c->ack_now = true;
}

/* ---- the session's output: the reply queue ---- */

static void commit(struct wc_tcb *c)
{
	struct rte_mbuf *m = c->tx.tail;
	uint16_t used;

	if (!m || !c->out.p)
		return;
	used = (uint16_t)(c->out.p - rte_pktmbuf_mtod(m, uint8_t *));
	c->tx.len += used - m->data_len;
	m->data_len = m->pkt_len = used;
}

static bool tx_more(struct mc_out *o)
{
	struct wc_tcb *c = o->arg;
	struct rte_mbuf *m;

	commit(c);
	m = rte_pktmbuf_alloc(c->pool);
	if (!m)
		return false;
	m->data_len = 0;
	wc_bytes_append(&c->tx, m);
	o->p = rte_pktmbuf_mtod(m, uint8_t *);
	o->end = (uint8_t *)m->buf_addr + m->buf_len;
	return true;
}

void wc_mc_tcp_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	c->sess.owner = c;
	c->sess.owner_kind = MC_OWNER_TCP;
	mc_session_init(&c->sess);
	c->pool = lc->pool;
	c->inq = (struct mc_inq){ .peek = rx_peek, .consume = rx_consume, .arg = c };
	c->out = (struct mc_out){ .more = tx_more, .arg = c };
}

void wc_mc_tcp_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	(void)lc;
	c->app_closed = true;
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

void wc_mc_tcp_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_tcp_lc *t = lc->tcp;
	enum mc_run r = MC_RUN_MORE;

	if (c->state == TCP_FREE)
		return;
	if (!c->app_closed && c->tx.len <= WC_TCP_SND_QUEUE_MAX) {
		c->inq.len = c->rx.len;
		if (single_get(lc, c))
			r = MC_RUN_MORE;
		else
			r = mc_session_run(&c->sess, &c->inq, &c->out, &lc->env);
		commit(c);
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
			wc_tcp_retry_add(t, c);
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
	}
	wc_tcp_output(lc, c);
	if (!c->app_closed && c->tx.len > WC_TCP_SND_QUEUE_MAX && c->rx.len)
		wc_tcp_retry_add(t, c);	/* input waits for the peer to read */
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
	commit(c);
	wc_mc_tcp_run(lc, c);
}
