/*
 * trk_table.h - one lcore's client-tracking table: which of the lcore's
 * own Redis clients read which keys (redis/tracking.h uses it; the table
 * knows nothing of sessions but their pointer and client id).
 *
 * Records live in a log of fixed-size chunks taken in age order: a key
 * record (the key's bytes and its first four readers, so that a read of a
 * key already there touches one record) and a pair record for each
 * further reader. The key index finds key records by the key's hash; the
 * pair index finds pair records by the key's hash mixed with the client
 * id (so a hot key read by a thousand clients still costs one short chain
 * walk per read). Dead records are holes in their chunk; a chunk whose
 * records are all dead is reused at once.
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

struct trk_chunk {
	uint32_t used;			/* bytes appended */
	uint32_t live;			/* records not dead */
	uint32_t scan;			/* no live record before this offset */
	int32_t newer, older;		/* the age list (-1: none) */
};

struct trk_table {
	uint8_t *mem;			/* nchunks * TRK_CHUNK_BYTES */
	struct trk_chunk *chunks;
	uint32_t nchunks;
	int32_t head, tail;		/* the newest chunk (appended to) and the oldest */
	int32_t free;			/* unused chunks, linked through .newer */
	uint32_t *kidx, *pidx;		/* bucket heads (record refs, 0: none) */
	uint32_t mask;			/* buckets - 1 */
	uint64_t keys, items;		/* live key and pair records */
	uint64_t evicted;		/* keys taken out to respect a bound */
};

/* Someone read the key: a reader to tell (s and id, as given to trk_table_add). */
typedef void (*trk_reader_fn)(void *arg, const uint8_t *key, uint32_t klen,
			      struct rd_session *s, uint64_t id);

/* Reserve chunks of log and 2^buckets_log2 buckets per index; 0 or -1 (no memory). */
int trk_table_init(struct trk_table *t, uint32_t chunks, unsigned buckets_log2);
void trk_table_fini(struct trk_table *t);

/*
 * Client (s, id) read key (hash = wc_hash of it). A new key first makes
 * room under max_keys; either may take out the oldest keys, whose readers
 * go to evict(evict_arg). Returns false only for a key longer than
 * TRK_KEY_MAX.
 */
bool trk_table_add(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		   struct rd_session *s, uint64_t id, uint64_t max_keys, trk_reader_fn evict,
		   void *evict_arg);

/* The key changed: every reader goes to fn, and the key leaves. Returns the readers. */
unsigned trk_table_take(struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
			trk_reader_fn fn, void *arg);

/* The index buckets of a key (hash) and of a (key, client id) pair. */
static inline uint32_t trk_kbucket(const struct trk_table *t, uint64_t hash)
{
	return (uint32_t)(hash ^ (hash >> 32)) & t->mask;
}

static inline uint32_t trk_pbucket(const struct trk_table *t, uint64_t hash, uint64_t id)
{
	uint64_t h = hash ^ (id * 0x9E3779B97F4A7C15ull);

	return (uint32_t)(h ^ (h >> 29) ^ (h >> 47)) & t->mask;
}

/*
 * Reads taken in batches (trk_table_add_reads), so that one read's cache
 * misses overlap the others' instead of adding up: when a read is noted,
 * its key bucket is fetched (trk_table_prefetch_bucket); the batch then
 * fetches the records the buckets name, and adds.
 */
#define TRK_READ_KEY 256u		/* (a longer key goes to trk_table_add alone) */

/*
 * A read in a batch: 40 bytes, its key packed with the batch's others in
 * one buffer (so that the batch stays a few cache lines).
 */
struct trk_read {
	uint64_t hash;
	uint64_t id;
	struct rd_session *s;
	uint32_t klen;
	uint32_t kb;			/* trk_kbucket(hash) */
	uint32_t koff;			/* the key's offset in the batch's key buffer */
};

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

/* Forget everything (a flush: the readers are told otherwise). */
void trk_table_clear(struct trk_table *t);

/* Has (s, id) a record for key? (tests) */
bool trk_table_has(const struct trk_table *t, const uint8_t *key, uint32_t klen, uint64_t hash,
		   const struct rd_session *s, uint64_t id);

#endif
