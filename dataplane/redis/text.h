/*
 * text.h - long text replies (INFO, CLIENT LIST, MEMORY DOCTOR) built
 * before they are sent: a RESP bulk or verbatim string needs its length
 * first, and the text is a snapshot (counters and connections change while
 * it is written). The text grows in blocks from an allocator (the command's
 * scratch memory in a session, malloc in tests), never in the reply stream.
 *
 * Also the HELP reply every container command shares.
 */
#ifndef WC_REDIS_TEXT_H
#define WC_REDIS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis/rd.h"

#define RD_TEXT_BLOCK (16u << 10)

struct rd_text_blk;

struct rd_text {
	void *(*alloc)(void *ctx, size_t n);	/* n bytes or NULL; freed by the owner */
	void *ctx;
	struct rd_text_blk *head, *tail;
	size_t len;
	bool failed;				/* an allocation failed: the text is cut */
};

void rd_text_init(struct rd_text *t, void *(*alloc)(void *ctx, size_t n), void *ctx);
/* A text in the session's scratch memory (given back when the command finishes). */
void rd_text_session(struct rd_text *t, struct rd_session *s);

void rd_text_put(struct rd_text *t, const void *p, size_t n);
void rd_text_str(struct rd_text *t, const char *s);
void rd_text_printf(struct rd_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy the text out (tests); returns its length (the copy is cut at cap - 1 and NUL-ended). */
size_t rd_text_copy(const struct rd_text *t, char *dst, size_t cap);

/* The text as a verbatim "txt" string (RESP3) or a bulk string (RESP2). */
void rd_text_reply(const struct rd_text *t, struct mc_out *o, uint8_t proto);
/* The text as a bulk string whatever the protocol. */
void rd_text_reply_bulk(const struct rd_text *t, struct mc_out *o);

/*
 * A container's HELP: the header line naming the command (argument 0 in
 * upper case), lines (NULL-terminated), then the HELP entry itself; each
 * line a status reply, as Redis sends them.
 */
void rd_reply_help(struct rd_session *s, const char *const *lines);

/* Redis's reply to a subcommand it does not know or with the wrong arguments. */
void rd_err_subcommand(struct rd_session *s);

/* Redis's "human" byte counts: 1023B, 1.50K, 2.00M ... */
void rd_bytes_human(char *buf, size_t cap, uint64_t n);

#endif
