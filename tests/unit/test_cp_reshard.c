/*
 * test_cp_reshard.c - `wirecachectl cluster reshard/rebalance`
 * (control/ctl_reshard.c, respc.c) against a real etcd (cp_etcd_harness.h)
 * and two fake nodes, each a RESP server on loopback (AUTH, CLUSTER
 * GETKEYSINSLOT/COUNTKEYSINSLOT, MIGRATE ... KEYS moving keys between the
 * two fakes' tables) and a control plane answering GET /api/cluster with
 * the map epoch it read from etcd and /metrics with a migrate_bytes
 * counter. Covers: batches opened and flipped (epochs, config_epoch, every
 * key moved with AUTH, pipelines of 100), a source that cannot be reached
 * (exit 1, the batch left open, resumed by the next reshard), rebalance to
 * equal shares, del-node refused during a move, a batch of mostly-empty
 * slots moved in few round trips (GETKEYSINSLOT, the MIGRATEs of its slots
 * and COUNTKEYSINSLOT pipelined: the fake counts buffers and commands; the
 * default of 1000 keys per MIGRATE), a slot that counts keys
 * GETKEYSINSLOT does not list (goes round again; 100 rounds at most), and
 * etcd unreachable.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <unistd.h>
#include <cmocka.h>

#include "cp_etcd_harness.h"
#include "cmap.h"
#include "ctl_cluster.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define KEYS_MAX 1024

struct fnode {
	const char *id;
	int resp_lfd, http_lfd;
	unsigned resp_port, http_port;
	bool resp_down;			/* refuse RESP connections (a node unreachable) */
	int conn[4];
	char in[4][65536];
	size_t inlen[4];
	char keys[KEYS_MAX][32];	/* "s<slot>:<n>"; "" free */
	long long migrate_bytes;
	unsigned migrates, migrates_with_auth, max_keys_per_migrate;
	/* round trips: buffers received on RESP connections, commands, most in one buffer */
	unsigned recvs, cmds, max_cmds_per_recv, max_migrates_per_recv;
	int hide_slot;			/* GETKEYSINSLOT lists none of it hide_left more times */
	unsigned hide_left;
};

static struct fnode nodes[2] = { { .id = ID_A, .hide_slot = -1 },
				  { .id = ID_B, .hide_slot = -1 } };
static pthread_t fthread;
static volatile int fstop;
static pthread_mutex_t fmu = PTHREAD_MUTEX_INITIALIZER;

static int listen_on(unsigned *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)*port);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void out(int fd, const char *s)
{
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0)
		return;
}

static unsigned slot_of(const char *key)
{
	unsigned s = 0;

	sscanf(key, "s%u:", &s);
	return s;
}

static void add_key(struct fnode *n, const char *key)
{
	for (unsigned i = 0; i < KEYS_MAX; i++)
		if (!n->keys[i][0]) {
			snprintf(n->keys[i], sizeof(n->keys[i]), "%.31s", key);
			return;
		}
	fail_msg("fake node full");
}

static unsigned count_keys(const struct fnode *n, int slot)
{
	unsigned c = 0;

	for (unsigned i = 0; i < KEYS_MAX; i++)
		c += n->keys[i][0] && (slot < 0 || slot_of(n->keys[i]) == (unsigned)slot);
	return c;
}

