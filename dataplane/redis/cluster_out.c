/*
 * cluster_out.c - CLUSTER INFO, NODES, SLOTS and SHARDS replies from a slot
 * map (see cluster_out.h). Texts whose length must come first (INFO, NODES)
 * are generated twice: once into a sink that only counts, then for real.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/resp_out.h"
#include "redis/cluster_out.h"

/* ---- a sink that counts what it is given ---- */

struct counter_sink {
	struct mc_out o;
	uint8_t bin[256];
};

static bool counter_more(struct mc_out *o)
{
	struct counter_sink *c = (struct counter_sink *)(void *)o;

	o->p = c->bin;
	o->end = c->bin + sizeof(c->bin);
	return true;
}

typedef void (*text_gen)(struct mc_out *o, const struct rd_cluster_map *m, const void *arg);

static void reply_text(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m,
		       text_gen gen, const void *arg)
{
	struct counter_sink c;
	uint64_t n;

	memset(&c.o, 0, sizeof(c.o));
	c.o.more = counter_more;
	gen(&c.o, m, arg);
	n = c.o.written;
	if (proto >= 3) {
		resp_header(o, '=', (int64_t)n + 4);
		mc_out_put(o, "txt:", 4);
	} else {
		resp_header(o, '$', (int64_t)n);
	}
	gen(o, m, arg);
	mc_out_put(o, "\r\n", 2);
}

static void out_fmt(struct mc_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_fmt(struct mc_out *o, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		mc_out_put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* ---- CLUSTER INFO ---- */

static void info_gen(struct mc_out *o, const struct rd_cluster_map *m, const void *arg)
{
	const struct rd_cluster_msgs *msgs = arg;
	struct rd_cluster_counts c;
	uint64_t my_epoch = m->myself < m->nnodes ? rd_cluster_node_epoch(m, m->myself) : 0;

	rd_cluster_map_counts(m, &c);
	out_fmt(o, "cluster_state:%s\r\n", m->state_ok ? "ok" : "fail");
	out_fmt(o, "cluster_slots_assigned:%u\r\n", c.assigned);
	out_fmt(o, "cluster_slots_ok:%u\r\n", c.ok);
	out_fmt(o, "cluster_slots_pfail:%u\r\n", c.pfail);
	out_fmt(o, "cluster_slots_fail:%u\r\n", c.fail);
	out_fmt(o, "cluster_known_nodes:%u\r\n", m->nnodes);
	out_fmt(o, "cluster_size:%u\r\n", c.size);
	out_fmt(o, "cluster_current_epoch:%" PRIu64 "\r\n", m->current_epoch);
	out_fmt(o, "cluster_my_epoch:%" PRIu64 "\r\n", my_epoch);
	out_fmt(o, "cluster_stats_messages_sent:%" PRIu64 "\r\n", msgs ? msgs->sent : 0);
	out_fmt(o, "cluster_stats_messages_received:%" PRIu64 "\r\n", msgs ? msgs->received : 0);
	out_fmt(o, "total_cluster_links_buffer_limit_exceeded:0\r\n");
}

void rd_cluster_info_text(struct mc_out *o, const struct rd_cluster_map *m,
			  const struct rd_cluster_msgs *msgs)
{
	info_gen(o, m, msgs);
}

void rd_cluster_reply_info(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m,
			   const struct rd_cluster_msgs *msgs)
{
	reply_text(o, proto, m, info_gen, msgs);
}

/* ---- CLUSTER NODES ---- */

static void node_flags(struct mc_out *o, const struct rd_cluster_map *m, uint16_t n)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} names[] = {
		{ RD_NODE_MASTER, "master" }, { RD_NODE_REPLICA, "slave" },
		{ RD_NODE_PFAIL, "fail?" }, { RD_NODE_FAIL, "fail" },
		{ RD_NODE_HANDSHAKE, "handshake" }, { RD_NODE_NOADDR, "noaddr" },
		{ RD_NODE_NOFAILOVER, "nofailover" },
	};
	bool any = false;

	if (n == m->myself) {
		mc_out_str(o, "myself");
		any = true;
	}
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(m->node[n].flags & names[i].bit))
			continue;
		if (any)
			mc_out_char(o, ',');
		mc_out_str(o, names[i].name);
		any = true;
	}
	if (!any)
		mc_out_str(o, "noflags");
}

