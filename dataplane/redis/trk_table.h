/*
 * trk_table.h - one lcore's client-tracking table: which of the lcore's
 * own Redis clients read which keys (redis/tracking.h uses it; the table
 * knows nothing of sessions but their pointer and client id).
 *
 * Clients. A tracking client joins the table and gets a slot, a small
 * number; its reads are bits. Slot s is bit s % 64 of group s / 64, so the
 * readers of a key among 64 clients are one word, and a read is one
 * bit set in a record the key lookup has already fetched.
 *
 * Records live in a log of fixed-size chunks taken in age order: a key
 * record (the key's bytes and one group of readers, the group of its first
 * reader) and a group record for each further group with readers. The key
 * index finds key records by the key's hash; the group index finds group
 * records by the key's hash mixed with the group. Dead records are holes
 * in their chunk; a chunk whose records are all dead is reused at once.
 *
 * A slot that is left is not given out again while a record may still hold
 * its bit (the next client there would hear of keys it never read): a
 * scrub walks the log a few records at a time, clearing the bits of slots
 * left before it began, and frees them when it is through.
 *
 * Bounds. At most max_keys keys (0: no bound but memory), and the log's
 * memory: when either is full, the oldest records' keys are taken out of
 * the table and their readers reported (the "oldest entries invalidated"
 * rule). Nothing is allocated after trk_table_init; the log's memory is
 * reserved there and touched only as it fills.
 */
#ifndef WC_REDIS_TRK_TABLE_H
#define WC_REDIS_TRK_TABLE_H

#include <stdbool.h>
#include <stdint.h>

struct rd_session;

#define TRK_CHUNK_BYTES (64u << 10)
#define TRK_KEY_MAX 4096u		/* (the store's keys are 250 bytes at most) */
#define TRK_SLOTS 65536u		/* tracking clients on one lcore at once */
#define TRK_SLOT_WORDS (TRK_SLOTS / 64u)

struct trk_chunk {
	uint32_t used;			/* bytes appended */
	uint32_t live;			/* records not dead */
	uint32_t scan;			/* no live record before this offset */
	uint32_t gen;			/* bumped whenever the chunk starts over (the scrub's check) */
	int32_t newer, older;		/* the age list (-1: none) */
};

/* Who is in a slot (or was last: a slot left keeps its last client until it is reused). */
struct trk_client {
	struct rd_session *s;
	uint64_t id;
};

struct trk_table {
	uint8_t *mem;			/* nchunks * TRK_CHUNK_BYTES */
	struct trk_chunk *chunks;
	uint32_t nchunks;
	int32_t head, tail;		/* the newest chunk (appended to) and the oldest */
	int32_t free;			/* unused chunks, linked through .newer */
	uint32_t *kidx, *gidx;		/* bucket heads (record refs, 0: none) */
	uint32_t mask;			/* buckets - 1 */
	uint64_t keys, items;		/* live key records, and reader bits set */
	uint64_t evicted;		/* keys taken out to respect a bound */
	/* the slots: bitmaps by slot, TRK_SLOT_WORDS words each */
	struct trk_client *clients;	/* TRK_SLOTS */
	uint64_t *slot_free;		/* free and clean: may be given out */
	uint64_t *slot_left;		/* left since the running scrub began (the next one's) */
	uint64_t *slot_scrub;		/* left before it began: free when it is through */
	uint32_t free_hint;		/* no free slot in a word below this */
	uint32_t joined;		/* slots in use */
	uint32_t nleft;			/* slots in slot_left */
	/* the scrub, walking the chunks in place (scrub_chunk == nchunks: none running) */
	uint32_t scrub_chunk, scrub_off, scrub_gen;
	uint64_t scrubs;		/* scrubs completed */
};

/* Someone read the key: a reader to tell (the client in its slot). */
typedef void (*trk_reader_fn)(void *arg, const uint8_t *key, uint32_t klen,
			      struct rd_session *s, uint64_t id);

/* Reserve chunks of log and 2^buckets_log2 buckets per index; 0 or -1 (no memory). */
int trk_table_init(struct trk_table *t, uint32_t chunks, unsigned buckets_log2);
void trk_table_fini(struct trk_table *t);

