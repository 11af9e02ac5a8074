/*
 * test_store_model.c - randomized model-based test of one store partition.
 *
 * A simple reference model (an array of keys, each with presence, value
 * bytes, flags, exptime in clock seconds, CAS and the meta state bits) replays
 * the same seeded random sequence of operations as the store: every store
 * mode (cas with right, wrong, older and newer uniques; segments or a copier;
 * the meta options check-CAS, stale-if-older, explicit CAS and vivifying
 * append), delete with and without cas, meta delete (stale, clear value, new
 * TTL, CAS checks), incr/decr on numeric and non-numeric values (with ma's
 * CAS check, explicit CAS, vivify and TTL), touch, gat, meta get's touch and
 * vivify, get (also in bursts), claim_win, flush_all (now and delayed), bad
 * arguments and the owner's maintenance, while the clock advances 0..3
 * seconds between operations (now and then a long idle spell). Every result
 * is compared: statuses, values, flags, exptimes, CAS, the write results,
 * the meta state bits (fetched, win, stale, vivified), idle times and the
 * per-thread counters. Part of the runs pass an RCU quiescent state between
 * operations, so grace periods complete through call_rcu as well.
 *
 * Phase 1 uses a partition that never evicts: everything must match the
 * model exactly, and full sweeps (every 1000 operations and at the end)
 * compare all keys and, after a full crawler pass, the partition's item and
 * byte gauges and its key count of every cluster slot. Phase 2 uses a small partition that evicts constantly: a key
 * may only vanish by eviction (the partition's eviction count must account
 * for every key the model lost), whatever the store returns must be the
 * model's latest version, and write statuses must agree with the presence
 * the store reported just before the write.
 *
 * Relocations by the eviction policy give items a new derived CAS (a
 * documented property: a stale CAS fails with EXISTS), so the model trusts a
 * learned CAS only while the partition's relocation counter is unchanged.
 * Everything is deterministic: the seeds are fixed; WC_MODEL_SEED=n runs
 * seed n in both phases instead (to reproduce a failure or explore). Known
 * store bugs are kept out of the generated inputs by AVOID_BUG_* switches.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store_helpers.h"
#include "store/item.h"
#include "store/scan.h"
#include "wirecache/slot.h"

#define NKEYS     2000u
#define NHOT      64u
#define VMAX      2048u		/* every partition's max_value */
#define T0        1000u
#define REL_MAX   2592000		/* memcached: larger exptimes are absolute */
#define EXP_LAST  0xFFFFFFFEu	/* latest expiry second the store can hold */

enum { M_NEVER, M_AT, M_PAST };

struct mkey {
	char key[WC_KEY_MAX];
	uint32_t klen;
	uint64_t hash;
	bool present;
	uint8_t *val;
	uint32_t vlen;
	uint32_t flags;
	uint32_t exp;		/* clock second, 0 = never */
	bool exp_word;		/* the item has an exptime word (written with a TTL, or given one) */
	uint64_t cas;		/* last CAS learned, 0 = unknown */
	uint64_t cas_epoch;	/* relocation epoch the CAS was learned in */
	uint64_t cas_prev;	/* the replaced version's CAS, while the new one is unknown */
	bool has_cas;		/* explicit CAS stored with the item (meta E) */
	bool stale, win, fetched, vivified;
	uint32_t atime;		/* last write or touching read */
};

struct run_cfg {
	const char *name;
	uint64_t seed;
	uint64_t mem;
	uint8_t small_pct;
	uint32_t size_hint;	/* 0: default */
	unsigned ops;
	bool exact;		/* phase 1: nothing may be evicted */
	unsigned qs_every;	/* rcu_quiescent_state() every n ops, 0 = never */
};

struct model {
	const struct run_cfg *cfg;
	struct wc_part *p;
	struct wc_ctx ctx;
	struct mkey *k;
	uint8_t *vals;
	uint32_t per_slot[WC_SLOTS];	/* check_gauges: the model's keys per cluster slot */
	uint32_t flush_at;	/* pending delayed flush, 0 = none */
	uint64_t relocs, epoch;
	uint64_t rng;
	unsigned op_no, cur;
	const char *op_name;
	uint64_t vanished;	/* keys lost to eviction (phase 2) */
	uint64_t evictions;	/* the partition's count at the last sync */
	uint64_t slack;		/* writes that may have evicted their own key's old version */
	uint64_t n_ops[16];
	struct wc_stats want;	/* counters the store must report */
	uint8_t buf[VMAX + 256];
	uint8_t tmp[2 * VMAX + 256];
};

#define MFAIL(m, ...)                                                                      \
	do {                                                                               \
		print_error("%s seed %" PRIu64 " op #%u (%s) key %u now %u: ", (m)->cfg->name, \
			    (m)->cfg->seed, (m)->op_no, (m)->op_name, (m)->cur,              \
			    (m)->ctx.clock.now);                                           \
		fail_msg(__VA_ARGS__);                                                     \
	} while (0)
