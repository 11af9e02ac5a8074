/*
 * test_rdb_load.c - loading RDB files into a node (redis/rdbload.h) on the
 * NIC-less harness (one lcore, no mailbox: batches run inline), then
 * reading every key back through a Redis session: the file a real
 * redis-server 7.0.15 wrote (every string, hash and set encoding, exact
 * expiry times, the skipped lists/zsets/stream counted), a hand-built file
 * (wc-mcflags on the next key only, seen by the store as memcached flags;
 * a key already expired skipped; a key replacing one of another type), the
 * flush option, a bad file (nothing applied, the reason given), the
 * result's words; a client tracking keys is told to forget them all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_redis.h"
#include "rdb_build.h"
#include "redis/rdb_read.h"
#include "redis/rdbload.h"

static struct dp_harness h;
static uint8_t cbuf[1 << 20];
static struct dpc c;

static int setup(void **state)
{
	(void)state;
	if (dp_redis_setup(&h, 64u << 20, 37000) != 0)
		return -1;
	return dp_redis_open(&h, &c, cbuf, sizeof(cbuf)) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dpc_close(&h, &c);
	dp_teardown(&h);
	return 0;
}

static uint8_t reqbuf[1 << 16];

static const char *cmdv(int argc, const char *const *argv)
{
	size_t k = (size_t)sprintf((char *)reqbuf, "*%d\r\n", argc);

	for (int i = 0; i < argc; i++)
		k += (size_t)sprintf((char *)reqbuf + k, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	c.n = 0;
	dpc_send(&h, &c, reqbuf, k, 0);
	for (int i = 0; i < 20; i++) {
		dpc_ack(&h, &c);
		dpc_drain(&h, &c);
	}
	cbuf[c.n < sizeof(cbuf) ? c.n : sizeof(cbuf) - 1] = 0;
	return (const char *)cbuf;
}

#define CMD(...) cmdv(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *), \
		      (const char *const[]){ __VA_ARGS__ })
#define EQ(got, want) assert_string_equal(got, want)

static int64_t num(const char *reply)
{
	assert_int_equal(reply[0], ':');
	return strtoll(reply + 1, NULL, 10);
}

/* The expiry the file gives key (Unix ms, 0 none), read with the reader. */
static int64_t file_expiry(const uint8_t *p, size_t n, const char *key)
{
	static struct rdbr rd;
	struct rdbv_src in = { .p = p, .len = n };
	struct rdbr_entry e;

	assert_int_equal(rdbr_open(&rd, &in, 0), 0);
	while (rdbr_next(&rd, &e) <= RDBR_SKIPPED)
		if (e.klen == strlen(key) && !memcmp(e.key, key, e.klen))
			return e.expire_ms;
	fail();
	return 0;
}

static void redis_file(void **state)
{
	struct rd_rdb_load_result res;
	char want[2000], line[512];
	size_t n = 0;
	uint8_t *p = rb_slurp("tests/unit/rdb/redis70_all.rdb", &n);

	(void)state;
	assert_non_null(p);
	EQ(CMD("SET", "raw", "old"), "+OK\r\n");
	EQ(CMD("SADD", "int8", "x"), ":1\r\n");	/* another type: replaced */
	EQ(CMD("SET", "other", "stays"), "+OK\r\n");
	assert_int_equal(rd_rdb_load_file(&h.app, "tests/unit/rdb/redis70_all.rdb", false, &res),
			 0);
	assert_string_equal(res.err, "");
	assert_int_equal(res.loaded, 15);
	assert_int_equal(res.expired, 0);
	assert_int_equal(res.failed, 0);
	assert_int_equal(res.skipped[RDBR_SK_LIST], 1);
	assert_int_equal(res.skipped[RDBR_SK_ZSET], 2);
	assert_int_equal(res.skipped[RDBR_SK_STREAM], 1);
	assert_int_equal(res.functions, 1);
	assert_true(res.crc_checked);
	assert_int_equal(res.bytes, n);
	assert_false(rd_rdb_loading());
	EQ(CMD("GET", "int8"), "$1\r\n7\r\n");
	EQ(CMD("GET", "int16"), "$5\r\n-3000\r\n");
	EQ(CMD("GET", "int32"), "$10\r\n2000000000\r\n");
	EQ(CMD("GET", "bigint"), "$14\r\n12345678901234\r\n");
	EQ(CMD("GET", "raw"), "$11\r\nhello world\r\n");
	EQ(CMD("GET", "empty"), "$0\r\n\r\n");
	EQ(CMD("GET", "other"), "$5\r\nstays\r\n");
	strcpy(want, "$1600\r\n");
	for (int i = 0; i < 200; i++)
		strcat(want, "abcdefgh");
	strcat(want, "\r\n");
	EQ(CMD("GET", "lzf"), want);
	EQ(CMD("HGET", "h:lp", "f2"), "$2\r\n22\r\n");
	EQ(CMD("HGET", "h:lp", "f3"),
	   "$40\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n");
	EQ(CMD("HLEN", "h:ht"), ":200\r\n");
	EQ(CMD("HGET", "h:ht", "field137"), "$8\r\nvalue137\r\n");
	EQ(CMD("SCARD", "s:int"), ":5\r\n");
	EQ(CMD("SISMEMBER", "s:int", "70000000000"), ":1\r\n");
	EQ(CMD("SISMEMBER", "s:int", "-5"), ":1\r\n");
	EQ(CMD("SCARD", "s:ht"), ":4\r\n");
	EQ(CMD("SISMEMBER", "s:ht", "b"), ":1\r\n");
	EQ(CMD("SCARD", "s:big"), ":600\r\n");
	EQ(CMD("SISMEMBER", "s:big", "599"), ":1\r\n");
	EQ(CMD("EXISTS", "l:1", "z:lp", "z:sl", "x:1"), ":0\r\n");
	/* expiries to the millisecond */
	assert_int_equal(num(CMD("PEXPIRETIME", "ttl")), file_expiry(p, n, "ttl"));
	assert_int_equal(num(CMD("PEXPIRETIME", "h:lp")), file_expiry(p, n, "h:lp"));
	assert_int_equal(num(CMD("PEXPIRETIME", "s:ht")), file_expiry(p, n, "s:ht"));
	EQ(CMD("PEXPIRETIME", "raw"), ":-1\r\n");
	assert_non_null(strstr(CMD("INFO", "persistence"),
			       "\r\nrdb_last_load_keys_skipped:list=1,zset=2,stream=1,otherdb=0,"
			       "longkey=0,toobig=0\r\n"));
	rd_rdb_load_format(&res, line, sizeof(line));
	assert_non_null(strstr(line, "loaded=15 expired=0 failed=0"));
	assert_non_null(strstr(line, "skip_list=1 skip_zset=2 skip_stream=1"));
	free(p);
}

