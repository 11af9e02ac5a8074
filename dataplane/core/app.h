/*
 * app.h - the dataplane's shared state: ports, worker lcores, partitions,
 * the slot table and the per-lcore context every packet is handled with.
 *
 * Each worker lcore owns one rx/tx queue pair on every port and one or more
 * store partitions; everything it touches per packet lives in its struct
 * wc_lcore (counters, tx buffers, request pools), so the packet path shares
 * no writable cache line with other lcores except through the mailbox.
 */
#ifndef WC_CORE_APP_H
#define WC_CORE_APP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_mbuf.h>

#include "core/busy.h"
#include "core/config.h"
#include "core/netstats.h"
#include "net/neigh.h"
#include "proto/mc_session.h"
#include "redis/keyev.h"
#include "redis/rd.h"
#include "store/mailbox.h"
#include "store/stage.h"
#include "store/store.h"
#include "wirecache/slot.h"

#define WC_MAX_WORKERS 64
#define WC_MAX_PARTS 256
#define WC_RX_BURST 32
#define WC_TX_BUF 64
#define WC_REQ_POOL 512		/* mailbox requests in flight per lcore */
#define WC_UDP_CTX 256		/* UDP requests waiting on another lcore, per lcore */

struct wc_neigh;
struct wc_app;
struct mc_udp_req;
struct wc_tcp_lc;
struct wc_link_lc;
struct wc_mig_lc;

struct wc_port {
	uint16_t port_id;
	struct rte_ether_addr mac;
	uint32_t ip;			/* host byte order */
	uint8_t prefix;
	uint16_t nq;			/* queue pairs (1 when the port has only one) */
	bool tx_ip_cksum, tx_l4_cksum;	/* offloads the port does for us */
	bool rx_cksum;			/* the port reports checksum status */
	uint16_t reta_size;		/* RSS spreads over nq queues (0: no RSS) */
};

/* How tx leaves an lcore: the ethdev normally, a capture in tests and fuzzing. */
typedef uint16_t (*wc_tx_fn)(struct wc_app *app, uint16_t port, uint16_t queue,
			      struct rte_mbuf **pkts, uint16_t n);

struct wc_bus_lc;
struct rd_push_lc;
struct rd_pubsub_lc;
struct rd_trk_lcore;
struct rd_slotkeys;

struct wc_lcore {
	unsigned id;			/* worker index = mailbox endpoint */
	unsigned lcore_id;		/* EAL lcore */
	uint16_t queue;			/* rx/tx queue index on every port */
	struct wc_app *app;
	struct rte_mempool *pool;
	struct wc_ctx ctx;		/* store clock and counters */
	struct wc_netstats ns;
	/* partitions this lcore owns */
	unsigned nparts;
	unsigned part_idx[64];
	/* tx buffers, one per port */
	uint16_t ntx[WC_MAX_PORTS];
	struct rte_mbuf *tx[WC_MAX_PORTS][WC_TX_BUF];
	/* the memcached engine's view of this lcore */
	struct mc_env env;
	unsigned nreq_free;
	struct wc_mbox_req *req_free[WC_REQ_POOL];
	struct wc_mbox_req reqs[WC_REQ_POOL];
	/* UDP requests parked on a remote write or on mailbox room */
	unsigned nudp_free;
	struct mc_udp_req *udp_free[WC_UDP_CTX];
	unsigned nudp_busy;
	struct mc_udp_req *udp_busy[WC_UDP_CTX];
	struct mc_udp_req *udp;		/* WC_UDP_CTX contexts */
	struct wc_tcp_lc *tcp;		/* this lcore's TCP (net/tcp.h) */
	struct wc_link_lc *link;	/* its node-to-node links (cluster/link.h), or NULL */
	struct wc_mig_lc *mig;		/* MIGRATE's connections (redis/migrate_conn.h), or NULL */
	struct rd_rlink *replica;	/* the link to this replica's master (redis/replica.h), or NULL */
	struct rd_repl_lc *repl;	/* replica feeds (redis/repl_master.h), or NULL */
	struct wc_stage_pool stage;	/* large values being received (store/stage.h) */
	struct rd_lcore_stats rdst;	/* the Redis engine's counters (redis/rd.h) */
	struct rd_keyev_lc keyev;	/* keyspace events (redis/keyev.h) */
	struct wc_bus_lc *bus;		/* messages to and from other lcores (core/bus.h) */
	struct rd_push_lc *push;	/* push frames' output list (redis/push.h) */
	struct rd_pubsub_lc *pubsub;	/* Pub/Sub subscriptions (redis/pubsub.h) */
	struct rd_trk_lcore *trk;	/* Redis client tracking (redis/tracking.h) */
	struct rd_slotkeys *slotkeys;	/* keys per slot being moved (redis/slotkeys.h), or NULL */
	/* the last neighbour looked up, for this clock second */
	uint32_t memo_ip, memo_now, memo_gen;
	struct rte_ether_addr memo_mac;
	/* idle back-off (lcore.c) */
	unsigned idle;			/* idle passes in a row */
	bool dozing;			/* past the spin: sleeps between passes */
	uint64_t idle_tsc;		/* when this idle stretch began */
	uint64_t loops;
	struct wc_busy busy;		/* busy and total cycles of the loop (core/busy.h) */
} __rte_cache_aligned;

