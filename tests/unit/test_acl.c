/*
 * test_acl.c - Redis ACLs (redis/acl*.c): the rule language and its
 * refusals, the description ACL LIST / GETUSER give back, permission checks
 * (commands, categories, subcommands, first-args, %R~ / %W~ key patterns,
 * selectors), the ACL file round trip and its errors, the commands through
 * a Redis session (AUTH, HELLO AUTH, NOPERM, ACL SETUSER / GETUSER in RESP2
 * and RESP3, LOG, DRYRUN, LIST, DELUSER closing the user's sessions, SAVE /
 * LOAD), and the memcached rule at the TCP layer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "dp_harness.h"
#include "net/tcp_impl.h"
#include "redis/acl.h"
#include "redis/acl_impl.h"
#include "redis/server.h"

static struct dp_harness H;
static struct rd_server SRV;
static char dir[64];

static void server_up(const char *requirepass, const char *aclfile)
{
	if (H.app.rd)
		rd_server_fini(&SRV);
	assert_int_equal(rd_server_init(&SRV, NULL, 6379, false, NULL, 0, 16u << 20, 1u << 20,
					requirepass, aclfile, "test"), 0);
	H.app.rd = &SRV;
}

static int group_setup(void **state)
{
	(void)state;
	if (dp_eal_init() != 0 || dp_setup(&H, NULL) != 0)
		return -1;
	rd_cmds_init();
	server_up(NULL, NULL);
	if (rd_lcore_init(H.lc) != 0)
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/wc-acl-test-%d", (int)getpid());
	if (mkdir(dir, 0700) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	rd_server_fini(&SRV);
	H.app.rd = NULL;
	rcu_thread_offline();
	rcu_barrier();	/* tables given to call_rcu are freed */
	rcu_thread_online();
	dp_teardown(&H);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Back to the default user only (nopass), between tests. */
static int fresh(void **state)
{
	(void)state;
	server_up(NULL, NULL);
	return 0;
}

/* ---- users and rules, without sessions ---- */

/* Apply rules (separated by spaces, selectors joined as ACL SETUSER joins them) to u. */
static void apply(struct rd_user *u, const char *rules)
{
	char buf[1024], *save = NULL, err[512];
	const uint8_t *args[64];
	size_t lens[64];
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", rules);
	for (char *op = strtok_r(buf, " ", &save); op && n < 64; op = strtok_r(NULL, " ", &save)) {
		args[n] = (const uint8_t *)op;
		lens[n++] = strlen(op);
	}
	if (!acl_user_setuser(u, n, args, lens, err, sizeof(err)))
		fail_msg("rules '%s': %s", rules, err);
}

static struct rd_user *user(const char *rules)
{
	struct rd_user *u = acl_user_new("u", 1);

	assert_non_null(u);
	apply(u, rules);
	return u;
}

static void assert_describes(const struct rd_user *u, const char *want)
{
	char *d = acl_describe_user(u);

	assert_non_null(d);
	assert_string_equal(d, want);
	free(d);
}

static void new_and_default_users(void **state)
{
	struct rd_user *u = acl_user_new("alice", 5), *d = acl_user_new_default();

	(void)state;
	assert_describes(u, "off resetchannels -@all");
	assert_describes(d, "on nopass ~* &* +@all");
	assert_int_equal(acl_user_op(u, "reset", 5), ACL_E_OK);
	assert_describes(u, "off sanitize-payload resetchannels -@all");
	acl_user_free(u);
	acl_user_free(d);
}

static void rules_and_description(void **state)
{
	struct rd_user *u;

	(void)state;
	u = user("on >secret ~k:* %R~r:* %W~w:* %RW~both &ch:* -@all +get +client|id");
	assert_describes(u, "on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b "
			    "~k:* %R~r:* %W~w:* ~both resetchannels &ch:* -@all +client|id +get");
	/* the same pattern again merges its permissions; allkeys drops the list */
	assert_int_equal(acl_user_op(u, "%W~r:*", 6), ACL_E_OK);
	assert_describes(u, "on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b "
			    "~k:* ~r:* %W~w:* ~both resetchannels &ch:* -@all +client|id +get");
	assert_int_equal(acl_user_op(u, "allkeys", 7), ACL_E_OK);
	assert_int_equal(acl_user_op(u, "allchannels", 11), ACL_E_OK);
	assert_int_equal(acl_user_op(u, "nopass", 6), ACL_E_OK);
	assert_describes(u, "on nopass ~* &* -@all +client|id +get");
	acl_user_free(u);

	/* subtractive: from +@all; a container's subcommand excluded alone */
	u = user("+@all -flushall -client|no-evict");
	assert_describes(u, "off resetchannels +@all -client|no-evict -flushall");
	acl_user_free(u);
	u = user("+@all -client +client|id");
	assert_describes(u, "off resetchannels +@all -client +client|id");
	acl_user_free(u);
	/* a first argument of a command without subcommands */
	u = user("-@all +select|0");
	assert_describes(u, "off resetchannels -@all +select|0");
	acl_user_free(u);
	/* selectors */
	u = user("on nopass ~a* +get (~b* +set) (%R~c* +@read)");
	assert_describes(u, "on nopass ~a* resetchannels -@all +get (~b* resetchannels -@all +set) "
			    "(%R~c* resetchannels -@all +@read)");
	assert_int_equal(acl_user_op(u, "clearselectors", 14), ACL_E_OK);
	assert_describes(u, "on nopass ~a* resetchannels -@all +get");
	acl_user_free(u);
}

