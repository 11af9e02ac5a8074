/*
 * repl_master.h - the master side of Redis replication: replica feeds.
 *
 * A Redis connection that sends SYNC or PSYNC (redis/repl_cmds.c) becomes a
 * feed: it is no longer a normal client (its replies are dropped; it sends
 * only REPLCONF ACK), and its lcore's poll writes to it: for a full sync
 * "\n" keep-alives while a background thread snapshots the store
 * (redis/repl_rdb.h), then "$len\r\n" and the RDB bytes, then the stream:
 * every partition's replication log (store/repl.h) from the offsets the
 * sync started at, as Redis commands (redis/repl_enc.h), round robin over
 * the partitions, a bounded amount per poll and only while the
 * connection's send queue has room. A replica whose offset leaves a
 * partition's backlog, or that meets a RESYNC marker, is dropped (it
 * reconnects and full-syncs).
 *
 * Each feed keeps checkpoints (redis/repl_ckpt.h) so an ACKed stream
 * offset tells how far the replica has each partition's log: WAIT and
 * min-replicas-to-write count on that, from any lcore (the feeds' tables
 * are allocated at start and never move; what other lcores read is
 * written with relaxed atomics).
 *
 * Stream offsets: a full sync's stream starts at the master offset it
 * announced (+FULLRESYNC <replid> <sum of the partitions' log tails>); a
 * partial one at the PSYNC offset less one (Redis's replica asks for
 * reploff + 1). Every byte written after the RDB counts.
 */
#ifndef WC_REDIS_REPL_MASTER_H
#define WC_REDIS_REPL_MASTER_H

#include <stdbool.h>
#include <stdint.h>

#include "redis/rd.h"
#include "redis/repl_ckpt.h"

struct wc_lcore;
struct wc_app;

#define RD_REPL_FEEDS 8			/* replica connections per lcore */
#define RD_REPL_CKPTS 64		/* checkpoints per feed */
#define RD_REPL_CKPT_GAP_MS 10		/* at most one new checkpoint this often */
#define RD_REPL_PING_MS 10000		/* repl-ping-replica-period */
#define RD_REPL_KEEPALIVE_MS 1000	/* "\n" while a snapshot is written */
#define RD_REPL_READ_CHUNK (64u << 10)	/* log bytes read at a time */
#define RD_REPL_POLL_BUDGET (256u << 10)	/* bytes a feed writes per poll at most */

enum rd_feed_state {
	RD_FEED_FREE = 0,
	RD_FEED_HANDSHAKE,		/* REPLCONF seen, no SYNC/PSYNC yet */
	RD_FEED_WAIT_BGSAVE,		/* the snapshot is being written */
	RD_FEED_SEND_BULK,		/* the RDB is being sent */
	RD_FEED_ONLINE,			/* the command stream */
};

struct rd_feed {
	uint8_t state;			/* enum rd_feed_state (relaxed: INFO reads it) */
	bool capa_wc, capa_psync2, capa_eof;
	bool legacy;			/* SYNC: no +FULLRESYNC, no keep-alives */
	bool have_wc_offs;		/* REPLCONF wc-offsets came (for every partition) */
	struct rd_session *s;		/* the replica's session (its connection: s->owner) */
	uint32_t ip;			/* the replica's address (host order) */
	uint16_t port;			/* REPLCONF listening-port (0: none said) */
	int job;			/* the snapshot job (repl_rdb.h), -1: none */
	const uint8_t *rdb;
	uint64_t rdb_len, rdb_sent;
	uint64_t base;			/* the stream offset the sync announced */
	uint64_t stream_off;		/* base + stream bytes written */
	uint64_t ack_off;		/* the last REPLCONF ACK (relaxed) */
	int64_t ack_ms;			/* when it came (relaxed); 0: none yet */
	int64_t io_ms;			/* when the feed last wrote */
	uint64_t getack_seen;		/* the GETACK round it answered */
	uint32_t rr;			/* the partition the next poll starts with */
	uint64_t *pos;			/* per partition: the next log offset to stream */
	uint64_t *acked;		/* per partition: what the replica has applied (relaxed) */
	uint64_t *wc_offs;		/* REPLCONF wc-offsets */
	struct rd_ckpt_ring ck;
};

