/*
 * test_rd_repl_master.c - the master side of replication through Redis
 * sessions on the NIC-less harness, with the snapshot thread running: a
 * replica's handshake (REPLCONF listening-port, capa) and PSYNC ? -1 get
 * +FULLRESYNC, an RDB holding what was written before, SELECT 0 and a
 * WCREPL.MARK per partition (capa wc); later writes arrive as SET, HSET,
 * SADD, DEL and WCREPL.SET (memcached flags); WAIT 1 sends REPLCONF GETACK
 * and answers once the replica's REPLCONF ACK covers the writes;
 * INFO replication and ROLE name the replica; min-replicas-to-write passes
 * or answers NOREPLICAS; a replica that goes frees its feed (WAIT then
 * times out with 0); a partial resync from MARKed offsets gets +CONTINUE
 * and the writes made meanwhile; a replica gone in the middle of its sync
 * leaves nothing behind (ASan); REPLCONF's errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu-qsbr.h>
#include <cmocka.h>

#include "dp_redis.h"
#include "redis/repl_master.h"
#include "redis/repl_rdb.h"
#include "store/repl.h"

static struct dp_harness h;
static uint8_t rbuf[4 << 20], cbuf[1 << 20];
static struct dpc r, c;

static int setup(void **state)
{
	(void)state;
	if (dp_redis_setup(&h, 64u << 20, 38000) != 0 || rd_repl_rdb_init(&h.app) != 0)
		return -1;
	if (!dpc_connect(&h, &c, DP_REDIS_PORT, cbuf, sizeof(cbuf)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rd_repl_rdb_stop();
	dp_teardown(&h);
	return 0;
}

static void take_all(void)
{
	wc_net_flush(h.lc);
	dpc_take(&h, &r);
	dpc_take(&h, &c);
	dp_clear_sent(&h);
}

/* One pass of what the lcore loop does for these connections, every byte acknowledged. */
static void step(void)
{
	rd_repl_poll(h.lc);
	wc_tcp_poll(h.lc);
	take_all();
	if (r.cport) {
		dpc_ack(&h, &r);
		take_all();
	}
	dpc_ack(&h, &c);
	take_all();
	rcu_quiescent_state();
}

static void send_on(struct dpc *x, const char *s)
{
	uint8_t f[2048];
	size_t n = strlen(s);

	assert_true(n < 1400);
	dp_input(&h, f, dp_tcp_ports(f, x->cport, x->dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				     x->seq, x->ack, 65535, s, n, NULL, 0));
	x->seq += (uint32_t)n;
	take_all();
}

/* Step until x has at least n bytes ending in CRLF (10 s at most). */
static void until_bytes(struct dpc *x, size_t n)
{
	time_t t0 = time(NULL);

	while ((x->n < n || x->n < 2 || memcmp(x->buf + x->n - 2, "\r\n", 2)) &&
	       time(NULL) - t0 < 10) {
		step();
		usleep(100);
	}
	assert_true(x->n >= n);
}

/* A command on the client; its whole reply (one line or a bulk) as a string. */
static const char *cmd(const char *resp)
{
	c.n = 0;
	send_on(&c, resp);
	until_bytes(&c, 3);
	if (c.buf[0] == '$' || c.buf[0] == '*') {
		/* a bulk: wait for the rest (INFO) */
		for (int i = 0; i < 20; i++)
			step();
	}
	cbuf[c.n] = 0;
	return (const char *)cbuf;
}

/* Find s in x's bytes from off: its position, or -1. */
static long find(const struct dpc *x, size_t off, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = off; i + n <= x->n; i++)
		if (memcmp(x->buf + i, s, n) == 0)
			return (long)i;
	return -1;
}

/* Step until s appears in x from off (10 s at most): its position. */
static long wait_for(struct dpc *x, size_t off, const char *s)
{
	time_t t0 = time(NULL);
	long at;

	while ((at = find(x, off, s)) < 0 && time(NULL) - t0 < 10) {
		step();
		usleep(100);
	}
	assert_true(at >= 0);
	return at;
}

#define MARK0 "WCREPL.MARK\r\n$1\r\n0\r\n"

/* The log offset of the MARK of partition 0 found at at. */
static uint64_t mark_at(long at)
{
	long eol = find(&r, (size_t)at + strlen(MARK0), "\r\n");

	assert_true(eol > 0 && rbuf[at + strlen(MARK0)] == '$');
	return strtoull((const char *)rbuf + eol + 2, NULL, 10);
}

static char replid[41];
static uint64_t base_off;
static size_t stream_at;	/* where the stream begins in r's bytes */
static uint64_t mark0;

