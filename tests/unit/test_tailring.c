/*
 * Unit tests for src/digest/tailring.c (the newest stored events for live
 * tail): numbers in publish order, reads by project and kind, a reader
 * that falls behind learns how many it missed, and a batch larger than the
 * ring keeps its newest events under the same numbers as one by one.
 */
#include <stdio.h>
#include <string.h>

#include "core/pool.h"
#include "digest/tailring.h"
#include "t.h"

static void make_events(struct event *v, size_t n, size_t from, struct pool *pool)
{
    for (size_t i = 0; i < n; i++) {
        memset(&v[i], 0, sizeof(v[i]));
        v[i].project_id = (from + i) % 3 == 0 ? 2 : 1;
        v[i].kind = EV_KIND_LOG;
        v[i].level = EV_INFO;
        v[i].message = pool_printf(pool, "line %zu", from + i);
        v[i].raw = v[i].message;
        v[i].raw_len = strlen(v[i].message);
        v[i].raw_encoding = EV_RAW_IDENTITY;
    }
}

static void test_publish_read(void)
{
    struct tailring *t = tailring_new();
    struct pool pool = POOL_INIT(4096);
    struct event ev[6];
    struct store_event out[8];
    uint64_t seqs[8], next = tailring_head(t), missed = 1, first = next;
    size_t n;

    make_events(ev, 6, 0, &pool);
    tailring_publish(t, ev, 6);
    CHECK(tailring_head(t) == first + 6);
    /* Project 1: lines 1, 2, 4, 5. */
    n = tailring_read(t, 1, -1, &next, out, seqs, 8, &missed, &pool);
    CHECK_INT_EQ(n, 4);
    CHECK_INT_EQ(missed, 0);
    CHECK(next == first + 6);
    CHECK_STR_EQ(n == 4 ? out[0].message : "", "line 1");
    CHECK_STR_EQ(n == 4 ? out[3].message : "", "line 5");
    CHECK(n == 4 && seqs[3] == first + 5);
    CHECK(n == 4 && out[3].raw_len == 6 && memcmp(out[3].raw, "line 5", 6) == 0);
    /* Another kind: nothing. */
    next = first;
    CHECK_INT_EQ(tailring_read(t, 1, EV_KIND_ISSUE, &next, out, seqs, 8, &missed, &pool), 0);
    tailring_free(t);
    pool_release(&pool);
}

/* A batch larger than the ring: the newest TAILRING_LINES stay, numbered as if published alone. */
static void test_large_batch(void)
{
    size_t total = TAILRING_LINES + 1000;
    struct tailring *t = tailring_new();
    struct pool pool = POOL_INIT(1 << 20);
    struct event *ev = pool_alloc(&pool, total * sizeof(*ev));
    struct store_event out[4];
    uint64_t seqs[4], first = tailring_head(t), next = first, missed = 0;
    size_t n;

    make_events(ev, 10, 0, &pool);
    tailring_publish(t, ev, 10);
    make_events(ev, total, 10, &pool);
    tailring_publish(t, ev, total);
    CHECK(tailring_head(t) == first + 10 + total);
    n = tailring_read(t, 1, -1, &next, out, seqs, 4, &missed, &pool);
    /* Everything before the newest TAILRING_LINES was missed. */
    CHECK(missed == 10 + total - TAILRING_LINES);
    CHECK(n == 4);
    for (size_t i = 0; i < n; i++) {
        char want[32];

        snprintf(want, sizeof(want), "line %llu", (unsigned long long)(seqs[i] - first));
        CHECK_STR_EQ(out[i].message, want);
    }
    CHECK(n == 4 && seqs[0] >= first + 10 + total - TAILRING_LINES);
    tailring_free(t);
    pool_release(&pool);
}

int main(void)
{
    test_publish_read();
    test_large_batch();
    return t_done();
}
