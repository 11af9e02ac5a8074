/*
 * slotkeys.h - the keys of a cluster slot: how many (COUNTKEYSINSLOT,
 * SETSLOT NODE's "still hold keys" check) and which (GETKEYSINSLOT), as
 * slot moves ask for them, slot after slot.
 *
 * Counting is O(1): every partition of a cluster node counts its keys per
 * slot (store/scan.h, wc_part_slot_keys); a slot's count is the sum over
 * the partitions. Like Redis's it includes keys that expired but were not
 * removed yet.
 *
 * Listing needs a walk of a partition's index (the store keeps no per-slot
 * list: that would cost every item a link and every write its upkeep). So
 * that a move of many slots does not walk the index once per call, each
 * lcore keeps a listing (struct rd_slotkeys): one walk of the partitions
 * holding the asked slot and the slots this node is migrating records the
 * keys of every slot of those partitions, per slot, in an arena of
 * RD_SLOTKEYS_ARENA bytes. The slots being migrated and the asked one may
 * fill all of it, the others half (a slot that does not fit is left out,
 * and asked for, walked for directly as before). Later calls answer from
 * the listing, checking each key against the store (a key gone since is
 * skipped and marked; one found expired is handed to its owner to remove).
 *
 * The count keeps the listing honest: when the keys still there fall short
 * of what the slot's count says (keys came after the walk, or the walk
 * missed one that moved between buckets, scan.h), the listing is made
 * again, once per call, before answering. A move's key set only shrinks
 * (new keys of a migrating slot go to the target through ASK), so one walk
 * per batch of slots is the usual cost.
 *
 * The walk goes in slices between which the calling session yields
 * (RD_BUSY); any session of the lcore waiting for the listing drives it on.
 */
#ifndef WC_REDIS_SLOTKEYS_H
#define WC_REDIS_SLOTKEYS_H

#include <stdbool.h>
#include <stdint.h>

struct wc_app;
struct wc_lcore;
struct rd_session;
struct rd_slot_walk;

#define RD_SLOTKEYS_ARENA (8u << 20)
/* The arena a listing made from now on gets (tests make it small). */
extern uint32_t rd_slotkeys_arena_bytes;

/* Keys linked in slot on this node, over all partitions. */
uint64_t rd_slot_key_count(const struct wc_app *app, unsigned slot);

/* The lcore's listing (rd_lcore_init, cluster mode only; NULL otherwise). */
int rd_slotkeys_lcore_init(struct wc_lcore *lc);
void rd_slotkeys_lcore_fini(struct wc_lcore *lc);

/*
 * GETKEYSINSLOT's work: up to w->max names of w->slot's keys into w
 * (rd_slot_walk_keep). true when w holds the answer; false: call again
 * later (the handler returns RD_BUSY).
 */
bool rd_slotkeys_collect(struct rd_session *s, struct rd_slot_walk *w);

/* What the listing did (tests read it). */
struct rd_slotkeys_stats {
	uint64_t walks;			/* listings made */
	uint64_t answered;		/* calls answered from a listing */
	uint64_t direct;		/* calls that walked for their slot alone */
	uint64_t left_out;		/* slots that did not fit a listing */
};

void rd_slotkeys_get_stats(const struct wc_lcore *lc, struct rd_slotkeys_stats *out);

#endif
