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

/* The most reply bytes for a request of len UDP payload bytes from an untrusted source. */
static inline uint64_t wc_mc_udp_bound_untrusted(const struct wc_app *app, uint32_t len)
{
	uint64_t b = (uint64_t)app->cfg.udp_amplification * len;

	return b < MC_UDP_MAX_REPLY ? b : MC_UDP_MAX_REPLY;
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

/* Route, look up (wc_get_burst) and answer the n gets taken, in stages. */
void wc_mc_udp_gets(struct wc_lcore *lc, const struct mc_udp_get *g, unsigned n);

#endif
