/*
 * mc_udp.c - memcached over UDP: the 8-byte frame header, the source
 * allow-list, the amplification bound, and replies split into datagrams.
 *
 * A request is one datagram (sequence 0 of 1, as memcached requires). Its
 * payload is the session's whole input, parsed in place in the received
 * mbuf. Replies are written straight into datagram-sized mbufs of at most
 * 1400 bytes of UDP payload (frame header included); each echoes the
 * request id with its sequence number and the total, filled in once the
 * reply is complete.
 *
 * UDP is the transport of the 2018 amplification attacks (CVE-2018-1000115),
 * so: only sources in the allow-list (by default the ports' own subnets)
 * are served, and unless a source is listed as trusted a reply may be at
 * most --udp-amplification times the request's size; a larger one is
 * replaced by a short SERVER_ERROR. Every refusal is counted.
 *
 * The hot case, a datagram holding one "get <key>" or "gets <key>", skips
 * the session engine and the request context (net/mc_udp_get.h) and writes
 * its reply into the request's own mbuf, so it allocates nothing; the bytes
 * are the same the engine would produce. A whole rx burst of them goes
 * through mc_udp_burst.c.
 *
 * A request that waits (a write owned by another lcore, mailbox room, or
 * resolving the client's MAC) keeps its context from a fixed per-lcore
 * pool; when the pool is empty new requests are dropped and counted.
 */
#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_malloc.h>

#include <urcu-qsbr.h>

#include "cluster/link.h"
#include "core/slots.h"
#include "net/mc_udp_get.h"
#include "net/neigh.h"
#include "net/net.h"
#include "proto/mc_exec.h"

enum udp_stage { UDP_FREE, UDP_RUNNING, UDP_WAIT_NEIGH };

struct mc_udp_req {
	struct mc_session sess;
	struct wc_lcore *lc;
	enum udp_stage stage;
	unsigned port;
	struct rte_mbuf *req;		/* the request datagram, payload parsed in place */
	const uint8_t *payload;		/* memcached bytes after the frame header */
	uint32_t plen;
	uint64_t consumed;
	struct mc_inq in;
	struct mc_out out;
	struct rte_mbuf *head, *tail;	/* reply datagrams, chained through next */
	uint32_t ndgrams;
	uint16_t req_id;
	uint32_t client_ip;
	uint16_t client_port;
	uint32_t deadline;		/* clock second to give up resolving the client */
};

/* ---- input queue over the datagram ---- */

static const uint8_t *udp_peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct mc_udp_req *u = q->arg;
	uint64_t at = u->consumed + off;

	*contig = u->plen - at;
	return u->payload + at;
}

static void udp_consume(struct mc_inq *q, uint64_t n)
{
	struct mc_udp_req *u = q->arg;

	u->consumed += n;
	q->len -= n;
}

/* ---- reply datagrams ---- */

static uint8_t *dgram_data(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, uint8_t *, WC_UDP_HDRS + MC_UDP_HDR);
}

static bool udp_more(struct mc_out *o)
{
	struct mc_udp_req *u = o->arg;
	struct rte_mbuf *m;

	if (u->ndgrams == MC_UDP_MAX_DGRAMS)
		return false;
	m = rte_pktmbuf_alloc(u->lc->pool);
	if (!m)
		return false;
	if (u->tail) {
		u->tail->data_len = WC_UDP_HDRS + MC_UDP_DGRAM;
		u->tail->next = m;
	} else {
		u->head = m;
	}
	u->tail = m;
	u->ndgrams++;
	o->p = dgram_data(m);
	o->end = o->p + MC_UDP_DATA;
	o->written += MC_UDP_HDR;	/* the frame header counts toward the bound */
	if (o->limit && o->written > o->limit) {
		o->over_limit = true;
		return false;
	}
	return true;
}

static void drop_reply(struct mc_udp_req *u)
{
	if (u->head)
		rte_pktmbuf_free(u->head);	/* frees the whole chain */
	u->head = u->tail = NULL;
	u->ndgrams = 0;
	u->out.p = u->out.end = NULL;
	u->out.written = 0;
}

static void release(struct mc_udp_req *u)
{
	struct wc_lcore *lc = u->lc;

	drop_reply(u);
	if (u->req)
		rte_pktmbuf_free(u->req);
	u->req = NULL;
	u->stage = UDP_FREE;
	lc->udp_free[lc->nudp_free++] = u;
}

