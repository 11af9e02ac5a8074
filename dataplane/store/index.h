/*
 * index.h - the partition's hash index: one-cache-line buckets of short tags.
 *
 * A bucket holds 10 entries as a 16-bit tag (0 = empty) and a 32-bit
 * location (the item's arena offset in 4-byte words, or a ghost marker), plus
 * a spill count. A key has two candidate buckets: b1 from the low hash bits
 * and b2 derived from b1 and the tag. Writers fill b1 first and spill into
 * b2; spill counts the live entries of b1 sitting in their b2, so a lookup
 * reads b2 only when that count is non-zero and a miss usually costs one
 * cache line. Entries never move between buckets, so a reader can never
 * miss a present key because of a concurrent writer.
 *
 * Ghost entries (evicted from the S3-FIFO small queue) keep their tag and
 * carry WC_LOC_GHOST | sequence; readers skip them, writers use them to
 * recognise a key that comes back soon after eviction.
 *
 * Sizing: the index is pre-sized from the partition's memory limit and the
 * expected mean item size (wc_part_cfg.item_size_hint), never grown. The
 * limit is known up front, pre-sizing keeps every operation constant-time
 * with no rehash pauses or second table on the per-packet path, and if items
 * turn out smaller than expected the index simply evicts like memory does.
 *
 * Ordering: the writer publishes loc (release) before the tag; readers load
 * the tag, then loc with acquire, then compare the whole key, so a torn or
 * stale tag can only cost a key comparison.
 */
#ifndef WC_STORE_INDEX_H
#define WC_STORE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "wirecache/compiler.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define WC_BUCKET_SLOTS 10u
#define WC_LOC_GHOST    0x80000000u
#define WC_GHOST_SEQ    0x7FFFFFFFu

struct wc_bucket {
	uint16_t tag[WC_BUCKET_SLOTS];
	uint32_t spill;
	uint32_t loc[WC_BUCKET_SLOTS];
} WC_ALIGNED(WC_CACHE_LINE);

_Static_assert(sizeof(struct wc_bucket) == WC_CACHE_LINE, "a bucket is one cache line");

struct wc_index {
	struct wc_bucket *b;
	uint32_t nbuckets;	/* >= 2, any value (not a power of two) */
};

struct wc_hpos {
	uint32_t b1, b2;
	uint16_t tag;
};

static inline uint32_t wc_fastrange32(uint32_t x, uint32_t n)
{
	return (uint32_t)(((uint64_t)x * n) >> 32);
}

static inline void wc_index_pos(const struct wc_index *ix, uint64_t h, struct wc_hpos *p)
{
	uint32_t off, b2;

	p->tag = (uint16_t)(h >> 48);
	if (p->tag == 0)
		p->tag = 1;
	p->b1 = wc_fastrange32((uint32_t)h, ix->nbuckets);
	off = 1 + wc_fastrange32((uint32_t)p->tag * 0x9E3779B1u, ix->nbuckets - 1);
	b2 = p->b1 + off;
	if (b2 >= ix->nbuckets)
		b2 -= ix->nbuckets;
	p->b2 = b2;
}

/* Bit i set when slot i's tag equals tag (a hint: the key still decides). */
static inline uint32_t wc_bucket_match(const struct wc_bucket *b, uint16_t tag)
{
#if defined(__SSE2__)
	/*
	 * tags 0-7, then tags 8-9 and six lanes of what follows them in the
	 * line (spill, loc[]: their bits are dropped); the two compares packed
	 * to one byte per lane, so one movemask gives a bit per slot
	 */
	__m128i t = _mm_set1_epi16((short)tag);
	__m128i lo = _mm_load_si128((const __m128i *)(const void *)b->tag);
	__m128i hi = _mm_load_si128((const __m128i *)(const void *)&b->tag[8]);
	__m128i eq = _mm_packs_epi16(_mm_cmpeq_epi16(lo, t), _mm_cmpeq_epi16(hi, t));

	_Static_assert(WC_BUCKET_SLOTS == 10 && offsetof(struct wc_bucket, tag) == 0,
		       "ten tags at the start of the line");
	return (uint32_t)_mm_movemask_epi8(eq) & ((1u << WC_BUCKET_SLOTS) - 1);
#else
	uint32_t bits = 0;

	for (unsigned i = 0; i < WC_BUCKET_SLOTS; i++)
		bits |= (uint32_t)(WC_LOAD(&b->tag[i]) == tag) << i;
	return bits;
#endif
}

static inline int wc_loc_is_item(uint32_t loc)
{
	return (loc & WC_LOC_GHOST) == 0;
}

size_t wc_index_bytes_for(uint64_t slots_wanted, uint32_t *nbuckets);

#endif
