/*
 * info.c - INFO [section ...]: Redis 7.0's sections and field names, with
 * what each number means here (see info.h for where they come from).
 *
 * Fields that describe machinery wirecache does not have (forks, AOF,
 * replication links, pub/sub) are reported with the values such a server
 * has (0, "ok", -1), as Redis reports them when the feature is idle, so
 * clients that read them (ioredis waits for loading:0) work. Fields about
 * Redis's own internals (hz, lru_clock, allocator fragmentation, expire
 * cycle timings, I/O threads' counters) are left out rather than invented.
 * errorstats counts error replies by their first word (errstat.h): the
 * session's (rd_err), the ones a key's owner answers (call.c reads them
 * back), the fast paths' and the writes refused for memory. Not yet:
 * latencystats (no per-command latency histograms are kept).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cluster/link.h"
#include "core/app.h"
#include "core/stats.h"
#include "net/tcp.h"
#include "redis/cmds.h"
#include "redis/info.h"
#include "redis/migrate_conn.h"
#include "redis/rdbload.h"
#include "redis/tracking.h"
#include "store/repl.h"

/* ---- which sections ---- */

static const struct {
	const char *name;
	uint32_t bits;
} section_names[] = {
	{ "server", RD_INFO_SERVER }, { "clients", RD_INFO_CLIENTS },
	{ "memory", RD_INFO_MEMORY }, { "persistence", RD_INFO_PERSISTENCE },
	{ "stats", RD_INFO_STATS }, { "replication", RD_INFO_REPLICATION },
	{ "cpu", RD_INFO_CPU }, { "modules", RD_INFO_MODULES },
	{ "module_list", RD_INFO_MODULES }, { "commandstats", RD_INFO_COMMANDSTATS },
	{ "errorstats", RD_INFO_ERRORSTATS },
	{ "cluster", RD_INFO_CLUSTER }, { "keyspace", RD_INFO_KEYSPACE },
	{ "default", RD_INFO_DEFAULT }, { "all", RD_INFO_ALL }, { "everything", RD_INFO_ALL },
};

uint32_t rd_info_section(const struct resp_arg *a)
{
	for (unsigned k = 0; k < sizeof(section_names) / sizeof(section_names[0]); k++)
		if (resp_arg_is(a, section_names[k].name))
			return section_names[k].bits;
	return 0;
}

/* ---- the text ---- */

static void kv_u(struct rd_text *t, const char *k, uint64_t v)
{
	rd_text_printf(t, "%s:%lu\r\n", k, (unsigned long)v);
}

static void kv_i(struct rd_text *t, const char *k, int64_t v)
{
	rd_text_printf(t, "%s:%ld\r\n", k, (long)v);
}

static void kv_s(struct rd_text *t, const char *k, const char *v)
{
	rd_text_printf(t, "%s:%s\r\n", k, v);
}

static void kv_human(struct rd_text *t, const char *k, uint64_t v)
{
	char buf[32];

	rd_bytes_human(buf, sizeof(buf), v);
	kv_s(t, k, buf);
}

static void kv_cpu(struct rd_text *t, const char *k, int64_t usec)
{
	rd_text_printf(t, "%s:%ld.%06ld\r\n", k, (long)(usec / 1000000), (long)(usec % 1000000));
}

static void kv_zero(struct rd_text *t, const char *const *keys)
{
	for (; *keys; keys++)
		kv_u(t, *keys, 0);
}

/* A section header, after a blank line unless it is the first. */
static void header(struct rd_text *t, unsigned *n, const char *title)
{
	if ((*n)++)
		rd_text_put(t, "\r\n", 2);
	rd_text_printf(t, "# %s\r\n", title);
}