static void node_line(struct mc_out *o, const struct rd_cluster_map *m, uint16_t n)
{
	const struct rd_cluster_node *nd = &m->node[n];
	int start = -1;

	mc_out_put(o, nd->id, 40);
	out_fmt(o, " %s:%u@%u", nd->ip, nd->port, nd->cport);
	if (nd->hostname[0])
		out_fmt(o, ",%s", nd->hostname);
	mc_out_char(o, ' ');
	node_flags(o, m, n);
	mc_out_char(o, ' ');
	if ((nd->flags & RD_NODE_REPLICA) && nd->master < m->nnodes)
		mc_out_put(o, m->node[nd->master].id, 40);
	else
		mc_out_char(o, '-');
	out_fmt(o, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s", nd->ping_sent_ms, nd->pong_recv_ms,
		rd_cluster_node_epoch(m, n),
		nd->connected || n == m->myself ? "connected" : "disconnected");
	for (unsigned s = 0; s <= WC_SLOTS; s++) {
		bool mine = s < WC_SLOTS && m->owner[s] == n;

		if (mine && start < 0)
			start = (int)s;
		if (!mine && start >= 0) {
			if ((unsigned)start == s - 1)
				out_fmt(o, " %d", start);
			else
				out_fmt(o, " %d-%u", start, s - 1);
			start = -1;
		}
	}
	if (n == m->myself) {
		for (unsigned s = 0; s < WC_SLOTS; s++) {
			if (m->migrating[s] < m->nnodes)
				out_fmt(o, " [%u->-%s]", s, m->node[m->migrating[s]].id);
			else if (m->importing[s] < m->nnodes)
				out_fmt(o, " [%u-<-%s]", s, m->node[m->importing[s]].id);
		}
	}
	mc_out_char(o, '\n');
}

static void nodes_gen(struct mc_out *o, const struct rd_cluster_map *m, const void *arg)
{
	(void)arg;
	for (uint16_t n = 0; n < m->nnodes; n++)
		node_line(o, m, n);
}

void rd_cluster_nodes_text(struct mc_out *o, const struct rd_cluster_map *m)
{
	nodes_gen(o, m, NULL);
}

void rd_cluster_reply_nodes(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m)
{
	reply_text(o, proto, m, nodes_gen, NULL);
}

/* ---- CLUSTER SLOTS ---- */

/* Redis lists a replica in CLUSTER SLOTS once it is not failing and has synced something. */
static bool replica_listed(const struct rd_cluster_map *m, uint16_t r, uint16_t master)
{
	const struct rd_cluster_node *nd = &m->node[r];

	return (nd->flags & RD_NODE_REPLICA) && nd->master == master &&
	       !(nd->flags & RD_NODE_FAIL) &&
	       __atomic_load_n(&nd->repl_offset, __ATOMIC_RELAXED) != 0;
}

static void slots_node(struct mc_out *o, uint8_t proto, const struct rd_cluster_node *nd)
{
	resp_array(o, 4);
	resp_bulk_str(o, nd->ip);
	resp_int(o, nd->port);
	resp_bulk(o, nd->id, 40);
	if (nd->hostname[0]) {
		resp_map(o, proto, 1);
		resp_bulk_str(o, "hostname");
		resp_bulk_str(o, nd->hostname);
	} else {
		resp_map(o, proto, 0);
	}
}

static void slots_entry(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m,
			unsigned start, unsigned end, uint16_t n)
{
	unsigned nrep = 0;

	for (uint16_t r = 0; r < m->nnodes; r++)
		nrep += replica_listed(m, r, n);
	resp_array(o, 3 + nrep);
	resp_int(o, start);
	resp_int(o, end);
	slots_node(o, proto, &m->node[n]);
	for (uint16_t r = 0; r < m->nnodes; r++)
		if (replica_listed(m, r, n))
			slots_node(o, proto, &m->node[r]);
}

