/*
 * test_syslog.c - syslog parsing and TCP framing against protocols.md §4.6
 * (Y1-Y7) and what util-linux logger and rsyslog really send (§4.5).
 */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "core/clock.h"
#include "core/pool.h"
#include "ingest/syslog.h"

static struct pool pool = POOL_INIT(4096);
/* 2024-05-01T12:00:30Z */
#define NOW INT64_C(1714564830000000)

static int eq(struct slice s, const char *want)
{
    int ok = s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;

    if (!ok)
        fprintf(stderr, "  got '%.*s', want '%s'\n", (int)s.len, s.p, want);
    return ok;
}

static void parse(const char *text, struct syslog_msg *m)
{
    syslog_parse(text, strlen(text), NOW, &pool, m);
}

static int64_t ts(const char *s)
{
    int64_t us = 0;

    clock_parse_rfc3339(s, strlen(s), &us);
    return us;
}

static void test_y1_escapes(void)
{
    struct syslog_msg m;

    parse("<34>1 2024-05-01T12:00:00.123Z web-1 checkout 4242 PAY01 [order@32473 id=\"A-17\" "
          "note=\"quote \\\" and \\] done\"] payment failed",
          &m);
    CHECK_INT_EQ(m.format, SYSLOG_RFC5424);
    CHECK_INT_EQ(m.facility, 4);
    CHECK_INT_EQ(m.severity, 2);
    CHECK(m.has_time && m.time_us == ts("2024-05-01T12:00:00.123Z"));
    CHECK(eq(m.host, "web-1") && eq(m.app, "checkout") && eq(m.procid, "4242"));
    CHECK(eq(m.msgid, "PAY01"));
    CHECK_INT_EQ(m.nparams, 2);
    CHECK(eq(m.params[0].sd_id, "order@32473") && eq(m.params[0].name, "id"));
    CHECK(eq(m.params[0].value, "A-17"));
    CHECK(eq(m.params[1].name, "note") && eq(m.params[1].value, "quote \" and ] done"));
    CHECK(eq(m.msg, "payment failed"));
}

static void test_y2_nil(void)
{
    struct syslog_msg m;

    parse("<165>1 2024-05-01T12:00:01Z - - - - - plain message without header values", &m);
    CHECK_INT_EQ(m.format, SYSLOG_RFC5424);
    CHECK_INT_EQ(m.facility, 20);
    CHECK_STR_EQ(syslog_facility_name(m.facility), "local4");
    CHECK_INT_EQ(m.severity, 5);
    CHECK(m.host.len == 0 && m.app.len == 0 && m.procid.len == 0 && m.msgid.len == 0);
    CHECK(eq(m.msg, "plain message without header values"));
    /* logger --rfc5424=notq,notime,nohost */
    parse("<13>1 - - root - - - m", &m);
    CHECK(!m.has_time && eq(m.app, "root") && eq(m.msg, "m"));
}

static void test_y3_bsd(void)
{
    struct syslog_msg m;

    parse("<13>May  1 12:00:02 web-1 cron[991]: job started", &m);
    CHECK_INT_EQ(m.format, SYSLOG_RFC3164);
    CHECK(m.has_time && m.time_us == ts("2024-05-01T12:00:02Z"));
    CHECK(eq(m.host, "web-1") && eq(m.app, "cron") && eq(m.procid, "991"));
    CHECK(eq(m.msg, "job started"));
    /* A date more than a day ahead belongs to last year. */
    parse("<13>Dec 31 23:59:59 web-1 cron: x", &m);
    CHECK(m.time_us == ts("2023-12-31T23:59:59Z"));
    /* logger --rfc3164 -p local0.err -t myapp */
    parse("<131>Nov 24 02:37:20 vm myapp: m", &m);
    CHECK_INT_EQ(m.facility, 16);
    CHECK_INT_EQ(m.severity, 3);
    CHECK(eq(m.host, "vm") && eq(m.app, "myapp") && eq(m.msg, "m"));
    /* /dev/log writers send no hostname */
    parse("<13>Nov 24 02:37:26 root: m", &m);
    CHECK(m.host.len == 0 && eq(m.app, "root") && eq(m.msg, "m"));
    /* rsyslog's RSYSLOG_ForwardFormat: RFC 3339 in a BSD header */
    parse("<30>2024-05-01T11:59:00.5+00:00 db2 postgres[77]: checkpoint starting\n", &m);
    CHECK(m.has_time && m.time_us == ts("2024-05-01T11:59:00.5Z"));
    CHECK(eq(m.host, "db2") && eq(m.app, "postgres") && eq(m.procid, "77"));
    CHECK(eq(m.msg, "checkpoint starting"));
    /* host, then no tag at all */
    parse("<13>May  1 12:00:02 web-1 just some words", &m);
    CHECK(eq(m.host, "web-1") && m.app.len == 0 && eq(m.msg, "just some words"));
}

static void test_y6_bom_and_logger(void)
{
    struct syslog_msg m;

    parse("<14>1 2024-05-01T12:00:03+02:00 web-1 app - - - \xef\xbb\xbfgr\xc3\xbc\xc3\x9f"
          "e",
          &m);
    CHECK(m.time_us == ts("2024-05-01T10:00:03Z"));
    CHECK(eq(m.msg, "gr\xc3\xbc\xc3\x9f"
                    "e"));
    parse("<13>1 2026-11-24T02:37:20.581152+00:00 vm root 9891 ID47 [timeQuality tzKnown=\"1\" "
          "isSynced=\"0\"][zoo@123 tiger=\"hungry\"] m",
          &m);
    CHECK_INT_EQ(m.nparams, 3);
    CHECK(eq(m.params[2].sd_id, "zoo@123") && eq(m.params[2].value, "hungry"));
    CHECK(eq(m.procid, "9891") && eq(m.msgid, "ID47") && eq(m.msg, "m"));
}

