/*
 * test_rdbval.c - a value's RDB encoding (redis/rdbval.h): Redis's CRC64,
 * payloads a real redis-server 7.0.15 wrote (rdbval_fixtures.h: raw, int and
 * LZF strings, listpack hashes plain and compressed, a hashtable hash, 16-
 * and 64-bit intsets, a hashtable set), the older encodings built by hand
 * (ziplist and zipmap hashes), LZF strings longer than the decoder's window
 * read out of order, round trips of every encoding the encoder picks (and
 * byte-for-byte equality with Redis's own payloads where no LZF is
 * involved), and every rejection: checksum, version, length, trailing
 * bytes, truncation at every length, inconsistent blob headers, empty
 * containers, unknown types; single-byte corruptions must never fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "redis/rdbval.h"
#include "rdbval_fixtures.h"

#define MAXM 1200

/* What a decoding yielded: members copied out. */
struct got {
	uint32_t n;
	char *name[MAXM], *val[MAXM];
	uint64_t nlen[MAXM], vlen[MAXM];
	struct rdbv_info info;
	int stop_at;			/* stop at this member (1-based), 0 never */
};

static char *copy_bytes(const struct rdbv_bytes *b)
{
	char *p = malloc(b->len + 1);

	assert_non_null(p);
	if (b->p)
		memcpy(p, b->p, b->len);
	else
		b->read(b->src, 0, p, b->len);
	p[b->len] = 0;
	return p;
}

static int collect(void *arg, const struct rdbv_bytes *name, const struct rdbv_bytes *val)
{
	struct got *g = arg;

	assert_true(g->n < MAXM);
	g->name[g->n] = copy_bytes(name);
	g->nlen[g->n] = name->len;
	g->val[g->n] = val ? copy_bytes(val) : NULL;
	g->vlen[g->n] = val ? val->len : 0;
	g->n++;
	return g->stop_at && (int)g->n == g->stop_at;
}

static void got_free(struct got *g)
{
	for (uint32_t i = 0; i < g->n; i++) {
		free(g->name[i]);
		free(g->val[i]);
	}
	g->n = 0;
}

static struct rdbv_dec dec;

static int decode(const uint8_t *p, uint64_t n, struct got *g)
{
	struct rdbv_src in = { .p = p, .len = n };

	memset(g, 0, sizeof(*g));
	return rdbv_decode_payload(&dec, &in, collect, g, &g->info);
}

/* The same through a read callback (a scattered argument). */
static void src_read_cb(const void *arg, uint64_t off, void *dst, uint64_t n)
{
	memcpy(dst, (const uint8_t *)arg + off, n);
}

static int decode_cb(const uint8_t *p, uint64_t n, struct got *g)
{
	struct rdbv_src in = { .len = n, .read = src_read_cb, .arg = p };

	memset(g, 0, sizeof(*g));
	return rdbv_decode_payload(&dec, &in, collect, g, &g->info);
}

static const char *val_of(const struct got *g, const char *name)
{
	for (uint32_t i = 0; i < g->n; i++)
		if (strcmp(g->name[i], name) == 0)
			return g->val[i] ? g->val[i] : "";
	return NULL;
}

/* A body with the footer: version and CRC (the buffer has room for 10 more bytes). */
static uint64_t seal(uint8_t *p, uint64_t n, unsigned version)
{
	uint64_t crc;

	p[n++] = (uint8_t)version;
	p[n++] = (uint8_t)(version >> 8);
	crc = rdbv_crc64(0, p, n);
	for (int i = 0; i < 8; i++)
		p[n++] = (uint8_t)(crc >> (8 * i));
	return n;
}

static void test_crc64(void **state)
{
	(void)state;
	assert_true(rdbv_crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caull);
	assert_true(rdbv_crc64(rdbv_crc64(0, "1234", 4), "56789", 5) == 0xe9c6d914c4b8d9caull);
	assert_true(rdbv_crc64(0, "", 0) == 0);
}

