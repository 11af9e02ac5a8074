/*
 * repl_cmds.c - the master's replication commands: SYNC, PSYNC, REPLCONF
 * (listening-port, ip-address, capa, ack, getack, wc-offsets), WAIT and
 * ROLE. SYNC/PSYNC turn the connection into a replica feed
 * (redis/repl_master.h) once every partition logs its writes.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/app.h"
#include "redis/cmds.h"
#include "redis/rdutil.h"
#include "redis/repl_master.h"
#include "redis/replica.h"
#include "redis/server.h"
#include "store/repl.h"

/* ---- switching the partitions' logs on ---- */

static void enable_owner(struct rd_owner *o)
{
	const struct wc_app *app = rd_owner_lcore(o)->app;

	if (!wc_repl_enable(o->part, wc_config_repl_backlog_part(&app->cfg, app->nparts)))
		o->acc++;
}

/*
 * Every partition's log on (an owner call each, on its owner lcore): RD_DONE
 * when all ran, else call again when re-entered. Uses s->cursor; failures
 * add to s->acc.
 */
static enum rd_res logs_on(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;

	for (; s->cursor < app->nparts; s->cursor++) {
		struct wc_part *p = app->parts[s->cursor];
		struct rd_route rt = { .part = p, .owner = app->part_owner[s->cursor],
				       .part_idx = (uint16_t)s->cursor };

		if (wc_repl_log(p))
			continue;
		if (rd_call(s, &rt, enable_owner, false, s->cursor, NULL, 0) == RD_BUSY)
			return RD_BUSY;
	}
	return rd_calls_out(s) ? RD_PENDING : RD_DONE;
}

/* ---- SYNC / PSYNC ---- */

struct sync_job {
	bool psync;
	bool asked_continue;		/* a replid other than "?" */
	bool replid_ours;
	int64_t offset;
};

/* A partial resync can go on from the offsets the (wirecache) replica named. */
static bool can_continue(const struct wc_app *app, const struct rd_feed *f,
			 const struct sync_job *j)
{
	if (!j->replid_ours || !f->capa_wc || !f->have_wc_offs || j->offset < 1)
		return false;
	for (unsigned p = 0; p < app->nparts; p++) {
		const struct wc_rlog *rl = wc_repl_log(app->parts[p]);

		if (!rl || f->wc_offs[p] < wc_rlog_first(rl) || f->wc_offs[p] > wc_rlog_last(rl))
			return false;
	}
	return true;
}

static enum rd_res sync_generic(struct rd_session *s, bool psync)
{
	struct sync_job *j = rd_job(s);
	struct wc_lcore *lc = rd_lcore(s);
	struct rd_server *srv = rd_server(s);
	struct rd_feed *f;
	enum rd_res r;
	uint64_t base;
	char line[96];

	/*
	 * A replica feeds no replicas (no chained replication). This also keeps a
	 * failover's role swap from making a cycle: the old master, told to follow
	 * the promoted replica, must not sync from it while it still follows the
	 * old master (it would stream the old master's flush back); it retries.
	 */
	if (s->step == 0 && rd_replica_read_only()) {
		rd_err(s, "NOMASTERLINK Can't SYNC while this node is a replica itself");
		return RD_DONE;
	}
	if (s->step == 0) {
		f = rd_repl_feed_of(lc, s, true);
		if (f && f->state != RD_FEED_HANDSHAKE)
			return RD_DONE;	/* already a replica: Redis ignores it too */
		if (!f) {
			rd_err(s, "ERR too many replicas on this core");
			return RD_DONE;
		}
		*j = (struct sync_job){ .psync = psync };
		if (psync) {
			const struct resp_arg *id = rd_arg(s, 1);

			if (!rd_arg_ll(s, 2, &j->offset)) {
				rd_err_int(s);
				return RD_DONE;
			}
			j->asked_continue = !rd_arg_is(s, 1, "?");
			j->replid_ours = id->kind == RESP_ARG_PTR && id->len == 40 &&
					 memcmp(id->u.p, srv->replid, 40) == 0;
		}
		s->step = 1;
		s->cursor = 0;
		s->acc = 0;
	}
	if (s->step == 1) {
		r = logs_on(s);
		if (r != RD_DONE)
			return r;
		s->step = 2;
	}
	f = rd_repl_feed_of(lc, s, false);
	if (!f)
		return RD_DONE;	/* (the connection is going away) */
	if (s->acc || !rd_repl_logs_on(lc->app)) {
		rd_err(s, "ERR cannot keep a replication backlog: out of memory");
		return RD_DONE;
	}
	f->legacy = !psync;
	if (!rd_repl_buf_ready(lc)) {
		rd_err(s, "ERR out of memory for a replica's reads");
		return RD_DONE;
	}
	if (psync && can_continue(lc->app, f, j)) {
		snprintf(line, sizeof(line), "+CONTINUE %s\r\n", srv->replid);
		mc_out_str(rd_out(s), line);
		s->flags |= RD_C_REPLY_OFF;
		rd_repl_feed_start_partial(lc, f, (uint64_t)j->offset - 1);
		return RD_DONE;
	}
	if (!rd_repl_feed_start_full(lc, f, &base)) {
		rd_err(s, "ERR cannot start a full sync now (too many at once, or out of memory)");
		return RD_DONE;
	}
	if (psync && j->asked_continue)
		lc->repl->st.syncs_partial_err++;
	if (psync) {
		snprintf(line, sizeof(line), "+FULLRESYNC %s %lu\r\n", srv->replid,
			 (unsigned long)base);
		mc_out_str(rd_out(s), line);
	}
	s->flags |= RD_C_REPLY_OFF;	/* a replica gets the stream, no replies */
	return RD_DONE;
}

