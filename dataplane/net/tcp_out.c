/*
 * tcp_out.c - what TCP sends: data segments cut from the connection's
 * reply queue within the peer's window and the congestion window, pure
 * ACKs, SYN-ACKs (also stateless, with a cookie), RSTs, retransmissions,
 * zero-window probes; and the timers that trigger them.
 *
 * Segments are built whole in a fresh mbuf (headers, then the payload
 * copied from the reply queue), so the queue's buffers are never handed to
 * the NIC and a retransmission cannot race a transmission in flight. A
 * connection's segments start from its header template (built at its first
 * segment out): only sequence, acknowledgment, flags, window, length, IP id,
 * timestamps and the checksums are written per segment, and the checksums
 * add those to the template's precomputed sums (or leave the sum to the NIC).
 */
#include <string.h>

#include <rte_byteorder.h>

#include "net/cksum.h"
#include "net/tcp_impl.h"

#define TCP_HDRS (RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr))

static uint16_t our_mss(const struct wc_port *pt)
{
	(void)pt;
	return 1460;	/* Ethernet MTU 1500 - 40 */
}

/* Window field to advertise, recording the right edge it promises. */
static uint16_t adv_window(const struct wc_tcp_lc *t, struct wc_tcb *c)
{
	/* (wc_tcp_squeezed, with c's lcore at hand) */
	bool squeezed = c->lc && (t->rx_pressure || c->upload_wait);
	uint64_t used = c->rx.len + c->ooo_bytes, cap = c->rcv_cap;
	uint32_t w;

	/* (wc_tcp_rcv_window, with the squeeze looked up once) */
	if (squeezed && cap > WC_TCP_PRESSURE_SHARE)
		cap = WC_TCP_PRESSURE_SHARE;
	w = (cap > used ? (uint32_t)(cap - used) : 0) >> c->rcv_wscale;
	if (w > 0xFFFF)
		w = 0xFFFF;
	/* never move the right edge back (RFC 9293 3.8.6), but to squeeze a connection */
	if (!squeezed && SEQ_LT(c->rcv_nxt + (w << c->rcv_wscale), c->rcv_adv))
		w = (c->rcv_adv - c->rcv_nxt) >> c->rcv_wscale;
	c->rcv_adv = c->rcv_nxt + (w << c->rcv_wscale);
	return (uint16_t)w;
}

/*
 * Fill Ethernet/IPv4/TCP headers of m (payload already at TCP_HDRS +
 * optlen) and queue it. False (and m freed) when the peer's MAC is unknown.
 */
static inline __attribute__((always_inline)) bool
emit(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m, uint32_t rip,
		 uint16_t rport, uint16_t lport, uint32_t seq, uint32_t ack, uint8_t flags,
		 uint16_t win, const uint8_t *opts, uint8_t optlen, uint16_t payload)
{
	const struct wc_port *pt = &lc->app->ports[port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint16_t l4 = (uint16_t)(sizeof(*th) + optlen + payload);

	if (!wc_lcore_neigh(lc, rip, &eth->dst_addr)) {
		wc_arp_probe(lc, port, rip);
		wc_net_drop(lc, m, WC_DROP_NEIGH_UNRESOLVED);
		return false;	/* TCP retransmits once the peer resolves */
	}
	eth->src_addr = pt->mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4));
	ip->packet_id = rte_cpu_to_be_16(lc->tcp->ip_id++);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(pt->ip);
	ip->dst_addr = rte_cpu_to_be_32(rip);
	th->src_port = rte_cpu_to_be_16(lport);
	th->dst_port = rte_cpu_to_be_16(rport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((sizeof(*th) + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(win);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen)
		memcpy(th + 1, opts, optlen);
	m->data_len = m->pkt_len = (uint32_t)(RTE_ETHER_HDR_LEN + sizeof(*ip) + l4);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = sizeof(*ip);
	m->l4_len = (uint8_t)(sizeof(*th) + optlen);
	m->ol_flags = RTE_MBUF_F_TX_IPV4;
	if (pt->tx_ip_cksum) {
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
		ip->hdr_checksum = 0;
	} else {
		wc_ipv4_hdr_cksum(ip);
	}
	if (pt->tx_l4_cksum) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
		th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		th->cksum = (uint16_t)~wc_csum_fold(wc_csum_partial(th, l4, wc_csum_pseudo(ip, l4)));
	}
	lc->tcp->st.segs_out++;
	if (flags & RTE_TCP_RST_FLAG)
		lc->tcp->st.resets_sent++;
	wc_net_send(lc, port, m);
	return true;
}

