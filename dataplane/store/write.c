/*
 * write.c - the owner's write operations: the store modes (set, add,
 * replace, append, prepend, cas), delete and meta delete, incr/decr and meta
 * arithmetic, touch, meta get's touch and vivify, gat, flush_all.
 *
 * Every change writes a new item version at a log tail and swaps the index
 * slot to it; nothing a reader may hold is modified in place except the
 * exptime (touch) and the access hints. Making room can evict or move other
 * items, so a write that needs the old version's bytes (append, incr,
 * invalidate) looks it up again after reserving.
 *
 * The operations follow memcached 1.6 (doc/protocol.txt) for both the
 * classic commands and the meta commands' modifiers.
 */
#include <string.h>

#include "part.h"

/* Everything written so far is flushed (readers and the crawler see it by position). */
static void apply_flush(struct wc_part *p)
{
	for (int i = 0; i < 2; i++) {
		struct wc_log *lg = &p->log[i];

		WC_STORE_REL(&lg->flush, lg->tail);
		lg->crawl = lg->head;
	}
	WC_STORE_REL(&p->flush_at, 0);
	if (WC_REPL_ON(p))
		wc_repl_note_flush(p);
}

void wc_part_apply_due_flush(struct wc_part *p, struct wc_ctx *ctx)
{
	if (p->flush_at == 0 || ctx->clock.now < p->flush_at)
		return;
	apply_flush(p);
	/* (a flush now is announced once by its command, for all partitions: mc_exec.c) */
	wc_kev(ctx, p, WC_KEV_FLUSH, NULL, 0);
}

/* wc_begin_write, inlined where a store starts (a pending delayed flush is rare) */
static inline __attribute__((always_inline)) void begin_write(struct wc_part *p,
							      struct wc_ctx *ctx, uint64_t need)
{
	if (wc_unlikely(p->flush_at != 0))
		wc_part_apply_due_flush(p, ctx);
	p->copy_credit += 8 * need + 4096;
	if (p->copy_credit > p->copy_credit_max)
		p->copy_credit = p->copy_credit_max;
}

void wc_begin_write(struct wc_part *p, struct wc_ctx *ctx, uint64_t need)
{
	begin_write(p, ctx, need);
}

static bool key_ok(const void *key, uint32_t klen)
{
	return key && klen >= 1 && klen <= WC_KEY_MAX;
}

struct wc_item *wc_find_live(struct wc_part *p, struct wc_ctx *ctx, uint64_t h, const void *key,
			     uint32_t klen, struct wc_slot *s)
{
	struct wc_item *it;
	const struct wc_log *lg;

	if (!wc_index_find_owner(p, h, key, klen, s))
		return NULL;
	it = wc_loc_item_w(p, s->b->loc[s->i]);
	lg = wc_loc_log(p, wc_item_loc(p, it));
	if (wc_owner_expired(p, it, &ctx->clock) ||
	    wc_part_flushed(p, lg, lg->head, it, ctx->clock.now)) {
		wc_unlink(p, ctx, it, s, h, WC_UNLINK_EXPIRED);
		return NULL;
	}
	return it;
}

/* In place: the item has the words the expiry needs (wc_item_expiry_fits). */
static void set_expiry(struct wc_part *p, struct wc_item *it, uint32_t exptime, uint32_t ms)
{
	uint32_t was = wc_item_exptime(it);

	if (it->vlen_layout & WC_LAYOUT_EXT) {
		uint32_t *e = wc_item_ext_ptr(it);

		WC_STORE(e, (*e & ~WC_EXT_MS_MASK) | (exptime ? ms & WC_EXT_MS_MASK : 0));
	}
	if (it->vlen_layout & WC_LAYOUT_EXPIRES)
		WC_STORE(wc_item_exptime_ptr(it), exptime);
	if (exptime)
		wc_crawl_note_item_expiry(p, it, exptime, ms & WC_EXT_MS_MASK);
	if (!(wc_item_state(it) & WC_STATE_UNLINKED) && wc_item_type(it) < WC_TYPE_INTERNAL) {
		if (was && !exptime)
			p->st.expiring--;
		else if (!was && exptime)
			p->st.expiring++;
	}
}

