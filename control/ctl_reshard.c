/*
 * ctl_reshard.c - `wirecachectl cluster reshard` and `cluster rebalance`:
 * live slot moves between nodes, the way redis-cli does them, with the map
 * in etcd. For each batch (up to --batch slots, one source, one target):
 *   1. one etcd transaction sets the batch's importing (target) and
 *      migrating (source) entries (epoch+1), and we wait until both nodes'
 *      control planes report that their dataplanes run that epoch;
 *   2. over RESP to the source's announced address, pipelined: CLUSTER
 *      GETKEYSINSLOT s <pipeline> for up to 64 slots per write, then for each
 *      slot that listed keys MIGRATE dst-ip dst-port "" 0 5000 REPLACE
 *      [AUTH pw] KEYS k..., those of the 64 slots in one write too (the
 *      source runs them back to back), again until no slot lists any; then CLUSTER
 *      COUNTKEYSINSLOT s for every slot of the batch (256 per write) must
 *      be 0 (a slot that still counts keys goes round again);
 *   3. one etcd transaction gives the batch to the target (SETSLOT NODE:
 *      both entries cleared, the target's config_epoch = the new epoch).
 * A batch left open (entries already set: a node was unreachable, the
 * command was stopped) is finished first by the next reshard of the same
 * pair, and by rebalance. Progress (every second and per batch): keys
 * moved, keys/s, MB/s, slots left. MB/s comes from the source's own
 * migrate_bytes counter (its control plane's /metrics,
 * wirecache_migrate_bytes_total; "n/a" when it has none): the bytes MIGRATE
 * sent are not visible to us otherwise.
 *
 * --netns NAME: the RESP sockets are made inside /var/run/netns/NAME (the
 * testbed's nodes are reachable only there); etcd and the control planes'
 * HTTP stay in the caller's namespace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_cluster.h"
#include "httpc.h"
#include "respc.h"

#define RS_TRIES 5
#define RS_WAIT_MS 15000		/* for the dataplanes to run a new epoch */

struct rs {
	struct ctl_cc *c;
	struct cm_map *m;
	int64_t rev;
	const char *netns, *auth;
	unsigned pipeline, batch;
	/* progress */
	uint64_t keys;
	unsigned slots_left;
	int64_t t0, last_ms;
	uint64_t last_keys;
	long long bytes0, last_bytes;	/* the source's migrate_bytes, -1 unknown */
	char src_http[64];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000 }, NULL);
}

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "wirecachectl cluster: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\nUsage: wirecachectl cluster reshard --from ID --to ID --slots N "
		"[--pipeline 1000] [--batch 256]\n                    [--auth PW] [--netns NAME] "
		"--etcd URL[,URL...] [--cluster-name NAME]\n       wirecachectl cluster rebalance "
		"[--use-empty-masters] [--weight ID=W]... [same options]\n");
	return 2;
}

/* A node of the map by its id or a unique prefix of it: its index, or -1 (printed). */
static int node_arg(const struct cm_map *m, const char *text)
{
	int found = -1;
	size_t n = strlen(text);

	for (unsigned i = 0; i < m->nnodes && n; i++)
		if (strncmp(m->nodes[i].id, text, n) == 0) {
			if (found >= 0) {
				fprintf(stderr, "wirecachectl: '%s' names several nodes\n", text);
				return -1;
			}
			found = (int)i;
		}
	if (found < 0)
		fprintf(stderr, "wirecachectl: no node '%s' in the map\n", text);
	else if (m->nodes[found].replica)
		fprintf(stderr, "wirecachectl: node %s is a replica, not a master\n",
			m->nodes[found].id);
	return found >= 0 && !m->nodes[found].replica ? found : -1;
}

/* ---- etcd ---- */

enum step { STEP_OPEN, STEP_FLIP };

/*
 * Read the map, apply a batch's step, write it with epoch+1 if the map key
 * did not change meanwhile (up to RS_TRIES reads). rs->m is the map after.
 * 0 (written, or nothing to change), 1 failed (printed).
 */
