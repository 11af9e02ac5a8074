/*
 * clients.c - CLIENT LIST, CLIENT INFO, CLIENT KILL and CLIENT HELP: the
 * node's Redis connections in Redis's line format, and closing them (see
 * clients.h for how other lcores' connections are read and closed).
 *
 * What the fields mean here: fd= is the connection's slot in its lcore's
 * TCP table (numbered as memcached's "stats conns" numbers them), qbuf= the
 * bytes received and not yet parsed, argv-mem= the memory the current
 * command's copied arguments hold, omem= the reply bytes queued and not yet
 * acknowledged (oll= the buffers holding them); there is no per-client
 * reply buffer (rbs=0 rbp=0 obl=0). sub=, psub= and ssub= count the
 * connection's subscriptions (redis/pubsub.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/app.h"
#include "redis/acl.h"
#include "redis/clients.h"
#include "redis/cmds.h"
#include "redis/rdutil.h"
#include "redis/server.h"

/* ---- one line ---- */

/* A name read from a session (maybe another lcore's, changing): printable, ended. */
static void copy_name(char *dst, size_t cap, const char *src, size_t max)
{
	size_t n = 0;

	for (; n < max && n + 1 < cap; n++) {
		char c = __atomic_load_n(&src[n], __ATOMIC_RELAXED);

		if (!c)
			break;
		dst[n] = (c >= '!' && c <= '~') ? c : '?';
	}
	dst[n] = 0;
}

static void cmd_fullname(char *buf, size_t cap, uint16_t id)
{
	unsigned n;
	const struct rd_cmd *const *all = rd_cmd_all(&n);
	const struct rd_cmd *c = id < n ? all[id] : NULL;
	const struct rd_cmd *parent = c ? rd_cmd_parent(c) : NULL;

	if (!c)
		snprintf(buf, cap, "NULL");
	else if (parent)
		snprintf(buf, cap, "%s|%s", parent->name, c->name);
	else
		snprintf(buf, cap, "%s", c->name);
}

void rd_client_line(struct rd_text *t, const struct rd_client_view *v, int64_t now_ms)
{
	const struct rd_session *s = v->s;
	uint32_t flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	const char *user = rd_acl_session_user_name(s);
	char addr[32], laddr[32], name[RD_NAME_MAX], lname[32], lver[32], fl[16], cmd[80];
	uint64_t argv_mem = (uint64_t)s->arena.small_used +
			    (uint64_t)s->arena.nchunks * WC_STAGE_CHUNK_DATA;
	uint64_t multi_mem = (flags & RD_C_MULTI) ? rd_multi_mem(s) : 0;
	int64_t age = (now_ms - (int64_t)s->created_ms) / 1000,
		idle = v->idle_ms >= 0 ? v->idle_ms / 1000 : age;
	char *f = fl;
	uint16_t tf = rd_trk_flags(&s->trk);
	/* replies queued, and push frames waiting behind a reply (push.h) */
	uint64_t omem = v->omem + rd_push_backlog_bytes(&s->push);

	rd_peer_str(addr, sizeof(addr), s->raddr, s->rport);
	rd_peer_str(laddr, sizeof(laddr), s->laddr, (uint16_t)s->laddr_port);
	copy_name(name, sizeof(name), s->name, sizeof(s->name));
	copy_name(lname, sizeof(lname), s->lib_name, sizeof(s->lib_name));
	copy_name(lver, sizeof(lver), s->lib_ver, sizeof(s->lib_ver));
	cmd_fullname(cmd, sizeof(cmd), __atomic_load_n(&s->last_cmd_id, __ATOMIC_RELAXED));
	/* Redis's letters, in its order */
	if ((flags & RD_C_REPL_FEED) && (flags & RD_C_REPLY_OFF))
		*f++ = 'S';	/* a replica (past SYNC/PSYNC: redis/repl_master.h) */
	if (flags & RD_C_PUBSUB)
		*f++ = 'P';
	if (flags & RD_C_MULTI)
		*f++ = 'x';
	if (tf & RD_TRK_ON)
		*f++ = 't';
	if (tf & RD_TRK_BROKEN)
		*f++ = 'R';
	if (tf & RD_TRK_BCAST)
		*f++ = 'B';
	if (flags & RD_C_DIRTY_CAS)
		*f++ = 'd';
	if (flags & RD_C_CLOSE_AFTER_REPLY)
		*f++ = 'c';
	if (flags & RD_C_KILLED)
		*f++ = 'A';
	if (flags & RD_C_READONLY)
		*f++ = 'r';
	if (flags & RD_C_NO_EVICT)
		*f++ = 'e';
	if (f == fl)
		*f++ = 'N';
	*f = 0;
	rd_text_printf(t, "id=%lu addr=%s laddr=%s fd=%u name=%s age=%ld idle=%ld flags=%s db=0 "
		       "sub=%u psub=%u ssub=%u multi=%ld qbuf=%lu qbuf-free=%lu argv-mem=%lu "
		       "multi-mem=%lu rbs=0 rbp=0 obl=0 oll=%u omem=%lu tot-mem=%lu events=%s "
		       "cmd=%s user=%s redir=%ld resp=%u lib-name=%s lib-ver=%s",
		       (unsigned long)s->id, addr, laddr, v->fd, name, (long)(age > 0 ? age : 0),
		       (long)(idle > 0 ? idle : 0), fl,
		       __atomic_load_n(&s->sub.nsub, __ATOMIC_RELAXED),
		       __atomic_load_n(&s->sub.npsub, __ATOMIC_RELAXED),
		       __atomic_load_n(&s->sub.nssub, __ATOMIC_RELAXED),
		       (flags & RD_C_MULTI) ? (long)rd_multi_count(s) : -1L,
		       (unsigned long)v->qbuf, (unsigned long)v->qbuf_free, (unsigned long)argv_mem,
		       (unsigned long)multi_mem, v->oll, (unsigned long)omem,
		       (unsigned long)(sizeof(struct rd_session) + v->qbuf + omem + argv_mem +
				       multi_mem),
		       v->writing ? "rw" : "r", cmd, user ? user : "(superuser)",
		       (tf & RD_TRK_ON) && s->trk.redir_id ? (long)s->trk.redir_id : -1L,
		       (unsigned)s->proto, lname, lver);
}

