/*
 * dp_redis.h - what the Redis tests over the NIC-less harness share: a node
 * serving Redis on DP_REDIS_PORT (and memcached on its default port), its
 * TCP clock frozen and its store clock at a fixed time, the client's
 * address learned; connections to it come from fresh client ports
 * (dpc_connect).
 */
#ifndef WC_TEST_DP_REDIS_H
#define WC_TEST_DP_REDIS_H

#include <stdint.h>

#include "dp_tcpclient.h"

#define DP_REDIS_PORT 6379
#define DP_REDIS_EPOCH 1700000000	/* the store clock: second 1000, millisecond 0 after it */

static uint64_t dp_redis_memory __attribute__((unused));

static inline void dp_redis_cfg(struct wc_config *c)
{
	c->memory = dp_redis_memory;
	c->max_conns = 64;
	c->redis_port = DP_REDIS_PORT;
}

/* Bring up h with memory bytes of store; clients connect from first_port up. 0 or -1. */
static inline int dp_redis_setup(struct dp_harness *h, uint64_t memory, uint16_t first_port)
{
	dp_redis_memory = memory;
	if (dp_eal_init() != 0 || dp_setup(h, dp_redis_cfg) != 0)
		return -1;
	dp_freeze_clock(h);
	h->lc->ctx.clock.epoch = DP_REDIS_EPOCH;
	h->lc->ctx.clock.now = 1000;
	h->lc->ctx.clock.ms = 0;
	dp_learn_client(h);
	dpc_next_port = first_port;
	return 0;
}

/* A connection to the node's Redis port. */
static inline bool dp_redis_open(struct dp_harness *h, struct dpc *c, uint8_t *buf, size_t cap)
{
	return dpc_connect(h, c, DP_REDIS_PORT, buf, cap);
}

#endif
