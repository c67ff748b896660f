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

/*
 * The memory entries' strings live in: one entry's (tailring_publish), or
 * a whole prepared batch's (tailring_prepare); freed with its last entry.
 */
struct tblock {
    size_t refs; /* entries in the ring (or still prepared) that point into it */
    size_t pad;  /* the strings follow, aligned as malloc's memory */
};

struct entry {
    struct store_event ev; /* strings point into blk */
    struct tblock *blk;
    size_t bytes;
};

struct tailring {
    pthread_mutex_t mu;
    struct entry *v; /* v[seq % TAILRING_LINES] */
    uint64_t first;  /* oldest seq held */
    uint64_t head;   /* next seq */
    size_t bytes;
};

enum { F_LOGGER, F_MSG, F_TITLE, F_CULPRIT, F_REL, F_ENV, F_TAGS, F_RAW, F__N };

/* What a prepared entry was made from: the event's pointers the writer could change. */
struct src {
    const char *str[F_TAGS];
    const struct ev_tag *tags;
    size_t ntags;
    const char *raw;
    size_t raw_len;
    int raw_encoding;
};

struct tailring_prep {
    const struct event *ev; /* the batch prepared, and its size; NULL once published */
    size_t n;
    size_t from;          /* ev[from..n) have entries: the newest that the ring keeps */
    struct entry *e;      /* e[i] for ev[n - 1 - i], the newest first */
    struct src *src;      /* likewise */
    size_t (*off)[F__N];  /* likewise, where their strings are in mem */
    struct buf mem;       /* the block being made, its header first */
    struct buf one, tags; /* one entry's strings, their tags' JSON */
    struct tblock *blk;   /* made: the entries' memory until they are published */
    size_t last;          /* the size of the last block made (mem's room for the next) */
};

struct tailring *tailring_new(void)
{
    struct tailring *t = xcalloc(1, sizeof(*t));

    pthread_mutex_init(&t->mu, NULL);
    t->v = xcalloc(TAILRING_LINES, sizeof(*t->v));
    t->first = t->head = (uint64_t)clock_now_us();
    return t;
}

static void unref(struct tblock *b)
{
    if (b != NULL && --b->refs == 0)
        free(b);
}

