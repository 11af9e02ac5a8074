/*
 * container.h - Redis hashes and sets in the store: one design that costs the
 * same per change whether a container holds 1 member or 1,000,000.
 *
 * The requirement (the issue): one HSET, HDEL, SADD or SREM costs O(1) on
 * average whatever the container's size; a container counts against the
 * memory limit and is evicted or expired as a whole. Everything below is
 * ordinary items in the partition's logs, so the memory limit, eviction,
 * expiry, RCU reclamation and the per-partition writer rule hold unchanged.
 *
 * Two encodings, chosen by size:
 *
 *  - compact: the key's item (type HASH or SET) holds the whole member list.
 *    Every change writes a new version of that one item, so it stays small:
 *    at most WC_C_COMPACT_MAX members and WC_C_COMPACT_BYTES bytes of list.
 *    A reader sees one immutable item: always a consistent container.
 *
 *  - buckets: the key's item is a header (type HASH or SET, 32 bytes: a
 *    random 64-bit container id `cid`, a random hash seed, the member count
 *    and a linear-hashing layout: level L and split pointer s, so there are
 *    2^L + s buckets). Members live in bucket items of the internal type
 *    WC_TYPE_BUCKET, key = "\xffWCB" + cid + bucket number (16 bytes); a
 *    member's bucket is its seeded hash mod 2^L, or mod 2^(L+1) below s.
 *    One more internal item, the anchor ("\xffWCA" + cid), names the key that
 *    owns the container, so a bucket found at a log head (eviction, crawler)
 *    leads back to its header. A change rewrites one bucket (about
 *    WC_C_LOAD members) and the small header: O(1) whatever the size.
 *
 * Growth is linear hashing: when count > WC_C_LOAD * buckets, the bucket at
 * the split pointer is split into itself and bucket s + 2^L (two bucket
 * writes), one split per insert at most, so the cost stays O(1) amortized
 * and no operation ever rehashes the whole container. Containers never
 * shrink while they exist (an emptied container is deleted): bucket numbers
 * are stable, members only ever move to a higher-numbered bucket, which is
 * what the HSCAN/SSCAN guarantee needs (cursor = bucket number: a member
 * present for the whole scan is met at least once, perhaps twice).
 * The hash seed is random per container (so clients cannot aim members at
 * one bucket) and kept by COPY, which then copies bucket for bucket.
 *
 * Readers on other lcores (lock-free, RCU) see a consistent container:
 *  - each bucket item carries a tag, the bucket count of the layout it was
 *    written for. The owner writes split buckets first and publishes the
 *    header (with the new layout) last, with release order; a reader that
 *    finds a bucket tagged newer than the header it holds knows a split is
 *    under way and retries (bounded: then it returns, passes its quiescent
 *    state, and tries again, so an owner waiting for a grace period is never
 *    waited on in turn);
 *  - whole-container reads (HGETALL, SMEMBERS, set algebra) take a snapshot
 *    walk (wc_c_snap): buckets 0, 1, 2 ... in order, reading the header again
 *    at the end to follow buckets added meanwhile. Members only move up, so
 *    none that stays present is missed; a bucket created during the walk is
 *    left out when one of its ancestors was read before the split that made
 *    it (its members were read there), so none is returned twice. Members
 *    written during the walk may or may not be seen (per-member atomicity,
 *    as for multi-key reads across partitions); a compact container is
 *    always read whole.
 *
 * Eviction and expiry as a whole:
 *  - the expiry lives on the header; an expired or deleted header makes the
 *    container's buckets and anchor orphans: unreachable (readers go through
 *    the header, scans skip internal types, the cid is never reused) and
 *    reclaimed without a client ever seeing them by the crawler and at the
 *    log heads (wc_c_part_state);
 *  - an internal item is kept or evicted by its header's access frequency
 *    (a container is as hot as its header, which reads touch); when the
 *    store evicts one (WC_UNLINK_EVICT), its header goes with it
 *    (wc_c_part_evicted: found through the anchor, only if the cid matches),
 *    so a client never sees a container with a member missing;
 *  - a write that finds its container gone meanwhile (making room may evict
 *    any part of it) starts over on the missing key, as if the eviction had
 *    come just before it.
 * DEL, UNLINK, FLUSHALL and overwrites are O(1): they drop the header. RENAME
 * keeps the cid (the header moves, the anchor is rewritten, the buckets stay);
 * COPY writes a new container (new cid, same seed and layout) bucket by
 * bucket. Key counts (DBSIZE, INFO keyspace) count headers only.
 *
 * Costs in the log: a bucketed container uses about 7 bytes per member more
 * than its data (a bucket item's header and key, amortized over ~8 members,
 * plus the index slot); each change writes one bucket and one header. *STORE
 * builds its destination member by member (wc_cbuild), each add rewriting
 * one bucket of the (pre-sized) destination.
 */
#ifndef WC_STORE_CONTAINER_H
#define WC_STORE_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "item.h"
#include "store.h"

