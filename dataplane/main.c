/*
 * main.c - wirecache-dp: brings up EAL, the ports, the partitions and the
 * worker lcores, then waits for SIGINT/SIGTERM and shuts down cleanly
 * (drain, stop and close ports, free partitions and hugepage memory).
 *
 * Usage: wirecache-dp [EAL options] -- [wirecache options]; see --help.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <urcu-qsbr.h>

#include "core/app.h"
#include "core/bus.h"
#include "core/cpif.h"
#include "core/lctel.h"
#include "core/mem_dpdk.h"
#include "core/port.h"
#include "core/slots.h"
#include "core/stats.h"
#include "net/neigh.h"
#include "net/tcp.h"
#include "redis/acl.h"
#include "redis/rdbload.h"
#include "redis/rdbsave.h"
#include "redis/repl_rdb.h"
#include "redis/replica.h"
#include "redis/server.h"
#include "wirecache/eal_args.h"

#define WC_VERSION "1.6.21-wirecache-0.1"

static struct wc_app app;
static int mem_socket = SOCKET_ID_ANY;
static struct wc_mem_ops mem_ops;
static struct wc_cpif *cpif;
static struct rd_server rd_srv;

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&app.quit, 1, __ATOMIC_RELAXED);
}

static uint16_t eth_tx(struct wc_app *a, uint16_t port, uint16_t queue, struct rte_mbuf **pkts,
		       uint16_t n)
{
	(void)a;
	return rte_eth_tx_burst(port, queue, pkts, n);
}

/* --help anywhere: answer before EAL wants hugepages. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* Say at start what the memcached rule does (net/tcp.h): it is easy to be surprised by. */
static void log_mc_rule(const struct wc_config *c)
{
	char list[WC_MAX_PREFIXES * 20] = "";
	size_t n = 0;

	if (!app.rd || !rd_acl_mc_gated(app.rd))
		return;
	for (unsigned i = 0; i < c->nmc_allow && n < sizeof(list); i++) {
		uint32_t a = c->mc_allow[i].addr;
		int w = snprintf(list + n, sizeof(list) - n, "%s%u.%u.%u.%u/%u", i ? " " : "",
				 a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255,
				 c->mc_allow[i].len);

		n += w > 0 ? (size_t)w : 0;
	}
	if (c->tcp_enabled && c->nmc_allow == 0)
		printf("wirecache-dp: Redis needs passwords and no --mc-allow is given: memcached "
		       "over TCP (:%u) is refused to every source (memcached has no "
		       "authentication)\n", c->tcp_port);
	else if (c->tcp_enabled)
		printf("wirecache-dp: Redis needs passwords: memcached over TCP (:%u) is served only "
		       "to --mc-allow %s\n", c->tcp_port, list);
	if (c->udp_enabled)
		printf("wirecache-dp: note: memcached over UDP (:%u) has no authentication either; "
		       "it is served to --udp-allow sources (default: the ports' subnets)\n",
		       c->udp_port);
}

static int build_partitions(void)
{
	struct wc_config *c = &app.cfg;
	uint64_t per;
	struct wc_slot_table *slots;

	app.nparts = app.nworkers * c->parts_per_lcore;
	if (app.nparts > WC_MAX_PARTS) {
		fprintf(stderr, "wirecache-dp: too many partitions (%u > %d)\n", app.nparts,
			WC_MAX_PARTS);
		return -1;
	}
	per = (c->memory - c->upload_buffer) / app.nparts;	/* the rest stages uploads */
	if (per < WC_PART_MEM_MIN || per > WC_PART_MEM_MAX) {
		fprintf(stderr, "wirecache-dp: --memory gives %lu bytes per partition; each must "
			"be 256K..8G (change --memory or --partitions-per-lcore)\n",
			(unsigned long)per);
		return -1;
	}
	for (unsigned i = 0; i < app.nparts; i++) {
		struct wc_part_cfg pc;
		enum wc_status err;
		unsigned owner = i / c->parts_per_lcore;
		struct wc_lcore *lc = app.lc[owner];

		wc_part_cfg_default(&pc);
		pc.mem_bytes = per;
		pc.max_value = (uint32_t)c->max_value;
		pc.item_size_hint = c->item_size_hint;
		pc.small_pct = c->small_pct;
		pc.id = (uint8_t)i;
		pc.slot_keys = c->cluster;	/* COUNTKEYSINSLOT, GETKEYSINSLOT (redis/slotkeys.h) */
		app.parts[i] = wc_part_create(&pc, &mem_ops, &err);
		if (!app.parts[i]) {
			fprintf(stderr, "wirecache-dp: partition %u: %s\n", i, wc_status_name(err));
			return -1;
		}
		app.part_owner[i] = owner;
		lc->part_idx[lc->nparts++] = i;
	}
	/* slots spread evenly; the control plane may move them later (core/migrate.h) */
	slots = wc_slot_table_default(app.nparts);
	if (!slots)
		return -1;
	app.slot_part = slots->part;
	return 0;
}

