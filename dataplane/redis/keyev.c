/*
 * keyev.c - keyspace events (see keyev.h): the table of Redis's event names,
 * the store hook's mapping, who is told (the bus to interested lcores, the
 * emitting lcore's listeners inline), the owner's side of an expired read,
 * and the switch that keeps the hook NULL while nothing listens.
 */
#include <string.h>

#include <rte_common.h>
#include <rte_pause.h>

#include "core/app.h"
#include "core/bus.h"
#include "redis/keyev.h"
#include "redis/pubsub.h"
#include "redis/server.h"

#define MAX_LISTENERS 4

static const struct {
	const char *name;
	uint16_t cls;
} events[RD_EV_COUNT] = {
	[RD_EV_DEL] = { "del", RD_NOTIFY_GENERIC },
	[RD_EV_EXPIRE] = { "expire", RD_NOTIFY_GENERIC },
	[RD_EV_PERSIST] = { "persist", RD_NOTIFY_GENERIC },
	[RD_EV_RENAME_FROM] = { "rename_from", RD_NOTIFY_GENERIC },
	[RD_EV_RENAME_TO] = { "rename_to", RD_NOTIFY_GENERIC },
	[RD_EV_COPY_TO] = { "copy_to", RD_NOTIFY_GENERIC },
	[RD_EV_RESTORE] = { "restore", RD_NOTIFY_GENERIC },
	[RD_EV_SET] = { "set", RD_NOTIFY_STRING },
	[RD_EV_SETRANGE] = { "setrange", RD_NOTIFY_STRING },
	[RD_EV_INCRBY] = { "incrby", RD_NOTIFY_STRING },
	[RD_EV_INCRBYFLOAT] = { "incrbyfloat", RD_NOTIFY_STRING },
	[RD_EV_APPEND] = { "append", RD_NOTIFY_STRING },
	[RD_EV_DECRBY] = { "decrby", RD_NOTIFY_STRING },
	[RD_EV_HSET] = { "hset", RD_NOTIFY_HASH },
	[RD_EV_HINCRBY] = { "hincrby", RD_NOTIFY_HASH },
	[RD_EV_HINCRBYFLOAT] = { "hincrbyfloat", RD_NOTIFY_HASH },
	[RD_EV_HDEL] = { "hdel", RD_NOTIFY_HASH },
	[RD_EV_SADD] = { "sadd", RD_NOTIFY_SET },
	[RD_EV_SREM] = { "srem", RD_NOTIFY_SET },
	[RD_EV_SPOP] = { "spop", RD_NOTIFY_SET },
	[RD_EV_SINTERSTORE] = { "sinterstore", RD_NOTIFY_SET },
	[RD_EV_SUNIONSTORE] = { "sunionstore", RD_NOTIFY_SET },
	[RD_EV_SDIFFSTORE] = { "sdiffstore", RD_NOTIFY_SET },
	[RD_EV_EXPIRED] = { "expired", RD_NOTIFY_EXPIRED },
	[RD_EV_EVICTED] = { "evicted", RD_NOTIFY_EVICTED },
	[RD_EV_NEW] = { "new", RD_NOTIFY_NEW },
	[RD_EV_KEYMISS] = { "keymiss", RD_NOTIFY_KEY_MISS },
};

const char *rd_keyev_name(unsigned ev, uint32_t *len)
{
	const char *n = ev < RD_EV_COUNT ? events[ev].name : "";

	if (len)
		*len = (uint32_t)strlen(n);
	return n;
}

uint16_t rd_keyev_class(unsigned ev)
{
	return ev < RD_EV_COUNT ? events[ev].cls : 0;
}

/* ---- listeners ---- */

static rd_keyev_fn listeners[MAX_LISTENERS];
static unsigned nlisteners;
static struct rd_keyev_notifier notifier;

void rd_keyev_listen(rd_keyev_fn fn)
{
	if (nlisteners < MAX_LISTENERS)
		listeners[nlisteners++] = fn;
}

void rd_keyev_set_notifier(const struct rd_keyev_notifier *n)
{
	notifier = n ? *n : (struct rd_keyev_notifier){ 0 };
}

