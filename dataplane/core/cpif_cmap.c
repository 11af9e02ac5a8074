/*
 * cpif_cmap.c - the control socket's ID and CMAP commands: a staged
 * cluster map per control connection, its checks, and publishing it as the
 * Redis map and the memcached slot -> node table (see cpif_cmap.h).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu-qsbr.h>

#include "core/app.h"
#include "core/cpif_cmap.h"
#include "core/migrate.h"
#include "core/slots.h"
#include "redis/server.h"

_Static_assert(WC_SLOT_PEERS_MAX == RD_CLUSTER_NODES_MAX, "one redirect line per map node");

struct wc_cmap_stage {
	struct rd_cluster_map *m;		/* nodes and slots so far; current_epoch */
	uint16_t mcport[RD_CLUSTER_NODES_MAX];
	char master[RD_CLUSTER_NODES_MAX][41];	/* a replica's master id ("" for a master) */
};

/* ---- words ---- */

/* A decimal number in [min, max]: digits only (no sign, no spaces), no overflow. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_port(const char *s, uint16_t *out)
{
	uint64_t v;

	if (!parse_u64(s, 1, 65535, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return strlen(s) < sizeof(((struct rd_cluster_node *)0)->ip) &&
	       (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

static uint16_t find_node(const struct rd_cluster_map *m, const char *id)
{
	for (uint16_t n = 0; n < m->nnodes; n++)
		if (strcmp(m->node[n].id, id) == 0)
			return n;
	return RD_NODE_NONE;
}

/* ---- replies ---- */

static enum wc_cmap_act say(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum wc_cmap_act say(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 1 >= cap)
		n = cap >= 2 ? (int)cap - 2 : 0;	/* cut short, still one line */
	if (cap >= 2) {
		out[n] = '\n';
		out[n + 1] = 0;
	}
	return WC_CMAP_REPLIED;
}

/* An error about the staged map: it is dropped. */
static enum wc_cmap_act fail(struct wc_cmap_stage **st, char *out, size_t cap, const char *fmt,
			     ...) __attribute__((format(printf, 4, 5)));

static enum wc_cmap_act fail(struct wc_cmap_stage **st, char *out, size_t cap, const char *fmt,
			     ...)
{
	char msg[224];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wc_cmap_stage_drop(st);
	return say(out, cap, "ERR %s", msg);
}

void wc_cmap_stage_drop(struct wc_cmap_stage **st)
{
	if (!*st)
		return;
	rd_cluster_map_free((*st)->m);
	free(*st);
	*st = NULL;
}

void wc_cmap_built_free(struct wc_cmap_built *b)
{
	rd_cluster_map_free(b->map);
	free(b->nodes);
	b->map = NULL;
	b->nodes = NULL;
}

/* ---- the commands ---- */

static enum wc_cmap_act cmd_id(const struct wc_cmap_self *self, int argc, char *out, size_t cap)
{
	if (argc != 1)
		return say(out, cap, "ERR usage: ID");
	if (!self->id)
		return say(out, cap, "ERR this dataplane has no node id (its Redis side is off: "
			   "--redis-port 0)");
	return say(out, cap, "OK id=%s ip=%s port=%u cport=%u mcport=%u cluster=%d", self->id,
		   self->ip && *self->ip ? self->ip : "-", self->port, self->cport, self->mcport,
		   self->cluster ? 1 : 0);
}

static enum wc_cmap_act cmd_begin(struct wc_cmap_stage **st, int argc, char **argv, char *out,
				  size_t cap)
{
	uint64_t epoch;

	wc_cmap_stage_drop(st);
	if (argc != 3)
		return say(out, cap, "ERR usage: CMAP BEGIN <current_epoch>");
	if (!parse_u64(argv[2], 0, UINT64_MAX, &epoch))
		return say(out, cap, "ERR bad epoch '%.40s' (a decimal number)", argv[2]);
	*st = calloc(1, sizeof(**st));
	if (!*st || !((*st)->m = rd_cluster_map_new())) {
		wc_cmap_stage_drop(st);
		return say(out, cap, "ERR out of memory for a staged map");
	}
	(*st)->m->current_epoch = epoch;
	return say(out, cap, "OK");
}

