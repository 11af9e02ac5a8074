/*
 * cmap.c - the cluster map's JSON, even split, runs and I1 lines (see cmap.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmap.h"

bool cm_valid_id(const char *id)
{
	if (!id || strlen(id) != CM_ID_LEN)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int port_of(const json_t *o, const char *key, unsigned *out, bool zero_ok)
{
	const json_t *v = json_object_get(o, key);
	json_int_t x;

	if (!json_is_integer(v))
		return -1;
	x = json_integer_value(v);
	if (x < (zero_ok ? 0 : 1) || x > 65535)
		return -1;
	*out = (unsigned)x;
	return 0;
}

int cm_node_from_json(const json_t *o, struct cm_node *n, char *err, size_t errlen)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *ip = json_string_value(json_object_get(o, "ip"));
	const char *http = json_string_value(json_object_get(o, "http"));
	const char *role = json_string_value(json_object_get(o, "role"));
	const json_t *master = json_object_get(o, "master"), *ce = json_object_get(o, "config_epoch");
	struct in_addr a;

	memset(n, 0, sizeof(*n));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "a node record is not a JSON object");
		return -1;
	}
	if (!cm_valid_id(id)) {
		snprintf(err, errlen, "node id '%.60s' is not 40 lowercase hex digits", id ? id : "");
		return -1;
	}
	strcpy(n->id, id);
	if (!ip || strlen(ip) >= sizeof(n->ip) || inet_pton(AF_INET, ip, &a) != 1) {
		snprintf(err, errlen, "node %.8s: ip '%.60s' is not an IPv4 address", id,
			 ip ? ip : "");
		return -1;
	}
	strcpy(n->ip, ip);
	if (port_of(o, "port", &n->port, false) || port_of(o, "cport", &n->cport, false) ||
	    port_of(o, "mcport", &n->mcport, true)) {
		snprintf(err, errlen, "node %.8s: port, cport and mcport want 1..65535 (mcport 0: "
			 "none)", id);
		return -1;
	}
	if (http && strlen(http) >= sizeof(n->http)) {
		snprintf(err, errlen, "node %.8s: http address too long", id);
		return -1;
	}
	snprintf(n->http, sizeof(n->http), "%s", http ? http : "");
	if (role && strcmp(role, "replica") == 0) {
		n->replica = true;
		if (!cm_valid_id(json_string_value(master))) {
			snprintf(err, errlen, "node %.8s: a replica wants its master's id", id);
			return -1;
		}
		strcpy(n->master, json_string_value(master));
	} else if (role && strcmp(role, "master") == 0) {
		if (master && !json_is_null(master)) {
			snprintf(err, errlen, "node %.8s: a master has \"master\": null", id);
			return -1;
		}
	} else {
		snprintf(err, errlen, "node %.8s: role wants \"master\" or \"replica\"", id);
		return -1;
	}
	if (ce) {
		if (!json_is_integer(ce) || json_integer_value(ce) < 0) {
			snprintf(err, errlen, "node %.8s: config_epoch wants a whole number", id);
			return -1;
		}
		n->config_epoch = (uint64_t)json_integer_value(ce);
	}
	return 0;
}

json_t *cm_node_to_json(const struct cm_node *n, bool with_epoch)
{
	json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:o}", "id", n->id, "ip", n->ip, "port",
			      (int)n->port, "cport", (int)n->cport, "mcport", (int)n->mcport,
			      "http", n->http, "role", n->replica ? "replica" : "master", "master",
			      n->replica ? json_string(n->master) : json_null());

	if (o && with_epoch)
		json_object_set_new(o, "config_epoch", json_integer((json_int_t)n->config_epoch));
	return o;
}

int cm_node_parse(const char *text, size_t len, struct cm_node *n, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	int rc;

	if (!o) {
		snprintf(err, errlen, "a node record that is not JSON: %s", je.text);
		return -1;
	}
	rc = cm_node_from_json(o, n, err, errlen);
	json_decref(o);
	return rc;
}

char *cm_node_dumps(const struct cm_node *n)
{
	json_t *o = cm_node_to_json(n, false);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

/* ---- the map ---- */

