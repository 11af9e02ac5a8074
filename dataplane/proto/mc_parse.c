/*
 * mc_parse.c - memcached command-line parsing (see mc_parse.h).
 *
 * Error replies follow memcached 1.6: an unknown command or a wrong number
 * of arguments is "ERROR", malformed arguments are "CLIENT_ERROR <why>".
 * Where memcached would leave a storage command's data block to be read as
 * commands, we mark it to be swallowed whenever its length is readable, so
 * one bad request never desynchronises the stream.
 */
#include <stddef.h>
#include <string.h>

#include <emmintrin.h>

#include "proto/mc_parse.h"

#define ERR_FORMAT "CLIENT_ERROR bad command line format"

static const struct {
	const char *name;
	enum mc_cmd cmd;
} commands[] = {
	{ "get", MC_GET }, { "gets", MC_GETS }, { "gat", MC_GAT }, { "gats", MC_GATS },
	{ "set", MC_SET }, { "add", MC_ADD }, { "replace", MC_REPLACE },
	{ "append", MC_APPEND }, { "prepend", MC_PREPEND }, { "cas", MC_CAS },
	{ "delete", MC_DELETE }, { "incr", MC_INCR }, { "decr", MC_DECR },
	{ "touch", MC_TOUCH }, { "flush_all", MC_FLUSH_ALL }, { "version", MC_VERSION },
	{ "verbosity", MC_VERBOSITY }, { "quit", MC_QUIT }, { "stats", MC_STATS },
	{ "mg", MC_MG }, { "ms", MC_MS }, { "md", MC_MD }, { "ma", MC_MA },
	{ "mn", MC_MN }, { "me", MC_ME }, { "shutdown", MC_SHUTDOWN },
};

const char *mc_cmd_name(enum mc_cmd c)
{
	for (unsigned i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].cmd == c)
			return commands[i].name;
	return "unknown";
}

/* The first space in [p, end), or end: eight bytes a step while eight remain. */
static inline const uint8_t *find_space(const uint8_t *p, const uint8_t *end)
{
	while (end - p >= 8) {
		uint64_t x;

		memcpy(&x, p, 8);
		x ^= 0x2020202020202020ull;	/* a space becomes a zero byte */
		x = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
		if (x)	/* (the lowest flagged byte is exact: borrows only run upward) */
			return p + __builtin_ctzll(x) / 8;
		p += 8;
	}
	while (p < end && *p != ' ')
		p++;
	return p;
}

/* mc_next_token, inlined into this file's own loops */
static inline __attribute__((always_inline)) bool next_token(const uint8_t **pos,
							     const uint8_t *end,
							     struct mc_tok *t)
{
	const uint8_t *p = *pos;

	while (p < end && *p == ' ')
		p++;
	if (p == end) {
		*pos = p;
		return false;
	}
	t->p = p;
	p = find_space(p + 1, end);	/* (*t->p is no space) */
	t->len = (uint32_t)(p - t->p);
	*pos = p;
	return true;
}

bool mc_next_token(const uint8_t **pos, const uint8_t *end, struct mc_tok *t)
{
	return next_token(pos, end, t);
}

static bool tok_is(const struct mc_tok *t, const char *s)
{
	size_t n = strlen(s);

	return t->len == n && memcmp(t->p, s, n) == 0;
}

