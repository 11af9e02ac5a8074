/*
 * prom.c - Prometheus text for /metrics (see prom.h).
 */
#include <stdio.h>
#include <string.h>

#include "derive.h"
#include "prom.h"

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped. */
static void label_value(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_put(b, "\\n", 2);
		else
			buf_put(b, v, 1);
	}
}

static void one(struct buf *b, const char *name, const char *type, const char *help,
		uint64_t v)
{
	family(b, name, type, help);
	buf_printf(b, "%s %lu\n", name, (unsigned long)v);
}

static void one_f(struct buf *b, const char *name, const char *type, const char *help,
		  double v)
{
	family(b, name, type, help);
	buf_printf(b, "%s %.9g\n", name, v);
}

/* Every counter whose name starts with prefix, as one family labelled by the rest. */
static void by_prefix(struct buf *b, const struct wc_cp_shm *s, const char *prefix,
		      const char *metric, const char *label, const char *help)
{
	size_t pl = strlen(prefix);

	family(b, metric, "counter", help);
	for (unsigned k = 0; k < s->ncounters; k++) {
		if (strncmp(s->counters[k].name, prefix, pl) != 0)
			continue;
		buf_printf(b, "%s{%s=\"", metric, label);
		label_value(b, s->counters[k].name + pl);
		buf_printf(b, "\"} %lu\n", (unsigned long)cp_total(s, s->counters[k].name));
	}
}

static bool grouped(const char *name)
{
	return strncmp(name, "op_", 3) == 0 || strncmp(name, "drop_", 5) == 0 ||
	       strncmp(name, "ignored_", 8) == 0 ||
	       strncmp(name, "refused_", 8) == 0 || strcmp(name, "curr_connections") == 0 ||
	       strcmp(name, "total_connections") == 0 ||
	       strcmp(name, "rejected_connections") == 0;
}

/* HELP text of counters exported under their own name that deserve more than their name. */
static const char *help_of(const char *name)
{
	static const struct {
		const char *name, *help;
	} helps[] = {
		{ "rx_packets", "Frames received on the dataplane's ports." },
		{ "tx_packets", "Frames sent on the dataplane's ports." },
		{ "rx_bytes", "Bytes received on the dataplane's ports, whole frames with their "
			      "Ethernet headers (memcached bytes_read)." },
		{ "tx_bytes", "Bytes sent on the dataplane's ports, whole frames with their "
			      "Ethernet headers (memcached bytes_written)." },
		{ "migrate_calls", "Redis MIGRATE commands run on this node." },
		{ "migrate_keys", "Keys MIGRATE moved (or copied) to a target node that took them." },
		{ "migrate_bytes", "Bytes of DUMP payloads MIGRATE sent to target nodes." },
		{ "migrate_errors", "MIGRATE commands answered with an error (IOERR, the target's "
				    "error, a key that kept changing)." },
	};

	for (unsigned i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(helps[i].name, name) == 0)
			return helps[i].help;
	return NULL;
}

static void counters(struct buf *b, const struct wc_cp_shm *s)
{
	by_prefix(b, s, "op_", "wirecache_commands_total", "command",
		  "Store operations run, by command (a multi-get counts each key).");
	by_prefix(b, s, "refused_", "wirecache_refused_total", "reason",
		  "Writes refused, by reason.");
	by_prefix(b, s, "drop_", "wirecache_drops_total", "reason",
		  "Packets meant for this node and dropped, by reason.");
	by_prefix(b, s, "ignored_", "wirecache_ignored_frames_total", "reason",
		  "Frames that were not for this node (other hosts, groups, protocols), by reason.");
	one(b, "wirecache_connections", "gauge", "TCP connections open.",
	    cp_total(s, "curr_connections"));
	one(b, "wirecache_connections_accepted_total", "counter", "TCP connections accepted.",
	    cp_total(s, "total_connections"));
	one(b, "wirecache_connections_rejected_total", "counter",
	    "TCP connections refused (over the limit).", cp_total(s, "rejected_connections"));
	one(b, "wirecache_connections_max", "gauge", "TCP connection limit.", s->max_conns);
	for (unsigned k = 0; k < s->ncounters; k++) {
		const struct wc_cp_counter_desc *c = &s->counters[k];
		char name[96], help[192];

		if (grouped(c->name))
			continue;
		snprintf(name, sizeof(name), "wirecache_%s%s", c->name,
			 c->kind == WC_CP_GAUGE ? "" : "_total");
		if (help_of(c->name))
			snprintf(help, sizeof(help), "%s", help_of(c->name));
		else
			snprintf(help, sizeof(help), "The dataplane's %s counter (memcached stats "
				 "name).", c->name);
		one(b, name, c->kind == WC_CP_GAUGE ? "gauge" : "counter", help,
		    cp_total(s, c->name));
	}
}

