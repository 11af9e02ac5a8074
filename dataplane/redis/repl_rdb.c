/*
 * repl_rdb.c - the full-sync snapshot thread (see repl_rdb.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "core/waker.h"
#include "redis/rdb_write.h"
#include "redis/repl_rdb.h"

#define IDLE_MS 100	/* the longest wait between looks: a request or release wakes it */

struct job {
	int state;			/* enum rd_rdb_job_state (atomic) */
	struct wc_clock clock;		/* the asking lcore's store clock */
	int fd;
	const uint8_t *map;
	uint64_t len;
};

static struct {
	struct wc_app *app;
	pthread_t th;
	bool started;
	int stop;
	struct wc_waker wake;		/* a request, a release or the stop (core/waker.h) */
	struct job jobs[RD_REPL_JOBS];
} rj = { .wake = WC_WAKER_INIT };

static struct rd_repl_rdb_counters ctr;

static void ctr_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

const struct rd_repl_rdb_counters *rd_repl_rdb_counters(void)
{
	return &ctr;
}

static bool cas(int *w, int from, int to)
{
	return __atomic_compare_exchange_n(w, &from, to, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void unmap(struct job *j)
{
	if (j->map)
		munmap((void *)(uintptr_t)j->map, j->len ? j->len : 1);
	if (j->fd >= 0)
		close(j->fd);
	j->map = NULL;
	j->len = 0;
	j->fd = -1;
}

/* Write job j's snapshot (the thread offline but for the walk). */
static void run_job(struct job *j)
{
	struct rdbw_stats st = { 0 };
	struct timespec t0, t1;
	struct stat sb;
	int r;
	void *m;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	j->fd = memfd_create("wirecache-repl-rdb", MFD_CLOEXEC);
	if (j->fd < 0) {
		printf("wirecache-dp: replication: cannot make a memfd for a full sync: %s\n",
		       strerror(errno));
		goto failed;
	}
	rcu_thread_online();
	r = rdb_write_store(rj.app, j->fd, &j->clock, (int64_t)time(NULL), &st);
	rcu_thread_offline();
	if (r || fstat(j->fd, &sb) != 0) {
		printf("wirecache-dp: replication: the full sync snapshot failed: %s\n",
		       strerror(r ? r : errno));
		goto failed;
	}
	j->len = (uint64_t)sb.st_size;
	m = mmap(NULL, j->len ? j->len : 1, PROT_READ, MAP_SHARED, j->fd, 0);
	if (m == MAP_FAILED) {
		printf("wirecache-dp: replication: cannot map the snapshot: %s\n", strerror(errno));
		j->len = 0;
		goto failed;
	}
	j->map = m;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ctr_add(&ctr.snapshots, 1);
	ctr_add(&ctr.keys, st.keys);
	ctr_add(&ctr.bytes, j->len);
	ctr_add(&ctr.ms, (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000 +
				    (t1.tv_nsec - t0.tv_nsec) / 1000000));
	printf("wirecache-dp: replication: snapshot for a full sync: %lu keys, %lu bytes\n",
	       (unsigned long)st.keys, (unsigned long)j->len);
	if (!cas(&j->state, RD_RJ_RUNNING, RD_RJ_DONE)) {
		unmap(j);	/* (the replica went away meanwhile) */
		__atomic_store_n(&j->state, RD_RJ_FREE, __ATOMIC_RELEASE);
	}
	return;
failed:
	ctr_add(&ctr.failed, 1);
	unmap(j);
	if (!cas(&j->state, RD_RJ_RUNNING, RD_RJ_FAILED))
		__atomic_store_n(&j->state, RD_RJ_FREE, __ATOMIC_RELEASE);
}

static void *worker_main(void *arg)
{
	(void)arg;
	rcu_register_thread();
	rcu_thread_offline();
	while (!__atomic_load_n(&rj.stop, __ATOMIC_ACQUIRE)) {
		bool did = false;

		for (unsigned i = 0; i < RD_REPL_JOBS; i++) {
			struct job *j = &rj.jobs[i];

			if (__atomic_load_n(&j->state, __ATOMIC_ACQUIRE) == RD_RJ_RELEASED) {
				unmap(j);
				__atomic_store_n(&j->state, RD_RJ_FREE, __ATOMIC_RELEASE);
			} else if (cas(&j->state, RD_RJ_QUEUED, RD_RJ_RUNNING)) {
				run_job(j);
				did = true;
			}
		}
		if (!did)
			wc_waker_wait(&rj.wake, IDLE_MS);
	}
	for (unsigned i = 0; i < RD_REPL_JOBS; i++)
		unmap(&rj.jobs[i]);
	rcu_unregister_thread();
	return NULL;
}

int rd_repl_rdb_init(struct wc_app *app)
{
	rj.app = app;
	rj.stop = 0;
	for (unsigned i = 0; i < RD_REPL_JOBS; i++)
		rj.jobs[i] = (struct job){ .state = RD_RJ_FREE, .fd = -1 };
	if (rj.wake.fd < 0)
		wc_waker_open(&rj.wake);
	if (pthread_create(&rj.th, NULL, worker_main, NULL) != 0) {
		printf("wirecache-dp: cannot start the replication snapshot thread\n");
		return -1;
	}
	rj.started = true;
	return 0;
}

void rd_repl_rdb_stop(void)
{
	if (!rj.started)
		return;
	__atomic_store_n(&rj.stop, 1, __ATOMIC_RELEASE);
	wc_waker_wake(&rj.wake);
	pthread_join(rj.th, NULL);
	rj.started = false;
}

int rd_repl_rdb_request(const struct wc_clock *clock)
{
	if (!__atomic_load_n(&rj.started, __ATOMIC_RELAXED))
		return -1;
	for (unsigned i = 0; i < RD_REPL_JOBS; i++) {
		struct job *j = &rj.jobs[i];

		/* (claimed first: the clock is written before the thread may see it) */
		if (cas(&j->state, RD_RJ_FREE, RD_RJ_CLAIMED)) {
			j->clock = *clock;
			__atomic_store_n(&j->state, RD_RJ_QUEUED, __ATOMIC_RELEASE);
			wc_waker_wake(&rj.wake);
			return (int)i;
		}
	}
	return -1;
}

enum rd_rdb_job_state rd_repl_rdb_poll(int j, const uint8_t **map, uint64_t *len)
{
	int st = __atomic_load_n(&rj.jobs[j].state, __ATOMIC_ACQUIRE);

	if (st == RD_RJ_DONE) {
		*map = rj.jobs[j].map;
		*len = rj.jobs[j].len;
	}
	return (enum rd_rdb_job_state)st;
}

void rd_repl_rdb_release(int j)
{
	int *w = &rj.jobs[j].state;

	for (;;) {
		int st = __atomic_load_n(w, __ATOMIC_ACQUIRE);

		if (st == RD_RJ_QUEUED && cas(w, st, RD_RJ_FREE))
			return;
		if (st == RD_RJ_RUNNING && cas(w, st, RD_RJ_CANCELLED))
			return;
		if ((st == RD_RJ_DONE || st == RD_RJ_FAILED) && cas(w, st, RD_RJ_RELEASED)) {
			wc_waker_wake(&rj.wake);	/* its mapping goes now */
			return;
		}
		if (st == RD_RJ_FREE || st == RD_RJ_CANCELLED || st == RD_RJ_RELEASED ||
		    st == RD_RJ_CLAIMED)
			return;
	}
}
