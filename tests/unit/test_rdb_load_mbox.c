/*
 * test_rdb_load_mbox.c - the RDB loader (redis/rdbload.h) with a real
 * mailbox: the NIC-less harness plus a second worker lcore owning a second
 * partition, the loader on its own thread sending batches to both owners on
 * its endpoint (one past the park endpoint), the owners served by hand from
 * the test's thread. A start-up load (rd_rdb_load_file) holds the node in
 * "loading": GET and PING answer -LOADING, INFO persistence shows loading:1
 * and the loading_* fields, and once the owners have served every batch the
 * keys are there, on both partitions (rdb_last_load_keys_loaded). A
 * runtime load (rd_rdb_load_start, the control socket's SNAPLOAD) runs
 * while clients are served, its state told by SNAPLOAD STATUS; a second one
 * meanwhile is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>

#include "dp_tcpclient.h"
#include "rdb_build.h"
#include "redis/rdbload.h"
#include "store/mailbox.h"
#include "wirecache/slot.h"

#define NKEYS 3000

static struct dp_harness h;
static struct wc_lcore *lc1;
static uint8_t rbuf[1 << 16];
static uint16_t next_port = 38000;
static const char *path = "build/test_rdb_load_mbox.rdb";

static void redis_cfg(struct wc_config *c)
{
	c->memory = 32u << 20;
	c->max_conns = 64;
	c->redis_port = 6379;
}

static int setup(void **state)
{
	struct wc_app *app = &h.app;
	struct wc_part_cfg pc;
	enum wc_status err;
	uint16_t *slots;
	struct rb b = { 0 };
	FILE *f;

	(void)state;
	if (dp_eal_init() != 0 || dp_setup(&h, redis_cfg) != 0)
		return -1;
	dp_freeze_clock(&h);
	wc_part_cfg_default(&pc);
	pc.mem_bytes = 16u << 20;
	pc.max_value = (uint32_t)app->cfg.max_value;
	app->parts[1] = wc_part_create(&pc, &h.mem, &err);
	app->nworkers = 2;
	/* the workers, the park endpoint, the loader's (as main.c makes them) */
	app->mbox = wc_mbox_create(4, 1024, &wc_mem_mmap);
	lc1 = rte_zmalloc("rdbload_lc1", sizeof(*lc1), 64);
	if (!app->parts[1] || !app->mbox || !lc1)
		return -1;
	app->nparts = 2;
	app->part_owner[1] = 1;
	app->lc[1] = lc1;
	if (wc_lcore_init(app, lc1, 1, rte_lcore_id()) != 0)
		return -1;
	lc1->part_idx[lc1->nparts++] = 1;
	lc1->ctx.clock = h.lc->ctx.clock;
	h.lc->env.mbox = app->mbox;
	h.lc->env.nparts = 2;
	slots = (uint16_t *)(uintptr_t)app->slot_part;
	for (unsigned s = 0; s < WC_SLOTS; s += 2)
		slots[s] = 1;	/* half the slots on lcore 1 */
	dp_learn_client(&h);
	rb_header(&b, 10);
	for (unsigned i = 0; i < NKEYS; i++) {
		char k[32], v[32];

		snprintf(k, sizeof(k), "key:%u", i);
		snprintf(v, sizeof(v), "value:%u", i);
		rb_kv(&b, k, v);
	}
	rb_end(&b, 1);
	f = fopen(path, "wb");
	if (!f || fwrite(b.p, 1, b.n, f) != b.n)
		return -1;
	fclose(f);
	free(b.p);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove(path);
	h.lc->env.mbox = NULL;
	wc_lcore_fini(lc1);
	rte_free(lc1);
	wc_part_destroy(h.app.parts[1]);
	wc_mbox_destroy(h.app.mbox);
	h.app.mbox = NULL;
	h.app.nworkers = 1;
	dp_teardown(&h);
	return 0;
}

/* Both owners serve their mailboxes once; lcore 0 completes its own requests. */
static unsigned serve(void)
{
	struct wc_mbox_req *done[32];
	unsigned work, n;

	work = wc_mbox_serve(h.app.mbox, 0, &h.lc->ctx, 64);
	work += wc_mbox_serve(h.app.mbox, 1, &lc1->ctx, 64);
	n = wc_mbox_collect(h.app.mbox, 0, done, 32);
	for (unsigned i = 0; i < n; i++)
		wc_rd_tcp_complete(h.lc, done[i]);
	wc_net_flush(h.lc);
	return work + n;
}

