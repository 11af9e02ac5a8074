/*
 * clock.c - clock ticking and exptime conversion (see clock.h).
 */
#include <time.h>

#include "clock.h"
#include "item.h"

int64_t wc_clock_default_epoch(void)
{
	static int64_t epoch;
	int64_t zero = 0, mine = (int64_t)time(NULL) - 1;

	if (__atomic_compare_exchange_n(&epoch, &zero, mine, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		return mine;
	return zero;
}

void wc_clock_init(struct wc_clock *c, int64_t epoch_unix)
{
	c->epoch = epoch_unix;
	c->now = 1;
	c->ms = 0;
	wc_clock_tick(c);
}

void wc_clock_tick(struct wc_clock *c)
{
	struct timespec ts;
	int64_t rel;

	/* the precise clock (vDSO, no syscall either): the coarse one lags up to a
	 * kernel tick (4 ms), and Redis's millisecond expiries and PTTL show it */
	clock_gettime(CLOCK_REALTIME, &ts);
	rel = (int64_t)ts.tv_sec - c->epoch;
	if (rel < 1)
		rel = 1;
	if (rel > (int64_t)WC_EXPTIME_MAX - 1)
		rel = (int64_t)WC_EXPTIME_MAX - 1;
	/* never step backwards: a wall-clock jump back must not revive items */
	if ((uint32_t)rel > c->now) {
		c->now = (uint32_t)rel;
		c->ms = (uint16_t)(ts.tv_nsec / 1000000);
	} else if ((uint32_t)rel == c->now && ts.tv_nsec / 1000000 > c->ms) {
		c->ms = (uint16_t)(ts.tv_nsec / 1000000);
	}
}

bool wc_expiry_from_unix_ms(const struct wc_clock *c, int64_t unix_ms, uint32_t *exptime,
			    uint32_t *ms)
{
	int64_t rel_ms = unix_ms - c->epoch * 1000, sec;

	if (unix_ms <= wc_clock_unix_ms(c))
		return false;
	sec = rel_ms / 1000;
	if (sec > (int64_t)WC_EXPTIME_MAX) {
		*exptime = WC_EXPTIME_MAX;
		*ms = 0;
		return true;
	}
	*exptime = (uint32_t)sec;
	*ms = (uint32_t)(rel_ms % 1000);
	return true;
}

enum wc_exptime_kind wc_exptime_convert(const struct wc_clock *c, int64_t exptime,
					uint32_t *at)
{
	int64_t t;

	if (exptime == 0)
		return WC_EXP_NEVER;
	if (exptime < 0)
		return WC_EXP_PAST;
	if (exptime <= WC_EXPTIME_REL_MAX)
		t = (int64_t)c->now + exptime;
	else
		t = exptime - c->epoch;
	if (t <= (int64_t)c->now)
		return WC_EXP_PAST;
	*at = t > (int64_t)WC_EXPTIME_MAX ? WC_EXPTIME_MAX : (uint32_t)t;
	return WC_EXP_AT;
}
