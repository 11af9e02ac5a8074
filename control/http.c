/*
 * http.c - wirecache-cp's HTTP server on libmicrohttpd (see http.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api.h"
#include "buf.h"
#include "cpcluster.h"
#include "cpsnap.h"
#include "http.h"
#include "prom.h"
#include "slotrange.h"
#include "webassets.h"

#define BODY_MAX 4096

struct cp_http {
	struct MHD_Daemon *d;
	struct cp_core *core;
	char token[256];
	bool has_token;
};

struct req_ctx {
	struct buf body;
	bool too_large;
};

/* ---- responses ---- */

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned status, const char *type,
				char *text, size_t len, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (allow)
		MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *o,
				 const char *allow)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (!text) {
		const char *oops = "{\"error\":\"out of memory\"}";

		text = strdup(oops);
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		if (!text)
			return MHD_NO;
	}
	return send_buf(conn, status, "application/json", text, strlen(text), allow);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *msg,
				  const char *allow)
{
	return send_json(conn, status, cp_api_error(msg), allow);
}

static unsigned status_of(enum cp_result r)
{
	switch (r) {
	case CP_OK:
		return MHD_HTTP_OK;
	case CP_BAD_REQUEST:
		return MHD_HTTP_BAD_REQUEST;
	case CP_CONFLICT:
		return MHD_HTTP_CONFLICT;
	case CP_UNAVAILABLE:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	case CP_TIMEOUT:
		return MHD_HTTP_GATEWAY_TIMEOUT;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* ---- reading ---- */

typedef json_t *(*doc_fn)(struct cp_http *h, const struct wc_cp_shm *now);

static json_t *doc_status(struct cp_http *h, const struct wc_cp_shm *now)
{
	struct cp_api_ctx c = { h->core->node, h->core->dp.path, h->core->attach_error,
				h->core->attached_since_ms,
				h->core->attaches ? h->core->attaches - 1 : 0 };

	json_t *o = cp_api_status(&c, now, &h->core->sampler);
	int up = cp_cluster_etcd_up(h->core->cluster);

	/* with --etcd: whether etcd answers; null for a node outside any cluster */
	json_object_set_new(o, "etcd", up < 0 ? json_null() : json_boolean(up));
	return o;
}

static json_t *doc_cluster(struct cp_http *h, const struct wc_cp_shm *now)
{
	(void)now;
	return cp_cluster_json(h->core->cluster);
}

static json_t *doc_stats(struct cp_http *h, const struct wc_cp_shm *now)
{
	struct cp_api_ctx c = { h->core->node, h->core->dp.path, h->core->attach_error,
				h->core->attached_since_ms, 0 };

	return cp_api_stats(&c, now, &h->core->sampler);
}

static json_t *doc_history(struct cp_http *h, const struct wc_cp_shm *now)
{
	(void)now;
	return cp_api_history(&h->core->sampler, CP_HISTORY);
}

static json_t *doc_slots(struct cp_http *h, const struct wc_cp_shm *now)
{
	(void)h;
	return now ? cp_api_slots(now) : NULL;
}

static json_t *doc_alerts(struct cp_http *h, const struct wc_cp_shm *now)
{
	return cp_api_alerts(&h->core->sampler, now != NULL);
}

/* A document built from a fresh snapshot and the sampler's state. */
static enum MHD_Result get_doc(struct cp_http *h, struct MHD_Connection *conn, doc_fn fn,
			       bool need_dataplane)
{
	struct wc_cp_shm *s = malloc(sizeof(*s));
	bool attached = s && cp_core_snapshot(h->core, s);
	json_t *o;

	if (!s)
		return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
	if (need_dataplane && !attached) {
		char msg[320];

		free(s);
		snprintf(msg, sizeof(msg), "not attached to a dataplane: %s",
			 h->core->attach_error);
		return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg, NULL);
	}
	pthread_mutex_lock(&h->core->sampler.mu);
	o = fn(h, attached ? s : NULL);
	pthread_mutex_unlock(&h->core->sampler.mu);
	free(s);
	return send_json(conn, MHD_HTTP_OK, o, NULL);
}

static enum MHD_Result get_metrics(struct cp_http *h, struct MHD_Connection *conn)
{
	struct wc_cp_shm *s = malloc(sizeof(*s));
	bool attached = s && cp_core_snapshot(h->core, s);
	struct buf b;
	char *text;
	size_t len = 0;

	if (!s)
		return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
	buf_init(&b);
	pthread_mutex_lock(&h->core->sampler.mu);
	cp_prom_render(&b, attached ? s : NULL, &h->core->sampler, h->core->node);
	pthread_mutex_unlock(&h->core->sampler.mu);
	cp_cluster_prom(h->core->cluster, &b);
	free(s);
	if (!(text = buf_take(&b, &len)))
		return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
	return send_buf(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len,
			NULL);
}

static enum MHD_Result get_asset(struct MHD_Connection *conn, const struct cp_asset *a)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		(size_t)(a->end - a->data), (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", a->type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- writing ---- */

static bool same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	/* constant time over the token's length */
	for (size_t i = 0; i < lb; i++)
		diff |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
	return diff == 0;
}

static bool token_ok(struct cp_http *h, struct MHD_Connection *conn)
{
	const char *auth, *x;

	if (!h->has_token)
		return true;
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	x = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Wirecache-Token");
	if (auth && strncmp(auth, "Bearer ", 7) == 0 && same(auth + 7, h->token))
		return true;
	return x && same(x, h->token);
}

/* An integer member in [0, max]; -1 when absent (and absent_ok), else -2 when invalid. */
static long long int_member(json_t *o, const char *name, long long max, bool absent_ok)
{
	json_t *v = json_object_get(o, name);

	if (!v)
		return absent_ok ? -1 : -2;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return -2;
	return json_integer_value(v);
}

static json_t *parse_body(struct req_ctx *rc, bool empty_ok, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o;

	if (rc->body.len == 0 && empty_ok)
		return json_object();
	if (rc->body.failed) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o = json_loadb(rc->body.p ? rc->body.p : "", rc->body.len, 0, &je);
	if (!o) {
		snprintf(err, errlen, "the body is not valid JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(err, errlen, "the body must be a JSON object");
		return NULL;
	}
	return o;
}

static enum MHD_Result post_move(struct cp_http *h, struct MHD_Connection *conn,
				 struct req_ctx *rc)
{
	char err[256];
	json_t *o = parse_body(rc, false, err, sizeof(err)), *range;
	long long from, to, part;
	unsigned f, t;
	struct wc_cp_move_snap m;
	enum cp_result r;

	if (!o)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, err, NULL);
	range = json_object_get(o, "range");
	if (range) {
		if (!json_is_string(range) ||
		    cp_parse_slot_range(json_string_value(range), &f, &t, err, sizeof(err)) != 0) {
			if (!json_is_string(range))
				snprintf(err, sizeof(err), "\"range\" must be a string like \"0-8191\"");
			json_decref(o);
			return send_error(conn, MHD_HTTP_BAD_REQUEST, err, NULL);
		}
		from = f;
		to = t;
	} else {
		from = int_member(o, "from", 1LL << 40, false);
		to = int_member(o, "to", 1LL << 40, false);
		if (from < 0 || to < 0) {
			json_decref(o);
			return send_error(conn, MHD_HTTP_BAD_REQUEST,
					  "want {\"from\": SLOT, \"to\": SLOT, \"partition\": N} with "
					  "whole numbers (or \"range\": \"FROM-TO\")", NULL);
		}
	}
	part = int_member(o, "partition", 1LL << 40, false);
	json_decref(o);
	if (part < 0)
		return send_error(conn, MHD_HTTP_BAD_REQUEST,
				  "\"partition\" must be a whole number", NULL);
	if (from > to || to >= WC_SLOTS) {
		snprintf(err, sizeof(err), "invalid slot range %lld-%lld: slots are 0-%u, from <= to",
			 from, to, WC_SLOTS - 1);
		return send_error(conn, MHD_HTTP_BAD_REQUEST, err, NULL);
	}
	if (part >= WC_SLOT_PART_MASK) {
		snprintf(err, sizeof(err), "no partition %lld", part);
		return send_error(conn, MHD_HTTP_BAD_REQUEST, err, NULL);
	}
	r = cp_core_move(h->core, (unsigned)from, (unsigned)to, (unsigned)part, &m, err,
			 sizeof(err));
	if (r != CP_OK) {
		json_t *e = cp_api_error(err);

		if (m.id)
			json_object_set_new(e, "move", cp_api_move(&m));
		return send_json(conn, status_of(r), e, NULL);
	}
	return send_json(conn, MHD_HTTP_OK, json_pack("{s:b,s:o}", "ok", 1, "move",
						      cp_api_move(&m)), NULL);
}

static enum MHD_Result post_flush(struct cp_http *h, struct MHD_Connection *conn,
				  struct req_ctx *rc)
{
	char err[256];
	json_t *o = parse_body(rc, true, err, sizeof(err));
	long long delay;
	enum cp_result r;

	if (!o)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, err, NULL);
	delay = int_member(o, "delay", 60LL * 60 * 24 * 365 * 100, true);
	json_decref(o);
	if (delay == -2)
		return send_error(conn, MHD_HTTP_BAD_REQUEST,
				  "\"delay\" must be a whole number of seconds", NULL);
	r = cp_core_flush(h->core, delay < 0 ? 0 : (unsigned)delay, err, sizeof(err));
	if (r != CP_OK)
		return send_error(conn, status_of(r), err, NULL);
	return send_json(conn, MHD_HTTP_OK, json_pack("{s:b,s:I}", "ok", 1, "delay",
						      (json_int_t)(delay < 0 ? 0 : delay)), NULL);
}

