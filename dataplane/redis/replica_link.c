/*
 * replica_link.c - the link to the master, owned by the first worker lcore
 * (replica.h): connecting (ARP first, a local port whose replies come back
 * to this lcore, back-off between tries), the handshake one command at a
 * time, repl-timeout on every step, the poll that drives it all, and
 * switching the partitions in and out of replica mode on their owners. The
 * RDB of a full sync is replica_sync.c's, the stream replica_stream.c's.
 * Nothing here allocates per packet: the session, the sink and the state
 * are taken at start; the memfd at the start of a sync.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_malloc.h>

#include "core/app.h"
#include "core/port.h"
#include "net/net.h"
#include "net/tcp_impl.h"
#include "redis/replica_link.h"
#include "store/repl.h"

/* ---- helpers ---- */

uint64_t rd_rlink_now(const struct wc_lcore *lc)
{
	return lc->tcp->now_ms;
}

void rd_rlink_set_link(uint8_t link)
{
	uint8_t old = __atomic_load_n(&rd_replica_state.link, __ATOMIC_RELAXED);

	if (old == RD_RL_CONNECTED && link != RD_RL_CONNECTED)
		__atomic_store_n(&rd_replica_state.down_since_ms, rd_replica_now_ms(), __ATOMIC_RELAXED);
	__atomic_store_n(&rd_replica_state.link, link, __ATOMIC_RELAXED);
}

void rd_rlink_free_rdb(struct rd_rlink *L)
{
	if (L->map)
		munmap(L->map, L->map_cap);
	if (L->memfd >= 0)
		close(L->memfd);
	L->map = NULL;
	L->map_cap = 0;
	L->memfd = -1;
}

/* ---- the TCP application ---- */

static void link_run(struct wc_lcore *lc, struct wc_tcb *c);

static void hs_send(struct wc_lcore *lc, struct rd_rlink *L);

/* Established: the handshake's first command. */
static void link_open(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct rd_rlink *L = lc->replica;

	if (!L || L->c != c || L->st != L_CONNECTING)
		return;
	L->st = L_HS;
	L->hs = HS_PING;
	L->scanned = 0;
	rd_rlink_set_link(RD_RL_HANDSHAKE);
	hs_send(lc, L);
}

void rd_rlink_closed(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct rd_rlink *L = lc->replica;

	if (!L)
		return;
	if (L->sess_live && L->sess_c == c && !L->sess->pending)
		rd_rlink_end_session(lc, L);	/* (else the last completion ends it: c waits as a zombie) */
	if (L->c != c)
		return;
	L->c = NULL;
	if (L->st >= L_RESOLVING && L->st != L_LOAD) {
		if (L->st != L_STREAM)
			rd_replica_add(&rd_replica_state.ct.sync_failures, 1);
		rd_replica_add(&rd_replica_state.ct.link_drops, 1);
		rd_rlink_free_rdb(L);
		L->st = L_WAIT;
		L->retry_at = rd_rlink_now(lc) + L->backoff;
		L->backoff = L->backoff * 2 > RD_REPLICA_BACKOFF_MAX_MS ? RD_REPLICA_BACKOFF_MAX_MS
								     : L->backoff * 2;
		rd_rlink_set_link(RD_RL_CONNECT);
	}
}

static uint32_t link_pending(const struct wc_tcb *c)
{
	struct rd_rlink *L = c->lc ? c->lc->replica : NULL;

	return L && L->sess_live && L->sess_c == c ? L->sess->pending : 0;
}

static void link_forget(struct wc_tcb *c)
{
	struct rd_rlink *L = c->lc ? c->lc->replica : NULL;

	if (L && L->sess_live && L->sess_c == c)
		L->sess->pending = 0;
}

static bool link_keep_idle(const struct wc_tcb *c)
{
	(void)c;
	return true;	/* repl-timeout is the link's own */
}

static const struct wc_tcp_app link_app = {
	.open = link_open, .run = link_run, .close = rd_rlink_closed, .pending = link_pending,
	.forget_pending = link_forget, .keep_idle = link_keep_idle,
};

/* Drop the connection now (it is closed by rd_rlink_closed). */
void rd_rlink_drop(struct wc_lcore *lc, struct rd_rlink *L, const char *why)
{
	struct wc_tcb *c = L->c;

	if (why)
		fprintf(stderr, "wirecache-dp: replica: link to %u.%u.%u.%u:%u dropped: %s\n",
			L->ip >> 24, (L->ip >> 16) & 255, (L->ip >> 8) & 255, L->ip & 255, L->port,
			why);
	if (c)
		wc_tcp_reset_conn(lc, c);	/* rd_rlink_closed: back-off */
	else
		rd_rlink_closed(lc, NULL);
}