/* The runs of slots one node serves, in slot order: counted, and written when write. */
static unsigned slot_runs(const struct rd_cluster_map *m, struct mc_out *o, uint8_t proto,
			  bool write)
{
	unsigned runs = 0, start = 0;

	for (unsigned s = 1; s <= WC_SLOTS; s++) {
		if (s < WC_SLOTS && m->owner[s] == m->owner[start])
			continue;
		if (m->owner[start] < m->nnodes) {
			runs++;
			if (write)
				slots_entry(o, proto, m, start, s - 1, m->owner[start]);
		}
		start = s;
	}
	return runs;
}

void rd_cluster_reply_slots(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m)
{
	resp_array(o, slot_runs(m, o, proto, false));
	slot_runs(m, o, proto, true);
}

/* ---- CLUSTER SHARDS ---- */

static void shard_node(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m,
		       uint16_t n)
{
	const struct rd_cluster_node *nd = &m->node[n];
	bool replica = (nd->flags & RD_NODE_REPLICA) != 0;
	uint64_t off = __atomic_load_n(&nd->repl_offset, __ATOMIC_RELAXED);
	const char *health = (nd->flags & RD_NODE_FAIL) ? "fail"
			     : replica && off == 0 ? "loading" : "online";

	resp_map(o, proto, nd->hostname[0] ? 8 : 7);
	resp_bulk_str(o, "id");
	resp_bulk(o, nd->id, 40);
	resp_bulk_str(o, "port");
	resp_int(o, nd->port);
	resp_bulk_str(o, "ip");
	resp_bulk_str(o, nd->ip);
	resp_bulk_str(o, "endpoint");
	resp_bulk_str(o, nd->ip);
	if (nd->hostname[0]) {
		resp_bulk_str(o, "hostname");
		resp_bulk_str(o, nd->hostname);
	}
	resp_bulk_str(o, "role");
	resp_bulk_str(o, replica ? "replica" : "master");
	resp_bulk_str(o, "replication-offset");
	resp_int(o, (int64_t)off);
	resp_bulk_str(o, "health");
	resp_bulk_str(o, health);
}

/* A master's slot ranges as start/end pairs; returns the number of numbers. */
static unsigned shard_slots(const struct rd_cluster_map *m, uint16_t n, struct mc_out *o)
{
	unsigned count = 0;
	int start = -1;

	for (unsigned s = 0; s <= WC_SLOTS; s++) {
		bool mine = s < WC_SLOTS && m->owner[s] == n;

		if (mine && start < 0)
			start = (int)s;
		if (!mine && start >= 0) {
			count += 2;
			if (o) {
				resp_int(o, start);
				resp_int(o, s - 1);
			}
			start = -1;
		}
	}
	return count;
}

void rd_cluster_reply_shards(struct mc_out *o, uint8_t proto, const struct rd_cluster_map *m)
{
	unsigned masters = 0;

	for (uint16_t n = 0; n < m->nnodes; n++)
		masters += (m->node[n].flags & RD_NODE_MASTER) != 0;
	resp_array(o, masters);
	for (uint16_t n = 0; n < m->nnodes; n++) {
		unsigned members = 1;

		if (!(m->node[n].flags & RD_NODE_MASTER))
			continue;
		for (uint16_t r = 0; r < m->nnodes; r++)
			members += (m->node[r].flags & RD_NODE_REPLICA) && m->node[r].master == n;
		resp_map(o, proto, 2);
		resp_bulk_str(o, "slots");
		resp_array(o, shard_slots(m, n, NULL));
		shard_slots(m, n, o);
		resp_bulk_str(o, "nodes");
		resp_array(o, members);
		shard_node(o, proto, m, n);
		for (uint16_t r = 0; r < m->nnodes; r++)
			if ((m->node[r].flags & RD_NODE_REPLICA) && m->node[r].master == n)
				shard_node(o, proto, m, r);
	}
}
