/*
 * server.c - the node-wide Redis state (see server.h): identity, settings,
 * client ids, the slow log, and the Redis counters summed over lcores
 * (with CONFIG RESETSTAT's baselines and the instantaneous-rate sampler).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_malloc.h>

#include "core/app.h"
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

/* The node id: read from state_dir/node-id, or made and kept there. */
static void node_id(struct rd_server *srv, const char *state_dir)
{
	char path[512], buf[64] = "";
	FILE *f;

	if (!state_dir || !*state_dir) {
		random_hex40(srv->node_id);
		return;
	}
	snprintf(path, sizeof(path), "%s/node-id", state_dir);
	f = fopen(path, "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			buf[strcspn(buf, "\r\n")] = 0;
		fclose(f);
		if (is_hex40(buf)) {
			memcpy(srv->node_id, buf, 41);
			return;
		}
	}
	random_hex40(srv->node_id);
	mkdir(state_dir, 0755);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s\n", srv->node_id);
		fclose(f);
	}
}

int rd_server_init(struct rd_server *srv, const char *state_dir, uint16_t port, bool cluster,
		   const char *announce_ip, uint16_t announce_port, uint64_t maxmemory,
		   uint64_t max_bulk, const char *requirepass, const char *wc_version)
{
	unsigned ncmds = rd_cmd_count() ? rd_cmd_count() : 1;

	memset(srv, 0, sizeof(*srv));
	snprintf(srv->version, sizeof(srv->version), "%s", REDIS_COMPAT_VERSION);
	snprintf(srv->wc_version, sizeof(srv->wc_version), "%s", wc_version);
	node_id(srv, state_dir);
	random_hex40(srv->run_id);
	random_hex40(srv->replid);
	srv->started = time(NULL);
	srv->lastsave = srv->started;
	srv->port = port;
	srv->cluster = cluster;
	snprintf(srv->announce_ip, sizeof(srv->announce_ip), "%s", announce_ip ? announce_ip : "");
	srv->announce_port = announce_port ? announce_port : port;
	srv->maxmemory = maxmemory;
	srv->proto_max_bulk_len = max_bulk;
	srv->max_bulk_cap = max_bulk;
	snprintf(srv->policy, sizeof(srv->policy), "allkeys-s3fifo");
	srv->maxclients_cap = 1;
	srv->slowlog_slower_than = 10000;
	srv->slowlog_max_len = 128;
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
	return rd_acl_init(srv, requirepass);
}

void rd_server_fini(struct rd_server *srv)
{
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
	}
}

void rd_server_cmd_stats(const struct wc_app *app, const struct rd_server *srv, unsigned id,
			 uint64_t out[4])
{
	out[0] = out[1] = out[2] = out[3] = 0;
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct rd_lcore_stats *st = &app->lc[i]->rdst;

		if (!st->calls)
			continue;
		out[0] += ld(&st->calls[id]);
		out[1] += ld(&st->usec[id]);
		out[2] += ld(&st->cmd_rejected[id]);
		out[3] += ld(&st->cmd_failed[id]);
	}
	for (unsigned k = 0; k < 4 && srv->cmd_base; k++) {
		uint64_t b = ld(&srv->cmd_base[4 * id + k]);

		out[k] = out[k] > b ? out[k] - b : 0;
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
	if (srv->slowlog_len < srv->slowlog_max_len)
		srv->slowlog_len++;
	else
		srv->slowlog_len = srv->slowlog_max_len;	/* (the limit may have come down) */
	e->id = srv->slowlog_next_id++;
	e->time = time(NULL);
	e->usec = usec;
	e->nargs = (uint8_t)(argc < RD_SLOWLOG_ARGS ? argc : RD_SLOWLOG_ARGS);
	for (unsigned i = 0; i < e->nargs; i++) {
		const struct resp_arg *a = rd_arg(s, i);
		uint32_t n = a->len;
		int k;

		if (i == RD_SLOWLOG_ARGS - 1 && argc > RD_SLOWLOG_ARGS) {
			/* the last slot says how many were left out, itself included */
			k = snprintf(e->args[i], RD_SLOWLOG_ARG_MAX, "... (%u more arguments)",
				     argc - RD_SLOWLOG_ARGS + 1);
			e->arglen[i] = (uint8_t)k;
			break;
		}
		if (i < 32 && (s->redact & (1u << i))) {
			/* a password (CONFIG SET requirepass ...): Redis's placeholder */
			memcpy(e->args[i], "(redacted)", 10);
			e->arglen[i] = 10;
		} else if (n > RD_SLOWLOG_ARG_BYTES) {
			rd_arg_read(s, i, 0, e->args[i], RD_SLOWLOG_ARG_BYTES);
			k = snprintf(e->args[i] + RD_SLOWLOG_ARG_BYTES,
				     RD_SLOWLOG_ARG_MAX - RD_SLOWLOG_ARG_BYTES, "... (%u more bytes)",
				     n - RD_SLOWLOG_ARG_BYTES);
			e->arglen[i] = (uint8_t)(RD_SLOWLOG_ARG_BYTES + k);
		} else {
			rd_arg_read(s, i, 0, e->args[i], n);
			e->arglen[i] = (uint8_t)n;
		}
	}
	rd_peer_str(e->peer, sizeof(e->peer), s->peer_ip, s->peer_port);
	snprintf(e->name, sizeof(e->name), "%s", s->name);
	rte_spinlock_unlock(&srv->admin_lock);
}