/* ---- connecting ---- */

static bool connect_now(struct wc_lcore *lc, struct rd_rlink *L)
{
	int port = wc_app_port_for(lc->app, L->ip);
	const struct wc_port *pt = &lc->app->ports[port < 0 ? 0 : port];

	L->c = NULL;
	for (unsigned i = 0; i < RD_REPLICA_LPORT_SPAN && !L->c; i++) {
		uint16_t lport = (uint16_t)(RD_REPLICA_LPORT_BASE + L->lport_next++ % RD_REPLICA_LPORT_SPAN);

		/* the master's segments must come back to this lcore's queue (RSS) */
		if (wc_port_queue_of(pt, pt->ip, lport, L->ip, L->port) != lc->queue)
			continue;
		L->c = wc_tcp_connect(lc, port < 0 ? 0 : (unsigned)port, L->ip, L->port, lport,
				      &link_app, L);
	}
	return L->c != NULL;
}

static void begin_connect(struct wc_lcore *lc, struct rd_rlink *L)
{
	struct rte_ether_addr mac;
	int port = wc_app_port_for(lc->app, L->ip);

	pthread_mutex_lock(&rd_replica_state.mu);
	snprintf(L->user, sizeof(L->user), "%s", rd_replica_state.user);
	snprintf(L->pass, sizeof(L->pass), "%s", rd_replica_state.pass);
	pthread_mutex_unlock(&rd_replica_state.mu);
	rd_replica_add(&rd_replica_state.ct.connects, 1);
	L->deadline = rd_rlink_now(lc) + RD_REPLICA_TIMEOUT_MS;
	rd_rlink_set_link(RD_RL_CONNECTING);
	if (wc_lcore_neigh(lc, L->ip, &mac)) {
		if (!connect_now(lc, L)) {
			L->st = L_WAIT;
			L->retry_at = rd_rlink_now(lc) + L->backoff;
			rd_rlink_set_link(RD_RL_CONNECT);
			return;
		}
		L->st = L_CONNECTING;
		L->connect_deadline = rd_rlink_now(lc) + RD_REPLICA_CONNECT_MS;
		return;
	}
	wc_arp_probe(lc, port < 0 ? 0 : (unsigned)port, L->ip);
	L->st = L_RESOLVING;
}

/* ---- the handshake ---- */

void rd_rlink_send_cmd(struct wc_lcore *lc, struct rd_rlink *L, unsigned argc,
		     const char *const *argv)
{
	char buf[1400];
	size_t n = rd_replica_format(buf, sizeof(buf), argc, argv);

	if (!n || !L->c)
		return;
	mc_out_put(&L->c->out, buf, n);
	wc_tcp_flush(lc, L->c);
}

static void hs_send(struct wc_lcore *lc, struct rd_rlink *L)
{
	char a[24], b[24];

	L->deadline = rd_rlink_now(lc) + RD_REPLICA_TIMEOUT_MS;
	switch (L->hs) {
	case HS_PING:
		rd_rlink_send_cmd(lc, L, 1, (const char *[]){ "PING" });
		return;
	case HS_AUTH:
		if (L->user[0])
			rd_rlink_send_cmd(lc, L, 3, (const char *[]){ "AUTH", L->user, L->pass });
		else
			rd_rlink_send_cmd(lc, L, 2, (const char *[]){ "AUTH", L->pass });
		return;
	case HS_PORT:
		snprintf(a, sizeof(a), "%u", lc->app->rd ? lc->app->rd->port : 6379);
		rd_rlink_send_cmd(lc, L, 3, (const char *[]){ "REPLCONF", "listening-port", a });
		return;
	case HS_CAPA:
		rd_rlink_send_cmd(lc, L, 7, (const char *[]){ "REPLCONF", "capa", "eof", "capa", "psync2",
						     "capa", "wc" });
		return;
	case HS_OFFS: {
		/* REPLCONF wc-offsets n o_0 ... o_{n-1} (at most RD_REPLICA_MARKS partitions) */
		char buf[RD_REPLICA_MARKS * 32 + 64], num[RD_REPLICA_MARKS + 2][22];
		const char *argv[RD_REPLICA_MARKS + 3];
		unsigned n = rd_replica_state.nmarks, k = 0;
		size_t len;

		argv[k++] = "REPLCONF";
		argv[k++] = "wc-offsets";
		snprintf(num[0], sizeof(num[0]), "%u", n);
		argv[k++] = num[0];
		for (unsigned i = 0; i < n; i++) {
			snprintf(num[i + 1], sizeof(num[i + 1]), "%llu",
				 (unsigned long long)rd_replica_state.marks[i]);
			argv[k++] = num[i + 1];
		}
		len = rd_replica_format(buf, sizeof(buf), k, argv);
		if (len && L->c) {
			mc_out_put(&L->c->out, buf, len);
			wc_tcp_flush(lc, L->c);
		}
		return;
	}
	case HS_PSYNC:
		if (L->have_sync) {
			L->psync_offset = L->offset + 1;
			snprintf(b, sizeof(b), "%llu", (unsigned long long)L->psync_offset);
			rd_rlink_send_cmd(lc, L, 3, (const char *[]){ "PSYNC", L->replid, b });
		} else {
			rd_rlink_send_cmd(lc, L, 3, (const char *[]){ "PSYNC", "?", "-1" });
		}
		return;
	}
}

