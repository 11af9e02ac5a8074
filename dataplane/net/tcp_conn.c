/*
 * tcp_conn.c - the per-lcore connection table: allocation from a fixed
 * pool, the 4-tuple hash, the timer wheel, SYN cookies, the retry list,
 * and the per-loop poll that runs due timers.
 */
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "net/tcp_impl.h"

/* MSS values a cookie can carry (3 bits) */
static const uint16_t cookie_mss[8] = { 536, 1000, 1220, 1300, 1380, 1440, 1460, 8960 };

int wc_tcp_init(struct wc_lcore *lc, unsigned max_conns)
{
	int socket = (int)rte_lcore_to_socket_id(lc->lcore_id);
	struct wc_tcp_lc *t;
	unsigned hsize = 1;

	if (max_conns == 0)
		max_conns = 1;
	while (hsize < 2 * max_conns)
		hsize <<= 1;
	t = rte_zmalloc_socket("wc_tcp", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (!t)
		return -1;
	t->tcbs = rte_zmalloc_socket("wc_tcbs", max_conns * sizeof(struct wc_tcb),
				     RTE_CACHE_LINE_SIZE, socket);
	t->free_list = rte_malloc_socket("wc_tcb_free", max_conns * sizeof(uint32_t), 0, socket);
	t->retry = rte_malloc_socket("wc_tcb_retry", max_conns * sizeof(uint32_t), 0, socket);
	t->stage_wait = rte_malloc_socket("wc_tcb_stage_wait", max_conns * sizeof(uint32_t), 0,
					  socket);
	t->hash = rte_zmalloc_socket("wc_tcb_hash", hsize * sizeof(uint32_t), 0, socket);
	if (!t->tcbs || !t->free_list || !t->retry || !t->stage_wait || !t->hash) {
		rte_free(t->tcbs);
		rte_free(t->free_list);
		rte_free(t->retry);
		rte_free(t->stage_wait);
		rte_free(t->hash);
		rte_free(t);
		return -1;
	}
	t->ntcb = max_conns;
	t->hmask = hsize - 1;
	for (unsigned i = 0; i < max_conns; i++)
		t->free_list[i] = max_conns - 1 - i;
	t->nfree = max_conns;
	t->tsc_per_us = rte_get_tsc_hz() / 1000000;
	if (t->tsc_per_us == 0)
		t->tsc_per_us = 1;
	t->now_us = rte_get_tsc_cycles() / t->tsc_per_us;
	t->now_ms = t->now_us / 1000;
	t->wheel_done = t->now_ms;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		t->cookie_secret = XXH3_64bits(&ts, sizeof(ts)) ^ (uint64_t)(uintptr_t)t ^
				   rte_get_tsc_cycles();
	}
	lc->tcp = t;
	return 0;
}

void wc_tcp_fini(struct wc_lcore *lc)
{
	struct wc_tcp_lc *t = lc->tcp;

	if (!t)
		return;
	for (unsigned i = 0; i < t->ntcb; i++) {
		struct wc_tcb *c = &t->tcbs[i];

		if (c->state != TCP_FREE) {
			if (c->app && c->app->forget_pending)
				c->app->forget_pending(c);	/* the mailbox is gone with the lcores */
			wc_tcb_free(lc, c);
		}
	}
	while (t->nspare)
		rte_pktmbuf_free(t->spare[--t->nspare]);
	rte_free(t->tcbs);
	rte_free(t->free_list);
	rte_free(t->retry);
	rte_free(t->stage_wait);
	rte_free(t->hash);
	rte_free(t);
	lc->tcp = NULL;
}

struct rte_mbuf *wc_tcp_mbuf(struct wc_lcore *lc)
{
	struct wc_tcp_lc *t = lc->tcp;
	struct rte_mbuf *m;

	if (!t->nspare)
		return rte_pktmbuf_alloc(lc->pool);
	m = t->spare[--t->nspare];
	rte_pktmbuf_reset(m);
	return m;
}

void wc_tcp_recycle(struct wc_lcore *lc, struct rte_mbuf *m)
{
	wc_tcp_recycle_inline(lc, m);
}

struct wc_tcb *wc_tcb_lookup(struct wc_tcp_lc *t, uint32_t rip, uint16_t rport, uint16_t lport)
{
	return wc_tcb_find(t, rip, rport, lport);
}

