/*
 * etcd.c - the etcd v3 JSON-gateway client (see etcd.h): requests with
 * libcurl, documents with jansson, base64 with libcrypto, and the watch
 * stream on a thread of its own.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"

#define RETRY_PAUSE_MS 50	/* between passes over the endpoints after a 503 */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- base64 and keys ---- */

char *etcd_b64_encode(const void *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

char *etcd_b64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *out;
	int len;

	if (n % 4)
		return NULL;
	out = malloc(3 * (n / 4) + 1);
	if (!out)
		return NULL;
	len = n ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : 0;
	if (len < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	if (n >= 1 && s[n - 1] == '=')
		pad++;
	if (n >= 2 && s[n - 2] == '=')
		pad++;
	len -= (int)pad;
	out[len] = 0;
	if (outlen)
		*outlen = (size_t)len;
	return (char *)out;
}

char *etcd_prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *end = strdup(prefix);

	if (!end)
		return NULL;
	/* the last byte that can be incremented; "\0" (every key) when none */
	while (n > 0) {
		if ((unsigned char)end[n - 1] < 0xff) {
			end[n - 1]++;
			end[n] = 0;
			return end;
		}
		n--;
	}
	end[0] = 0;
	return end;
}

/* int64 fields come as JSON strings ("42") from the gateway; absent means 0. */
static int64_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

static json_t *jb64(const char *p, size_t n)
{
	char *b = etcd_b64_encode(p, n);
	json_t *s = b ? json_string(b) : NULL;

	free(b);
	return s;
}

/* ---- client ---- */

int etcd_init(struct etcd *e, const char *urls, unsigned timeout_ms)
{
	char *copy, *tok, *save = NULL;

	pthread_once(&curl_once, curl_init_once);
	memset(e, 0, sizeof(*e));
	e->timeout_ms = timeout_ms ? timeout_ms : 2000;
	snprintf(e->urls, sizeof(e->urls), "%s", urls ? urls : "");
	copy = strdup(urls ? urls : "");
	if (!copy) {
		snprintf(e->err, sizeof(e->err), "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t len = strlen(tok);

		if (strncmp(tok, "http://", 7) != 0 || len <= 7) {
			snprintf(e->err, sizeof(e->err), "etcd endpoint '%.100s' is not http://HOST:PORT",
				 tok);
			goto fail;
		}
		if (e->n == ETCD_ENDPOINTS_MAX) {
			snprintf(e->err, sizeof(e->err), "at most %d etcd endpoints",
				 ETCD_ENDPOINTS_MAX);
			goto fail;
		}
		while (len > 7 && tok[len - 1] == '/')
			tok[--len] = 0;
		if (!(e->endpoints[e->n++] = strdup(tok)))
			goto fail;
	}
	free(copy);
	if (e->n == 0) {
		snprintf(e->err, sizeof(e->err), "no etcd endpoint given");
		return -1;
	}
	return 0;
fail:
	free(copy);
	etcd_free(e);
	return -1;
}

void etcd_free(struct etcd *e)
{
	for (unsigned i = 0; i < e->n; i++)
		free(e->endpoints[i]);
	e->n = 0;
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->urls;
}

struct body {
	char *p;
	size_t len, cap;
	bool overflow;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > (64u << 20) || !(p = realloc(b->p, cap))) {
			b->overflow = true;
			return 0;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
	return n;
}

/* The error text of a non-200 answer: {"error": "...", "message": "...", "code": N}. */
static void answer_error(struct etcd *e, const char *path, long status, const struct body *b)
{
	json_t *o = b->p ? json_loadb(b->p, b->len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(o, "message"));

	if (!m)
		m = json_string_value(json_object_get(o, "error"));
	snprintf(e->err, sizeof(e->err), "etcd %s: HTTP %ld: %.180s", path, status,
		 m ? m : (b->p ? b->p : ""));
	json_decref(o);
}

/*
 * POST body to path at one endpoint after the other (the last good one
 * first) within the client's deadline; *out gets the answer. A non-200
 * answer is etcd's word and not retried elsewhere, except 503 (etcd's
 * "unavailable": leader changed, no leader, a proposal timed out while a
 * member of three is down and the others elect a leader): that is tried on
 * the next endpoint and, after a pause, on all of them again until the
 * deadline. Retrying is safe for every call this client makes (ranges and
 * lease calls read or renew, puts write the same value, transactions compare
 * the map's revision: one that did apply fails its compare when repeated, so
 * at worst it reports a conflict; it never applies twice).
 */
static int post(struct etcd *e, const char *path, json_t *req, json_t **out)
{
	char *text = json_dumps(req, JSON_COMPACT);
	int64_t deadline = mono_ms() + e->timeout_ms;
	char lasterr[sizeof(e->err)] = "no endpoint tried";
	bool unavailable = false, any503 = false;	/* a 503 in this pass, in any */
	int rc = -1;

	*out = NULL;
	if (!text) {
		snprintf(e->err, sizeof(e->err), "out of memory");
		return -1;
	}
	e->unreachable = false;
	for (unsigned k = 0;; k++) {
		unsigned idx = (e->cur + k) % e->n, pass_left = e->n - k % e->n;
		int64_t left = deadline - mono_ms();
		struct body b = { 0 };
		char url[512];
		CURL *c;
		CURLcode cc;
		long status = 0;
		struct curl_slist *hdr = NULL;

		if (k >= e->n && k % e->n == 0) {	/* a pass over all endpoints done */
			if (!unavailable || left <= RETRY_PAUSE_MS)
				break;
			usleep(RETRY_PAUSE_MS * 1000);
			unavailable = false;
			left = deadline - mono_ms();
		}
		if (left <= 0)
			break;
		if (!(c = curl_easy_init()))
			break;
		snprintf(url, sizeof(url), "%s%s", e->endpoints[idx], path);
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
		/* leave time for the others when one endpoint hangs */
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
				 (long)(left / pass_left > 100 ? left / pass_left : 100));
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROXY, "");
		cc = curl_easy_perform(c);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		if (cc != CURLE_OK) {
			snprintf(lasterr, sizeof(lasterr), "%s", curl_easy_strerror(cc));
			free(b.p);
			continue;
		}
		if (status == 503) {	/* unavailable for now: another member, or later */
			answer_error(e, path, status, &b);
			snprintf(lasterr, sizeof(lasterr), "%s", e->err);
			unavailable = any503 = true;
			free(b.p);
			continue;
		}
		e->cur = idx;
		if (status != 200) {
			answer_error(e, path, status, &b);
		} else if (!(*out = b.p ? json_loadb(b.p, b.len, 0, NULL) : NULL)) {
			snprintf(e->err, sizeof(e->err), "etcd %s: an answer that is not JSON", path);
		} else {
			rc = 0;
		}
		free(b.p);
		free(text);
		return rc;
	}
	free(text);
	if (any503) {	/* answered, but 503 until the deadline */
		snprintf(e->err, sizeof(e->err), "%s", lasterr);
		return -1;
	}
	e->unreachable = true;
	snprintf(e->err, sizeof(e->err), "etcd unreachable at %.180s (%.48s)", e->urls, lasterr);
	return -1;
}

