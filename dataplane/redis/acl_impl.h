/*
 * acl_impl.h - what the ACL files share (the rest of the engine uses acl.h):
 * users and selectors, the rule language of ACL SETUSER and the ACL file
 * (acl_rules.c), the description ACL LIST / GETUSER / SAVE give back
 * (acl_describe.c), the permission check (acl_check.c) and how each
 * command uses its keys (acl_keys.c).
 *
 * A user is plain heap memory, built and changed only on the admin path
 * (ACL SETUSER, ACL LOAD, start-up) and never changed once it is part of a
 * published table (acl.c): a change works on a copy.
 *
 * As in Redis 7.0 a user has a root selector and any number of further
 * selectors "(...)"; a command is allowed when any selector allows it. A
 * selector holds a bit per command id (rd_cmd.id, subcommands included),
 * plus one reserved bit that only +@all / allcommands set ("future
 * commands": how the description knows to start with +@all).
 */
#ifndef WC_REDIS_ACL_IMPL_H
#define WC_REDIS_ACL_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_spinlock.h>
#include <urcu-qsbr.h>

#include "redis/rd.h"

#define ACL_CMD_BITS 1024			/* command ids, with room to grow */
#define ACL_CMD_WORDS (ACL_CMD_BITS / 64)
#define ACL_FUTURE_BIT (ACL_CMD_BITS - 1)	/* set only by +@all / allcommands */
#define ACL_DIGEST 32				/* SHA-256 */

/* What a key pattern grants (%R~, %W~, %RW~ = ~). */
enum acl_perm { ACL_PERM_R = 1, ACL_PERM_W = 2, ACL_PERM_RW = 3 };

enum acl_sel_flags {
	ACL_SEL_ROOT = 1u << 0,
	ACL_SEL_ALLKEYS = 1u << 1,
	ACL_SEL_ALLCHANNELS = 1u << 2,
	ACL_SEL_ALLCOMMANDS = 1u << 3,
};

/* User flags, in the order ACL LIST and GETUSER show them. */
enum acl_user_flags {
	ACL_U_ON = 1u << 0,
	ACL_U_OFF = 1u << 1,
	ACL_U_NOPASS = 1u << 2,
	ACL_U_SKIP_SANITIZE = 1u << 3,
	ACL_U_SANITIZE = 1u << 4,
};
#define ACL_NUSER_FLAGS 5
extern const char *const acl_user_flag_names[ACL_NUSER_FLAGS];

/* Why a rule was refused (Redis's errno values in ACLSetUser). */
enum acl_err {
	ACL_E_OK = 0,
	ACL_E_INVAL,		/* Syntax error */
	ACL_E_NOENT,		/* Unknown command or category name in ACL */
	ACL_E_EXIST,		/* a key pattern after allkeys */
	ACL_E_ISDIR,		/* a channel pattern after allchannels */
	ACL_E_NODEV,		/* removing a password the user does not have */
	ACL_E_BADMSG,		/* a #hash that is not 64 lowercase hex digits */
	ACL_E_CHILD,		/* a first-arg of a subcommand */
	ACL_E_NOMEM,
};

/* The text Redis gives for each (ACLSetUserStringError). */
const char *acl_err_text(enum acl_err e);

/* Why a command was refused; the order matters (Redis picks the largest). */
enum acl_deny {
	ACL_ALLOWED = 0,
	ACL_DENIED_CMD = 1,
	ACL_DENIED_KEY = 2,
	ACL_DENIED_AUTH = 3,
	ACL_DENIED_CHANNEL = 4,
};

struct acl_pattern {
	char *p;		/* NUL-terminated copy; len bytes matter */
	uint32_t len;
	uint8_t perm;		/* enum acl_perm (keys) */
};

/* +cmd|arg on a command without subcommands: allowed with that first argument only. */
struct acl_firstarg {
	uint16_t id;
	uint32_t len;
	char *arg;
};

struct acl_selector {
	uint32_t flags;			/* enum acl_sel_flags */
	uint64_t cmds[ACL_CMD_WORDS];	/* allowed command ids */
	unsigned nkeys, nchannels, nfirst;
	struct acl_pattern *keys, *channels;
	struct acl_firstarg *first;
};

struct rd_user {
	char *name;			/* NUL-terminated copy; nlen bytes matter */
	uint32_t nlen;
	uint64_t uid;			/* survives changes, not deletion (acl.c) */
	uint32_t flags;			/* enum acl_user_flags */
	unsigned npass;
	uint8_t (*pass)[ACL_DIGEST];
	unsigned nsel;			/* sel[0] is the root selector */
	struct acl_selector *sel;
};

/* ---- users (acl_rules.c) ---- */

