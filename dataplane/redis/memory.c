/*
 * memory.c - MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP.
 *
 * Memory here is the store's: items in per-partition logs plus the hash
 * indexes (allocated up front), as INFO's used_memory counts it. A key's
 * usage is its item's bytes in the log (header, key, value, the optional
 * flags, CAS and type/expiry words, alignment) plus its share of an index
 * bucket. A large hash or set (store/container.h) adds its member buckets:
 * all of them, or as Redis samples nested values, `SAMPLES n` of them
 * spread over the container (default 5, 0: all) scaled to the whole.
 */
#include <stdio.h>
#include <string.h>

#include "core/app.h"
#include "redis/clients.h"
#include "redis/cmds.h"
#include "redis/server.h"
#include "redis/text.h"
#include "store/cenc.h"
#include "store/container.h"
#include "store/item.h"

/* A bucketed container's member buckets, in log bytes (0 for a compact one). */
static uint64_t bucket_bytes(const struct wc_part *part, struct wc_ctx *ctx,
			     const struct wc_view *v, uint64_t samples)
{
	struct wc_chdr h;
	uint64_t seen = 0, sum = 0, step;

	if (!wc_c_parse(v->type, v->value, v->vlen, &h) || h.enc != WC_CENC_BUCKETS || !h.nb)
		return 0;
	if (!samples || samples > h.nb)
		samples = h.nb;
	step = h.nb / samples;
	for (uint64_t b = 0; b < h.nb && seen < samples; b += step) {
		struct wc_clist l;

		if (wc_c_bucket(part, ctx, &h, (uint32_t)b, false, &l) != WC_C_OK)
			continue;	/* (changing under us: the others stand for it) */
		sum += wc_item_total(WC_CKEY_BUCKET, WC_CBUCKET_HDR + (uint64_t)l.len,
				     WC_LAYOUT_EXT);
		seen++;
	}
	return seen ? sum * h.nb / seen : 0;
}

static enum rd_res memory_usage(struct rd_session *s)
{
	const struct resp_arg *k = rd_arg(s, 2);
	struct wc_part_stats ps;
	struct rd_route rt;
	struct wc_view v;
	uint64_t usage;
	int64_t samples = 5;	/* (Redis's default) */

	for (uint32_t i = 3; i < rd_argc(s); i++) {
		if (rd_arg_is(s, i, "samples") && i + 1 < rd_argc(s)) {
			if (!rd_arg_ll(s, i + 1, &samples)) {
				rd_err_int(s);
				return RD_DONE;
			}
			if (samples < 0) {
				rd_err_syntax(s);
				return RD_DONE;
			}
			i++;
		} else {
			rd_err_syntax(s);
			return RD_DONE;
		}
	}
	if (k->kind != RESP_ARG_PTR ||
	    !rd_lookup(s, k->u.p, k->len, &v, WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS)) {
		resp_null(rd_out(s), s->proto);
		return RD_DONE;
	}
	usage = wc_item_size(v.it);
	rd_route_key(s, k->u.p, k->len, &rt);
	if (v.type == WC_TYPE_HASH || v.type == WC_TYPE_SET)
		usage += bucket_bytes(rt.part, rd_env(s)->ctx, &v, (uint64_t)samples);
	wc_part_get_stats(rt.part, &ps);
	if (ps.index_slots)
		usage += (ps.index_bytes + ps.index_slots - 1) / ps.index_slots;
	resp_int(rd_out(s), (int64_t)usage);
	return RD_DONE;
}

/* ---- the node's memory, for STATS and DOCTOR ---- */

struct mem_view {
	uint64_t used, peak, index, items, keys, limit, clients, evictions;
};

static void client_mem(void *arg, const struct rd_client_view *v)
{
	uint64_t *sum = arg;

	*sum += v->qbuf + v->omem;
}

static void gather(struct rd_session *s, struct mem_view *m)
{
	const struct wc_app *app = rd_lcore(s)->app;
	struct rd_server *srv = rd_server(s);

	memset(m, 0, sizeof(*m));
	m->used = rd_used_memory(app, &m->index, &m->items);
	m->peak = rd_note_peak(srv, m->used);
	m->limit = srv->maxmemory;
	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_part_stats ps;

		wc_part_get_stats(app->parts[i], &ps);
		m->keys += ps.keys;
		m->evictions += ps.evictions;
	}
	for (unsigned i = 0; i < app->nworkers; i++)
		rd_tcp_clients(app->lc[i], client_mem, &m->clients);
}

static void stat_int(struct mc_out *o, const char *name, uint64_t v)
{
	resp_bulk_str(o, name);
	resp_int(o, (int64_t)v);
}

static enum rd_res memory_stats(struct rd_session *s)
{
	struct mc_out *o = rd_out(s);
	struct mem_view m;
	uint64_t net;

