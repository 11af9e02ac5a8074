/*
 * test_redis_mbox.c - Redis commands whose keys live on another lcore: the
 * NIC-less harness plus a second worker lcore that owns a second partition,
 * reached through a real mailbox that the test serves by hand (the owner's
 * turn, then the connection lcore's completions), so every interleaving is
 * deterministic. A transaction on the remote partition answers once, and the
 * connection goes on with the next command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_tcpclient.h"
#include "net/tcp_impl.h"
#include "store/mailbox.h"
#include "store/part.h"
#include "wirecache/slot.h"

static struct dp_harness h;
static struct wc_lcore *lc1;	/* the second worker: owns partition 1 */
static uint8_t rbuf[1 << 16];
static uint16_t next_port = 31000;

static void redis_cfg(struct wc_config *c)
{
	c->memory = 32u << 20;
	c->max_conns = 64;
	c->redis_port = 6379;
}

/* Keys of these slots live in partition 1, on lc1. */
static void route_to_remote(const char *key)
{
	uint16_t *slots = (uint16_t *)(uintptr_t)h.app.slot_part;

	slots[wc_key_slot((const uint8_t *)key, strlen(key))] = 1;
}

static int setup(void **state)
{
	struct wc_app *app = &h.app;
	struct wc_part_cfg pc;
	enum wc_status err;

	(void)state;
	if (dp_eal_init() != 0 || dp_setup(&h, redis_cfg) != 0)
		return -1;
	dp_freeze_clock(&h);
	wc_part_cfg_default(&pc);
	pc.mem_bytes = 8u << 20;
	pc.max_value = (uint32_t)app->cfg.max_value;
	app->parts[1] = wc_part_create(&pc, &h.mem, &err);
	app->mbox = wc_mbox_create(2, 64, &wc_mem_mmap);
	lc1 = rte_zmalloc("rd_mbox_lc1", sizeof(*lc1), 64);
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
	route_to_remote("x");
	route_to_remote("y");
	dp_learn_client(&h);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wc_lcore_fini(lc1);
	rte_free(lc1);
	wc_part_destroy(h.app.parts[1]);
	wc_mbox_destroy(h.app.mbox);
	h.app.mbox = NULL;
	h.lc->env.mbox = NULL;
	dp_teardown(&h);
	return 0;
}

/* One round: the owner serves its mailbox, then lcore 0 completes what came back. */
static unsigned mailbox_round(struct dpc *c)
{
	struct wc_mbox_req *done[32];
	unsigned n, work;

	work = wc_mbox_serve(h.app.mbox, 1, &lc1->ctx, 64);
	n = wc_mbox_collect(h.app.mbox, 0, done, 32);
	for (unsigned i = 0; i < n; i++)
		wc_rd_tcp_complete(h.lc, done[i]);
	wc_net_flush(h.lc);
	dpc_drain(&h, c);
	dpc_ack(&h, c);
	dpc_drain(&h, c);
	return work + n;
}

/* Send req, run the mailbox until nothing moves (at most 50 rounds); want exactly. */
static void expect_remote(const char *req, const char *want)
{
	struct dpc c;
	int rounds = 0;

	assert_true(dpc_open(&h, &c, next_port++, 6379, rbuf, sizeof(rbuf) - 1));
	dpc_send(&h, &c, req, strlen(req), 1400);
	while (mailbox_round(&c) && ++rounds < 50)
		;
	rbuf[c.n] = 0;
	if (c.n != strlen(want) || memcmp(rbuf, want, c.n) != 0)
		fail_msg("for %s\nwanted %s\n   got %.*s (after %d mailbox rounds)", req, want,
			 (int)(c.n > 600 ? 600 : c.n), rbuf, rounds);
	dpc_close(&h, &c);
}

static void remote_writes(void **state)
{
	(void)state;
	expect_remote("FLUSHALL\r\n", "+OK\r\n");
	expect_remote("SET x 1\r\nINCR x\r\nGET x\r\nPING\r\n", "+OK\r\n:2\r\n$1\r\n2\r\n+PONG\r\n");
}

