/*
 * ratelimit.c - token buckets per key and per project (ratelimit.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "door/ratelimit.h"
#include "core/clock.h"
#include "core/hash.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define RL_SLOTS 8192 /* power of two; at most half are used */
#define RL_STRIPES 64 /* power of two */
#define US_PER_MIN (60 * CLOCK_US_PER_SEC)
#define US_PER_HOUR (60 * US_PER_MIN)

/* The buckets of a slot: events per minute and per hour, lines per minute. */
enum rl_kind { RL_EV_MIN = 0, RL_EV_HOUR, RL_LN_MIN, RL_KINDS };

struct rl_slot {
    _Atomic uint64_t id; /* (key or project id) << 1 | scope; 0: free */
    struct rl_bucket b[RL_KINDS];
    uint64_t counts[RL_COUNTS];
    struct rl_hour hours[RL_HOURS]; /* projects only: ring by hour */
};

struct ratelimit {
    pthread_mutex_t table_mu; /* claiming a free slot */
    size_t used;
    _Atomic uint64_t overflow;
    pthread_mutex_t stripes[RL_STRIPES];
    struct rl_slot slots[RL_SLOTS];
};

static const int kind_cat[RL_KINDS] = { RL_CAT_EVENTS, RL_CAT_EVENTS, RL_CAT_LINES };
static const int64_t kind_period[RL_KINDS] = { US_PER_MIN, US_PER_HOUR, US_PER_MIN };

int64_t rl_bucket_take(struct rl_bucket *b, int64_t limit, int64_t period_us, int64_t n,
                       int64_t now_us, int check_only)
{
    double per_us, tokens;

    if (limit <= 0 || period_us <= 0)
        return 0;
    per_us = (double)limit / (double)period_us;
    tokens = b->at_us == 0 ? (double)limit : b->tokens;
    if (b->at_us != 0 && now_us > b->at_us)
        tokens += (double)(now_us - b->at_us) * per_us;
    if (tokens > (double)limit)
        tokens = (double)limit;
    if (tokens < 1.0) {
        double exact = (1.0 - tokens) / per_us;
        int64_t wait = (int64_t)exact;

        if ((double)wait < exact)
            wait++; /* round up: a client waiting this long finds a token */
        return wait > 0 ? wait : 1;
    }
    if (!check_only) {
        b->tokens = tokens - (double)n;
        b->at_us = now_us > 0 ? now_us : 1;
    }
    return 0;
}

struct ratelimit *ratelimit_new(void)
{
    struct ratelimit *rl = xcalloc(1, sizeof(*rl));

    pthread_mutex_init(&rl->table_mu, NULL);
    for (size_t i = 0; i < RL_STRIPES; i++)
        pthread_mutex_init(&rl->stripes[i], NULL);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->table_mu);
    for (size_t i = 0; i < RL_STRIPES; i++)
        pthread_mutex_destroy(&rl->stripes[i]);
    free(rl);
}

uint64_t ratelimit_overflow(const struct ratelimit *rl)
{
    return atomic_load_explicit(&rl->overflow, memory_order_relaxed);
}

static size_t slot_home(uint64_t id)
{
    return (size_t)hash64(&id, sizeof(id)) & (RL_SLOTS - 1);
}

/* Probes for id; the free slot where it would go when absent; NULL when the table is full. */
static struct rl_slot *probe(struct ratelimit *rl, uint64_t id)
{
    size_t i = slot_home(id);

    for (size_t n = 0; n < RL_SLOTS; n++, i = (i + 1) & (RL_SLOTS - 1)) {
        uint64_t cur = atomic_load_explicit(&rl->slots[i].id, memory_order_acquire);

        if (cur == id || cur == 0)
            return &rl->slots[i];
    }
    return NULL;
}

/* The slot of (id, scope), claimed if new (create); NULL when absent or the table is full. */
static struct rl_slot *slot_of(struct ratelimit *rl, int64_t id, int scope, int create)
{
    uint64_t key = ((uint64_t)id << 1) | (uint64_t)scope;
    struct rl_slot *s = probe(rl, key);