static void store(struct buf *b, const struct wc_cp_shm *s)
{
	struct cp_store_totals t;
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} part_metrics[] = {
		{ "wirecache_partition_items", "gauge", "Items in a partition.",
		  offsetof(struct wc_cp_part_snap, items) },
		{ "wirecache_partition_memory_used_bytes", "gauge", "Item bytes in a partition.",
		  offsetof(struct wc_cp_part_snap, bytes) },
		{ "wirecache_partition_memory_limit_bytes", "gauge", "A partition's memory limit.",
		  offsetof(struct wc_cp_part_snap, limit_bytes) },
		{ "wirecache_partition_evictions_total", "counter", "Items evicted from a partition.",
		  offsetof(struct wc_cp_part_snap, evictions) },
		{ "wirecache_partition_repl_offset_bytes", "gauge",
		  "A partition's replication offset: where its next log entry goes (0 while "
		  "no replica ever attached).", offsetof(struct wc_cp_part_snap, repl_offset) },
		{ "wirecache_partition_repl_backlog_first_bytes", "gauge",
		  "Oldest replication offset a partition's backlog still holds.",
		  offsetof(struct wc_cp_part_snap, repl_backlog_first) },
	};

	cp_store_totals(s, -1, &t);
	one(b, "wirecache_items", "gauge", "Items stored (memcached curr_items).", t.items);
	one(b, "wirecache_items_stored_total", "counter", "Items ever stored (total_items).",
	    t.total_items);
	one(b, "wirecache_memory_used_bytes", "gauge", "Item bytes in use (memcached bytes).",
	    t.bytes);
	one(b, "wirecache_memory_in_use_bytes", "gauge",
	    "Item bytes plus the hash index: what the memory alert compares with the limit.",
	    cp_memory_in_use(&t));
	one(b, "wirecache_memory_limit_bytes", "gauge", "Memory limit (limit_maxbytes).", t.limit);
	one(b, "wirecache_evictions_total", "counter", "Live items evicted to make room.",
	    t.evictions);
	one(b, "wirecache_evicted_unfetched_total", "counter", "Evicted items never read.",
	    t.evicted_unfetched);
	one(b, "wirecache_expirations_total", "counter", "Expired or flushed items removed.",
	    t.expirations);
	one(b, "wirecache_reclaimed_total", "counter", "Expired items found by the crawler.",
	    t.reclaimed);
	one(b, "wirecache_relocations_total", "counter", "Items copied forward by eviction.",
	    t.relocations);
	for (unsigned m = 0; m < sizeof(part_metrics) / sizeof(part_metrics[0]); m++) {
		family(b, part_metrics[m].name, part_metrics[m].type, part_metrics[m].help);
		for (unsigned i = 0; i < s->nparts; i++) {
			uint64_t v;

			memcpy(&v, (const char *)&s->part[i] + part_metrics[m].off, sizeof(v));
			buf_printf(b, "%s{partition=\"%u\",lcore=\"%u\"} %lu\n", part_metrics[m].name,
				   i, s->part[i].owner, (unsigned long)v);
		}
	}
}

static void lcores(struct buf *b, const struct wc_cp_shm *s, const struct sampler *sm)
{
	const struct cp_point *p = sampler_point(sm, 0);
	unsigned known;

	family(b, "wirecache_lcore_operations_total", "counter",
	       "Store operations run by each worker lcore.");
	for (unsigned i = 0; i < s->nworkers; i++)
		buf_printf(b, "wirecache_lcore_operations_total{lcore=\"%u\"} %lu\n", i,
			   (unsigned long)cp_ops_raw(s, (int)i));
	family(b, "wirecache_lcore_poll_loops_total", "counter", "Poll loops of each worker lcore.");
	for (unsigned i = 0; i < s->nworkers; i++)
		buf_printf(b, "wirecache_lcore_poll_loops_total{lcore=\"%u\"} %lu\n", i,
			   (unsigned long)s->lc[i].loops);
	known = 0;
	for (unsigned i = 0; i < s->nworkers && p && i < p->nlc; i++)
		known += p->lc_busy[i] >= 0;
	if (known) {	/* after two samples of a running lcore */
		family(b, "wirecache_lcore_busy_ratio", "gauge",
		       "Share of each worker lcore's cycles spent in poll passes that did work "
		       "(rx, tx, timers, mailbox), over the last sampling interval (DPDK's lcore "
		       "busy).");
		for (unsigned i = 0; i < s->nworkers && i < p->nlc; i++)
			if (p->lc_busy[i] >= 0)
				buf_printf(b, "wirecache_lcore_busy_ratio{lcore=\"%u\"} %.6f\n", i,
					   (double)p->lc_busy[i]);
	}
	family(b, "wirecache_lcore_busy_seconds_total", "counter",
	       "Time each worker lcore spent in poll passes that did work: deltas over "
	       "operations give the core time per operation.");
	for (unsigned i = 0; i < s->nworkers; i++)
		buf_printf(b, "wirecache_lcore_busy_seconds_total{lcore=\"%u\"} %.9f\n", i,
			   cp_busy_seconds(s, i));
	family(b, "wirecache_lcore_busy_cycles_total", "counter",
	       "TSC cycles of each worker lcore's poll passes that did work.");
	for (unsigned i = 0; i < s->nworkers; i++)
		buf_printf(b, "wirecache_lcore_busy_cycles_total{lcore=\"%u\"} %lu\n", i,
			   (unsigned long)s->lc[i].busy_tsc);
	family(b, "wirecache_lcore_cycles_total", "counter",
	       "TSC cycles each worker lcore's loop ran, idle passes and sleeps included.");
	for (unsigned i = 0; i < s->nworkers; i++)
		buf_printf(b, "wirecache_lcore_cycles_total{lcore=\"%u\"} %lu\n", i,
			   (unsigned long)s->lc[i].total_tsc);
}

