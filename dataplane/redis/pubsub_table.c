/*
 * pubsub_table.c - one lcore's subscriptions (see pubsub_impl.h): a slab
 * pool of size classes over memory taken from the node 128 KiB at a time
 * (never per request, never given back before the lcore stops), a hash
 * table of the names its connections listen to, the list of its patterns,
 * and delivery of one message to every local subscriber it concerns.
 *
 * Only the lcore itself touches any of it; other lcores read the counters
 * (atomically) to know whether to bother it at all.
 */
#include <string.h>

#include <rte_mbuf.h>

#include "core/app.h"
#include "redis/glob.h"
#include "redis/pubsub_impl.h"
#include "redis/push.h"
#include "redis/rd.h"
#include "store/item.h"

struct ps_slab {
	struct ps_slab *next;
	uint8_t pad[56];
};

_Static_assert(sizeof(struct ps_link) <= 64, "a link must fit the smallest class");
_Static_assert(sizeof(struct ps_slab) == 64, "the slab header keeps objects aligned");

struct rd_pubsub_lc *ps_of(struct wc_lcore *lc)
{
	return lc->pubsub;
}

/* ---- the pool ---- */

static unsigned class_of(size_t n)
{
	unsigned c = 0;

	while (c < PS_CLASSES - 1 && (64u << c) < n)
		c++;
	return (64u << c) >= n ? c : PS_CLASSES;
}

static void *pool_get(struct rd_pubsub_lc *ps, size_t n, uint8_t *cls)
{
	const struct wc_app *app = ps->lc->app;
	unsigned c = class_of(n);
	void *p;

	if (c >= PS_CLASSES)
		return NULL;
	if (!ps->free[c]) {
		struct ps_slab *sl = app->mem->alloc(app->mem->opaque, "rd_pubsub_slab", PS_SLAB);
		size_t size = 64u << c;

		if (!sl)
			return NULL;
		sl->next = ps->slabs;
		ps->slabs = sl;
		ps->slab_bytes += PS_SLAB;
		for (size_t off = sizeof(*sl); off + size <= PS_SLAB; off += size) {
			void **o = (void **)((uint8_t *)sl + off);

			*o = ps->free[c];
			ps->free[c] = o;
		}
	}
	p = ps->free[c];
	ps->free[c] = *(void **)p;
	*cls = (uint8_t)c;
	return p;
}

static void pool_put(struct rd_pubsub_lc *ps, void *p, uint8_t cls)
{
	*(void **)p = ps->free[cls];
	ps->free[cls] = p;
}

/* ---- counters other lcores read ---- */

static void add(uint64_t *v, int64_t d)
{
	__atomic_store_n(v, (uint64_t)((int64_t)__atomic_load_n(v, __ATOMIC_RELAXED) + d),
			 __ATOMIC_RELEASE);
}

bool rd_pubsub_lcore_active(const struct wc_app *app, unsigned i)
{
	const struct rd_pubsub_lc *ps = i < app->nworkers && app->lc[i] ? app->lc[i]->pubsub : NULL;

	return ps && __atomic_load_n(&ps->nlinks, __ATOMIC_ACQUIRE) != 0;
}

bool rd_pubsub_lcore_wants_keyspace(const struct wc_app *app, unsigned i)
{
	const struct rd_pubsub_lc *ps = i < app->nworkers && app->lc[i] ? app->lc[i]->pubsub : NULL;

	return ps && __atomic_load_n(&ps->nks, __ATOMIC_ACQUIRE) != 0;
}

void rd_pubsub_totals(const struct wc_app *app, uint64_t *channels, uint64_t *patterns,
		      uint64_t *shard)
{
	*channels = *patterns = *shard = 0;
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct rd_pubsub_lc *ps = app->lc[i] ? app->lc[i]->pubsub : NULL;

		if (!ps)
			continue;
		*channels += __atomic_load_n(&ps->count[PS_CHANNEL], __ATOMIC_RELAXED);
		*patterns += __atomic_load_n(&ps->count[PS_PATTERN], __ATOMIC_RELAXED);
		*shard += __atomic_load_n(&ps->count[PS_SHARD], __ATOMIC_RELAXED);
	}
}

/* ---- set up ---- */

