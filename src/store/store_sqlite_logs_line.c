/*
 * store_sqlite_logs_line.c - what a log line's block holds (sqlite_int.h):
 * its record (sq_logs_line, with its service read from its payload,
 * logattr.h) and its words for the index (sq_logs_put), shared by the
 * writer and prepare so both build the same bytes; the id tokens that
 * make trace_id:X and request_id:X words of the index.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "store/logattr.h"
#include "store/logblock.h"
#include "store/logpost.h"
#include "store/sqlite_int.h"
#include "core/banned.h"

/* A string's n bytes onto the words, after a space. */
static void text_add(struct buf *b, const char *s, size_t n)
{
    if (s == NULL || n == 0 || buf_grow(b, n + 1) != 0)
        return;
    if (b->len > 0)
        b->p[b->len++] = ' ';
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* An id's letters and digits, lower-cased; 0 for every other byte. */
static const unsigned char id_char[256] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
    ['7'] = '7', ['8'] = '8', ['9'] = '9', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd',
    ['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k',
    ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r',
    ['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
    ['z'] = 'z', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f',
    ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l', ['M'] = 'm',
    ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
    ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
};

size_t sq_logs_id_token(const char *prefix, const char *id, size_t n, char *out, size_t cap)
{
    size_t len = strlen(prefix), digits = 0;

    if (id == NULL || cap < len + SQ_ID_TOKEN_MAX + 1)
        return 0;
    memcpy(out, prefix, len);
    for (size_t i = 0; i < n && digits < SQ_ID_TOKEN_MAX;) {
        unsigned char c;

        /* a lower-case hex id is copied 8 bytes at a time (out has room for them) */
        if (i + 8 <= n && digits + 8 <= SQ_ID_TOKEN_MAX) {
            unsigned run = lp_plain_run((const unsigned char *)id + i);

            memcpy(out + len, id + i, 8);
            len += run;
            digits += run;
            i += run;
            if (run == 8)
                continue;
        }
        if (i < n && digits < SQ_ID_TOKEN_MAX && (c = id_char[(unsigned char)id[i]]) != 0) {
            out[len++] = (char)c;
            digits++;
        }
        i++;
    }
    out[len] = '\0';
    return digits > 0 ? len : 0;
}

int sq_logs_reserved_word(const char *w, size_t n, int prefix)
{
    static const char *const pfx[] = { SQ_ID_TRACE, SQ_ID_REQUEST };

    for (size_t k = 0; k < 2; k++) {
        size_t m = n < 4 ? n : 4;

        if (strncasecmp(w, pfx[k], m) == 0 && (n >= 4 || prefix))
            return 1;
    }
    return 0;
}

static void text_add_id(struct buf *b, const char *prefix, const char *id, size_t n)
{
    char tok[8 + SQ_ID_TOKEN_MAX];
    size_t len;

    if (id != NULL && (len = sq_logs_id_token(prefix, id, n, tok, sizeof(tok))) > 0)
        text_add(b, tok, len);
}

int sq_logs_ascii(const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* Whether s's n bytes are ASCII, 8 at a time. */
static int ascii_n(const char *s, size_t n)
{
    uint64_t any = 0;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;

        memcpy(&w, s + i, 8);
        any |= w;
    }
    for (; i < n; i++)
        any |= (unsigned char)s[i];
    return (any & UINT64_C(0x8080808080808080)) == 0;
}

/*
 * The line's service as the search document reads it (api_search_doc.c):
 * a JSON line's payload's "service" member. Any other source reads its
 * service through its payload's own normalizer, so it is "other" here.
 */
static void line_service(const struct event *e, struct lb_line *l)
{
    int r = LA_OTHER;

    if (e->source == EV_SRC_LOGLINE && e->raw_encoding == EV_RAW_IDENTITY)
        r = e->raw != NULL && e->raw_len > 0
                ? la_service(e->raw, e->raw_len, &l->service, &l->service_len)
                : LA_NONE; /* no payload: no service */
    l->service_other = r == LA_OTHER;
}

void sq_logs_line(const struct event *e, int64_t ts, const char *tags, struct lb_line *l)
{
    const char *s[LB_NSTR] = { NULL };

    memset(l, 0, sizeof(*l));
    l->timestamp = ts;
    l->received_at = e->received_at;
    l->level = e->level;
    l->source = e->source;
    l->raw_encoding = e->raw_encoding;
    l->template_hash = e->template_hash;
    l->lsn = e->lsn;
    l->seq = e->seq;
    s[LB_LOGGER] = e->logger;
    s[LB_MESSAGE] = e->message;
    s[LB_TITLE] = e->title;
    s[LB_CULPRIT] = e->culprit;
    s[LB_RELEASE] = e->release;
    s[LB_ENVIRONMENT] = e->environment;
    s[LB_SERVER_NAME] = e->server_name;
    s[LB_TRACE_ID] = e->trace_id;
    s[LB_REQUEST_ID] = e->request_id;
    for (size_t i = 0; i < LB_NSTR; i++) {
        l->str[i] = s[i];
        l->len[i] = s[i] != NULL ? strlen(s[i]) : 0;
    }
    if (ascii_n(e->message, l->len[LB_MESSAGE]) && ascii_n(e->title, l->len[LB_TITLE]) &&
        sq_logs_ascii(e->search_text))
        l->flags = LB_FLAG_PLAIN;
    l->str[LB_EVENT_ID] = e->event_id;
    l->len[LB_EVENT_ID] = strnlen(e->event_id, 32);
    l->str[LB_FINGERPRINT] = e->fingerprint;
    l->len[LB_FINGERPRINT] = strnlen(e->fingerprint, 32);
    if (e->raw != NULL && e->raw_len > 0) {
        l->str[LB_RAW] = e->raw;
        l->len[LB_RAW] = e->raw_len;
    }
    if (tags != NULL) {
        l->str[LB_TAGS_JSON] = tags;
        l->len[LB_TAGS_JSON] = strlen(tags);
    }
    line_service(e, l);
}

int sq_logs_put(struct lb_builder *b, struct buf *words, size_t *ends, const struct lb_line *l,
                const char *const text[3])
{
    int rc = lb_builder_add(b, l);

    if (rc != 0)
        return rc;
    /*
     * A log line's title is its message when that is one short line: its
     * words would only be gathered a second time (half of the index's
     * time a line). A title cut from a longer message is kept, since
     * its last word may be cut short.
     */
    text_add(words, l->str[LB_MESSAGE], l->len[LB_MESSAGE]);
    if (!(l->len[LB_TITLE] == l->len[LB_MESSAGE] && l->str[LB_TITLE] != NULL &&
          l->str[LB_MESSAGE] != NULL &&
          memcmp(l->str[LB_TITLE], l->str[LB_MESSAGE], l->len[LB_TITLE]) == 0))
        text_add(words, l->str[LB_TITLE], l->len[LB_TITLE]);
    text_add(words, text[2], text[2] != NULL ? strlen(text[2]) : 0);
    text_add_id(words, SQ_ID_TRACE, l->str[LB_TRACE_ID], l->len[LB_TRACE_ID]);
    text_add_id(words, SQ_ID_REQUEST, l->str[LB_REQUEST_ID], l->len[LB_REQUEST_ID]);
    ends[b->nlines - 1] = words->len;
    return 0;
}
