/*
 * test_config.c - wirecache-dp's options: defaults, every option's
 * parsing and its errors, sizes and prefixes, the INI file and its
 * precedence under the command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config.h"

static int parse(struct wc_config *c, const char *args)
{
	char buf[1024], *argv[64];
	int argc = 0;

	snprintf(buf, sizeof(buf), "wirecache-dp %s", args);
	for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	wc_config_defaults(c);
	return wc_config_parse(c, argc, argv);
}

static void defaults_and_options(void **state)
{
	struct wc_config c;

	(void)state;
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24"), 0);
	assert_int_equal(c.nports_cfg, 1);
	assert_int_equal(c.port_ip[0].addr, 0xC612000B);
	assert_int_equal(c.port_ip[0].len, 24);
	assert_int_equal(c.memory, 256u << 20);
	assert_int_equal(c.max_value, 1u << 20);
	assert_int_equal(c.udp_port, 11211);
	assert_true(c.udp_enabled);
	assert_false(c.busy_poll);
	assert_int_equal(c.udp_amplification, 10);
	assert_int_equal(parse(&c, "--ip 10.0.0.1/8 --ip 192.168.1.2/30 --memory 2G --max-value 128m "
			       "--item-size-hint 300 --partitions-per-lcore 4 --small-queue-pct 0 "
			       "--udp-port 11311 --udp-allow 198.18.0.0/16 --udp-trusted 198.18.0.1 "
			       "--udp-amplification 3 --busy-poll --stats-interval 5 --rx-desc 512 "
			       "--tx-desc 2048"), 0);
	assert_int_equal(c.nports_cfg, 2);
	assert_int_equal(c.port_ip[1].len, 30);
	assert_int_equal(c.memory, 2ull << 30);
	assert_int_equal(c.max_value, 128u << 20);
	assert_int_equal(c.item_size_hint, 300);
	assert_int_equal(c.parts_per_lcore, 4);
	assert_int_equal(c.small_pct, 0);
	assert_int_equal(c.udp_port, 11311);
	assert_int_equal(c.nallow, 1);
	assert_int_equal(c.ntrusted, 1);
	assert_int_equal(c.udp_trusted[0].len, 32);
	assert_int_equal(c.udp_amplification, 3);
	assert_true(c.busy_poll);
	assert_int_equal(c.stats_interval, 5);
	assert_int_equal(c.rx_desc, 512);
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --no-udp"), 0);
	assert_false(c.udp_enabled);
	assert_int_equal(c.nmc_allow, 0);
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --requirepass pw --mc-allow 10.1.0.0/16 "
			       "--mc-allow 198.18.0.1/32 --aclfile /tmp/users.acl"), 0);
	assert_int_equal(c.nmc_allow, 2);
	assert_int_equal(c.mc_allow[0].addr, 0x0A010000);
	assert_int_equal(c.mc_allow[0].len, 16);
	assert_int_equal(c.mc_allow[1].len, 32);
	assert_string_equal(c.requirepass, "pw");
	assert_string_equal(c.aclfile, "/tmp/users.acl");
	assert_int_equal(c.repl_backlog, 0);
	assert_int_equal(wc_config_repl_backlog_part(&c, 8), 1u << 20);
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --repl-backlog-size 64M"), 0);
	assert_int_equal(wc_config_repl_backlog_part(&c, 16), 4u << 20);
	assert_int_equal(wc_config_repl_backlog_part(&c, 4096), 64u << 10);
	assert_int_not_equal(parse(&c, "--ip 198.18.0.11/24 --repl-backlog-size 1k"), 0);
	/* a replica from the start (redis/replica.h): IP:PORT here ("IP PORT" in one argument) */
	assert_null(c.replicaof_host);
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --replicaof 198.18.0.1:6380 --masterauth pw "
				   "--masteruser repl"), 0);
	assert_string_equal(c.replicaof_host, "198.18.0.1");
	assert_int_equal(c.replicaof_port, 6380);
	assert_string_equal(c.masterauth, "pw");
	assert_string_equal(c.masteruser, "repl");
	assert_int_equal(parse(&c, "--help"), 1);
}