int rd_pubsub_lcore_init(struct wc_lcore *lc)
{
	const struct wc_app *app = lc->app;
	struct rd_pubsub_lc *ps;

	if (!app->mem)
		return -1;
	ps = app->mem->alloc(app->mem->opaque, "rd_pubsub_lc", sizeof(*ps));
	if (!ps)
		return -1;
	ps->lc = lc;
	ps->nbuckets = 256;
	ps->buckets = app->mem->alloc(app->mem->opaque, "rd_pubsub_buckets",
				      ps->nbuckets * sizeof(*ps->buckets));
	if (!ps->buckets) {
		app->mem->free(app->mem->opaque, ps, sizeof(*ps));
		return -1;
	}
	lc->pubsub = ps;
	rd_pubsub_init();
	return 0;
}

void rd_pubsub_lcore_fini(struct wc_lcore *lc)
{
	struct rd_pubsub_lc *ps = lc->pubsub;
	const struct wc_app *app = lc->app;

	if (!ps)
		return;
	while (ps->slabs) {
		struct ps_slab *sl = ps->slabs;

		ps->slabs = sl->next;
		app->mem->free(app->mem->opaque, sl, PS_SLAB);
	}
	app->mem->free(app->mem->opaque, ps->buckets, ps->nbuckets * sizeof(*ps->buckets));
	app->mem->free(app->mem->opaque, ps, sizeof(*ps));
	lc->pubsub = NULL;
}

/* ---- the table ---- */

bool ps_is_keyspace(const uint8_t *ch, uint32_t len)
{
	return len >= 11 && (memcmp(ch, "__keyspace@", 11) == 0 ||
			     memcmp(ch, "__keyevent@", 11) == 0);
}

static uint64_t name_hash(uint8_t kind, const uint8_t *p, uint32_t len)
{
	return wc_hash(p, len) + kind;
}

struct ps_name *ps_find(struct rd_pubsub_lc *ps, uint8_t kind, const uint8_t *p, uint32_t len)
{
	uint64_t h = name_hash(kind, p, len);

