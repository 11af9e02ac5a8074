/*
 * udp_out.h - the Ethernet, IPv4 and UDP headers of an outgoing UDP
 * datagram, written inline: wc_udp_finish (ipv4.c) is this, and the
 * memcached GET reply path (mc_udp.c), which sends one datagram per
 * request, inlines it with the port's constants at hand, or copies a
 * per-destination image of the headers (wc_udp_tmpl). Also the IPv4 id
 * counter every UDP sender on the lcore's thread shares, and the tx queue's
 * inline form.
 */
#ifndef WC_NET_UDP_OUT_H
#define WC_NET_UDP_OUT_H

#include <string.h>

#include "net/cksum.h"
#include "net/net.h"

/* The IPv4 id of this thread's next UDP datagram (ipv4.c). */
extern __thread uint16_t wc_udp_ip_id;

/*
 * wc_udp_finish's work (net.h): headers in front of payload_len bytes at
 * WC_UDP_HDRS, checksums computed or left to the port. padded (a
 * constant): the caller leaves 32 bytes of room after the payload, which the
 * UDP checksum may zero to sum whole blocks.
 */
static inline __attribute__((always_inline)) void
wc_udp_fill(const struct wc_port *pt, struct rte_mbuf *m, const struct rte_ether_addr *dst_mac,
	    uint32_t dst_ip, uint16_t src_port, uint16_t dst_port, uint16_t payload_len, bool padded)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	const uint16_t ulen = (uint16_t)(sizeof(*udp) + payload_len);
	const uint16_t total = (uint16_t)(sizeof(*ip) + ulen), id = wc_udp_ip_id++;

	eth->dst_addr = *dst_mac;
	eth->src_addr = pt->mac;
	eth->ether_type = wc_be16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = wc_be16(total);
	ip->packet_id = wc_be16(id);
	ip->fragment_offset = 0;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = wc_be32(pt->ip);
	ip->dst_addr = wc_be32(dst_ip);
	udp->src_port = wc_be16(src_port);
	udp->dst_port = wc_be16(dst_port);
	udp->dgram_len = wc_be16(ulen);
	udp->dgram_cksum = 0;
	m->data_len = m->pkt_len = (uint32_t)(WC_UDP_HDRS + payload_len);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = sizeof(*ip);
	m->ol_flags = RTE_MBUF_F_TX_IPV4;
	if (pt->tx_ip_cksum)
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
	else	/* from the fields just written, not a pass over the header */
		ip->hdr_checksum = wc_ipv4_cksum_fields(64u << 8 | IPPROTO_UDP, total, id, pt->ip,
							dst_ip);
	if (pt->tx_l4_cksum) {
		m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else if (padded) {
		udp->dgram_cksum = wc_udp_cksum_padded(wc_be32(pt->ip), wc_be32(dst_ip), udp, ulen);
	} else {
		udp->dgram_cksum = wc_udp_cksum_fields(wc_be32(pt->ip), wc_be32(dst_ip), udp, ulen);
	}
}

/*
 * The headers of datagrams from one port and UDP port to one destination,
 * for a port that offloads no checksum: what wc_udp_fill writes but for the
 * lengths, the id, the destination port and the checksums, kept as an image
 * with the sums of its fixed fields, so that each datagram copies it and
 * adds only what varies.
 */
struct wc_udp_tmpl {
	uint8_t hdr[WC_UDP_HDRS];
	uint32_t ip_sum;		/* the IPv4 header's fixed 16-bit words, host order */
	uint64_t pseudo;		/* wc_udp_pseudo_addrs of the addresses */
};

static inline void wc_udp_tmpl_init(struct wc_udp_tmpl *t, const struct wc_port *pt,
				    const struct rte_ether_addr *dst_mac, uint32_t dst_ip,
				    uint16_t src_port)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)t->hdr;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(t->hdr, 0, sizeof(t->hdr));
	eth->dst_addr = *dst_mac;
	eth->src_addr = pt->mac;
	eth->ether_type = wc_be16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = wc_be32(pt->ip);
	ip->dst_addr = wc_be32(dst_ip);
	udp->src_port = wc_be16(src_port);
	/* version and header length, TOS 0; TTL and protocol; the addresses */
	t->ip_sum = ((uint32_t)RTE_IPV4_VHL_DEF << 8) + (64u << 8 | IPPROTO_UDP) + (pt->ip >> 16) +
		    (pt->ip & 0xFFFF) + (dst_ip >> 16) + (dst_ip & 0xFFFF);
	t->pseudo = wc_udp_pseudo_addrs(wc_be32(pt->ip), wc_be32(dst_ip));
}

/*
 * wc_udp_fill from a template (its port offloads no checksum), with 32
 * bytes of room after the payload (wc_udp_cksum_padded_sum): the same bytes.
 */
static inline __attribute__((always_inline)) void
wc_udp_tmpl_fill(const struct wc_udp_tmpl *t, struct rte_mbuf *m, uint16_t dst_port,
		 uint16_t payload_len)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	const uint16_t ulen = (uint16_t)(sizeof(*udp) + payload_len);
	const uint16_t total = (uint16_t)(sizeof(*ip) + ulen), id = wc_udp_ip_id++;

	/* the image in two overlapping copies: 0-31 and 26-41 (the frame header after it stays) */
	memcpy(f, t->hdr, 32);
	memcpy(f + WC_UDP_HDRS - 16, t->hdr + WC_UDP_HDRS - 16, 16);
	ip->total_length = wc_be16(total);
	ip->packet_id = wc_be16(id);
	ip->hdr_checksum = wc_ipv4_cksum_of_sum(t->ip_sum + total + id);
	udp->dst_port = wc_be16(dst_port);
	udp->dgram_len = wc_be16(ulen);
	m->data_len = m->pkt_len = (uint32_t)(WC_UDP_HDRS + payload_len);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = sizeof(*ip);
	m->ol_flags = RTE_MBUF_F_TX_IPV4;
	udp->dgram_cksum = wc_udp_cksum_padded_sum(t->pseudo, udp, ulen);
}

/* wc_net_send (input.c), inline. */
static inline void wc_net_queue(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m)
{
	lc->ns.tx_pkts++;
	lc->ns.tx_bytes += m->pkt_len;
	lc->tx[port][lc->ntx[port]++] = m;
	if (lc->ntx[port] == WC_TX_BUF)
		wc_net_flush(lc);
}

#endif
