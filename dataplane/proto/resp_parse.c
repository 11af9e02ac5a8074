/*
 * resp_parse.c - the RESP request parser (see resp.h).
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "proto/resp.h"
#include "wirecache/compiler.h"

enum {
	RP_START = 0,		/* at the first byte of a command */
	RP_ARGS,		/* multibulk: reading the announced bulks */
	RP_STAGING,		/* multibulk: moving a large bulk into its stage */
};

void resp_parser_init(struct resp_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->bulk = -1;
}

/* ---- reading the queue ---- */

/* Offset of the first '\n' at or after off (searching at most max bytes), or -1. */
static int64_t find_nl(const struct mc_inq *in, uint64_t off, uint64_t max)
{
	uint64_t end = in->len < off + max ? in->len : off + max;

	while (off < end) {
		uint64_t contig;
		const uint8_t *p = in->peek(in, off, &contig);
		const uint8_t *nl;

		if (contig > end - off)
			contig = end - off;
		nl = memchr(p, '\n', contig);
		if (nl)
			return (int64_t)(off + (uint64_t)(nl - p));
		off += contig;
	}
	return -1;
}

/* n contiguous bytes at off: in place when they are, else copied into the arena. */
static const uint8_t *contiguous(const struct mc_inq *in, uint64_t off, uint64_t n,
				 const struct resp_mem *mem, bool *in_rx)
{
	uint64_t contig;
	const uint8_t *p;
	uint8_t *copy;

	if (n == 0) {
		*in_rx = false;
		return (const uint8_t *)"";
	}
	p = in->peek(in, off, &contig);
	if (contig >= n) {
		*in_rx = true;
		return p;
	}
	copy = mem->alloc(mem->ctx, n);
	if (!copy)
		return NULL;
	mc_inq_copy(in, off, copy, n);
	*in_rx = false;
	return copy;
}

/* Parse a decimal long long the way Redis's string2ll does (no '+', no spaces). */
static bool parse_ll(const uint8_t *s, uint64_t n, int64_t *out)
{
	uint64_t v = 0;
	bool neg = false;

	if (n == 0 || n > 20)
		return false;
	if (s[0] == '-') {
		neg = true;
		s++;
		n--;
		if (n == 0)
			return false;
	}
	if (n > 1 && s[0] == '0')
		return false;
	for (uint64_t i = 0; i < n; i++) {
		unsigned d = (unsigned)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = (int64_t)(0 - v);
	} else {
		if (v > INT64_MAX)
			return false;
		*out = (int64_t)v;
	}
	return true;
}

/* ---- the argument table ---- */

static struct resp_arg *new_arg(struct resp_cmd *c, const struct resp_mem *mem)
{
	uint32_t i = c->argc;

	if (i >= RESP_ARGV_EMBED) {
		uint32_t k = i - RESP_ARGV_EMBED, b = k / RESP_ARGV_BLOCK;

		if (k % RESP_ARGV_BLOCK == 0) {
			if (!c->blocks) {
				uint32_t need = (RESP_ARGC_MAX - RESP_ARGV_EMBED) / RESP_ARGV_BLOCK + 1;

				c->blocks = mem->alloc(mem->ctx, need * sizeof(*c->blocks));
				if (!c->blocks)
					return NULL;
			}
			if (b >= c->nblocks) {
				c->blocks[b] = mem->alloc(mem->ctx,
							  RESP_ARGV_BLOCK * sizeof(struct resp_arg));
				if (!c->blocks[b])
					return NULL;
				c->nblocks = b + 1;
			}
		}
	}
	return resp_argv(c, i);
}

/*
 * Before the queue is consumed up to a staged bulk: every argument still in
 * the receive buffers moves to the arena (or a stage, when large).
 */
