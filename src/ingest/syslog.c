/*
 * syslog.c - RFC 5424 / RFC 3164 parsing and RFC 6587 framing (syslog.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/syslog.h"
#include "core/clock.h"
#include "core/banned.h"

/* A cursor over the message. */
struct cur {
    const char *p;
    size_t len;
    size_t i;
};

static const char *const facilities[] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7",
};

const char *syslog_facility_name(int facility)
{
    return facility >= 0 && facility < 24 ? facilities[facility] : "unknown";
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* <PRI>: 1-3 digits, no leading zero except "0" itself, at most 191. */
static int parse_pri(struct cur *c, struct syslog_msg *m)
{
    size_t i = 1;
    int v = 0;

    if (c->len < 3 || c->p[0] != '<')
        return -1;
    while (i < c->len && i <= 4 && is_digit(c->p[i]))
        v = v * 10 + (c->p[i++] - '0');
    if (i == 1 || i > 4 || i >= c->len || c->p[i] != '>' || (c->p[1] == '0' && i > 2) || v > 191)
        return -1;
    m->facility = v / 8;
    m->severity = v % 8;
    c->i = i + 1;
    return 0;
}

/* The token up to the next space; the cursor moves past the space. */
static struct slice token(struct cur *c)
{
    size_t start = c->i;

    while (c->i < c->len && c->p[c->i] != ' ')
        c->i++;
    return (struct slice){ c->p + start, c->i - start };
}

static int skip_space(struct cur *c)
{
    if (c->i >= c->len || c->p[c->i] != ' ')
        return -1;
    c->i++;
    return 0;
}

/* A header field of RFC 5424: "-" is nil. */
static struct slice field(struct cur *c, size_t max)
{
    struct slice t = token(c);

    if ((t.len == 1 && t.p[0] == '-') || t.len > max)
        return (struct slice){ t.p, 0 };
    return t;
}

/* SD-NAME: 1-32 printable ASCII except '=', space, ']' and '"'. */
static struct slice sd_name(struct cur *c)
{
    size_t start = c->i;

    while (c->i < c->len && c->i - start < 32) {
        char ch = c->p[c->i];

        if (ch <= ' ' || ch > '~' || ch == '=' || ch == ']' || ch == '"')
            break;
        c->i++;
    }
    return (struct slice){ c->p + start, c->i - start };
}

/* PARAM-VALUE between quotes: \" \\ \] unescape, any other backslash stays. */
static int sd_value(struct cur *c, struct pool *pool, struct slice *out)
{
    char *v;
    size_t n = 0, start;

    if (c->i >= c->len || c->p[c->i] != '"')
        return -1;
    start = ++c->i;
    v = pool_alloc(pool, c->len - start + 1);
    while (c->i < c->len && c->p[c->i] != '"') {
        char ch = c->p[c->i++];

        if (ch == '\\' && c->i < c->len &&
            (c->p[c->i] == '"' || c->p[c->i] == '\\' || c->p[c->i] == ']'))
            ch = c->p[c->i++];
        v[n++] = ch;
    }
    if (c->i >= c->len)
        return -1;
    c->i++;
    v[n] = '\0';
    *out = (struct slice){ v, n };
    return 0;
}

/* One [SD-ID *(SP name="value")] element. */
static int sd_element(struct cur *c, struct pool *pool, struct syslog_msg *m)
{
    struct slice id;

    c->i++; /* [ */
    id = sd_name(c);
    if (id.len == 0)
        return -1;
    while (c->i < c->len && c->p[c->i] == ' ') {
        struct syslog_param prm = { id, SLICE_NULL, SLICE_NULL };

        c->i++;
        prm.name = sd_name(c);
        if (prm.name.len == 0 || c->i >= c->len || c->p[c->i++] != '=' ||
            sd_value(c, pool, &prm.value) < 0)
            return -1;
        if (m->nparams < SYSLOG_MAX_PARAMS)
            m->params[m->nparams++] = prm;
    }
    if (c->i >= c->len || c->p[c->i] != ']')
        return -1;
    c->i++;
    return 0;
}

static int structured_data(struct cur *c, struct pool *pool, struct syslog_msg *m)
{
    if (c->i < c->len && c->p[c->i] == '-') {
        c->i++;
        return 0;
    }
    if (c->i >= c->len || c->p[c->i] != '[')
        return -1;
    while (c->i < c->len && c->p[c->i] == '[')
        if (sd_element(c, pool, m) < 0)
            return -1;
    return 0;
}

static void rest_is_msg(struct cur *c, struct syslog_msg *m)
{
    const char *p = c->p + c->i;
    size_t n = c->len - c->i;

    if (n >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
        (unsigned char)p[2] == 0xbf) {
        p += 3;
        n -= 3;
    }
    m->msg = (struct slice){ p, n };
}

/* After "<PRI>1 ": the rest of RFC 5424. 0, or -1 (the caller keeps the line as text). */
static int parse_5424(struct cur *c, struct pool *pool, struct syslog_msg *m)
{
    struct slice ts = token(c);

    if (skip_space(c) < 0)
        return -1;
    if (!(ts.len == 1 && ts.p[0] == '-')) {
        if (clock_parse_rfc3339(ts.p, ts.len, &m->time_us) != 0)
            return -1;
        m->has_time = 1;
    }
    m->host = field(c, 255);
    if (skip_space(c) < 0)
        return -1;
    m->app = field(c, 48);
    if (skip_space(c) < 0)
        return -1;
    m->procid = field(c, 128);
    if (skip_space(c) < 0)
        return -1;
    m->msgid = field(c, 32);
    if (skip_space(c) < 0 || structured_data(c, pool, m) < 0)
        return -1;
    if (c->i < c->len && skip_space(c) < 0)
        return -1;
    m->format = SYSLOG_RFC5424;
    rest_is_msg(c, m);
    return 0;
}

/* "Mmm dd hh:mm:ss" (day padded with a space or a zero), dated by now. */
static int bsd_time(struct cur *c, int64_t now_us, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *p = c->p + c->i;
    char iso[40];
    int mon = -1, day, year;
    int64_t us;

    if (c->len - c->i < 16 || p[3] != ' ' || p[6] != ' ' || p[9] != ':' || p[12] != ':' ||
        p[15] != ' ')
        return -1;
    for (int k = 0; k < 12; k++)
        if (memcmp(p, months + 3 * k, 3) == 0)
            mon = k + 1;
    day = (p[4] == ' ' ? 0 : p[4] - '0') * 10 + (p[5] - '0');
    if (mon < 0 || !is_digit(p[5]) || (p[4] != ' ' && !is_digit(p[4])))
        return -1;
    clock_fmt_rfc3339(now_us, iso);
    year = (int)strtol(iso, NULL, 10); /* clock_fmt_rfc3339 starts with the year */
    for (int tries = 0; tries < 2; tries++, year--) {
        snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%.8sZ", year, mon, day, p + 7);
        if (clock_parse_rfc3339(iso, strlen(iso), &us) == 0 &&
            us <= now_us + 86400 * CLOCK_US_PER_SEC) {
            *out = us;
            c->i += 16;
            return 0;
        }
    }
    return -1;
}

/* TAG[PID]: or TAG: at the cursor; 0 when it was one. */
static int bsd_tag(struct cur *c, struct syslog_msg *m)
{
    size_t start = c->i, i = c->i;

    while (i < c->len && i - start < 48 && c->p[i] != '[' && c->p[i] != ':' && c->p[i] != ' ')
        i++;
    if (i == start || i >= c->len || (c->p[i] != '[' && c->p[i] != ':'))
        return -1;
    m->app = (struct slice){ c->p + start, i - start };
    if (c->p[i] == '[') {
        size_t ps = ++i;

        while (i < c->len && c->p[i] != ']' && c->p[i] != ' ')
            i++;
        if (i >= c->len || c->p[i] != ']')
            return -1;
        m->procid = (struct slice){ c->p + ps, i - ps };
        i++;
        if (i < c->len && c->p[i] == ':')
            i++;
    } else {
        i++;
    }
    c->i = i;
    if (c->i < c->len && c->p[c->i] == ' ')
        c->i++;
    return 0;
}

static void parse_3164(struct cur *c, int64_t now_us, struct syslog_msg *m)
{
    struct cur save;

    if (bsd_time(c, now_us, &m->time_us) == 0) {
        m->has_time = 1;
    } else {
        struct cur t = *c;
        struct slice ts = token(&t);

        if (ts.len >= 20 && skip_space(&t) == 0 &&
            clock_parse_rfc3339(ts.p, ts.len, &m->time_us) == 0) {
            m->has_time = 1;
            *c = t;
        }
    }
    if (!m->has_time) {
        rest_is_msg(c, m);
        return;
    }
    m->format = SYSLOG_RFC3164;
    save = *c;
    if (bsd_tag(c, m) != 0) {
        /* HOSTNAME first, then maybe a tag. */
        m->host = token(c);
        if (skip_space(c) < 0 || m->host.len == 0) {
            *c = save;
            m->host = SLICE_NULL;
        } else if (bsd_tag(c, m) != 0) {
            m->app = m->procid = SLICE_NULL;
        }
    }
    rest_is_msg(c, m);
}

void syslog_parse(const char *p, size_t len, int64_t now_us, struct pool *pool,
                  struct syslog_msg *out)
{
    struct cur c = { p, len, 0 };

    memset(out, 0, sizeof(*out));
    while (c.len > 0 && (p[c.len - 1] == '\n' || p[c.len - 1] == '\r' || p[c.len - 1] == '\0'))
        c.len--;
    out->facility = 1; /* user.notice, as RFC 3164 says for a missing PRI */
    out->severity = 5;
    if (parse_pri(&c, out) < 0) {
        rest_is_msg(&c, out);
        return;
    }
    if (c.len - c.i >= 2 && c.p[c.i] == '1' && c.p[c.i + 1] == ' ') {
        struct cur save = c;
        struct syslog_msg keep = *out;

        c.i += 2;
        if (parse_5424(&c, pool, out) == 0)
            return;
        *out = keep; /* broken header: the whole rest is the message */
        c = save;
        rest_is_msg(&c, out);
        return;
    }
    parse_3164(&c, now_us, out);
}

void syslog_framer_init(struct syslog_framer *f, size_t max)
{
    memset(f, 0, sizeof(*f));
    f->max = max;
}

/* Drops what remains of an over-long frame; returns bytes dropped. */
static size_t drop(struct syslog_framer *f, const char *p, size_t len)
{
    if (f->skip > 0) {
        size_t n = f->skip < len ? f->skip : len;

        f->skip -= n;
        return n;
    }
    if (f->skip_to_lf) {
        const char *lf = memchr(p, '\n', len);

        if (lf == NULL)
            return len;
        f->skip_to_lf = 0;
        return (size_t)(lf - p) + 1;
    }
    return 0;
}

static int octet_frame(struct syslog_framer *f, const char *p, size_t len, struct slice *msg,
                       size_t *used)
{
    size_t i = 0, n = 0;

    while (i < len && is_digit(p[i]) && i < 10)
        n = n * 10 + (size_t)(p[i++] - '0');
    if (i == len)
        return i >= 10 ? -1 : 0;
    if (p[i] != ' ' || i >= 10)
        return -1;
    i++;
    if (n > f->max) {
        f->oversize++;
        f->skip = n;
        *used += i;
        return 0;
    }
    if (len - i < n)
        return 0;
    *msg = (struct slice){ p + i, n };
    *used += i + n;
    return 1;
}

int syslog_frame(struct syslog_framer *f, const char *p, size_t len, struct slice *msg,
                 size_t *used)
{
    const char *end;
    size_t n;

    *used = drop(f, p, len);
    p += *used;
    len -= *used;
    if (len == 0 || f->skip > 0 || f->skip_to_lf)
        return 0;
    if (p[0] >= '1' && p[0] <= '9')
        return octet_frame(f, p, len, msg, used);
    end = memchr(p, '\n', len);
    n = end != NULL ? (size_t)(end - p) : len;
    {
        const char *nul = memchr(p, '\0', n);

        if (nul != NULL) {
            end = nul;
            n = (size_t)(nul - p);
        }
    }
    if (n > f->max) {
        f->oversize++;
        f->skip_to_lf = end == NULL;
        *used += end != NULL ? n + 1 : len;
        return 0;
    }
    if (end == NULL)
        return 0;
    *msg = (struct slice){ p, n > 0 && p[n - 1] == '\r' ? n - 1 : n };
    *used += n + 1;
    return 1;
}