static void latency(struct buf *b, const struct wc_cp_shm *s, const struct sampler *sm)
{
	struct wc_hist h;
	static const struct {
		const char *q;
		size_t off;
	} qs[] = {
		{ "0.5", offsetof(struct cp_window, p50_us) },
		{ "0.95", offsetof(struct cp_window, p95_us) },
		{ "0.99", offsetof(struct cp_window, p99_us) },
		{ "0.999", offsetof(struct cp_window, p999_us) },
	};

	cp_hist(s, -1, &h);
	family(b, "wirecache_request_duration_seconds", "summary",
	       "Service time of store operations, rx to reply queued, measured with the TSC "
	       "(quantiles over the alert window).");
	for (unsigned i = 0; i < 4; i++) {
		double us;

		memcpy(&us, (const char *)&sm->win + qs[i].off, sizeof(us));
		buf_printf(b, "wirecache_request_duration_seconds{quantile=\"%s\"} %.9g\n", qs[i].q,
			   us / 1e6);
	}
	buf_printf(b, "wirecache_request_duration_seconds_sum %.9g\n", (double)h.sum / 1e9);
	buf_printf(b, "wirecache_request_duration_seconds_count %lu\n", (unsigned long)h.count);
}

static void slots_and_moves(struct buf *b, const struct wc_cp_shm *s)
{
	unsigned per[WC_CP_MAX_PARTS] = { 0 };

	for (unsigned i = 0; i < WC_SLOTS; i++)
		per[(s->slot_part[i] & WC_SLOT_PART_MASK) % WC_CP_MAX_PARTS]++;
	family(b, "wirecache_partition_slots", "gauge", "Slots each partition serves.");
	for (unsigned i = 0; i < s->nparts; i++)
		buf_printf(b, "wirecache_partition_slots{partition=\"%u\"} %u\n", i, per[i]);
	one(b, "wirecache_slot_table_epoch", "gauge", "Version of the slot table in force.",
	    s->slot_epoch);
	family(b, "wirecache_slot_moves_total", "counter", "Slot moves finished, by result.");
	buf_printf(b, "wirecache_slot_moves_total{result=\"done\"} %lu\n",
		   (unsigned long)s->moves_done);
	buf_printf(b, "wirecache_slot_moves_total{result=\"failed\"} %lu\n",
		   (unsigned long)s->moves_failed);
}

void cp_prom_render(struct buf *b, const struct wc_cp_shm *now, const struct sampler *s,
		    const char *node)
{
	one(b, "wirecache_up", "gauge",
	    "1 when the control plane is attached to a running dataplane.", now ? 1 : 0);
	family(b, "wirecache_alert_firing", "gauge", "1 while an alert rule fires.");
	for (unsigned i = 0; i < CP_ALERT_COUNT; i++)
		buf_printf(b, "wirecache_alert_firing{alert=\"%s\"} %d\n", s->alerts[i].name,
			   now && s->alerts[i].firing ? 1 : 0);
	if (!now)
		return;
	family(b, "wirecache_info", "gauge", "The dataplane's version and node name.");
	buf_printf(b, "wirecache_info{version=\"");
	label_value(b, now->version);
	buf_printf(b, "\",node=\"");
	label_value(b, node);
	buf_printf(b, "\"} 1\n");
	one(b, "wirecache_start_time_seconds", "gauge", "When the dataplane started (Unix time).",
	    (uint64_t)now->started_unix);
	one(b, "wirecache_worker_lcores", "gauge", "Worker lcores.", now->nworkers);
	one(b, "wirecache_partitions", "gauge", "Store partitions.", now->nparts);
	if (s->win.hit_rate >= 0)
		one_f(b, "wirecache_hit_ratio", "gauge", "Get hit ratio over the alert window.",
		      s->win.hit_rate);
	counters(b, now);
	store(b, now);
	lcores(b, now, s);
	latency(b, now, s);
	slots_and_moves(b, now);
}
