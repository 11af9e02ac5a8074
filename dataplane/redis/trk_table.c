/*
 * trk_table.c - one lcore's client-tracking table (see trk_table.h): a log
 * of key and group records in chunks, the key index, the group index of
 * the reader groups past a key's inline one, the slots clients read
 * under and the scrub that makes a slot left safe to give out again, and
 * the eviction of the oldest keys when a bound is reached.
 *
 * A record reference is its offset in the log / 8, plus 1 (0 means none):
 * the log is one region, chunk c's records at c * TRK_CHUNK_BYTES.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "redis/trk_table.h"

#define OFF_BITS 13u			/* 64 KiB chunks, 8-byte units */

enum { REC_KEY = 1, REC_GROUP = 2, REC_PAD = 3 };

struct rec {
	uint8_t kind;			/* REC_KEY or REC_GROUP */
	uint8_t dead;
	uint16_t klen;			/* a key record's key length, a pad's bytes */
	uint32_t next;			/* the index chain this record is on */
};

/*
 * A key and one group of its readers (the group of the first): a read of
 * a key by a client of that group touches this one record (its bucket
 * aside) and sets a bit; only a key read from several groups has group
 * records, found through the group index.
 */
struct krec {
	struct rec h;
	uint64_t hash;
	uint32_t more;			/* the first group record (the other groups' readers) */
	uint32_t group;			/* whose readers `readers` has */
	uint64_t readers;		/* bit b: the client in slot group * 64 + b */
	uint8_t key[];
};

struct grec {
	struct rec h;
	uint32_t knext;			/* the key's next group record */
	uint32_t key;			/* the key record */
	uint32_t group;
	uint32_t unused;
	uint64_t readers;
};

_Static_assert(sizeof(struct krec) == 32 && sizeof(struct grec) == 32, "record layout");

static inline uint32_t slot_group(uint32_t slot)
{
	return slot >> 6;
}

static inline uint64_t slot_bit(uint32_t slot)
{
	return 1ull << (slot & 63u);
}

static inline uint32_t pad8(uint32_t n)
{
	return (n + 7u) & ~7u;
}

