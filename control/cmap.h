/*
 * cmap.h - the cluster map as the control plane keeps it in etcd, and its
 * JSON (pure functions, no I/O):
 *
 *   /wirecache/<cluster>/nodes/<id>  a node record, on the node's lease:
 *       {"id","ip","port","cport","mcport","http","role":"master","master":null}
 *   /wirecache/<cluster>/map         the map:
 *       {"epoch":N,"nodes":{id:{...a node record, "config_epoch":E}},
 *        "slots":[[from,to,id],...]}
 *
 * Also: the even split of the 16384 slots over the map's nodes, the slots
 * folded into runs, and the map as the lines of the dataplane's
 * `CMAP BEGIN/NODE/SLOTS/COMMIT` commands (interface I1).
 */
#ifndef WC_CONTROL_CMAP_H
#define WC_CONTROL_CMAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CM_NODES_MAX 128		/* the dataplane's RD_CLUSTER_NODES_MAX */
#define CM_SLOTS 16384
#define CM_ID_LEN 40

struct cm_node {
	char id[CM_ID_LEN + 1];		/* 40 lowercase hex digits */
	char ip[16];			/* IPv4, as the node announces it */
	unsigned port, cport, mcport;	/* Redis, cluster bus, memcached */
	char http[64];			/* its control plane, "127.0.0.1:8180" ("" unknown) */
	bool replica;			/* false: a master */
	char master[CM_ID_LEN + 1];	/* a replica's master ("" for masters) */
	uint64_t config_epoch;		/* in a map: the epoch it joined at */
};

struct cm_map {
	uint64_t epoch;
	unsigned nnodes;
	struct cm_node nodes[CM_NODES_MAX];
	int16_t slot[CM_SLOTS];		/* index into nodes, -1 unassigned */
};

struct cm_run {
	unsigned from, to;
	int node;			/* index, -1 unassigned */
};

/* ---- node records ---- */

bool cm_valid_id(const char *id);
/* 0, or -1 with a reason in err. */
int cm_node_from_json(const json_t *o, struct cm_node *n, char *err, size_t errlen);
/* with_epoch: add "config_epoch" (the map's copy of a record). */
json_t *cm_node_to_json(const struct cm_node *n, bool with_epoch);
int cm_node_parse(const char *text, size_t len, struct cm_node *n, char *err, size_t errlen);
/* malloc'ed compact JSON, NULL when out of memory */
char *cm_node_dumps(const struct cm_node *n);

/* ---- the map ---- */

void cm_map_init(struct cm_map *m);
/* The index of the node with this id, or -1. */
int cm_map_find(const struct cm_map *m, const char *id);
/* Add a node without slots: its index, or -1 (the map is full or has that id). */
int cm_map_add(struct cm_map *m, const struct cm_node *n);
/* Remove a node that has no slots: 0, or -1 (unknown, or it has slots). */
int cm_map_remove(struct cm_map *m, const char *id);
unsigned cm_map_slots_of(const struct cm_map *m, int idx);
unsigned cm_map_assigned(const struct cm_map *m);

/* Give the nodes (in map order) equal shares of consecutive slots, the first ones the larger. */
void cm_split_even(struct cm_map *m);

/* Fold the slots into runs of one owner; writes at most max, returns how many. */
unsigned cm_map_runs(const struct cm_map *m, struct cm_run *out, unsigned max);

json_t *cm_map_to_json(const struct cm_map *m);
char *cm_map_dumps(const struct cm_map *m);
/*
 * Parse and check a map: ids, addresses and ports valid, slot ranges inside
 * 0..16383, not overlapping, owned by nodes of the map. 0, or -1 with a reason.
 */
int cm_map_parse(const char *text, size_t len, struct cm_map *m, char *err, size_t errlen);

/*
 * The map as I1 lines, each passed to emit (without a newline):
 *   CMAP BEGIN <epoch>
 *   CMAP NODE <id> <ip> <port> <cport> <master|replica> <config_epoch> <master-id|-> [myself] mc=<mcport>
 *   CMAP SLOTS <from> <to> <id>
 *   CMAP COMMIT
 * Returns how many lines, or -1 when myself is not in the map.
 */
int cm_map_lines(const struct cm_map *m, const char *myself,
		 void (*emit)(void *arg, const char *line), void *arg);

#endif
