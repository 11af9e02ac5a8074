/*
 * httpc.c - minimal HTTP/1.0 client (see httpc.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "httpc.h"
#include "slotrange.h"

int httpc_parse_url(const char *url, struct http_target *t, char *err, size_t errlen)
{
	const char *p = url, *colon;
	char port[8];
	size_t hl, pl;
	unsigned long v;
	struct in_addr a;

	if (strncmp(p, "http://", 7) != 0)
		goto bad;
	p += 7;
	colon = strchr(p, ':');
	if (!colon || (hl = (size_t)(colon - p)) == 0 || hl >= sizeof(t->host))
		goto bad;
	memcpy(t->host, p, hl);
	t->host[hl] = 0;
	pl = strcspn(colon + 1, "/");
	if (pl == 0 || pl >= sizeof(port) || (colon[1 + pl] && strcmp(colon + 1 + pl, "/") != 0))
		goto bad;
	memcpy(port, colon + 1, pl);
	port[pl] = 0;
	if (cp_parse_uint(port, 65535, &v) != 0 || v == 0 || inet_pton(AF_INET, t->host, &a) != 1)
		goto bad;
	t->port = (unsigned)v;
	return 0;
bad:
	snprintf(err, errlen, "invalid URL '%.80s': want http://IPv4-ADDRESS:PORT", url);
	return -1;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int wait_fd(int fd, short ev, const struct timespec *deadline)
{
	struct pollfd pf = { .fd = fd, .events = ev };
	long left = ms_left(deadline);

	if (left <= 0)
		return -1;
	return poll(&pf, 1, (int)left) == 1 ? 0 : -1;
}

int httpc_request(const struct http_target *t, const char *method, const char *path,
		  const char *token, const char *body, unsigned timeout_ms, struct http_resp *out,
		  char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)t->port) };
	struct timespec deadline;
	struct buf req, resp;
	char *hdr_end, *text;
	size_t sent = 0, len = 0;
	int fd, rc = -1;

	memset(out, 0, sizeof(*out));
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	inet_pton(AF_INET, t->host, &sa.sin_addr);
	buf_init(&req);
	buf_init(&resp);
	buf_printf(&req, "%s %s HTTP/1.0\r\nHost: %s:%u\r\nUser-Agent: wirecachectl\r\n", method,
		   path, t->host, t->port);
	if (token && *token)
		buf_printf(&req, "Authorization: Bearer %s\r\n", token);
	if (body)
		buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			   strlen(body), body);
	else
		buf_printf(&req, "\r\n");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || req.failed) {
		snprintf(err, errlen, "out of resources");
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    (errno != EINPROGRESS || wait_fd(fd, POLLOUT, &deadline) != 0)) {
		snprintf(err, errlen, "cannot reach wirecache-cp at %s:%u: %s", t->host, t->port,
			 strerror(errno ? errno : ETIMEDOUT));
		goto out;
	}
	while (sent < req.len) {
		ssize_t n = send(fd, req.p + sent, req.len - sent, MSG_NOSIGNAL);

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, &deadline) == 0)
			continue;
		snprintf(err, errlen, "cannot reach wirecache-cp at %s:%u: %s", t->host, t->port,
			 n < 0 ? strerror(errno) : "connection closed");
		goto out;
	}
	for (;;) {
		char chunk[16384];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n > 0) {
			buf_put(&resp, chunk, (size_t)n);
			if (resp.len > (64u << 20)) {
				snprintf(err, errlen, "response too large");
				goto out;
			}
			continue;
		}
		if (n == 0)
			break;
		if (errno == EAGAIN && wait_fd(fd, POLLIN, &deadline) == 0)
			continue;
		snprintf(err, errlen, "no answer from wirecache-cp at %s:%u within %u ms", t->host,
			 t->port, timeout_ms);
		goto out;
	}
	text = buf_take(&resp, &len);
	if (!text || sscanf(text, "HTTP/1.%*d %d", &out->status) != 1 ||
	    !(hdr_end = strstr(text, "\r\n\r\n"))) {
		free(text);
		snprintf(err, errlen, "not an HTTP response from %s:%u", t->host, t->port);
		goto out;
	}
	hdr_end += 4;
	out->len = len - (size_t)(hdr_end - text);
	memmove(text, hdr_end, out->len + 1);
	out->body = text;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&req);
	buf_free(&resp);
	return rc;
}

void http_resp_free(struct http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}