/* The automatic upload buffer: as before up to 64M, then a 32nd, at most 1G. */
static void upload_buffer_sizes(void **state)
{
	struct wc_config c;

	(void)state;
	wc_config_defaults(&c);
	assert_true(c.upload_buffer == WC_UPLOAD_BUFFER_AUTO);
	c.memory = 32ull << 20;
	assert_int_equal(wc_config_upload_buffer(&c), 4u << 20);
	c.memory = 64ull << 20;
	assert_int_equal(wc_config_upload_buffer(&c), 8u << 20);
	c.memory = 256ull << 20;
	assert_int_equal(wc_config_upload_buffer(&c), 8u << 20);
	c.memory = 1ull << 30;
	assert_int_equal(wc_config_upload_buffer(&c), 32u << 20);
	c.memory = 64ull << 30;
	assert_int_equal(wc_config_upload_buffer(&c), 1u << 30);
	c.upload_buffer = 3u << 20;	/* --upload-buffer stays as given */
	assert_int_equal(wc_config_upload_buffer(&c), 3u << 20);
	c.upload_buffer = 0;
	assert_int_equal(wc_config_upload_buffer(&c), 0);
}

static void bad_options(void **state)
{
	struct wc_config c;
	const char *bad[] = {
		"", "--ip 198.18.0.11", "--ip 198.18.0.11/31", "--ip 300.1.1.1/24",
		"--ip 198.18.0.11/24 --memory 1k", "--ip 198.18.0.11/24 --memory lots",
		"--ip 198.18.0.11/24 --max-value 129m", "--ip 198.18.0.11/24 --max-value 0",
		"--ip 198.18.0.11/24 --item-size-hint 8", "--ip 198.18.0.11/24 --partitions-per-lcore 0",
		"--ip 198.18.0.11/24 --small-queue-pct 60", "--ip 198.18.0.11/24 --udp-port 0",
		"--ip 198.18.0.11/24 --udp-port 70000", "--ip 198.18.0.11/24 --udp-allow nope",
		"--ip 198.18.0.11/24 --udp-amplification 0", "--ip 198.18.0.11/24 --rx-desc 10",
		"--ip 198.18.0.11/24 --bogus", "--ip 198.18.0.11/24 stray",
		"--ip 198.18.0.11/24 --memory", "--ip 198.18.0.11/24 --config /nonexistent",
		"--ip 198.18.0.11/24 --stats-interval -1", "--ip 198.18.0.11/24 --mc-allow 10.0.0.1/40",
		"--ip 198.18.0.11/24 --mc-allow",
		"--ip 198.18.0.11/24 --replicaof 198.18.0.1", "--ip 198.18.0.11/24 --replicaof host:6379",
		"--ip 198.18.0.11/24 --replicaof 198.18.0.1:0",
		"--ip 198.18.0.11/24 --replicaof 198.18.0.1:70000",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(&c, bad[i]) != -1)
			fail_msg("accepted: %s", bad[i]);
}

static void sizes_and_prefixes(void **state)
{
	uint64_t v;
	struct wc_prefix p;

	(void)state;
	assert_true(wc_size_parse("4096", &v) && v == 4096);
	assert_true(wc_size_parse("64k", &v) && v == 65536);
	assert_true(wc_size_parse("1MB", &v) && v == 1048576);
	assert_true(wc_size_parse("3G", &v) && v == 3ull << 30);
	assert_false(wc_size_parse("1T", &v));
	assert_false(wc_size_parse("-1", &v));
	assert_false(wc_size_parse(" 1", &v));
	assert_false(wc_size_parse("99999999999999999999G", &v));
	assert_true(wc_prefix_parse("198.18.0.0/15", &p) && p.len == 15);
	assert_true(wc_prefix_match(&p, 0xC6130001));	/* 198.19.0.1 */
	assert_false(wc_prefix_match(&p, 0xC6140001));	/* 198.20.0.1 */
	assert_true(wc_prefix_parse("0.0.0.0/0", &p) && wc_prefix_match(&p, 0x01020304));
	assert_false(wc_prefix_parse("1.2.3.4/33", &p));
	assert_false(wc_prefix_parse("1.2.3.4/", &p));
}