/* POST /api/snapshot/save {"wait": bool, "timeout_ms": N}: an RDB save (cpsnap.h) */
static enum MHD_Result post_snapshot(struct cp_http *h, struct MHD_Connection *conn,
				     struct req_ctx *rc)
{
	char err[256];
	json_t *o = parse_body(rc, true, err, sizeof(err)), *w, *out;
	long long timeout;
	bool wait;
	enum cp_result r;

	if (!o)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, err, NULL);
	w = json_object_get(o, "wait");
	wait = json_is_true(w);
	timeout = int_member(o, "timeout_ms", 3600LL * 1000, true);
	json_decref(o);
	if (w && !json_is_boolean(w))
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "\"wait\" must be true or false", NULL);
	if (timeout == -2)
		return send_error(conn, MHD_HTTP_BAD_REQUEST,
				  "\"timeout_ms\" must be a whole number of milliseconds", NULL);
	r = cp_snapshot_save(h->core, wait, timeout < 0 ? 60000 : (unsigned)timeout, &out, err,
			     sizeof(err));
	if (r != CP_OK) {
		json_t *e = cp_api_error(err);

		if (out)
			json_object_set_new(e, "snapshot", out);
		return send_json(conn, status_of(r), e, NULL);
	}
	json_object_set_new(out, "ok", json_true());
	return send_json(conn, MHD_HTTP_OK, out, NULL);
}

