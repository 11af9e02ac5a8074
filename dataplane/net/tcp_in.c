/*
 * tcp_in.c - segment arrival (RFC 9293 3.10.7): listening (SYN queue and
 * SYN cookies), the handshake, sequence and window checks, RST and SYN
 * handling (RFC 5961 challenge ACKs), ACK processing with RTT estimation,
 * duplicate ACKs and recovery, in-order delivery with a bounded
 * out-of-order queue, and FIN.
 */
#include <string.h>

#include <rte_byteorder.h>

#include "net/cksum.h"
#include "net/tcp_impl.h"

#define SYN_BACKLOG_MIN 64

struct seg {
	uint32_t seq, ack, len;		/* len: payload bytes */
	uint32_t wnd;
	uint8_t flags;
	uint16_t mss;			/* options of a SYN */
	int wscale;			/* -1: none */
	bool sack_ok;			/* SACK-permitted */
	bool ts;			/* a timestamp option came */
	uint32_t tsval, tsecr;
	uint16_t payload_off;		/* from the mbuf's data start */
};

static void parse_options(const struct rte_tcp_hdr *th, unsigned doff, struct seg *s)
{
	const uint8_t *o = (const uint8_t *)(th + 1), *end = (const uint8_t *)th + doff;

	s->mss = 536;
	s->wscale = -1;
	s->sack_ok = false;
	s->ts = false;
	while (o < end) {
		uint8_t kind = o[0], len;

		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 1 >= end || (len = o[1]) < 2 || o + len > end)
			break;
		if (kind == 2 && len == 4)
			s->mss = (uint16_t)(o[2] << 8 | o[3]);
		else if (kind == 3 && len == 3)
			s->wscale = o[2] > 14 ? 14 : o[2];
		else if (kind == 4 && len == 2)
			s->sack_ok = true;
		else if (kind == 8 && len == 10) {
			s->ts = true;
			s->tsval = (uint32_t)o[2] << 24 | (uint32_t)o[3] << 16 | o[4] << 8 | o[5];
			s->tsecr = (uint32_t)o[6] << 24 | (uint32_t)o[7] << 16 | o[8] << 8 | o[9];
		}
		o += len;
	}
	if (s->mss < 64)
		s->mss = 64;
}

static uint32_t rcv_cap_for(const struct wc_lcore *lc)
{
	return lc->app->tcp_rcvbuf;
}

static inline void rtt_sample(struct wc_tcp_lc *t, struct wc_tcb *c)
{
	uint32_t r = (uint32_t)(t->now_us - c->rtt_start);	/* microseconds */
	uint32_t rto;

	if (c->srtt == 0) {
		c->srtt = r;
		c->rttvar = r / 2;
	} else {
		uint32_t d = c->srtt > r ? c->srtt - r : r - c->srtt;

		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + r) / 8;
	}
	rto = (c->srtt + (4 * c->rttvar > 1000 ? 4 * c->rttvar : 1000)) / 1000;
	if (rto < WC_TCP_RTO_MIN_MS)
		rto = WC_TCP_RTO_MIN_MS;
	if (rto > WC_TCP_RTO_MAX_MS)
		rto = WC_TCP_RTO_MAX_MS;
	c->rto_ms = rto;
	c->rtt_active = false;
}

/* The handshake is done: the application takes over. */
static void established(struct wc_lcore *lc, struct wc_tcb *c)
{
	wc_tcp_io_open(lc, c);
	c->app_opened = true;
	c->app->open(lc, c);
}

