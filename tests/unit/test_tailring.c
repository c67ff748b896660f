/*
 * Unit tests for src/digest/tailring.c (the newest stored events for live
 * tail): numbers in publish order, reads by project and kind, a reader
 * that falls behind learns how many it missed, and a batch larger than the
 * ring keeps its newest events under the same numbers as one by one.
 * Entries prepared ahead (tailring_prepare, on a decode thread) read back
 * exactly as published ones, with what the writer changed after.
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

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every entry of a and b from their heads back: numbers, events and strings alike. */
static void check_same_rings(struct tailring *a, uint64_t a0, struct tailring *b, uint64_t b0,
                             struct pool *pool)
{
    CHECK(tailring_head(a) - a0 == tailring_head(b) - b0);
    for (int64_t project = 1; project <= 2; project++) {
        uint64_t na = a0, nb = b0, ma = 0, mb = 0;

        for (;;) {
            struct store_event oa[64], ob[64];
            uint64_t sa[64], sb[64];
            size_t ka = tailring_read(a, project, -1, &na, oa, sa, 64, &ma, pool);
            size_t kb = tailring_read(b, project, -1, &nb, ob, sb, 64, &mb, pool);

            CHECK(ma == mb);
            CHECK_INT_EQ(ka, kb);
            if (ka != kb || ka == 0)
                break;
            for (size_t i = 0; i < ka; i++) {
                CHECK(sa[i] - a0 == sb[i] - b0);
                CHECK(oa[i].project_id == ob[i].project_id && oa[i].kind == ob[i].kind &&
                      oa[i].issue_id == ob[i].issue_id && oa[i].level == ob[i].level &&
                      oa[i].timestamp == ob[i].timestamp && oa[i].raw_len == ob[i].raw_len);
                CHECK(strcmp(oa[i].event_id, ob[i].event_id) == 0);
                CHECK(strcmp(oa[i].fingerprint, ob[i].fingerprint) == 0);
                CHECK(same_str(oa[i].message, ob[i].message) &&
                      same_str(oa[i].title, ob[i].title) &&
                      same_str(oa[i].culprit, ob[i].culprit) &&
                      same_str(oa[i].logger, ob[i].logger) &&
                      same_str(oa[i].tags_json, ob[i].tags_json));
                CHECK((oa[i].raw == NULL) == (ob[i].raw == NULL));
                CHECK(oa[i].raw == NULL || memcmp(oa[i].raw, ob[i].raw, oa[i].raw_len) == 0);
            }
        }
    }
}

/*
 * The same batches published as they are and prepared ahead: the same
 * ring. Between the prepare and the publish the "writer" changes some
 * events, as classify and the store do: kind, issue, a fingerprint, and a
 * title it grouped anew (that entry is made again, from the new title).
 */
static void test_prepared(void)
{
    static const size_t sizes[] = { 6, 1, 300, TAILRING_LINES, TAILRING_LINES + 1000, 700 };
    size_t total = TAILRING_LINES + 1000;
    struct tailring *a = tailring_new(), *b = tailring_new();
    struct tailring_prep *prep = NULL;
    struct pool pool = POOL_INIT(64 << 20);
    struct event *ev = pool_alloc(&pool, total * sizeof(*ev));
    struct ev_tag tag = { "browser", "Fire\"fox" };
    char *big = pool_alloc(&pool, 60000), *huge = pool_alloc(&pool, 300000);
    uint64_t a0 = tailring_head(a), b0 = tailring_head(b);
    size_t from = 0;

    memset(big, 'x', 59999);
    big[59999] = '\0';
    memset(huge, 'm', 299999);
    huge[299999] = '\0';
    for (size_t r = 0; r < sizeof(sizes) / sizeof(sizes[0]); r++) {
        size_t n = sizes[r];

        make_events(ev, n, from, &pool);
        for (size_t i = 0; i < n; i += 7) {
            ev[i].tags = &tag;
            ev[i].ntags = 1;
            ev[i].logger = "app.payments";
        }
        /* Messages past an entry's room: cut the same way. */
        for (size_t i = 3; r == 2 && i < n; i += 100)
            ev[i].message = huge;
        /* The last batch's 60 KB payloads pass TAILRING_BYTES: only its newest fit. */
        for (size_t i = 0; r == 5 && i < n; i++) {
            ev[i].raw = big;
            ev[i].raw_len = 59999;
        }
        tailring_prepare(&prep, ev, n);
        for (size_t i = 0; i < n; i += 5) {
            ev[i].kind = EV_KIND_ISSUE;
            ev[i].issue_id = (int64_t)(from + i);
            snprintf(ev[i].fingerprint, sizeof(ev[i].fingerprint), "fp%zu", from + i);
        }
        for (size_t i = 0; i < n; i += 11)
            ev[i].title = pool_printf(&pool, "grouped %zu", from + i);
        tailring_publish(a, ev, n);
        tailring_publish_prepared(b, prep, ev, n);
        check_same_rings(a, a0, b, b0, &pool);
        from += n;
    }
    /* A prepare of another batch (or none) publishes as tailring_publish does. */
    make_events(ev, 10, from, &pool);
    tailring_prepare(&prep, ev, 5);
    tailring_publish(a, ev, 10);
    tailring_publish_prepared(b, prep, ev, 10);
    tailring_publish(a, ev, 3);
    tailring_publish_prepared(b, NULL, ev, 3);
    check_same_rings(a, a0, b, b0, &pool);
    /* Prepared and never published: freed with the prep (ASan's leak check). */
    tailring_prepare(&prep, ev, 10);
    tailring_prep_free(prep);
    tailring_free(a);
    tailring_free(b);
    pool_release(&pool);
}

int main(void)
{
    test_publish_read();
    test_large_batch();
    test_prepared();
    return t_done();
}
