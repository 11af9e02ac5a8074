/*
 * cluster_cmds.c - the CLUSTER command: INFO, MYID, NODES, SLOTS, SHARDS
 * (replies from the slot map, cluster_out.c), KEYSLOT, COUNTKEYSINSLOT,
 * GETKEYSINSLOT and HELP. Without --cluster every one of them answers
 * "ERR This instance has cluster support disabled", as Redis does.
 *
 * The slot map comes from the control plane (a node alone serves all
 * slots); membership changes (MEET, ADDSLOTS, FAILOVER ...) are the control
 * plane's, not commands. SETSLOT (cluster_setslot.c) is a command that the
 * control plane carries out: slots move the way redis-cli moves them.
 *
 * COUNTKEYSINSLOT answers from the partitions' per-slot key counts, O(1)
 * (redis/slotkeys.h). GETKEYSINSLOT takes the names from the lcore's
 * listing of the slots being moved (slotkeys.h), or walks the index of the
 * partition holding the slot (store/scan.h) for the keys of that slot:
 * O(keys of the partition). The walk goes in slices of WALK_CALLS_PER_RUN
 * scan calls; between slices the handler yields (RD_BUSY), so the lcore
 * serves its other connections meanwhile. Writes going on at the same time
 * may make a key be seen twice or not at all (scan.h). GETKEYSINSLOT holds
 * the names in the command's arena (16 MiB): when that runs out it answers
 * with the names it holds.
 */
#include <string.h>

#include <urcu-qsbr.h>

#include "core/app.h"
#include "redis/cluster.h"
#include "redis/cluster_out.h"
#include "redis/cmds.h"
#include "redis/rdutil.h"
#include "redis/server.h"
#include "redis/slotkeys.h"
#include "store/item.h"
#include "store/scan.h"
#include "wirecache/cpshm.h"

/* The map, or an error when not in cluster mode. */
static const struct rd_cluster_map *cluster_map(struct rd_session *s)
{
	const struct rd_server *srv = rd_server(s);
	const struct rd_cluster_map *m = srv->cluster ? rd_cluster_map_get(srv) : NULL;

	if (!m)
		rd_err(s, RD_CLUSTER_DISABLED);
	return m;
}

static enum rd_res cluster_info(struct rd_session *s)
{
	const struct rd_cluster_map *m = cluster_map(s);
	/* no cluster bus: the control planes agree through etcd, nodes exchange no messages */
	const struct rd_cluster_msgs msgs = { 0, 0 };

	if (m)
		rd_cluster_reply_info(rd_out(s), s->proto, m, &msgs);
	return RD_DONE;
}

static enum rd_res cluster_myid(struct rd_session *s)
{
	if (cluster_map(s))
		resp_bulk(rd_out(s), rd_server(s)->node_id, 40);
	return RD_DONE;
}

static enum rd_res cluster_nodes(struct rd_session *s)
{
	const struct rd_cluster_map *m = cluster_map(s);

	if (m)
		rd_cluster_reply_nodes(rd_out(s), s->proto, m);
	return RD_DONE;
}

static enum rd_res cluster_slots(struct rd_session *s)
{
	const struct rd_cluster_map *m = cluster_map(s);

	if (m)
		rd_cluster_reply_slots(rd_out(s), s->proto, m);
	return RD_DONE;
}

static enum rd_res cluster_shards(struct rd_session *s)
{
	const struct rd_cluster_map *m = cluster_map(s);

	if (m)
		rd_cluster_reply_shards(rd_out(s), s->proto, m);
	return RD_DONE;
}

static enum rd_res cluster_keyslot(struct rd_session *s)
{
	if (cluster_map(s))
		resp_int(rd_out(s), rd_cluster_arg_slot(rd_arg(s, 2), s->in));
	return RD_DONE;
}

/* ---- COUNTKEYSINSLOT / GETKEYSINSLOT: a walk of the slot's partition ---- */

#define WALK_CALLS_PER_RUN 256	/* scan calls of 64 buckets each, then yield */

struct rd_slot_key {
	struct rd_slot_key *next;
	uint8_t klen;
	uint8_t key[];
};

_Static_assert(sizeof(struct rd_slot_walk) <= RD_JOB_BYTES, "a slot walk fits the job area");

static bool want_slot(const uint8_t *key, uint32_t klen, void *arg)
{
	return wc_key_slot(key, klen) == *(const uint16_t *)arg;
}

