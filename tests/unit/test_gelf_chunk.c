/*
 * test_gelf_chunk.c - chunked GELF reassembly: protocols.md §3.5 V3/V4, out
 * of order and duplicated chunks, bad headers, expiry and the memory bounds.
 */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "t.h"
#include "core/err.h"
#include "ingest/gelf_chunk.h"

static size_t unhex(const char *hex, unsigned char *out)
{
    size_t n = 0;

    for (; hex[0] != '\0'; hex++) {
        unsigned v;

        if (hex[0] == ' ')
            continue;
        sscanf(hex, "%2x", &v);
        out[n++] = (unsigned char)v;
        hex++;
    }
    return n;
}

static void test_v3(void)
{
    static const char *c0 = "1e0f 0102030405060708 00 02 789c6d8a410a80201405eff2d616483b2f235a8f"
                            "122cc96f164477cff6cd6e86b9519925a40d06bad750";
    static const char *c1 = "1e0f 0102030405060708 01 02 58929426277df7a92c2917bb52c4cd6cfdfaa16d"
                            "9195116650b099fb4129364c6d777ec4f302cce222f8";
    struct gelf_reasm *r = gelf_reasm_new(16, 1 << 20);
    struct buf out = BUF_INIT(1 << 20);
    unsigned char a[256], b[256], json[512];
    uLongf jlen = sizeof(json);
    size_t na = unhex(c0, a), nb = unhex(c1, b);
    struct gelf_chunk_stats st;

    CHECK(gelf_is_chunk(a, na));
    CHECK_INT_EQ(gelf_reasm_add(r, 7, b, nb, 0, &out), 0);
    CHECK_INT_EQ(gelf_reasm_add(r, 7, b, nb, 1, &out), 0); /* duplicate */
    CHECK_INT_EQ(gelf_reasm_add(r, 7, a, na, 2, &out), 1);
    CHECK_INT_EQ(uncompress(json, &jlen, (const unsigned char *)out.p, out.len), Z_OK);
    json[jlen] = '\0';
    CHECK_STR_EQ((char *)json, "{\"version\":\"1.1\",\"host\":\"web-1\",\"short_message\":"
                               "\"xxxxxxxxxxxxxxxxxxxx\",\"level\":3,\"_request_id\":\"abc\"}");
    gelf_reasm_stats(r, &st);
    CHECK_INT_EQ(st.completed, 1);
    CHECK_INT_EQ(st.duplicate, 1);
    /* V4: only chunk 0 ⇒ nothing, and the set is gone after the TTL */
    CHECK_INT_EQ(gelf_reasm_add(r, 7, a, na, 10, &out), 0);
    CHECK_INT_EQ(gelf_reasm_expire(r, 10 + GELF_CHUNK_TTL_US), 0);
    CHECK_INT_EQ(gelf_reasm_expire(r, 11 + GELF_CHUNK_TTL_US), 1);
    /* the same id from another sender is another set */
    CHECK_INT_EQ(gelf_reasm_add(r, 7, a, na, 20, &out), 0);
    CHECK_INT_EQ(gelf_reasm_add(r, 8, b, nb, 20, &out), 0);
    CHECK_INT_EQ(gelf_reasm_add(r, 7, b, nb, 20, &out), 1);
    buf_release(&out);
    gelf_reasm_free(r);
}

static size_t chunk(unsigned char *p, unsigned id, int seq, int count, size_t datalen)
{
    memset(p, 0, 12);
    p[0] = 0x1e;
    p[1] = 0x0f;
    memcpy(p + 2, &id, sizeof(id));
    p[10] = (unsigned char)seq;
    p[11] = (unsigned char)count;
    memset(p + 12, 'a' + seq % 26, datalen);
    return 12 + datalen;
}

static void test_bad_and_bounds(void)
{
    struct gelf_reasm *r = gelf_reasm_new(4, 1000);
    struct buf out = BUF_INIT(100000);
    unsigned char p[2048];
    struct gelf_chunk_stats st;
    size_t n;

    n = chunk(p, 1, 0, 129, 10); /* V4: more than 128 chunks */
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), BL_EPARSE);
    n = chunk(p, 1, 0, 0, 10);
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), BL_EPARSE);
    n = chunk(p, 1, 3, 3, 10); /* seq past count */
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), BL_EPARSE);
    CHECK_INT_EQ(gelf_reasm_add(r, 1, "\x1e\x0f", 2, 0, &out), BL_EPARSE);
    /* a count that changes mid-set drops the set */
    n = chunk(p, 2, 0, 3, 10);
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), 0);
    n = chunk(p, 2, 1, 4, 10);
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), BL_EPARSE);
    /* 128 chunks, the most allowed, in reverse order */
    gelf_reasm_free(r);
    r = gelf_reasm_new(4, 1 << 20);
    for (int i = 127; i >= 0; i--) {
        n = chunk(p, 3, i, 128, 100);
        CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), i == 0 ? 1 : 0);
    }
    CHECK_INT_EQ(out.len, 12800);
    CHECK(out.p[0] == 'a' && out.p[12799] == 'a' + 127 % 26);
    /* more sets than slots: the oldest incomplete one is evicted */
    for (unsigned id = 10; id < 15; id++) {
        n = chunk(p, id, 0, 2, 10);
        CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, id, &out), 0);
    }
    n = chunk(p, 10, 1, 2, 10); /* id 10 was evicted: this starts a new set */
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 20, &out), 0);
    n = chunk(p, 14, 1, 2, 10);
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 20, &out), 1);
    gelf_reasm_stats(r, &st);
    CHECK(st.evicted >= 1);
    gelf_reasm_free(r);
    /* the byte budget: a message larger than it is refused, memory stays bounded */
    r = gelf_reasm_new(4, 1000);
    n = chunk(p, 20, 0, 3, 600);
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), 0);
    n = chunk(p, 20, 1, 3, 600);
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), BL_ETOOBIG);
    /* a message larger than out's cap is refused too */
    gelf_reasm_free(r);
    r = gelf_reasm_new(4, 1 << 20);
    buf_release(&out);
    buf_init(&out, 150);
    n = chunk(p, 21, 0, 2, 100);
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), 0);
    n = chunk(p, 21, 1, 2, 100);
    CHECK_INT_EQ(gelf_reasm_add(r, 1, p, n, 0, &out), BL_ETOOBIG);
    buf_release(&out);
    gelf_reasm_free(r);
}

int main(void)
{
    test_v3();
    test_bad_and_bounds();
    return t_done();
}
