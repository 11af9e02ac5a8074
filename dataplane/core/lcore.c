/*
 * lcore.c - the worker loop: receive bursts from every port's queue of this
 * lcore, serve the mailbox (writes other lcores send to our partitions, and
 * completions of ours), retry parked requests, run the store's background
 * work, and announce an RCU quiescent state once per pass.
 *
 * Idle handling: with --busy-poll the loop spins; by default an idle lcore
 * first spins for SPIN_BEFORE_SLEEP_US (pausing between passes), then
 * sleeps for growing intervals (up to 500 us), going RCU offline while
 * asleep so it never holds up grace periods. The spin is bounded in time,
 * not in passes, and its passes give the store's maintenance only the busy
 * budget: a pass with the idle budget walks up to MAINTAIN_IDLE item
 * headers of the logs (crawl.c), so a spin of 2000 such passes kept an
 * "idle" lcore on its CPU for milliseconds after every request, and on a CPU
 * shared with another lcore (the testbed's nodes) each request/response
 * between them then waited for the scheduler's tick. The idle budget goes
 * to the passes between sleeps. With --busy-poll there are no sleeps: an
 * idle pass walks MAINTAIN_POLL headers, a slice of a microsecond or two,
 * since a request that arrives meanwhile waits for the pass to end (the
 * idle budget took over 10 us a pass, 300,000 times in a 5 s run at half
 * load, core/passes.h); a polling lcore runs millions of idle passes a
 * second, so the store's maintenance still keeps up.
 */
#include <stdio.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <urcu-qsbr.h>

#include "cluster/link.h"
#include "core/app.h"
#include "core/bus.h"
#include "core/latency.h"
#include "core/migrate.h"
#include "core/passes.h"
#include "core/slots.h"
#include "core/stats.h"
#include "net/neigh.h"
#include "net/net.h"
#include "net/tcp.h"
#include "redis/push.h"
#include "redis/migrate_conn.h"
#include "redis/repl_master.h"
#include "redis/replica.h"
#include "redis/server.h"

#define SPIN_BEFORE_SLEEP_US 200
#define SLEEP_MIN_US 10
#define SLEEP_MAX_US 500
#define MAINTAIN_BUSY 64
#define MAINTAIN_IDLE 4096
#define MAINTAIN_POLL 256

int wc_app_port_for(const struct wc_app *app, uint32_t addr)
{
	for (unsigned p = 0; p < app->nports; p++)
		if (wc_prefix_match(&(struct wc_prefix){ app->ports[p].ip, app->ports[p].prefix },
				    addr))
			return (int)p;
	return -1;
}

bool wc_lcore_neigh_slow(struct wc_lcore *lc, uint32_t ip, struct rte_ether_addr *mac)
{
	uint32_t now = lc->ctx.clock.now;
	uint32_t gen = __atomic_load_n(&lc->app->neigh->changes, __ATOMIC_ACQUIRE);

	if (!wc_neigh_lookup(lc->app->neigh, ip, now, mac))
		return false;
	lc->memo_ip = ip;
	lc->memo_now = now;
	lc->memo_gen = gen;
	lc->memo_mac = *mac;
	return true;
}

void wc_app_tcp_buffers(struct wc_app *app)
{
	uint64_t buf = app->cfg.max_value + (64u << 10);

	if (buf < (256u << 10))
		buf = 256u << 10;
	app->tcp_rcvbuf = (uint32_t)buf;
	app->tcp_wscale = 0;
	while ((buf >> app->tcp_wscale) > 0xFFFF)
		app->tcp_wscale++;
}

/* ---- the memcached environment of an lcore ---- */

/*
 * A slot moving between nodes (core/slots.h): a key of a slot migrating away
 * that is no longer here goes to the target (ask); a key of a slot being
 * imported is served here when the request came with ASKING.
 */
static void route_moving(const struct mc_env *env, const uint16_t *table, unsigned slot,
			 const uint8_t *key, uint32_t klen, struct mc_route *out)
{
	const struct wc_slot_table *t = wc_slot_table_of(table);
	struct wc_view v;
	uint16_t to = t->mig[slot];

	if (to && !out->redirect && to <= WC_SLOT_PEERS_MAX &&
	    !wc_get(out->part, env->ctx, key, klen, wc_hash(key, klen),
		    WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS | WC_LOOKUP_ANY_TYPE, &v)) {
		out->redirect = t->redirect[to - 1];
		out->node = to;
		out->ask = true;
	} else if (out->redirect && out->asking && t->imp[slot]) {
		out->redirect = NULL;
		out->node = 0;
	}
}