static int batch_txn(struct rs *rs, enum step step, const char *src, const char *dst,
		     const uint8_t *bits)
{
	char key[160], err[256], why[256];

	snprintf(key, sizeof(key), "%smap", rs->c->prefix);
	for (int tries = 0; tries < RS_TRIES; tries++) {
		uint64_t e;
		int rc, n = 0;
		bool won = false;
		char *text;

		if ((rc = ctl_cc_read_map(rs->c, rs->m, &rs->rev)) <= 0) {
			if (rc == 0)
				fprintf(stderr, "wirecachectl: cluster %s has no map\n", rs->c->name);
			return 1;
		}
		e = rs->m->epoch + 1;
		if (step == STEP_OPEN) {
			rc = cm_setslot_many(rs->m, dst, bits, CM_SETSLOT_IMPORTING, src, e, err,
					     sizeof(err));
			if (rc >= 0)
				n = rc, rc = cm_setslot_many(rs->m, src, bits, CM_SETSLOT_MIGRATING,
							     dst, e, err, sizeof(err));
		} else {
			rc = cm_setslot_many(rs->m, NULL, bits, CM_SETSLOT_NODE, dst, e, err,
					     sizeof(err));
		}
		if (rc < 0) {
			fprintf(stderr, "wirecachectl: the map refuses the move: %s\n", err);
			return 1;
		}
		if (n + rc == 0)
			return 0;
		rs->m->epoch = e;
		if (!(text = cm_map_dumps_valid(rs->m, why, sizeof(why)))) {
			fprintf(stderr, "wirecachectl: %s\n", why);
			return 1;
		}
		{
			struct etcd_cmp cmp = { key, ETCD_CMP_MOD, rs->rev };
			struct etcd_op put = { key, text, strlen(text), 0 };

			rc = etcd_txn(&rs->c->etcd, &cmp, 1, &put, 1, &won);
		}
		free(text);
		if (rc != 0)
			return ctl_cc_etcd_failed(rs->c);
		if (won)
			return 0;
	}
	fprintf(stderr, "wirecachectl: the map kept changing (%d tries); nothing written for "
		"this batch, try again\n", RS_TRIES);
	return 1;
}

/* ---- the nodes' control planes ---- */

/* GET path from node n's control plane: the body (malloc'ed), or NULL with why. */
static char *cp_get(const struct rs *rs, const char *http, const char *path, char *why,
		    size_t wn)
{
	struct http_target t;
	struct http_resp r;
	char u[96];
	char *body;

	if (!http[0]) {
		snprintf(why, wn, "no control plane address in its record");
		return NULL;
	}
	snprintf(u, sizeof(u), "http://%s", http);
	if (httpc_parse_url(u, &t, why, wn) != 0 ||
	    httpc_request(&t, "GET", path, NULL, NULL, rs->c->timeout_ms, &r, why, wn) != 0)
		return NULL;
	if (r.status != 200) {
		snprintf(why, wn, "HTTP %d from %s%s", r.status, http, path);
		http_resp_free(&r);
		return NULL;
	}
	body = r.body;
	r.body = NULL;
	http_resp_free(&r);
	return body;
}

/* Wait until node idx's dataplane runs epoch (or newer). 0, or 1 (printed). */
static int wait_epoch(struct rs *rs, int idx, uint64_t epoch)
{
	const struct cm_node *n = &rs->m->nodes[idx];
	int64_t deadline = now_ms() + RS_WAIT_MS;
	char why[256] = "";

	for (;;) {
		char *body = cp_get(rs, n->http, "/api/cluster", why, sizeof(why));
		json_t *o = body ? json_loads(body, 0, NULL) : NULL;
		json_t *de = json_object_get(o, "dataplane_epoch");
		bool ok = json_is_integer(de) && (uint64_t)json_integer_value(de) >= epoch;

		if (body && !ok)
			snprintf(why, sizeof(why), "its dataplane runs epoch %lld",
				 json_is_integer(de) ? (long long)json_integer_value(de) : -1LL);
		json_decref(o);
		free(body);
		if (ok)
			return 0;
		if (now_ms() > deadline) {
			fprintf(stderr, "wirecachectl: node %s (%s:%u) does not run map epoch %llu "
				"after %d s: %s\n", n->id, n->ip, n->port, (unsigned long long)epoch,
				RS_WAIT_MS / 1000, why);
			return 1;
		}
		sleep_ms(50);
	}
}

