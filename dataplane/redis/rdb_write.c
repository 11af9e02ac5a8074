/*
 * rdb_write.c - the store as an RDB file (see rdb_write.h): the file's
 * framing (header, aux fields, SELECTDB, RESIZEDB, key records, EOF, CRC64)
 * and the walk over every partition that feeds it.
 *
 * Reading: each partition's index is walked bucket by bucket
 * (wc_part_scan_keys), a slice of SLICE_BUCKETS at a time; every key found
 * is looked up again (wc_get: the newest value, expired keys skipped) and
 * encoded at once: a string from its item, a hash or set from a consistent
 * snapshot of the container (wc_c_snap, as DUMP reads it), read again after
 * a quiescent state when the owner was caught mid-change. Encoded bytes
 * gather in a buffer that goes to the file between slices, offline.
 *
 * A key met twice in one pass is written once. An index entry lives in one
 * of the key's two candidate buckets (index.h); a walk in bucket order can
 * meet the same key twice only in both of them, first in the lower-numbered
 * one ("lo"), then in the other ("hi"): the owner moved the entry from its
 * first to its later second choice (index.c, displace), or the key was
 * deleted and written again in the other bucket. So a key found in its lo
 * bucket is remembered (a hash set of key bytes, emptied after each
 * partition) when it was written, and a key found in its hi bucket is
 * written only when the set does not hold it. Within one bucket the keys
 * found are compared with each other. This is exact: no key is dropped for
 * a hash collision.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "redis/csnap_iter.h"
#include "redis/rdb_write.h"
#include "redis/rdbval.h"
#include "store/container.h"
#include "store/index.h"
#include "store/item.h"
#include "store/scan.h"
#include "store/store.h"

#define SLICE_BUCKETS 256u		/* index buckets between quiescent states */
#define FLUSH_AT (1u << 20)		/* buffered bytes that go to the file */
#define SNAP_BLOCK (48u << 10)		/* a container snapshot's allocation unit */
#define RETRY_MAX 10000u		/* reads of one container caught mid-change */
#define BUCKET_KEYS (2 * WC_BUCKET_SLOTS)

enum {
	OP_AUX = 0xFA, OP_RESIZEDB = 0xFB, OP_EXPIRETIME_MS = 0xFC, OP_SELECTDB = 0xFE,
	OP_EOF = 0xFF,
};

/* ---- the file: a growing buffer, written out with its CRC between slices ---- */

struct wbuf {
	int fd;
	int err;
	uint8_t *p;
	size_t n, cap;
	uint64_t crc, total;
	size_t skip;			/* bytes of the next puts to drop (a value's type byte) */
};

static void wb_put(struct wbuf *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (w->n + n > w->cap) {
		size_t cap = w->cap ? w->cap : FLUSH_AT * 2;
		uint8_t *q;

		while (cap < w->n + n)
			cap *= 2;
		q = realloc(w->p, cap);
		if (!q) {
			w->err = ENOMEM;
			return;
		}
		w->p = q;
		w->cap = cap;
	}
	memcpy(w->p + w->n, p, n);
	w->n += n;
}

static void wb_byte(struct wbuf *w, uint8_t b)
{
	wb_put(w, &b, 1);
}

/*
 * The file's CRC64 (Redis's: Jones polynomial, reflected), eight bytes a
 * step (slicing-by-8): the same value as rdbv_crc64, several times faster
 * over a whole file.
 */
static uint64_t crc_tab[8][256];

static void crc_init(void)
{
	static int done;

	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return;
	for (unsigned i = 0; i < 256; i++)
		crc_tab[0][i] = rdbv_crc64(0, &(uint8_t){ (uint8_t)i }, 1);
	for (unsigned i = 0; i < 256; i++)
		for (unsigned k = 1; k < 8; k++)
			crc_tab[k][i] = crc_tab[0][crc_tab[k - 1][i] & 0xff] ^ (crc_tab[k - 1][i] >> 8);
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
}

