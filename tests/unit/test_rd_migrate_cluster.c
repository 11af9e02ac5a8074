/*
 * test_rd_migrate_cluster.c - MIGRATE and RESTORE-ASKING in cluster mode on
 * the NIC-less harness: a two-node map (this node slots 0-8191, node B the
 * rest), the slot states set in the published map as a SETSLOT would.
 * RESTORE-ASKING is RESTORE with ASKING implied: served for a slot being
 * imported (where plain RESTORE is MOVED), MOVED for a slot that is not;
 * MIGRATE writes RESTORE-ASKING, and runs on a slot being migrated even for
 * keys no longer here (NOKEY, no ASK), as Redis does.
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
#include "dp_tcpclient.h"
#include "redis/cluster_map.h"
#include "redis/server.h"
#include "wirecache/slot.h"

#define RPORT 6379
#define TPORT 7000
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct dp_harness h;
static struct rd_server srv;
static char state_dir[64];
static struct wc_cmap_stage *cstage;
static char key_mine[32], key_b[32];
static uint8_t cbuf[1 << 16], pbuf[1 << 16];
static struct dpc cli, peer;

static void with_cluster(struct wc_config *c)
{
	struct wc_app *app = (struct wc_app *)(void *)((char *)c - offsetof(struct wc_app, cfg));

	c->redis_port = RPORT;
	c->max_conns = 64;
	c->cluster = true;
	app->rd = &srv;
}

static const char *ctl(const char *text)
{
	static char reply[512];
	char buf[512], *argv[32], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 32; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	reply[0] = 0;
	assert_true(wc_cmap_command(&h.app, NULL, &cstage, argc, argv, reply, sizeof(reply)));
	return reply;
}

static void key_in(char *k, unsigned from, unsigned to)
{
	for (unsigned i = 0;; i++) {
		unsigned s;

		snprintf(k, 32, "key%u", i);
		s = wc_key_slot((const uint8_t *)k, (uint32_t)strlen(k));
		if (s >= from && s <= to)
			return;
	}
}

static unsigned slot_of(const char *k)
{
	return wc_key_slot((const uint8_t *)k, (uint32_t)strlen(k));
}

static int up(void **state)
{
	char text[256];

	(void)state;
	if (dp_eal_init() != 0)
		return -1;
	rd_cmds_init();
	snprintf(state_dir, sizeof(state_dir), "/tmp/wc-migc-XXXXXX");
	if (!mkdtemp(state_dir))
		return -1;
	if (rd_server_init(&srv, state_dir, RPORT, true, "198.18.0.11", 0, 16u << 20, 1u << 20,
			   NULL, NULL, "test") != 0)
		return -1;
	if (dp_setup(&h, with_cluster) != 0)
		return -1;
	dp_freeze_clock(&h);
	dp_learn_client(&h);
	key_in(key_mine, 0, 8191);
	key_in(key_b, 8192, 16383);
	assert_string_equal(ctl("CMAP BEGIN 1"), "OK\n");
	snprintf(text, sizeof(text), "CMAP NODE %s 198.18.0.11 6379 16379 master 1 - myself",
		 srv.node_id);
	assert_string_equal(ctl(text), "OK\n");
	assert_string_equal(ctl("CMAP NODE " ID_B " 198.18.0.1 7000 17000 master 2 -"), "OK\n");
	snprintf(text, sizeof(text), "CMAP SLOTS 0 8191 %s", srv.node_id);
	assert_string_equal(ctl(text), "OK\n");
	assert_string_equal(ctl("CMAP SLOTS 8192 16383 " ID_B), "OK\n");
	assert_int_equal(ctl("CMAP COMMIT")[0], 'O');
	return dpc_connect(&h, &cli, RPORT, cbuf, sizeof(cbuf)) ? 0 : -1;
}

static int down(void **state)
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

/* The published map, changed in place as a SETSLOT's new map would have it (one thread). */
static struct rd_cluster_map *map(void)
{
	return (struct rd_cluster_map *)(uintptr_t)rd_cluster_map_get(&srv);
}

static uint16_t node_b(void)
{
	const struct rd_cluster_map *m = map();

	for (uint16_t i = 0; i < m->nnodes; i++)
		if (i != m->myself)
			return i;
	return RD_NODE_NONE;
}

static void pump(void)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };

	for (int i = 0; i < 4; i++) {
		wc_net_flush(h.lc);
		for (unsigned k = 0; k < h.nsent && !peer.dport; k++) {
			const uint8_t *fr = rte_pktmbuf_mtod(h.sent[k], const uint8_t *);
			const struct rte_ipv4_hdr *ip =
				(const struct rte_ipv4_hdr *)(fr + RTE_ETHER_HDR_LEN);
			const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
			uint8_t f[256];

			if (ip->next_proto_id != IPPROTO_TCP || th->tcp_flags != RTE_TCP_SYN_FLAG ||
			    rte_be_to_cpu_16(th->dst_port) != TPORT)
				continue;
			peer = (struct dpc){ .cport = TPORT, .dport = rte_be_to_cpu_16(th->src_port),
					     .ack = rte_be_to_cpu_32(th->sent_seq) + 1, .seq = 9000,
					     .buf = pbuf, .cap = sizeof(pbuf) };
			dp_clear_sent(&h);
			dp_input(&h, f, dp_tcp_ports(f, TPORT, peer.dport,
						     RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, peer.seq,
						     peer.ack, 65535, NULL, 0, opts, sizeof(opts)));
			peer.seq++;
			break;
		}
		if (peer.dport)
			dpc_take(&h, &peer);
		dpc_drain(&h, &cli);
		if (peer.dport)
			dpc_ack(&h, &peer);
		dpc_ack(&h, &cli);
	}
}

