/*
 * migrate.c - live slot moves (the protocol is described in migrate.h).
 *
 * Control side: struct wc_migrator, run by the dataplane's control thread
 * (core/cpif.c), which publishes tables, waits for grace periods, watches
 * the mailbox rings drain and forwards parked requests.
 *
 * Worker side: a task posted to an lcore (copy into the partition it owns,
 * or drop from partitions it owns), worked on in slices from its poll loop
 * so the lcore keeps serving. A task pointer is retired with a grace period
 * before it is freed, so an lcore never looks at freed memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_pause.h>
#include <urcu-qsbr.h>

#include "core/migrate.h"
#include "store/container.h"
#include "store/item.h"
#include "store/kv.h"
#include "store/mailbox.h"
#include "store/scan.h"

#define SLICE_BUCKETS 256u
#define SLICE_KEYS 64u
#define MAX_PASSES 32u		/* walks per partition before giving up on a clean one */
#define PARK_MAX 4096u		/* parked requests handled in one switch */

enum task_kind { TASK_COPY = 1, TASK_DROP = 2 };

struct mig_task {
	enum task_kind kind;
	const uint64_t *moving;		/* bitmap of the moving slots */
	struct wc_part *dst;		/* copy: the new partition (this lcore owns it) */
	unsigned nsrc;
	struct wc_part *src[WC_MAX_PARTS];	/* copy: read from; drop: own, delete from */
	/* progress: the worker lcore only */
	unsigned cur;
	uint32_t cursor;
	uint64_t moves_at_start;
	unsigned passes_this;		/* walks of src[cur] */
	unsigned passes;		/* walks in all */
	bool unstable;			/* some partition never gave a clean walk */
	uint64_t keys, failed;
	struct wc_ctx ctx;		/* scratch: keeps clients' counters clean */
	uint8_t *val;			/* a value copied out of the old partition */
	size_t val_cap;
	bool again;			/* a container was caught mid-change: walk once more */
	/* a container's snapshot: 48 KiB blocks, freed after each key */
	void *blocks[1024];
	unsigned nblocks;
	uint32_t block_used;
	struct wc_scan_key keybuf[SLICE_KEYS];
	int done;			/* stored with release when finished */
};

enum phase { PH_IDLE, PH_FREEZE, PH_DRAIN, PH_COPY, PH_DROP };

struct wc_migrator {
	struct wc_app *app;
	unsigned park;			/* park endpoint */
	unsigned flush_owner[WC_MAX_PARTS];
	struct wc_slot_table *table;	/* the one published */
	struct wc_slot_table *target;	/* the table after the move */
	uint64_t moving[WC_SLOTS / 64];
	bool src_part[WC_MAX_PARTS];	/* partitions slots leave */
	unsigned dst;
	enum phase phase;
	bool drain_ep[WC_MAX_WORKERS];
	uint32_t drain_mark[WC_MAX_WORKERS];
	struct mig_task *tasks[WC_MAX_WORKERS];
	struct wc_cp_move_snap st;
	uint64_t next_id, done, failed;
	struct timespec t0, t_frozen, t_copy;
	struct wc_mbox_req ctl_req[WC_MAX_PARTS];	/* the control thread's own flushes */
	unsigned ctl_inflight;		/* of those, sent and not collected */
	struct wc_mbox_req *parked[PARK_MAX];
};

/* posted tasks, one per worker lcore; read by the lcores each poll loop */
static struct mig_task *posted[WC_MAX_WORKERS];
static struct wc_migrator *the_migrator;

/* ---- helpers ---- */

static uint64_t us_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (uint64_t)((b.tv_sec - a->tv_sec) * 1000000 + (b.tv_nsec - a->tv_nsec) / 1000);
}

static bool moving_slot(const uint64_t *bits, unsigned slot)
{
	return (bits[slot / 64] >> (slot % 64)) & 1u;
}

static bool want_moving_key(const uint8_t *key, uint32_t klen, void *arg)
{
	return moving_slot(arg, wc_key_slot(key, klen));
}

static int part_index(const struct wc_app *app, const struct wc_part *p)
{
	for (unsigned i = 0; i < app->nparts; i++)
		if (app->parts[i] == p)
			return (int)i;
	return -1;
}

/* ---- worker side ---- */

