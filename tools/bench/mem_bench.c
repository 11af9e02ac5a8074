/*
 * mem_bench.c - the memory-per-item section of `make bench`: items kept
 * at the same memory limit by a wirecache node and by a real memcached,
 * side by side, and a table of where wirecache's bytes go.
 *
 * Both get the same distinct 16-byte keys, with fixed 32 B values, with
 * Facebook ETC value sizes (generalized Pareto(0, 214.476, 0.348238), the
 * loadgen's `etc` fit, see tools/loadgen/keys.c; capped at 512 KiB so every
 * value fits memcached's default 1 MiB item), and with fixed 32 B values
 * stored with an hour's TTL (cache-aside items carry one), more keys than
 * either can hold, then count the items kept.
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
 * Two accountings. Items kept at the same limit (ratio.items_vs_memcached):
 * M / items for both. But -m bounds only memcached's slabs: its hash table
 * (2^hashpower pointers, hash_bytes) and its other structures lie outside,
 * while wirecache's --memory holds its index and upload buffer. So the
 * section also reads memcached's hash_bytes, total_malloced and its
 * process's VmRSS/VmHWM after each fill, and prints items per byte with
 * memcached's hash table counted (ratio.items_per_byte_vs_memcached).
 *
 * The fill is bounded in keys (--keys) and in time (--seconds per fill); the
 * TTL fill sends memcached keys only until it is well overfilled, as its
 * count no longer moves once its slabs are full (struct workload).
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
#include "store/item.h"
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

/* One fill: its values, its exptime and how many keys. */
struct workload {
	const char *tag;	/* suffix of its name=value lines */
	const char *ratio_suffix; /* of its ratio.* lines: "" for the headline fill */
	const char *values;	/* what the heading says of the values */
	bool etc;		/* ETC-sized values, else 32 B */
	int64_t exptime;	/* as a client sends it (relative seconds), 0 = none */
	uint64_t keys;
	/*
	 * memcached's fill stops once it has evicted an eighth as many keys as it
	 * keeps (checked every 8 MiB of sets): once its slabs are full its count
	 * no longer moves, while wirecache's does a little with how far its logs
	 * are overfilled (dead records), so wirecache still gets every key.
	 */
	bool memcached_stops_overfilled;
};

struct fill {
	uint64_t sent;		/* keys written */
	uint64_t items;		/* items kept */
	bool timed_out;
	double seconds;		/* the fill's wall time */
};

struct wirecache_side {
	struct fill f;
	struct wc_part_footprint fp;
	uint64_t upload;	/* the upload buffer carved from --memory */
	uint64_t part_bytes;	/* the partition's share of --memory */
	long long resident_growth; /* this process's VmRSS + HugetlbPages, after the fill less
				    * before the partition was made; -1 when unreadable */
};

struct memcached_side {
	struct fill f;
	long long limit;	/* stats limit_maxbytes (-m) */
	long long hash_bytes;	/* stats hash_bytes: the hash table, outside -m */
	long long hash_power;	/* stats hash_power_level */
	long long malloced;	/* stats slabs total_malloced: slab pages taken, within -m */
	long long rss, hwm;	/* the process's VmRSS and VmHWM */
};

/* A "Field:  N kB" line of a /proc status file, in bytes; -1 when absent. */
static long long proc_status_bytes(const char *path, const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = atoll(line + n + 1) * 1024;
			break;
		}
	}
	fclose(f);
	return v;
}

/* This process's resident bytes: VmRSS, and the hugetlbfs pages it maps (not in VmRSS). */
static long long self_resident(void)
{
	long long rss = proc_status_bytes("/proc/self/status", "VmRSS");
	long long huge = proc_status_bytes("/proc/self/status", "HugetlbPages");

	return rss < 0 || huge < 0 ? -1 : rss + huge;
}

/* ---- wirecache, in-process with a node's memory split ---- */

