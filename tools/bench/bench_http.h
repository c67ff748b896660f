/*
 * bench_http.h - just enough HTTP/1.1 response parsing for the generator.
 *
 * Knows Content-Length, chunked transfer coding, bodiless statuses and
 * close-delimited bodies; reads Connection: close. Everything else in the
 * header block is skipped. Never reads past len.
 */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <stddef.h>

struct http_resp {
    int status;
    int close;         /* the server will close after this response */
    size_t header_len; /* up to and including the blank line */
    size_t total;      /* whole response, header and body */
};

/*
 * Parses the response at the start of p[0..len). eof says the peer closed
 * (so a body without a length ends here). 1 = complete (r filled),
 * 0 = need more bytes, -1 = malformed.
 */
int http_parse_response(const char *p, size_t len, int eof, struct http_resp *r);

#endif
