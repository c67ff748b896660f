/*
 * h1.c - HTTP/1.1 request heads, chunked bodies and query strings (h1.h).
 *
 * Every scan is bounded by the length it was given or by a fixed limit, and
 * reads each byte at most a fixed number of times per call; nothing recurses
 * and nothing allocates but the query reader (from the caller's pool).
 */
#include <stdint.h>
#include <string.h>

#include "http/h1.h"
#include "core/banned.h"

#define H1_STR_(x) #x
#define H1_STR(x) H1_STR_(x)

/* Byte classes of RFC 9110 5.6.2 / 5.5 and RFC 9112 3.2. */
enum {
    H1_TCHAR = 1,  /* token characters: method, field name */
    H1_FIELD = 2,  /* field value: VCHAR, obs-text, SP, HTAB */
    H1_TARGET = 4, /* request target: visible ASCII 0x21-0x7E */
};

/*
 * Indexed by byte. A table rather than range tests because the head of every
 * request goes through it byte by byte; the unit test checks each of the 256
 * entries against the RFC's definitions.
 */
static const unsigned char h1_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, /* 0x00: HTAB only */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    2, 7, 6, 7, 7, 7, 7, 7, 6, 6, 7, 7, 6, 7, 7, 6, /* 0x20: SP ! " # $ % & ' ( ) * + , - . / */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, /* 0x30: 0-9 : ; < = > ? */
    6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 0x40: @ A-O */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 7, 7, /* 0x50: P-Z [ \ ] ^ _ */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, /* 0x60: ` a-o */
    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 7, 6, 7, 0, /* 0x70: p-z { | } ~ DEL */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80-0xFF: obs-text */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* */
};

static int is_class(char c, int cls)
{
    return (h1_class[(unsigned char)c] & cls) != 0;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Records the answer for a refused head; the message is sent to the client. */
static int head_bad(int *status, int code, struct bl_err *err, const char *msg)
{
    int ecode = code == 400 ? BL_EPARSE : code == 505 ? BL_EUNSUPPORTED : BL_ETOOBIG;

    *status = code;
    bl_err_set(err, ecode, "%s", msg);
    return H1_BAD;
}

/*
 * The line at buf[pos..lim): its content without the line end, and where the
 * next line starts. 0 when no LF comes before lim. Only a CR right before the
 * LF is part of the line end; any other CR stays in the content, where every
 * byte class refuses it.
 */
static int next_line(const char *buf, size_t pos, size_t lim, struct slice *line, size_t *next)
{
    const char *lf;
    size_t end;

    if (pos >= lim)
        return 0;
    lf = memchr(buf + pos, '\n', lim - pos);
    if (lf == NULL)
        return 0;
    end = (size_t)(lf - buf);
    *next = end + 1;
    if (end > pos && buf[end - 1] == '\r')
        end--;
    line->p = buf + pos;
    line->len = end - pos;
    return 1;
}

static void set_target(struct h1_head *h, const char *p, size_t n)
{
    const char *q = memchr(p, '?', n);

    h->target = (struct slice){ p, n };
    if (q == NULL) {
        h->path = h->target;
        h->query = SLICE_NULL;
        return;
    }
    h->path = (struct slice){ p, (size_t)(q - p) };
    h->query = (struct slice){ q + 1, n - h->path.len - 1 };
}

/* "HTTP/" DIGIT "." DIGIT, exactly; case-sensitive (RFC 9112 2.3). */
static int parse_version(const char *p, size_t n, struct h1_head *h, int *status,
                         struct bl_err *err)
{
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || !is_digit(p[5]) || p[6] != '.' || !is_digit(p[7]))
        return head_bad(status, 400, err, "malformed HTTP version in the request line");
    if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
        return head_bad(status, 505, err, "HTTP version not supported (1.0 and 1.1 are)");
    h->minor = p[7] - '0';
    return H1_OK;
}

/*
 * method SP request-target SP HTTP-version, single spaces only: a lenient
 * split on runs of whitespace is where parsers start to disagree.
 */
