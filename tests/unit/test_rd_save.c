/*
 * test_rd_save.c - RDB snapshots (redis/rdbsave.h, redis/rdb_write.h)
 * through a Redis session on the NIC-less harness, with the writer thread
 * running: the file SAVE writes for known contents (strings: raw, int and
 * long; a listpack and a hashtable hash; an intset and a hashtable set; a
 * key with a TTL; a memcached item with client flags; an expired key left
 * out) read back by an independent reader in this file (header, aux
 * fields, SELECTDB, RESIZEDB, EXPIRETIME_MS, the value encodings, EOF and
 * a CRC64 computed bit by bit); BGSAVE while the test keeps writing, whose
 * file holds every key that was not touched, each once; and the replies
 * of SAVE, BGSAVE, LASTSAVE, SHUTDOWN, CONFIG GET/SET dir and dbfilename
 * and INFO persistence, a failing save included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <fcntl.h>
#include <urcu-qsbr.h>
#include <cmocka.h>

#include "dp_redis.h"
#include "redis/rdb_write.h"
#include "redis/rdbsave.h"
#include "store/scan.h"
#include "store/store.h"

static struct dp_harness h;
static uint8_t cbuf[1 << 20];
static struct dpc c;
static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wc_rdbsave_%d_XXXXXX", (int)getpid());
	if (!mkdtemp(dir))
		return -1;
	if (dp_redis_setup(&h, 64u << 20, 37000) != 0)
		return -1;
	h.app.cfg.rdb_dir = dir;
	h.app.cfg.rdb_filename = "dump.rdb";
	if (rd_save_init(&h.app) != 0)
		return -1;
	if (!dpc_connect(&h, &c, DP_REDIS_PORT, cbuf, sizeof(cbuf)))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	rd_save_stop();
	dp_teardown(&h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void collect(void)
{
	wc_net_flush(h.lc);
	dpc_take(&h, &c);
	dp_clear_sent(&h);
}

/* A RESP request from NUL-terminated words. */
static size_t resp_req(uint8_t *out, int argc, const char *const *argv)
{
	size_t k = (size_t)sprintf((char *)out, "*%d\r\n", argc);

	for (int i = 0; i < argc; i++)
		k += (size_t)sprintf((char *)out + k, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	return k;
}

/* Send a command; poll the lcore until a reply (or the close) came, 10 s at most. */
static const char *cmdv(int argc, const char *const *argv)
{
	static uint8_t req[4096];
	uint8_t f[2048];
	size_t n = resp_req(req, argc, argv);
	time_t t0 = time(NULL);

	c.n = 0;
	dp_input(&h, f, dp_tcp_ports(f, c.cport, c.dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				     c.seq, c.ack, 65535, req, n, NULL, 0));
	c.seq += (uint32_t)n;
	collect();
	while ((c.n < 2 || memcmp(cbuf + c.n - 2, "\r\n", 2)) && !c.fin &&
	       time(NULL) - t0 < 10) {
		wc_tcp_poll(h.lc);
		collect();
		dpc_ack(&h, &c);
		collect();
		if (!c.n)
			usleep(100);
	}
	/* a long reply may still be coming: take what follows */
	for (int i = 0; i < 5; i++) {
		dpc_ack(&h, &c);
		collect();
	}
	cbuf[c.n < sizeof(cbuf) ? c.n : sizeof(cbuf) - 1] = 0;
	return (const char *)cbuf;
}

#define CMD(...) cmdv(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *), \
		      (const char *const[]){ __VA_ARGS__ })
#define EQ(got, want) assert_string_equal(got, want)

/* Wait until the saver has finished every save asked for. */
static void wait_saves(void)
{
	struct rd_save_info in;
	time_t t0 = time(NULL);

	do {
		usleep(1000);
		rd_save_get_info(&in);
	} while (in.in_progress && time(NULL) - t0 < 20);
	assert_false(in.in_progress);
}

/* ---- an independent reader of the file ---- */

