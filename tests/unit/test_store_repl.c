/*
 * test_store_repl.c - the replication log (store/repl.h): the ring's
 * contract (offsets, wraparound, "not yet", "gone", torn and corrupt reads,
 * oversize entries, a reader racing the writer) and the replay model: random
 * memcached and Redis writes of every kind on master partition A (small, so
 * it evicts; the clock moves so keys expire; the crawler runs), with the log
 * applied to replica B through wc_repl_apply; every so often A and B must
 * hold the same live keys with the same types, values, flags, members and
 * expiries. Also: replaying again from an earlier offset changes nothing
 * (idempotence), a fuzzy copy (keys copied one by one while writes go on)
 * plus the log from the copy's start offset equals the master, and a
 * replica too far behind gets "gone".
 *
 * Container ids are random, so runs differ in where evictions fall:
 * WC_REPL_SEED=n picks another operation sequence, WC_REPL_TRACE=prefix
 * prints every operation and the entries of keys starting with prefix.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "store_helpers.h"
#include "store/container.h"
#include "store/kv.h"
#include "store/repl.h"
#include "store/scan.h"

/* ---------------- the ring on its own ---------------- */

static void put_seq(struct wc_rlog *rl, uint64_t seq, uint32_t vlen)
{
	char key[32];
	uint8_t val[4096];
	struct wc_rpiece a = { .p = val, .len = vlen };
	int n = snprintf(key, sizeof(key), "k%" PRIu64, seq);

	for (uint32_t i = 0; i < vlen; i++)
		val[i] = (uint8_t)(seq * 31 + i);
	wc_rlog_put(rl, WC_ROP_SET, key, (uint32_t)n, (uint32_t)seq, (int64_t)seq, &a, NULL);
}

/* Is e the entry put_seq wrote for its sequence number (kept in flags)? */
static bool entry_ok(const struct wc_rent *e)
{
	char key[32];
	uint64_t seq = e->flags;
	int n = snprintf(key, sizeof(key), "k%" PRIu64, seq);

	if (e->op != WC_ROP_SET || e->klen != (uint32_t)n || memcmp(e->key, key, (size_t)n) ||
	    e->exp_ms != (int64_t)seq)
		return false;
	for (uint32_t i = 0; i < e->alen; i++)
		if (e->a[i] != (uint8_t)(seq * 31 + i))
			return false;
	return true;
}

