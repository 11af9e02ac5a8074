/*
 * container_gc.c - containers as seen by the store's own machinery: whether
 * an internal item (a member bucket or an anchor) still belongs to a live
 * container, and what evicting one means (its whole container goes).
 *
 * Called by the eviction policy at a log head (evict.c), by the crawler
 * (crawl.c) and on every WC_UNLINK_EVICT of an internal item; owner only.
 * It also wakes the resting crawler when a container's parts may have
 * become orphans (wc_c_header_gone).
 */
#include "cenc.h"
#include "part.h"

/* The cid an internal item's key names, or 0 when it is no container part. */
static uint64_t part_cid(const struct wc_item *it, bool *anchor)
{
	const uint8_t *k = wc_item_key(it);

	if (it->klen < WC_CKEY_ANCHOR || k[0] != 0xFF || k[1] != 'W' || k[2] != 'C')
		return 0;
	if (k[3] == 'A' && it->klen == WC_CKEY_ANCHOR)
		*anchor = true;
	else if (k[3] == 'B' && it->klen == WC_CKEY_BUCKET)
		*anchor = false;
	else
		return 0;
	return wc_ld64(k + 4);
}

/* The key that owns container cid (from its anchor), or false. */
static bool owner_key(struct wc_part *p, const struct wc_item *it, bool anchor, uint64_t cid,
		      const uint8_t **key, uint32_t *klen)
{
	const struct wc_item *a = it;

	if (!anchor) {
		uint8_t ak[WC_CKEY_ANCHOR];
		struct wc_slot s;

		wc_ckey_anchor(ak, cid);
		if (!wc_index_find_owner(p, wc_hash(ak, sizeof(ak)), ak, sizeof(ak), &s))
			return false;
		a = wc_loc_item(p, s.b->loc[s.i]);
		if (wc_item_type(a) != WC_TYPE_BUCKET)
			return false;
	}
	*klen = wc_item_vlen(a);
	*key = wc_item_value(a);
	return *klen >= 1 && *klen <= WC_KEY_MAX;
}

/* The linked, unexpired header of container cid at key. */
static struct wc_item *live_header(struct wc_part *p, struct wc_ctx *ctx, const uint8_t *key,
				   uint32_t klen, uint64_t cid, struct wc_slot *s, uint64_t *h)
{
	struct wc_item *it;
	const struct wc_log *lg;
	struct wc_chdr ch;

	*h = wc_hash(key, klen);
	if (!wc_index_find_owner(p, *h, key, klen, s))
		return NULL;
	it = wc_loc_item_w(p, s->b->loc[s->i]);
	if (!wc_c_parse(wc_item_type(it), wc_item_value(it), wc_item_vlen(it), &ch) ||
	    ch.enc != WC_CENC_BUCKETS || ch.cid != cid)
		return NULL;
	lg = wc_loc_log(p, wc_item_loc(p, it));
	if (ctx && (wc_owner_expired(p, it, &ctx->clock) ||
		    wc_part_flushed(p, lg, lg->head, it, ctx->clock.now)))
		return NULL;
	return it;
}

enum wc_cpart_state wc_c_part_state(struct wc_part *p, struct wc_ctx *ctx,
				    const struct wc_item *it, uint8_t *hdr_state)
{
	const uint8_t *key;
	uint32_t klen;
	bool anchor;
	uint64_t cid = part_cid(it, &anchor), h;
	struct wc_slot s;
	struct wc_item *hdr;

	if (cid == 0)
		return WC_CPART_ORPHAN;
	if (cid == p->cbuild_cid)
		return WC_CPART_BUILDING;
	if (!owner_key(p, it, anchor, cid, &key, &klen))
		return WC_CPART_ORPHAN;
	hdr = live_header(p, ctx, key, klen, cid, &s, &h);
	if (!hdr)
		return WC_CPART_ORPHAN;
	*hdr_state = wc_item_state(hdr);
	return WC_CPART_LIVE;
}

void wc_c_part_evicted(struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *it)
{
	const uint8_t *key;
	uint32_t klen;
	bool anchor;
	uint64_t cid = part_cid(it, &anchor), h;
	struct wc_slot s;
	struct wc_item *hdr;

	if (cid == 0)
		return;
	if (cid == p->cbuild_cid) {
		p->cbuild_lost = true;	/* the build can no longer be published whole */
		return;
	}
	if (!owner_key(p, it, anchor, cid, &key, &klen))
		return;
	hdr = live_header(p, NULL, key, klen, cid, &s, &h);
	if (hdr)
		wc_unlink(p, ctx, hdr, &s, h, WC_UNLINK_EVICT);
}

void wc_c_header_gone(struct wc_part *p, const struct wc_item *old, const struct wc_item *n)
{
	struct wc_chdr was, now;

	if (!wc_c_item_bucketed(old))
		return;		/* a compact container has no parts */
	/* a new version of the header that keeps the cid keeps the parts */
	if (n && wc_c_item_bucketed(n) &&
	    wc_c_parse(wc_item_type(old), wc_item_value(old), wc_item_vlen(old), &was) &&
	    wc_c_parse(wc_item_type(n), wc_item_value(n), wc_item_vlen(n), &now) &&
	    was.cid == now.cid)
		return;
	wc_crawl_wake(p);
}
