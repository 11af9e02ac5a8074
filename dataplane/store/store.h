/*
 * store.h - the public API of one store partition.
 *
 * A partition is a hash index plus item logs in one memory budget. It has one
 * writer (the lcore that owns it) and any number of lock-free readers: reads
 * run under liburcu QSBR, so a struct wc_view stays valid until the reading
 * thread's next quiescent state. Writes (everything but get and the meta
 * state claims) must run on the owner; other lcores send them through a
 * mailbox (mailbox.h).
 *
 * Every thread that touches a partition brings a struct wc_ctx: its coarse
 * clock and its own operation counters, so no counter is shared between
 * cores.
 */
#ifndef WC_STORE_H
#define WC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "clock.h"
#include "mem.h"

#define WC_KEY_MAX            250u
#define WC_VALUE_MAX_DEFAULT  (1u << 20)
#define WC_VALUE_MAX_LIMIT    (128u << 20)
#define WC_PART_MEM_MIN       (256u << 10)
#define WC_PART_MEM_MAX       (8ull << 30)	/* index offsets are 31-bit words */

enum wc_status {
	WC_OK = 0,		/* stored / deleted / touched / found */
	WC_NOT_STORED,		/* add on a present key, replace/append on a missing one */
	WC_EXISTS,		/* cas: the item changed since the client read it */
	WC_NOT_FOUND,		/* no such key (or it expired) */
	WC_ERR_KEY,		/* key length not in 1..250 */
	WC_ERR_TOO_LARGE,	/* value over the limit, or item too big for the partition */
	WC_ERR_NON_NUMERIC,	/* incr/decr on a value that is not a decimal u64 */
	WC_ERR_ARG,		/* any other invalid argument */
	WC_ERR_NOMEM,		/* no room could be made (nothing evictable) */
	WC_STATUS_COUNT
};

const char *wc_status_name(enum wc_status s);

enum wc_op {
	WC_OP_GET, WC_OP_SET, WC_OP_ADD, WC_OP_REPLACE, WC_OP_APPEND, WC_OP_PREPEND,
	WC_OP_CAS, WC_OP_DELETE, WC_OP_INCR, WC_OP_DECR, WC_OP_TOUCH, WC_OP_GAT,
	WC_OP_FLUSH, WC_OP_MODIFY, WC_OP_META_TOUCH,
	WC_OP_COUNT
};

const char *wc_op_name(enum wc_op op);

/* Counters kept by one thread (one lcore): summed for reporting. */
struct wc_stats {
	uint64_t ops[WC_OP_COUNT];
	uint64_t get_hits, get_misses, get_expired, get_flushed;
	uint64_t touch_hits, touch_misses;
	uint64_t delete_hits, delete_misses;
	uint64_t incr_hits, incr_misses, decr_hits, decr_misses;
	uint64_t cas_hits, cas_misses, cas_badval;
	uint64_t refused_too_large, refused_nomem;
};

/*
 * Key events: what the store tells whoever listens for changes to keys
 * (keyspace notifications and client tracking, redis/keyev.h). The typed
 * writes of kv.h raise none: their callers (the Redis commands) name their
 * own events.
 */
enum wc_kev {
	/* a memcached write (store.h's operations below), on the owner */
	WC_KEV_NEW,		/* it created the key (before the write's own event) */
	WC_KEV_SET,		/* set, add, replace, cas; a meta set; md I or x; mg N's placeholder */
	WC_KEV_APPEND,		/* append, prepend (and their meta modes) */
	WC_KEV_DEL,		/* delete, md; a past exptime, or a refused store, dropped it */
	WC_KEV_EXPIRE,		/* touch, gat, mg T: a new exptime */
	WC_KEV_INCR,		/* incr, ma */
	WC_KEV_DECR,		/* decr, ma MD */
	/* the store itself, on the owner, whoever caused it */
	WC_KEV_EXPIRED,		/* a key (any type) that expired was removed */
	WC_KEV_EVICTED,		/* a key (any type) was evicted to make room */
	WC_KEV_FLUSH,		/* every key went: a delayed flush_all took effect (p set), or a
				 * flush command finished on every partition (p NULL) */
	/* a read, on any lcore */
	WC_KEV_MISS,		/* a counted lookup found nothing */
	WC_KEV_STALE,		/* a lookup found the key expired: its owner should remove it */
};

