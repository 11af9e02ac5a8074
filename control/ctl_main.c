/*
 * ctl_main.c - wirecachectl, the control plane's CLI. It talks to one
 * wirecache-cp over its HTTP API and prints what it finds for people, or
 * the API's JSON with --json.
 *
 *   wirecachectl [--url http://ADDR:PORT | --node N] [--token T] [--json]
 *                [--timeout SECS] COMMAND [ARGS]
 *
 *   status                     the node at a glance (exit 1 when detached)
 *   stats                      every counter, rate and latency figure
 *   top [--count N] [--interval SECS]
 *                              live per-core view: ops/s, hit rate, memory, p99
 *   slots                      the slot table as ranges
 *   slots move FROM-TO PART    move slots to partition PART, live
 *   alerts                     alert rules and their state
 *   flush [--delay SECS]       flush_all on every partition
 *   snapshot load FILE [--flush]  load an RDB file into the node (waits; exit 1 if it failed)
 *   snapshot [save [--wait]]   the RDB saver's state; start a save (and wait)
 *   cluster create|info|check|add-node|del-node --etcd URL [--cluster-name N]
 *                              the cluster in etcd (ctl_cluster.c)
 *   cluster reshard|rebalance ... --etcd URL
 *                              live slot moves between nodes (ctl_reshard.c)
 *
 * Exit status: 0 done, 1 failed (wirecache-cp unreachable, an API error, a
 * failed move), 2 bad usage (unknown command or option, invalid range).
 */
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_cluster.h"
#include "httpc.h"
#include "slotrange.h"
#include "wirecache/cpshm.h"

struct ctl {
	struct http_target target;
	const char *token;
	bool json;
	unsigned timeout_ms;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "wirecachectl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nUsage: wirecachectl [--url URL | --node N] [--token T] [--json] "
		"[--timeout SECS]\n"
		"                    status | stats | top [--count N] [--interval SECS] | slots |\n"
		"                    slots move FROM-TO PARTITION | alerts | flush [--delay SECS] |\n"
		"                    snapshot [save [--wait]] | snapshot load FILE [--flush] |\n"
		"                    cluster create|info|check|add-node|del-node|reshard|rebalance "
		"--etcd URL\n");
	return 2;
}

/* ---- talking to wirecache-cp ---- */

/* The JSON of a call; NULL (after printing why) on failure. */
static json_t *call(const struct ctl *c, const char *method, const char *path, const char *body,
		    unsigned timeout_ms)
{
	struct http_resp r;
	char err[256];
	json_error_t je;
	json_t *o;

	if (httpc_request(&c->target, method, path, c->token, body, timeout_ms, &r, err,
			  sizeof(err)) != 0) {
		fprintf(stderr, "wirecachectl: %s\n", err);
		return NULL;
	}
	o = json_loadb(r.body, r.len, 0, &je);
	if (!o) {
		fprintf(stderr, "wirecachectl: %s %s: HTTP %d with a body that is not JSON\n",
			method, path, r.status);
		http_resp_free(&r);
		return NULL;
	}
	if (r.status != 200) {
		const char *e = json_string_value(json_object_get(o, "error"));

		fprintf(stderr, "wirecachectl: %s (HTTP %d)\n", e ? e : "request failed", r.status);
		if (c->json) {
			json_dumpf(o, stdout, JSON_INDENT(2));
			putchar('\n');
		}
		http_resp_free(&r);
		json_decref(o);
		return NULL;
	}
	http_resp_free(&r);
	return o;
}

static void print_json(const json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
}

/* ---- formatting ---- */

static double num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static bool is_null(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return !v || json_is_null(v);
}

