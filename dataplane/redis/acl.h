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

/* A user's name (CLIENT LIST user=), NULL for none. */
const char *rd_acl_user_name(const struct rd_user *u);

/* Is there a user by this name (CLIENT KILL USER)? */
bool rd_acl_user_exists(const struct rd_server *srv, const uint8_t *name, uint32_t len);

/*
 * CONFIG SET requirepass: the default user's only password becomes pass,
 * or none (nopass) when len is 0, as Redis does. Connections already
 * authenticated stay so. Call under srv->admin_lock; 0 or -1 (no memory).
 */
int rd_acl_set_default_password(struct rd_server *srv, const char *pass, size_t len);

/* The user table at start: default (nopass, or --requirepass). */
int rd_acl_init(struct rd_server *srv, const char *requirepass);
void rd_acl_fini(struct rd_server *srv);

#endif
