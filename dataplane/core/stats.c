/*
 * stats.c - counters summed over lcores and partitions, served three ways:
 * the memcached "stats" command (memcached's field names), the DPDK
 * telemetry command /wirecache/stats (JSON), and a periodic log line.
 *
 * Counters are written only by their own lcore; readers sum them with
 * relaxed 64-bit loads, so a total may be a moment old but never torn.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "core/app.h"
#include "cluster/link.h"
#include "core/stats.h"
#include "net/neigh.h"
#include "net/tcp_impl.h"

const char *const wc_drop_names[WC_DROP_COUNT] = {
#define WC_DROP_NAME(name, str, cls) [WC_DROP_##name] = str,
	WC_DROP_REASONS(WC_DROP_NAME)
#undef WC_DROP_NAME
};

#define WC_DROP_PREFIX_DROP "drop_"
#define WC_DROP_PREFIX_IGNORED "ignored_"
const char *const wc_drop_stat_names[WC_DROP_COUNT] = {
#define WC_DROP_STAT(name, str, cls) [WC_DROP_##name] = WC_DROP_PREFIX_##cls str,
	WC_DROP_REASONS(WC_DROP_STAT)
#undef WC_DROP_STAT
};

const bool wc_drop_ignored[WC_DROP_COUNT] = {
#define WC_DROP_CLASS_DROP false
#define WC_DROP_CLASS_IGNORED true
#define WC_DROP_CLS(name, str, cls) [WC_DROP_##name] = WC_DROP_CLASS_##cls,
	WC_DROP_REASONS(WC_DROP_CLS)
#undef WC_DROP_CLS
};

static void add_u64s(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void wc_stats_collect(struct wc_app *app, struct wc_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct wc_lcore *lc = app->lc[i];

		add_u64s((uint64_t *)&t->op, (const uint64_t *)&lc->ctx.st,
			 sizeof(t->op) / sizeof(uint64_t));
		add_u64s((uint64_t *)&t->net, (const uint64_t *)&lc->ns,
			 sizeof(t->net) / sizeof(uint64_t));
		if (lc->tcp)
			add_u64s((uint64_t *)&t->tcp, (const uint64_t *)&lc->tcp->st,
				 sizeof(t->tcp) / sizeof(uint64_t));
		add_u64s((uint64_t *)&t->sess, (const uint64_t *)&lc->env.st,
			 sizeof(t->sess) / sizeof(uint64_t));
		t->upload_bytes += lc->stage.bytes;
		t->upload_in_use += (uint64_t)(lc->stage.nchunks -
					       __atomic_load_n(&lc->stage.nfree, __ATOMIC_RELAXED)) *
				    WC_STAGE_CHUNK;
		t->uploads_staged += __atomic_load_n(&lc->stage.admitted, __ATOMIC_RELAXED);
		t->upload_waits += __atomic_load_n(&lc->stage.refused, __ATOMIC_RELAXED);
	}
	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_part_stats ps;

		wc_part_get_stats(app->parts[i], &ps);
		t->items += ps.items;
		t->bytes += ps.bytes;
		t->limit += ps.limit_bytes;
		t->total_items += ps.total_items;
		t->evictions += ps.evictions;
		t->evicted_unfetched += ps.evicted_unfetched;
		t->expirations += ps.expirations;
		t->reclaimed += ps.reclaimed;
		t->relocations += ps.relocations;
	}
	/* "stats reset" baselines */
	for (size_t i = 0; i < sizeof(t->op) / sizeof(uint64_t); i++)
		((uint64_t *)&t->op)[i] -= ((const uint64_t *)&app->stats_base)[i];
	for (size_t i = 0; i < sizeof(t->net) / sizeof(uint64_t); i++)
		((uint64_t *)&t->net)[i] -= ((const uint64_t *)&app->ns_base)[i];
	t->total_items -= app->item_base.total_items;
	t->evictions -= app->item_base.evictions;
	t->evicted_unfetched -= app->item_base.evicted_unfetched;
	t->expirations -= app->item_base.expirations;
	t->reclaimed -= app->item_base.reclaimed;
}

