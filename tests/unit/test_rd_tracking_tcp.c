/*
 * test_rd_tracking_tcp.c - client tracking over the NIC-less harness: the
 * commands and their errors, reads remembered (the lone GET too), RESP3
 * invalidate pushes, RESP2 __redis__:invalidate messages to a REDIRECT
 * target, NOLOOP, BCAST prefixes, null invalidations on a flush, the
 * table's bound evicting the oldest keys as invalidations, a broken
 * redirect, news lost on the bus reaching a redirect target, a memcached
 * write invalidating a Redis reader, and INFO.
 *
 * Key changes are raised as the owner raises them (rd_keyev_raise, with
 * the writer's client id), or by a real memcached write (the store hook).
 * Expected bytes may contain '#', which matches one or more digits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/bus.h"
#include "dp_redis.h"
#include "net/tcp_impl.h"
#include "redis/keyev.h"
#include "redis/pubsub_impl.h"
#include "redis/push.h"
#include "redis/tracking.h"

static struct dp_harness h;
static uint8_t abuf[1 << 18], bbuf[1 << 18], mbuf[1 << 14];

static int setup(void **state)
{
	(void)state;
	return dp_redis_setup(&h, 32u << 20, 33000);
}

static int teardown(void **state)
{
	(void)state;
	dp_teardown(&h);
	return 0;
}

#define ASSERT_GOT(c, want)                                                                   \
	do {                                                                                  \
		if (!dpc_matches((want), (c)->buf, (c)->n))                                   \
			fail_msg("wanted %s\n   got %.*s", (want), (int)(c)->n,               \
				 (const char *)(c)->buf);                                     \
		(c)->n = 0;                                                                   \
	} while (0)

static struct wc_tcb *tcb_of(const struct dpc *c)
{
	return wc_tcb_lookup(h.lc->tcp, DP_CLIENT, c->cport, c->dport);
}

static struct rd_session *sess(const struct dpc *c)
{
	struct wc_tcb *t = tcb_of(c);

	assert_non_null(t);
	return &t->rd;
}

/* The lcore's output point (its own bus messages first), then what each client got. */
static void output_n(struct dpc **cs, unsigned k)
{
	for (int round = 0; round < 2; round++) {
		wc_bus_flush(h.lc);
		wc_bus_drain(h.lc, 64);
	}
	rd_push_output(h.lc);
	wc_net_flush(h.lc);
	for (unsigned i = 0; i < k; i++)
		dpc_take(&h, cs[i]);
	dp_clear_sent(&h);
	for (unsigned i = 0; i < k; i++)
		dpc_ack(&h, cs[i]);
	for (unsigned i = 0; i < k; i++)
		dpc_take(&h, cs[i]);
	dp_clear_sent(&h);
}

static void output(struct dpc *c)
{
	output_n(&c, 1);
}

static void open_conn(struct dpc *c, uint8_t *buf, size_t cap, bool resp3)
{
	assert_true(dp_redis_open(&h, c, buf, cap));
	dpc_send(&h, c, "PING\r\n", 6, 1400);
	ASSERT_GOT(c, "+PONG\r\n");
	if (resp3) {
		dpc_send(&h, c, "HELLO 3\r\n", 9, 1400);
		assert_true(c->n > 0 && c->buf[0] == '%');
		c->n = 0;
	}
}

/* Send one inline command; what came back is in c->buf. */
static void cmd(struct dpc *c, const char *line)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);

	dpc_send(&h, c, buf, (size_t)n, 1400);
	output(c);
}

/* Send bytes on c while other listens too (what the node sends other is kept). */
static void send_seen(struct dpc *c, const char *data, struct dpc *other)
{
	uint8_t f[2048];
	size_t n = strlen(data);

	dp_input(&h, f, dp_tcp_ports(f, c->cport, c->dport, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG,
				     c->seq, c->ack, 65535, (const uint8_t *)data, n, NULL, 0));
	c->seq += (uint32_t)n;
	output_n((struct dpc *[]){ c, other }, 2);
}

static void changed(uint64_t writer, const char *key)
{
	rd_keyev_raise(&h.lc->ctx, writer, RD_EV_SET, (const uint8_t *)key,
		       (uint32_t)strlen(key));
}

