/*
 * test_client_oom.c - a failed allocation is an error, never a crash or a
 * leak: an injectable allocator fails the Nth allocation for every N
 * until the call succeeds, through bilor_new(), bilor_log(),
 * bilor_capture_error() and the event builder (LeakSanitizer checks that
 * nothing is left behind on any path).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bilor/bilor.h"
#include "core/hash.h"
#include "core/json.h"

#include "t.h"

static atomic_long budget;
static atomic_long failures;

static int take(void)
{
    if (atomic_fetch_sub(&budget, 1) > 0)
        return 1;
    atomic_fetch_add(&failures, 1);
    return 0;
}

static void *t_malloc(size_t n, void *ud)
{
    (void)ud;
    return take() ? malloc(n) : NULL;
}

static void *t_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    return take() ? realloc(p, n) : NULL;
}

static void t_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static const struct bilor_allocator failing = { t_malloc, t_realloc, t_free, NULL };

static void options(struct bilor_options *o, const char *dsn)
{
    bilor_options_init(o);
    o->dsn = dsn;
    o->release = "oom@1";
    o->allocator = &failing;
    o->retry_min_ms = 50;
    o->retry_max_ms = 100;
    o->fallback_after_ms = 100;
}

static void test_new(const char *dsn)
{
    struct bilor_options o;
    struct bilor *c = NULL;
    int rc = BILOR_ENOMEM, n, bad = 0;

    options(&o, dsn);
    for (n = 0; n < 500; n++) {
        atomic_store(&budget, n);
        rc = bilor_new(&c, &o);
        if (rc == 0)
            break;
        bad += rc != BILOR_ENOMEM || c != NULL;
    }
    CHECK_INT_EQ(bad, 0);
    CHECK_INT_EQ(rc, 0);
    CHECK(n > 2);
    printf("bilor_new(%s) needs %d allocations\n", dsn != NULL ? "dsn" : "no dsn", n);
    atomic_store(&budget, 1L << 40);
    bilor_free(c);
}

__attribute__((noinline)) static int build_and_send(struct bilor *c, int i)
{
    struct bilor_event *ev = bilor_event_new(c, BILOR_ERROR, "oom");
    int rc;

    if (ev == NULL)
        return BILOR_ENOMEM;
    bilor_event_message(ev, "event %d with %s", i, "text");
    bilor_event_tag(ev, "k", "v");
    bilor_event_extra_json(ev, "j", "{\"a\":[1,2,3]}");
    bilor_event_extra_str(ev, "s", "value");
    bilor_event_exception(ev, "OomError", 1, "value %d", i);
    rc = bilor_event_send(ev, NULL);
    __asm__ volatile("" ::: "memory");
    return rc;
}

static void test_calls(const char *dsn)
{
    struct bilor_options o;
    struct bilor *c = NULL;
    int ok = 0, nomem = 0, other = 0;

    options(&o, dsn);
    atomic_store(&budget, 1L << 40);
    CHECK_INT_EQ(bilor_new(&c, &o), 0);
    if (c == NULL)
        return;
    for (int n = 0; n < 40; n++) {
        int rc[3];

        atomic_store(&budget, n);
        rc[0] = bilor_log(c, BILOR_INFO, "oom", "message %d", n);
        atomic_store(&budget, n);
        rc[1] = bilor_capture_error(c, "OomError", "capture %d", n);
        atomic_store(&budget, n);
        rc[2] = build_and_send(c, n);
        for (int k = 0; k < 3; k++) {
            ok += rc[k] == 0;
            nomem += rc[k] == BILOR_ENOMEM;
            other += rc[k] != 0 && rc[k] != BILOR_ENOMEM;
        }
    }
    CHECK(ok > 0);
    CHECK(nomem > 0);
    CHECK_INT_EQ(other, 0);
    /* The sender also runs out of memory now and then: that costs records, nothing else. */
    atomic_store(&budget, 20);
    bilor_flush(c, 500);
    atomic_store(&budget, 1L << 40);
    bilor_flush(c, 3000);
    bilor_free(c);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_new(NULL);
    test_new("http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1");
    test_calls(NULL);
    test_calls("http://0123456789abcdef0123456789abcdef@127.0.0.1:9/1");
    CHECK(atomic_load(&failures) > 0);
    return t_done();
}
