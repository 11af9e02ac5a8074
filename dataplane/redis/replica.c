/*
 * replica.c - the node as a replica (replica.h): the wanted master and its
 * credentials, the read-only switch the request path reads, and what INFO
 * replication, ROLE and the control socket's REPLICAOF / REPLSTATE report.
 * The link itself is replica_link.c's, on the first worker lcore.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/app.h"
#include "redis/replica_impl.h"
#include "redis/text.h"

struct rd_replica_node rd_replica_state = { .mu = PTHREAD_MUTEX_INITIALIZER };

int64_t rd_replica_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_read_only(struct wc_app *app, bool on)
{
	__atomic_store_n(&rd_replica_state.read_only, on, __ATOMIC_RELEASE);
	if (app)
		__atomic_store_n(&app->mcset.read_only, on, __ATOMIC_RELEASE);	/* memcached */
}

int rd_replica_of(struct wc_app *app, const char *host, uint16_t port, char *err, size_t n)
{
	struct in_addr a;
	uint32_t ip;

	if (strlen(host) >= sizeof(rd_replica_state.host) || inet_pton(AF_INET, host, &a) != 1) {
		snprintf(err, n, "ERR the master must be given as an IPv4 address");
		return -1;
	}
	if (port == 0) {
		snprintf(err, n, "ERR Invalid master port");
		return -1;
	}
	ip = ntohl(a.s_addr);
	pthread_mutex_lock(&rd_replica_state.mu);
	if (rd_replica_state.want && rd_replica_state.ip == ip && rd_replica_state.port == port) {
		pthread_mutex_unlock(&rd_replica_state.mu);
		return 1;
	}
	rd_replica_state.want = true;
	rd_replica_state.ip = ip;
	rd_replica_state.port = port;
	snprintf(rd_replica_state.host, sizeof(rd_replica_state.host), "%s", host);
	set_read_only(app, true);
	__atomic_store_n(&rd_replica_state.link, RD_RL_CONNECT, __ATOMIC_RELAXED);
	__atomic_store_n(&rd_replica_state.down_since_ms, rd_replica_now_ms(), __ATOMIC_RELAXED);
	__atomic_add_fetch(&rd_replica_state.gen, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rd_replica_state.mu);
	return 0;
}