struct wc_tcb *wc_tcb_alloc(struct wc_lcore *lc, unsigned port, uint32_t rip, uint16_t rport,
			    uint16_t lport)
{
	struct wc_tcp_lc *t = lc->tcp;
	struct wc_tcb *c;
	uint32_t idx, h;

	if (t->nfree == 0)
		return NULL;
	idx = t->free_list[--t->nfree];
	c = &t->tcbs[idx];
	memset(c, 0, offsetof(struct wc_tcb, sess));
	c->rip = rip;
	c->rport = rport;
	c->lport = lport;
	c->port = (uint8_t)port;
	h = wc_tcb_hash(t, rip, rport, lport);
	c->hnext = t->hash[h];
	t->hash[h] = idx + 1;
	t->st.active++;
	return c;
}

bool wc_tcp_admit(struct wc_lcore *lc, struct wc_tcb *c)
{
	unsigned *open = &lc->app->tcp_open;

	if (__atomic_add_fetch(open, 1, __ATOMIC_RELAXED) > lc->app->cfg.max_conns) {
		__atomic_fetch_sub(open, 1, __ATOMIC_RELAXED);
		return false;
	}
	c->admitted = true;
	lc->tcp->st.open++;
	return true;
}

void wc_tcp_unadmit(struct wc_lcore *lc, struct wc_tcb *c)
{
	if (!c->admitted)
		return;
	c->admitted = false;
	lc->tcp->st.open--;
	__atomic_fetch_sub(&lc->app->tcp_open, 1, __ATOMIC_RELAXED);
}

static void unhash(struct wc_tcp_lc *t, struct wc_tcb *c)
{
	uint32_t h = wc_tcb_hash(t, c->rip, c->rport, c->lport), idx = tcb_index(t, c) + 1;
	uint32_t *link = &t->hash[h];

	while (*link) {
		if (*link == idx) {
			*link = c->hnext;
			c->hnext = 0;
			return;
		}
		link = &t->tcbs[*link - 1].hnext;
	}
}

static void wheel_remove(struct wc_tcp_lc *t, struct wc_tcb *c)
{
	uint32_t idx = tcb_index(t, c) + 1;

	if (!c->deadline)
		return;
	if (c->wprev)
		t->tcbs[c->wprev - 1].wnext = c->wnext;
	else
		t->wheel[c->deadline & (WC_TCP_WHEEL - 1)] = c->wnext;
	if (c->wnext)
		t->tcbs[c->wnext - 1].wprev = c->wprev;
	c->wnext = c->wprev = 0;
	c->deadline = 0;
	(void)idx;
}

/* The earlier of two timer deadlines, where 0 means not set. */
static inline uint64_t earliest(uint64_t a, uint64_t b)
{
	return a - 1 < b - 1 ? a : b;
}

void wc_tcb_schedule(struct wc_tcp_lc *t, struct wc_tcb *c)
{
	uint64_t d = earliest(earliest(earliest(c->t_rto, c->t_delack), earliest(c->t_persist, c->t_idle)),
			      c->t_end);
	uint32_t idx = tcb_index(t, c) + 1, slot;

	if (d && d <= t->wheel_done)
		d = t->wheel_done + 1;	/* already due: the next slot the wheel runs */
	/*
	 * Timers mostly move later (the idle timer on every segment): leave an
	 * earlier wake-up in place, where wc_tcp_timers finds nothing due and
	 * schedules again, rather than move the connection on every segment.
	 */
	if (c->deadline && (d == 0 || c->deadline <= d))
		return;
	wheel_remove(t, c);
	if (!d)
		return;
	slot = (uint32_t)(d & (WC_TCP_WHEEL - 1));
	c->deadline = d;
	c->wprev = 0;
	c->wnext = t->wheel[slot];
	if (c->wnext)
		t->tcbs[c->wnext - 1].wprev = idx;
	t->wheel[slot] = idx;
}

