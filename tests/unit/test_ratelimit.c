/*
 * Unit tests for src/door/ratelimit.c: the token bucket's arithmetic
 * (refill, overdraft, wait), key and project scopes and categories in the
 * verdict, the early "all blocked" check, exact admission under threads,
 * and the per-key and per-hour counters.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/clock.h"
#include "door/ratelimit.h"
#include "t.h"

#define SEC CLOCK_US_PER_SEC
#define MIN (60 * SEC)

static void test_bucket(void)
{
    struct rl_bucket b;
    int64_t now = 1000 * SEC;

    memset(&b, 0, sizeof(b));
    CHECK_INT_EQ(rl_bucket_take(&b, 0, MIN, 5, now, 0), 0); /* unlimited */
    for (int i = 0; i < 60; i++)
        CHECK_INT_EQ(rl_bucket_take(&b, 60, MIN, 1, now, 0), 0); /* starts full */
    /* empty: one token a second at 60/min */
    CHECK(rl_bucket_take(&b, 60, MIN, 1, now, 0) > 0);
    CHECK(rl_bucket_take(&b, 60, MIN, 1, now, 0) <= SEC + 1);
    CHECK(rl_bucket_take(&b, 60, MIN, 1, now + SEC / 2, 0) > 0);
    CHECK_INT_EQ(rl_bucket_take(&b, 60, MIN, 1, now + SEC, 0), 0);
    CHECK(rl_bucket_take(&b, 60, MIN, 1, now + SEC, 0) > 0);
    /* check_only takes nothing */
    CHECK_INT_EQ(rl_bucket_take(&b, 60, MIN, 1, now + 3 * SEC, 1), 0);
    CHECK_INT_EQ(rl_bucket_take(&b, 60, MIN, 1, now + 3 * SEC, 0), 0);
    CHECK_INT_EQ(rl_bucket_take(&b, 60, MIN, 1, now + 3 * SEC, 0), 0);
    CHECK(rl_bucket_take(&b, 60, MIN, 1, now + 3 * SEC, 0) > 0);
    /* never more than the limit after a long pause */
    for (int i = 0; i < 60; i++)
        CHECK_INT_EQ(rl_bucket_take(&b, 60, MIN, 1, now + 3600 * SEC, 0), 0);
    CHECK(rl_bucket_take(&b, 60, MIN, 1, now + 3600 * SEC, 0) > 0);
    /* a batch larger than the limit passes once, then is paid back */
    memset(&b, 0, sizeof(b));
    CHECK_INT_EQ(rl_bucket_take(&b, 10, MIN, 100, now, 0), 0);
    CHECK(rl_bucket_take(&b, 10, MIN, 1, now + MIN, 0) > 0);
    CHECK_INT_EQ(rl_bucket_take(&b, 10, MIN, 1, now + 10 * MIN, 0), 0);
}

