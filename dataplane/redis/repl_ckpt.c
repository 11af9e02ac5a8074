/*
 * repl_ckpt.c - the stream-offset -> per-partition log offsets ring (see
 * repl_ckpt.h).
 */
#include <string.h>

#include "redis/repl_ckpt.h"

void rd_ckpt_init(struct rd_ckpt_ring *r, uint32_t cap, uint32_t nparts, uint64_t *stream,
		  uint64_t *offs)
{
	*r = (struct rd_ckpt_ring){ .cap = cap, .nparts = nparts, .stream = stream, .offs = offs };
}

void rd_ckpt_reset(struct rd_ckpt_ring *r)
{
	r->first = 0;
	r->n = 0;
	r->newest_ms = 0;
}

static uint32_t slot(const struct rd_ckpt_ring *r, uint32_t i)
{
	return (r->first + i) % r->cap;
}

void rd_ckpt_push(struct rd_ckpt_ring *r, uint64_t s, const uint64_t *offs, int64_t now_ms,
		  int64_t min_gap_ms)
{
	uint32_t at;

	if (r->cap == 0)
		return;
	if (r->n && (r->n == r->cap || now_ms - r->newest_ms < min_gap_ms)) {
		at = slot(r, r->n - 1);		/* move the newest forward */
	} else {
		at = slot(r, r->n);
		r->n++;
		r->newest_ms = now_ms;
	}
	r->stream[at] = s;
	memcpy(&r->offs[(uint64_t)at * r->nparts], offs, r->nparts * sizeof(uint64_t));
}

bool rd_ckpt_ack(struct rd_ckpt_ring *r, uint64_t ack, uint64_t *acked)
{
	uint32_t take = 0;

	while (take < r->n && r->stream[slot(r, take)] <= ack)
		take++;
	if (take == 0)
		return false;
	{
		const uint64_t *o = &r->offs[(uint64_t)slot(r, take - 1) * r->nparts];

		/* (each partition's offset only grows; relaxed stores: WAIT reads them anywhere) */
		for (uint32_t p = 0; p < r->nparts; p++)
			if (o[p] > __atomic_load_n(&acked[p], __ATOMIC_RELAXED))
				__atomic_store_n(&acked[p], o[p], __ATOMIC_RELAXED);
	}
	r->first = slot(r, take);
	r->n -= take;
	return true;
}
