/*
 * tcp_impl.h - internals shared by the TCP source files: the per-lcore
 * connection table, hash, timer wheel and retry list, sequence-number
 * arithmetic, and the functions one file offers another.
 */
#ifndef WC_NET_TCP_IMPL_H
#define WC_NET_TCP_IMPL_H

#include <string.h>

#include "core/app.h"
#include "net/net.h"
#include "net/tcp.h"

#define WC_TCP_WHEEL 4096		/* 1 ms slots: a 4 s span, longer timers go round */
#define WC_TCP_SPARES 32		/* received mbufs kept for the next segments out */

#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LE(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GE(a, b) SEQ_LE(b, a)

struct wc_tcp_lc {
	struct wc_tcb *tcbs;
	unsigned ntcb;
	uint32_t *free_list;
	unsigned nfree;
	uint32_t *hash;			/* bucket heads, index + 1 */
	uint32_t hmask;
	uint32_t wheel[WC_TCP_WHEEL];	/* slot heads, index + 1 */
	uint64_t wheel_done;		/* every slot up to this ms has been run */
	uint64_t now_ms, now_us;
	bool frozen_clock;		/* tests drive now_ms/now_us themselves */
	uint64_t tsc_per_us;
	unsigned syn_rcvd;
	unsigned nretry;
	uint32_t *retry;		/* connections to run again next loop */
	uint64_t cookie_secret;
	bool pool_low;			/* the mbuf pool is running out: replies queue less */
	bool rx_pressure;		/* half the pool in use: windows shrink (WC_TCP_PRESSURE_SHARE) */
	unsigned nstage_wait;
	uint32_t *stage_wait;		/* connections waiting for stage room */
	uint64_t pool_checked;		/* ms of the last look at the pool */
	unsigned nspare;
	struct rte_mbuf *spare[WC_TCP_SPARES];
	uint16_t ip_id;			/* the IPv4 id of the next segment out */
	/*
	 * The fast paths (header prediction in, one whole reply out) and how
	 * often each was taken; slow_only (tests) sends everything the general
	 * way (memcached's and Redis's single-GET answers too), to compare the two.
	 */
	bool slow_only;
	uint64_t fast_in, fast_out;
	uint64_t fast_pipelined;	/* requests answered from pipelines (mc_tcp.c, rd_tcp_pipe.c) */
	/*
	 * The rx burst's pre-pass (tcp_hint.h): keys it prefetched; no_hint
	 * (tests) turns it off, to compare a burst served with and without.
	 */
	bool no_hint;
	uint64_t hinted;
	struct wc_tcp_stats st;
};

static inline struct wc_tcp_lc *tcp_of(struct wc_lcore *lc)
{
	return lc->tcp;
}

static inline uint32_t tcb_index(const struct wc_tcp_lc *t, const struct wc_tcb *c)
{
	return (uint32_t)(c - t->tcbs);
}

/* The 4-tuple's hash bucket (Fibonacci hashing of the tuple). */
static inline uint32_t wc_tcb_hash(const struct wc_tcp_lc *t, uint32_t rip, uint16_t rport,
				   uint16_t lport)
{
	uint64_t k = ((uint64_t)rip << 32) | ((uint32_t)rport << 16) | lport;

	return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 40) & t->hmask;
}

/* The connection of a 4-tuple, or NULL (wc_tcb_lookup, inline for every segment in). */
static inline struct wc_tcb *wc_tcb_find(struct wc_tcp_lc *t, uint32_t rip, uint16_t rport,
					 uint16_t lport)
{
	uint32_t i = t->hash[wc_tcb_hash(t, rip, rport, lport)];

	while (i) {
		struct wc_tcb *c = &t->tcbs[i - 1];

		if (c->rip == rip && c->rport == rport && c->lport == lport)
			return c;
		i = c->hnext;
	}
	return NULL;
}

/* tcp_conn.c */
struct wc_tcb *wc_tcb_lookup(struct wc_tcp_lc *t, uint32_t rip, uint16_t rport, uint16_t lport);
/* Count an opening connection against max-connections; false: the limit is reached. */
bool wc_tcp_admit(struct wc_lcore *lc, struct wc_tcb *c);
/* The connection is closing (TIME_WAIT or gone): it no longer counts as open. */
void wc_tcp_unadmit(struct wc_lcore *lc, struct wc_tcb *c);
struct wc_tcb *wc_tcb_alloc(struct wc_lcore *lc, unsigned port, uint32_t rip, uint16_t rport,
			    uint16_t lport);
void wc_tcb_free(struct wc_lcore *lc, struct wc_tcb *c);
/*
 * An mbuf for a segment out: a recycled received one when there is one
 * (skipping a trip through the mempool both ways), else a fresh one.
 */
struct rte_mbuf *wc_tcp_mbuf(struct wc_lcore *lc);
/*
 * The same, inline where a spare is at hand, for a caller that writes the
 * lengths (data_len, pkt_len) and ol_flags itself (tcp_out.c's templated
 * segments): a spare is direct, one segment with next NULL (wc_tcp_recycle
 * keeps no other), so of rte_pktmbuf_reset only the rest is left to do.
 */
