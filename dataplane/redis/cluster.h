/*
 * cluster.h - what the Redis Cluster side of the engine shares between its
 * files (cluster.c: the checks before a command runs; cluster_cmds.c: the
 * CLUSTER command) and with its tests: the slot of an argument, and the
 * folding of commands' keys into one slot query (cluster_map.h).
 */
#ifndef WC_REDIS_CLUSTER_H
#define WC_REDIS_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "redis/cluster_map.h"
#include "redis/rd.h"

#define RD_CLUSTER_DISABLED "ERR This instance has cluster support disabled"

/* CLUSTER's subcommands (cluster_cmds.c), under the "cluster" row of rd_cmds_cluster. */
extern struct rd_cmd rd_cluster_sub[];

/*
 * GETKEYSINSLOT's collection of one slot's key names: from the lcore's
 * listing (redis/slotkeys.h), or by a walk over the keys of the partition
 * holding the slot (cluster_cmds.c), in slices that let the lcore serve
 * others in between (the handler returns RD_BUSY). The walk keeps its place
 * in s->cursor.
 */
struct rd_slot_key;
struct rd_slot_walk {		/* in the job area */
	uint16_t slot;
	uint16_t part;
	uint8_t phase;		/* slotkeys.c: from the listing, or walking */
	bool relisted;		/* this call had the listing made again */
	uint64_t max;		/* keys wanted (collect) */
	uint64_t kept;
	struct rd_slot_key *head, *tail;
};

void rd_slot_walk_start(struct rd_session *s, struct rd_slot_walk *w, unsigned slot,
			uint64_t max);
/* One slice keeping up to max key names (rd_scratch). True when the walk is over. */
bool rd_slot_walk_slice(struct rd_session *s, struct rd_slot_walk *w);
/* Keep one name (copied into the command's scratch; when that is full, w->max = w->kept). */
void rd_slot_walk_keep(struct rd_session *s, struct rd_slot_walk *w, const uint8_t *key,
		       uint8_t klen);
/* Forget the names kept so far. */
void rd_slot_walk_forget(struct rd_slot_walk *w);
/* The partition holding slot now. */
unsigned rd_slot_partition(const struct rd_session *s, unsigned slot);

/* CLUSTER SETSLOT (cluster_setslot.c) */
enum rd_res rd_cluster_setslot(struct rd_session *s);
/* CLUSTER FAILOVER [FORCE|TAKEOVER] (cluster_setslot.c: the same wait for the map) */
enum rd_res rd_cluster_failover(struct rd_session *s);
/* The session goes away: a SETSLOT it waits in leaves its request (redis/creq.h). */
void rd_cluster_setslot_gone(struct rd_session *s);

/* The hash slot of an argument of any kind (a scattered one is read in pieces). */
uint16_t rd_cluster_arg_slot(const struct resp_arg *a, const struct mc_inq *in);

/* Keys seen so far, and the query they make. */
struct rd_keyfold {
	struct rd_slot_query q;
	struct resp_arg first;		/* the first key (a copy: commands come and go) */
	bool any;			/* first is set */
	const struct rd_cluster_map *m;	/* NULL: no key presence is counted */
	/* where keys are looked up when their slot is being moved (NULL: not counted) */
	bool (*exists)(void *arg, const struct resp_arg *key);
	void *exists_arg;
};

void rd_keyfold_init(struct rd_keyfold *f, const struct rd_cluster_map *m);

/*
 * Fold the keys of one command (def's key specs, or its getkeys for
 * movable keys) into f; pos has room for maxpos key positions (the
 * command's argc is always enough). False once its keys span slots.
 */
bool rd_keyfold_add(struct rd_keyfold *f, const struct rd_cmd *def, const struct resp_cmd *cmd,
		    const struct mc_inq *in, uint32_t *pos, unsigned maxpos);

#endif
