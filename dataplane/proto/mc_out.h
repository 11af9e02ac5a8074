/*
 * mc_out.h - where protocol replies are written.
 *
 * A reply is written through a window of writable bytes; when the window is
 * full the transport's more() hands out the next one (for UDP the next
 * datagram's payload, for TCP the next send segment), so replies of any size
 * are built without an intermediate copy or allocation. A reply that would
 * pass limit (UDP amplification bound) or that finds no more buffers marks
 * the sink failed and writes nothing further.
 */
#ifndef WC_PROTO_MC_OUT_H
#define WC_PROTO_MC_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct mc_out {
	uint8_t *p, *end;		/* the current window */
	bool (*more)(struct mc_out *o);	/* refill p/end; false when out of buffers */
	void *arg;			/* the transport's */
	uint64_t written;		/* bytes accepted so far */
	uint64_t limit;			/* most bytes the reply may take, 0 = unbounded */
	bool failed;
	bool over_limit;		/* failed because of limit */
	/*
	 * Backpressure (optional): true when the transport holds enough unsent
	 * reply for now. The session then stops at the next command, or
	 * before the next value of a multi-key get, and carries on when run
	 * again; a reply is never cut inside a value.
	 */
	bool (*full)(struct mc_out *o);
};

static inline bool mc_out_full(struct mc_out *o)
{
	return o->full && o->full(o);
}

static inline void mc_out_put_slow(struct mc_out *o, const void *data, size_t n)
{
	const uint8_t *d = data;

	if (o->failed)
		return;
	if (o->limit && o->written + n > o->limit) {
		o->failed = true;
		o->over_limit = true;
		return;
	}
	o->written += n;
	while (n) {
		size_t room = (size_t)(o->end - o->p);

		if (room == 0) {
			if (!o->more || !o->more(o)) {
				o->failed = true;
				return;
			}
			continue;
		}
		if (room > n)
			room = n;
		memcpy(o->p, d, room);
		o->p += room;
		d += room;
		n -= room;
	}
}

/* Common case inline: it fits the window and the limit. */
static inline void mc_out_put(struct mc_out *o, const void *data, size_t n)
{
	uint64_t limit = o->limit ? o->limit : UINT64_MAX;

	if (__builtin_expect(n <= (size_t)(o->end - o->p) && o->written + n <= limit && !o->failed,
			     1)) {
		memcpy(o->p, data, n);
		o->p += n;
		o->written += n;
		return;
	}
	mc_out_put_slow(o, data, n);
}

/* Decimal digits of v, right-aligned ending at end; returns the first digit. */
static inline char *mc_fmt_u64(char *end, uint64_t v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";

	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;

		v /= 100;
		end -= 2;
		end[0] = pairs[i];
		end[1] = pairs[i + 1];
	}
	if (v >= 10) {
		end -= 2;
		end[0] = pairs[v * 2];
		end[1] = pairs[v * 2 + 1];
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

static inline void mc_out_str(struct mc_out *o, const char *s)
{
	mc_out_put(o, s, strlen(s));
}

static inline void mc_out_char(struct mc_out *o, char c)
{
	mc_out_put(o, &c, 1);
}

/* decimal, no padding */
static inline void mc_out_u64(struct mc_out *o, uint64_t v)
{
	char buf[20];
	char *p = mc_fmt_u64(buf + 20, v);

	mc_out_put(o, p, (size_t)(buf + 20 - p));
}

static inline void mc_out_i64(struct mc_out *o, int64_t v)
{
	if (v < 0) {
		mc_out_char(o, '-');
		mc_out_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		mc_out_u64(o, (uint64_t)v);
	}
}

/* A sink over one fixed buffer (unit tests, error replies). */
static inline void mc_out_init_buf(struct mc_out *o, void *buf, size_t cap)
{
	memset(o, 0, sizeof(*o));
	o->p = buf;
	o->end = (uint8_t *)buf + cap;
}

#endif
