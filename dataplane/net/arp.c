/*
 * arp.c - ARP for our addresses: answer requests, learn neighbours from
 * requests aimed at us and from replies, and ask for unknown neighbours.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>

#include "net/neigh.h"
#include "net/net.h"

void wc_arp_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m)
{
	const struct wc_port *pt = &lc->app->ports[port];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint32_t sip, tip;
	uint16_t op;

	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		wc_net_drop(lc, m, WC_DROP_ARP_BAD);
		return;
	}
	op = rte_be_to_cpu_16(arp->arp_opcode);
	sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
	tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
	if (tip != pt->ip) {
		wc_net_drop(lc, m, WC_DROP_ARP_NOT_US);	/* another host's (or a gratuitous) ARP */
		return;
	}
	if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) {
		wc_net_drop(lc, m, WC_DROP_ARP_BAD);
		return;
	}
	if (sip != 0 && wc_prefix_match(&(struct wc_prefix){ pt->ip, pt->prefix }, sip))
		wc_neigh_learn(lc->app->neigh, sip, &arp->arp_data.arp_sha, lc->ctx.clock.now);
	if (op == RTE_ARP_OP_REPLY) {
		lc->ns.arp_replies_in++;
		rte_pktmbuf_free(m);
		return;
	}
	/* answer in place */
	lc->ns.arp_requests_in++;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	arp->arp_data.arp_sha = pt->mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(pt->ip);
	eth->dst_addr = eth->src_addr;
	eth->src_addr = pt->mac;
	m->pkt_len = m->data_len = RTE_ETHER_HDR_LEN + sizeof(*arp);
	lc->ns.arp_replies_out++;
	wc_net_send(lc, port, m);
}

void wc_arp_probe(struct wc_lcore *lc, unsigned port, uint32_t ip)
{
	const struct wc_port *pt = &lc->app->ports[port];
	struct rte_mbuf *m;
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (!wc_neigh_should_probe(lc->app->neigh, ip, lc->ctx.clock.now))
		return;
	m = rte_pktmbuf_alloc(lc->pool);
	if (!m) {
		lc->ns.drops[WC_DROP_NO_MBUF]++;
		return;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xFF, RTE_ETHER_ADDR_LEN);
	eth->src_addr = pt->mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = pt->mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(pt->ip);
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(ip);
	m->pkt_len = m->data_len = RTE_ETHER_HDR_LEN + sizeof(*arp);
	lc->ns.arp_requests_out++;
	wc_net_send(lc, port, m);
}
