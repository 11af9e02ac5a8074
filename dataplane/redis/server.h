/*
 * server.h - what every Redis session of a node shares: settings (CONFIG
 * GET/SET), the node's identity and cluster mode, client ids, the slow log,
 * and the per-lcore Redis counters that INFO and /metrics sum.
 *
 * Settings are read lock-free by every lcore; CONFIG SET and ACL changes are
 * rare and serialise on admin_lock (taken on the request path only by a
 * command slow enough for the slow log).
 */
#ifndef WC_REDIS_SERVER_H
#define WC_REDIS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_spinlock.h>

#include "redis/cluster_map.h"
#include "redis/creq.h"
#include "redis/keyev.h"
#include "redis/rd.h"
#include "redis/tracking_state.h"

struct wc_app;
struct wc_lcore;

#define RD_SLOWLOG_MAX 1024		/* entries kept at most (slowlog-max-len's bound) */
#define RD_SLOWLOG_ARGS 32		/* Redis: 32 arguments, the last says how many more */
#define RD_SLOWLOG_ARG_BYTES 128	/* Redis: 128 bytes, then "... (N more bytes)" */
#define RD_SLOWLOG_ARG_MAX (RD_SLOWLOG_ARG_BYTES + 32)
#define RD_PASS_MAX 512			/* requirepass as CONFIG GET returns it */

/* notify-keyspace-events classes (Redis's letters; the events: redis/keyev.h) */
enum rd_notify {
	RD_NOTIFY_KEYSPACE = 1u << 0,	/* K */
	RD_NOTIFY_KEYEVENT = 1u << 1,	/* E */
	RD_NOTIFY_GENERIC = 1u << 2,	/* g */
	RD_NOTIFY_STRING = 1u << 3,	/* $ */
	RD_NOTIFY_LIST = 1u << 4,	/* l */
	RD_NOTIFY_SET = 1u << 5,	/* s */
	RD_NOTIFY_HASH = 1u << 6,	/* h */
	RD_NOTIFY_ZSET = 1u << 7,	/* z */
	RD_NOTIFY_EXPIRED = 1u << 8,	/* x */
	RD_NOTIFY_EVICTED = 1u << 9,	/* e */
	RD_NOTIFY_STREAM = 1u << 10,	/* t */
	RD_NOTIFY_KEY_MISS = 1u << 11,	/* m (not part of A) */
	RD_NOTIFY_MODULE = 1u << 13,	/* d */
	RD_NOTIFY_NEW = 1u << 14,	/* n */
};
/* notify-keyspace-events' letters to flags (config_cmd.c); false: a letter Redis lacks. */
bool rd_notify_parse(const uint8_t *p, uint32_t n, uint32_t *flags);
#define RD_NOTIFY_ALL (RD_NOTIFY_GENERIC | RD_NOTIFY_STRING | RD_NOTIFY_LIST | RD_NOTIFY_SET | \
		       RD_NOTIFY_HASH | RD_NOTIFY_ZSET | RD_NOTIFY_EXPIRED | RD_NOTIFY_EVICTED | \
		       RD_NOTIFY_STREAM | RD_NOTIFY_MODULE)

struct rd_slowlog_entry {
	uint64_t id;
	int64_t time;			/* Unix seconds */
	uint64_t usec;
	uint8_t nargs;			/* at most RD_SLOWLOG_ARGS */
	uint8_t arglen[RD_SLOWLOG_ARGS];
	char args[RD_SLOWLOG_ARGS][RD_SLOWLOG_ARG_MAX];	/* bytes, not NUL-ended */
	char peer[32];			/* ip:port */
	char name[RD_NAME_MAX];
};

/* The node's Redis counters summed over lcores (INFO, CONFIG RESETSTAT's baseline). */
struct rd_totals {
	uint64_t commands, rejected, failed, net_in, net_out, connections, unknown, open;
	uint64_t obuf_disconnections;	/* cut past client-output-buffer-limit (push.h) */
	uint64_t errstat[RD_ERRSTAT_N];	/* error replies by their first word (errstat.h) */
};

