/*
 * dpconn.c - socket, mapping and snapshots of one dataplane (see dpconn.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dpconn.h"

void dpconn_init(struct dpconn *d, const char *path)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->sock = -1;
}

void dpconn_detach(struct dpconn *d)
{
	if (d->sock >= 0)
		close(d->sock);
	d->sock = -1;
	if (d->shm)
		munmap((void *)(uintptr_t)d->shm, d->shm_size);
	d->shm = NULL;
	d->shm_size = 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read one line (up to n - 1 bytes) into buf; takes any passed descriptor into *fd. */
static int read_line(int sock, char *buf, size_t n, int *fd, unsigned timeout_ms)
{
	size_t len = 0;
	int64_t deadline = mono_ms() + timeout_ms;

	while (len + 1 < n) {
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { .iov_base = buf + len, .iov_len = 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				      .msg_controllen = sizeof(ctl) };
		struct pollfd pf = { .fd = sock, .events = POLLIN };
		int64_t left = deadline - mono_ms();
		ssize_t r;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			return -1;
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (r <= 0) {
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			return -1;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				int got;

				memcpy(&got, CMSG_DATA(cm), sizeof(got));
				if (fd && *fd < 0)
					*fd = got;
				else
					close(got);
			}
		}
		if (buf[len] == '\n') {
			buf[len] = 0;
			return 0;
		}
		len++;
	}
	buf[len] = 0;
	return -1;
}

static int send_line(int sock, const char *cmd)
{
	char line[WC_CP_LINE_MAX];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);

	if (n <= 0 || (size_t)n >= sizeof(line))
		return -1;
	return send(sock, line, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

int dpconn_attach(struct dpconn *d, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[WC_CP_LINE_MAX];
	int fd = -1;
	const struct wc_cp_shm *shm;
	unsigned long abi = 0, size = 0;

	dpconn_detach(d);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->path);
	d->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (d->sock < 0 || connect(d->sock, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", d->path, strerror(errno));
		dpconn_detach(d);
		return -1;
	}
	if (send_line(d->sock, "HELLO") != 0 || read_line(d->sock, line, sizeof(line), &fd, 2000)) {
		snprintf(err, errlen, "%s: no answer to HELLO", d->path);
		goto fail;
	}
	if (sscanf(line, "OK abi=%lu size=%lu", &abi, &size) != 2 || fd < 0) {
		snprintf(err, errlen, "%s: unexpected HELLO reply '%.80s'", d->path, line);
		goto fail;
	}
	if (abi != WC_CP_ABI || size < sizeof(struct wc_cp_shm)) {
		snprintf(err, errlen, "%s: dataplane speaks abi %lu (size %lu), this control plane "
			 "abi %u", d->path, abi, size, WC_CP_ABI);
		goto fail;
	}
	shm = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	fd = -1;
	if (shm == MAP_FAILED) {
		snprintf(err, errlen, "%s: cannot map the shared memory: %s", d->path,
			 strerror(errno));
		goto fail;
	}
	d->shm = shm;
	d->shm_size = size;
	if (shm->magic != WC_CP_MAGIC || shm->abi != WC_CP_ABI || shm->size != size) {
		snprintf(err, errlen, "%s: the shared memory has a wrong header", d->path);
		goto fail;
	}
	d->boot_id = shm->boot_id;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	dpconn_detach(d);
	return -1;
}

bool dpconn_alive(struct dpconn *d)
{
	struct pollfd pf = { .fd = d->sock, .events = POLLIN };
	char c;

	if (d->sock < 0)
		return false;
	if (poll(&pf, 1, 0) <= 0)
		return true;
	/* nothing is sent unasked: readable means closed (or a stray byte, dropped) */
	if (recv(d->sock, &c, 1, MSG_DONTWAIT) > 0)
		return true;
	dpconn_detach(d);
	return false;
}

int dpconn_command(struct dpconn *d, const char *cmd, char *reply, size_t n,
		   unsigned timeout_ms)
{
	char line[WC_CP_LINE_MAX];

	if (d->sock < 0) {
		snprintf(reply, n, "not attached to a dataplane");
		return -1;
	}
	if (send_line(d->sock, cmd) != 0 || read_line(d->sock, line, sizeof(line), NULL,
						      timeout_ms) != 0) {
		snprintf(reply, n, "the dataplane did not answer '%s'", cmd);
		dpconn_detach(d);
		return -1;
	}
	if (strncmp(line, "OK", 2) == 0) {
		snprintf(reply, n, "%s", line[2] == ' ' ? line + 3 : line + 2);
		return 0;
	}
	snprintf(reply, n, "%s", strncmp(line, "ERR ", 4) == 0 ? line + 4 : line);
	return 1;
}

int dpconn_snapshot(const struct dpconn *d, struct wc_cp_shm *out)
{
	const struct wc_cp_shm *s = d->shm;

	if (!s)
		return -1;
	for (int tries = 0; tries < 1000; tries++) {
		uint64_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE), b;

		if (a & 1) {
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
			continue;
		}
		memcpy(out, s, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		b = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
		if (a == b) {
			if (out->magic != WC_CP_MAGIC || out->nworkers > WC_CP_MAX_LCORES ||
			    out->nparts > WC_CP_MAX_PARTS || out->ncounters > WC_CP_MAX_COUNTERS)
				return -1;
			return 0;
		}
	}
	return -1;
}