/* mc_parse_u64, inlined into this file's callers */
static inline __attribute__((always_inline)) bool parse_u64(const struct mc_tok *t,
							    uint64_t *out)
{
	uint64_t v = 0;
	uint32_t i, n = t->len < 19 ? t->len : 19;

	if (t->len == 0 || t->len > 20)
		return false;
	/* 19 digits never overflow: only a 20th is checked */
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)t->p[i] - '0';

		if (d > 9)
			return false;
		v = v * 10 + d;
	}
	if (i < t->len) {
		unsigned d = (unsigned)t->p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool mc_parse_u64(const struct mc_tok *t, uint64_t *out)
{
	return parse_u64(t, out);
}

static inline __attribute__((always_inline)) bool parse_u32(const struct mc_tok *t,
							    uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(t, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool mc_parse_u32(const struct mc_tok *t, uint32_t *out)
{
	return parse_u32(t, out);
}

static inline __attribute__((always_inline)) bool parse_i64(const struct mc_tok *t,
							    int64_t *out)
{
	struct mc_tok digits = *t;
	bool neg = t->len > 0 && t->p[0] == '-';
	uint64_t v;

	if (neg) {
		digits.p++;
		digits.len--;
	}
	if (!parse_u64(&digits, &v) || v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

bool mc_parse_i64(const struct mc_tok *t, int64_t *out)
{
	return parse_i64(t, out);
}

/* ---- base64 ---- */

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

uint32_t mc_base64_decode(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap)
{
	uint32_t n = 0;

	if (len == 0 || len % 4 != 0)
		return 0;
	for (uint32_t i = 0; i < len; i += 4) {
		int v[4];
		unsigned pad = 0;

		for (int j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == len && j >= 2) {
				v[j] = 0;
				pad++;
			} else if (pad || (v[j] = b64val(in[i + j])) < 0) {
				return 0;
			}
		}
		uint32_t bits = (uint32_t)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		uint8_t bytes[3] = { (uint8_t)(bits >> 16), (uint8_t)(bits >> 8), (uint8_t)bits };

		for (unsigned j = 0; j < 3 - pad; j++) {
			if (n == cap)
				return 0;
			out[n++] = bytes[j];
		}
	}
	return n;
}

uint32_t mc_base64_encode(const uint8_t *in, uint32_t len, uint8_t *out, uint32_t cap)
{
	uint32_t n = 0;

	if ((len + 2) / 3 * 4 > cap)
		return 0;
	for (uint32_t i = 0; i < len; i += 3) {
		uint32_t rem = len - i;
		uint32_t bits = (uint32_t)in[i] << 16 | (rem > 1 ? (uint32_t)in[i + 1] << 8 : 0) |
				(rem > 2 ? in[i + 2] : 0);

		out[n++] = (uint8_t)b64chars[(bits >> 18) & 63];
		out[n++] = (uint8_t)b64chars[(bits >> 12) & 63];
		out[n++] = rem > 1 ? (uint8_t)b64chars[(bits >> 6) & 63] : '=';
		out[n++] = rem > 2 ? (uint8_t)b64chars[bits & 63] : '=';
	}
	return n;
}

/* ---- commands ---- */

static bool fail(struct mc_req *r, const char *why)
{
	r->error = why;
	return false;
}

/* Bit i set: p[i] is a space (len < 64; no byte outside [p, p + len) is read). */
static inline uint64_t space_mask(const uint8_t *p, uint32_t len)
{
	const __m128i sp = _mm_set1_epi8(' ');
	uint64_t m = 0;
	uint32_t off;

	if (len < 16) {
		uint8_t b[16] = { 0 };

		memcpy(b, p, len);
		return (uint64_t)(uint16_t)_mm_movemask_epi8(
			       _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)b), sp)) &
		       ((1ull << len) - 1);
	}
	for (off = 0; off + 16 <= len; off += 16)
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(
			     _mm_loadu_si128((const __m128i *)(const void *)(p + off)), sp))
		     << off;
	if (off < len) {
		/* the last 16 bytes, of which the first 16 - (len - off) were counted already */
		uint32_t last = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(
			_mm_loadu_si128((const __m128i *)(const void *)(p + len - 16)), sp));

		m |= (uint64_t)(last >> (16 - (len - off))) << off;
	}
	return m;
}

/* gets the remaining tokens of a line into an array, counting all of them */
static unsigned tokens(const uint8_t **pos, const uint8_t *end, struct mc_tok *t, unsigned max)
{
	unsigned n = 0;
	struct mc_tok tmp;

	if (end - *pos < 64) {
		/* the usual line: words from its space mask, a bit a byte */
		const uint8_t *p = *pos;
		uint32_t len = (uint32_t)(end - p);
		uint64_t stop = space_mask(p, len) | ~((1ull << len) - 1);	/* spaces, and the end */
		uint64_t word = ~stop;

		while (word) {
			unsigned at = (unsigned)__builtin_ctzll(word);
			unsigned wlen = (unsigned)__builtin_ctzll(stop >> at);	/* (a stop bit is at len) */

			if (n < max)
				t[n] = (struct mc_tok){ p + at, wlen };
			n++;
			word &= ~0ull << (at + wlen);	/* (at + wlen <= len < 64) */
		}
		*pos = end;
		return n;
	}
	while (next_token(pos, end, n < max ? &t[n] : &tmp))
		n++;
	return n;
}

