/*
 * test_rd_containers.c - the hash and set commands end to end through a
 * Redis session on a NIC-less dataplane (dp_harness.h) with two partitions:
 * byte-exact replies and errors in RESP2 and RESP3, WRONGTYPE between
 * types, a container deleted with its last member, TYPE and SCAN TYPE,
 * large containers (buckets) through every read, HSCAN/SSCAN iterations,
 * set algebra across partitions and *STORE/SMOVE refused across them,
 * COPY/RENAME/EXPIRE/DBSIZE, and MULTI/EXEC.
 *
 * Set replies come in no particular order: they are compared sorted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_harness.h"
#include "redis/server.h"
#include "redis/acl.h"
#include "store/container.h"
#include "wirecache/slot.h"

static struct dp_harness h;
static struct rd_server srv;
static struct rd_session *sess;
static char state_dir[64];

/* ---- a receive queue holding one buffer, and a reply buffer ---- */

struct fake_in {
	struct mc_inq q;
	const uint8_t *data;
	uint64_t head;
};

/* Receive buffers of 2 KiB: an argument over 16 KiB stays scattered (RESP_ARG_RX). */
static const uint8_t *fake_peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct fake_in *f = (const struct fake_in *)q;
	uint64_t pos = f->head + off, boundary = (pos / 2048 + 1) * 2048;
	uint64_t end = f->head + q->len;

	*contig = (boundary < end ? boundary : end) - pos;
	return f->data + pos;
}

static void fake_consume(struct mc_inq *q, uint64_t n)
{
	struct fake_in *f = (struct fake_in *)q;

	f->head += n;
	q->len -= n;
}

#define OUT_MAX (64u << 20)
static char *outbuf;
static size_t outlen;

static bool sink_more(struct mc_out *o)
{
	size_t win = 4096;

	if (outlen + win > OUT_MAX)
		return false;
	o->p = (uint8_t *)outbuf + outlen;
	o->end = o->p + win;
	outlen += win;
	return true;
}

static void extra_cfg(struct wc_config *c)
{
	c->memory = 48u << 20;
}

static int setup(void **state)
{
	struct wc_part_cfg pc;
	enum wc_status err;
	uint16_t *slots;

	(void)state;
	outbuf = malloc(OUT_MAX + 1);
	assert_int_equal(dp_eal_init(), 0);
	rd_cmds_init();
	assert_int_equal(dp_setup(&h, extra_cfg), 0);
	/* a second partition: keys of odd slots live there */
	wc_part_cfg_default(&pc);
	pc.mem_bytes = 16u << 20;
	pc.id = 1;
	h.app.parts[1] = wc_part_create(&pc, &h.mem, &err);
	assert_non_null(h.app.parts[1]);
	h.app.nparts = 2;
	h.app.part_owner[1] = 0;
	h.lc->env.nparts = 2;
	slots = (uint16_t *)(uintptr_t)h.app.slot_part;
	for (unsigned s = 1; s < WC_SLOTS; s += 2)
		slots[s] = 1;
	snprintf(state_dir, sizeof(state_dir), "/tmp/wc_rdc_%d", (int)getpid());
	assert_int_equal(rd_server_init(&srv, state_dir, 6379, false, NULL, 0, 64u << 20,
					512u << 20, NULL, NULL, "test"), 0);
	h.app.rd = &srv;
	assert_int_equal(rd_lcore_init(h.lc), 0);
	sess = calloc(1, sizeof(*sess));
	rd_session_init(sess, 1, 0);
	sess->env = &h.lc->env;
	rd_acl_session_start(sess);
	return 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	rd_session_release(sess, &h.lc->env);
	free(sess);
	wc_part_destroy(h.app.parts[1]);
	h.app.parts[1] = NULL;
	h.app.nparts = 1;
	dp_teardown(&h);
	rd_server_fini(&srv);
	snprintf(path, sizeof(path), "%s/node-id", state_dir);
	unlink(path);
	rmdir(state_dir);
	free(outbuf);
	return 0;
}

/* Run one command (argv, NULL-terminated); the reply, NUL-terminated, in outbuf. */
static const char *run(const char *const *argv)
{
	static char req[4 << 20];
	size_t n = 0;
	int argc = 0;
	struct fake_in in = { .q = { .peek = fake_peek, .consume = fake_consume },
			      .data = (const uint8_t *)req };
	struct mc_out out = { .more = sink_more };

	while (argv[argc])
		argc++;
	n += (size_t)snprintf(req + n, sizeof(req) - n, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "$%zu\r\n%s\r\n", strlen(argv[i]),
				      argv[i]);
	assert_true(n < sizeof(req));
	in.q.len = n;
	outlen = 0;
	for (int guard = 0; guard < 100000; guard++) {
		enum mc_run r = rd_session_run(sess, &in.q, &out, &h.lc->env);

		if (r == MC_RUN_BUSY) {
			rcu_quiescent_state();
			continue;
		}
		assert_int_equal(r, MC_RUN_MORE);
		if (in.q.len == 0)
			break;
	}
	outlen = out.p ? (size_t)(out.p - (uint8_t *)outbuf) : 0;
	outbuf[outlen] = 0;
	return outbuf;
}

