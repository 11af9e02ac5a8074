/*
 * mc_session.c - the memcached stream state machine (see mc_session.h):
 * framing of lines and data blocks over the receive queue, error handling
 * that keeps the stream in sync, and the asynchronous hand-off of writes to
 * the owning lcore. Command semantics live in mc_exec.c.
 */
#include <string.h>

#include "proto/mc_exec.h"
#include "proto/mc_session.h"
#include "proto/xproto.h"

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

void mc_session_get_paused(struct mc_session *s, bool cas)
{
	s->req.cmd = cas ? MC_GETS : MC_GET;	/* (its keys are routed as a read's) */
	s->line_bytes = 0;
	s->getkeys_cas = cas;
	s->getkeys_skip = false;
	s->st = MC_S_GETKEYS;
}

void mc_session_release(struct mc_session *s, struct mc_env *env)
{
	if (s->staged) {
		wc_stage_release(env->stage, &s->stage);
		s->staged = false;
	}
}

/* Finish the current command: consume its bytes and go back to reading lines. */
static void finish(struct mc_session *s, struct mc_inq *in, struct mc_env *env)
{
	bool block = s->req.has_data && !s->too_large && !s->staged;

	mc_session_release(s, env);
	in->consume(in, s->line_bytes + (block ? s->req.vlen + 2 : 0));
	s->line_bytes = 0;
	if (s->st == MC_S_CLOSE)
		return;
	s->st = MC_S_LINE;
	if (s->too_large) {
		/* the refused block was never waited for: discard it as it comes */
		s->too_large = false;
		s->swallow = s->req.vlen + 2;
		s->st = MC_S_SWALLOW;
	}
}

/*
 * A line that cannot be served: reply with its error and keep the stream in
 * sync. A classic command whose "noreply" was understood gets no error
 * either, as memcached does (its client reads no reply); meta commands never
 * set noreply, so their errors always go out (memcached's out_errstring).
 */
static void refuse(struct mc_session *s, struct mc_inq *in, struct mc_out *out, const char *err)
{
	if (!s->req.noreply) {
		mc_out_str(out, err);
		mc_out_str(out, "\r\n");
	}
	in->consume(in, s->line_bytes);
	s->line_bytes = 0;
	if (s->req.has_data) {
		s->swallow = s->req.vlen + 2;
		s->st = MC_S_SWALLOW;
	} else {
		s->st = MC_S_LINE;
	}
}

/* A data block that does not end in CRLF: nothing stored (silently for noreply). */
static void bad_chunk(const struct mc_session *s, struct mc_out *out)
{
	if (!s->req.noreply)
		mc_out_str(out, "CLIENT_ERROR bad data chunk\r\n");
}

/* What one step of the loop achieved. */
enum progress { P_AGAIN, P_INPUT, P_BLOCKED, P_CLOSE, P_FULL };

static enum progress after_exec(struct mc_session *s, struct mc_inq *in, struct mc_env *env,
				 enum mc_exec_result r)
{
	switch (r) {
	case MC_EXEC_PENDING:
	case MC_EXEC_BUSY:
		s->busy = r == MC_EXEC_BUSY;
		s->st = MC_S_PENDING;
		return P_BLOCKED;
	case MC_EXEC_CLOSE:
		s->st = MC_S_CLOSE;
		s->close_reason = MC_CLOSE_QUIT;
		finish(s, in, env);
		return P_CLOSE;
	case MC_EXEC_PAUSED:
		return P_FULL;	/* the command went on as MC_S_GETKEYS; nothing to finish */
	case MC_EXEC_DONE:
		break;
	}
	finish(s, in, env);
	return P_AGAIN;
}

/*
 * A large block that has not all arrived: reserve its stage and take the
 * command line out of the receive buffers (into line[], re-parsed there) so
 * that every byte of the block can leave them as it arrives. Without room in
 * the pool the block waits in the receive buffers, and the transport runs
 * the session again when room comes back (stage_wait).
 */
