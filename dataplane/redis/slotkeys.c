/*
 * slotkeys.c - a slot's key count, and the lcore's listing of the keys of
 * the slots being moved (see slotkeys.h for the rules).
 *
 * The listing is an arena of entries (the key, its slot, a link to the
 * slot's previous entry) with a head per slot, and three slot bitmaps: the
 * slots the walk in progress records ("want"), those of them that may use
 * the whole arena ("firm": the asked slot and the migrating ones), and the
 * slots the finished walk recorded completely ("listed").
 */
#include <stdlib.h>
#include <string.h>

#include <urcu-qsbr.h>

#include "core/app.h"
#include "core/slots.h"
#include "redis/cluster.h"
#include "redis/keyev.h"
#include "redis/server.h"
#include "redis/slotkeys.h"
#include "store/item.h"
#include "store/scan.h"
#include "wirecache/slot.h"

#define CALLS_PER_RUN 256	/* scan calls of 64 buckets each, then yield */
#define BITMAP_WORDS (WC_SLOTS / 64)

struct sk_entry {
	uint32_t prev;		/* the slot's previous entry (arena offset + 1), 0 = none */
	uint16_t slot;
	uint8_t klen;
	uint8_t gone;		/* found missing: skipped by later calls */
	uint8_t key[];
};

uint32_t rd_slotkeys_arena_bytes = RD_SLOTKEYS_ARENA;

struct rd_slotkeys {
	uint8_t *arena;
	uint32_t cap, used;
	bool walking;
	uint16_t nparts, part_i;	/* partitions to walk, the one being walked */
	uint32_t cursor;
	uint16_t parts[WC_MAX_PARTS];
	struct rd_slotkeys_stats st;
	uint64_t want[BITMAP_WORDS];
	uint64_t firm[BITMAP_WORDS];
	uint64_t listed[BITMAP_WORDS];
	uint32_t head[WC_SLOTS];	/* newest entry of the slot (offset + 1), 0 = none */
};

enum { PH_LISTING = 0, PH_WALKING };

static bool bit(const uint64_t *map, unsigned slot)
{
	return (map[slot / 64] >> (slot % 64)) & 1u;
}

static void set_bit(uint64_t *map, unsigned slot)
{
	map[slot / 64] |= 1ull << (slot % 64);
}

static void clear_bit(uint64_t *map, unsigned slot)
{
	map[slot / 64] &= ~(1ull << (slot % 64));
}

uint64_t rd_slot_key_count(const struct wc_app *app, unsigned slot)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < app->nparts; i++)
		n += wc_part_slot_keys(app->parts[i], slot);
	return n;
}

int rd_slotkeys_lcore_init(struct wc_lcore *lc)
{
	struct rd_slotkeys *sk;

	lc->slotkeys = NULL;
	if (!lc->app->rd || !lc->app->rd->cluster)
		return 0;
	sk = calloc(1, sizeof(*sk));
	if (!sk)
		return -1;
	/* plain memory, touched only as far as a listing fills it */
	sk->cap = rd_slotkeys_arena_bytes;
	sk->arena = malloc(sk->cap);
	if (!sk->arena) {
		free(sk);
		return -1;
	}
	lc->slotkeys = sk;
	return 0;
}

void rd_slotkeys_lcore_fini(struct wc_lcore *lc)
{
	if (!lc->slotkeys)
		return;
	free(lc->slotkeys->arena);
	free(lc->slotkeys);
	lc->slotkeys = NULL;
}

void rd_slotkeys_get_stats(const struct wc_lcore *lc, struct rd_slotkeys_stats *out)
{
	if (lc->slotkeys)
		*out = lc->slotkeys->st;
	else
		memset(out, 0, sizeof(*out));
}

/* ---- making the listing ---- */

static void add_part(struct rd_slotkeys *sk, bool *part_in, uint16_t part)
{
	if (part_in[part])
		return;
	part_in[part] = true;
	sk->parts[sk->nparts++] = part;
}

/* Start a walk listing slot's partition and those of the slots migrating from here. */
static void listing_start(struct rd_session *s, struct rd_slotkeys *sk, unsigned slot)
{
	const struct wc_app *app = rd_lcore(s)->app;
	const struct rd_server *srv = rd_server(s);
	const struct rd_cluster_map *m = srv->cluster ? rd_cluster_map_get(srv) : NULL;
	const uint16_t *table = rcu_dereference(app->slot_part);
	bool part_in[WC_MAX_PARTS] = { false };

	memset(sk->firm, 0, sizeof(sk->firm));
	memset(sk->want, 0, sizeof(sk->want));
	memset(sk->listed, 0, sizeof(sk->listed));
	memset(sk->head, 0, sizeof(sk->head));
	sk->used = 0;
	sk->nparts = 0;
	set_bit(sk->firm, slot);
	add_part(sk, part_in, table[slot] & WC_SLOT_PART_MASK);
	for (unsigned i = 0; m && i < WC_SLOTS; i++) {
		if (m->migrating[i] == RD_NODE_NONE)
			continue;
		set_bit(sk->firm, i);
		add_part(sk, part_in, table[i] & WC_SLOT_PART_MASK);
	}
	for (unsigned i = 0; i < WC_SLOTS; i++)
		if (part_in[table[i] & WC_SLOT_PART_MASK])
			set_bit(sk->want, i);
	sk->part_i = 0;
	sk->cursor = 0;
	sk->walking = true;
	sk->st.walks++;
}