unsigned rd_slot_partition(const struct rd_session *s, unsigned slot)
{
	const struct wc_app *app = rd_lcore(s)->app;
	const uint16_t *table = rcu_dereference(app->slot_part);

	return table[slot] & WC_SLOT_PART_MASK;
}

/* A key the walk found: still there, and a key (not a part of a container). */
static bool live(struct rd_session *s, const struct wc_part *p, const struct wc_scan_key *k)
{
	struct wc_view v;

	return wc_get(p, rd_env(s)->ctx, k->key, k->klen, wc_hash(k->key, k->klen),
		      WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v) &&
	       v.type < WC_TYPE_INTERNAL;
}

void rd_slot_walk_keep(struct rd_session *s, struct rd_slot_walk *w, const uint8_t *key,
		       uint8_t klen)
{
	struct rd_slot_key *r = rd_scratch(s, sizeof(*r) + klen);

	if (!r) {
		w->max = w->kept;	/* the arena is full: answer with what is held */
		return;
	}
	r->next = NULL;
	r->klen = klen;
	memcpy(r->key, key, klen);
	if (w->tail)
		w->tail->next = r;
	else
		w->head = r;
	w->tail = r;
	w->kept++;
}

void rd_slot_walk_forget(struct rd_slot_walk *w)
{
	w->kept = 0;
	w->head = w->tail = NULL;
}

/*
 * One slice of the walk: s->cursor is the bucket to go on from. Returns
 * true when the walk is over.
 */
bool rd_slot_walk_slice(struct rd_session *s, struct rd_slot_walk *w)
{
	const struct wc_app *app = rd_lcore(s)->app;
	unsigned part = rd_slot_partition(s, w->slot);
	struct wc_scan_key batch[64];
	uint32_t cursor = s->cursor;
	bool done = false;

	if (part != w->part) {
		/* the slot moved to another partition since the last slice: start over there */
		w->part = (uint16_t)part;
		rd_slot_walk_forget(w);
		cursor = 0;
	}
	for (unsigned calls = 0; calls < WALK_CALLS_PER_RUN && !done; calls++) {
		const struct wc_part *p = app->parts[part];
		unsigned n = wc_part_scan_keys(p, &cursor, 64, want_slot, &w->slot, batch, 64, &done);

		for (unsigned i = 0; i < n && w->kept < w->max; i++)
			if (live(s, p, &batch[i]))
				rd_slot_walk_keep(s, w, batch[i].key, batch[i].klen);
		if (w->kept >= w->max)
			done = true;
	}
	s->cursor = cursor;
	return done;
}

void rd_slot_walk_start(struct rd_session *s, struct rd_slot_walk *w, unsigned slot,
			uint64_t max)
{
	memset(w, 0, sizeof(*w));
	w->slot = (uint16_t)slot;
	w->part = (uint16_t)rd_slot_partition(s, slot);
	w->max = max;
	s->cursor = 0;
}

static enum rd_res cluster_countkeysinslot(struct rd_session *s)
{
	int64_t slot;

	if (!cluster_map(s))
		return RD_DONE;
	if (!rd_arg_ll(s, 2, &slot)) {
		rd_err_int(s);
		return RD_DONE;
	}
	if (slot < 0 || slot >= (int64_t)WC_SLOTS) {
		rd_err(s, "ERR Invalid slot");
		return RD_DONE;
	}
	resp_int(rd_out(s), (int64_t)rd_slot_key_count(rd_lcore(s)->app, (unsigned)slot));
	return RD_DONE;
}

static enum rd_res cluster_getkeysinslot(struct rd_session *s)
{
	struct rd_slot_walk *w = (struct rd_slot_walk *)(void *)rd_job(s);
	int64_t slot, max;

	if (s->step == 0) {
		if (!cluster_map(s))
			return RD_DONE;
		if (!rd_arg_ll(s, 2, &slot) || !rd_arg_ll(s, 3, &max)) {
			rd_err_int(s);
			return RD_DONE;
		}
		if (slot < 0 || slot >= (int64_t)WC_SLOTS || max < 0) {
			rd_err(s, "ERR Invalid slot or number of keys");
			return RD_DONE;
		}
		rd_slot_walk_start(s, w, (unsigned)slot, (uint64_t)max);
		s->step = 1;
		if (max == 0 || rd_slot_key_count(rd_lcore(s)->app, (unsigned)slot) == 0)
			w->max = 0;	/* nothing to look for */
	}
	if (w->max > 0 && !rd_slotkeys_collect(s, w))
		return RD_BUSY;		/* (yield: go on when run again) */
	resp_array(rd_out(s), (int64_t)w->kept);
	for (const struct rd_slot_key *r = w->head; r; r = r->next)
		resp_bulk(rd_out(s), r->key, r->klen);
	return RD_DONE;
}

