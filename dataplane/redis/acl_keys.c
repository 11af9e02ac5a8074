/*
 * acl_keys.c - what each command does with its keys, for %R~ and %W~ key
 * patterns: Redis 7.0 keeps this in each command's key specs (ACCESS: the
 * value is read or returned, so %R is needed; INSERT, UPDATE, DELETE: %W).
 * Our command table has positions only (rd_keyspec), so the flags of the
 * commands that have keys are listed here, by name, from Redis 7.0's key
 * specs. A command not listed needs %R when it is read-only and both %R
 * and %W otherwise (a new command is never more open than it should be).
 *
 * SET is the one with variable flags: with GET it reads too.
 */
#include <string.h>
#include <strings.h>

#include "redis/acl_impl.h"

#define R ACL_PERM_R
#define W ACL_PERM_W
#define RW ACL_PERM_RW
#define VAR 0x80		/* SET: W, or RW with the GET option */

/* name, the first key, the keys after it */
static const struct {
	const char *name;
	uint8_t first, rest;
} specs[] = {
	/* strings */
	{ "get", R, R }, { "set", VAR, VAR }, { "setex", W, W }, { "psetex", W, W },
	{ "setnx", W, W }, { "getset", RW, RW }, { "getdel", RW, RW }, { "getex", RW, RW },
	{ "mget", R, R }, { "mset", W, W }, { "msetnx", W, W }, { "append", W, W },
	{ "strlen", 0, 0 }, { "getrange", R, R }, { "substr", R, R }, { "setrange", W, W },
	{ "incr", RW, RW }, { "decr", RW, RW }, { "incrby", RW, RW }, { "decrby", RW, RW },
	{ "incrbyfloat", RW, RW }, { "lcs", R, R },
	/* keys */
	{ "del", W, W }, { "unlink", W, W }, { "exists", 0, 0 }, { "type", 0, 0 },
	{ "touch", 0, 0 }, { "expire", W, W }, { "pexpire", W, W }, { "expireat", W, W },
	{ "pexpireat", W, W }, { "ttl", R, R }, { "pttl", R, R }, { "expiretime", R, R },
	{ "pexpiretime", R, R }, { "persist", W, W }, { "rename", RW, W },
	{ "renamenx", RW, W }, { "copy", R, W }, { "dump", R, R }, { "restore", W, W },
	{ "move", RW, RW }, { "object|encoding", 0, 0 }, { "object|freq", 0, 0 },
	{ "object|idletime", 0, 0 }, { "object|refcount", 0, 0 }, { "watch", 0, 0 },
	/* hashes */
	{ "hdel", W, W }, { "hexists", 0, 0 }, { "hget", R, R }, { "hgetall", R, R },
	{ "hincrby", RW, RW }, { "hincrbyfloat", RW, RW }, { "hkeys", R, R }, { "hlen", 0, 0 },
	{ "hmget", R, R }, { "hmset", W, W }, { "hrandfield", R, R }, { "hscan", R, R },
	{ "hset", W, W }, { "hsetnx", W, W }, { "hstrlen", 0, 0 }, { "hvals", R, R },
	/* sets */
	{ "sadd", W, W }, { "scard", 0, 0 }, { "sdiff", R, R }, { "sdiffstore", W, R },
	{ "sinter", R, R }, { "sintercard", R, R }, { "sinterstore", W, R },
	{ "sismember", 0, 0 }, { "smembers", R, R }, { "smismember", R, R },
	{ "smove", RW, W }, { "spop", RW, RW }, { "srandmember", R, R }, { "srem", W, W },
	{ "sscan", R, R }, { "sunion", R, R }, { "sunionstore", W, R },
	/* bitmaps */
	{ "setbit", RW, RW }, { "getbit", R, R }, { "bitcount", R, R }, { "bitpos", R, R },
};

static uint8_t perm_first[ACL_CMD_BITS], perm_rest[ACL_CMD_BITS];

static uint8_t by_flags(const struct rd_cmd *c)
{
	return (c->flags & RD_F_READONLY) && !(c->flags & RD_F_WRITE) ? R : RW;
}

void acl_keys_init(void)
{
	unsigned n;
	const struct rd_cmd *const *all = rd_cmd_all(&n);

	for (unsigned i = 0; i < n && i < ACL_CMD_BITS; i++)
		perm_first[i] = perm_rest[i] = by_flags(all[i]);
	for (unsigned i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const struct rd_cmd *c = acl_cmd_by_name(specs[i].name, strlen(specs[i].name));

		if (c && c->id < ACL_CMD_BITS) {
			perm_first[c->id] = specs[i].first;
			perm_rest[c->id] = specs[i].rest;
		}
	}
}

uint8_t acl_key_perm(const struct rd_cmd *c, const struct resp_cmd *cmd, unsigned k)
{
	uint8_t p;

	if (c->id >= ACL_CMD_BITS)
		return RW;
	p = k == 0 ? perm_first[c->id] : perm_rest[c->id];
	if (p == VAR) {
		/* SET key value [... GET ...] */
		for (uint32_t i = 3; i < cmd->argc; i++)
			if (resp_arg_is(resp_argv(cmd, i), "get"))
				return RW;
		return W;
	}
	return p;
}