static void ring_basics(void **state)
{
	uint64_t size = 64u << 10;
	uint8_t *mem = calloc(1, size), *buf = malloc(size);
	struct wc_rlog rl;
	uint64_t from = 0, seq = 0, want = 0, old_off;
	size_t got, pos;
	struct wc_rent e;
	enum wc_rread r;

	(void)state;
	wc_rlog_init(&rl, mem, size);
	assert_int_equal(wc_rlog_read(&rl, &from, buf, size, &got), WC_RREAD_NOT_YET);
	for (; seq < 10; seq++)
		put_seq(&rl, seq, (uint32_t)(seq * 7));
	/* a buffer too small for one entry; then one entry at a time */
	assert_int_equal(wc_rlog_read(&rl, &from, buf, 16, &got), WC_RREAD_SMALL);
	assert_int_equal(wc_rlog_read(&rl, &from, buf, 60, &got), WC_RREAD_OK);
	pos = 0;
	assert_true(wc_rent_next(buf, got, &pos, &e));
	assert_true(entry_ok(&e) && e.flags == 0 && e.off == 0);
	assert_false(wc_rent_next(buf, got, &pos, &e));
	want = 1;
	old_off = from;
	/* not an entry boundary */
	{
		uint64_t bad = from + 8;

		assert_int_equal(wc_rlog_read(&rl, &bad, buf, size, &got), WC_RREAD_CORRUPT);
	}
	/* many laps with sizes that make entries wrap around the ring's end */
	for (; seq < 5000; seq++) {
		put_seq(&rl, seq, (uint32_t)((seq * 37) % 1500));
		if (seq % 7 != 0)
			continue;
		while ((r = wc_rlog_read(&rl, &from, buf, 3000, &got)) == WC_RREAD_OK) {
			pos = 0;
			while (wc_rent_next(buf, got, &pos, &e)) {
				assert_true(entry_ok(&e));
				assert_int_equal(e.flags, want);
				want++;
			}
		}
		assert_int_equal(r, WC_RREAD_NOT_YET);
	}
	while (wc_rlog_read(&rl, &from, buf, 3000, &got) == WC_RREAD_OK) {
		pos = 0;
		while (wc_rent_next(buf, got, &pos, &e))
			assert_int_equal(e.flags, want++);
	}
	assert_int_equal(want, seq);
	assert_int_equal(from, wc_rlog_last(&rl));
	assert_true(wc_rlog_last(&rl) > 10 * size);	/* it went round many times */
	/* an offset that fell out of the backlog */
	assert_true(old_off < wc_rlog_first(&rl));
	assert_int_equal(wc_rlog_read(&rl, &old_off, buf, size, &got), WC_RREAD_GONE);
	/* a damaged byte is caught by the CRC */
	{
		uint64_t at = wc_rlog_first(&rl), keep = at;
		uint8_t *byte = mem + (at + sizeof(struct wc_rent_hdr) + 1) % rl.size;

		*byte ^= 0x40;
		assert_int_equal(wc_rlog_read(&rl, &at, buf, size, &got), WC_RREAD_CORRUPT);
		*byte ^= 0x40;
		assert_int_equal(wc_rlog_read(&rl, &keep, buf, size, &got), WC_RREAD_OK);
	}
	/* an entry over half the ring becomes a resync marker */
	{
		uint8_t *big = calloc(1, size);
		struct wc_rpiece a = { .p = big, .len = size / 2 };
		uint64_t at = wc_rlog_last(&rl);

		wc_rlog_put(&rl, WC_ROP_SET, "big", 3, 0, -1, &a, NULL);
		assert_int_equal(rl.resyncs, 1);
		assert_int_equal(wc_rlog_read(&rl, &at, buf, size, &got), WC_RREAD_OK);
		pos = 0;
		assert_true(wc_rent_next(buf, got, &pos, &e));
		assert_int_equal(e.op, WC_ROP_RESYNC);
		assert_int_equal(e.klen, 3);
		assert_int_equal(e.alen, 0);
		free(big);
	}
	free(mem);
	free(buf);
}

/* A reader on another thread racing the writer: never a bad entry, only "gone". */
struct race {
	struct wc_rlog rl;
	uint64_t done;
	uint64_t ok_entries, gone, corrupt, bad;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint8_t *buf = malloc(16384);
	uint64_t from = 0;

	for (;;) {
		size_t got, pos = 0;
		struct wc_rent e;
		bool fin = __atomic_load_n(&r->done, __ATOMIC_ACQUIRE);
		enum wc_rread st = wc_rlog_read(&r->rl, &from, buf, 16384, &got);

		if (st == WC_RREAD_OK) {
			while (wc_rent_next(buf, got, &pos, &e)) {
				if (!entry_ok(&e))
					r->bad++;
				r->ok_entries++;
			}
		} else if (st == WC_RREAD_GONE) {
			r->gone++;
			from = wc_rlog_first(&r->rl);
		} else if (st == WC_RREAD_CORRUPT) {
			r->corrupt++;
			from = wc_rlog_first(&r->rl);
		} else if (fin) {
			break;
		}
	}
	free(buf);
	return NULL;
}

static void ring_reader_races_writer(void **state)
{
	struct race *r = calloc(1, sizeof(*r));
	uint64_t size = 64u << 10;
	uint8_t *mem = calloc(1, size);
	pthread_t th;

	(void)state;
	wc_rlog_init(&r->rl, mem, size);
	assert_int_equal(pthread_create(&th, NULL, race_reader, r), 0);
	for (uint64_t seq = 0; seq < 400000; seq++)
		put_seq(&r->rl, seq, (uint32_t)((seq * 13) % 700));
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	print_message("reader: %" PRIu64 " entries checked, %" PRIu64 " gone, %" PRIu64
		      " corrupt\n", r->ok_entries, r->gone, r->corrupt);
	assert_int_equal(r->bad, 0);
	assert_int_equal(r->corrupt, 0);
	assert_true(r->ok_entries > 0);
	free(mem);
	free(r);
}

/* ---------------- the replay model ---------------- */

#define NKEYS 2000u
#define VMAX  1500u