static const char *human(double v, char *buf, size_t n)
{
	if (v >= 1e9)
		snprintf(buf, n, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
	return buf;
}

static const char *pct(const json_t *o, const char *key, char *buf, size_t n)
{
	if (is_null(o, key))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f%%", num(o, key) * 100);
	return buf;
}

static const char *us(const json_t *o, const char *key, char *buf, size_t n)
{
	if (is_null(o, key))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f", num(o, key));
	return buf;
}

static double mib(double b)
{
	return b / 1048576.0;
}

/* ---- commands ---- */

static int cmd_status(const struct ctl *c)
{
	json_t *st = call(c, "GET", "/api/status", NULL, c->timeout_ms), *s, *d;
	char a[32], b[32], e[32];
	int rc;

	if (!st)
		return 1;
	if (c->json) {
		print_json(st);
		rc = json_is_true(json_object_get(st, "attached")) ? 0 : 1;
		json_decref(st);
		return rc;
	}
	if (!json_is_true(json_object_get(st, "attached"))) {
		printf("node %s: NOT attached to a dataplane (%s): %s\n",
		       json_string_value(json_object_get(st, "node")),
		       json_string_value(json_object_get(st, "socket")),
		       json_string_value(json_object_get(st, "error")));
		json_decref(st);
		return 1;
	}
	json_decref(st);
	if (!(s = call(c, "GET", "/api/stats", NULL, c->timeout_ms)))
		return 1;
	d = json_object_get(s, "dataplane");
	printf("node %s: attached to wirecache-dp %s (pid %lld), up %lld s\n",
	       json_string_value(json_object_get(s, "node")),
	       json_string_value(json_object_get(d, "version")),
	       (long long)num(d, "pid"), (long long)num(d, "uptime_s"));
	{
		json_t *m = json_object_get(s, "memory"), *stats = json_object_get(s, "stats");

		printf("  %lld worker lcore(s), %lld partition(s), memory %.1f of %.1f MiB (%.0f%%), "
		       "%s items\n",
		       (long long)num(d, "workers"), (long long)num(d, "partitions"),
		       mib(num(m, "used_bytes")), mib(num(m, "limit_bytes")),
		       num(m, "used_ratio") * 100, human(num(stats, "curr_items"), a, sizeof(a)));
		{
			json_t *r = json_object_get(s, "rates"), *w = json_object_get(s, "window");
			json_t *lat = json_object_get(w, "latency_us");

			printf("  ops/s %s, hit rate %s, p99 %s us, connections %lld\n",
			       r && !json_is_null(r) ? human(num(r, "ops_per_s"), a, sizeof(a)) : "-",
			       pct(w, "hit_rate", b, sizeof(b)), us(lat, "p99", e, sizeof(e)),
			       (long long)num(stats, "curr_connections"));
		}
	}
	{
		json_t *al = json_object_get(json_object_get(s, "alerts"), "alerts"), *x;
		size_t i;
		int firing = 0;

		printf("  alerts firing:");
		json_array_foreach(al, i, x) {
			if (strcmp(json_string_value(json_object_get(x, "state")), "firing") == 0) {
				printf(" %s", json_string_value(json_object_get(x, "name")));
				firing++;
			}
		}
		printf("%s\n", firing ? "" : " none");
	}
	json_decref(s);
	return 0;
}

static void print_lcores(const json_t *s)
{
	json_t *lcs = json_object_get(s, "lcores"), *l;
	size_t i;
	char a[32], b[32], e[32];

	printf("%-6s %10s %9s %18s %10s  %s\n", "lcore", "ops/s", "hit rate", "memory MiB",
	       "p99 us", "partitions");
	json_array_foreach(lcs, i, l) {
		char parts[128] = "";
		json_t *p;
		size_t k;

		json_array_foreach(json_object_get(l, "partitions"), k, p) {
			size_t len = strlen(parts);

			snprintf(parts + len, sizeof(parts) - len, "%s%lld", k ? "," : "",
				 (long long)json_integer_value(p));
		}
		/* how many, then which: "1 (0)", never a bare id that reads as a count */
		printf("%-6lld %10s %9s %8.1f / %7.1f %10s  %zu (%s)\n", (long long)num(l, "lcore"),
		       human(num(l, "ops_per_s"), a, sizeof(a)), pct(l, "hit_rate", b, sizeof(b)),
		       mib(num(l, "memory_bytes")), mib(num(l, "memory_limit")),
		       us(l, "p99_us", e, sizeof(e)), json_array_size(json_object_get(l, "partitions")),
		       parts);
	}
}

static int cmd_stats(const struct ctl *c)
{
	json_t *s = call(c, "GET", "/api/stats", NULL, c->timeout_ms), *v, *lat, *r;
	const char *k;
	char a[32], b[32], d[32], e[32];

	if (!s)
		return 1;
	if (c->json || !json_is_true(json_object_get(s, "attached"))) {
		int rc = json_is_true(json_object_get(s, "attached")) ? 0 : 1;

		if (c->json)
			print_json(s);
		else
			printf("node %s: not attached: %s\n",
			       json_string_value(json_object_get(s, "node")),
			       json_string_value(json_object_get(s, "error")));
		json_decref(s);
		return rc;
	}
	printf("counters (memcached stats names):\n");
	json_object_foreach(json_object_get(s, "stats"), k, v)
		printf("  %-36s %lld\n", k, (long long)json_integer_value(v));
	r = json_object_get(s, "rates");
	if (r && !json_is_null(r))
		printf("rates (last interval): ops/s %.1f, gets/s %.1f, sets/s %.1f, hit rate %s, "
		       "evictions/s %.1f, rx pkt/s %.1f, tx pkt/s %.1f, rx bytes/s %.1f, "
		       "tx bytes/s %.1f\n",
		       num(r, "ops_per_s"), num(r, "gets_per_s"), num(r, "sets_per_s"),
		       pct(r, "hit_rate", a, sizeof(a)), num(r, "evictions_per_s"),
		       num(r, "rx_packets_per_s"), num(r, "tx_packets_per_s"),
		       num(r, "rx_bytes_per_s"), num(r, "tx_bytes_per_s"));
	lat = json_object_get(json_object_get(s, "window"), "latency_us");
	printf("latency over the last %.0f s (us): p50 %s, p95 %s, p99 %s, p99.9 %s (%lld ops)\n",
	       num(json_object_get(s, "window"), "seconds"), us(lat, "p50", a, sizeof(a)),
	       us(lat, "p95", b, sizeof(b)), us(lat, "p99", d, sizeof(d)),
	       us(lat, "p999", e, sizeof(e)), (long long)num(lat, "samples"));
	lat = json_object_get(s, "latency_us");
	printf("latency since start (us): p50 %.1f, p95 %.1f, p99 %.1f, p99.9 %.1f, mean %.1f "
	       "(%lld ops)\n", num(lat, "p50"), num(lat, "p95"), num(lat, "p99"), num(lat, "p999"),
	       num(lat, "mean"), (long long)num(lat, "count"));
	print_lcores(s);
	{
		json_t *p;
		size_t i;

		printf("%-9s %6s %10s %12s %12s %10s\n", "partition", "lcore", "items", "bytes",
		       "limit", "evictions");
		json_array_foreach(json_object_get(s, "partitions"), i, p)
			printf("%-9lld %6lld %10lld %12lld %12lld %10lld\n",
			       (long long)num(p, "partition"), (long long)num(p, "lcore"),
			       (long long)num(p, "items"), (long long)num(p, "bytes"),
			       (long long)num(p, "limit_bytes"), (long long)num(p, "evictions"));
	}
	json_decref(s);
	return 0;
}

static int cmd_top(const struct ctl *c, int argc, char **argv)
{
	unsigned long count = 0, interval = 1;
	bool tty = isatty(STDOUT_FILENO);
	unsigned long n = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			if (cp_parse_uint(argv[++i], 1000000, &count) != 0)
				return usage_error("top: --count wants a whole number, not '%s'",
						   argv[i]);
		} else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			if (cp_parse_uint(argv[++i], 3600, &interval) != 0 || interval == 0)
				return usage_error("top: --interval wants 1..3600 seconds, not '%s'",
						   argv[i]);
		} else {
			return usage_error("top: unknown argument '%s'", argv[i]);
		}
	}
	signal(SIGINT, on_sigint);
	while (!interrupted && (count == 0 || n < count)) {
		json_t *s = call(c, "GET", "/api/stats", NULL, c->timeout_ms), *r, *w, *m;
		char a[32], b[32], e[32], in[32], out[32], when[32];
		time_t t = time(NULL);

		if (!s)
			return 1;
		if (c->json) {
			json_dumpf(s, stdout, JSON_COMPACT);
			putchar('\n');
		} else if (!json_is_true(json_object_get(s, "attached"))) {
			printf("%snode %s: not attached: %s\n", tty ? "\033[H\033[2J" : "",
			       json_string_value(json_object_get(s, "node")),
			       json_string_value(json_object_get(s, "error")));
		} else {
			r = json_object_get(s, "rates");
			w = json_object_get(s, "window");
			m = json_object_get(s, "memory");
			strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
			printf("%swirecache top - node %s - %s - ops/s %s, hit rate %s, memory %.1f/"
			       "%.1f MiB, p99 %s us, net in/out %s/%s B/s\n\n",
			       tty ? "\033[H\033[2J" : "",
			       json_string_value(json_object_get(s, "node")), when,
			       r && !json_is_null(r) ? human(num(r, "ops_per_s"), a, sizeof(a)) : "-",
			       pct(w, "hit_rate", b, sizeof(b)), mib(num(m, "used_bytes")),
			       mib(num(m, "limit_bytes")),
			       us(json_object_get(w, "latency_us"), "p99", e, sizeof(e)),
			       r && !json_is_null(r) ? human(num(r, "rx_bytes_per_s"), in, sizeof(in))
						     : "-",
			       r && !json_is_null(r) ? human(num(r, "tx_bytes_per_s"), out, sizeof(out))
						     : "-");
			print_lcores(s);
			if (!tty)
				putchar('\n');
		}
		fflush(stdout);
		json_decref(s);
		if (++n == count)
			break;
		for (unsigned long k = 0; k < interval * 10 && !interrupted; k++)
			nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	return 0;
}

