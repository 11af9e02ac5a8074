/*
 * cpif_creq.h - the control socket's CREQ lines (issue 13, M3): the control
 * plane takes the slot changes Redis clients asked for (CLUSTER SETSLOT,
 * queued in redis/creq.h's table) and answers them:
 *
 *   CREQ NEXT <timeout_ms>           OK <reqid> SETSLOT <slot> MIGRATING|IMPORTING|NODE <id>
 *                                    OK <reqid> SETSLOT <slot> STABLE
 *                                    OK none   (nothing queued within timeout_ms, <= 5000)
 *   CREQ DONE <reqid> OK <epoch>     OK   (the change is in etcd's map at <epoch>)
 *   CREQ DONE <reqid> ERR <text...>  OK   (refused: the client gets -<text>, so the
 *                                          text starts with Redis's error code: "ERR ...")
 *
 * NEXT is a long poll: the connection that sent it gets no other reply
 * until a request comes or the time is up (lines it sends meanwhile wait
 * unread), while the control thread keeps serving its other connections;
 * a session queueing a request wakes the thread (its eventfd); a request
 * whose line could not be written (the connection failed) is queued again
 * (rd_creq_untake). DONE for an
 * id that is not a taken request (answered already, or dropped after its
 * client left and nobody answered for RD_CREQ_ORPHAN_MS) is "ERR unknown
 * request <id>".
 *
 * Parsing works on the raw line (a refusal's text may have any number of
 * words), touches only the table, and is unit-tested without a thread.
 */
#ifndef WC_CORE_CPIF_CREQ_H
#define WC_CORE_CPIF_CREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis/creq.h"

#define WC_CREQ_NEXT_MAX_MS 5000

enum wc_creq_act {
	WC_CREQ_NOT_MINE,	/* not a CREQ line */
	WC_CREQ_REPLIED,	/* out holds the reply */
	WC_CREQ_WAIT,		/* NEXT found nothing yet: wait until *deadline (ms) */
};

/*
 * One control line (raw, without its newline) at now_ms; t NULL: this
 * dataplane has no Redis side. The reply (ending in '\n') goes to out;
 * *taken is the id of a request the reply hands out (0: none), for
 * rd_creq_untake when it cannot be sent.
 */
enum wc_creq_act wc_creq_line(struct rd_creq_table *t, const char *line, int64_t now_ms,
			      char *out, size_t cap, int64_t *deadline, uint64_t *taken);

/*
 * A waiting NEXT at now_ms: true with the reply in out when a request was
 * taken or deadline came; false: still waiting.
 */
bool wc_creq_next(struct rd_creq_table *t, int64_t now_ms, int64_t deadline, char *out,
		  size_t cap, uint64_t *taken);

#endif
