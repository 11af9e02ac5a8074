/*
 * migrate_conn.c - MIGRATE's connections to target nodes (see
 * migrate_conn.h): the per-lcore cache, opening from this lcore's local
 * port range, the reply reader, deadlines, and resuming the waiting session.
 */
#include <string.h>

#include <rte_malloc.h>

#include "core/app.h"
#include "core/port.h"
#include "net/net.h"
#include "net/tcp_impl.h"
#include "redis/migrate_conn.h"

int wc_mig_lc_init(struct wc_lcore *lc)
{
	lc->mig = rte_zmalloc_socket("wc_mig", sizeof(struct wc_mig_lc), RTE_CACHE_LINE_SIZE,
				     (int)rte_lcore_to_socket_id(lc->lcore_id));
	return lc->mig ? 0 : -1;
}

void wc_mig_lc_fini(struct wc_lcore *lc)
{
	rte_free(lc->mig);
	lc->mig = NULL;
}

/* The wait on m is over (io says how): the session goes on. */
static void finish(struct wc_lcore *lc, struct wc_mig_conn *m, uint8_t io)
{
	struct rd_session *s = m->s;

	m->s = NULL;
	m->deadline_ms = 0;
	m->io = io;
	if (io != WC_MIG_IO_OK)
		m->last_db = -1;
	if (s && !lc->mig->closing)
		wc_rd_tcp_resume(lc, s);
}

/* ---- the client application ---- */

static void mig_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_mig_conn *m = c->user;

	if (!m || m->c != c)
		return;
	m->state = WC_MIG_UP;
	if (m->s && m->want == 0)
		finish(lc, m, WC_MIG_IO_OK);	/* it waited only for the connection */
}

static void mig_close(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_mig_conn *m = c->user;
	bool connecting;

	if (!m || m->c != c)
		return;
	connecting = m->state != WC_MIG_UP;
	m->c = NULL;
	m->state = WC_MIG_NONE;
	if (m->s)
		finish(lc, m, connecting ? WC_MIG_IO_CONNECT : WC_MIG_IO_READ);
}

/* Where the line starting at 0 ends ('\n' at *nl); false: not all here yet. */
static bool find_nl(struct wc_mig_conn *m, const struct mc_inq *in, uint64_t *nl)
{
	while (m->scanned < in->len) {
		uint64_t contig;
		const uint8_t *p = in->peek(in, m->scanned, &contig);
		const uint8_t *q;

		if (contig > in->len - m->scanned)
			contig = in->len - m->scanned;
		q = memchr(p, '\n', contig);
		if (q) {
			*nl = m->scanned + (uint64_t)(q - p);
			return true;
		}
		m->scanned += contig;
	}
	return false;
}

enum wc_mig_line wc_mig_take_line(struct wc_mig_conn *m, struct mc_inq *in)
{
	uint64_t nl;
	uint8_t kind;

	if (!in->len || !find_nl(m, in, &nl))
		return WC_MIG_LINE_MORE;
	mc_inq_copy(in, 0, &kind, 1);
	if (!m->s || m->got >= m->want || (kind != '+' && kind != '-' && kind != ':') || nl < 2)
		return WC_MIG_LINE_BAD;	/* a reply nobody asked for, or not a one-line reply */
	if (kind == '-' && !m->have_err) {
		uint64_t n = nl - 2;	/* without '-' and CRLF (or a lone LF and one byte more) */

		if (n > sizeof(m->err) - 1)
			n = sizeof(m->err) - 1;
		mc_inq_copy(in, 1, m->err, n);
		m->err[n] = 0;
		m->have_err = true;
	}
	m->res[m->got++] = kind == '-' ? WC_MIG_R_ERR : WC_MIG_R_OK;
	in->consume(in, nl + 1);
	m->scanned = 0;
	return WC_MIG_LINE_TAKEN;
}

static void mig_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct wc_mig_conn *m = c->user;
	enum wc_mig_line r;

	if (c->state == TCP_FREE || c->app_closed || !m || m->c != c)
		return;
	while ((r = wc_mig_take_line(m, &c->inq)) != WC_MIG_LINE_MORE) {
		if (r == WC_MIG_LINE_BAD)
			goto bad;
		m->deadline_ms = lc->tcp->now_ms + m->timeout_ms;	/* each read has its timeout */
		if (m->got == m->want) {
			finish(lc, m, WC_MIG_IO_OK);
			return;	/* (the session may have used or closed the connection) */
		}
	}
	if (c->state == TCP_CLOSE_WAIT)
		goto bad;	/* the target closed */
	wc_tcp_flush(lc, c);
	return;
