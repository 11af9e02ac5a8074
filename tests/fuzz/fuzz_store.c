/*
 * fuzz_store.c - libFuzzer harness for the store engine.
 *
 * Each input is a little program run against a small partition (its size,
 * value limit, index sizing and S3-FIFO split come from the first byte):
 * every write with garbage arguments (key lengths 0..260, values over the
 * limit, scattered and malformed segments or a copier, invalid modes and
 * option bits, exptimes up to INT64_MIN/INT64_MAX, random CAS values), the
 * meta variants (ms C/I/E/N, md I/x/T/E/C, ma C/E/N/T, mg T/N/E through
 * wc_touch_ex), gets and get bursts with claim_win, flush now and delayed,
 * clock steps and jumps, maintenance and bulk fills of untracked keys that
 * push the partition into eviction. Like a poll loop the harness passes an
 * RCU quiescent state after each operation, except during stretches the
 * input asks for, where writes must wait for grace periods themselves.
 * Partition memory comes from the heap here, so ASan red zones sit right at
 * the index's and the arena's ends.
 *
 * Checked after every operation: the gauges stay within the partition
 * (items <= index slots, bytes <= log bytes, every item at least 16 bytes).
 * A shadow table for 32 well-formed keys holds the last value the harness
 * stored: a hit must return exactly that value (keys may vanish by eviction
 * or expiry, never come back or change), and a key the harness deleted or
 * flushed must miss. At the end an immediate flush plus a full crawl must
 * leave no item and no byte accounted.
 *
 * The partition of each configuration is created once and reused, empty,
 * by later inputs: wc_part_destroy waits in rcu_barrier for liburcu's
 * call_rcu thread, which sleeps 10 ms per batch, and would cap the harness
 * near 100 inputs/s. A finding that depends on what earlier inputs left
 * behind (log positions, ghosts) may then not reproduce from its input
 * alone; FUZZ_STORE_FRESH=1 creates and destroys a partition per input.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include "store/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NKEYS     32u
#define VBUF      (16u << 10)	/* the largest max_value a partition gets here */
#define EPOCH     1700000000	/* fixed, so absolute exptimes replay exactly */
#define T0        1000u
#define MAX_OPS   2000u

#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "fuzz_store: %s:%d: check failed: %s\n", __FILE__,    \
				__LINE__, #c);                                             \
			abort();                                                           \
		}                                                                          \
	} while (0)

enum shadow_state { S_UNKNOWN, S_ABSENT, S_VALUE };

struct shadow {
	enum shadow_state st;
	bool flags_known;
	uint32_t flags;
	uint32_t vlen;
	uint64_t cas;		/* last CAS seen (a hint for cas arguments) */
	uint8_t val[VBUF];
};

struct input {
	const uint8_t *p;
	size_t n;
};

static struct wc_ctx ctx;
static struct wc_part *part;
static uint32_t max_value;
static struct shadow shadow[NKEYS];
static uint8_t keys[NKEYS][WC_KEY_MAX];
static uint32_t key_len[NKEYS];
static uint8_t junk_key[WC_KEY_MAX + 16];
static uint8_t vbuf[VBUF + 512];
static uint8_t cat[2 * VBUF + 512];
static bool verbose;	/* FUZZ_STORE_VERBOSE=1: one line of stats per input */
static bool fresh;	/* FUZZ_STORE_FRESH=1: a new partition for every input */
static struct wc_part *parts[128];	/* by configuration */

/* ---- input ---- */

