/*
 * config.h - wirecache-dp's settings: command-line options after EAL's
 * "--", and an optional INI file (--config, read with libinih) whose keys
 * are the long option names. The command line wins over the file.
 */
#ifndef WC_CORE_CONFIG_H
#define WC_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define WC_MAX_PORTS 4
#define WC_MAX_PREFIXES 16
#define WC_CLUSTER_SECRET_MAX 256
#define WC_UPLOAD_BUFFER_AUTO UINT64_MAX	/* until parsed: see wc_config_upload_buffer */
#define WC_UPLOAD_BUFFER_FLOOR (8ull << 20)	/* the automatic size's least (memory allowing) */

struct wc_prefix {
	uint32_t addr;		/* host byte order */
	uint8_t len;
};

struct wc_config {
	/* addressing: one IPv4 address/prefix per port */
	unsigned nports_cfg;
	struct wc_prefix port_ip[WC_MAX_PORTS];
	/* store */
	uint64_t memory;		/* total store memory, split over partitions */
	uint64_t max_value;
	uint32_t item_size_hint;
	unsigned parts_per_lcore;
	uint8_t small_pct;
	/* memcached over TCP */
	uint16_t tcp_port;
	bool tcp_enabled;
	unsigned max_conns;		/* TCP connections, all lcores together */
	uint32_t tcp_idle_ms;		/* close a connection idle this long */
	uint32_t request_timeout_ms;	/* reset one silent this long mid-request, 0 = never */
	uint64_t upload_buffer;		/* stage pools (store/stage.h), taken from memory */
	uint64_t repl_backlog;		/* replication backlog, all partitions; 0 = default */
	unsigned min_replicas_to_write;	/* writes refused with fewer good replicas [0: off] */
	unsigned min_replicas_max_lag;	/* a good replica acknowledged within this [10 s] */
	/* Redis (RESP over TCP) */
	uint16_t redis_port;		/* 0 = off */
	bool cluster;			/* Redis Cluster mode (cluster_enabled:1) */
	const char *cluster_secret;	/* node-to-node links' secret (NULL: links off) */
	int8_t mc_forward;		/* -1 default (on with a secret), 0 off, 1 on */
	bool mc_read_replicas;		/* a replica serves memcached reads of its master's keys */
	const char *announce_ip;	/* the address CLUSTER NODES/SLOTS give (default: the port's) */
	uint16_t announce_port;		/* (default: redis_port) */
	const char *requirepass;	/* the default user's password */
	const char *aclfile;		/* users in Redis's ACL file format */
	uint32_t notify_flags;		/* notify-keyspace-events (redis/server.h's rd_notify) */
	/* memcached over TCP while Redis needs a password: only these sources (none: nobody) */
	unsigned nmc_allow;
	struct wc_prefix mc_allow[WC_MAX_PREFIXES];
	const char *state_dir;		/* the node id and other state kept across restarts */
	/* RDB snapshots (redis/rdbsave.h) */
	const char *rdb_dir;		/* where the RDB file is (NULL: the working directory) */
	const char *rdb_filename;	/* its name, no '/' [dump.rdb] */
	bool rdb_save_on_shutdown;	/* save at SIGTERM/SIGINT and SHUTDOWN (not NOSAVE) */
	/* replication (redis/replica.h): the master to follow from the start, credentials */
	const char *replicaof_host;	/* an IPv4 address, NULL: a master */
	uint16_t replicaof_port;
	const char *masterauth, *masteruser;
	/* memcached over UDP */
	uint16_t udp_port;
	bool udp_enabled;
	unsigned nallow, ntrusted;
	struct wc_prefix udp_allow[WC_MAX_PREFIXES];	/* empty: the ports' subnets */
	struct wc_prefix udp_trusted[WC_MAX_PREFIXES];
	unsigned udp_amplification;	/* reply bytes per request byte, untrusted */
	/* running */
	bool busy_poll;
	unsigned stats_interval;	/* seconds between stats log lines, 0 = off */
	uint16_t rx_desc, tx_desc;
	const char *config_file;
	/* control plane (core/cpif.c): NULL = the default path, "none" = off */
	const char *control_socket;
};

void wc_config_defaults(struct wc_config *c);

/* memcached requests for other nodes' keys are forwarded (a secret, and not --mc-forward off). */
static inline bool wc_config_mc_forward(const struct wc_config *c)
{
	return c->cluster_secret && c->mc_forward != 0;
}

/*
 * Replication backlog (store/repl.h): --repl-backlog-size is the node's total,
 * split evenly over its partitions (each at least 64K, rounded down to a
 * power of two); by default each
 * partition gets 1M, Redis's default for its single stream: a partition is a
 * stream of its own, with its own write rate, and its ring must hold an
 * entry of half its size (a larger value is logged as a resync marker).
 */
#define WC_REPL_BACKLOG_MIN (64ull << 10)
#define WC_REPL_BACKLOG_PART_DEFAULT (1ull << 20)
uint64_t wc_config_repl_backlog_part(const struct wc_config *c, unsigned nparts);

/* The upload buffer's size (WC_UPLOAD_BUFFER_AUTO resolved against memory). */
uint64_t wc_config_upload_buffer(const struct wc_config *c);

/*
 * Parse the application arguments (those after EAL's). Returns 0, 1 when
 * --help was printed (exit successfully), or -1 after printing an error.
 */
int wc_config_parse(struct wc_config *c, int argc, char **argv);

/* "198.18.0.11/24" -> prefix; false if malformed. */
bool wc_prefix_parse(const char *s, struct wc_prefix *p);

static inline bool wc_prefix_match(const struct wc_prefix *p, uint32_t addr)
{
	uint32_t mask = p->len ? ~0u << (32 - p->len) : 0;

	return (addr & mask) == (p->addr & mask);
}

/* "256M", "1g", "4096" -> bytes; false if malformed. */
bool wc_size_parse(const char *s, uint64_t *out);

void wc_config_usage(const char *prog);

#endif
