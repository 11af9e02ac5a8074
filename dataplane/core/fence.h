/*
 * fence.h - write fencing (DESIGN.md, Failover): a cluster master whose
 * control plane cannot renew its etcd lease must stop taking writes before
 * the lease can expire and a replica can be promoted in its place. Its
 * control plane, after each renewal, gives the dataplane a deadline (FENCE
 * <ms> on the control socket: writes are taken for ms more milliseconds);
 * without a new one in time, writes are refused (Redis: -CLUSTERDOWN, as a
 * minority master answers; memcached: SERVER_ERROR) until the next renewal.
 * Nothing depends on the control plane still running: a control plane that
 * died renews nothing, so its dataplane fences itself. `FENCE OFF` (a
 * replica, a master without replicas, a node alone) takes writes always.
 *
 * The check costs one relaxed load and a predictable branch when off, and
 * a coarse monotonic clock read (vDSO) when on, per write.
 */
#ifndef WC_CORE_FENCE_H
#define WC_CORE_FENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC_COARSE milliseconds from which writes are refused; 0: never. */
extern int64_t wc_fence_deadline_ms;

static inline int64_t wc_fence_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Are writes refused now? */
static inline bool wc_writes_fenced(void)
{
	int64_t d = __atomic_load_n(&wc_fence_deadline_ms, __ATOMIC_RELAXED);

	return __builtin_expect(d != 0, 0) && wc_fence_now_ms() >= d;
}

/* Writes are taken for ms more milliseconds (ms < 0: always, the fence is off). */
void wc_fence_set(int64_t ms);

/* Counters: how often writes were refused (for stats, INFO and /metrics). */
extern uint64_t wc_fence_refused;

/*
 * The control socket's FENCE <ms>|OFF|STATE: true when argv was FENCE (out
 * holds the reply line), false when it is another command.
 */
bool wc_fence_cp_command(int argc, char **argv, char *out, size_t cap);

#endif
