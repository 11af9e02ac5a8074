/*
 * resp.h - Redis requests off the wire: RESP multibulk ("*N\r\n$len\r\n...")
 * and inline commands ("PING\r\n", quoted arguments as redis-cli and telnet
 * send them), parsed without copying out of the transport's receive queue
 * (struct mc_inq, as the memcached engine reads it).
 *
 * The parser is resumable: it keeps its place across calls, so a command may
 * arrive in any pieces, and a pipeline of any depth is taken one command at
 * a time. A parsed command is a list of arguments, each one of:
 *
 *   RESP_ARG_PTR    contiguous bytes: in a receive buffer, or copied into the
 *                   session's arena when the argument straddles two buffers
 *                   (arguments up to RESP_CONTIG_MAX are always contiguous);
 *   RESP_ARG_RX     a large argument left scattered over receive buffers,
 *                   read with resp_arg_read();
 *   RESP_ARG_STAGE  a large argument that had not all arrived: moved into a
 *                   stage (store/stage.h) as it came, so it holds no NIC
 *                   buffers (the command's earlier arguments are copied into
 *                   the arena first, since the queue is consumed up to it).
 *
 * Nothing is consumed from the queue while the command is in use (a write
 * running on another lcore may still read its arguments there); the caller
 * consumes it with resp_parse_done() once the command has finished.
 *
 * Errors are Redis 7's, word for word; every one of them ends the
 * connection after the reply, as Redis does.
 */
#ifndef WC_PROTO_RESP_H
#define WC_PROTO_RESP_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/mc_session.h"
#include "store/stage.h"

#define RESP_INLINE_MAX (64u << 10)	/* Redis PROTO_INLINE_MAX_SIZE */
#define RESP_CONTIG_MAX (16u << 10)	/* arguments up to this are always contiguous */
#define RESP_STAGE_MIN (16u << 10)	/* larger bulks still arriving go into a stage */
#define RESP_ARGC_MAX (1u << 20)	/* arguments in one command */
#define RESP_ARGV_EMBED 16
#define RESP_ARGV_BLOCK 2048		/* argument descriptors per arena block */
#define RESP_STAGES_MAX 8		/* staged arguments in one command */

enum resp_arg_kind { RESP_ARG_PTR = 0, RESP_ARG_RX, RESP_ARG_STAGE };

struct resp_arg {
	union {
		const uint8_t *p;	/* PTR */
		uint64_t off;		/* RX: offset in the receive queue */
		const struct wc_stage *stage;	/* STAGE */
	} u;
	uint32_t len;
	uint8_t kind;
	bool in_rx;			/* PTR into a receive buffer (not the arena) */
};

struct resp_cmd {
	uint32_t argc;
	struct resp_arg embed[RESP_ARGV_EMBED];
	struct resp_arg **blocks;	/* in the arena: argument i >= EMBED */
	uint32_t nblocks;
	uint64_t bytes;			/* wire size of the command */
	bool is_inline;
};

static inline struct resp_arg *resp_argv(const struct resp_cmd *c, uint32_t i)
{
	if (i < RESP_ARGV_EMBED)
		return (struct resp_arg *)&c->embed[i];
	i -= RESP_ARGV_EMBED;
	return &c->blocks[i / RESP_ARGV_BLOCK][i % RESP_ARGV_BLOCK];
}

/* Where the parser takes memory (the session's arena and stages). */
struct resp_mem {
	/* n contiguous bytes (n <= RESP_INLINE_MAX + 16), 16-byte aligned; NULL when none is left */
	void *(*alloc)(void *ctx, uint64_t n);
	/* a stage for want bytes; NULL when none is left (the parser waits) */
	struct wc_stage *(*stage)(void *ctx, uint64_t want);
	void *ctx;
};

struct resp_limits {
	uint64_t max_bulk;		/* proto-max-bulk-len */
	bool authenticated;		/* else Redis's "unauthenticated" limits apply */
};