static inline struct rte_mbuf *wc_tcp_mbuf_inline(struct wc_lcore *lc)
{
	struct wc_tcp_lc *t = lc->tcp;
	struct rte_mbuf *m;

	if (__builtin_expect(!t->nspare, 0))
		return wc_tcp_mbuf(lc);
	m = t->spare[--t->nspare];
	m->tx_offload = 0;
	m->vlan_tci = 0;
	m->vlan_tci_outer = 0;
	m->port = RTE_MBUF_PORT_INVALID;
	m->packet_type = 0;
	rte_pktmbuf_reset_headroom(m);
	return m;
}
/* Done with a received mbuf: keep it for wc_tcp_mbuf, or free it. */
void wc_tcp_recycle(struct wc_lcore *lc, struct rte_mbuf *m);
/* The same, inline where the mbuf usually goes to the spares. */
static inline void wc_tcp_recycle_inline(struct wc_lcore *lc, struct rte_mbuf *m)
{
	struct wc_tcp_lc *t = lc->tcp;

	if (__builtin_expect(t->nspare < WC_TCP_SPARES && m->pool == lc->pool &&
			     m->nb_segs == 1 && !m->next && RTE_MBUF_DIRECT(m) &&
			     rte_mbuf_refcnt_read(m) == 1, 1))
		t->spare[t->nspare++] = m;
	else
		rte_pktmbuf_free(m);
}
void wc_tcb_schedule(struct wc_tcp_lc *t, struct wc_tcb *c);

/*
 * The same, after output: only a timer set earlier than the wake-up already
 * filed needs the wheel (the idle timer only ever moves later).
 */
static inline void wc_tcb_reschedule(struct wc_tcp_lc *t, struct wc_tcb *c)
{
	uint64_t d = c->deadline;

	if (d && (!c->t_rto || c->t_rto >= d) && (!c->t_delack || c->t_delack >= d) &&
	    (!c->t_persist || c->t_persist >= d) && (!c->t_end || c->t_end >= d))
		return;
	wc_tcb_schedule(t, c);
}
uint32_t wc_tcp_cookie(struct wc_tcp_lc *t, uint32_t rip, uint16_t rport, uint16_t lport,
		       uint32_t peer_isn, uint8_t mss_idx);
/* The MSS a cookie carried (ack_seq - 1 is the cookie), or 0 if it is not ours. */
uint16_t wc_tcp_cookie_check(struct wc_tcp_lc *t, uint32_t rip, uint16_t rport, uint16_t lport,
			     uint32_t peer_isn, uint32_t cookie);
uint8_t wc_tcp_mss_index(uint16_t mss);
void wc_tcp_retry_add(struct wc_tcp_lc *t, struct wc_tcb *c);
/*
 * Whether c's receive buffer is held to WC_TCP_PRESSURE_SHARE: buffers are
 * under pressure, or its upload waits for stage room (tcp.h).
 */
static inline bool wc_tcp_squeezed(const struct wc_tcb *c)
{
	return c->lc && (c->lc->tcp->rx_pressure || c->upload_wait);
}

/* Run c again once its lcore's stage pool has room. */
void wc_tcp_stage_wait_add(struct wc_tcp_lc *t, struct wc_tcb *c);

/*
 * Re-arm the idle timer after activity: --idle-timeout from now, or sooner
 * when the session is in the middle of a request (--request-timeout after
 * the last data that arrived).
 */
static inline void wc_tcp_touch_idle(struct wc_lcore *lc, struct wc_tcb *c)
{
	const struct wc_config *cfg = &lc->app->cfg;

	c->t_idle = lc->tcp->now_ms + cfg->tcp_idle_ms;
	if (c->mid_request && cfg->request_timeout_ms &&
	    c->rx_last_ms + cfg->request_timeout_ms < c->t_idle)
		c->t_idle = c->rx_last_ms + cfg->request_timeout_ms;
}

/* tcp_out.c */
void wc_tcp_output(struct wc_lcore *lc, struct wc_tcb *c);
void wc_tcp_send_ack(struct wc_lcore *lc, struct wc_tcb *c);
void wc_tcp_send_synack(struct wc_lcore *lc, struct wc_tcb *c);
/* A RST answering a segment that has no connection. */
void wc_tcp_reset_reply(struct wc_lcore *lc, unsigned port, const struct rte_ipv4_hdr *ip,
			const struct rte_tcp_hdr *th, uint16_t payload);
void wc_tcp_reset_conn(struct wc_lcore *lc, struct wc_tcb *c);
void wc_tcp_cookie_synack(struct wc_lcore *lc, unsigned port, const struct rte_ipv4_hdr *ip,
			  const struct rte_tcp_hdr *th, uint16_t mss);