static void fill_wirecache(uint64_t mem, const struct workload *wl, double seconds,
			   const char *val, struct wirecache_side *w)
{
	struct wc_config c;
	struct wc_part_cfg pc;
	struct wc_ctx ctx;
	struct wc_view v;
	enum wc_status err;
	struct wc_part *p;
	double t0 = bench_now_s();
	long long resident0, resident1;
	char k[KEY_LEN];

	memset(w, 0, sizeof(*w));
	wc_config_defaults(&c);
	c.memory = mem;
	w->upload = wc_config_upload_buffer(&c);
	wc_part_cfg_default(&pc);
	pc.mem_bytes = (c.memory - w->upload) / 1;	/* one worker, parts_per_lcore 1 */
	pc.max_value = (uint32_t)c.max_value;
	pc.item_size_hint = c.item_size_hint;
	pc.small_pct = c.small_pct;
	w->part_bytes = pc.mem_bytes;
	resident0 = self_resident();
	p = wc_part_create(&pc, &wc_mem_mmap, &err);
	if (!p) {
		fprintf(stderr, "mem_bench: partition: %s\n", wc_status_name(err));
		exit(1);
	}
	wc_ctx_init(&ctx);
	for (uint64_t i = 0; i < wl->keys; i++) {
		struct iovec iov = { (void *)(uintptr_t)val, value_len(i, wl->etc) };
		/* the exptime as the client sent it: wc_store converts it on ctx's clock,
		 * as for a memcached `set k 0 3600 ...` (wc_exptime_convert) */
		struct wc_store_req r = { .mode = WC_SET, .key = k, .klen = KEY_LEN,
					  .val = &iov, .val_cnt = 1, .exptime = wl->exptime };

		key_fill(k, i);
		r.hash = wc_hash(k, KEY_LEN);
		if (wc_store(p, &ctx, &r, NULL) != WC_OK) {
			fprintf(stderr, "mem_bench: wirecache SET %lu failed\n", (unsigned long)i);
			exit(1);
		}
		w->f.sent++;
		if ((i & 31) == 31)
			rcu_quiescent_state();
		if ((i & 0xFFFF) == 0) {
			wc_clock_tick(&ctx.clock);	/* as a worker ticks it each loop */
			if (bench_now_s() - t0 > seconds) {
				w->f.timed_out = true;
				break;
			}
		}
	}
	rcu_quiescent_state();
	/* the last key written is kept, and carries the exptime it was given */
	key_fill(k, w->f.sent - 1);
	if (!wc_get(p, &ctx, k, KEY_LEN, wc_hash(k, KEY_LEN),
		    WC_LOOKUP_NO_TOUCH | WC_LOOKUP_NO_STATS, &v) ||
	    (v.exptime != 0) != (wl->exptime != 0)) {
		fprintf(stderr, "mem_bench: wirecache lost the last key, or its TTL\n");
		exit(1);
	}
	rcu_quiescent_state();
	resident1 = self_resident();
	w->resident_growth = resident0 < 0 || resident1 < 0 ? -1 : resident1 - resident0;
	wc_part_footprint(p, &w->fp);
	w->f.items = w->fp.items;
	wc_part_destroy(p);
	w->f.seconds = bench_now_s() - t0;
}

/* ---- memcached over loopback ---- */

static pid_t memcached_pid;	/* the one running, 0 when none */

/* Say why, stop the memcached this started, and exit. */
static void memcached_fail(const char *why)
{
	fprintf(stderr, "mem_bench: %s\n", why);
	if (memcached_pid > 0) {
		kill(memcached_pid, SIGTERM);
		waitpid(memcached_pid, NULL, 0);
	}
	exit(1);
}

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

/* Send cmd and read its reply up to end (its last line) into buf; false when it does not come. */
static bool memcached_ask(int fd, const char *cmd, const char *end, char *buf, size_t cap)
{
	size_t have = 0;

	if (!write_all(fd, cmd, strlen(cmd)))
		return false;
	buf[0] = 0;
	while (have < cap - 1) {
		ssize_t r = read(fd, buf + have, cap - 1 - have);

		if (r <= 0)
			return false;
		have += (size_t)r;
		buf[have] = 0;
		if (strstr(buf, end))
			return true;
	}
	return false;
}

/* The value of one "STAT field N" line of a stats reply; -1 when absent. */
static long long stat_field(const char *reply, const char *field)
{
	char want[64];
	const char *at;

	snprintf(want, sizeof(want), "STAT %s ", field);
	at = strstr(reply, want);
	return at ? atoll(at + strlen(want)) : -1;
}