struct resp_parser {
	uint8_t st;			/* internal state */
	uint32_t want;			/* multibulk: arguments announced */
	int64_t bulk;			/* length of the bulk being read, -1 before its header */
	uint64_t pos;			/* bytes of this command parsed, from the queue's head */
	uint64_t consumed;		/* bytes of this command already taken off the queue */
	struct wc_stage *staging;	/* the bulk moving into a stage */
	uint32_t nstages;
};

enum resp_parse {
	RESP_MORE,		/* an incomplete command: call again with more input */
	RESP_COMMAND,		/* a whole command is in cmd */
	RESP_EMPTY,		/* an empty command (blank line, "*0"): nothing to run */
	RESP_NOMEM,		/* the arena or the stage pool is exhausted: call again later */
	RESP_PROTO_ERROR,	/* *err holds Redis's reply text; close after replying */
};

void resp_parser_init(struct resp_parser *p);

enum resp_parse resp_parse(struct resp_parser *p, struct resp_cmd *c, struct mc_inq *in,
			   const struct resp_limits *lim, const struct resp_mem *mem,
			   const char **err);

/* The command is finished: take its bytes off the queue and start the next. */
void resp_parse_done(struct resp_parser *p, struct resp_cmd *c, struct mc_inq *in);

/*
 * The fast path's recognizer: buf holds exactly one "GET <key>" multibulk
 * command (GET in any case, a key of 1..250 bytes) and nothing else.
 * Returns the key (inside buf) or NULL.
 */
const uint8_t *resp_single_get(const uint8_t *buf, uint32_t len, uint32_t *klen);

/*
 * The same for a pipeline: buf starts with one whole "GET <key>" that
 * resp_single_get takes (whatever follows it); its key, and in *used the
 * command's length. NULL otherwise. Never reads outside buf[0..len).
 */
const uint8_t *resp_get_at(const uint8_t *buf, uint32_t len, uint32_t *klen, uint32_t *used);

/* A whole "SET <key> <value>" (resp_set_at): both inside the buffer. */
struct resp_set {
	const uint8_t *key, *val;
	uint32_t klen, vlen;
};

/*
 * buf starts with one whole "*3\r\n$3\r\nSET\r\n$<n>\r\n<key>\r\n$<m>\r\n<value>\r\n"
 * (SET in any case, no options; a key of 1..250 bytes, a value of up to
 * 999999999, lengths without leading zeros): the command's length, with
 * *out filled; 0 otherwise (whatever follows it). Never reads outside
 * buf[0..len).
 */
uint32_t resp_set_at(const uint8_t *buf, uint32_t len, struct resp_set *out);

/* A whole "MGET <key> ..." (resp_mget_at): its keys inside the buffer. */
#define RESP_MGET_FAST_MAX 64u	/* most keys the fast path takes in one MGET */
struct resp_mget {
	uint32_t nkeys;
	const uint8_t *key[RESP_MGET_FAST_MAX];
	uint32_t klen[RESP_MGET_FAST_MAX];
};

/*
 * buf starts with one whole "*<n>\r\n$4\r\nMGET\r\n" and n - 1 keys as
 * "$<len>\r\n<key>\r\n" (MGET in any case, 1 to RESP_MGET_FAST_MAX keys of
 * 1..250 bytes, lengths without leading zeros): the command's length,
 * with *out filled; 0 otherwise (whatever follows it). Never reads outside
 * buf[0..len).
 */
uint32_t resp_mget_at(const uint8_t *buf, uint32_t len, struct resp_mget *out);

/* Copy n bytes from offset off of an argument (any kind). */
void resp_arg_read(const struct resp_arg *a, const struct mc_inq *in, uint64_t off, void *dst,
		   uint64_t n);

/* Case-insensitive comparison with a C string (command names, options). */
bool resp_arg_is(const struct resp_arg *a, const char *s);

#endif
