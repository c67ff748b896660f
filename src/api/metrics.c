#include <stdio.h>
#include <string.h>

#include "api/metrics.h"
#include "core/clock.h"
#include "door/door.h"
#include "door/keycache.h"
#include "core/banned.h"

static const char *const door_names[DOOR__N] = {
    "store", "envelope", "logs", "api", "ops", "other"
};

/* HTTP statuses counted one by one; anything else is "other" (the last class). */
static const int status_codes[] = {
    200, 201, 202, 204, 400, 401, 403, 404, 405, 413, 429, 500, 503
};
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]))
_Static_assert(NSTATUS < METRICS_REPLIES, "one reply class per status, and other");
_Static_assert(DOOR__N <= METRICS_LABELS, "one metrics label per route label");

/* Refusals by door outcome (enum door_outcome); "accepted" is never one. */
static const char *const reject_names[DOOR_OUTCOME__N] = {
    [DOOR_UNAUTHORIZED] = "auth",
    [DOOR_FORBIDDEN] = "forbidden",
    [DOOR_TOO_LARGE] = "too_large",
    [DOOR_BAD_INPUT] = "malformed",
    [DOOR_BUSY] = "backlog",
    [DOOR_UNAVAILABLE] = "journal",
    [DOOR_RATE_LIMITED] = "rate_limited",
};

void metrics_request(struct metrics *m, int door, int status)
{
    int s = (int)NSTATUS;

    for (size_t i = 0; i < NSTATUS; i++)
        if (status_codes[i] == status)
            s = (int)i;
    if (door < 0 || door >= DOOR__N)
        door = DOOR_OTHER;
    metrics_reply(m, door, s);
}

static uint64_t rd(const _Atomic uint64_t *c)
{
    return metrics_read(c);
}

static int render_requests(const struct metrics *m, struct buf *out)
{
    int rc = buf_addstr(out, "# HELP bilor_http_requests_total HTTP requests by door and status.\n"
                             "# TYPE bilor_http_requests_total counter\n");

    for (int d = 0; rc == 0 && d < DOOR__N; d++) {
        for (size_t s = 0; rc == 0 && s <= NSTATUS; s++) {
            uint64_t v = rd(&m->replies[d][s]);
            char code[8] = "other";

            if (v == 0)
                continue;
            if (s < NSTATUS)
                snprintf(code, sizeof(code), "%d", status_codes[s]);
            rc = buf_addf(out, "bilor_http_requests_total{door=\"%s\",status=\"%s\"} %llu\n",
                          door_names[d], code, (unsigned long long)v);
        }
    }
    return rc;
}

/* Per-format counters are named by the format table, not by an order of route labels. */
static int render_formats(const struct metrics *m, const char *name, const _Atomic uint64_t *v,
                          struct buf *out)
{
    int rc = 0;

    for (size_t f = 0; rc == 0 && f < format_count(); f++)
        rc = buf_addf(out, "%s{door=\"%s\"} %llu\n", name, format_at(f)->name,
                      (unsigned long long)rd(&v[f]));
    (void)m;
    return rc;
}

/* The socket listeners' own losses (docs/doors.md). */
static int render_sockets(const struct metrics *m, struct buf *out)
{
    int rc = buf_addstr(out, "# HELP bilor_udp_kernel_drops_total Datagrams the kernel dropped "
                             "(receive buffer full), from /proc/net/udp.\n"
                             "# TYPE bilor_udp_kernel_drops_total counter\n");

    rc = rc ? rc : render_formats(m, "bilor_udp_kernel_drops_total", m->sock_kernel_drops, out);
    rc = rc ? rc
            : buf_addstr(out, "# HELP bilor_socket_dropped_total Messages a socket listener "
                              "dropped (busy, missing key, malformed).\n"
                              "# TYPE bilor_socket_dropped_total counter\n");
    rc = rc ? rc : render_formats(m, "bilor_socket_dropped_total", m->sock_dropped, out);
    rc = rc ? rc
            : buf_addstr(out, "# HELP bilor_socket_oversize_total Stream frames over the "
                              "limit, skipped.\n# TYPE bilor_socket_oversize_total counter\n");
    rc = rc ? rc : render_formats(m, "bilor_socket_oversize_total", m->sock_oversize, out);
    rc = rc ? rc
            : buf_addf(out,
                       "# TYPE bilor_socket_connections gauge\nbilor_socket_connections %llu\n",
                       (unsigned long long)rd(&m->sock_connections));
    return rc;
}