    if (id <= 0)
        return NULL;
    if (s != NULL && atomic_load_explicit(&s->id, memory_order_acquire) == key)
        return s;
    if (!create)
        return NULL;
    pthread_mutex_lock(&rl->table_mu);
    s = probe(rl, key);
    if (s != NULL && atomic_load_explicit(&s->id, memory_order_relaxed) == 0) {
        if (rl->used >= RL_SLOTS / 2) {
            s = NULL;
        } else {
            rl->used++;
            atomic_store_explicit(&s->id, key, memory_order_release);
        }
    }
    pthread_mutex_unlock(&rl->table_mu);
    if (s == NULL)
        atomic_fetch_add_explicit(&rl->overflow, 1, memory_order_relaxed);
    return s;
}

static pthread_mutex_t *stripe(struct ratelimit *rl, const struct rl_slot *s)
{
    return &rl->stripes[(size_t)(s - rl->slots) & (RL_STRIPES - 1)];
}

static int64_t limit_of(const struct store_limits *l, int kind)
{
    switch (kind) {
    case RL_EV_MIN:
        return l->events_per_minute;
    case RL_EV_HOUR:
        return l->events_per_hour;
    default:
        return l->lines_per_minute;
    }
}

static int has_limits(const struct store_limits *l)
{
    return l->events_per_minute > 0 || l->events_per_hour > 0 || l->lines_per_minute > 0;
}

/* Records in v the buckets of s that would refuse (units NULL: every limited one). */
static void check_slot(struct rl_slot *s, const struct store_limits *l, int scope,
                       const int64_t units[RL_CATS], int64_t now, struct rl_verdict *v)
{
    for (int k = 0; k < RL_KINDS; k++) {
        int cat = kind_cat[k];
        int64_t wait;

        if (units != NULL && units[cat] == 0)
            continue;
        wait = rl_bucket_take(&s->b[k], limit_of(l, k), kind_period[k], 0, now, 1);
        if (wait > 0) {
            int secs = (int)((wait + CLOCK_US_PER_SEC - 1) / CLOCK_US_PER_SEC);

            if (secs > v->wait_s[cat]) {
                v->wait_s[cat] = secs;
                v->scope[cat] = scope;
            }
        }
    }
}

static void take_slot(struct rl_slot *s, const struct store_limits *l, const int64_t units[],
                      int64_t now)
{
    for (int k = 0; k < RL_KINDS; k++)
        if (units[kind_cat[k]] > 0)
            (void)rl_bucket_take(&s->b[k], limit_of(l, k), kind_period[k], units[kind_cat[k]], now,
                                 0);
}

/* Locks the stripes of a and b (either may be NULL) in address order. */
static void lock_two(pthread_mutex_t *a, pthread_mutex_t *b)
{
    if (a != NULL && b != NULL && a > b) {
        pthread_mutex_t *t = a;

        a = b;
        b = t;
    }
    if (a != NULL)
        pthread_mutex_lock(a);
    if (b != NULL && b != a)
        pthread_mutex_lock(b);
}

static void unlock_two(pthread_mutex_t *a, pthread_mutex_t *b)
{
    if (a != NULL)
        pthread_mutex_unlock(a);
    if (b != NULL && b != a)
        pthread_mutex_unlock(b);
}

/* Early check: blocked only when every limited category is blocked. */
static int all_blocked(const struct store_key_info *ki, const struct rl_verdict *v)
{
    int limited = 0;

    for (int cat = 0; cat < RL_CATS; cat++) {
        int64_t kl = cat == RL_CAT_EVENTS ? ki->key.events_per_minute + ki->key.events_per_hour
                                          : ki->key.lines_per_minute;
        int64_t pl = cat == RL_CAT_EVENTS
                         ? ki->project.events_per_minute + ki->project.events_per_hour
                         : ki->project.lines_per_minute;

        if (kl > 0 || pl > 0) {
            limited = 1;
            if (v->wait_s[cat] == 0)
                return 0;
        } else {
            return 0; /* an unlimited category may still pass */
        }
    }
    return limited;
}

