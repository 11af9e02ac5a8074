/*
 * rdb_read.c - reading a whole RDB file entry by entry (rdb_read.h): the
 * opcodes Redis 7.0 writes, the keys of the types the store holds validated
 * through rdbval, the others parsed just far enough to be skipped.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "redis/rdb_read.h"

enum {
	T_STRING = 0, T_LIST = 1, T_SET = 2, T_ZSET = 3, T_HASH = 4, T_ZSET_2 = 5,
	T_MODULE = 6, T_MODULE_2 = 7, T_HASH_ZIPMAP = 9, T_LIST_ZIPLIST = 10,
	T_SET_INTSET = 11, T_ZSET_ZIPLIST = 12, T_HASH_ZIPLIST = 13, T_LIST_QUICKLIST = 14,
	T_STREAM_LISTPACKS = 15, T_HASH_LISTPACK = 16, T_ZSET_LISTPACK = 17,
	T_LIST_QUICKLIST_2 = 18, T_STREAM_LISTPACKS_2 = 19, T_SET_LISTPACK = 20,
	T_STREAM_LISTPACKS_3 = 21,
};

enum {
	OP_FUNCTION2 = 245, OP_FUNCTION_PRE_GA = 246, OP_MODULE_AUX = 247, OP_IDLE = 248,
	OP_FREQ = 249, OP_AUX = 250, OP_RESIZEDB = 251, OP_EXPIRETIME_MS = 252,
	OP_EXPIRETIME = 253, OP_SELECTDB = 254, OP_EOF = 255,
};

static const char *const skip_names[RDBR_SK_N] = {
	"list", "zset", "stream", "otherdb", "longkey", "toobig",
};

const char *rdbr_skip_name(unsigned kind)
{
	return kind < RDBR_SK_N ? skip_names[kind] : "?";
}

static bool fail(struct rdbr *r, const char *why)
{
	if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "%s at offset %llu", why,
			 (unsigned long long)r->pos);
	return false;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static bool get(struct rdbr *r, void *dst, uint64_t n)
{
	if (n > r->end - r->pos)
		return fail(r, "unexpected end of file");
	rdbv_src_read(r->in, r->pos, dst, n);
	r->pos += n;
	return true;
}

static bool skip(struct rdbr *r, uint64_t n)
{
	if (n > r->end - r->pos)
		return fail(r, "unexpected end of file");
	r->pos += n;
	return true;
}

/* An RDB length; *enc: a string's special encoding (the low 6 bits) instead. */
static bool get_len(struct rdbr *r, uint64_t *len, bool *enc)
{
	uint8_t b[9];
	unsigned n;

	if (!get(r, b, 1))
		return false;
	if (!(n = rdbv_len_size(b[0])))
		return fail(r, "bad length encoding");
	if (!get(r, b + 1, n - 1))
		return false;
	*len = rdbv_len_value(b, enc);
	return true;
}

static bool get_count(struct rdbr *r, uint64_t *n)
{
	bool enc;

	if (!get_len(r, n, &enc))
		return false;
	return enc ? fail(r, "encoded value where a length belongs") : true;
}

/* Past one RDB string (raw, integer or LZF) without decoding it. */
static bool skip_string(struct rdbr *r)
{
	uint64_t len, clen, ulen;
	bool enc;

	if (!get_len(r, &len, &enc))
		return false;
	if (!enc)
		return skip(r, len);
	if (len <= 2)
		return skip(r, 1u << len);
	if (len == 3)
		return get_count(r, &clen) && get_count(r, &ulen) && skip(r, clen);
	return fail(r, "unknown string encoding");
}

/* ---- strings decoded whole (keys, aux fields) ---- */

struct grab {
	uint8_t *buf;
	uint32_t cap;
	uint64_t len;
};

static int grab_fn(void *arg, const struct rdbv_bytes *name, const struct rdbv_bytes *val)
{
	struct grab *g = arg;

	(void)val;
	g->len = name->len;
	if (name->len > g->cap)
		return 0;	/* too long: only its length is told */
	if (name->p)
		memcpy(g->buf, name->p, name->len);
	else
		name->read(name->src, 0, g->buf, name->len);
	return 0;
}

