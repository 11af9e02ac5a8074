/*
 * net.h - the dataplane's packet path on one lcore:
 *
 *   wc_net_input -> eth -> arp | ipv4 -> icmp | udp -> memcached over UDP
 *
 * Every packet is either answered, handed to a protocol, or dropped and
 * counted under its reason (core/netstats.h). Replies leave through
 * per-port tx buffers flushed at the end of each burst.
 */
#ifndef WC_NET_NET_H
#define WC_NET_NET_H

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "core/app.h"

/*
 * Network <-> host byte order, either way, for the per-packet path: the
 * compiler's own swaps, which it folds and schedules (DPDK's 16-bit swap of
 * a variable is inline assembly on x86).
 */
static inline uint16_t wc_be16(uint16_t x)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return __builtin_bswap16(x);
#else
	return x;
#endif
}

static inline uint32_t wc_be32(uint32_t x)
{
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
	return __builtin_bswap32(x);
#else
	return x;
#endif
}

/* Handle one received frame from port index port (the lcore owns m). */
void wc_net_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m);

/*
 * Handle a received burst of n frames from port index port: plain memcached
 * UDP gets go through the GET path together (mc_udp_get.h), everything
 * else through wc_net_input, in order. lat, when not NULL, records each
 * request's service time (core/latency.h; its rx_tsc set by the caller).
 */
struct wc_lat;
void wc_net_input_burst(struct wc_lcore *lc, unsigned port, struct rte_mbuf **pkts, unsigned n,
			struct wc_lat *lat);

/* Queue a finished frame for transmission on port index port. */
void wc_net_send(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m);
void wc_net_flush(struct wc_lcore *lc);

static inline void wc_net_drop(struct wc_lcore *lc, struct rte_mbuf *m, enum wc_drop why)
{
	lc->ns.drops[why]++;
	rte_pktmbuf_free(m);
}

/* ARP (arp.c) */
void wc_arp_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m);
/* Send an ARP request for ip (rate-limited per address). */
void wc_arp_probe(struct wc_lcore *lc, unsigned port, uint32_t ip);

/* IPv4, ICMP, UDP (ipv4.c) */
void wc_ipv4_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m);

/*
 * Fill Ethernet, IPv4 and UDP headers in front of a UDP payload already
 * in place at offset WC_UDP_HDRS, with checksums (offloaded when the port
 * can). dst_mac is the resolved next hop.
 */
#define WC_UDP_HDRS (RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr))
void wc_udp_finish(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
		   const struct rte_ether_addr *dst_mac, uint32_t dst_ip, uint16_t src_port,
		   uint16_t dst_port, uint16_t payload_len);

/* memcached over UDP (mc_udp.c) */
void wc_mc_udp_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
		     const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp);
/* Per loop: retry requests waiting for mailbox room or neighbour resolution. */
unsigned wc_mc_udp_poll(struct wc_lcore *lc);
/* A mailbox completion for a UDP request. */
void wc_mc_udp_complete(struct wc_lcore *lc, struct wc_mbox_req *req);
int wc_mc_udp_init(struct wc_lcore *lc);
void wc_mc_udp_fini(struct wc_lcore *lc);

#endif
