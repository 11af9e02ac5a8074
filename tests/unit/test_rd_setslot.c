/*
 * test_rd_setslot.c - CLUSTER SETSLOT end to end on one dataplane without a
 * NIC (dp_harness.h) with its real control thread (core/cpif.c) on a UNIX
 * socket, the test standing in for the control plane: the CREQ NEXT long
 * poll (nothing queued: "OK none"; other control connections served while
 * it waits; a queued SETSLOT wakes it), CREQ DONE OK answered to the client
 * only once a map of that epoch is committed, DONE ERR's text, a client
 * gone before DONE (its entry freed, nothing leaked), no control plane
 * taking requests, the wait's timeout, a full request table, the keys
 * check of SETSLOT NODE, Redis's argument errors, COMMAND INFO and the
 * command without --cluster.
 */
#include <errno.h>
#include <poll.h>
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

#include "core/cpif.h"
#include "core/cpif_creq.h"
#include "dp_tcpclient.h"
#include "redis/creq.h"
#include "redis/server.h"
#include "wirecache/slot.h"

#define RPORT 6379
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct dp_harness h;
static struct rd_server srv;
static struct wc_cpif *cp;
static char state_dir[64], sock_path[108];
static uint8_t rbuf[1 << 16];
static bool cluster_mode;
static unsigned epoch = 1;

/* ---- setup ---- */

static void with_redis(struct wc_config *c)
{
	struct wc_app *app = (struct wc_app *)(void *)((char *)c - offsetof(struct wc_app, cfg));

	c->redis_port = RPORT;
	c->max_conns = 64;
	c->control_socket = sock_path;
	app->rd = &srv;
}

