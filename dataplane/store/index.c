/*
 * index.c - the writer's side of the hash index (layout and reader rules in
 * index.h): finding slots, linking, clearing, ghosts and index-full
 * eviction. Only the partition's owner calls these.
 */
#include "part.h"

size_t wc_index_bytes_for(uint64_t slots_wanted, uint32_t *nbuckets)
{
	uint64_t nb = (slots_wanted + WC_BUCKET_SLOTS - 1) / WC_BUCKET_SLOTS;

	if (nb < 2)
		nb = 2;
	if (nb > UINT32_MAX)
		nb = UINT32_MAX;
	*nbuckets = (uint32_t)nb;
	return (size_t)nb * sizeof(struct wc_bucket);
}

static uint32_t bucket_no(const struct wc_part *p, const struct wc_bucket *b)
{
	return (uint32_t)(b - p->ix.b);
}

bool wc_index_find_owner(struct wc_part *p, uint64_t h, const void *key, uint32_t klen,
			 struct wc_slot *s)
{
	struct wc_hpos pos;
	struct wc_bucket *b;

	wc_index_pos(&p->ix, h, &pos);
	b = &p->ix.b[pos.b1];
	for (int pass = 0; pass < 2; pass++) {
		uint32_t m = wc_bucket_match(b, pos.tag);

		while (m) {
			unsigned i = (unsigned)__builtin_ctz(m);
			uint32_t loc = b->loc[i];

			m &= m - 1;
			if (wc_loc_is_item(loc) && wc_item_key_eq(wc_loc_item(p, loc), key, klen)) {
				s->b = b;
				s->i = i;
				return true;
			}
		}
		if (pass == 0 && b->spill == 0)
			break;
		b = &p->ix.b[pos.b2];
	}
	return false;
}

bool wc_index_find_loc(struct wc_part *p, uint64_t h, uint32_t loc, struct wc_slot *s)
{
	struct wc_hpos pos;
	uint32_t bn[2];

	wc_index_pos(&p->ix, h, &pos);
	bn[0] = pos.b1;
	bn[1] = pos.b2;
	for (int k = 0; k < 2; k++) {
		struct wc_bucket *b = &p->ix.b[bn[k]];
		uint32_t m = wc_bucket_match(b, pos.tag);

		while (m) {
			unsigned i = (unsigned)__builtin_ctz(m);

			m &= m - 1;
			if (b->loc[i] == loc) {
				s->b = b;
				s->i = i;
				return true;
			}
		}
	}
	return false;
}

/* A ghost stays meaningful for as many evictions as main holds items. */
static bool ghost_live(const struct wc_part *p, uint32_t loc)
{
	uint32_t age = (p->ghost_clock - (loc & WC_GHOST_SEQ)) & WC_GHOST_SEQ;
	uint64_t window = p->log[WC_LOG_MAIN].live_items;

	if (window < 64)
		window = 64;
	return age < window;
}

bool wc_index_take_ghost(struct wc_part *p, uint64_t h)
{
	struct wc_hpos pos;
	uint32_t bn[2];

	if (p->log[WC_LOG_SMALL].size == 0)
		return false;
	wc_index_pos(&p->ix, h, &pos);
	bn[0] = pos.b1;
	bn[1] = pos.b2;
	for (int k = 0; k < 2; k++) {
		struct wc_bucket *b = &p->ix.b[bn[k]];
		uint32_t m = wc_bucket_match(b, pos.tag);

		while (m) {
			unsigned i = (unsigned)__builtin_ctz(m);
			uint32_t loc = b->loc[i];

			m &= m - 1;
			if (!wc_loc_is_item(loc) && ghost_live(p, loc)) {
				WC_STORE_REL(&b->tag[i], 0);
				return true;
			}
		}
	}
	return false;
}

void wc_index_clear(struct wc_part *p, const struct wc_slot *s, uint64_t h)
{
	struct wc_hpos pos;

	wc_index_pos(&p->ix, h, &pos);
	WC_STORE_REL(&s->b->tag[s->i], 0);
	if (bucket_no(p, s->b) != pos.b1) {
		struct wc_bucket *b1 = &p->ix.b[pos.b1];

		WC_STORE(&b1->spill, b1->spill - 1);
	}
}

void wc_index_make_ghost(struct wc_part *p, const struct wc_slot *s, uint64_t h)
{
	struct wc_hpos pos;

	wc_index_pos(&p->ix, h, &pos);
	WC_STORE_REL(&s->b->loc[s->i], WC_LOC_GHOST | (p->ghost_clock++ & WC_GHOST_SEQ));
	if (bucket_no(p, s->b) != pos.b1) {
		struct wc_bucket *b1 = &p->ix.b[pos.b1];

		WC_STORE(&b1->spill, b1->spill - 1);
	}
}

