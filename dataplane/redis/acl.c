/*
 * acl.c - authentication and permissions (see acl.h).
 *
 * The user table is immutable once published: a change builds a new table
 * and swaps the pointer (rd_server.acl) under RCU, so every lcore checks
 * permissions without a lock. Passwords are kept only as SHA-256 digests
 * (OpenSSL's libcrypto) and compared in constant time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <urcu-qsbr.h>

#include "redis/acl.h"
#include "redis/cmds.h"
#include "redis/server.h"

#define ACL_MAX_PASSWORDS 8

struct rd_user {
	char name[64];
	bool enabled;
	bool nopass;
	unsigned npass;
	uint8_t pass[ACL_MAX_PASSWORDS][SHA256_DIGEST_LENGTH];
};

struct rd_acl {
	unsigned nusers;
	struct rd_user users[];
};

static const struct rd_acl *acl_table(const struct rd_server *srv)
{
	return rcu_dereference(srv->acl);
}

static const struct rd_user *find_user(const struct rd_acl *acl, const uint8_t *name,
				       uint32_t len)
{
	for (unsigned i = 0; acl && i < acl->nusers; i++)
		if (strlen(acl->users[i].name) == len && memcmp(acl->users[i].name, name, len) == 0)
			return &acl->users[i];
	return NULL;
}

bool rd_acl_auth_required(const struct rd_server *srv)
{
	const struct rd_user *def = find_user(acl_table(srv), (const uint8_t *)"default", 7);

	return !def || !def->enabled || !def->nopass;
}

void rd_acl_session_start(struct rd_session *s)
{
	const struct rd_server *srv = rd_server(s);

	s->user = find_user(acl_table(srv), (const uint8_t *)"default", 7);
	s->authenticated = !rd_acl_auth_required(srv);
}

static bool password_ok(const struct rd_user *u, const uint8_t *pass, uint32_t len)
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	bool ok = false;

	if (u->nopass)
		return true;
	SHA256(pass, len, d);
	for (unsigned i = 0; i < u->npass; i++)
		ok |= CRYPTO_memcmp(d, u->pass[i], sizeof(d)) == 0;
	return ok;
}

bool rd_acl_authenticate(struct rd_session *s, const struct resp_arg *user,
			 const struct resp_arg *pass)
{
	const struct rd_user *u;

	if (user->kind != RESP_ARG_PTR || pass->kind != RESP_ARG_PTR) {
		rd_err(s, "WRONGPASS invalid username-password pair or user is disabled.");
		return false;
	}
	u = find_user(acl_table(rd_server(s)), user->u.p, user->len);
	if (!u || !u->enabled || !password_ok(u, pass->u.p, pass->len)) {
		rd_err(s, "WRONGPASS invalid username-password pair or user is disabled.");
		return false;
	}
	s->user = u;
	s->authenticated = true;
	return true;
}

bool rd_acl_check(struct rd_session *s, const struct rd_cmd *c)
{
	(void)c;
	return s->user != NULL;
}

/* AUTH [username] password */
static enum rd_res auth(struct rd_session *s)
{
	static const struct resp_arg def = { .u.p = (const uint8_t *)"default", .len = 7 };

	if (rd_argc(s) > 3) {
		rd_err_syntax(s);
		return RD_DONE;
	}
	if (rd_argc(s) == 2 && !rd_acl_auth_required(rd_server(s))) {
		rd_err(s, "ERR AUTH <password> called without any password configured for the "
			  "default user. Are you sure your configuration is correct?");
		return RD_DONE;
	}
	if (rd_acl_authenticate(s, rd_argc(s) == 3 ? rd_arg(s, 1) : &def,
				rd_arg(s, rd_argc(s) - 1)))
		resp_ok(rd_out(s));
	return RD_DONE;
}

/* The table with one user, default: nopass, or with password (--requirepass). */
int rd_acl_init(struct rd_server *srv, const char *requirepass)
{
	struct rd_acl *acl = calloc(1, sizeof(*acl) + sizeof(struct rd_user));

	if (!acl)
		return -1;
	acl->nusers = 1;
	snprintf(acl->users[0].name, sizeof(acl->users[0].name), "default");
	acl->users[0].enabled = true;
	if (requirepass && *requirepass) {
		SHA256((const uint8_t *)requirepass, strlen(requirepass), acl->users[0].pass[0]);
		acl->users[0].npass = 1;
	} else {
		acl->users[0].nopass = true;
	}
	srv->acl = acl;
	return 0;
}

const char *rd_acl_user_name(const struct rd_user *u)
{
	return u ? u->name : NULL;
}

bool rd_acl_user_exists(const struct rd_server *srv, const uint8_t *name, uint32_t len)
{
	return find_user(acl_table(srv), name, len) != NULL;
}

/*
 * A replaced table stays allocated until rd_acl_fini: sessions keep
 * pointers to their user in it (changes are rare: a few bytes each).
 */
struct retired {
	struct retired *next;
	struct rd_acl *acl;
};

int rd_acl_set_default_password(struct rd_server *srv, const char *pass, size_t len)
{
	const struct rd_acl *old = srv->acl;
	size_t size = sizeof(*old) + old->nusers * sizeof(struct rd_user);
	struct rd_acl *acl = malloc(size);
	struct retired *r = malloc(sizeof(*r));
	struct rd_user *def;

	if (!acl || !r) {
		free(acl);
		free(r);
		return -1;
	}
	memcpy(acl, old, size);
	def = (struct rd_user *)find_user(acl, (const uint8_t *)"default", 7);
	if (def) {
		def->npass = 0;
		def->nopass = len == 0;
		if (len) {
			SHA256((const uint8_t *)pass, len, def->pass[0]);
			def->npass = 1;
		}
	}
	r->acl = srv->acl;
	r->next = srv->acl_retired;
	srv->acl_retired = r;
	rcu_assign_pointer(srv->acl, acl);
	return 0;
}

void rd_acl_fini(struct rd_server *srv)
{
	struct retired *r = srv->acl_retired, *next;

	for (; r; r = next) {
		next = r->next;
		free(r->acl);
		free(r);
	}
	srv->acl_retired = NULL;
	free(srv->acl);
	srv->acl = NULL;
}

struct rd_cmd rd_cmds_acl[] = {
	RD_CMD("auth", auth, -2, RD_F_NOSCRIPT | RD_F_LOADING | RD_F_STALE | RD_F_FAST |
	       RD_F_NO_AUTH, RD_ACL_CONNECTION | RD_ACL_FAST, 0, 0, 0, "connection",
	       "Authenticate the connection", "1.0.0", "O(N) where N is the number of passwords"),
	RD_CMD_END
};