static void hand_file(void **state)
{
	struct rd_rdb_load_result res;
	struct rb b = { 0 };
	struct wc_view v;
	FILE *f;
	const char *path = "build/test_rdb_load.rdb";
	/* the store's clock: Unix 1700001000 s */
	int64_t later = (1700001000ll + 3600) * 1000 + 250;

	(void)state;
	rb_header(&b, 10);
	rb_aux(&b, "redis-ver", "7.0.15");
	rb_aux(&b, "wc-mcflags", "42");
	rb_kv(&b, "mc1", "memcached value");
	rb_kv(&b, "mc2", "no flags");
	rb_byte(&b, 0xFC);
	rb_le(&b, 1000000000000ull, 8);	/* 2001: long gone */
	rb_kv(&b, "gone", "x");
	rb_byte(&b, 0xFC);
	rb_le(&b, (uint64_t)later, 8);
	rb_kv(&b, "later", "y");
	rb_end(&b, 1);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b.p, 1, b.n, f), b.n);
	fclose(f);
	EQ(CMD("SET", "gone", "before"), "+OK\r\n");
	assert_int_equal(rd_rdb_load_file(&h.app, path, false, &res), 0);
	assert_int_equal(res.loaded, 3);
	assert_int_equal(res.expired, 1);
	EQ(CMD("GET", "mc1"), "$15\r\nmemcached value\r\n");
	assert_true(wc_get(h.app.parts[0], &h.lc->ctx, "mc1", 3, wc_hash("mc1", 3), 0, &v));
	assert_int_equal(v.flags, 42);
	assert_true(wc_get(h.app.parts[0], &h.lc->ctx, "mc2", 3, wc_hash("mc2", 3), 0, &v));
	assert_int_equal(v.flags, 0);
	/* an expired key in the file leaves the node's key of that name alone */
	EQ(CMD("GET", "gone"), "$6\r\nbefore\r\n");
	assert_int_equal(num(CMD("PEXPIRETIME", "later")), later);
	/* --flush: only the file's keys afterwards */
	assert_int_equal(rd_rdb_load_file(&h.app, path, true, &res), 0);
	EQ(CMD("DBSIZE"), ":3\r\n");
	EQ(CMD("EXISTS", "gone", "raw"), ":0\r\n");
	/* a bad file: nothing applied, the reason told */
	b.p[20] ^= 0xff;
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b.p, 1, b.n, f), b.n);
	fclose(f);
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	assert_int_equal(rd_rdb_load_file(&h.app, path, true, &res), -1);
	assert_string_equal(res.err, "wrong RDB checksum");
	EQ(CMD("DBSIZE"), ":0\r\n");
	assert_int_equal(rd_rdb_load_file(&h.app, "build/no-such-file.rdb", false, &res), -1);
	assert_non_null(strstr(res.err, "can't open"));
	remove(path);
	free(b.p);
}

/* A RESP3 client tracking keys is told to forget them all once a load ends. */
static void tracking_told(void **state)
{
	static uint8_t tbuf[1 << 14];
	struct rd_rdb_load_result res;
	struct dpc t;
	const char *hello = "HELLO 3\r\n", *trk = "CLIENT TRACKING on\r\n", *get = "GET raw\r\n",
		   *ping = "PING\r\n";

	(void)state;
	assert_true(dp_redis_open(&h, &t, tbuf, sizeof(tbuf) - 1));
	dpc_send(&h, &t, hello, strlen(hello), 0);
	dpc_send(&h, &t, trk, strlen(trk), 0);
	dpc_send(&h, &t, get, strlen(get), 0);
	t.n = 0;
	assert_int_equal(rd_rdb_load_file(&h.app, "tests/unit/rdb/redis70_all.rdb", false, &res),
			 0);
	dpc_send(&h, &t, ping, strlen(ping), 0);
	dpc_drain(&h, &t);
	tbuf[t.n] = 0;
	assert_string_equal((const char *)tbuf, ">2\r\n$10\r\ninvalidate\r\n_\r\n+PONG\r\n");
	dpc_close(&h, &t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redis_file),
		cmocka_unit_test(hand_file),
		cmocka_unit_test(tracking_told),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
