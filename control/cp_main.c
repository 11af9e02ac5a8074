/*
 * cp_main.c - wirecache-cp: attaches to one dataplane through its control
 * socket and shared memory, samples it every interval, evaluates alert
 * rules, and serves /metrics, the JSON API and the dashboard over HTTP.
 * It keeps running while the dataplane is gone and re-attaches when it
 * comes back; the dataplane never depends on it. With --etcd it also
 * registers the node in a cluster and pushes the cluster map into the
 * dataplane (cpcluster.h).
 *
 * Usage: wirecache-cp [options]; see --help.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpcluster.h"
#include "cpcore.h"
#include "http.h"
#include "slotrange.h"

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void usage(void)
{
	printf("Usage: wirecache-cp [options]\n\n"
	       "  --socket PATH             the dataplane's control socket\n"
	       "                            [" WC_CP_DEFAULT_SOCKET "]\n"
	       "  --listen ADDR:PORT        HTTP on a loopback or admin address [127.0.0.1:8180]\n"
	       "  --node NAME               name in logs and metrics [the socket's file name]\n"
	       "  --token TOKEN             required by POST calls (also $WIRECACHE_TOKEN)\n"
	       "  --token-file FILE         the same, read from FILE\n"
	       "  --interval-ms N           sampling interval [1000]\n"
	       "  --window N                samples per alert window [10]\n"
	       "  --alert-hit-rate R        alert under this get hit rate, 0..1 [0.8]\n"
	       "  --alert-min-gets N        ... when the window has at least N gets [100]\n"
	       "  --alert-memory R          alert over this share of memory used, 0..1 [0.9]\n"
	       "  --alert-evictions N       alert from N evictions/s when rising [1]\n"
	       "  --alert-evictions-growth X  rising: X times the window before [1.5]\n"
	       "  --alert-p99-us N          alert over this p99 service latency [1000]\n"
	       "  --alert-min-samples N     ... when the window has N operations [100]\n"
	       "  --etcd URL[,URL...]       join a cluster: register in this etcd, push its map\n"
	       "                            into the dataplane (http://127.0.0.1:2379)\n"
	       "  --cluster-name NAME       the cluster's keys are /wirecache/NAME/ [wirecache]\n"
	       "  --node-timeout MS         the registration's lease: a node silent this long\n"
	       "                            is gone, and its replicas take over; etcd's\n"
	       "                            minimum TTL must allow it (--election-timeout 700)\n"
	       "                            [1000]\n"
	       "  --help\n");
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host) ||
	    cp_parse_uint(colon + 1, 65535, &port) != 0 || port == 0)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

static int parse_ratio(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0 || v > 1)
		return -1;
	*out = v;
	return 0;
}

static int parse_pos(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0) || v > 1e12)
		return -1;
	*out = v;
	return 0;
}

static int read_token_file(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t len;

	if (!f)
		return -1;
	if (!fgets(out, (int)n, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	len = strcspn(out, "\r\n");
	out[len] = 0;
	return len ? 0 : -1;
}

enum {
	O_SOCKET = 256, O_LISTEN, O_NODE, O_TOKEN, O_TOKEN_FILE, O_INTERVAL, O_WINDOW, O_HIT,
	O_MIN_GETS, O_MEM, O_EVICT, O_EVICT_GROWTH, O_P99, O_MIN_SAMPLES, O_ETCD, O_CLUSTER_NAME,
	O_NODE_TIMEOUT, O_HELP,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "node", required_argument, NULL, O_NODE },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "token-file", required_argument, NULL, O_TOKEN_FILE },
		{ "interval-ms", required_argument, NULL, O_INTERVAL },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "alert-hit-rate", required_argument, NULL, O_HIT },
		{ "alert-min-gets", required_argument, NULL, O_MIN_GETS },
		{ "alert-memory", required_argument, NULL, O_MEM },
		{ "alert-evictions", required_argument, NULL, O_EVICT },
		{ "alert-evictions-growth", required_argument, NULL, O_EVICT_GROWTH },
		{ "alert-p99-us", required_argument, NULL, O_P99 },
		{ "alert-min-samples", required_argument, NULL, O_MIN_SAMPLES },
		{ "etcd", required_argument, NULL, O_ETCD },
		{ "cluster-name", required_argument, NULL, O_CLUSTER_NAME },
		{ "node-timeout", required_argument, NULL, O_NODE_TIMEOUT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = WC_CP_DEFAULT_SOCKET, *node = NULL;
	char token[256] = "", err[320], nodebuf[64];
	struct sockaddr_in listen_addr;
	struct cp_alert_rules rules;
	unsigned long interval = 1000, window = 10, ul;
	static struct cp_core core;
	struct cp_cluster_opts copts = { .name = "wirecache", .node_timeout_ms = 1000 };
	char prefix[96], httpaddr[64];
	struct cp_http *http;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);
	cp_alert_rules_default(&rules);
	parse_listen("127.0.0.1:8180", &listen_addr);
	if (getenv("WIRECACHE_TOKEN"))
		snprintf(token, sizeof(token), "%s", getenv("WIRECACHE_TOKEN"));
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *bad = NULL;

		switch (opt) {
		case O_SOCKET:
			if (optarg[0] != '/' || strlen(optarg) >= sizeof(core.dp.path))
				bad = "--socket wants an absolute path";
			socket_path = optarg;
			break;
		case O_LISTEN:
			if (parse_listen(optarg, &listen_addr) != 0)
				bad = "--listen wants IPv4-ADDRESS:PORT, e.g. 127.0.0.1:8180";
			else if (listen_addr.sin_addr.s_addr == htonl(INADDR_ANY))
				bad = "--listen will not take 0.0.0.0: give loopback or the one "
				      "admin address to serve on";
			break;
		case O_NODE:
			node = optarg;
			break;
		case O_TOKEN:
			snprintf(token, sizeof(token), "%s", optarg);
			break;
		case O_TOKEN_FILE:
			if (read_token_file(optarg, token, sizeof(token)) != 0)
				bad = "--token-file: cannot read a token from that file";
			break;
		case O_INTERVAL:
			if (cp_parse_uint(optarg, 60000, &interval) != 0 || interval < 50)
				bad = "--interval-ms wants 50..60000";
			break;
		case O_WINDOW:
			if (cp_parse_uint(optarg, 1000, &window) != 0 || window == 0)
				bad = "--window wants 1..1000 samples";
			break;
		case O_HIT:
			if (parse_ratio(optarg, &rules.hit_rate_min) != 0)
				bad = "--alert-hit-rate wants 0..1";
			break;
		case O_MEM:
			if (parse_ratio(optarg, &rules.memory_max) != 0)
				bad = "--alert-memory wants 0..1";
			break;
		case O_MIN_GETS:
			if (cp_parse_uint(optarg, ~0ul, &ul) != 0)
				bad = "--alert-min-gets wants a whole number";
			rules.min_gets = ul;
			break;
		case O_MIN_SAMPLES:
			if (cp_parse_uint(optarg, ~0ul, &ul) != 0)
				bad = "--alert-min-samples wants a whole number";
			rules.min_samples = ul;
			break;
		case O_EVICT:
			if (parse_pos(optarg, &rules.evict_min) != 0)
				bad = "--alert-evictions wants a number >= 0";
			break;
		case O_EVICT_GROWTH:
			if (parse_pos(optarg, &rules.evict_growth) != 0)
				bad = "--alert-evictions-growth wants a number >= 0";
			break;
		case O_P99:
			if (parse_pos(optarg, &rules.p99_max_us) != 0)
				bad = "--alert-p99-us wants a number >= 0";
			break;
		case O_ETCD:
			copts.etcd = optarg;
			break;
		case O_CLUSTER_NAME:
			copts.name = optarg;
			if (cp_cluster_prefix(optarg, prefix, sizeof(prefix)) != 0)
				bad = "--cluster-name wants 1..63 of a-z A-Z 0-9 - _ .";
			break;
		case O_NODE_TIMEOUT:
			if (cp_parse_uint(optarg, 3600000, &ul) != 0 || ul < 1000)
				bad = "--node-timeout wants 1000..3600000 ms";
			copts.node_timeout_ms = (unsigned)ul;
			break;
		case O_HELP:
			usage();
			return 0;
		default:
			fprintf(stderr, "wirecache-cp: unknown or incomplete option '%s' (see --help)\n",
				argv[optind - 1]);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "wirecache-cp: %s\n", bad);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wirecache-cp: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return 2;
	}
	if (!node) {
		const char *base = strrchr(socket_path, '/');
		size_t len;

		snprintf(nodebuf, sizeof(nodebuf), "%s", base ? base + 1 : socket_path);
		len = strlen(nodebuf);
		if (len > 5 && strcmp(nodebuf + len - 5, ".sock") == 0)
			nodebuf[len - 5] = 0;
		node = nodebuf;
	}
	if (cp_core_init(&core, socket_path, node, &rules, (unsigned)window) != 0) {
		fprintf(stderr, "wirecache-cp: out of memory\n");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	http = cp_http_start(&core, &listen_addr, token, err, sizeof(err));
	if (!http) {
		fprintf(stderr, "wirecache-cp: %s\n", err);
		cp_core_fini(&core);
		return 1;
	}
	{
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &listen_addr.sin_addr, ip, sizeof(ip));
		fprintf(stderr, "wirecache-cp[%s]: http://%s:%u/ for dataplane %s%s\n", node, ip,
			ntohs(listen_addr.sin_port), socket_path,
			token[0] ? " (POST calls need the token)" : "");
		snprintf(httpaddr, sizeof(httpaddr), "%s:%u", ip, ntohs(listen_addr.sin_port));
	}
	if (copts.etcd) {
		copts.http = httpaddr;
		core.cluster = cp_cluster_start(&core, &copts, err, sizeof(err));
		if (!core.cluster) {
			fprintf(stderr, "wirecache-cp: %s\n", err);
			cp_http_stop(http);
			cp_core_fini(&core);
			return 2;
		}
		fprintf(stderr, "wirecache-cp[%s]: cluster %s through etcd at %s (node timeout "
			"%u ms)\n", node, copts.name, copts.etcd, copts.node_timeout_ms);
	}
	while (!quit) {
		struct timespec ts = { (time_t)(interval / 1000), (long)(interval % 1000) * 1000000 };

		cp_core_tick(&core);
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "wirecache-cp[%s]: stopping\n", node);
	cp_http_stop(http);
	cp_cluster_stop(core.cluster);
	cp_core_fini(&core);
	return 0;
}
