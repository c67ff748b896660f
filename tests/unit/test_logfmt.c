/*
 * Unit tests for the syslog and GELF formats (fmt_syslog.c, fmt_gelf.c,
 * logfmt.h): the listener's batches, door checks and digest decodes, with
 * the protocols.md §3.5 (GELF) and §4.6 (syslog) vectors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/json.h"
#include "core/pool.h"
#include "ingest/format.h"
#include "ingest/logfmt.h"
#include "t.h"
#include "t_zlib.h"

#define RECEIVED INT64_C(1714564805000000) /* 2024-05-01T12:00:05Z */

static const char y1[] =
    "<34>1 2024-05-01T12:00:00.123Z web-1 checkout 4242 PAY01 "
    "[order@32473 id=\"A-17\" note=\"quote \\\" and \\] done\"] payment failed";
static const char y2[] =
    "<165>1 2024-05-01T12:00:01Z - - - - - plain message without header values";
static const char y3[] = "<13>May  1 12:00:02 web-1 cron[991]: job started";
static const char y6[] =
    "<14>1 2024-05-01T12:00:03+02:00 web-1 app - - - \xef\xbb\xbfgr\xc3\xbc\xc3\x9f"
    "e";
static const char v1[] = "{\"version\":\"1.1\",\"host\":\"web-1\",\"short_message\":\"hi\","
                         "\"timestamp\":1714564800.5,\"level\":3,\"_user_id\":42,\"_id\":\"x\","
                         "\"_stack_info\":null,\"_bilor_key\":\"k\",\"file\":\"a.py\"}";

static struct pool pool = POOL_INIT(8192);

static int decode(int protocol, int encoding, const void *p, size_t len, struct ingest_events *out)
{
    struct ingest_meta m = { protocol, encoding, 7, RECEIVED, 42, "", NULL, 0 };
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct bl_err err = { 0, "" };
    int rc;

    memset(out, 0, sizeof(*out));
    rc = ingest_decode(p, len, &m, &lim, &pool, out, NULL, &err);
    if (rc != 0)
        fprintf(stderr, "(ingest_decode: %s)\n", bl_err_msg(&err));
    return rc;
}

static int check(const struct ingest_format *f, const void *p, size_t len, int encoding,
                 struct format_result *res)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct buf scratch = BUF_INIT(lim.max_body);
    struct format_input in = { p, len, encoding, &lim, &pool, &scratch };
    struct bl_err err = { 0, "" };
    int rc;

    memset(res, 0, sizeof(*res));
    rc = f->check(&in, res, &err);
    buf_release(&scratch);
    return rc;
}