/* wc_c_alloc_fn for a container's snapshot (freed by snap_free after each key) */
static void *snap_alloc(void *arg, uint64_t n)
{
	struct mig_task *t = arg;
	enum { BLOCK = 48u << 10 };
	void *p;

	n = (n + 7) & ~(uint64_t)7;
	if (n > BLOCK)
		return NULL;
	if (!t->nblocks || t->block_used + n > BLOCK) {
		if (t->nblocks == sizeof(t->blocks) / sizeof(t->blocks[0]) ||
		    !(t->blocks[t->nblocks] = malloc(BLOCK)))
			return NULL;
		t->nblocks++;
		t->block_used = 0;
	}
	p = (uint8_t *)t->blocks[t->nblocks - 1] + t->block_used;
	t->block_used += (uint32_t)n;
	return p;
}

static void snap_free(struct mig_task *t)
{
	while (t->nblocks)
		free(t->blocks[--t->nblocks]);
	t->block_used = 0;
}

/* fill callback: t->val holds the bytes */
static void fill_val(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	(void)old;
	memcpy(dst, arg, vlen);
}

/*
 * A Redis hash or set, or a string with a millisecond expiry: written into
 * the new partition as the same type and expiry. A container with member
 * buckets is read as a consistent snapshot and rebuilt there member by
 * member (the keys of a moving slot take no writes meanwhile).
 */
static void copy_typed(struct mig_task *t, const struct wc_part *src, const struct wc_scan_key *k,
		       const struct wc_view *v)
{
	uint64_t h = wc_hash(k->key, k->klen);
	struct wc_chdr ch;
	enum wc_status st;

	if (v->type == WC_TYPE_STRING || !wc_c_parse(v->type, v->value, v->vlen, &ch) ||
	    ch.enc == WC_CENC_COMPACT) {
		struct wc_put_req put = { .key = k->key, .klen = k->klen, .hash = h, .type = v->type,
					  .flags = v->flags, .vlen = v->vlen, .fill = fill_val,
					  .arg = t->val, .exptime = v->exptime, .exp_ms = v->exp_ms };

		if (v->vlen > t->val_cap) {
			t->failed++;
			return;
		}
		memcpy(t->val, v->value, v->vlen);	/* (the view lasts until the write) */
		st = wc_kv_put(t->dst, &t->ctx, &put, NULL);
	} else {
		struct wc_csnap snap;
		struct wc_csnap_it it = { 0 };
		struct wc_cmember m;
		struct wc_cbuild b;
		uint32_t exptime = v->exptime, ms = v->exp_ms;
		int r = wc_c_snap(src, &t->ctx, k->key, k->klen, &ch, snap_alloc, t, &snap);

		if (r == WC_C_ABSENT) {
			snap_free(t);
			return;
		}
		if (r != WC_C_OK) {
			snap_free(t);
			t->again = r == WC_C_RETRY;
			if (r != WC_C_RETRY)
				t->failed++;
			return;
		}
		wc_cb_begin(&b, t->dst, &t->ctx, v->type, k->key, k->klen, snap.count);
		b.flags &= ch.flags;	/* a set that stopped being an intset stays so */
		st = WC_OK;
		while (st == WC_OK && wc_csnap_next(&snap, &it, &m)) {
			struct wc_cbytes name = wc_cbytes_of(m.name, m.nlen);
			struct wc_cbytes val = wc_cbytes_of(m.val, m.vlen);
			bool added;

			st = wc_cb_add(&b, &name, v->type == WC_TYPE_HASH ? &val : NULL, true, &added);
		}
		if (st == WC_OK)
			st = wc_cb_publish(&b, exptime, ms);
		else
			wc_cb_abort(&b);
		snap_free(t);
	}
	if (st != WC_OK) {
		t->failed++;
		return;
	}
	t->keys++;
}

