/*
 * test_rd_migrate.c - MIGRATE (redis/migrate_cmd.c, migrate_conn.c) on the
 * NIC-less harness, the test playing the target node at 198.18.0.1:7000: it
 * accepts the dataplane's connection, reads the RESTOREs and answers them.
 * What the target got is replayed into the node itself (after the keys left
 * it) to check values, types and TTLs survive the trip. Strings, hashes and
 * sets with TTLs, NOKEY, COPY, REPLACE, KEYS, AUTH/AUTH2 and SELECT written,
 * the target's error reported as Redis does, a timeout, the cached
 * connection reused, a target whose MAC is not known yet (ARP first, then
 * the SYN), a write racing the move making the key go again (with
 * REPLACE) rather than be deleted, and the counters. Keys "m*" live in a
 * second partition owned by a second worker lcore, reached through a real
 * mailbox the test serves by hand: their delete (and the racing write) runs
 * on that owner, one call for all of a round's keys there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/cpcounters.h"
#include "dp_redis.h"
#include "net/tcp_impl.h"
#include "redis/migrate_conn.h"
#include "redis/push.h"
#include "store/mailbox.h"
#include "wirecache/slot.h"

#define TPORT 7000

static struct dp_harness h;
static uint8_t cbuf[1 << 20], c2buf[1 << 16], pbuf[1 << 20];
static struct dpc cli, cli2, peer;
static bool syn_seen, no_accept;
static uint32_t syn_seq;

static struct wc_lcore *lc1;	/* the second worker: owns partition 1 */
static unsigned served;		/* requests lc1's mailbox ran */

/* Keys of this one's slot live in partition 1, on lc1. */
static void route_to_remote(const char *key)
{
	uint16_t *slots = (uint16_t *)(uintptr_t)h.app.slot_part;

	slots[wc_key_slot((const uint8_t *)key, (uint32_t)strlen(key))] = 1;
}

static int second_lcore(void)
{
	struct wc_app *app = &h.app;
	struct wc_part_cfg pc;
	enum wc_status err;

	wc_part_cfg_default(&pc);
	pc.mem_bytes = 8u << 20;
	pc.max_value = (uint32_t)app->cfg.max_value;
	app->parts[1] = wc_part_create(&pc, &h.mem, &err);
	app->mbox = wc_mbox_create(2, 64, &wc_mem_mmap);
	lc1 = rte_zmalloc("rd_mig_lc1", sizeof(*lc1), 64);
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
	route_to_remote("m1");
	route_to_remote("m2");
	return 0;
}

/* The owner serves its mailbox, then lcore 0 completes what came back. */
static void mailbox_round(void)
{
	struct wc_mbox_req *done[32];
	unsigned n;

	served += wc_mbox_serve(h.app.mbox, 1, &lc1->ctx, 64);
	n = wc_mbox_collect(h.app.mbox, 0, done, 32);
	for (unsigned i = 0; i < n; i++)
		wc_rd_tcp_complete(h.lc, done[i]);
}