struct wc_part;
struct wc_ctx;

/* A key event: key (klen bytes) of partition p; NULL key for a flush. */
typedef void (*wc_kev_fn)(struct wc_ctx *ctx, const struct wc_part *p, enum wc_kev ev,
			  const void *key, uint32_t klen);

struct wc_ctx {
	struct wc_clock clock;
	struct wc_stats st;
	/*
	 * Run after a mailbox request executed, before its completion is
	 * posted (NULL: nothing): the lcore sends what the write told other
	 * lcores first (core/bus.h), so they hear it before the requester.
	 */
	void (*before_complete)(struct wc_ctx *ctx);
	/*
	 * Key events (enum wc_kev), NULL while nothing listens: then each
	 * place that could raise one costs a load and a branch. Changed by
	 * other threads at any time (read it with wc_kev_hook).
	 */
	wc_kev_fn keyev;
};

void wc_ctx_init(struct wc_ctx *ctx);

static inline wc_kev_fn wc_kev_hook(const struct wc_ctx *ctx)
{
	return __atomic_load_n(&ctx->keyev, __ATOMIC_RELAXED);
}

/* Raise a key event if anything listens. */
static inline void wc_kev(struct wc_ctx *ctx, const struct wc_part *p, enum wc_kev ev,
			  const void *key, uint32_t klen)
{
	wc_kev_fn fn = wc_kev_hook(ctx);

	if (__builtin_expect(fn != NULL, 0))
		fn(ctx, p, ev, key, klen);
}

/* Gauges and counters owned by the partition's writer. */
struct wc_part_stats {
	uint64_t items, bytes;		/* live items and their log bytes */
	uint64_t keys;			/* of which keys (not parts of a container) */
	uint64_t expiring;		/* keys with an expiry (Redis INFO keyspace "expires") */
	uint64_t limit_bytes;		/* the partition's hard memory limit */
	uint64_t log_bytes, index_bytes;	/* how the limit is split */
	uint64_t index_slots;
	uint64_t total_items;		/* items ever stored */
	uint64_t evictions;		/* live items dropped to make room */
	uint64_t evicted_unfetched;
	uint64_t index_evictions;	/* of which: both index buckets were full */
	uint64_t index_moves;		/* entries moved to their second bucket to make room */
	uint64_t expirations;		/* expired or flushed items removed */
	uint64_t reclaimed;		/* of which: found by the crawler, untouched */
	uint64_t relocations;		/* items copied forward by the eviction policy */
	uint64_t ghost_hits;		/* re-inserts recognised by the S3-FIFO ghost */
	uint64_t grace_waits;		/* writes that had to wait for an RCU grace period */
	uint64_t crawler_passes;	/* full laps of a log */
	uint64_t crawler_rests;		/* laps followed by a rest (crawl.c) */
	uint64_t crawler_visited;	/* item headers the crawler read */
	uint64_t orphans;		/* parts of deleted, expired or evicted containers reclaimed */
};

struct wc_part_cfg {
	uint64_t mem_bytes;		/* hard limit: index + item logs */
	uint32_t max_value;		/* default 1 MiB, at most 128 MiB */
	uint32_t item_size_hint;	/* expected mean item size, sizes the index */
	uint8_t small_pct;		/* S3-FIFO small queue share; 0 = CLOCK only */
	uint8_t id;			/* unique per node; part of every CAS */
	bool slot_keys;			/* count keys per cluster slot (scan.h, wc_part_slot_keys) */
};

void wc_part_cfg_default(struct wc_part_cfg *cfg);

struct wc_part;

/*
 * Create a partition. The calling thread must be a registered liburcu QSBR
 * thread (rcu_register_thread). On failure returns NULL and sets *err.
 */
