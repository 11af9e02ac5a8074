/*
 * cmap.h - the cluster map as the control plane keeps it in etcd, and its
 * JSON (pure functions, no I/O):
 *
 *   /wirecache/<cluster>/nodes/<id>  a node record, on the node's lease:
 *       {"id","ip","port","cport","mcport","http","role":"master","master":null}
 *   /wirecache/<cluster>/map         the map:
 *       {"epoch":N,"nodes":{id:{...a node record, "config_epoch":E}},
 *        "slots":[[from,to,id],...],
 *        "migrating":[[from,to,src,dst],...],   src (the owner) sends from..to to dst
 *        "importing":[[from,to,dst,src],...]}   dst takes from..to from src
 *   ("migrating"/"importing" absent = empty: maps written before them parse;
 *   written coalesced, sorted by from, and only when not empty)
 *
 * Also: the even split of the 16384 slots over the map's nodes, the slots
 * folded into runs, one CLUSTER SETSLOT applied to a map (cm_setslot, with
 * Redis's error texts; the control plane and wirecachectl both use it), and
 * the map as the lines of the dataplane's
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
	/* slot moves, indexes into nodes, -1 none: a "migrating" entry
	 * (mig_src sends the slot to mig_dst) and an "importing" entry
	 * (imp_dst takes it from imp_src), at most one of each per slot */
	int16_t mig_src[CM_SLOTS], mig_dst[CM_SLOTS];
	int16_t imp_dst[CM_SLOTS], imp_src[CM_SLOTS];
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
/* Remove a node that has no slots and is in no migrating/importing entry:
 * 0, or -1 (unknown, it has slots, or a slot move names it). */
int cm_map_remove(struct cm_map *m, const char *id);
unsigned cm_map_slots_of(const struct cm_map *m, int idx);
unsigned cm_map_assigned(const struct cm_map *m);
/* Whether node idx is in a migrating or importing entry. */
bool cm_map_in_move(const struct cm_map *m, int idx);
/* Slots with a migrating or an importing entry ("open" slots). */
unsigned cm_map_open(const struct cm_map *m);

/*
 * Give the masters (in map order) equal shares of consecutive slots, the
 * first ones the larger; replicas get none.
 */
void cm_split_even(struct cm_map *m);

/*
 * Make the map's nodes masters and replicas as `redis-cli --cluster create
 * --cluster-replicas R` does: the first n/(R+1) nodes (map order) are the
 * masters, the others replicas of them in turn (node nm+k replicates master
 * k mod nm). 0, or -1 when the nodes do not divide into R+1 per master.
 */
int cm_assign_replicas(struct cm_map *m, unsigned replicas);

/*
 * A failover (DESIGN.md, Failover): replica id takes its master's place.
 * It becomes a master with the master's slots (and its slot moves), its
 * config epoch the map's new epoch; the master's other replicas replicate
 * it; the old master becomes its replica too (it rejoins as one when it
 * comes back, its data replaced by a full sync). The map's epoch goes up
 * by one. 0, or -1 with a reason in err (not in the map, not a replica).
 */
int cm_failover(struct cm_map *m, const char *id, char *err, size_t errlen);

/* Fold the slots into runs of one owner; writes at most max, returns how many. */
unsigned cm_map_runs(const struct cm_map *m, struct cm_run *out, unsigned max);

/*
 * Fold the slots' migrating (which = 'M': mig_src, mig_dst) or importing
 * ('I': imp_dst, imp_src) entries into runs of equal pairs, in slot order,
 * slots without an entry left out. Writes at most max, returns how many.
 */
struct cm_move_run {
	unsigned from, to;
	int a, b;			/* 'M': src, dst; 'I': dst, src */
};
unsigned cm_map_move_runs(const struct cm_map *m, char which, struct cm_move_run *out,
			  unsigned max);

/* ---- CLUSTER SETSLOT ---- */

enum cm_setslot_op { CM_SETSLOT_MIGRATING, CM_SETSLOT_IMPORTING, CM_SETSLOT_STABLE,
		     CM_SETSLOT_NODE };

/* "MIGRATING" etc. (any case) to the op: 0, or -1. */
int cm_setslot_op_parse(const char *word, enum cm_setslot_op *op);

/*
 * Apply `CLUSTER SETSLOT slot op [id]` asked by node myself to m, Redis's
 * rules and error texts (err gets "ERR ...", the line a client sees):
 *   MIGRATING dst  myself owns slot; dst is in the map and a master
 *   IMPORTING src  myself does not own slot; src is in the map and a master
 *   STABLE         myself's migrating and importing entries of slot go
 *   NODE id        id is in the map and a master: it owns slot, both
 *                  entries of the slot go, and its config_epoch becomes
 *                  the new epoch
 * 1 the map changed: m->epoch is now one more (the new epoch); 0 nothing to
 * change (m untouched: no transaction needed); -1 refused (m untouched).
 */
int cm_setslot(struct cm_map *m, const char *myself, unsigned slot, enum cm_setslot_op op,
	       const char *id, char *err, size_t errlen);

/*
 * The same for every slot whose bit is set in slots (CM_SLOTS bits, slot s
 * is bit s%8 of byte s/8), all or nothing: the first refusal leaves m
 * untouched. new_epoch is the config_epoch a NODE owner gets; m->epoch is
 * NOT changed (a caller combining several calls in one write sets it once).
 * How many slots changed, or -1 (err says which slot and why).
 */
int cm_setslot_many(struct cm_map *m, const char *myself, const uint8_t *slots,
		    enum cm_setslot_op op, const char *id, uint64_t new_epoch, char *err,
		    size_t errlen);

json_t *cm_map_to_json(const struct cm_map *m);
char *cm_map_dumps(const struct cm_map *m);
/*
 * The same, only if cm_map_parse takes the text back (what is written to
 * etcd is always a map every reader accepts); else NULL, the reason in err.
 */
char *cm_map_dumps_valid(const struct cm_map *m, char *err, size_t errlen);
/*
 * Parse and check a map: ids, addresses and ports valid, slot ranges inside
 * 0..16383, not overlapping, owned by nodes of the map; the same for the
 * migrating and importing ranges (absent: none). 0, or -1 with a reason.
 */
int cm_map_parse(const char *text, size_t len, struct cm_map *m, char *err, size_t errlen);

/*
 * The map as I1 lines, each passed to emit (without a newline):
 *   CMAP BEGIN <epoch>
 *   CMAP NODE <id> <ip> <port> <cport> <master|replica> <config_epoch> <master-id|-> [myself] mc=<mcport>
 *   CMAP SLOTS <from> <to> <id>
 *   CMAP MIGRATING <from> <to> <dst-id>   myself's migrating entries
 *   CMAP IMPORTING <from> <to> <src-id>   myself's importing entries
 *   CMAP COMMIT
 * Returns how many lines, or -1 when myself is not in the map.
 */
int cm_map_lines(const struct cm_map *m, const char *myself,
		 void (*emit)(void *arg, const char *line), void *arg);

#endif
