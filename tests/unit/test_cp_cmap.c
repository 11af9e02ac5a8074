/*
 * test_cp_cmap.c - the control socket's ID and CMAP commands
 * (core/cpif_cmap.c): every error of the line parser and of COMMIT's
 * checks, the staged map dropped after an error, what a committed map is
 * built into; then, on a NIC-less dataplane in cluster mode (dp_harness.h),
 * a committed 3-node map end to end: Redis MOVED and CLUSTER replies, and
 * memcached over TCP and UDP answering "SERVER_ERROR moved ip:port" for
 * other nodes' keys while serving its own, epoch ordering, a second COMMIT
 * replacing the map, and slots no node serves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/cpif_cmap.h"
#include "core/slots.h"
#include "dp_link.h"
#include "dp_tcpclient.h"
#include "proto/mc_parse.h"
#include "redis/server.h"
#include "wirecache/slot.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccccccccccc"

/* ---- the parser alone: a made-up dataplane ---- */

static struct wc_cmap_stage *stage;
static struct wc_cmap_self me;
static struct wc_cmap_built built;
static char out[512];

/* One line (split on spaces) through wc_cmap_parse; the reply is in out. */
static enum wc_cmap_act line(const char *text)
{
	char buf[512], *argv[32], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 32; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	wc_cmap_built_free(&built);
	out[0] = 0;
	return wc_cmap_parse(&stage, &me, argc, argv, out, sizeof(out), &built);
}

static void expect(const char *text, const char *reply)
{
	line(text);
	if (strncmp(out, reply, strlen(reply)) != 0)
		fail_msg("'%s' answered '%s', expected '%s...'", text, out, reply);
}

static struct rd_cluster_map *published;

static int parser_setup(void **state)
{
	(void)state;
	published = rd_cluster_map_single(ID_A, "198.18.0.11", 6379, 16379, 0);
	me = (struct wc_cmap_self){ .id = ID_A, .ip = "198.18.0.11", .port = 6379,
				    .cport = 16379, .mcport = 11211, .cluster = true,
				    .published = published };
	return published ? 0 : -1;
}

static int parser_teardown(void **state)
{
	(void)state;
	wc_cmap_stage_drop(&stage);
	wc_cmap_built_free(&built);
	rd_cluster_map_free(published);
	return 0;
}

static void id_says_who(void **state)
{
	(void)state;
	assert_int_equal(line("ID"), WC_CMAP_REPLIED);
	assert_string_equal(out, "OK id=" ID_A " ip=198.18.0.11 port=6379 cport=16379 "
			    "mcport=11211 cluster=1\n");
	expect("ID now", "ERR usage: ID");
	me.cluster = false;
	expect("ID", "OK id=" ID_A " ip=198.18.0.11 port=6379 cport=16379 mcport=11211 "
	       "cluster=0\n");
	me.cluster = true;
	me.id = NULL;
	expect("ID", "ERR this dataplane has no node id");
	me.id = ID_A;
	assert_int_equal(line("PING"), WC_CMAP_NOT_MINE);
	assert_int_equal(line("CMAPX BEGIN 1"), WC_CMAP_NOT_MINE);
}

/* After an error nothing is staged: the next NODE is refused for that. */
static void dropped(void)
{
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself",
	       "ERR no staged map on this connection (CMAP BEGIN first)");
}

static void begin(void)
{
	expect("CMAP BEGIN 7", "OK\n");
}

static void every_error(void **state)
{
	static const struct {
		const char *text, *reply;
	} bad_node[] = {
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1", "ERR usage: CMAP NODE" },
		{ "CMAP NODE " ID_A "0 198.18.0.11 6379 16379 master 1 -", "ERR bad node id" },
		{ "CMAP NODE AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 198.18.0.11 6379 16379 master "
		  "1 -", "ERR bad node id" },
		{ "CMAP NODE " ID_A " 198.18.0.300 6379 16379 master 1 -", "ERR bad ip" },
		{ "CMAP NODE " ID_A " localhost 6379 16379 master 1 -", "ERR bad ip" },
		{ "CMAP NODE " ID_A " 198.18.0.11 0 16379 master 1 -", "ERR bad port '0'" },
		{ "CMAP NODE " ID_A " 198.18.0.11 65536 16379 master 1 -", "ERR bad port" },
		{ "CMAP NODE " ID_A " 198.18.0.11 -1 16379 master 1 -", "ERR bad port" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16x master 1 -", "ERR bad cport" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 slave 1 -", "ERR bad role" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1e3 -", "ERR bad config epoch" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 18446744073709551616 -",
		  "ERR bad config epoch" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 " ID_B,
		  "ERR a master has no master id" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 replica 1 -", "ERR bad master id" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 replica 1 " ID_A, "ERR bad master id" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - me", "ERR unexpected 'me'" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself myself",
		  "ERR unexpected 'myself'" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - mc=0",
		  "ERR bad memcached port" },
		{ "CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - mc=1 mc=2",
		  "ERR unexpected 'mc=2'" },
	};
	static const struct {
		const char *text, *reply;
	} bad_slots[] = {
		{ "CMAP SLOTS 0 100", "ERR usage: CMAP SLOTS" },
		{ "CMAP SLOTS 0 16384 " ID_A, "ERR bad slot range '0' '16384'" },
		{ "CMAP SLOTS 10 9 " ID_A, "ERR bad slot range" },
		{ "CMAP SLOTS -1 9 " ID_A, "ERR bad slot range" },
		{ "CMAP SLOTS x 9 " ID_A, "ERR bad slot range" },
		{ "CMAP SLOTS 0 9 " ID_C, "ERR unknown node '" ID_C "'" },
		{ "CMAP SLOTS 0 9 " ID_B, "ERR node " ID_B " is a replica" },
	};

	(void)state;
	dropped();
	expect("CMAP SLOTS 0 1 " ID_A, "ERR no staged map");
	expect("CMAP COMMIT", "ERR no staged map");
	expect("CMAP", "ERR usage: CMAP BEGIN|NODE|SLOTS|MIGRATING|IMPORTING|COMMIT|STATE");
	expect("CMAP BEGIN", "ERR usage: CMAP BEGIN <current_epoch>");
	expect("CMAP BEGIN -3", "ERR bad epoch '-3'");
	expect("CMAP BEGIN 1 2", "ERR usage: CMAP BEGIN");
	dropped();
	for (unsigned i = 0; i < sizeof(bad_node) / sizeof(bad_node[0]); i++) {
		begin();
		expect(bad_node[i].text, bad_node[i].reply);
		dropped();
	}
	/* a node twice, two myselves */
	begin();
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
	expect("CMAP NODE " ID_A " 198.18.0.12 6379 16379 master 1 -",
	       "ERR node " ID_A " is already in the map");
	dropped();
	begin();
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
	expect("CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 1 - myself",
	       "ERR two nodes are marked myself");
	dropped();
	for (unsigned i = 0; i < sizeof(bad_slots) / sizeof(bad_slots[0]); i++) {
		begin();
		expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
		expect("CMAP NODE " ID_B " 198.18.0.12 6379 16379 replica 1 " ID_A, "OK\n");
		expect(bad_slots[i].text, bad_slots[i].reply);
		dropped();
	}
	/* a slot given to two nodes */
	begin();
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
	expect("CMAP NODE " ID_C " 198.18.0.13 6379 16379 master 1 -", "OK\n");
	expect("CMAP SLOTS 0 100 " ID_A, "OK\n");
	expect("CMAP SLOTS 0 100 " ID_A, "OK\n");	/* again to the same node: fine */
	expect("CMAP SLOTS 100 200 " ID_C, "ERR slot 100 is already assigned to node " ID_A);
	dropped();
	/* subcommands */
	begin();
	expect("CMAP SHOW", "ERR unknown CMAP subcommand 'SHOW'");
	dropped();
	begin();
	expect("CMAP STATE now", "ERR usage: CMAP STATE");
	dropped();
	begin();
	expect("CMAP COMMIT now", "ERR usage: CMAP COMMIT");
	dropped();
}

