/*
 * test_mailbox.c - cross-partition writes: a requester thread sends writes
 * for a partition owned by another thread over the rte_ring mailbox, gets
 * every completion back with its status, and reads the results lock-free.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store_helpers.h"
#include "store/mailbox.h"

#define OWNER 0
#define REQUESTER 1
#define REQS 20000
#define POOL 64

struct shared {
	struct wc_mbox *mb;
	struct wc_part *part;	/* owned by OWNER */
	int stop;
};

static void *owner_main(void *arg)
{
	struct shared *sh = arg;
	struct wc_ctx ctx;

	rcu_register_thread();
	wc_ctx_init(&ctx);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		wc_mbox_serve(sh->mb, OWNER, &ctx, 64);
		wc_part_maintain(sh->part, &ctx, 16);
		rcu_quiescent_state();
	}
	/* drain what is left */
	while (wc_mbox_serve(sh->mb, OWNER, &ctx, 64))
		;
	rcu_unregister_thread();
	return NULL;
}

static void fill_store(struct wc_mbox_req *r, struct shared *sh, char *key, const char *val,
		       struct iovec *iov)
{
	memset(r, 0, sizeof(*r));
	r->part = sh->part;
	r->op = WC_MB_STORE;
	r->origin = REQUESTER;
	r->u.store.mode = WC_SET;
	r->u.store.key = key;
	r->u.store.klen = (uint32_t)strlen(key);
	r->u.store.hash = wc_hash(key, strlen(key));
	iov->iov_base = (void *)(uintptr_t)val;
	iov->iov_len = strlen(val);
	r->u.store.val = iov;
	r->u.store.val_cnt = 1;
}

static void requests_complete_across_threads(void **state)
{
	struct shared sh = { 0 };
	struct wc_mbox_req pool[POOL], *free_list[POOL], *done[POOL];
	struct iovec iovs[POOL];
	char keys[POOL][32], vals[POOL][32];
	unsigned nfree = POOL, sent = 0, completed = 0, ok = 0;
	struct wc_ctx ctx;
	pthread_t th;

	(void)state;
	sh.mb = wc_mbox_create(2, 128, &wc_mem_mmap);
	assert_non_null(sh.mb);
	assert_int_equal(wc_mbox_endpoints(sh.mb), 2);
	sh.part = test_part(16u << 20, 0, 10);
	wc_ctx_init(&ctx);
	for (unsigned i = 0; i < POOL; i++)
		free_list[i] = &pool[i];
	assert_int_equal(pthread_create(&th, NULL, owner_main, &sh), 0);

	while (completed < REQS) {
		while (nfree && sent < REQS) {
			struct wc_mbox_req *r = free_list[--nfree];
			unsigned slot = (unsigned)(r - pool);

			snprintf(keys[slot], sizeof(keys[slot]), "mb%u", sent);
			snprintf(vals[slot], sizeof(vals[slot]), "value%u", sent);
			fill_store(r, &sh, keys[slot], vals[slot], &iovs[slot]);
			r->cookie = (void *)(uintptr_t)sent;
			if (!wc_mbox_send(sh.mb, OWNER, r)) {
				free_list[nfree++] = r;
				break;
			}
			sent++;
		}
		unsigned n = wc_mbox_collect(sh.mb, REQUESTER, done, POOL);

		for (unsigned i = 0; i < n; i++) {
			struct wc_mbox_req *r = done[i];
			struct wc_view v;

			assert_int_equal(r->status, WC_OK);
			assert_true(r->res.cas != 0);
			/* the write is visible to the requester once completed */
			assert_true(wc_get(sh.part, &ctx, r->u.store.key, r->u.store.klen,
					   r->u.store.hash, WC_LOOKUP_CAS, &v));
			assert_int_equal(v.cas, r->res.cas);
			assert_int_equal(v.vlen, r->u.store.val[0].iov_len);
			assert_memory_equal(v.value, r->u.store.val[0].iov_base, v.vlen);
			ok++;
			free_list[nfree++] = r;
		}
		completed += n;
		rcu_quiescent_state();
	}
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	rcu_thread_offline();
	pthread_join(th, NULL);
	rcu_thread_online();
	assert_int_equal(ok, REQS);
	wc_part_destroy(sh.part);
	wc_mbox_destroy(sh.mb);
}

