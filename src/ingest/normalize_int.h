/*
 * normalize_int.h - private to the normalize module (normalize*.c).
 *
 * The module is split by concern: normalize.c (shared helpers, Sentry
 * top-level fields, timestamps), normalize_msg.c (logentry and printf-style
 * formatting), normalize_exc.c (exception chain and frames), normalize_log.c
 * (JSON-lines records) and normalize_src.c (which client objects the API's
 * event document takes its extras from). That lookup walks the client's
 * object again with the same rules as the normalizer (which exceptions and
 * frames are valid, which are trimmed, which log fields were consumed), so
 * those rules live here, once.
 */
#ifndef BL_NORMALIZE_INT_H
#define BL_NORMALIZE_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/event.h"
#include "core/pool.h"
#include "ingest/ingest.h"

/* Caps that the limits struct does not carry (Relay's documented sizes). */
#define NZ_MAX_EXCEPTIONS 32 /* chain length kept; the newest (primary) ones win */
#define NZ_MAX_TAGS 256
#define NZ_TAG_MAX 200         /* bytes of a tag key or value */
#define NZ_MAX_FINGERPRINT 32  /* entries of a custom fingerprint */
#define NZ_MAX_BREADCRUMBS 100 /* the newest ones are kept */
#define NZ_FUTURE_US (60 * INT64_C(1000000))
#define NZ_PAST_US (30 * INT64_C(86400) * INT64_C(1000000))

/*
 * Copies s[0..len) into pool, cut to at most max bytes without splitting a
 * UTF-8 sequence, NUL-terminated. Embedded NULs end the string.
 */
const char *nz_strdup(struct pool *pool, const char *s, size_t len, size_t max);
/* Length of s[0..len) cut to max bytes at a UTF-8 character boundary. */
size_t nz_utf8_cut(const char *s, size_t len, size_t max);
/* obj[key] when it is a string, copied and truncated; NULL otherwise. */
const char *nz_str(const cJSON *obj, const char *key, struct pool *pool, size_t max);
/*
 * A scalar as text: strings as they are, numbers in their shortest exact
 * form (integers without ".0"), booleans as "true"/"false". NULL for null,
 * arrays and objects.
 */
const char *nz_scalar(const cJSON *v, struct pool *pool, size_t max);
/* Writes the shortest text of a double that reads back the same; returns its length. */
size_t nz_number_text(double d, char out[40]);

/* A JSON level (a word, or a number as JSON or text) by core/event.c's table: 0, or -1. */
int nz_level(const cJSON *v, int *level);

/* The clamped timestamp rule shared by both normalizers. */
int64_t nz_clamp_time(const cJSON *v, int64_t received_at);

/* logentry / message (normalize_msg.c). */
void nz_message(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                struct pool *pool);

/*
 * The exception list: obj.exception as {"values":[...]} or a bare array;
 * NULL when absent or of another type.
 */
const cJSON *nz_exc_list(const cJSON *obj);
/*
 * The older form where "exception" is one exception object rather than
 * {"values": [...]}: that object, else NULL.
 */
const cJSON *nz_exc_single(const cJSON *obj);
/* The frames of an event's top-level "stacktrace", else of its crashing thread; NULL if none. */
const cJSON *nz_event_frames(const cJSON *obj);
/* Counts the object entries of an array (the only entries the normalizer keeps). */
size_t nz_count_objects(const cJSON *arr);
/*
 * The frames array of one exception value: its stacktrace.frames, or, for
 * the primary exception only, the crashing thread's stack trace (the thread
 * marked crashed, else current, else the only one with a stack; native
 * SDKs put it there).
 */
const cJSON *nz_exc_frames(const cJSON *obj, const cJSON *exc, int primary);
/*
 * Whether the idx-th of nvalid frames survives trimming to nkept frames:
 * the first half and the last half are kept, the middle goes (the caller
 * and the raise site matter most).
 */
int nz_frame_kept(size_t idx, size_t nvalid, size_t nkept);
/* The exception chain (normalize_exc.c). */
void nz_exceptions(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                   struct pool *pool);

/*
 * Whether member (a child of the log record obj) was mapped onto an event
 * field by normalize_log_line; the others are the record's attributes.
 */
/* Building a JSON line (normalize_line.c): an attribute (value is taken over), the time, a string field. */
void nz_line_attr(cJSON *line, const char *key, cJSON *value);
void nz_line_time(cJSON *line, int64_t us);
void nz_line_str(cJSON *line, const char *key, const char *s, size_t len);

int nz_log_consumed(const cJSON *obj, const cJSON *member);

/*
 * The JSON-lines fields (normalize_log.c): each event field has a short
 * list of key aliases, and the first alias present with a usable value of
 * the field's kind wins. One table for the tree normalizer and the text
 * one (normalize_log_scan.c).
 */
enum nz_log_kind { NZ_LF_TIME, NZ_LF_LEVEL, NZ_LF_TEXT, NZ_LF_STRING, NZ_LF_SCALAR };

#define NZ_LF_NONE ((size_t)-1)
#define NZ_LOG_NFIELDS 10
#define NZ_LOG_NKEYS 4

struct nz_log_field {
    const char *keys[NZ_LOG_NKEYS]; /* NULL after the last */
    int kind;                       /* enum nz_log_kind */
    size_t off;                     /* of the const char * field of struct event, or NZ_LF_NONE */
};

extern const struct nz_log_field nz_log_fields[NZ_LOG_NFIELDS];

/*
 * The string whose raw JSON content (between the quotes) is p[0..len),
 * decoded into pool as cJSON decodes it ("\u0000" reads as U+FFFD) and
 * NUL-terminated; *n gets its length (normalize_log_val.c).
 */
const char *nz_log_unescape(struct pool *pool, const char *p, size_t len, size_t *n);
/* ev_level_parse, its answers for texts of up to 8 bytes remembered per thread. */
int nz_log_level(const char *p, size_t len, int *level);

#endif