static int render_http(const struct metrics *m, struct buf *out)
{
    int rc = render_requests(m, out);

    rc = rc ? rc
            : buf_addstr(
                  out,
                  "# HELP bilor_events_accepted_total Events and log lines acknowledged, by door.\n"
                  "# TYPE bilor_events_accepted_total counter\n");
    rc = rc ? rc : render_formats(m, "bilor_events_accepted_total", m->accepted, out);
    rc = rc ? rc
            : buf_addstr(
                  out, "# HELP bilor_events_rejected_total Requests or lines refused, by reason.\n"
                       "# TYPE bilor_events_rejected_total counter\n");
    for (int r = DOOR_ACCEPTED + 1; rc == 0 && r < DOOR_OUTCOME__N; r++)
        rc = buf_addf(out, "bilor_events_rejected_total{reason=\"%s\"} %llu\n", reject_names[r],
                      (unsigned long long)rd(&m->rejected[r]));
    rc = rc ? rc
            : buf_addstr(
                  out,
                  "# HELP bilor_envelope_items_total Sentry envelope items received, by type.\n"
                  "# TYPE bilor_envelope_items_total counter\n");
    for (int i = 0; rc == 0 && i < INGEST_ITEM__N; i++)
        rc = buf_addf(out, "bilor_envelope_items_total{type=\"%s\"} %llu\n", ingest_item_name(i),
                      (unsigned long long)rd(&m->items[i]));
    rc = rc ? rc : buf_addstr(out, "# TYPE bilor_ingest_bytes_total counter\n");
    rc = rc ? rc : render_formats(m, "bilor_ingest_bytes_total", m->bytes_in, out);
    return rc ? rc : render_sockets(m, out);
}

