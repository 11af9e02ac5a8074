/*
 * cpfailover.h - automatic failover, the replicas' side (DESIGN.md,
 * Failover), run by the cluster thread (cpcluster.c) on every step.
 *
 * A replica whose master's registration is gone from etcd (its lease
 * lapsed: the master died or was cut off, and fenced its writes before)
 * stands as a candidate: it puts /wirecache/<c>/failover/<master>/<self>
 * = {"offset": N} on its own lease, N its dataplane's replication offset.
 * After a short wait for the others' candidacies, the candidates that are
 * alive replicas of that master are ranked as Redis ranks replicas: the
 * highest offset first (then the lower id). Rank r tries after r more
 * waits, so a better candidate that died meanwhile does not stall the
 * shard. The try is one etcd transaction: if the map is still the one read
 * and the master's registration is still absent, write the map with the
 * failover applied (cm_failover: epoch + 1, the master's slots to this
 * node). One candidate wins; the others see the new map.
 */
#ifndef WC_CONTROL_CPFAILOVER_H
#define WC_CONTROL_CPFAILOVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cmap.h"
#include "etcd.h"

#define CP_FAILOVER_COLLECT_MS 150	/* the wait for the other candidacies */
#define CP_FAILOVER_RANK_MS 500		/* rank r tries r times this later */

struct cp_failover {
	char master[CM_ID_LEN + 1];	/* the master this node stands in for ("" none) */
	int64_t posted_ms;		/* when its candidacy went up */
	int64_t next_ms;		/* when to look again (0: at the next step) */
	/* counters and the last one, for /api/cluster and /metrics */
	uint64_t candidacies, promotions, lost;
	char last[240];
};

/* What the cluster thread knows at this step. */
struct cp_failover_view {
	struct etcd *etcd;
	const char *prefix;		/* "/wirecache/<name>/" */
	const struct cm_map *map;
	int64_t map_rev;
	char (*alive)[CM_ID_LEN + 1];	/* registered ids */
	unsigned nalive;
	const char *self;		/* this node's id */
	int64_t lease;			/* this node's lease (candidacies go with it) */
	uint64_t offset;		/* its dataplane's replication offset */
};

/*
 * One step. Returns 1 when it wrote a new map (read it again), 0 otherwise,
 * -1 when etcd failed; *wake_ms gets how soon the next step is due (0: no
 * hurry).
 */
int cp_failover_step(struct cp_failover *f, const struct cp_failover_view *v, int64_t now_ms,
		     unsigned *wake_ms, char *log, size_t logn);

/*
 * Promote replica id now (wirecachectl failover, CLUSTER FAILOVER): the map
 * with cm_failover applied, if it is still at rev; with require_dead, only
 * while the master's registration is absent. 0 done, 1 lost the race (the
 * map changed or the master came back), -1 etcd failed or refused (err).
 */
int cp_failover_promote(struct etcd *e, const char *prefix, const struct cm_map *map,
			int64_t rev, const char *id, bool require_dead, char *err, size_t errlen);

/*
 * A manual failover (CLUSTER FAILOVER on a replica, wirecachectl failover),
 * run by replica self's control plane:
 *  - FORCE, TAKEOVER: the map transaction at once, the master alive or not
 *    (as in Redis, acknowledged writes the replica has not received are
 *    lost);
 *  - plain: the master must be alive. The replica asks it to hand over
 *    (/wirecache/<c>/pause/<master> on a 5 s lease); the master's control
 *    plane fences its writes (FENCE 0) and says so (pause-ok/<master>); the
 *    replica then waits until its replication offset has not moved for
 *    300 ms (it has everything the master took), and only then writes the
 *    map. Nothing acknowledged is lost; writes pause for about that long.
 * offset(arg) reads the replica's dataplane replication offset (false: not
 * known). 0 with the new map's epoch in *epoch, or -1 with Redis's error
 * text in err ("ERR ...").
 */
enum cp_failover_mode { CP_FAILOVER_PLAIN, CP_FAILOVER_FORCE, CP_FAILOVER_TAKEOVER };
int cp_failover_manual(struct etcd *e, const char *prefix, const char *self,
		       enum cp_failover_mode mode, bool (*offset)(void *arg, uint64_t *off),
		       void *arg, uint64_t *epoch, char *err, size_t errlen);

/* The mode word of CREQ / the API ("-" or "", FORCE, TAKEOVER, case-insensitive): 0 or -1. */
int cp_failover_mode_parse(const char *w, enum cp_failover_mode *mode);

/* The offset in a dataplane's REPLSTATE reply ("... offset=N ..."): false when none. */
bool cp_replstate_offset(const char *reply, uint64_t *off);

json_t *cp_failover_json(const struct cp_failover *f);

#endif
