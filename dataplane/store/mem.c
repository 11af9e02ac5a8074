/*
 * mem.c - the mmap memory backend used when EAL is not running (see mem.h).
 */
#include <stdint.h>
#include <sys/mman.h>

#include "mem.h"

#define HUGE_2M (2u << 20)

static void *mmap_alloc(void *opaque, const char *name, size_t size)
{
	void *p;
	size_t huge = (size + HUGE_2M - 1) & ~(size_t)(HUGE_2M - 1);

	(void)opaque;
	(void)name;
	if (size == 0)
		return NULL;
	p = mmap(NULL, huge, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p != MAP_FAILED)
		return p;
	p = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, huge, MADV_HUGEPAGE);
	return p;
}

static void mmap_free(void *opaque, void *ptr, size_t size)
{
	size_t huge = (size + HUGE_2M - 1) & ~(size_t)(HUGE_2M - 1);

	(void)opaque;
	if (ptr)
		munmap(ptr, huge);
}

const struct wc_mem_ops wc_mem_mmap = {
	.alloc = mmap_alloc,
	.free = mmap_free,
	.opaque = NULL,
};