static void print_move(const json_t *m)
{
	printf("move %lld: slots %lld-%lld to partition %lld: %s\n", (long long)num(m, "id"),
	       (long long)num(m, "from"), (long long)num(m, "to"), (long long)num(m, "partition"),
	       json_string_value(json_object_get(m, "state")));
	printf("  %lld slot(s) changed partition, %lld key(s) copied (%lld failed) in %.1f ms, "
	       "%lld old copies dropped\n", (long long)num(m, "slots"),
	       (long long)num(m, "keys_copied"), (long long)num(m, "copy_failed"),
	       num(m, "copy_us") / 1000, (long long)num(m, "keys_dropped"));
	printf("  writes to those slots paused %.1f ms (%lld parked and forwarded), total %.1f ms\n",
	       num(m, "freeze_us") / 1000, (long long)num(m, "parked_writes"),
	       num(m, "total_us") / 1000);
	if (json_string_length(json_object_get(m, "error")))
		printf("  %s\n", json_string_value(json_object_get(m, "error")));
}

static int cmd_slots(const struct ctl *c, int argc, char **argv)
{
	json_t *s, *x;
	size_t i;

	if (argc >= 1 && strcmp(argv[0], "move") == 0) {
		unsigned from, to;
		unsigned long part;
		char err[160], body[128];
		json_t *r;

		if (argc != 3)
			return usage_error("slots move wants FROM-TO PARTITION%s", "");
		if (cp_parse_slot_range(argv[1], &from, &to, err, sizeof(err)) != 0)
			return usage_error("%s", err);
		if (cp_parse_uint(argv[2], WC_SLOT_PART_MASK - 1, &part) != 0)
			return usage_error("invalid partition '%s': want a whole number", argv[2]);
		snprintf(body, sizeof(body), "{\"from\":%u,\"to\":%u,\"partition\":%lu}", from, to,
			 part);
		/* a move can take a while on a big cache */
		if (!(r = call(c, "POST", "/api/slots/move", body, 180000)))
			return 1;
		if (c->json)
			print_json(r);
		else
			print_move(json_object_get(r, "move"));
		json_decref(r);
		return 0;
	}
	if (argc != 0)
		return usage_error("slots: unknown argument '%s' (slots, or slots move FROM-TO "
				   "PARTITION)", argv[0]);
	if (!(s = call(c, "GET", "/api/slots", NULL, c->timeout_ms)))
		return 1;
	if (c->json) {
		print_json(s);
		json_decref(s);
		return 0;
	}
	printf("slot table epoch %lld, %d slots\n", (long long)num(s, "epoch"), WC_SLOTS);
	printf("%-13s %9s %6s %5s\n", "slots", "partition", "lcore", "node");
	json_array_foreach(json_object_get(s, "ranges"), i, x) {
		char r[24];

		snprintf(r, sizeof(r), "%lld-%lld", (long long)num(x, "from"), (long long)num(x, "to"));
		printf("%-13s %9lld %6lld %5lld%s\n", r, (long long)num(x, "partition"),
		       (long long)num(x, "lcore"), (long long)num(x, "node"),
		       json_is_true(json_object_get(x, "moving")) ? "  (moving)" : "");
	}
	printf("slots per partition:");
	json_array_foreach(json_object_get(s, "partitions"), i, x)
		printf(" %lld:%lld", (long long)num(x, "partition"), (long long)num(x, "slots"));
	printf("\n");
	x = json_object_get(s, "last_move");
	if (num(x, "id") > 0) {
		printf("last ");
		print_move(x);
	}
	json_decref(s);
	return 0;
}

