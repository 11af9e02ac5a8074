/*
 * input.c - the first look at every received frame: length, destination
 * MAC, EtherType, then ARP or IPv4 (frames for other hosts, groups and
 * protocols are ignored, counted apart from real drops: netstats.h); a
 * whole rx burst, whose plain memcached UDP gets take the staged fast path
 * (mc_udp_burst.c). Also the per-port transmit buffers.
 */
#include <rte_byteorder.h>
#include <rte_prefetch.h>

#include "core/bus.h"
#include "core/latency.h"
#include "core/passes.h"
#include "net/mc_udp_get.h"
#include "net/net.h"

void wc_net_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth;
	const struct wc_port *pt = &lc->app->ports[port];

	lc->ns.rx_pkts++;
	lc->ns.rx_bytes += m->pkt_len;
	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
		wc_net_drop(lc, m, WC_DROP_NO_MBUF);
		return;
	}
	if (m->data_len < RTE_ETHER_HDR_LEN) {
		wc_net_drop(lc, m, WC_DROP_ETH_SHORT);
		return;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (!rte_is_same_ether_addr(&eth->dst_addr, &pt->mac) &&
	    !rte_is_broadcast_ether_addr(&eth->dst_addr)) {
		/* not for us: a group we have not joined, or another host's unicast */
		wc_net_drop(lc, m, rte_is_multicast_ether_addr(&eth->dst_addr) ?
				   WC_DROP_ETH_MULTICAST : WC_DROP_ETH_OTHER_HOST);
		return;
	}
	switch (wc_be16(eth->ether_type)) {
	case RTE_ETHER_TYPE_IPV4:
		wc_ipv4_input(lc, port, m);
		break;
	case RTE_ETHER_TYPE_ARP:
		wc_arp_input(lc, port, m);
		break;
	default:
		wc_net_drop(lc, m, WC_DROP_ETH_TYPE);
		break;
	}
}

/* The gets taken so far, answered; lat (when on) records their service time. */
static void run_gets(struct wc_lcore *lc, const struct mc_udp_get *gets, unsigned n,
		     struct wc_lat *lat, uint64_t *ops)
{
	wc_mc_udp_gets(lc, gets, n);
	if (lat)
		wc_lat_packet_done(lat, &lc->ctx.st, ops);
}

void wc_net_input_burst(struct wc_lcore *lc, unsigned port, struct rte_mbuf **pkts, unsigned n,
			struct wc_lat *lat)
{
	struct mc_udp_get gets[WC_RX_BURST];
	uint64_t ops = lat ? wc_lat_ops(&lc->ctx.st) : 0;
	unsigned ng = 0;
	uint64_t t0;

	for (unsigned i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (ng == WC_RX_BURST) {
			run_gets(lc, gets, ng, lat, &ops);
			ng = 0;
		}
		if (wc_mc_udp_take(lc, port, pkts[i], &gets[ng])) {
			ng++;
			continue;
		}
		/* anything else: the gets before it first, so the burst keeps its order */
		if (ng) {
			run_gets(lc, gets, ng, lat, &ops);
			ng = 0;
		}
		t0 = rte_rdtsc();
		wc_net_input(lc, port, pkts[i]);
		wc_passes_frame(&wc_passes_lcores[lc->id], t0, rte_rdtsc());
		if (lat)
			wc_lat_packet_done(lat, &lc->ctx.st, &ops);
	}
	if (ng)
		run_gets(lc, gets, ng, lat, &ops);
}

void wc_net_flush(struct wc_lcore *lc)
{
	struct wc_app *app = lc->app;

	/* what this lcore's writes told others goes before their replies (core/bus.h) */
	if (wc_bus_pending(lc))
		wc_bus_flush(lc);

	for (unsigned p = 0; p < app->nports; p++) {
		uint16_t n = lc->ntx[p], sent = 0;

		if (n == 0)
			continue;
		/* a full ring gets a few more chances before packets are dropped */
		for (int tries = 0; tries < 64 && sent < n; tries++)
			sent += app->tx(app, app->ports[p].port_id, lc->queue, lc->tx[p] + sent,
					(uint16_t)(n - sent));
		for (uint16_t i = sent; i < n; i++)
			wc_net_drop(lc, lc->tx[p][i], WC_DROP_TX_FULL);
		lc->ntx[p] = 0;
	}
}

void wc_net_send(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m)
{
	lc->ns.tx_pkts++;
	lc->ns.tx_bytes += m->pkt_len;
	lc->tx[port][lc->ntx[port]++] = m;
	if (lc->ntx[port] == WC_TX_BUF)
		wc_net_flush(lc);
}