static int kv_from_json(const json_t *o, struct etcd_kv *kv)
{
	const char *k = json_string_value(json_object_get(o, "key"));
	const char *v = json_string_value(json_object_get(o, "value"));

	memset(kv, 0, sizeof(*kv));
	kv->key = k ? etcd_b64_decode(k, NULL) : strdup("");
	kv->value = v ? etcd_b64_decode(v, &kv->vlen) : strdup("");
	kv->create_rev = jint(o, "create_revision");
	kv->mod_rev = jint(o, "mod_revision");
	kv->version = jint(o, "version");
	kv->lease = jint(o, "lease");
	if (!kv->key || !kv->value) {
		free(kv->key);
		free(kv->value);
		kv->key = kv->value = NULL;
		return -1;
	}
	return 0;
}

static void kv_free(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
}

/* key (and range_end for a prefix) into req */
static int set_key(json_t *req, const char *key, bool prefix)
{
	json_object_set_new(req, "key", jb64(key, strlen(key)));
	if (prefix) {
		char *end = etcd_prefix_end(key);

		if (!end)
			return -1;
		json_object_set_new(req, "range_end", end[0] ? jb64(end, strlen(end)) : jb64("", 1));
		free(end);
	}
	return 0;
}

int etcd_get(struct etcd *e, const char *key, bool prefix, struct etcd_range *out)
{
	json_t *req = json_object(), *ans = NULL, *kvs, *x;
	size_t i;

	memset(out, 0, sizeof(*out));
	set_key(req, key, prefix);
	if (post(e, "/v3/kv/range", req, &ans) != 0) {
		json_decref(req);
		return -1;
	}
	json_decref(req);
	out->revision = jint(json_object_get(ans, "header"), "revision");
	kvs = json_object_get(ans, "kvs");
	if (json_array_size(kvs)) {
		out->kvs = calloc(json_array_size(kvs), sizeof(*out->kvs));
		if (!out->kvs)
			goto bad;
		json_array_foreach(kvs, i, x) {
			if (kv_from_json(x, &out->kvs[out->n]) != 0)
				goto bad;
			out->n++;
		}
	}
	json_decref(ans);
	return 0;
bad:
	snprintf(e->err, sizeof(e->err), "etcd range: a key or value that is not base64");
	json_decref(ans);
	etcd_range_free(out);
	return -1;
}

