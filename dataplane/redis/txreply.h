/*
 * txreply.h - a transaction's reply held back (multi.c): EXEC writes it
 * into a chain of mbufs wherever the transaction runs, leaving places
 * (holes) for what only the connection's lcore can write once the owner
 * call is over (a PUBLISH's receivers counted on every lcore, a SUBSCRIBE's
 * confirmations); then the connection's lcore copies it into the reply
 * stream, filling each hole in turn.
 */
#ifndef WC_REDIS_TXREPLY_H
#define WC_REDIS_TXREPLY_H

#include <stdint.h>

#include "proto/mc_out.h"

struct rte_mbuf;
struct rte_mempool;

struct rd_txreply {
	struct mc_out out;		/* where the transaction writes */
	struct rte_mempool *pool;
	struct rte_mbuf *head, *tail;
	/* the copy's progress */
	struct rte_mbuf *cur;
	uint32_t cur_off;
	uint64_t copied;
};

/* Start an empty reply whose buffers come from pool. */
void rd_txreply_open(struct rd_txreply *r, struct rte_mempool *pool);

/* Bytes written so far: where a hole made now is. */
static inline uint64_t rd_txreply_at(const struct rd_txreply *r)
{
	return r->out.written;
}

/* Writing is over (before the first copy). */
void rd_txreply_close(struct rd_txreply *r);

/* Copy what was written up to byte `upto` (a hole, or the end) into o, from where the last copy stopped. */
void rd_txreply_copy(struct rd_txreply *r, uint64_t upto, struct mc_out *o);

/* Give the buffers back. */
void rd_txreply_free(struct rd_txreply *r);

#endif
