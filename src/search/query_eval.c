/*
 * query_eval.c - a query tree evaluated against one document in memory.
 *
 * This is the meaning of the language, written once: live tail filters new
 * lines with it, and the semantic test files check every store backend's
 * lowering against it. Words compare case-insensitively (ASCII; other
 * bytes as they are) on word boundaries, the way the full-text index
 * tokenizes, so a word never matches inside another word unless it is
 * written as a prefix (timeout*).
 */
#include <stdlib.h>
#include <string.h>

#include "search/query_int.h"
#include "core/event.h"
#include "core/banned.h"

#define MAX_VALUES 32 /* values of one field looked at (tags, frames) */
#define MAX_PHRASE 32 /* words of a phrase */

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

int query_words(const char *text, size_t len, int (*fn)(void *arg, const char *w, size_t n),
                void *arg)
{
    size_t i = 0;

    while (i < len) {
        size_t start;
        int rc;

        while (i < len && !is_word_byte((unsigned char)text[i]))
            i++;
        start = i;
        while (i < len && is_word_byte((unsigned char)text[i]))
            i++;
        if (i > start && (rc = fn(arg, text + start, i - start)) != 0)
            return rc;
    }
    return 0;
}

/* Next code point of UTF-8 text; a byte that starts no valid sequence stands for itself. */
static uint32_t next_cp(const unsigned char *p, size_t n, size_t *i)
{
    unsigned char c = p[*i];
    size_t need = c >= 0xf0 && c < 0xf5   ? 3
                  : c >= 0xe0 && c < 0xf0 ? 2
                  : c >= 0xc2 && c < 0xe0 ? 1
                                          : 0;
    uint32_t cp = c & (need == 3 ? 0x07u : need == 2 ? 0x0fu : 0x1fu);

    if (c < 0x80) {
        (*i)++;
        return c;
    }
    if (need == 0 || *i + need >= n) {
        (*i)++;
        return 0x110000u + c;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((p[*i + k] & 0xc0) != 0x80) {
            (*i)++;
            return 0x110000u + c;
        }
        cp = (cp << 6) | (p[*i + k] & 0x3fu);
    }
    *i += need + 1;
    return cp;
}

/*
 * Simple case folding for the scripts people most often log in: ASCII,
 * Latin-1, Latin Extended-A, Greek and Cyrillic. Other scripts compare as
 * written.
 */
static uint32_t fold(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c >= 0xc0 && c <= 0xde && c != 0xd7)
        return c + 0x20;
    if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
        return c | 1u;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
        return (c & 1u) ? c + 1 : c;
    if (c == 0x178)
        return 0xff;
    if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
        return c + 0x20;
    if (c >= 0x410 && c <= 0x42f)
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40f)
        return c + 0x50;
    return c;
}

