/*
 * acl.c - authentication and permissions (see acl.h): the user table, the
 * sessions' users, AUTH, the check before each command, and the ACL log.
 *
 * The user table is immutable once published: a change (ACL SETUSER,
 * DELUSER, LOAD) copies it under acl_priv.lock, changes the copy, and swaps
 * the pointer (rd_server.acl) under RCU; the old table is freed by call_rcu
 * after a grace period. Every lcore reads it without a lock.
 *
 * A session names its user by a uid that survives SETUSER (so a change
 * applies to live sessions at their next command, as in Redis) but not
 * DELUSER or ACL LOAD (Redis disconnects the clients of a deleted user, and
 * ACL LOAD deletes every user but the default one): a session whose user is
 * gone is closed at its next command, without a reply. The session caches
 * its user with the table's generation; a changed generation means "look
 * it up again", so a cached pointer is only followed while its table is
 * current (and so not yet freed: this lcore has not passed a quiescent
 * state since reading the pointer).
 *
 * Passwords are kept only as SHA-256 digests (OpenSSL's libcrypto) and
 * compared in constant time per digest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "core/app.h"
#include "redis/acl.h"
#include "redis/acl_impl.h"
#include "redis/cmds.h"
#include "redis/server.h"

/* ---- tables ---- */

struct rd_acl *acl_table_new(void)
{
	return calloc(1, sizeof(struct rd_acl));
}

void acl_table_free(struct rd_acl *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->nusers; i++)
		acl_user_free(t->users[i]);
	free(t->users);
	free(t);
}

struct rd_acl *acl_table_copy(const struct rd_acl *t)
{
	struct rd_acl *d = acl_table_new();

	if (!d)
		return NULL;
	d->gen = t->gen;
	d->users = calloc(t->nusers ? t->nusers : 1, sizeof(*d->users));
	if (!d->users) {
		free(d);
		return NULL;
	}
	for (unsigned i = 0; i < t->nusers; i++) {
		d->users[i] = acl_user_copy(t->users[i]);
		if (!d->users[i]) {
			acl_table_free(d);
			return NULL;
		}
		d->nusers = i + 1;
	}
	return d;
}

static int name_cmp(const struct rd_user *u, const void *name, size_t len)
{
	size_t n = u->nlen < len ? u->nlen : len;
	int c = memcmp(u->name, name, n);

	if (c)
		return c;
	return u->nlen < len ? -1 : u->nlen > len ? 1 : 0;
}