uint64_t wc_owner_cas(const struct wc_part *p, const struct wc_item *it)
{
	const struct wc_log *lg = wc_loc_log(p, wc_item_loc(p, it));

	return wc_part_cas(p, lg, lg->head, it);
}

/* fill of a version that only changes the expiry: the same bytes */
static void same_value(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	(void)arg;
	memcpy(dst, wc_item_value(old), vlen);
}

struct wc_item *wc_item_reexpire(struct wc_part *p, struct wc_ctx *ctx, struct wc_item *it,
				 struct wc_slot *s, uint64_t h, uint32_t exptime, uint32_t ms,
				 bool keep_cas, enum wc_status *err)
{
	const uint8_t *key = wc_item_key(it);
	uint32_t klen = it->klen;
	uint8_t type = wc_item_type(it);
	uint8_t keyc[WC_KEY_MAX];
	struct wc_version v;

	if (!exptime)
		ms = 0;
	if (wc_item_expiry_fits(it, exptime, ms)) {
		set_expiry(p, it, exptime, ms);
	} else {
		/* no word for the expiry: a new version with one (it stays readable meanwhile) */
		uint16_t atime = WC_LOAD(&it->atime);	/* (an expiry is no access) */
		enum wc_status st;

		memcpy(keyc, key, klen);	/* (it may move while room is made) */
		key = keyc;
		v = (struct wc_version){ .old_value_at = -1, .fill = same_value, .needs_old = true,
					 .new_len = wc_item_vlen(it), .flags = wc_item_flags(it),
					 .exptime = exptime, .ext = wc_ext_make(type, ms),
					 .internal = type >= WC_TYPE_INTERNAL,
					 .state = wc_item_state(it) & (WC_STATE_FETCHED | WC_STATE_WIN |
								       WC_STATE_STALE |
								       WC_STATE_VIVIFIED) };
		if (keep_cas || wc_item_has_cas(it)) {
			v.has_cas = true;
			v.cas = wc_owner_cas(p, it);
		}
		p->repl_mute++;		/* the same value: only the expiry is news */
		p->repl_mkey = key;
		p->repl_mklen = klen;
		st = wc_write_version(p, ctx, h, key, klen, it, s, &v, NULL);
		p->repl_mute--;
		if (st != WC_OK) {
			*err = st;
			return NULL;
		}
		it = wc_loc_item_w(p, s->b->loc[s->i]);
		WC_STORE(&it->atime, atime);
	}
	if (WC_REPL_ON(p))
		wc_repl_note_expiry(p, ctx, key, klen, exptime, ms);
	return it;
}


static struct wc_log *choose_log(struct wc_part *p, const struct wc_item *old, uint64_t h,
				 uint64_t size)
{
	struct wc_log *small = &p->log[WC_LOG_SMALL];

	if (small->size == 0 || size > small->size / 4)
		return &p->log[WC_LOG_MAIN];
	if (old)
		return (struct wc_log *)wc_loc_log(p, wc_item_loc(p, old));
	if (wc_index_take_ghost(p, h)) {
		p->st.ghost_hits++;
		return &p->log[WC_LOG_MAIN];
	}
	return small;
}

static void write_hole(struct wc_item *n, uint64_t size)
{
	n->vlen_layout = (uint32_t)(size - sizeof(*n));
	n->klen = 0;
	n->state = WC_STATE_UNLINKED;
	n->atime = 0;
}

static void fill_item(struct wc_item *n, const struct wc_version *v, const void *key, uint32_t klen,
		      const struct wc_item *old, uint8_t freq, uint16_t now16, uint64_t vlen,
		      uint32_t layout)
{
	uint8_t *d = (uint8_t *)(n + 1);

	n->vlen_layout = (uint32_t)vlen | layout;
	n->klen = (uint8_t)klen;
	n->state = (uint8_t)(v->state | freq);
	n->atime = now16;
	if (layout & WC_LAYOUT_EXPIRES) {
		memcpy(d, &v->exptime, 4);
		d += 4;
	}
	if (layout & WC_LAYOUT_FLAGS) {
		memcpy(d, &v->flags, 4);
		d += 4;
	}
	if (layout & WC_LAYOUT_CAS) {
		memcpy(d, &v->cas, 8);
		d += 8;
	}
	if (layout & WC_LAYOUT_EXT) {
		memcpy(d, &v->ext, 4);
		d += 4;
	}
	memcpy(d, key, klen);
	d += klen;
	if (v->fill) {
		v->fill(d, vlen, old, v->copy_arg);
		return;
	}
	if (old && v->old_value_at == 0) {
		memcpy(d, wc_item_value(old), wc_item_vlen(old));
		d += wc_item_vlen(old);
	}
	if (v->copy) {
		v->copy(d, v->new_len, v->copy_arg);
		d += v->new_len;
	} else {
		for (unsigned i = 0; i < v->iov_cnt; i++) {
			if (v->iov[i].iov_len == 0)
				continue;
			memcpy(d, v->iov[i].iov_base, v->iov[i].iov_len);
			d += v->iov[i].iov_len;
		}
	}
	if (old && v->old_value_at == 1)
		memcpy(d, wc_item_value(old), wc_item_vlen(old));
}