/* The source's migrate_bytes counter from its /metrics, -1 when it has none. */
static long long migrate_bytes(const struct rs *rs)
{
	char why[256], *body = rs->src_http[0] ? cp_get(rs, rs->src_http, "/metrics", why,
							sizeof(why)) : NULL;
	const char *p = body ? strstr(body, "\nwirecache_migrate_bytes_total ") : NULL;
	long long v = p ? strtoll(p + 31, NULL, 10) : -1;

	free(body);
	return v;
}

static void progress(struct rs *rs, bool force)
{
	int64_t t = now_ms();
	long long b;
	double secs, kps;
	char mbs[32];

	if (!force && t - rs->last_ms < 1000)
		return;
	secs = (double)(t - rs->last_ms) / 1000.0;
	if (secs <= 0)
		secs = 0.001;
	kps = (double)(rs->keys - rs->last_keys) / secs;
	b = migrate_bytes(rs);
	if (b >= 0 && rs->last_bytes >= 0 && b >= rs->last_bytes)
		snprintf(mbs, sizeof(mbs), "%.2f MB/s", (double)(b - rs->last_bytes) / secs / 1e6);
	else
		snprintf(mbs, sizeof(mbs), "MB/s n/a");
	printf("moved %llu key(s): %.0f keys/s, %s, %u slot(s) left\n",
	       (unsigned long long)rs->keys, kps, mbs, rs->slots_left);
	fflush(stdout);
	rs->last_ms = t;
	rs->last_keys = rs->keys;
	rs->last_bytes = b;
}

/* ---- RESP to the source ---- */

static bool is_status(const struct respc_reply *r, const char *s)
{
	return r->type == RESPC_STATUS && strcmp(r->str, s) == 0;
}

/*
 * Queue MIGRATE of the keys listed in r (one slot) from the source to dst
 * on rc (sent by the next respc_flush). 0, or 1 (printed).
 */
static int migrate_append(struct rs *rs, struct respc *rc, const struct cm_node *dst,
			  const struct respc_reply *r)
{
	char port[8];
	const char **argv = calloc(r->n + 12, sizeof(*argv));
	size_t *lens = calloc(r->n + 12, sizeof(*lens));
	int argc = 0, ret = 0;

	if (!argv || !lens) {
		free(argv);
		free(lens);
		fprintf(stderr, "wirecachectl: out of memory\n");
		return 1;
	}
	snprintf(port, sizeof(port), "%u", dst->port);
	argv[argc++] = "MIGRATE";
	argv[argc++] = dst->ip;
	argv[argc++] = port;
	argv[argc++] = "";
	argv[argc++] = "0";
	argv[argc++] = "5000";
	/*
	 * REPLACE: until the flip the source's copy is the newest (writes
	 * to a key still there go there); one left on both sides by an
	 * interrupted MIGRATE goes again rather than stopping the move
	 */
	argv[argc++] = "REPLACE";
	if (rs->auth) {
		argv[argc++] = "AUTH";
		argv[argc++] = rs->auth;
	}
	argv[argc++] = "KEYS";
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	for (size_t i = 0; i < r->n; i++) {
		argv[argc] = r->elem[i].str ? r->elem[i].str : "";
		lens[argc++] = r->elem[i].len;
	}
	if (respc_append(rc, argc, argv, lens) != 0) {
		fprintf(stderr, "wirecachectl: MIGRATE to %s:%u: %s\n", dst->ip, dst->port,
			rc->err);
		ret = 1;
	}
	free(argv);
	free(lens);
	return ret;
}

/*
 * Send the n MIGRATEs queued on rc (slots[i], nkeys[i] keys each) and read
 * their replies in order: the source runs them back to back, with no round
 * trip to us in between. 0, or 1 (the first failure printed).
 */
