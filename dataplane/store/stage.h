/*
 * stage.h - where a large value waits while it is being received.
 *
 * A TCP receive buffer is a chain of 2 KiB mbufs: holding a value there until
 * its last byte arrives ties up the NIC's buffers, and a few hundred slow
 * uploads would take every one of them (then nobody else is served). So a
 * storage command whose data block is large and not all here yet reserves
 * room for the whole block in its lcore's stage pool and moves bytes out of
 * the receive buffers as they arrive, giving the buffers (and the TCP window)
 * back at once. When the block is complete the store copies it from the
 * stage into the item (wc_stage_copy is a wc_copy_fn), on this lcore or on
 * the partition's owner, and the stage goes back to the pool.
 *
 * The pool is carved out of the node's --memory (the store gets the rest),
 * in chunks of WC_STAGE_CHUNK bytes linked through their headers. A value is
 * admitted only when the pool has room for all of it, so every admitted
 * upload can finish; one that finds no room waits in the receive buffers
 * (bounded by TCP's window, which shrinks under buffer pressure) until an
 * upload in progress finishes or is cut off.
 *
 * Single-threaded per pool (its lcore); the chunks of a staged value may be
 * read by the partition owner's lcore while the write is in flight.
 */
#ifndef WC_STORE_STAGE_H
#define WC_STORE_STAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "mem.h"

#define WC_STAGE_CHUNK (64u << 10)

struct wc_stage_chunk;

struct wc_stage_pool {
	uint8_t *base;
	uint64_t bytes;			/* the region */
	const struct wc_mem_ops *mem;
	struct wc_stage_chunk *free;
	uint32_t nchunks, nfree;
	/* counters */
	uint64_t admitted;		/* values staged */
	uint64_t refused;		/* admissions refused for want of room (then retried) */
	uint64_t staged_bytes;		/* bytes moved into the stage */
};

/* One value being received. */
struct wc_stage {
	struct wc_stage_chunk *head, *tail;
	uint64_t want;			/* bytes the value will have */
	uint64_t len;			/* bytes received so far */
};

/* A pool of bytes (rounded down to whole chunks; 0 makes an empty pool). */
int wc_stage_pool_init(struct wc_stage_pool *p, uint64_t bytes, const struct wc_mem_ops *mem,
		       const char *name);
void wc_stage_pool_fini(struct wc_stage_pool *p);

/* Bytes currently reserved by values being received. */
static inline uint64_t wc_stage_pool_in_use(const struct wc_stage_pool *p)
{
	return (uint64_t)(p->nchunks - p->nfree) * WC_STAGE_CHUNK;
}

/* Bytes a single chunk holds (a raw chunk from wc_stage_chunk_get). */
#define WC_STAGE_CHUNK_DATA (WC_STAGE_CHUNK - 16u)

/*
 * One chunk for other request memory (a Redis command's copied arguments):
 * WC_STAGE_CHUNK_DATA bytes, 16-byte aligned, or NULL when the pool is empty.
 */
void *wc_stage_chunk_get(struct wc_stage_pool *p);
void wc_stage_chunk_put(struct wc_stage_pool *p, void *data);

/* Reserve room for want bytes; false (s untouched) when the pool lacks it. */
bool wc_stage_admit(struct wc_stage_pool *p, struct wc_stage *s, uint64_t want);

/* Append n bytes (at most want - len). */
void wc_stage_put(struct wc_stage *s, const void *data, uint64_t n);

/* Give every chunk back; s is empty afterwards. */
void wc_stage_release(struct wc_stage_pool *p, struct wc_stage *s);

/* Copy len bytes from offset off of the staged value to dst. */
void wc_stage_read(const struct wc_stage *s, uint64_t off, void *dst, uint64_t len);

/* Where a store request reads a staged value (wc_copy_fn's argument). */
struct wc_stage_src {
	const struct wc_stage *stage;
	uint64_t off;
};

/* wc_copy_fn over a struct wc_stage_src. */
void wc_stage_copy(void *dst, uint64_t len, void *arg);

#endif
