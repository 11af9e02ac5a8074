/*
 * push.c - frames sent to a Redis connection without a request (see
 * push.h): where a frame goes (the stream or the session's backlog), the
 * pubsub output bound and the cut of a connection past it, and the lcore's
 * output point.
 */
#include <string.h>

#include <rte_mbuf.h>

#include "core/app.h"
#include "redis/push.h"
#include "redis/rd.h"
#include "redis/server.h"

/* A sink appending to a session's backlog (one per lcore: frames are not nested). */
struct bl_out {
	struct mc_out out;
	struct rte_mempool *pool;
	struct rd_push_sess *p;
};

struct rd_push_lc {
	struct rd_session **list;	/* sessions with frames to send or a cut to make */
	unsigned n, cap;
	struct bl_out bl;
	uint64_t start;			/* the stream's bytes when a direct frame began */
};


void rd_push_srv_init(struct rd_push_srv *p)
{
	memset(p, 0, sizeof(*p));
	/* Redis's defaults */
	p->obuf[RD_OBUF_REPLICA] = (struct rd_obuf_limit){ 256u << 20, 64u << 20, 60 };
	p->obuf[RD_OBUF_PUBSUB] = (struct rd_obuf_limit){ 32u << 20, 8u << 20, 60 };
}

int rd_push_lcore_init(struct wc_lcore *lc, unsigned max_conns)
{
	const struct wc_app *app = lc->app;
	struct rd_push_lc *pl;

	if (!app->mem)
		return -1;
	pl = app->mem->alloc(app->mem->opaque, "rd_push_lc", sizeof(*pl));
	if (!pl)
		return -1;
	pl->cap = max_conns ? max_conns : 1;
	pl->list = app->mem->alloc(app->mem->opaque, "rd_push_list", pl->cap * sizeof(*pl->list));
	if (!pl->list) {
		app->mem->free(app->mem->opaque, pl, sizeof(*pl));
		return -1;
	}
	lc->push = pl;
	return 0;
}

void rd_push_lcore_fini(struct wc_lcore *lc)
{
	struct rd_push_lc *pl = lc->push;
	const struct wc_app *app = lc->app;

	if (!pl)
		return;
	app->mem->free(app->mem->opaque, pl->list, pl->cap * sizeof(*pl->list));
	app->mem->free(app->mem->opaque, pl, sizeof(*pl));
	lc->push = NULL;
}

/* ---- the backlog ---- */

static bool bl_more(struct mc_out *o)
{
	struct bl_out *b = (struct bl_out *)o;
	struct rd_push_sess *p = b->p;
	struct rte_mbuf *m;

	if (p->bl_tail)
		p->bl_tail->data_len = (uint16_t)(o->p - rte_pktmbuf_mtod(p->bl_tail, uint8_t *));
	m = rte_pktmbuf_alloc(b->pool);
	if (!m)
		return false;
	m->next = NULL;
	m->data_off = 0;
	m->data_len = 0;
	if (p->bl_tail)
		p->bl_tail->next = m;
	else
		p->bl_head = m;
	p->bl_tail = m;
	o->p = rte_pktmbuf_mtod(m, uint8_t *);
	o->end = o->p + m->buf_len;
	return true;
}

static void bl_open(struct rd_push_lc *pl, struct rd_session *s, struct rte_mempool *pool)
{
	struct rd_push_sess *p = &s->push;
	struct rte_mbuf *t = p->bl_tail;

	pl->bl = (struct bl_out){ .out = { .more = bl_more }, .pool = pool, .p = p };
	if (t) {
		pl->bl.out.p = rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len);
		pl->bl.out.end = rte_pktmbuf_mtod(t, uint8_t *) + t->buf_len;
	}
}

static void bl_close(struct rd_push_lc *pl)
{
	struct rd_push_sess *p = pl->bl.p;

	if (p->bl_tail)
		p->bl_tail->data_len = (uint16_t)(pl->bl.out.p -
						  rte_pktmbuf_mtod(p->bl_tail, uint8_t *));
	__atomic_store_n(&p->bl_bytes, p->bl_bytes + (uint32_t)pl->bl.out.written,
			 __ATOMIC_RELAXED);
}