/* Number, address and send every datagram of the reply. */
static void transmit(struct mc_udp_req *u, const struct rte_ether_addr *mac)
{
	struct wc_lcore *lc = u->lc;
	struct rte_mbuf *m = u->head, *next;
	uint16_t seq = 0, total = (uint16_t)u->ndgrams;

	u->tail->data_len = (uint16_t)(u->out.p - rte_pktmbuf_mtod(u->tail, uint8_t *));
	for (; m; m = next, seq++) {
		uint8_t *frame = rte_pktmbuf_mtod_offset(m, uint8_t *, WC_UDP_HDRS);
		uint16_t hdr[4] = { wc_be16(u->req_id), wc_be16(seq), wc_be16(total), 0 };

		next = m->next;
		m->next = NULL;
		m->nb_segs = 1;
		memcpy(frame, hdr, sizeof(hdr));
		wc_udp_finish(lc, u->port, m, mac, u->client_ip, lc->app->cfg.udp_port,
			      u->client_port, (uint16_t)(m->data_len - WC_UDP_HDRS));
		wc_net_send(lc, u->port, m);
	}
	lc->ns.udp_reply_datagrams += u->ndgrams;
	u->head = u->tail = NULL;
	u->ndgrams = 0;
}

/* The reply is complete: refuse it if it broke a bound, then send it once the client resolves. */
static void finish(struct mc_udp_req *u)
{
	struct wc_lcore *lc = u->lc;
	struct rte_ether_addr mac;

	if (u->out.failed) {
		bool amplification = u->out.over_limit;

		lc->ns.drops[amplification ? WC_DROP_MC_AMPLIFICATION : WC_DROP_NO_MBUF]++;
		drop_reply(u);
		u->out.failed = u->out.over_limit = false;
		u->out.limit = 0;
		mc_out_str(&u->out, amplification ?
			   "SERVER_ERROR reply larger than the UDP amplification bound allows\r\n" :
			   "SERVER_ERROR out of memory writing reply\r\n");
	}
	if (!u->head) {
		release(u);
		return;
	}
	if (!wc_lcore_neigh(lc, u->client_ip, &mac)) {
		/* resolve the peer before sending to it; keep the reply meanwhile */
		wc_arp_probe(lc, u->port, u->client_ip);
		if (u->stage != UDP_WAIT_NEIGH) {
			u->stage = UDP_WAIT_NEIGH;
			u->deadline = lc->ctx.clock.now + WC_NEIGH_HOLD_SECS;
			lc->udp_busy[lc->nudp_busy++] = u;
		}
		return;
	}
	transmit(u, &mac);
	release(u);
}

/* Run the session as far as it goes; park or finish the request. */
static void run(struct mc_udp_req *u)
{
	struct wc_lcore *lc = u->lc;

	switch (mc_session_run(&u->sess, &u->in, &u->out, &lc->env)) {
	case MC_RUN_PENDING:
		lc->ns.udp_remote_waits++;
		return;	/* wc_mc_udp_complete resumes it */
	case MC_RUN_BUSY:
		lc->udp_busy[lc->nudp_busy++] = u;
		return;
	case MC_RUN_MORE:
	case MC_RUN_CLOSE:
	case MC_RUN_FULL:	/* never: UDP replies have no backpressure (out.full unset) */
		break;
	}
	finish(u);
}

bool wc_mc_udp_source_allowed(const struct wc_app *app, uint32_t src, unsigned port)
{
	const struct wc_config *c = &app->cfg;

	if (c->nallow == 0)
		return wc_prefix_match(&(struct wc_prefix){ app->ports[port].ip,
							    app->ports[port].prefix }, src);
	for (unsigned i = 0; i < c->nallow; i++)
		if (wc_prefix_match(&c->udp_allow[i], src))
			return true;
	return false;
}

static bool source_trusted(const struct wc_config *c, uint32_t src)
{
	for (unsigned i = 0; i < c->ntrusted; i++)
		if (wc_prefix_match(&c->udp_trusted[i], src))
			return true;
	return false;
}

