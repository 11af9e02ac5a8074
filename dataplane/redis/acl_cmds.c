/*
 * acl_cmds.c - AUTH and the ACL command (SETUSER, DELUSER, GETUSER, LIST,
 * USERS, WHOAMI, CAT, GENPASS, LOG, DRYRUN, LOAD, SAVE, HELP), with Redis
 * 7.0's replies and errors. They run on the connection's lcore; a change
 * to the users builds a new table and publishes it (acl.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <urcu-qsbr.h>

#include "redis/acl.h"
#include "redis/acl_impl.h"
#include "redis/rdutil.h"
#include "redis/cmds.h"
#include "redis/server.h"

static const char *const no_aclfile =
	"ERR This Redis instance is not configured to use an ACL file. You may want to specify "
	"users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
	"Redis configuration file set) in order to store users in the Redis configuration.";

/* Argument i's bytes, contiguous (copied into scratch when large); NULL if no memory. */
static const uint8_t *arg_bytes(struct rd_session *s, uint32_t i, size_t *len)
{
	const struct resp_arg *a = rd_arg(s, i);
	uint8_t *p;

	*len = a->len;
	if (a->kind == RESP_ARG_PTR)
		return a->u.p;
	p = rd_scratch(s, a->len);
	if (p)
		rd_arg_read(s, i, 0, p, a->len);
	return p;
}

static const struct rd_acl *table(const struct rd_session *s)
{
	return rcu_dereference(rd_server(s)->acl);
}

/* "unknown subcommand or wrong number of arguments for 'X'. Try ACL HELP." */
static void err_sub_syntax(struct rd_session *s)
{
	const struct resp_arg *a = rd_arg(s, 1);

	rd_err_fmt(s, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try ACL HELP.",
		   a->kind == RESP_ARG_PTR ? (int)(a->len < 128 ? a->len : 128) : 0,
		   a->kind == RESP_ARG_PTR ? (const char *)a->u.p : "");
}

/* ---- AUTH ---- */

/* AUTH [username] password */
static enum rd_res auth(struct rd_session *s)
{
	static const struct resp_arg def = { .u.p = (const uint8_t *)"default", .len = 7 };

	if (rd_argc(s) > 3) {
		rd_err_syntax(s);
		return RD_DONE;
	}
	if (rd_argc(s) == 2 && rd_acl_default_nopass(rd_server(s))) {
		rd_err(s, "ERR AUTH <password> called without any password configured for the "
			  "default user. Are you sure your configuration is correct?");
		return RD_DONE;
	}
	if (rd_acl_authenticate(s, rd_argc(s) == 3 ? rd_arg(s, 1) : &def,
				rd_arg(s, rd_argc(s) - 1)))
		resp_ok(rd_out(s));
	return RD_DONE;
}

/* ---- SETUSER, DELUSER ---- */

static enum rd_res setuser(struct rd_session *s)
{
	struct rd_server *srv = rd_server(s);
	uint32_t n = rd_argc(s) - 3;
	const uint8_t **args = rd_scratch(s, (uint64_t)(n ? n : 1) * sizeof(*args));
	size_t *lens = rd_scratch(s, (uint64_t)(n ? n : 1) * sizeof(*lens));
	size_t nlen;
	const uint8_t *name = arg_bytes(s, 2, &nlen);
	struct rd_acl *t;
	struct rd_user *u;
	char err[512];
	int at;

