/*
 * server.c - the node-wide Redis state (see server.h): identity, settings,
 * client ids, the slow log, the cluster map it publishes, and the Redis
 * counters summed over lcores (with CONFIG RESETSTAT's baselines and the
 * instantaneous-rate sampler).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <urcu-qsbr.h>

#include "core/app.h"
#include "redis/acl.h"
#include "redis/cluster_map.h"
#include "redis/server.h"
#include "redis/tracking.h"
#include "store/container.h"

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
		if (rd_cluster_is_node_id(buf)) {
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
	unsigned ncmds = rd_cmd_count() ? rd_cmd_count() : 1;
	char err[700];

	memset(srv, 0, sizeof(*srv));
	rd_creq_init(&srv->creq);
	snprintf(srv->version, sizeof(srv->version), "%s", REDIS_COMPAT_VERSION);
	snprintf(srv->wc_version, sizeof(srv->wc_version), "%s", wc_version);
	if (rd_node_id_load(state_dir, srv->node_id, err, sizeof(err)) < 0) {
		/* a cluster node must keep its identity; alone it only names itself */
		fprintf(stderr, "wirecache-dp: %s\n", err);
		if (cluster)
			return -1;
	}
	random_hex40(srv->run_id);
	random_hex40(srv->replid);
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
	srv->max_bulk_cap = max_bulk;
	snprintf(srv->policy, sizeof(srv->policy), "allkeys-s3fifo");
	srv->maxclients_cap = 1;
	rd_slowlog_threshold_set(srv, 10000);
	srv->slowlog_max_len = 128;
	srv->acllog_max_len = 128;
	rd_push_srv_init(&srv->push);
	srv->zset_lp_entries = 128;	/* Redis 7.0's defaults */
	srv->zset_lp_value = 64;
	srv->list_lp_size = -2;
	srv->list_compress_depth = 0;
	{
		/* the store's hash/set thresholds start at their defaults (container.h) */
		struct wc_climits lim = { .hash_entries = WC_C_COMPACT_MAX, .hash_value = 64,
					  .set_int_entries = 512 };

		wc_c_set_limits(&lim);
	}
	snprintf(srv->requirepass, sizeof(srv->requirepass), "%s", requirepass ? requirepass : "");
	srv->next_client_id = 1;
	rte_spinlock_init(&srv->admin_lock);
	srv->slowlog = rte_zmalloc("rd_slowlog", RD_SLOWLOG_MAX * sizeof(*srv->slowlog), 0);
	srv->cmd_base = rte_zmalloc("rd_cmd_base", 4 * ncmds * sizeof(uint64_t), 0);
	if (!srv->slowlog || !srv->cmd_base) {
		rte_free(srv->slowlog);
		rte_free(srv->cmd_base);
		return -1;
	}
	rd_keyev_setup();
	rd_tracking_server_init(&srv->trk);
	if (rd_acl_init(srv, requirepass, aclfile) != 0) {
		rte_free(srv->slowlog);
		rte_free(srv->cmd_base);
		srv->slowlog = NULL;
		srv->cmd_base = NULL;
		return -1;
	}
	return 0;
}

void rd_server_fini(struct rd_server *srv)
{
	rd_cluster_map_free(rd_cluster_map_publish(srv, NULL));
	rd_acl_fini(srv);
	rte_free(srv->slowlog);
	rte_free(srv->cmd_base);
	srv->slowlog = NULL;
	srv->cmd_base = NULL;
}

void rd_server_set_limits(struct rd_server *srv, unsigned max_conns, uint8_t small_pct)
{
	srv->maxclients_cap = max_conns;
	/* the store's eviction (store/evict.c): S3-FIFO, or CLOCK alone without a small queue */
	snprintf(srv->policy, sizeof(srv->policy), "%s",
		 small_pct ? "allkeys-s3fifo" : "allkeys-clock");
}

struct rd_cluster_map *rd_cluster_map_publish(struct rd_server *srv, struct rd_cluster_map *m)
{
	const struct rd_cluster_map *old = srv->cmap;

	/* the offsets nodes told (cluster/link_state.c) carry over to the new map */
	for (uint16_t n = 0; old && m && n < m->nnodes; n++)
		for (uint16_t k = 0; k < old->nnodes; k++)
			if (strcmp(m->node[n].id, old->node[k].id) == 0) {
				m->node[n].repl_offset = __atomic_load_n(&old->node[k].repl_offset,
									 __ATOMIC_RELAXED);
				break;
			}
	return rcu_xchg_pointer(&srv->cmap, m);
}

uint64_t rd_server_next_client_id(struct rd_server *srv)
{
	return __atomic_fetch_add(&srv->next_client_id, 1, __ATOMIC_RELAXED);
}