#define WC_C_COMPACT_MAX   64u		/* members of a compact container */
#define WC_C_COMPACT_BYTES 2048u	/* bytes of its member list */
#define WC_C_LOAD          8u		/* mean members per bucket before a split */
#define WC_C_LEVEL_MIN     1u		/* a bucketed container starts with >= 2 buckets */

enum wc_cenc { WC_CENC_COMPACT = 1, WC_CENC_BUCKETS = 2 };

/*
 * Header flags (either encoding). WC_CF_INTSET: a set that has only ever
 * held integers (Redis's string2ll rules) and at most set-max-intset-entries
 * members, what Redis 7.0 keeps as an intset; cleared for good by the first
 * member that breaks either rule, as Redis converts an intset to a
 * hashtable and never back. It changes nothing in the layout: it is what
 * OBJECT ENCODING reports.
 */
#define WC_CF_INTSET 0x01u

/*
 * The node's encoding thresholds (CONFIG SET hash-max-listpack-entries,
 * hash-max-listpack-value, set-max-intset-entries), read by owners when a
 * container grows: a hash stays compact while it has at most hash_entries
 * members (and at most WC_C_COMPACT_MAX, within WC_C_COMPACT_BYTES) and no
 * field or value longer than hash_value bytes; past that it is bucketed
 * for good (shrinking never converts back). Sets stay compact up to the
 * store's own limits; set_int_entries only decides WC_CF_INTSET.
 */
struct wc_climits {
	uint32_t hash_entries;		/* default WC_C_COMPACT_MAX */
	uint32_t hash_value;		/* default 64 (Redis's) */
	uint32_t set_int_entries;	/* default 512 (Redis's) */
};

void wc_c_set_limits(const struct wc_climits *l);
void wc_c_get_limits(struct wc_climits *l);
/* Redis's string2ll: is this member an integer an intset could hold? */
bool wc_c_is_int(const uint8_t *p, uint64_t n);

/*
 * The bytes of a member name or value: contiguous, or copied by a callback.
 * A change compares and hashes them before it writes anything and copies
 * them into the new item after making room, which may move or reclaim other
 * items: bytes that live in an item carry both p (for before) and read
 * (which finds the item again, for the copy).
 */
struct wc_cbytes {
	const uint8_t *p;		/* contiguous, or NULL: use read */
	uint64_t len;
	void (*read)(const void *src, uint64_t off, void *dst, uint64_t n);
	const void *src;
};

static inline struct wc_cbytes wc_cbytes_of(const void *p, uint64_t len)
{
	struct wc_cbytes b = { .p = (const uint8_t *)p, .len = len };

	return b;
}

/* What a reader (or the owner) found in a container's key item. */
struct wc_chdr {
	uint8_t type;			/* WC_TYPE_HASH or WC_TYPE_SET */
	uint8_t enc;			/* enum wc_cenc */
	uint8_t level;			/* buckets: 2^level + split buckets */
	uint8_t flags;			/* WC_CF_* */
	uint32_t split, nb;
	uint64_t count;			/* members */
	uint64_t cid, seed;		/* buckets */
	const uint8_t *list;		/* compact: the member list */
	uint32_t list_len;
};

/* Parse a key item's value (type HASH or SET); false if it is not a container. */
bool wc_c_parse(uint8_t type, const uint8_t *v, uint64_t vlen, struct wc_chdr *h);

/* A list of members: a compact container's, or one bucket's. */
struct wc_clist {
	const uint8_t *p;
	uint32_t len, count;
	bool hash;			/* entries are name + value */
};

struct wc_cmember {
	const uint8_t *name, *val;	/* val: hashes only */
	uint32_t nlen, vlen;
};

/* The member at *pos (0 to start), advancing it; false at the end. */
bool wc_clist_next(const struct wc_clist *l, uint32_t *pos, struct wc_cmember *m);

enum wc_cres {
	WC_C_OK = 0,
	WC_C_ABSENT,		/* no such member (or key) */
	WC_C_RETRY,		/* caught the owner mid-change: return, pass a quiescent state, retry */
	WC_C_NOMEM,		/* the caller's allocator ran out */
};

/* ---- reads: any thread, inside an RCU read-side section ---- */

/* The member list of bucket b (compact: b == 0). strict: RETRY on a bucket newer than h. */
int wc_c_bucket(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_chdr *h, uint32_t b,
		bool strict, struct wc_clist *out);

/*
 * Bucket b of a bucketed container whatever the header says (a scan past
 * the header's buckets after a split it has not published yet); *tag: the
 * bucket count it was written for. WC_C_ABSENT when there is no such bucket.
 */
int wc_c_bucket_any(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_chdr *h,
		    uint32_t b, struct wc_clist *out, uint32_t *tag);

/* Find a member: WC_C_OK (m filled), WC_C_ABSENT or WC_C_RETRY. */
int wc_c_find(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_chdr *h,
	      const struct wc_cbytes *name, struct wc_cmember *m);

/* A random member of a non-empty container (nearly uniform): WC_C_OK or WC_C_RETRY. */
int wc_c_random(const struct wc_part *p, struct wc_ctx *ctx, const struct wc_chdr *h,
		uint64_t *rnd, struct wc_cmember *m);

