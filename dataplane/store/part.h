/*
 * part.h - partition internals shared by the store's source files.
 *
 * A partition's memory is one arena split into two circular logs (the
 * S3-FIFO small and main queues) and the index. Items are appended at a
 * log's tail and leave at its head, where the eviction policy decides to
 * drop them, promote them (small -> main) or reinsert them (main -> main).
 *
 * Positions in a log are virtual byte counters that only grow; the physical
 * offset is position % size. A record never wraps: the tail pads to the end
 * of the lap first. Memory behind the head is reused only after an RCU grace
 * period (liburcu call_rcu tickets, or synchronize_rcu when a write cannot
 * wait), so readers on other lcores never see it overwritten.
 */
#ifndef WC_STORE_PART_H
#define WC_STORE_PART_H

#include <stdbool.h>
#include <stdint.h>

#include <urcu-qsbr.h>

#include "index.h"
#include "item.h"
#include "kv.h"
#include "store.h"
#include "wirecache/slot.h"

#define WC_LOG_SMALL 0
#define WC_LOG_MAIN  1
#define WC_GP_TICKETS 8

struct wc_log;

struct wc_gp_ticket {
	struct rcu_head rh;
	struct wc_log *log;
	uint64_t upto;
	int busy;
};

struct wc_log {
	uint8_t *mem;		/* first byte of the log */
	uint64_t size;		/* bytes, a multiple of WC_ITEM_ALIGN */
	uint64_t cushion;	/* free bytes kept for relocations */
	uint64_t head;		/* oldest record (readers load it with acquire) */
	uint64_t tail;		/* where the next record goes */
	uint64_t tail_phys;	/* tail % size (kept by wc_log_reserve: no division a write) */
	uint64_t reusable;	/* a grace period has passed for everything below */
	uint64_t gp_done;	/* advanced by call_rcu callbacks */
	uint64_t gp_asked;	/* head position the newest ticket covers */
	uint64_t flush;		/* records below this position are flushed */
	uint64_t flush_clean;	/* the crawler has unlinked every flushed record */
	uint64_t crawl;		/* crawler cursor */
	uint64_t crawl_rest_until;	/* after a full lap the crawler rests till then (clock ms), 0 = walks */
	uint64_t crawl_next_exp;	/* earliest expiry (clock ms) the last lap saw, 0 = none */
	uint64_t crawl_lap_exp;		/* ... the lap under way has seen so far */
	uint64_t live_bytes, live_items;
	uint32_t loc_base;	/* (mem - arena) / WC_ITEM_ALIGN */
	uint8_t id;		/* WC_LOG_SMALL or WC_LOG_MAIN */
	struct wc_gp_ticket tickets[WC_GP_TICKETS];
};

struct wc_part {
	struct wc_part_cfg cfg;
	const struct wc_mem_ops *mem;
	uint8_t *arena;
	uint64_t arena_size;
	struct wc_index ix;
	uint64_t index_size;
	struct wc_log log[2];
	uint64_t max_item;		/* largest record a write may create */
	uint32_t flush_at;		/* pending delayed flush (clock second), 0 = none */
	uint32_t flushing;		/* a flush is pending or not yet swept: readers check items */
	uint32_t ghost_clock;
	uint64_t copy_credit;		/* bytes the policy may still copy forward */
	uint64_t copy_credit_max;
	uint64_t mutations;		/* bumped whenever an item is unlinked or moved */
	bool in_maintenance;		/* inside wc_part_maintain: removals count as reclaimed */
	uint8_t crawl_wake;		/* bit per log: parts may have become orphans since its lap began */
	bool cbuild_lost;		/* a part of the container being built was evicted */
	uint64_t cbuild_cid;		/* container being built (unpublished: not an orphan), 0 = none */
	uint32_t *slot_keys;		/* keys per cluster slot (cfg.slot_keys), else NULL */
	struct wc_rlog *repl;		/* replication log (repl.h), NULL while off */
	uint32_t repl_mute;		/* > 0: the container layer logs this write's effect itself */
	const void *repl_mkey;		/* the key of that write ... */
	uint32_t repl_mklen;
	bool repl_mlost;		/* ... whose DEL was logged meanwhile (evicted on the way) */
	bool replica;			/* expiry is the master's: keep expired keys (repl.h) */
	struct wc_part_stats st;
};

