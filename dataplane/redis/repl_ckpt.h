/*
 * repl_ckpt.h - how far a replica has each partition's log, from the one
 * number it acknowledges (REPLCONF ACK <stream offset>).
 *
 * A feed streams the partitions' logs interleaved into one byte stream. As
 * it goes it records checkpoints: "once the replica has applied the stream
 * up to byte S, it has every partition's log up to these offsets" (the
 * feed's read positions of all partitions when byte S was written). An ACK
 * of offset A makes every checkpoint with S <= A true: the newest of them
 * gives the replica's per-partition log offsets, and older ones go.
 *
 * A fixed ring over the caller's memory (no allocation). A checkpoint newer
 * than min_gap_ms, or one that finds the ring full, moves the newest
 * checkpoint forward instead of adding one: later, so an ACK must reach
 * further to count, never the reverse (coarser, never wrong).
 */
#ifndef WC_REDIS_REPL_CKPT_H
#define WC_REDIS_REPL_CKPT_H

#include <stdbool.h>
#include <stdint.h>

struct rd_ckpt_ring {
	uint32_t cap, nparts;
	uint32_t first, n;		/* oldest checkpoint's slot, how many */
	int64_t newest_ms;		/* when the newest was added */
	uint64_t *stream;		/* cap stream offsets */
	uint64_t *offs;			/* cap * nparts log offsets */
};

/* Lay a ring over stream (cap entries) and offs (cap * nparts). */
void rd_ckpt_init(struct rd_ckpt_ring *r, uint32_t cap, uint32_t nparts, uint64_t *stream,
		  uint64_t *offs);

/* Forget every checkpoint (a new sync). */
void rd_ckpt_reset(struct rd_ckpt_ring *r);

/* Stream byte s (not below the newest's) comes after log offsets offs[nparts]. */
void rd_ckpt_push(struct rd_ckpt_ring *r, uint64_t s, const uint64_t *offs, int64_t now_ms,
		  int64_t min_gap_ms);

/*
 * The replica acknowledged stream offset ack: copy the newest checkpoint at
 * or below it into acked[nparts] (drop it and the older ones). true when
 * acked changed.
 */
bool rd_ckpt_ack(struct rd_ckpt_ring *r, uint64_t ack, uint64_t *acked);

#endif
