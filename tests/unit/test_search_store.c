/*
 * test_search_store.c - tests/data/query/match.test through a real store.
 *
 * Every document of the file becomes a real event (a JSON log line, or a
 * Sentry event when it has tags, an exception or frames), normalized by the
 * digest's normalizer and written with store_write_batch. Each "match logs"
 * and "match events" case then runs as a search through store.h (with the
 * API's match function for what the store cannot decide) and must return
 * exactly the documents query_match() accepts, which test_query.c checks
 * against the same file. Histogram totals and scans must agree with the
 * listing. This is the contract every store backend meets. Then, for the
 * SQLite backend, the cases run again over the same lines as a day file
 * from before word postings holds them (in log_fts, day-file migration 6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "t_store.h"
#include "api/api_search_doc.h"
#include "core/json.h"
#include "ingest/fingerprint.h"
#include "ingest/normalize.h"
#include "search/query.h"
#include "store/sqlite_int.h"
#include <dirent.h>

#define MAX_DOCS 64
#define MAX_PAIRS 32
#define NOW_US INT64_C(1795521600000000) /* 2026-11-24T12:00:00Z */

struct pair {
    char key[64];
    char val[256];
};

struct doc {
    int id;
    struct pair kv[MAX_PAIRS];
    size_t n;
    char event_id[33];
};

static struct doc docs[MAX_DOCS];
static size_t ndocs;
static struct store *st;
static int64_t pid;
static struct ingest_limits limits;

static char *read_pair(char *p, struct pair *kv)
{
    char *eq = strchr(p, '=');
    size_t n = 0;

    if (eq == NULL || (size_t)(eq - p) >= sizeof(kv->key))
        return NULL;
    memcpy(kv->key, p, (size_t)(eq - p));
    kv->key[eq - p] = '\0';
    p = eq + 1;
    if (*p == '"') {
        for (p++; *p != '\0' && *p != '"' && n + 1 < sizeof(kv->val); p++)
            kv->val[n++] = *p;
        p += *p == '"';
    } else {
        for (; *p != '\0' && *p != ' ' && n + 1 < sizeof(kv->val); p++)
            kv->val[n++] = *p;
    }
    kv->val[n] = '\0';
    return p;
}

static const char *get1(const struct doc *d, const char *key)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->kv[i].key, key) == 0)
            return d->kv[i].val;
    return NULL;
}

static int sentry_shaped(const struct doc *d)
{
    for (size_t i = 0; i < d->n; i++)
        if (strncmp(d->kv[i].key, "tags.", 5) == 0 || strncmp(d->kv[i].key, "error.", 6) == 0 ||
            strncmp(d->kv[i].key, "stack.", 6) == 0)
            return 1;
    return 0;
}

/* attrs.a.b=v as {"a":{"b":v}} (numbers stay numbers). */
static void add_attr(cJSON *obj, const char *path, const char *val)
{
    char part[64];
    const char *dot;
    cJSON *at = obj;
    char *end;
    double num = strtod(val, &end);

    while ((dot = strchr(path, '.')) != NULL) {
        cJSON *sub;

        snprintf(part, sizeof(part), "%.*s", (int)(dot - path), path);
        sub = cJSON_GetObjectItemCaseSensitive(at, part);
        if (sub == NULL)
            sub = cJSON_AddObjectToObject(at, part);
        at = sub;
        path = dot + 1;
    }
    if (*val != '\0' && *end == '\0')
        cJSON_AddNumberToObject(at, path, num);
    else
        cJSON_AddStringToObject(at, path, val);
}

static cJSON *log_line(const struct doc *d)
{
    static const char *const plain[] = { "message",  "level",      "host",
                                         "service",  "logger",     "environment",
                                         "trace_id", "request_id", NULL };
    cJSON *o = cJSON_CreateObject();

    for (size_t i = 0; plain[i] != NULL; i++)
        if (get1(d, plain[i]) != NULL)
            cJSON_AddStringToObject(o, plain[i], get1(d, plain[i]));
    cJSON_AddNumberToObject(o, "timestamp", strtod(get1(d, "timestamp"), NULL));
    for (size_t i = 0; i < d->n; i++)
        if (strncmp(d->kv[i].key, "attrs.", 6) == 0)
            add_attr(o, d->kv[i].key + 6, d->kv[i].val);
    return o;
}