static int up(bool cluster)
{
	cluster_mode = cluster;
	if (dp_eal_init() != 0)
		return -1;
	rd_cmds_init();
	snprintf(state_dir, sizeof(state_dir), "/tmp/wc-setslot-XXXXXX");
	if (!mkdtemp(state_dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/cp.sock", state_dir);
	if (rd_server_init(&srv, state_dir, RPORT, cluster, "198.18.0.11", 0, 16u << 20,
			   1u << 20, NULL, NULL, "test") != 0)
		return -1;
	if (dp_setup(&h, with_redis) != 0)
		return -1;
	dp_freeze_clock(&h);
	dp_learn_client(&h);
	cp = wc_cpif_init(&h.app, "test");
	if (!cp || wc_cpif_start(cp) != 0)
		return -1;
	return 0;
}

static int up_cluster(void **state)
{
	(void)state;
	return up(true);
}

static int up_plain(void **state)
{
	(void)state;
	return up(false);
}

static int down(void **state)
{
	char path[128];

	(void)state;
	rcu_thread_offline();	/* (the control thread's last map change may wait for us) */
	wc_cpif_stop(cp);
	rcu_thread_online();
	dp_teardown(&h);
	rd_server_fini(&srv);
	snprintf(path, sizeof(path), "%s/node-id", state_dir);
	unlink(path);
	rmdir(state_dir);
	return 0;
}

/* ---- the control plane's side: lines on the control socket ---- */

static int ctl_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void ctl_send(int fd, const char *line)
{
	char buf[512];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s\n", line);

	assert_int_equal(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

/*
 * One reply line (without its newline) within ms, or "" when none came.
 * The thread is offline for RCU meanwhile: a COMMIT waits for a grace period.
 */
static const char *ctl_read(int fd, int ms)
{
	static char line[512];
	size_t n = 0;

	rcu_thread_offline();
	while (n + 1 < sizeof(line)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (poll(&pf, 1, ms) != 1 || recv(fd, line + n, 1, 0) != 1)
			break;
		if (line[n] == '\n')
			break;
		n++;
	}
	rcu_thread_online();
	line[n] = 0;
	return line;
}

static const char *ctl(int fd, const char *line)
{
	ctl_send(fd, line);
	return ctl_read(fd, 5000);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* This node 0-8191, B 8192-16383, at the next epoch; extra: more lines before COMMIT. */
static unsigned commit_map(int fd, const char *extra)
{
	char text[256], want[64];

	epoch++;
	snprintf(text, sizeof(text), "CMAP BEGIN %u", epoch);
	assert_string_equal(ctl(fd, text), "OK");
	snprintf(text, sizeof(text), "CMAP NODE %s 198.18.0.11 6379 16379 master 1 - myself",
		 srv.node_id);
	assert_string_equal(ctl(fd, text), "OK");
	assert_string_equal(ctl(fd, "CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 2 -"), "OK");
	snprintf(text, sizeof(text), "CMAP SLOTS 0 8191 %s", srv.node_id);
	assert_string_equal(ctl(fd, text), "OK");
	assert_string_equal(ctl(fd, "CMAP SLOTS 8192 16383 " ID_B), "OK");
	if (extra)
		assert_string_equal(ctl(fd, extra), "OK");
	snprintf(want, sizeof(want), "OK epoch=%u nodes=2 assigned=16384", epoch);
	assert_string_equal(ctl(fd, "CMAP COMMIT"), want);
	return epoch;
}

/* ---- the Redis client ---- */

/* Send a command (words split on spaces) without waiting for its reply. */
static void send_cmd(struct dpc *c, const char *fmt, ...)
{
	char line[512], req[1024], *argv[16], *save = NULL;
	size_t n = 0;
	int argc = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *t = strtok_r(line, " ", &save); t && argc < 16; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	n += (size_t)snprintf(req + n, sizeof(req) - n, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "$%zu\r\n%s\r\n", strlen(argv[i]),
				      argv[i]);
	c->n = 0;
	dpc_send(&h, c, req, n, 0);
}

/* Run the lcore rounds times; what the client got so far (NUL-ended). */
static const char *pump(struct dpc *c, unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++) {
		wc_tcp_poll(h.lc);
		wc_net_flush(h.lc);
		dpc_drain(&h, c);
		dpc_ack(&h, c);
		dpc_drain(&h, c);
	}
	c->buf[c->n < c->cap ? c->n : c->cap - 1] = 0;
	return (const char *)c->buf;
}

/* Pump until the client has a reply or ms of real time passed. */
static const char *pump_until_reply(struct dpc *c, int ms)
{
	int64_t until = mono_ms() + ms;

	while (c->n == 0 && mono_ms() < until) {
		pump(c, 1);
		usleep(200);
	}
	return pump(c, 1);
}

/* A whole command: its reply. */
static const char *cmd(struct dpc *c, const char *fmt, const char *a)
{
	send_cmd(c, fmt, a);
	return pump_until_reply(c, 2000);
}

static struct dpc client(void)
{
	struct dpc c;

	assert_true(dpc_connect(&h, &c, RPORT, rbuf, sizeof(rbuf)));
	return c;
}

/* A hash tag whose keys hash to slot. */
static void tag_for(unsigned slot, char *tag, size_t cap)
{
	for (unsigned i = 0;; i++) {
		snprintf(tag, cap, "t%u", i);
		if (wc_key_slot((const uint8_t *)tag, (uint32_t)strlen(tag)) == slot)
			return;
	}
}

/* "OK <id> SETSLOT ...": the id, and the rest checked against want. */
static unsigned long long taken(const char *line, const char *want)
{
	unsigned long long id = 0;
	int used = 0;

	if (sscanf(line, "OK %llu %n", &id, &used) != 1 || used == 0)
		fail_msg("not a request: '%s'", line);
	assert_string_equal(line + used, want);
	return id;
}

/* ---- the long poll ---- */

static void next_long_polls(void **state)
{
	int a = ctl_open(), b = ctl_open();
	int64_t t0;
	struct dpc c = client();
	char want[128];
	unsigned long long id;

	(void)state;
	commit_map(a, NULL);
	/* nothing queued: "OK none" once the time is up, not before */
	t0 = mono_ms();
	assert_string_equal(ctl(a, "CREQ NEXT 150"), "OK none");
	assert_true(mono_ms() - t0 >= 140);
	assert_string_equal(ctl(a, "CREQ NEXT 0"), "OK none");
	/* while a waits, b is served; a's next line waits behind its NEXT */
	ctl_send(a, "CREQ NEXT 4000");
	ctl_send(a, "PING");
	assert_string_equal(ctl(b, "PING"), "OK pong");
	assert_string_equal(ctl(b, "CMAP STATE"), "OK epoch=2 nodes=2 assigned=16384");
	assert_string_equal(ctl_read(a, 100), "");
	/* a SETSLOT wakes it at once */
	t0 = mono_ms();
	send_cmd(&c, "CLUSTER SETSLOT 100 MIGRATING " ID_B);
	assert_string_equal(pump(&c, 3), "");	/* (waiting) */
	id = taken(ctl_read(a, 3000), "SETSLOT 100 MIGRATING " ID_B);
	assert_true(mono_ms() - t0 < 2000);
	assert_string_equal(ctl_read(a, 1000), "OK pong");
	assert_int_equal(rd_creq_in_use(&srv.creq), 1);
	/* answered, but this node runs an older map: no reply yet */
	snprintf(want, sizeof(want), "CREQ DONE %llu OK %u", id, epoch + 1);
	assert_string_equal(ctl(b, want), "OK");
	assert_string_equal(pump(&c, 50), "");
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);	/* (the session took the answer) */
	/* an answer comes once */
	assert_true(strncmp(ctl(b, want), "ERR unknown request ", 20) == 0);
	/* the map with that epoch: +OK */
	commit_map(b, "CMAP MIGRATING 100 100 " ID_B);
	assert_string_equal(pump_until_reply(&c, 2000), "+OK\r\n");
	assert_int_equal(rd_cluster_map_get(&srv)->migrating[100], 1);
	dpc_close(&h, &c);
	close(a);
	close(b);
}

/* The client resets its connection (gone, as far as the node knows). */
static void reset(struct dpc *c)
{
	uint8_t f[128];

	dp_input(&h, f, dp_tcp_ports(f, c->cport, c->dport, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG,
				    c->seq, c->ack, 0, NULL, 0, NULL, 0));
	pump(c, 3);
}

static void done_err_and_clients_gone(void **state)
{
	int a = ctl_open();
	struct dpc c = client();
	char line[512];
	unsigned long long id;

	(void)state;
	/* refused: the client gets the text as given (any number of words) */
	send_cmd(&c, "CLUSTER SETSLOT 5 IMPORTING " ID_B);
	pump(&c, 2);
	id = taken(ctl(a, "CREQ NEXT 1000"), "SETSLOT 5 IMPORTING " ID_B);
	snprintf(line, sizeof(line), "CREQ DONE %llu ERR ERR the cluster configuration store "
		 "(etcd) is unreachable: slot changes wait until it is back", id);
	assert_string_equal(ctl(a, line), "OK");
	assert_string_equal(pump_until_reply(&c, 2000), "-ERR the cluster configuration store "
			    "(etcd) is unreachable: slot changes wait until it is back\r\n");
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	/* gone after the control plane took it: the request is made, DONE frees it */
	send_cmd(&c, "CLUSTER SETSLOT 6 STABLE");
	pump(&c, 2);
	id = taken(ctl(a, "CREQ NEXT 1000"), "SETSLOT 6 STABLE");
	reset(&c);
	assert_int_equal(rd_creq_in_use(&srv.creq), 1);
	snprintf(line, sizeof(line), "CREQ DONE %llu OK %u", id, epoch + 1);
	assert_string_equal(ctl(a, line), "OK");
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	assert_true(strncmp(ctl(a, line), "ERR unknown request", 19) == 0);
	/* gone before anyone took it: withdrawn, never handed out */
	c = client();
	send_cmd(&c, "CLUSTER SETSLOT 7 STABLE");
	pump(&c, 2);
	assert_int_equal(rd_creq_in_use(&srv.creq), 1);
	reset(&c);
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	assert_string_equal(ctl(a, "CREQ NEXT 0"), "OK none");
	/* the control connection that waits goes away: the others go on */
	ctl_send(a, "CREQ NEXT 3000");
	close(a);
	a = ctl_open();
	assert_string_equal(ctl(a, "PING"), "OK pong");
	close(a);
}

static void no_control_plane_and_timeouts(void **state)
{
	int a = ctl_open(), fd = srv.creq.wake_fd;
	struct dpc c = client();
	unsigned long long id;
	char line[128];
	uint64_t ids[RD_CREQ_MAX];

	(void)state;
	/* queued, and nobody takes it within 5 s */
	send_cmd(&c, "CLUSTER SETSLOT 8 STABLE");
	assert_string_equal(pump(&c, 5), "");
	h.lc->ctx.clock.now += 4;
	assert_string_equal(pump(&c, 5), "");
	h.lc->ctx.clock.now += 1;
	assert_string_equal(pump(&c, 1), "-ERR no control plane is taking slot changes (is "
			    "wirecache-cp running?)\r\n");
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	assert_string_equal(ctl(a, "CREQ NEXT 0"), "OK none");
	/* no control thread at all: at once */
	rd_creq_attach(&srv.creq, -1);
	assert_string_equal(cmd(&c, "CLUSTER SETSLOT 8 %s", "STABLE"),
			    "-ERR no control plane is taking slot changes (is wirecache-cp "
			    "running?)\r\n");
	rd_creq_attach(&srv.creq, fd);
	/* every entry in use: at once */
	for (int i = 0; i < RD_CREQ_MAX; i++)
		assert_int_equal(rd_creq_submit(&srv.creq, RD_CREQ_STABLE, 1, "", 0, &ids[i]), i);
	assert_string_equal(cmd(&c, "CLUSTER SETSLOT 8 %s", "STABLE"),
			    "-ERR no control plane is taking slot changes (is wirecache-cp "
			    "running?)\r\n");
	for (int i = 0; i < RD_CREQ_MAX; i++)
		rd_creq_abandon(&srv.creq, i);
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	/* answered, but the map never comes: 10 s */
	send_cmd(&c, "CLUSTER SETSLOT 9 STABLE");
	pump(&c, 2);
	id = taken(ctl(a, "CREQ NEXT 1000"), "SETSLOT 9 STABLE");
	snprintf(line, sizeof(line), "CREQ DONE %llu OK %u", id, epoch + 100);
	assert_string_equal(ctl(a, line), "OK");
	assert_string_equal(pump(&c, 5), "");
	h.lc->ctx.clock.now += 9;
	assert_string_equal(pump(&c, 5), "");
	h.lc->ctx.clock.now += 1;
	assert_string_equal(pump(&c, 1), "-ERR timed out waiting for the new slot map\r\n");
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	/* taken and never answered: the client times out, the late DONE frees the entry */
	send_cmd(&c, "CLUSTER SETSLOT 10 STABLE");
	pump(&c, 2);
	id = taken(ctl(a, "CREQ NEXT 1000"), "SETSLOT 10 STABLE");
	h.lc->ctx.clock.now += 10;
	assert_string_equal(pump(&c, 1), "-ERR timed out waiting for the new slot map\r\n");
	assert_int_equal(rd_creq_in_use(&srv.creq), 1);
	snprintf(line, sizeof(line), "CREQ DONE %llu ERR ERR too late", id);
	assert_string_equal(ctl(a, line), "OK");
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	/* the connection still works */
	assert_string_equal(cmd(&c, "PING", NULL), "+PONG\r\n");
	dpc_close(&h, &c);
	close(a);
}

static void node_refused_while_keys_are_here(void **state)
{
	int a = ctl_open();
	struct dpc c = client();
	char tag[16], want[256], line[128];
	unsigned long long id;

	(void)state;
	tag_for(300, tag, sizeof(tag));
	snprintf(line, sizeof(line), "SET {%s}k v", tag);
	assert_string_equal(cmd(&c, line, NULL), "+OK\r\n");
	snprintf(want, sizeof(want), "-ERR Can't assign hashslot 300 to a different node while I "
		 "still hold keys for this hash slot.\r\n");
	assert_string_equal(cmd(&c, "CLUSTER SETSLOT 300 NODE %s", ID_B), want);
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	/* to itself: no keys check */
	send_cmd(&c, "CLUSTER SETSLOT 300 NODE %s", srv.node_id);
	pump(&c, 2);
	snprintf(want, sizeof(want), "SETSLOT 300 NODE %s", srv.node_id);
	id = taken(ctl(a, "CREQ NEXT 1000"), want);
	snprintf(line, sizeof(line), "CREQ DONE %llu OK %u", id, epoch);
	assert_string_equal(ctl(a, line), "OK");
	assert_string_equal(pump_until_reply(&c, 2000), "+OK\r\n");	/* (that map runs) */
	/* the keys gone: asked */
	snprintf(line, sizeof(line), "DEL {%s}k", tag);
	assert_string_equal(cmd(&c, line, NULL), ":1\r\n");
	send_cmd(&c, "CLUSTER SETSLOT 300 NODE %s", ID_B);
	pump(&c, 2);
	id = taken(ctl(a, "CREQ NEXT 1000"), "SETSLOT 300 NODE " ID_B);
	snprintf(line, sizeof(line), "CREQ DONE %llu ERR ERR Target node is not a master", id);
	assert_string_equal(ctl(a, line), "OK");
	assert_string_equal(pump_until_reply(&c, 2000), "-ERR Target node is not a master\r\n");
	/* a slot of another node: nothing to count here */
	send_cmd(&c, "CLUSTER SETSLOT 9000 NODE %s", ID_B);
	pump(&c, 2);
	id = taken(ctl(a, "CREQ NEXT 1000"), "SETSLOT 9000 NODE " ID_B);
	snprintf(line, sizeof(line), "CREQ DONE %llu ERR ERR x", id);
	assert_string_equal(ctl(a, line), "OK");
	assert_string_equal(pump_until_reply(&c, 2000), "-ERR x\r\n");
	dpc_close(&h, &c);
	close(a);
}

static void argument_errors(void **state)
{
	static const struct {
		const char *cmd, *reply;
	} cases[] = {
		{ "CLUSTER SETSLOT 1", "-ERR wrong number of arguments for 'cluster|setslot' "
		  "command\r\n" },
		{ "CLUSTER SETSLOT 16384 STABLE", "-ERR Invalid or out of range slot\r\n" },
		{ "CLUSTER SETSLOT -1 STABLE", "-ERR Invalid or out of range slot\r\n" },
		{ "CLUSTER SETSLOT x MIGRATING y", "-ERR Invalid or out of range slot\r\n" },
		{ "CLUSTER SETSLOT 1 STABLE x", "-ERR Invalid CLUSTER SETSLOT action or number of "
		  "arguments. Try CLUSTER HELP\r\n" },
		{ "CLUSTER SETSLOT 1 MIGRATING", "-ERR Invalid CLUSTER SETSLOT action or number of "
		  "arguments. Try CLUSTER HELP\r\n" },
		{ "CLUSTER SETSLOT 1 NODE a b", "-ERR Invalid CLUSTER SETSLOT action or number of "
		  "arguments. Try CLUSTER HELP\r\n" },
		{ "CLUSTER SETSLOT 1 MOVE " ID_B, "-ERR Invalid CLUSTER SETSLOT action or number of "
		  "arguments. Try CLUSTER HELP\r\n" },
		/* ids no map holds, in Redis's order (slot 1 is this node's, 9000 B's) */
		{ "CLUSTER SETSLOT 1 MIGRATING nosuch", "-ERR I don't know about node nosuch\r\n" },
		{ "CLUSTER SETSLOT 9000 MIGRATING nosuch", "-ERR I'm not the owner of hash slot "
		  "9000\r\n" },
		{ "CLUSTER SETSLOT 1 IMPORTING nosuch", "-ERR I'm already the owner of hash slot "
		  "1\r\n" },
		{ "CLUSTER SETSLOT 9000 importing nosuch", "-ERR I don't know about node nosuch\r\n" },
		{ "CLUSTER SETSLOT 1 NODE nosuch", "-ERR Unknown node nosuch\r\n" },
		{ "CLUSTER SETSLOT 1 node BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
		  "-ERR Unknown node BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\r\n" },
	};
	int a = ctl_open();
	struct dpc c = client();
	const char *r;
	char text[256];

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = cmd(&c, cases[i].cmd, NULL);
		if (strcmp(r, cases[i].reply) != 0)
			fail_msg("'%s' answered '%s'", cases[i].cmd, r);
	}
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	/* inside a transaction it cannot wait */
	assert_string_equal(cmd(&c, "MULTI", NULL), "+OK\r\n");
	assert_string_equal(cmd(&c, "CLUSTER SETSLOT 1 STABLE", NULL), "+QUEUED\r\n");
	assert_string_equal(cmd(&c, "EXEC", NULL), "*1\r\n-ERR CLUSTER SETSLOT cannot wait for "
			    "the cluster configuration inside a transaction\r\n");
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	/* Redis's flags and categories: an admin command */
	r = cmd(&c, "COMMAND INFO cluster|setslot", NULL);
	assert_non_null(strstr(r, "$15\r\ncluster|setslot\r\n:-4\r\n*3\r\n+admin\r\n+stale\r\n"
			       "+no_async_loading\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n"
			       "+@dangerous\r\n"));
	/* a replica refuses */
	epoch++;
	snprintf(text, sizeof(text), "CMAP BEGIN %u", epoch);
	assert_string_equal(ctl(a, text), "OK");
	assert_string_equal(ctl(a, "CMAP NODE " ID_B " 198.18.0.12 6379 16379 master 2 -"), "OK");
	snprintf(text, sizeof(text), "CMAP NODE %s 198.18.0.11 6379 16379 replica 1 " ID_B
		 " myself", srv.node_id);
	assert_string_equal(ctl(a, text), "OK");
	assert_string_equal(ctl(a, "CMAP SLOTS 0 16383 " ID_B), "OK");
	assert_true(strncmp(ctl(a, "CMAP COMMIT"), "OK epoch=", 9) == 0);
	assert_string_equal(cmd(&c, "CLUSTER SETSLOT 1 STABLE", NULL),
			    "-ERR Please use SETSLOT only with masters.\r\n");
	commit_map(a, NULL);
	dpc_close(&h, &c);
	close(a);
}

/* ---- without --cluster ---- */

static void disabled(void **state)
{
	struct dpc c = client();

	(void)state;
	assert_string_equal(cmd(&c, "CLUSTER SETSLOT 1 STABLE", NULL),
			    "-ERR This instance has cluster support disabled\r\n");
	assert_string_equal(cmd(&c, "CLUSTER SETSLOT 1 NODE %s", ID_B),
			    "-ERR This instance has cluster support disabled\r\n");
	assert_int_equal(rd_creq_in_use(&srv.creq), 0);
	dpc_close(&h, &c);
}

/* ---- the table and the CREQ lines alone (no thread) ---- */

static void table_states(void **state)
{
	static struct rd_creq_table t;
	const struct rd_creq *r;
	uint64_t id, id2, ep = 0;
	const char *err = NULL;
	int i;

	(void)state;
	rd_creq_init(&t);
	assert_false(rd_creq_attached(&t));
	/* queued, taken, answered, released */
	i = rd_creq_submit(&t, RD_CREQ_NODE, 42, ID_B, 1000, &id);
	assert_int_equal(i, 0);
	assert_int_equal(rd_creq_in_use(&t), 1);
	assert_int_equal(rd_creq_check(&t, i, 1000, &ep, &err), RD_CREQ_WAITING);
	r = rd_creq_take(&t, 50);
	assert_non_null(r);
	assert_int_equal(r->id, id);
	assert_int_equal(r->slot, 42);
	assert_string_equal(r->node, ID_B);
	assert_null(rd_creq_take(&t, 50));
	assert_int_equal(rd_creq_done(&t, id + RD_CREQ_MAX, true, 5, NULL), -1);
	assert_int_equal(rd_creq_done(&t, id, true, 5, NULL), 0);
	assert_int_equal(rd_creq_done(&t, id, true, 5, NULL), -1);	/* once */
	assert_int_equal(rd_creq_check(&t, i, 99999, &ep, &err), RD_CREQ_ANSWERED_OK);
	assert_int_equal(ep, 5);
	rd_creq_release(&t, i);
	assert_int_equal(rd_creq_in_use(&t), 0);
	/* the same entry again: another id, the old one no longer answers */
	assert_int_equal(rd_creq_submit(&t, RD_CREQ_STABLE, 1, "", 2000, &id2), 0);
	assert_true(id2 != id);
	assert_non_null(rd_creq_take(&t, 60));
	assert_int_equal(rd_creq_done(&t, id, false, 0, "ERR old"), -1);
	assert_int_equal(rd_creq_done(&t, id2, false, 0, "ERR no"), 0);
	assert_int_equal(rd_creq_check(&t, 0, 2000, &ep, &err), RD_CREQ_ANSWERED_ERR);
	assert_string_equal(err, "ERR no");
	rd_creq_abandon(&t, 0);		/* (answered, then gone: freed) */
	assert_int_equal(rd_creq_in_use(&t), 0);
	/* nobody takes it: withdrawn at 5 s */
	i = rd_creq_submit(&t, RD_CREQ_STABLE, 1, "", 3000, &id);
	assert_int_equal(rd_creq_check(&t, i, 3000 + RD_CREQ_TAKE_MS - 1, &ep, &err),
			 RD_CREQ_WAITING);
	assert_int_equal(rd_creq_check(&t, i, 3000 + RD_CREQ_TAKE_MS, &ep, &err), RD_CREQ_NOBODY);
	assert_int_equal(rd_creq_in_use(&t), 0);
	assert_null(rd_creq_take(&t, 70));
	/* taken, its client gone, no answer: swept after RD_CREQ_ORPHAN_MS */
	i = rd_creq_submit(&t, RD_CREQ_STABLE, 1, "", 4000, &id);
	assert_non_null(rd_creq_take(&t, 100));
	rd_creq_abandon(&t, i);
	assert_int_equal(rd_creq_in_use(&t), 1);
	assert_int_equal(rd_creq_sweep(&t, 100 + RD_CREQ_ORPHAN_MS - 1), 0);
	assert_int_equal(rd_creq_sweep(&t, 100 + RD_CREQ_ORPHAN_MS), 1);
	assert_int_equal(rd_creq_in_use(&t), 0);
	assert_int_equal(rd_creq_done(&t, id, true, 1, NULL), -1);
	/* handed out but never delivered: queued again (freed if its client is gone) */
	i = rd_creq_submit(&t, RD_CREQ_STABLE, 2, "", 5000, &id);
	assert_int_equal(rd_creq_take(&t, 200)->id, id);
	rd_creq_untake(&t, id + RD_CREQ_MAX);	/* (another id: nothing) */
	assert_null(rd_creq_take(&t, 200));
	rd_creq_untake(&t, id);
	assert_int_equal(rd_creq_check(&t, i, 5000, &ep, &err), RD_CREQ_WAITING);
	assert_int_equal(rd_creq_take(&t, 201)->id, id);
	rd_creq_abandon(&t, i);
	rd_creq_untake(&t, id);
	assert_int_equal(rd_creq_in_use(&t), 0);
	assert_int_equal(rd_creq_done(&t, id, true, 1, NULL), -1);
	/* oldest first; full at RD_CREQ_MAX */
	for (int k = 0; k < RD_CREQ_MAX; k++) {
		uint64_t x;

		assert_int_equal(rd_creq_submit(&t, RD_CREQ_STABLE, (unsigned)k, "", 0, &x), k);
	}
	assert_int_equal(rd_creq_submit(&t, RD_CREQ_STABLE, 1, "", 0, &id), -1);
	rd_creq_abandon(&t, 3);
	assert_int_equal(rd_creq_submit(&t, RD_CREQ_STABLE, 999, "", 0, &id), 3);
	for (int k = 0; k < RD_CREQ_MAX; k++) {
		r = rd_creq_take(&t, 0);
		assert_non_null(r);
		assert_int_equal(r->slot, k == RD_CREQ_MAX - 1 ? 999 : k < 3 ? k : k + 1);
	}
}

static void creq_lines(void **state)
{
	static struct rd_creq_table t;
	char out[512];
	int64_t dl = 0;
	uint64_t id, tk = 1;
	char line[400];

	(void)state;
	rd_creq_init(&t);
	assert_int_equal(wc_creq_line(&t, "PING", 0, out, sizeof(out), &dl, &tk), WC_CREQ_NOT_MINE);
	assert_int_equal(wc_creq_line(&t, "CREQS NEXT 1", 0, out, sizeof(out), &dl, &tk),
			 WC_CREQ_NOT_MINE);
	wc_creq_line(NULL, "CREQ NEXT 1", 0, out, sizeof(out), &dl, &tk);
	assert_string_equal(out, "ERR this dataplane has no Redis side: no slot changes to "
			    "take\n");
	wc_creq_line(&t, "CREQ", 0, out, sizeof(out), &dl, &tk);
	assert_true(strncmp(out, "ERR usage: CREQ NEXT", 20) == 0);
	wc_creq_line(&t, "CREQ NEXT 5001", 0, out, sizeof(out), &dl, &tk);
	assert_string_equal(out, "ERR usage: CREQ NEXT <timeout_ms> (0-5000)\n");
	wc_creq_line(&t, "CREQ NEXT -1", 0, out, sizeof(out), &dl, &tk);
	assert_string_equal(out, "ERR usage: CREQ NEXT <timeout_ms> (0-5000)\n");
	wc_creq_line(&t, "CREQ NEXT 1 2", 0, out, sizeof(out), &dl, &tk);
	assert_string_equal(out, "ERR usage: CREQ NEXT <timeout_ms> (0-5000)\n");
	wc_creq_line(&t, "CREQ DONE x OK 1", 0, out, sizeof(out), &dl, &tk);
	assert_true(strncmp(out, "ERR usage: CREQ DONE", 20) == 0);
	wc_creq_line(&t, "CREQ DONE 1 MAYBE", 0, out, sizeof(out), &dl, &tk);
	assert_true(strncmp(out, "ERR usage: CREQ DONE", 20) == 0);
	wc_creq_line(&t, "CREQ DONE 1 OK", 0, out, sizeof(out), &dl, &tk);
	assert_string_equal(out, "ERR usage: CREQ DONE <reqid> OK <epoch>\n");
	wc_creq_line(&t, "CREQ DONE 1 OK 2 3", 0, out, sizeof(out), &dl, &tk);
	assert_string_equal(out, "ERR usage: CREQ DONE <reqid> OK <epoch>\n");
	wc_creq_line(&t, "CREQ DONE 1 ERR   ", 0, out, sizeof(out), &dl, &tk);
	assert_true(strncmp(out, "ERR usage: CREQ DONE <reqid> ERR <text>", 39) == 0);
	wc_creq_line(&t, "CREQ DONE 1 OK 2", 0, out, sizeof(out), &dl, &tk);
	assert_string_equal(out, "ERR unknown request 1 (answered already, or dropped)\n");
	/* NEXT: nothing yet (wait until now + timeout), then a request */
	assert_int_equal(wc_creq_line(&t, "CREQ NEXT 300", 1000, out, sizeof(out), &dl, &tk),
			 WC_CREQ_WAIT);
	assert_int_equal(dl, 1300);
	assert_false(wc_creq_next(&t, 1299, dl, out, sizeof(out), &tk));
	assert_true(wc_creq_next(&t, 1300, dl, out, sizeof(out), &tk));
	assert_string_equal(out, "OK none\n");
	assert_int_equal(tk, 0);
	assert_int_equal(rd_creq_submit(&t, RD_CREQ_IMPORTING, 16383, ID_B, 0, &id), 0);
	assert_int_equal(wc_creq_line(&t, "CREQ NEXT 5000", 0, out, sizeof(out), &dl, &tk),
			 WC_CREQ_REPLIED);
	assert_int_equal(tk, id);
	snprintf(line, sizeof(line), "OK %llu SETSLOT 16383 IMPORTING " ID_B "\n",
		 (unsigned long long)id);
	assert_string_equal(out, line);
	/* a refusal's text: every word, control bytes made spaces */
	snprintf(line, sizeof(line), "CREQ DONE %llu ERR ERR a b c d e f g h i j k l m n o p q r "
		 "s\tt", (unsigned long long)id);
	assert_int_equal(wc_creq_line(&t, line, 0, out, sizeof(out), &dl, &tk), WC_CREQ_REPLIED);
	assert_string_equal(out, "OK\n");
	assert_string_equal(t.r[0].err, "ERR a b c d e f g h i j k l m n o p q r s t");
	assert_int_equal(rd_creq_submit(&t, RD_CREQ_STABLE, 0, "", 0, &id), 1);
	assert_true(wc_creq_next(&t, 0, 0, out, sizeof(out), &tk));
	snprintf(line, sizeof(line), "OK %llu SETSLOT 0 STABLE\n", (unsigned long long)id);
	assert_string_equal(out, line);
}

int main(void)
{
	const struct CMUnitTest alone[] = {
		cmocka_unit_test(table_states),
		cmocka_unit_test(creq_lines),
	};
	const struct CMUnitTest cluster[] = {
		cmocka_unit_test(next_long_polls),
		cmocka_unit_test(done_err_and_clients_gone),
		cmocka_unit_test(no_control_plane_and_timeouts),
		cmocka_unit_test(node_refused_while_keys_are_here),
		cmocka_unit_test(argument_errors),
	};
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(disabled),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("the table and the lines", alone, NULL, NULL);
	failed += cmocka_run_group_tests_name("SETSLOT, cluster mode", cluster, up_cluster, down);
	failed += cmocka_run_group_tests_name("SETSLOT without --cluster", plain, up_plain, down);
	return failed;
}
