/*
 * commands.c - the command table: each family file (t_string.c, keys.c,
 * t_hash.c ...) defines its commands in a table of its own; this file joins
 * them, numbers them for the statistics, looks names up (case-insensitive,
 * one hash probe), and finds a command's keys.
 */
#include <string.h>

#include "redis/cmds.h"
#include "redis/rd.h"

static struct rd_cmd *const families[] = {
	rd_cmds_conn, rd_cmds_string, rd_cmds_keys, rd_cmds_dump, rd_cmds_hash, rd_cmds_set, rd_cmds_server,
	rd_cmds_acl, rd_cmds_multi, rd_cmds_cluster, rd_cmds_info, rd_cmds_config,
	rd_cmds_command, rd_cmds_slowlog, rd_cmds_memory, rd_cmds_object,
	rd_cmds_pubsub, rd_cmds_pubsub_intro,	/* Pub/Sub (pubsub.c, pubsub_intro.c) */
	rd_cmds_migrate,
	rd_cmds_rdbsave,
	rd_cmds_repl,	/* replication, master side (repl_cmds.c) */
	rd_cmds_replica,	/* replica_cmds.c: REPLICAOF SLAVEOF ROLE */
};

#define TABLE_SIZE 1024		/* a power of two, well over the number of commands */
#define ALL_MAX 512

static const struct rd_cmd *slots[TABLE_SIZE];
/* beside each slot: its name's hash and length, so a probe reads no string until they match */
static uint32_t slot_hash[TABLE_SIZE];
static uint8_t slot_len[TABLE_SIZE];
static const struct rd_cmd *all[ALL_MAX];
static const struct rd_cmd *parents[ALL_MAX];	/* by id: the container of a subcommand */
static unsigned nall, ntop;
static const struct rd_cmd *tops[ALL_MAX];

uint16_t rd_get_cmd_id;
uint16_t rd_set_cmd_id;
uint16_t rd_setex_cmd_id, rd_psetex_cmd_id, rd_del_cmd_id;
uint16_t rd_mget_cmd_id;
uint16_t rd_incr_cmd_id, rd_decr_cmd_id, rd_incrby_cmd_id, rd_decrby_cmd_id;

static uint32_t name_hash(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		h = (h ^ c) * 16777619u;
	}
	return h;
}

/*
 * The categories Redis 7.0 gives every command from its flags
 * (setImplicitACLCategories), so ACL rules and COMMAND see the same set; and
 * movablekeys for a command that finds its keys itself.
 */
static void implicit_categories(struct rd_cmd *c)
{
	if (c->flags & RD_F_WRITE)
		c->acl |= RD_ACL_WRITE;
	if ((c->flags & RD_F_READONLY) && !(c->acl & RD_ACL_SCRIPTING))
		c->acl |= RD_ACL_READ;
	if (c->flags & RD_F_ADMIN)
		c->acl |= RD_ACL_ADMIN | RD_ACL_DANGEROUS;
	if (c->flags & RD_F_PUBSUB)
		c->acl |= RD_ACL_PUBSUB;
	if (c->flags & RD_F_FAST)
		c->acl |= RD_ACL_FAST;
	if (c->flags & RD_F_BLOCKING)
		c->acl |= RD_ACL_BLOCKING;
	if (!(c->acl & RD_ACL_FAST))
		c->acl |= RD_ACL_SLOW;
	if (c->getkeys)
		c->flags |= RD_F_MOVABLE_KEYS;
}

static void number(struct rd_cmd *c, const struct rd_cmd *parent)
{
	implicit_categories(c);
	if (nall == ALL_MAX)
		return;
	c->id = (uint16_t)nall;
	parents[nall] = parent;
	all[nall++] = c;
}

/* The id of a command in the table (the fast paths' commands: all there). */
static uint16_t table_id(const char *name)
{
	struct resp_arg a = { .kind = RESP_ARG_PTR, .u.p = (const uint8_t *)name,
			      .len = (uint32_t)strlen(name) };

	return rd_cmd_lookup(&a)->id;
}