/* Start a connection in SYN_RCVD, or ESTABLISHED from a cookie. */
static struct wc_tcb *open_conn(struct wc_lcore *lc, unsigned port, uint32_t rip, uint16_t rport,
				uint16_t lport, const struct seg *s, bool cookie)
{
	struct wc_tcp_lc *t = lc->tcp;
	struct wc_tcb *c = wc_tcb_alloc(lc, port, rip, rport, lport);

	if (!c)
		return NULL;
	if (cookie && !wc_tcp_admit(lc, c)) {
		c->state = TCP_ESTABLISHED;	/* so that the free below does free it */
		wc_tcb_free(lc, c);
		return NULL;
	}
	c->cookie = cookie;
	c->app = lport == lc->app->cfg.redis_port ? &wc_rd_tcp_app
		 : wc_link_listens(lc->app, lport) ? &wc_link_srv_app : &wc_mc_tcp_app;
	c->rcv_cap = rcv_cap_for(lc);
	c->mss = s->mss < 1460 ? s->mss : 1460;
	c->rto_ms = WC_TCP_RTO_INIT_MS;
	c->cwnd = 10u * c->mss;		/* RFC 6928 initial window */
	c->ssthresh = 0xFFFFFFFF;
	c->t_idle = t->now_ms + lc->app->cfg.tcp_idle_ms;
	if (cookie) {
		c->irs = s->seq - 1;
		c->rcv_nxt = s->seq;
		c->iss = s->ack - 1;
		c->snd_una = c->snd_nxt = c->snd_max = s->ack;
		c->snd_wnd = s->wnd;	/* no window scaling without state */
		if (c->rcv_cap > 0xFFFF)
			c->rcv_cap = 0xFFFF;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		c->state = TCP_ESTABLISHED;
		c->rcv_adv = c->rcv_nxt + 0xFFFF;
		t->st.accepted++;
		t->st.syncookies_ok++;
		established(lc, c);
		return c;
	}
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->iss = wc_tcp_cookie(t, rip, rport, lport, s->seq, 0) ^ (uint32_t)t->now_us;
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->snd_wnd = s->wnd;
	if (s->wscale >= 0) {
		c->snd_wscale = (uint8_t)s->wscale;
		c->rcv_wscale = lc->app->tcp_wscale;
	} else if (c->rcv_cap > 0xFFFF) {
		c->rcv_cap = 0xFFFF;	/* no scaling: a 64 KiB window is all we can offer */
	}
	c->sack_ok = s->sack_ok;
	if (s->ts) {
		c->ts_ok = true;
		c->ts_recent = s->tsval;
		c->mss = (uint16_t)(c->mss - 12);	/* every segment carries 12 option bytes */
	}
	c->state = TCP_SYN_RCVD;
	c->t_idle = t->now_ms + lc->app->cfg.tcp_idle_ms;	/* a half-open peer, at most this */
	t->st.syn_rcvd = ++t->syn_rcvd;
	wc_tcp_send_synack(lc, c);
	wc_tcp_rto_arm(t, c);
	wc_tcb_schedule(t, c);
	return c;
}