/* ---- CLIENT LIST / INFO ---- */

/* Redis's client types: ours are "normal", "replica" or "pubsub" (subscribed to something). */
static int client_type(const struct resp_arg *a)
{
	if (resp_arg_is(a, "normal"))
		return 0;
	if (resp_arg_is(a, "slave") || resp_arg_is(a, "replica"))
		return 1;
	if (resp_arg_is(a, "pubsub"))
		return 2;
	if (resp_arg_is(a, "master"))
		return 3;
	return -1;
}

static void err_type(struct rd_session *s, uint32_t i)
{
	const struct resp_arg *a = rd_arg(s, i);

	rd_err_fmt(s, "ERR Unknown client type '%.*s'", (int)(a->len < 128 ? a->len : 128),
		   a->kind == RESP_ARG_PTR ? (const char *)a->u.p : "");
}

struct list_ctx {
	struct rd_text *t;
	int64_t now_ms;
	uint64_t id;			/* 0: every connection */
	const struct rd_session *only;	/* CLIENT INFO */
	int type;			/* TYPE: 0 normal, 2 pubsub; -1 any */
	bool found;
};

/*
 * Redis's type of a connection: 1 (replica) past SYNC/PSYNC, 2 (pubsub) while
 * subscribed to anything, else 0.
 */
static int type_of(const struct rd_session *s)
{
	uint32_t f = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);

	if ((f & RD_C_REPL_FEED) && (f & RD_C_REPLY_OFF))
		return 1;
	return (f & RD_C_PUBSUB) ? 2 : 0;
}

static void list_one(void *arg, const struct rd_client_view *v)
{
	struct list_ctx *x = arg;

	if ((x->id && v->s->id != x->id) || (x->only && v->s != x->only) ||
	    (x->type >= 0 && type_of(v->s) != x->type))
		return;
	x->found = true;
	rd_client_line(x->t, v, x->now_ms);
	rd_text_put(x->t, "\n", 1);
}

static void list_all(struct rd_session *s, struct list_ctx *x)
{
	const struct wc_app *app = rd_lcore(s)->app;

	for (unsigned i = 0; i < app->nworkers; i++)
		rd_tcp_clients(app->lc[i], list_one, x);
}

static int64_t now_ms_of(struct rd_session *s)
{
	return wc_clock_unix_ms(&rd_env(s)->ctx->clock);
}

static void reply_text(struct rd_session *s, const struct rd_text *t)
{
	if (t->failed)
		rd_err(s, "ERR out of memory for the reply");
	else
		rd_text_reply(t, rd_out(s), s->proto);
}

enum rd_res rd_client_list(struct rd_session *s)
{
	struct rd_text t;
	struct list_ctx x = { .t = &t, .now_ms = now_ms_of(s), .type = -1 };
	uint32_t argc = rd_argc(s);