static bool detach_args(struct resp_cmd *c, const struct mc_inq *in, const struct resp_mem *mem)
{
	for (uint32_t i = 0; i < c->argc; i++) {
		struct resp_arg *a = resp_argv(c, i);

		if (a->kind == RESP_ARG_PTR && a->in_rx) {
			uint8_t *copy = mem->alloc(mem->ctx, a->len);

			if (!copy)
				return false;
			memcpy(copy, a->u.p, a->len);
			a->u.p = copy;
			a->in_rx = false;
		} else if (a->kind == RESP_ARG_RX) {
			struct wc_stage *st = mem->stage(mem->ctx, a->len);

			if (!st)
				return false;
			for (uint64_t done = 0; done < a->len;) {
				uint64_t contig, n;
				const uint8_t *p = in->peek(in, a->u.off + done, &contig);

				n = a->len - done < contig ? a->len - done : contig;
				wc_stage_put(st, p, n);
				done += n;
			}
			a->u.stage = st;
			a->kind = RESP_ARG_STAGE;
		}
	}
	return true;
}

/* ---- inline commands ---- */

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Split an inline line into arguments as Redis's sdssplitargs does: blanks
 * separate, "double quotes" take \xHH and \n \r \t \b \a escapes, 'single
 * quotes' take \', and a closing quote must be followed by a blank.
 * Arguments are written into out (at most len bytes in all). Returns false
 * on unbalanced quotes.
 */
static bool split_inline(const uint8_t *s, uint64_t len, uint8_t *out, struct resp_cmd *c,
			 const struct resp_mem *mem, bool *nomem)
{
	const uint8_t *end = s + len;

	*nomem = false;
	for (;;) {
		uint8_t *start = out;
		bool inq = false, insq = false, done = false;
		struct resp_arg *a;

		while (s < end && is_space(*s))
			s++;
		if (s == end)
			return true;
		while (!done) {
			if (inq) {
				if (s == end)
					return false;
				if (*s == '\\' && s + 3 < end && s[1] == 'x' && hexval(s[2]) >= 0 &&
				    hexval(s[3]) >= 0) {
					*out++ = (uint8_t)(hexval(s[2]) * 16 + hexval(s[3]));
					s += 4;
					continue;
				}
				if (*s == '\\' && s + 1 < end) {
					uint8_t e = s[1];

					*out++ = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' :
						 e == 'b' ? '\b' : e == 'a' ? '\a' : e;
					s += 2;
					continue;
				}
				if (*s == '"') {
					if (s + 1 < end && !is_space(s[1]))
						return false;
					done = true;
					s++;
					continue;
				}
				*out++ = *s++;
			} else if (insq) {
				if (s == end)
					return false;
				if (*s == '\\' && s + 1 < end && s[1] == '\'') {
					*out++ = '\'';
					s += 2;
					continue;
				}
				if (*s == '\'') {
					if (s + 1 < end && !is_space(s[1]))
						return false;
					done = true;
					s++;
					continue;
				}
				*out++ = *s++;
			} else {
				if (s == end || is_space(*s)) {
					done = true;
				} else if (*s == '"') {
					inq = true;
					s++;
				} else if (*s == '\'') {
					insq = true;
					s++;
				} else {
					*out++ = *s++;
				}
			}
		}
		if (c->argc >= RESP_ARGC_MAX)
			return false;
		a = new_arg(c, mem);
		if (!a) {
			*nomem = true;
			return true;
		}
		*a = (struct resp_arg){ .u.p = start, .len = (uint32_t)(out - start) };
		c->argc++;
	}
}

static enum resp_parse parse_inline(struct resp_parser *p, struct resp_cmd *c,
				    struct mc_inq *in, const struct resp_mem *mem,
				    const char **err)
{
	int64_t nl = find_nl(in, 0, RESP_INLINE_MAX + 2);
	uint64_t len;
	const uint8_t *line;
	uint8_t *out;
	bool in_rx, nomem;

	if (nl < 0) {
		if (in->len > RESP_INLINE_MAX) {
			*err = "Protocol error: too big inline request";
			return RESP_PROTO_ERROR;
		}
		return RESP_MORE;
	}
	len = (uint64_t)nl;
	if (len > RESP_INLINE_MAX) {
		*err = "Protocol error: too big inline request";
		return RESP_PROTO_ERROR;
	}
	p->pos = len + 1;
	c->bytes = p->pos;
	c->is_inline = true;
	line = contiguous(in, 0, len, mem, &in_rx);
	out = mem->alloc(mem->ctx, len + 1);
	if (!line || !out)
		return RESP_NOMEM;
	if (len && line[len - 1] == '\r')
		len--;
	if (!split_inline(line, len, out, c, mem, &nomem)) {
		*err = "Protocol error: unbalanced quotes in request";
		return RESP_PROTO_ERROR;
	}
	if (nomem)
		return RESP_NOMEM;
	return c->argc ? RESP_COMMAND : RESP_EMPTY;
}