static int setup(void **state)
{
	(void)state;
	if (dp_redis_setup(&h, 64u << 20, 37000) != 0 || second_lcore() != 0)
		return -1;
	if (!dp_redis_open(&h, &cli, cbuf, sizeof(cbuf)) ||
	    !dp_redis_open(&h, &cli2, c2buf, sizeof(c2buf)))
		return -1;
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

/* A SYN from the node to the target's port among what it sent: noted. */
static void find_syn(void)
{
	for (unsigned k = 0; k < h.nsent; k++) {
		const uint8_t *fr = rte_pktmbuf_mtod(h.sent[k], const uint8_t *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(fr + RTE_ETHER_HDR_LEN);
		const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);

		if (ip->next_proto_id != IPPROTO_TCP || th->tcp_flags != RTE_TCP_SYN_FLAG ||
		    rte_be_to_cpu_16(th->dst_port) != TPORT)
			continue;
		memset(&peer, 0, sizeof(peer));
		peer.cport = TPORT;
		peer.dport = rte_be_to_cpu_16(th->src_port);
		peer.buf = pbuf;
		peer.cap = sizeof(pbuf);
		syn_seq = rte_be_to_cpu_32(th->sent_seq);
		syn_seen = true;
	}
}

#define UNRES 0xC6120002u	/* 198.18.0.2: a target whose MAC the node does not know */
static bool arp_for_unres, syn_to_unres;

/* Among what the node sent: an ARP request for UNRES, a SYN to UNRES. */
static void note_unres(void)
{
	for (unsigned k = 0; k < h.nsent; k++) {
		const uint8_t *fr = rte_pktmbuf_mtod(h.sent[k], const uint8_t *);
		const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)fr;
		const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eth + 1);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
		const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);

		if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
		    arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) &&
		    arp->arp_data.arp_tip == rte_cpu_to_be_32(UNRES))
			arp_for_unres = true;
		if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
		    ip->next_proto_id == IPPROTO_TCP && ip->dst_addr == rte_cpu_to_be_32(UNRES) &&
		    (th->tcp_flags & RTE_TCP_SYN_FLAG))
			syn_to_unres = true;
	}
}

/* Everything the node sent: to the target, the second client, the client; acks. */
static void pump(void)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };

	for (int i = 0; i < 6; i++) {
		mailbox_round();
		rd_push_output(h.lc);
		wc_net_flush(h.lc);
		note_unres();
		find_syn();
		if (peer.dport)
			dpc_take(&h, &peer);
		if (cli2.dport)
			dpc_take(&h, &cli2);
		dpc_drain(&h, &cli);
		if (syn_seen && !no_accept) {
			uint8_t f[256];

			syn_seen = false;
			peer.ack = syn_seq + 1;
			peer.seq = 9000;
			dp_input(&h, f, dp_tcp_ports(f, TPORT, peer.dport,
						     RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, peer.seq,
						     peer.ack, 65535, NULL, 0, opts, sizeof(opts)));
			peer.seq++;
			continue;
		}
		if (peer.dport && !peer.rst)
			dpc_ack(&h, &peer);
		dpc_ack(&h, &cli);
		if (cli2.dport)
			dpc_ack(&h, &cli2);
	}
}

static void send_on(struct dpc *c, const void *p, size_t n)
{
	uint8_t f[2048];
	const uint8_t *b = p;

	for (size_t off = 0; off < n; off += 1400) {
		size_t seg = n - off < 1400 ? n - off : 1400;

		dp_input(&h, f, dp_tcp_ports(f, c->cport, c->dport,
					     RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c->seq, c->ack,
					     65535, b + off, seg, NULL, 0));
		c->seq += (uint32_t)seg;
		pump();
	}
	pump();
}

static size_t resp_req(uint8_t *out, int argc, const char *const *argv)
{
	size_t k = (size_t)sprintf((char *)out, "*%d\r\n", argc);

	for (int i = 0; i < argc; i++)
		k += (size_t)sprintf((char *)out + k, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	return k;
}

static const char *text(struct dpc *c)
{
	static char t[1 << 16];
	size_t n = c->n < sizeof(t) - 1 ? c->n : sizeof(t) - 1;

	memcpy(t, c->buf, n);
	t[n] = 0;
	return t;
}

/* A command on client c (its reply so far in c->buf). */
static const char *cmdv(struct dpc *c, int argc, const char *const *argv)
{
	static uint8_t req[8192];

	c->n = 0;
	send_on(c, req, resp_req(req, argc, argv));
	return text(c);
}

#define CMD(...) cmdv(&cli, sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *), \
		      (const char *const[]){ __VA_ARGS__ })
#define CMD2(...) cmdv(&cli2, sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *), \
		       (const char *const[]){ __VA_ARGS__ })
#define EQ(got, want) assert_string_equal(got, want)

/* The target answers. */
static void target_says(const char *lines)
{
	peer.n = 0;
	send_on(&peer, lines, strlen(lines));
}