	rd_text_session(&t, s);
	if (argc == 4 && rd_arg_is(s, 2, "type")) {
		int type = client_type(rd_arg(s, 3));

		if (type < 0) {
			err_type(s, 3);
			return RD_DONE;
		}
		x.type = type;
		if (type <= 2)	/* (there is no master connection here) */
			list_all(s, &x);
	} else if (argc > 3 && rd_arg_is(s, 2, "id")) {
		for (uint32_t i = 3; i < argc; i++) {
			int64_t id;

			if (!rd_arg_ll(s, i, &id)) {
				rd_err(s, "ERR Invalid client ID");
				return RD_DONE;
			}
		}
		for (uint32_t i = 3; i < argc; i++) {
			int64_t id;

			rd_arg_ll(s, i, &id);
			if (id <= 0)
				continue;
			x.id = (uint64_t)id;
			list_all(s, &x);
		}
	} else if (argc != 2) {
		rd_err_syntax(s);
		return RD_DONE;
	} else {
		list_all(s, &x);
	}
	reply_text(s, &t);
	return RD_DONE;
}

enum rd_res rd_client_info(struct rd_session *s)
{
	struct rd_text t;
	struct list_ctx x = { .t = &t, .now_ms = now_ms_of(s), .only = s, .type = -1 };

	rd_text_session(&t, s);
	rd_tcp_clients(rd_lcore(s), list_one, &x);
	if (!x.found) {
		/* (a session without a connection: its line without the transport's part) */
		struct rd_client_view v = { .s = s };

		rd_client_line(&t, &v, x.now_ms);
		rd_text_put(&t, "\n", 1);
	}
	reply_text(s, &t);
	return RD_DONE;
}

/* ---- CLIENT KILL ---- */

/* The filters, parsed once, read by the owner call on every lcore. */
struct kill_job {
	const uint8_t *addr, *laddr, *user;
	uint32_t addr_len, laddr_len, user_len;
	uint64_t id;
	int64_t maxage;			/* seconds, 0: any */
	int8_t type;			/* -1: any */
	bool skipme;
	bool old_form;
};

_Static_assert(sizeof(struct kill_job) <= RD_JOB_BYTES, "kill_job must fit the job area");

struct kill_ctx {
	const struct kill_job *job;
	const struct rd_session *self;
	int64_t now_ms;
	bool self_matched;
};

static bool same_str(const char *s, const uint8_t *p, uint32_t n)
{
	return strlen(s) == n && memcmp(s, p, n) == 0;
}

static bool kill_match(void *arg, const struct rd_client_view *v)
{
	struct kill_ctx *k = arg;
	const struct kill_job *j = k->job;
	const struct rd_session *c = v->s;
	char buf[32];

	if (j->addr) {
		rd_peer_str(buf, sizeof(buf), c->raddr, c->rport);
		if (!same_str(buf, j->addr, j->addr_len))
			return false;
	}
	if (j->laddr) {
		rd_peer_str(buf, sizeof(buf), c->laddr, (uint16_t)c->laddr_port);
		if (!same_str(buf, j->laddr, j->laddr_len))
			return false;
	}
	if (j->type >= 0 && type_of(c) != j->type)
		return false;	/* (no replica or master connections here) */
	if (j->id && c->id != j->id)
		return false;
	if (j->user) {
		const char *u = rd_acl_session_user_name(c);

		if (!u || !same_str(u, j->user, j->user_len))
			return false;
	}
	if (j->maxage && (k->now_ms - (int64_t)c->created_ms) / 1000 < j->maxage)
		return false;
	if (c == k->self) {
		/* the caller: never closed under its own reply; maybe after it */
		if (!j->skipme)
			k->self_matched = true;
		return false;
	}
	return true;
}

/* On each lcore: close its own matching connections; acc counts them, acc2 the caller. */
static void kill_owner(struct rd_owner *o)
{
	struct wc_lcore *lc = (struct wc_lcore *)(void *)((char *)o->ctx -
							  offsetof(struct wc_lcore, ctx));
	struct kill_ctx k = { .job = rd_job_const(o->s), .self = o->s,
			      .now_ms = wc_clock_unix_ms(&o->ctx->clock) };

	o->acc += rd_tcp_kill(lc, kill_match, &k);
	if (k.self_matched) {
		o->acc++;
		o->acc2 = 1;
	}
}

static bool arg_ptr(struct rd_session *s, uint32_t i, const uint8_t **p, uint32_t *n)
{
	const struct resp_arg *a = rd_arg(s, i);

	*p = a->kind == RESP_ARG_PTR ? a->u.p : (const uint8_t *)"";
	*n = a->kind == RESP_ARG_PTR ? a->len : 0;
	return true;
}

