/*
 * cpif.c - the control interface (see cpif.h): shared memory, socket and
 * control thread. The protocol and the region's layout are in
 * wirecache/cpshm.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "core/cpcounters.h"
#include "core/cpif.h"
#include "core/cpif_cmap.h"
#include "core/fence.h"
#include "store/repl.h"
#include "core/cpif_creq.h"
#include "core/latency.h"
#include "redis/rdbload.h"
#include "core/migrate.h"
#include "redis/rdbsave.h"
#include "redis/replica.h"
#include "redis/server.h"
#include "wirecache/cpshm.h"

#define MAX_CLIENTS 8
#define MAX_ARGS 16		/* CMAP NODE has 11 words at most */

struct client {
	int fd;
	size_t len;
	char buf[WC_CP_LINE_MAX];
	struct wc_cmap_stage *cmap;	/* the cluster map staged on it (cpif_cmap.h) */
	int64_t creq_deadline;		/* a CREQ NEXT waits until then (ms); 0: none */
};

struct wc_cpif {
	struct wc_app *app;
	struct wc_migrator *mig;
	struct wc_cp_shm *shm;
	size_t shm_size;
	int shm_fd;
	unsigned ncounters;
	uint64_t published_epoch;
	struct wc_lat *lat[WC_MAX_WORKERS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd, wake_fd;
	struct client clients[MAX_CLIENTS];
	pthread_t thread;
	bool running;
	int stop;
};

/* ---- the region ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int make_region(struct wc_cpif *cp, const char *version)
{
	struct wc_app *app = cp->app;
	struct wc_cp_shm *s;
	uint64_t boot = 0;

	cp->shm_size = (sizeof(*s) + 4095) & ~(size_t)4095;
	cp->shm_fd = memfd_create("wirecache-cp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (cp->shm_fd < 0)
		return -1;
	if (ftruncate(cp->shm_fd, (off_t)cp->shm_size) != 0)
		return -1;
	fcntl(cp->shm_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	s = mmap(NULL, cp->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, cp->shm_fd, 0);
	if (s == MAP_FAILED)
		return -1;
	cp->shm = s;
	if (getrandom(&boot, sizeof(boot), 0) != sizeof(boot))
		boot = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	s->magic = WC_CP_MAGIC;
	s->abi = WC_CP_ABI;
	s->size = cp->shm_size;
	s->boot_id = boot | 1;
	s->pid = getpid();
	s->started_unix = app->started;
	s->tsc_hz = rte_get_tsc_hz();
	snprintf(s->version, sizeof(s->version), "%s", version);
	snprintf(s->name, sizeof(s->name), "%s", cp->path);
	s->nworkers = app->nworkers;
	s->nparts = app->nparts;
	s->mem_limit = app->cfg.memory;
	s->max_conns = app->cfg.max_conns;
	for (unsigned i = 0; i < app->nworkers && i < WC_CP_MAX_LCORES; i++)
		s->lcore_id[i] = app->lc[i]->lcore_id;
	cp->ncounters = wc_cp_counters_describe(s->counters, WC_CP_MAX_COUNTERS);
	s->ncounters = cp->ncounters;
	return 0;
}

/* Rewrite the snapshot under the sequence lock. */
static void publish(struct wc_cpif *cp)
{
	struct wc_app *app = cp->app;
	struct wc_cp_shm *s = cp->shm;
	uint64_t seq = s->seq;
	const struct wc_slot_table *t = cp->mig ? wc_migrator_table(cp->mig) : NULL;

	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wc_cp_counters_base(app, s->base, cp->ncounters);
	for (unsigned i = 0; i < app->nworkers && i < WC_CP_MAX_LCORES; i++) {
		wc_cp_counters_read(app->lc[i], s->lc[i].v, cp->ncounters);
		s->lc[i].loops = __atomic_load_n(&app->lc[i]->loops, __ATOMIC_RELAXED);
		s->lc[i].busy_tsc = __atomic_load_n(&app->lc[i]->busy.busy_tsc, __ATOMIC_RELAXED);
		s->lc[i].total_tsc = __atomic_load_n(&app->lc[i]->busy.total_tsc, __ATOMIC_RELAXED);
	}
	for (unsigned i = 0; i < app->nparts && i < WC_CP_MAX_PARTS; i++) {
		struct wc_part_stats ps;
		struct wc_cp_part_snap *o = &s->part[i];

		wc_part_get_stats(app->parts[i], &ps);
		o->id = i;
		o->owner = app->part_owner[i];
		o->items = ps.items;
		o->bytes = ps.bytes;
		o->limit_bytes = ps.limit_bytes;
		o->total_items = ps.total_items;
		o->evictions = ps.evictions;
		o->evicted_unfetched = ps.evicted_unfetched;
		o->expirations = ps.expirations;
		o->reclaimed = ps.reclaimed;
		o->relocations = ps.relocations;
		o->index_bytes = ps.index_bytes;
		{
			struct wc_repl_stats rs;

			wc_repl_get_stats(app->parts[i], &rs);
			o->repl_offset = rs.master_offset;
			o->repl_backlog_first = rs.backlog_first;
			o->repl_backlog_size = rs.backlog_size;
			o->repl_entries = rs.entries;
			o->repl_resyncs = rs.resyncs;
		}
	}
	if (t && t->epoch != cp->published_epoch) {
		memcpy(s->slot_part, t->part, sizeof(s->slot_part));
		memcpy(s->slot_node, t->node, sizeof(s->slot_node));
		s->slot_epoch = t->epoch;
		cp->published_epoch = t->epoch;
	}
	if (cp->mig) {
		s->move = *wc_migrator_status(cp->mig);
		wc_migrator_totals(cp->mig, &s->moves_done, &s->moves_failed);
	}
	s->published_unix_ms = now_ms();
	s->publishes++;
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

/* ---- commands ---- */

static void reply(struct client *c, const char *text)
{
	size_t len = strlen(text);

	if (send(c->fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len) {
		/* a client that does not read its replies is dropped */
		close(c->fd);
		c->creq_deadline = 0;
		c->fd = -1;
	}
}

static void reply_with_fd(struct wc_cpif *cp, struct client *c, const char *text)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)(uintptr_t)text, .iov_len = strlen(text) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	char self[64];
	int ro;

	/* a read-only descriptor of the same memfd: the control plane cannot scribble on it */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", cp->shm_fd);
	ro = open(self, O_RDONLY | O_CLOEXEC);
	memset(ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), ro >= 0 ? &ro : &cp->shm_fd, sizeof(int));
	if (sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)iov.iov_len) {
		close(c->fd);
		c->fd = -1;
	}
	if (ro >= 0)
		close(ro);
}

