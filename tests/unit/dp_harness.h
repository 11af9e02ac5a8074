/*
 * dp_harness.h - a dataplane without a NIC for unit tests and fuzzing: EAL
 * up without hugepages, one worker lcore context with one partition, one
 * "port" whose transmissions are captured, and builders for the frames
 * that go in. Included (static functions) by the tests that need it.
 */
#ifndef WC_TEST_DP_HARNESS_H
#define WC_TEST_DP_HARNESS_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <urcu-qsbr.h>

#include "core/app.h"
#include "core/bus.h"
#include "core/mem_dpdk.h"
#include "core/slots.h"
#include "net/neigh.h"
#include "net/net.h"
#include "net/tcp.h"
#include "net/tcp_impl.h"
#include "redis/push.h"
#include "redis/server.h"

#define DP_IP 0xC612000Bu		/* 198.18.0.11 */
#define DP_CLIENT 0xC6120001u		/* 198.18.0.1 */
#define DP_MAX_SENT 2048

static const struct rte_ether_addr dp_mac = { { 0x02, 0, 0, 0, 0, 0x11 } };
static const struct rte_ether_addr dp_client_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };

struct dp_harness {
	struct wc_app app;
	struct wc_lcore *lc;
	struct wc_mem_ops mem;
	int socket;
	unsigned nsent;
	struct rte_mbuf *sent[DP_MAX_SENT];
	struct rd_server rd;		/* the Redis side (when cfg.redis_port) */
};

static struct dp_harness *dp_current;

static uint16_t dp_capture(struct wc_app *app, uint16_t port, uint16_t queue,
			   struct rte_mbuf **pkts, uint16_t n)
{
	(void)app;
	(void)port;
	(void)queue;
	for (uint16_t i = 0; i < n; i++) {
		if (dp_current->nsent < DP_MAX_SENT)
			dp_current->sent[dp_current->nsent++] = pkts[i];
		else
			rte_pktmbuf_free(pkts[i]);
	}
	return n;
}

static inline int dp_eal_init(void)
{
	static int done;
	char prefix[64];
	char *argv[] = { "dp_harness", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry",
			 "--log-level=*:error", prefix, NULL };

	if (done)
		return 0;
	snprintf(prefix, sizeof(prefix), "--file-prefix=wc_harness_%d", (int)getpid());
	if (rte_eal_init(8, argv) < 0)
		return -1;
	rcu_register_thread();
	done = 1;
	return 0;
}

/*
 * Free what was sent, as a NIC driver frees its transmitted mbufs: in bulk
 * (one mempool put for the lot), which is what get_replay's figures count
 * as the driver's share of a reply.
 */
static inline void dp_clear_sent(struct dp_harness *h)
{
	rte_pktmbuf_free_bulk(h->sent, h->nsent);
	h->nsent = 0;
}

/* Bring up a harness; extra lets a test adjust the config before the lcore starts. */
static void *dp_bus_hold __attribute__((unused));

static inline int dp_setup(struct dp_harness *h, void (*extra)(struct wc_config *c))
{
	struct wc_app *app = &h->app;
	struct wc_part_cfg pc;
	enum wc_status err;
	struct wc_slot_table *slots;

	memset(h, 0, sizeof(*h));
	dp_current = h;
	wc_mem_dpdk_init(&h->mem, &h->socket, SOCKET_ID_ANY);
	wc_config_defaults(&app->cfg);
	app->cfg.nports_cfg = 1;
	app->cfg.port_ip[0] = (struct wc_prefix){ DP_IP, 24 };
	app->cfg.memory = 16u << 20;
	if (extra)
		extra(&app->cfg);
	app->nports = 1;
	app->ports[0] = (struct wc_port){ .port_id = 0, .mac = dp_mac, .ip = DP_IP, .prefix = 24,
					  .nq = 1 };
	app->nworkers = 1;
	app->tx = dp_capture;
	app->mem = &h->mem;
	app->started = 1;
	app->pool = rte_pktmbuf_pool_create("dp_h_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	app->neigh = rte_zmalloc("dp_h_neigh", sizeof(struct wc_neigh), 64);
	app->mbox = NULL;
	wc_part_cfg_default(&pc);
	pc.mem_bytes = app->cfg.memory;
	pc.max_value = (uint32_t)app->cfg.max_value;
	pc.slot_keys = app->rd && app->rd->cluster;	/* as main.c makes them */
	app->parts[0] = wc_part_create(&pc, &h->mem, &err);
	app->nparts = 1;
	app->part_owner[0] = 0;
	slots = wc_slot_table_default(1);	/* every slot in partition 0, this node's */
	app->slot_part = slots ? slots->part : NULL;
	app->mcset = (struct mc_settings){ .version = "1.6.21-wirecache-test",
					   .max_value = app->cfg.max_value, .lcores = 1 };
	wc_app_tcp_buffers(app);
	h->lc = rte_zmalloc("dp_h_lcore", sizeof(struct wc_lcore), 64);
	if (!app->pool || !app->neigh || !app->parts[0] || !slots || !h->lc)
		return -1;
	app->lc[0] = h->lc;
	h->lc->part_idx[h->lc->nparts++] = 0;
	if (app->cfg.redis_port && !app->rd) {	/* (a test may bring its own, set by extra) */
		rd_cmds_init();
		if (rd_server_init(&h->rd, NULL, app->cfg.redis_port, app->cfg.cluster, NULL, 0,
				   app->cfg.memory, app->cfg.max_value, app->cfg.requirepass,
				   app->cfg.aclfile, "test") != 0)
			return -1;
		app->rd = &h->rd;
	}
	if (wc_lcore_init(app, h->lc, 0, rte_lcore_id()) != 0 || wc_bus_init(app) != 0)
		return -1;
	/* the lcore lives in DPDK memory, which LeakSanitizer does not scan: its bus
	 * state (malloc'ed) is held here too, so a harness that never tears down
	 * (the fuzzers) is not reported as leaking it */
	dp_bus_hold = h->lc->bus;
	h->lc->ctx.clock.now = 1000;
	return 0;
}

/* Stop the lcore's TCP clock at a fixed time (1000 s): tests move it themselves. */
static inline void dp_freeze_clock(struct dp_harness *h)
{
	h->lc->tcp->frozen_clock = true;
	h->lc->tcp->now_ms = 1000000;
	h->lc->tcp->now_us = 1000000000;
	h->lc->tcp->wheel_done = h->lc->tcp->now_ms;
}

static inline void dp_teardown(struct dp_harness *h)
{
	struct wc_app *app = &h->app;

	dp_clear_sent(h);
	wc_bus_fini(app);
	wc_lcore_fini(h->lc);
	rte_free(h->lc);
	wc_part_destroy(app->parts[0]);
	wc_slot_table_free(wc_slot_table_of(app->slot_part));
	rte_free(app->neigh);
	rte_mempool_free(app->pool);
	if (app->rd == &h->rd)
		rd_server_fini(app->rd);
	app->rd = NULL;
}

/* Feed one frame and run everything that follows from it. */
static inline void dp_input(struct dp_harness *h, const void *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h->app.pool);

	if (!m)
		return;
	if (len > rte_pktmbuf_tailroom(m))
		len = rte_pktmbuf_tailroom(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), frame, len);
	wc_net_input(h->lc, 0, m);
	wc_mc_udp_poll(h->lc);
	rd_push_output(h->lc);	/* push frames written meanwhile (redis/push.h) */
	wc_net_flush(h->lc);
	/* what the lcore told itself over the bus (core/bus.h), and what that sends */
	if (wc_bus_drain(h->lc, 64)) {
		rd_push_output(h->lc);
		wc_net_flush(h->lc);
	}
}

