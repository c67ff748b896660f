/*
 * grouprules.c - parser and matcher of grouping rules (grouprules.h).
 *
 * DESIGN
 * One line is one rule. The parser is a hand-written scanner over the
 * line with a column counter, so a person editing rules through the API
 * is told exactly where a rule went wrong ("line 3, column 14: unknown
 * matcher 'stack.fn'"). Every input is bounded (text size, rule count,
 * matchers and values per rule), so a hostile rule set costs at most a
 * few hundred kilobytes. Matching is a glob without backtracking blowup:
 * '*' and '**' are resolved by the classic two-pointer greedy walk, which
 * is linear in practice and at worst quadratic in short patterns.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest/grouprules.h"
#include "core/buf.h"
#include "core/banned.h"

#define GR_TOKEN_MAX 1024

enum field {
    F_TYPE,
    F_VALUE,
    F_MECHANISM,
    F_MESSAGE,
    F_LOGGER,
    F_LEVEL,
    F_RELEASE,
    F_TAG,
    F_FUNCTION,
    F_MODULE,
    F_PATH,
    F_PACKAGE,
    F_FAMILY,
    F_APP,
};

/* Matcher names, Sentry's long and short spellings; frame fields flagged. */
static const struct field_name {
    const char *name;
    int field;
    int frame;
} field_names[] = {
    { "error.type", F_TYPE, 0 },
    { "type", F_TYPE, 0 },
    { "error.value", F_VALUE, 0 },
    { "value", F_VALUE, 0 },
    { "error.mechanism", F_MECHANISM, 0 },
    { "message", F_MESSAGE, 0 },
    { "logger", F_LOGGER, 0 },
    { "level", F_LEVEL, 0 },
    { "release", F_RELEASE, 0 },
    { "stack.function", F_FUNCTION, 1 },
    { "function", F_FUNCTION, 1 },
    { "stack.module", F_MODULE, 1 },
    { "module", F_MODULE, 1 },
    { "stack.abs_path", F_PATH, 1 },
    { "path", F_PATH, 1 },
    { "stack.package", F_PACKAGE, 1 },
    { "package", F_PACKAGE, 1 },
    { "family", F_FAMILY, 0 },
    { "app", F_APP, 1 },
};

/* Platform families: a family name and the platforms it covers. */
static const struct family {
    const char *family;
    const char *platforms[8];
} families[] = {
    { "javascript", { "javascript", "node", NULL } },
    { "native", { "native", "c", "cocoa", "swift", "objc", NULL } },
    { "other", { NULL } },
};

