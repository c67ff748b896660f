/*
 * t_store.h - fixtures shared by the store's test suites: synthetic events,
 * temporary directories, and listings counted through store.h.
 */
#ifndef BL_T_STORE_H
#define BL_T_STORE_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/pool.h"
#include "store/store.h"
#include "t.h"
#include "t_zlib.h"

/* 2024-05-01T00:00:00Z and 2024-05-02T00:00:00Z */
#define DAY1 INT64_C(1714521600000000)
#define DAY2 (DAY1 + CLOCK_US_PER_DAY)
#define HOUR CLOCK_US_PER_HOUR

static unsigned next_event_id = 1;

/* store_open_sqlite on dir, failing the test (and saying why) when it does not open. */
static inline struct store *t_open_sqlite(const char *dir, const char *node)
{
    struct store *st = NULL;
    struct bl_err err = { 0, "" };
    int rc = store_open_sqlite(&st, dir, node, &err);

    if (rc != 0)
        fprintf(stderr, "open: %s\n", bl_err_msg(&err));
    CHECK_INT_EQ(rc, 0);
    return st;
}

/* store_open, failing the test (and saying why) when it does not open. */
static inline struct store *t_open_url(const char *url, const char *node)
{
    struct store *st = NULL;
    struct bl_err err = { 0, "" };
    int rc = store_open(&st, url, node, &err);

    if (rc != 0)
        fprintf(stderr, "open %s: %s\n", url, bl_err_msg(&err));
    CHECK_INT_EQ(rc, 0);
    return rc == 0 ? st : NULL;
}

/* A synthetic event; the caller overrides what a test is about. */
static inline void mk_event(struct event *e, int64_t project, uint64_t lsn, uint32_t seq,
                            int64_t ts, int kind, const char *fp, int level)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->event_id, sizeof(e->event_id), "%032x", next_event_id++);
    e->project_id = project;
    e->lsn = lsn;
    e->seq = seq;
    e->timestamp = ts;
    e->received_at = ts + 1000;
    e->level = level;
    e->kind = kind;
    snprintf(e->fingerprint, sizeof(e->fingerprint), "%-32s", fp);
    e->grouping_version = 1;
    e->template_hash = UINT64_C(0xfedcba9876543210);
    e->message = kind == EV_KIND_ISSUE ? "connection refused to db" : "GET /items 200";
    e->title = kind == EV_KIND_ISSUE ? fp : NULL;
    e->culprit = "app.views.index";
    e->search_text = kind == EV_KIND_ISSUE ? "ConnectionRefusedError connection refused" : NULL;
    e->logger = "app";
    e->environment = "production";
    e->raw = "{\"message\":\"x\"}";
    e->raw_len = strlen(e->raw);
    e->raw_encoding = EV_RAW_IDENTITY;
}

/*
 * 7 events of project pid over DAY1 and DAY2, journal positions 10..60
 * (checkpoint 70): issue "A" x4 (a warning, then errors), a fatal issue
 * "B" x1, logs x2; 4 on DAY1, 3 on DAY2.
 */
static inline void t_two_days(struct event ev[7], int64_t pid)
{
    mk_event(&ev[0], pid, 10, 0, DAY1 + 10 * HOUR, EV_KIND_ISSUE, "A", EV_WARNING);
    mk_event(&ev[1], pid, 10, 1, DAY1 + 10 * HOUR + 5, EV_KIND_ISSUE, "A", EV_ERROR);
    mk_event(&ev[2], pid, 20, 0, DAY1 + 10 * HOUR + 9, EV_KIND_LOG, "L", EV_INFO);
    mk_event(&ev[3], pid, 30, 0, DAY1 + 11 * HOUR, EV_KIND_ISSUE, "A", EV_ERROR);
    mk_event(&ev[4], pid, 40, 0, DAY2 + 9 * HOUR, EV_KIND_LOG, "L", EV_INFO);
    mk_event(&ev[5], pid, 50, 0, DAY2 + 9 * HOUR + 1, EV_KIND_ISSUE, "A", EV_ERROR);
    mk_event(&ev[6], pid, 60, 0, DAY2 + 12 * HOUR, EV_KIND_ISSUE, "B", EV_FATAL);
}

/* Payloads of the three shapes the store keeps: small identity, large identity, gzip. */
struct t_payloads {
    char big[4000];
    unsigned char gz[4096];
};

/* ev[0..3) of project pid at lsn, lsn+1, lsn+2: small identity, p->big, p->big gzipped. */
static inline void t_payload_events(struct event *ev, struct t_payloads *p, int64_t pid,
                                    uint64_t lsn, int64_t ts)
{
    size_t i;

    for (i = 0; i + 1 < sizeof(p->big); i++)
        p->big[i] = "{\"exception\":[1,2,3],\"frames\":\"abc\"}"[i % 36];
    p->big[i] = '\0';
    for (i = 0; i < 3; i++)
        mk_event(&ev[i], pid, lsn + i, 0, ts, EV_KIND_LOG, "L", EV_INFO);
    ev[1].raw = p->big;
    ev[1].raw_len = strlen(p->big);
    ev[2].raw = p->gz;
    ev[2].raw_len = t_deflate_to(p->big, strlen(p->big), 31, p->gz, sizeof(p->gz));
    ev[2].raw_encoding = EV_RAW_GZIP;
}

static inline int64_t add_project(struct store *st, const char *name)
{
    struct store_project p;

    CHECK_INT_EQ(store_project_add(st, name, &p, NULL), 0);
    return p.id;
}

static inline int write_ev(struct store *st, struct event *ev, size_t n, uint64_t cp,
                           struct store_batch_result *res)
{
    struct bl_err err = { 0, "" };
    int rc = store_write_batch(st, ev, n, cp, res, &err);

    if (rc != 0 && rc != BL_EIO)
        fprintf(stderr, "write_batch: %s\n", bl_err_msg(&err));
    return rc;
}

static inline int get_issue(struct store *st, int64_t id, struct store_issue *is, struct pool *pool)
{
    return store_issue_get(st, id, pool, is, NULL);
}

static inline uint64_t t_checkpoint(struct store *st)
{
    uint64_t cp = UINT64_MAX;

    CHECK_INT_EQ(store_get_checkpoint(st, &cp, NULL), 0);
    return cp;
}

/* Events of one project (or one issue) over all pages of size page. */
static inline size_t count_events(struct store *st, int64_t project, int64_t issue, int kind,
                                  size_t page)
{
    struct store_event_query q = { project, issue, kind, 0, 0, page, NULL, 0, NULL, 0, NULL, NULL };
    struct pool pool = POOL_INIT(16384);
    char cur[STORE_CURSOR_MAX] = "";
    size_t total = 0, guard = 0;

    do {
        struct store_event *v = NULL;
        size_t n = 0;

        q.cursor = total == 0 ? NULL : pool_strdup(&pool, cur);
        if (store_event_list(st, &q, &pool, &v, &n, cur, NULL) != 0)
            break;
        total += n;
    } while (cur[0] != '\0' && ++guard < 10000);
    pool_release(&pool);
    return total;
}

#endif
