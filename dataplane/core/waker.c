/*
 * waker.c - a helper thread's wait for work on an eventfd (see waker.h).
 */
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/waker.h"

void wc_waker_open(struct wc_waker *w)
{
	w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

void wc_waker_close(struct wc_waker *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

void wc_waker_wake(struct wc_waker *w)
{
	uint64_t one = 1;

	if (w->fd >= 0 && write(w->fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, a wake is pending anyway */
	}
}

void wc_waker_wait(struct wc_waker *w, int max_ms)
{
	struct pollfd pf = { .fd = w->fd, .events = POLLIN };
	uint64_t n;

	if (w->fd < 0) {
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		return;
	}
	if (poll(&pf, 1, max_ms) > 0 && read(w->fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: another reader took it; nothing to do */
	}
}