#define CMD(...) run((const char *const[]){ __VA_ARGS__, NULL })
#define EXPECT(want, ...) assert_string_equal(CMD(__VA_ARGS__), want)

/* ---- reading a reply ---- */

struct elems {
	unsigned n;
	char *v[20000];
};

/* Parse an aggregate of bulks ("*", "~" or "%", nested pairs flattened) into e. */
static void parse_elems(const char *p, struct elems *e)
{
	long n;
	char *end;

	e->n = 0;
	assert_true(*p == '*' || *p == '~' || *p == '%');
	n = strtol(p + 1, &end, 10);
	if (*p == '%')
		n *= 2;
	p = end + 2;
	for (long i = 0; i < n; i++) {
		long len;

		if (*p == '*') {	/* a RESP3 pair */
			n += strtol(p + 1, &end, 10) - 1;
			p = end + 2;
			i--;
			continue;
		}
		assert_int_equal(*p, '$');
		len = strtol(p + 1, &end, 10);
		p = end + 2;
		assert_true(e->n < 20000);
		e->v[e->n] = strndup(p, (size_t)len);
		e->n++;
		p += len + 2;
	}
}

static void free_elems(struct elems *e)
{
	for (unsigned i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The members of an aggregate reply, sorted and joined by spaces. */
static const char *sorted(const char *reply)
{
	static struct elems e;
	static char buf[1 << 16];
	size_t n = 0;

	parse_elems(reply, &e);
	qsort(e.v, e.n, sizeof(e.v[0]), cmpstr);
	buf[0] = 0;
	for (unsigned i = 0; i < e.n; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "", e.v[i]);
	free_elems(&e);
	return buf;
}

/* ---- hashes ---- */

static void hash_basics(void **state)
{
	(void)state;
	EXPECT(":2\r\n", "HSET", "h", "f1", "v1", "f2", "v2");
	EXPECT(":0\r\n", "HSET", "h", "f1", "x");
	EXPECT("$1\r\nx\r\n", "HGET", "h", "f1");
	EXPECT("$-1\r\n", "HGET", "h", "nope");
	EXPECT("$-1\r\n", "HGET", "nokey", "f");
	EXPECT("*3\r\n$1\r\nx\r\n$-1\r\n$2\r\nv2\r\n", "HMGET", "h", "f1", "nope", "f2");
	EXPECT("*2\r\n$-1\r\n$-1\r\n", "HMGET", "nokey", "a", "b");
	EXPECT(":2\r\n", "HLEN", "h");
	EXPECT(":0\r\n", "HLEN", "nokey");
	EXPECT(":1\r\n", "HEXISTS", "h", "f1");
	EXPECT(":0\r\n", "HEXISTS", "h", "zz");
	EXPECT(":2\r\n", "HSTRLEN", "h", "f2");
	EXPECT(":0\r\n", "HSTRLEN", "h", "zz");
	EXPECT(":0\r\n", "HSETNX", "h", "f1", "y");
	EXPECT(":1\r\n", "HSETNX", "h", "f3", "y");
	EXPECT("+OK\r\n", "HMSET", "h", "f4", "z");
	EXPECT(":5\r\n", "HINCRBY", "h", "n", "5");
	EXPECT(":-2\r\n", "HINCRBY", "h", "n", "-7");
	EXPECT("-ERR hash value is not an integer\r\n", "HINCRBY", "h", "f1", "1");
	EXPECT("-ERR value is not an integer or out of range\r\n", "HINCRBY", "h", "n", "x");
	EXPECT(":9223372036854775807\r\n", "HINCRBY", "h", "big", "9223372036854775807");
	EXPECT("-ERR increment or decrement would overflow\r\n", "HINCRBY", "h", "big", "1");
	EXPECT("$4\r\n10.5\r\n", "HINCRBYFLOAT", "h", "fl", "10.5");
	EXPECT("$4\r\n10.6\r\n", "HINCRBYFLOAT", "h", "fl", "0.1");
	EXPECT("$1\r\n3\r\n", "HINCRBYFLOAT", "h", "n", "5");
	EXPECT("-ERR hash value is not a float\r\n", "HINCRBYFLOAT", "h", "f1", "1");
	EXPECT("-ERR value is not a valid float\r\n", "HINCRBYFLOAT", "h", "fl", "abc");
	EXPECT("-ERR value is NaN or Infinity\r\n", "HINCRBYFLOAT", "h", "fl", "inf");
	EXPECT("-ERR wrong number of arguments for 'hset' command\r\n", "HSET", "h", "f");
	EXPECT("-ERR wrong number of arguments for 'hset' command\r\n", "HSET", "h", "a", "b",
	       "c");
	/* a compact hash keeps insertion order, an update in place */
	EXPECT("*14\r\n$2\r\nf1\r\n$1\r\nx\r\n$2\r\nf2\r\n$2\r\nv2\r\n$2\r\nf3\r\n$1\r\ny\r\n"
	       "$2\r\nf4\r\n$1\r\nz\r\n$1\r\nn\r\n$1\r\n3\r\n$3\r\nbig\r\n"
	       "$19\r\n9223372036854775807\r\n$2\r\nfl\r\n$4\r\n10.6\r\n",
	       "HGETALL", "h");
	EXPECT("*0\r\n", "HGETALL", "nokey");
	assert_string_equal(sorted(CMD("HKEYS", "h")), "big f1 f2 f3 f4 fl n");
	assert_string_equal(sorted(CMD("HVALS", "h")), "10.6 3 9223372036854775807 v2 x y z");
	EXPECT("*0\r\n", "HKEYS", "nokey");
	EXPECT(":2\r\n", "HDEL", "h", "f1", "nope", "f2");
	EXPECT(":0\r\n", "HDEL", "nokey", "f1");
	EXPECT("+hash\r\n", "TYPE", "h");
	/* the last field takes the key with it */
	EXPECT(":5\r\n", "HDEL", "h", "f3", "f4", "n", "big", "fl", "more");
	EXPECT(":0\r\n", "EXISTS", "h");
	EXPECT("+none\r\n", "TYPE", "h");
}

/* Keys a write cannot use; fields and values too large to be contiguous arguments. */
static void odd_arguments(void **state)
{
	char *field = malloc(20001), *value = malloc(40001), want[64];

	(void)state;
	EXPECT("-ERR invalid key length (1 to 250 bytes)\r\n", "HSET", "", "f", "v");
	EXPECT("-ERR invalid key length (1 to 250 bytes)\r\n", "SADD", "", "m");
	EXPECT("$-1\r\n", "HGET", "", "f");
	EXPECT(":0\r\n", "SCARD", "");
	memset(field, 'F', 20000);
	field[20000] = 0;
	memset(value, 'V', 40000);
	value[40000] = 0;
	EXPECT(":2\r\n", "HSET", "wide", field, value, "small", "1");
	EXPECT(":40000\r\n", "HSTRLEN", "wide", field);
	CMD("HGET", "wide", field);
	assert_int_equal(outlen, 8 + 40000 + 2);
	assert_memory_equal(outbuf + 8, value, 40000);
	EXPECT(":1\r\n", "HEXISTS", "wide", field);
	field[19999] = 'G';
	EXPECT(":0\r\n", "HEXISTS", "wide", field);
	field[19999] = 'F';
	EXPECT(":1\r\n", "SADD", "wides", field);
	EXPECT(":0\r\n", "SADD", "wides", field);
	EXPECT(":1\r\n", "SISMEMBER", "wides", field);
	snprintf(want, sizeof(want), ":%d\r\n", 1);
	EXPECT(want, "HDEL", "wide", field);
	EXPECT(":1\r\n", "HLEN", "wide");
	EXPECT(":2\r\n", "DEL", "wide", "wides");
	free(field);
	free(value);
}

/* A member or value over the store's max value: refused before anything changes, a failed call. */
static void too_large_members(void **state)
{
	static const char want[] = "-ERR value too large for the cache (over --max-value or a "
				   "partition's item limit)\r\n";
	uint32_t max = wc_part_config(h.app.parts[0])->max_value;
	char *big = malloc((size_t)max + 2);
	uint64_t failed = h.lc->rdst.failed;

	(void)state;
	assert_non_null(big);
	memset(big, 'B', (size_t)max + 1);
	big[max + 1] = 0;
	EXPECT(want, "SADD", "bigs", "m", big);
	EXPECT(want, "HSET", "bigh", "f", "v", "g", big);
	EXPECT(":1\r\n", "SADD", "{t}a", "m");
	EXPECT(want, "SMOVE", "{t}a", "{t}b", big);
	assert_int_equal(h.lc->rdst.failed, failed + 3);
	EXPECT(":0\r\n", "EXISTS", "bigs", "bigh", "{t}b");
	EXPECT(":1\r\n", "DEL", "{t}a");
	free(big);
}

static void wrongtype(void **state)
{
	const char *wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

	(void)state;
	EXPECT("+OK\r\n", "SET", "str", "x");
	EXPECT(":1\r\n", "HSET", "hh", "f", "v");
	EXPECT(":1\r\n", "SADD", "ss", "m");
	EXPECT(wt, "HGET", "str", "f");
	EXPECT(wt, "HSET", "str", "f", "v");
	EXPECT(wt, "HGETALL", "ss");
	EXPECT(wt, "HLEN", "ss");
	EXPECT(wt, "HSCAN", "ss", "0");
	EXPECT(wt, "HRANDFIELD", "str");
	EXPECT(wt, "HINCRBY", "ss", "f", "1");
	EXPECT(wt, "SADD", "hh", "m");
	EXPECT(wt, "SREM", "str", "m");
	EXPECT(wt, "SMEMBERS", "hh");
	EXPECT(wt, "SISMEMBER", "str", "m");
	EXPECT(wt, "SCARD", "hh");
	EXPECT(wt, "SPOP", "hh");
	EXPECT(wt, "SINTER", "ss", "hh");
	EXPECT(wt, "SUNION", "ss", "str");
	EXPECT(wt, "GET", "hh");
	EXPECT(wt, "APPEND", "ss", "x");
	EXPECT("+set\r\n", "TYPE", "ss");
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$2\r\nss\r\n", "SCAN", "0", "TYPE", "set", "COUNT",
	       "100000");
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$2\r\nhh\r\n", "SCAN", "0", "TYPE", "hash", "COUNT",
	       "100000");
	/* a string write replaces a container (SET has no type check) */
	EXPECT("+OK\r\n", "SET", "hh", "now a string");
	EXPECT("+string\r\n", "TYPE", "hh");
	EXPECT(":3\r\n", "DEL", "str", "hh", "ss");
}