	if (s->step)
		goto kill;	/* re-entered: the calls below completed */
	if (!args || !lens || !name) {
		rd_err(s, "ERR out of memory");
		return RD_DONE;
	}
	if (acl_has_spaces(name, nlen)) {
		rd_err(s, "ERR Usernames can't contain spaces or null characters");
		return RD_DONE;
	}
	for (uint32_t i = 0; i < n; i++) {
		args[i] = arg_bytes(s, 3 + i, &lens[i]);
		if (!args[i]) {
			rd_err(s, "ERR out of memory");
			return RD_DONE;
		}
	}
	t = acl_begin(srv);
	if (!t) {
		rd_err(s, "ERR out of memory");
		return RD_DONE;
	}
	at = acl_table_find(t, name, nlen);
	u = at >= 0 ? acl_user_copy(t->users[at]) : acl_user_new(name, nlen);
	if (!u) {
		acl_abort(srv, t);
		rd_err(s, "ERR out of memory");
		return RD_DONE;
	}
	if (!acl_user_setuser(u, n, args, lens, err, sizeof(err))) {
		acl_user_free(u);
		acl_abort(srv, t);
		rd_err_fmt(s, "ERR %s", err);
		return RD_DONE;
	}
	if (at < 0)
		u->uid = acl_new_uid(srv);
	if (!acl_table_put(t, u)) {
		acl_user_free(u);
		acl_abort(srv, t);
		rd_err(s, "ERR out of memory");
		return RD_DONE;
	}
	memcpy(s->job, &u->uid, sizeof(u->uid));
	acl_commit(srv, t);
kill:
	/* subscribers of this user listening where it may no longer: closed (pubsub.h) */
	if (!(s->flags & RD_C_MULTI)) {
		enum rd_res r = rd_fanout_lcores(s, rd_pubsub_acl_kill_owner,
						 rd_pubsub_lcore_active);

		if (r != RD_DONE)
			return r;
	}
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res deluser(struct rd_session *s)
{
	struct rd_server *srv = rd_server(s);
	struct rd_acl *t;
	int64_t deleted = 0;
	bool self = false;
	uint64_t any = 0;

	if (s->step)
		goto kill;	/* re-entered: the calls below completed */
	for (uint32_t i = 2; i < rd_argc(s); i++) {
		const struct resp_arg *a = rd_arg(s, i);

		if (a->kind == RESP_ARG_PTR && a->len == 7 && memcmp(a->u.p, "default", 7) == 0) {
			rd_err(s, "ERR The 'default' user cannot be removed");
			return RD_DONE;
		}
	}
	t = acl_begin(srv);
	if (!t) {
		rd_err(s, "ERR out of memory");
		return RD_DONE;
	}
	for (uint32_t i = 2; i < rd_argc(s); i++) {
		const struct resp_arg *a = rd_arg(s, i);
		int at = a->kind == RESP_ARG_PTR ? acl_table_find(t, a->u.p, a->len) : -1;

		if (at < 0)
			continue;
		self |= t->users[at]->uid == s->acl_uid;
		acl_table_remove(t, (unsigned)at);
		deleted++;
	}
	if (deleted)
		acl_commit(srv, t);
	else
		acl_abort(srv, t);
	/* job: uid 0 (any user), the count, whether the caller's own user went */
	memcpy(s->job, &any, sizeof(any));
	memcpy(s->job + 8, &deleted, sizeof(deleted));
	s->job[16] = self;
kill:
	/* subscribers whose user is gone are closed, as Redis closes the user's clients */
	memcpy(&deleted, s->job + 8, sizeof(deleted));
	if (!(s->flags & RD_C_MULTI) && deleted) {
		enum rd_res r = rd_fanout_lcores(s, rd_pubsub_acl_kill_owner,
						 rd_pubsub_lcore_active);

		if (r != RD_DONE)
			return r;
	}
	resp_int(rd_out(s), deleted);
	if (s->job[16])
		s->flags |= RD_C_KILLED;	/* Redis closes it after this reply */
	return RD_DONE;
}

/* ---- GETUSER, LIST, USERS, WHOAMI ---- */

/* commands, keys and channels of a selector (three map entries) */
static bool selector_fields(struct rd_session *s, const struct acl_selector *sel)
{
	struct mc_out *o = rd_out(s);
	char *cmds = acl_describe_commands(sel), *keys = acl_describe_keys(sel),
	     *chans = acl_describe_channels(sel);
	bool ok = cmds && keys && chans;

	if (ok) {
		resp_bulk_str(o, "commands");
		resp_bulk_str(o, cmds);
		resp_bulk_str(o, "keys");
		resp_bulk_str(o, keys);
		resp_bulk_str(o, "channels");
		resp_bulk_str(o, chans);
	}
	free(cmds);
	free(keys);
	free(chans);
	return ok;
}

static enum rd_res getuser(struct rd_session *s)
{
	static const char hex[] = "0123456789abcdef";
	const struct rd_acl *t = table(s);
	const struct resp_arg *a = rd_arg(s, 2);
	int at = a->kind == RESP_ARG_PTR ? acl_table_find(t, a->u.p, a->len) : -1;
	struct mc_out *o = rd_out(s);
	const struct rd_user *u;
	unsigned nflags = 0;

