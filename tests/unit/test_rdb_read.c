/*
 * test_rdb_read.c - the RDB file reader (redis/rdb_read.h): files a real
 * redis-server 7.0.15 wrote (tests/unit/rdb/, rdb_files_gen.py: every
 * string, hash and set encoding, expiries, a list, zsets, a stream with a
 * consumer group, a function library, a file without CRC, a second
 * database), files built by hand (every opcode, old expiry in seconds,
 * IDLE/FREQ, the old list/zset encodings skipped, wc-mcflags for the next
 * key only), and every refusal: bad CRC, truncation at every byte (with and
 * without CRC), modules, newer versions, bad signatures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "redis/rdb_read.h"
#include "rdb_build.h"

#define MAXK 64

struct seen {
	unsigned n;
	struct rdbr_entry e[MAXK];
	int last;			/* RDBR_END or RDBR_ERR */
};

static struct rdbr rd;

/* Read a whole file: its keys in s, the last result. */
static int read_all(const uint8_t *p, size_t n, uint64_t max_value, struct seen *s)
{
	struct rdbv_src in = { .p = p, .len = n };
	struct rdbr_entry e;
	int r;

	memset(s, 0, sizeof(*s));
	if (rdbr_open(&rd, &in, max_value) != 0)
		return s->last = RDBR_ERR;
	while ((r = rdbr_next(&rd, &e)) == RDBR_KEY || r == RDBR_SKIPPED) {
		if (r == RDBR_KEY && s->n < MAXK)
			s->e[s->n++] = e;
	}
	return s->last = r;
}

static const struct rdbr_entry *find(const struct seen *s, const char *k)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->e[i].klen == strlen(k) && !memcmp(s->e[i].key, k, s->e[i].klen))
			return &s->e[i];
	return NULL;
}

/* A string entry's value, decoded again from the file. */
struct val {
	char buf[4096];
	uint64_t len;
};

static int val_fn(void *arg, const struct rdbv_bytes *name, const struct rdbv_bytes *v)
{
	struct val *x = arg;

	(void)v;
	x->len = name->len;
	if (name->len < sizeof(x->buf)) {
		if (name->p)
			memcpy(x->buf, name->p, name->len);
		else
			name->read(name->src, 0, x->buf, name->len);
	}
	return 0;
}

static void check_string(const uint8_t *p, size_t n, const struct rdbr_entry *e, const char *want)
{
	static struct rdbv_dec dec;
	struct rdbv_src in = { .p = p, .len = n };
	struct rdbv_info info;
	struct val x = { .len = 0 };

	assert_non_null(e);
	assert_int_equal(e->type, 0);
	assert_int_equal(rdbv_decode_obj(&dec, &in, e->type, e->off, e->end, val_fn, &x, &info,
					 NULL), RDBV_OK);
	assert_int_equal(x.len, strlen(want));
	assert_memory_equal(x.buf, want, x.len);
}

static uint8_t *load(const char *name, size_t *n)
{
	char path[256];
	uint8_t *p;

	snprintf(path, sizeof(path), "tests/unit/rdb/%s", name);
	p = rb_slurp(path, n);
	assert_non_null(p);
	return p;
}

