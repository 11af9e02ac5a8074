/*
 * mc_session.c - the memcached stream state machine (see mc_session.h):
 * framing of lines and data blocks over the receive queue, error handling
 * that keeps the stream in sync, and the asynchronous hand-off of writes to
 * the owning lcore. Command semantics live in mc_exec.c.
 */
#include <string.h>

#include "proto/mc_exec.h"
#include "proto/mc_session.h"

void mc_session_init(struct mc_session *s)
{
	void *owner = s->owner;
	uint8_t kind = s->owner_kind;
	bool datagram = s->datagram;

	memset(s, 0, offsetof(struct mc_session, line));
	s->owner = owner;
	s->owner_kind = kind;
	s->datagram = datagram;
	s->st = MC_S_LINE;
}

/*
 * Find the next line. In place when it is contiguous in one receive buffer,
 * else assembled into s->line. Returns 1 with the line and its length (no
 * newline) and s->line_bytes set, 0 when more input is needed, -1 when the
 * line is longer than any command may be.
 */
static int next_line(struct mc_session *s, const struct mc_inq *in, const uint8_t **line,
		     uint32_t *len)
{
	uint64_t contig, off = 0, copied = 0;
	const uint8_t *p = in->peek(in, 0, &contig);
	const uint8_t *nl = memchr(p, '\n', contig);

	if (nl) {
		*line = p;
		*len = (uint32_t)(nl - p);
		s->line_bytes = *len + 1u;
		return 1;
	}
	if (contig >= MC_LINE_MAX)
		return -1;
	/* straddles buffers: gather up to the limit */
	while (off < in->len && copied < MC_LINE_MAX) {
		uint64_t n;

		p = in->peek(in, off, &contig);
		n = contig;
		if (n > MC_LINE_MAX - copied)
			n = MC_LINE_MAX - copied;
		nl = memchr(p, '\n', n);
		if (nl)
			n = (uint64_t)(nl - p);
		memcpy(s->line + copied, p, n);
		copied += n;
		off += n;
		if (nl) {
			*line = s->line;
			*len = (uint32_t)copied;
			s->line_bytes = copied + 1;
			return 1;
		}
	}
	return copied >= MC_LINE_MAX ? -1 : 0;
}

static bool is_get_line(const uint8_t *p, uint64_t n)
{
	return (n >= 4 && memcmp(p, "get ", 4) == 0) || (n >= 5 && memcmp(p, "gets ", 5) == 0);
}

/* Finish the current command: consume its bytes and go back to reading lines. */
static void finish(struct mc_session *s, struct mc_inq *in)
{
	uint64_t n = s->line_bytes + (s->req.has_data ? s->req.vlen + 2 : 0);

	in->consume(in, n);
	s->line_bytes = 0;
	if (s->st != MC_S_CLOSE)
		s->st = MC_S_LINE;
}

/* A line that cannot be served: reply with its error and keep the stream in sync. */
static void refuse(struct mc_session *s, struct mc_inq *in, struct mc_out *out, const char *err)
{
	mc_out_str(out, err);
	mc_out_str(out, "\r\n");
	in->consume(in, s->line_bytes);
	s->line_bytes = 0;
	if (s->req.has_data) {
		s->swallow = s->req.vlen + 2;
		s->st = MC_S_SWALLOW;
	} else {
		s->st = MC_S_LINE;
	}
}

/* What one step of the loop achieved. */
enum progress { P_AGAIN, P_INPUT, P_BLOCKED, P_CLOSE, P_FULL };

static enum progress after_exec(struct mc_session *s, struct mc_inq *in, enum mc_exec_result r)
{
	switch (r) {
	case MC_EXEC_PENDING:
	case MC_EXEC_BUSY:
		s->busy = r == MC_EXEC_BUSY;
		s->st = MC_S_PENDING;
		return P_BLOCKED;
	case MC_EXEC_CLOSE:
		s->st = MC_S_CLOSE;
		finish(s, in);
		return P_CLOSE;
	case MC_EXEC_PAUSED:
		return P_FULL;	/* the command went on as MC_S_GETKEYS; nothing to finish */
	case MC_EXEC_DONE:
		break;
	}
	finish(s, in);
	return P_AGAIN;
}