	if (at < 0) {
		resp_null(o, s->proto);
		return RD_DONE;
	}
	u = t->users[at];
	for (unsigned j = 0; j < ACL_NUSER_FLAGS; j++)
		nflags += (u->flags >> j) & 1;
	resp_map(o, s->proto, 6);
	resp_bulk_str(o, "flags");
	resp_set(o, s->proto, nflags);
	for (unsigned j = 0; j < ACL_NUSER_FLAGS; j++)
		if (u->flags & (1u << j))
			resp_bulk_str(o, acl_user_flag_names[j]);
	resp_bulk_str(o, "passwords");
	resp_array(o, u->npass);
	for (unsigned i = 0; i < u->npass; i++) {
		char h[2 * ACL_DIGEST];

		for (unsigned k = 0; k < ACL_DIGEST; k++) {
			h[2 * k] = hex[u->pass[i][k] >> 4];
			h[2 * k + 1] = hex[u->pass[i][k] & 15];
		}
		resp_bulk(o, h, sizeof(h));
	}
	if (!selector_fields(s, &u->sel[0])) {
		rd_err(s, "ERR out of memory");	/* (mid-reply: the connection cannot recover) */
		return RD_CLOSE;
	}
	resp_bulk_str(o, "selectors");
	resp_array(o, u->nsel - 1);
	for (unsigned i = 1; i < u->nsel; i++) {
		resp_map(o, s->proto, 3);
		if (!selector_fields(s, &u->sel[i])) {
			rd_err(s, "ERR out of memory");
			return RD_CLOSE;
		}
	}
	return RD_DONE;
}

static enum rd_res list(struct rd_session *s)
{
	const struct rd_acl *t = table(s);
	struct mc_out *o = rd_out(s);

	resp_array(o, t->nusers);
	for (unsigned i = 0; i < t->nusers; i++) {
		const struct rd_user *u = t->users[i];
		char *d = acl_describe_user(u);

		if (!d) {
			rd_err(s, "ERR out of memory");
			return RD_CLOSE;
		}
		resp_header(o, '$', 5 + u->nlen + 1 + (int64_t)strlen(d));
		mc_out_put(o, "user ", 5);
		mc_out_put(o, u->name, u->nlen);
		mc_out_put(o, " ", 1);
		mc_out_put(o, d, strlen(d));
		mc_out_put(o, "\r\n", 2);
		free(d);
	}
	return RD_DONE;
}

static enum rd_res users(struct rd_session *s)
{
	const struct rd_acl *t = table(s);

	resp_array(rd_out(s), t->nusers);
	for (unsigned i = 0; i < t->nusers; i++)
		resp_bulk(rd_out(s), t->users[i]->name, t->users[i]->nlen);
	return RD_DONE;
}

static enum rd_res whoami(struct rd_session *s)
{
	const struct rd_user *u = acl_session_user(s);

	if (u)
		resp_bulk(rd_out(s), u->name, u->nlen);
	else
		resp_null(rd_out(s), s->proto);
	return RD_DONE;
}

/* ---- CAT, GENPASS ---- */

static enum rd_res cat(struct rd_session *s)
{
	struct mc_out *o = rd_out(s);
	const struct resp_arg *a;
	unsigned n, count = 0;
	const struct rd_cmd *const *tops;
	uint32_t flag;