static int parse_request_line(struct slice l, struct h1_head *h, int *status, struct bl_err *err)
{
    size_t i = 0, start;

    while (i < l.len && is_class(l.p[i], H1_TCHAR))
        i++;
    if (i == 0 || i == l.len || l.p[i] != ' ')
        return head_bad(status, 400, err, "malformed request line: expected a method and a space");
    h->method = (struct slice){ l.p, i };
    start = ++i;
    while (i < l.len && is_class(l.p[i], H1_TARGET))
        i++;
    if (i == start || i == l.len || l.p[i] != ' ')
        return head_bad(status, 400, err,
                        "malformed request line: expected a request target and a space");
    if (l.p[start] != '/')
        return head_bad(status, 400, err, "the request target must be a path starting with '/'");
    set_target(h, l.p + start, i - start);
    return parse_version(l.p + i + 1, l.len - i - 1, h, status, err);
}

/* field-name ":" OWS field-value OWS; the line is not empty. */
static int parse_field(struct slice l, struct h1_header *f, int *status, struct bl_err *err)
{
    size_t i = 0, start;

    if (is_ows(l.p[0]))
        return head_bad(status, 400, err, "obsolete line folding is not accepted");
    while (i < l.len && is_class(l.p[i], H1_TCHAR))
        i++;
    if (i < l.len && is_ows(l.p[i]))
        return head_bad(status, 400, err, "whitespace between a header name and its colon");
    if (i == 0 || i == l.len || l.p[i] != ':')
        return head_bad(status, 400, err, "malformed header line: expected a name and a colon");
    f->name = (struct slice){ l.p, i };
    for (i++; i < l.len && is_ows(l.p[i]); i++)
        ;
    start = i;
    for (; i < l.len; i++)
        if (!is_class(l.p[i], H1_FIELD))
            return head_bad(status, 400, err, "invalid character in a header value");
    while (i > start && is_ows(l.p[i - 1]))
        i--;
    f->value = (struct slice){ l.p + start, i - start };
    return H1_OK;
}

/*
 * No LF in buf[pos..lim), lim being where the head's limit or the bytes end:
 * either more bytes may still complete the head, or a limit is already
 * passed. A request line is known to be over its limit once it has more
 * bytes than the limit and a CR.
 */
static int head_incomplete(const char *buf, size_t pos, size_t lim, int request_line, size_t len,
                           size_t max_head, int *status, struct bl_err *err)
{
    size_t n = lim - pos;

    if (request_line && n > H1_MAX_REQUEST_LINE &&
        !(n == H1_MAX_REQUEST_LINE + 1 && buf[lim - 1] == '\r'))
        return head_bad(status, 414, err,
                        "request line longer than " H1_STR(H1_MAX_REQUEST_LINE) " bytes");
    if (len >= max_head) {
        *status = 431;
        bl_err_set(err, BL_ETOOBIG, "request head larger than %zu bytes", max_head);
        return H1_BAD;
    }
    return H1_PARTIAL;
}

/* The one empty line a client may send before the request line (RFC 9112 2.2). */
static size_t skip_empty_line(const char *buf, size_t lim)
{
    if (lim >= 1 && buf[0] == '\n')
        return 1;
    if (lim >= 2 && buf[0] == '\r' && buf[1] == '\n')
        return 2;
    return 0;
}

int h1_parse_head(const char *buf, size_t len, size_t max_head, struct h1_head *h, int *status,
                  struct bl_err *err)
{
    size_t lim = len < max_head ? len : max_head;
    size_t pos, next = 0;
    struct slice line;
    int rc;

    *status = 0;
    h->method = h->target = h->path = h->query = SLICE_NULL;
    h->minor = 0;
    h->nheaders = 0;
    h->len = 0;
    pos = skip_empty_line(buf, lim);
    if (!next_line(buf, pos, lim, &line, &next))
        return head_incomplete(buf, pos, lim, 1, len, max_head, status, err);
    if (line.len > H1_MAX_REQUEST_LINE)
        return head_bad(status, 414, err,
                        "request line longer than " H1_STR(H1_MAX_REQUEST_LINE) " bytes");
    rc = parse_request_line(line, h, status, err);
    if (rc != H1_OK)
        return rc;
    /* Each turn moves past one LF, and more than H1_MAX_HEADERS fields stop it. */
    for (pos = next;; pos = next) {
        if (!next_line(buf, pos, lim, &line, &next))
            return head_incomplete(buf, pos, lim, 0, len, max_head, status, err);
        if (line.len == 0) {
            h->len = next;
            return H1_OK;
        }
        if (h->nheaders == H1_MAX_HEADERS)
            return head_bad(status, 431, err, "more than " H1_STR(H1_MAX_HEADERS) " header fields");
        rc = parse_field(line, &h->headers[h->nheaders], status, err);
        if (rc != H1_OK)
            return rc;
        h->nheaders++;
    }
}

