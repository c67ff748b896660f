#include <stdlib.h>
#include <string.h>

#include "api/metrics.h"
#include "core/xmalloc.h"
#include "core/banned.h"

static const char *const door_names[DOOR__N] = { "store", "envelope", "logs", "api", "ops", "other" };
static const char *const status_names[MS__N] = {
    "200", "202", "400", "401", "403", "404", "405", "413", "429", "500", "503", "other",
};
static const int status_codes[MS__N] = { 200, 202, 400, 401, 403, 404, 405, 413, 429, 500, 503, 0 };
static const char *const reject_names[MR__N] = {
    "auth", "forbidden", "too_large", "malformed", "backlog", "journal",
};

struct metrics *metrics_new(void)
{
    return xcalloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    free(m);
}

void metrics_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

void metrics_request(struct metrics *m, int door, int status)
{
    int s = MS_OTHER;

    for (int i = 0; i < MS_OTHER; i++)
        if (status_codes[i] == status)
            s = i;
    if (door < 0 || door >= DOOR__N)
        door = DOOR_OTHER;
    metrics_add(&m->requests[door][s], 1);
}

static uint64_t rd(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static int render_http(const struct metrics *m, struct buf *out)
{
    int rc = buf_addstr(out, "# HELP bilor_http_requests_total HTTP requests by door and status.\n"
                             "# TYPE bilor_http_requests_total counter\n");

    for (int d = 0; rc == 0 && d < DOOR__N; d++)
        for (int s = 0; rc == 0 && s < MS__N; s++)
            if (rd(&m->requests[d][s]) != 0)
                rc = buf_addf(out, "bilor_http_requests_total{door=\"%s\",status=\"%s\"} %llu\n",
                              door_names[d], status_names[s],
                              (unsigned long long)rd(&m->requests[d][s]));
    rc = rc ? rc : buf_addstr(out, "# HELP bilor_events_accepted_total Events and log lines acknowledged, by door.\n"
                                   "# TYPE bilor_events_accepted_total counter\n");
    for (int d = 0; rc == 0 && d < DOOR_API; d++)
        rc = buf_addf(out, "bilor_events_accepted_total{door=\"%s\"} %llu\n", door_names[d],
                      (unsigned long long)rd(&m->accepted[d]));
    rc = rc ? rc : buf_addstr(out, "# HELP bilor_events_rejected_total Requests or lines refused, by reason.\n"
                                   "# TYPE bilor_events_rejected_total counter\n");
    for (int r = 0; rc == 0 && r < MR__N; r++)
        rc = buf_addf(out, "bilor_events_rejected_total{reason=\"%s\"} %llu\n", reject_names[r],
                      (unsigned long long)rd(&m->rejected[r]));
    rc = rc ? rc : buf_addstr(out, "# HELP bilor_envelope_items_total Sentry envelope items received, by type.\n"
                                   "# TYPE bilor_envelope_items_total counter\n");
    for (int i = 0; rc == 0 && i < INGEST_ITEM__N; i++)
        rc = buf_addf(out, "bilor_envelope_items_total{type=\"%s\"} %llu\n", ingest_item_name(i),
                      (unsigned long long)rd(&m->items[i]));
    rc = rc ? rc : buf_addstr(out, "# TYPE bilor_ingest_bytes_total counter\n");
    for (int d = 0; rc == 0 && d < DOOR_API; d++)
        rc = buf_addf(out, "bilor_ingest_bytes_total{door=\"%s\"} %llu\n", door_names[d],
                      (unsigned long long)rd(&m->bytes_in[d]));
    return rc;
}

static int gauge(struct buf *out, const char *name, const char *help, const char *type,
                 unsigned long long v)
{
    return buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

static int render_journal(const struct journal *j, struct buf *out)
{
    struct journal_stats s;
    int rc;

    journal_stats(j, &s);
    rc = gauge(out, "bilor_journal_backlog_bytes", "Undigested journal bytes.", "gauge",
               s.backlog_bytes);
    rc = rc ? rc : gauge(out, "bilor_journal_appended_records_total", "Records journaled.",
                         "counter", s.appended_records);
    rc = rc ? rc : gauge(out, "bilor_journal_appended_bytes_total", "Bytes journaled.",
                         "counter", s.appended_bytes);
    rc = rc ? rc : gauge(out, "bilor_journal_fsyncs_total", "Group commits (one fsync each).",
                         "counter", s.fsyncs);
    rc = rc ? rc : gauge(out, "bilor_journal_segments", "Journal segment files.", "gauge",
                         s.segments);
    return rc;
}

static int render_digest(const struct digest *d, struct buf *out)
{
    struct digest_stats s;
    int rc;

    digest_get_stats(d, &s);
    rc = gauge(out, "bilor_events_digested_total", "Events written to the store.", "counter",
               s.events);
    rc = rc ? rc : buf_addf(out, "# TYPE bilor_digested_by_kind_total counter\n"
                                 "bilor_digested_by_kind_total{kind=\"issue\"} %llu\n"
                                 "bilor_digested_by_kind_total{kind=\"log\"} %llu\n",
                            (unsigned long long)s.issue_events, (unsigned long long)s.log_events);
    rc = rc ? rc : gauge(out, "bilor_digest_duplicates_total", "Events skipped as duplicates.",
                         "counter", s.duplicates);
    rc = rc ? rc : gauge(out, "bilor_issues_created_total", "New issues.", "counter", s.new_issues);
    rc = rc ? rc : gauge(out, "bilor_issue_regressions_total", "Resolved issues reopened.",
                         "counter", s.regressions);
    rc = rc ? rc : gauge(out, "bilor_digest_bad_records_total", "Journal records that no longer parse.",
                         "counter", s.bad_records);
    rc = rc ? rc : gauge(out, "bilor_digest_store_errors_total", "Failed store writes (retried).",
                         "counter", s.store_errors);
    rc = rc ? rc : buf_addf(out, "# HELP bilor_digest_batch_events Events per digest batch.\n"
                                 "# TYPE bilor_digest_batch_events summary\n"
                                 "bilor_digest_batch_events_sum %llu\nbilor_digest_batch_events_count %llu\n",
                            (unsigned long long)s.batch_events_sum, (unsigned long long)s.batches);
    rc = rc ? rc : buf_addf(out, "# HELP bilor_digest_batch_seconds Time to decode and store a batch.\n"
                                 "# TYPE bilor_digest_batch_seconds summary\n"
                                 "bilor_digest_batch_seconds_sum %.6f\nbilor_digest_batch_seconds_count %llu\n",
                            (double)s.batch_us_sum / 1e6, (unsigned long long)s.batches);
    rc = rc ? rc : gauge(out, "bilor_digest_last_batch_events", "Size of the latest batch.",
                         "gauge", s.last_batch_events);
    rc = rc ? rc : gauge(out, "bilor_digest_last_batch_microseconds", "Latency of the latest batch.",
                         "gauge", s.last_batch_us);
    return rc;
}

int metrics_render(const struct app *app, struct buf *out)
{
    int rc = render_http(app->metrics, out);

    if (rc == 0 && app->journal != NULL)
        rc = render_journal(app->journal, out);
    if (rc == 0 && app->digest != NULL)
        rc = render_digest(app->digest, out);
    return rc;
}