/* A request from a new connection; its replies (the mailboxes served meanwhile, or not). */
static const char *ask_mb(const char *req, bool mb)
{
	struct dpc c;

	assert_true(dpc_open(&h, &c, next_port++, 6379, rbuf, sizeof(rbuf) - 1));
	dpc_send(&h, &c, req, strlen(req), 1400);
	for (int i = 0; i < 20; i++) {
		if (mb)
			serve();
		dpc_drain(&h, &c);
		dpc_ack(&h, &c);
		dpc_drain(&h, &c);
	}
	rbuf[c.n] = 0;
	dpc_close(&h, &c);
	return (const char *)rbuf;
}

static const char *ask(const char *req)
{
	return ask_mb(req, true);
}

struct job {
	struct rd_rdb_load_result res;
	int rc;
	volatile bool done;
};

static void *startup_load(void *arg)
{
	struct job *j = arg;

	j->rc = rd_rdb_load_file(&h.app, path, true, &j->res);
	__atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void check_keys(void)
{
	char req[64], want[64];

	assert_string_equal(ask("DBSIZE\r\n"), ":3000\r\n");
	for (unsigned i = 0; i < NKEYS; i += 97) {
		snprintf(req, sizeof(req), "GET key:%u\r\n", i);
		snprintf(want, sizeof(want), "$%zu\r\nvalue:%u\r\n", strlen("value:") +
			 (size_t)snprintf(NULL, 0, "%u", i), i);
		assert_string_equal(ask(req), want);
	}
}

static void loading_then_served(void **state)
{
	static struct job j;
	pthread_t t;
	const char *r;

	(void)state;
	assert_string_equal(ask("SET before 1\r\n"), "+OK\r\n");
	assert_int_equal(pthread_create(&t, NULL, startup_load, &j), 0);
	while (!rd_rdb_loading() && !__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
		;
	/* nobody serves the owners' mailboxes yet: the load cannot end */
	assert_string_equal(ask_mb("GET key:1\r\n", false),
			    "-LOADING Redis is loading the dataset in memory\r\n");
	assert_string_equal(ask_mb("PING\r\n", false),
			    "-LOADING Redis is loading the dataset in memory\r\n");
	r = ask_mb("INFO persistence\r\n", false);
	assert_int_equal(r[0], '$');
	assert_non_null(strstr(r, "\r\nloading:1\r\n"));
	assert_non_null(strstr(r, "\r\nloading_total_bytes:60798\r\n"));
	assert_non_null(strstr(r, "\r\nloading_eta_seconds:"));
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
		serve();
	pthread_join(t, NULL);
	assert_int_equal(j.rc, 0);
	assert_int_equal(j.res.loaded, NKEYS);
	assert_false(rd_rdb_loading());
	assert_string_equal(ask("EXISTS before\r\n"), ":0\r\n");	/* flushed first */
	r = ask("INFO persistence\r\n");
	assert_non_null(strstr(r, "\r\nloading:0\r\n"));
	assert_non_null(strstr(r, "\r\nrdb_last_load_keys_loaded:3000\r\n"));
	assert_null(strstr(r, "loading_total_bytes"));
	check_keys();
}

static void runtime_load(void **state)
{
	char out[512], abs[512], err[200];
	char *argv[3] = { "SNAPLOAD", "FLUSH", abs };
	struct rd_rdb_load_result res;
	bool any;

	(void)state;
	assert_non_null(realpath(path, abs));
	assert_string_equal(ask("FLUSHALL\r\n"), "+OK\r\n");
	assert_string_equal(ask("SET mine 1\r\n"), "+OK\r\n");
	rd_rdb_load_command(&h.app, 3, argv, out, sizeof(out));
	assert_string_equal(out, "OK started\n");
	/* a second load while one runs (nobody has served the owners yet) is refused */
	assert_int_equal(rd_rdb_load_start(&h.app, abs, false, err, sizeof(err)), -1);
	assert_string_equal(err, "a load is already in progress");
	/* clients are served meanwhile */
	assert_string_equal(ask_mb("PING\r\n", false), "+PONG\r\n");
	while (rd_rdb_load_status(&res, &any))
		serve();
	assert_true(any);
	assert_int_equal(res.loaded, NKEYS);
	assert_string_equal(res.err, "");
	argv[1] = "STATUS";
	rd_rdb_load_command(&h.app, 2, argv, out, sizeof(out));
	assert_non_null(strstr(out, "OK state=done loaded=3000 expired=0 failed=0"));
	assert_string_equal(ask("EXISTS mine\r\n"), ":0\r\n");
	check_keys();
	argv[1] = "relative/path";
	rd_rdb_load_command(&h.app, 2, argv, out, sizeof(out));
	assert_non_null(strstr(out, "ERR usage"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loading_then_served),
		cmocka_unit_test(runtime_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
