/*
 * trk_table.c - one lcore's client-tracking table (see trk_table.h): a log
 * of key and pair records in chunks, two hash indexes, and the eviction
 * of the oldest keys when a bound is reached.
 *
 * A record reference is (chunk << 13 | offset / 8) + 1, so 0 means none.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "redis/trk_table.h"

#define OFF_BITS 13u			/* 64 KiB chunks, 8-byte units */

enum { REC_KEY = 1, REC_PAIR = 2 };

struct rec {
	uint8_t kind;			/* REC_KEY or REC_PAIR */
	uint8_t dead;
	uint16_t klen;			/* a key record's key length */
	uint32_t next;			/* the index chain this record is on */
};

struct krec {
	struct rec h;
	uint32_t pairs;			/* the first reader */
	uint32_t npairs;
	uint64_t hash;
	uint8_t key[];
};

struct prec {
	struct rec h;
	uint32_t knext;			/* the key's next reader */
	uint32_t key;			/* the key record */
	uint64_t id;
	struct rd_session *s;
};

_Static_assert(sizeof(struct krec) == 24 && sizeof(struct prec) == 32, "record layout");

static inline uint32_t pad8(uint32_t n)
{
	return (n + 7u) & ~7u;
}

static inline uint32_t rec_size(const struct rec *r)
{
	return r->kind == REC_KEY ? (uint32_t)sizeof(struct krec) + pad8(r->klen)
				  : (uint32_t)sizeof(struct prec);
}

static inline void *at(const struct trk_table *t, uint32_t ref)
{
	ref--;
	return t->mem + (size_t)(ref >> OFF_BITS) * TRK_CHUNK_BYTES +
	       ((size_t)(ref & ((1u << OFF_BITS) - 1)) << 3);
}

static inline uint32_t ref_of(uint32_t chunk, uint32_t off)
{
	return ((chunk << OFF_BITS) | (off >> 3)) + 1;
}

static inline uint32_t chunk_of(uint32_t ref)
{
	return (ref - 1) >> OFF_BITS;
}

static inline uint32_t kbucket(const struct trk_table *t, uint64_t hash)
{
	return trk_kbucket(t, hash);
}

static inline uint32_t pbucket(const struct trk_table *t, uint64_t hash, uint64_t id)
{
	return trk_pbucket(t, hash, id);
}

/* ---- chunks ---- */

static void age_unlink(struct trk_table *t, int32_t c)
{
	struct trk_chunk *k = &t->chunks[c];

	if (k->newer >= 0)
		t->chunks[k->newer].older = k->older;
	else
		t->head = k->older;
	if (k->older >= 0)
		t->chunks[k->older].newer = k->newer;
	else
		t->tail = k->newer;
	k->newer = k->older = -1;
}

static void age_push_newest(struct trk_table *t, int32_t c)
{
	struct trk_chunk *k = &t->chunks[c];

	k->used = k->live = k->scan = 0;
	k->newer = -1;
	k->older = t->head;
	if (t->head >= 0)
		t->chunks[t->head].newer = c;
	t->head = c;
	if (t->tail < 0)
		t->tail = c;
}

/* A chunk with nothing alive: the head starts over, any other is free again. */
static void chunk_empty(struct trk_table *t, int32_t c)
{
	struct trk_chunk *k = &t->chunks[c];

	if (c == t->head) {
		k->used = k->scan = 0;
		return;
	}
	age_unlink(t, c);
	k->newer = t->free;
	t->free = c;
}

static void kill(struct trk_table *t, uint32_t ref)
{
	struct rec *r = at(t, ref);
	int32_t c = (int32_t)chunk_of(ref);

	r->dead = 1;
	if (--t->chunks[c].live == 0)
		chunk_empty(t, c);
}

/* ---- the indexes ---- */

static uint32_t key_find(const struct trk_table *t, const uint8_t *key, uint32_t klen,
			 uint64_t hash)
{
	for (uint32_t r = t->kidx[kbucket(t, hash)]; r;) {
		const struct krec *k = at(t, r);

		if (k->hash == hash && k->h.klen == klen && memcmp(k->key, key, klen) == 0)
			return r;
		r = k->h.next;
	}
	return 0;
}

static void unlink_from(struct trk_table *t, uint32_t *head, uint32_t ref)
{
	for (uint32_t *pp = head; *pp; pp = &((struct rec *)at(t, *pp))->next) {
		if (*pp == ref) {
			*pp = ((struct rec *)at(t, ref))->next;
			return;
		}
	}
}