static int migrate_replies(struct rs *rs, struct respc *rc, const struct cm_node *src,
			   const struct cm_node *dst, const unsigned *slots, const size_t *nkeys,
			   unsigned n)
{
	if (n && respc_flush(rc) != 0) {
		fprintf(stderr, "wirecachectl: node %s (%s:%u): MIGRATE of slot %u to %s:%u: "
			"%s\n", src->id, src->ip, src->port, slots[0], dst->ip, dst->port, rc->err);
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct respc_reply mr;
		int bad = 0;

		if (respc_read(rc, &mr) != 0) {
			fprintf(stderr, "wirecachectl: node %s (%s:%u): MIGRATE of slot %u to %s:%u: "
				"%s\n", src->id, src->ip, src->port, slots[i], dst->ip, dst->port,
				rc->err);
			return 1;
		}
		if (!is_status(&mr, "OK") && !is_status(&mr, "NOKEY")) {
			fprintf(stderr, "wirecachectl: node %s (%s:%u): MIGRATE of slot %u to %.8s "
				"(%s:%u) failed: %s\n", src->id, src->ip, src->port, slots[i],
				dst->id, dst->ip, dst->port,
				mr.type == RESPC_ERROR ? mr.str : "an unexpected reply");
			bad = 1;
		} else {
			rs->keys += nkeys[i];
			progress(rs, false);
		}
		respc_reply_free(&mr);
		if (bad)
			return 1;
	}
	return 0;
}

#define RS_GET_PIPE 64		/* GETKEYSINSLOT per pipelined round */
#define RS_COUNT_PIPE 256	/* COUNTKEYSINSLOT per pipelined round */

/*
 * Send "CLUSTER <cmd> slot [cnt]" for slots[0..n) in one write and read the
 * n replies into r. 0, or 1 (printed, every reply freed).
 */
static int pipe_slots(struct respc *rc, const struct cm_node *src, const char *cmd,
		      const unsigned *slots, unsigned n, const char *cnt, struct respc_reply *r)
{
	unsigned got = 0, bad = 0;

	for (unsigned i = 0; i < n; i++) {
		char slot[16];
		const char *argv[] = { "CLUSTER", cmd, slot, cnt };

		snprintf(slot, sizeof(slot), "%u", slots[i]);
		if (respc_append(rc, cnt ? 4 : 3, argv, NULL) != 0)
			goto fail;
	}
	if (respc_flush(rc) != 0)
		goto fail;
	for (; got < n; got++)
		if (respc_read(rc, &r[got]) != 0)
			goto fail;
	return 0;
fail:
	bad = got < n ? got : 0;
	fprintf(stderr, "wirecachectl: node %s (%s:%u): CLUSTER %s %u: %s\n", src->id, src->ip,
		src->port, cmd, slots[bad], rc->err);
	for (unsigned i = 0; i < got; i++)
		respc_reply_free(&r[i]);
	return 1;
}

/*
 * Move every key of the batch's slots[0..n) from the source (connected as
 * rc) to dst, pipelined: GETKEYSINSLOT for up to RS_GET_PIPE slots per
 * write, MIGRATE for each slot that listed keys, again for those until none
 * lists any; then COUNTKEYSINSLOT for every slot of the batch (RS_COUNT_PIPE
 * per write) must say 0: a slot that still counts keys goes round again
 * (up to 100 times, 20 ms apart). 0, or 1 (printed).
 */