/* Appends c as UTF-8 (a raw byte for 0x110000 + byte) at out[k] when it fits; the new k. */
static size_t put_cp(char *out, size_t max, size_t k, uint32_t c)
{
    unsigned char t[4];
    size_t n;

    if (c >= 0x110000u) {
        t[0] = (unsigned char)(c - 0x110000u);
        n = 1;
    } else if (c < 0x80) {
        t[0] = (unsigned char)c;
        n = 1;
    } else if (c < 0x800) {
        t[0] = (unsigned char)(0xc0 | c >> 6);
        t[1] = (unsigned char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        t[0] = (unsigned char)(0xe0 | c >> 12);
        t[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        t[2] = (unsigned char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        t[0] = (unsigned char)(0xf0 | c >> 18);
        t[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
        t[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        t[3] = (unsigned char)(0x80 | (c & 0x3f));
        n = 4;
    }
    for (size_t i = 0; i < n; i++, k++)
        if (k < max)
            out[k] = (char)t[i];
    return k;
}

size_t query_fold_word(const char *w, size_t n, char *out, size_t max)
{
    const unsigned char *p = (const unsigned char *)w;
    size_t i = 0, k = 0;

    while (i < n) {
        if (p[i] < 0x80) {
            unsigned char c = p[i++];

            if (k < max)
                out[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            k++;
            continue;
        }
        k = put_cp(out, max, k, fold(next_cp(p, n, &i)));
    }
    return k;
}

/* a equals b (or starts with it, for a prefix), ignoring case. */
static int word_eq(const char *a, size_t an, const char *b, size_t bn, int prefix)
{
    const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
    size_t i = 0, k = 0;

    while (k < bn) {
        if (i >= an || fold(next_cp(pa, an, &i)) != fold(next_cp(pb, bn, &k)))
            return 0;
    }
    return prefix || i == an;
}

/* A phrase as its words, and a ring of the document's last words. */
struct phrase {
    struct slice want[MAX_PHRASE];
    size_t n;
    int prefix; /* the last word may be a prefix (single words only) */
    struct slice ring[MAX_PHRASE];
    size_t seen;
};

static int collect(void *arg, const char *w, size_t n)
{
    struct phrase *ph = arg;

    if (ph->n < MAX_PHRASE)
        ph->want[ph->n++] = (struct slice){ w, n };
    return 0;
}

static int phrase_step(void *arg, const char *w, size_t n)
{
    struct phrase *ph = arg;
    size_t k = ph->n;

    ph->ring[ph->seen++ % k] = (struct slice){ w, n };
    if (ph->seen < k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        struct slice got = ph->ring[(ph->seen - k + i) % k];

        if (!word_eq(got.p, got.len, ph->want[i].p, ph->want[i].len, ph->prefix && i == k - 1))
            return 0;
    }
    return 1;
}

static int text_has(struct slice text, const struct query_value *v)
{
    struct phrase ph;

    memset(&ph, 0, sizeof(ph));
    query_words(v->text.p, v->text.len, collect, &ph);
    if (ph.n == 0)
        return 0;
    ph.prefix = v->prefix;
    ph.seen = 0;
    return query_words(text.p, text.len, phrase_step, &ph) == 1;
}

static int field_text_has(query_get_fn get, const void *doc, const char *field,
                          const struct query_value *v)
{
    struct slice vals[MAX_VALUES];
    size_t n = get(doc, field, vals, MAX_VALUES);

    for (size_t i = 0; i < n; i++)
        if (text_has(vals[i], v))
            return 1;
    return 0;
}

static int free_text(const struct query_node *n, query_get_fn get, const void *doc)
{
    for (size_t i = 0; query_text_fields[i] != NULL; i++)
        if (field_text_has(get, doc, query_text_fields[i], n->values))
            return 1;
    return 0;
}

static int compare(double a, double b, int op)
{
    switch (op) {
    case Q_GT:
        return a > b;
    case Q_GE:
        return a >= b;
    case Q_LT:
        return a < b;
    case Q_LE:
        return a <= b;
    default:
        return a == b;
    }
}

/* One document value against one query value, by the field's type. */
static int value_matches(const struct query_node *n, const struct query_value *want,
                         struct slice got, int64_t now_us)
{
    char num[40];
    int level;

    switch (n->type) {
    case QT_TEXT:
        return text_has(got, want);
    case QT_LEVEL:
        return ev_level_parse(got.p, got.len, &level) == 0 && compare(level, want->level, n->op);
    case QT_NUMBER:
    case QT_TIME:
        if (got.len == 0 || got.len >= sizeof(num))
            return 0;
        memcpy(num, got.p, got.len);
        num[got.len] = '\0';
        if (n->type == QT_NUMBER)
            return compare(strtod(num, NULL), want->number, n->op);
        return compare((double)strtoll(num, NULL, 10),
                       (double)(want->relative ? now_us + want->time_us : want->time_us), n->op);
    default:
        return word_eq(got.p, got.len, want->text.p, want->text.len, want->prefix);
    }
}

static int field_matches(const struct query_node *n, query_get_fn get, const void *doc,
                         int64_t now_us)
{
    struct slice vals[MAX_VALUES];
    size_t nv = get(doc, n->field, vals, MAX_VALUES);

    for (size_t i = 0; i < nv; i++)
        for (size_t k = 0; k < n->nvalues; k++)
            if (value_matches(n, &n->values[k], vals[i], now_us))
                return 1;
    return 0;
}

static int has_field(const struct query_node *n, query_get_fn get, const void *doc)
{
    struct slice vals[MAX_VALUES];
    size_t nv = get(doc, n->field, vals, MAX_VALUES);

    for (size_t i = 0; i < nv; i++)
        if (vals[i].len > 0)
            return 1;
    return 0;
}

int query_match(const struct query_node *n, query_get_fn get, const void *doc, int64_t now_us)
{
    struct slice st;

    if (n == NULL)
        return 1;
    switch (n->kind) {
    case Q_AND:
        for (size_t i = 0; i < n->nkids; i++)
            if (!query_match(n->kids[i], get, doc, now_us))
                return 0;
        return 1;
    case Q_OR:
        for (size_t i = 0; i < n->nkids; i++)
            if (query_match(n->kids[i], get, doc, now_us))
                return 1;
        return 0;
    case Q_NOT:
        return !query_match(n->kids[0], get, doc, now_us);
    case Q_WORD:
    case Q_PHRASE:
        return free_text(n, get, doc);
    case Q_FIELD:
        return field_matches(n, get, doc, now_us);
    case Q_HAS:
        return has_field(n, get, doc);
    case Q_IS:
        return get(doc, "is", &st, 1) == 1 &&
               word_eq(st.p, st.len, n->values->text.p, n->values->text.len, 0);
    default:
        return 0;
    }
}
