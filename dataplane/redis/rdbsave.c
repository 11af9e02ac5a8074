/*
 * rdbsave.c - the node's RDB saver (see rdbsave.h): the writer thread, the
 * state INFO persistence and LASTSAVE read, dir and dbfilename, and the
 * SAVE, BGSAVE and SHUTDOWN commands.
 *
 * One save runs at a time. A request bumps seq_req (under the state lock,
 * with the requester's store clock); the thread sees seq_req ahead of
 * seq_done, writes the file (rdb_write.h) and publishes the result and
 * seq_done. Results of the last RESULTS saves are kept by ticket, so a
 * SAVE that is re-entered late still reads its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_spinlock.h>
#include <urcu-qsbr.h>

#include "core/waker.h"
#include "redis/cmds.h"
#include "redis/rdb_write.h"
#include "redis/rdbsave.h"
#include "redis/rdutil.h"
#include "redis/server.h"

#define RESULTS 16u
#define IDLE_MS 100	/* the longest wait between looks: a request wakes it at once */

static struct {
	struct wc_app *app;
	pthread_t th;
	bool started;
	int stop;
	struct wc_waker wake;		/* a request or the stop (core/waker.h) */
	rte_spinlock_t lock;		/* everything below */
	uint64_t seq_req, seq_done;	/* (also read without the lock, atomically) */
	bool ok[RESULTS];		/* by ticket */
	struct wc_clock clock;		/* the request's store clock */
	bool has_clock, bg;
	bool shutdown_done;
	struct rdbw_stats *cur;		/* the running save's figures (while it writes) */
	struct timespec cur_start;	/* (monotonic) */
	char dir[RD_SAVE_PATH_MAX];
	char filename[RD_SAVE_PATH_MAX];
	struct rd_save_info info;
} sv = { .wake = WC_WAKER_INIT, .lock = RTE_SPINLOCK_INITIALIZER };

static struct rd_save_counters ctr;	/* (written by the saver, read atomically) */

static void ctr_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

const struct rd_save_counters *rd_save_counters(void)
{
	return &ctr;
}

static uint64_t total_items(const struct wc_app *app)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < app->nparts; i++) {
		struct wc_part_stats ps;

		wc_part_get_stats(app->parts[i], &ps);
		n += ps.total_items;
	}
	return n;
}

static uint64_t ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (uint64_t)((b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000);
}

/* The store's clock now, for a save nobody on an lcore asked for. */
static void real_clock(const struct wc_app *app, struct wc_clock *c)
{
	int64_t epoch = app->nworkers && app->lc[0] ? app->lc[0]->ctx.clock.epoch : 0;

	wc_clock_init(c, epoch ? epoch : wc_clock_default_epoch());
	wc_clock_tick(c);
}

/*
 * Write the file (the calling thread registered with liburcu and offline:
 * online only for the walk, so file syscalls never hold a grace period
 * back): 0 or an errno.
 */
static int save_file(const struct wc_app *app, const struct wc_clock *clock, bool bg)
{
	char dir[RD_SAVE_PATH_MAX], name[RD_SAVE_PATH_MAX], tmp[2 * RD_SAVE_PATH_MAX],
	     dst[2 * RD_SAVE_PATH_MAX];
	struct rdbw_stats st;
	struct timespec t0;
	uint64_t base = total_items(app), ms;
	int fd, r;

	rte_spinlock_lock(&sv.lock);
	snprintf(dir, sizeof(dir), "%s", sv.dir);
	snprintf(name, sizeof(name), "%s", sv.filename);
	rte_spinlock_unlock(&sv.lock);
	snprintf(tmp, sizeof(tmp), "%s/temp-%d.rdb", dir, (int)getpid());
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = errno;
		printf("wirecache-dp: %s: failed opening the temp RDB file %s: %s\n",
		       bg ? "BGSAVE" : "SAVE", tmp, strerror(r));
		return r;
	}
	st = (struct rdbw_stats){ 0 };
	rte_spinlock_lock(&sv.lock);
	sv.cur = &st;
	rte_spinlock_unlock(&sv.lock);
	rcu_thread_online();
	r = rdb_write_store(app, fd, clock, (int64_t)time(NULL), &st);
	rcu_thread_offline();
	rte_spinlock_lock(&sv.lock);
	sv.cur = NULL;
	rte_spinlock_unlock(&sv.lock);
	if (close(fd) != 0 && !r)
		r = errno;
	if (!r && rename(tmp, dst) != 0)
		r = errno;
	if (r) {
		unlink(tmp);
		printf("wirecache-dp: %s: writing %s failed: %s\n", bg ? "BGSAVE" : "SAVE", dst,
		       strerror(r));
		return r;
	}
	/* the rename itself is durable once the directory is */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	ms = ms_since(&t0);
	rte_spinlock_lock(&sv.lock);
	sv.info.lastsave = (int64_t)time(NULL);
	sv.info.saves++;
	sv.info.changes_base = base;
	sv.info.last_keys = st.keys;
	sv.info.last_bytes = st.bytes;
	sv.info.last_ms = ms;
	sv.info.keys_total += st.keys;
	sv.info.bytes_total += st.bytes;
	sv.info.ms_total += ms;
	rte_spinlock_unlock(&sv.lock);
	ctr_add(&ctr.saves, 1);
	ctr_add(&ctr.keys, st.keys);
	ctr_add(&ctr.bytes, st.bytes);
	ctr_add(&ctr.ms, ms);
	if (app->rd)
		__atomic_store_n(&app->rd->lastsave, sv.info.lastsave, __ATOMIC_RELAXED);
	printf("wirecache-dp: DB saved on disk (%s %s): %lu keys, %lu bytes in %lu ms%s\n",
	       bg ? "BGSAVE" : "SAVE", dst, (unsigned long)st.keys, (unsigned long)st.bytes,
	       (unsigned long)ms, st.dups ? " (keys met twice by the walk written once)" : "");
	return 0;
}