void etcd_range_free(struct etcd_range *r)
{
	for (size_t i = 0; i < r->n; i++)
		kv_free(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

static json_t *put_req(const char *key, const char *value, size_t vlen, int64_t lease)
{
	json_t *req = json_object();
	char id[32];

	set_key(req, key, false);
	json_object_set_new(req, "value", jb64(value, vlen));
	if (lease) {
		snprintf(id, sizeof(id), "%lld", (long long)lease);
		json_object_set_new(req, "lease", json_string(id));
	}
	return req;
}

int etcd_put(struct etcd *e, const char *key, const char *value, size_t vlen, int64_t lease)
{
	json_t *req = put_req(key, value, vlen, lease), *ans = NULL;
	int rc = post(e, "/v3/kv/put", req, &ans);

	json_decref(req);
	json_decref(ans);
	return rc;
}

int etcd_delete(struct etcd *e, const char *key, bool prefix, int64_t *deleted)
{
	json_t *req = json_object(), *ans = NULL;
	int rc;

	set_key(req, key, prefix);
	rc = post(e, "/v3/kv/deleterange", req, &ans);
	if (rc == 0 && deleted)
		*deleted = jint(ans, "deleted");
	json_decref(req);
	json_decref(ans);
	return rc;
}

int etcd_txn(struct etcd *e, const struct etcd_cmp *cmp, size_t ncmp, const struct etcd_op *ops,
	     size_t nops, bool *succeeded)
{
	json_t *req = json_object(), *compare = json_array(), *success = json_array(), *ans = NULL;
	char num[32];
	int rc;

	for (size_t i = 0; i < ncmp; i++) {
		json_t *c = json_object();

		snprintf(num, sizeof(num), "%lld", (long long)cmp[i].rev);
		json_object_set_new(c, "key", jb64(cmp[i].key, strlen(cmp[i].key)));
		json_object_set_new(c, "result", json_string("EQUAL"));
		if (cmp[i].target == ETCD_CMP_CREATE) {
			json_object_set_new(c, "target", json_string("CREATE"));
			json_object_set_new(c, "create_revision", json_string(num));
		} else {
			json_object_set_new(c, "target", json_string("MOD"));
			json_object_set_new(c, "mod_revision", json_string(num));
		}
		json_array_append_new(compare, c);
	}
	for (size_t i = 0; i < nops; i++) {
		json_t *op;

		if (ops[i].value) {
			op = json_pack("{s:o}", "request_put",
				       put_req(ops[i].key, ops[i].value, ops[i].vlen, ops[i].lease));
		} else {
			json_t *d = json_object();

			set_key(d, ops[i].key, false);
			op = json_pack("{s:o}", "request_delete_range", d);
		}
		json_array_append_new(success, op);
	}
	json_object_set_new(req, "compare", compare);
	json_object_set_new(req, "success", success);
	rc = post(e, "/v3/kv/txn", req, &ans);
	if (rc == 0 && succeeded)
		*succeeded = json_is_true(json_object_get(ans, "succeeded"));
	json_decref(req);
	json_decref(ans);
	return rc;
}

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id, int64_t *granted_ttl)
{
	char num[32];
	json_t *req, *ans = NULL;
	int rc;

	snprintf(num, sizeof(num), "%lld", (long long)ttl_s);
	req = json_pack("{s:s}", "TTL", num);
	rc = post(e, "/v3/lease/grant", req, &ans);
	json_decref(req);
	if (rc == 0) {
		const char *err = json_string_value(json_object_get(ans, "error"));

		*id = jint(ans, "ID");
		if (granted_ttl)
			*granted_ttl = jint(ans, "TTL");
		if ((err && *err) || *id == 0) {
			snprintf(e->err, sizeof(e->err), "etcd lease grant: %.200s",
				 err ? err : "no lease id in the answer");
			rc = -1;
		}
	}
	json_decref(ans);
	return rc;
}

int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl)
{
	char num[32];
	json_t *req, *ans = NULL, *res;
	int rc;

	snprintf(num, sizeof(num), "%lld", (long long)id);
	req = json_pack("{s:s}", "ID", num);
	/* a stream endpoint: one request, one {"result": ...} for it, then the end */
	rc = post(e, "/v3/lease/keepalive", req, &ans);
	json_decref(req);
	if (rc == 0) {
		res = json_object_get(ans, "result");
		if (!res) {
			const json_t *er = json_object_get(ans, "error");
			const char *m = json_string_value(json_object_get(er, "message"));

			snprintf(e->err, sizeof(e->err), "etcd lease keepalive: %.200s",
				 m ? m : "no result");
			rc = -1;
		} else {
			*ttl = jint(res, "TTL");
		}
	}
	json_decref(ans);
	return rc;
}