/* Redis's own test: one category alone is described as exactly that category. */
static void each_category_describes_itself(void **state)
{
	(void)state;
	for (unsigned i = 0; i < RD_ACL_NCATS; i++) {
		char rules[64], want[128];
		unsigned n, members = 0;
		const struct rd_cmd *const *all = rd_cmd_all(&n);
		struct rd_user *u;

		for (unsigned k = 0; k < n; k++)
			members += (all[k]->acl & (1u << i)) != 0;
		snprintf(rules, sizeof(rules), "+@all -@%s", acl_cat_name(i));
		u = user(rules);
		snprintf(want, sizeof(want), "off resetchannels %s",
			 members ? rules : "+@all");	/* (a category with no command here) */
		assert_describes(u, want);
		acl_user_free(u);
		snprintf(rules, sizeof(rules), "-@all +@%s", acl_cat_name(i));
		u = user(rules);
		snprintf(want, sizeof(want), "off resetchannels %s", members ? rules : "-@all");
		assert_describes(u, want);
		acl_user_free(u);
	}
}

static void rule_errors(void **state)
{
	static const struct {
		const char *prep, *op;
		enum acl_err e;
	} cases[] = {
		{ "", "+nosuchcmd", ACL_E_NOENT }, { "", "-nosuchcmd", ACL_E_NOENT },
		{ "", "+@nosuchcat", ACL_E_NOENT }, { "", "bogus", ACL_E_INVAL },
		{ "allkeys", "~a*", ACL_E_EXIST }, { "allchannels", "&a", ACL_E_ISDIR },
		{ "", "<notmine", ACL_E_NODEV }, { "", "#abc", ACL_E_BADMSG },
		{ "", "#2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B",
		  ACL_E_BADMSG },
		{ "", "+client|id|x", ACL_E_CHILD }, { "", "+get|", ACL_E_INVAL },
		{ "", "-select|0", ACL_E_NOENT }, { "", "+client|nosuch", ACL_E_NOENT },
		{ "", "+get|a|b", ACL_E_NOENT }, { "", "%X~a", ACL_E_INVAL },
		{ "", "%R", ACL_E_INVAL }, { "", "~a\tb", ACL_E_INVAL },
		{ "", "(+nosuchcmd)", ACL_E_NOENT },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rd_user *u = user(cases[i].prep);

		if (acl_user_op(u, cases[i].op, strlen(cases[i].op)) != cases[i].e)
			fail_msg("'%s' after '%s'", cases[i].op, cases[i].prep);
		acl_user_free(u);
	}
	assert_string_equal(acl_err_text(ACL_E_NOENT), "Unknown command or category name in ACL");
	assert_string_equal(acl_err_text(ACL_E_BADMSG),
			    "The password hash must be exactly 64 characters and contain only "
			    "lowercase hexadecimal characters");
}

static void setuser_messages(void **state)
{
	const uint8_t *args[3];
	size_t lens[3];
	char err[512];
	struct rd_user *u = acl_user_new("bob", 3);

	(void)state;
	args[0] = (const uint8_t *)"on";
	args[1] = (const uint8_t *)"+nosuch";
	lens[0] = 2;
	lens[1] = 7;
	assert_false(acl_user_setuser(u, 2, args, lens, err, sizeof(err)));
	assert_string_equal(err, "Error in ACL SETUSER modifier '+nosuch': Unknown command or "
				 "category name in ACL");
	args[0] = (const uint8_t *)"(~a*";
	args[1] = (const uint8_t *)"+get";
	lens[0] = 4;
	lens[1] = 4;
	assert_false(acl_user_setuser(u, 2, args, lens, err, sizeof(err)));
	assert_string_equal(err, "Unmatched parenthesis in acl selector starting at '(~a*'.");
	/* a selector spread over arguments is joined */
	args[2] = (const uint8_t *)"+set)";
	lens[2] = 5;
	assert_true(acl_user_setuser(u, 3, args, lens, err, sizeof(err)));
	assert_describes(u, "on resetchannels -@all (~a* resetchannels -@all +get +set)");
	acl_user_free(u);
}

static void passwords(void **state)
{
	struct rd_user *u = user("on >one >two >one");

	(void)state;
	assert_int_equal(u->npass, 2);
	assert_true(acl_user_password_ok(u, "one", 3));
	assert_true(acl_user_password_ok(u, "two", 3));
	assert_false(acl_user_password_ok(u, "three", 5));
	assert_false(acl_user_password_ok(u, "", 0));
	assert_int_equal(acl_user_op(u, "<one", 4), ACL_E_OK);
	assert_false(acl_user_password_ok(u, "one", 3));
	/* by hash: the SHA-256 of "secret" */
	assert_int_equal(acl_user_op(u, "#2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", 65), ACL_E_OK);
	assert_true(acl_user_password_ok(u, "secret", 6));
	assert_int_equal(acl_user_op(u, "!2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", 65), ACL_E_OK);
	assert_false(acl_user_password_ok(u, "secret", 6));
	assert_int_equal(acl_user_op(u, "nopass", 6), ACL_E_OK);
	assert_int_equal(u->npass, 0);
	assert_true(acl_user_password_ok(u, "anything", 8));
	assert_int_equal(acl_user_op(u, "resetpass", 9), ACL_E_OK);
	assert_false(acl_user_password_ok(u, "anything", 8));
	acl_user_free(u);
}

