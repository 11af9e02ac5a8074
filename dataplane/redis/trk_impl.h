/*
 * trk_impl.h - inside client tracking (tracking.h): one lcore's state and
 * what the files of the module share. tracking.c has the commands and
 * the reads, trk_bcast.c the BCAST prefixes and their batches,
 * trk_deliver.c the frames, the held ones, redirects and the bus.
 */
#ifndef WC_REDIS_TRK_IMPL_H
#define WC_REDIS_TRK_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/app.h"
#include "redis/tracking.h"
#include "redis/trk_table.h"

#define TRK_LOG_CHUNKS 1024u		/* the table's log: 64 MiB of address space, used as it fills */
#define TRK_BUCKETS_LOG2 18u
#define TRK_PREFIXES 256u		/* distinct BCAST prefixes on one lcore */
#define TRK_SUBS 1024u			/* (client, prefix) subscriptions on one lcore */
#define TRK_PREFIX_MAX 250u		/* the longest key: a longer prefix could never match */
#define TRK_PEND_BYTES (128u << 10)	/* BCAST keys batched before they go out */
#define TRK_PEND_SLOTS 1024u		/* (their de-duplication table) */
#define TRK_HOLD_BYTES (64u << 10)	/* frames held for clients in the middle of a command */
#define TRK_READS 32u			/* reads remembered lazily, in one batch (trk_table.h) */
#define TRK_SCRUB_PER_JOIN 256u	/* scrub steps a client turning tracking on pays for */
#define TRK_READ_KEYS 2048u		/* bytes of their keys (a batch is flushed before it overflows) */
_Static_assert(TRK_READ_KEYS >= TRK_READ_KEY, "a key the batch takes fits an empty batch");

struct trk_prefix {
	uint16_t len;
	uint16_t nsubs;			/* 0: the entry is free */
	uint16_t subs;			/* its first subscription + 1 */
	uint32_t pend, pend_tail;	/* its batched keys (offset + 1 in pend), oldest first */
	uint32_t npend;
	uint8_t p[TRK_PREFIX_MAX];
};

struct trk_sub {
	uint16_t prefix;
	uint16_t next_p;		/* the prefix's next subscription + 1 */
	uint16_t next_s;		/* the session's next subscription + 1 */
	struct rd_session *s;
	uint64_t id;
};

/* What an invalidation says: keys (an array of bulk strings), "everything", or a broken redirect. */
enum trk_val_kind { TRK_V_KEYS, TRK_V_NULL, TRK_V_BROKEN };

struct trk_val {
	uint8_t kind;			/* enum trk_val_kind */
	uint32_t count;			/* TRK_V_KEYS: how many */
	uint32_t n;			/* TRK_V_KEYS: bytes of the bulk strings at p */
	const uint8_t *p;
	uint64_t id;			/* TRK_V_BROKEN: the redirect that broke */
};

struct rd_trk_lcore {
	struct rd_trk_lcore_head head;	/* first: tracking.h reads it (pend_keys) */
	struct wc_lcore *lc;
	struct trk_table tab;		/* (tab.mem NULL until a client first turns tracking on) */
	uint32_t clients;		/* sessions with tracking on */
	uint32_t bcast;			/* of which in BCAST mode */
	uint32_t nprefixes;		/* prefix entries in use */
	uint16_t active[TRK_PREFIXES];	/* which */
	uint16_t sub_free;		/* free subscriptions, + 1 */
	bool flush_posted;		/* a WC_BUS_TRACK flush to ourselves is on its way */
	/* batched BCAST keys */
	uint8_t *pend;
	uint32_t pend_used;		/* (and head.pend_keys) */
	uint32_t dedup[TRK_PEND_SLOTS];
	uint8_t *scratch;		/* 2 * TRK_PEND_BYTES: arrays being built */
	/* frames held for clients in the middle of a command */
	uint8_t *hold;
	uint32_t hold_used;
	/* reads not yet in the table (always before any key event is handled) */
	uint32_t nreads, rkeys_used;
	struct trk_read reads[TRK_READS];
	uint8_t rkeys[TRK_READ_KEYS];	/* their keys, packed */
	/* counters */
	uint64_t sent, held, dropped, redirected, broken;
	struct trk_prefix prefix[TRK_PREFIXES];
	struct trk_sub sub[TRK_SUBS];
};

/* The lcore's tracking state (made by rd_tracking_lcore_init). */
static inline struct rd_trk_lcore *trk_of(const struct wc_lcore *lc)
{
	return lc->trk;
}

static inline uint16_t trk_flags(const struct rd_session *s)
{
	return rd_trk_flags(&s->trk);
}

static inline void trk_flags_set(struct rd_session *s, uint16_t f)
{
	__atomic_fetch_or(&s->trk.flags, f, __ATOMIC_RELAXED);
}

static inline void trk_flags_clear(struct rd_session *s, uint16_t f)
{
	__atomic_fetch_and(&s->trk.flags, (uint16_t)~f, __ATOMIC_RELAXED);
}

/* Is s still the connection with client id `id`? (on s's own lcore) */
bool trk_alive(const struct rd_session *s, uint64_t id);
/* The table down to the lcore's share of tracking-table-max-keys. */
void trk_trim(struct rd_trk_lcore *L);

/* ---- trk_deliver.c ---- */

/* Tell tracking client c (on this lcore) about v: on its connection or its redirect's. */
void trk_notify(struct rd_trk_lcore *L, struct rd_session *c, const struct trk_val *v);
/* "Everything" to every tracking client here (a flush; lost news: also redirect targets). */
void trk_null_all(struct rd_trk_lcore *L, bool lost);
/* The frames held for s go out (its command's reply is written), or are dropped (it ended). */
void trk_release_held(struct rd_trk_lcore *L, struct rd_session *s, bool drop);
/* WC_BUS_TRACK: a self-flush, a trim, a delivery to a redirect target, a broken redirect. */
void trk_bus(struct wc_lcore *lc, unsigned from, const void *msg, uint32_t len);
/* Post a WC_BUS_TRACK flush (FLUSH) or trim (TRIM) to lcore `to`. */
enum { TRK_MSG_FLUSH = 1, TRK_MSG_TRIM, TRK_MSG_TARGET, TRK_MSG_DELIVER, TRK_MSG_BROKEN };
void trk_post(struct wc_lcore *lc, unsigned to, uint8_t what);
/* Client tid (session t on lcore `to`) is a REDIRECT target from now on. */
void trk_post_target(struct wc_lcore *lc, unsigned to, uint64_t tid, struct rd_session *t);

/* ---- trk_bcast.c ---- */

/* Check prefixes for CLIENT TRACKING ... BCAST (false: the error is written). */
bool trk_bcast_check(struct rd_session *s, const uint32_t *args, unsigned n);
/* Subscribe s to a prefix (no-op if it has it); false when the lcore's pools are full. */
bool trk_bcast_add(struct rd_trk_lcore *L, struct rd_session *s, const uint8_t *p, uint32_t len);
/* Every prefix of s goes. */
void trk_bcast_drop(struct rd_trk_lcore *L, struct rd_session *s);
/* A key changed: batch it for every matching prefix. */
void trk_bcast_note(struct rd_trk_lcore *L, const uint8_t *key, uint32_t klen, uint64_t writer);
/* The batches go out. */
void trk_bcast_flush(struct rd_trk_lcore *L);
/* The prefixes of s, sorted, for CLIENT TRACKINGINFO: up to max; returns how many. */
unsigned trk_bcast_list(const struct rd_trk_lcore *L, const struct rd_session *s,
			const struct trk_prefix **out, unsigned max);

#endif