static enum rd_res psync_cmd(struct rd_session *s)
{
	return sync_generic(s, true);
}

static enum rd_res sync_cmd(struct rd_session *s)
{
	return sync_generic(s, false);
}

/* ---- REPLCONF ---- */

static bool arg_u(const struct rd_session *s, uint32_t i, int64_t max, int64_t *v)
{
	return rd_arg_ll(s, i, v) && *v >= 0 && *v <= max;
}

/* REPLCONF wc-offsets <n> <o_0> ... (false: malformed) */
static bool wc_offsets(struct rd_session *s, struct rd_feed *f, uint32_t *i)
{
	const struct wc_app *app = rd_lcore(s)->app;
	int64_t n, v;

	if (*i + 1 >= rd_argc(s) || !arg_u(s, *i + 1, 65536, &n) ||
	    *i + 2 + (uint64_t)n > rd_argc(s))
		return false;
	f->have_wc_offs = (uint64_t)n == app->nparts;
	for (int64_t k = 0; k < n; k++) {
		if (!arg_u(s, *i + 2 + (uint32_t)k, INT64_MAX, &v))
			return false;
		if (f->have_wc_offs)
			f->wc_offs[k] = (uint64_t)v;
	}
	*i += 2 + (uint32_t)n;
	return true;
}

static enum rd_res replconf(struct rd_session *s)
{
	struct wc_lcore *lc = rd_lcore(s);
	struct rd_feed *f;
	uint32_t i = 1;

	/* ACK and GETACK: never answered */
	if (rd_arg_is(s, 1, "ack")) {
		int64_t off;

		f = rd_repl_feed_of(lc, s, false);
		if (f && f->state >= RD_FEED_WAIT_BGSAVE && rd_arg_ll(s, 2, &off) && off >= 0)
			rd_repl_feed_ack(lc, f, (uint64_t)off);
		return RD_DONE;
	}
	if (rd_arg_is(s, 1, "getack"))
		return RD_DONE;	/* (a master is asked nothing; Redis sends no reply either) */
	f = rd_repl_feed_of(lc, s, true);
	if (!f) {
		rd_err(s, "ERR too many replicas on this core");
		return RD_DONE;
	}
	while (i < rd_argc(s)) {
		int64_t v;

		if (i + 1 >= rd_argc(s)) {	/* (every option has a value) */
			rd_err_syntax(s);
			return RD_DONE;
		}
		if (rd_arg_is(s, i, "listening-port")) {
			if (!arg_u(s, i + 1, 65535, &v)) {
				rd_err(s, "ERR value is out of range");
				return RD_DONE;
			}
			f->port = (uint16_t)v;
		} else if (rd_arg_is(s, i, "capa")) {
			if (rd_arg_is(s, i + 1, "wc"))
				f->capa_wc = true;
			else if (rd_arg_is(s, i + 1, "psync2"))
				f->capa_psync2 = true;
			else if (rd_arg_is(s, i + 1, "eof"))
				f->capa_eof = true;
		} else if (rd_arg_is(s, i, "wc-offsets")) {
			if (!wc_offsets(s, f, &i)) {
				rd_err_syntax(s);
				return RD_DONE;
			}
			continue;
		} else if (rd_arg_is(s, i, "ip-address")) {
			/* (replica-announce-ip: what INFO and ROLE show; a name is not kept) */
			const struct resp_arg *a = rd_arg(s, i + 1);
			char ip[16];
			struct in_addr in;

			if (a->kind == RESP_ARG_PTR && a->len < sizeof(ip)) {
				memcpy(ip, a->u.p, a->len);
				ip[a->len] = 0;
				if (inet_pton(AF_INET, ip, &in) == 1)
					f->ip = ntohl(in.s_addr);
			}
		} else if (!rd_arg_is(s, i, "rdb-only") && !rd_arg_is(s, i, "rdb-filter-only")) {
			const struct resp_arg *a = rd_arg(s, i);

			rd_err_fmt(s, "ERR Unrecognized REPLCONF option: %.*s",
				   a->kind == RESP_ARG_PTR ? (int)(a->len > 64 ? 64 : a->len) : 1,
				   a->kind == RESP_ARG_PTR ? (const char *)a->u.p : "?");
			return RD_DONE;
		}
		i += 2;
	}
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* ---- WAIT ---- */

struct wait_job {
	int64_t want;
	int64_t deadline_ms;		/* 0: forever */
	int64_t getack_ms;
	uint64_t *tails;		/* every partition's log tail when WAIT ran */
};

#define WAIT_GETACK_MS 100

static enum rd_res wait_cmd(struct rd_session *s)
{
	struct wait_job *j = rd_job(s);
	const struct wc_app *app = rd_lcore(s)->app;
	int64_t now = wc_clock_unix_ms(&rd_env(s)->ctx->clock);
	unsigned n;

