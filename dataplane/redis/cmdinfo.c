/*
 * cmdinfo.c - COMMAND, COMMAND COUNT, INFO, DOCS, LIST, GETKEYS,
 * GETKEYSANDFLAGS and HELP, from the command table (commands.c).
 *
 * Each command's key spec is derived from its row: keys found from index
 * `first` over a range (last key relative to it, or negative from the end)
 * with the row's step, which is what cluster clients route by; the spec's
 * flags come from the row's key_flags where the row says more than its
 * flags do (a write that deletes or overwrites), else from its flags (a
 * read-only command: RO access; a write: RW update). A command that finds
 * its keys itself (getkeys) is movablekeys and its spec is marked
 * incomplete, as Redis marks such specs. A row with key_flags2 has two
 * specs, as Redis gives RENAME, COPY, SMOVE and the *STORE commands: its
 * first key, then the rest of its range. A spec with variable_flags (SET)
 * lets GETKEYSANDFLAGS ask the row what this call does (var_flags).
 */
#include <stdio.h>
#include <string.h>

#include "redis/cmdinfo.h"
#include "redis/cmds.h"
#include "redis/glob.h"
#include "redis/text.h"

/* ---- one entry ---- */

static const struct {
	uint32_t flag;
	const char *name;
} flag_names[] = {
	/* Redis's order; may_replicate is not shown, as Redis hides it */
	{ RD_F_WRITE, "write" }, { RD_F_READONLY, "readonly" }, { RD_F_DENYOOM, "denyoom" },
	{ RD_F_ADMIN, "admin" }, { RD_F_PUBSUB, "pubsub" }, { RD_F_NOSCRIPT, "noscript" },
	{ RD_F_BLOCKING, "blocking" }, { RD_F_LOADING, "loading" }, { RD_F_STALE, "stale" },
	{ RD_F_SKIP_MONITOR, "skip_monitor" }, { RD_F_SKIP_SLOWLOG, "skip_slowlog" },
	{ RD_F_ASKING, "asking" }, { RD_F_FAST, "fast" }, { RD_F_NO_AUTH, "no_auth" },
	{ RD_F_NO_MANDATORY_KEYS, "no_mandatory_keys" },
	{ RD_F_NO_ASYNC_LOADING, "no_async_loading" }, { RD_F_NO_MULTI, "no_multi" },
	{ RD_F_MOVABLE_KEYS, "movablekeys" }, { RD_F_ALLOW_BUSY, "allow_busy" },
};

static const char *const acl_names[RD_ACL_NCATS] = {
	/* the bit order of enum rd_acl_cat, which is Redis's order */
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting",
};