/* ---- multibulk ---- */

/*
 * A "<prefix><number>\r\n" header at off: 1 with its value and length, 0 when
 * incomplete, -1 when too long (more than RESP_INLINE_MAX without one).
 */
static int header(const struct mc_inq *in, uint64_t off, int64_t *val, uint64_t *hlen,
		  bool *bad)
{
	int64_t nl = find_nl(in, off, RESP_INLINE_MAX + 2);
	uint8_t buf[32];
	uint64_t n;

	*bad = false;
	if (nl < 0)
		return in->len - off > RESP_INLINE_MAX ? -1 : 0;
	n = (uint64_t)nl - off;	/* prefix + digits + '\r' */
	*hlen = n + 1;
	if (n < 2 || n > sizeof(buf)) {
		*bad = true;
		return 1;
	}
	mc_inq_copy(in, off, buf, n);
	if (buf[n - 1] != '\r' || !parse_ll(buf + 1, n - 2, val))
		*bad = true;
	return 1;
}

static enum resp_parse parse_multibulk(struct resp_parser *p, struct resp_cmd *c,
				       struct mc_inq *in, const struct resp_limits *lim,
				       const struct resp_mem *mem, const char **err)
{
	for (;;) {
		if (p->st == RP_STAGING) {
			struct wc_stage *st = p->staging;

			while (in->len && st->len < st->want) {
				uint64_t contig, n = st->want - st->len;
				const uint8_t *b = in->peek(in, 0, &contig);

				if (n > contig)
					n = contig;
				wc_stage_put(st, b, n);
				in->consume(in, n);
				p->consumed += n;
			}
			if (st->len < st->want)
				return RESP_MORE;
			p->st = RP_ARGS;
			p->bulk = -1;
			p->staging = NULL;
			if (c->argc == p->want)
				break;
			continue;
		}
		if (p->bulk < 0) {
			int64_t v = 0;
			uint64_t hlen = 0;
			bool bad;
			int h;
			uint8_t first;

			if (p->pos >= in->len)
				return RESP_MORE;
			h = header(in, p->pos, &v, &hlen, &bad);
			if (h < 0) {
				*err = "Protocol error: too big bulk count string";
				return RESP_PROTO_ERROR;
			}
			if (h == 0)
				return RESP_MORE;
			mc_inq_copy(in, p->pos, &first, 1);
			if (first != '$') {
				static __thread char msg[64];

				memcpy(msg, "Protocol error: expected '$', got ' '", 38);
				msg[35] = (char)first;
				*err = msg;
				return RESP_PROTO_ERROR;
			}
			if (bad || v < 0 || (uint64_t)v > lim->max_bulk) {
				*err = "Protocol error: invalid bulk length";
				return RESP_PROTO_ERROR;
			}
			if (v > 16384 && !lim->authenticated) {
				*err = "Protocol error: unauthenticated bulk length";
				return RESP_PROTO_ERROR;
			}
			p->pos += hlen;
			p->bulk = v;
		}
		/* the bulk's bytes and its \r\n */
		{
			uint64_t need = (uint64_t)p->bulk + 2;
			struct resp_arg *a;

			if (in->len - p->pos < need) {
				struct wc_stage *st;
				uint64_t have = in->len - p->pos;

				if (need <= RESP_STAGE_MIN || !mem->stage || p->nstages >= RESP_STAGES_MAX)
					return RESP_MORE;
				/* a large bulk still arriving: into a stage, as it comes */
				a = new_arg(c, mem);
				if (!a)
					return RESP_NOMEM;
				/* (a stage from an attempt that ran out of arena is taken again) */
				st = p->staging ? p->staging : mem->stage(mem->ctx, need);
				if (!st)
					return RESP_NOMEM;
				p->staging = st;
				if (!detach_args(c, in, mem))
					return RESP_NOMEM;
				in->consume(in, p->pos);
				p->consumed += p->pos;
				p->pos = 0;
				(void)have;
				*a = (struct resp_arg){ .u.stage = st, .len = (uint32_t)p->bulk,
							.kind = RESP_ARG_STAGE };
				c->argc++;
				p->nstages++;
				p->staging = st;
				p->st = RP_STAGING;
				continue;
			}
			a = new_arg(c, mem);
			if (!a)
				return RESP_NOMEM;
			if ((uint64_t)p->bulk <= RESP_CONTIG_MAX) {
				bool in_rx;
				const uint8_t *b = contiguous(in, p->pos, (uint64_t)p->bulk, mem, &in_rx);

				if (!b)
					return RESP_NOMEM;
				*a = (struct resp_arg){ .u.p = b, .len = (uint32_t)p->bulk,
							.kind = RESP_ARG_PTR, .in_rx = in_rx };
			} else {
				*a = (struct resp_arg){ .u.off = p->pos, .len = (uint32_t)p->bulk,
							.kind = RESP_ARG_RX };
			}
			c->argc++;
			p->pos += need;
			p->bulk = -1;
			if (c->argc == p->want)
				break;
		}
	}
	c->bytes = p->consumed + p->pos;
	return RESP_COMMAND;
}

