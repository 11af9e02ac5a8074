/*
 * dpdk.c - the load generator on DPDK ports, over the dataplane's own
 * network stack (libwcnet: ARP, IPv4, UDP, and its TCP in client mode).
 * One worker per worker lcore, each with its own queue pair on the port
 * and its own flows; the main lcore keeps time, prints progress and stops.
 *
 *  - udp: memcached over UDP; a flow is a source port with up to --depth
 *    requests told apart by the frame header's request id; a request
 *    unanswered for --timeout-ms is counted lost and its slot reused.
 *  - tcp: memcached over TCP; a flow is a connection (wc_tcp_connect), its
 *    requests pipelined and answered in order.
 *  - echo: UDP requests sent to dpdk-testpmd --forward-mode=macswap come
 *    back unchanged; each return counts as a reply (the link's ceiling).
 *
 * Which flow sends next is a ring of credits: one per request a flow may
 * have outstanding, returned when its reply (or its timeout) comes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "core/app.h"
#include "core/port.h"
#include "lg.h"
#include "net/neigh.h"
#include "net/net.h"
#include "net/tcp.h"
#include "wirecache/eal_args.h"

#define FRAME_HDR 8			/* memcached UDP frame header */
#define UDP_PAYLOAD_MAX 1464		/* 1500 - IPv4 - UDP - frame header */
#define ISSUE_BURST 32			/* requests issued per loop pass */

struct udp_flow {
	uint16_t sport;
	struct lg_req req[LG_MAX_DEPTH];
};

struct tcp_flow {
	struct wc_tcb *c;
	struct dp_worker *w;
	bool up, gone;
	unsigned head, count;		/* FIFO of requests in flight, in order */
	struct lg_req q[LG_MAX_DEPTH];
	struct lg_parser parser;
};

struct dp_worker {
	struct lg_worker base;
	struct wc_lcore lc;		/* the network stack's per-lcore state */
	unsigned nflows, first_flow;	/* flows first_flow .. first_flow + nflows - 1 */
	struct udp_flow *udp;
	struct tcp_flow *tcp;
	struct lg_credits credits;
	uint64_t next_scan;
	struct lg_parser parser;	/* UDP replies are whole: one parser will do */
	volatile bool ready;		/* set up (connected / preloaded) */
	volatile bool go;		/* the main lcore says: run */
};

static struct wc_app app;
static struct dp_worker *workers[LG_MAX_WORKERS];
static unsigned nworkers;
static volatile bool interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = true;
}

static uint16_t eth_tx(struct wc_app *a, uint16_t port, uint16_t queue, struct rte_mbuf **pkts,
		       uint16_t n)
{
	(void)a;
	return rte_eth_tx_burst(port, queue, pkts, n);
}

/* ---- UDP ---- */

static struct dp_worker *worker_of(struct wc_lcore *lc)
{
	return workers[lc->id];
}

static bool udp_send(struct dp_worker *w, uint32_t fi, unsigned slot, struct lg_req *r)
{
	const struct lg_cfg *c = w->base.cfg;
	struct udp_flow *f = &w->udp[fi];
	struct rte_ether_addr mac;
	struct rte_mbuf *m;
	struct mc_out o;
	uint8_t *p;
	uint16_t reqid = (uint16_t)(slot | (uint16_t)(r->gen << 8));
	uint16_t hdr[4] = { rte_cpu_to_be_16(reqid), 0, rte_cpu_to_be_16(1), 0 };

	if (!wc_lcore_neigh(&w->lc, c->server_ip, &mac)) {
		wc_arp_probe(&w->lc, 0, c->server_ip);
		return false;
	}
	m = rte_pktmbuf_alloc(w->lc.pool);
	if (!m)
		return false;
	p = rte_pktmbuf_mtod_offset(m, uint8_t *, WC_UDP_HDRS);
	memcpy(p, hdr, FRAME_HDR);
	mc_out_init_buf(&o, p + FRAME_HDR, UDP_PAYLOAD_MAX);
	if (!lg_encode(c, r, &o)) {
		rte_pktmbuf_free(m);
		w->base.cnt.errors++;	/* a request over one datagram: memcached refuses those */
		return false;
	}
	wc_udp_finish(&w->lc, 0, m, &mac, c->server_ip, f->sport,
		      c->transport == LG_ECHO ? 9 : c->server_port,
		      (uint16_t)(FRAME_HDR + o.written));
	w->base.cnt.tx_bytes += m->pkt_len;
	wc_net_send(&w->lc, 0, m);
	return true;
}