/* CRC-64/Jones (reflected 0x95AC9329AC4BC9B5), bit by bit */
static uint64_t crc64_bits(const uint8_t *p, size_t n)
{
	uint64_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x95AC9329AC4BC9B5ull : crc >> 1;
	}
	return crc;
}

#define MAXM 512

struct rkey {
	char key[256];
	uint8_t type;
	int64_t expire_ms;		/* -1: none */
	int64_t mcflags;		/* -1: none */
	unsigned n;			/* members (strings: 1) */
	char **m, **v;			/* members / fields and values (malloc'ed) */
};

struct rfile {
	uint8_t *p;
	size_t n, pos;
	char aux_ver[32];
	uint64_t resize_keys, resize_exp;
	unsigned nkeys;
	struct rkey *keys;
	bool crc_ok;
};

static uint64_t rlen(struct rfile *f, int *enc)
{
	uint8_t b = f->p[f->pos++];
	uint64_t v = 0;

	*enc = -1;
	switch (b >> 6) {
	case 0:
		return b & 0x3f;
	case 1:
		return (uint64_t)(b & 0x3f) << 8 | f->p[f->pos++];
	case 2:
		if (b == 0x80) {
			for (int i = 0; i < 4; i++)
				v = v << 8 | f->p[f->pos++];
			return v;
		}
		assert_int_equal(b, 0x81);
		for (int i = 0; i < 8; i++)
			v = v << 8 | f->p[f->pos++];
		return v;
	default:
		*enc = b & 0x3f;
		return 0;
	}
}

/* A string (raw or int-encoded; no LZF is written) as a new C string of *n bytes. */
static char *rstr(struct rfile *f, size_t *n)
{
	int enc;
	uint64_t len = rlen(f, &enc);
	char *s;

	if (enc >= 0) {
		int64_t v = 0;
		unsigned w = enc == 0 ? 1 : enc == 1 ? 2 : 4;

		assert_true(enc <= 2);
		for (unsigned i = 0; i < w; i++)
			v |= (int64_t)f->p[f->pos++] << (8 * i);
		if (w == 1)
			v = (int8_t)v;
		else if (w == 2)
			v = (int16_t)v;
		else
			v = (int32_t)v;
		s = malloc(24);
		*n = (size_t)sprintf(s, "%lld", (long long)v);
		return s;
	}
	assert_true(f->pos + len <= f->n);
	s = malloc(len + 1);
	memcpy(s, f->p + f->pos, len);
	s[len] = 0;
	f->pos += len;
	*n = len;
	return s;
}

/* Listpack entries of a blob (Redis's listpack.c format), as strings. */
static unsigned listpack(const uint8_t *lp, size_t n, char **out, unsigned max)
{
	size_t pos = 6;
	unsigned k = 0, count = (unsigned)(lp[4] | lp[5] << 8);

	assert_int_equal((size_t)(lp[0] | lp[1] << 8 | lp[2] << 16 | (uint32_t)lp[3] << 24), n);
	while (lp[pos] != 0xFF) {
		uint8_t b = lp[pos];
		size_t hdr, len = 0, elen;
		int64_t iv = 0;
		bool isint = true;
		char *s;

		if (b < 0x80) {
			hdr = 1, iv = b;
		} else if ((b & 0xC0) == 0x80) {
			hdr = 1, len = b & 0x3F, isint = false;
		} else if ((b & 0xE0) == 0xC0) {
			hdr = 2, iv = (int64_t)((b & 0x1F) << 8 | lp[pos + 1]);
			if (iv >= 1 << 12)
				iv -= 1 << 13;
		} else if ((b & 0xF0) == 0xE0) {
			hdr = 2, len = (size_t)((b & 0x0F) << 8 | lp[pos + 1]), isint = false;
		} else if (b == 0xF0) {
			hdr = 5, isint = false;
			len = lp[pos + 1] | lp[pos + 2] << 8 | lp[pos + 3] << 16 |
			      (size_t)lp[pos + 4] << 24;
		} else {
			unsigned w = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8;
			uint64_t u = 0;

			assert_true(b >= 0xF1 && b <= 0xF4);
			hdr = 1 + w;
			for (unsigned i = 0; i < w; i++)
				u |= (uint64_t)lp[pos + 1 + i] << (8 * i);
			if (w < 8 && (u >> (8 * w - 1)))
				u |= ~0ull << (8 * w);
			iv = (int64_t)u;
		}
		if (isint) {
			s = malloc(24);
			sprintf(s, "%lld", (long long)iv);
		} else {
			s = malloc(len + 1);
			memcpy(s, lp + pos + hdr, len);
			s[len] = 0;
		}
		elen = hdr + len;
		pos += elen + (elen <= 127 ? 1 : elen < 16383 ? 2 : elen < 2097151 ? 3 : 4);
		assert_true(k < max);
		out[k++] = s;
		assert_true(pos < n);
	}
	assert_int_equal(pos + 1, n);
	assert_int_equal(k, count);
	return k;
}

