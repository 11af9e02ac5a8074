/*
 * test_cp_agent.c - a wirecache-cp in a cluster (control/cpcluster.c)
 * between a real etcd (cp_etcd_harness.h) and a fake dataplane: a thread
 * serving the control socket's HELLO (with a shared-memory region that only
 * has a valid header), ID and the CMAP lines of interface I1, recording
 * what it got. Covers registration on a lease, the map pushed when it is
 * put and when it changes, pushed again after the dataplane restarts,
 * etcd stopped (reported, nothing pushed, the map kept) and back, the
 * registration lapsing after the control plane stops, and ID parsing.
 * Then CLUSTER SETSLOT through the CREQ thread (control/cpcreq.c) on its
 * own connection to the fake (which serves several and answers CREQ NEXT
 * from a queue): each request an etcd transaction answered CREQ DONE with
 * the new epoch or Redis's error text, the new map pushed at once with the
 * CMAP MIGRATING/IMPORTING lines, the gauges, a dataplane restart, and
 * etcd unreachable.
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "cp_etcd_harness.h"
#include "cmap.h"
#include "cpcluster.h"
#include "cpcore.h"
#include "cpcreq.h"

#define MYID "0123456789abcdef0123456789abcdef01234567"
#define OTHERID "fedcba9876543210fedcba9876543210fedcba98"

/* ---- the fake dataplane ---- */

#define FAKE_CLIENTS 4

static struct fake {
	pthread_t thread;
	char dir[64], path[108];
	int lfd, memfd;
	int cfd[FAKE_CLIENTS];		/* the core's connection and the CREQ thread's */
	char in[FAKE_CLIENTS][4096];
	size_t inlen[FAKE_CLIENTS];
	int64_t next_until[FAKE_CLIENTS];	/* a CREQ NEXT waiting until then (0 none) */
	volatile int stop, drop;	/* drop: close the clients (a restart) */
	pthread_mutex_t mu;
	unsigned commits, begins, ids, nexts;
	unsigned long long epoch;
	char staged[256][256];
	unsigned nstaged;
	char last[256][256];	/* the lines of the last COMMIT */
	unsigned nlast;
	char reqs[16][200];		/* SETSLOT requests to hand out, in order */
	unsigned nreqs, reqs_out;
	char done[16][256];		/* the CREQ DONE lines received */
	unsigned ndone;
} fk;

static int64_t fake_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fake_reply(int fd, const char *line)
{
	char buf[300];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return;
}

static void fake_hello(int fd)
{
	char buf[64], ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, 0 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	iov.iov_len = (size_t)snprintf(buf, sizeof(buf), "OK abi=%u size=%zu\n", WC_CP_ABI,
				       sizeof(struct wc_cp_shm));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fk.memfd, sizeof(int));
	assert_true(sendmsg(fd, &msg, MSG_NOSIGNAL) > 0);
}

static void fake_line(int k, char *line)
{
	int fd = fk.cfd[k];

	pthread_mutex_lock(&fk.mu);
	if (strncmp(line, "CREQ NEXT ", 10) == 0) {
		fk.nexts++;
		fk.next_until[k] = fake_ms() + atoi(line + 10);	/* answered by fake_main */
	} else if (strncmp(line, "CREQ DONE ", 10) == 0) {
		if (fk.ndone < 16)
			snprintf(fk.done[fk.ndone++], 256, "%.250s", line);
		fake_reply(fd, "OK");
	} else if (strncmp(line, "CMAP MIGRATING ", 15) == 0 ||
		   strncmp(line, "CMAP IMPORTING ", 15) == 0) {
		if (fk.nstaged < 256)
			snprintf(fk.staged[fk.nstaged++], 256, "%.250s", line);
		fake_reply(fd, "OK");
	} else if (strcmp(line, "HELLO") == 0) {
		fake_hello(fd);
	} else if (strcmp(line, "ID") == 0) {
		fk.ids++;
		fake_reply(fd, "OK id=" MYID " ip=198.18.0.11 port=6379 cport=16379 mcport=11211 "
			   "cluster=1");
	} else if (strncmp(line, "CMAP BEGIN ", 11) == 0) {
		fk.begins++;
		fk.nstaged = 0;
		snprintf(fk.staged[fk.nstaged++], 256, "%.250s", line);
		fake_reply(fd, "OK");
	} else if (strncmp(line, "CMAP NODE ", 10) == 0 || strncmp(line, "CMAP SLOTS ", 11) == 0) {
		if (fk.nstaged < 256)
			snprintf(fk.staged[fk.nstaged++], 256, "%.250s", line);
		fake_reply(fd, "OK");
	} else if (strcmp(line, "CMAP COMMIT") == 0 && fk.nstaged) {
		char r[128];

		fk.epoch = strtoull(fk.staged[0] + 11, NULL, 10);
		memcpy(fk.last, fk.staged, sizeof(fk.last));
		fk.nlast = fk.nstaged;
		fk.nstaged = 0;
		fk.commits++;
		snprintf(r, sizeof(r), "OK epoch=%llu nodes=2 assigned=16384", fk.epoch);
		fake_reply(fd, r);
	} else {
		fake_reply(fd, "ERR unknown command");
	}
	pthread_mutex_unlock(&fk.mu);
}

