/*
 * test_rd_replica_link.c - the replica's link to its master
 * (redis/replica_link.c) on the NIC-less harness, the test playing the
 * master at 198.18.0.1:7000: REPLICAOF, the SYN from the link's port range,
 * the handshake one command at a time (PING, AUTH with masterauth, REPLCONF
 * listening-port, REPLCONF capa eof capa psync2 capa wc, PSYNC ? -1), a
 * diskless "$EOF:" RDB after keep-alive newlines, loaded; the stream:
 * SELECT, SET, WCREPL.SET with memcached flags (seen by a memcached get),
 * MULTI/EXEC, another db's writes skipped, a type the node does not store
 * counted, WCREPL.MARK, REPLCONF GETACK answered with the exact offset;
 * clients' writes refused (-READONLY), WCREPL.SET unknown to clients; the
 * master's reset, then after the back-off a reconnection sending
 * REPLCONF wc-offsets and PSYNC <replid> <offset+1>, +CONTINUE keeping the
 * data; a broken stream drops the link; REPLICAOF NO ONE keeps the data and
 * takes writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dp_redis.h"
#include "net/tcp_impl.h"
#include "redis/replica.h"

#define TPORT 7000
#define REPLID "0123456789abcdef0123456789abcdef01234567"
#define MARK "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM"

static struct dp_harness h;
static uint8_t cbuf[1 << 16], mbuf[1 << 16], pbuf[1 << 20];
static struct dpc cli, mcc, peer;
static bool syn_seen;
static uint32_t syn_seq;
static uint16_t syn_sport;

static int setup(void **state)
{
	(void)state;
	if (dp_redis_setup(&h, 64u << 20, 38000) != 0)
		return -1;
	if (!dp_redis_open(&h, &cli, cbuf, sizeof(cbuf)) ||
	    !dpc_connect(&h, &mcc, 11211, mbuf, sizeof(mbuf)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

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
		syn_sport = peer.dport;
		syn_seen = true;
	}
}

/* Run the link, deliver what the node sent, accept its SYN, acknowledge. */
static void pump(void)
{
	static const uint8_t opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };

	for (int i = 0; i < 6; i++) {
		rd_replica_poll(h.lc);
		wc_net_flush(h.lc);
		find_syn();
		if (peer.dport)
			dpc_take(&h, &peer);
		if (mcc.dport)
			dpc_take(&h, &mcc);
		dpc_drain(&h, &cli);
		if (syn_seen) {
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
		dpc_ack(&h, &mcc);
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

static const char *cmdv(struct dpc *c, int argc, const char *const *argv)
{
	static uint8_t req[8192];

	c->n = 0;
	send_on(c, req, resp_req(req, argc, argv));
	return text(c);
}

#define CMD(...) cmdv(&cli, sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *), \
		      (const char *const[]){ __VA_ARGS__ })
#define EQ(got, want) assert_string_equal(got, want)

/* The master sends raw bytes (the node's commands to it collected from here on). */
static void master_says(const void *p, size_t n)
{
	peer.n = 0;
	send_on(&peer, p, n);
}

static void master_says_str(const char *s)
{
	master_says(s, strlen(s));
}

/* The master expects exactly this command (as RESP) to be what the node sent. */
static void expect_cmd(int argc, const char *const *argv)
{
	static uint8_t want[4096];
	size_t n = resp_req(want, argc, argv);

	assert_int_equal(peer.n, n);
	assert_memory_equal(pbuf, want, n);
}

#define EXPECT(...) expect_cmd(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *), \
			       (const char *const[]){ __VA_ARGS__ })

/* Wait (bounded) for the loader thread and the link to reach a state. */
static void wait_link(uint8_t link)
{
	struct rd_replica_status in;

	for (int i = 0; i < 5000; i++) {
		pump();
		rd_replica_info(&in);
		if (in.link == link)
			return;
		usleep(1000);
	}
	fail_msg("the link never reached state %u (it is %u)", link, in.link);
}

/* An RDB of one string key "rk" = "rv" (CRC 0: not computed). */
static const uint8_t rdb[] = "REDIS0010\xfe\x00\x00\x02rk\x02rv\xff\0\0\0\0\0\0\0\0";
#define RDB_LEN (sizeof(rdb) - 1)

static size_t stream_bytes;

