/*
 * sock.c - the load generator over kernel TCP sockets: one epoll loop per
 * thread, each with its own connections, the same workload, request
 * encodings and reply parsers as the DPDK modes. This is how the baselines
 * (memcached, redis-server) are driven over loopback: nothing about it is
 * kernel-bypass, and nothing about it is tuned for wirecache.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lg.h"

#define WBUF_MIN 65536
#define RBUF 65536

struct sflow {
	int fd;
	bool up;
	struct sock_worker *w;
	unsigned head, count;
	struct lg_req q[LG_MAX_DEPTH];
	struct lg_parser parser;
	uint8_t *wbuf;			/* encoded requests not yet written */
	size_t wlen, woff, wcap;
	bool want_out;
};

struct sock_worker {
	struct lg_worker base;
	pthread_t thread;
	int ep;
	unsigned nflows;
	struct sflow *f;
	struct lg_credits credits;
	volatile bool ready, go;
};

static volatile bool interrupted;
static struct sockaddr_storage server;
static socklen_t server_len;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* mc_out over a flow's write buffer, growing it as needed. */
static bool wbuf_more(struct mc_out *o)
{
	struct sflow *f = o->arg;
	size_t used = f->wlen = (size_t)(o->p - f->wbuf);
	size_t cap = f->wcap ? f->wcap * 2 : WBUF_MIN;
	uint8_t *n = realloc(f->wbuf, cap);

	if (!n)
		return false;
	f->wbuf = n;
	f->wcap = cap;
	o->p = n + used;
	o->end = n + cap;
	return true;
}

static void flow_fail(struct sock_worker *w, struct sflow *f)
{
	if (!f->up)
		return;
	f->up = false;
	if (!w->base.stop)
		w->base.cnt.conn_failed++;
	w->base.cnt.errors += f->count;	/* never answered: finished, as errors */
	w->base.cnt.done += f->count;
	f->count = 0;
	epoll_ctl(w->ep, EPOLL_CTL_DEL, f->fd, NULL);
	close(f->fd);
	f->fd = -1;
}

static void flow_write(struct sock_worker *w, struct sflow *f)
{
	while (f->woff < f->wlen) {
		ssize_t n = send(f->fd, f->wbuf + f->woff, f->wlen - f->woff, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN) {
				if (!f->want_out) {
					struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
								  .data.ptr = f };

					epoll_ctl(w->ep, EPOLL_CTL_MOD, f->fd, &ev);
					f->want_out = true;
				}
				return;
			}
			if (errno == EINTR)
				continue;
			flow_fail(w, f);
			return;
		}
		w->base.cnt.tx_bytes += (uint64_t)n;
		f->woff += (size_t)n;
	}
	f->woff = f->wlen = 0;
	if (f->want_out) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = f };

		epoll_ctl(w->ep, EPOLL_CTL_MOD, f->fd, &ev);
		f->want_out = false;
	}
}

static void flow_issue(struct sock_worker *w, uint32_t i, uint64_t t0)
{
	struct sflow *f = &w->f[i];
	struct lg_req *r;
	struct mc_out o = { .more = wbuf_more, .arg = f };

	if (!f->up || f->count == LG_MAX_DEPTH)
		return;
	if (f->wbuf) {
		o.p = f->wbuf + f->wlen;
		o.end = f->wbuf + f->wcap;
	}
	r = &f->q[(f->head + f->count) % LG_MAX_DEPTH];
	lg_next(&w->base, r, t0);
	if (!lg_encode(w->base.cfg, r, &o)) {
		w->base.cnt.errors++;
		return;
	}
	f->wlen = (size_t)(o.p - f->wbuf);
	if (f->count++ == 0)
		lg_parser_expect(&f->parser, r);
	w->base.cnt.sent++;
}