/* Copy one key from an old partition into the new one (the worker owns dst). */
static void copy_key(struct mig_task *t, const struct wc_part *src, const struct wc_scan_key *k)
{
	uint64_t h = wc_hash(k->key, k->klen);
	struct wc_view v;
	struct iovec iov;
	struct wc_store_req r;
	enum wc_status st;

	if (wc_get(t->dst, &t->ctx, k->key, k->klen, h,
		   WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS | WC_LOOKUP_ANY_TYPE, &v))
		return;		/* copied by an earlier walk (nothing else writes it now) */
	if (!wc_get(src, &t->ctx, k->key, k->klen, h,
		    WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS | WC_LOOKUP_CAS | WC_LOOKUP_ANY_TYPE, &v))
		return;		/* expired, flushed or gone meanwhile */
	if (v.type >= WC_TYPE_INTERNAL)
		return;		/* a container's part: its container brings it */
	if (v.type != WC_TYPE_STRING || v.exp_ms) {
		copy_typed(t, src, k, &v);
		return;
	}
	if (v.vlen > t->val_cap) {
		t->failed++;
		return;
	}
	/* the view is good until a quiescent state, which a write may pass */
	memcpy(t->val, v.value, v.vlen);
	iov = (struct iovec){ .iov_base = t->val, .iov_len = v.vlen };
	r = (struct wc_store_req){
		.mode = WC_SET, .opts = WC_STORE_EXPLICIT_CAS, .key = k->key, .klen = k->klen,
		.hash = h, .val = &iov, .val_cnt = 1, .flags = v.flags,
		.exptime = v.exptime ? t->ctx.clock.epoch + (int64_t)v.exptime : 0,
		.new_cas = v.cas,
	};
	st = wc_store(t->dst, &t->ctx, &r, NULL);
	if (st != WC_OK) {
		t->failed++;
		return;
	}
	if (v.state_before & WC_STATE_STALE) {
		struct wc_modify_req mr = { .key = k->key, .klen = k->klen, .hash = h,
					    .opts = WC_MOD_STALE | WC_MOD_EXPLICIT_CAS,
					    .new_cas = v.cas };

		wc_modify(t->dst, &t->ctx, &mr, NULL);
	}
	t->keys++;
}

static void drop_key(struct mig_task *t, struct wc_part *own, const struct wc_scan_key *k)
{
	if (wc_delete(own, &t->ctx, k->key, k->klen, wc_hash(k->key, k->klen), 0) == WC_OK)
		t->keys++;
}

/* One slice of a task; true when the whole task is finished. */
static bool task_slice(struct mig_task *t)
{
	struct wc_part *p = t->src[t->cur];
	bool pass_done;
	unsigned n;

	if (t->cursor == 0 && t->passes_this == 0)
		t->moves_at_start = wc_part_index_moves(p);
	n = wc_part_scan_keys(p, &t->cursor, SLICE_BUCKETS, want_moving_key,
			      (void *)(uintptr_t)t->moving, t->keybuf, SLICE_KEYS, &pass_done);
	for (unsigned i = 0; i < n; i++) {
		if (t->kind == TASK_COPY)
			copy_key(t, p, &t->keybuf[i]);
		else
			drop_key(t, p, &t->keybuf[i]);
	}
	if (!pass_done)
		return false;
	t->passes++;
	t->passes_this++;
	if ((wc_part_index_moves(p) != t->moves_at_start || t->again) &&
	    t->passes_this < MAX_PASSES) {
		/* an entry moved, or a container was caught mid-change: walk again */
		t->moves_at_start = wc_part_index_moves(p);
		t->again = false;
		return false;
	}
	if (t->passes_this >= MAX_PASSES)
		t->unstable = true;
	t->cur++;
	t->cursor = 0;
	t->passes_this = 0;
	return t->cur >= t->nsrc;
}

unsigned wc_migrate_lcore_work(unsigned idx, const struct wc_clock *clock)
{
	struct mig_task *t;

	if (idx >= WC_MAX_WORKERS)
		return 0;
	t = __atomic_load_n(&posted[idx], __ATOMIC_ACQUIRE);
	if (__builtin_expect(t == NULL, 1) || __atomic_load_n(&t->done, __ATOMIC_RELAXED))
		return 0;
	t->ctx.clock = *clock;
	if (t->cur >= t->nsrc || task_slice(t))
		__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return 1;
}

/* ---- control side ---- */

const unsigned *wc_migrate_flush_owners(const struct wc_app *app)
{
	return the_migrator && the_migrator->app == app ? the_migrator->flush_owner
							: app->part_owner;
}

struct wc_migrator *wc_migrator_create(struct wc_app *app)
{
	struct wc_migrator *m;