static enum wc_cmap_act cmd_node(struct wc_cmap_stage **st, const struct wc_cmap_self *self,
				 int argc, char **argv, char *out, size_t cap)
{
	struct wc_cmap_stage *g = *st;
	struct rd_cluster_map *m = g->m;
	uint16_t port, cport, mcport = self->mcport, n;
	uint64_t config_epoch;
	bool replica, myself = false, have_mc = false;

	if (argc < 9)
		return fail(st, out, cap, "usage: CMAP NODE <id> <ip> <port> <cport> "
			    "<master|replica> <config_epoch> <master-id|-> [myself] [mc=<port>]");
	if (!rd_cluster_is_node_id(argv[2]))
		return fail(st, out, cap, "bad node id '%.48s' (40 lower-case hex characters)",
			    argv[2]);
	if (find_node(m, argv[2]) != RD_NODE_NONE)
		return fail(st, out, cap, "node %s is already in the map", argv[2]);
	if (m->nnodes >= RD_CLUSTER_NODES_MAX)
		return fail(st, out, cap, "too many nodes (at most %d)", RD_CLUSTER_NODES_MAX);
	if (!is_ip(argv[3]))
		return fail(st, out, cap, "bad ip '%.48s' (an IPv4 or IPv6 address)", argv[3]);
	if (!parse_port(argv[4], &port))
		return fail(st, out, cap, "bad port '%.20s' (1-65535)", argv[4]);
	if (!parse_port(argv[5], &cport))
		return fail(st, out, cap, "bad cport '%.20s' (1-65535)", argv[5]);
	if (strcmp(argv[6], "master") == 0)
		replica = false;
	else if (strcmp(argv[6], "replica") == 0)
		replica = true;
	else
		return fail(st, out, cap, "bad role '%.20s' (master or replica)", argv[6]);
	if (!parse_u64(argv[7], 0, UINT64_MAX, &config_epoch))
		return fail(st, out, cap, "bad config epoch '%.40s' (a decimal number)", argv[7]);
	if (!replica && strcmp(argv[8], "-") != 0)
		return fail(st, out, cap, "a master has no master id (give '-')");
	if (replica && (!rd_cluster_is_node_id(argv[8]) || strcmp(argv[8], argv[2]) == 0))
		return fail(st, out, cap, "bad master id '%.48s' for a replica (another node's "
			    "40 hex id)", argv[8]);
	for (int i = 9; i < argc; i++) {
		if (strcmp(argv[i], "myself") == 0 && !myself) {
			myself = true;
		} else if (strncmp(argv[i], "mc=", 3) == 0 && !have_mc) {
			if (!parse_port(argv[i] + 3, &mcport))
				return fail(st, out, cap, "bad memcached port '%.20s' (1-65535)",
					    argv[i] + 3);
			have_mc = true;
		} else {
			return fail(st, out, cap, "unexpected '%.40s' (myself and mc=<port>, "
				    "each at most once)", argv[i]);
		}
	}
	if (myself && m->myself != RD_NODE_NONE)
		return fail(st, out, cap, "two nodes are marked myself (%s and %s)",
			    m->node[m->myself].id, argv[2]);
	n = rd_cluster_map_add_node(m, argv[2], argv[3], port, cport,
				    replica ? RD_NODE_REPLICA : RD_NODE_MASTER);
	if (n == RD_NODE_NONE)
		return fail(st, out, cap, "node %s cannot be added", argv[2]);
	m->node[n].config_epoch = config_epoch;
	g->mcport[n] = mcport;
	snprintf(g->master[n], sizeof(g->master[n]), "%s", replica ? argv[8] : "");
	if (myself)
		m->myself = n;
	return say(out, cap, "OK");
}

/*
 * argv[2..4] = <from> <to> <id>: a slot range and a node already staged.
 * false: refused, *act is the answer (the staged map dropped).
 */