static void test_y7_garbage(void)
{
    struct syslog_msg m;

    parse("hello", &m);
    CHECK_INT_EQ(m.format, SYSLOG_NONE);
    CHECK(m.facility == 1 && m.severity == 5 && !m.has_time && eq(m.msg, "hello"));
    parse("<999>1 2024-05-01T12:00:00Z h a - - - x", &m);
    CHECK(m.facility == 1 && m.severity == 5);
    CHECK(eq(m.msg, "<999>1 2024-05-01T12:00:00Z h a - - - x"));
    parse("<013>x", &m);
    CHECK(eq(m.msg, "<013>x"));
    /* a broken 5424 header keeps everything after the PRI as text */
    parse("<34>1 2024-05-01T12:00:00Z h a p m [unclosed x", &m);
    CHECK_INT_EQ(m.format, SYSLOG_NONE);
    CHECK(m.facility == 4 && eq(m.msg, "1 2024-05-01T12:00:00Z h a p m [unclosed x"));
    parse("<34>", &m);
    CHECK(m.msg.len == 0 || eq(m.msg, "<34>"));
    parse("", &m);
    CHECK(m.msg.len == 0);
}

/* Feeds a stream in pieces of `step` bytes; returns the messages joined by '|'. */
static void frames(const char *stream, size_t len, size_t step, size_t max, char *out, size_t cap,
                   uint64_t *oversize)
{
    struct syslog_framer f;
    char buf[4096];
    size_t have = 0, fed = 0;

    syslog_framer_init(&f, max);
    out[0] = '\0';
    while (fed < len || have > 0) {
        size_t n = len - fed < step ? len - fed : step, used;
        struct slice msg;
        int rc;

        memcpy(buf + have, stream + fed, n);
        have += n;
        fed += n;
        while ((rc = syslog_frame(&f, buf, have, &msg, &used)) >= 0) {
            if (rc == 1)
                snprintf(out + strlen(out), cap - strlen(out), "%s%.*s", out[0] ? "|" : "",
                         (int)msg.len, msg.p);
            memmove(buf, buf + used, have - used);
            have -= used;
            if (rc == 0 && used == 0)
                break;
        }
        if (rc < 0 || (fed == len && n == 0))
            break;
    }
    *oversize = f.oversize;
}

static void test_framing(void)
{
    static const char y1[] = "<34>1 2024-05-01T12:00:00.123Z web-1 checkout 4242 PAY01 "
                             "[order@32473 id=\"A-17\" note=\"quote \\\" and \\] done\"] "
                             "payment failed";
    static const char y2[] = "<165>1 2024-05-01T12:00:01Z - - - - - plain message without "
                             "header values";
    char stream[1024], out[2048], want[1024];
    uint64_t over;
    int n;

    CHECK_INT_EQ(strlen(y1), 123);
    CHECK_INT_EQ(strlen(y2), 73);
    /* Y4: octet counting, whole and one byte at a time */
    n = snprintf(stream, sizeof(stream), "123 %s73 %s", y1, y2);
    snprintf(want, sizeof(want), "%s|%s", y1, y2);
    frames(stream, (size_t)n, (size_t)n, 2048, out, sizeof(out), &over);
    CHECK_STR_EQ(out, want);
    frames(stream, (size_t)n, 1, 2048, out, sizeof(out), &over);
    CHECK_STR_EQ(out, want);
    /* Y5: LF framing, one byte per send, CRLF and NUL trailers too */
    n = snprintf(stream, sizeof(stream),
                 "<13>May  1 12:00:02 web-1 cron[991]: job started\n%s\r\nx", y2);
    stream[n++] = '\0';
    frames(stream, (size_t)n, 1, 2048, out, sizeof(out), &over);
    snprintf(want, sizeof(want), "<13>May  1 12:00:02 web-1 cron[991]: job started|%s|x", y2);
    CHECK_STR_EQ(out, want);
    /* mixed framings on one connection */
    n = snprintf(stream, sizeof(stream), "5 <13>a<13>b\n3 <1>");
    frames(stream, (size_t)n, 2, 2048, out, sizeof(out), &over);
    CHECK_STR_EQ(out, "<13>a|<13>b|<1>");
    /* over-long frames are skipped, counted, and the stream goes on */
    n = snprintf(stream, sizeof(stream), "40 %040d<13>ok\n<13>%060d\n<13>after\n", 0, 0);
    frames(stream, (size_t)n, 7, 32, out, sizeof(out), &over);
    CHECK_STR_EQ(out, "<13>ok|<13>after");
    CHECK_INT_EQ(over, 2);
    /* a length that is not a number is not syslog framing */
    n = snprintf(stream, sizeof(stream), "12x <13>a");
    frames(stream, (size_t)n, (size_t)n, 2048, out, sizeof(out), &over);
    CHECK_STR_EQ(out, "");
}

int main(void)
{
    test_y1_escapes();
    test_y2_nil();
    test_y3_bsd();
    test_y6_bom_and_logger();
    test_y7_garbage();
    test_framing();
    pool_release(&pool);
    return t_done();
}
