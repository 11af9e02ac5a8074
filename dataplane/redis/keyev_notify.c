/*
 * keyev_notify.c - keyspace notifications: the receiving side of keyspace
 * events (keyev.h). On the lcore that got an event, per
 * notify-keyspace-events, publish __keyspace@0__:<key> with the event's
 * name (K) and __keyevent@0__:<event> with the key (E) to this lcore's
 * subscribers (rd_pubsub_local). The channel is built on the stack: keys
 * are at most WC_KEY_MAX bytes, event names a few.
 */
#include <string.h>

#include "core/app.h"
#include "redis/keyev.h"
#include "redis/pubsub.h"
#include "redis/server.h"

#define KS_PREFIX "__keyspace@0__:"
#define KE_PREFIX "__keyevent@0__:"
#define PREFIX_LEN (sizeof(KS_PREFIX) - 1)

_Static_assert(sizeof(KS_PREFIX) == sizeof(KE_PREFIX), "both prefixes are as long");

uint32_t rd_keyev_channel(uint8_t *buf, bool keyspace, const struct rd_keyev *ev)
{
	uint32_t nlen;
	const char *name = rd_keyev_name(ev->event, &nlen);

	memcpy(buf, keyspace ? KS_PREFIX : KE_PREFIX, PREFIX_LEN);
	if (keyspace) {
		memcpy(buf + PREFIX_LEN, ev->key, ev->klen);
		return (uint32_t)PREFIX_LEN + ev->klen;
	}
	memcpy(buf + PREFIX_LEN, name, nlen);
	return (uint32_t)PREFIX_LEN + nlen;
}

/* To this lcore's subscribers, or to the writer alone (into its reply). */
static void publish(struct wc_lcore *lc, bool self, const uint8_t *ch, uint32_t chlen,
		    const uint8_t *msg, uint32_t mlen)
{
	if (self)
		rd_pubsub_self(lc, ch, chlen, msg, mlen);
	else
		rd_pubsub_local(lc, ch, chlen, msg, mlen);
}

static void notify(struct wc_lcore *lc, bool self, const struct rd_keyev *ev)
{
	uint32_t f = lc->app->rd ? __atomic_load_n(&lc->app->rd->notify_flags, __ATOMIC_RELAXED) : 0;
	uint8_t ch[RD_KEYEV_CHANNEL_MAX];
	uint32_t nlen, n;
	const char *name;

	if (ev->kind == RD_KEYEV_FLUSH || !(f & ev->cls) || !lc->pubsub)
		return;	/* (the event came for tracking only, or the flags changed since) */
	name = rd_keyev_name(ev->event, &nlen);
	/* Redis's order: the key's channel, then the event's */
	if (f & RD_NOTIFY_KEYSPACE) {
		n = rd_keyev_channel(ch, true, ev);
		publish(lc, self, ch, n, (const uint8_t *)name, nlen);
	}
	if (f & RD_NOTIFY_KEYEVENT) {
		n = rd_keyev_channel(ch, false, ev);
		publish(lc, self, ch, n, ev->key, ev->klen);
	}
}

void rd_keyev_notify(struct wc_lcore *lc, const struct rd_keyev *ev)
{
	if (!ev->self) {
		notify(lc, false, ev);
		return;
	}
	/* (the writer had them in its reply: pubsub.h) */
	rd_pubsub_skip(lc, ev->client_id);
	notify(lc, false, ev);
	rd_pubsub_skip(lc, 0);
}

void rd_keyev_notify_self(struct wc_lcore *lc, const struct rd_keyev *ev)
{
	notify(lc, true, ev);
}