/* ids of the form 0000...0001 .. */
static void numbered_id(char id[41], unsigned n)
{
	snprintf(id, 41, "%040x", n);
}

static void too_many_nodes(void **state)
{
	char text[256], id[41];

	(void)state;
	begin();
	for (unsigned n = 0; n < RD_CLUSTER_NODES_MAX; n++) {
		numbered_id(id, n + 1);
		snprintf(text, sizeof(text), "CMAP NODE %s 198.18.1.%u 6379 16379 master 1 -%s", id,
			 n % 250, n == 0 ? " myself" : "");
		expect(text, "OK\n");
	}
	numbered_id(id, 1000);
	snprintf(text, sizeof(text), "CMAP NODE %s 198.18.2.1 6379 16379 master 1 -", id);
	expect(text, "ERR too many nodes (at most 128)");
	dropped();
}

static void commit_checks(void **state)
{
	(void)state;
	/* no myself */
	begin();
	expect("CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 1 -", "OK\n");
	expect("CMAP SLOTS 0 16383 " ID_B, "OK\n");
	expect("CMAP COMMIT", "ERR no node is marked myself");
	dropped();
	/* myself is someone else */
	begin();
	expect("CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 1 - myself", "OK\n");
	expect("CMAP COMMIT", "ERR myself is node " ID_B ", but this dataplane is " ID_A);
	dropped();
	/* not a cluster node */
	me.cluster = false;
	begin();
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
	expect("CMAP COMMIT", "ERR this dataplane runs without --cluster");
	expect("CMAP STATE", "ERR this dataplane runs without --cluster");
	me.cluster = true;
	/* older than what is published */
	published->current_epoch = 9;
	expect("CMAP BEGIN 8", "OK\n");
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
	expect("CMAP COMMIT", "ERR epoch 8 is older than the published epoch 9");
	dropped();
	/* a replica whose master is missing, or is a replica itself */
	expect("CMAP BEGIN 9", "OK\n");
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 replica 1 " ID_B " myself", "OK\n");
	expect("CMAP COMMIT", "ERR replica " ID_A "'s master " ID_B " is not in the map");
	dropped();
	expect("CMAP BEGIN 9", "OK\n");
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 replica 1 " ID_B " myself", "OK\n");
	expect("CMAP NODE " ID_B " 198.18.0.12 6379 16379 replica 1 " ID_A, "OK\n");
	expect("CMAP COMMIT", "ERR replica " ID_A "'s master " ID_B " is a replica");
	dropped();
	/* a new BEGIN drops what was staged */
	expect("CMAP BEGIN 9", "OK\n");
	expect("CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 1 - myself", "OK\n");
	expect("CMAP BEGIN 9", "OK\n");
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
	assert_int_equal(line("CMAP COMMIT"), WC_CMAP_COMMIT);
	assert_string_equal(out, "OK epoch=9 nodes=1 assigned=0\n");
	published->current_epoch = 0;
}

