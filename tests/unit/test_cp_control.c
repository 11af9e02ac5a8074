/*
 * test_cp_control.c - the control plane's own logic, on synthetic
 * snapshots: slot ranges as typed and folded, the alert rules' firing and
 * resolving, memcached's stats formulas (and the "stats reset" baseline),
 * rates and latency windows from successive samples, the Prometheus text
 * (checked line by line against the exposition format and the naming
 * conventions), the JSON documents, network bytes per second in all three
 * views, URL parsing.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alerts.h"
#include "api.h"
#include "buf.h"
#include "core/cpcounters.h"
#include "derive.h"
#include "httpc.h"
#include "prom.h"
#include "sampler.h"
#include "slotrange.h"

/* ---- slot ranges ---- */

static void slot_ranges(void **state)
{
	static const char *bad[] = { "", "-", "5-", "-5", "a-b", "16384", "0-16384", "10-5", " 1-2",
				     "1-2x", "99999999999999999999", "1--2", "+1-2", "0x10-20" };
	unsigned f, t;
	char err[160];

	(void)state;
	assert_int_equal(cp_parse_slot_range("0-8191", &f, &t, err, sizeof(err)), 0);
	assert_int_equal(f, 0);
	assert_int_equal(t, 8191);
	assert_int_equal(cp_parse_slot_range("42", &f, &t, err, sizeof(err)), 0);
	assert_int_equal(f, 42);
	assert_int_equal(t, 42);
	assert_int_equal(cp_parse_slot_range("16383-16383", &f, &t, err, sizeof(err)), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (cp_parse_slot_range(bad[i], &f, &t, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(strstr(err, "invalid slot range"));
	}
	assert_int_equal(cp_parse_slot_range(NULL, &f, &t, err, sizeof(err)), -1);
}

static void slot_runs(void **state)
{
	uint16_t part[WC_SLOTS], node[WC_SLOTS] = { 0 };
	struct cp_slot_run runs[8];

	(void)state;
	for (unsigned s = 0; s < WC_SLOTS; s++)
		part[s] = (uint16_t)(s * 4 / WC_SLOTS);
	assert_int_equal(cp_slot_runs(part, node, runs, 8), 4);
	assert_int_equal(runs[1].from, 4096);
	assert_int_equal(runs[1].to, 8191);
	assert_int_equal(runs[1].part, 1);
	part[100] |= WC_SLOT_MOVING;
	node[9000] = 3;
	assert_int_equal(cp_slot_runs(part, node, runs, 8), 8);
	assert_int_equal(runs[1].from, 100);
	assert_int_equal(runs[1].moving, 1);
	assert_int_equal(runs[1].part, 0);
	/* more runs than room: the count is still right */
	assert_int_equal(cp_slot_runs(part, node, runs, 2), 8);
	assert_int_equal(runs[1].to, 100);
}

/* ---- alerts ---- */

static void alert_rules(void **state)
{
	struct cp_alert_rules r;
	struct cp_alert a[CP_ALERT_COUNT];
	struct cp_alert_input in = { .gets = 1000, .hit_rate = 0.95, .memory_ratio = 0.5,
				     .have_prev = true, .p99_us = 50, .samples = 1000 };
	bool ch[CP_ALERT_COUNT];

	(void)state;
	cp_alert_rules_default(&r);
	cp_alerts_init(a);
	assert_int_equal(cp_alerts_eval(a, &r, &in, 1000, ch), 0);
	for (unsigned i = 0; i < CP_ALERT_COUNT; i++)
		assert_false(a[i].firing);
	/* hit rate under 80% fires, but only with enough gets */
	in.hit_rate = 0.5;
	in.gets = 10;
	assert_int_equal(cp_alerts_eval(a, &r, &in, 2000, ch), 0);
	in.gets = 500;
	assert_int_equal(cp_alerts_eval(a, &r, &in, 3000, ch), 1);
	assert_true(ch[CP_ALERT_HIT_RATE] && a[CP_ALERT_HIT_RATE].firing);
	assert_int_equal(a[CP_ALERT_HIT_RATE].since_ms, 3000);
	assert_non_null(strstr(a[CP_ALERT_HIT_RATE].message, "50.0%"));
	assert_int_equal(cp_alerts_eval(a, &r, &in, 4000, ch), 0);	/* no change, no log */
	in.hit_rate = 0.9;
	assert_int_equal(cp_alerts_eval(a, &r, &in, 5000, ch), 1);
	assert_false(a[CP_ALERT_HIT_RATE].firing);
	/* memory over 90% */
	in.memory_ratio = 0.95;
	cp_alerts_eval(a, &r, &in, 6000, ch);
	assert_true(a[CP_ALERT_MEMORY].firing);
	in.memory_ratio = 0.2;
	cp_alerts_eval(a, &r, &in, 7000, ch);
	assert_false(a[CP_ALERT_MEMORY].firing);
	/* evictions: rising fires, steady keeps it, falling or too few resolves */
	in.evict_rate = 100;
	in.evict_rate_prev = 0;
	in.have_prev = false;
	cp_alerts_eval(a, &r, &in, 8000, ch);
	assert_false(a[CP_ALERT_EVICTIONS].firing);	/* nothing to compare with yet */
	in.have_prev = true;
	cp_alerts_eval(a, &r, &in, 9000, ch);
	assert_true(a[CP_ALERT_EVICTIONS].firing);
	in.evict_rate_prev = 100;
	cp_alerts_eval(a, &r, &in, 10000, ch);
	assert_true(a[CP_ALERT_EVICTIONS].firing);
	in.evict_rate = 50;
	cp_alerts_eval(a, &r, &in, 11000, ch);
	assert_false(a[CP_ALERT_EVICTIONS].firing);
	in.evict_rate = 60;
	in.evict_rate_prev = 50;	/* rising, but not 1.5x */
	cp_alerts_eval(a, &r, &in, 12000, ch);
	assert_false(a[CP_ALERT_EVICTIONS].firing);
	in.evict_rate = 0.5;
	in.evict_rate_prev = 0;		/* below 1/s */
	cp_alerts_eval(a, &r, &in, 13000, ch);
	assert_false(a[CP_ALERT_EVICTIONS].firing);
	/* p99 over the threshold, with enough samples */
	in.p99_us = 5000;
	in.samples = 10;
	cp_alerts_eval(a, &r, &in, 14000, ch);
	assert_false(a[CP_ALERT_P99].firing);
	in.samples = 1000;
	cp_alerts_eval(a, &r, &in, 15000, ch);
	assert_true(a[CP_ALERT_P99].firing);
	assert_string_equal(a[CP_ALERT_P99].name, "latency_p99");
	/* replication: a master's replica 11 s behind fires, 2 s resolves */
	assert_string_equal(a[CP_ALERT_REPLICATION].name, "replication");
	assert_false(a[CP_ALERT_REPLICATION].firing);
	in.replicas = 1;
	in.repl_max_lag_s = 11;
	cp_alerts_eval(a, &r, &in, 16000, ch);
	assert_true(a[CP_ALERT_REPLICATION].firing);
	assert_true(ch[CP_ALERT_REPLICATION]);
	in.repl_max_lag_s = 2;
	cp_alerts_eval(a, &r, &in, 17000, ch);
	assert_false(a[CP_ALERT_REPLICATION].firing);
	/* a replica whose link has been down 30 s fires; up again resolves */
	in.replicas = 0;
	in.is_replica = true;
	in.link_up = false;
	in.link_down_s = 30;
	cp_alerts_eval(a, &r, &in, 18000, ch);
	assert_true(a[CP_ALERT_REPLICATION].firing);
	assert_non_null(strstr(a[CP_ALERT_REPLICATION].message, "down 30 s"));
	in.link_up = true;
	in.link_down_s = 0;
	cp_alerts_eval(a, &r, &in, 19000, ch);
	assert_false(a[CP_ALERT_REPLICATION].firing);
}

/* ---- synthetic snapshots ---- */

static struct wc_cp_shm *snapshot(int64_t t_ms)
{
	struct wc_cp_shm *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->magic = WC_CP_MAGIC;
	s->abi = WC_CP_ABI;
	s->nworkers = 2;
	s->nparts = 4;
	s->pid = 1234;
	s->started_unix = 1700000000;
	s->max_conns = 16384;
	snprintf(s->version, sizeof(s->version), "1.6.21-wirecache-test");
	snprintf(s->name, sizeof(s->name), "/run/x.sock");
	s->ncounters = wc_cp_counters_describe(s->counters, WC_CP_MAX_COUNTERS);
	s->published_unix_ms = t_ms;
	for (unsigned i = 0; i < 4; i++) {
		s->part[i].id = i;
		s->part[i].owner = i / 2;
		s->part[i].limit_bytes = 8u << 20;
	}
	for (unsigned sl = 0; sl < WC_SLOTS; sl++)
		s->slot_part[sl] = (uint16_t)(sl * 4 / WC_SLOTS);
	s->slot_epoch = 1;
	for (unsigned i = 0; i < 2; i++) {
		wc_hist_reset(&s->lat[i].h);
		s->lat[i].h.min = UINT64_MAX;
	}
	return s;
}

static void set_counter(struct wc_cp_shm *s, unsigned lc, const char *name, uint64_t v)
{
	int k = cp_counter_index(s, name);

	assert_true(k >= 0);
	s->lc[lc].v[k] = v;
}

static uint64_t stat_of(const struct cp_stat *st, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(st[i].name, name) == 0)
			return st[i].value;
	fail_msg("no stat %s", name);
	return 0;
}

static void memcached_formulas(void **state)
{
	struct wc_cp_shm *s = snapshot(1000);
	struct cp_stat st[WC_CP_MAX_COUNTERS + 32];
	unsigned n;

	(void)state;
	set_counter(s, 0, "op_get", 100);
	set_counter(s, 1, "op_get", 50);
	set_counter(s, 0, "op_gat", 5);
	set_counter(s, 0, "op_set", 30);
	set_counter(s, 1, "op_cas", 2);
	set_counter(s, 0, "op_flush", 8);	/* two flush_all over four partitions */
	set_counter(s, 0, "get_hits", 90);
	set_counter(s, 1, "get_hits", 40);
	set_counter(s, 0, "curr_connections", 3);
	set_counter(s, 0, "drop_no_mbuf", 2);
	set_counter(s, 1, "drop_tx_full", 1);
	set_counter(s, 0, "ignored_eth_multicast", 12);
	set_counter(s, 1, "ignored_ip_not_us", 4);
	s->base[cp_counter_index(s, "get_hits")] = 30;	/* "stats reset" */
	s->part[0].items = 10;
	s->part[3].items = 5;
	s->part[1].bytes = 1000;
	s->part[1].index_bytes = 500;
	s->part[2].evictions = 7;
	n = cp_memcached_stats(s, st, sizeof(st) / sizeof(st[0]));
	{
		struct cp_store_totals t;

		cp_store_totals(s, -1, &t);
		assert_int_equal(cp_memory_in_use(&t), 1500);	/* items and the index */
	}
	assert_int_equal(stat_of(st, n, "cmd_get"), 155);
	assert_int_equal(stat_of(st, n, "cmd_set"), 32);
	assert_int_equal(stat_of(st, n, "cmd_flush"), 2);
	assert_int_equal(stat_of(st, n, "cmd_touch"), 5);
	assert_int_equal(stat_of(st, n, "get_hits"), 100);
	assert_int_equal(cp_total_raw(s, "get_hits"), 130);
	assert_int_equal(stat_of(st, n, "curr_items"), 15);
	assert_int_equal(stat_of(st, n, "bytes"), 1000);
	assert_int_equal(stat_of(st, n, "limit_maxbytes"), 32u << 20);
	assert_int_equal(stat_of(st, n, "evictions"), 7);
	assert_int_equal(stat_of(st, n, "curr_connections"), 3);
	assert_int_equal(stat_of(st, n, "threads"), 2);
	assert_int_equal(stat_of(st, n, "drop_ip_checksum"), 0);
	/* real drops and frames not for this node, summed apart as stats.c does */
	assert_int_equal(stat_of(st, n, "drops"), 3);
	assert_int_equal(stat_of(st, n, "ignored"), 16);
	assert_int_equal(stat_of(st, n, "ignored_eth_multicast"), 12);
	assert_int_equal(cp_ops_raw(s, 0), 143);
	assert_int_equal(cp_ops_raw(s, -1), 195);
	assert_int_equal(cp_lcore(s, 1, "op_get"), 50);
	assert_int_equal(cp_counter_index(s, "no_such_counter"), -1);
	assert_int_equal(cp_total(s, "no_such_counter"), 0);
	free(s);
}

static void record(struct wc_cp_shm *s, unsigned lc, uint64_t ns, unsigned n)
{
	struct wc_hist *h = &s->lat[lc].h;

	for (unsigned i = 0; i < n; i++)
		wc_hist_record(h, ns);
}

/* Two samples a second apart: rates, hit rate, interval latency, the window. */
static void sampler_rates_and_window(void **state)
{
	struct cp_alert_rules r;
	struct sampler sm;
	struct wc_cp_shm *a = snapshot(10000), *b;
	const struct cp_point *p;

	(void)state;
	cp_alert_rules_default(&r);
	r.p99_max_us = 100;
	assert_int_equal(sampler_init(&sm, &r, 2, "t"), 0);
	set_counter(a, 0, "op_get", 1000);
	set_counter(a, 0, "get_hits", 900);
	set_counter(a, 0, "get_misses", 100);
	record(a, 0, 2000, 1000);		/* 2 us before */
	a->lc[0].busy_tsc = 1000;		/* lcore 0 was 25% busy so far */
	a->lc[0].total_tsc = 4000;
	sampler_add(&sm, a);
	assert_null(sampler_point(&sm, 0));	/* one snapshot: no interval yet */
	b = malloc(sizeof(*b));
	memcpy(b, a, sizeof(*b));
	b->published_unix_ms = 12000;		/* 2 s later */
	set_counter(b, 0, "op_get", 5000);	/* 4000 gets in 2 s */
	set_counter(b, 1, "op_set", 2000);
	set_counter(b, 0, "get_hits", 900 + 1000);
	set_counter(b, 0, "get_misses", 100 + 3000);	/* 25% hits in the interval */
	/* items at 87.5% of the limit, as a full store holds them; with the index, 93.75% */
	for (unsigned i = 0; i < 4; i++) {
		b->part[i].bytes = 7u << 20;
		b->part[i].index_bytes = 1u << 19;
	}
	record(b, 1, 500000, 200);		/* 0.5 ms: slow ones in the interval */
	b->lc[0].busy_tsc = 1000 + 3000;	/* 75% busy in the interval */
	b->lc[0].total_tsc = 4000 + 4000;	/* lcore 1's loop never ran: unknown */
	sampler_add(&sm, b);
	p = sampler_point(&sm, 0);
	assert_non_null(p);
	assert_true(p->ops_s > 2999.0 && p->ops_s < 3001.0);
	assert_true(p->gets_s > 1999.0 && p->gets_s < 2001.0);
	assert_true(p->hit_rate > 0.249 && p->hit_rate < 0.251);
	assert_true(p->lc_ops_s[1] > 999.0 && p->lc_ops_s[1] < 1001.0);
	assert_true(p->lc_busy[0] > 0.749 && p->lc_busy[0] < 0.751);
	assert_true(p->lc_busy[1] < 0);
	assert_true(p->p99_us >= 480 && p->p99_us <= 520);	/* the interval holds only the slow */
	assert_true(sm.win.secs > 1.99 && sm.win.secs < 2.01);
	assert_true(sm.win.hit_rate > 0.249 && sm.win.hit_rate < 0.251);
	assert_int_equal(sm.win.gets, 4000);
	assert_int_equal(sm.win.samples, 200);
	assert_true(sm.win.memory_ratio > 0.937 && sm.win.memory_ratio < 0.938);
	/* the rules saw it: hit rate, memory and p99 fire */
	assert_true(sm.alerts[CP_ALERT_HIT_RATE].firing);
	assert_true(sm.alerts[CP_ALERT_MEMORY].firing);
	assert_true(sm.alerts[CP_ALERT_P99].firing);
	assert_false(sm.alerts[CP_ALERT_EVICTIONS].firing);
	/* a new dataplane starts the windows over */
	sampler_reset(&sm);
	assert_false(sm.have_prev);
	sampler_free(&sm);
	free(a);
	free(b);
}

/* ---- Prometheus text ---- */

static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return false;
	return true;
}

