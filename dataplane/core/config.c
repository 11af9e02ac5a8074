/*
 * config.c - option parsing for wirecache-dp (see config.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "core/config.h"
#include "redis/server.h"
#include "store/store.h"

enum {
	OPT_IP = 256, OPT_MEMORY, OPT_MAX_VALUE, OPT_ITEM_HINT, OPT_PARTS, OPT_SMALL,
	OPT_UDP_PORT, OPT_NO_UDP, OPT_UDP_ALLOW, OPT_UDP_TRUSTED, OPT_UDP_AMP, OPT_BUSY,
	OPT_STATS, OPT_RXD, OPT_TXD, OPT_CONFIG, OPT_HELP, OPT_TCP_PORT, OPT_NO_TCP, OPT_MAX_CONNS,
	OPT_IDLE, OPT_CONTROL_SOCKET, OPT_UPLOAD_BUFFER, OPT_REQUEST_TIMEOUT, OPT_REDIS_PORT,
	OPT_CLUSTER, OPT_ANNOUNCE_IP, OPT_ANNOUNCE_PORT, OPT_REQUIREPASS, OPT_ACLFILE, OPT_NOTIFY,
	OPT_STATE_DIR, OPT_MC_ALLOW, OPT_CLUSTER_SECRET, OPT_MC_FORWARD, OPT_REPL_BACKLOG,
	OPT_RDB_DIR, OPT_RDB_FILENAME, OPT_SAVE_ON_SHUTDOWN, OPT_MC_READ_REPLICAS,
	OPT_MIN_REPLICAS, OPT_MIN_REPLICAS_LAG, OPT_REPLICAOF, OPT_MASTERAUTH, OPT_MASTERUSER,
};

static const struct option long_opts[] = {
	{ "ip", required_argument, NULL, OPT_IP },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "max-value", required_argument, NULL, OPT_MAX_VALUE },
	{ "item-size-hint", required_argument, NULL, OPT_ITEM_HINT },
	{ "partitions-per-lcore", required_argument, NULL, OPT_PARTS },
	{ "small-queue-pct", required_argument, NULL, OPT_SMALL },
	{ "tcp-port", required_argument, NULL, OPT_TCP_PORT },
	{ "no-tcp", no_argument, NULL, OPT_NO_TCP },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNS },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "redis-port", required_argument, NULL, OPT_REDIS_PORT },
	{ "cluster", no_argument, NULL, OPT_CLUSTER },
	{ "cluster-announce-ip", required_argument, NULL, OPT_ANNOUNCE_IP },
	{ "cluster-secret", required_argument, NULL, OPT_CLUSTER_SECRET },
	{ "mc-forward", required_argument, NULL, OPT_MC_FORWARD },
	{ "mc-read-replicas", no_argument, NULL, OPT_MC_READ_REPLICAS },
	{ "cluster-announce-port", required_argument, NULL, OPT_ANNOUNCE_PORT },
	{ "requirepass", required_argument, NULL, OPT_REQUIREPASS },
	{ "aclfile", required_argument, NULL, OPT_ACLFILE },
	{ "notify-keyspace-events", required_argument, NULL, OPT_NOTIFY },
	{ "mc-allow", required_argument, NULL, OPT_MC_ALLOW },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "repl-backlog-size", required_argument, NULL, OPT_REPL_BACKLOG },
	{ "min-replicas-to-write", required_argument, NULL, OPT_MIN_REPLICAS },
	{ "min-replicas-max-lag", required_argument, NULL, OPT_MIN_REPLICAS_LAG },
	{ "dir", required_argument, NULL, OPT_RDB_DIR },
	{ "dbfilename", required_argument, NULL, OPT_RDB_FILENAME },
	{ "save-on-shutdown", no_argument, NULL, OPT_SAVE_ON_SHUTDOWN },
	{ "replicaof", required_argument, NULL, OPT_REPLICAOF },
	{ "masterauth", required_argument, NULL, OPT_MASTERAUTH },
	{ "masteruser", required_argument, NULL, OPT_MASTERUSER },
	{ "upload-buffer", required_argument, NULL, OPT_UPLOAD_BUFFER },
	{ "udp-port", required_argument, NULL, OPT_UDP_PORT },
	{ "no-udp", no_argument, NULL, OPT_NO_UDP },
	{ "udp-allow", required_argument, NULL, OPT_UDP_ALLOW },
	{ "udp-trusted", required_argument, NULL, OPT_UDP_TRUSTED },
	{ "udp-amplification", required_argument, NULL, OPT_UDP_AMP },
	{ "busy-poll", no_argument, NULL, OPT_BUSY },
	{ "stats-interval", required_argument, NULL, OPT_STATS },
	{ "rx-desc", required_argument, NULL, OPT_RXD },
	{ "tx-desc", required_argument, NULL, OPT_TXD },
	{ "control-socket", required_argument, NULL, OPT_CONTROL_SOCKET },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void wc_config_usage(const char *prog)
{
	printf("Usage: %s [EAL options] -- [wirecache options]\n\n"
	       "Addressing\n"
	       "  --ip ADDR/LEN            IPv4 address and prefix of the next port (repeat per\n"
	       "                           port, in port order); the MAC comes from the port\n"
	       "Store\n"
	       "  --memory SIZE            total item memory, split over all partitions [256M]\n"
	       "  --max-value SIZE         largest value (up to 128M) [1M]\n"
	       "  --item-size-hint BYTES   expected mean item size; sizes the index [64]\n"
	       "  --partitions-per-lcore N partitions each worker lcore owns [1]\n"
	       "  --small-queue-pct N      S3-FIFO small queue share, 0 = CLOCK only [10]\n"
	       "memcached over TCP\n"
	       "  --tcp-port PORT          [11211]\n"
	       "  --no-tcp                 do not serve TCP\n"
	       "  --max-connections N      TCP connections over all lcores; a SYN beyond this\n"
	       "                           (or beyond an lcore's share) is refused with a RST\n"
	       "                           [16384]\n"
	       "  --idle-timeout SECS      close a TCP connection idle this long [300]\n"
	       "  --request-timeout SECS   reset a TCP connection that sends nothing this long\n"
	       "                           in the middle of a request (a partial line, a value\n"
	       "                           still arriving); 0 = never [10]\n"
	       "  --upload-buffer SIZE     memory, taken from --memory, where large values wait\n"
	       "                           while they arrive instead of in NIC buffers; 0 = none\n"
	       "                           [a 32nd of --memory, at least 8M (an eighth of\n"
	       "                           --memory when that is less), at most 1G]\n"
	       "Redis (RESP2/RESP3 over TCP, the same keyspace as memcached)\n"
	       "  --redis-port PORT        0 turns Redis off [6379]\n"
	       "  --requirepass PASSWORD   the default user's password (then memcached TCP is\n"
	       "                           served only to --mc-allow prefixes)\n"
	       "  --aclfile FILE           users, in Redis's ACL file format (ACL LOAD/SAVE)\n"
	       "  --notify-keyspace-events FLAGS\n"
	       "                           keyspace notifications, Redis's letters (K E A g $\n"
	       "                           s h x e n m t d l z; CONFIG SET changes it) [\"\"]\n"
	       "  --mc-allow ADDR/LEN      while any Redis user needs a password, memcached over\n"
	       "                           TCP (which has no authentication) is served only to\n"
	       "                           these sources; others get a RST (repeatable) [none]\n"
	       "  --cluster                Redis Cluster mode: this node owns all 16384 slots\n"
	       "  --cluster-announce-ip ADDR, --cluster-announce-port PORT\n"
	       "                           the address CLUSTER SLOTS/NODES/SHARDS give\n"
	       "                           [the port's address, --redis-port]\n"
	       "  --cluster-secret SECRET  the secret node-to-node links authenticate with\n"
	       "                           (HMAC-SHA256 challenge-response; environment\n"
	       "                           WIRECACHE_CLUSTER_SECRET; the option wins) [none:\n"
	       "                           links are refused and memcached is not forwarded]\n"
	       "  --mc-forward on|off      memcached requests for other nodes' keys go over the\n"
	       "                           link to the owner (off: SERVER_ERROR moved ip:port)\n"
	       "                           [on when a secret is set]\n"
	       "  --mc-read-replicas       a replica serves memcached reads (get, gets, mg\n"
	       "                           without T/N) of its master's keys itself instead of\n"
	       "                           forwarding them [off: reads go to the master]\n"
	       "  --repl-backlog-size SIZE replication backlog, all partitions together (each\n"
	       "                           master partition logs its writes in its share;\n"
	       "                           taken when a replica first attaches, besides\n"
	       "                           --memory) [1M per partition]\n"
	       "  --min-replicas-to-write N  refuse writes (NOREPLICAS) while fewer than N\n"
	       "                           replicas acknowledged within the max lag [0: off]\n"
	       "  --min-replicas-max-lag S the max lag, in seconds [10]\n"
	       "  --replicaof \"IP PORT\"    start as the replica of that master (a redis-server\n"
	       "                           or a wirecache node; also IP:PORT; REPLICAOF NO ONE\n"
	       "                           promotes)\n"
	       "  --masterauth PASSWORD, --masteruser USER\n"
	       "                           what this replica AUTHs with at its master\n"
	       "  --state-dir DIR          where the node id is kept across restarts\n"
	       "                           [/var/lib/wirecache]\n"
	       "RDB snapshots (SAVE, BGSAVE, wirecachectl snapshot save)\n"
	       "  --dir DIR                where the RDB file is written [the working directory]\n"
	       "  --dbfilename NAME        its name, without a '/' [dump.rdb]\n"
	       "  --save-on-shutdown       save at SIGTERM/SIGINT and at SHUTDOWN (not NOSAVE)\n"
	       "memcached over UDP\n"
	       "  --udp-port PORT          [11211]\n"
	       "  --no-udp                 do not serve UDP\n"
	       "  --udp-allow ADDR/LEN     sources allowed to use UDP (repeatable)\n"
	       "                           [the ports' own subnets]\n"
	       "  --udp-trusted ADDR/LEN   allowed sources exempt from the amplification bound\n"
	       "                           (repeatable) [none]\n"
	       "  --udp-amplification N    untrusted sources get at most N reply bytes per\n"
	       "                           request byte [10]\n"
	       "Running\n"
	       "  --busy-poll              spin on the NIC queues (benchmarks); default is\n"
	       "                           adaptive back-off: pause, then short sleeps\n"
	       "  --stats-interval SECS    log a stats line this often, 0 = never [0]\n"
	       "  --rx-desc N, --tx-desc N descriptors per queue [1024]\n"
	       "  --control-socket PATH    UNIX socket wirecache-cp attaches through, \"none\" to\n"
	       "                           run without one [/run/wirecache/wirecache.sock]\n"
	       "  --config FILE            INI file: [wirecache] section, keys are the long\n"
	       "                           option names (ip, memory, udp-allow ...); repeated\n"
	       "                           keys add to lists; the command line wins\n"
	       "  --help                   this text\n"
	       "\nStatistics: `stats` over the memcached protocol, and the DPDK telemetry\n"
	       "command /wirecache/stats (dpdk-telemetry.py).\n",
	       prog);
}

void wc_config_defaults(struct wc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->memory = 256ull << 20;
	c->max_value = WC_VALUE_MAX_DEFAULT;
	c->item_size_hint = 64;
	c->mc_forward = -1;
	c->parts_per_lcore = 1;
	c->small_pct = 10;
	c->tcp_port = 11211;
	c->tcp_enabled = true;
	c->max_conns = 16384;
	c->tcp_idle_ms = 300000;
	c->request_timeout_ms = 10000;
	c->redis_port = 6379;
	c->state_dir = "/var/lib/wirecache";
	c->rdb_filename = "dump.rdb";
	c->upload_buffer = WC_UPLOAD_BUFFER_AUTO;
	c->udp_port = 11211;
	c->udp_enabled = true;
	c->udp_amplification = 10;
	c->min_replicas_max_lag = 10;
	c->rx_desc = 1024;
	c->tx_desc = 1024;
}

uint64_t wc_config_repl_backlog_part(const struct wc_config *c, unsigned nparts)
{
	uint64_t b;

	if (c->repl_backlog == 0 || nparts == 0)
		return WC_REPL_BACKLOG_PART_DEFAULT;
	b = c->repl_backlog / nparts;
	return b < WC_REPL_BACKLOG_MIN ? WC_REPL_BACKLOG_MIN : b;
}

/*
 * The automatic upload buffer: room for eight 1 MiB uploads at once (an
 * eighth of --memory when that is less), growing past that as a 32nd of
 * --memory, at most 1 GiB. Every byte of it is a byte the store does not
 * get, so it is no larger than concurrent large uploads need.
 */