static int empty_batch(struct rs *rs, struct respc *rc, const struct cm_node *src,
		       const struct cm_node *dst, const unsigned *slots, unsigned n)
{
	size_t m = n ? n : 1;
	unsigned *todo = malloc(m * sizeof(*todo)), *next = malloc(m * sizeof(*next));
	unsigned char *empties = calloc(m, 1);	/* per slot: rounds counted, 0xff empty */
	unsigned *idx = malloc(m * sizeof(*idx));	/* todo[i]'s index in slots */
	unsigned *nidx = malloc(m * sizeof(*nidx));
	struct respc_reply r[RS_COUNT_PIPE];
	unsigned ntodo = n, left = n;
	char cnt[16];
	int ret = 1;

	if (!todo || !next || !empties || !idx || !nidx) {
		fprintf(stderr, "wirecachectl: out of memory\n");
		goto out;
	}
	snprintf(cnt, sizeof(cnt), "%u", rs->pipeline);
	for (unsigned i = 0; i < n; i++)
		todo[i] = slots[i], idx[i] = i;
	while (ntodo) {
		/* the keys: rounds of GETKEYSINSLOT over the slots that may hold some */
		while (ntodo) {
			unsigned nnext = 0;

			for (unsigned c = 0; c < ntodo; c += RS_GET_PIPE) {
				unsigned k = ntodo - c < RS_GET_PIPE ? ntodo - c : RS_GET_PIPE;
				unsigned mslot[RS_GET_PIPE], nmig = 0;
				size_t mkeys[RS_GET_PIPE];
				int bad = 0;

				if (pipe_slots(rc, src, "GETKEYSINSLOT", todo + c, k, cnt, r) != 0)
					goto out;
				/* one MIGRATE per slot that listed keys, all in one write */
				for (unsigned i = 0; i < k; i++) {
					if (!bad && r[i].type != RESPC_ARRAY) {
						fprintf(stderr, "wirecachectl: node %s (%s:%u): CLUSTER "
							"GETKEYSINSLOT %u: %s\n", src->id, src->ip,
							src->port, todo[c + i],
							r[i].type == RESPC_ERROR ? r[i].str
										 : "an unexpected reply");
						bad = 1;
					} else if (!bad && r[i].n) {
						bad = migrate_append(rs, rc, dst, &r[i]);
						mslot[nmig] = todo[c + i];
						mkeys[nmig++] = r[i].n;
						next[nnext] = todo[c + i];
						nidx[nnext++] = idx[c + i];
					}
					respc_reply_free(&r[i]);
				}
				if (bad || migrate_replies(rs, rc, src, dst, mslot, mkeys, nmig) != 0)
					goto out;
			}
			memcpy(todo, next, nnext * sizeof(*todo));
			memcpy(idx, nidx, nnext * sizeof(*idx));
			ntodo = nnext;
		}
		/* the check: every slot of the batch not yet seen empty must count 0 */
		for (unsigned i = 0, j = 0; i < n; i++)
			if (empties[i] != 0xff)
				next[j] = slots[i], nidx[j++] = i;
		for (unsigned c = 0, nl = left; c < nl; c += RS_COUNT_PIPE) {
			unsigned k = nl - c < RS_COUNT_PIPE ? nl - c : RS_COUNT_PIPE;
			int bad = 0;

			if (pipe_slots(rc, src, "COUNTKEYSINSLOT", next + c, k, NULL, r) != 0)
				goto out;
			for (unsigned i = 0; i < k; i++) {
				unsigned x = nidx[c + i];

				if (!bad && r[i].type != RESPC_INT) {
					fprintf(stderr, "wirecachectl: node %s (%s:%u): CLUSTER "
						"COUNTKEYSINSLOT %u: %s\n", src->id, src->ip, src->port,
						slots[x], r[i].type == RESPC_ERROR ? r[i].str
										   : "an unexpected reply");
					bad = 1;
				} else if (!bad && r[i].integer == 0) {
					empties[x] = 0xff;	/* done */
					left--;
					rs->slots_left--;
				} else if (!bad) {
					/* keys counted but none listed: a write racing in; not forever */
					if (++empties[x] == 100) {
						fprintf(stderr, "wirecachectl: node %s (%s:%u): slot %u "
							"counts %lld key(s) but lists none\n", src->id,
							src->ip, src->port, slots[x], r[i].integer);
						bad = 1;
					}
					todo[ntodo] = slots[x];
					idx[ntodo++] = x;
				}
				respc_reply_free(&r[i]);
			}
			if (bad)
				goto out;
		}
		if (ntodo)
			sleep_ms(20);
	}
	ret = 0;
out:
	free(todo);
	free(next);
	free(empties);
	free(idx);
	free(nidx);
	return ret;
}