uint64_t wc_mc_udp_bound_trusted(const struct wc_app *app, uint32_t src, uint32_t len)
{
	return source_trusted(&app->cfg, src) ? MC_UDP_MAX_REPLY
					      : wc_mc_udp_bound_untrusted(app, len);
}

void wc_mc_udp_get_reply_ctx(struct wc_lcore *lc, const struct mc_udp_get *g,
			  const struct wc_view *v, const char *redirect)
{
	struct rte_mbuf *m = g->m;
	uint8_t kbuf[MC_KEY_MAX];
	struct mc_udp_req *u;

	if (lc->nudp_free == 0) {
		/*
		 * every caller counted the get as a request (a burst, at its end,
		 * the gets it took); a busy drop is none, as in wc_mc_udp_input
		 */
		lc->ns.udp_requests--;
		wc_net_drop(lc, m, WC_DROP_MC_BUSY);
		return;
	}
	u = lc->udp_free[--lc->nudp_free];
	u->stage = UDP_RUNNING;
	u->port = g->port;
	u->req = NULL;
	u->payload = NULL;
	u->plen = 0;
	u->consumed = 0;
	u->in.len = 0;
	u->req_id = g->req_id;
	u->client_ip = g->client_ip;
	u->client_port = g->client_port;
	/* the request's mbuf becomes the reply's first datagram */
	memcpy(kbuf, g->key, g->klen);
	m->next = NULL;
	u->head = u->tail = m;
	u->ndgrams = 1;
	u->out = (struct mc_out){ .more = udp_more, .arg = u, .limit = g->bound };
	u->out.p = dgram_data(m);
	u->out.end = u->out.p + MC_UDP_DATA;
	u->out.written = MC_UDP_HDR;
	if (redirect)
		mc_out_str(&u->out, redirect);
	else
		mc_exec_get_reply(&u->out, kbuf, g->klen, v, g->cas);
	finish(u);
}

void wc_mc_udp_get_reply(struct wc_lcore *lc, const struct mc_udp_get *g,
			 const struct wc_view *v, const char *redirect)
{
	if (__builtin_expect(redirect != NULL, 0))
		wc_mc_udp_get_reply_ctx(lc, g, v, redirect);
	else
		wc_mc_udp_reply(lc, g, v, NULL);
}

void wc_mc_udp_input(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
		     const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp)
{
	const struct wc_app *app = lc->app;
	const uint8_t *payload = (const uint8_t *)(udp + 1);
	uint32_t len = wc_be16(udp->dgram_len) - (uint32_t)sizeof(*udp);
	uint32_t src = wc_be32(ip->src_addr);
	uint16_t hdr[4];
	struct mc_udp_req *u;

	if (len < MC_UDP_HDR) {
		wc_net_drop(lc, m, WC_DROP_MC_FRAME);
		return;
	}
	memcpy(hdr, payload, sizeof(hdr));
	/* memcached serves only single-datagram requests */
	if (wc_be16(hdr[1]) != 0 || wc_be16(hdr[2]) != 1) {
		wc_net_drop(lc, m, WC_DROP_MC_FRAME);
		return;
	}
	if (!wc_mc_udp_source_allowed(app, src, port)) {
		wc_net_drop(lc, m, WC_DROP_MC_SOURCE);
		return;
	}
	if (lc->nudp_free == 0) {
		wc_net_drop(lc, m, WC_DROP_MC_BUSY);
		return;
	}
	lc->ns.udp_requests++;
	{
		struct mc_udp_get g = { .m = m, .port = port, .req_id = wc_be16(hdr[0]),
					.client_port = wc_be16(udp->src_port),
					.client_ip = src };

		g.key = mc_single_get(payload + MC_UDP_HDR, len - MC_UDP_HDR, &g.klen, &g.cas);
		/* a cluster that forwards: the session decides where the key goes */
		if (g.key && lc->env.forward &&
		    wc_slot_table_of(rcu_dereference(app->slot_part))->remote)
			g.key = NULL;
		if (g.key) {
			struct mc_route rt = { .read = true };
			struct wc_view v;
			bool hit;

			g.bound = wc_mc_udp_bound(app, src, len);
			/* the key's partition: the only one, or the one its slot maps to */
			rt.part = wc_slot_read_part(app, rcu_dereference(app->slot_part));
			if (!rt.part)
				lc->env.route(&lc->env, g.key, g.klen, &rt);
			if (rt.redirect) {
				wc_mc_udp_get_reply(lc, &g, NULL, rt.redirect);
				return;
			}
			hit = wc_get(rt.part, &lc->ctx, g.key, g.klen, wc_hash(g.key, g.klen),
				     WC_LOOKUP_REPLY_ONLY | (g.cas ? WC_LOOKUP_CAS : 0), &v);
			wc_mc_udp_get_reply(lc, &g, hit ? &v : NULL, NULL);
			return;
		}
	}
	u = lc->udp_free[--lc->nudp_free];
	u->stage = UDP_RUNNING;
	u->port = port;
	u->req = m;
	u->payload = payload + MC_UDP_HDR;
	u->plen = len - MC_UDP_HDR;
	u->consumed = 0;
	u->in.len = u->plen;
	u->req_id = wc_be16(hdr[0]);
	u->client_ip = src;
	u->client_port = wc_be16(udp->src_port);
	u->head = u->tail = NULL;
	u->ndgrams = 0;
	u->out = (struct mc_out){ .more = udp_more, .arg = u,
				  .limit = wc_mc_udp_bound(app, src, len) };
	mc_session_init(&u->sess);
	run(u);
}

