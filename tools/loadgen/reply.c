/*
 * reply.c - incremental parsers for the replies the load generator reads:
 * memcached text ("VALUE k f n" + data + "END", "END", "STORED", error
 * lines) and RESP ("$n" + data, "$-1" or "_" for a miss, "+OK", "-ERR").
 * Bytes arrive in any pieces; values are compared against the expected
 * bytes as they stream past, never copied.
 */
#include <stdlib.h>
#include <string.h>

#include "lg.h"

enum { ST_LINE, ST_DATA, ST_DATA_END };

void lg_parser_init(struct lg_parser *p, const struct lg_cfg *cfg)
{
	memset(p, 0, sizeof(*p));
	p->proto = cfg->proto;
	p->cfg = cfg;
}

void lg_parser_expect(struct lg_parser *p, const struct lg_req *r)
{
	p->st = ST_LINE;
	p->nline = 0;
	p->got_value = false;
	p->bad_value = false;
	p->verify = r->verify;
	p->key = r->key;
	p->expect_len = r->op == LG_GET ? lg_value_len(p->cfg, r->key) : 0;
}

static bool starts(const char *line, unsigned n, const char *word)
{
	size_t w = strlen(word);

	return n >= w && memcmp(line, word, w) == 0;
}

/* The last field of a memcached VALUE line, or of a RESP bulk header, as a length. */
static bool parse_len(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0;

	if (s >= end)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > (1ull << 40))
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* A value header said len bytes of data follow (memcached VALUE or RESP bulk). */
static enum lg_result begin_value(struct lg_parser *p, uint64_t len)
{
	p->got_value = true;
	p->vlen = len;
	p->need = len;
	p->voff = 0;
	if (p->verify && len != p->expect_len)
		p->bad_value = true;
	p->st = ST_DATA;
	return LG_R_MORE;
}

/* A complete line (no CR LF) of a memcached reply. */
static enum lg_result mc_line(struct lg_parser *p, const char *line, unsigned n)
{
	if (starts(line, n, "VALUE ")) {
		/* VALUE <key> <flags> <bytes> [<cas>]: bytes is the 4th field */
		const char *end = line + n, *fs[5] = { 0 }, *fe[5] = { 0 };
		uint64_t len;
		int field = 0;

		for (const char *s = line; s < end && field < 5;) {
			while (s < end && *s == ' ')
				s++;
			if (s == end)
				break;
			fs[field] = s;
			while (s < end && *s != ' ')
				s++;
			fe[field++] = s;
		}
		if (field < 4 || !parse_len(fs[3], fe[3], &len) || p->got_value)
			return LG_R_ERROR;
		return begin_value(p, len);
	}
	if (n == 3 && memcmp(line, "END", 3) == 0)
		return p->got_value ? LG_R_HIT : LG_R_MISS;
	if (n == 6 && memcmp(line, "STORED", 6) == 0)
		return LG_R_STORED;
	return LG_R_ERROR;	/* NOT_STORED, ERROR, CLIENT_ERROR, SERVER_ERROR, ... */
}

static enum lg_result resp_line(struct lg_parser *p, const char *line, unsigned n)
{
	uint64_t len;

	if (n == 0)
		return LG_R_ERROR;
	switch (line[0]) {
	case '$':
		if (n == 3 && memcmp(line, "$-1", 3) == 0)
			return LG_R_MISS;
		if (!parse_len(line + 1, line + n, &len))
			return LG_R_ERROR;
		return begin_value(p, len);
	case '_':
		return LG_R_MISS;	/* RESP3 null */
	case '+':
		return LG_R_STORED;
	default:
		return LG_R_ERROR;
	}
}

size_t lg_parser_feed(struct lg_parser *p, const uint8_t *buf, size_t len, enum lg_result *res,
		      bool *value_ok)
{
	size_t used = 0;

	*res = LG_R_MORE;
	while (used < len) {
		if (p->st == ST_LINE) {
			const uint8_t *nl = memchr(buf + used, '\n', len - used);
			size_t take = nl ? (size_t)(nl - (buf + used)) + 1 : len - used;
			const char *line = p->line;
			enum lg_result r;
			unsigned n;

			if (p->nline + take > LG_LINE_MAX) {
				*res = LG_R_ERROR;	/* no reply line is this long */
				return len;
			}
			if (nl && p->nline == 0) {
				line = (const char *)buf + used;	/* whole here: read it in place */
				n = (unsigned)take - 1;
			} else {
				memcpy(p->line + p->nline, buf + used, take);
				p->nline += (unsigned)take;
				if (!nl)
					return used + take;
				n = p->nline - 1;
				p->nline = 0;
			}
			used += take;
			if (n && line[n - 1] == '\r')
				n--;
			r = p->proto == LG_REDIS ? resp_line(p, line, n) : mc_line(p, line, n);
			if (r == LG_R_MORE)
				continue;
			if (r == LG_R_HIT && p->proto == LG_MEMCACHED)
				*value_ok = !p->bad_value;
			*res = r;
			return used;
		}
		if (p->st == ST_DATA) {
			size_t n = len - used < p->need ? len - used : p->need;

			if (p->verify && !p->bad_value &&
			    !lg_value_check(p->key, p->voff, buf + used, n))
				p->bad_value = true;
			p->voff += n;
			p->need -= n;
			used += n;
			if (p->need == 0) {
				p->st = ST_DATA_END;
				p->need = 2;
			}
			continue;
		}
		/* ST_DATA_END: the CR LF after a value */
		{
			size_t n = len - used < p->need ? len - used : p->need;

			for (size_t i = 0; i < n; i++)
				if (buf[used + i] != (p->need - i == 2 ? '\r' : '\n'))
					p->bad_value = true;
			p->need -= n;
			used += n;
			if (p->need)
				continue;
			if (p->proto == LG_REDIS) {
				*value_ok = !p->bad_value;
				*res = LG_R_HIT;
				return used;
			}
			p->st = ST_LINE;	/* memcached: END follows */
		}
	}
	return used;
}