/* Open the source's RESP connection (AUTH when given). 0, or 1 (printed). */
static int connect_src(struct rs *rs, struct respc *rc, const struct cm_node *src)
{
	if (respc_connect(rc, src->ip, src->port, rs->netns, 5000) != 0) {
		fprintf(stderr, "wirecachectl: node %s (%s:%u%s%s) is unreachable: %s\n", src->id,
			src->ip, src->port, rs->netns ? ", netns " : "", rs->netns ? rs->netns : "",
			rc->err);
		return 1;
	}
	rc->timeout_ms = 30000;	/* MIGRATE of a pipeline of big keys takes a while */
	if (rs->auth) {
		const char *a[] = { "AUTH", rs->auth };
		struct respc_reply r;

		if (respc_call(rc, &r, 2, a, NULL) != 0 || !is_status(&r, "OK")) {
			fprintf(stderr, "wirecachectl: node %s (%s:%u): AUTH: %s\n", src->id,
				src->ip, src->port, r.type == RESPC_ERROR ? r.str : rc->err);
			respc_reply_free(&r);
			respc_close(rc);
			return 1;
		}
		respc_reply_free(&r);
	}
	return 0;
}

/* ---- one pair ---- */

/*
 * Move up to want slots from src to dst (indexes in rs->m), the pair's
 * open slots first (all of them, even past want). 0, or 1 (printed; the
 * batch in flight stays open).
 */
static int move_pair(struct rs *rs, int si, int di, unsigned want)
{
	char src_id[CM_ID_LEN + 1], dst_id[CM_ID_LEN + 1];
	static uint8_t bits[CM_SLOTS / 8];
	unsigned list_n = 0, *list = malloc(CM_SLOTS * sizeof(*list)), open = 0;
	int rc = 0;

	if (!list) {
		fprintf(stderr, "wirecachectl: out of memory\n");
		return 1;
	}
	strcpy(src_id, rs->m->nodes[si].id);
	strcpy(dst_id, rs->m->nodes[di].id);
	for (unsigned s = 0; s < CM_SLOTS; s++)
		if (rs->m->slot[s] == si && ((rs->m->mig_src[s] == si && rs->m->mig_dst[s] == di) ||
					     (rs->m->imp_dst[s] == di && rs->m->imp_src[s] == si)))
			list[list_n++] = s;
	open = list_n;
	for (unsigned s = 0; s < CM_SLOTS && list_n < want; s++)
		if (rs->m->slot[s] == si && rs->m->mig_src[s] < 0 && rs->m->imp_dst[s] < 0)
			list[list_n++] = s;
	if (open)
		printf("resuming %u open slot(s) from %.8s to %.8s\n", open, src_id, dst_id);
	printf("moving %u slot(s) from %.8s (%s:%u) to %.8s (%s:%u)\n", list_n, src_id,
	       rs->m->nodes[si].ip, rs->m->nodes[si].port, dst_id, rs->m->nodes[di].ip,
	       rs->m->nodes[di].port);
	rs->slots_left = list_n;
	snprintf(rs->src_http, sizeof(rs->src_http), "%s", rs->m->nodes[si].http);
	rs->last_bytes = migrate_bytes(rs);
	for (unsigned b = 0; b < list_n && rc == 0; b += rs->batch) {
		unsigned end = b + rs->batch < list_n ? b + rs->batch : list_n;
		struct cm_node src, dst;
		struct respc resp;
		int sidx, didx;

		memset(bits, 0, sizeof(bits));
		for (unsigned k = b; k < end; k++)
			bits[list[k] / 8] |= (uint8_t)(1u << (list[k] % 8));
		/* 1: importing + migrating in one transaction; both dataplanes run it */
		if ((rc = batch_txn(rs, STEP_OPEN, src_id, dst_id, bits)) != 0)
			break;
		sidx = cm_map_find(rs->m, src_id);
		didx = cm_map_find(rs->m, dst_id);
		src = rs->m->nodes[sidx];
		dst = rs->m->nodes[didx];
		if ((rc = wait_epoch(rs, didx, rs->m->epoch)) != 0 ||
		    (rc = wait_epoch(rs, sidx, rs->m->epoch)) != 0)
			break;
		/* 2: the keys, the batch's slots pipelined */
		if ((rc = connect_src(rs, &resp, &src)) != 0)
			break;
		rc = empty_batch(rs, &resp, &src, &dst, list + b, end - b);
		respc_close(&resp);
		if (rc != 0)
			break;
		/* 3: the flip */
		if ((rc = batch_txn(rs, STEP_FLIP, src_id, dst_id, bits)) != 0)
			break;
		progress(rs, true);
		printf("batch of %u slot(s) now on %.8s: map epoch %llu\n", end - b, dst_id,
		       (unsigned long long)rs->m->epoch);
	}
	if (rc != 0)
		fprintf(stderr, "wirecachectl: stopped; slots of the batch in flight stay "
			"migrating/importing (cluster check shows them): run the same reshard "
			"again to finish them\n");
	free(list);
	return rc;
}

