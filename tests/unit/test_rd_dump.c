/*
 * test_rd_dump.c - DUMP and RESTORE through a Redis session on the
 * NIC-less harness: byte-exact DUMPs of strings and intsets (as redis-server
 * 7.0.15 wrote them, rdbval_fixtures.h), RESTORE of Redis's payloads (LZF
 * strings, listpack and hashtable hashes, intset and hashtable sets) and of
 * our own DUMPs, a hash of 5,000 fields whose payload arrives scattered over
 * many segments, REPLACE and BUSYKEY, relative and absolute TTLs and an
 * already expired ABSTTL, IDLETIME, Redis's errors in Redis's order, duplicates and
 * bad payloads leaving the key alone, --max-value, the `new` and `restore`
 * keyspace events, MULTI/EXEC, a tracking client's invalidation, keyspace
 * hits and misses (a write's lookup for RESTORE, a read's for DUMP), and
 * COMMAND INFO byte for byte.
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
#include "net/tcp_impl.h"
#include "redis/push.h"
#include "redis/rdbval.h"
#include "rdbval_fixtures.h"

static struct dp_harness h;
static uint8_t cbuf[1 << 21], sbuf[1 << 16];
static struct dpc c, sub;
static bool have_sub;

static int setup(void **state)
{
	(void)state;
	if (dp_redis_setup(&h, 64u << 20, 36000) != 0)
		return -1;
	if (!dpc_connect(&h, &c, DP_REDIS_PORT, cbuf, sizeof(cbuf)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

static void collect(void)
{
	rd_push_output(h.lc);
	wc_net_flush(h.lc);
	dpc_take(&h, &c);
	if (have_sub)
		dpc_take(&h, &sub);
	dp_clear_sent(&h);
}

/* Send a request (any bytes) from c; collect the replies until none grows. */
static void send_req(const uint8_t *req, size_t n)
{
	uint8_t f[2048];

	c.n = 0;
	for (size_t off = 0; off < n; off += 1400) {
		size_t seg = n - off < 1400 ? n - off : 1400;

		dp_input(&h, f, dp_tcp_ports(f, c.cport, c.dport,
					     RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, c.seq, c.ack,
					     65535, req + off, seg, NULL, 0));
		c.seq += (uint32_t)seg;
		collect();
		dpc_ack(&h, &c);
		collect();
	}
	for (int i = 0; i < 200; i++) {
		size_t before = c.n;

		dpc_ack(&h, &c);
		if (have_sub)
			dpc_ack(&h, &sub);
		collect();
		if (c.n == before && i > 2)
			break;
	}
}

/* A RESP request from arguments (binary: lens; -1 length: strlen). */
static size_t resp_req(uint8_t *out, int argc, const void *const *argv, const long *lens)
{
	size_t k = (size_t)sprintf((char *)out, "*%d\r\n", argc);

	for (int i = 0; i < argc; i++) {
		size_t n = lens && lens[i] >= 0 ? (size_t)lens[i] : strlen(argv[i]);

		k += (size_t)sprintf((char *)out + k, "$%zu\r\n", n);
		memcpy(out + k, argv[i], n);
		k += n;
		memcpy(out + k, "\r\n", 2);
		k += 2;
	}
	return k;
}

static uint8_t reqbuf[1 << 21];

/* A command of NUL-terminated words; the reply is in c.buf, c.n. */
static const char *cmdv(int argc, const char *const *argv)
{
	send_req(reqbuf, resp_req(reqbuf, argc, (const void *const *)argv, NULL));
	cbuf[c.n < sizeof(cbuf) ? c.n : sizeof(cbuf) - 1] = 0;
	return (const char *)cbuf;
}

#define CMD(...) cmdv(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *), \
		      (const char *const[]){ __VA_ARGS__ })

/* RESTORE key ttl <payload> [options...] */
static const char *restore(const char *key, const char *ttl, const uint8_t *p, size_t n,
			   int nopt, const char *const *opts)
{
	const void *argv[12] = { "RESTORE", key, ttl, p };
	long lens[12] = { -1, -1, -1, (long)n };

	for (int i = 0; i < nopt; i++)
		argv[4 + i] = opts[i], lens[4 + i] = -1;
	send_req(reqbuf, resp_req(reqbuf, 4 + nopt, argv, lens));
	cbuf[c.n] = 0;
	return (const char *)cbuf;
}

