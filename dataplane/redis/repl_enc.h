/*
 * repl_enc.h - the master's replication stream as Redis commands: one
 * partition log entry (store/repl.h) written as the RESP command a replica
 * runs (SET [PXAT], DEL, PEXPIREAT, PERSIST, HSET, HDEL, SADD, SREM,
 * FLUSHALL; WCREPL.SET for a memcached item's flags to a wirecache
 * replica), and the stream's own commands (SELECT 0, PING, REPLCONF GETACK,
 * WCREPL.MARK). Pure writers into a struct mc_out: no state, no allocation.
 */
#ifndef WC_REDIS_REPL_ENC_H
#define WC_REDIS_REPL_ENC_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/mc_out.h"
#include "store/repl.h"

/*
 * Write e as a command. capa_wc: the replica said "capa wc" (a SET with
 * nonzero memcached flags becomes WCREPL.SET key value flags abs-ms|-1).
 * false, writing nothing, for a RESYNC marker or an unknown op (the
 * replica must take a full sync).
 */
bool rd_repl_enc_entry(struct mc_out *o, const struct wc_rent *e, bool capa_wc);

/* WCREPL.MARK <part> <log_offset>: the replica has partition part's log up to off. */
void rd_repl_enc_mark(struct mc_out *o, unsigned part, uint64_t off);

/* SELECT 0, the stream's first command. */
void rd_repl_enc_select0(struct mc_out *o);

/* PING (a quiet stream's heartbeat). */
void rd_repl_enc_ping(struct mc_out *o);

/* REPLCONF GETACK * (WAIT wants fresh acknowledgements). */
void rd_repl_enc_getack(struct mc_out *o);

#endif
