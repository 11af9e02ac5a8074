/*
 * log.c - circular item logs: space reservation at the tail and safe reuse
 * of memory behind the head.
 *
 * A record that leaves the head (evicted, promoted, reinserted) may still be
 * in a reader's hands on another lcore. Its memory becomes reusable only
 * after an RCU grace period: as the head advances the log hands liburcu a
 * ticket (call_rcu) naming the head position; the callback publishes it as
 * gp_done. A write that finds no reusable room waits with synchronize_rcu,
 * which in a polling dataplane (every lcore passes a quiescent state per
 * loop) is short and, with tickets issued every 1/64 of the log, rare.
 *
 * In sanitizer builds memory that is free (never written, or reclaimed after
 * a grace period) is poisoned, so a reader touching a reclaimed item is
 * caught by ASan.
 */
#include <string.h>

#include "part.h"

#if defined(__SANITIZE_ADDRESS__)
#define WC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WC_ASAN 1
#endif
#endif

#ifdef WC_ASAN
#include <sanitizer/asan_interface.h>

static void poison_range(struct wc_log *lg, uint64_t from, uint64_t to, bool poison)
{
	uint64_t len, phys, first;

	if (to <= from)
		return;
	len = to - from;
	if (len > lg->size)
		len = lg->size;
	phys = from % lg->size;
	first = phys + len > lg->size ? lg->size - phys : len;
	if (poison) {
		ASAN_POISON_MEMORY_REGION(lg->mem + phys, first);
		if (first < len)
			ASAN_POISON_MEMORY_REGION(lg->mem, len - first);
	} else {
		ASAN_UNPOISON_MEMORY_REGION(lg->mem + phys, first);
		if (first < len)
			ASAN_UNPOISON_MEMORY_REGION(lg->mem, len - first);
	}
}
#else
static void poison_range(struct wc_log *lg, uint64_t from, uint64_t to, bool poison)
{
	(void)lg;
	(void)from;
	(void)to;
	(void)poison;
}
#endif

void wc_log_setup(struct wc_log *lg, uint8_t id, uint8_t *mem, uint64_t size, uint32_t loc_base)
{
	memset(lg, 0, sizeof(*lg));
	lg->id = id;
	lg->mem = mem;
	lg->size = size & ~(uint64_t)(WC_ITEM_ALIGN - 1);
	lg->loc_base = loc_base;
	lg->cushion = (lg->size / 64) & ~(uint64_t)(WC_ITEM_ALIGN - 1);
}

void wc_log_poison_all(struct wc_log *lg, bool poison)
{
	if (lg->size)
		poison_range(lg, 0, lg->size, poison);
}

static void gp_ticket_done(struct rcu_head *rh)
{
	struct wc_gp_ticket *t = caa_container_of(rh, struct wc_gp_ticket, rh);
	uint64_t cur = __atomic_load_n(&t->log->gp_done, __ATOMIC_RELAXED);

	while (cur < t->upto &&
	       !__atomic_compare_exchange_n(&t->log->gp_done, &cur, t->upto, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
	__atomic_store_n(&t->busy, 0, __ATOMIC_RELEASE);
}

void wc_log_note_head(struct wc_log *lg)
{
	if (lg->head - lg->gp_asked < lg->size / 64)
		return;
	for (unsigned i = 0; i < WC_GP_TICKETS; i++) {
		struct wc_gp_ticket *t = &lg->tickets[i];

		if (__atomic_load_n(&t->busy, __ATOMIC_ACQUIRE))
			continue;
		t->busy = 1;
		t->log = lg;
		t->upto = lg->head;
		lg->gp_asked = lg->head;
		call_rcu(&t->rh, gp_ticket_done);
		return;
	}
}

static void refresh_reusable(struct wc_log *lg)
{
	uint64_t done = __atomic_load_n(&lg->gp_done, __ATOMIC_ACQUIRE);

	if (done > lg->reusable) {
		poison_range(lg, lg->reusable, done, true);
		lg->reusable = done;
	}
}

static void wait_grace(struct wc_part *p, struct wc_log *lg)
{
	/* liburcu takes this (online) thread offline for the wait */
	synchronize_rcu();
	poison_range(lg, lg->reusable, lg->head, true);
	lg->reusable = lg->head;
	p->st.grace_waits++;
}

struct wc_item *wc_log_reserve(struct wc_part *p, struct wc_ctx *ctx, struct wc_log *lg,
			       uint64_t need, bool relocation)
{
	uint64_t phys, pad, end;

	if (lg->size == 0 || need > lg->size)
		return NULL;
	for (;;) {
		phys = lg->tail_phys;
		pad = phys + need > lg->size ? lg->size - phys : 0;
		end = lg->tail + pad + need;
		if (relocation) {
			if (end > lg->head + lg->size)
				return NULL;
		} else if (end + lg->cushion > lg->head + lg->size) {
			if (!wc_evict_step(p, ctx, lg, need))
				return NULL;
			continue;
		}
		if (end > lg->reusable + lg->size) {
			refresh_reusable(lg);
			if (end > lg->reusable + lg->size)
				wait_grace(p, lg);
			continue;
		}
		break;
	}
	poison_range(lg, lg->tail, end, false);
	if (pad) {
		uint32_t marker = WC_ITEM_PAD;

		memcpy(lg->mem + phys, &marker, sizeof(marker));
		phys = 0;
	}
	lg->tail = end;
	lg->tail_phys = phys + need < lg->size ? phys + need : 0;	/* (end % size) */
	return (struct wc_item *)(void *)(lg->mem + phys);
}
