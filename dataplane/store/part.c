/*
 * part.c - partition lifecycle and the lock-free read path.
 *
 * Readers on any lcore find items through the index without locks or
 * stores to shared lines (access hints are written only when they change).
 *
 * CAS uniques are derived, not stored: an item's CAS is its partition id,
 * its log id and its virtual position in the log (in 4-byte words), which no
 * later write can reuse. A reader computes the position from the log head it
 * loaded (acquire) *before* finding the item; because the owner unlinks an
 * item before moving the head past it, that head is at or before the item,
 * so the computed position is never later than the true one: a CAS can be
 * stale (a reinserted item gets a new position and a spurious EXISTS) but
 * never names a future write. Items that carry an explicit CAS (meta E)
 * store it instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "part.h"

uint64_t wc_hash(const void *key, size_t klen)
{
	return XXH3_64bits(key, klen);
}

static const char *const status_names[WC_STATUS_COUNT] = {
	[WC_OK] = "ok",
	[WC_NOT_STORED] = "not stored",
	[WC_EXISTS] = "exists",
	[WC_NOT_FOUND] = "not found",
	[WC_ERR_KEY] = "bad key length",
	[WC_ERR_TOO_LARGE] = "object too large for cache",
	[WC_ERR_NON_NUMERIC] = "cannot increment or decrement non-numeric value",
	[WC_ERR_ARG] = "invalid argument",
	[WC_ERR_NOMEM] = "out of memory storing object",
};

const char *wc_status_name(enum wc_status s)
{
	return (unsigned)s < WC_STATUS_COUNT ? status_names[s] : "unknown status";
}

static const char *const op_names[WC_OP_COUNT] = {
	"get", "set", "add", "replace", "append", "prepend", "cas", "delete", "incr",
	"decr", "touch", "gat", "flush", "modify", "meta_touch",
};

const char *wc_op_name(enum wc_op op)
{
	return (unsigned)op < WC_OP_COUNT ? op_names[op] : "unknown";
}

void wc_ctx_init(struct wc_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	wc_clock_init(&ctx->clock, wc_clock_default_epoch());
}

void wc_part_cfg_default(struct wc_part_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = 64ull << 20;
	cfg->max_value = WC_VALUE_MAX_DEFAULT;
	cfg->item_size_hint = 64;
	cfg->small_pct = 10;
}

struct wc_part *wc_part_create(const struct wc_part_cfg *cfg, const struct wc_mem_ops *mem,
			       enum wc_status *err)
{
	struct wc_part *p;
	struct wc_part_plan plan;
	uint64_t log_total, small;
	size_t ix_bytes;
	char name[32];

	*err = WC_ERR_ARG;
	if (!mem || !wc_part_plan(cfg, &plan))
		return NULL;
	*err = WC_ERR_NOMEM;
	p = aligned_alloc(WC_CACHE_LINE, (sizeof(*p) + WC_CACHE_LINE - 1) & ~(size_t)63);
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	p->mem = mem;
	ix_bytes = plan.index_bytes;
	log_total = plan.log_bytes;

	snprintf(name, sizeof(name), "wc_p%u_index", cfg->id);
	p->ix.b = mem->alloc(mem->opaque, name, ix_bytes);
	snprintf(name, sizeof(name), "wc_p%u_log", cfg->id);
	p->arena = mem->alloc(mem->opaque, name, log_total);
	if (cfg->slot_keys)
		p->slot_keys = calloc(WC_SLOTS, sizeof(*p->slot_keys));
	if (!p->ix.b || !p->arena || (cfg->slot_keys && !p->slot_keys)) {
		if (p->ix.b)
			mem->free(mem->opaque, p->ix.b, ix_bytes);
		if (p->arena)
			mem->free(mem->opaque, p->arena, log_total);
		free(p->slot_keys);
		free(p);
		return NULL;
	}
	p->ix.nbuckets = plan.nbuckets;
	p->index_size = ix_bytes;
	p->arena_size = log_total;

	small = plan.small_bytes;
	wc_log_setup(&p->log[WC_LOG_SMALL], WC_LOG_SMALL, p->arena, small, 0);
	wc_log_setup(&p->log[WC_LOG_MAIN], WC_LOG_MAIN, p->arena + small, log_total - small,
		     (uint32_t)(small / WC_ITEM_ALIGN));
	wc_log_poison_all(&p->log[WC_LOG_SMALL], true);
	wc_log_poison_all(&p->log[WC_LOG_MAIN], true);
	p->max_item = p->log[WC_LOG_MAIN].size / 4;
	/* the most one write may copy forward: bounds its latency (~1 ms) */
	p->copy_credit_max = p->log[WC_LOG_MAIN].size / 16;
	if (p->copy_credit_max > (4u << 20))
		p->copy_credit_max = 4u << 20;
	p->copy_credit = p->copy_credit_max;

	p->st.limit_bytes = cfg->mem_bytes;
	p->st.log_bytes = log_total;
	p->st.index_bytes = ix_bytes;
	p->st.index_slots = (uint64_t)plan.nbuckets * WC_BUCKET_SLOTS;
	*err = WC_OK;
	return p;
}

