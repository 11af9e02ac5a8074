/*
 * pubsub_impl.h - inside Pub/Sub (see pubsub.h): the per-lcore table of
 * names with subscribers, the links between sessions and names, the slab
 * pool they come from, and delivery of one message on one lcore
 * (pubsub_table.c); the commands are pubsub.c, PUBSUB's introspection
 * pubsub_intro.c.
 */
#ifndef WC_REDIS_PUBSUB_IMPL_H
#define WC_REDIS_PUBSUB_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/mc_out.h"
#include "proto/resp.h"
#include "redis/pubsub.h"

struct rte_mbuf;
struct mc_inq;

/* What a name is: a plain channel, a shard channel (SSUBSCRIBE), a pattern. */
enum ps_kind { PS_CHANNEL = 0, PS_SHARD = 1, PS_PATTERN = 2, PS_KINDS };

/* A name with subscribers on this lcore. */
struct ps_name {
	struct ps_name *hnext;		/* hash chain */
	struct ps_name *lnext, *lprev;	/* patterns: the lcore's list, in the order made */
	struct ps_link *first, *last;	/* subscribers, in the order they came */
	uint64_t hash;
	uint32_t nsubs;
	uint32_t len;
	uint8_t kind;			/* enum ps_kind */
	bool ks;			/* a keyspace/keyevent channel */
	uint8_t cls;			/* pool class */
	uint8_t name[];
};

/* One session listening to one name. */
struct ps_link {
	struct rd_session *s;
	struct ps_name *n;
	struct ps_link *cnext, *cprev;	/* the name's subscribers */
	struct ps_link *snext, *sprev;	/* the session's subscriptions */
};

#define PS_CLASSES 10			/* 64 bytes << 0..9: up to 32 KiB */
#define PS_SLAB (128u << 10)		/* slabs taken from the node's memory */
#define PS_FRAME_MAX 4096		/* a frame up to this is built once per delivery */

struct ps_slab;

/* One lcore's Pub/Sub (struct wc_lcore's pubsub). */
struct rd_pubsub_lc {
	struct wc_lcore *lc;
	/* the pool */
	void *free[PS_CLASSES];
	struct ps_slab *slabs;
	uint64_t slab_bytes;
	/* the table */
	struct ps_name **buckets;
	uint32_t nbuckets;		/* a power of two */
	uint32_t nnames;
	struct ps_name *pat_first, *pat_last;
	/* what other lcores read (atomics) */
	uint64_t nlinks;		/* subscriptions of every kind */
	uint64_t nks;			/* links to keyspace channels and to patterns */
	uint64_t count[PS_KINDS];	/* distinct names per kind */
	/*
	 * A writer's own pushes (pubsub.h): the subscribing session whose owner
	 * call runs on this lcore now and its reply sink; the client that
	 * deliveries skip (set around one delivery: it had the frames already).
	 */
	struct rd_pubsub_writer writer;
	uint64_t skip_id;
	/* a frame built once for every subscriber of a delivery */
	uint8_t frame[PS_FRAME_MAX];
	uint8_t chan[RD_PS_NAME_MAX];	/* a channel copied out of a node link (rd_pubsub_deliver_in) */
};

/* A message to deliver: contiguous bytes, an argument of a command, or a chain of mbufs. */
struct ps_msg {
	const uint8_t *p;
	const struct resp_arg *arg;	/* (with in) when p is NULL */
	const struct mc_inq *in;
	const struct rte_mbuf *chain;	/* when p and arg are NULL: bytes from off on */
	uint32_t off;
	uint32_t len;
};

struct rd_pubsub_lc *ps_of(struct wc_lcore *lc);

/* Find a name (NULL: nobody here listens to it). */
struct ps_name *ps_find(struct rd_pubsub_lc *ps, uint8_t kind, const uint8_t *p, uint32_t len);

/* s listens to the name from now on: 1 if new, 0 if it already did, -1 out of memory. */
int ps_subscribe(struct rd_pubsub_lc *ps, struct rd_session *s, uint8_t kind, const uint8_t *p,
		 uint32_t len);
/* s no longer listens: 1 if it did. */
int ps_unsubscribe(struct rd_pubsub_lc *ps, struct rd_session *s, uint8_t kind, const uint8_t *p,
		   uint32_t len);
/* Drop one link (the name goes with its last subscriber). */
void ps_unlink(struct rd_pubsub_lc *ps, struct ps_link *l);

/* Deliver a message to channel ch of kind PS_CHANNEL (and patterns) or PS_SHARD; receivers. */
unsigned ps_deliver(struct rd_pubsub_lc *ps, uint8_t kind, const uint8_t *ch, uint32_t chlen,
		    const struct ps_msg *m);

/*
 * Deliver to s alone, from its own subscriptions, into o (its transaction's
 * reply; on any lcore while s is lent to it); returns receivers (0 or 1 per
 * matching subscription, as ps_deliver counts).
 */
unsigned ps_deliver_self(struct rd_session *s, struct mc_out *o, uint8_t kind, const uint8_t *ch,
			 uint32_t chlen, const struct ps_msg *m);

/* Every name of a kind on this lcore, until fn returns false. */
void ps_each_name(struct rd_pubsub_lc *ps, uint8_t kind,
		  bool (*fn)(void *arg, const struct ps_name *n), void *arg);

/* Does ch start with __keyspace@ or __keyevent@? */
bool ps_is_keyspace(const uint8_t *ch, uint32_t len);

#endif