struct slice h1_header_get(const struct h1_head *h, const char *name)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (slice_eqi(h->headers[i].name, name))
            return h->headers[i].value;
    return SLICE_NULL;
}

int h1_content_length(struct slice v, uint64_t *len)
{
    uint64_t n = 0;

    /* 19 digits: 10^19 - 1 < 2^64, so the sum below cannot wrap. */
    if (v.len == 0 || v.len > 19)
        return H1_BAD;
    for (size_t i = 0; i < v.len; i++) {
        if (!is_digit(v.p[i]))
            return H1_BAD;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    *len = n;
    return H1_OK;
}

/*
 * Chunked states, in the order of a body. chunk_step() picks the step
 * function by range, so the groups must stay together: the size line, the
 * CRLF after data, the trailer section.
 */
enum {
    CH_SIZE0,         /* first hex digit of a size */
    CH_SIZE,          /* more digits, or what ends them */
    CH_EXT_BWS,       /* whitespace after the size: a ';' must follow */
    CH_EXT,           /* inside extensions, up to the CR */
    CH_SIZE_LF,       /* the LF ending the size line */
    CH_DATA,          /* c->size data bytes left (chunk_data()) */
    CH_DATA_CR,       /* the CRLF after data */
    CH_DATA_LF,       /* */
    CH_TRAILER0,      /* start of a trailer line, or the final CR */
    CH_TRAILER_NAME,  /* a trailer field name, up to ':' */
    CH_TRAILER_VALUE, /* its value, up to the CR */
    CH_TRAILER_LF,    /* the LF ending a trailer line */
    CH_END_LF,        /* the LF ending the body */
    CH_DONE,
    CH_BAD,
};

void h1_chunked_init(struct h1_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->state = CH_SIZE0;
}

static int chunk_bad(struct h1_chunked *c, int *status, int code, struct bl_err *err,
                     const char *msg)
{
    c->state = CH_BAD;
    c->status = code;
    *status = code;
    bl_err_set(err, code == 413 ? BL_ETOOBIG : BL_EPARSE, "%s", msg);
    return H1_BAD;
}

/* The size line ended: the data follows, or for size 0 the trailers. */
static int size_line_done(struct h1_chunked *c, const struct buf *out, int *status,
                          struct bl_err *err)
{
    c->line = 0;
    if (c->size == 0) {
        c->state = CH_TRAILER0;
        return H1_PARTIAL;
    }
    /* Refused before the data is sent, not after it was read. */
    if (c->size > out->max - out->len)
        return chunk_bad(c, status, 413, err, "request body too large");
    c->state = CH_DATA;
    return H1_PARTIAL;
}

/* A byte after the digits of a size: extensions, whitespace or the CR. */
static int size_end(struct h1_chunked *c, char ch, int *status, struct bl_err *err)
{
    if (ch == ';')
        c->state = CH_EXT;
    else if (is_ows(ch))
        c->state = CH_EXT_BWS;
    else if (ch == '\r')
        c->state = CH_SIZE_LF;
    else
        return chunk_bad(c, status, 400, err, "malformed chunk size");
    return H1_PARTIAL;
}

/* chunk-size [ chunk-ext ] CRLF, where chunk-ext is BWS ";" and then field bytes. */
static int size_line_step(struct h1_chunked *c, char ch, const struct buf *out, int *status,
                          struct bl_err *err)
{
    int d = hexval(ch);

    /* The line's own bytes count; its CRLF does not. */
    if (c->state != CH_SIZE_LF && ch != '\r' && ++c->line > H1_MAX_CHUNK_LINE)
        return chunk_bad(c, status, 400, err,
                         "chunk size line longer than " H1_STR(H1_MAX_CHUNK_LINE) " bytes");
    switch (c->state) {
    case CH_SIZE0:
        if (d < 0)
            return chunk_bad(c, status, 400, err, "chunk size is not a hex number");
        c->size = (uint64_t)d;
        c->state = CH_SIZE;
        return H1_PARTIAL;
    case CH_SIZE:
        if (d < 0)
            return size_end(c, ch, status, err);
        if (c->size > (H1_MAX_CHUNK_SIZE - (uint64_t)d) / 16)
            return chunk_bad(c, status, 400, err, "chunk size over 2^60");
        c->size = c->size * 16 + (uint64_t)d;
        return H1_PARTIAL;
    case CH_EXT_BWS:
        if (ch == ';')
            c->state = CH_EXT;
        else if (!is_ows(ch))
            return chunk_bad(c, status, 400, err, "malformed chunk extension");
        return H1_PARTIAL;
    case CH_EXT:
        if (ch == '\r')
            c->state = CH_SIZE_LF;
        else if (!is_class(ch, H1_FIELD))
            return chunk_bad(c, status, 400, err, "invalid character in a chunk extension");
        return H1_PARTIAL;
    default: /* CH_SIZE_LF */
        if (ch != '\n')
            return chunk_bad(c, status, 400, err, "chunk size line not ending in CRLF");
        return size_line_done(c, out, status, err);
    }
}

/* The CRLF that must follow each chunk's data. */
static int data_end_step(struct h1_chunked *c, char ch, int *status, struct bl_err *err)
{
    if (c->state == CH_DATA_CR && ch == '\r') {
        c->state = CH_DATA_LF;
        return H1_PARTIAL;
    }
    if (c->state == CH_DATA_LF && ch == '\n') {
        c->state = CH_SIZE0;
        return H1_PARTIAL;
    }
    return chunk_bad(c, status, 400, err, "chunk data not followed by CRLF");
}

/*
 * *( field-name ":" field-value CRLF ) CRLF. Trailers are dropped, so only
 * their form is checked: enough that the body ends where every other parser
 * would see it end.
 */
static int trailer_step(struct h1_chunked *c, char ch, int *status, struct bl_err *err)
{
    int ok = 1;

    if (++c->trailer > H1_MAX_TRAILERS)
        return chunk_bad(c, status, 400, err,
                         "trailer section longer than " H1_STR(H1_MAX_TRAILERS) " bytes");
    switch (c->state) {
    case CH_TRAILER0:
        ok = ch == '\r' || is_class(ch, H1_TCHAR);
        c->state = ch == '\r' ? CH_END_LF : CH_TRAILER_NAME;
        break;
    case CH_TRAILER_NAME:
        ok = ch == ':' || is_class(ch, H1_TCHAR);
        c->state = ch == ':' ? CH_TRAILER_VALUE : CH_TRAILER_NAME;
        break;
    case CH_TRAILER_VALUE:
        ok = ch == '\r' || is_class(ch, H1_FIELD);
        c->state = ch == '\r' ? CH_TRAILER_LF : CH_TRAILER_VALUE;
        break;
    case CH_TRAILER_LF:
        ok = ch == '\n';
        c->state = CH_TRAILER0;
        break;
    default: /* CH_END_LF */
        ok = ch == '\n';
        c->state = CH_DONE;
        break;
    }
    return ok ? H1_PARTIAL : chunk_bad(c, status, 400, err, "malformed trailer section");
}

static int chunk_step(struct h1_chunked *c, char ch, const struct buf *out, int *status,
                      struct bl_err *err)
{
    if (c->state <= CH_SIZE_LF)
        return size_line_step(c, ch, out, status, err);
    if (c->state <= CH_DATA_LF)
        return data_end_step(c, ch, status, err);
    return trailer_step(c, ch, status, err);
}

/* Copies what in holds of the current chunk's data; *took is how much. */
static int chunk_data(struct h1_chunked *c, const char *in, size_t len, size_t *took,
                      struct buf *out, int *status, struct bl_err *err)
{
    size_t n = (uint64_t)len < c->size ? len : (size_t)c->size;

    *took = n;
    /* size_line_done() checked the room; this guards the cap all the same. */
    if (buf_add(out, in, n) < 0)
        return chunk_bad(c, status, 413, err, "request body too large");
    c->size -= n;
    if (c->size == 0)
        c->state = CH_DATA_CR;
    return H1_PARTIAL;
}

int h1_chunked_feed(struct h1_chunked *c, const char *in, size_t len, size_t *used, struct buf *out,
                    int *status, struct bl_err *err)
{
    size_t i = 0, took;
    int rc = H1_PARTIAL;

    *status = 0;
    *used = 0;
    if (c->state == CH_DONE)
        return H1_OK;
    if (c->state == CH_BAD) {
        *status = c->status;
        bl_err_set(err, c->status == 413 ? BL_ETOOBIG : BL_EPARSE, "chunked body already refused");
        return H1_BAD;
    }
    /* Each turn consumes at least one byte: data in bulk, framing byte by byte. */
    while (i < len && rc == H1_PARTIAL) {
        if (c->state == CH_DATA) {
            rc = chunk_data(c, in + i, len - i, &took, out, status, err);
            i += took;
        } else {
            rc = chunk_step(c, in[i], out, status, err);
            i++;
        }
        if (c->state == CH_DONE)
            rc = H1_OK;
    }
    *used = i;
    return rc;
}

/*
 * The arguments of q: one per '&'-separated piece, but for an empty last
 * piece (libmicrohttpd's count). q is not empty.
 */
static size_t query_count(struct slice q)
{
    size_t n = 1;
    const char *p = q.p, *end = q.p + q.len, *amp;

    while ((amp = memchr(p, '&', (size_t)(end - p))) != NULL) {
        n++;
        p = amp + 1;
    }
    return q.p[q.len - 1] == '&' ? n - 1 : n;
}

/*
 * Decodes p[0..n) at w and NUL-terminates it; returns the byte after the
 * NUL, or NULL for a NUL raw or as %00. As MHD_http_unescape() after
 * MHD_unescape_plus(): '+' is a space, '%' and two hex digits is that byte,
 * and a '%' without two hex digits after it ("%zz", "%4", a final "%") is
 * kept with what follows, not refused: the two engines must read the same
 * query the same way.
 */
static char *query_decode(const char *p, size_t n, char *w)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%' && n - i > 2 && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            c = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        }
        if (c == '\0')
            return NULL;
        *w++ = c;
    }
    *w++ = '\0';
    return w;
}

