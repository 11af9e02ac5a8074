/*
 * trk_deliver.c - how tracking's invalidations reach clients: the frames
 * (an "invalidate" push, a message on __redis__:invalidate, a
 * tracking-redir-broken push), frames held for a client in the middle of
 * a command until its reply is written, REDIRECT targets on this lcore and
 * on others (over the bus), and the bus messages of tracking.
 */
#include <stdio.h>
#include <string.h>

#include "core/bus.h"
#include "redis/clients.h"
#include "redis/pubsub.h"
#include "redis/push.h"
#include "redis/trk_impl.h"

static const char push_head[] = ">2\r\n$10\r\ninvalidate\r\n";
static const char msg_head[] = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n";
static const char broken_head[] = ">2\r\n$21\r\ntracking-redir-broken\r\n";

/* A frame held for a client in the middle of a command. */
struct held {
	struct rd_session *s;
	uint64_t id;
	uint32_t len;
	uint32_t pad;
	uint8_t bytes[];		/* len, then padding to 8 */
};

/* A delivery to a REDIRECT target on another lcore (and, back, a broken redirect). */
struct trk_msg {
	uint8_t what;			/* TRK_MSG_* */
	uint8_t kind;			/* enum trk_val_kind */
	uint16_t pad;
	uint32_t count, n;		/* TRK_V_KEYS: the keys that follow */
	uint64_t tid;			/* the target's client id */
	struct rd_session *t;
	uint64_t oid;			/* the tracking client's */
	struct rd_session *o;
};

static inline uint32_t pad8(uint32_t n)
{
	return (n + 7u) & ~7u;
}

/* How t hears it: 3 a push, 2 a message on __redis__:invalidate, 0 not at all (Redis's rules). */
static int mode_of(const struct rd_session *t, bool redirected)
{
	if (t->proto >= 3)
		return 3;
	if (redirected && (__atomic_load_n(&t->flags, __ATOMIC_RELAXED) & RD_C_PUBSUB))
		return 2;
	return 0;
}

static void put_frame(struct mc_out *o, int mode, const struct trk_val *v)
{
	if (v->kind == TRK_V_BROKEN) {
		mc_out_put(o, broken_head, sizeof(broken_head) - 1);
		resp_int(o, (int64_t)v->id);
		return;
	}
	if (mode == 3)
		mc_out_put(o, push_head, sizeof(push_head) - 1);
	else
		mc_out_put(o, msg_head, sizeof(msg_head) - 1);
	switch (v->kind) {
	case TRK_V_KEYS:
		resp_array(o, v->count);
		mc_out_put(o, v->p, v->n);
		break;
	default:
		/* "everything": a null as the receiving connection speaks it */
		if (mode == 3)
			mc_out_put(o, "_\r\n", 3);
		else
			mc_out_put(o, "$-1\r\n", 5);
		break;
	}
}

/* Waiting for owner calls (perhaps lent to another lcore), or in one of its handlers now. */
static bool running(const struct rd_session *t)
{
	return t->st == RD_S_RUN || (t->st == RD_S_PARSE && t->def != NULL);
}

static void push_bytes(struct rd_trk_lcore *L, struct rd_session *t, const uint8_t *p, uint32_t n)
{
	struct mc_out *o = rd_push_begin(t);

	if (!o) {
		L->dropped++;
		return;
	}
	mc_out_put(o, p, n);
	rd_push_end(t);
	L->sent++;
}

/* Keep the frame until t's command has its reply (no room: t owes "everything"). */
static void hold(struct rd_trk_lcore *L, struct rd_session *t, int mode, const struct trk_val *v)
{
	struct held *h = (struct held *)(void *)(L->hold + L->hold_used);
	struct mc_out sink;

	if (L->hold_used + sizeof(*h) < TRK_HOLD_BYTES) {
		mc_out_init_buf(&sink, h->bytes, TRK_HOLD_BYTES - L->hold_used - sizeof(*h));
		put_frame(&sink, mode, v);
		if (!sink.failed) {
			*h = (struct held){ .s = t, .id = t->id, .len = (uint32_t)sink.written };
			L->hold_used += (uint32_t)sizeof(*h) + pad8(h->len);
			t->trk.held++;
			L->held++;
			return;
		}
	}
	trk_flags_set(t, RD_TRK_OWED);
	L->dropped++;
}

