/*
 * failalloc.h - allocation-failure injection for the unit tests (SQLite's
 * faultsim, test/exprfault.test): "for k = 1, 2, ...: fail the k-th
 * allocation of this operation and check that it fails cleanly".
 *
 * Include it in ONE test file of a binary (it defines malloc, calloc,
 * realloc, free and the aligned allocators of the whole program, by ELF
 * interposition over glibc's, which glibc supports: every allocation,
 * also inside libc, zstd, jansson and LMDB, comes through here).  Each
 * forwards to glibc's __libc_* function unless an armed countdown says
 * this allocation fails, in which case it returns NULL with errno ENOMEM.
 *
 *     failalloc_arm(k, 0)    the k-th allocation from now fails (k >= 1),
 *                            the others succeed;
 *     failalloc_arm(k, 1)    the k-th and every later one fail;
 *     failalloc_disarm()     stop; returns 1 if a failure was injected
 *                            since the arm, so a loop over k ends at the
 *                            first k that the operation never reached;
 *     failalloc_live()       blocks allocated and not yet freed, counted
 *                            over the whole program: equal before and
 *                            after an operation (and its cleanup) means
 *                            the operation leaked nothing, on every path.
 *
 * Under AddressSanitizer (the tests-asan build) the sanitizer owns malloc
 * and cannot be interposed: FAILALLOC_AVAILABLE is 0, the functions do
 * nothing, and a test prints FAILALLOC_SKIP_REASON and skips.  The plain
 * build runs the tests.
 *
 * Thread-safety: the counters are atomics; an armed countdown counts the
 * allocations of every thread, so arm it only around single-threaded
 * work.
 */
#ifndef TM_FAILALLOC_H
#define TM_FAILALLOC_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)

#define FAILALLOC_AVAILABLE 0
#define FAILALLOC_SKIP_REASON                                                 \
    "AddressSanitizer owns malloc and cannot be interposed; the "            \
    "allocation-failure tests run in the plain build"

static inline void failalloc_arm(long k, int persistent)
{
    (void)k;
    (void)persistent;
}
static inline int failalloc_disarm(void) { return 0; }
static inline long failalloc_live(void) { return 0; }

#else

#define FAILALLOC_AVAILABLE 1
#define FAILALLOC_SKIP_REASON ""

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static _Atomic long failalloc__countdown; /* 0: disarmed */
static _Atomic int failalloc__persistent;
static _Atomic int failalloc__fired;
static _Atomic long failalloc__live;

static inline void failalloc_arm(long k, int persistent)
{
    atomic_store(&failalloc__fired, 0);
    atomic_store(&failalloc__persistent, persistent);
    atomic_store(&failalloc__countdown, k);
}

static inline int failalloc_disarm(void)
{
    atomic_store(&failalloc__countdown, 0);
    return atomic_load(&failalloc__fired);
}

static inline long failalloc_live(void)
{
    return atomic_load(&failalloc__live);
}

/* 1 if this allocation is to fail. */
static int failalloc__fail_now(void)
{
    long c = atomic_load_explicit(&failalloc__countdown,
                                  memory_order_relaxed);

    if (c <= 0)
        return 0;
    if (c == 1) {
        if (!atomic_load(&failalloc__persistent))
            atomic_store(&failalloc__countdown, 0);
        atomic_store(&failalloc__fired, 1);
        errno = ENOMEM;
        return 1;
    }
    atomic_fetch_sub(&failalloc__countdown, 1);
    return 0;
}

void *malloc(size_t n)
{
    void *p;

    if (failalloc__fail_now())
        return NULL;
    p = __libc_malloc(n);
    if (p != NULL)
        atomic_fetch_add(&failalloc__live, 1);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p;

    if (failalloc__fail_now())
        return NULL;
    p = __libc_calloc(n, size);
    if (p != NULL)
        atomic_fetch_add(&failalloc__live, 1);
    return p;
}

void *realloc(void *old, size_t n)
{
    void *p;

    if (old != NULL && n == 0) { /* glibc: frees, returns NULL */
        free(old);
        return NULL;
    }
    if (failalloc__fail_now())
        return NULL;
    p = __libc_realloc(old, n);
    if (p != NULL && old == NULL)
        atomic_fetch_add(&failalloc__live, 1);
    return p;
}

void free(void *p)
{
    if (p == NULL)
        return;
    atomic_fetch_sub(&failalloc__live, 1);
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    void *p;

    if (failalloc__fail_now())
        return NULL;
    p = __libc_memalign(align, n);
    if (p != NULL)
        atomic_fetch_add(&failalloc__live, 1);
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p;

    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    p = memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

#endif /* __SANITIZE_ADDRESS__ */

#endif
