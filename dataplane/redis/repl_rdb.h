/*
 * repl_rdb.h - full syncs' snapshots: one background thread (a registered
 * liburcu QSBR thread, like rdbsave.c's writer) writes the whole store as
 * an RDB (rdb_write.h) into an anonymous memfd and maps it, for a feed to
 * stream to its replica straight from memory.
 *
 * A feed's lcore never makes a syscall for it: it takes a job slot (an
 * atomic state word), polls it, reads the mapped bytes, and gives the slot
 * back; the thread creates, maps, unmaps and closes. Jobs run one at a
 * time, in slot order; a job given up while queued or running is cleaned
 * up by the thread.
 */
#ifndef WC_REDIS_REPL_RDB_H
#define WC_REDIS_REPL_RDB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/app.h"
#include "store/clock.h"

#define RD_REPL_JOBS 16

enum rd_rdb_job_state {
	RD_RJ_FREE = 0,
	RD_RJ_QUEUED,		/* asked for; the thread takes it */
	RD_RJ_RUNNING,
	RD_RJ_DONE,		/* map/len ready */
	RD_RJ_FAILED,
	RD_RJ_CANCELLED,	/* given up while running: the thread cleans up */
	RD_RJ_RELEASED,		/* given back: the thread unmaps and frees the slot */
	RD_RJ_CLAIMED,		/* being filled in by the asking lcore */
};

/* Start the thread (0, or -1 logged). */
int rd_repl_rdb_init(struct wc_app *app);
void rd_repl_rdb_stop(void);

/* Ask for a snapshot (any lcore): a job index, or -1 when every slot is taken. */
int rd_repl_rdb_request(const struct wc_clock *clock);

/* Where job j stands; with RD_RJ_DONE, the bytes (valid until released). */
enum rd_rdb_job_state rd_repl_rdb_poll(int j, const uint8_t **map, uint64_t *len);

/* The feed is done with job j (whatever its state). */
void rd_repl_rdb_release(int j);

/* Node-wide: snapshots written for replicas, their keys, bytes and milliseconds. */
struct rd_repl_rdb_counters {
	uint64_t snapshots, failed, keys, bytes, ms;
};
const struct rd_repl_rdb_counters *rd_repl_rdb_counters(void);

#endif