void tailring_free(struct tailring *t)
{
    if (t == NULL)
        return;
    while (t->head > t->first) {
        unref(t->v[t->first % TAILRING_LINES].blk);
        t->first++;
    }
    free(t->v);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static void drop_oldest(struct tailring *t)
{
    struct entry *e = &t->v[t->first % TAILRING_LINES];

    t->bytes -= e->bytes;
    unref(e->blk);
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

static int raw_kept(const struct event *ev)
{
    return ev->raw != NULL && ev->raw_encoding == EV_RAW_IDENTITY &&
           ev->raw_len <= TAILRING_RAW_MAX;
}

static void src_of(struct src *r, const struct event *ev)
{
    const char *strs[F_TAGS] = { ev->logger,  ev->message, ev->title,
                                 ev->culprit, ev->release, ev->environment };

    memcpy(r->str, strs, sizeof(strs));
    r->tags = ev->tags;
    r->ntags = ev->ntags;
    r->raw = ev->raw;
    r->raw_len = ev->raw_len;
    r->raw_encoding = ev->raw_encoding;
}

/* An event's strings as its entry holds them, with their lengths. */
struct strs {
    const char *s[F__N];
    size_t len[F__N];
};

/*
 * ev's strings (tags: their JSON, made here in tags) and the bytes they
 * take in its entry at most. An entry holds at most ENTRY_MAX bytes of
 * strings: those past it are cut (put_strings into a buffer of that cap).
 */
static size_t entry_need(struct buf *tags, const struct event *ev, struct strs *v)
{
    const char *s[F__N] = { ev->logger,  ev->message,     ev->title, ev->culprit,
                            ev->release, ev->environment, NULL,      NULL };
    size_t need = 0;

    buf_reset(tags);
    tags_json(tags, ev);
    s[F_TAGS] = tags->p;
    s[F_RAW] = raw_kept(ev) ? ev->raw : NULL;
    for (int i = 0; i < F__N; i++) {
        v->s[i] = s[i];
        v->len[i] = i == F_TAGS ? tags->len : i == F_RAW ? ev->raw_len : s[i] ? strlen(s[i]) : 0;
        need += v->len[i] + 1;
    }
    return need;
}

/*
 * Appends v's strings, which need bytes at most, to b; off: where each
 * starts in b. Nonzero when that room could not be made (then only the
 * strings that fit are there).
 */
static int put_strings(struct buf *b, const struct strs *v, size_t need, size_t off[F__N])
{
    /* Room for the whole entry at once, not a buffer doubling up to it. */
    int rc = buf_grow(b, need);

    for (int i = 0; i < F__N; i++) {
        if (v->s[i] == NULL) {
            off[i] = NO_OFF;
        } else if (rc == 0) { /* the room is there */
            off[i] = b->len;
            memcpy(b->p + b->len, v->s[i], v->len[i]);
            b->p[b->len + v->len[i]] = '\0';
            b->len += v->len[i] + 1;
        } else {
            off[i] = put(b, v->s[i], v->len[i]);
        }
    }
    return rc;
}

/* The fields the writer may still set (kind, issue, grouping) after a prepare. */
static void set_scalars(struct store_event *s, const struct event *ev)
{
    s->project_id = ev->project_id;
    memcpy(s->event_id, ev->event_id, sizeof(s->event_id));
    s->timestamp = ev->timestamp;
    s->received_at = ev->received_at;
    s->level = ev->level;
    s->kind = ev->kind;
    s->issue_id = ev->issue_id;
    memcpy(s->fingerprint, ev->fingerprint, sizeof(s->fingerprint));
    s->source = ev->source;
    s->template_hash = ev->template_hash;
}

/* e's event and its strings, which put_strings wrote at off from mem. */
static void point(struct entry *e, const struct event *ev, const char *mem, const size_t off[F__N])
{
    struct store_event *s = &e->ev;

    memset(s, 0, sizeof(*s));
    set_scalars(s, ev);
    s->logger = at(mem, off[F_LOGGER]);
    s->message = at(mem, off[F_MSG]);
    s->title = at(mem, off[F_TITLE]);
    s->culprit = at(mem, off[F_CULPRIT]);
    s->release = at(mem, off[F_REL]);
    s->environment = at(mem, off[F_ENV]);
    s->tags_json = at(mem, off[F_TAGS]);
    s->raw = at(mem, off[F_RAW]);
    s->raw_len = raw_kept(ev) ? ev->raw_len : 0;
}

#define ENTRY_MAX (TAILRING_RAW_MAX * 4)

/* An entry of ev in a block of its own. */
static void fill(struct entry *e, const struct event *ev)
{
    struct buf one = BUF_INIT(ENTRY_MAX);
    struct buf tags = BUF_INIT(TAILRING_RAW_MAX);
    size_t off[F__N];
    struct strs v;

    (void)put_strings(&one, &v, entry_need(&tags, ev, &v), off); /* cut past ENTRY_MAX */
    e->bytes = one.len + sizeof(*e);
    e->blk = xmalloc(sizeof(*e->blk) + one.len);
    e->blk->refs = 1;
    memcpy(e->blk + 1, one.p, one.len);
    point(e, ev, (const char *)(e->blk + 1), off);
    buf_release(&one);
    buf_release(&tags);
}

/* Entries filled outside the lock and put in the ring under one lock. */
#define PUBLISH_GROUP 64

/*
 * Puts e (n entries, numbered from head on; newest_first: e[n - 1] first)
 * in the ring, PUBLISH_GROUP under one lock, so that readers wait only for
 * a swap. skip: the numbers before them that the batch had but the ring
 * cannot keep (older than the newest TAILRING_LINES, or than what fits in
 * TAILRING_BYTES): whatever the ring held goes with them, as publishing
 * them one by one would have dropped it.
 */
static void put_entries(struct tailring *t, size_t skip, const struct entry *e, size_t n,
                        int newest_first)
{
    if (skip > 0) {
        pthread_mutex_lock(&t->mu);
        while (t->head > t->first)
            drop_oldest(t);
        t->head += skip;
        t->first = t->head;
        pthread_mutex_unlock(&t->mu);
    }
    for (size_t i = 0; i < n; i += PUBLISH_GROUP) {
        size_t k = n - i < PUBLISH_GROUP ? n - i : PUBLISH_GROUP;

        pthread_mutex_lock(&t->mu);
        for (size_t j = i; j < i + k; j++) {
            const struct entry *x = &e[newest_first ? n - 1 - j : j];

            while (t->head - t->first >= TAILRING_LINES ||
                   (t->head > t->first && t->bytes + x->bytes > TAILRING_BYTES))
                drop_oldest(t);
            t->v[t->head % TAILRING_LINES] = *x;
            t->bytes += x->bytes;
            t->head++;
        }
        pthread_mutex_unlock(&t->mu);
    }
}

void tailring_publish(struct tailring *t, const struct event *ev, size_t n)
{
    struct entry group[PUBLISH_GROUP];
    size_t skip = 0;

    /*
     * Only the newest TAILRING_LINES of a batch can stay: the older ones
     * would be dropped by this very call. They get their numbers (a reader
     * learns it missed them, as when it is slow) but are not copied: for a
     * batch of 20,000 log lines they were most of this function, and it was
     * an eighth of the writer's time.
     */
    if (n > TAILRING_LINES) {
        skip = n - TAILRING_LINES;
        ev += skip;
        n = TAILRING_LINES;
    }
    for (size_t i = 0; i < n; i += PUBLISH_GROUP) {
        size_t k = n - i < PUBLISH_GROUP ? n - i : PUBLISH_GROUP;

        for (size_t j = 0; j < k; j++)
            fill(&group[j], &ev[i + j]); /* outside the lock */
        put_entries(t, i == 0 ? skip : 0, group, k, 0);
    }
}

void tailring_prep_free(struct tailring_prep *p)
{
    if (p == NULL)
        return;
    free(p->e);
    free(p->src);
    free(p->off);
    buf_release(&p->mem);
    buf_release(&p->one);
    buf_release(&p->tags);
    free(p->blk);
    free(p);
}

void tailring_prepare(struct tailring_prep **prep, const struct event *ev, size_t n)
{
    struct tailring_prep *p = *prep;
    size_t bytes = 0, keep = 0, off[F__N];

    if (p == NULL) {
        p = *prep = xcalloc(1, sizeof(*p));
        buf_init(&p->mem, TAILRING_BYTES + 2 * (size_t)ENTRY_MAX);
        buf_init(&p->one, ENTRY_MAX);
        buf_init(&p->tags, TAILRING_RAW_MAX);
        p->e = xmalloc(TAILRING_LINES * sizeof(*p->e));
        p->src = xmalloc(TAILRING_LINES * sizeof(*p->src));
        p->off = xmalloc(TAILRING_LINES * sizeof(*p->off));
    }
    free(p->blk); /* a batch prepared and never published (its writer stopped) */
    p->blk = NULL;
    p->ev = NULL;
    buf_reset(&p->mem);
    if (buf_grow(&p->mem, p->last > sizeof(struct tblock) ? p->last : sizeof(struct tblock)) != 0)
        return;
    p->mem.len = sizeof(struct tblock);
    /*
     * The newest events first, as long as the ring keeps them all: what it
     * would drop while publishing this batch is not copied (put_entries).
     * Offsets into mem until it stops moving, then pointers.
     */
    while (keep < n && keep < TAILRING_LINES) {
        size_t base = p->mem.len, b;
        const struct event *e = &ev[n - 1 - keep];
        struct strs v;
        size_t need = entry_need(&p->tags, e, &v);
        int rc;

        if (need <= ENTRY_MAX) { /* all of it fits in an entry: straight into the block */
            rc = put_strings(&p->mem, &v, need, p->off[keep]);
        } else { /* cut as fill cuts it, then copied */
            buf_reset(&p->one);
            (void)put_strings(&p->one, &v, need, off);
            for (int f = 0; f < F__N; f++)
                p->off[keep][f] = off[f] == NO_OFF ? NO_OFF : off[f] + base;
            rc = buf_add(&p->mem, p->one.p, p->one.len);
        }
        b = p->mem.len - base + sizeof(struct entry);
        if (rc != 0 || (keep > 0 && bytes + b > TAILRING_BYTES)) {
            p->mem.len = base; /* not kept: the ring would drop it in this very publish */
            break;
        }
        src_of(&p->src[keep], e);
        p->e[keep].bytes = b;
        bytes += b;
        keep++;
    }
    if (keep == 0)
        return;
    /* Held while any of its entries is in the ring: no room past its end. */
    p->last = p->mem.len;
    p->blk = xrealloc(buf_detach(&p->mem, NULL), p->last);
    p->blk->refs = 0;
    p->from = n - keep;
    for (size_t i = 0; i < keep; i++) {
        size_t b = p->e[i].bytes;

        point(&p->e[i], &ev[n - 1 - i], (const char *)p->blk, p->off[i]);
        p->e[i].blk = p->blk;
        p->e[i].bytes = b;
    }
    p->ev = ev;
    p->n = n;
}

static int same_src(const struct src *r, const struct event *ev)
{
    struct src now;

    src_of(&now, ev);
    return memcmp(r->str, now.str, sizeof(now.str)) == 0 && r->tags == now.tags &&
           r->ntags == now.ntags && r->raw == now.raw && r->raw_len == now.raw_len &&
           r->raw_encoding == now.raw_encoding;
}

void tailring_publish_prepared(struct tailring *t, struct tailring_prep *p, const struct event *ev,
                               size_t n)
{
    struct tblock *blk;
    size_t keep;

    if (p == NULL || p->blk == NULL || p->ev != ev || p->n != n) {
        tailring_publish(t, ev, n);
        return;
    }
    keep = n - p->from;
    blk = p->blk;
    blk->refs = keep;
    for (size_t i = 0; i < keep; i++) {
        const struct event *e = &ev[n - 1 - i];

        /* Kind, issue and grouping are the writer's; a string it changed, an entry anew. */
        if (same_src(&p->src[i], e)) {
            set_scalars(&p->e[i].ev, e);
        } else {
            blk->refs--;
            fill(&p->e[i], e);
        }
    }
    p->blk = NULL;
    p->ev = NULL;
    if (blk->refs == 0)
        free(blk);
    put_entries(t, p->from, p->e, keep, 1);
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
