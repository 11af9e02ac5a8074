/*
 * test_rd_cluster_session.c - Redis Cluster through a whole session: RESP
 * over the dataplane's own TCP on a dataplane without a NIC (dp_harness.h),
 * in cluster mode and without it. CLUSTER subcommands as a client gets
 * them, CROSSSLOT on multi-key commands (also past 256 keys) and across a
 * transaction at EXEC, SELECT, ASKING lasting one command, COUNTKEYSINSLOT
 * and GETKEYSINSLOT walking the partition in slices; "cluster support
 * disabled" without --cluster; and the node id kept in the state directory
 * across restarts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "dp_harness.h"
#include "net/tcp_impl.h"
#include "redis/server.h"
#include "redis/slotkeys.h"
#include "store/scan.h"
#include "wirecache/slot.h"

#define ISN 5000000u
#define RPORT 6379

static struct dp_harness h;
static struct rd_server srv;
static char state_dir[64];
static bool cluster_mode;
static uint16_t next_cport = 42000;

/* ---- setup: a harness whose app has a Redis side ---- */

static void with_redis(struct wc_config *c)
{
	struct wc_app *app = (struct wc_app *)(void *)((char *)c - offsetof(struct wc_app, cfg));

	c->redis_port = RPORT;
	c->max_conns = 64;
	app->rd = &srv;
}

static int setup_mode(bool cluster)
{
	cluster_mode = cluster;
	if (dp_eal_init() != 0)
		return -1;
	rd_cmds_init();
	snprintf(state_dir, sizeof(state_dir), "/tmp/wc-rdcl-XXXXXX");
	if (!mkdtemp(state_dir))
		return -1;
	if (rd_server_init(&srv, state_dir, RPORT, cluster, "198.18.0.11", 0, 16u << 20, 1u << 20,
			   NULL, NULL, "test") != 0)
		return -1;
	if (dp_setup(&h, with_redis) != 0)
		return -1;
	dp_freeze_clock(&h);
	dp_learn_client(&h);
	return 0;
}

static int setup_cluster(void **state)
{
	(void)state;
	return setup_mode(true);
}

static int setup_plain(void **state)
{
	(void)state;
	return setup_mode(false);
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	dp_teardown(&h);
	rd_server_fini(&srv);
	snprintf(path, sizeof(path), "%s/node-id", state_dir);
	unlink(path);
	rmdir(state_dir);
	return 0;
}

/* ---- a client ---- */

struct client {
	uint16_t port;
	uint32_t seq, ack;
};

static void tx(struct client *c, uint8_t flags, const void *data, size_t len)
{
	uint8_t f[2048];

	dp_input(&h, f, dp_tcp_ports(f, c->port, RPORT, flags, c->seq, c->ack, 65535, data, len,
				     NULL, 0));
}

static struct client connect_(void)
{
	struct client c = { .port = next_cport++, .seq = ISN };
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4 };
	uint8_t f[2048];
	const struct rte_tcp_hdr *th;

	dp_clear_sent(&h);
	dp_input(&h, f, dp_tcp_ports(f, c.port, RPORT, RTE_TCP_SYN_FLAG, c.seq, 0, 65535, NULL, 0,
				     opts, sizeof(opts)));
	assert_int_equal(h.nsent, 1);
	th = (const struct rte_tcp_hdr *)(rte_pktmbuf_mtod(h.sent[0], const uint8_t *) +
					  RTE_ETHER_HDR_LEN + 20);
	assert_int_equal(th->tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	c.seq++;
	c.ack = rte_be_to_cpu_32(th->sent_seq) + 1;
	dp_clear_sent(&h);
	tx(&c, RTE_TCP_ACK_FLAG, NULL, 0);
	return c;
}

/* Take what the node sent (in order), acknowledging it. */
static size_t collect(struct client *c, char *out, size_t n, size_t cap)
{
	for (unsigned i = 0; i < h.nsent; i++) {
		const uint8_t *fr = rte_pktmbuf_mtod(h.sent[i], const uint8_t *);
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(fr + RTE_ETHER_HDR_LEN);
		const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
		unsigned doff = (th->data_off >> 4) * 4u;
		uint16_t len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - 20 - doff);

		if (ip->next_proto_id != IPPROTO_TCP || !len ||
		    rte_be_to_cpu_32(th->sent_seq) != c->ack)
			continue;
		assert_true(n + len < cap);
		memcpy(out + n, (const uint8_t *)th + doff, len);
		n += len;
		c->ack += len;
	}
	dp_clear_sent(&h);
	return n;
}