#define DEC(fx, g) decode(fx, sizeof(fx), g)

static void test_redis_strings(void **state)
{
	struct got g;
	char want[400] = "";

	(void)state;
	assert_int_equal(DEC(fx_str_short, &g), RDBV_OK);
	assert_int_equal(g.info.kind, RDBV_STRING);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.name[0], "hello world");
	got_free(&g);
	assert_int_equal(DEC(fx_str_int, &g), RDBV_OK);
	assert_string_equal(g.name[0], "12345");
	got_free(&g);
	assert_int_equal(DEC(fx_str_neg, &g), RDBV_OK);
	assert_string_equal(g.name[0], "-100000");
	got_free(&g);
	assert_int_equal(DEC(fx_str_bigint, &g), RDBV_OK);
	assert_string_equal(g.name[0], "1099511627776");
	got_free(&g);
	/* LZF */
	assert_int_equal(fx_str_lzf[1], 0xc3);
	for (int i = 0; i < 30; i++)
		strcat(want, "wirecache ");
	assert_int_equal(DEC(fx_str_lzf, &g), RDBV_OK);
	assert_string_equal(g.name[0], want);
	assert_int_equal(g.nlen[0], 300);
	got_free(&g);
	assert_int_equal(decode_cb(fx_str_lzf, sizeof(fx_str_lzf), &g), RDBV_OK);
	assert_string_equal(g.name[0], want);
	got_free(&g);
}

static void test_redis_hashes(void **state)
{
	struct got g;
	char f[32], v[64];

	(void)state;
	assert_int_equal(DEC(fx_hash_lp, &g), RDBV_OK);
	assert_int_equal(g.info.rdbtype, RDBV_T_HASH_LISTPACK);
	assert_int_equal(g.info.kind, RDBV_HASH);
	assert_int_equal(g.n, 4);
	assert_string_equal(val_of(&g, "name"), "wirecache");
	assert_string_equal(val_of(&g, "port"), "6379");
	assert_string_equal(val_of(&g, "neg"), "-5");
	assert_string_equal(val_of(&g, "big"), "123456789012");
	got_free(&g);
	/* the listpack itself LZF-compressed */
	assert_int_equal(fx_hash_lp_lzf[1], 0xc3);
	assert_int_equal(DEC(fx_hash_lp_lzf, &g), RDBV_OK);
	assert_int_equal(g.info.rdbtype, RDBV_T_HASH_LISTPACK);
	assert_int_equal(g.n, 20);
	for (int i = 0; i < 20; i++) {
		snprintf(f, sizeof(f), "field%d", i);
		snprintf(v, sizeof(v), "value-value-value-%d", i);
		assert_string_equal(val_of(&g, f), v);
	}
	got_free(&g);
	/* a hashtable hash of 200 fields */
	assert_int_equal(DEC(fx_hash_ht, &g), RDBV_OK);
	assert_int_equal(g.info.rdbtype, RDBV_T_HASH);
	assert_int_equal(g.n, 200);
	for (int i = 0; i < 200; i++) {
		snprintf(f, sizeof(f), "f%03d", i);
		snprintf(v, sizeof(v), "v%d", i * 7);
		assert_string_equal(val_of(&g, f), v);
	}
	got_free(&g);
	assert_int_equal(decode_cb(fx_hash_ht, sizeof(fx_hash_ht), &g), RDBV_OK);
	assert_int_equal(g.n, 200);
	got_free(&g);
}

static bool has(const struct got *g, const char *m)
{
	return val_of(g, m) != NULL;
}

