/*
 * repl_capture.c - where the store's writes become replication log entries
 * (repl.h): called by write.c, evict.c, kv.c and container_write.c at the
 * points where a key's version is linked, a key is unlinked, an expiry
 * changes in place, a flush takes effect and a container member changes.
 * Only ever called while the partition's log is on (part.h: WC_REPL_ON).
 */
#include <string.h>

#include "container.h"
#include "part.h"
#include "repl.h"

static int64_t exp_unix_ms(const struct wc_ctx *ctx, uint32_t exptime, uint32_t ms)
{
	return wc_expiry_unix_ms(&ctx->clock, exptime, exptime ? ms : 0);
}

static void piece_of(struct wc_rpiece *pc, const struct wc_cbytes *b)
{
	pc->len = b->len;
	pc->p = b->p;
	pc->read = b->read;
	pc->src = b->src;
}

/* DEL key, every member, then the expiry: a container written as a whole. */
static void note_whole_container(struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *n)
{
	const uint8_t *key = wc_item_key(n);
	uint8_t type = wc_item_type(n);
	uint8_t add = type == WC_TYPE_HASH ? WC_ROP_HSET : WC_ROP_SADD;
	struct wc_chdr h;
	uint32_t exptime, ms;

	wc_rlog_put(p->repl, WC_ROP_DEL, key, n->klen, 0, -1, NULL, NULL);
	if (!wc_c_parse(type, wc_item_value(n), wc_item_vlen(n), &h))
		return;	/* a copy whose source vanished (kv.c): its writer deletes it next */
	for (uint32_t b = 0; b < (h.enc == WC_CENC_COMPACT ? 1u : h.nb); b++) {
		struct wc_clist l;
		struct wc_cmember m;
		uint32_t pos = 0;

		if (wc_c_bucket(p, ctx, &h, b, false, &l) != WC_C_OK) {
			wc_rlog_put(p->repl, WC_ROP_RESYNC, key, n->klen, 0, -1, NULL, NULL);
			return;
		}
		while (wc_clist_next(&l, &pos, &m)) {
			struct wc_rpiece a = { .p = m.name, .len = m.nlen };
			struct wc_rpiece v = { .p = m.val, .len = m.vlen };

			wc_rlog_put(p->repl, add, key, n->klen, 0, -1, &a,
				    add == WC_ROP_HSET ? &v : NULL);
		}
	}
	wc_kv_expiry(n, &exptime, &ms);
	if (exptime)
		wc_rlog_put(p->repl, WC_ROP_PEXPIREAT, key, n->klen, 0,
			    exp_unix_ms(ctx, exptime, ms), NULL, NULL);
}

void wc_repl_note_version(struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *n)
{
	uint8_t type = wc_item_type(n);
	uint32_t exptime, ms;
	struct wc_rpiece v;

	if (type >= WC_TYPE_INTERNAL || p->repl_mute)
		return;
	if (type != WC_TYPE_STRING) {
		note_whole_container(p, ctx, n);
		return;
	}
	wc_kv_expiry(n, &exptime, &ms);
	v = (struct wc_rpiece){ .p = wc_item_value(n), .len = wc_item_vlen(n) };
	wc_rlog_put(p->repl, WC_ROP_SET, wc_item_key(n), n->klen, wc_item_flags(n),
		    exp_unix_ms(ctx, exptime, ms), &v, NULL);
}

void wc_repl_note_unlink(struct wc_part *p, struct wc_ctx *ctx, const struct wc_item *it)
{
	const struct wc_log *lg;

	if (wc_item_type(it) >= WC_TYPE_INTERNAL)
		return;
	if (p->repl_mute && it->klen == p->repl_mklen &&
	    !memcmp(wc_item_key(it), p->repl_mkey, it->klen))
		p->repl_mlost = true;
	/* a flushed item: the FLUSH entry already removed it everywhere */
	lg = wc_loc_log(p, wc_item_loc(p, it));
	if (wc_part_flushed(p, lg, lg->head, it, ctx->clock.now))
		return;
	wc_rlog_put(p->repl, WC_ROP_DEL, wc_item_key(it), it->klen, 0, -1, NULL, NULL);
}

void wc_repl_note_expiry(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			 uint32_t exptime, uint32_t ms)
{
	if (exptime)
		wc_rlog_put(p->repl, WC_ROP_PEXPIREAT, key, klen, 0, exp_unix_ms(ctx, exptime, ms),
			    NULL, NULL);
	else
		wc_rlog_put(p->repl, WC_ROP_PERSIST, key, klen, 0, -1, NULL, NULL);
}

void wc_repl_note_flush(struct wc_part *p)
{
	wc_rlog_put(p->repl, WC_ROP_FLUSH, NULL, 0, 0, -1, NULL, NULL);
}

void wc_repl_note_member(struct wc_part *p, uint8_t op, const void *key, uint32_t klen,
			 const struct wc_cbytes *name, const struct wc_cbytes *val)
{
	struct wc_rpiece a, b;

	piece_of(&a, name);
	if (val)
		piece_of(&b, val);
	wc_rlog_put(p->repl, op, key, klen, 0, -1, &a, val ? &b : NULL);
}
