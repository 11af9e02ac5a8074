/*
 * pubsub.h - Redis Pub/Sub on the dataplane: channels, patterns and shard
 * channels, their subscribers, and delivery.
 *
 * Subscriptions live on the subscriber's lcore: a per-lcore table of the
 * channels (and shard channels) its connections listen to, a list of its
 * patterns (each pattern once, with its subscribers), and per session the
 * list of what it listens to. Their memory comes from a per-lcore slab
 * pool (pubsub_table.c); nothing is shared, nothing locks. What other lcores
 * read of an lcore is a few counters (atomics): whether it has any
 * subscription at all, and whether it may want keyspace channels.
 *
 * PUBLISH delivers to the local subscribers inline and to every other lcore
 * that has subscriptions through an owner call (rd_fanout_lcores), which
 * reads the publisher's arguments in place while it waits; the receivers of
 * every lcore add up to the reply. A publisher's next command starts only
 * after its PUBLISH completed everywhere, so its messages arrive in order.
 * An owner call first drains the bus of its lcore, so what the publisher's
 * writes told it earlier by bus (keyspace events) is delivered first.
 *
 * Inside a transaction (EXEC runs its commands on one lcore and cannot
 * wait for others) PUBLISH delivers inline on that lcore, and once the
 * transaction is over the connection's lcore delivers it on the others
 * (rd_pubsub_tx_owner, an owner call per lcore reading the queued
 * arguments, of any size) before EXEC replies; its count in EXEC's reply
 * is the sum (multi.h). SUBSCRIBE and its kin inside a transaction that
 * runs on another lcore run on the connection's lcore after it, their
 * replies in their places in EXEC's.
 *
 * In a cluster, PUBLISH (not SPUBLISH, not keyspace notifications) then
 * goes to the other nodes over the connection's lcore's node links, a
 * transaction's once it is over (cluster/link.h); they deliver it through
 * rd_pubsub_deliver_in. The reply counts this node's receivers.
 */
#ifndef WC_REDIS_PUBSUB_H
#define WC_REDIS_PUBSUB_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/resp.h"

struct rd_session;
struct rd_cmd;
struct rd_user;
struct wc_app;
struct wc_lcore;
struct ps_link;

#define RD_PS_NAME_MAX RESP_CONTIG_MAX	/* channels and patterns: always contiguous */

/* A session's subscriptions (in struct rd_session; zeroed with it). */
struct rd_pubsub_sess {
	struct ps_link *head, *tail;	/* in the order made */
	uint32_t nsub, npsub, nssub;	/* channels, patterns, shard channels */
};

/* ---- the interface for keyspace events (K) ---- */

/* Deliver on this lcore to its subscribers of ch and matching patterns; returns receivers. */
unsigned rd_pubsub_local(struct wc_lcore *lc, const uint8_t *ch, uint32_t chlen,
			 const uint8_t *msg, uint32_t mlen);

/*
 * The cluster's side (cluster/link.h): a message another node published,
 * delivered on lc as a local PUBLISH would, its channel (chlen bytes at
 * choff) and message (mlen bytes at moff) read from in. Returns receivers.
 */
struct mc_inq;
unsigned rd_pubsub_deliver_in(struct wc_lcore *lc, const struct mc_inq *in, uint64_t choff,
			      uint32_t chlen, uint64_t moff, uint32_t mlen);

/*
 * A writer's own pushes. Redis writes the messages a command sends its own
 * client into its output where the command makes them: a keyspace
 * notification before or after the command's reply as the command raises
 * it first or replies first, and inside EXEC's reply in a transaction.
 * While an owner call of a subscribing session s runs on lcore lc with a
 * reply sink (call.c: rd_pubsub_writer_enter .. _leave; nested calls
 * inside EXEC too), rd_pubsub_self delivers a message to s from its own
 * subscriptions straight into that sink (s is lent to lc: its list is
 * read there), and the deliveries of the same message on s's lcore skip
 * s (rd_pubsub_skip: the writer's id, around one delivery on an lcore;
 * keyspace events carry `self` for it, keyev.h).
 */
