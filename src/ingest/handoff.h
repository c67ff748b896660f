/*
 * handoff.h - the door's decompressed copy of a request body, handed to the
 * digest in memory so that it need not decompress the body a second time.
 *
 * DESIGN
 * The journal keeps each body as received (docs/architecture.md, "The
 * journal keeps the body as received"). The door decompresses it anyway to
 * check it, and the digest decompressed it again: two inflates per gzip'd
 * Sentry event, together about 29% of the server's CPU on 9 KB events.
 * The door now offers its copy here; a decode thread takes it when it
 * decodes the record, usually well under a second later, or decompresses
 * the body as before when the copy is not there (evicted because the digest
 * lags, dropped because the table was full, a replay after a restart).
 *
 * The door offers only bodies whose every unit its check accepted (a JSON
 * lines body with a bad line is not offered), so a copy found also says
 * that this process checked the body whole with the digest's own limits:
 * the digest need not re-run the check per line (ingest_checked_begin). A
 * replay after a restart finds no copy and checks.
 *
 * A copy is found by the exact compressed bytes (kept beside it and
 * compared byte for byte), the record's protocol and its encoding hint, so
 * it is exactly what decode_request returned at the door for that body
 * with that format's arguments: the events and the exactly-once replay do
 * not depend on whether it was found. Everything is bounded: the bytes held
 * (when full, stale copies are evicted, else the new one is dropped), the
 * size of one copy and the entries per hash bucket (a client that makes
 * bodies collide fills one bucket, and later offers are dropped, never
 * scanned at length). Thread-safe: one mutex; the doors put, the decode
 * threads take.
 */
#ifndef BL_HANDOFF_H
#define BL_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct handoff;

/*
 * A table holding at most max_bytes of copies (bodies and texts); NULL when
 * max_bytes is 0. A copy offered stale_us ago or earlier is one the digest
 * will not take (its append failed, or the digest lags by more than the
 * table holds): it makes room for new ones. Fresher copies are never
 * evicted: a new copy that does not fit is dropped instead.
 */
struct handoff *handoff_new(size_t max_bytes, int64_t stale_us);
void handoff_free(struct handoff *h);

/*
 * Offers the decoded text of body (len bytes, as received, with this
 * protocol and encoding hint). Copied; silently dropped when too large or
 * when its bucket is full. h may be NULL (no table).
 */
void handoff_put(struct handoff *h, int protocol, int encoding, const void *body, size_t len,
                 const char *text, size_t text_len);

/* A copy taken out of the table, until handoff_release. */
struct handoff_copy;

/*
 * The copy offered for exactly this body, protocol and encoding, removed
 * from the table, with *text pointing into it; NULL when there is none.
 */
struct handoff_copy *handoff_take(struct handoff *h, int protocol, int encoding, const void *body,
                                  size_t len, struct slice *text);
void handoff_release(struct handoff_copy *c);

/* Copies taken and bodies the digest had to decode itself, for tests and measurement. */
void handoff_counts(struct handoff *h, unsigned long long *taken, unsigned long long *missed);

#endif