static void udp_issue(struct dp_worker *w, uint32_t fi, uint64_t t0)
{
	struct udp_flow *f = &w->udp[fi];
	unsigned slot;

	for (slot = 0; slot < w->base.cfg->depth && f->req[slot].live; slot++)
		;
	if (slot == w->base.cfg->depth)
		return;		/* cannot happen: a credit means a free slot */
	lg_next(&w->base, &f->req[slot], t0);
	f->req[slot].gen++;
	if (!udp_send(w, fi, slot, &f->req[slot])) {
		lg_unnext(&w->base, &f->req[slot]);	/* a preload key is not skipped */
		lg_credit_put(&w->credits, fi);
		return;
	}
	w->base.cnt.sent++;
}

/* One reply datagram (memcached frame header + text), or a reflected request in echo mode. */
static void udp_reply(struct dp_worker *w, uint16_t dport, const uint8_t *payload, uint16_t len,
		      uint64_t now)
{
	const struct lg_cfg *c = w->base.cfg;
	uint32_t fi = (uint32_t)(dport - c->base_port) - w->first_flow;
	uint16_t reqid, seq, total;
	struct lg_req *r;
	enum lg_result res = LG_R_ERROR;
	bool ok = false;

	if (fi >= w->nflows || len < FRAME_HDR)
		return;
	reqid = (uint16_t)(payload[0] << 8 | payload[1]);
	seq = (uint16_t)(payload[2] << 8 | payload[3]);
	total = (uint16_t)(payload[4] << 8 | payload[5]);
	if ((reqid & 0xFF) >= c->depth)
		return;
	r = &w->udp[fi].req[reqid & 0xFF];
	if (!r->live || (uint8_t)r->gen != (reqid >> 8) || total == 0 || seq >= total)
		return;		/* late (timed out already) or not ours */
	w->base.cnt.rx_bytes += len;
	if (c->transport == LG_ECHO) {
		res = r->op == LG_GET ? LG_R_HIT : LG_R_STORED;	/* came back: that is all */
		r->verify = false;
	} else if (total == 1) {
		size_t used;

		lg_parser_expect(&w->parser, r);
		used = lg_parser_feed(&w->parser, payload + FRAME_HDR, len - FRAME_HDR, &res, &ok);
		if (res == LG_R_MORE || used != (size_t)(len - FRAME_HDR))
			res = LG_R_ERROR;	/* a reply must be whole and alone in its datagram */
	} else {
		/* a value over several datagrams: count them in; the length is the check */
		r->total = total;
		if (++r->got < total)
			return;
		res = r->op == LG_GET ? LG_R_HIT : LG_R_ERROR;
		r->verify = false;
	}
	lg_complete(&w->base, r, res, ok, now);
	lg_credit_put(&w->credits, fi);
}

static void udp_other(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
		      const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp)
{
	uint16_t len = (uint16_t)(rte_be_to_cpu_16(udp->dgram_len) - sizeof(*udp));

	(void)port;
	(void)ip;
	udp_reply(worker_of(lc), rte_be_to_cpu_16(udp->dst_port), (const uint8_t *)(udp + 1), len,
		  rte_get_tsc_cycles());
	rte_pktmbuf_free(m);
}

/* Echo mode: our own request, MACs swapped. */
static bool echo_input(struct dp_worker *w, struct rte_mbuf *m, uint64_t now)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);

	if (m->data_len < WC_UDP_HDRS + FRAME_HDR ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->next_proto_id != IPPROTO_UDP ||
	    rte_be_to_cpu_32(ip->src_addr) != w->base.cfg->my_ip)
		return false;
	udp_reply(w, rte_be_to_cpu_16(udp->src_port), (const uint8_t *)(udp + 1),
		  (uint16_t)(rte_be_to_cpu_16(udp->dgram_len) - sizeof(*udp)), now);
	rte_pktmbuf_free(m);
	return true;
}