void wc_tcb_free(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_tcp_lc *t = lc->tcp;

	if (c->state == TCP_FREE)
		return;
	if (!c->zombie) {
		if (c->state == TCP_SYN_RCVD && t->syn_rcvd)
			t->st.syn_rcvd = --t->syn_rcvd;
		if (c->app && !c->app_notified) {
			c->app_notified = true;
			c->app->close(lc, c);
		}
		unhash(t, c);
		wheel_remove(t, c);
		c->t_rto = c->t_delack = c->t_persist = c->t_idle = c->t_end = 0;
		wc_bytes_free(&c->tx);
		while (c->ooo) {
			struct rte_mbuf *m = c->ooo;

			c->ooo = m->next;
			m->next = NULL;
			rte_pktmbuf_free(m);
		}
		c->ooo_tail = NULL;
		c->nooo = 0;
		c->ooo_bytes = 0;
		c->ooo_mem = 0;
		c->app_closed = true;
		if (c->app && c->app->pending && c->app->pending(c)) {
			/*
			 * A write of this session is still on another lcore, which may
			 * be reading its value out of rx: keep rx until the completion.
			 */
			c->zombie = true;
			return;
		}
	} else if (c->app && c->app->pending && c->app->pending(c)) {
		return;
	}
	wheel_remove(t, c);	/* (a zombie is never rescheduled; this is belt and braces) */
	if (c->stage_listed) {
		/* the wait list outlives many polls: never leave a stale index on it */
		for (unsigned k = 0; k < t->nstage_wait; k++) {
			if (t->stage_wait[k] == tcb_index(t, c)) {
				t->stage_wait[k] = t->stage_wait[--t->nstage_wait];
				break;
			}
		}
		c->stage_listed = false;
	}
	wc_bytes_free(&c->rx);
	c->zombie = false;
	c->state = TCP_FREE;
	c->rip = 0;
	c->rport = c->lport = 0;
	t->free_list[t->nfree++] = tcb_index(t, c);
	t->st.active--;
	t->st.closed++;
	wc_tcp_unadmit(lc, c);
}

void wc_tcp_stage_wait_add(struct wc_tcp_lc *t, struct wc_tcb *c)
{
	if (c->stage_listed)
		return;
	c->stage_listed = true;
	t->stage_wait[t->nstage_wait++] = tcb_index(t, c);
}

void wc_tcp_retry_add(struct wc_tcp_lc *t, struct wc_tcb *c)
{
	if (c->busy_listed)
		return;
	c->busy_listed = true;
	t->retry[t->nretry++] = tcb_index(t, c);
}

uint8_t wc_tcp_mss_index(uint16_t mss)
{
	uint8_t i = 0;

	while (i < 7 && cookie_mss[i + 1] <= mss)
		i++;
	return i;
}

static uint32_t cookie_hash(struct wc_tcp_lc *t, uint32_t rip, uint16_t rport, uint16_t lport,
			    uint32_t peer_isn, uint32_t slot, uint8_t mss_idx)
{
	uint64_t in[4] = { t->cookie_secret, ((uint64_t)rip << 32) | rport,
			   ((uint64_t)lport << 32) | peer_isn, ((uint64_t)slot << 8) | mss_idx };

	return (uint32_t)XXH3_64bits(in, sizeof(in)) & 0xFFFFFF;
}

uint32_t wc_tcp_cookie(struct wc_tcp_lc *t, uint32_t rip, uint16_t rport, uint16_t lport,
		       uint32_t peer_isn, uint8_t mss_idx)
{
	uint32_t slot = (uint32_t)(t->now_ms / 64000) & 31;	/* 64-second time slots */

	return (slot << 27) | ((uint32_t)mss_idx << 24) |
	       cookie_hash(t, rip, rport, lport, peer_isn, slot, mss_idx);
}

uint16_t wc_tcp_cookie_check(struct wc_tcp_lc *t, uint32_t rip, uint16_t rport, uint16_t lport,
			     uint32_t peer_isn, uint32_t cookie)
{
	uint32_t slot = cookie >> 27, now = (uint32_t)(t->now_ms / 64000) & 31;
	uint8_t idx = (cookie >> 24) & 7;

	if (((now - slot) & 31) > 1)
		return 0;	/* older than two time slots */
	if ((cookie & 0xFFFFFF) != cookie_hash(t, rip, rport, lport, peer_isn, slot, idx))
		return 0;
	return cookie_mss[idx];
}

