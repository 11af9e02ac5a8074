/*
 * keyev.h - keyspace events: every change to a key, raised where it happens
 * (the key's partition owner), handed to the lcores that care.
 *
 * Sources. A Redis command's owner function names its own events with
 * Redis 7.0's names and classes (rd_keyev_emit); memcached writes, expiry,
 * eviction and the reads' misses come from the store (store.h's wc_kev
 * hook, mapped here: see rd_keyev_store_hook); flushes are one event for
 * the whole keyspace (RD_KEYEV_FLUSH), raised by the command once every
 * partition is empty. A read that finds a key expired tells the owner
 * (WC_BUS_EXPIRED), which removes it if it is still expired and raises
 * `expired` once. Container members (bucket items) never raise events.
 *
 * Delivery. The emitting lcore sends one WC_BUS_KEYEV message to every
 * other lcore that is interested and hands the event to its own listeners
 * inline. An lcore is interested in an event when notify-keyspace-events
 * has the event's class (and K or E) and it may have a keyspace/keyevent
 * subscriber (rd_pubsub_lcore_wants_keyspace), or, for a change (not a key
 * miss), when it has tracking clients (rd_keyev_interest). The receiver
 * runs every listener (rd_keyev_listen) in the order the events were put.
 * Notifications are one listener (keyev_notify.c): __keyspace@0__:<key>
 * with the event's name, __keyevent@0__:<event> with the key, per the
 * flags, through rd_pubsub_local.
 * A writer that subscribes gets its own notifications inside the reply its
 * owner call sends back, where the command raises them (as Redis orders
 * them against its reply, in EXEC's reply too): the emitting lcore writes
 * them (notifier.self, pubsub.h's rd_pubsub_writer_*) and marks the event
 * `self`, so the writer's lcore skips it.
 *
 * Cost when nothing listens: the store hook pointer of every lcore's
 * context is NULL (no notify class with K or E, and no tracking client on
 * the node), so each place that could raise an event costs a load and a
 * predictable branch.
 *
 * Loss. A WC_BUS_LOST (the bus dropped messages from some lcore) is counted
 * and reaches listeners as an RD_KEYEV_FLUSH with client id 0: any key may
 * have changed unheard (tracking invalidates everything; notifications have
 * nothing to send).
 */
#ifndef WC_REDIS_KEYEV_H
#define WC_REDIS_KEYEV_H

#include <stdbool.h>
#include <stdint.h>

#include "redis/rd.h"
#include "store/store.h"

struct wc_app;
struct wc_lcore;
struct rd_server;

/* What a listener is told. */
enum rd_keyev_kind {
	RD_KEYEV_KEY = 0,	/* a key changed (key, klen, event, cls) */
	RD_KEYEV_FLUSH,		/* every key may have changed: FLUSHALL, FLUSHDB, flush_all,
				 * a delayed flush_all taking effect */
	RD_KEYEV_MISS,		/* (a read missed: never given to listeners, only to notifications) */
	RD_KEYEV_LOST,		/* messages to this lcore were dropped: every key may have
				 * changed, and what other lcores sent for its clients is lost */
};

struct rd_keyev {
	uint64_t client_id;	/* the Redis client that wrote (NOLOOP), 0 for memcached/expiry/eviction */
	uint16_t kind;		/* enum rd_keyev_kind */
	uint16_t cls;		/* enum rd_notify class bit(s) (server.h) */
	uint16_t event;		/* enum rd_ev (rd_keyev_name gives its name) */
	uint16_t klen;
	const uint8_t *key;
	bool self;		/* the writer had its notifications in its reply (pubsub.h) */
};

typedef void (*rd_keyev_fn)(struct wc_lcore *lc, const struct rd_keyev *ev);

/* At start: called for every event this lcore gets (kinds KEY, FLUSH and LOST). */
void rd_keyev_listen(rd_keyev_fn fn);

/*
 * Notification delivery registers itself (keyev_notify.c): deliver hears
 * every key event of its lcore, key misses too, that notify-keyspace-events
 * gives a notification for (the event's class, and K or E; a change sent
 * for tracking alone is not delivered); wants says whether lcore i may
 * have a keyspace/keyevent subscriber (cheap, from any lcore).
 */
struct rd_keyev_notifier {
	rd_keyev_fn deliver;
	bool (*wants)(const struct wc_app *app, unsigned i);
	/* (optional) the writer's owner call runs on lc: its own notifications into its reply */
	void (*self)(struct wc_lcore *lc, const struct rd_keyev *ev);
};
/* (rd_keyev_setup installs rd_keyev_notify + rd_pubsub_lcore_wants_keyspace; tests swap it) */
void rd_keyev_set_notifier(const struct rd_keyev_notifier *n);

/*
 * keyev_notify.c: publish ev on this lcore as notify-keyspace-events says
 * (skipping the writer if it had them already, ev->self); _self: to the
 * writer alone, into its reply, while its owner call runs here (pubsub.h).
 */
void rd_keyev_notify(struct wc_lcore *lc, const struct rd_keyev *ev);
void rd_keyev_notify_self(struct wc_lcore *lc, const struct rd_keyev *ev);
/* ev's channel into buf (RD_KEYEV_CHANNEL_MAX bytes): __keyspace@0__:<key> or __keyevent@0__:<event>. */
#define RD_KEYEV_CHANNEL_MAX (15 + WC_KEY_MAX + 16)
uint32_t rd_keyev_channel(uint8_t *buf, bool keyspace, const struct rd_keyev *ev);

