/*
 * test_cp_migrate.c - live slot moves (core/migrate.c) under concurrent
 * traffic: two worker threads own two partitions each and, like lcores,
 * serve their mailboxes, run the migration hook and announce quiescent
 * states, while writing versioned values (routed through the slot table
 * exactly as route() does: inline when they own the partition, else over the
 * mailbox, or parked while the slot moves) and reading any key. Meanwhile
 * the test thread moves slot ranges back and forth.
 *
 * Checked: no read ever returns a version older than one already
 * acknowledged (nothing served stale), no acknowledged key goes missing,
 * deleted keys stay deleted, every key ends in exactly the partition the
 * final table names (old copies dropped), values, flags, CAS and TTLs
 * survive the copy, bad moves are refused, and a control flush empties all.
 *
 * The migrator is one per process and the workers are threads: each test
 * gets them from setup() and teardown() takes them away whatever happened
 * (a failed assertion longjmps out with the workers running and perhaps a
 * move half done), so one failure does not take the next tests with it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <urcu-qsbr.h>

#include "core/migrate.h"
#include "core/slots.h"
#include "store/container.h"
#include "store/kv.h"
#include "store/mailbox.h"
#include "store_helpers.h"
#include "wirecache/compiler.h"

#define NW 2
#define NPARTS 4
#define NKEYS 3000		/* rewritten all the time */
#define NDEL 400		/* written once, deleted during the run */
#define POOL 32

struct op {
	struct wc_mbox_req req;		/* first: the mailbox hands this pointer back */
	unsigned key;
	uint32_t version;		/* 0: a delete */
	struct iovec iov;
	char kbuf[32], vbuf[32];
};

struct world {
	struct wc_app app;
	int stop;
	bool traffic;			/* workers write and read, or only serve */
	uint32_t acked[NKEYS + NDEL];	/* last acknowledged version (written by the key's worker) */
	uint8_t deleted[NKEYS + NDEL];	/* acknowledged deletes */
	uint8_t deleting[NKEYS + NDEL];	/* a delete was sent: a miss is fine from then on */
	uint64_t stale, lost, reads, writes, parked_sends;
	uint64_t deleted_meanwhile;	/* misses of keys whose delete went out during the read */
	unsigned lost_key;		/* 1 + the last key found missing, for the report */
	int abandon;			/* teardown after a failure: stop without draining */
};

static struct world W;

static int eal_up(void)
{
	static int done;
	char prefix[64];
	char *argv[] = { "test_cp_migrate", "--no-huge", "-m", "256", "--no-pci", "--no-telemetry",
			 "--log-level=*:error", prefix, NULL };

	if (done)
		return 0;
	snprintf(prefix, sizeof(prefix), "--file-prefix=wc_cpmig_%d", (int)getpid());
	if (rte_eal_init(8, argv) < 0)
		return -1;
	done = 1;
	return 0;
}

static void key_name(unsigned k, char *buf, size_t n)
{
	snprintf(buf, n, "key:%u", k);
}

static uint32_t parse_version(const struct wc_view *v)
{
	char tmp[32];
	unsigned k, ver;

	memcpy(tmp, v->value, v->vlen < 31 ? v->vlen : 31);
	tmp[v->vlen < 31 ? v->vlen : 31] = 0;
	return sscanf(tmp, "%u:%u", &k, &ver) == 2 ? ver : 0;
}

/* route() as lcore.c does it */
static void route_key(const char *key, struct wc_part **part, unsigned *owner)
{
	const uint16_t *tab = rcu_dereference(W.app.slot_part);

	wc_slot_route(&W.app, tab, wc_key_slot(key, strlen(key)), part, owner);
}

