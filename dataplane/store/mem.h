/*
 * mem.h - where the store's memory comes from.
 *
 * The store asks a backend for big zeroed regions (index and item logs). In
 * the dataplane the backend hands out DPDK memzones on hugepages
 * (dataplane/core/mem_dpdk.c); without EAL (unit tests, benchmarks, fuzzing)
 * wc_mem_mmap maps anonymous memory, trying explicit hugepages first, then
 * transparent hugepages.
 */
#ifndef WC_STORE_MEM_H
#define WC_STORE_MEM_H

#include <stddef.h>

struct wc_mem_ops {
	/* Zeroed memory of at least size bytes, 64-byte aligned, or NULL. */
	void *(*alloc)(void *opaque, const char *name, size_t size);
	void (*free)(void *opaque, void *ptr, size_t size);
	void *opaque;
};

extern const struct wc_mem_ops wc_mem_mmap;

#endif