/* How many commands (top-level arrays) the target has received whole in pbuf[0..n). */
static unsigned count_cmds(const uint8_t *b, size_t n)
{
	unsigned k = 0;
	size_t i = 0;

	while (i < n && b[i] == '*') {
		long argc = strtol((const char *)b + i + 1, NULL, 10);

		i = (size_t)((const uint8_t *)memchr(b + i, '\n', n - i) - b) + 1;
		for (long a = 0; a < argc; a++) {
			long len = strtol((const char *)b + i + 1, NULL, 10);

			i = (size_t)((const uint8_t *)memchr(b + i, '\n', n - i) - b) + 1;
			i += (size_t)len + 2;
		}
		if (i <= n)
			k++;
	}
	return k;
}

static bool has(const uint8_t *b, size_t n, const char *s)
{
	return memmem(b, n, s, strlen(s)) != NULL;
}

/* What the target received, replayed into the node (RESTORE-ASKING read as RESTORE). */
static uint8_t replay[1 << 20];
static size_t nreplay;

static void keep_received(void)
{
	memcpy(replay, pbuf, peer.n);
	nreplay = peer.n;
}

static const struct wc_mig_stats *mst(void)
{
	return &h.lc->mig->st;
}

static void moves_strings_hashes_sets_with_ttls(void **state)
{
	uint64_t calls = mst()->calls, keys = mst()->keys;
	unsigned n;

	(void)state;
	EQ(CMD("SET", "s1", "hello"), "+OK\r\n");
	EQ(CMD("PEXPIRE", "s1", "100000"), ":1\r\n");
	EQ(CMD("HSET", "h1", "f1", "v1", "f2", "22"), ":2\r\n");
	EQ(CMD("EXPIRE", "h1", "500"), ":1\r\n");
	EQ(CMD("SADD", "t1", "a", "b", "7"), ":3\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "", "0", "1000", "KEYS", "s1", "nokey", "h1", "t1"),
	   "");		/* waiting for the target */
	assert_int_not_equal(peer.dport, 0);
	n = count_cmds(pbuf, peer.n);
	assert_int_equal(n, 4);	/* SELECT (a new connection), three RESTOREs */
	assert_true(has(pbuf, peer.n, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"));
	assert_true(has(pbuf, peer.n, "*4\r\n$7\r\nRESTORE\r\n$2\r\ns1\r\n$6\r\n100000\r\n"));
	assert_true(has(pbuf, peer.n, "*4\r\n$7\r\nRESTORE\r\n$2\r\nh1\r\n$6\r\n500000\r\n"));
	assert_true(has(pbuf, peer.n, "*4\r\n$7\r\nRESTORE\r\n$2\r\nt1\r\n$1\r\n0\r\n"));
	keep_received();
	target_says("+OK\r\n+OK\r\n+OK\r\n+OK\r\n");
	EQ(text(&cli), "+OK\r\n");
	EQ(CMD("EXISTS", "s1", "h1", "t1"), ":0\r\n");
	assert_int_equal(mst()->calls, calls + 1);
	assert_int_equal(mst()->keys, keys + 3);
	assert_true(mst()->bytes > 0);

	/* what the target got makes the same keys again */
	cli.n = 0;
	send_on(&cli, replay, nreplay);
	EQ(text(&cli), "+OK\r\n+OK\r\n+OK\r\n+OK\r\n");
	EQ(CMD("GET", "s1"), "$5\r\nhello\r\n");
	EQ(CMD("PTTL", "s1"), ":100000\r\n");
	EQ(CMD("HGET", "h1", "f2"), "$2\r\n22\r\n");
	EQ(CMD("TTL", "h1"), ":500\r\n");
	EQ(CMD("SCARD", "t1"), ":3\r\n");
	EQ(CMD("SISMEMBER", "t1", "7"), ":1\r\n");
	EQ(CMD("TTL", "t1"), ":-1\r\n");
	assert_non_null(strstr(CMD("INFO", "stats"), "migrate_calls:"));
}

/*
 * A string memcached set with flags keeps them: MIGRATE adds MCFLAGS to its
 * RESTORE (wirecache's own option), and RESTORE gives them back.
 */
static void memcached_flags_travel(void **state)
{
	static uint8_t mbuf[4096];
	struct dpc m;

	(void)state;
	assert_true(dpc_connect(&h, &m, 11211, mbuf, sizeof(mbuf)));
	m.n = 0;
	dpc_send(&h, &m, "set mf 42 0 2\r\nhi\r\n", 19, 0);
	EQ(text(&m), "STORED\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "mf", "0", "1000"), "");
	assert_true(has(pbuf, peer.n, "*6\r\n$7\r\nRESTORE\r\n$2\r\nmf\r\n$1\r\n0\r\n"));
	assert_true(has(pbuf, peer.n, "$7\r\nMCFLAGS\r\n$2\r\n42\r\n"));
	keep_received();
	target_says("+OK\r\n");
	EQ(text(&cli), "+OK\r\n");
	m.n = 0;
	dpc_send(&h, &m, "get mf\r\n", 8, 0);
	EQ(text(&m), "END\r\n");
	/* what the target got: the value and its flags */
	cli.n = 0;
	send_on(&cli, replay, nreplay);
	assert_non_null(strstr(text(&cli), "+OK\r\n"));
	m.n = 0;
	dpc_send(&h, &m, "get mf\r\n", 8, 0);
	EQ(text(&m), "VALUE mf 42 2\r\nhi\r\nEND\r\n");
	/* a Redis string has none: no MCFLAGS */
	EQ(CMD("SET", "rs", "v"), "+OK\r\n");
	peer.n = 0;
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "rs", "0", "1000"), "");
	assert_false(has(pbuf, peer.n, "MCFLAGS"));
	target_says("+OK\r\n");
	EQ(text(&cli), "+OK\r\n");
	dpc_close(&h, &m);
}

static void nokey_and_syntax(void **state)
{
	(void)state;
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "missing", "0", "1000"), "+NOKEY\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "", "0", "1000", "KEYS", "m1", "m2"),
	   "+NOKEY\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "x", "0", "1000", "KEYS", "m1"),
	   "-ERR When using MIGRATE KEYS option, the key argument must be set to the empty "
	   "string\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "x", "0", "1000", "BOGUS"),
	   "-ERR syntax error\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "x", "0", "1000", "AUTH"), "-ERR syntax error\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "x", "zero", "1000"),
	   "-ERR value is not an integer or out of range\r\n");
}