void rd_cmds_init(void)
{
	if (nall)
		return;
	for (unsigned f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		for (struct rd_cmd *c = families[f]; c->name; c++) {
			uint32_t len = (uint32_t)strlen(c->name);
			uint32_t h0 = name_hash((const uint8_t *)c->name, len), h = h0;

			while (slots[h & (TABLE_SIZE - 1)])
				h++;
			slots[h & (TABLE_SIZE - 1)] = c;
			slot_hash[h & (TABLE_SIZE - 1)] = h0;
			slot_len[h & (TABLE_SIZE - 1)] = (uint8_t)len;
			tops[ntop++] = c;
			number(c, NULL);
			for (struct rd_cmd *sc = c->sub; sc && sc->name; sc++)
				number(sc, c);
		}
	}
	rd_get_cmd_id = table_id("get");
	rd_set_cmd_id = table_id("set");
	rd_setex_cmd_id = table_id("setex");
	rd_psetex_cmd_id = table_id("psetex");
	rd_del_cmd_id = table_id("del");
	rd_mget_cmd_id = table_id("mget");
	rd_incr_cmd_id = table_id("incr");
	rd_decr_cmd_id = table_id("decr");
	rd_incrby_cmd_id = table_id("incrby");
	rd_decrby_cmd_id = table_id("decrby");
}

/* A name (any case) against a table's lower-case name of the same length. */
static bool name_eq(const char *lower, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		if (c != (uint8_t)lower[i])
			return false;
	}
	return true;
}

const struct rd_cmd *rd_cmd_lookup(const struct resp_arg *name)
{
	uint32_t h0, h;

	if (name->kind != RESP_ARG_PTR || name->len == 0 || name->len > 32)
		return NULL;
	h0 = h = name_hash(name->u.p, name->len);
	for (;;) {
		unsigned i = h & (TABLE_SIZE - 1);
		const struct rd_cmd *c = slots[i];

		if (!c)
			return NULL;
		/* (once per command: no strlen, one compare only where hash and length agree) */
		if (slot_hash[i] == h0 && slot_len[i] == name->len &&
		    name_eq(c->name, name->u.p, name->len))
			return c;
		h++;
	}
}

const struct rd_cmd *rd_cmd_by_fullname(const uint8_t *p, uint32_t n)
{
	const uint8_t *bar = memchr(p, '|', n);
	struct resp_arg a = { .kind = RESP_ARG_PTR, .u.p = p, .len = n };
	const struct rd_cmd *c;

	if (!bar)
		return rd_cmd_lookup(&a);
	a.len = (uint32_t)(bar - p);
	c = rd_cmd_lookup(&a);
	if (!c || !c->sub)
		return NULL;
	a.u.p = bar + 1;
	a.len = n - a.len - 1;
	if (memchr(a.u.p, '|', a.len))
		return NULL;
	return rd_subcmd_lookup(c, &a);
}

const struct rd_cmd *rd_subcmd_lookup(const struct rd_cmd *parent, const struct resp_arg *name)
{
	for (const struct rd_cmd *sc = parent->sub; sc && sc->name; sc++)
		if (resp_arg_is(name, sc->name))
			return sc;
	return NULL;
}

const struct rd_cmd *rd_cmd_parent(const struct rd_cmd *c)
{
	return c->id < nall && all[c->id] == c ? parents[c->id] : NULL;
}

const struct rd_cmd *const *rd_cmd_all(unsigned *n)
{
	*n = nall;
	return all;
}

const struct rd_cmd *const *rd_cmd_tops(unsigned *n)
{
	*n = ntop;
	return tops;
}

unsigned rd_cmd_count(void)
{
	return nall;
}

unsigned rd_cmd_keys(const struct rd_cmd *c, const struct resp_cmd *cmd, uint32_t *pos,
		     unsigned max)
{
	if (c->key_flags & RD_KS_NOT_KEY)
		return 0;	/* (shard channels: key specs of their own, never keys) */
	return rd_cmd_key_args(c, cmd, pos, max);
}

unsigned rd_cmd_key_args(const struct rd_cmd *c, const struct resp_cmd *cmd, uint32_t *pos,
			 unsigned max)
{
	int64_t first = c->keys.first, last = c->keys.last, step = c->keys.step;
	unsigned n = 0;

	if (c->getkeys)
		return c->getkeys(cmd, pos, max);
	if (first <= 0)
		return 0;
	if (last < 0)
		last = (int64_t)cmd->argc + last;
	if (step <= 0)
		step = 1;
	for (int64_t i = first; i <= last && i < (int64_t)cmd->argc && n < max; i += step)
		pos[n++] = (uint32_t)i;
	return n;
}
