/*
 * cenc.h - the byte layout of containers (design in container.h), shared by
 * the container's reader, writer and reclamation code. Internal to store/.
 *
 *   compact key item:   u8 enc=1, u8 0, u8 flags, u8 0, u32 count, member list
 *   bucketed key item:  u8 enc=2, u8 level, u8 flags, u8 0, u32 split, u64 cid,
 *                       u64 seed, u64 count                      (32 bytes)
 *   bucket item:        key "\xffWCB" cid(8) bucket(4);
 *                       value u32 tag (buckets of the layout it was written
 *                       for), u32 count, member list
 *   anchor item:        key "\xffWCA" cid(8); value the owning key
 *   member list:        per member varint name length, name, and for a hash
 *                       varint value length, value
 *
 * Numbers are little-endian, read and written with memcpy (values are not
 * aligned in the log).
 */
#ifndef WC_STORE_CENC_H
#define WC_STORE_CENC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "container.h"

#define WC_CHDR_COMPACT   8u		/* bytes before a compact list */
#define WC_CHDR_BUCKETS   32u		/* a bucketed header's value */
#define WC_CBUCKET_HDR    8u		/* bytes before a bucket's list */
#define WC_CKEY_BUCKET    16u
#define WC_CKEY_ANCHOR    12u
#define WC_CLEVEL_MAX     31u

static inline uint32_t wc_ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t wc_ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline void wc_st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void wc_st64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* ---- varints (LEB128, at most 5 bytes for 32 bits) ---- */

static inline uint32_t wc_varint_len(uint64_t v)
{
	uint32_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint32_t wc_varint_put(uint8_t *p, uint64_t v)
{
	uint32_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Read a varint from p (at most end); 0 when malformed. */
static inline uint32_t wc_varint_get(const uint8_t *p, const uint8_t *end, uint32_t *out)
{
	uint64_t v = 0;
	uint32_t n = 0;

	for (unsigned shift = 0; shift < 35 && p + n < end; shift += 7) {
		uint8_t b = p[n++];

		v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			if (v > UINT32_MAX)
				return 0;
			*out = (uint32_t)v;
			return n;
		}
	}
	return 0;
}

/* Bytes a member takes in a list. */
static inline uint64_t wc_centry_len(bool hash, uint64_t nlen, uint64_t vlen)
{
	uint64_t n = wc_varint_len(nlen) + nlen;

	if (hash)
		n += wc_varint_len(vlen) + vlen;
	return n;
}

/* Copy a wc_bytes to dst (into a new item: after a write, so read wins over p). */
static inline void wc_cbytes_copy(const struct wc_cbytes *b, uint8_t *dst)
{
	if (b->len == 0)
		return;
	if (b->read)
		b->read(b->src, 0, dst, b->len);
	else
		memcpy(dst, b->p, b->len);
}

/* Encode a member at dst; returns bytes written. */
static inline uint64_t wc_centry_put(uint8_t *dst, bool hash, const struct wc_cbytes *name,
				     const struct wc_cbytes *val)
{
	uint64_t n = wc_varint_put(dst, name->len);

	wc_cbytes_copy(name, dst + n);
	n += name->len;
	if (hash) {
		n += wc_varint_put(dst + n, val->len);
		wc_cbytes_copy(val, dst + n);
		n += val->len;
	}
	return n;
}

/* Does a wc_bytes equal n bytes at p? */
static inline bool wc_cbytes_eq(const struct wc_cbytes *b, const uint8_t *p, uint64_t n)
{
	uint8_t buf[512];

	if (b->len != n)
		return false;
	if (b->p)
		return memcmp(b->p, p, n) == 0;
	for (uint64_t off = 0; off < n; off += sizeof(buf)) {
		uint64_t k = n - off < sizeof(buf) ? n - off : sizeof(buf);

		b->read(b->src, off, buf, k);
		if (memcmp(buf, p + off, k) != 0)
			return false;
	}
	return true;
}

/* A member's hash under a container's seed. */
static inline uint64_t wc_cmember_hash(uint64_t seed, const struct wc_cbytes *b)
{
	XXH3_state_t st;
	uint8_t buf[1024];

	if (b->p)
		return XXH3_64bits_withSeed(b->p, b->len, seed);
	memset(&st, 0, sizeof(st));
	XXH3_64bits_reset_withSeed(&st, seed);
	for (uint64_t off = 0; off < b->len; off += sizeof(buf)) {
		uint64_t k = b->len - off < sizeof(buf) ? b->len - off : sizeof(buf);

		b->read(b->src, off, buf, k);
		XXH3_64bits_update(&st, buf, k);
	}
	return XXH3_64bits_digest(&st);
}

/* Linear hashing: the bucket of hash h with 2^level + split buckets. */
static inline uint32_t wc_cbucket_of(uint64_t h, uint8_t level, uint32_t split)
{
	uint64_t b = h & ((1ull << level) - 1);

	if (b < split)
		b = h & ((1ull << (level + 1)) - 1);
	return (uint32_t)b;
}

/* The bucket that bucket b was split from (b must not be one of the first 2^level0). */
static inline uint32_t wc_cbucket_parent(uint32_t b)
{
	return b - (1u << (31 - __builtin_clz(b)));
}

/* ---- item keys ---- */

static inline void wc_ckey_bucket(uint8_t *k, uint64_t cid, uint32_t b)
{
	k[0] = 0xFF;
	k[1] = 'W';
	k[2] = 'C';
	k[3] = 'B';
	wc_st64(k + 4, cid);
	wc_st32(k + 12, b);
}

static inline void wc_ckey_anchor(uint8_t *k, uint64_t cid)
{
	k[0] = 0xFF;
	k[1] = 'W';
	k[2] = 'C';
	k[3] = 'A';
	wc_st64(k + 4, cid);
}

/* ---- headers ---- */

static inline void wc_chdr_put_buckets(uint8_t *v, const struct wc_chdr *h)
{
	memset(v, 0, WC_CHDR_BUCKETS);
	v[0] = WC_CENC_BUCKETS;
	v[1] = h->level;
	v[2] = h->flags;
	wc_st32(v + 4, h->split);
	wc_st64(v + 8, h->cid);
	wc_st64(v + 16, h->seed);
	wc_st64(v + 24, h->count);
}

static inline void wc_chdr_put_compact(uint8_t *v, uint32_t count, uint8_t flags)
{
	memset(v, 0, WC_CHDR_COMPACT);
	v[0] = WC_CENC_COMPACT;
	v[2] = flags;
	wc_st32(v + 4, count);
}

/* Buckets of a layout. */
static inline uint32_t wc_clayout_nb(uint8_t level, uint32_t split)
{
	return (1u << level) + split;
}

/* The layout with nb buckets (nb >= 2): level and split pointer. */
static inline void wc_clayout_of(uint32_t nb, uint8_t *level, uint32_t *split)
{
	*level = (uint8_t)(31 - __builtin_clz(nb));
	*split = nb - (1u << *level);
}

#endif
