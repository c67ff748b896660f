/*
 * scrub.c - data scrubbing at ingest (scrub.h).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/scrub.h"
#include "core/banned.h"

#define WORD_MAX 64

/*
 * Substrings of a key that make its value sensitive (lower case), by their
 * first letter so that a key is read once (default_sensitive).
 */
struct word {
    const char *w;
    size_t n;
};
#define W(s)                                                                                       \
    {                                                                                              \
        s, sizeof(s) - 1                                                                           \
    }
static const struct word words_a[] = {
    W("api_key"), W("apikey"), W("api-key"), W("auth"), { NULL, 0 }
};
static const struct word words_b[] = { W("bearer"), { NULL, 0 } };
static const struct word words_c[] = { W("credential"),  W("cookie"),     W("csrf"),
                                       W("credit_card"), W("creditcard"), W("card_number"),
                                       W("cardnumber"),  { NULL, 0 } };
static const struct word words_p[] = { W("password"),    W("passwd"),     W("pwd"),
                                       W("private_key"), W("privatekey"), { NULL, 0 } };
static const struct word words_s[] = { W("secret"), W("session"), { NULL, 0 } };
static const struct word words_t[] = { W("token"), { NULL, 0 } };
static const struct word words_x[] = { W("xsrf"), { NULL, 0 } };
#undef W

/* The default words that start with c (lower case), or NULL. */
static const struct word *words_at(unsigned char c)
{
    switch (c) {
    case 'a':
        return words_a;
    case 'b':
        return words_b;
    case 'c':
        return words_c;
    case 'p':
        return words_p;
    case 's':
        return words_s;
    case 't':
        return words_t;
    case 'x':
        return words_x;
    default:
        return NULL;
    }
}

/* Keys whose string values are name=value lists (query, cookies, form bodies, URLs). */
static const char *const pair_keys[] = { "query_string", "cookies", "data", "url", "query" };

static int has_word(const char *key, size_t len, const char *word, size_t wlen)
{
    for (size_t i = 0; wlen > 0 && i + wlen <= len; i++) {
        size_t j = 0;

        while (j < wlen && tolower((unsigned char)key[i + j]) == word[j])
            j++;
        if (j == wlen)
            return 1;
    }
    return 0;
}

/*
 * Calls match(word) for each comma-separated, trimmed, lower-cased word of
 * list until it answers 1.
 */
static int list_any(const char *list, const char *key, size_t len, int exact)
{
    char word[WORD_MAX + 1];

    while (list != NULL && *list != '\0') {
        const char *end = strchr(list, ',');
        size_t n = end != NULL ? (size_t)(end - list) : strlen(list), w = 0;

        for (size_t i = 0; i < n && w < WORD_MAX; i++)
            if (!isspace((unsigned char)list[i]))
                word[w++] = (char)tolower((unsigned char)list[i]);
        word[w] = '\0';
        if (w > 0 && exact && w == len && has_word(key, len, word, w))
            return 1;
        if (w > 0 && !exact && has_word(key, len, word, w))
            return 1;
        list = end != NULL ? end + 1 : list + n;
    }
    return 0;
}

/* ASCII lower case: keys are compared as bytes, like tolower() in the C locale. */
static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* The n bytes at key equal word (lower case) ignoring ASCII case. */
static int eq_lower(const char *key, const char *word, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (lower((unsigned char)key[j]) != (unsigned char)word[j])
            return 0;
    return 1;
}

/*
 * Every key of every event passes here, so the key is read once: only at a
 * byte that starts one of the words are the words with that first letter
 * compared (profiled: lower-casing a copy and 21 memchr passes per key were
 * a twelfth of the digest's time on 9 KB events).
 */
static int default_sensitive(const char *key, size_t len)
{
    for (size_t i = 0; i + 3 <= len; i++) { /* the shortest word is 3 bytes */
        const struct word *w = words_at(lower((unsigned char)key[i]));

        for (; w != NULL && w->w != NULL; w++) {
            if (w->n <= len - i && lower((unsigned char)key[i + 1]) == (unsigned char)w->w[1] &&
                eq_lower(key + i + 2, w->w + 2, w->n - 2))
                return 1;
        }
    }
    return 0;
}