static void rvalue(struct rfile *f, struct rkey *k)
{
	size_t n;
	int enc;

	k->m = calloc(k->type ? MAXM : 1, sizeof(char *));	/* (strings: one) */
	k->v = calloc(k->type ? MAXM : 1, sizeof(char *));

	switch (k->type) {
	case 0:
		k->m[0] = rstr(f, &n);
		k->n = 1;
		break;
	case 2:
	case 4: {
		uint64_t cnt = rlen(f, &enc);

		assert_true(cnt <= MAXM);
		for (uint64_t i = 0; i < cnt; i++) {
			k->m[i] = rstr(f, &n);
			if (k->type == 4)
				k->v[i] = rstr(f, &n);
		}
		k->n = (unsigned)cnt;
		break;
	}
	case 11: {
		char *blob = rstr(f, &n);
		const uint8_t *b = (const uint8_t *)blob;
		unsigned w = b[0], cnt = b[4] | b[5] << 8 | b[6] << 16 | (unsigned)b[7] << 24;

		assert_int_equal(n, 8 + (size_t)w * cnt);
		for (unsigned i = 0; i < cnt; i++) {
			uint64_t u = 0;

			for (unsigned j = 0; j < w; j++)
				u |= (uint64_t)b[8 + i * w + j] << (8 * j);
			if (w < 8 && (u >> (8 * w - 1)))
				u |= ~0ull << (8 * w);
			k->m[i] = malloc(24);
			sprintf(k->m[i], "%lld", (long long)(int64_t)u);
		}
		k->n = cnt;
		free(blob);
		break;
	}
	case 16: {
		char *blob = rstr(f, &n);
		char *e[2 * MAXM];
		unsigned cnt = listpack((const uint8_t *)blob, n, e, 2 * MAXM);

		assert_int_equal(cnt % 2, 0);
		for (unsigned i = 0; i < cnt / 2; i++) {
			k->m[i] = e[2 * i];
			k->v[i] = e[2 * i + 1];
		}
		k->n = cnt / 2;
		free(blob);
		break;
	}
	default:
		fail_msg("unexpected value type %u", k->type);
	}
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rkey *)a)->key, ((const struct rkey *)b)->key);
}

/* Sort the keys by name: no name twice, found by bsearch after that. */
static void sort_keys(struct rfile *f)
{
	qsort(f->keys, f->nkeys, sizeof(*f->keys), key_cmp);
	for (unsigned i = 1; i < f->nkeys; i++)
		assert_int_not_equal(strcmp(f->keys[i - 1].key, f->keys[i].key), 0);
}

static struct rkey *find(struct rfile *f, const char *key)
{
	struct rkey k;

	snprintf(k.key, sizeof(k.key), "%s", key);
	return bsearch(&k, f->keys, f->nkeys, sizeof(*f->keys), key_cmp);
}