static bool range_of_node(struct wc_cmap_stage **st, char **argv, char *out, size_t cap,
			  uint64_t *from, uint64_t *to, uint16_t *n, enum wc_cmap_act *act)
{
	if (!parse_u64(argv[2], 0, WC_SLOTS - 1, from) ||
	    !parse_u64(argv[3], 0, WC_SLOTS - 1, to) || *from > *to) {
		*act = fail(st, out, cap, "bad slot range '%.20s' '%.20s' (0-%u, from <= to)",
			    argv[2], argv[3], WC_SLOTS - 1);
		return false;
	}
	*n = find_node((*st)->m, argv[4]);
	if (*n == RD_NODE_NONE) {
		*act = fail(st, out, cap, "unknown node '%.48s' (CMAP NODE it first)", argv[4]);
		return false;
	}
	return true;
}

static enum wc_cmap_act cmd_slots(struct wc_cmap_stage **st, int argc, char **argv, char *out,
				  size_t cap)
{
	struct rd_cluster_map *m = (*st)->m;
	uint64_t from, to;
	uint16_t n;

	enum wc_cmap_act act;

	if (argc != 5)
		return fail(st, out, cap, "usage: CMAP SLOTS <from> <to> <id>");
	if (!range_of_node(st, argv, out, cap, &from, &to, &n, &act))
		return act;
	if (m->node[n].flags & RD_NODE_REPLICA)
		return fail(st, out, cap, "node %s is a replica: only masters serve slots",
			    argv[4]);
	for (uint64_t s = from; s <= to; s++)
		if (m->owner[s] != RD_NODE_NONE && m->owner[s] != n)
			return fail(st, out, cap, "slot %u is already assigned to node %s",
				    (unsigned)s, m->node[m->owner[s]].id);
	rd_cluster_map_assign(m, (unsigned)from, (unsigned)to, n);
	return say(out, cap, "OK");
}

/*
 * CMAP MIGRATING <from> <to> <dst-id> / CMAP IMPORTING <from> <to> <src-id>:
 * slots from..to of myself are being sent to dst / taken from src. The
 * node must be in the staged map already (NODE lines come first).
 */
static enum wc_cmap_act cmd_moving(struct wc_cmap_stage **st, bool importing, int argc,
				   char **argv, char *out, size_t cap)
{
	struct rd_cluster_map *m = (*st)->m;
	uint16_t *to_node = importing ? m->importing : m->migrating;
	uint64_t from, to;
	uint16_t n;

	enum wc_cmap_act act;

	if (argc != 5)
		return fail(st, out, cap, "usage: CMAP %s <from> <to> <%s-id>",
			    importing ? "IMPORTING" : "MIGRATING", importing ? "src" : "dst");
	if (!range_of_node(st, argv, out, cap, &from, &to, &n, &act))
		return act;
	for (uint64_t s = from; s <= to; s++)
		to_node[s] = n;
	return say(out, cap, "OK");
}

