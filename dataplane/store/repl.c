/*
 * repl.c - the replication log's ring (repl.h): appending entries on the
 * owner, lock-free reads with torn-read detection, entry checks, and switching a
 * partition's log on.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "part.h"
#include "repl.h"

const char *wc_rop_name(enum wc_rop op)
{
	static const char *const names[WC_ROP_MAX] = {
		[WC_ROP_SET] = "SET", [WC_ROP_DEL] = "DEL", [WC_ROP_PEXPIREAT] = "PEXPIREAT",
		[WC_ROP_PERSIST] = "PERSIST", [WC_ROP_HSET] = "HSET", [WC_ROP_HDEL] = "HDEL",
		[WC_ROP_SADD] = "SADD", [WC_ROP_SREM] = "SREM", [WC_ROP_FLUSH] = "FLUSH",
		[WC_ROP_RESYNC] = "RESYNC",
	};

	return (unsigned)op < WC_ROP_MAX && names[op] ? names[op] : "?";
}

/* ---- the ring ---- */

void wc_rlog_init(struct wc_rlog *rl, void *mem, uint64_t size)
{
	memset(rl, 0, sizeof(*rl));
	rl->mem = mem;
	rl->size = WC_REPL_MIN_BYTES;
	while (rl->size * 2 <= size)
		rl->size *= 2;		/* a power of two: offsets map to the ring by a mask */
	rl->max_entry = rl->size / 2;
}

static uint64_t round8(uint64_t n)
{
	return (n + WC_RENT_ALIGN - 1) & ~(uint64_t)(WC_RENT_ALIGN - 1);
}

/* Copy n bytes to ring offset off (wrapping). */
static void ring_write(struct wc_rlog *rl, uint64_t off, const void *src, uint64_t n)
{
	uint64_t at = (off & (rl->size - 1)), first = rl->size - at < n ? rl->size - at : n;

	memcpy(rl->mem + at, src, first);
	if (n > first)
		memcpy(rl->mem, (const uint8_t *)src + first, n - first);
}

static void ring_read(const struct wc_rlog *rl, uint64_t off, void *dst, uint64_t n)
{
	uint64_t at = (off & (rl->size - 1)), first = rl->size - at < n ? rl->size - at : n;

	memcpy(dst, rl->mem + at, first);
	if (n > first)
		memcpy((uint8_t *)dst + first, rl->mem, n - first);
}

/* Fill n ring bytes at off from a piece (through its reader when it has one). */
static void ring_piece(struct wc_rlog *rl, uint64_t off, const struct wc_rpiece *pc)
{
	uint64_t at = (off & (rl->size - 1)), first = rl->size - at < pc->len ? rl->size - at : pc->len;

	if (!pc->read) {
		ring_write(rl, off, pc->p, pc->len);
		return;
	}
	pc->read(pc->src, 0, rl->mem + at, first);
	if (pc->len > first)
		pc->read(pc->src, first, rl->mem, pc->len - first);
}

/*
 * An entry's check: XXH3 over everything after the check field, folded to
 * 32 bits. (A CRC32C was measured first: its dependency chain made it most
 * of the cost of logging a 1 KiB value, about 130 of 160 ns per entry.)
 */
static uint32_t fold(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

uint32_t wc_rent_check(const void *p, size_t n)
{
	return fold(XXH3_64bits(p, n));
}

/* The check of an entry written at off (len bytes, header included), wrapping or not. */
static uint32_t ring_check(const struct wc_rlog *rl, uint64_t off, uint64_t len)
{
	uint64_t at = ((off + 4) & (rl->size - 1)), n = len - 4;
	uint64_t first = rl->size - at < n ? rl->size - at : n;
	XXH3_state_t st;

	if (first == n)
		return wc_rent_check(rl->mem + at, n);
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, rl->mem + at, first);
	XXH3_64bits_update(&st, rl->mem, n - first);
	return fold(XXH3_64bits_digest(&st));
}

void wc_rlog_put(struct wc_rlog *rl, uint8_t op, const void *key, uint32_t klen, uint32_t flags,
		 int64_t exp_ms, const struct wc_rpiece *a, const struct wc_rpiece *b)
{
	struct wc_rent_hdr h = { .op = op, .klen = (uint8_t)klen, .flags = flags,
				 .exp_ms = exp_ms };
	uint64_t alen = a ? a->len : 0, blen = b ? b->len : 0;
	uint64_t len = sizeof(h) + klen + alen + blen, need, off = rl->tail, head = rl->head;

	if (len > rl->max_entry) {
		h.op = WC_ROP_RESYNC;
		alen = blen = 0;
		len = sizeof(h) + klen;
		rl->resyncs++;
	}
	h.alen = (uint32_t)alen;
	h.blen = (uint32_t)blen;
	h.len = (uint32_t)len;	/* (a RESYNC marker's key always fits: max_entry >= 32 KiB) */
	h.off = off;
	need = round8(len);
	/*
	 * Drop the oldest entries this one will overwrite, and a sixteenth of
	 * the ring more, so head moves (a store and a fence) once per many
	 * entries; readers learn it before any byte is overwritten.
	 */
	if (off + need - head > rl->size) {
		while (off + need + rl->size / 16 - head > rl->size && head < off) {
			uint32_t l;

			ring_read(rl, head + offsetof(struct wc_rent_hdr, len), &l, sizeof(l));
			head += round8(l);
		}
		__atomic_store_n(&rl->head, head, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);	/* head before the bytes below */
	}
	if ((off & (rl->size - 1)) + len <= rl->size) {
		/* the usual case: the entry does not wrap */
		uint8_t *d = rl->mem + (off & (rl->size - 1));

		memcpy(d, &h, sizeof(h));
		if (klen)
			memcpy(d + sizeof(h), key, klen);
		if (alen)
			ring_piece(rl, off + sizeof(h) + klen, a);
		if (blen)
			ring_piece(rl, off + sizeof(h) + klen + alen, b);
		h.check = wc_rent_check(d + 4, len - 4);
		memcpy(d, &h.check, sizeof(h.check));
	} else {
		if (klen)
			ring_write(rl, off + sizeof(h), key, klen);
		if (alen)
			ring_piece(rl, off + sizeof(h) + klen, a);
		if (blen)
			ring_piece(rl, off + sizeof(h) + klen + alen, b);
		ring_write(rl, off, &h, sizeof(h));	/* (check 0 while it is computed) */
		h.check = ring_check(rl, off, len);
		ring_write(rl, off, &h.check, sizeof(h.check));
	}
	WC_STORE(&rl->entries, rl->entries + 1);
	__atomic_store_n(&rl->tail, off + need, __ATOMIC_RELEASE);
}