/* The next step after hs (skipping those that do not apply). */
static void hs_next(struct wc_lcore *lc, struct rd_rlink *L)
{
	for (;;) {
		L->hs++;
		if (L->hs == HS_AUTH && !L->pass[0])
			continue;
		if (L->hs == HS_OFFS && !(L->have_sync && rd_replica_state.marks_valid && rd_replica_state.nmarks))
			continue;
		break;
	}
	hs_send(lc, L);
}

/*
 * The next whole line of c's input into L->line (without CR LF), consumed.
 * 1: a line; 0: not yet; -1: longer than any reply of the handshake.
 */
static int take_line(struct rd_rlink *L, struct wc_tcb *c, size_t *n)
{
	struct mc_inq *in = &c->inq;

	while (L->scanned < in->len) {
		uint64_t contig, nl;
		const uint8_t *p = in->peek(in, L->scanned, &contig);
		const uint8_t *q;

		if (contig > in->len - L->scanned)
			contig = in->len - L->scanned;
		q = memchr(p, '\n', contig);
		if (!q) {
			L->scanned += contig;
			if (L->scanned > RD_REPLICA_LINE_MAX)
				return -1;
			continue;
		}
		nl = L->scanned + (uint64_t)(q - p);
		if (nl > RD_REPLICA_LINE_MAX)
			return -1;
		mc_inq_copy(in, 0, L->line, nl);
		in->consume(in, nl + 1);
		L->scanned = 0;
		*n = nl && L->line[nl - 1] == '\r' ? nl - 1 : nl;
		L->line[*n] = 0;
		return 1;
	}
	return 0;
}

void rd_rlink_start_stream(struct wc_lcore *lc, struct rd_rlink *L);

/* The PSYNC reply. */
static void psync_reply(struct wc_lcore *lc, struct rd_rlink *L, size_t n)
{
	char id[41];
	uint64_t off = 0;

	switch (rd_replica_parse_psync(L->line, n, id, &off)) {
	case RD_PSYNC_FULL:
		memcpy(L->new_replid, id, sizeof(id));
		L->new_offset = off;
		L->st = L_BULK;
		L->deadline = rd_rlink_now(lc) + RD_REPLICA_TIMEOUT_MS;
		__atomic_store_n(&rd_replica_state.sync_total, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&rd_replica_state.sync_read, 0, __ATOMIC_RELAXED);
		L->sync_t0 = rd_rlink_now(lc);
		/* the partitions' marks come again after this sync's RDB */
		rd_replica_state.marks_valid = false;
		rd_replica_state.nmarks = 0;
		rd_rlink_set_link(RD_RL_TRANSFER);
		return;
	case RD_PSYNC_CONTINUE:
		if (id[0]) {
			memcpy(L->replid, id, sizeof(id));
			pthread_mutex_lock(&rd_replica_state.mu);
			memcpy(rd_replica_state.replid, id, sizeof(id));
			pthread_mutex_unlock(&rd_replica_state.mu);
		}
		rd_replica_add(&rd_replica_state.ct.partial_syncs, 1);
		rd_rlink_start_stream(lc, L);
		return;
	case RD_PSYNC_TRYLATER:
		rd_rlink_drop(lc, L, "the master cannot sync now");
		return;
	case RD_PSYNC_ERR:
	case RD_PSYNC_BAD:
		break;
	}
	rd_rlink_drop(lc, L, "PSYNC refused");
}