static void redis_all(void **state)
{
	static struct seen s;
	const struct rdbr_entry *e;
	size_t n;
	uint8_t *p = load("redis70_all.rdb", &n);
	char lzf[1601];
	const char *strings[] = { "int8", "int16", "int32", "bigint", "raw", "empty", "ttl" };
	const char *vals[] = { "7", "-3000", "2000000000", "12345678901234", "hello world", "",
			       "soon" };

	(void)state;
	assert_int_equal(read_all(p, n, 0, &s), RDBR_END);
	assert_true(rd.crc_checked);
	assert_string_equal(rd.redis_ver, "7.0.15");
	assert_int_equal(s.n, 15);
	assert_int_equal(rd.keys, 15);
	assert_int_equal(rd.skipped[RDBR_SK_LIST], 1);
	assert_int_equal(rd.skipped[RDBR_SK_ZSET], 2);
	assert_int_equal(rd.skipped[RDBR_SK_STREAM], 1);
	assert_int_equal(rd.skipped[RDBR_SK_OTHERDB], 0);
	assert_int_equal(rd.functions, 1);
	for (unsigned i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		check_string(p, n, find(&s, strings[i]), vals[i]);
	for (unsigned i = 0; i < 200; i++)
		memcpy(lzf + 8 * i, "abcdefgh", 8);
	lzf[1600] = 0;
	check_string(p, n, find(&s, "lzf"), lzf);
	/* a key long enough for Redis to compress it */
	memcpy(lzf, "lzfkey-", 7);
	memset(lzf + 7, 'k', 60);
	lzf[67] = 0;
	assert_non_null(find(&s, lzf));
	e = find(&s, "h:lp");
	assert_non_null(e);
	assert_int_equal(e->type, RDBV_T_HASH_LISTPACK);
	assert_int_equal(e->kind, RDBV_HASH);
	assert_int_equal(e->count, 3);
	assert_true(e->expire_ms > 0);
	e = find(&s, "h:ht");
	assert_int_equal(e->type, RDBV_T_HASH);
	assert_int_equal(e->count, 200);
	assert_int_equal(e->expire_ms, 0);
	e = find(&s, "h:long");
	assert_int_equal(e->type, RDBV_T_HASH);
	e = find(&s, "s:int");
	assert_int_equal(e->type, RDBV_T_SET_INTSET);
	assert_int_equal(e->count, 5);
	e = find(&s, "s:ht");
	assert_int_equal(e->type, RDBV_T_SET);
	assert_int_equal(e->count, 4);
	assert_true(e->expire_ms > 0);
	e = find(&s, "s:big");
	assert_int_equal(e->type, RDBV_T_SET);
	assert_int_equal(e->count, 600);
	assert_true(find(&s, "ttl")->expire_ms > 0);
	assert_int_equal(find(&s, "raw")->expire_ms, 0);
	assert_null(find(&s, "l:1"));
	assert_null(find(&s, "z:lp"));
	assert_null(find(&s, "x:1"));
	/* a limit on value sizes: the 1600-byte string is skipped, counted */
	assert_int_equal(read_all(p, n, 1000, &s), RDBR_END);
	assert_int_equal(rd.skipped[RDBR_SK_TOOBIG], 1);
	assert_null(find(&s, "lzf"));
	free(p);
}

static void redis_nocrc_db1(void **state)
{
	static struct seen s;
	size_t n;
	uint8_t *p = load("redis70_nocrc.rdb", &n);

	(void)state;
	assert_int_equal(read_all(p, n, 0, &s), RDBR_END);
	assert_false(rd.crc_checked);
	assert_int_equal(s.n, 3);
	assert_int_equal(find(&s, "b")->kind, RDBV_HASH);
	assert_int_equal(find(&s, "c")->kind, RDBV_SET);
	free(p);
	p = load("redis70_db1.rdb", &n);
	assert_int_equal(read_all(p, n, 0, &s), RDBR_END);
	assert_int_equal(s.n, 1);
	check_string(p, n, find(&s, "in0"), "zero");
	assert_int_equal(rd.skipped[RDBR_SK_OTHERDB], 1);
	free(p);
}

/* A file with every opcode and the older encodings of skipped types. */
static void build_every(struct rb *b, int crc)
{
	uint8_t zero16[16] = { 0 };

	rb_header(b, 10);
	rb_aux(b, "redis-ver", "7.0.15");
	rb_aux(b, "redis-bits", "64");
	rb_byte(b, 0xFE);	/* SELECTDB 0 */
	rb_len(b, 0);
	rb_byte(b, 0xFB);	/* RESIZEDB */
	rb_len(b, 20);
	rb_len(b, 2);
	rb_aux(b, "wc-mcflags", "42");
	rb_byte(b, 0xFC);	/* EXPIRETIME_MS */
	rb_le(b, 4102444800000ull, 8);
	rb_kv(b, "flagged", "v1");
	rb_kv(b, "plain", "v2");
	rb_byte(b, 0xFD);	/* EXPIRETIME, seconds */
	rb_le(b, 2000000000u, 4);
	rb_byte(b, 0xF8);	/* IDLE */
	rb_len(b, 100);
	rb_byte(b, 0xF9);	/* FREQ */
	rb_byte(b, 5);
	rb_kv(b, "secs", "v3");
	rb_byte(b, 0xF5);	/* FUNCTION2 */
	rb_s(b, "#!lua name=x\n");
	/* LIST: count, strings */
	rb_byte(b, 1);
	rb_s(b, "list");
	rb_len(b, 2);
	rb_s(b, "a");
	rb_byte(b, 0xC0);	/* an INT8 string */
	rb_byte(b, 5);
	/* ZSET: member, score as text; 253..255 special */
	rb_byte(b, 3);
	rb_s(b, "zset1");
	rb_len(b, 2);
	rb_s(b, "m");
	rb_s(b, "1.5");
	rb_s(b, "n");
	rb_byte(b, 254);
	/* ZSET_2: member, binary double */
	rb_byte(b, 5);
	rb_s(b, "zset2");
	rb_len(b, 1);
	rb_s(b, "m");
	rb_le(b, 0x3ff0000000000000ull, 8);
	/* LIST_ZIPLIST, ZSET_ZIPLIST, ZSET_LISTPACK: one blob (not looked into) */
	rb_byte(b, 10);
	rb_s(b, "lz");
	rb_s(b, "blob");
	rb_byte(b, 12);
	rb_s(b, "zz");
	rb_s(b, "blob");
	rb_byte(b, 17);
	rb_s(b, "zl");
	rb_s(b, "blob");
	/* QUICKLIST: count, blobs; QUICKLIST_2: count, (container, blob) */
	rb_byte(b, 14);
	rb_s(b, "q1");
	rb_len(b, 1);
	rb_s(b, "blob");
	rb_byte(b, 18);
	rb_s(b, "q2");
	rb_len(b, 2);
	rb_len(b, 2);
	rb_s(b, "blob");
	rb_len(b, 1);
	rb_s(b, "plain");
	/* STREAM_LISTPACKS_2: one listpack, ids, one group with one pending entry
	 * and one consumer owning it */
	rb_byte(b, 19);
	rb_s(b, "st");
	rb_len(b, 1);
	rb_str(b, zero16, 16);
	rb_s(b, "listpack-bytes");
	for (int i = 0; i < 8; i++)
		rb_len(b, (uint64_t)i);
	rb_len(b, 1);		/* groups */
	rb_s(b, "grp");
	rb_len(b, 1);
	rb_len(b, 1);
	rb_len(b, 1);		/* entries read */
	rb_len(b, 1);		/* PEL */
	rb_put(b, zero16, 16);
	rb_le(b, 1000, 8);
	rb_len(b, 1);
	rb_len(b, 1);		/* consumers */
	rb_s(b, "alice");
	rb_le(b, 1000, 8);
	rb_len(b, 1);
	rb_put(b, zero16, 16);
	/* STREAM_LISTPACKS (old): no first/max-deleted ids, no entries read */
	rb_byte(b, 15);
	rb_s(b, "st0");
	rb_len(b, 0);
	rb_len(b, 0);
	rb_len(b, 0);
	rb_len(b, 0);
	rb_len(b, 1);
	rb_s(b, "g");
	rb_len(b, 0);
	rb_len(b, 0);
	rb_len(b, 0);		/* PEL */
	rb_len(b, 0);		/* consumers */
	/* a key after all that, with its own flags */
	rb_aux(b, "wc-mcflags", "4294967295");
	rb_kv(b, "last", "v4");
	rb_end(b, crc);
}

static void hand_built(void **state)
{
	static struct seen s;
	struct rb b = { 0 };
	const struct rdbr_entry *e;

	(void)state;
	build_every(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_END);
	assert_true(rd.crc_checked);
	assert_int_equal(s.n, 4);
	e = find(&s, "flagged");
	assert_int_equal(e->mcflags, 42);
	assert_int_equal(e->expire_ms, 4102444800000ll);
	check_string(b.p, b.n, e, "v1");
	e = find(&s, "plain");
	assert_int_equal(e->mcflags, 0);	/* the flags were for the key before */
	assert_int_equal(e->expire_ms, 0);
	e = find(&s, "secs");
	assert_int_equal(e->expire_ms, 2000000000000ll);
	check_string(b.p, b.n, e, "v3");
	assert_int_equal(find(&s, "last")->mcflags, 4294967295u);
	assert_int_equal(rd.skipped[RDBR_SK_LIST], 4);
	assert_int_equal(rd.skipped[RDBR_SK_ZSET], 4);
	assert_int_equal(rd.skipped[RDBR_SK_STREAM], 2);
	assert_int_equal(rd.functions, 1);
	assert_int_equal(rd.resize_keys, 20);
	/* the same with no CRC */
	b.n = 0;
	build_every(&b, 0);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_END);
	assert_false(rd.crc_checked);
	assert_int_equal(s.n, 4);
	free(b.p);
}

