/*
 * tracking_state.h - what client tracking (redis/tracking.h) keeps in each
 * session and in the node's settings: plain types, for rd.h and server.h.
 */
#ifndef WC_REDIS_TRACKING_STATE_H
#define WC_REDIS_TRACKING_STATE_H

#include <stdbool.h>
#include <stdint.h>

struct rd_session;

enum rd_trk_flags {
	RD_TRK_ON = 1u << 0,		/* CLIENT TRACKING ON (CLIENT LIST flag t) */
	RD_TRK_BCAST = 1u << 1,		/* (flag B) */
	RD_TRK_OPTIN = 1u << 2,
	RD_TRK_OPTOUT = 1u << 3,
	RD_TRK_CACHING = 1u << 4,	/* CLIENT CACHING given for the next command */
	RD_TRK_NOLOOP = 1u << 5,
	RD_TRK_BROKEN = 1u << 6,	/* the redirect target is gone (flag R) */
	RD_TRK_TARGET = 1u << 7,	/* another client's invalidations come here */
	RD_TRK_NULLED = 1u << 8,	/* told "everything" and has run no command since */
	RD_TRK_OWED = 1u << 9,		/* a held invalidation did not fit: owes "everything" */
};

/* A session's part (struct rd_session.trk), zero when the connection opens. */
struct rd_trk_sess {
	uint16_t flags;			/* enum rd_trk_flags; touched on the session's lcore only */
	uint16_t redir_lcore;		/* where the REDIRECT target lives */
	uint16_t subs;			/* its first BCAST prefix subscription + 1 (0: none) */
	uint16_t held;			/* invalidations held until its command ends */
	uint32_t slot;			/* its slot in the lcore's tracking table + 1 (0: none) */
	uint64_t redir_id;		/* REDIRECT's client id (0: none) */
	struct rd_session *redir;	/* the target's session (read on redir_lcore only) */
};

/*
 * The flags are read and changed with atomics: a transaction may run the
 * session's commands on another lcore (CLIENT CACHING) while its own lcore
 * delivers invalidations (the broken-redirect and delivery marks).
 */
static inline uint16_t rd_trk_flags(const struct rd_trk_sess *t)
{
	return __atomic_load_n(&t->flags, __ATOMIC_RELAXED);
}

/*
 * May the single-GET fast path (rd_tcp.c) answer this session? Yes unless
 * tracking needs the general path: OPTIN/OPTOUT (CACHING decides), a
 * pending "everything", frames held for after a reply. A tracking read on
 * the fast path is remembered there (rd_tracking_fast_read).
 */
static inline bool rd_trk_fast_ok(const struct rd_trk_sess *t)
{
	uint16_t f = rd_trk_flags(t);

	return !(f & (RD_TRK_OPTIN | RD_TRK_OPTOUT | RD_TRK_CACHING | RD_TRK_NULLED |
		      RD_TRK_OWED)) &&
	       t->held == 0;
}

/* The node's part (struct rd_server.trk). */
struct rd_trk_server {
	uint64_t max_keys;		/* tracking-table-max-keys (0: no bound) */
};

#endif