static void every_op_travels(void **state)
{
	struct shared sh = { 0 };
	struct wc_mbox_req r, *done[4];
	struct iovec iov;
	struct wc_ctx owner_ctx, ctx;
	char key[] = "ops";

	(void)state;
	sh.mb = wc_mbox_create(2, 8, &wc_mem_mmap);
	sh.part = test_part(4u << 20, 0, 10);
	wc_ctx_init(&owner_ctx);
	wc_ctx_init(&ctx);

	/* run each op through the rings, serving on this thread as the owner */
	struct { uint8_t op; unsigned opts; enum wc_status want; uint64_t value; } steps[] = {
		{ WC_MB_ARITH, 0, WC_NOT_FOUND, 0 },
		{ WC_MB_STORE, 0, WC_OK, 0 },
		{ WC_MB_ARITH, 0, WC_OK, 42 },
		{ WC_MB_ARITH, 1, WC_OK, 41 },	/* decr */
		{ WC_MB_TOUCH, 0, WC_OK, 0 },
		{ WC_MB_META_TOUCH, WC_TOUCH_SET_EXPTIME, WC_OK, 0 },
		{ WC_MB_MODIFY, WC_MOD_STALE, WC_OK, 0 },
		{ WC_MB_MODIFY, 0, WC_OK, 0 },
		{ WC_MB_MODIFY, 0, WC_NOT_FOUND, 0 },
		{ WC_MB_META_TOUCH, WC_TOUCH_VIVIFY, WC_OK, 0 },
		{ WC_MB_FLUSH, 0, WC_OK, 0 },
		{ 200, 0, WC_ERR_ARG, 0 },
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		fill_store(&r, &sh, key, "41", &iov);
		r.op = steps[i].op;
		switch (steps[i].op) {
		case WC_MB_ARITH:
			r.u.arith = (struct wc_arith_req){ .key = key, .klen = 3,
							   .hash = wc_hash(key, 3),
							   .decr = steps[i].opts == 1, .delta = 1 };
			break;
		case WC_MB_TOUCH:
		case WC_MB_META_TOUCH:
			r.u.touch = (struct wc_touch_req){ .key = key, .klen = 3,
							   .hash = wc_hash(key, 3),
							   .opts = steps[i].opts, .exptime = 100,
							   .vivify_exptime = 100 };
			break;
		case WC_MB_MODIFY:
			r.u.modify = (struct wc_modify_req){ .key = key, .klen = 3,
							     .hash = wc_hash(key, 3),
							     .opts = steps[i].opts };
			break;
		case WC_MB_FLUSH:
			r.u.flush_delay = 0;
			break;
		}
		assert_true(wc_mbox_send(sh.mb, OWNER, &r));
		assert_int_equal(wc_mbox_serve(sh.mb, OWNER, &owner_ctx, 16), 1);
		assert_int_equal(wc_mbox_collect(sh.mb, REQUESTER, done, 4), 1);
		assert_ptr_equal(done[0], &r);
		assert_int_equal(r.status, steps[i].want);
		if (steps[i].value)
			assert_int_equal(r.res.value, steps[i].value);
		if (steps[i].op == WC_MB_META_TOUCH && steps[i].opts == WC_TOUCH_VIVIFY)
			assert_true(r.res.created);
	}
	/* executing in place (the owner's own requests) gives the same result */
	fill_store(&r, &sh, key, "x", &iov);
	wc_mbox_execute(&r, &owner_ctx);
	assert_int_equal(r.status, WC_OK);
	wc_part_destroy(sh.part);
	wc_mbox_destroy(sh.mb);
}

static void backpressure_and_bad_endpoints(void **state)
{
	struct shared sh = { 0 };
	struct wc_mbox_req reqs[16], *done[16];
	struct iovec iov[16];
	unsigned sent = 0;

	(void)state;
	assert_null(wc_mbox_create(0, 8, &wc_mem_mmap));
	assert_null(wc_mbox_create(2, 100, &wc_mem_mmap));	/* not a power of two */
	sh.mb = wc_mbox_create(2, 8, &wc_mem_mmap);
	sh.part = NULL;
	for (unsigned i = 0; i < 16; i++) {
		fill_store(&reqs[i], &sh, "k", "v", &iov[i]);
		sent += wc_mbox_send(sh.mb, OWNER, &reqs[i]);
	}
	/* the ring holds 7: the sender is told to retry, nothing is lost */
	assert_int_equal(sent, 7);
	fill_store(&reqs[0], &sh, "k", "v", &iov[0]);
	assert_false(wc_mbox_send(sh.mb, 5, &reqs[0]));
	reqs[0].origin = 9;
	assert_false(wc_mbox_send(sh.mb, OWNER, &reqs[0]));
	assert_int_equal(wc_mbox_collect(sh.mb, REQUESTER, done, 16), 0);
	wc_mbox_destroy(sh.mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(requests_complete_across_threads),
		cmocka_unit_test(every_op_travels),
		cmocka_unit_test(backpressure_and_bad_endpoints),
	};

	return cmocka_run_group_tests(tests, rcu_setup, rcu_teardown);
}