	if (rd_argc(s) == 2) {
		resp_array(o, RD_ACL_NCATS);
		for (unsigned i = 0; i < RD_ACL_NCATS; i++)
			resp_bulk_str(o, acl_cat_name(i));
		return RD_DONE;
	}
	if (rd_argc(s) != 3) {
		err_sub_syntax(s);
		return RD_DONE;
	}
	a = rd_arg(s, 2);
	flag = a->kind == RESP_ARG_PTR ? acl_cat_by_name(a->u.p, a->len) : 0;
	if (!flag) {
		rd_err_fmt(s, "ERR Unknown category '%.*s'",
			   a->kind == RESP_ARG_PTR ? (int)(a->len < 128 ? a->len : 128) : 0,
			   a->kind == RESP_ARG_PTR ? (const char *)a->u.p : "");
		return RD_DONE;
	}
	tops = rd_cmd_tops(&n);
	for (unsigned i = 0; i < n; i++) {
		count += (tops[i]->acl & flag) != 0;
		for (const struct rd_cmd *sc = tops[i]->sub; sc && sc->name; sc++)
			count += (sc->acl & flag) != 0;
	}
	resp_array(o, count);
	for (unsigned i = 0; i < n; i++) {
		char name[128];

		if (tops[i]->acl & flag)
			resp_bulk_str(o, tops[i]->name);
		for (const struct rd_cmd *sc = tops[i]->sub; sc && sc->name; sc++) {
			if (!(sc->acl & flag))
				continue;
			acl_cmd_fullname(sc, name, sizeof(name));
			resp_bulk_str(o, name);
		}
	}
	return RD_DONE;
}

static enum rd_res genpass(struct rd_session *s)
{
	static const char hex[] = "0123456789abcdef";
	int64_t bits = 256;
	uint8_t raw[512];
	char out[1024];
	size_t chars;

	if (rd_argc(s) > 3) {
		err_sub_syntax(s);
		return RD_DONE;
	}
	if (rd_argc(s) == 3 && !rd_arg_ll(s, 2, &bits)) {
		rd_err_int(s);
		return RD_DONE;
	}
	if (bits <= 0 || bits > 4096) {
		rd_err(s, "ERR ACL GENPASS argument must be the number of bits for the output "
			  "password, a positive number up to 4096");
		return RD_DONE;
	}
	chars = (size_t)(bits + 3) / 4;
	if (RAND_bytes(raw, (int)((chars + 1) / 2)) != 1) {
		rd_err(s, "ERR no random bytes for a password");
		return RD_DONE;
	}
	for (size_t i = 0; i < chars; i++)
		out[i] = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	resp_bulk(rd_out(s), out, chars);
	return RD_DONE;
}

/* ---- LOG ---- */

static const char *reason_name(uint8_t r)
{
	switch (r) {
	case ACL_DENIED_CMD:
		return "command";
	case ACL_DENIED_KEY:
		return "key";
	case ACL_DENIED_CHANNEL:
		return "channel";
	case ACL_DENIED_AUTH:
		return "auth";
	default:
		return "unknown";
	}
}

static const char *context_name(uint8_t c)
{
	switch (c) {
	case ACL_CTX_TOPLEVEL:
		return "toplevel";
	case ACL_CTX_MULTI:
		return "multi";
	case ACL_CTX_LUA:
		return "lua";
	case ACL_CTX_MODULE:
		return "module";
	default:
		return "unknown";
	}
}

static enum rd_res log_cmd(struct rd_session *s)
{
	struct rd_acl_priv *p = rd_server(s)->acl_priv;
	struct mc_out *o = rd_out(s);
	int64_t count = 10, now = wc_clock_unix_ms(&rd_env(s)->ctx->clock);

