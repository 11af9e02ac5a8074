/*
 * mc_udp_burst.c - a whole rx burst of memcached UDP GETs in stages, as
 * MICA and DPDK's l3fwd do: (1) every frame's Ethernet, IPv4, UDP and
 * memcached frame headers are checked and its request parsed in one pass
 * (take); (2) all keys are routed, then looked up together with
 * wc_get_burst, whose prefetches overlap their cache misses; (3) every
 * reply is written over its request and queued, to leave in one tx burst
 * (wc_mc_udp_gets).
 *
 * Only a plain one-key get or gets takes this path, and only when every
 * check passes exactly as net/input.c, net/ipv4.c and net/mc_udp.c would
 * pass it; anything else, a bad frame included, goes to wc_net_input
 * untouched, which counts and answers it as before (wc_net_input_burst,
 * here so that stage (1) is inlined in its loop, keeps the order: the gets
 * taken before such a frame are answered first). At the first such frame
 * the rest of the burst gets the TCP GETs' pre-pass (net/tcp_hint.h).
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_prefetch.h>

#include <urcu-qsbr.h>

#include "core/latency.h"
#include "core/passes.h"
#include "core/slots.h"
#include "net/cksum.h"
#include "net/mc_udp_get.h"
#include "net/tcp_hint.h"
#include "proto/mc_parse.h"
#include "store/hash.h"

/* What every frame of a burst is checked against, loaded once per burst. */
struct take_env {
	struct wc_lcore *lc;
	const struct wc_app *app;
	unsigned port;
	struct rte_ether_addr mac;	/* the port's */
	bool udp_on;			/* memcached over UDP enabled */
	bool subnet_only;		/* no allow-list: sources in the port's subnet */
	bool untrusted_only;		/* no trusted list: every source's bound is the same */
	uint16_t udp_port;		/* network order */
	uint32_t ip;			/* the port's, network order */
	uint32_t net, mask;		/* the port's subnet, host order */
	uint64_t amplification;
};

static inline void take_env_init(struct take_env *te, struct wc_lcore *lc, unsigned port)
{
	const struct wc_app *app = lc->app;
	const struct wc_port *pt = &app->ports[port];

	te->lc = lc;
	te->app = app;
	te->port = port;
	te->mac = pt->mac;
	te->udp_on = app->cfg.udp_enabled;
	te->subnet_only = app->cfg.nallow == 0;
	te->untrusted_only = app->cfg.ntrusted == 0;
	te->udp_port = wc_be16(app->cfg.udp_port);
	te->ip = wc_be32(pt->ip);
	te->mask = pt->prefix ? ~0u << (32 - pt->prefix) : 0;	/* as wc_prefix_match */
	te->net = pt->ip & te->mask;
	te->amplification = app->cfg.udp_amplification;
}

/*
 * true when m is a well-formed datagram to the memcached port holding one
 * plain get, which is then described in *g (the caller counts it as
 * received); false, with nothing changed, for anything else (wc_net_input
 * handles it). Inlined in the burst loop.
 */
static inline __attribute__((always_inline)) bool take(const struct take_env *te,
						       struct rte_mbuf *m, struct mc_udp_get *g)
{
	struct wc_lcore *lc = te->lc;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
	const uint8_t *payload = (const uint8_t *)(udp + 1);
	uint16_t total, ulen, hdr[4];
	uint64_t cks;
	uint32_t src;

