/*
 * cmap.c - the cluster map's JSON, even split, runs, SETSLOT and I1 lines
 * (see cmap.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
		m->slot[s] = m->mig_src[s] = m->mig_dst[s] = m->imp_dst[s] = m->imp_src[s] = -1;
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

	if (idx < 0 || cm_map_slots_of(m, idx) != 0 || cm_map_in_move(m, idx))
		return -1;
	memmove(&m->nodes[idx], &m->nodes[idx + 1],
		(m->nnodes - (unsigned)idx - 1) * sizeof(m->nodes[0]));
	m->nnodes--;
	for (unsigned s = 0; s < CM_SLOTS; s++) {
		int16_t *a[] = { &m->slot[s], &m->mig_src[s], &m->mig_dst[s], &m->imp_dst[s],
				 &m->imp_src[s] };

		for (unsigned k = 0; k < 5; k++)
			if (*a[k] > idx)
				(*a[k])--;
	}
	return 0;
}

bool cm_map_in_move(const struct cm_map *m, int idx)
{
	for (unsigned s = 0; s < CM_SLOTS; s++)
		if (m->mig_src[s] == idx || m->mig_dst[s] == idx || m->imp_dst[s] == idx ||
		    m->imp_src[s] == idx)
			return true;
	return false;
}

unsigned cm_map_open(const struct cm_map *m)
{
	unsigned n = 0;

	for (unsigned s = 0; s < CM_SLOTS; s++)
		n += m->mig_src[s] >= 0 || m->imp_dst[s] >= 0;
	return n;
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
	unsigned masters[CM_NODES_MAX], n = 0;

	for (unsigned s = 0; s < CM_SLOTS; s++)
		m->slot[s] = -1;
	for (unsigned i = 0; i < m->nnodes; i++)
		if (!m->nodes[i].replica)
			masters[n++] = i;
	if (n == 0)
		return;
	/* S/n slots each, and one more for the first S%n masters */
	for (unsigned i = 0, from = 0; i < n; i++) {
		unsigned to = from + CM_SLOTS / n + (i < CM_SLOTS % n);

		for (unsigned s = from; s < to; s++)
			m->slot[s] = (int16_t)masters[i];
		from = to;
	}
}

int cm_assign_replicas(struct cm_map *m, unsigned replicas)
{
	unsigned n = m->nnodes, nm;

	if (replicas == 0) {
		for (unsigned i = 0; i < n; i++) {
			m->nodes[i].replica = false;
			m->nodes[i].master[0] = 0;
		}
		return 0;
	}
	nm = n / (replicas + 1);
	if (nm == 0 || nm * (replicas + 1) != n)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct cm_node *x = &m->nodes[i];

		x->replica = i >= nm;
		if (x->replica)
			snprintf(x->master, sizeof(x->master), "%s", m->nodes[(i - nm) % nm].id);
		else
			x->master[0] = 0;
	}
	return 0;
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

unsigned cm_map_move_runs(const struct cm_map *m, char which, struct cm_move_run *out,
			  unsigned max)
{
	const int16_t *a = which == 'M' ? m->mig_src : m->imp_dst;
	const int16_t *b = which == 'M' ? m->mig_dst : m->imp_src;
	struct cm_move_run cur = { 0, 0, -1, -1 };
	unsigned n = 0;

	for (unsigned s = 0; s < CM_SLOTS; s++) {
		if (a[s] < 0 || b[s] < 0)
			continue;
		if (n && cur.a == a[s] && cur.b == b[s] && cur.to + 1 == s) {
			cur.to = s;
		} else {
			cur = (struct cm_move_run){ s, s, a[s], b[s] };
			n++;
		}
		if (n <= max)
			out[n - 1] = cur;
	}
	return n;
}

/* ---- CLUSTER SETSLOT ---- */

int cm_setslot_op_parse(const char *word, enum cm_setslot_op *op)
{
	static const char *const names[] = { "MIGRATING", "IMPORTING", "STABLE", "NODE" };

	for (unsigned i = 0; i < 4; i++)
		if (strcasecmp(word, names[i]) == 0) {
			*op = (enum cm_setslot_op)i;
			return 0;
		}
	return -1;
}