static void server(struct rd_text *t, const struct rd_info *in)
{
	int64_t up = in->now_us / 1000000 - in->started;

	if (up < 0)
		up = 0;
	kv_s(t, "redis_version", in->version);
	kv_s(t, "wirecache_version", in->wc_version);
	kv_s(t, "redis_git_sha1", "00000000");
	kv_u(t, "redis_git_dirty", 0);
	kv_s(t, "redis_mode", in->cluster ? "cluster" : "standalone");
	kv_s(t, "os", in->os);
	kv_u(t, "arch_bits", sizeof(void *) * 8);
	kv_s(t, "multiplexing_api", "dpdk");
	kv_s(t, "atomicvar_api", "c11-builtin");
#ifdef __GNUC__
	rd_text_printf(t, "gcc_version:%d.%d.%d\r\n", __GNUC__, __GNUC_MINOR__,
		       __GNUC_PATCHLEVEL__);
#endif
	kv_i(t, "process_id", in->pid);
	kv_s(t, "process_supervised", "no");
	kv_s(t, "run_id", in->run_id);
	kv_u(t, "tcp_port", in->port);
	kv_i(t, "server_time_usec", in->now_us);
	kv_i(t, "uptime_in_seconds", up);
	kv_i(t, "uptime_in_days", up / 86400);
	kv_s(t, "executable", in->executable ? in->executable : "");
	kv_s(t, "config_file", in->config_file ? in->config_file : "");
	kv_u(t, "io_threads_active", 0);
}

static void clients(struct rd_text *t, const struct rd_info *in)
{
	kv_u(t, "connected_clients", in->clients);
	kv_u(t, "cluster_connections", 0);
	kv_u(t, "maxclients", in->maxclients);
	kv_u(t, "blocked_clients", 0);
	kv_u(t, "tracking_clients", in->trk_clients);
	kv_u(t, "clients_in_timeout_table", 0);
}

static void memory(struct rd_text *t, const struct rd_info *in)
{
	uint64_t peak = in->peak > in->used ? in->peak : in->used;

	kv_u(t, "used_memory", in->used);
	kv_human(t, "used_memory_human", in->used);
	kv_u(t, "used_memory_rss", in->rss);
	kv_human(t, "used_memory_rss_human", in->rss);
	kv_u(t, "used_memory_peak", peak);
	kv_human(t, "used_memory_peak_human", peak);
	rd_text_printf(t, "used_memory_peak_perc:%.2f%%\r\n",
		       peak ? (double)in->used * 100 / (double)peak : 100.0);
	kv_u(t, "used_memory_overhead", in->index);
	kv_u(t, "used_memory_startup", in->index);
	kv_u(t, "used_memory_dataset", in->dataset);
	rd_text_printf(t, "used_memory_dataset_perc:%.2f%%\r\n",
		       in->used ? (double)in->dataset * 100 / (double)in->used : 0.0);
	kv_u(t, "total_system_memory", in->system);
	kv_human(t, "total_system_memory_human", in->system);
	kv_u(t, "maxmemory", in->maxmemory);
	kv_human(t, "maxmemory_human", in->maxmemory);
	kv_s(t, "maxmemory_policy", in->policy);
	kv_s(t, "mem_allocator", "wirecache-item-logs");
}