/* ---- rebalance ---- */

struct weight {
	const char *id;
	unsigned w;
};

static int rebalance(struct rs *rs, bool use_empty, const struct weight *wt, unsigned nwt)
{
	unsigned n = rs->m->nnodes, sumw = 0;
	long long want[CM_NODES_MAX], have[CM_NODES_MAX];
	unsigned w[CM_NODES_MAX];
	int rc;

	/* open moves first: each pair with open slots is finished */
	for (;;) {
		int s = -1, d = -1;

		for (unsigned k = 0; k < CM_SLOTS && s < 0; k++)
			if (rs->m->mig_src[k] >= 0 && rs->m->slot[k] == rs->m->mig_src[k])
				s = rs->m->mig_src[k], d = rs->m->mig_dst[k];
			else if (rs->m->imp_dst[k] >= 0 && rs->m->slot[k] == rs->m->imp_src[k])
				s = rs->m->imp_src[k], d = rs->m->imp_dst[k];
		if (s < 0)
			break;
		if ((rc = move_pair(rs, s, d, 0)) != 0)
			return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct cm_node *x = &rs->m->nodes[i];

		have[i] = cm_map_slots_of(rs->m, (int)i);
		w[i] = x->replica ? 0 : (have[i] > 0 || use_empty) ? 1 : 0;
		for (unsigned k = 0; k < nwt; k++)
			if (strncmp(x->id, wt[k].id, strlen(wt[k].id)) == 0)
				w[i] = x->replica ? 0 : wt[k].w;
		sumw += w[i];
	}
	if (sumw == 0) {
		fprintf(stderr, "wirecachectl: no master would keep any slot\n");
		return 1;
	}
	{
		long long given = 0;

		for (unsigned i = 0; i < n; i++)
			given += want[i] = (long long)CM_SLOTS * w[i] / sumw;
		for (unsigned i = 0; given < CM_SLOTS; i = (i + 1) % n)
			if (w[i])
				want[i]++, given++;
	}
	for (;;) {
		int s = -1, d = -1;
		long long move;

		for (unsigned i = 0; i < n; i++) {
			if (have[i] > want[i] && (s < 0 || have[i] - want[i] > have[s] - want[s]))
				s = (int)i;
			if (have[i] < want[i] && (d < 0 || want[i] - have[i] > want[d] - have[d]))
				d = (int)i;
		}
		if (s < 0 || d < 0)
			break;
		move = have[s] - want[s] < want[d] - have[d] ? have[s] - want[s]
							     : want[d] - have[d];
		if ((rc = move_pair(rs, s, d, (unsigned)move)) != 0)
			return rc;
		/* the map as it is now (move_pair reads it per batch) */
		for (unsigned i = 0; i < n; i++)
			have[i] = cm_map_slots_of(rs->m, (int)i);
		if (rs->m->nnodes != n) {
			fprintf(stderr, "wirecachectl: the map's nodes changed meanwhile; stopped\n");
			return 1;
		}
	}
	printf("balanced: ");
	for (unsigned i = 0; i < n; i++)
		printf("%s%.8s %lld", i ? ", " : "", rs->m->nodes[i].id, have[i]);
	printf(" slots (map epoch %llu)\n", (unsigned long long)rs->m->epoch);
	return 0;
}