/* Parts may have become orphans: each log's crawler laps again before it rests (crawl.c). */
static inline void wc_crawl_wake(struct wc_part *p)
{
	p->crawl_wake = (uint8_t)((1u << WC_LOG_SMALL) | (1u << WC_LOG_MAIN));
}

/* ---- locations ---- */

static inline const struct wc_item *wc_loc_item(const struct wc_part *p, uint32_t loc)
{
	return (const struct wc_item *)(const void *)(p->arena + (uint64_t)loc * WC_ITEM_ALIGN);
}

static inline struct wc_item *wc_loc_item_w(struct wc_part *p, uint32_t loc)
{
	return (struct wc_item *)(void *)(p->arena + (uint64_t)loc * WC_ITEM_ALIGN);
}

static inline uint32_t wc_item_loc(const struct wc_part *p, const struct wc_item *it)
{
	return (uint32_t)(((const uint8_t *)it - p->arena) / WC_ITEM_ALIGN);
}

static inline const struct wc_log *wc_loc_log(const struct wc_part *p, uint32_t loc)
{
	return loc >= p->log[WC_LOG_MAIN].loc_base ? &p->log[WC_LOG_MAIN] : &p->log[WC_LOG_SMALL];
}

/*
 * An item in lg expires at exptime, ms: the log's crawler wakes from its
 * rest for it then (crawl.c); the lap under way keeps it for the next.
 */
static inline void wc_crawl_note_expiry(struct wc_log *lg, uint32_t exptime, uint32_t ms)
{
	uint64_t at = (uint64_t)exptime * 1000u + ms;

	if (lg->crawl_next_exp == 0 || at < lg->crawl_next_exp)
		lg->crawl_next_exp = at;
	if (lg->crawl_lap_exp == 0 || at < lg->crawl_lap_exp)
		lg->crawl_lap_exp = at;
}

/* The same for item it of p, in whichever log holds it. */
static inline void wc_crawl_note_item_expiry(struct wc_part *p, const struct wc_item *it,
					     uint32_t exptime, uint32_t ms)
{
	wc_crawl_note_expiry((struct wc_log *)wc_loc_log(p, wc_item_loc(p, it)), exptime, ms);
}

/*
 * The virtual position of the record at physical offset phys, given a head
 * position loaded before the record was found (see the proof in part.c:
 * the result is never later than the truth, so a derived CAS never names a
 * future write).
 */
static inline uint64_t wc_log_vpos(const struct wc_log *lg, uint64_t head, uint64_t phys)
{
	uint64_t hp = head % lg->size;

	return head + (phys >= hp ? phys - hp : phys + lg->size - hp);
}

/* ---- log.c ---- */
void wc_log_setup(struct wc_log *lg, uint8_t id, uint8_t *mem, uint64_t size, uint32_t loc_base);
/*
 * Room for need bytes at the tail. A relocation may use the cushion but never
 * evicts or waits; other writes evict through wc_evict_step. Returns the
 * record's address or NULL (relocation: no room; write: nothing left to evict).
 */
struct wc_item *wc_log_reserve(struct wc_part *p, struct wc_ctx *ctx, struct wc_log *lg,
			       uint64_t need, bool relocation);
void wc_log_note_head(struct wc_log *lg);	/* after the head moved: maybe ask for a grace period */
/* Sanitizer builds: mark the whole log free (poison) or give it back (unpoison). */
void wc_log_poison_all(struct wc_log *lg, bool poison);

/* ---- index.c (owner side) ---- */
struct wc_slot {
	struct wc_bucket *b;
	unsigned i;
	bool spilled;		/* found in b2 */
};

bool wc_index_find_owner(struct wc_part *p, uint64_t h, const void *key, uint32_t klen,
			 struct wc_slot *s);
/* Find the slot holding loc for a key hashed to h. */
bool wc_index_find_loc(struct wc_part *p, uint64_t h, uint32_t loc, struct wc_slot *s);
/* Is a recently evicted key with this hash remembered as a ghost? Consumes it. */
bool wc_index_take_ghost(struct wc_part *p, uint64_t h);
/* Link loc for hash h in a free (or ghost) slot, evicting if both buckets are full. */
void wc_index_insert(struct wc_part *p, struct wc_ctx *ctx, uint64_t h, uint32_t loc);
void wc_index_clear(struct wc_part *p, const struct wc_slot *s, uint64_t h);
void wc_index_make_ghost(struct wc_part *p, const struct wc_slot *s, uint64_t h);

