/*
 * session.c - a Redis connection's command loop (see rd.h): parse, check,
 * run, and the memory a command's arguments borrow (arena and stages).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <urcu-qsbr.h>

#include "core/app.h"
#include "core/bus.h"
#include "core/slots.h"
#include "core/fence.h"
#include "proto/xproto.h"
#include "redis/acl.h"
#include "redis/cluster.h"
#include "redis/rd.h"
#include "redis/rdbload.h"
#include "redis/repl_master.h"
#include "redis/replica.h"
#include "redis/server.h"
#include "redis/tracking.h"
#include "store/item.h"

/* ---- the lcore behind a session ---- */

struct mc_env *rd_env(const struct rd_session *s)
{
	return s->env;
}

struct wc_lcore *rd_lcore(const struct rd_session *s)
{
	return s->env->arg;
}

struct rd_server *rd_server(const struct rd_session *s)
{
	return rd_lcore(s)->app->rd;
}

void rd_session_init(struct rd_session *s, uint64_t id, uint64_t now_ms)
{
	void *owner = s->owner;
	size_t tail = offsetof(struct rd_session, nstages);

	/* all but the arena's small buffer, which is used only below small_used: the
	 * fields after the arena too (the name, the library, the user), or a connection
	 * would show what an earlier one on the same session memory set */
	memset(s, 0, offsetof(struct rd_session, arena.small));
	memset((uint8_t *)s + tail, 0, sizeof(*s) - tail);
	s->owner = owner;
	s->owner_kind = MC_OWNER_REDIS;
	s->proto = 2;
	s->id = id;
	s->created_ms = now_ms;
	s->last_cmd_id = RD_CMD_ID_PRIVATE;
	resp_parser_init(&s->parser);
}

/* ---- arena and stages ---- */

static void *arena_alloc(void *ctx, uint64_t n)
{
	struct rd_session *s = ctx;
	struct rd_arena *a = &s->arena;
	struct wc_stage_pool *pool = rd_env(s)->stage;
	void *p;

	n = (n + 15) & ~(uint64_t)15;
	if (n > WC_STAGE_CHUNK_DATA)
		return NULL;
	if (a->small_used + n <= RD_ARENA_SMALL) {
		p = a->small + a->small_used;
		a->small_used += (uint32_t)n;
		return p;
	}
	if (!a->cur || a->used + n > a->cap) {
		uint8_t *c;

		if (!pool || a->nchunks == RD_ARENA_CHUNKS || n > WC_STAGE_CHUNK_DATA - 16 ||
		    !(c = wc_stage_chunk_get(pool)))
			return NULL;
		memcpy(c, &a->cur, sizeof(a->cur));	/* the link to the chunk before */
		a->cur = c;
		a->nchunks++;
		a->used = 16;
		a->cap = WC_STAGE_CHUNK_DATA;
	}
	p = a->cur + a->used;
	a->used += (uint32_t)n;
	return p;
}

void *rd_scratch(struct rd_session *s, uint64_t n)
{
	return arena_alloc(s, n);
}

struct rd_arena_mark rd_arena_mark(const struct rd_session *s)
{
	return (struct rd_arena_mark){ .cur = s->arena.cur, .used = s->arena.used,
				       .cap = s->arena.cap, .nchunks = s->arena.nchunks };
}

void rd_arena_release_since(struct rd_session *s, const struct rd_arena_mark *m,
			    struct wc_stage_pool *pool)
{
	struct rd_arena *a = &s->arena;

	while (a->cur && a->cur != m->cur) {
		uint8_t *prev;

		memcpy(&prev, a->cur, sizeof(prev));
		wc_stage_chunk_put(pool, a->cur);
		a->cur = prev;
	}
	a->nchunks = m->nchunks;
	a->used = m->used;
	a->cap = m->cap;
}

static struct wc_stage *stage_alloc(void *ctx, uint64_t want)
{
	struct rd_session *s = ctx;
	struct wc_stage_pool *pool = rd_env(s)->stage;

	if (!pool || s->nstages == RESP_STAGES_MAX ||
	    !wc_stage_admit(pool, &s->stages[s->nstages], want))
		return NULL;
	return &s->stages[s->nstages++];
}