void wc_stats_reset(struct wc_app *app)
{
	struct wc_totals t;
	struct wc_stats zero_op = { 0 };
	struct wc_netstats zero_net = { 0 };
	struct wc_item_base zero_items = { 0 };

	app->stats_base = zero_op;
	app->ns_base = zero_net;
	app->item_base = zero_items;
	wc_stats_collect(app, &t);
	app->stats_base = t.op;
	app->ns_base = t.net;
	/* as memcached's stats reset: total_items, evictions, reclaimed ... start over */
	app->item_base.total_items = t.total_items;
	app->item_base.evictions = t.evictions;
	app->item_base.evicted_unfetched = t.evicted_unfetched;
	app->item_base.expirations = t.expirations;
	app->item_base.reclaimed = t.reclaimed;
}

/* ---- memcached "stats" ---- */

static void stat_u64(struct mc_out *o, const char *name, uint64_t v)
{
	mc_out_str(o, "STAT ");
	mc_out_str(o, name);
	mc_out_char(o, ' ');
	mc_out_u64(o, v);
	mc_out_str(o, "\r\n");
}

static void stat_str(struct mc_out *o, const char *name, const char *v)
{
	mc_out_str(o, "STAT ");
	mc_out_str(o, name);
	mc_out_char(o, ' ');
	mc_out_str(o, v);
	mc_out_str(o, "\r\n");
}

static bool arg_is(const struct mc_tok *a, const char *s)
{
	return a->len == strlen(s) && memcmp(a->p, s, a->len) == 0;
}