static int cmd_alerts(const struct ctl *c)
{
	json_t *s = call(c, "GET", "/api/alerts", NULL, c->timeout_ms), *x;
	size_t i;

	if (!s)
		return 1;
	if (c->json) {
		print_json(s);
		json_decref(s);
		return 0;
	}
	printf("%-12s %-8s %-9s %s\n", "rule", "state", "since", "detail");
	json_array_foreach(json_object_get(s, "alerts"), i, x) {
		char since[16] = "-";
		time_t t = (time_t)(num(x, "since_ms") / 1000);

		if (t)
			strftime(since, sizeof(since), "%H:%M:%S", localtime(&t));
		printf("%-12s %-8s %-9s %s\n", json_string_value(json_object_get(x, "name")),
		       json_string_value(json_object_get(x, "state")), since,
		       json_string_value(json_object_get(x, "message")));
	}
	json_decref(s);
	return 0;
}

static int cmd_flush(const struct ctl *c, int argc, char **argv)
{
	unsigned long delay = 0;
	char body[64];
	json_t *r;

	if (argc == 2 && strcmp(argv[0], "--delay") == 0) {
		if (cp_parse_uint(argv[1], 100ul * 365 * 86400, &delay) != 0)
			return usage_error("flush: --delay wants whole seconds, not '%s'", argv[1]);
	} else if (argc != 0) {
		return usage_error("flush: unknown argument '%s' (flush [--delay SECS])", argv[0]);
	}
	snprintf(body, sizeof(body), "{\"delay\":%lu}", delay);
	if (!(r = call(c, "POST", "/api/flush", body, c->timeout_ms)))
		return 1;
	if (c->json)
		print_json(r);
	else if (delay)
		printf("flush scheduled: items expire in %lu s\n", delay);
	else
		printf("flushed\n");
	json_decref(r);
	return 0;
}

