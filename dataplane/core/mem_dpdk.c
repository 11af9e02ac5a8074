/*
 * mem_dpdk.c - store memory from DPDK's hugepage heap (see mem_dpdk.h).
 * rte_zmalloc_socket gives zeroed, cache-aligned hugepage memory that
 * secondary processes (the control plane) can map too.
 */
#include <rte_malloc.h>

#include "core/mem_dpdk.h"

static void *dpdk_alloc(void *opaque, const char *name, size_t size)
{
	return rte_zmalloc_socket(name, size, 64, *(int *)opaque);
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
