/*
 * decode.h - request body decompression, decided by the bytes.
 *
 * Content-Encoding headers lie in the wild (protocols.md §0.2): graypy says
 * "gzip,deflate" and sends zlib, sentry-java says "UTF-8", sentry-ruby sends
 * an empty value. So the claimed encoding is only a hint: gzip (1f 8b), zlib
 * (78 xx with the header checksum) and zstd (28 b5 2f fd) are recognised by
 * their magic bytes; raw deflate is tried when deflate was claimed and there
 * is no zlib header; brotli, which has no magic, only when "br" was claimed.
 * Anything else is identity.
 *
 * The decompressed size is capped (zip bombs): past max_out the call fails
 * with BL_ETOOBIG before allocating more.
 */
#ifndef BL_DECODE_H
#define BL_DECODE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

enum ingest_encoding {
    INGEST_ENC_NONE = 0, /* absent, empty, "identity", "utf-8", unknown, or a list */
    INGEST_ENC_GZIP = 1, /* "gzip", "x-gzip" */
    INGEST_ENC_DEFLATE = 2,
    INGEST_ENC_BR = 3,
    INGEST_ENC_ZSTD = 4,
};

/* Maps a Content-Encoding header value (may be NULL) to a hint. */
int decode_encoding_from_header(const char *value);

/*
 * Decodes p[0..len) into out (appended; out->max is raised, and left raised,
 * to at least out->len + max_out so the decoded bytes fit). When the body is
 * identity, out gets a copy. At most max_out bytes are appended; out grows
 * geometrically as output arrives, so memory stays under about twice the
 * output, never what a bomb claims. Returns 0, BL_ETOOBIG (more than
 * max_out bytes) or BL_EPARSE (corrupt or truncated stream), with err set;
 * on failure out is left as it was. Concatenated gzip members are all
 * decoded; bytes after the end of a gzip/zlib/brotli stream are ignored.
 */
int decode_body(const void *p, size_t len, int encoding_hint, size_t max_out, struct buf *out,
                struct bl_err *err);

/*
 * True when p[0..len) starts with a compression magic we recognise, i.e.
 * decode_body would not just copy it.
 */
int decode_is_compressed(const void *p, size_t len, int encoding_hint);

/* Starts with the gzip magic (1f 8b): the store keeps such bodies as received. */
int decode_is_gzip(const void *p, size_t len);

/* Options of decode_request. */
enum decode_flags {
    /*
     * Sentry /store/: a body that is not a JSON object after decompression
     * is tried as a Raven-era body, base64 with zlib inside when that is
     * still not JSON (Relay's store endpoint does the same).
     */
    DECODE_SENTRY_LEGACY = 1 << 0,
};

/*
 * The one decode of a request body, shared by the door (before the ack) and
 * the digest (after the journal), so both see the very same bytes: the
 * Content-Encoding hint and the magic bytes pick the decompressor
 * (decode_body), and flags add format rules. *text is the result: the body
 * itself when it is plain (no copy), else inside scratch (reset first). At
 * most max bytes come out (BL_ETOOBIG). A legacy body that does not decode
 * leaves *text at the decompressed body, so the caller reports what is
 * wrong with it as JSON.
 */
int decode_request(const void *body, size_t len, int encoding_hint, size_t max, unsigned flags,
                   struct buf *scratch, struct slice *text, struct bl_err *err);

/*
 * Until decode_preset_end(), decode_request on this thread answers text
 * for exactly this body (the same pointer and length), when text fits its
 * max, instead of decompressing it. text must be what decode_request
 * returned for these bytes with the caller's arguments: the door's copy
 * (handoff.h), which the digest presets around one journal record, so no
 * decoder needs an argument for it. Like json_pool_begin, a window per
 * thread; nothing else changes.
 */
void decode_preset_begin(const void *body, size_t len, struct slice text);
void decode_preset_end(void);

/* Standard base64 (RFC 4648, padding optional, whitespace skipped). */
int decode_base64(const char *p, size_t len, size_t max_out, struct buf *out, struct bl_err *err);

#endif