/* One RDB string into buf (up to cap bytes); *len its whole length. */
static bool get_string(struct rdbr *r, uint8_t *buf, uint32_t cap, uint64_t *len)
{
	struct grab g = { .buf = buf, .cap = cap };
	struct rdbv_info info;
	uint64_t next;

	r->dec.max_len = 0;
	if (rdbv_decode_obj(&r->dec, r->in, T_STRING, r->pos, r->end, grab_fn, &g, &info,
			    &next) != RDBV_OK)
		return fail(r, "bad string");
	r->pos = next;
	*len = g.len;
	return true;
}

/* ---- values of the types the store cannot hold: skipped ---- */

static bool skip_strings(struct rdbr *r, uint64_t per)
{
	uint64_t n;

	if (!get_count(r, &n))
		return false;
	for (uint64_t i = 0; i < n; i++)
		for (uint64_t k = 0; k < per; k++)
			if (!skip_string(r))
				return false;
	return true;
}

/* RDB_TYPE_ZSET's scores: a length byte and text (253..255: nan, +inf, -inf). */
static bool skip_old_double(struct rdbr *r)
{
	uint8_t n;

	if (!get(r, &n, 1))
		return false;
	return n >= 253 ? true : skip(r, n);
}

static bool skip_lens(struct rdbr *r, unsigned n)
{
	uint64_t v;

	for (unsigned i = 0; i < n; i++)
		if (!get_count(r, &v))
			return false;
	return true;
}

static bool skip_stream(struct rdbr *r, uint8_t t)
{
	uint64_t n, groups;

	if (!skip_strings(r, 2))	/* listpacks: node key, listpack */
		return false;
	/* length, last id; from _2: first id, max deleted id, entries added */
	if (!skip_lens(r, t == T_STREAM_LISTPACKS ? 3 : 8))
		return false;
	if (!get_count(r, &groups))
		return false;
	for (uint64_t g = 0; g < groups; g++) {
		uint64_t consumers;

		if (!skip_string(r) || !skip_lens(r, t == T_STREAM_LISTPACKS ? 2 : 3))
			return false;	/* name, last id, entries read (from _2) */
		if (!get_count(r, &n))	/* the group's PEL: id, delivery time, count */
			return false;
		for (uint64_t i = 0; i < n; i++)
			if (!skip(r, 16 + 8) || !skip_lens(r, 1))
				return false;
		if (!get_count(r, &consumers))
			return false;
		for (uint64_t c = 0; c < consumers; c++) {
			/* name, seen time (8), active time (8, _3), PEL: ids */
			if (!skip_string(r) || !skip(r, t == T_STREAM_LISTPACKS_3 ? 16 : 8) ||
			    !get_count(r, &n))
				return false;
			for (uint64_t i = 0; i < n; i++)
				if (!skip(r, 16))
					return false;
		}
	}
	return true;
}

/* Past a value of type t the store cannot hold: its kind, or -1 (r->err). */
static int skip_value(struct rdbr *r, uint8_t t)
{
	bool ok;

	switch (t) {
	case T_LIST:
		return skip_strings(r, 1) ? RDBR_SK_LIST : -1;
	case T_LIST_ZIPLIST:
		return skip_string(r) ? RDBR_SK_LIST : -1;
	case T_LIST_QUICKLIST:
		return skip_strings(r, 1) ? RDBR_SK_LIST : -1;
	case T_LIST_QUICKLIST_2: {
		uint64_t n;

		if (!get_count(r, &n))
			return -1;
		for (uint64_t i = 0; i < n; i++)	/* container kind, then its bytes */
			if (!skip_lens(r, 1) || !skip_string(r))
				return -1;
		return RDBR_SK_LIST;
	}
	case T_ZSET: {
		uint64_t n;

		if (!get_count(r, &n))
			return -1;
		for (uint64_t i = 0; i < n; i++)
			if (!skip_string(r) || !skip_old_double(r))
				return -1;
		return RDBR_SK_ZSET;
	}
	case T_ZSET_2: {
		uint64_t n;

		if (!get_count(r, &n))
			return -1;
		for (uint64_t i = 0; i < n; i++)
			if (!skip_string(r) || !skip(r, 8))
				return -1;
		return RDBR_SK_ZSET;
	}
	case T_ZSET_ZIPLIST:
	case T_ZSET_LISTPACK:
		return skip_string(r) ? RDBR_SK_ZSET : -1;
	case T_STREAM_LISTPACKS:
	case T_STREAM_LISTPACKS_2:
	case T_STREAM_LISTPACKS_3:
		ok = skip_stream(r, t);
		return ok ? RDBR_SK_STREAM : -1;
	case T_MODULE:
	case T_MODULE_2:
		fail(r, "module values are not supported");
		return -1;
	default:
		fail(r, "unknown value type");
		return -1;
	}
}