/* The timestamp option, NOP-aligned: 12 bytes. */
static uint8_t ts_option(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
	uint32_t v[2] = { rte_cpu_to_be_32(tsval), rte_cpu_to_be_32(tsecr) };

	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	memcpy(o + 4, v, 8);
	return 12;
}

/*
 * SACK blocks (RFC 2018) for what is held out of order: contiguous runs of
 * held segments, the one holding the newest arrival first. Returns the
 * option bytes written to o (0 when there is nothing to report).
 */
static uint8_t sack_option(const struct wc_tcb *c, uint8_t *o, unsigned max)
{
	uint32_t left[WC_TCP_SACK_BLOCKS], right[WC_TCP_SACK_BLOCKS];
	unsigned n = 0, first = 0, k = 0, order[WC_TCP_SACK_BLOCKS];
	const struct rte_mbuf *m = c->ooo;

	while (m) {
		uint32_t l = m->hash.usr, r = l + m->data_len;
		bool newest;

		/* extend over segments that touch or overlap this run */
		for (m = m->next; m && SEQ_LE(m->hash.usr, r); m = m->next)
			if (SEQ_GT(m->hash.usr + m->data_len, r))
				r = m->hash.usr + m->data_len;
		newest = SEQ_GE(c->ooo_last, l) && SEQ_LT(c->ooo_last, r);
		if (n < max) {
			if (newest)
				first = n;
			left[n] = l;
			right[n++] = r;
		} else if (newest) {
			first = max - 1;	/* the newest run is always reported */
			left[first] = l;
			right[first] = r;
		}
	}
	if (n == 0)
		return 0;
	o[0] = 1;	/* NOP, NOP, SACK */
	o[1] = 1;
	o[2] = 5;
	o[3] = (uint8_t)(2 + 8 * n);
	order[k++] = first;	/* the newest first, then the others by sequence */
	for (unsigned i = 0; i < n; i++)
		if (i != first)
			order[k++] = i;
	for (unsigned i = 0; i < n; i++) {
		uint32_t lb = rte_cpu_to_be_32(left[order[i]]), rb = rte_cpu_to_be_32(right[order[i]]);

		memcpy(o + 4 + 8 * i, &lb, 4);
		memcpy(o + 8 + 8 * i, &rb, 4);
	}
	return (uint8_t)(4 + 8 * n);
}

/*
 * A segment the general way: options assembled, headers written one by one
 * (emit). For an ACK with SACK blocks, which the template does not cover,
 * and for everything while the fast paths are off (tests compare the two).
 * false: no buffer.
 */
static bool send_general(struct wc_lcore *lc, struct wc_tcb *c, uint32_t seq, uint32_t len,
			 uint8_t flags)
{
	struct rte_mbuf *m = wc_tcp_mbuf(lc);
	uint8_t opts[40], optlen = 0;

	if (!m) {
		lc->ns.drops[WC_DROP_NO_MBUF]++;
		return false;
	}
	if (c->ts_ok)	/* (c->mss already leaves room for it) */
		optlen = ts_option(opts, (uint32_t)lc->tcp->now_ms, c->ts_recent);
	if (len)
		wc_bytes_copy(&c->tx, seq - c->snd_una,
			      rte_pktmbuf_mtod_offset(m, uint8_t *, TCP_HDRS + optlen), len);
	else if (c->sack_ok && c->ooo) {
		optlen = (uint8_t)(optlen + sack_option(c, opts + optlen,
							c->ts_ok ? WC_TCP_SACK_BLOCKS - 1 :
								   WC_TCP_SACK_BLOCKS));
		c->sack_dirty = false;
	}
	emit(lc, c->port, m, c->rip, c->rport, c->lport, seq, c->rcv_nxt, flags,
	     adv_window(lc->tcp, c), opts, optlen, (uint16_t)len);
	return true;
}

