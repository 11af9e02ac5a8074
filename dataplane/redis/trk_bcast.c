/*
 * trk_bcast.c - BCAST tracking on one lcore: the prefixes its clients
 * subscribed (an entry per distinct prefix, a subscription per client and
 * prefix, from fixed pools), and the keys that changed under them, batched
 * per prefix (each key once, with its last writer for NOLOOP) until the
 * batch goes out as one invalidation per prefix and client.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "redis/trk_impl.h"
#include "store/store.h"

/* a batched key: header, then the key padded to 8 */
struct pend_key {
	uint32_t next;			/* the prefix's next batched key (offset + 1) */
	uint16_t klen;
	uint16_t prefix;
	uint64_t writer;
	uint64_t hash;
	uint8_t key[];
};

static inline uint32_t pad8(uint32_t n)
{
	return (n + 7u) & ~7u;
}

static inline struct trk_sub *sub_at(struct rd_trk_lcore *L, uint16_t ref)
{
	return &L->sub[ref - 1];
}

static bool overlap(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
	return memcmp(a, b, alen < blen ? alen : blen) == 0;
}

static int prefix_cmp(const struct trk_prefix *a, const struct trk_prefix *b)
{
	int c = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);

	return c ? c : (int)a->len - (int)b->len;
}

unsigned trk_bcast_list(const struct rd_trk_lcore *L, const struct rd_session *s,
			const struct trk_prefix **out, unsigned max)
{
	unsigned n = 0;

	for (uint16_t r = s->trk.subs; r && n < max; r = L->sub[r - 1].next_s) {
		const struct trk_prefix *p = &L->prefix[L->sub[r - 1].prefix];
		unsigned i = n++;

		/* (sorted as Redis's radix tree lists them) */
		while (i > 0 && prefix_cmp(out[i - 1], p) > 0) {
			out[i] = out[i - 1];
			i--;
		}
		out[i] = p;
	}
	return n;
}