/*
 * Room was made for a write (items evicted or moved, p->mutations): is old,
 * found in slot before, still the key's linked version there? Its slot
 * tells, without touching old, whose memory may be reused by now: while
 * room is made nothing is inserted into the index; an unlink clears a slot's
 * tag or makes it a ghost (another loc), a move gives it the copy's loc. So
 * a slot that still holds a tag and old's loc still links old. Otherwise the
 * key is looked up again. (Validity is as before: the clock did not move,
 * and a due flush was applied first.)
 */
static bool still_linked(const struct wc_part *p, const struct wc_item *old,
			 const struct wc_slot *slot)
{
	return slot->b->tag[slot->i] != 0 && slot->b->loc[slot->i] == wc_item_loc(p, old);
}

/*
 * Write a new version of key (replacing old, found in slot, if not NULL).
 * WC_NOT_FOUND means the old version was needed but got evicted while room
 * was made.
 */
enum wc_status wc_write_version(struct wc_part *p, struct wc_ctx *ctx, uint64_t h,
				const void *key, uint32_t klen, struct wc_item *old,
				struct wc_slot *slot, const struct wc_version *v,
				struct wc_write_res *res)
{
	uint64_t vlen = v->new_len + (old && v->old_value_at >= 0 ? wc_item_vlen(old) : 0);
	uint32_t layout = (v->exptime ? WC_LAYOUT_EXPIRES : 0) | (v->flags ? WC_LAYOUT_FLAGS : 0) |
			  (v->has_cas ? WC_LAYOUT_CAS : 0) | (v->ext ? WC_LAYOUT_EXT : 0);
	uint64_t size = wc_item_total(klen, vlen, layout);
	uint64_t seen = p->mutations;
	uint8_t freq = old ? (wc_item_state(old) & WC_STATE_FREQ) : 0;
	struct wc_item *n;
	struct wc_log *lg;
	uint64_t at;

	if ((vlen > p->cfg.max_value && !v->internal) || vlen >= WC_VLEN_MASK ||
	    size > p->max_item) {
		ctx->st.refused_too_large++;
		return WC_ERR_TOO_LARGE;
	}
	lg = choose_log(p, old, h, size);
	n = wc_log_reserve(p, ctx, lg, size, false);
	if (!n) {
		ctx->st.refused_nomem++;
		return WC_ERR_NOMEM;
	}
	at = lg->tail - size;	/* n's position: its CAS without dividing the head out */
	if (old && p->mutations != seen && !still_linked(p, old, slot)) {
		old = wc_find_live(p, ctx, h, key, klen, slot);
		if (!old && (v->old_value_at >= 0 || v->needs_old)) {
			write_hole(n, size);
			return WC_NOT_FOUND;
		}
	}
	fill_item(n, v, key, klen, old, freq, (uint16_t)ctx->clock.now, vlen, layout);
	if (v->exptime)
		wc_crawl_note_item_expiry(p, n, v->exptime, wc_item_ext(n) & WC_EXT_MS_MASK);
	if (old) {
		__atomic_fetch_or(&old->state, WC_STATE_UNLINKED, __ATOMIC_ACQ_REL);
		wc_account_unlink(p, old);
		wc_c_note_gone(p, old, n);
		WC_STORE_REL(&slot->b->loc[slot->i], wc_item_loc(p, n));
	} else {
		wc_index_insert(p, ctx, h, wc_item_loc(p, n));
		wc_slot_keys_adj(p, n, +1);
	}
	wc_account_link(p, n);
	p->st.total_items++;
	if (WC_REPL_ON(p))
		wc_repl_note_version(p, ctx, n);
	if (res) {
		res->cas = wc_part_cas_at(p, lg, at, n);	/* (= wc_owner_cas(p, n)) */
		res->vlen = (uint32_t)vlen;
		res->exptime = v->exptime;
	}
	return WC_OK;
}

