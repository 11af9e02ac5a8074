/*
 * fuzz_migreply.c - libFuzzer harness for MIGRATE's reply reader
 * (redis/migrate_conn.c, wc_mig_take_line): the target node's answers to a
 * round of RESTOREs, arriving in segments of any size.
 *
 * Input: byte 0 = replies awaited (1..64), byte 1 = segment size (1..256),
 * then the target's bytes. Each segment is queued and the reader runs until
 * it wants more, refuses a line, or has every reply.
 *
 * Checked against a plain reading of the same bytes (lines up to '\n'):
 * the reader takes exactly the whole lines there are, in order, each noted
 * OK or ERR by its first byte; it refuses the first line that is not
 * '+', '-' or ':' with at least one byte before its CRLF, or that comes
 * after the last reply awaited; it never takes more than awaited; the
 * first error's text is the line's, cut to the buffer, NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mc_session.h"
#include "redis/migrate_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct flat_inq {
	struct mc_inq q;
	const uint8_t *buf;	/* the whole stream; [start, start + q.len) is queued */
	uint64_t start;
};

static const uint8_t *peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct flat_inq *f = (const struct flat_inq *)q;

	if (off >= q->len)
		abort();	/* the reader looked past what is queued */
	*contig = q->len - off;
	return f->buf + f->start + off;
}

static void consume(struct mc_inq *q, uint64_t n)
{
	struct flat_inq *f = (struct flat_inq *)q;

	if (n > q->len)
		abort();
	f->start += n;
	q->len -= n;
}

/* The plain reading: is the line [p, p + n] (n = index of its '\n') a reply? */
static int line_ok(const uint8_t *p, size_t nl)
{
	return nl >= 2 && (p[0] == '+' || p[0] == '-' || p[0] == ':');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wc_mig_conn m;
	static uint8_t res[64];
	struct flat_inq f;
	uint32_t want;
	size_t seg, fed = 0, expect_at = 2;	/* where the next line the reader takes starts */
	int waiter;
	bool refused = false, first_err = true;

	if (size < 2)
		return 0;
	want = 1u + data[0] % 64u;
	seg = 1u + data[1];
	memset(&m, 0, sizeof(m));
	m.s = (struct rd_session *)&waiter;	/* (only its presence matters to the reader) */
	m.want = want;
	m.res = res;
	f = (struct flat_inq){ .q = { .peek = peek, .consume = consume }, .buf = data, .start = 2 };
	fed = 2;
	while (fed < size && !refused && m.got < want) {
		size_t n = size - fed < seg ? size - fed : seg;

		fed += n;
		f.q.len += n;
		for (;;) {
			uint32_t got = m.got;
			const uint8_t *p = data + expect_at;
			const uint8_t *q = memchr(p, '\n', fed - expect_at);
			enum wc_mig_line r = wc_mig_take_line(&m, &f.q);

			if (m.scanned > f.q.len)
				abort();
			if (!q) {
				/* no whole line queued: nothing may be taken */
				if (r != WC_MIG_LINE_MORE || m.got != got)
					abort();
				break;
			}
			if (got >= want || !line_ok(p, (size_t)(q - p))) {
				if (r != WC_MIG_LINE_BAD || m.got != got)
					abort();
				refused = true;
				break;
			}
			if (r != WC_MIG_LINE_TAKEN || m.got != got + 1 ||
			    res[got] != (p[0] == '-' ? WC_MIG_R_ERR : WC_MIG_R_OK))
				abort();
			if (p[0] == '-' && first_err) {
				size_t n_text = (size_t)(q - p) - 2;

				if (n_text > sizeof(m.err) - 1)
					n_text = sizeof(m.err) - 1;
				if (!m.have_err || strlen(m.err) > n_text ||
				    memcmp(m.err, p + 1, strlen(m.err)) != 0)
					abort();
				first_err = false;
			}
			expect_at = (size_t)(q - data) + 1;
			if (f.start != expect_at || m.scanned != 0)
				abort();
			if (m.got == want)
				break;
		}
	}
	if (m.got > want)
		abort();
	return 0;
}