/*
 * c's header template: what emit would write for every segment of the
 * connection, with the length, id, sequence, acknowledgment, flags, window,
 * timestamps and checksums left zero, and the sums of the rest.
 */
static void tmpl_build(struct wc_lcore *lc, struct wc_tcb *c)
{
	const struct wc_port *pt = &lc->app->ports[c->port];
	struct wc_tcp_tmpl *tp = &c->tmpl;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)tp->hdr;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t optlen = c->ts_ok ? 12 : 0;

	memset(tp, 0, sizeof(*tp));
	eth->src_addr = pt->mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(pt->ip);
	ip->dst_addr = rte_cpu_to_be_32(c->rip);
	th->src_port = rte_cpu_to_be_16(c->lport);
	th->dst_port = rte_cpu_to_be_16(c->rport);
	th->data_off = (uint8_t)(((sizeof(*th) + optlen) / 4) << 4);
	if (optlen)
		ts_option((uint8_t *)(th + 1), 0, 0);
	tp->ip_sum = wc_csum_partial(ip, sizeof(*ip), 0);
	tp->ph_sum = wc_csum_pseudo(ip, 0);
	tp->l4_sum = wc_csum_partial(th, sizeof(*th) + optlen, 0);
	tp->len = (uint8_t)(TCP_HDRS + optlen);
}

/*
 * memcpy, with a short reply's bytes moved in overlapping 16-byte pieces
 * (nothing outside [0, len) read or written).
 */
static inline void copy_payload(uint8_t *d, const uint8_t *s, uint32_t len)
{
	if (len < 16 || len > 128) {
		memcpy(d, s, len);
		return;
	}
	/* the pieces at 0, 16, ... short of the last 16 bytes, then those */
	memcpy(d, s, 16);
	if (len > 32) {
		memcpy(d + 16, s + 16, 16);
		if (len > 48) {
			memcpy(d + 32, s + 32, 16);
			if (len > 64) {
				memcpy(d + 48, s + 48, 16);
				if (len > 80) {
					memcpy(d + 64, s + 64, 16);
					if (len > 96) {
						memcpy(d + 80, s + 80, 16);
						if (len > 112)
							memcpy(d + 96, s + 96, 16);
					}
				}
			}
		}
	}
	memcpy(d + len - 16, s + len - 16, 16);
}

/*
 * What emit does for a segment of c, from its template: the same bytes.
 * The words written here sit at even offsets, so each adds to the sums as
 * it lies in memory (a flags byte, at an odd one, adds shifted).
 */
