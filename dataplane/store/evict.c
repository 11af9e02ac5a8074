/*
 * evict.c - the eviction policy, S3-FIFO over two logs, and unlinking.
 *
 * Chosen by measured miss ratio (tools/bench/policy_sim.c prints the
 * comparison on every `make bench`): on a Zipf 0.99 trace with the cache at
 * 10% of the working set S3-FIFO missed 0.193 against exact LRU's 0.231,
 * 2-bit CLOCK's 0.216 and FIFO's 0.262.
 *
 * New items enter the small log (10% of memory). At the small head an item
 * that was read since it arrived is promoted to main; one that was not is
 * evicted and remembered as a ghost in the index, so if it comes back soon it
 * goes straight to main. At the main head an item with a non-zero frequency
 * is reinserted at the tail with its frequency decremented (2-bit CLOCK);
 * otherwise it is evicted.
 *
 * As in S3-FIFO, where the small queue only evicts once the whole cache is
 * full, cold small-queue items move to main while main has free room. And
 * nothing live is evicted while main holds less than 7/8 of its usable bytes
 * in live items: cold items are then copied forward instead, which is how
 * the space of deleted, overwritten and expired items is reclaimed without
 * pushing anything out. At that fill a byte freed costs at most 7 bytes
 * copied on average; copying is paid from a credit each write tops up by 8x
 * its size (capped, see part.c), so runs of live items are absorbed without
 * evictions while no single write can sweep the whole log. The owner's idle
 * time (wc_part_maintain) does this work ahead of the writes.
 *
 * A container's parts (member buckets, container.h) are kept or evicted by
 * their header's frequency, since a container is as hot as its header; one
 * whose container is gone is dropped; evicting one evicts its container.
 */
#include <string.h>

#include "part.h"

void wc_account_link(struct wc_part *p, const struct wc_item *it)
{
	struct wc_log *lg = (struct wc_log *)wc_loc_log(p, wc_item_loc(p, it));

	lg->live_bytes += wc_item_size(it);
	lg->live_items++;
	if (wc_item_type(it) < WC_TYPE_INTERNAL) {
		p->st.keys++;
		if (wc_item_exptime(it))
			p->st.expiring++;
	}
}

void wc_account_unlink(struct wc_part *p, const struct wc_item *it)
{
	struct wc_log *lg = (struct wc_log *)wc_loc_log(p, wc_item_loc(p, it));

	lg->live_bytes -= wc_item_size(it);
	lg->live_items--;
	if (wc_item_type(it) < WC_TYPE_INTERNAL) {
		p->st.keys--;
		if (wc_item_exptime(it))
			p->st.expiring--;
	}
}

/* An evicted or expired key, for whoever listens (keyspace events). */
static void unlink_event(struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *it,
			 enum wc_unlink_why why)
{
	const struct wc_log *lg = wc_loc_log(p, wc_item_loc(p, it));

	if (wc_item_type(it) >= WC_TYPE_INTERNAL)
		return;		/* a container's part is no key */
	if (why == WC_UNLINK_EVICT)
		wc_kev(ctx, p, WC_KEV_EVICTED, wc_item_key(it), it->klen);
	else if (wc_item_expired(it, &ctx->clock) &&
		 !wc_part_flushed(p, lg, lg->head, it, ctx->clock.now))
		wc_kev(ctx, p, WC_KEV_EXPIRED, wc_item_key(it), it->klen);
}

void wc_unlink(struct wc_part *p, struct wc_ctx *ctx, struct wc_item *it,
	       const struct wc_slot *slot, uint64_t h, enum wc_unlink_why why)
{
	struct wc_slot found;
	uint8_t before;

	if (!slot) {
		if (!wc_index_find_loc(p, h, wc_item_loc(p, it), &found))
			return;	/* not linked: nothing to do */
		slot = &found;
	}
	if (WC_REPL_ON(p))
		wc_repl_note_unlink(p, ctx, it);
	if (wc_unlikely(wc_kev_hook(ctx) != NULL) &&
	    (why == WC_UNLINK_EVICT || why == WC_UNLINK_EXPIRED || why == WC_UNLINK_RECLAIM))
		unlink_event(p, ctx, it, why);
	if (why == WC_UNLINK_EVICT && p->log[WC_LOG_SMALL].size &&
	    wc_loc_log(p, wc_item_loc(p, it))->id == WC_LOG_SMALL)
		wc_index_make_ghost(p, slot, h);
	else
		wc_index_clear(p, slot, h);
	before = __atomic_fetch_or(&it->state, WC_STATE_UNLINKED, __ATOMIC_ACQ_REL);
	wc_account_unlink(p, it);
	wc_slot_keys_adj(p, it, -1);
	p->mutations++;
	switch (why) {
	case WC_UNLINK_EVICT:
		p->st.evictions++;
		if (!(before & WC_STATE_FETCHED))
			p->st.evicted_unfetched++;
		break;
	case WC_UNLINK_RECLAIM:
		p->st.reclaimed++;
		/* fall through */
	case WC_UNLINK_EXPIRED:
		p->st.expirations++;
		break;
	case WC_UNLINK_ORPHAN:
		p->st.orphans++;
		break;
	case WC_UNLINK_DELETE:
	case WC_UNLINK_REPLACED:
		break;
	}
	wc_c_note_gone(p, it, NULL);	/* its parts may be orphans now */
	/* a container is evicted as a whole: its header goes with any part */
	if (why == WC_UNLINK_EVICT && wc_item_type(it) >= WC_TYPE_INTERNAL)
		wc_c_part_evicted(p, ctx, it);
}