#define MCHECK(m, c)                                                                       \
	do {                                                                               \
		if (!(c))                                                                  \
			MFAIL(m, "check failed: %s", #c);                                  \
	} while (0)
#define MEQ(m, got, want)                                                                  \
	do {                                                                               \
		uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);                      \
		if (g_ != w_)                                                              \
			MFAIL(m, "%s = %" PRIu64 ", want %" PRIu64 " (%s)", #got, g_, w_, #want); \
	} while (0)
#define MSTATUS(m, got, want)                                                              \
	do {                                                                               \
		enum wc_status g_ = (got), w_ = (want);                                    \
		if (g_ != w_)                                                              \
			MFAIL(m, "status %s, want %s", wc_status_name(g_), wc_status_name(w_)); \
	} while (0)

/* ---- randomness ---- */

static uint64_t rnd(struct model *m)
{
	uint64_t z = (m->rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint32_t rr(struct model *m, uint32_t n)
{
	return (uint32_t)(rnd(m) % n);
}

/* ---- the model's own rules ---- */

static uint32_t now(const struct model *m)
{
	return m->ctx.clock.now;
}

/* memcached exptime rules, written independently of clock.c */
static int mconv(const struct model *m, int64_t e, uint32_t *at)
{
	int64_t t;

	if (e == 0)
		return M_NEVER;
	if (e < 0)
		return M_PAST;
	t = e <= REL_MAX ? (int64_t)now(m) + e : e - m->ctx.clock.epoch;
	if (t <= (int64_t)now(m))
		return M_PAST;
	*at = t > (int64_t)EXP_LAST ? EXP_LAST : (uint32_t)t;
	return M_AT;
}

/* A delayed flush whose time has come removes everything stored before. */
static void mtime(struct model *m)
{
	if (m->flush_at && now(m) >= m->flush_at) {
		for (unsigned i = 0; i < NKEYS; i++)
			m->k[i].present = false;
		m->flush_at = 0;
	}
}

static bool alive(struct model *m, struct mkey *k)
{
	mtime(m);
	if (k->present && k->exp && k->exp <= now(m))
		k->present = false;
	return k->present;
}

static bool mparse(const uint8_t *s, uint32_t n, uint64_t *out)
{
	uint64_t v = 0;

	while (n && s[n - 1] == ' ')
		n--;
	if (n == 0 || n > 20)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
			return false;
	}
	*out = v;
	return true;
}

static uint64_t msize(const struct mkey *k)
{
	uint64_t n = 8 + (k->exp_word ? 4 : 0) + (k->flags ? 4 : 0) + (k->has_cas ? 8 : 0) +
		     k->klen + k->vlen;

	return (n + 3) & ~(uint64_t)3;
}

static bool cas_known(const struct model *m, const struct mkey *k)
{
	return k->cas && (k->has_cas || k->cas_epoch == m->epoch);
}

/*
 * A touch gave k the expiry exp: in place, or, when k had no exptime word
 * and needs one, as a new version that keeps its CAS by storing it.
 */
static void touched(struct mkey *k, bool cas_was_known, uint32_t exp)
{
	if (exp && !k->exp_word) {
		k->exp_word = true;
		if (!cas_was_known)
			k->cas = 0;	/* (whatever it is now, it is kept from here on) */
		k->has_cas = true;
	}
	k->exp = exp;
}

/* A new version was written: the state bits start over, the CAS changes. */
static void new_version(struct model *m, struct mkey *k, bool had, uint64_t cas_out,
			bool explicit_cas)
{
	uint64_t old = had && cas_known(m, k) ? k->cas : 0;

	k->present = true;
	k->has_cas = explicit_cas;
	k->exp_word = k->exp != 0;
	k->stale = k->win = k->fetched = k->vivified = false;
	k->atime = now(m);
	if (cas_out) {
		MCHECK(m, cas_out != old);
		k->cas = cas_out;
		k->cas_epoch = m->epoch;
		k->cas_prev = 0;
	} else {
		k->cas = 0;
		k->cas_prev = old;
	}
}

/*
 * Writes may relocate other items, which gives them new derived CAS values.
 * Returns how many items the last call evicted.
 */
static uint64_t sync_epoch(struct model *m)
{
	struct wc_part_stats ps;
	uint64_t d;

	wc_part_get_stats(m->p, &ps);
	if (ps.relocations != m->relocs) {
		m->relocs = ps.relocations;
		m->epoch++;
	}
	d = ps.evictions - m->evictions;
	m->evictions = ps.evictions;
	return d;
}

/*
 * A write that replaces a present key may evict that key's own old version
 * while making room, and still succeed: no probe can see that eviction.
 */
static void note_self_evict(struct model *m, bool had, enum wc_status st, uint64_t evicted)
{
	if (had && st == WC_OK && evicted)
		m->slack++;
}

static void check_view(struct model *m, struct mkey *k, const struct wc_view *v, bool with_cas)
{
	uint8_t st = v->state_before &
		     (WC_STATE_FETCHED | WC_STATE_WIN | WC_STATE_STALE | WC_STATE_UNLINKED);
	uint8_t want = (uint8_t)((k->fetched ? WC_STATE_FETCHED : 0) | (k->win ? WC_STATE_WIN : 0) |
				 (k->stale ? WC_STATE_STALE : 0));

	MCHECK(m, v->it != NULL);
	MEQ(m, v->klen, k->klen);
	MCHECK(m, memcmp(v->key, k->key, k->klen) == 0);
	MEQ(m, v->vlen, k->vlen);
	MCHECK(m, memcmp(v->value, k->val, k->vlen) == 0);
	MEQ(m, v->flags, k->flags);
	MEQ(m, v->exptime, k->exp);
	MEQ(m, v->vivified, k->vivified);
	MEQ(m, st, want);
	if (now(m) - k->atime < 60000)	/* the crawler pins longer idle times */
		MEQ(m, v->idle_before, (uint16_t)(now(m) - k->atime));
	if (!with_cas)
		return;
	MCHECK(m, v->cas != 0);
	if (cas_known(m, k)) {
		MEQ(m, v->cas, k->cas);
	} else {
		if (k->cas_prev)
			MCHECK(m, v->cas != k->cas_prev);
		k->cas = v->cas;
		k->cas_epoch = m->epoch;
		k->cas_prev = 0;
	}
}

/* A touching read: fetched bit and access time, as the store records them. */
static void accessed(struct model *m, struct mkey *k)
{
	k->fetched = true;
	k->atime = now(m);
}

/*
 * Look a key up without side effects and learn its CAS. Phase 1: presence
 * must match. Phase 2: a key the model holds may have been evicted; a key the
 * model does not hold must never come back.
 */
static bool probe(struct model *m, unsigned ki)
{
	struct mkey *k = &m->k[ki];
	struct wc_view v;
	bool a = alive(m, k);
	bool hit = wc_get(m->p, &m->ctx, k->key, k->klen, k->hash,
			  WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS | WC_LOOKUP_CAS, &v);

	if (hit) {
		if (!a)
			MFAIL(m, "probe: key %u absent in the model, but the store has it", ki);
		check_view(m, k, &v, true);
		return true;
	}
	if (a) {
		if (m->cfg->exact)
			MFAIL(m, "probe: key %u present in the model, but the store misses it", ki);
		k->present = false;
		m->vanished++;
	}
	return false;
}

/* Phase 2 only: the op lost its key to an eviction it caused itself. */
static void lost_during_op(struct model *m, unsigned ki)
{
	struct mkey *k = &m->k[ki];
	struct wc_view v;

	if (m->cfg->exact)
		MFAIL(m, "key %u lost during a write, but nothing may be evicted", ki);
	MCHECK(m, !wc_get(m->p, &m->ctx, k->key, k->klen, k->hash,
			  WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v));
	k->present = false;
	m->vanished++;
}

/*
 * Before time moves or a flush hits, probe the keys it will take: a key
 * evicted earlier is then seen as evicted, not as expired or flushed, which
 * keeps the eviction count exact (see check_gauges).
 */
static void observe_doomed(struct model *m, uint32_t to, bool all)
{
	bool flush_due = all || (m->flush_at && to >= m->flush_at);

	for (unsigned i = 0; i < NKEYS; i++) {
		struct mkey *k = &m->k[i];

		if (k->present && (flush_due || (k->exp && k->exp <= to)))
			probe(m, i);
	}
}

static void advance(struct model *m, uint32_t by)
{
	observe_doomed(m, now(m) + by, false);
	m->ctx.clock.now += by;
}

/* ---- operands ---- */

static unsigned pick_key(struct model *m)
{
	return rr(m, 2) ? rr(m, NHOT) : rr(m, NKEYS);
}

static int64_t pick_exptime(struct model *m)
{
	int64_t abs0 = m->ctx.clock.epoch + now(m);

	if (rr(m, 3))
		return 0;
	switch (rr(m, 40)) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9:
	case 10: case 11: case 12: case 13: case 14: case 15: case 16: case 17: case 18:
	case 19: case 20: case 21:
		return 0;
	case 22: case 23: case 24: case 25: case 26: case 27: case 28:
		return 1 + rr(m, 10);
	case 29: case 30:
		return 11 + rr(m, 500);
	case 31:
		return -1;
	case 32:
		return rr(m, 2) ? INT64_MIN : -(int64_t)(1 + rr(m, 1000000));
	case 33: case 34: case 35:
		return abs0 - 3 + rr(m, 25);	/* absolute: past, now or soon */
	case 36:
		return rr(m, 2) ? REL_MAX : REL_MAX + 1;	/* 30 days; 1970 */
	case 37:
		return rr(m, 2) ? INT64_MAX : abs0 + 100000000;	/* clamped far future */
	case 38:
		return abs0;	/* absolute now: already expired */
	default:
		return abs0 + 1;
	}
}

static uint32_t pick_flags(struct model *m)
{
	switch (rr(m, 4)) {
	case 0:
	case 1:
		return 0;
	case 2:
		return 1 + rr(m, 100);
	default:
		return rr(m, 2) ? 0xFFFFFFFFu : (uint32_t)rnd(m);
	}
}

static uint64_t pick_delta(struct model *m)
{
	switch (rr(m, 6)) {
	case 0:
		return 0;
	case 1:
	case 2:
		return 1;
	case 3:
		return rr(m, 1000);
	case 4:
		return UINT64_MAX - rr(m, 3);
	default:
		return rnd(m);
	}
}

static uint32_t fill_printable(struct model *m, uint8_t *b, uint32_t len)
{
	uint8_t c = (uint8_t)('a' + rr(m, 26));

	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(c + i % 7);
	return len;
}

/* A value: numbers of every shape arith cares about, binary, long and too long. */
static uint32_t gen_value(struct model *m, uint8_t *b)
{
	static const char *const odd[] = {
		"abc", "1a", "-1", " 1", "1.5", "18446744073709551616", "99999999999999999999",
		"000000000000000000001", "18446744073709551615", "00000000000000000009",
		"0", "007", "12 ", "12  ", "1 2", "   ",
	};
	unsigned kind = rr(m, 14);
	int n;

	if (!m->cfg->exact && rr(m, 5) < 3)	/* phase 2: mostly big values */
		return fill_printable(m, b, 1024 + rr(m, VMAX - 1024 + 1));
	switch (kind) {
	case 0: case 1: case 2:
		n = snprintf((char *)b, 32, "%" PRIu64, (uint64_t)rr(m, 1000));
		return (uint32_t)n;
	case 3:
		n = snprintf((char *)b, 32, "%" PRIu64, UINT64_MAX - rr(m, 20));
		return (uint32_t)n;
	case 4: {
		uint64_t v = rnd(m);
		int spaces;

		v >>= rr(m, 64);
		spaces = (int)rr(m, 4);

		n = snprintf((char *)b, 32, "%" PRIu64 "%.*s", v, spaces, "    ");
		return (uint32_t)n;
	}
	case 5: {
		const char *s = odd[rr(m, WC_ARRAY_LEN(odd))];

		memcpy(b, s, strlen(s));
		return (uint32_t)strlen(s);
	}
	case 6:
		return 0;
	case 7:
	case 8: {
		uint32_t len = rr(m, 65);

		for (uint32_t i = 0; i < len; i++)
			b[i] = (uint8_t)rnd(m);
		return len;
	}
	case 9:
	case 10:
	case 11:
		return fill_printable(m, b, rr(m, 600));
	case 12:
		return fill_printable(m, b, VMAX - 64 + rr(m, 65));
	default:
		return fill_printable(m, b, VMAX - 8 + rr(m, 100));	/* often too large */
	}
}

/* Scatter a value over up to three segments, empty ones included. */
static unsigned split(struct model *m, uint8_t *b, uint32_t len, struct iovec *iov)
{
	uint32_t a = len ? rr(m, len + 1) : 0, c = a + (len - a ? rr(m, len - a + 1) : 0);

	switch (rr(m, 3)) {
	case 0:
		iov[0] = (struct iovec){ b, len };
		return len == 0 && rr(m, 2) ? 0 : 1;	/* an empty value may have no segment */
	case 1:
		iov[0] = (struct iovec){ b, a };
		iov[1] = (struct iovec){ b + a, len - a };
		return 2;
	default:
		iov[0] = (struct iovec){ b, a };
		iov[1] = (struct iovec){ b + a, c - a };
		iov[2] = (struct iovec){ b + c, len - c };
		return 3;
	}
}

/* ---- operations: each one probes its key, runs, and compares ---- */

/* wc_store_req.copy: the value comes from a copier instead of segments */
static void copy_value(void *dst, uint64_t len, void *arg)
{
	memcpy(dst, arg, len);
}

static uint64_t pick_cas_in(struct model *m, bool a, uint64_t cur)
{
	switch (rr(m, 8)) {
	case 0: case 1: case 2: case 3:
		return a ? cur : rnd(m);
	case 4:
		return cur + 1 + rr(m, 3);	/* newer */
	case 5:
		return cur > 3 ? cur - 1 - rr(m, 3) : 0;	/* older */
	case 6:
		return 0;
	default:
		return rnd(m);
	}
}

/* An explicit CAS (meta E): bit 63 set, which derived CAS values never have. */
static uint64_t pick_new_cas(struct model *m, const struct mkey *k)
{
	uint64_t c = (1ull << 63) | rnd(m);

	return c == k->cas ? c ^ 2 : c;
}

static void op_store(struct model *m, unsigned ki)
{
	static const enum wc_store_mode modes[] = {
		WC_SET, WC_SET, WC_SET, WC_SET, WC_SET, WC_SET, WC_SET, WC_ADD, WC_ADD,
		WC_REPLACE, WC_REPLACE, WC_APPEND, WC_APPEND, WC_PREPEND, WC_PREPEND,
		WC_CAS, WC_CAS, WC_CAS, WC_CAS, WC_CAS,
	};
	static const enum wc_op ops[] = {
		[WC_SET] = WC_OP_SET, [WC_ADD] = WC_OP_ADD, [WC_REPLACE] = WC_OP_REPLACE,
		[WC_APPEND] = WC_OP_APPEND, [WC_PREPEND] = WC_OP_PREPEND, [WC_CAS] = WC_OP_CAS,
	};
	struct mkey *k = &m->k[ki];
	enum wc_store_mode mode = modes[rr(m, WC_ARRAY_LEN(modes))];
	bool concat = mode == WC_APPEND || mode == WC_PREPEND;
	bool a = alive(m, k), stale = false, want_res = rr(m, 4) != 0;
	uint32_t vlen = gen_value(m, m->buf), at = 0;
	struct iovec iov[3];
	unsigned iov_cnt = split(m, m->buf, vlen, iov);
	uint32_t flags = pick_flags(m);
	int64_t exptime = pick_exptime(m);
	struct wc_store_req r = {
		.mode = mode, .key = k->key, .klen = k->klen, .hash = k->hash,
		.val = iov_cnt ? iov : NULL, .val_cnt = iov_cnt, .flags = flags, .exptime = exptime,
	};
	struct wc_write_res res;
	uint64_t cur = a ? k->cas : 0;	/* the probe made it known */
	bool check, viv, past;
	int kind;
	enum wc_status want, st;

	m->op_name = "store";
	memset(&res, 0x5A, sizeof(res));
	if (rr(m, 8) == 0) {	/* a copier instead of segments; these must be ignored */
		r.copy = copy_value;
		r.copy_arg = m->buf;
		r.copy_len = vlen;
		r.val = NULL;
		r.val_cnt = 1 + rr(m, 3);
	}
	if (rr(m, 20) == 0) {
		r.opts |= WC_STORE_EXPLICIT_CAS;
		r.new_cas = pick_new_cas(m, k);
	}
	if (mode != WC_CAS && rr(m, 10) == 0)
		r.opts |= WC_STORE_CHECK_CAS;	/* meta ms C: any mode */
	check = mode == WC_CAS || (r.opts & WC_STORE_CHECK_CAS);
	if (check) {
		if (rr(m, 5) == 0)
			r.opts |= WC_STORE_STALE_IF_OLDER;
		r.cas_in = pick_cas_in(m, a, cur);
	}
	if (concat && rr(m, 3) == 0) {
		r.opts |= WC_STORE_VIVIFY;	/* meta ms N: a miss creates */
		r.vivify_exptime = pick_exptime(m);
	}
	if (rr(m, 4) == 0)
		r.opts |= WC_STORE_DROP_ON_REFUSE;	/* meta ms: any refused mode drops */
	viv = concat && (r.opts & WC_STORE_VIVIFY);
	kind = mconv(m, viv ? r.vivify_exptime : r.exptime, &at);
	past = (!concat || !a) && kind == M_PAST;

	if (vlen > VMAX)
		want = WC_ERR_TOO_LARGE;	/* a plain set also drops the old value */
	else if (mode == WC_ADD && a)
		want = WC_NOT_STORED;
	else if ((mode == WC_REPLACE || (concat && !viv)) && !a)
		want = WC_NOT_STORED;
	else if (check && !a)
		want = WC_NOT_FOUND;
	else if (check && r.cas_in != cur) {
		stale = (r.opts & WC_STORE_STALE_IF_OLDER) && r.cas_in < cur;
		want = stale ? WC_OK : WC_EXISTS;
	} else if (concat && a && k->vlen + vlen > VMAX)
		want = WC_ERR_TOO_LARGE;
	else
		want = WC_OK;
	if (want == WC_OK && concat && a && k->vlen + vlen > VMAX)
		want = WC_ERR_TOO_LARGE;	/* a stale-if-older append is still too large */

	st = wc_store(m->p, &m->ctx, &r, want_res ? &res : NULL);
	note_self_evict(m, a, st, sync_epoch(m));
	m->want.ops[ops[mode]]++;
	if (st == WC_ERR_TOO_LARGE)
		m->want.refused_too_large++;
	if (concat && a && want == WC_OK && st == (check ? WC_NOT_FOUND : WC_NOT_STORED)) {
		lost_during_op(m, ki);	/* the old value was evicted to make room */
		return;
	}
	MSTATUS(m, st, want);
	if ((st == WC_ERR_TOO_LARGE || st == WC_ERR_NOMEM) &&
	    ((mode == WC_SET && !check) || (r.opts & WC_STORE_DROP_ON_REFUSE)) &&
	    (vlen > VMAX || !(concat && a)))
		k->present = false;	/* memcached: no stale value after a failed set (but an
					 * append that would grow too large keeps it) */
	if (check) {
		if (st == WC_OK)
			m->want.cas_hits++;
		else if (st == WC_EXISTS)
			m->want.cas_badval++;
		else if (st == WC_NOT_FOUND)
			m->want.cas_misses++;
	}
	if (st != WC_OK)
		return;
	if (past && !stale) {	/* stored and expired at once (a stale set keeps the TTL) */
		if (want_res) {
			MEQ(m, res.cas, 0);
			MEQ(m, res.vlen, vlen);
			MEQ(m, res.exptime, 0);
			MEQ(m, res.created, false);
		}
		k->present = false;
		return;
	}
	if (concat && a) {
		uint8_t *t = m->tmp;

		if (mode == WC_APPEND) {
			memcpy(t, k->val, k->vlen);
			memcpy(t + k->vlen, m->buf, vlen);
		} else {
			memcpy(t, m->buf, vlen);
			memcpy(t + vlen, k->val, k->vlen);
		}
		k->vlen += vlen;
		memcpy(k->val, t, k->vlen);	/* flags and exptime stay */
	} else {
		memcpy(k->val, m->buf, vlen);
		k->vlen = vlen;
		k->flags = r.flags;
		if (!stale)	/* memcached: a stale set keeps the item's TTL */
			k->exp = kind == M_AT ? at : 0;
	}
	if (want_res) {
		MCHECK(m, res.cas != 0);
		if (r.opts & WC_STORE_EXPLICIT_CAS)
			MEQ(m, res.cas, r.new_cas);
		MEQ(m, res.vlen, k->vlen);
		MEQ(m, res.exptime, k->exp);
		MEQ(m, res.created, concat && !a);
	}
	{
		bool won = k->win;

		new_version(m, k, a, want_res ? res.cas : 0, r.opts & WC_STORE_EXPLICIT_CAS);
		/* ... and whether its win token went out */
		k->win = stale && won;
	}
	if (!want_res && (r.opts & WC_STORE_EXPLICIT_CAS)) {
		k->cas = r.new_cas;
		k->cas_prev = 0;
	}
	k->stale = stale;
}


static void op_get(struct model *m, unsigned ki)
{
	static const unsigned lflags[] = {
		0, WC_LOOKUP_CAS, WC_LOOKUP_CAS, WC_LOOKUP_NO_TOUCH | WC_LOOKUP_CAS,
		WC_LOOKUP_NO_STATS, WC_LOOKUP_NO_TOUCH,
	};
	struct mkey *k = &m->k[ki];
	unsigned lf = lflags[rr(m, WC_ARRAY_LEN(lflags))];
	bool a = alive(m, k);
	struct wc_view v;
	bool hit = wc_get(m->p, &m->ctx, k->key, k->klen, k->hash, lf, &v);

	m->op_name = "get";
	if (!(lf & WC_LOOKUP_NO_STATS)) {
		m->want.ops[WC_OP_GET]++;
		if (hit)
			m->want.get_hits++;
		else
			m->want.get_misses++;
	}
	MEQ(m, hit, a);
	if (!hit)
		return;
	check_view(m, k, &v, lf & WC_LOOKUP_CAS);
	if (lf & WC_LOOKUP_NO_TOUCH)
		return;
	accessed(m, k);
	if (rr(m, 3) == 0) {	/* meta W: exactly one claimer per version */
		MEQ(m, wc_claim_win(m->p, &v, k->key, k->hash), !k->win);
		k->win = true;
		MEQ(m, wc_claim_win(m->p, &v, k->key, k->hash), false);
	}
}

static void op_burst(struct model *m)
{
	struct wc_get_req reqs[WC_GET_BURST_MAX + 16];
	unsigned ki[WC_GET_BURST_MAX + 16];
	unsigned n = rr(m, 50) ? 1 + rr(m, 12) : 1 + rr(m, WC_ARRAY_LEN(reqs));	/* > 64 splits */
	unsigned lf = rr(m, 2) ? WC_LOOKUP_CAS : 0;

	m->op_name = "burst";
	for (unsigned i = 0; i < n; i++) {
		ki[i] = i && rr(m, 4) == 0 ? ki[i - 1] : pick_key(m);	/* repeats too */
		probe(m, ki[i]);
		reqs[i] = (struct wc_get_req){ .part = m->p, .key = m->k[ki[i]].key,
					       .klen = m->k[ki[i]].klen, .hash = m->k[ki[i]].hash };
		if (rr(m, 10) == 0)
			reqs[i].klen = rr(m, 2) ? 0 : WC_KEY_MAX + 1;	/* bad: a miss */
	}
	wc_get_burst(reqs, n, &m->ctx, lf);
	for (unsigned i = 0; i < n; i++) {
		struct mkey *k = &m->k[ki[i]];
		bool want = reqs[i].klen == k->klen && alive(m, k);

		m->cur = ki[i];
		m->want.ops[WC_OP_GET]++;
		if (reqs[i].hit)
			m->want.get_hits++;
		else
			m->want.get_misses++;
		MEQ(m, reqs[i].hit, want);
		if (!reqs[i].hit)
			continue;
		check_view(m, k, &reqs[i].view, lf & WC_LOOKUP_CAS);
		accessed(m, k);
	}
}

static void op_delete(struct model *m, unsigned ki)
{
	struct mkey *k = &m->k[ki];
	bool a = alive(m, k);
	uint64_t cas_in = 0;
	enum wc_status want, st;

	m->op_name = "delete";
	switch (rr(m, 5)) {
	case 0:
		cas_in = a ? k->cas : 1 + rr(m, 100);
		break;
	case 1:
		cas_in = k->cas ^ (1 + rr(m, 1000));
		break;
	default:
		break;
	}
	want = !a ? WC_NOT_FOUND : cas_in && cas_in != k->cas ? WC_EXISTS : WC_OK;
	st = wc_delete(m->p, &m->ctx, k->key, k->klen, k->hash, cas_in);
	m->want.ops[WC_OP_DELETE]++;
	if (st == WC_OK)
		m->want.delete_hits++;
	else if (st == WC_NOT_FOUND)
		m->want.delete_misses++;
	MSTATUS(m, st, want);
	if (st == WC_OK)
		k->present = false;
}

/*
 * Known store bug, kept out of the generated inputs so the rest of the run
 * stays useful: wc_arith with WC_ARITH_VIVIFY and a past vivify exptime
 * creates an item that never expires (memcached: already expired). Set to 0
 * to generate that input again.
 */
#define AVOID_BUG_ARITH_VIVIFY_PAST 0

static void op_arith(struct model *m, unsigned ki)
{
	struct mkey *k = &m->k[ki];
	bool a = alive(m, k), want_res = rr(m, 4) != 0;
	struct wc_arith_req r = {
		.key = k->key, .klen = k->klen, .hash = k->hash, .decr = rr(m, 2),
	};
	struct wc_write_res res;
	uint64_t cur = a ? k->cas : 0, num = 0, next = 0;
	uint32_t at = 0;
	int kind = M_NEVER;
	enum wc_status want, st;

	m->op_name = r.decr ? "decr" : "incr";
	memset(&res, 0x5A, sizeof(res));
	r.delta = pick_delta(m);
	if (rr(m, 6) == 0) {
		r.opts |= WC_ARITH_CHECK_CAS;	/* ma C */
		r.cas_in = pick_cas_in(m, a, cur);
	}
	if (rr(m, 10) == 0) {
		r.opts |= WC_ARITH_EXPLICIT_CAS;	/* ma E */
		r.new_cas = pick_new_cas(m, k);
	}
	if (rr(m, 4) == 0) {
		r.opts |= WC_ARITH_VIVIFY;	/* ma N J */
		r.initial = pick_delta(m);
		do
			r.vivify_exptime = pick_exptime(m);
		while (AVOID_BUG_ARITH_VIVIFY_PAST && mconv(m, r.vivify_exptime, &at) == M_PAST);
	}
	if (rr(m, 6) == 0) {
		r.opts |= WC_ARITH_SET_EXPTIME;	/* ma T */
		r.exptime = pick_exptime(m);
	}
	if (!a)
		want = (r.opts & WC_ARITH_VIVIFY) ? WC_OK : WC_NOT_FOUND;
	else if ((r.opts & WC_ARITH_CHECK_CAS) && r.cas_in != cur)
		want = WC_EXISTS;
	else if (!mparse(k->val, k->vlen, &num))
		want = WC_ERR_NON_NUMERIC;
	else
		want = WC_OK;
	if (a && want == WC_OK)
		next = r.decr ? (num > r.delta ? num - r.delta : 0) : num + r.delta;	/* wraps */
	else if (want == WC_OK)
		next = r.initial;

	st = wc_arith(m->p, &m->ctx, &r, want_res ? &res : NULL);
	note_self_evict(m, a, st, sync_epoch(m));
	m->want.ops[r.decr ? WC_OP_DECR : WC_OP_INCR]++;
	if (!a)
		*(r.decr ? &m->want.decr_misses : &m->want.incr_misses) += 1;	/* vivify too */
	else if (st == WC_OK)
		*(r.decr ? &m->want.decr_hits : &m->want.incr_hits) += 1;
	MSTATUS(m, st, want);
	if (st != WC_OK)
		return;
	if (!a) {	/* created holding the initial value; a past TTL: expired at once */
		kind = mconv(m, r.vivify_exptime, &at);
		k->flags = 0;
		k->exp = kind == M_PAST ? 1 : kind == M_AT ? at : 0;
	} else if (r.opts & WC_ARITH_SET_EXPTIME) {
		kind = mconv(m, r.exptime, &at);
		k->exp = kind == M_PAST ? 1 : kind == M_AT ? at : 0;	/* 1: expired at once */
	}
	k->vlen = (uint32_t)snprintf((char *)k->val, 24, "%" PRIu64, next);
	if (want_res) {
		MEQ(m, res.value, next);
		MEQ(m, res.created, !a);
		MEQ(m, res.vlen, k->vlen);
		MEQ(m, res.exptime, k->exp);
		MCHECK(m, res.cas != 0);
		if (r.opts & WC_ARITH_EXPLICIT_CAS)
			MEQ(m, res.cas, r.new_cas);
	}
	new_version(m, k, a, want_res ? res.cas : 0, r.opts & WC_ARITH_EXPLICIT_CAS);
	if (!want_res && (r.opts & WC_ARITH_EXPLICIT_CAS)) {
		k->cas = r.new_cas;
		k->cas_prev = 0;
	}
}


static void op_touch(struct model *m, unsigned ki, bool gat)
{
	struct mkey *k = &m->k[ki];
	bool a = alive(m, k);
	int64_t e = pick_exptime(m);
	uint32_t at = 0;
	int kind = mconv(m, e, &at);
	struct wc_view v;
	enum wc_status st;
	bool known = cas_known(m, k);

	m->op_name = gat ? "gat" : "touch";
	if (gat)
		st = wc_gat(m->p, &m->ctx, k->key, k->klen, k->hash, e, &v);
	else
		st = wc_touch(m->p, &m->ctx, k->key, k->klen, k->hash, e);
	m->want.ops[gat ? WC_OP_GAT : WC_OP_TOUCH]++;
	if (st == WC_OK) {
		m->want.touch_hits++;
		if (gat)
			m->want.get_hits++;
	} else if (st == WC_NOT_FOUND) {
		m->want.touch_misses++;
		if (gat)
			m->want.get_misses++;
	}
	MSTATUS(m, st, a ? WC_OK : WC_NOT_FOUND);
	if (!a)
		return;
	if (kind != M_PAST)
		touched(k, known, kind == M_AT ? at : 0);	/* the CAS stays */
	if (gat) {
		check_view(m, k, &v, true);	/* shows the new time, or the old one if expiring */
		accessed(m, k);
	}
	if (kind == M_PAST)
		k->present = false;
}

/* meta delete with options (md I, x, T, E, C); with none it is a delete */
static void op_modify(struct model *m, unsigned ki)
{
	static const unsigned combos[] = {
		WC_MOD_STALE, WC_MOD_STALE | WC_MOD_SET_EXPTIME, WC_MOD_CLEAR_VALUE,
		WC_MOD_CLEAR_VALUE | WC_MOD_SET_EXPTIME, WC_MOD_CLEAR_VALUE | WC_MOD_STALE,
		WC_MOD_SET_EXPTIME, 0,
	};
	struct mkey *k = &m->k[ki];
	bool a = alive(m, k), want_res = rr(m, 4) != 0;
	struct wc_modify_req r = { .key = k->key, .klen = k->klen, .hash = k->hash };
	struct wc_write_res res;
	uint64_t cur = a ? k->cas : 0, stored_cas = 0;
	bool del, gone, viv = k->vivified;
	uint32_t at = 0;
	int kind = M_NEVER;
	enum wc_status want, st;

	m->op_name = "modify";
	memset(&res, 0x5A, sizeof(res));
	r.opts = combos[rr(m, WC_ARRAY_LEN(combos))];
	if (rr(m, 4) == 0) {
		r.opts |= WC_MOD_CHECK_CAS;
		r.cas_in = pick_cas_in(m, a, cur);
	}
	if (rr(m, 8) == 0) {
		r.opts |= WC_MOD_EXPLICIT_CAS;
		r.new_cas = pick_new_cas(m, k);
	}
	r.exptime = pick_exptime(m);
	r.flags = pick_flags(m);
	del = !(r.opts & (WC_MOD_STALE | WC_MOD_CLEAR_VALUE));
	if (r.opts & WC_MOD_SET_EXPTIME)
		kind = mconv(m, r.exptime, &at);
	gone = del || kind == M_PAST;
	if (!a)
		want = WC_NOT_FOUND;
	else if ((r.opts & WC_MOD_CHECK_CAS) && r.cas_in != cur)
		want = WC_EXISTS;
	else
		want = WC_OK;

	st = wc_modify(m->p, &m->ctx, &r, want_res ? &res : NULL);
	note_self_evict(m, a, st, sync_epoch(m));
	m->want.ops[del ? WC_OP_DELETE : WC_OP_MODIFY]++;
	if (del && st == WC_OK)
		m->want.delete_hits++;
	else if (del && st == WC_NOT_FOUND)
		m->want.delete_misses++;
	if (a && want == WC_OK && !gone && !(r.opts & WC_MOD_CLEAR_VALUE) &&
	    st == WC_NOT_FOUND) {
		lost_during_op(m, ki);	/* the value to keep was evicted to make room */
		return;
	}
	MSTATUS(m, st, want);
	if (st != WC_OK)
		return;
	if (gone) {
		if (want_res) {
			MEQ(m, res.cas, 0);
			MEQ(m, res.vlen, 0);
			MEQ(m, res.exptime, 0);
		}
		k->present = false;
		return;
	}
	if (r.opts & WC_MOD_CLEAR_VALUE) {	/* an empty item, flags and TTL as given */
		k->vlen = 0;
		k->flags = r.flags;
		k->exp = kind == M_AT ? at : 0;
		viv = false;
	} else if (r.opts & WC_MOD_SET_EXPTIME) {
		k->exp = kind == M_AT ? at : 0;
	}
	if (want_res) {
		MEQ(m, res.vlen, k->vlen);
		MEQ(m, res.exptime, k->exp);
	}
	if (r.opts & WC_MOD_EXPLICIT_CAS)
		stored_cas = r.new_cas;
	else if ((r.opts & WC_MOD_CLEAR_VALUE) && !(r.opts & WC_MOD_STALE))
		stored_cas = cur;	/* memcached: a cleared item keeps its CAS */
	if (stored_cas) {	/* stored with the item */
		new_version(m, k, false, 0, true);
		k->cas = stored_cas;
		if (want_res)
			MEQ(m, res.cas, stored_cas);
	} else {
		new_version(m, k, true, want_res ? res.cas : 0, false);	/* a new CAS */
	}
	k->vivified = viv;
	k->stale = r.opts & WC_MOD_STALE;	/* the win token is available again */
}

/* meta get's writes (mg T, N, E): touch on a hit, vivify a placeholder on a miss */
static void op_touch_ex(struct model *m, unsigned ki)
{
	struct mkey *k = &m->k[ki];
	bool a = alive(m, k), want_res = rr(m, 4) != 0;
	struct wc_touch_req r = { .key = k->key, .klen = k->klen, .hash = k->hash };
	struct wc_write_res res;
	uint32_t at = 0;
	int kind;
	enum wc_status want, st;
	bool known;

	m->op_name = "touch_ex";
	memset(&res, 0x5A, sizeof(res));
	if (rr(m, 2))
		r.opts |= WC_TOUCH_SET_EXPTIME;
	if (rr(m, 3))
		r.opts |= WC_TOUCH_VIVIFY;
	if (rr(m, 8) == 0) {
		r.opts |= WC_TOUCH_EXPLICIT_CAS;
		r.new_cas = pick_new_cas(m, k);
	}
	r.exptime = pick_exptime(m);
	r.vivify_exptime = pick_exptime(m);
	want = (a || (r.opts & WC_TOUCH_VIVIFY)) ? WC_OK : WC_NOT_FOUND;
	known = cas_known(m, k);
	st = wc_touch_ex(m->p, &m->ctx, &r, want_res ? &res : NULL);
	sync_epoch(m);
	m->want.ops[WC_OP_META_TOUCH]++;
	if (r.opts & WC_TOUCH_SET_EXPTIME)
		*(a ? &m->want.touch_hits : &m->want.touch_misses) += 1;
	MSTATUS(m, st, want);
	if (st != WC_OK)
		return;
	if (a) {	/* a hit: the CAS stays */
		if (r.opts & WC_TOUCH_SET_EXPTIME) {
			kind = mconv(m, r.exptime, &at);
			touched(k, known, kind == M_PAST ? now(m) : kind == M_AT ? at : 0);
		}
		if (want_res) {
			MEQ(m, res.created, false);
			if (!k->cas) {	/* learnt now (touched) */
				k->cas = res.cas;
				k->cas_epoch = m->epoch;
			}
			MEQ(m, res.cas, k->cas);
			MEQ(m, res.vlen, k->vlen);
			MEQ(m, res.exptime, k->exp);
		}
		return;
	}
	kind = mconv(m, r.vivify_exptime, &at);
	if (want_res)
		MEQ(m, res.created, true);
	if (kind == M_PAST) {	/* the caller wins; nothing is stored */
		if (want_res)
			MEQ(m, res.cas, 0);
		return;
	}
	k->vlen = 0;
	k->flags = 0;
	k->exp = kind == M_AT ? at : 0;
	if (want_res) {
		MCHECK(m, res.cas != 0);
		MEQ(m, res.exptime, k->exp);
		MEQ(m, res.vlen, 0);
	}
	new_version(m, k, false, want_res ? res.cas : 0, r.opts & WC_TOUCH_EXPLICIT_CAS);
	if (r.opts & WC_TOUCH_EXPLICIT_CAS) {
		if (want_res)
			MEQ(m, res.cas, r.new_cas);
		k->cas = r.new_cas;
	}
	k->cas_prev = 0;
	k->win = true;	/* the placeholder's win token went to this caller */
	k->vivified = true;
}

static void op_flush(struct model *m)
{
	int64_t d;
	uint32_t at = 0;

	m->op_name = "flush";
	switch (rr(m, 10)) {
	case 0: case 1: case 2:
		d = 0;
		break;
	case 3:
		d = rr(m, 2) ? -1 : INT64_MIN;
		break;
	case 4:
		d = m->ctx.clock.epoch + now(m) - 5 + rr(m, 15);	/* absolute */
		break;
	case 5:
		d = rr(m, 2) ? INT64_MAX : 1000 + rr(m, 1000);
		break;
	default:
		d = 1 + rr(m, 12);
		break;
	}
	observe_doomed(m, now(m), true);
	wc_flush(m->p, &m->ctx, d);
	m->want.ops[WC_OP_FLUSH]++;
	if (d > 0 && mconv(m, d, &at) == M_AT) {
		m->flush_at = at;	/* replaces a pending one */
	} else {
		for (unsigned i = 0; i < NKEYS; i++)
			m->k[i].present = false;
		m->flush_at = 0;
	}
}

/* Bad keys, modes and segments: refused, nothing changes. */
static void op_bad(struct model *m, unsigned ki)
{
	static char long_key[WC_KEY_MAX + 1];
	struct mkey *k = &m->k[ki];
	uint32_t klen = rr(m, 2) ? 0 : WC_KEY_MAX + 1;
	const char *key = klen ? long_key : k->key;
	struct iovec bad_iov = { NULL, 3 };
	struct wc_store_req r = { .mode = WC_SET, .key = key, .klen = klen, .hash = k->hash };
	struct wc_arith_req ar = { .key = key, .klen = klen, .hash = k->hash, .delta = 1 };
	struct wc_modify_req mr = { .key = key, .klen = klen, .hash = k->hash,
				    .opts = WC_MOD_STALE };
	struct wc_touch_req tr = { .key = key, .klen = klen, .hash = k->hash,
				   .opts = WC_TOUCH_VIVIFY };
	struct wc_view v;

	m->op_name = "bad";
	memset(long_key, 'L', sizeof(long_key));
	switch (rr(m, 10)) {
	case 0:
		MSTATUS(m, wc_store(m->p, &m->ctx, &r, NULL), WC_ERR_KEY);
		m->want.ops[WC_OP_SET]++;
		break;
	case 1:
		r.mode = (enum wc_store_mode)(6 + rr(m, 100));
		r.key = k->key;
		r.klen = k->klen;
		MSTATUS(m, wc_store(m->p, &m->ctx, &r, NULL), WC_ERR_ARG);
		break;
	case 2:
		r.key = k->key;
		r.klen = k->klen;
		r.val = &bad_iov;
		r.val_cnt = 1;
		MSTATUS(m, wc_store(m->p, &m->ctx, &r, NULL), WC_ERR_ARG);
		m->want.ops[WC_OP_SET]++;
		break;
	case 3:
		MSTATUS(m, wc_delete(m->p, &m->ctx, key, klen, k->hash, 0), WC_ERR_KEY);
		m->want.ops[WC_OP_DELETE]++;
		break;
	case 4:
		ar.decr = rr(m, 2);
		MSTATUS(m, wc_arith(m->p, &m->ctx, &ar, NULL), WC_ERR_KEY);
		m->want.ops[ar.decr ? WC_OP_DECR : WC_OP_INCR]++;
		break;
	case 5:
		MSTATUS(m, wc_touch(m->p, &m->ctx, key, klen, k->hash, 10), WC_ERR_KEY);
		m->want.ops[WC_OP_TOUCH]++;
		break;
	case 6:
		MSTATUS(m, wc_gat(m->p, &m->ctx, key, klen, k->hash, 10, &v), WC_ERR_KEY);
		m->want.ops[WC_OP_GAT]++;
		break;
	case 7:
		MSTATUS(m, wc_modify(m->p, &m->ctx, &mr, NULL), WC_ERR_KEY);
		m->want.ops[WC_OP_MODIFY]++;
		break;
	case 8:
		MSTATUS(m, wc_touch_ex(m->p, &m->ctx, &tr, NULL), WC_ERR_KEY);
		m->want.ops[WC_OP_META_TOUCH]++;
		break;
	default:
		MCHECK(m, !wc_get(m->p, &m->ctx, key, klen, k->hash, 0, &v));
		m->want.ops[WC_OP_GET]++;
		m->want.get_misses++;
		break;
	}
}

/* ---- sweeps ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Probe every key; the live items' CAS values must all differ. */
static void sweep(struct model *m)
{
	static uint64_t cas[NKEYS];
	unsigned n = 0;

	m->op_name = "sweep";
	for (unsigned i = 0; i < NKEYS; i++) {
		m->cur = i;
		if (probe(m, i))
			cas[n++] = m->k[i].cas;
	}
	qsort(cas, n, sizeof(cas[0]), cmp_u64);
	for (unsigned i = 1; i < n; i++)
		if (cas[i] == cas[i - 1])
			MFAIL(m, "two live items share CAS %" PRIx64, cas[i]);
}

static void check_counters(struct model *m)
{
	const struct wc_stats *s = &m->ctx.st, *w = &m->want;

	for (unsigned o = 0; o < WC_OP_COUNT; o++)
		if (s->ops[o] != w->ops[o])
			MFAIL(m, "ops[%s] = %" PRIu64 ", want %" PRIu64, wc_op_name((enum wc_op)o),
			      s->ops[o], w->ops[o]);
	MEQ(m, s->get_hits, w->get_hits);
	MEQ(m, s->get_misses, w->get_misses);
	MEQ(m, s->touch_hits, w->touch_hits);
	MEQ(m, s->touch_misses, w->touch_misses);
	MEQ(m, s->delete_hits, w->delete_hits);
	MEQ(m, s->delete_misses, w->delete_misses);
	MEQ(m, s->incr_hits, w->incr_hits);
	MEQ(m, s->incr_misses, w->incr_misses);
	MEQ(m, s->decr_hits, w->decr_hits);
	MEQ(m, s->decr_misses, w->decr_misses);
	MEQ(m, s->cas_hits, w->cas_hits);
	MEQ(m, s->cas_misses, w->cas_misses);
	MEQ(m, s->cas_badval, w->cas_badval);
	MEQ(m, s->refused_too_large, w->refused_too_large);
	MEQ(m, s->refused_nomem, 0);
}

/*
 * Two maintenance calls with a huge budget make the crawler visit every
 * record, so no expired or flushed item stays linked: the gauges must then
 * equal the model's live keys exactly.
 */
static void check_gauges(struct model *m)
{
	struct wc_part_stats ps;
	uint64_t items = 0, bytes = 0;

	wc_part_maintain(m->p, &m->ctx, 1u << 24);
	wc_part_maintain(m->p, &m->ctx, 1u << 24);
	sync_epoch(m);
	sweep(m);
	m->op_name = "gauges";
	for (unsigned i = 0; i < NKEYS; i++) {
		if (alive(m, &m->k[i])) {
			items++;
			bytes += msize(&m->k[i]);
		}
	}
	wc_part_get_stats(m->p, &ps);
	MEQ(m, ps.items, items);
	MEQ(m, ps.bytes, bytes);
	/* the keys per cluster slot (cfg.slot_keys), slot by slot */
	memset(m->per_slot, 0, sizeof(m->per_slot));
	for (unsigned i = 0; i < NKEYS; i++)
		if (alive(m, &m->k[i]))
			m->per_slot[wc_key_slot(m->k[i].key, m->k[i].klen)]++;
	for (unsigned s = 0; s < WC_SLOTS; s++)
		MEQ(m, wc_part_slot_keys(m->p, s), m->per_slot[s]);
	MCHECK(m, ps.items <= ps.index_slots);
	MCHECK(m, ps.bytes <= ps.log_bytes);
	MCHECK(m, ps.log_bytes + ps.index_bytes <= ps.limit_bytes);
	/*
	 * Every key the model lost was evicted. Without index pressure only live
	 * items are evicted and every op probed its key first, so after a sweep
	 * the only evictions the model did not see are those of a key's old
	 * version during its own successful overwrite. Index victims may also be
	 * expired items.
	 */
	MCHECK(m, m->vanished <= ps.evictions);
	if (ps.index_evictions == 0 && ps.evictions > m->vanished + m->slack)
		MFAIL(m, "%" PRIu64 " evictions, but only %" PRIu64 " keys lost (+%" PRIu64
		      " possible self-evictions)", ps.evictions, m->vanished, m->slack);
	check_counters(m);
}

/* ---- the run ---- */

static void one_op(struct model *m)
{
	unsigned ki = pick_key(m), w = rr(m, 1000);

	m->cur = ki;
	m->op_name = "probe";
	mtime(m);
	probe(m, ki);
	if (w < 400) {
		op_store(m, ki);
		m->n_ops[0]++;
	} else if (w < 570) {
		op_get(m, ki);
		m->n_ops[1]++;
	} else if (w < 610) {
		op_delete(m, ki);
		m->n_ops[2]++;
	} else if (w < 720) {
		op_arith(m, ki);
		m->n_ops[3]++;
	} else if (w < 765) {
		op_touch(m, ki, false);
		m->n_ops[4]++;
	} else if (w < 810) {
		op_touch(m, ki, true);
		m->n_ops[5]++;
	} else if (w < 850) {
		op_touch_ex(m, ki);
		m->n_ops[6]++;
	} else if (w < 890) {
		op_modify(m, ki);
		m->n_ops[7]++;
	} else if (w < 950) {
		op_burst(m);
		m->n_ops[8]++;
	} else if (w < 975) {
		m->op_name = "maintain";
		wc_part_maintain(m->p, &m->ctx, rr(m, 400));
		sync_epoch(m);
		m->n_ops[9]++;
	} else if (w < 990) {
		op_bad(m, ki);
		m->n_ops[10]++;
	} else if (w == 990 && rr(m, 40) == 0) {
		op_flush(m);
		m->n_ops[11]++;
	} else {
		op_get(m, ki);
		m->n_ops[1]++;
	}
	/* the clock moves 0..3 seconds between operations */
	switch (rr(m, 16)) {
	case 0:
		advance(m, 1 + rr(m, 3));
		break;
	case 1:
		if (rr(m, 1000) == 0)	/* now and then a long idle spell */
			advance(m, 1000 + rr(m, 100000));
		break;
	default:
		break;
	}
}

static void init_keys(struct model *m)
{
	for (unsigned i = 0; i < NKEYS; i++) {
		struct mkey *k = &m->k[i];
		int n = snprintf(k->key, sizeof(k->key), "%x:", i);
		uint32_t len = 1 + (uint32_t)((i * 2654435761u) >> 7) % 48;

		if (i % 97 == 5)
			len = WC_KEY_MAX - i % 7;	/* a few keys at the length limit */
		if (len < (uint32_t)n)
			len = (uint32_t)n;
		for (uint32_t j = (uint32_t)n; j < len; j++) {	/* binary bytes in some keys */
			if (i % 5 == 0)
				k->key[j] = (char)(i * 31 + j * 7);
			else
				k->key[j] = (char)('A' + (i + j) % 26);
		}
		k->klen = len;
		k->hash = wc_hash(k->key, len);
		k->val = m->vals + (size_t)i * VMAX;
	}
}

static void run_model(void **state)
{
	const struct run_cfg *cfg = *state;
	struct model *m = calloc(1, sizeof(*m));
	struct wc_part_cfg pc;
	struct wc_part_stats ps;
	enum wc_status err;

	assert_non_null(m);
	m->cfg = cfg;
	m->rng = cfg->seed;
	m->k = calloc(NKEYS, sizeof(*m->k));
	m->vals = calloc(NKEYS, VMAX);
	assert_non_null(m->k);
	assert_non_null(m->vals);
	init_keys(m);
	wc_part_cfg_default(&pc);
	pc.mem_bytes = cfg->mem;
	pc.max_value = VMAX;
	pc.small_pct = cfg->small_pct;
	pc.slot_keys = true;
	if (cfg->size_hint)
		pc.item_size_hint = cfg->size_hint;
	m->p = wc_part_create(&pc, &wc_mem_mmap, &err);
	assert_non_null(m->p);
	test_ctx(&m->ctx, T0);

	for (m->op_no = 0; m->op_no < cfg->ops; m->op_no++) {
		one_op(m);
		if (cfg->qs_every && m->op_no % cfg->qs_every == 0)
			rcu_quiescent_state();	/* no view is held here */
		if (m->op_no % 1000 == 999)
			sweep(m);
		if (m->op_no % 10000 == 9999)
			check_gauges(m);
	}
	mtime(m);
	check_gauges(m);
	wc_part_get_stats(m->p, &ps);
	print_message("    %s seed %" PRIu64 ": %u ops (st %" PRIu64 " get %" PRIu64
		      " del %" PRIu64 " arith %" PRIu64 " touch %" PRIu64 " gat %" PRIu64
		      " mg %" PRIu64 " md %" PRIu64 " burst %" PRIu64 " flush %" PRIu64
		      "), clock +%us, items %" PRIu64 ", evictions %" PRIu64 " (index %" PRIu64
		      "), relocations %" PRIu64 ", ghost hits %" PRIu64 ", grace waits %" PRIu64
		      ", vanished %" PRIu64 "\n",
		      cfg->name, cfg->seed, cfg->ops, m->n_ops[0], m->n_ops[1], m->n_ops[2],
		      m->n_ops[3], m->n_ops[4], m->n_ops[5], m->n_ops[6], m->n_ops[7], m->n_ops[8],
		      m->n_ops[11], now(m) - T0, ps.items, ps.evictions, ps.index_evictions,
		      ps.relocations, ps.ghost_hits, ps.grace_waits, m->vanished);
	if (cfg->exact) {
		assert_int_equal(ps.evictions, 0);
		assert_int_equal(m->vanished, 0);
	} else {
		assert_true(ps.evictions > 0);
	}
	assert_true(m->ctx.st.cas_hits > 0 && m->ctx.st.cas_badval > 0);
	assert_true(m->ctx.st.incr_hits + m->ctx.st.decr_hits > 0);
	wc_part_destroy(m->p);
	free(m->vals);
	free(m->k);
	free(m);
}

#define MIB (1ull << 20)

static struct run_cfg runs[] = {
	{ "exact", 1, 64 * MIB, 10, 0, 200000, true, 0 },
	{ "exact", 2, 64 * MIB, 10, 0, 200000, true, 1 },
	{ "exact-clock", 3, 64 * MIB, 0, 0, 100000, true, 7 },
	{ "exact", 0xC0FFEE, 64 * MIB, 25, 0, 100000, true, 0 },
	{ "exact-tight", 4, 4 * MIB, 10, 0, 100000, true, 3 },
	{ "evict", 11, 1 * MIB, 10, 0, 150000, false, 0 },
	{ "evict", 12, 1 * MIB, 10, 0, 150000, false, 1 },
	{ "evict-clock", 13, 1 * MIB, 0, 0, 100000, false, 3 },
	{ "evict-index", 14, 1 * MIB, 10, 2048, 100000, false, 5 },
};

static struct run_cfg extra_exact = { "exact", 0, 64 * MIB, 10, 0, 100000, true, 2 };
static struct run_cfg extra_evict = { "evict", 0, 1 * MIB, 10, 0, 100000, false, 2 };

int main(void)
{
	const char *env = getenv("WC_MODEL_SEED");
	struct CMUnitTest tests[WC_ARRAY_LEN(runs)];
	size_t n = 0;

	if (env && *env) {	/* reproduce or explore one seed in both phases */
		extra_exact.seed = extra_evict.seed = strtoull(env, NULL, 0);
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate(run_model, &extra_exact);
		tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate(run_model, &extra_evict);
	} else {
		for (size_t i = 0; i < WC_ARRAY_LEN(runs); i++)
			tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate(run_model,
										  &runs[i]);
	}
	return _cmocka_run_group_tests("test_store_model", tests, n, rcu_setup, rcu_teardown);
}
