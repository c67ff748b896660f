/*
 * api_tail.c - GET /api/0/projects/{id}/logs/tail/?query=Q: new matching
 * log lines as Server-Sent Events.
 *
 * DESIGN
 * The digest publishes every stored batch to a bounded ring
 * (digest/tailring.h); each client follows it from its own position and
 * filters with query_match on the same document search uses
 * (api_search_doc.c). A client holds at most TAIL_BUF_MAX bytes of
 * formatted events: the next lines are read from the ring only when those
 * went out, so a slow reader falls behind the ring rather than growing the
 * server, and is then told how many lines it missed (event "missed").
 *
 *   id: <seq>            the ring's number of the line (SSE resume)
 *   data: {...}          the line as /logs/ lists it
 *
 * Last-Event-ID resumes after that line while the ring still holds it. A
 * comment line is sent every TAIL_HEARTBEAT_US so proxies and clients see
 * the stream is alive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"
#include "api/api_search.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "digest/tailring.h"
#include "search/query.h"
#include "core/banned.h"

#define TAIL_BUF_MAX (256u << 10)
#define TAIL_READ 64
#define TAIL_HEARTBEAT_US (10 * CLOCK_US_PER_SEC)

struct tail {
    struct bl_req req; /* a copy whose pool is scratch (reset per fill) */
    struct tailring *ring;
    int64_t project_id;
    const struct query_node *query; /* in the request's pool, alive until completion */
    uint64_t next;
    struct buf out;
    size_t sent; /* of out */
    int64_t last_write;
    struct pool scratch;
};

static void tail_free(void *ctx)
{
    struct tail *t = ctx;

    buf_release(&t->out);
    pool_release(&t->scratch);
    free(t);
}

static int line_matches(struct tail *t, const struct store_event *e)
{
    struct api_doc d;
    int m;

    if (t->query == NULL)
        return 1;
    /* a payload that does not parse leaves the columns to match on */
    (void)api_doc_init(&d, e, &t->req.app->limits, &t->scratch);
    m = query_match(t->query, api_search_doc_get, &d, clock_now_us());
    api_doc_free(&d);
    return m;
}

static void add_line(struct tail *t, const struct store_event *e, uint64_t seq)
{
    struct buf b = BUF_INIT(TAIL_BUF_MAX);
    struct jw w;

    jw_init(&w, &b);
    jw_obj(&w, NULL);
    api_write_log_row(&t->req, &w, e);
    jw_obj_end(&w);
    if (jw_end(&w) == 0)
        buf_addf(&t->out, "id: %llu\ndata: %s\n\n", (unsigned long long)seq, b.p);
    buf_release(&b);
}

/* Formats the next lines of the ring into out. */
static void tail_fill(struct tail *t)
{
    struct store_event ev[TAIL_READ];
    uint64_t seqs[TAIL_READ], missed = 0;
    size_t n;

    pool_reset(&t->scratch);
    t->req.pool = &t->scratch;
    n = tailring_read(t->ring, t->project_id, EV_KIND_LOG, &t->next, ev, seqs, TAIL_READ, &missed,
                      &t->scratch);
    if (missed > 0)
        buf_addf(&t->out, "event: missed\ndata: {\"missed\":%llu}\n\n", (unsigned long long)missed);
    for (size_t i = 0; i < n && t->out.len < TAIL_BUF_MAX / 2; i++)
        if (line_matches(t, &ev[i]))
            add_line(t, &ev[i], seqs[i]);
}

static long tail_stream(void *ctx, char *dst, size_t max)
{
    struct tail *t = ctx;
    int64_t now = clock_mono_us();
    size_t n;

    if (t->sent == t->out.len) {
        buf_reset(&t->out);
        t->sent = 0;
        tail_fill(t);
        if (t->out.len == 0 && now - t->last_write >= TAIL_HEARTBEAT_US)
            buf_addstr(&t->out, ": heartbeat\n\n");
    }
    n = t->out.len - t->sent;
    if (n > max)
        n = max;
    if (n > 0) {
        memcpy(dst, t->out.p + t->sent, n);
        t->sent += n;
        t->last_write = now;
    }
    return (long)n;
}

/* Where a client resumes: after Last-Event-ID, else at the ring's head (new lines only). */
static uint64_t start_at(struct bl_req *req, struct tailring *ring)
{
    const char *id = req_header(req, "Last-Event-ID");
    char *end;
    unsigned long long v;

    if (id == NULL || *id == '\0')
        return tailring_head(ring);
    v = strtoull(id, &end, 10);
    if (*end != '\0' || v == 0)
        return tailring_head(ring);
    return (uint64_t)v + 1;
}

static const char *const tail_params[] = { "query", NULL };

void api_logs_tail(struct bl_req *req, struct bl_resp *resp)
{
    struct search_req s;
    struct tailring *ring = digest_tail(req->app->digest);
    struct tail *t;

    if (api_search_begin(req, resp, QUERY_LOGS, EV_KIND_LOG, tail_params, &s) < 0)
        return;
    if (ring == NULL) {
        resp_error(resp, 503, "live tail needs the digest running");
        return;
    }
    t = xcalloc(1, sizeof(*t));
    t->req = *req;
    t->ring = ring;
    t->project_id = s.q.project_id;
    t->query = s.m.query;
    t->next = start_at(req, ring);
    t->last_write = clock_mono_us();
    buf_init(&t->out, TAIL_BUF_MAX * 2);
    pool_init(&t->scratch, 16384);
    /* a first comment flushes the headers: the client knows it is connected */
    buf_addf(&t->out, ": tail of project %lld\nretry: 2000\n\n", (long long)t->project_id);
    resp->status = 200;
    resp->content_type = "text/event-stream";
    resp_header(resp, "Cache-Control", "no-cache");
    resp_header(resp, "X-Accel-Buffering", "no");
    resp->stream = tail_stream;
    resp->stream_free = tail_free;
    resp->stream_ctx = t;
}
