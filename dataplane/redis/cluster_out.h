/*
 * cluster_out.h - the replies of CLUSTER INFO, NODES, SLOTS and SHARDS,
 * written from a slot map (cluster_map.h) in RESP2 or RESP3, in Redis
 * 7.0's formats (the formats are the protocol clients parse).
 */
#ifndef WC_REDIS_CLUSTER_OUT_H
#define WC_REDIS_CLUSTER_OUT_H

#include <stdint.h>

#include "proto/mc_out.h"
#include "redis/cluster_map.h"

/* Bus messages counted for CLUSTER INFO (no bus yet: zeros). */
struct rd_cluster_msgs {
	uint64_t sent, received;
};

/* CLUSTER INFO: "key:value\r\n" lines; a bulk (RESP2) or verbatim text (RESP3). */
void rd_cluster_reply_info(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m,
			   const struct rd_cluster_msgs *msgs);

/* CLUSTER NODES: one "\n"-terminated line per node; a bulk or verbatim text. */
void rd_cluster_reply_nodes(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m);

/* CLUSTER SLOTS: [[start, end, [ip, port, id, {hostname}], replicas ...], ...]. */
void rd_cluster_reply_slots(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m);

/* CLUSTER SHARDS: [{slots: [s, e ...], nodes: [{id, port, ip, endpoint, role ...}]}, ...]. */
void rd_cluster_reply_shards(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m);

/* The text parts alone (what the bulk of INFO and NODES holds). */
void rd_cluster_info_text(struct mc_out *o, const struct rd_cluster_map *m,
			  const struct rd_cluster_msgs *msgs);
void rd_cluster_nodes_text(struct mc_out *o, const struct rd_cluster_map *m);

#endif