static bool parse_retrieval(struct mc_req *r, const uint8_t *pos, const uint8_t *end)
{
	struct mc_tok t;

	if (r->cmd == MC_GAT || r->cmd == MC_GATS) {
		if (!mc_next_token(&pos, end, &t))
			return fail(r, "ERROR");
		if (!mc_parse_i64(&t, &r->exptime))
			return fail(r, "CLIENT_ERROR invalid exptime argument");
	}
	while (pos < end && *pos == ' ')
		pos++;
	if (pos == end)
		return fail(r, "ERROR");
	r->keys.p = pos;
	r->keys.len = (uint32_t)(end - pos);
	/*
	 * memcached answers a get with any key over 250 bytes with the error
	 * alone, not the values of the keys before it: check them all first
	 */
	while (mc_next_token(&pos, end, &t))
		if (t.len > MC_KEY_MAX)
			return fail(r, ERR_FORMAT);
	return true;
}

static bool parse_storage(struct mc_req *r, const uint8_t *pos, const uint8_t *end)
{
	struct mc_tok t[7];
	unsigned need = r->cmd == MC_CAS ? 5 : 4;
	unsigned n = tokens(&pos, end, t, 7);
	uint64_t bytes;

	/* read the length first: if it is readable the data block can be swallowed */
	if (n >= 4 && parse_u64(&t[3], &bytes) && bytes <= INT32_MAX - 2) {
		r->vlen = bytes;
		r->has_data = true;
	}
	if (n < need || n > need + 1)
		return fail(r, "ERROR");
	r->key = t[0];
	r->noreply = n == need + 1 && tok_is(&t[need], "noreply");
	if (t[0].len > MC_KEY_MAX || !r->has_data || !parse_u32(&t[1], &r->flags) ||
	    !parse_i64(&t[2], &r->exptime) || (r->cmd == MC_CAS && !parse_u64(&t[4], &r->cas)))
		return fail(r, ERR_FORMAT);
	return true;
}

static bool parse_keyed(struct mc_req *r, const uint8_t *pos, const uint8_t *end)
{
	struct mc_tok t[4];
	unsigned n = tokens(&pos, end, t, 4);

	switch (r->cmd) {
	case MC_DELETE:
		/* delete <key> [0] [noreply] */
		if (n < 1 || n > 3)
			return fail(r, "ERROR");
		r->key = t[0];
		r->noreply = n >= 2 && tok_is(&t[n - 1], "noreply");
		if ((n == 2 && !r->noreply && !tok_is(&t[1], "0")) ||
		    (n == 3 && (!r->noreply || !tok_is(&t[1], "0"))))
			return fail(r, "CLIENT_ERROR bad command line format.  "
				       "Usage: delete <key> [noreply]");
		break;
	case MC_INCR:
	case MC_DECR:
		if (n < 2 || n > 3)
			return fail(r, "ERROR");
		r->key = t[0];
		r->noreply = n == 3 && tok_is(&t[2], "noreply");
		if (!mc_parse_u64(&t[1], &r->delta))
			return fail(r, "CLIENT_ERROR invalid numeric delta argument");
		break;
	case MC_TOUCH:
		if (n < 2 || n > 3)
			return fail(r, "ERROR");
		r->key = t[0];
		r->noreply = n == 3 && tok_is(&t[2], "noreply");
		if (!mc_parse_i64(&t[1], &r->exptime))
			return fail(r, "CLIENT_ERROR invalid exptime argument");
		break;
	default:
		return fail(r, "ERROR");
	}
	if (r->key.len > MC_KEY_MAX)
		return fail(r, ERR_FORMAT);
	return true;
}

