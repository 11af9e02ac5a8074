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
#include <string.h>

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
 * Returns the key (inside buf) or NULL. Inline: the lone GET's path calls
 * it once per request.
 */
static inline const uint8_t *resp_single_get(const uint8_t *t, uint32_t len, uint32_t *klen)
{
	uint64_t head, get;
	uint32_t n, digits;
	bool ok;
	const uint8_t *p;

	/*
	 * "*2\r\n$3\r\nGET\r\n$" is 14 bytes, then the key's length, "\r\n", key,
	 * "\r\n": 20 bytes for a 1-byte key, 271 for a 250-byte one
	 */
	if (len < 20 || len > 271)
		return NULL;
	memcpy(&head, t, 8);
	memcpy(&get, t + 6, 8);
	if (head != 0x0a0d33240a0d322aull ||	/* "*2\r\n$3\r\n" */
	    ((get >> 16) | 0x0000000000202020ull) != 0x0000240a0d746567ull)	/* "get\r\n$" */
		return NULL;
	/*
	 * The length the request has leaves one key length possible: its digits
	 * (1..9: one, 10..99: two, 100..250: three; no leading zero) must say it.
	 */
	if (len <= 28) {
		digits = 1;
		n = len - 19;
		ok = t[14] == '0' + n;
	} else if (len >= 30 && len <= 119) {
		digits = 2;
		n = len - 20;
		ok = t[14] == '0' + n / 10 && t[15] == '0' + n % 10;
	} else if (len >= 121) {
		digits = 3;
		n = len - 21;
		ok = t[14] == '0' + n / 100 && t[15] == '0' + n / 10 % 10 && t[16] == '0' + n % 10;
	} else {
		return NULL;	/* (29 and 120: no key length fits) */
	}
	p = t + 14 + digits;
	if (!ok || memcmp(p, "\r\n", 2) != 0 || memcmp(t + len - 2, "\r\n", 2) != 0)
		return NULL;
	*klen = n;
	return p + 2;
}

/*
 * The same for a pipeline: buf starts with one whole "GET <key>" that
 * resp_single_get takes (whatever follows it); its key, and in *used the
 * command's length. NULL otherwise. Never reads outside buf[0..len).
 */
const uint8_t *resp_get_at(const uint8_t *buf, uint32_t len, uint32_t *klen, uint32_t *used);

/* Bytes p[0..n) spell the lower-case letters name in any case (a command's name). */
static inline bool resp_name_is(const uint8_t *p, uint32_t n, const char *name)
{
	uint32_t i = 0;

	for (; i < n && name[i]; i++)
		if ((p[i] | 0x20) != (uint8_t)name[i])
			return false;
	return i == n && !name[i];
}

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

/*
 * The arguments of one whole multibulk command at buf (one a fast path
 * took): the first max of them in argv/lens (pointers into buf); returns
 * the command's argument count, 0 when buf[0..len) does not hold one.
 */
uint32_t resp_flat_argv(const uint8_t *buf, uint32_t len, const uint8_t **argv, uint32_t *lens,
			uint32_t max);

/* The cache-aside writes and counters resp_write_at takes. */
enum resp_write_cmd {
	RESP_W_SET, RESP_W_SETEX, RESP_W_PSETEX, RESP_W_DEL,
	RESP_W_INCR, RESP_W_DECR, RESP_W_INCRBY, RESP_W_DECRBY
};

/* A whole cache-aside write (resp_write_at): key and value inside the buffer. */
struct resp_write {
	const uint8_t *key, *val;	/* val: NULL for DEL and the counters */
	uint32_t klen, vlen;
	int64_t ttl_ms;			/* the time to live, > 0 (0 for DEL and the counters) */
	int64_t delta;			/* what a counter adds (DECR, DECRBY: negated); else 0 */
	uint8_t cmd;			/* enum resp_write_cmd */
};

/*
 * buf starts with one whole multibulk "SET <key> <value> EX|PX <n>",
 * "SETEX <key> <seconds> <value>", "PSETEX <key> <ms> <value>" or
 * "DEL <key>", or a counter "INCR <key>", "DECR <key>", "INCRBY <key> <d>",
 * "DECRBY <key> <d>" (names and options in any case; a key of 1..250
 * bytes, a value of up to 999999999, bulk lengths without leading zeros,
 * <n> of 1..18 digits without a leading zero and, in seconds, at most
 * INT64_MAX / 1000: a number the session's SET takes to the same
 * milliseconds; <d> "0" or an optional '-' and 1..18 digits without a
 * leading zero, a number the session's INCRBY reads alike): the command's
 * length, with *out filled; 0 otherwise (other options, more keys, any
 * other number: the session's to answer).
 * Never reads outside buf[0..len).
 */
uint32_t resp_write_at(const uint8_t *buf, uint32_t len, struct resp_write *out);

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