/* A new user: off, no passwords, no commands, no keys, no channels. NULL: out of memory. */
struct rd_user *acl_user_new(const void *name, size_t len);
/* The default user as Redis makes it: on nopass ~* &* +@all. */
struct rd_user *acl_user_new_default(void);
struct rd_user *acl_user_copy(const struct rd_user *u);
void acl_user_free(struct rd_user *u);

/* One rule (ACLSetUser): on, off, >pass, #hash, ~pattern, +@cat, (selector) ... */
enum acl_err acl_user_op(struct rd_user *u, const void *op, size_t len);

/* Does the password match (constant time per digest)? nopass: anything does. */
bool acl_user_password_ok(const struct rd_user *u, const void *pass, size_t len);

/* Has the user a password or is it nopass and on (for the memcached rule)? */
static inline bool acl_user_has_password(const struct rd_user *u)
{
	return u->npass > 0;
}

/*
 * Rules as SETUSER and the ACL file give them: a selector may be spread
 * over several arguments ("(~a*" "+get)"), joined here with spaces. Copies
 * every argument (n of them, lens[i] bytes each) into *out (free with
 * acl_args_free). Returns the number of merged arguments, or -1 when a
 * "(" is never closed (*bad: the index of the argument that opened it).
 */
int acl_args_merge(unsigned n, const uint8_t *const *args, const size_t *lens, char ***out,
		   size_t **outlens, unsigned *bad);
void acl_args_free(char **v, size_t *lens, int n);

/*
 * ACL SETUSER's rules applied to u in order; on the first that fails u may
 * be half changed (callers work on a copy) and err receives Redis's reply
 * text ("Error in ACL SETUSER modifier '...': ..." or "Unmatched parenthesis
 * in acl selector starting at '...'."). Returns false on failure.
 */
bool acl_user_setuser(struct rd_user *u, unsigned n, const uint8_t *const *args,
		      const size_t *lens, char *err, size_t errcap);

/* A user name or pattern with a space, a control space or a NUL (not allowed). */
bool acl_has_spaces(const void *p, size_t len);

/* ---- categories and command names ---- */

/* The flag (enum rd_acl_cat) of a category name, without '@'; 0 if unknown. */
uint32_t acl_cat_by_name(const void *name, size_t len);
/* Name of category index i (0 .. RD_ACL_NCATS-1). */
const char *acl_cat_name(unsigned i);

/* "get", or "client|id" for a subcommand. */
void acl_cmd_fullname(const struct rd_cmd *c, char *buf, size_t cap);

/* A command by name: "get", "client|id" (NULL if not found, or if a|b|c). */
const struct rd_cmd *acl_cmd_by_name(const char *name, size_t len);

/* ---- selectors (acl_rules.c) ---- */

/* +@all (allow) or -@all: every bit, the reserved one included; first-args dropped. */
void acl_sel_all(struct acl_selector *s, bool allow);
/* +@cat / -@cat: every command (and subcommand) of the category; a container with all its subcommands. */
void acl_sel_category(struct acl_selector *s, uint32_t cat, bool allow);
/* +cmd / -cmd: the command, and all subcommands of a container. */
void acl_sel_change(struct acl_selector *s, const struct rd_cmd *c, bool allow);

/* ---- descriptions (acl_describe.c); malloc'd strings, NULL on out of memory ---- */

/* What ACL LIST and ACL SAVE give after "user <name> ". */
char *acl_describe_user(const struct rd_user *u);
/* GETUSER's "commands": "+@all -flushall", "-@all +get" ... */
char *acl_describe_commands(const struct acl_selector *s);
/* GETUSER's "keys": "~*", or "~a* %R~b*"; "" when none. */
char *acl_describe_keys(const struct acl_selector *s);
/* GETUSER's "channels": "&*", or "&a &b"; "" when none. */
char *acl_describe_channels(const struct acl_selector *s);

/* ---- checks (acl_check.c) ---- */

/*
 * May user u run c with the arguments of cmd (argument 0 the command
 * name)? keys/nkeys: the key positions (rd_cmd_keys). On a denial *errpos
 * is the argument that caused it (a key), as Redis picks it among the
 * selectors.
 */
enum acl_deny acl_user_check(const struct rd_user *u, const struct rd_cmd *c,
			     const struct resp_cmd *cmd, const uint32_t *keys, unsigned nkeys,
			     uint32_t *errpos);

/* ---- how a command uses its keys (acl_keys.c) ---- */

/* Build the table from the command table (once, after rd_cmds_init). */
void acl_keys_init(void);
/* What the k-th key (0-based among the command's keys) needs: enum acl_perm bits, 0 = none. */
uint8_t acl_key_perm(const struct rd_cmd *c, const struct resp_cmd *cmd, unsigned k);

/* ---- the published table and the admin side (acl.c, acl_file.c) ---- */

