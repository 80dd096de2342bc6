/*
 * What the C and C++ tests share: the pass/fail tally and the checks that feed it. Each test
 * program includes it once and ends by printing "NAME: N passed, M failed".
 */
#ifndef EMZ_TESTS_CHECK_H
#define EMZ_TESTS_CHECK_H

#include "emyzelium.h"

#include <stdio.h>

static int passed = 0, failed = 0;

/* A failed check names the condition and the library's last error, and the test goes on. */
#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            passed++;                                                                                                  \
        } else {                                                                                                       \
            failed++;                                                                                                  \
            fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond, emz_last_error());         \
        }                                                                                                              \
    } while (0)

#define CHECK_RC(expr, want)                                                                                           \
    do {                                                                                                               \
        int rc_ = (int)(expr);                                                                                         \
        if (rc_ == (int)(want)) {                                                                                      \
            passed++;                                                                                                  \
        } else {                                                                                                       \
            failed++;                                                                                                  \
            fprintf(stderr, "FAIL %s:%d: %s = %d (%s), want %d (%s); last error: %s\n", __FILE__, __LINE__, #expr,     \
                    rc_, emz_result_str(rc_), (int)(want), emz_result_str((int)(want)), emz_last_error());             \
        }                                                                                                              \
    } while (0)

static inline double now_s(void) {
    return (double)emz_now_us() / 1e6;
}

#endif
