/*
 * respc.c - the small RESP client of wirecachectl (see respc.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "respc.h"

#define RESPC_DEPTH 4
#define RESPC_BULK_MAX (512u << 20)

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A socket made inside network namespace name (the thread goes back to its own after). */
static int socket_in(const char *netns, char *err, size_t errlen)
{
	char path[300];
	int mine, there, fd, e;

	if (!netns)
		return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
	if ((mine = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot open this process's network namespace: %s",
			 strerror(errno));
		return -1;
	}
	if ((there = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "network namespace %.120s: %s", path, strerror(errno));
		close(mine);
		return -1;
	}
	if (setns(there, CLONE_NEWNET) != 0) {
		snprintf(err, errlen, "cannot enter network namespace %s: %s", netns,
			 strerror(errno));
		close(there);
		close(mine);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	e = errno;
	if (setns(mine, CLONE_NEWNET) != 0) {
		/* never go on in the wrong namespace (etcd must stay in the caller's) */
		fprintf(stderr, "wirecachectl: cannot return from network namespace %s: %s\n",
			netns, strerror(errno));
		abort();
	}
	close(there);
	close(mine);
	errno = e;
	return fd;
}

int respc_connect(struct respc *c, const char *ip, unsigned port, const char *netns,
		  unsigned timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct pollfd pf;
	int one = 1, soerr = 0;
	socklen_t sl = sizeof(soerr);

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout_ms ? timeout_ms : 5000;
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		snprintf(c->err, sizeof(c->err), "'%s' is not an IPv4 address", ip);
		return -1;
	}
	c->fd = socket_in(netns, c->err, sizeof(c->err));
	if (c->fd < 0) {
		if (!c->err[0])
			snprintf(c->err, sizeof(c->err), "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		snprintf(c->err, sizeof(c->err), "cannot connect to %s:%u: %s", ip, port,
			 strerror(errno));
		goto fail;
	}
	pf = (struct pollfd){ c->fd, POLLOUT, 0 };
	if (poll(&pf, 1, (int)c->timeout_ms) <= 0) {
		snprintf(c->err, sizeof(c->err), "cannot connect to %s:%u: no answer in %u ms", ip,
			 port, c->timeout_ms);
		goto fail;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		snprintf(c->err, sizeof(c->err), "cannot connect to %s:%u: %s", ip, port,
			 strerror(soerr ? soerr : errno));
		goto fail;
	}
	return 0;
fail:
	respc_close(c);
	return -1;
}

void respc_close(struct respc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->wbuf);
	c->wbuf = NULL;
	c->wlen = c->wcap = 0;
}

static int write_all(struct respc *c, const char *p, size_t n)
{
	int64_t deadline = mono_ms() + c->timeout_ms;

	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "write: %s", strerror(errno));
			return -1;
		}
		struct pollfd pf = { c->fd, POLLOUT, 0 };
		int64_t left = deadline - mono_ms();

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
			snprintf(c->err, sizeof(c->err), "write: timed out after %u ms",
				 c->timeout_ms);
			return -1;
		}
	}
	return 0;
}

int respc_append(struct respc *c, int argc, const char *const *argv, const size_t *lens)
{
	size_t need = 32;
	char *b;

	if (c->fd < 0) {
		snprintf(c->err, sizeof(c->err), "not connected");
		return -1;
	}
	for (int i = 0; i < argc; i++)
		need += 32 + (lens ? lens[i] : strlen(argv[i]));
	if (c->wcap - c->wlen < need) {
		size_t cap = c->wcap ? c->wcap : 4096;

		while (cap - c->wlen < need)
			cap *= 2;
		if (!(b = realloc(c->wbuf, cap))) {
			c->wlen = 0;
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
		c->wbuf = b;
		c->wcap = cap;
	}
	b = c->wbuf;
	c->wlen += (size_t)snprintf(b + c->wlen, c->wcap - c->wlen, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		size_t l = lens ? lens[i] : strlen(argv[i]);

		c->wlen += (size_t)snprintf(b + c->wlen, c->wcap - c->wlen, "$%zu\r\n", l);
		memcpy(b + c->wlen, argv[i], l);
		c->wlen += l;
		memcpy(b + c->wlen, "\r\n", 2);
		c->wlen += 2;
	}
	return 0;
}

int respc_flush(struct respc *c)
{
	int rc;

	if (c->fd < 0) {
		c->wlen = 0;
		snprintf(c->err, sizeof(c->err), "not connected");
		return -1;
	}
	rc = write_all(c, c->wbuf, c->wlen);
	c->wlen = 0;
	if (rc != 0)
		respc_close(c);
	return rc;
}

int respc_send(struct respc *c, int argc, const char *const *argv, const size_t *lens)
{
	int rc;

	c->wlen = 0;
	if (respc_append(c, argc, argv, lens) != 0)
		return -1;
	rc = write_all(c, c->wbuf, c->wlen);
	c->wlen = 0;
	return rc;
}

/* Have at least one byte buffered. */
static int fill(struct respc *c, int64_t deadline)
{
	if (c->rpos < c->rlen)
		return 0;
	c->rpos = c->rlen = 0;
	for (;;) {
		ssize_t r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);

		if (r > 0) {
			c->rlen = (size_t)r;
			return 0;
		}
		if (r == 0) {
			snprintf(c->err, sizeof(c->err), "the server closed the connection");
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "read: %s", strerror(errno));
			return -1;
		}
		struct pollfd pf = { c->fd, POLLIN, 0 };
		int64_t left = deadline - mono_ms();

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
			snprintf(c->err, sizeof(c->err), "no reply in %u ms", c->timeout_ms);
			return -1;
		}
	}
}