static void bl_free(struct rd_push_sess *p)
{
	struct rte_mbuf *m = p->bl_head, *next;

	for (; m; m = next) {
		next = m->next;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	p->bl_head = p->bl_tail = NULL;
	__atomic_store_n(&p->bl_bytes, 0, __ATOMIC_RELAXED);
}

void rd_push_release(struct rd_session *s)
{
	bl_free(&s->push);
}

void rd_push_cmd_done(struct rd_session *s)
{
	struct rd_push_sess *p = &s->push;
	struct rd_push_conn c;

	if (!p->bl_head)
		return;
	if ((p->flags & RD_PUSH_CUT) || !rd_tcp_push_conn(s, &c)) {
		bl_free(p);
		return;
	}
	for (struct rte_mbuf *m = p->bl_head; m; m = m->next)
		mc_out_put(c.out, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
	bl_free(p);
}

/* ---- frames ---- */

/* Is a command of s under way whose reply has begun? (Not reading s->def while lent.) */
static bool reply_begun(const struct rd_session *s, const struct mc_out *stream)
{
	if (!s->pending && !s->def)
		return false;	/* between commands */
	return (uint32_t)stream->written != s->push.mark;
}

static void list_add(struct rd_push_lc *pl, struct wc_lcore *lc, struct rd_session *s);

static void cut(struct rd_push_lc *pl, struct wc_lcore *lc, struct rd_session *s)
{
	s->push.flags |= RD_PUSH_CUT;
	lc->rdst.obuf_disconnections++;
	list_add(pl, lc, s);
}

struct mc_out *rd_push_begin(struct rd_session *s)
{
	struct rd_push_sess *p = &s->push;
	struct rd_push_lc *pl;
	struct rd_push_conn c;

	if ((p->flags & RD_PUSH_CUT) || !rd_tcp_push_conn(s, &c) || !(pl = c.lc->push))
		return NULL;
	if (c.pool_low && c.queued + p->bl_bytes > RD_PUSH_LOW_POOL_SHARE) {
		/* the lcore's buffers run short: a reader this far behind goes */
		cut(pl, c.lc, s);
		return NULL;
	}
	p->flags |= RD_PUSH_OPEN;
	if (!p->bl_head && !reply_begun(s, c.out)) {
		p->flags &= (uint8_t)~RD_PUSH_IN_BACKLOG;
		pl->start = c.out->written;
		return c.out;
	}
	p->flags |= RD_PUSH_IN_BACKLOG;
	bl_open(pl, s, c.lc->pool);
	return &pl->bl.out;
}

/* The pubsub class's bound: cut s when it is passed. */
static bool over_bound(struct rd_session *s, struct wc_lcore *lc, uint64_t queued)
{
	const struct rd_server *srv = lc->app->rd;
	struct rd_push_sess *p = &s->push;
	uint64_t hard, soft, secs;

	if (!srv)
		return false;
	hard = __atomic_load_n(&srv->push.obuf[RD_OBUF_PUBSUB].hard, __ATOMIC_RELAXED);
	soft = __atomic_load_n(&srv->push.obuf[RD_OBUF_PUBSUB].soft, __ATOMIC_RELAXED);
	secs = __atomic_load_n(&srv->push.obuf[RD_OBUF_PUBSUB].soft_seconds, __ATOMIC_RELAXED);
	if (hard && queued >= hard)
		return true;
	if (soft && queued >= soft) {
		uint32_t now = lc->ctx.clock.now;

		if (!p->soft_since)
			p->soft_since = now;
		return now - p->soft_since > secs;
	}
	p->soft_since = 0;
	return false;
}

static void list_add(struct rd_push_lc *pl, struct wc_lcore *lc, struct rd_session *s)
{
	if (s->push.flags & RD_PUSH_LISTED)
		return;
	if (pl->n == pl->cap) {
		/* (cannot happen: a connection is listed once) send it now */
		if (!(s->push.flags & RD_PUSH_CUT))
			rd_tcp_push_send(lc, s);
		return;
	}
	s->push.flags |= RD_PUSH_LISTED;
	pl->list[pl->n++] = s;
}

void rd_push_end(struct rd_session *s)
{
	struct rd_push_sess *p = &s->push;
	struct rd_push_lc *pl;
	struct rd_push_conn c;
	uint64_t bytes;
	bool failed;

	if (!(p->flags & RD_PUSH_OPEN))
		return;
	p->flags &= (uint8_t)~RD_PUSH_OPEN;
	if (!rd_tcp_push_conn(s, &c) || !(pl = c.lc->push))
		return;
	if (p->flags & RD_PUSH_IN_BACKLOG) {
		bl_close(pl);
		bytes = pl->bl.out.written;
		failed = pl->bl.out.failed;
	} else {
		bytes = c.out->written - pl->start;
		failed = c.out->failed;
		if (s->pending || s->def)
			p->mark = (uint32_t)c.out->written;	/* the frame is no reply */
	}
	c.lc->rdst.net_out += bytes;
	if (failed || over_bound(s, c.lc, c.queued + p->bl_bytes)) {
		cut(pl, c.lc, s);
		return;
	}
	list_add(pl, c.lc, s);
}

/* ---- the output point ---- */

void rd_push_output(struct wc_lcore *lc)
{
	struct rd_push_lc *pl = lc->push;
	unsigned n;

	if (!pl || !pl->n)
		return;
	n = pl->n;
	pl->n = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rd_session *s = pl->list[i];

		if (!(s->push.flags & RD_PUSH_LISTED))
			continue;	/* (its connection closed and was opened again) */
		s->push.flags &= (uint8_t)~RD_PUSH_LISTED;
		if (s->push.flags & RD_PUSH_CUT) {
			bl_free(&s->push);
			rd_tcp_push_reset(lc, s);
		} else {
			rd_tcp_push_send(lc, s);
		}
	}
}