static void test_redis_sets(void **state)
{
	struct got g;

	(void)state;
	assert_int_equal(DEC(fx_set_intset, &g), RDBV_OK);
	assert_int_equal(g.info.rdbtype, RDBV_T_SET_INTSET);
	assert_int_equal(g.info.kind, RDBV_SET);
	assert_int_equal(g.n, 6);
	assert_true(has(&g, "1") && has(&g, "2") && has(&g, "3") && has(&g, "-5") &&
		    has(&g, "70000") && has(&g, "-2147483649"));
	assert_null(g.val[0]);
	got_free(&g);
	assert_int_equal(DEC(fx_set_intset16, &g), RDBV_OK);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.name[0], "10");	/* an intset is sorted */
	assert_string_equal(g.name[2], "30");
	got_free(&g);
	assert_int_equal(DEC(fx_set_ht, &g), RDBV_OK);
	assert_int_equal(g.info.rdbtype, RDBV_T_SET);
	assert_int_equal(g.n, 4);
	assert_true(has(&g, "alpha") && has(&g, "beta") && has(&g, "gamma") && has(&g, "42"));
	got_free(&g);
}

/* ---- encoding ---- */

struct buf {
	uint8_t *p;
	uint64_t n, cap;
};

static void buf_put(void *arg, const void *p, uint64_t n)
{
	struct buf *b = arg;

	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

struct arr {
	const char **names, **vals;
	uint64_t n, i;
};

static void arr_rewind(void *arg)
{
	((struct arr *)arg)->i = 0;
}

static bool arr_next(void *arg, struct rdbv_member *m)
{
	struct arr *a = arg;

	if (a->i >= a->n)
		return false;
	m->name = (const uint8_t *)a->names[a->i];
	m->nlen = strlen(a->names[a->i]);
	m->val = a->vals ? (const uint8_t *)a->vals[a->i] : NULL;
	m->vlen = a->vals ? strlen(a->vals[a->i]) : 0;
	a->i++;
	return true;
}

static const struct rdbv_limits lim = { .hash_entries = 128, .hash_value = 64,
					.set_int_entries = 512 };

static struct buf enc_string(const char *s, uint64_t n)
{
	struct rdbv_plan pl;
	struct buf b = { 0 };
	struct rdbv_out out = { .put = buf_put, .arg = &b };

	rdbv_plan_string(&pl, (const uint8_t *)s, n);
	rdbv_emit_string(&pl, (const uint8_t *)s, n, &out);
	assert_int_equal(b.n, pl.size);
	assert_int_equal(out.n, pl.size);
	return b;
}

static struct buf enc_container(uint8_t kind, const char **names, const char **vals,
				uint64_t n, uint8_t want_type)
{
	struct arr a = { .names = names, .vals = vals, .n = n };
	struct rdbv_iter it = { .rewind = arr_rewind, .next = arr_next, .arg = &a };
	static int64_t ints[1024];
	struct rdbv_plan pl;
	struct buf b = { 0 };
	struct rdbv_out out = { .put = buf_put, .arg = &b };

	assert_true(rdbv_plan_container(&pl, kind, &it, &lim, ints, 1024));
	assert_int_equal(pl.rdbtype, want_type);
	rdbv_emit_container(&pl, &it, ints, &out);
	assert_int_equal(b.n, pl.size);
	return b;
}

static void test_encode_strings(void **state)
{
	static const char *ss[] = { "hello world", "12345", "-100000", "1099511627776", "0",
				    "-0", "007", "127", "-128", "128", "2147483647", "2147483648",
				    "" };
	struct got g;
	char *big = malloc(20001);

	(void)state;
	for (size_t i = 0; i < sizeof(ss) / sizeof(ss[0]); i++) {
		struct buf b = enc_string(ss[i], strlen(ss[i]));

		assert_int_equal(decode(b.p, b.n, &g), RDBV_OK);
		assert_int_equal(g.n, 1);
		assert_string_equal(g.name[0], ss[i]);
		got_free(&g);
		free(b.p);
	}
	/* byte for byte what Redis writes (no LZF involved) */
	{
		struct { const char *s; const uint8_t *fx; size_t n; } same[] = {
			{ "hello world", fx_str_short, sizeof(fx_str_short) },
			{ "12345", fx_str_int, sizeof(fx_str_int) },
			{ "-100000", fx_str_neg, sizeof(fx_str_neg) },
			{ "1099511627776", fx_str_bigint, sizeof(fx_str_bigint) },
		};

		for (size_t i = 0; i < 4; i++) {
			struct buf b = enc_string(same[i].s, strlen(same[i].s));

			assert_int_equal(b.n, same[i].n);
			assert_memory_equal(b.p, same[i].fx, b.n);
			free(b.p);
		}
	}
	/* a long one (a 32-bit length) */
	for (int i = 0; i < 20000; i++)
		big[i] = (char)('a' + i % 26);
	big[20000] = 0;
	{
		struct buf b = enc_string(big, 20000);

		assert_int_equal(decode(b.p, b.n, &g), RDBV_OK);
		assert_int_equal(g.nlen[0], 20000);
		assert_memory_equal(g.name[0], big, 20000);
		got_free(&g);
		free(b.p);
	}
	free(big);
}

static char names[1100][16], vals[1100][80];
static const char *np[1100], *vp[1100];

static void fill(uint32_t n, const char *nfmt, const char *vfmt, int vlen)
{
	for (uint32_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), nfmt, i);
		if (vfmt)
			snprintf(vals[i], sizeof(vals[i]), vfmt, i);
		else
			memset(vals[i], 'x', (size_t)vlen), vals[i][vlen] = 0;
		np[i] = names[i];
		vp[i] = vals[i];
	}
}

