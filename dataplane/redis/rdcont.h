/*
 * rdcont.h - what the hash and set commands (t_hash.c, t_set.c) share:
 * opening a container for a lock-free read and retrying one caught
 * mid-change, arguments as member bytes, the owner-side type check, the
 * argument checks before a write, the size and member-test reads
 * (HLEN/SCARD, HEXISTS/HSTRLEN/SISMEMBER), random members (HRANDFIELD,
 * SRANDMEMBER), the HSCAN/SSCAN walk, and lists of members kept in the
 * command's scratch memory.
 *
 * Reads follow store/container.h: a read body either replies whole or
 * returns RD_R_RETRY having written nothing; rd_cread runs it a few times,
 * then lets the lcore pass a quiescent state (RD_BUSY, re-entered soon), so
 * an owner that waits for a grace period in the middle of a change is never
 * waited on in turn.
 */
#ifndef WC_REDIS_RDCONT_H
#define WC_REDIS_RDCONT_H

#include "redis/rd.h"
#include "store/container.h"

enum { RD_R_DONE = 0, RD_R_RETRY };

typedef int (*rd_cread_fn)(struct rd_session *s);

/* Run a read body until it replies (RD_DONE) or ask to be re-entered (RD_BUSY). */
enum rd_res rd_cread(struct rd_session *s, rd_cread_fn body);

/* A container found for a read on this lcore. */
struct rd_cview {
	const struct wc_part *part;
	const uint8_t *key;
	uint32_t klen;
	struct wc_chdr h;
};

enum rd_copen { RD_CO_MISSING, RD_CO_FOUND, RD_CO_WRONGTYPE };

/* Look up the key at argument karg (a keyspace hit or miss) as a container of type. */
int rd_copen(struct rd_session *s, uint32_t karg, uint8_t type, unsigned lflags,
	     struct rd_cview *cv);

/* A consistent walk of the container (memory from the command's scratch): WC_C_*. */
int rd_csnap(struct rd_session *s, const struct rd_cview *cv, struct wc_csnap *snap);

/* Reply for a snapshot or scratch allocation that failed. */
void rd_err_scratch(struct rd_session *s);

/* An argument as member bytes; valid on the owner too (arguments stay in place). */
struct rd_argsrc {
	const struct rd_session *s;
	const struct resp_arg *a;
};

void rd_arg_bytes(const struct rd_session *s, uint32_t i, struct rd_argsrc *src,
		  struct wc_cbytes *out);

/* Owner: the key's item if it is a container of type, NULL if missing (*wrong: another type). */
struct wc_item *rd_cfind(const struct rd_owner *o, const uint8_t *key, uint32_t klen,
			 uint8_t type, bool *wrong);

/* Keys at arguments first .. last a write can use (1 to 250 bytes); else replied. */
bool rd_ckeys_ok(struct rd_session *s, uint32_t first, uint32_t last);

/*
 * HSET, HSETNX, SADD, SMOVE: keys at arguments 1 .. last_key a write can
 * use, and arguments from on (fields, values, members) no longer than the
 * store's max value; else replied, a failed call, before anything changes.
 */
bool rd_cmembers_ok(struct rd_session *s, uint32_t last_key, uint32_t from);

/* HLEN and SCARD: the size of the container at argument 1 (0 when missing). */
int rd_ccard(struct rd_session *s, uint8_t type);

/*
 * HEXISTS, HSTRLEN, SISMEMBER: whether the container at argument 1 holds
 * the member at argument 2 (0 or 1), or with vlen its value's length.
 */
int rd_cmember_int(struct rd_session *s, uint8_t type, bool vlen);

/* The count at argument i of HRANDFIELD and SRANDMEMBER; false when the error is replied. */
bool rd_ccount_arg(struct rd_session *s, uint32_t i, int64_t *count);

/* The key at argument karg: run fn on its owner (steps 0 and 1 of a write command). */
enum rd_res rd_cwrite(struct rd_session *s, uint32_t karg, rd_owner_fn fn);

/* A container change the store refused. */
void rd_creply_error(struct mc_out *o, enum wc_status st);

/* Member bytes and a value as a reply. */
static inline void rd_reply_member(struct mc_out *o, uint8_t proto, const struct wc_cmember *m,
				   bool withvalue)
{
	if (withvalue && proto >= 3)
		resp_array(o, 2);
	resp_bulk(o, m->name, m->nlen);
	if (withvalue)
		resp_bulk(o, m->val, m->vlen);
}

/* This lcore's random numbers. */
uint64_t rd_crand(void);

/* A SCAN-family cursor (an unsigned decimal); false: "ERR invalid cursor". */
bool rd_parse_cursor(const struct resp_arg *a, uint64_t *cursor);

/* HSCAN and SSCAN: key at 1, cursor at 2, options from 3. */
int rd_cscan(struct rd_session *s, uint8_t type);

/* HRANDFIELD and SRANDMEMBER, once the count and options are parsed. */
int rd_crandom(struct rd_session *s, uint8_t type, bool has_count, int64_t count,
	       bool withvalues);

/* Members gathered in the command's scratch (pointers into items: this lcore, this command). */
struct rd_refs {
	struct wc_cmember **chunks;
	uint32_t n, nchunks;
};

bool rd_refs_add(struct rd_session *s, struct rd_refs *r, const struct wc_cmember *m);
const struct wc_cmember *rd_refs_at(const struct rd_refs *r, uint32_t i);

#endif