struct family {
	char name[96], type[16];
	unsigned samples;
};

/* Check the exposition format; returns the value of sample `want` (or -1). */
static double check_prom(char *text, const char *want, unsigned *nfam)
{
	static struct family fam[400];
	unsigned nf = 0;
	double found = -1;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[96], type[16];

			assert_int_equal(sscanf(line + 7, "%95s %15s", name, type), 2);
			assert_true(valid_name(name, strlen(name)));
			for (unsigned i = 0; i < nf; i++)
				if (strcmp(fam[i].name, name) == 0)
					fail_msg("family %s declared twice", name);
			assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
				    strcmp(type, "summary") == 0);
			if (strcmp(type, "counter") == 0 &&
			    strcmp(name + strlen(name) - 6, "_total") != 0)
				fail_msg("counter %s does not end in _total", name);
			assert_true(nf < 400);
			snprintf(fam[nf].name, sizeof(fam[nf].name), "%s", name);
			snprintf(fam[nf].type, sizeof(fam[nf].type), "%s", type);
			fam[nf++].samples = 0;
			continue;
		}
		assert_true(line[0] != '#');
		{
			size_t nl = strcspn(line, "{ ");
			char *rest = line + nl, *end;
			double v;
			bool ok = false;

			assert_true(valid_name(line, nl));
			if (*rest == '{') {
				char *close = strchr(rest, '}');

				assert_non_null(close);
				/* label pairs: name="value" separated by commas */
				for (char *q = rest + 1; q < close;) {
					size_t ln = strcspn(q, "=");

					assert_true(valid_name(q, ln));
					assert_true(q[ln + 1] == '"');
					/* the value ends at an unescaped quote */
					for (q += ln + 2; *q && *q != '"'; q++)
						if (*q == '\\') {
							assert_true(q[1] == '\\' || q[1] == '"' ||
								    q[1] == 'n');
							q++;
						}
					assert_true(*q == '"');
					q++;
					if (*q == ',')
						q++;
				}
				rest = close + 1;
			}
			assert_true(*rest == ' ');
			v = strtod(rest + 1, &end);
			assert_true(*end == 0 && end != rest + 1);
			/* the sample belongs to the family declared last (or its _sum/_count) */
			assert_true(nf > 0);
			if (strncmp(line, fam[nf - 1].name, strlen(fam[nf - 1].name)) == 0)
				ok = nl == strlen(fam[nf - 1].name) ||
				     (strcmp(fam[nf - 1].type, "summary") == 0 &&
				      (strncmp(line + strlen(fam[nf - 1].name), "_sum", 4) == 0 ||
				       strncmp(line + strlen(fam[nf - 1].name), "_count", 6) == 0));
			if (!ok)
				fail_msg("sample '%s' outside its family (%s)", line, fam[nf - 1].name);
			fam[nf - 1].samples++;
			if (want && strncmp(line, want, strlen(want)) == 0 && line[strlen(want)] == ' ')
				found = v;
		}
	}
	for (unsigned i = 0; i < nf; i++)
		if (fam[i].samples == 0 && strcmp(fam[i].name, "wirecache_hit_ratio") != 0)
			fail_msg("family %s has no samples", fam[i].name);
	*nfam = nf;
	return found;
}