/* A node named by a SETSLOT: its index, or -1 with Redis's text in err. */
static int target(const struct cm_map *m, const char *id, const char *unknown, char *err,
		  size_t errlen)
{
	int idx = id ? cm_map_find(m, id) : -1;

	if (idx < 0) {
		snprintf(err, errlen, unknown, id ? id : "");
		return -1;
	}
	if (m->nodes[idx].replica) {
		snprintf(err, errlen, "ERR Target node is not a master");
		return -1;
	}
	return idx;
}

/* One slot: 1 changed (or would, with dry), 0 nothing to do, -1 refused. */
static int setslot_one(struct cm_map *m, int me, unsigned s, enum cm_setslot_op op,
		       const char *id, uint64_t new_epoch, bool dry, char *err, size_t errlen)
{
	int t;

	switch (op) {
	case CM_SETSLOT_MIGRATING:
		if (me < 0 || m->slot[s] != me) {
			snprintf(err, errlen, "ERR I'm not the owner of hash slot %u", s);
			return -1;
		}
		if ((t = target(m, id, "ERR I don't know about node %s", err, errlen)) < 0)
			return -1;
		if (t == me) {
			/* Redis keeps such a state; the map can not hold it (a move to itself) */
			snprintf(err, errlen, "ERR Can't migrate hash slot %u to myself", s);
			return -1;
		}
		if (m->mig_src[s] == me && m->mig_dst[s] == t)
			return 0;
		if (!dry)
			m->mig_src[s] = (int16_t)me, m->mig_dst[s] = (int16_t)t;
		return 1;
	case CM_SETSLOT_IMPORTING:
		if (me >= 0 && m->slot[s] == me) {
			snprintf(err, errlen, "ERR I'm already the owner of hash slot %u", s);
			return -1;
		}
		if (me < 0) {
			/* a node outside the map has no entries to hold (Redis always knows itself) */
			snprintf(err, errlen, "ERR I don't know about node %s", id ? id : "");
			return -1;
		}
		if ((t = target(m, id, "ERR I don't know about node %s", err, errlen)) < 0)
			return -1;
		if (t == me) {
			snprintf(err, errlen, "ERR Can't import hash slot %u from myself", s);
			return -1;
		}
		if (m->imp_dst[s] == me && m->imp_src[s] == t)
			return 0;
		if (!dry)
			m->imp_dst[s] = (int16_t)me, m->imp_src[s] = (int16_t)t;
		return 1;
	case CM_SETSLOT_STABLE: {
		bool mig = me >= 0 && m->mig_src[s] == me, imp = me >= 0 && m->imp_dst[s] == me;

		if (!mig && !imp)
			return 0;
		if (!dry) {
			if (mig)
				m->mig_src[s] = m->mig_dst[s] = -1;
			if (imp)
				m->imp_dst[s] = m->imp_src[s] = -1;
		}
		return 1;
	}
	case CM_SETSLOT_NODE:
		if ((t = target(m, id, "ERR Unknown node %s", err, errlen)) < 0)
			return -1;
		if (m->slot[s] == t && m->mig_src[s] < 0 && m->imp_dst[s] < 0)
			return 0;
		if (!dry) {
			m->slot[s] = (int16_t)t;
			m->mig_src[s] = m->mig_dst[s] = m->imp_dst[s] = m->imp_src[s] = -1;
			m->nodes[t].config_epoch = new_epoch;
		}
		return 1;
	}
	snprintf(err, errlen, "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try "
		 "CLUSTER HELP");
	return -1;
}

