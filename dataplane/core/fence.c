/*
 * fence.c - the write fence's state and its control-socket command (see
 * fence.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fence.h"

int64_t wc_fence_deadline_ms;
uint64_t wc_fence_refused;

void wc_fence_set(int64_t ms)
{
	int64_t d = ms < 0 ? 0 : wc_fence_now_ms() + ms;

	/* (0 would mean "off": a deadline that is now is one millisecond ago) */
	__atomic_store_n(&wc_fence_deadline_ms, ms >= 0 && d == 0 ? -1 : d, __ATOMIC_RELAXED);
}

bool wc_fence_cp_command(int argc, char **argv, char *out, size_t cap)
{
	char *end;
	long long ms;

	if (argc < 1 || strcmp(argv[0], "FENCE") != 0)
		return false;
	if (argc == 2 && strcmp(argv[1], "OFF") == 0) {
		wc_fence_set(-1);
		snprintf(out, cap, "OK fence=off\n");
		return true;
	}
	if (argc == 2 && strcmp(argv[1], "STATE") == 0) {
		int64_t d = __atomic_load_n(&wc_fence_deadline_ms, __ATOMIC_RELAXED);

		if (!d)
			snprintf(out, cap, "OK fence=off refused=%llu\n",
				 (unsigned long long)__atomic_load_n(&wc_fence_refused,
								     __ATOMIC_RELAXED));
		else
			snprintf(out, cap, "OK fence=%s left_ms=%lld refused=%llu\n",
				 wc_writes_fenced() ? "on" : "armed",
				 (long long)(d - wc_fence_now_ms()),
				 (unsigned long long)__atomic_load_n(&wc_fence_refused,
								     __ATOMIC_RELAXED));
		return true;
	}
	if (argc == 2) {
		ms = strtoll(argv[1], &end, 10);
		if (*argv[1] && !*end && ms >= 0 && ms <= 3600000) {
			wc_fence_set(ms);
			snprintf(out, cap, "OK fence=armed left_ms=%lld\n", ms);
			return true;
		}
	}
	snprintf(out, cap, "ERR usage: FENCE <ms 0..3600000>|OFF|STATE\n");
	return true;
}