/* Where a complete RESP value starting at p ends, or NULL. */
static const char *resp_end(const char *p, const char *end)
{
	const char *eol;
	long long n;
	char type;

	if (p >= end)
		return NULL;
	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	if (!eol)
		return NULL;
	n = strtoll(p + 1, NULL, 10);
	type = *p;
	switch (type) {
	case '$':
	case '=':
	case '!':
		if (n < 0)
			return eol + 2;
		return eol + 2 + n + 2 <= end ? eol + 2 + n + 2 : NULL;
	case '*':
	case '%':
	case '~':
	case '>':
		p = eol + 2;
		for (long long i = 0; i < (type == '%' ? 2 : 1) * (n < 0 ? 0 : n) && p; i++)
			p = resp_end(p, end);
		return p;
	default:
		return eol + 2;
	}
}

/* Send a command (RESP text), run the node until the whole reply came; returns it. */
static const char *cmd_n(struct client *c, const char *text, size_t len)
{
	static char reply[1 << 18];
	size_t n = 0;

	dp_clear_sent(&h);
	for (size_t off = 0; off < len; off += 1400) {
		size_t k = len - off < 1400 ? len - off : 1400;

		tx(c, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, text + off, k);
		c->seq += (uint32_t)k;
		n = collect(c, reply, n, sizeof(reply));
	}
	for (unsigned polls = 0; polls < 10000; polls++) {
		const char *e = resp_end(reply, reply + n);

		if (e == reply + n && n)
			break;
		wc_tcp_poll(h.lc);
		wc_net_flush(h.lc);
		n = collect(c, reply, n, sizeof(reply));
	}
	reply[n] = 0;
	assert_true(n > 0);
	tx(c, RTE_TCP_ACK_FLAG, NULL, 0);
	dp_clear_sent(&h);
	return reply;
}

/* A command from words (RESP multibulk). */
static const char *cmd(struct client *c, const char *fmt, ...)
{
	static char line[4096], req[8192];
	char *argv[64];
	int argc = 0;
	size_t n = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *t = strtok(line, " "); t && argc < 64; t = strtok(NULL, " "))
		argv[argc++] = t;
	n += (size_t)snprintf(req + n, sizeof(req) - n, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "$%zu\r\n%s\r\n", strlen(argv[i]),
				      argv[i]);
	return cmd_n(c, req, n);
}

static struct rd_session *session_of(const struct client *c)
{
	struct wc_tcb *t = wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c->port, RPORT);

	assert_non_null(t);
	return &t->rd;
}

/* A hash tag whose keys hash to slot. */
static void tag_for(unsigned slot, char *tag, size_t cap)
{
	for (unsigned i = 0;; i++) {
		snprintf(tag, cap, "tag%u", i);
		if (wc_key_slot(tag, strlen(tag)) == slot)
			return;
	}
}

/* ---- cluster mode ---- */