/* Answer the CREQ NEXTs waiting: a queued request, or "none" when their time is up. */
static void fake_creq(void)
{
	pthread_mutex_lock(&fk.mu);
	for (int k = 0; k < FAKE_CLIENTS; k++) {
		char r[256];

		if (fk.cfd[k] < 0 || !fk.next_until[k])
			continue;
		if (fk.reqs_out < fk.nreqs) {
			snprintf(r, sizeof(r), "OK %s", fk.reqs[fk.reqs_out++]);
			fake_reply(fk.cfd[k], r);
			fk.next_until[k] = 0;
		} else if (fake_ms() >= fk.next_until[k]) {
			fake_reply(fk.cfd[k], "OK none");
			fk.next_until[k] = 0;
		}
	}
	pthread_mutex_unlock(&fk.mu);
}

static void fake_close(int k)
{
	close(fk.cfd[k]);
	fk.cfd[k] = -1;
	fk.inlen[k] = 0;
	fk.next_until[k] = 0;
}

static void *fake_main(void *arg)
{
	(void)arg;
	while (!fk.stop) {
		struct pollfd pf[FAKE_CLIENTS + 1];

		if (fk.drop) {
			for (int k = 0; k < FAKE_CLIENTS; k++)
				if (fk.cfd[k] >= 0)
					fake_close(k);
			fk.drop = 0;
			continue;
		}
		fake_creq();
		pf[0] = (struct pollfd){ fk.lfd, POLLIN, 0 };
		for (int k = 0; k < FAKE_CLIENTS; k++)
			pf[k + 1] = (struct pollfd){ fk.cfd[k], POLLIN, 0 };
		if (poll(pf, FAKE_CLIENTS + 1, 20) <= 0)
			continue;
		if (pf[0].revents & POLLIN) {
			int fd = accept(fk.lfd, NULL, NULL), k;

			for (k = 0; k < FAKE_CLIENTS && fk.cfd[k] >= 0; k++)
				;
			if (k < FAKE_CLIENTS)
				fk.cfd[k] = fd;
			else
				close(fd);
		}
		for (int k = 0; k < FAKE_CLIENTS; k++) {
			char *buf = fk.in[k];
			ssize_t r;

			if (fk.cfd[k] < 0 || !(pf[k + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = recv(fk.cfd[k], buf + fk.inlen[k], sizeof(fk.in[k]) - fk.inlen[k] - 1, 0);
			if (r <= 0) {
				fake_close(k);
				continue;
			}
			fk.inlen[k] += (size_t)r;
			for (char *nl; fk.cfd[k] >= 0 && (nl = memchr(buf, '\n', fk.inlen[k]));) {
				char line[sizeof(fk.in[0])];	/* not inside fk: fake_line writes fk */

				*nl = 0;
				memcpy(line, buf, (size_t)(nl - buf) + 1);
				fake_line(k, line);
				fk.inlen[k] -= (size_t)(nl + 1 - buf);
				memmove(buf, nl + 1, fk.inlen[k]);
			}
		}
	}
	for (int k = 0; k < FAKE_CLIENTS; k++)
		if (fk.cfd[k] >= 0)
			close(fk.cfd[k]);
	return NULL;
}

static void fake_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct wc_cp_shm *shm;

	memset(&fk, 0, sizeof(fk));
	for (int k = 0; k < FAKE_CLIENTS; k++)
		fk.cfd[k] = -1;
	snprintf(fk.dir, sizeof(fk.dir), "/tmp/wc-test-fakedp-XXXXXX");
	assert_non_null(mkdtemp(fk.dir));
	snprintf(fk.path, sizeof(fk.path), "%s/dp.sock", fk.dir);
	pthread_mutex_init(&fk.mu, NULL);
	fk.memfd = memfd_create("fake-dp", 0);
	assert_true(fk.memfd >= 0);
	assert_int_equal(ftruncate(fk.memfd, sizeof(struct wc_cp_shm)), 0);
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED, fk.memfd, 0);
	assert_true(shm != MAP_FAILED);
	shm->magic = WC_CP_MAGIC;
	shm->abi = WC_CP_ABI;
	shm->size = sizeof(*shm);
	shm->boot_id = 2;
	munmap(shm, sizeof(*shm));
	fk.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fk.path);
	assert_int_equal(bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk.lfd, 4), 0);
	assert_int_equal(pthread_create(&fk.thread, NULL, fake_main, NULL), 0);
}