/*
 * default_sensitive's answers for the keys a thread saw last, by a hash of
 * the key: an event repeats a few dozen keys (filename, lineno, function,
 * ...) hundreds of times, and reading each byte of each of them was a tenth
 * of the decode of a Sentry event (profiled on the bench's 9 KB events).
 * Each entry holds its key, so an answer is never another key's.
 */
#define MEMO_SLOTS 1024
#define MEMO_KEY 30

struct memo {
    uint64_t a, b;     /* memo_words of the key */
    unsigned char len; /* 0: empty (a key of 0 bytes is not remembered) */
    unsigned char sensitive;
    char key[MEMO_KEY];
};

static _Thread_local struct memo memo[MEMO_SLOTS];

/*
 * The key's first and last 8 bytes (overlapping loads below 8): for a key
 * of up to 16 bytes the pair and the length are the key, so a slot is
 * checked by three compares instead of a memcmp call (profiled: the call
 * was a third of the memo's cost on 9 KB events).
 */
static void memo_words(const char *key, size_t len, uint64_t *a, uint64_t *b)
{
    uint32_t x, y;
    uint16_t s, t;

    *a = 0;
    *b = 0;
    if (len >= 8) {
        memcpy(a, key, 8);
        memcpy(b, key + len - 8, 8);
    } else if (len >= 4) {
        memcpy(&x, key, 4);
        memcpy(&y, key + len - 4, 4);
        *a = x | (uint64_t)y << 32;
    } else if (len >= 2) {
        memcpy(&s, key, 2);
        memcpy(&t, key + len - 2, 2);
        *a = s | (uint64_t)t << 16;
    } else if (len == 1) {
        *a = (unsigned char)key[0];
    }
}

static int default_sensitive_memo(const char *key, size_t len)
{
    struct memo *m;
    uint64_t a, b;

    if (len == 0 || len > MEMO_KEY)
        return default_sensitive(key, len);
    memo_words(key, len, &a, &b);
    m = &memo[((a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL) ^ len) >> 54];
    if (m->len == len && m->a == a && m->b == b &&
        (len <= 16 || memcmp(m->key + 8, key + 8, len - 16) == 0))
        return m->sensitive;
    m->sensitive = (unsigned char)default_sensitive(key, len);
    m->len = (unsigned char)len;
    m->a = a;
    m->b = b;
    memcpy(m->key, key, len);
    return m->sensitive;
}

/* A list of the project's: NULL and "" (the defaults) are no words. */
static int has_list(const char *list)
{
    return list != NULL && list[0] != '\0';
}

int scrub_key_sensitive(const char *key, size_t len, const struct scrub_rules *r)
{
    if (r != NULL && has_list(r->safe) && list_any(r->safe, key, len, 1))
        return 0;
    if (default_sensitive_memo(key, len))
        return 1;
    return r != NULL && has_list(r->extra) && list_any(r->extra, key, len, 0);
}

/* Card networks' prefixes (IIN ranges): keeps timestamps and ids from looking like cards. */
static int card_prefix(const char *d, size_t n)
{
    int two = (d[0] - '0') * 10 + (d[1] - '0');
    int four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');

    if (d[0] == '4')
        return n == 13 || n == 16 || n == 19; /* Visa */
    if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720))
        return n == 16; /* Mastercard */
    if (two == 34 || two == 37)
        return n == 15; /* Amex */
    if (four == 6011 || two == 65 || (four >= 6440 && four <= 6499))
        return n >= 16; /* Discover */
    if (two == 35)
        return n >= 16; /* JCB */
    if (two == 36 || two == 38 || two == 30)
        return n >= 14; /* Diners */
    return 0;
}