#define RESTORE(k, ttl, fx, ...)                                                               \
	restore(k, ttl, fx, sizeof(fx),                                                        \
		sizeof((const char *[]){ NULL, ##__VA_ARGS__ }) / sizeof(char *) - 1,          \
		(const char *const[]){ NULL, ##__VA_ARGS__ } + 1)

#define EQ(got, want) assert_string_equal(got, want)

/* The bulk reply in c.buf as bytes: its length, copied to out. */
static size_t bulk(uint8_t *out)
{
	char *end;
	long n;

	assert_true(c.n > 3 && cbuf[0] == '$');
	n = strtol((const char *)cbuf + 1, &end, 10);
	assert_true(n >= 0);
	assert_int_equal(c.n, (size_t)(end + 2 - (char *)cbuf) + (size_t)n + 2);
	memcpy(out, end + 2, (size_t)n);
	return (size_t)n;
}

static uint64_t seal(uint8_t *p, uint64_t n)
{
	uint64_t crc;

	p[n++] = 10;
	p[n++] = 0;
	crc = rdbv_crc64(0, p, n);
	for (int i = 0; i < 8; i++)
		p[n++] = (uint8_t)(crc >> (8 * i));
	return n;
}

static void dump_strings(void **state)
{
	static uint8_t d[1 << 16];
	char want[400] = "";
	size_t n;

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	EQ(CMD("DUMP", "nokey"), "$-1\r\n");
	EQ(CMD("SET", "s", "hello world"), "+OK\r\n");
	CMD("DUMP", "s");
	n = bulk(d);
	assert_int_equal(n, sizeof(fx_str_short));
	assert_memory_equal(d, fx_str_short, n);
	EQ(CMD("SET", "i", "-100000"), "+OK\r\n");
	CMD("DUMP", "i");
	n = bulk(d);
	assert_int_equal(n, sizeof(fx_str_neg));
	assert_memory_equal(d, fx_str_neg, n);
	/* Redis's LZF string */
	EQ(RESTORE("z", "0", fx_str_lzf), "+OK\r\n");
	for (int i = 0; i < 30; i++)
		strcat(want, "wirecache ");
	CMD("GET", "z");
	assert_int_equal(c.n, 4 + 300 + 2 + 2);
	assert_memory_equal(cbuf + 6, want, 300);
	EQ(CMD("TTL", "z"), ":-1\r\n");
	/* our own DUMP back, under another name */
	CMD("DUMP", "s");
	n = bulk(d);
	EQ(restore("s2", "0", d, n, 0, NULL), "+OK\r\n");
	EQ(CMD("GET", "s2"), "$11\r\nhello world\r\n");
	EQ(RESTORE("n", "0", fx_str_int), "+OK\r\n");
	EQ(CMD("GET", "n"), "$5\r\n12345\r\n");
	EQ(CMD("OBJECT", "ENCODING", "n"), "$3\r\nint\r\n");
}

static void restore_containers(void **state)
{
	static uint8_t d[1 << 16];
	size_t n;

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	EQ(RESTORE("h", "0", fx_hash_ht), "+OK\r\n");
	EQ(CMD("HLEN", "h"), ":200\r\n");
	EQ(CMD("HGET", "h", "f123"), "$4\r\nv861\r\n");
	EQ(CMD("TYPE", "h"), "+hash\r\n");
	EQ(RESTORE("hl", "0", fx_hash_lp), "+OK\r\n");
	EQ(CMD("HGET", "hl", "big"), "$12\r\n123456789012\r\n");
	EQ(CMD("HGET", "hl", "neg"), "$2\r\n-5\r\n");
	EQ(CMD("OBJECT", "ENCODING", "hl"), "$8\r\nlistpack\r\n");
	EQ(RESTORE("hz", "0", fx_hash_lp_lzf), "+OK\r\n");
	EQ(CMD("HGET", "hz", "field17"), "$20\r\nvalue-value-value-17\r\n");
	EQ(RESTORE("si", "0", fx_set_intset), "+OK\r\n");
	EQ(CMD("SCARD", "si"), ":6\r\n");
	EQ(CMD("SISMEMBER", "si", "-2147483649"), ":1\r\n");
	EQ(CMD("OBJECT", "ENCODING", "si"), "$6\r\nintset\r\n");
	EQ(RESTORE("sh", "0", fx_set_ht), "+OK\r\n");
	EQ(CMD("SISMEMBER", "sh", "gamma"), ":1\r\n");
	EQ(CMD("SCARD", "sh"), ":4\r\n");
	/* a small intset DUMPs as Redis's bytes */
	EQ(CMD("SADD", "s16", "30", "10", "20"), ":3\r\n");
	CMD("DUMP", "s16");
	n = bulk(d);
	assert_int_equal(n, sizeof(fx_set_intset16));
	assert_memory_equal(d, fx_set_intset16, n);
	/* the 200-field hash goes round again: DUMP, RESTORE, same contents */
	CMD("DUMP", "h");
	n = bulk(d);
	assert_int_equal(d[0], RDBV_T_HASH);
	EQ(restore("h2", "0", d, n, 0, NULL), "+OK\r\n");
	EQ(CMD("HLEN", "h2"), ":200\r\n");
	for (int i = 0; i < 200; i += 17) {
		char f[16], v[32];

		snprintf(f, sizeof(f), "f%03d", i);
		snprintf(v, sizeof(v), "$%d\r\nv%d\r\n", i * 7 >= 1000 ? 5 : i * 7 >= 100 ? 4 :
						     i * 7 >= 10 ? 3 : 2, i * 7);
		EQ(CMD("HGET", "h2", f), v);
	}
	/* a small hash dumps as a listpack */
	CMD("DUMP", "hl");
	n = bulk(d);
	assert_int_equal(d[0], RDBV_T_HASH_LISTPACK);
	EQ(restore("hl2", "0", d, n, 1, (const char *[]){ "REPLACE" }), "+OK\r\n");
	EQ(CMD("HGET", "hl2", "name"), "$9\r\nwirecache\r\n");
}

/* members for the encoder */
struct gen {
	unsigned n, i;
	bool hash;
	char name[32], val[32];
};

static void gen_rewind(void *arg)
{
	((struct gen *)arg)->i = 0;
}

static bool gen_next(void *arg, struct rdbv_member *m)
{
	struct gen *g = arg;
	int nl, vl;

	if (g->i >= g->n)
		return false;
	nl = snprintf(g->name, sizeof(g->name), g->hash ? "field:%u" : "member:%u", g->i);
	vl = snprintf(g->val, sizeof(g->val), "value-%u", g->i * 3);
	*m = (struct rdbv_member){ .name = (uint8_t *)g->name, .nlen = (uint64_t)nl,
				   .val = g->hash ? (uint8_t *)g->val : NULL,
				   .vlen = g->hash ? (uint64_t)vl : 0 };
	g->i++;
	return true;
}

struct obuf {
	uint8_t *p;
	size_t n;
};

static void obuf_put(void *arg, const void *p, uint64_t n)
{
	struct obuf *o = arg;

	memcpy(o->p + o->n, p, n);
	o->n += n;
}

static size_t encode(uint8_t *out, bool hash, unsigned n)
{
	struct gen g = { .n = n, .hash = hash };
	struct rdbv_iter it = { .rewind = gen_rewind, .next = gen_next, .arg = &g };
	struct rdbv_limits lim = { 128, 64, 512 };
	struct rdbv_plan pl;
	struct obuf o = { .p = out };
	struct rdbv_out ro = { .put = obuf_put, .arg = &o };

	assert_true(rdbv_plan_container(&pl, hash ? RDBV_HASH : RDBV_SET, &it, &lim, NULL, 0));
	rdbv_emit_container(&pl, &it, NULL, &ro);
	return o.n;
}

static void big_containers(void **state)
{
	static uint8_t p[1 << 18], d[1 << 18];
	size_t n, m;

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	n = encode(p, true, 5000);
	assert_true(n > 100000);	/* scattered over many segments and receive buffers */
	EQ(restore("bh", "0", p, n, 0, NULL), "+OK\r\n");
	EQ(CMD("HLEN", "bh"), ":5000\r\n");
	EQ(CMD("HGET", "bh", "field:4999"), "$11\r\nvalue-14997\r\n");
	EQ(CMD("OBJECT", "ENCODING", "bh"), "$9\r\nhashtable\r\n");
	CMD("DUMP", "bh");
	m = bulk(d);
	assert_int_equal(m, n);	/* same members, same encoding: same size */
	EQ(restore("bh2", "0", d, m, 0, NULL), "+OK\r\n");
	EQ(CMD("HGET", "bh2", "field:77"), "$9\r\nvalue-231\r\n");
	n = encode(p, false, 3000);
	EQ(restore("bs", "0", p, n, 0, NULL), "+OK\r\n");
	EQ(CMD("SCARD", "bs"), ":3000\r\n");
	EQ(CMD("SISMEMBER", "bs", "member:2999"), ":1\r\n");
}

static void ttls(void **state)
{
	char at[32];
	int64_t now_ms = (int64_t)(DP_REDIS_EPOCH + 1000) * 1000;

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	EQ(RESTORE("t", "5000", fx_str_short), "+OK\r\n");
	EQ(CMD("PTTL", "t"), ":5000\r\n");
	snprintf(at, sizeof(at), "%lld", (long long)(now_ms + 10000));
	EQ(RESTORE("t2", at, fx_str_short, "ABSTTL"), "+OK\r\n");
	EQ(CMD("PTTL", "t2"), ":10000\r\n");
	EQ(RESTORE("th", "7000", fx_hash_ht), "+OK\r\n");
	EQ(CMD("PTTL", "th"), ":7000\r\n");
	/* an absolute time already past: OK, and no key (REPLACE deletes the old one) */
	snprintf(at, sizeof(at), "%lld", (long long)(now_ms - 1));
	EQ(RESTORE("gone", at, fx_str_short, "ABSTTL"), "+OK\r\n");
	EQ(CMD("EXISTS", "gone"), ":0\r\n");
	EQ(RESTORE("t", at, fx_set_ht, "ABSTTL", "REPLACE"), "+OK\r\n");
	EQ(CMD("EXISTS", "t"), ":0\r\n");
	EQ(RESTORE("t3", "1", fx_str_short, "ABSTTL"), "+OK\r\n");
	EQ(CMD("EXISTS", "t3"), ":0\r\n");
	/* REPLACE drops the old TTL */
	EQ(RESTORE("t2", "0", fx_str_int, "REPLACE"), "+OK\r\n");
	EQ(CMD("PTTL", "t2"), ":-1\r\n");
}

static void errors(void **state)
{
	static uint8_t p[256];
	uint64_t n;

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	EQ(CMD("SET", "k", "v"), "+OK\r\n");
	/* BUSYKEY comes first, then the TTL, then the payload */
	EQ(RESTORE("k", "-1", fx_str_short), "-BUSYKEY Target key name already exists.\r\n");
	EQ(RESTORE("x", "-1", fx_str_short), "-ERR Invalid TTL value, must be >= 0\r\n");
	EQ(RESTORE("x", "1.5", fx_str_short),
	   "-ERR value is not an integer or out of range\r\n");
	EQ(CMD("RESTORE", "x", "0", "junk"),
	   "-ERR DUMP payload version or checksum are wrong\r\n");
	EQ(CMD("RESTORE", "k", "0", "junk"), "-BUSYKEY Target key name already exists.\r\n");
	memcpy(p, fx_str_short, sizeof(fx_str_short));
	p[sizeof(fx_str_short) - 9] = 11;	/* a newer RDB version */
	EQ(restore("x", "0", p, sizeof(fx_str_short), 0, NULL),
	   "-ERR DUMP payload version or checksum are wrong\r\n");
	/* options */
	EQ(RESTORE("x", "0", fx_str_short, "FOO"), "-ERR syntax error\r\n");
	EQ(RESTORE("x", "0", fx_str_short, "IDLETIME"), "-ERR syntax error\r\n");
	EQ(RESTORE("x", "0", fx_str_short, "IDLETIME", "-1"),
	   "-ERR Invalid IDLETIME value, must be >= 0\r\n");
	EQ(RESTORE("x", "0", fx_str_short, "IDLETIME", "x"),
	   "-ERR value is not an integer or out of range\r\n");
	EQ(RESTORE("x", "0", fx_str_short, "FREQ", "256"),
	   "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n");
	EQ(RESTORE("x", "0", fx_str_short, "FREQ", "-1"),
	   "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n");
	EQ(RESTORE("x", "0", fx_str_short, "FREQ", "1", "IDLETIME", "1"), "-ERR syntax error\r\n");
	EQ(RESTORE("x", "0", fx_str_short, "IDLETIME", "1", "FREQ", "1"), "-ERR syntax error\r\n");
	EQ(RESTORE("x", "0", fx_str_short, "IDLETIME", "100", "replace", "absttl"), "+OK\r\n");
	EQ(CMD("OBJECT", "IDLETIME", "x"), ":100\r\n");
	EQ(RESTORE("x", "0", fx_hash_ht, "IDLETIME", "100000", "REPLACE"), "+OK\r\n");
	EQ(CMD("OBJECT", "IDLETIME", "x"), ":60000\r\n");	/* the store's longest */
	EQ(RESTORE("x", "0", fx_str_short, "REPLACE"), "+OK\r\n");
	EQ(CMD("OBJECT", "IDLETIME", "x"), ":0\r\n");
	EQ(RESTORE("y", "0", fx_str_short, "FREQ", "100"), "+OK\r\n");
	EQ(CMD("RESTORE", "x", "0"), "-ERR wrong number of arguments for 'restore' command\r\n");
	EQ(CMD("DUMP"), "-ERR wrong number of arguments for 'dump' command\r\n");
	/* a good CRC over bad data: a byte after the value */
	memcpy(p, fx_str_short, sizeof(fx_str_short) - 10);
	p[sizeof(fx_str_short) - 10] = 0;
	n = seal(p, sizeof(fx_str_short) - 9);
	EQ(restore("x2", "0", p, n, 0, NULL), "-ERR Bad data format\r\n");
	/* duplicates: the key stays as it was */
	{
		static const uint8_t dups[] = { RDBV_T_SET, 3, 1, 'a', 1, 'b', 1, 'a' };
		static const uint8_t duph[] = { RDBV_T_HASH, 2, 1, 'f', 1, '1', 1, 'f', 1, '2' };

		memcpy(p, dups, sizeof(dups));
		n = seal(p, sizeof(dups));
		EQ(restore("k", "0", p, n, 1, (const char *[]){ "REPLACE" }),
		   "-ERR Bad data format\r\n");
		EQ(CMD("GET", "k"), "$1\r\nv\r\n");
		memcpy(p, duph, sizeof(duph));
		n = seal(p, sizeof(duph));
		EQ(restore("k", "0", p, n, 1, (const char *[]){ "REPLACE" }),
		   "-ERR Bad data format\r\n");
		EQ(CMD("GET", "k"), "$1\r\nv\r\n");
		EQ(CMD("EXISTS", "x2"), ":0\r\n");
	}
	/* a list: another type Redis has and we do not */
	{
		static const uint8_t list[] = { 1, 1, 1, 'a' };

		memcpy(p, list, sizeof(list));
		n = seal(p, sizeof(list));
		EQ(restore("l", "0", p, n, 0, NULL), "-ERR Bad data format\r\n");
	}
	/* DUMP of a key of every type works; WRONGTYPE does not apply */
	EQ(CMD("SADD", "set", "a"), ":1\r\n");
	CMD("DUMP", "set");
	assert_true(cbuf[0] == '$');
}

/*
 * A payload is one bulk argument, so it is bounded by proto-max-bulk-len (at
 * most --max-value) before RESTORE sees it; an LZF string inside it is not:
 * 12 KiB that decompress to more than --max-value (1 MiB) are refused.
 */
static void too_large(void **state)
{
	static uint8_t p[16384];
	uint32_t k = 4000, cl = 33 + 3 * k, u = 32 + 264 * k;
	size_t n = 0;

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	p[n++] = RDBV_T_STRING;
	p[n++] = 0xc3;
	p[n++] = 0x40 | (uint8_t)(cl >> 8);
	p[n++] = (uint8_t)cl;
	p[n++] = 0x80;
	for (int i = 3; i >= 0; i--)
		p[n++] = (uint8_t)(u >> (8 * i));
	p[n++] = 31;
	for (int i = 0; i < 32; i++)
		p[n++] = (uint8_t)('a' + i % 26);
	for (uint32_t i = 0; i < k; i++) {
		p[n++] = 7 << 5;
		p[n++] = 255;
		p[n++] = 31;
	}
	n = seal(p, n);
	EQ(restore("big", "0", p, n, 0, NULL),
	   "-ERR value too large for the cache (over --max-value or a partition's item limit)\r\n");
	EQ(CMD("EXISTS", "big"), ":0\r\n");
	/* the same below the limit is restored */
	k = 3900;
	cl = 33 + 3 * k;
	u = 32 + 264 * k;
	p[2] = 0x40 | (uint8_t)(cl >> 8);
	p[3] = (uint8_t)cl;
	p[5] = (uint8_t)(u >> 24), p[6] = (uint8_t)(u >> 16), p[7] = (uint8_t)(u >> 8);
	p[8] = (uint8_t)u;
	n = seal(p, 9 + cl);
	EQ(restore("big", "0", p, n, 0, NULL), "+OK\r\n");
	EQ(CMD("STRLEN", "big"), ":1029632\r\n");
	CMD("GETRANGE", "big", "1000000", "1000004");
	EQ((char *)cbuf, "$5\r\nabcde\r\n");
}

/* "channel=message\n" per pmessage the subscriber got */
static const char *events(void)
{
	static char out[4096];
	size_t k = 0, i = 0;
	const char *s = (const char *)sub.buf;

	out[0] = 0;
	while (i < sub.n) {
		long len[4];
		const char *part[4];

		assert_true(strncmp(s + i, "*4\r\n", 4) == 0);
		i += 4;
		for (int j = 0; j < 4; j++) {
			char *end;

			len[j] = strtol(s + i + 1, &end, 10);
			i = (size_t)(end - s) + 2;
			part[j] = s + i;
			i += (size_t)len[j] + 2;
		}
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%.*s=%.*s\n", (int)len[2],
				      part[2], (int)len[3], part[3]);
	}
	sub.n = 0;
	return out;
}

static void keyspace_events(void **state)
{
	char at[32];

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	EQ(CMD("SET", "old", "x"), "+OK\r\n");
	EQ(CMD("CONFIG", "SET", "notify-keyspace-events", "KEAn"), "+OK\r\n");
	assert_true(dpc_connect(&h, &sub, DP_REDIS_PORT, sbuf, sizeof(sbuf)));
	have_sub = true;
	dpc_send(&h, &sub, "PSUBSCRIBE __keyevent*\r\n", 24, 0);
	sub.n = 0;
	EQ(RESTORE("r", "0", fx_hash_lp), "+OK\r\n");
	EQ(events(), "__keyevent@0__:new=r\n__keyevent@0__:restore=r\n");
	EQ(RESTORE("old", "0", fx_set_ht, "REPLACE"), "+OK\r\n");
	EQ(events(), "__keyevent@0__:new=old\n__keyevent@0__:restore=old\n");
	snprintf(at, sizeof(at), "%lld", (long long)(DP_REDIS_EPOCH + 999) * 1000);
	EQ(RESTORE("old", at, fx_set_ht, "REPLACE", "ABSTTL"), "+OK\r\n");
	EQ(events(), "__keyevent@0__:del=old\n");
	EQ(RESTORE("old", "0", fx_set_ht), "+OK\r\n");
	events();
	EQ(RESTORE("old", "0", fx_set_ht), "-BUSYKEY Target key name already exists.\r\n");
	EQ(events(), "");
	EQ(CMD("CONFIG", "SET", "notify-keyspace-events", ""), "+OK\r\n");
	have_sub = false;
	dpc_close(&h, &sub);
}

/* A client tracking a key it read is told when RESTORE replaces it (REDIRECT, RESP2). */
static void tracking_invalidation(void **state)
{
	char id[32], line[96];
	const char *want = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\ntk\r\n";

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	assert_true(dpc_connect(&h, &sub, DP_REDIS_PORT, sbuf, sizeof(sbuf)));
	have_sub = true;
	dpc_send(&h, &sub, "CLIENT ID\r\n", 11, 0);
	assert_true(sub.n > 3 && sub.buf[0] == ':');
	snprintf(id, sizeof(id), "%.*s", (int)(sub.n - 3), (const char *)sub.buf + 1);
	sub.n = 0;
	dpc_send(&h, &sub, "SUBSCRIBE __redis__:invalidate\r\n", 32, 0);
	sub.n = 0;
	snprintf(line, sizeof(line), "%s", id);
	EQ(CMD("CLIENT", "TRACKING", "on", "REDIRECT", line), "+OK\r\n");
	EQ(RESTORE("tk", "0", fx_str_short), "+OK\r\n");
	EQ(CMD("GET", "tk"), "$11\r\nhello world\r\n");
	assert_int_equal(sub.n, 0);
	EQ(RESTORE("tk", "0", fx_str_int, "REPLACE"), "+OK\r\n");
	assert_int_equal(sub.n, strlen(want));
	assert_memory_equal(sub.buf, want, sub.n);
	sub.n = 0;
	/* read again, then a RESTORE whose ABSTTL is past deletes it: told again */
	EQ(CMD("GET", "tk"), "$5\r\n12345\r\n");
	EQ(RESTORE("tk", "1", fx_str_short, "REPLACE", "ABSTTL"), "+OK\r\n");
	assert_int_equal(sub.n, strlen(want));
	assert_memory_equal(sub.buf, want, sub.n);
	EQ(CMD("CLIENT", "TRACKING", "off"), "+OK\r\n");
	have_sub = false;
	dpc_close(&h, &sub);
}

/* Inside MULTI: RESTORE and DUMP are queued and run in EXEC. */
static void in_transaction(void **state)
{
	static uint8_t want[256];
	size_t n = 0;

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	EQ(CMD("MULTI"), "+OK\r\n");
	EQ(RESTORE("m", "0", fx_set_intset16), "+QUEUED\r\n");
	EQ(CMD("DUMP", "m"), "+QUEUED\r\n");
	EQ(RESTORE("m", "0", fx_set_intset16), "+QUEUED\r\n");
	CMD("EXEC");
	n += (size_t)sprintf((char *)want, "*3\r\n+OK\r\n$%zu\r\n", sizeof(fx_set_intset16));
	memcpy(want + n, fx_set_intset16, sizeof(fx_set_intset16));
	n += sizeof(fx_set_intset16);
	n += (size_t)sprintf((char *)want + n, "\r\n-BUSYKEY Target key name already exists.\r\n");
	assert_int_equal(c.n, n);
	assert_memory_equal(cbuf, want, n);
}

static long info_stat(const char *name)
{
	const char *p;

	CMD("INFO", "stats");
	p = strstr((char *)cbuf, name);
	assert_non_null(p);
	return strtol(p + strlen(name) + 1, NULL, 10);
}

/* RESTORE looks its key up as a write (no hit or miss); DUMP as a read. */
static void keyspace_stats(void **state)
{
	long hits, misses;

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	hits = info_stat("keyspace_hits");
	misses = info_stat("keyspace_misses");
	EQ(RESTORE("ks", "0", fx_str_short), "+OK\r\n");
	EQ(RESTORE("ks", "0", fx_str_short), "-BUSYKEY Target key name already exists.\r\n");
	assert_int_equal(info_stat("keyspace_hits"), hits);
	assert_int_equal(info_stat("keyspace_misses"), misses);
	CMD("DUMP", "ks");
	CMD("DUMP", "nothere");
	assert_int_equal(info_stat("keyspace_hits"), hits + 1);
	assert_int_equal(info_stat("keyspace_misses"), misses + 1);
}

/* COMMAND INFO: byte for byte what redis-server 7.0.15 answers. */
static void command_info(void **state)
{
	(void)state;
	EQ(CMD("COMMAND", "INFO", "dump", "restore"),
	   "*2\r\n"
	   "*10\r\n"
	   "$4\r\n"
	   "dump\r\n"
	   ":2\r\n"
	   "*1\r\n"
	   "+readonly\r\n"
	   ":1\r\n"
	   ":1\r\n"
	   ":1\r\n"
	   "*3\r\n"
	   "+@keyspace\r\n"
	   "+@read\r\n"
	   "+@slow\r\n"
	   "*1\r\n"
	   "$23\r\n"
	   "nondeterministic_output\r\n"
	   "*1\r\n"
	   "*6\r\n"
	   "$5\r\n"
	   "flags\r\n"
	   "*2\r\n"
	   "+RO\r\n"
	   "+access\r\n"
	   "$12\r\n"
	   "begin_search\r\n"
	   "*4\r\n"
	   "$4\r\n"
	   "type\r\n"
	   "$5\r\n"
	   "index\r\n"
	   "$4\r\n"
	   "spec\r\n"
	   "*2\r\n"
	   "$5\r\n"
	   "index\r\n"
	   ":1\r\n"
	   "$9\r\n"
	   "find_keys\r\n"
	   "*4\r\n"
	   "$4\r\n"
	   "type\r\n"
	   "$5\r\n"
	   "range\r\n"
	   "$4\r\n"
	   "spec\r\n"
	   "*6\r\n"
	   "$7\r\n"
	   "lastkey\r\n"
	   ":0\r\n"
	   "$7\r\n"
	   "keystep\r\n"
	   ":1\r\n"
	   "$5\r\n"
	   "limit\r\n"
	   ":0\r\n"
	   "*0\r\n"
	   "*10\r\n"
	   "$7\r\n"
	   "restore\r\n"
	   ":-4\r\n"
	   "*2\r\n"
	   "+write\r\n"
	   "+denyoom\r\n"
	   ":1\r\n"
	   ":1\r\n"
	   ":1\r\n"
	   "*4\r\n"
	   "+@keyspace\r\n"
	   "+@write\r\n"
	   "+@slow\r\n"
	   "+@dangerous\r\n"
	   "*0\r\n"
	   "*1\r\n"
	   "*6\r\n"
	   "$5\r\n"
	   "flags\r\n"
	   "*2\r\n"
	   "+OW\r\n"
	   "+update\r\n"
	   "$12\r\n"
	   "begin_search\r\n"
	   "*4\r\n"
	   "$4\r\n"
	   "type\r\n"
	   "$5\r\n"
	   "index\r\n"
	   "$4\r\n"
	   "spec\r\n"
	   "*2\r\n"
	   "$5\r\n"
	   "index\r\n"
	   ":1\r\n"
	   "$9\r\n"
	   "find_keys\r\n"
	   "*4\r\n"
	   "$4\r\n"
	   "type\r\n"
	   "$5\r\n"
	   "range\r\n"
	   "$4\r\n"
	   "spec\r\n"
	   "*6\r\n"
	   "$7\r\n"
	   "lastkey\r\n"
	   ":0\r\n"
	   "$7\r\n"
	   "keystep\r\n"
	   ":1\r\n"
	   "$5\r\n"
	   "limit\r\n"
	   ":0\r\n"
	   "*0\r\n");
	EQ(CMD("COMMAND", "GETKEYS", "RESTORE", "k", "0", "x"), "*1\r\n$1\r\nk\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dump_strings),
		cmocka_unit_test(restore_containers),
		cmocka_unit_test(big_containers),
		cmocka_unit_test(ttls),
		cmocka_unit_test(errors),
		cmocka_unit_test(too_large),
		cmocka_unit_test(keyspace_events),
		cmocka_unit_test(tracking_invalidation),
		cmocka_unit_test(in_transaction),
		cmocka_unit_test(keyspace_stats),
		cmocka_unit_test(command_info),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
