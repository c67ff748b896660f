/*
 * Unit tests for src/ingest/sentry_items.c (envelope items that are not
 * events: door checks and digest decoding) and for the store's write_items
 * (store_sqlite_items.c): exactly once per record, counters summed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/pool.h"
#include "ingest/ingest.h"
#include "ingest/sentry_items.h"
#include "store/store.h"
#include "t.h"

#define RECEIVED INT64_C(1714564805000000) /* 2024-05-01T12:00:05Z */
#define EID "9ec79c33ec9942ab8353589fcb2e04dc"

static const char att_env[] =
    "{\"event_id\":\"" EID "\"}\n"
    "{\"type\":\"event\",\"length\":41}\n"
    "{\"message\":\"hello world\",\"level\":\"error\"}\n"
    "{\"type\":\"attachment\",\"length\":7,\"filename\":\"note.txt\","
    "\"content_type\":\"text/plain\",\"attachment_type\":\"event.attachment\"}\n"
    "hello\r\n\n"
    "{\"type\":\"attachment\",\"length\":2}\n"
    "\x00\x01\n";

static const char log_env[] =
    "{}\n{\"type\":\"log\",\"item_count\":2,"
    "\"content_type\":\"application/vnd.sentry.items.log+json\"}\n"
    "{\"items\":[{\"timestamp\":1714564800.25,\"level\":\"warn\",\"body\":\"disk almost full\","
    "\"trace_id\":\"5b8efff798038103d269b633813fc60c\",\"attributes\":{\"disk.free_mb\":"
    "{\"value\":120,\"type\":\"integer\"},\"sentry.environment\":{\"value\":\"production\","
    "\"type\":\"string\"}}},{\"level\":\"error\",\"body\":\"second\"},7]}";

static const char misc_env[] =
    "{}\n"
    "{\"type\":\"client_report\"}\n"
    "{\"timestamp\":1714564800.0,\"discarded_events\":[{\"reason\":\"ratelimit_backoff\","
    "\"category\":\"error\",\"quantity\":3},{\"reason\":\"x\",\"quantity\":-1},"
    "{\"category\":\"error\",\"quantity\":1},{\"reason\":\"made-up\",\"category\":"
    "\"junk\",\"quantity\":2}]}\n"
    "{\"type\":\"user_report\"}\n"
    "{\"event_id\":\"" EID "\",\"name\":\"Bob\",\"email\":\"b@x.org\",\"comments\":\"broken\"}\n"
    "{\"type\":\"feedback\"}\n"
    "{\"event_id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"feedback\",\"contexts\":"
    "{\"feedback\":{\"message\":\"meh\",\"contact_email\":\"a@x.org\",\"name\":\"Ada\","
    "\"associated_event_id\":\"" EID "\"}}}\n"
    "{\"type\":\"session\"}\n{}\n{\"type\":\"session\"}\n{}\n{\"type\":\"transaction\"}\n{}\n";

static int check_env(const char *p, size_t len, struct ingest_check *chk,
                     const struct ingest_limits *lim, struct bl_err *err)
{
    struct buf scratch = BUF_INIT(0);
    int rc = ingest_check_envelope(p, len, INGEST_ENC_NONE, lim, &scratch, chk, err);

    buf_release(&scratch);
    return rc;
}

static void test_door(void)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct ingest_check chk;
    struct bl_err err = { 0, "" };
    static const char orphan[] = "{}\n{\"type\":\"attachment\",\"length\":2}\nhi\n";
    static const char header_id[] = "{\"event_id\":\"" EID
                                    "\"}\n{\"type\":\"attachment\",\"length\":2}\nhi\n";
    static const char badlog[] = "{}\n{\"type\":\"log\"}\n{\"items\":3}\n";
    static const char notjson[] = "{}\n{\"type\":\"client_report\"}\n{nope\n";
    static const char noid[] = "{}\n{\"type\":\"user_report\"}\n{\"name\":\"x\"}\n";
    static const char empty[] = "{}\n";

    CHECK_INT_EQ(check_env(att_env, sizeof(att_env) - 1, &chk, &lim, &err), 0);
    CHECK_INT_EQ(chk.items[INGEST_ITEM_ATTACHMENT], 2);
    CHECK_INT_EQ(check_env(log_env, sizeof(log_env) - 1, &chk, &lim, &err), 0);
    CHECK_INT_EQ(sentry_items_journal(chk.items), 1);
    CHECK_INT_EQ(check_env(misc_env, sizeof(misc_env) - 1, &chk, &lim, &err), 0);
    CHECK_INT_EQ(chk.items[INGEST_ITEM_USER_REPORT], 1);
    CHECK_INT_EQ(chk.items[INGEST_ITEM_FEEDBACK], 1);
    CHECK_INT_EQ(check_env(header_id, sizeof(header_id) - 1, &chk, &lim, &err), 0);
    CHECK_INT_EQ(check_env(empty, sizeof(empty) - 1, &chk, &lim, &err), 0);
    CHECK_INT_EQ(sentry_items_journal(chk.items), 0);

    CHECK_INT_EQ(check_env(orphan, sizeof(orphan) - 1, &chk, &lim, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "item 1 (attachment): no event") != NULL);
    CHECK_INT_EQ(check_env(badlog, sizeof(badlog) - 1, &chk, &lim, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "item 1 (log)") != NULL);
    CHECK_INT_EQ(check_env(notjson, sizeof(notjson) - 1, &chk, &lim, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "client_report") != NULL);
    CHECK_INT_EQ(check_env(noid, sizeof(noid) - 1, &chk, &lim, &err), BL_EPARSE);
    lim.max_attachment = 6;
    CHECK_INT_EQ(check_env(att_env, sizeof(att_env) - 1, &chk, &lim, &err), BL_ETOOBIG);
    CHECK(strstr(err.msg, "item 2 (attachment): 7 bytes exceeds") != NULL);
}