struct wc_part *wc_part_create(const struct wc_part_cfg *cfg, const struct wc_mem_ops *mem,
			       enum wc_status *err);
/* Waits for pending RCU callbacks, then frees everything. Owner only. */
void wc_part_destroy(struct wc_part *p);

void wc_part_get_stats(const struct wc_part *p, struct wc_part_stats *out);

/*
 * How a partition's memory limit is split (plan.c): the index (whole
 * buckets), then both item logs in what is left (the small queue's share
 * first). wc_part_create uses exactly this; false for a config it refuses.
 */
struct wc_part_plan {
	uint64_t index_bytes;
	uint32_t nbuckets;
	uint64_t log_bytes;		/* both logs, a multiple of a cache line */
	uint64_t small_bytes;		/* of which the S3-FIFO small queue */
};

bool wc_part_plan(const struct wc_part_cfg *cfg, struct wc_part_plan *out);

/*
 * Where a partition's bytes are (footprint.c): a walk of the index and the
 * logs, owner only, not for the packet path. Every byte of limit_bytes is
 * in exactly one of: the items' payload, headers and padding; the index; a
 * log's cushion, its other free room, or its dead records; the rounding
 * left over by the split.
 */
struct wc_part_footprint {
	uint64_t limit_bytes;
	uint64_t items;			/* linked items (keys and container parts) */
	uint64_t payload_bytes;		/* their key and value bytes */
	uint64_t header_bytes;		/* their headers, optional words included */
	uint64_t pad_bytes;		/* their alignment padding */
	uint64_t index_bytes;
	uint64_t index_slots;
	uint64_t ghost_slots;		/* slots holding S3-FIFO ghosts */
	uint64_t cushion_bytes;		/* free log bytes kept for relocations */
	uint64_t free_bytes;		/* other free log bytes */
	uint64_t dead_bytes;		/* log bytes between head and tail not linked */
	uint64_t split_rest_bytes;	/* limit - index - logs */
};

void wc_part_footprint(const struct wc_part *p, struct wc_part_footprint *out);
const struct wc_part_cfg *wc_part_config(const struct wc_part *p);

/* The index hash of a key; callers compute it once and pass it along. */
uint64_t wc_hash(const void *key, size_t klen);

/* ---- reads: any thread, inside an RCU read-side section ---- */

/* What a lookup found. Valid until the reader's next quiescent state. */
struct wc_view {
	const struct wc_item *it;
	const uint8_t *key;
	const uint8_t *value;
	uint32_t klen, vlen;
	uint32_t flags;		/* client flags */
	uint32_t exptime;	/* clock second, 0 = never */
	uint16_t exp_ms;	/* millisecond of expiry within that second */
	uint8_t type;		/* enum wc_type (item.h); memcached sees only WC_TYPE_STRING */
	uint8_t state_before;	/* item state bits as the lookup found them */
	uint16_t idle_before;	/* seconds since last access, before this one */
	bool vivified;		/* an empty placeholder from a vivify-on-miss */
	uint64_t cas;
};

enum wc_lookup_flags {
	WC_LOOKUP_NO_TOUCH = 1u << 0,	/* do not bump access time, fetched bit or frequency */
	WC_LOOKUP_NO_STATS = 1u << 1,	/* internal lookups: keep hit/miss counters out */
	WC_LOOKUP_CAS = 1u << 2,	/* fill view.cas (gets, meta c) */
	WC_LOOKUP_ANY_TIME = 1u << 3,	/* return it even if expired (a reply after mg T-1) */
	WC_LOOKUP_ANY_TYPE = 1u << 4,	/* typed values too (Redis); else only strings are found */
	/*
	 * fill only what a memcached get/gets reply shows: view.it, key, klen,
	 * value, vlen, flags and (with WC_LOOKUP_CAS) cas; the other fields are
	 * left as they were
	 */
	WC_LOOKUP_REPLY_ONLY = 1u << 5,
};

bool wc_get(const struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
	    uint64_t hash, unsigned lflags, struct wc_view *out);

