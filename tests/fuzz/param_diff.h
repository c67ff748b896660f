/*
 * param_diff.h - the differential check of the message parameterizer,
 * shared by tests/unit/test_fpparam.c and tests/fuzz/fuzz_fpparam.c.
 *
 * A message's template is part of every fingerprint of a message-only
 * event (versions 2 and 3) and of its template hash, so the parameterizer
 * may only get cheaper, never different: fp_parameterize must give what the
 * previous one (param_ref.h) gives, for both versions, whatever order its
 * per-thread memo is asked in, and fail (BL_ETOOBIG) exactly where it
 * failed when the output buffer is small.
 */
#ifndef BL_PARAM_DIFF_H
#define BL_PARAM_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/fingerprint.h"
#include "param_ref.h"

/* The orders of a message's calls: grouping's (2, 3, 3), 3 before 2, each alone. */
static const int pd_orders[][3] = { { 0, 1, 1 }, { 1, 0, 0 }, { 0, 0, -1 }, { 1, -1, -1 } };

/* One call of each; 0 when both agree (rc, and the text when rc is 0). */
static int pd_one(const char *msg, size_t len, int wide, size_t max, const char **why)
{
    struct buf a = BUF_INIT(max), b = BUF_INIT(max);
    int ra, rb, same;

    /* Text already in the buffer stays in front of the answer. */
    (void)buf_add(&a, "x", max > 0 ? 1 : 0);
    (void)buf_add(&b, "x", max > 0 ? 1 : 0);
    ra = pr_fp_parameterize(msg, len, wide, &a);
    rb = fp_parameterize(msg, len, wide, &b);
    same = ra == rb && (ra != 0 || (a.len == b.len && memcmp(a.p, b.p, a.len) == 0));
    if (!same)
        *why = ra != rb ? "return code" : "text";
    if (!same && getenv("PARAM_DIFF_VERBOSE") != NULL)
        fprintf(stderr, "wide %d max %zu: \"%.*s\"\n  was \"%s\" (%d)\n  now \"%s\" (%d)\n", wide,
                max, (int)len, msg, a.p, ra, b.p, rb);
    buf_release(&a);
    buf_release(&b);
    return same ? 0 : -1;
}

/* 0 when the new parameterizer agrees with the reference on msg everywhere; else -1 and *why. */
static int param_diff(const char *msg, size_t len, const char **why)
{
    size_t maxes[3] = { (size_t)1 << 20, len + 1, len / 2 + 1 };

    for (size_t m = 0; m < 3; m++) {
        for (size_t o = 0; o < sizeof(pd_orders) / sizeof(pd_orders[0]); o++) {
            /* A different message first, so the memo never starts on msg. */
            struct buf other = BUF_INIT(64);

            (void)fp_parameterize("-", 1, 1, &other);
            buf_release(&other);
            for (size_t k = 0; k < 3 && pd_orders[o][k] >= 0; k++) {
                if (pd_one(msg, len, pd_orders[o][k], maxes[m], why) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

#endif
