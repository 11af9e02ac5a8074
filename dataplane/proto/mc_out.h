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
};

static inline void mc_out_put(struct mc_out *o, const void *data, size_t n)
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
	int i = 20;

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mc_out_put(o, buf + i, (size_t)(20 - i));
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