void wc_part_destroy(struct wc_part *p)
{
	if (!p)
		return;
	/* the grace-period tickets live inside p: let their callbacks finish */
	rcu_barrier();
	wc_log_poison_all(&p->log[WC_LOG_SMALL], false);
	wc_log_poison_all(&p->log[WC_LOG_MAIN], false);
	p->mem->free(p->mem->opaque, p->ix.b, p->index_size);
	p->mem->free(p->mem->opaque, p->arena, p->arena_size);
	wc_repl_free(p);
	free(p->slot_keys);
	free(p);
}

const struct wc_part_cfg *wc_part_config(const struct wc_part *p)
{
	return &p->cfg;
}

void wc_part_get_stats(const struct wc_part *p, struct wc_part_stats *out)
{
	*out = p->st;
	out->items = p->log[0].live_items + p->log[1].live_items;
	out->bytes = p->log[0].live_bytes + p->log[1].live_bytes;
}

/* ---- validity ---- */

bool wc_part_flushed(const struct wc_part *p, const struct wc_log *lg, uint64_t head_seen,
		     const struct wc_item *it, uint32_t now)
{
	uint32_t due = WC_LOAD(&p->flush_at);
	uint64_t fl = WC_LOAD(&lg->flush);

	if (due != 0 && now >= due)
		return true;
	if (fl <= WC_LOAD(&lg->flush_clean))
		return false;
	return wc_log_vpos(lg, head_seen, (uint64_t)((const uint8_t *)it - lg->mem)) < fl;
}

/* +1: a CAS of 0 means "none" to clients */
#define DERIVED_CAS(p, lg, vpos) \
	(((uint64_t)(p)->cfg.id << 56) | ((uint64_t)(lg)->id << 55) | \
	 (((vpos) / WC_ITEM_ALIGN + 1) & ((1ull << 55) - 1)))

uint64_t wc_part_cas(const struct wc_part *p, const struct wc_log *lg, uint64_t head_seen,
		     const struct wc_item *it)
{
	uint64_t v;

	if (wc_item_has_cas(it))
		return wc_item_stored_cas(it);
	v = wc_log_vpos(lg, head_seen, (uint64_t)((const uint8_t *)it - lg->mem));
	return DERIVED_CAS(p, lg, v);
}

uint64_t wc_part_cas_at(const struct wc_part *p, const struct wc_log *lg, uint64_t vpos,
			const struct wc_item *it)
{
	if (wc_item_has_cas(it))
		return wc_item_stored_cas(it);
	return DERIVED_CAS(p, lg, vpos);
}

/* ---- lookups ---- */

static inline __attribute__((always_inline)) const struct wc_item *scan_bucket(const struct wc_part *p, const struct wc_bucket *b,
						uint16_t tag, const void *key, uint32_t klen)
{
	uint32_t m = wc_bucket_match(b, tag);

	while (m) {
		unsigned i = (unsigned)__builtin_ctz(m);
		uint32_t loc = WC_LOAD_ACQ(&b->loc[i]);

		m &= m - 1;
		if (wc_loc_is_item(loc)) {
			const struct wc_item *it = wc_loc_item(p, loc);

			if (wc_item_key_eq(it, key, klen))
				return it;
		}
	}
	return NULL;
}

static inline __attribute__((always_inline)) const struct wc_item *lookup(const struct wc_part *p, const struct wc_hpos *pos,
					   const void *key, uint32_t klen)
{
	const struct wc_bucket *b = &p->ix.b[pos->b1];
	const struct wc_item *it = scan_bucket(p, b, pos->tag, key, klen);

	if (it || WC_LOAD(&b->spill) == 0)
		return it;
	return scan_bucket(p, &p->ix.b[pos->b2], pos->tag, key, klen);
}