/* A segment for a tuple with no connection: listen, cookies, or RST. */
static struct wc_tcb *no_conn(struct wc_lcore *lc, unsigned port, const struct rte_ipv4_hdr *ip,
			      const struct rte_tcp_hdr *th, unsigned doff, struct seg *s)
{
	struct wc_tcp_lc *t = lc->tcp;
	const struct wc_app *app = lc->app;
	uint32_t rip = rte_be_to_cpu_32(ip->src_addr);
	uint16_t rport = rte_be_to_cpu_16(th->src_port), lport = rte_be_to_cpu_16(th->dst_port);
	bool listening = (app->cfg.tcp_enabled && lport == app->cfg.tcp_port) ||
			 (app->cfg.redis_port && lport == app->cfg.redis_port) ||
			 wc_link_listens(app, lport);
	unsigned backlog = t->ntcb / 4 > SYN_BACKLOG_MIN ? t->ntcb / 4 : SYN_BACKLOG_MIN;
	struct wc_tcb *c;

	if (s->flags & RTE_TCP_RST_FLAG)
		return NULL;
	if (!listening) {
		wc_tcp_reset_reply(lc, port, ip, th, (uint16_t)s->len);	/* closed port */
		return NULL;
	}
	if ((s->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG) {
		parse_options(th, doff, s);
		if (wc_mc_tcp_refused(app, lport, rip)) {
			t->st.mc_auth_refused++;	/* memcached while Redis needs passwords */
			wc_tcp_reset_reply(lc, port, ip, th, 0);
			return NULL;
		}
		if (__atomic_load_n(&app->tcp_open, __ATOMIC_RELAXED) >= app->cfg.max_conns) {
			t->st.refused++;	/* the refusal is a RST: connection refused */
			wc_tcp_reset_reply(lc, port, ip, th, 0);
			return NULL;
		}
		/* half-open connections past the backlog (a SYN flood) hold no state */
		if (t->syn_rcvd >= backlog || t->nfree == 0) {
			wc_tcp_cookie_synack(lc, port, ip, th, s->mss);
			return NULL;
		}
		open_conn(lc, port, rip, rport, lport, s, false);
		return NULL;
	}
	if ((s->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_ACK_FLAG) {
		uint16_t mss = wc_tcp_cookie_check(t, rip, rport, lport, s->seq - 1, s->ack - 1);

		if (mss && wc_mc_tcp_refused(app, lport, rip)) {
			t->st.mc_auth_refused++;	/* (authentication came on after the cookie) */
		} else if (mss) {
			s->mss = mss;
			c = open_conn(lc, port, rip, rport, lport, s, true);
			if (c)
				return c;
			t->st.refused++;	/* a good cookie, but no room */
		} else if (t->st.syncookies_sent) {
			t->st.syncookies_bad++;
		}
	}
	wc_tcp_reset_reply(lc, port, ip, th, (uint16_t)s->len);
	return NULL;
}

/* Insert an out-of-order payload (m trimmed to it) by sequence; false: not kept. */
static bool ooo_insert(struct wc_tcp_lc *t, struct wc_tcb *c, struct rte_mbuf *m, uint32_t seq)
{
	struct rte_mbuf **link = &c->ooo;

	if (c->nooo == WC_TCP_OOO_MAX || t->pool_low || c->ooo_mem + m->buf_len > c->rcv_cap ||
	    (wc_tcp_squeezed(c) && c->rx.len + c->ooo_bytes + m->data_len > WC_TCP_PRESSURE_SHARE)) {
		/* the sender resends it; tiny segments cannot pin a buffer each */
		t->st.ooo_dropped++;
		return false;
	}
	if (c->ooo_tail && SEQ_LT(c->ooo_tail->hash.usr, seq))
		link = &c->ooo_tail->next;	/* beyond everything held: the common case */
	while (*link && SEQ_LT((*link)->hash.usr, seq))
		link = &(*link)->next;
	if (*link && (*link)->hash.usr == seq && (*link)->data_len >= m->data_len) {
		t->st.ooo_dropped++;	/* a duplicate */
		c->sack_dirty = true;
		return false;
	}
	m->hash.usr = seq;
	m->next = *link;
	*link = m;
	if (!m->next)
		c->ooo_tail = m;
	c->nooo++;
	c->ooo_bytes += m->data_len;
	c->ooo_mem += m->buf_len;
	c->ooo_last = seq;
	c->sack_dirty = true;
	t->st.ooo_held++;
	return true;
}

static struct rte_mbuf *ooo_pop(struct wc_tcb *c)
{
	struct rte_mbuf *m = c->ooo;

	c->ooo = m->next;
	m->next = NULL;
	if (!c->ooo)
		c->ooo_tail = NULL;
	c->nooo--;
	c->ooo_bytes -= m->data_len;
	c->ooo_mem -= m->buf_len;
	return m;
}

/*
 * Queue a received in-order payload. A small one is copied behind the
 * previous one when that buffer has room, so a peer sending tiny segments
 * holds one buffer, not one per segment. false: copied (m is the caller's).
 */
static inline bool rx_append(struct wc_tcb *c, struct rte_mbuf *m)
{
	struct rte_mbuf *tail = c->rx.tail;

	if (tail && m->data_len <= 512 && m->data_len <= rte_pktmbuf_tailroom(tail)) {
		memcpy(rte_pktmbuf_mtod_offset(tail, uint8_t *, tail->data_len),
		       rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
		tail->data_len = (uint16_t)(tail->data_len + m->data_len);
		tail->pkt_len = tail->data_len;
		c->rx.len += m->data_len;
		c->inq.len = c->rx.len;
		return false;
	}
	wc_bytes_append_inline(&c->rx, m);
	c->inq.len = c->rx.len;
	return true;
}

/* Append what follows rcv_nxt (trimmed to the buffer) to the receive queue. */
static bool deliver(struct wc_tcb *c, struct rte_mbuf *m, uint32_t seq)
{
	uint32_t skip = c->rcv_nxt - seq, len = m->data_len, room;

	if (SEQ_LE(seq + len, c->rcv_nxt))
		return false;	/* nothing new */
	rte_pktmbuf_adj(m, (uint16_t)skip);
	len -= skip;
	room = wc_tcp_rcv_window(c);
	if (len > room) {
		if (wc_tcp_squeezed(c))
			c->lc->tcp->st.pressure_refused++;
		if (room == 0)
			return false;
		rte_pktmbuf_trim(m, (uint16_t)(len - room));
		len = room;
	}
	c->rcv_nxt += len;
	c->rx_last_ms = c->lc->tcp->now_ms;
	if (!rx_append(c, m))
		rte_pktmbuf_free(m);
	return true;	/* delivered (m is taken care of either way) */
}

/* After an in-order arrival, move held segments that now fit. */
static void ooo_drain(struct wc_tcb *c)
{
	while (c->ooo && SEQ_LE(c->ooo->hash.usr, c->rcv_nxt)) {
		struct rte_mbuf *m = ooo_pop(c);

		if (!deliver(c, m, m->hash.usr))
			rte_pktmbuf_free(m);
	}
	if (c->ooo)
		c->sack_dirty = true;	/* the blocks changed */
}

static void enter_time_wait(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_tcp_lc *t = lc->tcp;

	wc_tcp_unadmit(lc, c);	/* only a table entry now: no longer a connection */
	c->state = TCP_TIME_WAIT;
	c->t_rto = c->t_persist = c->t_delack = c->t_idle = 0;
	c->t_end = t->now_ms + WC_TCP_TIME_WAIT_MS;
}

/* New bytes acknowledged (data_acked of them reply bytes): RTT, reply queue, RTO. */
static inline void take_ack(struct wc_tcp_lc *t, struct wc_tcb *c, uint32_t ack, uint32_t data_acked)
{
	if (c->rtt_active && SEQ_GE(ack, c->rtt_seq))
		rtt_sample(t, c);
	if (data_acked > c->tx.len)
		data_acked = (uint32_t)c->tx.len;
	wc_bytes_drop_inline(&c->tx, data_acked);
	if (c->tx.len == 0 && t->pool_low)
		wc_tcp_tx_release(c);	/* buffers run short: an idle connection holds none */
	c->snd_una = ack;
	if (SEQ_LT(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	c->retries = 0;
	c->dupacks = 0;
	c->t_rto = 0;
	if (c->snd_una != c->snd_max)
		wc_tcp_rto_arm(t, c);
}

/* Slow start, then congestion avoidance (RFC 5681). */
static void grow_cwnd(struct wc_tcb *c, uint32_t acked)
{
	if (c->cwnd < c->ssthresh)
		c->cwnd += acked < c->mss ? acked : c->mss;
	else
		c->cwnd += (uint32_t)((uint64_t)c->mss * c->mss / c->cwnd) + 1;
}

/* The ACK field of a segment in a synchronized state. false: the segment ends here. */
static bool process_ack(struct wc_lcore *lc, struct wc_tcb *c, const struct seg *s)
{
	struct wc_tcp_lc *t = lc->tcp;
	uint32_t acked;
	bool fin_acked;

	if (SEQ_GT(s->ack, c->snd_max)) {
		c->ack_now = true;	/* acknowledges what we never sent */
		return false;
	}
	if (SEQ_LT(s->ack, c->snd_una))
		return true;		/* old: ignore the ACK, keep the data */
	acked = s->ack - c->snd_una;
	if (acked == 0) {
		if (s->len == 0 && !(s->flags & RTE_TCP_FIN_FLAG) &&
		    ((uint32_t)s->wnd << c->snd_wscale) == c->snd_wnd && c->snd_max != c->snd_una) {
			t->st.dup_acks++;
			if (++c->dupacks == 3) {
				/* fast retransmit, then NewReno recovery */
				uint32_t flight = c->snd_max - c->snd_una;
				uint32_t len = c->tx.len < c->mss ? (uint32_t)c->tx.len : c->mss;

				c->ssthresh = flight / 2 > 2u * c->mss ? flight / 2 : 2u * c->mss;
				c->cwnd = c->ssthresh + 3u * c->mss;
				c->recover = c->snd_max;
				c->in_recovery = true;
				c->rtt_active = false;
				t->st.fast_retransmits++;
				t->st.retransmits++;
				if (len)
					wc_tcp_retransmit_one(lc, c);
			} else if (c->dupacks > 3) {
				c->cwnd += c->mss;	/* each dup ACK: a segment left */
			}
		}
	} else {
		fin_acked = c->fin_sent && s->ack == c->snd_max;
		take_ack(t, c, s->ack, acked - fin_acked);
		if (c->in_recovery) {
			if (SEQ_GE(s->ack, c->recover)) {
				c->in_recovery = false;
				c->cwnd = c->ssthresh;
			} else {
				/* partial ACK: the next hole goes out now */
				c->cwnd = c->cwnd > acked ? c->cwnd - acked + c->mss : c->mss;
				if (c->tx.len)
					wc_tcp_retransmit_one(lc, c);
				t->st.retransmits++;
			}
		} else {
			grow_cwnd(c, acked);
		}
		if (fin_acked) {
			switch (c->state) {
			case TCP_FIN_WAIT_1:
				c->state = TCP_FIN_WAIT_2;
				c->t_end = t->now_ms + WC_TCP_FIN_WAIT_MS;
				break;
			case TCP_CLOSING:
				enter_time_wait(lc, c);
				break;
			case TCP_LAST_ACK:
				wc_tcb_free(lc, c);
				return false;
			default:
				break;
			}
		}
	}
	/* the window, from the newest segment (SND.WL1/WL2) */
	if (SEQ_LT(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && SEQ_LE(c->snd_wl2, s->ack))) {
		c->snd_wnd = s->wnd << c->snd_wscale;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		if (c->snd_wnd) {
			c->zero_since = 0;
			c->t_persist = 0;
		}
	}
	return true;
}

/*
 * New input for the application. If it left our ACK undecided (it did not
 * send anything), decide it here: now, or armed on the delayed-ACK timer.
 */
static inline void run_app(struct wc_lcore *lc, struct wc_tcb *c)
{
	c->app->run(lc, c);
	if (c->state != TCP_FREE && (c->ack_now || (c->unacked_segs && !c->t_delack)))
		wc_tcp_output(lc, c);
}

/* RFC 7323: remember the peer's timestamp to echo (an in-order or older segment's, never older). */
static inline void ts_note(struct wc_tcb *c, const struct seg *s)
{
	if (c->ts_ok && s->ts && SEQ_LE(s->seq, c->rcv_nxt) &&
	    (int32_t)(s->tsval - c->ts_recent) >= 0)
		c->ts_recent = s->tsval;
}

/*
 * Header prediction (after Van Jacobson): the segment a busy request/response
 * connection almost always gets is the next in order, ACK set and nothing
 * else unusual, acknowledging replies and carrying a request. Such a segment
 * is handled here in one pass; false sends everything else the general way.
 */
static bool predicted(struct wc_lcore *lc, struct wc_tcb *c, struct rte_mbuf *m,
		      const struct seg *s)
{
	struct wc_tcp_lc *t = lc->tcp;
	uint32_t acked = s->ack - c->snd_una, wnd = s->wnd << c->snd_wscale;

	if (c->state != TCP_ESTABLISHED ||
	    (s->flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG |
			 RTE_TCP_URG_FLAG)) != RTE_TCP_ACK_FLAG ||
	    s->seq != c->rcv_nxt || c->nooo || c->in_recovery || c->dupacks || c->fin_sent ||
	    c->app_closed ||
	    c->snd_nxt != c->snd_max || acked > c->snd_max - c->snd_una || wnd == 0 ||
	    (s->len == 0 && acked == 0) || s->len > c->rcv_adv - c->rcv_nxt ||
	    s->len > wc_tcp_rcv_window_on(t, c) || t->slow_only)
		return false;
	t->fast_in++;
	wc_tcp_touch_idle(lc, c);
	ts_note(c, s);
	if (acked) {
		take_ack(t, c, s->ack, acked);
		grow_cwnd(c, acked);
	}
	c->snd_wnd = wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	c->zero_since = 0;
	c->t_persist = 0;
	if (s->len == 0) {
		wc_tcp_output(lc, c);	/* the window moved: more may go */
		wc_tcp_recycle(lc, m);
		return true;
	}
	if (__builtin_expect(!m->next, 1)) {
		/* one segment (lengths as wc_ipv4_input left them): rte_pktmbuf_adj and _trim at once */
		m->data_off = (uint16_t)(m->data_off + s->payload_off);
		m->data_len = (uint16_t)s->len;
		m->pkt_len = s->len;
	} else {
		rte_pktmbuf_adj(m, s->payload_off);
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - s->len));
	}
	if (!rx_append(c, m))
		wc_tcp_recycle(lc, m);
	c->rcv_nxt += s->len;
	c->rx_last_ms = t->now_ms;
	if (++c->unacked_segs >= 2)
		c->ack_now = true;
	run_app(lc, c);
	return true;
}

static void established_input(struct wc_lcore *lc, struct wc_tcb *c, struct rte_mbuf *m,
			      struct seg *s)
{
	struct wc_tcp_lc *t = lc->tcp;
	uint32_t rwnd = c->rcv_adv - c->rcv_nxt;
	uint32_t seglen = s->len + !!(s->flags & RTE_TCP_SYN_FLAG) + !!(s->flags & RTE_TCP_FIN_FLAG);
	bool acceptable, new_data = false, keep = false;

	wc_tcp_touch_idle(lc, c);
	/*
	 * 0. New data for an application that has closed (QUIT, a protocol
	 * error, an HTTP line): nobody will read it, so the connection is reset,
	 * as Linux resets an orphaned socket that receives data. A client that
	 * keeps writing learns at once instead of filling a window that never
	 * opens, and the entry is free. Only data that starts inside what we
	 * advertised counts (a blind segment cannot reset us).
	 */
	if (c->app_closed && s->len && !(s->flags & RTE_TCP_RST_FLAG) &&
	    SEQ_GT(s->seq + s->len, c->rcv_nxt) && SEQ_LE(s->seq, c->rcv_adv)) {
		t->st.data_after_close++;
		wc_tcp_reset_conn(lc, c);
		goto out;
	}
	/* 1. sequence check */
	if (seglen == 0)
		acceptable = rwnd == 0 ? s->seq == c->rcv_nxt :
					 SEQ_GE(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + rwnd);
	else
		acceptable = rwnd != 0 &&
			     ((SEQ_GE(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + rwnd)) ||
			      (SEQ_GE(s->seq + seglen - 1, c->rcv_nxt) &&
			       SEQ_LT(s->seq + seglen - 1, c->rcv_nxt + rwnd)));
	if (!acceptable) {
		t->st.out_of_window++;
		if (s->flags & RTE_TCP_RST_FLAG)
			goto out;
		c->ack_now = true;
		/* a zero window still takes ACKs (RFC 9293 3.10.7.4) */
		if (!(rwnd == 0 && s->seq == c->rcv_nxt && (s->flags & RTE_TCP_ACK_FLAG)))
			goto output;
		s->len = 0;
		s->flags &= (uint8_t)~RTE_TCP_FIN_FLAG;
	}
	ts_note(c, s);
	/* 2. RST (RFC 5961: only an exact match resets, others get a challenge ACK) */
	if (s->flags & RTE_TCP_RST_FLAG) {
		if (s->seq == c->rcv_nxt) {
			t->st.resets_rcvd++;
			wc_tcb_free(lc, c);
			goto out;
		}
		c->ack_now = true;
		goto output;
	}
	/* 3. SYN in a synchronized state: challenge ACK */
	if (s->flags & RTE_TCP_SYN_FLAG) {
		c->ack_now = true;
		goto output;
	}
	/* 4. ACK */
	if (!(s->flags & RTE_TCP_ACK_FLAG))
		goto out;
	if (!process_ack(lc, c, s)) {
		if (c->state == TCP_FREE)
			goto out;
		goto output;
	}
	if (c->state == TCP_FREE)
		goto out;
	/* 5. data, while the peer has not finished sending */
	if (s->len && (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
		       c->state == TCP_FIN_WAIT_2)) {
		rte_pktmbuf_adj(m, s->payload_off);
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - s->len));
		if (SEQ_LE(s->seq, c->rcv_nxt)) {
			bool gap = c->ooo != NULL;

			keep = deliver(c, m, s->seq);
			if (keep) {
				new_data = true;
				ooo_drain(c);
				/* every second segment, and at once when a gap fills (RFC 5681 4.2) */
				if (++c->unacked_segs >= 2 || gap)
					c->ack_now = true;
			} else {
				c->ack_now = true;	/* old data or no room: say where we are */
			}
		} else {
			if (!(s->flags & RTE_TCP_FIN_FLAG))
				keep = ooo_insert(t, c, m, s->seq);
			else
				t->st.ooo_dropped++;	/* its FIN comes again, in order */
			c->ack_now = true;		/* a duplicate ACK shows the hole */
		}
	}
	/* 6. FIN, once everything before it arrived */
	if ((s->flags & RTE_TCP_FIN_FLAG) && s->seq + s->len == c->rcv_nxt) {
		c->rcv_nxt++;
		c->ack_now = true;
		switch (c->state) {
		case TCP_ESTABLISHED:
			c->state = TCP_CLOSE_WAIT;
			new_data = true;	/* the session sees the end of input */
			break;
		case TCP_FIN_WAIT_1:
			if (c->snd_una == c->snd_max)
				enter_time_wait(lc, c);
			else
				c->state = TCP_CLOSING;
			break;
		case TCP_FIN_WAIT_2:
			enter_time_wait(lc, c);
			break;
		default:
			break;
		}
	}
	if (new_data) {
		if (!keep)
			wc_tcp_recycle(lc, m);
		run_app(lc, c);
		return;
	}
output:
	wc_tcp_output(lc, c);
out:
	if (!keep)
		wc_tcp_recycle(lc, m);
}