struct rd_server {
	/* identity */
	char version[32];		/* redis_version (7.0-compatible) */
	char wc_version[48];		/* wirecache_version */
	char node_id[41];		/* 40 hex characters, kept in the state directory */
	char run_id[41];
	char replid[41];		/* master_replid */
	int64_t started;		/* Unix seconds */
	uint16_t port;			/* the RESP port */
	/* cluster: the slot map (a node alone serves every slot) */
	bool cluster;
	char announce_ip[64];		/* what CLUSTER SLOTS/NODES/SHARDS give clients */
	uint16_t announce_port;
	uint16_t cport;			/* the cluster bus port: port + 10000 */
	uint64_t config_epoch;
	struct rd_cluster_map *cmap;	/* RCU: rd_cluster_map_get() on the request path */
	struct rd_creq_table creq;	/* SETSLOTs for the control plane (redis/creq.h) */
	/*
	 * settings (CONFIG); timeout and maxclients are the TCP stack's
	 * (wc_config's tcp_idle_ms and max_conns, shared with memcached)
	 */
	uint64_t maxmemory;		/* the partitions' memory (--memory less the upload buffer) */
	char policy[24];		/* maxmemory-policy: the store's eviction, by its own name */
	uint64_t proto_max_bulk_len;
	uint64_t max_bulk_cap;		/* proto-max-bulk-len's bound: --max-value */
	uint32_t maxclients_cap;	/* maxclients' bound: the connection tables' size */
	int64_t slowlog_slower_than;	/* microseconds, -1 = off (rd_slowlog_threshold_set) */
	uint32_t slowlog_max_len;
	uint32_t notify_flags;		/* enum rd_notify (then rd_keyev_settings_changed) */
	struct rd_keyev_srv keyev;	/* keyspace events (redis/keyev.h) */
	char requirepass[RD_PASS_MAX];	/* (admin_lock) */
	/*
	 * encoding parameters kept for CONFIG GET only (no lists or sorted sets
	 * here); the hash and set thresholds are the store's (wc_c_set_limits)
	 */
	uint64_t zset_lp_entries, zset_lp_value;
	int64_t list_lp_size;
	int64_t list_compress_depth;
	/* clients */
	uint64_t next_client_id;
	/* the slow log (admin_lock) */
	rte_spinlock_t admin_lock;
	uint64_t slowlog_next_id;
	uint32_t slowlog_len, slowlog_head;
	struct rd_slowlog_entry *slowlog;
	/* ACL (acl.c): the user table, swapped under RCU, and what acl.c keeps beside it */
	struct rd_acl *acl;
	uint64_t acl_gen;		/* the published table's generation (the fast path compares) */
	struct rd_acl_priv *acl_priv;
	uint32_t acllog_max_len;	/* acllog-max-len */
	/* statistics: CONFIG RESETSTAT's baselines (admin_lock), the memory peak */
	struct rd_totals base;
	uint64_t *cmd_base;		/* 4 per command id: calls, cycles, rejected, failed */
	uint64_t peak_memory;
	int64_t lastsave;		/* LASTSAVE: the last good RDB save (the start before) */
	struct rd_push_srv push;	/* client-output-buffer-limit (push.h) */
	struct rd_trk_server trk;	/* client tracking (redis/tracking.h) */
	/* min-replicas-to-write / min-replicas-max-lag (redis/repl_master.h; relaxed) */
	uint32_t min_replicas_to_write;
	int64_t min_replicas_max_lag;	/* seconds */
};

/* The node's Redis side, set up before the lcores (main.c). */
int rd_server_init(struct rd_server *srv, const char *state_dir, uint16_t port, bool cluster,
		   const char *announce_ip, uint16_t announce_port, uint64_t maxmemory,
		   uint64_t max_bulk, const char *requirepass, const char *aclfile,
		   const char *wc_version);
void rd_server_fini(struct rd_server *srv);

/* What main.c knows once the store and the TCP tables are sized. */
void rd_server_set_limits(struct rd_server *srv, unsigned max_conns, uint8_t small_pct);

uint64_t rd_server_next_client_id(struct rd_server *srv);

/*
 * The node id kept in state_dir/node-id (made and written there, atomically,
 * the first time). Returns 0 when read, 1 when made and kept, -1 (err says
 * why) when it could not be kept: id is then a fresh random one.
 */
int rd_node_id_load(const char *state_dir, char id[41], char *err, size_t errcap);

/* The current slot map (inside an RCU read-side section: any lcore between polls). */
static inline const struct rd_cluster_map *rd_cluster_map_get(const struct rd_server *srv)
{
	return __atomic_load_n(&srv->cmap, __ATOMIC_CONSUME);
}

/* Make m the map (NULL: none); returns the old one, to free after a grace period. */
struct rd_cluster_map *rd_cluster_map_publish(struct rd_server *srv, struct rd_cluster_map *m);

/* The Redis counters of every lcore, summed (raw: no RESETSTAT baseline). */
void rd_server_totals(const struct wc_app *app, struct rd_totals *t);
/* One command's counters over lcores less RESETSTAT's: calls, microseconds, rejected, failed. */
void rd_server_cmd_stats(const struct wc_app *app, const struct rd_server *srv, unsigned id,
			 uint64_t out[4]);
/* CONFIG RESETSTAT (under admin_lock): every command's counters start again from 0. */
void rd_server_cmd_stats_reset(const struct wc_app *app, struct rd_server *srv);

/* Memory in use, as INFO's used_memory: the items and the hash indexes that hold them. */
uint64_t rd_used_memory(const struct wc_app *app, uint64_t *index, uint64_t *items);
/* used_memory_peak: raised to used if higher; returns the peak. */
uint64_t rd_note_peak(struct rd_server *srv, uint64_t used);

/* The lcore's instantaneous-rate sampler (lcore.c, every pass of the loop; cheap). */
void rd_lcore_sample(struct wc_lcore *lc, int64_t now_ms);
/* A rate summed over the lcores (per second). */
uint64_t rd_inst_rate(const struct wc_app *app, unsigned which);

/* A session's peer as Redis writes it ("198.18.0.1:40000"). */
void rd_peer_str(char *buf, size_t cap, uint32_t ip, uint16_t port);

/*
 * slowlog-log-slower-than in TSC cycles, UINT64_MAX when off: the test
 * every command makes, one load (a node runs one Redis server, as the
 * command ids of rd.h are the process's).
 */
extern uint64_t rd_slowlog_cycles;

/* slowlog-log-slower-than (microseconds, -1 = off), and rd_slowlog_cycles. */
void rd_slowlog_threshold_set(struct rd_server *srv, int64_t usec);

/*
 * A command of the session took cycles, at least slowlog_cycles: into the
 * slow log with its arguments (the session's parsed ones).
 */
void rd_slowlog_note(struct rd_server *srv, const struct rd_session *s, uint64_t cycles);

/*
 * The same for a command a transport's fast path answered, its argc
 * arguments given flat (argv[i], lens[i]: argc may exceed what is given,
 * RD_SLOWLOG_ARGS at most are read).
 */
void rd_slowlog_note_flat(struct rd_server *srv, const struct rd_session *s, uint64_t cycles,
			  uint32_t argc, const uint8_t *const *argv, const uint32_t *lens);

#endif
