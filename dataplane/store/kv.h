/*
 * kv.h - the owner's typed writes, for the Redis engine (redis/).
 *
 * The memcached operations in store.h each encode one memcached command.
 * Redis commands are many and varied, so its engine composes them from a few
 * primitives instead, all run on the partition's owner lcore (inline, or
 * through the mailbox's call op): find a live key of any type, write a new
 * version whose bytes a callback produces (from the old version when it
 * needs them), delete, and change an expiry with millisecond precision.
 * A key's type lives in the item's ext word (item.h); the value bytes of a
 * typed item are its container's encoding (container.h).
 *
 * Expiries here are absolute: a clock second and the millisecond within it
 * (clock.h converts from Unix milliseconds); 0 means never.
 */
#ifndef WC_STORE_KV_H
#define WC_STORE_KV_H

#include "store.h"

struct wc_item;

/* Where a key found by the owner is linked (valid until the next write). */
struct wc_kv_ref {
	struct wc_item *it;
	void *slot_b;			/* (the index slot, for the write that follows) */
	unsigned slot_i;
	bool slot_spilled;
};

/*
 * The live version of key, of any type, or NULL (expired and flushed ones
 * are unlinked on the way). A miss or hit is not counted (the caller does,
 * as Redis counts keyspace hits per command).
 */
struct wc_item *wc_kv_find(struct wc_part *p, struct wc_ctx *ctx, const void *key, uint32_t klen,
			   uint64_t hash);

/* Fill dst (vlen bytes) with the new value; old is the version being replaced, or NULL. */
typedef void (*wc_kv_fill_fn)(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg);

enum wc_put_opts {
	WC_PUT_KEEP_TTL = 1u << 0,	/* keep the old version's expiry (none if there is none) */
	WC_PUT_NEEDS_OLD = 1u << 1,	/* fill reads the old version: WC_NOT_FOUND if it vanished
					 * while room was made (the caller starts over) */
	WC_PUT_INTERNAL = 1u << 2,	/* a container part: not counted as a key */
};

struct wc_put_req {
	const void *key;
	uint32_t klen;
	uint64_t hash;
	uint8_t type;			/* enum wc_type */
	uint32_t flags;			/* memcached client flags (0 from Redis) */
	uint64_t vlen;
	wc_kv_fill_fn fill;
	void *arg;
	unsigned opts;
	uint32_t exptime, exp_ms;	/* without WC_PUT_KEEP_TTL */
};

/*
 * Write a new version of key (replacing whatever version is live).
 * WC_ERR_TOO_LARGE and WC_ERR_NOMEM drop the old version, as a refused
 * store does; WC_NOT_FOUND only with WC_PUT_NEEDS_OLD. Counted as a SET in
 * ctx's operations unless WC_PUT_INTERNAL.
 */
enum wc_status wc_kv_put(struct wc_part *p, struct wc_ctx *ctx, const struct wc_put_req *r,
			 struct wc_write_res *res);

/* Delete key (any type). WC_OK or WC_NOT_FOUND. */
enum wc_status wc_kv_delete(struct wc_part *p, struct wc_ctx *ctx, const void *key,
			    uint32_t klen, uint64_t hash);

/*
 * Give a live key a new expiry (exptime 0: none); one already due deletes
 * it (WC_OK, *gone set). WC_NOT_FOUND when there is no such key.
 */
enum wc_status wc_kv_expire(struct wc_part *p, struct wc_ctx *ctx, const void *key,
			    uint32_t klen, uint64_t hash, uint32_t exptime, uint32_t exp_ms,
			    bool *gone);

/*
 * Copy key src to key dst in the same partition: value, type and expiry
 * (replacing dst's version). WC_NOT_FOUND when src is missing (or vanished
 * while room was made; the caller may look again).
 */
enum wc_status wc_kv_copy(struct wc_part *p, struct wc_ctx *ctx, const void *src,
			  uint32_t src_len, const void *dst, uint32_t dst_len);

/*
 * The longest idle time an item shows (seconds): the crawler pins older
 * access times there so they never wrap (crawl.c).
 */
#define WC_IDLE_MAX 60000u

/*
 * Make a live key look unused for idle seconds (at most WC_IDLE_MAX), as if
 * last read that long ago: RESTORE IDLETIME (OBJECT IDLETIME starts there).
 * WC_NOT_FOUND when there is no such key.
 */
enum wc_status wc_kv_set_idle(struct wc_part *p, struct wc_ctx *ctx, const void *key,
			      uint32_t klen, uint64_t hash, uint64_t idle);

/* Expiry of an item: its clock second (0 = never) and millisecond. */
void wc_kv_expiry(const struct wc_item *it, uint32_t *exptime, uint32_t *exp_ms);

/*
 * Flush a partition now and unlink every flushed item before returning
 * (Redis FLUSHALL: the key count is 0 afterwards, not once the crawler ran).
 */
void wc_kv_flush_sync(struct wc_part *p, struct wc_ctx *ctx);

#endif
