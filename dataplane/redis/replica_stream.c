/*
 * replica_stream.c - the master's command stream on the replica
 * (redis/replica.h): a Redis session flagged RD_C_MASTER runs the commands
 * over the link's receive queue (through a view that counts the bytes
 * consumed: the offset), replies going to a sink that keeps nothing;
 * REPLCONF ACK <offset> after a GETACK and every second; owner calls'
 * completions, the connection kept (a zombie) until the last one.
 */
#include <stdio.h>
#include <string.h>

#include "core/app.h"
#include "net/tcp_impl.h"
#include "redis/acl.h"
#include "redis/replica_link.h"

/* ---- the session's queues ---- */

bool rd_rlink_sink_more(struct mc_out *o)
{
	struct rd_rlink *L = o->arg;

	o->p = L->sinkbuf;
	o->end = L->sinkbuf + sizeof(L->sinkbuf);
	return true;
}

static const uint8_t *in_peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct rd_rlink *L = q->arg;

	return L->sess_c->inq.peek(&L->sess_c->inq, off, contig);
}

static void in_consume(struct mc_inq *q, uint64_t n)
{
	struct rd_rlink *L = q->arg;

	L->sess_c->inq.consume(&L->sess_c->inq, n);
	L->consumed += n;
	q->len = L->sess_c->inq.len;
}

/* The session is over (no call in flight): its memory goes back. */
void rd_rlink_end_session(struct wc_lcore *lc, struct rd_rlink *L)
{
	if (!L->sess_live)
		return;
	L->sess->out = &L->sink;
	rd_session_release(L->sess, &lc->env);
	L->sess_live = false;
	L->sess_c = NULL;
}

/* ---- the stream ---- */

void rd_rlink_send_ack(struct wc_lcore *lc, struct rd_rlink *L)
{
	char off[24];

	snprintf(off, sizeof(off), "%llu", (unsigned long long)(L->base + L->applied));
	rd_rlink_send_cmd(lc, L, 3, (const char *[]){ "REPLCONF", "ACK", off });
	L->last_ack = rd_rlink_now(lc);
	rd_replica_state.ack_due = false;
}

void rd_rlink_start_stream(struct wc_lcore *lc, struct rd_rlink *L)
{
	struct rd_session *s = L->sess;
	struct wc_tcb *c = L->c;

	rd_session_init(s, rd_server_next_client_id(lc->app->rd),
			(uint64_t)wc_clock_unix_ms(&lc->ctx.clock));
	s->owner = c;
	s->owner_kind = MC_OWNER_REPL;
	s->flags |= RD_C_MASTER;
	s->authenticated = true;
	s->env = &lc->env;
	s->out = &L->sink;
	s->raddr = L->ip;
	s->rport = L->port;
	s->laddr = lc->app->ports[c->port].ip;
	s->laddr_port = c->lport;
	snprintf(s->name, sizeof(s->name), "master");
	rd_acl_session_start(s);	/* (the default user: its checks are skipped, never read) */
	L->sess_live = true;
	L->sess_c = c;
	L->in = (struct mc_inq){ .len = c->inq.len, .peek = in_peek, .consume = in_consume,
				 .arg = L };
	L->consumed = L->applied = 0;
	L->base = L->offset;
	rd_replica_state.db = 0;
	rd_replica_state.ack_due = false;
	L->st = L_STREAM;
	L->backoff = RD_REPLICA_BACKOFF_MIN_MS;
	L->deadline = rd_rlink_now(lc) + RD_REPLICA_TIMEOUT_MS;
	__atomic_store_n(&rd_replica_state.offset, L->base, __ATOMIC_RELAXED);
	__atomic_store_n(&rd_replica_state.read_offset, L->base, __ATOMIC_RELAXED);
	rd_rlink_set_link(RD_RL_CONNECTED);
	rd_rlink_send_ack(lc, L);	/* (a diskless master puts the replica online at its first ACK) */
}

/* Run the master's commands that came; false when the link was dropped. */
bool rd_rlink_stream_run(struct wc_lcore *lc, struct rd_rlink *L)
{
	struct rd_session *s = L->sess;
	struct wc_tcb *c = L->c;
	enum mc_run r;

	if (!L->sess_live || !c || L->sess_c != c || c->state == TCP_FREE || c->zombie)
		return true;
	L->in.len = c->inq.len;
	if (s->st == RD_S_RUN && s->pending)
		return true;
	r = rd_session_run(s, &L->in, &L->sink, &lc->env);
	if (s->st == RD_S_PARSE && s->parser.st == 0 && L->applied != L->consumed) {
		rd_replica_add(&rd_replica_state.ct.stream_bytes, L->consumed - L->applied);
		L->applied = L->consumed;
		L->offset = L->base + L->applied;
		__atomic_store_n(&rd_replica_state.offset, L->offset, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&rd_replica_state.read_offset, L->base + L->consumed + c->inq.len,
			 __ATOMIC_RELAXED);
	if (rd_replica_state.ack_due)
		rd_rlink_send_ack(lc, L);
	if (r == MC_RUN_CLOSE) {
		rd_rlink_drop(lc, L, "a broken command stream");
		return false;
	}
	if (r == MC_RUN_BUSY || (r == MC_RUN_MORE && s->stage_wait)) {
		s->stage_wait = false;
		L->retry = true;	/* (the poll runs it again) */
	}
	if (c->state == TCP_CLOSE_WAIT && !s->pending && c->inq.len == 0) {
		rd_rlink_drop(lc, L, "the master closed the link");
		return false;
	}
	return true;
}

void rd_replica_complete(struct wc_lcore *lc, struct wc_mbox_req *req)
{
	struct rd_rlink *L = lc->replica;
	struct rd_session *s = req->cookie;
	struct wc_tcb *c = L->sess_c;

	if (!L->sess_live) {
		rd_call_complete(s, req);	/* a partition's mode switch */
		return;
	}
	if (c && c->zombie) {
		/* the connection is gone; it waited only for this */
		s->out = &L->sink;
		rd_call_complete(s, req);
		if (!s->pending) {
			rd_rlink_end_session(lc, L);
			wc_tcb_free(lc, c);
		}
		return;
	}
	rd_session_complete(s, req, &L->in, &L->sink, &lc->env);
	(void)rd_rlink_stream_run(lc, L);
}

