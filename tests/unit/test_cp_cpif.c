/*
 * test_cp_cpif.c - the dataplane's control interface (core/cpif.c) seen
 * from the control plane's side (control/dpconn.c, control/cpcore.c), in
 * one process: two worker threads stand in for lcores. Covers the socket
 * protocol and its errors, the shared memory handed over with HELLO
 * (counters, latency blocks, slot table, move status under the sequence
 * lock), a slot move and a flush driven over the socket, the client limit,
 * and the control plane noticing a dataplane that went away and attaching
 * again to the next one.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <urcu-qsbr.h>

#include "core/cpif.h"
#include "core/fence.h"
#include "core/latency.h"
#include "core/migrate.h"
#include "core/slots.h"
#include "redis/server.h"
#include "cpcore.h"
#include "derive.h"
#include "dpconn.h"
#include "store_helpers.h"

#define NW 2
#define ID_ONE "1111111111111111111111111111111111111111"
#define NPARTS 4

static struct wc_app app;
static char sock_path[108];
static int stop_workers;

static int eal_up(void)
{
	char prefix[64];
	char *argv[] = { "test_cp_cpif", "--no-huge", "-m", "256", "--no-pci", "--no-telemetry",
			 "--log-level=*:error", prefix, NULL };

	snprintf(prefix, sizeof(prefix), "--file-prefix=wc_cpif_%d", (int)getpid());
	return rte_eal_init(8, argv) < 0 ? -1 : 0;
}

static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	struct wc_ctx ctx;

	rcu_register_thread();
	wc_ctx_init(&ctx);
	while (!__atomic_load_n(&stop_workers, __ATOMIC_ACQUIRE)) {
		wc_clock_tick(&ctx.clock);
		wc_mbox_serve(app.mbox, id, &ctx, 64);
		wc_migrate_lcore_work(id, &ctx.clock);
		app.lc[id]->loops++;
		rcu_quiescent_state();
		usleep(100);
	}
	rcu_unregister_thread();
	return NULL;
}

static void build_app(void)
{
	struct wc_slot_table *t;

	memset(&app, 0, sizeof(app));
	wc_config_defaults(&app.cfg);
	snprintf(sock_path, sizeof(sock_path), "/tmp/wc_cpif_test_%d/node.sock", (int)getpid());
	app.cfg.control_socket = sock_path;
	app.started = time(NULL);
	app.nworkers = NW;
	app.nparts = NPARTS;
	for (unsigned i = 0; i < NW; i++) {
		app.lc[i] = calloc(1, sizeof(struct wc_lcore));
		assert_non_null(app.lc[i]);
		app.lc[i]->id = i;
		app.lc[i]->lcore_id = 10 + i;
		wc_ctx_init(&app.lc[i]->ctx);
	}
	for (unsigned i = 0; i < NPARTS; i++) {
		app.parts[i] = test_part(4u << 20, 0, 10);
		app.part_owner[i] = i / 2;
	}
	app.mbox = wc_mbox_create(NW + 1, 128, &wc_mem_mmap);
	assert_non_null(app.mbox);
	t = wc_slot_table_default(NPARTS);
	assert_non_null(t);
	app.slot_part = t->part;
}

static void free_app(void)
{
	for (unsigned i = 0; i < NPARTS; i++)
		wc_part_destroy(app.parts[i]);
	for (unsigned i = 0; i < NW; i++)
		free(app.lc[i]);
	wc_mbox_destroy(app.mbox);
	wc_slot_table_free(wc_slot_table_of(app.slot_part));
}

/* A raw client: one command, one reply line. */
static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void raw_cmd(int fd, const char *send_this, char *reply, size_t n)
{
	size_t len = 0;

	if (send_this)
		assert_int_equal(send(fd, send_this, strlen(send_this), MSG_NOSIGNAL),
				 (ssize_t)strlen(send_this));
	while (len + 1 < n) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&pf, 1, 3000), 1);
		r = recv(fd, reply + len, 1, 0);
		if (r <= 0)
			break;
		if (reply[len] == '\n')
			break;
		len++;
	}
	reply[len] = 0;
}

static bool closed_by_peer(int fd)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	char c;

	/* FIN, or RST when our unread bytes were still queued there */
	return poll(&pf, 1, 3000) == 1 && recv(fd, &c, 1, 0) <= 0;
}

static struct wc_cp_shm *wait_snapshot(struct dpconn *d, bool (*ok)(const struct wc_cp_shm *))
{
	struct wc_cp_shm *s = malloc(sizeof(*s));

	assert_non_null(s);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(dpconn_snapshot(d, s), 0);
		if (ok(s))
			return s;
		usleep(10000);
	}
	fail_msg("the snapshot never showed what was expected");
	return s;
}

static bool hits_published(const struct wc_cp_shm *s)
{
	return cp_total(s, "get_hits") == 42 && s->lat[0].h.count == 3;
}