static int num_arg(const char *opt, const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);

	if (*end || end == v || x < lo || x > hi) {
		fprintf(stderr, "wirecachectl cluster: %s wants %u..%u, not '%s'\n", opt, lo, hi, v);
		return -1;
	}
	*out = (unsigned)x;
	return 0;
}

int ctl_reshard_main(struct ctl_cc *c, bool rebal, int argc, char **argv)
{
	struct rs rs = { .c = c, .pipeline = 1000, .batch = 256 };
	const char *from = NULL, *to = NULL;
	unsigned slots = 0, nwt = 0;
	bool have_slots = false, use_empty = false;
	struct weight wt[CM_NODES_MAX];
	int rc, si = -1, di = -1;

	for (int i = 0; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--use-empty-masters") == 0 && rebal) {
			use_empty = true;
			continue;
		}
		if (!v)
			return usage("option %s needs a value", o);
		i++;
		if (strcmp(o, "--from") == 0 && !rebal)
			from = v;
		else if (strcmp(o, "--to") == 0 && !rebal)
			to = v;
		else if (strcmp(o, "--slots") == 0 && !rebal) {
			if (num_arg(o, v, 1, CM_SLOTS, &slots) != 0)
				return 2;
			have_slots = true;
		} else if (strcmp(o, "--pipeline") == 0) {
			if (num_arg(o, v, 1, 100000, &rs.pipeline) != 0)
				return 2;
		} else if (strcmp(o, "--batch") == 0) {
			if (num_arg(o, v, 1, CM_SLOTS, &rs.batch) != 0)
				return 2;
		} else if (strcmp(o, "--auth") == 0) {
			rs.auth = v;
		} else if (strcmp(o, "--netns") == 0) {
			if (!*v || strchr(v, '/'))
				return usage("--netns wants a namespace name, not '%s'", v);
			rs.netns = v;
		} else if (strcmp(o, "--weight") == 0 && rebal) {
			const char *eq = strchr(v, '=');
			char *end;
			unsigned long x;

			if (!eq || eq == v || nwt == CM_NODES_MAX)
				return usage("--weight wants ID=W, not '%s'", v);
			x = strtoul(eq + 1, &end, 10);
			if (*end || end == eq + 1 || x > 1000)
				return usage("--weight wants ID=W (W 0..1000), not '%s'", v);
			wt[nwt].id = strndup(v, (size_t)(eq - v));
			wt[nwt++].w = (unsigned)x;
		} else {
			return usage("unknown option '%s'", o);
		}
	}
	if (!rebal && (!from || !to || !have_slots))
		return usage("reshard wants --from ID --to ID --slots N%s", "");
	if (!(rs.m = malloc(sizeof(*rs.m)))) {
		fprintf(stderr, "wirecachectl: out of memory\n");
		return 1;
	}
	rs.t0 = rs.last_ms = now_ms();
	rs.last_bytes = -1;
	rc = ctl_cc_read_map(c, rs.m, &rs.rev);
	if (rc == 0)
		fprintf(stderr, "wirecachectl: cluster %s has no map (wirecachectl cluster "
			"create)\n", c->name);
	if (rc <= 0) {
		rc = 1;
		goto out;
	}
	if (!rebal) {
		if ((si = node_arg(rs.m, from)) < 0 || (di = node_arg(rs.m, to)) < 0) {
			rc = 1;
			goto out;
		}
		if (si == di) {
			fprintf(stderr, "wirecachectl: --from and --to name the same node\n");
			rc = 1;
			goto out;
		}
		rc = move_pair(&rs, si, di, slots);
	} else {
		for (unsigned k = 0; k < nwt; k++)
			if (node_arg(rs.m, wt[k].id) < 0) {
				rc = 1;
				goto out;
			}
		rc = rebalance(&rs, use_empty, wt, nwt);
	}
	if (rc == 0)
		printf("done: %llu key(s) moved in %.1f s, map epoch %llu\n",
		       (unsigned long long)rs.keys, (double)(now_ms() - rs.t0) / 1000.0,
		       (unsigned long long)rs.m->epoch);
out:
	for (unsigned k = 0; k < nwt; k++)
		free((char *)wt[k].id);
	free(rs.m);
	return rc;
}
