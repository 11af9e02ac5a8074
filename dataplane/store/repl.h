/*
 * repl.h - a partition's replication log: the contract between a master
 * partition's owner (the only writer) and its readers (replica links, any
 * thread, lock-free), and the applier a replica runs on its own partition.
 *
 * The log records each write's EFFECT in idempotent, Redis-command-shaped
 * form (enum wc_rop): applying a partition's entries in order, from any
 * offset at or before the point where a replica's copy was taken (a fuzzy
 * snapshot read while writes go on), makes the replica equal to the master.
 *  - SET key value flags abs-expiry-ms: every string write (memcached
 *    set/add/replace/cas/append/prepend/incr/decr, meta sets and md, Redis
 *    string writes) logs the RESULTING value, never the operation;
 *  - HSET/HDEL/SADD/SREM key member [value]: container member changes, at
 *    the container layer (container_write.c); a whole-container write
 *    (RESTORE, *STORE, COPY, RENAME's target, a migrated key) logs DEL, its
 *    members, then PEXPIREAT (bounded entries, streamable, and exactly what
 *    a real Redis replica can be sent);
 *  - DEL key: deletes, and every expiry and eviction the master carries out
 *    (a replica never expires or evicts on its own clock);
 *  - PEXPIREAT key abs-ms / PERSIST key; FLUSH (a delayed memcached flush
 *    when it takes effect);
 *  - RESYNC key: a string value too large for one entry (over half the
 *    ring) was written: a replica reading it must take a full sync.
 *
 * Ring: a power of two of bytes in memory from the partition's backend
 * (hugepages in the dataplane), 64-bit byte offsets that only grow; an entry starts at an
 * 8-byte aligned offset and may wrap around the ring's end. The owner moves
 * `head` (first retained offset) past the entries it is about to overwrite
 * and publishes it (release, then a fence) before writing bytes, and
 * publishes `tail` (release) after an entry is complete. A reader copies,
 * then re-reads head: when head passed its offset, the copy may be torn and
 * the answer is GONE. Each entry also carries its own offset and a 32-bit
 * check (XXH3) over header and payload, so a torn or stray copy is never
 * taken for an entry. The owner moves head a sixteenth of the ring ahead of
 * need, so that store and its fence come once per many entries.
 *
 * Off by default: a partition's `repl` pointer stays NULL until
 * wc_repl_enable (a replica attached), and every capture point costs one
 * predictable branch on it.
 */
#ifndef WC_STORE_REPL_H
#define WC_STORE_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "store.h"

/* Entry kinds (the effect, shaped like the Redis command a replica would run). */
enum wc_rop {
	WC_ROP_SET = 1,		/* key, a = value, flags, exp_ms (-1: none) */
	WC_ROP_DEL,		/* key */
	WC_ROP_PEXPIREAT,	/* key, exp_ms */
	WC_ROP_PERSIST,		/* key */
	WC_ROP_HSET,		/* key, a = field, b = value */
	WC_ROP_HDEL,		/* key, a = field */
	WC_ROP_SADD,		/* key, a = member */
	WC_ROP_SREM,		/* key, a = member */
	WC_ROP_FLUSH,		/* (no key) */
	WC_ROP_RESYNC,		/* key: an effect too large for the log; replicas full-sync */
	WC_ROP_MAX
};

const char *wc_rop_name(enum wc_rop op);

/* On-ring entry header (little endian, as the host), followed by key, a, b. */
struct wc_rent_hdr {
	uint32_t check;		/* wc_rent_check of everything after this field */
	uint32_t len;		/* header + payload bytes; the entry takes len rounded up to 8 */
	uint64_t off;		/* the entry's own log offset */
	uint8_t op;		/* enum wc_rop */
	uint8_t klen;
	uint16_t rsv;
	uint32_t flags;		/* SET: memcached client flags */
	int64_t exp_ms;		/* SET, PEXPIREAT: absolute Unix ms; -1 = none */
	uint32_t alen, blen;
};

_Static_assert(sizeof(struct wc_rent_hdr) == 40, "entry header is 40 bytes");

#define WC_RENT_ALIGN 8u
#define WC_REPL_MIN_BYTES (64u << 10)

/* A decoded entry; pointers into the reader's buffer. */
struct wc_rent {
	uint64_t off;		/* where it starts in the log */
	uint8_t op;
	uint8_t klen;
	uint32_t flags;
	int64_t exp_ms;
	const uint8_t *key, *a, *b;
	uint32_t alen, blen;
};