static cJSON *sentry_event(const struct doc *d)
{
    cJSON *o = cJSON_CreateObject(), *tags = cJSON_AddObjectToObject(o, "tags");
    const char *s;

    cJSON_AddStringToObject(o, "message", get1(d, "message"));
    cJSON_AddStringToObject(o, "level", get1(d, "level"));
    cJSON_AddStringToObject(o, "server_name", get1(d, "host"));
    cJSON_AddStringToObject(o, "logger", get1(d, "logger"));
    cJSON_AddStringToObject(o, "environment", get1(d, "environment"));
    cJSON_AddNumberToObject(o, "timestamp", strtod(get1(d, "timestamp"), NULL) / 1e6);
    if ((s = get1(d, "service")) != NULL)
        cJSON_AddStringToObject(tags, "service", s);
    for (size_t i = 0; i < d->n; i++)
        if (strncmp(d->kv[i].key, "tags.", 5) == 0)
            cJSON_AddStringToObject(tags, d->kv[i].key + 5, d->kv[i].val);
    if ((s = get1(d, "error.type")) != NULL) {
        cJSON *x = cJSON_CreateObject(), *frames = cJSON_CreateArray();
        cJSON *vals = cJSON_AddArrayToObject(cJSON_AddObjectToObject(o, "exception"), "values");
        size_t nf = 0;

        cJSON_AddStringToObject(x, "type", s);
        cJSON_AddStringToObject(x, "value", get1(d, "error.value"));
        for (size_t i = 0; i < d->n; i++) {
            cJSON *f;

            if (strcmp(d->kv[i].key, "stack.function") != 0)
                continue;
            f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "function", d->kv[i].val);
            if (nf++ == 0 && (s = get1(d, "stack.module")) != NULL)
                cJSON_AddStringToObject(f, "module", s);
            cJSON_AddItemToArray(frames, f);
        }
        cJSON_AddItemToObject(cJSON_AddObjectToObject(x, "stacktrace"), "frames", frames);
        cJSON_AddItemToArray(vals, x);
    }
    return o;
}

/* The document as the digest would store it. */
static void make_event(struct doc *d, struct event *ev, uint64_t lsn, struct pool *pool)
{
    int sentry = sentry_shaped(d);
    cJSON *o = sentry ? sentry_event(d) : log_line(d);
    char *raw = cJSON_PrintUnformatted(o);

    memset(ev, 0, sizeof(*ev));
    snprintf(ev->event_id, sizeof(ev->event_id), "%032x", 0x5000 + d->id);
    memcpy(d->event_id, ev->event_id, sizeof(d->event_id));
    ev->project_id = pid;
    ev->lsn = lsn;
    ev->received_at = (int64_t)strtod(get1(d, "timestamp"), NULL) + 1000;
    if (sentry)
        normalize_sentry(o, ev, &limits, pool);
    else
        normalize_log_line(o, ev, &limits, pool);
    fingerprint_event(ev, pool);
    ev->kind = ev->nexc > 0 || ev->level >= EV_ERROR ? EV_KIND_ISSUE : EV_KIND_LOG;
    ev->source = sentry ? EV_SRC_SENTRY : EV_SRC_LOGLINE;
    ev->raw = pool_strdup(pool, raw);
    ev->raw_len = strlen(raw);
    ev->raw_encoding = EV_RAW_IDENTITY;
    CHECK_INT_EQ(ev->timestamp, (int64_t)strtod(get1(d, "timestamp"), NULL));
    free(raw);
    cJSON_Delete(o);
}

static void add_doc(char *line)
{
    struct doc *d = &docs[ndocs++];
    char *p = strchr(line, ' ');

    d->id = atoi(line);
    while (p != NULL && *p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0' || d->n == MAX_PAIRS)
            break;
        p = read_pair(p, &d->kv[d->n++]);
    }
}

static struct event ev[MAX_DOCS];

static void store_docs(struct pool *pool)
{
    struct store_batch_result res;

    for (size_t i = 0; i < ndocs; i++)
        make_event(&docs[i], &ev[i], 10 + i, pool);
    CHECK_INT_EQ(write_ev(st, ev, ndocs, 10 + ndocs, &res), 0);
    CHECK_INT_EQ(res.events_written, ndocs);
}

static int doc_of(const char *event_id)
{
    for (size_t i = 0; i < ndocs; i++)
        if (strcmp(docs[i].event_id, event_id) == 0)
            return docs[i].id;
    return -1;
}