static void print_snapshot_status(json_t *st)
{
	long long last = json_integer_value(json_object_get(st, "lastsave"));

	printf("snapshot: %s; %lld good save(s), %lld failed; last good at %lld (Unix): %lld keys, "
	       "%lld bytes in %lld ms; last save %s\n",
	       json_is_true(json_object_get(st, "in_progress")) ? "saving" : "idle",
	       json_integer_value(json_object_get(st, "saves")),
	       json_integer_value(json_object_get(st, "failed")), last,
	       json_integer_value(json_object_get(st, "keys")),
	       json_integer_value(json_object_get(st, "bytes")),
	       json_integer_value(json_object_get(st, "ms")),
	       json_is_true(json_object_get(st, "last_ok")) ? "ok" : "failed");
}

/* snapshot [save [--wait]]: an RDB save through wirecache-cp (control/cpsnap.h) */
static int cmd_snapshot(const struct ctl *c, int argc, char **argv)
{
	bool wait = false;
	char body[96];
	json_t *r;

	if (argc == 0) {
		if (!(r = call(c, "GET", "/api/snapshot", NULL, c->timeout_ms)))
			return 1;
		if (c->json)
			print_json(r);
		else
			print_snapshot_status(r);
		json_decref(r);
		return 0;
	}
	if (strcmp(argv[0], "save") != 0)
		return usage_error("snapshot: unknown subcommand '%s' (snapshot [save [--wait]])",
				   argv[0]);
	if (argc == 2 && strcmp(argv[1], "--wait") == 0)
		wait = true;
	else if (argc != 1)
		return usage_error("snapshot save: unknown argument '%s' (snapshot save [--wait])",
				   argv[1]);
	/* the server waits a little less than we do, so its answer comes back */
	snprintf(body, sizeof(body), "{\"wait\":%s,\"timeout_ms\":%u}", wait ? "true" : "false",
		 c->timeout_ms > 2000 ? c->timeout_ms - 1000 : c->timeout_ms);
	if (!(r = call(c, "POST", "/api/snapshot/save", body, c->timeout_ms)))
		return 1;
	if (c->json) {
		print_json(r);
	} else if (!wait) {
		printf("snapshot save started (ticket %lld)\n",
		       json_integer_value(json_object_get(r, "ticket")));
	} else {
		json_t *st = json_object_get(r, "status");

		printf("snapshot saved: %lld keys, %lld bytes in %lld ms\n",
		       json_integer_value(json_object_get(st, "keys")),
		       json_integer_value(json_object_get(st, "bytes")),
		       json_integer_value(json_object_get(st, "ms")));
	}
	json_decref(r);
	return 0;
}