static void stats_general(struct wc_app *app, const struct wc_totals *t, struct mc_out *o)
{
	const struct wc_stats *s = &t->op;
	time_t now = time(NULL);
	uint64_t sets = s->ops[WC_OP_SET] + s->ops[WC_OP_ADD] + s->ops[WC_OP_REPLACE] +
			s->ops[WC_OP_APPEND] + s->ops[WC_OP_PREPEND] + s->ops[WC_OP_CAS];

	stat_u64(o, "pid", (uint64_t)getpid());
	stat_u64(o, "uptime", (uint64_t)(now - app->started));
	stat_u64(o, "time", (uint64_t)now);
	stat_str(o, "version", app->mcset.version);
	stat_u64(o, "pointer_size", 64);
	stat_u64(o, "curr_connections", t->tcp.open);
	stat_u64(o, "total_connections", t->tcp.accepted);
	stat_u64(o, "rejected_connections", t->tcp.refused);
	/* the node never stops accepting (a full table refuses a SYN, counted above) */
	stat_u64(o, "accepting_conns", 1);
	stat_u64(o, "listen_disabled_num", 0);
	stat_u64(o, "time_in_listen_disabled_us", 0);
	stat_u64(o, "max_connections", app->cfg.max_conns);
	stat_u64(o, "threads", app->nworkers);
	stat_u64(o, "cmd_get", s->ops[WC_OP_GET] + s->ops[WC_OP_GAT]);
	stat_u64(o, "cmd_set", sets);
	stat_u64(o, "cmd_flush", s->ops[WC_OP_FLUSH] / (app->nparts ? app->nparts : 1));
	stat_u64(o, "cmd_touch", s->ops[WC_OP_TOUCH] + s->ops[WC_OP_GAT]);
	stat_u64(o, "get_hits", s->get_hits);
	stat_u64(o, "get_misses", s->get_misses);
	stat_u64(o, "get_expired", s->get_expired);
	stat_u64(o, "get_flushed", s->get_flushed);
	stat_u64(o, "delete_misses", s->delete_misses);
	stat_u64(o, "delete_hits", s->delete_hits);
	stat_u64(o, "incr_misses", s->incr_misses);
	stat_u64(o, "incr_hits", s->incr_hits);
	stat_u64(o, "decr_misses", s->decr_misses);
	stat_u64(o, "decr_hits", s->decr_hits);
	stat_u64(o, "cas_misses", s->cas_misses);
	stat_u64(o, "cas_hits", s->cas_hits);
	stat_u64(o, "cas_badval", s->cas_badval);
	stat_u64(o, "touch_hits", s->touch_hits);
	stat_u64(o, "touch_misses", s->touch_misses);
	stat_u64(o, "bytes_read", t->net.rx_bytes);
	stat_u64(o, "bytes_written", t->net.tx_bytes);
	stat_u64(o, "limit_maxbytes", t->limit);
	stat_u64(o, "bytes", t->bytes);
	stat_u64(o, "curr_items", t->items);
	stat_u64(o, "total_items", t->total_items);
	stat_u64(o, "evictions", t->evictions);
	stat_u64(o, "evicted_unfetched", t->evicted_unfetched);
	stat_u64(o, "expired_unfetched", 0);
	stat_u64(o, "reclaimed", t->reclaimed);
	stat_u64(o, "expirations", t->expirations);
	stat_u64(o, "relocations", t->relocations);
	stat_u64(o, "refused_too_large", s->refused_too_large);
	stat_u64(o, "refused_out_of_memory", s->refused_nomem);
	/* the same two under memcached's names, which its tools and exporters read */
	stat_u64(o, "store_too_large", s->refused_too_large);
	stat_u64(o, "store_no_memory", s->refused_nomem);
	stat_u64(o, "rx_packets", t->net.rx_pkts);
	stat_u64(o, "tx_packets", t->net.tx_pkts);
	stat_u64(o, "udp_requests", t->net.udp_requests);
	stat_u64(o, "tcp_half_open", t->tcp.syn_rcvd);
	stat_u64(o, "tcp_table_entries", t->tcp.active);
	stat_u64(o, "tcp_segments_in", t->tcp.segs_in);
	stat_u64(o, "tcp_segments_out", t->tcp.segs_out);
	stat_u64(o, "tcp_retransmits", t->tcp.retransmits);
	stat_u64(o, "tcp_fast_retransmits", t->tcp.fast_retransmits);
	stat_u64(o, "tcp_rto_timeouts", t->tcp.rto_timeouts);
	stat_u64(o, "tcp_out_of_order_held", t->tcp.ooo_held);
	stat_u64(o, "tcp_out_of_order_dropped", t->tcp.ooo_dropped);
	stat_u64(o, "tcp_dup_acks", t->tcp.dup_acks);
	stat_u64(o, "tcp_zero_window_probes", t->tcp.zero_window_probes);
	stat_u64(o, "tcp_resets_sent", t->tcp.resets_sent);
	stat_u64(o, "tcp_resets_received", t->tcp.resets_rcvd);
	stat_u64(o, "tcp_syncookies_sent", t->tcp.syncookies_sent);
	stat_u64(o, "tcp_syncookies_accepted", t->tcp.syncookies_ok);
	stat_u64(o, "tcp_idle_closed", t->tcp.idle_closed);
	stat_u64(o, "tcp_aborted", t->tcp.aborted);
	stat_u64(o, "tcp_out_of_window", t->tcp.out_of_window);
	stat_u64(o, "tcp_request_timeouts", t->tcp.request_timeouts);
	stat_u64(o, "tcp_pressure_refused", t->tcp.pressure_refused);
	stat_u64(o, "tcp_data_after_close", t->tcp.data_after_close);
	stat_u64(o, "memcached_tcp_auth_refused", t->tcp.mc_auth_refused);
	stat_u64(o, "cross_protocol_closed", t->sess.http_closed);
	stat_u64(o, "upload_buffer_bytes", t->upload_bytes);
	stat_u64(o, "upload_buffer_in_use", t->upload_in_use);
	stat_u64(o, "uploads_staged", t->uploads_staged);
	stat_u64(o, "upload_buffer_waits", t->upload_waits);
	stat_u64(o, "udp_reply_datagrams", t->net.udp_reply_datagrams);
	if (app->cfg.cluster_secret) {
		/* memcached forwarding over node-to-node links (cluster/link.h) */
		static const char *const hist[8] = {
			"mc_forward_latency_lt_100us", "mc_forward_latency_lt_250us",
			"mc_forward_latency_lt_500us", "mc_forward_latency_lt_1ms",
			"mc_forward_latency_lt_2500us", "mc_forward_latency_lt_10ms",
			"mc_forward_latency_lt_100ms", "mc_forward_latency_ge_100ms",
		};
		struct wc_link_stats ls;

		wc_link_stats_sum(app, &ls);
		stat_u64(o, "mc_forwarded", ls.fwd_requests);
		stat_u64(o, "mc_forward_failed", ls.fwd_failed);
		stat_u64(o, "mc_forward_timeouts", ls.fwd_timeouts);
		stat_u64(o, "mc_forward_answered", ls.fwd_answered);
		stat_u64(o, "mc_forward_latency_us_sum", ls.fwd_latency_us);
		for (int i = 0; i < 8; i++)
			stat_u64(o, hist[i], ls.fwd_lat_hist[i]);
		stat_u64(o, "mc_forward_served", ls.fwd_served);
		stat_u64(o, "cluster_link_connects", ls.link_connects);
		stat_u64(o, "cluster_link_authenticated", ls.link_up);
		stat_u64(o, "cluster_link_auth_failed", ls.link_auth_failed);
		stat_u64(o, "cluster_link_resets", ls.link_resets);
		stat_u64(o, "cluster_links_open", ls.links_open);
		stat_u64(o, "cluster_publish_sent", ls.publish_sent);
		stat_u64(o, "cluster_publish_received", ls.publish_received);
		stat_u64(o, "cluster_publish_dropped", ls.publish_dropped);
	}
	/* frames not taken: real drops, and frames that were not for this node (netstats.h) */
	stat_u64(o, "drops", wc_netstats_dropped(&t->net));
	stat_u64(o, "ignored", wc_netstats_ignored(&t->net));
	for (int i = 0; i < WC_DROP_COUNT; i++)
		stat_u64(o, wc_drop_stat_names[i], t->net.drops[i]);
}