static void read_file(const char *name, struct rfile *f)
{
	char path[256];
	FILE *fp;
	struct stat st;
	int64_t flags = -1, exp = -1;
	unsigned cap = 1024;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	f->n = (size_t)st.st_size;
	f->p = malloc(f->n + 16);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(f->p, 1, f->n, fp), f->n);
	fclose(fp);
	f->keys = calloc(cap, sizeof(*f->keys));
	assert_true(f->n >= 9 + 9);
	assert_memory_equal(f->p, "REDIS0010", 9);
	f->pos = 9;
	for (;;) {
		uint8_t op = f->p[f->pos++];
		size_t n;
		int enc;

		if (op == 0xFF)
			break;
		if (op == 0xFA) {
			char *k = rstr(f, &n), *v = rstr(f, &n);

			if (!strcmp(k, "redis-ver"))
				snprintf(f->aux_ver, sizeof(f->aux_ver), "%s", v);
			if (!strcmp(k, "wc-mcflags"))
				flags = strtoll(v, NULL, 10);
			free(k);
			free(v);
		} else if (op == 0xFE) {
			assert_int_equal(rlen(f, &enc), 0);
		} else if (op == 0xFB) {
			f->resize_keys = rlen(f, &enc);
			f->resize_exp = rlen(f, &enc);
		} else if (op == 0xFC) {
			uint64_t v = 0;

			for (int i = 0; i < 8; i++)
				v |= (uint64_t)f->p[f->pos++] << (8 * i);
			exp = (int64_t)v;
		} else {
			struct rkey *k;
			char *name_;

			if (f->nkeys == cap) {
				f->keys = realloc(f->keys, 2 * cap * sizeof(*f->keys));
				memset(f->keys + cap, 0, cap * sizeof(*f->keys));
				cap *= 2;
			}
			k = &f->keys[f->nkeys++];
			k->type = op;
			name_ = rstr(f, &n);
			assert_true(n >= 1 && n <= 250);
			memcpy(k->key, name_, n + 1);
			free(name_);
			k->expire_ms = exp;
			k->mcflags = flags;
			exp = flags = -1;
			rvalue(f, k);
		}
		assert_true(f->pos < f->n);
	}
	assert_int_equal(f->pos + 8, f->n);
	sort_keys(f);
	{
		uint64_t want = 0;

		for (int i = 0; i < 8; i++)
			want |= (uint64_t)f->p[f->pos + (size_t)i] << (8 * i);
		f->crc_ok = want == crc64_bits(f->p, f->pos);
	}
}

static void free_file(struct rfile *f)
{
	for (unsigned i = 0; i < f->nkeys; i++)
		for (unsigned j = 0; j < f->keys[i].n; j++) {
			free(f->keys[i].m[j]);
			free(f->keys[i].v[j]);
		}
	for (unsigned i = 0; i < f->nkeys; i++) {
		free(f->keys[i].m);
		free(f->keys[i].v);
	}
	free(f->keys);
	free(f->p);
}

static bool has_member(const struct rkey *k, const char *m, const char *v)
{
	for (unsigned i = 0; i < k->n; i++)
		if (!strcmp(k->m[i], m))
			return !v || !strcmp(k->v[i], v);
	return false;
}

/* ---- tests ---- */

static void mc_set_flags(const char *key, const char *val, uint32_t flags)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)val, .iov_len = strlen(val) };
	struct wc_store_req r = { .mode = WC_SET, .key = key, .klen = (uint32_t)strlen(key),
				  .hash = wc_hash(key, strlen(key)), .val = &iov, .val_cnt = 1,
				  .flags = flags };

	assert_int_equal(wc_store(h.app.parts[0], &h.lc->ctx, &r, NULL), WC_OK);
}

