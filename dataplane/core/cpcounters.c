/*
 * cpcounters.c - names and readers of the per-lcore counters exported to
 * the control plane (see cpcounters.h). Names follow memcached's "stats"
 * where it has one (get_hits, curr_connections ...); the control plane
 * derives memcached's aggregates (cmd_get, cmd_set ...) from them exactly
 * as stats.c does. The Redis engine's counters are INFO's, prefixed redis_
 * (per-command statistics stay in INFO commandstats: they would not fit
 * the fixed counter table).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/cpcounters.h"
#include "wirecache/compiler.h"
#include "net/tcp.h"
#include "net/tcp_impl.h"
#include "cluster/link.h"
#include "redis/migrate_conn.h"
#include "redis/rdbsave.h"
#include "redis/repl_master.h"
#include "redis/repl_rdb.h"

#include "redis/repl_health.h"
#include "redis/replica.h"

enum src { SRC_ST, SRC_NS, SRC_SESS, SRC_TCP, SRC_RD, SRC_LINK, SRC_MIG, SRC_SAVE, SRC_REPL,
	   SRC_REPL_RDB, SRC_REPLICA, SRC_REPL_HEALTH };

struct counter {
	char name[WC_CP_NAME_LEN];
	uint8_t src, kind;
	uint16_t off;		/* byte offset in the source struct */
};

#define ST(f, n) { n, SRC_ST, WC_CP_COUNTER, offsetof(struct wc_stats, f) }
#define NS(f, n) { n, SRC_NS, WC_CP_COUNTER, offsetof(struct wc_netstats, f) }
#define SESS(f, n) { n, SRC_SESS, WC_CP_COUNTER, offsetof(struct mc_sess_stats, f) }
#define TCP(f, n, k) { n, SRC_TCP, k, offsetof(struct wc_tcp_stats, f) }
#define RD(f, n, k) { n, SRC_RD, k, offsetof(struct rd_lcore_stats, f) }
#define LINK(f, n, k) { n, SRC_LINK, k, offsetof(struct wc_link_stats, f) }
#define MIG(f, n) { n, SRC_MIG, WC_CP_COUNTER, offsetof(struct wc_mig_stats, f) }
#define SAVE(f, n) { n, SRC_SAVE, WC_CP_COUNTER, offsetof(struct rd_save_counters, f) }
#define REPL(f, n, k) { n, SRC_REPL, k, offsetof(struct rd_repl_stats, f) }
#define REPL_RDB(f, n) { n, SRC_REPL_RDB, WC_CP_COUNTER, offsetof(struct rd_repl_rdb_counters, f) }
#define REPLICA(f, n, k) { n, SRC_REPLICA, k, offsetof(struct rd_replica_counts, f) }
#define HEALTH(f, n) { n, SRC_REPL_HEALTH, WC_CP_GAUGE, offsetof(struct rd_repl_health, f) }

