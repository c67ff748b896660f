/*
 * test_h1.c - the HTTP/1.1 head parser, chunked decoder and query reader
 * (http/h1.h): real SDK heads, every refusal with its status, heads fed byte
 * by byte, the limits exactly at and one past, chunked bodies split at every
 * offset, and query decoding as libmicrohttpd does it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"
#include "http/h1.h"

#include "t.h"

/* What python-sentry-sdk 1.9.10 sends with its default gzip transport. */
static const char sentry_python[] =
    "POST /api/1/envelope/ HTTP/1.1\r\n"
    "Host: bilor.example:8080\r\n"
    "Accept-Encoding: identity\r\n"
    "User-Agent: sentry.python/1.9.10\r\n"
    "Content-Encoding: gzip\r\n"
    "Content-Type: application/x-sentry-envelope\r\n"
    "X-Sentry-Auth: Sentry sentry_key=0123456789abcdef0123456789abcdef, sentry_version=7, "
    "sentry_client=sentry.python/1.9.10\r\n"
    "Content-Length: 367\r\n"
    "\r\n";

/* The head of @sentry/node over node's http module: a chunked body. */
static const char sentry_node[] =
    "POST /api/2/envelope/?sentry_key=abc&sentry_version=7 HTTP/1.1\r\n"
    "content-type: application/x-sentry-envelope\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Connection: keep-alive\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n";

static int parse(const char *s, size_t len, size_t max, struct h1_head *h, int *status)
{
    struct bl_err err = { 0 };
    int rc = h1_parse_head(s, len, max, h, status, &err);

    if (rc == H1_BAD && (err.msg[0] == '\0' || err.code >= 0))
        return -100; /* a refusal always says why */
    return rc;
}

/* H1_OK or H1_PARTIAL, or the status of a refusal. */
static int outcome(const char *s, size_t len, size_t max)
{
    static struct h1_head h;
    int status, rc = parse(s, len, max, &h, &status);

    return rc == H1_BAD ? status : rc;
}

static int slice_is(struct slice s, const char *lit)
{
    return s.p != NULL && slice_eq(s, lit);
}

static void test_sentry_python(void)
{
    static struct h1_head h;
    struct slice v;
    uint64_t n = 0;
    int status = -1;

    CHECK_INT_EQ(parse(sentry_python, strlen(sentry_python), 65536, &h, &status), H1_OK);
    CHECK_INT_EQ(status, 0);
    CHECK_INT_EQ(h.len, strlen(sentry_python));
    CHECK(slice_is(h.method, "POST"));
    CHECK(slice_is(h.target, "/api/1/envelope/"));
    CHECK(slice_is(h.path, "/api/1/envelope/"));
    CHECK(h.query.p == NULL && h.query.len == 0);
    CHECK_INT_EQ(h.minor, 1);
    CHECK_INT_EQ(h.nheaders, 7);
    CHECK(slice_is(h.headers[0].name, "Host"));
    CHECK(slice_is(h.headers[0].value, "bilor.example:8080"));
    CHECK(slice_is(h1_header_get(&h, "user-agent"), "sentry.python/1.9.10"));
    CHECK(slice_is(h1_header_get(&h, "CONTENT-ENCODING"), "gzip"));
    CHECK(slice_is(h1_header_get(&h, "Content-Type"), "application/x-sentry-envelope"));
    v = h1_header_get(&h, "x-sentry-auth");
    CHECK(v.len > 7 && memcmp(v.p, "Sentry sentry_key=0123", 22) == 0);
    CHECK(v.p[v.len - 1] == '0'); /* ends at "/1.9.10", the CRLF is not in it */
    CHECK_INT_EQ(h1_content_length(h1_header_get(&h, "Content-Length"), &n), H1_OK);
    CHECK_INT_EQ(n, 367);
    CHECK(h1_header_get(&h, "Transfer-Encoding").p == NULL);
    CHECK(h1_header_get(&h, "Host2").p == NULL && h1_header_get(&h, "Host2").len == 0);
}

static void test_node_chunked(void)
{
    static struct h1_head h;
    static const char body[] = "1c\r\n{\"event_id\":\"0123456789ab\"}\n\r\n"
                               "9\r\n{\"a\":\"b\"}\r\n0\r\n\r\n";
    char msg[512];
    struct h1_chunked c;
    struct buf out = BUF_INIT(1 << 20);
    size_t used = 0, hl = strlen(sentry_node);
    int status = -1;

    memcpy(msg, sentry_node, hl);
    memcpy(msg + hl, body, sizeof(body) - 1);
    CHECK_INT_EQ(parse(msg, hl + sizeof(body) - 1, 65536, &h, &status), H1_OK);
    CHECK_INT_EQ(h.len, hl);
    CHECK(slice_is(h.path, "/api/2/envelope/"));
    CHECK(slice_is(h.query, "sentry_key=abc&sentry_version=7"));
    CHECK(slice_is(h1_header_get(&h, "transfer-encoding"), "chunked"));
    CHECK(slice_is(h1_header_get(&h, "Content-Type"), "application/x-sentry-envelope"));
    CHECK(h1_header_get(&h, "Content-Length").p == NULL);
    h1_chunked_init(&c);
    CHECK_INT_EQ(h1_chunked_feed(&c, msg + h.len, sizeof(body) - 1, &used, &out, &status, NULL),
                 H1_OK);
    CHECK_INT_EQ(used, sizeof(body) - 1);
    CHECK_STR_EQ(out.p, "{\"event_id\":\"0123456789ab\"}\n{\"a\":\"b\"}");
    buf_release(&out);
}