static void resp3(void **state)
{
	(void)state;
	CMD("HELLO", "3");
	EXPECT(":2\r\n", "HSET", "r3", "a", "1", "b", "2");
	EXPECT("%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "HGETALL", "r3");
	EXPECT("%0\r\n", "HGETALL", "nokey");
	EXPECT("_\r\n", "HGET", "r3", "zz");
	EXPECT("*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
	       "HRANDFIELD", "r3", "2", "WITHVALUES");
	EXPECT(":2\r\n", "SADD", "s3", "x", "y");
	assert_int_equal(CMD("SMEMBERS", "s3")[0], '~');
	assert_string_equal(sorted(outbuf), "x y");
	EXPECT("~0\r\n", "SMEMBERS", "nokey");
	EXPECT("~0\r\n", "SPOP", "nokey", "3");
	EXPECT("_\r\n", "SPOP", "nokey");
	assert_int_equal(CMD("SUNION", "s3", "nokey")[0], '~');
	EXPECT("*0\r\n", "SRANDMEMBER", "nokey", "5");
	CMD("HELLO", "2");
	EXPECT("*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "HRANDFIELD", "r3", "2",
	       "WITHVALUES");
	EXPECT(":2\r\n", "DEL", "r3", "s3");
}

static void hrandfield_forms(void **state)
{
	struct elems e;

	(void)state;
	EXPECT(":3\r\n", "HSET", "hr", "a", "1", "b", "2", "c", "3");
	CMD("HRANDFIELD", "hr");
	assert_true(!strcmp(outbuf, "$1\r\na\r\n") || !strcmp(outbuf, "$1\r\nb\r\n") ||
		    !strcmp(outbuf, "$1\r\nc\r\n"));
	EXPECT("$-1\r\n", "HRANDFIELD", "nokey");
	EXPECT("*0\r\n", "HRANDFIELD", "nokey", "3");
	EXPECT("*0\r\n", "HRANDFIELD", "hr", "0");
	assert_string_equal(sorted(CMD("HRANDFIELD", "hr", "10")), "a b c");
	assert_string_equal(sorted(CMD("HRANDFIELD", "hr", "3", "WITHVALUES")), "1 2 3 a b c");
	parse_elems(CMD("HRANDFIELD", "hr", "-7"), &e);
	assert_int_equal(e.n, 7);
	free_elems(&e);
	parse_elems(CMD("HRANDFIELD", "hr", "-5", "WITHVALUES"), &e);
	assert_int_equal(e.n, 10);
	free_elems(&e);
	parse_elems(CMD("HRANDFIELD", "hr", "2"), &e);
	assert_int_equal(e.n, 2);
	assert_string_not_equal(e.v[0], e.v[1]);
	free_elems(&e);
	EXPECT("-ERR syntax error\r\n", "HRANDFIELD", "hr", "2", "WITHSCORES");
	EXPECT("-ERR value is not an integer or out of range\r\n", "HRANDFIELD", "hr", "x");
	EXPECT("-ERR value is out of range\r\n", "HRANDFIELD", "hr", "-9223372036854775807",
	       "WITHVALUES");
	EXPECT("-ERR value is out of range, value must between -9223372036854775807 and "
	       "9223372036854775807\r\n", "HRANDFIELD", "hr", "-9223372036854775808");
	EXPECT(":1\r\n", "DEL", "hr");
}

/* A hash well past the compact limits: every read path over buckets. */
static void hash_large(void **state)
{
	enum { N = 5000 };
	char f[32], v[32], c[32];
	struct elems *e = malloc(sizeof(*e));
	unsigned long long cursor = 0;
	static uint8_t seen[N];
	unsigned calls = 0;

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		snprintf(f, sizeof(f), "field:%u", i);
		snprintf(v, sizeof(v), "v%u", i);
		EXPECT(":1\r\n", "HSET", "{b}1", f, v);
	}
	EXPECT(":5000\r\n", "HLEN", "{b}1");
	EXPECT("$5\r\nv4321\r\n", "HGET", "{b}1", "field:4321");
	EXPECT("*2\r\n$2\r\nv7\r\n$-1\r\n", "HMGET", "{b}1", "field:7", "field:99999");
	EXPECT(":1\r\n", "HEXISTS", "{b}1", "field:0");
	EXPECT(":0\r\n", "HSET", "{b}1", "field:5", "five");
	EXPECT("$4\r\nfive\r\n", "HGET", "{b}1", "field:5");
	EXPECT(":1\r\n", "HINCRBY", "{b}1", "counter", "1");
	EXPECT(":1\r\n", "HDEL", "{b}1", "counter");
	parse_elems(CMD("HGETALL", "{b}1"), e);
	assert_int_equal(e->n, 2 * N);
	for (unsigned i = 0; i < e->n; i += 2) {
		unsigned id;

		assert_int_equal(sscanf(e->v[i], "field:%u", &id), 1);
		assert_false(seen[id]);
		seen[id] = 1;
	}
	free_elems(e);
	parse_elems(CMD("HKEYS", "{b}1"), e);
	assert_int_equal(e->n, N);
	free_elems(e);
	/* a full HSCAN meets every field; COUNT bounds a call */
	memset(seen, 0, sizeof(seen));
	do {
		const char *r;
		char *end;

		snprintf(c, sizeof(c), "%llu", cursor);
		r = CMD("HSCAN", "{b}1", c, "COUNT", "100");
		assert_memory_equal(r, "*2\r\n$", 5);
		cursor = strtoull(strstr(r + 5, "\r\n") + 2, &end, 10);
		parse_elems(end + 2, e);
		assert_true(e->n <= 2 * 400);
		for (unsigned i = 0; i < e->n; i += 2) {
			unsigned id;

			assert_int_equal(sscanf(e->v[i], "field:%u", &id), 1);
			seen[id] = 1;
		}
		free_elems(e);
		calls++;
	} while (cursor != 0);
	for (unsigned i = 0; i < N; i++)
		assert_true(seen[i]);
	assert_true(calls > 5);
	/* fields added between the calls split buckets: every field there all along is met */
	memset(seen, 0, sizeof(seen));
	cursor = 0;
	calls = 0;
	do {
		const char *r;
		char *end;

		snprintf(c, sizeof(c), "%llu", cursor);
		r = CMD("HSCAN", "{b}1", c, "COUNT", "20");
		cursor = strtoull(strstr(r + 5, "\r\n") + 2, &end, 10);
		parse_elems(end + 2, e);
		for (unsigned i = 0; i < e->n; i += 2) {
			unsigned id;

			if (sscanf(e->v[i], "field:%u", &id) == 1 && id < N)
				seen[id] = 1;
		}
		free_elems(e);
		for (unsigned k = 0; k < 2; k++) {
			snprintf(f, sizeof(f), "late:%u:%u", calls, k);
			EXPECT(":1\r\n", "HSET", "{b}1", f, "x");
		}
		calls++;
	} while (cursor != 0);
	for (unsigned i = 0; i < N; i++)
		assert_true(seen[i]);
	for (unsigned i = 0; i < calls; i++) {
		for (unsigned k = 0; k < 2; k++) {
			snprintf(f, sizeof(f), "late:%u:%u", i, k);
			EXPECT(":1\r\n", "HDEL", "{b}1", f);
		}
	}
	/* MATCH filters what a call returns */
	cursor = 0;
	memset(seen, 0, sizeof(seen));
	do {
		const char *r;
		char *end;

		snprintf(c, sizeof(c), "%llu", cursor);
		r = CMD("HSCAN", "{b}1", c, "MATCH", "field:12?", "COUNT", "1000");
		cursor = strtoull(strstr(r + 5, "\r\n") + 2, &end, 10);
		parse_elems(end + 2, e);
		for (unsigned i = 0; i < e->n; i += 2) {
			unsigned id;

			assert_int_equal(sscanf(e->v[i], "field:%u", &id), 1);
			assert_true(id >= 120 && id <= 129);
			seen[id] = 1;
		}
		free_elems(e);
	} while (cursor != 0);
	for (unsigned i = 120; i <= 129; i++)
		assert_true(seen[i]);
	EXPECT("-ERR invalid cursor\r\n", "HSCAN", "{b}1", "x");
	EXPECT("-ERR syntax error\r\n", "HSCAN", "{b}1", "0", "COUNT", "0");
	EXPECT("-ERR syntax error\r\n", "HSCAN", "{b}1", "0", "NOVALUES");
	EXPECT("*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "nokey", "0");
	/* distinct random fields, few of many and most of many */
	parse_elems(CMD("HRANDFIELD", "{b}1", "50"), e);
	assert_int_equal(e->n, 50);
	qsort(e->v, e->n, sizeof(e->v[0]), cmpstr);
	for (unsigned i = 1; i < e->n; i++)
		assert_string_not_equal(e->v[i - 1], e->v[i]);
	free_elems(e);
	parse_elems(CMD("HRANDFIELD", "{b}1", "4000", "WITHVALUES"), e);
	assert_int_equal(e->n, 8000);
	free_elems(e);
	parse_elems(CMD("HRANDFIELD", "{b}1", "-300"), e);
	assert_int_equal(e->n, 300);
	free_elems(e);
	parse_elems(CMD("HRANDFIELD", "{b}1", "9000"), e);
	assert_int_equal(e->n, N);
	free_elems(e);
	/* keys, not parts, are counted */
	EXPECT(":1\r\n", "DBSIZE");
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$4\r\n{b}1\r\n", "SCAN", "0", "COUNT", "100000");
	/* COPY is deep, RENAME keeps the buckets, both carry the TTL */
	EXPECT(":1\r\n", "EXPIRE", "{b}1", "100");
	EXPECT(":1\r\n", "COPY", "{b}1", "{b}2");
	EXPECT(":5000\r\n", "HLEN", "{b}2");
	EXPECT(":100\r\n", "TTL", "{b}2");
	EXPECT(":0\r\n", "HSET", "{b}2", "field:1", "changed");
	EXPECT("$2\r\nv1\r\n", "HGET", "{b}1", "field:1");
	EXPECT("+OK\r\n", "RENAME", "{b}2", "{b}3");
	EXPECT("$7\r\nchanged\r\n", "HGET", "{b}3", "field:1");
	EXPECT(":0\r\n", "EXISTS", "{b}2");
	EXPECT(":2\r\n", "DBSIZE");
	EXPECT(":2\r\n", "DEL", "{b}1", "{b}3");
	EXPECT(":0\r\n", "DBSIZE");
	free(e);
}

/* ---- sets ---- */

static void set_basics(void **state)
{
	struct elems e;

	(void)state;
	EXPECT(":3\r\n", "SADD", "s", "a", "b", "c");
	EXPECT(":1\r\n", "SADD", "s", "a", "d");
	EXPECT(":4\r\n", "SCARD", "s");
	EXPECT(":0\r\n", "SCARD", "nokey");
	assert_string_equal(sorted(CMD("SMEMBERS", "s")), "a b c d");
	EXPECT(":1\r\n", "SISMEMBER", "s", "a");
	EXPECT(":0\r\n", "SISMEMBER", "s", "z");
	EXPECT(":0\r\n", "SISMEMBER", "nokey", "z");
	EXPECT("*3\r\n:1\r\n:0\r\n:1\r\n", "SMISMEMBER", "s", "a", "z", "d");
	EXPECT("*2\r\n:0\r\n:0\r\n", "SMISMEMBER", "nokey", "a", "b");
	EXPECT(":2\r\n", "SREM", "s", "a", "z", "b");
	assert_string_equal(sorted(CMD("SMEMBERS", "s")), "c d");
	/* SRANDMEMBER */
	parse_elems(CMD("SRANDMEMBER", "s", "-5"), &e);
	assert_int_equal(e.n, 5);
	free_elems(&e);
	assert_string_equal(sorted(CMD("SRANDMEMBER", "s", "5")), "c d");
	EXPECT("$-1\r\n", "SRANDMEMBER", "nokey");
	EXPECT("-ERR syntax error\r\n", "SRANDMEMBER", "s", "1", "2");
	/* SPOP */
	EXPECT("-ERR value is out of range, must be positive\r\n", "SPOP", "s", "-1");
	EXPECT("-ERR value is out of range, must be positive\r\n", "SPOP", "s", "x");
	EXPECT("-ERR syntax error\r\n", "SPOP", "s", "1", "2");
	EXPECT("*0\r\n", "SPOP", "s", "0");
	CMD("SPOP", "s");
	assert_true(!strcmp(outbuf, "$1\r\nc\r\n") || !strcmp(outbuf, "$1\r\nd\r\n"));
	EXPECT(":1\r\n", "SCARD", "s");
	EXPECT(":2\r\n", "SADD", "s", "x", "y");
	parse_elems(CMD("SPOP", "s", "2"), &e);
	assert_int_equal(e.n, 2);
	free_elems(&e);
	EXPECT(":1\r\n", "SCARD", "s");
	parse_elems(CMD("SPOP", "s", "10"), &e);
	assert_int_equal(e.n, 1);
	free_elems(&e);
	EXPECT(":0\r\n", "EXISTS", "s");
	EXPECT("$-1\r\n", "SPOP", "s");
	/* SMOVE (both keys in one partition: hash tags) */
	EXPECT(":2\r\n", "SADD", "{m}a", "1", "2");
	EXPECT(":1\r\n", "SMOVE", "{m}a", "{m}b", "1");
	EXPECT(":0\r\n", "SMOVE", "{m}a", "{m}b", "9");
	EXPECT(":1\r\n", "SMOVE", "{m}a", "{m}a", "2");
	EXPECT(":1\r\n", "SMOVE", "{m}a", "{m}b", "2");
	EXPECT(":0\r\n", "EXISTS", "{m}a");
	assert_string_equal(sorted(CMD("SMEMBERS", "{m}b")), "1 2");
	EXPECT(":1\r\n", "DEL", "{m}b");
	/* SSCAN on a small set: everything, cursor 0 */
	EXPECT(":2\r\n", "SADD", "sc", "p", "q");
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$1\r\nq\r\n", "SSCAN", "sc", "0", "MATCH", "q");
	EXPECT(":1\r\n", "DEL", "sc");
}

/* Two keys that live in different partitions (odd and even slots). */
static void two_partitions(char *a, char *b)
{
	for (unsigned i = 0;; i++) {
		snprintf(b, 16, "k%u", i);
		if (wc_key_slot((const uint8_t *)b, strlen(b)) % 2 !=
		    wc_key_slot((const uint8_t *)a, strlen(a)) % 2)
			return;
	}
}

static void set_algebra(void **state)
{
	char other[16], x[16] = "sx";

	(void)state;
	two_partitions(x, other);
	EXPECT(":4\r\n", "SADD", x, "a", "b", "c", "d");
	EXPECT(":3\r\n", "SADD", other, "c", "d", "e");
	/* reads across partitions */
	assert_string_equal(sorted(CMD("SINTER", x, other)), "c d");
	assert_string_equal(sorted(CMD("SUNION", x, other)), "a b c d e");
	assert_string_equal(sorted(CMD("SDIFF", x, other)), "a b");
	assert_string_equal(sorted(CMD("SDIFF", other, x)), "e");
	assert_string_equal(sorted(CMD("SINTER", x, other, "nokey")), "");
	assert_string_equal(sorted(CMD("SUNION", "nokey", x)), "a b c d");
	assert_string_equal(sorted(CMD("SDIFF", x, x)), "");
	assert_string_equal(sorted(CMD("SDIFF", "nokey", x)), "");
	EXPECT(":2\r\n", "SINTERCARD", "2", x, other);
	EXPECT(":1\r\n", "SINTERCARD", "2", x, other, "LIMIT", "1");
	EXPECT(":2\r\n", "SINTERCARD", "2", x, other, "LIMIT", "0");
	EXPECT(":0\r\n", "SINTERCARD", "3", x, other, "nokey");
	EXPECT("-ERR numkeys should be greater than 0\r\n", "SINTERCARD", "0", x);
	EXPECT("-ERR numkeys should be greater than 0\r\n", "SINTERCARD", "x", x);
	EXPECT("-ERR Number of keys can't be greater than number of args\r\n", "SINTERCARD", "3",
	       x, other);
	EXPECT("-ERR LIMIT can't be negative\r\n", "SINTERCARD", "2", x, other, "LIMIT", "-1");
	EXPECT("-ERR syntax error\r\n", "SINTERCARD", "1", x, other);
	/* writes across partitions are refused */
	EXPECT("-CROSSSLOT Keys in request don't hash to the same slot\r\n", "SINTERSTORE", x, x,
	       other);
	EXPECT("-CROSSSLOT Keys in request don't hash to the same slot\r\n", "SMOVE", x, other,
	       "a");
	/* and work in one partition */
	EXPECT(":3\r\n", "SADD", "{t}1", "a", "b", "c");
	EXPECT(":3\r\n", "SADD", "{t}2", "b", "c", "d");
	EXPECT(":2\r\n", "SINTERSTORE", "{t}d", "{t}1", "{t}2");
	assert_string_equal(sorted(CMD("SMEMBERS", "{t}d")), "b c");
	EXPECT(":4\r\n", "SUNIONSTORE", "{t}d", "{t}1", "{t}2");
	assert_string_equal(sorted(CMD("SMEMBERS", "{t}d")), "a b c d");
	EXPECT(":1\r\n", "SDIFFSTORE", "{t}d", "{t}1", "{t}2");
	assert_string_equal(sorted(CMD("SMEMBERS", "{t}d")), "a");
	/* a store into one of its sources; an empty result deletes the destination */
	EXPECT(":3\r\n", "SUNIONSTORE", "{t}1", "{t}1", "{t}d");
	EXPECT(":0\r\n", "SINTERSTORE", "{t}d", "{t}1", "{t}nokey");
	EXPECT(":0\r\n", "EXISTS", "{t}d");
	EXPECT("+OK\r\n", "SET", "{t}d", "string");
	EXPECT(":3\r\n", "SUNIONSTORE", "{t}d", "{t}1");
	EXPECT("+set\r\n", "TYPE", "{t}d");
	EXPECT("+OK\r\n", "SET", "{t}s", "string");
	EXPECT("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
	       "SUNIONSTORE", "{t}d", "{t}1", "{t}d", "{t}s");
	EXPECT("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
	       "SDIFFSTORE", "{t}d", "{t}1", "{t}s");
	EXPECT(":1\r\n", "HSET", "{t}h", "f", "v");
	EXPECT("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
	       "SMOVE", "{t}1", "{t}h", "a");
	EXPECT(":0\r\n", "SMOVE", "{t}nokey", "{t}h", "a");	/* a missing source wins */
	EXPECT(":7\r\n", "DEL", x, other, "{t}1", "{t}2", "{t}d", "{t}s", "{t}h");
}

/* Large sets: algebra over buckets, a bucketed *STORE, SSCAN, SPOP many. */
static void set_large(void **state)
{
	enum { N = 3000 };
	char m[32], c[32];
	struct elems *e = malloc(sizeof(*e));
	unsigned long long cursor = 0;
	unsigned total = 0;

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		snprintf(m, sizeof(m), "m%u", i);
		EXPECT(":1\r\n", "SADD", "{L}a", m);
		snprintf(m, sizeof(m), "m%u", i + N / 2);
		EXPECT(":1\r\n", "SADD", "{L}b", m);
	}
	parse_elems(CMD("SINTER", "{L}a", "{L}b"), e);
	assert_int_equal(e->n, N / 2);
	free_elems(e);
	parse_elems(CMD("SUNION", "{L}a", "{L}b"), e);
	assert_int_equal(e->n, N + N / 2);
	free_elems(e);
	parse_elems(CMD("SDIFF", "{L}a", "{L}b"), e);
	assert_int_equal(e->n, N / 2);
	free_elems(e);
	EXPECT(":1500\r\n", "SINTERCARD", "2", "{L}a", "{L}b");
	EXPECT(":4500\r\n", "SUNIONSTORE", "{L}u", "{L}a", "{L}b");
	EXPECT(":4500\r\n", "SCARD", "{L}u");
	EXPECT(":1\r\n", "SISMEMBER", "{L}u", "m4499");
	EXPECT(":1500\r\n", "SINTERSTORE", "{L}i", "{L}a", "{L}b");
	EXPECT(":1500\r\n", "SDIFFSTORE", "{L}d", "{L}u", "{L}b");
	EXPECT(":0\r\n", "SISMEMBER", "{L}d", "m2000");
	EXPECT(":1\r\n", "SISMEMBER", "{L}d", "m20");
	do {
		const char *r;
		char *end;

		snprintf(c, sizeof(c), "%llu", cursor);
		r = CMD("SSCAN", "{L}u", c, "COUNT", "50");
		cursor = strtoull(strstr(r + 5, "\r\n") + 2, &end, 10);
		parse_elems(end + 2, e);
		total += e->n;
		free_elems(e);
	} while (cursor != 0);
	assert_true(total >= 4500);
	parse_elems(CMD("SPOP", "{L}u", "4000"), e);
	assert_int_equal(e->n, 4000);
	free_elems(e);
	EXPECT(":500\r\n", "SCARD", "{L}u");
	parse_elems(CMD("SMEMBERS", "{L}u"), e);
	assert_int_equal(e->n, 500);
	free_elems(e);
	EXPECT(":5\r\n", "DEL", "{L}a", "{L}b", "{L}u", "{L}i", "{L}d");
	free(e);
}

