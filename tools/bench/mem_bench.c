/*
 * mem_bench.c - the memory-per-item section of `make bench`: items kept
 * at the same memory limit by a wirecache node and by a real memcached,
 * side by side, and a table of where wirecache's bytes go.
 *
 * Both get the same distinct 16-byte keys, once with fixed 32 B values and
 * once with Facebook ETC value sizes (generalized Pareto(0, 214.476,
 * 0.348238), the loadgen's `etc` fit, see tools/loadgen/keys.c; capped at
 * 512 KiB so every value fits memcached's default 1 MiB item), more keys
 * than either can hold, then count the items kept.
 *
 * wirecache is filled in-process: its partitions are made exactly as
 * wirecache-dp's build_partitions makes them for `--memory M` with the
 * default options and one worker (the testbed's default): the upload
 * buffer carved out of M first (wc_config_upload_buffer), the rest to the
 * partition, whose index and logs wc_part_create splits. Filling over the
 * testbed's tap would take minutes of the shared machine for the same
 * count. memcached (`memcached -m M`, on loopback) is filled over TCP with
 * pipelined `set ... noreply` and counted by `stats` (curr_items).
 *
 * All-in bytes per item = M / items kept, for both. The fill is bounded in
 * keys (--keys) and in time (--seconds per fill).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <urcu-qsbr.h>

#include "bench_clock.h"
#include "../common/workload.h"
#include "core/config.h"
#include "store/store.h"

#define KEY_LEN 16
#define ETC_VALUE_MAX (512u << 10)

static json_t *results;

static void record(const char *name, double value)
{
	json_object_set_new(results, name, json_real(value));
	printf("%s=%.3f\n", name, value);
}

/* "mem:%012u": 16 bytes */
static void key_fill(char *k, uint64_t i)
{
	memcpy(k, "mem:", 4);
	for (int d = 15; d >= 4; d--) {
		k[d] = (char)('0' + i % 10);
		i /= 10;
	}
}

/* The value length of key i: fixed, or an ETC draw that depends on i alone. */
static uint32_t value_len(uint64_t i, bool etc)
{
	struct wc_rng r = { .s = i * 0x9E3779B97F4A7C15ull ^ 0x5EED };
	double u, x;

	if (!etc)
		return 32;
	u = wc_rng_unit(&r);
	if (u <= 0)
		u = 1e-12;
	x = 214.476 * (pow(u, -0.348238) - 1) / 0.348238;
	if (x < 1)
		return 1;
	return x > ETC_VALUE_MAX ? ETC_VALUE_MAX : (uint32_t)x;
}

struct fill {
	uint64_t sent;		/* keys written */
	uint64_t items;		/* items kept */
	bool timed_out;
};

/* ---- wirecache, in-process with a node's memory split ---- */

static struct fill fill_wirecache(uint64_t mem, uint64_t nkeys, bool etc, double seconds,
				  const char *val, struct wc_part_footprint *fp,
				  uint64_t *upload)
{
	struct wc_config c;
	struct wc_part_cfg pc;
	struct wc_ctx ctx;
	enum wc_status err;
	struct wc_part *p;
	struct fill f = { 0 };
	double t0 = bench_now_s();
	char k[KEY_LEN];

	wc_config_defaults(&c);
	c.memory = mem;
	*upload = wc_config_upload_buffer(&c);
	wc_part_cfg_default(&pc);
	pc.mem_bytes = (c.memory - *upload) / 1;	/* one worker, parts_per_lcore 1 */
	pc.max_value = (uint32_t)c.max_value;
	pc.item_size_hint = c.item_size_hint;
	pc.small_pct = c.small_pct;
	p = wc_part_create(&pc, &wc_mem_mmap, &err);
	if (!p) {
		fprintf(stderr, "mem_bench: partition: %s\n", wc_status_name(err));
		exit(1);
	}
	wc_ctx_init(&ctx);
	for (uint64_t i = 0; i < nkeys; i++) {
		struct iovec iov = { (void *)(uintptr_t)val, value_len(i, etc) };
		struct wc_store_req r = { .mode = WC_SET, .key = k, .klen = KEY_LEN,
					  .val = &iov, .val_cnt = 1 };

		key_fill(k, i);
		r.hash = wc_hash(k, KEY_LEN);
		if (wc_store(p, &ctx, &r, NULL) != WC_OK) {
			fprintf(stderr, "mem_bench: wirecache SET %lu failed\n", (unsigned long)i);
			exit(1);
		}
		f.sent++;
		if ((i & 31) == 31)
			rcu_quiescent_state();
		if ((i & 0xFFFF) == 0 && bench_now_s() - t0 > seconds) {
			f.timed_out = true;
			break;
		}
	}
	rcu_quiescent_state();
	wc_part_footprint(p, fp);
	f.items = fp->items;
	wc_part_destroy(p);
	return f;
}