static void persistence(struct rd_text *t, const struct rd_info *in)
{
	static const char *const idle1[] = {
		"async_loading", "current_cow_peak", "current_cow_size",
		"current_cow_size_age", NULL
	};
	static const char *const idle3[] = {
		"aof_enabled", "aof_rewrite_in_progress", "aof_rewrite_scheduled", NULL
	};
	static const char *const idle4[] = {
		"aof_rewrites", "aof_rewrites_consecutive_failures", NULL
	};
	struct rd_rdb_load_info li;	/* an RDB load (redis/rdbload.h) */

	rd_rdb_load_info(&li);
	kv_u(t, "loading", li.loading);
	kv_zero(t, idle1);
	kv_s(t, "current_fork_perc", "0.00");
	kv_u(t, "current_save_keys_processed", in->save.cur_keys);
	kv_u(t, "current_save_keys_total", in->save.cur_total);
	kv_u(t, "rdb_changes_since_last_save", in->changes);
	/* RDB saves (redis/rdbsave.h): a thread, no fork, so no copy-on-write */
	kv_u(t, "rdb_bgsave_in_progress", in->save.in_progress);
	kv_i(t, "rdb_last_save_time", in->lastsave);
	kv_s(t, "rdb_last_bgsave_status", in->save.last_ok ? "ok" : "err");
	kv_i(t, "rdb_last_bgsave_time_sec", in->save.last_time_sec);
	kv_i(t, "rdb_current_bgsave_time_sec", in->save.current_sec);
	kv_u(t, "rdb_saves", in->save.saves);
	kv_u(t, "rdb_last_cow_size", 0);
	kv_u(t, "rdb_last_load_keys_expired", li.last_expired);
	kv_u(t, "rdb_last_load_keys_loaded", li.last_loaded);
	{	/* (wirecache's own: what the last load skipped, by kind) */
		char sk[160];
		size_t w = 0;

		for (unsigned k = 0; k < RDBR_SK_N && w < sizeof(sk); k++)
			w += (size_t)snprintf(sk + w, sizeof(sk) - w, "%s%s=%llu", k ? "," : "",
					      rdbr_skip_name(k),
					      (unsigned long long)li.last_skipped[k]);
		kv_s(t, "rdb_last_load_keys_skipped", sk);
	}
	kv_zero(t, idle3);
	kv_i(t, "aof_last_rewrite_time_sec", -1);
	kv_i(t, "aof_current_rewrite_time_sec", -1);
	kv_s(t, "aof_last_bgrewrite_status", "ok");
	kv_zero(t, idle4);
	kv_s(t, "aof_last_write_status", "ok");
	kv_u(t, "aof_last_cow_size", 0);
	kv_u(t, "module_fork_in_progress", 0);
	kv_u(t, "module_fork_last_cow_size", 0);
	if (li.loading) {
		char perc[32];

		kv_i(t, "loading_start_time", li.start_time);
		kv_u(t, "loading_total_bytes", li.total_bytes);
		kv_u(t, "loading_rdb_used_mem", 0);
		kv_u(t, "loading_loaded_bytes", li.loaded_bytes);
		snprintf(perc, sizeof(perc), "%.2f", li.perc);
		kv_s(t, "loading_loaded_perc", perc);
		kv_i(t, "loading_eta_seconds", li.eta_seconds);
	}
}