static const struct counter fixed[] = {
	ST(get_hits, "get_hits"), ST(get_misses, "get_misses"),
	ST(get_expired, "get_expired"), ST(get_flushed, "get_flushed"),
	ST(touch_hits, "touch_hits"), ST(touch_misses, "touch_misses"),
	ST(delete_hits, "delete_hits"), ST(delete_misses, "delete_misses"),
	ST(incr_hits, "incr_hits"), ST(incr_misses, "incr_misses"),
	ST(decr_hits, "decr_hits"), ST(decr_misses, "decr_misses"),
	ST(cas_hits, "cas_hits"), ST(cas_misses, "cas_misses"), ST(cas_badval, "cas_badval"),
	ST(refused_too_large, "refused_too_large"), ST(refused_nomem, "refused_out_of_memory"),
	NS(rx_pkts, "rx_packets"), NS(rx_bytes, "rx_bytes"),
	NS(tx_pkts, "tx_packets"), NS(tx_bytes, "tx_bytes"),
	NS(arp_requests_in, "arp_requests_in"), NS(arp_replies_out, "arp_replies_out"),
	NS(arp_requests_out, "arp_requests_out"), NS(arp_replies_in, "arp_replies_in"),
	NS(icmp_echo, "icmp_echo"), NS(udp_requests, "udp_requests"),
	NS(udp_reply_datagrams, "udp_reply_datagrams"),
	NS(udp_remote_waits, "udp_remote_waits"),
	TCP(open, "curr_connections", WC_CP_GAUGE),
	TCP(accepted, "total_connections", WC_CP_COUNTER),
	TCP(refused, "rejected_connections", WC_CP_COUNTER),
	TCP(segs_in, "tcp_segments_in", WC_CP_COUNTER),
	TCP(segs_out, "tcp_segments_out", WC_CP_COUNTER),
	TCP(retransmits, "tcp_retransmits", WC_CP_COUNTER),
	TCP(fast_retransmits, "tcp_fast_retransmits", WC_CP_COUNTER),
	TCP(rto_timeouts, "tcp_rto_timeouts", WC_CP_COUNTER),
	TCP(ooo_held, "tcp_out_of_order_held", WC_CP_COUNTER),
	TCP(ooo_dropped, "tcp_out_of_order_dropped", WC_CP_COUNTER),
	TCP(dup_acks, "tcp_dup_acks", WC_CP_COUNTER),
	TCP(zero_window_probes, "tcp_zero_window_probes", WC_CP_COUNTER),
	TCP(resets_sent, "tcp_resets_sent", WC_CP_COUNTER),
	TCP(resets_rcvd, "tcp_resets_received", WC_CP_COUNTER),
	TCP(syncookies_sent, "tcp_syncookies_sent", WC_CP_COUNTER),
	TCP(syncookies_ok, "tcp_syncookies_accepted", WC_CP_COUNTER),
	TCP(idle_closed, "tcp_idle_closed", WC_CP_COUNTER),
	TCP(aborted, "tcp_aborted", WC_CP_COUNTER),
	TCP(out_of_window, "tcp_out_of_window", WC_CP_COUNTER),
	TCP(request_timeouts, "tcp_request_timeouts", WC_CP_COUNTER),
	TCP(pressure_refused, "tcp_pressure_refused", WC_CP_COUNTER),
	TCP(data_after_close, "tcp_data_after_close", WC_CP_COUNTER),
	TCP(mc_auth_refused, "memcached_tcp_auth_refused", WC_CP_COUNTER),
	SESS(http_closed, "cross_protocol_closed"),
	/* the Redis engine (INFO's names after redis_) */
	RD(commands, "redis_commands_processed", WC_CP_COUNTER),
	RD(rejected, "redis_commands_rejected", WC_CP_COUNTER),
	RD(failed, "redis_commands_failed", WC_CP_COUNTER),
	RD(unknown, "redis_commands_unknown", WC_CP_COUNTER),
	RD(net_in, "redis_net_input_bytes", WC_CP_COUNTER),
	RD(net_out, "redis_net_output_bytes", WC_CP_COUNTER),
	RD(connections, "redis_connections_received", WC_CP_COUNTER),
	RD(open, "redis_connected_clients", WC_CP_GAUGE),
	RD(obuf_disconnections, "redis_obuf_limit_disconnections",
	   WC_CP_COUNTER),
	/* node-to-node links and memcached forwarding (cluster/link.h) */
	LINK(fwd_requests, "mc_forwarded", WC_CP_COUNTER),
	LINK(fwd_failed, "mc_forward_failed", WC_CP_COUNTER),
	LINK(fwd_timeouts, "mc_forward_timeouts", WC_CP_COUNTER),
	LINK(fwd_answered, "mc_forward_answered", WC_CP_COUNTER),
	LINK(fwd_latency_us, "mc_forward_latency_us_sum", WC_CP_COUNTER),
	LINK(fwd_lat_hist[0], "mc_forward_latency_lt_100us", WC_CP_COUNTER),
	LINK(fwd_lat_hist[1], "mc_forward_latency_lt_250us", WC_CP_COUNTER),
	LINK(fwd_lat_hist[2], "mc_forward_latency_lt_500us", WC_CP_COUNTER),
	LINK(fwd_lat_hist[3], "mc_forward_latency_lt_1ms", WC_CP_COUNTER),
	LINK(fwd_lat_hist[4], "mc_forward_latency_lt_2500us", WC_CP_COUNTER),
	LINK(fwd_lat_hist[5], "mc_forward_latency_lt_10ms", WC_CP_COUNTER),
	LINK(fwd_lat_hist[6], "mc_forward_latency_lt_100ms", WC_CP_COUNTER),
	LINK(fwd_lat_hist[7], "mc_forward_latency_ge_100ms", WC_CP_COUNTER),
	LINK(fwd_served, "mc_forward_served", WC_CP_COUNTER),
	LINK(link_connects, "cluster_link_connects", WC_CP_COUNTER),
	LINK(link_up, "cluster_link_authenticated", WC_CP_COUNTER),
	LINK(link_auth_failed, "cluster_link_auth_failed", WC_CP_COUNTER),
	LINK(link_resets, "cluster_link_resets", WC_CP_COUNTER),
	LINK(links_open, "cluster_links_open", WC_CP_GAUGE),
	LINK(publish_sent, "cluster_publish_sent", WC_CP_COUNTER),
	LINK(publish_received, "cluster_publish_received", WC_CP_COUNTER),
	LINK(publish_dropped, "cluster_publish_dropped", WC_CP_COUNTER),
	/* MIGRATE (redis/migrate_conn.h) */
	MIG(calls, "migrate_calls"), MIG(keys, "migrate_keys"), MIG(bytes, "migrate_bytes"),
	MIG(errors, "migrate_errors"),
	/* RDB saves (redis/rdbsave.h): node-wide, reported by worker 0 */
	SAVE(saves, "rdb_saves"), SAVE(failed, "rdb_save_failures"), SAVE(keys, "rdb_saved_keys"),
	SAVE(bytes, "rdb_saved_bytes"), SAVE(ms, "rdb_save_ms"),
	/* replication, master side (redis/repl_master.h) */
	REPL(syncs_full, "repl_syncs_full", WC_CP_COUNTER),
	REPL(syncs_partial_ok, "repl_syncs_partial_ok", WC_CP_COUNTER),
	REPL(syncs_partial_err, "repl_syncs_partial_err", WC_CP_COUNTER),
	REPL(replicas, "repl_replicas_connected", WC_CP_GAUGE),
	REPL(bytes_out, "repl_output_bytes", WC_CP_COUNTER),
	REPL(entries_out, "repl_entries_streamed", WC_CP_COUNTER),
	REPL(dropped, "repl_replicas_dropped", WC_CP_COUNTER),
	/* full syncs' snapshots (redis/repl_rdb.h): node-wide, reported by worker 0 */
	REPL_RDB(snapshots, "repl_snapshots"), REPL_RDB(failed, "repl_snapshot_failures"),
	REPL_RDB(keys, "repl_snapshot_keys"), REPL_RDB(bytes, "repl_snapshot_bytes"),
	REPL_RDB(ms, "repl_snapshot_ms"),
	/* this node as a replica (redis/replica.h): node-wide, reported by worker 0 */
	REPLICA(connects, "replica_connects", WC_CP_COUNTER),
	REPLICA(full_syncs, "replica_full_syncs", WC_CP_COUNTER),
	REPLICA(partial_syncs, "replica_partial_syncs", WC_CP_COUNTER),
	REPLICA(sync_failures, "replica_sync_failures", WC_CP_COUNTER),
	REPLICA(link_drops, "replica_link_drops", WC_CP_COUNTER),
	REPLICA(rdb_bytes, "replica_rdb_bytes", WC_CP_COUNTER),
	REPLICA(stream_bytes, "replica_stream_bytes", WC_CP_COUNTER),
	REPLICA(stream_commands, "replica_stream_commands", WC_CP_COUNTER),
	REPLICA(stream_errors, "replica_stream_errors", WC_CP_COUNTER),
	REPLICA(stream_skipped, "replica_stream_skipped", WC_CP_COUNTER),
	REPLICA(last_sync_ms, "replica_last_sync_ms", WC_CP_GAUGE),
	/* replication's health (redis/repl_health.h): the replica-lag alert's input */
	HEALTH(max_lag_s, "repl_max_lag_seconds"), HEALTH(is_replica, "replica_role"),
	HEALTH(link_up, "replica_link_up"), HEALTH(link_down_s, "replica_link_down_seconds"),
	HEALTH(master_last_io_s, "replica_master_last_io_seconds"),
};

