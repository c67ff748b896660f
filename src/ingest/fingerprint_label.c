/*
 * fingerprint_label.c - what an issue shows of its event: the title, the
 * culprit (where it happened) and the text its exceptions are searched by.
 * Computed with the fingerprint (fingerprint.c) but never part of the hash.
 */
#include <stdint.h>
#include <string.h>

#include "ingest/fingerprint.h"
#include "core/buf.h"
#include "core/pool.h"
#include "core/banned.h"

#define FP_TITLE_MAX 200
#define FP_SEARCH_MAX (64u << 10)

/* The frame a person would look at first: the last in-app one, else the last. */
const struct ev_frame *fp_culprit_frame(const struct event *ev)
{
    const struct ev_exception *x = ev->nexc > 0 ? &ev->exc[ev->nexc - 1] : NULL;
    const struct ev_frame *fr = x != NULL ? x->frames : ev->frames;
    size_t n = x != NULL ? x->nframes : ev->nframes;

    if (n == 0)
        return NULL;
    for (size_t i = n; i > 0; i--) {
        if (fr[i - 1].in_app == 1)
            return &fr[i - 1];
    }
    return &fr[n - 1];
}

/* The first line of s, cut to max bytes at a UTF-8 boundary. */
static size_t first_line(const char *s, size_t max)
{
    size_t n = strcspn(s, "\r\n");

    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

/*
 * The first line of t (a string of the event, in pool like it), cut as
 * first_line cuts it: t itself when it is all of it (a log line's message
 * is its title: no copy per line), else a copy.
 */
static const char *first_of(const char *t, struct pool *pool)
{
    size_t n = first_line(t, FP_TITLE_MAX);

    return t[n] == '\0' ? t : pool_strndup(pool, t, n);
}

/*
 * a, sep and the first blen bytes of b in pool, cut to its first line as
 * first_line cuts it: what pool_strndup of first_line of
 * pool_printf("%s<sep>%.*s") gives, without formatting or a second copy.
 */
static char *join_line(struct pool *pool, const char *a, const char *sep, const char *b,
                       size_t blen)
{
    size_t na = strlen(a), ns = strlen(sep);
    char *t = pool_alloc(pool, na + ns + blen + 1);

    memcpy(t, a, na);
    memcpy(t + na, sep, ns);
    memcpy(t + na + ns, b, blen);
    t[na + ns + blen] = '\0';
    t[first_line(t, FP_TITLE_MAX)] = '\0';
    return t;
}

/*
 * The title of an event with neither exception nor message: where its own
 * stack stopped ("poll in app.jobs"), or its template's file.
 */
static const char *shape_title(const struct event *ev, struct pool *pool)
{
    const struct ev_frame *f = ev->nframes > 0 ? fp_culprit_frame(ev) : NULL;
    const char *where = NULL;

    if (f != NULL) {
        where = f->module != NULL && f->module[0] != '\0' ? f->module : f->filename;
        if (f->function != NULL && where != NULL)
            return pool_printf(pool, "%s in %s", f->function, where);
        if (f->function != NULL || where != NULL)
            return f->function != NULL ? f->function : where;
    }
    if (ev->template_frame != NULL && ev->template_frame->filename != NULL)
        return pool_printf(pool, "Template error in %s", ev->template_frame->filename);
    return "<unlabeled event>";
}

const char *fp_title(const struct event *ev, struct pool *pool)
{
    const struct ev_exception *x = ev->nexc > 0 ? &ev->exc[ev->nexc - 1] : NULL;
    const char *type = x != NULL && x->type != NULL && x->type[0] != '\0' ? x->type : NULL;
    const char *value = x != NULL && x->value != NULL && x->value[0] != '\0' ? x->value : NULL;
    const char *t;

    if (type != NULL && value != NULL)
        return join_line(pool, type, ": ", value, first_line(value, FP_TITLE_MAX));
    if (type != NULL || value != NULL)
        t = type != NULL ? type : value;
    else if (ev->message != NULL && ev->message[0] != '\0')
        t = ev->message;
    else
        t = shape_title(ev, pool);
    return first_of(t, pool);
}

const char *fp_culprit(const struct event *ev, struct pool *pool)
{
    const struct ev_frame *f = fp_culprit_frame(ev);
    const char *where = NULL, *c;

    if (f != NULL) {
        where = f->module != NULL && f->module[0] != '\0' ? f->module : f->filename;
        if (where != NULL && f->function != NULL)
            return join_line(pool, where, " in ", f->function, strlen(f->function));
        c = where != NULL ? where : f->function;
        if (c != NULL)
            return pool_strndup(pool, c, first_line(c, FP_TITLE_MAX));
    }
    if (ev->transaction != NULL && ev->transaction[0] != '\0')
        return pool_strndup(pool, ev->transaction, first_line(ev->transaction, FP_TITLE_MAX));
    return ev->logger;
}

const char *fp_search_text(const struct event *ev, struct pool *pool)
{
    struct buf b = BUF_INIT(FP_SEARCH_MAX);
    const char *s;

    if (ev->nexc == 0)
        return NULL;
    for (size_t i = 0; i < ev->nexc; i++) {
        const struct ev_exception *x = &ev->exc[i];

        if (i > 0)
            (void)buf_addch(&b, '\n');
        if (x->type != NULL)
            (void)buf_addstr(&b, x->type);
        if (x->type != NULL && x->value != NULL)
            (void)buf_addch(&b, ' ');
        if (x->value != NULL)
            (void)buf_addstr(&b, x->value);
    }
    s = pool_strndup(pool, b.p, b.len);
    buf_release(&b);
    return s;
}
