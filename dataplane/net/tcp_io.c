/*
 * tcp_io.c - a connection's byte queues and the views its application reads
 * and writes through: struct mc_inq over the receive queue (parsing straight
 * out of the received segments, releasing bytes as they are consumed, which
 * opens the advertised window again) and struct mc_out over the send queue
 * (a chain of mbufs that is also the retransmission queue; TCP cuts
 * segments from it and frees what the peer acknowledges). Also the calls an
 * application makes: flush what it wrote, and close.
 */
#include <string.h>

#include "net/tcp_impl.h"

/* ---- byte queues over chained single-segment mbufs ---- */

void wc_bytes_append(struct wc_bytes *q, struct rte_mbuf *m)
{
	wc_bytes_append_inline(q, m);
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

/* ---- the application's input: the receive queue ---- */

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

/* ---- the application's output: the send queue ---- */

static bool tx_more(struct mc_out *o)
{
	struct wc_tcb *c = o->arg;
	struct rte_mbuf *m;

	wc_tcp_out_commit(c);
	m = wc_tcp_mbuf(c->lc);
	if (!m)
		return false;
	m->data_len = 0;
	wc_bytes_append(&c->tx, m);
	o->p = rte_pktmbuf_mtod(m, uint8_t *);
	o->end = (uint8_t *)m->buf_addr + m->buf_len;
	return true;
}

/*
 * Unsent and unacknowledged replies past WC_TCP_SND_QUEUE_MAX, or past
 * WC_TCP_SND_QUEUE_LOW while the lcore's mbufs run short: the session
 * stops until the peer has read (it is on the retry list meanwhile).
 */
bool wc_tcp_out_full(struct mc_out *o)
{
	struct wc_tcb *c = o->arg;

	wc_tcp_out_commit(c);
	return wc_tcp_tx_full(c);
}

void wc_tcp_tx_release(struct wc_tcb *c)
{
	struct rte_mbuf *m = c->tx.head;

	if (!m || c->tx.len || m != c->tx.tail)
		return;
	memset(&c->tx, 0, sizeof(c->tx));
	c->out.p = c->out.end = NULL;	/* the next reply takes a fresh buffer */
	wc_tcp_recycle(c->lc, m);
}

void wc_tcp_io_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	c->pool = lc->pool;
	c->lc = lc;
	c->inq = (struct mc_inq){ .peek = rx_peek, .consume = rx_consume, .arg = c };
	c->out = (struct mc_out){ .more = tx_more, .arg = c, .full = wc_tcp_out_full };
}

void wc_tcp_flush(struct wc_lcore *lc, struct wc_tcb *c)
{
	wc_tcp_out_commit(c);
	wc_tcp_output(lc, c);
}

void wc_tcp_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	if (c->state == TCP_FREE || c->app_closed)
		return;
	c->app_closed = true;
	if (c->state == TCP_SYN_SENT) {
		wc_tcb_free(lc, c);
		return;
	}
	c->fin_wanted = true;
	wc_tcp_flush(lc, c);
}