/* Run the save that seq_req asks for (the calling thread offline). */
static int run_pending(void)
{
	struct wc_clock c;
	uint64_t ticket;
	bool bg, has_clock;
	int r;

	rte_spinlock_lock(&sv.lock);
	ticket = sv.seq_req;
	bg = sv.bg;
	has_clock = sv.has_clock;
	if (has_clock)
		c = sv.clock;
	sv.info.in_progress = true;
	clock_gettime(CLOCK_MONOTONIC, &sv.cur_start);
	rte_spinlock_unlock(&sv.lock);
	if (!has_clock)
		real_clock(sv.app, &c);
	r = save_file(sv.app, &c, bg);
	rte_spinlock_lock(&sv.lock);
	sv.info.in_progress = false;
	sv.info.last_ok = r == 0;
	sv.info.last_time_sec = (int64_t)(ms_since(&sv.cur_start) / 1000);
	if (r) {
		sv.info.failed++;
		ctr_add(&ctr.failed, 1);
	}
	sv.ok[ticket % RESULTS] = r == 0;
	__atomic_store_n(&sv.seq_done, ticket, __ATOMIC_RELEASE);
	rte_spinlock_unlock(&sv.lock);
	return r;
}

static void *saver_main(void *arg)
{
	(void)arg;
	rcu_register_thread();
	rcu_thread_offline();
	while (!__atomic_load_n(&sv.stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&sv.seq_req, __ATOMIC_ACQUIRE) !=
		    __atomic_load_n(&sv.seq_done, __ATOMIC_ACQUIRE)) {
			run_pending();
			continue;
		}
		wc_waker_wait(&sv.wake, IDLE_MS);
	}
	rcu_unregister_thread();
	return NULL;
}

int rd_save_init(struct wc_app *app)
{
	const char *dir = app->cfg.rdb_dir;
	char cwd[PATH_MAX];

	sv.app = app;
	sv.stop = 0;
	if (!dir || !*dir) {
		if (!getcwd(cwd, sizeof(cwd))) {
			printf("wirecache-dp: cannot read the working directory: %s\n",
			       strerror(errno));
			return -1;
		}
		dir = cwd;
	}
	if (strlen(dir) >= sizeof(sv.dir) ||
	    strlen(app->cfg.rdb_filename ? app->cfg.rdb_filename : "dump.rdb") >=
		    sizeof(sv.filename)) {
		printf("wirecache-dp: --dir or --dbfilename is too long\n");
		return -1;
	}
	if (!realpath(dir, cwd) || strlen(cwd) >= sizeof(sv.dir)) {
		printf("wirecache-dp: --dir %s: %s\n", dir, strerror(errno ? errno : ENAMETOOLONG));
		return -1;
	}
	memcpy(sv.dir, cwd, strlen(cwd) + 1);	/* (the length was checked) */
	snprintf(sv.filename, sizeof(sv.filename), "%s",
		 app->cfg.rdb_filename ? app->cfg.rdb_filename : "dump.rdb");
	sv.info.lastsave = app->started;
	if (app->rd)
		sv.info.lastsave = app->rd->lastsave;
	sv.info.last_ok = true;
	sv.info.last_time_sec = -1;
	sv.info.current_sec = -1;
	sv.info.changes_base = 0;
	if (sv.wake.fd < 0)
		wc_waker_open(&sv.wake);
	if (pthread_create(&sv.th, NULL, saver_main, NULL) != 0) {
		printf("wirecache-dp: cannot start the RDB writer thread\n");
		return -1;
	}
	sv.started = true;
	return 0;
}