static bool storable(uint8_t t)
{
	return t == T_STRING || t == T_SET || t == T_HASH || t == T_HASH_ZIPMAP ||
	       t == T_SET_INTSET || t == T_HASH_ZIPLIST || t == T_HASH_LISTPACK;
}

/* ---- the file ---- */

int rdbr_open(struct rdbr *r, const struct rdbv_src *in, uint64_t max_value)
{
	uint8_t h[9];
	unsigned v = 0;

	memset(r, 0, offsetof(struct rdbr, dec));
	r->in = in;
	r->end = in->len;
	r->max_value = max_value;
	if (in->len < 9 + 1) {
		fail(r, "file too short");
		return RDBR_ERR;
	}
	rdbv_src_read(in, 0, h, 9);
	if (memcmp(h, "REDIS", 5) != 0) {
		fail(r, "wrong signature (not an RDB file)");
		return RDBR_ERR;
	}
	for (unsigned i = 5; i < 9; i++) {
		if (h[i] < '0' || h[i] > '9') {
			fail(r, "bad version");
			return RDBR_ERR;
		}
		v = v * 10 + (h[i] - '0');
	}
	if (v < 1 || v > RDBV_VERSION) {
		snprintf(r->err, sizeof(r->err), "can't handle RDB format version %u", v);
		return RDBR_ERR;
	}
	r->version = v;
	r->pos = 9;
	if (v >= 5) {		/* a CRC64 of everything before it follows the EOF opcode */
		uint8_t c[8];
		uint64_t want, body = in->len - 8;

		if (in->len < 9 + 1 + 8) {
			fail(r, "file too short");
			return RDBR_ERR;
		}
		rdbv_src_read(in, body, c, 8);
		want = le(c, 8);
		if (want) {
			if (rdbv_src_crc64(in, body) != want) {
				snprintf(r->err, sizeof(r->err), "wrong RDB checksum");
				return RDBR_ERR;
			}
			r->crc_checked = true;
		}
		r->end = body;
	}
	return 0;
}

/* An AUX field: what wirecache and Redis's tools read of it. */
static bool aux(struct rdbr *r)
{
	uint8_t k[32], v[32];
	uint64_t kl, vl;

	if (!get_string(r, k, sizeof(k), &kl) || !get_string(r, v, sizeof(v), &vl))
		return false;
	r->aux++;
	if (kl == 10 && !memcmp(k, "wc-mcflags", 10)) {
		uint64_t f = 0;

		if (vl == 0 || vl > 10)
			return fail(r, "bad wc-mcflags");
		for (uint64_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return fail(r, "bad wc-mcflags");
			f = f * 10 + (v[i] - '0');
		}
		if (f > UINT32_MAX)
			return fail(r, "bad wc-mcflags");
		r->mcflags = (uint32_t)f;
	} else if (kl == 9 && !memcmp(k, "redis-ver", 9) && vl < sizeof(r->redis_ver)) {
		memcpy(r->redis_ver, v, vl);
		r->redis_ver[vl] = 0;
	}
	return true;
}

