/*
 * rdb_write.h - writing the whole store as a Redis 7.0 RDB file (version
 * 10): "REDIS0010", aux fields, SELECTDB 0, RESIZEDB, every live key of
 * every partition (its expiry as EXPIRETIME_MS, a memcached item's nonzero
 * client flags as an aux field "wc-mcflags" just before it, its value in
 * Redis's encoding through rdbval.h), EOF and the CRC64.
 *
 * The walk runs on a thread of its own (redis/rdbsave.c's writer, or the
 * main thread at shutdown), never on an lcore: that thread must be a
 * registered liburcu QSBR thread, online when it calls in. It reads the
 * store the lock-free way, a slice of the index at a time, and passes a
 * quiescent state after every slice (and goes offline while it writes to
 * the file), so owners never wait on it.
 */
#ifndef WC_REDIS_RDB_WRITE_H
#define WC_REDIS_RDB_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/app.h"
#include "store/clock.h"

/* What a save wrote. */
struct rdbw_stats {
	uint64_t keys;			/* keys written (other threads may read it as it grows) */
	uint64_t keys_total;		/* the keys the partitions held when the walk began */
	uint64_t bytes;			/* file bytes */
	uint64_t dups;			/* keys the walk met twice, written once */
	uint64_t retries;		/* containers caught mid-change and read again */
	uint64_t skipped;		/* keys that went away (expired, deleted) before they were read */
};

/*
 * Write the store of app to fd (positioned at 0): 0, or an errno (the
 * write or fsync that failed, ENOMEM, EAGAIN for a container that never
 * held still). clock: the store's clock when the save began (expiry
 * decisions follow it as it advances with the real time); now_unix: the
 * file's ctime aux field.
 */
int rdb_write_store(const struct wc_app *app, int fd, const struct wc_clock *clock,
		    int64_t now_unix, struct rdbw_stats *st);

#endif