static void udp_timeouts(struct dp_worker *w, uint64_t now)
{
	uint64_t limit = w->base.cfg->timeout_ms * (w->base.tsc_hz / 1000);

	for (uint32_t fi = 0; fi < w->nflows; fi++)
		for (unsigned s = 0; s < w->base.cfg->depth; s++) {
			struct lg_req *r = &w->udp[fi].req[s];

			if (r->live && now - r->t0 > limit) {
				r->live = false;
				w->base.cnt.timeouts++;
				lg_credit_put(&w->credits, fi);
			}
		}
}

/* ---- TCP ---- */

static void tcp_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct tcp_flow *f = c->user;

	(void)lc;
	f->up = true;
	for (unsigned i = 0; i < f->w->base.cfg->depth; i++)
		lg_credit_put(&f->w->credits, (uint32_t)(f - f->w->tcp));
}

static void tcp_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct tcp_flow *f = c->user;
	struct dp_worker *w = f->w;
	uint64_t now = rte_get_tsc_cycles();

	while (c->inq.len && f->count) {
		uint64_t contig;
		const uint8_t *p = c->inq.peek(&c->inq, 0, &contig);
		enum lg_result res;
		bool ok = false;
		size_t used;

		if (contig > c->inq.len)
			contig = c->inq.len;
		used = lg_parser_feed(&f->parser, p, contig, &res, &ok);
		w->base.cnt.rx_bytes += used;
		c->inq.consume(&c->inq, used);
		if (res == LG_R_MORE)
			continue;
		lg_complete(&w->base, &f->q[f->head], res, ok, now);
		f->head = (f->head + 1) % LG_MAX_DEPTH;
		f->count--;
		lg_credit_put(&w->credits, (uint32_t)(f - w->tcp));
		if (f->count)
			lg_parser_expect(&f->parser, &f->q[f->head]);
	}
	if (c->inq.len && !f->count) {
		w->base.cnt.errors++;	/* bytes nobody asked for */
		c->inq.consume(&c->inq, c->inq.len);
	}
	if (c->state == TCP_CLOSE_WAIT)
		wc_tcp_close(lc, c);
}

static void tcp_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct tcp_flow *f = c->user;

	(void)lc;
	if (!f->w->base.stop) {
		/* lost during the run: what it had out is never answered, as errors */
		f->w->base.cnt.conn_failed++;
		f->w->base.cnt.errors += f->count;
		f->w->base.cnt.done += f->count;
	}
	/*
	 * (at the end the flows are closed with requests still out: the node's
	 * replies then meet a closed connection and reset it, which ends here
	 * too; those requests were never due, so they are not errors)
	 */
	f->count = 0;
	f->up = false;
	f->gone = true;
	f->c = NULL;
}

static const struct wc_tcp_app tcp_client = {
	.open = tcp_open, .run = tcp_run, .close = tcp_close,
};

static void tcp_issue(struct dp_worker *w, uint32_t fi, uint64_t t0)
{
	struct tcp_flow *f = &w->tcp[fi];
	struct lg_req *r;

	if (!f->up || f->gone || f->count == LG_MAX_DEPTH)
		return;		/* its credits die with it */
	r = &f->q[(f->head + f->count) % LG_MAX_DEPTH];
	lg_next(&w->base, r, t0);
	if (!lg_encode(w->base.cfg, r, &f->c->out)) {
		w->base.cnt.errors++;
		wc_tcp_close(&w->lc, f->c);
		return;
	}
	if (f->count++ == 0)
		lg_parser_expect(&f->parser, r);
	w->base.cnt.sent++;
}

/* ---- the worker ---- */

static void issue(struct dp_worker *w, uint32_t fi, uint64_t t0)
{
	if (w->base.cfg->transport == LG_TCP)
		tcp_issue(w, fi, t0);
	else
		udp_issue(w, fi, t0);
}