static void copy_replace_auth_reuse_the_connection(void **state)
{
	uint16_t lport = peer.dport;

	(void)state;
	EQ(CMD("SET", "c1", "v"), "+OK\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "c1", "0", "1000", "COPY", "REPLACE", "AUTH2",
	       "user", "pw"), "");
	assert_int_equal(peer.dport, lport);	/* the cached connection (no new SYN) */
	assert_int_equal(count_cmds(pbuf, peer.n), 2);	/* AUTH, RESTORE (db 0 known) */
	assert_true(has(pbuf, peer.n, "*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$2\r\npw\r\n"));
	assert_true(has(pbuf, peer.n, "*5\r\n$7\r\nRESTORE\r\n$2\r\nc1\r\n$1\r\n0\r\n"));
	assert_true(has(pbuf, peer.n, "$7\r\nREPLACE\r\n"));
	target_says("+OK\r\n+OK\r\n");
	EQ(text(&cli), "+OK\r\n");
	EQ(CMD("GET", "c1"), "$1\r\nv\r\n");	/* COPY: still here */

	/* AUTH pw and another db: SELECT */
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "c1", "3", "1000", "AUTH", "secret"), "");
	assert_int_equal(count_cmds(pbuf, peer.n), 3);
	assert_true(has(pbuf, peer.n, "*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n"));
	assert_true(has(pbuf, peer.n, "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"));
	target_says("+OK\r\n+OK\r\n+OK\r\n");
	EQ(text(&cli), "+OK\r\n");
	EQ(CMD("EXISTS", "c1"), ":0\r\n");
}