static uint32_t exptime_at(enum wc_exptime_kind kind, uint32_t at)
{
	return kind == WC_EXP_AT ? at : 0;
}

static const enum wc_op store_ops[] = {
	[WC_SET] = WC_OP_SET, [WC_ADD] = WC_OP_ADD, [WC_REPLACE] = WC_OP_REPLACE,
	[WC_APPEND] = WC_OP_APPEND, [WC_PREPEND] = WC_OP_PREPEND, [WC_CAS] = WC_OP_CAS,
};

enum wc_status wc_store(struct wc_part *p, struct wc_ctx *ctx, const struct wc_store_req *r,
			struct wc_write_res *res)
{
	struct wc_version v = { .old_value_at = -1 };
	struct wc_slot s;
	struct wc_item *old;
	enum wc_exptime_kind kind;
	uint32_t at = 0;
	bool concat, check_cas = false, stale_set = false;
	enum wc_status st;

	if (!r || (unsigned)r->mode > WC_CAS)
		return WC_ERR_ARG;
	ctx->st.ops[store_ops[r->mode]]++;	/* refusals count too, as in memcached */
	check_cas = r->mode == WC_CAS || (r->opts & WC_STORE_CHECK_CAS);
	if (!key_ok(r->key, r->klen))
		return WC_ERR_KEY;
	if (r->copy) {
		v.new_len = r->copy_len;
	} else {
		if (r->val_cnt && !r->val)
			return WC_ERR_ARG;
		for (unsigned i = 0; i < r->val_cnt; i++) {
			if (r->val[i].iov_len && !r->val[i].iov_base)
				return WC_ERR_ARG;
			v.new_len += r->val[i].iov_len;
		}
	}
	if (v.new_len > p->cfg.max_value || (r->opts & WC_STORE_OVERSIZE)) {
		ctx->st.refused_too_large++;
		st = WC_ERR_TOO_LARGE;
		goto refused;
	}
	begin_write(p, ctx, wc_item_total(r->klen, v.new_len, 0));
	concat = r->mode == WC_APPEND || r->mode == WC_PREPEND;
	kind = wc_exptime_convert(&ctx->clock,
				  concat && (r->opts & WC_STORE_VIVIFY) ? r->vivify_exptime :
									  r->exptime,
				  &at);
	old = wc_find_live(p, ctx, r->hash, r->key, r->klen, &s);

	if (r->mode == WC_ADD && old)
		return WC_NOT_STORED;
	if (concat && old && wc_item_type(old) != WC_TYPE_STRING)
		return WC_NOT_STORED;	/* a hash or set has no bytes to extend */
	if ((r->mode == WC_REPLACE || (concat && !(r->opts & WC_STORE_VIVIFY))) && !old)
		return WC_NOT_STORED;
	if (check_cas) {
		uint64_t cur;

		if (!old) {
			ctx->st.cas_misses++;
			return WC_NOT_FOUND;
		}
		cur = wc_owner_cas(p, old);
		if (cur != r->cas_in) {
			if (!(r->opts & WC_STORE_STALE_IF_OLDER) || r->cas_in > cur) {
				ctx->st.cas_badval++;
				return WC_EXISTS;
			}
			v.state |= WC_STATE_STALE;
			stale_set = true;
		}
	}