/* "<prefix><digits>\r\n" at *pp within end: the number, *pp past it; false if not that. */
static inline bool fast_num(const uint8_t **pp, const uint8_t *end, uint8_t prefix, int64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	unsigned nd = 0;

	if (p >= end || *p++ != prefix)
		return false;
	while (p < end && *p >= '0' && *p <= '9' && nd < 18) {
		v = v * 10 + (uint64_t)(*p++ - '0');
		nd++;
	}
	if (nd == 0 || p + 2 > end || p[0] != '\r' || p[1] != '\n' || (nd > 1 && (*pp)[1] == '0'))
		return false;
	*out = (int64_t)v;
	*pp = p + 2;
	return true;
}

/*
 * The common case: a whole multibulk command of small arguments in one
 * receive buffer. Parsed with plain pointers, every argument in place;
 * anything unusual (or incomplete) returns false and takes the general
 * path, which gives the same result.
 */
static bool fast_multibulk(struct resp_cmd *c, const struct mc_inq *in,
			   const struct resp_limits *lim, uint64_t *used)
{
	uint64_t contig;
	const uint8_t *base = in->peek(in, 0, &contig), *p = base, *end = base + contig;
	int64_t argc, len;

	if (!fast_num(&p, end, '*', &argc) || argc < 1 || argc > RESP_ARGV_EMBED ||
	    (argc > 10 && !lim->authenticated))
		return false;
	for (int64_t i = 0; i < argc; i++) {
		if (!fast_num(&p, end, '$', &len) || len > 16384 || (uint64_t)len > lim->max_bulk ||
		    end - p < len + 2)
			return false;
		c->embed[i] = (struct resp_arg){ .u.p = p, .len = (uint32_t)len,
						 .kind = RESP_ARG_PTR, .in_rx = true };
		p += len + 2;
	}
	c->argc = (uint32_t)argc;
	*used = (uint64_t)(p - base);
	return true;
}