/*
 * The slot table is taken per request: a swap (core/slots.h) is seen at
 * once. A slot another cluster node serves comes with its redirect line.
 */
static void route(const struct mc_env *env, const uint8_t *key, uint32_t klen,
		  struct mc_route *out)
{
	const struct wc_lcore *lc = env->arg;
	const struct wc_app *app = lc->app;
	const uint16_t *table = rcu_dereference(app->slot_part);
	unsigned slot;

	/*
	 * One partition serving every slot, none moving: reads and writes alike
	 * go to it whatever the key's slot (no slot can carry WC_SLOT_MOVING
	 * with one partition, nor a redirect without remote), so the key is not
	 * hashed (CRC16)
	 */
	if ((out->part = wc_slot_read_part(app, table)) != NULL) {
		out->owner = app->part_owner[0];
		out->redirect = NULL;
		out->node = 0;
		out->ask = false;
		return;
	}
	slot = wc_key_slot(key, klen);
	wc_slot_route(app, table, slot, &out->part, &out->owner);
	out->redirect = wc_slot_redirect(table, slot);
	out->node = out->redirect ? wc_slot_table_of(table)->node[slot] : 0;
	/* a replica serves its master's keys to reads when asked to (--mc-read-replicas) */
	if (__builtin_expect(out->redirect != NULL, 0) && out->read &&
	    wc_slot_table_of(table)->read_replica && out->node == wc_slot_table_of(table)->master) {
		out->redirect = NULL;
		out->node = 0;
	}
	out->ask = false;
	if (__builtin_expect(wc_slot_table_of(table)->moving, 0))
		route_moving(env, table, slot, key, klen, out);
}

static struct wc_mbox_req *req_get(struct mc_env *env)
{
	struct wc_lcore *lc = env->arg;
	struct wc_mbox_req *r = lc->nreq_free ? lc->req_free[--lc->nreq_free] : NULL;
	struct wc_lat *lat = wc_lat_lcores[lc->id];

	if (r && lat)
		wc_lat_req_taken(lat, (unsigned)(r - lc->reqs));
	return r;
}

static void req_put(struct mc_env *env, struct wc_mbox_req *req)
{
	struct wc_lcore *lc = env->arg;

	lc->req_free[lc->nreq_free++] = req;
}

/* A mailbox write is done: what it told other lcores leaves before its completion (bus.h). */
static void before_complete(struct wc_ctx *ctx)
{
	struct wc_lcore *lc = container_of(ctx, struct wc_lcore, ctx);

	if (wc_bus_pending(lc))
		wc_bus_flush(lc);
}