/* ---- memcached over loopback ---- */

static pid_t memcached_start(const char *bin, uint64_t mem, int port)
{
	char mb[32], pt[32];
	pid_t pid;

	snprintf(mb, sizeof(mb), "%lu", (unsigned long)(mem >> 20));
	snprintf(pt, sizeof(pt), "%d", port);
	pid = fork();
	if (pid == 0) {
		execl(bin, bin, "-m", mb, "-p", pt, "-U", "0", "-l", "127.0.0.1", "-t", "1",
		      "-u", "root", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int connect_loopback(int port, double deadline)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (bench_now_s() < deadline) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		close(fd);
		usleep(20000);
	}
	return -1;
}

static bool write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

/* "stats" and the value of one field; -1 when it does not come. */
static long long memcached_stat(int fd, const char *field)
{
	static char buf[1 << 16];
	size_t have = 0;
	char want[64];
	const char *at;

	if (!write_all(fd, "stats\r\n", 7))
		return -1;
	while (have < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = 0;
		if (strstr(buf, "END\r\n"))
			break;
	}
	snprintf(want, sizeof(want), "STAT %s ", field);
	at = strstr(buf, want);
	return at ? atoll(at + strlen(want)) : -1;
}

static struct fill fill_memcached(const char *bin, uint64_t mem, uint64_t nkeys, bool etc,
				  double seconds, const char *val)
{
	int port = 20000 + (int)(getpid() % 20000);
	pid_t pid = memcached_start(bin, mem, port);
	struct fill f = { 0 };
	size_t cap = 1 << 20, n = 0;
	char *out = malloc(cap + ETC_VALUE_MAX + 128);
	double t0 = bench_now_s();
	int fd, one = 1;

	if (pid < 0 || !out || (fd = connect_loopback(port, t0 + 10)) < 0) {
		fprintf(stderr, "mem_bench: cannot start or reach %s on 127.0.0.1:%d\n", bin, port);
		if (pid > 0)
			kill(pid, SIGTERM);
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (uint64_t i = 0; i < nkeys; i++) {
		uint32_t vl = value_len(i, etc);

		memcpy(out + n, "set ", 4);
		key_fill(out + n + 4, i);
		n += 4 + KEY_LEN;
		n += (size_t)sprintf(out + n, " 0 0 %u noreply\r\n", vl);
		memcpy(out + n, val, vl);
		n += vl;
		memcpy(out + n, "\r\n", 2);
		n += 2;
		f.sent++;
		if (n >= cap) {
			if (!write_all(fd, out, n)) {
				fprintf(stderr, "mem_bench: memcached connection lost\n");
				exit(1);
			}
			n = 0;
			if (bench_now_s() - t0 > seconds) {
				f.timed_out = true;
				break;
			}
		}
	}
	if (n && !write_all(fd, out, n)) {
		fprintf(stderr, "mem_bench: memcached connection lost\n");
		exit(1);
	}
	/* replies come in order: stats answers after every set before it */
	long long items = memcached_stat(fd, "curr_items");

	close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	free(out);
	if (items < 0) {
		fprintf(stderr, "mem_bench: no curr_items from memcached\n");
		exit(1);
	}
	f.items = (uint64_t)items;
	return f;
}

/* ---- the table ---- */

static void row(const char *what, uint64_t bytes, uint64_t items, const char *note)
{
	printf("    %-34s %7.2f B  %s\n", what, (double)bytes / (double)items, note);
}

static void print_footprint(const struct wc_part_footprint *fp, uint64_t upload, uint64_t mem,
			    const char *tag)
{
	uint64_t n = fp->items;
	char note[160], name[96];

	printf("  where wirecache's bytes go, per item kept (%s):\n", tag);
	row("payload (key + value)", fp->payload_bytes, n, "");
	row("item header", fp->header_bytes, n, "(12 B + optional words)");
	row("alignment padding", fp->pad_bytes, n, "");
	snprintf(note, sizeof(note), "(%lu slots, %.0f%% hold items, %.0f%% ghosts)",
		 (unsigned long)fp->index_slots, 100.0 * n / fp->index_slots,
		 100.0 * fp->ghost_slots / fp->index_slots);
	row("index", fp->index_bytes, n, note);
	row("log cushion (relocation room)", fp->cushion_bytes, n, "");
	row("log free room (working room)", fp->free_bytes, n, "");
	row("log dead records", fp->dead_bytes, n, "(replaced/moved copies, lap padding)");
	row("upload buffer (carved from --memory)", upload, n, "");
	row("split rounding", fp->split_rest_bytes, n, "");
	row("= all-in", mem, n, "");
	snprintf(name, sizeof(name), "mem.wirecache_%s_bytes.payload", tag);
	json_object_set_new(results, name, json_real((double)fp->payload_bytes / n));
	snprintf(name, sizeof(name), "mem.wirecache_%s_bytes.header", tag);
	json_object_set_new(results, name, json_real((double)fp->header_bytes / n));
	snprintf(name, sizeof(name), "mem.wirecache_%s_bytes.index", tag);
	json_object_set_new(results, name, json_real((double)fp->index_bytes / n));
	snprintf(name, sizeof(name), "mem.wirecache_%s_bytes.log_room", tag);
	json_object_set_new(results, name,
			    json_real((double)(fp->cushion_bytes + fp->free_bytes + fp->dead_bytes) / n));
	snprintf(name, sizeof(name), "mem.wirecache_%s_bytes.upload_buffer", tag);
	json_object_set_new(results, name, json_real((double)upload / n));
}

static void side_by_side(const char *mc, uint64_t mem, uint64_t nkeys, bool etc, double seconds,
			 const char *val)
{
	const char *tag = etc ? "etc" : "32B";
	struct wc_part_footprint fp;
	struct fill w, m;
	uint64_t upload;
	char name[96];

	printf("== memory per item: %lu distinct 16 B keys, %s values, %lu MiB each\n",
	       (unsigned long)nkeys, etc ? "ETC-sized" : "32 B", (unsigned long)(mem >> 20));
	w = fill_wirecache(mem, nkeys, etc, seconds, val, &fp, &upload);
	m = fill_memcached(mc, mem, nkeys, etc, seconds, val);
	printf("  wirecache (in-process, a node's split of --memory %lu): %lu items kept of %lu "
	       "sent%s, %.1f B each all-in\n", (unsigned long)(mem >> 20), (unsigned long)w.items,
	       (unsigned long)w.sent, w.timed_out ? " (time bound hit)" : "",
	       (double)mem / w.items);
	printf("  memcached -m %lu (loopback): %lu items kept of %lu sent%s, %.1f B each all-in\n",
	       (unsigned long)(mem >> 20), (unsigned long)m.items, (unsigned long)m.sent,
	       m.timed_out ? " (time bound hit)" : "", (double)mem / m.items);
	print_footprint(&fp, upload, mem, tag);
	snprintf(name, sizeof(name), "mem.wirecache_items_%s", tag);
	record(name, (double)w.items);
	snprintf(name, sizeof(name), "mem.memcached_items_%s", tag);
	record(name, (double)m.items);
	snprintf(name, sizeof(name), "mem.wirecache_bytes_per_item_%s", tag);
	record(name, (double)mem / w.items);
	snprintf(name, sizeof(name), "mem.memcached_bytes_per_item_%s", tag);
	record(name, (double)mem / m.items);
	record(etc ? "ratio.items_vs_memcached_etc" : "ratio.items_vs_memcached",
	       (double)w.items / (double)m.items);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "memcached", required_argument, NULL, 'm' },
		{ "memory-mib", required_argument, NULL, 'M' },
		{ "keys", required_argument, NULL, 'k' },
		{ "seconds", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *json_path = NULL, *mc = "/usr/bin/memcached";
	uint64_t mem = 256ull << 20, nkeys = 8000000, etc_keys;
	double seconds = 180;
	char *val;
	int c;

	while ((c = getopt_long(argc, argv, "qj:m:M:k:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			mem = 64ull << 20;
			nkeys = 2000000;
			seconds = 60;
			break;
		case 'j':
			json_path = optarg;
			break;
		case 'm':
			mc = optarg;
			break;
		case 'M':
			mem = strtoull(optarg, NULL, 10) << 20;
			break;
		case 'k':
			nkeys = strtoull(optarg, NULL, 10);
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: %s [--quick] [--json FILE] [--memcached PATH] "
				"[--memory-mib N] [--keys N] [--seconds S]\n", argv[0]);
			return 2;
		}
	}
	if (mem < (64ull << 20) || nkeys == 0 || seconds <= 0) {
		fprintf(stderr, "mem_bench: --memory-mib at least 64, --keys and --seconds > 0\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	results = json_object();
	rcu_register_thread();
	val = malloc(ETC_VALUE_MAX);
	if (!val)
		return 1;
	memset(val, 'v', ETC_VALUE_MAX);
	side_by_side(mc, mem, nkeys, false, seconds, val);
	/* ETC values average ~330 B: a quarter of the keys already overfill both */
	etc_keys = nkeys / 4;
	side_by_side(mc, mem, etc_keys, true, seconds, val);
	free(val);
	if (json_path && json_dump_file(results, json_path, JSON_INDENT(2) | JSON_SORT_KEYS)) {
		fprintf(stderr, "cannot write %s\n", json_path);
		return 1;
	}
	json_decref(results);
	rcu_unregister_thread();
	return 0;
}