static void prometheus_text(void **state)
{
	struct cp_alert_rules r;
	struct sampler sm;
	struct wc_cp_shm *s = snapshot(5000);
	struct buf b;
	char *text;
	unsigned nf;

	(void)state;
	cp_alert_rules_default(&r);
	assert_int_equal(sampler_init(&sm, &r, 10, "node1"), 0);
	set_counter(s, 0, "get_hits", 77);
	set_counter(s, 1, "get_hits", 23);
	set_counter(s, 0, "op_get", 120);
	set_counter(s, 0, "drop_ip_checksum", 4);
	set_counter(s, 1, "ignored_eth_multicast", 9);
	set_counter(s, 0, "migrate_keys", 30);
	set_counter(s, 1, "migrate_keys", 12);
	record(s, 0, 3000, 10);
	s->part[2].items = 9;
	s->moves_done = 2;
	sampler_add(&sm, s);
	buf_init(&b);
	cp_prom_render(&b, s, &sm, "node\"1");	/* a quote in a label value is escaped */
	text = buf_take(&b, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "wirecache_up 1\n"));
	assert_non_null(strstr(text, "node=\"node\\\"1\""));
	assert_non_null(strstr(text, "wirecache_get_hits_total 100\n"));
	assert_non_null(strstr(text, "wirecache_commands_total{command=\"get\"} 120\n"));
	assert_non_null(strstr(text, "wirecache_drops_total{reason=\"ip_checksum\"} 4\n"));
	assert_non_null(strstr(text, "wirecache_ignored_frames_total{reason=\"eth_multicast\"} 9\n"));
	assert_null(strstr(text, "wirecache_drops_total{reason=\"eth_multicast\"}"));
	assert_null(strstr(text, "wirecache_ignored_eth_multicast_total"));
	assert_non_null(strstr(text, "wirecache_partition_items{partition=\"2\",lcore=\"1\"} 9\n"));
	assert_non_null(strstr(text, "wirecache_request_duration_seconds_count 10\n"));
	assert_non_null(strstr(text, "wirecache_request_duration_seconds{quantile=\"0.99\"}"));
	assert_non_null(strstr(text, "wirecache_slot_moves_total{result=\"done\"} 2\n"));
	assert_non_null(strstr(text, "wirecache_connections 0\n"));
	assert_non_null(strstr(text, "# TYPE wirecache_migrate_keys_total counter\n"));
	assert_non_null(strstr(text, "wirecache_migrate_keys_total 42\n"));
	assert_non_null(strstr(text, "wirecache_migrate_errors_total 0\n"));
	assert_non_null(strstr(text, "wirecache_alert_firing{alert=\"memory\"} 0\n"));
	assert_int_equal((int)check_prom(text, "wirecache_items", &nf), 9);
	assert_true(nf > 50);
	free(text);
	/* detached: only "down" and the alert gauges */
	buf_init(&b);
	cp_prom_render(&b, NULL, &sm, "node1");
	text = buf_take(&b, NULL);
	assert_non_null(strstr(text, "wirecache_up 0\n"));
	assert_null(strstr(text, "wirecache_items"));
	check_prom(text, NULL, &nf);
	assert_int_equal(nf, 2);
	free(text);
	sampler_free(&sm);
	free(s);
}