/* Do the flags give a notification for ev (its class, and K or E)? */
static bool flagged_for(const struct wc_app *app, const struct rd_keyev *ev)
{
	uint32_t f = app->rd ? __atomic_load_n(&app->rd->notify_flags, __ATOMIC_RELAXED) : 0;

	return (f & ev->cls) && (f & (RD_NOTIFY_KEYSPACE | RD_NOTIFY_KEYEVENT));
}

/*
 * An event for this lcore: listeners (changes and flushes), then
 * notifications when the flags give one for it (flagged_for; else deliver
 * would publish nothing: a change sent for tracking alone skips it).
 */
static inline __attribute__((always_inline)) void dispatch(struct wc_lcore *lc,
							   const struct rd_keyev *ev, bool flagged)
{
	if (ev->kind != RD_KEYEV_MISS)
		for (unsigned i = 0; i < nlisteners; i++)
			listeners[i](lc, ev);
	if (flagged && notifier.deliver && (ev->kind == RD_KEYEV_KEY || ev->kind == RD_KEYEV_MISS))
		notifier.deliver(lc, ev);
}

/* ---- on or off ---- */

/* Does anything on the node want events? (else the hooks are NULL) */
static bool wanted(const struct rd_server *srv)
{
	uint32_t f = __atomic_load_n(&srv->notify_flags, __ATOMIC_RELAXED);

	if (__atomic_load_n(&srv->keyev.tracking, __ATOMIC_RELAXED))
		return true;
	return (f & (RD_NOTIFY_KEYSPACE | RD_NOTIFY_KEYEVENT)) &&
	       (f & (RD_NOTIFY_ALL | RD_NOTIFY_NEW | RD_NOTIFY_KEY_MISS));
}

/*
 * Every lcore's hook as the settings now say. Changes serialise on a lock
 * of their own, and each reads the settings inside it, so the last one to
 * run sees every change made before it (a tracking count going up while
 * notifications are turned off, say) and the hooks end right.
 */
static void set_hooks(struct wc_app *app)
{
	struct rd_server *srv = app->rd;
	wc_kev_fn fn;

	if (!srv)
		return;
	while (__atomic_exchange_n(&srv->keyev.lock, 1, __ATOMIC_ACQUIRE))
		rte_pause();
	fn = wanted(srv) ? rd_keyev_store_hook : NULL;
	for (unsigned i = 0; i < app->nworkers; i++)
		if (app->lc[i])
			__atomic_store_n(&app->lc[i]->ctx.keyev, fn, __ATOMIC_RELAXED);
	__atomic_store_n(&srv->keyev.lock, 0, __ATOMIC_RELEASE);
}

void rd_keyev_settings_changed(struct wc_app *app)
{
	set_hooks(app);
}

void rd_keyev_interest(struct wc_lcore *lc, enum rd_keyev_interest what, int delta)
{
	struct rd_server *srv = lc->app->rd;

	if (what != RD_KEYEV_WANT_TRACKING || !srv || delta == 0)
		return;
	__atomic_add_fetch(&lc->keyev.tracking, (uint32_t)delta, __ATOMIC_RELAXED);
	__atomic_add_fetch(&srv->keyev.tracking, (uint32_t)delta, __ATOMIC_RELAXED);
	set_hooks(lc->app);
}

void rd_keyev_lcore_init(struct wc_lcore *lc)
{
	lc->keyev = (struct rd_keyev_lc){ 0 };
	lc->ctx.keyev = lc->app->rd && wanted(lc->app->rd) ? rd_keyev_store_hook : NULL;
}

/* ---- raising ---- */

/* The bus message of an event: the struct's fields, then the key. */
struct keyev_msg {
	uint64_t client_id;
	uint16_t kind, cls, event, klen;
	uint8_t self;
	uint8_t pad[7];
	uint8_t key[];
};

/* An expired key a read found, for its owner. */
struct expired_msg {
	uint16_t part, klen;
	uint8_t key[];
};

