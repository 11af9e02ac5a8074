/*
 * cluster.c - Redis Cluster on the dataplane: the checks every command
 * passes before it runs (keys of one slot, else CROSSSLOT), READONLY,
 * READWRITE and ASKING, and the CLUSTER commands (clusterinfo.c).
 *
 * A single node owns all 16384 slots, so no key is ever MOVED; the
 * multi-node cluster (slot map from the control plane) adds the redirects
 * here.
 */
#include <string.h>

#include "redis/cmds.h"
#include "redis/rdutil.h"
#include "redis/server.h"
#include "wirecache/slot.h"

bool rd_cluster_admit(struct rd_session *s, const struct rd_cmd *c)
{
	uint32_t pos[256];
	unsigned n;
	int slot = -1;

	if (!rd_server(s)->cluster)
		return true;
	n = rd_cmd_keys(c, &s->cmd, pos, 256);
	for (unsigned i = 0; i < n; i++) {
		const struct resp_arg *k = rd_arg(s, pos[i]);
		int ks;

		if (k->kind != RESP_ARG_PTR)
			continue;
		ks = wc_key_slot(k->u.p, k->len);
		if (slot >= 0 && ks != slot) {
			rd_err(s, RD_CROSSSLOT);
			if (s->flags & RD_C_MULTI)
				s->flags |= RD_C_DIRTY_EXEC;
			return false;
		}
		slot = ks;
	}
	return true;
}

static enum rd_res readonly(struct rd_session *s)
{
	if (!rd_server(s)->cluster) {
		rd_err(s, "ERR This instance has cluster support disabled");
		return RD_DONE;
	}
	s->flags |= RD_C_READONLY;
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res readwrite(struct rd_session *s)
{
	if (!rd_server(s)->cluster) {
		rd_err(s, "ERR This instance has cluster support disabled");
		return RD_DONE;
	}
	s->flags &= ~RD_C_READONLY;
	resp_ok(rd_out(s));
	return RD_DONE;
}

static enum rd_res asking(struct rd_session *s)
{
	if (!rd_server(s)->cluster) {
		rd_err(s, "ERR This instance has cluster support disabled");
		return RD_DONE;
	}
	s->flags |= RD_C_ASKING;
	resp_ok(rd_out(s));
	return RD_DONE;
}

#define CL (RD_ACL_CONNECTION | RD_ACL_FAST)

struct rd_cmd rd_cmds_cluster[] = {
	RD_CMD("readonly", readonly, 1, RD_F_FAST | RD_F_LOADING | RD_F_STALE, CL, 0, 0, 0,
	       "cluster", "Let this connection read from a replica", "3.0.0", "O(1)"),
	RD_CMD("readwrite", readwrite, 1, RD_F_FAST | RD_F_LOADING | RD_F_STALE, CL, 0, 0, 0,
	       "cluster", "Undo READONLY", "3.0.0", "O(1)"),
	RD_CMD("asking", asking, 1, RD_F_FAST, CL, 0, 0, 0, "cluster",
	       "The next command may use a slot being imported", "3.0.0", "O(1)"),
	RD_CMD_END
};