static void file_contents(void **state)
{
	const int64_t now_ms = (int64_t)DP_REDIS_EPOCH * 1000 + 1000 * 1000;
	char big[301], num[16];
	struct rfile f;
	struct rkey *k;
	time_t before = time(NULL);
	char lastsave[64];

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	memset(big, 'x', 300);
	big[300] = 0;
	EQ(CMD("SET", "s", "hello"), "+OK\r\n");
	EQ(CMD("SET", "n", "-12345"), "+OK\r\n");
	EQ(CMD("SET", "big", big), "+OK\r\n");
	EQ(CMD("SET", "ttl", "v", "PX", "50000"), "+OK\r\n");
	EQ(CMD("SET", "gone", "v", "PX", "2000"), "+OK\r\n");
	EQ(CMD("HSET", "h", "f1", "v1", "f2", "7"), ":2\r\n");
	for (int i = 0; i < 200; i++) {
		snprintf(num, sizeof(num), "%d", i);
		CMD("HSET", "hbig", num, big);
		CMD("SADD", "sbig", num, "m");
	}
	EQ(CMD("SADD", "si", "3", "-2", "100000"), ":3\r\n");
	EQ(CMD("SADD", "ss", "a", "b", "c"), ":3\r\n");
	mc_set_flags("mc", "memcached value", 42);
	/* ten seconds later: "gone" has expired (and is not read back) */
	h.lc->ctx.clock.now += 10;
	EQ(CMD("SAVE"), "+OK\r\n");
	snprintf(lastsave, sizeof(lastsave), "%s", CMD("LASTSAVE"));
	assert_true(strtoll(lastsave + 1, NULL, 10) >= (long long)before);

	/* the control plane's counters (rdb_*) */
	assert_int_equal(rd_save_counters()->saves, 1);
	assert_int_equal(rd_save_counters()->keys, 10);
	read_file("dump.rdb", &f);
	assert_int_equal(rd_save_counters()->bytes, f.n);
	assert_true(f.crc_ok);
	EQ(f.aux_ver, "7.0.15");
	assert_int_equal(f.nkeys, 10);
	assert_int_equal(f.resize_keys, 11);	/* (counted before the walk: "gone" too) */
	assert_null(find(&f, "gone"));
	k = find(&f, "s");
	assert_non_null(k);
	assert_int_equal(k->type, 0);
	EQ(k->m[0], "hello");
	assert_int_equal(k->expire_ms, -1);
	assert_int_equal(k->mcflags, -1);
	k = find(&f, "n");
	EQ(k->m[0], "-12345");
	assert_int_equal(f.p[0], 'R');
	k = find(&f, "big");
	EQ(k->m[0], big);
	k = find(&f, "ttl");
	EQ(k->m[0], "v");
	assert_int_equal(k->expire_ms, now_ms + 50000);
	k = find(&f, "h");
	assert_int_equal(k->type, 16);		/* a listpack hash */
	assert_int_equal(k->n, 2);
	assert_true(has_member(k, "f1", "v1") && has_member(k, "f2", "7"));
	k = find(&f, "hbig");
	assert_int_equal(k->type, 4);		/* a hashtable hash */
	assert_int_equal(k->n, 200);
	for (int i = 0; i < 200; i++) {
		snprintf(num, sizeof(num), "%d", i);
		assert_true(has_member(k, num, big));
	}
	k = find(&f, "sbig");
	assert_int_equal(k->type, 2);		/* a hashtable set */
	assert_int_equal(k->n, 201);
	assert_true(has_member(k, "m", NULL) && has_member(k, "199", NULL));
	k = find(&f, "si");
	assert_int_equal(k->type, 11);		/* an intset, sorted */
	assert_int_equal(k->n, 3);
	EQ(k->m[0], "-2");
	EQ(k->m[1], "3");
	EQ(k->m[2], "100000");
	k = find(&f, "ss");
	assert_int_equal(k->type, 2);
	assert_true(has_member(k, "a", NULL) && has_member(k, "b", NULL) &&
		    has_member(k, "c", NULL));
	k = find(&f, "mc");
	EQ(k->m[0], "memcached value");
	assert_int_equal(k->mcflags, 42);
	free_file(&f);
	h.lc->ctx.clock.now -= 10;
}