bad:
	m->proto_err = true;
	wc_tcp_reset_conn(lc, c);	/* mig_close: whoever waits hears of it */
}

static bool mig_keep_idle(const struct wc_tcb *c)
{
	(void)c;
	return true;	/* the cache closes its own idle connections (WC_MIG_IDLE_MS) */
}

static const struct wc_tcp_app mig_app = {
	.open = mig_open, .run = mig_run, .close = mig_close, .keep_idle = mig_keep_idle,
};

/* ---- the cache ---- */

void wc_mig_close(struct wc_lcore *lc, struct wc_mig_conn *m)
{
	struct wc_tcb *c = m->c;

	m->c = NULL;
	m->state = WC_MIG_NONE;
	m->last_db = -1;
	if (c)
		wc_tcp_reset_conn(lc, c);	/* (its close hook finds it detached) */
}

/* The SYN, from a local port whose replies come back to this lcore. */
static bool connect_now(struct wc_lcore *lc, struct wc_mig_conn *m)
{
	struct wc_mig_lc *L = lc->mig;
	int port = wc_app_port_for(lc->app, m->ip);
	const struct wc_port *pt = &lc->app->ports[port < 0 ? 0 : port];
	uint16_t base = (uint16_t)(WC_MIG_LPORT_BASE +
				   (lc->id * WC_MIG_LPORT_SPAN) % (32768 - WC_MIG_LPORT_BASE));

	m->c = NULL;
	for (unsigned i = 0; i < WC_MIG_LPORT_SPAN && !m->c; i++) {
		uint16_t lport = (uint16_t)(base + L->lport_next++ % WC_MIG_LPORT_SPAN);

		/* the target's segments must come back to this lcore's queue (RSS) */
		if (wc_port_queue_of(pt, pt->ip, lport, m->ip, m->port) != lc->queue)
			continue;
		m->c = wc_tcp_connect(lc, port < 0 ? 0 : (unsigned)port, m->ip, m->port, lport,
				      &mig_app, m);
	}
	if (!m->c)
		return false;
	m->state = WC_MIG_CONNECTING;
	m->last_db = -1;
	return true;
}

/*
 * Connect, or first learn the target's MAC: TCP drops a segment for an
 * unresolved neighbour and retransmits it after its RTO (1 s for a SYN), so
 * the SYN waits (WC_MIG_RESOLVING) until the ARP reply is in: wc_mig_poll.
 */
static bool open_conn(struct wc_lcore *lc, struct wc_mig_conn *m)
{
	int port = wc_app_port_for(lc->app, m->ip);
	struct rte_ether_addr mac;

	m->c = NULL;
	m->last_db = -1;
	if (wc_lcore_neigh(lc, m->ip, &mac))
		return connect_now(lc, m);
	wc_arp_probe(lc, port < 0 ? 0 : (unsigned)port, m->ip);
	m->state = WC_MIG_RESOLVING;
	return true;
}

struct wc_mig_conn *wc_mig_get(struct wc_lcore *lc, uint32_t ip, uint16_t port,
			       uint32_t timeout_ms)
{
	struct wc_mig_lc *L = lc->mig;
	struct wc_mig_conn *m, *free_one = NULL, *oldest = NULL;

	(void)timeout_ms;
	if (!L || !lc->tcp)
		return NULL;
	for (unsigned i = 0; i < WC_MIG_CONNS; i++) {
		m = &L->conn[i];
		if (m->state == WC_MIG_NONE) {
			if (!free_one)
				free_one = m;
			continue;
		}
		if (m->s)
			continue;	/* another MIGRATE of this lcore uses it */
		if (m->ip == ip && m->port == port &&
		    (m->state == WC_MIG_RESOLVING ||
		     (m->c && !m->c->app_closed &&
		      (m->c->state == TCP_ESTABLISHED || m->c->state == TCP_SYN_SENT)))) {
			m->last_use_ms = lc->tcp->now_ms;
			return m;
		}
		if (!oldest || m->last_use_ms < oldest->last_use_ms)
			oldest = m;
	}
	m = free_one;
	if (!m && oldest) {
		wc_mig_close(lc, oldest);	/* the cache is full: the least recently used goes */
		m = oldest;
	}
	if (!m)
		return NULL;
	*m = (struct wc_mig_conn){ .ip = ip, .port = port, .last_db = -1,
				   .last_use_ms = lc->tcp->now_ms };
	return open_conn(lc, m) ? m : NULL;
}