	if (the_migrator || !app->mbox || wc_mbox_endpoints(app->mbox) <= app->nworkers ||
	    !app->slot_part)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->app = app;
	m->park = wc_park_endpoint(app);
	memcpy(m->flush_owner, app->part_owner, sizeof(m->flush_owner));
	m->table = wc_slot_table_of(app->slot_part);
	m->next_id = 1;
	the_migrator = m;
	return m;
}

void wc_migrator_destroy(struct wc_migrator *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < WC_MAX_WORKERS; i++) {
		__atomic_store_n(&posted[i], NULL, __ATOMIC_RELEASE);
		if (m->tasks[i]) {
			free(m->tasks[i]->val);
			free(m->tasks[i]);
		}
	}
	if (m->target)
		wc_slot_table_free(m->target);
	if (the_migrator == m)
		the_migrator = NULL;
	free(m);
}

bool wc_migrator_busy(const struct wc_migrator *m)
{
	return m->phase != PH_IDLE;
}

const struct wc_cp_move_snap *wc_migrator_status(const struct wc_migrator *m)
{
	return &m->st;
}

void wc_migrator_totals(const struct wc_migrator *m, uint64_t *done, uint64_t *failed)
{
	*done = m->done;
	*failed = m->failed;
}

const struct wc_slot_table *wc_migrator_table(const struct wc_migrator *m)
{
	return m->table;
}

/* Swap in t and free the one it replaces once no lcore can hold it. */
static void publish(struct wc_migrator *m, struct wc_slot_table *t)
{
	struct wc_slot_table *old = m->table;

	t->epoch = old->epoch + 1;
	wc_slot_table_publish(m->app, t);
	m->table = t;
	synchronize_rcu();
	wc_slot_table_free(old);
}

int wc_migrator_set_nodes(struct wc_migrator *m, const struct wc_slot_table *nodes)
{
	struct wc_slot_table *t = wc_slot_table_clone(m->table);

	if (!t)
		return -1;
	wc_slot_table_copy_nodes(t, nodes);
	if (m->target)
		wc_slot_table_copy_nodes(m->target, nodes);
	publish(m, t);
	return 0;
}

uint64_t wc_migrator_start(struct wc_migrator *m, unsigned from, unsigned to, unsigned part,
			   char *err, size_t errlen)
{
	struct wc_app *app = m->app;
	struct wc_slot_table *frozen;
	unsigned n = 0;

	if (m->phase != PH_IDLE) {
		snprintf(err, errlen, "busy: move %lu is still running", (unsigned long)m->st.id);
		return 0;
	}
	if (from > to || to >= WC_SLOTS) {
		snprintf(err, errlen, "invalid slot range %u-%u (slots are 0-%u, from <= to)", from,
			 to, WC_SLOTS - 1);
		return 0;
	}
	if (part >= app->nparts) {
		snprintf(err, errlen, "no partition %u (this node has 0-%u)", part,
			 app->nparts - 1);
		return 0;
	}
	frozen = wc_slot_table_clone(m->table);
	m->target = wc_slot_table_clone(m->table);
	if (!frozen || !m->target) {
		wc_slot_table_free(frozen);
		wc_slot_table_free(m->target);
		m->target = NULL;
		snprintf(err, errlen, "out of memory for slot tables");
		return 0;
	}
	memset(m->moving, 0, sizeof(m->moving));
	memset(m->src_part, 0, sizeof(m->src_part));
	for (unsigned s = from; s <= to; s++) {
		unsigned cur = m->table->part[s] & WC_SLOT_PART_MASK;

		m->target->part[s] = (uint16_t)part;
		if (cur == part)
			continue;
		frozen->part[s] = (uint16_t)(cur | WC_SLOT_MOVING);
		m->moving[s / 64] |= 1ull << (s % 64);
		m->src_part[cur] = true;
		n++;
	}
	memset(&m->st, 0, sizeof(m->st));
	m->st.id = m->next_id++;
	m->st.from = from;
	m->st.to = to;
	m->st.part = part;
	m->st.slots = n;
	m->st.started_unix_ms = (int64_t)time(NULL) * 1000;
	m->dst = part;
	clock_gettime(CLOCK_MONOTONIC, &m->t0);
	if (n == 0) {
		/* nothing changes partition */
		wc_slot_table_free(frozen);
		wc_slot_table_free(m->target);
		m->target = NULL;
		m->st.state = WC_MOVE_DONE;
		m->done++;
		return m->st.id;
	}
	/* 1. freeze: writes to the moving slots, and flushes of the partitions involved, park */
	m->st.state = WC_MOVE_FREEZING;
	for (unsigned i = 0; i < app->nparts; i++)
		if (m->src_part[i] || i == part)
			__atomic_store_n(&m->flush_owner[i], m->park, __ATOMIC_RELEASE);
	clock_gettime(CLOCK_MONOTONIC, &m->t_frozen);
	publish(m, frozen);
	m->phase = PH_FREEZE;
	return m->st.id;
}