void rd_replica_no_one(struct wc_app *app)
{
	pthread_mutex_lock(&rd_replica_state.mu);
	if (rd_replica_state.want) {
		rd_replica_state.want = false;
		__atomic_add_fetch(&rd_replica_state.gen, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&rd_replica_state.link, RD_RL_NONE, __ATOMIC_RELAXED);
	set_read_only(app, false);
	pthread_mutex_unlock(&rd_replica_state.mu);
}

void rd_replica_set_auth(const char *user, const char *pass)
{
	pthread_mutex_lock(&rd_replica_state.mu);
	snprintf(rd_replica_state.user, sizeof(rd_replica_state.user), "%s", user ? user : "");
	snprintf(rd_replica_state.pass, sizeof(rd_replica_state.pass), "%s", pass ? pass : "");
	pthread_mutex_unlock(&rd_replica_state.mu);
}

void rd_replica_get_auth(char *user, size_t ucap, char *pass, size_t pcap)
{
	pthread_mutex_lock(&rd_replica_state.mu);
	if (user)
		snprintf(user, ucap, "%s", rd_replica_state.user);
	if (pass)
		snprintf(pass, pcap, "%s", rd_replica_state.pass);
	pthread_mutex_unlock(&rd_replica_state.mu);
}

bool rd_replica_read_only(void)
{
	return __atomic_load_n(&rd_replica_state.read_only, __ATOMIC_ACQUIRE);
}

const struct rd_replica_counts *rd_replica_counters(void)
{
	return &rd_replica_state.ct;
}

static int64_t secs_since(int64_t ms, int64_t now)
{
	return ms && now > ms ? (now - ms) / 1000 : 0;
}

void rd_replica_info(struct rd_replica_status *out)
{
	int64_t now = rd_replica_now_ms(), io;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&rd_replica_state.mu);
	out->replica = rd_replica_state.want;
	snprintf(out->host, sizeof(out->host), "%s", rd_replica_state.host);
	out->port = rd_replica_state.port;
	memcpy(out->replid, rd_replica_state.replid, sizeof(out->replid));
	pthread_mutex_unlock(&rd_replica_state.mu);
	out->link = __atomic_load_n(&rd_replica_state.link, __ATOMIC_RELAXED);
	io = __atomic_load_n(&rd_replica_state.last_io_ms, __ATOMIC_RELAXED);
	out->last_io_s = io ? secs_since(io, now) : -1;
	out->down_since_s = out->link == RD_RL_CONNECTED
				    ? 0
				    : secs_since(__atomic_load_n(&rd_replica_state.down_since_ms,
								 __ATOMIC_RELAXED), now);
	out->offset = __atomic_load_n(&rd_replica_state.offset, __ATOMIC_RELAXED);
	out->read_offset = __atomic_load_n(&rd_replica_state.read_offset, __ATOMIC_RELAXED);
	out->sync_total = __atomic_load_n(&rd_replica_state.sync_total, __ATOMIC_RELAXED);
	out->sync_read = __atomic_load_n(&rd_replica_state.sync_read, __ATOMIC_RELAXED);
	/* (each counter is one lcore's, stored whole: a copy field by field is enough) */
	{
		const uint64_t *src = (const uint64_t *)(const void *)&rd_replica_state.ct;
		uint64_t *dst = (uint64_t *)(void *)&out->ct;

		for (size_t i = 0; i < sizeof(out->ct) / sizeof(uint64_t); i++)
			dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
}

const char *rd_replica_link_name(uint8_t link)
{
	switch (link) {
	case RD_RL_NONE:
		return "none";
	case RD_RL_CONNECT:
		return "connect";
	case RD_RL_CONNECTING:
		return "connecting";
	case RD_RL_HANDSHAKE:
		return "handshake";
	case RD_RL_TRANSFER:
	case RD_RL_LOADING:
		return "sync";
	case RD_RL_CONNECTED:
		return "connected";
	}
	return "unknown";
}

bool rd_replica_info_render(struct rd_text *t, const struct rd_replica_status *in)
{
	bool syncing = in->link == RD_RL_TRANSFER || in->link == RD_RL_LOADING;

	if (!in->replica)
		return false;
	rd_text_printf(t, "role:slave\r\n");
	rd_text_printf(t, "master_host:%s\r\nmaster_port:%u\r\n", in->host, in->port);
	rd_text_printf(t, "master_link_status:%s\r\n",
		       in->link == RD_RL_CONNECTED ? "up" : "down");
	rd_text_printf(t, "master_last_io_seconds_ago:%lld\r\n", (long long)in->last_io_s);
	rd_text_printf(t, "master_sync_in_progress:%d\r\n", syncing ? 1 : 0);
	rd_text_printf(t, "slave_read_repl_offset:%llu\r\n", (unsigned long long)in->read_offset);
	rd_text_printf(t, "slave_repl_offset:%llu\r\n", (unsigned long long)in->offset);
	if (syncing) {
		uint64_t left = in->sync_total > in->sync_read ? in->sync_total - in->sync_read : 0;

		rd_text_printf(t, "master_sync_total_bytes:%lld\r\n",
			       in->sync_total ? (long long)in->sync_total : -1LL);
		rd_text_printf(t, "master_sync_read_bytes:%llu\r\n",
			       (unsigned long long)in->sync_read);
		rd_text_printf(t, "master_sync_left_bytes:%lld\r\n",
			       in->sync_total ? (long long)left : -1LL);
		rd_text_printf(t, "master_sync_perc:%.2f\r\n",
			       in->sync_total ? 100.0 * (double)in->sync_read /
							(double)in->sync_total
					      : 0.0);
		rd_text_printf(t, "master_sync_last_io_seconds_ago:%lld\r\n",
			       (long long)(in->last_io_s < 0 ? 0 : in->last_io_s));
	}
	if (in->link != RD_RL_CONNECTED)
		rd_text_printf(t, "master_link_down_since_seconds:%lld\r\n",
			       (long long)in->down_since_s);
	rd_text_printf(t, "slave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\n");
	/* (wirecache's own: what the stream did) */
	rd_text_printf(t, "replica_full_syncs:%llu\r\nreplica_partial_syncs:%llu\r\n"
			  "replica_last_sync_ms:%llu\r\nreplica_rdb_bytes:%llu\r\n"
			  "replica_loaded_keys:%llu\r\nreplica_link_drops:%llu\r\n"
			  "replica_stream_commands:%llu\r\nreplica_stream_errors:%llu\r\n"
			  "replica_stream_skipped:%llu\r\n",
		       (unsigned long long)in->ct.full_syncs,
		       (unsigned long long)in->ct.partial_syncs,
		       (unsigned long long)in->ct.last_sync_ms,
		       (unsigned long long)in->ct.rdb_bytes,
		       (unsigned long long)in->ct.loaded_keys,
		       (unsigned long long)in->ct.link_drops,
		       (unsigned long long)in->ct.stream_commands,
		       (unsigned long long)in->ct.stream_errors,
		       (unsigned long long)in->ct.stream_skipped);
	return true;
}

/* REPLSTATE's one line. */
static void replstate(char *out, size_t n)
{
	struct rd_replica_status in;

	rd_replica_info(&in);
	if (!in.replica) {
		snprintf(out, n, "OK role=master\n");
		return;
	}
	snprintf(out, n,
		 "OK role=replica master=%s:%u link=%s state=%s offset=%llu last_io=%lld "
		 "full_syncs=%llu partial_syncs=%llu\n",
		 in.host, in.port,
		 in.link == RD_RL_CONNECTED ? "up"
		 : in.link == RD_RL_TRANSFER || in.link == RD_RL_LOADING ? "sync"
		 : in.link == RD_RL_CONNECT ? "down" : "connect",
		 rd_replica_link_name(in.link), (unsigned long long)in.offset, (long long)in.last_io_s,
		 (unsigned long long)in.ct.full_syncs, (unsigned long long)in.ct.partial_syncs);
}

bool rd_replica_cp_command(struct wc_app *app, int argc, char **argv, char *out, size_t n)
{
	char err[128];
	char *end;
	unsigned long port;
	int r;

	if (strcmp(argv[0], "REPLSTATE") == 0) {
		if (argc != 1)
			snprintf(out, n, "ERR usage: REPLSTATE\n");
		else
			replstate(out, n);
		return true;
	}
	if (strcmp(argv[0], "REPLICAOF") != 0)
		return false;
	if (argc == 3 && strcasecmp(argv[1], "NO") == 0 && strcasecmp(argv[2], "ONE") == 0) {
		rd_replica_no_one(app);
		snprintf(out, n, "OK\n");
		return true;
	}
	if (argc != 3) {
		snprintf(out, n, "ERR usage: REPLICAOF <ip> <port> | REPLICAOF NO ONE\n");
		return true;
	}
	if (!app->rd) {
		snprintf(out, n, "ERR replication needs Redis (--redis-port)\n");
		return true;
	}
	/* (in cluster mode the control plane says what to replicate, from the map: allowed
	 * here, while the Redis command is refused as in Redis Cluster) */
	port = strtoul(argv[2], &end, 10);
	if (*end || port == 0 || port > 65535 || argv[2][0] == '-') {
		snprintf(out, n, "ERR bad port '%.16s'\n", argv[2]);
		return true;
	}
	r = rd_replica_of(app, argv[1], (uint16_t)port, err, sizeof(err));
	if (r < 0)
		snprintf(out, n, "%s\n", err);
	else
		snprintf(out, n, r ? "OK already\n" : "OK\n");
	return true;
}