static void fill_op(struct op *o, unsigned key, uint32_t version)
{
	memset(&o->req, 0, sizeof(o->req));
	o->key = key;
	o->version = version;
	key_name(key, o->kbuf, sizeof(o->kbuf));
	if (version) {
		snprintf(o->vbuf, sizeof(o->vbuf), "%u:%u", key, version);
		o->iov = (struct iovec){ o->vbuf, strlen(o->vbuf) };
		o->req.op = WC_MB_STORE;
		o->req.u.store = (struct wc_store_req){
			.mode = WC_SET, .key = o->kbuf, .klen = (uint32_t)strlen(o->kbuf),
			.hash = wc_hash(o->kbuf, strlen(o->kbuf)), .val = &o->iov, .val_cnt = 1,
			.flags = key,
		};
	} else {
		o->req.op = WC_MB_MODIFY;
		o->req.u.modify = (struct wc_modify_req){
			.key = o->kbuf, .klen = (uint32_t)strlen(o->kbuf),
			.hash = wc_hash(o->kbuf, strlen(o->kbuf)),
		};
	}
}

static void acknowledge(const struct op *o)
{
	if (o->req.status != WC_OK)
		return;
	if (o->version)
		__atomic_store_n(&W.acked[o->key], o->version, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&W.deleted[o->key], 1, __ATOMIC_RELEASE);
}

struct worker {
	unsigned id;
	struct wc_ctx ctx;
	struct op ops[POOL];
	struct op *free_ops[POOL];
	unsigned nfree;
	uint32_t version[NKEYS + NDEL];
	bool busy_key[NKEYS + NDEL];	/* one write in flight per key keeps its order */
	unsigned next_del;
	uint64_t rng;
};

static unsigned rnd(struct worker *w, unsigned n)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return (unsigned)(w->rng % n);
}

/* Issue one write for key k (owned by this worker); false if it must wait. */
static bool issue(struct worker *w, unsigned k, bool del)
{
	struct wc_part *part;
	unsigned owner;
	struct op *o;

	if (w->busy_key[k] || w->nfree == 0)
		return false;
	o = w->free_ops[--w->nfree];
	fill_op(o, k, del ? 0 : w->version[k] + 1);
	if (del)
		__atomic_store_n(&W.deleting[k], 1, __ATOMIC_RELEASE);
	route_key(o->kbuf, &part, &owner);
	o->req.part = part;
	o->req.origin = (uint16_t)w->id;
	o->req.cookie = o;
	if (owner == w->id) {
		wc_mbox_execute(&o->req, &w->ctx);
		acknowledge(o);
		if (!del)
			w->version[k]++;
		w->free_ops[w->nfree++] = o;
		return true;
	}
	if (!wc_mbox_send(W.app.mbox, owner, &o->req)) {
		w->free_ops[w->nfree++] = o;
		return false;
	}
	if (owner == NW)
		__atomic_fetch_add(&W.parked_sends, 1, __ATOMIC_RELAXED);
	if (!del)
		w->version[k]++;
	w->busy_key[k] = true;
	return true;
}

static void read_one(struct worker *w)
{
	unsigned k = rnd(w, NKEYS + NDEL);
	char key[32];
	uint32_t floor = __atomic_load_n(&W.acked[k], __ATOMIC_ACQUIRE);
	uint8_t gone = __atomic_load_n(&W.deleted[k], __ATOMIC_ACQUIRE);
	uint8_t going = __atomic_load_n(&W.deleting[k], __ATOMIC_ACQUIRE);
	struct wc_part *part;
	unsigned owner;
	struct wc_view v;

	key_name(k, key, sizeof(key));
	route_key(key, &part, &owner);
	W.reads++;
	if (wc_get(part, &w->ctx, key, (uint32_t)strlen(key), wc_hash(key, strlen(key)),
		   WC_LOOKUP_NO_STATS, &v)) {
		if (gone || parse_version(&v) < floor)
			__atomic_fetch_add(&W.stale, 1, __ATOMIC_RELAXED);
	} else if (floor && !going) {
		/*
		 * A delete sent after the flags were read may have landed before
		 * the lookup: deleting[] is set before a delete goes out, so
		 * reading it again after the miss tells that case from a loss.
		 */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&W.deleting[k], __ATOMIC_ACQUIRE)) {
			__atomic_fetch_add(&W.lost, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&W.lost_key, k + 1, __ATOMIC_RELAXED);
		} else {
			__atomic_fetch_add(&W.deleted_meanwhile, 1, __ATOMIC_RELAXED);
		}
	}
}

