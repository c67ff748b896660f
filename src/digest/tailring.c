/* tailring.c - the newest stored events for live tail (see tailring.h). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "digest/tailring.h"
#include "core/banned.h"

#define SCAN_MAX 4096 /* entries one read looks at, matching or not */

struct entry {
    struct store_event ev; /* strings point into mem */
    char *mem;
    size_t bytes;
};

struct tailring {
    pthread_mutex_t mu;
    struct entry *v; /* v[seq % TAILRING_LINES] */
    uint64_t first;  /* oldest seq held */
    uint64_t head;   /* next seq */
    size_t bytes;
};

struct tailring *tailring_new(void)
{
    struct tailring *t = xcalloc(1, sizeof(*t));

    pthread_mutex_init(&t->mu, NULL);
    t->v = xcalloc(TAILRING_LINES, sizeof(*t->v));
    t->first = t->head = (uint64_t)clock_now_us();
    return t;
}

void tailring_free(struct tailring *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < TAILRING_LINES; i++)
        free(t->v[i].mem);
    free(t->v);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static void drop_oldest(struct tailring *t)
{
    struct entry *e = &t->v[t->first % TAILRING_LINES];

    t->bytes -= e->bytes;
    free(e->mem);
    memset(e, 0, sizeof(*e));
    t->first++;
}

#define NO_OFF SIZE_MAX

/* Appends s (NUL-terminated) to b: its offset, or NO_OFF for NULL. */
static size_t put(struct buf *b, const char *s, size_t n)
{
    size_t at = b->len;

    if (s == NULL)
        return NO_OFF;
    buf_add(b, s, n);
    buf_addch(b, '\0');
    return at;
}

static const char *at(const char *base, size_t off)
{
    return off == NO_OFF ? NULL : base + off;
}

static void tags_json(struct buf *b, const struct event *ev)
{
    buf_addch(b, '[');
    for (size_t i = 0; i < ev->ntags; i++) {
        const char *k = ev->tags[i].key, *v = ev->tags[i].value;

        buf_addstr(b, i ? ",[" : "[");
        buf_add_json_str(b, k ? k : "", k ? strlen(k) : 0);
        buf_addch(b, ',');
        buf_add_json_str(b, v ? v : "", v ? strlen(v) : 0);
        buf_addch(b, ']');
    }
    buf_addch(b, ']');
}

enum { F_LOGGER, F_MSG, F_TITLE, F_CULPRIT, F_REL, F_ENV, F_TAGS, F_RAW, F__N };

static void fill(struct entry *e, const struct event *ev)
{
    struct buf b = BUF_INIT(TAILRING_RAW_MAX * 4);
    struct buf tags = BUF_INIT(TAILRING_RAW_MAX);
    struct store_event *s = &e->ev;
    const char *strs[F_RAW] = { ev->logger,  ev->message,     ev->title, ev->culprit,
                                ev->release, ev->environment, NULL };
    size_t off[F__N], lens[F_TAGS], need = 0;
    int raw_ok = ev->raw != NULL && ev->raw_encoding == EV_RAW_IDENTITY &&
                 ev->raw_len <= TAILRING_RAW_MAX;

    memset(s, 0, sizeof(*s));
    tags_json(&tags, ev);
    for (int i = 0; i < F_TAGS; i++) {
        lens[i] = strs[i] != NULL ? strlen(strs[i]) : 0;
        need += lens[i] + 1;
    }
    /* One allocation of the entry's size, not a buffer doubling up to it. */
    (void)buf_grow(&b, need + tags.len + 1 + (raw_ok ? ev->raw_len + 1 : 0));
    for (int i = 0; i < F_TAGS; i++)
        off[i] = put(&b, strs[i], lens[i]);
    off[F_TAGS] = put(&b, tags.p, tags.len);
    off[F_RAW] = raw_ok ? put(&b, ev->raw, ev->raw_len) : NO_OFF;
    buf_release(&tags);
    e->bytes = b.len + sizeof(*e);
    e->mem = buf_detach(&b, NULL);
    s->project_id = ev->project_id;
    memcpy(s->event_id, ev->event_id, sizeof(s->event_id));
    s->timestamp = ev->timestamp;
    s->received_at = ev->received_at;
    s->level = ev->level;
    s->kind = ev->kind;
    s->issue_id = ev->issue_id;
    s->logger = at(e->mem, off[F_LOGGER]);
    s->message = at(e->mem, off[F_MSG]);
    s->title = at(e->mem, off[F_TITLE]);
    s->culprit = at(e->mem, off[F_CULPRIT]);
    s->release = at(e->mem, off[F_REL]);
    s->environment = at(e->mem, off[F_ENV]);
    s->tags_json = at(e->mem, off[F_TAGS]);
    memcpy(s->fingerprint, ev->fingerprint, sizeof(s->fingerprint));
    s->source = ev->source;
    s->template_hash = ev->template_hash;
    s->raw = at(e->mem, off[F_RAW]);
    s->raw_len = raw_ok ? ev->raw_len : 0;
}