static void test_scopes(void)
{
    struct ratelimit *rl = ratelimit_new();
    struct store_key_info a, b;
    struct rl_verdict v;
    int64_t ev[RL_CATS] = { 1, 0 }, ln[RL_CATS] = { 0, 5 }, now = 50 * SEC;

    memset(&a, 0, sizeof(a));
    a.project_id = 1;
    a.key_id = 10;
    a.key.events_per_minute = 3;
    b = a;
    b.key_id = 11;
    b.key.events_per_minute = 0;
    b.project.lines_per_minute = 8;
    a.project.lines_per_minute = 8;
    for (int i = 0; i < 3; i++)
        CHECK_INT_EQ(ratelimit_admit(rl, &a, ev, now, &v), 0);
    CHECK_INT_EQ(ratelimit_admit(rl, &a, ev, now, &v), 1);
    CHECK_INT_EQ(v.wait_s[RL_CAT_EVENTS], 20); /* 3/min: a token every 20 s */
    CHECK_INT_EQ(v.scope[RL_CAT_EVENTS], RL_SCOPE_KEY);
    CHECK_INT_EQ(v.wait_s[RL_CAT_LINES], 0);
    CHECK_INT_EQ(ratelimit_admit(rl, &b, ev, now, &v), 0); /* another key */
    CHECK_INT_EQ(ratelimit_admit(rl, &a, ln, now, &v), 0); /* lines: project quota 8 */
    CHECK_INT_EQ(ratelimit_admit(rl, &b, ln, now, &v), 0); /* 10 taken: overdraft */
    CHECK_INT_EQ(ratelimit_admit(rl, &b, ln, now, &v), 1);
    CHECK_INT_EQ(v.scope[RL_CAT_LINES], RL_SCOPE_PROJECT);
    CHECK_INT_EQ(v.wait_s[RL_CAT_EVENTS], 0);
    CHECK_STR_EQ(rl_scope_name(RL_SCOPE_PROJECT), "project");
    CHECK_STR_EQ(rl_cat_sentry(RL_CAT_EVENTS), "error;default;transaction;security");
    /* early check: a's events are blocked, its lines too: refused before the body */
    CHECK_INT_EQ(ratelimit_admit(rl, &a, NULL, now, &v), 1);
    /* b has no events limit: its events may still pass */
    CHECK_INT_EQ(ratelimit_admit(rl, &b, NULL, now, &v), 0);
    /* nothing counted as a unit: a client report passes */
    {
        int64_t none[RL_CATS] = { 0, 0 };

        CHECK_INT_EQ(ratelimit_admit(rl, &a, none, now, &v), 0);
    }
    ratelimit_free(rl);
}

struct hammer {
    struct ratelimit *rl;
    struct store_key_info ki;
    _Atomic int admitted;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    int64_t ev[RL_CATS] = { 1, 0 };
    struct rl_verdict v;

    for (int i = 0; i < 5000; i++)
        if (ratelimit_admit(h->rl, &h->ki, ev, 7 * SEC, &v) == 0)
            atomic_fetch_add(&h->admitted, 1);
    return NULL;
}

static void test_threads(void)
{
    struct hammer h;
    pthread_t t[4];

    memset(&h, 0, sizeof(h));
    h.rl = ratelimit_new();
    h.ki.project_id = 2;
    h.ki.key_id = 20;
    h.ki.key.events_per_minute = 1000;
    h.ki.project.events_per_hour = 5000;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer_run, &h);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT_EQ(atomic_load(&h.admitted), 1000); /* at one instant: exactly the limit */
    ratelimit_free(h.rl);
}

static void count_key(void *arg, int64_t key_id, const uint64_t counts[RL_COUNTS])
{
    uint64_t *out = arg;

    if (key_id == 30)
        memcpy(out, counts, RL_COUNTS * sizeof(*out));
}

static void test_counts(void)
{
    struct ratelimit *rl = ratelimit_new();
    struct rl_hour hours[RL_HOURS];
    uint64_t c[RL_COUNTS] = { 0 };

    ratelimit_count(rl, 3, 30, RL_ACCEPTED, 5);
    ratelimit_count(rl, 3, 30, RL_RATE_LIMITED, 2);
    ratelimit_count(rl, 3, 0, RL_REJECTED, 1);  /* no key: project only */
    ratelimit_count(rl, 99, 0, RL_REJECTED, 1); /* unknown project: no slot made */
    ratelimit_each_key(rl, count_key, c);
    CHECK_INT_EQ(c[RL_ACCEPTED], 5);
    CHECK_INT_EQ(c[RL_RATE_LIMITED], 2);
    ratelimit_hours(rl, 3, hours);
    CHECK_INT_EQ(hours[0].n[RL_ACCEPTED], 5);
    CHECK_INT_EQ(hours[0].n[RL_RATE_LIMITED], 2);
    CHECK_INT_EQ(hours[0].n[RL_REJECTED], 1);
    CHECK(hours[0].hour_us > hours[1].hour_us);
    CHECK_INT_EQ(hours[1].n[RL_ACCEPTED], 0);
    ratelimit_hours(rl, 99, hours);
    CHECK_INT_EQ(hours[0].n[RL_REJECTED], 0);
    ratelimit_free(rl);
}

int main(void)
{
    test_bucket();
    test_scopes();
    test_threads();
    test_counts();
    return t_done();
}