static void target_error_is_reported_and_the_key_stays(void **state)
{
	uint64_t errors = mst()->errors;

	(void)state;
	EQ(CMD("SET", "e1", "v"), "+OK\r\n");
	EQ(CMD("SET", "e2", "w"), "+OK\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "", "3", "1000", "KEYS", "e1", "e2"), "");
	assert_int_equal(count_cmds(pbuf, peer.n), 2);	/* db 3 is known now */
	/* cut inside the error line: the reader joins the pieces */
	peer.n = 0;
	send_on(&peer, "-BUSYKEY Target key na", 22);
	EQ(text(&cli), "");
	target_says("me already exists.\r\n+OK\r\n");
	EQ(text(&cli), "-ERR Target instance replied with error: BUSYKEY Target key name already "
		       "exists.\r\n");
	EQ(CMD("EXISTS", "e1", "e2"), ":1\r\n");	/* e1 stays, e2 went */
	assert_int_equal(mst()->errors, errors + 1);
}

static void timeout_and_protocol_error_close_the_connection(void **state)
{
	(void)state;
	EQ(CMD("SET", "t9", "v"), "+OK\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "t9", "3", "200"), "");
	assert_int_equal(count_cmds(pbuf, peer.n), 1);
	h.lc->tcp->now_ms += 150;
	h.lc->tcp->now_us += 150000;
	wc_mig_poll(h.lc);
	pump();
	EQ(text(&cli), "");	/* not yet */
	h.lc->tcp->now_ms += 100;
	h.lc->tcp->now_us += 100000;
	wc_mig_poll(h.lc);
	pump();
	EQ(text(&cli), "-IOERR error or timeout reading to target instance\r\n");
	assert_true(peer.rst);
	EQ(CMD("EXISTS", "t9"), ":1\r\n");

	/* a new connection; a reply that is no one-line reply closes it */
	peer.dport = 0;
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "t9", "0", "1000"), "");
	assert_int_not_equal(peer.dport, 0);
	assert_int_equal(count_cmds(pbuf, peer.n), 2);	/* SELECT, RESTORE */
	target_says("+OK\r\n$1\r\nx\r\n");
	EQ(text(&cli), "-IOERR error or timeout reading to target instance\r\n");
	EQ(CMD("EXISTS", "t9"), ":1\r\n");
	peer.dport = 0;
}