/* Entries filled outside the lock and put in the ring under one lock. */
#define PUBLISH_GROUP 64

void tailring_publish(struct tailring *t, const struct event *ev, size_t n)
{
    struct entry group[PUBLISH_GROUP];

    /*
     * Only the newest TAILRING_LINES of a batch can stay: the older ones
     * would be dropped by this very call. They get their numbers (a reader
     * learns it missed them, as when it is slow) but are not copied: for a
     * batch of 20,000 log lines they were most of this function, and it was
     * an eighth of the writer's time.
     */
    if (n > TAILRING_LINES) {
        pthread_mutex_lock(&t->mu);
        while (t->head > t->first)
            drop_oldest(t);
        t->head += n - TAILRING_LINES;
        t->first = t->head;
        pthread_mutex_unlock(&t->mu);
        ev += n - TAILRING_LINES;
        n = TAILRING_LINES;
    }
    for (size_t i = 0; i < n; i += PUBLISH_GROUP) {
        size_t k = n - i < PUBLISH_GROUP ? n - i : PUBLISH_GROUP;

        for (size_t j = 0; j < k; j++)
            fill(&group[j], &ev[i + j]); /* outside the lock: readers wait only for the swap */
        pthread_mutex_lock(&t->mu);
        for (size_t j = 0; j < k; j++) {
            while (t->head - t->first >= TAILRING_LINES ||
                   (t->head > t->first && t->bytes + group[j].bytes > TAILRING_BYTES))
                drop_oldest(t);
            t->v[t->head % TAILRING_LINES] = group[j];
            t->bytes += group[j].bytes;
            t->head++;
        }
        pthread_mutex_unlock(&t->mu);
    }
}

uint64_t tailring_head(struct tailring *t)
{
    uint64_t h;

    pthread_mutex_lock(&t->mu);
    h = t->head;
    pthread_mutex_unlock(&t->mu);
    return h;
}

static const char *dup(struct pool *pool, const char *s)
{
    return s != NULL ? pool_strdup(pool, s) : NULL;
}

static void copy_out(struct store_event *o, const struct store_event *s, struct pool *pool)
{
    *o = *s;
    o->logger = dup(pool, s->logger);
    o->message = dup(pool, s->message);
    o->title = dup(pool, s->title);
    o->culprit = dup(pool, s->culprit);
    o->release = dup(pool, s->release);
    o->environment = dup(pool, s->environment);
    o->tags_json = dup(pool, s->tags_json);
    o->raw = s->raw != NULL ? pool_strndup(pool, s->raw, s->raw_len) : NULL;
}

size_t tailring_read(struct tailring *t, int64_t project_id, int kind, uint64_t *next,
                     struct store_event *out, uint64_t *seqs, size_t max, uint64_t *missed,
                     struct pool *pool)
{
    size_t n = 0, looked = 0;

    *missed = 0;
    pthread_mutex_lock(&t->mu);
    if (*next < t->first) {
        *missed = t->first - *next;
        *next = t->first;
    }
    if (*next > t->head)
        *next = t->head;
    for (; *next < t->head && n < max && looked < SCAN_MAX; (*next)++, looked++) {
        const struct store_event *s = &t->v[*next % TAILRING_LINES].ev;

        if (s->project_id != project_id || (kind >= 0 && s->kind != kind))
            continue;
        copy_out(&out[n], s, pool);
        seqs[n++] = *next;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}
