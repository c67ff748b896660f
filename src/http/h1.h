/*
 * h1.h - a strict, allocation-free HTTP/1.1 request-head parser, an
 * incremental chunked-body decoder and a query-string reader.
 *
 * DESIGN
 * The lean ingest loop reads bytes from hostile clients into its own buffer
 * and asks this module three questions: is there a whole request head and
 * what does it say, what body bytes does a chunked body hold, and what are the
 * query arguments. Nothing here allocates but the query reader (from the
 * caller's pool) and the chunked decoder (appending to the caller's capped
 * buffer); nothing keeps a pointer past the call, and nothing reads past the
 * length it is given. Every loop is bounded by that length or by a fixed
 * limit, and there is no recursion.
 *
 * The rules are RFC 9112's, strict where two parsers reading one message
 * differently would let a request hide inside another (request smuggling):
 * a bare CR anywhere, whitespace between a field name and its colon, obsolete
 * line folding and control bytes in values are refused, not repaired. A bare
 * LF ends a head line (clients and libmicrohttpd accept it), but the framing
 * lines of a chunked body must end in CRLF: that is where the known
 * chunk-extension smuggling lives, and no SDK sends anything else.
 *
 * Nothing here interprets Content-Length, Transfer-Encoding, Host or
 * Connection: the caller decides framing (and must refuse repeated or
 * conflicting framing headers; every field line is kept in order, so it can
 * see them all). The head parser is stateless: the caller calls it again with
 * the whole buffer once more bytes arrived. Each call costs O(len), so a
 * caller fed in small pieces should call again only when the new bytes hold a
 * '\n' (a head can only have ended on one): that bounds the calls per head by
 * H1_MAX_HEADERS + 3 instead of one per byte.
 *
 * Thread-safety: none needed; every function works on what it is given.
 */
#ifndef BL_HTTP_H1_H
#define BL_HTTP_H1_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"

#define H1_MAX_HEADERS 100
/* The request line, its line end not counted; a longer one is answered 414. */
#define H1_MAX_REQUEST_LINE 8192
/*
 * A chunk-size line (size and extensions, its CRLF not counted), and the whole
 * trailer section (its CRLFs and the final empty line counted).
 */
#define H1_MAX_CHUNK_LINE 4096
#define H1_MAX_TRAILERS 4096
/* The largest chunk size accepted (2^60: no sum of sizes can wrap a uint64_t). */
#define H1_MAX_CHUNK_SIZE ((uint64_t)1 << 60)
/* A query string, and the arguments in it (the request line bounds both anyway). */
#define H1_MAX_QUERY 8192
#define H1_MAX_QUERY_ARGS 1024

enum { H1_OK = 0, H1_PARTIAL = 1, H1_BAD = -1 };

/* One field line; both slices point into the caller's buffer. */
struct h1_header {
    struct slice name;
    struct slice value; /* leading and trailing SP/HTAB removed; may be empty */
};

/*
 * A parsed request head. Every slice points into the buffer given to
 * h1_parse_head() and is valid as long as that buffer is unchanged.
 */
struct h1_head {
    struct slice method; /* 1+ tchar, case kept (methods are case-sensitive) */
    struct slice target; /* origin form: path ["?" query], as sent (nothing decoded) */
    struct slice path;   /* target up to the first '?' (starts with '/') */
    struct slice query;  /* after the first '?', '?' excluded; SLICE_NULL when no '?' */
    int minor;           /* HTTP/1.<minor>: 0 or 1 */
    struct h1_header headers[H1_MAX_HEADERS]; /* in the order sent, repeats kept */
    size_t nheaders;
    size_t len; /* bytes of the head, final empty line included: the body starts here */
};

