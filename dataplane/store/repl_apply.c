/*
 * repl_apply.c - a replica applies replication log entries (repl.h) to its
 * own partition, on that partition's owner, through the public owner API
 * (kv.h, container.h): what the replica side of a node link will run.
 *
 * Every effect is idempotent and forced: a SET replaces whatever the key
 * holds, a member add to a key of another type replaces that key (the
 * replica's copy came from later than this entry, and the entries that
 * follow settle the key), a member removal from a key of another type or a
 * missing key does nothing. Expiries are absolute Unix milliseconds, kept
 * even when already due: a replica partition (wc_repl_set_replica) holds
 * expired keys, unseen by readers, until the master's DEL, as Redis does.
 */
#include <string.h>

#include "container.h"
#include "kv.h"
#include "repl.h"

static void fill_copy(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	(void)old;
	memcpy(dst, arg, vlen);
}

/* An absolute expiry as a clock second and millisecond, kept even when already due. */
static void expiry_of(const struct wc_clock *c, int64_t unix_ms, uint32_t *exptime, uint32_t *ms)
{
	int64_t rel = unix_ms - c->epoch * 1000;

	if (wc_expiry_from_unix_ms(c, unix_ms, exptime, ms))
		return;
	*exptime = rel >= 1000 ? (uint32_t)(rel / 1000) : 1;	/* (0 would mean never) */
	*ms = rel >= 1000 ? (uint32_t)(rel % 1000) : 0;
}

static enum wc_status apply_set(struct wc_part *p, struct wc_ctx *ctx, const struct wc_rent *e,
				uint64_t h)
{
	struct wc_put_req r = { .key = e->key, .klen = e->klen, .hash = h,
				.type = WC_TYPE_STRING, .flags = e->flags, .vlen = e->alen,
				.fill = fill_copy, .arg = (void *)(uintptr_t)e->a };

	if (e->exp_ms >= 0)
		expiry_of(&ctx->clock, e->exp_ms, &r.exptime, &r.exp_ms);
	return wc_kv_put(p, ctx, &r, NULL);
}

static enum wc_status apply_member(struct wc_part *p, struct wc_ctx *ctx, const struct wc_rent *e,
				   uint64_t h)
{
	bool hk = e->op == WC_ROP_HSET || e->op == WC_ROP_HDEL;
	bool del = e->op == WC_ROP_HDEL || e->op == WC_ROP_SREM;
	struct wc_cbytes name = wc_cbytes_of(e->a, e->alen), val = wc_cbytes_of(e->b, e->blen);
	uint8_t type = hk ? WC_TYPE_HASH : WC_TYPE_SET;
	struct wc_cupd res;
	enum wc_status st;

	st = wc_c_update(p, ctx, e->key, e->klen, h, type, del ? WC_COP_DEL : WC_COP_SET, &name,
			 hk ? &val : NULL, &res);
	if (st != WC_ERR_ARG)
		return st;
	if (del)
		return WC_OK;	/* another type: later entries settle the key */
	wc_kv_delete(p, ctx, e->key, e->klen, h);
	return wc_c_update(p, ctx, e->key, e->klen, h, type, WC_COP_SET, &name, hk ? &val : NULL,
			   &res);
}

enum wc_status wc_repl_apply(struct wc_part *p, struct wc_ctx *ctx, const struct wc_rent *e)
{
	uint64_t h = e->klen ? wc_hash(e->key, e->klen) : 0;
	uint32_t exptime, ms;
	bool gone;

	switch (e->op) {
	case WC_ROP_SET:
		return apply_set(p, ctx, e, h);
	case WC_ROP_DEL:
		wc_kv_delete(p, ctx, e->key, e->klen, h);
		return WC_OK;
	case WC_ROP_PEXPIREAT:
		expiry_of(&ctx->clock, e->exp_ms, &exptime, &ms);
		wc_kv_expire(p, ctx, e->key, e->klen, h, exptime, ms, &gone);
		return WC_OK;
	case WC_ROP_PERSIST:
		wc_kv_expire(p, ctx, e->key, e->klen, h, 0, 0, &gone);
		return WC_OK;
	case WC_ROP_HSET:
	case WC_ROP_HDEL:
	case WC_ROP_SADD:
	case WC_ROP_SREM:
		return apply_member(p, ctx, e, h);
	case WC_ROP_FLUSH:
		wc_kv_flush_sync(p, ctx);
		return WC_OK;
	default:
		return WC_ERR_ARG;	/* RESYNC, or unknown: the replica needs a full sync */
	}
}