enum resp_parse resp_parse(struct resp_parser *p, struct resp_cmd *c, struct mc_inq *in,
			   const struct resp_limits *lim, const struct resp_mem *mem,
			   const char **err)
{
	if (p->st == RP_START && in->len) {
		uint64_t used;

		c->blocks = NULL;
		c->nblocks = 0;
		c->is_inline = false;
		if (fast_multibulk(c, in, lim, &used)) {
			p->pos = used;
			c->bytes = used;
			return RESP_COMMAND;
		}
	}
	if (p->st == RP_START) {
		uint8_t first;
		int64_t n = 0;
		uint64_t hlen = 0;
		bool bad;
		int h;

		if (in->len == 0)
			return RESP_MORE;
		memset(c, 0, offsetof(struct resp_cmd, embed));
		c->blocks = NULL;
		c->nblocks = 0;
		c->bytes = 0;
		c->is_inline = false;
		mc_inq_copy(in, 0, &first, 1);
		if (first != '*') {
			enum resp_parse r = parse_inline(p, c, in, mem, err);

			if (r == RESP_NOMEM)
				c->argc = 0;	/* (parsed again from the start) */
			return r;
		}
		h = header(in, 0, &n, &hlen, &bad);
		if (h < 0) {
			*err = "Protocol error: too big mbulk count string";
			return RESP_PROTO_ERROR;
		}
		if (h == 0)
			return RESP_MORE;
		if (bad || n > (int64_t)RESP_ARGC_MAX) {
			*err = "Protocol error: invalid multibulk length";
			return RESP_PROTO_ERROR;
		}
		if (n > 10 && !lim->authenticated) {
			*err = "Protocol error: unauthenticated multibulk length";
			return RESP_PROTO_ERROR;
		}
		p->pos = hlen;
		if (n <= 0) {
			c->bytes = hlen;
			return RESP_EMPTY;
		}
		p->want = (uint32_t)n;
		p->bulk = -1;
		p->st = RP_ARGS;
	}
	return parse_multibulk(p, c, in, lim, mem, err);
}

const uint8_t *resp_get_at(const uint8_t *t, uint32_t len, uint32_t *klen, uint32_t *used)
{
	uint32_t n = 0, digits = 0, total;

	if (len < 20)
		return NULL;
	/* the key's length says where the command ends; resp_single_get judges the rest */
	while (digits < 3 && t[14 + digits] >= '0' && t[14 + digits] <= '9')
		n = n * 10 + (uint32_t)(t[14 + digits++] - '0');
	total = 14 + digits + 2 + n + 2;
	if (digits == 0 || total > len)
		return NULL;
	*used = total;
	return resp_single_get(t, total, klen);
}

/* A bulk length at *p: 1..9 digits, no leading zero but "0", then "\r\n", all before end. */
static inline __attribute__((always_inline)) bool fast_bulk_len(const uint8_t **p,
								 const uint8_t *end, uint32_t *n)
{
	const uint8_t *q = *p;
	uint32_t v = 0, d;

	/* the usual lengths first: one digit, or two without a leading zero */
	if (wc_likely(end - q >= 4)) {
		uint32_t d0 = (uint32_t)q[0] - '0', d1 = (uint32_t)q[1] - '0';

		if (d0 <= 9 && q[1] == '\r' && q[2] == '\n') {
			*n = d0;
			*p = q + 3;
			return true;
		}
		if (d0 - 1 <= 8 && d1 <= 9 && q[2] == '\r' && q[3] == '\n') {
			*n = d0 * 10 + d1;
			*p = q + 4;
			return true;
		}
	}
	while (q < end && q - *p < 10 && (d = (uint32_t)*q - '0') <= 9) {
		v = v * 10 + d;
		q++;
	}
	if (q == *p || q - *p > 9 || (**p == '0' && q - *p > 1) || end - q < 2 || q[0] != '\r' ||
	    q[1] != '\n')
		return false;
	*n = v;
	*p = q + 2;
	return true;
}

uint32_t resp_set_at(const uint8_t *t, uint32_t len, struct resp_set *out)
{
	const uint8_t *p = t + 14, *end = t + len;
	uint64_t head;

	/* "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n" is 26 bytes */
	if (len < 26)
		return 0;
	memcpy(&head, t, 8);
	if (head != 0x0a0d33240a0d332aull ||	/* "*3\r\n$3\r\n" */
	    (t[8] | 0x20) != 's' || (t[9] | 0x20) != 'e' || (t[10] | 0x20) != 't' ||
	    t[11] != '\r' || t[12] != '\n' || t[13] != '$')
		return 0;
	if (!fast_bulk_len(&p, end, &out->klen) || out->klen == 0 || out->klen > 250 ||
	    end - p < (ptrdiff_t)out->klen + 3)
		return 0;
	out->key = p;
	p += out->klen;
	if (p[0] != '\r' || p[1] != '\n' || p[2] != '$')
		return 0;
	p += 3;
	if (!fast_bulk_len(&p, end, &out->vlen) || end - p < (ptrdiff_t)out->vlen + 2)
		return 0;
	out->val = p;
	p += out->vlen;
	if (p[0] != '\r' || p[1] != '\n')
		return 0;
	return (uint32_t)(p + 2 - t);
}