static void flush_tcp(struct dp_worker *w)
{
	if (w->base.cfg->transport != LG_TCP)
		return;
	for (uint32_t fi = 0; fi < w->nflows; fi++)
		if (w->tcp[fi].up && w->tcp[fi].c && w->tcp[fi].c->out.p)
			wc_tcp_flush(&w->lc, w->tcp[fi].c);
}

static unsigned poll_rx(struct dp_worker *w)
{
	struct rte_mbuf *pkts[WC_RX_BURST];
	uint16_t n = rte_eth_rx_burst(app.ports[0].port_id, w->lc.queue, pkts, WC_RX_BURST);
	uint64_t now = rte_get_tsc_cycles();

	for (uint16_t i = 0; i < n; i++) {
		if (w->base.cfg->transport == LG_ECHO && echo_input(w, pkts[i], now))
			continue;
		wc_net_input(&w->lc, 0, pkts[i]);
	}
	return n;
}

static void pass(struct dp_worker *w)
{
	const struct lg_cfg *c = w->base.cfg;
	uint64_t now;
	uint32_t fi;

	wc_clock_tick(&w->lc.ctx.clock);
	poll_rx(w);
	wc_tcp_poll(&w->lc);
	now = rte_get_tsc_cycles();
	if (w->base.holding) {
		/* between preload and the run: nothing goes out */
	} else if (c->rate > 0 && !w->base.preloading) {
		for (unsigned k = 0; k < ISSUE_BURST && w->base.next_due <= now; k++) {
			if (!lg_credit_take(&w->credits, &fi)) {
				w->base.cnt.backlog++;	/* every flow is full: it waits, latency grows */
				break;
			}
			issue(w, fi, w->base.next_due);
			w->base.next_due = lg_next_arrival(&w->base, w->base.next_due);
		}
	} else {
		bool preload = w->base.preloading;

		for (unsigned k = 0; k < ISSUE_BURST && (!preload || w->base.preloading); k++) {
			if (!lg_credit_take(&w->credits, &fi))
				break;
			issue(w, fi, now);
		}
	}
	flush_tcp(w);
	wc_net_flush(&w->lc);
	if (c->transport != LG_TCP && now >= w->next_scan) {
		udp_timeouts(w, now);
		w->next_scan = now + w->base.tsc_hz / 100;
	}
}

static uint64_t outstanding(struct dp_worker *w)
{
	return w->base.cnt.sent - w->base.cnt.done - w->base.cnt.timeouts;
}

/* UDP flows never die; TCP ones do (reset, refused). */
static bool flows_alive(struct dp_worker *w)
{
	if (w->base.cfg->transport != LG_TCP)
		return true;
	for (uint32_t fi = 0; fi < w->nflows; fi++)
		if (!w->tcp[fi].gone)
			return true;
	return false;
}

/* ARP for the server until it answers (echo mode: testpmd never does; use a made-up MAC). */
static bool resolve_server(struct dp_worker *w)
{
	const struct lg_cfg *c = w->base.cfg;
	struct rte_ether_addr mac = { { 0x02, 0, 0, 0, 0, 0xec } };
	uint64_t end = rte_get_tsc_cycles() + 30 * w->base.tsc_hz, next = 0;

	/*
	 * A virtual link (memif) comes up when its peer has started, which on a
	 * loaded 2-core machine can take several seconds (testpmd, a dataplane
	 * allocating its memory): wait up to 30 s for the link, then 5 s for ARP.
	 */
	for (;;) {
		struct rte_eth_link link;

		if (rte_eth_link_get_nowait(app.ports[0].port_id, &link) == 0 && link.link_status)
			break;
		if (rte_get_tsc_cycles() >= end || interrupted)
			return false;
		rte_delay_ms(10);
	}
	if (c->transport == LG_ECHO) {
		wc_neigh_learn(app.neigh, c->server_ip, &mac, w->lc.ctx.clock.now);
		return true;
	}
	end = rte_get_tsc_cycles() + 5 * w->base.tsc_hz;
	while (rte_get_tsc_cycles() < end && !interrupted) {
		wc_clock_tick(&w->lc.ctx.clock);
		if (wc_lcore_neigh(&w->lc, c->server_ip, &mac))
			return true;
		if (rte_get_tsc_cycles() >= next) {
			wc_arp_probe(&w->lc, 0, c->server_ip);
			wc_net_flush(&w->lc);
			next = rte_get_tsc_cycles() + w->base.tsc_hz / 5;
		}
		poll_rx(w);
	}
	return false;
}

