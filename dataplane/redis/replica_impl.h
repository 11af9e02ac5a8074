/*
 * replica_impl.h - what replica.c (the node-wide state, control, reporting)
 * and replica_link.c (the link lcore) share: the state itself.
 */
#ifndef WC_REDIS_REPLICA_IMPL_H
#define WC_REDIS_REPLICA_IMPL_H

#include <pthread.h>

#include "redis/replica.h"
#include "redis/server.h"

struct rd_replica_node {
	pthread_mutex_t mu;		/* the wanted master and auth (control paths only) */
	uint32_t gen;			/* bumped by every change of the wanted master (atomic) */
	bool want;			/* a replica (under mu) */
	uint32_t ip;			/* host order */
	uint16_t port;
	char host[64];
	char user[128], pass[RD_PASS_MAX];
	bool read_only;			/* writes refused (atomic; the request path reads it) */
	/* written by the link lcore, read by anyone (relaxed) */
	uint8_t link;			/* enum rd_replica_link */
	int64_t last_io_ms;		/* Unix ms; 0: never */
	int64_t down_since_ms;		/* Unix ms the link went down */
	uint64_t offset, read_offset;
	uint64_t sync_total, sync_read;
	char replid[41];		/* (under mu) */
	struct rd_replica_counts ct;
	/* WCREPL.MARK: each partition's log offset the stream reached (the link lcore's) */
	unsigned nmarks;
	uint64_t marks[RD_REPLICA_MARKS];
	bool marks_valid;		/* from a wirecache master, since its last full sync */
	uint32_t db;			/* the master link's SELECTed db (only 0 is applied) */
	bool ack_due;			/* REPLCONF GETACK seen: answer after the run */
};

extern struct rd_replica_node rd_replica_state;

/* Wall clock, Unix ms (status times). */
int64_t rd_replica_now_ms(void);

static inline void rd_replica_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

#endif