static void commit_builds_both_tables(void **state)
{
	const struct rd_cluster_map *m;
	const struct wc_slot_table *t;

	(void)state;
	expect("CMAP STATE", "OK epoch=0 nodes=1 assigned=16384\n");
	expect("CMAP BEGIN 12", "OK\n");
	expect("CMAP NODE " ID_B " 198.18.0.12 6380 16380 master 4 - mc=11212", "OK\n");
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 3 - myself", "OK\n");
	expect("CMAP NODE " ID_C " 2001:db8::13 6381 16381 replica 0 " ID_B, "OK\n");
	expect("CMAP SLOTS 0 99 " ID_B, "OK\n");
	expect("CMAP SLOTS 100 16000 " ID_A, "OK\n");
	expect("CMAP SLOTS 16001 16382 " ID_B, "OK\n");
	assert_int_equal(line("CMAP COMMIT"), WC_CMAP_COMMIT);
	assert_string_equal(out, "OK epoch=12 nodes=3 assigned=16383\n");
	m = built.map;
	t = built.nodes;
	assert_non_null(m);
	assert_non_null(t);
	assert_null(stage);	/* consumed */
	assert_int_equal(m->current_epoch, 12);
	assert_int_equal(m->nnodes, 3);
	assert_int_equal(m->myself, 1);
	assert_string_equal(m->node[1].id, ID_A);
	assert_int_equal(m->node[0].config_epoch, 4);
	assert_int_equal(m->node[2].master, 0);
	assert_true(m->node[2].flags & RD_NODE_REPLICA);
	assert_true(m->node[0].connected && m->node[2].connected);
	assert_int_equal(m->owner[0], 0);
	assert_int_equal(m->owner[100], 1);
	assert_int_equal(m->owner[16382], 0);
	assert_int_equal(m->owner[16383], RD_NODE_NONE);
	assert_false(m->state_ok);	/* slot 16383 has nobody */
	/* the memcached side: 0 mine, 1 + index otherwise */
	assert_true(t->remote);
	assert_int_equal(t->cluster_epoch, 12);
	assert_int_equal(t->node[0], 1);
	assert_int_equal(t->node[99], 1);
	assert_int_equal(t->node[100], WC_SLOT_NODE_SELF);
	assert_int_equal(t->node[16000], WC_SLOT_NODE_SELF);
	assert_int_equal(t->node[16001], 1);
	assert_int_equal(t->node[16383], WC_SLOT_NODE_NONE);
	assert_string_equal(t->redirect[0], "SERVER_ERROR moved 198.18.0.12:11212\r\n");
	/* without mc= a node has this dataplane's memcached port */
	assert_string_equal(t->redirect[2], "SERVER_ERROR moved 2001:db8::13:11211\r\n");
	assert_null(wc_slot_redirect(t->part, 100));
	assert_string_equal(wc_slot_redirect(t->part, 5), "SERVER_ERROR moved 198.18.0.12:11212\r\n");
	assert_string_equal(wc_slot_redirect(t->part, 16383), WC_SLOT_UNSERVED_REPLY);
	/* equal epochs are fine (a control plane pushing the same map again) */
	published->current_epoch = 12;
	expect("CMAP BEGIN 12", "OK\n");
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 3 - myself", "OK\n");
	expect("CMAP SLOTS 0 16383 " ID_A, "OK\n");
	assert_int_equal(line("CMAP COMMIT"), WC_CMAP_COMMIT);
	assert_string_equal(out, "OK epoch=12 nodes=1 assigned=16384\n");
	assert_false(built.nodes->remote);
	assert_true(built.map->state_ok);
	published->current_epoch = 0;
}

/* MIGRATING and IMPORTING: ranges of the staged map's nodes, into migrating[]/importing[]. */
static void migrating_and_importing(void **state)
{
	static const struct {
		const char *text, *reply;
	} bad[] = {
		{ "CMAP MIGRATING 1 2", "ERR usage: CMAP MIGRATING <from> <to> <dst-id>" },
		{ "CMAP IMPORTING 1 2 " ID_B " x", "ERR usage: CMAP IMPORTING <from> <to> <src-id>" },
		{ "CMAP MIGRATING 0 16384 " ID_B, "ERR bad slot range '0' '16384'" },
		{ "CMAP IMPORTING 9 8 " ID_B, "ERR bad slot range '9' '8'" },
		{ "CMAP MIGRATING -1 8 " ID_B, "ERR bad slot range" },
		{ "CMAP IMPORTING a 8 " ID_B, "ERR bad slot range" },
		{ "CMAP MIGRATING 1 2 " ID_C, "ERR unknown node '" ID_C "' (CMAP NODE it first)" },
		{ "CMAP IMPORTING 1 2 " ID_C, "ERR unknown node '" ID_C "'" },
	};
	const struct rd_cluster_map *m;

	(void)state;
	expect("CMAP MIGRATING 1 2 " ID_B, "ERR no staged map on this connection");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		begin();
		expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
		expect("CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 1 -", "OK\n");
		expect(bad[i].text, bad[i].reply);
		dropped();	/* an error drops the staged map, as for the other lines */
	}
	begin();
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
	expect("CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 1 -", "OK\n");
	expect("CMAP NODE " ID_C " 198.18.0.13 6379 16379 master 1 -", "OK\n");
	expect("CMAP SLOTS 0 8191 " ID_A, "OK\n");
	expect("CMAP SLOTS 8192 12000 " ID_B, "OK\n");
	expect("CMAP SLOTS 12001 16383 " ID_C, "OK\n");
	expect("CMAP MIGRATING 100 199 " ID_B, "OK\n");
	expect("CMAP MIGRATING 8191 8191 " ID_C, "OK\n");
	expect("CMAP IMPORTING 9000 9001 " ID_B, "OK\n");
	expect("CMAP IMPORTING 16383 16383 " ID_C, "OK\n");
	assert_int_equal(line("CMAP COMMIT"), WC_CMAP_COMMIT);
	assert_string_equal(out, "OK epoch=7 nodes=3 assigned=16384\n");
	m = built.map;
	assert_non_null(m);
	for (unsigned s = 0; s < WC_SLOTS; s++) {
		uint16_t mig = s >= 100 && s <= 199 ? 1 : s == 8191 ? 2 : RD_NODE_NONE;
		uint16_t imp = s == 9000 || s == 9001 ? 1 : s == 16383 ? 2 : RD_NODE_NONE;

		assert_int_equal(m->migrating[s], mig);
		assert_int_equal(m->importing[s], imp);
	}
	/* memcached routes by owner: a slot moving away is still this node's */
	assert_int_equal(built.nodes->node[150], WC_SLOT_NODE_SELF);
	assert_int_equal(built.nodes->node[9000], 2);
	/* a map without those lines has none */
	begin();
	expect("CMAP NODE " ID_A " 198.18.0.11 6379 16379 master 1 - myself", "OK\n");
	assert_int_equal(line("CMAP COMMIT"), WC_CMAP_COMMIT);
	for (unsigned s = 0; s < WC_SLOTS; s++)
		assert_true(built.map->migrating[s] == RD_NODE_NONE &&
			    built.map->importing[s] == RD_NODE_NONE);
}