struct wc_tcb *wc_tcp_connect(struct wc_lcore *lc, unsigned port, uint32_t rip, uint16_t rport,
			      uint16_t lport, const struct wc_tcp_app *app, void *user)
{
	struct wc_tcp_lc *t = lc->tcp;
	struct wc_tcb *c;
	uint32_t cap = lc->app->tcp_rcvbuf;

	if (!t || wc_tcb_lookup(t, rip, rport, lport))
		return NULL;
	c = wc_tcb_alloc(lc, port, rip, rport, lport);
	if (!c)
		return NULL;
	c->app = app;
	c->user = user;
	c->rcv_cap = cap ? cap : 0xFFFF;
	c->rcv_wscale = lc->app->tcp_wscale;
	c->mss = 536;			/* until the peer says otherwise */
	c->rto_ms = WC_TCP_RTO_INIT_MS;
	c->ssthresh = 0xFFFFFFFF;
	c->iss = wc_tcp_cookie(t, rip, rport, lport, lport, 0) ^ (uint32_t)t->now_us;
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->state = TCP_SYN_SENT;
	t->st.connects++;
	wc_tcp_send_syn(lc, c);
	wc_tcp_rto_arm(t, c);
	wc_tcb_schedule(t, c);
	return c;
}

unsigned wc_tcp_active(const struct wc_lcore *lc)
{
	return lc->tcp ? (unsigned)lc->tcp->st.active : 0;
}

static void clock_update(struct wc_tcp_lc *t)
{
	if (t->frozen_clock)
		return;
	t->now_us = rte_get_tsc_cycles() / t->tsc_per_us;
	t->now_ms = t->now_us / 1000;
}

/*
 * Buffer pressure is over: tell the peers whose windows it shrank that they
 * may send again, rather than leave them to probe a zero window.
 */
static void reopen_windows(struct wc_lcore *lc)
{
	struct wc_tcp_lc *t = lc->tcp;

	for (unsigned i = 0; i < t->ntcb; i++) {
		struct wc_tcb *c = &t->tcbs[i];

		if ((c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
		     c->state == TCP_FIN_WAIT_2) && !c->zombie &&
		    c->rcv_adv - c->rcv_nxt < WC_TCP_PRESSURE_SHARE)
			wc_tcp_send_ack(lc, c);
	}
}

unsigned wc_tcp_poll(struct wc_lcore *lc)
{
	struct wc_tcp_lc *t = lc->tcp;
	unsigned work = 0, n, steps;

	if (!t)
		return 0;
	clock_update(t);
	if (t->now_ms != t->pool_checked) {
		/* a quarter of the pool left: replies queue less, so receiving never stops */
		t->pool_checked = t->now_ms;
		unsigned avail = rte_mempool_avail_count(lc->pool);

		bool was = t->rx_pressure;

		t->pool_low = avail < lc->pool->size / 4;
		/* on below half the pool, off again above five eighths */
		t->rx_pressure = avail < lc->pool->size / 2 ||
				 (was && avail < lc->pool->size / 8 * 5);
		if (was && !t->rx_pressure)
			reopen_windows(lc);
	}
	/* uploads waiting for stage room: run them again once some came back */
	if (t->nstage_wait && lc->env.stage && lc->env.stage->nfree) {
		for (unsigned k = 0; k < t->nstage_wait; k++) {
			struct wc_tcb *c = &t->tcbs[t->stage_wait[k]];

			c->stage_listed = false;
			if (c->state != TCP_FREE && !c->zombie)
				wc_tcp_retry_add(t, c);
		}
		t->nstage_wait = 0;
	}
	/* the wheel: every slot from the last one run up to now */
	steps = t->now_ms - t->wheel_done > WC_TCP_WHEEL ? WC_TCP_WHEEL :
							  (unsigned)(t->now_ms - t->wheel_done);
	for (unsigned s = 0; s < steps; s++) {
		uint64_t ms = t->wheel_done + 1;
		uint32_t i = t->wheel[ms & (WC_TCP_WHEEL - 1)];

		t->wheel_done = ms;
		while (i) {
			struct wc_tcb *c = &t->tcbs[i - 1];

			i = c->wnext;
			if (c->deadline > t->now_ms)
				continue;	/* a later round */
			wheel_remove(t, c);
			wc_tcp_timers(lc, c);
			work++;
		}
	}
	if (t->now_ms > t->wheel_done + WC_TCP_WHEEL)
		t->wheel_done = t->now_ms;
	/* connections waiting for mailbox room or send space */
	n = t->nretry;
	t->nretry = 0;
	for (unsigned k = 0; k < n; k++) {
		struct wc_tcb *c = &t->tcbs[t->retry[k]];

		c->busy_listed = false;
		if (c->state != TCP_FREE && !c->zombie && c->app) {
			c->app->run(lc, c);
			work++;
		}
	}
	return work;
}
