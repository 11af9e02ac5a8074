/*
 * port.c - port bring-up (see port.h).
 *
 * A Toeplitz key made of one repeated 16-bit pattern hashes (a, b) and
 * (b, a) alike, so both directions of a flow land on the same queue: a
 * TCP connection stays on one lcore for its life.
 */
#include <string.h>

#include <rte_ethdev.h>
#include <rte_thash.h>

#include "core/port.h"

static uint8_t symmetric_key[40];

static int configure(uint16_t port_id, unsigned nq, const struct rte_eth_dev_info *info,
		     struct rte_eth_conf *conf, bool rss)
{
	memset(conf, 0, sizeof(*conf));
	if (rss && nq > 1 && info->flow_type_rss_offloads) {
		for (size_t i = 0; i < sizeof(symmetric_key); i += 2) {
			symmetric_key[i] = 0x6d;
			symmetric_key[i + 1] = 0x5a;
		}
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_key = symmetric_key;
		conf->rx_adv_conf.rss_conf.rss_key_len = sizeof(symmetric_key);
		conf->rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) &
			info->flow_type_rss_offloads;
	}
	conf->txmode.offloads = info->tx_offload_capa & (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
							 RTE_ETH_TX_OFFLOAD_UDP_CKSUM |
							 RTE_ETH_TX_OFFLOAD_TCP_CKSUM);
	conf->rxmode.offloads = info->rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
							 RTE_ETH_RX_OFFLOAD_UDP_CKSUM |
							 RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
	return rte_eth_dev_configure(port_id, (uint16_t)nq, (uint16_t)nq, conf);
}

int wc_port_setup(struct wc_app *app, unsigned idx, uint16_t port_id, unsigned nqueues,
		  struct rte_mempool *pool)
{
	struct wc_port *pt = &app->ports[idx];
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_eth_txconf txconf;
	int socket = rte_eth_dev_socket_id(port_id), rc;
	uint16_t rxd = app->cfg.rx_desc, txd = app->cfg.tx_desc;
	unsigned nq = nqueues;

	if ((rc = rte_eth_dev_info_get(port_id, &info)) != 0)
		return rc;
	if (nq > info.max_rx_queues)
		nq = info.max_rx_queues;
	if (nq > info.max_tx_queues)
		nq = info.max_tx_queues;
	if (nq == 0)
		return -EINVAL;
	rc = configure(port_id, nq, &info, &conf, true);
	pt->reta_size = rc == 0 && conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? info.reta_size : 0;
	if (rc != 0)	/* some ports refuse RSS: spread nothing, still serve */
		rc = configure(port_id, nq, &info, &conf, false);
	if (rc != 0)
		return rc;
	if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rxd, &txd)) != 0)
		return rc;
	if (socket < 0)
		socket = (int)rte_socket_id();
	txconf = info.default_txconf;
	txconf.offloads = conf.txmode.offloads;
	for (unsigned q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(port_id, (uint16_t)q, rxd, (unsigned)socket, NULL, pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port_id, (uint16_t)q, txd, (unsigned)socket,
						    &txconf);
		if (rc != 0)
			return rc;
	}
	if ((rc = rte_eth_dev_start(port_id)) != 0)
		return rc;
	if ((rc = rte_eth_macaddr_get(port_id, &pt->mac)) != 0)
		return rc;
	pt->port_id = port_id;
	pt->nq = (uint16_t)nq;
	pt->tx_ip_cksum = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
	pt->tx_l4_cksum = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
	pt->rx_cksum = conf.rxmode.offloads != 0;
	return 0;
}

unsigned wc_port_queue_of(const struct wc_port *pt, uint32_t a, uint16_t ap, uint32_t b,
			  uint16_t bp)
{
	struct rte_ipv4_tuple t = { .src_addr = a, .dst_addr = b, .sport = ap, .dport = bp };
	uint8_t key[sizeof(symmetric_key)];

	if (pt->nq <= 1 || !pt->reta_size)
		return 0;
	for (size_t i = 0; i < sizeof(key); i += 2) {	/* configure()'s key */
		key[i] = 0x6d;
		key[i + 1] = 0x5a;
	}
	/* the default redirection table: entry i is queue i % nq */
	return (rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, key) % pt->reta_size) % pt->nq;
}

void wc_port_close(struct wc_app *app, unsigned idx)
{
	uint16_t port_id = app->ports[idx].port_id;

	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}
