/*
 * crawl.c - proactive expiry: the owner's crawler.
 *
 * In the owner's idle time (wc_part_maintain, called from the poll loop) a
 * cursor walks each log from head to tail, reading item headers in order.
 * Expired and flushed items are unlinked and counted as reclaimed, so their
 * bytes stop counting as used at once and the eviction policy never has to
 * choose between them and live items. Their log space is reused when the
 * head passes, by copying the surviving items forward (evict.c).
 *
 * It also reclaims the parts of deleted, expired or evicted containers
 * (container.h), which no reader can reach any more.
 *
 * The crawler also keeps the 16-bit access times from wrapping: an item idle
 * for more than WC_IDLE_MAX seconds is pinned there, so meta's "l" flag is
 * exact up to WC_IDLE_MAX and saturates beyond. This needs a full pass at
 * least every (65536 - WC_IDLE_MAX) seconds; a pass over millions of items
 * takes well under a second of crawler budget.
 *
 * After a full lap of a log the crawler rests (walks nothing in that log)
 * for WC_CRAWL_REST_MS: lapping again at once found nothing to do, yet cost
 * the serving lcore 5-7% at saturation. It resumes early for work it knows
 * of: a flush to sweep (flush > flush_clean), the log's earliest expiry
 * coming due (crawl_next_exp: what the last lap saw, lowered by every write
 * that sets an expiry, wc_crawl_note_expiry), or container parts that may
 * have become orphans (crawl_wake: wc_c_header_gone, failed builds). So an
 * expired item is still reclaimed within one lap of the first maintenance
 * pass after its expiry (readers never see it meanwhile: they check it).
 * Access times are pinned on every lap, and laps are at most
 * WC_CRAWL_REST_MS apart, far below the 65536 - WC_IDLE_MAX seconds allowed.
 */
#include "part.h"

#define WC_CRAWL_REST_MS 1000u

/* a rest and a lap (a minute, generously) fit many times before an atime can wrap */
_Static_assert(WC_CRAWL_REST_MS / 1000u + 60u < 65536u - WC_IDLE_MAX,
	       "the crawler's rest must leave room to pin access times before they wrap");

static uint64_t clock_ms(const struct wc_clock *c)
{
	return (uint64_t)c->now * 1000u + c->ms;
}

/* Does the log's crawler rest now? Leaving a rest begins a lap. */
static bool resting(struct wc_part *p, struct wc_log *lg, uint64_t now_ms)
{
	uint8_t bit = (uint8_t)(1u << lg->id);

	if (lg->crawl_rest_until == 0)
		return false;
	if (now_ms < lg->crawl_rest_until && !(p->crawl_wake & bit) &&
	    lg->flush <= lg->flush_clean &&
	    (lg->crawl_next_exp == 0 || now_ms < lg->crawl_next_exp))
		return true;
	lg->crawl_rest_until = 0;
	p->crawl_wake &= (uint8_t)~bit;	/* this lap sees whatever woke it */
	return false;
}

/* A lap is done: rest, unless something changed that it may have missed. */
static void lap_done(struct wc_part *p, struct wc_log *lg, uint64_t now_ms)
{
	uint8_t bit = (uint8_t)(1u << lg->id);

	lg->crawl = lg->head;
	p->st.crawler_passes++;
	lg->crawl_next_exp = lg->crawl_lap_exp;
	lg->crawl_lap_exp = 0;
	if (p->crawl_wake & bit) {
		p->crawl_wake &= (uint8_t)~bit;	/* the next lap begins now */
		return;
	}
	lg->crawl_rest_until = now_ms + WC_CRAWL_REST_MS;
	p->st.crawler_rests++;
}

/*
 * Remember the earliest expiry of the live items this lap passes (the
 * crawl_next_exp it also lowers is not read while a lap is under way, and
 * the lap's end replaces it).
 */
static void note_expiry(struct wc_log *lg, const struct wc_item *it)
{
	uint32_t e = wc_item_exptime(it);

	if (e)
		wc_crawl_note_expiry(lg, e, wc_item_ext(it) & WC_EXT_MS_MASK);
}

