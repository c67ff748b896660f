/*
 * event.c - building records on the caller's thread: bilor_log(),
 * bilor_capture_error() and the bilor_event builder.
 *
 * DESIGN
 * Everything the caller pays for happens here: formatting, JSON escaping
 * and, for errors, capturing raw return addresses. The record leaves as
 * one compact JSON object. When it carries a stack trace, the object is
 * left open right after `"frames":` and the sender thread appends the
 * symbolized frames and the closing EVENT_TAIL (bc_event_finish()), so
 * the slow part never runs on the caller's thread.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "client/buf.h"
#include "client/clock.h"
#include "client/client_int.h"
#include "client/json.h"
#include "client/stack.h"
#include "client/sym.h"
#include "core/banned.h"

#define EVENT_TAIL "}}]}}" /* closes stacktrace, exception value, values, exception, event */
#define MSG_MAX 8192
#define TAG_MAX 200
#define PART_MAX (64u << 10) /* tags, extra data: each part of a record */

struct bilor_event {
    struct bilor *c;
    int level;
    int err; /* first error, returned by bilor_event_send() */
    int64_t ts;
    char *logger;
    char *tmpl; /* the message's printf template */
    struct bc_buf msg;
    struct bc_buf tags;
    struct bc_buf extra;
    int ntags, nextra;
    int has_exc;
    char *exc_type;
    struct bc_buf exc_value;
    size_t nframes;
    void *frames[BC_STACK_MAX];
};

static const char *const level_names[] = { "debug", "info", "warning", "error", "fatal" };

void bc_event_id(char out[33])
{
    static atomic_uint_fast64_t counter;
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];

    if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != (ssize_t)sizeof(raw)) {
        /* No entropy yet (early boot): unique is enough for an event id. */
        uint64_t x = (uint64_t)bc_clock_real_us() ^ ((uint64_t)getpid() << 40);

        x ^= atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull;
        for (size_t i = 0; i < sizeof(raw); i++) {
            x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull + i;
            raw[i] = (unsigned char)(x >> 56);
        }
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[32] = '\0';
}

void bc_event_head(struct bilor *c, struct bc_buf *b, const char *event_id, int64_t ts_us,
                   int level)
{
    bc_buf_addf(b, "{\"event_id\":\"%s\",\"timestamp\":%lld.%06d,\"platform\":\"native\"", event_id,
                (long long)(ts_us / 1000000), (int)(ts_us % 1000000));
    bc_buf_addf(b, ",\"level\":\"%s\"", level_names[level]);
    if (c->release != NULL) {
        bc_buf_adds(b, ",\"release\":");
        bc_json_strz(b, c->release);
    }
    bc_buf_adds(b, ",\"environment\":");
    bc_json_strz(b, c->environment != NULL ? c->environment : "production");
    if (c->server_name != NULL) {
        bc_buf_adds(b, ",\"server_name\":");
        bc_json_strz(b, c->server_name);
    }
    bc_buf_addf(b, ",\"sdk\":{\"name\":\"%s\",\"version\":\"%s\"}", BILOR_SDK_NAME,
                BILOR_VERSION_STRING);
    bc_buf_adds(b, ",\"contexts\":{\"os\":{\"name\":\"Linux\",\"version\":");
    bc_json_strz(b, c->os_release);
    bc_buf_adds(b, "}}");
}

/*
 * A record that lost part of its content for lack of memory or room is
 * not sent (bilor_event_send() returns the error). A rejected argument
 * only skips that field: the rest of the record is still worth sending.
 */
static int ev_fail(struct bilor_event *ev, int rc)
{
    if ((rc == BILOR_ENOMEM || rc == BILOR_ETOOBIG) && ev->err == 0)
        ev->err = rc;
    return rc;
}

struct bilor_event *bilor_event_new(struct bilor *c, enum bilor_level level, const char *logger)
{
    struct bilor_event *ev;

