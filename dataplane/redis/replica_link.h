/*
 * replica_link.h - what the replica's link files share (redis/replica.h):
 * the first worker's link state, and the steps one file offers another.
 * replica_link.c connects, shakes hands and polls; replica_sync.c takes a
 * full sync's RDB and loads it; replica_stream.c runs the master's command
 * stream in the master-link session.
 */
#ifndef WC_REDIS_REPLICA_LINK_H
#define WC_REDIS_REPLICA_LINK_H

#include <pthread.h>

#include "redis/rdbload.h"
#include "redis/replica_impl.h"

struct wc_tcb;

enum lstate {
	L_IDLE = 0,		/* not a replica, partitions as masters */
	L_SWITCH,		/* partitions changing mode on their owners */
	L_WAIT,			/* back-off before the next connection */
	L_RESOLVING,		/* the master's MAC (ARP) */
	L_CONNECTING,		/* SYN sent */
	L_HS,			/* handshake: a command out, its reply awaited */
	L_BULK,			/* FULLRESYNC taken: the $ line awaited (keep-alive newlines) */
	L_RDB,			/* the RDB's bytes */
	L_LOAD,			/* the loader thread runs */
	L_STREAM,		/* the command stream */
};

enum hstep { HS_PING = 0, HS_AUTH, HS_PORT, HS_CAPA, HS_OFFS, HS_PSYNC };

struct rd_rlink {
	struct wc_app *app;
	uint32_t gen;
	uint8_t st, hs;
	bool want, parts_replica;
	unsigned sw_cursor;
	uint32_t ip;
	uint16_t port;
	char user[128], pass[RD_PASS_MAX];
	struct wc_tcb *c;
	uint16_t lport_next;
	uint64_t deadline, retry_at, backoff, last_ack, connect_deadline;
	uint64_t scanned;
	char line[RD_REPLICA_LINE_MAX + 1];
	/* what this replica has: the master's replid and the offset applied */
	bool have_sync;
	char replid[41];
	uint64_t offset;
	uint64_t psync_offset;
	/* the RDB */
	bool eof_mode;
	uint8_t mark[RD_REPLICA_EOF_MARK];
	uint64_t rdb_len, rdb_got;
	int memfd;
	uint8_t *map;
	uint64_t map_cap;
	uint64_t sync_t0, load_t0;
	char new_replid[41];
	uint64_t new_offset;
	pthread_t loader;
	int load_state;			/* 0 running, 1 done, 2 failed (atomic) */
	struct rd_rdb_load_result res;
	char path[64];
	/* the stream */
	struct rd_session *sess;
	bool sess_live;
	struct wc_tcb *sess_c;		/* the connection its arguments live in */
	struct mc_inq in;		/* sess_c's receive queue, counting what is consumed */
	uint64_t consumed, applied, base;
	bool retry;			/* the session waits for mailbox or stage room */
	struct mc_out sink;		/* replies go nowhere */
	uint8_t sinkbuf[256];
};

/* replica_link.c */
uint64_t rd_rlink_now(const struct wc_lcore *lc);		/* the lcore's TCP clock, ms */
void rd_rlink_set_link(uint8_t link);			/* what ROLE/INFO show */
void rd_rlink_free_rdb(struct rd_rlink *L);
/* The link is gone (c, or NULL when no connection is left): back-off, then again. */
void rd_rlink_closed(struct wc_lcore *lc, struct wc_tcb *c);
/* Drop the connection now (why: logged), then as rd_rlink_closed. */
void rd_rlink_drop(struct wc_lcore *lc, struct rd_rlink *L, const char *why);
/* One command to the master (RESP array), sent at once. */
void rd_rlink_send_cmd(struct wc_lcore *lc, struct rd_rlink *L, unsigned argc,
		       const char *const *argv);

/* replica_sync.c: the $ line, the RDB's bytes, the loader's end */
void rd_rlink_bulk_line(struct wc_lcore *lc, struct rd_rlink *L, size_t n);
void rd_rlink_rdb_bytes(struct wc_lcore *lc, struct rd_rlink *L, struct wc_tcb *c);
void rd_rlink_load_poll(struct wc_lcore *lc, struct rd_rlink *L);

/* replica_stream.c */
bool rd_rlink_sink_more(struct mc_out *o);		/* the discarding reply sink */
void rd_rlink_start_stream(struct wc_lcore *lc, struct rd_rlink *L);
/* Run the master's commands that came; false when the link was dropped. */
bool rd_rlink_stream_run(struct wc_lcore *lc, struct rd_rlink *L);
void rd_rlink_send_ack(struct wc_lcore *lc, struct rd_rlink *L);
/* The session is over (no call in flight): its memory goes back. */
void rd_rlink_end_session(struct wc_lcore *lc, struct rd_rlink *L);

#endif