/*
 * EXEC of a transaction on the remote partition runs there once and answers
 * once, whatever its last command was (one that leaves the handler's step
 * at 0, as GET does, made EXEC start over on completion, forever).
 */
static void remote_transaction_answers_once(void **state)
{
	(void)state;
	expect_remote("FLUSHALL\r\n", "+OK\r\n");
	expect_remote("MULTI\r\nSET x 1\r\nINCR x\r\nGET x\r\nEXEC\r\nGET x\r\nPING\r\n",
		      "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n"
		      "$1\r\n2\r\n+PONG\r\n");
	expect_remote("MULTI\r\nINCR y\r\nEXEC\r\nMULTI\r\nGET y\r\nEXEC\r\nDEL x y\r\n",
		      "+OK\r\n+QUEUED\r\n*1\r\n:1\r\n+OK\r\n+QUEUED\r\n*1\r\n$1\r\n1\r\n:2\r\n");
	/* a WATCHed key changed: a null array, once */
	expect_remote("SET x 5\r\nWATCH x\r\nSET x 6\r\nMULTI\r\nGET x\r\nEXEC\r\nGET x\r\n",
		      "+OK\r\n+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n$1\r\n6\r\n");
}

/*
 * A write the remote owner refuses for memory (its partition with no room:
 * each log keeps all of itself as its cushion, part.h) answers Redis's OOM
 * through the mailbox, and the connection's lcore counts it as Redis
 * does: a rejected call of SET, not a call, not in
 * total_commands_processed, errorstat_OOM.
 */