static bool wanted(const uint8_t *key, uint32_t klen, void *arg)
{
	const struct rd_slotkeys *sk = arg;

	return bit(sk->want, wc_key_slot(key, klen));
}

static void record(struct rd_slotkeys *sk, const struct wc_scan_key *k)
{
	uint16_t slot = wc_key_slot(k->key, k->klen);
	uint32_t need = (uint32_t)((sizeof(struct sk_entry) + k->klen + 3u) & ~3u);
	uint32_t room = bit(sk->firm, slot) ? sk->cap : sk->cap / 2;
	struct sk_entry *e;

	if (!bit(sk->want, slot))
		return;		/* (left out earlier in this walk) */
	if (sk->used + need > room) {
		/* the slot does not fit: none of its keys counts as listed */
		clear_bit(sk->want, slot);
		sk->st.left_out++;
		return;
	}
	e = (struct sk_entry *)(void *)(sk->arena + sk->used);
	e->prev = sk->head[slot];
	e->slot = slot;
	e->klen = k->klen;
	e->gone = 0;
	memcpy(e->key, k->key, k->klen);
	sk->head[slot] = sk->used + 1;
	sk->used += need;
}

/* One slice of the walk; true when the listing is made. */
static bool listing_advance(struct rd_session *s, struct rd_slotkeys *sk)
{
	const struct wc_app *app = rd_lcore(s)->app;
	struct wc_scan_key batch[64];

	for (unsigned calls = 0; calls < CALLS_PER_RUN && sk->part_i < sk->nparts; calls++) {
		const struct wc_part *p = app->parts[sk->parts[sk->part_i]];
		bool done = false;
		unsigned n = wc_part_scan_keys(p, &sk->cursor, 64, wanted, sk, batch, 64, &done);

		for (unsigned i = 0; i < n; i++)
			record(sk, &batch[i]);
		if (done) {
			sk->part_i++;
			sk->cursor = 0;
		}
	}
	if (sk->part_i < sk->nparts)
		return false;
	memcpy(sk->listed, sk->want, sizeof(sk->listed));
	sk->walking = false;
	return true;
}

/* ---- answering from it ---- */

/*
 * Keep the slot's keys still here (up to w->max). true when they are as
 * many as the slot's count says (or w->max of them): the listing was whole.
 */
/* Walk for the slot alone (the old way): the listing cannot serve it. */
static void walk_instead(struct rd_session *s, struct rd_slot_walk *w)
{
	unsigned slot = w->slot;
	uint64_t max = w->max;

	rd_slot_walk_start(s, w, slot, max);
	w->phase = PH_WALKING;
}

static bool answer(struct rd_session *s, struct rd_slotkeys *sk, struct rd_slot_walk *w)
{
	struct wc_lcore *lc = rd_lcore(s);
	const struct wc_app *app = lc->app;
	const struct wc_part *p = app->parts[rd_slot_partition(s, w->slot)];
	uint64_t count = rd_slot_key_count(app, w->slot), seen = 0;
	uint64_t need = count < w->max ? count : w->max;

	rd_slot_walk_forget(w);
	for (uint32_t at = sk->head[w->slot]; at && w->kept < w->max;) {
		struct sk_entry *e = (struct sk_entry *)(void *)(sk->arena + at - 1);
		uint64_t h;
		struct wc_view v;

		at = e->prev;
		if (e->gone)
			continue;
		h = wc_hash(e->key, e->klen);
		if (wc_get(p, rd_env(s)->ctx, e->key, e->klen, h,
			   WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v)) {
			if (v.type >= WC_TYPE_INTERNAL)
				continue;
			rd_slot_walk_keep(s, w, e->key, e->klen);
			seen++;
			continue;
		}
		e->gone = 1;
		if (wc_get(p, rd_env(s)->ctx, e->key, e->klen, h,
			   WC_LOOKUP_ANY_TYPE | WC_LOOKUP_ANY_TIME | WC_LOOKUP_NO_TOUCH |
			   WC_LOOKUP_NO_STATS, &v)) {
			/* expired, not removed yet: still counted until its owner removes it */
			rd_keyev_reap_expired(lc, p, e->key, e->klen);
			seen++;
		}
	}
	return seen >= need || w->kept >= w->max;
}

bool rd_slotkeys_collect(struct rd_session *s, struct rd_slot_walk *w)
{
	struct rd_slotkeys *sk = rd_lcore(s)->slotkeys;

	if (w->phase == PH_WALKING)
		return rd_slot_walk_slice(s, w);
	if (!sk) {
		walk_instead(s, w);
		return false;
	}
	if (sk->walking && !listing_advance(s, sk))
		return false;
	if (bit(sk->listed, w->slot)) {
		if (answer(s, sk, w) || w->relisted) {
			sk->st.answered++;
			return true;
		}
	} else if (w->relisted) {
		/* the listing could not hold this slot: walk for it alone */
		sk->st.direct++;
		walk_instead(s, w);
		return false;
	}
	listing_start(s, sk, w->slot);
	w->relisted = true;
	return false;
}