static struct mig_task *new_task(struct wc_migrator *m, enum task_kind kind)
{
	struct mig_task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->kind = kind;
	t->moving = m->moving;
	wc_ctx_init(&t->ctx);
	if (kind == TASK_COPY) {
		t->val_cap = wc_part_config(m->app->parts[m->dst])->max_value;
		t->val = malloc(t->val_cap ? t->val_cap : 1);
		if (!t->val) {
			free(t);
			return NULL;
		}
	}
	return t;
}

static void post(struct wc_migrator *m, unsigned lcore, struct mig_task *t)
{
	m->tasks[lcore] = t;
	__atomic_store_n(&posted[lcore], t, __ATOMIC_RELEASE);
}

/* Have all posted tasks finished? Then add up what they did and unpost them. */
static bool tasks_finished(struct wc_migrator *m, uint64_t *keys, uint64_t *failed,
			   unsigned *passes, bool *unstable)
{
	for (unsigned i = 0; i < WC_MAX_WORKERS; i++)
		if (m->tasks[i] && !__atomic_load_n(&m->tasks[i]->done, __ATOMIC_ACQUIRE))
			return false;
	for (unsigned i = 0; i < WC_MAX_WORKERS; i++) {
		const struct mig_task *t = m->tasks[i];

		if (!t)
			continue;
		*keys += t->keys;
		*failed += t->failed;
		*passes += t->passes;
		*unstable |= t->unstable;
		__atomic_store_n(&posted[i], NULL, __ATOMIC_RELEASE);
	}
	return true;
}

/* Free unposted tasks: call after a grace period that followed tasks_finished. */
static void retire_tasks(struct wc_migrator *m)
{
	for (unsigned i = 0; i < WC_MAX_WORKERS; i++) {
		struct mig_task *t = m->tasks[i];

		if (!t)
			continue;
		free(t->val);
		free(t);
		m->tasks[i] = NULL;
	}
}

static void fail(struct wc_migrator *m, const char *why)
{
	snprintf(m->st.error, sizeof(m->st.error), "%s", why);
	m->st.state = WC_MOVE_FAILED;
	m->st.total_us = us_since(&m->t0);
	m->failed++;
	m->phase = PH_IDLE;
}

/* The key a parked write is for. */
static bool req_key(const struct wc_mbox_req *r, const void **key, uint32_t *klen)
{
	switch ((enum wc_mbox_op)r->op) {
	case WC_MB_STORE:
		*key = r->u.store.key;
		*klen = r->u.store.klen;
		return true;
	case WC_MB_MODIFY:
		*key = r->u.modify.key;
		*klen = r->u.modify.klen;
		return true;
	case WC_MB_ARITH:
		*key = r->u.arith.key;
		*klen = r->u.arith.klen;
		return true;
	case WC_MB_TOUCH:
	case WC_MB_META_TOUCH:
		*key = r->u.touch.key;
		*klen = r->u.touch.klen;
		return true;
	case WC_MB_CALL:
		*key = r->u.call.key;
		*klen = r->u.call.klen;
		return r->u.call.key != NULL;
	default:
		return false;
	}
}