struct bad_case {
    const char *head;
    int status;
    size_t len;
};

/* The length from the literal, so that a case may hold a NUL byte. */
#define CASE(s, status)                                                                            \
    {                                                                                              \
        s, status, sizeof(s) - 1                                                                   \
    }

/* Every refusal of the head parser, with the answer it gives. */
static const struct bad_case bad_cases[] = {
    CASE("GET / HTTP/1.1\rHost: x\r\n\r\n", 400),                /* bare CR in the request line */
    CASE("GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400),           /* bare CR in a value */
    CASE("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", 400),            /* CR CR LF */
    CASE("GET / HTTP/1.1\r\nHo\rst: x\r\n\r\n", 400),            /* bare CR in a name */
    CASE("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n", 400),            /* CR CR LF for the empty line */
    CASE("GET  / HTTP/1.1\r\n\r\n", 400),                        /* two spaces */
    CASE("GET /  HTTP/1.1\r\n\r\n", 400),                        /* two spaces */
    CASE("GET / HTTP/1.1 \r\n\r\n", 400),                        /* trailing space */
    CASE("GET\t/ HTTP/1.1\r\n\r\n", 400),                        /* tab as separator */
    CASE(" GET / HTTP/1.1\r\n\r\n", 400),                        /* empty method */
    CASE("G@T / HTTP/1.1\r\n\r\n", 400),                         /* not a tchar */
    CASE("GET\r\n\r\n", 400),                                    /* method alone */
    CASE("GET /\r\n\r\n", 400),                                  /* HTTP/0.9 style */
    CASE("GET * HTTP/1.1\r\n\r\n", 400),                         /* asterisk-form */
    CASE("GET http://x/ HTTP/1.1\r\n\r\n", 400),                 /* absolute-form */
    CASE("CONNECT x:443 HTTP/1.1\r\n\r\n", 400),                 /* authority-form */
    CASE("GET /a\x7f HTTP/1.1\r\n\r\n", 400),                    /* DEL in the target */
    CASE("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400),                 /* raw UTF-8 in the target */
    CASE("GET / http/1.1\r\n\r\n", 400),                         /* case of the version */
    CASE("GET / HTTP/1.10\r\n\r\n", 400),                        /* version digits */
    CASE("GET / HTTP/11\r\n\r\n", 400),                          /* no dot */
    CASE("GET / HTTP/1.x\r\n\r\n", 400),                         /* not a digit */
    CASE("GET / HTTP/1.2\r\n\r\n", 505),                         /* unknown minor */
    CASE("GET / HTTP/2.0\r\n\r\n", 505),                         /* HTTP/2 */
    CASE("GET / HTTP/0.9\r\n\r\n", 505),                         /* HTTP/0.9 */
    CASE("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),             /* space before the colon */
    CASE("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400),            /* tab before the colon */
    CASE("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400),           /* obs-fold with SP */
    CASE("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", 400),          /* obs-fold with HTAB */
    CASE("GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400),             /* first field folded */
    CASE("GET / HTTP/1.1\r\n: x\r\n\r\n", 400),                  /* empty name */
    CASE("GET / HTTP/1.1\r\nHost x\r\n\r\n", 400),               /* no colon */
    CASE("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", 400),             /* not a tchar in the name */
    CASE("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400),             /* control byte in a value */
    CASE("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400),             /* DEL in a value */
    CASE("GET / HTTP/1.1\r\nA: \x1b[0m\r\n\r\n", 400),           /* ESC in a value */
    CASE("\r\n\r\nGET / HTTP/1.1\r\n\r\n", 400),                 /* two empty lines first */
    CASE("\n\nGET / HTTP/1.1\r\n\r\n", 400),                     /* two empty lines first */
    CASE("\x16\x03\x01\x02\x31\x01\x01\x02\x2d\x03\x03\n", 400), /* TLS ClientHello */
    CASE("GET / HTTP/1.1\r\nA\0: b\r\n\r\n", 400),
    CASE("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 400),
    CASE("GET /a\0b HTTP/1.1\r\n\r\n", 400),
};

static void test_bad(void)
{
    static struct h1_head h;
    struct bl_err err = { 0 };
    int status;

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *b = &bad_cases[i];

        status = outcome(b->head, b->len, 65536);
        if (status != b->status)
            fprintf(stderr, "case %zu: \"%s\"\n", i, b->head);
        CHECK_INT_EQ(status, b->status);
    }
    /* the error codes and a message a client can read */
    CHECK_INT_EQ(h1_parse_head("GET / HTTP/1.1\r\nA : b\r\n\r\n", 25, 1024, &h, &status, &err),
                 H1_BAD);
    CHECK_INT_EQ(err.code, BL_EPARSE);
    CHECK_STR_EQ(err.msg, "whitespace between a header name and its colon");
    CHECK_INT_EQ(h1_parse_head("GET / HTTP/2.0\r\n\r\n", 18, 1024, &h, &status, &err), H1_BAD);
    CHECK_INT_EQ(err.code, BL_EUNSUPPORTED);
    /* a bad line is refused as soon as it is complete, with no head end yet */
    CHECK_INT_EQ(outcome("GET * HTTP/1.1\r\n", 16, 65536), 400);
    CHECK_INT_EQ(outcome("GET / HTTP/1.1\r\nHost : x\r\n", 26, 65536), 400);
    /* NULL err is allowed */
    CHECK_INT_EQ(h1_parse_head("GET *", 5, 4, &h, &status, NULL), H1_BAD);
    CHECK_INT_EQ(status, 431);
}

/* s in buffer sa is t in buffer sb: the same offset, the same length. */
static int same_slice(struct slice s, const char *sa, struct slice t, const char *sb)
{
    return s.len == t.len && (s.p == NULL || t.p == NULL ? s.p == t.p : s.p - sa == t.p - sb);
}

/* Heads parsed from two buffers with the same bytes (a at sa, b at sb) say the same. */
static int same_head(const struct h1_head *a, const char *sa, const struct h1_head *b,
                     const char *sb)
{
    if (a->len != b->len || a->nheaders != b->nheaders || a->minor != b->minor ||
        !same_slice(a->method, sa, b->method, sb) || !same_slice(a->target, sa, b->target, sb) ||
        !same_slice(a->path, sa, b->path, sb) || !same_slice(a->query, sa, b->query, sb))
        return 0;
    for (size_t i = 0; i < a->nheaders; i++)
        if (!same_slice(a->headers[i].name, sa, b->headers[i].name, sb) ||
            !same_slice(a->headers[i].value, sa, b->headers[i].value, sb))
            return 0;
    return 1;
}

/* Each prefix is PARTIAL; the whole head, and the head with more after it, give one result. */
static void test_byte_by_byte(const char *s)
{
    static struct h1_head whole, h;
    size_t n = strlen(s), partial = 0;
    char *more = malloc(n + 16);
    int status;

    CHECK_INT_EQ(parse(s, n, 65536, &whole, &status), H1_OK);
    for (size_t k = 0; k < n; k++) {
        char *copy = malloc(k > 0 ? k : 1); /* exactly k bytes: ASan sees a read past them */

        memcpy(copy, s, k);
        partial += parse(copy, k, 65536, &h, &status) == H1_PARTIAL && status == 0;
        free(copy);
    }
    CHECK_INT_EQ(partial, n);
    memcpy(more, s, n);
    memcpy(more + n, "GET / HTTP/1.1\r\n", 16);
    CHECK_INT_EQ(parse(more, n, 65536, &h, &status), H1_OK);
    CHECK(same_head(&whole, s, &h, more));
    CHECK_INT_EQ(parse(more, n + 16, 65536, &h, &status), H1_OK);
    CHECK(same_head(&whole, s, &h, more));
    free(more);
}

static void test_line_ends(void)
{
    static struct h1_head h;
    static const char lf[] = "GET /x?y HTTP/1.0\nHost: a\r\nX: 1\n\n";
    int status;

    CHECK_INT_EQ(parse(lf, sizeof(lf) - 1, 1024, &h, &status), H1_OK);
    CHECK_INT_EQ(h.len, sizeof(lf) - 1);
    CHECK_INT_EQ(h.minor, 0);
    CHECK_INT_EQ(h.nheaders, 2);
    CHECK(slice_is(h1_header_get(&h, "x"), "1"));
    CHECK(slice_is(h.query, "y"));
    test_byte_by_byte(lf);
    /* one empty line before the request line is skipped, and counted */
    CHECK_INT_EQ(parse("\r\nGET / HTTP/1.1\r\n\r\n", 20, 1024, &h, &status), H1_OK);
    CHECK_INT_EQ(h.len, 20);
    CHECK(slice_is(h.method, "GET"));
    CHECK_INT_EQ(parse("\nGET / HTTP/1.1\n\n", 17, 1024, &h, &status), H1_OK);
    CHECK_INT_EQ(parse("\r", 1, 1024, &h, &status), H1_PARTIAL);
    CHECK_INT_EQ(parse("\r\n", 2, 1024, &h, &status), H1_PARTIAL);
    CHECK_INT_EQ(parse("", 0, 1024, &h, &status), H1_PARTIAL);
    CHECK_INT_EQ(parse(NULL, 0, 1024, &h, &status), H1_PARTIAL);
}

static void test_values(void)
{
    static struct h1_head h;
    static const char s[] = "PATCH /a/b?c=d?e HTTP/1.1\r\n"
                            "X-Empty:\r\n"
                            "X-Ows: \t  \r\n"
                            "X-Trim: \t a \t b \t\r\n"
                            "X-Same: 1\r\n"
                            "x-same: 2\r\n"
                            "X-Obs: caf\xc3\xa9\r\n"
                            "X-Colon:a:b\r\n"
                            "!#$%&'*+-.^_`|~09azAZ: tchar\r\n"
                            "\r\n";
    int status;
    struct slice v;

    CHECK_INT_EQ(parse(s, sizeof(s) - 1, 1024, &h, &status), H1_OK);
    CHECK(slice_is(h.method, "PATCH"));
    CHECK(slice_is(h.path, "/a/b"));
    CHECK(slice_is(h.query, "c=d?e"));
    v = h1_header_get(&h, "x-empty");
    CHECK(v.p != NULL && v.len == 0);
    v = h1_header_get(&h, "x-ows");
    CHECK(v.p != NULL && v.len == 0);
    CHECK(slice_is(h1_header_get(&h, "x-trim"), "a \t b"));
    CHECK(slice_is(h1_header_get(&h, "X-SAME"), "1"));
    CHECK(slice_is(h.headers[4].value, "2"));
    CHECK(slice_is(h1_header_get(&h, "x-obs"), "caf\xc3\xa9"));
    CHECK(slice_is(h1_header_get(&h, "x-colon"), "a:b"));
    CHECK(slice_is(h1_header_get(&h, "!#$%&'*+-.^_`|~09azaz"), "tchar"));
    CHECK_INT_EQ(parse("GET /? HTTP/1.1\r\n\r\n", 19, 1024, &h, &status), H1_OK);
    CHECK(h.query.p != NULL && h.query.len == 0);
    CHECK(slice_is(h.path, "/"));
    test_byte_by_byte(s);
    test_byte_by_byte(sentry_python);
    test_byte_by_byte(sentry_node);
}

/* A head of exactly n bytes: the request line and one padded header. */
static char *head_of(size_t n)
{
    static const char start[] = "GET / HTTP/1.1\r\nX: ";
    char *s = malloc(n + 1);
    size_t pad = n - (sizeof(start) - 1) - 4;

    memcpy(s, start, sizeof(start) - 1);
    memset(s + sizeof(start) - 1, 'v', pad);
    memcpy(s + n - 4, "\r\n\r\n", 4);
    s[n] = '\0';
    return s;
}

static void test_max_head(void)
{
    static struct h1_head h;
    char *s = head_of(1000);
    int status;

    CHECK_INT_EQ(parse(s, 1000, 1000, &h, &status), H1_OK);
    CHECK_INT_EQ(h.len, 1000);
    CHECK_INT_EQ(outcome(s, 1000, 999), 431);
    CHECK_INT_EQ(outcome(s, 999, 999), 431); /* len reached max: no more may come */
    CHECK_INT_EQ(outcome(s, 998, 999), H1_PARTIAL);
    CHECK_INT_EQ(outcome(s, 999, 1000), H1_PARTIAL);
    CHECK_INT_EQ(outcome(s, 10, 10), 431); /* inside the request line */
    CHECK_INT_EQ(outcome(s, 1000, 0), 431);
    free(s);
}

/* "GET /aaa... HTTP/1.1" of exactly n bytes, line end not counted, then end. */
static char *request_line_of(size_t n, size_t *len)
{
    char *s = malloc(n + 5);

    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', n - 5 - 9);
    memcpy(s + n - 9, " HTTP/1.1\r\n\r\n", 13);
    *len = n + 4;
    return s;
}

static void test_request_line_limit(void)
{
    static struct h1_head h;
    size_t len;
    char *s = request_line_of(H1_MAX_REQUEST_LINE, &len);
    int status;

    CHECK_INT_EQ(parse(s, len, 65536, &h, &status), H1_OK);
    CHECK_INT_EQ(h.target.len, H1_MAX_REQUEST_LINE - 4 - 9);
    /* the line and its CR, its LF not yet here: still may be fine */
    CHECK_INT_EQ(outcome(s, H1_MAX_REQUEST_LINE + 1, 65536), H1_PARTIAL);
    free(s);
    s = request_line_of(H1_MAX_REQUEST_LINE + 1, &len);
    CHECK_INT_EQ(outcome(s, len, 65536), 414);
    /* known as too long before its end arrives */
    CHECK_INT_EQ(outcome(s, H1_MAX_REQUEST_LINE + 1, 65536), 414);
    CHECK_INT_EQ(outcome(s, H1_MAX_REQUEST_LINE, 65536), H1_PARTIAL);
    free(s);
}

static void test_header_count(void)
{
    static struct h1_head h;
    struct buf b = BUF_INIT(1 << 16);
    int status;

    CHECK_INT_EQ(buf_addstr(&b, "GET / HTTP/1.1\r\n"), 0);
    for (int i = 0; i < H1_MAX_HEADERS; i++)
        CHECK_INT_EQ(buf_addf(&b, "X-%d: %d\r\n", i, i), 0);
    CHECK_INT_EQ(buf_addstr(&b, "\r\n"), 0);
    CHECK_INT_EQ(parse(b.p, b.len, 65536, &h, &status), H1_OK);
    CHECK_INT_EQ(h.nheaders, H1_MAX_HEADERS);
    CHECK(slice_is(h.headers[99].name, "X-99"));
    CHECK(slice_is(h1_header_get(&h, "x-99"), "99"));
    b.len -= 2;
    CHECK_INT_EQ(buf_addstr(&b, "X-100: 100\r\n"), 0);
    /* refused as soon as the 101st line is complete, before the head ends */
    CHECK_INT_EQ(outcome(b.p, b.len, 65536), 431);
    CHECK_INT_EQ(buf_addstr(&b, "\r\n"), 0);
    CHECK_INT_EQ(outcome(b.p, b.len, 65536), 431);
    buf_release(&b);
}

/* RFC 9110 5.6.2 tchar and 5.5 field-vchar, written out apart from the table in h1.c. */
static int ref_tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int ref_field(int c)
{
    return c == ' ' || c == '\t' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

/* Each of the 256 bytes in a method, a name, a value and a target. */
static void test_byte_classes(void)
{
    static struct h1_head h;
    char s[64];
    int status, wrong = 0;

    for (int c = 0; c < 256; c++) {
        int n = snprintf(s, sizeof(s), "G_T / HTTP/1.1\r\n\r\n");

        s[1] = (char)c;
        wrong += (parse(s, (size_t)n, 1024, &h, &status) == H1_OK) != ref_tchar(c);
        n = snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nX_Y: v\r\n\r\n");
        s[17] = (char)c;
        wrong += (parse(s, (size_t)n, 1024, &h, &status) == H1_OK) != (ref_tchar(c) || c == ':');
        n = snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nX: a_b\r\n\r\n");
        s[20] = (char)c;
        wrong += (parse(s, (size_t)n, 1024, &h, &status) == H1_OK) != ref_field(c);
        n = snprintf(s, sizeof(s), "GET /a_b HTTP/1.1\r\n\r\n");
        s[6] = (char)c;
        wrong += (parse(s, (size_t)n, 1024, &h, &status) == H1_OK) != (c >= 0x21 && c <= 0x7e);
    }
    CHECK_INT_EQ(wrong, 0);
}

static void test_content_length(void)
{
    /* '|'-separated: none, a sign, spaces, a list, hex, a non-ASCII digit, 20 digits, 2^64 */
    static const char bad[] = "|-1|+1| 1|1 |1,1|0x1|1, 1|\xd9\xa1|10000000000000000000|1.0|1e3|"
                              "18446744073709551616";
    uint64_t n = 7;

    CHECK_INT_EQ(h1_content_length(SLICE_LIT("0"), &n), H1_OK);
    CHECK_INT_EQ(n, 0);
    CHECK_INT_EQ(h1_content_length(SLICE_LIT("367"), &n), H1_OK);
    CHECK_INT_EQ(n, 367);
    CHECK_INT_EQ(h1_content_length(SLICE_LIT("0042"), &n), H1_OK);
    CHECK_INT_EQ(n, 42);
    CHECK_INT_EQ(h1_content_length(SLICE_LIT("9999999999999999999"), &n), H1_OK);
    CHECK(n == 9999999999999999999ULL);
    for (const char *p = bad; p != NULL;) {
        const char *bar = strchr(p, '|');
        struct slice v = { p, bar != NULL ? (size_t)(bar - p) : strlen(p) };

        n = 7;
        CHECK_INT_EQ(h1_content_length(v, &n), H1_BAD);
        CHECK_INT_EQ(n, 7);
        p = bar != NULL ? bar + 1 : NULL;
    }
    CHECK_INT_EQ(h1_content_length((struct slice){ "1\0", 2 }, &n), H1_BAD);
    CHECK_INT_EQ(h1_content_length(SLICE_NULL, &n), H1_BAD);
}

/* A multi-chunk body with extensions and trailers, and the next request after it. */
static const char chunked_body[] = "5;name=val\r\nhello\r\n"
                                   "6 ; ext ;x=\"q\\\"s\"\r\n world\r\n"
                                   "A\r\n0123456789\r\n"
                                   "0000000001\r\n!\r\n"
                                   "0;last\r\n"
                                   "X-Trailer: t\r\n"
                                   "Another:x y\r\n"
                                   "\r\n";
static const char chunked_next[] = "GET /next HTTP/1.1\r\n\r\n";
static const char chunked_data[] = "hello world0123456789!";

struct feed_result {
    int rc, status;
    size_t used;
    char out[256];
};

/* Feeds in[0..len) in pieces cut at the given offsets (ascending, within len). */
static void feed_pieces(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t max,
                        struct feed_result *r)
{
    struct h1_chunked c;
    struct buf out = BUF_INIT(max);
    size_t from = 0, used;

    h1_chunked_init(&c);
    r->rc = H1_PARTIAL;
    r->used = 0;
    for (size_t i = 0; i <= ncuts && r->rc == H1_PARTIAL; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        char *piece = malloc(to > from ? to - from : 1); /* exactly: ASan sees reads past it */

        memcpy(piece, in + from, to - from);
        r->rc = h1_chunked_feed(&c, piece, to - from, &used, &out, &r->status, NULL);
        free(piece);
        r->used += used;
        from = to;
    }
    snprintf(r->out, sizeof(r->out), "%s", out.p);
    buf_release(&out);
}

static void test_chunked_splits(void)
{
    char in[sizeof(chunked_body) + sizeof(chunked_next)];
    size_t blen = sizeof(chunked_body) - 1, len = blen + sizeof(chunked_next) - 1;
    size_t cuts[sizeof(in)], agree = 0;
    struct feed_result whole, r;

    memcpy(in, chunked_body, blen);
    memcpy(in + blen, chunked_next, sizeof(chunked_next));
    feed_pieces(in, len, NULL, 0, 1024, &whole);
    CHECK_INT_EQ(whole.rc, H1_OK);
    CHECK_INT_EQ(whole.used, blen); /* the next request is left alone */
    CHECK_STR_EQ(whole.out, chunked_data);
    for (size_t k = 0; k <= len; k++) {
        feed_pieces(in, len, &k, 1, 1024, &r);
        agree += r.rc == H1_OK && r.used == blen && strcmp(r.out, chunked_data) == 0;
    }
    CHECK_INT_EQ(agree, len + 1);
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    feed_pieces(in, len, cuts, len - 1, 1024, &r); /* byte by byte */
    CHECK_INT_EQ(r.rc, H1_OK);
    CHECK_INT_EQ(r.used, blen);
    CHECK_STR_EQ(r.out, chunked_data);
    /* one byte short of it: more is needed */
    feed_pieces(in, blen - 1, NULL, 0, 1024, &r);
    CHECK_INT_EQ(r.rc, H1_PARTIAL);
    CHECK_INT_EQ(r.used, blen - 1);
}

static void test_chunked_after_end(void)
{
    struct h1_chunked c;
    struct buf out = BUF_INIT(64);
    size_t used = 99;
    int status = -1;

    h1_chunked_init(&c);
    CHECK_INT_EQ(h1_chunked_feed(&c, "0\r\n\r\nPOST", 9, &used, &out, &status, NULL), H1_OK);
    CHECK_INT_EQ(used, 5);
    CHECK_INT_EQ(status, 0);
    CHECK_INT_EQ(out.len, 0);
    CHECK_INT_EQ(h1_chunked_feed(&c, "POST", 4, &used, &out, &status, NULL), H1_OK);
    CHECK_INT_EQ(used, 0);
    CHECK_INT_EQ(h1_chunked_feed(&c, "", 0, &used, &out, &status, NULL), H1_OK);
    h1_chunked_init(&c);
    CHECK_INT_EQ(h1_chunked_feed(&c, NULL, 0, &used, &out, &status, NULL), H1_PARTIAL);
    CHECK_INT_EQ(used, 0);
    buf_release(&out);
}

static int feed_one(const char *in, size_t len, size_t max, int *status, size_t *used)
{
    struct h1_chunked c;
    struct buf out = BUF_INIT(max);
    struct bl_err err = { 0 };
    int rc;

    h1_chunked_init(&c);
    rc = h1_chunked_feed(&c, in, len, used, &out, status, &err);
    if (rc == H1_BAD && (err.msg[0] == '\0' || err.code >= 0))
        rc = -100;
    if (rc == H1_BAD) { /* refused for good */
        int again = 0;
        size_t u;

        if (h1_chunked_feed(&c, "0\r\n\r\n", 5, &u, &out, &again, NULL) != H1_BAD ||
            again != *status)
            rc = -101;
    }
    buf_release(&out);
    return rc;
}

/* Feeds pre, nfill times fill, then post: H1_OK, H1_PARTIAL or the status of a refusal. */
static int feed_outcome(const char *pre, char fill, size_t nfill, const char *post)
{
    size_t a = strlen(pre), b = strlen(post), used;
    char *s = malloc(a + nfill + b);
    int status, rc;

    memcpy(s, pre, a);
    memset(s + a, fill, nfill);
    memcpy(s + a + nfill, post, b);
    rc = feed_one(s, a + nfill + b, 10, &status, &used);
    free(s);
    return rc == H1_BAD ? status : rc;
}

static const struct bad_case chunked_bad[] = {
    CASE("x\r\n", 400),                     /* not hex */
    CASE("\r\n", 400),                      /* no size */
    CASE(";a\r\n", 400),                    /* no size */
    CASE("-1\r\n", 400),                    /* sign */
    CASE("0x5\r\nhello\r\n0\r\n\r\n", 400), /* C prefix */
    CASE("5\nhello\r\n0\r\n\r\n", 400),     /* bare LF after the size */
    CASE("5\rhello\r\n0\r\n\r\n", 400),     /* bare CR after the size */
    CASE("5 \r\nhello\r\n0\r\n\r\n", 400),  /* whitespace, no extension */
    CASE("5 x\r\n", 400),                   /* whitespace, then not ';' */
    CASE("5;a\x01\r\n", 400),               /* control byte in an extension */
    CASE("5;a\nb\r\n", 400),                /* LF inside an extension */
    CASE("5;a\rb\r\n", 400),                /* CR inside an extension */
    CASE("5\r\nhelloX\r\n", 400),           /* data longer than its size */
    CASE("5\r\nhello\n0\r\n\r\n", 400),     /* bare LF after data */
    CASE("5\r\nhello\r\r\n", 400),          /* CR CR LF after data */
    CASE("0\r\n\n", 400),                   /* bare LF ending the body */
    CASE("0\r\n\rx", 400),                  /* CR not followed by LF */
    CASE("0\r\nX: y\n\r\n", 400),           /* bare LF after a trailer */
    CASE("0\r\n: y\r\n\r\n", 400),          /* empty trailer name */
    CASE("0\r\nX y\r\n\r\n", 400),          /* no colon */
    CASE("0\r\nX : y\r\n\r\n", 400),        /* space before the colon */
    CASE("0\r\n y\r\n\r\n", 400),           /* folded trailer */
    CASE("0\r\nX: \x7f\r\n\r\n", 400),      /* DEL in a trailer */
    CASE("1000000000000001\r\n", 400),      /* 2^60 + 1 */
    CASE("FFFFFFFFFFFFFFFFFFFF\r\n", 400),  /* far past 2^64 */
    CASE("10000000000000000\r\n", 400),     /* 2^64 (wraps to 0 in a naive parser) */
    CASE("1000000000000000\r\n", 413),      /* 2^60 itself: a size, but past out's max */
    CASE("b\r\n", 413),                     /* 11 > 10 */
    CASE("5\r\nhello\r\n6\r\n", 413),       /* 5 + 6 > 10, found at the second size */
    CASE("5;\0\r\n", 400),                  /* NUL in an extension */
    CASE("0\r\nA: \0\r\n\r\n", 400),        /* NUL in a trailer */
};

static void test_chunked_bad(void)
{
    struct bl_err err = { 0 };
    struct h1_chunked c;
    struct buf out = BUF_INIT(10);
    size_t used;
    int status;

    for (size_t i = 0; i < sizeof(chunked_bad) / sizeof(chunked_bad[0]); i++) {
        const struct bad_case *b = &chunked_bad[i];

        status = 0;
        CHECK_INT_EQ(feed_one(b->head, b->len, 10, &status, &used), H1_BAD);
        if (status != b->status)
            fprintf(stderr, "case %zu: \"%s\"\n", i, b->head);
        CHECK_INT_EQ(status, b->status);
    }
    /* the 413 comes at the LF of the size line, before any data */
    CHECK_INT_EQ(feed_one("b\r\nhello world\r\n", 17, 10, &status, &used), H1_BAD);
    CHECK_INT_EQ(used, 3);
    /* exactly the max is fine; the error says which code */
    CHECK_INT_EQ(feed_outcome("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", ' ', 0, ""), H1_OK);
    h1_chunked_init(&c);
    CHECK_INT_EQ(h1_chunked_feed(&c, "b\r\n", 3, &used, &out, &status, &err), H1_BAD);
    CHECK_INT_EQ(err.code, BL_ETOOBIG);
    CHECK_STR_EQ(err.msg, "request body too large");
    buf_release(&out);
}

static void test_chunked_limits(void)
{
    /* leading zeros are fine up to the size-line limit (its CRLF not counted), not past it */
    CHECK_INT_EQ(feed_outcome("", '0', H1_MAX_CHUNK_LINE - 1, "1\r\nx\r\n0\r\n\r\n"), H1_OK);
    CHECK_INT_EQ(feed_outcome("", '0', H1_MAX_CHUNK_LINE, "1\r\nx\r\n0\r\n\r\n"), 400);
    CHECK_INT_EQ(feed_outcome("5;", 'e', H1_MAX_CHUNK_LINE - 2, "\r\nhello\r\n0\r\n\r\n"), H1_OK);
    CHECK_INT_EQ(feed_outcome("5;", 'e', H1_MAX_CHUNK_LINE - 1, "\r\nhello\r\n0\r\n\r\n"), 400);
    /* the trailer section, its final CRLF included */
    CHECK_INT_EQ(feed_outcome("0\r\nX:", 'v', H1_MAX_TRAILERS - 6, "\r\n\r\n"), H1_OK);
    CHECK_INT_EQ(feed_outcome("0\r\nX:", 'v', H1_MAX_TRAILERS - 5, "\r\n\r\n"), 400);
    /* hex digits in either case */
    CHECK_INT_EQ(feed_outcome("a\r\n", '.', 10, "\r\n0\r\n\r\n"), H1_OK);
    CHECK_INT_EQ(feed_outcome("A\r\n", '.', 10, "\r\n0\r\n\r\n"), H1_OK);
}

struct args {
    char seen[1024];
    const char *values[16];
    int n, stop_after;
};

static int collect(void *arg, const char *name, const char *value)
{
    struct args *a = arg;
    size_t len = strlen(a->seen);

    snprintf(a->seen + len, sizeof(a->seen) - len, "[%s]=[%s]", name, value);
    if (a->n < 16)
        a->values[a->n] = value;
    a->n++;
    return a->stop_after > 0 && a->n >= a->stop_after;
}

static int query(struct slice q, int stop_after, struct args *a)
{
    struct pool pool = POOL_INIT(4096);
    int rc;

    memset(a, 0, sizeof(*a));
    a->stop_after = stop_after;
    rc = h1_query_each(q, &pool, collect, a);
    pool_release(&pool);
    return rc;
}

static void test_query(void)
{
    /* a query and its arguments, as libmicrohttpd 0.9.75 reads them (its NULL values are "") */
    static const char *const cases[][2] = {
        { "a=%41&b=x+y&c=%zz&d&e=&a=2&%2B=%2b&f=%4&g=%",
          "[a]=[A][b]=[x y][c]=[%zz][d]=[][e]=[][a]=[2][+]=[+][f]=[%4][g]=[%]" },
        { "a&&b", "[a]=[][]=[][b]=[]" },
        { "a=1&", "[a]=[1]" },
        { "&", "[]=[]" },
        { "=v&==&a==b&b=c=d", "[]=[v][]=[=][a]=[=b][b]=[c=d]" },
        { "n%3Dx=%3d&p=%e2%82%AC&s=%20+%2", "[n=x]=[=][p]=[\xe2\x82\xac][s]=[  %2]" },
        { "%%41=%%%&x=%4%41", "[%A]=[%%%][x]=[%4A]" },
    };
    struct args a;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_INT_EQ(query(slice_from(cases[i][0]), 0, &a), 0);
        CHECK_STR_EQ(a.seen, cases[i][1]);
    }
    /* stop early */
    CHECK_INT_EQ(query(SLICE_LIT("a=1&b=2&c=3"), 2, &a), 0);
    CHECK_INT_EQ(a.n, 2);
    CHECK_STR_EQ(a.seen, "[a]=[1][b]=[2]");
    /* nothing */
    CHECK_INT_EQ(query(SLICE_LIT(""), 0, &a), 0);
    CHECK_INT_EQ(a.n, 0);
    CHECK_INT_EQ(query(SLICE_NULL, 0, &a), 0);
    CHECK_INT_EQ(a.n, 0);
    /* a NUL, raw or encoded, is refused before fn sees anything */
    CHECK_INT_EQ(query(SLICE_LIT("a=1&b=%00"), 0, &a), BL_EPARSE);
    CHECK_INT_EQ(a.n, 0);
    CHECK_INT_EQ(query(SLICE_LIT("a=1&%00=b"), 0, &a), BL_EPARSE);
    CHECK_INT_EQ(query((struct slice){ "a=1&b\0", 6 }, 0, &a), BL_EPARSE);
    CHECK_INT_EQ(a.n, 0);
}

/* The strings outlive the callback (req_query_all keeps them) and the limits hold. */
static void test_query_limits(void)
{
    struct pool pool = POOL_INIT(4096);
    struct buf q = BUF_INIT(1 << 16);
    struct args a;

    memset(&a, 0, sizeof(a));
    CHECK_INT_EQ(h1_query_each(SLICE_LIT("k=1&k=%32&j=3&k=x+y"), &pool, collect, &a), 0);
    CHECK_INT_EQ(a.n, 4);
    CHECK_STR_EQ(a.values[0], "1");
    CHECK_STR_EQ(a.values[1], "2");
    CHECK_STR_EQ(a.values[3], "x y");
    pool_release(&pool);
    for (int i = 0; i < H1_MAX_QUERY_ARGS; i++)
        CHECK(buf_add(&q, i ? "&a" : "a", i ? 2 : 1) == 0);
    CHECK_INT_EQ(query((struct slice){ q.p, q.len }, 0, &a), 0);
    CHECK_INT_EQ(a.n, H1_MAX_QUERY_ARGS);
    CHECK_INT_EQ(buf_addstr(&q, "&b"), 0);
    CHECK_INT_EQ(query((struct slice){ q.p, q.len }, 0, &a), BL_ETOOBIG);
    CHECK_INT_EQ(a.n, 0);
    q.len -= 2;
    CHECK_INT_EQ(buf_addstr(&q, "&"), 0); /* an empty last piece is no argument */
    CHECK_INT_EQ(query((struct slice){ q.p, q.len }, 0, &a), 0);
    CHECK_INT_EQ(a.n, H1_MAX_QUERY_ARGS);
    buf_reset(&q);
    for (size_t i = 0; i < H1_MAX_QUERY; i++)
        CHECK(buf_addch(&q, i % 64 ? 'v' : '&') == 0);
    CHECK_INT_EQ(query((struct slice){ q.p, q.len }, 0, &a), 0);
    CHECK_INT_EQ(a.n, H1_MAX_QUERY / 64 + 1); /* an empty first piece, then 128 */
    CHECK_INT_EQ(buf_addch(&q, 'v'), 0);
    CHECK_INT_EQ(query((struct slice){ q.p, q.len }, 0, &a), BL_ETOOBIG);
    buf_release(&q);
}

int main(void)
{
    test_sentry_python();
    test_node_chunked();
    test_bad();
    test_line_ends();
    test_values();
    test_max_head();
    test_request_line_limit();
    test_header_count();
    test_byte_classes();
    test_content_length();
    test_chunked_splits();
    test_chunked_after_end();
    test_chunked_bad();
    test_chunked_limits();
    test_query();
    test_query_limits();
    return t_done();
}