    if (c == NULL)
        return NULL;
    ev = bc_malloc(&c->alloc, sizeof(*ev));
    if (ev == NULL)
        return NULL;
    memset(ev, 0, offsetof(struct bilor_event, frames));
    ev->c = c;
    ev->level = level >= BILOR_DEBUG && level <= BILOR_FATAL ? (int)level : BILOR_ERROR;
    ev->ts = bc_clock_real_us();
    /* Texts longer than MSG_MAX are cut when written; the whole record is capped. */
    bc_buf_init(&ev->msg, &c->alloc, c->max_event_bytes);
    bc_buf_init(&ev->tags, &c->alloc, PART_MAX);
    bc_buf_init(&ev->extra, &c->alloc, c->max_event_bytes);
    bc_buf_init(&ev->exc_value, &c->alloc, c->max_event_bytes);
    if (bc_strdup(&c->alloc, logger, &ev->logger) != 0) {
        bc_free(&c->alloc, ev);
        return NULL;
    }
    return ev;
}

void bilor_event_discard(struct bilor_event *ev)
{
    const struct bilor_allocator *a;

    if (ev == NULL)
        return;
    a = &ev->c->alloc;
    bc_free(a, ev->logger);
    bc_free(a, ev->tmpl);
    bc_free(a, ev->exc_type);
    bc_buf_release(&ev->msg);
    bc_buf_release(&ev->tags);
    bc_buf_release(&ev->extra);
    bc_buf_release(&ev->exc_value);
    bc_free(a, ev);
}

int bilor_event_messagev(struct bilor_event *ev, const char *fmt, va_list ap)
{
    char *tmpl = NULL;
    int rc;

    if (ev == NULL || fmt == NULL)
        return ev != NULL ? ev_fail(ev, BILOR_EINVAL) : BILOR_EINVAL;
    rc = bc_strdup(&ev->c->alloc, fmt, &tmpl);
    if (rc != 0)
        return ev_fail(ev, rc);
    bc_free(&ev->c->alloc, ev->tmpl);
    ev->tmpl = tmpl;
    bc_buf_release(&ev->msg);
    return ev_fail(ev, bc_buf_vaddf(&ev->msg, fmt, ap));
}

int bilor_event_set_message(struct bilor_event *ev, const char *text)
{
    char *tmpl = NULL;
    int rc;

    if (ev == NULL || text == NULL)
        return ev != NULL ? ev_fail(ev, BILOR_EINVAL) : BILOR_EINVAL;
    rc = bc_strdup(&ev->c->alloc, text, &tmpl);
    if (rc != 0)
        return ev_fail(ev, rc);
    bc_free(&ev->c->alloc, ev->tmpl);
    ev->tmpl = tmpl;
    bc_buf_release(&ev->msg);
    return ev_fail(ev, bc_buf_adds(&ev->msg, text));
}

int bilor_event_message(struct bilor_event *ev, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = bilor_event_messagev(ev, fmt, ap);
    va_end(ap);
    return rc;
}

int bilor_event_tag(struct bilor_event *ev, const char *key, const char *value)
{
    if (ev == NULL)
        return BILOR_EINVAL;
    if (key == NULL || value == NULL || key[0] == '\0')
        return ev_fail(ev, BILOR_EINVAL);
    if (ev->ntags++ > 0)
        bc_buf_addc(&ev->tags, ',');
    bc_json_str_cut(&ev->tags, key, strlen(key), TAG_MAX);
    bc_buf_addc(&ev->tags, ':');
    return ev_fail(ev, bc_json_str_cut(&ev->tags, value, strlen(value), TAG_MAX));
}

/* Starts `"key":` in extra; the caller appends the value. */
static int extra_key(struct bilor_event *ev, const char *key)
{
    if (ev == NULL)
        return BILOR_EINVAL;
    if (key == NULL || key[0] == '\0')
        return ev_fail(ev, BILOR_EINVAL);
    return ev_fail(ev, bc_json_key(&ev->extra, &ev->nextra, key));
}

int bilor_event_extra_str(struct bilor_event *ev, const char *key, const char *value)
{
    int rc = extra_key(ev, key);

    if (rc != 0)
        return rc;
    return ev_fail(ev, bc_json_strz(&ev->extra, value));
}

int bilor_event_extra_int(struct bilor_event *ev, const char *key, long long value)
{
    int rc = extra_key(ev, key);

    if (rc != 0)
        return rc;
    return ev_fail(ev, bc_buf_addf(&ev->extra, "%lld", value));
}

int bilor_event_extra_double(struct bilor_event *ev, const char *key, double value)
{
    int rc = extra_key(ev, key);

    if (rc != 0)
        return rc;
    return ev_fail(ev, bc_json_double(&ev->extra, value));
}