static bool parse_misc(struct mc_req *r, const uint8_t *pos, const uint8_t *end)
{
	struct mc_tok t[3];
	unsigned n;

	switch (r->cmd) {
	case MC_FLUSH_ALL:
		/* flush_all [delay] [noreply]; as memcached, a second word that is not
		 * noreply is ignored ("flush_all 0 x" flushes) */
		n = tokens(&pos, end, t, 3);
		if (n > 2)
			return fail(r, "ERROR");
		r->noreply = n >= 1 && tok_is(&t[n - 1], "noreply");
		if (n - r->noreply >= 1) {
			if (!mc_parse_i64(&t[0], &r->exptime))
				return fail(r, "CLIENT_ERROR invalid exptime argument");
			r->has_exptime = true;
		}
		return true;
	case MC_VERBOSITY:
		/* verbosity <level> [noreply], or "verbosity noreply" (as memcached) */
		n = tokens(&pos, end, t, 3);
		if (n < 1 || n > 2)
			return fail(r, "ERROR");
		r->noreply = tok_is(&t[n - 1], "noreply");
		if (n == 1 && r->noreply)
			return true;
		if (!mc_parse_u32(&t[0], &r->verbosity))
			return fail(r, ERR_FORMAT);
		return true;
	case MC_STATS:
		while (pos < end && *pos == ' ')
			pos++;
		r->arg.p = pos;
		r->arg.len = (uint32_t)(end - pos);
		return true;
	case MC_VERSION:
	case MC_QUIT:
	case MC_MN:
		return true;	/* arguments ignored, as memcached does */
	default:
		return fail(r, "ERROR");
	}
}

/* ---- meta commands ---- */

static bool meta_i32(const struct mc_tok *t, int64_t *out)
{
	struct mc_tok arg = { t->p + 1, t->len - 1 };

	return mc_parse_i64(&arg, out) && *out >= INT32_MIN && *out <= INT32_MAX;
}

static bool meta_u64(const struct mc_tok *t, uint64_t *out)
{
	struct mc_tok arg = { t->p + 1, t->len - 1 };

	return mc_parse_u64(&arg, out);
}

static bool parse_meta_flag(struct mc_req *r, const struct mc_tok *t)
{
	struct mc_meta *m = &r->meta;
	char c = (char)t->p[0];
	uint64_t bit = mc_meta_bit(c);
	struct mc_tok arg = { t->p + 1, t->len - 1 };
	bool ok = true;

	if (bit == 0)
		return fail(r, "CLIENT_ERROR invalid flag");
	if (m->has & bit)
		return fail(r, "CLIENT_ERROR duplicate flag");
	if (m->nflags == MC_META_FLAGS_MAX)
		return fail(r, "CLIENT_ERROR options flags are too long");
	m->has |= bit;
	m->order[m->nflags++] = c;
	switch (c) {
	case 'N':
		ok = meta_i32(t, &m->vivify);
		break;
	case 'T':
		ok = meta_i32(t, &m->ttl);
		break;
	case 'R':
		ok = meta_i32(t, &m->recache);
		break;
	case 'C':
		ok = meta_u64(t, &m->cas_cmp);
		break;
	case 'E':
		ok = meta_u64(t, &m->cas_new);
		break;
	case 'D':
		if (!meta_u64(t, &m->delta))
			return fail(r, "CLIENT_ERROR invalid numeric delta value");
		break;
	case 'J':
		if (!meta_u64(t, &m->initial))
			return fail(r, "CLIENT_ERROR invalid numeric initial value");
		break;
	case 'F':
		if (!mc_parse_u32(&arg, &m->client_flags))
			return fail(r, ERR_FORMAT);
		break;
	case 'M':
		m->mode = arg.len ? (char)arg.p[0] : 0;
		break;
	case 'O':
		if (arg.len > MC_OPAQUE_MAX)
			return fail(r, "CLIENT_ERROR opaque token too long");
		m->opaque = *t;	/* echoed whole, with its 'O' */
		break;
	case 'b': case 'c': case 'f': case 'h': case 'k': case 'l': case 'q': case 's':
	case 't': case 'u': case 'v': case 'x': case 'I': case 'P': case 'L':
		break;
	default:
		return fail(r, "CLIENT_ERROR invalid flag");
	}
	if (!ok)
		return fail(r, "CLIENT_ERROR bad token in command line format");
	return true;
}