static struct counter all[WC_CP_MAX_COUNTERS];
static unsigned nall;

static void build(void)
{
	unsigned n = 0;

	if (nall)
		return;
	for (unsigned i = 0; i < WC_OP_COUNT; i++) {
		snprintf(all[n].name, sizeof(all[n].name), "op_%s", wc_op_name((enum wc_op)i));
		all[n].src = SRC_ST;
		all[n].kind = WC_CP_COUNTER;
		all[n].off = (uint16_t)(offsetof(struct wc_stats, ops) + i * sizeof(uint64_t));
		n++;
	}
	for (unsigned i = 0; i < WC_ARRAY_LEN(fixed) && n < WC_CP_MAX_COUNTERS; i++)
		all[n++] = fixed[i];
	for (unsigned i = 0; i < WC_DROP_COUNT && n < WC_CP_MAX_COUNTERS; i++) {
		snprintf(all[n].name, sizeof(all[n].name), "%s", wc_drop_stat_names[i]);
		all[n].src = SRC_NS;
		all[n].kind = WC_CP_COUNTER;
		all[n].off = (uint16_t)(offsetof(struct wc_netstats, drops) + i * sizeof(uint64_t));
		n++;
	}
	nall = n;
}

unsigned wc_cp_counters_describe(struct wc_cp_counter_desc *out, unsigned max)
{
	unsigned n;

	build();
	n = nall < max ? nall : max;
	for (unsigned i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		memcpy(out[i].name, all[i].name, sizeof(out[i].name));
		out[i].kind = all[i].kind;
		out[i].resettable = all[i].src == SRC_ST || all[i].src == SRC_NS;
	}
	return n;
}