static void bad_crc(void **state)
{
	static struct seen s;
	size_t n;
	uint8_t *p = load("redis70_all.rdb", &n);

	(void)state;
	p[n / 2] ^= 1;
	assert_int_equal(read_all(p, n, 0, &s), RDBR_ERR);
	assert_string_equal(rd.err, "wrong RDB checksum");
	assert_int_equal(s.n, 0);
	p[n / 2] ^= 1;
	p[n - 1] ^= 0x80;
	assert_int_equal(read_all(p, n, 0, &s), RDBR_ERR);
	free(p);
}

/* Every truncation fails: at the CRC, or (with the CRC zeroed) in the parse. */
static void truncations(void **state)
{
	static struct seen s;
	struct rb b = { 0 };
	size_t n;
	uint8_t *p = load("redis70_all.rdb", &n), *t = malloc(n + 8);

	(void)state;
	for (size_t k = 0; k < n; k++)
		assert_int_equal(read_all(p, k, 0, &s), RDBR_ERR);
	for (size_t k = 0; k < n - 8; k++) {
		memcpy(t, p, k);
		memset(t + k, 0, 8);
		assert_int_equal(read_all(t, k + 8, 0, &s), RDBR_ERR);
	}
	build_every(&b, 0);
	for (size_t k = 0; k < b.n - 8; k++) {
		memcpy(t, b.p, k);
		memset(t + k, 0, 8);
		assert_int_equal(read_all(t, k + 8, 0, &s), RDBR_ERR);
	}
	free(b.p);
	free(t);
	free(p);
}