void cm_map_init(struct cm_map *m)
{
	m->epoch = 0;
	m->nnodes = 0;
	for (unsigned s = 0; s < CM_SLOTS; s++)
		m->slot[s] = -1;
}

int cm_map_find(const struct cm_map *m, const char *id)
{
	for (unsigned i = 0; i < m->nnodes; i++)
		if (strcmp(m->nodes[i].id, id) == 0)
			return (int)i;
	return -1;
}

int cm_map_add(struct cm_map *m, const struct cm_node *n)
{
	if (m->nnodes >= CM_NODES_MAX || cm_map_find(m, n->id) >= 0)
		return -1;
	m->nodes[m->nnodes] = *n;
	return (int)m->nnodes++;
}

int cm_map_remove(struct cm_map *m, const char *id)
{
	int idx = cm_map_find(m, id);

	if (idx < 0 || cm_map_slots_of(m, idx) != 0)
		return -1;
	memmove(&m->nodes[idx], &m->nodes[idx + 1],
		(m->nnodes - (unsigned)idx - 1) * sizeof(m->nodes[0]));
	m->nnodes--;
	for (unsigned s = 0; s < CM_SLOTS; s++)
		if (m->slot[s] > idx)
			m->slot[s]--;
	return 0;
}

unsigned cm_map_slots_of(const struct cm_map *m, int idx)
{
	unsigned n = 0;

	for (unsigned s = 0; s < CM_SLOTS; s++)
		n += m->slot[s] == idx;
	return n;
}

unsigned cm_map_assigned(const struct cm_map *m)
{
	unsigned n = 0;

	for (unsigned s = 0; s < CM_SLOTS; s++)
		n += m->slot[s] >= 0;
	return n;
}

void cm_split_even(struct cm_map *m)
{
	unsigned n = m->nnodes;

	for (unsigned s = 0; s < CM_SLOTS; s++)
		m->slot[s] = -1;
	if (n == 0)
		return;
	/* S/n slots each, and one more for the first S%n nodes */
	for (unsigned i = 0, from = 0; i < n; i++) {
		unsigned to = from + CM_SLOTS / n + (i < CM_SLOTS % n);

		for (unsigned s = from; s < to; s++)
			m->slot[s] = (int16_t)i;
		from = to;
	}
}

unsigned cm_map_runs(const struct cm_map *m, struct cm_run *out, unsigned max)
{
	unsigned n = 0;
	struct cm_run cur = { 0, 0, -1 };

	for (unsigned s = 0; s < CM_SLOTS; s++) {
		if (n && cur.node == m->slot[s]) {
			cur.to = s;
		} else {
			cur = (struct cm_run){ s, s, m->slot[s] };
			n++;
		}
		if (n <= max)
			out[n - 1] = cur;
	}
	return n;
}

json_t *cm_map_to_json(const struct cm_map *m)
{
	json_t *nodes = json_object(), *slots = json_array();
	struct cm_run *runs = malloc(CM_SLOTS * sizeof(*runs));
	unsigned nr;

	if (!runs) {
		json_decref(nodes);
		json_decref(slots);
		return NULL;
	}
	for (unsigned i = 0; i < m->nnodes; i++)
		json_object_set_new(nodes, m->nodes[i].id, cm_node_to_json(&m->nodes[i], true));
	nr = cm_map_runs(m, runs, CM_SLOTS);
	for (unsigned i = 0; i < nr; i++)
		if (runs[i].node >= 0)
			json_array_append_new(slots, json_pack("[i,i,s]", (int)runs[i].from,
							       (int)runs[i].to,
							       m->nodes[runs[i].node].id));
	free(runs);
	return json_pack("{s:I,s:o,s:o}", "epoch", (json_int_t)m->epoch, "nodes", nodes, "slots",
			 slots);
}

char *cm_map_dumps(const struct cm_map *m)
{
	json_t *o = cm_map_to_json(m);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return s;
}