static void stats_settings(struct wc_app *app, struct mc_out *o)
{
	const struct wc_config *c = &app->cfg;

	stat_u64(o, "maxbytes", c->memory);
	stat_u64(o, "maxconns", c->max_conns);
	stat_u64(o, "tcpport", c->tcp_enabled ? c->tcp_port : 0);
	stat_u64(o, "idle_timeout", c->tcp_idle_ms / 1000);
	stat_u64(o, "request_timeout", c->request_timeout_ms / 1000);
	stat_u64(o, "upload_buffer", c->upload_buffer);
	stat_u64(o, "udpport", c->udp_enabled ? c->udp_port : 0);
	stat_u64(o, "num_threads", app->nworkers);
	stat_u64(o, "item_size_max", c->max_value);
	stat_str(o, "evictions", "on");
	stat_str(o, "eviction_policy", c->small_pct ? "s3-fifo" : "clock");
	stat_u64(o, "partitions", app->nparts);
	stat_u64(o, "udp_amplification", c->udp_amplification);
	stat_str(o, "cas_enabled", "yes");
	stat_str(o, "binding_protocol", "ascii");
}

/* No slab classes here: one "class" describes the whole store. */
static void stats_items(const struct wc_totals *t, struct mc_out *o, bool slabs)
{
	if (slabs) {
		stat_u64(o, "1:chunk_size", t->items ? t->bytes / t->items : 0);
		stat_u64(o, "1:used_chunks", t->items);
		stat_u64(o, "1:mem_requested", t->bytes);
		stat_u64(o, "active_slabs", 1);
		stat_u64(o, "total_malloced", t->limit);
		return;
	}
	stat_u64(o, "items:1:number", t->items);
	stat_u64(o, "items:1:evicted", t->evictions);
	stat_u64(o, "items:1:evicted_unfetched", t->evicted_unfetched);
	stat_u64(o, "items:1:reclaimed", t->reclaimed);
	stat_u64(o, "items:1:expired_unfetched", 0);
}

