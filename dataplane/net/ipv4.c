/*
 * ipv4.c - IPv4 input (header checks: version, destination, where another
 * host's datagram is ignored before anything else is held against it,
 * options, lengths, checksum, fragments), ICMP echo, UDP input with checksum
 * checks, and
 * building the headers of outgoing UDP datagrams (net/udp_out.h).
 */
#include <rte_byteorder.h>
#include <rte_icmp.h>

#include "net/cksum.h"
#include "net/net.h"
#include "net/tcp.h"
#include "net/udp_out.h"

static void icmp_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
		       struct rte_ipv4_hdr *ip, uint16_t l4_len)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	if (l4_len < sizeof(*icmp) || wc_csum_fold(wc_csum_partial(icmp, l4_len, 0)) != 0xFFFF) {
		wc_net_drop(lc, m, WC_DROP_ICMP_BAD);
		return;
	}
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		wc_net_drop(lc, m, WC_DROP_ICMP_TYPE);
		return;
	}
	/* echo reply in place */
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~wc_csum_fold(wc_csum_partial(icmp, l4_len, 0));
	ip->dst_addr = ip->src_addr;
	ip->src_addr = wc_be32(lc->app->ports[port].ip);
	ip->time_to_live = 64;
	wc_ipv4_hdr_cksum(ip);
	eth->dst_addr = eth->src_addr;
	eth->src_addr = lc->app->ports[port].mac;
	lc->ns.icmp_echo++;
	wc_net_send(lc, port, m);
}

static void udp_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
		      const struct rte_ipv4_hdr *ip, uint16_t l4_len)
{
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
	uint16_t ulen;

	if (l4_len < sizeof(*udp) || (ulen = wc_be16(udp->dgram_len)) < sizeof(*udp) ||
	    ulen > l4_len) {
		wc_net_drop(lc, m, WC_DROP_UDP_SHORT);
		return;
	}
	if (udp->dgram_cksum != 0) {
		uint64_t flags = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

		if (flags == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
		    (flags != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
		     !wc_udp_cksum_ok(ip->src_addr, ip->dst_addr, udp, ulen))) {
			wc_net_drop(lc, m, WC_DROP_UDP_CKSUM);
			return;
		}
	}
	if (!lc->app->cfg.udp_enabled || wc_be16(udp->dst_port) != lc->app->cfg.udp_port) {
		if (lc->app->udp_other) {
			lc->app->udp_other(lc, port, m, ip, udp);	/* a client's replies */
			return;
		}
		wc_net_drop(lc, m, WC_DROP_UDP_PORT);
		return;
	}
	wc_mc_udp_input(lc, port, m, ip, udp);
}

void wc_ipv4_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip;
	uint16_t total, frag;
	uint64_t cks;

	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(*ip)) {
		wc_net_drop(lc, m, WC_DROP_IP_SHORT);
		return;
	}
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	/* version 4 without options, the only header taken: one test when it is that */
	if (__builtin_expect(ip->version_ihl != RTE_IPV4_VHL_DEF, 0)) {
		if ((ip->version_ihl >> 4) != 4) {
			wc_net_drop(lc, m, WC_DROP_IP_VERSION);
			return;
		}
		if ((ip->version_ihl & 0xF) < 5) {
			wc_net_drop(lc, m, WC_DROP_IP_SHORT);
			return;
		}
	}
	/* another host's datagram (or a broadcast): ignored, whatever else is odd about it */
	if (wc_be32(ip->dst_addr) != lc->app->ports[port].ip) {
		wc_net_drop(lc, m, WC_DROP_IP_NOT_US);
		return;
	}
	if (__builtin_expect(ip->version_ihl != RTE_IPV4_VHL_DEF, 0)) {
		wc_net_drop(lc, m, WC_DROP_IP_OPTIONS);
		return;
	}
	total = wc_be16(ip->total_length);
	if (total < sizeof(*ip) || total > m->data_len - RTE_ETHER_HDR_LEN) {
		wc_net_drop(lc, m, WC_DROP_IP_LENGTH);
		return;
	}
	cks = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	if (cks == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
	    (cks != RTE_MBUF_F_RX_IP_CKSUM_GOOD && !wc_ipv4_hdr_ok(ip))) {
		wc_net_drop(lc, m, WC_DROP_IP_CKSUM);
		return;
	}
	frag = wc_be16(ip->fragment_offset);
	if (__builtin_expect((frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) ||
			     ip->time_to_live == 0, 0)) {
		wc_net_drop(lc, m, frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK) ?
				   WC_DROP_IP_FRAGMENT : WC_DROP_IP_TTL);
		return;
	}
	/* drop Ethernet padding beyond the IP datagram */
	m->data_len = m->pkt_len = (uint32_t)RTE_ETHER_HDR_LEN + total;
	switch (ip->next_proto_id) {
	case IPPROTO_TCP:
		wc_tcp_input(lc, port, m, ip, (uint16_t)(total - sizeof(*ip)));
		break;
	case IPPROTO_UDP:
		udp_input(lc, port, m, ip, (uint16_t)(total - sizeof(*ip)));
		break;
	case IPPROTO_ICMP:
		icmp_input(lc, port, m, ip, (uint16_t)(total - sizeof(*ip)));
		break;
	default:
		wc_net_drop(lc, m, WC_DROP_IP_PROTO);
		break;
	}
}

__thread uint16_t wc_udp_ip_id;

void wc_udp_finish(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
		   const struct rte_ether_addr *dst_mac, uint32_t dst_ip, uint16_t src_port,
		   uint16_t dst_port, uint16_t payload_len)
{
	wc_udp_fill(&lc->app->ports[port], m, dst_mac, dst_ip, src_port, dst_port, payload_len,
		    false);
}
