/*
 * migrate.h - live slot moves: changing which partition serves a range of
 * slots while traffic runs, with no key lost and none served stale.
 *
 * The store's rule is one writer per partition, so items cannot simply be
 * written into the new partition by whoever notices them. A move is a short
 * write pause for the moving slots only, driven by the control thread
 * (wc_migrator_step) with the copying and dropping done by the partitions'
 * own lcores (wc_migrate_lcore_work, once per poll loop):
 *
 *  1. FREEZING: publish a table where the moving slots keep their old
 *     partition but carry WC_SLOT_MOVING: reads still go to the old
 *     partition, writes go to the park endpoint (a mailbox endpoint no lcore
 *     serves), where they wait in order. flush_all requests for the
 *     partitions involved park too. Wait for a grace period: every lcore now
 *     routes with this table.
 *  2. DRAINING: writes routed before the switch may still sit in the old
 *     owners' mailbox rings; wait until those rings were consumed past a
 *     mark, then one more grace period: the old partition no longer changes
 *     for the moving slots.
 *  3. COPYING: the new partition's owner walks each old partition's index
 *     (store/scan.h) and copies the moving slots' items (value, flags,
 *     exptime, CAS, stale mark) into its own partition. Nothing else writes
 *     those keys now, so a copy can never overwrite a newer write. A walk is
 *     repeated until one ran with no index entry moved by the old owner.
 *  4. SWITCHING: publish the final table (new partition, no moving bit),
 *     restore flush routing, wait a grace period, then forward every parked
 *     request to its new owner in arrival order. A parked flush_all of an old
 *     partition first flushes the new one too (its copies came from there).
 *  5. DROPPING: after that grace period nobody reads the old partitions for
 *     those slots; their owners delete the old copies, again until a clean
 *     walk. Only then is the move DONE and the next may start.
 *
 * Reads never pause. Writes to moving slots pause for steps 1-3 (reported
 * as freeze_us); writes to other slots never do.
 */
#ifndef WC_CORE_MIGRATE_H
#define WC_CORE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/app.h"
#include "core/slots.h"
#include "wirecache/cpshm.h"

struct wc_migrator;

/*
 * The mover of app (at most one per process). app->mbox must have a park
 * endpoint (nworkers + 1 endpoints) and app->slot_part must come from
 * slots.c. Create it before the lcores are set up (wc_lcore_init takes the
 * flush routing from it) and destroy it after they stopped.
 */
struct wc_migrator *wc_migrator_create(struct wc_app *app);
void wc_migrator_destroy(struct wc_migrator *m);

/*
 * Start moving slots from..to (inclusive) to partition part. Returns the
 * move's id, or 0 with a reason in err (invalid range or partition, a move
 * already running).
 */
uint64_t wc_migrator_start(struct wc_migrator *m, unsigned from, unsigned to, unsigned part,
			   char *err, size_t errlen);

/* Advance the running move (control thread; may wait for grace periods). */
void wc_migrator_step(struct wc_migrator *m);
bool wc_migrator_busy(const struct wc_migrator *m);

/*
 * flush_all (delay as memcached's) on every partition, through each owner,
 * from the control thread; waits up to timeout_ms. Refused while a move runs.
 */
int wc_migrator_flush(struct wc_migrator *m, int64_t delay, unsigned timeout_ms, char *err,
		      size_t errlen);

/*
 * Publish a table whose slot -> node side (core/slots.h) is nodes's, the
 * partitions unchanged (a running move's target takes it too, so the switch
 * keeps it); the old table is freed after a grace period. Control thread.
 * -1 when out of memory (nothing changed).
 */
int wc_migrator_set_nodes(struct wc_migrator *m, const struct wc_slot_table *nodes);

/* For the publisher: the current or last move, totals, the table in force. */
const struct wc_cp_move_snap *wc_migrator_status(const struct wc_migrator *m);
void wc_migrator_totals(const struct wc_migrator *m, uint64_t *done, uint64_t *failed);
const struct wc_slot_table *wc_migrator_table(const struct wc_migrator *m);

/* Where flush_all sends each partition's flush (mc_env.part_owner). */
const unsigned *wc_migrate_flush_owners(const struct wc_app *app);

/*
 * Worker side, once per poll loop of worker idx (clock: the lcore's):
 * a slice of copying or dropping if a task is posted. Returns work done.
 */
unsigned wc_migrate_lcore_work(unsigned idx, const struct wc_clock *clock);

#endif
