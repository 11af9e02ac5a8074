/*
 * cpcluster.h - one wirecache-cp's part in a cluster (--etcd): a thread that
 * learns its dataplane's identity (`ID` on the control socket), registers
 * the node in etcd under /wirecache/<cluster>/nodes/<id> on a lease it keeps
 * alive (a third of --node-timeout), watches the cluster's prefix, and
 * pushes the map (/wirecache/<cluster>/map) into the dataplane with the
 * `CMAP BEGIN/NODE/SLOTS/COMMIT` lines whenever the map changes and after
 * every re-attachment to the dataplane. The last map read is kept: with etcd
 * unreachable nothing changes in the dataplane, only etcd_up goes false.
 *
 * With it runs the CREQ thread (cpcreq.h): the dataplane's CLUSTER SETSLOT
 * requests answered with etcd transactions on the map.
 *
 * What it knows is served as GET /api/cluster, "etcd" in /api/status, and
 * the wirecache_etcd_up gauge in /metrics.
 */
#ifndef WC_CONTROL_CPCLUSTER_H
#define WC_CONTROL_CPCLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "cmap.h"
#include "cpcore.h"

struct cp_cluster;

struct cp_cluster_opts {
	const char *etcd;		/* URL[,URL...] */
	const char *name;		/* cluster name: the prefix /wirecache/<name>/ */
	unsigned node_timeout_ms;	/* the registration lease */
	const char *http;		/* this cp's HTTP address, for the registry */
};

/* Start the thread. NULL with a reason in err. */
struct cp_cluster *cp_cluster_start(struct cp_core *core, const struct cp_cluster_opts *o,
				    char *err, size_t errlen);
/* Stop it; the registration is left to its lease (revoking is not needed). */
void cp_cluster_stop(struct cp_cluster *cl);

/* GET /api/cluster; cl may be NULL (not clustered: {"enabled": false}). */
json_t *cp_cluster_json(struct cp_cluster *cl);
/* 1 etcd answered the last call, 0 not; -1 when cl is NULL. */
int cp_cluster_etcd_up(struct cp_cluster *cl);
/* the cluster gauges for /metrics */
void cp_cluster_prom(struct cp_cluster *cl, struct buf *b);

/*
 * A manual failover of this node (a replica) from the HTTP API (POST
 * /api/cluster/failover): cp_failover_manual with an etcd client of the
 * caller's own and the dataplane's REPLSTATE offset. mode: "", "FORCE",
 * "TAKEOVER". 0 with the new epoch, or -1 with the reason in err.
 */
int cp_cluster_failover(struct cp_cluster *cl, const char *mode, uint64_t *epoch, char *err,
			size_t errlen);

/* Wake the thread to read etcd and push the map now (after a change it made). */
void cp_cluster_wake(struct cp_cluster *cl);
/* This node's id into id (from the dataplane's ID): false while not known. */
bool cp_cluster_self_id(struct cp_cluster *cl, char id[CM_ID_LEN + 1]);

/* The prefix of a cluster's keys: "/wirecache/<name>/". -1 when name is not valid. */
int cp_cluster_prefix(const char *name, char *out, size_t n);

/*
 * Parse the dataplane's reply to ID ("id=... ip=... port=... cport=...
 * mcport=... cluster=0|1", without "OK") into n (config_epoch 0, http
 * empty) and *cluster. 0, or -1 when a field is missing or invalid.
 */
int cp_cluster_parse_id(const char *reply, struct cm_node *n, bool *cluster);

#endif
