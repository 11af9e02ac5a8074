/*
 * link_cli.c - the requesting side of node-to-node links (see link.h):
 * following the map, opening, authenticating and retrying each lcore's
 * links, sending forwarded memcached requests and handing their replies
 * (or their failure) back to the sessions that wait for them.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <urcu-qsbr.h>

#include "cluster/link.h"
#include "core/port.h"
#include "core/slots.h"
#include "net/tcp_impl.h"
#include "proto/mc_exec.h"
#include "redis/server.h"

enum { HS_WAIT_CHALLENGE = 1, HS_DONE = 2 };

static const char timed_out[] = "SERVER_ERROR forwarding timed out\r\n";

bool wc_link_listens(const struct wc_app *app, uint16_t lport)
{
	return app->cfg.cluster_secret && app->rd && app->rd->cluster && lport &&
	       lport == app->rd->cport;
}

int wc_link_lc_init(struct wc_lcore *lc)
{
	size_t sz = sizeof(struct wc_link_lc) + WC_SLOT_PEERS_MAX * sizeof(struct wc_link_peer);

	lc->link = rte_zmalloc_socket("wc_link", sz, RTE_CACHE_LINE_SIZE,
				      (int)rte_lcore_to_socket_id(lc->lcore_id));
	return lc->link ? 0 : -1;
}

void wc_link_lc_fini(struct wc_lcore *lc)
{
	rte_free(lc->link);
	lc->link = NULL;
}

/* Write a frame's header and its payload (may be NULL: written by the caller next). */
static void put_frame(struct mc_out *o, uint8_t kind, uint8_t flags, uint32_t id,
		      const void *payload, uint32_t len)
{
	uint8_t h[WC_LINK_HDR];

	wc_link_hdr_put(h, &(struct wc_link_hdr){ .len = len, .id = id, .kind = kind,
						  .flags = flags });
	mc_out_put(o, h, sizeof(h));
	if (payload)
		mc_out_put(o, payload, len);
}

/* ---- handing replies to the waiting sessions ---- */

/*
 * The reply (len bytes of src, or line) of s's forwarded request: to its
 * transport. One key of a split get goes without its END (fwd_more says
 * the get goes on); anything else (an error line) ends that get.
 */
static void deliver(struct wc_lcore *lc, struct mc_session *s, const struct mc_inq *src,
		    uint64_t len, const char *line, bool split)
{
	if (!s)
		return;	/* a broadcast: its answer is not read */
	s->fwd_more = false;
	if (split && !line && len >= 5) {
		uint8_t tail[5];

		mc_inq_copy(src, len - 5, tail, 5);
		if (memcmp(tail, "END\r\n", 5) == 0) {
			len -= 5;
			s->fwd_more = true;
		}
	}
	if (s->owner_kind == MC_OWNER_TCP)
		wc_mc_tcp_forwarded(lc, s, src, len, line);
	else if (s->owner_kind == MC_OWNER_UDP)
		wc_mc_udp_forwarded(lc, s, src, len, line);
	else if (s->owner_kind == MC_OWNER_LINK)
		wc_link_srv_forwarded(lc, s, src, len, line);
}

void wc_link_reply_copy(struct mc_out *out, const struct mc_inq *src, uint64_t len,
			const char *line)
{
	uint64_t off = 0;

	if (line) {
		mc_out_str(out, line);
		return;
	}
	while (off < len) {
		uint64_t contig;
		const uint8_t *p = src->peek(src, off, &contig);

		if (contig > len - off)
			contig = len - off;
		mc_out_put(out, p, contig);
		off += contig;
	}
}

/* The moved line of peer P (its node's redirect, core/slots.h). */
static const char *moved_line(const struct wc_lcore *lc, const struct wc_link_peer *P)
{
	const uint16_t *table = rcu_dereference(lc->app->slot_part);
	const struct wc_slot_table *t = wc_slot_table_of(table);

	if (P->idx < WC_SLOT_PEERS_MAX && t->redirect[P->idx][0])
		return t->redirect[P->idx];
	return "SERVER_ERROR moved\r\n";
}