static uint32_t pair_find(const struct trk_table *t, uint32_t kref, uint64_t hash,
			  const struct rd_session *s, uint64_t id)
{
	for (uint32_t r = t->pidx[pbucket(t, hash, id)]; r;) {
		const struct prec *p = at(t, r);

		if (p->key == kref && p->id == id && p->s == s)
			return r;
		r = p->h.next;
	}
	return 0;
}

/* Take key record kref out, every reader to fn first. */
static unsigned take_key(struct trk_table *t, uint32_t kref, trk_reader_fn fn, void *arg)
{
	struct krec *k = at(t, kref);
	unsigned n = 0;

	for (uint32_t r = k->pairs; r;) {
		struct prec *p = at(t, r);
		uint32_t next = p->knext;

		unlink_from(t, &t->pidx[pbucket(t, k->hash, p->id)], r);
		if (fn)
			fn(arg, k->key, k->h.klen, p->s, p->id);
		kill(t, r);
		t->items--;
		n++;
		r = next;
	}
	k->pairs = 0;
	unlink_from(t, &t->kidx[kbucket(t, k->hash)], kref);
	kill(t, kref);
	t->keys--;
	return n;
}

/* The oldest key out (its readers to fn); false when the table is empty. */
static bool evict_oldest(struct trk_table *t, trk_reader_fn fn, void *arg)
{
	while (t->tail >= 0) {
		int32_t c = t->tail;
		struct trk_chunk *k = &t->chunks[c];

		while (k->scan < k->used) {
			uint32_t ref = ref_of((uint32_t)c, k->scan);
			struct rec *r = at(t, ref);

			if (!r->dead) {
				uint32_t kref = r->kind == REC_KEY ? ref : ((struct prec *)r)->key;

				take_key(t, kref, fn, arg);
				t->evicted++;
				return true;
			}
			k->scan += rec_size(r);
		}
		/* (only the head can be here with nothing alive: it is empty then) */
		if (c == t->head)
			return false;
		k->live = 1;
		kill(t, ref_of((uint32_t)c, 0));
	}
	return false;
}

/* Make room for need contiguous bytes in the head chunk. */
static bool reserve(struct trk_table *t, uint32_t need, trk_reader_fn fn, void *arg)
{
	for (;;) {
		if (t->head >= 0 && t->chunks[t->head].used + need <= TRK_CHUNK_BYTES)
			return true;
		if (t->free >= 0) {
			int32_t c = t->free;

			t->free = t->chunks[c].newer;
			age_push_newest(t, c);
			continue;
		}
		if (!evict_oldest(t, fn, arg))
			return false;
	}
}

static uint32_t alloc_rec(struct trk_table *t, uint32_t size)
{
	struct trk_chunk *k = &t->chunks[t->head];
	uint32_t ref = ref_of((uint32_t)t->head, k->used);

	k->used += size;
	k->live++;
	return ref;
}

/* ---- memory ---- */

#define HUGE_BYTES ((size_t)2 << 20)

