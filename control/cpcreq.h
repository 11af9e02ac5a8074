/*
 * cpcreq.h - the control plane's answer to the dataplane's CLUSTER SETSLOT
 * (issue 13, M3): a thread with its own dataplane connection (a second
 * dpconn, so pushes and samples never wait behind it) long-polling
 * `CREQ NEXT 1000`. Each `<reqid> SETSLOT <slot> <op> [<id>]` becomes one
 * etcd transaction on the map (read it, cm_setslot with myself = this node,
 * write epoch+1 if the map key's mod_revision is unchanged, up to 5 tries),
 * answered `CREQ DONE <reqid> OK <epoch>` or `CREQ DONE <reqid> ERR <text>`;
 * then the cluster thread is woken to read and push the new map at once.
 * It attaches again when the dataplane restarts.
 */
#ifndef WC_CONTROL_CPCREQ_H
#define WC_CONTROL_CPCREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmap.h"
#include "etcd.h"

struct cp_cluster;
struct cp_creq;

/* What a client gets while etcd cannot be reached. */
#define CP_CREQ_ETCD_DOWN \
	"ERR the cluster configuration store (etcd) is unreachable: slot changes wait until it " \
	"is back"

#define CP_CREQ_ETCD_MIN_MS 5000u	/* an etcd request's time before it counts as down */

struct cp_creq_opts {
	const char *socket;		/* the dataplane's control socket */
	const char *etcd;		/* URL[,URL...] */
	const char *prefix;		/* "/wirecache/<name>/" */
	unsigned etcd_timeout_ms;	/* raised to CP_CREQ_ETCD_MIN_MS */
};

/* Start the thread (cl: whom to ask for this node's id, and to wake). NULL with err. */
struct cp_creq *cp_creq_start(struct cp_cluster *cl, const struct cp_creq_opts *o, char *err,
			      size_t errlen);
void cp_creq_stop(struct cp_creq *q);
/* Requests answered OK and refused so far (q may be NULL: zeros). */
void cp_creq_counts(struct cp_creq *q, uint64_t *ok, uint64_t *refused);

/*
 * A CREQ NEXT reply without its "OK": "<reqid> SETSLOT <slot> <op> [<id>]".
 * 1 a request (reqid's text in reqid, at most 31 characters), 0 "none", -1
 * anything else.
 */
int cp_creq_parse(const char *reply, char reqid[32], unsigned *slot, enum cm_setslot_op *op,
		  char id[CM_ID_LEN + 1]);

/*
 * Apply one SETSLOT asked by node myself to the map at <prefix>map in etcd
 * (scratch: a map the caller owns). 0 with the epoch the map has after it
 * (unchanged when nothing had to change), or -1 with the client's error
 * text in err ("ERR ...").
 */
int cp_creq_apply(struct etcd *e, const char *prefix, const char *myself, unsigned slot,
		  enum cm_setslot_op op, const char *id, struct cm_map *scratch, uint64_t *epoch,
		  char *err, size_t errlen);

#endif
