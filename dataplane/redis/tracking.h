/*
 * tracking.h - server-assisted client-side caching: CLIENT TRACKING,
 * CACHING, GETREDIR and TRACKINGINFO, the keys tracking clients read, and
 * the invalidations they are sent when those keys change.
 *
 * Where things live. A client's reads are remembered on its own lcore, in
 * that lcore's table (trk_table.h): key -> the local clients that read it,
 * bounded by tracking-table-max-keys split over the lcores. Every change
 * to a key (Redis and memcached writes, expiry, eviction, flushes) reaches
 * each lcore that has tracking clients as a key event (keyev.h), right
 * where that lcore's own requests are run, so an invalidation is queued
 * on a client's connection before the reply to anything it sends after
 * the write completed. BCAST clients keep prefixes instead, matched
 * against every key event on their lcore; their invalidations are batched
 * per prefix until the lcore next runs a Redis connection or polls.
 *
 * Delivery. RESP3: an "invalidate" push on the client's own connection.
 * REDIRECT: the same (a push to a RESP3 target, a message on
 * __redis__:invalidate to a RESP2 subscriber) on the target's connection,
 * found by client id when tracking is turned on and reached over the bus
 * (WC_BUS_TRACK) when it lives on another lcore; a target that is gone
 * sets the client's broken-redirect flag (and a RESP3 client hears
 * tracking-redir-broken). A client in the middle of a command gets what
 * concerns it right after that command's reply.
 */
#ifndef WC_REDIS_TRACKING_H
#define WC_REDIS_TRACKING_H

#include <stdbool.h>
#include <stdint.h>

#include "redis/rd.h"
#include "redis/tracking_state.h"

struct rd_server;
struct wc_app;
struct wc_lcore;

/* INFO's numbers, summed over the lcores. */
struct rd_trk_totals {
	uint64_t clients;		/* tracking_clients */
	uint64_t keys;			/* tracking_total_keys */
	uint64_t items;			/* tracking_total_items */
	uint64_t prefixes;		/* tracking_total_prefixes (distinct per lcore) */
};

/* Once, before the lcores run: settings, and the bus and key-event handlers. */
void rd_tracking_server_init(struct rd_trk_server *t);
/* Each lcore's state (its table is made when a client there first turns tracking on). */
int rd_tracking_lcore_init(struct wc_lcore *lc);
void rd_tracking_lcore_fini(struct wc_lcore *lc);

/* CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO (rows in conn.c's CLIENT table). */
enum rd_res rd_client_tracking(struct rd_session *s);
enum rd_res rd_client_caching(struct rd_session *s);
enum rd_res rd_client_getredir(struct rd_session *s);
enum rd_res rd_client_trackinginfo(struct rd_session *s);

/*
 * A command is over (session.c, before its arguments go): the keys of a
 * read-only command that ran are remembered, CACHING lapses, and what was
 * held for the client goes out after its reply. Called when trk.flags or
 * trk.held are set.
 */
void rd_tracking_command_done(struct rd_session *s, bool ran);
/* The single-GET fast path (rd_tcp.c) read key (hash: wc_hash) for s, a tracking client. */
void rd_tracking_fast_read(struct wc_lcore *lc, struct rd_session *s, const uint8_t *key,
			   uint32_t klen, uint64_t hash);
/* EXEC ran its queue (multi.c, before the queue goes): the queued reads' keys. */
void rd_tracking_exec_done(struct rd_session *s);
/* RESET (tracking off, prefixes dropped), or the connection ends (and what it was owed goes). */
void rd_tracking_off(struct rd_session *s, bool ending);
/* The session is over on lc (QUIT, closed, killed), though TCP may still finish the close. */
void rd_tracking_end(struct wc_lcore *lc, struct rd_session *s);

/*
 * The head of an lcore's tracking state (trk_impl.h's rd_trk_lcore begins
 * with it): what a transport reads before each run, without a call.
 */
struct rd_trk_lcore_head {
	uint32_t pend_keys;		/* BCAST keys batched, not yet sent */
};

struct rd_trk_lcore;

/*
 * BCAST invalidations are batched on the lcore whose tracking state L is
 * (an lcore that runs Redis connections has one: rd_lcore_init).
 */
static inline bool rd_tracking_batched(const struct rd_trk_lcore *L)
{
	return ((const struct rd_trk_lcore_head *)(const void *)L)->pend_keys != 0;
}

/*
 * Before the lcore runs a Redis connection (rd_tcp.c), when
 * rd_tracking_batched: the batched BCAST invalidations out.
 */
void rd_tracking_before_run(struct wc_lcore *lc);

/* The reads this lcore remembers in batches go into its table now (INFO, tests). */
void rd_tracking_sync(struct wc_lcore *lc);

/* INFO (an lcore's last few reads may still wait in its batch: rd_tracking_sync) */
void rd_tracking_totals(const struct wc_app *app, struct rd_trk_totals *out);

/* CONFIG tracking-table-max-keys: read, and set (every lcore trims to its share). */
uint64_t rd_tracking_max_keys(const struct rd_server *srv);
void rd_tracking_set_max_keys(struct wc_lcore *lc, uint64_t max_keys);

#endif
