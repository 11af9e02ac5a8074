/*
 * test_cp_etcd.c - the etcd client (control/etcd.c) against a real etcd
 * (Debian's etcd-server) that the test starts on loopback ports it picked
 * free, with a data directory of its own that it removes at the end: range,
 * put, delete, transactions on create and mod revisions, leases (keepalive,
 * expiry takes the key), the watch stream with its resync, failing over to
 * a second endpoint, and the error when no endpoint answers.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cp_etcd_harness.h"
#include "etcd.h"

static void kv(void **state)
{
	struct etcd e;
	struct etcd_range r;
	int64_t deleted = 0;

	(void)state;
	assert_int_equal(etcd_init(&e, url, 2000), 0);
	assert_int_equal(etcd_put(&e, "/t/kv/a", "one", 3, 0), 0);
	assert_int_equal(etcd_put(&e, "/t/kv/b", "two\0x", 5, 0), 0);
	assert_int_equal(etcd_put(&e, "/t/kw", "other", 5, 0), 0);
	assert_int_equal(etcd_get(&e, "/t/kv/a", false, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.kvs[0].key, "/t/kv/a");
	assert_string_equal(r.kvs[0].value, "one");
	assert_true(r.kvs[0].mod_rev > 0 && r.kvs[0].create_rev == r.kvs[0].mod_rev);
	assert_true(r.revision >= r.kvs[0].mod_rev);
	etcd_range_free(&r);
	assert_int_equal(etcd_get(&e, "/t/kv/", true, &r), 0);
	assert_int_equal(r.n, 2);	/* not /t/kw */
	assert_string_equal(r.kvs[1].key, "/t/kv/b");
	assert_int_equal(r.kvs[1].vlen, 5);
	assert_memory_equal(r.kvs[1].value, "two\0x", 5);
	etcd_range_free(&r);
	assert_int_equal(etcd_get(&e, "/t/none", false, &r), 0);
	assert_int_equal(r.n, 0);
	etcd_range_free(&r);
	assert_int_equal(etcd_delete(&e, "/t/kv/", true, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(etcd_get(&e, "/t/kv/", true, &r), 0);
	assert_int_equal(r.n, 0);
	etcd_range_free(&r);
	etcd_free(&e);
}

static void txn(void **state)
{
	struct etcd e;
	struct etcd_range r;
	bool ok = false;
	int64_t rev;

	(void)state;
	assert_int_equal(etcd_init(&e, url, 2000), 0);
	/* create only if absent: the first wins, the second does not */
	{
		struct etcd_cmp c = { "/t/map", ETCD_CMP_CREATE, 0 };
		struct etcd_op op = { "/t/map", "{\"epoch\":1}", 11, 0 };

		assert_int_equal(etcd_txn(&e, &c, 1, &op, 1, &ok), 0);
		assert_true(ok);
		op.value = "{\"epoch\":99}";
		op.vlen = 12;
		assert_int_equal(etcd_txn(&e, &c, 1, &op, 1, &ok), 0);
		assert_false(ok);
	}
	assert_int_equal(etcd_get(&e, "/t/map", false, &r), 0);
	assert_string_equal(r.kvs[0].value, "{\"epoch\":1}");
	rev = r.kvs[0].mod_rev;
	etcd_range_free(&r);
	/* compare the mod revision: one of two writers from the same revision wins */
	{
		struct etcd_cmp c = { "/t/map", ETCD_CMP_MOD, rev };
		struct etcd_op ops[2] = { { "/t/map", "{\"epoch\":2}", 11, 0 },
					  { "/t/extra", NULL, 0, 0 } };

		assert_int_equal(etcd_put(&e, "/t/extra", "x", 1, 0), 0);
		/* the put above did not touch /t/map: still rev */
		assert_int_equal(etcd_txn(&e, &c, 1, ops, 2, &ok), 0);
		assert_true(ok);
		ops[0].value = "{\"epoch\":3}";
		assert_int_equal(etcd_txn(&e, &c, 1, ops, 1, &ok), 0);
		assert_false(ok);
	}
	assert_int_equal(etcd_get(&e, "/t/map", false, &r), 0);
	assert_string_equal(r.kvs[0].value, "{\"epoch\":2}");
	etcd_range_free(&r);
	assert_int_equal(etcd_get(&e, "/t/extra", false, &r), 0);
	assert_int_equal(r.n, 0);	/* deleted by the transaction */
	etcd_range_free(&r);
	etcd_free(&e);
}

static void lease(void **state)
{
	struct etcd e;
	struct etcd_range r;
	int64_t id = 0, ttl = 0, left = 0;

	(void)state;
	assert_int_equal(etcd_init(&e, url, 2000), 0);
	assert_int_equal(etcd_lease_grant(&e, 2, &id, &ttl), 0);
	assert_true(id != 0);
	assert_true(ttl >= 2);
	assert_int_equal(etcd_put(&e, "/t/live", "me", 2, id), 0);
	/* kept alive for longer than its TTL, the key stays */
	for (int i = 0; i < 6; i++) {
		assert_int_equal(etcd_lease_keepalive(&e, id, &left), 0);
		assert_true(left > 0);
		sleep_ms(500);
	}
	assert_int_equal(etcd_get(&e, "/t/live", false, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.kvs[0].lease, id);
	etcd_range_free(&r);
	/* left alone, it lapses and takes the key */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(etcd_get(&e, "/t/live", false, &r), 0);
		left = (int64_t)r.n;
		etcd_range_free(&r);
		if (!left)
			break;
		sleep_ms(100);
	}
	assert_int_equal(left, 0);
	assert_int_equal(etcd_lease_keepalive(&e, id, &left), 0);
	assert_int_equal(left, 0);	/* the lease is gone */
	etcd_free(&e);
}

struct seen {
	int resyncs, puts, deletes;
	char last_key[64], last_value[64];
};

static void on_event(void *arg, enum etcd_event_type t, const struct etcd_kv *kv)
{
	struct seen *s = arg;

	if (t == ETCD_EV_RESYNC) {
		__atomic_add_fetch(&s->resyncs, 1, __ATOMIC_SEQ_CST);
		return;
	}
	snprintf(s->last_key, sizeof(s->last_key), "%s", kv->key);
	snprintf(s->last_value, sizeof(s->last_value), "%s", kv->value);
	if (t == ETCD_EV_PUT)
		__atomic_add_fetch(&s->puts, 1, __ATOMIC_SEQ_CST);
	else
		__atomic_add_fetch(&s->deletes, 1, __ATOMIC_SEQ_CST);
}

static int wait_count(int *p, int want)
{
	for (int i = 0; i < 100 && __atomic_load_n(p, __ATOMIC_SEQ_CST) < want; i++)
		sleep_ms(50);
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void watch(void **state)
{
	static struct seen s;
	struct etcd e;
	struct etcd_watch *w;
	char urls[160];

	(void)state;
	/* a dead endpoint first: the watch moves on to the live one */
	snprintf(urls, sizeof(urls), "http://127.0.0.1:%u,%s", dead_port, url);
	assert_int_equal(etcd_init(&e, url, 2000), 0);
	w = etcd_watch_start(urls, "/t/w/", on_event, &s);
	assert_non_null(w);
	assert_int_equal(wait_count(&s.resyncs, 1), 1);
	assert_true(etcd_watch_connected(w));
	assert_int_equal(etcd_put(&e, "/t/w/a", "v1", 2, 0), 0);
	assert_int_equal(etcd_put(&e, "/t/other", "no", 2, 0), 0);
	assert_int_equal(wait_count(&s.puts, 1), 1);
	assert_string_equal(s.last_key, "/t/w/a");
	assert_string_equal(s.last_value, "v1");
	assert_int_equal(etcd_delete(&e, "/t/w/a", false, NULL), 0);
	assert_int_equal(wait_count(&s.deletes, 1), 1);
	assert_string_equal(s.last_key, "/t/w/a");
	sleep_ms(200);
	assert_int_equal(s.puts, 1);	/* /t/other was not under the prefix */
	etcd_watch_stop(w);
	etcd_free(&e);
}

static void failover_and_unreachable(void **state)
{
	struct etcd e;
	struct etcd_range r;
	char urls[160];

	(void)state;
	snprintf(urls, sizeof(urls), "http://127.0.0.1:%u,%s", dead_port, url);
	assert_int_equal(etcd_init(&e, urls, 2000), 0);
	assert_int_equal(etcd_put(&e, "/t/f", "x", 1, 0), 0);
	assert_false(e.unreachable);
	assert_int_equal(e.cur, 1);	/* stays with the one that answered */
	assert_int_equal(etcd_get(&e, "/t/f", false, &r), 0);
	assert_int_equal(r.n, 1);
	etcd_range_free(&r);
	etcd_free(&e);
	snprintf(urls, sizeof(urls), "http://127.0.0.1:%u", dead_port);
	assert_int_equal(etcd_init(&e, urls, 500), 0);
	assert_int_equal(etcd_get(&e, "/t/f", false, &r), -1);
	assert_true(e.unreachable);
	assert_non_null(strstr(e.err, "etcd unreachable at http://127.0.0.1:"));
	etcd_free(&e);
}

/* A fake endpoint that answers every request 503 "leader changed", as a member
 * does while the etcd cluster elects a new leader. */
struct fake503 {
	int fd;
	unsigned port;
	volatile int answered, stop;
	pthread_t th;
};

static void *fake503_main(void *arg)
{
	static const char body[] = "{\"error\":\"etcdserver: leader changed\",\"code\":14,"
				   "\"message\":\"etcdserver: leader changed\"}";
	struct fake503 *f = arg;

	while (!f->stop) {
		char req[4096], ans[512];
		size_t got = 0;
		char *hdr_end = NULL;
		long clen = 0;
		int c = accept(f->fd, NULL, NULL);

		if (c < 0)
			continue;
		/* the headers, then Content-Length bytes of body */
		while (got < sizeof(req) - 1) {
			ssize_t n = recv(c, req + got, sizeof(req) - 1 - got, 0);

			if (n <= 0)
				break;
			got += (size_t)n;
			req[got] = 0;
			if (!hdr_end && (hdr_end = strstr(req, "\r\n\r\n"))) {
				char *cl = strcasestr(req, "Content-Length:");

				clen = cl ? strtol(cl + 15, NULL, 10) : 0;
			}
			if (hdr_end && (long)(got - (size_t)(hdr_end + 4 - req)) >= clen)
				break;
		}
		snprintf(ans, sizeof(ans), "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
			 "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 sizeof(body) - 1, body);
		if (send(c, ans, strlen(ans), MSG_NOSIGNAL) > 0)
			f->answered++;
		close(c);
	}
	return NULL;
}

static void fake503_start(struct fake503 *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };

	memset(f, 0, sizeof(*f));
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->fd, 16), 0);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	/* accept() wakes up every 100 ms to see stop */
	setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(pthread_create(&f->th, NULL, fake503_main, f), 0);
}

