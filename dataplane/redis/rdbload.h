/*
 * rdbload.h - loading an RDB file into the store (Redis 7.0's or
 * wirecache's own): at start-up, before clients are served (commands answer
 * -LOADING meanwhile), and at runtime into a serving node (wirecachectl
 * snapshot load; later REPLICAOF of a real Redis, with the RDB its master
 * sends).
 *
 * One loader reads the file (redis/rdb_read.h) from a struct rdbv_src (an
 * mmap of the file) on a thread of its own, never an lcore: it validates
 * each key entry, routes the key to its partition by the slot table, and
 * collects entries (key copied, value as offsets into the file) in batches,
 * one filling and one in flight per partition. A full batch goes to the
 * partition's owner as one WC_MB_CALL request on the loader's own mailbox
 * endpoint (one past the park endpoint); the owner decodes each value
 * straight into the store (rd_rdbval_apply, RESTORE's path), replacing any
 * key of that name. A batch is bounded (keys and value bytes), so an owner
 * spends a bounded time on one and serves its clients between batches; the
 * loader waits for room, the owners never wait for the loader. Without a
 * mailbox (unit tests: one lcore, the caller is its thread) batches run
 * inline.
 *
 * Keys whose expiry has passed are skipped (as a Redis master does), as are
 * the types the store cannot hold (counted per kind) and, in a cluster, keys
 * of slots this node does not serve (a replica keeps its master's). Keys
 * are written without keyspace events (as Redis loads); at the end every
 * owner raises a flush event, so
 * clients tracking keys (CLIENT TRACKING) are told to forget them all. A
 * key of a slot being moved between
 * partitions (core/migrate.c) waits for the move to end; keys already in a
 * batch when a move starts are not routed again, so a load and a live move
 * should not overlap.
 */
#ifndef WC_REDIS_RDBLOAD_H
#define WC_REDIS_RDBLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis/rdb_read.h"
#include "redis/rdbval.h"

struct wc_app;

struct rd_rdb_load_result {
	uint64_t loaded;		/* keys written */
	uint64_t expired;		/* keys skipped: their expiry had passed */
	uint64_t failed;		/* keys the store refused (memory, value size) */
	uint64_t unserved;		/* keys of slots another node serves (cluster) */
	uint64_t skipped[RDBR_SK_N];	/* entries skipped, by kind (rdb_read.h) */
	uint64_t functions;		/* function libraries skipped */
	uint64_t bytes;			/* the file's size */
	double secs;			/* the load's wall time */
	bool crc_checked;
	char err[160];			/* why it stopped, "" when it did not */
};

/*
 * Load the file at path (synchronously: returns when it is done), flushing
 * every partition first when flush is set. While it runs, the node is
 * "loading": Redis commands without RD_F_LOADING answer -LOADING (the
 * start-up load). 0, or -1 with res->err set (keys read before a bad
 * entry stay: a file with a CRC was checked whole before anything was
 * applied). Call it once the worker lcores run (they apply the batches),
 * from a thread that is not one of theirs; the caller, if an online RCU
 * reader, is taken offline while it waits. Without a mailbox (unit tests)
 * the caller must be the owners' thread: batches run inline.
 */
int rd_rdb_load_file(struct wc_app *app, const char *path, bool flush,
		     struct rd_rdb_load_result *res);

/*
 * The start-up load, before the worker lcores run: the calling thread (an
 * online RCU reader: main.c's) applies every batch itself, with each
 * owner's store context, as nothing else writes the store yet; clients are
 * served once it returns. 0, or -1 with res->err set (main.c then refuses
 * to start, as Redis does: a node that went on empty would save over the
 * file at shutdown).
 */
int rd_rdb_load_before_start(struct wc_app *app, const char *path,
			     struct rd_rdb_load_result *res);

/*
 * The loader proper, on the calling thread (which must not be an lcore's
 * and, with a mailbox, must not be registered with RCU: it registers
 * itself): the whole file in in. loading: the node is "loading" meanwhile.
 */
int rd_rdb_load_src(struct wc_app *app, const struct rdbv_src *in, bool flush, bool loading,
		    struct rd_rdb_load_result *res);

/*
 * A load at runtime, on a thread of its own (the control socket's SNAPLOAD):
 * 0 when it started; -1 (err) when another load runs or the file cannot be
 * opened.
 */
int rd_rdb_load_start(struct wc_app *app, const char *path, bool flush, char *err, size_t n);

/*
 * The runtime load's state: true while one runs; *res the last finished one
 * (or the one under way, so far). *any: a load has been started at all.
 */
bool rd_rdb_load_status(struct rd_rdb_load_result *res, bool *any);

/* The node is loading a dataset (Redis's -LOADING). */
bool rd_rdb_loading(void);

/* INFO persistence's loading fields, and the last load's tallies. */
struct rd_rdb_load_info {
	bool loading;
	int64_t start_time;		/* Unix seconds */
	uint64_t total_bytes, loaded_bytes, loaded_keys;
	double perc;			/* 0..100 */
	int64_t eta_seconds;
	uint64_t last_loaded, last_expired;
	uint64_t last_skipped[RDBR_SK_N];	/* by kind (rdb_read.h) */
};
void rd_rdb_load_info(struct rd_rdb_load_info *i);

/* A result as "key=value ..." words (the control socket's reply, the log line). */
void rd_rdb_load_format(const struct rd_rdb_load_result *r, char *buf, size_t n);

/*
 * The control socket's SNAPLOAD (core/cpif.c): "SNAPLOAD [FLUSH] /path"
 * starts a runtime load ("OK started" or "ERR why"), "SNAPLOAD STATUS"
 * tells its state ("OK state=none|running|done|failed <words> [error=why]").
 * out: one reply line.
 */
void rd_rdb_load_command(struct wc_app *app, int argc, char **argv, char *out, size_t n);

#endif