/*
 * Copy a linked item to dst's tail and point its index slot at the copy.
 * Readers that still hold the old copy see it marked unlinked; the sticky
 * bits they set before that are carried over.
 */
static bool move_item(struct wc_part *p, struct wc_ctx *ctx, struct wc_item *it, uint64_t sz,
		      uint64_t h, struct wc_log *dst, uint8_t freq, bool same_log)
{
	struct wc_slot s;
	struct wc_item *n;
	uint8_t before;

	if (!wc_index_find_loc(p, h, wc_item_loc(p, it), &s))
		return false;
	n = wc_log_reserve(p, ctx, dst, sz, same_log);
	if (!n)
		return false;
	memcpy(n, it, sz);
	before = __atomic_fetch_or(&it->state, WC_STATE_UNLINKED, __ATOMIC_ACQ_REL);
	n->state = (uint8_t)((before & (WC_STATE_FETCHED | WC_STATE_WIN | WC_STATE_STALE |
					WC_STATE_VIVIFIED)) | freq);
	wc_account_unlink(p, it);
	WC_STORE_REL(&s.b->loc[s.i], wc_item_loc(p, n));
	wc_account_link(p, n);
	if (wc_item_exptime(n))		/* (dst's crawler may be resting: crawl.c) */
		wc_crawl_note_expiry(dst, wc_item_exptime(n), wc_item_ext(n) & WC_EXT_MS_MASK);
	p->copy_credit = p->copy_credit > sz ? p->copy_credit - sz : 0;
	p->mutations++;
	p->st.relocations++;
	return true;
}

static bool main_under_pressure(const struct wc_part *p, uint64_t incoming)
{
	const struct wc_log *m = &p->log[WC_LOG_MAIN];

	return m->live_bytes + incoming > (m->size - m->cushion) / 8 * 7;
}

/* Free bytes at main's tail that need no head work (S3-FIFO's "cache not full"). */
static bool main_has_room(const struct wc_part *p, uint64_t sz)
{
	const struct wc_log *m = &p->log[WC_LOG_MAIN];

	return m->tail + 2 * sz + m->cushion <= m->head + m->size;
}

static void decide(struct wc_part *p, struct wc_ctx *ctx, struct wc_log *lg, struct wc_item *it,
		   uint64_t sz, uint64_t h, uint64_t need)
{
	uint8_t freq = wc_item_state(it) & WC_STATE_FREQ;
	bool pressure = main_under_pressure(p, sz + need);

	if (wc_item_type(it) >= WC_TYPE_INTERNAL) {
		/* a container part is as hot as its container's header */
		uint8_t hs = 0;

		switch (wc_c_part_state(p, ctx, it, &hs)) {
		case WC_CPART_ORPHAN:
			wc_unlink(p, ctx, it, NULL, h, WC_UNLINK_ORPHAN);
			return;
		case WC_CPART_BUILDING:
			freq = 1;
			break;
		case WC_CPART_LIVE:
			freq = hs & WC_STATE_FREQ;
			break;
		}
	}

	/* while main still has untouched room, the small queue spills into it */
	if (pressure && lg->id == WC_LOG_SMALL && main_has_room(p, sz))
		pressure = false;
	bool may_copy = p->copy_credit >= sz;
	struct wc_log *main = &p->log[WC_LOG_MAIN];

	if (may_copy && (freq > 0 || !pressure)) {
		if (lg->id == WC_LOG_SMALL) {
			if (move_item(p, ctx, it, sz, h, main, 0, false))
				return;
		} else if (move_item(p, ctx, it, sz, h, main, freq ? (uint8_t)(freq - 1) : 0,
				     true)) {
			return;
		}
	}
	wc_unlink(p, ctx, it, NULL, h, WC_UNLINK_EVICT);
}

bool wc_evict_step(struct wc_part *p, struct wc_ctx *ctx, struct wc_log *lg, uint64_t need)
{
	uint64_t phys, sz;
	struct wc_item *it;

	if (lg->head == lg->tail)
		return false;
	phys = lg->head % lg->size;
	it = (struct wc_item *)(void *)(lg->mem + phys);
	if (it->vlen_layout == WC_ITEM_PAD) {
		sz = lg->size - phys;
	} else {
		sz = wc_item_size(it);
		if (!(wc_item_state(it) & WC_STATE_UNLINKED)) {
			uint64_t h = wc_hash(wc_item_key(it), it->klen);

			if (wc_owner_expired(p, it, &ctx->clock) ||
			    wc_part_flushed(p, lg, lg->head, it, ctx->clock.now))
				wc_unlink(p, ctx, it, NULL, h,
					  p->in_maintenance ? WC_UNLINK_RECLAIM : WC_UNLINK_EXPIRED);
			else
				decide(p, ctx, lg, it, sz, h, need);
		}
	}
	WC_STORE_REL(&lg->head, lg->head + sz);
	if (lg->crawl < lg->head)
		lg->crawl = lg->head;
	wc_log_note_head(lg);
	return true;
}