static void replica_full_sync(void **state)
{
	long at, rdb;
	unsigned long long off, len;
	char *end;

	(void)state;
	assert_string_equal(cmd("*3\r\n$3\r\nSET\r\n$6\r\nbefore\r\n$1\r\n1\r\n"), "+OK\r\n");
	assert_true(dpc_connect(&h, &r, DP_REDIS_PORT, rbuf, sizeof(rbuf)));
	send_on(&r, "*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n7000\r\n");
	until_bytes(&r, 5);
	assert_memory_equal(rbuf, "+OK\r\n", 5);
	send_on(&r, "*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n$4\r\ncapa\r\n$2\r\nwc\r\n");
	until_bytes(&r, 10);
	assert_memory_equal(rbuf + 5, "+OK\r\n", 5);
	r.n = 0;
	send_on(&r, "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
	at = wait_for(&r, 0, "\r\n");
	rbuf[at] = 0;
	assert_int_equal(sscanf((const char *)rbuf, "+FULLRESYNC %40s %llu", replid, &off), 2);
	assert_int_equal(strlen(replid), 40);
	base_off = off;
	/* the RDB (no keep-alive: the store clock stands still here) */
	rdb = wait_for(&r, (size_t)at + 2, "\r\n");
	assert_int_equal(rbuf[at + 2], '$');
	len = strtoull((const char *)rbuf + at + 3, &end, 10);
	assert_ptr_equal(end, rbuf + rdb);
	until_bytes(&r, (size_t)rdb + 2 + len);
	assert_memory_equal(rbuf + rdb + 2, "REDIS0010", 9);
	stream_at = (size_t)rdb + 2 + len;
	assert_true(find(&r, (size_t)rdb, "before") > 0 && find(&r, (size_t)rdb, "before") <
		    (long)stream_at);
	/* SELECT 0 and the one partition's MARK, at the offset the sync started from */
	at = wait_for(&r, stream_at, MARK0);
	assert_memory_equal(rbuf + stream_at, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n", 23);
	wait_for(&r, (size_t)at + strlen(MARK0), "\r\n");
	mark0 = mark_at(at);
	assert_int_equal(mark0, base_off);	/* one partition: its tail is the master offset */
	assert_int_equal(rd_repl_rdb_counters()->snapshots, 1);
}

static void writes_stream_as_commands(void **state)
{
	size_t from = r.n;

	(void)state;
	assert_string_equal(cmd("*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"), "+OK\r\n");
	assert_string_equal(cmd("*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n"),
			    ":1\r\n");
	assert_string_equal(cmd("*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\nm\r\n"), ":1\r\n");
	assert_string_equal(cmd("*2\r\n$3\r\nDEL\r\n$6\r\nbefore\r\n"), ":1\r\n");
	wait_for(&r, from, "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n");
	wait_for(&r, from, "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n");
	wait_for(&r, from, "*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\nm\r\n");
	wait_for(&r, from, "*2\r\n$3\r\nDEL\r\n$6\r\nbefore\r\n");
}

static void wait_counts_acknowledged_replicas(void **state)
{
	char ack[96];
	uint64_t off;
	long getack;

	(void)state;
	/* WAIT 1 0: nothing acknowledged yet, so it waits and asks for an ACK */
	c.n = 0;
	send_on(&c, "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n");
	getack = wait_for(&r, stream_at, "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
	for (int i = 0; i < 20; i++)
		step();
	assert_int_equal(c.n, 0);
	/* an ACK short of the writes changes nothing */
	snprintf(ack, sizeof(ack), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%llu\r\n",
		 snprintf(NULL, 0, "%llu", (unsigned long long)base_off),
		 (unsigned long long)base_off);
	send_on(&r, ack);
	for (int i = 0; i < 20; i++)
		step();
	assert_int_equal(c.n, 0);
	/*
	 * the stream applied up to the GETACK (a Redis replica's answer to it:
	 * the command itself is not counted yet): WAIT answers 1
	 */
	off = base_off + ((size_t)getack - stream_at);
	snprintf(ack, sizeof(ack), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%llu\r\n",
		 snprintf(NULL, 0, "%llu", (unsigned long long)off), (unsigned long long)off);
	send_on(&r, ack);
	until_bytes(&c, 4);
	cbuf[c.n] = 0;
	assert_string_equal((const char *)cbuf, ":1\r\n");
	/* INFO and ROLE: the replica's offset is the log offset it has */
	{
		const char *info = cmd("*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n");
		char want[160];
		const struct wc_rlog *rl = wc_repl_log(h.app.parts[0]);

		assert_non_null(strstr(info, "role:master\r\n"));
		assert_non_null(strstr(info, "connected_slaves:1\r\n"));
		snprintf(want, sizeof(want), "slave0:ip=198.18.0.1,port=7000,state=online,"
			 "offset=%llu,lag=0\r\n", (unsigned long long)wc_rlog_last(rl));
		assert_non_null(strstr(info, want));
		snprintf(want, sizeof(want), "master_repl_offset:%llu\r\n",
			 (unsigned long long)wc_rlog_last(rl));
		assert_non_null(strstr(info, want));
		assert_non_null(strstr(info, "repl_backlog_active:1\r\n"));
		snprintf(want, sizeof(want), "master_replid:%s\r\n", replid);
		assert_non_null(strstr(info, want));
		snprintf(want, sizeof(want), "*3\r\n$6\r\nmaster\r\n:%llu\r\n*1\r\n*3\r\n"
			 "$10\r\n198.18.0.1\r\n$4\r\n7000\r\n",
			 (unsigned long long)wc_rlog_last(rl));
		info = cmd("*1\r\n$4\r\nROLE\r\n");
		assert_memory_equal(info, want, strlen(want));
	}
}

static void min_replicas_to_write(void **state)
{
	(void)state;
	assert_string_equal(cmd("*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$21\r\nmin-replicas-to-write\r\n"
				"$1\r\n1\r\n"), "+OK\r\n");
	assert_string_equal(cmd("*3\r\n$3\r\nSET\r\n$1\r\ng\r\n$1\r\n1\r\n"), "+OK\r\n");
	assert_string_equal(cmd("*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$21\r\nmin-replicas-to-write\r\n"
				"$1\r\n2\r\n"), "+OK\r\n");
	assert_string_equal(cmd("*3\r\n$3\r\nSET\r\n$1\r\ng\r\n$1\r\n2\r\n"),
			    "-NOREPLICAS Not enough good replicas to write.\r\n");
	assert_string_equal(cmd("*2\r\n$3\r\nGET\r\n$1\r\ng\r\n"), "$1\r\n1\r\n");
	/* a replica whose last ACK is older than the max lag is not a good one */
	assert_string_equal(cmd("*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$21\r\nmin-replicas-to-write\r\n"
				"$1\r\n1\r\n"), "+OK\r\n");
	h.lc->ctx.clock.now += 11;
	assert_string_equal(cmd("*3\r\n$3\r\nSET\r\n$1\r\ng\r\n$1\r\n3\r\n"),
			    "-NOREPLICAS Not enough good replicas to write.\r\n");
	h.lc->ctx.clock.now -= 11;
	assert_string_equal(cmd("*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$21\r\nmin-replicas-to-write\r\n"
				"$1\r\n0\r\n"), "+OK\r\n");
	assert_string_equal(cmd("*3\r\n$3\r\nSET\r\n$1\r\ng\r\n$1\r\n4\r\n"), "+OK\r\n");
}

static void partial_resync_from_marks(void **state)
{
	char req[256], psync[128];
	long at;
	uint64_t mark;
	size_t from;

	(void)state;
	/* the last MARK the replica got: its offset in the one partition */
	for (int i = 0; i < 20; i++)
		step();
	{
		long last = -1, p = (long)stream_at;

		while ((p = find(&r, (size_t)p, MARK0)) >= 0)
			last = p++;
		assert_true(last > 0);
		mark = mark_at(last);
		assert_true(mark > mark0);
		assert_int_equal(mark, wc_rlog_last(wc_repl_log(h.app.parts[0])));
	}
	/* the replica goes: its feed is freed */
	dpc_close(&h, &r);
	r.cport = 0;
	for (int i = 0; i < 20; i++)
		step();
	assert_non_null(strstr(cmd("*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n"),
			       "connected_slaves:0\r\n"));
	/* WAIT 1 100 now times out with 0 (the store clock moved past it) */
	c.n = 0;
	send_on(&c, "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$3\r\n100\r\n");
	for (int i = 0; i < 10; i++)
		step();
	assert_int_equal(c.n, 0);
	h.lc->ctx.clock.ms = 200;
	until_bytes(&c, 4);
	h.lc->ctx.clock.ms = 0;
	cbuf[c.n] = 0;
	assert_string_equal((const char *)cbuf, ":0\r\n");
	/* a write while it was away */
	assert_string_equal(cmd("*3\r\n$3\r\nSET\r\n$4\r\naway\r\n$1\r\n1\r\n"), "+OK\r\n");
	/* it comes back with the offset it had: +CONTINUE, SELECT 0, then the write */
	assert_true(dpc_connect(&h, &r, DP_REDIS_PORT, rbuf, sizeof(rbuf)));
	snprintf(req, sizeof(req), "*6\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$2\r\nwc\r\n"
		 "$10\r\nwc-offsets\r\n$1\r\n1\r\n$%d\r\n%llu\r\n",
		 snprintf(NULL, 0, "%llu", (unsigned long long)mark), (unsigned long long)mark);
	send_on(&r, req);
	until_bytes(&r, 5);
	assert_memory_equal(rbuf, "+OK\r\n", 5);
	snprintf(psync, sizeof(psync), "*3\r\n$5\r\nPSYNC\r\n$40\r\n%s\r\n$3\r\n100\r\n", replid);
	send_on(&r, psync);
	from = 5;
	at = wait_for(&r, from, "SELECT");
	snprintf(req, sizeof(req), "+CONTINUE %s\r\n", replid);
	assert_memory_equal(rbuf + 5, req, strlen(req));
	wait_for(&r, (size_t)at, "*3\r\n$3\r\nSET\r\n$4\r\naway\r\n$1\r\n1\r\n");
	/* ... and is the only one: the earlier writes are not sent again */
	assert_int_equal(find(&r, 0, "$1\r\nb\r\n"), -1);
	dpc_close(&h, &r);
	r.cport = 0;
	for (int i = 0; i < 20; i++)
		step();
}

static void replica_gone_mid_sync_and_errors(void **state)
{
	time_t t0;

	(void)state;
	/* PSYNC, then gone before the snapshot is read: the feed and its job go */
	assert_true(dpc_connect(&h, &r, DP_REDIS_PORT, rbuf, sizeof(rbuf)));
	r.n = 0;
	send_on(&r, "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
	wait_for(&r, 0, "+FULLRESYNC ");
	dpc_close(&h, &r);
	r.cport = 0;
	for (int i = 0; i < 20; i++)
		step();
	assert_non_null(strstr(cmd("*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n"),
			       "connected_slaves:0\r\n"));
	/* the snapshot thread finishes or drops it and frees its slot: every slot comes back */
	t0 = time(NULL);
	for (;;) {
		int got = 0;

		while (got < RD_REPL_JOBS && rd_repl_rdb_request(&h.lc->ctx.clock) >= 0)
			got++;
		for (int j = 0; j < RD_REPL_JOBS; j++)
			rd_repl_rdb_release(j);
		if (got == RD_REPL_JOBS)
			break;
		assert_true(time(NULL) - t0 < 10);
		usleep(5000);
	}
	/* (the thread cleans what was given back while it ran) */
	usleep(50000);
	/* REPLCONF's errors */
	assert_string_equal(cmd("*3\r\n$8\r\nREPLCONF\r\n$5\r\nbogus\r\n$1\r\n1\r\n"),
			    "-ERR Unrecognized REPLCONF option: bogus\r\n");
	assert_string_equal(cmd("*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$2\r\n-1\r\n"),
			    "-ERR value is out of range\r\n");
	assert_string_equal(cmd("*4\r\n$8\r\nREPLCONF\r\n$10\r\nwc-offsets\r\n$1\r\n3\r\n$1\r\n1\r\n"),
			    "-ERR syntax error\r\n");
	assert_string_equal(cmd("*2\r\n$8\r\nREPLCONF\r\n$10\r\nwc-offsets\r\n"),
			    "-ERR syntax error\r\n");
	assert_string_equal(cmd("*4\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$2\r\nwc\r\n"
				"$14\r\nlistening-port\r\n"), "-ERR syntax error\r\n");
	assert_string_equal(cmd("*1\r\n$8\r\nREPLCONF\r\n"), "+OK\r\n");
	/* ip-address: what INFO and ROLE show for the replica */
	assert_true(dpc_connect(&h, &r, DP_REDIS_PORT, rbuf, sizeof(rbuf)));
	r.n = 0;
	send_on(&r, "*3\r\n$8\r\nREPLCONF\r\n$10\r\nip-address\r\n$8\r\n10.1.2.3\r\n"
		    "*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
	wait_for(&r, 0, "+FULLRESYNC ");
	assert_non_null(strstr(cmd("*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n"),
			       "slave0:ip=10.1.2.3,port=0,"));
	dpc_close(&h, &r);
	r.cport = 0;
	for (int i = 0; i < 20; i++)
		step();
	assert_string_equal(cmd("*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$1\r\nx\r\n"),
			    "-ERR value is not an integer or out of range\r\n");
	/* WAIT's own */
	assert_string_equal(cmd("*3\r\n$4\r\nWAIT\r\n$1\r\n0\r\n$2\r\n-1\r\n"),
			    "-ERR timeout is negative\r\n");
	assert_string_equal(cmd("*3\r\n$4\r\nWAIT\r\n$1\r\n0\r\n$1\r\n0\r\n"), ":0\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replica_full_sync),
		cmocka_unit_test(writes_stream_as_commands),
		cmocka_unit_test(wait_counts_acknowledged_replicas),
		cmocka_unit_test(min_replicas_to_write),
		cmocka_unit_test(partial_resync_from_marks),
		cmocka_unit_test(replica_gone_mid_sync_and_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