/* ---- frame builders ---- */

static inline size_t dp_eth(uint8_t *f, const struct rte_ether_addr *dst,
		     const struct rte_ether_addr *src, uint16_t type)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)f;

	e->dst_addr = *dst;
	e->src_addr = *src;
	e->ether_type = rte_cpu_to_be_16(type);
	return sizeof(*e);
}

static inline size_t dp_arp(uint8_t *f, uint16_t op, uint32_t sip, uint32_t tip)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	size_t n = dp_eth(f, op == RTE_ARP_OP_REQUEST ? &bcast : &dp_mac, &dp_client_mac,
			  RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(f + n);

	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = dp_client_mac;
	a->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	memset(&a->arp_data.arp_tha, 0, 6);
	a->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	return n + sizeof(*a);
}

/* IPv4 header (20 bytes) with a correct checksum; returns its address. */
static inline struct rte_ipv4_hdr *dp_ip(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst,
				  uint16_t l4_len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);

	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return ip;
}

/* A whole memcached-over-UDP request frame: frame header + text. */
static inline size_t dp_mc_udp(uint8_t *f, uint16_t req_id, uint16_t seq, uint16_t total,
			const void *text, size_t len, uint32_t src)
{
	size_t n = dp_eth(f, &dp_mac, &dp_client_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = dp_ip(f, IPPROTO_UDP, src, DP_IP, (uint16_t)(8 + 8 + len));
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);
	uint16_t hdr[4] = { rte_cpu_to_be_16(req_id), rte_cpu_to_be_16(seq),
			    rte_cpu_to_be_16(total), 0 };

	u->src_port = rte_cpu_to_be_16(40000);
	u->dst_port = rte_cpu_to_be_16(11211);
	u->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + 8 + len));
	memcpy(u + 1, hdr, 8);
	memcpy((uint8_t *)(u + 1) + 8, text, len);
	u->dgram_cksum = 0;
	u->dgram_cksum = rte_ipv4_udptcp_cksum(ip, u);
	return n + sizeof(*ip) + 8 + 8 + len;
}

/* A TCP segment from the client's sport to our dport, options and payload included. */
static inline size_t dp_tcp_ports(uint8_t *f, uint16_t sport, uint16_t dport, uint8_t flags,
				  uint32_t seq, uint32_t ack, uint16_t win, const void *data,
				  size_t len, const uint8_t *opts, uint8_t optlen)
{
	size_t n = dp_eth(f, &dp_mac, &dp_client_mac, RTE_ETHER_TYPE_IPV4);
	uint16_t l4 = (uint16_t)(20 + optlen + len);
	struct rte_ipv4_hdr *ip = dp_ip(f, IPPROTO_TCP, DP_CLIENT, DP_IP, l4);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	memset(th, 0, 20);
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(((20 + optlen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(win);
	if (optlen)
		memcpy(th + 1, opts, optlen);
	if (len)
		memcpy((uint8_t *)(th + 1) + optlen, data, len);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return n + sizeof(*ip) + l4;
}

/* A TCP segment from the client (port cport) to :11211. */
static inline size_t dp_tcp(uint8_t *f, uint16_t cport, uint8_t flags, uint32_t seq, uint32_t ack,
			    uint16_t win, const void *data, size_t len, const uint8_t *opts,
			    uint8_t optlen)
{
	return dp_tcp_ports(f, cport, 11211, flags, seq, ack, win, data, len, opts, optlen);
}

/* Teach the dataplane the client's MAC, as the client's first ARP would. */
static inline void dp_learn_client(struct dp_harness *h)
{
	uint8_t f[128];

	dp_input(h, f, dp_arp(f, RTE_ARP_OP_REQUEST, DP_CLIENT, DP_IP));
	dp_clear_sent(h);
}

#endif
