/*
 * waker.h - how a helper thread (the RDB writer, the full-sync snapshot
 * thread) waits for work without waking on a timer: an eventfd the asking
 * lcore writes once per request. Those threads polled every 2 ms before; on
 * a worker's CPU each of those 1,000 wakeups a second preempted the
 * busy-polling lcore in the middle of a burst (core/passes.h). The wait
 * still ends after max_ms, so a state change nobody woke for is seen late,
 * never lost; without an eventfd it sleeps the old 2 ms.
 */
#ifndef WC_CORE_WAKER_H
#define WC_CORE_WAKER_H

struct wc_waker {
	int fd;				/* eventfd, or -1 */
};

#define WC_WAKER_INIT { -1 }

/* Open w (its fd -1 when no eventfd could be had: waits then sleep 2 ms). */
void wc_waker_open(struct wc_waker *w);
void wc_waker_close(struct wc_waker *w);

/* There is work: end the waiter's wait (one write; from any thread). */
void wc_waker_wake(struct wc_waker *w);

/* Wait until woken or max_ms passed; wakes that came meanwhile are consumed. */
void wc_waker_wait(struct wc_waker *w, int max_ms);

#endif