static enum progress start_stage(struct mc_session *s, struct mc_inq *in, const uint8_t *line,
				 uint32_t len, struct mc_env *env)
{
	if (!wc_stage_admit(env->stage, &s->stage, s->req.vlen + 2)) {
		s->stage_wait = true;
		return P_INPUT;
	}
	s->stage_wait = false;
	if (line != s->line) {
		memcpy(s->line, line, len);
		(void)mc_parse_line(s->line, len, &s->req);	/* the same request, now in line[] */
	}
	s->cur_line = s->line;
	in->consume(in, s->line_bytes);
	s->line_bytes = 0;
	s->staged = true;
	s->st = MC_S_DATA;
	return P_AGAIN;
}

/* Move what has arrived of a staged block into its stage; run the command once whole. */
static enum progress step_data(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
			       struct mc_env *env)
{
	struct wc_stage *st = &s->stage;
	uint8_t end[2];

	while (in->len && st->len < st->want) {
		uint64_t contig, n = st->want - st->len;
		const uint8_t *p = in->peek(in, 0, &contig);

		if (n > contig)
			n = contig;
		wc_stage_put(st, p, n);
		in->consume(in, n);
	}
	if (st->len < st->want)
		return P_INPUT;
	s->st = MC_S_LINE;
	wc_stage_read(st, s->req.vlen, end, 2);
	if (end[0] != '\r' || end[1] != '\n') {
		bad_chunk(s, out);
		finish(s, in, env);
		return P_AGAIN;
	}
	return after_exec(s, in, env, mc_exec_start(s, in, out, env));
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
			s->getkeys_skip = false;
			in->consume(in, s->getkeys_cas ? 5 : 4);
			s->st = MC_S_GETKEYS;
			return P_AGAIN;
		}
		s->st = MC_S_CLOSE;
		s->close_reason = MC_CLOSE_LINE_TOO_LONG;
		return P_CLOSE;
	}
	s->cur_line = line;
	if (!mc_parse_line(line, len, &s->req)) {
		if (s->req.cmd == MC_UNKNOWN && !s->datagram && wc_http_line(line, len)) {
			/* cross-protocol: hang up without a word, as memcached does */
			env->st.http_closed++;
			s->st = MC_S_CLOSE;
			s->close_reason = MC_CLOSE_HTTP;
			return P_CLOSE;
		}
		refuse(s, in, out, s->req.error);
		return P_AGAIN;
	}
	if (s->req.has_data) {
		uint64_t contig, at = s->line_bytes + s->req.vlen;

		if (s->req.vlen > env->set->max_value) {
			/* refused unread; like any refused store it drops the old value */
			s->too_large = true;
			return after_exec(s, in, env, mc_exec_start(s, in, out, env));
		}
		if (in->len < at + 2) {
			if (env->stage && !s->datagram && s->req.vlen + 2 > MC_STAGE_MIN)
				return start_stage(s, in, line, len, env);
			return P_INPUT;	/* a small block: wait for all of it */
		}
		if (*in->peek(in, at, &contig) != '\r' || *in->peek(in, at + 1, &contig) != '\n') {
			/* memcached: the block was read, its end is wrong, nothing stored */
			bad_chunk(s, out);
			finish(s, in, env);
			return P_AGAIN;
		}
	}
	return after_exec(s, in, env, mc_exec_start(s, in, out, env));
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
			p = after_exec(s, in, env, mc_exec_resume(s, in, out, env));
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
		case MC_S_DATA:
			p = step_data(s, in, out, env);
			break;
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

void mc_session_forwarded(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
			  struct mc_env *env)
{
	s->forwarded = true;
	if (s->pending)
		s->pending--;
	if (s->pending || s->st != MC_S_PENDING || s->busy)
		return;
	(void)after_exec(s, in, env, mc_exec_resume(s, in, out, env));
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
	(void)after_exec(s, in, env, mc_exec_resume(s, in, out, env));
}
