/*
 * compiler.h - small portability helpers shared by every wirecache program:
 * branch hints, cache-line constants and compile-time checks.
 */
#ifndef WIRECACHE_COMPILER_H
#define WIRECACHE_COMPILER_H

#include <assert.h>

#define WC_CACHE_LINE 64

#define wc_likely(x)   __builtin_expect(!!(x), 1)
#define wc_unlikely(x) __builtin_expect(!!(x), 0)

#define WC_ALIGNED(n)  __attribute__((aligned(n)))
#define WC_UNUSED      __attribute__((unused))

#define WC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define wc_prefetch(p)  __builtin_prefetch((p), 0, 3)
#define wc_prefetchw(p) __builtin_prefetch((p), 1, 3)

/* Relaxed and ordered accessors for fields shared between lcores. */
#define WC_LOAD(p)            __atomic_load_n((p), __ATOMIC_RELAXED)
#define WC_LOAD_ACQ(p)        __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define WC_STORE(p, v)        __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define WC_STORE_REL(p, v)    __atomic_store_n((p), (v), __ATOMIC_RELEASE)

#endif
