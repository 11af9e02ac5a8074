/*
 * cluster_map.c - building slot maps and Redis Cluster's routing decision
 * (see cluster_map.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis/cluster_map.h"

struct rd_cluster_map *rd_cluster_map_new(void)
{
	struct rd_cluster_map *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	for (unsigned s = 0; s < WC_SLOTS; s++)
		m->owner[s] = m->migrating[s] = m->importing[s] = RD_NODE_NONE;
	m->myself = RD_NODE_NONE;
	return m;
}

void rd_cluster_map_free(struct rd_cluster_map *m)
{
	free(m);
}

bool rd_cluster_is_node_id(const char *s)
{
	unsigned i;

	for (i = 0; i < 40; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == 0;
}

uint16_t rd_cluster_map_add_node(struct rd_cluster_map *m, const char *id, const char *ip,
				 uint16_t port, uint16_t cport, uint16_t flags)
{
	struct rd_cluster_node *n;

	if (m->nnodes == RD_CLUSTER_NODES_MAX || !id || !rd_cluster_is_node_id(id))
		return RD_NODE_NONE;
	n = &m->node[m->nnodes];
	memset(n, 0, sizeof(*n));
	memcpy(n->id, id, 41);
	snprintf(n->ip, sizeof(n->ip), "%s", ip ? ip : "");
	n->port = port;
	n->cport = cport;
	n->flags = flags;
	n->master = RD_NODE_NONE;
	return m->nnodes++;
}

void rd_cluster_map_assign(struct rd_cluster_map *m, unsigned from, unsigned to, uint16_t n)
{
	for (unsigned s = from; s <= to && s < WC_SLOTS; s++)
		m->owner[s] = n;
}

void rd_cluster_map_finish(struct rd_cluster_map *m)
{
	bool ok = true;

	for (unsigned s = 0; s < WC_SLOTS && ok; s++) {
		uint16_t n = m->owner[s];

		ok = n != RD_NODE_NONE && n < m->nnodes && !(m->node[n].flags & RD_NODE_FAIL);
	}
	m->state_ok = ok;
}

struct rd_cluster_map *rd_cluster_map_single(const char *id, const char *ip, uint16_t port,
					     uint16_t cport, uint64_t epoch)
{
	struct rd_cluster_map *m = rd_cluster_map_new();

	if (!m)
		return NULL;
	m->myself = rd_cluster_map_add_node(m, id, ip, port, cport, RD_NODE_MASTER);
	if (m->myself == RD_NODE_NONE) {
		rd_cluster_map_free(m);
		return NULL;
	}
	m->node[m->myself].connected = true;
	m->node[m->myself].config_epoch = epoch;
	m->current_epoch = epoch;
	rd_cluster_map_assign(m, 0, WC_SLOTS - 1, m->myself);
	rd_cluster_map_finish(m);
	return m;
}

void rd_cluster_map_counts(const struct rd_cluster_map *m, struct rd_cluster_counts *c)
{
	bool serves[RD_CLUSTER_NODES_MAX] = { false };

	memset(c, 0, sizeof(*c));
	for (unsigned s = 0; s < WC_SLOTS; s++) {
		uint16_t n = m->owner[s];

		if (n == RD_NODE_NONE || n >= m->nnodes)
			continue;
		c->assigned++;
		if (m->node[n].flags & RD_NODE_FAIL)
			c->fail++;
		else if (m->node[n].flags & RD_NODE_PFAIL)
			c->pfail++;
		else
			c->ok++;
		serves[n] = true;
	}
	for (unsigned n = 0; n < m->nnodes; n++)
		if (serves[n] && (m->node[n].flags & RD_NODE_MASTER))
			c->size++;
}

uint64_t rd_cluster_node_epoch(const struct rd_cluster_map *m, uint16_t n)
{
	const struct rd_cluster_node *nd = &m->node[n];

	if ((nd->flags & RD_NODE_REPLICA) && nd->master < m->nnodes)
		return m->node[nd->master].config_epoch;
	return nd->config_epoch;
}

bool rd_cluster_slot_open(const struct rd_cluster_map *m, unsigned slot)
{
	return (m->owner[slot] == m->myself && m->migrating[slot] != RD_NODE_NONE) ||
	       m->importing[slot] != RD_NODE_NONE;
}

/*
 * Redis Cluster's rules, in Redis's order: the first key's slot must be
 * served by someone; all keys in one slot; the cluster up; a slot moving
 * away answers ASK for keys already gone (TRYAGAIN when only some are); a
 * slot moving in serves ASKING clients; a replica serves READONLY reads
 * of its master's slots; anything else not ours is MOVED.
 */
enum rd_redirect rd_cluster_decide(const struct rd_cluster_map *m, const struct rd_slot_query *q,
				   uint16_t *node)
{
	const struct rd_cluster_node *me;
	bool migrating, importing;
	uint16_t n;

	if (q->slot < 0 || q->slot >= (int32_t)WC_SLOTS)
		return RD_REDIR_NONE;	/* no keys: served anywhere */
	n = m->owner[q->slot];
	if (n == RD_NODE_NONE || n >= m->nnodes)
		return RD_REDIR_DOWN_UNBOUND;
	if (q->cross_slot)
		return RD_REDIR_CROSS_SLOT;
	migrating = n == m->myself && m->migrating[q->slot] != RD_NODE_NONE;
	importing = !migrating && m->importing[q->slot] != RD_NODE_NONE;
	if (!m->state_ok && !q->shard_pubsub)
		return RD_REDIR_DOWN_STATE;
	if (migrating && q->missing) {
		if (q->existing)
			return RD_REDIR_TRYAGAIN;
		*node = m->migrating[q->slot];
		return RD_REDIR_ASK;
	}
	if (importing && q->asking)
		return q->multiple_keys && q->missing ? RD_REDIR_TRYAGAIN : RD_REDIR_NONE;
	me = m->myself < m->nnodes ? &m->node[m->myself] : NULL;
	if (me && (q->readonly || q->shard_pubsub) && !q->write && (me->flags & RD_NODE_REPLICA) &&
	    me->master == n)
		return RD_REDIR_NONE;
	if (n != m->myself) {
		*node = n;
		return RD_REDIR_MOVED;
	}
	return RD_REDIR_NONE;
}

void rd_cluster_redirect_text(const struct rd_cluster_map *m, enum rd_redirect r, int32_t slot,
			      uint16_t node, char *buf, unsigned cap)
{
	const char *t = "";

	switch (r) {
	case RD_REDIR_MOVED:
	case RD_REDIR_ASK:
		if (node < m->nnodes) {
			snprintf(buf, cap, "%s %d %s:%u", r == RD_REDIR_ASK ? "ASK" : "MOVED",
				 (int)slot, m->node[node].ip, m->node[node].port);
			return;
		}
		t = "CLUSTERDOWN Hash slot not served";
		break;
	case RD_REDIR_CROSS_SLOT:
		t = "CROSSSLOT Keys in request don't hash to the same slot";
		break;
	case RD_REDIR_TRYAGAIN:
		t = "TRYAGAIN Multiple keys request during rehashing of slot";
		break;
	case RD_REDIR_DOWN_STATE:
		t = "CLUSTERDOWN The cluster is down";
		break;
	case RD_REDIR_DOWN_UNBOUND:
		t = "CLUSTERDOWN Hash slot not served";
		break;
	case RD_REDIR_NONE:
		break;
	}
	snprintf(buf, cap, "%s", t);
}