/* memcached's "stats conns": one block per open TCP connection */
static void stats_conns(struct wc_app *app, struct mc_out *o)
{
	static const char *const states[] = {
		[TCP_SYN_RCVD] = "conn_new_cmd", [TCP_ESTABLISHED] = "conn_parse_cmd",
		[TCP_CLOSE_WAIT] = "conn_closing", [TCP_LAST_ACK] = "conn_closing",
		[TCP_FIN_WAIT_1] = "conn_closing", [TCP_FIN_WAIT_2] = "conn_closing",
		[TCP_CLOSING] = "conn_closing", [TCP_TIME_WAIT] = "conn_closed",
	};

	for (unsigned w = 0; w < app->nworkers; w++) {
		struct wc_tcp_lc *t = app->lc[w]->tcp;

		for (unsigned i = 0; t && i < t->ntcb; i++) {
			const struct wc_tcb *c = &t->tcbs[i];
			uint8_t st = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
			char name[64], val[64];
			unsigned fd = w * t->ntcb + i;

			if (st == TCP_FREE || st > TCP_TIME_WAIT)
				continue;
			snprintf(name, sizeof(name), "%u:addr", fd);
			snprintf(val, sizeof(val), "tcp:%u.%u.%u.%u:%u", c->rip >> 24,
				 (c->rip >> 16) & 255, (c->rip >> 8) & 255, c->rip & 255, c->rport);
			stat_str(o, name, val);
			snprintf(name, sizeof(name), "%u:state", fd);
			stat_str(o, name, states[st]);
		}
	}
}

bool wc_stats_memcached(struct mc_env *env, const struct mc_tok *arg, struct mc_out *out)
{
	struct wc_lcore *lc = env->arg;
	struct wc_app *app = lc->app;
	struct wc_totals t;

	if (arg_is(arg, "reset")) {
		wc_stats_reset(app);
		mc_out_str(out, "RESET\r\n");
		return true;
	}
	wc_stats_collect(app, &t);
	if (arg->len == 0)
		stats_general(app, &t, out);
	else if (arg_is(arg, "settings"))
		stats_settings(app, out);
	else if (arg_is(arg, "items"))
		stats_items(&t, out, false);
	else if (arg_is(arg, "slabs"))
		stats_items(&t, out, true);
	else if (arg_is(arg, "conns"))
		stats_conns(app, out);
	else
		return false;
	mc_out_str(out, "END\r\n");
	return true;
}

/* ---- telemetry: /wirecache/stats ---- */

static struct wc_app *telemetry_app;