/* BGSAVE while keys are written, deleted and added: untouched keys are all there, once. */
static void bgsave_under_writes(void **state)
{
	enum { N = 60000, W = 2000 };
	char key[32], val[32];
	struct rd_save_info in;
	const char *r;
	struct rfile f;
	unsigned writes = 0;
	bool seen_busy = false;
	uint64_t done0, seen_total = 0, seen_keys = 0;

	(void)state;
	EQ(CMD("FLUSHALL"), "+OK\r\n");
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "k:%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		CMD("SET", key, val);
	}
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "hk:%d", i);
		CMD("HSET", key, "a", "1", "b", "2");
	}
	rd_save_get_info(&in);
	done0 = in.seq_done;
	EQ(CMD("BGSAVE"), "+Background saving started\r\n");
	/* writes meanwhile: overwrite, delete and add keys of their own names */
	for (;;) {
		rd_save_get_info(&in);
		if (in.seq_done > done0)
			break;
		if (in.cur_total) {	/* INFO's current_save_keys_total/_processed */
			seen_total = in.cur_total;
			assert_true(in.cur_keys >= seen_keys);
			seen_keys = in.cur_keys;
		}
		snprintf(key, sizeof(key), "w:%u", writes % W);
		snprintf(val, sizeof(val), "new%u", writes);
		CMD("SET", key, val);
		snprintf(key, sizeof(key), "hw:%u", writes % 50);
		CMD("HSET", key, val, "x");
		snprintf(key, sizeof(key), "w:%u", (writes + 7) % W);
		CMD("DEL", key);
		if (!seen_busy) {
			r = CMD("BGSAVE");
			if (!strcmp(r, "-ERR Background save already in progress\r\n"))
				seen_busy = true;
			else
				EQ(r, "+Background saving started\r\n");	/* (it was done) */
			r = CMD("SAVE");
			if (strcmp(r, "+OK\r\n"))
				EQ(r, "-ERR Background save already in progress\r\n");
		}
		writes++;
	}
	wait_saves();
	rd_save_get_info(&in);
	assert_true(in.last_ok);
	if (seen_total) {	/* (the keys when the walk began: N strings, 100 hashes, and
				 * what the writes below added before the thread took it up) */
		assert_true(seen_total >= N + 100 && seen_total <= N + 100 + 2 * W);
		assert_true(seen_keys <= in.last_keys);
	}
	assert_int_equal(in.cur_total, 0);
	print_message("bgsave: %u write rounds during the save, error while busy seen: %d\n",
		      writes, seen_busy);
	read_file("dump.rdb", &f);
	assert_true(f.crc_ok);
	for (int i = 0; i < N; i++) {
		struct rkey *k;

		snprintf(key, sizeof(key), "k:%d", i);
		snprintf(val, sizeof(val), "v%d", i);
		k = find(&f, key);
		assert_non_null(k);
		EQ(k->m[0], val);
	}
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "hk:%d", i);
		assert_non_null(find(&f, key));
	}
	/* (read_file found no name twice, whatever was written meanwhile) */
	free_file(&f);
}

