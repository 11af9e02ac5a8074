/*
 * dump.h - a key's value in Redis's DUMP serialization, written as a RESP
 * bulk string: the one encoder DUMP (dump.c) and MIGRATE (migrate_cmd.c)
 * share.
 */
#ifndef WC_REDIS_DUMP_H
#define WC_REDIS_DUMP_H

#include <stdint.h>

#include "redis/rd.h"
#include "redis/rdbval.h"

enum { RD_DUMP_OK = 0, RD_DUMP_RETRY, RD_DUMP_ABSENT, RD_DUMP_NOMEM };

/* Written just before the bulk (once the payload is known to be complete). */
typedef void (*rd_dump_prefix_fn)(void *arg, struct mc_out *o);

/*
 * Write key's value v (a lock-free view found on this lcore) to o as
 * "$<size>\r\n<payload>\r\n", after prefix(parg, o) when given; *size is
 * the payload's. A container is read as a consistent snapshot (scratch
 * memory of s). RD_DUMP_OK; RD_DUMP_RETRY (caught mid-change: nothing
 * written, try again), RD_DUMP_ABSENT (the key went, or is no type a DUMP
 * carries), RD_DUMP_NOMEM (no scratch): nothing written.
 */
int rd_dump_payload(struct rd_session *s, const uint8_t *key, uint32_t klen,
		    const struct wc_view *v, struct mc_out *o, rd_dump_prefix_fn prefix,
		    void *parg, uint64_t *size);

/* A value in Redis's serialization, to be decoded into the store. */
struct rd_rdbval {
	const struct rdbv_src *in;
	uint8_t rdbtype;		/* its type byte */
	uint64_t off, end;		/* the object after the type byte */
	uint8_t kind;			/* enum rdbv_kind, from a validating decode */
	uint64_t count;			/* its members, from the same */
};

enum { RD_APPLY_OK = 0, RD_APPLY_BAD, RD_APPLY_STORE };

/*
 * Owner: key's value becomes v (whatever version was live is replaced)
 * with expiry (exptime, ms: clock.h's, 0 none) and, for a string, the
 * memcached client flags mcflags. Decoded straight into the store (a
 * container is built and published whole). RD_APPLY_OK; RD_APPLY_BAD (bad
 * data: a bad format, a duplicate member; the key as it was);
 * RD_APPLY_STORE (*st: the store refused it). RESTORE and the RDB loader
 * (rdbload.c) both write keys through this.
 */
int rd_rdbval_apply(struct wc_part *p, struct wc_ctx *ctx, const uint8_t *key, uint32_t klen,
		    uint64_t h, const struct rd_rdbval *v, uint32_t mcflags, uint32_t exptime,
		    uint32_t ms, enum wc_status *st);

/* RESTORE's handler (RESTORE-ASKING runs it too: migrate_cmd.c). */
enum rd_res rd_restore(struct rd_session *s);

#endif
