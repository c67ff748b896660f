/*
 * test_esbulk.c - Elasticsearch _bulk bodies (protocols.md §5.6 B1, B2, B5,
 * B6) and the answer each shipper parses (§5.2).
 */
#include <string.h>

#include "t.h"
#include "core/err.h"
#include "ingest/esbulk.h"

static const struct esbulk_limits lim = { 1000, 1 << 16, 64 };

static int parse(const char *body, struct pool *pool, struct esbulk_items *out, struct bl_err *err)
{
    return esbulk_parse(body, strlen(body), &lim, pool, out, err);
}

static void test_b1_b2(void)
{
    struct pool pool = POOL_INIT(4096);
    struct esbulk_items it;
    struct buf out = BUF_INIT(1 << 16);
    const char *ids[2] = { "id-1", "id-2" };

    CHECK_INT_EQ(parse("{\"create\":{\"_index\":\"fluent-bit\",\"_type\":\"_doc\"}}\n"
                       "{\"@timestamp\":\"2024-05-01T12:00:00.000Z\",\"log\":\"GET /health 200\"}\n"
                       "{\"create\":{\"_index\":\"fluent-bit\",\"_type\":\"_doc\"}}\n"
                       "{\"@timestamp\":\"2024-05-01T12:00:01.000Z\",\"log\":\"GET /login 500\"}\n",
                       &pool, &it, NULL),
                 0);
    CHECK_INT_EQ(it.n, 2);
    CHECK_INT_EQ(it.good, 2);
    CHECK(it.v[0].action == ESB_CREATE && slice_eq(it.v[0].index, "fluent-bit"));
    CHECK(strncmp(it.v[1].doc.p, "{\"@timestamp\":\"2024-05-01T12:00:01", 34) == 0);
    CHECK_INT_EQ(esbulk_response(&it, ids, "logs", 3, &out), 0);
    CHECK_STR_EQ(out.p, "{\"took\":3,\"errors\":false,\"items\":["
                        "{\"create\":{\"_index\":\"fluent-bit\",\"_id\":\"id-1\",\"_version\":1,"
                        "\"result\":\"created\",\"status\":201}},"
                        "{\"create\":{\"_index\":\"fluent-bit\",\"_id\":\"id-2\",\"_version\":1,"
                        "\"result\":\"created\",\"status\":201}}]}");
    /* B2: rsyslog's spacing and _type; an _id of the client's */
    CHECK_INT_EQ(
        parse("{\"index\":{\"_index\": \"system\",\"_type\":\"events\",\"_id\":\"a\\\"b\"}}\n"
              "{\"message\":\" hello\",\"fromhost\":\"web-1\"}\n",
              &pool, &it, NULL),
        0);
    CHECK(it.n == 1 && it.v[0].action == ESB_INDEX && slice_eq(it.v[0].index, "system"));
    CHECK(slice_eq(it.v[0].id, "a\"b"));
    buf_reset(&out);
    esbulk_response(&it, NULL, "logs", 0, &out);
    CHECK(strstr(out.p, "{\"index\":{\"_index\":\"system\",\"_id\":\"a\\\"b\",") != NULL);
    /* no _index: the URL's applies */
    CHECK_INT_EQ(parse("{\"index\":{}}\n{\"m\":1}\n", &pool, &it, NULL), 0);
    buf_reset(&out);
    esbulk_response(&it, NULL, "from-url", 0, &out);
    CHECK(strstr(out.p, "\"_index\":\"from-url\"") != NULL);
    buf_release(&out);
    pool_release(&pool);
}

static void test_b5_b6_partial(void)
{
    struct pool pool = POOL_INIT(4096);
    struct esbulk_items it;
    struct buf out = BUF_INIT(1 << 16);

    /* B6: CRLF, blank lines, no final newline; B5: a bad source line fails alone */
    CHECK_INT_EQ(parse("\r\n{\"create\":{\"_index\":\"x\"}}\r\n{\"a\":1}\r\n\r\n"
                       "{\"create\":{\"_index\":\"x\"}}\nnot json\n"
                       "{\"create\":{\"_index\":\"x\"}}\n[1,2]\n"
                       "{\"update\":{\"_index\":\"x\",\"_id\":\"1\"}}\n{\"doc\":{\"a\":2}}\n"
                       "{\"delete\":{\"_index\":\"x\",\"_id\":\"1\"}}\n"
                       "{\"index\":{\"_index\":\"x\"}}\n{\"last\":true}",
                       &pool, &it, NULL),
                 0);
    CHECK_INT_EQ(it.n, 6);
    CHECK_INT_EQ(it.good, 2);
    CHECK(it.v[0].status == 0 && it.v[5].status == 0);
    CHECK(it.v[1].status == 400 && strcmp(it.v[1].error_type, "mapper_parsing_exception") == 0);
    CHECK_INT_EQ(it.v[2].status, 400); /* an array is not a document */
    CHECK(it.v[3].status == 400 && it.v[3].action == ESB_UPDATE);
    CHECK(it.v[4].status == 400 && it.v[4].action == ESB_DELETE);
    esbulk_response(&it, NULL, "x", 1, &out);
    CHECK(strstr(out.p, "\"errors\":true") != NULL); /* compact: Vector greps for it */
    CHECK(strstr(out.p, "{\"create\":{\"_index\":\"x\",\"status\":400,\"error\":{\"type\":"
                        "\"mapper_parsing_exception\",\"reason\":") != NULL);
    buf_release(&out);
    pool_release(&pool);
}

static void test_refused(void)
{
    struct pool pool = POOL_INIT(4096);
    struct esbulk_items it;
    struct bl_err err = { 0 };
    struct esbulk_limits small = { 2, 16, 64 };

    CHECK_INT_EQ(parse("{\"a\":1}\n", &pool, &it, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "Malformed action/metadata line [1]") != NULL);
    CHECK_INT_EQ(parse("{\"create\":{}}\n{\"a\":1}\n{\"index\":\"x\"}\n{}\n", &pool, &it, &err),
                 BL_EPARSE);
    CHECK(strstr(err.msg, "line [3]") != NULL);
    CHECK_INT_EQ(parse("{\"create\":{},\"index\":{}}\n{}\n", &pool, &it, &err), BL_EPARSE);
    CHECK_INT_EQ(parse("not json\n", &pool, &it, &err), BL_EPARSE);
    CHECK_INT_EQ(parse("{\"create\":{}}\n", &pool, &it, &err), BL_EPARSE);
    CHECK(strstr(err.msg, "source line") != NULL);
    CHECK_INT_EQ(parse("", &pool, &it, &err), 0);
    CHECK_INT_EQ(it.n, 0);
    CHECK_INT_EQ(esbulk_parse("{\"index\":{}}\n{}\n{\"index\":{}}\n{}\n{\"index\":{}}\n{}\n", 42,
                              &small, &pool, &it, &err),
                 BL_ETOOBIG);
    CHECK_INT_EQ(esbulk_parse("{\"index\":{}}\n{\"long\":\"xxxxxxxxxxxxxxx\"}\n", 39, &small, &pool,
                              &it, &err),
                 0);
    CHECK_INT_EQ(it.v[0].status, 413);
    pool_release(&pool);
}

int main(void)
{
    test_b1_b2();
    test_b5_b6_partial();
    test_refused();
    return t_done();
}
