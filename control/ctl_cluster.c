/*
 * ctl_cluster.c - `wirecachectl cluster ...`: the cluster's registry and
 * map in etcd (see cmap.h for the layout), read and changed directly in
 * etcd; every change is a transaction on the map key's revision, so two
 * writers can never both win.
 *
 *   cluster create [ID...]   a map of the registered nodes (or these, in this
 *                            order) as masters, slots spread evenly, epoch 1;
 *                            refused when a map exists
 *   cluster info             one row per node, and the epoch
 *   cluster check            every slot on a live node, and every node's
 *                            control plane reporting the map's epoch
 *   cluster add-node ID      a registered node joins as a master with no slots
 *   cluster del-node ID      a node without slots leaves
 *
 * Options (after the subcommand or before it): --etcd URL[,URL...] (or
 * $WIRECACHE_ETCD), --cluster-name NAME [wirecache].
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmap.h"
#include "cpcluster.h"
#include "ctl_cluster.h"
#include "etcd.h"
#include "httpc.h"


struct registry {
	struct cm_node nodes[CM_NODES_MAX];
	int64_t create_rev[CM_NODES_MAX];
	unsigned n;
};

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "wirecachectl cluster: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\nUsage: wirecachectl cluster create [--replicas R] [ID...] | info | check |\n"
		"                    add-node ID [--replica-of MASTER-ID] | del-node ID |\n"
		"                    failover REPLICA-ID [--force|--takeover]\n"
		"                    --etcd URL[,URL...] [--cluster-name NAME]\n"
		"       wirecachectl cluster reshard --from ID --to ID --slots N [--pipeline 1000]\n"
		"                    [--batch 256] [--auth PW] [--netns NAME] --etcd URL...\n"
		"       wirecachectl cluster rebalance [--use-empty-masters] [--weight ID=W]...\n"
		"                    [--pipeline 1000] [--batch 256] [--auth PW] [--netns NAME] "
		"--etcd URL...\n");
	return 2;
}

int ctl_cc_etcd_failed(const struct ctl_cc *c)
{
	fprintf(stderr, "wirecachectl: %s\n", c->etcd.err);
	return 1;
}

/* The registered (live) nodes, in order of registration. 0, or -1 (etcd failed). */
static int read_registry(struct ctl_cc *c, struct registry *reg)
{
	char key[160];
	struct etcd_range r;

	reg->n = 0;
	snprintf(key, sizeof(key), "%snodes/", c->prefix);
	if (etcd_get(&c->etcd, key, true, &r) != 0)
		return -1;
	for (size_t i = 0; i < r.n && reg->n < CM_NODES_MAX; i++) {
		char err[200];
		unsigned k = reg->n;

		if (cm_node_parse(r.kvs[i].value, r.kvs[i].vlen, &reg->nodes[k], err,
				  sizeof(err)) != 0) {
			fprintf(stderr, "wirecachectl: skipping %s: %s\n", r.kvs[i].key, err);
			continue;
		}
		reg->create_rev[k] = r.kvs[i].create_rev;
		/* insertion by create revision: the order they registered in */
		while (k > 0 && reg->create_rev[k - 1] > reg->create_rev[k]) {
			struct cm_node t = reg->nodes[k];
			int64_t tr = reg->create_rev[k];

			reg->nodes[k] = reg->nodes[k - 1];
			reg->create_rev[k] = reg->create_rev[k - 1];
			reg->nodes[k - 1] = t;
			reg->create_rev[k - 1] = tr;
			k--;
		}
		reg->n++;
	}
	etcd_range_free(&r);
	return 0;
}