int cm_setslot_many(struct cm_map *m, const char *myself, const uint8_t *slots,
		    enum cm_setslot_op op, const char *id, uint64_t new_epoch, char *err,
		    size_t errlen)
{
	int me = myself ? cm_map_find(m, myself) : -1, n = 0;

	/* every slot is checked alone (one slot's change never decides another's) */
	for (unsigned s = 0; s < CM_SLOTS; s++)
		if ((slots[s / 8] >> (s % 8) & 1) &&
		    setslot_one(m, me, s, op, id, new_epoch, true, err, errlen) < 0)
			return -1;
	for (unsigned s = 0; s < CM_SLOTS; s++)
		if (slots[s / 8] >> (s % 8) & 1)
			n += setslot_one(m, me, s, op, id, new_epoch, false, err, errlen) > 0;
	return n;
}

int cm_setslot(struct cm_map *m, const char *myself, unsigned slot, enum cm_setslot_op op,
	       const char *id, char *err, size_t errlen)
{
	int rc;

	if (slot >= CM_SLOTS) {
		snprintf(err, errlen, "ERR Invalid or out of range slot");
		return -1;
	}
	rc = setslot_one(m, myself ? cm_map_find(m, myself) : -1, slot, op, id, m->epoch + 1,
			 false, err, errlen);
	if (rc > 0)
		m->epoch++;
	return rc;
}

/* "migrating"/"importing" as [[from,to,a-id,b-id],...], left out when empty. */
static int moves(const struct cm_map *m, char which, json_t *o, const char *key)
{
	struct cm_move_run *runs = malloc(CM_SLOTS * sizeof(*runs));
	unsigned nr;
	json_t *a;

	if (!runs)
		return -1;
	nr = cm_map_move_runs(m, which, runs, CM_SLOTS);
	if (nr) {
		a = json_array();
		for (unsigned i = 0; i < nr; i++)
			json_array_append_new(a, json_pack("[i,i,s,s]", (int)runs[i].from,
							   (int)runs[i].to,
							   m->nodes[runs[i].a].id,
							   m->nodes[runs[i].b].id));
		json_object_set_new(o, key, a);
	}
	free(runs);
	return 0;
}