static void replies(void **state)
{
	char want[512], path[256];
	const char *r;
	struct stat st;

	(void)state;
	EQ(CMD("BGSAVE", "foo"), "-ERR syntax error\r\n");
	EQ(CMD("BGSAVE", "SCHEDULE", "x"), "-ERR syntax error\r\n");
	EQ(CMD("SAVE", "x"), "-ERR wrong number of arguments for 'save' command\r\n");
	EQ(CMD("BGSAVE", "SCHEDULE"), "+Background saving started\r\n");
	wait_saves();
	EQ(CMD("SAVE"), "+OK\r\n");
	r = CMD("INFO", "persistence");
	assert_non_null(strstr(r, "\r\nrdb_changes_since_last_save:0\r\n"));
	assert_non_null(strstr(r, "\r\nrdb_bgsave_in_progress:0\r\n"));
	assert_non_null(strstr(r, "\r\nrdb_last_bgsave_status:ok\r\n"));
	assert_non_null(strstr(r, "\r\nrdb_current_bgsave_time_sec:-1\r\n"));
	assert_non_null(strstr(r, "\r\nrdb_last_cow_size:0\r\n"));
	assert_non_null(strstr(r, "\r\ncurrent_save_keys_processed:0\r\n"
			       "current_save_keys_total:0\r\n"));
	assert_null(strstr(r, "rdb_saves:0\r\n"));
	EQ(CMD("SET", "after", "1"), "+OK\r\n");
	r = CMD("INFO", "persistence");
	assert_non_null(strstr(r, "\r\nrdb_changes_since_last_save:1\r\n"));
	/* SHUTDOWN's argument rules */
	EQ(CMD("SHUTDOWN", "ABORT"), "-ERR No shutdown in progress.\r\n");
	EQ(CMD("SHUTDOWN", "ABORT", "NOW"), "-ERR syntax error\r\n");
	EQ(CMD("SHUTDOWN", "SAVE", "NOSAVE"), "-ERR syntax error\r\n");
	EQ(CMD("SHUTDOWN", "LATER"), "-ERR syntax error\r\n");
	/* dir and dbfilename */
	snprintf(want, sizeof(want), "*2\r\n$3\r\ndir\r\n$%zu\r\n%s\r\n", strlen(dir), dir);
	EQ(CMD("CONFIG", "GET", "dir"), want);
	EQ(CMD("CONFIG", "GET", "dbfilename"), "*2\r\n$10\r\ndbfilename\r\n$8\r\ndump.rdb\r\n");
	EQ(CMD("CONFIG", "SET", "dir", "/nonexistent-wc-dir"),
	   "-ERR CONFIG SET failed (possibly related to argument 'dir') - "
	   "No such file or directory\r\n");
	EQ(CMD("CONFIG", "SET", "dbfilename", "a/b.rdb"),
	   "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - "
	   "dbfilename can't be a path, just a filename\r\n");
	EQ(CMD("CONFIG", "SET", "dbfilename", "other.rdb"), "+OK\r\n");
	EQ(CMD("SAVE"), "+OK\r\n");
	snprintf(path, sizeof(path), "%s/other.rdb", dir);
	assert_int_equal(stat(path, &st), 0);
	/* a save that fails: its directory went away */
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	EQ(CMD("CONFIG", "SET", "dir", "sub"), "+OK\r\n");	/* (relative to the old one) */
	snprintf(want, sizeof(want), "*2\r\n$3\r\ndir\r\n$%zu\r\n%s\r\n", strlen(path), path);
	EQ(CMD("CONFIG", "GET", "dir"), want);
	assert_int_equal(rmdir(path), 0);
	EQ(CMD("SAVE"), "-ERR\r\n");
	assert_int_equal(rd_save_counters()->failed, 1);
	r = CMD("INFO", "persistence");
	assert_non_null(strstr(r, "\r\nrdb_last_bgsave_status:err\r\n"));
	EQ(CMD("SHUTDOWN", "SAVE"), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
	assert_int_equal(h.app.quit, 0);
	/* FORCE stops even so; the node stops without a reply */
	r = CMD("SHUTDOWN", "SAVE", "FORCE");
	EQ(r, "");
	assert_true(c.fin);
	assert_int_equal(h.app.quit, 1);
	h.app.quit = 0;
	assert_true(dpc_connect(&h, &c, DP_REDIS_PORT, cbuf, sizeof(cbuf)));
	EQ(CMD("CONFIG", "SET", "dir", dir, "dbfilename", "dump.rdb"), "+OK\r\n");
	r = CMD("SHUTDOWN", "NOSAVE", "NOW");
	EQ(r, "");
	assert_int_equal(h.app.quit, 1);
	h.app.quit = 0;
	assert_true(dpc_connect(&h, &c, DP_REDIS_PORT, cbuf, sizeof(cbuf)));
	EQ(CMD("SAVE"), "+OK\r\n");
	r = CMD("INFO", "persistence");
	assert_non_null(strstr(r, "\r\nrdb_last_bgsave_status:ok\r\n"));
}

/* ---- a key the walk meets twice is written once ---- */

struct walker {
	struct wc_app app;
	int fd;
	struct wc_clock clock;
	struct rdbw_stats st;
	int r;
	int done;
};

static void *walker_main(void *arg)
{
	struct walker *w = arg;

	rcu_register_thread();
	w->r = rdb_write_store(&w->app, w->fd, &w->clock, 0, &w->st);
	rcu_unregister_thread();
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void put_key(struct wc_part *p, const char *key)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)key, .iov_len = strlen(key) };
	struct wc_store_req r = { .mode = WC_SET, .key = key, .klen = (uint32_t)strlen(key),
				  .hash = wc_hash(key, strlen(key)), .val = &iov, .val_cnt = 1 };

	assert_int_equal(wc_store(p, &h.lc->ctx, &r, NULL), WC_OK);
}

