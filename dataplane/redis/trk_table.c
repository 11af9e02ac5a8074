/*
 * trk_table.c - one lcore's client-tracking table (see trk_table.h): a log
 * of key and pair records in chunks, the key index, the pair index of the
 * readers past a key's inline ones, and the eviction of the oldest keys
 * when a bound is reached.
 *
 * A record reference is its offset in the log / 8, plus 1 (0 means none):
 * the log is one region, chunk c's records at c * TRK_CHUNK_BYTES.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "redis/trk_table.h"

#define OFF_BITS 13u			/* 64 KiB chunks, 8-byte units */
#define INLINE_READERS 4u		/* readers kept in the key record itself */

enum { REC_KEY = 1, REC_PAIR = 2 };

struct rec {
	uint8_t kind;			/* REC_KEY or REC_PAIR */
	uint8_t dead;
	uint16_t klen;			/* a key record's key length */
	uint32_t next;			/* the index chain this record is on */
};

struct reader {
	uint64_t id;			/* client ids are never reused: the id alone tells readers apart */
	struct rd_session *s;
};

/*
 * A key and its first readers: a read of a key already in the table
 * touches this one record (its bucket aside); only a key with more than
 * INLINE_READERS readers has pair records, found through the pair index.
 */
struct krec {
	struct rec h;
	uint64_t hash;
	uint32_t more;			/* the first pair record (readers past the inline ones) */
	uint16_t nin;			/* inline readers */
	uint16_t unused;
	struct reader in[INLINE_READERS];
	uint8_t key[];
};

struct prec {
	struct rec h;
	uint32_t knext;			/* the key's next pair record */
	uint32_t key;			/* the key record */
	struct reader r;
};

_Static_assert(sizeof(struct krec) == 88 && sizeof(struct prec) == 32, "record layout");

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
	return t->mem + ((size_t)(ref - 1) << 3);
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

/*
 * Are the n bytes at a and b the same? Keys are short: 8-byte words (the
 * last one overlapping) instead of a call to memcmp.
 */