/* The lcores' busy figures: the ratio over the last interval, the raw totals since start. */
static void prometheus_busy(void **state)
{
	struct cp_alert_rules r;
	struct sampler sm;
	struct wc_cp_shm *a = snapshot(5000), *b = snapshot(6000);
	struct buf buf;
	char *text;
	unsigned nf;

	(void)state;
	cp_alert_rules_default(&r);
	assert_int_equal(sampler_init(&sm, &r, 10, "node1"), 0);
	a->tsc_hz = b->tsc_hz = 2000000000;
	a->lc[0].busy_tsc = 500000000;
	a->lc[0].total_tsc = 2000000000;
	a->lc[1].total_tsc = 2000000000;
	b->lc[0].busy_tsc = 500000000ull + 1800000000ull;	/* 90% of the next second */
	b->lc[0].total_tsc = 4000000000;
	b->lc[1].busy_tsc = 0;				/* idle */
	b->lc[1].total_tsc = 4000000000;
	sampler_add(&sm, a);
	buf_init(&buf);
	cp_prom_render(&buf, a, &sm, "node1");	/* one sample: no ratio yet */
	text = buf_take(&buf, NULL);
	assert_null(strstr(text, "wirecache_lcore_busy_ratio"));
	assert_non_null(strstr(text, "wirecache_lcore_busy_seconds_total{lcore=\"0\"} 0.250000000\n"));
	check_prom(text, NULL, &nf);
	free(text);
	sampler_add(&sm, b);
	buf_init(&buf);
	cp_prom_render(&buf, b, &sm, "node1");
	text = buf_take(&buf, NULL);
	assert_non_null(strstr(text, "# TYPE wirecache_lcore_busy_ratio gauge\n"));
	assert_non_null(strstr(text, "wirecache_lcore_busy_ratio{lcore=\"0\"} 0.900000\n"));
	assert_non_null(strstr(text, "wirecache_lcore_busy_ratio{lcore=\"1\"} 0.000000\n"));
	assert_non_null(strstr(text, "wirecache_lcore_busy_seconds_total{lcore=\"0\"} 1.150000000\n"));
	assert_non_null(strstr(text, "wirecache_lcore_busy_cycles_total{lcore=\"0\"} 2300000000\n"));
	assert_non_null(strstr(text, "wirecache_lcore_cycles_total{lcore=\"1\"} 4000000000\n"));
	check_prom(text, NULL, &nf);
	free(text);
	/* a restarted dataplane (counters went back): unknown, never negative */
	assert_true(cp_busy_ratio(&a->lc[0], &b->lc[0]) < 0);
	assert_true(cp_busy_ratio(&b->lc[0], &b->lc[0]) < 0);
	sampler_free(&sm);
	free(a);
	free(b);
}

