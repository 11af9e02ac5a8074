/*
 * replica.h - this node as the replica of a Redis master (a real
 * redis-server or another wirecache node): REPLICAOF, the link, full sync
 * and the applied command stream (the contract: /work/REPL_BRIEF.md).
 *
 * State that every thread reads (the node is a replica: writes are refused
 * -READONLY / SERVER_ERROR read only replica; the wanted master; what INFO,
 * ROLE and the control socket report) is node-wide, in replica.c. The link
 * itself belongs to the first worker lcore (replica_link.c): one active
 * connection of the dataplane's own TCP to the master, the handshake (PING,
 * AUTH, REPLCONF listening-port / capa / wc-offsets, PSYNC), the RDB of a
 * full sync received into a memfd and loaded by a thread that is not an
 * lcore (rd_rdb_load_file, flush), then the stream: a Redis session flagged
 * RD_C_MASTER runs the master's commands with their replies discarded,
 * master-link privileges (no auth, ACL, cluster redirection or READONLY),
 * and private commands (WCREPL.SET, WCREPL.MARK, REPLCONF GETACK; MULTI and
 * EXEC apply their commands one by one). REPLCONF ACK <offset> goes back
 * every second and on GETACK. Every step has repl-timeout (60 s); a
 * dropped link reconnects with back-off (1 s doubling to 8 s).
 *
 * The wire helpers at the bottom (reply lines, the bulk header with
 * Redis's diskless "$EOF:<40 bytes>" form, the end marker) are pure and
 * unit-tested.
 */
#ifndef WC_REDIS_REPLICA_H
#define WC_REDIS_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wc_app;
struct wc_lcore;
struct wc_mbox_req;
struct rd_session;
struct rd_cmd;
struct rd_text;

#define RD_REPLICA_TIMEOUT_MS 60000	/* repl-timeout: every handshake step, transfer, silence */
#define RD_REPLICA_ACK_MS 1000		/* REPLCONF ACK period */
#define RD_REPLICA_CONNECT_MS 1000		/* no SYN-ACK this long: again from another local port */
#define RD_REPLICA_BACKOFF_MIN_MS 1000
#define RD_REPLICA_BACKOFF_MAX_MS 8000
#define RD_REPLICA_LPORT_BASE 20480	/* the link's local ports (below MIGRATE's) */
#define RD_REPLICA_LPORT_SPAN 256
#define RD_REPLICA_MARKS 256		/* WCREPL.MARK partitions remembered (WC_MAX_PARTS) */
#define RD_REPLICA_LINE_MAX 1024		/* a handshake reply line longer than this is garbage */
#define RD_REPLICA_EOF_MARK 40		/* Redis's diskless end marker */

/* The link, as ROLE and REPLSTATE name it. */
enum rd_replica_link {
	RD_RL_NONE = 0,		/* not a replica */
	RD_RL_CONNECT,		/* waiting to (re)connect */
	RD_RL_CONNECTING,	/* ARP, SYN */
	RD_RL_HANDSHAKE,	/* PING ... PSYNC */
	RD_RL_TRANSFER,		/* receiving the RDB */
	RD_RL_LOADING,		/* loading it */
	RD_RL_CONNECTED,	/* following the stream */
};

/* Node-wide counters (/metrics: replica_*). */
struct rd_replica_counts {
	uint64_t connects;		/* connections to the master begun */
	uint64_t full_syncs;		/* RDBs loaded */
	uint64_t partial_syncs;		/* +CONTINUE */
	uint64_t sync_failures;		/* links that broke before the stream */
	uint64_t link_drops;		/* links lost (any reason) */
	uint64_t rdb_bytes;		/* RDB bytes received */
	uint64_t stream_bytes;		/* stream bytes applied */
	uint64_t stream_commands;	/* stream commands run */
	uint64_t stream_errors;		/* of which answered an error (a type we do not store ...) */
	uint64_t stream_skipped;	/* not for db 0: skipped */
	uint64_t last_sync_ms;		/* the last full sync: transfer + load */
	uint64_t loaded_keys;		/* keys its RDB gave */
};