/*
 * Eviction order for index-full victims, lowest first, following the
 * policy: small-queue items never read, main items with frequency 0, then
 * read small items and main items with frequency; ties go to the item
 * nearest its log's head.
 */
static double victim_rank(const struct wc_part *p, uint32_t loc)
{
	const struct wc_log *lg = wc_loc_log(p, loc);
	const struct wc_item *it = wc_loc_item(p, loc);
	uint64_t phys = (uint64_t)(loc - lg->loc_base) * WC_ITEM_ALIGN;
	double nearness = (double)(wc_log_vpos(lg, lg->head, phys) - lg->head) / (double)lg->size;
	unsigned tier = (wc_item_state(it) & WC_STATE_FREQ ? 2u : 0u) + (lg->id == WC_LOG_MAIN);

	return tier + nearness;
}

static int free_slot(const struct wc_part *p, const struct wc_bucket *b, bool any_ghost)
{
	for (unsigned i = 0; i < WC_BUCKET_SLOTS; i++) {
		if (b->tag[i] == 0)
			return (int)i;
		if (!wc_loc_is_item(b->loc[i]) && (any_ghost || !ghost_live(p, b->loc[i])))
			return (int)i;
	}
	return -1;
}

/*
 * Make room in a full bucket by moving one of its entries that sits in its
 * first-choice bucket to its second choice. Only that direction is safe for
 * readers: the copy (with the spill count raised first) is published before
 * the original is cleared, and readers look at b1 before b2. Returns the
 * freed slot or -1.
 */
static int displace(struct wc_part *p, struct wc_bucket *b, bool any_ghost)
{
	uint32_t here = bucket_no(p, b);

	for (unsigned j = 0; j < WC_BUCKET_SLOTS; j++) {
		const struct wc_item *it;
		struct wc_hpos epos;
		struct wc_bucket *alt;
		int k;

		if (!wc_loc_is_item(b->loc[j]))
			continue;
		it = wc_loc_item(p, b->loc[j]);
		wc_index_pos(&p->ix, wc_hash(wc_item_key(it), it->klen), &epos);
		/*
		 * only to a later bucket: a walk in bucket order (SCAN, scan.h)
		 * then meets every entry at least once, before or after its move
		 */
		if (epos.b1 != here || epos.b2 <= here)
			continue;
		alt = &p->ix.b[epos.b2];
		if ((k = free_slot(p, alt, any_ghost)) < 0)
			continue;
		WC_STORE(&b->spill, b->spill + 1);
		WC_STORE_REL(&alt->loc[k], b->loc[j]);
		WC_STORE_REL(&alt->tag[k], b->tag[j]);
		WC_STORE_REL(&b->tag[j], 0);
		p->st.index_moves++;
		return (int)j;
	}
	return -1;
}

void wc_index_insert(struct wc_part *p, struct wc_ctx *ctx, uint64_t h, uint32_t loc)
{
	struct wc_hpos pos;
	struct wc_bucket *b1, *b2, *target = NULL;
	int i = -1;

	wc_index_pos(&p->ix, h, &pos);
	b1 = &p->ix.b[pos.b1];
	b2 = &p->ix.b[pos.b2];
	/* free slots first, then moving a neighbour out, then forgetting ghosts */
	for (int any_ghost = 0; any_ghost < 2 && i < 0; any_ghost++) {
		if ((i = free_slot(p, b1, any_ghost)) >= 0)
			target = b1;
		else if ((i = free_slot(p, b2, any_ghost)) >= 0)
			target = b2;
		else if ((i = displace(p, b1, any_ghost)) >= 0)
			target = b1;
		else if ((i = displace(p, b2, any_ghost)) >= 0)
			target = b2;
	}
	if (i < 0) {
		/* both buckets full of live items: evict the one nearest its head */
		struct wc_bucket *cand[2] = { b1, b2 };
		double best = 1e9;

		for (int k = 0; k < 2; k++) {
			for (unsigned j = 0; j < WC_BUCKET_SLOTS; j++) {
				double n = victim_rank(p, cand[k]->loc[j]);

				if (n < best) {
					best = n;
					target = cand[k];
					i = (int)j;
				}
			}
		}
		struct wc_slot vs = { .b = target, .i = (unsigned)i };
		struct wc_item *victim = wc_loc_item_w(p, target->loc[i]);

		wc_unlink(p, ctx, victim, &vs, wc_hash(wc_item_key(victim), victim->klen),
			  WC_UNLINK_EVICT);
		p->st.index_evictions++;
	}
	if (target == b2)
		WC_STORE(&b1->spill, b1->spill + 1);
	WC_STORE_REL(&target->loc[i], loc);
	WC_STORE_REL(&target->tag[i], pos.tag);
}