#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/*
 * What family:a,b,c names, decided once when the rule is read: each known
 * family as a bit, "*" and names that are no family (a platform's own name)
 * as flags. Deciding the names per event was most of the built-in rules'
 * time: every Python event met some forty "family:javascript" matchers.
 */
static unsigned family_bits(const char *pattern)
{
    unsigned bits = 0;

    for (const char *p = pattern; *p != '\0';) {
        size_t n = strcspn(p, ","), f = 0;

        while (f < NFAMILIES &&
               (strlen(families[f].family) != n || strncasecmp(families[f].family, p, n) != 0))
            f++;
        if (n == 1 && *p == '*')
            bits |= GRULES_FAM_STAR;
        else
            bits |= f < NFAMILIES ? 1u << f : GRULES_FAM_PLAIN;
        p += n + (p[n] == ',');
    }
    return bits;
}

/* The known families platform belongs to, as family_bits' bits. */
static unsigned platform_bits(const char *platform)
{
    unsigned bits = 0;

    if (platform == NULL)
        return 0; /* "other", in no family's list */
    for (size_t f = 0; f < NFAMILIES; f++)
        for (size_t k = 0; families[f].platforms[k] != NULL; k++)
            if (families[f].platforms[k][0] == platform[0] &&
                strcmp(families[f].platforms[k], platform) == 0)
                bits |= 1u << f;
    return bits;
}

struct scan {
    const char *p;
    size_t len, i;
    int line;
    size_t line_start;
    struct grules_error *e;
};

static int fail(struct scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct scan *s, const char *fmt, ...)
{
    va_list ap;

    s->e->line = s->line;
    s->e->column = (int)(s->i - s->line_start) + 1;
    va_start(ap, fmt);
    vsnprintf(s->e->msg, sizeof(s->e->msg), fmt, ap);
    va_end(ap);
    return -1;
}

static int at_end_of_line(const struct scan *s)
{
    return s->i >= s->len || s->p[s->i] == '\n' || s->p[s->i] == '#';
}

static void skip_blanks(struct scan *s)
{
    while (s->i < s->len && (s->p[s->i] == ' ' || s->p[s->i] == '\t' || s->p[s->i] == '\r'))
        s->i++;
}

static char *dup_n(const char *p, size_t n)
{
    char *r = malloc(n + 1);

    if (r == NULL)
        abort();
    memcpy(r, p, n);
    r[n] = '\0';
    return r;
}

/* A quoted string at s->i (on the quote) with \" and \\ escapes; out gets the unescaped text. */
static int scan_quoted(struct scan *s, char **out)
{
    char tok[GR_TOKEN_MAX];
    size_t n = 0, open = s->i;

    s->i++;
    while (s->i < s->len && s->p[s->i] != '"' && s->p[s->i] != '\n') {
        char c = s->p[s->i];

        if (c == '\\' && s->i + 1 < s->len && (s->p[s->i + 1] == '"' || s->p[s->i + 1] == '\\'))
            c = s->p[++s->i];
        if (n + 1 >= sizeof(tok))
            return fail(s, "quoted value longer than %d bytes", GR_TOKEN_MAX - 1);
        tok[n++] = c;
        s->i++;
    }
    if (s->i >= s->len || s->p[s->i] != '"') {
        s->i = open;
        return fail(s, "unterminated quoted value");
    }
    s->i++;
    *out = dup_n(tok, n);
    return 0;
}

/* A bare word up to a blank, ',' (when stop_comma) or end of line. */
static int scan_word(struct scan *s, char **out)
{
    size_t start = s->i;

    while (s->i < s->len && !strchr(" \t\r\n", s->p[s->i]))
        s->i++;
    if (s->i == start)
        return fail(s, "expected a value");
    if (s->i - start >= GR_TOKEN_MAX)
        return fail(s, "value longer than %d bytes", GR_TOKEN_MAX - 1);
    *out = dup_n(s->p + start, s->i - start);
    return 0;
}

static int scan_value(struct scan *s, char **out)
{
    if (s->i < s->len && s->p[s->i] == '"')
        return scan_quoted(s, out);
    return scan_word(s, out);
}

static const struct field_name *find_field(const char *p, size_t n)
{
    for (size_t k = 0; k < sizeof(field_names) / sizeof(field_names[0]); k++) {
        if (strlen(field_names[k].name) == n && strncasecmp(field_names[k].name, p, n) == 0)
            return &field_names[k];
    }
    return NULL;
}

static int check_pattern(struct scan *s, size_t at, const struct grules_matcher *m)
{
    size_t keep = s->i;

    s->i = at;
    if (m->field == F_APP && strcasecmp(m->pattern, "yes") != 0 &&
        strcasecmp(m->pattern, "no") != 0 && strcmp(m->pattern, "1") != 0 &&
        strcmp(m->pattern, "0") != 0 && strcasecmp(m->pattern, "true") != 0 &&
        strcasecmp(m->pattern, "false") != 0)
        return fail(s, "app: takes yes or no");
    if (m->field == F_TAG && m->arg[0] == '\0')
        return fail(s, "tags. needs a tag name");
    s->i = keep;
    return 0;
}

/*
 * The length of TEXT when pattern is "**TEXT**" and TEXT holds no wildcard,
 * else 0. Such a glob (the built-in "**" "/site-packages/" "**" rules) is a
 * substring test, path or not: matched with one pass instead of the
 * backtracking walk, which profiled at a third of the stack rules' time.
 */
static size_t contains_form(const char *pattern)
{
    size_t n = strlen(pattern);

    if (n < 5 || strncmp(pattern, "**", 2) != 0 || strcmp(pattern + n - 2, "**") != 0)
        return 0;
    for (size_t i = 2; i < n - 2; i++)
        if (pattern[i] == '*' || pattern[i] == '?')
            return 0;
    return n - 4;
}

/* [!]NAME:PATTERN at s->i. */
static int scan_matcher(struct scan *s, struct grules_rule *r)
{
    struct grules_matcher *m;
    const struct field_name *f;
    size_t start = s->i, colon, at;

    if (r->nm >= GRULES_MAX_MATCHERS)
        return fail(s, "more than %d matchers in one rule", GRULES_MAX_MATCHERS);
    m = &r->m[r->nm];
    if (s->p[s->i] == '!') {
        m->negate = 1;
        s->i++;
        start++;
    }
    while (s->i < s->len && (isalnum((unsigned char)s->p[s->i]) || strchr("._-", s->p[s->i])))
        s->i++;
    colon = s->i;
    if (colon >= s->len || s->p[colon] != ':')
        return fail(s, "expected NAME:PATTERN");
    if (colon - start > 5 && strncasecmp(s->p + start, "tags.", 5) == 0) {
        m->field = F_TAG;
        m->arg = dup_n(s->p + start + 5, colon - start - 5);
    } else if ((f = find_field(s->p + start, colon - start)) != NULL) {
        m->field = f->field;
    } else {
        s->i = start;
        return fail(s, "unknown matcher '%.*s'", (int)(colon - start), s->p + start);
    }
    r->nm++;
    s->i = colon + 1;
    at = s->i;
    if (s->i >= s->len || strchr(" \t\r\n#", s->p[s->i]) != NULL)
        return fail(s, "empty pattern");
    if (scan_value(s, &m->pattern) != 0)
        return -1;
    m->inner = contains_form(m->pattern);
    if (m->field == F_FAMILY)
        m->fam = family_bits(m->pattern);
    return check_pattern(s, at, m);
}

static int scan_action(struct scan *s, struct grules_rule *r)
{
    static const struct {
        const char *word;
        int app, group;
    } actions[] = {
        { "+app", 1, -1 },
        { "-app", 0, -1 },
        { "+group", -1, 1 },
        { "-group", -1, 0 },
    };
    size_t start = s->i, n;

    while (s->i < s->len && !strchr(" \t\r\n#", s->p[s->i]))
        s->i++;
    n = s->i - start;
    for (size_t k = 0; k < sizeof(actions) / sizeof(actions[0]); k++) {
        if (strlen(actions[k].word) == n && memcmp(actions[k].word, s->p + start, n) == 0) {
            if (actions[k].app >= 0)
                r->app = actions[k].app;
            if (actions[k].group >= 0)
                r->group = actions[k].group;
            return 0;
        }
    }
    s->i = start;
    return fail(s, "unknown action '%.*s' (expected +app, -app, +group or -group)", (int)n,
                s->p + start);
}

/* Whether a blank run at i is followed by title=. */
static int title_follows(const struct scan *s, size_t i)
{
    while (i < s->len && (s->p[i] == ' ' || s->p[i] == '\t'))
        i++;
    return s->len - i > 6 && strncmp(s->p + i, "title=", 6) == 0;
}

/*
 * One fingerprint value: quoted, or the text up to ',' or the end of the
 * line, trimmed, so "{{ tags.region }}" is one value.
 */
static int scan_fp_value(struct scan *s, char **out)
{
    size_t start = s->i, end;

    if (s->i < s->len && s->p[s->i] == '"')
        return scan_quoted(s, out);
    while (!at_end_of_line(s) && s->p[s->i] != ',' &&
           !((s->p[s->i] == ' ' || s->p[s->i] == '\t') && title_follows(s, s->i)))
        s->i++;
    end = s->i;
    while (end > start && strchr(" \t\r", s->p[end - 1]) != NULL)
        end--;
    if (end == start)
        return fail(s, "expected a value");
    if (end - start >= GR_TOKEN_MAX)
        return fail(s, "value longer than %d bytes", GR_TOKEN_MAX - 1);
    *out = dup_n(s->p + start, end - start);
    return 0;
}

/* After "->": VALUE[, VALUE...] [title="..."]. */
static int scan_fingerprint(struct scan *s, struct grules_rule *r)
{
    for (;;) {
        skip_blanks(s);
        if (at_end_of_line(s))
            return r->nvalues > 0 ? 0 : fail(s, "expected fingerprint values after '->'");
        if (s->len - s->i > 6 && strncmp(s->p + s->i, "title=", 6) == 0) {
            s->i += 6;
            if (s->i >= s->len || s->p[s->i] != '"')
                return fail(s, "title= takes a quoted value");
            if (r->title != NULL)
                return fail(s, "title given twice");
            if (scan_quoted(s, &r->title) != 0)
                return -1;
            continue;
        }
        if (r->nvalues >= GRULES_MAX_VALUES)
            return fail(s, "more than %d fingerprint values", GRULES_MAX_VALUES);
        if (scan_fp_value(s, &r->values[r->nvalues]) != 0)
            return -1;
        r->nvalues++;
        skip_blanks(s);
        if (s->i < s->len && s->p[s->i] == ',')
            s->i++;
    }
}

static int scan_rule(struct scan *s, int kind, struct grules_rule *r)
{
    r->app = -1;
    r->group = -1;
    for (;;) {
        skip_blanks(s);
        if (at_end_of_line(s))
            break;
        if (kind == GRULES_FINGERPRINT && s->len - s->i >= 2 && memcmp(s->p + s->i, "->", 2) == 0) {
            if (r->nm == 0)
                return fail(s, "a rule needs at least one matcher before '->'");
            s->i += 2;
            return scan_fingerprint(s, r);
        }
        if (kind == GRULES_STACK && (s->p[s->i] == '+' || s->p[s->i] == '-')) {
            if (r->nm == 0)
                return fail(s, "a rule needs at least one matcher before its actions");
            if (scan_action(s, r) != 0)
                return -1;
            continue;
        }
        if (r->app >= 0 || r->group >= 0)
            return fail(s, "matchers must come before actions");
        if (scan_matcher(s, r) != 0)
            return -1;
    }
    if (kind == GRULES_FINGERPRINT)
        return fail(s, "expected '->' and fingerprint values");
    return r->app < 0 && r->group < 0 ? fail(s, "expected an action (+app, -app, +group, -group)")
                                      : 0;
}

static void next_line(struct scan *s)
{
    while (s->i < s->len && s->p[s->i] != '\n')
        s->i++;
    if (s->i < s->len) {
        s->i++;
        s->line++;
        s->line_start = s->i;
    }
}

int grules_parse(const char *text, size_t len, int kind, struct grules *out, struct grules_error *e)
{
    struct scan s = { text, len, 0, 1, 0, e };
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    memset(e, 0, sizeof(*e));
    out->kind = kind;
    if (len > GRULES_MAX_TEXT)
        return fail(&s, "rules longer than %u bytes", GRULES_MAX_TEXT);
    if (memchr(text, '\0', len) != NULL) {
        s.i = (size_t)((const char *)memchr(text, '\0', len) - text);
        return fail(&s, "NUL byte in rules");
    }
    while (s.i < s.len) {
        skip_blanks(&s);
        if (!at_end_of_line(&s)) {
            struct grules_rule *r;

            if (out->n >= GRULES_MAX_RULES)
                return fail(&s, "more than %d rules", GRULES_MAX_RULES);
            if (out->n == cap) {
                cap = cap == 0 ? 8 : cap * 2;
                out->rules = realloc(out->rules, cap * sizeof(*out->rules));
                if (out->rules == NULL)
                    abort();
            }
            r = &out->rules[out->n++];
            memset(r, 0, sizeof(*r));
            if (scan_rule(&s, kind, r) != 0)
                return -1;
        }
        next_line(&s);
    }
    return 0;
}

void grules_free(struct grules *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct grules_rule *x = &r->rules[i];

        for (size_t k = 0; k < x->nm; k++) {
            free(x->m[k].arg);
            free(x->m[k].pattern);
        }
        for (size_t k = 0; k < x->nvalues; k++)
            free(x->values[k]);
        free(x->title);
    }
    free(r->rules);
    memset(r, 0, sizeof(*r));
}