static void deliver(struct rd_trk_lcore *L, struct rd_session *t, bool redirected,
		    const struct trk_val *v)
{
	int mode = mode_of(t, redirected);
	struct mc_out *o;

	if (!mode || (v->kind == TRK_V_BROKEN && mode != 3))
		return;
	if (running(t)) {
		hold(L, t, mode, v);
		return;
	}
	if (!(o = rd_push_begin(t))) {
		L->dropped++;
		return;
	}
	put_frame(o, mode, v);
	rd_push_end(t);
	L->sent++;
}

void trk_release_held(struct rd_trk_lcore *L, struct rd_session *s, bool drop)
{
	uint32_t off = 0;

	while (s->trk.held && off < L->hold_used) {
		struct held *h = (struct held *)(void *)(L->hold + off);
		uint32_t size = (uint32_t)sizeof(*h) + pad8(h->len);

		if (h->s != s) {
			off += size;
			continue;
		}
		if (!drop && h->id == s->id)
			push_bytes(L, s, h->bytes, h->len);
		memmove(L->hold + off, L->hold + off + size, L->hold_used - off - size);
		L->hold_used -= size;
		s->trk.held--;
	}
	s->trk.held = 0;
	if (trk_flags(s) & RD_TRK_OWED) {
		trk_flags_clear(s, RD_TRK_OWED);
		if (!drop) {
			/* what did not fit is replaced by "everything" */
			struct trk_val v = { .kind = TRK_V_NULL };
			int mode = mode_of(s, (trk_flags(s) & RD_TRK_TARGET) != 0);
			uint8_t buf[64];
			struct mc_out sink;

			if (mode) {
				mc_out_init_buf(&sink, buf, sizeof(buf));
				put_frame(&sink, mode, &v);
				push_bytes(L, s, buf, (uint32_t)sink.written);
			}
		}
	}
}

/* c's REDIRECT target is gone: flag R, and a RESP3 client hears it. */
static void broken(struct rd_trk_lcore *L, struct rd_session *c)
{
	struct trk_val v = { .kind = TRK_V_BROKEN, .id = c->trk.redir_id };

	trk_flags_set(c, RD_TRK_BROKEN);
	L->broken++;
	deliver(L, c, false, &v);
}

/* Through the bus to the target's lcore, cut at key boundaries into messages that fit. */
static void send_remote(struct rd_trk_lcore *L, struct rd_session *c, const struct trk_val *v)
{
	const uint32_t room = WC_BUS_MSG_MAX - (uint32_t)sizeof(struct trk_msg);
	uint32_t off = 0;

	do {
		struct trk_msg *m;
		uint32_t n = 0, count = 0;

		if (v->kind == TRK_V_KEYS) {
			/* whole bulk strings ("$len\r\n" key "\r\n") while they fit */
			while (off + n < v->n) {
				const uint8_t *b = v->p + off + n;
				uint32_t len = 0, hdr = 1;

				while (b[hdr] != '\r')
					len = len * 10 + (uint32_t)(b[hdr++] - '0');
				if (n + hdr + 2 + len + 2 > room && count)
					break;
				n += hdr + 2 + len + 2;
				count++;
			}
		}
		m = wc_bus_put(L->lc, c->trk.redir_lcore, WC_BUS_TRACK, (uint32_t)sizeof(*m) + n);
		if (!m) {
			/* (the target's lcore will hear WC_BUS_LOST: "everything" to its targets) */
			L->dropped++;
			return;
		}
		*m = (struct trk_msg){ .what = TRK_MSG_DELIVER, .kind = v->kind, .count = count,
				       .n = n, .tid = c->trk.redir_id, .t = c->trk.redir,
				       .oid = c->id, .o = c };
		memcpy(m + 1, v->p + off, n);
		off += n;
		L->redirected++;
	} while (v->kind == TRK_V_KEYS && off < v->n);
}