static const char *send_on(struct dpc *c, const void *p, size_t n)
{
	static char t[1 << 16];
	uint8_t f[2048];

	cli.n = 0;
	dp_input(&h, f, dp_tcp_ports(f, c->cport, c->dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				     c->seq, c->ack, 65535, p, n, NULL, 0));
	c->seq += (uint32_t)n;
	pump();
	memcpy(t, cli.buf, cli.n);
	t[cli.n] = 0;
	return t;
}

static const char *cmdv(int argc, const char *const *argv, const uint8_t *bin, size_t binlen)
{
	static uint8_t req[8192];
	size_t k = (size_t)sprintf((char *)req, "*%d\r\n", argc + (bin ? 1 : 0));

	for (int i = 0; i < argc; i++)
		k += (size_t)sprintf((char *)req + k, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	if (bin) {
		k += (size_t)sprintf((char *)req + k, "$%zu\r\n", binlen);
		memcpy(req + k, bin, binlen);
		k += binlen;
		memcpy(req + k, "\r\n", 2);
		k += 2;
	}
	return send_on(&cli, req, k);
}

#define CMD(...) cmdv(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *), \
		      (const char *const[]){ __VA_ARGS__ }, NULL, 0)

static uint8_t payload[256];
static size_t npayload;

/* DUMP key_mine's value into payload. */
static void dump_mine(void)
{
	const char *r = CMD("DUMP", key_mine);
	const char *nl = strstr(r, "\r\n");

	assert_int_equal(r[0], '$');
	npayload = (size_t)atoi(r + 1);
	memcpy(payload, nl + 2, npayload);
}

static void restore_asking_is_restore_for_an_importing_slot(void **state)
{
	char moved[128];
	const char *argv[] = { "RESTORE", key_b, "0" };

	(void)state;
	assert_string_equal(CMD("SET", key_mine, "payload-value"), "+OK\r\n");
	dump_mine();
	snprintf(moved, sizeof(moved), "-MOVED %u 198.18.0.1:7000\r\n", slot_of(key_b));
	assert_string_equal(cmdv(3, argv, payload, npayload), moved);
	argv[0] = "RESTORE-ASKING";
	assert_string_equal(cmdv(3, argv, payload, npayload), moved);	/* not importing */

	map()->importing[slot_of(key_b)] = node_b();
	assert_string_equal(cmdv(3, argv, payload, npayload), "+OK\r\n");
	argv[0] = "RESTORE";
	assert_string_equal(cmdv(3, argv, payload, npayload), moved);	/* no ASKING */
	map()->importing[slot_of(key_b)] = RD_NODE_NONE;
}

static void migrate_writes_restore_asking_and_runs_on_a_migrating_slot(void **state)
{
	char ask[128], moved[128];

	(void)state;
	assert_string_equal(CMD("SET", key_mine, "v"), "+OK\r\n");
	assert_string_equal(CMD("MIGRATE", "198.18.0.1", "7000", key_mine, "0", "1000"), "");
	assert_int_not_equal(peer.dport, 0);
	assert_non_null(memmem(pbuf, peer.n, "$14\r\nRESTORE-ASKING\r\n", 21));
	peer.n = 0;
	{
		uint8_t f[256];

		dp_input(&h, f, dp_tcp_ports(f, TPORT, peer.dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
					     peer.seq, peer.ack, 65535, "+OK\r\n+OK\r\n", 10, NULL, 0));
		peer.seq += 10;
		cli.n = 0;
		pump();
	}
	assert_int_equal(cli.n, 5);
	assert_memory_equal(cbuf, "+OK\r\n", 5);

	/* the slot moving out: a key no longer here is ASK for GET, NOKEY for MIGRATE */
	map()->migrating[slot_of(key_mine)] = node_b();
	snprintf(ask, sizeof(ask), "-ASK %u 198.18.0.1:7000\r\n", slot_of(key_mine));
	assert_string_equal(CMD("GET", key_mine), ask);
	assert_string_equal(CMD("MIGRATE", "198.18.0.1", "7000", key_mine, "0", "1000"),
			    "+NOKEY\r\n");
	map()->migrating[slot_of(key_mine)] = RD_NODE_NONE;
	/* a slot of another node, moving nowhere: MOVED */
	snprintf(moved, sizeof(moved), "-MOVED %u 198.18.0.1:7000\r\n", slot_of(key_b));
	assert_string_equal(CMD("MIGRATE", "198.18.0.1", "7000", key_b, "0", "1000"), moved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(restore_asking_is_restore_for_an_importing_slot),
		cmocka_unit_test(migrate_writes_restore_asking_and_runs_on_a_migrating_slot),
	};

	return cmocka_run_group_tests(tests, up, down);
}
