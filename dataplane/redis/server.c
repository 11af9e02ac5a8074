/*
 * server.c - the node-wide Redis state (see server.h): identity, settings,
 * client ids, the slow log, and the cluster map it publishes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <urcu-qsbr.h>

#include "redis/acl.h"
#include "redis/server.h"

#define REDIS_COMPAT_VERSION "7.0.15"

/* 40 hex characters from the kernel's random bytes. */
static void random_hex40(char *out)
{
	uint8_t b[20];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, b, sizeof(b)) : -1;

	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof(b)) {
		uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

		for (unsigned i = 0; i < sizeof(b); i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			b[i] = (uint8_t)(x >> 56);
		}
	}
	for (unsigned i = 0; i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[40] = 0;
}

static bool is_hex40(const char *s)
{
	if (strlen(s) != 40)
		return false;
	for (unsigned i = 0; i < 40; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* mkdir -p dir (0755). */
static int make_dirs(const char *dir)
{
	char path[512];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -1;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Write id to dir/node-id so that a crash leaves the old file or the new one, never half. */
static int write_id(const char *dir, const char *id)
{
	char path[600], tmp[610], line[42];
	int fd, dfd;
	bool ok;

	snprintf(path, sizeof(path), "%s/node-id", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(line, sizeof(line), "%s\n", id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ok = write(fd, line, 41) == 41 && fsync(fd) == 0;
	if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		errno = e;
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int rd_node_id_load(const char *state_dir, char id[41], char *err, size_t errcap)
{
	char path[600], buf[64] = "";
	ssize_t got;
	int fd;

	if (!state_dir || !*state_dir) {
		random_hex40(id);
		snprintf(err, errcap, "no state directory: the node id lasts until the restart");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/node-id", state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		got = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[got > 0 ? got : 0] = 0;
		buf[strcspn(buf, "\r\n")] = 0;
		if (is_hex40(buf)) {
			memcpy(id, buf, 41);
			return 0;
		}
		random_hex40(id);
		snprintf(err, errcap, "%s does not hold a node id (40 lower-case hex characters); "
			 "remove it to make a new one", path);
		return -1;
	}
	random_hex40(id);
	if (errno != ENOENT && errno != ENOTDIR) {
		snprintf(err, errcap, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (make_dirs(state_dir) != 0 || write_id(state_dir, id) != 0) {
		snprintf(err, errcap, "cannot keep the node id in %s: %s", path, strerror(errno));
		return -1;
	}
	return 1;
}

int rd_server_init(struct rd_server *srv, const char *state_dir, uint16_t port, bool cluster,
		   const char *announce_ip, uint16_t announce_port, uint64_t maxmemory,
		   uint64_t max_bulk, const char *requirepass, const char *aclfile,
		   const char *wc_version)
{
	char err[700];

	memset(srv, 0, sizeof(*srv));
	snprintf(srv->version, sizeof(srv->version), "%s", REDIS_COMPAT_VERSION);
	snprintf(srv->wc_version, sizeof(srv->wc_version), "%s", wc_version);
	if (rd_node_id_load(state_dir, srv->node_id, err, sizeof(err)) < 0) {
		/* a cluster node must keep its identity; alone it only names itself */
		fprintf(stderr, "wirecache-dp: %s\n", err);
		if (cluster)
			return -1;
	}
	random_hex40(srv->run_id);
	srv->started = time(NULL);
	srv->lastsave = srv->started;
	srv->port = port;
	srv->cluster = cluster;
	snprintf(srv->announce_ip, sizeof(srv->announce_ip), "%s", announce_ip ? announce_ip : "");
	srv->announce_port = announce_port ? announce_port : port;
	srv->cport = (uint32_t)port + RD_CLUSTER_PORT_INCR;
	if (cluster) {
		struct rd_cluster_map *m;

		if (port > 65535 - RD_CLUSTER_PORT_INCR) {
			fprintf(stderr, "wirecache-dp: --redis-port %u is too high for --cluster: the "
				"cluster bus port is %u higher\n", port, RD_CLUSTER_PORT_INCR);
			return -1;
		}
		if (!srv->announce_ip[0]) {
			fprintf(stderr, "wirecache-dp: --cluster needs an address to announce "
				"(--cluster-announce-ip)\n");
			return -1;
		}
		m = rd_cluster_map_single(srv->node_id, srv->announce_ip, srv->announce_port,
					  srv->cport, srv->config_epoch);
		if (!m)
			return -1;
		rd_cluster_map_publish(srv, m);
	}
	srv->maxmemory = maxmemory;
	srv->proto_max_bulk_len = max_bulk;
	srv->slowlog_slower_than = 10000;
	srv->slowlog_max_len = 128;
	srv->maxclients = 10000;
	srv->acllog_max_len = 128;
	srv->next_client_id = 1;
	rte_spinlock_init(&srv->admin_lock);
	srv->slowlog = rte_zmalloc("rd_slowlog", RD_SLOWLOG_MAX * sizeof(*srv->slowlog), 0);
	if (!srv->slowlog)
		srv->slowlog = calloc(RD_SLOWLOG_MAX, sizeof(*srv->slowlog));
	if (!srv->slowlog)
		return -1;
	if (rd_acl_init(srv, requirepass, aclfile) != 0) {
		rte_free(srv->slowlog);
		srv->slowlog = NULL;
		return -1;
	}
	return 0;
}

void rd_server_fini(struct rd_server *srv)
{
	rd_cluster_map_free(rd_cluster_map_publish(srv, NULL));
	rd_acl_fini(srv);
	rte_free(srv->slowlog);
	srv->slowlog = NULL;
}

struct rd_cluster_map *rd_cluster_map_publish(struct rd_server *srv, struct rd_cluster_map *m)
{
	return rcu_xchg_pointer(&srv->cmap, m);
}

uint64_t rd_server_next_client_id(struct rd_server *srv)
{
	return __atomic_fetch_add(&srv->next_client_id, 1, __ATOMIC_RELAXED);
}

void rd_slowlog_note(struct rd_server *srv, const struct rd_session *s, uint64_t usec)
{
	int64_t thr = __atomic_load_n(&srv->slowlog_slower_than, __ATOMIC_RELAXED);
	struct rd_slowlog_entry *e;
	uint32_t argc = rd_argc(s);

	if (thr < 0 || usec < (uint64_t)thr || !srv->slowlog)
		return;
	rte_spinlock_lock(&srv->admin_lock);
	if (srv->slowlog_max_len == 0) {
		rte_spinlock_unlock(&srv->admin_lock);
		return;
	}
	e = &srv->slowlog[srv->slowlog_head];
	srv->slowlog_head = (srv->slowlog_head + 1) % RD_SLOWLOG_MAX;
	if (srv->slowlog_len < RD_SLOWLOG_MAX)
		srv->slowlog_len++;
	memset(e, 0, sizeof(*e));
	e->id = srv->slowlog_next_id++;
	e->time = time(NULL);
	e->usec = usec;
	e->argc = argc;
	e->nargs = (uint8_t)(argc < RD_SLOWLOG_ARGS ? argc : RD_SLOWLOG_ARGS);
	for (unsigned i = 0; i < e->nargs; i++) {
		const struct resp_arg *a = rd_arg(s, i);
		uint32_t n = a->len;

		if (i == RD_SLOWLOG_ARGS - 1 && argc > RD_SLOWLOG_ARGS) {
			snprintf(e->args[i], sizeof(e->args[i]), "... (%u more arguments)",
				 argc - RD_SLOWLOG_ARGS + 1);
			break;
		}
		if (a->kind != RESP_ARG_PTR) {
			snprintf(e->args[i], sizeof(e->args[i]), "(%u bytes)", n);
			continue;
		}
		if (n > 128) {
			snprintf(e->args[i], sizeof(e->args[i]), "%.*s... (%u more bytes)", 100,
				 (const char *)a->u.p, n - 100);
		} else {
			memcpy(e->args[i], a->u.p, n < sizeof(e->args[i]) - 1 ? n : sizeof(e->args[i]) - 1);
		}
	}
	snprintf(e->name, sizeof(e->name), "%s", s->name);
	rte_spinlock_unlock(&srv->admin_lock);
}