/* ---- HELP ---- */

static enum rd_res cluster_help(struct rd_session *s)
{
	static const char *const lines[] = {
		"CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"COUNTKEYSINSLOT <slot>",
		"    How many keys of <slot> this node holds.",
		"FAILOVER [FORCE|TAKEOVER]",
		"    On a replica: take the master's place (plain: the master hands over, "
		"nothing lost).",
		"GETKEYSINSLOT <slot> <count>",
		"    Up to <count> names of keys of <slot> this node holds.",
		"INFO",
		"    The cluster's state, slot counts and epochs.",
		"KEYSLOT <key>",
		"    The hash slot <key> belongs to.",
		"MYID",
		"    This node's id.",
		"NODES",
		"    The nodes this node knows, one per line:",
		"    <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> "
		"<config-epoch> <link-state> <slot> ...",
		"SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
		"    Move <slot>: start importing or migrating it, end that, or hand it to a node.",
		"SHARDS",
		"    Each shard's slot ranges and the nodes that serve them.",
		"SLOTS",
		"    Each range of slots with the address, port and id of its master, then of "
		"its replicas.",
		"HELP",
		"    Print this help.",
	};

	if (!cluster_map(s))
		return RD_DONE;
	resp_array(rd_out(s), sizeof(lines) / sizeof(lines[0]));
	for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		resp_simple(rd_out(s), lines[i]);
	return RD_DONE;
}

#define CS (RD_F_STALE)
#define CLS (RD_F_LOADING | RD_F_STALE)
#define SLOW (RD_ACL_SLOW)

struct rd_cmd rd_cluster_sub[] = {
	RD_CMD("info", cluster_info, 2, CS, SLOW, 0, 0, 0, "cluster",
	       "The cluster's state, slot counts and epochs", "3.0.0", "O(1)"),
	RD_CMD("myid", cluster_myid, 2, CS, SLOW, 0, 0, 0, "cluster", "This node's id", "3.0.0",
	       "O(1)"),
	RD_CMD("nodes", cluster_nodes, 2, CS, SLOW, 0, 0, 0, "cluster",
	       "The nodes this node knows, one line each", "3.0.0",
	       "O(N) where N is the total number of Cluster nodes"),
	RD_CMD("slots", cluster_slots, 2, CLS, SLOW, 0, 0, 0, "cluster",
	       "Slot ranges with their master's and replicas' addresses", "3.0.0",
	       "O(N) where N is the total number of Cluster nodes"),
	RD_CMD("shards", cluster_shards, 2, CLS, SLOW, 0, 0, 0, "cluster",
	       "Each shard's slot ranges and nodes", "7.0.0",
	       "O(N) where N is the total number of cluster nodes"),
	RD_CMD("keyslot", cluster_keyslot, 3, CS, SLOW, 0, 0, 0, "cluster",
	       "The hash slot of a key", "3.0.0", "O(N) where N is the number of bytes in the key"),
	RD_CMD("countkeysinslot", cluster_countkeysinslot, 3, CS, SLOW, 0, 0, 0, "cluster",
	       "How many keys of a slot this node holds", "3.0.0",
	       "O(N) where N is the number of keys in the partition holding the slot"),
	RD_CMD("getkeysinslot", cluster_getkeysinslot, 4, CS, SLOW, 0, 0, 0, "cluster",
	       "Names of keys of a slot this node holds", "3.0.0",
	       "O(N) where N is the number of keys in the partition holding the slot"),
	RD_CMD("setslot", rd_cluster_setslot, -4, RD_F_NO_ASYNC_LOADING | RD_F_ADMIN | RD_F_STALE,
	       0, 0, 0, 0, "cluster", "Moves a hash slot between nodes: through the cluster "
	       "configuration the control plane keeps", "3.0.0", "O(1)"),
	RD_CMD("failover", rd_cluster_failover, -2, RD_F_NO_ASYNC_LOADING | RD_F_ADMIN |
	       RD_F_STALE, 0, 0, 0, 0, "cluster", "A replica takes its master's place: through "
	       "the cluster configuration the control plane keeps", "3.0.0", "O(1)"),
	RD_CMD("help", cluster_help, 2, CLS, SLOW, 0, 0, 0, "cluster",
	       "What CLUSTER's subcommands do", "5.0.0", "O(1)"),
	RD_CMD_END
};