/* A key entry of type t: RDBR_KEY, RDBR_SKIPPED or RDBR_ERR. */
static int key_entry(struct rdbr *r, uint8_t t, struct rdbr_entry *e)
{
	struct rdbv_info info;
	uint64_t klen, next;
	int sk = -1;

	e->type = t;
	e->expire_ms = r->expire_ms;
	e->mcflags = r->mcflags;
	r->expire_ms = 0;
	r->mcflags = 0;
	if (!get_string(r, e->key, sizeof(e->key), &klen))
		return RDBR_ERR;
	e->klen = klen <= RDBR_KEY_MAX ? (uint32_t)klen : 0;
	e->off = r->pos;
	if (storable(t)) {
		r->dec.max_len = 0;
		if (rdbv_decode_obj(&r->dec, r->in, t, r->pos, r->end, NULL, NULL, &info,
				    &next) != RDBV_OK) {
			fail(r, "bad value");
			return RDBR_ERR;
		}
		r->pos = next;
		e->kind = info.kind;
		e->count = info.count;
		e->maxlen = info.maxlen;
		if (r->max_value && info.maxlen > r->max_value)
			sk = RDBR_SK_TOOBIG;
	} else {
		sk = skip_value(r, t);
		if (sk < 0)
			return RDBR_ERR;
	}
	e->end = r->pos;
	if (sk < 0 && r->db != 0)
		sk = RDBR_SK_OTHERDB;
	if (sk < 0 && (klen == 0 || klen > RDBR_KEY_MAX))
		sk = RDBR_SK_LONGKEY;
	if (sk >= 0) {
		r->skipped[sk]++;
		return RDBR_SKIPPED;
	}
	r->keys++;
	return RDBR_KEY;
}

int rdbr_next(struct rdbr *r, struct rdbr_entry *e)
{
	if (r->done)
		return RDBR_END;
	if (r->err[0])
		return RDBR_ERR;
	for (;;) {
		uint8_t t, b[8];
		uint64_t a, c;

		if (!get(r, &t, 1))
			return RDBR_ERR;
		switch (t) {
		case OP_EOF:
			if (r->pos != r->end) {
				fail(r, "bytes after the EOF opcode");
				return RDBR_ERR;
			}
			if (r->expire_ms || r->mcflags) {
				fail(r, "a key's prefix without its key");
				return RDBR_ERR;
			}
			r->done = true;
			return RDBR_END;
		case OP_SELECTDB:
			if (!get_count(r, &r->db))
				return RDBR_ERR;
			break;
		case OP_RESIZEDB:
			if (!get_count(r, &a) || !get_count(r, &c))
				return RDBR_ERR;
			r->resize_keys = a;
			break;
		case OP_EXPIRETIME_MS:
			if (!get(r, b, 8))
				return RDBR_ERR;
			r->expire_ms = (int64_t)le(b, 8);
			if (r->expire_ms <= 0)
				r->expire_ms = 1;	/* (already passed: 0 means none) */
			break;
		case OP_EXPIRETIME:
			if (!get(r, b, 4))
				return RDBR_ERR;
			r->expire_ms = (int64_t)(int32_t)le(b, 4) * 1000;
			if (r->expire_ms <= 0)
				r->expire_ms = 1;
			break;
		case OP_IDLE:
			if (!get_count(r, &a))
				return RDBR_ERR;
			break;
		case OP_FREQ:
			if (!get(r, b, 1))
				return RDBR_ERR;
			break;
		case OP_AUX:
			if (!aux(r))
				return RDBR_ERR;
			break;
		case OP_FUNCTION2:	/* a function library's code: not run here */
			if (!skip_string(r))
				return RDBR_ERR;
			r->functions++;
			break;
		case OP_FUNCTION_PRE_GA:
			fail(r, "pre-release function format not supported");
			return RDBR_ERR;
		case OP_MODULE_AUX:
			fail(r, "module data is not supported");
			return RDBR_ERR;
		default:
			return key_entry(r, t, e);
		}
	}
}