static void refusals(void **state)
{
	static struct seen s;
	struct rb b = { 0 };

	(void)state;
	rb_header(&b, 11);
	rb_end(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_ERR);
	assert_string_equal(rd.err, "can't handle RDB format version 11");
	b.n = 0;
	rb_header(&b, 9);	/* older versions are read */
	rb_kv(&b, "k", "v");
	rb_end(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_END);
	assert_int_equal(s.n, 1);
	b.n = 0;
	rb_put(&b, "REDIX0010", 9);
	rb_end(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_ERR);
	b.n = 0;
	rb_header(&b, 10);
	rb_byte(&b, 0xF7);	/* MODULE_AUX */
	rb_len(&b, 1);
	rb_end(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_ERR);
	assert_non_null(strstr(rd.err, "module"));
	b.n = 0;
	rb_header(&b, 10);
	rb_byte(&b, 7);		/* a module value */
	rb_s(&b, "m");
	rb_len(&b, 1);
	rb_end(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_ERR);
	assert_non_null(strstr(rd.err, "module"));
	b.n = 0;
	rb_header(&b, 10);	/* an expiry with no key after it */
	rb_byte(&b, 0xFC);
	rb_le(&b, 1, 8);
	rb_end(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_ERR);
	b.n = 0;
	rb_header(&b, 10);	/* bad wc-mcflags */
	rb_aux(&b, "wc-mcflags", "4294967296");
	rb_kv(&b, "k", "v");
	rb_end(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_ERR);
	b.n = 0;
	rb_header(&b, 10);	/* a bad value: an empty hash */
	rb_byte(&b, 4);
	rb_s(&b, "h");
	rb_len(&b, 0);
	rb_end(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_ERR);
	b.n = 0;
	rb_header(&b, 10);	/* bytes after EOF */
	rb_byte(&b, 0xFF);
	rb_byte(&b, 0);
	rb_le(&b, 0, 8);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_ERR);
	b.n = 0;
	rb_header(&b, 10);	/* keys the store cannot take: counted, skipped */
	rb_kv(&b, "", "empty key");
	{
		char k[300];

		memset(k, 'k', sizeof(k) - 1);
		k[sizeof(k) - 1] = 0;
		rb_kv(&b, k, "long key");
	}
	rb_kv(&b, "ok", "v");
	rb_end(&b, 1);
	assert_int_equal(read_all(b.p, b.n, 0, &s), RDBR_END);
	assert_int_equal(s.n, 1);
	assert_int_equal(rd.skipped[RDBR_SK_LONGKEY], 2);
	free(b.p);
}

/* Single-byte corruptions (CRC fixed up) never fault and end in END or ERR. */
static void corruptions(void **state)
{
	static struct seen s;
	struct rb b = { 0 };

	(void)state;
	build_every(&b, 1);
	for (size_t i = 9; i < b.n - 9; i++) {
		for (unsigned v = 0; v < 256; v += 17) {
			uint8_t o = b.p[i];
			int r;

			b.p[i] = (uint8_t)v;
			memset(b.p + b.n - 8, 0, 8);
			r = read_all(b.p, b.n, 0, &s);
			assert_true(r == RDBR_END || r == RDBR_ERR);
			b.p[i] = o;
		}
	}
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(redis_all),
		cmocka_unit_test(redis_nocrc_db1),
		cmocka_unit_test(hand_built),
		cmocka_unit_test(bad_crc),
		cmocka_unit_test(truncations),
		cmocka_unit_test(refusals),
		cmocka_unit_test(corruptions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