static unsigned crawl_log(struct wc_part *p, struct wc_ctx *ctx, struct wc_log *lg,
			  unsigned budget)
{
	uint32_t now = ctx->clock.now;
	uint16_t now16 = (uint16_t)now;
	uint64_t now_ms = clock_ms(&ctx->clock);
	unsigned visited = 0;

	if (lg->size == 0 || resting(p, lg, now_ms))
		return 0;
	while (visited < budget) {
		uint64_t phys;
		struct wc_item *it;

		if (lg->crawl < lg->head)
			lg->crawl = lg->head;
		if (lg->crawl >= lg->flush && lg->flush > lg->flush_clean)
			WC_STORE_REL(&lg->flush_clean, lg->flush);
		if (lg->crawl >= lg->tail) {
			lap_done(p, lg, now_ms);
			break;
		}
		phys = lg->crawl % lg->size;
		it = (struct wc_item *)(void *)(lg->mem + phys);
		visited++;
		if (it->vlen_layout == WC_ITEM_PAD) {
			lg->crawl += lg->size - phys;
			continue;
		}
		lg->crawl += wc_item_size(it);
		if (wc_item_state(it) & WC_STATE_UNLINKED)
			continue;
		if (wc_owner_expired(p, it, &ctx->clock) ||
		    wc_part_flushed(p, lg, lg->head, it, now)) {
			wc_unlink(p, ctx, it, NULL, wc_hash(wc_item_key(it), it->klen),
				  WC_UNLINK_RECLAIM);
		} else if (wc_item_type(it) >= WC_TYPE_INTERNAL &&
			   wc_c_part_state(p, ctx, it, &(uint8_t){ 0 }) == WC_CPART_ORPHAN) {
			/* a part of a container that is gone (container.h) */
			wc_unlink(p, ctx, it, NULL, wc_hash(wc_item_key(it), it->klen),
				  WC_UNLINK_ORPHAN);
		} else {
			if ((uint16_t)(now16 - WC_LOAD(&it->atime)) > WC_IDLE_MAX)
				WC_STORE(&it->atime, (uint16_t)(now16 - WC_IDLE_MAX));
			if (!p->replica)	/* (a replica keeps expired keys: the master's) */
				note_expiry(lg, it);
		}
	}
	p->st.crawler_visited += visited;
	return visited;
}

/*
 * Keep some free room ahead of each log's tail, so writes seldom have to
 * evict or copy forward themselves: that work moves into idle time.
 */
static unsigned clean_ahead(struct wc_part *p, struct wc_ctx *ctx, struct wc_log *lg,
			    unsigned budget)
{
	uint64_t want = lg->cushion + lg->cushion / 2;
	unsigned steps = 0;

	while (steps < budget && lg->head != lg->tail && lg->tail + want > lg->head + lg->size) {
		wc_evict_step(p, ctx, lg, 0);
		steps++;
	}
	return steps;
}

unsigned wc_part_maintain(struct wc_part *p, struct wc_ctx *ctx, unsigned budget)
{
	unsigned done;

	wc_part_apply_due_flush(p, ctx);
	p->in_maintenance = true;
	p->copy_credit += (uint64_t)budget * 64;
	if (p->copy_credit > p->copy_credit_max)
		p->copy_credit = p->copy_credit_max;
	done = crawl_log(p, ctx, &p->log[WC_LOG_SMALL], budget / 4 + 1);
	done += crawl_log(p, ctx, &p->log[WC_LOG_MAIN], budget > done ? budget - done : 1);
	if (p->flushing && p->flush_at == 0 &&
	    p->log[0].flush_clean >= p->log[0].flush && p->log[1].flush_clean >= p->log[1].flush)
		WC_STORE_REL(&p->flushing, 0);	/* every flushed item is unlinked */
	done += clean_ahead(p, ctx, &p->log[WC_LOG_SMALL], budget / 8 + 1);
	done += clean_ahead(p, ctx, &p->log[WC_LOG_MAIN], budget / 8 + 1);
	p->in_maintenance = false;
	return done;
}