/* Answer every request waiting on P with an error (the first with first_line if given). */
static void fail_waits(struct wc_lcore *lc, struct wc_link_peer *P, const char *first_line)
{
	struct wc_link_stats *st = &lc->link->st;

	while (P->nwait) {
		struct wc_link_wait w = P->wait[P->whead];

		P->whead = (P->whead + 1) % WC_LINK_WAITS;
		P->nwait--;
		st->fwd_failed += w.s != NULL;
		if (!lc->link->closing)
			deliver(lc, w.s, NULL, 0,
				w.quiet ? "" : first_line ? first_line : moved_line(lc, P), w.split);
		first_line = NULL;
	}
}

/* The connection of P is gone (its close hook): fail what waits, retry later. */
static void link_gone(struct wc_lcore *lc, struct wc_link_peer *P)
{
	struct wc_link_lc *L = lc->link;

	if (P->state == WC_LINK_UP && L->st.links_open)
		L->st.links_open--;
	P->c = NULL;
	P->hs = 0;
	P->broken = false;
	L->st.link_resets++;
	if (P->state != WC_LINK_NONE && lc->tcp) {
		P->state = WC_LINK_DOWN;
		P->next_try_ms = lc->tcp->now_ms + P->backoff_ms;
		P->backoff_ms = P->backoff_ms * 2 > WC_LINK_BACKOFF_MAX_MS ? WC_LINK_BACKOFF_MAX_MS
									 : P->backoff_ms * 2;
	}
	fail_waits(lc, P, NULL);
}

/* Drop P's connection now (its close hook runs: link_gone). */
static void link_reset(struct wc_lcore *lc, struct wc_link_peer *P)
{
	if (P->c)
		wc_tcp_reset_conn(lc, P->c);
	else
		fail_waits(lc, P, NULL);
}

/* The oldest request on P got no answer in time: it hears so, and the link goes. */
static void time_out(struct wc_lcore *lc, struct wc_link_peer *P)
{
	struct wc_link_wait w = P->wait[P->whead];

	P->whead = (P->whead + 1) % WC_LINK_WAITS;
	P->nwait--;
	lc->link->st.fwd_timeouts++;
	lc->link->st.fwd_failed++;
	deliver(lc, w.s, NULL, 0, w.quiet ? "" : timed_out, w.split);
	link_reset(lc, P);
}

/* ---- the client application ---- */

static void cli_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_link_peer *P = c->user;
	uint8_t hello[4 + WC_LINK_NONCE];

	wc_link_nonce(P->nc);
	memcpy(hello, WC_LINK_MAGIC, 4);
	memcpy(hello + 4, P->nc, WC_LINK_NONCE);
	put_frame(&c->out, WC_LINK_HELLO, 0, 0, hello, sizeof(hello));
	P->hs = HS_WAIT_CHALLENGE;
	wc_tcp_flush(lc, c);
}

/* The server's CHALLENGE: check its proof, send ours. False: the link must go. */
static bool cli_challenge(struct wc_lcore *lc, struct wc_tcb *c, struct wc_link_peer *P)
{
	uint8_t b[WC_LINK_NONCE + WC_LINK_MAC], want[WC_LINK_MAC], proof[WC_LINK_MAC];
	const char *secret = lc->app->cfg.cluster_secret;

	mc_inq_copy(&c->inq, WC_LINK_HDR, b, sizeof(b));
	if (!wc_link_mac_server(secret, P->nc, b, want) || !wc_link_mac_equal(want, b + WC_LINK_NONCE))
		return false;
	if (!wc_link_mac_client(secret, b, P->nc, proof))
		return false;
	put_frame(&c->out, WC_LINK_AUTH, 0, 0, proof, sizeof(proof));
	P->hs = HS_DONE;
	P->state = WC_LINK_UP;
	P->backoff_ms = WC_LINK_BACKOFF_MIN_MS;
	lc->link->st.link_up++;
	lc->link->st.links_open++;
	return true;
}

static void count_latency(struct wc_link_stats *st, uint64_t us)
{
	static const uint64_t bounds[7] = { 100, 250, 500, 1000, 2500, 10000, 100000 };
	unsigned b = 0;

	while (b < 7 && us >= bounds[b])
		b++;
	st->fwd_lat_hist[b]++;
	st->fwd_latency_us += us;
	st->fwd_answered++;
}

