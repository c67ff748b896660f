/*
 * test_relp.c - the RELP wire format (ingest/relp.h): the frames rsyslog's
 * omrelp (librelp) sends, cut from one buffer and at every split point;
 * malformed headers; an oversized frame; offers; the answers.
 */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "core/err.h"
#include "ingest/relp.h"

/* What omrelp sends first, as librelp 1.11 writes it. */
static const char OPEN[] = "1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,"
                           "http://librelp.adiscon.com\ncommands=syslog\n";

static int parse(const char *s, size_t max, struct relp_frame *f, size_t *used)
{
    struct bl_err err;

    return relp_parse(s, strlen(s), max, f, used, &err);
}

static void test_session(void)
{
    char wire[512];
    struct relp_frame f;
    struct relp_offers o;
    size_t used, pos = 0;
    int n = snprintf(wire, sizeof(wire), "%s2 syslog 22 <13>1 - h app - - - hi\n3 close 0\n", OPEN);

    CHECK_INT_EQ(relp_parse(wire, (size_t)n, 1024, &f, &used, NULL), RELP_FRAME);
    CHECK_INT_EQ(f.txnr, 1);
    CHECK_INT_EQ(f.cmd, RELP_CMD_OPEN);
    CHECK_INT_EQ(used, strlen(OPEN));
    relp_offers_parse(f.data, &o);
    CHECK_INT_EQ(o.version, 0);
    CHECK_INT_EQ(o.syslog, 1);
    pos += used;
    CHECK_INT_EQ(relp_parse(wire + pos, (size_t)n - pos, 1024, &f, &used, NULL), RELP_FRAME);
    CHECK_INT_EQ(f.txnr, 2);
    CHECK_INT_EQ(f.cmd, RELP_CMD_SYSLOG);
    CHECK(f.data.len == 22 && memcmp(f.data.p, "<13>1 - h app - - - hi", 22) == 0);
    pos += used;
    CHECK_INT_EQ(relp_parse(wire + pos, (size_t)n - pos, 1024, &f, &used, NULL), RELP_FRAME);
    CHECK_INT_EQ(f.cmd, RELP_CMD_CLOSE);
    CHECK_INT_EQ(f.datalen, 0);
    CHECK_INT_EQ(pos + used, (size_t)n);
    /* Cut anywhere before its end, a frame is "more", never an error. */
    for (size_t cut = 0; cut < strlen(OPEN); cut++)
        CHECK_INT_EQ(relp_parse(OPEN, cut, 1024, &f, &used, NULL), RELP_MORE);
}

static void test_bad(void)
{
    static const char *const bad[] = {
        "x syslog 1 a\n",                          /* TXNR not a number */
        "1234567890 syslog 1 a\n",                 /* TXNR of 10 digits */
        "1 sys-log 1 a\n",                         /* a command is letters */
        "1  syslog 1 a\n",                         /* empty command */
        "1 syslog 1234567890 a\n",                 /* DATALEN of 10 digits */
        "1 syslog 3 abcX",                         /* no trailer */
        "1 syslog 0 \n",                           /* space after an empty DATALEN */
        "1 syslog 3\nabc\n",                       /* data without its space */
        "1 abcdefghijklmnopqrstuvwxyzabcdefg 0\n", /* 33 letters */
    };
    struct relp_frame f;
    size_t used;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(bad[i], 1024, &f, &used);

        if (rc != BL_EPARSE)
            printf("not refused: %s\n", bad[i]);
        CHECK_INT_EQ(rc, BL_EPARSE);
    }
    /* 32 letters, 9 digits, TXNR 0 (a hint): all fine. */
    CHECK_INT_EQ(parse("999999999 abcdefghijklmnopqrstuvwxyzabcdef 0\n", 10, &f, &used),
                 RELP_FRAME);
    CHECK_INT_EQ(f.txnr, RELP_TXNR_MAX);
    CHECK_INT_EQ(f.cmd, RELP_CMD_OTHER);
    CHECK_INT_EQ(parse("0 serverclose 0\n", 10, &f, &used), RELP_FRAME);
    CHECK_INT_EQ(f.txnr, 0);
}