static int worker_main(void *arg)
{
	struct dp_worker *w = arg;
	const struct lg_cfg *c = w->base.cfg;
	uint64_t end;

	if (!resolve_server(w)) {
		fprintf(stderr, "wirecache-loadgen: the link stayed down, or the server never "
			"answered ARP\n");
		w->base.cnt.conn_failed++;
		w->ready = true;
		return -1;
	}
	if (c->transport == LG_TCP) {
		for (uint32_t fi = 0; fi < w->nflows; fi++) {
			struct tcp_flow *f = &w->tcp[fi];

			f->w = w;
			lg_parser_init(&f->parser, c);
			f->c = wc_tcp_connect(&w->lc, 0, c->server_ip, c->server_port,
					      (uint16_t)(c->base_port + w->first_flow + fi),
					      &tcp_client, f);
			if (!f->c) {
				f->gone = true;
				w->base.cnt.conn_failed++;
			}
		}
		end = rte_get_tsc_cycles() + 10 * w->base.tsc_hz;
		for (;;) {
			unsigned up = 0, gone = 0;

			for (uint32_t fi = 0; fi < w->nflows; fi++) {
				up += w->tcp[fi].up;
				gone += w->tcp[fi].gone;
			}
			if (up + gone == w->nflows || rte_get_tsc_cycles() > end || interrupted)
				break;
			wc_clock_tick(&w->lc.ctx.clock);
			poll_rx(w);
			wc_tcp_poll(&w->lc);
			wc_net_flush(&w->lc);
		}
	} else {
		for (uint32_t fi = 0; fi < w->nflows; fi++)
			for (unsigned d = 0; d < c->depth; d++)
				lg_credit_put(&w->credits, fi);
	}
	/* preload: this worker's share of the keys, SET in order */
	w->base.holding = !w->base.preloading;
	while ((w->base.preloading || outstanding(w)) && !interrupted && flows_alive(w)) {
		pass(w);
		w->base.holding = !w->base.preloading;
	}
	w->ready = true;
	while (!w->go && !interrupted)
		rte_pause();
	w->base.holding = false;
	w->base.next_due = rte_get_tsc_cycles();
	while (!w->base.stop && !interrupted)
		pass(w);
	if (getenv("LG_DEBUG") && c->transport == LG_TCP)
		for (uint32_t fi = 0; fi < w->nflows; fi++) {
			struct tcp_flow *f = &w->tcp[fi];
			struct wc_tcb *t = f->c;

			if (!t)
				continue;
			fprintf(stderr, "flow %u st %d count %u rx %lu inq %lu tx %lu una %u nxt %u max %u "
				"rcv_nxt %u rcv_adv %u snd_wnd %u cwnd %u rto %lu retries %u parser st %d\n",
				fi, t->state, f->count, (unsigned long)t->rx.len,
				(unsigned long)t->inq.len, (unsigned long)t->tx.len, t->snd_una, t->snd_nxt,
				t->snd_max, t->rcv_nxt, t->rcv_adv, t->snd_wnd, t->cwnd,
				(unsigned long)t->t_rto, t->retries, f->parser.st);
		}
	/* close politely, and give the FINs a moment */
	if (c->transport == LG_TCP) {
		for (uint32_t fi = 0; fi < w->nflows; fi++)
			if (w->tcp[fi].c)
				wc_tcp_close(&w->lc, w->tcp[fi].c);
		end = rte_get_tsc_cycles() + w->base.tsc_hz / 5;
		while (rte_get_tsc_cycles() < end && wc_tcp_active(&w->lc)) {
			poll_rx(w);
			wc_tcp_poll(&w->lc);
			wc_net_flush(&w->lc);
		}
	}
	return 0;
}

