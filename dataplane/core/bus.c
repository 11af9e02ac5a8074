/*
 * bus.c - batched one-way messages between lcores (see bus.h).
 *
 * A buffer is an mbuf whose data is a run of messages, each an 8-byte
 * header (type, length) and its payload padded to 8 bytes; m->port says
 * which lcore sent it, m->hash.usr how many messages it carries (a leading
 * WC_BUS_LOST not counted). Buffers
 * that find their receiver's ring full wait, in order, on a short list per
 * receiver (linked through m->next, unlinked before they are queued).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "core/app.h"
#include "core/bus.h"

struct bus_hdr {
	uint16_t type;
	uint16_t pad;
	uint32_t len;
};

struct wc_bus_lc {
	struct rte_ring *in;		/* what other lcores send this one */
	uint64_t dirty;			/* receivers with an open or held buffer */
	struct rte_mbuf *open[WC_MAX_WORKERS];
	struct rte_mbuf *held_head[WC_MAX_WORKERS], *held_tail[WC_MAX_WORKERS];
	uint16_t nheld[WC_MAX_WORKERS];
	bool owe_lost[WC_MAX_WORKERS];	/* messages to it were dropped: tell it */
	struct wc_bus_stats st;
};

static wc_bus_fn handlers[WC_BUS_TYPES];

void wc_bus_register(enum wc_bus_type type, wc_bus_fn fn)
{
	if (type < WC_BUS_TYPES)
		handlers[type] = fn;
}

static size_t ring_bytes(void)
{
	ssize_t n = rte_ring_get_memsize(WC_BUS_RING);

	return n < 0 ? 0 : (size_t)n;
}

int wc_bus_init(struct wc_app *app)
{
	size_t rb = ring_bytes();

	if (!rb || !app->mem)
		return -1;
	for (unsigned i = 0; i < app->nworkers; i++) {
		struct wc_lcore *lc = app->lc[i];
		struct wc_bus_lc *b = calloc(1, sizeof(*b));
		char name[RTE_RING_NAMESIZE];

		if (!b)
			goto fail;
		lc->bus = b;
		snprintf(name, sizeof(name), "wc_bus%u", i);
		b->in = app->mem->alloc(app->mem->opaque, name, rb);
		if (!b->in)
			goto fail;
		if (rte_ring_init(b->in, name, WC_BUS_RING, RING_F_SC_DEQ) != 0) {
			app->mem->free(app->mem->opaque, b->in, rb);
			b->in = NULL;
			goto fail;
		}
	}
	return 0;
fail:
	wc_bus_fini(app);
	return -1;
}

static void free_list(struct rte_mbuf *m)
{
	while (m) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		rte_pktmbuf_free(m);
		m = next;
	}
}

void wc_bus_fini(struct wc_app *app)
{
	for (unsigned i = 0; i < app->nworkers; i++) {
		struct wc_lcore *lc = app->lc[i];
		struct wc_bus_lc *b = lc ? lc->bus : NULL;
		void *m;

		if (!b)
			continue;
		for (unsigned j = 0; j < WC_MAX_WORKERS; j++) {
			if (b->open[j])
				rte_pktmbuf_free(b->open[j]);
			free_list(b->held_head[j]);
		}
		if (b->in) {
			while (rte_ring_sc_dequeue(b->in, &m) == 0)
				rte_pktmbuf_free(m);
			app->mem->free(app->mem->opaque, b->in, ring_bytes());
		}
		free(b);
		lc->bus = NULL;
	}
}

static inline uint32_t padded(uint32_t len)
{
	return (len + 7u) & ~7u;
}

/* Drop a buffer meant for `to`: its messages are lost, and `to` must hear so. */
static void drop_buf(struct wc_bus_lc *b, unsigned to, struct rte_mbuf *m)
{
	b->st.dropped += m->hash.usr;
	b->owe_lost[to] = true;
	rte_pktmbuf_free(m);
}

/* Queue m for `to` behind whatever already waits for it. */
static void ship(struct wc_lcore *lc, unsigned to, struct rte_mbuf *m)
{
	struct wc_bus_lc *b = lc->bus;

	if (!b->held_head[to] && rte_ring_mp_enqueue(lc->app->lc[to]->bus->in, m) == 0) {
		b->st.bufs_out++;
		return;
	}
	if (b->nheld[to] >= WC_BUS_HOLD) {
		drop_buf(b, to, m);
		return;
	}
	m->next = NULL;
	if (b->held_tail[to])
		b->held_tail[to]->next = m;
	else
		b->held_head[to] = m;
	b->held_tail[to] = m;
	b->nheld[to]++;
	b->dirty |= 1ull << to;
}

static struct rte_mbuf *open_buf(struct wc_lcore *lc, unsigned to)
{
	struct wc_bus_lc *b = lc->bus;
	struct rte_mbuf *m = rte_pktmbuf_alloc(lc->pool);