uint32_t resp_flat_argv(const uint8_t *buf, uint32_t len, const uint8_t **argv, uint32_t *lens,
			uint32_t max)
{
	const uint8_t *p = buf, *end = buf + len;
	int64_t argc, n;

	if (!fast_num(&p, end, '*', &argc) || argc < 1 || argc > UINT32_MAX)
		return 0;
	for (int64_t i = 0; i < argc; i++) {
		if (!fast_num(&p, end, '$', &n) || end - p < n + 2)
			return 0;
		if (i < max) {
			argv[i] = p;
			lens[i] = (uint32_t)n;
		}
		p += n + 2;
	}
	return (uint32_t)argc;
}

/* One bulk "$<n>\r\n<n bytes>\r\n" at *p, all before end: its bytes, *p past it. */
static bool fast_bulk(const uint8_t **p, const uint8_t *end, const uint8_t **at, uint32_t *n)
{
	const uint8_t *q = *p;

	if (q == end || *q != '$')
		return false;
	q++;
	if (!fast_bulk_len(&q, end, n) || end - q < (ptrdiff_t)*n + 2 || q[*n] != '\r' ||
	    q[*n + 1] != '\n')
		return false;
	*at = q;
	*p = q + *n + 2;
	return true;
}

/* A time to live of 1..18 digits, no leading zero; seconds (x1000) within int64. */
static bool ttl_ms(const uint8_t *p, uint32_t n, bool seconds, int64_t *ms)
{
	int64_t v = 0;

	if (n == 0 || n > 18 || p[0] == '0')
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	if (seconds && v > INT64_MAX / 1000)
		return false;
	*ms = seconds ? v * 1000 : v;
	return true;
}

/* An increment: "0", or an optional '-' and 1..18 digits, no leading zero (within int64). */
static bool incr_delta(const uint8_t *p, uint32_t n, int64_t *d)
{
	bool neg = n > 1 && p[0] == '-';
	int64_t v = 0;

	if (neg) {
		p++;
		n--;
	}
	if (n == 0 || n > 18 || (p[0] == '0' && (n > 1 || neg)))
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*d = neg ? -v : v;
	return true;
}

/* A counter (argc 2: INCR, DECR; 3: INCRBY, DECRBY) of a[], into *out; false when not one. */
static bool counter_write(uint32_t argc, const uint8_t *const *a, const uint32_t *n,
			  struct resp_write *out)
{
	int64_t d = 1;
	bool decr;

	if (argc == 2 && (resp_name_is(a[0], n[0], "incr") || resp_name_is(a[0], n[0], "decr"))) {
		decr = (a[0][0] | 0x20) == 'd';
		*out = (struct resp_write){ .cmd = decr ? RESP_W_DECR : RESP_W_INCR };
	} else if (argc == 3 &&
		   (resp_name_is(a[0], n[0], "incrby") || resp_name_is(a[0], n[0], "decrby"))) {
		if (!incr_delta(a[2], n[2], &d))
			return false;
		decr = (a[0][0] | 0x20) == 'd';
		*out = (struct resp_write){ .cmd = decr ? RESP_W_DECRBY : RESP_W_INCRBY };
	} else {
		return false;
	}
	out->key = a[1];
	out->klen = n[1];
	out->delta = decr ? -d : d;
	return true;
}

