/*
 * tcp_app.c - what every protocol engine on TCP (memcached in mc_tcp.c,
 * Redis in rd_tcp.c) does the same way after its session ran over a
 * connection: send or reset, retry when the mailbox or the peer's reading
 * holds it up, wait for stage room, keep the request timer, close after
 * quit or a fatal error (logging cross-protocol hang-ups at a rate limit),
 * and give back the buffer of a request a fast path answered whole.
 */
#include <stdio.h>
#include <string.h>

#include "net/tcp_impl.h"

void __attribute__((cold)) wc_tcp_request_done(struct wc_lcore *lc, struct wc_tcb *c)
{
	c->mid_request = false;
	wc_tcp_touch_idle(lc, c);
	wc_tcb_schedule(lc->tcp, c);
}

/* memcached and Redis hang up on HTTP in silence; the log says so, at most every 10 s */
static void log_http(struct wc_lcore *lc, const struct wc_tcb *c)
{
	static __thread uint64_t last_ms, since;

	since++;
	if (last_ms && lc->tcp->now_ms - last_ms < 10000)
		return;
	printf("wirecache-dp: lcore %u: hung up on %lu connection(s) that sent HTTP to port %u "
	       "(cross-protocol; the last from %u.%u.%u.%u)\n", lc->id, (unsigned long)since,
	       c->lport, c->rip >> 24, (c->rip >> 16) & 255, (c->rip >> 8) & 255, c->rip & 255);
	last_ms = lc->tcp->now_ms;
	since = 0;
}

bool wc_tcp_session_ran(struct wc_lcore *lc, struct wc_tcb *c, const struct wc_tcp_ran *ran)
{
	struct wc_tcp_lc *t = lc->tcp;

	wc_tcp_out_commit(c);
	if (c->out.failed) {
		/* no buffers left for a reply: this connection cannot go on */
		wc_tcp_reset_conn(lc, c);
		return false;
	}
	if (ran->stage_wait)
		wc_tcp_stage_wait_add(t, c);	/* run again once an upload gives room back */
	if (ran->mid_request || c->mid_request) {
		/* the request timeout runs from the last data that came (tcp.h) */
		c->mid_request = ran->mid_request;
		wc_tcp_touch_idle(lc, c);
		wc_tcb_schedule(t, c);	/* the idle timer may have moved earlier */
	}
	switch (ran->r) {
	case MC_RUN_CLOSE:
		if (ran->close_reason == MC_CLOSE_HTTP)
			log_http(lc, c);
		c->app_closed = true;
		c->fin_wanted = true;
		break;
	case MC_RUN_BUSY:
	case MC_RUN_FULL:
		wc_tcp_retry_add(t, c);	/* mailbox room, or the peer reading */
		break;
	case MC_RUN_PENDING:
		break;
	case MC_RUN_MORE:
		/*
		 * The peer finished sending and every complete request is answered:
		 * close. What is left of the input is a request no byte can complete
		 * any more, dropped at the end of input as memcached and redis-server
		 * drop it. A session whose whole request waits for stage room runs
		 * it first (it is on the stage wait list), then closes here.
		 */
		if (c->state == TCP_CLOSE_WAIT && !(ran->stage_wait && ran->whole_waits)) {
			c->app_closed = true;
			c->fin_wanted = true;
		}
		break;
	}
	return true;
}