static int decode(const char *p, size_t len, uint64_t lsn, struct pool *pool,
                  struct ingest_events *out)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct ingest_meta m = {
        INGEST_SENTRY_ENVELOPE, INGEST_ENC_NONE, 7, RECEIVED, lsn, "", NULL, 0
    };

    return ingest_decode(p, len, &m, &lim, pool, out, NULL, NULL);
}

static const struct item *find_item(const struct ingest_events *out, int kind, size_t nth)
{
    for (size_t i = 0; i < out->nitems; i++) {
        if (out->items[i].kind == kind && nth-- == 0)
            return &out->items[i];
    }
    return NULL;
}

static void test_attachments(void)
{
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 };
    const struct item *a;

    CHECK_INT_EQ(decode(att_env, sizeof(att_env) - 1, 40, &pool, &out), 0);
    CHECK_INT_EQ(out.n, 1);
    CHECK_INT_EQ(out.nitems, 2);
    a = find_item(&out, ITEM_ATTACHMENT, 0);
    CHECK(a != NULL);
    if (a != NULL) {
        CHECK_STR_EQ(a->event_id, EID);
        CHECK_STR_EQ(a->filename, "note.txt");
        CHECK_STR_EQ(a->content_type, "text/plain");
        CHECK_INT_EQ(a->len, 7);
        CHECK(memcmp(a->data, "hello\r\n", 7) == 0);
        CHECK_INT_EQ(a->lsn, 40);
        CHECK_INT_EQ(a->project_id, 7);
    }
    a = find_item(&out, ITEM_ATTACHMENT, 1);
    CHECK(a != NULL);
    if (a != NULL) {
        /* Defaults for what the client left out. */
        CHECK_STR_EQ(a->filename, "attachment");
        CHECK_STR_EQ(a->content_type, "application/octet-stream");
        CHECK_STR_EQ(a->attachment_type, "event.attachment");
        CHECK_INT_EQ(a->len, 2);
    }
    pool_release(&pool);
}

static void test_logs(void)
{
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 }, again = { 0 };

    CHECK_INT_EQ(decode(log_env, sizeof(log_env) - 1, 41, &pool, &out), 0);
    CHECK_INT_EQ(out.n, 2); /* the non-object entry is skipped */
    if (out.n == 2) {
        CHECK_STR_EQ(out.v[0].message, "disk almost full");
        CHECK_INT_EQ(out.v[0].level, EV_WARNING);
        CHECK_INT_EQ(out.v[0].source, EV_SRC_LOGLINE);
        CHECK_INT_EQ(out.v[0].timestamp, INT64_C(1714564800250000));
        CHECK_STR_EQ(out.v[0].trace_id, "5b8efff798038103d269b633813fc60c");
        CHECK_STR_EQ(out.v[0].environment, "production");
        CHECK(strstr(out.v[0].raw, "\"disk.free_mb\":120") != NULL);
        CHECK_INT_EQ(out.v[1].level, EV_ERROR);
        CHECK_INT_EQ(out.v[1].timestamp, RECEIVED);
        CHECK(strcmp(out.v[0].event_id, out.v[1].event_id) != 0);
    }
    /* A replay yields the same ids. */
    CHECK_INT_EQ(decode(log_env, sizeof(log_env) - 1, 41, &pool, &again), 0);
    CHECK_INT_EQ(again.n, out.n);
    for (size_t i = 0; i < again.n && i < out.n; i++)
        CHECK_STR_EQ(again.v[i].event_id, out.v[i].event_id);
    pool_release(&pool);
}

