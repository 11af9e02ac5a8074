/*
 * txreply.c - a transaction's reply held in a chain of mbufs until the
 * connection's lcore fills its holes (see txreply.h).
 */
#include <string.h>

#include <rte_mbuf.h>

#include "redis/txreply.h"

static bool more(struct mc_out *o)
{
	struct rd_txreply *r = (struct rd_txreply *)(void *)o;
	struct rte_mbuf *m;

	if (r->tail)
		r->tail->data_len = (uint16_t)(o->p - rte_pktmbuf_mtod(r->tail, uint8_t *));
	m = rte_pktmbuf_alloc(r->pool);
	if (!m)
		return false;
	m->next = NULL;
	m->data_off = 0;
	m->data_len = 0;
	if (r->tail)
		r->tail->next = m;
	else
		r->head = m;
	r->tail = m;
	o->p = rte_pktmbuf_mtod(m, uint8_t *);
	o->end = o->p + m->buf_len;
	return true;
}

void rd_txreply_open(struct rd_txreply *r, struct rte_mempool *pool)
{
	memset(r, 0, sizeof(*r));
	r->out.more = more;
	r->pool = pool;
}

void rd_txreply_close(struct rd_txreply *r)
{
	if (r->tail)
		r->tail->data_len = (uint16_t)(r->out.p - rte_pktmbuf_mtod(r->tail, uint8_t *));
	r->cur = r->head;
	r->cur_off = 0;
	r->copied = 0;
}

void rd_txreply_copy(struct rd_txreply *r, uint64_t upto, struct mc_out *o)
{
	while (r->cur && r->copied < upto) {
		uint32_t room = r->cur->data_len - r->cur_off;
		uint64_t want = upto - r->copied;
		uint32_t n = want < room ? (uint32_t)want : room;

		mc_out_put(o, rte_pktmbuf_mtod_offset(r->cur, const uint8_t *, r->cur_off), n);
		r->cur_off += n;
		r->copied += n;
		if (r->cur_off == r->cur->data_len) {
			r->cur = r->cur->next;
			r->cur_off = 0;
		}
	}
}

void rd_txreply_free(struct rd_txreply *r)
{
	struct rte_mbuf *m = r->head, *next;

	for (; m; m = next) {
		next = m->next;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	r->head = r->tail = r->cur = NULL;
}