static int reg_find(const struct registry *reg, const char *id)
{
	for (unsigned i = 0; i < reg->n; i++)
		if (strcmp(reg->nodes[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int etcd_failed(const struct ctl_cc *c)
{
	return ctl_cc_etcd_failed(c);
}

int ctl_cc_read_map(struct ctl_cc *c, struct cm_map *m, int64_t *rev)
{
	char key[160], err[256];
	struct etcd_range r;
	int rc = 1;

	snprintf(key, sizeof(key), "%smap", c->prefix);
	if (etcd_get(&c->etcd, key, false, &r) != 0) {
		etcd_failed(c);
		return -1;
	}
	if (r.n == 0) {
		rc = 0;
	} else if (cm_map_parse(r.kvs[0].value, r.kvs[0].vlen, m, err, sizeof(err)) != 0) {
		fprintf(stderr, "wirecachectl: the map in etcd (%s) is not valid: %s\n", key, err);
		rc = -1;
	} else {
		*rev = r.kvs[0].mod_rev;
	}
	etcd_range_free(&r);
	return rc;
}

/* Write m if the map key is still at rev (0: absent). 0 done, 1 (printed) not. */
static int write_map(struct ctl_cc *c, const struct cm_map *m, int64_t rev)
{
	char key[160], why[256], *text = cm_map_dumps_valid(m, why, sizeof(why));
	struct etcd_cmp cmp = { key, rev ? ETCD_CMP_MOD : ETCD_CMP_CREATE, rev };
	struct etcd_op op = { key, text, text ? strlen(text) : 0, 0 };
	bool ok = false;
	int rc;

	snprintf(key, sizeof(key), "%smap", c->prefix);
	if (!text) {
		fprintf(stderr, "wirecachectl: %s\n", why);
		return 1;
	}
	rc = etcd_txn(&c->etcd, &cmp, 1, &op, 1, &ok);
	free(text);
	if (rc != 0)
		return etcd_failed(c);
	if (!ok) {
		fprintf(stderr, "wirecachectl: the map changed meanwhile (another writer won); "
			"nothing written, try again\n");
		return 1;
	}
	return 0;
}

static void slot_text(const struct cm_map *m, int idx, char *out, size_t n)
{
	struct cm_run runs[64];
	unsigned nr = cm_map_runs(m, runs, 64), w = 0, shown = 0;

	out[0] = 0;
	for (unsigned i = 0; i < nr && i < 64; i++) {
		if (runs[i].node != idx)
			continue;
		if (shown++ == 3) {
			snprintf(out + w, n - w, ",...");
			return;
		}
		w += (unsigned)snprintf(out + w, n - w, "%s%u-%u", w ? "," : "", runs[i].from,
					runs[i].to);
		if (w >= n)
			return;
	}
	if (!shown)
		snprintf(out, n, "-");
}

static void print_map(const struct ctl_cc *c, const struct cm_map *m, const struct registry *reg)
{
	printf("cluster %s: epoch %llu, %u node(s), %u of %u slots assigned\n", c->name,
	       (unsigned long long)m->epoch, m->nnodes, cm_map_assigned(m), CM_SLOTS);
	if (cm_map_open(m))
		printf("slot moves open: %u slot(s) migrating/importing (cluster check lists them)\n",
		       cm_map_open(m));
	printf("%-10s %-21s %-7s %-7s %6s  %-24s %s\n", "id", "address", "mc port", "role", "slots",
	       "ranges", "alive");
	/* in slot order: by each node's first slot, nodes without slots last */
	unsigned order[CM_NODES_MAX], first[CM_NODES_MAX];

	for (unsigned i = 0; i < m->nnodes; i++) {
		first[i] = CM_SLOTS;
		order[i] = i;
	}
	for (unsigned s = CM_SLOTS; s-- > 0;)
		if (m->slot[s] >= 0)
			first[m->slot[s]] = s;
	for (unsigned i = 1; i < m->nnodes; i++)
		for (unsigned k = i; k > 0 && first[order[k - 1]] > first[order[k]]; k--) {
			unsigned t = order[k];

			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	for (unsigned j = 0; j < m->nnodes; j++) {
		unsigned i = order[j];
		const struct cm_node *n = &m->nodes[i];
		char addr[32], ranges[64];

		snprintf(addr, sizeof(addr), "%s:%u", n->ip, n->port);
		slot_text(m, (int)i, ranges, sizeof(ranges));
		printf("%.8s   %-21s %-7u %-7s %6u  %-24s %s\n", n->id, addr, n->mcport,
		       n->replica ? "replica" : "master", cm_map_slots_of(m, (int)i), ranges,
		       reg_find(reg, n->id) >= 0 ? "yes" : "NO");
	}
	for (unsigned i = 0; i < reg->n; i++)
		if (cm_map_find(m, reg->nodes[i].id) < 0)
			printf("registered, not in the map: %s (%s:%u)\n", reg->nodes[i].id,
			       reg->nodes[i].ip, reg->nodes[i].port);
}

static void print_json_doc(const struct cm_map *m, const struct registry *reg)
{
	json_t *o = m ? cm_map_to_json(m) : json_pack("{s:n}", "epoch"), *alive = json_array();

	for (unsigned i = 0; i < reg->n; i++)
		json_array_append_new(alive, json_string(reg->nodes[i].id));
	json_object_set_new(o, "registered", alive);
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(o);
}

/* Registered nodes by address (ip, then port): the testbed's node order. */
static int by_address(const void *a, const void *b)
{
	const struct cm_node *x = a, *y = b;
	struct in_addr ix, iy;
	uint32_t hx = 0, hy = 0;

	if (inet_pton(AF_INET, x->ip, &ix) == 1)
		hx = ntohl(ix.s_addr);
	if (inet_pton(AF_INET, y->ip, &iy) == 1)
		hy = ntohl(iy.s_addr);
	if (hx != hy)
		return hx < hy ? -1 : 1;
	return (int)x->port - (int)y->port;
}

static int cmd_create(struct ctl_cc *c, int argc, char **argv, int replicas)
{
	static struct cm_map m;
	static struct registry reg;
	int64_t rev = 0;
	int rc = ctl_cc_read_map(c, &m, &rev);

	if (rc < 0)
		return 1;
	if (rc == 1) {
		fprintf(stderr, "wirecachectl: cluster %s already has a map (epoch %llu): create "
			"refused (see cluster info)\n", c->name, (unsigned long long)m.epoch);
		return 1;
	}
	if (read_registry(c, &reg) != 0)
		return etcd_failed(c);
	cm_map_init(&m);
	if (argc > 0) {
		for (int i = 0; i < argc; i++) {
			int k = reg_find(&reg, argv[i]);

			if (k < 0) {
				fprintf(stderr, "wirecachectl: node %s is not registered (alive) in "
					"cluster %s\n", argv[i], c->name);
				return 1;
			}
			if (cm_map_add(&m, &reg.nodes[k]) < 0) {
				fprintf(stderr, "wirecachectl: node %s named twice\n", argv[i]);
				return 1;
			}
		}
	} else {
		struct cm_node sorted[CM_NODES_MAX];

		memcpy(sorted, reg.nodes, reg.n * sizeof(sorted[0]));
		if (replicas > 0)
			qsort(sorted, reg.n, sizeof(sorted[0]), by_address);
		for (unsigned i = 0; i < reg.n; i++)
			cm_map_add(&m, &sorted[i]);
	}
	if (m.nnodes == 0) {
		fprintf(stderr, "wirecachectl: no node is registered in cluster %s (is a "
			"wirecache-cp running with --etcd and --cluster-name %s?)\n", c->name, c->name);
		return 1;
	}
	m.epoch = 1;
	for (unsigned i = 0; i < m.nnodes; i++)
		m.nodes[i].config_epoch = 1;
	if (cm_assign_replicas(&m, replicas > 0 ? (unsigned)replicas : 0) != 0) {
		fprintf(stderr, "wirecachectl: %u node(s) do not make masters with %d replica(s) "
			"each (want a multiple of %d)\n", m.nnodes, replicas, replicas + 1);
		return 1;
	}
	cm_split_even(&m);
	if (write_map(c, &m, 0) != 0)
		return 1;
	if (c->json)
		print_json_doc(&m, &reg);
	else
		print_map(c, &m, &reg);
	return 0;
}

static int cmd_info(struct ctl_cc *c)
{
	static struct cm_map m;
	static struct registry reg;
	int64_t rev = 0;
	int rc = ctl_cc_read_map(c, &m, &rev);

	if (rc < 0)
		return 1;
	if (read_registry(c, &reg) != 0)
		return etcd_failed(c);
	if (c->json) {
		print_json_doc(rc ? &m : NULL, &reg);
		return rc ? 0 : 1;
	}
	if (rc == 0) {
		printf("cluster %s: no map yet (wirecachectl cluster create); %u node(s) "
		       "registered\n", c->name, reg.n);
		for (unsigned i = 0; i < reg.n; i++)
			printf("  %s %s:%u (mc %u), control plane %s\n", reg.nodes[i].id,
			       reg.nodes[i].ip, reg.nodes[i].port, reg.nodes[i].mcport,
			       reg.nodes[i].http);
		return 1;
	}
	print_map(c, &m, &reg);
	return 0;
}

/* What node n's control plane says: 0 it runs epoch, 1 (with why) not. */
static int node_check(const struct ctl_cc *c, const struct cm_node *n, uint64_t epoch, char *why,
		      size_t wn)
{
	struct http_target t;
	struct http_resp r;
	char url[96], err[200];
	json_t *o, *de;
	int rc = 1;

	if (!n->http[0]) {
		snprintf(why, wn, "no control plane address in its record");
		return 1;
	}
	snprintf(url, sizeof(url), "http://%s", n->http);
	if (httpc_parse_url(url, &t, err, sizeof(err)) != 0 ||
	    httpc_request(&t, "GET", "/api/cluster", NULL, NULL, c->timeout_ms, &r, err,
			  sizeof(err)) != 0) {
		snprintf(why, wn, "control plane %s: %s", n->http, err);
		return 1;
	}
	o = json_loadb(r.body, r.len, 0, NULL);
	de = json_object_get(o, "dataplane_epoch");
	if (r.status != 200 || !o) {
		snprintf(why, wn, "control plane %s: HTTP %d", n->http, r.status);
	} else if (strcmp(json_string_value(json_object_get(o, "id")) ?
			  json_string_value(json_object_get(o, "id")) : "", n->id) != 0) {
		snprintf(why, wn, "control plane %s serves another node (%.40s)", n->http,
			 json_string_value(json_object_get(o, "id")) ?
			 json_string_value(json_object_get(o, "id")) : "none yet");
	} else if (!json_is_integer(de)) {
		const char *pe = json_string_value(json_object_get(o, "push_error"));

		snprintf(why, wn, "its dataplane runs no map yet%s%.160s", pe ? ": " : "",
			 pe ? pe : "");
	} else if ((uint64_t)json_integer_value(de) != epoch) {
		snprintf(why, wn, "its dataplane runs epoch %lld, not %llu",
			 (long long)json_integer_value(de), (unsigned long long)epoch);
	} else {
		snprintf(why, wn, "runs epoch %llu%s", (unsigned long long)epoch,
			 json_is_false(json_object_get(o, "etcd")) ? " (but it lost etcd)" : "");
		rc = 0;
	}
	json_decref(o);
	http_resp_free(&r);
	return rc;
}

/* Open slots (a move left unfinished), by source and target. */
static void print_open(const struct cm_map *m)
{
	struct cm_move_run *r = malloc(CM_SLOTS * sizeof(*r));
	unsigned n;

	printf("  [FAIL] %u slot(s) open (migrating/importing: a slot move not finished)\n",
	       cm_map_open(m));
	if (!r)
		return;
	for (int w = 0; w < 2; w++) {
		n = cm_map_move_runs(m, w ? 'I' : 'M', r, CM_SLOTS);
		for (unsigned i = 0; i < n && i < 20; i++)
			printf("         slots %u-%u %s: %.8s %s %.8s\n", r[i].from, r[i].to,
			       w ? "importing" : "migrating", m->nodes[r[i].a].id,
			       w ? "from" : "to", m->nodes[r[i].b].id);
		if (n > 20)
			printf("         ... %u more %s ranges\n", n - 20, w ? "importing" : "migrating");
	}
	printf("         finish with: wirecachectl cluster reshard --from SRC --to DST (it resumes "
	       "open slots)\n");
	free(r);
}

static int cmd_check(struct ctl_cc *c)
{
	static struct cm_map m;
	static struct registry reg;
	int64_t rev = 0;
	unsigned bad = 0, unassigned, dead_slots = 0, open;
	int rc = ctl_cc_read_map(c, &m, &rev);
	json_t *out = json_array();

	if (rc <= 0) {
		if (rc == 0)
			fprintf(stderr, "wirecachectl: cluster %s has no map (wirecachectl cluster "
				"create)\n", c->name);
		json_decref(out);
		return 1;
	}
	if (read_registry(c, &reg) != 0) {
		json_decref(out);
		return etcd_failed(c);
	}
	unassigned = CM_SLOTS - cm_map_assigned(&m);
	open = cm_map_open(&m);
	for (unsigned s = 0; s < CM_SLOTS; s++)
		dead_slots += m.slot[s] >= 0 && reg_find(&reg, m.nodes[m.slot[s]].id) < 0;
	if (!c->json)
		printf("cluster %s: map epoch %llu, %u node(s)\n", c->name,
		       (unsigned long long)m.epoch, m.nnodes);
	for (unsigned i = 0; i < m.nnodes; i++) {
		char why[300];
		bool alive = reg_find(&reg, m.nodes[i].id) >= 0;
		int r = alive ? node_check(c, &m.nodes[i], m.epoch, why, sizeof(why)) : 1;

		if (!alive)
			snprintf(why, sizeof(why), "not registered: its control plane is gone");
		bad += r != 0;
		if (c->json)
			json_array_append_new(out, json_pack("{s:s,s:b,s:b,s:s}", "id", m.nodes[i].id,
							     "alive", alive, "ok", r == 0, "detail",
							     why));
		else
			printf("  %s %.8s %s:%u: %s\n", r == 0 ? "[OK]  " : "[FAIL]", m.nodes[i].id,
			       m.nodes[i].ip, m.nodes[i].port, why);
	}
	if (c->json) {
		json_t *o = json_pack("{s:I,s:i,s:i,s:i,s:o,s:b}", "epoch", (json_int_t)m.epoch,
				      "unassigned_slots", (int)unassigned, "slots_on_dead_nodes",
				      (int)dead_slots, "open_slots", (int)open, "nodes", out,
				      "ok", !bad && !unassigned && !dead_slots && !open);

		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		json_decref(out);
		if (unassigned)
			printf("  [FAIL] %u slot(s) not assigned\n", unassigned);
		if (dead_slots)
			printf("  [FAIL] %u slot(s) on nodes that are not alive\n", dead_slots);
		if (open)
			print_open(&m);
		printf("%s\n", !bad && !unassigned && !dead_slots && !open
				       ? "[OK] all 16384 slots covered, every dataplane runs the map"
				       : "check FAILED");
	}
	return !bad && !unassigned && !dead_slots && !open ? 0 : 1;
}

static int cmd_add_del(struct ctl_cc *c, bool add, const char *id, const char *master_id)
{
	static struct cm_map m;
	static struct registry reg;
	int64_t rev = 0;
	int rc = ctl_cc_read_map(c, &m, &rev), k;

	if (!cm_valid_id(id))
		return usage("'%s' is not a node id (40 hex digits)", id);
	if (rc <= 0) {
		if (rc == 0)
			fprintf(stderr, "wirecachectl: cluster %s has no map (wirecachectl cluster "
				"create)\n", c->name);
		return 1;
	}
	if (add) {
		if (read_registry(c, &reg) != 0)
			return etcd_failed(c);
		if ((k = reg_find(&reg, id)) < 0) {
			fprintf(stderr, "wirecachectl: node %s is not registered (alive) in cluster "
				"%s\n", id, c->name);
			return 1;
		}
		if (cm_map_find(&m, id) >= 0) {
			fprintf(stderr, "wirecachectl: node %s is in the map already\n", id);
			return 1;
		}
		reg.nodes[k].config_epoch = m.epoch + 1;
		reg.nodes[k].replica = false;
		reg.nodes[k].master[0] = 0;
		if (master_id) {
			int mi = cm_map_find(&m, master_id);

			if (mi < 0 || m.nodes[mi].replica) {
				fprintf(stderr, "wirecachectl: --replica-of %s: not a master in the "
					"map\n", master_id);
				return 1;
			}
			reg.nodes[k].replica = true;
			snprintf(reg.nodes[k].master, sizeof(reg.nodes[k].master), "%s",
				 m.nodes[mi].id);
			reg.nodes[k].config_epoch = m.nodes[mi].config_epoch;
		}
		if (cm_map_add(&m, &reg.nodes[k]) < 0) {
			fprintf(stderr, "wirecachectl: the map is full (%d nodes)\n", CM_NODES_MAX);
			return 1;
		}
	} else {
		if ((k = cm_map_find(&m, id)) < 0) {
			fprintf(stderr, "wirecachectl: node %s is not in the map\n", id);
			return 1;
		}
		if (cm_map_slots_of(&m, k)) {
			fprintf(stderr, "wirecachectl: node %s still serves %u slot(s): move them "
				"first; del-node refused\n", id, cm_map_slots_of(&m, k));
			return 1;
		}
		if (cm_map_in_move(&m, k)) {
			fprintf(stderr, "wirecachectl: node %s is in a slot move (migrating/importing "
				"slots): finish it first (cluster reshard); del-node refused\n", id);
			return 1;
		}
		cm_map_remove(&m, id);
	}
	m.epoch++;
	if (write_map(c, &m, rev) != 0)
		return 1;
	if (c->json) {
		print_json_doc(&m, &reg);
	} else {
		printf("node %s %s the map%s%s: epoch %llu\n", id, add ? "joined" : "left",
		       master_id ? " as a replica of " : "", master_id ? master_id : "",
		       (unsigned long long)m.epoch);
	}
	return 0;
}

/*
 * failover ID [--force|--takeover]: replica ID's control plane (its address
 * from its registration) makes the failover (POST /api/cluster/failover).
 */
static int cmd_failover(struct ctl_cc *c, const char *id, const char *mode)
{
	static struct registry reg;
	struct http_target t;
	struct http_resp r;
	char url[96], err[200], body[64];
	int k;
	json_t *o;

	if (!cm_valid_id(id))
		return usage("'%s' is not a node id (40 hex digits)", id);
	if (read_registry(c, &reg) != 0)
		return etcd_failed(c);
	if ((k = reg_find(&reg, id)) < 0 || !reg.nodes[k].http[0]) {
		fprintf(stderr, "wirecachectl: node %s is not registered (alive) in cluster %s\n", id,
			c->name);
		return 1;
	}
	snprintf(url, sizeof(url), "http://%s", reg.nodes[k].http);
	snprintf(body, sizeof(body), "{\"mode\":\"%s\"}", mode);
	if (httpc_parse_url(url, &t, err, sizeof(err)) != 0 ||
	    httpc_request(&t, "POST", "/api/cluster/failover", getenv("WIRECACHE_TOKEN"), body,
			  c->timeout_ms > 15000 ? c->timeout_ms : 15000, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "wirecachectl: control plane %s: %s\n", reg.nodes[k].http, err);
		return 1;
	}
	o = json_loadb(r.body, r.len, 0, NULL);
	if (r.status != 200) {
		const char *e = json_string_value(json_object_get(o, "error"));

		fprintf(stderr, "wirecachectl: failover refused: %s\n", e ? e : r.body);
		json_decref(o);
		http_resp_free(&r);
		return 1;
	}
	if (c->json)
		printf("%s\n", r.body);
	else
		printf("node %s is master now: epoch %lld\n", id,
		       (long long)json_integer_value(json_object_get(o, "epoch")));
	json_decref(o);
	http_resp_free(&r);
	return 0;
}

int ctl_cluster_main(int argc, char **argv, bool json, unsigned timeout_ms)
{
	static struct ctl_cc c;
	const char *etcd = getenv("WIRECACHE_ETCD"), *name = "wirecache", *sub = NULL;
	const char *replica_of = NULL, *fo_mode = "";
	char *args[CM_NODES_MAX + 1];
	int nargs = 0, rc, replicas = 0;

	c.json = json;
	c.timeout_ms = timeout_ms;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--etcd") == 0 || strcmp(argv[i], "--cluster-name") == 0) {
			if (i + 1 >= argc)
				return usage("option %s needs a value", argv[i]);
			if (argv[i][2] == 'e')
				etcd = argv[++i];
			else
				name = argv[++i];
		} else if (strcmp(argv[i], "--json") == 0) {
			c.json = true;
		} else if (sub && strcmp(sub, "create") == 0 && strcmp(argv[i], "--replicas") == 0) {
			char *end;
			long r = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;

			if (i + 1 >= argc || *end || r < 0 || r >= CM_NODES_MAX)
				return usage("--replicas wants 0..%s", "127");
			replicas = (int)r;
			i++;
		} else if (sub && strcmp(sub, "failover") == 0 &&
			   (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "--takeover") == 0)) {
			fo_mode = argv[i][2] == 'f' ? "FORCE" : "TAKEOVER";
		} else if (sub && strcmp(sub, "add-node") == 0 && strcmp(argv[i], "--replica-of") == 0) {
			if (i + 1 >= argc || !cm_valid_id(argv[i + 1]))
				return usage("--replica-of wants a master's node id (40 hex digits)%s",
					     "");
			replica_of = argv[++i];
		} else if (sub && (strcmp(sub, "reshard") == 0 || strcmp(sub, "rebalance") == 0)) {
			/* their own options and values, parsed by ctl_reshard.c */
			if (nargs == CM_NODES_MAX)
				return usage("too many arguments%s", "");
			args[nargs++] = argv[i];
		} else if (argv[i][0] == '-') {
			return usage("unknown option '%s'", argv[i]);
		} else if (!sub) {
			sub = argv[i];
		} else if (nargs < CM_NODES_MAX) {
			args[nargs++] = argv[i];
		} else {
			return usage("too many arguments%s", "");
		}
	}
	if (!sub)
		return usage("which subcommand? (%s)", "create, info, check, add-node, del-node, "
			     "failover, reshard, rebalance");
	if (!etcd)
		return usage("where is etcd? (--etcd URL[,URL...] or $WIRECACHE_ETCD)%s", "");
	if (cp_cluster_prefix(name, c.prefix, sizeof(c.prefix)) != 0)
		return usage("--cluster-name '%s': want 1..63 of a-z A-Z 0-9 - _ .", name);
	snprintf(c.name, sizeof(c.name), "%s", name);
	if (etcd_init(&c.etcd, etcd, timeout_ms) != 0)
		return usage("--etcd: %s", c.etcd.err);
	if (strcmp(sub, "create") == 0)
		rc = cmd_create(&c, nargs, args, replicas);
	else if (strcmp(sub, "info") == 0 && nargs == 0)
		rc = cmd_info(&c);
	else if (strcmp(sub, "check") == 0 && nargs == 0)
		rc = cmd_check(&c);
	else if (strcmp(sub, "reshard") == 0 || strcmp(sub, "rebalance") == 0)
		rc = ctl_reshard_main(&c, sub[2] == 'b', nargs, args);
	else if (strcmp(sub, "failover") == 0 && nargs == 1)
		rc = cmd_failover(&c, args[0], fo_mode);
	else if ((strcmp(sub, "add-node") == 0 || strcmp(sub, "del-node") == 0) && nargs == 1)
		rc = cmd_add_del(&c, sub[0] == 'a', args[0], sub[0] == 'a' ? replica_of : NULL);
	else if (strcmp(sub, "info") == 0 || strcmp(sub, "check") == 0 ||
		 strcmp(sub, "add-node") == 0 || strcmp(sub, "del-node") == 0 ||
		 strcmp(sub, "failover") == 0)
		rc = usage("wrong arguments for %s", sub);
	else
		rc = usage("unknown subcommand '%s' (create, info, check, add-node, del-node, failover, "
			   "reshard, rebalance)", sub);
	etcd_free(&c.etcd);
	return rc;
}