static void hs_reply(struct wc_lcore *lc, struct rd_rlink *L, size_t n)
{
	if (n == 0)
		return;	/* a keep-alive newline */
	switch (L->hs) {
	case HS_PING:
		if (!rd_replica_reply_ok(L->line, n, true)) {
			rd_rlink_drop(lc, L, "PING refused");
			return;
		}
		break;
	case HS_AUTH:
		if (!rd_replica_reply_ok(L->line, n, false)) {
			rd_rlink_drop(lc, L, "AUTH refused (masterauth / masteruser)");
			return;
		}
		break;
	case HS_PORT:
	case HS_CAPA:
	case HS_OFFS:
		/* (errors are fine: an older master, or a real Redis without wc-offsets) */
		if (L->line[0] != '+' && L->line[0] != '-') {
			rd_rlink_drop(lc, L, "not a reply");
			return;
		}
		break;
	case HS_PSYNC:
		psync_reply(lc, L, n);
		return;
	}
	hs_next(lc, L);
}

/* ---- the connection's input ---- */

static void link_run(struct wc_lcore *lc, struct wc_tcb *c)
{
	struct rd_rlink *L = lc->replica;
	size_t n;
	int r;

	if (!L || L->c != c || c->state == TCP_FREE || c->zombie)
		return;
	if (c->inq.len)
		__atomic_store_n(&rd_replica_state.last_io_ms, rd_replica_now_ms(), __ATOMIC_RELAXED);
	while (L->c == c && (L->st == L_HS || L->st == L_BULK) &&
	       (r = take_line(L, c, &n)) != 0) {
		if (r < 0) {
			rd_rlink_drop(lc, L, "a reply line too long");
			return;
		}
		L->deadline = rd_rlink_now(lc) + RD_REPLICA_TIMEOUT_MS;
		if (L->st == L_HS)
			hs_reply(lc, L, n);
		else
			rd_rlink_bulk_line(lc, L, n);
	}
	if (L->c != c)
		return;
	if (L->st == L_RDB) {
		if (c->inq.len)
			L->deadline = rd_rlink_now(lc) + RD_REPLICA_TIMEOUT_MS;
		rd_rlink_rdb_bytes(lc, L, c);
	}
	if (L->c != c)
		return;
	if (L->st == L_STREAM) {
		if (c->inq.len)
			L->deadline = rd_rlink_now(lc) + RD_REPLICA_TIMEOUT_MS;
		if (!rd_rlink_stream_run(lc, L))
			return;
	}
	if (L->c == c && c->state == TCP_CLOSE_WAIT && L->st != L_STREAM && L->st != L_LOAD)
		rd_rlink_drop(lc, L, "the master closed the link");
	else if (L->c == c)
		wc_tcp_flush(lc, c);
}

/* ---- partitions in and out of replica mode ---- */

static void set_mode_owner(struct rd_owner *o)
{
	wc_repl_set_replica(o->part, o->arg0 != 0);
}

/* true once every partition is in the wanted mode */
static bool switch_poll(struct wc_lcore *lc, struct rd_rlink *L)
{
	struct wc_app *app = lc->app;
	struct rd_session *s = L->sess;

	if (L->sess_live)
		return false;	/* the old stream's last call first */
	if (L->sw_cursor == 0 && !s->pending)
		s->env = &lc->env;
	s->out = &L->sink;
	while (L->sw_cursor < app->nparts) {
		struct rd_route rt = { .part = app->parts[L->sw_cursor],
				       .owner = app->part_owner[L->sw_cursor],
				       .part_idx = (uint16_t)L->sw_cursor };

		if (rd_call(s, &rt, set_mode_owner, false, L->want ? 1 : 0, NULL, 0) == RD_BUSY)
			return false;
		L->sw_cursor++;
	}
	if (s->pending)
		return false;
	L->parts_replica = L->want;
	return true;
}

/* ---- the poll ---- */

/* A new REPLICAOF: what the link does now. */
static void take_gen(struct wc_lcore *lc, struct rd_rlink *L, uint32_t gen)
{
	bool want;
	uint32_t ip;
	uint16_t port;

	pthread_mutex_lock(&rd_replica_state.mu);
	want = rd_replica_state.want;
	ip = rd_replica_state.ip;
	port = rd_replica_state.port;
	pthread_mutex_unlock(&rd_replica_state.mu);
	L->gen = gen;
	if (L->c) {
		struct wc_tcb *c = L->c;

		L->st = L_WAIT;	/* (not a failure: rd_rlink_closed only counts the drop) */
		wc_tcp_reset_conn(lc, c);
	}
	rd_rlink_free_rdb(L);
	if (!want || ip != L->ip || port != L->port)
		L->have_sync = false;	/* another master: a full sync */
	L->want = want;
	L->ip = ip;
	L->port = port;
	L->backoff = RD_REPLICA_BACKOFF_MIN_MS;
	L->retry_at = 0;
	L->sw_cursor = 0;
	L->st = L_SWITCH;
	rd_rlink_set_link(want ? RD_RL_CONNECT : RD_RL_NONE);
}