/*
 * A partition whose index is small for its keys, so inserts into full
 * buckets move entries to their second bucket (index.c, displace) while
 * the writer walks: every save has each name once, and every stable key
 * still in the store afterwards (linked for the whole walk) in the file.
 */
static void walk_meets_moved_keys_once(void **state)
{
	enum { STABLE = 6000, CHURN = 1500 };
	struct wc_part_cfg cfg;
	enum wc_status err;
	struct wc_part *p;
	char key[32], path[256];
	unsigned overlapped = 0, churn = 0;
	uint64_t dups = 0;

	(void)state;
	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = 32u << 20;
	cfg.item_size_hint = 4096;	/* ~8K index slots for ~7.5K keys */
	p = wc_part_create(&cfg, &h.mem, &err);
	assert_non_null(p);
	for (int i = 0; i < STABLE; i++) {
		snprintf(key, sizeof(key), "stable:%d", i);
		put_key(p, key);
	}
	snprintf(path, sizeof(path), "%s/walk.rdb", dir);
	for (int round = 0; round < 400 && (overlapped < 5 || !dups); round++) {
		struct walker w = { .app = { .nparts = 1 } };
		pthread_t th;
		uint64_t moves0 = wc_part_index_moves(p), moves1;
		struct rfile f;

		w.app.parts[0] = p;
		w.clock = h.lc->ctx.clock;
		w.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_true(w.fd >= 0);
		assert_int_equal(pthread_create(&th, NULL, walker_main, &w), 0);
		/* churn: new keys in, old ones out, while the walk runs */
		while (!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE)) {
			/* (names come back: a key deleted may return in its other bucket) */
			snprintf(key, sizeof(key), "churn:%u", churn % (3 * CHURN));
			put_key(p, key);
			if (churn >= CHURN) {
				snprintf(key, sizeof(key), "churn:%u", (churn - CHURN) % (3 * CHURN));
				wc_delete(p, &h.lc->ctx, key, (uint32_t)strlen(key),
					  wc_hash(key, strlen(key)), 0);
			}
			churn++;
			if (churn % 32 == 0)
				rcu_quiescent_state();
		}
		pthread_join(th, NULL);
		close(w.fd);
		assert_int_equal(w.r, 0);
		moves1 = wc_part_index_moves(p);
		if (moves1 != moves0)
			overlapped++;
		dups += w.st.dups;
		read_file("walk.rdb", &f);	/* (no name twice: checked as it sorts) */
		assert_true(f.crc_ok);
		for (int i = 0; i < STABLE; i++) {
			struct wc_view v;

			snprintf(key, sizeof(key), "stable:%d", i);
			if (wc_get(p, &h.lc->ctx, key, (uint32_t)strlen(key), wc_hash(key, strlen(key)),
				   WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v))
				assert_non_null(find(&f, key));
		}
		free_file(&f);
	}
	print_message("walks with index moves during them: %u, keys met twice and written once: "
		      "%lu, churn writes %u\n", overlapped, (unsigned long)dups, churn);
	assert_true(overlapped >= 1);
	wc_part_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(file_contents),
		cmocka_unit_test(bgsave_under_writes),
		cmocka_unit_test(replies),
		cmocka_unit_test(walk_meets_moved_keys_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