static void cluster_subcommands(void **state)
{
	struct client c = connect_();
	char want[512];

	(void)state;
	snprintf(want, sizeof(want), "$40\r\n%s\r\n", srv.node_id);
	assert_string_equal(cmd(&c, "CLUSTER MYID"), want);
	assert_non_null(strstr(cmd(&c, "CLUSTER INFO"), "cluster_state:ok\r\ncluster_slots_assigned:16384\r\n"));
	snprintf(want, sizeof(want), "%s 198.18.0.11:6379@16379 myself,master - 0 0 0 connected 0-16383\n\r\n",
		 srv.node_id);
	assert_non_null(strstr(cmd(&c, "cluster nodes"), want));
	snprintf(want, sizeof(want), "*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$11\r\n198.18.0.11\r\n:6379\r\n"
		 "$40\r\n%s\r\n*0\r\n", srv.node_id);
	assert_string_equal(cmd(&c, "CLUSTER SLOTS"), want);
	assert_non_null(strstr(cmd(&c, "CLUSTER SHARDS"), "$6\r\nhealth\r\n$6\r\nonline\r\n"));
	assert_string_equal(cmd(&c, "CLUSTER KEYSLOT foo"), ":12182\r\n");
	snprintf(want, sizeof(want), "%s", cmd(&c, "CLUSTER KEYSLOT {user1000}.following"));
	assert_string_equal(cmd(&c, "CLUSTER KEYSLOT {user1000}.followers"), want);
	assert_string_equal(cmd(&c, "CLUSTER KEYSLOT user1000"), want);
	assert_string_equal(cmd(&c, "CLUSTER"),
			    "-ERR wrong number of arguments for 'cluster' command\r\n");
	assert_string_equal(cmd(&c, "CLUSTER KEYSLOT"),
			    "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n");
	assert_string_equal(cmd(&c, "CLUSTER MEET 1.2.3.4 6379"),
			    "-ERR unknown subcommand 'MEET'. Try CLUSTER HELP.\r\n");
	assert_true(strncmp(cmd(&c, "CLUSTER HELP"), "*24\r\n+CLUSTER <subcommand>", 26) == 0);
	/* CLUSTER FAILOVER wants a replica (and a cluster map, a valid option) */
	assert_string_equal(cmd(&c, "CLUSTER FAILOVER"),
			    "-ERR You should send CLUSTER FAILOVER to a replica\r\n");
	assert_string_equal(cmd(&c, "CLUSTER FAILOVER FORCE"),
			    "-ERR You should send CLUSTER FAILOVER to a replica\r\n");
	assert_string_equal(cmd(&c, "CLUSTER FAILOVER NOW"), "-ERR syntax error\r\n");
	assert_string_equal(cmd(&c, "CLUSTER FAILOVER FORCE TAKEOVER"), "-ERR syntax error\r\n");
	/* RESP3: texts are verbatim, the node's metadata an empty map */
	assert_non_null(strstr(cmd(&c, "HELLO 3"), "cluster"));
	snprintf(want, sizeof(want), "$40\r\n%s\r\n%%0\r\n", srv.node_id);
	assert_non_null(strstr(cmd(&c, "CLUSTER SLOTS"), want));
	assert_true(strncmp(cmd(&c, "CLUSTER INFO"), "=", 1) == 0);
	assert_non_null(strstr(cmd(&c, "CLUSTER INFO"), "txt:cluster_state:ok\r\n"));
	assert_true(strncmp(cmd(&c, "CLUSTER SHARDS"), "*1\r\n%2\r\n", 8) == 0);
	assert_string_equal(cmd(&c, "READONLY"), "+OK\r\n");
	assert_true(session_of(&c)->flags & RD_C_READONLY);
	assert_string_equal(cmd(&c, "READWRITE"), "+OK\r\n");
	assert_false(session_of(&c)->flags & RD_C_READONLY);
}