/* ---- checks ---- */

static struct resp_cmd *mkcmd(struct resp_cmd *c, ...)
{
	va_list ap;
	const char *a;

	memset(c, 0, sizeof(*c));
	va_start(ap, c);
	while ((a = va_arg(ap, const char *)) != NULL) {
		c->embed[c->argc] = (struct resp_arg){ .u.p = (const uint8_t *)a,
						       .len = (uint32_t)strlen(a),
						       .kind = RESP_ARG_PTR };
		c->argc++;
	}
	va_end(ap);
	return c;
}

/* Check u on the command in cmd (looked up as the session would); *pos: the denied argument. */
static enum acl_deny check(const struct rd_user *u, const struct resp_cmd *cmd, uint32_t *pos)
{
	const struct rd_cmd *c = rd_cmd_lookup(&cmd->embed[0]);
	uint32_t keys[64];
	unsigned n;

	assert_non_null(c);
	if (c->sub)
		c = rd_subcmd_lookup(c, &cmd->embed[1]);
	assert_non_null(c);
	n = rd_cmd_keys(c, cmd, keys, 64);
	*pos = 0;
	return acl_user_check(u, c, cmd, keys, n, pos);
}

static void command_permissions(void **state)
{
	struct resp_cmd c;
	uint32_t pos;
	struct rd_user *u = user("on nopass allkeys -@all +@string -set +client|id +select|0");

	(void)state;
	assert_int_equal(check(u, mkcmd(&c, "GET", "k", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "INCR", "k", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "SET", "k", "v", NULL), &pos), ACL_DENIED_CMD);
	assert_int_equal(check(u, mkcmd(&c, "DEL", "k", NULL), &pos), ACL_DENIED_CMD);
	assert_int_equal(check(u, mkcmd(&c, "client", "ID", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "CLIENT", "SETNAME", "x", NULL), &pos),
			 ACL_DENIED_CMD);
	assert_int_equal(check(u, mkcmd(&c, "SELECT", "0", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "SELECT", "1", NULL), &pos), ACL_DENIED_CMD);
	/* AUTH and HELLO need no permission */
	assert_int_equal(check(u, mkcmd(&c, "AUTH", "x", "y", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "HELLO", "3", NULL), &pos), ACL_ALLOWED);
	acl_user_free(u);
	/* -@dangerous from +@all */
	u = user("on nopass allkeys +@all -@dangerous");
	assert_int_equal(check(u, mkcmd(&c, "FLUSHALL", NULL), &pos), ACL_DENIED_CMD);
	assert_int_equal(check(u, mkcmd(&c, "KEYS", "*", NULL), &pos), ACL_DENIED_CMD);
	assert_int_equal(check(u, mkcmd(&c, "ACL", "SETUSER", "x", NULL), &pos), ACL_DENIED_CMD);
	assert_int_equal(check(u, mkcmd(&c, "ACL", "WHOAMI", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "SET", "k", "v", NULL), &pos), ACL_ALLOWED);
	acl_user_free(u);
}

static void key_permissions(void **state)
{
	struct resp_cmd c;
	uint32_t pos;
	struct rd_user *u = user("on nopass +@all ~app:* %R~ro:* %W~wo:*");

	(void)state;
	assert_int_equal(check(u, mkcmd(&c, "GET", "app:1", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "GET", "other", NULL), &pos), ACL_DENIED_KEY);
	assert_int_equal(pos, 1);
	/* read-only patterns: reads yes, writes no */
	assert_int_equal(check(u, mkcmd(&c, "GET", "ro:1", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "SET", "ro:1", "v", NULL), &pos), ACL_DENIED_KEY);
	assert_int_equal(check(u, mkcmd(&c, "INCR", "ro:1", NULL), &pos), ACL_DENIED_KEY);
	/* write-only: SET without GET writes only; with GET it reads too */
	assert_int_equal(check(u, mkcmd(&c, "SET", "wo:1", "v", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "SET", "wo:1", "v", "GET", NULL), &pos),
			 ACL_DENIED_KEY);
	assert_int_equal(check(u, mkcmd(&c, "GET", "wo:1", NULL), &pos), ACL_DENIED_KEY);
	assert_int_equal(check(u, mkcmd(&c, "DEL", "wo:1", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "INCR", "wo:1", NULL), &pos), ACL_DENIED_KEY);
	/* EXISTS and TTL-less metadata reads need neither */
	assert_int_equal(check(u, mkcmd(&c, "EXISTS", "wo:1", NULL), &pos), ACL_ALLOWED);
	/* every key counts: the denied one is named */
	assert_int_equal(check(u, mkcmd(&c, "MGET", "app:1", "ro:2", "nope", "app:3", NULL), &pos),
			 ACL_DENIED_KEY);
	assert_int_equal(pos, 3);
	assert_int_equal(check(u, mkcmd(&c, "MSET", "app:1", "v", "wo:2", "v", NULL), &pos),
			 ACL_ALLOWED);
	/* RENAME reads and deletes its source, writes its destination */
	assert_int_equal(check(u, mkcmd(&c, "RENAME", "app:1", "wo:2", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "RENAME", "wo:1", "app:2", NULL), &pos),
			 ACL_DENIED_KEY);
	/* commands without keys are not concerned */
	assert_int_equal(check(u, mkcmd(&c, "DBSIZE", NULL), &pos), ACL_ALLOWED);
	acl_user_free(u);
}