static void test_misc(void)
{
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 };
    const struct item *it;

    CHECK_INT_EQ(decode(misc_env, sizeof(misc_env) - 1, 42, &pool, &out), 0);
    CHECK_INT_EQ(out.n, 0); /* feedback is not an event */
    it = find_item(&out, ITEM_CLIENT_REPORT, 0);
    CHECK(it != NULL && find_item(&out, ITEM_CLIENT_REPORT, 2) == NULL);
    if (it != NULL) {
        CHECK_STR_EQ(it->reason, "ratelimit_backoff");
        CHECK_STR_EQ(it->category, "error");
        CHECK_INT_EQ(it->quantity, 3);
    }
    /* Names the SDKs do not use are counted as "other" (bounded counters). */
    it = find_item(&out, ITEM_CLIENT_REPORT, 1);
    CHECK(it != NULL);
    if (it != NULL) {
        CHECK_STR_EQ(it->reason, "other");
        CHECK_STR_EQ(it->category, "other");
        CHECK_INT_EQ(it->quantity, 2);
    }
    it = find_item(&out, ITEM_FEEDBACK, 0);
    CHECK(it != NULL);
    if (it != NULL) {
        CHECK_STR_EQ(it->event_id, EID);
        CHECK_STR_EQ(it->name, "Bob");
        CHECK_STR_EQ(it->message, "broken");
        CHECK_STR_EQ(it->feedback_id, "");
    }
    it = find_item(&out, ITEM_FEEDBACK, 1);
    CHECK(it != NULL);
    if (it != NULL) {
        CHECK_STR_EQ(it->event_id, EID);
        CHECK_STR_EQ(it->feedback_id, "0123456789abcdef0123456789abcdef");
        CHECK_STR_EQ(it->email, "a@x.org");
        CHECK_STR_EQ(it->message, "meh");
    }
    it = find_item(&out, ITEM_RECEIVED, 0);
    CHECK(it != NULL && find_item(&out, ITEM_RECEIVED, 2) == NULL);
    if (it != NULL) {
        CHECK_STR_EQ(it->category, "transaction");
        CHECK_INT_EQ(it->quantity, 1);
    }
    it = find_item(&out, ITEM_RECEIVED, 1);
    if (it != NULL) {
        CHECK_STR_EQ(it->category, "session");
        CHECK_INT_EQ(it->quantity, 2);
    }
    pool_release(&pool);
}

static void test_store_items(void)
{
    char dir[] = "/tmp/bilor-test-items-XXXXXX";
    struct pool pool = POOL_INIT(16384);
    struct ingest_events out = { 0 };
    struct store *st = NULL;
    struct store_item_count *rep = NULL, *rec = NULL;
    struct store_attachment *att = NULL, one;
    struct store_feedback *fb = NULL;
    size_t nrep = 0, nrec = 0, natt = 0, nfb = 0;
    char cmd[128];

    CHECK(mkdtemp(dir) != NULL);
    CHECK_INT_EQ(store_open(&st, dir, "test-node", NULL), 0);
    if (st == NULL)
        return;
    CHECK_INT_EQ(decode(att_env, sizeof(att_env) - 1, 40, &pool, &out), 0);
    CHECK_INT_EQ(decode(misc_env, sizeof(misc_env) - 1, 42, &pool, &out), 0);
    CHECK_INT_EQ(store_write_items(st, out.items, out.nitems, 43, NULL), 0);
    /* The digest retries a batch after a failure: nothing is applied twice. */
    CHECK_INT_EQ(store_write_items(st, out.items, out.nitems, 43, NULL), 0);
    CHECK_INT_EQ(store_item_counts(st, 7, &pool, &rep, &nrep, &rec, &nrec, NULL), 0);
    CHECK_INT_EQ(nrep, 2);
    if (nrep == 2) {
        CHECK_STR_EQ(rep[1].reason, "ratelimit_backoff");
        CHECK_INT_EQ(rep[1].quantity, 3);
    }
    CHECK_INT_EQ(nrec, 2);
    if (nrec == 2) {
        CHECK_STR_EQ(rec[0].category, "session");
        CHECK_INT_EQ(rec[0].quantity, 2);
    }
    CHECK_INT_EQ(store_attachment_list(st, 7, EID, &pool, &att, &natt, NULL), 0);
    CHECK_INT_EQ(natt, 2);
    if (natt == 2) {
        CHECK_STR_EQ(att[0].filename, "note.txt");
        CHECK_INT_EQ(store_attachment_get(st, 7, EID, att[0].id, &pool, &one, NULL), 0);
        CHECK_INT_EQ(one.size, 7);
        CHECK(memcmp(one.data, "hello\r\n", 7) == 0);
        CHECK_INT_EQ(store_attachment_get(st, 8, EID, att[0].id, &pool, &one, NULL), BL_ENOTFOUND);
    }
    CHECK_INT_EQ(store_feedback_list(st, 7, EID, 10, &pool, &fb, &nfb, NULL), 0);
    CHECK_INT_EQ(nfb, 2);
    CHECK_INT_EQ(
        store_feedback_list(st, 7, "0123456789abcdef0123456789abcdef", 10, &pool, &fb, &nfb, NULL),
        0);
    CHECK_INT_EQ(nfb, 0);
    /* A later batch counts again. */
    out.nitems = 0;
    CHECK_INT_EQ(decode(misc_env, sizeof(misc_env) - 1, 50, &pool, &out), 0);
    CHECK_INT_EQ(store_write_items(st, out.items, out.nitems, 51, NULL), 0);
    CHECK_INT_EQ(store_item_counts(st, 7, &pool, &rep, &nrep, &rec, &nrec, NULL), 0);
    if (nrep == 2)
        CHECK_INT_EQ(rep[1].quantity, 6);
    store_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT_EQ(system(cmd), 0);
    pool_release(&pool);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_door();
    test_attachments();
    test_logs();
    test_misc();
    test_store_items();
    return t_done();
}
