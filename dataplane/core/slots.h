/*
 * slots.h - a node's slot tables: slot -> partition, read by route() on
 * every request, and slot -> node, which the memcached path reads to answer
 * "SERVER_ERROR moved" for keys another cluster node serves.
 *
 * A table is immutable once published. A change builds a new table and
 * swaps app->slot_part to it with rcu_assign_pointer; readers take it with
 * rcu_dereference once per request; the old table is freed after
 * synchronize_rcu. Only the control thread (core/cpif.c, through
 * core/migrate.c) publishes.
 *
 * A partition entry may carry WC_SLOT_MOVING (wirecache/cpshm.h) while the
 * slot's items move: reads still go to the partition named, writes park on
 * the control endpoint until the move switches over (see migrate.c). Code
 * that reads app->slot_part must mask with WC_SLOT_PART_MASK.
 *
 * node[] (the cluster's slot -> node map, published by the control socket's
 * CMAP COMMIT, core/cpif_cmap.c): WC_SLOT_NODE_SELF (0) is this node, which
 * serves the slot from part[]; 1 + k is node k of the Redis cluster map
 * (rd_cluster_map.node[k], never this node's own index), whose memcached
 * reply is redirect[k]; WC_SLOT_NODE_NONE is a slot no node serves. A node
 * alone (or a cluster node before its first COMMIT) has 0 everywhere and
 * remote false, so the request path's only cost is one predictable branch
 * on remote (wc_slot_redirect).
 *
 * memcached has no ASK: while a slot migrates away (mig[]), a key of it
 * that is no longer here is routed to the target as if the target owned it,
 * and forwarded with the ASKING flag (cluster/link.h); the target serves a
 * key of a slot it imports (imp[]) to such requests only. Keys still here
 * are served here. So a memcached client of any node reads every key during
 * a move, and a write of a key not yet moved lands where Redis's would.
 */
#ifndef WC_CORE_SLOTS_H
#define WC_CORE_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/app.h"
#include "wirecache/cpshm.h"
#include "wirecache/slot.h"

#define WC_SLOT_NODE_SELF 0u
#define WC_SLOT_NODE_NONE 0xFFFFu
#define WC_SLOT_REDIRECT_MAX 80		/* "SERVER_ERROR moved <ipv6>:<port>\r\n" fits */

struct wc_slot_table {
	uint16_t part[WC_SLOTS];	/* first: app->slot_part points at it */
	uint16_t node[WC_SLOTS];	/* WC_SLOT_NODE_SELF, 1 + map index, or NONE */
	/*
	 * A slot moving between nodes (CLUSTER SETSLOT, cluster_map.h): mig[s]
	 * is 1 + the map index of the node a slot of ours is migrating to, imp[s]
	 * 1 + the node a slot is being imported from; 0 for none. Either sets remote
	 * and moving (so the request path reads mig[]/imp[] only during a move).
	 */
	uint16_t mig[WC_SLOTS];
	uint16_t imp[WC_SLOTS];
	uint64_t epoch;
	uint64_t cluster_epoch;		/* the cluster map's current epoch node[] came from */
	/*
	 * 1 + the map index of the master this node replicates (0: none): its
	 * slots' keys are here too (replication), for the replication stream,
	 * a snapshot load, and memcached reads with --mc-read-replicas
	 */
	uint16_t master;
	bool read_replica;		/* memcached reads of master's slots are served here */
	bool remote;			/* some slot is not served here: read node[] */
	bool moving;			/* some slot moves between nodes: read mig[], imp[] */
	/* the memcached reply for a key of node 1 + k: "SERVER_ERROR moved ip:port\r\n" */
	char redirect[WC_SLOT_PEERS_MAX][WC_SLOT_REDIRECT_MAX];
};

/* The memcached reply for a key of a slot no node serves. */
#define WC_SLOT_UNSERVED_REPLY "SERVER_ERROR slot not served\r\n"

/* Slots spread evenly over nparts partitions, in order; node 0 everywhere. */
struct wc_slot_table *wc_slot_table_default(unsigned nparts);
struct wc_slot_table *wc_slot_table_clone(const struct wc_slot_table *t);
void wc_slot_table_free(struct wc_slot_table *t);

/* The table a slot_part pointer made by this file belongs to. */
static inline struct wc_slot_table *wc_slot_table_of(const uint16_t *slot_part)
{
	return (struct wc_slot_table *)(uintptr_t)slot_part;
}

/* Make t the table route() uses (the caller frees the old one after a grace period). */
void wc_slot_table_publish(struct wc_app *app, struct wc_slot_table *t);

/* Copy the slot -> node side (node[], cluster_epoch, remote, redirect[]) of src into dst. */
void wc_slot_table_copy_nodes(struct wc_slot_table *dst, const struct wc_slot_table *src);

/* The endpoint writes to a moving slot park on: one past the workers. */
static inline unsigned wc_park_endpoint(const struct wc_app *app)
{
	return app->nworkers;
}

/*
 * Where the key hashed to slot lives, per the table in hand: reads go to
 * *part, writes to the endpoint *owner (the park endpoint while moving).
 */
static inline void wc_slot_route(const struct wc_app *app, const uint16_t *table, unsigned slot,
				 struct wc_part **part, unsigned *owner)
{
	uint16_t e = table[slot];
	unsigned idx = e & WC_SLOT_PART_MASK;

	*part = app->parts[idx];
	*owner = __builtin_expect((e & WC_SLOT_MOVING) != 0, 0) ? wc_park_endpoint(app)
								  : app->part_owner[idx];
}

/*
 * The partition every read goes to whatever its key, when there is one:
 * a node with one partition, serving every slot itself, none moving
 * between nodes. NULL otherwise (the key's slot decides).
 */
static inline struct wc_part *wc_slot_read_part(const struct wc_app *app, const uint16_t *table)
{
	const struct wc_slot_table *t = wc_slot_table_of(table);

	return app->nparts == 1 && !t->remote && !t->moving ? app->parts[0] : NULL;
}

/*
 * Where a key lives, as wc_slot_route says: the one partition
 * wc_slot_read_part gives (owned by the first endpoint) without the key's
 * slot (a CRC16), else its slot's.
 */
static inline void wc_slot_key_route(const struct wc_app *app, const uint16_t *table,
				     const uint8_t *key, uint32_t klen, struct wc_part **part,
				     unsigned *owner)
{
	if ((*part = wc_slot_read_part(app, table)) != NULL)
		*owner = app->part_owner[0];
	else
		wc_slot_route(app, table, wc_key_slot(key, klen), part, owner);
}

/*
 * The memcached reply for a key of slot when another node (or none) serves
 * it, per the table in hand; NULL when this node serves it.
 */
static inline const char *wc_slot_redirect(const uint16_t *table, unsigned slot)
{
	const struct wc_slot_table *t = wc_slot_table_of(table);
	uint16_t n;

	if (__builtin_expect(!t->remote, 1))
		return NULL;
	n = t->node[slot];
	if (n == WC_SLOT_NODE_SELF)
		return NULL;
	if (n == WC_SLOT_NODE_NONE || n > WC_SLOT_PEERS_MAX)
		return WC_SLOT_UNSERVED_REPLY;
	return t->redirect[n - 1];
}

#endif