static size_t huge_round(size_t n)
{
	return (n + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
}

/*
 * Anonymous memory for the log, its chunk list and the indexes (no heap:
 * nothing of the table is malloc'd), in transparent huge pages
 * where the kernel gives them: the log is touched only as it fills, one
 * fault per 2 MiB instead of per 4 KiB page, and random index lookups miss
 * the TLB less. populate: touch it all now (the indexes, at the first
 * CLIENT TRACKING ON of the lcore, not under a read).
 */
static void *region(size_t n, bool populate)
{
	void *p = mmap(NULL, huge_round(n), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, huge_round(n), MADV_HUGEPAGE);
	if (populate)
		memset(p, 0, n);
	return p;
}

static void region_free(void *p, size_t n)
{
	if (p)
		munmap(p, huge_round(n));
}

/* ---- the API ---- */

void trk_table_prefetch_records(const struct trk_table *t, uint32_t kb, uint32_t pb)
{
	uint32_t k = t->kidx[kb], p = t->pidx[pb];

	if (k)
		__builtin_prefetch(at(t, k));
	if (p)
		__builtin_prefetch(at(t, p));
}

int trk_table_init(struct trk_table *t, uint32_t chunks, unsigned buckets_log2)
{
	size_t nb = (size_t)1 << buckets_log2;

	memset(t, 0, sizeof(*t));
	if (chunks == 0 || chunks > (1u << (32 - OFF_BITS - 1)) || buckets_log2 > 30)
		return -1;
	/* (the log's pages are touched only as it fills) */
	t->mem = region((size_t)chunks * TRK_CHUNK_BYTES, false);
	t->chunks = region((size_t)chunks * sizeof(*t->chunks), true);
	t->kidx = region(nb * sizeof(uint32_t), true);
	t->pidx = region(nb * sizeof(uint32_t), true);
	t->nchunks = chunks;
	t->mask = (uint32_t)(nb - 1);
	if (!t->mem || !t->chunks || !t->kidx || !t->pidx) {
		trk_table_fini(t);
		return -1;
	}
	t->nchunks = chunks;
	t->mask = (uint32_t)(nb - 1);
	t->head = -1;
	trk_table_clear(t);
	return 0;
}

void trk_table_fini(struct trk_table *t)
{
	region_free(t->mem, (size_t)t->nchunks * TRK_CHUNK_BYTES);
	region_free(t->chunks, (size_t)t->nchunks * sizeof(*t->chunks));
	region_free(t->kidx, ((size_t)t->mask + 1) * sizeof(uint32_t));
	region_free(t->pidx, ((size_t)t->mask + 1) * sizeof(uint32_t));
	memset(t, 0, sizeof(*t));
}

void trk_table_clear(struct trk_table *t)
{
	if (t->keys || t->items || t->head >= 0) {
		memset(t->kidx, 0, ((size_t)t->mask + 1) * sizeof(uint32_t));
		memset(t->pidx, 0, ((size_t)t->mask + 1) * sizeof(uint32_t));
	}
	t->head = t->tail = -1;
	t->free = -1;
	for (uint32_t c = t->nchunks; c-- > 0;) {
		t->chunks[c] = (struct trk_chunk){ .newer = t->free, .older = -1 };
		t->free = (int32_t)c;
	}
	t->keys = t->items = 0;
}

bool trk_table_add(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		   struct rd_session *s, uint64_t id, uint64_t max_keys, trk_reader_fn evict,
		   void *evict_arg)
{
	uint32_t ksize = (uint32_t)sizeof(struct krec) + pad8(klen);
	uint32_t kref, pref;
	uint64_t ev0;
	struct prec *p;
	struct krec *k;

	if (klen > TRK_KEY_MAX)
		return false;
	/* the common case first: this client already has the key */
	kref = key_find(t, key, klen, hash);
	if (kref && pair_find(t, kref, hash, s, id))
		return true;
	/* room for a key and a pair record (may take out old keys, even this one) */
	ev0 = t->evicted;
	if (!reserve(t, ksize + (uint32_t)sizeof(struct prec), evict, evict_arg))
		return true;	/* (cannot happen: a key fits an empty chunk) */
	if (t->evicted != ev0)
		kref = key_find(t, key, klen, hash);
	if (!kref) {
		while (max_keys && t->keys >= max_keys && evict_oldest(t, evict, evict_arg))
			;
		kref = alloc_rec(t, ksize);
		k = at(t, kref);
		*k = (struct krec){ .h = { .kind = REC_KEY, .klen = (uint16_t)klen },
				    .hash = hash };
		memcpy(k->key, key, klen);
		k->h.next = t->kidx[kbucket(t, hash)];
		t->kidx[kbucket(t, hash)] = kref;
		t->keys++;
	}
	k = at(t, kref);
	pref = alloc_rec(t, (uint32_t)sizeof(struct prec));
	p = at(t, pref);
	*p = (struct prec){ .h = { .kind = REC_PAIR }, .knext = k->pairs, .key = kref, .id = id,
			    .s = s };
	p->h.next = t->pidx[pbucket(t, hash, id)];
	t->pidx[pbucket(t, hash, id)] = pref;
	k->pairs = pref;
	k->npairs++;
	t->items++;
	return true;
}

unsigned trk_table_take(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
			trk_reader_fn fn, void *arg)
{
	uint32_t kref;

	if (!t->keys || !(kref = key_find(t, key, klen, hash)))
		return 0;
	return take_key(t, kref, fn, arg);
}

void trk_table_trim(struct trk_table *t, uint64_t max_keys, trk_reader_fn fn, void *arg)
{
	while (max_keys && t->keys > max_keys && evict_oldest(t, fn, arg))
		;
}

bool trk_table_has(const struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		   const struct rd_session *s, uint64_t id)
{
	uint32_t kref = key_find(t, key, klen, hash);

	return kref && pair_find(t, kref, hash, s, id);
}