static uint64_t crc_file(uint64_t crc, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);	/* (little endian: x86) */
		w ^= crc;
		crc = crc_tab[7][w & 0xff] ^ crc_tab[6][(w >> 8) & 0xff] ^
		      crc_tab[5][(w >> 16) & 0xff] ^ crc_tab[4][(w >> 24) & 0xff] ^
		      crc_tab[3][(w >> 32) & 0xff] ^ crc_tab[2][(w >> 40) & 0xff] ^
		      crc_tab[1][(w >> 48) & 0xff] ^ crc_tab[0][w >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* Write what is buffered (the calling thread offline, or at the end). */
static void wb_flush(struct wbuf *w)
{
	size_t off = 0;

	if (w->err || !w->n)
		return;
	w->crc = crc_file(w->crc, w->p, w->n);
	while (off < w->n) {
		ssize_t r = write(w->fd, w->p + off, w->n - off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			w->err = errno;
			return;
		}
		off += (size_t)r;
	}
	w->total += w->n;
	w->n = 0;
}

/* rdbv_out sink: into the buffer, less the bytes to skip */
static void out_put(void *arg, const void *p, uint64_t n)
{
	struct wbuf *w = arg;
	const uint8_t *b = p;

	if (w->skip) {
		uint64_t k = n < w->skip ? n : w->skip;

		w->skip -= k;
		b += k;
		n -= k;
	}
	if (n)
		wb_put(w, b, n);
}

/* Redis's length encoding (6, 14, 32 or 64 bits). */
static void wb_len(struct wbuf *w, uint64_t len)
{
	uint8_t b[9];

	if (len < 64) {
		wb_byte(w, (uint8_t)len);
	} else if (len < 16384) {
		b[0] = (uint8_t)(0x40 | (len >> 8));
		b[1] = (uint8_t)len;
		wb_put(w, b, 2);
	} else if (len <= UINT32_MAX) {
		b[0] = 0x80;
		for (int i = 0; i < 4; i++)
			b[1 + i] = (uint8_t)(len >> (8 * (3 - i)));	/* big endian */
		wb_put(w, b, 5);
	} else {
		b[0] = 0x81;
		for (int i = 0; i < 8; i++)
			b[1 + i] = (uint8_t)(len >> (8 * (7 - i)));
		wb_put(w, b, 9);
	}
}

static void wb_str(struct wbuf *w, const void *p, size_t n)
{
	wb_len(w, n);
	wb_put(w, p, n);
}

static void wb_aux(struct wbuf *w, const char *k, const char *v)
{
	wb_byte(w, OP_AUX);
	wb_str(w, k, strlen(k));
	wb_str(w, v, strlen(v));
}

static void wb_aux_int(struct wbuf *w, const char *k, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	wb_aux(w, k, num);
}

/* ---- keys met twice: a set of key bytes ---- */

struct dset {
	struct dent { uint64_t h; uint32_t off; uint32_t used; } *t;
	uint32_t mask, n;
	uint8_t *keys;			/* klen byte + key, appended */
	size_t klen, kcap;
	int err;
};

static void ds_clear(struct dset *d)
{
	if (d->t && d->n)
		memset(d->t, 0, (size_t)(d->mask + 1) * sizeof(*d->t));
	d->n = 0;
	d->klen = 0;
}

static bool ds_eq(const struct dset *d, const struct dent *e, const uint8_t *k, uint32_t kl)
{
	return d->keys[e->off] == kl && !memcmp(d->keys + e->off + 1, k, kl);
}

static bool ds_has(const struct dset *d, uint64_t h, const uint8_t *k, uint32_t kl)
{
	if (!d->t)
		return false;
	for (uint32_t i = (uint32_t)h & d->mask;; i = (i + 1) & d->mask) {
		const struct dent *e = &d->t[i];

		if (!e->used)
			return false;
		if (e->h == h && ds_eq(d, e, k, kl))
			return true;
	}
}

static bool ds_grow(struct dset *d)
{
	uint32_t cap = d->t ? (d->mask + 1) * 2 : 4096;
	struct dent *t = calloc(cap, sizeof(*t)), *old = d->t;
	uint32_t omask = d->mask;

	if (!t)
		return false;
	d->t = t;
	d->mask = cap - 1;
	if (old) {
		for (uint32_t i = 0; i <= omask; i++) {
			uint32_t j;

			if (!old[i].used)
				continue;
			for (j = (uint32_t)old[i].h & d->mask; t[j].used; j = (j + 1) & d->mask)
				;
			t[j] = old[i];
		}
		free(old);
	}
	return true;
}

static void ds_add(struct dset *d, uint64_t h, const uint8_t *k, uint32_t kl)
{
	uint32_t i;

	if (d->err || ds_has(d, h, k, kl))
		return;
	if ((!d->t || (d->n + 1) * 2 > d->mask + 1) && !ds_grow(d)) {
		d->err = ENOMEM;
		return;
	}
	if (d->klen + 1 + kl > d->kcap) {
		size_t cap = d->kcap ? d->kcap * 2 : 65536;
		uint8_t *q = realloc(d->keys, cap);

		if (!q) {
			d->err = ENOMEM;
			return;
		}
		d->keys = q;
		d->kcap = cap;
	}
	for (i = (uint32_t)h & d->mask; d->t[i].used; i = (i + 1) & d->mask)
		;
	d->t[i] = (struct dent){ .h = h, .off = (uint32_t)d->klen, .used = 1 };
	d->keys[d->klen] = (uint8_t)kl;
	memcpy(d->keys + d->klen + 1, k, kl);
	d->klen += 1 + (size_t)kl;
	d->n++;
}

/* ---- the walk ---- */

struct walk {
	const struct wc_app *app;
	struct wc_ctx ctx;
	struct wc_clock base;
	struct timespec t0;
	struct wbuf w;
	struct dset seen;
	struct rdbv_limits lim;
	struct rdbw_stats *st;
	void **blocks;			/* a container snapshot's memory, kept between keys */
	uint32_t nblocks, capblocks, cur, used;
	int64_t *ints;
	uint64_t nints_cap;
	struct wc_scan_key keys[BUCKET_KEYS];
};

/* The store's clock: the one the save began with, advanced by the time since. */
static void walk_tick(struct walk *wk)
{
	struct timespec ts;
	int64_t el, t;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	el = (int64_t)(ts.tv_sec - wk->t0.tv_sec) * 1000 + (ts.tv_nsec - wk->t0.tv_nsec) / 1000000;
	t = (int64_t)wk->base.now * 1000 + wk->base.ms + (el > 0 ? el : 0);
	wk->ctx.clock.now = (uint32_t)(t / 1000);
	wk->ctx.clock.ms = (uint16_t)(t % 1000);
}

static void *snap_alloc(void *arg, uint64_t n)
{
	struct walk *wk = arg;

	n = (n + 7) & ~(uint64_t)7;
	if (n > SNAP_BLOCK)
		return NULL;
	if (!wk->nblocks || wk->used + n > SNAP_BLOCK) {
		if (wk->nblocks && wk->cur + 1 < wk->nblocks) {
			wk->cur++;
		} else {
			if (wk->nblocks == wk->capblocks) {
				uint32_t cap = wk->capblocks ? wk->capblocks * 2 : 16;
				void **b = realloc(wk->blocks, cap * sizeof(*b));

				if (!b)
					return NULL;
				wk->blocks = b;
				wk->capblocks = cap;
			}
			if (!(wk->blocks[wk->nblocks] = malloc(SNAP_BLOCK)))
				return NULL;
			wk->cur = wk->nblocks++;
		}
		wk->used = 0;
	}
	wk->used += (uint32_t)n;
	return (uint8_t *)wk->blocks[wk->cur] + wk->used - n;
}

static void snap_reset(struct walk *wk)
{
	wk->cur = 0;
	wk->used = 0;
}

/* What comes before a value: flags, expiry, type byte, key. */
static void key_head(struct walk *wk, const struct wc_scan_key *k, const struct wc_view *v,
		     uint8_t rdbtype)
{
	struct wbuf *w = &wk->w;

	if (v->type == WC_TYPE_STRING && v->flags)
		wb_aux_int(w, "wc-mcflags", v->flags);
	if (v->exptime) {
		int64_t ms = wc_expiry_unix_ms(&wk->ctx.clock, v->exptime, v->exp_ms);
		uint8_t b[8];

		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)((uint64_t)ms >> (8 * i));
		wb_byte(w, OP_EXPIRETIME_MS);
		wb_put(w, b, 8);
	}
	wb_byte(w, rdbtype);
	wb_str(w, k->key, k->klen);
}