static enum MHD_Result get_snapshot(struct cp_http *h, struct MHD_Connection *conn)
{
	char err[256];
	json_t *out;
	enum cp_result r = cp_snapshot_status(h->core, &out, err, sizeof(err));

	if (r != CP_OK)
		return send_error(conn, status_of(r), err, NULL);
	return send_json(conn, MHD_HTTP_OK, out, NULL);
}

/* POST /api/snapshot/load {"path": "/abs/file.rdb", "flush": bool}: a runtime RDB load
 * starts on the dataplane (redis/rdbload.h); GET /api/snapshot/load: its state. */
static enum MHD_Result post_snapload(struct cp_http *h, struct MHD_Connection *conn,
				     struct req_ctx *rc)
{
	char err[256], cmd[WC_CP_LINE_MAX], reply[WC_CP_LINE_MAX];
	json_t *o = parse_body(rc, false, err, sizeof(err));
	const char *path;
	bool flush;
	enum cp_result r;

	if (!o)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, err, NULL);
	path = json_string_value(json_object_get(o, "path"));
	flush = json_is_true(json_object_get(o, "flush"));
	if (!path || path[0] != '/' || strlen(path) > 200 || strpbrk(path, " \t\r\n")) {
		json_decref(o);
		return send_error(conn, MHD_HTTP_BAD_REQUEST,
				  "\"path\" must be an absolute path without spaces (200 bytes at most)",
				  NULL);
	}
	snprintf(cmd, sizeof(cmd), "SNAPLOAD %s%s", flush ? "FLUSH " : "", path);
	json_decref(o);
	r = cp_core_command(h->core, cmd, reply, sizeof(reply), 10000);
	if (r != CP_OK)
		return send_error(conn, status_of(r), reply, NULL);
	return send_json(conn, MHD_HTTP_OK, json_pack("{s:b}", "ok", 1), NULL);
}