/* The ring; the owner writes, anyone reads. */
struct wc_rlog {
	uint64_t tail;		/* next entry's offset (release) */
	uint64_t entries;	/* entries written (owner; readers load relaxed) */
	uint64_t resyncs;	/* RESYNC markers written */
	uint8_t pad0[40];
	uint64_t head;		/* first retained entry's offset (release) */
	uint8_t pad1[56];
	uint64_t size;		/* ring bytes, a power of two */
	uint64_t max_entry;	/* largest entry (size / 2) */
	uint8_t *mem;
	uint64_t alloc_bytes;	/* what wc_repl_enable took from the backend (0: not its) */
};

/* Lay a ring over mem (size bytes): the largest power of two it holds (>= WC_REPL_MIN_BYTES). */
void wc_rlog_init(struct wc_rlog *rl, void *mem, uint64_t size);

/* A payload piece: contiguous bytes, or a reader (container member bytes, container.h). */
struct wc_rpiece {
	const void *p;
	uint64_t len;
	void (*read)(const void *src, uint64_t off, void *dst, uint64_t n);
	const void *src;
};

/* Owner: append one entry; a payload over max_entry becomes a RESYNC marker. */
void wc_rlog_put(struct wc_rlog *rl, uint8_t op, const void *key, uint32_t klen, uint32_t flags,
		 int64_t exp_ms, const struct wc_rpiece *a, const struct wc_rpiece *b);

enum wc_rread {
	WC_RREAD_OK = 0,	/* at least one entry copied */
	WC_RREAD_NOT_YET,	/* nothing written at or past the offset yet */
	WC_RREAD_GONE,		/* the offset fell out of the backlog: full sync needed */
	WC_RREAD_CORRUPT,	/* not an entry boundary, or an entry failed its check */
	WC_RREAD_SMALL,		/* the next entry does not fit in cap bytes */
};

/*
 * Any thread, lock-free: copy whole entries from offset *from into buf (at
 * most cap bytes), check them, and advance *from past them (*got: bytes).
 */
enum wc_rread wc_rlog_read(const struct wc_rlog *rl, uint64_t *from, void *buf, size_t cap,
			   size_t *got);

/* Decode the entry at *pos of what wc_rlog_read returned; false at the end. */
bool wc_rent_next(const void *buf, size_t got, size_t *pos, struct wc_rent *e);

/* Offsets a reader may ask for: [first, last) (last: the next entry's offset). */
static inline uint64_t wc_rlog_first(const struct wc_rlog *rl)
{
	return __atomic_load_n(&rl->head, __ATOMIC_ACQUIRE);
}

static inline uint64_t wc_rlog_last(const struct wc_rlog *rl)
{
	return __atomic_load_n(&rl->tail, __ATOMIC_ACQUIRE);
}

/* An entry's 32-bit check (XXH3, folded) over n bytes. */
uint32_t wc_rent_check(const void *p, size_t n);

/* ---- a partition's log ---- */

/*
 * Owner (or before any lcore runs): start logging into a ring of bytes
 * (rounded down to a power of two, at least 64 KiB) from the partition's
 * memory backend. Returns false when it cannot have the
 * memory; true at once when already on.
 */
bool wc_repl_enable(struct wc_part *p, uint64_t bytes);

/* The partition's log, or NULL while replication was never enabled. Any thread. */
const struct wc_rlog *wc_repl_log(const struct wc_part *p);

/* What INFO replication and the control plane's counters show. */
struct wc_repl_stats {
	bool enabled;
	uint64_t master_offset;		/* the next entry's offset (== backlog last) */
	uint64_t backlog_first;		/* oldest offset still readable */
	uint64_t backlog_size;		/* ring bytes */
	uint64_t entries, resyncs;
};

void wc_repl_get_stats(const struct wc_part *p, struct wc_repl_stats *out);

/*
 * Owner: make p a replica's partition, or a master's again. A replica keeps
 * keys whose expiry came (readers do not see them) until the master's DEL:
 * the master decides when a key expires, and an entry applied late may still
 * extend or remove an expiry that the master changed in time.
 */
void wc_repl_set_replica(struct wc_part *p, bool on);

/*
 * Replica side, on the owner of p (a replica partition): apply one entry through the public owner
 * API. Idempotent (a container write that meets a key of another type
 * replaces it: later entries settle that key). WC_OK, or the store's error
 * when it could not hold the result (e.g. WC_ERR_NOMEM); WC_ERR_ARG for a
 * RESYNC marker or an unknown op (the caller must full-sync).
 */
enum wc_status wc_repl_apply(struct wc_part *p, struct wc_ctx *ctx, const struct wc_rent *e);

#endif
