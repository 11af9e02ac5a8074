/*
 * cmdinfo.h - how COMMAND describes a command (cmdinfo.c): the 10-element
 * entry of COMMAND / COMMAND INFO and the map of COMMAND DOCS, written to
 * any reply sink (the unit tests check the bytes).
 */
#ifndef WC_REDIS_CMDINFO_H
#define WC_REDIS_CMDINFO_H

#include "redis/rd.h"

/*
 * [name, arity, flags, first key, last key, step, ACL categories, tips,
 * key specs, subcommands], as Redis 7.0 writes it for proto 2 or 3.
 */
void rd_cmd_info_reply(struct mc_out *o, uint8_t proto, const struct rd_cmd *c);

/* summary, since, group, complexity and subcommands (a map). */
void rd_cmd_docs_reply(struct mc_out *o, uint8_t proto, const struct rd_cmd *c);

/* What COMMAND's key spec says the command does to its keys (enum rd_key_flags). */
uint16_t rd_cmd_key_flags(const struct rd_cmd *c);
/* One key spec as COMMAND shows it: index 0 = found by the arguments (unknown). */
struct rd_kspec_view {
	uint16_t flags;			/* enum rd_key_flags */
	int index;			/* begin_search index */
	int lastkey, step;		/* find_keys range */
	bool keynum;			/* find_keys keynum: keynumidx 0, firstkey 1, step 1 */
};

/* The command's key specs (0, 1 or 2). */
unsigned rd_cmd_key_specs(const struct rd_cmd *c, struct rd_kspec_view out[2]);
/* The flags of the key at argument pos (of cmd) as COMMAND GETKEYSANDFLAGS gives them. */
uint16_t rd_cmd_key_flags_at(const struct rd_cmd *c, const struct resp_cmd *cmd, uint32_t pos);

/* The name COMMAND gives: "get", "client|list". */
void rd_cmd_fullname(char *buf, size_t cap, const struct rd_cmd *c);

#endif