static uint8_t u8(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static uint16_t u16(struct input *in)
{
	uint16_t lo = u8(in);

	return (uint16_t)(lo | (uint16_t)u8(in) << 8);
}

static uint32_t u32(struct input *in)
{
	uint32_t lo = u16(in);

	return lo | (uint32_t)u16(in) << 16;
}

static uint64_t u64(struct input *in)
{
	uint64_t lo = u32(in);

	return lo | (uint64_t)u32(in) << 32;
}

/* ---- heap-backed partition memory: ASan red zones at both ends ---- */

static void *heap_alloc(void *opaque, const char *name, size_t size)
{
	size_t rounded = (size + 63) & ~(size_t)63;
	void *p;

	(void)opaque;
	(void)name;
	if (size == 0)
		return NULL;
	p = aligned_alloc(64, rounded);
	if (p)
		memset(p, 0, rounded);
	return p;
}

static void heap_free(void *opaque, void *ptr, size_t size)
{
	(void)opaque;
	(void)size;
	free(ptr);
}

static const struct wc_mem_ops heap_mem = { .alloc = heap_alloc, .free = heap_free };

/* ---- operands ---- */

struct key {
	const uint8_t *k;
	uint32_t klen;
	uint64_t hash;
	struct shadow *sh;	/* NULL: not a tracked key */
};

/* Mostly one of the tracked keys; sometimes any length 0..260, or NULL. */
static struct key pick_key(struct input *in, bool allow_null)
{
	uint8_t b = u8(in);
	unsigned id = b % NKEYS;
	struct key k = { keys[id], key_len[id], 0, &shadow[id] };

	switch (b >> 5) {
	case 6:
		k.k = junk_key;
		k.klen = u16(in) % (WC_KEY_MAX + 11);
		k.sh = NULL;
		break;
	case 7:
		if (allow_null) {
			k.k = NULL;
			k.klen = 1 + u8(in) % WC_KEY_MAX;
			k.sh = NULL;
		}
		break;
	default:
		break;
	}
	if (k.k && k.klen <= WC_KEY_MAX)
		k.hash = wc_hash(k.k, k.klen);
	return k;
}

static int64_t pick_exptime(struct input *in)
{
	int64_t abs_now = EPOCH + (int64_t)ctx.clock.now;

	switch (u8(in) % 16) {
	case 0: case 1: case 2: case 3: case 4:
		return 0;
	case 5: case 6:
		return 1 + u8(in) % 8;
	case 7:
		return -(int64_t)u8(in) - 1;
	case 8:
		return INT64_MIN;
	case 9:
		return INT64_MAX;
	case 10:
		return 2592000 + (int64_t)(u8(in) % 3) - 1;	/* the relative/absolute border */
	case 11:
		return abs_now + (int64_t)(u8(in) % 16) - 4;
	case 12:
		return (int64_t)u32(in);
	case 13:
		return (int64_t)u64(in);
	default:
		return u16(in);
	}
}

static uint64_t pick_cas(struct input *in, const struct key *k)
{
	uint64_t known = k->sh ? k->sh->cas : 0;

	switch (u8(in) % 6) {
	case 0:
		return 0;
	case 1:
	case 2:
		return known;
	case 3:
		return known + 1;
	case 4:
		return known - 1;
	default:
		return u64(in);
	}
}

/* A value in vbuf: random bytes, a decimal number (for incr/decr) or a fill. */
static uint32_t pick_value(struct input *in)
{
	uint8_t how = u8(in), seed = u8(in);
	uint32_t len;

	switch (how % 8) {
	case 0:
	case 1:
		len = u8(in) % 64;
		for (uint32_t i = 0; i < len; i++)
			vbuf[i] = u8(in);
		return len;
	case 2:
	case 3: {
		int n = snprintf((char *)vbuf, 48, "%" PRIu64 "%.*s", u64(in) >> (seed % 64),
				 (int)(seed % 3), "  ");

		return (uint32_t)n;
	}
	case 4:
		len = max_value + (uint32_t)(seed % 3) - 1;	/* at the limit */
		break;
	case 5:
		len = u16(in) % (max_value + 256);
		break;
	default:
		len = u8(in);
		break;
	}
	if (len > VBUF + 256)
		len = VBUF + 256;
	for (uint32_t i = 0; i < len; i++)
		vbuf[i] = (uint8_t)(seed + i * 7);
	return len;
}

/* ---- checks ---- */

static void check_gauges(void)
{
	struct wc_part_stats ps;

	wc_part_get_stats(part, &ps);
	CHECK(ps.items <= ps.index_slots);
	CHECK(ps.bytes <= ps.log_bytes);
	CHECK(ps.bytes >= ps.items * 12);	/* header + a key byte, aligned */
	CHECK(ps.log_bytes + ps.index_bytes <= ps.limit_bytes);
}

/* A hit on key k: the view must be the key's and, if tracked, its last value. */
static void check_hit(const struct key *k, const struct wc_view *v)
{
	CHECK(v->it != NULL);
	CHECK(v->klen == k->klen && memcmp(v->key, k->k, k->klen) == 0);
	CHECK(v->vlen <= max_value);
	CHECK(!v->vivified || v->vlen == 0);
	if (!k->sh)
		return;
	CHECK(k->sh->st != S_ABSENT);
	if (k->sh->st == S_VALUE) {
		CHECK(v->vlen == k->sh->vlen);
		CHECK(memcmp(v->value, k->sh->val, v->vlen) == 0);
		if (k->sh->flags_known)
			CHECK(v->flags == k->sh->flags);
	}
	if (v->cas)
		k->sh->cas = v->cas;
}

static bool exptime_past(int64_t e)
{
	int64_t t;

	if (e == 0)
		return false;
	if (e < 0)
		return true;
	t = e <= 2592000 ? (int64_t)ctx.clock.now + e : e - ctx.clock.epoch;
	return t <= (int64_t)ctx.clock.now;
}

static void shadow_set(struct shadow *sh, const uint8_t *v, uint32_t len, bool flags_known,
		       uint32_t flags)
{
	sh->st = S_VALUE;
	memcpy(sh->val, v, len);
	sh->vlen = len;
	sh->flags_known = flags_known;
	sh->flags = flags;
}

static void shadow_all(enum shadow_state st)
{
	for (unsigned i = 0; i < NKEYS; i++)
		shadow[i].st = st;
}

/* ---- operations ---- */

static void copy_value(void *dst, uint64_t len, void *arg)
{
	memcpy(dst, arg, len);
}

static void op_store(struct input *in)
{
	struct key k = pick_key(in, true);
	uint8_t m = u8(in), segs = u8(in);
	enum wc_store_mode mode = (enum wc_store_mode)(m < 240 ? m % 6 : m);
	uint32_t len = pick_value(in);
	struct iovec iov[4];
	struct wc_store_req r = {
		.mode = mode, .key = k.k, .klen = k.klen, .hash = k.hash, .val = iov,
	};
	struct wc_write_res res = { 0 };
	enum wc_status st;
	bool concat = mode == WC_APPEND || mode == WC_PREPEND, viv, have_res;

	r.flags = u8(in) & 1 ? u32(in) : 0;
	r.exptime = pick_exptime(in);
	r.opts = u8(in);
	r.opts = r.opts & 0x80 ? r.opts : r.opts & 15;	/* mostly known bits */
	r.cas_in = pick_cas(in, &k);
	r.new_cas = u8(in) & 1 ? u64(in) : 1;
	r.vivify_exptime = r.opts & WC_STORE_VIVIFY ? pick_exptime(in) : 0;
	viv = concat && (r.opts & WC_STORE_VIVIFY);
	/* scatter: 0..4 segments, some empty; now and then a bad one, or a copier */
	switch (segs % 8) {
	case 0:	/* an empty value may come without any segment */
		iov[0] = (struct iovec){ vbuf, len };
		r.val = len ? iov : NULL;
		r.val_cnt = len ? 1 : 0;
		break;
	case 1: {
		uint32_t a = len ? u16(in) % (len + 1) : 0;

		iov[0] = (struct iovec){ vbuf, a };
		iov[1] = (struct iovec){ NULL, 0 };
		iov[2] = (struct iovec){ vbuf + a, len - a };
		r.val_cnt = 3;
		break;
	}
	case 2:
		iov[0] = (struct iovec){ NULL, 0 };
		iov[1] = (struct iovec){ vbuf, len };
		iov[2] = (struct iovec){ NULL, 0 };
		iov[3] = (struct iovec){ vbuf, 0 };
		r.val_cnt = 4;
		break;
	case 3:
		if (segs & 0x80) {	/* invalid: bytes without a buffer */
			iov[0] = (struct iovec){ NULL, 1 + (segs & 7) };
			r.val_cnt = 1;
		} else if (segs & 0x40) {	/* invalid: segments without an array */
			r.val = NULL;
			r.val_cnt = 1 + (segs & 3);
		} else {
			iov[0] = (struct iovec){ vbuf, len };
			r.val_cnt = 1;
		}
		break;
	case 4:	/* a copier (mbuf chains): the segment fields must be ignored */
		r.copy = copy_value;
		r.copy_arg = vbuf;
		r.copy_len = len;
		if (segs & 0x80)	/* a huge length: refused before any copy */
			r.copy_len = (uint64_t)max_value + 1 + u32(in);
		r.val = NULL;
		r.val_cnt = segs & 3;
		break;
	default:
		iov[0] = (struct iovec){ vbuf, len };
		r.val_cnt = 1;
		break;
	}
	have_res = u8(in) & 1;
	st = wc_store(part, &ctx, &r, have_res ? &res : NULL);
	if (k.klen == 0 || k.klen > WC_KEY_MAX || !k.k)
		CHECK(st == WC_ERR_KEY || st == WC_ERR_ARG);
	else if ((unsigned)mode > WC_CAS)
		CHECK(st == WC_ERR_ARG);
	else if (r.copy)
		CHECK(st != WC_ERR_ARG);	/* with a copier the segments do not count */
	if (st != WC_OK || !k.sh)
		return;
	CHECK(len <= max_value);
	if (res.cas)
		k.sh->cas = res.cas;
	if (!concat || res.created) {	/* the new value alone, or a past exptime */
		CHECK(!res.created || viv);
		if (!concat && (r.opts & WC_STORE_STALE_IF_OLDER) && k.sh->st != S_ABSENT)
			k.sh->st = S_UNKNOWN;	/* a stale set may have kept the old TTL */
		else if (exptime_past(viv ? r.vivify_exptime : r.exptime))
			k.sh->st = S_ABSENT;
		else
			shadow_set(k.sh, vbuf, len, true, r.flags);
		return;
	}
	if (k.sh->st == S_ABSENT) {	/* a miss: only ms N succeeds, creating the item */
		CHECK(viv);
		if (!exptime_past(r.vivify_exptime)) {
			CHECK(!have_res);
			shadow_set(k.sh, vbuf, len, true, r.flags);
		}
		return;
	}
	if (viv && (!have_res || (exptime_past(r.vivify_exptime) && res.cas == 0))) {
		k.sh->st = S_UNKNOWN;	/* a hit, or a miss that created or stored nothing */
		return;
	}
	if (k.sh->st != S_VALUE) {
		k.sh->st = S_UNKNOWN;
		return;
	}
	CHECK(k.sh->vlen + len <= max_value);
	if (have_res)
		CHECK(res.vlen == k.sh->vlen + len);
	if (mode == WC_APPEND) {
		memcpy(cat, k.sh->val, k.sh->vlen);
		memcpy(cat + k.sh->vlen, vbuf, len);
	} else {
		memcpy(cat, vbuf, len);
		memcpy(cat + len, k.sh->val, k.sh->vlen);
	}
	shadow_set(k.sh, cat, k.sh->vlen + len, k.sh->flags_known, k.sh->flags);
}

static void op_get(struct input *in)
{
	struct key k = pick_key(in, false);
	uint8_t f = u8(in);
	struct wc_view v;

	if (f & 0x80 && k.klen <= WC_KEY_MAX)
		k.hash = u64(in);	/* a wrong hash only costs a miss */
	if (!wc_get(part, &ctx, k.k, k.klen, k.hash, f & 7, &v)) {
		return;
	}
	if (f & 0x80) {
		CHECK(v.klen == k.klen && memcmp(v.key, k.k, k.klen) == 0);
		return;
	}
	check_hit(&k, &v);
	if (f & 0x40) {	/* meta W: one winner per version, then nobody */
		(void)wc_claim_win(part, &v, k.k, k.hash);
		CHECK(!wc_claim_win(part, &v, k.k, k.hash));
	}
}

static void op_burst(struct input *in)
{
	struct wc_get_req reqs[WC_GET_BURST_MAX + 8];
	struct key ks[WC_GET_BURST_MAX + 8];
	uint8_t b = u8(in);
	unsigned n = b & 0x80 ? 1 + b % (WC_GET_BURST_MAX + 8) : 1 + b % 8;
	unsigned lf = u8(in) & 7;

	for (unsigned i = 0; i < n; i++) {
		ks[i] = pick_key(in, false);
		reqs[i] = (struct wc_get_req){ .part = part, .key = ks[i].k, .klen = ks[i].klen,
					       .hash = ks[i].hash };
	}
	wc_get_burst(reqs, n, &ctx, lf);
	for (unsigned i = 0; i < n; i++) {
		if (ks[i].klen == 0 || ks[i].klen > WC_KEY_MAX)
			CHECK(!reqs[i].hit);
		if (reqs[i].hit)
			check_hit(&ks[i], &reqs[i].view);
	}
}

static void op_delete(struct input *in)
{
	struct key k = pick_key(in, false);
	uint64_t cas = pick_cas(in, &k);
	enum wc_status st = wc_delete(part, &ctx, k.k, k.klen, k.hash, cas);

	if (st == WC_OK && k.sh)
		k.sh->st = S_ABSENT;
}

static void op_arith(struct input *in)
{
	struct key k = pick_key(in, false);
	struct wc_arith_req r = { .key = k.k, .klen = k.klen, .hash = k.hash };
	struct wc_write_res res = { 0 };
	enum wc_status st;
	char digits[24];
	bool flags_known, have_res;
	uint64_t old;
	uint32_t n;

	r.decr = u8(in) & 1;
	r.delta = u8(in) & 1 ? u64(in) : u8(in);
	r.opts = u8(in);
	r.opts = r.opts & 0x80 ? r.opts : r.opts & 15;
	r.cas_in = pick_cas(in, &k);
	r.new_cas = u8(in) & 1 ? u64(in) : 4;
	r.initial = u8(in) & 1 ? u64(in) : u8(in);
	r.exptime = r.opts & WC_ARITH_SET_EXPTIME ? pick_exptime(in) : 0;
	r.vivify_exptime = r.opts & WC_ARITH_VIVIFY ? pick_exptime(in) : 0;
	have_res = u8(in) & 1;
	st = wc_arith(part, &ctx, &r, have_res ? &res : NULL);
	if (st != WC_OK || !k.sh)
		return;
	if (!(r.opts & WC_ARITH_VIVIFY))
		CHECK(k.sh->st != S_ABSENT);
	if (!have_res || (res.created && exptime_past(r.vivify_exptime))) {
		k.sh->st = S_UNKNOWN;	/* the model test checks the TTL of ma N */
		return;
	}
	if (res.created) {	/* ma N: the key was missing, now holds the initial value */
		CHECK(r.opts & WC_ARITH_VIVIFY);
		CHECK(res.value == r.initial);
		n = (uint32_t)snprintf(digits, sizeof(digits), "%" PRIu64, res.value);
		shadow_set(k.sh, (const uint8_t *)digits, n, true, 0);
		return;
	}
	CHECK(k.sh->st != S_ABSENT);
	if (k.sh->st == S_VALUE && k.sh->vlen < sizeof(digits)) {
		n = k.sh->vlen;
		while (n && k.sh->val[n - 1] == ' ')
			n--;
		memcpy(digits, k.sh->val, n);
		digits[n] = 0;
		old = strtoull(digits, NULL, 10);
		CHECK(res.value ==
		      (r.decr ? (old > r.delta ? old - r.delta : 0) : old + r.delta));
	}
	k.sh->cas = res.cas;
	flags_known = k.sh->st == S_VALUE && k.sh->flags_known;	/* incr keeps the flags */
	n = (uint32_t)snprintf(digits, sizeof(digits), "%" PRIu64, res.value);
	CHECK(res.vlen == n);
	shadow_set(k.sh, (const uint8_t *)digits, n, flags_known, k.sh->flags);
	if ((r.opts & WC_ARITH_SET_EXPTIME) && exptime_past(r.exptime))
		k.sh->st = S_ABSENT;	/* stored already expired */
}

static void op_touch(struct input *in, bool gat)
{
	struct key k = pick_key(in, false);
	int64_t e = pick_exptime(in);
	struct wc_view v;
	enum wc_status st;

	if (gat)
		st = wc_gat(part, &ctx, k.k, k.klen, k.hash, e, &v);
	else
		st = wc_touch(part, &ctx, k.k, k.klen, k.hash, e);
	if (st != WC_OK)
		return;
	if (gat)
		check_hit(&k, &v);
	if (k.sh && exptime_past(e))
		k.sh->st = S_ABSENT;
}

static void op_flush(struct input *in)
{
	int64_t d;

	switch (u8(in) % 6) {
	case 0:
		d = 0;
		break;
	case 1:
		d = -(int64_t)u8(in);
		break;
	case 2:
		d = 1 + u8(in) % 8;
		break;
	case 3:
		d = EPOCH + (int64_t)ctx.clock.now + (int64_t)(u8(in) % 8) - 3;
		break;
	default:
		d = (int64_t)u64(in);
		break;
	}
	wc_flush(part, &ctx, d);
	if (d <= 0)
		shadow_all(S_ABSENT);
	else
		shadow_all(S_UNKNOWN);	/* takes effect later, or now if in the past */
}

/* meta delete: delete, or mark stale / clear the value, with a new TTL or CAS */
static void op_modify(struct input *in)
{
	struct key k = pick_key(in, false);
	struct wc_modify_req r = { .key = k.k, .klen = k.klen, .hash = k.hash };
	struct wc_write_res res = { 0 };
	enum wc_status st;
	bool del, have_res;

	r.opts = u8(in);
	r.opts = r.opts & 0x80 ? r.opts : r.opts & 31;
	r.cas_in = pick_cas(in, &k);
	r.new_cas = u8(in) & 1 ? u64(in) : 2;
	r.exptime = pick_exptime(in);
	r.flags = u8(in) & 1 ? u32(in) : 0;
	del = !(r.opts & (WC_MOD_STALE | WC_MOD_CLEAR_VALUE));
	have_res = u8(in) & 1;
	st = wc_modify(part, &ctx, &r, have_res ? &res : NULL);
	if (st != WC_OK || !k.sh)
		return;
	CHECK(k.sh->st != S_ABSENT);
	if (del || ((r.opts & WC_MOD_SET_EXPTIME) && exptime_past(r.exptime))) {
		k.sh->st = S_ABSENT;
	} else if (r.opts & WC_MOD_CLEAR_VALUE) {
		shadow_set(k.sh, vbuf, 0, true, r.flags);	/* md x: empty, flags as given */
	} else if (k.sh->st == S_VALUE && have_res) {
		CHECK(res.vlen == k.sh->vlen);	/* md I keeps value and flags */
	}
	if (res.cas)
		k.sh->cas = res.cas;
}

/* meta get's writes: touch on a hit, on a miss a vivified placeholder */
static void op_touch_ex(struct input *in)
{
	struct key k = pick_key(in, false);
	struct wc_touch_req r = { .key = k.k, .klen = k.klen, .hash = k.hash };
	struct wc_write_res res = { 0 };
	enum wc_status st;
	bool have_res, viv_past;

	r.opts = u8(in);
	r.opts = r.opts & 0x80 ? r.opts : r.opts & 7;
	r.exptime = pick_exptime(in);
	r.vivify_exptime = pick_exptime(in);
	r.new_cas = u8(in) & 1 ? u64(in) : 3;
	have_res = u8(in) & 1;
	viv_past = exptime_past(r.vivify_exptime);
	st = wc_touch_ex(part, &ctx, &r, have_res ? &res : NULL);
	if (st == WC_NOT_FOUND && k.sh)
		CHECK(!(r.opts & WC_TOUCH_VIVIFY));
	if (st != WC_OK || !k.sh)
		return;
	if (!have_res) {
		if (k.sh->st == S_ABSENT) {	/* a miss: only a vivify succeeds */
			CHECK(r.opts & WC_TOUCH_VIVIFY);
			if (!viv_past)
				shadow_set(k.sh, vbuf, 0, true, 0);
		} else {
			k.sh->st = S_UNKNOWN;
		}
		return;
	}
	if (res.created) {	/* the caller won: an empty placeholder, or nothing */
		CHECK(r.opts & WC_TOUCH_VIVIFY);
		if (viv_past)
			k.sh->st = S_ABSENT;
		else
			shadow_set(k.sh, vbuf, 0, true, 0);
		return;
	}
	CHECK(k.sh->st != S_ABSENT);	/* a hit */
	if (k.sh->st == S_VALUE)
		CHECK(res.vlen == k.sh->vlen);
	k.sh->cas = res.cas;
	if ((r.opts & WC_TOUCH_SET_EXPTIME) && exptime_past(r.exptime))
		k.sh->st = S_ABSENT;	/* expired by the touch */
}

/* Many untracked keys at once (junk_key prefixes): memory and index pressure. */
static void op_fill(struct input *in)
{
	unsigned count = 1 + u8(in) % 128, base = u8(in);
	uint32_t len = u16(in) % (max_value + 1);
	int64_t e = pick_exptime(in);
	struct iovec iov = { vbuf, len };

	memset(vbuf, 'f', len);
	for (unsigned i = 0; i < count; i++) {
		uint32_t klen = 1 + (base + i) % WC_KEY_MAX;
		struct wc_store_req r = {
			.mode = WC_SET, .key = junk_key, .klen = klen,
			.hash = wc_hash(junk_key, klen), .val = &iov, .val_cnt = 1, .flags = i,
			.exptime = e,
		};
		enum wc_status st = wc_store(part, &ctx, &r, NULL);

		CHECK(st == WC_OK || st == WC_ERR_TOO_LARGE || st == WC_ERR_NOMEM);
	}
}

static void op_clock(struct input *in)
{
	uint8_t b = u8(in);
	uint64_t now = ctx.clock.now;

	if (b < 200)
		now += b % 4;
	else if (b < 250)
		now += u16(in);
	else
		now += u32(in) >> 8;
	if (now > 0xFFFFFFFDu)	/* what wc_clock_tick would ever produce */
		now = 0xFFFFFFFDu;
	ctx.clock.now = (uint32_t)now;
}

static void final_checks(void)
{
	struct wc_part_stats ps;
	struct wc_view v;

	for (unsigned i = 0; i < NKEYS; i++) {
		struct key k = { keys[i], key_len[i], wc_hash(keys[i], key_len[i]), &shadow[i] };

		if (wc_get(part, &ctx, k.k, k.klen, k.hash, WC_LOOKUP_CAS, &v))
			check_hit(&k, &v);
	}
	/* flush now, let the crawler pass twice: nothing may stay accounted */
	wc_flush(part, &ctx, 0);
	wc_part_maintain(part, &ctx, 1u << 22);
	wc_part_maintain(part, &ctx, 1u << 22);
	wc_part_get_stats(part, &ps);
	CHECK(ps.items == 0);
	CHECK(ps.bytes == 0);
	for (unsigned i = 0; i < NKEYS; i++) {
		uint64_t h = wc_hash(keys[i], key_len[i]);

		CHECK(!wc_get(part, &ctx, keys[i], key_len[i], h, 0, &v));
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rcu_register_thread();
	verbose = getenv("FUZZ_STORE_VERBOSE") != NULL;
	fresh = getenv("FUZZ_STORE_FRESH") != NULL;
	for (unsigned i = 0; i < NKEYS; i++) {
		uint32_t len = 1 + (i * 7) % 40;

		if (i == NKEYS - 1)
			len = WC_KEY_MAX;
		else if (i == NKEYS - 2)
			len = WC_KEY_MAX - 1;
		for (uint32_t j = 0; j < len; j++)
			keys[i][j] = (uint8_t)(j == 0 ? 'A' + i : i * 31 + j);
		key_len[i] = len;
	}
	for (unsigned j = 0; j < sizeof(junk_key); j++)
		junk_key[j] = (uint8_t)('a' + j % 26);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t mems[4] = { 256u << 10, 384u << 10, 512u << 10, 1u << 20 };
	static const uint32_t maxv[4] = { 64, 1024, 4096, VBUF };
	static const uint8_t smalls[4] = { 0, 10, 25, 50 };
	struct input in = { data, size };
	unsigned qs_off = 0;
	struct wc_part_cfg cfg;
	enum wc_status err;
	uint8_t c = u8(&in) & 0x7F;

	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = mems[c & 3];
	cfg.max_value = max_value = maxv[(c >> 2) & 3];
	cfg.small_pct = smalls[(c >> 4) & 3];
	cfg.item_size_hint = (c & 0x40) ? 2048 : 96;	/* a tight index evicts by itself */
	cfg.id = c;
	part = parts[c];
	if (!part) {
		part = wc_part_create(&cfg, &heap_mem, &err);
		CHECK(part != NULL && err == WC_OK);
		if (!fresh)
			parts[c] = part;
	}
	wc_ctx_init(&ctx);
	ctx.clock.epoch = EPOCH;
	ctx.clock.now = T0;
	memset(shadow, 0, sizeof(shadow));
	shadow_all(S_ABSENT);	/* a fresh partition holds nothing */

	for (unsigned ops = 0; in.n > 0 && ops < MAX_OPS; ops++) {
		switch (u8(&in) % 17) {
		case 0: case 1: case 2:
			op_store(&in);
			break;
		case 3: case 4:
			op_get(&in);
			break;
		case 5:
			op_burst(&in);
			break;
		case 6:
			op_delete(&in);
			break;
		case 7:
			op_arith(&in);
			break;
		case 8:
			op_touch(&in, false);
			break;
		case 9:
			op_touch(&in, true);
			break;
		case 10:
			op_flush(&in);
			break;
		case 11:
			op_modify(&in);
			break;
		case 12:
			op_touch_ex(&in);
			break;
		case 13:
			wc_part_maintain(part, &ctx, u16(&in));
			break;
		case 14:
			op_clock(&in);
			break;
		case 15:
			qs_off = u8(&in);	/* skip quiescent states: writes wait for grace */
			break;
		default:
			op_fill(&in);
			break;
		}
		check_gauges();
		if (qs_off)
			qs_off--;
		else
			rcu_quiescent_state();	/* a poll loop's pass; no view is held here */
	}
	if (verbose) {
		struct wc_part_stats ps;

		wc_part_get_stats(part, &ps);
		fprintf(stderr, "fuzz_store: mem %" PRIu64 " max_value %u: items %" PRIu64
			" total %" PRIu64 " evictions %" PRIu64 " (index %" PRIu64 ") relocations %"
			PRIu64 " ghost hits %" PRIu64 " expirations %" PRIu64 " grace waits %"
			PRIu64 "; too large %" PRIu64 " cas hits %" PRIu64 " badval %" PRIu64
			" get hits %" PRIu64 "\n", cfg.mem_bytes, max_value, ps.items,
			ps.total_items, ps.evictions, ps.index_evictions, ps.relocations,
			ps.ghost_hits, ps.expirations, ps.grace_waits, ctx.st.refused_too_large,
			ctx.st.cas_hits, ctx.st.cas_badval, ctx.st.get_hits);
	}
	final_checks();	/* also leaves the partition empty for the next input */
	if (fresh)
		wc_part_destroy(part);
	part = NULL;
	return 0;
}
