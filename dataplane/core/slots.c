/*
 * slots.c - slot tables: building, cloning, publishing (see slots.h).
 */
#include <string.h>

#include <rte_malloc.h>

#include "core/slots.h"

struct wc_slot_table *wc_slot_table_default(unsigned nparts)
{
	struct wc_slot_table *t;

	if (nparts == 0 || nparts > WC_SLOT_PART_MASK)
		return NULL;
	t = rte_zmalloc("wc_slots", sizeof(*t), RTE_CACHE_LINE_SIZE);
	if (!t)
		return NULL;
	for (unsigned s = 0; s < WC_SLOTS; s++)
		t->part[s] = (uint16_t)((uint64_t)s * nparts / WC_SLOTS);
	t->epoch = 1;
	return t;
}

struct wc_slot_table *wc_slot_table_clone(const struct wc_slot_table *t)
{
	struct wc_slot_table *c = rte_malloc("wc_slots", sizeof(*c), RTE_CACHE_LINE_SIZE);

	if (c)
		memcpy(c, t, sizeof(*c));
	return c;
}

void wc_slot_table_free(struct wc_slot_table *t)
{
	rte_free(t);
}

void wc_slot_table_publish(struct wc_app *app, struct wc_slot_table *t)
{
	/* rcu_assign_pointer: a release store (the field is a pointer to const) */
	__atomic_store_n(&app->slot_part, (const uint16_t *)t->part, __ATOMIC_RELEASE);
}

void wc_slot_table_copy_nodes(struct wc_slot_table *dst, const struct wc_slot_table *src)
{
	memcpy(dst->node, src->node, sizeof(dst->node));
	memcpy(dst->mig, src->mig, sizeof(dst->mig));
	memcpy(dst->imp, src->imp, sizeof(dst->imp));
	dst->cluster_epoch = src->cluster_epoch;
	dst->remote = src->remote;
	dst->master = src->master;
	dst->read_replica = src->read_replica;
	dst->moving = src->moving;
	memcpy(dst->redirect, src->redirect, sizeof(dst->redirect));
}
