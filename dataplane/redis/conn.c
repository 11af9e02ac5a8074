/*
 * conn.c - connection commands: PING, ECHO, QUIT, HELLO, SELECT, RESET, and
 * CLIENT's per-connection subcommands (ID, SETNAME, GETNAME, SETINFO,
 * REPLY, NO-EVICT); CLIENT LIST, INFO, KILL and HELP, which look at every
 * connection of the node, are in clients.c (their rows are here).
 */
#include <stdio.h>
#include <string.h>

#include "core/app.h"
#include "redis/acl.h"
#include "redis/clients.h"
#include "redis/cmds.h"
#include "redis/server.h"
#include "redis/tracking.h"

static enum rd_res ping(struct rd_session *s)
{
	if (rd_argc(s) > 2) {
		rd_err_arity(s);
		return RD_DONE;
	}
	if (rd_pubsub_resp2_mode(s)) {
		/* RESP2 subscribed mode: ["pong", the argument or ""] (pubsub.h) */
		resp_array(rd_out(s), 2);
		resp_bulk_str(rd_out(s), "pong");
		if (rd_argc(s) == 1) {
			resp_bulk(rd_out(s), "", 0);
			return RD_DONE;
		}
	}
	if (rd_argc(s) == 2) {
		const struct resp_arg *a = rd_arg(s, 1);

		/* (a large argument comes back from wherever it is) */
		resp_header(rd_out(s), '$', a->len);
		if (a->kind == RESP_ARG_PTR) {
			mc_out_put(rd_out(s), a->u.p, a->len);
		} else {
			uint8_t buf[4096];

			for (uint64_t off = 0; off < a->len; off += sizeof(buf)) {
				uint64_t n = a->len - off < sizeof(buf) ? a->len - off : sizeof(buf);

				rd_arg_read(s, 1, off, buf, n);
				mc_out_put(rd_out(s), buf, n);
			}
		}
		mc_out_put(rd_out(s), "\r\n", 2);
		return RD_DONE;
	}
	resp_simple(rd_out(s), "PONG");
	return RD_DONE;
}

static enum rd_res echo(struct rd_session *s)
{
	const struct resp_arg *a = rd_arg(s, 1);
	uint8_t buf[4096];

	resp_header(rd_out(s), '$', a->len);
	for (uint64_t off = 0; off < a->len; off += sizeof(buf)) {
		uint64_t n = a->len - off < sizeof(buf) ? a->len - off : sizeof(buf);

		rd_arg_read(s, 1, off, buf, n);
		mc_out_put(rd_out(s), buf, n);
	}
	mc_out_put(rd_out(s), "\r\n", 2);
	return RD_DONE;
}

static enum rd_res quit(struct rd_session *s)
{
	resp_ok(rd_out(s));
	return RD_CLOSE;
}

static enum rd_res select_db(struct rd_session *s)
{
	int64_t db;

	if (!rd_arg_ll(s, 1, &db)) {
		rd_err(s, "ERR value is not an integer or out of range");
		return RD_DONE;
	}
	if (rd_server(s)->cluster && db != 0) {
		rd_err(s, "ERR SELECT is not allowed in cluster mode");
		return RD_DONE;
	}
	if (db != 0) {
		/* one keyspace: memcached and Redis share database 0 */
		rd_err(s, "ERR DB index is out of range");
		return RD_DONE;
	}
	resp_ok(rd_out(s));
	return RD_DONE;
}

/* The HELLO map (also CLIENT INFO-ish identity): server, version, proto, id, mode, role, modules. */
static void hello_reply(struct rd_session *s)
{
	struct rd_server *srv = rd_server(s);
	struct mc_out *o = rd_out(s);

	resp_map(o, s->proto, 7);
	resp_bulk_str(o, "server");
	resp_bulk_str(o, "redis");
	resp_bulk_str(o, "version");
	resp_bulk_str(o, srv->version);
	resp_bulk_str(o, "proto");
	resp_int(o, s->proto);
	resp_bulk_str(o, "id");
	resp_int(o, (int64_t)s->id);
	resp_bulk_str(o, "mode");
	resp_bulk_str(o, srv->cluster ? "cluster" : "standalone");
	resp_bulk_str(o, "role");
	resp_bulk_str(o, "master");
	resp_bulk_str(o, "modules");
	resp_array(o, 0);
}