	for (struct ps_name *n = ps->buckets[h & (ps->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->kind == kind && n->len == len && memcmp(n->name, p, len) == 0)
			return n;
	return NULL;
}

/* Twice the buckets once there are more names than buckets (memory permitting). */
static void maybe_grow(struct rd_pubsub_lc *ps)
{
	const struct wc_app *app = ps->lc->app;
	uint32_t nb = ps->nbuckets * 2;
	struct ps_name **b;

	if (ps->nnames <= ps->nbuckets || nb > (1u << 26))
		return;
	b = app->mem->alloc(app->mem->opaque, "rd_pubsub_buckets", nb * sizeof(*b));
	if (!b)
		return;	/* (longer chains, still correct) */
	for (uint32_t i = 0; i < ps->nbuckets; i++) {
		struct ps_name *n = ps->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	app->mem->free(app->mem->opaque, ps->buckets, ps->nbuckets * sizeof(*b));
	ps->buckets = b;
	ps->nbuckets = nb;
}

static struct ps_name *name_new(struct rd_pubsub_lc *ps, uint8_t kind, const uint8_t *p,
				uint32_t len)
{
	uint8_t cls;
	struct ps_name *n = pool_get(ps, sizeof(*n) + len, &cls);
	uint32_t b;

	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->hash = name_hash(kind, p, len);
	n->len = len;
	n->kind = kind;
	n->cls = cls;
	n->ks = kind == PS_PATTERN || (kind == PS_CHANNEL && ps_is_keyspace(p, len));
	memcpy(n->name, p, len);
	b = (uint32_t)(n->hash & (ps->nbuckets - 1));
	n->hnext = ps->buckets[b];
	ps->buckets[b] = n;
	if (kind == PS_PATTERN) {
		n->lprev = ps->pat_last;
		if (ps->pat_last)
			ps->pat_last->lnext = n;
		else
			ps->pat_first = n;
		ps->pat_last = n;
	}
	ps->nnames++;
	add(&ps->count[kind], 1);
	maybe_grow(ps);
	return n;
}

static void name_free(struct rd_pubsub_lc *ps, struct ps_name *n)
{
	struct ps_name **pp = &ps->buckets[n->hash & (ps->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	if (n->kind == PS_PATTERN) {
		if (n->lprev)
			n->lprev->lnext = n->lnext;
		else
			ps->pat_first = n->lnext;
		if (n->lnext)
			n->lnext->lprev = n->lprev;
		else
			ps->pat_last = n->lprev;
	}
	ps->nnames--;
	add(&ps->count[n->kind], -1);
	pool_put(ps, n, n->cls);
}

static uint32_t *session_count(struct rd_session *s, uint8_t kind)
{
	return kind == PS_CHANNEL ? &s->sub.nsub : kind == PS_PATTERN ? &s->sub.npsub :
									&s->sub.nssub;
}

/* The link of s to n, if any: along the shorter of the two lists. */
static struct ps_link *link_find(struct rd_session *s, struct ps_name *n)
{
	if (n->nsubs <= *session_count(s, n->kind)) {
		for (struct ps_link *l = n->first; l; l = l->cnext)
			if (l->s == s)
				return l;
		return NULL;
	}
	for (struct ps_link *l = s->sub.head; l; l = l->snext)
		if (l->n == n)
			return l;
	return NULL;
}

int ps_subscribe(struct rd_pubsub_lc *ps, struct rd_session *s, uint8_t kind, const uint8_t *p,
		 uint32_t len)
{
	struct ps_name *n = ps_find(ps, kind, p, len);
	struct ps_link *l;
	uint8_t cls;
	bool fresh = false;

	if (n && link_find(s, n))
		return 0;
	if (!n) {
		n = name_new(ps, kind, p, len);
		if (!n)
			return -1;
		fresh = true;
	}
	l = pool_get(ps, sizeof(*l), &cls);
	if (!l) {
		if (fresh)
			name_free(ps, n);
		return -1;
	}
	*l = (struct ps_link){ .s = s, .n = n, .cprev = n->last, .sprev = s->sub.tail };
	if (n->last)
		n->last->cnext = l;
	else
		n->first = l;
	n->last = l;
	n->nsubs++;
	if (s->sub.tail)
		s->sub.tail->snext = l;
	else
		s->sub.head = l;
	s->sub.tail = l;
	(*session_count(s, kind))++;
	add(&ps->nlinks, 1);
	if (n->ks)
		add(&ps->nks, 1);
	return 1;
}

void ps_unlink(struct rd_pubsub_lc *ps, struct ps_link *l)
{
	struct ps_name *n = l->n;
	struct rd_session *s = l->s;

	if (l->cprev)
		l->cprev->cnext = l->cnext;
	else
		n->first = l->cnext;
	if (l->cnext)
		l->cnext->cprev = l->cprev;
	else
		n->last = l->cprev;
	if (l->sprev)
		l->sprev->snext = l->snext;
	else
		s->sub.head = l->snext;
	if (l->snext)
		l->snext->sprev = l->sprev;
	else
		s->sub.tail = l->sprev;
	(*session_count(s, n->kind))--;
	add(&ps->nlinks, -1);
	if (n->ks)
		add(&ps->nks, -1);
	pool_put(ps, l, 0);
	if (--n->nsubs == 0)
		name_free(ps, n);
}

int ps_unsubscribe(struct rd_pubsub_lc *ps, struct rd_session *s, uint8_t kind, const uint8_t *p,
		   uint32_t len)
{
	struct ps_name *n = ps_find(ps, kind, p, len);
	struct ps_link *l = n ? link_find(s, n) : NULL;

	if (!l)
		return 0;
	ps_unlink(ps, l);
	return 1;
}

void ps_each_name(struct rd_pubsub_lc *ps, uint8_t kind,
		  bool (*fn)(void *arg, const struct ps_name *n), void *arg)
{
	if (kind == PS_PATTERN) {
		for (struct ps_name *n = ps->pat_first; n; n = n->lnext)
			if (!fn(arg, n))
				return;
		return;
	}
	for (uint32_t i = 0; i < ps->nbuckets; i++)
		for (struct ps_name *n = ps->buckets[i]; n; n = n->hnext)
			if (n->kind == kind && !fn(arg, n))
				return;
}

/* ---- delivery ---- */

/* The message's bytes into o. */
static void msg_write(struct mc_out *o, const struct ps_msg *m)
{
	if (m->p) {
		mc_out_put(o, m->p, m->len);
	} else if (m->arg) {
		uint8_t buf[4096];

		for (uint64_t off = 0; off < m->len; off += sizeof(buf)) {
			uint64_t n = m->len - off < sizeof(buf) ? m->len - off : sizeof(buf);

			resp_arg_read(m->arg, m->in, off, buf, n);
			mc_out_put(o, buf, n);
		}
	} else {
		const struct rte_mbuf *seg = m->chain;
		uint32_t skip = m->off, left = m->len;

		for (; seg && left; seg = seg->next) {
			uint32_t n;

			if (skip >= seg->data_len) {
				skip -= seg->data_len;
				continue;
			}
			n = seg->data_len - skip;
			if (n > left)
				n = left;
			mc_out_put(o, rte_pktmbuf_mtod_offset(seg, const uint8_t *, skip), n);
			left -= n;
			skip = 0;
		}
	}
}

/* Copy the message's bytes into dst (it fits). */
static void msg_copy(uint8_t *dst, const struct ps_msg *m)
{
	struct mc_out o;

	mc_out_init_buf(&o, dst, m->len);
	msg_write(&o, m);
}

static size_t put_hdr(uint8_t *p, char type, uint64_t n)
{
	char buf[24];
	char *d = mc_fmt_u64(buf + 24, n);
	size_t k = (size_t)(buf + 24 - d);

	p[0] = (uint8_t)type;
	memcpy(p + 1, d, k);
	p[1 + k] = '\r';
	p[2 + k] = '\n';
	return k + 3;
}

static size_t put_bulk(uint8_t *p, const uint8_t *b, uint32_t n)
{
	size_t k = put_hdr(p, '$', n);

	memcpy(p + k, b, n);
	p[k + n] = '\r';
	p[k + n + 1] = '\n';
	return k + n + 2;
}

/* "message" / "smessage" / "pmessage" and its channel (and pattern): the frame's head. */
struct frame {
	const char *what;
	const uint8_t *pat;
	uint32_t patlen;
	const uint8_t *ch;
	uint32_t chlen;
	const struct ps_msg *m;
	uint8_t *buf;		/* the whole frame, built once (RESP2's array header), or NULL */
	size_t len;
};

static size_t frame_bound(const struct frame *f)
{
	return 4 + 32 + (f->pat ? f->patlen + 24 : 0) + f->chlen + 24 + f->m->len + 24;
}

static void frame_build(struct frame *f, uint8_t *buf)
{
	size_t n = put_hdr(buf, '*', f->pat ? 4 : 3);

	n += put_bulk(buf + n, (const uint8_t *)f->what, (uint32_t)strlen(f->what));
	if (f->pat)
		n += put_bulk(buf + n, f->pat, f->patlen);
	n += put_bulk(buf + n, f->ch, f->chlen);
	n += put_hdr(buf + n, '$', f->m->len);
	msg_copy(buf + n, f->m);
	n += f->m->len;
	buf[n++] = '\r';
	buf[n++] = '\n';
	f->buf = buf;
	f->len = n;
}

/* One frame into o (RESP3: a push; RESP2: an array). */
static void frame_write(struct mc_out *o, uint8_t proto, const struct frame *f)
{
	char t = proto >= 3 ? '>' : '*';

	if (f->buf) {
		mc_out_char(o, t);
		mc_out_put(o, f->buf + 1, f->len - 1);
	} else {
		resp_header(o, t, f->pat ? 4 : 3);
		resp_bulk_str(o, f->what);
		if (f->pat)
			resp_bulk(o, f->pat, f->patlen);
		resp_bulk(o, f->ch, f->chlen);
		resp_header(o, '$', f->m->len);
		msg_write(o, f->m);
		mc_out_put(o, "\r\n", 2);
	}
}

/* One frame to one subscriber. */
static void frame_send(struct rd_session *s, const struct frame *f)
{
	struct mc_out *o = rd_push_begin(s);

	if (!o)
		return;
	frame_write(o, s->proto, f);
	rd_push_end(s);
}

/* Is l's session the one whose own transaction wrote this frame into its reply? */
static bool skipped(const struct rd_pubsub_lc *ps, const struct ps_link *l)
{
	return ps->skip_id && l->s->id == ps->skip_id;
}

static unsigned send_all(struct rd_pubsub_lc *ps, const struct ps_name *n, struct frame *f)
{
	unsigned k = 0;

	if (!n->first)
		return 0;
	f->buf = NULL;
	if (frame_bound(f) <= sizeof(ps->frame))
		frame_build(f, ps->frame);
	for (const struct ps_link *l = n->first; l; l = l->cnext) {
		if (skipped(ps, l))
			continue;
		frame_send(l->s, f);
		k++;
	}
	return k;
}

unsigned ps_deliver_self(struct rd_session *s, struct mc_out *o, uint8_t kind, const uint8_t *ch,
			 uint32_t chlen, const struct ps_msg *m)
{
	struct frame f = { .what = kind == PS_SHARD ? "smessage" : "message", .ch = ch,
			   .chlen = chlen, .m = m };
	unsigned k = 0;

	/* (s's own links and their names: nobody else changes them while s is lent) */
	for (const struct ps_link *l = s->sub.head; l; l = l->snext) {
		if (l->n->kind == kind && l->n->len == chlen && !memcmp(l->n->name, ch, chlen)) {
			frame_write(o, s->proto, &f);
			k++;
		}
	}
	if (kind != PS_CHANNEL)
		return k;
	f.what = "pmessage";
	for (const struct ps_link *l = s->sub.head; l; l = l->snext) {
		if (l->n->kind != PS_PATTERN ||
		    !rd_glob_match(l->n->name, l->n->len, ch, chlen, false))
			continue;
		f.pat = l->n->name;
		f.patlen = l->n->len;
		frame_write(o, s->proto, &f);
		k++;
	}
	return k;
}

unsigned ps_deliver(struct rd_pubsub_lc *ps, uint8_t kind, const uint8_t *ch, uint32_t chlen,
		    const struct ps_msg *m)
{
	struct frame f = { .what = kind == PS_SHARD ? "smessage" : "message", .ch = ch,
			   .chlen = chlen, .m = m };
	const struct ps_name *n;
	unsigned k = 0;

	if (!ps || !__atomic_load_n(&ps->nlinks, __ATOMIC_RELAXED))
		return 0;
	n = ps_find(ps, kind, ch, chlen);
	if (n)
		k += send_all(ps, n, &f);
	if (kind != PS_CHANNEL)
		return k;	/* (shard channels know no patterns) */
	f.what = "pmessage";
	for (const struct ps_name *p = ps->pat_first; p; p = p->lnext) {
		if (!rd_glob_match(p->name, p->len, ch, chlen, false))
			continue;
		f.pat = p->name;
		f.patlen = p->len;
		k += send_all(ps, p, &f);
	}
	return k;
}

unsigned rd_pubsub_local(struct wc_lcore *lc, const uint8_t *ch, uint32_t chlen,
			 const uint8_t *msg, uint32_t mlen)
{
	struct ps_msg m = { .p = msg, .len = mlen };

	return ps_deliver(lc->pubsub, PS_CHANNEL, ch, chlen, &m);
}

unsigned rd_pubsub_deliver_in(struct wc_lcore *lc, const struct mc_inq *in, uint64_t choff,
			      uint32_t chlen, uint64_t moff, uint32_t mlen)
{
	struct rd_pubsub_lc *ps = lc->pubsub;
	struct resp_arg a = { .u.off = moff, .len = mlen, .kind = RESP_ARG_RX };
	struct ps_msg m = { .arg = &a, .in = in, .len = mlen };

	if (!ps || !__atomic_load_n(&ps->nlinks, __ATOMIC_RELAXED) || chlen > RD_PS_NAME_MAX)
		return 0;	/* (nobody listens here, or to a name this long) */
	mc_inq_copy(in, choff, ps->chan, chlen);
	return ps_deliver(ps, PS_CHANNEL, ps->chan, chlen, &m);
}

unsigned rd_pubsub_self(struct wc_lcore *lc, const uint8_t *ch, uint32_t chlen,
			const uint8_t *msg, uint32_t mlen)
{
	struct ps_msg m = { .p = msg, .len = mlen };
	struct rd_pubsub_writer *w = lc->pubsub ? &lc->pubsub->writer : NULL;

	if (!w || !w->s)
		return 0;
	return ps_deliver_self(w->s, w->out, PS_CHANNEL, ch, chlen, &m);
}

void rd_pubsub_skip(struct wc_lcore *lc, uint64_t client)
{
	if (lc->pubsub)
		lc->pubsub->skip_id = client;
}

bool rd_pubsub_own_in_reply(const struct rd_session *s)
{
	/* (silenced replies: Redis still sends pushes, so they take the normal way) */
	return (s->flags & RD_C_PUBSUB) && !(s->flags & (RD_C_REPLY_OFF | RD_C_REPLY_SKIP));
}

struct rd_pubsub_writer rd_pubsub_writer_enter(struct wc_lcore *lc, struct rd_session *s,
					       struct mc_out *out)
{
	struct rd_pubsub_writer prev = { 0 };

	if (lc->pubsub) {
		prev = lc->pubsub->writer;
		lc->pubsub->writer = (struct rd_pubsub_writer){ .s = s, .out = out };
	}
	return prev;
}

void rd_pubsub_writer_leave(struct wc_lcore *lc, struct rd_pubsub_writer prev)
{
	if (lc->pubsub)
		lc->pubsub->writer = prev;
}

uint64_t rd_pubsub_writer_id(const struct wc_lcore *lc)
{
	return lc->pubsub && lc->pubsub->writer.s ? lc->pubsub->writer.s->id : 0;
}

void rd_pubsub_release(struct wc_lcore *lc, struct rd_session *s)
{
	struct rd_pubsub_lc *ps = lc ? lc->pubsub : NULL;

	if (!ps)
		return;
	while (s->sub.head)
		ps_unlink(ps, s->sub.head);
	s->flags &= ~RD_C_PUBSUB;
}