/* What INFO replication, ROLE and REPLSTATE show. */
struct rd_replica_status {
	bool replica;
	char host[64];
	uint16_t port;
	uint8_t link;			/* enum rd_replica_link */
	int64_t last_io_s;		/* seconds since the master was last heard (-1: never) */
	int64_t down_since_s;		/* seconds the link has been down (0 while up) */
	uint64_t offset;		/* slave_repl_offset: applied */
	uint64_t read_offset;		/* slave_read_repl_offset: received */
	uint64_t sync_total, sync_read;	/* the RDB being received */
	char replid[41];		/* the master's */
	struct rd_replica_counts ct;
};

/* ---- control (any thread) ---- */

/*
 * Become the replica of host:port (an IPv4 address): writes are refused at
 * once, the link lcore drops what it had and connects. 0, 1 when it already
 * follows that master, -1 (err) for a bad address.
 */
int rd_replica_of(struct wc_app *app, const char *host, uint16_t port, char *err, size_t n);
/* REPLICAOF NO ONE: the link drops, the node keeps its data and takes writes. */
void rd_replica_no_one(struct wc_app *app);
/* masterauth / masteruser (NULL or "": none); the next handshake uses them. */
void rd_replica_set_auth(const char *user, const char *pass);
void rd_replica_get_auth(char *user, size_t ucap, char *pass, size_t pcap);

/* The node is a replica (writes refused); lock-free, on the request path. */
bool rd_replica_read_only(void);
void rd_replica_info(struct rd_replica_status *out);
const struct rd_replica_counts *rd_replica_counters(void);
const char *rd_replica_link_name(uint8_t link);	/* "connect", "sync" ... (ROLE's words) */
/* INFO replication's first lines for a replica (role:slave, master_host ...); false: a master. */
bool rd_replica_info_render(struct rd_text *t, const struct rd_replica_status *in);
/* ROLE's reply for a replica (slave, host, port, state, offset); false: a master (not answered). */
bool rd_replica_role_reply(struct rd_session *s);
/* The control socket's REPLICAOF and REPLSTATE (core/cpif.c); false: not ours. */
bool rd_replica_cp_command(struct wc_app *app, int argc, char **argv, char *out, size_t n);

/* ---- the link lcore (the first worker) ---- */

int rd_replica_lc_init(struct wc_lcore *lc);
void rd_replica_lc_fini(struct wc_lcore *lc);
unsigned rd_replica_poll(struct wc_lcore *lc);
/* A mailbox completion of the master-link session (owner_kind MC_OWNER_REPL). */
void rd_replica_complete(struct wc_lcore *lc, struct wc_mbox_req *req);

/* ---- the master-link session (session.c) ---- */

/* The private command for the master link's argument 0, or NULL (the public table then). */
const struct rd_cmd *rd_replica_master_cmd(struct rd_session *s);
/* A command of the master link finished (failed: answered an error). */
void rd_replica_cmd_done(bool failed);

/* ---- wire helpers (pure) ---- */

/* A PSYNC answer: FULLRESYNC (replid, offset), CONTINUE (replid if given), or not. */
enum rd_psync_reply { RD_PSYNC_BAD = 0, RD_PSYNC_FULL, RD_PSYNC_CONTINUE, RD_PSYNC_TRYLATER,
		      RD_PSYNC_ERR };
enum rd_psync_reply rd_replica_parse_psync(const char *line, size_t n, char replid[41],
					uint64_t *offset);

/* "$<len>" or "$EOF:<40 bytes>": 0, -1 when it is neither (or len is absurd). */
int rd_replica_parse_bulk(const char *line, size_t n, uint64_t *len, bool *eof_mode,
		       uint8_t mark[RD_REPLICA_EOF_MARK]);

/* Does data[0..len) end with the marker? */
bool rd_replica_ends_with_mark(const uint8_t *data, uint64_t len,
			    const uint8_t mark[RD_REPLICA_EOF_MARK]);

/* A handshake reply that lets the next step go (+..., and -NOAUTH for PING). */
bool rd_replica_reply_ok(const char *line, size_t n, bool ping);

/* A command as a RESP array into buf; its length, 0 when it does not fit. */
size_t rd_replica_format(char *buf, size_t cap, unsigned argc, const char *const *argv);

#endif