void rd_peer_str(char *buf, size_t cap, uint32_t ip, uint16_t port)
{
	snprintf(buf, cap, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
		 port);
}

/* ---- counters summed over lcores ---- */

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void rd_server_totals(const struct wc_app *app, struct rd_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct rd_lcore_stats *st = &app->lc[i]->rdst;

		t->commands += ld(&st->commands);
		t->rejected += ld(&st->rejected);
		t->failed += ld(&st->failed);
		t->net_in += ld(&st->net_in);
		t->net_out += ld(&st->net_out);
		t->connections += ld(&st->connections);
		t->unknown += ld(&st->unknown);
		t->open += ld(&st->open);
		t->obuf_disconnections += ld(&st->obuf_disconnections);
		for (unsigned e = 0; e < RD_ERRSTAT_N; e++)
			t->errstat[e] += ld(&st->errstat[e]);
	}
}

/* One command's counters summed over lcores, time in cycles (no baseline). */
static void cmd_raw(const struct wc_app *app, unsigned id, uint64_t out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0;
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct rd_lcore_stats *st = &app->lc[i]->rdst;

		if (!st->calls)
			continue;
		out[0] += ld(&st->calls[id]);
		out[1] += ld(&st->cycles[id]);
		out[2] += ld(&st->cmd_rejected[id]);
		out[3] += ld(&st->cmd_failed[id]);
	}
}

void rd_server_cmd_stats(const struct wc_app *app, const struct rd_server *srv, unsigned id,
			 uint64_t out[4])
{
	uint64_t hz = rte_get_tsc_hz();

	cmd_raw(app, id, out);
	for (unsigned k = 0; k < 4 && srv->cmd_base; k++) {
		uint64_t b = ld(&srv->cmd_base[4 * id + k]);

		out[k] = out[k] > b ? out[k] - b : 0;
	}
	/* cycles to microseconds here, not per command */
	out[1] = hz ? (uint64_t)((double)out[1] * 1e6 / (double)hz) : 0;
}

void rd_server_cmd_stats_reset(const struct wc_app *app, struct rd_server *srv)
{
	unsigned n = rd_cmd_count();

	for (unsigned id = 0; id < n && srv->cmd_base; id++) {
		uint64_t v[4];

		cmd_raw(app, id, v);
		for (unsigned k = 0; k < 4; k++)
			__atomic_store_n(&srv->cmd_base[4 * id + k], v[k], __ATOMIC_RELAXED);
	}
}

/* ---- memory ---- */

uint64_t rd_used_memory(const struct wc_app *app, uint64_t *index, uint64_t *items)
{
	uint64_t ix = 0, it = 0;

	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_part_stats ps;

		wc_part_get_stats(app->parts[i], &ps);
		ix += ps.index_bytes;
		it += ps.bytes;
	}
	if (index)
		*index = ix;
	if (items)
		*items = it;
	return ix + it;
}

uint64_t rd_note_peak(struct rd_server *srv, uint64_t used)
{
	uint64_t peak = __atomic_load_n(&srv->peak_memory, __ATOMIC_RELAXED);

	while (used > peak &&
	       !__atomic_compare_exchange_n(&srv->peak_memory, &peak, used, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	return used > peak ? used : peak;
}

/* ---- instantaneous rates ---- */

void rd_lcore_sample(struct wc_lcore *lc, int64_t now_ms)
{
	struct rd_lcore_stats *st = &lc->rdst;
	struct rd_inst *in = &st->inst;
	uint64_t cur[RD_INST_N] = { st->commands, st->net_in, st->net_out };
	int64_t dt = now_ms - in->last_ms;

	if (dt < RD_INST_PERIOD_MS)
		return;
	if (in->last_ms) {
		uint32_t k = in->idx;

		for (unsigned m = 0; m < RD_INST_N; m++)
			__atomic_store_n(&in->rate[m][k], (cur[m] - in->last[m]) * 1000 / (uint64_t)dt,
					 __ATOMIC_RELAXED);
		in->idx = (k + 1) % RD_INST_SAMPLES;
	}
	in->last_ms = now_ms;
	memcpy(in->last, cur, sizeof(cur));
	/* the first lcore also keeps used_memory_peak (as Redis's cron does) */
	if (lc->id == 0 && lc->app->rd)
		rd_note_peak(lc->app->rd, rd_used_memory(lc->app, NULL, NULL));
}

uint64_t rd_inst_rate(const struct wc_app *app, unsigned which)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < app->nworkers && which < RD_INST_N; i++) {
		const struct rd_inst *in = &app->lc[i]->rdst.inst;
		uint64_t s = 0;

		for (unsigned k = 0; k < RD_INST_SAMPLES; k++)
			s += ld(&in->rate[which][k]);
		sum += s / RD_INST_SAMPLES;
	}
	return sum;
}