static void flow_read(struct sock_worker *w, struct sflow *f)
{
	static __thread uint8_t buf[RBUF];

	for (;;) {
		ssize_t n = recv(f->fd, buf, sizeof(buf), 0);
		size_t off = 0;
		uint64_t now = now_ns();

		if (n == 0) {
			flow_fail(w, f);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				flow_fail(w, f);
			return;
		}
		w->base.cnt.rx_bytes += (uint64_t)n;
		while (off < (size_t)n) {
			enum lg_result res;
			bool ok = false;

			if (!f->count) {
				w->base.cnt.errors++;	/* bytes nobody asked for */
				break;
			}
			off += lg_parser_feed(&f->parser, buf + off, (size_t)n - off, &res, &ok);
			if (res == LG_R_MORE)
				continue;
			lg_complete(&w->base, &f->q[f->head], res, ok, now);
			f->head = (f->head + 1) % LG_MAX_DEPTH;
			f->count--;
			lg_credit_put(&w->credits, (uint32_t)(f - w->f));
			if (f->count)
				lg_parser_expect(&f->parser, &f->q[f->head]);
		}
		if ((size_t)n < sizeof(buf))
			return;
	}
}

static int flow_connect(struct sock_worker *w, struct sflow *f)
{
	int one = 1;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = f };

	f->w = w;
	f->fd = socket(server.ss_family, SOCK_STREAM, 0);
	if (f->fd < 0)
		return -1;
	setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(f->fd, (struct sockaddr *)&server, server_len) != 0 ||
	    fcntl(f->fd, F_SETFL, fcntl(f->fd, F_GETFL) | O_NONBLOCK) != 0 ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, f->fd, &ev) != 0) {
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	f->up = true;
	return 0;
}

static void pass(struct sock_worker *w, int wait_ms)
{
	const struct lg_cfg *c = w->base.cfg;
	struct epoll_event ev[64];
	uint64_t now;
	uint32_t i;
	int n = epoll_wait(w->ep, ev, 64, wait_ms);

	for (int k = 0; k < n; k++) {
		struct sflow *f = ev[k].data.ptr;

		if (!f->up)
			continue;
		if (ev[k].events & (EPOLLERR | EPOLLHUP)) {
			flow_fail(w, f);
			continue;
		}
		if (ev[k].events & EPOLLIN)
			flow_read(w, f);
		if (f->up && (ev[k].events & EPOLLOUT))
			flow_write(w, f);
	}
	now = now_ns();
	if (w->base.holding) {
		/* between preload and the run: nothing goes out */
	} else if (c->rate > 0 && !w->base.preloading) {
		for (unsigned k = 0; k < 64 && w->base.next_due <= now; k++) {
			if (!lg_credit_take(&w->credits, &i)) {
				w->base.cnt.backlog++;
				break;
			}
			flow_issue(w, i, w->base.next_due);
			w->base.next_due = lg_next_arrival(&w->base, w->base.next_due);
		}
	} else {
		bool preload = w->base.preloading;

		for (unsigned k = 0; k < 64 && (!preload || w->base.preloading); k++) {
			if (!lg_credit_take(&w->credits, &i))
				break;
			flow_issue(w, i, now);
		}
	}
	for (i = 0; i < w->nflows; i++)
		if (w->f[i].up && w->f[i].wlen > w->f[i].woff && !w->f[i].want_out)
			flow_write(w, &w->f[i]);
}

static uint64_t outstanding(struct sock_worker *w)
{
	return w->base.cnt.sent - w->base.cnt.done;
}

static void *worker_main(void *arg)
{
	struct sock_worker *w = arg;
	const struct lg_cfg *c = w->base.cfg;

	for (uint32_t i = 0; i < w->nflows; i++) {
		lg_parser_init(&w->f[i].parser, c);
		if (flow_connect(w, &w->f[i]) != 0) {
			w->base.cnt.conn_failed++;
			continue;
		}
		for (unsigned d = 0; d < c->depth; d++)
			lg_credit_put(&w->credits, i);
	}
	w->base.holding = !w->base.preloading;
	while ((w->base.preloading || outstanding(w)) && !interrupted &&
	       w->base.cnt.conn_failed == 0) {
		pass(w, 1);
		w->base.holding = !w->base.preloading;
	}
	w->ready = true;
	while (!w->go && !interrupted)
		usleep(100);
	w->base.holding = false;
	w->base.next_due = now_ns();
	while (!w->base.stop && !interrupted)
		pass(w, c->rate > 0 ? 0 : 1);
	for (uint32_t i = 0; i < w->nflows; i++)
		if (w->f[i].fd >= 0) {
			w->f[i].up = false;
			close(w->f[i].fd);
		}
	return NULL;
}