static void cli_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_link_peer *P = c->user;
	struct wc_link_stats *st = &lc->link->st;

	if (c->state == TCP_FREE || c->app_closed)
		return;
	while (c->inq.len >= WC_LINK_HDR) {
		uint8_t hb[WC_LINK_HDR];
		struct wc_link_hdr h;

		mc_inq_copy(&c->inq, 0, hb, sizeof(hb));
		if (wc_link_hdr_parse(hb, sizeof(hb), &h) != WC_LINK_OK)
			goto bad;
		if (c->inq.len < WC_LINK_HDR + (uint64_t)h.len)
			break;
		if (P->hs == HS_WAIT_CHALLENGE) {
			if (h.kind != WC_LINK_CHALLENGE || !cli_challenge(lc, c, P)) {
				st->link_auth_failed++;
				goto bad;
			}
			c->inq.consume(&c->inq, WC_LINK_HDR + h.len);
			continue;
		}
		if (h.kind != WC_LINK_MC_REP || P->hs != HS_DONE || !P->nwait ||
		    P->wait[P->whead].id != h.id)
			goto bad;
		{
			struct wc_link_wait w = P->wait[P->whead];

			P->whead = (P->whead + 1) % WC_LINK_WAITS;
			P->nwait--;
			count_latency(st, c->lc->tcp->now_us - w.sent_us);
			c->inq.consume(&c->inq, WC_LINK_HDR);
			deliver(lc, w.s, &c->inq, h.len, NULL, w.split);
			c->inq.consume(&c->inq, h.len);
		}
	}
	if (c->state == TCP_CLOSE_WAIT)
		goto bad;	/* the owner closed: what waits will not be answered */
	wc_tcp_flush(lc, c);
	return;
bad:
	wc_tcp_reset_conn(lc, c);
}

static void cli_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_link_peer *P = c->user;

	if (P && P->c == c)
		link_gone(lc, P);
}

static bool cli_keep_idle(const struct wc_tcb *c)
{
	(void)c;
	return true;	/* links stay open however quiet */
}

const struct wc_tcp_app wc_link_cli_app = {
	.open = cli_open, .run = cli_run, .close = cli_close, .keep_idle = cli_keep_idle,
};

/* ---- forwarding ---- */

int wc_link_forward(struct mc_env *env, struct mc_session *s, struct mc_inq *in,
		    const struct mc_route *rt)
{
	struct wc_lcore *lc = env->arg;
	struct wc_link_lc *L = lc->link;
	struct wc_link_peer *P;
	struct wc_tcb *c;
	bool split = s->fwd_key.len != 0;
	bool cas = s->req.cmd == MC_GETS;
	uint64_t block = !split && s->req.has_data ? s->req.vlen + 2 : 0;
	uint64_t len = split ? (cas ? 5u : 4u) + s->fwd_key.len + 2 : s->line_bytes + block;
	struct wc_link_wait *w;

	if (!L || rt->node == 0 || rt->node > WC_SLOT_PEERS_MAX)
		return MC_EXEC_DONE;
	P = &L->peer[rt->node - 1];
	if (P->state != WC_LINK_UP || !P->c || P->broken) {
		L->st.fwd_failed++;	/* answered with the moved line */
		return MC_EXEC_DONE;
	}
	c = P->c;
	if (P->nwait == WC_LINK_WAITS || len > WC_LINK_FRAME_MAX || wc_tcp_out_full(&c->out))
		return MC_EXEC_BUSY;
	put_frame(&c->out, WC_LINK_MC_REQ,
		  (s->datagram ? WC_LINK_F_UDP : 0) | (rt->ask ? WC_LINK_F_ASKING : 0), P->next_id, NULL,
		  (uint32_t)len);
	if (split) {
		/* one key of a get that spans nodes (mc_exec.c, exec_get_split) */
		mc_out_str(&c->out, cas ? "gets " : "get ");
		mc_out_put(&c->out, s->fwd_key.p, s->fwd_key.len);
		mc_out_str(&c->out, "\r\n");
	} else {
		/* the line as the client sent it (cur_line lacks the newline when assembled) */
		mc_out_put(&c->out, s->cur_line, s->line_bytes - 1);
		mc_out_char(&c->out, '\n');
	}
	if (block && s->staged) {
		uint8_t buf[2048];

		for (uint64_t off = 0; off < block;) {
			uint64_t n = block - off < sizeof(buf) ? block - off : sizeof(buf);

			wc_stage_read(&s->stage, off, buf, n);
			mc_out_put(&c->out, buf, n);
			off += n;
		}
	} else if (block) {
		for (uint64_t off = s->line_bytes; off < s->line_bytes + block;) {
			uint64_t contig;
			const uint8_t *p = in->peek(in, off, &contig);

			if (contig > s->line_bytes + block - off)
				contig = s->line_bytes + block - off;
			mc_out_put(&c->out, p, contig);
			off += contig;
		}
	}
	w = &P->wait[(P->whead + P->nwait) % WC_LINK_WAITS];
	*w = (struct wc_link_wait){ .s = s, .id = P->next_id++, .sent_us = lc->tcp->now_us,
				    .split = split,
				    .quiet = s->req.noreply &&
					     !(s->req.cmd >= MC_MG && s->req.cmd <= MC_ME) };
	P->nwait++;
	s->pending++;
	L->st.fwd_requests++;
	wc_tcp_out_commit(c);
	if (c->out.failed) {
		/* no buffers: the poll resets the link and answers what waits */
		P->broken = true;
		return MC_EXEC_PENDING;
	}
	wc_tcp_output(lc, c);
	return MC_EXEC_PENDING;
}

