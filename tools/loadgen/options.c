/*
 * options.c - wirecache-loadgen's command line (after EAL's options and
 * "--" in the DPDK modes; alone in socket mode).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lg.h"

void lg_usage(void)
{
	printf("usage: wirecache-loadgen [EAL options] -- [options]      (DPDK ports)\n"
	       "       wirecache-loadgen --socket HOST:PORT [options]    (kernel sockets)\n"
	       "\n"
	       "Transport\n"
	       "  --transport udp|tcp|echo  memcached over UDP or TCP from the DPDK port (default udp);\n"
	       "                            echo: count packets reflected by dpdk-testpmd macswap\n"
	       "                            (several worker lcores need a link that returns each\n"
	       "                            reply to the queue it was sent from: memif queue pairs)\n"
	       "  --ip A.B.C.D/LEN          this generator's address (default 198.18.0.2/24)\n"
	       "  --server A.B.C.D          the server (default 198.18.0.11)\n"
	       "  --server-port N           default 11211 (6379 with --proto redis)\n"
	       "  --socket HOST:PORT        kernel TCP sockets with epoll (baselines); HOST is an\n"
	       "                            address on loopback or in a test namespace\n"
	       "  --threads N               socket mode: threads (default 1)\n"
	       "  --proto memcached|redis   request protocol (redis: TCP or socket mode)\n"
	       "Workload\n"
	       "  --keys N                  key space (default 100000)\n"
	       "  --slots LO-HI[,LO-HI...]  only keys whose Redis Cluster slot is in the set\n"
	       "                            (the slots one cluster node owns)\n"
	       "  --zipf THETA              Zipf popularity, 0 = uniform (default 0.99)\n"
	       "  --mix GET:SET             request mix (default 95:5)\n"
	       "  --key-size DIST           16 | 8-64 | gev:mu,sigma,xi | etc (default 16)\n"
	       "  --value-size DIST         32 | 16-1024 | pareto:mu,sigma,xi | etc (default 32)\n"
	       "  --preset etc              Facebook ETC key and value sizes\n"
	       "  --max-value N             clamp drawn value sizes (default 65536)\n"
	       "  --flows N                 TCP connections / UDP source ports (default 16)\n"
	       "  --depth N                 outstanding requests per flow (default 4, max %d)\n"
	       "  --rate R                  open loop: R requests/s, Poisson arrivals\n"
	       "                            (default: closed loop)\n"
	       "  --duration S              seconds measured (default 5)\n"
	       "  --warmup S                seconds run first, not measured (default 1)\n"
	       "  --preload                 SET every key before the run\n"
	       "  --verify N                check the value of 1 GET reply in N (default 16, 0 = off)\n"
	       "  --timeout-ms N            a UDP request unanswered this long is lost (default 200)\n"
	       "  --seed N\n"
	       "Output\n"
	       "  --json FILE               the summary as JSON\n"
	       "  --label NAME              a name for this run in the JSON\n"
	       "  --quiet                   no progress line\n",
	       LG_MAX_DEPTH);
}

static int parse_prefix(const char *s, uint32_t *ip, uint8_t *len)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	*len = 32;
	if (slash) {
		long l = strtol(slash + 1, NULL, 10);

		if (l < 1 || l > 32)
			return -1;
		*len = (uint8_t)l;
	}
	return 0;
}

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "wirecache-loadgen: bad value for --%s: '%s' (see --help)\n", opt, val);
	return -1;
}

int lg_options(int argc, char **argv, struct lg_cfg *c)
{
	enum {
		O_TRANSPORT = 256, O_IP, O_SERVER, O_SERVER_PORT, O_SOCKET, O_THREADS, O_PROTO,
		O_KEYS, O_ZIPF, O_MIX, O_KEY_SIZE, O_VALUE_SIZE, O_PRESET, O_MAX_VALUE, O_FLOWS,
		O_DEPTH, O_RATE, O_DURATION, O_WARMUP, O_PRELOAD, O_VERIFY, O_TIMEOUT, O_SEED,
		O_JSON, O_LABEL, O_QUIET, O_HELP, O_SLOTS,
	};
	static const struct option opts[] = {
		{ "transport", 1, 0, O_TRANSPORT }, { "ip", 1, 0, O_IP },
		{ "server", 1, 0, O_SERVER }, { "server-port", 1, 0, O_SERVER_PORT },
		{ "socket", 1, 0, O_SOCKET }, { "threads", 1, 0, O_THREADS },
		{ "proto", 1, 0, O_PROTO }, { "keys", 1, 0, O_KEYS }, { "zipf", 1, 0, O_ZIPF },
		{ "mix", 1, 0, O_MIX }, { "key-size", 1, 0, O_KEY_SIZE },
		{ "value-size", 1, 0, O_VALUE_SIZE }, { "preset", 1, 0, O_PRESET },
		{ "max-value", 1, 0, O_MAX_VALUE }, { "flows", 1, 0, O_FLOWS },
		{ "depth", 1, 0, O_DEPTH }, { "rate", 1, 0, O_RATE },
		{ "duration", 1, 0, O_DURATION }, { "warmup", 1, 0, O_WARMUP },
		{ "preload", 0, 0, O_PRELOAD }, { "verify", 1, 0, O_VERIFY },
		{ "timeout-ms", 1, 0, O_TIMEOUT }, { "seed", 1, 0, O_SEED },
		{ "json", 1, 0, O_JSON }, { "label", 1, 0, O_LABEL }, { "quiet", 0, 0, O_QUIET },
		{ "help", 0, 0, O_HELP }, { "slots", 1, 0, O_SLOTS }, { 0, 0, 0, 0 },
	};
	const char *key_size = "16", *value_size = "32", *slots = NULL;
	unsigned max_value = 65536;
	bool port_set = false;
	int o;
	char *end;

	memset(c, 0, sizeof(*c));
	c->transport = LG_UDP;
	c->proto = LG_MEMCACHED;
	c->my_ip = 0xC6120002u;		/* 198.18.0.2 */
	c->my_prefix = 24;
	c->server_ip = 0xC612000Bu;	/* 198.18.0.11 */
	c->server_port = 11211;
	c->base_port = 20000;
	c->threads = 1;
	c->keys = 100000;
	c->zipf = 0.99;
	c->get_pct = 95;
	c->flows = 16;
	c->depth = 4;
	c->duration = 5;
	c->warmup = 1;
	c->verify_every = 16;
	c->timeout_ms = 200;
	c->seed = 1;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *v = optarg;
		const char *name = o >= 256 && o - 256 < (int)(sizeof(opts) / sizeof(opts[0])) ?
					   opts[o - 256].name : "?";

		switch (o) {
		case O_TRANSPORT:
			if (strcmp(v, "udp") == 0)
				c->transport = LG_UDP;
			else if (strcmp(v, "tcp") == 0)
				c->transport = LG_TCP;
			else if (strcmp(v, "echo") == 0)
				c->transport = LG_ECHO;
			else
				return bad(name, v);
			break;
		case O_IP:
			if (parse_prefix(v, &c->my_ip, &c->my_prefix) != 0)
				return bad(name, v);
			break;
		case O_SERVER: {
			uint8_t l;

			if (parse_prefix(v, &c->server_ip, &l) != 0)
				return bad(name, v);
			break;
		}
		case O_SERVER_PORT:
			c->server_port = (uint16_t)strtoul(v, &end, 10);
			if (*end || !c->server_port)
				return bad(name, v);
			port_set = true;
			break;
		case O_SOCKET:
			if (strlen(v) >= sizeof(c->sock_host) || !strchr(v, ':'))
				return bad(name, v);
			strcpy(c->sock_host, v);
			c->transport = LG_SOCKET;
			break;
		case O_THREADS:
			c->threads = (unsigned)strtoul(v, &end, 10);
			if (*end || !c->threads || c->threads > LG_MAX_WORKERS)
				return bad(name, v);
			break;
		case O_PROTO:
			if (strcmp(v, "memcached") == 0)
				c->proto = LG_MEMCACHED;
			else if (strcmp(v, "redis") == 0)
				c->proto = LG_REDIS;
			else
				return bad(name, v);
			break;
		case O_KEYS:
			c->keys = strtoull(v, &end, 10);
			if (*end || !c->keys)
				return bad(name, v);
			break;
		case O_ZIPF:
			c->zipf = strtod(v, &end);
			if (*end || c->zipf < 0 || c->zipf >= 1.5)
				return bad(name, v);
			break;
		case O_MIX: {
			unsigned g, s;

			if (sscanf(v, "%u:%u", &g, &s) != 2 || g + s == 0)
				return bad(name, v);
			c->get_pct = g * 100 / (g + s);
			break;
		}
		case O_KEY_SIZE:
			key_size = v;
			break;
		case O_VALUE_SIZE:
			value_size = v;
			break;
		case O_PRESET:
			if (strcmp(v, "etc") != 0)
				return bad(name, v);
			key_size = value_size = "etc";
			break;
		case O_MAX_VALUE:
			max_value = (unsigned)strtoul(v, &end, 10);
			if (*end || !max_value || max_value > (1u << 20))
				return bad(name, v);
			break;
		case O_FLOWS:
			c->flows = (unsigned)strtoul(v, &end, 10);
			if (*end || !c->flows || c->flows > 100000)
				return bad(name, v);
			break;
		case O_DEPTH:
			c->depth = (unsigned)strtoul(v, &end, 10);
			if (*end || !c->depth || c->depth > LG_MAX_DEPTH)
				return bad(name, v);
			break;
		case O_RATE:
			c->rate = strtod(v, &end);
			if (*end || c->rate < 0)
				return bad(name, v);
			break;
		case O_DURATION:
			c->duration = strtod(v, &end);
			if (*end || c->duration <= 0 || c->duration > 86400)
				return bad(name, v);
			break;
		case O_WARMUP:
			c->warmup = strtod(v, &end);
			if (*end || c->warmup < 0 || c->warmup > 3600)
				return bad(name, v);
			break;
		case O_PRELOAD:
			c->preload = true;
			break;
		case O_VERIFY:
			c->verify_every = (unsigned)strtoul(v, &end, 10);
			if (*end)
				return bad(name, v);
			break;
		case O_TIMEOUT:
			c->timeout_ms = (unsigned)strtoul(v, &end, 10);
			if (*end || !c->timeout_ms)
				return bad(name, v);
			break;
		case O_SEED:
			c->seed = strtoull(v, &end, 10);
			if (*end)
				return bad(name, v);
			break;
		case O_JSON:
			c->json_path = v;
			break;
		case O_LABEL:
			c->label = v;
			break;
		case O_QUIET:
			c->quiet = true;
			break;
		case O_SLOTS:
			slots = v;
			break;
		case 'h':
		case O_HELP:
			lg_usage();
			exit(0);
		default:
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wirecache-loadgen: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (c->transport != LG_SOCKET && c->flows > 65535u - c->base_port) {
		fprintf(stderr, "wirecache-loadgen: --flows %u needs more local ports than there "
			"are above %u\n", c->flows, c->base_port);
		return -1;
	}
	if (lg_dist_parse(&c->key_size, key_size, true) != 0)
		return bad("key-size", key_size);
	if (lg_dist_parse(&c->value_size, value_size, false) != 0)
		return bad("value-size", value_size);
	if (c->value_size.kind != LG_DIST_FIXED && c->value_size.max > max_value)
		c->value_size.max = max_value;
	if (slots && lg_slots_select(c, slots) != 0)
		return -1;
	if (c->proto == LG_REDIS && c->transport != LG_SOCKET && c->transport != LG_TCP) {
		fprintf(stderr, "wirecache-loadgen: --proto redis runs over TCP (--transport tcp) "
			"or --socket\n");
		return -1;
	}
	if (c->proto == LG_REDIS && !port_set)
		c->server_port = 6379;
	return 0;
}