/* ---- a whole dataplane in cluster mode ---- */

#define RPORT 6379
#define MCPORT 11211

static struct dp_harness h;
static struct rd_server srv;
static char state_dir[64];
static struct wc_cmap_stage *cstage;
static char key_mine[32], key_b[32], key_c[32];

static void with_redis(struct wc_config *c)
{
	struct wc_app *app = (struct wc_app *)(void *)((char *)c - offsetof(struct wc_app, cfg));

	c->redis_port = RPORT;
	c->max_conns = 64;
	app->rd = &srv;
}

/* A control line through the control thread's entry (no migrator, as in the harness). */
static const char *ctl(const char *text)
{
	return dpl_ctl(&h, &cstage, text);
}

static int dp_up(void **state)
{
	(void)state;
	if (dp_eal_init() != 0)
		return -1;
	rd_cmds_init();
	snprintf(state_dir, sizeof(state_dir), "/tmp/wc-cmap-XXXXXX");
	if (!mkdtemp(state_dir))
		return -1;
	if (rd_server_init(&srv, state_dir, RPORT, true, "198.18.0.11", 0, 16u << 20, 1u << 20,
			   NULL, NULL, "test") != 0)
		return -1;
	if (dp_setup(&h, with_redis) != 0)
		return -1;
	dp_freeze_clock(&h);
	dp_learn_client(&h);
	dpl_key_in(key_mine, sizeof(key_mine), 0, 5460, 0);
	dpl_key_in(key_b, sizeof(key_b), 5461, 10922, 0);
	dpl_key_in(key_c, sizeof(key_c), 10923, 16383, 0);
	return 0;
}

static int dp_down(void **state)
{
	char path[128];

	(void)state;
	wc_cmap_stage_drop(&cstage);
	dp_teardown(&h);
	rd_server_fini(&srv);
	snprintf(path, sizeof(path), "%s/node-id", state_dir);
	unlink(path);
	rmdir(state_dir);
	return 0;
}

/* The 3-node map: this node 0-5460, B 5461-10922 (memcached on 11311), C the rest. */
static void commit_three(unsigned epoch)
{
	char text[256], want[64];

	snprintf(text, sizeof(text), "CMAP BEGIN %u", epoch);
	assert_string_equal(ctl(text), "OK\n");
	snprintf(text, sizeof(text), "CMAP NODE %s 198.18.0.11 6379 16379 master 1 - myself",
		 srv.node_id);
	assert_string_equal(ctl(text), "OK\n");
	assert_string_equal(ctl("CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 2 - mc=11311"),
			    "OK\n");
	assert_string_equal(ctl("CMAP NODE " ID_C " 198.18.0.13 6379 16379 master 3 -"), "OK\n");
	snprintf(text, sizeof(text), "CMAP SLOTS 0 5460 %s", srv.node_id);
	assert_string_equal(ctl(text), "OK\n");
	assert_string_equal(ctl("CMAP SLOTS 5461 10922 " ID_B), "OK\n");
	assert_string_equal(ctl("CMAP SLOTS 10923 16383 " ID_C), "OK\n");
	snprintf(want, sizeof(want), "OK epoch=%u nodes=3 assigned=16384\n", epoch);
	assert_string_equal(ctl("CMAP COMMIT"), want);
}

static uint8_t rbuf[1 << 16], rbuf2[1 << 16];

/* Send text on c and return what came back (NUL-ended). */
static const char *ask(struct dpc *c, const char *text)
{
	c->n = 0;
	dpc_send(&h, c, text, strlen(text), 0);
	/* a command that yields (a slot walk) finishes over a few polls */
	for (unsigned i = 0; i < 1000 && c->n == 0; i++) {
		wc_tcp_poll(h.lc);
		wc_net_flush(h.lc);
		dpc_drain(&h, c);
		dpc_ack(&h, c);
		dpc_drain(&h, c);
	}
	dp_clear_sent(&h);
	if (c->n >= c->cap)
		c->n = c->cap - 1;
	c->buf[c->n] = 0;
	return (const char *)c->buf;
}

static const char *resp_cmd(struct dpc *c, const char *a, const char *b)
{
	static char text[256];

	if (b)
		snprintf(text, sizeof(text), "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(a), a,
			 strlen(b), b);
	else
		snprintf(text, sizeof(text), "*1\r\n$%zu\r\n%s\r\n", strlen(a), a);
	return ask(c, text);
}

static const char *resp_cmd3(struct dpc *c, const char *a, const char *b, const char *d)
{
	char text[256];

	snprintf(text, sizeof(text), "*3\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(a),
		 a, strlen(b), b, strlen(d), d);
	return ask(c, text);
}