int bilor_event_extra_bool(struct bilor_event *ev, const char *key, int value)
{
    int rc = extra_key(ev, key);

    if (rc != 0)
        return rc;
    return ev_fail(ev, bc_buf_adds(&ev->extra, value ? "true" : "false"));
}

int bilor_event_extra_json(struct bilor_event *ev, const char *key, const char *json)
{
    size_t mark;
    int rc, n;

    if (ev == NULL)
        return BILOR_EINVAL;
    /* Checked before the key goes in, so a bad value leaves the record intact. */
    if (json == NULL || bc_json_check(json, strlen(json), NULL) != 0)
        return ev_fail(ev, BILOR_EINVAL);
    mark = ev->extra.len;
    n = ev->nextra;
    rc = extra_key(ev, key);
    if (rc != 0)
        return rc;
    rc = bc_json_check(json, strlen(json), &ev->extra);
    if (rc != 0 && ev->extra.err == 0) {
        ev->extra.len = mark;
        ev->nextra = n;
    }
    return ev_fail(ev, rc);
}

static int event_exception_v(struct bilor_event *ev, const char *type, const void *from,
                             const char *fmt, va_list ap)
{
    char *t = NULL;
    int rc;

    if (type == NULL || type[0] == '\0' || fmt == NULL)
        return ev_fail(ev, BILOR_EINVAL);
    rc = bc_strdup(&ev->c->alloc, type, &t);
    if (rc != 0)
        return ev_fail(ev, rc);
    bc_free(&ev->c->alloc, ev->exc_type);
    ev->exc_type = t;
    ev->has_exc = 1;
    bc_buf_release(&ev->exc_value);
    rc = bc_buf_vaddf(&ev->exc_value, fmt, ap);
    ev->nframes = from != NULL ? bc_stack_capture(ev->frames, BC_STACK_MAX, from) : 0;
    return ev_fail(ev, rc);
}

int bilor_event_exception(struct bilor_event *ev, const char *type, int with_stack, const char *fmt,
                          ...)
{
    const void *from = with_stack ? __builtin_return_address(0) : NULL;
    va_list ap;
    int rc;

    if (ev == NULL)
        return BILOR_EINVAL;
    va_start(ap, fmt);
    rc = event_exception_v(ev, type, from, fmt, ap);
    va_end(ap);
    return rc;
}

static void event_body(struct bilor_event *ev, struct bc_buf *b)
{
    if (ev->logger != NULL) {
        bc_buf_adds(b, ",\"logger\":");
        bc_json_strz(b, ev->logger);
    }
    if (ev->tmpl != NULL) {
        bc_buf_adds(b, ",\"logentry\":{\"message\":");
        bc_json_str_cut(b, ev->tmpl, strlen(ev->tmpl), MSG_MAX);
        bc_buf_adds(b, ",\"formatted\":");
        bc_json_str_cut(b, bc_buf_str(&ev->msg), ev->msg.len, MSG_MAX);
        bc_buf_addc(b, '}');
    }
    if (ev->ntags > 0) {
        bc_buf_adds(b, ",\"tags\":{");
        bc_buf_add(b, ev->tags.p, ev->tags.len);
        bc_buf_addc(b, '}');
    }
    if (ev->nextra > 0) {
        bc_buf_adds(b, ",\"extra\":{");
        bc_buf_add(b, ev->extra.p, ev->extra.len);
        bc_buf_addc(b, '}');
    }
}

/* Writes the exception; leaves the object open after "frames": when there is a stack. */
static void event_exception(struct bilor_event *ev, struct bc_buf *b)
{
    bc_buf_adds(b, ",\"exception\":{\"values\":[{\"type\":");
    bc_json_strz(b, ev->exc_type);
    bc_buf_adds(b, ",\"value\":");
    bc_json_str_cut(b, bc_buf_str(&ev->exc_value), ev->exc_value.len, MSG_MAX);
    bc_buf_adds(b, ",\"mechanism\":{\"type\":\"generic\",\"handled\":true}");
    if (ev->nframes > 0)
        bc_buf_adds(b, ",\"stacktrace\":{\"frames\":");
    else
        bc_buf_adds(b, "}]}}");
}