static int gauge(struct buf *out, const char *name, const char *help, const char *type,
                 unsigned long long v)
{
    return buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

/* A counter of what the decode threads prepared and what the writer built itself. */
static int by_path(struct buf *out, const char *name, const char *help, unsigned long long prepared,
                   unsigned long long built)
{
    return buf_addf(out,
                    "# HELP %s %s\n# TYPE %s counter\n%s{path=\"prepared\"} %llu\n"
                    "%s{path=\"built\"} %llu\n",
                    name, help, name, name, prepared, name, built);
}

static int render_journal(struct journal *j, struct buf *out)
{
    struct journal_stats s;
    int rc;

    journal_disk_low(j); /* refreshes the free-space figure when no ingest did lately */
    journal_stats(j, &s);
    rc = gauge(out, "bilor_journal_backlog_bytes", "Undigested journal bytes.", "gauge",
               s.backlog_bytes);
    rc = rc ? rc
            : gauge(out, "bilor_journal_appended_records_total", "Records journaled.", "counter",
                    s.appended_records);
    rc = rc ? rc
            : gauge(out, "bilor_journal_appended_bytes_total", "Bytes journaled.", "counter",
                    s.appended_bytes);
    rc = rc ? rc
            : gauge(out, "bilor_journal_fsyncs_total", "Group commits (one fsync each).", "counter",
                    s.fsyncs);
    rc = rc ? rc
            : gauge(out, "bilor_journal_segments", "Journal segment files.", "gauge", s.segments);
    rc = rc ? rc
            : gauge(out, "bilor_disk_free_bytes",
                    "Free space of the data disk at the last look (0: no reserve set).", "gauge",
                    s.disk_free_bytes);
    rc = rc ? rc
            : gauge(out, "bilor_disk_low",
                    "1 while free space is below --disk-reserve plus the backlog: ingest "
                    "answers 503.",
                    "gauge", (uint64_t)s.disk_low);
    return rc;
}

/* The digest's batches and the retention it runs between them. */
static int render_digest_batches(const struct digest_stats *s, struct buf *out)
{
    int rc = buf_addf(out,
                      "# HELP bilor_digest_batch_events Events per digest batch.\n"
                      "# TYPE bilor_digest_batch_events summary\n"
                      "bilor_digest_batch_events_sum %llu\nbilor_digest_batch_events_count %llu\n",
                      (unsigned long long)s->batch_events_sum, (unsigned long long)s->batches);
    rc = rc ? rc
            : buf_addf(
                  out,
                  "# HELP bilor_digest_batch_seconds Time to decode and store a batch.\n"
                  "# TYPE bilor_digest_batch_seconds summary\n"
                  "bilor_digest_batch_seconds_sum %.6f\nbilor_digest_batch_seconds_count %llu\n",
                  (double)s->batch_us_sum / 1e6, (unsigned long long)s->batches);
    rc = rc ? rc
            : gauge(out, "bilor_digest_last_batch_events", "Size of the latest batch.", "gauge",
                    s->last_batch_events);
    rc = rc ? rc
            : gauge(out, "bilor_digest_last_batch_microseconds", "Latency of the latest batch.",
                    "gauge", s->last_batch_us);
    rc = rc ? rc
            : gauge(out, "bilor_retention_runs_total", "Retention runs.", "counter",
                    s->retention_runs);
    rc = rc ? rc
            : gauge(out, "bilor_retention_partitions_dropped_total",
                    "Day partitions dropped by retention or the disk budget.", "counter",
                    s->retention_days_dropped);
    rc = rc ? rc
            : gauge(out, "bilor_retention_bytes_freed_total",
                    "Bytes given back by dropped partitions.", "counter", s->retention_bytes_freed);
    return rc;
}

static int render_digest(const struct digest *d, struct buf *out)
{
    struct digest_stats s;
    int rc;

    digest_get_stats(d, &s);
    rc = gauge(out, "bilor_events_digested_total", "Events written to the store.", "counter",
               s.events);
    rc = rc ? rc
            : buf_addf(out,
                       "# TYPE bilor_digested_by_kind_total counter\n"
                       "bilor_digested_by_kind_total{kind=\"issue\"} %llu\n"
                       "bilor_digested_by_kind_total{kind=\"log\"} %llu\n",
                       (unsigned long long)s.issue_events, (unsigned long long)s.log_events);
    rc = rc ? rc
            : gauge(out, "bilor_digest_duplicates_total", "Events skipped as duplicates.",
                    "counter", s.duplicates);
    rc = rc ? rc : gauge(out, "bilor_issues_created_total", "New issues.", "counter", s.new_issues);
    rc = rc ? rc
            : gauge(out, "bilor_issue_regressions_total", "Resolved issues reopened.", "counter",
                    s.regressions);
    rc = rc ? rc
            : gauge(out, "bilor_digest_writer_groupings_total",
                    "Issues the writer grouped because the decode took them for log lines.",
                    "counter", s.writer_groupings);
    rc = rc ? rc
            : buf_addf(out,
                       "# HELP bilor_digest_handoff_total Compressed bodies the digest took "
                       "decompressed from the door, or decompressed again.\n"
                       "# TYPE bilor_digest_handoff_total counter\n"
                       "bilor_digest_handoff_total{result=\"taken\"} %llu\n"
                       "bilor_digest_handoff_total{result=\"missed\"} %llu\n",
                       (unsigned long long)s.handoff_taken, (unsigned long long)s.handoff_missed);
    rc = rc ? rc
            : by_path(
                  out, "bilor_digest_log_blocks_total",
                  "Log blocks stored, as the decode threads prepared them or built by the writer.",
                  s.log_blocks_prepared, s.log_blocks_built);
    rc = rc ? rc
            : by_path(
                  out, "bilor_digest_log_postings_total",
                  "Segments of log-line word postings stored, their words gathered on the decode "
                  "threads or by the writer.",
                  s.log_posts_prepared, s.log_posts_built);
    rc = rc ? rc
            : gauge(out, "bilor_digest_bad_records_total", "Journal records that no longer parse.",
                    "counter", s.bad_records);
    rc = rc ? rc
            : gauge(out, "bilor_digest_store_errors_total", "Failed store writes (retried).",
                    "counter", s.store_errors);
    rc = rc ? rc
            : gauge(out, "bilor_digest_store_failing",
                    "1 while the last store write failed (retried with back-off).", "gauge",
                    s.store_failing);
    return rc ? rc : render_digest_batches(&s, out);
}

/* Bytes per partition (day file) and per project (its share of each file's rows). */
static int render_usage(struct store *st, struct buf *out)
{
    struct pool pool;
    struct store_usage *u = NULL;
    size_t n = 0;
    int rc;

    pool_init(&pool, 4096);
    if (store_usage(st, 0, &pool, &u, &n, NULL) != 0) {
        pool_release(&pool);
        return 0; /* the rest of the metrics still go out */
    }
    rc = buf_addstr(out, "# HELP bilor_partition_bytes Bytes of a day partition file.\n"
                         "# TYPE bilor_partition_bytes gauge\n");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char day[40];

        clock_fmt_rfc3339(u[i].day_start, day);
        day[10] = '\0';
        if (i == 0 || u[i].day_start != u[i - 1].day_start)
            rc = buf_addf(out, "bilor_partition_bytes{day=\"%s\"} %lld\n", day,
                          (long long)u[i].file_bytes);
    }
    rc = rc ? rc
            : buf_addstr(out, "# HELP bilor_project_partition_bytes A project's share of a "
                              "day partition (by rows).\n"
                              "# TYPE bilor_project_partition_bytes gauge\n");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char day[40];

        clock_fmt_rfc3339(u[i].day_start, day);
        day[10] = '\0';
        rc = buf_addf(out, "bilor_project_partition_bytes{project=\"%lld\",day=\"%s\"} %lld\n",
                      (long long)u[i].project_id, day, (long long)u[i].bytes);
    }
    pool_release(&pool);
    return rc;
}