static void cluster_secret_and_forwarding(void **state)
{
	struct wc_config c;

	(void)state;
	unsetenv("WIRECACHE_CLUSTER_SECRET");
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24"), 0);
	assert_null(c.cluster_secret);
	assert_false(wc_config_mc_forward(&c));	/* no secret: no links, no forwarding */
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --cluster-secret sesame-sesame"), 0);
	assert_string_equal(c.cluster_secret, "sesame-sesame");
	assert_true(wc_config_mc_forward(&c));	/* on by default with a secret */
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --cluster-secret sesame-sesame "
				   "--mc-forward off"), 0);
	assert_false(wc_config_mc_forward(&c));
	/* the environment, and the option winning over it */
	setenv("WIRECACHE_CLUSTER_SECRET", "from-the-environment", 1);
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24"), 0);
	assert_string_equal(c.cluster_secret, "from-the-environment");
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --cluster-secret from-the-option"), 0);
	assert_string_equal(c.cluster_secret, "from-the-option");
	setenv("WIRECACHE_CLUSTER_SECRET", "short", 1);
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24"), -1);
	unsetenv("WIRECACHE_CLUSTER_SECRET");
	/* refused: too short, forwarding without a secret, a bad switch */
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --cluster-secret abc"), -1);
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --mc-forward on"), -1);
	assert_int_equal(parse(&c, "--ip 198.18.0.11/24 --cluster-secret sesame-sesame "
				   "--mc-forward maybe"), -1);
}

static void ini_file(void **state)
{
	char path[] = "/tmp/wc_config_XXXXXX", args[128];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct wc_config c;

	(void)state;
	fprintf(f, "; wirecache settings\n[wirecache]\nip = 198.18.0.11/24\nmemory = 512M\n"
		   "udp-trusted = 198.18.0.0/24\nudp-trusted = 10.0.0.0/8\nbusy-poll = yes\n");
	fclose(f);
	snprintf(args, sizeof(args), "--config %s", path);
	assert_int_equal(parse(&c, args), 0);
	assert_int_equal(c.memory, 512u << 20);
	assert_int_equal(c.ntrusted, 2);
	assert_true(c.busy_poll);
	/* the command line wins, and its list replaces the file's */
	snprintf(args, sizeof(args), "--config %s --memory 1G --udp-trusted 1.2.3.4/32", path);
	assert_int_equal(parse(&c, args), 0);
	assert_int_equal(c.memory, 1u << 30);
	assert_int_equal(c.ntrusted, 1);
	assert_int_equal(c.udp_trusted[0].addr, 0x01020304);
	/* errors in the file name the line */
	f = fopen(path, "w");
	fprintf(f, "[wirecache]\nip = 198.18.0.11/24\nmemory = lots\n");
	fclose(f);
	snprintf(args, sizeof(args), "--config %s", path);
	assert_int_equal(parse(&c, args), -1);
	f = fopen(path, "w");
	fprintf(f, "[elsewhere]\nip = 198.18.0.11/24\n");
	fclose(f);
	assert_int_equal(parse(&c, args), -1);
	f = fopen(path, "w");
	fprintf(f, "[wirecache]\nnonsense = 1\n");
	fclose(f);
	assert_int_equal(parse(&c, args), -1);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_and_options),
		cmocka_unit_test(bad_options),
		cmocka_unit_test(upload_buffer_sizes),
		cmocka_unit_test(sizes_and_prefixes),
		cmocka_unit_test(ini_file),
		cmocka_unit_test(cluster_secret_and_forwarding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