static void check_round(uint8_t kind, uint32_t n, uint8_t type)
{
	struct buf b = enc_container(kind, np, kind == RDBV_HASH ? vp : NULL, n, type);
	struct got g;

	assert_int_equal(decode(b.p, b.n, &g), RDBV_OK);
	assert_int_equal(g.info.rdbtype, type);
	assert_int_equal(g.n, n);
	for (uint32_t i = 0; i < n; i++) {
		const char *v = val_of(&g, np[i]);

		assert_non_null(v);
		if (kind == RDBV_HASH)
			assert_string_equal(v, vp[i]);
	}
	got_free(&g);
	free(b.p);
}

static void test_encode_containers(void **state)
{
	(void)state;
	/* hashes: listpack while small, ints and strings of every listpack width */
	fill(10, "%u", "v%u", 0);
	check_round(RDBV_HASH, 10, RDBV_T_HASH_LISTPACK);
	fill(128, "field-%u", NULL, 64);
	check_round(RDBV_HASH, 128, RDBV_T_HASH_LISTPACK);
	fill(129, "field-%u", NULL, 8);
	check_round(RDBV_HASH, 129, RDBV_T_HASH);
	fill(3, "field-%u", NULL, 65);
	check_round(RDBV_HASH, 3, RDBV_T_HASH);
	{
		static const char *f[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i" };
		static const char *v[] = { "0", "127", "-1", "4095", "-4096", "32767",
					   "8388607", "-2147483648", "9223372036854775807" };

		for (int i = 0; i < 9; i++)
			np[i] = f[i], vp[i] = v[i];
		check_round(RDBV_HASH, 9, RDBV_T_HASH_LISTPACK);
	}
	/* sets: intset while integers and few */
	fill(512, "%u", NULL, 0);
	check_round(RDBV_SET, 512, RDBV_T_SET_INTSET);
	fill(513, "%u", NULL, 0);
	check_round(RDBV_SET, 513, RDBV_T_SET);
	fill(20, "m%u", NULL, 0);
	check_round(RDBV_SET, 20, RDBV_T_SET);
	{
		static const char *m[] = { "-9223372036854775808", "5", "-70000", "01" };

		for (int i = 0; i < 3; i++)
			np[i] = m[i];
		check_round(RDBV_SET, 3, RDBV_T_SET_INTSET);
		for (int i = 0; i < 4; i++)
			np[i] = m[i];
		check_round(RDBV_SET, 4, RDBV_T_SET);	/* "01" is no integer */
	}
	/* byte for byte Redis's intset and raw listpack */
	{
		static const char *m[] = { "30", "10", "20" };
		struct buf b = enc_container(RDBV_SET, m, NULL, 3, RDBV_T_SET_INTSET);

		assert_int_equal(b.n, sizeof(fx_set_intset16));
		assert_memory_equal(b.p, fx_set_intset16, b.n);
		free(b.p);
	}
	{
		static const char *f[] = { "name", "port", "neg", "big" };
		static const char *v[] = { "wirecache", "6379", "-5", "123456789012" };
		struct buf b = enc_container(RDBV_HASH, f, v, 4, RDBV_T_HASH_LISTPACK);

		assert_int_equal(b.n, sizeof(fx_hash_lp));
		assert_memory_equal(b.p, fx_hash_lp, b.n);
		free(b.p);
	}
}

/* ---- LZF longer than the window ---- */

/* An LZF stream of a 32-byte literal then k references of 264 bytes at distance 32. */
static uint64_t lzf_body(uint8_t *p, int type_hash, uint32_t k, uint64_t *ulen)
{
	uint8_t c[4096];
	uint64_t n = 0, cl = 0, u = 32 + (uint64_t)k * 264;

	c[cl++] = 31;
	for (int i = 0; i < 32; i++)
		c[cl++] = (uint8_t)('A' + i % 26);
	for (uint32_t i = 0; i < k; i++) {
		c[cl++] = (7 << 5) | 0;
		c[cl++] = 255;
		c[cl++] = 31;
	}
	if (type_hash) {
		p[n++] = RDBV_T_HASH;
		p[n++] = 1;
		p[n++] = 1;
		p[n++] = 'f';
	} else {
		p[n++] = RDBV_T_STRING;
	}
	p[n++] = 0xc3;
	p[n++] = 0x40 | (uint8_t)(cl >> 8);
	p[n++] = (uint8_t)cl;
	p[n++] = 0x80;
	p[n++] = (uint8_t)(u >> 24);
	p[n++] = (uint8_t)(u >> 16);
	p[n++] = (uint8_t)(u >> 8);
	p[n++] = (uint8_t)u;
	memcpy(p + n, c, cl);
	*ulen = u;
	return n + cl;
}

static int lzf_reads(void *arg, const struct rdbv_bytes *name, const struct rdbv_bytes *val)
{
	const struct rdbv_bytes *b = val ? val : name;
	uint64_t *ulen = arg;
	uint8_t buf[300];

	(void)name;
	assert_int_equal(b->len, *ulen);
	assert_null(b->p);		/* too long for the window: read on demand */
	/* out of order: from the end, then the start, then the middle */
	for (int r = 0; r < 3; r++) {
		uint64_t off = r == 0 ? b->len - 300 : r == 1 ? 0 : b->len / 2;

		b->read(b->src, off, buf, sizeof(buf));
		for (int i = 0; i < 300; i++)
			assert_int_equal(buf[i], 'A' + (off + (uint64_t)i) % 32 % 26);
	}
	return 0;
}

static void test_lzf_stream(void **state)
{
	static uint8_t p[8192];
	struct rdbv_src in = { .p = p };
	struct rdbv_info info;
	uint64_t ulen;

	(void)state;
	for (int h = 0; h < 2; h++) {
		in.len = seal(p, lzf_body(p, h, 200, &ulen), 10);
		assert_true(ulen > RDBV_WIN);
		assert_int_equal(rdbv_decode_payload(&dec, &in, lzf_reads, &ulen, &info), RDBV_OK);
		assert_int_equal(info.maxlen, ulen);
	}
	/* the announced length must be exact */
	{
		uint64_t n = lzf_body(p, 0, 3, &ulen);

		p[8] = (uint8_t)(ulen + 1);
		in.len = seal(p, n, 10);
		assert_int_equal(rdbv_decode_payload(&dec, &in, NULL, NULL, &info), RDBV_EFORMAT);
		p[8] = (uint8_t)(ulen - 1);
		in.len = seal(p, n, 10);
		assert_int_equal(rdbv_decode_payload(&dec, &in, NULL, NULL, &info), RDBV_EFORMAT);
	}
	/* a reference before the start */
	{
		uint64_t n = lzf_body(p, 0, 3, &ulen);

		p[9 + 33 + 2] = 40;	/* distance 41 > 32 bytes made */
		in.len = seal(p, n, 10);
		assert_int_equal(rdbv_decode_payload(&dec, &in, NULL, NULL, &info), RDBV_EFORMAT);
	}
}

/* ---- the older hash encodings ---- */

static uint64_t zl_entry(uint8_t *p, uint64_t *prev, const char *s, int imm)
{
	uint64_t n = 0;

	p[n++] = (uint8_t)*prev;
	if (imm >= 0) {
		p[n++] = (uint8_t)(0xf1 + imm);
	} else if (s[0] == '#') {	/* an int16 */
		int v = atoi(s + 1);

		p[n++] = 0xc0;
		p[n++] = (uint8_t)v;
		p[n++] = (uint8_t)(v >> 8);
	} else {
		p[n++] = (uint8_t)strlen(s);
		memcpy(p + n, s, strlen(s));
		n += strlen(s);
	}
	*prev = n;
	return n;
}

/* A ziplist hash: f1=v1, 7=12 (immediates), f3=-300 (int16); tweak: break something. */
static uint64_t ziplist_payload(uint8_t *p, int tweak)
{
	uint8_t z[256];
	uint64_t n = 10, prev = 0, last = 10, k = 0;

	last = n, n += zl_entry(z + n, &prev, "f1", -1);
	last = n, n += zl_entry(z + n, &prev, "v1", -1);
	last = n, n += zl_entry(z + n, &prev, NULL, 7);
	last = n, n += zl_entry(z + n, &prev, NULL, 12);
	last = n, n += zl_entry(z + n, &prev, "f3", -1);
	last = n, n += zl_entry(z + n, &prev, "#-300", -1);
	z[n++] = 0xff;
	for (int i = 0; i < 4; i++) {
		z[i] = (uint8_t)(n >> (8 * i));
		z[4 + i] = (uint8_t)(last >> (8 * i));
	}
	z[8] = tweak == 1 ? 5 : 6;
	z[9] = 0;
	if (tweak == 2)
		z[10 + 4] = 9;		/* the second entry's prevlen */
	if (tweak == 3)
		z[4] = 10;		/* the tail offset */
	p[k++] = RDBV_T_HASH_ZIPLIST;
	p[k++] = (uint8_t)n;
	memcpy(p + k, z, n);
	return seal(p, k + n, 10);
}

static uint64_t zipmap_payload(uint8_t *p, int tweak)
{
	static const uint8_t zm[] = { 2, 1, 'a', 1, 0, 'x', 2, 'b', 'b', 3, 2, 'y', 'y', 'y',
				      0, 0, 0xff };
	uint64_t k = 0;

	p[k++] = RDBV_T_HASH_ZIPMAP;
	p[k++] = sizeof(zm);
	memcpy(p + k, zm, sizeof(zm));
	if (tweak == 1)
		p[k] = 3;		/* a count that disagrees */
	if (tweak == 2)
		p[k + 10] = 9;		/* free bytes past the end */
	return seal(p, k + sizeof(zm), 10);
}

static void test_old_encodings(void **state)
{
	uint8_t p[300];
	struct got g;

	(void)state;
	assert_int_equal(decode(p, ziplist_payload(p, 0), &g), RDBV_OK);
	assert_int_equal(g.info.rdbtype, RDBV_T_HASH_ZIPLIST);
	assert_int_equal(g.n, 3);
	assert_string_equal(val_of(&g, "f1"), "v1");
	assert_string_equal(val_of(&g, "7"), "12");
	assert_string_equal(val_of(&g, "f3"), "-300");
	got_free(&g);
	for (int t = 1; t <= 3; t++)
		assert_int_equal(decode(p, ziplist_payload(p, t), &g), RDBV_EFORMAT), got_free(&g);
	assert_int_equal(decode(p, zipmap_payload(p, 0), &g), RDBV_OK);
	assert_int_equal(g.info.rdbtype, RDBV_T_HASH_ZIPMAP);
	assert_int_equal(g.n, 2);
	assert_string_equal(val_of(&g, "a"), "x");
	assert_string_equal(val_of(&g, "bb"), "yyy");
	got_free(&g);
	for (int t = 1; t <= 2; t++)
		assert_int_equal(decode(p, zipmap_payload(p, t), &g), RDBV_EFORMAT), got_free(&g);
}

/* ---- rejections ---- */

static int reseal_decode(const uint8_t *fx, uint64_t body, struct got *g)
{
	static uint8_t p[8192];

	memcpy(p, fx, body);
	return decode(p, seal(p, body, 10), g);
}

static void test_reject_footer(void **state)
{
	uint8_t p[64];
	struct got g;

	(void)state;
	memcpy(p, fx_str_short, sizeof(fx_str_short));
	p[3] ^= 1;
	assert_int_equal(decode(p, sizeof(fx_str_short), &g), RDBV_ECHECK);
	memcpy(p, fx_str_short, sizeof(fx_str_short));
	p[sizeof(fx_str_short) - 1] ^= 0x80;
	assert_int_equal(decode(p, sizeof(fx_str_short), &g), RDBV_ECHECK);
	/* a newer version (even with a good CRC); older ones are fine */
	memcpy(p, fx_str_short, sizeof(fx_str_short) - 10);
	assert_int_equal(decode(p, seal(p, sizeof(fx_str_short) - 10, 11), &g), RDBV_ECHECK);
	assert_int_equal(decode(p, seal(p, sizeof(fx_str_short) - 10, 9), &g), RDBV_OK);
	got_free(&g);
	for (uint64_t n = 0; n < 10; n++)
		assert_int_equal(decode(fx_str_short, n, &g), RDBV_ECHECK);
	/* the footer alone: no value */
	assert_int_equal(decode(p, seal(p, 0, 10), &g), RDBV_EFORMAT);
}

static void test_reject_format(void **state)
{
	const struct { const uint8_t *p; size_t n; } fx[] = {
		{ fx_str_short, sizeof(fx_str_short) }, { fx_str_int, sizeof(fx_str_int) },
		{ fx_str_lzf, sizeof(fx_str_lzf) }, { fx_hash_lp, sizeof(fx_hash_lp) },
		{ fx_hash_lp_lzf, sizeof(fx_hash_lp_lzf) }, { fx_hash_ht, sizeof(fx_hash_ht) },
		{ fx_set_intset, sizeof(fx_set_intset) }, { fx_set_ht, sizeof(fx_set_ht) },
	};
	static uint8_t p[8192];
	struct got g;

	(void)state;
	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		uint64_t body = fx[i].n - 10;

		/* truncated at every length; a byte too many */
		for (uint64_t k = 0; k < body; k++) {
			assert_int_equal(reseal_decode(fx[i].p, k, &g), RDBV_EFORMAT);
			got_free(&g);
		}
		memcpy(p, fx[i].p, body);
		p[body] = 0;
		assert_int_equal(decode(p, seal(p, body + 1, 10), &g), RDBV_EFORMAT);
		got_free(&g);
		/* any single byte changed: an answer, never a fault */
		for (uint64_t k = 0; k < body; k++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(p, fx[i].p, body);
				p[k] ^= (uint8_t)(1u << bit);
				decode(p, seal(p, body, 10), &g);
				got_free(&g);
			}
		}
	}
	/* empty containers, unknown types */
	{
		static const uint8_t bodies[][4] = {
			{ RDBV_T_SET, 0 }, { RDBV_T_HASH, 0 }, { 1, 1, 1, 'a' }, { 3, 0 },
			{ 5, 0 }, { 14, 0 }, { 20, 0 }, { 0xff, 0 },
		};

		for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
			assert_int_equal(reseal_decode(bodies[i], 2, &g), RDBV_EFORMAT);
			got_free(&g);
		}
	}
	/* an empty intset; a bad intset width; a length that disagrees */
	{
		static const uint8_t is0[] = { 11, 8, 2, 0, 0, 0, 0, 0, 0, 0 };
		static const uint8_t is3[] = { 11, 10, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0 };
		static const uint8_t isn[] = { 11, 10, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0 };
		static const uint8_t ok[] = { 11, 10, 2, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff };

		assert_int_equal(reseal_decode(is0, sizeof(is0), &g), RDBV_EFORMAT);
		assert_int_equal(reseal_decode(is3, sizeof(is3), &g), RDBV_EFORMAT);
		assert_int_equal(reseal_decode(isn, sizeof(isn), &g), RDBV_EFORMAT);
		got_free(&g);
		assert_int_equal(reseal_decode(ok, sizeof(ok), &g), RDBV_OK);
		assert_string_equal(g.name[0], "-1");
		got_free(&g);
	}
	/* listpacks: odd element count, header total, element count, back length */
	{
		uint8_t lp[64];
		uint64_t body = sizeof(fx_hash_lp) - 10;

		/* fx_hash_lp: type, length 0x39, the listpack (57 bytes) */
		memcpy(lp, fx_hash_lp, body);
		lp[6] = 7;	/* 7 elements announced */
		assert_int_equal(reseal_decode(lp, body, &g), RDBV_EFORMAT);
		got_free(&g);
		memcpy(lp, fx_hash_lp, body);
		lp[2] = 0x38;
		assert_int_equal(reseal_decode(lp, body, &g), RDBV_EFORMAT);
		got_free(&g);
		memcpy(lp, fx_hash_lp, body);
		lp[8 + 1 + 4] ^= 1;	/* the first entry ("name": 0x84 n a m e, backlen 5) */
		assert_int_equal(lp[8 + 1 + 4], 4);
		assert_int_equal(reseal_decode(lp, body, &g), RDBV_EFORMAT);
		got_free(&g);
		memcpy(lp, fx_hash_lp, body);
		assert_int_equal(reseal_decode(lp, body, &g), RDBV_OK);
		got_free(&g);
	}
	/* strings over the caller's limit, refused before they are decompressed */
	{
		dec.max_len = 299;
		assert_int_equal(DEC(fx_str_lzf, &g), RDBV_ETOOBIG);
		got_free(&g);
		dec.max_len = 300;
		assert_int_equal(DEC(fx_str_lzf, &g), RDBV_OK);
		got_free(&g);
		dec.max_len = 3;	/* fields fit, values "v861" do not */
		assert_int_equal(DEC(fx_hash_ht, &g), RDBV_ETOOBIG);
		got_free(&g);
		dec.max_len = 8;	/* inside a listpack: "wirecache" */
		assert_int_equal(DEC(fx_hash_lp, &g), RDBV_ETOOBIG);
		got_free(&g);
		assert_int_equal(DEC(fx_set_intset, &g), RDBV_OK);	/* integers are short */
		got_free(&g);
		dec.max_len = 0;
	}
	/* a stop asked by the consumer */
	{
		memset(&g, 0, sizeof(g));
		g.stop_at = 2;
		struct rdbv_src in = { .p = fx_hash_ht, .len = sizeof(fx_hash_ht) };

		assert_int_equal(rdbv_decode_payload(&dec, &in, collect, &g, &g.info), RDBV_ESTOP);
		assert_int_equal(g.n, 2);
		got_free(&g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc64),
		cmocka_unit_test(test_redis_strings),
		cmocka_unit_test(test_redis_hashes),
		cmocka_unit_test(test_redis_sets),
		cmocka_unit_test(test_encode_strings),
		cmocka_unit_test(test_encode_containers),
		cmocka_unit_test(test_lzf_stream),
		cmocka_unit_test(test_old_encodings),
		cmocka_unit_test(test_reject_footer),
		cmocka_unit_test(test_reject_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