/* A memcached request over UDP; its one-datagram reply, NUL-ended. */
static const char *udp(const char *text)
{
	static char reply[2048];
	uint8_t f[2048];
	const uint8_t *p;
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *u;
	size_t n;

	dp_clear_sent(&h);
	dp_input(&h, f, dp_mc_udp(f, 7, 0, 1, text, strlen(text), DP_CLIENT));
	assert_int_equal(h.nsent, 1);
	p = rte_pktmbuf_mtod(h.sent[0], const uint8_t *);
	ip = (const struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);
	u = (const struct rte_udp_hdr *)(ip + 1);
	n = rte_be_to_cpu_16(u->dgram_len) - 8 - 8;
	assert_true(n < sizeof(reply));
	memcpy(reply, (const uint8_t *)(u + 1) + 8, n);
	reply[n] = 0;
	dp_clear_sent(&h);
	return reply;
}

static unsigned slot_of(const char *k)
{
	return wc_key_slot((const uint8_t *)k, (uint32_t)strlen(k));
}

static void starts_alone(void **state)
{
	char want[128];
	struct dpc c;

	(void)state;
	snprintf(want, sizeof(want), "OK id=%s ip=198.18.0.11 port=6379 cport=16379 "
		 "mcport=11211 cluster=1\n", srv.node_id);
	assert_string_equal(ctl("ID"), want);
	/* --cluster: every slot served until the first COMMIT */
	assert_string_equal(ctl("CMAP STATE"), "OK epoch=0 nodes=1 assigned=16384\n");
	assert_true(dpc_connect(&h, &c, MCPORT, rbuf, sizeof(rbuf)));
	assert_string_equal(ask(&c, "get " "key1" "\r\n"), "END\r\n");
	dpc_close(&h, &c);
}

static void redis_moved_and_cluster_replies(void **state)
{
	char want[256];
	struct dpc c;
	const char *r;

	(void)state;
	commit_three(5);
	assert_string_equal(ctl("CMAP STATE"), "OK epoch=5 nodes=3 assigned=16384\n");
	assert_true(dpc_connect(&h, &c, RPORT, rbuf, sizeof(rbuf)));
	snprintf(want, sizeof(want), "-MOVED %u 198.18.0.12:6379\r\n", slot_of(key_b));
	assert_string_equal(resp_cmd(&c, "GET", key_b), want);
	snprintf(want, sizeof(want), "-MOVED %u 198.18.0.13:6379\r\n", slot_of(key_c));
	assert_string_equal(resp_cmd3(&c, "SET", key_c, "v"), want);
	assert_string_equal(resp_cmd3(&c, "SET", key_mine, "v"), "+OK\r\n");
	assert_string_equal(resp_cmd(&c, "GET", key_mine), "$1\r\nv\r\n");
	/* CLUSTER INFO: the whole cluster */
	r = resp_cmd(&c, "CLUSTER", "INFO");
	assert_non_null(strstr(r, "cluster_state:ok\r\n"));
	assert_non_null(strstr(r, "cluster_slots_assigned:16384\r\n"));
	assert_non_null(strstr(r, "cluster_known_nodes:3\r\n"));
	assert_non_null(strstr(r, "cluster_size:3\r\n"));
	assert_non_null(strstr(r, "cluster_current_epoch:5\r\n"));
	assert_non_null(strstr(r, "cluster_my_epoch:1\r\n"));
	/* CLUSTER NODES: three lines, myself marked, everyone connected with its slots */
	r = resp_cmd(&c, "CLUSTER", "NODES");
	snprintf(want, sizeof(want), "%s 198.18.0.11:6379@16379 myself,master - 0 0 1 connected "
		 "0-5460\n", srv.node_id);
	assert_non_null(strstr(r, want));
	{
		const char *b = strstr(r, ID_B " 198.18.0.12:6379@16379 master - 0 ");
		const char *e;

		assert_non_null(b);
		e = strchr(b, '\n');
		assert_non_null(e);
		assert_true(dpc_matches(ID_B " 198.18.0.12:6379@16379 master - 0 # 2 connected "
					"5461-10922", (const uint8_t *)b, (size_t)(e - b)));
	}
	assert_non_null(strstr(r, ID_C " 198.18.0.13:6379@16379 master - 0 "));
	assert_non_null(strstr(r, " 3 connected 10923-16383\n"));
	/* CLUSTER SLOTS: three ranges in slot order */
	r = resp_cmd(&c, "CLUSTER", "SLOTS");
	{
		static const char first[] = "*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$11\r\n198.18.0.11\r\n";

		assert_int_equal(strncmp(r, first, strlen(first)), 0);
	}
	assert_non_null(strstr(r, ":5461\r\n:10922\r\n*4\r\n$11\r\n198.18.0.12\r\n:6379\r\n$40\r\n"
			       ID_B));
	/* MYID, and COUNTKEYSINSLOT counting this node's keys */
	snprintf(want, sizeof(want), "$40\r\n%s\r\n", srv.node_id);
	assert_string_equal(resp_cmd(&c, "CLUSTER", "MYID"), want);
	snprintf(want, sizeof(want), "%u", slot_of(key_mine));
	assert_string_equal(resp_cmd3(&c, "CLUSTER", "COUNTKEYSINSLOT", want), ":1\r\n");
	r = resp_cmd(&c, "CLUSTER", "SHARDS");
	assert_int_equal(strncmp(r, "*3\r\n", 4), 0);
	dpc_close(&h, &c);
}