static int resolve(const char *hostport)
{
	char host[64], *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;

	snprintf(host, sizeof(host), "%s", hostport);
	colon = strrchr(host, ':');
	if (!colon)
		return -1;
	*colon = 0;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return -1;
	memcpy(&server, res->ai_addr, res->ai_addrlen);
	server_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int lg_sock_main(struct lg_run *run)
{
	struct lg_cfg *c = &run->cfg;
	static struct wc_keydist kd;
	static struct sock_worker *ws[LG_MAX_WORKERS];
	unsigned n = c->threads < c->flows ? c->threads : c->flows;
	double t0, t_measure, t_end, next_progress;
	int rc = 0;

	if (resolve(c->sock_host) != 0) {
		fprintf(stderr, "wirecache-loadgen: cannot resolve %s\n", c->sock_host);
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	lg_values_init(lg_value_max(c));
	wc_keydist_init(&kd, c->keys, c->zipf);
	for (unsigned i = 0; i < n; i++) {
		struct sock_worker *w = calloc(1, sizeof(*w));
		unsigned per = c->flows / n + (i < c->flows % n);
		uint32_t ring = lg_credit_ring_size(per, c->depth);

		if (!w)
			return 1;
		w->credits.slot = malloc(ring * sizeof(uint32_t));
		w->credits.mask = ring - 1;
		w->f = calloc(per, sizeof(struct sflow));
		w->ep = epoll_create1(0);
		if (!w->credits.slot || !w->f || w->ep < 0)
			return 1;
		w->nflows = per;
		w->base.id = i;
		w->base.cfg = c;
		w->base.rng.s = c->seed * 1000003u + i;
		w->base.kd = &kd;
		w->base.tsc_hz = 1000000000ull;
		if (c->rate > 0)
			w->base.per_tsc_rate = c->rate / n / 1e9;
		if (c->preload) {
			w->base.preload_next = i;
			w->base.preload_step = n;
			w->base.preload_left = c->keys / n + (i < c->keys % n);
			w->base.preloading = w->base.preload_left != 0;
		}
		ws[i] = w;
		run->w[i] = &w->base;
	}
	run->nworkers = n;
	for (unsigned i = 0; i < n; i++)
		pthread_create(&ws[i]->thread, NULL, worker_main, ws[i]);
	for (unsigned i = 0; i < n; i++)
		while (!ws[i]->ready && !interrupted)
			usleep(1000);
	for (unsigned i = 0; i < n; i++)
		if (ws[i]->base.cnt.conn_failed) {
			fprintf(stderr, "wirecache-loadgen: cannot connect to %s\n", c->sock_host);
			rc = 1;
		}
	t0 = now_ns() / 1e9;
	t_measure = t0 + c->warmup;
	t_end = t_measure + c->duration;
	next_progress = t0 + 1;
	for (unsigned i = 0; i < n; i++)
		ws[i]->go = true;
	while (!interrupted && !rc) {
		double t = now_ns() / 1e9;

		if (t >= t_measure && !ws[0]->base.measuring)
			for (unsigned i = 0; i < n; i++)
				ws[i]->base.measuring = true;
		if (t >= t_end)
			break;
		if (t >= next_progress) {
			lg_progress(run, t - t0);
			next_progress += 1;
		}
		usleep(2000);
	}
	t_end = now_ns() / 1e9;
	for (unsigned i = 0; i < n; i++)
		ws[i]->base.stop = true;
	for (unsigned i = 0; i < n; i++)
		pthread_join(ws[i]->thread, NULL);
	if (lg_summary(run, t_end > t_measure ? t_end - t_measure : 0) != 0)
		rc = 1;
	return rc;
}