struct mc_out;
struct rd_pubsub_writer {
	struct rd_session *s;
	struct mc_out *out;
};
/* Does s take its own messages in its replies (subscribed; replies not silenced)? */
bool rd_pubsub_own_in_reply(const struct rd_session *s);

struct rd_pubsub_writer rd_pubsub_writer_enter(struct wc_lcore *lc, struct rd_session *s,
					       struct mc_out *out);
void rd_pubsub_writer_leave(struct wc_lcore *lc, struct rd_pubsub_writer prev);
uint64_t rd_pubsub_writer_id(const struct wc_lcore *lc);	/* 0: none */
unsigned rd_pubsub_self(struct wc_lcore *lc, const uint8_t *ch, uint32_t chlen,
			const uint8_t *msg, uint32_t mlen);
void rd_pubsub_skip(struct wc_lcore *lc, uint64_t client);

/*
 * May lcore i have a subscriber for a keyspace/keyevent channel (a channel
 * starting with "__keyspace@" or "__keyevent@", or any pattern)? Cheap,
 * read from any lcore.
 */
bool rd_pubsub_lcore_wants_keyspace(const struct wc_app *app, unsigned i);

/* ---- the rest of the engine ---- */

/*
 * After a transaction (multi.h): deliver its PUBLISHes on this lcore, unless
 * the transaction ran here; an owner function for rd_fanout_lcores.
 */
struct rd_owner;
void rd_pubsub_tx_owner(struct rd_owner *o);

/*
 * After a transaction whose PUBLISHes waited for it (multi.h): send them to
 * the other nodes (cluster/link.h), in order, from the connection's lcore.
 */
void rd_pubsub_tx_cluster(struct rd_session *s);

/* Has lcore i any subscription at all (channels, patterns, shard channels)? Any lcore. */
bool rd_pubsub_lcore_active(const struct wc_app *app, unsigned i);

/* Once, before the lcores run: the bus message kinds Pub/Sub uses. */
void rd_pubsub_init(void);

/* Per lcore: tables and pool (rd_lcore_init / fini). */
int rd_pubsub_lcore_init(struct wc_lcore *lc);
void rd_pubsub_lcore_fini(struct wc_lcore *lc);

/* The connection is going away: every subscription goes, silently (on lc, its lcore). */
void rd_pubsub_release(struct wc_lcore *lc, struct rd_session *s);

/*
 * Before a command runs (session.c's admit, after ACL and cluster): RESP2's
 * subscribed mode allows only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT
 * and RESET. false: the error is written.
 */
bool rd_pubsub_admit(struct rd_session *s, const struct rd_cmd *c);

/* RESET: every subscription goes, no replies. */
void rd_pubsub_reset(struct rd_session *s);

/* PING in RESP2 subscribed mode answers ["pong", arg]: is s in it? */
bool rd_pubsub_resp2_mode(const struct rd_session *s);

/*
 * The command's channel arguments the ACL checks (Redis's channel specs:
 * PUBLISH's, SUBSCRIBE's and PSUBSCRIBE's, not the unsubscribes): first
 * and last argument, whether they are patterns. false: none.
 */
bool rd_pubsub_acl_channels(const struct rd_cmd *c, const struct resp_cmd *cmd, uint32_t *first,
			    uint32_t *last, bool *pattern);

/*
 * ACL SETUSER changed user uid: close its connections on every lcore that
 * listen to something its rules no longer allow (Redis 7.0 does). An owner
 * function for rd_fanout_lcores; the uid is read from the job area's first
 * 8 bytes; uid 0 (after DELUSER, ACL LOAD): every subscriber whose user is
 * gone or no longer allows what it listens to.
 */
struct rd_owner;
void rd_pubsub_acl_kill_owner(struct rd_owner *o);

/*
 * The lcores' counts summed (a name listened to on several lcores counts
 * on each); the node's distinct counts: rd_pubsub_distinct (info.h).
 */
void rd_pubsub_totals(const struct wc_app *app, uint64_t *channels, uint64_t *patterns,
		      uint64_t *shard);

#endif