/*
 * A key (not a container's part) was linked (+1) or unlinked (-1) for good:
 * its slot's count follows. A replacement or a relocation keeps the key
 * linked and changes no count. Owner only; readers load the counts relaxed.
 */
static inline void wc_slot_keys_adj(struct wc_part *p, const struct wc_item *it, int delta)
{
	uint16_t slot;

	if (!p->slot_keys || wc_item_type(it) >= WC_TYPE_INTERNAL)
		return;
	slot = wc_key_slot(wc_item_key(it), it->klen);
	WC_STORE(&p->slot_keys[slot], p->slot_keys[slot] + (uint32_t)delta);
}

/* ---- evict.c ---- */
/* Process the record at lg's head. false when the log is empty. */
bool wc_evict_step(struct wc_part *p, struct wc_ctx *ctx, struct wc_log *lg, uint64_t need);

enum wc_unlink_why { WC_UNLINK_DELETE, WC_UNLINK_REPLACED, WC_UNLINK_EVICT, WC_UNLINK_EXPIRED,
		     WC_UNLINK_RECLAIM, WC_UNLINK_ORPHAN };
/*
 * Remove a linked item from the index (slot known or looked up) and account
 * for it. A key evicted, or one expired (not flushed) whose item is past its
 * time, raises WC_KEV_EVICTED / WC_KEV_EXPIRED through ctx (store.h); every
 * other removal is its caller's to announce.
 */
void wc_unlink(struct wc_part *p, struct wc_ctx *ctx, struct wc_item *it,
	       const struct wc_slot *slot, uint64_t h, enum wc_unlink_why why);
/*
 * A container part (WC_TYPE_BUCKET item, container.h) at a log head or met
 * by the crawler: does its container still live (then *hdr_state is the
 * header's state bits, whose frequency the part is kept or evicted by)?
 */
enum wc_cpart_state { WC_CPART_LIVE, WC_CPART_ORPHAN, WC_CPART_BUILDING };
enum wc_cpart_state wc_c_part_state(struct wc_part *p, struct wc_ctx *ctx,
				    const struct wc_item *it, uint8_t *hdr_state);
/* A container part was evicted: its container goes as a whole (container_gc.c). */
void wc_c_part_evicted(struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *it);
/*
 * Key version old left the index (successor n, or NULL): if old was a
 * bucketed container whose parts n does not take over, they may be orphans
 * now, so the crawler laps again before it rests (container_gc.c).
 */
void wc_c_header_gone(struct wc_part *p, const struct wc_item *old, const struct wc_item *n);

static inline void wc_c_note_gone(struct wc_part *p, const struct wc_item *old,
				  const struct wc_item *n)
{
	uint8_t t = wc_item_type(old);

	if (wc_unlikely(t == WC_TYPE_HASH || t == WC_TYPE_SET))
		wc_c_header_gone(p, old, n);
}
/* Account for a record that became live, or stopped being live, in its log. */
void wc_account_link(struct wc_part *p, const struct wc_item *it);
void wc_account_unlink(struct wc_part *p, const struct wc_item *it);

/* ---- validity, shared by readers and the owner ---- */
bool wc_part_flushed(const struct wc_part *p, const struct wc_log *lg, uint64_t head_seen,
		     const struct wc_item *it, uint32_t now);
uint64_t wc_part_cas(const struct wc_part *p, const struct wc_log *lg, uint64_t head_seen,
		     const struct wc_item *it);
/* The same, for an item whose position in lg is known (vpos: as wc_log_vpos gives it). */
uint64_t wc_part_cas_at(const struct wc_part *p, const struct wc_log *lg, uint64_t vpos,
			const struct wc_item *it);

/* ---- part.c ---- */
/* Fill a view of an item the owner found itself (exact log heads). */
void wc_part_view_owner(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *it,
			unsigned lflags, struct wc_view *out);