/* The WAL checkpointer (store_sqlite_ckpt.c): its work, and the writer's own checkpoints. */
static int render_ckpt(struct store *st, struct buf *out)
{
    struct store_ckpt_stats s;
    int rc = 0;

    store_ckpt_stats(st, &s);
    const struct {
        const char *name, *help;
        uint64_t v;
    } c[] = {
        { "bilor_store_checkpoint_passes_total",
          "WAL checkpoint passes of the checkpointer thread.", s.passes },
        { "bilor_store_checkpoint_frames_total",
          "WAL frames copied back by the checkpointer thread (each run's last pass).", s.frames },
        { "bilor_store_checkpoint_truncates_total", "Idle files' WALs truncated.", s.truncates },
        { "bilor_store_checkpoint_errors_total", "Failed checkpoint passes.", s.errors },
        { "bilor_store_writer_checkpoints_total",
          "Checkpoints the writer ran itself (its WAL past the bound).", s.writer_ckpts },
        { "bilor_store_writer_checkpoint_frames_total",
          "WAL frames copied by the writer's own checkpoints.", s.writer_frames },
        { "bilor_store_writer_checkpoint_microseconds_total",
          "The store writer's time in its own checkpoints, waits for the checkpointer's pass "
          "included: the digest stands still meanwhile.",
          s.writer_us },
    };

    for (size_t i = 0; rc == 0 && i < sizeof(c) / sizeof(c[0]); i++)
        rc = gauge(out, c[i].name, c[i].help, "counter", c[i].v);
    return rc;
}

struct key_render {
    struct buf *out;
    int rc;
};

static void render_key(void *arg, int64_t key_id, const uint64_t counts[RL_COUNTS])
{
    static const char *const names[RL_COUNTS] = { "accepted", "rate_limited", "rejected" };
    struct key_render *kr = arg;

    for (int i = 0; kr->rc == 0 && i < RL_COUNTS; i++)
        kr->rc = buf_addf(kr->out, "bilor_key_units_total{key=\"%lld\",outcome=\"%s\"} %llu\n",
                          (long long)key_id, names[i], (unsigned long long)counts[i]);
}

/* Per DSN key (by its API id): units accepted, requests rate-limited or otherwise refused. */
static int render_keys(struct door *d, struct buf *out)
{
    struct key_render kr = { out, 0 };

    kr.rc = buf_addstr(out, "# HELP bilor_key_units_total Ingest per DSN key id: units accepted,"
                            " requests rate-limited or rejected.\n"
                            "# TYPE bilor_key_units_total counter\n");
    if (kr.rc == 0)
        ratelimit_each_key(door_ratelimit(d), render_key, &kr);
    return kr.rc;
}

int metrics_render(const struct app *app, struct buf *out)
{
    int rc = render_http(app->metrics, out);

    if (rc == 0 && app->door != NULL)
        rc = gauge(out, "bilor_keycache_queries_total",
                   "Store lookups of DSN keys (cache misses and 0.5 s re-validations).", "counter",
                   keycache_queries(door_keys(app->door)));
    if (rc == 0 && app->door != NULL)
        rc = render_keys(app->door, out);
    if (rc == 0 && app->journal != NULL)
        rc = render_journal(app->journal, out);
    if (rc == 0 && app->digest != NULL)
        rc = render_digest(app->digest, out);
    if (rc == 0 && app->store != NULL)
        rc = render_usage(app->store, out);
    if (rc == 0 && app->store != NULL)
        rc = render_ckpt(app->store, out);
    return rc;
}