struct mc_out *wc_mig_out(struct wc_mig_conn *m)
{
	return &m->c->out;
}

bool wc_mig_wait(struct wc_lcore *lc, struct wc_mig_conn *m, struct rd_session *s, uint32_t want,
		 uint8_t *res, uint32_t timeout_ms)
{
	struct wc_tcb *c = m->c;

	m->want = want;
	m->got = 0;
	m->res = res;
	m->have_err = false;
	m->timed_out = false;
	m->proto_err = false;
	m->err[0] = 0;
	m->io = WC_MIG_IO_OK;
	m->timeout_ms = timeout_ms;
	m->deadline_ms = lc->tcp->now_ms + timeout_ms;
	m->last_use_ms = lc->tcp->now_ms;
	if (!c && !(m->state == WC_MIG_RESOLVING && want == 0)) {
		m->io = WC_MIG_IO_CONNECT;
		return false;
	}
	if (c && c->state != TCP_SYN_SENT) {
		wc_tcp_out_commit(c);
		if (c->out.failed) {
			m->io = WC_MIG_IO_WRITE;
			wc_mig_close(lc, m);
			return false;
		}
	}
	m->s = s;
	s->pending++;
	if (c && c->state != TCP_SYN_SENT)
		wc_tcp_output(lc, c);
	return true;
}

/* A connection waiting for its target's MAC: the SYN goes once it is known. */
static unsigned resolve_poll(struct wc_lcore *lc, struct wc_mig_conn *m)
{
	int port = wc_app_port_for(lc->app, m->ip);
	struct rte_ether_addr mac;

	if (!wc_lcore_neigh(lc, m->ip, &mac)) {
		wc_arp_probe(lc, port < 0 ? 0 : (unsigned)port, m->ip);	/* (once a second) */
		return 0;
	}
	if (!connect_now(lc, m)) {
		m->state = WC_MIG_NONE;
		if (m->s)
			finish(lc, m, WC_MIG_IO_CONNECT);
	}
	return 1;
}

unsigned wc_mig_poll(struct wc_lcore *lc)
{
	struct wc_mig_lc *L = lc->mig;
	unsigned work = 0;
	uint64_t now;

	if (!L || !lc->tcp)
		return 0;
	now = lc->tcp->now_ms;
	for (unsigned i = 0; i < WC_MIG_CONNS; i++) {
		struct wc_mig_conn *m = &L->conn[i];

		if (m->state == WC_MIG_NONE)
			continue;
		if (m->s && now > m->deadline_ms) {
			/* the target did not answer in time: the connection goes */
			bool connecting = m->state != WC_MIG_UP;
			struct wc_tcb *c = m->c;
			/* what the target has not even acknowledged yet: a write that timed out */
			bool unwritten = c && c->tx.len > 0;

			m->timed_out = true;
			m->c = NULL;
			m->state = WC_MIG_NONE;
			if (c)
				wc_tcp_reset_conn(lc, c);
			work++;
			finish(lc, m, connecting ? WC_MIG_IO_CONNECT
					     : unwritten ? WC_MIG_IO_WRITE : WC_MIG_IO_READ);
		} else if (m->state == WC_MIG_RESOLVING && (m->s || now - m->last_use_ms <=
								       WC_MIG_IDLE_MS)) {
			work += resolve_poll(lc, m);
		} else if (!m->s && now - m->last_use_ms > WC_MIG_IDLE_MS) {
			struct wc_tcb *c = m->c;

			/* unused for 10 s: closed, as Redis closes its cached MIGRATE sockets */
			m->c = NULL;
			m->state = WC_MIG_NONE;
			if (c)
				wc_tcp_close(lc, c);
			work++;
		}
	}
	return work;
}

void wc_mig_stats_sum(const struct wc_app *app, struct wc_mig_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < app->nworkers; i++) {
		const struct wc_mig_lc *L = app->lc[i] ? app->lc[i]->mig : NULL;

		if (!L)
			continue;
		out->calls += __atomic_load_n(&L->st.calls, __ATOMIC_RELAXED);
		out->keys += __atomic_load_n(&L->st.keys, __ATOMIC_RELAXED);
		out->bytes += __atomic_load_n(&L->st.bytes, __ATOMIC_RELAXED);
		out->errors += __atomic_load_n(&L->st.errors, __ATOMIC_RELAXED);
	}
}
