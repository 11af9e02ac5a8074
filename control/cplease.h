/*
 * cplease.h - this node's etcd lease and the write fence it feeds
 * (DESIGN.md, Failover), on a thread of their own so nothing else the
 * control plane does (map pushes, slot moves, HTTP) can delay a renewal.
 *
 * The thread grants a lease of --node-timeout (whole seconds, at least 1)
 * and renews it every third of that, over its own etcd client. The node's
 * registration key (cpcluster.c) is attached to it: when the node dies or
 * is cut off, the key goes with the lease, and that is what replicas wait
 * for before they take over.
 *
 * The fence: a master that has replicas must stop taking writes before its
 * lease can expire. After each renewal that etcd confirmed, sent at time t,
 * the thread tells its dataplane over its own control-socket connection
 * `FENCE <ms>`: writes are taken until t + TTL - margin (margin: a quarter
 * of the TTL, at least 200 ms). The lease cannot expire before t + TTL, so
 * writes stop first whatever happens to this process or to etcd; a renewal
 * that fails sends nothing and the deadline runs out. A lease that lapsed
 * fences at once (FENCE 0) until the cluster thread confirms, under the new
 * lease, that this node is still the master (cp_lease_set_role).
 * Other roles (a replica, a master without replicas) get FENCE OFF.
 */
#ifndef WC_CONTROL_CPLEASE_H
#define WC_CONTROL_CPLEASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct cp_lease;

struct cp_lease_opts {
	const char *etcd;		/* URL[,URL...] */
	unsigned ttl_ms;		/* --node-timeout */
	const char *socket;		/* the dataplane's control socket */
};

enum cp_fence_role {
	CP_FENCE_OFF,			/* writes always (not a master with replicas) */
	CP_FENCE_RENEW,			/* a master with replicas: writes while the lease holds */
	CP_FENCE_HOLD,			/* a master handing over (manual failover): no writes */
};

struct cp_lease *cp_lease_start(const struct cp_lease_opts *o, char *err, size_t errlen);
void cp_lease_stop(struct cp_lease *l);

/* The lease now (0: none yet); *gen (may be NULL) counts grants, so a new lease is told apart. */
int64_t cp_lease_id(struct cp_lease *l, uint64_t *gen);

/*
 * The cluster thread's word: under the lease of generation gen this node
 * is registered and, by a map read after that, has this role. RENEW for
 * another generation than the current one counts as not confirmed (fenced).
 */
void cp_lease_set_role(struct cp_lease *l, enum cp_fence_role role, uint64_t gen);

/* etcd says lease id is gone (a put with it failed): grant a new one now. */
void cp_lease_lapsed(struct cp_lease *l, int64_t id);

/* Has the dataplane been told to take no writes (FENCE 0) for the role in force? */
bool cp_lease_fenced(struct cp_lease *l);

/* Wake the thread now (a role change to tell the dataplane). */
void cp_lease_wake(struct cp_lease *l);

/* For GET /api/cluster and /metrics. */
json_t *cp_lease_json(struct cp_lease *l);
struct buf;
void cp_lease_prom(struct cp_lease *l, struct buf *b);

#endif