	if (rd_argc(s) > 3) {
		err_sub_syntax(s);
		return RD_DONE;
	}
	if (rd_argc(s) == 3) {
		if (rd_arg_is(s, 2, "reset")) {
			rte_spinlock_lock(&p->log_lock);
			p->nlog = 0;
			rte_spinlock_unlock(&p->log_lock);
			resp_ok(o);
			return RD_DONE;
		}
		if (!rd_arg_ll(s, 2, &count)) {
			rd_err_int(s);
			return RD_DONE;
		}
		if (count < 0)
			count = 0;
	}
	rte_spinlock_lock(&p->log_lock);
	if (count > (int64_t)p->nlog)
		count = p->nlog;
	resp_array(o, count);
	for (int64_t i = 0; i < count; i++) {
		const struct acl_log_entry *e = &p->log[p->order[i]];

		resp_map(o, s->proto, 7);
		resp_bulk_str(o, "count");
		resp_int(o, (int64_t)e->count);
		resp_bulk_str(o, "reason");
		resp_bulk_str(o, reason_name(e->reason));
		resp_bulk_str(o, "context");
		resp_bulk_str(o, context_name(e->context));
		resp_bulk_str(o, "object");
		resp_bulk(o, e->object, e->olen);
		resp_bulk_str(o, "username");
		resp_bulk(o, e->username, e->ulen);
		resp_bulk_str(o, "age-seconds");
		resp_double(o, s->proto, (double)(now - e->ctime_ms) / 1000);
		resp_bulk_str(o, "client-info");
		resp_bulk_str(o, e->cinfo);
	}
	rte_spinlock_unlock(&p->log_lock);
	return RD_DONE;
}

/* ---- DRYRUN ---- */

/* The command in arguments 3.. as a command of its own (descriptors only; bytes stay). */
static bool shifted(struct rd_session *s, struct resp_cmd *c)
{
	uint32_t n = rd_argc(s) - 3;

	memset(c, 0, sizeof(*c));
	c->argc = n;
	if (n > RESP_ARGV_EMBED) {
		uint32_t extra = n - RESP_ARGV_EMBED;
		uint32_t nb = (extra + RESP_ARGV_BLOCK - 1) / RESP_ARGV_BLOCK;

		c->blocks = rd_scratch(s, nb * sizeof(*c->blocks));
		if (!c->blocks)
			return false;
		for (uint32_t b = 0; b < nb; b++) {
			c->blocks[b] = rd_scratch(s, RESP_ARGV_BLOCK * sizeof(struct resp_arg));
			if (!c->blocks[b])
				return false;
		}
		c->nblocks = nb;
	}
	for (uint32_t i = 0; i < n; i++)
		*resp_argv(c, i) = *rd_arg(s, 3 + i);
	return true;
}

static enum rd_res dryrun(struct rd_session *s)
{
	const struct rd_acl *t = table(s);
	const struct resp_arg *un = rd_arg(s, 2), *cn = rd_arg(s, 3);
	int at = un->kind == RESP_ARG_PTR ? acl_table_find(t, un->u.p, un->len) : -1;
	const struct rd_cmd *c;
	struct resp_cmd cmd;
	uint32_t argc = rd_argc(s) - 3, pos = 0;
	char name[128];
	enum acl_deny r;

	if (at < 0) {
		rd_err_fmt(s, "ERR User '%.*s' not found",
			   un->kind == RESP_ARG_PTR ? (int)(un->len < 200 ? un->len : 200) : 0,
			   un->kind == RESP_ARG_PTR ? (const char *)un->u.p : "");
		return RD_DONE;
	}
	c = rd_cmd_lookup(cn);
	if (c && c->sub && argc >= 2)
		c = rd_subcmd_lookup(c, rd_arg(s, 4));
	if (!c) {
		rd_err_fmt(s, "ERR Command '%.*s' not found",
			   cn->kind == RESP_ARG_PTR ? (int)(cn->len < 200 ? cn->len : 200) : 0,
			   cn->kind == RESP_ARG_PTR ? (const char *)cn->u.p : "");
		return RD_DONE;
	}
	acl_cmd_fullname(c, name, sizeof(name));
	if ((c->arity > 0 && (int64_t)argc != c->arity) || (int64_t)argc < -c->arity) {
		rd_err_fmt(s, "ERR wrong number of arguments for '%s' command", name);
		return RD_DONE;
	}
	if (!shifted(s, &cmd)) {
		rd_err(s, "ERR out of memory");
		return RD_DONE;
	}
	r = acl_check_cmd(s, t->users[at], c, &cmd, true, &pos);
	if (r == ACL_ALLOWED) {
		resp_ok(rd_out(s));
	} else if (r == ACL_DENIED_CMD) {
		char msg[256];

		snprintf(msg, sizeof(msg), "This user has no permissions to run the '%s' command",
			 name);
		resp_bulk_str(rd_out(s), msg);
	} else {
		const struct resp_arg *k = resp_argv(&cmd, pos);
		const char *what = r == ACL_DENIED_KEY ? "key" : "channel";
		char msg[512];
		int n = snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.*s' %s",
				 k->kind == RESP_ARG_PTR ? (int)(k->len < 400 ? k->len : 400) : 0,
				 k->kind == RESP_ARG_PTR ? (const char *)k->u.p : "", what);