int acl_table_find(const struct rd_acl *t, const void *name, size_t len)
{
	unsigned lo = 0, hi = t ? t->nusers : 0;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		int c = name_cmp(t->users[mid], name, len);

		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

bool acl_table_put(struct rd_acl *t, struct rd_user *u)
{
	unsigned at = 0;
	struct rd_user **v;
	int i = acl_table_find(t, u->name, u->nlen);

	if (i >= 0) {
		acl_user_free(t->users[i]);
		t->users[i] = u;
		return true;
	}
	v = realloc(t->users, (t->nusers + 1) * sizeof(*v));
	if (!v)
		return false;
	t->users = v;
	while (at < t->nusers && name_cmp(v[at], u->name, u->nlen) < 0)
		at++;
	memmove(&v[at + 1], &v[at], (t->nusers - at) * sizeof(*v));
	v[at] = u;
	t->nusers++;
	return true;
}

void acl_table_remove(struct rd_acl *t, unsigned i)
{
	acl_user_free(t->users[i]);
	memmove(&t->users[i], &t->users[i + 1], (t->nusers - i - 1) * sizeof(*t->users));
	t->nusers--;
}

static const struct rd_user *by_uid(const struct rd_acl *t, uint64_t uid)
{
	for (unsigned i = 0; i < t->nusers; i++)
		if (t->users[i]->uid == uid)
			return t->users[i];
	return NULL;
}

static const struct rd_user *default_user(const struct rd_acl *t)
{
	int i = acl_table_find(t, "default", 7);

	return i >= 0 ? t->users[i] : NULL;
}

/* The default user needs a password (or cannot be used): Redis's authRequired(). */
static bool default_needs_auth(const struct rd_acl *t)
{
	const struct rd_user *d = default_user(t);

	return !d || !(d->flags & ACL_U_NOPASS) || (d->flags & ACL_U_OFF);
}

struct rd_user *acl_default_user(const struct rd_acl_priv *p)
{
	struct rd_user *u = acl_user_new_default();

	if (u && p->has_requirepass) {
		(void)acl_user_op(u, "resetpass", 9);
		u->pass = malloc(ACL_DIGEST);
		if (!u->pass) {
			acl_user_free(u);
			return NULL;
		}
		memcpy(u->pass[0], p->requirepass, ACL_DIGEST);
		u->npass = 1;
	}
	return u;
}

/* ---- changes ---- */

static void table_free_rcu(struct rcu_head *h)
{
	acl_table_free(caa_container_of(h, struct rd_acl, rh));
}

struct rd_acl *acl_begin(struct rd_server *srv)
{
	struct rd_acl *t;

	rte_spinlock_lock(&srv->acl_priv->lock);
	t = acl_table_copy(rcu_dereference(srv->acl));
	if (!t)
		rte_spinlock_unlock(&srv->acl_priv->lock);
	return t;
}

void acl_abort(struct rd_server *srv, struct rd_acl *t)
{
	acl_table_free(t);
	rte_spinlock_unlock(&srv->acl_priv->lock);
}

uint64_t acl_new_uid(struct rd_server *srv)
{
	return srv->acl_priv->next_uid++;
}

static bool compute_auth_on(const struct rd_acl *t)
{
	if (default_needs_auth(t))
		return true;
	for (unsigned i = 0; i < t->nusers; i++)
		if (acl_user_has_password(t->users[i]))
			return true;
	return false;
}

/* Publish t (the lock is held since acl_begin, or at start). */
static void publish(struct rd_server *srv, struct rd_acl *t)
{
	struct rd_acl *old = srv->acl;

	t->gen = old ? old->gen + 1 : 1;
	t->auth_on = compute_auth_on(t);
	t->default_auth = default_needs_auth(t);
	if (old && old->auth_on != t->auth_on)
		printf("wirecache-dp: Redis authentication is now %s: memcached over TCP is %s\n",
		       t->auth_on ? "on" : "off",
		       t->auth_on ? "served only to --mc-allow prefixes (memcached has no "
				    "authentication)" : "served to everyone again");
	rcu_assign_pointer(srv->acl, t);
	__atomic_store_n(&srv->acl_gen, t->gen, __ATOMIC_RELEASE);	/* (the fast path's check) */
	if (old)
		call_rcu(&old->rh, table_free_rcu);
}

void acl_commit(struct rd_server *srv, struct rd_acl *t)
{
	publish(srv, t);
	rte_spinlock_unlock(&srv->acl_priv->lock);
}

/* ---- sessions ---- */

/*
 * May u run command id on any key? The transports' fast paths answer GET,
 * MGET, SET, SETEX, PSETEX, DEL and the counters (INCR, DECR, INCRBY,
 * DECRBY) only for such users (rd_tcp.c, rd_tcp_pipe.c). Only the root
 * selector is looked at: a user whose rights come from other selectors
 * takes the general path, which is as right, just slower.
 */
static bool may_run_anything(const struct rd_user *u, uint16_t id)
{
	const struct acl_selector *r;

	if (!u || !(u->flags & ACL_U_ON) || !u->nsel)
		return false;
	r = &u->sel[0];
	return (r->cmds[id / 64] & (1ull << (id % 64))) && (r->flags & ACL_SEL_ALLKEYS);
}

/* The commands the transports' fast paths answer that u may run on any key. */
static void fast_rights(struct rd_session *s, const struct rd_user *u)
{
	s->fast_get = may_run_anything(u, rd_get_cmd_id);
	s->fast_set = may_run_anything(u, rd_set_cmd_id);
	s->fast_setex = may_run_anything(u, rd_setex_cmd_id);
	s->fast_psetex = may_run_anything(u, rd_psetex_cmd_id);
	s->fast_del = may_run_anything(u, rd_del_cmd_id);
	s->fast_mget = may_run_anything(u, rd_mget_cmd_id);
	s->fast_incr = may_run_anything(u, rd_incr_cmd_id);
	s->fast_decr = may_run_anything(u, rd_decr_cmd_id);
	s->fast_incrby = may_run_anything(u, rd_incrby_cmd_id);
	s->fast_decrby = may_run_anything(u, rd_decrby_cmd_id);
}

const struct rd_user *acl_session_user(struct rd_session *s)
{
	const struct rd_acl *t = rcu_dereference(rd_server(s)->acl);

	if (s->acl_gen != t->gen) {
		s->user = by_uid(t, s->acl_uid);
		s->acl_gen = t->gen;
		fast_rights(s, s->user);
	}
	return s->user;
}

bool rd_acl_may_listen(struct rd_session *s, const uint8_t *ch, uint32_t len, bool pattern)
{
	const struct rd_user *u = acl_session_user(s);

	if (!u)
		return false;
	for (unsigned i = 0; i < u->nsel; i++)
		if (acl_channel_ok(&u->sel[i], ch, len, pattern))
			return true;
	return false;
}

static void set_user(struct rd_session *s, const struct rd_acl *t, const struct rd_user *u)
{
	s->user = u;
	s->acl_uid = u ? u->uid : 0;
	s->acl_gen = t->gen;
	fast_rights(s, u);
}

bool rd_acl_auth_required(const struct rd_server *srv)
{
	return rcu_dereference(srv->acl)->default_auth;
}

bool rd_acl_default_nopass(const struct rd_server *srv)
{
	const struct rd_user *d = default_user(rcu_dereference(srv->acl));

	return d && (d->flags & ACL_U_NOPASS);
}

void rd_acl_session_start(struct rd_session *s)
{
	const struct rd_acl *t = rcu_dereference(rd_server(s)->acl);

	set_user(s, t, default_user(t));
	s->authenticated = !t->default_auth;
}

const char *rd_acl_username(struct rd_session *s)
{
	const struct rd_user *u = acl_session_user(s);

	return u ? u->name : NULL;
}

bool rd_acl_mc_gated(const struct rd_server *srv)
{
	const struct rd_acl *t = srv ? rcu_dereference(srv->acl) : NULL;

	return t && t->auth_on;
}

/* ---- the ACL log ---- */

static size_t fmt_client_info(struct rd_session *s, const char *cmd, const char *user,
			      char *buf, size_t cap)
{
	char flags[8], *f = flags;
	int64_t now = wc_clock_unix_ms(&rd_env(s)->ctx->clock);
	int n;

	if (s->flags & RD_C_MULTI)
		*f++ = 'x';
	if (s->flags & RD_C_DIRTY_CAS)
		*f++ = 'd';
	if (s->flags & RD_C_READONLY)
		*f++ = 'r';
	if (s->flags & RD_C_NO_EVICT)
		*f++ = 'e';
	if (f == flags)
		*f++ = 'N';
	*f = 0;
	n = snprintf(buf, cap,
		     "id=%lu addr=%u.%u.%u.%u:%u laddr=%u.%u.%u.%u:%u fd=-1 name=%s age=%ld "
		     "idle=0 flags=%s db=0 sub=0 psub=0 ssub=0 multi=%d qbuf=0 qbuf-free=0 "
		     "argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r "
		     "cmd=%s user=%s redir=-1 resp=%u",
		     (unsigned long)s->id, s->raddr >> 24, (s->raddr >> 16) & 255,
		     (s->raddr >> 8) & 255, s->raddr & 255, s->rport, s->laddr >> 24,
		     (s->laddr >> 16) & 255, (s->laddr >> 8) & 255, s->laddr & 255, s->laddr_port,
		     s->name, (long)((now - (int64_t)s->created_ms) / 1000),
		     flags, (s->flags & RD_C_MULTI) ? 0 : -1, cmd, user, s->proto);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void copy_field(char *dst, size_t cap, uint16_t *len, const void *src, size_t n)
{
	if (n > cap)
		n = cap;
	memcpy(dst, src, n);
	*len = (uint16_t)n;
}

static bool same(const struct acl_log_entry *e, uint8_t reason, uint8_t ctx, int64_t now,
		 const void *obj, size_t olen, const void *user, size_t ulen)
{
	int64_t d = e->ctime_ms - now;

	return e->reason == reason && e->context == ctx && (d < 0 ? -d : d) <= 60000 &&
	       e->olen == olen && memcmp(e->object, obj, olen) == 0 && e->ulen == ulen &&
	       memcmp(e->username, user, ulen) == 0;
}

/*
 * Redis's addACLLogEntry: the same denial (reason, context, object, user)
 * within 60 s among the 10 newest entries counts up and moves to the front.
 * On the request path: the log is only try-locked (a denial that finds it
 * busy is counted in log_missed, never waited for).
 */
void acl_log_add(struct rd_session *s, enum acl_deny reason, enum acl_log_ctx ctx,
		 const void *object, size_t olen, const char *user, size_t ulen)
{
	struct rd_server *srv = rd_server(s);
	struct rd_acl_priv *p = srv->acl_priv;
	int64_t now = wc_clock_unix_ms(&rd_env(s)->ctx->clock);
	unsigned max = srv->acllog_max_len < ACL_LOG_CAP ? srv->acllog_max_len : ACL_LOG_CAP;
	struct acl_log_entry *e = NULL;
	char cmd[128];
	unsigned i, slot;

	if (olen > sizeof(e->object))
		olen = sizeof(e->object);
	if (ulen > sizeof(e->username))
		ulen = sizeof(e->username);
	if (!rte_spinlock_trylock(&p->log_lock)) {
		__atomic_fetch_add(&p->log_missed, 1, __ATOMIC_RELAXED);
		return;
	}
	for (i = 0; i < p->nlog && i < 10; i++) {
		if (same(&p->log[p->order[i]], (uint8_t)reason, (uint8_t)ctx, now, object, olen, user,
			 ulen)) {
			e = &p->log[p->order[i]];
			break;
		}
	}
	if (e) {
		slot = p->order[i];
		memmove(&p->order[1], &p->order[0], i);
		e->count++;
	} else if (max == 0) {
		rte_spinlock_unlock(&p->log_lock);
		return;
	} else {
		/* a free entry, else the oldest (entries past max are dropped) */
		while (p->nlog > max)
			p->nlog--;
		if (p->nlog < max) {
			bool used[ACL_LOG_CAP] = { false };

			for (i = 0; i < p->nlog; i++)
				used[p->order[i]] = true;
			for (slot = 0; used[slot]; slot++)
				;
			p->nlog++;
		} else {
			slot = p->order[p->nlog - 1];
		}
		memmove(&p->order[1], &p->order[0], p->nlog - 1);
		e = &p->log[slot];
		e->count = 1;
		e->reason = (uint8_t)reason;
		e->context = (uint8_t)ctx;
		copy_field(e->object, sizeof(e->object), &e->olen, object, olen);
		copy_field(e->username, sizeof(e->username), &e->ulen, user, ulen);
	}
	p->order[0] = (uint8_t)slot;
	e->ctime_ms = now;
	if (s->def)
		acl_cmd_fullname(s->def, cmd, sizeof(cmd));
	else
		snprintf(cmd, sizeof(cmd), "NULL");
	{
		const char *un = rd_acl_username(s);

		fmt_client_info(s, cmd, un ? un : "", e->cinfo, sizeof(e->cinfo));
	}
	rte_spinlock_unlock(&p->log_lock);
}

/* ---- authentication ---- */

bool rd_acl_authenticate(struct rd_session *s, const struct resp_arg *user,
			 const struct resp_arg *pass)
{
	const struct rd_acl *t = rcu_dereference(rd_server(s)->acl);
	const struct resp_arg *a0 = rd_arg(s, 0);
	const struct rd_user *u = NULL;
	int i;

	if (user->kind == RESP_ARG_PTR && pass->kind == RESP_ARG_PTR) {
		i = acl_table_find(t, user->u.p, user->len);
		u = i >= 0 ? t->users[i] : NULL;
		if (u && ((u->flags & ACL_U_OFF) || !acl_user_password_ok(u, pass->u.p, pass->len)))
			u = NULL;
	}
	if (!u) {
		acl_log_add(s, ACL_DENIED_AUTH,
			    (s->flags & RD_C_MULTI) ? ACL_CTX_MULTI : ACL_CTX_TOPLEVEL,
			    a0->kind == RESP_ARG_PTR ? (const char *)a0->u.p : "", a0->kind ==
			    RESP_ARG_PTR ? a0->len : 0, user->kind == RESP_ARG_PTR ?
			    (const char *)user->u.p : "", user->kind == RESP_ARG_PTR ? user->len : 0);
		rd_err(s, "WRONGPASS invalid username-password pair or user is disabled.");
		return false;
	}
	set_user(s, t, u);
	s->authenticated = true;
	return true;
}

/* ---- the check before a command ---- */

static void deny(struct rd_session *s, const struct rd_user *u, const struct rd_cmd *c,
		 enum acl_deny r, uint32_t pos, bool at_exec)
{
	char name[128];
	enum acl_log_ctx ctx = (s->flags & RD_C_MULTI) || at_exec ? ACL_CTX_MULTI :
								    ACL_CTX_TOPLEVEL;

	acl_cmd_fullname(c, name, sizeof(name));
	if (r == ACL_DENIED_CMD) {
		acl_log_add(s, r, ctx, name, strlen(name), u->name, u->nlen);
	} else {
		const struct resp_arg *a = rd_arg(s, pos);

		acl_log_add(s, r, ctx, a->kind == RESP_ARG_PTR ? (const char *)a->u.p : "",
			    a->kind == RESP_ARG_PTR ? a->len : 0, u->name, u->nlen);
	}
	if (at_exec) {
		rd_err_fmt(s, "NOPERM ACLs rules changed between the moment the transaction was "
			      "accumulated and the EXEC call. This command is no longer allowed for "
			      "the following reason: %s",
			   r == ACL_DENIED_CMD ? "no permission to execute the command or subcommand" :
			   r == ACL_DENIED_KEY ? "no permission to touch the specified keys" :
			   "no permission to access one of the channels used as arguments");
		return;
	}
	if (r == ACL_DENIED_CMD)
		rd_err_fmt(s, "NOPERM this user has no permissions to run the '%s' command", name);
	else if (r == ACL_DENIED_KEY)
		rd_err(s, "NOPERM this user has no permissions to access one of the keys used as "
			  "arguments");
	else
		rd_err(s, "NOPERM this user has no permissions to access one of the channels used "
			  "as arguments");
}

/* A user whose first selector allows every command on every key (the default user's). */
static inline bool allows_all(const struct rd_user *u, const struct rd_cmd *c)
{
	const struct acl_selector *root = &u->sel[0];

	return (root->flags & (ACL_SEL_ALLCOMMANDS | ACL_SEL_ALLKEYS)) ==
	       (ACL_SEL_ALLCOMMANDS | ACL_SEL_ALLKEYS) &&
	       (!(c->flags & RD_F_PUBSUB) || (root->flags & ACL_SEL_ALLCHANNELS));
}

enum acl_deny acl_check_cmd(struct rd_session *s, const struct rd_user *u,
			    const struct rd_cmd *c, const struct resp_cmd *cmd, bool scratch,
			    uint32_t *pos)
{
	uint32_t small[256], *keys = small;
	unsigned nkeys;

	if (allows_all(u, c))
		return ACL_ALLOWED;
	nkeys = rd_cmd_keys(c, cmd, keys, 256);
	if (nkeys == 256 && cmd->argc > 257) {
		/*
		 * More keys than fit here: every one is checked, with the
		 * command's scratch memory (not on another lcore, whose
		 * arena is not ours: there, so many keys are refused).
		 */
		keys = scratch ? rd_scratch(s, (uint64_t)cmd->argc * sizeof(*keys)) : NULL;
		if (!keys) {
			*pos = small[0];
			return ACL_DENIED_KEY;
		}
		nkeys = rd_cmd_keys(c, cmd, keys, cmd->argc);
	}
	return acl_user_check(u, c, cmd, keys, nkeys, pos);
}

bool rd_acl_check(struct rd_session *s, const struct rd_cmd *c)
{
	const struct rd_user *u = acl_session_user(s);
	uint32_t pos = 0;
	enum acl_deny r;

	if (!u) {
		/* the user was deleted (DELUSER, ACL LOAD): Redis has closed this client */
		s->flags |= RD_C_KILLED;
		s->st = RD_S_CLOSE;
		return false;
	}
	if (allows_all(u, c))
		return true;	/* (every command asks: no call with a key array on the stack) */
	r = acl_check_cmd(s, u, c, &s->cmd, true, &pos);
	if (r == ACL_ALLOWED)
		return true;
	deny(s, u, c, r, pos, false);
	if (s->flags & RD_C_MULTI)
		s->flags |= RD_C_DIRTY_EXEC;
	return false;
}

bool rd_acl_exec_check(struct rd_session *s, const struct rd_cmd *c)
{
	const struct rd_user *u = acl_session_user(s);
	uint32_t pos = 0;
	enum acl_deny r;

	if (!u) {
		rd_err(s, "NOPERM ACLs rules changed between the moment the transaction was "
			  "accumulated and the EXEC call. This command is no longer allowed for the "
			  "following reason: no permission to execute the command or subcommand");
		return false;
	}
	r = acl_check_cmd(s, u, c, &s->cmd, false, &pos);
	if (r == ACL_ALLOWED)
		return true;
	deny(s, u, c, r, pos, true);
	return false;
}

/* ---- start and end ---- */

int rd_acl_init(struct rd_server *srv, const char *requirepass, const char *aclfile)
{
	struct rd_acl_priv *p = calloc(1, sizeof(*p));
	struct rd_acl *t = acl_table_new();
	struct rd_user *def;

	if (!p || !t) {
		free(p);
		free(t);
		return -1;
	}
	rte_spinlock_init(&p->lock);
	rte_spinlock_init(&p->log_lock);
	p->next_uid = 1;
	if (requirepass && *requirepass) {
		SHA256((const uint8_t *)requirepass, strlen(requirepass), p->requirepass);
		p->has_requirepass = true;
	}
	snprintf(p->aclfile, sizeof(p->aclfile), "%s", aclfile ? aclfile : "");
	srv->acl_priv = p;
	acl_keys_init();
	if (p->aclfile[0]) {
		char err[4096];

		acl_table_free(t);
		t = acl_file_load(p, p->aclfile, err, sizeof(err));
		if (!t) {
			fprintf(stderr, "wirecache-dp: Aborting startup because of ACL errors: %s\n",
				err);
			rd_acl_fini(srv);
			return -1;
		}
		for (unsigned i = 0; i < t->nusers; i++)
			t->users[i]->uid = p->next_uid++;
	} else {
		def = acl_default_user(p);
		if (!def || !acl_table_put(t, def)) {
			acl_user_free(def);
			acl_table_free(t);
			rd_acl_fini(srv);
			return -1;
		}
		def->uid = p->next_uid++;
	}
	publish(srv, t);
	return 0;
}

const char *rd_acl_session_user_name(const struct rd_session *s)
{
	const struct rd_user *u;

	if (!s->env)
		return NULL;	/* (not a connection's: no user) */
	u = by_uid(rcu_dereference(rd_server(s)->acl),
		   __atomic_load_n(&s->acl_uid, __ATOMIC_RELAXED));
	return u ? u->name : NULL;
}

bool rd_acl_user_exists(const struct rd_server *srv, const uint8_t *name, uint32_t len)
{
	return acl_table_find(rcu_dereference(srv->acl), name, len) >= 0;
}

int rd_acl_set_default_password(struct rd_server *srv, const char *pass, size_t len)
{
	struct rd_acl *t = acl_begin(srv);
	enum acl_err e;
	char *op;
	int at;

	if (!t)
		return -1;
	at = acl_table_find(t, "default", 7);
	if (at < 0) {
		acl_abort(srv, t);	/* (Redis keeps the default user; so does ACL DELUSER here) */
		return 0;
	}
	/* as Redis's ACLUpdateDefaultUserPassword: resetpass, then >pass or nopass */
	op = malloc(len + 1);
	if (!op) {
		acl_abort(srv, t);
		return -1;
	}
	(void)acl_user_op(t->users[at], "resetpass", 9);
	if (len) {
		op[0] = '>';
		memcpy(op + 1, pass, len);
		e = acl_user_op(t->users[at], op, len + 1);
	} else {
		e = acl_user_op(t->users[at], "nopass", 6);
	}
	free(op);
	if (e != ACL_E_OK) {
		acl_abort(srv, t);
		return -1;
	}
	acl_commit(srv, t);
	return 0;
}

void rd_acl_fini(struct rd_server *srv)
{
	acl_table_free(srv->acl);
	srv->acl = NULL;
	free(srv->acl_priv);
	srv->acl_priv = NULL;
}