static unsigned collect(struct worker *w)
{
	struct wc_mbox_req *done[32];
	unsigned n = wc_mbox_collect(W.app.mbox, w->id, done, 32);

	for (unsigned i = 0; i < n; i++) {
		struct op *o = done[i]->cookie;

		acknowledge(o);
		w->busy_key[o->key] = false;
		w->free_ops[w->nfree++] = o;
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	rcu_register_thread();
	wc_ctx_init(&w->ctx);
	while (!__atomic_load_n(&W.stop, __ATOMIC_ACQUIRE)) {
		wc_clock_tick(&w->ctx.clock);
		wc_mbox_serve(W.app.mbox, w->id, &w->ctx, 64);
		collect(w);
		wc_migrate_lcore_work(w->id, &w->ctx.clock);
		if (!W.traffic) {
			rcu_quiescent_state();
			continue;
		}
		for (int i = 0; i < 4; i++) {
			unsigned k = rnd(w, NKEYS / NW) * NW + w->id;

			if (issue(w, k, false))
				W.writes++;
		}
		/* now and then delete one of this worker's deletable keys */
		if (rnd(w, 64) == 0 && w->next_del < NDEL / NW) {
			if (issue(w, NKEYS + w->next_del * NW + w->id, true))
				w->next_del++;
		}
		for (int i = 0; i < 4; i++)
			read_one(w);
		rcu_quiescent_state();
	}
	/* finish what is in flight: the other worker keeps serving until both are done */
	while (w->nfree < POOL && !__atomic_load_n(&W.abandon, __ATOMIC_ACQUIRE)) {
		wc_mbox_serve(W.app.mbox, w->id, &w->ctx, 64);
		collect(w);
		rcu_quiescent_state();
	}
	for (int i = 0; i < 1000 && !__atomic_load_n(&W.abandon, __ATOMIC_ACQUIRE); i++) {
		wc_mbox_serve(W.app.mbox, w->id, &w->ctx, 64);
		rcu_quiescent_state();
		usleep(100);
	}
	rcu_unregister_thread();
	return NULL;
}

static void build_world(void)
{
	struct wc_app *app = &W.app;
	struct wc_slot_table *t;
	struct wc_ctx ctx;

	memset(&W, 0, sizeof(W));
	app->nworkers = NW;
	app->nparts = NPARTS;
	for (unsigned i = 0; i < NPARTS; i++) {
		struct wc_part_cfg cfg;
		enum wc_status err;

		wc_part_cfg_default(&cfg);
		cfg.mem_bytes = 8u << 20;
		cfg.id = (uint8_t)i;
		app->parts[i] = wc_part_create(&cfg, &wc_mem_mmap, &err);
		assert_non_null(app->parts[i]);
		app->part_owner[i] = i / 2;
	}
	/* the workers, the park endpoint (NW), and one for the test thread (NW + 1) */
	app->mbox = wc_mbox_create(NW + 2, 128, &wc_mem_mmap);
	assert_non_null(app->mbox);
	t = wc_slot_table_default(NPARTS);
	assert_non_null(t);
	app->slot_part = t->part;
	/* every key written once (version 1) before traffic starts */
	wc_ctx_init(&ctx);
	for (unsigned k = 0; k < NKEYS + NDEL; k++) {
		char key[32], val[32];
		struct wc_part *part;
		unsigned owner;

		key_name(k, key, sizeof(key));
		snprintf(val, sizeof(val), "%u:1", k);
		route_key(key, &part, &owner);
		assert_int_equal(store_mode(part, &ctx, WC_SET, key, val, strlen(val), k, 0, 0, NULL),
				 WC_OK);
		W.acked[k] = 1;
	}
}

static void free_world(void)
{
	for (unsigned i = 0; i < NPARTS; i++)
		wc_part_destroy(W.app.parts[i]);
	wc_mbox_destroy(W.app.mbox);
	wc_slot_table_free(wc_slot_table_of(W.app.slot_part));
}

/*
 * What a test holds: setup() builds the world, the migrator and the workers
 * (not yet running); start_workers()/stop_workers() run them, with this
 * thread offline for RCU meanwhile; teardown() undoes whatever is left.
 */
static struct fixture {
	struct wc_migrator *m;
	struct worker *w[NW];
	pthread_t th[NW];
	unsigned running;		/* worker threads started and not joined */
	bool offline;			/* this thread is RCU-offline */
	struct wc_mbox_req fl[2];	/* requests the test sends itself (workers write them) */
} F;

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	rcu_thread_online();
	build_world();
	F.m = wc_migrator_create(&W.app);
	if (!F.m) {
		print_error("setup: no migrator (one is left from an earlier test)\n");
		free_world();
		return -1;
	}
	for (unsigned i = 0; i < NW; i++) {
		F.w[i] = calloc(1, sizeof(*F.w[i]));
		assert_non_null(F.w[i]);
		F.w[i]->id = i;
		F.w[i]->rng = 0x9E3779B97F4A7C15ull * (i + 1);
		for (unsigned k = 0; k < NKEYS + NDEL; k++)
			F.w[i]->version[k] = 1;
		for (unsigned j = 0; j < POOL; j++)
			F.w[i]->free_ops[F.w[i]->nfree++] = &F.w[i]->ops[j];
	}
	return 0;
}