void rd_save_stop(void)
{
	if (!sv.started)
		return;
	__atomic_store_n(&sv.stop, 1, __ATOMIC_RELEASE);
	wc_waker_wake(&sv.wake);
	pthread_join(sv.th, NULL);
	sv.started = false;
}

int rd_save_request(const struct wc_clock *clock, bool bg, uint64_t *ticket)
{
	rte_spinlock_lock(&sv.lock);
	if (sv.seq_req != sv.seq_done || !sv.started) {
		rte_spinlock_unlock(&sv.lock);
		return -1;
	}
	sv.has_clock = clock != NULL;
	if (clock)
		sv.clock = *clock;
	sv.bg = bg;
	*ticket = sv.seq_req + 1;
	__atomic_store_n(&sv.seq_req, *ticket, __ATOMIC_RELEASE);
	rte_spinlock_unlock(&sv.lock);
	wc_waker_wake(&sv.wake);
	return 0;
}

bool rd_save_finished(uint64_t ticket, bool *ok)
{
	bool done;

	rte_spinlock_lock(&sv.lock);
	done = sv.seq_done >= ticket;
	if (done)
		*ok = sv.seq_done - ticket < RESULTS ? sv.ok[ticket % RESULTS] : sv.info.last_ok;
	rte_spinlock_unlock(&sv.lock);
	return done;
}

int rd_save_now(const struct wc_app *app)
{
	int r;

	(void)app;
	rd_save_stop();		/* (a save under way finishes first) */
	rte_spinlock_lock(&sv.lock);
	sv.has_clock = false;
	sv.bg = false;
	sv.seq_req = sv.seq_done + 1;
	rte_spinlock_unlock(&sv.lock);
	rcu_thread_offline();
	r = run_pending();
	rcu_thread_online();
	return r;
}

void rd_save_get_info(struct rd_save_info *in)
{
	rte_spinlock_lock(&sv.lock);
	*in = sv.info;
	in->in_progress = sv.seq_req != sv.seq_done;	/* (from the request on, as Redis's) */
	in->seq_done = sv.seq_done;
	in->cur_keys = sv.cur ? __atomic_load_n(&sv.cur->keys, __ATOMIC_RELAXED) : 0;
	in->cur_total = sv.cur ? __atomic_load_n(&sv.cur->keys_total, __ATOMIC_RELAXED) : 0;
	in->current_sec = in->in_progress && sv.info.in_progress ? (int64_t)(ms_since(&sv.cur_start) / 1000) : -1;
	rte_spinlock_unlock(&sv.lock);
}

void rd_save_get_dir(char *buf, size_t cap)
{
	rte_spinlock_lock(&sv.lock);
	snprintf(buf, cap, "%s", sv.dir);
	rte_spinlock_unlock(&sv.lock);
}

void rd_save_get_filename(char *buf, size_t cap)
{
	rte_spinlock_lock(&sv.lock);
	snprintf(buf, cap, "%s", sv.filename);
	rte_spinlock_unlock(&sv.lock);
}

/* An argument as a C string (no NUL inside, short enough). */
static bool cstr(const uint8_t *p, uint32_t n, char *buf, size_t cap)
{
	if (n >= cap || memchr(p, 0, n))
		return false;
	memcpy(buf, p, n);
	buf[n] = 0;
	return true;
}