/* ---- write.c ---- */
/* What a new version of an item consists of. */
struct wc_version {
	const struct iovec *iov;	/* new value bytes ... */
	unsigned iov_cnt;
	wc_copy_fn copy;		/* ... or a copier for them */
	void *copy_arg;
	wc_kv_fill_fn fill;		/* ... or the whole value, from the old version */
	bool needs_old;			/* fill reads the old version (WC_NOT_FOUND if it vanished) */
	uint64_t new_len;		/* bytes from iov or copy */
	int old_value_at;		/* -1: none, 0: old value first, 1: old value last */
	uint32_t flags;
	uint32_t exptime;		/* 0 = never: the item gets no exptime word */
	bool internal;			/* a container part: bounded by the item limit, not max_value */
	uint32_t ext;			/* ext word (type, expiry ms); 0 = a plain string */
	uint8_t state;			/* WIN / STALE / FETCHED / VIVIFIED bits for the new version */
	bool has_cas;
	uint64_t cas;
};

/*
 * Write a new version of key (replacing old, found in slot, if not NULL).
 * WC_NOT_FOUND means the old version was needed but got evicted while room
 * was made.
 */
enum wc_status wc_write_version(struct wc_part *p, struct wc_ctx *ctx, uint64_t h,
				const void *key, uint32_t klen, struct wc_item *old,
				struct wc_slot *slot, const struct wc_version *v,
				struct wc_write_res *res);
/* Before a write: due flushes, eviction copy credit for need bytes. */
void wc_begin_write(struct wc_part *p, struct wc_ctx *ctx, uint64_t need);
/* The CAS of a linked item, seen from the owner. */
uint64_t wc_owner_cas(const struct wc_part *p, const struct wc_item *it);

/*
 * Key (hash h) held by it, linked in slot s, expires at exptime, ms from now
 * on (exptime 0: never). In place when it has the words for that expiry,
 * else as a new version that has them: the same value, flags, type and state
 * bits, and with keep_cas the same CAS (stored explicitly), as memcached's
 * touch keeps it. The replication log gets the expiry only. Returns the item
 * that holds the key now (it, or the new version, linked at s), or NULL
 * with *err: WC_NOT_FOUND when the key was evicted while room was made,
 * WC_ERR_NOMEM when no room could be made (the key keeps its old expiry).
 */
struct wc_item *wc_item_reexpire(struct wc_part *p, struct wc_ctx *ctx, struct wc_item *it,
				 struct wc_slot *s, uint64_t h, uint32_t exptime, uint32_t ms,
				 bool keep_cas, enum wc_status *err);
/* A delayed flush whose time came takes effect (raising WC_KEV_FLUSH). */
void wc_part_apply_due_flush(struct wc_part *p, struct wc_ctx *ctx);
/* Find a live item as the owner; expired or flushed ones are unlinked on the way. */
struct wc_item *wc_find_live(struct wc_part *p, struct wc_ctx *ctx, uint64_t h, const void *key,
			     uint32_t klen, struct wc_slot *s);


/*
 * Is a linked item past its expiry for the owner's purposes (unlink it)? A
 * replica's owner keeps expired keys, hidden from readers, until its master's
 * DEL comes: a later entry may still change their expiry (repl.h).
 */
static inline bool wc_owner_expired(const struct wc_part *p, const struct wc_item *it,
				    const struct wc_clock *c)
{
	return wc_item_expired(it, c) && !p->replica;
}

/* ---- repl_capture.c: the replication log's capture points (repl.h) ---- */
/* Each is called only when p->repl is set: one predictable branch when off. */
#define WC_REPL_ON(p) wc_unlikely((p)->repl != NULL)
/* A new version n of a key was linked (a string: SET; a container header: whole). */
void wc_repl_note_version(struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *n);
/* A key was unlinked for good (delete, expiry, eviction): DEL, unless flushed. */
void wc_repl_note_unlink(struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *it);
/* A key's expiry changed in place (exptime 0: none). */
void wc_repl_note_expiry(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			 uint32_t exptime, uint32_t ms);
void wc_repl_note_flush(struct wc_part *p);
/* A container member changed (op: WC_ROP_HSET/HDEL/SADD/SREM); val: HSET only. */
struct wc_cbytes;
void wc_repl_note_member(struct wc_part *p, uint8_t op, const void *key, uint32_t klen,
			 const struct wc_cbytes *name, const struct wc_cbytes *val);
/* Free the log (wc_part_destroy). */
void wc_repl_free(struct wc_part *p);

#endif