static void crossslot_and_select(void **state)
{
	struct client c = connect_();
	static char req[32768];
	size_t n;

	(void)state;
	assert_string_equal(cmd(&c, "MSET a 1 b 2"),
			    "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
	assert_string_equal(cmd(&c, "GET a"), "$-1\r\n");	/* nothing was written */
	assert_string_equal(cmd(&c, "MSET {t}a 1 {t}b 2"), "+OK\r\n");
	assert_string_equal(cmd(&c, "MGET {t}a {t}b"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
	assert_string_equal(cmd(&c, "MGET {t}a b"),
			    "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
	assert_string_equal(cmd(&c, "DEL {t}a {t}b a"),
			    "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
	assert_string_equal(cmd(&c, "EXISTS {t}a {t}a"), ":2\r\n");
	assert_string_equal(cmd(&c, "SELECT 1"), "-ERR SELECT is not allowed in cluster mode\r\n");
	assert_string_equal(cmd(&c, "SELECT 0"), "+OK\r\n");
	/* 400 keys of one slot, then the same with the last key elsewhere */
	for (int last_elsewhere = 0; last_elsewhere < 2; last_elsewhere++) {
		n = (size_t)snprintf(req, sizeof(req), "*801\r\n$4\r\nMSET\r\n");
		for (int i = 0; i < 400; i++) {
			char k[32];

			snprintf(k, sizeof(k), i == 399 && last_elsewhere ? "zz%03d" : "{big}%03d", i);
			n += (size_t)snprintf(req + n, sizeof(req) - n, "$%zu\r\n%s\r\n$1\r\nv\r\n",
					      strlen(k), k);
		}
		assert_string_equal(cmd_n(&c, req, n),
				    last_elsewhere ? "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
						   : "+OK\r\n");
	}
}

static void transactions(void **state)
{
	struct client c = connect_();

	(void)state;
	/* Redis queues commands of other slots and refuses EXEC */
	assert_string_equal(cmd(&c, "MULTI"), "+OK\r\n");
	assert_string_equal(cmd(&c, "SET x1 1"), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "SET x2 2"), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "EXEC"),
			    "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
	assert_false(session_of(&c)->flags & RD_C_MULTI);	/* discarded */
	assert_string_equal(cmd(&c, "EXEC"), "-ERR EXEC without MULTI\r\n");
	assert_string_equal(cmd(&c, "GET x1"), "$-1\r\n");
	/* a command whose own keys span slots is refused at once, and EXEC aborts */
	assert_string_equal(cmd(&c, "MULTI"), "+OK\r\n");
	assert_string_equal(cmd(&c, "MSET x1 1 x2 2"),
			    "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
	assert_string_equal(cmd(&c, "EXEC"),
			    "-EXECABORT Transaction discarded because of previous errors.\r\n");
	/* one slot: runs */
	assert_string_equal(cmd(&c, "MULTI"), "+OK\r\n");
	assert_string_equal(cmd(&c, "SET {acct}a 5"), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "INCR {acct}n"), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "PING"), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "EXEC"), "*3\r\n+OK\r\n:1\r\n+PONG\r\n");
}

static void asking_lasts_one_command(void **state)
{
	struct client c = connect_();

	(void)state;
	assert_string_equal(cmd(&c, "ASKING"), "+OK\r\n");
	assert_true(session_of(&c)->flags & RD_C_ASKING);
	assert_string_equal(cmd(&c, "GET k"), "$-1\r\n");
	assert_false(session_of(&c)->flags & RD_C_ASKING);
	assert_string_equal(cmd(&c, "ASKING"), "+OK\r\n");
	assert_string_equal(cmd(&c, "NOSUCHCOMMAND"),
			    "-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: \r\n");
	assert_false(session_of(&c)->flags & RD_C_ASKING);
	/* inside MULTI it lasts until EXEC */
	assert_string_equal(cmd(&c, "ASKING"), "+OK\r\n");
	assert_string_equal(cmd(&c, "MULTI"), "+OK\r\n");
	assert_string_equal(cmd(&c, "SET {q}1 1"), "+QUEUED\r\n");
	assert_true(session_of(&c)->flags & RD_C_ASKING);
	assert_string_equal(cmd(&c, "EXEC"), "*1\r\n+OK\r\n");
	assert_false(session_of(&c)->flags & RD_C_ASKING);
}

/*
 * Shard channels are keys to the slot check, as in Redis 7.0.15: SPUBLISH,
 * SSUBSCRIBE and SUNSUBSCRIBE move to the node serving the channel's slot,
 * and channels of different slots in one command are CROSSSLOT; plain
 * channels go anywhere; COMMAND INFO gives the key specs redis-server
 * gives (not_key), and COMMAND GETKEYS finds no keys in them.
 */
static void shard_channels_route_by_slot(void **state)
{
	struct client c = connect_();
	struct rd_cluster_map *m = rd_cluster_map_new(), *old;
	char mine[16], mine2[48], theirs[16], buf[256], want[512];

	(void)state;
	assert_non_null(m);
	assert_int_equal(rd_cluster_map_add_node(m, srv.node_id, "198.18.0.11", 6379, 16379,
						 RD_NODE_MASTER), 0);
	assert_int_equal(rd_cluster_map_add_node(m, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca",
						 "198.18.0.12", 6380, 16380, RD_NODE_MASTER), 1);
	m->myself = 0;
	rd_cluster_map_assign(m, 0, 8191, 0);
	rd_cluster_map_assign(m, 8192, 16383, 1);
	rd_cluster_map_finish(m);
	old = rd_cluster_map_publish(&srv, m);
	tag_for(100, mine, sizeof(mine));
	snprintf(mine2, sizeof(mine2), "{%s}.b", mine);
	tag_for(12182, theirs, sizeof(theirs));

	snprintf(want, sizeof(want), "-MOVED 12182 198.18.0.12:6380\r\n");
	assert_string_equal(cmd(&c, "SPUBLISH %s m", theirs), want);
	assert_string_equal(cmd(&c, "SPUBLISH %s m", mine), ":0\r\n");
	assert_string_equal(cmd(&c, "PUBLISH %s m", theirs), ":0\r\n");	/* not a shard channel */
	assert_string_equal(cmd(&c, "SSUBSCRIBE %s", theirs), want);
	assert_string_equal(cmd(&c, "SSUBSCRIBE %s %s", mine, theirs),
			    "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
	snprintf(want, sizeof(want), "*3\r\n$10\r\nssubscribe\r\n$%zu\r\n%s\r\n:1\r\n"
		 "*3\r\n$10\r\nssubscribe\r\n$%zu\r\n%s\r\n:2\r\n", strlen(mine), mine,
		 strlen(mine2), mine2);
	assert_string_equal(cmd(&c, "SSUBSCRIBE %s %s", mine, mine2), want);
	assert_string_equal(cmd(&c, "SUNSUBSCRIBE %s %s", mine, theirs),
			    "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
	snprintf(want, sizeof(want), "-MOVED 12182 198.18.0.12:6380\r\n");
	assert_string_equal(cmd(&c, "SUNSUBSCRIBE %s", theirs), want);
	snprintf(want, sizeof(want), "*3\r\n$12\r\nsunsubscribe\r\n$%zu\r\n%s\r\n:1\r\n"
		 "*3\r\n$12\r\nsunsubscribe\r\n$%zu\r\n%s\r\n:0\r\n", strlen(mine), mine,
		 strlen(mine2), mine2);
	assert_string_equal(cmd(&c, "SUNSUBSCRIBE"), want);	/* no channel: no slot */
	/* queued in a transaction: checked when queued and again at EXEC */
	assert_string_equal(cmd(&c, "MULTI"), "+OK\r\n");
	assert_string_equal(cmd(&c, "SPUBLISH %s m", theirs),
			    "-MOVED 12182 198.18.0.12:6380\r\n");
	assert_string_equal(cmd(&c, "EXEC"),
			    "-EXECABORT Transaction discarded because of previous errors.\r\n");
	assert_string_equal(cmd(&c, "MULTI"), "+OK\r\n");
	assert_string_equal(cmd(&c, "SPUBLISH %s m", mine), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "SET %s v", mine2), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "EXEC"), "*2\r\n:0\r\n+OK\r\n");
	/* what COMMAND says (redis-server 7.0.15's replies, byte for byte) */
	assert_string_equal(cmd(&c, "COMMAND GETKEYS SPUBLISH ch m"),
			    "-ERR The command has no key arguments\r\n");
	assert_string_equal(cmd(&c, "COMMAND GETKEYSANDFLAGS SSUBSCRIBE a b"),
			    "-ERR The command has no key arguments\r\n");
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { "spublish", "ssubscribe", "sunsubscribe" };
		static const char *const heads[] = {
			":3\r\n*4\r\n+pubsub\r\n+loading\r\n+stale\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
			"*2\r\n+@pubsub\r\n+@fast\r\n",
			":-2\r\n*4\r\n+pubsub\r\n+noscript\r\n+loading\r\n+stale\r\n:1\r\n:-1\r\n:1\r\n"
			"*2\r\n+@pubsub\r\n+@slow\r\n",
			":-1\r\n*4\r\n+pubsub\r\n+noscript\r\n+loading\r\n+stale\r\n:1\r\n:-1\r\n:1\r\n"
			"*2\r\n+@pubsub\r\n+@slow\r\n",
		};

		snprintf(buf, sizeof(buf), "COMMAND INFO %s", names[i]);
		snprintf(want, sizeof(want),
			 "*1\r\n*10\r\n$%zu\r\n%s\r\n%s*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n"
			 "+not_key\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n"
			 "$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n"
			 "$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:%d\r\n"
			 "$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n",
			 strlen(names[i]), names[i], heads[i], i == 0 ? 0 : -1);
		assert_string_equal(cmd(&c, "%s", buf), want);
	}
	rd_cluster_map_free(rd_cluster_map_publish(&srv, old));
}

/*
 * A slot this node migrates away: a write to a key still here is served
 * here, one to a key already gone answers ASK (decided at admission); and a
 * write admitted because its key was here answers ASK instead if the key is
 * gone by the time its owner call runs (a MIGRATE's delete on the same
 * owner got there first): rd_cluster_ask_instead, the owner's check.
 */
static void migrating_slot_guards_writes(void **state)
{
	struct client c = connect_();
	struct rd_cluster_map *m = rd_cluster_map_new(), *old;
	struct rd_session *s;
	char tag[16], want[128], buf[128];
	struct mc_out o = { .p = (uint8_t *)buf, .end = (uint8_t *)buf + sizeof(buf) };

	(void)state;
	assert_non_null(m);
	assert_int_equal(rd_cluster_map_add_node(m, srv.node_id, "198.18.0.11", 6379, 16379,
						 RD_NODE_MASTER), 0);
	assert_int_equal(rd_cluster_map_add_node(m, "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca",
						 "198.18.0.12", 6380, 16380, RD_NODE_MASTER), 1);
	m->myself = 0;
	rd_cluster_map_assign(m, 0, 16383, 0);
	m->migrating[300] = 1;
	rd_cluster_map_finish(m);
	tag_for(300, tag, sizeof(tag));
	assert_string_equal(cmd(&c, "SET {%s}here v1", tag), "+OK\r\n");
	old = rd_cluster_map_publish(&srv, m);

	assert_string_equal(cmd(&c, "SET {%s}here v2", tag), "+OK\r\n");
	assert_false(session_of(&c)->flags & RD_C_ASK_GUARD);	/* one command only */
	assert_string_equal(cmd(&c, "GET {%s}here", tag), "$2\r\nv2\r\n");
	snprintf(want, sizeof(want), "-ASK 300 198.18.0.12:6380\r\n");
	assert_string_equal(cmd(&c, "SET {%s}gone v", tag), want);
	assert_string_equal(cmd(&c, "INCR {%s}gone", tag), want);

	/* the owner's check, as a guarded call runs it */
	s = session_of(&c);
	s->ask_slot = 300;
	s->ask_node = 1;
	snprintf(buf, sizeof(buf), "{%s}here", tag);
	assert_false(rd_cluster_ask_instead(s, h.app.parts[0], &h.lc->ctx, (const uint8_t *)buf,
					    (uint32_t)strlen(buf), &o));
	assert_true(o.p == (uint8_t *)buf);			/* nothing written */
	assert_string_equal(cmd(&c, "DEL {%s}here", tag), ":1\r\n");
	snprintf(want, sizeof(want), "{%s}here", tag);
	assert_true(rd_cluster_ask_instead(s, h.app.parts[0], &h.lc->ctx, (const uint8_t *)want,
					   (uint32_t)strlen(want), &o));
	assert_int_equal((int)(o.p - (uint8_t *)buf), 27);
	assert_memory_equal(buf, "-ASK 300 198.18.0.12:6380\r\n", 27);
	rd_cluster_map_free(rd_cluster_map_publish(&srv, old));
}

/* The keys of slot (a tag of it, then i): n of them. */
static void fill_slot(struct client *c, unsigned slot, int n)
{
	char tag[16];

	tag_for(slot, tag, sizeof(tag));
	for (int i = 0; i < n; i++)
		assert_string_equal(cmd(c, "SET {%s}n%02d v", tag, i), "+OK\r\n");
}

static unsigned names_in(const char *reply)
{
	unsigned n = 0;

	assert_int_equal(reply[0], '*');
	assert_int_equal(sscanf(reply + 1, "%u", &n), 1);
	return n;
}

/*
 * GETKEYSINSLOT answers slot after slot from one walk (redis/slotkeys.h):
 * the listing covers every slot of the partition; a key added since, or
 * one gone, is seen; a slot that does not fit the listing is walked for.
 */
static void keys_listed_once(void **state)
{
	struct client c = connect_();
	struct rd_slotkeys_stats a, b;
	char tag[16];

	(void)state;
	for (unsigned slot = 900; slot < 904; slot++)
		fill_slot(&c, slot, 20);
	rd_slotkeys_get_stats(h.lc, &a);
	assert_int_equal(names_in(cmd(&c, "CLUSTER GETKEYSINSLOT 900 100")), 20);
	assert_int_equal(names_in(cmd(&c, "CLUSTER GETKEYSINSLOT 901 100")), 20);
	rd_slotkeys_get_stats(h.lc, &b);
	assert_int_equal(b.walks, a.walks + 1);		/* one walk for both */
	assert_int_equal(b.answered, a.answered + 2);
	/* a key written after the walk: the count disagrees, the listing is made again */
	tag_for(902, tag, sizeof(tag));
	assert_string_equal(cmd(&c, "SET {%s}late v", tag), "+OK\r\n");
	assert_non_null(strstr(cmd(&c, "CLUSTER GETKEYSINSLOT 902 100"), "}late\r\n"));
	rd_slotkeys_get_stats(h.lc, &a);
	assert_int_equal(a.walks, b.walks + 1);
	assert_int_equal(names_in(cmd(&c, "CLUSTER GETKEYSINSLOT 902 100")), 21);
	/* keys gone since the walk are skipped, with no walk */
	tag_for(903, tag, sizeof(tag));
	assert_string_equal(cmd(&c, "DEL {%s}n00 {%s}n01 {%s}n02", tag, tag, tag), ":3\r\n");
	assert_string_equal(cmd(&c, "CLUSTER COUNTKEYSINSLOT 903"), ":17\r\n");
	assert_int_equal(names_in(cmd(&c, "CLUSTER GETKEYSINSLOT 903 100")), 17);
	assert_null(strstr(cmd(&c, "CLUSTER GETKEYSINSLOT 903 100"), "n00\r\n"));
	assert_int_equal(names_in(cmd(&c, "CLUSTER GETKEYSINSLOT 903 5")), 5);
	rd_slotkeys_get_stats(h.lc, &b);
	assert_int_equal(b.walks, a.walks);
	/* a listing too small for the slot: walked for directly, still every key */
	rd_slotkeys_lcore_fini(h.lc);
	rd_slotkeys_arena_bytes = 256;
	assert_int_equal(rd_slotkeys_lcore_init(h.lc), 0);
	assert_int_equal(names_in(cmd(&c, "CLUSTER GETKEYSINSLOT 900 100")), 20);
	rd_slotkeys_get_stats(h.lc, &a);
	assert_int_equal(a.direct, 1);
	assert_true(a.left_out > 0);
	rd_slotkeys_lcore_fini(h.lc);
	rd_slotkeys_arena_bytes = RD_SLOTKEYS_ARENA;
	assert_int_equal(rd_slotkeys_lcore_init(h.lc), 0);
	/* an empty slot, a count of 0: no walk at all */
	assert_string_equal(cmd(&c, "CLUSTER GETKEYSINSLOT 904 10"), "*0\r\n");
	rd_slotkeys_get_stats(h.lc, &b);
	assert_int_equal(b.walks, 0);
}

static void keys_in_slot(void **state)
{
	struct client c = connect_();
	char tag[16], key[64], want[64];
	unsigned slot = 777, empty = 778;
	const char *r;

	(void)state;
	tag_for(slot, tag, sizeof(tag));
	for (int i = 0; i < 50; i++)
		assert_string_equal(cmd(&c, "SET {%s}k%02d v", tag, i), "+OK\r\n");
	for (int i = 0; i < 300; i++)
		assert_string_equal(cmd(&c, "SET other%d v", i), "+OK\r\n");
	assert_string_equal(cmd(&c, "CLUSTER COUNTKEYSINSLOT %u", slot), ":50\r\n");
	assert_string_equal(cmd(&c, "CLUSTER COUNTKEYSINSLOT %u", empty), ":0\r\n");
	/* GETKEYSINSLOT: at most count names, all of the slot, no repeats */
	r = cmd(&c, "CLUSTER GETKEYSINSLOT %u 10", slot);
	assert_true(strncmp(r, "*10\r\n", 5) == 0);
	r = cmd(&c, "CLUSTER GETKEYSINSLOT %u 1000", slot);
	assert_true(strncmp(r, "*50\r\n", 5) == 0);
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "{%s}k%02d\r\n", tag, i);
		assert_non_null(strstr(r, key));
		assert_null(strstr(strstr(r, key) + 1, key));
	}
	assert_string_equal(cmd(&c, "CLUSTER GETKEYSINSLOT %u 0", slot), "*0\r\n");
	assert_string_equal(cmd(&c, "CLUSTER GETKEYSINSLOT %u 5", empty), "*0\r\n");
	/* deleted and expired keys are not counted */
	assert_string_equal(cmd(&c, "DEL {%s}k00 {%s}k01", tag, tag), ":2\r\n");
	assert_string_equal(cmd(&c, "CLUSTER COUNTKEYSINSLOT %u", slot), ":48\r\n");
	snprintf(want, sizeof(want), ":%u\r\n", slot);
	assert_string_equal(cmd(&c, "CLUSTER KEYSLOT {%s}anything", tag), want);
	/* arguments */
	assert_string_equal(cmd(&c, "CLUSTER COUNTKEYSINSLOT 16384"), "-ERR Invalid slot\r\n");
	assert_string_equal(cmd(&c, "CLUSTER COUNTKEYSINSLOT -1"), "-ERR Invalid slot\r\n");
	assert_string_equal(cmd(&c, "CLUSTER COUNTKEYSINSLOT x"),
			    "-ERR value is not an integer or out of range\r\n");
	assert_string_equal(cmd(&c, "CLUSTER GETKEYSINSLOT 1 -1"),
			    "-ERR Invalid slot or number of keys\r\n");
	assert_string_equal(cmd(&c, "CLUSTER GETKEYSINSLOT 16384 1"),
			    "-ERR Invalid slot or number of keys\r\n");
	assert_string_equal(cmd(&c, "CLUSTER GETKEYSINSLOT 1 x"),
			    "-ERR value is not an integer or out of range\r\n");
	/* the walk yields between slices: other connections are served meanwhile */
	assert_true(wc_part_index_buckets(h.app.parts[0]) > 256 * 64);
}