void wc_link_broadcast(struct mc_env *env, const struct mc_session *s)
{
	struct wc_lcore *lc = env->arg;
	struct wc_link_lc *L = lc->link;

	for (unsigned k = 0; L && L->any && k < WC_SLOT_PEERS_MAX; k++) {
		struct wc_link_peer *P = &L->peer[k];
		struct wc_tcb *c = P->c;

		if (P->state != WC_LINK_UP || !c || P->broken || P->nwait == WC_LINK_WAITS)
			continue;	/* a node not reachable now misses it */
		put_frame(&c->out, WC_LINK_MC_REQ, 0, P->next_id, NULL, s->line_bytes);
		mc_out_put(&c->out, s->cur_line, s->line_bytes - 1);
		mc_out_char(&c->out, '\n');
		P->wait[(P->whead + P->nwait) % WC_LINK_WAITS] = (struct wc_link_wait){
			.id = P->next_id++, .sent_us = lc->tcp->now_us };
		P->nwait++;
		wc_tcp_out_commit(c);
		if (c->out.failed)
			P->broken = true;
		else
			wc_tcp_output(lc, c);
	}
}

/* ---- following the map ---- */

/*
 * Take node k of map m as a peer (true), or none: every other node with an
 * address and a bus port, masters (forwarding, PUBLISH) and replicas
 * (PUBLISH) alike.
 */
static bool want_peer(const struct rd_cluster_map *m, uint16_t k, uint32_t *ip, uint16_t *cport)
{
	const struct rd_cluster_node *n;
	struct in_addr a;

	if (!m || k >= m->nnodes || k == m->myself)
		return false;
	n = &m->node[k];
	if (!(n->flags & (RD_NODE_MASTER | RD_NODE_REPLICA)) || (n->flags & RD_NODE_NOADDR) ||
	    !n->cport || inet_pton(AF_INET, n->ip, &a) != 1)
		return false;
	*ip = ntohl(a.s_addr);
	*cport = n->cport;
	return true;
}

