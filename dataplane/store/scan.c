/*
 * scan.c - reader-side walk over a partition's index (see scan.h).
 */
#include "part.h"
#include "scan.h"

unsigned wc_part_scan_keys(const struct wc_part *p, uint32_t *cursor, unsigned max_buckets,
			   wc_scan_want_fn want, void *arg, struct wc_scan_key *out,
			   unsigned max_keys, bool *pass_done)
{
	uint32_t b = *cursor;
	unsigned n = 0, visited = 0;

	*pass_done = false;
	while (visited < max_buckets && b < p->ix.nbuckets && max_keys - n >= WC_BUCKET_SLOTS) {
		const struct wc_bucket *bk = &p->ix.b[b];

		for (unsigned i = 0; i < WC_BUCKET_SLOTS; i++) {
			uint32_t loc;
			const struct wc_item *it;
			uint8_t klen;

			if (WC_LOAD_ACQ(&bk->tag[i]) == 0)
				continue;
			loc = WC_LOAD_ACQ(&bk->loc[i]);
			if (!wc_loc_is_item(loc))
				continue;
			it = wc_loc_item(p, loc);
			/*
			 * (no skipping items marked unlinked: the owner marks an
			 * item it moves (evict.c, move_item) before it points the
			 * slot at the copy, so a walk meeting the old copy would
			 * miss the key; callers look every key up again anyway)
			 */
			klen = WC_LOAD(&it->klen);
			if (klen == 0 || klen > WC_KEY_MAX)
				continue;
			memcpy(out[n].key, wc_item_key(it), klen);
			out[n].klen = klen;
			if (want && !want(out[n].key, klen, arg))
				continue;
			n++;
		}
		b++;
		visited++;
	}
	if (b >= p->ix.nbuckets) {
		b = 0;
		*pass_done = true;
	}
	*cursor = b;
	return n;
}

uint32_t wc_part_slot_keys(const struct wc_part *p, unsigned slot)
{
	return p->slot_keys && slot < WC_SLOTS ? WC_LOAD(&p->slot_keys[slot]) : 0;
}

bool wc_part_counts_slots(const struct wc_part *p)
{
	return p->slot_keys != NULL;
}

uint64_t wc_part_index_moves(const struct wc_part *p)
{
	return WC_LOAD(&p->st.index_moves);
}

uint32_t wc_part_index_buckets(const struct wc_part *p)
{
	return p->ix.nbuckets;
}