/* ---- without --cluster ---- */

static void cluster_disabled(void **state)
{
	struct client c = connect_();
	static const char *const cmds[] = {
		"CLUSTER INFO", "CLUSTER MYID", "CLUSTER NODES", "CLUSTER SLOTS", "CLUSTER SHARDS",
		"CLUSTER KEYSLOT a", "CLUSTER COUNTKEYSINSLOT 1", "CLUSTER GETKEYSINSLOT 1 1",
		"CLUSTER HELP", "READONLY", "READWRITE", "ASKING",
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		assert_string_equal(cmd(&c, "%s", cmds[i]),
				    "-ERR This instance has cluster support disabled\r\n");
	assert_false(session_of(&c)->flags & (RD_C_READONLY | RD_C_ASKING));
	assert_string_equal(cmd(&c, "CLUSTER NOPE"),
			    "-ERR unknown subcommand 'NOPE'. Try CLUSTER HELP.\r\n");
	/* no slots: keys of any slots go together */
	assert_string_equal(cmd(&c, "MSET a 1 b 2"), "+OK\r\n");
	assert_string_equal(cmd(&c, "SELECT 1"), "-ERR DB index is out of range\r\n");
	assert_string_equal(cmd(&c, "MULTI"), "+OK\r\n");
	assert_string_equal(cmd(&c, "GET a"), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "GET b"), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "EXEC"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
}

/* ---- the node id across restarts ---- */

static void node_id_survives_restarts(void **state)
{
	char dir[64], nested[128], path[160], id[41], id2[41], err[256], buf[64] = "";
	struct rd_server a, b;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wc-rdid-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(nested, sizeof(nested), "%s/x/y", dir);
	/* first start: made, kept (the directories too) */
	assert_int_equal(rd_node_id_load(nested, id, err, sizeof(err)), 1);
	assert_int_equal(strlen(id), 40);
	snprintf(path, sizeof(path), "%s/node-id", nested);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(strlen(buf), 41);
	assert_memory_equal(buf, id, 40);
	assert_int_equal(buf[40], '\n');
	/* restarts: the same */
	assert_int_equal(rd_node_id_load(nested, id2, err, sizeof(err)), 0);
	assert_string_equal(id, id2);
	assert_int_equal(rd_server_init(&a, nested, 7000, true, "10.0.0.1", 0, 1 << 20, 1 << 20,
					NULL, NULL, "t"), 0);
	assert_string_equal(a.node_id, id);
	assert_string_equal(rd_cluster_map_get(&a)->node[0].id, id);
	assert_int_equal(rd_cluster_map_get(&a)->node[0].cport, 17000);
	assert_int_equal(rd_cluster_map_get(&a)->node[0].port, 7000);
	rd_server_fini(&a);
	assert_int_equal(rd_server_init(&b, nested, 7000, true, "10.0.0.1", 7100, 1 << 20, 1 << 20,
					NULL, NULL, "t"), 0);
	assert_string_equal(b.node_id, id);
	/* the announced port is what clients get; the bus port follows the real one */
	assert_int_equal(rd_cluster_map_get(&b)->node[0].port, 7100);
	assert_int_equal(rd_cluster_map_get(&b)->node[0].cport, 17000);
	rd_server_fini(&b);
	/* a damaged file: a cluster node refuses to start rather than change identity */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not an id\n", f);
	fclose(f);
	assert_int_equal(rd_node_id_load(nested, id2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not hold a node id"));
	assert_int_equal(rd_server_init(&a, nested, 7000, true, "10.0.0.1", 0, 1 << 20, 1 << 20,
					NULL, NULL, "t"), -1);
	rd_server_fini(&a);
	/* ... a node alone starts anyway */
	assert_int_equal(rd_server_init(&a, nested, 7000, false, "10.0.0.1", 0, 1 << 20, 1 << 20,
					NULL, NULL, "t"), 0);
	assert_null(rd_cluster_map_get(&a));
	rd_server_fini(&a);
	unlink(path);
	/* a state directory that cannot be made (a file is in the way) */
	snprintf(path, sizeof(path), "%s/blocker", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(nested, sizeof(nested), "%s/blocker/z", dir);
	assert_int_equal(rd_node_id_load(nested, id2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot keep the node id"));
	unlink(path);
	/* the bus port must fit */
	assert_int_equal(rd_server_init(&a, dir, 60000, true, "10.0.0.1", 0, 1 << 20, 1 << 20,
					NULL, NULL, "t"), -1);
	rd_server_fini(&a);
	snprintf(path, sizeof(path), "%s/node-id", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/x/y", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/x", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest cluster[] = {
		cmocka_unit_test(cluster_subcommands),
		cmocka_unit_test(crossslot_and_select),
		cmocka_unit_test(transactions),
		cmocka_unit_test(asking_lasts_one_command),
		cmocka_unit_test(migrating_slot_guards_writes),
		cmocka_unit_test(keys_in_slot),
		cmocka_unit_test(keys_listed_once),
		cmocka_unit_test(shard_channels_route_by_slot),
	};
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(cluster_disabled),
	};
	const struct CMUnitTest ids[] = {
		cmocka_unit_test(node_id_survives_restarts),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("cluster mode", cluster, setup_cluster, teardown);
	failed += cmocka_run_group_tests_name("without --cluster", plain, setup_plain, teardown);
	failed += cmocka_run_group_tests_name("node id", ids, NULL, NULL);
	return failed;
}