/* Our SYN is out (RFC 9293 3.10.7.3): the SYN-ACK, a refusal, or nonsense. */
static void syn_sent_input(struct wc_lcore *lc, unsigned port, struct wc_tcb *c,
			   struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
			   const struct rte_tcp_hdr *th, unsigned doff, struct seg *s)
{
	struct wc_tcp_lc *t = lc->tcp;
	bool ack_ok = (s->flags & RTE_TCP_ACK_FLAG) && s->ack == c->snd_nxt;

	if ((s->flags & RTE_TCP_ACK_FLAG) && !ack_ok) {
		if (!(s->flags & RTE_TCP_RST_FLAG))
			wc_tcp_reset_reply(lc, port, ip, th, (uint16_t)s->len);
		goto drop;
	}
	if (s->flags & RTE_TCP_RST_FLAG) {
		if (ack_ok) {
			t->st.resets_rcvd++;	/* connection refused */
			t->st.connect_failed++;
			wc_tcb_free(lc, c);
		}
		goto drop;
	}
	if (!(s->flags & RTE_TCP_SYN_FLAG) || !ack_ok)
		goto drop;	/* simultaneous open is not supported */
	parse_options(th, doff, s);
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->mss = s->mss < 1460 ? s->mss : 1460;
	c->sack_ok = s->sack_ok;
	if (s->ts) {
		c->ts_ok = true;
		c->ts_recent = s->tsval;
		c->mss = (uint16_t)(c->mss - 12);
	}
	if (s->wscale >= 0) {
		c->snd_wscale = (uint8_t)s->wscale;
	} else {
		c->rcv_wscale = 0;	/* both sides or neither */
		if (c->rcv_cap > 0xFFFF)
			c->rcv_cap = 0xFFFF;
	}
	/* our SYN's window (never scaled) is the right edge the peer may fill */
	c->rcv_adv = c->rcv_nxt + (c->rcv_cap < 0xFFFF ? c->rcv_cap : 0xFFFF);
	c->snd_una = s->ack;
	c->snd_wnd = s->wnd;		/* a SYN's window is never scaled */
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	c->cwnd = 10u * c->mss;
	c->t_rto = 0;
	c->retries = 0;
	c->state = TCP_ESTABLISHED;
	c->t_idle = t->now_ms + lc->app->cfg.tcp_idle_ms;
	if (c->rtt_active)
		rtt_sample(t, c);
	c->ack_now = true;
	established(lc, c);
	if (c->state != TCP_FREE)
		wc_tcp_output(lc, c);	/* the ACK, with any request already written */
drop:
	rte_pktmbuf_free(m);
}