static void memcached_moved_tcp(void **state)
{
	char cmd[256], want[128], moved_b[64], moved_c[64];
	struct dpc c;

	(void)state;
	commit_three(6);
	snprintf(moved_b, sizeof(moved_b), "SERVER_ERROR moved 198.18.0.12:11311\r\n");
	snprintf(moved_c, sizeof(moved_c), "SERVER_ERROR moved 198.18.0.13:11211\r\n");
	assert_true(dpc_connect(&h, &c, MCPORT, rbuf, sizeof(rbuf)));
	/* own keys as ever */
	snprintf(cmd, sizeof(cmd), "set %s 0 0 2\r\nhi\r\n", key_mine);
	assert_string_equal(ask(&c, cmd), "STORED\r\n");
	snprintf(cmd, sizeof(cmd), "get %s\r\n", key_mine);
	snprintf(want, sizeof(want), "VALUE %s 0 2\r\nhi\r\nEND\r\n", key_mine);
	assert_string_equal(ask(&c, cmd), want);
	/* others' keys: classic get, gets, set, delete, incr, touch, gat */
	snprintf(cmd, sizeof(cmd), "get %s\r\n", key_b);
	assert_string_equal(ask(&c, cmd), moved_b);
	snprintf(cmd, sizeof(cmd), "gets %s\r\n", key_c);
	assert_string_equal(ask(&c, cmd), moved_c);
	snprintf(cmd, sizeof(cmd), "set %s 0 0 2\r\nhi\r\n", key_b);
	assert_string_equal(ask(&c, cmd), moved_b);
	snprintf(cmd, sizeof(cmd), "delete %s\r\n", key_c);
	assert_string_equal(ask(&c, cmd), moved_c);
	snprintf(cmd, sizeof(cmd), "incr %s 1\r\n", key_b);
	assert_string_equal(ask(&c, cmd), moved_b);
	snprintf(cmd, sizeof(cmd), "touch %s 10\r\n", key_b);
	assert_string_equal(ask(&c, cmd), moved_b);
	snprintf(cmd, sizeof(cmd), "gat 10 %s\r\n", key_c);
	assert_string_equal(ask(&c, cmd), moved_c);
	/* noreply: nothing, and the stream stays in step */
	snprintf(cmd, sizeof(cmd), "set %s 0 0 2 noreply\r\nhi\r\nget %s\r\n", key_b, key_mine);
	snprintf(want, sizeof(want), "VALUE %s 0 2\r\nhi\r\nEND\r\n", key_mine);
	assert_string_equal(ask(&c, cmd), want);
	/* several keys: the values before the first other node's key, then its redirect */
	snprintf(cmd, sizeof(cmd), "get %s %s %s\r\n", key_mine, key_b, key_mine);
	snprintf(want, sizeof(want), "VALUE %s 0 2\r\nhi\r\n%s", key_mine, moved_b);
	assert_string_equal(ask(&c, cmd), want);
	snprintf(cmd, sizeof(cmd), "get %s %s\r\nversion\r\n", key_c, key_mine);
	snprintf(want, sizeof(want), "%sVERSION ", moved_c);
	assert_int_equal(strncmp(ask(&c, cmd), want, strlen(want)), 0);
	/* a get line too long to hold: answered at the redirect, its rest discarded */
	{
		static char big[32768], bigwant[32768];
		size_t n = 0, w = 0;

		n += (size_t)snprintf(big + n, sizeof(big) - n, "get");
		for (unsigned i = 0; i < 700; i++) {
			n += (size_t)snprintf(big + n, sizeof(big) - n, " %s", key_mine);
			w += (size_t)snprintf(bigwant + w, sizeof(bigwant) - w,
					      "VALUE %s 0 2\r\nhi\r\n", key_mine);
		}
		n += (size_t)snprintf(big + n, sizeof(big) - n, " %s", key_b);
		for (unsigned i = 0; i < 700; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, " %s", key_mine);
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\nversion\r\n");
		snprintf(bigwant + w, sizeof(bigwant) - w, "%sVERSION ", moved_b);
		assert_true(n > 2 * MC_LINE_MAX);
		c.n = 0;
		dpc_send(&h, &c, big, n, 300);
		assert_true(c.n > strlen(bigwant));
		assert_int_equal(memcmp(c.buf, bigwant, strlen(bigwant)), 0);
	}
	/* meta: mg, ms, md, ma, me; q does not hide the redirect */
	snprintf(cmd, sizeof(cmd), "mg %s v\r\n", key_b);
	assert_string_equal(ask(&c, cmd), moved_b);
	snprintf(cmd, sizeof(cmd), "ms %s 2 q\r\nhi\r\n", key_b);
	assert_string_equal(ask(&c, cmd), moved_b);
	snprintf(cmd, sizeof(cmd), "md %s\r\n", key_c);
	assert_string_equal(ask(&c, cmd), moved_c);
	snprintf(cmd, sizeof(cmd), "ma %s\r\n", key_c);
	assert_string_equal(ask(&c, cmd), moved_c);
	snprintf(cmd, sizeof(cmd), "me %s\r\n", key_b);
	assert_string_equal(ask(&c, cmd), moved_b);
	snprintf(cmd, sizeof(cmd), "mg %s v\r\n", key_mine);
	assert_string_equal(ask(&c, cmd), "VA 2\r\nhi\r\n");
	dpc_close(&h, &c);
}

static void memcached_moved_udp(void **state)
{
	char cmd[256], want[128];

	(void)state;
	commit_three(7);
	snprintf(cmd, sizeof(cmd), "set %s 0 0 3\r\nudp\r\n", key_mine);
	assert_string_equal(udp(cmd), "STORED\r\n");
	snprintf(cmd, sizeof(cmd), "get %s\r\n", key_mine);
	snprintf(want, sizeof(want), "VALUE %s 0 3\r\nudp\r\nEND\r\n", key_mine);
	assert_string_equal(udp(cmd), want);
	snprintf(cmd, sizeof(cmd), "get %s\r\n", key_b);
	assert_string_equal(udp(cmd), "SERVER_ERROR moved 198.18.0.12:11311\r\n");
	snprintf(cmd, sizeof(cmd), "set %s 0 0 3\r\nudp\r\n", key_c);
	assert_string_equal(udp(cmd), "SERVER_ERROR moved 198.18.0.13:11211\r\n");
	snprintf(cmd, sizeof(cmd), "get %s %s\r\n", key_mine, key_c);
	snprintf(want, sizeof(want), "VALUE %s 0 3\r\nudp\r\nSERVER_ERROR moved "
		 "198.18.0.13:11211\r\n", key_mine);
	assert_string_equal(udp(cmd), want);
}