void trk_notify(struct rd_trk_lcore *L, struct rd_session *c, const struct trk_val *v)
{
	struct rd_session *t;

	if (!c->trk.redir_id) {
		deliver(L, c, false, v);
		return;
	}
	if (c->trk.redir_lcore != L->lc->id) {
		send_remote(L, c, v);
		return;
	}
	t = c->trk.redir;
	if (!trk_alive(t, c->trk.redir_id)) {
		broken(L, c);
		return;
	}
	if (!(trk_flags(t) & RD_TRK_TARGET))
		trk_flags_set(t, RD_TRK_TARGET);
	L->redirected++;
	deliver(L, t, true, v);
}

/* ---- "everything" ---- */

struct null_all {
	struct rd_trk_lcore *L;
	bool lost;
};

static void null_one(void *arg, const struct rd_client_view *cv)
{
	struct null_all *x = arg;
	struct rd_session *s = (struct rd_session *)(uintptr_t)cv->s;	/* (ours: this lcore's) */
	uint16_t f = trk_flags(s);
	struct trk_val v = { .kind = TRK_V_NULL };

	if (f & RD_TRK_ON) {
		/* (one flush after another with no command between: once is enough) */
		if (f & RD_TRK_NULLED)
			return;
		trk_flags_set(s, RD_TRK_NULLED);
		trk_notify(x->L, s, &v);
	} else if (x->lost && (f & RD_TRK_TARGET)) {
		deliver(x->L, s, true, &v);
	}
}

void trk_null_all(struct rd_trk_lcore *L, bool lost)
{
	struct null_all x = { .L = L, .lost = lost };

	rd_tcp_clients(L->lc, null_one, &x);
}

/* ---- the bus ---- */

void trk_post(struct wc_lcore *lc, unsigned to, uint8_t what)
{
	uint8_t *m = wc_bus_put(lc, to, WC_BUS_TRACK, 8);

	if (m)
		*m = what;
}

/* A REDIRECT target is on this lcore: mark it (so news this lcore misses reaches it too). */
void trk_post_target(struct wc_lcore *lc, unsigned to, uint64_t tid, struct rd_session *t)
{
	struct trk_msg *m;

	if (to == lc->id) {
		if (trk_alive(t, tid))
			trk_flags_set(t, RD_TRK_TARGET);
		return;
	}
	m = wc_bus_put(lc, to, WC_BUS_TRACK, (uint32_t)sizeof(*m));
	if (m)
		*m = (struct trk_msg){ .what = TRK_MSG_TARGET, .tid = tid, .t = t };
}

void trk_bus(struct wc_lcore *lc, unsigned from, const void *msg, uint32_t len)
{
	struct rd_trk_lcore *L = lc->trk;
	const struct trk_msg *m = msg;
	struct trk_val v;

	if (!L || len < 1)
		return;
	switch (*(const uint8_t *)msg) {
	case TRK_MSG_FLUSH:
		L->flush_posted = false;
		trk_bcast_flush(L);
		return;
	case TRK_MSG_TRIM:
		trk_trim(L);
		return;
	case TRK_MSG_TARGET:
		if (len >= sizeof(*m) && trk_alive(m->t, m->tid))
			trk_flags_set(m->t, RD_TRK_TARGET);
		return;
	case TRK_MSG_DELIVER:
		if (len < sizeof(*m) + m->n)
			return;
		if (!trk_alive(m->t, m->tid)) {
			/* gone: the tracking client's lcore hears so */
			struct trk_msg *b = wc_bus_put(lc, from, WC_BUS_TRACK, (uint32_t)sizeof(*b));

			if (b)
				*b = (struct trk_msg){ .what = TRK_MSG_BROKEN, .tid = m->tid,
						       .oid = m->oid, .o = m->o };
			return;
		}
		if (!(trk_flags(m->t) & RD_TRK_TARGET))
			trk_flags_set(m->t, RD_TRK_TARGET);
		v = (struct trk_val){ .kind = m->kind, .count = m->count, .n = m->n,
				      .p = (const uint8_t *)(m + 1) };
		deliver(L, m->t, true, &v);
		return;
	case TRK_MSG_BROKEN:
		if (len >= sizeof(*m) && trk_alive(m->o, m->oid) &&
		    (trk_flags(m->o) & RD_TRK_ON) && m->o->trk.redir_id == m->tid)
			broken(L, m->o);
		return;
	default:
		return;
	}
}