static void fake_stop(void)
{
	fk.stop = 1;
	pthread_join(fk.thread, NULL);
	close(fk.lfd);
	close(fk.memfd);
	unlink(fk.path);
	rmdir(fk.dir);
	pthread_mutex_destroy(&fk.mu);
}

static unsigned fake_commits(void)
{
	unsigned n;

	pthread_mutex_lock(&fk.mu);
	n = fk.commits;
	pthread_mutex_unlock(&fk.mu);
	return n;
}

/* ---- helpers ---- */

static struct cp_core core;
static struct cp_alert_rules rules;

/* Tick the core (attachment) until cond holds or ms pass. */
static bool tick_until(bool (*cond)(void), unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 50) {
		cp_core_tick(&core);
		if (cond())
			return true;
		sleep_ms(50);
	}
	return cond();
}

static int registry_count(const char *cluster)
{
	struct etcd e;
	struct etcd_range r;
	char key[128];
	int n;

	snprintf(key, sizeof(key), "/wirecache/%s/nodes/", cluster);
	etcd_init(&e, url, 1000);
	if (etcd_get(&e, key, true, &r) != 0) {
		etcd_free(&e);
		return -1;
	}
	n = (int)r.n;
	etcd_range_free(&r);
	etcd_free(&e);
	return n;
}

static bool registered(void)
{
	return registry_count("t1") == 1;
}

static bool unregistered(void)
{
	return registry_count("t1") == 0;
}

static unsigned want_commits;
static bool commits_reached(void)
{
	return fake_commits() >= want_commits;
}

static bool etcd_down(void)
{
	return cp_cluster_etcd_up(core.cluster) == 0;
}

static bool etcd_up(void)
{
	return cp_cluster_etcd_up(core.cluster) == 1;
}

static void put_map(uint64_t epoch)
{
	static struct cm_map m;
	struct cm_node a = { .id = MYID, .ip = "198.18.0.11", .port = 6379, .cport = 16379,
			     .mcport = 11211, .http = "127.0.0.1:18180", .config_epoch = 1 };
	struct cm_node b = { .id = OTHERID, .ip = "198.18.0.12", .port = 6379, .cport = 16379,
			     .mcport = 11212, .http = "127.0.0.1:18181", .config_epoch = 1 };
	struct etcd e;
	char *s;

	cm_map_init(&m);
	cm_map_add(&m, &a);
	cm_map_add(&m, &b);
	cm_split_even(&m);
	m.epoch = epoch;
	s = cm_map_dumps(&m);
	assert_int_equal(etcd_init(&e, url, 2000), 0);
	assert_int_equal(etcd_put(&e, "/wirecache/t1/map", s, strlen(s), 0), 0);
	etcd_free(&e);
	free(s);
}

