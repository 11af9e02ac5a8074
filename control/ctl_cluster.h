/*
 * ctl_cluster.h - `wirecachectl cluster create|info|check|add-node|del-node`
 * (ctl_cluster.c): argv after the word "cluster". Returns the exit status:
 * 0 done, 1 failed (etcd unreachable, refused, check failed), 2 bad usage.
 */
#ifndef WC_CONTROL_CTL_CLUSTER_H
#define WC_CONTROL_CTL_CLUSTER_H

#include <stdbool.h>

int ctl_cluster_main(int argc, char **argv, bool json, unsigned timeout_ms);

#endif