static inline __attribute__((always_inline)) void emit_templated(struct wc_lcore *lc, struct wc_tcb *c, struct rte_mbuf *m, uint32_t seq,
			   uint8_t flags, uint32_t len)
{
	const struct wc_tcp_tmpl *tp = &c->tmpl;
	const struct wc_port *pt = &lc->app->ports[c->port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t *payload = (uint8_t *)eth + tp->len;
	uint16_t hlen = (uint16_t)(tp->len - RTE_ETHER_HDR_LEN - sizeof(*ip));
	uint16_t l4 = (uint16_t)(hlen + len), l4_be = rte_cpu_to_be_16(l4);
	uint64_t sum, ts_sum = 0;

	memcpy(eth, tp->hdr, WC_TCP_TMPL_MAX);	/* (the mbuf has room for it, whatever len) */
	if (!wc_lcore_neigh(lc, c->rip, &eth->dst_addr)) {
		wc_arp_probe(lc, c->port, c->rip);
		wc_net_drop(lc, m, WC_DROP_NEIGH_UNRESOLVED);
		return;	/* TCP retransmits once the peer resolves */
	}
	if (len) {
		const struct wc_bytes *q = &c->tx;
		uint64_t off = seq - c->snd_una;

		if (q->head && off + q->head_off + len <= q->head->data_len)
			copy_payload(payload, rte_pktmbuf_mtod_offset(q->head, const uint8_t *,
								      q->head_off + off), len);
		else
			wc_bytes_copy(q, off, payload, len);
	}
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4));
	ip->packet_id = rte_cpu_to_be_16(lc->tcp->ip_id++);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(c->rcv_nxt);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(adv_window(lc->tcp, c));
	sum = tp->ph_sum + l4_be;
	if (hlen > sizeof(*th)) {
		uint32_t v[2] = { rte_cpu_to_be_32((uint32_t)lc->tcp->now_ms),
				  rte_cpu_to_be_32(c->ts_recent) };

		memcpy((uint8_t *)(th + 1) + 4, v, 8);	/* the timestamp option's values */
		ts_sum = (uint64_t)v[0] + v[1];
	}
	m->data_len = m->pkt_len = (uint32_t)(tp->len + len);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = sizeof(*ip);
	m->l4_len = (uint8_t)hlen;
	m->ol_flags = RTE_MBUF_F_TX_IPV4;
	if (pt->tx_ip_cksum)
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
	else
		ip->hdr_checksum = (uint16_t)~wc_csum_fold(tp->ip_sum + ip->total_length +
							   ip->packet_id);
	if (pt->tx_l4_cksum) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
		th->cksum = wc_csum_fold(sum);	/* the pseudo-header's, for the NIC */
	} else {
		sum += tp->l4_sum + ts_sum + th->sent_seq + th->recv_ack + ((uint32_t)flags << 8) +
		       th->rx_win;
		if (len)
			sum = wc_csum_partial(payload, len, sum);
		th->cksum = (uint16_t)~wc_csum_fold(sum);
	}
	lc->tcp->st.segs_out++;
	wc_net_send(lc, c->port, m);
}

/* A segment of the connection carrying len bytes of the reply queue from seq. */
static inline __attribute__((always_inline)) void
send_segment_inline(struct wc_lcore *lc, struct wc_tcb *c, uint32_t seq, uint32_t len,
		    uint8_t flags)
{
	if (__builtin_expect((len == 0 && c->sack_ok && c->ooo != NULL) || lc->tcp->slow_only, 0)) {
		if (!send_general(lc, c, seq, len, flags))
			return;	/* the retransmission timer brings it back */
	} else {
		struct rte_mbuf *m = wc_tcp_mbuf_inline(lc);

		if (!m) {
			lc->ns.drops[WC_DROP_NO_MBUF]++;
			return;
		}
		if (__builtin_expect(!c->tmpl.len, 0))
			tmpl_build(lc, c);
		emit_templated(lc, c, m, seq, flags, len);
	}
	/* every segment we send carries our ACK */
	c->unacked_segs = 0;
	c->ack_now = false;
	c->t_delack = 0;
}

/* The same, out of line (all but the fast path's call). */
static void send_segment(struct wc_lcore *lc, struct wc_tcb *c, uint32_t seq, uint32_t len,
			 uint8_t flags)
{
	send_segment_inline(lc, c, seq, len, flags);
}