static enum progress step_line(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
			       struct mc_env *env)
{
	const uint8_t *line;
	uint32_t len;
	int got = next_line(s, in, &line, &len);

	if (got == 0)
		return P_INPUT;
	if (got < 0) {
		uint64_t contig;
		const uint8_t *p = in->peek(in, 0, &contig);

		/* memcached: a long get line is fine, anything else closes */
		if (is_get_line(p, contig)) {
			s->getkeys_cas = p[3] == 's';
			in->consume(in, s->getkeys_cas ? 5 : 4);
			s->st = MC_S_GETKEYS;
			return P_AGAIN;
		}
		s->st = MC_S_CLOSE;
		return P_CLOSE;
	}
	s->cur_line = line;
	if (!mc_parse_line(line, len, &s->req)) {
		refuse(s, in, out, s->req.error);
		return P_AGAIN;
	}
	if (s->req.has_data) {
		uint64_t contig, at = s->line_bytes + s->req.vlen;

		if (s->req.vlen > env->set->max_value) {
			refuse(s, in, out, "SERVER_ERROR object too large for cache");
			return P_AGAIN;
		}
		if (in->len < at + 2)
			return P_INPUT;	/* wait for the whole data block */
		if (*in->peek(in, at, &contig) != '\r' || *in->peek(in, at + 1, &contig) != '\n') {
			/* memcached: the block was read, its end is wrong, nothing stored */
			mc_out_str(out, "CLIENT_ERROR bad data chunk\r\n");
			finish(s, in);
			return P_AGAIN;
		}
	}
	return after_exec(s, in, mc_exec_start(s, in, out, env));
}

enum mc_run mc_session_run(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
			   struct mc_env *env)
{
	for (;;) {
		enum progress p = P_AGAIN;

		switch (s->st) {
		case MC_S_PENDING:
			if (!s->busy || s->pending)
				return MC_RUN_PENDING;
			s->busy = false;	/* mailbox room may be back: try the step again */
			p = after_exec(s, in, mc_exec_resume(s, in, out, env));
			break;
		case MC_S_CLOSE:
			return MC_RUN_CLOSE;
		case MC_S_SWALLOW: {
			uint64_t n = in->len < s->swallow ? in->len : s->swallow;

			in->consume(in, n);
			s->swallow -= n;
			if (s->swallow)
				return MC_RUN_MORE;
			s->st = MC_S_LINE;
			break;
		}
		case MC_S_GETKEYS:
			if (in->len == 0)
				return MC_RUN_MORE;
			if (mc_out_full(out))
				return MC_RUN_FULL;
			p = mc_exec_getkeys(s, in, out, env) ? P_AGAIN : P_INPUT;
			break;
		case MC_S_LINE:
			if (in->len == 0)
				return MC_RUN_MORE;
			if (mc_out_full(out))
				return MC_RUN_FULL;	/* the next command waits for the peer to read */
			p = step_line(s, in, out, env);
			break;
		}
		if (p == P_FULL)
			return MC_RUN_FULL;
		if (p == P_INPUT)
			return MC_RUN_MORE;
		if (p == P_BLOCKED)
			return s->busy && !s->pending ? MC_RUN_BUSY : MC_RUN_PENDING;
		if (p == P_CLOSE)
			return MC_RUN_CLOSE;
	}
}

void mc_session_complete(struct mc_session *s, struct wc_mbox_req *req, struct mc_inq *in,
			 struct mc_out *out, struct mc_env *env)
{
	s->result = req->status;
	s->res = req->res;
	env->req_put(env, req);
	if (s->pending)
		s->pending--;
	if (s->pending || s->st != MC_S_PENDING || s->busy)
		return;
	(void)after_exec(s, in, mc_exec_resume(s, in, out, env));
}