static inline uint32_t rec_size(const struct rec *r)
{
	return r->kind == REC_KEY   ? (uint32_t)sizeof(struct krec) + pad8(r->klen)
	       : r->kind == REC_PAD ? r->klen
				    : (uint32_t)sizeof(struct grec);
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

static inline uint32_t gbucket(const struct trk_table *t, uint64_t hash, uint32_t group)
{
	return trk_gbucket(t, hash, group);
}

/*
 * Are the n bytes at a and b the same? Keys are short: 8-byte words (the
 * last one overlapping) instead of a call to memcmp.
 */
static inline bool same_bytes(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t x, y;

	if (n >= 8) {
		for (uint32_t i = 8; i < n - 8; i += 8) {	/* (past 16 bytes) */
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
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
	k->gen++;
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

	k->gen++;
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

/* Key record kref's (of key hash) group record for group, or 0. */
static uint32_t group_find(const struct trk_table *t, uint32_t kref, uint64_t hash,
			   uint32_t group)
{
	for (uint32_t r = t->gidx[gbucket(t, hash, group)]; r;) {
		const struct grec *g = at(t, r);

		if (g->key == kref && g->group == group)
			return r;
		r = g->h.next;
	}
	return 0;
}

/* Where key record k (kref) keeps group's readers: its own word, a group record's, or NULL. */
static uint64_t *readers_of(const struct trk_table *t, struct krec *k, uint32_t kref,
			    uint32_t group)
{
	uint32_t g;

	if (k->group == group)
		return &k->readers;
	if (k->more && (g = group_find(t, kref, k->hash, group)))
		return &((struct grec *)at(t, g))->readers;
	return NULL;
}

/* Each reader in a group's word to fn. */
static void tell_group(const struct trk_table *t, const struct krec *k, uint32_t group,
		       uint64_t readers, trk_reader_fn fn, void *arg)
{
	for (; readers; readers &= readers - 1) {
		const struct trk_client *c =
			&t->clients[group * 64u + (uint32_t)__builtin_ctzll(readers)];

		fn(arg, k->key, k->h.klen, c->s, c->id);
	}
}

/* Take key record kref out, every reader to fn first. */
static unsigned take_key(struct trk_table *t, uint32_t kref, trk_reader_fn fn, void *arg)
{
	struct krec *k = at(t, kref);
	unsigned n = (unsigned)__builtin_popcountll(k->readers);

	if (fn)
		tell_group(t, k, k->group, k->readers, fn, arg);
	for (uint32_t r = k->more; r;) {
		struct grec *g = at(t, r);
		uint32_t next = g->knext;

		unlink_from(t, &t->gidx[gbucket(t, k->hash, g->group)], r);
		if (fn)
			tell_group(t, k, g->group, g->readers, fn, arg);
		n += (unsigned)__builtin_popcountll(g->readers);
		kill(t, r);
		r = next;
	}
	k->more = 0;
	k->readers = 0;
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
				uint32_t kref = r->kind == REC_KEY ? ref : ((struct grec *)r)->key;

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

/* Make room for need contiguous bytes in the head chunk: the slow part. */
static bool reserve_more(struct trk_table *t, uint32_t need, trk_reader_fn fn, void *arg)
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

static inline bool reserve(struct trk_table *t, uint32_t need, trk_reader_fn fn, void *arg)
{
	if (t->head >= 0 && t->chunks[t->head].used + need <= TRK_CHUNK_BYTES)
		return true;
	return reserve_more(t, need, fn, arg);
}

#define LINE 64u

/*
 * A key record that fits a cache line but would straddle two starts on
 * the next line instead (a read then touches one line): the bytes
 * skipped are a dead pad record, so that walks of the chunk step over it.
 */
static inline void line_up(struct trk_table *t, uint32_t size)
{
	struct trk_chunk *k = &t->chunks[t->head];
	uint32_t in = k->used & (LINE - 1);

	if (size <= LINE && in + size > LINE) {
		struct rec *pad = at(t, ref_of((uint32_t)t->head, k->used));

		*pad = (struct rec){ .kind = REC_PAD, .dead = 1, .klen = (uint16_t)(LINE - in) };
		k->used += LINE - in;
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

/* ---- slots and the scrub ---- */

int32_t trk_table_join(struct trk_table *t, struct rd_session *s, uint64_t id)
{
	uint32_t w = t->free_hint, slot;

	while (w < TRK_SLOT_WORDS && !t->slot_free[w])
		w++;
	t->free_hint = w;
	if (w == TRK_SLOT_WORDS)
		return -1;
	slot = w * 64u + (uint32_t)__builtin_ctzll(t->slot_free[w]);
	t->slot_free[w] &= ~slot_bit(slot);
	t->clients[slot] = (struct trk_client){ .s = s, .id = id };
	t->joined++;
	return (int32_t)slot;
}

static void slot_freed(struct trk_table *t, uint32_t w, uint64_t bits)
{
	t->slot_free[w] |= bits;
	if (bits && w < t->free_hint)
		t->free_hint = w;
}

static bool scrub_running(const struct trk_table *t)
{
	return t->scrub_chunk < t->nchunks;
}

/* The slots left so far are scrubbed from now on; later ones wait for the next scrub. */
static void scrub_begin(struct trk_table *t)
{
	uint64_t *done = t->slot_scrub;	/* (all zero: the last scrub freed them) */

	t->slot_scrub = t->slot_left;
	t->slot_left = done;
	t->nleft = 0;
	t->scrub_chunk = 0;
	t->scrub_off = 0;
	t->scrub_gen = t->chunks[0].gen;
}

/* Every record that was there when the scrub began is clean: its slots are free. */
static void scrub_end(struct trk_table *t)
{
	for (uint32_t w = 0; w < TRK_SLOT_WORDS; w++) {
		slot_freed(t, w, t->slot_scrub[w]);
		t->slot_scrub[w] = 0;
	}
	t->scrub_chunk = t->nchunks;
	t->scrubs++;
	if (t->nleft)
		scrub_begin(t);
}

void trk_table_leave(struct trk_table *t, uint32_t slot)
{
	uint32_t w = slot / 64u;

	t->joined--;
	/* (no key record, no bit anywhere: free at once) */
	if (!t->keys && !scrub_running(t)) {
		slot_freed(t, w, slot_bit(slot));
		return;
	}
	t->slot_left[w] |= slot_bit(slot);
	t->nleft++;
	if (!scrub_running(t))
		scrub_begin(t);
}

/* The scrubbed slots' bits out of one record's readers word. */
static void scrub_word(struct trk_table *t, uint64_t *readers, uint32_t group)
{
	uint64_t gone = *readers & t->slot_scrub[group];

	if (gone) {
		*readers &= ~gone;
		t->items -= (uint64_t)__builtin_popcountll(gone);
	}
}

/*
 * The scrub walks the chunks in place, not in age order: a chunk that
 * starts over under it (its gen changes) holds only records newer than the
 * scrub, which cannot have the bits it clears, and is passed.
 */
bool trk_table_scrub_step(struct trk_table *t, unsigned budget)
{
	if (!scrub_running(t))
		return false;
	while (budget--) {
		const struct trk_chunk *c = &t->chunks[t->scrub_chunk];
		struct rec *r;

		if (c->gen != t->scrub_gen || c->live == 0 || t->scrub_off >= c->used) {
			t->scrub_off = 0;
			if (++t->scrub_chunk == t->nchunks) {
				scrub_end(t);
				return true;
			}
			t->scrub_gen = t->chunks[t->scrub_chunk].gen;
			continue;
		}
		r = at(t, ref_of(t->scrub_chunk, t->scrub_off));
		if (!r->dead) {
			if (r->kind == REC_KEY) {
				struct krec *k = (struct krec *)r;

				scrub_word(t, &k->readers, k->group);
			} else {
				struct grec *g = (struct grec *)r;

				scrub_word(t, &g->readers, g->group);
			}
		}
		t->scrub_off += rec_size(r);
	}
	return true;
}

/* ---- memory ---- */

#define HUGE_BYTES ((size_t)2 << 20)

static size_t huge_round(size_t n)
{
	return (n + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
}

/*
 * Anonymous memory for the log, its chunk list, the indexes and the slots
 * (no heap: nothing of the table is malloc'd), in transparent huge pages
 * where the kernel gives them: the log is touched only as it fills, one
 * fault per 2 MiB instead of per 4 KiB page, and random index lookups miss
 * the TLB less. populate: touch it all now (at the first CLIENT TRACKING
 * ON of the lcore, not under a read).
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

#define SLOT_MAP_BYTES ((size_t)TRK_SLOT_WORDS * sizeof(uint64_t))

/* ---- the API ---- */

int trk_table_init(struct trk_table *t, uint32_t chunks, unsigned buckets_log2)
{
	size_t nb = (size_t)1 << buckets_log2;

	memset(t, 0, sizeof(*t));
	if (chunks == 0 || chunks > (1u << (32 - OFF_BITS - 1)) || buckets_log2 > 30)
		return -1;
	/* (the log's and the clients' pages are touched only as they fill) */
	t->mem = region((size_t)chunks * TRK_CHUNK_BYTES, false);
	t->chunks = region((size_t)chunks * sizeof(*t->chunks), true);
	t->kidx = region(nb * sizeof(uint32_t), true);
	t->gidx = region(nb * sizeof(uint32_t), true);
	t->clients = region((size_t)TRK_SLOTS * sizeof(*t->clients), false);
	t->slot_free = region(3 * SLOT_MAP_BYTES, true);
	t->nchunks = chunks;
	t->mask = (uint32_t)(nb - 1);
	if (!t->mem || !t->chunks || !t->kidx || !t->gidx || !t->clients || !t->slot_free) {
		trk_table_fini(t);
		return -1;
	}
	t->slot_left = t->slot_free + TRK_SLOT_WORDS;
	t->slot_scrub = t->slot_left + TRK_SLOT_WORDS;
	memset(t->slot_free, 0xff, SLOT_MAP_BYTES);
	t->scrub_chunk = chunks;
	t->head = -1;
	trk_table_clear(t);
	return 0;
}

void trk_table_fini(struct trk_table *t)
{
	region_free(t->mem, (size_t)t->nchunks * TRK_CHUNK_BYTES);
	region_free(t->chunks, (size_t)t->nchunks * sizeof(*t->chunks));
	region_free(t->kidx, ((size_t)t->mask + 1) * sizeof(uint32_t));
	region_free(t->gidx, ((size_t)t->mask + 1) * sizeof(uint32_t));
	region_free(t->clients, (size_t)TRK_SLOTS * sizeof(*t->clients));
	region_free(t->slot_free, 3 * SLOT_MAP_BYTES);	/* (the three maps: one region) */
	memset(t, 0, sizeof(*t));
}

void trk_table_clear(struct trk_table *t)
{
	if (t->keys || t->items || t->head >= 0) {
		memset(t->kidx, 0, ((size_t)t->mask + 1) * sizeof(uint32_t));
		memset(t->gidx, 0, ((size_t)t->mask + 1) * sizeof(uint32_t));
	}
	t->head = t->tail = -1;
	t->free = -1;
	for (uint32_t c = t->nchunks; c-- > 0;) {
		t->chunks[c] = (struct trk_chunk){ .gen = t->chunks[c].gen + 1, .newer = t->free,
						   .older = -1 };
		t->free = (int32_t)c;
	}
	t->keys = t->items = 0;
	/* no record is left to hold a bit: whatever waited on a scrub is free */
	for (uint32_t w = 0; w < TRK_SLOT_WORDS; w++) {
		slot_freed(t, w, t->slot_left[w] | t->slot_scrub[w]);
		t->slot_left[w] = t->slot_scrub[w] = 0;
	}
	t->nleft = 0;
	t->scrub_chunk = t->nchunks;
}

/* A new key record, with the client in slot as its first reader. */
static void add_key(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		    uint32_t slot, uint64_t max_keys, trk_reader_fn evict, void *evict_arg)
{
	uint32_t ksize = (uint32_t)sizeof(struct krec) + pad8(klen);
	uint32_t b = kbucket(t, hash), kref;
	struct krec *k;

	while (max_keys && t->keys >= max_keys && evict_oldest(t, evict, evict_arg))
		;
	if (!reserve(t, ksize + LINE - 8, evict, evict_arg))
		return;	/* (cannot happen: a key fits an empty chunk) */
	line_up(t, ksize);
	kref = alloc_rec(t, ksize);
	k = at(t, kref);
	*k = (struct krec){ .h = { .kind = REC_KEY, .klen = (uint16_t)klen, .next = t->kidx[b] },
			    .hash = hash, .group = slot_group(slot), .readers = slot_bit(slot) };
	trk_copy_key(k->key, key, klen);
	t->kidx[b] = kref;
	t->keys++;
	t->items++;
}

/*
 * The client in slot reads key record kref, which keeps another group
 * inline: a bit in the key's group record for the slot's group, made if
 * need be. Making room may take out old keys, even this one: then the read
 * comes back as a new key.
 */
static void add_group(struct trk_table *t, uint32_t kref, const uint8_t *key, uint32_t klen,
		      uint64_t hash, uint32_t slot, uint64_t max_keys, trk_reader_fn evict,
		      void *evict_arg)
{
	uint32_t gref, group = slot_group(slot), b = gbucket(t, hash, group);
	uint64_t ev0 = t->evicted;
	struct grec *g;
	struct krec *k = at(t, kref);

	if (k->more && (gref = group_find(t, kref, hash, group))) {
		g = at(t, gref);
		if (!(g->readers & slot_bit(slot))) {
			g->readers |= slot_bit(slot);
			t->items++;
		}
		return;
	}
	if (!reserve(t, (uint32_t)sizeof(struct grec), evict, evict_arg))
		return;	/* (cannot happen: a record fits an empty chunk) */
	if (t->evicted != ev0 && !(kref = key_find(t, key, klen, hash))) {
		add_key(t, key, klen, hash, slot, max_keys, evict, evict_arg);
		return;
	}
	k = at(t, kref);
	gref = alloc_rec(t, (uint32_t)sizeof(struct grec));
	g = at(t, gref);
	*g = (struct grec){ .h = { .kind = REC_GROUP, .next = t->gidx[b] }, .knext = k->more,
			    .key = kref, .group = group, .readers = slot_bit(slot) };
	t->gidx[b] = gref;
	k->more = gref;
	t->items++;
}

/* The client in slot read the key: its bit in the key record here, another group above. */
static inline __attribute__((always_inline)) void
add_read(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash, uint32_t slot,
	 uint64_t max_keys, trk_reader_fn evict, void *evict_arg)
{
	uint32_t kref = key_find(t, key, klen, hash);
	struct krec *k;

	if (!kref) {
		add_key(t, key, klen, hash, slot, max_keys, evict, evict_arg);
		return;
	}
	k = at(t, kref);
	if (k->group != slot_group(slot)) {
		if (k->readers || k->more) {
			add_group(t, kref, key, klen, hash, slot, max_keys, evict, evict_arg);
			return;
		}
		k->group = slot_group(slot);	/* (a scrub emptied it: the key's group is ours now) */
	}
	if (!(k->readers & slot_bit(slot))) {
		k->readers |= slot_bit(slot);
		t->items++;
	}
}

bool trk_table_add(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		   uint32_t slot, uint64_t max_keys, trk_reader_fn evict, void *evict_arg)
{
	if (klen > TRK_KEY_MAX)
		return false;
	add_read(t, key, klen, hash, slot, max_keys, evict, evict_arg);
	return true;
}

/* Scrub steps a batch of reads pays for (a scrub of a million records: 60,000 batches). */
#define SCRUB_PER_BATCH 16u

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

		add_read(t, keys + r->koff, r->klen, r->hash, r->slot, max_keys, evict, evict_arg);
	}
	if (scrub_running(t))
		trk_table_scrub_step(t, SCRUB_PER_BATCH);
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
		   uint32_t slot)
{
	uint32_t kref = key_find(t, key, klen, hash);
	uint64_t *readers;

	if (!kref)
		return false;
	readers = readers_of(t, at(t, kref), kref, slot_group(slot));
	return readers && (*readers & slot_bit(slot));
}