int cm_map_parse(const char *text, size_t len, struct cm_map *m, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je), *nodes, *slots, *v, *r;
	const char *key;
	size_t i;

	cm_map_init(m);
	if (!o) {
		snprintf(err, errlen, "the map is not JSON: %s", je.text);
		return -1;
	}
	v = json_object_get(o, "epoch");
	nodes = json_object_get(o, "nodes");
	slots = json_object_get(o, "slots");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || !json_is_object(nodes) ||
	    !json_is_array(slots)) {
		snprintf(err, errlen, "the map wants {\"epoch\": N, \"nodes\": {...}, \"slots\": [...]}");
		goto fail;
	}
	m->epoch = (uint64_t)json_integer_value(v);
	if (json_object_size(nodes) > CM_NODES_MAX) {
		snprintf(err, errlen, "the map has %zu nodes, at most %d", json_object_size(nodes),
			 CM_NODES_MAX);
		goto fail;
	}
	json_object_foreach(nodes, key, v) {
		struct cm_node n;

		if (cm_node_from_json(v, &n, err, errlen) != 0)
			goto fail;
		if (strcmp(key, n.id) != 0) {
			snprintf(err, errlen, "the map's node %.40s has id %s", key, n.id);
			goto fail;
		}
		if (cm_map_add(m, &n) < 0) {
			snprintf(err, errlen, "node %s twice in the map", n.id);
			goto fail;
		}
	}
	for (unsigned k = 0; k < m->nnodes; k++)
		if (m->nodes[k].replica && cm_map_find(m, m->nodes[k].master) < 0) {
			snprintf(err, errlen, "replica %.8s of a master not in the map",
				 m->nodes[k].id);
			goto fail;
		}
	json_array_foreach(slots, i, r) {
		json_t *f = json_array_get(r, 0), *t = json_array_get(r, 1);
		const char *id = json_string_value(json_array_get(r, 2));
		json_int_t from, to;
		int idx;

		if (json_array_size(r) != 3 || !json_is_integer(f) || !json_is_integer(t) || !id) {
			snprintf(err, errlen, "slot range %zu is not [from, to, id]", i);
			goto fail;
		}
		from = json_integer_value(f);
		to = json_integer_value(t);
		if (from < 0 || to >= CM_SLOTS || from > to) {
			snprintf(err, errlen, "slot range %lld-%lld is outside 0-16383 or reversed",
				 (long long)from, (long long)to);
			goto fail;
		}
		if ((idx = cm_map_find(m, id)) < 0) {
			snprintf(err, errlen, "slots %lld-%lld belong to %.40s, not in the map",
				 (long long)from, (long long)to, id);
			goto fail;
		}
		for (json_int_t s = from; s <= to; s++) {
			if (m->slot[s] >= 0) {
				snprintf(err, errlen, "slot %lld is in two ranges", (long long)s);
				goto fail;
			}
			m->slot[s] = (int16_t)idx;
		}
	}
	json_decref(o);
	return 0;
fail:
	json_decref(o);
	cm_map_init(m);
	return -1;
}

int cm_map_lines(const struct cm_map *m, const char *myself,
		 void (*emit)(void *arg, const char *line), void *arg)
{
	struct cm_run *runs;
	char line[256];
	unsigned nr;
	int n = 0;

	if (cm_map_find(m, myself) < 0)
		return -1;
	if (!(runs = malloc(CM_SLOTS * sizeof(*runs))))
		return -1;
	snprintf(line, sizeof(line), "CMAP BEGIN %llu", (unsigned long long)m->epoch);
	emit(arg, line), n++;
	for (unsigned i = 0; i < m->nnodes; i++) {
		const struct cm_node *x = &m->nodes[i];

		snprintf(line, sizeof(line), "CMAP NODE %s %s %u %u %s %llu %s%s mc=%u", x->id, x->ip,
			 x->port, x->cport, x->replica ? "replica" : "master",
			 (unsigned long long)x->config_epoch, x->replica ? x->master : "-",
			 strcmp(x->id, myself) == 0 ? " myself" : "", x->mcport);
		emit(arg, line), n++;
	}
	nr = cm_map_runs(m, runs, CM_SLOTS);
	for (unsigned i = 0; i < nr; i++) {
		if (runs[i].node < 0)
			continue;
		snprintf(line, sizeof(line), "CMAP SLOTS %u %u %s", runs[i].from, runs[i].to,
			 m->nodes[runs[i].node].id);
		emit(arg, line), n++;
	}
	free(runs);
	emit(arg, "CMAP COMMIT"), n++;
	return n;
}
