/*
 * info.h - INFO: which sections a request asks for, the numbers gathered
 * from the node (rd_info_gather), and the text made from them
 * (rd_info_render, a pure function the unit tests drive with numbers of
 * their own).
 *
 * Sources, so INFO, memcached's "stats" and the control plane's /metrics
 * agree: keyspace_hits/misses are the store's get_hits/get_misses (Redis
 * reads and memcached gets alike), evicted_keys its evictions,
 * expired_keys its expirations, rejected_connections the TCP refusals (both
 * protocols share the connection limit), used_memory the items plus the
 * hash indexes (/metrics' wirecache_memory_in_use_bytes); the Redis-only
 * counters (commands, connections, bytes) are the lcores' rd_lcore_stats,
 * exported to /metrics as redis_*. CONFIG RESETSTAT moves the same
 * baselines memcached's "stats reset" does.
 */
#ifndef WC_REDIS_INFO_H
#define WC_REDIS_INFO_H

#include <stdint.h>

#include "redis/rdbsave.h"
#include "redis/repl_master.h"
#include "redis/replica.h"
#include "redis/server.h"
#include "redis/text.h"

enum rd_info_section {
	RD_INFO_SERVER = 1u << 0,
	RD_INFO_CLIENTS = 1u << 1,
	RD_INFO_MEMORY = 1u << 2,
	RD_INFO_PERSISTENCE = 1u << 3,
	RD_INFO_STATS = 1u << 4,
	RD_INFO_REPLICATION = 1u << 5,
	RD_INFO_CPU = 1u << 6,
	RD_INFO_MODULES = 1u << 7,
	RD_INFO_COMMANDSTATS = 1u << 8,
	RD_INFO_CLUSTER = 1u << 9,
	RD_INFO_KEYSPACE = 1u << 10,
	RD_INFO_ERRORSTATS = 1u << 11,
};

/* Redis 7.0's "default" (no argument); "all" and "everything" are every section. */
#define RD_INFO_DEFAULT (RD_INFO_SERVER | RD_INFO_CLIENTS | RD_INFO_MEMORY | RD_INFO_PERSISTENCE | \
			 RD_INFO_STATS | RD_INFO_REPLICATION | RD_INFO_CPU | RD_INFO_MODULES | \
			 RD_INFO_ERRORSTATS | RD_INFO_CLUSTER | RD_INFO_KEYSPACE)
#define RD_INFO_ALL (RD_INFO_DEFAULT | RD_INFO_COMMANDSTATS)

/* The sections an argument names (case-insensitive; 0 for an unknown name). */
uint32_t rd_info_section(const struct resp_arg *a);

/* One command's calls, usec, rejected and failed counts. */
typedef void (*rd_info_cmd_fn)(void *arg, unsigned id, uint64_t out[4]);

#define RD_INFO_REPLICAS 64

struct rd_info {
	/* server */
	const char *version, *wc_version, *run_id, *replid, *os, *executable, *config_file;
	bool cluster;
	int64_t pid, now_us, started;
	uint16_t port;
	/* clients */
	uint64_t clients, maxclients;
	/* memory */
	uint64_t used, peak, index, dataset, rss, system, maxmemory;
	const char *policy;
	/* persistence */
	uint64_t changes;
	int64_t lastsave;
	struct rd_save_info save;	/* (redis/rdbsave.h) */
	/* stats */
	uint64_t connections, commands, net_in, net_out, errors;
	uint64_t ops_per_sec, in_per_sec, out_per_sec;	/* bytes per second */
	uint64_t rejected_conns, expired, evicted, hits, misses;
	uint64_t trk_clients, trk_keys, trk_items, trk_prefixes;	/* client tracking */
	uint64_t pubsub_channels, pubsub_patterns, pubsub_shard;	/* (pubsub.h) */
	uint64_t obuf_disconnections;		/* (push.h) */
	/* keyspace events (redis/keyev.h): raised, bus messages sent and handled, losses heard */
	uint64_t kev_raised, kev_sent, kev_received, kev_lost;
	/* cluster mode: PUBLISH over the node links (cluster/link.h), sent, received, dropped */
	uint64_t bus_pub_sent, bus_pub_received, bus_pub_dropped;
	struct rd_replica_status replica;	/* this node as a replica (redis/replica.h) */
	uint64_t mig_calls, mig_keys, mig_bytes, mig_errors;	/* MIGRATE (migrate_conn.h) */
	/* cpu: microseconds */
	int64_t cpu_sys, cpu_user, cpu_sys_children, cpu_user_children;
	/* keyspace */
	uint64_t keys, expires;
	/* replication, master side (redis/repl_master.h) */
	struct rd_info_repl {
		unsigned nreplicas;		/* past SYNC/PSYNC (views: the first RD_INFO_REPLICAS) */
		struct rd_repl_view v[RD_INFO_REPLICAS];
		uint64_t master_offset;		/* the partitions' log tails, summed */
		bool backlog_active;
		uint64_t backlog_size, backlog_first, backlog_histlen;
		uint64_t bytes_out;		/* total_net_repl_output_bytes */
	} repl;
	/* errorstats: error replies by their first word (errstat.h); errors is their sum */
	uint64_t errstat[RD_ERRSTAT_N];
	/* commandstats */
	rd_info_cmd_fn cmd_stats;
	void *cmd_arg;
};

/* Everything INFO reports, from the node now (app's counters, srv's settings). */
void rd_info_gather(struct wc_app *app, struct rd_server *srv, struct rd_info *in,
		    char *os, size_t os_cap, char *exe, size_t exe_cap);

/* The INFO text of the sections asked for. */
void rd_info_render(struct rd_text *t, const struct rd_info *in, uint32_t sections);

/*
 * The node's distinct channels, patterns and shard channels (INFO's
 * pubsub_channels, pubsub_patterns, pubsubshard_channels; pubsub_intro.c),
 * for a handler: when more than one lcore has subscriptions every such
 * lcore is asked in turn (RD_PENDING / RD_BUSY: call again when
 * re-entered; it keeps its progress in s->step, s->cursor and the job
 * area). Inside a transaction, where no other lcore can be asked, the
 * sums (rd_pubsub_totals).
 */
enum rd_res rd_pubsub_distinct(struct rd_session *s, uint64_t *channels, uint64_t *patterns,
			       uint64_t *shard);

#endif
