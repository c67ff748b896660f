/*
 * slim_diff.h - the differential check of a Sentry event's two parses,
 * shared by tests/unit/test_slim.c and tests/fuzz/fuzz_slim.c.
 *
 * The whole text's tree (json_parse, scrub_tree, normalize_sentry,
 * fingerprint_event: what the digest did for every event, and still does
 * when slim_event declines) is the reference. When slim_event gives a copy
 * that parses and scrubs to nothing, the whole text must parse too, scrub
 * to nothing too, and normalize and group to the very same event.
 */
#ifndef BL_SLIM_DIFF_H
#define BL_SLIM_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/fingerprint.h"
#include "ingest/ingest.h"
#include "ingest/normalize.h"
#include "ingest/scrub.h"
#include "ingest/slim.h"

enum { SD_SAME = 0, SD_TREE = 1, SD_DIFF = 2 };

#define SD_RECEIVED INT64_C(1714564805000000)

static void sd_str(struct buf *b, const char *name, const char *v)
{
    buf_addf(b, "%s=%s\n", name, v != NULL ? v : "(null)");
}

static void sd_frames(struct buf *b, const struct ev_frame *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sd_str(b, " function", f[i].function);
        sd_str(b, " module", f[i].module);
        sd_str(b, " package", f[i].package);
        sd_str(b, " filename", f[i].filename);
        sd_str(b, " abs_path", f[i].abs_path);
        sd_str(b, " context_line", f[i].context_line);
        buf_addf(b, " %d %d %d %d %d\n", f[i].lineno, f[i].colno, f[i].in_app, f[i].no_group,
                 f[i].sourcemapped);
    }
}

/* Everything the digest stores of an event, as text. */
static void sd_dump(const struct event *e, struct buf *b)
{
    buf_addf(b, "%s %d %d %lld %s %s %d\n", e->event_id, e->kind, e->level,
             (long long)e->timestamp, e->fingerprint, e->fingerprint_prev, e->grouping_version);
    sd_str(b, "logger", e->logger);
    sd_str(b, "message", e->message);
    sd_str(b, "template", e->message_template);
    sd_str(b, "platform", e->platform);
    sd_str(b, "release", e->release);
    sd_str(b, "environment", e->environment);
    sd_str(b, "server_name", e->server_name);
    sd_str(b, "transaction", e->transaction);
    sd_str(b, "trace_id", e->trace_id);
    sd_str(b, "span_id", e->span_id);
    sd_str(b, "request_id", e->request_id);
    sd_str(b, "user_id", e->user_id);
    sd_str(b, "user_email", e->user_email);
    sd_str(b, "user_ip", e->user_ip);
    sd_str(b, "user_name", e->user_name);
    sd_str(b, "title", e->title);
    sd_str(b, "culprit", e->culprit);
    sd_str(b, "search_text", e->search_text);
    buf_addf(b, "template_hash=%llu\n", (unsigned long long)e->template_hash);
    for (size_t i = 0; i < e->ntags; i++)
        buf_addf(b, "tag %s=%s\n", e->tags[i].key, e->tags[i].value);
    for (size_t i = 0; i < e->nfingerprint_in; i++)
        sd_str(b, "fingerprint_in", e->fingerprint_in[i]);
    for (size_t i = 0; i < e->nexc; i++) {
        const struct ev_exception *x = &e->exc[i];

        sd_str(b, "exc type", x->type);
        sd_str(b, "exc value", x->value);
        sd_str(b, "exc module", x->module);
        sd_str(b, "exc mechanism", x->mechanism);
        buf_addf(b, "exc %d %d %zu\n", x->handled, x->synthetic, x->nframes);
        sd_frames(b, x->frames, x->nframes);
    }
    buf_addf(b, "frames %zu\n", e->nframes);
    sd_frames(b, e->frames, e->nframes);
    if (e->template_frame != NULL)
        sd_frames(b, e->template_frame, 1);
}

static void sd_event(cJSON *obj, const struct ingest_limits *lim, struct pool *pool,
                     struct buf *out)
{
    struct event ev;

    memset(&ev, 0, sizeof(ev));
    ev.received_at = SD_RECEIVED;
    normalize_sentry(obj, &ev, lim, pool);
    fingerprint_event(&ev, pool);
    sd_dump(&ev, out);
}

/*
 * One event text under rules r (NULL: the defaults) and limits lim:
 * SD_TREE when the slim path declines (slim_event's 0, a copy that does not
 * parse or that the scrub changes: the digest then parses the whole text),
 * SD_SAME, or SD_DIFF with why set.
 */
static int slim_diff(const char *p, size_t n, const struct scrub_rules *r,
                     const struct ingest_limits *lim, const char **why)
{
    struct json_limits jl = { lim->max_event, lim->max_depth };
    struct buf copy = BUF_INIT(n * 2 + 64), a = BUF_INIT(SIZE_MAX / 2), b = BUF_INIT(SIZE_MAX / 2);
    struct pool pool = POOL_INIT(4096);
    cJSON *whole = NULL, *slim = NULL;
    int rc = SD_TREE;

    *why = "";
    if (n > lim->max_event || slim_event(p, n, lim->max_depth, r, &copy) != 1)
        goto out;
    slim = json_parse(copy.p, copy.len, &jl, NULL);
    if (slim == NULL || !cJSON_IsObject(slim) || scrub_tree(slim, r) > 0)
        goto out;
    whole = json_parse(p, n, &jl, NULL);
    rc = SD_DIFF;
    if (whole == NULL || !cJSON_IsObject(whole)) {
        *why = "the slim copy parses, the whole text does not";
        goto out;
    }
    if (scrub_tree(whole, r) > 0) {
        *why = "skipped a value the scrub changes";
        goto out;
    }
    sd_event(whole, lim, &pool, &a);
    sd_event(slim, lim, &pool, &b);
    if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0) {
        *why = "the slim copy normalizes to another event";
        if (getenv("SLIM_DIFF_DUMP") != NULL) /* both events, to see which field differs */
            fprintf(stderr, "whole:\n%.*s\nslim:\n%.*s\n", (int)a.len, a.p, (int)b.len, b.p);
        goto out;
    }
    rc = SD_SAME;
out:
    json_delete(whole);
    json_delete(slim);
    buf_release(&copy);
    buf_release(&a);
    buf_release(&b);
    pool_release(&pool);
    return rc;
}

#endif