/*
 * Glob: '**' any run, '*' any run without '/' when path is set (else any
 * run), '?' one character; case-insensitive. The usual greedy walk with a
 * backtrack point for the last star and one for the last star that may
 * cross '/': when a '*' would have to swallow a '/', the last '**' grows
 * instead ("**" + "/a/" + "*.js" against "x/a/b/a/c.js").
 */
static int glob_match(const char *p, const char *s, int path)
{
    const char *sp = NULL, *ss = NULL, *dp = NULL, *ds = NULL;
    int s_any = 0;

    while (*s != '\0') {
        if (*p == '*') {
            int any = p[1] == '*' || !path;

            while (*p == '*')
                p++;
            sp = p;
            ss = s;
            s_any = any;
            if (any) {
                dp = p;
                ds = s;
            }
            continue;
        }
        if (*p != '\0' && (*p == '?' || tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
            p++;
            s++;
            continue;
        }
        if (sp != NULL && (s_any || *ss != '/')) {
            p = sp;
            s = ++ss;
            continue;
        }
        if (dp == NULL)
            return 0;
        p = sp = dp;
        s = ss = ++ds;
        s_any = 1;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

int grules_family_is(const char *platform, const char *family, size_t len)
{
    const char *pl = platform != NULL ? platform : "other";

    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
        if (strlen(families[f].family) != len || strncasecmp(families[f].family, family, len) != 0)
            continue;
        for (size_t k = 0; families[f].platforms[k] != NULL; k++) {
            if (strcmp(families[f].platforms[k], pl) == 0)
                return 1;
        }
        return 0;
    }
    return len == strlen(pl) && strncasecmp(pl, family, len) == 0;
}

/* family:a,b,c */
static int family_match(const char *platform, const char *pattern)
{
    const char *p = pattern;

    while (*p != '\0') {
        size_t n = strcspn(p, ",");

        if ((n == 1 && *p == '*') || grules_family_is(platform, p, n))
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

/*
 * text (n bytes, no wildcard) inside s, ignoring ASCII case as glob_match
 * does. The bytes that can start it are found by strchr/strpbrk (vector
 * loops): the built-in site-packages rules read every frame's path of every
 * Python event, byte by byte they were the stack rules' biggest cost.
 */
static int contains_ci(const char *s, const char *text, size_t n)
{
    char first[3] = { (char)tolower((unsigned char)text[0]), 0, 0 };

    first[1] = (char)toupper((unsigned char)first[0]);
    if (first[1] == first[0])
        first[1] = '\0';
    for (s = first[1] != '\0' ? strpbrk(s, first) : strchr(s, first[0]); s != NULL;
         s = first[1] != '\0' ? strpbrk(s + 1, first) : strchr(s + 1, first[0])) {
        size_t j = 1;

        while (j < n && s[j] != '\0' &&
               tolower((unsigned char)s[j]) == tolower((unsigned char)text[j]))
            j++;
        if (j == n)
            return 1;
    }
    return 0;
}

/* A matcher's pattern against v: a substring test when the pattern is "**TEXT**". */
static int pattern_match(const struct grules_matcher *m, const char *v, int path)
{
    if (m->inner > 0)
        return contains_ci(v != NULL ? v : "", m->pattern + 2, m->inner);
    return glob_match(m->pattern, v != NULL ? v : "", path);
}

static int app_match(int in_app, const char *pattern)
{
    int want = strcasecmp(pattern, "yes") == 0 || strcmp(pattern, "1") == 0 ||
               strcasecmp(pattern, "true") == 0;

    return (in_app == 1) == want;
}

static int frame_field_match(const struct grules_matcher *m, const struct ev_frame *f)
{
    switch (m->field) {
    case F_FUNCTION:
        return pattern_match(m, f->function, 0);
    case F_MODULE:
        return pattern_match(m, f->module, 1);
    case F_PATH:
        return pattern_match(m, f->abs_path, 1) || pattern_match(m, f->filename, 1);
    case F_PACKAGE:
        return pattern_match(m, f->package, 1);
    case F_APP:
        return app_match(f->in_app, m->pattern);
    default:
        return 0;
    }
}

static int is_frame_field(int field)
{
    return field == F_FUNCTION || field == F_MODULE || field == F_PATH || field == F_PACKAGE ||
           field == F_APP;
}

static const char *tag_of(const struct event *ev, const char *name)
{
    for (size_t i = 0; i < ev->ntags; i++) {
        if (strcmp(ev->tags[i].key, name) == 0)
            return ev->tags[i].value;
    }
    return NULL;
}

/* An event-level matcher; x is the exception being looked at (any of the chain). */
static int event_field_match(const struct grules_matcher *m, const struct event *ev,
                             const struct ev_exception *x)
{
    const char *msg = ev->message != NULL ? ev->message : ev->message_template;

    switch (m->field) {
    case F_TYPE:
        return x != NULL && pattern_match(m, x->type, 0);
    case F_VALUE:
        return x != NULL && pattern_match(m, x->value, 0);
    case F_MECHANISM:
        return x != NULL && pattern_match(m, x->mechanism, 0);
    case F_MESSAGE:
        /* Sentry's message matcher sees the message, else the exception's value. */
        if (msg != NULL && pattern_match(m, msg, 0))
            return 1;
        return x != NULL && pattern_match(m, x->value, 0);
    case F_LOGGER:
        return pattern_match(m, ev->logger, 0);
    case F_LEVEL:
        return pattern_match(m, ev_level_name(ev->level), 0);
    case F_RELEASE:
        return pattern_match(m, ev->release, 0);
    case F_TAG:
        return tag_of(ev, m->arg) != NULL && pattern_match(m, tag_of(ev, m->arg), 0);
    case F_FAMILY:
        if ((m->fam & GRULES_FAM_STAR) || (m->fam & platform_bits(ev->platform)) != 0)
            return 1;
        /* only a platform's own name is left to compare */
        return (m->fam & GRULES_FAM_PLAIN) != 0 && family_match(ev->platform, m->pattern);
    default:
        return 0;
    }
}

static int any_frame_match(const struct grules_matcher *m, const struct ev_frame *fr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (frame_field_match(m, &fr[i]))
            return 1;
    }
    return 0;
}

/* One matcher against the event: frame matchers look at x's frames (or the event's stack). */
static int matcher_hits(const struct grules_matcher *m, const struct event *ev,
                        const struct ev_exception *x)
{
    int hit;

    if (!is_frame_field(m->field))
        hit = event_field_match(m, ev, x);
    else if (x != NULL)
        hit = any_frame_match(m, x->frames, x->nframes);
    else
        hit = any_frame_match(m, ev->frames, ev->nframes);
    return m->negate ? !hit : hit;
}

static int rule_hits_with(const struct grules_rule *r, const struct event *ev,
                          const struct ev_exception *x)
{
    for (size_t k = 0; k < r->nm; k++) {
        if (!matcher_hits(&r->m[k], ev, x))
            return 0;
    }
    return 1;
}

const struct grules_rule *grules_match_fingerprint(const struct grules *r, const struct event *ev)
{
    for (size_t i = 0; r != NULL && i < r->n; i++) {
        const struct grules_rule *rule = &r->rules[i];

        /* Each exception of the chain is tried: Sentry matches any of them. */
        for (size_t k = 0; k < ev->nexc; k++) {
            if (rule_hits_with(rule, ev, &ev->exc[k]))
                return rule;
        }
        if (ev->nexc == 0 && rule_hits_with(rule, ev, NULL))
            return rule;
    }
    return NULL;
}

/* The event-level matchers of a stack rule: the same for every frame of one exception. */
static int stack_rule_event_hits(const struct grules_rule *r, const struct event *ev,
                                 const struct ev_exception *x)
{
    for (size_t k = 0; k < r->nm; k++) {
        const struct grules_matcher *m = &r->m[k];
        int hit;

        if (is_frame_field(m->field))
            continue;
        hit = event_field_match(m, ev, x);
        if (m->negate ? hit : !hit)
            return 0;
    }
    return 1;
}

static int stack_rule_frame_hits(const struct grules_rule *r, const struct ev_frame *f)
{
    for (size_t k = 0; k < r->nm; k++) {
        const struct grules_matcher *m = &r->m[k];
        int hit;

        if (!is_frame_field(m->field))
            continue;
        hit = frame_field_match(m, f);
        if (m->negate ? hit : !hit)
            return 0;
    }
    return 1;
}

/*
 * Rules apply in order, frame by frame, and a rule sees what earlier rules
 * set on the frame (app:). The event-level matchers (family:, error.type:,
 * ...) do not depend on the frame, so they are decided once per exception:
 * profiled, re-deciding "family:javascript" per frame and rule was most of
 * the stack rules' time on Python events.
 */
static void apply_frames(const struct grules *r, const struct event *ev,
                         const struct ev_exception *x, struct ev_frame *fr, size_t n)
{
    unsigned char live[GRULES_MAX_RULES];
    size_t nrules = r->n < GRULES_MAX_RULES ? r->n : GRULES_MAX_RULES; /* the parser's cap */
    int any = 0;

    if (n == 0)
        return;
    for (size_t k = 0; k < nrules; k++) {
        live[k] = (unsigned char)stack_rule_event_hits(&r->rules[k], ev, x);
        any |= live[k];
    }
    for (size_t i = 0; any && i < n; i++) {
        for (size_t k = 0; k < nrules; k++) {
            const struct grules_rule *rule = &r->rules[k];

            if (!live[k] || !stack_rule_frame_hits(rule, &fr[i]))
                continue;
            if (rule->app >= 0)
                fr[i].in_app = rule->app;
            if (rule->group >= 0)
                fr[i].no_group = !rule->group;
        }
    }
}

void grules_apply_stack(const struct grules *r, struct event *ev)
{
    if (r == NULL)
        return;
    for (size_t k = 0; k < ev->nexc; k++)
        apply_frames(r, ev, &ev->exc[k], ev->exc[k].frames, ev->exc[k].nframes);
    apply_frames(r, ev, NULL, ev->frames, ev->nframes);
}
