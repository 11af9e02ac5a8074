/*
 * test_cp_agent.c - a wirecache-cp in a cluster (control/cpcluster.c)
 * between a real etcd (cp_etcd_harness.h) and a fake dataplane: a thread
 * serving the control socket's HELLO (with a shared-memory region that only
 * has a valid header), ID and the CMAP lines of interface I1, recording
 * what it got. Covers registration on a lease, the map pushed when it is
 * put and when it changes, pushed again after the dataplane restarts,
 * etcd stopped (reported, nothing pushed, the map kept) and back, the
 * registration lapsing after the control plane stops, and ID parsing.
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

#define MYID "0123456789abcdef0123456789abcdef01234567"
#define OTHERID "fedcba9876543210fedcba9876543210fedcba98"

/* ---- the fake dataplane ---- */

static struct fake {
	pthread_t thread;
	char dir[64], path[108];
	int lfd, cfd, memfd;
	volatile int stop, drop;	/* drop: close the client (a restart) */
	pthread_mutex_t mu;
	unsigned commits, begins, ids;
	unsigned long long epoch;
	char staged[256][256];
	unsigned nstaged;
	char last[256][256];	/* the lines of the last COMMIT */
	unsigned nlast;
} fk;

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

static void fake_line(int fd, char *line)
{
	pthread_mutex_lock(&fk.mu);
	if (strcmp(line, "HELLO") == 0) {
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

static void *fake_main(void *arg)
{
	char buf[4096];
	size_t len = 0;

	(void)arg;
	while (!fk.stop) {
		struct pollfd pf = { fk.cfd >= 0 ? fk.cfd : fk.lfd, POLLIN, 0 };

		if (fk.drop && fk.cfd >= 0) {
			close(fk.cfd);
			fk.cfd = -1;
			fk.drop = 0;
			len = 0;
			continue;
		}
		if (poll(&pf, 1, 20) <= 0)
			continue;
		if (fk.cfd < 0) {
			fk.cfd = accept(fk.lfd, NULL, NULL);
			continue;
		}
		ssize_t r = recv(fk.cfd, buf + len, sizeof(buf) - len - 1, 0);

		if (r <= 0) {
			close(fk.cfd);
			fk.cfd = -1;
			len = 0;
			continue;
		}
		len += (size_t)r;
		for (char *nl; (nl = memchr(buf, '\n', len)) != NULL;) {
			*nl = 0;
			fake_line(fk.cfd, buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
	}
	if (fk.cfd >= 0)
		close(fk.cfd);
	return NULL;
}

static void fake_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct wc_cp_shm *shm;

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
	fk.cfd = -1;
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
	};

	return cmocka_run_group_tests(tests, start_etcd, stop_etcd);
}