/* Client (s, id) joins: its slot (the lowest free one), or -1 when every slot is taken. */
int32_t trk_table_join(struct trk_table *t, struct rd_session *s, uint64_t id);
/* The client in slot leaves: its reads stay until the keys change, go or the scrub clears them. */
void trk_table_leave(struct trk_table *t, uint32_t slot);
/* Up to budget steps of a running scrub (a record or a chunk each); false when none runs. */
bool trk_table_scrub_step(struct trk_table *t, unsigned budget);

/*
 * The client in slot read key (hash = wc_hash of it). A new key first
 * makes room under max_keys; either may take out the oldest keys, whose
 * readers go to evict(evict_arg). Returns false only for a key longer than
 * TRK_KEY_MAX.
 */
bool trk_table_add(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		   uint32_t slot, uint64_t max_keys, trk_reader_fn evict, void *evict_arg);

/* The key changed: every reader goes to fn, and the key leaves. Returns the readers. */
unsigned trk_table_take(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
			trk_reader_fn fn, void *arg);

/* The index buckets of a key (hash) and of a key's group of readers. */
static inline uint32_t trk_kbucket(const struct trk_table *t, uint64_t hash)
{
	return (uint32_t)(hash ^ (hash >> 32)) & t->mask;
}

static inline uint32_t trk_gbucket(const struct trk_table *t, uint64_t hash, uint32_t group)
{
	uint64_t h = hash ^ ((uint64_t)(group + 1) * 0x9E3779B97F4A7C15ull);

	return (uint32_t)(h ^ (h >> 29) ^ (h >> 47)) & t->mask;
}

/*
 * Reads taken in batches (trk_table_add_reads), so that one read's cache
 * misses overlap the others' instead of adding up: when a read is noted,
 * its key bucket is fetched (trk_table_prefetch_bucket); the batch then
 * fetches the records the buckets name, and adds.
 */
#define TRK_READ_KEY 256u		/* (a longer key goes to trk_table_add alone) */

/* A read in a batch: 24 bytes, its key packed with the batch's others in one buffer. */
struct trk_read {
	uint64_t hash;
	uint32_t slot;
	uint32_t klen;
	uint32_t kb;			/* trk_kbucket(hash) */
	uint32_t koff;			/* the key's offset in the batch's key buffer */
};

/*
 * Copy a key of n bytes: 8-byte words (the last one overlapping) for the
 * short keys a cache reads, not a call to memcpy.
 */
static inline void trk_copy_key(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	uint64_t w;

	if (n >= 8) {
		for (uint32_t i = 8; i < n - 8; i += 8) {	/* (past 16 bytes) */
			__builtin_memcpy(&w, src + i, 8);
			__builtin_memcpy(dst + i, &w, 8);
		}
		__builtin_memcpy(&w, src, 8);
		__builtin_memcpy(dst, &w, 8);
		__builtin_memcpy(&w, src + n - 8, 8);
		__builtin_memcpy(dst + n - 8, &w, 8);
		return;
	}
	for (uint32_t i = 0; i < n; i++)
		dst[i] = src[i];
}

static inline void trk_table_prefetch_bucket(const struct trk_table *t, uint32_t kb)
{
	__builtin_prefetch(&t->kidx[kb]);
}


/* trk_table_add for each of reads[0..n), whose keys are at keys + koff. */
void trk_table_add_reads(struct trk_table *t, const struct trk_read *reads, unsigned n,
			 const uint8_t *keys, uint64_t max_keys, trk_reader_fn evict,
			 void *evict_arg);

/* Take out the oldest keys (their readers to fn) until at most max_keys remain. */
void trk_table_trim(struct trk_table *t, uint64_t max_keys, trk_reader_fn fn, void *arg);

/* Forget every read (a flush: the readers are told otherwise); the clients stay. */
void trk_table_clear(struct trk_table *t);

/* Has the client in slot a record for key? (tests) */
bool trk_table_has(const struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		   uint32_t slot);

#endif