static void stats(struct rd_text *t, const struct rd_info *in)
{
	static const char *const none[] = {
		"sync_full", "sync_partial_ok", "sync_partial_err", NULL
	};
	static const char *const none2[] = {
		"latest_fork_usec", "total_forks", NULL
	};

	kv_u(t, "total_connections_received", in->connections);
	kv_u(t, "total_commands_processed", in->commands);
	kv_u(t, "instantaneous_ops_per_sec", in->ops_per_sec);
	kv_u(t, "total_net_input_bytes", in->net_in);
	kv_u(t, "total_net_output_bytes", in->net_out);
	kv_u(t, "total_net_repl_input_bytes", 0);
	kv_u(t, "total_net_repl_output_bytes", in->repl.bytes_out);
	rd_text_printf(t, "instantaneous_input_kbps:%.2f\r\n", (double)in->in_per_sec / 1024);
	rd_text_printf(t, "instantaneous_output_kbps:%.2f\r\n", (double)in->out_per_sec / 1024);
	kv_s(t, "instantaneous_input_repl_kbps", "0.00");
	kv_s(t, "instantaneous_output_repl_kbps", "0.00");
	kv_u(t, "rejected_connections", in->rejected_conns);
	kv_zero(t, none);
	kv_u(t, "expired_keys", in->expired);
	kv_u(t, "evicted_keys", in->evicted);
	kv_u(t, "evicted_clients", 0);
	kv_u(t, "keyspace_hits", in->hits);
	kv_u(t, "keyspace_misses", in->misses);
	kv_u(t, "pubsub_channels", in->pubsub_channels);
	kv_u(t, "pubsub_patterns", in->pubsub_patterns);
	kv_u(t, "pubsubshard_channels", in->pubsub_shard);
	kv_zero(t, none2);
	kv_u(t, "tracking_total_keys", in->trk_keys);
	kv_u(t, "tracking_total_items", in->trk_items);
	kv_u(t, "tracking_total_prefixes", in->trk_prefixes);
	kv_u(t, "unexpected_error_replies", 0);
	kv_u(t, "total_error_replies", in->errors);
	kv_u(t, "client_output_buffer_limit_disconnections", in->obuf_disconnections);
	/* (wirecache's own: keyspace events and WC_BUS_LOST losses, keyev.h) */
	kv_u(t, "keyspace_events_raised", in->kev_raised);
	kv_u(t, "keyspace_events_sent", in->kev_sent);
	kv_u(t, "keyspace_events_received", in->kev_received);
	kv_u(t, "keyspace_events_lost", in->kev_lost);
	if (in->cluster) {
		/* (wirecache's own: PUBLISH between the cluster's nodes, cluster/link.h) */
		kv_u(t, "cluster_bus_publish_sent", in->bus_pub_sent);
		kv_u(t, "cluster_bus_publish_received", in->bus_pub_received);
		kv_u(t, "cluster_bus_publish_dropped", in->bus_pub_dropped);
	}
	/* (and MIGRATE's, migrate_conn.h) */
	kv_u(t, "migrate_calls", in->mig_calls);
	kv_u(t, "migrate_keys", in->mig_keys);
	kv_u(t, "migrate_bytes", in->mig_bytes);
	kv_u(t, "migrate_errors", in->mig_errors);
}

static const char *feed_state(uint8_t st)
{
	return st == RD_FEED_ONLINE ? "online" : st == RD_FEED_SEND_BULK ? "send_bulk"
									  : "wait_bgsave";
}

/*
 * INFO replication: this node as a replica (replica.c renders the master_*
 * fields), then its own replicas (slaveN: offset = the sum of its
 * acknowledged log offsets, in the unit of master_repl_offset).
 */
static void replication(struct rd_text *t, const struct rd_info *in)
{
	const struct rd_info_repl *r = &in->repl;
	unsigned shown = r->nreplicas < RD_INFO_REPLICAS ? r->nreplicas : RD_INFO_REPLICAS;
	bool replica = in->replica.replica;

	/* a replica: role:slave and its master_* fields (redis/replica.c) */
	if (!rd_replica_info_render(t, &in->replica))
		kv_s(t, "role", "master");
	kv_u(t, "connected_slaves", r->nreplicas);
	for (unsigned i = 0; i < shown; i++) {
		char k[24], v[160];
		const struct rd_repl_view *s = &r->v[i];

		snprintf(k, sizeof(k), "slave%u", i);
		snprintf(v, sizeof(v), "ip=%u.%u.%u.%u,port=%u,state=%s,offset=%lu,lag=%lld",
			 s->ip >> 24, (s->ip >> 16) & 255, (s->ip >> 8) & 255, s->ip & 255, s->port,
			 feed_state(s->state), (unsigned long)s->offset,
			 (long long)(s->lag_s < 0 ? 0 : s->lag_s));
		kv_s(t, k, v);
	}
	kv_s(t, "master_failover_state", "no-failover");
	kv_s(t, "master_replid", replica && in->replica.replid[0] ? in->replica.replid
								  : in->replid);
	kv_s(t, "master_replid2", "0000000000000000000000000000000000000000");
	kv_u(t, "master_repl_offset", replica ? in->replica.offset : r->master_offset);
	kv_i(t, "second_repl_offset", -1);
	kv_u(t, "repl_backlog_active", r->backlog_active);
	kv_u(t, "repl_backlog_size", r->backlog_size);
	kv_u(t, "repl_backlog_first_byte_offset", r->backlog_first);
	kv_u(t, "repl_backlog_histlen", r->backlog_histlen);
}

