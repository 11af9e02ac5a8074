/*
 * bus.h - small one-way messages between lcores, batched in mbufs.
 *
 * What one lcore must tell others without waiting for an answer: a key
 * changed on its partition's owner (keyspace events, client-tracking
 * invalidations), a read found a key expired (to its owner). The mailbox
 * (store/mailbox.h) is for requests that complete back to their sender;
 * the bus is for news.
 *
 * A sender appends messages for lcore j into its open buffer for j (an
 * mbuf of the node's pool); the buffer goes onto j's ring (one enqueue)
 * when it is full and at every flush point. The receiver runs each
 * message's handler, in the order sent. Nothing is allocated but mbufs and
 * nothing locks: a ring per receiver (multi-producer, single consumer).
 *
 * Ordering. Messages from one lcore to another arrive in the order they
 * were put. The sender flushes before it posts a mailbox completion
 * (wc_mbox_serve calls the context's before_complete hook), before each tx
 * burst and at the end of every loop; a receiver drains its ring right
 * after each rx burst, before it runs the packets. So what a write tells
 * lcore j is handled there before j runs any request that arrived after
 * the write's reply left the node.
 *
 * Loss. When no mbuf can be had, or a receiver's ring stays full while
 * WC_BUS_HOLD buffers wait for it, messages for it are dropped and counted;
 * the receiver then gets one WC_BUS_LOST message (its handlers recover:
 * tracking invalidates everything, for instance) as soon as one fits.
 */
#ifndef WC_CORE_BUS_H
#define WC_CORE_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct wc_app;
struct wc_lcore;

/* Message types: one handler each (wc_bus_register). */
enum wc_bus_type {
	WC_BUS_LOST = 0,	/* (no payload) messages from the sender were dropped */
	WC_BUS_TEST,		/* unit tests */
	WC_BUS_KEYEV,		/* a key changed on its owner (redis/keyev.h) */
	WC_BUS_EXPIRED,		/* a read found a key expired: to its owner */
	WC_BUS_TRACK,		/* client tracking between lcores (redis/tracking.h) */
	WC_BUS_TYPES
};

#define WC_BUS_MSG_MAX 1536u	/* payload bytes of one message, at most */
#define WC_BUS_HOLD 64u		/* buffers kept for a receiver whose ring is full */
#define WC_BUS_RING 1024u	/* buffers a receiver's ring holds */

/* A handler: from is the sender's lcore id; msg is 8-byte aligned, valid during the call. */
typedef void (*wc_bus_fn)(struct wc_lcore *lc, unsigned from, const void *msg, uint32_t len);

/* Set before the lcores run (one handler per type; NULL drops the type). */
void wc_bus_register(enum wc_bus_type type, wc_bus_fn fn);

/* The rings and every lcore's buffers (app->lc[] set up, app->pool and app->mem too). */
int wc_bus_init(struct wc_app *app);
void wc_bus_fini(struct wc_app *app);

/*
 * Room for a message of len bytes (<= WC_BUS_MSG_MAX) to lcore to, written
 * by the caller before its next wc_bus_* call; NULL when it was dropped
 * (counted; the receiver will hear WC_BUS_LOST). to may be the caller
 * itself: the message is then handled at the caller's next drain.
 */
void *wc_bus_put(struct wc_lcore *lc, unsigned to, enum wc_bus_type type, uint32_t len);

/* Send every open buffer (and retry held ones): the flush points above. */
void wc_bus_flush(struct wc_lcore *lc);

/* Is anything open or held, to send? (cheap: the flush points test it) */
bool wc_bus_pending(const struct wc_lcore *lc);

/* Handle what other lcores sent (up to max buffers); returns buffers handled. */
unsigned wc_bus_drain(struct wc_lcore *lc, unsigned max);

/* The lcore's counters. */
struct wc_bus_stats {
	uint64_t msgs_out, bufs_out;	/* messages put, buffers sent */
	uint64_t msgs_in, bufs_in;	/* messages handled, buffers received */
	uint64_t dropped;		/* messages dropped (no mbuf, or a receiver's ring full) */
	uint64_t lost_in;		/* WC_BUS_LOST received */
};
void wc_bus_get_stats(const struct wc_lcore *lc, struct wc_bus_stats *st);

#endif
