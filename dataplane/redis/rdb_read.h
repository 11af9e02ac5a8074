/*
 * rdb_read.h - a reader of whole RDB files (Redis 7.0's, version <= 10, and
 * the ones wirecache writes): the header, the opcodes, and each key entry
 * located and validated, one at a time, for a loader to apply.
 *
 * It is a parser of untrusted input: nothing recurses, every length is
 * checked against the bytes that are there, and its state is this struct
 * (with rdbval's decoder inside: ~25 KiB, nothing allocated). Values of the
 * types the store holds (strings, hashes, sets) are validated by rdbval
 * (redis/rdbval.h) and handed out as (type, offsets); lists, sorted sets and
 * streams are parsed just far enough to be skipped, and counted per kind.
 * Modules (MODULE_AUX, module values) are refused. FUNCTION2 (a Lua
 * library's code) is skipped. Keys of a database other than 0, and keys
 * longer than the store takes, are skipped and counted too.
 *
 * The aux field "wc-mcflags" (decimal) gives the next key its memcached
 * client flags (wirecache's own; Redis ignores unknown aux fields).
 *
 * The CRC64 at the end is checked when the file is opened (before anything
 * is applied); zero means "not computed", as Redis writes with
 * rdbchecksum no.
 */
#ifndef WC_REDIS_RDB_READ_H
#define WC_REDIS_RDB_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "redis/rdbval.h"

#define RDBR_KEY_MAX 250		/* the store's longest key */

/* What was skipped, by kind. */
enum rdbr_skip {
	RDBR_SK_LIST,
	RDBR_SK_ZSET,
	RDBR_SK_STREAM,
	RDBR_SK_OTHERDB,		/* a key of a database other than 0 */
	RDBR_SK_LONGKEY,		/* a key longer than RDBR_KEY_MAX */
	RDBR_SK_TOOBIG,			/* a value with a string over max_value */
	RDBR_SK_N
};

enum rdbr_res {
	RDBR_KEY = 1,			/* an entry to apply: *e filled */
	RDBR_SKIPPED,			/* an entry skipped (counted in skipped[]) */
	RDBR_END,			/* the EOF opcode, at the end of the file */
	RDBR_ERR,			/* a bad file: err says why; stop there */
};

/* One key entry. */
struct rdbr_entry {
	uint8_t type;			/* the RDB type byte (enum rdbv_rdbtype) */
	uint8_t kind;			/* enum rdbv_kind */
	uint8_t key[RDBR_KEY_MAX];
	uint32_t klen;
	uint64_t off, end;		/* the object (after the key) in the input */
	uint64_t count;			/* members (1 for a string) */
	uint64_t maxlen;		/* its longest string */
	int64_t expire_ms;		/* absolute Unix ms, 0: none */
	uint32_t mcflags;		/* from a "wc-mcflags" aux field just before */
};

struct rdbr {
	const struct rdbv_src *in;
	uint64_t pos, end;		/* end: where the EOF opcode may be */
	unsigned version;
	bool crc_checked;		/* the file carried a CRC and it matched */
	bool done;
	uint64_t db;			/* the current SELECTDB */
	uint64_t resize_keys;		/* RESIZEDB's db size (a hint) */
	int64_t expire_ms;		/* pending for the next key */
	uint32_t mcflags;		/* pending for the next key */
	uint64_t max_value;		/* longer strings are refused (0: no limit) */
	/* tallies */
	uint64_t keys, skipped[RDBR_SK_N], aux, functions;
	char redis_ver[32];
	char err[128];
	struct rdbv_dec dec;
};

/*
 * Start reading the file in (whole): the header and the CRC. max_value:
 * the longest string the store takes (0: any). 0, or RDBR_ERR (r->err).
 */
int rdbr_open(struct rdbr *r, const struct rdbv_src *in, uint64_t max_value);

/* The next entry: RDBR_KEY, RDBR_SKIPPED, RDBR_END or RDBR_ERR. */
int rdbr_next(struct rdbr *r, struct rdbr_entry *e);

/* A kind's name ("list", "zset", "stream", "otherdb", "longkey", "toobig"). */
const char *rdbr_skip_name(unsigned kind);

#endif