	if ((!concat || !old) && kind == WC_EXP_PAST && !stale_set) {
		/* stored and expired at once: what remains is that the old value is gone */
		if (old) {
			wc_unlink(p, ctx, old, &s, r->hash, WC_UNLINK_REPLACED);
			wc_kev(ctx, p, WC_KEV_DEL, r->key, r->klen);
		}
		if (check_cas)
			ctx->st.cas_hits++;
		if (res)
			*res = (struct wc_write_res){ .vlen = (uint32_t)v.new_len };
		return WC_OK;
	}
	v.iov = r->val;
	v.iov_cnt = r->val_cnt;
	v.copy = r->copy;
	v.copy_arg = r->copy_arg;
	if (concat && old) {
		v.old_value_at = r->mode == WC_APPEND ? 0 : 1;
		v.flags = wc_item_flags(old);
		v.exptime = wc_item_exptime(old);
		v.ext = wc_item_ext(old);	/* (a string's: only its expiry millisecond) */
	} else {
		v.flags = r->flags;
		v.exptime = exptime_at(kind, at);
	}
	if (stale_set) {
		/*
		 * memcached: a stale set (ms I with an older CAS) replaces the value
		 * but keeps the item's TTL, and whether its win token went out, so
		 * no second client is sent to recache it (t/metaget.t)
		 */
		v.exptime = wc_item_exptime(old);
		v.state |= wc_item_state(old) & WC_STATE_WIN;
	}
	if (r->opts & WC_STORE_EXPLICIT_CAS) {
		v.has_cas = true;
		v.cas = r->new_cas;
	}
	st = wc_write_version(p, ctx, r->hash, r->key, r->klen, old, &s, &v, res);
	if (st == WC_NOT_FOUND)
		st = check_cas ? WC_NOT_FOUND : WC_NOT_STORED;
	if (st == WC_OK) {
		if (check_cas)
			ctx->st.cas_hits++;
		if (res)
			res->created = old == NULL && concat;
		if (wc_unlikely(wc_kev_hook(ctx) != NULL)) {
			if (!old)
				wc_kev(ctx, p, WC_KEV_NEW, r->key, r->klen);
			wc_kev(ctx, p, concat ? WC_KEV_APPEND : WC_KEV_SET, r->key, r->klen);
		}
		return st;
	}
	if (st != WC_ERR_TOO_LARGE && st != WC_ERR_NOMEM)
		return st;
	if (concat && old)
		return st;	/* the value would grow too large: memcached keeps the old one */
refused:
	/*
	 * A store whose new data cannot be taken must not leave the old value
	 * served (the client's source of truth has moved on): memcached drops it
	 * for a plain set, and for every meta set whatever its mode
	 * (WC_STORE_DROP_ON_REFUSE). An append or prepend that fits but would
	 * make the value too large leaves it (memcached: NOT_STORED, old kept).
	 */
	if ((r->mode == WC_SET && !check_cas) || (r->opts & WC_STORE_DROP_ON_REFUSE)) {
		wc_begin_write(p, ctx, 0);
		if ((old = wc_find_live(p, ctx, r->hash, r->key, r->klen, &s))) {
			wc_unlink(p, ctx, old, &s, r->hash, WC_UNLINK_REPLACED);
			wc_kev(ctx, p, WC_KEV_DEL, r->key, r->klen);
		}
	}
	return st;
}

enum wc_status wc_modify(struct wc_part *p, struct wc_ctx *ctx, const struct wc_modify_req *r,
			 struct wc_write_res *res)
{
	struct wc_version v = { .old_value_at = 0 };
	struct wc_slot s;
	struct wc_item *old;
	bool del = !(r->opts & (WC_MOD_STALE | WC_MOD_CLEAR_VALUE));
	enum wc_exptime_kind kind = WC_EXP_NEVER;
	enum wc_status st;
	uint32_t at = 0;