/* One command (argv, NUL-terminated strings) on node n; the reply to fd. */
static void command(struct fnode *n, int fd, int argc, char **argv)
{
	char buf[4096];

	if (argc == 2 && strcasecmp(argv[0], "AUTH") == 0) {
		out(fd, strcmp(argv[1], "pw") == 0 ? "+OK\r\n" : "-WRONGPASS bad\r\n");
	} else if (argc == 4 && strcasecmp(argv[1], "GETKEYSINSLOT") == 0) {
		unsigned s = (unsigned)atoi(argv[2]), max = (unsigned)atoi(argv[3]), k = 0;
		size_t len = 0;
		char body[4000];

		if ((int)s == n->hide_slot && n->hide_left) {
			n->hide_left--;
			max = 0;
		}
		for (unsigned i = 0; i < KEYS_MAX && k < max; i++)
			if (n->keys[i][0] && slot_of(n->keys[i]) == s) {
				len += (size_t)snprintf(body + len, sizeof(body) - len, "$%zu\r\n%s\r\n",
							strlen(n->keys[i]), n->keys[i]);
				k++;
			}
		snprintf(buf, sizeof(buf), "*%u\r\n%.*s", k, (int)len, body);
		out(fd, buf);
	} else if (argc == 3 && strcasecmp(argv[1], "COUNTKEYSINSLOT") == 0) {
		snprintf(buf, sizeof(buf), ":%u\r\n", count_keys(n, atoi(argv[2])));
		out(fd, buf);
	} else if (argc >= 9 && strcasecmp(argv[0], "MIGRATE") == 0) {
		struct fnode *to = NULL;
		int k = 6;
		bool auth = false;

		for (int i = 0; i < 2; i++)
			if ((unsigned)atoi(argv[2]) == nodes[i].resp_port)
				to = &nodes[i];
		if (!to || to == n || strcmp(argv[1], "127.0.0.1") != 0 || argv[3][0] ||
		    strcmp(argv[4], "0") != 0) {
			out(fd, "-IOERR error or timeout connecting to the client\r\n");
			return;
		}
		if (strcasecmp(argv[k++], "REPLACE") != 0) {
			out(fd, "-ERR want REPLACE (the source's copy is the newest)\r\n");
			return;
		}
		if (strcasecmp(argv[k], "AUTH") == 0) {
			auth = strcmp(argv[k + 1], "pw") == 0;
			k += 2;
		}
		if (strcasecmp(argv[k++], "KEYS") != 0) {
			out(fd, "-ERR syntax error\r\n");
			return;
		}
		n->migrates++;
		n->migrates_with_auth += auth;
		if ((unsigned)(argc - k) > n->max_keys_per_migrate)
			n->max_keys_per_migrate = (unsigned)(argc - k);
		for (; k < argc; k++)
			for (unsigned i = 0; i < KEYS_MAX; i++)
				if (strcmp(n->keys[i], argv[k]) == 0) {
					add_key(to, argv[k]);
					n->keys[i][0] = 0;
					n->migrate_bytes += 100;
				}
		out(fd, "+OK\r\n");
	} else {
		out(fd, "-ERR unknown command\r\n");
	}
}

/* Run every complete RESP command in conn k's buffer (pipelined ones too). */
static void resp_input(struct fnode *n, int k)
{
	unsigned migrates0 = n->migrates;

	for (unsigned done = 0;; done++) {
		char *p = n->in[k], *end = p + n->inlen[k], *argv[1100], *nl;
		int argc, i;

		if (done > n->max_cmds_per_recv)
			n->max_cmds_per_recv = done;
		if (n->migrates - migrates0 > n->max_migrates_per_recv)
			n->max_migrates_per_recv = n->migrates - migrates0;
		if (p >= end || *p != '*' || !(nl = memchr(p, '\n', (size_t)(end - p))))
			return;
		argc = atoi(p + 1);
		p = nl + 1;
		for (i = 0; i < argc && i < 1100; i++) {
			size_t len;

			if (p >= end || *p != '$' || !(nl = memchr(p, '\n', (size_t)(end - p))))
				return;
			len = (size_t)atol(p + 1);
			p = nl + 1;
			if ((size_t)(end - p) < len + 2)
				return;
			argv[i] = p;
			p[len] = 0;
			p += len + 2;
		}
		n->cmds++;
		command(n, n->conn[k], argc, argv);
		n->inlen[k] = (size_t)(end - p);
		memmove(n->in[k], p, n->inlen[k]);
	}
}

static void http_serve(struct fnode *n, int fd)
{
	char req[2048], body[256], head[256];
	size_t len = 0;
	struct etcd e;
	struct etcd_range r;
	static struct cm_map m;
	char err[200];
	unsigned long long epoch = 0;

	while (len < sizeof(req) - 1 && !memmem(req, len, "\r\n\r\n", 4)) {
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t got;

		if (poll(&pf, 1, 2000) <= 0 || (got = recv(fd, req + len, sizeof(req) - 1 - len,
							    0)) <= 0)
			break;
		len += (size_t)got;
	}
	req[len] = 0;
	if (strncmp(req, "GET /metrics", 12) == 0) {
		snprintf(body, sizeof(body), "# TYPE x counter\nwirecache_migrate_bytes_total %lld\n",
			 n->migrate_bytes);
	} else {
		/* the dataplane runs what etcd has (as a control plane that pushed it) */
		etcd_init(&e, url, 1000);
		if (etcd_get(&e, "/wirecache/t2/map", false, &r) == 0) {
			if (r.n && cm_map_parse(r.kvs[0].value, r.kvs[0].vlen, &m, err,
						sizeof(err)) == 0)
				epoch = m.epoch;
			etcd_range_free(&r);
		}
		etcd_free(&e);
		snprintf(body, sizeof(body), "{\"id\":\"%s\",\"dataplane_epoch\":%llu}", n->id,
			 epoch);
	}
	snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %zu\r\n\r\n", strlen(body));
	out(fd, head);
	out(fd, body);
	close(fd);
}

