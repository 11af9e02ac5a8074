/*
 * plan.c - how a partition's memory limit is split between the hash index
 * and the item logs (wc_part_plan, store.h).
 *
 * The index is pre-sized, never grown (index.h): SLOTS_PER_ITEM slots for
 * every item of the expected mean size (cfg.item_size_hint) that the limit
 * holds, counting each item's own share of the index. The logs get the rest;
 * the small queue's share of them is cfg.small_pct.
 */
#include "part.h"

/* Index share: 1.25 slots per expected item, ~8 bytes per item. */
#define SLOTS_PER_ITEM_NUM 5
#define SLOTS_PER_ITEM_DEN 4

bool wc_part_plan(const struct wc_part_cfg *cfg, struct wc_part_plan *out)
{
	uint64_t per_item, items;
	uint32_t nb;
	size_t ix_bytes;

	if (!cfg || cfg->mem_bytes < WC_PART_MEM_MIN || cfg->mem_bytes > WC_PART_MEM_MAX ||
	    cfg->max_value == 0 || cfg->max_value > WC_VALUE_MAX_LIMIT ||
	    cfg->item_size_hint < 16 || cfg->small_pct > 50)
		return false;
	per_item = cfg->item_size_hint +
		   sizeof(struct wc_bucket) * SLOTS_PER_ITEM_NUM / SLOTS_PER_ITEM_DEN / WC_BUCKET_SLOTS;
	items = cfg->mem_bytes / per_item;
	ix_bytes = wc_index_bytes_for(items * SLOTS_PER_ITEM_NUM / SLOTS_PER_ITEM_DEN, &nb);
	if (ix_bytes > cfg->mem_bytes / 4)
		ix_bytes = wc_index_bytes_for(cfg->mem_bytes / 4 / sizeof(struct wc_bucket) *
					      WC_BUCKET_SLOTS, &nb);
	out->index_bytes = ix_bytes;
	out->nbuckets = nb;
	out->log_bytes = (cfg->mem_bytes - ix_bytes) & ~(uint64_t)(WC_CACHE_LINE - 1);
	out->small_bytes = (out->log_bytes * cfg->small_pct / 100) & ~(uint64_t)(WC_CACHE_LINE - 1);
	return true;
}