void wc_mc_udp_complete(struct wc_lcore *lc, struct wc_mbox_req *req)
{
	struct mc_session *s = req->cookie;
	struct mc_udp_req *u = s->owner;

	mc_session_complete(s, req, &u->in, &u->out, &lc->env);
	run(u);
}


/* The owner node answered a forwarded request (cluster/link.h): reply and go on. */
void wc_mc_udp_forwarded(struct wc_lcore *lc, struct mc_session *s, const struct mc_inq *src,
			 uint64_t len, const char *line)
{
	struct mc_udp_req *u = s->owner;

	wc_link_reply_copy(&u->out, src, len, line);
	mc_session_forwarded(s, &u->in, &u->out, &lc->env);
	run(u);
}

unsigned wc_mc_udp_poll(struct wc_lcore *lc)
{
	unsigned n = lc->nudp_busy, work = 0;
	struct mc_udp_req *waiting[WC_UDP_CTX];

	if (n == 0)
		return 0;
	memcpy(waiting, lc->udp_busy, n * sizeof(waiting[0]));
	lc->nudp_busy = 0;
	for (unsigned i = 0; i < n; i++) {
		struct mc_udp_req *u = waiting[i];
		struct rte_ether_addr mac;

		if (u->stage == UDP_RUNNING) {
			run(u);
			work++;
		} else if (wc_lcore_neigh(lc, u->client_ip, &mac)) {
			transmit(u, &mac);
			release(u);
			work++;
		} else if ((int32_t)(lc->ctx.clock.now - u->deadline) >= 0) {
			lc->ns.drops[WC_DROP_NEIGH_UNRESOLVED]++;
			release(u);
		} else {
			wc_arp_probe(lc, u->port, u->client_ip);
			lc->udp_busy[lc->nudp_busy++] = u;
		}
	}
	return work;
}

int wc_mc_udp_init(struct wc_lcore *lc)
{
	lc->udp = rte_zmalloc_socket("wc_udp_ctx", WC_UDP_CTX * sizeof(struct mc_udp_req),
				     RTE_CACHE_LINE_SIZE, (int)rte_lcore_to_socket_id(lc->lcore_id));
	if (!lc->udp)
		return -1;
	for (unsigned i = 0; i < WC_UDP_CTX; i++) {
		struct mc_udp_req *u = &lc->udp[i];

		u->lc = lc;
		u->sess.owner = u;
		u->sess.owner_kind = MC_OWNER_UDP;
		u->sess.datagram = true;
		u->in.peek = udp_peek;
		u->in.consume = udp_consume;
		u->in.arg = u;
		lc->udp_free[i] = u;
	}
	lc->nudp_free = WC_UDP_CTX;
	lc->nudp_busy = 0;
	return 0;
}

void wc_mc_udp_fini(struct wc_lcore *lc)
{
	if (!lc->udp)
		return;
	for (unsigned i = 0; i < WC_UDP_CTX; i++)
		if (lc->udp[i].stage != UDP_FREE)
			release(&lc->udp[i]);
	rte_free(lc->udp);
	lc->udp = NULL;
}
