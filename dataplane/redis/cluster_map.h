/*
 * cluster_map.h - the Redis Cluster slot map: the nodes (id, announced
 * address, role, epochs), which node serves each of the 16384 slots, the
 * slots this node is migrating or importing, and the decision every keyed
 * command passes: served here, MOVED, ASK, TRYAGAIN or CLUSTERDOWN.
 *
 * A map is immutable once published. rd_server.cmap points at the current
 * one; the request path takes it with rcu_dereference once per command. A
 * change builds a whole new map and swaps the pointer
 * (rd_cluster_map_publish), and the old one is freed after a grace period.
 * Today a node builds a one-node map at start (it serves every slot); the
 * multi-node cluster has the control plane build maps from etcd's slot map
 * and publish them the same way.
 *
 * Nothing here touches the network or a session, so the encoders
 * (cluster_out.c) and the decision are unit-tested with made-up maps.
 */
#ifndef WC_REDIS_CLUSTER_MAP_H
#define WC_REDIS_CLUSTER_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "wirecache/slot.h"

#define RD_CLUSTER_NODES_MAX WC_SLOT_PEERS_MAX	/* (wirecache/slot.h: slot routes name them) */
#define RD_NODE_NONE 0xFFFFu
#define RD_CLUSTER_PORT_INCR 10000	/* the bus port is the client port + this (Redis) */

/* A node's flags, in the order CLUSTER NODES writes them. */
enum rd_node_flags {
	RD_NODE_MASTER = 1u << 0,
	RD_NODE_REPLICA = 1u << 1,
	RD_NODE_PFAIL = 1u << 2,	/* "fail?" */
	RD_NODE_FAIL = 1u << 3,
	RD_NODE_HANDSHAKE = 1u << 4,
	RD_NODE_NOADDR = 1u << 5,
	RD_NODE_NOFAILOVER = 1u << 6,
};

struct rd_cluster_node {
	char id[41];			/* 40 hex characters */
	char ip[46];			/* the announced address clients connect to */
	char hostname[64];		/* optional ("" for none) */
	uint16_t port;			/* the client port */
	uint16_t cport;			/* the cluster bus port */
	uint16_t flags;			/* enum rd_node_flags */
	uint16_t master;		/* a replica's master (index), else RD_NODE_NONE */
	bool connected;			/* the link to it is up (always, for myself) */
	uint64_t config_epoch;
	uint64_t repl_offset;
	uint64_t ping_sent_ms, pong_recv_ms;	/* 0 for myself */
};

struct rd_cluster_map {
	uint64_t current_epoch;
	uint16_t nnodes;
	uint16_t myself;		/* this node's index */
	bool state_ok;			/* set by rd_cluster_map_finish */
	struct rd_cluster_node node[RD_CLUSTER_NODES_MAX];
	uint16_t owner[WC_SLOTS];	/* the master serving the slot, or RD_NODE_NONE */
	uint16_t migrating[WC_SLOTS];	/* a slot of mine moving to this node, or NONE */
	uint16_t importing[WC_SLOTS];	/* a slot moving here from this node, or NONE */
};

/* A map with no nodes and no slot assigned (calloc'd; free with rd_cluster_map_free). */
struct rd_cluster_map *rd_cluster_map_new(void);
void rd_cluster_map_free(struct rd_cluster_map *m);

/* Is s a node id: 40 lowercase hex characters and nothing more? */
bool rd_cluster_is_node_id(const char *s);

/* Add a node; returns its index, or RD_NODE_NONE when full or the id is not 40 hex. */
uint16_t rd_cluster_map_add_node(struct rd_cluster_map *m, const char *id, const char *ip,
				 uint16_t port, uint16_t cport, uint16_t flags);

/* Slots from..to (inclusive) are served by node n (RD_NODE_NONE: unassigned). */
void rd_cluster_map_assign(struct rd_cluster_map *m, unsigned from, unsigned to, uint16_t n);

/* After building: work out cluster_state (every slot served by a node not failing). */
void rd_cluster_map_finish(struct rd_cluster_map *m);

/*
 * The map of a node alone: myself (id, announced ip and port, bus port) a
 * master serving every slot, config epoch and current epoch epoch.
 * NULL when out of memory.
 */
struct rd_cluster_map *rd_cluster_map_single(const char *id, const char *ip, uint16_t port,
					     uint16_t cport, uint64_t epoch);

/* CLUSTER INFO's counts. */
struct rd_cluster_counts {
	unsigned assigned, ok, pfail, fail;	/* slots */
	unsigned size;				/* masters serving at least one slot */
};

void rd_cluster_map_counts(const struct rd_cluster_map *m, struct rd_cluster_counts *c);

/* The epoch a node shows: a replica its master's. */
uint64_t rd_cluster_node_epoch(const struct rd_cluster_map *m, uint16_t n);

/* ---- where a command goes ---- */

enum rd_redirect {
	RD_REDIR_NONE = 0,		/* served here */
	RD_REDIR_MOVED,			/* -MOVED slot ip:port */
	RD_REDIR_ASK,			/* -ASK slot ip:port */
	RD_REDIR_CROSS_SLOT,		/* -CROSSSLOT ... */
	RD_REDIR_TRYAGAIN,		/* -TRYAGAIN ... (keys split by a slot move) */
	RD_REDIR_DOWN_STATE,		/* -CLUSTERDOWN The cluster is down */
	RD_REDIR_DOWN_UNBOUND,		/* -CLUSTERDOWN Hash slot not served */
};

/* What the decision needs to know about a command (or a whole transaction at EXEC). */
struct rd_slot_query {
	int32_t slot;			/* of its keys; -1: no keys */
	bool cross_slot;		/* its keys hash to more than one slot */
	bool multiple_keys;		/* more than one distinct key (in that slot) */
	unsigned missing, existing;	/* keys absent / present here, counted when the slot is open */
	bool asking;			/* ASKING came first (or the command implies it) */
	bool readonly;			/* the connection sent READONLY */
	bool write;			/* the command (or a command of the transaction) writes */
	/*
	 * SSUBSCRIBE, SUNSUBSCRIBE or SPUBLISH itself (not inside EXEC): its
	 * shard channels are not looked up while their slot moves, it is served
	 * while the cluster is down (Redis's cluster-allow-pubsubshard-when-down
	 * default) and, as with READONLY, by a replica of the slot's master
	 */
	bool shard_pubsub;
};

/* Whether the slot is being migrated from or imported into this node (count keys then). */
bool rd_cluster_slot_open(const struct rd_cluster_map *m, unsigned slot);

/* Redis Cluster's routing rules; *node is the MOVED/ASK target. */
enum rd_redirect rd_cluster_decide(const struct rd_cluster_map *m, const struct rd_slot_query *q,
				   uint16_t *node);

/* The error text of a redirect (without the leading '-'), into buf. */
void rd_cluster_redirect_text(const struct rd_cluster_map *m, enum rd_redirect r, int32_t slot,
			      uint16_t node, char *buf, unsigned cap);

#endif
