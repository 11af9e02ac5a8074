/*
 * acl.h - who may run what: users with passwords (kept only as SHA-256),
 * command categories, commands and key patterns (Redis 7.0's ACL rules),
 * the default user and --requirepass, AUTH / HELLO AUTH, the permission
 * check every command passes, and the memcached rule (acl.c; the ACL
 * command itself is acl_cmds.c).
 */
#ifndef WC_REDIS_ACL_H
#define WC_REDIS_ACL_H

#include "redis/rd.h"

struct rd_server;

/* Does a new connection have to authenticate (the default user has a password or is off)? */
bool rd_acl_auth_required(const struct rd_server *srv);

/* Is the default user nopass (AUTH <password> alone is then an error)? */
bool rd_acl_default_nopass(const struct rd_server *srv);

/* A new or RESET connection: the default user, authenticated when it needs no password. */
void rd_acl_session_start(struct rd_session *s);

/* AUTH / HELLO AUTH: true on success; on failure the error reply is written and logged. */
bool rd_acl_authenticate(struct rd_session *s, const struct resp_arg *user,
			 const struct resp_arg *pass);

/*
 * Before a command runs (session.c's admit): may the session's user run c
 * on its keys? false: the NOPERM error is written (and logged; inside MULTI
 * the transaction is marked to abort), or, when the session's user was
 * deleted, the session is marked to close without a reply.
 */
bool rd_acl_check(struct rd_session *s, const struct rd_cmd *c);

/* EXEC, before each queued command (on the owner lcore): still allowed? false: error written. */
bool rd_acl_exec_check(struct rd_session *s, const struct rd_cmd *c);

/* The session's user name (NUL-terminated; valid during the current command), NULL if deleted. */
const char *rd_acl_username(struct rd_session *s);

/*
 * Does any user need a password (--requirepass, or users with passwords)?
 * Then memcached over TCP, which has no authentication, is served only to
 * --mc-allow prefixes (net/tcp.h). Lock-free; any lcore.
 */
bool rd_acl_mc_gated(const struct rd_server *srv);

/* The users at start: the default user (nopass, or --requirepass), or --aclfile's. */
int rd_acl_init(struct rd_server *srv, const char *requirepass, const char *aclfile);

/*
 * May the user of s (a session of the caller's lcore) listen to channel ch
 * (pattern: a PSUBSCRIBE pattern) under its current rules? Any selector's
 * channel list will do, as Redis 7.0 checks them after ACL SETUSER.
 */
bool rd_acl_may_listen(struct rd_session *s, const uint8_t *ch, uint32_t len, bool pattern);

/*
 * The user name of s, which may be another lcore's session (CLIENT LIST
 * user=): looked up by the user's id in the current table, so valid until
 * the caller's next quiescent state; NULL when the user was deleted.
 */
const char *rd_acl_session_user_name(const struct rd_session *s);

/* Is there a user by this name (CLIENT KILL USER)? */
bool rd_acl_user_exists(const struct rd_server *srv, const uint8_t *name, uint32_t len);

/*
 * CONFIG SET requirepass: the default user's only password becomes pass,
 * or none (nopass) when len is 0, as Redis does. Connections already
 * authenticated stay so. 0, or -1 (no memory).
 */
int rd_acl_set_default_password(struct rd_server *srv, const char *pass, size_t len);
void rd_acl_fini(struct rd_server *srv);

#endif