/* A line up to CRLF (without it), malloc'ed. */
static char *read_line(struct respc *c, size_t *len, int64_t deadline)
{
	size_t cap = 64, n = 0;
	char *s = malloc(cap), ch;

	while (s) {
		if (fill(c, deadline) != 0) {
			free(s);
			return NULL;
		}
		ch = c->rbuf[c->rpos++];
		if (ch == '\n' && n && s[n - 1] == '\r') {
			s[--n] = 0;
			*len = n;
			return s;
		}
		if (n + 2 > cap) {
			char *t = cap > (1u << 20) ? NULL : realloc(s, cap *= 2);

			if (!t) {
				free(s);
				snprintf(c->err, sizeof(c->err), "a reply line too long");
				return NULL;
			}
			s = t;
		}
		s[n++] = ch;
	}
	snprintf(c->err, sizeof(c->err), "out of memory");
	return NULL;
}

static int read_bytes(struct respc *c, char *dst, size_t n, int64_t deadline)
{
	while (n) {
		size_t k;

		if (fill(c, deadline) != 0)
			return -1;
		k = c->rlen - c->rpos < n ? c->rlen - c->rpos : n;
		memcpy(dst, c->rbuf + c->rpos, k);
		c->rpos += k;
		dst += k;
		n -= k;
	}
	return 0;
}

static int parse(struct respc *c, struct respc_reply *r, int depth, int64_t deadline)
{
	size_t len;
	char *line, *end;
	long long v;

	memset(r, 0, sizeof(*r));
	if (!(line = read_line(c, &len, deadline)))
		return -1;
	if (len == 0) {
		free(line);
		snprintf(c->err, sizeof(c->err), "protocol error: an empty reply line");
		return -1;
	}
	switch (line[0]) {
	case '+':
	case '-':
		r->type = (enum respc_type)line[0];
		r->len = len - 1;
		memmove(line, line + 1, len);
		r->str = line;
		return 0;
	case ':':
	case '$':
	case '*':
		errno = 0;
		v = strtoll(line + 1, &end, 10);
		if (errno || *end || end == line + 1)
			break;
		if (line[0] == ':') {
			r->type = RESPC_INT;
			r->integer = v;
			free(line);
			return 0;
		}
		if (v < 0) {
			r->type = RESPC_NIL;
			free(line);
			return 0;
		}
		if (line[0] == '$') {
			free(line);
			if ((unsigned long long)v > RESPC_BULK_MAX || !(r->str = malloc((size_t)v + 2))) {
				snprintf(c->err, sizeof(c->err), "a bulk reply of %lld bytes", v);
				return -1;
			}
			r->type = RESPC_BULK;
			r->len = (size_t)v;
			if (read_bytes(c, r->str, (size_t)v + 2, deadline) != 0)
				return -1;
			r->str[v] = 0;
			return 0;
		}
		free(line);
		r->type = RESPC_ARRAY;
		if (depth >= RESPC_DEPTH || v > 1000000 ||
		    (v && !(r->elem = calloc((size_t)v, sizeof(*r->elem))))) {
			snprintf(c->err, sizeof(c->err), "an array reply too deep or too long");
			return -1;
		}
		for (long long i = 0; i < v; i++) {
			r->n++;
			if (parse(c, &r->elem[i], depth + 1, deadline) != 0)
				return -1;
		}
		return 0;
	}
	snprintf(c->err, sizeof(c->err), "protocol error: '%.40s'", line);
	free(line);
	return -1;
}

int respc_read(struct respc *c, struct respc_reply *r)
{
	if (c->fd < 0) {
		memset(r, 0, sizeof(*r));
		snprintf(c->err, sizeof(c->err), "not connected");
		return -1;
	}
	if (parse(c, r, 0, mono_ms() + c->timeout_ms) != 0) {
		respc_reply_free(r);
		respc_close(c);	/* out of step with the server: the connection is no good */
		return -1;
	}
	return 0;
}

int respc_call(struct respc *c, struct respc_reply *r, int argc, const char *const *argv,
	       const size_t *lens)
{
	if (respc_send(c, argc, argv, lens) != 0) {
		memset(r, 0, sizeof(*r));
		respc_close(c);
		return -1;
	}
	return respc_read(c, r);
}

void respc_reply_free(struct respc_reply *r)
{
	for (size_t i = 0; i < r->n; i++)
		respc_reply_free(&r->elem[i]);
	free(r->elem);
	free(r->str);
	memset(r, 0, sizeof(*r));
}