enum rd_keyev_interest {
	RD_KEYEV_WANT_TRACKING = 0,	/* lcore lc has tracking clients (T adds/removes) */
};

/* Any lcore, any time; the count of lc goes up or down by delta. */
void rd_keyev_interest(struct wc_lcore *lc, enum rd_keyev_interest what, int delta);

/* ---- the events (Redis 7.0's names and classes) ---- */

enum rd_ev {
	/* generic (g) */
	RD_EV_DEL, RD_EV_EXPIRE, RD_EV_PERSIST, RD_EV_RENAME_FROM, RD_EV_RENAME_TO,
	RD_EV_COPY_TO, RD_EV_RESTORE,
	/* strings ($) */
	RD_EV_SET, RD_EV_SETRANGE, RD_EV_INCRBY, RD_EV_INCRBYFLOAT, RD_EV_APPEND,
	RD_EV_DECRBY,		/* memcached decr (Redis's DECR raises incrby) */
	/* hashes (h) */
	RD_EV_HSET, RD_EV_HINCRBY, RD_EV_HINCRBYFLOAT, RD_EV_HDEL,
	/* sets (s) */
	RD_EV_SADD, RD_EV_SREM, RD_EV_SPOP, RD_EV_SINTERSTORE, RD_EV_SUNIONSTORE,
	RD_EV_SDIFFSTORE,
	/* the rest: expired (x), evicted (e), new (n), keymiss (m) */
	RD_EV_EXPIRED, RD_EV_EVICTED, RD_EV_NEW, RD_EV_KEYMISS,
	RD_EV_COUNT
};

/* An event's name ("set", "rename_from" ...) and length; its class (enum rd_notify). */
const char *rd_keyev_name(unsigned ev, uint32_t *len);
uint16_t rd_keyev_class(unsigned ev);

/* ---- raising events ---- */

/* Does anything listen on the node (else raising an event is a no-op)? */
static inline bool rd_keyev_on(const struct wc_ctx *ctx)
{
	return wc_kev_hook(ctx) != NULL;
}

/* ctx is an lcore's context (struct wc_lcore.ctx); client: the writer's id or 0. */
void rd_keyev_raise(struct wc_ctx *ctx, uint64_t client, enum rd_ev ev, const uint8_t *key,
		    uint32_t klen);

/*
 * Any key may have changed (a bulk load, redis/rdbload.c): raised as a flush,
 * so tracking invalidates everything; notifications send nothing. ctx: an
 * lcore's context.
 */
void rd_keyev_raise_flush(struct wc_ctx *ctx);

/* An owner function's event for key (the command's client is the writer). */
static inline void rd_keyev_emit(const struct rd_owner *o, enum rd_ev ev, const uint8_t *key,
				 uint32_t klen)
{
	if (__builtin_expect(rd_keyev_on(o->ctx), 0))
		rd_keyev_raise(o->ctx, o->s ? o->s->id : 0, ev, key, klen);
}

/* A write's event, after `new` when the write created the key (as Redis's dbAdd). */
static inline void rd_keyev_emit_write(const struct rd_owner *o, bool created, enum rd_ev ev,
				       const uint8_t *key, uint32_t klen)
{
	if (__builtin_expect(rd_keyev_on(o->ctx), 0)) {
		if (created)
			rd_keyev_raise(o->ctx, o->s ? o->s->id : 0, RD_EV_NEW, key, klen);
		rd_keyev_raise(o->ctx, o->s ? o->s->id : 0, ev, key, klen);
	}
}

/* The command of s emptied every partition (FLUSHALL, FLUSHDB): one RD_KEYEV_FLUSH. */
void rd_keyev_flushed(struct rd_session *s);

/* The store's hook (wc_ctx.keyev of an lcore, while anything listens). */
void rd_keyev_store_hook(struct wc_ctx *ctx, const struct wc_part *p, enum wc_kev ev,
			 const void *key, uint32_t klen);

/* ---- state ---- */

/* Per lcore (struct wc_lcore.keyev). */
struct rd_keyev_lc {
	uint32_t tracking;		/* tracking clients here (others read it: atomic) */
	uint64_t raised;		/* events raised on this lcore */
	uint64_t sent;			/* of which messages put on the bus, to others */
	uint64_t received;		/* messages handled from other lcores */
	uint64_t expired_asks;		/* WC_BUS_EXPIRED sent (a read found a key expired) */
	uint64_t lost;			/* WC_BUS_LOST heard */
};

/* Node-wide (struct rd_server.keyev). */
struct rd_keyev_srv {
	uint32_t tracking;		/* tracking clients on all lcores */
	uint32_t lock;			/* (hook changes) */
};

/* Bus handlers (once, before the lcores run: rd_server_init). */
void rd_keyev_setup(void);
/*
 * A reader found key expired in partition p but not removed yet: its owner
 * removes it (raising `expired` once), at its next drain of the lcore bus.
 */
void rd_keyev_reap_expired(struct wc_lcore *lc, const struct wc_part *p, const void *key,
			   uint32_t klen);
/* An lcore's part (rd_lcore_init): its hook as the settings say. */
void rd_keyev_lcore_init(struct wc_lcore *lc);
/* notify-keyspace-events changed (CONFIG SET): hooks on or off everywhere. */
void rd_keyev_settings_changed(struct wc_app *app);
/* Counters summed over the lcores (INFO). */
void rd_keyev_totals(const struct wc_app *app, struct rd_keyev_lc *sum);

#endif