/* snapshot load FILE [--flush]: a runtime RDB load on the node, waited for (redis/rdbload.h) */
static int cmd_snapshot_load(const struct ctl *c, int argc, char **argv)
{
	char path[4096], body[512];
	bool flush = false;
	const char *file = NULL;
	json_t *r, *b;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--flush") == 0)
			flush = true;
		else if (!file && argv[i][0] != '-')
			file = argv[i];
		else
			return usage_error("snapshot load: unknown argument '%s' (snapshot load FILE "
					   "[--flush])", argv[i]);
	}
	if (!file)
		return usage_error("snapshot load wants a FILE%s", "");
	if (!realpath(file, path)) {
		fprintf(stderr, "wirecachectl: %s: no such file\n", file);
		return 1;
	}
	b = json_pack("{s:s,s:b}", "path", path, "flush", flush);
	if (!b || json_dumpb(b, body, sizeof(body) - 1, JSON_COMPACT) >= sizeof(body) - 1) {
		json_decref(b);
		return usage_error("snapshot load: the path is too long%s", "");
	}
	body[json_dumpb(b, body, sizeof(body) - 1, JSON_COMPACT)] = 0;
	json_decref(b);
	if (!(r = call(c, "POST", "/api/snapshot/load", body, c->timeout_ms)))
		return 1;
	json_decref(r);
	for (;;) {
		const char *st;

		if (!(r = call(c, "GET", "/api/snapshot/load", NULL, c->timeout_ms)))
			return 1;
		st = json_string_value(json_object_get(r, "state"));
		if (st && strcmp(st, "running") != 0)
			break;
		json_decref(r);
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	if (c->json) {
		print_json(r);
	} else {
		const char *k;
		json_t *v;

		printf("%s:", path);
		json_object_foreach(r, k, v) {
			if (json_is_string(v))
				printf(" %s=%s", k, json_string_value(v));
			else if (json_is_real(v))
				printf(" %s=%.3f", k, json_real_value(v));
			else
				printf(" %s=%lld", k, (long long)json_integer_value(v));
		}
		printf("\n");
	}
	rc = strcmp(json_string_value(json_object_get(r, "state")), "done") == 0 ? 0 : 1;
	json_decref(r);
	return rc;
}