static enum MHD_Result get_snapload(struct cp_http *h, struct MHD_Connection *conn)
{
	char reply[WC_CP_LINE_MAX], *save = NULL, *e;
	json_t *o = json_object();
	enum cp_result r = cp_core_command(h->core, "SNAPLOAD STATUS", reply, sizeof(reply), 10000);

	if (r != CP_OK) {
		json_decref(o);
		return send_error(conn, status_of(r), reply, NULL);
	}
	if ((e = strstr(reply, " error=")) != NULL) {	/* (the reason: the rest of the line) */
		json_object_set_new(o, "error", json_string(e + 7));
		*e = 0;
	}
	for (char *w = strtok_r(reply, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '='), *end;
		double d;

		if (!eq)
			continue;
		*eq++ = 0;
		d = strtod(eq, &end);
		if (*eq && !*end)
			json_object_set_new(o, w, strchr(eq, '.') ? json_real(d)
								  : json_integer((json_int_t)d));
		else
			json_object_set_new(o, w, json_string(eq));
	}
	return send_json(conn, MHD_HTTP_OK, o, NULL);
}

/* POST /api/cluster/failover {"mode": ""|"FORCE"|"TAKEOVER"}: this node, a replica, takes
 * its master's place (wirecachectl failover; cpfailover.h) */
static enum MHD_Result post_failover(struct cp_http *h, struct MHD_Connection *conn,
				     struct req_ctx *rc)
{
	char err[256];
	json_t *o = parse_body(rc, true, err, sizeof(err));
	const char *mode = NULL;
	uint64_t epoch = 0;

	if (!o)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, err, NULL);
	mode = json_string_value(json_object_get(o, "mode"));
	if (cp_cluster_failover(h->core->cluster, mode ? mode : "", &epoch, err, sizeof(err)) != 0) {
		json_decref(o);
		return send_error(conn, strstr(err, "etcd") ? MHD_HTTP_SERVICE_UNAVAILABLE
							   : MHD_HTTP_CONFLICT, err, NULL);
	}
	json_decref(o);
	return send_json(conn, MHD_HTTP_OK, json_pack("{s:b,s:I}", "ok", 1, "epoch",
						      (json_int_t)epoch), NULL);
}

/* ---- routing ---- */

static const struct {
	const char *path;
	doc_fn fn;
	bool need_dataplane;
} docs[] = {
	{ "/api/status", doc_status, false },
	{ "/api/stats", doc_stats, false },
	{ "/api/history", doc_history, false },
	{ "/api/slots", doc_slots, true },
	{ "/api/alerts", doc_alerts, false },
	{ "/api/cluster", doc_cluster, false },
};