static void transactions_and_expiry(void **state)
{
	(void)state;
	EXPECT("+OK\r\n", "MULTI");
	EXPECT("+QUEUED\r\n", "HSET", "tx", "a", "1");
	EXPECT("+QUEUED\r\n", "HINCRBY", "tx", "a", "5");
	EXPECT("+QUEUED\r\n", "HGETALL", "tx");
	EXPECT("*3\r\n:1\r\n:6\r\n*2\r\n$1\r\na\r\n$1\r\n6\r\n", "EXEC");
	EXPECT(":1\r\n", "PEXPIRE", "tx", "1500");
	EXPECT(":1\r\n", "HSET", "tx", "b", "2");	/* changes keep the TTL */
	EXPECT(":2\r\n", "TTL", "tx");
	h.lc->ctx.clock.now += 2;
	EXPECT(":0\r\n", "EXISTS", "tx");
	EXPECT(":0\r\n", "HLEN", "tx");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_basics),
		cmocka_unit_test(odd_arguments),
		cmocka_unit_test(too_large_members),
		cmocka_unit_test(wrongtype),
		cmocka_unit_test(resp3),
		cmocka_unit_test(hrandfield_forms),
		cmocka_unit_test(hash_large),
		cmocka_unit_test(set_basics),
		cmocka_unit_test(set_algebra),
		cmocka_unit_test(set_large),
		cmocka_unit_test(transactions_and_expiry),
	};

	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