/* ---- JSON ---- */

static void json_documents(void **state)
{
	struct cp_alert_rules r;
	struct sampler sm;
	struct wc_cp_shm *s = snapshot(5000);
	struct cp_api_ctx c = { "node1", "/run/x.sock", "", 1, 0 };
	json_t *o, *x;

	(void)state;
	cp_alert_rules_default(&r);
	assert_int_equal(sampler_init(&sm, &r, 10, "node1"), 0);
	set_counter(s, 1, "get_hits", 5);
	s->move.id = 3;
	s->move.state = WC_MOVE_DONE;
	s->move.keys_copied = 11;
	snprintf(s->move.error, sizeof(s->move.error), "fine");
	sampler_add(&sm, s);

	o = cp_api_stats(&c, s, &sm);
	assert_non_null(o);
	assert_true(json_is_true(json_object_get(o, "attached")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "stats"),
							    "get_hits")), 5);
	assert_int_equal(json_array_size(json_object_get(o, "lcores")), 2);
	assert_int_equal(json_array_size(json_object_get(o, "partitions")), 4);
	assert_int_equal(json_array_size(json_object_get(json_object_get(o, "alerts"), "alerts")),
			 CP_ALERT_COUNT);
	assert_non_null(json_object_get(json_object_get(o, "latency_us"), "window"));
	json_decref(o);

	o = cp_api_stats(&(struct cp_api_ctx){ "node1", "/x", "gone", 0, 0 }, NULL, &sm);
	assert_false(json_is_true(json_object_get(o, "attached")));
	assert_string_equal(json_string_value(json_object_get(o, "error")), "gone");
	json_decref(o);

	o = cp_api_slots(s);
	assert_int_equal(json_array_size(json_object_get(o, "ranges")), 4);
	x = json_object_get(o, "last_move");
	assert_string_equal(json_string_value(json_object_get(x, "state")), "done");
	assert_int_equal(json_integer_value(json_object_get(x, "keys_copied")), 11);
	assert_string_equal(json_string_value(json_object_get(x, "error")), "fine");
	json_decref(o);

	o = cp_api_status(&c, s, &sm);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "dataplane"),
							    "pid")), 1234);
	json_decref(o);
	o = cp_api_history(&sm, 100);
	assert_int_equal(json_array_size(json_object_get(o, "t")), 0);
	json_decref(o);
	o = cp_api_error("nope");
	assert_string_equal(json_string_value(json_object_get(o, "error")), "nope");
	json_decref(o);
	sampler_free(&sm);
	free(s);
}