/* A 64-bit pseudo-random number from a caller-kept state (xorshift64*). */
uint64_t wc_c_rand(uint64_t *state);

/* Memory for a snapshot (the caller's scratch): n bytes, 8-aligned, <= 48 KiB; NULL when out. */
typedef void *(*wc_c_alloc_fn)(void *actx, uint64_t n);

/* A consistent walk of one container (see the top of this file). */
struct wc_csnap_b;
struct wc_csnap {
	struct wc_chdr h;		/* the header at the end of the walk */
	uint64_t count;			/* members in the snapshot */
	uint32_t nb;			/* buckets walked */
	uint32_t nb_start;		/* buckets when the walk began */
	uint32_t max_bucket;		/* most members in one bucket */
	struct wc_csnap_b **chunks;	/* per bucket: its list (NULL list: left out) */
};

/*
 * Walk the container whose key item was parsed into h0 (key: to read the
 * header again). WC_C_OK, WC_C_ABSENT (it went away), WC_C_RETRY (it was
 * replaced meanwhile, again and again) or WC_C_NOMEM.
 */
int wc_c_snap(const struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
	      const struct wc_chdr *h0, wc_c_alloc_fn alloc, void *actx, struct wc_csnap *s);

struct wc_csnap_it {
	uint32_t b, pos;
};

bool wc_csnap_next(const struct wc_csnap *s, struct wc_csnap_it *it, struct wc_cmember *m);
bool wc_csnap_find(const struct wc_csnap *s, const struct wc_cbytes *name, struct wc_cmember *m);
/* The member list of snapshot bucket b (count 0 when left out). */
void wc_csnap_bucket(const struct wc_csnap *s, uint32_t b, struct wc_clist *out);

/* ---- writes: owner thread only ---- */

enum wc_cop { WC_COP_SET, WC_COP_SETNX, WC_COP_DEL };
enum wc_cout { WC_COUT_NONE, WC_COUT_ADDED, WC_COUT_UPDATED, WC_COUT_DELETED };

struct wc_cupd {
	uint8_t outcome;		/* enum wc_cout */
	bool key_removed;		/* the container emptied: the key is gone */
	bool evicted;			/* the container was evicted during the change */
	uint64_t count;			/* members afterwards */
};

/*
 * Set (or set if absent, or delete) one member of the container at key,
 * creating it if missing (type: WC_TYPE_HASH with a value, or WC_TYPE_SET).
 * The key must be missing or a container of that type (else WC_ERR_ARG).
 * Errors: WC_ERR_TOO_LARGE, WC_ERR_NOMEM (the container is as it was).
 * Counted in ctx's operations as one SET (WC_COP_DEL: one DELETE).
 */
enum wc_status wc_c_update(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			   uint64_t hash, uint8_t type, enum wc_cop op, const struct wc_cbytes *name,
			   const struct wc_cbytes *val, struct wc_cupd *res);

/*
 * Building a container member by member (SINTERSTORE and friends): compact
 * while it fits, then buckets that no reader can reach until wc_cb_publish
 * writes the header under key (replacing whatever the key held).
 */
struct wc_cbuild {
	struct wc_part *p;
	struct wc_ctx *ctx;
	const uint8_t *key;
	uint32_t klen;
	uint8_t type;
	bool bucketed, failed;
	uint8_t flags;			/* WC_CF_* of the result (callers may clear bits) */
	enum wc_status err;		/* why it failed */
	uint64_t expected, count;
	struct wc_chdr h;		/* the layout being built (bucketed) */
	uint32_t clen;			/* compact phase: list bytes in buf */
	uint8_t buf[WC_C_COMPACT_BYTES];
};

void wc_cb_begin(struct wc_cbuild *b, struct wc_part *p, struct wc_ctx *ctx, uint8_t type,
		 const void *key, uint32_t klen, uint64_t expected);
/* Add a member (known_new: the caller knows it is not there yet); *added if it was new. */
enum wc_status wc_cb_add(struct wc_cbuild *b, const struct wc_cbytes *name,
			 const struct wc_cbytes *val, bool known_new, bool *added);
/* Write the header (an empty build deletes the key); counted as one SET. */
enum wc_status wc_cb_publish(struct wc_cbuild *b, uint32_t exptime, uint32_t exp_ms);
void wc_cb_abort(struct wc_cbuild *b);

/* Is this key item a container with member buckets? */
bool wc_c_item_bucketed(const struct wc_item *it);

/*
 * Copy key src to dst in the same partition (any type; a bucketed container
 * gets a new cid, bucket for bucket), replacing dst. WC_NOT_FOUND when src
 * is missing or went away during the copy. Counted as one SET when src is there.
 */
enum wc_status wc_c_copy(struct wc_part *p, struct wc_ctx *ctx, const void *src, uint32_t slen,
			 const void *dst, uint32_t dlen);

/* Rename key src to dst (any type; a bucketed container keeps its cid and buckets). */
enum wc_status wc_c_rename(struct wc_part *p, struct wc_ctx *ctx, const void *src,
			   uint32_t slen, const void *dst, uint32_t dlen);

#endif