/* Where a relative dir leads: from the current dir (Redis chdirs: the same). */
static const char *resolve_dir(const uint8_t *p, uint32_t n, char *out, size_t cap)
{
	char arg[RD_SAVE_PATH_MAX], cur[RD_SAVE_PATH_MAX], joined[2 * RD_SAVE_PATH_MAX + 2];
	char real[PATH_MAX];
	struct stat stt;

	if (!cstr(p, n, arg, sizeof(arg)))
		return strerror(ENAMETOOLONG);
	if (arg[0] == '/') {
		snprintf(joined, sizeof(joined), "%s", arg);
	} else {
		rd_save_get_dir(cur, sizeof(cur));
		snprintf(joined, sizeof(joined), "%s/%s", cur, arg);
	}
	if (stat(joined, &stt) != 0)
		return strerror(errno);
	if (!S_ISDIR(stt.st_mode))
		return strerror(ENOTDIR);
	if (access(joined, X_OK) != 0)
		return strerror(errno);
	if (!realpath(joined, real))
		return strerror(errno);
	if (strlen(real) >= cap)
		return strerror(ENAMETOOLONG);
	snprintf(out, cap, "%s", real);
	return NULL;
}

const char *rd_save_check_dir(const uint8_t *p, uint32_t n)
{
	char out[RD_SAVE_PATH_MAX];

	return resolve_dir(p, n, out, sizeof(out));
}

const char *rd_save_set_dir(const uint8_t *p, uint32_t n)
{
	char out[RD_SAVE_PATH_MAX];
	const char *err = resolve_dir(p, n, out, sizeof(out));

	if (err)
		return err;
	rte_spinlock_lock(&sv.lock);
	snprintf(sv.dir, sizeof(sv.dir), "%s", out);
	rte_spinlock_unlock(&sv.lock);
	return NULL;
}

const char *rd_save_check_filename(const uint8_t *p, uint32_t n)
{
	char name[RD_SAVE_PATH_MAX];

	if (!cstr(p, n, name, sizeof(name)))
		return "dbfilename is too long";
	if (strchr(name, '/'))
		return "dbfilename can't be a path, just a filename";
	return NULL;
}

const char *rd_save_set_filename(const uint8_t *p, uint32_t n)
{
	const char *err = rd_save_check_filename(p, n);

	if (err)
		return err;
	rte_spinlock_lock(&sv.lock);
	memcpy(sv.filename, p, n);
	sv.filename[n] = 0;
	rte_spinlock_unlock(&sv.lock);
	return NULL;
}

bool rd_save_shutdown_done(void)
{
	return __atomic_load_n(&sv.shutdown_done, __ATOMIC_ACQUIRE);
}

bool rd_save_cp_command(int argc, char **argv, char *out, size_t cap)
{
	struct rd_save_info in;
	uint64_t ticket;

	/* (other SNAPSHOT words are left to whoever knows them: false) */
	if (argc != 2 || strcmp(argv[0], "SNAPSHOT") != 0 ||
	    (strcmp(argv[1], "SAVE") != 0 && strcmp(argv[1], "STATUS") != 0))
		return false;
	if (strcmp(argv[1], "SAVE") == 0) {
		if (!__atomic_load_n(&sv.started, __ATOMIC_RELAXED))
			snprintf(out, cap, "ERR snapshots are not available on this dataplane\n");
		else if (rd_save_request(NULL, true, &ticket) != 0)
			snprintf(out, cap, "ERR busy: a save is in progress\n");
		else
			snprintf(out, cap, "OK ticket=%lu\n", (unsigned long)ticket);
	} else {
		rd_save_get_info(&in);
		snprintf(out, cap, "OK in_progress=%d done=%lu last_ok=%d lastsave=%lld saves=%lu "
			 "failed=%lu keys=%lu bytes=%lu ms=%lu\n", in.in_progress,
			 (unsigned long)in.seq_done, in.last_ok, (long long)in.lastsave,
			 (unsigned long)in.saves, (unsigned long)in.failed,
			 (unsigned long)in.last_keys, (unsigned long)in.last_bytes,
			 (unsigned long)in.last_ms);
	}
	return true;
}

/* ---- commands ---- */

struct save_job {
	uint64_t ticket;
	bool want_save, force, saved;
};

/* SAVE: only this connection waits (re-entered until the writer is done). */
static enum rd_res save_cmd(struct rd_session *s)
{
	struct save_job *j = rd_job(s);
	bool ok;

	if (s->step == 0) {
		if (rd_save_request(&s->env->ctx->clock, false, &j->ticket) != 0) {
			rd_err(s, "ERR Background save already in progress");
			return RD_DONE;
		}
		s->step = 1;
	}
	if (!rd_save_finished(j->ticket, &ok))
		return RD_BUSY;
	if (ok)
		resp_ok(rd_out(s));
	else
		rd_err(s, "ERR");
	return RD_DONE;
}

static enum rd_res bgsave(struct rd_session *s)
{
	uint64_t ticket;