static void emit(struct wc_lcore *lc, struct rd_keyev *ev)
{
	struct wc_app *app = lc->app;
	bool flagged = flagged_for(app, ev);
	bool notify = notifier.wants && flagged;
	bool change = ev->kind != RD_KEYEV_MISS, here = false;

	if (!notify && !(change && app->rd && __atomic_load_n(&app->rd->keyev.tracking,
							      __ATOMIC_RELAXED)))
		return;	/* no class for it, no tracking client anywhere */
	lc->keyev.raised++;
	if (notify && ev->client_id && notifier.self && rd_pubsub_writer_id(lc) == ev->client_id) {
		/* a subscribing writer's own notifications go into its reply, where Redis puts them */
		notifier.self(lc, ev);
		ev->self = true;
	}
	for (unsigned i = 0; i < app->nworkers; i++) {
		struct keyev_msg *m;

		if (!(change && __atomic_load_n(&app->lc[i]->keyev.tracking, __ATOMIC_RELAXED)) &&
		    !(notify && notifier.wants(app, i)))
			continue;
		if (i == lc->id) {
			here = true;
			continue;
		}
		m = wc_bus_put(lc, i, WC_BUS_KEYEV, (uint32_t)sizeof(*m) + ev->klen);
		if (!m)
			continue;	/* (counted by the bus; the receiver hears WC_BUS_LOST) */
		*m = (struct keyev_msg){ .client_id = ev->client_id, .kind = ev->kind,
					 .cls = ev->cls, .event = ev->event, .klen = ev->klen,
					 .self = ev->self };
		if (ev->klen)
			memcpy(m->key, ev->key, ev->klen);
		lc->keyev.sent++;
	}
	if (here)
		dispatch(lc, ev, flagged);
}

void rd_keyev_raise(struct wc_ctx *ctx, uint64_t client, enum rd_ev ev, const uint8_t *key,
		    uint32_t klen)
{
	struct wc_lcore *lc = container_of(ctx, struct wc_lcore, ctx);
	struct rd_keyev e = { .client_id = client,
			      .kind = ev == RD_EV_KEYMISS ? RD_KEYEV_MISS : RD_KEYEV_KEY,
			      .cls = rd_keyev_class(ev), .event = (uint16_t)ev,
			      .klen = (uint16_t)(klen <= WC_KEY_MAX ? klen : WC_KEY_MAX),
			      .key = key };

	emit(lc, &e);
}

static void raise_flush(struct wc_lcore *lc, uint64_t client)
{
	struct rd_keyev e = { .client_id = client, .kind = RD_KEYEV_FLUSH };

	emit(lc, &e);
}

void rd_keyev_raise_flush(struct wc_ctx *ctx)
{
	if (rd_keyev_on(ctx))
		raise_flush(container_of(ctx, struct wc_lcore, ctx), 0);
}

void rd_keyev_flushed(struct rd_session *s)
{
	struct wc_ctx *ctx = rd_env(s)->ctx;

	if (rd_keyev_on(ctx))
		raise_flush(container_of(ctx, struct wc_lcore, ctx), s->id);
}

/* A read found key expired in partition p: its owner removes it, raising `expired` once. */
static void ask_owner(struct wc_lcore *lc, const struct wc_part *p, const void *key,
		      uint32_t klen)
{
	struct wc_app *app = lc->app;
	struct expired_msg *m;
	unsigned idx;

	for (idx = 0; idx < app->nparts && app->parts[idx] != p; idx++)
		;
	if (idx == app->nparts || klen > WC_KEY_MAX)
		return;
	/* (to itself too: handled at its next drain, outside the read) */
	m = wc_bus_put(lc, app->part_owner[idx], WC_BUS_EXPIRED, (uint32_t)sizeof(*m) + klen);
	if (!m)
		return;
	*m = (struct expired_msg){ .part = (uint16_t)idx, .klen = (uint16_t)klen };
	memcpy(m->key, key, klen);
	lc->keyev.expired_asks++;
}

void rd_keyev_reap_expired(struct wc_lcore *lc, const struct wc_part *p, const void *key,
			   uint32_t klen)
{
	ask_owner(lc, p, key, klen);
}