		resp_bulk(rd_out(s), msg, n > 0 ? (size_t)n : 0);
	}
	return RD_DONE;
}

/* ---- LOAD, SAVE ---- */

static enum rd_res load(struct rd_session *s)
{
	struct rd_server *srv = rd_server(s);
	struct rd_acl_priv *p = srv->acl_priv;
	struct rd_acl *fresh, *cur;
	uint64_t def_uid = 0;
	bool self = false;
	int at;
	char *err;

	if (s->step)
		goto kill;	/* re-entered: the calls below completed */
	if (!p->aclfile[0]) {
		rd_err(s, no_aclfile);
		return RD_DONE;
	}
	err = malloc(8192);
	if (!err) {
		rd_err(s, "ERR out of memory");
		return RD_DONE;
	}
	memcpy(err, "ERR ", 4);
	fresh = acl_file_load(p, p->aclfile, err + 4, 8192 - 4);
	if (!fresh) {
		for (char *c = err; *c; c++)
			if (*c == '\r' || *c == '\n')
				*c = ' ';
		rd_err(s, err);
		free(err);
		return RD_DONE;
	}
	free(err);
	cur = acl_begin(srv);
	if (!cur) {
		acl_table_free(fresh);
		rd_err(s, "ERR out of memory");
		return RD_DONE;
	}
	/* the default user stays the same user (its sessions stay); every other is new */
	at = acl_table_find(cur, "default", 7);
	if (at >= 0)
		def_uid = cur->users[at]->uid;
	for (unsigned i = 0; i < fresh->nusers; i++) {
		struct rd_user *u = fresh->users[i];

		u->uid = u->nlen == 7 && memcmp(u->name, "default", 7) == 0 && def_uid ?
			 def_uid : acl_new_uid(srv);
	}
	self = s->acl_uid != def_uid;
	acl_table_free(cur);
	acl_commit(srv, fresh);
	memset(s->job, 0, 8);	/* uid 0: any subscriber (acl_kill_subscribers) */
	s->job[16] = self;
kill:
	/* subscribers whose user went or lost channel rights are closed (pubsub.h) */
	if (!(s->flags & RD_C_MULTI)) {
		enum rd_res r = rd_fanout_lcores(s, rd_pubsub_acl_kill_owner,
						 rd_pubsub_lcore_active);

		if (r != RD_DONE)
			return r;
	}
	resp_ok(rd_out(s));
	if (s->job[16])
		s->flags |= RD_C_KILLED;	/* its user was replaced: Redis closes it */
	return RD_DONE;
}

static enum rd_res save(struct rd_session *s)
{
	struct rd_acl_priv *p = rd_server(s)->acl_priv;

	if (!p->aclfile[0]) {
		rd_err(s, no_aclfile);
		return RD_DONE;
	}
	if (acl_file_save(table(s), p->aclfile))
		resp_ok(rd_out(s));
	else
		rd_err(s, "ERR There was an error trying to save the ACLs. Please check the server "
			  "logs for more information");
	return RD_DONE;
}

/* ---- HELP ---- */