static enum MHD_Result route(struct cp_http *h, struct MHD_Connection *conn, const char *url,
			     const char *method, struct req_ctx *rc)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool post = strcmp(method, "POST") == 0;
	const struct cp_asset *a;

	if (strcmp(url, "/api/slots/move") == 0 || strcmp(url, "/api/flush") == 0 ||
	    strcmp(url, "/api/snapshot/save") == 0 || strcmp(url, "/api/cluster/failover") == 0) {
		if (!post)
			return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "this call changes state: use POST", "POST");
		if (rc->too_large)
			return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
					  "the body is larger than 4096 bytes", NULL);
		if (!token_ok(h, conn))
			return send_error(conn, MHD_HTTP_UNAUTHORIZED,
					  "missing or wrong token (Authorization: Bearer TOKEN)",
					  NULL);
		if (strcmp(url, "/api/snapshot/save") == 0)
			return post_snapshot(h, conn, rc);
		if (strcmp(url, "/api/cluster/failover") == 0)
			return post_failover(h, conn, rc);
		return url[5] == 's' ? post_move(h, conn, rc) : post_flush(h, conn, rc);
	}
	if (strcmp(url, "/api/snapshot") == 0) {
		if (!get)
			return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET", "GET, HEAD");
		return get_snapshot(h, conn);
	}
	if (strcmp(url, "/api/snapshot/load") == 0) {
		if (!post && !get)
			return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET or POST",
					  "GET, POST");
		if (rc->too_large)
			return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
					  "the body is larger than 4096 bytes", NULL);
		if (post && !token_ok(h, conn))
			return send_error(conn, MHD_HTTP_UNAUTHORIZED,
					  "missing or wrong token (Authorization: Bearer TOKEN)",
					  NULL);
		return post ? post_snapload(h, conn, rc) : get_snapload(h, conn);
	}
	for (unsigned i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		if (strcmp(url, docs[i].path) != 0)
			continue;
		if (!get)
			return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET", "GET, HEAD");
		return get_doc(h, conn, docs[i].fn, docs[i].need_dataplane);
	}
	if (strcmp(url, "/metrics") == 0) {
		if (!get)
			return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET", "GET, HEAD");
		return get_metrics(h, conn);
	}
	if ((a = cp_asset_find(url)) != NULL) {
		if (!get)
			return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET", "GET, HEAD");
		return get_asset(conn, a);
	}
	return send_error(conn, MHD_HTTP_NOT_FOUND,
			  "no such page: try /, /metrics, /api/status, /api/stats, /api/history, "
			  "/api/slots, /api/alerts, /api/cluster, /api/snapshot, POST /api/slots/move, "
			  "POST /api/flush, POST /api/snapshot/save, /api/snapshot/load, "
			  "POST /api/cluster/failover", NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct req_ctx *rc = *con_cls;

	(void)version;
	if (!rc) {
		/* headers are in: keep a body buffer for this request */
		if (!(rc = calloc(1, sizeof(*rc))))
			return MHD_NO;
		buf_init(&rc->body);
		*con_cls = rc;
		return MHD_YES;
	}
	if (*upload_size) {
		if (rc->body.len + *upload_size > BODY_MAX)
			rc->too_large = true;
		else
			buf_put(&rc->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return route(cls, conn, url, method, rc);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *rc = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (rc) {
		buf_free(&rc->body);
		free(rc);
		*con_cls = NULL;
	}
}

struct cp_http *cp_http_start(struct cp_core *core, const struct sockaddr_in *addr,
			      const char *token, char *err, size_t errlen)
{
	struct cp_http *h = calloc(1, sizeof(*h));
	char ip[INET_ADDRSTRLEN];

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->core = core;
	if (token && *token) {
		snprintf(h->token, sizeof(h->token), "%s", token);
		h->has_token = true;
	}
	h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					MHD_USE_ERROR_LOG,
				0, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR, addr,
				MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT,
				30u, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_END);
	if (!h->d) {
		inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip));
		snprintf(err, errlen, "cannot listen on %s:%u (in use, or not an address of this "
			 "host)", ip, ntohs(addr->sin_port));
		free(h);
		return NULL;
	}
	return h;
}

void cp_http_stop(struct cp_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