static void selectors_check(void **state)
{
	struct resp_cmd c;
	uint32_t pos;
	struct rd_user *u = user("on nopass ~a:* +get (~b:* +set) (%R~c:* +@read)");

	(void)state;
	assert_int_equal(check(u, mkcmd(&c, "GET", "a:1", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "SET", "b:1", "v", NULL), &pos), ACL_ALLOWED);
	assert_int_equal(check(u, mkcmd(&c, "GET", "c:1", NULL), &pos), ACL_ALLOWED);
	/* no single selector allows both */
	assert_int_equal(check(u, mkcmd(&c, "SET", "a:1", "v", NULL), &pos), ACL_DENIED_KEY);
	assert_int_equal(check(u, mkcmd(&c, "GET", "b:1", NULL), &pos), ACL_DENIED_KEY);
	assert_int_equal(check(u, mkcmd(&c, "DEL", "a:1", NULL), &pos), ACL_DENIED_CMD);
	acl_user_free(u);
}

/* ---- the ACL file ---- */

static struct rd_acl *table_of(const char *const *lines)
{
	struct rd_acl *t = acl_table_new();

	for (unsigned i = 0; lines[i]; i++) {
		const char *sp = strchr(lines[i], ' ');
		struct rd_user *u = acl_user_new(lines[i], (size_t)(sp - lines[i]));

		apply(u, sp + 1);
		assert_true(acl_table_put(t, u));
	}
	return t;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static void file_round_trip(void **state)
{
	static const char *const lines[] = {
		"default on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~* &* +@all",
		"zed on >pw ~cache:* %R~ro:* resetchannels -@all +@read +set",
		"alice off nopass allkeys +@all -@dangerous (~x* +get)",
		NULL,
	};
	struct rd_acl_priv priv = { 0 };
	struct rd_acl *t = table_of(lines), *back;
	char path[128], err[1024];

	(void)state;
	snprintf(path, sizeof(path), "%s/users.acl", dir);
	assert_true(acl_file_save(t, path));
	/* sorted by name, as Redis's rax */
	assert_string_equal(read_file(path),
		"user alice off nopass ~* resetchannels +@all -@dangerous (~x* resetchannels -@all +get)\n"
		"user default on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~* &* +@all\n"
		"user zed on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~cache:* %R~ro:* resetchannels -@all +@read +set\n");
	back = acl_file_load(&priv, path, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(back->nusers, 3);
	for (unsigned i = 0; i < 3; i++) {
		char *a = acl_describe_user(t->users[i]), *b = acl_describe_user(back->users[i]);

		assert_string_equal(t->users[i]->name, back->users[i]->name);
		assert_string_equal(a, b);
		assert_memory_equal(t->users[i]->sel[0].cmds, back->users[i]->sel[0].cmds,
				    sizeof(t->users[i]->sel[0].cmds));
		free(a);
		free(b);
	}
	assert_true(acl_user_password_ok(back->users[2], "pw", 2));
	acl_table_free(t);
	acl_table_free(back);
}

static void file_errors(void **state)
{
	struct rd_acl_priv priv = { 0 };
	struct rd_acl *t;
	char path[128], err[2048], want[1024];

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.acl", dir);
	write_file(path, "user a on +nosuch ~x\n\nbob on\nuser a on\nuser b on bogus %X~y\n");
	assert_null(acl_file_load(&priv, path, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "%s:1: Error in applying operation '+nosuch': Unknown command or category name in "
		 "ACL. %s:3 should start with user keyword followed by the username. WARNING: "
		 "Duplicate user 'a' found on line 4. %s:5: Syntax error. WARNING: ACL errors "
		 "detected, no change to the previously active ACL rules was performed",
		 path, path, path);
	assert_string_equal(err, want);
	snprintf(path, sizeof(path), "%s/missing.acl", dir);
	assert_null(acl_file_load(&priv, path, err, sizeof(err)));
	snprintf(want, sizeof(want), "Error loading ACLs, opening file '%s': No such file or "
		 "directory", path);
	assert_string_equal(err, want);
	/* no default user in the file: the one --requirepass describes */
	snprintf(path, sizeof(path), "%s/nodefault.acl", dir);
	write_file(path, "  user bob on nopass +@all ~*  \r\n");
	priv.has_requirepass = true;
	SHA256((const uint8_t *)"secret", 6, priv.requirepass);
	t = acl_file_load(&priv, path, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nusers, 2);
	assert_describes(t->users[0], "on nopass ~* resetchannels +@all");
	assert_describes(t->users[1], "on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~* &* +@all");
	acl_table_free(t);
}

/* ---- through a session ---- */

struct fake_in {
	struct mc_inq q;
	const uint8_t *data;
	uint64_t head;
};

static const uint8_t *fake_peek(const struct mc_inq *q, uint64_t off, uint64_t *contig)
{
	const struct fake_in *f = (const struct fake_in *)q;

	*contig = q->len - off;
	return f->data + f->head + off;
}

static void fake_consume(struct mc_inq *q, uint64_t n)
{
	struct fake_in *f = (struct fake_in *)q;

	f->head += n;
	q->len -= n;
}

static char reply[1 << 16];
static enum mc_run last_run;

static struct rd_session *session(void)
{
	struct rd_session *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	rd_session_init(s, rd_server_next_client_id(&SRV), 1000);
	s->env = &H.lc->env;
	s->raddr = DP_CLIENT;
	s->rport = 40000;
	s->laddr = DP_IP;
	s->laddr_port = 6379;
	rd_acl_session_start(s);
	return s;
}

static void session_end(struct rd_session *s)
{
	rd_session_release(s, &H.lc->env);
	free(s);
}

/* Send one command (arguments up to NULL) and return the whole reply. */
static const char *cmd(struct rd_session *s, ...)
{
	static char req[8192];
	struct fake_in in = { .q = { .peek = fake_peek, .consume = fake_consume },
			      .data = (const uint8_t *)req };
	struct mc_out out;
	const char *args[64];
	unsigned n = 0;
	size_t len;
	va_list ap;

	va_start(ap, s);
	while (n < 64 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	len = (size_t)snprintf(req, sizeof(req), "*%u\r\n", n);
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "$%zu\r\n%s\r\n",
					strlen(args[i]), args[i]);
	in.q.len = len;
	mc_out_init_buf(&out, reply, sizeof(reply) - 1);
	last_run = rd_session_run(s, &in.q, &out, &H.lc->env);
	assert_false(out.failed);
	reply[out.written] = 0;
	rcu_quiescent_state();
	return reply;
}

static void auth_and_noauth(void **state)
{
	struct rd_session *s;

	(void)state;
	s = session();
	assert_string_equal(cmd(s, "AUTH", "x", NULL),
			    "-ERR AUTH <password> called without any password configured for the "
			    "default user. Are you sure your configuration is correct?\r\n");
	assert_string_equal(cmd(s, "ACL", "WHOAMI", NULL), "$7\r\ndefault\r\n");
	session_end(s);

	server_up("secret", NULL);
	s = session();
	assert_string_equal(cmd(s, "PING", NULL), "-NOAUTH Authentication required.\r\n");
	assert_string_equal(cmd(s, "AUTH", "wrong", NULL),
			    "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	assert_string_equal(cmd(s, "AUTH", "nobody", "secret", NULL),
			    "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	assert_string_equal(cmd(s, "HELLO", "3", NULL),
			    "-NOAUTH HELLO must be called with the client already authenticated, "
			    "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
			    "authenticate the client and select the RESP protocol version at the "
			    "same time\r\n");
	assert_string_equal(cmd(s, "AUTH", "secret", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "PING", NULL), "+PONG\r\n");
	session_end(s);
	/* HELLO AUTH */
	s = session();
	assert_string_equal(cmd(s, "HELLO", "2", "AUTH", "default", "nope", NULL),
			    "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	assert_non_null(strstr(cmd(s, "HELLO", "3", "AUTH", "default", "secret", NULL),
			       "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"));
	assert_string_equal(cmd(s, "ACL", "WHOAMI", NULL), "$7\r\ndefault\r\n");
	/* the failures are in the log, newest first */
	assert_non_null(strstr(cmd(s, "ACL", "LOG", NULL), "*3\r\n%7\r\n$5\r\ncount\r\n:1\r\n"
			       "$6\r\nreason\r\n$4\r\nauth\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n"
			       "$6\r\nobject\r\n$5\r\nHELLO\r\n$8\r\nusername\r\n$7\r\ndefault\r\n"));
	assert_string_equal(cmd(s, "ACL", "LOG", "RESET", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "ACL", "LOG", NULL), "*0\r\n");
	session_end(s);
}

static void setuser_getuser(void **state)
{
	struct rd_session *s = session();

	(void)state;
	assert_string_equal(cmd(s, "ACL", "SETUSER", "alice", "on", ">pw", "~cached:*", "+@read",
				NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "ACL", "GETUSER", "alice", NULL),
		"*12\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n"
		"$9\r\npasswords\r\n*1\r\n$64\r\n30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4\r\n"
		"$8\r\ncommands\r\n$12\r\n-@all +@read\r\n"
		"$4\r\nkeys\r\n$9\r\n~cached:*\r\n"
		"$8\r\nchannels\r\n$0\r\n\r\n"
		"$9\r\nselectors\r\n*0\r\n");
	assert_string_equal(cmd(s, "ACL", "SETUSER", "alice", "(~x:*", "+set)", "%W~w:*", NULL),
			    "+OK\r\n");
	assert_non_null(strstr(cmd(s, "HELLO", "3", NULL), "%7\r\n"));
	assert_string_equal(cmd(s, "ACL", "GETUSER", "alice", NULL),
		"%6\r\n$5\r\nflags\r\n~1\r\n$2\r\non\r\n"
		"$9\r\npasswords\r\n*1\r\n$64\r\n30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4\r\n"
		"$8\r\ncommands\r\n$12\r\n-@all +@read\r\n"
		"$4\r\nkeys\r\n$16\r\n~cached:* %W~w:*\r\n"
		"$8\r\nchannels\r\n$0\r\n\r\n"
		"$9\r\nselectors\r\n*1\r\n%3\r\n$8\r\ncommands\r\n$10\r\n-@all +set\r\n"
		"$4\r\nkeys\r\n$4\r\n~x:*\r\n$8\r\nchannels\r\n$0\r\n\r\n");
	assert_string_equal(cmd(s, "ACL", "GETUSER", "nobody", NULL), "_\r\n");
	assert_string_equal(cmd(s, "ACL", "USERS", NULL), "*2\r\n$5\r\nalice\r\n$7\r\ndefault\r\n");
	assert_string_equal(cmd(s, "ACL", "LIST", NULL),
		"*2\r\n$155\r\nuser alice on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 "
		"~cached:* %W~w:* resetchannels -@all +@read (~x:* resetchannels -@all +set)\r\n"
		"$34\r\nuser default on nopass ~* &* +@all\r\n");
	/* errors, all or nothing */
	assert_string_equal(cmd(s, "ACL", "SETUSER", "alice", "off", "+nosuch", NULL),
			    "-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or "
			    "category name in ACL\r\n");
	assert_non_null(strstr(cmd(s, "ACL", "GETUSER", "alice", NULL), "~1\r\n$2\r\non\r\n"));
	assert_string_equal(cmd(s, "ACL", "SETUSER", "a b", NULL),
			    "-ERR Usernames can't contain spaces or null characters\r\n");
	assert_string_equal(cmd(s, "ACL", "DELUSER", "alice", "default", NULL),
			    "-ERR The 'default' user cannot be removed\r\n");
	assert_string_equal(cmd(s, "ACL", "CAT", "nosuch", NULL),
			    "-ERR Unknown category 'nosuch'\r\n");
	assert_string_equal(cmd(s, "ACL", "CAT", "a", "b", NULL),
			    "-ERR unknown subcommand or wrong number of arguments for 'CAT'. Try "
			    "ACL HELP.\r\n");
	assert_string_equal(cmd(s, "ACL", "NOSUCH", NULL),
			    "-ERR unknown subcommand 'NOSUCH'. Try ACL HELP.\r\n");
	assert_string_equal(cmd(s, "ACL", "GETUSER", NULL),
			    "-ERR wrong number of arguments for 'acl|getuser' command\r\n");
	assert_non_null(strstr(cmd(s, "ACL", "CAT", NULL), "*21\r\n$8\r\nkeyspace\r\n$4\r\nread\r\n"));
	assert_non_null(strstr(cmd(s, "ACL", "CAT", "dangerous", NULL), "$8\r\nflushall\r\n"));
	assert_string_equal(cmd(s, "ACL", "GENPASS", "0", NULL),
			    "-ERR ACL GENPASS argument must be the number of bits for the output "
			    "password, a positive number up to 4096\r\n");
	assert_int_equal(strlen(cmd(s, "ACL", "GENPASS", NULL)), strlen("$64\r\n\r\n") + 64);
	assert_int_equal(strlen(cmd(s, "ACL", "GENPASS", "5", NULL)), strlen("$2\r\n\r\n") + 2);
	assert_string_equal(cmd(s, "ACL", "SAVE", NULL),
			    "-ERR This Redis instance is not configured to use an ACL file. You may "
			    "want to specify users via the ACL SETUSER command and then issue a "
			    "CONFIG REWRITE (assuming you have a Redis configuration file set) in "
			    "order to store users in the Redis configuration.\r\n");
	/* DRYRUN */
	assert_string_equal(cmd(s, "ACL", "DRYRUN", "alice", "GET", "cached:1", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "ACL", "DRYRUN", "alice", "SET", "x:1", "v", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "ACL", "DRYRUN", "alice", "DEL", "x:1", NULL),
			    "$53\r\nThis user has no permissions to run the 'del' command\r\n");
	assert_string_equal(cmd(s, "ACL", "DRYRUN", "alice", "GET", "zz", NULL),
			    "$51\r\nThis user has no permissions to access the 'zz' key\r\n");
	assert_string_equal(cmd(s, "ACL", "DRYRUN", "bob", "GET", "zz", NULL),
			    "-ERR User 'bob' not found\r\n");
	assert_string_equal(cmd(s, "ACL", "DRYRUN", "alice", "NOPE", NULL),
			    "-ERR Command 'NOPE' not found\r\n");
	assert_string_equal(cmd(s, "ACL", "DRYRUN", "alice", "GET", NULL),
			    "-ERR wrong number of arguments for 'get' command\r\n");
	session_end(s);
}

static void noperm_and_log(void **state)
{
	struct rd_session *admin = session(), *s = session();

	(void)state;
	assert_string_equal(cmd(admin, "ACL", "SETUSER", "app", "on", ">pw", "~app:*", "+@all",
				"-flushall", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "AUTH", "app", "pw", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "ACL", "WHOAMI", NULL), "$3\r\napp\r\n");
	assert_string_equal(cmd(s, "SET", "app:1", "v", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "GET", "app:1", NULL), "$1\r\nv\r\n");
	assert_string_equal(cmd(s, "GET", "other", NULL),
			    "-NOPERM this user has no permissions to access one of the keys used as "
			    "arguments\r\n");
	assert_string_equal(cmd(s, "FLUSHALL", NULL),
			    "-NOPERM this user has no permissions to run the 'flushall' command\r\n");
	assert_string_equal(cmd(s, "FLUSHALL", NULL),
			    "-NOPERM this user has no permissions to run the 'flushall' command\r\n");
	/* a change applies at once to the live session */
	assert_string_equal(cmd(admin, "ACL", "SETUSER", "app", "-client|id", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "CLIENT", "ID", NULL),
			    "-NOPERM this user has no permissions to run the 'client|id' command\r\n");
	/* inside MULTI: refused, and EXEC aborts */
	assert_string_equal(cmd(s, "MULTI", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "SET", "nope", "v", NULL),
			    "-NOPERM this user has no permissions to access one of the keys used as "
			    "arguments\r\n");
	assert_string_equal(cmd(s, "EXEC", NULL),
			    "-EXECABORT Transaction discarded because of previous errors.\r\n");
	/* queued while allowed, refused at EXEC after a change */
	assert_string_equal(cmd(s, "MULTI", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "SET", "app:2", "v", NULL), "+QUEUED\r\n");
	assert_string_equal(cmd(s, "GET", "app:1", NULL), "+QUEUED\r\n");
	assert_string_equal(cmd(admin, "ACL", "SETUSER", "app", "-set", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "EXEC", NULL),
			    "*2\r\n-NOPERM ACLs rules changed between the moment the transaction "
			    "was accumulated and the EXEC call. This command is no longer allowed "
			    "for the following reason: no permission to execute the command or "
			    "subcommand\r\n$1\r\nv\r\n");
	/* the log: grouped, newest first */
	cmd(admin, "ACL", "LOG", NULL);
	assert_non_null(strstr(reply, "*5\r\n*14\r\n$5\r\ncount\r\n:1\r\n$6\r\nreason\r\n$7\r\n"
			       "command\r\n$7\r\ncontext\r\n$5\r\nmulti\r\n$6\r\nobject\r\n$3\r\n"
			       "set\r\n$8\r\nusername\r\n$3\r\napp\r\n"));
	assert_non_null(strstr(reply, "$5\r\ncount\r\n:2\r\n$6\r\nreason\r\n$7\r\ncommand\r\n"
			       "$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$8\r\nflushall\r\n"));
	assert_non_null(strstr(reply, "$6\r\nreason\r\n$3\r\nkey\r\n$7\r\ncontext\r\n$8\r\n"
			       "toplevel\r\n$6\r\nobject\r\n$5\r\nother\r\n"));
	assert_non_null(strstr(reply, "addr=198.18.0.1:40000 laddr=198.18.0.11:6379"));
	assert_non_null(strstr(cmd(admin, "ACL", "LOG", "1", NULL), "*1\r\n*14\r\n"));
	/* deleting the user closes its sessions: the next command gets no reply */
	assert_string_equal(cmd(admin, "ACL", "DELUSER", "app", "nobody", NULL), ":1\r\n");
	assert_string_equal(cmd(s, "PING", NULL), "");
	assert_int_equal(last_run, MC_RUN_CLOSE);
	session_end(s);
	/* a session deleting its own user is closed after the reply */
	s = session();
	assert_string_equal(cmd(admin, "ACL", "SETUSER", "me", "on", "nopass", "+@all", NULL),
			    "+OK\r\n");
	assert_string_equal(cmd(s, "AUTH", "me", "x", NULL), "+OK\r\n");
	assert_string_equal(cmd(s, "ACL", "DELUSER", "me", NULL), ":1\r\n");
	assert_int_equal(last_run, MC_RUN_CLOSE);
	session_end(s);
	session_end(admin);
}

static void save_and_load(void **state)
{
	struct rd_session *admin, *s;
	char path[128], line[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/live.acl", dir);
	write_file(path, "user default on nopass ~* &* +@all\nuser old on nopass +@all ~*\n");
	server_up(NULL, path);
	admin = session();
	s = session();
	assert_string_equal(cmd(s, "AUTH", "old", "x", NULL), "+OK\r\n");
	assert_string_equal(cmd(admin, "ACL", "SETUSER", "new", "on", ">pw", "+get", "~k", NULL),
			    "+OK\r\n");
	assert_string_equal(cmd(admin, "ACL", "SAVE", NULL), "+OK\r\n");
	assert_string_equal(read_file(path),
		"user default on nopass ~* &* +@all\n"
		"user new on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~k resetchannels -@all +get\n"
		"user old on nopass ~* resetchannels +@all\n");
	/* LOAD replaces every user but default: the sessions of the others are closed */
	write_file(path, "user default on nopass ~* &* +@all\nuser old on nopass +@all ~*\n");
	assert_string_equal(cmd(admin, "ACL", "LOAD", NULL), "+OK\r\n");
	assert_string_equal(cmd(admin, "ACL", "USERS", NULL), "*2\r\n$7\r\ndefault\r\n$3\r\nold\r\n");
	assert_string_equal(cmd(admin, "PING", NULL), "+PONG\r\n");
	assert_string_equal(cmd(s, "PING", NULL), "");
	assert_int_equal(last_run, MC_RUN_CLOSE);
	/* a bad file changes nothing */
	write_file(path, "user default on nopass ~* &* +@all\nuser x on +nosuch\n");
	snprintf(line, sizeof(line), "-ERR %s:2: Error in applying operation '+nosuch': Unknown "
		 "command or category name in ACL. WARNING: ACL errors detected, no change to the "
		 "previously active ACL rules was performed\r\n", path);
	assert_string_equal(cmd(admin, "ACL", "LOAD", NULL), line);
	assert_string_equal(cmd(admin, "ACL", "USERS", NULL), "*2\r\n$7\r\ndefault\r\n$3\r\nold\r\n");
	session_end(s);
	session_end(admin);
	/* a file that does not load stops the start */
	write_file(path, "user x on +nosuch\n");
	rd_server_fini(&SRV);
	H.app.rd = NULL;
	assert_int_not_equal(rd_server_init(&SRV, NULL, 6379, false, NULL, 0, 16u << 20, 1u << 20,
					    NULL, path, "test"), 0);
	server_up(NULL, NULL);
}

/* ---- the memcached rule, at the TCP layer ---- */

static uint8_t sent_flags(unsigned i)
{
	const struct rte_tcp_hdr *th =
		rte_pktmbuf_mtod_offset(H.sent[i], const struct rte_tcp_hdr *,
					RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr));

	return th->tcp_flags;
}

static uint64_t refused(void)
{
	return H.lc->tcp->st.mc_auth_refused;
}

static void syn(uint16_t sport)
{
	uint8_t f[256];

	dp_clear_sent(&H);
	dp_input(&H, f, dp_tcp_ports(f, sport, 11211, RTE_TCP_SYN_FLAG, 1000, 0, 65535, NULL, 0,
				     NULL, 0));
	assert_int_equal(H.nsent, 1);
}

static void memcached_rule(void **state)
{
	uint64_t before = refused();

	(void)state;
	dp_learn_client(&H);
	/* no password anywhere: served */
	syn(50001);
	assert_int_equal(sent_flags(0), RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	/* a password: refused with a RST, counted */
	server_up("secret", NULL);
	syn(50002);
	assert_true(sent_flags(0) & RTE_TCP_RST_FLAG);
	assert_int_equal(refused(), before + 1);
	/* a source in --mc-allow is served */
	H.app.cfg.mc_allow[0] = (struct wc_prefix){ DP_CLIENT & 0xFFFFFF00u, 24 };
	H.app.cfg.nmc_allow = 1;
	syn(50003);
	assert_int_equal(sent_flags(0), RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	H.app.cfg.mc_allow[0] = (struct wc_prefix){ 0x0A000000u, 8 };
	syn(50004);
	assert_true(sent_flags(0) & RTE_TCP_RST_FLAG);
	assert_int_equal(refused(), before + 2);
	/* passwords on another user count too; back to nopass everywhere: served */
	server_up(NULL, NULL);
	syn(50005);
	assert_int_equal(sent_flags(0), RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
	{
		struct rd_session *s = session();

		assert_string_equal(cmd(s, "ACL", "SETUSER", "u", "on", ">pw", NULL), "+OK\r\n");
		session_end(s);
	}
	syn(50006);
	assert_true(sent_flags(0) & RTE_TCP_RST_FLAG);
	H.app.cfg.nmc_allow = 0;
	dp_clear_sent(&H);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_and_default_users),
		cmocka_unit_test(rules_and_description),
		cmocka_unit_test(each_category_describes_itself),
		cmocka_unit_test(rule_errors),
		cmocka_unit_test(setuser_messages),
		cmocka_unit_test(passwords),
		cmocka_unit_test(command_permissions),
		cmocka_unit_test(key_permissions),
		cmocka_unit_test(selectors_check),
		cmocka_unit_test(file_round_trip),
		cmocka_unit_test(file_errors),
		cmocka_unit_test_setup(auth_and_noauth, fresh),
		cmocka_unit_test_setup(setuser_getuser, fresh),
		cmocka_unit_test_setup(noperm_and_log, fresh),
		cmocka_unit_test_setup(save_and_load, fresh),
		cmocka_unit_test_setup(memcached_rule, fresh),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