/* ---- the slow log ---- */

uint64_t rd_slowlog_cycles = UINT64_MAX;

void rd_slowlog_threshold_set(struct rd_server *srv, int64_t usec)
{
	uint64_t per_us = rte_get_tsc_hz() / 1000000;

	__atomic_store_n(&srv->slowlog_slower_than, usec, __ATOMIC_RELAXED);
	__atomic_store_n(&rd_slowlog_cycles,
			 usec < 0 ? UINT64_MAX :
			 per_us && (uint64_t)usec > UINT64_MAX / per_us ? UINT64_MAX :
			 (uint64_t)usec * per_us, __ATOMIC_RELAXED);
}

/*
 * The next entry of the ring, filled but for its arguments, with the slow
 * log's lock held (slowlog_end drops it); NULL when the log keeps nothing.
 */
static struct rd_slowlog_entry *slowlog_begin(struct rd_server *srv, const struct rd_session *s,
					      uint64_t cycles, uint32_t argc)
{
	uint64_t hz = rte_get_tsc_hz();
	struct rd_slowlog_entry *e;

	if (!srv->slowlog)
		return NULL;
	rte_spinlock_lock(&srv->admin_lock);
	if (srv->slowlog_max_len == 0) {
		rte_spinlock_unlock(&srv->admin_lock);
		return NULL;
	}
	e = &srv->slowlog[srv->slowlog_head];
	srv->slowlog_head = (srv->slowlog_head + 1) % RD_SLOWLOG_MAX;
	if (srv->slowlog_len < srv->slowlog_max_len)
		srv->slowlog_len++;
	else
		srv->slowlog_len = srv->slowlog_max_len;	/* (the limit may have come down) */
	e->id = srv->slowlog_next_id++;
	e->time = time(NULL);
	e->usec = hz ? cycles * 1000000 / hz : 0;
	e->nargs = (uint8_t)(argc < RD_SLOWLOG_ARGS ? argc : RD_SLOWLOG_ARGS);
	rd_peer_str(e->peer, sizeof(e->peer), s->raddr, s->rport);
	snprintf(e->name, sizeof(e->name), "%s", s->name);
	return e;
}

/*
 * Argument i (n bytes: flat, else the session's argument i) as Redis keeps
 * it; false after the last slot, which says how many were left out.
 */
static bool slowlog_arg(struct rd_slowlog_entry *e, const struct rd_session *s, uint32_t argc,
			uint32_t i, const uint8_t *flat, uint32_t n)
{
	uint32_t keep = n > RD_SLOWLOG_ARG_BYTES ? RD_SLOWLOG_ARG_BYTES : n;
	int k = 0;

	if (i == RD_SLOWLOG_ARGS - 1 && argc > RD_SLOWLOG_ARGS) {
		/* the last slot says how many were left out, itself included */
		k = snprintf(e->args[i], RD_SLOWLOG_ARG_MAX, "... (%u more arguments)",
			     argc - RD_SLOWLOG_ARGS + 1);
		e->arglen[i] = (uint8_t)k;
		return false;
	}
	if (i < 32 && (s->redact & (1u << i))) {
		/* a password (CONFIG SET requirepass ...): Redis's placeholder */
		memcpy(e->args[i], "(redacted)", 10);
		e->arglen[i] = 10;
		return true;
	}
	if (flat)
		memcpy(e->args[i], flat, keep);
	else
		rd_arg_read(s, i, 0, e->args[i], keep);
	if (n > keep)
		k = snprintf(e->args[i] + keep, RD_SLOWLOG_ARG_MAX - keep, "... (%u more bytes)",
			     n - keep);
	e->arglen[i] = (uint8_t)(keep + (uint32_t)k);
	return true;
}

void rd_slowlog_note(struct rd_server *srv, const struct rd_session *s, uint64_t cycles)
{
	uint32_t argc = rd_argc(s);
	struct rd_slowlog_entry *e = slowlog_begin(srv, s, cycles, argc);

	if (!e)
		return;
	for (uint32_t i = 0; i < e->nargs; i++)
		if (!slowlog_arg(e, s, argc, i, NULL, rd_arg(s, i)->len))
			break;
	rte_spinlock_unlock(&srv->admin_lock);
}

void rd_slowlog_note_flat(struct rd_server *srv, const struct rd_session *s, uint64_t cycles,
			  uint32_t argc, const uint8_t *const *argv, const uint32_t *lens)
{
	struct rd_slowlog_entry *e = slowlog_begin(srv, s, cycles, argc);

	if (!e)
		return;
	for (uint32_t i = 0; i < e->nargs; i++)
		if (!slowlog_arg(e, s, argc, i, argv[i], lens[i]))
			break;
	rte_spinlock_unlock(&srv->admin_lock);
}