uint32_t resp_write_at(const uint8_t *t, uint32_t len, struct resp_write *out)
{
	const uint8_t *p = t + 4, *end = t + len, *a[5], *num = NULL;
	uint32_t n[5], argc, nlen = 0;
	bool seconds = false;

	if (len < 4 || t[0] != '*' || t[2] != '\r' || t[3] != '\n')
		return 0;
	argc = (uint32_t)t[1] - '0';
	if (argc < 2 || argc > 5)
		return 0;
	for (uint32_t i = 0; i < argc; i++)
		if (!fast_bulk(&p, end, &a[i], &n[i]))
			return 0;
	if (argc == 2 && resp_name_is(a[0], n[0], "del")) {
		*out = (struct resp_write){ .key = a[1], .klen = n[1], .cmd = RESP_W_DEL };
	} else if (argc == 4 &&
		   (resp_name_is(a[0], n[0], "setex") || resp_name_is(a[0], n[0], "psetex"))) {
		seconds = n[0] == 5;
		*out = (struct resp_write){ .key = a[1], .klen = n[1], .val = a[3], .vlen = n[3],
					    .cmd = seconds ? RESP_W_SETEX : RESP_W_PSETEX };
		num = a[2];
		nlen = n[2];
	} else if (argc == 5 && resp_name_is(a[0], n[0], "set") &&
		   (resp_name_is(a[3], n[3], "ex") || resp_name_is(a[3], n[3], "px"))) {
		seconds = (a[3][0] | 0x20) == 'e';
		*out = (struct resp_write){ .key = a[1], .klen = n[1], .val = a[2], .vlen = n[2],
					    .cmd = RESP_W_SET };
		num = a[4];
		nlen = n[4];
	} else if (!counter_write(argc, a, n, out)) {
		return 0;
	}
	if (out->klen == 0 || out->klen > 250 ||
	    (num && !ttl_ms(num, nlen, seconds, &out->ttl_ms)))
		return 0;
	return (uint32_t)(p - t);
}

uint32_t resp_mget_at(const uint8_t *t, uint32_t len, struct resp_mget *out)
{
	const uint8_t *p, *end = t + len;
	uint32_t n;

	/* "*2\r\n$4\r\nMGET\r\n$1\r\nk\r\n" is 21 bytes */
	if (len < 21 || t[0] != '*')
		return 0;
	p = t + 1;
	if (!fast_bulk_len(&p, end, &n) || n < 2 || n > RESP_MGET_FAST_MAX + 1 || end - p < 11 ||
	    memcmp(p, "$4\r\n", 4) != 0 || (p[4] | 0x20) != 'm' || (p[5] | 0x20) != 'g' ||
	    (p[6] | 0x20) != 'e' || (p[7] | 0x20) != 't' || p[8] != '\r' || p[9] != '\n')
		return 0;
	p += 10;
	out->nkeys = n - 1;
	for (uint32_t i = 0; i < out->nkeys; i++) {
		uint32_t klen;

		if (end - p < 1 || *p++ != '$' || !fast_bulk_len(&p, end, &klen) || klen == 0 ||
		    klen > 250 || end - p < (ptrdiff_t)klen + 2 || p[klen] != '\r' ||
		    p[klen + 1] != '\n')
			return 0;
		out->key[i] = p;
		out->klen[i] = klen;
		p += klen + 2;
	}
	return (uint32_t)(p - t);
}

void resp_parse_done(struct resp_parser *p, struct resp_cmd *c, struct mc_inq *in)
{
	if (p->pos)
		in->consume(in, p->pos);
	c->argc = 0;
	c->blocks = NULL;
	c->nblocks = 0;
	resp_parser_init(p);
}

void resp_arg_read(const struct resp_arg *a, const struct mc_inq *in, uint64_t off, void *dst,
		   uint64_t n)
{
	switch (a->kind) {
	case RESP_ARG_PTR:
		memcpy(dst, a->u.p + off, n);
		break;
	case RESP_ARG_RX:
		mc_inq_copy(in, a->u.off + off, dst, n);
		break;
	default:
		wc_stage_read(a->u.stage, off, dst, n);
		break;
	}
}

bool resp_arg_is(const struct resp_arg *a, const char *s)
{
	size_t n = strlen(s);

	return a->kind == RESP_ARG_PTR && a->len == n && strncasecmp((const char *)a->u.p, s, n) == 0;
}