/* Run one flush per partition in parts[] from the control endpoint and wait for them. */
static int control_flush(struct wc_migrator *m, const bool *parts, int64_t delay,
			 unsigned timeout_ms)
{
	struct wc_app *app = m->app;
	struct timespec t0;
	unsigned sent = 0, got = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* completions of a flush that timed out earlier: their requests are reused below */
	while (m->ctl_inflight) {
		struct wc_mbox_req *done[32];
		unsigned n = wc_mbox_collect(app->mbox, m->park, done, 32);

		m->ctl_inflight -= n;
		if (n == 0) {
			if (us_since(&t0) > (uint64_t)timeout_ms * 1000)
				return -1;
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
		}
	}
	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_mbox_req *r = &m->ctl_req[i];

		if (!parts[i])
			continue;
		memset(r, 0, sizeof(*r));
		r->part = app->parts[i];
		r->op = WC_MB_FLUSH;
		r->origin = (uint16_t)m->park;
		r->u.flush_delay = delay;
		while (!wc_mbox_send(app->mbox, app->part_owner[i], r)) {
			if (us_since(&t0) > (uint64_t)timeout_ms * 1000) {
				m->ctl_inflight = sent - got;
				return -1;
			}
			rte_pause();
		}
		sent++;
	}
	while (got < sent) {
		struct wc_mbox_req *done[32];

		got += wc_mbox_collect(app->mbox, m->park, done, 32);
		if (got < sent) {
			if (us_since(&t0) > (uint64_t)timeout_ms * 1000) {
				m->ctl_inflight = sent - got;	/* collected next time */
				return -1;
			}
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
		}
	}
	return 0;
}

/* Send every parked request on to the owner the current table names. */
static void forward_parked(struct wc_migrator *m)
{
	struct wc_app *app = m->app;
	unsigned n = 0, got;
	bool flush_src = false;
	int64_t flush_delay = 0;

	while (n < PARK_MAX && (got = wc_mbox_take(app->mbox, m->park, &m->parked[n],
						    PARK_MAX - n < 64 ? PARK_MAX - n : 64)) > 0)
		n += got;
	for (unsigned i = 0; i < n; i++) {
		const struct wc_mbox_req *r = m->parked[i];
		int idx;

		if (r->op != WC_MB_FLUSH || (idx = part_index(app, r->part)) < 0)
			continue;
		if (m->src_part[idx]) {
			flush_src = true;
			if (r->u.flush_delay > flush_delay)
				flush_delay = r->u.flush_delay;
		}
	}
	if (flush_src) {
		/* the new partition holds what a parked flush of an old one was meant to hit */
		bool only_dst[WC_MAX_PARTS] = { false };

		only_dst[m->dst] = true;
		control_flush(m, only_dst, flush_delay, 5000);
	}
	for (unsigned i = 0; i < n; i++) {
		struct wc_mbox_req *r = m->parked[i];
		const void *key;
		uint32_t klen;
		unsigned owner;
		int idx;

		if (req_key(r, &key, &klen)) {
			wc_slot_route(app, m->table->part, wc_key_slot(key, klen), &r->part, &owner);
		} else {
			idx = part_index(app, r->part);
			owner = app->part_owner[idx < 0 ? 0 : idx];
		}
		while (!wc_mbox_forward(app->mbox, owner, r))
			rte_pause();
		m->st.parked++;
	}
}

