/*
 * dump.h - a key's value in Redis's DUMP serialization, written as a RESP
 * bulk string: the one encoder DUMP (dump.c) and MIGRATE (migrate_cmd.c)
 * share.
 */
#ifndef WC_REDIS_DUMP_H
#define WC_REDIS_DUMP_H

#include <stdint.h>

#include "redis/rd.h"

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

/* RESTORE's handler (RESTORE-ASKING runs it too: migrate_cmd.c). */
enum rd_res rd_restore(struct rd_session *s);

#endif