/* ---- network bytes: rates from raw counters, counters with the reset baseline ---- */

static double rate_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(json_object_get(o, "rates"), key);

	assert_true(json_is_number(v));
	return json_number_value(v);
}

static void network_byte_rates(void **state)
{
	struct cp_alert_rules r;
	struct sampler sm;
	struct wc_cp_shm *a = snapshot(20000), *b = malloc(sizeof(*b)), *c = malloc(sizeof(*c));
	struct cp_api_ctx ctx = { "node1", "/run/x.sock", "", 1, 0 };
	const struct cp_point *p;
	struct buf pb;
	json_t *o, *h, *st;
	char *text;
	unsigned nf;

	(void)state;
	assert_non_null(b);
	assert_non_null(c);
	cp_alert_rules_default(&r);
	assert_int_equal(sampler_init(&sm, &r, 10, "node1"), 0);
	set_counter(a, 0, "rx_bytes", 1000);
	set_counter(a, 1, "rx_bytes", 500);
	set_counter(a, 0, "tx_bytes", 2000);
	set_counter(a, 0, "rx_packets", 10);
	sampler_add(&sm, a);

	/* 2.5 s later, both lcores moved bytes; a "stats reset" came in between */
	memcpy(b, a, sizeof(*b));
	b->published_unix_ms = 22500;
	set_counter(b, 0, "rx_bytes", 1000 + 600000);
	set_counter(b, 1, "rx_bytes", 500 + 150000);
	set_counter(b, 0, "tx_bytes", 2000 + 2000000);
	set_counter(b, 1, "tx_bytes", 500000);
	set_counter(b, 0, "rx_packets", 10 + 1000);
	b->base[cp_counter_index(b, "rx_bytes")] = 1500;
	b->base[cp_counter_index(b, "tx_bytes")] = 2000;
	sampler_add(&sm, b);
	p = sampler_point(&sm, 0);
	assert_non_null(p);
	/* 750,000 bytes in, 2,500,000 out over 2.5 s; the reset does not make them negative */
	assert_true(p->rx_bytes_s > 299999.0 && p->rx_bytes_s < 300001.0);
	assert_true(p->tx_bytes_s > 999999.0 && p->tx_bytes_s < 1000001.0);
	assert_true(p->rx_pps > 399.0 && p->rx_pps < 401.0);

	/* /api/stats: the rates, and the counters less the baseline under both names */
	o = cp_api_stats(&ctx, b, &sm);
	assert_non_null(o);
	assert_true(rate_of(o, "rx_bytes_per_s") > 299999.0 && rate_of(o, "rx_bytes_per_s") < 300001.0);
	assert_true(rate_of(o, "tx_bytes_per_s") > 999999.0 &&
		    rate_of(o, "tx_bytes_per_s") < 1000001.0);
	st = json_object_get(o, "stats");
	assert_int_equal(json_integer_value(json_object_get(st, "rx_bytes")), 750000);
	assert_int_equal(json_integer_value(json_object_get(st, "bytes_read")), 750000);
	assert_int_equal(json_integer_value(json_object_get(st, "tx_bytes")), 2500000);
	assert_int_equal(json_integer_value(json_object_get(st, "bytes_written")), 2500000);
	json_decref(o);

	/* /api/history: one point per interval, the same rates */
	h = cp_api_history(&sm, 100);
	assert_int_equal(json_array_size(json_object_get(h, "rx_bytes_per_s")), 1);
	assert_int_equal(json_array_size(json_object_get(h, "tx_bytes_per_s")), 1);
	assert_true(json_real_value(json_array_get(json_object_get(h, "rx_bytes_per_s"), 0)) ==
		    p->rx_bytes_s);
	assert_true(json_real_value(json_array_get(json_object_get(h, "tx_bytes_per_s"), 0)) ==
		    p->tx_bytes_s);
	json_decref(h);

	/* /metrics: counters (reset like memcached's), with a HELP that says what they count */
	buf_init(&pb);
	cp_prom_render(&pb, b, &sm, "node1");
	text = buf_take(&pb, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "# TYPE wirecache_rx_bytes_total counter\n"));
	assert_non_null(strstr(text, "# TYPE wirecache_tx_bytes_total counter\n"));
	assert_non_null(strstr(text, "\nwirecache_tx_bytes_total 2500000\n"));
	assert_non_null(strstr(text, "# HELP wirecache_rx_bytes_total Bytes received"));
	assert_int_equal((int)check_prom(text, "wirecache_rx_bytes_total", &nf), 750000);
	free(text);

	/* counters that went back (a dataplane restarted under the same sampler): no rate,
	 * never 2^64 bytes a second */
	memcpy(c, b, sizeof(*c));
	c->published_unix_ms = 23500;
	set_counter(c, 0, "rx_bytes", 10);
	set_counter(c, 1, "rx_bytes", 0);
	sampler_add(&sm, c);
	p = sampler_point(&sm, 0);
	assert_true(p->rx_bytes_s == 0);
	assert_true(p->tx_bytes_s == 0);	/* nothing sent in that second */
	/* the same publication twice: no interval, no rate */
	sampler_add(&sm, c);
	p = sampler_point(&sm, 0);
	assert_true(p->rx_bytes_s == 0 && p->ops_s == 0);
	sampler_free(&sm);
	free(a);
	free(b);
	free(c);
}

