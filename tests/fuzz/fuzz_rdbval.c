/*
 * fuzz_rdbval.c - libFuzzer harness for the RDB value decoder
 * (redis/rdbval.h), the parser RESTORE runs on untrusted payloads.
 *
 * Input: first byte = mode, then the bytes. Mode bit 0 set: the bytes are a
 * value's body and the harness adds a valid footer (RDB version 10 and the
 * CRC), so the decoder proper runs on anything; clear: the bytes are a
 * whole payload, footer checks included. Bit 1: strings over 100 bytes are
 * refused (the caller's max_len). Every input is decoded twice, from
 * contiguous bytes and through a read callback (a scattered argument), and
 * the two must agree; every member's bytes are read whole and in pieces
 * from the end (read callbacks must serve any order). A decoded value is
 * also re-encoded and decoded again: the members must come back.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis/rdbval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rdbv_dec dec;
static uint8_t buf[1 << 20], tmp[1 << 20];

struct tally {
	uint64_t n, bytes, sum;
};

static uint64_t mix(uint64_t h, const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t member_sum(const struct rdbv_bytes *b)
{
	uint64_t n = b->len < sizeof(tmp) ? b->len : sizeof(tmp);

	if (b->p)
		return mix(0xcbf29ce484222325ull, b->p, b->len);
	/* pieces from the end, then the whole */
	for (uint64_t off = n; off > 0;) {
		uint64_t k = off < 1000 ? off : 1000;

		off -= k;
		b->read(b->src, off, tmp, k);
	}
	b->read(b->src, 0, tmp, n);
	return mix(0xcbf29ce484222325ull, tmp, n);
}

static int count(void *arg, const struct rdbv_bytes *name, const struct rdbv_bytes *val)
{
	struct tally *t = arg;

	t->n++;
	t->bytes += name->len + (val ? val->len : 0);
	t->sum += member_sum(name) * 3 + (val ? member_sum(val) : 7);
	return 0;
}

/* The members of a decoded value, kept for re-encoding (while they fit). */
#define KEEP_MAX 4096
static uint8_t arena[1 << 20];
static struct rdbv_member kept[KEEP_MAX];
static struct {
	uint64_t n, used, i;
	bool full;
} keep;

static const uint8_t *keep_bytes(const struct rdbv_bytes *b)
{
	uint8_t *p = arena + keep.used;

	if (b->len > sizeof(arena) - keep.used) {
		keep.full = true;
		return NULL;
	}
	if (b->p)
		memcpy(p, b->p, b->len);
	else
		b->read(b->src, 0, p, b->len);
	keep.used += b->len;
	return p;
}

static int keep_member(void *arg, const struct rdbv_bytes *name, const struct rdbv_bytes *val)
{
	struct rdbv_member *m;

	count(arg, name, val);
	if (keep.full || keep.n >= KEEP_MAX) {
		keep.full = true;
		return 0;
	}
	m = &kept[keep.n];
	m->nlen = name->len;
	m->name = keep_bytes(name);
	m->vlen = val ? val->len : 0;
	m->val = val ? keep_bytes(val) : NULL;
	if (!keep.full)
		keep.n++;
	return 0;
}

static void kept_rewind(void *arg)
{
	(void)arg;
	keep.i = 0;
}

static bool kept_next(void *arg, struct rdbv_member *m)
{
	(void)arg;
	if (keep.i >= keep.n)
		return false;
	*m = kept[keep.i++];
	return true;
}

static uint8_t enc[1 << 21];
static uint64_t enc_n;

static void enc_put(void *arg, const void *p, uint64_t n)
{
	(void)arg;
	if (n > sizeof(enc) - enc_n)
		abort();	/* (the plan bounds it: 2 MiB for what fits 1 MiB of members) */
	memcpy(enc + enc_n, p, n);
	enc_n += n;
}

/* Encode what was kept, decode it again: the same members must come back. */
static void round_trip(uint8_t kind, const struct tally *want)
{
	static int64_t ints[KEEP_MAX];
	struct rdbv_iter it = { .rewind = kept_rewind, .next = kept_next };
	struct rdbv_limits lim = { 128, 64, 512 };
	struct rdbv_out out = { .put = enc_put };
	struct rdbv_src in;
	struct rdbv_info info;
	struct rdbv_plan pl;
	struct tally t = { 0 };

	enc_n = 0;
	if (kind == RDBV_STRING) {
		rdbv_plan_string(&pl, kept[0].name, kept[0].nlen);
		rdbv_emit_string(&pl, kept[0].name, kept[0].nlen, &out);
	} else {
		if (!rdbv_plan_container(&pl, kind, &it, &lim, ints, KEEP_MAX))
			abort();
		rdbv_emit_container(&pl, &it, ints, &out);
	}
	if (enc_n != pl.size)
		abort();
	in = (struct rdbv_src){ .p = enc, .len = enc_n };
	if (rdbv_decode_payload(&dec, &in, count, &t, &info) != RDBV_OK || info.kind != kind ||
	    t.n != want->n || t.bytes != want->bytes || t.sum != want->sum)
		abort();
}

static void src_read(const void *arg, uint64_t off, void *dst, uint64_t n)
{
	memcpy(dst, (const uint8_t *)arg + off, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rdbv_src a, b;
	struct rdbv_info ia, ib;
	struct tally ta = { 0 }, tb = { 0 };
	uint64_t n;
	int ra, rb;

	if (size < 1 || size - 1 > sizeof(buf) - RDBV_FOOTER)
		return 0;
	n = size - 1;
	memcpy(buf, data + 1, n);
	if (data[0] & 1) {
		uint64_t crc;

		buf[n++] = RDBV_VERSION;
		buf[n++] = 0;
		crc = rdbv_crc64(0, buf, n);
		for (int i = 0; i < 8; i++)
			buf[n++] = (uint8_t)(crc >> (8 * i));
	}
	dec.max_len = data[0] & 2 ? 100 : 0;
	a = (struct rdbv_src){ .p = buf, .len = n };
	b = (struct rdbv_src){ .len = n, .read = src_read, .arg = buf };
	keep.n = keep.used = 0;
	keep.full = false;
	ra = rdbv_decode_payload(&dec, &a, keep_member, &ta, &ia);
	rb = rdbv_decode_payload(&dec, &b, count, &tb, &ib);
	if (ra != rb || ta.n != tb.n || ta.bytes != tb.bytes || ta.sum != tb.sum)
		abort();
	if (ra == RDBV_OK && (ia.count != ta.n || ia.bytes != ta.bytes || ia.kind != ib.kind))
		abort();
	if (ra == RDBV_OK && dec.max_len && ia.maxlen > dec.max_len)
		abort();
	dec.max_len = 0;
	if (ra == RDBV_OK && !keep.full)
		round_trip(ia.kind, &ta);
	return 0;
}
