/*
 * clock.h - the per-lcore clock and memcached exptime rules.
 *
 * Every thread that uses the store owns a struct wc_clock and ticks it once
 * per poll loop (or burst); store operations read clock->now and never make a
 * time syscall. Times are whole seconds since a process-wide epoch, so they
 * fit in 32 bits, exactly like memcached's rel_time_t; the millisecond within
 * the current second is kept too, for Redis's millisecond expiries (an item
 * may carry the millisecond of its expiry in its ext word, item.h).
 */
#ifndef WC_STORE_CLOCK_H
#define WC_STORE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* memcached: exptimes up to 30 days are relative, larger ones absolute. */
#define WC_EXPTIME_REL_MAX (60 * 60 * 24 * 30)

struct wc_clock {
	uint32_t now;	/* seconds since epoch, always >= 1 */
	uint16_t ms;	/* millisecond within second now (0..999) */
	int64_t epoch;	/* Unix time of second 0 */
};

/* Unix time in milliseconds, as the clock reads it. */
static inline int64_t wc_clock_unix_ms(const struct wc_clock *c)
{
	return (c->epoch + (int64_t)c->now) * 1000 + c->ms;
}

/* An expiry (clock second + millisecond within it) has come: memcached's exptime <= now. */
static inline bool wc_expiry_due(uint32_t exptime, uint32_t ms, const struct wc_clock *c)
{
	return exptime != 0 && (exptime < c->now || (exptime == c->now && ms <= c->ms));
}

/*
 * A deadline in Unix milliseconds as an item expiry (clock second, and the
 * millisecond within it). false when it is already due.
 */
bool wc_expiry_from_unix_ms(const struct wc_clock *c, int64_t unix_ms, uint32_t *exptime,
			    uint32_t *ms);

/* An item expiry back in Unix milliseconds (-1 for never). */
static inline int64_t wc_expiry_unix_ms(const struct wc_clock *c, uint32_t exptime, uint32_t ms)
{
	return exptime ? (c->epoch + (int64_t)exptime) * 1000 + ms : -1;
}

/* Start a clock whose epoch is "a second ago", shared by all lcores. */
void wc_clock_init(struct wc_clock *c, int64_t epoch_unix);

/* The process-wide epoch: the first caller fixes it. */
int64_t wc_clock_default_epoch(void);

/* Refresh clock->now and ->ms from the real-time clock (vDSO, no syscall). */
void wc_clock_tick(struct wc_clock *c);

enum wc_exptime_kind {
	WC_EXP_NEVER,	/* 0: never expires */
	WC_EXP_AT,	/* expires at the returned clock second */
	WC_EXP_PAST,	/* negative, or absolute at/before now: already expired */
};

/*
 * Convert a client exptime to a clock second. On WC_EXP_AT *at is the first
 * second at which the item is expired (clamped to what 32 bits can hold).
 */
enum wc_exptime_kind wc_exptime_convert(const struct wc_clock *c, int64_t exptime,
					uint32_t *at);

static inline bool wc_is_expired(uint32_t exptime, uint32_t now)
{
	return exptime != 0 && exptime <= now;
}

/* Seconds left before expiry, -1 for never (memcached's meta "t" flag). */
static inline int64_t wc_ttl_left(uint32_t exptime, uint32_t now)
{
	if (exptime == 0)
		return -1;
	return exptime > now ? (int64_t)(exptime - now) : 0;
}

#endif