static int build_lcores(void)
{
	unsigned lcore_id, id = 0;
	unsigned ids[WC_MAX_WORKERS];

	RTE_LCORE_FOREACH_WORKER(lcore_id) {
		if (id == WC_MAX_WORKERS)
			break;
		ids[id++] = lcore_id;
	}
	if (id == 0)
		ids[id++] = rte_get_main_lcore();	/* one lcore: main is the worker */
	app.nworkers = id;
	for (unsigned i = 0; i < app.nworkers; i++) {
		app.lc[i] = rte_zmalloc_socket("wc_lcore", sizeof(struct wc_lcore),
					       RTE_CACHE_LINE_SIZE,
					       (int)rte_lcore_to_socket_id(ids[i]));
		if (!app.lc[i])
			return -1;
		app.lc[i]->lcore_id = ids[i];
	}
	return 0;
}

static void shutdown_all(void)
{
	wc_cpif_stop(cpif);
	cpif = NULL;
	for (unsigned p = 0; p < app.nports; p++)
		wc_port_close(&app, p);
	wc_bus_fini(&app);
	for (unsigned i = 0; i < app.nworkers; i++) {
		if (app.lc[i]) {
			wc_lcore_fini(app.lc[i]);
			rte_free(app.lc[i]);
		}
	}
	for (unsigned i = 0; i < app.nparts; i++)
		wc_part_destroy(app.parts[i]);
	wc_mbox_destroy(app.mbox);
	if (app.slot_part)
		wc_slot_table_free(wc_slot_table_of(app.slot_part));
	rte_free(app.neigh);
	rte_mempool_free(app.pool);
	if (app.rd)
		rd_server_fini(app.rd);
	app.rd = NULL;
}

/*
 * The snapshot at <--dir>/<--dbfilename>, loaded before anything is served
 * (redis/rdbload.h): none there starts the node empty; one that cannot be
 * read stops it, as it stops Redis, rather than letting an empty node save
 * over the file later.
 */