static int write_container(struct walk *wk, const struct wc_part *p, const struct wc_scan_key *k,
			   const struct wc_view *v, const struct wc_chdr *ch)
{
	struct rdbv_out out = { .put = out_put, .arg = &wk->w, .no_crc = true };
	struct wc_csnap snap;
	struct rd_csnap_iter si;
	struct rdbv_iter it;
	struct rdbv_plan pl;
	uint64_t nints = 0;
	int r;

	rd_csnap_iter_init(&si, &snap, &it);
	snap_reset(wk);
	r = wc_c_snap(p, &wk->ctx, k->key, k->klen, ch, snap_alloc, wk, &snap);
	if (r != WC_C_OK)
		return r;
	if (v->type == WC_TYPE_SET && snap.count <= wk->lim.set_int_entries)
		nints = snap.count;
	if (nints > wk->nints_cap) {
		int64_t *q = realloc(wk->ints, nints * sizeof(*q));

		if (!q)
			return WC_C_NOMEM;
		wk->ints = q;
		wk->nints_cap = nints;
	}
	if (!rdbv_plan_container(&pl, v->type == WC_TYPE_HASH ? RDBV_HASH : RDBV_SET, &it,
				 &wk->lim, wk->ints, nints))
		return WC_C_ABSENT;	/* an empty snapshot: the key went away */
	key_head(wk, k, v, pl.rdbtype);
	wk->w.skip = 1;			/* (the type byte went before the key) */
	rdbv_emit_value_container(&pl, &it, wk->ints, &out);
	return WC_C_OK;
}