/* A burst of lookups, prefetching buckets and items across the burst. */
struct wc_get_req {
	const struct wc_part *part;
	const void *key;
	uint32_t klen;
	uint64_t hash;
	bool hit;		/* out */
	struct wc_view view;	/* out, when hit */
};

#define WC_GET_BURST_MAX 64
void wc_get_burst(struct wc_get_req *reqs, unsigned n, struct wc_ctx *ctx, unsigned lflags);

/*
 * Hints for lookups soon to come (a wc_get of each key, on this thread),
 * in wc_get_burst's first two stages: wc_prefetch_buckets prefetches the
 * index buckets of n keys; wc_prefetch_items, called a little later (when
 * those lines have had time to arrive: other work may go between), matches
 * their tags and prefetches the candidate items. They read the index only and change nothing: no counter,
 * no access time. Any thread.
 */
struct wc_key_hint {
	const struct wc_part *part;
	uint32_t klen;
	uint64_t hash;		/* wc_hash of the key */
};

void wc_prefetch_buckets(const struct wc_key_hint *keys, unsigned n);
void wc_prefetch_items(const struct wc_key_hint *keys, unsigned n);

/*
 * Claim the recache win token of a found item (meta W flag): true for
 * exactly one caller per item version. Any thread.
 */
bool wc_claim_win(const struct wc_part *p, const struct wc_view *v, const void *key,
		  uint64_t hash);

/*
 * ---- writes: owner thread only ----
 *
 * A write may have to wait for an RCU grace period, which passes the calling
 * thread through a quiescent state: views it obtained before a write call
 * are invalid after it. Build replies from a view before the next write.
 */

/* What a write produced (filled when it returns WC_OK). */
struct wc_write_res {
	uint64_t cas;		/* CAS of the item now stored */
	uint64_t value;		/* incr/decr: the new number */
	uint32_t vlen;		/* length of the value now stored (meta "s") */
	uint32_t exptime;	/* the item's exptime (clock second, 0 = never) */
	bool created;		/* a missing key was created (vivify) */
};

/* Copies len value bytes to dst, for values scattered over receive buffers. */
typedef void (*wc_copy_fn)(void *dst, uint64_t len, void *arg);

enum wc_store_mode {
	WC_SET, WC_ADD, WC_REPLACE, WC_APPEND, WC_PREPEND, WC_CAS,
};

/* append/prepend keep the item's flags and exptime, as memcached does */
enum wc_store_opts {
	WC_STORE_CHECK_CAS = 1u << 0,	/* any mode: only when cas_in matches (WC_CAS implies it) */
	WC_STORE_STALE_IF_OLDER = 1u << 1, /* an older cas_in stores but marks stale, keeping the
					    * TTL and the win token's state (meta ms I) */
	WC_STORE_EXPLICIT_CAS = 1u << 2, /* the new item gets new_cas (meta E) */
	WC_STORE_VIVIFY = 1u << 3,	/* append/prepend on a miss create the item (meta ms N) */
	WC_STORE_DROP_ON_REFUSE = 1u << 4, /* refused (too large, no memory): drop the old value
					    * whatever the mode (a plain set always does) */
	WC_STORE_OVERSIZE = 1u << 5,	/* the value is over the protocol's limit and was never
					 * read: refused as too large without a value */
};

struct wc_store_req {
	enum wc_store_mode mode;
	unsigned opts;
	const void *key;
	uint32_t klen;
	uint64_t hash;
	const struct iovec *val;	/* the value, possibly scattered, or ... */
	unsigned val_cnt;
	wc_copy_fn copy;		/* ... when set, this copies copy_len bytes */
	void *copy_arg;
	uint64_t copy_len;
	uint32_t flags;
	int64_t exptime;		/* as the client sent it */
	uint64_t cas_in;
	uint64_t new_cas;		/* with WC_STORE_EXPLICIT_CAS */
	int64_t vivify_exptime;		/* with WC_STORE_VIVIFY */
};

enum wc_status wc_store(struct wc_part *p, struct wc_ctx *ctx, const struct wc_store_req *r,
			struct wc_write_res *res);