static void flushed(void)
{
	/* (as the store raises a flush: FLUSHALL, flush_all) */
	rd_keyev_store_hook(&h.lc->ctx, NULL, WC_KEV_FLUSH, NULL, 0);
}

static struct rd_trk_totals totals(void)
{
	struct rd_trk_totals t;

	rd_tracking_sync(h.lc);
	rd_tracking_totals(&h.app, &t);
	return t;
}

/* The commands' errors, in Redis's words, and GETREDIR / TRACKINGINFO. */
static void commands_and_errors(void **state)
{
	struct dpc a;

	(void)state;
	open_conn(&a, abuf, sizeof(abuf), false);
	cmd(&a, "CLIENT GETREDIR");
	ASSERT_GOT(&a, ":-1\r\n");
	cmd(&a, "CLIENT TRACKINGINFO");
	ASSERT_GOT(&a, "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n"
		       "$8\r\nprefixes\r\n*0\r\n");
	cmd(&a, "CLIENT TRACKING maybe");
	ASSERT_GOT(&a, "-ERR syntax error\r\n");
	cmd(&a, "CLIENT TRACKING on PREFIX a");
	ASSERT_GOT(&a, "-ERR PREFIX option requires BCAST mode to be enabled\r\n");
	cmd(&a, "CLIENT TRACKING on OPTIN OPTOUT");
	ASSERT_GOT(&a, "-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n");
	cmd(&a, "CLIENT TRACKING on BCAST OPTIN");
	ASSERT_GOT(&a, "-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n");
	cmd(&a, "CLIENT TRACKING on REDIRECT 999999");
	ASSERT_GOT(&a, "-ERR The client ID you want redirect to does not exist\r\n");
	cmd(&a, "CLIENT TRACKING on BCAST PREFIX ab PREFIX a");
	ASSERT_GOT(&a, "-ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes "
		       "for a single client must not overlap.\r\n");
	cmd(&a, "CLIENT CACHING yes");
	ASSERT_GOT(&a, "-ERR CLIENT CACHING can be called only when the client is in tracking "
		       "mode with OPTIN or OPTOUT mode enabled\r\n");
	cmd(&a, "CLIENT TRACKING on OPTIN");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "CLIENT CACHING no");
	ASSERT_GOT(&a, "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT "
		       "mode.\r\n");
	cmd(&a, "CLIENT TRACKING on BCAST");
	ASSERT_GOT(&a, "-ERR You can't switch BCAST mode on/off before disabling tracking for "
		       "this client, and then re-enabling it with a different mode.\r\n");
	cmd(&a, "CLIENT CACHING yes");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "CLIENT TRACKINGINFO");
	ASSERT_GOT(&a, "*6\r\n$5\r\nflags\r\n*3\r\n$2\r\non\r\n$5\r\noptin\r\n$11\r\ncaching-yes\r\n"
		       "$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n");
	/* CACHING lasts until a command other than CLIENT */
	cmd(&a, "PING");
	ASSERT_GOT(&a, "+PONG\r\n");
	cmd(&a, "CLIENT TRACKINGINFO");
	ASSERT_GOT(&a, "*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$5\r\noptin\r\n"
		       "$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n");
	cmd(&a, "CLIENT LIST");
	assert_non_null(memmem(a.buf, a.n, "flags=t ", 8));
	assert_non_null(memmem(a.buf, a.n, "redir=-1 ", 9));
	a.n = 0;
	assert_int_equal(totals().clients, 1);
	cmd(&a, "CLIENT TRACKING off");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "CLIENT TRACKING on BCAST PREFIX b PREFIX a");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "CLIENT TRACKINGINFO");
	ASSERT_GOT(&a, "*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$5\r\nbcast\r\n"
		       "$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	assert_int_equal(totals().prefixes, 2);
	cmd(&a, "RESET");
	ASSERT_GOT(&a, "+RESET\r\n");
	assert_int_equal(totals().clients, 0);
	assert_int_equal(totals().prefixes, 0);
	dpc_close(&h, &a);
}