int main(int argc, char **argv)
{
	struct ctl c = { .timeout_ms = 10000 };
	const char *url = getenv("WIRECACHE_URL");
	char err[160], buf[64];
	unsigned long v;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	c.token = getenv("WIRECACHE_TOKEN");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			printf("wirecachectl - the wirecache control plane's CLI\n\n"
			       "  wirecachectl [--url http://ADDR:PORT | --node N] [--token T] [--json] "
			       "[--timeout SECS] COMMAND\n\n"
			       "  status                     the node at a glance\n"
			       "  stats                      counters, rates, latency, cores, partitions\n"
			       "  top [--count N] [--interval SECS]  live per-core view\n"
			       "  slots                      the slot table\n"
			       "  slots move FROM-TO PART    move slots to partition PART, live\n"
			       "  alerts                     alert rules and their state\n"
			       "  flush [--delay SECS]       flush_all on every partition\n"
			       "  snapshot load FILE [--flush]  load an RDB file into the node\n"
			       "  snapshot [save [--wait]]   the RDB saver's state; save (BGSAVE), and with\n"
			       "                             --wait until the file is written\n"
			       "  cluster create [--replicas R] [ID...] | info | check |\n"
			       "      add-node ID [--replica-of MASTER-ID] | del-node ID\n"
			       "      --etcd URL[,URL...] [--cluster-name NAME]\n"
			       "                             the cluster's map in etcd ($WIRECACHE_ETCD)\n"
			       "  [cluster] failover REPLICA-ID [--force|--takeover] --etcd URL...\n"
			       "                             the replica takes its master's place (plain:\n"
			       "                             the master hands over, nothing lost)\n"
			       "  cluster reshard --from ID --to ID --slots N [--pipeline 1000] [--batch 256]\n"
			       "      [--auth PW] [--netns NAME]   move slots and their keys, live\n"
			       "  cluster rebalance [--use-empty-masters] [--weight ID=W]... [same options]\n"
			       "                             even out the masters' slots, live\n\n"
			       "--node N talks to http://127.0.0.1:(8179+N) (the testbed's node N); the\n"
			       "default is $WIRECACHE_URL or http://127.0.0.1:8180. The token may also\n"
			       "come from $WIRECACHE_TOKEN.\n");
			return 0;
		}
		if (strcmp(o, "--json") == 0) {
			c.json = true;
			continue;
		}
		if (i + 1 >= argc)
			return usage_error("option %s needs a value", o);
		if (strcmp(o, "--url") == 0) {
			url = argv[++i];
		} else if (strcmp(o, "--node") == 0) {
			if (cp_parse_uint(argv[++i], 1000, &v) != 0 || v == 0)
				return usage_error("--node wants a node number (1..), not '%s'", argv[i]);
			snprintf(buf, sizeof(buf), "http://127.0.0.1:%lu", 8179 + v);
			url = buf;
		} else if (strcmp(o, "--token") == 0) {
			c.token = argv[++i];
		} else if (strcmp(o, "--timeout") == 0) {
			if (cp_parse_uint(argv[++i], 3600, &v) != 0 || v == 0)
				return usage_error("--timeout wants 1..3600 seconds, not '%s'", argv[i]);
			c.timeout_ms = (unsigned)v * 1000;
		} else {
			return usage_error("unknown option '%s'", o);
		}
	}
	if (httpc_parse_url(url ? url : "http://127.0.0.1:8180", &c.target, err, sizeof(err)))
		return usage_error("%s", err);
	if (i >= argc)
		return usage_error("which command? (%s)",
				   "status, stats, top, slots, alerts, flush, cluster");
	if (strcmp(argv[i], "cluster") == 0)
		return ctl_cluster_main(argc - i - 1, argv + i + 1, c.json, c.timeout_ms);
	if (strcmp(argv[i], "failover") == 0)	/* (cluster failover's short name) */
		return ctl_cluster_main(argc - i, argv + i, c.json, c.timeout_ms);
	if (strcmp(argv[i], "status") == 0 && argc == i + 1)
		return cmd_status(&c);
	if (strcmp(argv[i], "stats") == 0 && argc == i + 1)
		return cmd_stats(&c);
	if (strcmp(argv[i], "top") == 0)
		return cmd_top(&c, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "slots") == 0)
		return cmd_slots(&c, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "alerts") == 0 && argc == i + 1)
		return cmd_alerts(&c);
	if (strcmp(argv[i], "snapshot") == 0 && argc > i + 1 && strcmp(argv[i + 1], "load") == 0)
		return cmd_snapshot_load(&c, argc - i - 2, argv + i + 2);
	if (strcmp(argv[i], "flush") == 0)
		return cmd_flush(&c, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "snapshot") == 0)
		return cmd_snapshot(&c, argc - i - 1, argv + i + 1);
	if (argc > i + 1 && (strcmp(argv[i], "status") == 0 || strcmp(argv[i], "stats") == 0 ||
			     strcmp(argv[i], "alerts") == 0))
		return usage_error("%s takes no arguments", argv[i]);
	return usage_error("unknown command '%s' (status, stats, top, slots, alerts, flush, "
			   "snapshot, cluster)",
			   argv[i]);
}
