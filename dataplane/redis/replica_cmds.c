/*
 * replica_cmds.c - the commands of replication's replica side (replica.h):
 * REPLICAOF / SLAVEOF and ROLE for clients, and the master link's private
 * commands, which only the session flagged RD_C_MASTER can reach (anyone
 * else gets "unknown command"): WCREPL.SET key value flags abs-ms|-1 (a
 * string with its memcached flags), WCREPL.MARK part offset (the
 * partition's log reached offset), REPLCONF GETACK (answered by the link
 * with REPLCONF ACK after the run), SELECT (only db 0's commands are
 * applied; others are counted and skipped), MULTI and EXEC (the commands
 * between them are applied one by one, in order: a transaction of a real
 * master may span partitions, which a client's may not).
 */
#include <stdio.h>
#include <string.h>

#include "core/app.h"
#include "redis/cmds.h"
#include "redis/keyev.h"
#include "redis/rdutil.h"
#include "redis/repl_master.h"
#include "redis/replica_impl.h"
#include "store/item.h"

/* ---- REPLICAOF / SLAVEOF ---- */

static enum rd_res replicaof(struct rd_session *s)
{
	struct wc_app *app = rd_lcore(s)->app;
	char host[64], err[128];
	const struct resp_arg *h = rd_arg(s, 1);
	int64_t port;
	int r;

	if (rd_server(s)->cluster) {
		rd_err(s, "ERR REPLICAOF not allowed in cluster mode.");
		return RD_DONE;
	}
	if (rd_arg_is(s, 1, "no") && rd_arg_is(s, 2, "one")) {
		if (rd_replica_read_only())
			rd_replica_no_one(app);
		resp_ok(rd_out(s));
		return RD_DONE;
	}
	if (!rd_arg_ll(s, 2, &port)) {
		rd_err_int(s);
		return RD_DONE;
	}
	if (port <= 0 || port > 65535) {
		rd_err(s, "ERR Invalid master port");
		return RD_DONE;
	}
	if (h->kind != RESP_ARG_PTR || h->len >= sizeof(host)) {
		rd_err(s, "ERR the master must be given as an IPv4 address");
		return RD_DONE;
	}
	memcpy(host, h->u.p, h->len);
	host[h->len] = 0;
	r = rd_replica_of(app, host, (uint16_t)port, err, sizeof(err));
	if (r < 0)
		rd_err(s, err);
	else if (r == 1)
		resp_simple(rd_out(s), "OK Already connected to specified master");
	else
		resp_ok(rd_out(s));
	return RD_DONE;
}

/* ---- ROLE ---- */

bool rd_replica_role_reply(struct rd_session *s)
{
	struct mc_out *o = rd_out(s);
	struct rd_replica_status in;

	rd_replica_info(&in);
	if (!in.replica)
		return false;
	resp_array(o, 5);
	resp_bulk_str(o, "slave");
	resp_bulk_str(o, in.host);
	resp_int(o, in.port);
	resp_bulk_str(o, rd_replica_link_name(in.link));
	resp_int(o, in.link == RD_RL_CONNECTED ? (int64_t)in.offset : -1);
	return true;
}

/* ROLE: a replica's here; a master's (its offset and replicas) from repl_cmds.c */
static enum rd_res role(struct rd_session *s)
{
	if (rd_replica_role_reply(s))
		return RD_DONE;
	return rd_repl_role_master(s);
}

struct rd_cmd rd_cmds_replica[] = {
	RD_CMD("replicaof", replicaof, 3, RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_STALE, RD_ACL_SLOW,
	       0, 0, 0, "server", "Make the server a replica of another instance, or promote it",
	       "5.0.0", "O(1)"),
	RD_CMD("slaveof", replicaof, 3, RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_STALE, RD_ACL_SLOW,
	       0, 0, 0, "server", "Make the server a replica of another instance, or promote it",
	       "1.0.0", "O(1)"),
	RD_CMD("role", role, 1, RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE | RD_F_FAST,
	       RD_ACL_FAST | RD_ACL_ADMIN | RD_ACL_DANGEROUS, 0, 0, 0, "server",
	       "The role of the instance in replication", "2.8.12", "O(1)"),
	RD_CMD_END
};

/* ---- the master link's private commands ---- */

struct wset_job {
	uint32_t flags;
	int64_t at;			/* abs ms, -1: none */
};

_Static_assert(sizeof(struct wset_job) <= RD_JOB_BYTES, "the job fits the session");