static void start_workers(void)
{
	rcu_thread_offline();
	F.offline = true;
	for (unsigned i = 0; i < NW; i++) {
		assert_int_equal(pthread_create(&F.th[i], NULL, worker_main, F.w[i]), 0);
		F.running++;
	}
}

static void stop_workers(void)
{
	__atomic_store_n(&W.stop, 1, __ATOMIC_RELEASE);
	for (; F.running > 0; F.running--)
		pthread_join(F.th[F.running - 1], NULL);
	if (F.offline) {
		rcu_thread_online();
		F.offline = false;
	}
}

static int teardown(void **state)
{
	(void)state;
	if (F.running) {
		/* a test that failed with a move under way: let it finish (bounded), so
		 * writes parked by it go on and the workers can drain; else they stop
		 * without draining */
		for (int i = 0; i < 200000 && F.m && wc_migrator_busy(F.m); i++) {
			wc_migrator_step(F.m);
			usleep(50);
		}
		if (F.m && wc_migrator_busy(F.m))
			__atomic_store_n(&W.abandon, 1, __ATOMIC_RELEASE);
	}
	stop_workers();
	if (F.m) {
		wc_migrator_destroy(F.m);
		free_world();
	}
	for (unsigned i = 0; i < NW; i++)
		free(F.w[i]);
	memset(&F, 0, sizeof(F));
	return 0;
}

/* Run one move to completion (the control thread's part). */
static const struct wc_cp_move_snap *move(struct wc_migrator *m, unsigned from, unsigned to,
					  unsigned part)
{
	char err[160];
	uint64_t id = wc_migrator_start(m, from, to, part, err, sizeof(err));

	if (!id)
		fail_msg("move %u-%u -> %u refused: %s", from, to, part, err);
	for (int i = 0; i < 200000 && wc_migrator_busy(m); i++) {
		wc_migrator_step(m);
		usleep(50);
	}
	assert_false(wc_migrator_busy(m));
	assert_int_equal(wc_migrator_status(m)->id, id);
	assert_int_equal(wc_migrator_status(m)->state, WC_MOVE_DONE);
	return wc_migrator_status(m);
}