static int luhn_ok(const char *d, size_t n)
{
    int sum = 0;

    for (size_t i = 0; i < n; i++) {
        int v = d[n - 1 - i] - '0';

        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

int scrub_is_card(const char *s, size_t len)
{
    char d[20];
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (isdigit((unsigned char)s[i])) {
            if (n == sizeof(d))
                return 0;
            d[n++] = s[i];
        } else if (s[i] != ' ' && s[i] != '-') {
            return 0;
        }
    }
    return n >= 13 && n <= 19 && card_prefix(d, n) && luhn_ok(d, n);
}

/* Length of the card-like run (digits, single spaces or dashes between) at s. */
static size_t digit_run(const char *s, size_t len)
{
    size_t i = 0, end = 0;

    while (i < len) {
        if (isdigit((unsigned char)s[i])) {
            end = ++i;
        } else if ((s[i] == ' ' || s[i] == '-') && i + 1 < len &&
                   isdigit((unsigned char)s[i + 1]) && end == i) {
            i++;
        } else {
            break;
        }
    }
    return end;
}

static int is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

/* The length of the card number starting at s[i], or 0. */
static size_t card_at(const char *s, size_t len, size_t i)
{
    /* A run stands alone: not part of a word, a hex id or a longer number. */
    int starts = isdigit((unsigned char)s[i]) && (i == 0 || !isalnum((unsigned char)s[i - 1]));
    size_t n = starts ? digit_run(s + i, len - i) : 0;

    if (n > 0 && i + n < len && isalnum((unsigned char)s[i + n]))
        n = 0;
    return n > 0 && scrub_is_card(s + i, n) ? n : 0;
}

/*
 * Whether s[0..len) has a run of at least 13 digits with single spaces or
 * dashes between them, which every card number is (digit_run). Timestamps
 * ("2026-12-01T10:00:00.123456Z") and hex ids have 13 digits in all but no
 * such run: one pass rules them out (they are in every log line).
 */
static int long_digit_run(const char *s, size_t len)
{
    size_t run = 0;

    for (size_t k = 0; k < len; k++) {
        if (is_digit(s[k])) {
            if (++run >= 13)
                return 1;
        } else if (!((s[k] == ' ' || s[k] == '-') && run > 0 && k + 1 < len &&
                     is_digit(s[k + 1]))) {
            run = 0;
        }
    }
    return 0;
}

/*
 * How many bytes of s[0..len) are ASCII digits, eight at a time: x = b ^ '0'
 * is a digit's value, below 10; (x & 0x7f) + 0x76 sets a byte's top bit
 * from 10 up without a carry into the next byte, and x's own top bit rules
 * out the rest. Every string of every event is counted.
 */
static size_t count_digits(const char *s, size_t len)
{
    const uint64_t ones = 0x0101010101010101ULL;
    size_t n = 0, k = 0;

    for (; k + 8 <= len; k += 8) {
        uint64_t v, x, over;

        memcpy(&v, s + k, 8);
        x = v ^ (ones * '0');
        over = (((x & (ones * 0x7f)) + ones * 0x76) | x) >> 7 & ones; /* 1 per non-digit */
        n += 8 - (size_t)((over * ones) >> 56);
    }
    for (; k < len; k++)
        n += (unsigned char)(s[k] - '0') < 10;
    return n;
}

/* Whether s[0..len) holds a card number (cards_out would replace one). */
static int has_card(const char *s, size_t len)
{
    int found = 0;

    /* A card has at least 13 digits: most strings are ruled out by their length or one count. */
    if (len < 13)
        return 0;
    if (count_digits(s, len) < 13 || !long_digit_run(s, len))
        return 0;
    /*
     * Timestamps, ids and hex strings pass the count: a card can only start
     * at a digit not after a digit, so only there is card_at asked (asking
     * at every byte was half the scrub walk of a log line).
     */
    for (size_t i = 0; i < len && !found; i++)
        found = is_digit(s[i]) && (i == 0 || !is_digit(s[i - 1])) && card_at(s, len, i) > 0;
    return found;
}

/*
 * s with every card number replaced; NULL when there is none. Caller frees.
 * Every string of every event passes here and almost none holds a card, so
 * a first pass only looks (no copy): the output is built when one is found.
 */
static char *cards_out(const char *s)
{
    size_t len = strlen(s), i = 0;
    struct buf b;
    int found = 0;

    if (!has_card(s, len))
        return NULL;
    buf_init(&b, len + 64 * sizeof(SCRUB_FILTERED));
    while (i < len) {
        size_t n = card_at(s, len, i);

        if (n > 0) {
            buf_addstr(&b, SCRUB_FILTERED);
            found = 1;
            i += n;
        } else {
            buf_add(&b, s + i, 1);
            i++;
        }
    }
    if (!found || buf_addch(&b, '\0') < 0) {
        buf_release(&b);
        return NULL;
    }
    return (char *)b.p; /* BUF_INIT: malloc'ed, handed over */
}

/* name=value parts of s (separated by & or ;) with sensitive names filtered; NULL when none. */
static int sensitive_pair(const char *s, size_t len, const struct scrub_rules *r)
{
    for (size_t i = 0; i <= len;) {
        size_t end = i;
        const char *eq;

        while (end < len && s[end] != '&' && s[end] != ';')
            end++;
        eq = memchr(s + i, '=', end - i);
        if (eq != NULL && scrub_key_sensitive(s + i, (size_t)(eq - s - i), r) &&
            strncmp(eq + 1, SCRUB_FILTERED, sizeof(SCRUB_FILTERED) - 1) != 0)
            return 1;
        i = end + 1;
    }
    return 0;
}

static char *pairs_out(const char *s, const struct scrub_rules *r)
{
    size_t len = strlen(s), i = 0;
    struct buf b;
    int found = 0;

    if (memchr(s, '=', len) == NULL || !sensitive_pair(s, len, r))
        return NULL; /* the usual case, decided without a copy */
    buf_init(&b, len * 2 + 256);

    while (i <= len) {
        size_t end = i;
        const char *eq;

        while (end < len && s[end] != '&' && s[end] != ';')
            end++;
        eq = memchr(s + i, '=', end - i);
        if (eq != NULL && scrub_key_sensitive(s + i, (size_t)(eq - s - i), r) &&
            strncmp(eq + 1, SCRUB_FILTERED, sizeof(SCRUB_FILTERED) - 1) != 0) {
            buf_add(&b, s + i, (size_t)(eq + 1 - s - i));
            buf_addstr(&b, SCRUB_FILTERED);
            found = 1;
        } else {
            buf_add(&b, s + i, end - i);
        }
        if (end < len)
            buf_add(&b, s + end, 1);
        i = end + 1;
    }
    if (!found || buf_addch(&b, '\0') < 0) {
        buf_release(&b);
        return NULL;
    }
    return (char *)b.p;
}

static size_t set_filtered(cJSON *v)
{
    char *s;

    if (cJSON_IsString(v) && strcmp(v->valuestring, SCRUB_FILTERED) == 0)
        return 0;
    if (cJSON_IsNull(v) || cJSON_IsBool(v))
        return 0; /* nothing secret in a flag */
    if (cJSON_IsString(v))
        return cJSON_SetValuestring(v, SCRUB_FILTERED) != NULL;
    /* A number becomes a string in place; cJSON's allocator (the digest's pool). */
    s = cJSON_malloc(sizeof(SCRUB_FILTERED));
    if (s == NULL)
        return 0;
    memcpy(s, SCRUB_FILTERED, sizeof(SCRUB_FILTERED));
    v->type = cJSON_String;
    v->valuestring = s;
    v->valueint = 0;
    v->valuedouble = 0;
    return 1;
}

/* Every scalar inside v filtered (the value of a sensitive key). */
static size_t filter_all(cJSON *v)
{
    size_t n = 0;
    cJSON *c;

    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return set_filtered(v);
    cJSON_ArrayForEach(c, v) n += filter_all(c);
    return n;
}

static size_t replace_string(cJSON *v, char *s)
{
    if (s == NULL)
        return 0;
    cJSON_SetValuestring(v, s);
    free(s);
    return 1;
}

int scrub_number_changes(double v)
{
    char d[32];

    if (v < 1e12 || v > 1e19)
        return 0;
    snprintf(d, sizeof(d), "%.0f", v);
    return scrub_is_card(d, strlen(d));
}

/* A number whose digits look like a card. */
static size_t scrub_number(cJSON *v)
{
    return scrub_number_changes(v->valuedouble) ? set_filtered(v) : 0;
}

/* key is one of list's n names, ignoring case (the first letter rules most keys out). */
static int key_in(const char *key, const char *const *list, size_t n)
{
    if (key == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)key[0]) == (unsigned char)list[i][0] &&
            strcasecmp(key, list[i]) == 0)
            return 1;
    return 0;
}