/* Decodes the nargs arguments of q into block as name NUL value NUL pairs. */
static int query_decode_all(struct slice q, size_t nargs, char *block)
{
    const char *p = q.p, *end = q.p + q.len;
    char *w = block;

    for (size_t i = 0; i < nargs; i++) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *name_end = eq != NULL ? eq : stop;

        w = query_decode(p, (size_t)(name_end - p), w);
        if (w != NULL && eq != NULL)
            w = query_decode(eq + 1, (size_t)(stop - eq - 1), w);
        else if (w != NULL)
            *w++ = '\0';
        if (w == NULL)
            return BL_EPARSE;
        p = amp != NULL ? amp + 1 : end;
    }
    return 0;
}

int h1_query_each(struct slice query, struct pool *pool,
                  int (*fn)(void *arg, const char *name, const char *value), void *arg)
{
    size_t nargs;
    char *block;
    const char *name, *value;
    int rc;

    if (query.len > H1_MAX_QUERY)
        return BL_ETOOBIG;
    if (query.len == 0)
        return 0;
    nargs = query_count(query);
    if (nargs > H1_MAX_QUERY_ARGS)
        return BL_ETOOBIG;
    /* Decoding never lengthens a piece; each argument adds two NULs at most. */
    block = pool_alloc(pool, query.len + 2 * nargs);
    rc = query_decode_all(query, nargs, block);
    if (rc < 0)
        return rc;
    name = block;
    for (size_t i = 0; i < nargs; i++) {
        value = name + strlen(name) + 1;
        if (fn(arg, name, value) != 0)
            break;
        name = value + strlen(value) + 1;
    }
    return 0;
}