	/* Ethernet: one segment, to this port's MAC, IPv4 */
	if (m->nb_segs != 1 || m->data_len < WC_UDP_HDRS + MC_UDP_HDR ||
	    !rte_is_same_ether_addr(&eth->dst_addr, &te->mac) ||
	    eth->ether_type != wc_be16(RTE_ETHER_TYPE_IPV4))
		return false;
	/* IPv4: no options, to us, whole, checksum good, not a fragment, alive, UDP */
	if (ip->version_ihl != RTE_IPV4_VHL_DEF || ip->next_proto_id != IPPROTO_UDP ||
	    ip->dst_addr != te->ip || ip->time_to_live == 0 ||
	    (ip->fragment_offset & wc_be16(RTE_IPV4_HDR_MF_FLAG |
						    RTE_IPV4_HDR_OFFSET_MASK)))
		return false;
	total = wc_be16(ip->total_length);
	if (total < sizeof(*ip) + sizeof(*udp) + MC_UDP_HDR ||
	    total > m->data_len - RTE_ETHER_HDR_LEN)
		return false;
	cks = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	if (cks != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	    (cks == RTE_MBUF_F_RX_IP_CKSUM_BAD || !wc_ipv4_hdr_ok(ip)))
		return false;
	/* UDP: to the memcached port, length within the datagram, checksum good */
	ulen = wc_be16(udp->dgram_len);
	if (!te->udp_on || udp->dst_port != te->udp_port ||
	    ulen < sizeof(*udp) + MC_UDP_HDR || ulen > total - sizeof(*ip))
		return false;
	if (udp->dgram_cksum != 0) {
		cks = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
		if (cks != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
		    (cks == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
		     !wc_udp_cksum_ok(ip->src_addr, te->ip, udp, ulen)))
			return false;
	}
	/* memcached: one datagram, an allowed source, a context free should it need one */
	memcpy(hdr, payload, sizeof(hdr));
	if (hdr[1] != 0 || hdr[2] != wc_be16(1))
		return false;
	src = wc_be32(ip->src_addr);
	if (lc->nudp_free == 0 ||
	    !(te->subnet_only ? (src & te->mask) == te->net
			      : wc_mc_udp_source_allowed(te->app, src, te->port)))
		return false;
	/* one plain get, served here (a cluster that forwards lets the session decide) */
	g->key = mc_single_get(payload + MC_UDP_HDR, ulen - sizeof(*udp) - MC_UDP_HDR, &g->klen,
			       &g->cas);
	if (!g->key || (lc->env.forward &&
			wc_slot_table_of(rcu_dereference(te->app->slot_part))->remote))
		return false;
	g->m = m;
	g->port = te->port;
	g->req_id = wc_be16(hdr[0]);
	g->client_port = wc_be16(udp->src_port);
	g->client_ip = src;
	/* wc_mc_udp_bound, its common case with the amplification factor at hand */
	g->bound = te->untrusted_only
		? wc_mc_udp_bound_amp(te->amplification, ulen - (uint32_t)sizeof(*udp))
		: wc_mc_udp_bound_trusted(te->app, src, ulen - (uint32_t)sizeof(*udp));
	return true;
}

void wc_mc_udp_gets(struct wc_lcore *lc, const struct mc_udp_get *g, unsigned n)
{
	struct wc_get_req reqs[WC_RX_BURST];
	unsigned at[WC_RX_BURST], k = 0, lflags = WC_LOOKUP_REPLY_ONLY;
	struct mc_udp_peer peer;
	struct wc_part *one;

	peer.ip = 0;	/* no client answered yet */
	while (n > WC_RX_BURST) {
		wc_mc_udp_gets(lc, g, WC_RX_BURST);
		g += WC_RX_BURST;
		n -= WC_RX_BURST;
	}
	/* where every read goes, when that does not depend on the key (core/slots.h) */
	one = wc_slot_read_part(lc->app, rcu_dereference(lc->app->slot_part));
	if (one) {
		/* every key to that partition: no routing, the i-th reply the i-th get's */
		for (unsigned i = 0; i < n; i++) {
			reqs[i].part = one;
			reqs[i].key = g[i].key;
			reqs[i].klen = g[i].klen;
			reqs[i].hash = wc_hash_inline(g[i].key, g[i].klen);
			lflags |= g[i].cas ? WC_LOOKUP_CAS : 0;
		}
		wc_get_burst(reqs, n, &lc->ctx, lflags);
		for (unsigned i = 0; i < n; i++)
			wc_mc_udp_reply(lc, &g[i], reqs[i].hit ? &reqs[i].view : NULL, &peer);
		return;
	}
	/* route every key; one another node serves is answered with its redirect now */
	for (unsigned i = 0; i < n; i++) {
		struct mc_route rt = { .read = true };

		lc->env.route(&lc->env, g[i].key, g[i].klen, &rt);
		if (__builtin_expect(rt.redirect != NULL, 0)) {
			wc_mc_udp_get_reply(lc, &g[i], NULL, rt.redirect);
			continue;
		}
		reqs[k].part = rt.part;
		reqs[k].key = g[i].key;
		reqs[k].klen = g[i].klen;
		reqs[k].hash = wc_hash_inline(g[i].key, g[i].klen);
		lflags |= g[i].cas ? WC_LOOKUP_CAS : 0;	/* (a get's reply ignores a CAS) */
		at[k++] = i;
	}
	/* look them all up, their cache misses overlapping */
	wc_get_burst(reqs, k, &lc->ctx, lflags);
	/* every reply over its request, queued for one tx burst */
	for (unsigned j = 0; j < k; j++)
		wc_mc_udp_reply(lc, &g[at[j]], reqs[j].hit ? &reqs[j].view : NULL, &peer);
}