static bool set_name(struct rd_session *s, uint32_t i)
{
	const struct resp_arg *a = rd_arg(s, i);

	if (a->kind != RESP_ARG_PTR || a->len >= RD_NAME_MAX) {
		rd_err(s, "ERR Client names are limited to 63 bytes");
		return false;
	}
	for (uint32_t k = 0; k < a->len; k++) {
		if (a->u.p[k] < '!' || a->u.p[k] > '~') {
			rd_err(s, "ERR Client names cannot contain spaces, newlines or special "
				  "characters.");
			return false;
		}
	}
	memcpy(s->name, a->u.p, a->len);
	s->name[a->len] = 0;
	return true;
}

static enum rd_res hello(struct rd_session *s)
{
	uint32_t argc = rd_argc(s), i = 1;
	int64_t ver = s->proto;

	if (argc >= 2) {
		if (!rd_arg_ll(s, 1, &ver)) {
			rd_err(s, "ERR Protocol version is not an integer or out of range");
			return RD_DONE;
		}
		if (ver < 2 || ver > 3) {
			rd_err(s, "NOPROTO unsupported protocol version");
			return RD_DONE;
		}
		i = 2;
	}
	for (; i < argc; i++) {
		if (rd_arg_is(s, i, "auth") && i + 2 < argc) {
			const struct resp_arg *u = rd_arg(s, i + 1), *p = rd_arg(s, i + 2);

			if (!rd_acl_authenticate(s, u, p))
				return RD_DONE;	/* (the error is written) */
			i += 2;
		} else if (rd_arg_is(s, i, "setname") && i + 1 < argc) {
			if (!set_name(s, i + 1))
				return RD_DONE;
			i++;
		} else {
			char opt[64] = "";
			const struct resp_arg *a = rd_arg(s, i);

			if (a->kind == RESP_ARG_PTR)
				snprintf(opt, sizeof(opt), "%.*s", (int)(a->len < 60 ? a->len : 60),
					 (const char *)a->u.p);
			rd_err_fmt(s, "ERR Syntax error in HELLO option '%s'", opt);
			return RD_DONE;
		}
	}
	if (!s->authenticated && rd_acl_auth_required(rd_server(s))) {
		rd_err(s, "NOAUTH HELLO must be called with the client already authenticated, "
			  "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
			  "authenticate the client and select the RESP protocol version at the same "
			  "time");
		return RD_DONE;
	}
	s->proto = (uint8_t)ver;
	hello_reply(s);
	return RD_DONE;
}

/* RESET: the connection as new (out of MULTI, no watches, RESP2, the default user ...). */
static enum rd_res reset(struct rd_session *s)
{
	rd_multi_discard(s);
	rd_watch_clear(s);
	rd_tracking_off(s, false);
	rd_pubsub_reset(s);	/* every subscription goes (pubsub.h) */
	s->flags &= RD_C_KILLED;
	s->proto = 2;
	s->name[0] = 0;
	rd_acl_session_start(s);
	resp_simple(rd_out(s), "RESET");
	return RD_DONE;
}

/* ---- CLIENT (this connection) ---- */

static enum rd_res client_id(struct rd_session *s)
{
	resp_int(rd_out(s), (int64_t)s->id);
	return RD_DONE;
}

static enum rd_res client_setname(struct rd_session *s)
{
	if (rd_arg(s, 2)->len == 0) {
		s->name[0] = 0;
		resp_ok(rd_out(s));
		return RD_DONE;
	}
	if (set_name(s, 2))
		resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res client_getname(struct rd_session *s)
{
	if (s->name[0])
		resp_bulk_str(rd_out(s), s->name);
	else
		resp_null(rd_out(s), s->proto);
	return RD_DONE;
}

static enum rd_res client_setinfo(struct rd_session *s)
{
	const struct resp_arg *v = rd_arg(s, 3);
	char *dst;
	size_t cap;