static json_int_t jnum(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* ---- the test ---- */

static void agent(void **state)
{
	struct cp_cluster_opts o = { .name = "t1", .node_timeout_ms = 2000,
				     .http = "127.0.0.1:18180" };
	char err[256], key[128];
	struct etcd e;
	struct etcd_range r;
	struct cm_node n;
	json_t *j, *nodes, *x;
	size_t i;

	(void)state;
	fake_start();
	cp_alert_rules_default(&rules);
	assert_int_equal(cp_core_init(&core, fk.path, "t", &rules, 10), 0);
	o.etcd = url;
	core.cluster = cp_cluster_start(&core, &o, err, sizeof(err));
	assert_non_null(core.cluster);

	/*
	 * registered on a lease, with what ID said and the http address (the
	 * agent marks etcd reachable at the end of the step that registered:
	 * wait for that too)
	 */
	assert_true(tick_until(registered, 5000));
	assert_true(tick_until(etcd_up, 5000));
	snprintf(key, sizeof(key), "/wirecache/t1/nodes/%s", MYID);
	assert_int_equal(etcd_init(&e, url, 2000), 0);
	assert_int_equal(etcd_get(&e, key, false, &r), 0);
	assert_int_equal(r.n, 1);
	assert_true(r.kvs[0].lease != 0);
	assert_int_equal(cm_node_parse(r.kvs[0].value, r.kvs[0].vlen, &n, err, sizeof(err)), 0);
	assert_string_equal(n.ip, "198.18.0.11");
	assert_int_equal(n.mcport, 11211);
	assert_string_equal(n.http, "127.0.0.1:18180");
	etcd_range_free(&r);
	etcd_free(&e);
	assert_int_equal(fake_commits(), 0);	/* no map yet, nothing pushed */
	j = cp_cluster_json(core.cluster);
	assert_true(json_is_true(json_object_get(j, "etcd")));
	assert_true(json_is_true(json_object_get(j, "registered")));
	assert_string_equal(json_string_value(json_object_get(j, "id")), MYID);
	assert_true(json_is_null(json_object_get(j, "epoch")));
	json_decref(j);

	/* a map appears: pushed with myself on this node's line, mc= on every node line */
	put_map(1);
	want_commits = 1;
	assert_true(tick_until(commits_reached, 5000));
	pthread_mutex_lock(&fk.mu);
	assert_int_equal(fk.epoch, 1);
	assert_int_equal(fk.nlast, 5);
	assert_string_equal(fk.last[0], "CMAP BEGIN 1");
	assert_string_equal(fk.last[1], "CMAP NODE " MYID " 198.18.0.11 6379 16379 master 1 - "
			    "myself mc=11211");
	assert_string_equal(fk.last[2], "CMAP NODE " OTHERID " 198.18.0.12 6379 16379 master 1 - "
			    "mc=11212");
	assert_string_equal(fk.last[3], "CMAP SLOTS 0 8191 " MYID);
	assert_string_equal(fk.last[4], "CMAP SLOTS 8192 16383 " OTHERID);
	pthread_mutex_unlock(&fk.mu);
	sleep_ms(300);
	j = cp_cluster_json(core.cluster);
	assert_int_equal(jnum(j, "epoch"), 1);
	assert_int_equal(jnum(j, "dataplane_epoch"), 1);
	nodes = json_object_get(j, "nodes");
	assert_int_equal(json_array_size(nodes), 2);
	json_array_foreach(nodes, i, x) {
		bool me = strcmp(json_string_value(json_object_get(x, "id")), MYID) == 0;

		assert_int_equal(json_is_true(json_object_get(x, "alive")), me);
		assert_int_equal(json_is_true(json_object_get(x, "myself")), me);
		assert_int_equal(jnum(x, "slot_count"), 8192);
	}
	json_decref(j);

	/* a new epoch is pushed; nothing is pushed again while nothing changes */
	put_map(2);
	want_commits = 2;
	assert_true(tick_until(commits_reached, 5000));
	assert_int_equal(fk.epoch, 2);
	sleep_ms(1000);
	assert_int_equal(fake_commits(), 2);

	/* the dataplane restarts: ID again, the map again */
	fk.drop = 1;
	want_commits = 3;
	assert_true(tick_until(commits_reached, 8000));
	assert_int_equal(fk.epoch, 2);
	assert_true(fk.ids >= 2);

	/* etcd stops: reported; the dataplane keeps its map, nothing is pushed */
	etcd_kill();
	assert_true(tick_until(etcd_down, 5000));
	j = cp_cluster_json(core.cluster);
	assert_false(json_is_true(json_object_get(j, "etcd")));
	assert_int_equal(jnum(j, "epoch"), 2);
	assert_int_equal(jnum(j, "dataplane_epoch"), 2);
	assert_non_null(strstr(json_string_value(json_object_get(j, "etcd_error")),
			       "etcd unreachable"));
	json_decref(j);
	{
		struct buf b;
		char *text;
		size_t len;

		buf_init(&b);
		cp_cluster_prom(core.cluster, &b);
		text = buf_take(&b, &len);
		assert_non_null(strstr(text, "\nwirecache_etcd_up 0\n"));
		assert_non_null(strstr(text, "\nwirecache_cluster_dataplane_epoch 2\n"));
		free(text);
	}
	sleep_ms(1000);
	assert_int_equal(fake_commits(), 3);

	/* etcd back: reported, still registered */
	assert_int_equal(etcd_spawn(), 0);
	assert_true(tick_until(etcd_up, 8000));
	assert_true(tick_until(registered, 5000));
	assert_int_equal(fake_commits(), 3);

	/* the control plane stops: its registration lapses with the lease */
	cp_cluster_stop(core.cluster);
	core.cluster = NULL;
	assert_true(tick_until(unregistered, 5000));
	cp_core_fini(&core);
	fake_stop();
}

/* ---- SETSLOT requests (CREQ) ---- */

static unsigned want_done;
static bool done_reached(void)
{
	unsigned n;

	pthread_mutex_lock(&fk.mu);
	n = fk.ndone;
	pthread_mutex_unlock(&fk.mu);
	return n >= want_done;
}

static void queue_req(const char *line)
{
	pthread_mutex_lock(&fk.mu);
	snprintf(fk.reqs[fk.nreqs++], sizeof(fk.reqs[0]), "%s", line);
	pthread_mutex_unlock(&fk.mu);
}

/* Queue a request and wait for its DONE line, which must be want. */
static void request(const char *line, const char *want)
{
	queue_req(line);
	want_done = fk.ndone + 1;
	assert_true(tick_until(done_reached, 8000));
	pthread_mutex_lock(&fk.mu);
	if (strcmp(fk.done[fk.ndone - 1], want) != 0)
		fail_msg("'%s' was answered '%s', expected '%s'", line, fk.done[fk.ndone - 1],
			 want);
	pthread_mutex_unlock(&fk.mu);
}

static void etcd_map(struct cm_map *m)
{
	struct etcd e;
	struct etcd_range r;
	char err[256];

	assert_int_equal(etcd_init(&e, url, 2000), 0);
	assert_int_equal(etcd_get(&e, "/wirecache/t1/map", false, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(cm_map_parse(r.kvs[0].value, r.kvs[0].vlen, m, err, sizeof(err)), 0);
	etcd_range_free(&r);
	etcd_free(&e);
}

static unsigned long long want_epoch;
static bool pushed_epoch(void)
{
	unsigned long long e;

	pthread_mutex_lock(&fk.mu);
	e = fk.epoch;
	pthread_mutex_unlock(&fk.mu);
	return e >= want_epoch;
}

static bool last_has(const char *line)
{
	bool found = false;

	pthread_mutex_lock(&fk.mu);
	for (unsigned i = 0; i < fk.nlast; i++)
		found |= strcmp(fk.last[i], line) == 0;
	pthread_mutex_unlock(&fk.mu);
	return found;
}

static void setslot_requests(void **state)
{
	struct cp_cluster_opts o = { .name = "t1", .node_timeout_ms = 2000,
				     .http = "127.0.0.1:18180" };
	static struct cm_map m;
	char err[256];
	json_t *j;

	(void)state;
	fake_start();
	cp_alert_rules_default(&rules);
	assert_int_equal(cp_core_init(&core, fk.path, "t", &rules, 10), 0);
	o.etcd = url;
	put_map(10);
	core.cluster = cp_cluster_start(&core, &o, err, sizeof(err));
	assert_non_null(core.cluster);
	want_epoch = 10;
	assert_true(tick_until(pushed_epoch, 8000));

	/* MIGRATING on the owner: a transaction, epoch 11, pushed with the CMAP MIGRATING line */
	request("1 SETSLOT 100 MIGRATING " OTHERID, "CREQ DONE 1 OK 11");
	etcd_map(&m);
	assert_int_equal(m.epoch, 11);
	assert_int_equal(m.mig_src[100], cm_map_find(&m, MYID));
	assert_int_equal(m.mig_dst[100], cm_map_find(&m, OTHERID));
	want_epoch = 11;
	assert_true(tick_until(pushed_epoch, 5000));
	assert_true(last_has("CMAP MIGRATING 100 100 " OTHERID));
	/* after the NODE and SLOTS lines (the fake keeps what came before COMMIT) */
	assert_string_equal(fk.last[fk.nlast - 1], "CMAP MIGRATING 100 100 " OTHERID);

	/* refused with Redis's texts, nothing written */
	request("2 SETSLOT 9000 MIGRATING " OTHERID,
		"CREQ DONE 2 ERR ERR I'm not the owner of hash slot 9000");
	request("3 SETSLOT 50 IMPORTING " OTHERID,
		"CREQ DONE 3 ERR ERR I'm already the owner of hash slot 50");
	request("4 SETSLOT 9000 IMPORTING 1111111111111111111111111111111111111111",
		"CREQ DONE 4 ERR ERR I don't know about node "
		"1111111111111111111111111111111111111111");
	request("5 SETSLOT 100 NODE 1111111111111111111111111111111111111111",
		"CREQ DONE 5 ERR ERR Unknown node 1111111111111111111111111111111111111111");
	etcd_map(&m);
	assert_int_equal(m.epoch, 11);

	/* IMPORTING 9000 from the other node, then the flip of 100: epoch 13, config_epoch 13 */
	request("6 SETSLOT 9000 IMPORTING " OTHERID, "CREQ DONE 6 OK 12");
	request("7 SETSLOT 100 NODE " OTHERID, "CREQ DONE 7 OK 13");
	etcd_map(&m);
	assert_int_equal(m.slot[100], cm_map_find(&m, OTHERID));
	assert_int_equal(m.nodes[cm_map_find(&m, OTHERID)].config_epoch, 13);
	assert_int_equal(m.mig_src[100], -1);
	assert_int_equal(m.imp_dst[9000], cm_map_find(&m, MYID));
	/* asked again (as every node is): nothing to change, the same epoch */
	request("8 SETSLOT 100 NODE " OTHERID, "CREQ DONE 8 OK 13");
	want_epoch = 13;
	assert_true(tick_until(pushed_epoch, 5000));
	assert_true(last_has("CMAP IMPORTING 9000 9000 " OTHERID));
	assert_false(last_has("CMAP MIGRATING 100 100 " OTHERID));
	j = cp_cluster_json(core.cluster);
	assert_int_equal(jnum(j, "slots_importing"), 1);
	assert_int_equal(jnum(j, "slots_migrating"), 0);
	assert_int_equal(jnum(j, "slots_to_move"), 1);
	assert_int_equal(jnum(j, "setslot_ok"), 4);
	assert_int_equal(jnum(j, "setslot_refused"), 4);
	json_decref(j);
	{
		struct buf b;
		char *text;
		size_t len;

		buf_init(&b);
		cp_cluster_prom(core.cluster, &b);
		text = buf_take(&b, &len);
		assert_non_null(strstr(text, "\nwirecache_cluster_slots_importing 1\n"));
		assert_non_null(strstr(text, "\nwirecache_cluster_slots_migrating 0\n"));
		assert_non_null(strstr(text, "\nwirecache_cluster_map_slots_importing 1\n"));
		free(text);
	}

	/* the dataplane restarts: the CREQ connection comes back and serves again */
	fk.drop = 1;
	request("9 SETSLOT 9000 STABLE", "CREQ DONE 9 OK 14");

	/* etcd stops: the brief's text, nothing changes */
	etcd_kill();
	request("10 SETSLOT 9001 IMPORTING " OTHERID, "CREQ DONE 10 ERR " CP_CREQ_ETCD_DOWN);
	assert_int_equal(etcd_spawn(), 0);
	etcd_map(&m);
	assert_int_equal(m.epoch, 14);
	assert_int_equal(cm_map_open(&m), 0);

	cp_cluster_stop(core.cluster);
	core.cluster = NULL;
	cp_core_fini(&core);
	fake_stop();
}

static void creq_parse(void **state)
{
	char reqid[32], id[CM_ID_LEN + 1];
	unsigned slot;
	enum cm_setslot_op op;

	(void)state;
	assert_int_equal(cp_creq_parse("none", reqid, &slot, &op, id), 0);
	assert_int_equal(cp_creq_parse("17 SETSLOT 16383 NODE " MYID, reqid, &slot, &op, id), 1);
	assert_string_equal(reqid, "17");
	assert_int_equal(slot, 16383);
	assert_int_equal(op, CM_SETSLOT_NODE);
	assert_string_equal(id, MYID);
	assert_int_equal(cp_creq_parse("18 SETSLOT 0 STABLE", reqid, &slot, &op, id), 1);
	assert_int_equal(op, CM_SETSLOT_STABLE);
	assert_string_equal(id, "");
	assert_int_equal(cp_creq_parse("18 SETSLOT 16384 STABLE", reqid, &slot, &op, id), -1);
	assert_int_equal(cp_creq_parse("18 SETSLOT 1 STABLE " MYID, reqid, &slot, &op, id), -1);
	assert_int_equal(cp_creq_parse("18 SETSLOT 1 NODE", reqid, &slot, &op, id), -1);
	assert_int_equal(cp_creq_parse("18 SETSLOT 1 MOVE " MYID, reqid, &slot, &op, id), -1);
	assert_int_equal(cp_creq_parse("18 GETSLOT 1 NODE " MYID, reqid, &slot, &op, id), -1);
}

static void parse_id(void **state)
{
	struct cm_node n;
	bool cl;

	(void)state;
	assert_int_equal(cp_cluster_parse_id("id=" MYID " ip=10.0.0.1 port=7000 cport=17000 "
					     "mcport=11211 cluster=1", &n, &cl), 0);
	assert_string_equal(n.id, MYID);
	assert_string_equal(n.ip, "10.0.0.1");
	assert_int_equal(n.port, 7000);
	assert_int_equal(n.cport, 17000);
	assert_int_equal(n.mcport, 11211);
	assert_true(cl);
	assert_int_equal(cp_cluster_parse_id("id=" MYID " ip=10.0.0.1 port=7000 cport=17000 "
					     "mcport=0 cluster=0", &n, &cl), 0);
	assert_false(cl);
	/* a field missing, a bad id, a bad address, a bad port */
	assert_int_equal(cp_cluster_parse_id("id=" MYID " ip=10.0.0.1 port=7000 cport=17000",
					     &n, &cl), -1);
	assert_int_equal(cp_cluster_parse_id("id=xyz ip=10.0.0.1 port=7000 cport=17000 mcport=1",
					     &n, &cl), -1);
	assert_int_equal(cp_cluster_parse_id("id=" MYID " ip=10.0.0 port=7000 cport=17000 "
					     "mcport=1", &n, &cl), -1);
	assert_int_equal(cp_cluster_parse_id("id=" MYID " ip=10.0.0.1 port=70000 cport=17000 "
					     "mcport=1", &n, &cl), -1);
	assert_int_equal(cp_cluster_parse_id("unknown command", &n, &cl), -1);
	{
		char p[128];

		assert_int_equal(cp_cluster_prefix("prod-1", p, sizeof(p)), 0);
		assert_string_equal(p, "/wirecache/prod-1/");
		assert_int_equal(cp_cluster_prefix("a/b", p, sizeof(p)), -1);
		assert_int_equal(cp_cluster_prefix("", p, sizeof(p)), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_id),
		cmocka_unit_test(agent),
		cmocka_unit_test(creq_parse),
		cmocka_unit_test(setslot_requests),
	};

	return cmocka_run_group_tests(tests, start_etcd, stop_etcd);
}
