/*
 * link_state.c - what each node tells the others about itself over the node
 * links, as Redis Cluster's ping/pong headers do: its replication offset
 * (rd_server.repl_offset_self). The first worker lcore sends a STATE frame
 * (frame.h) on each of its links that is up every WC_LINK_STATE_MS; the
 * receiving node writes the offset into its published cluster map's record
 * of the sender (CLUSTER SLOTS lists a replica once its offset is not 0,
 * CLUSTER SHARDS shows it). A record written in place is read with atomic
 * loads; a new map takes the offsets of the one it replaces
 * (rd_cluster_map_publish). Best-effort: a link that is down or full skips
 * a beat.
 */
#include <string.h>

#include "cluster/link.h"
#include "core/app.h"
#include "net/tcp_impl.h"
#include "redis/server.h"

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* This node's own record in the map in force gets its offset too (CLUSTER SLOTS on it). */
static void note_self(const struct rd_server *srv, uint64_t off)
{
	struct rd_cluster_map *m = srv->cmap;

	if (m && m->myself < m->nnodes)
		__atomic_store_n(&m->node[m->myself].repl_offset, off, __ATOMIC_RELAXED);
}

void wc_link_state_poll(struct wc_lcore *lc, uint64_t now_ms)
{
	struct wc_link_lc *L = lc->link;
	const struct rd_server *srv = lc->app->rd;
	uint8_t f[WC_LINK_HDR + WC_LINK_STATE_LEN];
	uint64_t off;

	if (!srv || lc != lc->app->lc[0] || now_ms - L->last_state_ms < WC_LINK_STATE_MS)
		return;
	L->last_state_ms = now_ms;
	off = __atomic_load_n(&srv->repl_offset_self, __ATOMIC_RELAXED);
	note_self(srv, off);
	wc_link_hdr_put(f, &(struct wc_link_hdr){ .len = WC_LINK_STATE_LEN,
						  .kind = WC_LINK_STATE });
	memcpy(f + WC_LINK_HDR, srv->node_id, 40);
	put_be64(f + WC_LINK_HDR + 40, off);
	for (unsigned k = 0; k < WC_SLOT_PEERS_MAX; k++) {
		struct wc_link_peer *P = &L->peer[k];
		struct wc_tcb *c = P->c;

		if (P->state != WC_LINK_UP || !c || P->broken || wc_tcp_out_full(&c->out))
			continue;
		mc_out_put(&c->out, f, sizeof(f));
		wc_tcp_out_commit(c);
		if (c->out.failed) {
			P->broken = true;	/* a frame cut short: the poll resets the link */
			continue;
		}
		L->st.state_sent++;
		wc_tcp_output(lc, c);
	}
}

bool wc_link_state_recv(struct wc_lcore *lc, struct wc_tcb *c, const struct wc_link_hdr *h)
{
	const struct rd_server *srv = lc->app->rd;
	struct rd_cluster_map *m = srv ? srv->cmap : NULL;
	uint8_t p[WC_LINK_STATE_LEN];

	if (h->len != WC_LINK_STATE_LEN)
		return false;
	mc_inq_copy(&c->inq, WC_LINK_HDR, p, sizeof(p));
	c->inq.consume(&c->inq, WC_LINK_HDR + WC_LINK_STATE_LEN);
	lc->link->st.state_received++;
	if (!m)
		return true;
	for (uint16_t n = 0; n < m->nnodes; n++)
		if (n != m->myself && memcmp(m->node[n].id, p, 40) == 0) {
			__atomic_store_n(&m->node[n].repl_offset, get_be64(p + 40), __ATOMIC_RELAXED);
			break;
		}
	return true;
}