void wc_tcp_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
		  const struct rte_ipv4_hdr *ip, uint16_t l4_len)
{
	struct wc_tcp_lc *t = lc->tcp;
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)(ip + 1);
	struct seg s;
	struct wc_tcb *c;
	unsigned doff;
	uint64_t cks = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	if (!t) {
		wc_net_drop(lc, m, WC_DROP_IP_PROTO);
		return;
	}
	t->st.segs_in++;
	if (l4_len < sizeof(*th)) {
		wc_net_drop(lc, m, WC_DROP_TCP_SHORT);
		return;
	}
	doff = (unsigned)(th->data_off >> 4) * 4;
	if (doff < sizeof(*th) || doff > l4_len) {
		t->st.bad_segments++;
		wc_net_drop(lc, m, WC_DROP_TCP_HEADER);
		return;
	}
	if (cks == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
	    (cks != RTE_MBUF_F_RX_L4_CKSUM_GOOD && !wc_l4_ok(ip, th, l4_len))) {
		wc_net_drop(lc, m, WC_DROP_TCP_CKSUM);
		return;
	}
	s.seq = rte_be_to_cpu_32(th->sent_seq);
	s.ack = rte_be_to_cpu_32(th->recv_ack);
	s.flags = th->tcp_flags;
	s.wnd = rte_be_to_cpu_16(th->rx_win);
	s.len = l4_len - doff;
	s.payload_off = (uint16_t)(RTE_ETHER_HDR_LEN + sizeof(*ip) + doff);
	s.ts = false;
	if (doff > sizeof(*th)) {
		const uint8_t *o = (const uint8_t *)(th + 1);

		if (doff == sizeof(*th) + 12 && o[0] == 1 && o[1] == 1 && o[2] == 8 && o[3] == 10) {
			uint32_t v[2];

			memcpy(v, o + 4, 8);	/* NOP NOP TS: the layout everyone sends */
			s.ts = true;
			s.tsval = rte_be_to_cpu_32(v[0]);
			s.tsecr = rte_be_to_cpu_32(v[1]);
		} else if (!(s.flags & RTE_TCP_SYN_FLAG)) {
			parse_options(th, doff, &s);
		}
	}
	c = wc_tcb_find(t, rte_be_to_cpu_32(ip->src_addr), rte_be_to_cpu_16(th->src_port),
			rte_be_to_cpu_16(th->dst_port));
	if (c && c->state == TCP_TIME_WAIT) {
		if ((s.flags & RTE_TCP_SYN_FLAG) && !(s.flags & RTE_TCP_ACK_FLAG) &&
		    SEQ_GT(s.seq, c->rcv_nxt)) {
			/* a new connection on the same tuple: TIME_WAIT gives way */
			wc_tcb_free(lc, c);
			c = NULL;
		} else {
			if (s.flags & RTE_TCP_FIN_FLAG) {
				c->t_end = t->now_ms + WC_TCP_TIME_WAIT_MS;
				wc_tcp_send_ack(lc, c);
				wc_tcb_schedule(t, c);
			}
			rte_pktmbuf_free(m);
			return;
		}
	}
	if (!c) {
		c = no_conn(lc, port, ip, th, doff, &s);
		if (!c) {
			rte_pktmbuf_free(m);
			return;
		}
		/* a cookie connection: its first segment may carry data */
		established_input(lc, c, m, &s);
		return;
	}
	if (c->state == TCP_SYN_SENT) {
		syn_sent_input(lc, port, c, m, ip, th, doff, &s);
		return;
	}
	if (c->state == TCP_SYN_RCVD) {
		if (s.flags & RTE_TCP_RST_FLAG) {
			if (s.seq == c->rcv_nxt)
				wc_tcb_free(lc, c);
			rte_pktmbuf_free(m);
			return;
		}
		if (s.flags & RTE_TCP_SYN_FLAG) {
			if (s.seq == c->irs)
				wc_tcp_send_synack(lc, c);	/* our SYN-ACK was lost */
			rte_pktmbuf_free(m);
			return;
		}
		if (!(s.flags & RTE_TCP_ACK_FLAG)) {
			rte_pktmbuf_free(m);
			return;
		}
		if (s.ack != c->snd_nxt) {
			wc_tcp_reset_reply(lc, port, ip, th, (uint16_t)s.len);
			rte_pktmbuf_free(m);
			return;
		}
		if (t->syn_rcvd)
			t->st.syn_rcvd = --t->syn_rcvd;
		c->state = TCP_ESTABLISHED;
		if (!wc_tcp_admit(lc, c)) {
			t->st.refused++;	/* the limit filled while this one was half-open */
			wc_tcp_reset_reply(lc, port, ip, th, (uint16_t)s.len);
			wc_tcb_free(lc, c);
			rte_pktmbuf_free(m);
			return;
		}
		c->snd_una = s.ack;
		c->snd_wnd = s.wnd << c->snd_wscale;
		c->snd_wl1 = s.seq;
		c->snd_wl2 = s.ack;
		c->t_rto = 0;
		c->retries = 0;
		t->st.accepted++;
		established(lc, c);
	} else if (predicted(lc, c, m, &s)) {
		return;
	}
	established_input(lc, c, m, &s);
}
