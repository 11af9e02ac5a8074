/*
 * slots.h - a node's slot tables: slot -> partition, read by route() on
 * every request, and slot -> node, kept for the cluster (all 0 alone).
 *
 * A table is immutable once published. A change builds a new table and
 * swaps app->slot_part to it with rcu_assign_pointer; readers take it with
 * rcu_dereference once per request; the old table is freed after
 * synchronize_rcu. Only the control thread (core/cpif.c, through
 * core/migrate.c) publishes.
 *
 * A partition entry may carry WC_SLOT_MOVING (wirecache/cpshm.h) while the
 * slot's items move: reads still go to the partition named, writes park on
 * the control endpoint until the move switches over (see migrate.c). Code
 * that reads app->slot_part must mask with WC_SLOT_PART_MASK.
 */
#ifndef WC_CORE_SLOTS_H
#define WC_CORE_SLOTS_H

#include <stdint.h>

#include "core/app.h"
#include "wirecache/cpshm.h"

struct wc_slot_table {
	uint16_t part[WC_SLOTS];	/* first: app->slot_part points at it */
	uint16_t node[WC_SLOTS];
	uint64_t epoch;
};

/* Slots spread evenly over nparts partitions, in order; node 0 everywhere. */
struct wc_slot_table *wc_slot_table_default(unsigned nparts);
struct wc_slot_table *wc_slot_table_clone(const struct wc_slot_table *t);
void wc_slot_table_free(struct wc_slot_table *t);

/* The table a slot_part pointer made by this file belongs to. */
static inline struct wc_slot_table *wc_slot_table_of(const uint16_t *slot_part)
{
	return (struct wc_slot_table *)(uintptr_t)slot_part;
}

/* Make t the table route() uses (the caller frees the old one after a grace period). */
void wc_slot_table_publish(struct wc_app *app, struct wc_slot_table *t);

/* The endpoint writes to a moving slot park on: one past the workers. */
static inline unsigned wc_park_endpoint(const struct wc_app *app)
{
	return app->nworkers;
}

/*
 * Where the key hashed to slot lives, per the table in hand: reads go to
 * *part, writes to the endpoint *owner (the park endpoint while moving).
 */
static inline void wc_slot_route(const struct wc_app *app, const uint16_t *table, unsigned slot,
				 struct wc_part **part, unsigned *owner)
{
	uint16_t e = table[slot];
	unsigned idx = e & WC_SLOT_PART_MASK;

	*part = app->parts[idx];
	*owner = __builtin_expect((e & WC_SLOT_MOVING) != 0, 0) ? wc_park_endpoint(app)
								  : app->part_owner[idx];
}

#endif
