/*
 * test_mem_dpdk.c - the store on DPDK heap memory with EAL up (no hugepages
 * needed: EAL runs with --no-huge here), and the mailbox rings in it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <rte_malloc.h>

#include "store_helpers.h"
#include "core/mem_dpdk.h"
#include "store/mailbox.h"

static int eal_up(void **state)
{
	char *argv[] = { "test_mem_dpdk", "--no-huge", "-m", "128", "--no-pci",
			 "--no-telemetry", "--log-level=lib.eal:error", "--file-prefix=wc_test_mem", NULL };

	(void)state;
	if (rte_eal_init(8, argv) < 0)
		return -1;
	rcu_register_thread();
	return 0;
}

static int eal_down(void **state)
{
	(void)state;
	rcu_unregister_thread();
	rte_eal_cleanup();
	return 0;
}

static void partition_on_dpdk_heap(void **state)
{
	struct wc_mem_ops ops;
	int socket;
	struct wc_part_cfg cfg;
	enum wc_status err;
	struct wc_part *p;
	struct wc_ctx ctx;
	char k[32];

	(void)state;
	wc_mem_dpdk_init(&ops, &socket, SOCKET_ID_ANY);
	wc_part_cfg_default(&cfg);
	cfg.mem_bytes = 16u << 20;
	p = wc_part_create(&cfg, &ops, &err);
	assert_non_null(p);
	test_ctx(&ctx, 100);
	for (unsigned i = 0; i < 300000; i++) {
		snprintf(k, sizeof(k), "dpdk%u", i);
		assert_int_equal(set_str(p, &ctx, k, "value-on-the-dpdk-heap"), WC_OK);
	}
	assert_value(p, &ctx, "dpdk299999", "value-on-the-dpdk-heap");
	wc_part_destroy(p);
}

static void mailbox_on_dpdk_heap(void **state)
{
	struct wc_mem_ops ops;
	int socket;
	struct wc_mbox *mb;

	(void)state;
	wc_mem_dpdk_init(&ops, &socket, SOCKET_ID_ANY);
	mb = wc_mbox_create(4, 1024, &ops);
	assert_non_null(mb);
	wc_mbox_destroy(mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(partition_on_dpdk_heap),
		cmocka_unit_test(mailbox_on_dpdk_heap),
	};

	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