/* One key as it is now (gone or expired: nothing); *written when it went to the file. */
static int write_key(struct walk *wk, const struct wc_part *p, const struct wc_scan_key *k,
		     uint64_t h, bool *written)
{
	*written = false;
	for (unsigned tries = 0;; tries++) {
		struct wc_view v;
		struct wc_chdr ch;
		int r;

		if (!wc_get(p, &wk->ctx, k->key, k->klen, h,
			    WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS | WC_LOOKUP_ANY_TYPE, &v) ||
		    v.type >= WC_TYPE_INTERNAL) {
			wk->st->skipped++;
			return 0;
		}
		if (v.type == WC_TYPE_STRING) {
			struct rdbv_out out = { .put = out_put, .arg = &wk->w, .no_crc = true };
			struct rdbv_plan pl;

			rdbv_plan_string(&pl, v.value, v.vlen);
			key_head(wk, k, &v, pl.rdbtype);
			wk->w.skip = 1;
			rdbv_emit_value_string(&pl, v.value, v.vlen, &out);
			__atomic_store_n(&wk->st->keys, wk->st->keys + 1, __ATOMIC_RELAXED);
			*written = true;
			return 0;
		}
		if (!wc_c_parse(v.type, v.value, v.vlen, &ch)) {
			wk->st->skipped++;
			return 0;
		}
		r = write_container(wk, p, k, &v, &ch);
		if (r == WC_C_OK) {
			__atomic_store_n(&wk->st->keys, wk->st->keys + 1, __ATOMIC_RELAXED);
			*written = true;
			return 0;
		}
		if (r == WC_C_ABSENT) {
			wk->st->skipped++;
			return 0;
		}
		if (r == WC_C_NOMEM)
			return ENOMEM;
		/* caught the owner mid-change: let it finish its grace period, read again */
		wk->st->retries++;
		if (tries >= RETRY_MAX)
			return EAGAIN;
		rcu_quiescent_state();
		walk_tick(wk);
	}
}

/* Was the key already found in this bucket (a replacement met beside the old entry)? */
static bool in_bucket(const struct wc_scan_key *keys, unsigned i)
{
	for (unsigned j = 0; j < i; j++)
		if (keys[j].klen == keys[i].klen && !memcmp(keys[j].key, keys[i].key, keys[i].klen))
			return true;
	return false;
}

static int walk_part(struct walk *wk, const struct wc_part *p)
{
	struct wc_index ix = { .nbuckets = wc_part_index_buckets(p) };
	uint32_t cursor = 0;
	bool done = false;

	ds_clear(&wk->seen);
	while (!done) {
		for (unsigned s = 0; s < SLICE_BUCKETS && !done; s++) {
			uint32_t b = cursor;
			unsigned n = wc_part_scan_keys(p, &cursor, 1, NULL, NULL, wk->keys,
						       BUCKET_KEYS, &done);

			for (unsigned i = 0; i < n; i++) {
				const struct wc_scan_key *k = &wk->keys[i];
				uint64_t h = wc_hash(k->key, k->klen);
				struct wc_hpos pos;
				uint32_t lo, hi;
				bool written;
				int r;

				if (in_bucket(wk->keys, i)) {
					wk->st->dups++;
					continue;
				}
				wc_index_pos(&ix, h, &pos);
				lo = pos.b1 < pos.b2 ? pos.b1 : pos.b2;
				hi = pos.b1 < pos.b2 ? pos.b2 : pos.b1;
				if (b == hi && ds_has(&wk->seen, h, k->key, k->klen)) {
					wk->st->dups++;
					continue;
				}
				if ((r = write_key(wk, p, k, h, &written)) != 0)
					return r;
				/* (a key left out here, expired or gone, may come back there) */
				if (written && b == lo && lo != hi)
					ds_add(&wk->seen, h, k->key, k->klen);
			}
		}
		if (wk->seen.err)
			return wk->seen.err;
		if (wk->w.err)
			return wk->w.err;
		if (wk->w.n >= FLUSH_AT) {
			rcu_thread_offline();
			wb_flush(&wk->w);
			rcu_thread_online();
		} else {
			rcu_quiescent_state();
		}
		walk_tick(wk);
	}
	return wk->w.err;
}