static int count_row(void *arg, const struct store_event *row)
{
    (void)row;
    ++*(size_t *)arg;
    return 0;
}

/* The ids the store returns for n, in doc order, as "1 2 4" or "-". */
static size_t search(const struct query_node *n, char *got, size_t gotsz, struct pool *pool)
{
    struct api_match m = { n, &limits, NOW_US };
    struct store_event_query q = { pid, 0, -1, 0, 0, 2, NULL, 0, n, NOW_US, api_search_match, &m };
    char cursor[STORE_CURSOR_MAX] = "";
    int hit[MAX_DOCS + 1] = { 0 };
    size_t total = 0;

    /* pages of 2: the cursor walks across day files and rejected candidates */
    do {
        struct store_event *v = NULL;
        size_t k = 0;
        struct bl_err err = { 0, "" };

        q.cursor = cursor[0] ? pool_strdup(pool, cursor) : NULL;
        if (store_event_list(st, &q, pool, &v, &k, cursor, &err) != 0) {
            fprintf(stderr, "search: %s\n", bl_err_msg(&err));
            CHECK(0);
            break;
        }
        for (size_t i = 0; i < k; i++) {
            int id = doc_of(v[i].event_id);

            CHECK(id > 0 && id <= MAX_DOCS);
            if (id > 0 && id <= MAX_DOCS)
                hit[id]++;
            total++;
        }
    } while (cursor[0] != '\0');
    got[0] = '\0';
    for (size_t i = 0; i < ndocs; i++) {
        size_t len = strlen(got);

        if (hit[docs[i].id])
            snprintf(got + len, gotsz - len, "%s%d", len ? " " : "", docs[i].id);
    }
    if (got[0] == '\0')
        snprintf(got, gotsz, "-");
    return total;
}

/* Histogram over every day the documents span: the same total as the listing. */
static int64_t hist_total(const struct query_node *n)
{
    struct api_match m = { n, &limits, NOW_US };
    struct store_event_query q = { pid, 0, -1, 0, 0, 1, NULL, 0, n, NOW_US, api_search_match, &m };
    int64_t counts[20 * EV__NLEVELS], sum = 0;
    struct store_histogram h = { NOW_US - 10 * CLOCK_US_PER_DAY, CLOCK_US_PER_DAY, 20, counts };

    CHECK_INT_EQ(store_event_histogram(st, &q, &h, NULL), 0);
    for (size_t i = 0; i < 20 * EV__NLEVELS; i++)
        sum += counts[i];
    return sum;
}

static size_t scan_total(const struct query_node *n)
{
    struct api_match m = { n, &limits, NOW_US };
    struct store_event_query q = { pid, 0, -1, 0, 0, 1, NULL, 0, n, NOW_US, api_search_match, &m };
    size_t count = 0, scanned = 0;

    CHECK_INT_EQ(store_event_scan(st, &q, 0, count_row, &count, &scanned, NULL), 0);
    return count;
}

static void match_case(char *line, int lineno)
{
    struct pool pool;
    struct query_node *n = NULL;
    struct query_error qerr;
    char *sp = strchr(line, ' '), *arrow = strstr(line, " => "), got[256];
    int target;
    size_t total;

    if (sp == NULL || arrow == NULL)
        return;
    *sp = '\0';
    *arrow = '\0';
    if (strcmp(line, "logs") == 0)
        target = QUERY_LOGS;
    else if (strcmp(line, "events") == 0)
        target = QUERY_EVENTS;
    else
        return; /* issues: not events of the store */
    pool_init(&pool, 4096);
    CHECK_INT_EQ(query_parse(sp + 1, strlen(sp + 1), target, &pool, &n, &qerr), 0);
    total = search(n, got, sizeof(got), &pool);
    if (strcmp(got, arrow + 4) != 0) {
        fprintf(stderr, "match.test:%d: '%s': want %s, store gave %s\n", lineno, sp + 1, arrow + 4,
                got);
        CHECK(0);
    } else {
        CHECK(1);
    }
    CHECK_INT_EQ(hist_total(n), (int64_t)total);
    CHECK_INT_EQ(scan_total(n), total);
    pool_release(&pool);
}