static void urls(void **state)
{
	struct http_target t;
	char err[160];
	static const char *bad[] = { "127.0.0.1:8180", "http://127.0.0.1", "http://:80",
				     "http://127.0.0.1:0", "http://127.0.0.1:65536",
				     "http://localhost:80", "http://127.0.0.1:80/api",
				     "https://127.0.0.1:80", "http://127.0.0.1:8a" };

	(void)state;
	assert_int_equal(httpc_parse_url("http://127.0.0.1:8180", &t, err, sizeof(err)), 0);
	assert_string_equal(t.host, "127.0.0.1");
	assert_int_equal(t.port, 8180);
	assert_int_equal(httpc_parse_url("http://10.1.2.3:1/", &t, err, sizeof(err)), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (httpc_parse_url(bad[i], &t, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", bad[i]);
}

static void text_buffer(void **state)
{
	struct buf b;
	char *p;
	size_t len;

	(void)state;
	buf_init(&b);
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "%d,", i);
	buf_put(&b, "end", 3);
	p = buf_take(&b, &len);
	assert_int_equal(len, strlen(p));
	assert_memory_equal(p, "0,1,2,", 6);
	assert_string_equal(p + len - 3, "end");
	free(p);
	buf_init(&b);
	p = buf_take(&b, &len);	/* empty, not NULL */
	assert_non_null(p);
	assert_int_equal(len, 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slot_ranges),
		cmocka_unit_test(slot_runs),
		cmocka_unit_test(alert_rules),
		cmocka_unit_test(memcached_formulas),
		cmocka_unit_test(sampler_rates_and_window),
		cmocka_unit_test(prometheus_text),
		cmocka_unit_test(prometheus_busy),
		cmocka_unit_test(json_documents),
		cmocka_unit_test(network_byte_rates),
		cmocka_unit_test(urls),
		cmocka_unit_test(text_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