/* false: the error is written */
static bool kill_parse(struct rd_session *s, struct kill_job *j)
{
	uint32_t argc = rd_argc(s);

	memset(j, 0, sizeof(*j));
	j->type = -1;
	j->skipme = true;
	if (argc == 3) {
		/* the old form: one address, and the caller may go too */
		arg_ptr(s, 2, &j->addr, &j->addr_len);
		j->skipme = false;
		j->old_form = true;
		return true;
	}
	for (uint32_t i = 2; i < argc; i += 2) {
		bool more = i + 1 < argc;
		int64_t v;

		if (more && rd_arg_is(s, i, "id")) {
			if (!rd_arg_ll(s, i + 1, &v) || v < 1) {
				rd_err(s, "ERR client-id should be greater than 0");
				return false;
			}
			j->id = (uint64_t)v;
		} else if (more && rd_arg_is(s, i, "maxage")) {
			if (!rd_arg_ll(s, i + 1, &v)) {
				rd_err(s, "ERR maxage is not an integer or out of range");
				return false;
			}
			if (v <= 0) {
				rd_err(s, "ERR maxage should be greater than 0");
				return false;
			}
			j->maxage = v;
		} else if (more && rd_arg_is(s, i, "type")) {
			int t = client_type(rd_arg(s, i + 1));

			if (t < 0) {
				err_type(s, i + 1);
				return false;
			}
			j->type = (int8_t)t;
		} else if (more && rd_arg_is(s, i, "addr")) {
			arg_ptr(s, i + 1, &j->addr, &j->addr_len);
		} else if (more && rd_arg_is(s, i, "laddr")) {
			arg_ptr(s, i + 1, &j->laddr, &j->laddr_len);
		} else if (more && rd_arg_is(s, i, "user")) {
			arg_ptr(s, i + 1, &j->user, &j->user_len);
			if (!rd_acl_user_exists(rd_server(s), j->user, j->user_len)) {
				rd_err_fmt(s, "ERR No such user '%.*s'",
					   (int)(j->user_len < 128 ? j->user_len : 128),
					   (const char *)j->user);
				return false;
			}
		} else if (more && rd_arg_is(s, i, "skipme")) {
			if (rd_arg_is(s, i + 1, "yes")) {
				j->skipme = true;
			} else if (rd_arg_is(s, i + 1, "no")) {
				j->skipme = false;
			} else {
				rd_err_syntax(s);
				return false;
			}
		} else {
			rd_err_syntax(s);
			return false;
		}
	}
	return true;
}

enum rd_res rd_client_kill(struct rd_session *s)
{
	const struct wc_app *app = rd_lcore(s)->app;
	struct kill_job *j = rd_job(s);

	if (s->step == 0) {
		if (s->flags & RD_C_MULTI) {
			/*
			 * Inside EXEC the session is borrowed by the transaction's
			 * lcore, which cannot wait for the other lcores' calls.
			 */
			rd_err(s, "ERR CLIENT KILL cannot run inside a transaction here");
			return RD_DONE;
		}
		if (!kill_parse(s, j))
			return RD_DONE;
		s->step = 1;
		s->cursor = 0;
		s->acc = s->acc2 = 0;
	}
	/* one owner call per lcore: each closes its own connections */
	while (s->cursor < app->nworkers) {
		const struct wc_lcore *lc = app->lc[s->cursor];
		struct rd_route rt = { .owner = lc->id, .part = app->parts[lc->part_idx[0]],
				       .part_idx = (uint16_t)lc->part_idx[0] };

		if (rd_call(s, &rt, kill_owner, false, s->cursor, NULL, 0) == RD_BUSY)
			return RD_BUSY;
		s->cursor++;
	}
	if (s->pending)
		return RD_PENDING;
	if (j->old_form) {
		if (s->acc == 0) {
			rd_err(s, "ERR No such client");
			return RD_DONE;
		}
		resp_ok(rd_out(s));
	} else {
		resp_int(rd_out(s), s->acc);
	}
	/* the caller matched: it goes once this reply is out */
	return s->acc2 ? RD_CLOSE : RD_DONE;
}

/* ---- CLIENT HELP ---- */

enum rd_res rd_client_help(struct rd_session *s)
{
	static const char *const lines[] = {
		"GETNAME",
		"    The name of this connection, or a null when it has none.",
		"ID",
		"    This connection's id.",
		"INFO",
		"    This connection's line of CLIENT LIST.",
		"KILL <ip:port>",
		"    Close the connection from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Close every connection matching all the filters:",
		"    * ID <client-id>",
		"    * ADDR <ip:port>     the client's address",
		"    * LADDR <ip:port>    the address it connected to",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"    * USER <username>    connections authenticated as <username>",
		"    * MAXAGE <seconds>   connections older than this",
		"    * SKIPME (YES|NO)    spare this connection (the default: yes)",
		"LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <client-id> [...]]",
		"    One line per connection, optionally only of a type or with given ids.",
		"NO-EVICT (ON|OFF)",
		"    Keep this connection when memory runs short.",
		"REPLY (ON|OFF|SKIP)",
		"    Turn the replies to this connection on, off, or off for the next command.",
		"SETINFO <LIB-NAME|LIB-VER> <value>",
		"    Record the client library's name or version.",
		"SETNAME <name>",
		"    Name this connection.",
		NULL
	};

	rd_reply_help(s, lines);
	return RD_DONE;
}