static enum rd_res help(struct rd_session *s)
{
	static const char *const lines[] = {
		"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"DELUSER <username> [<username> ...]",
		"    Delete a list of users.",
		"DRYRUN <username> <command> [<arg> ...]",
		"    Returns whether the user can execute the given command without executing the command.",
		"GETUSER <username>",
		"    Get the user's details.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"LOAD",
		"    Reload users from the ACL file.",
		"LOG [<count> | RESET]",
		"    Show the ACL log entries.",
		"SAVE",
		"    Save the current config to the ACL file.",
		"SETUSER <username> <attribute> [<attribute> ...]",
		"    Create or modify a user with the specified attributes.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.",
		"HELP",
		"    Prints this help.",
	};

	resp_array(rd_out(s), sizeof(lines) / sizeof(lines[0]));
	for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		resp_simple(rd_out(s), lines[i]);
	return RD_DONE;
}

/* ---- the table ---- */

#define AF (RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE)
#define AC (RD_ACL_ADMIN | RD_ACL_DANGEROUS | RD_ACL_SLOW)
#define PF (RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE)

static struct rd_cmd acl_sub[] = {
	RD_CMD("cat", cat, -2, PF, RD_ACL_SLOW, 0, 0, 0, "server",
	       "The ACL categories, or the commands of one", "6.0.0", "O(1): a fixed set"),
	RD_CMD("deluser", deluser, -3, AF, AC, 0, 0, 0, "server",
	       "Delete users; their connections are closed", "6.0.0",
	       "O(N) in the users named"),
	RD_CMD("dryrun", dryrun, -4, AF, AC, 0, 0, 0, "server",
	       "Would this user be allowed to run this command?", "7.0.0", "O(K) in the command's keys"),
	RD_CMD("genpass", genpass, -2, PF, RD_ACL_SLOW, 0, 0, 0, "server",
	       "A random password (hex digits)", "6.0.0", "O(N)"),
	RD_CMD("getuser", getuser, 3, AF, AC, 0, 0, 0, "server",
	       "A user's flags, password hashes, commands, keys, channels and selectors",
	       "6.0.0", "O(N) in the user's rules"),
	RD_CMD("help", help, 2, RD_F_LOADING | RD_F_STALE, RD_ACL_SLOW, 0, 0, 0, "server",
	       "What ACL's subcommands do", "6.0.0", "O(1)"),
	RD_CMD("list", list, 2, AF, AC, 0, 0, 0, "server",
	       "Every user as ACL file rules", "6.0.0", "O(N) in the users"),
	RD_CMD("load", load, 2, AF, AC, 0, 0, 0, "server",
	       "Replace the users with those of the ACL file", "6.0.0",
	       "O(N) in the users"),
	RD_CMD("log", log_cmd, -2, AF, AC, 0, 0, 0, "server",
	       "Recent denials: commands, keys and failed authentications", "6.0.0",
	       "O(N) in the entries shown"),
	RD_CMD("save", save, 2, AF, AC, 0, 0, 0, "server",
	       "Write the users to the ACL file", "6.0.0",
	       "O(N) in the users"),
	RD_CMD("setuser", setuser, -3, AF, AC, 0, 0, 0, "server",
	       "Create a user or change its rules", "6.0.0",
	       "O(N) in the rules given"),
	RD_CMD("users", users, 2, AF, AC, 0, 0, 0, "server",
	       "The user names", "6.0.0", "O(N) in the users"),
	RD_CMD("whoami", whoami, 2, PF, RD_ACL_SLOW, 0, 0, 0, "server",
	       "This connection's user name", "6.0.0", "O(1)"),
	RD_CMD_END
};

struct rd_cmd rd_cmds_acl[] = {
	RD_CMD("auth", auth, -2, RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE | RD_F_FAST |
	       RD_F_NO_AUTH | RD_F_ALLOW_BUSY, RD_ACL_CONNECTION | RD_ACL_FAST, 0, 0, 0,
	       "connection", "Authenticate the connection", "1.0.0",
	       "O(N) in the user's passwords"),
	{ .name = "acl", .arity = -2, .flags = 0, .acl = RD_ACL_SLOW, .sub = acl_sub,
	  .group = "server", .summary = "Users and their permissions", .since = "6.0.0",
	  .complexity = "Depends on subcommand." },
	RD_CMD_END
};