/*
 * Delete, or with options change a present item in place of deleting it
 * (meta md): mark it stale (a new version with a new CAS whose win token is
 * available again), optionally with a new exptime, and/or drop its value.
 */
enum wc_modify_opts {
	WC_MOD_CHECK_CAS = 1u << 0,	/* only when cas_in matches, else WC_EXISTS */
	WC_MOD_STALE = 1u << 1,		/* md I */
	WC_MOD_SET_EXPTIME = 1u << 2,	/* md T (with I or x) */
	WC_MOD_CLEAR_VALUE = 1u << 3,	/* md x: keep the item with an empty value */
	WC_MOD_EXPLICIT_CAS = 1u << 4,	/* md E */
};

struct wc_modify_req {
	const void *key;
	uint32_t klen;
	uint64_t hash;
	unsigned opts;
	uint64_t cas_in, new_cas;
	int64_t exptime;
	uint32_t flags;			/* client flags of a cleared item (md F) */
};

enum wc_status wc_modify(struct wc_part *p, struct wc_ctx *ctx, const struct wc_modify_req *r,
			 struct wc_write_res *res);

/* Classic delete: wc_modify with no options (cas_in 0: unconditional). */
enum wc_status wc_delete(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			 uint64_t hash, uint64_t cas_in);

/* incr/decr and meta ma. The value is a decimal u64; decr floors at 0, incr wraps. */
enum wc_arith_opts {
	WC_ARITH_CHECK_CAS = 1u << 0,	/* ma C */
	WC_ARITH_EXPLICIT_CAS = 1u << 1, /* ma E */
	WC_ARITH_VIVIFY = 1u << 2,	/* ma N: a miss creates the item holding initial */
	WC_ARITH_SET_EXPTIME = 1u << 3,	/* ma T: new exptime on success */
};

struct wc_arith_req {
	const void *key;
	uint32_t klen;
	uint64_t hash;
	bool decr;
	uint64_t delta;
	unsigned opts;
	uint64_t cas_in, new_cas, initial;
	int64_t exptime, vivify_exptime;
};

enum wc_status wc_arith(struct wc_part *p, struct wc_ctx *ctx, const struct wc_arith_req *r,
			struct wc_write_res *res);

/* Classic touch: new exptime for a present key. */
enum wc_status wc_touch(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			uint64_t hash, int64_t exptime);

/*
 * The writes a meta get may make (mg T, N, E): touch on a hit, and on a miss
 * with WC_TOUCH_VIVIFY create an empty placeholder whose win token is
 * already handed out (res->created: the caller won). WC_NOT_FOUND on a plain
 * miss.
 */
enum wc_touch_opts {
	WC_TOUCH_SET_EXPTIME = 1u << 0,
	WC_TOUCH_VIVIFY = 1u << 1,
	WC_TOUCH_EXPLICIT_CAS = 1u << 2,	/* CAS of a vivified item */
};

struct wc_touch_req {
	const void *key;
	uint32_t klen;
	uint64_t hash;
	unsigned opts;
	int64_t exptime, vivify_exptime;
	uint64_t new_cas;
};

enum wc_status wc_touch_ex(struct wc_part *p, struct wc_ctx *ctx, const struct wc_touch_req *r,
			   struct wc_write_res *res);

/*
 * gat/gats: touch, then read. On WC_OK *out is filled like wc_get (counted as
 * a get hit); the view is only valid on this thread, until its next
 * quiescent state.
 */
enum wc_status wc_gat(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
		      uint64_t hash, int64_t exptime, struct wc_view *out);

/* flush_all: invalidate every item now (delay <= 0) or when delay (an exptime) comes. */
void wc_flush(struct wc_part *p, struct wc_ctx *ctx, int64_t delay);

/*
 * Background work for the owner's idle time: applies delayed flushes and
 * runs the expiry crawler over at most budget items (after a full lap of a
 * log it rests, unless work is due: crawl.c). Returns items visited.
 */
unsigned wc_part_maintain(struct wc_part *p, struct wc_ctx *ctx, unsigned budget);

#endif
