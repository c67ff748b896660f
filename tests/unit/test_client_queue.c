/*
 * test_client_queue.c - the bounded drop-oldest queue against a model,
 * then the whole client under concurrent callers: every record is either
 * delivered (here: to the callback sink, no DSN) or counted as dropped.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/buf.h"
#include "client/queue.h"
#include "core/hash.h"
#include "core/json.h"

#include "t.h"

static struct bc_record *rec(int id)
{
    struct bc_record *r = bc_record_new(&bc_default_alloc);

    r->level = id;
    return r;
}

static void test_basic(void)
{
    struct bc_queue q;
    struct bc_record *d;

    CHECK_INT_EQ(bc_queue_init(&q, &bc_default_alloc, 0), BILOR_EINVAL);
    CHECK_INT_EQ(bc_queue_init(&q, &bc_default_alloc, 3), 0);
    CHECK(bc_queue_pop(&q) == NULL);
    for (int i = 1; i <= 3; i++)
        CHECK(bc_queue_push(&q, rec(i)) == NULL);
    d = bc_queue_push(&q, rec(4)); /* full: the oldest goes */
    CHECK(d != NULL && d->level == 1);
    bc_record_free(&bc_default_alloc, d);
    CHECK_INT_EQ(q.dropped, 1);
    d = bc_queue_push_front(&q, rec(0)); /* full: a retried record is the oldest */
    CHECK(d != NULL && d->level == 0);
    bc_record_free(&bc_default_alloc, d);
    CHECK_INT_EQ(q.dropped, 2);
    d = bc_queue_pop(&q);
    CHECK(d != NULL && d->level == 2);
    CHECK(bc_queue_push_front(&q, d) == NULL); /* room again: back at the head */
    for (int want = 2; want <= 4; want++) {
        d = bc_queue_pop(&q);
        CHECK(d != NULL && d->level == want);
        bc_record_free(&bc_default_alloc, d);
    }
    CHECK(bc_queue_pop(&q) == NULL);
    bc_queue_push(&q, rec(9)); /* released with the queue */
    bc_queue_release(&q, &bc_default_alloc);
}

/* Random operations against an array model, across many wrap-arounds. */
static void test_model(void)
{
    enum { CAP = 7 };
    int model[64], n = 0, next = 1, dropped = 0, bad = 0;
    struct bc_queue q;
    unsigned seed = 12345;

    bc_queue_init(&q, &bc_default_alloc, CAP);
    for (int step = 0; step < 20000; step++) {
        unsigned op = (seed = seed * 1103515245u + 12345u) >> 16;
        struct bc_record *r, *d;

        if (op % 3 != 0) {
            d = bc_queue_push(&q, rec(next));
            if (n == CAP) {
                bad += d == NULL || d->level != model[0];
                memmove(model, model + 1, (size_t)(n - 1) * sizeof(int));
                n--;
                dropped++;
            } else {
                bad += d != NULL;
            }
            bc_record_free(&bc_default_alloc, d);
            model[n++] = next++;
        } else {
            r = bc_queue_pop(&q);
            bad += (n == 0) != (r == NULL) || (r != NULL && r->level != model[0]);
            if (n > 0) {
                memmove(model, model + 1, (size_t)(n - 1) * sizeof(int));
                n--;
            }
            bc_record_free(&bc_default_alloc, r);
        }
        bad += (size_t)n != q.n;
    }
    CHECK_INT_EQ(bad, 0);
    CHECK_INT_EQ(q.dropped_total, dropped);
    bc_queue_release(&q, &bc_default_alloc);
}

#define THREADS 8
#define PER_THREAD 2000

static atomic_int sunk;
static atomic_int sunk_bad;

static void on_record(void *ud, const char *json, size_t len)
{
    (void)ud;
    atomic_fetch_add(&sunk, 1);
    if (len < 2 || json[0] != '{' || json[len - 1] != '}' || memchr(json, '\n', len) != NULL)
        atomic_fetch_add(&sunk_bad, 1);
}

static void *caller(void *arg)
{
    struct bilor *c = arg;

    for (int i = 0; i < PER_THREAD; i++)
        if (bilor_log(c, BILOR_INFO, "test", "thread message %d", i) != 0)
            return (void *)1;
    return NULL;
}

static void test_threads(void)
{
    struct bilor_options o;
    struct bilor_stats st;
    struct bilor *c = NULL;
    pthread_t th[THREADS];
    int failed = 0;

    bilor_options_init(&o);
    o.queue_size = 64;
    o.sink = BILOR_SINK_CALLBACK;
    o.sink_fn = on_record;
    CHECK_INT_EQ(bilor_new(&c, &o), 0);
    if (c == NULL)
        return;
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, caller, c);
    for (int i = 0; i < THREADS; i++) {
        void *rv;

        pthread_join(th[i], &rv);
        failed += rv != NULL;
    }
    CHECK_INT_EQ(failed, 0);
    CHECK_INT_EQ(bilor_flush(c, 20000), 0);
    bilor_get_stats(c, &st);
    CHECK_INT_EQ(st.queued, THREADS * PER_THREAD);
    CHECK_INT_EQ(st.to_sink + st.dropped, THREADS * PER_THREAD);
    CHECK_INT_EQ(atomic_load(&sunk), st.to_sink);
    CHECK_INT_EQ(atomic_load(&sunk_bad), 0);
    CHECK_INT_EQ(st.requests, 0);
    printf("threads: %llu to sink, %llu dropped\n", (unsigned long long)st.to_sink,
           (unsigned long long)st.dropped);
    bilor_free(c);
    /* A freed client's last words: nothing queued is lost silently. */
    CHECK_INT_EQ(bilor_log(NULL, BILOR_INFO, NULL, "x"), BILOR_EINVAL);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_basic();
    test_model();
    test_threads();
    return t_done();
}
