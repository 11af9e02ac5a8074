/*
 * item.h - the on-log layout of one cached item and its accessors.
 *
 * An item is an immutable record appended to a partition's log:
 *
 *   offset 0  u32 vlen_layout  value length (28 bits) + layout bits;
 *                              WC_ITEM_PAD marks the rest of the lap as padding
 *   offset 4  u8  klen         1..250 (0 = a hole left by an abandoned write)
 *   offset 5  u8  state        atomic bits: eviction frequency, fetched,
 *                              win token sent, stale, unlinked, vivified
 *   offset 6  u16 atime        last access, clock seconds mod 2^16 (kept from
 *                              wrapping by the crawler, see crawl.c)
 *   [u32 exptime]              clock seconds, only when the item expires
 *                              (WC_LAYOUT_EXPIRES; 0 there = never)
 *   [u32 client flags]         only when non-zero (WC_LAYOUT_FLAGS)
 *   [u64 cas]                  only when set explicitly (WC_LAYOUT_CAS)
 *   [u32 ext]                  only when the item is not a plain string or
 *                              expires at a millisecond inside its second
 *                              (WC_LAYOUT_EXT): type (bits 16-23) and the
 *                              millisecond of expiry (bits 0-9)
 *   key bytes, value bytes, padding to 4 bytes
 *
 * So a string without a TTL, flags or an explicit CAS costs 8 bytes over its
 * key and value, one with a TTL 12. An item without an ext word is a string
 * (memcached's items, and Redis strings) that expires at the start of its
 * exptime second. Typed values (Redis hashes and sets, see container.h) keep
 * their encoding in the value bytes; items of the internal types are parts
 * of a container and never a key of their own (lookups by clients, scans and
 * key counts skip them).
 *
 * Only the exptime word (touch), the ext word's expiry millisecond, state and
 * atime change after the item is published; everything else is written once
 * before the index points at it. Giving an expiry to an item that has no
 * word for it takes a new version (wc_item_reexpire, write.c). The CAS
 * unique is normally not stored: it is derived from the item's position in
 * the log (see part.c), which is unique for every write.
 */
#ifndef WC_STORE_ITEM_H
#define WC_STORE_ITEM_H

#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "wirecache/compiler.h"

#define WC_ITEM_ALIGN      4u
#define WC_ITEM_PAD        0xFFFFFFFFu	/* vlen_layout of a padding record */
#define WC_EXPTIME_MAX     0xFFFFFFFEu	/* latest storable expiry */

#define WC_VLEN_MASK       0x0FFFFFFFu
#define WC_LAYOUT_FLAGS    (1u << 28)	/* 4-byte client flags follow the header */
#define WC_LAYOUT_CAS      (1u << 29)	/* 8-byte explicit CAS follows */
#define WC_LAYOUT_EXPIRES  (1u << 30)	/* a 4-byte exptime word comes first */
#define WC_LAYOUT_EXT      (1u << 31)	/* a 4-byte ext word follows the flags and cas */

/* ext word */
#define WC_EXT_MS_MASK     0x3FFu	/* millisecond of expiry within exptime's second */
#define WC_EXT_TYPE_SHIFT  16

/* Value types (ext bits 16-23). Internal types (>= WC_TYPE_INTERNAL) are container parts. */
enum wc_type {
	WC_TYPE_STRING = 0,
	WC_TYPE_HASH = 1,
	WC_TYPE_SET = 2,
	WC_TYPE_INTERNAL = 0x80,
	WC_TYPE_BUCKET = 0x80,		/* members of a large hash or set (container.h) */
};

#define WC_STATE_FREQ      0x03u	/* eviction frequency, saturates at 3 */
#define WC_STATE_FETCHED   0x04u	/* read at least once since written */
#define WC_STATE_WIN       0x08u	/* the recache win token was handed out */
#define WC_STATE_STALE     0x10u	/* invalidated, served as stale */
#define WC_STATE_UNLINKED  0x20u	/* owner removed it from the index */
#define WC_STATE_VIVIFIED  0x40u	/* empty placeholder made by a vivify-on-miss (set once) */

struct wc_item {
	uint32_t vlen_layout;
	uint8_t klen;
	uint8_t state;
	uint16_t atime;
};

_Static_assert(sizeof(struct wc_item) == 8, "item header is 8 bytes");

static inline uint32_t wc_item_vlen(const struct wc_item *it)
{
	return it->vlen_layout & WC_VLEN_MASK;
}

static inline uint32_t wc_item_layout(const struct wc_item *it)
{
	return it->vlen_layout & ~WC_VLEN_MASK;
}

static inline uint32_t wc_item_extra_bytes(uint32_t layout)
{
	/* bit 28 (flags) gives 4 bytes, bit 29 (cas) 8, bits 30 (exptime) and 31 (ext) 4 each */
	static const uint8_t by_bits[16] = { 0, 4, 8, 12, 4, 8, 12, 16,
					     4, 8, 12, 16, 8, 12, 16, 20 };

	return by_bits[layout >> 28];
}

