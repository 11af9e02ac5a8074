/*
 * acl.h - who may run what: users with passwords (kept only as SHA-256),
 * command categories and key patterns, the default user and --requirepass,
 * and AUTH / HELLO AUTH (acl.c).
 */
#ifndef WC_REDIS_ACL_H
#define WC_REDIS_ACL_H

#include "redis/rd.h"

struct rd_server;

/* Does a new connection have to authenticate (the default user has a password or is off)? */
bool rd_acl_auth_required(const struct rd_server *srv);

/* A new or RESET connection: the default user, authenticated when it needs no password. */
void rd_acl_session_start(struct rd_session *s);

/* AUTH / HELLO AUTH: true on success; on failure the error reply is written. */
bool rd_acl_authenticate(struct rd_session *s, const struct resp_arg *user,
			 const struct resp_arg *pass);

/* May the session's user run c on its keys? false: the NOPERM error is written. */
bool rd_acl_check(struct rd_session *s, const struct rd_cmd *c);

/* The user table at start: default (nopass, or --requirepass). */
int rd_acl_init(struct rd_server *srv, const char *requirepass);
void rd_acl_fini(struct rd_server *srv);

#endif