static bool parse_meta(struct mc_req *r, const uint8_t *pos, const uint8_t *end)
{
	struct mc_tok t;

	r->meta.delta = 1;
	if (!mc_next_token(&pos, end, &r->key))
		return fail(r, ERR_FORMAT);
	if (r->cmd == MC_MS) {
		uint64_t bytes;

		if (!mc_next_token(&pos, end, &t) || !mc_parse_u64(&t, &bytes) ||
		    bytes > INT32_MAX - 2)
			return fail(r, ERR_FORMAT);
		r->vlen = bytes;
		r->has_data = true;
	}
	if (r->key.len > MC_KEY_MAX)
		return fail(r, ERR_FORMAT);
	while (mc_next_token(&pos, end, &t))
		if (!parse_meta_flag(r, &t))
			goto bad;
	if (mc_meta_has(&r->meta, 'b')) {
		uint32_t n = mc_base64_decode(r->key.p, r->key.len, r->keybuf, sizeof(r->keybuf));

		if (n == 0) {
			fail(r, "CLIENT_ERROR error decoding key");
			goto bad;
		}
		r->key.p = r->keybuf;
		r->key.len = n;
		r->meta.binary_key = true;
	}
	r->noreply = mc_meta_has(&r->meta, 'q');
	if (r->cmd == MC_MS && r->meta.mode && !strchr("EAPRS", r->meta.mode))
		return fail(r, "CLIENT_ERROR invalid mode for ms M token");
	if (r->cmd == MC_MA && r->meta.mode && !strchr("I+D-", r->meta.mode))
		return fail(r, "CLIENT_ERROR invalid mode for ma M token");
	return true;
bad:
	if (r->cmd == MC_MA)
		r->error = "CLIENT_ERROR invalid or duplicate flag";
	return false;
}

/* The command a name is (as in commands[]), by its length first, then whole-word compares. */
static enum mc_cmd lookup_command(const uint8_t *n, uint32_t len)
{
#define IS(word) (memcmp(n, word, sizeof(word) - 1) == 0)
	switch (len) {
	case 2:
		if (n[0] != 'm')
			return MC_UNKNOWN;
		switch (n[1]) {
		case 'g': return MC_MG;
		case 's': return MC_MS;
		case 'd': return MC_MD;
		case 'a': return MC_MA;
		case 'n': return MC_MN;
		case 'e': return MC_ME;
		default: return MC_UNKNOWN;
		}
	case 3:
		return IS("get") ? MC_GET : IS("set") ? MC_SET : IS("gat") ? MC_GAT :
		       IS("add") ? MC_ADD : IS("cas") ? MC_CAS : MC_UNKNOWN;
	case 4:
		return IS("gets") ? MC_GETS : IS("gats") ? MC_GATS : IS("incr") ? MC_INCR :
		       IS("decr") ? MC_DECR : IS("quit") ? MC_QUIT : MC_UNKNOWN;
	case 5:
		return IS("touch") ? MC_TOUCH : IS("stats") ? MC_STATS : MC_UNKNOWN;
	case 6:
		return IS("delete") ? MC_DELETE : IS("append") ? MC_APPEND : MC_UNKNOWN;
	case 7:
		return IS("replace") ? MC_REPLACE : IS("prepend") ? MC_PREPEND :
		       IS("version") ? MC_VERSION : MC_UNKNOWN;
	case 8:
		return IS("shutdown") ? MC_SHUTDOWN : MC_UNKNOWN;
	case 9:
		return IS("flush_all") ? MC_FLUSH_ALL : IS("verbosity") ? MC_VERBOSITY : MC_UNKNOWN;
	default:
		return MC_UNKNOWN;
	}
#undef IS
}

bool mc_parse_line(const uint8_t *line, uint32_t len, struct mc_req *r)
{
	const uint8_t *pos = line, *end = line + len;
	struct mc_tok name;

	memset(r, 0, offsetof(struct mc_req, keybuf));
	if (len && line[len - 1] == '\r')
		end--;
	if (!next_token(&pos, end, &name))
		return fail(r, "ERROR");
	r->cmd = lookup_command(name.p, name.len);
	switch (r->cmd) {
	case MC_GET: case MC_GETS: case MC_GAT: case MC_GATS:
		return parse_retrieval(r, pos, end);
	case MC_SET: case MC_ADD: case MC_REPLACE: case MC_APPEND: case MC_PREPEND: case MC_CAS:
		return parse_storage(r, pos, end);
	case MC_DELETE: case MC_INCR: case MC_DECR: case MC_TOUCH:
		return parse_keyed(r, pos, end);
	case MC_MG: case MC_MS: case MC_MD: case MC_MA: case MC_ME:
		return parse_meta(r, pos, end);
	case MC_FLUSH_ALL: case MC_VERSION: case MC_VERBOSITY: case MC_QUIT: case MC_STATS:
	case MC_MN:
		return parse_misc(r, pos, end);
	case MC_SHUTDOWN:
		/* memcached's answer unless started with -A; a node stops by its signal */
		return fail(r, "ERROR: shutdown not enabled");
	default:
		return fail(r, "ERROR");
	}
}