static unsigned assigned(const struct rd_cluster_map *m)
{
	struct rd_cluster_counts c;

	rd_cluster_map_counts(m, &c);
	return c.assigned;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The memcached side of m: node[], remote, redirect[], mig[], imp[], moving (see
 * core/slots.h). node[] goes by owner: a slot this node is migrating away
 * is still its own, a slot it imports still the source's until the NODE
 * flip. mig[]/imp[] let the route send a key already moved to the target,
 * and the target serve it to a request forwarded with ASKING.
 */
static struct wc_slot_table *node_table(const struct wc_cmap_stage *g, bool mc_read_replicas)
{
	const struct rd_cluster_map *m = g->m;
	struct wc_slot_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cluster_epoch = m->current_epoch;
	if (m->myself < m->nnodes && (m->node[m->myself].flags & RD_NODE_REPLICA) &&
	    m->node[m->myself].master < m->nnodes) {
		t->master = (uint16_t)(m->node[m->myself].master + 1);
		t->read_replica = mc_read_replicas;
	}
	for (uint16_t n = 0; n < m->nnodes; n++)
		snprintf(t->redirect[n], sizeof(t->redirect[n]), "SERVER_ERROR moved %s:%u\r\n",
			 m->node[n].ip, g->mcport[n]);
	for (unsigned s = 0; s < WC_SLOTS; s++) {
		uint16_t n = m->owner[s];

		if (m->migrating[s] < m->nnodes && n == m->myself) {
			t->mig[s] = (uint16_t)(m->migrating[s] + 1);
			t->remote = t->moving = true;
		}
		if (m->importing[s] < m->nnodes && n != m->myself) {
			t->imp[s] = (uint16_t)(m->importing[s] + 1);
			t->remote = t->moving = true;
		}
		if (n == m->myself) {
			t->node[s] = WC_SLOT_NODE_SELF;
			continue;
		}
		t->node[s] = n < m->nnodes ? (uint16_t)(n + 1) : WC_SLOT_NODE_NONE;
		t->remote = true;
	}
	return t;
}

static enum wc_cmap_act cmd_commit(struct wc_cmap_stage **st, const struct wc_cmap_self *self,
				   int argc, char *out, size_t cap, struct wc_cmap_built *built)
{
	struct wc_cmap_stage *g = *st;
	struct rd_cluster_map *m = g->m;
	uint64_t published = self->published ? self->published->current_epoch : 0;
	int64_t now = now_ms();

	if (argc != 2)
		return fail(st, out, cap, "usage: CMAP COMMIT");
	if (!self->cluster)
		return fail(st, out, cap, "this dataplane runs without --cluster: it takes no "
			    "cluster map");
	if (m->myself == RD_NODE_NONE)
		return fail(st, out, cap, "no node is marked myself");
	if (!self->id || strcmp(m->node[m->myself].id, self->id) != 0)
		return fail(st, out, cap, "myself is node %s, but this dataplane is %s",
			    m->node[m->myself].id, self->id ? self->id : "-");
	if (m->current_epoch < published)
		return fail(st, out, cap, "epoch %" PRIu64 " is older than the published epoch %"
			    PRIu64, m->current_epoch, published);
	for (uint16_t n = 0; n < m->nnodes; n++) {
		struct rd_cluster_node *nd = &m->node[n];

		nd->connected = true;	/* the control plane lists live nodes */
		nd->pong_recv_ms = n == m->myself ? 0 : (uint64_t)now;
		if (!(nd->flags & RD_NODE_REPLICA))
			continue;
		nd->master = find_node(m, g->master[n]);
		if (nd->master == RD_NODE_NONE)
			return fail(st, out, cap, "replica %s's master %s is not in the map",
				    nd->id, g->master[n]);
		if (!(m->node[nd->master].flags & RD_NODE_MASTER))
			return fail(st, out, cap, "replica %s's master %s is a replica", nd->id,
				    g->master[n]);
	}
	rd_cluster_map_finish(m);
	built->nodes = node_table(g, self->mc_read_replicas);
	if (!built->nodes)
		return fail(st, out, cap, "out of memory for the slot table");
	built->map = m;
	g->m = NULL;
	say(out, cap, "OK epoch=%" PRIu64 " nodes=%u assigned=%u", m->current_epoch, m->nnodes,
	    assigned(m));
	wc_cmap_stage_drop(st);
	return WC_CMAP_COMMIT;
}

static enum wc_cmap_act cmd_state(struct wc_cmap_stage **st, const struct wc_cmap_self *self,
				  int argc, char *out, size_t cap)
{
	const struct rd_cluster_map *m = self->published;

	if (argc != 2)
		return fail(st, out, cap, "usage: CMAP STATE");
	if (!self->cluster || !m)
		return say(out, cap, "ERR this dataplane runs without --cluster: it has no "
			   "cluster map");
	return say(out, cap, "OK epoch=%" PRIu64 " nodes=%u assigned=%u", m->current_epoch,
		   m->nnodes, assigned(m));
}

enum wc_cmap_act wc_cmap_parse(struct wc_cmap_stage **st, const struct wc_cmap_self *self,
			       int argc, char **argv, char *out, size_t cap,
			       struct wc_cmap_built *built)
{
	const char *sub;

	built->map = NULL;
	built->nodes = NULL;
	if (argc < 1)
		return WC_CMAP_NOT_MINE;
	if (strcmp(argv[0], "ID") == 0)
		return cmd_id(self, argc, out, cap);
	if (strcmp(argv[0], "CMAP") != 0)
		return WC_CMAP_NOT_MINE;
	if (argc < 2)
		return fail(st, out, cap, "usage: CMAP BEGIN|NODE|SLOTS|MIGRATING|IMPORTING|COMMIT|"
			    "STATE ...");
	sub = argv[1];
	if (strcmp(sub, "BEGIN") == 0)
		return cmd_begin(st, argc, argv, out, cap);
	if (strcmp(sub, "STATE") == 0)
		return cmd_state(st, self, argc, out, cap);
	if (strcmp(sub, "NODE") != 0 && strcmp(sub, "SLOTS") != 0 && strcmp(sub, "COMMIT") != 0 &&
	    strcmp(sub, "MIGRATING") != 0 && strcmp(sub, "IMPORTING") != 0)
		return fail(st, out, cap, "unknown CMAP subcommand '%.40s' (BEGIN, NODE, SLOTS, "
			    "MIGRATING, IMPORTING, COMMIT, STATE)", sub);
	if (!*st)
		return say(out, cap, "ERR no staged map on this connection (CMAP BEGIN first)");
	if (strcmp(sub, "NODE") == 0)
		return cmd_node(st, self, argc, argv, out, cap);
	if (strcmp(sub, "SLOTS") == 0)
		return cmd_slots(st, argc, argv, out, cap);
	if (strcmp(sub, "MIGRATING") == 0 || strcmp(sub, "IMPORTING") == 0)
		return cmd_moving(st, sub[0] == 'I', argc, argv, out, cap);
	return cmd_commit(st, self, argc, out, cap, built);
}

/* ---- publishing ---- */

/* Without a slot mover: the table in force with nodes's slot -> node side. */
static int publish_nodes_direct(struct wc_app *app, const struct wc_slot_table *nodes)
{
	struct wc_slot_table *old = wc_slot_table_of(app->slot_part);
	struct wc_slot_table *t = wc_slot_table_clone(old);

	if (!t)
		return -1;
	wc_slot_table_copy_nodes(t, nodes);
	t->epoch = old->epoch + 1;
	wc_slot_table_publish(app, t);
	synchronize_rcu();
	wc_slot_table_free(old);
	return 0;
}

int wc_cmap_publish(struct wc_app *app, struct wc_migrator *mig, struct wc_cmap_built *b)
{
	struct rd_cluster_map *old;

	if (app->slot_part) {
		if ((mig ? wc_migrator_set_nodes(mig, b->nodes)
			 : publish_nodes_direct(app, b->nodes)) != 0)
			return -1;
	}
	old = rd_cluster_map_publish(app->rd, b->map);
	b->map = NULL;
	synchronize_rcu();
	rd_cluster_map_free(old);
	return 0;
}

bool wc_cmap_command(struct wc_app *app, struct wc_migrator *mig, struct wc_cmap_stage **st,
		     int argc, char **argv, char *out, size_t cap)
{
	const struct rd_server *srv = app->rd;
	struct wc_cmap_self self = {
		.id = srv ? srv->node_id : NULL,
		.ip = srv ? srv->announce_ip : NULL,
		.port = srv ? srv->announce_port : 0,
		.cport = srv ? srv->cport : 0,
		.mcport = app->cfg.tcp_port,
		.cluster = srv && srv->cluster,
		.mc_read_replicas = app->cfg.mc_read_replicas,
		/* the control thread is the map's only writer: no read-side section needed */
		.published = srv && srv->cluster ? srv->cmap : NULL,
	};
	struct wc_cmap_built b;

	switch (wc_cmap_parse(st, &self, argc, argv, out, cap, &b)) {
	case WC_CMAP_NOT_MINE:
		return false;
	case WC_CMAP_REPLIED:
		return true;
	case WC_CMAP_COMMIT:
		break;
	}
	if (wc_cmap_publish(app, mig, &b) != 0)
		say(out, cap, "ERR out of memory publishing the map (nothing changed)");
	wc_cmap_built_free(&b);
	return true;
}