/*
 * The thresholds encodings follow: the node's, except that the store keeps
 * at most WC_C_COMPACT_MAX members compact whatever hash-max-listpack-entries
 * asked for, so at that cap Redis's default (128) decides (as DUMP does).
 */
static void walk_limits(struct rdbv_limits *l)
{
	struct wc_climits cl;

	wc_c_get_limits(&cl);
	*l = (struct rdbv_limits){ .hash_entries = cl.hash_entries, .hash_value = cl.hash_value,
				   .set_int_entries = cl.set_int_entries };
	if (cl.hash_entries >= WC_C_COMPACT_MAX)
		l->hash_entries = 128;
}

static void walk_free(struct walk *wk)
{
	for (uint32_t i = 0; i < wk->nblocks; i++)
		free(wk->blocks[i]);
	free(wk->blocks);
	free(wk->ints);
	free(wk->w.p);
	free(wk->seen.t);
	free(wk->seen.keys);
}

int rdb_write_store(const struct wc_app *app, int fd, const struct wc_clock *clock,
		    int64_t now_unix, struct rdbw_stats *st)
{
	struct walk *wk = calloc(1, sizeof(*wk));
	uint64_t keys = 0, expires = 0, used = 0;
	uint8_t crc[8];
	int r = 0;

	/* (keys and keys_total are read by other threads as the walk goes) */
	st->bytes = st->dups = st->retries = st->skipped = 0;
	__atomic_store_n(&st->keys, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&st->keys_total, 0, __ATOMIC_RELAXED);
	if (!wk)
		return ENOMEM;
	crc_init();
	wk->app = app;
	wk->st = st;
	wk->w.fd = fd;
	wc_ctx_init(&wk->ctx);
	wk->base = *clock;
	wk->ctx.clock = *clock;
	clock_gettime(CLOCK_MONOTONIC, &wk->t0);
	walk_limits(&wk->lim);
	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_part_stats ps;

		wc_part_get_stats(app->parts[i], &ps);
		keys += ps.keys;
		expires += ps.expiring;
		used += ps.bytes;
	}
	wb_put(&wk->w, "REDIS0010", 9);
	wb_aux(&wk->w, "redis-ver", "7.0.15");
	wb_aux_int(&wk->w, "redis-bits", 64);
	wb_aux_int(&wk->w, "ctime", now_unix);
	wb_aux_int(&wk->w, "used-mem", (int64_t)used);
	wb_aux_int(&wk->w, "aof-base", 0);
	wb_byte(&wk->w, OP_SELECTDB);
	wb_len(&wk->w, 0);
	wb_byte(&wk->w, OP_RESIZEDB);	/* (hints: the counts when the walk began) */
	wb_len(&wk->w, keys);
	__atomic_store_n(&st->keys_total, keys, __ATOMIC_RELAXED);
	wb_len(&wk->w, expires);
	for (unsigned i = 0; i < app->nparts && !r; i++)
		r = walk_part(wk, app->parts[i]);
	if (!r) {
		wb_byte(&wk->w, OP_EOF);
		rcu_thread_offline();
		wb_flush(&wk->w);
		for (int i = 0; i < 8; i++)
			crc[i] = (uint8_t)(wk->w.crc >> (8 * i));
		wb_put(&wk->w, crc, 8);	/* (its own bytes go into a CRC no one reads) */
		wb_flush(&wk->w);
		if (!wk->w.err && fsync(fd) != 0)
			wk->w.err = errno;
		rcu_thread_online();
		r = wk->w.err;
	}
	st->bytes = wk->w.total;
	walk_free(wk);
	free(wk);
	return r;
}