/*
 * memcached's table grows (doubles, in its maintenance thread) once its clock
 * (each second) finds more than 1.5 items per bucket. Has it the table it keeps
 * for these items: none growing and none due to?
 */
static bool memcached_hash_settled(const char *stats)
{
	long long items = stat_field(stats, "curr_items");
	long long power = stat_field(stats, "hash_power_level");

	return stat_field(stats, "hash_is_expanding") == 0 && power >= 0 && power < 62 &&
	       items <= (3ll << power) / 2;
}

/*
 * After the fill: items kept, and what memcached holds beside them. Replies come
 * in order, so the first stats answers after every set before it; the table's
 * growth that the fill started or made due is awaited (a few seconds at most),
 * so that hash_bytes is the table memcached keeps for these items.
 */
static void memcached_measure(int fd, pid_t pid, const char *last_key, int64_t exptime,
			      struct memcached_side *m)
{
	static char buf[1 << 16];
	char path[64], cmd[64];
	double deadline;
	long long ttl;

	if (!memcached_ask(fd, "stats\r\n", "END\r\n", buf, sizeof(buf)) ||
	    stat_field(buf, "curr_items") < 0)
		memcached_fail("no curr_items from memcached");
	m->f.items = (uint64_t)stat_field(buf, "curr_items");
	deadline = bench_now_s() + 10;
	while (!memcached_hash_settled(buf) && bench_now_s() < deadline) {
		usleep(50000);
		if (!memcached_ask(fd, "stats\r\n", "END\r\n", buf, sizeof(buf)))
			break;
	}
	m->limit = stat_field(buf, "limit_maxbytes");
	m->hash_bytes = stat_field(buf, "hash_bytes");
	m->hash_power = stat_field(buf, "hash_power_level");
	m->malloced = memcached_ask(fd, "stats slabs\r\n", "END\r\n", buf, sizeof(buf)) ?
			      stat_field(buf, "total_malloced") : -1;
	if (m->limit <= 0 || m->hash_bytes < 0 || m->malloced < 0)
		memcached_fail("memcached's stats lack limit_maxbytes, hash_bytes or "
			       "total_malloced");
	/* the last key written is kept, with the TTL it was given (-1: none) */
	snprintf(cmd, sizeof(cmd), "mg %.*s t\r\n", KEY_LEN, last_key);
	if (!memcached_ask(fd, cmd, "\r\n", buf, sizeof(buf)) || strncmp(buf, "HD t", 4) != 0 ||
	    ((ttl = atoll(buf + 4)) > 0) != (exptime != 0) || ttl > exptime)
		memcached_fail("memcached lost the last key, or its TTL");
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	m->rss = proc_status_bytes(path, "VmRSS");
	m->hwm = proc_status_bytes(path, "VmHWM");
}

/* Has it evicted an eighth as many keys as it keeps? (stats answers after every set before it) */
static bool memcached_overfilled(int fd)
{
	static char buf[1 << 16];

	if (!memcached_ask(fd, "stats\r\n", "END\r\n", buf, sizeof(buf)))
		memcached_fail("no stats from memcached");
	return stat_field(buf, "evictions") > 0 &&
	       8 * stat_field(buf, "evictions") >= stat_field(buf, "curr_items");
}