static struct dp_worker *worker_new(const struct lg_cfg *c, unsigned id, unsigned lcore_id,
				    struct wc_keydist *kd)
{
	struct dp_worker *w = rte_zmalloc("lg_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
	unsigned per = c->flows / nworkers + (id < c->flows % nworkers);
	uint32_t ring = lg_credit_ring_size(per, c->depth);

	if (!w || per == 0)
		return NULL;
	w->nflows = per;
	w->first_flow = id * (c->flows / nworkers) + (id < c->flows % nworkers ? id : c->flows % nworkers);
	w->credits.slot = rte_malloc("lg_credit", ring * sizeof(uint32_t), 0);
	w->credits.mask = ring - 1;
	if (c->transport == LG_TCP)
		w->tcp = rte_zmalloc("lg_tcp", per * sizeof(struct tcp_flow), 0);
	else
		w->udp = rte_zmalloc("lg_udp", per * sizeof(struct udp_flow), 0);
	if (!w->credits.slot || (!w->tcp && !w->udp))
		return NULL;
	for (uint32_t fi = 0; fi < per && w->udp; fi++)
		w->udp[fi].sport = (uint16_t)(c->base_port + w->first_flow + fi);
	w->base.id = id;
	w->base.cfg = c;
	w->base.rng.s = c->seed * 1000003u + id;
	w->base.kd = kd;
	w->base.tsc_hz = rte_get_tsc_hz();
	if (c->rate > 0)
		w->base.per_tsc_rate = c->rate / nworkers / (double)w->base.tsc_hz;
	if (c->preload) {
		w->base.preloading = true;
		w->base.preload_next = id;
		w->base.preload_step = nworkers;
		w->base.preload_left = c->keys / nworkers + (id < c->keys % nworkers);
		if (!w->base.preload_left)
			w->base.preloading = false;
	}
	lg_parser_init(&w->parser, c);
	if (wc_lcore_init(&app, &w->lc, id, lcore_id) != 0)
		return NULL;
	return w;
}

static int setup_app(const struct lg_cfg *c)
{
	uint16_t port_id;
	unsigned mbufs = c->flows * c->depth * 4 + 16384;

	wc_config_defaults(&app.cfg);
	app.cfg.tcp_port = 0;		/* a client: nothing listens */
	app.cfg.udp_enabled = false;
	app.cfg.max_conns = c->flows + 64;
	app.cfg.tcp_idle_ms = 3600000;
	app.cfg.request_timeout_ms = 0;
	app.cfg.upload_buffer = 0;	/* a client stages nothing */
	app.cfg.redis_port = 0;
	app.cfg.max_value = lg_value_max(c) + 1024;
	app.cfg.rx_desc = 1024;
	app.cfg.tx_desc = 1024;
	app.tx = eth_tx;
	app.udp_other = udp_other;
	app.started = 1;
	wc_app_tcp_buffers(&app);
	app.neigh = rte_zmalloc("lg_neigh", sizeof(struct wc_neigh), RTE_CACHE_LINE_SIZE);
	if (!app.neigh)
		return -1;
	wc_neigh_init(app.neigh);
	if (mbufs > 262143)
		mbufs = 262143;
	app.pool = rte_pktmbuf_pool_create("lg_pool", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	if (!app.pool) {
		fprintf(stderr, "wirecache-loadgen: no memory for %u mbufs\n", mbufs);
		return -1;
	}
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "wirecache-loadgen: no port (give one with --vdev)\n");
		return -1;
	}
	port_id = 0;
	RTE_ETH_FOREACH_DEV(port_id)
		break;
	app.nports = 1;
	app.nworkers = nworkers;
	if (wc_port_setup(&app, 0, port_id, nworkers, app.pool) != 0) {
		fprintf(stderr, "wirecache-loadgen: cannot start port %u\n", port_id);
		return -1;
	}
	if (app.ports[0].nq < nworkers) {
		fprintf(stderr, "wirecache-loadgen: the port has %u queue pairs for %u workers\n",
			app.ports[0].nq, nworkers);
		return -1;
	}
	app.ports[0].ip = c->my_ip;
	app.ports[0].prefix = c->my_prefix;
	return 0;
}

