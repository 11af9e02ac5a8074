/*
 * ctl_cluster.h - `wirecachectl cluster create|info|check|add-node|del-node|
 * reshard|rebalance`
 * (ctl_cluster.c): argv after the word "cluster". Returns the exit status:
 * 0 done, 1 failed (etcd unreachable, refused, check failed), 2 bad usage.
 */
#ifndef WC_CONTROL_CTL_CLUSTER_H
#define WC_CONTROL_CTL_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "cmap.h"
#include "etcd.h"

int ctl_cluster_main(int argc, char **argv, bool json, unsigned timeout_ms);

/* ---- shared with ctl_reshard.c ---- */

struct ctl_cc {
	struct etcd etcd;
	char prefix[96], name[64];
	bool json;
	unsigned timeout_ms;
};

/* The map: 1 read (m, *rev), 0 none, -1 etcd failed or a bad map (printed). */
int ctl_cc_read_map(struct ctl_cc *c, struct cm_map *m, int64_t *rev);
/* Print etcd's error ("etcd unreachable at URL ..."); returns 1. */
int ctl_cc_etcd_failed(const struct ctl_cc *c);

/*
 * `cluster reshard --from ID --to ID --slots N [--pipeline 1000] [--batch 256]
 * [--auth pw] [--netns NAME]` and `cluster rebalance [--use-empty-masters]
 * [--weight ID=W]... [same options]` (ctl_reshard.c): argv holds the words
 * after the subcommand. The exit status.
 */
int ctl_reshard_main(struct ctl_cc *c, bool rebalance, int argc, char **argv);

#endif