bool trk_bcast_check(struct rd_session *s, const uint32_t *args, unsigned n)
{
	struct rd_trk_lcore *L = rd_lcore(s)->trk;
	const struct trk_prefix *have[TRK_SUBS];
	unsigned nhave = trk_bcast_list(L, s, have, TRK_SUBS);

	for (unsigned i = 0; i < n; i++) {
		const struct resp_arg *a = rd_arg(s, args[i]);

		if (a->kind != RESP_ARG_PTR || a->len > TRK_PREFIX_MAX) {
			rd_err_fmt(s, "ERR Prefixes are limited to %u bytes (the longest key)",
				   TRK_PREFIX_MAX);
			return false;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		const struct resp_arg *a = rd_arg(s, args[i]);

		for (unsigned k = 0; k < nhave; k++) {
			if (overlap(have[k]->p, have[k]->len, a->u.p, a->len)) {
				rd_err_fmt(s, "ERR Prefix '%.*s' overlaps with an existing prefix '%.*s'. "
					      "Prefixes for a single client must not overlap.",
					   (int)a->len, (const char *)a->u.p, (int)have[k]->len,
					   (const char *)have[k]->p);
				return false;
			}
		}
		for (unsigned j = i + 1; j < n; j++) {
			const struct resp_arg *b = rd_arg(s, args[j]);

			if (overlap(a->u.p, a->len, b->u.p, b->len)) {
				rd_err_fmt(s, "ERR Prefix '%.*s' overlaps with another provided prefix "
					      "'%.*s'. Prefixes for a single client must not overlap.",
					   (int)a->len, (const char *)a->u.p, (int)b->len,
					   (const char *)b->u.p);
				return false;
			}
		}
	}
	return true;
}

bool trk_bcast_add(struct rd_trk_lcore *L, struct rd_session *s, const uint8_t *p, uint32_t len)
{
	int free_at = -1, at = -1;
	struct trk_prefix *px;
	uint16_t r;

	for (r = s->trk.subs; r; r = sub_at(L, r)->next_s) {
		const struct trk_prefix *q = &L->prefix[sub_at(L, r)->prefix];

		if (q->len == len && memcmp(q->p, p, len) == 0)
			return true;	/* (already there) */
	}
	for (unsigned i = 0; i < TRK_PREFIXES && at < 0; i++) {
		const struct trk_prefix *q = &L->prefix[i];

		if (!q->nsubs) {
			if (free_at < 0)
				free_at = (int)i;
		} else if (q->len == len && memcmp(q->p, p, len) == 0) {
			at = (int)i;
		}
	}
	if ((at < 0 && free_at < 0) || !L->sub_free || len > TRK_PREFIX_MAX)
		return false;
	if (at < 0) {
		at = free_at;
		px = &L->prefix[at];
		memset(px, 0, offsetof(struct trk_prefix, p));
		px->len = (uint16_t)len;
		memcpy(px->p, p, len);
		L->active[L->nprefixes++] = (uint16_t)at;
	}
	px = &L->prefix[at];
	r = L->sub_free;
	L->sub_free = sub_at(L, r)->next_s;
	*sub_at(L, r) = (struct trk_sub){ .prefix = (uint16_t)at, .next_p = px->subs,
					  .next_s = s->trk.subs, .s = s, .id = s->id };
	px->subs = r;
	px->nsubs++;
	s->trk.subs = r;
	return true;
}

void trk_bcast_drop(struct rd_trk_lcore *L, struct rd_session *s)
{
	/* what is batched goes first (a prefix entry may be used again right away) */
	if (L->head.pend_keys)
		trk_bcast_flush(L);
	while (s->trk.subs) {
		uint16_t r = s->trk.subs;
		struct trk_sub *sub = sub_at(L, r);
		struct trk_prefix *px = &L->prefix[sub->prefix];

		for (uint16_t *pp = &px->subs; *pp; pp = &sub_at(L, *pp)->next_p) {
			if (*pp == r) {
				*pp = sub->next_p;
				break;
			}
		}
		if (--px->nsubs == 0) {
			for (unsigned i = 0; i < L->nprefixes; i++) {
				if (L->active[i] == sub->prefix) {
					L->active[i] = L->active[--L->nprefixes];
					break;
				}
			}
		}
		s->trk.subs = sub->next_s;
		sub->next_s = L->sub_free;
		sub->s = NULL;
		L->sub_free = r;
	}
}

/* ---- the batches ---- */

static uint32_t slot_of(uint64_t hash, uint16_t prefix)
{
	uint64_t h = hash ^ ((uint64_t)prefix * 0x9E3779B97F4A7C15ull);

	return (uint32_t)(h ^ (h >> 32)) & (TRK_PEND_SLOTS - 1);
}

static void batch(struct rd_trk_lcore *L, uint16_t prefix, const uint8_t *key, uint32_t klen,
		  uint64_t hash, uint64_t writer)
{
	uint32_t size = (uint32_t)sizeof(struct pend_key) + pad8(klen), slot, off;
	struct trk_prefix *px = &L->prefix[prefix];
	struct pend_key *e;

	for (slot = slot_of(hash, prefix); L->dedup[slot]; slot = (slot + 1) & (TRK_PEND_SLOTS - 1)) {
		e = (struct pend_key *)(void *)(L->pend + L->dedup[slot] - 1);
		if (e->prefix == prefix && e->hash == hash && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0) {
			e->writer = writer;	/* (the last writer decides NOLOOP) */
			return;
		}
	}
	if (L->head.pend_keys >= TRK_PEND_SLOTS * 3 / 4 || L->pend_used + size > TRK_PEND_BYTES) {
		trk_bcast_flush(L);
		slot = slot_of(hash, prefix);
	}
	off = L->pend_used;
	e = (struct pend_key *)(void *)(L->pend + off);
	*e = (struct pend_key){ .klen = (uint16_t)klen, .prefix = prefix, .writer = writer,
				.hash = hash };
	memcpy(e->key, key, klen);
	L->pend_used += size;
	L->head.pend_keys++;
	L->dedup[slot] = off + 1;
	if (px->pend_tail)
		((struct pend_key *)(void *)(L->pend + px->pend_tail - 1))->next = off + 1;
	else
		px->pend = off + 1;
	px->pend_tail = off + 1;
	px->npend++;
	if (!L->flush_posted) {
		/* out at our next bus drain, or before we next run a Redis connection */
		L->flush_posted = true;
		trk_post(L->lc, L->lc->id, TRK_MSG_FLUSH);
	}
}

void trk_bcast_note(struct rd_trk_lcore *L, const uint8_t *key, uint32_t klen, uint64_t writer)
{
	uint64_t hash = 0;

	for (unsigned i = 0; i < L->nprefixes; i++) {
		uint16_t at = L->active[i];
		const struct trk_prefix *px = &L->prefix[at];

		if (px->len > klen || memcmp(px->p, key, px->len) != 0)
			continue;
		if (!hash)
			hash = wc_hash(key, klen) | 1;
		batch(L, at, key, klen, hash, writer);
	}
}

/* The prefix's batched keys as bulk strings at out (skipping skip's writes); count them. */
static uint32_t keys_of(struct rd_trk_lcore *L, const struct trk_prefix *px, uint64_t skip,
			uint8_t *out, uint32_t *count)
{
	uint32_t n = 0;

	*count = 0;
	for (uint32_t r = px->pend; r;) {
		const struct pend_key *e = (const struct pend_key *)(const void *)(L->pend + r - 1);

		if (!skip || e->writer != skip) {
			n += (uint32_t)sprintf((char *)out + n, "$%u\r\n", e->klen);
			memcpy(out + n, e->key, e->klen);
			memcpy(out + n + e->klen, "\r\n", 2);
			n += e->klen + 2u;
			(*count)++;
		}
		r = e->next;
	}
	return n;
}

void trk_bcast_flush(struct rd_trk_lcore *L)
{
	if (!L->head.pend_keys)
		return;
	for (unsigned i = 0; i < L->nprefixes; i++) {
		struct trk_prefix *px = &L->prefix[L->active[i]];
		struct trk_val all = { .kind = TRK_V_KEYS, .p = L->scratch };

		if (!px->npend)
			continue;
		all.n = keys_of(L, px, 0, L->scratch, &all.count);
		for (uint16_t r = px->subs; r; r = sub_at(L, r)->next_p) {
			const struct trk_sub *sub = sub_at(L, r);
			struct rd_session *s = sub->s;

			if (!trk_alive(s, sub->id) ||
			    (trk_flags(s) & (RD_TRK_ON | RD_TRK_BCAST)) != (RD_TRK_ON | RD_TRK_BCAST))
				continue;
			if (trk_flags(s) & RD_TRK_NOLOOP) {
				/* without the keys this client changed itself */
				struct trk_val own = { .kind = TRK_V_KEYS,
						       .p = L->scratch + TRK_PEND_BYTES };

				own.n = keys_of(L, px, sub->id, L->scratch + TRK_PEND_BYTES,
						&own.count);
				if (own.count)
					trk_notify(L, s, &own);
			} else {
				trk_notify(L, s, &all);
			}
		}
	}
	for (unsigned i = 0; i < L->nprefixes; i++) {
		struct trk_prefix *px = &L->prefix[L->active[i]];

		px->pend = px->pend_tail = px->npend = 0;
	}
	L->pend_used = L->head.pend_keys = 0;
	memset(L->dedup, 0, sizeof(L->dedup));
}
