/*
 * text.c - text replies built in blocks before they are sent (see text.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "redis/text.h"

struct rd_text_blk {
	struct rd_text_blk *next;
	uint32_t len, cap;
	char data[];
};

void rd_text_init(struct rd_text *t, void *(*alloc)(void *ctx, size_t n), void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->alloc = alloc;
	t->ctx = ctx;
}

static void *session_alloc(void *ctx, size_t n)
{
	return rd_scratch(ctx, n);
}

void rd_text_session(struct rd_text *t, struct rd_session *s)
{
	rd_text_init(t, session_alloc, s);
}

static struct rd_text_blk *new_block(struct rd_text *t)
{
	size_t cap = RD_TEXT_BLOCK - sizeof(struct rd_text_blk);
	struct rd_text_blk *b = t->alloc(t->ctx, RD_TEXT_BLOCK);

	if (!b) {
		t->failed = true;
		return NULL;
	}
	b->next = NULL;
	b->len = 0;
	b->cap = (uint32_t)cap;
	if (t->tail)
		t->tail->next = b;
	else
		t->head = b;
	t->tail = b;
	return b;
}

void rd_text_put(struct rd_text *t, const void *p, size_t n)
{
	const char *src = p;

	while (n && !t->failed) {
		struct rd_text_blk *b = t->tail;
		size_t room;

		if (!b || b->len == b->cap)
			b = new_block(t);
		if (!b)
			return;
		room = b->cap - b->len;
		if (room > n)
			room = n;
		memcpy(b->data + b->len, src, room);
		b->len += (uint32_t)room;
		t->len += room;
		src += room;
		n -= room;
	}
}

void rd_text_str(struct rd_text *t, const char *s)
{
	rd_text_put(t, s, strlen(s));
}

void rd_text_printf(struct rd_text *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	rd_text_put(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

size_t rd_text_copy(const struct rd_text *t, char *dst, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return t->len;
	for (const struct rd_text_blk *b = t->head; b && n + 1 < cap; b = b->next) {
		size_t k = b->len < cap - 1 - n ? b->len : cap - 1 - n;

		memcpy(dst + n, b->data, k);
		n += k;
	}
	dst[n] = 0;
	return t->len;
}

static void put_blocks(const struct rd_text *t, struct mc_out *o)
{
	for (const struct rd_text_blk *b = t->head; b; b = b->next)
		mc_out_put(o, b->data, b->len);
	mc_out_put(o, "\r\n", 2);
}

void rd_text_reply(const struct rd_text *t, struct mc_out *o, uint8_t proto)
{
	if (proto < 3) {
		rd_text_reply_bulk(t, o);
		return;
	}
	resp_header(o, '=', (int64_t)t->len + 4);
	mc_out_put(o, "txt:", 4);
	put_blocks(t, o);
}

void rd_text_reply_bulk(const struct rd_text *t, struct mc_out *o)
{
	resp_header(o, '$', (int64_t)t->len);
	put_blocks(t, o);
}

void rd_reply_help(struct rd_session *s, const char *const *lines)
{
	const struct resp_arg *a = rd_arg(s, 0);
	char head[160], name[64];
	unsigned n = 0, k;

	while (lines[n])
		n++;
	for (k = 0; k < a->len && k < sizeof(name) - 1 && a->kind == RESP_ARG_PTR; k++) {
		char c = (char)a->u.p[k];

		name[k] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	name[k] = 0;
	snprintf(head, sizeof(head), "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		 name);
	resp_array(rd_out(s), n + 3);
	resp_simple(rd_out(s), head);
	for (unsigned i = 0; i < n; i++)
		resp_simple(rd_out(s), lines[i]);
	resp_simple(rd_out(s), "HELP");
	resp_simple(rd_out(s), "    Prints this help.");
}

void rd_err_subcommand(struct rd_session *s)
{
	const struct resp_arg *a0 = rd_arg(s, 0), *a1 = rd_arg(s, 1);
	char name[64], sub[132];
	unsigned k, j = 0;

	for (k = 0; a0->kind == RESP_ARG_PTR && k < a0->len && k < sizeof(name) - 1; k++) {
		char c = (char)a0->u.p[k];

		name[k] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
	}
	name[k] = 0;
	for (k = 0; a1->kind == RESP_ARG_PTR && k < a1->len && k < 128; k++)
		sub[j++] = (char)a1->u.p[k];
	sub[j] = 0;
	rd_err_fmt(s, "ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP.",
		   sub, name);
}

void rd_bytes_human(char *buf, size_t cap, uint64_t n)
{
	static const char units[] = "KMGTP";
	double d = (double)n;
	unsigned u = 0;

	if (n < 1024) {
		snprintf(buf, cap, "%luB", (unsigned long)n);
		return;
	}
	d /= 1024;
	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 4 && d >= 1024) {
		snprintf(buf, cap, "%luB", (unsigned long)n);
		return;
	}
	snprintf(buf, cap, "%.2f%c", d, units[u]);
}