/* The gets taken so far, answered; lat (when on) records their service time. */
static void run_gets(struct wc_lcore *lc, const struct mc_udp_get *gets, unsigned n,
		     struct wc_lat *lat, uint64_t *ops)
{
	wc_mc_udp_gets(lc, gets, n);
	if (lat)
		wc_lat_packet_done(lat, &lc->ctx.st, ops);
}

/* The TCP GETs' pre-pass over the rest of a burst: out of the hot loop's way. */
static __attribute__((noinline, cold)) void hint_rest(struct wc_lcore *lc, unsigned port,
						      struct rte_mbuf **pkts, unsigned n)
{
	wc_tcp_hint_burst(lc, port, pkts, n);
}

void wc_net_input_burst(struct wc_lcore *lc, unsigned port, struct rte_mbuf **pkts, unsigned n,
			struct wc_lat *lat)
{
	struct mc_udp_get gets[WC_RX_BURST];
	uint64_t ops = lat ? wc_lat_ops(&lc->ctx.st) : 0, taken_bytes = 0;
	unsigned ng = 0, taken = 0;
	struct take_env te;

	take_env_init(&te, lc, port);
	for (unsigned i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (ng == WC_RX_BURST) {
			run_gets(lc, gets, ng, lat, &ops);
			ng = 0;
		}
		if (take(&te, pkts[i], &gets[ng])) {
			taken++;
			taken_bytes += pkts[i]->pkt_len;
			ng++;
			continue;
		}
		/*
		 * the first frame off this path: the TCP GETs' keys of the rest of
		 * the burst prefetched, their misses overlapping (tcp_hint.h); a
		 * burst of plain UDP gets never pays for that look
		 */
		if (i == taken)	/* (every frame before it taken: the first) */
			hint_rest(lc, port, pkts + i, n - i);
		/* anything else: the gets before it first, so the burst keeps its order */
		if (ng) {
			run_gets(lc, gets, ng, lat, &ops);
			ng = 0;
		}
		if (lat) {
			/* its time also feeds the pass profile's slow frames (one TSC read more) */
			uint64_t t0 = rte_rdtsc(), now;

			wc_net_input(lc, port, pkts[i]);
			now = rte_rdtsc();
			wc_passes_frame(&wc_passes_lcores[lc->id], t0, now);
			wc_lat_packet_done_at(lat, &lc->ctx.st, &ops, now);
		} else {
			wc_net_input(lc, port, pkts[i]);
		}
	}
	if (ng)
		run_gets(lc, gets, ng, lat, &ops);
	/* the gets taken, counted as the general path counts each (nothing reads these meanwhile) */
	lc->ns.rx_pkts += taken;
	lc->ns.rx_bytes += taken_bytes;
	lc->ns.udp_requests += taken;
}