uint64_t wc_config_upload_buffer(const struct wc_config *c)
{
	uint64_t floor = c->memory / 8 < WC_UPLOAD_BUFFER_FLOOR ? c->memory / 8 :
			 WC_UPLOAD_BUFFER_FLOOR;
	uint64_t b = c->memory / 32;

	if (c->upload_buffer != WC_UPLOAD_BUFFER_AUTO)
		return c->upload_buffer;
	if (b < floor)
		b = floor;
	return b < (1ull << 30) ? b : 1ull << 30;
}

bool wc_prefix_parse(const char *s, struct wc_prefix *p)
{
	char buf[64], *slash, *end;
	struct in_addr a;
	long len = 32;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || len < 0 || len > 32)
			return false;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	p->addr = ntohl(a.s_addr);
	p->len = (uint8_t)len;
	return true;
}

bool wc_size_parse(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s < '0' || *s > '9')
		return false;	/* no sign, no spaces */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K':
		mul = 1ull << 10;
		end++;
		break;
	case 'm': case 'M':
		mul = 1ull << 20;
		end++;
		break;
	case 'g': case 'G':
		mul = 1ull << 30;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || (v && mul > UINT64_MAX / v))
		return false;
	*out = v * mul;
	return true;
}

static bool uint_parse(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static char control_socket_path[108];
/* (INI values do not outlive the parse: string options keep copies) */
static char cluster_secret_buf[WC_CLUSTER_SECRET_MAX + 1];
static char announce_ip_buf[64], requirepass_buf[512], aclfile_buf[512], state_dir_buf[512];
static char rdb_dir_buf[512], rdb_filename_buf[512];
static char replicaof_buf[64], masterauth_buf[512], masteruser_buf[128];

static const char *keep(char *buf, size_t cap, const char *arg)
{
	snprintf(buf, cap, "%s", arg);
	return buf;
}

/* Apply one option; returns an error message or NULL. */
static const char *apply(struct wc_config *c, int opt, const char *arg)
{
	unsigned long v;
	uint64_t sz;

	switch (opt) {
	case OPT_IP:
		if (c->nports_cfg == WC_MAX_PORTS)
			return "too many --ip options";
		if (!wc_prefix_parse(arg, &c->port_ip[c->nports_cfg]) ||
		    c->port_ip[c->nports_cfg].len == 0 || c->port_ip[c->nports_cfg].len > 30)
			return "--ip wants ADDR/LEN with a prefix length of 1..30";
		c->nports_cfg++;
		return NULL;
	case OPT_MEMORY:
		if (!wc_size_parse(arg, &sz) || sz < WC_PART_MEM_MIN)
			return "--memory wants a size of at least 256K";
		c->memory = sz;
		return NULL;
	case OPT_MAX_VALUE:
		if (!wc_size_parse(arg, &sz) || sz == 0 || sz > WC_VALUE_MAX_LIMIT)
			return "--max-value wants a size from 1 to 128M";
		c->max_value = sz;
		return NULL;
	case OPT_ITEM_HINT:
		if (!uint_parse(arg, 1u << 28, &v) || v < 16)
			return "--item-size-hint wants a number of bytes >= 16";
		c->item_size_hint = (uint32_t)v;
		return NULL;
	case OPT_PARTS:
		if (!uint_parse(arg, 64, &v) || v == 0)
			return "--partitions-per-lcore wants 1..64";
		c->parts_per_lcore = (unsigned)v;
		return NULL;
	case OPT_SMALL:
		if (!uint_parse(arg, 50, &v))
			return "--small-queue-pct wants 0..50";
		c->small_pct = (uint8_t)v;
		return NULL;
	case OPT_UDP_PORT:
		if (!uint_parse(arg, 65535, &v) || v == 0)
			return "--udp-port wants 1..65535";
		c->udp_port = (uint16_t)v;
		return NULL;
	case OPT_NO_UDP:
		c->udp_enabled = false;
		return NULL;
	case OPT_TCP_PORT:
		if (!uint_parse(arg, 65535, &v) || v == 0)
			return "--tcp-port wants 1..65535";
		c->tcp_port = (uint16_t)v;
		return NULL;
	case OPT_NO_TCP:
		c->tcp_enabled = false;
		return NULL;
	case OPT_MAX_CONNS:
		if (!uint_parse(arg, 4000000, &v) || v == 0)
			return "--max-connections wants 1..4000000";
		c->max_conns = (unsigned)v;
		return NULL;
	case OPT_IDLE:
		if (!uint_parse(arg, 86400 * 7, &v) || v == 0)
			return "--idle-timeout wants seconds (1..604800)";
		c->tcp_idle_ms = (uint32_t)v * 1000;
		return NULL;
	case OPT_REQUEST_TIMEOUT:
		if (!uint_parse(arg, 86400, &v))
			return "--request-timeout wants seconds (0..86400)";
		c->request_timeout_ms = (uint32_t)v * 1000;
		return NULL;
	case OPT_UPLOAD_BUFFER:
		if (!wc_size_parse(arg, &sz) || sz > (64ull << 30))
			return "--upload-buffer wants a size (0 turns it off)";
		c->upload_buffer = sz;
		return NULL;
	case OPT_REDIS_PORT:
		if (!uint_parse(arg, 65535, &v))
			return "--redis-port wants 0..65535";
		c->redis_port = (uint16_t)v;
		return NULL;
	case OPT_CLUSTER:
		c->cluster = true;
		return NULL;
	case OPT_CLUSTER_SECRET:
		if (strlen(arg) < 8 || strlen(arg) > WC_CLUSTER_SECRET_MAX)
			return "--cluster-secret wants 8 to 256 characters";
		c->cluster_secret = keep(cluster_secret_buf, sizeof(cluster_secret_buf), arg);
		return NULL;
	case OPT_MC_FORWARD:
		if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
			return "--mc-forward wants on or off";
		c->mc_forward = strcmp(arg, "on") == 0 ? 1 : 0;
		return NULL;
	case OPT_ANNOUNCE_IP: {
		struct wc_prefix pf;

		if (!wc_prefix_parse(arg, &pf) || pf.len != 32)
			return "--cluster-announce-ip wants an IPv4 address";
		c->announce_ip = keep(announce_ip_buf, sizeof(announce_ip_buf), arg);
		return NULL;
	}
	case OPT_ANNOUNCE_PORT:
		if (!uint_parse(arg, 65535, &v) || v == 0)
			return "--cluster-announce-port wants 1..65535";
		c->announce_port = (uint16_t)v;
		return NULL;
	case OPT_REQUIREPASS:
		if (strlen(arg) >= sizeof(requirepass_buf))
			return "--requirepass is too long";
		c->requirepass = keep(requirepass_buf, sizeof(requirepass_buf), arg);
		return NULL;
	case OPT_ACLFILE:
		if (strlen(arg) >= sizeof(aclfile_buf))
			return "--aclfile path is too long";
		c->aclfile = keep(aclfile_buf, sizeof(aclfile_buf), arg);
		return NULL;
	case OPT_NOTIFY:
		if (!rd_notify_parse((const uint8_t *)arg, (uint32_t)strlen(arg), &c->notify_flags))
			return "--notify-keyspace-events: Invalid event class character. "
			       "Use 'Ag$lshzxeKEtmdn'.";
		return NULL;
	case OPT_MC_READ_REPLICAS:
		c->mc_read_replicas = true;
		return NULL;
	case OPT_REPL_BACKLOG:
		if (!wc_size_parse(arg, &sz) || sz < WC_REPL_BACKLOG_MIN)
			return "--repl-backlog-size wants a size of at least 64K";
		c->repl_backlog = sz;
		return NULL;
	case OPT_MIN_REPLICAS:
		if (!uint_parse(arg, 1000000, &v))
			return "--min-replicas-to-write wants a number";
		c->min_replicas_to_write = (unsigned)v;
		return NULL;
	case OPT_MIN_REPLICAS_LAG:
		if (!uint_parse(arg, 1000000000, &v))
			return "--min-replicas-max-lag wants a number of seconds";
		c->min_replicas_max_lag = (unsigned)v;
		return NULL;
	case OPT_STATE_DIR:
		if (!arg[0] || strlen(arg) >= sizeof(state_dir_buf))
			return "--state-dir wants a directory";
		c->state_dir = keep(state_dir_buf, sizeof(state_dir_buf), arg);
		return NULL;
	case OPT_RDB_DIR:
		if (!arg[0] || strlen(arg) >= sizeof(rdb_dir_buf))
			return "--dir wants a directory";
		c->rdb_dir = keep(rdb_dir_buf, sizeof(rdb_dir_buf), arg);
		return NULL;
	case OPT_RDB_FILENAME:
		if (!arg[0] || strlen(arg) >= sizeof(rdb_filename_buf) || strchr(arg, '/'))
			return "--dbfilename can't be a path, just a filename";
		c->rdb_filename = keep(rdb_filename_buf, sizeof(rdb_filename_buf), arg);
		return NULL;
	case OPT_SAVE_ON_SHUTDOWN:
		c->rdb_save_on_shutdown = true;
		return NULL;
	case OPT_REPLICAOF: {
		/* "IP PORT" (Redis's replicaof line) or IP:PORT */
		char host[64];
		const char *sep = strpbrk(arg, " :");
		struct wc_prefix pf;

		if (!sep || (size_t)(sep - arg) >= sizeof(host))
			return "--replicaof wants \"IP PORT\" (or IP:PORT)";
		memcpy(host, arg, (size_t)(sep - arg));
		host[sep - arg] = 0;
		while (*sep == ' ' || *sep == ':')
			sep++;
		if (!wc_prefix_parse(host, &pf) || pf.len != 32 || !uint_parse(sep, 65535, &v) ||
		    v == 0)
			return "--replicaof wants \"IP PORT\" (or IP:PORT)";
		c->replicaof_host = keep(replicaof_buf, sizeof(replicaof_buf), host);
		c->replicaof_port = (uint16_t)v;
		return NULL;
	}
	case OPT_MASTERAUTH:
		if (strlen(arg) >= sizeof(masterauth_buf))
			return "--masterauth is too long";
		c->masterauth = keep(masterauth_buf, sizeof(masterauth_buf), arg);
		return NULL;
	case OPT_MASTERUSER:
		if (strlen(arg) >= sizeof(masteruser_buf))
			return "--masteruser is too long";
		c->masteruser = keep(masteruser_buf, sizeof(masteruser_buf), arg);
		return NULL;
	case OPT_MC_ALLOW:
		if (c->nmc_allow == WC_MAX_PREFIXES ||
		    !wc_prefix_parse(arg, &c->mc_allow[c->nmc_allow]))
			return "--mc-allow wants ADDR/LEN (at most 16)";
		c->nmc_allow++;
		return NULL;
	case OPT_UDP_ALLOW:
		if (c->nallow == WC_MAX_PREFIXES || !wc_prefix_parse(arg, &c->udp_allow[c->nallow]))
			return "--udp-allow wants ADDR/LEN (at most 16)";
		c->nallow++;
		return NULL;
	case OPT_UDP_TRUSTED:
		if (c->ntrusted == WC_MAX_PREFIXES ||
		    !wc_prefix_parse(arg, &c->udp_trusted[c->ntrusted]))
			return "--udp-trusted wants ADDR/LEN (at most 16)";
		c->ntrusted++;
		return NULL;
	case OPT_UDP_AMP:
		if (!uint_parse(arg, 100000, &v) || v == 0)
			return "--udp-amplification wants a positive number";
		c->udp_amplification = (unsigned)v;
		return NULL;
	case OPT_BUSY:
		c->busy_poll = true;
		return NULL;
	case OPT_STATS:
		if (!uint_parse(arg, 86400, &v))
			return "--stats-interval wants seconds";
		c->stats_interval = (unsigned)v;
		return NULL;
	case OPT_RXD:
	case OPT_TXD:
		if (!uint_parse(arg, 16384, &v) || v < 64)
			return "--rx-desc/--tx-desc want 64..16384";
		if (opt == OPT_RXD)
			c->rx_desc = (uint16_t)v;
		else
			c->tx_desc = (uint16_t)v;
		return NULL;
	case OPT_CONTROL_SOCKET:
		if (!arg[0] || (strcmp(arg, "none") != 0 && (arg[0] != '/' || strlen(arg) > 100)))
			return "--control-socket wants an absolute path (at most 100 bytes) or none";
		/* (an INI value does not outlive the parse: keep a copy) */
		snprintf(control_socket_path, sizeof(control_socket_path), "%s", arg);
		c->control_socket = control_socket_path;
		return NULL;
	default:
		return "unknown option";
	}
}

struct ini_ctx {
	struct wc_config *c;
	const char *error;
	int line;
};

static int config_ini_entry(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ic = user;

	if (strcmp(section, "wirecache") != 0) {
		ic->error = "unknown section (only [wirecache])";
		return 0;
	}
	for (const struct option *o = long_opts; o->name; o++) {
		if (strcmp(o->name, name) != 0 || o->val == OPT_CONFIG || o->val == OPT_HELP)
			continue;
		if (o->has_arg == no_argument) {
			if (strcmp(value, "true") && strcmp(value, "yes") && strcmp(value, "1")) {
				ic->error = "flag keys take true/yes/1";
				return 0;
			}
			ic->error = apply(ic->c, o->val, NULL);
		} else {
			ic->error = apply(ic->c, o->val, value);
		}
		return ic->error == NULL;
	}
	ic->error = "unknown key";
	return 0;
}

int wc_config_parse(struct wc_config *c, int argc, char **argv)
{
	struct wc_config cli;
	int opt;
	const char *err;

	/* first pass: find --config and --help */
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			wc_config_usage(argv[0]);
			return 1;
		}
		if (opt == OPT_CONFIG)
			c->config_file = optarg;
		if (opt == '?') {
			fprintf(stderr, "wirecache-dp: unknown or incomplete option '%s' (see --help)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (c->config_file) {
		struct ini_ctx ic = { .c = c };
		int rc = ini_parse(c->config_file, config_ini_entry, &ic);

		if (rc < 0) {
			fprintf(stderr, "wirecache-dp: cannot read config file %s\n", c->config_file);
			return -1;
		}
		if (rc > 0) {
			fprintf(stderr, "wirecache-dp: %s line %d: %s\n", c->config_file, rc,
				ic.error ? ic.error : "syntax error");
			return -1;
		}
	}
	/* second pass: the command line, over the file; lists it names start over */
	cli = *c;
	optind = 1;
	bool ip_seen = false, allow_seen = false, trusted_seen = false, mc_allow_seen = false;

	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == OPT_CONFIG)
			continue;
		if (opt == OPT_IP && !ip_seen) {
			ip_seen = true;
			cli.nports_cfg = 0;
		}
		if (opt == OPT_UDP_ALLOW && !allow_seen) {
			allow_seen = true;
			cli.nallow = 0;
		}
		if (opt == OPT_MC_ALLOW && !mc_allow_seen) {
			mc_allow_seen = true;
			cli.nmc_allow = 0;
		}
		if (opt == OPT_UDP_TRUSTED && !trusted_seen) {
			trusted_seen = true;
			cli.ntrusted = 0;
		}
		if ((err = apply(&cli, opt, optarg))) {
			fprintf(stderr, "wirecache-dp: %s\n", err);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wirecache-dp: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	*c = cli;
	if (!c->cluster_secret) {
		/* the option wins over the environment */
		const char *env = getenv("WIRECACHE_CLUSTER_SECRET");

		if (env && *env && (err = apply(c, OPT_CLUSTER_SECRET, env))) {
			fprintf(stderr, "wirecache-dp: WIRECACHE_CLUSTER_SECRET: %s\n", err + 17);
			return -1;
		}
	}
	if (c->mc_forward == 1 && !c->cluster_secret) {
		fprintf(stderr, "wirecache-dp: --mc-forward on needs a cluster secret "
			"(--cluster-secret or WIRECACHE_CLUSTER_SECRET)\n");
		return -1;
	}
	if (c->nports_cfg == 0) {
		fprintf(stderr, "wirecache-dp: give each port an address with --ip ADDR/LEN\n");
		return -1;
	}
	c->upload_buffer = wc_config_upload_buffer(c);
	if (c->upload_buffer > c->memory / 2) {
		fprintf(stderr, "wirecache-dp: --upload-buffer may take at most half of --memory\n");
		return -1;
	}
	return 0;
}