static inline bool same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t x, y;

	if (n >= 8) {
		for (uint32_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		uint32_t p, q, r, u;

		memcpy(&p, a, 4);
		memcpy(&q, b, 4);
		memcpy(&r, a + n - 4, 4);
		memcpy(&u, b + n - 4, 4);
		return p == q && r == u;
	}
	for (uint32_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
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

static inline __attribute__((always_inline)) uint32_t
key_find(const struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash)
{
	for (uint32_t r = t->kidx[kbucket(t, hash)]; r;) {
		const struct krec *k = at(t, r);

		if (k->hash == hash && k->h.klen == klen && same_bytes(k->key, key, klen))
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

/* Where client id is among key record k's inline readers (k->nin: not there). */
static inline unsigned inline_reader(const struct krec *k, uint64_t id)
{
	unsigned j;

	for (j = 0; j < k->nin && k->in[j].id != id; j++)
		;
	return j;
}

/* Has client id a pair record for key record kref (of key hash)? */
static bool has_pair(const struct trk_table *t, uint32_t kref, uint64_t hash, uint64_t id)
{
	for (uint32_t r = t->pidx[pbucket(t, hash, id)]; r;) {
		const struct prec *p = at(t, r);

		if (p->key == kref && p->r.id == id)
			return true;
		r = p->h.next;
	}
	return false;
}

/* Is client id a reader of key record k (kref)? Inline readers first, then the pair index. */
static bool is_reader(const struct trk_table *t, const struct krec *k, uint32_t kref,
		      uint64_t id)
{
	return inline_reader(k, id) < k->nin || (k->more && has_pair(t, kref, k->hash, id));
}

/* Take key record kref out, every reader to fn first. */
static unsigned take_key(struct trk_table *t, uint32_t kref, trk_reader_fn fn, void *arg)
{
	struct krec *k = at(t, kref);
	unsigned n = k->nin;

	for (unsigned i = 0; fn && i < k->nin; i++)
		fn(arg, k->key, k->h.klen, k->in[i].s, k->in[i].id);
	for (uint32_t r = k->more; r;) {
		struct prec *p = at(t, r);
		uint32_t next = p->knext;

		unlink_from(t, &t->pidx[pbucket(t, k->hash, p->r.id)], r);
		if (fn)
			fn(arg, k->key, k->h.klen, p->r.s, p->r.id);
		kill(t, r);
		n++;
		r = next;
	}
	k->more = 0;
	k->nin = 0;
	t->items -= n;
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

/* A new key record, with client (s, id) as its first reader. */
static void add_key(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		    struct rd_session *s, uint64_t id, uint64_t max_keys, trk_reader_fn evict,
		    void *evict_arg)
{
	uint32_t ksize = (uint32_t)sizeof(struct krec) + pad8(klen);
	uint32_t b = kbucket(t, hash), kref;
	struct krec *k;

	while (max_keys && t->keys >= max_keys && evict_oldest(t, evict, evict_arg))
		;
	if (!reserve(t, ksize, evict, evict_arg))
		return;	/* (cannot happen: a key fits an empty chunk) */
	kref = alloc_rec(t, ksize);
	k = at(t, kref);
	*k = (struct krec){ .h = { .kind = REC_KEY, .klen = (uint16_t)klen, .next = t->kidx[b] },
			    .hash = hash, .nin = 1, .in = { { .id = id, .s = s } } };
	memcpy(k->key, key, klen);
	t->kidx[b] = kref;
	t->keys++;
	t->items++;
}

/*
 * Client (s, id) reads key record kref, whose inline readers are full: a
 * pair record, unless it has one. Making room may take out old keys, even
 * this one: then the read comes back as a new key.
 */
static void add_pair(struct trk_table *t, uint32_t kref, const uint8_t *key, uint32_t klen,
		     uint64_t hash, struct rd_session *s, uint64_t id, uint64_t max_keys,
		     trk_reader_fn evict, void *evict_arg)
{
	uint32_t pref, b = pbucket(t, hash, id);
	uint64_t ev0 = t->evicted;
	struct prec *p;
	struct krec *k = at(t, kref);

	if (k->more && has_pair(t, kref, hash, id))
		return;
	if (!reserve(t, (uint32_t)sizeof(struct prec), evict, evict_arg))
		return;	/* (cannot happen: a record fits an empty chunk) */
	if (t->evicted != ev0 && !(kref = key_find(t, key, klen, hash))) {
		add_key(t, key, klen, hash, s, id, max_keys, evict, evict_arg);
		return;
	}
	k = at(t, kref);
	pref = alloc_rec(t, (uint32_t)sizeof(struct prec));
	p = at(t, pref);
	*p = (struct prec){ .h = { .kind = REC_PAIR, .next = t->pidx[b] }, .knext = k->more,
			    .key = kref, .r = { .id = id, .s = s } };
	t->pidx[b] = pref;
	k->more = pref;
	t->items++;
}

/* Client (s, id) read the key: a re-read or a free inline place here, the rest above. */
static inline __attribute__((always_inline)) void
add_read(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
	 struct rd_session *s, uint64_t id, uint64_t max_keys, trk_reader_fn evict,
	 void *evict_arg)
{
	uint32_t kref = key_find(t, key, klen, hash);
	struct krec *k;
	unsigned j;

	if (!kref) {
		add_key(t, key, klen, hash, s, id, max_keys, evict, evict_arg);
		return;
	}
	k = at(t, kref);
	j = inline_reader(k, id);
	if (j < k->nin)
		return;
	if (j < INLINE_READERS) {
		k->in[k->nin++] = (struct reader){ .id = id, .s = s };
		t->items++;
		return;
	}
	add_pair(t, kref, key, klen, hash, s, id, max_keys, evict, evict_arg);
}

bool trk_table_add(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		   struct rd_session *s, uint64_t id, uint64_t max_keys, trk_reader_fn evict,
		   void *evict_arg)
{
	if (klen > TRK_KEY_MAX)
		return false;
	add_read(t, key, klen, hash, s, id, max_keys, evict, evict_arg);
	return true;
}

/* The records the batch's buckets name are fetched first, all of them, then the reads go in. */
void trk_table_add_reads(struct trk_table *t, const struct trk_read *reads, unsigned n,
			 const uint8_t *keys, uint64_t max_keys, trk_reader_fn evict,
			 void *evict_arg)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t k = t->kidx[reads[i].kb];

		if (k)
			__builtin_prefetch(at(t, k));
	}
	for (unsigned i = 0; i < n; i++) {
		const struct trk_read *r = &reads[i];

		add_read(t, keys + r->koff, r->klen, r->hash, r->s, r->id, max_keys, evict,
			 evict_arg);
	}
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

	(void)s;
	return kref && is_reader(t, at(t, kref), kref, id);
}