static int is_pair_key(const char *key)
{
    return key_in(key, pair_keys, sizeof(pair_keys) / sizeof(pair_keys[0]));
}

/* key_in for a key given by its length (not NUL-terminated). */
static int key_in_n(const char *key, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; key != NULL && len > 0 && i < n; i++)
        if (lower((unsigned char)key[0]) == (unsigned char)list[i][0] && strlen(list[i]) == len &&
            strncasecmp(key, list[i], len) == 0)
            return 1;
    return 0;
}

int scrub_pair_key(const char *key, size_t keylen)
{
    return key_in_n(key, keylen, pair_keys, sizeof(pair_keys) / sizeof(pair_keys[0]));
}

int scrub_string_changes(const char *key, size_t keylen, const char *s, size_t len,
                         const struct scrub_rules *r)
{
    /* walk(): a pair key's name=value parts first, then card numbers. */
    if (memchr(s, '=', len) != NULL && scrub_pair_key(key, keylen) && sensitive_pair(s, len, r))
        return 1;
    return has_card(s, len);
}

static size_t walk(cJSON *v, const char *key, const struct scrub_rules *r, int depth);

/*
 * Keys whose value may be a list of [name, value] pairs in Sentry's event
 * (request headers, cookies, query, form data, env; tags). Only there is a
 * two-string array a pair: elsewhere (a frame's pre_context of two lines) its
 * first string is text, and reading it as a name filtered a line of source.
 */