static const char *attr(cJSON *a, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_syslog_batch(void)
{
    struct buf b = BUF_INIT(1 << 20);
    struct ingest_events out;
    struct format_result res;
    cJSON *a;

    CHECK_INT_EQ(logfmt_batch_add(&b, y1, strlen(y1)), 0);
    CHECK_INT_EQ(logfmt_batch_add(&b, y2, strlen(y2)), 0);
    CHECK_INT_EQ(logfmt_batch_add(&b, y3, strlen(y3)), 0);
    CHECK_INT_EQ(logfmt_batch_add(&b, y6, strlen(y6)), 0);
    CHECK_INT_EQ(check(format_by_name("syslog"), b.p, b.len, 0, &res), 0);
    CHECK_INT_EQ(res.units.accepted, 4);
    CHECK_INT_EQ(decode(INGEST_SYSLOG, 0, b.p, b.len, &out), 0);
    CHECK_INT_EQ(out.n, 4);
    if (out.n == 4) {
        CHECK_INT_EQ(out.v[0].source, EV_SRC_SYSLOG);
        CHECK_INT_EQ(out.v[0].level, EV_FATAL); /* severity 2, crit */
        CHECK_STR_EQ(out.v[0].logger, "checkout");
        CHECK_STR_EQ(out.v[0].server_name, "web-1");
        CHECK_STR_EQ(out.v[0].message, "payment failed");
        CHECK_INT_EQ(out.v[0].timestamp, INT64_C(1714564800123000));
        CHECK_INT_EQ(out.v[0].raw_len, strlen(y1));
        CHECK(memcmp(out.v[0].raw, y1, strlen(y1)) == 0);
        CHECK_INT_EQ(out.v[1].level, EV_INFO); /* local4.notice */
        CHECK(out.v[1].server_name == NULL);
        CHECK_STR_EQ(out.v[2].logger, "cron");
        CHECK_STR_EQ(out.v[2].message, "job started");
        CHECK_STR_EQ(out.v[3].message, "gr\xc3\xbc\xc3\x9f"
                                       "e");
        CHECK_INT_EQ(out.v[3].timestamp, INT64_C(1714557603000000)); /* 10:00:03Z */
        CHECK(strcmp(out.v[0].event_id, out.v[1].event_id) != 0);
    }
    a = normalize_syslog_attributes(y1, strlen(y1), RECEIVED);
    CHECK_STR_EQ(attr(a, "facility"), "auth");
    CHECK_STR_EQ(attr(a, "procid"), "4242");
    CHECK_STR_EQ(attr(a, "msgid"), "PAY01");
    CHECK_STR_EQ(attr(a, "order@32473.id"), "A-17");
    CHECK_STR_EQ(attr(a, "order@32473.note"), "quote \" and ] done");
    cJSON_Delete(a);
    a = normalize_syslog_attributes(y3, strlen(y3), RECEIVED);
    CHECK_STR_EQ(attr(a, "procid"), "991");
    cJSON_Delete(a);
    buf_release(&b);
}

static void test_syslog_single_and_key(void)
{
    static const char keyed[] = "<13>1 - h app - - [bilor@0 key=\"abc\"][x@1 y=\"z\"] m";
    struct ingest_events out;
    struct slice k;
    cJSON *a;

    /* A body that is not a batch is one message, even one without PRI. */
    CHECK_INT_EQ(decode(INGEST_SYSLOG, 0, "hello", 5, &out), 0);
    CHECK_INT_EQ(out.n, 1);
    if (out.n == 1)
        CHECK_STR_EQ(out.v[0].message, "hello");
    k = logfmt_syslog_key(keyed, strlen(keyed), &pool);
    CHECK(k.len == 3 && memcmp(k.p, "abc", 3) == 0);
    a = normalize_syslog_attributes(keyed, strlen(keyed), RECEIVED);
    CHECK(attr(a, "bilor@0.key") == NULL);
    CHECK_STR_EQ(attr(a, "x@1.y"), "z");
    cJSON_Delete(a);
}

static void test_batch_framing(void)
{
    struct slice m;
    size_t pos = 0;
    const char ok[] = "3 abc1 d";
    const char bad[] = "9 abc";

    CHECK_INT_EQ(logfmt_batch_next(ok, strlen(ok), &pos, &m), 1);
    CHECK(m.len == 3 && memcmp(m.p, "abc", 3) == 0);
    CHECK_INT_EQ(logfmt_batch_next(ok, strlen(ok), &pos, &m), 1);
    CHECK(m.len == 1 && m.p[0] == 'd');
    CHECK_INT_EQ(logfmt_batch_next(ok, strlen(ok), &pos, &m), 0);
    pos = 0;
    CHECK_INT_EQ(logfmt_batch_next(bad, strlen(bad), &pos, &m), 0);
    pos = 0;
    CHECK_INT_EQ(logfmt_batch_next("99999999999 x", 13, &pos, &m), 0);
}

static void test_gelf_v1_v7(void)
{
    struct ingest_events out;
    struct format_result res;
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT;
    struct bl_err err = { 0, "" };
    struct slice key;
    struct buf z = BUF_INIT(1 << 20);
    cJSON *obj, *a;

    CHECK_INT_EQ(check(format_by_name("gelf"), v1, strlen(v1), 0, &res), 0);
    CHECK_INT_EQ(res.units.accepted, 1);
    CHECK_INT_EQ(decode(INGEST_GELF, 0, v1, strlen(v1), &out), 0);
    CHECK_INT_EQ(out.n, 1);
    if (out.n == 1) {
        CHECK_INT_EQ(out.v[0].source, EV_SRC_GELF);
        CHECK_INT_EQ(out.v[0].level, EV_ERROR);
        CHECK_STR_EQ(out.v[0].message, "hi");
        CHECK_STR_EQ(out.v[0].server_name, "web-1");
        CHECK_INT_EQ(out.v[0].timestamp, INT64_C(1714564800500000));
    }
    /* V2 and POST /gelf: the same body compressed (zlib, as graypy sends it). */
    CHECK_INT_EQ(t_deflate_into(v1, strlen(v1), 15, &z), 0);
    CHECK_INT_EQ(check(format_by_name("gelf"), z.p, z.len, INGEST_ENC_DEFLATE, &res), 0);
    CHECK_INT_EQ(decode(INGEST_GELF, INGEST_ENC_DEFLATE, z.p, z.len, &out), 0);
    CHECK_INT_EQ(out.n, 1);
    obj = cJSON_Parse(v1);
    a = normalize_gelf_attributes(obj);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(a, "user_id")));
    CHECK(cJSON_GetObjectItemCaseSensitive(a, "id") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(a, "stack_info") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(a, "bilor_key") == NULL);
    CHECK_STR_EQ(attr(a, "file"), "a.py");
    cJSON_Delete(a);
    cJSON_Delete(obj);
    CHECK_INT_EQ(logfmt_gelf_ok(v1, strlen(v1), &lim, &key, &err), 0);
    CHECK(key.len == 3 && memcmp(key.p, "\"k\"", 3) == 0);
    /* V7 */
    CHECK(logfmt_gelf_ok("{\"host\":\"\",\"short_message\":\"x\"}",
                         strlen("{\"host\":\"\",\"short_message\":\"x\"}"), &lim, NULL, &err) < 0);
    CHECK(logfmt_gelf_ok("{\"host\":1,\"short_message\":\"x\"}",
                         strlen("{\"host\":1,\"short_message\":\"x\"}"), &lim, NULL, &err) < 0);
    CHECK(logfmt_gelf_ok("{\"short_message\":\"x\"}", strlen("{\"short_message\":\"x\"}"), &lim,
                         NULL, &err) == 0);
    CHECK(logfmt_gelf_ok("{\"host\":\"a\",\"message\":\"x\"}",
                         strlen("{\"host\":\"a\",\"message\":\"x\"}"), &lim, NULL, &err) == 0);
    CHECK(logfmt_gelf_ok("{\"host\":\"a\"}", strlen("{\"host\":\"a\"}"), &lim, NULL, &err) < 0);
    CHECK(logfmt_gelf_ok("[1]", strlen("[1]"), &lim, NULL, &err) < 0);
    CHECK_INT_EQ(check(format_by_name("gelf"), "{\"host\":\"\"}", 11, 0, &res), BL_EPARSE);
    buf_release(&z);
}