static void fake503_stop(struct fake503 *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->fd);
}

/* 503 (leader changed) is tried on the next endpoint; an endpoint answering 503
 * until the deadline is asked again and again, and the call then fails with
 * etcd's word, not as unreachable. */
static void unavailable_is_retried(void **state)
{
	struct fake503 f;
	struct etcd e;
	struct etcd_range r;
	char urls[160];

	(void)state;
	fake503_start(&f);
	snprintf(urls, sizeof(urls), "http://127.0.0.1:%u,%s", f.port, url);
	assert_int_equal(etcd_init(&e, urls, 2000), 0);
	assert_int_equal(etcd_put(&e, "/t/u", "y", 1, 0), 0);
	assert_int_equal(f.answered, 1);
	assert_int_equal(e.cur, 1);	/* stays with the one that answered */
	assert_int_equal(etcd_get(&e, "/t/u", false, &r), 0);
	assert_int_equal(r.n, 1);
	etcd_range_free(&r);
	etcd_free(&e);
	snprintf(urls, sizeof(urls), "http://127.0.0.1:%u", f.port);
	assert_int_equal(etcd_init(&e, urls, 400), 0);
	assert_int_equal(etcd_get(&e, "/t/u", false, &r), -1);
	assert_false(e.unreachable);
	assert_non_null(strstr(e.err, "HTTP 503: etcdserver: leader changed"));
	assert_true(f.answered >= 3);	/* asked again, 50 ms apart, within 400 ms */
	etcd_free(&e);
	fake503_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kv),
		cmocka_unit_test(txn),
		cmocka_unit_test(lease),
		cmocka_unit_test(watch),
		cmocka_unit_test(failover_and_unreachable),
		cmocka_unit_test(unavailable_is_retried),
	};

	return cmocka_run_group_tests(tests, start_etcd, stop_etcd);
}