int ratelimit_admit(struct ratelimit *rl, const struct store_key_info *ki,
                    const int64_t units[RL_CATS], int64_t now_us, struct rl_verdict *v)
{
    struct rl_slot *ks = NULL, *ps = NULL;
    pthread_mutex_t *km = NULL, *pm = NULL;
    int refused = 0;

    memset(v, 0, sizeof(*v));
    if (has_limits(&ki->key))
        ks = slot_of(rl, ki->key_id, RL_SCOPE_KEY, 1);
    if (has_limits(&ki->project))
        ps = slot_of(rl, ki->project_id, RL_SCOPE_PROJECT, 1);
    if (ks == NULL && ps == NULL)
        return 0;
    km = ks != NULL ? stripe(rl, ks) : NULL;
    pm = ps != NULL ? stripe(rl, ps) : NULL;
    lock_two(km, pm);
    if (ks != NULL)
        check_slot(ks, &ki->key, RL_SCOPE_KEY, units, now_us, v);
    if (ps != NULL)
        check_slot(ps, &ki->project, RL_SCOPE_PROJECT, units, now_us, v);
    if (units == NULL) {
        refused = all_blocked(ki, v);
    } else {
        for (int cat = 0; cat < RL_CATS; cat++)
            refused |= v->wait_s[cat] > 0;
        if (!refused && ks != NULL)
            take_slot(ks, &ki->key, units, now_us);
        if (!refused && ps != NULL)
            take_slot(ps, &ki->project, units, now_us);
    }
    unlock_two(km, pm);
    return refused;
}

static void count_hour(struct rl_slot *s, int what, uint64_t n)
{
    int64_t now = clock_now_us();
    int64_t hour = now - now % US_PER_HOUR;
    struct rl_hour *h = &s->hours[(hour / US_PER_HOUR) % RL_HOURS];

    if (h->hour_us != hour) {
        memset(h, 0, sizeof(*h));
        h->hour_us = hour;
    }
    h->n[what] += n;
}

void ratelimit_count(struct ratelimit *rl, int64_t project_id, int64_t key_id, int what, uint64_t n)
{
    struct rl_slot *ks, *ps;

    if (what < 0 || what >= RL_COUNTS || n == 0)
        return;
    ks = slot_of(rl, key_id, RL_SCOPE_KEY, 1);
    if (ks != NULL) {
        pthread_mutex_lock(stripe(rl, ks));
        ks->counts[what] += n;
        pthread_mutex_unlock(stripe(rl, ks));
    }
    /* Only projects a valid key reached get a slot: a path id alone creates none. */
    ps = slot_of(rl, project_id, RL_SCOPE_PROJECT, key_id > 0);
    if (ps != NULL) {
        pthread_mutex_lock(stripe(rl, ps));
        ps->counts[what] += n;
        count_hour(ps, what, n);
        pthread_mutex_unlock(stripe(rl, ps));
    }
}

void ratelimit_hours(struct ratelimit *rl, int64_t project_id, struct rl_hour out[RL_HOURS])
{
    struct rl_slot *ps = slot_of(rl, project_id, RL_SCOPE_PROJECT, 0);
    int64_t now = clock_now_us();
    int64_t hour = now - now % US_PER_HOUR;

    memset(out, 0, RL_HOURS * sizeof(*out));
    for (int i = 0; i < RL_HOURS; i++)
        out[i].hour_us = hour - (int64_t)i * US_PER_HOUR;
    if (ps == NULL)
        return;
    pthread_mutex_lock(stripe(rl, ps));
    for (int i = 0; i < RL_HOURS; i++) {
        const struct rl_hour *h = &ps->hours[((hour / US_PER_HOUR) - i) % RL_HOURS];

        if (h->hour_us == out[i].hour_us)
            out[i] = *h;
    }
    pthread_mutex_unlock(stripe(rl, ps));
}

void ratelimit_each_key(struct ratelimit *rl, rl_key_fn fn, void *arg)
{
    for (size_t i = 0; i < RL_SLOTS; i++) {
        struct rl_slot *s = &rl->slots[i];
        uint64_t id = atomic_load_explicit(&s->id, memory_order_acquire);
        uint64_t counts[RL_COUNTS];

        if (id == 0 || (id & 1) != RL_SCOPE_KEY)
            continue;
        pthread_mutex_lock(stripe(rl, s));
        memcpy(counts, s->counts, sizeof(counts));
        pthread_mutex_unlock(stripe(rl, s));
        fn(arg, (int64_t)(id >> 1), counts);
    }
}

const char *rl_cat_sentry(int cat)
{
    return cat == RL_CAT_LINES ? "log_item" : "error;default;transaction;security";
}

const char *rl_scope_name(int scope)
{
    return scope == RL_SCOPE_PROJECT ? "project" : "key";
}