static int record_from_event(struct bilor_event *ev, struct bc_record *r)
{
    struct bilor *c = ev->c;
    struct bc_buf b;
    int rc;

    bc_buf_init(&b, &c->alloc, c->max_event_bytes);
    bc_event_id(r->event_id);
    bc_event_head(c, &b, r->event_id, ev->ts, ev->level);
    event_body(ev, &b);
    if (ev->has_exc)
        event_exception(ev, &b);
    else
        bc_buf_addc(&b, '}');
    rc = b.err;
    if (rc == 0 && ev->nframes > 0) {
        r->frames = bc_malloc(&c->alloc, ev->nframes * sizeof(void *));
        rc = r->frames == NULL ? BILOR_ENOMEM : 0;
        if (rc == 0) {
            memcpy(r->frames, ev->frames, ev->nframes * sizeof(void *));
            r->nframes = ev->nframes;
        }
    }
    if (rc != 0) {
        bc_buf_release(&b);
        return rc;
    }
    r->json = bc_buf_detach(&b, &r->len);
    r->cat = BC_CAT_ERROR;
    r->level = ev->level;
    return 0;
}

int bilor_event_send(struct bilor_event *ev, char event_id[33])
{
    struct bc_record *r = NULL;
    int rc;

    if (event_id != NULL)
        event_id[0] = '\0';
    if (ev == NULL)
        return BILOR_EINVAL;
    rc = ev->err;
    if (rc == 0) {
        r = bc_record_new(&ev->c->alloc);
        rc = r == NULL ? BILOR_ENOMEM : record_from_event(ev, r);
    }
    if (rc == 0 && event_id != NULL)
        memcpy(event_id, r->event_id, 33);
    if (rc == 0)
        rc = bc_client_enqueue(ev->c, r);
    else
        bc_record_free(&ev->c->alloc, r);
    bilor_event_discard(ev);
    return rc;
}

int bilor_logv(struct bilor *c, enum bilor_level level, const char *logger, const char *fmt,
               va_list ap)
{
    struct bilor_event *ev;
    int rc;

    if (c == NULL || fmt == NULL)
        return BILOR_EINVAL;
    ev = bilor_event_new(c, level, logger);
    if (ev == NULL)
        return BILOR_ENOMEM;
    rc = bilor_event_messagev(ev, fmt, ap);
    if (rc != 0) {
        bilor_event_discard(ev);
        return rc;
    }
    return bilor_event_send(ev, NULL);
}

int bilor_log(struct bilor *c, enum bilor_level level, const char *logger, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = bilor_logv(c, level, logger, fmt, ap);
    va_end(ap);
    return rc;
}

int bilor_capture_error(struct bilor *c, const char *type, const char *fmt, ...)
{
    const void *from = __builtin_return_address(0);
    struct bilor_event *ev;
    va_list ap;
    int rc;

    if (c == NULL)
        return BILOR_EINVAL;
    ev = bilor_event_new(c, BILOR_ERROR, NULL);
    if (ev == NULL)
        return BILOR_ENOMEM;
    va_start(ap, fmt);
    rc = event_exception_v(ev, type, from, fmt, ap);
    va_end(ap);
    if (rc != 0) {
        bilor_event_discard(ev);
        return rc;
    }
    return bilor_event_send(ev, NULL);
}

/* Frames that could not be symbolized still carry their addresses. */
static void raw_frames(struct bc_buf *b, void *const *addrs, size_t n)
{
    bc_buf_addc(b, '[');
    for (size_t i = n; i > 0; i--)
        bc_buf_addf(b, "{\"instruction_addr\":\"0x%" PRIxPTR "\"}%s", (uintptr_t)addrs[i - 1],
                    i > 1 ? "," : "");
    bc_buf_addc(b, ']');
}

int bc_event_finish(struct bilor *c, struct bc_record *r, struct bc_sym *sym)
{
    struct bc_buf b;

    if (r->nframes == 0)
        return 0;
    bc_buf_init(&b, &c->alloc, c->max_event_bytes);
    bc_buf_add(&b, r->json, r->len);
    if (sym != NULL)
        bc_sym_frames(sym, r->frames, r->nframes, 0, &b);
    else
        raw_frames(&b, r->frames, r->nframes);
    bc_buf_adds(&b, EVENT_TAIL);
    if (b.err != 0) {
        int rc = b.err;

        bc_buf_release(&b);
        return rc;
    }
    bc_free(&c->alloc, r->json);
    r->json = bc_buf_detach(&b, &r->len);
    bc_free(&c->alloc, r->frames);
    r->frames = NULL;
    r->nframes = 0;
    return 0;
}
