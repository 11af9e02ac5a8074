/*
 * footprint.c - where a partition's bytes are (wc_part_footprint, store.h):
 * item payload, headers and padding counted over every linked item, index
 * slots and their ghosts, and each log's cushion, free room and dead
 * records. A walk of the whole index: for benchmarks and diagnostics on the
 * owner, never for the packet path.
 */
#include <string.h>

#include "part.h"

static void count_item(const struct wc_item *it, struct wc_part_footprint *out)
{
	uint64_t head = sizeof(*it) + wc_item_extra_bytes(wc_item_layout(it));
	uint64_t payload = (uint64_t)it->klen + wc_item_vlen(it);

	out->items++;
	out->payload_bytes += payload;
	out->header_bytes += head;
	out->pad_bytes += wc_item_size(it) - head - payload;
}

void wc_part_footprint(const struct wc_part *p, struct wc_part_footprint *out)
{
	uint64_t linked = 0;

	memset(out, 0, sizeof(*out));
	out->limit_bytes = p->cfg.mem_bytes;
	out->index_bytes = p->index_size;
	out->index_slots = (uint64_t)p->ix.nbuckets * WC_BUCKET_SLOTS;
	for (uint32_t b = 0; b < p->ix.nbuckets; b++) {
		const struct wc_bucket *bk = &p->ix.b[b];

		for (unsigned i = 0; i < WC_BUCKET_SLOTS; i++) {
			if (bk->tag[i] == 0)
				continue;
			if (wc_loc_is_item(bk->loc[i]))
				count_item(wc_loc_item(p, bk->loc[i]), out);
			else
				out->ghost_slots++;
		}
	}
	linked = out->payload_bytes + out->header_bytes + out->pad_bytes;
	for (int l = 0; l < 2; l++) {
		const struct wc_log *lg = &p->log[l];
		uint64_t used = lg->tail - lg->head, free = lg->size - used;
		uint64_t cushion = free < lg->cushion ? free : lg->cushion;

		out->cushion_bytes += cushion;
		out->free_bytes += free - cushion;
		out->dead_bytes += used;
	}
	/* the logs' used bytes hold the linked items and dead records */
	out->dead_bytes -= linked;
	out->split_rest_bytes = p->cfg.mem_bytes - p->index_size - p->arena_size;
}
