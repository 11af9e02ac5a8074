/*
 * resp_out.h - Redis replies in RESP2 or RESP3, written to the same sinks as
 * memcached's (struct mc_out, so replies stream under backpressure alike).
 *
 * Where RESP3 has a type of its own (null, map, set, double, boolean,
 * verbatim string, push) the writer takes the connection's protocol version
 * and falls back to what Redis 7 sends a RESP2 client.
 */
#ifndef WC_PROTO_RESP_OUT_H
#define WC_PROTO_RESP_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "proto/mc_out.h"

static inline void resp_line(struct mc_out *o, char type, const char *s, size_t n)
{
	mc_out_char(o, type);
	mc_out_put(o, s, n);
	mc_out_put(o, "\r\n", 2);
}

static inline void resp_simple(struct mc_out *o, const char *s)
{
	resp_line(o, '+', s, strlen(s));
}

static inline void resp_ok(struct mc_out *o)
{
	mc_out_put(o, "+OK\r\n", 5);
}

/*
 * The first word of the newest error this thread wrote ("WRONGTYPE"), and
 * whether one was written since the reader cleared resp_error_seen:
 * redis/call.c reads back what an owner answered in place (an error of
 * the command, counted as Redis counts one).
 */
extern __thread bool resp_error_seen;
extern __thread char resp_error_word[16];

/* Note msg as the newest error (out of line: errors only). */
void resp_error_note(const char *msg);

/* An error: msg is the whole text after '-' ("ERR ...", "WRONGTYPE ..."). */
static inline void resp_error(struct mc_out *o, const char *msg)
{
	resp_error_note(msg);
	resp_line(o, '-', msg, strlen(msg));
}

static inline void resp_header(struct mc_out *o, char type, int64_t n)
{
	char buf[24];
	char *p = mc_fmt_u64(buf + 22, n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n);

	if (n < 0)
		*--p = '-';
	*--p = type;
	buf[22] = '\r';
	buf[23] = '\n';
	mc_out_put(o, p, (size_t)(buf + 24 - p));
}

static inline void resp_int(struct mc_out *o, int64_t v)
{
	resp_header(o, ':', v);
}

static inline void resp_bulk(struct mc_out *o, const void *p, size_t n)
{
	/* "$<n>\r\n" value "\r\n" written at once when it all fits the window and the limit */
	if (__builtin_expect(n < 100000 && (size_t)(o->end - o->p) >= n + 10 && !o->failed &&
			     (!o->limit || o->written + n + 10 <= o->limit), 1)) {
		char *d = (char *)o->p, *end;

		*d = '$';
		end = d + 1 + (n >= 10000 ? 5 : n >= 1000 ? 4 : n >= 100 ? 3 : n >= 10 ? 2 : 1);
		mc_fmt_u64(end, n);
		end[0] = '\r';
		end[1] = '\n';
		if (n >= 16 && n <= 64) {
			/* a short value: overlapping 16-byte moves, nothing outside it touched */
			memcpy(end + 2, p, 16);
			if (n > 32) {
				memcpy(end + 18, (const char *)p + 16, 16);
				memcpy(end + 2 + n - 32, (const char *)p + n - 32, 16);
			}
			memcpy(end + 2 + n - 16, (const char *)p + n - 16, 16);
		} else {
			memcpy(end + 2, p, n);
		}
		end[n + 2] = '\r';
		end[n + 3] = '\n';
		o->written += (uint64_t)(end + n + 4 - d);
		o->p = (uint8_t *)end + n + 4;
		return;
	}
	resp_header(o, '$', (int64_t)n);
	mc_out_put(o, p, n);
	mc_out_put(o, "\r\n", 2);
}

static inline void resp_bulk_str(struct mc_out *o, const char *s)
{
	resp_bulk(o, s, strlen(s));
}

static inline void resp_bulk_i64(struct mc_out *o, int64_t v)
{
	char buf[24];
	char *p = mc_fmt_u64(buf + 24, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);

	if (v < 0)
		*--p = '-';
	resp_bulk(o, p, (size_t)(buf + 24 - p));
}

/* The null of a missing value: "_" in RESP3, a null bulk in RESP2. */
static inline void resp_null(struct mc_out *o, uint8_t proto)
{
	if (proto >= 3)
		mc_out_put(o, "_\r\n", 3);
	else
		mc_out_put(o, "$-1\r\n", 5);
}

/* The null of a missing aggregate: "_" in RESP3, a null array in RESP2. */
static inline void resp_null_array(struct mc_out *o, uint8_t proto)
{
	if (proto >= 3)
		mc_out_put(o, "_\r\n", 3);
	else
		mc_out_put(o, "*-1\r\n", 5);
}

static inline void resp_array(struct mc_out *o, int64_t n)
{
	resp_header(o, '*', n);
}

/* n key/value pairs: a map in RESP3, a flat array of 2n in RESP2. */
static inline void resp_map(struct mc_out *o, uint8_t proto, int64_t n)
{
	if (proto >= 3)
		resp_header(o, '%', n);
	else
		resp_header(o, '*', 2 * n);
}

static inline void resp_set(struct mc_out *o, uint8_t proto, int64_t n)
{
	resp_header(o, proto >= 3 ? '~' : '*', n);
}

static inline void resp_push(struct mc_out *o, uint8_t proto, int64_t n)
{
	resp_header(o, proto >= 3 ? '>' : '*', n);
}

static inline void resp_bool(struct mc_out *o, uint8_t proto, bool b)
{
	if (proto >= 3)
		mc_out_put(o, b ? "#t\r\n" : "#f\r\n", 4);
	else
		mc_out_put(o, b ? ":1\r\n" : ":0\r\n", 4);
}

/* A text blob (INFO, CLIENT LIST): verbatim "txt" in RESP3, a bulk in RESP2. */
static inline void resp_verbatim(struct mc_out *o, uint8_t proto, const void *p, size_t n)
{
	if (proto < 3) {
		resp_bulk(o, p, n);
		return;
	}
	resp_header(o, '=', (int64_t)n + 4);
	mc_out_put(o, "txt:", 4);
	mc_out_put(o, p, n);
	mc_out_put(o, "\r\n", 2);
}

/*
 * A double as Redis writes it with "%.17g" (human readable shortest form for
 * INCRBYFLOAT-style replies uses resp_fmt_long_double instead). RESP3 sends
 * the "," type, RESP2 a bulk string.
 */
void resp_double(struct mc_out *o, uint8_t proto, double d);

/*
 * A long double in Redis's ld2string(LD_STR_HUMAN) form: no exponent, no
 * trailing zeros ("3.5", "10", "-0.1"). Returns the length written into buf
 * (at least 5200 bytes), or 0 for NaN/infinite values.
 */
size_t resp_fmt_long_double(char *buf, size_t cap, long double v);

#endif
