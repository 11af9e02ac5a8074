/*
 * test_waker.c - a helper thread's wait for work (core/waker.h): a wake
 * before the wait ends it at once, one wait takes every wake that came
 * before it, a wake from another thread ends a wait under way, a wait
 * nobody wakes ends at its limit, and without an eventfd waits still end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include "core/waker.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether a wake is pending (looked at without taking it). */
static bool pending(const struct wc_waker *w)
{
	struct pollfd pf = { .fd = w->fd, .events = POLLIN };

	return poll(&pf, 1, 0) > 0;
}

static void wake_before_the_wait(void **state)
{
	struct wc_waker w = WC_WAKER_INIT;
	double t;

	(void)state;
	wc_waker_open(&w);
	assert_true(w.fd >= 0);
	assert_false(pending(&w));
	wc_waker_wake(&w);
	wc_waker_wake(&w);
	wc_waker_wake(&w);
	assert_true(pending(&w));
	t = now_s();
	wc_waker_wait(&w, 20000);	/* woken: does not wait its 20 s */
	assert_true(now_s() - t < 10.0);
	assert_false(pending(&w));	/* the three wakes were taken by the one wait */
	wc_waker_close(&w);
	assert_int_equal(w.fd, -1);
}

static void *waker_thread(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	wc_waker_wake(arg);
	return NULL;
}

static void wake_from_another_thread(void **state)
{
	struct wc_waker w = WC_WAKER_INIT;
	pthread_t th;
	double t;

	(void)state;
	wc_waker_open(&w);
	assert_int_equal(pthread_create(&th, NULL, waker_thread, &w), 0);
	t = now_s();
	wc_waker_wait(&w, 20000);
	assert_true(now_s() - t < 10.0);
	pthread_join(th, NULL);
	assert_false(pending(&w));
	wc_waker_close(&w);
}

static void unwoken_wait_ends_at_its_limit(void **state)
{
	struct wc_waker w = WC_WAKER_INIT;
	struct wc_waker none = WC_WAKER_INIT;
	double t;

	(void)state;
	wc_waker_open(&w);
	t = now_s();
	wc_waker_wait(&w, 30);
	assert_true(now_s() - t >= 0.025);	/* it did wait: nothing woke it */
	wc_waker_close(&w);
	/* no eventfd: a wake does nothing, a wait is a short sleep */
	wc_waker_wake(&none);
	wc_waker_wait(&none, 20000);
	wc_waker_close(&none);
	assert_int_equal(none.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wake_before_the_wait),
		cmocka_unit_test(wake_from_another_thread),
		cmocka_unit_test(unwoken_wait_ends_at_its_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