void wc_tcp_retransmit_one(struct wc_lcore *lc, struct wc_tcb *c)
{
	uint32_t len = c->tx.len < c->mss ? (uint32_t)c->tx.len : c->mss;
	uint32_t sent = c->snd_max - c->snd_una - (c->fin_sent ? 1 : 0);

	if (len > sent)
		len = sent;	/* only what was sent before */
	if (len)
		send_segment(lc, c, c->snd_una, len, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
}

void wc_tcp_rto_arm(struct wc_tcp_lc *t, struct wc_tcb *c)
{
	if (__builtin_expect(!c->retries, 1)) {
		c->t_rto = t->now_ms + c->rto_ms;	/* no backoff: within the cap already */
		return;
	}
	c->t_rto = t->now_ms + (c->rto_ms << (c->retries > 6 ? 6 : c->retries));
	if (c->t_rto > t->now_ms + WC_TCP_RTO_MAX_MS)
		c->t_rto = t->now_ms + WC_TCP_RTO_MAX_MS;
}

void wc_tcp_send_ack(struct wc_lcore *lc, struct wc_tcb *c)
{
	send_segment(lc, c, c->snd_nxt, 0, RTE_TCP_ACK_FLAG);
}

/*
 * SYN options: MSS, window scale (wscale < 0: none), SACK-permitted and
 * timestamps (ts: with tsecr echoed), each group 4-byte aligned; at most 24.
 */
static uint8_t syn_options(uint8_t *o, uint16_t mss, int wscale, bool sack, bool ts,
			   uint32_t tsval, uint32_t tsecr)
{
	uint8_t n = 4;

	o[0] = 2;		/* MSS */
	o[1] = 4;
	o[2] = (uint8_t)(mss >> 8);
	o[3] = (uint8_t)mss;
	if (wscale >= 0) {
		o[n++] = 1;	/* NOP */
		o[n++] = 3;	/* window scale */
		o[n++] = 3;
		o[n++] = (uint8_t)wscale;
	}
	if (sack) {
		o[n++] = 1;	/* NOP, NOP */
		o[n++] = 1;
		o[n++] = 4;	/* SACK permitted */
		o[n++] = 2;
	}
	if (ts)
		n = (uint8_t)(n + ts_option(o + n, tsval, tsecr));
	return n;
}

void wc_tcp_send_synack(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct rte_mbuf *m = wc_tcp_mbuf(lc);
	uint8_t opts[24], n;
	uint32_t win = c->rcv_cap > 0xFFFF ? 0xFFFF : c->rcv_cap;

	if (!m) {
		lc->ns.drops[WC_DROP_NO_MBUF]++;
		return;
	}
	n = syn_options(opts, our_mss(&lc->app->ports[c->port]), c->rcv_wscale ? c->rcv_wscale : -1,
			c->sack_ok, c->ts_ok, (uint32_t)lc->tcp->now_ms, c->ts_recent);
	c->rcv_adv = c->rcv_nxt + win;
	emit(lc, c->port, m, c->rip, c->rport, c->lport, c->iss, c->rcv_nxt,
	     RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, (uint16_t)win, opts, n, 0);
}

void wc_tcp_send_syn(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct rte_mbuf *m = wc_tcp_mbuf(lc);
	uint8_t opts[24], n;
	uint32_t win = c->rcv_cap > 0xFFFF ? 0xFFFF : c->rcv_cap;

	if (!m) {
		lc->ns.drops[WC_DROP_NO_MBUF]++;
		return;
	}
	n = syn_options(opts, our_mss(&lc->app->ports[c->port]), c->rcv_wscale, true, true,
			(uint32_t)lc->tcp->now_ms, 0);
	emit(lc, c->port, m, c->rip, c->rport, c->lport, c->iss, 0, RTE_TCP_SYN_FLAG, (uint16_t)win,
	     opts, n, 0);
}

void wc_tcp_cookie_synack(struct wc_lcore *lc, unsigned port, const struct rte_ipv4_hdr *ip,
			  const struct rte_tcp_hdr *th, uint16_t mss)
{
	struct wc_tcp_lc *t = lc->tcp;
	struct rte_mbuf *m = wc_tcp_mbuf(lc);
	uint32_t rip = rte_be_to_cpu_32(ip->src_addr), isn = rte_be_to_cpu_32(th->sent_seq);
	uint16_t rport = rte_be_to_cpu_16(th->src_port), lport = rte_be_to_cpu_16(th->dst_port);
	uint8_t idx = wc_tcp_mss_index(mss), opts[4];
	static const uint16_t table[8] = { 536, 1000, 1220, 1300, 1380, 1440, 1460, 8960 };
	uint16_t ours = our_mss(&lc->app->ports[port]);

	if (!m) {
		lc->ns.drops[WC_DROP_NO_MBUF]++;
		return;
	}
	syn_options(opts, table[idx] < ours ? table[idx] : ours, -1, false, false, 0, 0);
	emit(lc, port, m, rip, rport, lport, wc_tcp_cookie(t, rip, rport, lport, isn, idx), isn + 1,
	     RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0xFFFF, opts, 4, 0);
	t->st.syncookies_sent++;
}

void wc_tcp_reset_reply(struct wc_lcore *lc, unsigned port, const struct rte_ipv4_hdr *ip,
			const struct rte_tcp_hdr *th, uint16_t payload)
{
	struct rte_mbuf *m;
	uint8_t f = th->tcp_flags;
	uint32_t seq = 0, ack = 0;
	uint8_t flags = RTE_TCP_RST_FLAG;

	if (f & RTE_TCP_RST_FLAG)
		return;	/* never answer a RST */
	m = wc_tcp_mbuf(lc);
	if (!m) {
		lc->ns.drops[WC_DROP_NO_MBUF]++;
		return;
	}
	if (f & RTE_TCP_ACK_FLAG) {
		seq = rte_be_to_cpu_32(th->recv_ack);
	} else {
		ack = rte_be_to_cpu_32(th->sent_seq) + payload + !!(f & RTE_TCP_SYN_FLAG) +
		      !!(f & RTE_TCP_FIN_FLAG);
		flags |= RTE_TCP_ACK_FLAG;
	}
	emit(lc, port, m, rte_be_to_cpu_32(ip->src_addr), rte_be_to_cpu_16(th->src_port),
	     rte_be_to_cpu_16(th->dst_port), seq, ack, flags, 0, NULL, 0, 0);
}

void wc_tcp_reset_conn(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct rte_mbuf *m = wc_tcp_mbuf(lc);

	if (m)
		emit(lc, c->port, m, c->rip, c->rport, c->lport, c->snd_nxt, c->rcv_nxt,
		     RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, NULL, 0, 0);
	lc->tcp->st.aborted++;
	wc_tcb_free(lc, c);
}

/*
 * The common case of wc_tcp_output on a request/response connection: one
 * reply, new and whole within one segment and the windows, nothing else
 * to send (no FIN, no SACK). The same segment and state as the loop below
 * would give; false: not this case, nothing done.
 */
static inline bool output_one(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_tcp_lc *t = lc->tcp;
	uint32_t flight = c->snd_nxt - c->snd_una, len;
	uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;

	if (c->state != TCP_ESTABLISHED || c->zombie || c->fin_wanted || c->fin_sent || c->ooo ||
	    t->slow_only ||
	    c->snd_nxt != c->snd_max || c->tx.len <= flight || c->tx.len - flight > c->mss ||
	    flight >= wnd || c->tx.len - flight > wnd - flight)
		return false;
	len = (uint32_t)(c->tx.len - flight);
	t->fast_out++;
	send_segment_inline(lc, c, c->snd_nxt, len, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG);
	if (!c->rtt_active) {
		c->rtt_active = true;	/* a fresh segment: timed (Karn) */
		c->rtt_seq = c->snd_nxt + len;
		c->rtt_start = t->now_us;
	}
	c->snd_nxt += len;
	c->snd_max = c->snd_nxt;
	c->tx_last_ms = t->now_ms;	/* (CLIENT LIST's idle=: a reply written is interaction) */
	if (!c->t_rto)
		wc_tcp_rto_arm(t, c);
	if (c->ack_now)
		wc_tcp_send_ack(lc, c);	/* (the segment found no buffer) */
	else if (c->unacked_segs && !c->t_delack)
		c->t_delack = t->now_ms + WC_TCP_DELACK_MS;
	wc_tcb_reschedule(t, c);
	return true;
}

void wc_tcp_output(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_tcp_lc *t = lc->tcp;

	if (output_one(lc, c))
		return;
	if (c->state == TCP_FREE || c->state == TCP_SYN_RCVD || c->state == TCP_SYN_SENT ||
	    c->zombie)
		goto done;
	if (c->state == TCP_TIME_WAIT) {
		if (c->ack_now)
			wc_tcp_send_ack(lc, c);	/* the ACK of the peer's FIN */
		goto done;
	}
	for (;;) {
		uint32_t sent = c->snd_nxt - c->snd_una - (c->fin_sent ? 1 : 0);
		uint64_t unsent = c->tx.len > sent ? c->tx.len - sent : 0;
		uint32_t flight = c->snd_nxt - c->snd_una;
		uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
		uint32_t len;

		if (unsent == 0 || c->fin_sent)
			break;
		if (flight >= wnd) {
			if (c->snd_wnd == 0 && !c->t_persist) {
				c->t_persist = t->now_ms + c->rto_ms;
				if (!c->zero_since)
					c->zero_since = t->now_ms;
			}
			break;
		}
		len = wnd - flight;
		if (len > c->mss)
			len = c->mss;
		if (len > unsent)
			len = (uint32_t)unsent;
		send_segment(lc, c, c->snd_nxt,  len,
			     RTE_TCP_ACK_FLAG | (len == unsent ? RTE_TCP_PSH_FLAG : 0));
		if (!c->rtt_active && !SEQ_LT(c->snd_nxt, c->snd_max)) {
			/* time a fresh segment only (Karn) */
			c->rtt_active = true;
			c->rtt_seq = c->snd_nxt + len;
			c->rtt_start = t->now_us;
		}
		c->snd_nxt += len;
		if (SEQ_GT(c->snd_nxt, c->snd_max)) {
			c->snd_max = c->snd_nxt;
			c->tx_last_ms = t->now_ms;	/* new data, not a retransmission */
		}
		if (!c->t_rto)
			wc_tcp_rto_arm(t, c);
	}
	if (c->fin_wanted && !c->fin_sent && c->snd_nxt - c->snd_una == c->tx.len) {
		send_segment(lc, c, c->snd_nxt, 0, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG);
		c->fin_sent = true;
		c->snd_nxt++;
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (!c->t_rto)
			wc_tcp_rto_arm(t, c);
		if (c->state == TCP_ESTABLISHED)
			c->state = TCP_FIN_WAIT_1;
		else if (c->state == TCP_CLOSE_WAIT)
			c->state = TCP_LAST_ACK;
	}
	if (c->ack_now || (c->sack_dirty && c->sack_ok && c->ooo))
		wc_tcp_send_ack(lc, c);
	else if (c->unacked_segs && !c->t_delack)
		c->t_delack = t->now_ms + WC_TCP_DELACK_MS;
done:
	if (c->state != TCP_FREE && !c->zombie)
		wc_tcb_reschedule(t, c);
}

/* Zero-window probe: an old sequence number makes the peer repeat its window. */
static void send_probe(struct wc_lcore *lc, struct wc_tcb *c)
{
	send_segment(lc, c, c->snd_una - 1, 0, RTE_TCP_ACK_FLAG);
	lc->tcp->st.zero_window_probes++;
}

void wc_tcp_timers(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_tcp_lc *t = lc->tcp;
	uint64_t now = t->now_ms;

	if (c->t_end && now >= c->t_end) {
		/* TIME_WAIT over, or a FIN_WAIT_2 / LAST_ACK peer gone */
		c->t_end = 0;
		wc_tcb_free(lc, c);
		return;
	}
	if (c->t_idle && now >= c->t_idle) {
		uint32_t req_ms = lc->app->cfg.request_timeout_ms;

		c->t_idle = 0;
		if (c->mid_request && req_ms &&
		    (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT)) {
			if (now >= c->rx_last_ms + req_ms) {
				/* silent in the middle of a request: what it holds goes back now */
				t->st.request_timeouts++;
				wc_tcp_reset_conn(lc, c);
				return;
			}
			wc_tcp_touch_idle(lc, c);	/* more of the request came since */
		} else if (c->state == TCP_ESTABLISHED && !c->app_closed && c->app &&
			   c->app->keep_idle && c->app->keep_idle(c)) {
			wc_tcp_touch_idle(lc, c);	/* exempt while the application says so */
		} else if (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT) {
			/* a graceful close: replies already queued still go out */
			t->st.idle_closed++;
			c->app_closed = true;
			c->fin_wanted = true;
			c->t_end = now + WC_TCP_FIN_WAIT_MS;
		} else if (c->state == TCP_SYN_RCVD) {
			t->st.idle_closed++;	/* a half-open peer: nothing to tell it */
			wc_tcb_free(lc, c);
			return;
		} else {
			wc_tcp_reset_conn(lc, c);	/* stuck closing: counted as aborted */
			return;
		}
	}
	if (c->t_rto && now >= c->t_rto) {
		c->t_rto = 0;
		if (c->state == TCP_SYN_SENT) {
			if (++c->retries > WC_TCP_SYN_RETRIES) {
				t->st.connect_failed++;	/* no answer: give up */
				wc_tcb_free(lc, c);
				return;
			}
			wc_tcp_send_syn(lc, c);
			t->st.retransmits++;
			wc_tcp_rto_arm(t, c);
			wc_tcb_schedule(t, c);
			return;
		}
		if (c->state == TCP_SYN_RCVD) {
			if (++c->retries > WC_TCP_SYN_RETRIES) {
				wc_tcb_free(lc, c);	/* a half-open peer holds nothing */
				return;
			}
			wc_tcp_send_synack(lc, c);
			t->st.retransmits++;
			wc_tcp_rto_arm(t, c);
			wc_tcb_schedule(t, c);
			return;
		}
		if (++c->retries > WC_TCP_DATA_RETRIES) {
			wc_tcp_reset_conn(lc, c);
			return;
		}
		t->st.rto_timeouts++;
		t->st.retransmits++;
		{
			uint32_t flight = c->snd_max - c->snd_una;

			c->ssthresh = flight / 2 > 2u * c->mss ? flight / 2 : 2u * c->mss;
		}
		c->cwnd = c->mss;
		c->rtt_active = false;		/* Karn: no sample from retransmissions */
		c->in_recovery = false;
		c->dupacks = 0;
		/* go back to the first unacknowledged byte (the FIN too, if unacked) */
		c->snd_nxt = c->snd_una;
		c->fin_sent = false;
		if (c->state == TCP_FIN_WAIT_1 || c->state == TCP_CLOSING)
			c->fin_wanted = true;
		if (c->state == TCP_LAST_ACK) {
			c->state = TCP_CLOSE_WAIT;
			c->fin_wanted = true;
		}
		if (c->state == TCP_FIN_WAIT_1)
			c->state = TCP_ESTABLISHED;
		wc_tcp_rto_arm(t, c);
	}
	if (c->t_persist && now >= c->t_persist) {
		c->t_persist = 0;
		if (c->snd_wnd == 0) {
			uint64_t limit = lc->app->cfg.tcp_idle_ms < WC_TCP_ZERO_WINDOW_MS ?
					 lc->app->cfg.tcp_idle_ms : WC_TCP_ZERO_WINDOW_MS;

			if (c->zero_since && now - c->zero_since > limit) {
				wc_tcp_reset_conn(lc, c);	/* a peer that never reads */
				return;
			}
			send_probe(lc, c);
			c->t_persist = now + (c->rto_ms << 2 > 5000 ? 5000 : c->rto_ms << 2);
		}
	}
	if (c->t_delack && now >= c->t_delack) {
		c->t_delack = 0;
		c->ack_now = true;
	}
	wc_tcp_output(lc, c);
}