enum wc_rread wc_rlog_read(const struct wc_rlog *rl, uint64_t *from, void *buf, size_t cap,
			   size_t *got)
{
	uint64_t at = *from, tail = wc_rlog_last(rl), n;
	size_t pos = 0, good = 0;

	*got = 0;
	if (at % WC_RENT_ALIGN || at > tail)
		return WC_RREAD_CORRUPT;
	if (at < wc_rlog_first(rl))
		return WC_RREAD_GONE;
	if (at == tail)
		return WC_RREAD_NOT_YET;
	n = tail - at < cap ? tail - at : cap;
	ring_read(rl, at, buf, n);
	/* the owner moves head before it overwrites: a copy made before that is whole */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (at < __atomic_load_n(&rl->head, __ATOMIC_RELAXED))
		return WC_RREAD_GONE;
	for (;;) {
		const uint8_t *e = (const uint8_t *)buf + pos;
		struct wc_rent_hdr h;

		if (n - pos < sizeof(h))
			break;
		memcpy(&h, e, sizeof(h));
		if (h.len < sizeof(h) || h.len > rl->max_entry || h.off != at + pos)
			return WC_RREAD_CORRUPT;
		if (n - pos < h.len)
			break;
		if (wc_rent_check(e + 4, h.len - 4) != h.check ||
		    (uint64_t)sizeof(h) + h.klen + h.alen + h.blen != h.len)
			return WC_RREAD_CORRUPT;
		pos += round8(h.len);
		good = pos < n ? pos : n;
	}
	if (good == 0)
		return WC_RREAD_SMALL;
	*got = good;
	*from = at + pos;
	return WC_RREAD_OK;
}

bool wc_rent_next(const void *buf, size_t got, size_t *pos, struct wc_rent *e)
{
	const uint8_t *b = (const uint8_t *)buf + *pos;
	struct wc_rent_hdr h;

	if (*pos + sizeof(h) > got)
		return false;
	memcpy(&h, b, sizeof(h));
	if (*pos + h.len > got)
		return false;
	e->off = h.off;
	e->op = h.op;
	e->klen = h.klen;
	e->flags = h.flags;
	e->exp_ms = h.exp_ms;
	e->key = b + sizeof(h);
	e->a = e->key + h.klen;
	e->alen = h.alen;
	e->b = e->a + h.alen;
	e->blen = h.blen;
	*pos += round8(h.len);
	return true;
}

/* ---- a partition's log ---- */

bool wc_repl_enable(struct wc_part *p, uint64_t bytes)
{
	struct wc_rlog *rl;
	uint64_t total, ring;

	if (p->repl)
		return true;
	ring = WC_REPL_MIN_BYTES;
	while (ring * 2 <= bytes)
		ring *= 2;
	total = round8(sizeof(*rl)) + ring;
	rl = p->mem->alloc(p->mem->opaque, "wc_repl", total);
	if (!rl)
		return false;
	wc_rlog_init(rl, (uint8_t *)rl + round8(sizeof(*rl)), ring);
	rl->alloc_bytes = total;
	__atomic_store_n(&p->repl, rl, __ATOMIC_RELEASE);
	return true;
}

void wc_repl_set_replica(struct wc_part *p, bool on)
{
	p->replica = on;
}

const struct wc_rlog *wc_repl_log(const struct wc_part *p)
{
	return __atomic_load_n(&p->repl, __ATOMIC_ACQUIRE);
}

void wc_repl_get_stats(const struct wc_part *p, struct wc_repl_stats *out)
{
	const struct wc_rlog *rl = wc_repl_log(p);

	memset(out, 0, sizeof(*out));
	if (!rl)
		return;
	out->enabled = true;
	out->backlog_first = wc_rlog_first(rl);
	out->master_offset = wc_rlog_last(rl);
	out->backlog_size = rl->size;
	out->entries = WC_LOAD(&rl->entries);
	out->resyncs = WC_LOAD(&rl->resyncs);
}

void wc_repl_free(struct wc_part *p)
{
	struct wc_rlog *rl = p->repl;

	if (!rl)
		return;
	p->repl = NULL;
	if (rl->alloc_bytes)
		p->mem->free(p->mem->opaque, rl, rl->alloc_bytes);
}