json_t *cm_map_to_json(const struct cm_map *m)
{
	json_t *o, *nodes = json_object(), *slots = json_array();
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
	o = json_pack("{s:I,s:o,s:o}", "epoch", (json_int_t)m->epoch, "nodes", nodes, "slots",
		      slots);
	if (o && (moves(m, 'M', o, "migrating") != 0 || moves(m, 'I', o, "importing") != 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *cm_map_dumps(const struct cm_map *m)
{
	json_t *o = cm_map_to_json(m);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return s;
}

char *cm_map_dumps_valid(const struct cm_map *m, char *err, size_t errlen)
{
	char *text = cm_map_dumps(m), why[200];
	struct cm_map *back = malloc(sizeof(*back));

	if (!text || !back) {
		snprintf(err, errlen, "out of memory");
		free(text);
		free(back);
		return NULL;
	}
	if (cm_map_parse(text, strlen(text), back, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "the new map would not be valid (%s): nothing written", why);
		free(text);
		text = NULL;
	}
	free(back);
	return text;
}

/* "migrating" ('M': [from,to,src,dst]) or "importing" ('I': [from,to,dst,src]); NULL: none. */
static int parse_moves(struct cm_map *m, const json_t *arr, char which, char *err, size_t errlen)
{
	const char *key = which == 'M' ? "migrating" : "importing";
	int16_t *a = which == 'M' ? m->mig_src : m->imp_dst;
	int16_t *b = which == 'M' ? m->mig_dst : m->imp_src;
	const json_t *r;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "\"%s\" wants [[from, to, id, id], ...]", key);
		return -1;
	}
	json_array_foreach(arr, i, r) {
		json_t *f = json_array_get(r, 0), *t = json_array_get(r, 1);
		const char *ia = json_string_value(json_array_get(r, 2));
		const char *ib = json_string_value(json_array_get(r, 3));
		json_int_t from, to;
		int xa, xb;

		if (json_array_size(r) != 4 || !json_is_integer(f) || !json_is_integer(t) || !ia ||
		    !ib) {
			snprintf(err, errlen, "%s range %zu is not [from, to, id, id]", key, i);
			return -1;
		}
		from = json_integer_value(f);
		to = json_integer_value(t);
		if (from < 0 || to >= CM_SLOTS || from > to) {
			snprintf(err, errlen, "%s range %lld-%lld is outside 0-16383 or reversed",
				 key, (long long)from, (long long)to);
			return -1;
		}
		if ((xa = cm_map_find(m, ia)) < 0 || (xb = cm_map_find(m, ib)) < 0) {
			snprintf(err, errlen, "%s %lld-%lld names %.40s, not in the map", key,
				 (long long)from, (long long)to, xa < 0 ? ia : ib);
			return -1;
		}
		if (xa == xb) {
			snprintf(err, errlen, "%s %lld-%lld: a node moving slots to itself", key,
				 (long long)from, (long long)to);
			return -1;
		}
		for (json_int_t s = from; s <= to; s++) {
			if (a[s] >= 0) {
				snprintf(err, errlen, "slot %lld is in two %s ranges", (long long)s,
					 key);
				return -1;
			}
			a[s] = (int16_t)xa;
			b[s] = (int16_t)xb;
		}
	}
	return 0;
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
	if (parse_moves(m, json_object_get(o, "migrating"), 'M', err, errlen) != 0 ||
	    parse_moves(m, json_object_get(o, "importing"), 'I', err, errlen) != 0)
		goto fail;
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
	struct cm_move_run *mr;
	char line[256];
	unsigned nr;
	int n = 0, me = cm_map_find(m, myself);

	if (me < 0)
		return -1;
	runs = malloc(CM_SLOTS * sizeof(*runs));
	mr = malloc(CM_SLOTS * sizeof(*mr));
	if (!runs || !mr) {
		free(runs);
		free(mr);
		return -1;
	}
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
	/* this node's moves: what it sends (migrating), then what it takes (importing) */
	for (int w = 0; w < 2; w++) {
		unsigned k = cm_map_move_runs(m, w ? 'I' : 'M', mr, CM_SLOTS);

		for (unsigned i = 0; i < k; i++) {
			if (mr[i].a != me)
				continue;
			snprintf(line, sizeof(line), "CMAP %s %u %u %s", w ? "IMPORTING" : "MIGRATING",
				 mr[i].from, mr[i].to, m->nodes[mr[i].b].id);
			emit(arg, line), n++;
		}
	}
	free(mr);
	emit(arg, "CMAP COMMIT"), n++;
	return n;
}

int cm_failover(struct cm_map *m, const char *id, char *err, size_t errlen)
{
	int r = cm_map_find(m, id), old;
	uint64_t epoch = m->epoch + 1;

	if (r < 0) {
		snprintf(err, errlen, "node %.40s is not in the map", id);
		return -1;
	}
	if (!m->nodes[r].replica || (old = cm_map_find(m, m->nodes[r].master)) < 0) {
		snprintf(err, errlen, "node %.40s is not a replica (of a master in the map)", id);
		return -1;
	}
	for (unsigned s = 0; s < CM_SLOTS; s++) {
		int16_t *a[] = { &m->slot[s], &m->mig_src[s], &m->mig_dst[s], &m->imp_dst[s],
				 &m->imp_src[s] };

		for (unsigned k = 0; k < 5; k++)
			if (*a[k] == old)
				*a[k] = (int16_t)r;
	}
	/* (a copy: gcc -O1's -Wrestrict cannot tell m->nodes[r] from the x written below) */
	char winner[sizeof(m->nodes[0].master)];

	snprintf(winner, sizeof(winner), "%s", m->nodes[r].id);
	for (unsigned i = 0; i < m->nnodes; i++) {
		struct cm_node *x = &m->nodes[i];

		if ((int)i == r)
			continue;
		if ((int)i == old || (x->replica && strcmp(x->master, m->nodes[old].id) == 0)) {
			x->replica = true;
			snprintf(x->master, sizeof(x->master), "%s", winner);
		}
	}
	m->nodes[r].replica = false;
	m->nodes[r].master[0] = 0;
	m->nodes[r].config_epoch = epoch;
	m->nodes[old].config_epoch = epoch;
	m->epoch = epoch;
	return 0;
}
