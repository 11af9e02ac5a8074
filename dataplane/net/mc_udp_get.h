/*
 * mc_udp_get.h - a memcached "get <key>" / "gets <key>" datagram on the
 * fast path, which needs no request context: what mc_udp.c (one datagram
 * at a time) and mc_udp_burst.c (a whole rx burst in stages) share.
 *
 * The reply is written over the request in its own mbuf and sent at once;
 * only a reply that does not fit one datagram or the amplification bound,
 * or a client not resolved yet, takes a context (the general path's
 * machinery), so every reply is the one the session engine would give.
 */
#ifndef WC_NET_MC_UDP_GET_H
#define WC_NET_MC_UDP_GET_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"
#include "net/udp_out.h"
#include "proto/mc_get_reply.h"

#define MC_UDP_HDR 8
#define MC_UDP_DGRAM 1400			/* UDP payload per reply datagram */
#define MC_UDP_DATA (MC_UDP_DGRAM - MC_UDP_HDR)

struct mc_udp_get {
	struct rte_mbuf *m;		/* the request; its reply goes over it */
	const uint8_t *key;		/* inside m */
	uint32_t klen;
	bool cas;			/* gets */
	unsigned port;
	uint16_t req_id;		/* host order */
	uint16_t client_port;		/* host order */
	uint32_t client_ip;		/* host order */
	uint64_t bound;			/* the most reply bytes, frame headers included */
};

/* Is src served on port (the allow-list, or the port's own subnet)? */
bool wc_mc_udp_source_allowed(const struct wc_app *app, uint32_t src, unsigned port);

#define MC_UDP_MAX_DGRAMS 65535u
#define MC_UDP_MAX_REPLY ((uint64_t)MC_UDP_MAX_DGRAMS * MC_UDP_DGRAM)

/* The most reply bytes for a request of len UDP payload bytes at this amplification factor. */
static inline uint64_t wc_mc_udp_bound_amp(uint64_t amplification, uint32_t len)
{
	uint64_t b = amplification * len;

	return b < MC_UDP_MAX_REPLY ? b : MC_UDP_MAX_REPLY;
}

/* ... for a request from an untrusted source. */
static inline uint64_t wc_mc_udp_bound_untrusted(const struct wc_app *app, uint32_t len)
{
	return wc_mc_udp_bound_amp(app->cfg.udp_amplification, len);
}

uint64_t wc_mc_udp_bound_trusted(const struct wc_app *app, uint32_t src, uint32_t len);

/* The most reply bytes for a request of len UDP payload bytes from src. */
static inline uint64_t wc_mc_udp_bound(const struct wc_app *app, uint32_t src, uint32_t len)
{
	return app->cfg.ntrusted == 0 ? wc_mc_udp_bound_untrusted(app, len)
				      : wc_mc_udp_bound_trusted(app, src, len);
}

/*
 * Answer g, whose lookup is done: v the value found (NULL on a miss), or
 * redirect, the whole reply line when another node serves the key.
 */
void wc_mc_udp_get_reply(struct wc_lcore *lc, const struct mc_udp_get *g,
			 const struct wc_view *v, const char *redirect);

/*
 * The general way to answer g (mc_udp.c): a context whose reply datagrams
 * start with g's mbuf, for a reply that does not fit one, breaks the bound,
 * waits for the client's MAC, or is a redirect.
 */
void wc_mc_udp_get_reply_ctx(struct wc_lcore *lc, const struct mc_udp_get *g,
			     const struct wc_view *v, const char *redirect);

/*
 * The client a burst last answered, on which port, its MAC and, when the
 * port offloads no checksum, the image of the replies' headers to it (ip
 * 0: none yet), so that a burst from one client looks its neighbour entry
 * up and lays out its headers once.
 */
struct mc_udp_peer {
	uint32_t ip;			/* host order */
	unsigned port;
	struct rte_ether_addr mac;
	bool tmpl_ok;
	struct wc_udp_tmpl tmpl;
};

/* peer when it is ip on port, else found in the neighbour cache (and then remembered) */
static inline bool wc_mc_udp_peer_find(struct wc_lcore *lc, struct mc_udp_peer *peer, uint32_t ip,
				       unsigned port)
{
	const struct wc_port *pt;

	if (ip != 0 && ip == peer->ip && port == peer->port)
		return true;
	if (!wc_lcore_neigh(lc, ip, &peer->mac)) {
		peer->ip = 0;
		return false;
	}
	peer->ip = ip;
	peer->port = port;
	pt = &lc->app->ports[port];
	peer->tmpl_ok = !pt->tx_ip_cksum && !pt->tx_l4_cksum;
	if (peer->tmpl_ok)
		wc_udp_tmpl_init(&peer->tmpl, pt, &peer->mac, ip, lc->app->cfg.udp_port);
	return true;
}

/*
 * wc_mc_udp_get_reply without a redirect, inline: its fast path, else the
 * general way. peer: the burst's (ip 0 at its start), or NULL for a single
 * request (a constant: its code folds away).
 */
static inline __attribute__((always_inline)) void
wc_mc_udp_reply(struct wc_lcore *lc, const struct mc_udp_get *g, const struct wc_view *v,
		struct mc_udp_peer *peer)
{
	struct rte_mbuf *m = g->m;
	struct rte_ether_addr mac;
	uint8_t *frame, *end;
	struct mc_udp_get moved;
	size_t most;

	/*
	 * one datagram in the request's own mbuf, with 32 bytes to spare after it
	 * (wc_udp_cksum_padded), a resolved client: else the general way
	 */
	most = MC_UDP_HDR + MC_GET_REPLY_MAX(g->klen, v ? v->vlen : 0);
	if (__builtin_expect(most > MC_UDP_DGRAM || (!v && MC_UDP_HDR + 5 > g->bound) ||
			     (size_t)(m->buf_len - m->data_off) < WC_UDP_HDRS + MC_UDP_DGRAM + 32 ||
			     !(peer ? wc_mc_udp_peer_find(lc, peer, g->client_ip, g->port)
				    : wc_lcore_neigh(lc, g->client_ip, &mac)), 0)) {
		wc_mc_udp_get_reply_ctx(lc, g, v, NULL);
		return;
	}
	/*
	 * One datagram, in place: the request's frame header (its id, sequence 0
	 * of 1) is the reply's but for the reserved field
	 */
	frame = rte_pktmbuf_mtod_offset(m, uint8_t *, WC_UDP_HDRS);
	end = mc_get_reply_at(frame + MC_UDP_HDR, g->key, g->klen, v, g->cas);
	if (__builtin_expect((uint64_t)(end - frame) > g->bound, 0)) {
		/* over the amplification bound: refused the general way (key after "VALUE ") */
		moved = *g;
		moved.key = frame + MC_UDP_HDR + 6;
		wc_mc_udp_get_reply_ctx(lc, &moved, v, NULL);
		return;
	}
	frame[6] = frame[7] = 0;
	if (peer && peer->tmpl_ok)
		wc_udp_tmpl_fill(&peer->tmpl, m, g->client_port, (uint16_t)(end - frame));
	else
		wc_udp_fill(&lc->app->ports[g->port], m, peer ? &peer->mac : &mac, g->client_ip,
			    lc->app->cfg.udp_port, g->client_port, (uint16_t)(end - frame), true);
	wc_net_queue(lc, g->port, m);
	lc->ns.udp_reply_datagrams++;
}

/* Route, look up (wc_get_burst) and answer the n gets taken, in stages. */
void wc_mc_udp_gets(struct wc_lcore *lc, const struct mc_udp_get *g, unsigned n);

#endif