static const struct {
	uint16_t flag;
	const char *name;
} key_flag_names[] = {
	{ RD_KS_RO, "RO" }, { RD_KS_RW, "RW" }, { RD_KS_OW, "OW" }, { RD_KS_RM, "RM" },
	{ RD_KS_ACCESS, "access" }, { RD_KS_UPDATE, "update" }, { RD_KS_INSERT, "insert" },
	{ RD_KS_DELETE, "delete" }, { RD_KS_NOT_KEY, "not_key" },
	{ RD_KS_INCOMPLETE, "incomplete" }, { RD_KS_VARIABLE_FLAGS, "variable_flags" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

void rd_cmd_fullname(char *buf, size_t cap, const struct rd_cmd *c)
{
	const struct rd_cmd *parent = rd_cmd_parent(c);

	if (parent)
		snprintf(buf, cap, "%s|%s", parent->name, c->name);
	else
		snprintf(buf, cap, "%s", c->name);
}

uint16_t rd_cmd_key_flags(const struct rd_cmd *c)
{
	uint16_t f = c->key_flags;

	if (!f) {
		if (c->flags & RD_F_WRITE)
			f = RD_KS_RW | RD_KS_UPDATE;
		else if (c->flags & RD_F_READONLY)
			f = RD_KS_RO | RD_KS_ACCESS;
		else
			f = RD_KS_RO;	/* keys it only looks at (WATCH) */
	}
	if (c->getkeys && c->keynum_index <= 0)
		f |= RD_KS_INCOMPLETE;	/* (a keynum spec finds every key) */
	return f;
}

uint16_t rd_cmd_key_flags_at(const struct rd_cmd *c, const struct resp_cmd *cmd, uint32_t pos)
{
	uint16_t f = rd_cmd_key_flags(c);

	if (c->key_flags2 && pos != (uint32_t)c->keys.first)
		f = c->key_flags2;
	if ((f & RD_KS_VARIABLE_FLAGS) && c->var_flags)
		f = c->var_flags(cmd, pos);
	return f;
}

static void key_flags_reply(struct mc_out *o, uint8_t proto, uint16_t f)
{
	unsigned n = 0;

	for (unsigned i = 0; i < N(key_flag_names); i++)
		n += (f & key_flag_names[i].flag) != 0;
	resp_set(o, proto, n);
	for (unsigned i = 0; i < N(key_flag_names); i++)
		if (f & key_flag_names[i].flag)
			resp_simple(o, key_flag_names[i].name);
}

static bool has_keys(const struct rd_cmd *c)
{
	return c->keys.first > 0 || c->getkeys;
}

unsigned rd_cmd_key_specs(const struct rd_cmd *c, struct rd_kspec_view out[2])
{
	const struct rd_keyspec *k = &c->keys;

	if (!has_keys(c))
		return 0;
	if (c->keynum_index > 0) {
		/* a count, then the keys: a complete spec, unlike unknown ones */
		out[0] = (struct rd_kspec_view){ .flags = rd_cmd_key_flags(c),
						 .index = c->keynum_index, .step = 1,
						 .keynum = true };
		return 1;
	}
	if (k->first <= 0) {
		/* found by the arguments themselves: begin_search and find_keys unknown */
		out[0] = (struct rd_kspec_view){ .flags = rd_cmd_key_flags(c) };
		return 1;
	}
	out[0] = (struct rd_kspec_view){ .flags = rd_cmd_key_flags(c), .index = k->first,
					 .lastkey = k->last < 0 ? k->last : k->last - k->first,
					 .step = k->step > 0 ? k->step : 1 };
	if (!c->key_flags2)
		return 1;
	/* the first key, then the rest of the range */
	out[0].lastkey = 0;
	out[0].step = 1;
	out[1] = (struct rd_kspec_view){ .flags = c->key_flags2, .index = k->first + 1,
					 .lastkey = k->last < 0 ? k->last : k->last - k->first - 1,
					 .step = k->step > 0 ? k->step : 1 };
	return 2;
}

static void one_spec_reply(struct mc_out *o, uint8_t proto, const struct rd_kspec_view *k)
{
	resp_map(o, proto, 3);
	resp_bulk_str(o, "flags");
	key_flags_reply(o, proto, k->flags);
	resp_bulk_str(o, "begin_search");
	resp_map(o, proto, 2);
	resp_bulk_str(o, "type");
	if (k->index > 0) {
		resp_bulk_str(o, "index");
		resp_bulk_str(o, "spec");
		resp_map(o, proto, 1);
		resp_bulk_str(o, "index");
		resp_int(o, k->index);
	} else {
		resp_bulk_str(o, "unknown");
		resp_bulk_str(o, "spec");
		resp_map(o, proto, 0);
	}
	resp_bulk_str(o, "find_keys");
	resp_map(o, proto, 2);
	resp_bulk_str(o, "type");
	if (k->keynum) {
		resp_bulk_str(o, "keynum");
		resp_bulk_str(o, "spec");
		resp_map(o, proto, 3);
		resp_bulk_str(o, "keynumidx");
		resp_int(o, 0);
		resp_bulk_str(o, "firstkey");
		resp_int(o, 1);
		resp_bulk_str(o, "keystep");
		resp_int(o, k->step);
	} else if (k->index > 0) {
		resp_bulk_str(o, "range");
		resp_bulk_str(o, "spec");
		resp_map(o, proto, 3);
		resp_bulk_str(o, "lastkey");
		resp_int(o, k->lastkey);
		resp_bulk_str(o, "keystep");
		resp_int(o, k->step);
		resp_bulk_str(o, "limit");
		resp_int(o, 0);
	} else {
		resp_bulk_str(o, "unknown");
		resp_bulk_str(o, "spec");
		resp_map(o, proto, 0);
	}
}

static void key_specs_reply(struct mc_out *o, uint8_t proto, const struct rd_cmd *c)
{
	struct rd_kspec_view v[2];
	unsigned n = rd_cmd_key_specs(c, v);

	resp_set(o, proto, n);
	for (unsigned i = 0; i < n; i++)
		one_spec_reply(o, proto, &v[i]);
}

static void tips_reply(struct mc_out *o, uint8_t proto, const char *tips)
{
	unsigned n = 0;
	const char *p;

	for (p = tips; p && *p;) {
		size_t w = strcspn(p, " ");

		n += w > 0;
		p += w + (p[w] == ' ');
	}
	resp_set(o, proto, n);
	for (p = tips; p && *p;) {
		size_t w = strcspn(p, " ");

		if (w)
			resp_bulk(o, p, w);
		p += w + (p[w] == ' ');
	}
}

static unsigned nsub(const struct rd_cmd *c)
{
	unsigned n = 0;

	for (const struct rd_cmd *sc = c->sub; sc && sc->name; sc++)
		n++;
	return n;
}

void rd_cmd_info_reply(struct mc_out *o, uint8_t proto, const struct rd_cmd *c)
{
	char name[80];
	unsigned n = 0;

	rd_cmd_fullname(name, sizeof(name), c);
	resp_array(o, 10);
	resp_bulk_str(o, name);
	resp_int(o, c->arity);
	for (unsigned i = 0; i < N(flag_names); i++)
		n += (c->flags & flag_names[i].flag) != 0;
	resp_set(o, proto, n);
	for (unsigned i = 0; i < N(flag_names); i++)
		if (c->flags & flag_names[i].flag)
			resp_simple(o, flag_names[i].name);
	resp_int(o, c->keys.first > 0 ? c->keys.first : 0);
	resp_int(o, c->keys.first > 0 ? c->keys.last : 0);
	resp_int(o, c->keys.first > 0 ? (c->keys.step > 0 ? c->keys.step : 1) : 0);
	n = 0;
	for (unsigned i = 0; i < RD_ACL_NCATS; i++)
		n += (c->acl & (1u << i)) != 0;
	resp_set(o, proto, n);
	for (unsigned i = 0; i < RD_ACL_NCATS; i++) {
		if (c->acl & (1u << i)) {
			char cat[32];

			snprintf(cat, sizeof(cat), "@%s", acl_names[i]);
			resp_simple(o, cat);
		}
	}
	tips_reply(o, proto, c->tips);
	key_specs_reply(o, proto, c);
	if (!c->sub) {
		resp_set(o, proto, 0);
		return;
	}
	resp_array(o, nsub(c));
	for (const struct rd_cmd *sc = c->sub; sc->name; sc++)
		rd_cmd_info_reply(o, proto, sc);
}

void rd_cmd_docs_reply(struct mc_out *o, uint8_t proto, const struct rd_cmd *c)
{
	unsigned n = 1;

	n += c->summary != NULL;
	n += c->since != NULL;
	n += c->complexity != NULL;
	n += c->sub != NULL;
	resp_map(o, proto, n);
	if (c->summary) {
		resp_bulk_str(o, "summary");
		resp_bulk_str(o, c->summary);
	}
	if (c->since) {
		resp_bulk_str(o, "since");
		resp_bulk_str(o, c->since);
	}
	resp_bulk_str(o, "group");
	resp_bulk_str(o, c->group ? c->group : "generic");
	if (c->complexity) {
		resp_bulk_str(o, "complexity");
		resp_bulk_str(o, c->complexity);
	}
	if (c->sub) {
		resp_bulk_str(o, "subcommands");
		resp_map(o, proto, nsub(c));
		for (const struct rd_cmd *sc = c->sub; sc->name; sc++) {
			char name[80];

			rd_cmd_fullname(name, sizeof(name), sc);
			resp_bulk_str(o, name);
			rd_cmd_docs_reply(o, proto, sc);
		}
	}
}

/* ---- the commands ---- */

static const struct rd_cmd *by_arg(struct rd_session *s, uint32_t i)
{
	const struct resp_arg *a = rd_arg(s, i);

	return a->kind == RESP_ARG_PTR ? rd_cmd_by_fullname(a->u.p, a->len) : NULL;
}

static void all_tops(struct rd_session *s)
{
	unsigned n;
	const struct rd_cmd *const *tops = rd_cmd_tops(&n);

	resp_array(rd_out(s), n);
	for (unsigned i = 0; i < n; i++)
		rd_cmd_info_reply(rd_out(s), s->proto, tops[i]);
}

static enum rd_res command_all(struct rd_session *s)
{
	all_tops(s);
	return RD_DONE;
}

static enum rd_res command_count(struct rd_session *s)
{
	unsigned n;

	rd_cmd_tops(&n);
	resp_int(rd_out(s), n);
	return RD_DONE;
}

static enum rd_res command_info(struct rd_session *s)
{
	if (rd_argc(s) == 2) {
		all_tops(s);
		return RD_DONE;
	}
	resp_array(rd_out(s), rd_argc(s) - 2);
	for (uint32_t i = 2; i < rd_argc(s); i++) {
		const struct rd_cmd *c = by_arg(s, i);

		if (c)
			rd_cmd_info_reply(rd_out(s), s->proto, c);
		else
			resp_null(rd_out(s), s->proto);
	}
	return RD_DONE;
}

static enum rd_res command_docs(struct rd_session *s)
{
	unsigned n = 0;

	if (rd_argc(s) == 2) {
		const struct rd_cmd *const *tops = rd_cmd_tops(&n);

		resp_map(rd_out(s), s->proto, n);
		for (unsigned i = 0; i < n; i++) {
			resp_bulk_str(rd_out(s), tops[i]->name);
			rd_cmd_docs_reply(rd_out(s), s->proto, tops[i]);
		}
		return RD_DONE;
	}
	for (uint32_t i = 2; i < rd_argc(s); i++)
		n += by_arg(s, i) != NULL;
	resp_map(rd_out(s), s->proto, n);
	for (uint32_t i = 2; i < rd_argc(s); i++) {
		const struct rd_cmd *c = by_arg(s, i);
		char name[80];

		if (!c)
			continue;
		rd_cmd_fullname(name, sizeof(name), c);
		resp_bulk_str(rd_out(s), name);
		rd_cmd_docs_reply(rd_out(s), s->proto, c);
	}
	return RD_DONE;
}

/* COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern] */
enum { F_NONE, F_MODULE, F_ACLCAT, F_PATTERN };

static bool listed(const struct rd_cmd *c, int filter, uint32_t cat, const struct resp_arg *pat)
{
	char name[80];

	switch (filter) {
	case F_MODULE:
		return false;		/* no modules */
	case F_ACLCAT:
		return cat && (c->acl & cat);
	case F_PATTERN:
		rd_cmd_fullname(name, sizeof(name), c);
		return pat->kind == RESP_ARG_PTR &&
		       rd_glob_match(pat->u.p, pat->len, (const uint8_t *)name,
				     (uint32_t)strlen(name), true);
	default:
		return true;
	}
}

static enum rd_res command_list(struct rd_session *s)
{
	int filter = F_NONE;
	uint32_t cat = 0;
	const struct resp_arg *arg = NULL;
	unsigned n, count = 0;
	const struct rd_cmd *const *all = rd_cmd_all(&n);

	for (uint32_t i = 2; i < rd_argc(s); i++) {
		if (rd_arg_is(s, i, "filterby") && rd_argc(s) - 1 - i == 2) {
			if (rd_arg_is(s, i + 1, "module"))
				filter = F_MODULE;
			else if (rd_arg_is(s, i + 1, "aclcat"))
				filter = F_ACLCAT;
			else if (rd_arg_is(s, i + 1, "pattern"))
				filter = F_PATTERN;
			else {
				rd_err_syntax(s);
				return RD_DONE;
			}
			arg = rd_arg(s, i + 2);
			i += 2;
		} else {
			rd_err_syntax(s);
			return RD_DONE;
		}
	}
	if (filter == F_ACLCAT)
		for (unsigned k = 0; k < RD_ACL_NCATS; k++)
			if (resp_arg_is(arg, acl_names[k]))
				cat = 1u << k;
	for (unsigned i = 0; i < n; i++)
		count += listed(all[i], filter, cat, arg);
	resp_array(rd_out(s), count);
	for (unsigned i = 0; i < n; i++) {
		char name[80];

		if (!listed(all[i], filter, cat, arg))
			continue;
		rd_cmd_fullname(name, sizeof(name), all[i]);
		resp_bulk_str(rd_out(s), name);
	}
	return RD_DONE;
}

/*
 * The command being asked about, as its own command: arguments from 2 on,
 * in a copy of the descriptors (scratch memory) so the key finders see it
 * as they would see it run.
 */
static struct resp_cmd *inner_cmd(struct rd_session *s)
{
	uint32_t argc = rd_argc(s) - 2, rest = argc > RESP_ARGV_EMBED ? argc - RESP_ARGV_EMBED : 0;
	uint32_t nblocks = (rest + RESP_ARGV_BLOCK - 1) / RESP_ARGV_BLOCK;
	struct resp_cmd *c = rd_scratch(s, sizeof(*c));

	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->argc = argc;
	if (nblocks) {
		c->blocks = rd_scratch(s, nblocks * sizeof(*c->blocks));
		if (!c->blocks)
			return NULL;
		for (uint32_t b = 0; b < nblocks; b++) {
			c->blocks[b] = rd_scratch(s, RESP_ARGV_BLOCK * sizeof(struct resp_arg));
			if (!c->blocks[b])
				return NULL;
		}
		c->nblocks = nblocks;
	}
	for (uint32_t i = 0; i < argc; i++)
		*resp_argv(c, i) = *rd_arg(s, i + 2);
	return c;
}

static enum rd_res getkeys(struct rd_session *s, bool with_flags)
{
	const struct rd_cmd *c = rd_cmd_lookup(rd_arg(s, 2));
	uint32_t argc = rd_argc(s) - 2, pos[256];
	struct resp_cmd *inner;
	unsigned n;

	if (c && c->sub && argc >= 2)
		c = rd_subcmd_lookup(c, rd_arg(s, 3));
	if (!c) {
		rd_err(s, "ERR Invalid command specified");
		return RD_DONE;
	}
	if (!has_keys(c) || (c->key_flags & RD_KS_NOT_KEY)) {
		/* (Redis 7.0: a command whose every key spec is NOT_KEY has none) */
		rd_err(s, "ERR The command has no key arguments");
		return RD_DONE;
	}
	if ((c->arity > 0 && (int64_t)argc != c->arity) || (int64_t)argc < -c->arity) {
		rd_err(s, "ERR Invalid number of arguments specified for command");
		return RD_DONE;
	}
	inner = inner_cmd(s);
	if (!inner) {
		rd_err(s, "ERR out of memory for the reply");
		return RD_DONE;
	}
	n = rd_cmd_keys(c, inner, pos, 256);
	if (n == 0) {
		if (c->flags & RD_F_NO_MANDATORY_KEYS)
			resp_array(rd_out(s), 0);
		else
			rd_err(s, "ERR Invalid arguments specified for command");
		return RD_DONE;
	}
	resp_array(rd_out(s), n);
	for (unsigned i = 0; i < n; i++) {
		const struct resp_arg *k = rd_arg(s, pos[i] + 2);

		if (with_flags)
			resp_array(rd_out(s), 2);
		if (k->kind == RESP_ARG_PTR)
			resp_bulk(rd_out(s), k->u.p, k->len);
		else
			resp_bulk(rd_out(s), "", 0);	/* (keys are at most 250 bytes: never) */
		if (with_flags)
			key_flags_reply(rd_out(s), s->proto, rd_cmd_key_flags_at(c, inner, pos[i]));
	}
	return RD_DONE;
}

static enum rd_res command_getkeys(struct rd_session *s)
{
	return getkeys(s, false);
}

static enum rd_res command_getkeysandflags(struct rd_session *s)
{
	return getkeys(s, true);
}

static enum rd_res command_help(struct rd_session *s)
{
	static const char *const lines[] = {
		"(no subcommand)",
		"    Every command, described as COMMAND INFO describes one.",
		"COUNT",
		"    How many commands there are.",
		"LIST [FILTERBY (MODULE <module>|ACLCAT <category>|PATTERN <pattern>)]",
		"    The names of the commands (subcommands as container|sub).",
		"INFO [<command-name> ...]",
		"    Name, arity, flags, key positions, ACL categories, tips, key specs and",
		"    subcommands of the commands named (of every command without names).",
		"DOCS [<command-name> ...]",
		"    Summary, version, group and complexity of the commands named (or all).",
		"GETKEYS <full-command>",
		"    The keys a whole command would use.",
		"GETKEYSANDFLAGS <full-command>",
		"    The same, each with what the command does to it.",
		NULL
	};

	rd_reply_help(s, lines);
	return RD_DONE;
}

#define CF (RD_F_LOADING | RD_F_STALE)
#define CC (RD_ACL_CONNECTION)

static struct rd_cmd command_sub[] = {
	RD_CMD("count", command_count, 2, CF, CC, 0, 0, 0, "server", "How many commands there are",
	       "2.8.13", "O(1)"),
	RD_CMD_TIPS("nondeterministic_output_order", "info", command_info, -2, CF, CC, 0, 0, 0,
		    "server", "Describe commands", "2.8.13", "O(N) for N commands named"),
	RD_CMD_TIPS("nondeterministic_output_order", "docs", command_docs, -2, CF, CC, 0, 0, 0,
		    "server", "Document commands", "7.0.0", "O(N) for N commands named"),
	RD_CMD_TIPS("nondeterministic_output_order", "list", command_list, -2, CF, CC, 0, 0, 0,
		    "server", "The names of the commands, optionally filtered", "7.0.0",
		    "O(N) for N commands"),
	RD_CMD("getkeys", command_getkeys, -4, CF, CC, 0, 0, 0, "server",
	       "The keys a command would use", "2.8.13", "O(N) for N arguments"),
	RD_CMD("getkeysandflags", command_getkeysandflags, -4, CF, CC, 0, 0, 0, "server",
	       "The keys a command would use and what it does to them", "7.0.0",
	       "O(N) for N arguments"),
	RD_CMD("help", command_help, 2, CF, CC, 0, 0, 0, "server",
	       "What the COMMAND subcommands do", "5.0.0", "O(1)"),
	RD_CMD_END
};

struct rd_cmd rd_cmds_command[] = {
	{ .name = "command", .fn = command_all, .arity = -1, .flags = CF, .acl = CC,
	  .sub = command_sub, .group = "server", .summary = "Describe every command",
	  .since = "2.8.13", .complexity = "O(N) for N commands",
	  .tips = "nondeterministic_output_order" },
	RD_CMD_END
};