	if (!m)
		return NULL;
	m->port = (uint16_t)lc->id;
	m->hash.usr = 0;
	m->data_len = 0;
	if (b->owe_lost[to]) {
		/* the first thing the receiver reads from us again: what it missed */
		struct bus_hdr *h = rte_pktmbuf_mtod(m, struct bus_hdr *);

		*h = (struct bus_hdr){ .type = WC_BUS_LOST, .len = 0 };
		m->data_len = sizeof(*h);
		m->pkt_len = m->data_len;
		b->owe_lost[to] = false;	/* (set again if this buffer is dropped too) */
	}
	b->open[to] = m;
	b->dirty |= 1ull << to;
	return m;
}

void *wc_bus_put(struct wc_lcore *lc, unsigned to, enum wc_bus_type type, uint32_t len)
{
	struct wc_bus_lc *b = lc->bus;
	uint32_t need = (uint32_t)sizeof(struct bus_hdr) + padded(len);
	struct rte_mbuf *m;
	struct bus_hdr *h;

	if (!b || to >= lc->app->nworkers || len > WC_BUS_MSG_MAX)
		return NULL;
	m = b->open[to];
	if (m && need > rte_pktmbuf_tailroom(m)) {
		b->open[to] = NULL;
		ship(lc, to, m);
		m = NULL;
	}
	if (!m && !(m = open_buf(lc, to))) {
		b->st.dropped++;
		b->owe_lost[to] = true;
		return NULL;
	}
	if (rte_pktmbuf_tailroom(m) < need) {
		/* (a fresh buffer always has room: WC_BUS_MSG_MAX is well under an mbuf) */
		b->st.dropped++;
		return NULL;
	}
	h = (struct bus_hdr *)(rte_pktmbuf_mtod(m, uint8_t *) + m->data_len);
	*h = (struct bus_hdr){ .type = (uint16_t)type, .len = len };
	m->data_len = (uint16_t)(m->data_len + need);
	m->pkt_len = m->data_len;
	m->hash.usr++;
	b->st.msgs_out++;
	return h + 1;
}

bool wc_bus_pending(const struct wc_lcore *lc)
{
	return lc->bus && lc->bus->dirty;
}

void wc_bus_flush(struct wc_lcore *lc)
{
	struct wc_bus_lc *b = lc->bus;
	uint64_t todo;

	if (!b)
		return;
	todo = b->dirty;
	while (todo) {
		unsigned to = (unsigned)__builtin_ctzll(todo);
		struct rte_ring *r = lc->app->lc[to]->bus->in;
		struct rte_mbuf *m;

		todo &= todo - 1;
		/* what waited first goes first */
		while ((m = b->held_head[to]) != NULL) {
			struct rte_mbuf *next = m->next;

			m->next = NULL;
			if (rte_ring_mp_enqueue(r, m) != 0) {
				m->next = next;
				break;
			}
			b->st.bufs_out++;
			b->held_head[to] = next;
			if (!next)
				b->held_tail[to] = NULL;
			b->nheld[to]--;
		}
		if (b->open[to]) {
			m = b->open[to];
			b->open[to] = NULL;
			ship(lc, to, m);
		}
		if (!b->held_head[to])
			b->dirty &= ~(1ull << to);
	}
}

static void handle(struct wc_lcore *lc, struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t off = 0, used = m->data_len;
	unsigned from = m->port;

	while (off + sizeof(struct bus_hdr) <= used) {
		const struct bus_hdr *h = (const struct bus_hdr *)(p + off);
		uint32_t next = off + (uint32_t)sizeof(*h) + padded(h->len);

		if (next > used)
			break;
		if (h->type == WC_BUS_LOST)
			lc->bus->st.lost_in++;
		if (h->type < WC_BUS_TYPES && handlers[h->type])
			handlers[h->type](lc, from, h + 1, h->len);
		lc->bus->st.msgs_in++;
		off = next;
	}
}

unsigned wc_bus_drain(struct wc_lcore *lc, unsigned max)
{
	struct wc_bus_lc *b = lc->bus;
	void *bufs[32];
	unsigned total = 0;

	if (!b)
		return 0;
	while (total < max) {
		unsigned want = max - total < 32 ? max - total : 32;
		unsigned n = rte_ring_sc_dequeue_burst(b->in, bufs, want, NULL);

		if (!n)
			break;
		for (unsigned i = 0; i < n; i++) {
			handle(lc, bufs[i]);
			rte_pktmbuf_free(bufs[i]);
		}
		b->st.bufs_in += n;
		total += n;
	}
	return total;
}

void wc_bus_get_stats(const struct wc_lcore *lc, struct wc_bus_stats *st)
{
	if (lc->bus)
		*st = lc->bus->st;
	else
		memset(st, 0, sizeof(*st));
}