static void wset_owner(struct rd_owner *o)
{
	const struct rd_session *s = o->s;
	const struct wset_job *j = rd_job_const(s);
	const struct resp_arg *k = rd_arg(s, 1);
	struct rd_value_src src = { .s = s, .arg = 2 };
	struct wc_put_req put = { .key = k->u.p, .klen = k->len, .hash = wc_hash(k->u.p, k->len),
				  .type = WC_TYPE_STRING, .flags = j->flags,
				  .vlen = rd_arg(s, 2)->len, .fill = rd_fill_arg, .arg = &src };
	struct wc_item *old = wc_kv_find(o->part, o->ctx, k->u.p, k->len, put.hash);
	enum wc_status st;

	if (j->at >= 0 &&
	    !wc_expiry_from_unix_ms(&o->ctx->clock, j->at, &put.exptime, &put.exp_ms)) {
		/* already due (the master's DEL follows): gone now */
		if (old)
			wc_kv_delete(o->part, o->ctx, k->u.p, k->len, put.hash);
		return;
	}
	st = wc_kv_put(o->part, o->ctx, &put, NULL);
	if (st == WC_OK)
		rd_keyev_emit_write(o, !old, RD_EV_SET, k->u.p, k->len);
	else
		rd_reply_store_error(o->out, st);
}

/* WCREPL.SET key value flags abs-ms|-1 */
static enum rd_res wcrepl_set(struct rd_session *s)
{
	struct wset_job *j = rd_job(s);
	const struct resp_arg *k = rd_arg(s, 1);
	struct rd_route rt;
	int64_t flags, at;

	if (s->step == 0) {
		if (!rd_arg_ll(s, 3, &flags) || flags < 0 || flags > UINT32_MAX ||
		    !rd_arg_ll(s, 4, &at) || at < -1) {
			rd_err_int(s);
			return RD_DONE;
		}
		if (k->kind != RESP_ARG_PTR || k->len == 0 || k->len > WC_KEY_MAX) {
			rd_err(s, "ERR bad key");
			return RD_DONE;
		}
		*j = (struct wset_job){ .flags = (uint32_t)flags, .at = at };
		s->step = 1;
	}
	if (s->step == 1) {
		enum rd_res r;

		rd_route_key(s, k->u.p, k->len, &rt);
		r = rd_call(s, &rt, wset_owner, true, 0, k->u.p, k->len);
		if (r == RD_BUSY)
			return r;
		s->step = 2;
		if (r == RD_PENDING)
			return r;
	}
	return RD_DONE;
}

/* WCREPL.MARK part offset */
static enum rd_res wcrepl_mark(struct rd_session *s)
{
	int64_t part, off;

	if (!rd_arg_ll(s, 1, &part) || part < 0 || part >= RD_REPLICA_MARKS || !rd_arg_ll(s, 2, &off) ||
	    off < 0) {
		rd_err_int(s);
		return RD_DONE;
	}
	rd_replica_state.marks[part] = (uint64_t)off;
	if ((unsigned)part + 1 > rd_replica_state.nmarks)
		rd_replica_state.nmarks = (unsigned)part + 1;
	rd_replica_state.marks_valid = true;
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* REPLCONF GETACK *: the link answers with REPLCONF ACK after this run; others: ignored */
static enum rd_res replconf(struct rd_session *s)
{
	if (rd_arg_is(s, 1, "getack"))
		rd_replica_state.ack_due = true;
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res select_db(struct rd_session *s)
{
	int64_t db;

	if (!rd_arg_ll(s, 1, &db) || db < 0) {
		rd_err_int(s);
		return RD_DONE;
	}
	rd_replica_state.db = (uint32_t)db;
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res no_op(struct rd_session *s)
{
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* a command for another db than 0: counted, not applied */
static enum rd_res skip(struct rd_session *s)
{
	rd_replica_add(&rd_replica_state.ct.stream_skipped, 1);
	resp_ok(rd_out(s));
	return RD_DONE;
}

#define PRIV(nm, fn, ar) { RD_CMD_FIELDS(nm, fn, ar, RD_F_LOADING | RD_F_STALE, 0, 0, 0, 0, \
					 "replication", "master link only", "7.0.0", "O(1)"), \
			   .id = RD_CMD_ID_PRIVATE }

static struct rd_cmd rd_cmds_replica_private[] = {
	PRIV("wcrepl.set", wcrepl_set, 5),
	PRIV("wcrepl.mark", wcrepl_mark, 3),
	PRIV("replconf", replconf, -2),
	PRIV("select", select_db, 2),
	PRIV("multi", no_op, 1),
	PRIV("exec", no_op, 1),
	PRIV("wcrepl.skip", skip, -1),
	RD_CMD_END
};

const struct rd_cmd *rd_replica_master_cmd(struct rd_session *s)
{
	const struct resp_arg *a = rd_arg(s, 0);
	const struct rd_cmd *c;

	for (c = rd_cmds_replica_private; c->name; c++)
		if (resp_arg_is(a, c->name))
			break;
	if (c->name && c->fn != skip)
		return c;
	/* commands for another db are not ours (one keyspace: db 0) */
	if (rd_replica_state.db != 0 && !resp_arg_is(a, "ping"))
		return &rd_cmds_replica_private[6];
	return NULL;
}

void rd_replica_cmd_done(bool failed)
{
	rd_replica_add(&rd_replica_state.ct.stream_commands, 1);
	if (failed)
		rd_replica_add(&rd_replica_state.ct.stream_errors, 1);
}