static int telemetry_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct wc_totals t;
	const struct wc_stats *s = &t.op;

	(void)cmd;
	(void)params;
	wc_stats_collect(telemetry_app, &t);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rx_packets", t.net.rx_pkts);
	rte_tel_data_add_dict_u64(d, "rx_bytes", t.net.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", t.net.tx_pkts);
	rte_tel_data_add_dict_u64(d, "tx_bytes", t.net.tx_bytes);
	rte_tel_data_add_dict_u64(d, "udp_requests", t.net.udp_requests);
	rte_tel_data_add_dict_u64(d, "curr_connections", t.tcp.open);
	rte_tel_data_add_dict_u64(d, "total_connections", t.tcp.accepted);
	rte_tel_data_add_dict_u64(d, "rejected_connections", t.tcp.refused);
	rte_tel_data_add_dict_u64(d, "tcp_half_open", t.tcp.syn_rcvd);
	rte_tel_data_add_dict_u64(d, "tcp_table_entries", t.tcp.active);
	rte_tel_data_add_dict_u64(d, "tcp_retransmits", t.tcp.retransmits);
	rte_tel_data_add_dict_u64(d, "tcp_syncookies_sent", t.tcp.syncookies_sent);
	rte_tel_data_add_dict_u64(d, "tcp_resets_sent", t.tcp.resets_sent);
	rte_tel_data_add_dict_u64(d, "tcp_request_timeouts", t.tcp.request_timeouts);
	rte_tel_data_add_dict_u64(d, "tcp_pressure_refused", t.tcp.pressure_refused);
	rte_tel_data_add_dict_u64(d, "tcp_data_after_close", t.tcp.data_after_close);
	rte_tel_data_add_dict_u64(d, "memcached_tcp_auth_refused", t.tcp.mc_auth_refused);
	rte_tel_data_add_dict_u64(d, "cross_protocol_closed", t.sess.http_closed);
	rte_tel_data_add_dict_u64(d, "upload_buffer_in_use", t.upload_in_use);
	rte_tel_data_add_dict_u64(d, "uploads_staged", t.uploads_staged);
	rte_tel_data_add_dict_u64(d, "upload_buffer_waits", t.upload_waits);
	rte_tel_data_add_dict_u64(d, "get_hits", s->get_hits);
	rte_tel_data_add_dict_u64(d, "get_misses", s->get_misses);
	rte_tel_data_add_dict_u64(d, "cmd_get", s->ops[WC_OP_GET] + s->ops[WC_OP_GAT]);
	rte_tel_data_add_dict_u64(d, "cmd_set", s->ops[WC_OP_SET]);
	rte_tel_data_add_dict_u64(d, "curr_items", t.items);
	rte_tel_data_add_dict_u64(d, "bytes", t.bytes);
	rte_tel_data_add_dict_u64(d, "limit_maxbytes", t.limit);
	rte_tel_data_add_dict_u64(d, "evictions", t.evictions);
	rte_tel_data_add_dict_u64(d, "reclaimed", t.reclaimed);
	rte_tel_data_add_dict_u64(d, "arp_requests_in", t.net.arp_requests_in);
	rte_tel_data_add_dict_u64(d, "icmp_echo", t.net.icmp_echo);
	rte_tel_data_add_dict_u64(d, "drops", wc_netstats_dropped(&t.net));
	rte_tel_data_add_dict_u64(d, "ignored", wc_netstats_ignored(&t.net));
	for (int i = 0; i < WC_DROP_COUNT; i++)
		rte_tel_data_add_dict_u64(d, wc_drop_stat_names[i], t.net.drops[i]);
	return 0;
}

void wc_stats_telemetry_register(struct wc_app *app)
{
	telemetry_app = app;
	rte_telemetry_register_cmd("/wirecache/stats", telemetry_stats,
				   "wirecache counters summed over lcores. No parameters.");
}

void wc_stats_log_line(struct wc_app *app, char *buf, size_t len)
{
	struct wc_totals t;

	wc_stats_collect(app, &t);
	snprintf(buf, len,
		 "rx %lu pkts tx %lu pkts | get %lu (hits %lu) set %lu | items %lu bytes %lu/%lu "
		 "evictions %lu | drops %lu (ignored %lu not for us)",
		 (unsigned long)t.net.rx_pkts, (unsigned long)t.net.tx_pkts,
		 (unsigned long)t.op.ops[WC_OP_GET], (unsigned long)t.op.get_hits,
		 (unsigned long)t.op.ops[WC_OP_SET], (unsigned long)t.items,
		 (unsigned long)t.bytes, (unsigned long)t.limit, (unsigned long)t.evictions,
		 (unsigned long)wc_netstats_dropped(&t.net), (unsigned long)wc_netstats_ignored(&t.net));
}