static void test_gelf_levels_and_batch(void)
{
    static const char *const msgs[] = {
        "{\"host\":\"h\",\"short_message\":\"a\",\"level\":25}", /* Python 25: info */
        "{\"host\":\"h\",\"short_message\":\"b\"}",              /* absent: 1, alert */
        "{\"host\":\"h\",\"short_message\":\"c\",\"level\":-3}", /* clamped to 0 */
        "{\"host\":\"h\",\"short_message\":\"d\",\"level\":7}",
        "{\"host\":\"\",\"short_message\":\"refused\"}",
        "{\"host\":\"h\",\"short_message\":\"e\",\"level\":\"warning\"}",
    };
    static const int want[] = { EV_INFO, EV_FATAL, EV_FATAL, EV_DEBUG, EV_WARNING };
    struct buf b = BUF_INIT(1 << 20);
    struct ingest_events out;
    struct format_result res;

    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
        logfmt_batch_add(&b, msgs[i], strlen(msgs[i]));
    CHECK_INT_EQ(check(format_by_name("gelf"), b.p, b.len, 0, &res), 0);
    CHECK_INT_EQ(res.units.accepted, 5);
    CHECK_INT_EQ(res.units.rejected, 1);
    CHECK_INT_EQ(decode(INGEST_GELF, 0, b.p, b.len, &out), 0);
    CHECK_INT_EQ(out.n, 5);
    for (size_t i = 0; i < out.n && i < 5; i++)
        CHECK_INT_EQ(out.v[i].level, want[i]);
    buf_release(&b);
}

int main(void)
{
    json_global_init();
    test_syslog_batch();
    test_syslog_single_and_key();
    test_batch_framing();
    test_gelf_v1_v7();
    test_gelf_levels_and_batch();
    pool_release(&pool);
    return t_done();
}
