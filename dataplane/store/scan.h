/*
 * scan.h - walking the keys of a partition from any thread, in slices
 * (a store addition for live slot migration, see core/migrate.c).
 *
 * The walk reads the hash index bucket by bucket with the lock-free
 * readers' rules: call it inside an RCU read-side section (an lcore between
 * quiescent states). Keys are copied out, so nothing the walk returns
 * depends on the item staying put.
 *
 * When the owner inserts into a full bucket it may move one entry to that
 * entry's second-choice bucket (index.c, displace), but only to a bucket
 * later in walk order: so a walk sees every key that stays linked for the
 * whole pass at least once (Redis's SCAN guarantee), and may see a key
 * twice (before and after such a move). The same holds when the owner
 * copies an item elsewhere in its logs (eviction's second chance): the key
 * is returned from whichever copy the slot held when read. A key returned
 * may be gone by the time the caller looks at it: callers look it up again.
 */
#ifndef WC_STORE_SCAN_H
#define WC_STORE_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct wc_scan_key {
	uint8_t klen;
	uint8_t key[WC_KEY_MAX];
};

/* Which keys the caller wants (e.g. those of the slots being moved). */
typedef bool (*wc_scan_want_fn)(const uint8_t *key, uint32_t klen, void *arg);

/*
 * Scan up to max_buckets buckets from *cursor, copying the keys of items
 * linked when read (see above) that want() accepts into out (max_keys >= 20:
 * a bucket is only started when both of its halves' worth fits). Returns the number of keys
 * written; *cursor advances, and *pass_done is set (and *cursor reset to 0)
 * when the last bucket was scanned.
 */
unsigned wc_part_scan_keys(const struct wc_part *p, uint32_t *cursor, unsigned max_buckets,
			   wc_scan_want_fn want, void *arg, struct wc_scan_key *out,
			   unsigned max_keys, bool *pass_done);

/*
 * Keys linked in a cluster slot (the partition counts them when created
 * with cfg.slot_keys; otherwise 0). Exact for the owner; any other thread
 * sees a recent value. Like Redis's per-slot count it includes keys that
 * have expired but were not removed yet (a read or the crawler removes them).
 */
uint32_t wc_part_slot_keys(const struct wc_part *p, unsigned slot);
bool wc_part_counts_slots(const struct wc_part *p);

/* How many times the owner moved an index entry between buckets (see above). */
uint64_t wc_part_index_moves(const struct wc_part *p);

/* Buckets in the partition's index (a full pass visits this many). */
uint32_t wc_part_index_buckets(const struct wc_part *p);

#endif