	if (rd_argc(s) > 2 || (rd_argc(s) == 2 && !rd_arg_is(s, 1, "schedule"))) {
		rd_err_syntax(s);
		return RD_DONE;
	}
	/* (SCHEDULE waits for another kind of child in Redis; a save in progress is an error) */
	if (rd_save_request(&s->env->ctx->clock, true, &ticket) != 0) {
		rd_err(s, "ERR Background save already in progress");
		return RD_DONE;
	}
	resp_simple(rd_out(s), "Background saving started");
	return RD_DONE;
}

/*
 * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: save when SAVE says so or
 * --save-on-shutdown is on (not with NOSAVE), then stop the node without a
 * reply, as Redis exits. NOW changes nothing (no replicas to wait for);
 * FORCE stops the node even when the save failed; ABORT has no shutdown to
 * cancel (one that starts finishes).
 */
static enum rd_res shutdown_cmd(struct rd_session *s)
{
	struct save_job *j = rd_job(s);
	struct wc_app *app = rd_lcore(s)->app;
	bool ok;

	if (s->step == 0) {
		bool nosave = false, save = false, abort_ = false, other = false;

		*j = (struct save_job){ 0 };
		for (uint32_t i = 1; i < rd_argc(s); i++) {
			if (rd_arg_is(s, i, "nosave")) {
				nosave = true;
			} else if (rd_arg_is(s, i, "save")) {
				save = true;
			} else if (rd_arg_is(s, i, "now")) {
				other = true;
			} else if (rd_arg_is(s, i, "force")) {
				j->force = true;
				other = true;
			} else if (rd_arg_is(s, i, "abort")) {
				abort_ = true;
			} else {
				rd_err_syntax(s);
				return RD_DONE;
			}
		}
		if ((abort_ && (nosave || save || other)) || (nosave && save)) {
			rd_err_syntax(s);
			return RD_DONE;
		}
		if (abort_) {
			rd_err(s, "ERR No shutdown in progress.");
			return RD_DONE;
		}
		j->want_save = save || (app->cfg.rdb_save_on_shutdown && !nosave);
		s->step = j->want_save ? 1 : 3;
	}
	if (s->step == 1) {
		/* a background save in progress first finishes, then this one runs */
		if (rd_save_request(&s->env->ctx->clock, false, &j->ticket) != 0)
			return RD_BUSY;
		s->step = 2;
	}
	if (s->step == 2) {
		if (!rd_save_finished(j->ticket, &ok))
			return RD_BUSY;
		if (!ok && !j->force) {
			rd_err(s, "ERR Errors trying to SHUTDOWN. Check logs.");
			return RD_DONE;
		}
		j->saved = ok;
		s->step = 3;
	}
	printf("wirecache-dp: SHUTDOWN asked by a client%s: stopping\n",
	       j->saved ? " (the dataset was saved)" : j->want_save ? " (FORCE: the save failed)" : "");
	__atomic_store_n(&sv.shutdown_done, true, __ATOMIC_RELEASE);
	__atomic_store_n(&app->quit, 1, __ATOMIC_RELAXED);
	return RD_CLOSE;
}

struct rd_cmd rd_cmds_rdbsave[] = {
	RD_CMD("save", save_cmd, 1, RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_NO_MULTI |
	       RD_F_NO_ASYNC_LOADING, RD_ACL_ADMIN | RD_ACL_SLOW | RD_ACL_DANGEROUS, 0, 0, 0,
	       "server", "Write the dataset to the RDB file and wait for it",
	       "1.0.0", "O(N) where N is the total number of keys in all databases"),
	RD_CMD("bgsave", bgsave, -1, RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_NO_ASYNC_LOADING,
	       RD_ACL_ADMIN | RD_ACL_SLOW | RD_ACL_DANGEROUS, 0, 0, 0, "server",
	       "Write the dataset to the RDB file in the background", "1.0.0", "O(1)"),
	RD_CMD("shutdown", shutdown_cmd, -1, RD_F_ADMIN | RD_F_NOSCRIPT | RD_F_LOADING |
	       RD_F_STALE | RD_F_NO_MULTI | RD_F_ALLOW_BUSY,
	       RD_ACL_ADMIN | RD_ACL_SLOW | RD_ACL_DANGEROUS, 0, 0, 0, "server",
	       "Save the dataset if asked to, then stop the node",
	       "1.0.0", "O(N) when saving, where N is the total number of keys in all "
	       "databases when saving data, otherwise O(1)"),
	RD_CMD_END
};