static void *fake_main(void *arg)
{
	(void)arg;
	while (!fstop) {
		struct pollfd pf[12];
		int np = 0;

		for (int i = 0; i < 2; i++) {
			pf[np++] = (struct pollfd){ nodes[i].http_lfd, POLLIN, 0 };
			pf[np++] = (struct pollfd){ nodes[i].resp_lfd, POLLIN, 0 };
			for (int k = 0; k < 4; k++)
				pf[np++] = (struct pollfd){ nodes[i].conn[k], POLLIN, 0 };
		}
		if (poll(pf, (nfds_t)np, 20) <= 0)
			continue;
		pthread_mutex_lock(&fmu);
		for (int i = 0, j = 0; i < 2; i++, j += 6) {
			struct fnode *n = &nodes[i];

			if (pf[j].revents & POLLIN)
				http_serve(n, accept(n->http_lfd, NULL, NULL));
			if (pf[j + 1].revents & POLLIN) {
				int fd = accept(n->resp_lfd, NULL, NULL), k;

				for (k = 0; k < 4 && n->conn[k] >= 0; k++)
					;
				if (n->resp_down || k == 4)
					close(fd);
				else {
					/* as Redis: pipelined replies are not held back by Nagle */
					int one = 1;

					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					n->conn[k] = fd, n->inlen[k] = 0;
				}
			}
			for (int k = 0; k < 4; k++) {
				ssize_t got;

				if (n->conn[k] < 0 || !(pf[j + 2 + k].revents & (POLLIN | POLLHUP)))
					continue;
				got = recv(n->conn[k], n->in[k] + n->inlen[k],
					   sizeof(n->in[k]) - n->inlen[k], 0);
				if (got <= 0) {
					close(n->conn[k]);
					n->conn[k] = -1;
					continue;
				}
				n->inlen[k] += (size_t)got;
				n->recvs++;
				resp_input(n, k);
			}
		}
		pthread_mutex_unlock(&fmu);
	}
	return NULL;
}

/* ---- the test ---- */

static struct ctl_cc cc;

static int ctl(const char *args)
{
	char buf[512], *argv[32], *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", args);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 32; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	return ctl_reshard_main(&cc, strcmp(argv[0], "rebalance") == 0, argc - 1, argv + 1);
}

static void read_map(struct cm_map *m)
{
	int64_t rev;

	assert_int_equal(ctl_cc_read_map(&cc, m, &rev), 1);
}

static void put_map(void)
{
	static struct cm_map m;
	char *s;

	cm_map_init(&m);
	for (int i = 0; i < 2; i++) {
		struct cm_node x = { .port = nodes[i].resp_port, .cport = 16379, .mcport = 11211,
				     .config_epoch = 1 };

		snprintf(x.id, sizeof(x.id), "%s", nodes[i].id);
		snprintf(x.ip, sizeof(x.ip), "127.0.0.1");
		snprintf(x.http, sizeof(x.http), "127.0.0.1:%u", nodes[i].http_port);
		cm_map_add(&m, &x);
	}
	cm_split_even(&m);
	m.epoch = 1;
	s = cm_map_dumps(&m);
	assert_int_equal(etcd_put(&cc.etcd, "/wirecache/t2/map", s, strlen(s), 0), 0);
	free(s);
}