void wc_migrator_step(struct wc_migrator *m)
{
	struct wc_app *app = m->app;
	uint64_t keys = 0, failed = 0;
	unsigned passes = 0;
	bool unstable = false;

	switch (m->phase) {
	case PH_IDLE:
		return;
	case PH_FREEZE:
		/* 2. every lcore routes with the frozen table: mark the old owners' rings */
		m->st.state = WC_MOVE_DRAINING;
		memset(m->drain_ep, 0, sizeof(m->drain_ep));
		for (unsigned i = 0; i < app->nparts; i++) {
			if (!m->src_part[i] && i != m->dst)
				continue;
			m->drain_ep[app->part_owner[i]] = true;
			m->drain_mark[app->part_owner[i]] = wc_mbox_in_mark(app->mbox,
									    app->part_owner[i]);
		}
		m->phase = PH_DRAIN;
		return;
	case PH_DRAIN:
		for (unsigned w = 0; w < app->nworkers; w++)
			if (m->drain_ep[w] && !wc_mbox_in_consumed(app->mbox, w, m->drain_mark[w]))
				return;
		synchronize_rcu();	/* what they dequeued has run */
		/* 3. copy: the new partition's owner walks the old partitions */
		{
			struct mig_task *t = new_task(m, TASK_COPY);

			if (!t) {
				/* undo: the old table without the moving bits, writes go on */
				struct wc_slot_table *back = wc_slot_table_clone(m->table);

				if (back) {
					for (unsigned s = 0; s < WC_SLOTS; s++)
						back->part[s] &= WC_SLOT_PART_MASK;
					publish(m, back);
				}
				memcpy(m->flush_owner, app->part_owner, sizeof(m->flush_owner));
				synchronize_rcu();
				forward_parked(m);
				wc_slot_table_free(m->target);
				m->target = NULL;
				fail(m, "out of memory for the copy task");
				return;
			}
			t->dst = app->parts[m->dst];
			for (unsigned i = 0; i < app->nparts; i++)
				if (m->src_part[i])
					t->src[t->nsrc++] = app->parts[i];
			clock_gettime(CLOCK_MONOTONIC, &m->t_copy);
			m->st.state = WC_MOVE_COPYING;
			post(m, app->part_owner[m->dst], t);
		}
		m->phase = PH_COPY;
		return;
	case PH_COPY:
		if (!tasks_finished(m, &keys, &failed, &passes, &unstable))
			return;
		m->st.keys_copied = keys;
		m->st.copy_failed = failed;
		m->st.copy_passes = passes;
		m->st.copy_us = us_since(&m->t_copy);
		/* 4. switch: the final table, flush routing back, parked writes on */
		m->st.state = WC_MOVE_SWITCHING;
		{
			/*
			 * Parked writes may go on as soon as the final table is out: a
			 * read that still routes with the frozen one started before it,
			 * so it may return what was there before such a write.
			 */
			struct wc_slot_table *t = m->target, *frozen = m->table;

			m->target = NULL;
			t->epoch = frozen->epoch + 1;
			wc_slot_table_publish(app, t);
			m->table = t;
			for (unsigned i = 0; i < app->nparts; i++)
				__atomic_store_n(&m->flush_owner[i], app->part_owner[i],
						 __ATOMIC_RELEASE);
			forward_parked(m);
			m->st.freeze_us = us_since(&m->t_frozen);
			synchronize_rcu();
			wc_slot_table_free(frozen);
			retire_tasks(m);
			forward_parked(m);	/* parked by lcores that had not seen it yet */
		}
		if (unstable)
			snprintf(m->st.error, sizeof(m->st.error),
				 "warning: an old partition's index kept changing during the copy");
		/* 5. drop: each old owner deletes its copies */
		m->st.state = WC_MOVE_DROPPING;
		for (unsigned i = 0; i < app->nparts; i++) {
			unsigned w = app->part_owner[i];
			struct mig_task *t;

			if (!m->src_part[i])
				continue;
			if (!m->tasks[w]) {
				if (!(m->tasks[w] = new_task(m, TASK_DROP))) {
					fail(m, "out of memory for a drop task");
					return;
				}
			}
			t = m->tasks[w];
			t->src[t->nsrc++] = app->parts[i];
		}
		for (unsigned w = 0; w < WC_MAX_WORKERS; w++)
			if (m->tasks[w])
				post(m, w, m->tasks[w]);
		m->phase = PH_DROP;
		return;
	case PH_DROP:
		if (!tasks_finished(m, &keys, &failed, &passes, &unstable))
			return;
		m->st.keys_dropped = keys;
		m->st.drop_passes = passes;
		synchronize_rcu();
		retire_tasks(m);
		/* stragglers parked by lcores that had not seen the switch yet */
		forward_parked(m);
		m->st.state = WC_MOVE_DONE;
		m->st.total_us = us_since(&m->t0);
		m->done++;
		m->phase = PH_IDLE;
		return;
	}
}

int wc_migrator_flush(struct wc_migrator *m, int64_t delay, unsigned timeout_ms, char *err,
		      size_t errlen)
{
	bool all[WC_MAX_PARTS];

	if (m->phase != PH_IDLE) {
		snprintf(err, errlen, "busy: slot move %lu is running", (unsigned long)m->st.id);
		return -1;
	}
	for (unsigned i = 0; i < WC_MAX_PARTS; i++)
		all[i] = i < m->app->nparts;
	if (control_flush(m, all, delay, timeout_ms) != 0) {
		snprintf(err, errlen, "timed out waiting for the partitions' owners");
		return -1;
	}
	return 0;
}