/* RESP3: a read is remembered (the lone GET too), a change pushes one invalidate. */
static void resp3_invalidate(void **state)
{
	struct dpc a;
	uint64_t other = 424242;

	(void)state;
	open_conn(&a, abuf, sizeof(abuf), true);
	cmd(&a, "CLIENT TRACKING on");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "GET k1");
	ASSERT_GOT(&a, "_\r\n");
	cmd(&a, "MGET k2 k3");
	ASSERT_GOT(&a, "*2\r\n_\r\n_\r\n");
	assert_int_equal(totals().keys, 3);
	assert_int_equal(totals().items, 3);
	changed(other, "k1");
	output(&a);
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n");
	/* once: the entry went with it */
	changed(other, "k1");
	output(&a);
	ASSERT_GOT(&a, "");
	assert_int_equal(totals().keys, 2);
	/* a change the client made itself is told too (no NOLOOP) */
	changed(sess(&a)->id, "k2");
	output(&a);
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk2\r\n");
	/* a flush: "everything" */
	flushed();
	output(&a);
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n_\r\n");
	assert_int_equal(totals().keys, 0);
	/* turned on inside a transaction (run on this lcore): the transaction's reads count */
	cmd(&a, "CLIENT TRACKING off");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "MULTI");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "CLIENT TRACKING on");
	ASSERT_GOT(&a, "+QUEUED\r\n");
	cmd(&a, "GET mt");
	ASSERT_GOT(&a, "+QUEUED\r\n");
	cmd(&a, "EXEC");
	ASSERT_GOT(&a, "*2\r\n+OK\r\n_\r\n");
	changed(other, "mt");
	output(&a);
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nmt\r\n");
	dpc_close(&h, &a);
	assert_int_equal(totals().clients, 0);
}

/* NOLOOP: what the client wrote itself is not told; OPTIN/OPTOUT decide what is read. */
static void noloop_optin_optout(void **state)
{
	struct dpc a;

	(void)state;
	open_conn(&a, abuf, sizeof(abuf), true);
	cmd(&a, "CLIENT TRACKING on NOLOOP");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "GET n1");
	ASSERT_GOT(&a, "_\r\n");
	changed(sess(&a)->id, "n1");
	output(&a);
	ASSERT_GOT(&a, "");
	cmd(&a, "GET n1");
	ASSERT_GOT(&a, "_\r\n");
	changed(900007, "n1");
	output(&a);
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nn1\r\n");
	cmd(&a, "CLIENT TRACKING off");
	ASSERT_GOT(&a, "+OK\r\n");
	/* OPTIN: only after CACHING yes */
	cmd(&a, "CLIENT TRACKING on OPTIN");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "GET o1");
	ASSERT_GOT(&a, "_\r\n");
	cmd(&a, "CLIENT CACHING yes");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "GET o2");
	ASSERT_GOT(&a, "_\r\n");
	changed(900007, "o1");
	changed(900007, "o2");
	output(&a);
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\no2\r\n");
	cmd(&a, "CLIENT TRACKING off");
	ASSERT_GOT(&a, "+OK\r\n");
	/* OPTOUT: all but after CACHING no */
	cmd(&a, "CLIENT TRACKING on OPTOUT");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "CLIENT CACHING no");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "GET p1");
	ASSERT_GOT(&a, "_\r\n");
	cmd(&a, "GET p2");
	ASSERT_GOT(&a, "_\r\n");
	changed(900007, "p1");
	changed(900007, "p2");
	output(&a);
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\np2\r\n");
	dpc_close(&h, &a);
}

/* RESP2 a tracks with REDIRECT to b, subscribed to __redis__:invalidate (as SUBSCRIBE leaves it). */
static void redirect_to_subscriber(struct dpc *a, struct dpc *b)
{
	char line[80];
	struct rd_session *tb;

	open_conn(a, abuf, sizeof(abuf), false);
	open_conn(b, bbuf, sizeof(bbuf), false);
	tb = sess(b);
	assert_int_equal(ps_subscribe(h.lc->pubsub, tb, PS_CHANNEL,
				      (const uint8_t *)"__redis__:invalidate", 20), 1);
	tb->flags |= RD_C_PUBSUB;	/* (what SUBSCRIBE sets) */
	snprintf(line, sizeof(line), "CLIENT TRACKING on REDIRECT %lu", (unsigned long)tb->id);
	cmd(a, line);
	ASSERT_GOT(a, "+OK\r\n");
}