	ctx->st.ops[del ? WC_OP_DELETE : WC_OP_MODIFY]++;
	if (!key_ok(r->key, r->klen))
		return WC_ERR_KEY;
	wc_begin_write(p, ctx, 0);
	old = wc_find_live(p, ctx, r->hash, r->key, r->klen, &s);
	if (!old || wc_item_type(old) >= WC_TYPE_INTERNAL) {
		/* (a container's part is no key of its own: only its container may drop it) */
		if (del)
			ctx->st.delete_misses++;
		return WC_NOT_FOUND;
	}
	if ((r->opts & WC_MOD_CHECK_CAS) && wc_owner_cas(p, old) != r->cas_in)
		return WC_EXISTS;
	if (del) {
		wc_unlink(p, ctx, old, &s, r->hash, WC_UNLINK_DELETE);
		ctx->st.delete_hits++;
		if (res)
			*res = (struct wc_write_res){ 0 };
		wc_kev(ctx, p, WC_KEV_DEL, r->key, r->klen);
		return WC_OK;
	}
	if (r->opts & WC_MOD_SET_EXPTIME) {
		kind = wc_exptime_convert(&ctx->clock, r->exptime, &at);
		if (kind == WC_EXP_PAST) {
			wc_unlink(p, ctx, old, &s, r->hash, WC_UNLINK_EXPIRED);
			if (res)
				*res = (struct wc_write_res){ 0 };
			wc_kev(ctx, p, WC_KEV_DEL, r->key, r->klen);
			return WC_OK;
		}
	}
	p->copy_credit += 8 * wc_item_size(old);
	if (r->opts & WC_MOD_CLEAR_VALUE) {
		/* memcached: an empty item with the given flags and TTL, same CAS */
		v.old_value_at = -1;
		v.flags = r->flags;
		v.exptime = exptime_at(kind, at);
		v.has_cas = true;
		v.cas = wc_owner_cas(p, old);
	} else {
		v.flags = wc_item_flags(old);
		v.exptime = (r->opts & WC_MOD_SET_EXPTIME) ? exptime_at(kind, at) :
							       wc_item_exptime(old);
		v.state = wc_item_state(old) & WC_STATE_VIVIFIED;
		v.ext = wc_item_ext(old);
		if (r->opts & WC_MOD_SET_EXPTIME)
			v.ext &= ~WC_EXT_MS_MASK;
	}
	if (r->opts & WC_MOD_STALE) {
		/* a new version (new CAS) whose win token is available again */
		v.state |= WC_STATE_STALE;
		v.has_cas = false;
	}
	if (r->opts & WC_MOD_EXPLICIT_CAS) {
		v.has_cas = true;
		v.cas = r->new_cas;
	}
	st = wc_write_version(p, ctx, r->hash, r->key, r->klen, old, &s, &v, res);
	if (st == WC_OK)
		wc_kev(ctx, p, WC_KEV_SET, r->key, r->klen);	/* marked stale, or emptied */
	return st;
}

enum wc_status wc_delete(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			 uint64_t hash, uint64_t cas_in)
{
	struct wc_modify_req r = { .key = key, .klen = klen, .hash = hash,
				   .opts = cas_in ? WC_MOD_CHECK_CAS : 0, .cas_in = cas_in };

	return wc_modify(p, ctx, &r, NULL);
}