static void epochs_and_a_second_commit(void **state)
{
	char mine[256], cmd[128], want[128];
	struct dpc c, r;

	(void)state;
	commit_three(20);
	snprintf(mine, sizeof(mine), "CMAP NODE %s 198.18.0.11 6379 16379 master 1 - myself",
		 srv.node_id);
	/* an older map is refused and changes nothing */
	assert_string_equal(ctl("CMAP BEGIN 19"), "OK\n");
	assert_string_equal(ctl(mine), "OK\n");
	assert_string_equal(ctl("CMAP COMMIT"), "ERR epoch 19 is older than the published epoch "
			    "20\n");
	assert_string_equal(ctl("CMAP STATE"), "OK epoch=20 nodes=3 assigned=16384\n");
	assert_true(dpc_connect(&h, &c, MCPORT, rbuf, sizeof(rbuf)));
	assert_true(dpc_connect(&h, &r, RPORT, rbuf2, sizeof(rbuf2)));
	snprintf(cmd, sizeof(cmd), "get %s\r\n", key_b);
	assert_string_equal(ask(&c, cmd), "SERVER_ERROR moved 198.18.0.12:11311\r\n");
	/* a newer one replaces it: this node takes B's slots, C keeps its own */
	assert_string_equal(ctl("CMAP BEGIN 21"), "OK\n");
	assert_string_equal(ctl(mine), "OK\n");
	assert_string_equal(ctl("CMAP NODE " ID_C " 198.18.0.13 6379 16379 master 3 -"), "OK\n");
	snprintf(cmd, sizeof(cmd), "CMAP SLOTS 0 10922 %s", srv.node_id);
	assert_string_equal(ctl(cmd), "OK\n");
	assert_string_equal(ctl("CMAP SLOTS 10923 16383 " ID_C), "OK\n");
	assert_string_equal(ctl("CMAP COMMIT"), "OK epoch=21 nodes=2 assigned=16384\n");
	snprintf(cmd, sizeof(cmd), "get %s\r\n", key_b);
	assert_string_equal(ask(&c, cmd), "END\r\n");
	snprintf(cmd, sizeof(cmd), "get %s\r\n", key_c);
	assert_string_equal(ask(&c, cmd), "SERVER_ERROR moved 198.18.0.13:11211\r\n");
	assert_string_equal(resp_cmd(&r, "GET", key_b), "$-1\r\n");
	assert_non_null(strstr(resp_cmd(&r, "CLUSTER", "INFO"), "cluster_known_nodes:2\r\n"));
	/* slots nobody serves: Redis's CLUSTERDOWN, memcached's "slot not served" */
	assert_string_equal(ctl("CMAP BEGIN 22"), "OK\n");
	assert_string_equal(ctl(mine), "OK\n");
	snprintf(cmd, sizeof(cmd), "CMAP SLOTS 0 5460 %s", srv.node_id);
	assert_string_equal(ctl(cmd), "OK\n");
	assert_string_equal(ctl("CMAP COMMIT"), "OK epoch=22 nodes=1 assigned=5461\n");
	snprintf(cmd, sizeof(cmd), "get %s\r\n", key_b);
	assert_string_equal(ask(&c, cmd), WC_SLOT_UNSERVED_REPLY);
	assert_string_equal(resp_cmd(&r, "GET", key_b), "-CLUSTERDOWN Hash slot not served\r\n");
	assert_string_equal(resp_cmd(&r, "GET", key_mine), "-CLUSTERDOWN The cluster is down\r\n");
	assert_non_null(strstr(resp_cmd(&r, "CLUSTER", "INFO"), "cluster_state:fail\r\n"));
	/* alone again: every key served, nothing redirected */
	assert_string_equal(ctl("CMAP BEGIN 23"), "OK\n");
	assert_string_equal(ctl(mine), "OK\n");
	snprintf(cmd, sizeof(cmd), "CMAP SLOTS 0 16383 %s", srv.node_id);
	assert_string_equal(ctl(cmd), "OK\n");
	assert_string_equal(ctl("CMAP COMMIT"), "OK epoch=23 nodes=1 assigned=16384\n");
	assert_false(wc_slot_table_of(h.app.slot_part)->remote);
	snprintf(cmd, sizeof(cmd), "get %s %s\r\n", key_b, key_c);
	assert_string_equal(ask(&c, cmd), "END\r\n");
	snprintf(want, sizeof(want), "$-1\r\n");
	assert_string_equal(resp_cmd(&r, "GET", key_c), want);
	dpc_close(&h, &c);
	dpc_close(&h, &r);
}

/*
 * A map with a slot of this node migrating to B and a slot of B's
 * importing here: Redis clients get ASK for keys already gone from the
 * source and are served on the target after ASKING; memcached keeps
 * routing by owner.
 */
