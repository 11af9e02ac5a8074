/*
 * kv.c - the owner's typed writes for the Redis engine (see kv.h), built on
 * the same version writing as the memcached operations (write.c).
 */
#include <string.h>

#include "part.h"

static bool key_ok(const void *key, uint32_t klen)
{
	return key && klen >= 1 && klen <= WC_KEY_MAX;
}

struct wc_item *wc_kv_find(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			   uint64_t hash)
{
	struct wc_slot s;

	if (!key_ok(key, klen))
		return NULL;
	wc_part_apply_due_flush(p, ctx);
	return wc_find_live(p, ctx, hash, key, klen, &s);
}

enum wc_status wc_kv_set_idle(struct wc_part *p, struct wc_ctx *ctx, const void *key,
			      uint32_t klen, uint64_t hash, uint64_t idle)
{
	struct wc_item *it = wc_kv_find(p, ctx, key, klen, hash);

	if (!it)
		return WC_NOT_FOUND;
	if (idle > WC_IDLE_MAX)
		idle = WC_IDLE_MAX;
	WC_STORE(&it->atime, (uint16_t)((uint16_t)ctx->clock.now - (uint16_t)idle));
	return WC_OK;
}

void wc_kv_expiry(const struct wc_item *it, uint32_t *exptime, uint32_t *exp_ms)
{
	*exptime = wc_item_exptime(it);
	*exp_ms = *exptime ? wc_item_ext(it) & WC_EXT_MS_MASK : 0;
}

enum wc_status wc_kv_put(struct wc_part *p, struct wc_ctx *ctx, const struct wc_put_req *r,
			 struct wc_write_res *res)
{
	struct wc_version v = { .old_value_at = -1 };
	struct wc_write_res local;
	struct wc_slot s;
	struct wc_item *old;
	uint32_t ms = 0;
	enum wc_status st;

	if (!res)
		res = &local;
	/*
	 * a store operation, as wc_store counts memcached's (refusals too): the
	 * lcore's operation count drives its latency samples and core cost per
	 * operation; a container's internal parts are not operations of their own
	 */
	if (!(r->opts & WC_PUT_INTERNAL))
		ctx->st.ops[WC_OP_SET]++;
	if (!key_ok(r->key, r->klen))
		return WC_ERR_KEY;
	wc_begin_write(p, ctx, wc_item_total(r->klen, r->vlen, WC_LAYOUT_EXT));
	old = wc_find_live(p, ctx, r->hash, r->key, r->klen, &s);
	if ((r->opts & WC_PUT_KEEP_TTL) && old) {
		wc_kv_expiry(old, &v.exptime, &ms);
	} else if (!(r->opts & WC_PUT_KEEP_TTL)) {
		v.exptime = r->exptime;
		ms = r->exptime ? r->exp_ms : 0;
	}
	v.ext = (r->type != WC_TYPE_STRING || ms) ? wc_ext_make(r->type, ms) : 0;
	v.flags = r->flags;
	v.new_len = r->vlen;
	v.fill = r->fill;
	v.copy_arg = r->arg;
	v.needs_old = (r->opts & WC_PUT_NEEDS_OLD) != 0;
	st = wc_write_version(p, ctx, r->hash, r->key, r->klen, old, &s, &v, res);
	if (st == WC_OK)
		return st;
	if (st == WC_ERR_TOO_LARGE || st == WC_ERR_NOMEM) {
		/* as a refused store: the old value must not stay served */
		if ((old = wc_find_live(p, ctx, r->hash, r->key, r->klen, &s)))
			wc_unlink(p, ctx, old, &s, r->hash, WC_UNLINK_REPLACED);
	}
	return st;
}

enum wc_status wc_kv_delete(struct wc_part *p, struct wc_ctx *ctx, const void *key,
			    uint32_t klen, uint64_t hash)
{
	struct wc_slot s;
	struct wc_item *old;

	ctx->st.ops[WC_OP_DELETE]++;
	if (!key_ok(key, klen))
		return WC_NOT_FOUND;
	wc_begin_write(p, ctx, 0);
	old = wc_find_live(p, ctx, hash, key, klen, &s);
	if (!old) {
		ctx->st.delete_misses++;
		return WC_NOT_FOUND;
	}
	wc_unlink(p, ctx, old, &s, hash, WC_UNLINK_DELETE);
	ctx->st.delete_hits++;
	return WC_OK;
}

enum wc_status wc_kv_expire(struct wc_part *p, struct wc_ctx *ctx, const void *key,
			    uint32_t klen, uint64_t hash, uint32_t exptime, uint32_t exp_ms,
			    bool *gone)
{
	struct wc_slot s;
	struct wc_item *it;
	enum wc_status err;

	*gone = false;
	if (!key_ok(key, klen))
		return WC_NOT_FOUND;
	wc_begin_write(p, ctx, 0);
	it = wc_find_live(p, ctx, hash, key, klen, &s);
	if (!it)
		return WC_NOT_FOUND;
	if (exptime && wc_expiry_due(exptime, exp_ms, &ctx->clock) && !p->replica) {
		wc_unlink(p, ctx, it, &s, hash, WC_UNLINK_DELETE);
		*gone = true;
		return WC_OK;
	}
	return wc_item_reexpire(p, ctx, it, &s, hash, exptime, exp_ms, false, &err) ? WC_OK : err;
}

/*
 * The source of a copy, found again when its bytes are needed: making room
 * for the new item may have evicted or moved it meanwhile.
 */
struct copy_src {
	struct wc_part *p;
	const void *key;
	uint32_t klen;
	uint64_t hash, vlen;
	bool lost;
};

static void fill_from_src(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	struct copy_src *cs = arg;
	struct wc_slot s;
	const struct wc_item *it;

	(void)old;
	if (!wc_index_find_owner(cs->p, cs->hash, cs->key, cs->klen, &s) ||
	    wc_item_vlen(it = wc_loc_item(cs->p, s.b->loc[s.i])) != vlen) {
		cs->lost = true;
		memset(dst, 0, vlen);
		return;
	}
	memcpy(dst, wc_item_value(it), vlen);
}

enum wc_status wc_kv_copy(struct wc_part *p, struct wc_ctx *ctx, const void *src,
			  uint32_t src_len, const void *dst, uint32_t dst_len)
{
	uint64_t sh = wc_hash(src, src_len);

	for (int tries = 0; tries < 4; tries++) {
		struct wc_item *it = wc_kv_find(p, ctx, src, src_len, sh);
		struct copy_src cs = { .p = p, .key = src, .klen = src_len, .hash = sh };
		struct wc_put_req put = { .key = dst, .klen = dst_len, .hash = wc_hash(dst, dst_len),
					  .fill = fill_from_src, .arg = &cs };
		enum wc_status st;

		if (!it)
			return WC_NOT_FOUND;
		put.type = wc_item_type(it);
		put.flags = wc_item_flags(it);
		put.vlen = cs.vlen = wc_item_vlen(it);
		wc_kv_expiry(it, &put.exptime, &put.exp_ms);
		st = wc_kv_put(p, ctx, &put, NULL);
		if (st != WC_OK)
			return st;
		if (!cs.lost)
			return WC_OK;
		wc_kv_delete(p, ctx, dst, dst_len, put.hash);	/* a copy of nothing: undone */
	}
	return WC_NOT_FOUND;
}

void wc_kv_flush_sync(struct wc_part *p, struct wc_ctx *ctx)
{
	wc_flush(p, ctx, 0);
	for (unsigned guard = 0; WC_LOAD(&p->flushing) && guard < (1u << 24); guard++)
		wc_part_maintain(p, ctx, 1u << 16);
}