/*
 * Parses the request head at the start of buf[0..len). At most max_head bytes
 * of it are looked at: a head (final empty line included) must end within
 * them. One empty line before the request line is skipped (RFC 9112 2.2; it
 * counts in h->len).
 *
 * Returns:
 *   H1_OK       h holds the head, h->len <= len and h->len <= max_head; bytes
 *               after h->len (a body, a pipelined request) are not looked at;
 *   H1_PARTIAL  no complete head in buf[0..len) yet and len < max_head: call
 *               again with more bytes (see the DESIGN note on when);
 *   H1_BAD      *status is the answer to send before closing: 400 malformed,
 *               414 a request line over H1_MAX_REQUEST_LINE, 431 a head that
 *               does not end within max_head bytes or has more than
 *               H1_MAX_HEADERS field lines, 505 an HTTP version other than
 *               1.0 and 1.1. err (may be NULL) gets BL_EPARSE, BL_ETOOBIG or
 *               BL_EUNSUPPORTED and a message fit to send to the client.
 * *status is 0 unless H1_BAD. h is overwritten whatever the result; its
 * fields mean something only after H1_OK.
 */
int h1_parse_head(const char *buf, size_t len, size_t max_head, struct h1_head *h, int *status,
                  struct bl_err *err);

/*
 * The value of the first field line named name (case-insensitive), a slice
 * into the head's buffer; SLICE_NULL (.p == NULL) when there is none. A field
 * that is present with an empty value has a non-NULL .p and .len 0.
 */
struct slice h1_header_get(const struct h1_head *h, const char *name);

/*
 * Content-Length value v as a number: H1_OK with *len set, or H1_BAD when v
 * is not 1 to 19 decimal digits (so the value always fits; a list such as
 * "5, 5", a sign or whitespace is refused, leading zeros are not).
 */
int h1_content_length(struct slice v, uint64_t *len);

/*
 * The state of one chunked body. Initialise with h1_chunked_init() before
 * each body; the fields are the decoder's own.
 */
struct h1_chunked {
    int state;
    int status;     /* the answer, once the body was found bad */
    uint64_t size;  /* the chunk size being read, then the data left in it */
    size_t line;    /* bytes of the current chunk-size line */
    size_t trailer; /* bytes of the trailer section */
};

void h1_chunked_init(struct h1_chunked *c);

/*
 * Decodes the next piece in[0..len) of a chunked body; pieces may end
 * anywhere (inside a size line, a CRLF, a trailer). Data bytes are appended
 * to out, whose max is the body limit. *used is how many bytes of in were
 * consumed: all of them unless the body ended inside this piece, in which
 * case the bytes after its final CRLF belong to the next request.
 *
 * Returns:
 *   H1_PARTIAL  the body goes on: feed the next piece;
 *   H1_OK       the body is complete (trailer fields checked for form and
 *               skipped); a later call returns H1_OK again with *used 0;
 *   H1_BAD      *status is the answer: 400 malformed (a size that is not hex
 *               or is over H1_MAX_CHUNK_SIZE, a framing line not ending in
 *               CRLF, a control byte in an extension or trailer, a size line
 *               over H1_MAX_CHUNK_LINE or trailers over H1_MAX_TRAILERS), 413
 *               when a chunk would take out past out->max (found as soon as
 *               its size line ends, before its data arrives). *used counts
 *               the bytes read, the bad one included; out holds what was
 *               decoded before and must be discarded. Later calls return
 *               H1_BAD again.
 * err may be NULL. Each byte of in is read once.
 */
int h1_chunked_feed(struct h1_chunked *c, const char *in, size_t len, size_t *used, struct buf *out,
                    int *status, struct bl_err *err);

/*
 * Calls fn(arg, name, value) for each argument of query ("a=b&c=d", no '?')
 * in order, repeated names included, until fn returns non-zero. The name and
 * value are decoded as libmicrohttpd decodes them ('+' is a space, %XX with
 * two hex digits is that byte, any other '%' is kept as it is), are
 * NUL-terminated, are allocated from pool and live as long as it. A name
 * without '=' has the value "". Pieces between '&' are arguments even when
 * empty ("a&&b" has a middle argument with an empty name), except an empty
 * last one ("a=1&" has one argument), as with libmicrohttpd.
 *
 * Returns 0 (whether fn stopped or not), BL_ETOOBIG for a query over
 * H1_MAX_QUERY bytes or H1_MAX_QUERY_ARGS arguments, BL_EPARSE for a NUL byte
 * raw or as %00 (a C string would hide what follows it). Errors are found
 * before fn is first called: fn never sees part of a bad query.
 */
int h1_query_each(struct slice query, struct pool *pool,
                  int (*fn)(void *arg, const char *name, const char *value), void *arg);

#endif