int wc_lcore_init(struct wc_app *app, struct wc_lcore *lc, unsigned id, unsigned lcore_id)
{
	lc->id = id;
	lc->lcore_id = lcore_id;
	lc->queue = (uint16_t)id;
	lc->app = app;
	lc->pool = app->pool;
	wc_ctx_init(&lc->ctx);
	lc->ctx.before_complete = before_complete;
	for (unsigned i = 0; i < WC_REQ_POOL; i++)
		lc->req_free[i] = &lc->reqs[i];
	lc->nreq_free = WC_REQ_POOL;
	lc->env = (struct mc_env){
		/* one worker still has a mailbox when it has a park endpoint (migrate.h) */
		.ctx = &lc->ctx, .self = id,
		.mbox = app->mbox && wc_mbox_endpoints(app->mbox) > 1 ? app->mbox : NULL,
		.set = &app->mcset, .route = route, .nparts = app->nparts,
		.parts = app->parts, .part_owner = wc_migrate_flush_owners(app), .req_get = req_get,
		.req_put = req_put, .stats = wc_stats_memcached, .arg = lc,
	};
	if (app->mem && (app->cfg.tcp_enabled || app->cfg.redis_port) &&
	    wc_config_upload_buffer(&app->cfg)) {
		char name[32];

		snprintf(name, sizeof(name), "wc_stage_%u", id);
		if (wc_stage_pool_init(&lc->stage, wc_config_upload_buffer(&app->cfg) / app->nworkers,
				       app->mem, name) != 0)
			return -1;
		if (lc->stage.nchunks)
			lc->env.stage = &lc->stage;
	}
	if (wc_mc_udp_init(lc) != 0)
		return -1;
	/* an lcore's share of the connections, plus room for TIME_WAIT */
	if ((app->cfg.tcp_enabled || app->cfg.redis_port) &&
	    wc_tcp_init(lc, app->cfg.max_conns / app->nworkers + 64 + app->cfg.max_conns / 16) != 0)
		return -1;
	if (app->rd && rd_lcore_init(lc) != 0)
		return -1;
	/* MIGRATE's connections to target nodes (redis/migrate_conn.h) */
	if (lc->tcp && app->rd && wc_mig_lc_init(lc) != 0)
		return -1;
	/* the first worker owns the link to a master when the node is a replica (redis/replica.h) */
	if (lc->tcp && app->rd && id == 0 && rd_replica_lc_init(lc) != 0)
		return -1;
	/* links to the other nodes: a cluster node with a secret (cluster/link.h) */
	if (lc->tcp && app->rd && app->cfg.cluster && app->cfg.cluster_secret) {
		if (wc_link_lc_init(lc) != 0)
			return -1;
		if (wc_config_mc_forward(&app->cfg)) {
			lc->env.forward = wc_link_forward;
			lc->env.broadcast = wc_link_broadcast;
		}
	}
	return 0;
}

void wc_lcore_fini(struct wc_lcore *lc)
{
	lc->env.forward = NULL;
	lc->env.broadcast = NULL;
	if (lc->link)
		lc->link->closing = true;	/* links close with the connections below */
	if (lc->mig)
		lc->mig->closing = true;	/* and MIGRATE's */
	wc_tcp_fini(lc);
	rd_replica_lc_fini(lc);
	wc_link_lc_fini(lc);
	wc_mig_lc_fini(lc);
	wc_mc_udp_fini(lc);
	rd_lcore_fini(lc);
	lc->env.stage = NULL;
	wc_stage_pool_fini(&lc->stage);
	for (unsigned p = 0; p < WC_MAX_PORTS; p++) {
		for (unsigned i = 0; i < lc->ntx[p]; i++)
			rte_pktmbuf_free(lc->tx[p][i]);
		lc->ntx[p] = 0;
	}
}

static unsigned serve_mailbox(struct wc_lcore *lc)
{
	struct wc_mbox_req *done[32];
	unsigned work, n;

	if (!lc->env.mbox)
		return 0;
	work = wc_mbox_serve(lc->env.mbox, lc->id, &lc->ctx, 64);
	n = wc_mbox_collect(lc->env.mbox, lc->id, done, 32);
	for (unsigned i = 0; i < n; i++) {
		const struct mc_session *s = done[i]->cookie;
		struct wc_lat *lat = wc_lat_lcores[lc->id];
		unsigned idx = (unsigned)(done[i] - lc->reqs);

		if (s->owner_kind == MC_OWNER_TCP)
			wc_tcp_complete(lc, done[i]);
		else if (s->owner_kind == MC_OWNER_REDIS)
			wc_rd_tcp_complete(lc, done[i]);
		else if (s->owner_kind == MC_OWNER_LINK)
			wc_link_srv_complete(lc, done[i]);
		else if (s->owner_kind == MC_OWNER_REPL)
			rd_replica_complete(lc, done[i]);
		else
			wc_mc_udp_complete(lc, done[i]);
		if (lat)
			wc_lat_req_done(lat, idx);
	}
	return work + n;
}