static double now_s(void)
{
	return (double)rte_get_tsc_cycles() / (double)rte_get_tsc_hz();
}

int lg_dpdk_main(int argc, char **argv, struct lg_run *run)
{
	struct lg_cfg *c = &run->cfg;
	static struct wc_keydist kd;
	unsigned lcore_id, ids[LG_MAX_WORKERS], n = 0;
	double t0, t_measure, t_end, next_progress;
	int eal, rc = 0;

	argv = wc_eal_args(argc, argv, &argc);
	eal = rte_eal_init(argc, argv);
	if (eal < 0) {
		fprintf(stderr, "wirecache-loadgen: EAL init failed\n");
		return 1;
	}
	if (lg_options(argc - eal, argv + eal, c) != 0)
		return 2;
	if (c->transport == LG_SOCKET) {
		fprintf(stderr, "wirecache-loadgen: --socket runs without EAL options\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		if (n < LG_MAX_WORKERS)
			ids[n++] = lcore_id;
	}
	if (n == 0) {
		fprintf(stderr, "wirecache-loadgen: needs a worker lcore besides the main one "
			"(e.g. --lcores 0@0,1@1)\n");
		return 2;
	}
	if (n > c->flows)
		n = c->flows;
	nworkers = n;
	lg_values_init(lg_value_max(c));
	wc_keydist_init(&kd, c->keys, c->zipf);
	if (setup_app(c) != 0)
		return 1;
	for (unsigned i = 0; i < nworkers; i++) {
		workers[i] = worker_new(c, i, ids[i], &kd);
		if (!workers[i]) {
			fprintf(stderr, "wirecache-loadgen: cannot set up worker %u\n", i);
			return 1;
		}
		app.lc[i] = &workers[i]->lc;
		run->w[i] = &workers[i]->base;
	}
	run->nworkers = nworkers;
	for (unsigned i = 0; i < nworkers; i++)
		rte_eal_remote_launch(worker_main, workers[i], ids[i]);
	for (unsigned i = 0; i < nworkers; i++)
		while (!workers[i]->ready && !interrupted)
			usleep(1000);
	for (unsigned i = 0; i < nworkers; i++)
		if (workers[i]->base.cnt.conn_failed)
			rc = 1;
	if (rc)
		fprintf(stderr, "wirecache-loadgen: some flows could not be set up\n");
	/* warm up, then measure */
	t0 = now_s();
	t_measure = t0 + c->warmup;
	t_end = t_measure + c->duration;
	next_progress = t0 + 1;
	for (unsigned i = 0; i < nworkers; i++)
		workers[i]->go = true;
	while (!interrupted) {
		double t = now_s();

		if (t >= t_measure && !workers[0]->base.measuring)
			for (unsigned i = 0; i < nworkers; i++)
				workers[i]->base.measuring = true;
		if (t >= t_end)
			break;
		if (t >= next_progress) {
			lg_progress(run, t - t0);
			next_progress += 1;
		}
		usleep(2000);
	}
	t_end = now_s();
	for (unsigned i = 0; i < nworkers; i++)
		workers[i]->base.stop = true;
	rte_eal_mp_wait_lcore();
	if (lg_summary(run, t_end > t_measure ? t_end - t_measure : 0) != 0)
		rc = 1;
	/* what the network stack under the generator dropped, by reason */
	for (unsigned d = 0; d < WC_DROP_COUNT; d++) {
		uint64_t dropped = 0;

		for (unsigned i = 0; i < nworkers; i++)
			dropped += workers[i]->lc.ns.drops[d];
		if (dropped)
			printf("  not taken here: %lu %s\n", (unsigned long)dropped,
			       wc_drop_stat_names[d]);
	}
	wc_port_close(&app, 0);
	return rc;
}