/* A decimal number in [min, max], nothing else. */
static bool parse_num(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static struct rd_creq_table *creq_table(struct wc_cpif *cp)
{
	return cp->app->rd ? &cp->app->rd->creq : NULL;
}

static void close_client(struct client *c)
{
	close(c->fd);
	c->fd = -1;
	c->creq_deadline = 0;
}

static void command(struct wc_cpif *cp, struct client *c, char *line)
{
	char out[WC_CP_LINE_MAX + 64], err[160];
	char *argv[MAX_ARGS + 1], *save = NULL;
	int argc = 0;
	uint64_t taken;

	/* (before the words are split: a refusal's text has any number of them) */
	switch (wc_creq_line(creq_table(cp), line, now_ms(), out, sizeof(out),
			     &c->creq_deadline, &taken)) {
	case WC_CREQ_NOT_MINE:
		break;
	case WC_CREQ_REPLIED:
		c->creq_deadline = 0;
		reply(c, out);
		if (c->fd < 0 && taken)
			rd_creq_untake(creq_table(cp), taken);	/* never reached it */
		return;
	case WC_CREQ_WAIT:
		return;		/* (the loop answers it: long_polls) */
	}

	for (char *t = strtok_r(line, " \t", &save); t && argc <= MAX_ARGS;
	     t = strtok_r(NULL, " \t", &save))
		argv[argc++] = t;
	if (argc == 0) {
		reply(c, "ERR empty command\n");
		return;
	}
	if (argc > MAX_ARGS) {
		wc_cmap_stage_drop(&c->cmap);
		reply(c, "ERR too many arguments\n");
		return;
	}
	if (wc_cmap_command(cp->app, cp->mig, &c->cmap, argc, argv, out, sizeof(out))) {
		if (strcmp(argv[0], "CMAP") == 0 && argc == 2 && strcmp(argv[1], "COMMIT") == 0 &&
		    out[0] == 'O')
			publish(cp);	/* the new slot -> node table shows at once */
		reply(c, out);
		return;
	}
	if (wc_fence_cp_command(argc, argv, out, sizeof(out))) {	/* FENCE (core/fence.h) */
		reply(c, out);
		return;
	}
	if (rd_save_cp_command(argc, argv, out, sizeof(out))) {	/* SNAPSHOT (redis/rdbsave.h) */
		reply(c, out);
		return;
	}
	if (rd_replica_cp_command(cp->app, argc, argv, out, sizeof(out))) {
		reply(c, out);	/* REPLICAOF, REPLSTATE (redis/replica.h) */
		return;
	}
	if (strcmp(argv[0], "HELLO") == 0 && argc == 1) {
		snprintf(out, sizeof(out), "OK abi=%u size=%zu\n", WC_CP_ABI, cp->shm_size);
		reply_with_fd(cp, c, out);
	} else if (strcmp(argv[0], "PING") == 0 && argc == 1) {
		reply(c, "OK pong\n");
	} else if (strcmp(argv[0], "MOVE") == 0) {
		long long from, to, part;
		uint64_t id;

		if (argc != 4 || !parse_num(argv[1], 0, INT_MAX, &from) ||
		    !parse_num(argv[2], 0, INT_MAX, &to) || !parse_num(argv[3], 0, INT_MAX, &part)) {
			reply(c, "ERR usage: MOVE <from-slot> <to-slot> <partition>\n");
			return;
		}
		if (!cp->mig) {
			reply(c, "ERR slot moves are not available on this dataplane\n");
			return;
		}
		id = wc_migrator_start(cp->mig, (unsigned)from, (unsigned)to, (unsigned)part, err,
				       sizeof(err));
		if (!id) {
			snprintf(out, sizeof(out), "ERR %s\n", err);
			reply(c, out);
			return;
		}
		publish(cp);
		snprintf(out, sizeof(out), "OK id=%lu\n", (unsigned long)id);
		reply(c, out);
	} else if (strcmp(argv[0], "FLUSH") == 0) {
		long long delay = 0;

		if (argc > 2 || (argc == 2 && !parse_num(argv[1], 0, INT_MAX, &delay))) {
			reply(c, "ERR usage: FLUSH [delay-seconds]\n");
			return;
		}
		if (!cp->mig) {
			reply(c, "ERR flush is not available on this dataplane\n");
			return;
		}
		if (wc_migrator_flush(cp->mig, delay, 5000, err, sizeof(err)) != 0) {
			snprintf(out, sizeof(out), "ERR %s\n", err);
			reply(c, out);
			return;
		}
		reply(c, "OK\n");
	} else if (strcmp(argv[0], "SNAPLOAD") == 0) {
		rd_rdb_load_command(cp->app, argc, argv, out, sizeof(out));	/* redis/rdbload.h */
		reply(c, out);
	} else {
		snprintf(out, sizeof(out), "ERR unknown command '%.40s' (HELLO, PING, MOVE, FLUSH, "
			 "ID, CMAP, CREQ, FENCE, SNAPSHOT, SNAPLOAD, REPLICAOF, REPLSTATE)\n",
			 argv[0]);
		reply(c, out);
	}
}

/* The complete lines c holds, until one waits (CREQ NEXT). */
static void client_lines(struct wc_cpif *cp, struct client *c)
{
	char *nl;

	while (c->fd >= 0 && !c->creq_deadline && (nl = memchr(c->buf, '\n', c->len))) {
		size_t used = (size_t)(nl - c->buf) + 1;

		*nl = 0;
		if (nl > c->buf && nl[-1] == '\r')
			nl[-1] = 0;
		command(cp, c, c->buf);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
}

static void client_input(struct wc_cpif *cp, struct client *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close_client(c);
		return;
	}
	if (n < 0)
		return;
	c->len += (size_t)n;
	client_lines(cp, c);
	if (c->fd >= 0 && !c->creq_deadline && c->len == sizeof(c->buf)) {
		reply(c, "ERR line too long\n");
		if (c->fd >= 0) {
			close(c->fd);
			c->fd = -1;
		}
	}
}

static void accept_client(struct wc_cpif *cp)
{
	int fd = accept4(cp->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		if (cp->clients[i].fd < 0) {
			cp->clients[i].fd = fd;
			cp->clients[i].len = 0;
			cp->clients[i].creq_deadline = 0;
			wc_cmap_stage_drop(&cp->clients[i].cmap);	/* the last client's */
			return;
		}
	}
	send(fd, "ERR too many control clients\n", 29, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* ---- the thread ---- */

/*
 * Connections waiting in CREQ NEXT: answer those a request or their time
 * came for, then go on with the lines they sent meanwhile. Returns the ms
 * until the nearest deadline still waiting (or limit).
 */
static int long_polls(struct wc_cpif *cp, int limit)
{
	struct rd_creq_table *t = creq_table(cp);
	char out[WC_CP_LINE_MAX + 64];
	int64_t now = now_ms();

	if (!t)
		return limit;
	rd_creq_sweep(t, now);
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &cp->clients[i];
		uint64_t taken;

		if (c->fd < 0 || !c->creq_deadline)
			continue;
		if (wc_creq_next(t, now, c->creq_deadline, out, sizeof(out), &taken)) {
			c->creq_deadline = 0;
			reply(c, out);
			if (c->fd < 0 && taken)
				rd_creq_untake(t, taken);	/* never reached the control plane */
			client_lines(cp, c);
		}
		if (c->fd >= 0 && c->creq_deadline && c->creq_deadline - now < limit)
			limit = (int)(c->creq_deadline - now);
	}
	return limit < 0 ? 0 : limit;
}

static void drain_wake(struct wc_cpif *cp)
{
	uint64_t v;

	if (read(cp->wake_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: already drained */
	}
}

static void *control_main(void *arg)
{
	struct wc_cpif *cp = arg;
	int64_t next_publish = 0;

	while (!__atomic_load_n(&cp->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pf[2 + MAX_CLIENTS];
		int who[2 + MAX_CLIENTS];
		unsigned n = 0;
		int64_t now = now_ms();
		int timeout;

		if (now >= next_publish) {
			publish(cp);
			next_publish = now + WC_CP_PUBLISH_MS;
		}
		timeout = cp->mig && wc_migrator_busy(cp->mig) ? 1 : (int)(next_publish - now);
		timeout = long_polls(cp, timeout < 0 ? 0 : timeout);
		pf[n] = (struct pollfd){ .fd = cp->wake_fd, .events = POLLIN };
		who[n++] = -2;
		pf[n] = (struct pollfd){ .fd = cp->listen_fd, .events = POLLIN };
		who[n++] = -1;
		for (unsigned i = 0; i < MAX_CLIENTS; i++) {
			if (cp->clients[i].fd < 0)
				continue;
			/* a connection in CREQ NEXT is not read: only its hangup matters */
			pf[n] = (struct pollfd){ .fd = cp->clients[i].fd,
						 .events = cp->clients[i].creq_deadline ? 0 : POLLIN };
			who[n++] = (int)i;
		}
		if (poll(pf, n, timeout < 0 ? 0 : timeout) > 0) {
			for (unsigned i = 0; i < n; i++) {
				if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				if (who[i] == -2) {
					drain_wake(cp);	/* (long_polls looks at the table) */
				} else if (who[i] == -1) {
					accept_client(cp);
				} else if (who[i] >= 0 && cp->clients[who[i]].fd == pf[i].fd) {
					struct client *c = &cp->clients[who[i]];

					if (c->creq_deadline)
						close_client(c);	/* gone while it waited */
					else
						client_input(cp, c);
				}
			}
		}
		if (cp->mig && wc_migrator_busy(cp->mig)) {
			wc_migrator_step(cp->mig);
			if (!wc_migrator_busy(cp->mig))
				next_publish = 0;	/* show the result at once */
		}
	}
	/* (the lcores are stopping too: a move still running is left as it is) */
	publish(cp);
	return NULL;
}

/* ---- lifecycle ---- */

static int socket_in_use(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

static void mkdirs_for(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(dir, 0755);
		*p = '/';
	}
}

static int open_socket(struct wc_cpif *cp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memcpy(sa.sun_path, cp->path, sizeof(sa.sun_path));
	mkdirs_for(cp->path);
	if (socket_in_use(&sa)) {
		fprintf(stderr, "wirecache-dp: control socket %s is in use by another process; "
			"running without a control interface (give --control-socket)\n", cp->path);
		return -1;
	}
	unlink(cp->path);
	cp->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cp->listen_fd < 0 ||
	    bind(cp->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(cp->listen_fd, 8) != 0) {
		fprintf(stderr, "wirecache-dp: control socket %s: %s; running without a control "
			"interface\n", cp->path, strerror(errno));
		if (cp->listen_fd >= 0)
			close(cp->listen_fd);
		cp->listen_fd = -1;
		return -1;
	}
	chmod(cp->path, 0660);
	return 0;
}

struct wc_cpif *wc_cpif_init(struct wc_app *app, const char *version)
{
	const char *path = app->cfg.control_socket ? app->cfg.control_socket
						   : WC_CP_DEFAULT_SOCKET;
	struct wc_cpif *cp;

	if (strcmp(path, "none") == 0)
		return NULL;
	if (strlen(path) >= sizeof(cp->path) || path[0] != '/') {
		fprintf(stderr, "wirecache-dp: --control-socket wants an absolute path under %zu "
			"bytes; running without a control interface\n", sizeof(cp->path));
		return NULL;
	}
	cp = calloc(1, sizeof(*cp));
	if (!cp)
		return NULL;
	cp->app = app;
	cp->listen_fd = cp->wake_fd = cp->shm_fd = -1;
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		cp->clients[i].fd = -1;
	snprintf(cp->path, sizeof(cp->path), "%s", path);
	if (make_region(cp, version) != 0) {
		fprintf(stderr, "wirecache-dp: control plane shared memory: %s; running without a "
			"control interface\n", strerror(errno));
		wc_cpif_stop(cp);
		return NULL;
	}
	for (unsigned i = 0; i < app->nworkers && i < WC_CP_MAX_LCORES; i++) {
		cp->lat[i] = calloc(1, sizeof(struct wc_lat));
		if (!cp->lat[i])
			continue;
		wc_lat_init(cp->lat[i], &cp->shm->lat[i].h, cp->shm->tsc_hz);
		wc_lat_lcores[i] = cp->lat[i];
	}
	cp->mig = wc_migrator_create(app);
	if (!cp->mig)
		fprintf(stderr, "wirecache-dp: slot moves unavailable (no park endpoint)\n");
	return cp;
}

int wc_cpif_start(struct wc_cpif *cp)
{
	sigset_t block, old;

	if (!cp)
		return -1;
	if (open_socket(cp) != 0)
		return -1;
	cp->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cp->wake_fd < 0)
		return -1;
	if (cp->app->rd)
		rd_creq_attach(&cp->app->rd->creq, cp->wake_fd);	/* SETSLOT can be asked */
	publish(cp);
	/* signals are the main thread's business */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	cp->running = pthread_create(&cp->thread, NULL, control_main, cp) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!cp->running)
		return -1;
	pthread_setname_np(cp->thread, "wc-control");
	printf("wirecache-dp: control socket %s\n", cp->path);
	return 0;
}

void wc_cpif_stop(struct wc_cpif *cp)
{
	if (!cp)
		return;
	if (cp->running) {
		uint64_t one = 1;

		__atomic_store_n(&cp->stop, 1, __ATOMIC_RELEASE);
		if (write(cp->wake_fd, &one, sizeof(one)) < 0)
			perror("wirecache-dp: waking the control thread");
		pthread_join(cp->thread, NULL);
	}
	if (cp->app->rd && cp->wake_fd >= 0)
		rd_creq_attach(&cp->app->rd->creq, -1);
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		if (cp->clients[i].fd >= 0)
			close(cp->clients[i].fd);
		wc_cmap_stage_drop(&cp->clients[i].cmap);
	}
	if (cp->listen_fd >= 0) {
		close(cp->listen_fd);
		unlink(cp->path);
	}
	if (cp->wake_fd >= 0)
		close(cp->wake_fd);
	for (unsigned i = 0; i < WC_MAX_WORKERS; i++) {
		if (wc_lat_lcores[i] == cp->lat[i])
			wc_lat_lcores[i] = NULL;
		free(cp->lat[i]);
	}
	wc_migrator_destroy(cp->mig);
	if (cp->shm)
		munmap(cp->shm, cp->shm_size);
	if (cp->shm_fd >= 0)
		close(cp->shm_fd);
	free(cp);
}