static void reshard(void **state)
{
	static struct cm_map m;
	char buf[160];

	(void)state;
	for (int i = 0; i < 2; i++) {
		nodes[i].resp_port = nodes[i].http_port = 0;
		nodes[i].resp_lfd = listen_on(&nodes[i].resp_port);
		nodes[i].http_lfd = listen_on(&nodes[i].http_port);
		for (int k = 0; k < 4; k++)
			nodes[i].conn[k] = -1;
	}
	/* node A: 3 keys in slot 0, 250 in slot 1, 1 in slot 5 */
	for (int i = 0; i < 3; i++)
		snprintf(buf, sizeof(buf), "s0:%d", i), add_key(&nodes[0], buf);
	for (int i = 0; i < 250; i++)
		snprintf(buf, sizeof(buf), "s1:%d", i), add_key(&nodes[0], buf);
	add_key(&nodes[0], "s5:0");
	assert_int_equal(pthread_create(&fthread, NULL, fake_main, NULL), 0);
	assert_int_equal(etcd_init(&cc.etcd, url, 2000), 0);
	snprintf(cc.prefix, sizeof(cc.prefix), "/wirecache/t2/");
	snprintf(cc.name, sizeof(cc.name), "t2");
	cc.timeout_ms = 2000;
	put_map();

	/* 4 slots A -> B in batches of 2: each batch 2 epochs; keys moved 100 at a time, with AUTH */
	assert_int_equal(ctl("reshard --from aaaa --to " ID_B " --slots 4 --batch 2 --auth pw "
			     "--pipeline 100"), 0);
	read_map(&m);
	assert_int_equal(m.epoch, 5);
	for (unsigned s = 0; s < 4; s++)
		assert_int_equal(m.slot[s], 1);
	assert_int_equal(m.slot[4], 0);
	assert_int_equal(cm_map_open(&m), 0);
	assert_int_equal(m.nodes[1].config_epoch, 5);
	pthread_mutex_lock(&fmu);
	assert_int_equal(count_keys(&nodes[0], 0), 0);
	assert_int_equal(count_keys(&nodes[0], 1), 0);
	assert_int_equal(count_keys(&nodes[1], 1), 250);
	assert_int_equal(count_keys(&nodes[1], 0), 3);
	assert_int_equal(nodes[0].migrates, 4);	/* slot 0: 1 call, slot 1: 100+100+50 */
	assert_int_equal(nodes[0].migrates_with_auth, 4);
	assert_int_equal(nodes[0].max_keys_per_migrate, 100);
	pthread_mutex_unlock(&fmu);

	/* the source cannot be reached: exit 1, the batch stays open, nothing flipped */
	pthread_mutex_lock(&fmu);
	nodes[0].resp_down = true;
	pthread_mutex_unlock(&fmu);
	assert_int_equal(ctl("reshard --from " ID_A " --to " ID_B " --slots 2"), 1);
	read_map(&m);
	assert_int_equal(m.epoch, 6);
	assert_int_equal(cm_map_open(&m), 2);
	assert_int_equal(m.slot[4], 0);
	assert_int_equal(m.mig_dst[4], 1);
	assert_int_equal(m.imp_src[5], 0);
	/* the nodes of an open move cannot leave the map */
	assert_int_equal(cm_map_remove(&m, ID_B), -1);

	/* back: the next reshard of the pair finishes the open batch first (all of it) */
	pthread_mutex_lock(&fmu);
	nodes[0].resp_down = false;
	pthread_mutex_unlock(&fmu);
	assert_int_equal(ctl("reshard --from " ID_A " --to " ID_B " --slots 1 --pipeline 7"), 0);
	read_map(&m);
	assert_int_equal(cm_map_open(&m), 0);
	assert_int_equal(m.slot[4], 1);
	assert_int_equal(m.slot[5], 1);
	assert_int_equal(m.slot[6], 0);
	assert_int_equal(count_keys(&nodes[1], 5), 1);
	assert_int_equal(cm_map_slots_of(&m, 0), 8192 - 6);

	/* rebalance: B gives 6 slots (and their keys) back */
	assert_int_equal(ctl("rebalance --batch 4"), 0);
	read_map(&m);
	assert_int_equal(cm_map_slots_of(&m, 0), 8192);
	assert_int_equal(cm_map_slots_of(&m, 1), 8192);
	assert_int_equal(cm_map_open(&m), 0);
	pthread_mutex_lock(&fmu);
	assert_int_equal(count_keys(&nodes[0], -1), 254);
	assert_int_equal(count_keys(&nodes[1], -1), 0);
	pthread_mutex_unlock(&fmu);
	/* balanced already: nothing to do, no new epoch */
	{
		uint64_t e = m.epoch;

		assert_int_equal(ctl("rebalance"), 0);
		read_map(&m);
		assert_int_equal(m.epoch, e);
		/* weight 0 empties B */
		assert_int_equal(ctl("rebalance --weight bbbb=0 --batch 4096"), 0);
		read_map(&m);
		assert_int_equal(cm_map_slots_of(&m, 0), 16384);
		assert_int_equal(m.epoch, e + 4);
	}
	/*
	 * a batch of mostly-empty slots takes few round trips: 256 slots, keys in
	 * 0, 1, 5 (3, 250, 1). Commands: AUTH; GETKEYSINSLOT 256 + 3 (up to 1000
	 * keys each by default: slot 1 lists its 250 at once, then none); MIGRATE
	 * 3, in one write; COUNTKEYSINSLOT 256. Writes: 1 + 4 + 1 + 1 + 1 (slot by
	 * slot, it was over 500)
	 */
	pthread_mutex_lock(&fmu);
	nodes[0].recvs = nodes[0].cmds = nodes[0].max_cmds_per_recv = nodes[0].migrates = 0;
	nodes[0].max_keys_per_migrate = nodes[0].max_migrates_per_recv = 0;
	pthread_mutex_unlock(&fmu);
	assert_int_equal(ctl("reshard --from aaaa --to bbbb --slots 256 --auth pw"), 0);
	read_map(&m);
	assert_int_equal(cm_map_open(&m), 0);
	assert_int_equal(cm_map_slots_of(&m, 1), 256);
	assert_int_equal(m.slot[255], 1);
	pthread_mutex_lock(&fmu);
	assert_int_equal(count_keys(&nodes[0], -1), 0);
	assert_int_equal(count_keys(&nodes[1], -1), 254);
	assert_int_equal(nodes[0].migrates, 3);
	assert_int_equal(nodes[0].max_keys_per_migrate, 250);
	assert_int_equal(nodes[0].max_migrates_per_recv, 3);
	assert_int_equal(nodes[0].cmds, 1 + 259 + 3 + 256);
	assert_in_range(nodes[0].recvs, 5, 24);
	assert_in_range(nodes[0].max_cmds_per_recv, 64, 256);
	pthread_mutex_unlock(&fmu);

	/* a slot that counts a key GETKEYSINSLOT does not list goes round again */
	pthread_mutex_lock(&fmu);
	add_key(&nodes[0], "s300:0");
	nodes[0].hide_slot = 300;
	nodes[0].hide_left = 2;
	pthread_mutex_unlock(&fmu);
	assert_int_equal(ctl("reshard --from aaaa --to bbbb --slots 64"), 0);
	read_map(&m);
	assert_int_equal(m.slot[300], 1);
	assert_int_equal(cm_map_open(&m), 0);
	pthread_mutex_lock(&fmu);
	assert_int_equal(nodes[0].hide_left, 0);
	assert_int_equal(count_keys(&nodes[1], 300), 1);
	/* ... not forever: 100 rounds, exit 1, the batch stays open */
	add_key(&nodes[0], "s320:0");
	nodes[0].hide_slot = 320;
	nodes[0].hide_left = 1000;
	pthread_mutex_unlock(&fmu);
	assert_int_equal(ctl("reshard --from aaaa --to bbbb --slots 3"), 1);
	read_map(&m);
	assert_int_equal(cm_map_open(&m), 3);
	assert_int_equal(m.slot[320], 0);
	pthread_mutex_lock(&fmu);
	assert_int_equal(nodes[0].hide_left, 1000 - 100);
	nodes[0].hide_left = 0;
	pthread_mutex_unlock(&fmu);
	assert_int_equal(ctl("reshard --from aaaa --to bbbb --slots 1"), 0);
	read_map(&m);
	assert_int_equal(cm_map_open(&m), 0);
	assert_int_equal(m.slot[320], 1);
	assert_int_equal(cm_map_slots_of(&m, 0), 16384 - 256 - 64 - 3);
	pthread_mutex_lock(&fmu);
	assert_int_equal(count_keys(&nodes[1], 320), 1);
	pthread_mutex_unlock(&fmu);

	/* bad usage */
	assert_int_equal(ctl("reshard --from " ID_A " --to " ID_A " --slots 1"), 1);
	assert_int_equal(ctl("reshard --from " ID_A " --to " ID_B), 2);
	assert_int_equal(ctl("reshard --from cccc --to " ID_B " --slots 1"), 1);

	/* etcd unreachable: exit 1, nothing changed */
	etcd_kill();
	assert_int_equal(ctl("reshard --from " ID_A " --to " ID_B " --slots 1"), 1);
	assert_int_equal(etcd_spawn(), 0);
	read_map(&m);
	assert_int_equal(cm_map_slots_of(&m, 0), 16384 - 256 - 64 - 3);

	fstop = 1;
	pthread_join(fthread, NULL);
	for (int i = 0; i < 2; i++) {
		close(nodes[i].resp_lfd);
		close(nodes[i].http_lfd);
		for (int k = 0; k < 4; k++)
			if (nodes[i].conn[k] >= 0)
				close(nodes[i].conn[k]);
	}
	etcd_free(&cc.etcd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reshard),
	};

	return cmocka_run_group_tests(tests, start_etcd, stop_etcd);
}
