/*
 * mem_dpdk.c - store memory from DPDK's hugepage heap (see mem_dpdk.h).
 * rte_zmalloc_socket gives zeroed, cache-aligned hugepage memory that
 * secondary processes (the control plane) can map too.
 *
 * Without hugepages (--no-huge) that heap is ordinary anonymous memory the
 * kernel maps on first touch: every store write reaching a new 4 KiB page
 * of the log then took a page fault on the lcore in the middle of a burst
 * (about 2,000 in a 5 s run at half load, frames of 5 us to 250 us; the
 * dataplane's service-time tail, core/passes.h). Each page is touched once
 * here instead, as EAL does for the hugepages it maps.
 */
#include <unistd.h>

#include <rte_eal.h>
#include <rte_malloc.h>

#include "core/mem_dpdk.h"

static void prefault(void *p, size_t size)
{
	volatile char *c = p;
	long pg = sysconf(_SC_PAGESIZE);
	size_t step = pg > 0 ? (size_t)pg : 4096;

	for (size_t off = 0; off < size; off += step)
		c[off] = 0;	/* zeroed memory: the same value, now mapped */
}

static void *dpdk_alloc(void *opaque, const char *name, size_t size)
{
	void *p = rte_zmalloc_socket(name, size, 64, *(int *)opaque);

	if (p && !rte_eal_has_hugepages())
		prefault(p, size);
	return p;
}

static void dpdk_free(void *opaque, void *ptr, size_t size)
{
	(void)opaque;
	(void)size;
	rte_free(ptr);
}

void wc_mem_dpdk_init(struct wc_mem_ops *ops, int *socket_storage, int socket)
{
	*socket_storage = socket;
	ops->alloc = dpdk_alloc;
	ops->free = dpdk_free;
	ops->opaque = socket_storage;
}