struct world {
	struct wc_part *a;
	struct wc_ctx ca, cb;		/* master's and replica's contexts (same clock) */
	uint64_t rng;
	uint32_t now;
	uint16_t ms;
	uint64_t ops;
	uint64_t applied;		/* entries applied by drain() */
	uint64_t op_seen[WC_ROP_MAX];
};

static uint64_t rnd(struct world *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static uint32_t below(struct world *w, uint32_t n)
{
	return (uint32_t)(rnd(w) % n);
}

static void sync_clocks(struct world *w)
{
	w->ca.clock.now = w->cb.clock.now = w->now;
	w->ca.clock.ms = w->cb.clock.ms = w->ms;
}

/* Key i of one of the key spaces: strings s:, hashes h:, sets t:, and mixed m:. */
static uint32_t key_of(struct world *w, char *buf, char space)
{
	uint32_t i = below(w, NKEYS);

	if (space == 0)
		space = "shtm"[below(w, 4)];
	return (uint32_t)snprintf(buf, 64, "%c:%u", space, space == 'm' ? i % 40 : i);
}

static void value_of(struct world *w, uint8_t *v, uint32_t *len)
{
	uint32_t n = below(w, 3) == 0 ? below(w, VMAX) : below(w, 40);

	for (uint32_t i = 0; i < n; i++)
		v[i] = (uint8_t)('a' + below(w, 26));
	*len = n;
}

/* An exptime a memcached client sends: none, relative, absolute or past. */
static int64_t mc_exptime(struct world *w)
{
	switch (below(w, 12)) {
	case 0: return 1 + below(w, 6);
	case 1: return -1;
	case 2: return wc_clock_default_epoch() + w->now + below(w, 5);
	default: return 0;
	}
}

static void fill_src(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	(void)old;
	memcpy(dst, arg, vlen);
}

static void one_op(struct world *w)
{
	struct wc_part *p = w->a;
	struct wc_ctx *c = &w->ca;
	char key[64], key2[64];
	uint8_t val[VMAX], val2[VMAX];
	uint32_t klen, vlen, v2len;
	uint64_t h;
	unsigned op = below(w, 40);

	klen = key_of(w, key, op < 14 ? (below(w, 5) ? 's' : 'm') : op < 22 ? 'h' :
			      op < 28 ? 't' : 0);
	h = wc_hash(key, klen);
	value_of(w, val, &vlen);
	w->ops++;
	if (getenv("WC_REPL_TRACE"))
		print_message("op %" PRIu64 ": %u on %.*s (now %u.%03u)\n", w->ops, op, klen, key,
			      w->now, w->ms);
	switch (op) {
	case 0: case 1: case 2: {	/* set add replace append prepend cas */
		static const enum wc_store_mode modes[] = { WC_SET, WC_SET, WC_ADD, WC_REPLACE,
							    WC_APPEND, WC_PREPEND, WC_CAS };
		struct iovec iov = { .iov_base = val, .iov_len = vlen };
		struct wc_store_req r = { .mode = modes[below(w, 7)], .key = key, .klen = klen,
					  .hash = h, .val = &iov, .val_cnt = 1,
					  .flags = below(w, 3) ? 0 : (uint32_t)rnd(w),
					  .exptime = mc_exptime(w) };
		struct wc_view v;

		if (r.mode == WC_CAS && wc_get(p, c, key, klen, h, WC_LOOKUP_CAS, &v))
			r.cas_in = below(w, 4) ? v.cas : v.cas + 1;
		if (below(w, 10) == 0)
			r.opts |= WC_STORE_DROP_ON_REFUSE | (below(w, 2) ? WC_STORE_OVERSIZE : 0);
		wc_store(p, c, &r, NULL);
		break;
	}
	case 3: {			/* incr / decr, numbers first */
		struct wc_arith_req r = { .key = key, .klen = klen, .hash = h, .decr = below(w, 2),
					  .delta = below(w, 1000) };

		if (below(w, 3) == 0) {
			char num[24];
			int n = snprintf(num, sizeof(num), "%u", below(w, 100000));

			store_mode(p, c, WC_SET, key, num, (size_t)n, 0, 0, 0, NULL);
		}
		if (below(w, 4) == 0) {
			r.opts |= WC_ARITH_VIVIFY | WC_ARITH_SET_EXPTIME;
			r.initial = below(w, 50);
			r.vivify_exptime = mc_exptime(w);
			r.exptime = mc_exptime(w);
		}
		wc_arith(p, c, &r, NULL);
		break;
	}
	case 4:				/* touch, gat */
		if (below(w, 2)) {
			wc_touch(p, c, key, klen, h, mc_exptime(w));
		} else {
			struct wc_view v;

			wc_gat(p, c, key, klen, h, mc_exptime(w), &v);
		}
		break;
	case 5:				/* delete, meta delete's modes */
		if (below(w, 2)) {
			wc_delete(p, c, key, klen, h, 0);
		} else {
			static const unsigned mopts[] = { WC_MOD_STALE, WC_MOD_CLEAR_VALUE,
							  WC_MOD_STALE | WC_MOD_SET_EXPTIME };
			struct wc_modify_req r = { .key = key, .klen = klen, .hash = h,
						   .opts = mopts[below(w, 3)], .exptime = mc_exptime(w),
						   .flags = below(w, 5) };

			wc_modify(p, c, &r, NULL);
		}
		break;
	case 6: {			/* meta get's touch and vivify */
		struct wc_touch_req r = { .key = key, .klen = klen, .hash = h,
					  .opts = below(w, 2) ? WC_TOUCH_SET_EXPTIME : WC_TOUCH_VIVIFY,
					  .exptime = mc_exptime(w), .vivify_exptime = mc_exptime(w) };

		wc_touch_ex(p, c, &r, NULL);
		break;
	}
	case 7: case 8: {		/* Redis SET [PX|KEEPTTL] */
		struct wc_put_req r = { .key = key, .klen = klen, .hash = h, .type = WC_TYPE_STRING,
					.vlen = vlen, .fill = fill_src, .arg = val };

		if (below(w, 3) == 0) {
			r.opts = WC_PUT_KEEP_TTL;
		} else if (below(w, 2)) {
			wc_expiry_from_unix_ms(&c->clock, wc_clock_unix_ms(&c->clock) + 1 +
					       below(w, 4000), &r.exptime, &r.exp_ms);
		}
		wc_kv_put(p, c, &r, NULL);
		break;
	}
	case 9: case 10: {		/* PEXPIREAT (maybe past), PERSIST */
		uint32_t e = 0, ms = 0;
		bool gone;
		int64_t at = wc_clock_unix_ms(&c->clock) + (int64_t)below(w, 5000) -
			     (below(w, 8) == 0 ? 6000 : 0);

		if (op == 9 && !wc_expiry_from_unix_ms(&c->clock, at, &e, &ms))
			e = w->now, ms = w->ms;		/* due now */
		wc_kv_expire(p, c, key, klen, h, e, ms, &gone);
		break;
	}
	case 11:
		wc_kv_delete(p, c, key, klen, h);
		break;
	case 12: case 13: {		/* reads: lazy expiry on the owner */
		struct wc_view v;

		wc_kv_find(p, c, key, klen, h);
		wc_get(p, c, key, klen, h, WC_LOOKUP_ANY_TYPE, &v);
		break;
	}
	case 14: case 15: case 16: case 17: case 18: case 19: case 20: case 21: /* HSET HDEL */
	case 22: case 23: case 24: case 25: case 26: case 27: {		/* SADD SREM */
		bool hk = op < 22;
		uint8_t type = hk ? WC_TYPE_HASH : WC_TYPE_SET;
		unsigned n = below(w, 6) == 0 ? 1 + below(w, 40) : 1;

		if (below(w, 3) == 0) {		/* a few big (bucketed) containers */
			klen = (uint32_t)snprintf(key, sizeof(key), "%c:big%u", hk ? 'h' : 't',
						  below(w, 4));
			h = wc_hash(key, klen);
		}
		for (unsigned i = 0; i < n; i++) {
			char mem[32];
			int mlen = snprintf(mem, sizeof(mem), "f%u", below(w, 300));
			struct wc_cbytes name = wc_cbytes_of(mem, (uint64_t)mlen);
			struct wc_cbytes v = wc_cbytes_of(val, vlen > 80 ? 80 : vlen);
			struct wc_cupd res;

			wc_c_update(p, c, key, klen, h, type,
				    below(w, 4) == 0 ? WC_COP_DEL : below(w, 5) ? WC_COP_SET :
				    WC_COP_SETNX, &name, hk ? &v : NULL, &res);
		}
		break;
	}
	case 28: case 29: {		/* COPY, RENAME (any type) */
		klen = key_of(w, key, 0);
		v2len = (uint32_t)snprintf(key2, sizeof(key2), "%c:%u", key[0], below(w, NKEYS));
		if (below(w, 3) == 0)
			klen = (uint32_t)snprintf(key, sizeof(key), "%c:big%u", "ht"[below(w, 2)],
						  below(w, 4));
		if (op == 28)
			wc_c_copy(p, c, key, klen, key2, v2len);
		else
			wc_c_rename(p, c, key, klen, key2, v2len);
		break;
	}
	case 30: {			/* SUNIONSTORE-like build of a whole container */
		struct wc_cbuild *b = malloc(sizeof(*b));
		unsigned n = below(w, 4) == 0 ? below(w, 150) : below(w, 10);
		uint8_t type = below(w, 2) ? WC_TYPE_HASH : WC_TYPE_SET;
		uint32_t e = 0, ms = 0;

		klen = key_of(w, key, type == WC_TYPE_HASH ? 'h' : 't');
		wc_cb_begin(b, p, c, type, key, klen, n);
		for (unsigned i = 0; i < n; i++) {
			char mem[32];
			int mlen = snprintf(mem, sizeof(mem), "b%u", below(w, 500));
			struct wc_cbytes name = wc_cbytes_of(mem, (uint64_t)mlen);
			struct wc_cbytes v = wc_cbytes_of(val, vlen > 30 ? 30 : vlen);
			bool added;

			wc_cb_add(b, &name, type == WC_TYPE_HASH ? &v : NULL, false, &added);
		}
		if (below(w, 2))
			wc_expiry_from_unix_ms(&c->clock, wc_clock_unix_ms(&c->clock) + 500 +
					       below(w, 5000), &e, &ms);
		if (b->failed)
			wc_cb_abort(b);
		else
			wc_cb_publish(b, e, ms);
		free(b);
		break;
	}
	case 31: {			/* the clock moves; the crawler runs */
		unsigned step = below(w, 1500);

		w->ms += (uint16_t)step;
		w->now += w->ms / 1000;
		w->ms %= 1000;
		sync_clocks(w);
		wc_part_maintain(p, c, below(w, 400));
		break;
	}
	case 32:			/* flush_all, now or delayed; FLUSHALL */
		if (below(w, 300) != 0)
			break;
		switch (below(w, 3)) {
		case 0: wc_flush(p, c, 0); break;
		case 1: wc_flush(p, c, (int64_t)(1 + below(w, 3))); break;
		default: wc_kv_flush_sync(p, c); break;
		}
		break;
	default: {			/* more plain sets: keep memory full */
		struct iovec iov = { .iov_base = val2, .iov_len = 0 };
		struct wc_store_req r = { .mode = WC_SET, .key = key, .klen = klen, .hash = h,
					  .val = &iov, .val_cnt = 1 };

		value_of(w, val2, &v2len);
		iov.iov_len = v2len;
		wc_store(p, c, &r, NULL);
		break;
	}
	}
}

/* Apply everything from *from to dst; returns the last read status. */
static enum wc_rread drain(struct world *w, struct wc_part *dst, uint64_t *from)
{
	const struct wc_rlog *rl = wc_repl_log(w->a);
	static uint8_t buf[256u << 10];
	enum wc_rread r;
	size_t got;

	while ((r = wc_rlog_read(rl, from, buf, sizeof(buf), &got)) == WC_RREAD_OK) {
		size_t pos = 0;
		struct wc_rent e;

		while (wc_rent_next(buf, got, &pos, &e)) {
			assert_true(e.op > 0 && e.op < WC_ROP_MAX);
			assert_int_not_equal(e.op, WC_ROP_RESYNC);
			w->op_seen[e.op]++;
			if (getenv("WC_REPL_TRACE") && e.klen >= strlen(getenv("WC_REPL_TRACE")) &&
			    !memcmp(e.key, getenv("WC_REPL_TRACE"), strlen(getenv("WC_REPL_TRACE"))))
				print_message("  @%" PRIu64 " %s %.*s %.*s flags %u exp %" PRId64
					      " b %u (now %u.%03u)\n", e.off,
					      wc_rop_name((enum wc_rop)e.op), e.klen, e.key, e.alen, e.a,
					      e.flags, e.exp_ms, e.blen, w->now, w->ms);
			assert_int_equal(wc_repl_apply(dst, &w->cb, &e), WC_OK);
			w->applied++;
		}
	}
	return r;
}

/* The members of a container view, each found in the other partition's. */
static void same_members(struct wc_part *a, struct wc_ctx *ca, const struct wc_view *va,
			 struct wc_part *b, struct wc_ctx *cb, const struct wc_view *vb,
			 const char *key)
{
	struct wc_chdr ha, hb;
	uint64_t seen = 0;

	assert_true(wc_c_parse(va->type, va->value, va->vlen, &ha));
	assert_true(wc_c_parse(vb->type, vb->value, vb->vlen, &hb));
	if (ha.count != hb.count)
		fail_msg("%s: %" PRIu64 " members on the master, %" PRIu64 " on the replica", key,
			 ha.count, hb.count);
	for (uint32_t bk = 0; bk < (ha.enc == WC_CENC_COMPACT ? 1u : ha.nb); bk++) {
		struct wc_clist l;
		struct wc_cmember m, mb;
		uint32_t pos = 0;

		assert_int_equal(wc_c_bucket(a, ca, &ha, bk, false, &l), WC_C_OK);
		while (wc_clist_next(&l, &pos, &m)) {
			struct wc_cbytes name = wc_cbytes_of(m.name, m.nlen);

			if (wc_c_find(b, cb, &hb, &name, &mb) != WC_C_OK)
				fail_msg("%s: member %.*s missing on the replica", key, (int)m.nlen,
					 m.name);
			if (va->type == WC_TYPE_HASH) {
				assert_int_equal(m.vlen, mb.vlen);
				assert_memory_equal(m.val, mb.val, m.vlen);
			}
			seen++;
		}
	}
	assert_int_equal(seen, ha.count);
}

static void check_key(struct world *w, struct wc_part *b, const uint8_t *key, uint32_t klen)
{
	unsigned lf = WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS | WC_LOOKUP_ANY_TYPE;
	uint64_t h = wc_hash(key, klen);
	struct wc_view va, vb;
	bool ina = wc_get(w->a, &w->ca, key, klen, h, lf, &va);
	bool inb = wc_get(b, &w->cb, key, klen, h, lf, &vb);
	char name[WC_KEY_MAX + 1];

	memcpy(name, key, klen);
	name[klen] = 0;
	if ((ina && va.type >= WC_TYPE_INTERNAL) || (inb && vb.type >= WC_TYPE_INTERNAL))
		return;		/* a container's part (the scan walks the index) */
	if (ina != inb)
		fail_msg("op %" PRIu64 ": key %s %s on the master, %s on the replica", w->ops, name,
			 ina ? "live" : "missing", inb ? "live" : "missing");
	if (!ina)
		return;
	if (va.type != vb.type || va.exptime != vb.exptime ||
	    (va.exptime && va.exp_ms != vb.exp_ms) || va.flags != vb.flags)
		fail_msg("op %" PRIu64 ": key %s: type %u/%u exptime %u.%03u/%u.%03u flags %u/%u",
			 w->ops, name, va.type, vb.type, va.exptime, va.exp_ms, vb.exptime,
			 vb.exp_ms, va.flags, vb.flags);
	if (va.type == WC_TYPE_STRING) {
		if (va.vlen != vb.vlen || memcmp(va.value, vb.value, va.vlen))
			fail_msg("op %" PRIu64 ": key %s: values differ (%u/%u bytes)", w->ops, name,
				 va.vlen, vb.vlen);
	} else {
		same_members(w->a, &w->ca, &va, b, &w->cb, &vb, name);
	}
}

/* Every live key of x is live and equal in y's view, and the other way round. */
static uint64_t compare(struct world *w, struct wc_part *b)
{
	struct wc_part *parts[2] = { w->a, b };
	static struct wc_scan_key keys[256];
	uint64_t n = 0;

	for (int side = 0; side < 2; side++) {
		uint32_t cursor = 0;
		bool done = false;

		while (!done) {
			unsigned got = wc_part_scan_keys(parts[side], &cursor, 4, NULL, NULL, keys,
							 256, &done);

			for (unsigned i = 0; i < got; i++, n++)
				check_key(w, b, keys[i].key, keys[i].klen);
		}
	}
	return n;
}

static void world_init(struct world *w, uint64_t seed, uint64_t mem_a, uint64_t backlog)
{
	memset(w, 0, sizeof(*w));
	if (getenv("WC_REPL_SEED"))
		seed = strtoull(getenv("WC_REPL_SEED"), NULL, 0);
	w->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	w->a = test_part(mem_a, 4096, 10);
	test_ctx(&w->ca, 1000);
	test_ctx(&w->cb, 1000);
	w->now = 1000;
	assert_null(wc_repl_log(w->a));
	assert_true(wc_repl_enable(w->a, backlog));
	assert_non_null(wc_repl_log(w->a));
	sync_clocks(w);
}

/* Bring the master's due work up to date before comparing: a due flush applies. */
static void settle(struct world *w)
{
	wc_part_maintain(w->a, &w->ca, 0);
}

static void replay_model(void **state)
{
	struct world w;
	struct wc_part *b = test_part(256u << 20, 4096, 10);
	uint64_t from = 0, marks[64], compared = 0;

	wc_repl_set_replica(b, true);
	unsigned nmarks = 0;
	struct wc_part_stats st;
	struct wc_repl_stats rs;

	(void)state;
	world_init(&w, 1, 512u << 10, 2u << 20);	/* the log wraps ~3 times */
	for (unsigned round = 0; round < 150; round++) {
		for (unsigned i = 0; i < 200; i++)
			one_op(&w);
		if (round % 50 == 25)	/* flush_all now, then one delayed */
			wc_flush(w.a, &w.ca, round % 100 == 25 ? 0 : 2);
		settle(&w);
		assert_int_equal(drain(&w, b, &from), WC_RREAD_NOT_YET);
		compared += compare(&w, b);
		if (nmarks < 64)
			marks[nmarks++] = from;
		/* idempotence: from an earlier offset again, nothing changes */
		if (round % 10 == 9) {
			uint64_t again = marks[below(&w, nmarks)];

			if (again >= wc_rlog_first(wc_repl_log(w.a))) {
				assert_int_equal(drain(&w, b, &again), WC_RREAD_NOT_YET);
				compare(&w, b);
			}
		}
		rcu_quiescent_state();
	}
	wc_part_get_stats(w.a, &st);
	wc_repl_get_stats(w.a, &rs);
	print_message("%" PRIu64 " ops, %" PRIu64 " entries (%" PRIu64 " log bytes), %" PRIu64
		      " key checks; evictions %" PRIu64 ", expirations %" PRIu64 "\n", w.ops,
		      rs.entries, rs.master_offset, compared, st.evictions, st.expirations);
	print_message("master now: %" PRIu64 " items, %" PRIu64 " bytes; backlog [%" PRIu64
		      ", %" PRIu64 ")\n", st.items, st.bytes, rs.backlog_first, rs.master_offset);
	for (int op = 1; op < WC_ROP_MAX; op++)
		print_message("  %-9s %" PRIu64 "\n", wc_rop_name((enum wc_rop)op), w.op_seen[op]);
	/* the model reached every kind of effect, evictions and expiries included */
	assert_true(st.evictions > 100);
	assert_true(st.expirations > 100);
	for (int op = 1; op < WC_ROP_MAX; op++)
		if (op != WC_ROP_RESYNC)
			assert_true(w.op_seen[op] > 0);
	assert_true(rs.enabled && rs.master_offset == from && rs.resyncs == 0);
	assert_true(rs.backlog_first > 0);	/* the ring wrapped while the replica kept up */
	wc_part_destroy(b);
	wc_part_destroy(w.a);
}

/* Copy one key of the master into the replica as a snapshot would. */
static void copy_key(struct world *w, struct wc_part *d, const uint8_t *key, uint32_t klen)
{
	unsigned lf = WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS | WC_LOOKUP_ANY_TYPE;
	uint64_t h = wc_hash(key, klen);
	struct wc_view v;
	struct wc_chdr hd;
	bool gone;

	if (!wc_get(w->a, &w->ca, key, klen, h, lf, &v) || v.type >= WC_TYPE_INTERNAL)
		return;
	if (v.type == WC_TYPE_STRING) {
		struct wc_put_req r = { .key = key, .klen = klen, .hash = h, .type = WC_TYPE_STRING,
					.flags = v.flags, .vlen = v.vlen, .fill = fill_src,
					.arg = (void *)(uintptr_t)v.value, .exptime = v.exptime,
					.exp_ms = v.exp_ms };

		assert_int_equal(wc_kv_put(d, &w->cb, &r, NULL), WC_OK);
		return;
	}
	wc_kv_delete(d, &w->cb, key, klen, h);
	assert_true(wc_c_parse(v.type, v.value, v.vlen, &hd));
	for (uint32_t bk = 0; bk < (hd.enc == WC_CENC_COMPACT ? 1u : hd.nb); bk++) {
		struct wc_clist l;
		struct wc_cmember m;
		uint32_t pos = 0;

		assert_int_equal(wc_c_bucket(w->a, &w->ca, &hd, bk, false, &l), WC_C_OK);
		while (wc_clist_next(&l, &pos, &m)) {
			struct wc_cbytes name = wc_cbytes_of(m.name, m.nlen);
			struct wc_cbytes val = wc_cbytes_of(m.val, m.vlen);
			struct wc_cupd res;

			assert_int_equal(wc_c_update(d, &w->cb, key, klen, h, v.type, WC_COP_SET,
						     &name, &val, &res), WC_OK);
		}
	}
	if (v.exptime)
		wc_kv_expire(d, &w->cb, key, klen, h, v.exptime, v.exp_ms, &gone);
}

static void fuzzy_copy(void **state)
{
	struct world w;
	static struct wc_scan_key keys[256];

	(void)state;
	world_init(&w, 7, 1u << 20, 8u << 20);
	for (unsigned run = 0; run < 6; run++) {
		struct wc_part *d = test_part(256u << 20, 4096, 10);
		uint64_t start;

		wc_repl_set_replica(d, true);
		uint32_t cursor = 0;
		bool done = false;

		for (unsigned i = 0; i < 2000; i++)
			one_op(&w);
		/* the copy starts here: the log from this offset goes with it */
		start = wc_rlog_last(wc_repl_log(w.a));
		while (!done) {
			unsigned got = wc_part_scan_keys(w.a, &cursor, 2, NULL, NULL, keys, 256,
							 &done);

			for (unsigned i = 0; i < got; i++)
				copy_key(&w, d, keys[i].key, keys[i].klen);
			for (unsigned i = 0; i < 3; i++)
				one_op(&w);	/* writes go on while the copy is taken */
		}
		settle(&w);
		assert_int_equal(drain(&w, d, &start), WC_RREAD_NOT_YET);
		compare(&w, d);
		wc_part_destroy(d);
		rcu_quiescent_state();
	}
	wc_part_destroy(w.a);
}

/* A replica that stayed away too long: its offset is gone, the newest ones read. */
static void replica_too_far_behind(void **state)
{
	struct world w;
	uint64_t from = 0, first;
	uint8_t *buf = malloc(1u << 16);
	size_t got;

	(void)state;
	world_init(&w, 3, 4u << 20, WC_REPL_MIN_BYTES);
	for (unsigned i = 0; i < 5000; i++)
		one_op(&w);
	first = wc_rlog_first(wc_repl_log(w.a));
	assert_true(first > 0);
	assert_int_equal(wc_rlog_read(wc_repl_log(w.a), &from, buf, 1u << 16, &got),
			 WC_RREAD_GONE);
	assert_int_equal(wc_rlog_read(wc_repl_log(w.a), &first, buf, 1u << 16, &got),
			 WC_RREAD_OK);
	free(buf);
	wc_part_destroy(w.a);
}

/* Off: no log, no memory, nothing recorded. */
static void off_by_default(void **state)
{
	struct wc_part *p = test_part(1u << 20, 0, 10);
	struct wc_ctx ctx;
	struct wc_repl_stats rs;

	(void)state;
	test_ctx(&ctx, 1000);
	assert_int_equal(set_str(p, &ctx, "k", "v"), WC_OK);
	assert_null(wc_repl_log(p));
	wc_repl_get_stats(p, &rs);
	assert_false(rs.enabled);
	assert_int_equal(rs.master_offset, 0);
	wc_part_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_basics),
		cmocka_unit_test(ring_reader_races_writer),
		cmocka_unit_test(off_by_default),
		cmocka_unit_test(replay_model),
		cmocka_unit_test(fuzzy_copy),
		cmocka_unit_test(replica_too_far_behind),
	};

	rcu_register_thread();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