/* What replication() shows, from the partitions' logs and the feeds. */
static void gather_repl(const struct wc_app *app, struct rd_info_repl *r)
{
	struct rd_repl_stats st;

	r->nreplicas = rd_repl_list(app, r->v, RD_INFO_REPLICAS);
	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_repl_stats ps;

		wc_repl_get_stats(app->parts[i], &ps);
		if (!ps.enabled)
			continue;
		r->backlog_active = true;
		r->master_offset += ps.master_offset;
		r->backlog_size += ps.backlog_size;
		r->backlog_histlen += ps.master_offset - ps.backlog_first;
	}
	/* (Redis: the first byte the backlog holds, master_repl_offset - histlen + 1) */
	r->backlog_first = r->backlog_active ? r->master_offset - r->backlog_histlen + 1 : 0;
	rd_repl_totals(app, &st);
	r->bytes_out = st.bytes_out;
}

static void cpu(struct rd_text *t, const struct rd_info *in)
{
	kv_cpu(t, "used_cpu_sys", in->cpu_sys);
	kv_cpu(t, "used_cpu_user", in->cpu_user);
	kv_cpu(t, "used_cpu_sys_children", in->cpu_sys_children);
	kv_cpu(t, "used_cpu_user_children", in->cpu_user_children);
}

static void commandstats(struct rd_text *t, const struct rd_info *in)
{
	unsigned n;
	const struct rd_cmd *const *all = rd_cmd_all(&n);

	for (unsigned i = 0; i < n && in->cmd_stats; i++) {
		const struct rd_cmd *c = all[i], *parent = rd_cmd_parent(c);
		uint64_t v[4];

		in->cmd_stats(in->cmd_arg, c->id, v);
		if (!v[0] && !v[2] && !v[3])
			continue;
		rd_text_printf(t, "cmdstat_%s%s%s:calls=%lu,usec=%lu,usec_per_call=%.2f,"
			       "rejected_calls=%lu,failed_calls=%lu\r\n",
			       parent ? parent->name : "", parent ? "|" : "", c->name,
			       (unsigned long)v[0], (unsigned long)v[1],
			       v[0] ? (double)v[1] / (double)v[0] : 0.0, (unsigned long)v[2],
			       (unsigned long)v[3]);
	}
}

/* Redis lists only the words seen since the last CONFIG RESETSTAT. */
static void errorstats(struct rd_text *t, const struct rd_info *in)
{
	for (unsigned e = 0; e < RD_ERRSTAT_N; e++)
		if (in->errstat[e])
			rd_text_printf(t, "errorstat_%s:count=%lu\r\n",
				       rd_errstat_name((enum rd_errstat)e),
				       (unsigned long)in->errstat[e]);
}

void rd_info_render(struct rd_text *t, const struct rd_info *in, uint32_t sections)
{
	unsigned n = 0;

	if (sections & RD_INFO_SERVER) {
		header(t, &n, "Server");
		server(t, in);
	}
	if (sections & RD_INFO_CLIENTS) {
		header(t, &n, "Clients");
		clients(t, in);
	}
	if (sections & RD_INFO_MEMORY) {
		header(t, &n, "Memory");
		memory(t, in);
	}
	if (sections & RD_INFO_PERSISTENCE) {
		header(t, &n, "Persistence");
		persistence(t, in);
	}
	if (sections & RD_INFO_STATS) {
		header(t, &n, "Stats");
		stats(t, in);
	}
	if (sections & RD_INFO_REPLICATION) {
		header(t, &n, "Replication");
		replication(t, in);
	}
	if (sections & RD_INFO_CPU) {
		header(t, &n, "CPU");
		cpu(t, in);
	}
	if (sections & RD_INFO_MODULES)
		header(t, &n, "Modules");
	if (sections & RD_INFO_COMMANDSTATS) {
		header(t, &n, "Commandstats");
		commandstats(t, in);
	}
	if (sections & RD_INFO_ERRORSTATS) {
		header(t, &n, "Errorstats");
		errorstats(t, in);
	}
	if (sections & RD_INFO_CLUSTER) {
		header(t, &n, "Cluster");
		kv_u(t, "cluster_enabled", in->cluster ? 1 : 0);
	}
	if (sections & RD_INFO_KEYSPACE) {
		header(t, &n, "Keyspace");
		if (in->keys || in->expires)
			rd_text_printf(t, "db0:keys=%lu,expires=%lu,avg_ttl=0\r\n",
				       (unsigned long)in->keys, (unsigned long)in->expires);
	}
}