/* /metrics (core/cpcounters.c: repl_*) and INFO. */
struct rd_repl_stats {
	uint64_t syncs_full;		/* full syncs started */
	uint64_t syncs_partial_ok;	/* +CONTINUE */
	uint64_t syncs_partial_err;	/* a PSYNC with a replid that got a full sync instead */
	uint64_t replicas;		/* gauge: feeds past SYNC/PSYNC */
	uint64_t bytes_out;		/* RDB and stream bytes sent to replicas */
	uint64_t entries_out;		/* log entries streamed */
	uint64_t dropped;		/* replicas dropped (out of the backlog, RESYNC, errors) */
};

struct rd_repl_lc {
	struct rd_feed feed[RD_REPL_FEEDS];
	unsigned nlive;			/* feeds not FREE */
	uint8_t *buf;			/* what log reads copy into (grown at sync setup) */
	size_t buf_cap;
	struct rd_repl_stats st;
	void *mem;			/* the feeds' per-partition arrays */
};

/* Per lcore, at start (redis/server.c's rd_lcore_init) and stop. */
int rd_repl_lcore_init(struct wc_lcore *lc);
void rd_repl_lcore_fini(struct wc_lcore *lc);

/* Per loop (core/lcore.c): write to this lcore's feeds. Returns work done. */
unsigned rd_repl_poll(struct wc_lcore *lc);

/* The feed of s on its lcore; with create, a HANDSHAKE one is taken (NULL: none free). */
struct rd_feed *rd_repl_feed_of(struct wc_lcore *lc, struct rd_session *s, bool create);

/* s's connection is over (net/rd_tcp.c): its feed goes, its snapshot is given back. */
void rd_repl_session_ended(struct wc_lcore *lc, struct rd_session *s);

/*
 * SYNC/PSYNC decided (repl_cmds.c, the logs all on): start f. Full: from
 * the partitions' log tails now (*base: their sum), with a snapshot;
 * partial: from f->wc_offs at stream offset base, after the +CONTINUE the
 * caller wrote. false (nothing started) when no snapshot slot is free or
 * the read buffer cannot be had.
 */
bool rd_repl_feed_start_full(struct wc_lcore *lc, struct rd_feed *f, uint64_t *base);
bool rd_repl_feed_start_partial(struct wc_lcore *lc, struct rd_feed *f, uint64_t base);

/* Room to read the largest log entry (at sync setup; false: out of memory). */
bool rd_repl_buf_ready(struct wc_lcore *lc);

/* REPLCONF ACK <off> from f's replica. */
void rd_repl_feed_ack(struct wc_lcore *lc, struct rd_feed *f, uint64_t off);

/* Has every partition's log been switched on (by the first replica)? */
bool rd_repl_logs_on(const struct wc_app *app);

/* Sum of the partitions' log tails (master_repl_offset); tails[] filled when not NULL. */
uint64_t rd_repl_tails(const struct wc_app *app, uint64_t *tails);

/* Replicas (online) whose acknowledged offsets reach tails[] in every partition. */
unsigned rd_repl_count_acked(const struct wc_app *app, const uint64_t *tails);

/* Replicas online that acknowledged within max_lag_s seconds of now_ms. */
unsigned rd_repl_good(const struct wc_app *app, int64_t now_ms, int64_t max_lag_s);

/* Ask every feed for a REPLCONF GETACK * (WAIT). */
void rd_repl_getack(void);

/* One replica as INFO's slaveN and ROLE show it. */
struct rd_repl_view {
	uint32_t ip;
	uint16_t port;
	uint8_t state;			/* enum rd_feed_state */
	uint64_t offset;		/* sum of its acknowledged log offsets */
	int64_t lag_s;			/* seconds since its last ACK (its lcore's clock); -1: none */
};

/* Every replica past SYNC/PSYNC, any lcore (views[] up to max; returns how many in all). */
unsigned rd_repl_list(const struct wc_app *app, struct rd_repl_view *views, unsigned max);

/* This lcore's counters summed over lcores. */
void rd_repl_totals(const struct wc_app *app, struct rd_repl_stats *t);

/* min-replicas-to-write is set and not met: true (the write answers -NOREPLICAS). */
bool rd_repl_writes_refused(const struct rd_session *s);

/* ROLE on a master: "master", its offset, the replicas online (replica_cmds.c's ROLE). */
struct rd_session;
enum rd_res rd_repl_role_master(struct rd_session *s);

#endif