static void moves_under_traffic(void **state)
{
	struct wc_migrator *m = F.m;
	const struct wc_cp_move_snap *st;
	static const unsigned plan[][3] = {
		{ 0, 4095, 3 }, { 4096, 12000, 0 }, { 0, 16383, 1 }, { 100, 200, 2 },
		{ 8192, 16383, 2 }, { 0, 8191, 3 }, { 0, 16383, 0 }, { 5000, 5000, 3 },
	};
	uint64_t copied = 0, dropped = 0;
	struct wc_ctx ctx;

	(void)state;
	/* flush_all is routed through the mover's copy of the owners */
	assert_ptr_not_equal(wc_migrate_flush_owners(&W.app), W.app.part_owner);
	assert_int_equal(wc_migrate_flush_owners(&W.app)[3], 1);
	W.traffic = true;
	start_workers();
	usleep(20000);
	for (unsigned i = 0; i < WC_ARRAY_LEN(plan); i++) {
		st = move(m, plan[i][0], plan[i][1], plan[i][2]);
		print_message("  move %u-%u -> %u: %u slots, %lu copied, %lu dropped, %lu parked, "
			      "writes paused %lu us\n", plan[i][0], plan[i][1], plan[i][2], st->slots,
			      (unsigned long)st->keys_copied, (unsigned long)st->keys_dropped,
			      (unsigned long)st->parked, (unsigned long)st->freeze_us);
		assert_int_equal(st->copy_failed, 0);
		assert_int_equal(st->keys_copied, st->keys_dropped);
		copied += st->keys_copied;
		dropped += st->keys_dropped;
		usleep(5000);
	}
	assert_true(copied > NKEYS);	/* the whole key set moved at least once */
	stop_workers();
	print_message("  %lu writes (%lu parked), %lu reads, %lu stale, %lu lost, %lu missed "
		      "while their delete went out\n",
		      (unsigned long)W.writes, (unsigned long)W.parked_sends,
		      (unsigned long)W.reads, (unsigned long)W.stale, (unsigned long)W.lost,
		      (unsigned long)W.deleted_meanwhile);
	if (W.lost)
		print_message("  last key found missing: %u (%s)\n", W.lost_key - 1,
			      W.lost_key - 1 >= NKEYS ? "a deletable key" : "never deleted");
	assert_int_equal(W.stale, 0);
	assert_int_equal(W.lost, 0);
	assert_true(W.parked_sends > 0);	/* some writes did meet a moving slot */

	/* every key where the table says, with its last version, and nowhere else */
	wc_ctx_init(&ctx);
	for (unsigned k = 0; k < NKEYS + NDEL; k++) {
		char key[32];
		struct wc_part *part;
		unsigned owner, copies = 0;
		struct wc_view v;

		key_name(k, key, sizeof(key));
		route_key(key, &part, &owner);
		for (unsigned p = 0; p < NPARTS; p++) {
			bool hit = wc_get(W.app.parts[p], &ctx, key, (uint32_t)strlen(key),
					  wc_hash(key, strlen(key)), WC_LOOKUP_NO_STATS, &v);

			if (!hit)
				continue;
			copies++;
			if (W.app.parts[p] != part)
				fail_msg("%s: a copy left in partition %u", key, p);
			if (parse_version(&v) != W.acked[k])
				fail_msg("%s: version %u, acknowledged %u", key, parse_version(&v),
					 W.acked[k]);
			assert_int_equal(v.flags, k);
		}
		assert_int_equal(copies, W.deleted[k] ? 0 : 1);
	}
}