static const char *const pair_list_keys[] = { "headers", "cookies", "query_string", "query",
                                              "data",    "env",     "form",         "tags" };

static int pair_list_key(const char *key)
{
    return key_in(key, pair_list_keys, sizeof(pair_list_keys) / sizeof(pair_list_keys[0]));
}

int scrub_pair_list_key(const char *key, size_t keylen)
{
    return key_in_n(key, keylen, pair_list_keys,
                    sizeof(pair_list_keys) / sizeof(pair_list_keys[0]));
}

/* cJSON's type of v, read inline (the cJSON_Is* calls were a share of the walk). */
static int kind(const cJSON *v)
{
    return v->type & 0xff;
}

/* [name, value]: a pair list's entry (headers, query as a list). Two links, not a count. */
static int is_pair(const cJSON *v)
{
    const cJSON *c = kind(v) == cJSON_Array ? v->child : NULL;

    return c != NULL && c->next != NULL && c->next->next == NULL && kind(c) == cJSON_String;
}

static size_t walk_children(cJSON *v, const char *key, const struct scrub_rules *r, int depth)
{
    size_t n = 0;
    int obj = kind(v) == cJSON_Object;
    cJSON *c;

    if (pair_list_key(key) && is_pair(v)) {
        const char *name = cJSON_GetArrayItem(v, 0)->valuestring;

        if (scrub_key_sensitive(name, strlen(name), r))
            return filter_all(cJSON_GetArrayItem(v, 1));
        return walk(cJSON_GetArrayItem(v, 1), is_pair_key(key) ? key : name, r, depth + 1);
    }
    cJSON_ArrayForEach(c, v)
    {
        const char *ck = obj ? c->string : key;

        if (obj && ck != NULL && scrub_key_sensitive(ck, strlen(ck), r))
            n += filter_all(c);
        else
            n += walk(c, ck, r, depth + 1);
    }
    return n;
}

static size_t walk(cJSON *v, const char *key, const struct scrub_rules *r, int depth)
{
    size_t n = 0;

    if (depth > 256)
        return 0; /* the parser's depth limit is far below this */
    if (kind(v) == cJSON_Object || kind(v) == cJSON_Array)
        return walk_children(v, key, r, depth);
    if (kind(v) == cJSON_Number)
        return scrub_number(v);
    if (kind(v) != cJSON_String)
        return 0;
    if (is_pair_key(key))
        n += replace_string(v, pairs_out(v->valuestring, r));
    n += replace_string(v, cards_out(v->valuestring));
    return n;
}

size_t scrub_tree(cJSON *root, const struct scrub_rules *r)
{
    return root != NULL ? walk(root, NULL, r, 0) : 0;
}

int scrub_text(const char *p, size_t len, size_t max, int depth, const struct scrub_rules *r,
               struct pool *pool, struct slice *out)
{
    struct json_limits jl = { max, depth };
    struct buf b = BUF_INIT(max * 2 + 1024);
    cJSON *obj = json_parse(p, len, &jl, NULL);
    int rc = 0;

    if (obj == NULL)
        return BL_EPARSE;
    if (scrub_tree(obj, r) > 0 && json_print_to(obj, &b) == 0) {
        out->p = pool_memdup(pool, b.p, b.len);
        out->len = b.len;
        rc = 1;
    }
    buf_release(&b);
    cJSON_Delete(obj);
    return rc;
}