static inline uint32_t wc_ext_make(uint8_t type, uint32_t ms)
{
	return ((uint32_t)type << WC_EXT_TYPE_SHIFT) | (ms & WC_EXT_MS_MASK);
}

static inline uint8_t wc_ext_type(uint32_t ext)
{
	return (uint8_t)(ext >> WC_EXT_TYPE_SHIFT);
}

/* Bytes an item with these sizes occupies in the log, padding included. */
static inline uint64_t wc_item_total(uint32_t klen, uint64_t vlen, uint32_t layout)
{
	uint64_t n = sizeof(struct wc_item) + wc_item_extra_bytes(layout) + klen + vlen;

	return (n + WC_ITEM_ALIGN - 1) & ~(uint64_t)(WC_ITEM_ALIGN - 1);
}

static inline uint64_t wc_item_size(const struct wc_item *it)
{
	return wc_item_total(it->klen, wc_item_vlen(it), wc_item_layout(it));
}

static inline const uint8_t *wc_item_key(const struct wc_item *it)
{
	return (const uint8_t *)(it + 1) + wc_item_extra_bytes(wc_item_layout(it));
}

static inline const uint8_t *wc_item_value(const struct wc_item *it)
{
	return wc_item_key(it) + it->klen;
}

/* The exptime word (only when WC_LAYOUT_EXPIRES is set): first after the header. */
static inline uint32_t *wc_item_exptime_ptr(const struct wc_item *it)
{
	return (uint32_t *)(uintptr_t)(it + 1);
}

/* Where the client flags are (only when WC_LAYOUT_FLAGS is set). */
static inline const uint8_t *wc_item_flags_at(const struct wc_item *it, uint32_t layout)
{
	return (const uint8_t *)(it + 1) + ((layout >> 28) & 4u);
}

static inline uint32_t wc_item_flags(const struct wc_item *it)
{
	uint32_t f = 0;

	if (it->vlen_layout & WC_LAYOUT_FLAGS)
		memcpy(&f, wc_item_flags_at(it, it->vlen_layout), sizeof(f));
	return f;
}

static inline int wc_item_has_cas(const struct wc_item *it)
{
	return (it->vlen_layout & WC_LAYOUT_CAS) != 0;
}

static inline uint64_t wc_item_stored_cas(const struct wc_item *it)
{
	uint64_t c;
	const uint8_t *p = wc_item_flags_at(it, it->vlen_layout);

	if (it->vlen_layout & WC_LAYOUT_FLAGS)
		p += 4;
	memcpy(&c, p, sizeof(c));
	return c;
}

/* Where the ext word is (only when WC_LAYOUT_EXT is set). */
static inline uint32_t *wc_item_ext_ptr(const struct wc_item *it)
{
	uint32_t l = it->vlen_layout;

	return (uint32_t *)(uintptr_t)((const uint8_t *)(it + 1) + ((l >> 26) & 12u) +
				       ((l >> 28) & 4u));
}

static inline uint32_t wc_item_ext(const struct wc_item *it)
{
	return (it->vlen_layout & WC_LAYOUT_EXT) ? __atomic_load_n(wc_item_ext_ptr(it),
								   __ATOMIC_RELAXED) : 0;
}

static inline uint8_t wc_item_type(const struct wc_item *it)
{
	return wc_ext_type(wc_item_ext(it));
}

static inline uint32_t wc_item_exptime(const struct wc_item *it)
{
	return (it->vlen_layout & WC_LAYOUT_EXPIRES) ? WC_LOAD(wc_item_exptime_ptr(it)) : 0;
}

/* Has the item's expiry (second and, with an ext word, millisecond) come? */
static inline bool wc_item_expired(const struct wc_item *it, const struct wc_clock *c)
{
	uint32_t e;

	if (wc_likely(!(it->vlen_layout & WC_LAYOUT_EXPIRES)))
		return false;
	e = WC_LOAD(wc_item_exptime_ptr(it));
	if (e == 0 || e > c->now)
		return false;
	return e < c->now || (wc_item_ext(it) & WC_EXT_MS_MASK) <= c->ms;
}

/* Can it take the expiry (exptime, ms) in place, with the words it has? */
static inline bool wc_item_expiry_fits(const struct wc_item *it, uint32_t exptime, uint32_t ms)
{
	uint32_t l = it->vlen_layout;

	return exptime == 0 || ((l & WC_LAYOUT_EXPIRES) && (ms == 0 || (l & WC_LAYOUT_EXT)));
}

static inline uint8_t wc_item_state(const struct wc_item *it)
{
	return WC_LOAD(&it->state);
}

/* Key equality without a libc call for the usual short keys. */
static inline int wc_key_bytes_eq(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t x, y, u, v;

	if (n >= 8 && n <= 16) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&u, a + n - 8, 8);
		memcpy(&v, b + n - 8, 8);
		return ((x ^ y) | (u ^ v)) == 0;
	}
	return memcmp(a, b, n) == 0;
}

static inline int wc_item_key_eq(const struct wc_item *it, const void *key, uint32_t klen)
{
	return it->klen == klen && wc_key_bytes_eq(wc_item_key(it), key, klen);
}

#endif