static void remote_refusal_counted_as_rejected(void **state)
{
	struct wc_log *lg = h.app.parts[1]->log;
	uint64_t cushion[2] = { lg[0].cushion, lg[1].cushion };
	const struct rd_lcore_stats *st = &h.lc->rdst;
	uint64_t commands, calls, rejected, oom, failed;

	(void)state;
	expect_remote("FLUSHALL\r\n", "+OK\r\n");
	commands = st->commands;
	calls = st->calls[rd_set_cmd_id];
	rejected = st->cmd_rejected[rd_set_cmd_id];
	failed = st->cmd_failed[rd_set_cmd_id];
	oom = st->errstat[RD_ERRSTAT_OOM];
	lg[0].cushion = lg[0].size;
	lg[1].cushion = lg[1].size;
	expect_remote("SET x 1\r\n", "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
	lg[0].cushion = cushion[0];
	lg[1].cushion = cushion[1];
	assert_int_equal(st->commands, commands);
	assert_int_equal(st->calls[rd_set_cmd_id], calls);
	assert_int_equal(st->cmd_rejected[rd_set_cmd_id], rejected + 1);
	assert_int_equal(st->cmd_failed[rd_set_cmd_id], failed);
	assert_int_equal(st->errstat[RD_ERRSTAT_OOM], oom + 1);
	assert_int_equal(lc1->rdst.errstat[RD_ERRSTAT_OOM], 0);
	/* room again: a call */
	expect_remote("SET x 1\r\nGET x\r\n", "+OK\r\n$1\r\n1\r\n");
	assert_int_equal(st->calls[rd_set_cmd_id], calls + 1);
	assert_int_equal(st->commands, commands + 2);
}

static unsigned exec_id(void)
{
	struct resp_arg a = { .kind = RESP_ARG_PTR, .len = 4, .u.p = (const uint8_t *)"exec" };

	return rd_cmd_lookup(&a)->id;
}

/* A counter of both lcores, summed (as INFO sums them). */
static uint64_t both(size_t off, unsigned id)
{
	const uint64_t *a = *(uint64_t *const *)((const char *)&h.lc->rdst + off);
	const uint64_t *b = *(uint64_t *const *)((const char *)&lc1->rdst + off);

	return a[id] + b[id];
}

/*
 * Commands queued in MULTI are counted when EXEC runs them (on the owner
 * here), as Redis counts them: not as rejected calls when queued, and
 * not in total_commands_processed then.
 */
static void queued_commands_counted_by_exec(void **state)
{
	size_t calls = offsetof(struct rd_lcore_stats, calls);
	size_t rejected = offsetof(struct rd_lcore_stats, cmd_rejected);
	uint64_t set_calls, set_rejected, commands;

	(void)state;
	expect_remote("FLUSHALL\r\n", "+OK\r\n");
	set_calls = both(calls, rd_set_cmd_id);
	set_rejected = both(rejected, rd_set_cmd_id);
	commands = h.lc->rdst.commands + lc1->rdst.commands;
	expect_remote("MULTI\r\nSET x 1\r\nEXEC\r\n", "+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n");
	assert_int_equal(both(calls, rd_set_cmd_id), set_calls + 1);
	assert_int_equal(both(rejected, rd_set_cmd_id), set_rejected);
	/* MULTI, EXEC and the SET it ran */
	assert_int_equal(h.lc->rdst.commands + lc1->rdst.commands, commands + 3);
}

/*
 * An error the key's owner answers (a SET ... GET of a hash: WRONGTYPE),
 * remote through the mailbox and local inline, is the command's failed
 * call and an errorstat of its word, as Redis counts an error reply.
 */
static void owner_errors_counted(void **state)
{
	size_t failed = offsetof(struct rd_lcore_stats, cmd_failed);
	uint64_t set_failed, wrongtype;

	(void)state;
	expect_remote("FLUSHALL\r\n", "+OK\r\n");
	expect_remote("HSET x f v\r\nHSET local f v\r\n", ":1\r\n:1\r\n");
	set_failed = both(failed, rd_set_cmd_id);
	wrongtype = h.lc->rdst.errstat[RD_ERRSTAT_WRONGTYPE];
	expect_remote("SET x v GET\r\n", "-WRONGTYPE Operation against a key holding the wrong "
		      "kind of value\r\n");
	assert_int_equal(both(failed, rd_set_cmd_id), set_failed + 1);
	assert_int_equal(h.lc->rdst.errstat[RD_ERRSTAT_WRONGTYPE], wrongtype + 1);
	expect_remote("SET local v GET\r\n", "-WRONGTYPE Operation against a key holding the "
		      "wrong kind of value\r\n");
	assert_int_equal(both(failed, rd_set_cmd_id), set_failed + 2);
	assert_int_equal(h.lc->rdst.errstat[RD_ERRSTAT_WRONGTYPE], wrongtype + 2);
	assert_int_equal(lc1->rdst.errstat[RD_ERRSTAT_WRONGTYPE], 0);
	/* inside EXEC (local, then remote): the SET's error, counted once, not EXEC's */
	for (int remote = 0; remote < 2; remote++) {
		uint64_t exec_failed = both(failed, exec_id());
		uint64_t errors = h.lc->rdst.errstat[RD_ERRSTAT_WRONGTYPE] +
				  lc1->rdst.errstat[RD_ERRSTAT_WRONGTYPE];

		set_failed = both(failed, rd_set_cmd_id);
		expect_remote(remote ? "MULTI\r\nSET x v GET\r\nEXEC\r\n" :
				       "MULTI\r\nSET local v GET\r\nEXEC\r\n",
			      "+OK\r\n+QUEUED\r\n*1\r\n-WRONGTYPE Operation against a key holding "
			      "the wrong kind of value\r\n");
		assert_int_equal(both(failed, rd_set_cmd_id), set_failed + 1);
		assert_int_equal(both(failed, exec_id()), exec_failed);
		assert_int_equal(h.lc->rdst.errstat[RD_ERRSTAT_WRONGTYPE] +
				 lc1->rdst.errstat[RD_ERRSTAT_WRONGTYPE], errors + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(remote_writes),
		cmocka_unit_test(remote_transaction_answers_once),
		cmocka_unit_test(remote_refusal_counted_as_rejected),
		cmocka_unit_test(queued_commands_counted_by_exec),
		cmocka_unit_test(owner_errors_counted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