	if (rd_arg_is(s, 2, "lib-name")) {
		dst = s->lib_name;
		cap = sizeof(s->lib_name);
	} else if (rd_arg_is(s, 2, "lib-ver")) {
		dst = s->lib_ver;
		cap = sizeof(s->lib_ver);
	} else {
		char attr[64] = "";
		const struct resp_arg *a = rd_arg(s, 2);

		if (a->kind == RESP_ARG_PTR)
			snprintf(attr, sizeof(attr), "%.*s", (int)(a->len < 60 ? a->len : 60),
				 (const char *)a->u.p);
		rd_err_fmt(s, "ERR Unrecognized option '%s'", attr);
		return RD_DONE;
	}
	if (v->kind != RESP_ARG_PTR || v->len >= cap) {
		rd_err(s, "ERR lib-name and lib-ver are limited in length");
		return RD_DONE;
	}
	for (uint32_t k = 0; k < v->len; k++) {
		if (v->u.p[k] < '!' || v->u.p[k] > '~') {
			rd_err(s, "ERR lib-name and lib-ver cannot contain spaces, newlines or "
				  "special characters.");
			return RD_DONE;
		}
	}
	memcpy(dst, v->u.p, v->len);
	dst[v->len] = 0;
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res client_reply(struct rd_session *s)
{
	if (rd_arg_is(s, 2, "on")) {
		s->flags &= ~(RD_C_REPLY_OFF | RD_C_REPLY_SKIP_NEXT | RD_C_REPLY_SKIP);
		s->out = s->conn_out;	/* (this command started silent) */
		resp_ok(rd_out(s));
	} else if (rd_arg_is(s, 2, "off")) {
		s->flags |= RD_C_REPLY_OFF;
	} else if (rd_arg_is(s, 2, "skip")) {
		if (!(s->flags & RD_C_REPLY_OFF))
			s->flags |= RD_C_REPLY_SKIP_NEXT;
	} else {
		rd_err_syntax(s);
	}
	return RD_DONE;
}

static enum rd_res client_no_evict(struct rd_session *s)
{
	if (rd_arg_is(s, 2, "on"))
		s->flags |= RD_C_NO_EVICT;
	else if (rd_arg_is(s, 2, "off"))
		s->flags &= ~RD_C_NO_EVICT;
	else {
		rd_err_syntax(s);
		return RD_DONE;
	}
	resp_ok(rd_out(s));
	return RD_DONE;
}

#define CONN (RD_ACL_CONNECTION)
#define CF (RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE)

static struct rd_cmd client_sub[] = {
	RD_CMD("id", client_id, 2, CF, CONN | RD_ACL_SLOW, 0, 0, 0, "connection",
	       "The connection's id", "5.0.0", "O(1)"),
	RD_CMD("setname", client_setname, 3, CF, CONN | RD_ACL_SLOW, 0, 0, 0, "connection",
	       "Name the connection", "2.6.9", "O(1)"),
	RD_CMD("getname", client_getname, 2, CF, CONN | RD_ACL_SLOW, 0, 0, 0, "connection",
	       "The connection's name", "2.6.9", "O(1)"),
	RD_CMD("setinfo", client_setinfo, 4, CF, CONN | RD_ACL_SLOW, 0, 0, 0, "connection",
	       "Record the client library's name and version", "7.2.0", "O(1)"),
	RD_CMD("reply", client_reply, 3, CF, CONN | RD_ACL_SLOW, 0, 0, 0, "connection",
	       "Turn replies to this connection on, off, or off for one command", "3.2.0",
	       "O(1)"),
	RD_CMD("no-evict", client_no_evict, 3, CF, CONN | RD_ACL_SLOW | RD_ACL_ADMIN |
	       RD_ACL_DANGEROUS, 0, 0, 0, "connection",
	       "Keep this connection when memory runs short", "7.0.0", "O(1)"),
	RD_CMD_TIPS("nondeterministic_output", "list", rd_client_list, -2, CF | RD_F_ADMIN,
		    CONN, 0, 0, 0, "connection", "One line about each client connection",
		    "2.4.0", "O(N) for N connections"),
	RD_CMD_TIPS("nondeterministic_output", "info", rd_client_info, 2, CF, CONN, 0, 0, 0,
		    "connection", "This connection's line of CLIENT LIST", "6.2.0", "O(1)"),
	RD_CMD("kill", rd_client_kill, -3, CF | RD_F_ADMIN, CONN, 0, 0, 0, "connection",
	       "Close connections chosen by address, id, user, type or age", "2.4.0",
	       "O(N) for N connections"),
	RD_CMD("tracking", rd_client_tracking, -3, CF, CONN | RD_ACL_SLOW, 0, 0, 0, "connection",
	       "Turn server-assisted client-side caching on or off", "6.0.0", "O(1), or "
	       "O(N) for N prefixes"),
	RD_CMD("caching", rd_client_caching, 3, CF, CONN | RD_ACL_SLOW, 0, 0, 0, "connection",
	       "Say whether the next command's reads are tracked (OPTIN and OPTOUT)", "6.0.0",
	       "O(1)"),
	RD_CMD("getredir", rd_client_getredir, 2, CF, CONN | RD_ACL_SLOW, 0, 0, 0, "connection",
	       "The client id invalidations are redirected to", "6.0.0", "O(1)"),
	RD_CMD("trackinginfo", rd_client_trackinginfo, 2, CF, CONN | RD_ACL_SLOW, 0, 0, 0,
	       "connection", "This connection's tracking mode, redirect and prefixes", "6.2.0",
	       "O(N) for N prefixes"),
	RD_CMD("help", rd_client_help, 2, RD_F_LOADING | RD_F_STALE, CONN, 0, 0, 0,
	       "connection", "What the CLIENT subcommands do", "5.0.0", "O(1)"),
	RD_CMD_END
};

struct rd_cmd rd_cmds_conn[] = {
	RD_CMD("ping", ping, -1, RD_F_FAST, CONN | RD_ACL_FAST, 0, 0, 0, "connection",
	       "Answers PONG, or echoes its argument", "1.0.0", "O(1)"),
	RD_CMD("echo", echo, 2, RD_F_FAST | RD_F_LOADING | RD_F_STALE, CONN | RD_ACL_FAST, 0, 0,
	       0, "connection", "Answers its argument", "1.0.0", "O(1)"),
	RD_CMD("quit", quit, -1, RD_F_ALLOW_BUSY | RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE |
	       RD_F_FAST | RD_F_NO_AUTH, CONN | RD_ACL_FAST, 0, 0, 0, "connection",
	       "Close the connection", "1.0.0", "O(1)"),
	RD_CMD("hello", hello, -1, RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE | RD_F_FAST |
	       RD_F_NO_AUTH, CONN | RD_ACL_FAST, 0, 0, 0, "connection",
	       "Handshake: protocol version, authentication and name in one", "6.0.0", "O(1)"),
	RD_CMD("select", select_db, 2, RD_F_LOADING | RD_F_STALE | RD_F_FAST, CONN | RD_ACL_FAST,
	       0, 0, 0, "connection", "Choose the database (only 0 exists)", "1.0.0", "O(1)"),
	RD_CMD("reset", reset, 1, RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE | RD_F_FAST |
	       RD_F_NO_AUTH, CONN | RD_ACL_FAST, 0, 0, 0, "connection",
	       "Return the connection to its initial state", "6.2.0", "O(1)"),
	{ .name = "client", .arity = -2, .flags = RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE,
	  .acl = RD_ACL_SLOW, .sub = client_sub, .group = "connection",
	  .summary = "Commands about client connections", .since = "2.4.0",
	  .complexity = "Depends on subcommand." },
	RD_CMD_END
};
