/*
 * test.h - the unit-test harness (in the spirit of libuv's test/task.h).
 *
 * A test file defines `static void test_<name>(void)` functions and a
 * main() that calls RUN(test_<name>) for each, then `return TEST_DONE();`.
 * ASSERT_* macros print both operands with file and line and return from
 * the failing test; they are never compiled out.  TEST_DONE prints
 * "<file>: N passed, N failed" and gives the exit status.
 */
#ifndef TM_TEST_H
#define TM_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test__passed, test__failed, test__cur_failed;

#define RUN(fn)                                                               \
    do {                                                                      \
        test__cur_failed = 0;                                                 \
        fn();                                                                 \
        if (test__cur_failed) {                                               \
            test__failed++;                                                   \
            fprintf(stderr, "FAIL %s\n", #fn);                                \
        } else {                                                              \
            test__passed++;                                                   \
        }                                                                     \
    } while (0)

#define TEST_DONE()                                                           \
    (printf("%s: %d passed, %d failed\n", __FILE__, test__passed,             \
            test__failed),                                                    \
     test__failed ? 1 : 0)

#define TEST_FAIL_(...)                                                       \
    do {                                                                      \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                       \
        fprintf(stderr, __VA_ARGS__);                                         \
        fputc('\n', stderr);                                                  \
        test__cur_failed = 1;                                                 \
        return;                                                               \
    } while (0)

#define ASSERT(c)                                                             \
    do {                                                                      \
        if (!(c))                                                             \
            TEST_FAIL_("assertion failed: %s", #c);                           \
    } while (0)

#define ASSERT_EQ(a, b)                                                       \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ != b_)                                                         \
            TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);             \
    } while (0)

#define ASSERT_NE(a, b)                                                       \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ == b_)                                                         \
            TEST_FAIL_("%s != %s: both %lld", #a, #b, a_);                    \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                   \
    do {                                                                      \
        const char *a_ = (a), *b_ = (b);                                      \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                  \
            TEST_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,                  \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");               \
    } while (0)

#define ASSERT_MEM_EQ(a, b, n)                                                \
    do {                                                                      \
        if (memcmp((a), (b), (n)) != 0)                                       \
            TEST_FAIL_("%s and %s differ in their first %zu bytes", #a, #b,  \
                       (size_t)(n));                                          \
    } while (0)

#endif