struct wc_app {
	struct wc_config cfg;
	struct mc_settings mcset;
	unsigned nports;
	struct wc_port ports[WC_MAX_PORTS];
	unsigned nworkers;
	struct wc_lcore *lc[WC_MAX_WORKERS];
	unsigned nparts;
	struct wc_part *parts[WC_MAX_PARTS];
	unsigned part_owner[WC_MAX_PARTS];
	const uint16_t *slot_part;	/* WC_SLOTS entries: slot -> partition */
	struct wc_mbox *mbox;
	struct wc_neigh *neigh;
	struct rte_mempool *pool;
	const struct wc_mem_ops *mem;	/* hugepage memory (stage pools) */
	struct rd_server *rd;		/* the Redis side (redis/server.h), NULL when off */
	wc_tx_fn tx;
	/* UDP not for the memcached port: a client's replies (the load generator), else dropped */
	void (*udp_other)(struct wc_lcore *lc, unsigned port, struct rte_mbuf *m,
			  const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp);
	unsigned tcp_open;		/* TCP connections open on all lcores */
	uint32_t tcp_rcvbuf;		/* per connection: a whole value and then some */
	uint8_t tcp_wscale;		/* the window scale that buffer needs */
	int64_t started;		/* Unix time */
	struct wc_stats stats_base;	/* "stats reset" subtracts these */
	struct wc_netstats ns_base;
	struct wc_item_base {	/* item counters, summed over partitions */
		uint64_t total_items, evictions, evicted_unfetched, expirations, reclaimed;
	} item_base;
	volatile int quit;
};

/* The port index whose subnet holds addr, or -1. */
int wc_app_port_for(const struct wc_app *app, uint32_t addr);

bool wc_lcore_neigh_slow(struct wc_lcore *lc, uint32_t ip, struct rte_ether_addr *mac);

/* The MAC of a neighbour, through a one-entry per-lcore memo of the shared cache. */
static inline bool wc_lcore_neigh(struct wc_lcore *lc, uint32_t ip, struct rte_ether_addr *mac)
{
	if (lc->memo_ip == ip && lc->memo_now == lc->ctx.clock.now && ip &&
	    lc->memo_gen == __atomic_load_n(&lc->app->neigh->changes, __ATOMIC_RELAXED)) {
		*mac = lc->memo_mac;
		return true;
	}
	return wc_lcore_neigh_slow(lc, ip, mac);
}

/* Size the TCP receive buffer (a whole value must fit) and its window scale. */
void wc_app_tcp_buffers(struct wc_app *app);

/* Set up the memcached environment and pools of one lcore context. */
int wc_lcore_init(struct wc_app *app, struct wc_lcore *lc, unsigned id, unsigned lcore_id);
void wc_lcore_fini(struct wc_lcore *lc);

/* The Redis engine's per-lcore statistics (redis/server.c). */
int rd_lcore_init(struct wc_lcore *lc);
void rd_lcore_fini(struct wc_lcore *lc);

/* One pass of the worker loop: rx, mailbox, maintenance. Returns work done. */
unsigned wc_lcore_poll(struct wc_lcore *lc);

/* The worker loop, until app->quit (rte_eal_remote_launch entry). */
int wc_lcore_main(void *arg);

#endif