void rd_keyev_store_hook(struct wc_ctx *ctx, const struct wc_part *p, enum wc_kev ev,
			 const void *key, uint32_t klen)
{
	static const uint8_t map[] = {
		[WC_KEV_NEW] = RD_EV_NEW, [WC_KEV_SET] = RD_EV_SET,
		[WC_KEV_APPEND] = RD_EV_APPEND, [WC_KEV_DEL] = RD_EV_DEL,
		[WC_KEV_EXPIRE] = RD_EV_EXPIRE, [WC_KEV_INCR] = RD_EV_INCRBY,
		[WC_KEV_DECR] = RD_EV_DECRBY, [WC_KEV_EXPIRED] = RD_EV_EXPIRED,
		[WC_KEV_EVICTED] = RD_EV_EVICTED, [WC_KEV_MISS] = RD_EV_KEYMISS,
	};
	struct wc_lcore *lc = container_of(ctx, struct wc_lcore, ctx);

	switch (ev) {
	case WC_KEV_FLUSH:
		raise_flush(lc, 0);
		return;
	case WC_KEV_STALE:
		ask_owner(lc, p, key, klen);
		return;
	default:
		if ((unsigned)ev < sizeof(map))
			rd_keyev_raise(ctx, 0, (enum rd_ev)map[ev], key, klen);
		return;
	}
}

/* ---- receiving ---- */

static bool rd_keyev_wants_keyspace(const struct wc_app *app, unsigned i)
{
	return rd_pubsub_lcore_wants_keyspace(app, i);
}

static void on_keyev(struct wc_lcore *lc, unsigned from, const void *msg, uint32_t len)
{
	const struct keyev_msg *m = msg;
	struct rd_keyev ev;

	(void)from;
	if (len < sizeof(*m) || len < sizeof(*m) + m->klen)
		return;
	ev = (struct rd_keyev){ .client_id = m->client_id, .kind = m->kind, .cls = m->cls,
				.event = m->event, .klen = m->klen, .key = m->key, .self = m->self };
	lc->keyev.received++;
	dispatch(lc, &ev, flagged_for(lc->app, &ev));
}

static void on_expired(struct wc_lcore *lc, unsigned from, const void *msg, uint32_t len)
{
	const struct expired_msg *m = msg;
	struct wc_app *app = lc->app;

	(void)from;
	if (len < sizeof(*m) || len < sizeof(*m) + m->klen || m->part >= app->nparts ||
	    app->part_owner[m->part] != lc->id)
		return;	/* (the partition moved away: its new owner's crawler will find it) */
	/* a find unlinks it if it is still expired (the store raises `expired` then) */
	(void)wc_kv_find(app->parts[m->part], &lc->ctx, m->key, m->klen, wc_hash(m->key, m->klen));
}

static void on_lost(struct wc_lcore *lc, unsigned from, const void *msg, uint32_t len)
{
	struct rd_keyev ev = { .kind = RD_KEYEV_LOST };

	(void)from;
	(void)msg;
	(void)len;
	lc->keyev.lost++;
	dispatch(lc, &ev, false);	/* (a loss is no key's event: nothing to publish) */
}

void rd_keyev_setup(void)
{
	static const struct rd_keyev_notifier pubsub = {
		.deliver = rd_keyev_notify, .wants = rd_keyev_wants_keyspace,
		.self = rd_keyev_notify_self,
	};

	rd_keyev_set_notifier(&pubsub);
	wc_bus_register(WC_BUS_KEYEV, on_keyev);
	wc_bus_register(WC_BUS_EXPIRED, on_expired);
	wc_bus_register(WC_BUS_LOST, on_lost);
}

void rd_keyev_totals(const struct wc_app *app, struct rd_keyev_lc *sum)
{
	*sum = (struct rd_keyev_lc){ 0 };
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct rd_keyev_lc *k = &app->lc[i]->keyev;

		sum->tracking += __atomic_load_n(&k->tracking, __ATOMIC_RELAXED);
		sum->raised += __atomic_load_n(&k->raised, __ATOMIC_RELAXED);
		sum->sent += __atomic_load_n(&k->sent, __ATOMIC_RELAXED);
		sum->received += __atomic_load_n(&k->received, __ATOMIC_RELAXED);
		sum->expired_asks += __atomic_load_n(&k->expired_asks, __ATOMIC_RELAXED);
		sum->lost += __atomic_load_n(&k->lost, __ATOMIC_RELAXED);
	}
}
