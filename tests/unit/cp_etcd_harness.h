/*
 * cp_etcd_harness.h - a real etcd (Debian's etcd-server) for the control
 * plane's unit tests: started on free loopback ports with a data directory
 * of its own (start_etcd, a cmocka group setup) and stopped, its directory
 * removed, by stop_etcd. url is its client URL; dead_port a loopback port
 * nothing listens on.
 */
#ifndef WC_TESTS_CP_ETCD_HARNESS_H
#define WC_TESTS_CP_ETCD_HARNESS_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"

static pid_t etcd_pid;
static char datadir[64];
static char url[64];
static unsigned dead_port;

static unsigned free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(s);
	return port;
}

static void sleep_ms(unsigned ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000 }, NULL);
}

static unsigned etcd_cport, etcd_pport;

/* Start etcd on the ports picked (again after etcd_kill) and wait until it answers. */
static int etcd_spawn(void)
{
	char client[64], peer[64], initial[96];
	struct etcd e;

	snprintf(client, sizeof(client), "http://127.0.0.1:%u", etcd_cport);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%u", etcd_pport);
	snprintf(initial, sizeof(initial), "default=%s", peer);
	snprintf(url, sizeof(url), "%s", client);
	etcd_pid = fork();
	if (etcd_pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execlp("etcd", "etcd", "--data-dir", datadir, "--listen-client-urls", client,
		       "--advertise-client-urls", client, "--listen-peer-urls", peer,
		       "--initial-advertise-peer-urls", peer, "--initial-cluster", initial,
		       (char *)NULL);
		_exit(127);
	}
	if (etcd_pid < 0)
		return -1;
	etcd_init(&e, url, 500);
	for (int i = 0; i < 200; i++) {
		struct etcd_range r;

		if (etcd_get(&e, "/x", false, &r) == 0) {
			etcd_range_free(&r);
			etcd_free(&e);
			return 0;
		}
		sleep_ms(50);
	}
	etcd_free(&e);
	fprintf(stderr, "etcd did not come up at %s\n", url);
	return -1;
}

static void etcd_kill(void)
{
	if (etcd_pid > 0) {
		kill(etcd_pid, SIGTERM);
		waitpid(etcd_pid, NULL, 0);
	}
	etcd_pid = 0;
}

static int start_etcd(void **state)
{
	(void)state;
	if (system("command -v etcd >/dev/null") != 0) {
		fprintf(stderr, "etcd is not installed (etcd-server): these tests cannot run\n");
		return -1;
	}
	snprintf(datadir, sizeof(datadir), "/tmp/wc-test-etcd-XXXXXX");
	if (!mkdtemp(datadir))
		return -1;
	etcd_cport = free_port();
	etcd_pport = free_port();
	dead_port = free_port();
	return etcd_spawn();
}

static int stop_etcd(void **state)
{
	char cmd[128];

	(void)state;
	etcd_kill();
	if (datadir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", datadir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", datadir);
	}
	return 0;
}

#endif