/* Without traffic: what an item carries survives a move; bad moves are refused. */
static void move_keeps_item_and_refuses_nonsense(void **state)
{
	struct wc_migrator *m = F.m;
	struct wc_ctx ctx;
	struct wc_view v, v2;
	struct wc_part *part, *after;
	unsigned owner, slot;
	uint64_t cas;
	char err[160];
	const struct wc_cp_move_snap *st;

	(void)state;
	assert_null(wc_migrator_create(&W.app));	/* one per process */
	wc_ctx_init(&ctx);
	route_key("{tag}x", &part, &owner);
	assert_int_equal(store_mode(part, &ctx, WC_SET, "{tag}x", "hello", 5, 77, 1000, 0, &cas),
			 WC_OK);
	assert_true(get_str(part, &ctx, "{tag}x", &v));
	slot = wc_key_slot("{tag}x", 6);
	assert_int_equal(slot, wc_key_slot("tag", 3));

	assert_int_equal(wc_migrator_start(m, 10, 5, 1, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "invalid slot range"));
	assert_int_equal(wc_migrator_start(m, 0, WC_SLOTS, 1, err, sizeof(err)), 0);
	assert_int_equal(wc_migrator_start(m, 0, 1, NPARTS, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "no partition"));

	/* workers that only serve their mailboxes and run the hook */
	start_workers();
	{
		unsigned target = (unsigned)(part == W.app.parts[0] ? 3 : 0);

		st = move(m, slot, slot, target);
		assert_int_equal(st->slots, 1);
		assert_true(st->keys_copied >= 1);
		/* moving again to where it is changes nothing */
		st = move(m, slot, slot, target);
		assert_int_equal(st->slots, 0);
		assert_int_equal(wc_migrator_start(m, slot, slot, target, err, sizeof(err)) > 0, 1);
		assert_true(wc_migrator_busy(m) == false);
	}
	stop_workers();
	route_key("{tag}x", &after, &owner);
	assert_ptr_not_equal(after, part);
	assert_true(get_str(after, &ctx, "{tag}x", &v2));
	assert_int_equal(v2.vlen, 5);
	assert_memory_equal(v2.value, "hello", 5);
	assert_int_equal(v2.flags, 77);
	assert_int_equal(v2.cas, cas);			/* a client's gets/cas still works */
	assert_int_equal(v2.exptime, v.exptime);	/* same expiry second */
	assert_false(get_str(part, &ctx, "{tag}x", &v));	/* the old copy is gone */
}

/* wc_c_alloc_fn over one buffer (a test's snapshot) */
struct bump_arena {
	uint8_t *base;
	size_t used, cap;
};

static void *bump(void *arg, uint64_t n)
{
	struct bump_arena *a = arg;
	void *p;

	n = (n + 7) & ~(uint64_t)7;
	if (a->used + n > a->cap)
		return NULL;
	p = a->base + a->used;
	a->used += n;
	return p;
}

static void fill_v(uint8_t *dst, uint64_t vlen, const struct wc_item *old, void *arg)
{
	(void)old;
	memcpy(dst, arg, vlen);
}

/* Count a container's members through a snapshot; -1 if the key is not one. */
static long container_members(const struct wc_part *p, struct wc_ctx *ctx, const char *key,
			      uint8_t type, unsigned *found_mask)
{
	static uint8_t buf[4 << 20];
	struct bump_arena arena = { .base = buf, .cap = sizeof(buf) };
	struct wc_view v;
	struct wc_chdr h;
	struct wc_csnap snap;
	struct wc_csnap_it it = { 0 };
	struct wc_cmember m;
	long n = 0;

	if (!wc_get(p, ctx, key, (uint32_t)strlen(key), wc_hash(key, strlen(key)),
		    WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_STATS, &v) || v.type != type ||
	    !wc_c_parse(v.type, v.value, v.vlen, &h))
		return -1;
	if (wc_c_snap(p, ctx, key, (uint32_t)strlen(key), &h, bump, &arena, &snap) != WC_C_OK)
		return -1;
	while (wc_csnap_next(&snap, &it, &m)) {
		unsigned i;

		if (sscanf((const char *)m.name, "f%u", &i) == 1 && i < 512)
			found_mask[i / 32] |= 1u << (i % 32);
		n++;
	}
	return n;
}