/* A stream chunk, counted into the offset the node should acknowledge. */
static void stream(const char *s)
{
	stream_bytes += strlen(s);
	master_says_str(s);
}

static void handshake_sync_and_stream(void **state)
{
	struct rd_replica_status in;
	char ack[64], buf[512];
	size_t n;

	(void)state;
	EQ(CMD("SET", "old", "1"), "+OK\r\n");
	EQ(CMD("CONFIG", "SET", "masterauth", "pw"), "+OK\r\n");
	EQ(CMD("CONFIG", "GET", "masterauth"), "*2\r\n$10\r\nmasterauth\r\n$2\r\npw\r\n");
	EQ(CMD("REPLICAOF", "198.18.0.1", "7000"), "+OK\r\n");
	EQ(CMD("REPLICAOF", "198.18.0.1", "7000"), "+OK Already connected to specified master\r\n");
	pump();
	assert_true(syn_sport >= RD_REPLICA_LPORT_BASE &&
		    syn_sport < RD_REPLICA_LPORT_BASE + RD_REPLICA_LPORT_SPAN);
	EXPECT("PING");
	master_says_str("-NOAUTH Authentication required.\r\n");
	EXPECT("AUTH", "pw");
	master_says_str("+OK\r\n");
	EXPECT("REPLCONF", "listening-port", "6379");
	master_says_str("+OK\r\n");
	EXPECT("REPLCONF", "capa", "eof", "capa", "psync2", "capa", "wc");
	master_says_str("+OK\r\n");
	EXPECT("PSYNC", "?", "-1");
	rd_replica_info(&in);
	assert_int_equal(in.link, RD_RL_HANDSHAKE);
	EQ(CMD("ROLE"), "*5\r\n$5\r\nslave\r\n$10\r\n198.18.0.1\r\n:7000\r\n$9\r\nhandshake\r\n:-1\r\n");
	/* FULLRESYNC, keep-alives, the diskless RDB between its markers */
	n = (size_t)snprintf(buf, sizeof(buf), "+FULLRESYNC " REPLID " 100\r\n\n\n$EOF:" MARK "\r\n");
	memcpy(buf + n, rdb, RDB_LEN);
	n += RDB_LEN;
	memcpy(buf + n, MARK, 40);
	n += 40;
	master_says(buf, n);
	wait_link(RD_RL_CONNECTED);
	EXPECT("REPLCONF", "ACK", "100");	/* at once: a diskless master waits for it */
	EQ(CMD("GET", "rk"), "$2\r\nrv\r\n");
	EQ(CMD("EXISTS", "old"), ":0\r\n");	/* (a full sync flushes first) */

	/* the stream */
	stream("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$2\r\nv1\r\n");
	stream("*5\r\n$10\r\nWCREPL.SET\r\n$2\r\nmk\r\n$2\r\nmv\r\n$2\r\n42\r\n$2\r\n-1\r\n");
	stream("*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
	       "*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\nm\r\n*1\r\n$4\r\nEXEC\r\n");
	stream("*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$5\r\nother\r\n$1\r\nx\r\n"
	       "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
	stream("*3\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n$1\r\n1\r\n*1\r\n$4\r\nPING\r\n");
	stream("*3\r\n$11\r\nWCREPL.MARK\r\n$1\r\n0\r\n$3\r\n555\r\n");
	stream("*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
	snprintf(ack, sizeof(ack), "%zu", 100 + stream_bytes);
	EXPECT("REPLCONF", "ACK", ack);
	EQ(CMD("GET", "k1"), "$2\r\nv1\r\n");
	EQ(CMD("GET", "a"), "$1\r\n1\r\n");
	EQ(CMD("SMEMBERS", "s"), "*1\r\n$1\r\nm\r\n");
	EQ(CMD("EXISTS", "other", "l"), ":0\r\n");
	mcc.n = 0;
	dpc_send(&h, &mcc, "get mk\r\n", 8, 1400);
	pump();
	EQ(text(&mcc), "VALUE mk 42 2\r\nmv\r\nEND\r\n");
	rd_replica_info(&in);
	assert_int_equal(in.offset, 100 + stream_bytes);
	assert_int_equal(in.ct.full_syncs, 1);
	assert_true(in.ct.stream_errors >= 1);	/* LPUSH */
	assert_true(in.ct.stream_skipped >= 1);	/* db 1's SET */

	/* clients: writes refused, reads served, the private commands unknown */
	EQ(CMD("SET", "x", "1"), "-READONLY You can't write against a read only replica.\r\n");
	assert_non_null(strstr(CMD("WCREPL.SET", "x", "1", "0", "-1"),
			       "-ERR unknown command 'WCREPL.SET'"));
	mcc.n = 0;
	dpc_send(&h, &mcc, "set x 0 0 1\r\nx\r\n", 16, 1400);
	pump();
	EQ(text(&mcc), "SERVER_ERROR read only replica\r\n");
	assert_non_null(strstr(CMD("INFO", "replication"), "master_link_status:up\r\n"));
}

static void reconnect_continues_with_offsets(void **state)
{
	uint8_t f[128];
	struct rd_replica_status in;
	char off[32];

	(void)state;
	/* the master resets the link: back-off (1 s), then PSYNC with what it has */
	dp_input(&h, f, dp_tcp_ports(f, TPORT, peer.dport, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
				     peer.seq, peer.ack, 0, NULL, 0, NULL, 0));
	peer.dport = 0;
	pump();
	rd_replica_info(&in);
	assert_int_equal(in.link, RD_RL_CONNECT);
	assert_non_null(strstr(CMD("INFO", "replication"), "master_link_status:down\r\n"));
	EQ(CMD("GET", "k1"), "$2\r\nv1\r\n");	/* still served */
	assert_int_equal(peer.dport, 0);	/* not before the back-off */
	h.lc->tcp->now_ms += 1100;
	h.lc->tcp->now_us += 1100000;
	pump();
	assert_int_not_equal(peer.dport, 0);
	EXPECT("PING");
	master_says_str("+PONG\r\n");
	EXPECT("AUTH", "pw");
	master_says_str("+OK\r\n");
	EXPECT("REPLCONF", "listening-port", "6379");
	master_says_str("+OK\r\n");
	EXPECT("REPLCONF", "capa", "eof", "capa", "psync2", "capa", "wc");
	master_says_str("-ERR something\r\n");	/* (not fatal) */
	EXPECT("REPLCONF", "wc-offsets", "1", "555");
	master_says_str("+OK\r\n");
	snprintf(off, sizeof(off), "%zu", 100 + stream_bytes + 1);
	EXPECT("PSYNC", REPLID, off);
	master_says_str("+CONTINUE\r\n");
	wait_link(RD_RL_CONNECTED);
	EQ(CMD("GET", "k1"), "$2\r\nv1\r\n");	/* kept */
	stream("*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n");
	EQ(CMD("GET", "k2"), "$2\r\nv2\r\n");
	rd_replica_info(&in);
	assert_int_equal(in.ct.partial_syncs, 1);
	assert_int_equal(in.offset, 100 + stream_bytes);

	/* a broken stream drops the link */
	master_says_str("*2\r\n$3\r\nSET\r\n$x\r\n");
	rd_replica_info(&in);
	assert_int_equal(in.link, RD_RL_CONNECT);
	assert_true(peer.rst);
	EQ(CMD("GET", "k2"), "$2\r\nv2\r\n");
}

static void promoted_keeps_data(void **state)
{
	struct rd_replica_status in;

	(void)state;
	EQ(CMD("REPLICAOF", "NO", "ONE"), "+OK\r\n");
	pump();
	rd_replica_info(&in);
	assert_false(in.replica);
	EQ(CMD("GET", "k2"), "$2\r\nv2\r\n");
	EQ(CMD("SET", "x", "1"), "+OK\r\n");
	EQ(CMD("ROLE"), "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
	assert_non_null(strstr(CMD("INFO", "replication"), "role:master\r\n"));
	EQ(CMD("REPLICAOF", "not-an-ip", "7000"), "-ERR the master must be given as an IPv4 address\r\n");
	EQ(CMD("REPLICAOF", "198.18.0.1", "x"), "-ERR value is not an integer or out of range\r\n");
	EQ(CMD("REPLICAOF", "198.18.0.1", "70000"), "-ERR Invalid master port\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handshake_sync_and_stream),
		cmocka_unit_test(reconnect_continues_with_offsets),
		cmocka_unit_test(promoted_keeps_data),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