static void test_oversize(void)
{
    struct relp_frame f;
    size_t used;

    /* The header is enough to know: the data is not waited for. */
    CHECK_INT_EQ(parse("7 syslog 999999999 aaaa", 100, &f, &used), RELP_OVERSIZE);
    CHECK_INT_EQ(f.txnr, 7);
    CHECK_INT_EQ(f.datalen, 999999999);
    CHECK_INT_EQ(used, strlen("7 syslog 999999999 "));
    CHECK_INT_EQ(parse("7 syslog 101 ", 100, &f, &used), RELP_OVERSIZE);
    CHECK_INT_EQ(parse("7 syslog 100 ", 100, &f, &used), RELP_MORE);
    CHECK(relp_trailer('\n'));
    CHECK(!relp_trailer('x'));
}

static void test_offers(void)
{
    struct relp_offers o;

    relp_offers_parse(SLICE_LIT("commands=eventlog,syslog\nrelp_version=3"), &o);
    CHECK_INT_EQ(o.version, 3);
    CHECK_INT_EQ(o.syslog, 1);
    relp_offers_parse(SLICE_LIT("commands=eventlog\nrelp_version=x"), &o);
    CHECK_INT_EQ(o.version, -1);
    CHECK_INT_EQ(o.syslog, 0);
    relp_offers_parse(SLICE_LIT("relp_version\ncommands=\n=syslog\n\n"), &o);
    CHECK_INT_EQ(o.version, -1);
    CHECK_INT_EQ(o.syslog, 0);
    relp_offers_parse(SLICE_NULL, &o);
    CHECK_INT_EQ(o.version, -1);
}

static void test_answers(void)
{
    struct buf out = BUF_INIT(4096);
    struct relp_offers o = { 1, 1 };

    CHECK_INT_EQ(relp_rsp(&out, 2, 200, "OK", ""), 0);
    CHECK_STR_EQ(out.p, "2 rsp 6 200 OK\n");
    buf_reset(&out);
    CHECK_INT_EQ(relp_rsp(&out, 9, 500, "message too large", ""), 0);
    CHECK_STR_EQ(out.p, "9 rsp 21 500 message too large\n");
    buf_reset(&out);
    /* librelp's client takes "200 OK" LF offers; our version is never above the client's. */
    CHECK_INT_EQ(relp_rsp_open(&out, 1, &o), 0);
    CHECK_STR_EQ(out.p, "1 rsp 57 200 OK\nrelp_version=0\nrelp_software=bilor\ncommands=syslog\n");
    buf_reset(&out);
    CHECK_INT_EQ(relp_serverclose(&out), 0);
    CHECK_STR_EQ(out.p, "0 serverclose 0\n");
    buf_release(&out);
    /* A full buffer: an error, and nothing half-written. */
    {
        struct buf small = BUF_INIT(8);

        CHECK_INT_EQ(relp_rsp(&small, 2, 200, "OK", ""), BL_ETOOBIG);
        CHECK_INT_EQ(small.len, 0);
        buf_release(&small);
    }
}

/* The answers parse back as frames (what the client will read). */
static void test_roundtrip(void)
{
    struct buf out = BUF_INIT(4096);
    struct relp_offers o = { 0, 1 };
    struct relp_frame f;
    size_t used;

    relp_rsp_open(&out, 1, &o);
    CHECK_INT_EQ(relp_parse(out.p, out.len, 1024, &f, &used, NULL), RELP_FRAME);
    CHECK_INT_EQ(f.cmd, RELP_CMD_RSP);
    CHECK_INT_EQ(used, out.len);
    CHECK(f.data.len > 7 && memcmp(f.data.p, "200 OK\n", 7) == 0);
    buf_release(&out);
}

int main(void)
{
    test_session();
    test_bad();
    test_oversize();
    test_offers();
    test_answers();
    test_roundtrip();
    return t_done();
}