static void ask_and_asking_after_a_map(void **state)
{
	char text[256], want[256], gone[64], there[64];
	unsigned ms = slot_of(key_mine), bs = slot_of(key_b);
	struct dpc r, c;

	(void)state;
	snprintf(gone, sizeof(gone), "{%s}gone", key_mine);
	snprintf(there, sizeof(there), "{%s}there", key_mine);
	commit_three(30);	/* (no moves: the keys go in as usual) */
	assert_true(dpc_connect(&h, &r, RPORT, rbuf, sizeof(rbuf)));
	assert_string_equal(resp_cmd3(&r, "SET", there, "v"), "+OK\r\n");
	assert_string_equal(ctl("CMAP BEGIN 31"), "OK\n");
	snprintf(text, sizeof(text), "CMAP NODE %s 198.18.0.11 6379 16379 master 1 - myself",
		 srv.node_id);
	assert_string_equal(ctl(text), "OK\n");
	assert_string_equal(ctl("CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 2 - mc=11311"),
			    "OK\n");
	assert_string_equal(ctl("CMAP NODE " ID_C " 198.18.0.13 6379 16379 master 3 -"), "OK\n");
	snprintf(text, sizeof(text), "CMAP SLOTS 0 5460 %s", srv.node_id);
	assert_string_equal(ctl(text), "OK\n");
	assert_string_equal(ctl("CMAP SLOTS 5461 10922 " ID_B), "OK\n");
	assert_string_equal(ctl("CMAP SLOTS 10923 16383 " ID_C), "OK\n");
	snprintf(text, sizeof(text), "CMAP MIGRATING %u %u " ID_B, ms, ms);
	assert_string_equal(ctl(text), "OK\n");
	snprintf(text, sizeof(text), "CMAP IMPORTING %u %u " ID_B, bs, bs);
	assert_string_equal(ctl(text), "OK\n");
	assert_string_equal(ctl("CMAP COMMIT"), "OK epoch=31 nodes=3 assigned=16384\n");
	assert_int_equal(rd_cluster_map_get(&srv)->migrating[ms], 1);
	assert_int_equal(rd_cluster_map_get(&srv)->importing[bs], 1);
	/* the source: a key still here is served, one already gone is ASKed for at B */
	assert_string_equal(resp_cmd(&r, "GET", there), "$1\r\nv\r\n");
	snprintf(want, sizeof(want), "-ASK %u 198.18.0.12:6379\r\n", ms);
	assert_string_equal(resp_cmd(&r, "GET", gone), want);
	assert_string_equal(resp_cmd3(&r, "SET", gone, "v"), want);
	/* the target: MOVED to the owner without ASKING, served with it (for one command) */
	snprintf(want, sizeof(want), "-MOVED %u 198.18.0.12:6379\r\n", bs);
	assert_string_equal(resp_cmd(&r, "GET", key_b), want);
	assert_string_equal(resp_cmd(&r, "ASKING", NULL), "+OK\r\n");
	assert_string_equal(resp_cmd3(&r, "SET", key_b, "imported"), "+OK\r\n");
	assert_string_equal(resp_cmd(&r, "GET", key_b), want);
	assert_string_equal(resp_cmd(&r, "ASKING", NULL), "+OK\r\n");
	assert_string_equal(resp_cmd(&r, "GET", key_b), "$8\r\nimported\r\n");
	/* CLUSTER NODES shows both */
	snprintf(want, sizeof(want), " [%u->-" ID_B "]", ms);
	assert_non_null(strstr(resp_cmd(&r, "CLUSTER", "NODES"), want));
	snprintf(want, sizeof(want), " [%u-<-" ID_B "]", bs);
	assert_non_null(strstr(resp_cmd(&r, "CLUSTER", "NODES"), want));
	/*
	 * memcached: the owner serves a key still here; a key of the migrating
	 * slot already gone is the target's (forwarded with ASKING where links
	 * forward; here, without a secret, its moved line); the importing slot
	 * is still B's to a plain request
	 */
	{
		const struct wc_slot_table *t = wc_slot_table_of(h.app.slot_part);

		assert_int_equal(t->mig[ms], 2);
		assert_int_equal(t->imp[bs], 2);
		assert_int_equal(t->node[ms], WC_SLOT_NODE_SELF);
		assert_int_equal(t->node[bs], 2);
		assert_true(t->remote);
		assert_true(t->moving);
	}
	assert_true(dpc_connect(&h, &c, MCPORT, rbuf2, sizeof(rbuf2)));
	snprintf(text, sizeof(text), "get %s\r\n", there);
	snprintf(want, sizeof(want), "VALUE %s 0 1\r\nv\r\nEND\r\n", there);
	assert_string_equal(ask(&c, text), want);
	snprintf(text, sizeof(text), "get %s %s\r\n", there, gone);
	snprintf(want, sizeof(want), "VALUE %s 0 1\r\nv\r\nSERVER_ERROR moved 198.18.0.12:11311\r\n",
		 there);
	assert_string_equal(ask(&c, text), want);
	snprintf(text, sizeof(text), "set %s 0 0 1\r\nx\r\n", there);
	assert_string_equal(ask(&c, text), "STORED\r\n");
	snprintf(text, sizeof(text), "get %s\r\n", key_b);
	assert_string_equal(ask(&c, text), "SERVER_ERROR moved 198.18.0.12:11311\r\n");
	dpc_close(&h, &c);
	dpc_close(&h, &r);
	commit_three(32);	/* a map without them ends both */
	assert_int_equal(rd_cluster_map_get(&srv)->migrating[ms], RD_NODE_NONE);
	assert_int_equal(rd_cluster_map_get(&srv)->importing[bs], RD_NODE_NONE);
}

int main(void)
{
	const struct CMUnitTest parser[] = {
		cmocka_unit_test(id_says_who),
		cmocka_unit_test(every_error),
		cmocka_unit_test(too_many_nodes),
		cmocka_unit_test(commit_checks),
		cmocka_unit_test(commit_builds_both_tables),
		cmocka_unit_test(migrating_and_importing),
	};
	const struct CMUnitTest dataplane[] = {
		cmocka_unit_test(starts_alone),
		cmocka_unit_test(redis_moved_and_cluster_replies),
		cmocka_unit_test(memcached_moved_tcp),
		cmocka_unit_test(memcached_moved_udp),
		cmocka_unit_test(epochs_and_a_second_commit),
		cmocka_unit_test(ask_and_asking_after_a_map),
	};
	int fails = cmocka_run_group_tests(parser, parser_setup, parser_teardown);

	return fails + cmocka_run_group_tests(dataplane, dp_up, dp_down);
}