/* What the writer before day-file migration 6 put in log_fts for a line. */
static void fts_text(const struct event *e, char *out, size_t cap)
{
    const char *part[3] = { e->message, e->title, e->search_text };
    char tok[8 + SQ_ID_TOKEN_MAX];
    size_t n = 0;

    out[0] = '\0';
    for (int i = 0; i < 3; i++)
        if (part[i] != NULL && part[i][0] != '\0')
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? " " : "", part[i]);
    if (sq_logs_id_token(SQ_ID_TRACE, e->trace_id, e->trace_id ? strlen(e->trace_id) : 0, tok,
                         sizeof(tok)) > 0)
        n += (size_t)snprintf(out + n, cap - n, " %s", tok);
    if (sq_logs_id_token(SQ_ID_REQUEST, e->request_id, e->request_id ? strlen(e->request_id) : 0,
                         tok, sizeof(tok)) > 0)
        snprintf(out + n, cap - n, " %s", tok);
}

static size_t fts_lines; /* lines moved into log_fts */

/* One day file's log lines as that writer left them: in log_fts, post_from past them. */
static void fts_era_file(const char *path)
{
    static const char sql[] = "INSERT INTO log_fts(rowid, text) VALUES(?1, ?2)";
    struct sq_conn *c = NULL;
    struct bl_err err = { 0, "" };
    char text[4096], done[128];
    int64_t node = 0, last = 0;

    CHECK_INT_EQ(sq_conn_open(path, 0, &c, &err), 0);
    if (c == NULL)
        return;
    {
        struct sq_query q = {
            "SELECT node FROM part_nodes", "node", { { 0 } }, 0, sq_row_int64, &node
        };

        CHECK_INT_EQ(sq_query_one(c, &q, &err), 0);
    }
    for (size_t i = 0; i < ndocs; i++) {
        int64_t line, ts;
        int level;

        if (ev[i].kind != EV_KIND_LOG ||
            sq_lines_find(c, pid, node, ev[i].lsn, ev[i].seq, &line, &ts, &level, &err) != 0)
            continue;
        fts_text(&ev[i], text, sizeof(text));
        {
            struct sq_query q = { sql, "fts", { SQ_INT(line), SQ_TEXT(text) }, 2, NULL, NULL };

            CHECK_INT_EQ(sq_query_each(c, &q, &err), 0);
        }
        last = line > last ? line : last;
        fts_lines++;
    }
    snprintf(done, sizeof(done),
             "DELETE FROM log_post; DELETE FROM log_segs;"
             " UPDATE part_meta SET value = %lld WHERE key = 'post_from'",
             (long long)last + 1);
    CHECK_INT_EQ(sq_exec(c, done, &err), 0);
    sq_conn_close(c);
}

static void fts_era(const char *dir)
{
    char path[512];
    DIR *d;
    struct dirent *de;

    snprintf(path, sizeof(path), "%s/events", dir);
    d = opendir(path);
    CHECK(d != NULL);
    while (d != NULL && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);

        if (n > 3 && strcmp(de->d_name + n - 3, ".db") == 0) {
            snprintf(path, sizeof(path), "%s/events/%s", dir, de->d_name);
            fts_era_file(path);
        }
    }
    if (d != NULL)
        closedir(d);
}

static void run_cases(const char *path)
{
    char *text = t_read_file(path, NULL), *line, *next;
    int lineno = 0;

    for (line = text; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        if (strncmp(line, "match ", 6) == 0)
            match_case(line + 6, lineno);
    }
    free(text);
}

int main(void)
{
    char dir[] = "/tmp/bilor-search-XXXXXX";
    struct pool pool;
    char path[512], *text, *line, *next;
    size_t len;

    CHECK(mkdtemp(dir) != NULL);
    st = t_open_url(dir, "node-a");
    pid = add_project(st, "search");
    limits = INGEST_LIMITS_DEFAULT;
    pool_init(&pool, 1 << 16);
    snprintf(path, sizeof(path), "%s/query/match.test", T_DATA);
    text = t_read_file(path, &len);
    for (line = text; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (strncmp(line, "doc ", 4) == 0)
            add_doc(line + 4);
    }
    store_docs(&pool);
    free(text);
    /* the file again, now for the cases (docs must all be stored first) */
    run_cases(path);
    fts_era(dir);
    {
        size_t nlog = 0;

        for (size_t i = 0; i < ndocs; i++)
            nlog += ev[i].kind == EV_KIND_LOG;
        CHECK(nlog > 0 && fts_lines == nlog); /* every log line, in a single day file */
    }
    run_cases(path);
    pool_release(&pool);
    store_close(st);
    t_rm_tree(dir);
    return t_done();
}