static void sync_map(struct wc_lcore *lc)
{
	struct wc_link_lc *L = lc->link;
	const struct rd_cluster_map *m = rd_cluster_map_get(lc->app->rd);
	uint64_t epoch = m ? m->current_epoch + 1 : 0;	/* 0: no map */

	if (epoch == L->epoch)
		return;
	L->epoch = epoch;
	L->any = false;
	for (uint16_t k = 0; k < WC_SLOT_PEERS_MAX; k++) {
		struct wc_link_peer *P = &L->peer[k];
		uint32_t ip = 0;
		uint16_t cport = 0;
		bool want = want_peer(m, k, &ip, &cport);

		if (P->state != WC_LINK_NONE && (!want || P->ip != ip || P->cport != cport)) {
			/* the node left the map (or moved): its link goes */
			if (P->state == WC_LINK_UP && L->st.links_open)
				L->st.links_open--;
			P->state = WC_LINK_NONE;
			link_reset(lc, P);
		}
		if (want && P->state == WC_LINK_NONE) {
			memset(P, 0, offsetof(struct wc_link_peer, wait));
			P->state = WC_LINK_DOWN;
			P->idx = k;
			P->ip = ip;
			P->cport = cport;
			P->backoff_ms = WC_LINK_BACKOFF_MIN_MS;
			P->next_try_ms = 0;
		}
		L->any |= want;
	}
}

static void try_connect(struct wc_lcore *lc, struct wc_link_peer *P)
{
	struct wc_link_lc *L = lc->link;
	int port = wc_app_port_for(lc->app, P->ip);
	uint16_t base = (uint16_t)(WC_LINK_LPORT_BASE +
				   (lc->id * WC_LINK_LPORT_SPAN) % (65536 - WC_LINK_LPORT_BASE));

	const struct wc_port *pt = &lc->app->ports[port < 0 ? 0 : port];

	for (unsigned i = 0; i < 256 && !P->c; i++) {
		uint16_t lport = (uint16_t)(base + L->lport_next++ % WC_LINK_LPORT_SPAN);

		/* the peer's segments must come back to this lcore's queue (RSS) */
		if (wc_port_queue_of(pt, pt->ip, lport, P->ip, P->cport) != lc->queue)
			continue;
		P->c = wc_tcp_connect(lc, port < 0 ? 0 : (unsigned)port, P->ip, P->cport, lport,
				      &wc_link_cli_app, P);
	}
	L->st.link_connects++;
	P->since_ms = lc->tcp->now_ms;
	if (P->c) {
		P->state = WC_LINK_CONNECTING;
		P->hs = 0;
		return;
	}
	P->next_try_ms = lc->tcp->now_ms + P->backoff_ms;
	P->backoff_ms = P->backoff_ms * 2 > WC_LINK_BACKOFF_MAX_MS ? WC_LINK_BACKOFF_MAX_MS
								 : P->backoff_ms * 2;
}

unsigned wc_link_poll(struct wc_lcore *lc)
{
	struct wc_link_lc *L = lc->link;
	uint64_t now;
	unsigned work = 0;

	if (!L || !lc->tcp)
		return 0;
	now = lc->tcp->now_ms;
	if (now - L->last_sync_ms < WC_LINK_SYNC_MS && L->last_sync_ms)
		return 0;
	L->last_sync_ms = now;
	sync_map(lc);
	if (!L->any)
		return 0;
	wc_link_state_poll(lc, now);
	for (unsigned k = 0; k < WC_SLOT_PEERS_MAX; k++) {
		struct wc_link_peer *P = &L->peer[k];

		switch (P->state) {
		case WC_LINK_DOWN:
			if (now >= P->next_try_ms) {
				try_connect(lc, P);
				work++;
			}
			break;
		case WC_LINK_CONNECTING:
			if (now - P->since_ms > WC_LINK_REPLY_MS) {
				link_reset(lc, P);	/* no handshake in time */
				work++;
			}
			break;
		case WC_LINK_UP:
			if (P->broken) {
				link_reset(lc, P);	/* a send failed (wc_link_forward) */
				work++;
			} else if (P->nwait &&
			    lc->tcp->now_us - P->wait[P->whead].sent_us > WC_LINK_REPLY_MS * 1000ull) {
				/* the owner does not answer: the oldest hears so, the link goes */
				time_out(lc, P);
				work++;
			}
			break;
		default:
			break;
		}
	}
	return work;
}

void wc_link_stats_sum(const struct wc_app *app, struct wc_link_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct wc_link_lc *L = app->lc[i] ? app->lc[i]->link : NULL;

		if (!L)
			continue;
		for (size_t j = 0; j < sizeof(*out) / sizeof(uint64_t); j++)
			((uint64_t *)out)[j] += ((const uint64_t *)&L->st)[j];
	}
}