	if (s->step == 0) {
		int64_t t;

		if (!rd_arg_ll(s, 1, &j->want) || !rd_arg_ll(s, 2, &t)) {
			rd_err_int(s);
			return RD_DONE;
		}
		if (t < 0) {
			rd_err(s, "ERR timeout is negative");
			return RD_DONE;
		}
		j->tails = rd_scratch(s, (app->nparts ? app->nparts : 1) * sizeof(uint64_t));
		if (!j->tails) {
			rd_err(s, "ERR out of memory");
			return RD_DONE;
		}
		rd_repl_tails(app, j->tails);
		j->deadline_ms = t ? now + t : 0;
		j->getack_ms = now;
		s->step = 1;
		n = rd_repl_count_acked(app, j->tails);
		if ((int64_t)n >= j->want || (s->flags & RD_C_MULTI)) {
			resp_int(rd_out(s), n);
			return RD_DONE;
		}
		rd_repl_getack();
		return RD_BUSY;
	}
	n = rd_repl_count_acked(app, j->tails);
	if ((int64_t)n >= j->want || (j->deadline_ms && now >= j->deadline_ms)) {
		resp_int(rd_out(s), n);
		return RD_DONE;
	}
	if (now - j->getack_ms >= WAIT_GETACK_MS) {
		j->getack_ms = now;
		rd_repl_getack();
	}
	return RD_BUSY;
}

/* ---- ROLE ---- */

enum rd_res rd_repl_role_master(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;
	struct rd_repl_view v[RD_REPL_FEEDS * 4];
	unsigned n, shown = 0;

	n = rd_repl_list(app, v, RD_REPL_FEEDS * 4);
	if (n > RD_REPL_FEEDS * 4)
		n = RD_REPL_FEEDS * 4;
	for (unsigned i = 0; i < n; i++)
		shown += v[i].state == RD_FEED_ONLINE;
	resp_array(rd_out(s), 3);
	resp_bulk_str(rd_out(s), "master");
	resp_int(rd_out(s), (int64_t)rd_repl_tails(app, NULL));
	resp_array(rd_out(s), shown);
	for (unsigned i = 0; i < n; i++) {
		char ip[16];

		if (v[i].state != RD_FEED_ONLINE)
			continue;
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", v[i].ip >> 24, (v[i].ip >> 16) & 255,
			 (v[i].ip >> 8) & 255, v[i].ip & 255);
		resp_array(rd_out(s), 3);
		resp_bulk_str(rd_out(s), ip);
		resp_bulk_i64(rd_out(s), v[i].port);
		resp_bulk_i64(rd_out(s), (int64_t)v[i].offset);
	}
	return RD_DONE;
}

struct rd_cmd rd_cmds_repl[] = {
	RD_CMD("sync", sync_cmd, 1, RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_NO_MULTI |
	       RD_F_NO_ASYNC_LOADING, RD_ACL_ADMIN | RD_ACL_SLOW | RD_ACL_DANGEROUS, 0, 0, 0,
	       "server", "Internal command used for replication", "1.0.0", "O(1)"),
	RD_CMD("psync", psync_cmd, -3, RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_NO_MULTI |
	       RD_F_NO_ASYNC_LOADING, RD_ACL_ADMIN | RD_ACL_SLOW | RD_ACL_DANGEROUS, 0, 0, 0,
	       "server", "Internal command used for replication", "2.8.0", "O(1)"),
	RD_CMD("replconf", replconf, -1, RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE |
	       RD_F_ALLOW_BUSY, RD_ACL_ADMIN | RD_ACL_SLOW | RD_ACL_DANGEROUS, 0, 0, 0, "server",
	       "An internal command for configuring the replication stream", "3.0.0", "O(1)"),
	RD_CMD_TIPS("request_policy:all_shards response_policy:agg_min", "wait", wait_cmd, 3,
		    RD_F_NOSCRIPT, RD_ACL_SLOW | RD_ACL_CONNECTION, 0, 0, 0, "generic",
		    "Wait for replicas to acknowledge this connection's writes", "3.0.0", "O(1)"),
	RD_CMD_END
};