	gather(s, &m);
	net = m.used > m.index ? m.used - m.index : 0;
	resp_map(o, s->proto, 17);
	stat_int(o, "peak.allocated", m.peak);
	stat_int(o, "total.allocated", m.used);
	stat_int(o, "startup.allocated", m.index);	/* the indexes: all there from the start */
	stat_int(o, "replication.backlog", 0);
	stat_int(o, "clients.slaves", 0);
	stat_int(o, "clients.normal", m.clients);
	stat_int(o, "cluster.links", 0);
	stat_int(o, "aof.buffer", 0);
	stat_int(o, "lua.caches", 0);
	stat_int(o, "functions.caches", 0);
	resp_bulk_str(o, "db.0");
	resp_map(o, s->proto, 3);
	stat_int(o, "overhead.hashtable.main", m.index);
	stat_int(o, "overhead.hashtable.expires", 0);	/* an expiry lives in its item */
	stat_int(o, "overhead.hashtable.slot-to-keys", 0);
	stat_int(o, "overhead.total", m.index + m.clients);
	stat_int(o, "keys.count", m.keys);
	stat_int(o, "keys.bytes-per-key", m.keys ? net / m.keys : 0);
	stat_int(o, "dataset.bytes", m.items);
	resp_bulk_str(o, "dataset.percentage");
	resp_double(o, s->proto, net ? (double)m.items * 100 / (double)net : 0);
	resp_bulk_str(o, "peak.percentage");
	resp_double(o, s->proto, m.peak ? (double)m.used * 100 / (double)m.peak : 100);
	return RD_DONE;
}

static enum rd_res memory_doctor(struct rd_session *s)
{
	struct mem_view m;
	struct rd_text t;
	char used[32], limit[32], peak[32];

	gather(s, &m);
	rd_bytes_human(used, sizeof(used), m.used);
	rd_bytes_human(limit, sizeof(limit), m.limit);
	rd_bytes_human(peak, sizeof(peak), m.peak);
	rd_text_session(&t, s);
	if (m.keys == 0) {
		rd_text_printf(&t, "The store holds no keys; its indexes take %lu bytes of the %s "
			       "it may use.\n", (unsigned long)m.index, limit);
	} else {
		rd_text_printf(&t, "%s in use (items and indexes) of %s; the peak was %s.\n", used,
			       limit, peak);
		rd_text_printf(&t, "%lu keys, %lu bytes each on average.\n", (unsigned long)m.keys,
			       (unsigned long)((m.used - m.index) / m.keys));
		if (m.evictions)
			rd_text_printf(&t, "%lu items were evicted to make room: the store is full "
				       "and drops the least useful items (maxmemory-policy). Give "
				       "it more --memory if they are missed.\n",
				       (unsigned long)m.evictions);
		else
			rd_text_str(&t, "Nothing was evicted so far.\n");
	}
	if (t.failed)
		rd_err(s, "ERR out of memory for the reply");
	else
		rd_text_reply(&t, rd_out(s), s->proto);
	return RD_DONE;
}

static enum rd_res memory_malloc_stats(struct rd_session *s)
{
	struct rd_text t;

	rd_text_session(&t, s);
	rd_text_str(&t, "Items live in the store's own logs in hugepage memory: there is no "
			"allocator to report on (see MEMORY STATS).");
	rd_text_reply(&t, rd_out(s), s->proto);
	return RD_DONE;
}

static enum rd_res memory_purge(struct rd_session *s)
{
	/* the logs reuse their memory themselves: nothing to give back */
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res memory_help(struct rd_session *s)
{
	static const char *const lines[] = {
		"DOCTOR",
		"    A few sentences about how memory is used.",
		"MALLOC-STATS",
		"    What the allocator would report (there is none: items live in logs).",
		"PURGE",
		"    Nothing to do: the store reuses its own memory.",
		"STATS",
		"    Memory in use, by what it holds.",
		"USAGE <key> [SAMPLES <count>]",
		"    Bytes <key> takes with its value and its share of the index.",
		NULL
	};

	rd_reply_help(s, lines);
	return RD_DONE;
}

#define ND "nondeterministic_output request_policy:all_shards response_policy:special"

static struct rd_cmd memory_sub[] = {
	RD_CMD_KS(RD_KS_RO, "usage", memory_usage, -3, RD_F_READONLY, 0, 2, 2, 1, "server",
		  "Bytes a key and its value take", "4.0.0", "O(N) for N samples"),
	RD_CMD_TIPS(ND, "stats", memory_stats, 2, 0, 0, 0, 0, 0, "server",
		    "Memory in use, by what it holds", "4.0.0", "O(1)"),
	RD_CMD_TIPS(ND, "doctor", memory_doctor, 2, 0, 0, 0, 0, 0, "server",
		    "A report on memory use", "4.0.0", "O(1)"),
	RD_CMD_TIPS(ND, "malloc-stats", memory_malloc_stats, 2, 0, 0, 0, 0, 0, "server",
		    "The allocator's statistics", "4.0.0", "O(1)"),
	RD_CMD_TIPS("request_policy:all_shards response_policy:all_succeeded", "purge",
		    memory_purge, 2, 0, 0, 0, 0, 0, "server", "Give unused memory back", "4.0.0",
		    "O(1)"),
	RD_CMD("help", memory_help, 2, RD_F_LOADING | RD_F_STALE, 0, 0, 0, 0, "server",
	       "What the MEMORY subcommands do", "4.0.0", "O(1)"),
	RD_CMD_END
};

struct rd_cmd rd_cmds_memory[] = {
	{ .name = "memory", .arity = -2, .sub = memory_sub, .group = "server",
	  .summary = "How memory is used", .since = "4.0.0",
	  .complexity = "Depends on subcommand." },
	RD_CMD_END
};
