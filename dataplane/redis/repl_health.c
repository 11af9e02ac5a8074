/*
 * repl_health.c - replication's gauges (see repl_health.h), from the master
 * side's feeds (repl_master.h) and the replica side's link (replica.h).
 */
#include <string.h>

#include "redis/repl_health.h"
#include "redis/repl_master.h"
#include "redis/replica.h"

void rd_repl_health_get(const struct wc_app *app, struct rd_repl_health *h)
{
	struct rd_repl_view v[64];
	struct rd_replica_status in;
	unsigned n;

	memset(h, 0, sizeof(*h));
	if (!app)
		return;	/* (an lcore without an application: unit harnesses) */
	n = rd_repl_list(app, v, 64);
	h->replicas = n;
	for (unsigned i = 0; i < n && i < 64; i++)
		if (v[i].lag_s > 0 && (uint64_t)v[i].lag_s > h->max_lag_s)
			h->max_lag_s = (uint64_t)v[i].lag_s;
	rd_replica_info(&in);
	h->is_replica = in.replica;
	h->link_up = in.replica && in.link == RD_RL_CONNECTED;
	h->link_down_s = in.replica && in.down_since_s > 0 ? (uint64_t)in.down_since_s : 0;
	h->master_last_io_s = in.replica && in.last_io_s > 0 ? (uint64_t)in.last_io_s : 0;
}

const struct rd_repl_health *rd_repl_health_counters(const struct wc_app *app)
{
	static struct rd_repl_health h;	/* (read by the one control thread that publishes) */

	rd_repl_health_get(app, &h);
	return &h;
}