/*
 * Hashes and sets (compact and bucketed) and a string with a millisecond
 * expiry move with their slot: the same members, type and expiry in the new
 * partition, nothing left in the old one.
 */
static void move_carries_hashes_sets_and_ms_expiry(void **state)
{
	struct wc_migrator *m = F.m;
	struct wc_ctx ctx;
	struct wc_part *part, *after;
	unsigned owner, slot = wc_key_slot("ty", 2), target;
	struct wc_view v;
	char name[16];
	unsigned mask[16];

	(void)state;
	wc_ctx_init(&ctx);
	ctx.clock.epoch = 1700000000;
	route_key("{ty}hash", &part, &owner);
	for (unsigned i = 0; i < 300; i++) {
		struct wc_cbytes f, val;
		struct wc_cupd res;

		snprintf(name, sizeof(name), "f%u", i);
		f = wc_cbytes_of(name, strlen(name));
		val = wc_cbytes_of("value", 5);
		assert_int_equal(wc_c_update(part, &ctx, "{ty}hash", 8, wc_hash("{ty}hash", 8),
					     WC_TYPE_HASH, WC_COP_SET, &f, &val, &res), WC_OK);
		if (i < 5)
			assert_int_equal(wc_c_update(part, &ctx, "{ty}set", 7, wc_hash("{ty}set", 7),
						     WC_TYPE_SET, WC_COP_SET, &f, NULL, &res), WC_OK);
	}
	{
		struct wc_put_req put = { .key = "{ty}px", .klen = 6, .hash = wc_hash("{ty}px", 6),
					  .type = WC_TYPE_STRING, .vlen = 3, .fill = fill_v,
					  .arg = "abc", .exptime = ctx.clock.now + 100, .exp_ms = 321 };

		assert_int_equal(wc_kv_put(part, &ctx, &put, NULL), WC_OK);
	}
	target = (unsigned)(part == W.app.parts[0] ? 3 : 0);
	start_workers();
	assert_true(move(m, slot, slot, target)->keys_copied >= 3);
	stop_workers();
	route_key("{ty}hash", &after, &owner);
	assert_ptr_equal(after, W.app.parts[target]);
	memset(mask, 0, sizeof(mask));
	assert_int_equal(container_members(after, &ctx, "{ty}hash", WC_TYPE_HASH, mask), 300);
	for (unsigned i = 0; i < 300; i++)
		assert_true(mask[i / 32] & (1u << (i % 32)));
	memset(mask, 0, sizeof(mask));
	assert_int_equal(container_members(after, &ctx, "{ty}set", WC_TYPE_SET, mask), 5);
	assert_true(wc_get(after, &ctx, "{ty}px", 6, wc_hash("{ty}px", 6),
			   WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_STATS, &v));
	assert_int_equal(v.exptime, ctx.clock.now + 100);
	assert_int_equal(v.exp_ms, 321);
	assert_memory_equal(v.value, "abc", 3);
	/* nothing of them left where they were */
	assert_int_equal(container_members(part, &ctx, "{ty}hash", WC_TYPE_HASH, mask), -1);
	assert_false(wc_get(part, &ctx, "{ty}px", 6, wc_hash("{ty}px", 6),
			    WC_LOOKUP_ANY_TYPE | WC_LOOKUP_NO_STATS, &v));
}

/* The control thread's flush goes through every partition's owner. */
static void control_flush_empties_all(void **state)
{
	struct wc_ctx ctx;
	char err[160];

	(void)state;
	start_workers();
	assert_int_equal(wc_migrator_flush(F.m, 0, 5000, err, sizeof(err)), 0);
	stop_workers();
	wc_ctx_init(&ctx);
	for (unsigned k = 0; k < NKEYS + NDEL; k++) {
		char key[32];
		struct wc_view v;

		key_name(k, key, sizeof(key));
		for (unsigned p = 0; p < NPARTS; p++)
			assert_false(get_str(W.app.parts[p], &ctx, key, &v));
	}
}

