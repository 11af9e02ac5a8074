/*
 * server.h - what every Redis session of a node shares: settings (CONFIG
 * GET/SET), the node's identity and cluster mode, client ids, the slow log,
 * and the per-lcore Redis counters that INFO and /metrics sum.
 *
 * Settings are read lock-free by every lcore; CONFIG SET and ACL changes are
 * rare and serialise on admin_lock (never taken on the request path).
 */
#ifndef WC_REDIS_SERVER_H
#define WC_REDIS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_spinlock.h>

#include "redis/cluster_map.h"
#include "redis/rd.h"

#define RD_SLOWLOG_MAX 1024
#define RD_SLOWLOG_ARGS 32

enum rd_policy {
	RD_POLICY_ALLKEYS_S3FIFO,	/* the store's own: S3-FIFO over all keys */
};

struct rd_slowlog_entry {
	uint64_t id;
	int64_t time;			/* Unix seconds */
	uint64_t usec;
	uint32_t argc;			/* of the command; at most RD_SLOWLOG_ARGS kept */
	uint8_t nargs;
	char args[RD_SLOWLOG_ARGS][128];	/* Redis: 128 bytes of an argument, then "... (N more bytes)" */
	char peer[32];
	char name[RD_NAME_MAX];
};

struct rd_server {
	/* identity */
	char version[32];		/* redis_version (7.0-compatible) */
	char wc_version[48];		/* wirecache_version */
	char node_id[41];		/* 40 hex characters, kept in the state directory */
	char run_id[41];
	int64_t started;		/* Unix seconds */
	uint16_t port;			/* the RESP port */
	/* cluster: the slot map (a node alone serves every slot) */
	bool cluster;
	char announce_ip[64];		/* what CLUSTER SLOTS/NODES/SHARDS give clients */
	uint16_t announce_port;
	uint16_t cport;			/* the cluster bus port: port + 10000 */
	uint64_t config_epoch;
	struct rd_cluster_map *cmap;	/* RCU: rd_cluster_map_get() on the request path */
	/* settings (CONFIG) */
	uint64_t maxmemory;		/* --memory, read only */
	uint64_t proto_max_bulk_len;
	uint32_t timeout;		/* seconds; 0 = never (the TCP idle timeout) */
	uint32_t maxclients;
	int64_t slowlog_slower_than;	/* microseconds, -1 = off */
	uint32_t slowlog_max_len;
	char notify_keyspace_events[32];
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
	int64_t lastsave;		/* LASTSAVE: no persistence, the start time */
};

/* The node's Redis side, set up before the lcores (main.c). */
int rd_server_init(struct rd_server *srv, const char *state_dir, uint16_t port, bool cluster,
		   const char *announce_ip, uint16_t announce_port, uint64_t maxmemory,
		   uint64_t max_bulk, const char *requirepass, const char *aclfile,
		   const char *wc_version);
void rd_server_fini(struct rd_server *srv);

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

/* A command took usec: into the slow log if it is slower than the threshold. */
void rd_slowlog_note(struct rd_server *srv, const struct rd_session *s, uint64_t usec);

#endif