/* RESP2 through REDIRECT: a message on __redis__:invalidate to a subscribed target. */
static void resp2_redirect(void **state)
{
	struct dpc a, b;

	(void)state;
	redirect_to_subscriber(&a, &b);
	cmd(&a, "CLIENT GETREDIR");
	assert_true(dpc_matches(":#\r\n", a.buf, a.n));
	a.n = 0;
	cmd(&a, "GET r1");
	ASSERT_GOT(&a, "$-1\r\n");
	changed(900009, "r1");
	output_n((struct dpc *[]){ &a, &b }, 2);
	ASSERT_GOT(&a, "");
	ASSERT_GOT(&b, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nr1\r\n");
	cmd(&a, "GET r2");
	ASSERT_GOT(&a, "$-1\r\n");
	flushed();
	output_n((struct dpc *[]){ &a, &b }, 2);
	ASSERT_GOT(&a, "");
	ASSERT_GOT(&b, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n");
	/* the target goes: the redirect is broken (CLIENT LIST flag R) */
	cmd(&a, "GET r3");
	ASSERT_GOT(&a, "$-1\r\n");
	dpc_close(&h, &b);
	changed(900009, "r3");
	output(&a);
	ASSERT_GOT(&a, "");
	cmd(&a, "CLIENT TRACKINGINFO");
	assert_non_null(memmem(a.buf, a.n, "broken_redirect", 15));
	a.n = 0;
	cmd(&a, "CLIENT LIST");
	assert_non_null(memmem(a.buf, a.n, "flags=tR ", 9));
	a.n = 0;
	dpc_close(&h, &a);
}

/* A RESP3 client whose redirect target left hears tracking-redir-broken. */
static void resp3_redirect_broken(void **state)
{
	struct dpc a, b;
	char line[80];

	(void)state;
	open_conn(&a, abuf, sizeof(abuf), true);
	open_conn(&b, bbuf, sizeof(bbuf), true);
	snprintf(line, sizeof(line), "CLIENT TRACKING on REDIRECT %lu",
		 (unsigned long)sess(&b)->id);
	cmd(&a, line);
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "GET x1");
	ASSERT_GOT(&a, "_\r\n");
	changed(900009, "x1");
	output_n((struct dpc *[]){ &a, &b }, 2);
	ASSERT_GOT(&b, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nx1\r\n");
	cmd(&a, "GET x1");
	ASSERT_GOT(&a, "_\r\n");
	snprintf(line, sizeof(line), ">2\r\n$21\r\ntracking-redir-broken\r\n:%lu\r\n",
		 (unsigned long)sess(&b)->id);
	dpc_close(&h, &b);
	changed(900009, "x1");
	output(&a);
	ASSERT_GOT(&a, line);
	dpc_close(&h, &a);
}

/*
 * Messages to an lcore lost on the bus (its ring overflowed): a REDIRECT
 * target there hears "everything", even where no client tracks (what
 * other lcores sent it may be what was lost).
 */
static void lost_news_reach_a_target(void **state)
{
	struct dpc a, b;
	struct wc_bus_stats st0, st;
	unsigned drained = 0;

	(void)state;
	redirect_to_subscriber(&a, &b);
	cmd(&a, "GET l1");
	ASSERT_GOT(&a, "$-1\r\n");
	changed(900009, "l1");
	output_n((struct dpc *[]){ &a, &b }, 2);
	ASSERT_GOT(&b, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nl1\r\n");
	/* no client tracks here any more; b stays a target */
	cmd(&a, "CLIENT TRACKING off");
	ASSERT_GOT(&a, "+OK\r\n");
	assert_int_equal(totals().clients, 0);
	/* more messages to this lcore than its ring holds, none handled */
	wc_bus_get_stats(h.lc, &st0);
	for (int i = 0; i < 20000; i++) {
		(void)wc_bus_put(h.lc, h.lc->id, WC_BUS_TEST, 1024);
		if (i % 16 == 15)
			wc_bus_flush(h.lc);
	}
	wc_bus_flush(h.lc);
	wc_bus_get_stats(h.lc, &st);
	assert_true(st.dropped > st0.dropped);
	/* the lcore drains; a message after that carries the news of the loss */
	for (int round = 0; round < 2; round++) {
		while (drained < 100000) {
			unsigned n = wc_bus_drain(h.lc, 64);

			if (!n)
				break;
			drained += n;
		}
		(void)wc_bus_put(h.lc, h.lc->id, WC_BUS_TEST, 8);
		wc_bus_flush(h.lc);
	}
	wc_bus_get_stats(h.lc, &st);
	assert_true(st.lost_in > st0.lost_in);
	output_n((struct dpc *[]){ &a, &b }, 2);
	ASSERT_GOT(&a, "");
	ASSERT_GOT(&b, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n");
	dpc_close(&h, &a);
	dpc_close(&h, &b);
}

/* BCAST: every change under a prefix, batched, without the client's own under NOLOOP. */
static void bcast_prefixes(void **state)
{
	struct dpc a, b;

	(void)state;
	open_conn(&a, abuf, sizeof(abuf), true);
	open_conn(&b, bbuf, sizeof(bbuf), true);
	cmd(&a, "CLIENT TRACKING on BCAST PREFIX user: PREFIX item:");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&b, "CLIENT TRACKING on BCAST NOLOOP");
	ASSERT_GOT(&b, "+OK\r\n");
	changed(900009, "user:1");
	changed(900009, "other");
	changed(sess(&b)->id, "user:2");
	changed(900009, "user:1");
	output_n((struct dpc *[]){ &a, &b }, 2);
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*2\r\n$6\r\nuser:1\r\n$6\r\nuser:2\r\n");
	ASSERT_GOT(&b, ">2\r\n$10\r\ninvalidate\r\n*2\r\n$6\r\nuser:1\r\n$5\r\nother\r\n");
	cmd(&a, "CLIENT TRACKING on BCAST PREFIX item");
	ASSERT_GOT(&a, "-ERR Prefix 'item' overlaps with an existing prefix 'item:'. Prefixes "
		       "for a single client must not overlap.\r\n");
	assert_int_equal(totals().prefixes, 3);
	dpc_close(&h, &b);
	dpc_close(&h, &a);
	assert_int_equal(totals().prefixes, 0);
}

/* The table's bound: the oldest keys go out as invalidations; CONFIG SET trims. */
static void table_bound(void **state)
{
	struct dpc a;

	(void)state;
	open_conn(&a, abuf, sizeof(abuf), true);
	cmd(&a, "CONFIG GET tracking-table-max-keys");
	ASSERT_GOT(&a, "%1\r\n$23\r\ntracking-table-max-keys\r\n$7\r\n1000000\r\n");
	cmd(&a, "CLIENT TRACKING on");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "MGET b1 b2 b3");
	ASSERT_GOT(&a, "*3\r\n_\r\n_\r\n_\r\n");
	cmd(&a, "CONFIG SET tracking-table-max-keys 1");
	ASSERT_GOT(&a, "+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nb1\r\n"
		       ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nb2\r\n");
	assert_int_equal(totals().keys, 1);
	/* a read past the bound takes the oldest key out (reads go into the table in batches) */
	cmd(&a, "GET b4");
	ASSERT_GOT(&a, "_\r\n");
	rd_tracking_sync(h.lc);
	output(&a);
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nb3\r\n");
	cmd(&a, "INFO stats");
	assert_non_null(memmem(a.buf, a.n, "tracking_total_keys:1\r\n", 23));
	assert_non_null(memmem(a.buf, a.n, "tracking_total_items:1\r\n", 24));
	a.n = 0;
	cmd(&a, "INFO clients");
	assert_non_null(memmem(a.buf, a.n, "tracking_clients:1\r\n", 20));
	a.n = 0;
	cmd(&a, "CONFIG SET tracking-table-max-keys 1000000");
	ASSERT_GOT(&a, "+OK\r\n");
	dpc_close(&h, &a);
}

/* A memcached write invalidates what a Redis client read (the store's hook). */
static void memcached_write(void **state)
{
	struct dpc a, m;

	(void)state;
	open_conn(&a, abuf, sizeof(abuf), true);
	cmd(&a, "CLIENT TRACKING on");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "GET mk");
	ASSERT_GOT(&a, "_\r\n");
	assert_true(dpc_connect(&h, &m, h.app.cfg.tcp_port, mbuf, sizeof(mbuf)));
	send_seen(&m, "set mk 0 0 1\r\nx\r\n", &a);
	ASSERT_GOT(&m, "STORED\r\n");
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nmk\r\n");
	dpc_close(&h, &m);
	dpc_close(&h, &a);
}

/* Real Redis writes: another client's SET pushes; the client's own writes answer first. */
static void redis_writes(void **state)
{
	struct dpc a, b;

	(void)state;
	open_conn(&a, abuf, sizeof(abuf), true);
	open_conn(&b, bbuf, sizeof(bbuf), false);
	cmd(&a, "CLIENT TRACKING on");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "GET w0");
	ASSERT_GOT(&a, "_\r\n");
	send_seen(&b, "SET w0 x\r\n", &a);
	ASSERT_GOT(&b, "+OK\r\n");
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nw0\r\n");
	cmd(&a, "GET w1");
	ASSERT_GOT(&a, "_\r\n");
	cmd(&a, "SET w1 v");
	ASSERT_GOT(&a, "+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nw1\r\n");
	cmd(&a, "MGET w2 w3");
	ASSERT_GOT(&a, "*2\r\n_\r\n_\r\n");
	cmd(&a, "MSET w2 1 w3 2");
	ASSERT_GOT(&a, "+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nw2\r\n"
		       ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nw3\r\n");
	/* a transaction: its reads are remembered, its writes told after EXEC's reply */
	cmd(&a, "MULTI");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "GET w4");
	ASSERT_GOT(&a, "+QUEUED\r\n");
	cmd(&a, "EXEC");
	ASSERT_GOT(&a, "*1\r\n_\r\n");
	cmd(&a, "MULTI");
	ASSERT_GOT(&a, "+OK\r\n");
	cmd(&a, "SET w4 1");
	ASSERT_GOT(&a, "+QUEUED\r\n");
	cmd(&a, "GET w4");
	ASSERT_GOT(&a, "+QUEUED\r\n");
	cmd(&a, "EXEC");
	ASSERT_GOT(&a, "*2\r\n+OK\r\n$1\r\n1\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nw4\r\n");
	/* FLUSHALL from the other client: "everything" */
	send_seen(&b, "FLUSHALL\r\n", &a);
	ASSERT_GOT(&b, "+OK\r\n");
	ASSERT_GOT(&a, ">2\r\n$10\r\ninvalidate\r\n_\r\n");
	dpc_close(&h, &b);
	dpc_close(&h, &a);
}

/* QUIT: the client stops counting as a tracking client at once (TCP may still be closing). */
static void quit_leaves_at_once(void **state)
{
	struct dpc a;

	(void)state;
	open_conn(&a, abuf, sizeof(abuf), true);
	cmd(&a, "CLIENT TRACKING on BCAST PREFIX q:");
	ASSERT_GOT(&a, "+OK\r\n");
	assert_int_equal(totals().clients, 1);
	assert_int_equal(totals().prefixes, 1);
	cmd(&a, "QUIT");
	ASSERT_GOT(&a, "+OK\r\n");
	assert_int_equal(totals().clients, 0);
	assert_int_equal(totals().prefixes, 0);
	dpc_close(&h, &a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commands_and_errors),
		cmocka_unit_test(resp3_invalidate),
		cmocka_unit_test(noloop_optin_optout),
		cmocka_unit_test(resp2_redirect),
		cmocka_unit_test(resp3_redirect_broken),
		cmocka_unit_test(lost_news_reach_a_target),
		cmocka_unit_test(bcast_prefixes),
		cmocka_unit_test(table_bound),
		cmocka_unit_test(memcached_write),
		cmocka_unit_test(redis_writes),
		cmocka_unit_test(quit_leaves_at_once),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