/* ---- watch ---- */

struct etcd_watch {
	struct etcd ep;			/* endpoints only */
	char *prefix;
	etcd_watch_cb cb;
	void *arg;
	pthread_t thread;
	volatile int stop;
	volatile int connected;
	struct body line;		/* bytes of the stream not yet parsed */
};

static int watch_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct etcd_watch *w = arg;

	(void)a, (void)b, (void)c, (void)d;
	return __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) ? 1 : 0;
}

/* One message of the stream: {"result": {...}} or {"error": {...}}. -1 ends the stream. */
static int watch_message(struct etcd_watch *w, const char *text, size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL), *res, *evs, *ev;
	size_t i;
	int rc = 0;

	if (!o)
		return -1;
	res = json_object_get(o, "result");
	if (!res) {
		json_decref(o);
		return -1;
	}
	if (json_is_true(json_object_get(res, "canceled"))) {
		json_decref(o);
		return -1;
	}
	if (json_is_true(json_object_get(res, "created"))) {
		__atomic_store_n(&w->connected, 1, __ATOMIC_RELEASE);
		w->cb(w->arg, ETCD_EV_RESYNC, NULL);
	}
	evs = json_object_get(res, "events");
	json_array_foreach(evs, i, ev) {
		const char *type = json_string_value(json_object_get(ev, "type"));
		struct etcd_kv kv;

		if (kv_from_json(json_object_get(ev, "kv"), &kv) != 0) {
			rc = -1;
			break;
		}
		w->cb(w->arg, type && strcmp(type, "DELETE") == 0 ? ETCD_EV_DELETE : ETCD_EV_PUT,
		      &kv);
		kv_free(&kv);
	}
	json_decref(o);
	return rc;
}

static size_t watch_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct etcd_watch *w = arg;
	size_t n = size * nmemb, start = 0;

	if (on_body(data, size, nmemb, &w->line) != n)
		return 0;
	/* the gateway ends every message with a newline */
	for (size_t i = 0; i < w->line.len; i++) {
		if (w->line.p[i] != '\n')
			continue;
		if (i > start && watch_message(w, w->line.p + start, i - start) != 0)
			return 0;
		start = i + 1;
	}
	memmove(w->line.p, w->line.p + start, w->line.len - start);
	w->line.len -= start;
	return n;
}

static void watch_once(struct etcd_watch *w, const char *endpoint)
{
	char url[512], *end = etcd_prefix_end(w->prefix), *text;
	json_t *req;
	struct curl_slist *hdr = NULL;
	CURL *c;

	if (!end)
		return;
	req = json_pack("{s:{s:o,s:o}}", "create_request", "key",
			jb64(w->prefix, strlen(w->prefix)), "range_end",
			end[0] ? jb64(end, strlen(end)) : jb64("", 1));
	free(end);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text || !(c = curl_easy_init())) {
		free(text);
		return;
	}
	w->line.len = 0;
	snprintf(url, sizeof(url), "%s/v3/watch", endpoint);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_perform(c);
	__atomic_store_n(&w->connected, 0, __ATOMIC_RELEASE);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(text);
}

static void *watch_main(void *arg)
{
	struct etcd_watch *w = arg;
	unsigned k = 0;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		watch_once(w, w->ep.endpoints[k++ % w->ep.n]);
		/* a pause before the next try (and the next endpoint) */
		for (int i = 0; i < 5 && !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE); i++)
			nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	return NULL;
}

struct etcd_watch *etcd_watch_start(const char *urls, const char *prefix, etcd_watch_cb cb,
				    void *arg)
{
	struct etcd_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	if (etcd_init(&w->ep, urls, 0) != 0 || !(w->prefix = strdup(prefix))) {
		etcd_free(&w->ep);
		free(w);
		return NULL;
	}
	w->cb = cb;
	w->arg = arg;
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		etcd_free(&w->ep);
		free(w->prefix);
		free(w);
		return NULL;
	}
	return w;
}

bool etcd_watch_connected(const struct etcd_watch *w)
{
	return w && __atomic_load_n(&w->connected, __ATOMIC_ACQUIRE);
}

void etcd_watch_stop(struct etcd_watch *w)
{
	if (!w)
		return;
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	pthread_join(w->thread, NULL);
	etcd_free(&w->ep);
	free(w->prefix);
	free(w->line.p);
	free(w);
}