unsigned rd_replica_poll(struct wc_lcore *lc)
{
	struct rd_rlink *L = lc->replica;
	uint32_t gen;
	uint64_t now;

	if (!L || !lc->tcp)
		return 0;
	now = rd_rlink_now(lc);
	gen = __atomic_load_n(&rd_replica_state.gen, __ATOMIC_ACQUIRE);
	if (gen != L->gen && L->st != L_LOAD) {
		take_gen(lc, L, gen);
		return 1;
	}
	switch (L->st) {
	case L_IDLE:
		return 0;
	case L_SWITCH:
		if (L->parts_replica == L->want && !L->sess_live)
			L->sw_cursor = lc->app->nparts;	/* (nothing to change) */
		if (!switch_poll(lc, L))
			return 1;
		L->st = L->want ? L_WAIT : L_IDLE;
		return 1;
	case L_WAIT:
		if (now < L->retry_at || L->sess_live)
			return 0;
		begin_connect(lc, L);
		return 1;
	case L_RESOLVING: {
		struct rte_ether_addr mac;
		int port = wc_app_port_for(lc->app, L->ip);

		if (now > L->deadline) {
			rd_rlink_drop(lc, L, "the master's address does not answer (ARP)");
			return 1;
		}
		if (!wc_lcore_neigh(lc, L->ip, &mac)) {
			wc_arp_probe(lc, port < 0 ? 0 : (unsigned)port, L->ip);	/* (once a second) */
			return 0;
		}
		if (!connect_now(lc, L)) {
			L->st = L_CONNECTING;
			rd_rlink_drop(lc, L, "no local port");
			return 1;
		}
		L->st = L_CONNECTING;
		L->connect_deadline = now + RD_REPLICA_CONNECT_MS;
		return 1;
	}
	case L_LOAD:
		rd_rlink_load_poll(lc, L);
		return 0;
	case L_STREAM:
		if (L->c && now - L->last_ack >= RD_REPLICA_ACK_MS)
			rd_rlink_send_ack(lc, L);
		if (L->c && L->retry && !L->sess->pending) {
			L->retry = false;
			(void)rd_rlink_stream_run(lc, L);	/* (the mailbox was full, or the stage pool) */
		}
		break;
	default:
		break;
	}
	if (L->st == L_CONNECTING && L->c && now > L->connect_deadline) {
		/*
		 * No SYN-ACK: the master's answers may come to another lcore's
		 * queue (a NIC whose RSS we cannot predict, net_tap's kernel
		 * hash): another local port, at once
		 */
		struct wc_tcb *c = L->c;

		L->st = L_WAIT;
		L->retry_at = now;
		wc_tcp_reset_conn(lc, c);
		return 1;
	}
	if (L->c && now > L->deadline) {
		rd_rlink_drop(lc, L, "repl-timeout");
		return 1;
	}
	return 0;
}

int rd_replica_lc_init(struct wc_lcore *lc)
{
	struct rd_rlink *L;
	int sock = (int)rte_lcore_to_socket_id(lc->lcore_id);

	L = rte_zmalloc_socket("wc_replica", sizeof(*L), RTE_CACHE_LINE_SIZE, sock);
	if (!L)
		return -1;
	L->sess = rte_zmalloc_socket("wc_replica_sess", sizeof(*L->sess), RTE_CACHE_LINE_SIZE,
				     sock);
	if (!L->sess) {
		rte_free(L);
		return -1;
	}
	L->app = lc->app;
	L->memfd = -1;
	L->backoff = RD_REPLICA_BACKOFF_MIN_MS;
	L->sink = (struct mc_out){ .more = rd_rlink_sink_more, .arg = L };
	rd_session_init(L->sess, 0, 0);
	L->sess->owner_kind = MC_OWNER_REPL;
	L->sess->env = &lc->env;
	L->sess->out = &L->sink;
	lc->replica = L;
	return 0;
}

void rd_replica_lc_fini(struct wc_lcore *lc)
{
	struct rd_rlink *L = lc->replica;

	if (!L)
		return;
	if (L->st == L_LOAD) {
		if (!__atomic_load_n(&L->load_state, __ATOMIC_ACQUIRE)) {
			/*
			 * Its batches wait for owners that no longer run: the
			 * process is going, the loader with it (it keeps L)
			 */
			pthread_detach(L->loader);
			lc->replica = NULL;
			return;
		}
		pthread_join(L->loader, NULL);
	}
	rd_rlink_free_rdb(L);
	rte_free(L->sess);
	rte_free(L);
	lc->replica = NULL;
}