static uint64_t load_at(const void *base, uint16_t off)
{
	return __atomic_load_n((const uint64_t *)(const void *)((const uint8_t *)base + off),
			       __ATOMIC_RELAXED);
}

void wc_cp_counters_read(const struct wc_lcore *lc, uint64_t *v, unsigned n)
{
	const struct rd_repl_health *health = NULL;

	build();
	for (unsigned i = 0; i < n && i < nall; i++) {
		switch (all[i].src) {
		case SRC_ST:
			v[i] = load_at(&lc->ctx.st, all[i].off);
			break;
		case SRC_NS:
			v[i] = load_at(&lc->ns, all[i].off);
			break;
		case SRC_SESS:
			v[i] = load_at(&lc->env.st, all[i].off);
			break;
		case SRC_RD:
			v[i] = load_at(&lc->rdst, all[i].off);
			break;
		case SRC_LINK:
			v[i] = lc->link ? load_at(&lc->link->st, all[i].off) : 0;
			break;
		case SRC_MIG:
			v[i] = lc->mig ? load_at(&lc->mig->st, all[i].off) : 0;
			break;
		case SRC_SAVE:
			v[i] = lc->id == 0 ? load_at(rd_save_counters(), all[i].off) : 0;
			break;
		case SRC_REPL:
			v[i] = lc->repl ? load_at(&lc->repl->st, all[i].off) : 0;
			break;
		case SRC_REPL_RDB:
			v[i] = lc->id == 0 ? load_at(rd_repl_rdb_counters(), all[i].off) : 0;
			break;
		case SRC_REPLICA:
			v[i] = lc->id == 0 ? load_at(rd_replica_counters(), all[i].off) : 0;
			break;
		case SRC_REPL_HEALTH:
			if (lc->id == 0 && !health)
				health = rd_repl_health_counters(lc->app);	/* once per read */
			v[i] = lc->id == 0 ? load_at(health, all[i].off) : 0;
			break;
		default:
			v[i] = lc->tcp ? load_at(&lc->tcp->st, all[i].off) : 0;
			break;
		}
	}
}

void wc_cp_counters_base(const struct wc_app *app, uint64_t *base, unsigned n)
{
	build();
	for (unsigned i = 0; i < n && i < nall; i++) {
		switch (all[i].src) {
		case SRC_ST:
			base[i] = load_at(&app->stats_base, all[i].off);
			break;
		case SRC_NS:
			base[i] = load_at(&app->ns_base, all[i].off);
			break;
		default:
			base[i] = 0;
			break;
		}
	}
}