static bool move_done(const struct wc_cp_shm *s)
{
	return s->move.id == 1 && s->move.state == WC_MOVE_DONE && s->slot_epoch > 1;
}

static void protocol(void **state)
{
	struct wc_cpif *cp;
	pthread_t th[NW];
	char reply[300], line[400];
	struct dpconn d;
	struct wc_cp_shm *s;
	int fd, many[9];

	(void)state;
	build_app();
	cp = wc_cpif_init(&app, "9.9.9-test");
	assert_non_null(cp);
	assert_non_null(wc_lat_lcores[0]);
	rcu_thread_offline();
	assert_int_equal(wc_cpif_start(cp), 0);
	for (unsigned i = 0; i < NW; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);

	fd = raw_connect();
	raw_cmd(fd, "PING\n", reply, sizeof(reply));
	assert_string_equal(reply, "OK pong");
	raw_cmd(fd, "FOO bar\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR unknown command 'FOO' (HELLO, PING, MOVE, FLUSH, ID, CMAP, CREQ, "
			    "FENCE, SNAPSHOT, SNAPLOAD)");
	/* the write fence (core/fence.h): armed, on, off; writes are refused while on */
	raw_cmd(fd, "FENCE STATE\n", reply, sizeof(reply));
	assert_string_equal(reply, "OK fence=off refused=0");
	raw_cmd(fd, "FENCE 600000\n", reply, sizeof(reply));
	assert_string_equal(reply, "OK fence=armed left_ms=600000");
	assert_false(wc_writes_fenced());
	raw_cmd(fd, "FENCE 0\n", reply, sizeof(reply));
	assert_true(wc_writes_fenced());
	raw_cmd(fd, "FENCE STATE\n", reply, sizeof(reply));
	assert_true(strncmp(reply, "OK fence=on ", 12) == 0);
	raw_cmd(fd, "FENCE OFF\n", reply, sizeof(reply));
	assert_string_equal(reply, "OK fence=off");
	assert_false(wc_writes_fenced());
	raw_cmd(fd, "FENCE -5\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR usage: FENCE <ms 0..3600000>|OFF|STATE");
	raw_cmd(fd, "FENCE\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR usage: FENCE <ms 0..3600000>|OFF|STATE");
	/* snapshots (redis/rdbsave.h): the saver is not started here */
	raw_cmd(fd, "SNAPSHOT STATUS\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "OK in_progress=0 done=0 last_ok="));
	raw_cmd(fd, "SNAPSHOT SAVE\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR snapshots are not available on this dataplane");
	raw_cmd(fd, "SNAPSHOT\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "ERR unknown command 'SNAPSHOT'"));
	/* the cluster commands on a dataplane without a Redis side (core/cpif_cmap.h) */
	raw_cmd(fd, "ID\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "ERR this dataplane has no node id"));
	raw_cmd(fd, "CMAP STATE\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "ERR this dataplane runs without --cluster"));
	raw_cmd(fd, "CREQ NEXT 10\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR this dataplane has no Redis side: no slot changes to take");
	raw_cmd(fd, "CMAP BEGIN 1\n", reply, sizeof(reply));
	assert_string_equal(reply, "OK");
	raw_cmd(fd, "CMAP NODE " ID_ONE " 198.18.0.11 6379 16379 master 1 - myself mc=11211\n",
		reply, sizeof(reply));
	assert_string_equal(reply, "OK");
	raw_cmd(fd, "CMAP COMMIT\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "ERR this dataplane runs without --cluster"));
	raw_cmd(fd, "CMAP a b c d e f g h i j k l m n o p q\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR too many arguments");
	raw_cmd(fd, "\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR empty command");
	raw_cmd(fd, "MOVE 1\r\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR usage: MOVE <from-slot> <to-slot> <partition>");
	raw_cmd(fd, "MOVE 0 x 1\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR usage: MOVE <from-slot> <to-slot> <partition>");
	raw_cmd(fd, "MOVE 0 99999 1\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "ERR invalid slot range 0-99999"));
	raw_cmd(fd, "MOVE 9 3 1\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "ERR invalid slot range"));
	raw_cmd(fd, "MOVE 0 10 9\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR no partition 9 (this node has 0-3)");
	raw_cmd(fd, "FLUSH soon\n", reply, sizeof(reply));
	assert_string_equal(reply, "ERR usage: FLUSH [delay-seconds]");
	/* a line that never ends is cut off */
	memset(line, 'A', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	raw_cmd(fd, line, reply, sizeof(reply));
	assert_string_equal(reply, "ERR line too long");
	assert_true(closed_by_peer(fd));
	close(fd);

	/* at most 8 clients */
	for (int i = 0; i < 9; i++)
		many[i] = raw_connect();
	raw_cmd(many[8], NULL, reply, sizeof(reply));
	assert_string_equal(reply, "ERR too many control clients");
	for (int i = 0; i < 9; i++)
		close(many[i]);
	usleep(50000);

	/* the control plane's view */
	dpconn_init(&d, sock_path);
	assert_int_equal(dpconn_attach(&d, reply, sizeof(reply)), 0);
	assert_int_equal(d.shm->magic, WC_CP_MAGIC);
	assert_int_equal(d.shm->nworkers, NW);
	assert_int_equal(d.shm->nparts, NPARTS);
	assert_int_equal(d.shm->lcore_id[1], 11);
	assert_string_equal(d.shm->version, "9.9.9-test");
	assert_string_equal(d.shm->name, sock_path);
	assert_true(cp_counter_index(d.shm, "get_hits") >= 0);
	assert_true(dpconn_alive(&d));
	app.lc[0]->ctx.st.get_hits = 42;
	wc_lat_record(wc_lat_lcores[0], 1500, 3);
	s = wait_snapshot(&d, hits_published);
	assert_int_equal(s->lat[0].h.sum, 4500);
	assert_int_equal(s->slot_part[WC_SLOTS - 1], NPARTS - 1);
	free(s);

	/* a move over the socket, watched through the region */
	assert_int_equal(dpconn_command(&d, "MOVE 0 100 3", reply, sizeof(reply), 3000), 0);
	assert_string_equal(reply, "id=1");
	s = wait_snapshot(&d, move_done);
	for (unsigned i = 0; i <= 100; i++)
		assert_int_equal(s->slot_part[i], 3);
	assert_int_equal(s->slot_part[101], 0);
	assert_int_equal(s->move.slots, 101);
	assert_int_equal(s->moves_done, 1);
	free(s);
	assert_int_equal(dpconn_command(&d, "MOVE 0 10 9", reply, sizeof(reply), 3000), 1);
	assert_string_equal(reply, "no partition 9 (this node has 0-3)");
	assert_int_equal(dpconn_command(&d, "FLUSH 0", reply, sizeof(reply), 5000), 0);
	dpconn_detach(&d);

	__atomic_store_n(&stop_workers, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < NW; i++)
		pthread_join(th[i], NULL);
	stop_workers = 0;
	wc_cpif_stop(cp);
	assert_null(wc_lat_lcores[0]);
	assert_int_equal(access(sock_path, F_OK), -1);	/* the socket is removed */
	*strrchr(sock_path, '/') = 0;
	rmdir(sock_path);
	rcu_thread_online();
	free_app();
}

/* wirecache-cp's loop: attach, notice the dataplane gone, attach to the next. */
static void control_plane_reattaches(void **state)
{
	struct cp_alert_rules r;
	static struct cp_core core;
	struct wc_cpif *cp;

	(void)state;
	build_app();
	cp = wc_cpif_init(&app, "one");
	rcu_thread_offline();
	assert_int_equal(wc_cpif_start(cp), 0);
	cp_alert_rules_default(&r);
	assert_int_equal(cp_core_init(&core, sock_path, "n1", &r, 10), 0);
	cp_core_tick(&core);
	assert_true(dpconn_attached(&core.dp));
	assert_int_equal(core.attaches, 1);
	assert_string_equal(core.dp.shm->version, "one");
	usleep(150000);
	cp_core_tick(&core);
	assert_int_equal(core.sampler.samples, 2);

	wc_cpif_stop(cp);	/* the dataplane exits */
	cp_core_tick(&core);
	assert_false(dpconn_attached(&core.dp));
	assert_non_null(strstr(core.attach_error, "cannot connect"));
	assert_int_equal(cp_core_flush(&core, 0, (char[64]){ 0 }, 64), CP_UNAVAILABLE);

	cp = wc_cpif_init(&app, "two");	/* and comes back */
	assert_int_equal(wc_cpif_start(cp), 0);
	cp_core_tick(&core);
	assert_true(dpconn_attached(&core.dp));
	assert_int_equal(core.attaches, 2);
	assert_string_equal(core.dp.shm->version, "two");
	assert_int_equal(core.sampler.have_prev, true);	/* sampled the new one */
	cp_core_fini(&core);
	wc_cpif_stop(cp);
	*strrchr(sock_path, '/') = 0;
	rmdir(sock_path);
	rcu_thread_online();
	free_app();
}

static bool node_published(const struct wc_cp_shm *s)
{
	return s->slot_node[0] == 2 && s->slot_node[WC_SLOTS - 1] == 0;
}

static bool moved_with_nodes(const struct wc_cp_shm *s)
{
	return s->moves_done == 1 && s->slot_part[10] == 3;
}

/*
 * A cluster map over the socket on a --cluster dataplane with a slot mover:
 * ID, a staged map, COMMIT publishing the Redis map and the slot -> node
 * table (seen in the region), which a slot move afterwards keeps.
 */
static void cluster_map_over_the_socket(void **state)
{
	static struct rd_server srv;
	char dir[64] = "/tmp/wc-cpif-cmap-XXXXXX", reply[300], line[300], path[128];
	struct wc_cpif *cp;
	pthread_t th[NW];
	struct dpconn d;
	struct wc_cp_shm *s;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	build_app();
	rd_cmds_init();
	assert_int_equal(rd_server_init(&srv, dir, 6379, true, "198.18.0.11", 0, 16u << 20, 1u << 20,
				       NULL, NULL, "test"), 0);
	app.rd = &srv;
	cp = wc_cpif_init(&app, "cmap");
	assert_non_null(cp);
	rcu_thread_offline();
	assert_int_equal(wc_cpif_start(cp), 0);
	for (unsigned i = 0; i < NW; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	fd = raw_connect();
	raw_cmd(fd, "ID\n", reply, sizeof(reply));
	snprintf(line, sizeof(line), "OK id=%s ip=198.18.0.11 port=6379 cport=16379 mcport=11211 "
		 "cluster=1", srv.node_id);
	assert_string_equal(reply, line);
	raw_cmd(fd, "CMAP BEGIN 4\n", reply, sizeof(reply));
	assert_string_equal(reply, "OK");
	snprintf(line, sizeof(line), "CMAP NODE %s 198.18.0.11 6379 16379 master 1 - myself\n",
		 srv.node_id);
	raw_cmd(fd, line, reply, sizeof(reply));
	assert_string_equal(reply, "OK");
	raw_cmd(fd, "CMAP NODE " ID_ONE " 198.18.0.12 6379 16379 master 2 - mc=11311\n", reply,
		sizeof(reply));
	assert_string_equal(reply, "OK");
	raw_cmd(fd, "CMAP SLOTS 0 8191 " ID_ONE "\n", reply, sizeof(reply));
	assert_string_equal(reply, "OK");
	snprintf(line, sizeof(line), "CMAP SLOTS 8192 16383 %s\n", srv.node_id);
	raw_cmd(fd, line, reply, sizeof(reply));
	assert_string_equal(reply, "OK");
	raw_cmd(fd, "CMAP COMMIT\n", reply, sizeof(reply));
	assert_string_equal(reply, "OK epoch=4 nodes=2 assigned=16384");
	raw_cmd(fd, "CMAP STATE\n", reply, sizeof(reply));
	assert_string_equal(reply, "OK epoch=4 nodes=2 assigned=16384");
	assert_int_equal(rd_cluster_map_get(&srv)->nnodes, 2);
	assert_string_equal(wc_slot_redirect(app.slot_part, 0),
			    "SERVER_ERROR moved 198.18.0.12:11311\r\n");
	assert_null(wc_slot_redirect(app.slot_part, 8192));
	/* the control plane sees the slot -> node table; a move keeps it */
	dpconn_init(&d, sock_path);
	assert_int_equal(dpconn_attach(&d, reply, sizeof(reply)), 0);
	s = wait_snapshot(&d, node_published);
	free(s);
	assert_int_equal(dpconn_command(&d, "MOVE 0 100 3", reply, sizeof(reply), 3000), 0);
	s = wait_snapshot(&d, moved_with_nodes);
	assert_int_equal(s->slot_node[10], 2);
	assert_int_equal(s->slot_node[9000], 0);
	free(s);
	assert_string_equal(wc_slot_redirect(app.slot_part, 5),
			    "SERVER_ERROR moved 198.18.0.12:11311\r\n");
	dpconn_detach(&d);
	close(fd);

	__atomic_store_n(&stop_workers, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < NW; i++)
		pthread_join(th[i], NULL);
	stop_workers = 0;
	wc_cpif_stop(cp);
	*strrchr(sock_path, '/') = 0;
	rmdir(sock_path);
	rcu_thread_online();
	rd_server_fini(&srv);
	app.rd = NULL;
	snprintf(path, sizeof(path), "%s/node-id", dir);
	unlink(path);
	rmdir(dir);
	free_app();
}

static void switched_off_or_bad_path(void **state)
{
	(void)state;
	build_app();
	app.cfg.control_socket = "none";
	assert_null(wc_cpif_init(&app, "x"));
	app.cfg.control_socket = "relative/path.sock";
	assert_null(wc_cpif_init(&app, "x"));
	assert_null(wc_lat_lcores[0]);
	free_app();
}

static int group_setup(void **state)
{
	(void)state;
	if (eal_up() != 0)
		return -1;
	rcu_register_thread();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(protocol),
		cmocka_unit_test(control_plane_reattaches),
		cmocka_unit_test(cluster_map_over_the_socket),
		cmocka_unit_test(switched_off_or_bad_path),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