void wc_tcp_timers(struct wc_lcore *lc, struct wc_tcb *c);
/*
 * The receive buffer's free space (the window we may offer), for a
 * connection of the lcore whose TCP state is t (NULL when c has no lcore).
 */
static inline uint32_t wc_tcp_rcv_window_on(const struct wc_tcp_lc *t, const struct wc_tcb *c)
{
	uint64_t used = c->rx.len + c->ooo_bytes, cap = c->rcv_cap;

	/* buffers under pressure, or a value waiting for stage room: a small share (tcp.h) */
	if (c->lc && (t->rx_pressure || c->upload_wait) && cap > WC_TCP_PRESSURE_SHARE)
		cap = WC_TCP_PRESSURE_SHARE;
	return cap > used ? (uint32_t)(cap - used) : 0;
}
/* The same, its lcore's TCP state found through c (as wc_tcp_squeezed). */
static inline uint32_t wc_tcp_rcv_window(const struct wc_tcb *c)
{
	return wc_tcp_rcv_window_on(c->lc ? c->lc->tcp : NULL, c);
}
void wc_tcp_rto_arm(struct wc_tcp_lc *t, struct wc_tcb *c);
/* Fast retransmit: the first unacknowledged segment again. */
void wc_tcp_retransmit_one(struct wc_lcore *lc, struct wc_tcb *c);

void wc_tcp_send_syn(struct wc_lcore *lc, struct wc_tcb *c);

/* tcp_app.c: what every protocol engine does after its session ran */
struct wc_tcp_ran {
	enum mc_run r;
	bool stage_wait;		/* the session waits for stage room */
	bool whole_waits;		/* ... perhaps with a whole request, that must run at EOF too */
	bool mid_request;		/* the session holds part of a request */
	uint8_t close_reason;		/* enum mc_close_reason, with MC_RUN_CLOSE */
};

/* Send, retry, wait, time or close as the run says; false when c was reset. */
bool wc_tcp_session_ran(struct wc_lcore *lc, struct wc_tcb *c, const struct wc_tcp_ran *ran);
/* No request is half-read any more: the idle timeout again (as wc_tcp_session_ran). */
void wc_tcp_request_done(struct wc_lcore *lc, struct wc_tcb *c);
/* A fast path answered the one request in c->rx whole: its buffer goes back, no request is half-read. */
static inline void wc_tcp_rx_answered(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct rte_mbuf *m = c->rx.head;

	if (__builtin_expect(c->mid_request, 0))
		wc_tcp_request_done(lc, c);
	memset(&c->rx, 0, sizeof(c->rx));
	c->inq.len = 0;
	/* the request is answered: its mbuf carries the next segment out */
	wc_tcp_recycle_inline(lc, m);
}

/* tcp_io.c */
/* Set up c->inq and c->out (before app->open). */
void wc_tcp_io_open(struct wc_lcore *lc, struct wc_tcb *c);
/* Account what was written to c->out into the send queue. */
static inline void wc_tcp_out_commit(struct wc_tcb *c)
{
	struct rte_mbuf *m = c->tx.tail;
	uint16_t used;

	if (!m || !c->out.p)
		return;
	used = (uint16_t)(c->out.p - rte_pktmbuf_mtod(m, uint8_t *));
	c->tx.len += used - m->data_len;
	m->data_len = m->pkt_len = used;
}
/* Backpressure for the application's writes (mc_out.full): enough is queued. */
bool wc_tcp_out_full(struct mc_out *o);
/* The same for a connection (tcp_io.c says when). */
static inline bool wc_tcp_tx_full(const struct wc_tcb *c)
{
	return c->tx.len > (c->lc->tcp->pool_low ? WC_TCP_SND_QUEUE_LOW : WC_TCP_SND_QUEUE_MAX);
}
/* Everything sent was acknowledged: give the send queue's buffer back. */
void wc_tcp_tx_release(struct wc_tcb *c);
void wc_bytes_free(struct wc_bytes *q);
void wc_bytes_append(struct wc_bytes *q, struct rte_mbuf *m);
static inline void wc_bytes_append_inline(struct wc_bytes *q, struct rte_mbuf *m)
{
	m->next = NULL;
	m->nb_segs = 1;
	m->pkt_len = m->data_len;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->len += m->data_len;
}
/* Copy len bytes starting off bytes into q. */
void wc_bytes_copy(const struct wc_bytes *q, uint64_t off, uint8_t *dst, uint32_t len);
/* Drop n bytes from the front. */
void wc_bytes_drop(struct wc_bytes *q, uint64_t n);
/* The same, inline where no buffer empties (a reply acknowledged whole, usually). */
static inline void wc_bytes_drop_inline(struct wc_bytes *q, uint64_t n)
{
	if (q->head == q->tail || q->head_off + n < q->head->data_len) {
		q->len -= n;
		q->head_off = (uint32_t)(q->head_off + n);
		return;
	}
	wc_bytes_drop(q, n);
}

#endif