#define ACL_LOG_CAP 128		/* entries kept (acllog-max-len above this keeps 128) */

/* A user table: immutable once published in rd_server.acl; freed after a grace period. */
struct rd_acl {
	struct rcu_head rh;
	uint64_t gen;			/* 1, 2, ... per publication */
	bool auth_on;			/* a password is needed somewhere: the memcached rule */
	bool default_auth;		/* the default user needs a password (or is off) */
	unsigned nusers;
	struct rd_user **users;		/* sorted by name (bytes), as Redis lists them */
};

struct acl_log_entry {
	uint64_t count;
	int64_t ctime_ms;
	uint8_t reason;			/* enum acl_deny */
	uint8_t context;		/* enum acl_log_ctx */
	uint16_t olen, ulen;
	char object[256];
	char username[128];
	char cinfo[512];
};

enum acl_log_ctx { ACL_CTX_TOPLEVEL, ACL_CTX_MULTI, ACL_CTX_LUA, ACL_CTX_MODULE };

/* What acl.c keeps beside the table (rd_server.acl_priv). */
struct rd_acl_priv {
	rte_spinlock_t lock;		/* changes to the table: one at a time */
	uint64_t next_uid;
	char aclfile[512];		/* "" without --aclfile */
	bool has_requirepass;
	uint8_t requirepass[ACL_DIGEST];	/* the default user when a file has none */
	/* ACL LOG: newest first; the request path only ever try-locks it */
	rte_spinlock_t log_lock;
	unsigned nlog;
	uint8_t order[ACL_LOG_CAP];	/* entry indices, newest first */
	struct acl_log_entry log[ACL_LOG_CAP];
	uint64_t log_missed;		/* denials not logged: the log was busy */
};

struct rd_acl *acl_table_new(void);
void acl_table_free(struct rd_acl *t);
struct rd_acl *acl_table_copy(const struct rd_acl *t);
/* Index of the user, or -1. */
int acl_table_find(const struct rd_acl *t, const void *name, size_t len);
/* Put u in its place (replacing the user of that name, which is freed); false: out of memory. */
bool acl_table_put(struct rd_acl *t, struct rd_user *u);
void acl_table_remove(struct rd_acl *t, unsigned i);

/*
 * A change: acl_begin takes acl_priv.lock and returns a copy of the current
 * table (NULL, unlocked, when memory ran out); acl_commit publishes the copy
 * (gen + 1, the old table freed after a grace period) and unlocks;
 * acl_abort drops it and unlocks. acl_new_uid only between the two.
 */
struct rd_acl *acl_begin(struct rd_server *srv);
void acl_commit(struct rd_server *srv, struct rd_acl *t);
void acl_abort(struct rd_server *srv, struct rd_acl *t);
uint64_t acl_new_uid(struct rd_server *srv);

/* The session's user in the current table (NULL: deleted). */
const struct rd_user *acl_session_user(struct rd_session *s);

/*
 * acl_user_check with the keys of cmd found (rd_cmd_keys); scratch: the
 * session's command memory may hold the positions of a command with very
 * many keys (not from another lcore: EXEC on the owner).
 */
enum acl_deny acl_check_cmd(struct rd_session *s, const struct rd_user *u,
			    const struct rd_cmd *c, const struct resp_cmd *cmd, bool scratch,
			    uint32_t *pos);

/*
 * May selector s use channel ch (pattern: ch is a pattern, compared
 * literally, as Redis 7.0 does)? (acl_check.c)
 */
bool acl_channel_ok(const struct acl_selector *s, const uint8_t *ch, uint32_t len, bool pattern);

/* A denial for ACL LOG (object: the command, key or channel; user: who). */
void acl_log_add(struct rd_session *s, enum acl_deny reason, enum acl_log_ctx ctx,
		 const void *object, size_t olen, const char *user, size_t ulen);

/* The default user --requirepass describes: on ~* &* +@all, the password or nopass. */
struct rd_user *acl_default_user(const struct rd_acl_priv *p);

/*
 * Read an ACL file into a new table (Redis's ACLLoadFromFile rules: every
 * line "user <name> <rules>", blank lines allowed, nothing loaded if any
 * line is wrong). NULL with Redis's error text in err (which may be long)
 * on failure. A file without "default" gets acl_default_user().
 */
struct rd_acl *acl_file_load(const struct rd_acl_priv *p, const char *path, char *err,
			     size_t errcap);
/* Write t to path (a temporary file renamed over it); false with errno set on failure. */
bool acl_file_save(const struct rd_acl *t, const char *path);

/* ---- bits ---- */

static inline bool acl_sel_bit(const struct acl_selector *s, unsigned id)
{
	return id < ACL_CMD_BITS && (s->cmds[id / 64] >> (id % 64)) & 1;
}

#endif