static int load_snapshot(struct wc_app *a)
{
	const struct wc_config *c = &a->cfg;
	struct rd_rdb_load_result res;
	char path[1100];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s", c->rdb_dir ? c->rdb_dir : "",
		 c->rdb_dir ? "/" : "", c->rdb_filename);
	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	if (rd_rdb_load_before_start(a, path, &res) != 0) {
		fprintf(stderr, "wirecache-dp: the snapshot %s could not be loaded (%s); move it "
			"away to start empty\n", path, res.err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct wc_config *c = &app.cfg;
	unsigned nb_mbufs;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (wants_help(argc, argv)) {
		wc_config_usage("wirecache-dp");
		printf("\nEAL options (before --) are DPDK's: -l CORES, --vdev DEV, --no-huge, "
		       "-m MB, --file-prefix NAME ... (see the DPDK EAL documentation).\n"
		       "--huge-unlink is added unless --huge-unlink, --no-huge or --in-memory is\n"
		       "given, so hugepages go back to the system when wirecache-dp exits.\n");
		return 0;
	}
	argv = wc_eal_args(argc, argv, &argc);
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "wirecache-dp: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	wc_config_defaults(c);
	ret = wc_config_parse(c, argc, argv);
	if (ret != 0) {
		rte_eal_cleanup();
		return ret > 0 ? 0 : 2;
	}
	app.nports = rte_eth_dev_count_avail();
	if (app.nports == 0 || app.nports < c->nports_cfg) {
		fprintf(stderr, "wirecache-dp: %u port(s) found, %u address(es) given; add "
			"ports (e.g. --vdev net_tap0,iface=wc0) or drop --ip options\n",
			app.nports, c->nports_cfg);
		rte_eal_cleanup();
		return 2;
	}
	app.nports = c->nports_cfg;
	rcu_register_thread();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	app.started = time(NULL);
	app.tx = eth_tx;
	wc_mem_dpdk_init(&mem_ops, &mem_socket, SOCKET_ID_ANY);
	app.mem = &mem_ops;

	if (build_lcores() != 0)
		goto fail;
	/*
	 * NIC rings and bursts per worker, UDP replies in flight, and what TCP
	 * holds: a buffer per busy connection plus streamed replies, with room
	 * for WC_TCP_POOL_SENDERS full send queues per worker below the
	 * pressure mark (tcp.h), so that a few clients fetching megabytes at
	 * once (libmemcached's mget writes its whole request before it reads)
	 * keep their full windows (replies queue less once a quarter of the
	 * pool is left, see tcp_io.c).
	 */
	nb_mbufs = app.nworkers * (app.nports * (c->rx_desc + c->tx_desc + WC_TX_BUF) +
				   WC_UDP_CTX * 4 + 1024) + 4096;
	if (c->tcp_enabled)
		nb_mbufs += 2048 + (c->max_conns < 65536 ? c->max_conns : 65536) / 8 +
			    app.nworkers * WC_TCP_POOL_SENDERS *
			    (WC_TCP_SND_QUEUE_MAX / RTE_MBUF_DEFAULT_DATAROOM);
	app.pool = rte_pktmbuf_pool_create("wc_mbufs", nb_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	app.neigh = rte_zmalloc("wc_neigh", sizeof(struct wc_neigh), RTE_CACHE_LINE_SIZE);
	/* one endpoint per worker, one where writes to moving slots park, the RDB loader's */
	app.mbox = wc_mbox_create(app.nworkers + 2, 2 * WC_REQ_POOL, &mem_ops);
	if (!app.pool || !app.neigh || !app.mbox) {
		fprintf(stderr, "wirecache-dp: out of hugepage memory for buffers\n");
		goto fail;
	}
	wc_neigh_init(app.neigh);
	for (unsigned p = 0; p < app.nports; p++) {
		uint16_t port_id = 0;
		unsigned k = 0;

		RTE_ETH_FOREACH_DEV(port_id) {
			if (k++ == p)
				break;
		}
		app.ports[p].ip = c->port_ip[p].addr;
		app.ports[p].prefix = c->port_ip[p].len;
		ret = wc_port_setup(&app, p, port_id, app.nworkers, app.pool);
		if (ret != 0) {
			fprintf(stderr, "wirecache-dp: port %u: %s\n", port_id, rte_strerror(-ret));
			goto fail;
		}
	}
	if (build_partitions() != 0)
		goto fail;
	app.mcset = (struct mc_settings){ .version = WC_VERSION, .max_value = c->max_value,
					  .mem_limit = c->memory, .lcores = app.nworkers };
	wc_app_tcp_buffers(&app);
	if (c->redis_port) {
		/* the address CLUSTER SLOTS/NODES give: the first port's own unless announced */
		char port_ip[16];
		const char *announce = c->announce_ip;
		uint64_t store_mem = 0;

		if ((!announce || !*announce) && app.nports) {
			uint32_t a = app.ports[0].ip;

			snprintf(port_ip, sizeof(port_ip), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
				 (a >> 8) & 255, a & 255);
			announce = port_ip;
		}
		/* maxmemory: what the partitions hold (memcached's limit_maxbytes) */
		for (unsigned i = 0; i < app.nparts; i++) {
			struct wc_part_stats ps;

			wc_part_get_stats(app.parts[i], &ps);
			store_mem += ps.limit_bytes;
		}
		rd_cmds_init();
		if (rd_server_init(&rd_srv, c->state_dir, c->redis_port, c->cluster, announce,
				   c->announce_port, store_mem, c->max_value, c->requirepass,
				   c->aclfile, WC_VERSION) != 0) {
			fprintf(stderr, "wirecache-dp: cannot set up the Redis side\n");
			goto fail;
		}
		rd_server_set_limits(&rd_srv, c->max_conns, c->small_pct);
		rd_srv.notify_flags = c->notify_flags;
		rd_srv.min_replicas_to_write = c->min_replicas_to_write;
		rd_srv.min_replicas_max_lag = c->min_replicas_max_lag;	/* (the lcores' key event hooks follow it) */
		app.rd = &rd_srv;
		rd_replica_set_auth(c->masteruser, c->masterauth);
		if (c->replicaof_host) {
			char err[128];

			if (c->cluster) {
				fprintf(stderr, "wirecache-dp: --replicaof is not allowed with --cluster\n");
				goto fail;
			}
			/* (the first worker connects once it runs: redis/replica.h) */
			if (rd_replica_of(&app, c->replicaof_host, c->replicaof_port, err,
					  sizeof(err)) < 0) {
				fprintf(stderr, "wirecache-dp: --replicaof: %s\n", err);
				goto fail;
			}
		}
	} else if (c->requirepass || c->aclfile) {
		printf("wirecache-dp: --requirepass/--aclfile without Redis (--redis-port 0): "
		       "nothing asks for passwords, memcached is served as usual\n");
	}
	log_mc_rule(c);
	cpif = wc_cpif_init(&app, WC_VERSION);
	for (unsigned i = 0; i < app.nworkers; i++)
		if (wc_lcore_init(&app, app.lc[i], i, app.lc[i]->lcore_id) != 0) {
			fprintf(stderr, "wirecache-dp: lcore %u: out of memory for its connection table "
				"and buffers (give EAL more memory with -m, or lower --max-connections "
				"or --upload-buffer)\n", i);
			goto fail;
		}
	if (wc_bus_init(&app) != 0) {
		fprintf(stderr, "wirecache-dp: cannot set up the rings between lcores\n");
		goto fail;
	}
	wc_stats_telemetry_register(&app);
	wc_lctel_register(&app);	/* busy cycles, service-time window (core/lctel.h) */
	if (rd_save_init(&app) != 0)	/* the RDB writer thread (redis/rdbsave.h) */
		goto fail;
	if (app.rd && rd_repl_rdb_init(&app) != 0)	/* full syncs' snapshots (redis/repl_rdb.h) */
		goto fail;
	if (load_snapshot(&app) != 0)
		goto fail;
	wc_cpif_start(cpif);

	for (unsigned p = 0; p < app.nports; p++) {
		struct rte_ether_addr *m = &app.ports[p].mac;
		uint32_t ip = app.ports[p].ip;

		printf("wirecache-dp: port %u %u.%u.%u.%u/%u mac %02x:%02x:%02x:%02x:%02x:%02x, "
		       "%u queue(s)\n", p, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
		       app.ports[p].prefix, m->addr_bytes[0], m->addr_bytes[1], m->addr_bytes[2],
		       m->addr_bytes[3], m->addr_bytes[4], m->addr_bytes[5], app.ports[p].nq);
	}
	printf("wirecache-dp: %u worker lcore(s), %u partition(s), %lu MiB, memcached TCP :%u%s "
	       "UDP :%u%s, Redis :%u%s%s, %s\n", app.nworkers, app.nparts,
	       (unsigned long)(c->memory >> 20), c->tcp_port, c->tcp_enabled ? "" : " (off)",
	       c->udp_port, c->udp_enabled ? "" : " (off)", c->redis_port,
	       c->redis_port ? "" : " (off)", c->cluster ? " cluster" : "",
	       c->busy_poll ? "busy polling" : "adaptive idle");
	printf("wirecache-dp: ready\n");

	if (app.nworkers == 1 && app.lc[0]->lcore_id == rte_get_main_lcore()) {
		/* this thread becomes the worker, which registers itself with RCU */
		rcu_unregister_thread();
		wc_lcore_main(app.lc[0]);
		rcu_register_thread();
		rcu_thread_offline();
		wc_cpif_stop(cpif);	/* offline: its grace periods must not wait for us */
		cpif = NULL;
		rcu_thread_online();
	} else {
		time_t last_log = time(NULL);

		for (unsigned i = 0; i < app.nworkers; i++)
			rte_eal_remote_launch(wc_lcore_main, app.lc[i], app.lc[i]->lcore_id);
		rcu_thread_offline();
		while (!__atomic_load_n(&app.quit, __ATOMIC_RELAXED)) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			if (c->stats_interval && time(NULL) - last_log >= (time_t)c->stats_interval) {
				char line[512];

				wc_stats_log_line(&app, line, sizeof(line));
				printf("wirecache-dp: %s\n", line);
				last_log = time(NULL);
			}
		}
		rte_eal_mp_wait_lcore();
		wc_cpif_stop(cpif);	/* offline: its grace periods must not wait for us */
		cpif = NULL;
		rcu_thread_online();
	}
	printf("wirecache-dp: stopping\n");
	/* the lcores have stopped: --save-on-shutdown saves now, unless SHUTDOWN did */
	if (c->rdb_save_on_shutdown && !rd_save_shutdown_done() && rd_save_now(&app) != 0)
		printf("wirecache-dp: the save at shutdown failed\n");
	rd_save_stop();
	rd_repl_rdb_stop();
	shutdown_all();
	rcu_unregister_thread();
	rte_eal_cleanup();
	printf("wirecache-dp: stopped\n");
	return 0;
fail:
	__atomic_store_n(&app.quit, 1, __ATOMIC_RELAXED);
	rd_save_stop();
	rd_repl_rdb_stop();
	shutdown_all();
	rcu_unregister_thread();
	rte_eal_cleanup();
	return 1;
}