unsigned wc_lcore_poll(struct wc_lcore *lc)
{
	struct wc_app *app = lc->app;
	struct rte_mbuf *pkts[WC_RX_BURST];
	struct wc_lat *lat = wc_lat_lcores[lc->id];
	struct wc_passes *pp = &wc_passes_lcores[lc->id];
	unsigned work = 0;

	wc_clock_tick(&lc->ctx.clock);
	work += wc_bus_drain(lc, 64);
	for (unsigned p = 0; p < app->nports; p++) {
		uint16_t n;

		if (lc->queue >= app->ports[p].nq)
			continue;
		n = rte_eth_rx_burst(app->ports[p].port_id, lc->queue, pkts, WC_RX_BURST);
		/* news from other lcores first: it may predate these packets (bus.h) */
		if (n)
			work += wc_bus_drain(lc, 64);
		if (n) {
			uint64_t rx_tsc = rte_rdtsc();

			if (lat)
				lat->rx_tsc = rx_tsc;
			/* the burst's plain UDP gets together, the rest frame by frame (net.h) */
			wc_net_input_burst(lc, p, pkts, n, lat);
			wc_passes_burst(pp, n, rx_tsc);
		}
		work += n;
	}
	if (lat)
		lat->rx_tsc = 0;	/* retries below: their rx time is not known */
	wc_passes_stage(pp, WC_STAGE_RX);
	work += serve_mailbox(lc);
	wc_passes_stage(pp, WC_STAGE_MAILBOX);
	work += wc_mc_udp_poll(lc);
	work += wc_tcp_poll(lc);
	work += wc_link_poll(lc);
	work += wc_mig_poll(lc);
	work += rd_repl_poll(lc);	/* replica feeds (redis/repl_master.h) */
	if (lc->replica)
		work += rd_replica_poll(lc);	/* the link to a master (redis/replica.h) */
	rd_push_output(lc);	/* frames without a request, written this loop (redis/push.h) */
	wc_passes_stage(pp, WC_STAGE_POLLS);
	wc_net_flush(lc);
	wc_passes_stage(pp, WC_STAGE_FLUSH);
	work += wc_migrate_lcore_work(lc->id, &lc->ctx.clock);
	if (app->rd) {
		/* Redis's instantaneous rates: a sample every RD_INST_PERIOD_MS */
		int64_t now_ms = wc_clock_unix_ms(&lc->ctx.clock);

		if (now_ms - lc->rdst.inst.last_ms >= RD_INST_PERIOD_MS)
			rd_lcore_sample(lc, now_ms);
	}
	for (unsigned i = 0; i < lc->nparts; i++)
		wc_part_maintain(app->parts[lc->part_idx[i]], &lc->ctx,
				 work || !(lc->dozing || app->cfg.busy_poll) ? MAINTAIN_BUSY
				 : lc->dozing ? MAINTAIN_IDLE : MAINTAIN_POLL);
	wc_passes_stage(pp, WC_STAGE_BACKGROUND);
	pp->worked = work != 0;
	lc->loops++;
	return work;
}

int wc_lcore_main(void *arg)
{
	struct wc_lcore *lc = arg;
	struct wc_app *app = lc->app;
	unsigned sleep_us = SLEEP_MIN_US;
	uint64_t spin_tsc = rte_get_tsc_hz() / 1000000 * SPIN_BEFORE_SLEEP_US;

	rcu_register_thread();
	wc_passes_init(&wc_passes_lcores[lc->id], rte_get_tsc_hz());
	while (!__atomic_load_n(&app->quit, __ATOMIC_RELAXED)) {
		/* the pass's one TSC read: busy accounting and the idle spin's clock */
		uint64_t now = rte_rdtsc();
		unsigned work;

		wc_busy_pass_start(&lc->busy, now);
		wc_passes_top(&wc_passes_lcores[lc->id], now);
		work = wc_lcore_poll(lc);
		wc_busy_pass_done(&lc->busy, work);
		rcu_quiescent_state();
		if (work || app->cfg.busy_poll) {
			lc->idle = 0;
			lc->dozing = false;
			sleep_us = SLEEP_MIN_US;
			continue;
		}
		if (lc->idle++ == 0)
			lc->idle_tsc = now;
		if (!lc->dozing) {
			if (now - lc->idle_tsc < spin_tsc) {
				rte_pause();
				continue;
			}
			lc->dozing = true;	/* the next pass has the idle budget, then sleep */
			continue;
		}
		/* idle: sleep offline so grace periods need not wait for us */
		rcu_thread_offline();
		{
			struct timespec ts = { 0, (long)sleep_us * 1000 };

			nanosleep(&ts, NULL);
		}
		rcu_thread_online();
		if (sleep_us < SLEEP_MAX_US)
			sleep_us *= 2;
	}
	wc_net_flush(lc);
	rcu_unregister_thread();
	return 0;
}
