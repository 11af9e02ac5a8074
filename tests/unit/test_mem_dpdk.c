/*
 * test_mem_dpdk.c - the store on DPDK heap memory with EAL up (no hugepages
 * needed: EAL runs with --no-huge here), and the mailbox rings in it; without
 * hugepages the memory comes zeroed and already mapped, so the store's first
 * writes into it take no page faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sys/resource.h>

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

static long minor_faults(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
	return ru.ru_minflt;
}

static void no_huge_memory_is_mapped_at_alloc(void **state)
{
	struct wc_mem_ops ops;
	int socket;
	size_t size = 8u << 20;
	unsigned char *m;
	long before;
	unsigned nonzero = 0;

	(void)state;
	assert_false(rte_eal_has_hugepages());
	wc_mem_dpdk_init(&ops, &socket, SOCKET_ID_ANY);
	m = ops.alloc(ops.opaque, "wc_test_prefault", size);
	assert_non_null(m);
	before = minor_faults();
	for (size_t off = 0; off < size; off += 4096) {
		nonzero += m[off] != 0;
		m[off] = 0xab;		/* a first write to each page */
	}
	/* 2048 pages written: a page fault each unless mapped at alloc (a few allowed: the stack) */
	assert_true(minor_faults() - before < 16);
	assert_int_equal(nonzero, 0);
	ops.free(ops.opaque, m, size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: heap memory nothing has written yet */
		cmocka_unit_test(no_huge_memory_is_mapped_at_alloc),
		cmocka_unit_test(partition_on_dpdk_heap),
		cmocka_unit_test(mailbox_on_dpdk_heap),
	};

	return cmocka_run_group_tests(tests, eal_up, eal_down);
}