/* memcached's rule: decimal digits (at most 20, value < 2^64), trailing spaces allowed. */
static bool parse_u64(const uint8_t *s, uint32_t n, uint64_t *out)
{
	uint64_t v = 0;
	uint32_t i = 0;

	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 0 || n > 20)
		return false;
	for (; i < n; i++) {
		unsigned d = (unsigned)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static uint32_t format_u64(uint64_t v, char *buf)
{
	char tmp[20];
	uint32_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

enum wc_status wc_arith(struct wc_part *p, struct wc_ctx *ctx, const struct wc_arith_req *r,
			struct wc_write_res *res)
{
	struct wc_version v = { .old_value_at = -1 };
	struct wc_write_res local;
	struct wc_slot s;
	struct wc_item *old;
	struct iovec iov;
	char digits[20];
	uint64_t cur, next;
	uint32_t at = 0;
	enum wc_exptime_kind kind;
	enum wc_status st;

	if (!res)
		res = &local;
	ctx->st.ops[r->decr ? WC_OP_DECR : WC_OP_INCR]++;
	if (!key_ok(r->key, r->klen))
		return WC_ERR_KEY;
	wc_begin_write(p, ctx, wc_item_total(r->klen, 20, 0));
	old = wc_find_live(p, ctx, r->hash, r->key, r->klen, &s);
	if (!old) {
		if (r->decr)
			ctx->st.decr_misses++;
		else
			ctx->st.incr_misses++;
		if (!(r->opts & WC_ARITH_VIVIFY))
			return WC_NOT_FOUND;
		/* meta ma N: create holding the initial value */
		next = r->initial;
		kind = wc_exptime_convert(&ctx->clock, r->vivify_exptime, &at);
		/* a past TTL: created already expired, as memcached does */
		v.exptime = kind == WC_EXP_PAST ? 1 : exptime_at(kind, at);
	} else {
		if ((r->opts & WC_ARITH_CHECK_CAS) && wc_owner_cas(p, old) != r->cas_in)
			return WC_EXISTS;
		if (wc_item_type(old) != WC_TYPE_STRING ||
		    !parse_u64(wc_item_value(old), wc_item_vlen(old), &cur))
			return WC_ERR_NON_NUMERIC;
		next = r->decr ? (cur > r->delta ? cur - r->delta : 0) : cur + r->delta;
		v.flags = wc_item_flags(old);
		v.exptime = wc_item_exptime(old);
		v.ext = wc_item_ext(old);
		if (r->opts & WC_ARITH_SET_EXPTIME) {
			kind = wc_exptime_convert(&ctx->clock, r->exptime, &at);
			v.exptime = kind == WC_EXP_PAST ? 1 : exptime_at(kind, at);
			v.ext &= ~WC_EXT_MS_MASK;
		}
	}
	iov.iov_base = digits;
	iov.iov_len = format_u64(next, digits);
	v.iov = &iov;
	v.iov_cnt = 1;
	v.new_len = iov.iov_len;
	if (r->opts & WC_ARITH_EXPLICIT_CAS) {
		v.has_cas = true;
		v.cas = r->new_cas;
	}
	st = wc_write_version(p, ctx, r->hash, r->key, r->klen, old, &s, &v, res);
	if (st != WC_OK)
		return st;
	if (old && r->decr)
		ctx->st.decr_hits++;
	else if (old)
		ctx->st.incr_hits++;
	res->value = next;
	res->created = old == NULL;
	if (wc_unlikely(wc_kev_hook(ctx) != NULL)) {
		if (!old)
			wc_kev(ctx, p, WC_KEV_NEW, r->key, r->klen);
		wc_kev(ctx, p, r->decr ? WC_KEV_DECR : WC_KEV_INCR, r->key, r->klen);
	}
	return WC_OK;
}

/* Find a live item for a touch; a past exptime expires it (returns NULL). */
static struct wc_item *touch_item(struct wc_part *p, struct wc_ctx *ctx, const void *key,
				  uint32_t klen, uint64_t hash, int64_t exptime, bool *expired,
				  struct wc_slot *s)
{
	uint32_t at = 0;
	enum wc_exptime_kind kind = wc_exptime_convert(&ctx->clock, exptime, &at);
	struct wc_item *it = wc_find_live(p, ctx, hash, key, klen, s);

	*expired = false;
	if (!it) {
		ctx->st.touch_misses++;
		return NULL;
	}
	ctx->st.touch_hits++;
	if (kind == WC_EXP_PAST) {
		*expired = true;
	} else {
		enum wc_status err;
		struct wc_item *n = wc_item_reexpire(p, ctx, it, s, hash, exptime_at(kind, at), 0,
						     true, &err);

		if (!n && err == WC_ERR_NOMEM) {
			/* the TTL asked for cannot be kept: the key goes rather than outlive it */
			struct wc_item *cur = wc_find_live(p, ctx, hash, key, klen, s);

			if (cur)
				wc_unlink(p, ctx, cur, s, hash, WC_UNLINK_EVICT);
		}
		return n;
	}
	return it;
}

enum wc_status wc_touch(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			uint64_t hash, int64_t exptime)
{
	struct wc_item *it;
	struct wc_slot s;
	bool expired;

	ctx->st.ops[WC_OP_TOUCH]++;
	if (!key_ok(key, klen))
		return WC_ERR_KEY;
	wc_begin_write(p, ctx, 0);
	it = touch_item(p, ctx, key, klen, hash, exptime, &expired, &s);
	if (!it)
		return WC_NOT_FOUND;
	if (expired)
		wc_unlink(p, ctx, it, &s, hash, WC_UNLINK_EXPIRED);
	wc_kev(ctx, p, expired ? WC_KEV_DEL : WC_KEV_EXPIRE, key, klen);
	return WC_OK;
}

enum wc_status wc_touch_ex(struct wc_part *p, struct wc_ctx *ctx, const struct wc_touch_req *r,
			   struct wc_write_res *res)
{
	struct wc_version v = { .old_value_at = -1,
				.state = WC_STATE_WIN | WC_STATE_VIVIFIED };
	struct wc_write_res local;
	struct wc_item *it;
	struct wc_slot s;
	uint32_t at = 0;
	enum wc_exptime_kind kind;

	if (!res)
		res = &local;
	*res = (struct wc_write_res){ 0 };
	ctx->st.ops[WC_OP_META_TOUCH]++;
	if (!key_ok(r->key, r->klen))
		return WC_ERR_KEY;
	wc_begin_write(p, ctx, wc_item_total(r->klen, 0, 0));
	if (r->opts & WC_TOUCH_SET_EXPTIME) {
		bool expired;

		it = touch_item(p, ctx, r->key, r->klen, r->hash, r->exptime, &expired, &s);
		if (it && expired) {
			/* the reply still shows the item; the next reader will not */
			enum wc_status err;
			struct wc_item *n = wc_item_reexpire(p, ctx, it, &s, r->hash,
							     ctx->clock.now,
							     wc_item_ext(it) & WC_EXT_MS_MASK,
							     true, &err);

			if (n) {
				it = n;
			} else if (err == WC_ERR_NOMEM) {
				res->exptime = ctx->clock.now;
				res->cas = wc_owner_cas(p, it);
				res->vlen = wc_item_vlen(it);
				wc_unlink(p, ctx, it, &s, r->hash, WC_UNLINK_EXPIRED);
				wc_kev(ctx, p, WC_KEV_EXPIRE, r->key, r->klen);
				return WC_OK;
			} else {
				it = NULL;	/* evicted meanwhile */
			}
		}
		if (it)
			wc_kev(ctx, p, WC_KEV_EXPIRE, r->key, r->klen);
	} else {
		it = wc_find_live(p, ctx, r->hash, r->key, r->klen, &s);
	}
	if (it) {
		res->exptime = wc_item_exptime(it);
		res->cas = wc_owner_cas(p, it);
		res->vlen = wc_item_vlen(it);
		return WC_OK;
	}
	if (!(r->opts & WC_TOUCH_VIVIFY))
		return WC_NOT_FOUND;
	kind = wc_exptime_convert(&ctx->clock, r->vivify_exptime, &at);
	if (kind == WC_EXP_PAST) {
		res->created = true;	/* the caller wins; a placeholder would be dead on arrival */
		return WC_OK;
	}
	v.exptime = exptime_at(kind, at);
	if (r->opts & WC_TOUCH_EXPLICIT_CAS) {
		v.has_cas = true;
		v.cas = r->new_cas;
	}
	if (wc_write_version(p, ctx, r->hash, r->key, r->klen, NULL, NULL, &v, res) != WC_OK)
		return WC_ERR_NOMEM;
	res->created = true;
	if (wc_unlikely(wc_kev_hook(ctx) != NULL)) {
		wc_kev(ctx, p, WC_KEV_NEW, r->key, r->klen);
		wc_kev(ctx, p, WC_KEV_SET, r->key, r->klen);
	}
	return WC_OK;
}

enum wc_status wc_gat(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
		      uint64_t hash, int64_t exptime, struct wc_view *out)
{
	struct wc_item *it;
	struct wc_slot s;
	bool expired;

	ctx->st.ops[WC_OP_GAT]++;
	if (!key_ok(key, klen))
		return WC_ERR_KEY;
	wc_begin_write(p, ctx, 0);
	it = touch_item(p, ctx, key, klen, hash, exptime, &expired, &s);
	if (!it) {
		ctx->st.get_misses++;
		return WC_NOT_FOUND;
	}
	/* the reply shows the item as fetched, even when the new time expires it */
	wc_part_view_owner(p, ctx, it, WC_LOOKUP_CAS, out);
	ctx->st.get_hits++;
	if (expired)
		wc_unlink(p, ctx, it, &s, hash, WC_UNLINK_EXPIRED);
	wc_kev(ctx, p, expired ? WC_KEV_DEL : WC_KEV_EXPIRE, key, klen);
	return WC_OK;
}

void wc_flush(struct wc_part *p, struct wc_ctx *ctx, int64_t delay)
{
	uint32_t at = 0;

	ctx->st.ops[WC_OP_FLUSH]++;
	wc_begin_write(p, ctx, 0);
	WC_STORE_REL(&p->flushing, 1);	/* before anything readers must check */
	if (delay > 0 && wc_exptime_convert(&ctx->clock, delay, &at) == WC_EXP_AT) {
		WC_STORE_REL(&p->flush_at, at);
		return;
	}
	apply_flush(p);
}
