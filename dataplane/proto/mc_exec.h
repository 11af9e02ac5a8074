/*
 * mc_exec.h - what each memcached command does: store operations and the
 * exact reply text, classic and meta. Called by the session (mc_session.c)
 * once a command line (and its data block) is complete.
 */
#ifndef WC_PROTO_MC_EXEC_H
#define WC_PROTO_MC_EXEC_H

#include <stdbool.h>

#include "proto/mc_get_reply.h"
#include "proto/mc_session.h"

enum mc_exec_result {
	MC_EXEC_DONE,		/* replied; the command is finished */
	MC_EXEC_PENDING,	/* a write went to another lcore; resume on completion */
	MC_EXEC_BUSY,		/* no mailbox room yet; resume later */
	MC_EXEC_CLOSE,		/* quit */
	MC_EXEC_PAUSED,		/* a get stopped for backpressure: the rest is MC_S_GETKEYS */
};

/* Start the parsed command in s->req. */
enum mc_exec_result mc_exec_start(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
				  struct mc_env *env);

/* Continue it after completions arrived, or after mailbox room came back. */
enum mc_exec_result mc_exec_resume(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
				   struct mc_env *env);

/* get/gets for the space-separated keys: VALUE lines, then END. */
void mc_exec_get_keys(struct mc_env *env, struct mc_out *out, const uint8_t *keys,
		      uint32_t len, bool cas);

/* get/gets of exactly one key (1..250 bytes, no spaces). */
void mc_exec_get_one(struct mc_env *env, struct mc_out *out, const uint8_t *key,
		     uint32_t klen, bool cas);

/*
 * The reply to a one-key get whose lookup is done (v the value found, NULL
 * on a miss), written through out: what mc_exec_get_one writes after its
 * lookup, byte for byte.
 */
void mc_exec_get_reply(struct mc_out *out, const uint8_t *key, uint32_t klen,
		       const struct wc_view *v, bool cas);

/*
 * The reply to a classic storage command whose store returned st (STORED,
 * NOT_STORED, EXISTS, NOT_FOUND or its error line; nothing with noreply):
 * what the session's store writes, byte for byte.
 */
void mc_exec_store_reply(struct mc_out *out, enum wc_status st, bool noreply);

/*
 * The reply to an incr or decr whose wc_arith returned st and value (the
 * new value, NOT_FOUND, the non-numeric CLIENT_ERROR or the store's error
 * line; nothing with noreply): what the session's exec_keyed writes.
 */
void mc_exec_arith_reply(struct mc_out *out, enum wc_status st, uint64_t value, bool noreply);

/*
 * MC_S_GETKEYS: serve the complete keys of a get line too long to buffer.
 * Returns false when no progress can be made without more input.
 */
bool mc_exec_getkeys(struct mc_session *s, struct mc_inq *in, struct mc_out *out,
		     struct mc_env *env);

#endif