/* Give back what the finished command borrowed. */
static void command_memory_release(struct rd_session *s)
{
	struct rd_arena *a = &s->arena;
	struct wc_stage_pool *pool = rd_env(s)->stage;

	static const struct rd_arena_mark empty;

	if (a->cur)
		rd_arena_release_since(s, &empty, pool);
	a->small_used = 0;
	for (unsigned i = 0; i < s->nstages; i++)
		wc_stage_release(pool, &s->stages[i]);
	s->nstages = 0;
}

void rd_session_release(struct rd_session *s, struct mc_env *env)
{
	s->env = env;
	if (s->trk.flags || s->trk.held)
		rd_tracking_off(s, true);
	rd_pubsub_release(env->arg, s);
	rd_push_release(s);
	rd_cluster_setslot_gone(s);	/* (before the command's memory goes) */
	command_memory_release(s);
	rd_multi_discard(s);
	rd_watch_clear(s);
}

/* ---- argument helpers ---- */

void rd_arg_read(const struct rd_session *s, uint32_t i, uint64_t off, void *dst, uint64_t n)
{
	resp_arg_read(rd_arg(s, i), s->in, off, dst, n);
}

bool rd_parse_ll(const uint8_t *p, uint32_t n, int64_t *out)
{
	uint64_t v = 0;
	bool neg = false;

	if (n == 0 || n > 20)
		return false;
	if (p[0] == '-') {
		neg = true;
		p++;
		n--;
		if (n == 0)
			return false;
	}
	if (n > 1 && p[0] == '0')
		return false;
	for (uint32_t i = 0; i < n; i++) {
		unsigned d = (unsigned)p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

bool rd_arg_ll(const struct rd_session *s, uint32_t i, int64_t *out)
{
	const struct resp_arg *a = rd_arg(s, i);

	return a->kind == RESP_ARG_PTR && rd_parse_ll(a->u.p, a->len, out);
}

bool rd_parse_ld(const uint8_t *p, uint32_t n, long double *out)
{
	char buf[5200];
	char *end;
	long double v;

	if (n == 0 || n >= sizeof(buf) || p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ')
		return false;
	memcpy(buf, p, n);
	buf[n] = 0;
	if (memchr(buf, 0, n))
		return false;
	errno = 0;
	v = strtold(buf, &end);
	if (*end || (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
	    isnan(v))
		return false;
	*out = v;
	return true;
}

bool rd_arg_ld(const struct rd_session *s, uint32_t i, long double *out)
{
	const struct resp_arg *a = rd_arg(s, i);

	return a->kind == RESP_ARG_PTR && rd_parse_ld(a->u.p, a->len, out);
}

/* ---- errors ---- */

void rd_err(struct rd_session *s, const char *msg)
{
	resp_error(rd_out(s), msg);
	s->failed = true;
	rd_lcore(s)->rdst.errstat[rd_errstat_of(msg)]++;
}

void rd_err_fmt(struct rd_session *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	/* no newlines inside an error line */
	for (int i = 0; i < n && i < (int)sizeof(buf); i++)
		if (buf[i] == '\r' || buf[i] == '\n')
			buf[i] = ' ';
	rd_err(s, buf);
}

void rd_err_syntax(struct rd_session *s)
{
	rd_err(s, "ERR syntax error");
}

void rd_err_int(struct rd_session *s)
{
	rd_err(s, "ERR value is not an integer or out of range");
}

void rd_err_wrongtype(struct rd_session *s)
{
	rd_err(s, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

/* Up to max bytes of an argument, printable, for error messages (Redis's sdscatrepr-ish) */
static void arg_text(const struct resp_arg *a, char *buf, size_t cap)
{
	size_t n = 0;

	if (a->kind == RESP_ARG_PTR) {
		for (uint32_t i = 0; i < a->len && n + 1 < cap; i++) {
			uint8_t c = a->u.p[i];

			buf[n++] = (c >= 32 && c < 127) ? (char)c : '?';
		}
	}
	buf[n] = 0;
}

void rd_err_arity(struct rd_session *s)
{
	char name[128];

	if (s->def && s->def->name) {
		if (rd_cmd_parent(s->def))
			snprintf(name, sizeof(name), "%s|%s", rd_cmd_parent(s->def)->name,
				 s->def->name);
		else
			snprintf(name, sizeof(name), "%s", s->def->name);
	} else {
		arg_text(rd_arg(s, 0), name, sizeof(name));
	}
	rd_err_fmt(s, "ERR wrong number of arguments for '%s' command", name);
}

/* Redis: "unknown command 'x', with args beginning with: 'a' 'b' " */
static void err_unknown(struct rd_session *s)
{
	char msg[512], arg[128];
	int n;

	arg_text(rd_arg(s, 0), arg, sizeof(arg));
	n = snprintf(msg, sizeof(msg), "ERR unknown command '%s', with args beginning with: ", arg);
	for (uint32_t i = 1; i < rd_argc(s) && n < (int)sizeof(msg) - 140; i++) {
		arg_text(rd_arg(s, i), arg, sizeof(arg));
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "'%s' ", arg);
	}
	rd_err(s, msg);
}

static void err_unknown_sub(struct rd_session *s)
{
	char sub[128], cmd[64];

	arg_text(rd_arg(s, 1), sub, sizeof(sub));
	arg_text(rd_arg(s, 0), cmd, sizeof(cmd));
	for (char *p = cmd; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	rd_err_fmt(s, "ERR unknown subcommand '%s'. Try %s HELP.", sub, cmd);
}

/* ---- routing ---- */

void rd_route_key(const struct rd_session *s, const uint8_t *key, uint32_t klen,
		  struct rd_route *out)
{
	const struct wc_lcore *lc = rd_env(s)->arg;
	const struct wc_app *app = lc->app;
	const uint16_t *table = rcu_dereference(app->slot_part);

	out->slot = wc_key_slot(key, klen);
	out->part_idx = table[out->slot] & WC_SLOT_PART_MASK;
	wc_slot_route(app, table, out->slot, &out->part, &out->owner);
}

bool rd_lookup(struct rd_session *s, const uint8_t *key, uint32_t klen, struct wc_view *v,
	       unsigned lflags)
{
	const struct wc_lcore *lc = rd_env(s)->arg;
	const uint16_t *table = rcu_dereference(lc->app->slot_part);
	struct wc_part *part = wc_slot_read_part(lc->app, table);

	/* one partition serving every slot (as memcached's reads): no CRC16 of the key's slot */
	if (!part) {
		struct rd_route rt;

		rd_route_key(s, key, klen, &rt);
		part = rt.part;
	}
	/* (a container's parts are items too, but never keys: store/container.h) */
	return wc_get(part, rd_env(s)->ctx, key, klen, wc_hash(key, klen),
		      lflags | WC_LOOKUP_ANY_TYPE, v) && v->type < WC_TYPE_INTERNAL;
}

/* ---- running a command ---- */

/*
 * As Redis counts: a command refused before it ran (rejected; a write the
 * store had no room for counts so too, Redis's OOM refusal) is a
 * rejected_calls of its command and no call, and not in
 * total_commands_processed; its error reply went into errorstats where it
 * was written (rd_err), the OOM one here. An unknown command counts only
 * as its error; a command queued in MULTI not at all (EXEC counts it).
 */
static void count_command(struct rd_session *s, bool rejected)
{
	struct rd_lcore_stats *st = &rd_lcore(s)->rdst;
	struct rd_server *srv = rd_server(s);
	uint64_t cycles = 0;

	if (__builtin_expect(s->oom_refused, 0)) {
		st->errstat[RD_ERRSTAT_OOM]++;
		rejected = true;
	}
	if (!s->def || s->queued)
		return;
	if (rejected) {
		if (s->def->id != RD_CMD_ID_PRIVATE) {
			st->rejected++;
			st->cmd_rejected[s->def->id]++;
		}
		return;
	}
	st->commands++;
	if (s->def->id == RD_CMD_ID_PRIVATE)
		return;
	if (s->tsc_start) {
		cycles = rte_rdtsc() - s->tsc_start;
		st->cycles[s->def->id] += cycles;
	}
	st->calls[s->def->id]++;
	if (s->failed) {
		st->failed++;
		st->cmd_failed[s->def->id]++;
	}
	/* (the threshold in cycles: no division per command) */
	if (cycles >= __atomic_load_n(&rd_slowlog_cycles, __ATOMIC_RELAXED) &&
	    !(s->def->flags & RD_F_SKIP_SLOWLOG))
		rd_slowlog_note(srv, s, cycles);
}

/* The command is over (replied, or refused): its memory and bytes go. */
static void finish(struct rd_session *s, struct mc_inq *in, bool rejected)
{
	/* client tracking: the reads it remembers, CACHING's lapse, what it held (tracking.h) */
	if (s->trk.flags || s->trk.held)
		rd_tracking_command_done(s, !rejected);
	count_command(s, rejected);
	if (__builtin_expect(s->flags & RD_C_MASTER, 0))
		rd_replica_cmd_done(rejected || s->failed || s->oom_refused);
	rd_cluster_command_done(s);
	command_memory_release(s);
	resp_parse_done(&s->parser, &s->cmd, in);
	s->def = NULL;
	s->step = 0;
	s->failed = false;
	s->oom_refused = false;
	s->queued = false;
	s->tsc_start = 0;
	if (s->flags & RD_C_REPLY_SKIP)
		s->flags &= ~RD_C_REPLY_SKIP;
	if (s->st != RD_S_CLOSE)
		s->st = RD_S_PARSE;
	/* frames that came while the reply was being written follow it (push.h) */
	if (s->push.bl_head)
		rd_push_cmd_done(s);
}

/* A sink that drops everything (CLIENT REPLY OFF / SKIP). */
static bool discard_more(struct mc_out *o)
{
	static __thread uint8_t bin[256];

	o->p = bin;
	o->end = bin + sizeof(bin);
	return true;
}

static enum rd_res run_handler(struct rd_session *s)
{
	enum rd_res r;

	s->busy = false;
	r = s->def->fn(s);
	if (r == RD_PENDING && !rd_calls_out(s))
		r = RD_DONE;	/* (every call ran inline after all) */
	return r;
}

/* What happened to the command now running: the next state, and the transport's answer. */
static int after_run(struct rd_session *s, struct mc_inq *in, enum rd_res r, enum mc_run *ret)
{
	switch (r) {
	case RD_PENDING:
		s->st = RD_S_RUN;
		*ret = MC_RUN_PENDING;
		return 1;
	case RD_BUSY:
		s->st = RD_S_RUN;
		s->busy = true;
		*ret = s->pending ? MC_RUN_PENDING : MC_RUN_BUSY;
		return 1;
	case RD_CLOSE:
		s->st = RD_S_CLOSE;
		s->close_reason = MC_CLOSE_QUIT;
		finish(s, in, false);
		*ret = MC_RUN_CLOSE;
		return 1;
	case RD_DONE:
		break;
	}
	finish(s, in, false);
	return 0;
}

/*
 * Checks before a command runs, in Redis's order: the command exists, its
 * arity, authentication, ACL, then MULTI queueing and cluster routing.
 * Returns true when the command should run; false when it was answered
 * (refused or queued).
 */
static bool admit(struct rd_session *s)
{
	const struct rd_cmd *c = NULL;
	uint32_t argc = rd_argc(s);

	if (__builtin_expect(s->flags & RD_C_MASTER, 0))
		c = rd_replica_master_cmd(s);	/* (its private commands first) */
	if (!c)
		c = rd_cmd_lookup(rd_arg(s, 0));

	s->last_cmd_id = c ? c->id : RD_CMD_ID_PRIVATE;
	if (!c) {
		rd_lcore(s)->rdst.unknown++;
		err_unknown(s);
		if (s->flags & RD_C_MULTI)
			s->flags |= RD_C_DIRTY_EXEC;
		return false;
	}
	if (c->sub && argc >= 2) {
		const struct rd_cmd *sub = rd_subcmd_lookup(c, rd_arg(s, 1));

		s->last_cmd_id = sub ? sub->id : RD_CMD_ID_PRIVATE;
		if (!sub) {
			s->def = c;
			err_unknown_sub(s);
			if (s->flags & RD_C_MULTI)
				s->flags |= RD_C_DIRTY_EXEC;
			return false;
		}
		c = sub;
	}
	s->def = c;
	if ((c->arity > 0 && (int64_t)argc != c->arity) || (int64_t)argc < -c->arity ||
	    (c->sub && argc < 2 && !c->fn)) {
		rd_err_arity(s);
		if (s->flags & RD_C_MULTI)
			s->flags |= RD_C_DIRTY_EXEC;
		return false;
	}
	if (__builtin_expect(s->flags & RD_C_MASTER, 0))
		return true;	/* the master's stream: its privileges (redis/replica.h) */
	if (!s->authenticated && !(c->flags & RD_F_NO_AUTH) && rd_acl_auth_required(rd_server(s))) {
		rd_err(s, "NOAUTH Authentication required.");
		if (s->flags & RD_C_MULTI)
			s->flags |= RD_C_DIRTY_EXEC;
		return false;
	}
	if (!rd_acl_check(s, c))
		return false;
	if (!rd_cluster_admit(s, c))
		return false;
	if ((c->flags & RD_F_WRITE) && wc_writes_fenced()) {
		/* a master cut off from etcd (core/fence.h): as a minority master answers */
		__atomic_fetch_add(&wc_fence_refused, 1, __ATOMIC_RELAXED);
		rd_err(s, "CLUSTERDOWN The cluster is down");
		if (s->flags & RD_C_MULTI)
			s->flags |= RD_C_DIRTY_EXEC;
		return false;
	}
	if ((c->flags & RD_F_WRITE) && __builtin_expect(rd_replica_read_only(), 0)) {
		rd_err(s, "READONLY You can't write against a read only replica.");
		if (s->flags & RD_C_MULTI)
			s->flags |= RD_C_DIRTY_EXEC;
		return false;
	}
	if ((s->flags & RD_C_PUBSUB) && !rd_pubsub_admit(s, c))
		return false;	/* RESP2's subscribed mode (pubsub.c) */
	if (!(c->flags & RD_F_LOADING) && rd_rdb_loading()) {	/* a start-up load (rdbload.h) */
		rd_err(s, "LOADING Redis is loading the dataset in memory");
		if (s->flags & RD_C_MULTI)
			s->flags |= RD_C_DIRTY_EXEC;
		return false;
	}
	if ((c->flags & RD_F_WRITE) && rd_repl_writes_refused(s)) {	/* min-replicas-to-write */
		rd_err(s, "NOREPLICAS Not enough good replicas to write.");
		if (s->flags & RD_C_MULTI)
			s->flags |= RD_C_DIRTY_EXEC;
		return false;
	}
	if ((s->flags & RD_C_MULTI) && !rd_multi_passes(c)) {
		rd_multi_queue(s);
		s->queued = !s->failed;	/* (a queue that could not take it: refused) */
		return false;
	}
	return true;
}

bool rd_inline_is_http(const struct rd_session *s)
{
	const struct resp_arg *first = rd_arg(s, 0), *second = rd_arg(s, 1),
			      *last = rd_arg(s, rd_argc(s) - 1);
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
					       "PATCH", "CONNECT", "TRACE" };

	if (last->kind == RESP_ARG_PTR && last->len >= 5 && memcmp(last->u.p, "HTTP/", 5) == 0)
		return true;
	if (second->kind != RESP_ARG_PTR || !second->len || second->u.p[0] != '/')
		return false;
	for (unsigned i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (first->len == strlen(methods[i]) &&
		    memcmp(first->u.p, methods[i], first->len) == 0)
			return true;
	return false;
}

static bool is_cross_protocol(struct rd_session *s)
{
	const struct resp_arg *a = rd_arg(s, 0);

	/* (every command asks: the length first, no strlen of the words for a GET) */
	return (a->len == 5 && resp_arg_is(a, "host:")) || (a->len == 4 && resp_arg_is(a, "post"));
}

enum mc_run rd_session_run(struct rd_session *s, struct mc_inq *in, struct mc_out *out,
			   struct mc_env *env)
{
	struct rd_lcore_stats *st = &((struct wc_lcore *)env->arg)->rdst;
	struct rd_server *srv = ((struct wc_lcore *)env->arg)->app->rd;

	/*
	 * Waiting for an owner call: the owner may be using the session right
	 * now (EXEC borrows it), so nothing of it is touched until the completion.
	 */
	if (s->st == RD_S_RUN && s->pending)
		return MC_RUN_PENDING;
	s->env = env;
	s->in = in;
	s->conn_out = out;
	for (;;) {
		enum mc_run ret;
		const char *err = NULL;
		enum resp_parse pr;
		struct resp_mem mem = { .alloc = arena_alloc, .stage = stage_alloc, .ctx = s };
		struct resp_limits lim = { .max_bulk = srv->proto_max_bulk_len,
					   .authenticated = s->authenticated ||
							    !rd_acl_auth_required(srv) };

		switch (s->st) {
		case RD_S_CLOSE:
			return MC_RUN_CLOSE;
		case RD_S_RUN:
			/* waiting for completions, or retrying after the mailbox was full */
			if (s->pending)
				return MC_RUN_PENDING;
			if (after_run(s, in, run_handler(s), &ret))
				return ret;
			continue;
		default:
			break;
		}
		if (s->flags & RD_C_KILLED) {
			s->st = RD_S_CLOSE;
			return MC_RUN_CLOSE;
		}
		if (in->len == 0)
			return MC_RUN_MORE;
		if (mc_out_full(out))
			return MC_RUN_FULL;
		pr = resp_parse(&s->parser, &s->cmd, in, &lim, &mem, &err);
		switch (pr) {
		case RESP_MORE:
			return MC_RUN_MORE;
		case RESP_NOMEM:
			s->stage_wait = true;
			return MC_RUN_MORE;
		case RESP_PROTO_ERROR: {
			char msg[128];

			snprintf(msg, sizeof(msg), "ERR %s", err);
			resp_error(out, msg);
			s->st = RD_S_CLOSE;
			s->close_reason = MC_CLOSE_LINE_TOO_LONG;
			return MC_RUN_CLOSE;
		}
		case RESP_EMPTY:
			resp_parse_done(&s->parser, &s->cmd, in);
			command_memory_release(s);
			continue;
		case RESP_COMMAND:
			break;
		}
		s->stage_wait = false;
		st->net_in += s->cmd.bytes;
		if (is_cross_protocol(s) ||
		    (s->cmd.is_inline && rd_argc(s) >= 2 && rd_inline_is_http(s))) {
			/* Redis: a POST or Host: line is an attack from a browser: hang up */
			env->st.http_closed++;
			s->st = RD_S_CLOSE;
			s->close_reason = MC_CLOSE_HTTP;
			command_memory_release(s);
			return MC_RUN_CLOSE;
		}
		s->out = out;
		if (s->flags & (RD_C_REPLY_OFF | RD_C_REPLY_SKIP_NEXT)) {
			static __thread struct mc_out devnull;

			if (s->flags & RD_C_REPLY_SKIP_NEXT) {
				s->flags &= ~RD_C_REPLY_SKIP_NEXT;
				s->flags |= RD_C_REPLY_SKIP;
			}
			devnull = (struct mc_out){ .more = discard_more };
			s->out = &devnull;
		}
		s->def = NULL;
		s->step = 0;
		s->acc = s->acc2 = 0;
		s->failed = false;
		s->call_failed = false;
		s->oom_refused = false;
		s->queued = false;
		s->redact = 0;
		rd_push_cmd_start(&s->push, out->written, ((struct wc_lcore *)env->arg)->id);
		if (!admit(s)) {
			finish(s, in, s->def != NULL);
			continue;
		}
		s->tsc_start = rte_rdtsc();
		if (after_run(s, in, run_handler(s), &ret))
			return ret;
	}
}

void rd_session_complete(struct rd_session *s, struct wc_mbox_req *req, struct mc_inq *in,
			 struct mc_out *out, struct mc_env *env)
{
	enum mc_run ret;

	s->env = env;
	s->in = in;
	s->conn_out = out;
	/*
	 * What the owner told this lcore before it completed (core/bus.h: it
	 * flushed first) is handled before the reply goes out: a subscriber's
	 * own keyspace notification precedes its write's reply, as in Redis.
	 */
	if (s->flags & RD_C_PUBSUB)
		(void)wc_bus_drain(env->arg, 64);
	rd_call_complete(s, req);
	if (s->pending || s->st != RD_S_RUN || s->busy)
		return;
	(void)after_run(s, in, run_handler(s), &ret);
}

void rd_session_resume(struct rd_session *s, struct mc_inq *in, struct mc_out *out,
		       struct mc_env *env)
{
	enum mc_run ret;

	s->env = env;
	s->in = in;
	s->conn_out = out;
	if (s->pending || s->st != RD_S_RUN || s->busy)
		return;
	(void)after_run(s, in, run_handler(s), &ret);
}

bool rd_session_mid_request(const struct rd_session *s, const struct mc_inq *in)
{
	/* a command begun: bytes of it waiting, or taken already (a bulk in a stage) */
	return s->st == RD_S_PARSE && (in->len > 0 || s->parser.st != 0);
}