static void racing_write_sends_the_key_again(void **state)
{
	(void)state;
	EQ(CMD("SET", "r1", "old"), "+OK\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "r1", "0", "1000"), "");
	assert_true(has(pbuf, peer.n, "*4\r\n$7\r\nRESTORE\r\n$2\r\nr1\r\n"));
	/* a write while the target works: the source must not delete it */
	EQ(CMD2("SET", "r1", "new"), "+OK\r\n");
	target_says("+OK\r\n+OK\r\n");	/* SELECT, RESTORE */
	EQ(text(&cli), "");	/* sent again, with REPLACE */
	assert_int_equal(count_cmds(pbuf, peer.n), 1);
	assert_true(has(pbuf, peer.n, "*5\r\n$7\r\nRESTORE\r\n$2\r\nr1\r\n$1\r\n0\r\n"));
	assert_true(has(pbuf, peer.n, "new"));
	assert_true(has(pbuf, peer.n, "$7\r\nREPLACE\r\n"));
	target_says("+OK\r\n");
	EQ(text(&cli), "+OK\r\n");
	EQ(CMD("EXISTS", "r1"), ":0\r\n");

	/* a key deleted here while it moved: deleted there too */
	EQ(CMD("SET", "r3", "v"), "+OK\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "r3", "0", "1000"), "");
	assert_int_equal(count_cmds(pbuf, peer.n), 1);
	EQ(CMD2("DEL", "r3"), ":1\r\n");
	target_says("+OK\r\n");
	EQ(text(&cli), "");
	assert_int_equal(peer.n, 21);
	assert_memory_equal(pbuf, "*2\r\n$3\r\nDEL\r\n$2\r\nr3\r\n", 21);
	target_says(":1\r\n");
	EQ(text(&cli), "+OK\r\n");
	EQ(CMD("EXISTS", "r3"), ":0\r\n");

	/* ... and back again before the DEL went: sent again (REPLACE) instead */
	EQ(CMD("SET", "r4", "one"), "+OK\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "r4", "0", "1000"), "");
	EQ(CMD2("DEL", "r4"), ":1\r\n");
	EQ(CMD2("SET", "r4", "two"), "+OK\r\n");
	target_says("+OK\r\n");
	assert_true(has(pbuf, peer.n, "*5\r\n$7\r\nRESTORE\r\n$2\r\nr4\r\n"));
	assert_true(has(pbuf, peer.n, "two"));
	target_says("+OK\r\n");
	EQ(text(&cli), "+OK\r\n");
	EQ(CMD("EXISTS", "r4"), ":0\r\n");

	/* a key written on every try: an error, and it stays */
	EQ(CMD("SET", "r2", "0"), "+OK\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "r2", "0", "1000"), "");
	for (int i = 0; i < 3; i++) {
		assert_int_equal(count_cmds(pbuf, peer.n), 1);
		EQ(CMD2("INCR", "r2"), i == 0 ? ":1\r\n" : i == 1 ? ":2\r\n" : ":3\r\n");
		target_says("+OK\r\n");
	}
	EQ(text(&cli), "-ERR MIGRATE: key 'r2' was written on every one of 3 tries to move it: "
		       "it stays here (the target may hold an older copy)\r\n");
	EQ(CMD("GET", "r2"), "$1\r\n3\r\n");
}

static void keys_of_another_lcore_are_deleted_on_their_owner(void **state)
{
	uint64_t keys = mst()->keys;

	(void)state;
	EQ(CMD("SET", "m1", "remote"), "+OK\r\n");
	EQ(CMD("HSET", "m2", "f", "old"), ":1\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "", "0", "1000", "KEYS", "m1", "m2"), "");
	assert_int_equal(count_cmds(pbuf, peer.n), 2);	/* (db 0 known on this connection) */
	EQ(CMD2("HSET", "m2", "f", "new"), ":0\r\n");	/* m2 changes on its owner */
	target_says("+OK\r\n+OK\r\n");
	EQ(text(&cli), "");	/* m1 deleted there; m2 goes again */
	assert_int_equal(count_cmds(pbuf, peer.n), 1);
	assert_true(has(pbuf, peer.n, "*5\r\n$7\r\nRESTORE\r\n$2\r\nm2\r\n"));
	assert_true(has(pbuf, peer.n, "new"));
	target_says("+OK\r\n");
	EQ(text(&cli), "+OK\r\n");
	EQ(CMD("EXISTS", "m1", "m2"), ":0\r\n");
	assert_int_equal(mst()->keys, keys + 3);
}

/*
 * The deletes of a round: one owner call per partition, however many of its
 * keys the target took; of those, one written there meanwhile goes again
 * (REPLACE), one deleted there meanwhile is deleted on the target, the
 * others are gone here. The local partition's keys are deleted inline.
 */
static void deletes_one_owner_call_per_partition(void **state)
{
	uint64_t keys = mst()->keys;

	(void)state;
	route_to_remote("m3");
	route_to_remote("m4");
	route_to_remote("m5");
	route_to_remote("m6");
	EQ(CMD("MSET", "m3", "a", "m4", "b", "m5", "c", "m6", "d", "l1", "x", "l2", "y"),
	   "+OK\r\n");
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "", "0", "1000", "KEYS", "m3", "l1", "m4", "m5",
	       "l2", "m6"), "");
	assert_int_equal(count_cmds(pbuf, peer.n), 6);	/* (db 0 known on this connection) */
	EQ(CMD2("SET", "m4", "changed"), "+OK\r\n");
	EQ(CMD2("DEL", "m5"), ":1\r\n");
	served = 0;
	target_says("+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n");
	assert_int_equal(served, 1);	/* m3, m4, m5, m6: one call on their owner */
	EQ(text(&cli), "");
	/* the next round: m4 again, with REPLACE; m5 deleted there */
	assert_int_equal(count_cmds(pbuf, peer.n), 2);
	assert_true(has(pbuf, peer.n, "*5\r\n$7\r\nRESTORE\r\n$2\r\nm4\r\n"));
	assert_true(has(pbuf, peer.n, "changed"));
	assert_true(has(pbuf, peer.n, "*2\r\n$3\r\nDEL\r\n$2\r\nm5\r\n"));
	served = 0;
	target_says("+OK\r\n:1\r\n");
	assert_int_equal(served, 1);	/* m4 */
	EQ(text(&cli), "+OK\r\n");
	EQ(CMD("EXISTS", "m3", "m4", "m5", "m6", "l1", "l2"), ":0\r\n");
	assert_int_equal(mst()->keys, keys + 7);
}

/*
 * A target whose MAC is not known: the node asks for it (ARP) and sends no
 * SYN into the void (TCP would resend it only after its 1 s RTO); the SYN
 * leaves as soon as the ARP reply is in. Never answered: the timeout.
 */
static void unknown_target_mac_is_asked_for_first(void **state)
{
	uint8_t f[128];

	(void)state;
	EQ(CMD("SET", "u1", "v"), "+OK\r\n");
	arp_for_unres = syn_to_unres = false;
	EQ(CMD("MIGRATE", "198.18.0.2", "7003", "u1", "0", "1000"), "");
	assert_true(arp_for_unres);
	assert_false(syn_to_unres);
	dp_input(&h, f, dp_arp(f, RTE_ARP_OP_REPLY, UNRES, DP_IP));
	wc_mig_poll(h.lc);
	wc_net_flush(h.lc);
	note_unres();
	assert_true(syn_to_unres);
	h.lc->tcp->now_ms += 1001;
	h.lc->tcp->now_us += 1001000;
	wc_mig_poll(h.lc);
	pump();
	EQ(text(&cli), "-IOERR error or timeout connecting to the client\r\n");
	EQ(CMD("EXISTS", "u1"), ":1\r\n");
}

/*
 * More keys than a round carries (MIG_ROUND_KEYS) and than one arena chunk
 * holds the state of: two rounds, every key moved and deleted here.
 */
#define BULK 5000
static void many_keys_go_in_rounds(void **state)
{
	static char names[BULK][16];
	static const char *argv[7 + BULK];
	static uint8_t req[1 << 17];
	static char oks[4096 * 5 + 1];
	size_t n = 0;
	uint64_t keys = mst()->keys;

	(void)state;
	for (int i = 0; i < BULK; i++)
		snprintf(names[i], sizeof(names[i]), "bulk%d", i);
	/* MSET of all of them, in one request */
	n = (size_t)sprintf((char *)req, "*%d\r\n$4\r\nMSET\r\n", 1 + 2 * BULK);
	for (int i = 0; i < BULK; i++)
		n += (size_t)sprintf((char *)req + n, "$%zu\r\n%s\r\n$1\r\nv\r\n", strlen(names[i]),
				     names[i]);
	cli.n = 0;
	send_on(&cli, req, n);
	EQ(text(&cli), "+OK\r\n");
	argv[0] = "MIGRATE"; argv[1] = "198.18.0.1"; argv[2] = "7000"; argv[3] = "";
	argv[4] = "0"; argv[5] = "1000"; argv[6] = "KEYS";
	for (int i = 0; i < BULK; i++)
		argv[7 + i] = names[i];
	cli.n = 0;
	peer.n = 0;
	send_on(&cli, req, resp_req(req, 7 + BULK, argv));
	EQ(text(&cli), "");
	assert_int_equal(count_cmds(pbuf, peer.n), 4096);	/* the first round */
	for (int i = 0; i < 4096; i++)
		memcpy(oks + 5 * i, "+OK\r\n", 5);
	oks[5 * 4096] = 0;
	target_says(oks);
	assert_int_equal(count_cmds(pbuf, peer.n), BULK - 4096);	/* the rest */
	oks[5 * (BULK - 4096)] = 0;
	target_says(oks);
	EQ(text(&cli), "+OK\r\n");
	assert_int_equal(mst()->keys, keys + BULK);
	EQ(CMD("EXISTS", "bulk0", "bulk4095", "bulk4096", "bulk4999"), ":0\r\n");
}

static void connect_refused_and_bad_host(void **state)
{
	(void)state;
	EQ(CMD("SET", "b1", "v"), "+OK\r\n");
	EQ(CMD("MIGRATE", "not-an-ip", "7000", "b1", "0", "1000"),
	   "-IOERR error or timeout connecting to the client\r\n");
	/* the cached connection, unused for 10 s, is closed (Redis's cache TTL) */
	h.lc->tcp->now_ms += 9000;
	h.lc->tcp->now_us += 9000000;
	wc_mig_poll(h.lc);
	pump();
	assert_false(peer.fin);
	h.lc->tcp->now_ms += 2000;
	h.lc->tcp->now_us += 2000000;
	wc_mig_poll(h.lc);
	pump();
	assert_true(peer.fin);
	peer.dport = 0;
	/* the target refuses: RST to the SYN */
	no_accept = true;
	EQ(CMD("MIGRATE", "198.18.0.1", "7000", "b1", "0", "1000"), "");
	assert_int_not_equal(peer.dport, 0);
	{
		uint8_t f[128];

		dp_input(&h, f, dp_tcp_ports(f, TPORT, peer.dport,
					     RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, syn_seq + 1, 0,
					     NULL, 0, NULL, 0));
		pump();
	}
	no_accept = false;
	EQ(text(&cli), "-IOERR error or timeout connecting to the client\r\n");
	EQ(CMD("EXISTS", "b1"), ":1\r\n");
	peer.dport = 0;
}

/* The counters are in the table the control plane reads (/metrics: wirecache_migrate_*). */
static void counters_reach_the_control_plane(void **state)
{
	static struct wc_cp_counter_desc d[WC_CP_MAX_COUNTERS];
	static uint64_t v[WC_CP_MAX_COUNTERS];
	static const char *const names[] = { "migrate_calls", "migrate_keys", "migrate_bytes",
					      "migrate_errors" };
	const uint64_t want[] = { mst()->calls, mst()->keys, mst()->bytes, mst()->errors };
	unsigned n = wc_cp_counters_describe(d, WC_CP_MAX_COUNTERS);

	(void)state;
	wc_cp_counters_read(h.lc, v, n);
	for (unsigned k = 0; k < 4; k++) {
		unsigned i = 0;

		while (i < n && strcmp(d[i].name, names[k]) != 0)
			i++;
		assert_true(i < n);
		assert_int_equal(d[i].kind, WC_CP_COUNTER);
		assert_int_equal(v[i], want[k]);
		assert_true(want[k] > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(moves_strings_hashes_sets_with_ttls),
		cmocka_unit_test(nokey_and_syntax),
		cmocka_unit_test(memcached_flags_travel),
		cmocka_unit_test(copy_replace_auth_reuse_the_connection),
		cmocka_unit_test(target_error_is_reported_and_the_key_stays),
		cmocka_unit_test(timeout_and_protocol_error_close_the_connection),
		cmocka_unit_test(racing_write_sends_the_key_again),
		cmocka_unit_test(keys_of_another_lcore_are_deleted_on_their_owner),
		cmocka_unit_test(deletes_one_owner_call_per_partition),
		cmocka_unit_test(many_keys_go_in_rounds),
		cmocka_unit_test(connect_refused_and_bad_host),
		cmocka_unit_test(unknown_target_mac_is_asked_for_first),
		cmocka_unit_test(counters_reach_the_control_plane),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
