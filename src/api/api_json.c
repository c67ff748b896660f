#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/banned.h"

void aj_begin(struct bl_resp *resp, struct jw *w)
{
    buf_reset(&resp->body);
    jw_init(w, &resp->body);
}

void aj_send(struct bl_resp *resp, struct jw *w)
{
    int rc = jw_end(w);

    if (rc < 0) {
        resp_error(resp, 500, "%s",
                   rc == BL_ETOOBIG ? "response too large" : "response cannot be written");
        return;
    }
    resp->status = 200;
    resp->content_type = "application/json";
}

/* Appends &name=value (percent-encoded) when the request had that query parameter. */
static void keep_param(struct bl_req *req, struct buf *b, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *v = req_query(req, name);

    if (v == NULL || buf_addf(b, "&%s=", name) < 0)
        return;
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == ':')
            buf_addch(b, c);
        else
            buf_addf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

void aj_link_next(struct bl_req *req, struct bl_resp *resp, const char *next_cursor)
{
    static const char *const keep[] = { "query", "limit", "status", "sort", "since", "until" };
    struct buf b = BUF_INIT(4096);

    if (next_cursor == NULL || next_cursor[0] == '\0')
        return;
    buf_addf(&b, "<%s%s?cursor=%s", req->app->public_url, req->path, next_cursor);
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        keep_param(req, &b, keep[i]);
    buf_addf(&b, ">; rel=\"next\"; results=\"true\"; cursor=\"%s\"", next_cursor);
    resp_header(resp, "Link", pool_strndup(req->pool, b.p, b.len));
    buf_release(&b);
}

int aj_limit(struct bl_req *req, struct bl_resp *resp, size_t def, size_t max, size_t *out)
{
    const char *s = req_query(req, "limit");
    char *end;
    long v;

    *out = def;
    if (s == NULL)
        return 0;
    v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || (size_t)v > max) {
        resp_error(resp, 400, "limit must be an integer from 1 to %zu", max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

char *aj_dsn(struct bl_req *req, const char *key, int64_t project_id)
{
    char *out = pool_alloc(req->pool, 1024);

    config_dsn(req->app->public_url, key, (long long)project_id, out, 1024);
    return out;
}

/* "15m", "24h", "7d" (or "-15m"): that long before now. */
static int relative_time(const char *s, int64_t *us)
{
    static const struct {
        char unit;
        int64_t us;
    } units[] = { { 's', CLOCK_US_PER_SEC },
                  { 'm', 60 * CLOCK_US_PER_SEC },
                  { 'h', CLOCK_US_PER_HOUR },
                  { 'd', CLOCK_US_PER_DAY },
                  { 'w', 7 * CLOCK_US_PER_DAY } };
    int64_t n = 0;
    size_t i = *s == '-' ? 1 : 0, digits = 0;

    for (; s[i] >= '0' && s[i] <= '9' && digits < 7; i++, digits++)
        n = n * 10 + (s[i] - '0');
    if (digits == 0 || s[i] == '\0' || s[i + 1] != '\0')
        return -1;
    for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
        if (units[k].unit == s[i]) {
            *us = clock_now_us() - n * units[k].us;
            return *us > 0 ? 0 : -1;
        }
    }
    return -1;
}

int aj_parse_time(const char *s, int64_t *us)
{
    size_t len = strlen(s);

    if (relative_time(s, us) == 0)
        return 0;

    /* An epoch of 0 would read as "no bound" downstream: only positive times are times. */
    if (len == 0 || ingest_time_from_string(s, len, us) < 0 || *us <= 0)
        return -1;
    return 0;
}

/* One bound: 0 when absent, -1 after answering 400. */
static int time_param(struct bl_req *req, struct bl_resp *resp, const char *name, int64_t *out)
{
    const char *s = req_query(req, name);

    *out = 0;
    if (s == NULL || *s == '\0') /* "?since=" is an absent bound, as it always was */
        return 0;
    if (aj_parse_time(s, out) == 0)
        return 0;
    resp_error(resp, 400,
               "'%s' must be an RFC 3339 time, positive epoch seconds or a"
               " relative time such as 15m, 24h or 7d",
               name);
    return -1;
}

int aj_time_range(struct bl_req *req, struct bl_resp *resp, int64_t *since, int64_t *until)
{
    if (time_param(req, resp, "since", since) < 0 || time_param(req, resp, "until", until) < 0)
        return -1;
    if (*since > 0 && *until > 0 && *since > *until) {
        resp_error(resp, 400, "'since' must not be after 'until'");
        return -1;
    }
    return 0;
}