static void fill_memcached(const char *bin, uint64_t mem, const struct workload *wl,
			   double seconds, const char *val, struct memcached_side *m)
{
	int port = 20000 + (int)(getpid() % 20000);
	pid_t pid = memcached_start(bin, mem, port);
	size_t cap = 1 << 20, n = 0;
	char *out = malloc(cap + ETC_VALUE_MAX + 128);
	double t0 = bench_now_s();
	char last_key[KEY_LEN];
	unsigned flushes = 0;
	int fd, one = 1;

	memset(m, 0, sizeof(*m));
	memcached_pid = pid;
	if (pid < 0 || !out || (fd = connect_loopback(port, t0 + 10)) < 0) {
		char why[256];

		snprintf(why, sizeof(why), "cannot start or reach %s on 127.0.0.1:%d", bin, port);
		memcached_fail(why);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (uint64_t i = 0; i < wl->keys; i++) {
		uint32_t vl = value_len(i, wl->etc);

		memcpy(out + n, "set ", 4);
		key_fill(out + n + 4, i);
		n += 4 + KEY_LEN;
		n += (size_t)sprintf(out + n, " 0 %lld %u noreply\r\n", (long long)wl->exptime, vl);
		memcpy(out + n, val, vl);
		n += vl;
		memcpy(out + n, "\r\n", 2);
		n += 2;
		m->f.sent++;
		if (n >= cap) {
			if (!write_all(fd, out, n))
				memcached_fail("memcached connection lost");
			n = 0;
			if (bench_now_s() - t0 > seconds) {
				m->f.timed_out = true;
				break;
			}
			if (wl->memcached_stops_overfilled && ++flushes % 8 == 0 &&
			    memcached_overfilled(fd))
				break;
		}
	}
	if (n && !write_all(fd, out, n))
		memcached_fail("memcached connection lost");
	key_fill(last_key, m->f.sent - 1);
	memcached_measure(fd, pid, last_key, wl->exptime, m);
	close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	memcached_pid = 0;
	free(out);
	m->f.seconds = bench_now_s() - t0;
}

/* ---- the tables ---- */

static void row(const char *what, uint64_t bytes, uint64_t items, const char *note)
{
	printf("    %-34s %7.2f B  %s\n", what, (double)bytes / (double)items, note);
}

/* name=value line and json entry "<prefix><tag><suffix>" */
static void record_tagged(const char *prefix, const char *tag, const char *suffix, double value)
{
	char name[128];

	snprintf(name, sizeof(name), "%s%s%s", prefix, tag, suffix);
	record(name, value);
}

static void print_footprint(const struct wc_part_footprint *fp, uint64_t upload, uint64_t mem,
			    const char *tag)
{
	uint64_t n = fp->items;
	char note[160], name[96];

	printf("  where wirecache's bytes go, per item kept (%s):\n", tag);
	row("payload (key + value)", fp->payload_bytes, n, "");
	snprintf(note, sizeof(note), "(%zu B + optional words)", sizeof(struct wc_item));
	row("item header", fp->header_bytes, n, note);
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

#define MIB(b) ((double)(b) / (1 << 20))

/*
 * memcached's memory beside -m, and the second accounting: per item of
 * (-m + hash table) and of the process's VmRSS; items per byte against
 * wirecache's items per byte of --memory (index and upload buffer inside).
 */
static void print_whole_footprints(const struct wirecache_side *w, const struct memcached_side *m,
				   uint64_t mem, const struct workload *wl)
{
	const char *tag = wl->tag;
	double slabs_hash = (double)(m->limit + m->hash_bytes);

	printf("  memcached beside its slabs: hash table %.1f MiB (2^%lld pointers, outside -m), "
	       "slab pages taken %.1f of %.1f MiB (-m); the process: VmRSS %.1f MiB, VmHWM %.1f "
	       "MiB\n", MIB(m->hash_bytes), m->hash_power, MIB(m->malloced), MIB(m->limit),
	       MIB(m->rss), MIB(m->hwm));
	printf("  memcached per item kept: %.1f B of -m, %.1f B slabs + hash table, %.1f B of the "
	       "process's VmRSS (all-in)\n", (double)m->limit / m->f.items,
	       slabs_hash / m->f.items, (double)m->rss / m->f.items);
	printf("  wirecache per item kept: %.1f B of --memory (all-in: index and upload buffer "
	       "are carved from it)\n", (double)mem / w->f.items);
	if (w->resident_growth >= 0)
		printf("  cross-check: this process grew %.1f MiB resident over wirecache's fill, "
		       "the partition's share of --memory being %.1f MiB (the upload buffer is not "
		       "made in-process)\n", MIB(w->resident_growth), MIB(w->part_bytes));
	printf("  items per byte, counting memcached's hash table (outside -m): %.2fx memcached\n",
	       ((double)w->f.items / mem) / (m->f.items / slabs_hash));
	record_tagged("mem.memcached_limit_bytes_", tag, "", (double)m->limit);
	record_tagged("mem.memcached_hash_bytes_", tag, "", (double)m->hash_bytes);
	record_tagged("mem.memcached_total_malloced_", tag, "", (double)m->malloced);
	record_tagged("mem.memcached_rss_bytes_", tag, "", (double)m->rss);
	record_tagged("mem.memcached_hwm_bytes_", tag, "", (double)m->hwm);
	record_tagged("mem.memcached_bytes_per_item_slabs_hash_", tag, "", slabs_hash / m->f.items);
	record_tagged("mem.memcached_bytes_per_item_rss_", tag, "",
		      (double)m->rss / m->f.items);
	if (w->resident_growth >= 0)
		record_tagged("mem.wirecache_resident_growth_bytes_", tag, "",
			      (double)w->resident_growth);
	record_tagged("ratio.items_per_byte_vs_memcached", wl->ratio_suffix, "",
		      ((double)w->f.items / mem) / (m->f.items / slabs_hash));
}

static void side_by_side(const char *mc, uint64_t mem, const struct workload *wl, double seconds,
			 const char *val)
{
	struct wirecache_side w;
	struct memcached_side m;

	printf("== memory per item: %lu distinct 16 B keys, %s, %lu MiB each\n",
	       (unsigned long)wl->keys, wl->values, (unsigned long)(mem >> 20));
	if (wl->memcached_stops_overfilled)
		printf("  (memcached only until it has evicted an eighth as many as it keeps: its "
		       "count no longer moves once its slabs are full)\n");
	fill_wirecache(mem, wl, seconds, val, &w);
	fill_memcached(mc, mem, wl, seconds, val, &m);
	printf("  wirecache (in-process, a node's split of --memory %lu): %lu items kept of %lu "
	       "sent%s in %.1f s, %.1f B each all-in\n", (unsigned long)(mem >> 20),
	       (unsigned long)w.f.items, (unsigned long)w.f.sent,
	       w.f.timed_out ? " (time bound hit)" : "", w.f.seconds, (double)mem / w.f.items);
	printf("  memcached -m %lu (loopback): %lu items kept of %lu sent%s in %.1f s, %.1f B each "
	       "of -m (its slabs; see below for its hash table and process)\n",
	       (unsigned long)(mem >> 20), (unsigned long)m.f.items, (unsigned long)m.f.sent,
	       m.f.timed_out ? " (time bound hit)" : "", m.f.seconds, (double)mem / m.f.items);
	if (w.f.items >= w.f.sent || m.f.items >= m.f.sent)
		printf("  NOT overfilled: one of them kept every key sent, so its count is not "
		       "what it can hold (raise --keys)\n");
	print_footprint(&w.fp, w.upload, mem, wl->tag);
	print_whole_footprints(&w, &m, mem, wl);
	record_tagged("mem.wirecache_items_", wl->tag, "", (double)w.f.items);
	record_tagged("mem.memcached_items_", wl->tag, "", (double)m.f.items);
	record_tagged("mem.wirecache_bytes_per_item_", wl->tag, "", (double)mem / w.f.items);
	record_tagged("mem.memcached_bytes_per_item_", wl->tag, "", (double)mem / m.f.items);
	/* the headline: items kept at the same limit (-m for memcached) */
	record_tagged("ratio.items_vs_memcached", wl->ratio_suffix, "",
		      (double)w.f.items / (double)m.f.items);
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
	uint64_t mem = 256ull << 20, nkeys = 8000000;
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
	{
		/*
		 * ETC values average ~330 B: a quarter of the keys already overfill
		 * both. The TTL fill stops memcached once it is overfilled, so that
		 * the section stays near a minute.
		 */
		const struct workload fills[] = {
			{ "32B", "", "32 B values", false, 0, nkeys, false },
			{ "etc", "_etc", "ETC-sized values", true, 0, nkeys / 4, false },
			{ "32B_ttl", "_ttl", "32 B values with a TTL of an hour (set k 0 3600 32)",
			  false, 3600, nkeys, true },
		};

		for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++)
			side_by_side(mc, mem, &fills[i], seconds, val);
	}
	free(val);
	if (json_path && json_dump_file(results, json_path, JSON_INDENT(2) | JSON_SORT_KEYS)) {
		fprintf(stderr, "cannot write %s\n", json_path);
		return 1;
	}
	json_decref(results);
	rcu_unregister_thread();
	return 0;
}