/* Record an access: fetched bit, frequency, access time, each only on change. */
static inline void note_access(const struct wc_item *cit, uint8_t st, uint16_t now16)
{
	struct wc_item *it = (struct wc_item *)(uintptr_t)cit;
	const uint8_t full = WC_STATE_FREQ | WC_STATE_FETCHED;

	while ((st & full) != full) {
		uint8_t want = (uint8_t)(st | WC_STATE_FETCHED);

		if ((st & WC_STATE_FREQ) != WC_STATE_FREQ)
			want = (uint8_t)(want + 1);
		if (__atomic_compare_exchange_n(&it->state, &st, want, true, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			break;
	}
	if (WC_LOAD(&it->atime) != now16)
		WC_STORE(&it->atime, now16);
}

static inline __attribute__((always_inline)) void fill_view(const struct wc_part *p, const struct wc_item *it, uint8_t st,
			     uint16_t now16, const uint64_t *heads, unsigned lflags,
			     struct wc_view *v)
{
	uint32_t vl = it->vlen_layout;
	const uint8_t *extra = (const uint8_t *)(it + 1);

	v->it = it;
	v->klen = it->klen;
	v->key = extra + wc_item_extra_bytes(vl);
	v->value = v->key + it->klen;
	v->vlen = vl & WC_VLEN_MASK;
	v->flags = 0;
	if (vl & WC_LAYOUT_FLAGS)
		memcpy(&v->flags, wc_item_flags_at(it, vl), 4);
	v->cas = 0;
	if (heads) {
		const struct wc_log *lg = wc_loc_log(p, wc_item_loc(p, it));

		v->cas = wc_part_cas(p, lg, heads[lg->id], it);
	}
	if (lflags & WC_LOOKUP_REPLY_ONLY)
		return;
	v->exptime = wc_item_exptime(it);
	if (wc_unlikely(vl & WC_LAYOUT_EXT)) {
		uint32_t ext = wc_item_ext(it);

		v->exp_ms = (uint16_t)(ext & WC_EXT_MS_MASK);
		v->type = wc_ext_type(ext);
	} else {
		v->exp_ms = 0;
		v->type = WC_TYPE_STRING;
	}
	v->state_before = st;
	v->idle_before = (uint16_t)(now16 - WC_LOAD(&it->atime));
	v->vivified = (st & WC_STATE_VIVIFIED) != 0;
}

void wc_part_view_owner(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *it,
			unsigned lflags, struct wc_view *out)
{
	uint64_t heads[2] = { p->log[0].head, p->log[1].head };
	uint16_t now16 = (uint16_t)ctx->clock.now;
	uint8_t st = wc_item_state(it);

	fill_view(p, it, st, now16, (lflags & WC_LOOKUP_CAS) ? heads : NULL, lflags, out);
	if (!(lflags & WC_LOOKUP_NO_TOUCH))
		note_access(it, st, now16);
}

/*
 * Check a found item against time and flushes, count, record the access and
 * fill the view. heads holds the log heads loaded before the lookup, or NULL
 * when neither a CAS nor a flush check needs them.
 */
/* A read that missed, or found its key expired, for whoever listens (store.h). */
static __attribute__((noinline, cold)) void lookup_event(const struct wc_part *p,
							  struct wc_ctx *ctx,
							  const struct wc_item *expired,
							  const void *key, uint32_t klen,
							  unsigned lflags)
{
	if (expired && wc_item_type(expired) < WC_TYPE_INTERNAL)
		wc_kev(ctx, p, WC_KEV_STALE, key, klen);
	if (!(lflags & WC_LOOKUP_NO_STATS))
		wc_kev(ctx, p, WC_KEV_MISS, key, klen);
}

static inline __attribute__((always_inline)) bool finish_lookup(const struct wc_part *p, struct wc_ctx *ctx,
				 const struct wc_item *it, const uint64_t *heads, unsigned lflags,
				 struct wc_view *out, const void *key, uint32_t klen)
{
	const struct wc_item *expired = NULL;

	uint32_t now = ctx->clock.now;
	uint64_t *miss_reason = NULL;
	uint8_t st;

	if (wc_unlikely(!it))
		goto miss;
	if (wc_unlikely(wc_item_expired(it, &ctx->clock)) && !(lflags & WC_LOOKUP_ANY_TIME)) {
		miss_reason = &ctx->st.get_expired;
		expired = it;
		goto miss;
	}
	if (wc_unlikely(it->vlen_layout & WC_LAYOUT_EXT) && !(lflags & WC_LOOKUP_ANY_TYPE) &&
	    wc_item_type(it) != WC_TYPE_STRING)
		goto miss;	/* a hash or set is not a memcached item */
	if (wc_unlikely(heads != NULL) && WC_LOAD(&p->flushing)) {
		const struct wc_log *lg = wc_loc_log(p, wc_item_loc(p, it));

		if (wc_part_flushed(p, lg, heads[lg->id], it, now)) {
			miss_reason = &ctx->st.get_flushed;
			goto miss;
		}
	}
	st = wc_item_state(it);
	fill_view(p, it, st, (uint16_t)now, (lflags & WC_LOOKUP_CAS) ? heads : NULL, lflags,
		  out);
	if (!(lflags & WC_LOOKUP_NO_TOUCH))
		note_access(it, st, (uint16_t)now);
	if (!(lflags & WC_LOOKUP_NO_STATS))
		ctx->st.get_hits++;
	return true;
miss:
	if (!(lflags & WC_LOOKUP_NO_STATS)) {
		ctx->st.get_misses++;
		if (miss_reason)
			(*miss_reason)++;
	}
	if (wc_unlikely(wc_kev_hook(ctx) != NULL))
		lookup_event(p, ctx, expired, key, klen, lflags);
	return false;
}

/* Log heads are needed (loaded before the lookup) for a CAS or a flush check. */
static inline bool load_heads(const struct wc_part *p, unsigned lflags, uint64_t *heads)
{
	if (!(lflags & WC_LOOKUP_CAS) && !WC_LOAD_ACQ(&p->flushing))
		return false;
	heads[0] = WC_LOAD_ACQ(&p->log[0].head);
	heads[1] = WC_LOAD_ACQ(&p->log[1].head);
	return true;
}

static inline __attribute__((always_inline)) bool get_one(const struct wc_part *p,
							   struct wc_ctx *ctx, const void *key,
							   uint32_t klen, uint64_t hash,
							   unsigned lflags, struct wc_view *out)
{
	struct wc_hpos pos;
	uint64_t heads[2];
	bool with_heads;

	if (!(lflags & WC_LOOKUP_NO_STATS))
		ctx->st.ops[WC_OP_GET]++;
	if (wc_unlikely(klen == 0 || klen > WC_KEY_MAX)) {
		if (!(lflags & WC_LOOKUP_NO_STATS))
			ctx->st.get_misses++;
		return false;
	}
	with_heads = load_heads(p, lflags, heads);
	wc_index_pos(&p->ix, hash, &pos);
	return finish_lookup(p, ctx, lookup(p, &pos, key, klen), with_heads ? heads : NULL, lflags,
			     out, key, klen);
}

bool wc_get(const struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
	    uint64_t hash, unsigned lflags, struct wc_view *out)
{
	/* the memcached GET's flags as a constant, so its tests of them fold away */
	if (lflags == WC_LOOKUP_REPLY_ONLY)
		return get_one(p, ctx, key, klen, hash, WC_LOOKUP_REPLY_ONLY, out);
	return get_one(p, ctx, key, klen, hash, lflags, out);
}

/*
 * The first two stages of a burst of lookups, one key at a time, shared by
 * wc_get_burst and the wc_prefetch_* hints: the first bucket's position and its
 * prefetch; then, once that line has had time to arrive, its tag matched
 * and the first candidate item prefetched (or the second bucket, when the
 * first holds no match and spilled). Nothing but the index is read.
 */
static inline __attribute__((always_inline)) void stage_bucket(const struct wc_part *p,
								 uint64_t hash,
								 struct wc_hpos *pos)
{
	wc_index_pos(&p->ix, hash, pos);
	wc_prefetch(&p->ix.b[pos->b1]);
}

static inline __attribute__((always_inline)) const struct wc_item *
stage_item(const struct wc_part *p, const struct wc_hpos *pos, uint32_t klen)
{
	const struct wc_bucket *b = &p->ix.b[pos->b1];
	uint32_t m = wc_bucket_match(b, pos->tag);
	const struct wc_item *cand = NULL;

	if (m) {
		uint32_t loc = WC_LOAD_ACQ(&b->loc[__builtin_ctz(m)]);

		if (wc_loc_is_item(loc)) {
			cand = wc_loc_item(p, loc);
			wc_prefetch(cand);
			/* items are packed: the key's end and the value's start often sit on the next line */
			wc_prefetch((const uint8_t *)(cand + 1) + klen + 8);
		}
	} else if (WC_LOAD(&b->spill)) {
		wc_prefetch(&p->ix.b[pos->b2]);
	}
	return cand;
}

/*
 * Three passes over the burst so the cache misses of different requests
 * overlap: hash and prefetch the first bucket; match tags and prefetch the
 * first candidate item (or the second bucket); compare keys and finish. A
 * candidate whose key does not match falls back to the full lookup.
 */
static inline __attribute__((always_inline)) void get_burst(struct wc_get_req *reqs, unsigned n,
							      struct wc_ctx *ctx, unsigned lflags)
{
	struct wc_hpos pos[WC_GET_BURST_MAX];
	const struct wc_item *cand[WC_GET_BURST_MAX];
	uint64_t heads[WC_GET_BURST_MAX][2];
	bool with_heads[WC_GET_BURST_MAX];

	for (unsigned i = 0; i < n; i++) {
		with_heads[i] = load_heads(reqs[i].part, lflags, heads[i]);
		stage_bucket(reqs[i].part, reqs[i].hash, &pos[i]);
	}
	for (unsigned i = 0; i < n; i++)
		cand[i] = stage_item(reqs[i].part, &pos[i], reqs[i].klen);
	for (unsigned i = 0; i < n; i++) {
		struct wc_get_req *r = &reqs[i];
		const struct wc_item *it = cand[i];

		if (!(lflags & WC_LOOKUP_NO_STATS))
			ctx->st.ops[WC_OP_GET]++;
		if (wc_unlikely(r->klen == 0 || r->klen > WC_KEY_MAX)) {
			if (!(lflags & WC_LOOKUP_NO_STATS))
				ctx->st.get_misses++;
			r->hit = false;
			continue;
		}
		if (!it || !wc_item_key_eq(it, r->key, r->klen))
			it = lookup(r->part, &pos[i], r->key, r->klen);
		r->hit = finish_lookup(r->part, ctx, it, with_heads[i] ? heads[i] : NULL, lflags,
				       &r->view, r->key, r->klen);
	}
}

void wc_get_burst(struct wc_get_req *reqs, unsigned n, struct wc_ctx *ctx, unsigned lflags)
{
	while (n > WC_GET_BURST_MAX) {
		wc_get_burst(reqs, WC_GET_BURST_MAX, ctx, lflags);
		reqs += WC_GET_BURST_MAX;
		n -= WC_GET_BURST_MAX;
	}
	/* the memcached GET's flags as a constant, so its tests of them fold away */
	if (lflags == WC_LOOKUP_REPLY_ONLY)
		get_burst(reqs, n, ctx, WC_LOOKUP_REPLY_ONLY);
	else
		get_burst(reqs, n, ctx, lflags);
}

void wc_prefetch_buckets(const struct wc_key_hint *keys, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct wc_hpos pos;

		stage_bucket(keys[i].part, keys[i].hash, &pos);
	}
}

void wc_prefetch_items(const struct wc_key_hint *keys, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct wc_hpos pos;

		wc_index_pos(&keys[i].part->ix, keys[i].hash, &pos);
		(void)stage_item(keys[i].part, &pos, keys[i].klen);
	}
}

bool wc_claim_win(const struct wc_part *p, const struct wc_view *v, const void *key,
		  uint64_t hash)
{
	struct wc_item *it = (struct wc_item *)(uintptr_t)v->it;
	struct wc_hpos pos;

	wc_index_pos(&p->ix, hash, &pos);
	for (int tries = 0; tries < 1000 && it; tries++) {
		uint8_t st = WC_LOAD(&it->state);

		while (!(st & (WC_STATE_WIN | WC_STATE_UNLINKED))) {
			if (__atomic_compare_exchange_n(&it->state, &st, (uint8_t)(st | WC_STATE_WIN),
							false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				return true;
		}
		if (st & WC_STATE_WIN)
			return false;
		/* the owner moved or replaced it: claim on the version now linked */
		it = (struct wc_item *)(uintptr_t)lookup(p, &pos, key, v->klen);
	}
	return false;
}