/* ---- the numbers, from the node ---- */

struct cmd_src {
	const struct wc_app *app;
	const struct rd_server *srv;
};

static void node_cmd_stats(void *arg, unsigned id, uint64_t out[4])
{
	const struct cmd_src *src = arg;

	rd_server_cmd_stats(src->app, src->srv, id, out);
}

static int64_t tv_us(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t process_rss(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void rd_info_gather(struct wc_app *app, struct rd_server *srv, struct rd_info *in,
		    char *os, size_t os_cap, char *exe, size_t exe_cap)
{
	static __thread struct cmd_src src;
	struct wc_totals wt;
	struct rd_totals rt;
	struct rusage self, children;
	struct timeval now;
	struct utsname un;
	ssize_t n;

	wc_stats_collect(app, &wt);
	rd_server_totals(app, &rt);
	gettimeofday(&now, NULL);
	memset(in, 0, sizeof(*in));
	if (uname(&un) == 0)
		snprintf(os, os_cap, "%s %s %s", un.sysname, un.release, un.machine);
	else
		snprintf(os, os_cap, "unknown");
	n = readlink("/proc/self/exe", exe, exe_cap - 1);
	exe[n > 0 ? n : 0] = 0;
	in->version = srv->version;
	in->wc_version = srv->wc_version;
	in->run_id = srv->run_id;
	in->replid = srv->replid;
	gather_repl(app, &in->repl);
	in->os = os;
	in->executable = exe;
	in->config_file = app->cfg.config_file;
	in->cluster = srv->cluster;
	in->pid = getpid();
	in->now_us = tv_us(now);
	in->started = srv->started;
	in->port = srv->port;
	in->clients = rt.open;
	{
		struct rd_trk_totals tt;

		rd_tracking_totals(app, &tt);
		in->trk_clients = tt.clients;
		in->trk_keys = tt.keys;
		in->trk_items = tt.items;
		in->trk_prefixes = tt.prefixes;
	}
	in->maxclients = __atomic_load_n(&app->cfg.max_conns, __ATOMIC_RELAXED);
	in->used = rd_used_memory(app, &in->index, &in->dataset);
	in->peak = rd_note_peak(srv, in->used);
	in->rss = process_rss();
	in->system = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	in->maxmemory = srv->maxmemory;
	in->policy = srv->policy;
	/* items stored since the last good RDB save began */
	rd_save_get_info(&in->save);
	{
		uint64_t raw = wt.total_items + app->item_base.total_items;	/* (no stats reset) */

		in->changes = raw > in->save.changes_base ? raw - in->save.changes_base : 0;
	}
	in->lastsave = __atomic_load_n(&srv->lastsave, __ATOMIC_RELAXED);
	in->connections = sub0(rt.connections, srv->base.connections);
	in->commands = sub0(rt.commands, srv->base.commands);
	in->net_in = sub0(rt.net_in, srv->base.net_in);
	in->net_out = sub0(rt.net_out, srv->base.net_out);
	in->errors = 0;
	for (unsigned e = 0; e < RD_ERRSTAT_N; e++) {
		in->errstat[e] = sub0(rt.errstat[e], srv->base.errstat[e]);
		in->errors += in->errstat[e];
	}
	in->ops_per_sec = rd_inst_rate(app, RD_INST_OPS);
	in->in_per_sec = rd_inst_rate(app, RD_INST_NET_IN);
	in->out_per_sec = rd_inst_rate(app, RD_INST_NET_OUT);
	in->rejected_conns = wt.tcp.refused;
	in->expired = wt.expirations;
	in->evicted = wt.evictions;
	in->hits = wt.op.get_hits;
	in->misses = wt.op.get_misses;
	rd_pubsub_totals(app, &in->pubsub_channels, &in->pubsub_patterns, &in->pubsub_shard);
	in->obuf_disconnections = sub0(rt.obuf_disconnections, srv->base.obuf_disconnections);
	{
		struct rd_keyev_lc kt;

		rd_keyev_totals(app, &kt);
		in->kev_raised = kt.raised;
		in->kev_sent = kt.sent;
		in->kev_received = kt.received;
		in->kev_lost = kt.lost;
	}
	if (srv->cluster) {
		struct wc_link_stats ls;

		wc_link_stats_sum(app, &ls);
		in->bus_pub_sent = ls.publish_sent;
		in->bus_pub_received = ls.publish_received;
		in->bus_pub_dropped = ls.publish_dropped;
	}
	{
		struct wc_mig_stats ms;

		wc_mig_stats_sum(app, &ms);
		in->mig_calls = ms.calls;
		in->mig_keys = ms.keys;
		in->mig_bytes = ms.bytes;
		in->mig_errors = ms.errors;
	}
	rd_replica_info(&in->replica);	/* (replica.c) */
	if (getrusage(RUSAGE_SELF, &self) == 0) {
		in->cpu_sys = tv_us(self.ru_stime);
		in->cpu_user = tv_us(self.ru_utime);
	}
	if (getrusage(RUSAGE_CHILDREN, &children) == 0) {
		in->cpu_sys_children = tv_us(children.ru_stime);
		in->cpu_user_children = tv_us(children.ru_utime);
	}
	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_part_stats ps;

		wc_part_get_stats(app->parts[i], &ps);
		in->keys += ps.keys;
		in->expires += ps.expiring;
	}
	src = (struct cmd_src){ .app = app, .srv = srv };
	in->cmd_stats = node_cmd_stats;
	in->cmd_arg = &src;
}

/* ---- INFO ---- */

static enum rd_res info(struct rd_session *s)
{
	struct wc_lcore *lc = rd_lcore(s);
	struct rd_info in;
	struct rd_text t;
	char os[256], exe[512];
	uint64_t ch = 0, pat = 0, shard = 0;
	uint32_t sections = rd_argc(s) > 1 ? 0 : RD_INFO_DEFAULT;

	for (uint32_t i = 1; i < rd_argc(s); i++)
		sections |= rd_info_section(rd_arg(s, i));
	if (sections & RD_INFO_STATS) {
		/* distinct names over the lcores (it may ask them: re-entered) */
		enum rd_res r = rd_pubsub_distinct(s, &ch, &pat, &shard);

		if (r != RD_DONE)
			return r;
	}
	rd_tracking_sync(lc);	/* (this lcore's batched tracking reads, counted) */
	rd_info_gather(lc->app, rd_server(s), &in, os, sizeof(os), exe, sizeof(exe));
	in.pubsub_channels = ch;
	in.pubsub_patterns = pat;
	in.pubsub_shard = shard;
	rd_text_session(&t, s);
	rd_info_render(&t, &in, sections);
	if (t.failed) {
		rd_err(s, "ERR out of memory for the reply");
		return RD_DONE;
	}
	rd_text_reply(&t, rd_out(s), s->proto);
	return RD_DONE;
}

struct rd_cmd rd_cmds_info[] = {
	RD_CMD_TIPS("nondeterministic_output request_policy:all_shards response_policy:special",
		    "info", info, -1, RD_F_LOADING | RD_F_STALE, RD_ACL_DANGEROUS, 0, 0, 0,
		    "server", "The server's state and statistics, by section", "1.0.0", "O(1)"),
	RD_CMD_END
};