static int group_setup(void **state)
{
	(void)state;
	if (eal_up() != 0)
		return -1;
	rcu_register_thread();
	return 0;
}

/*
 * flush_all racing a move: the new partition was flushed before the copy
 * (its flush was sent before the freeze), the old one's flush parks. When
 * the parked flush goes on, the new partition is flushed again first, so
 * the copies made from the old partition do not outlive the flush_all.
 */
static void flush_all_racing_a_move(void **state)
{
	struct wc_migrator *m = F.m;
	struct wc_ctx ctx;
	struct wc_mbox_req *fl = F.fl, *done[4];
	const unsigned me = NW + 1;
	unsigned src, dst = 3, got = 0, slot;
	char err[160];
	const unsigned *flush_owner;

	(void)state;
	flush_owner = wc_migrate_flush_owners(&W.app);
	slot = wc_key_slot("key:1", 5);
	src = W.app.slot_part[slot];
	assert_int_not_equal(src, dst);
	start_workers();

	/* flush(dst) goes out before the freeze and runs */
	memset(F.fl, 0, sizeof(F.fl));
	fl[0] = (struct wc_mbox_req){ .part = W.app.parts[dst], .op = WC_MB_FLUSH,
				      .origin = (uint16_t)me };
	assert_true(wc_mbox_send(W.app.mbox, flush_owner[dst], &fl[0]));
	while (got < 1)
		got += wc_mbox_collect(W.app.mbox, me, done, 4);
	/* the whole source partition's slots move; flush(src) now parks */
	assert_true(wc_migrator_start(m, 0, WC_SLOTS - 1, dst, err, sizeof(err)) > 0);
	assert_int_equal(flush_owner[src], NW);
	assert_int_equal(flush_owner[dst], NW);
	fl[1] = (struct wc_mbox_req){ .part = W.app.parts[src], .op = WC_MB_FLUSH,
				      .origin = (uint16_t)me };
	assert_true(wc_mbox_send(W.app.mbox, flush_owner[src], &fl[1]));
	for (int i = 0; i < 200000 && wc_migrator_busy(m); i++) {
		wc_migrator_step(m);
		got += wc_mbox_collect(W.app.mbox, me, done, 4);
		if (wc_migrator_status(m)->state < WC_MOVE_SWITCHING)
			assert_int_equal(got, 1);	/* the parked flush waits for the switch */
		usleep(50);
	}
	assert_int_equal(wc_migrator_status(m)->state, WC_MOVE_DONE);
	assert_true(wc_migrator_status(m)->keys_copied > 0);
	assert_int_equal(flush_owner[src], W.app.part_owner[src]);
	while (got < 2)
		got += wc_mbox_collect(W.app.mbox, me, done, 4);
	assert_int_equal(fl[1].status, WC_OK);
	stop_workers();
	/* flush_all is complete: nothing written before it is visible anywhere */
	wc_ctx_init(&ctx);
	for (unsigned k = 0; k < NKEYS + NDEL; k++) {
		char key[32];
		struct wc_view v;

		key_name(k, key, sizeof(key));
		for (unsigned p = 0; p < NPARTS; p++)
			if (get_str(W.app.parts[p], &ctx, key, &v))
				fail_msg("%s survived flush_all in partition %u", key, p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(move_keeps_item_and_refuses_nonsense, setup,
						teardown),
		cmocka_unit_test_setup_teardown(moves_under_traffic, setup, teardown),
		cmocka_unit_test_setup_teardown(control_flush_empties_all, setup, teardown),
		cmocka_unit_test_setup_teardown(move_carries_hashes_sets_and_ms_expiry, setup,
						teardown),
		cmocka_unit_test_setup_teardown(flush_all_racing_a_move, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
