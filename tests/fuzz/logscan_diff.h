/*
 * logscan_diff.h - the differential check of a JSON line's two decodes,
 * shared by tests/unit/test_logscan.c and tests/fuzz/fuzz_logscan.c.
 *
 * The tree path (json_parse, scrub_tree, normalize_log_line: what the
 * digest did for every line, and still does when the text path declines)
 * is the reference; normalize_log_text must either decline (1) or give the
 * very same event, and may only accept lines the scrub leaves unchanged.
 */
#ifndef BL_LOGSCAN_DIFF_H
#define BL_LOGSCAN_DIFF_H

#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/pool.h"
#include "ingest/ingest.h"
#include "ingest/normalize.h"
#include "ingest/scrub.h"

enum { LSD_SKIP = -1, LSD_SAME = 0, LSD_TREE = 1, LSD_DIFF = 2 };

#define LSD_RECEIVED INT64_C(1714564805000000)

static int lsd_str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The fields a log line's normalizer sets; "" when they agree, else the first that differs. */
static const char *lsd_compare(const struct event *a, const struct event *b)
{
    static const struct {
        const char *name;
        size_t off;
    } strs[] = {
        { "logger", offsetof(struct event, logger) },
        { "message", offsetof(struct event, message) },
        { "message_template", offsetof(struct event, message_template) },
        { "platform", offsetof(struct event, platform) },
        { "release", offsetof(struct event, release) },
        { "environment", offsetof(struct event, environment) },
        { "server_name", offsetof(struct event, server_name) },
        { "transaction", offsetof(struct event, transaction) },
        { "trace_id", offsetof(struct event, trace_id) },
        { "span_id", offsetof(struct event, span_id) },
        { "request_id", offsetof(struct event, request_id) },
        { "user_id", offsetof(struct event, user_id) },
        { "user_email", offsetof(struct event, user_email) },
        { "title", offsetof(struct event, title) },
    };

    if (a->source != b->source)
        return "source";
    if (a->kind != b->kind)
        return "kind";
    if (a->level != b->level)
        return "level";
    if (a->timestamp != b->timestamp)
        return "timestamp";
    if (a->ntags != b->ntags || a->nexc != b->nexc || a->nframes != b->nframes)
        return "counts";
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (!lsd_str_eq(*(const char *const *)((const char *)a + strs[i].off),
                        *(const char *const *)((const char *)b + strs[i].off)))
            return strs[i].name;
    }
    return "";
}

/*
 * One line (no newline) under rules r (NULL: defaults) and limits lim.
 * LSD_SKIP when the line is not one the digest stores (the door's rule),
 * else LSD_SAME, LSD_TREE (declined), or LSD_DIFF with why set.
 */
static int logscan_diff(const char *line, size_t n, const struct scrub_rules *r,
                        const struct ingest_limits *lim, const char **why)
{
    struct json_limits jl = { lim->max_line, lim->max_depth };
    struct pool pool = POOL_INIT(4096);
    struct event tree, text;
    cJSON *obj;
    size_t scrubbed;
    int rc;

    *why = "";
    if (ingest_ndjson_line_ok(line, n, lim, NULL) != 0)
        return LSD_SKIP;
    memset(&text, 0, sizeof(text));
    text.received_at = LSD_RECEIVED;
    rc = normalize_log_text(line, n, r, &text, lim, &pool);
    obj = json_parse(line, n, &jl, NULL);
    if (obj == NULL || !cJSON_IsObject(obj)) {
        /* The door's rule promised a JSON object. */
        *why = "the tree path cannot parse a line the door accepts";
        rc = LSD_DIFF;
        goto out;
    }
    memset(&tree, 0, sizeof(tree));
    tree.received_at = LSD_RECEIVED;
    scrubbed = scrub_tree(obj, r);
    normalize_log_line(obj, &tree, lim, &pool);
    if (rc == 1) {
        /* Declining leaves ev untouched. */
        struct event zero;

        memset(&zero, 0, sizeof(zero));
        zero.received_at = LSD_RECEIVED;
        rc = memcmp(&zero, &text, sizeof(zero)) == 0 ? LSD_TREE : LSD_DIFF;
        if (rc == LSD_DIFF)
            *why = "declined but changed the event";
        goto out;
    }
    if (rc != 0) {
        *why = "unknown answer";
        rc = LSD_DIFF;
    } else if (scrubbed > 0) {
        *why = "accepted a line the scrub changes";
        rc = LSD_DIFF;
    } else if ((*why = lsd_compare(&tree, &text))[0] != '\0') {
        rc = LSD_DIFF;
    } else {
        rc = LSD_SAME;
    }
out:
    json_delete(obj);
    pool_release(&pool);
    return rc;
}

#endif
