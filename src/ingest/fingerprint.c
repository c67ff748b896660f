/*
 * fingerprint.c - grouping: which issue an event belongs to (design §4,
 * protocols.md §2).
 *
 * DESIGN
 * The default algorithm produces a list of components, one text line each
 * ("type:ZeroDivisionError", "frame:app.views|divide|returna/b",
 * "message:Failed for user %s", ...); the fingerprint is the BLAKE2b-128
 * of that text. Keeping the list as text lets tests and the UI show why
 * two events did or did not group (fingerprint_components).
 *
 * What goes in is chosen for stability across deploys, as Sentry does:
 * module names rather than paths, lower-cased basenames, no line or column
 * numbers, in-app frames only when the client marked any (so upgrading a
 * dependency does not split issues), templates rather than formatted
 * messages, and variable parts of texts replaced by placeholders
 * (fingerprint_param.c). Any change to the output changes
 * FINGERPRINT_VERSION.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ingest/fingerprint.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/banned.h"

#define FP_PART_MAX 256        /* bytes of a module or function name that count */
#define FP_CONTEXT_MAX 120     /* longer context lines do not contribute */
#define FP_TITLE_MAX 200
#define FP_COMPONENTS_MAX (16u << 20)
#define FP_SEARCH_MAX (64u << 10)

static int streq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int platform_in(const char *platform, const char *const *list)
{
    for (size_t i = 0; platform != NULL && list[i] != NULL; i++) {
        if (strcmp(platform, list[i]) == 0)
            return 1;
    }
    return 0;
}

static int is_js(const struct event *ev)
{
    static const char *const js[] = { "javascript", "node", NULL };

    return platform_in(ev->platform, js);
}

static int uses_context(const struct event *ev)
{
    static const char *const ctx[] = { "javascript", "node", "python", "php", "ruby", NULL };

    return platform_in(ev->platform, ctx);
}

/* The component text being built, with a sticky error. */
struct comps {
    struct buf *b;
    int rc;
};

/* One component line; newlines inside a value become spaces to keep one per line. */
static void comp_add(struct comps *c, const char *prefix, const char *s, size_t len)
{
    struct buf *b = c->b;
    size_t start = b->len;
    int rc = c->rc;

    if (rc == 0)
        rc = buf_addstr(b, prefix);
    if (rc == 0)
        rc = buf_add(b, s, len);
    if (rc == 0)
        rc = buf_addch(b, '\n');
    if (rc != 0) {
        /* All or nothing, so the text stays one line per component. */
        b->len = start;
        if (b->cap > 0)
            b->p[b->len] = '\0';
        c->rc = rc;
        return;
    }
    for (size_t i = start + strlen(prefix); i + 1 < b->len; i++) {
        if (b->p[i] == '\n' || b->p[i] == '\r')
            b->p[i] = ' ';
    }
}

static int is_ident(int c)
{
    return isalnum(c) || c == '_' || c == '$';
}

/*
 * A function name without what changes between builds or call sites:
 * parameter lists and template arguments ("foo<int>(a, b)" -> "foo"), and
 * for JavaScript the "Object." and "async " prefixes. Names of anonymous
 * JavaScript functions carry nothing and give 0.
 */
static size_t clean_function(const char *fn, int js, char *out, size_t cap)
{
    static const char *const anon[] = { "?", "<anonymous>", "eval", "Anonymous function", NULL };
    struct slice s = slice_trim(slice_from(fn));
    size_t o = 0;

    if (js) {
        if (s.len > 6 && memcmp(s.p, "async ", 6) == 0)
            s = slice_trim((struct slice){ s.p + 6, s.len - 6 });
        if (s.len > 7 && memcmp(s.p, "Object.", 7) == 0)
            s = (struct slice){ s.p + 7, s.len - 7 };
        for (size_t i = 0; anon[i] != NULL; i++) {
            if (slice_eq(s, anon[i]))
                return 0;
        }
    }
    for (size_t i = 0; i < s.len && o + 1 < cap; i++) {
        char c = s.p[i];

        if (c == '<' && o > 0 && is_ident((unsigned char)out[o - 1])) {
            size_t depth = 0, j = i;

            for (; j < s.len; j++) {
                depth += s.p[j] == '<';
                depth -= s.p[j] == '>';
                if (depth == 0)
                    break;
            }
            if (j < s.len) {
                i = j;
                continue;
            }
        }
        if (c == '(' && o > 0 && is_ident((unsigned char)out[o - 1]))
            break;
        out[o++] = c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return o;
}

/* Module, else the basename of a filename that is a path (URLs change with every deploy). */
static size_t frame_where(const struct ev_frame *f, char *out, size_t cap)
{
    const char *s = f->module;
    size_t n = 0;

    if (s == NULL || s[0] == '\0') {
        const char *slash;

        s = f->filename;
        if (s == NULL || strstr(s, "://") != NULL || strcmp(s, "<anonymous>") == 0 ||
            strcmp(s, "[native code]") == 0)
            return 0;
        slash = strrchr(s, '/');
        s = slash != NULL ? slash + 1 : s;
        slash = strrchr(s, '\\');
        s = slash != NULL ? slash + 1 : s;
        for (; s[n] != '\0' && n + 1 < cap; n++)
            out[n] = (char)tolower((unsigned char)s[n]);
        out[n] = '\0';
        return n;
    }
    n = strlen(s);
    n = n < cap - 1 ? n : cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

/*
 * The context line without any whitespace. Sentry collapses runs to one
 * space; dropping them all also groups "a / b" with "a/b" (vector G6),
 * reformatting that changes no behaviour. The length rule is measured on
 * the collapsed line, as Sentry does.
 */
static size_t frame_context(const char *line, char *out)
{
    size_t collapsed = 0, o = 0;
    int in_space = 1;

    for (size_t i = 0; line != NULL && line[i] != '\0'; i++) {
        if (isspace((unsigned char)line[i])) {
            in_space = 1;
            continue;
        }
        collapsed += 1 + (size_t)(in_space && collapsed > 0);
        in_space = 0;
        if (collapsed > FP_CONTEXT_MAX)
            return 0;
        out[o++] = line[i];
    }
    out[o] = '\0';
    return o;
}

static int frame_component(const struct event *ev, const struct ev_frame *f, struct comps *b)
{
    char where[FP_PART_MAX], fn[FP_PART_MAX], ctx[FP_CONTEXT_MAX + 1];
    size_t nw = frame_where(f, where, sizeof(where));
    size_t nf = f->function != NULL ? clean_function(f->function, is_js(ev), fn, sizeof(fn)) : 0;
    size_t nc = uses_context(ev) ? frame_context(f->context_line, ctx) : 0;
    char line[3 * FP_PART_MAX + 8];
    size_t n;

    if (nw == 0 && nf == 0 && nc == 0)
        return 0;
    if (b != NULL) {
        n = (size_t)snprintf(line, sizeof(line), "%.*s|%.*s|%.*s", (int)nw, where, (int)nf, fn,
                             (int)nc, ctx);
        comp_add(b, "frame:", line, n < sizeof(line) ? n : sizeof(line) - 1);
    }
    return 1;
}

static int same_frame(const struct ev_frame *a, const struct ev_frame *b)
{
    return streq(a->abs_path, b->abs_path) && streq(a->module, b->module) &&
           streq(a->filename, b->filename) && streq(a->function, b->function) &&
           a->lineno == b->lineno && a->colno == b->colno;
}

static int frame_selected(const struct ev_frame *f, int app_only)
{
    return !app_only || f->in_app == 1;
}

/* b called itself from a: the same named function in the same file, whatever the lines. */
static int same_function(const struct ev_frame *a, const struct ev_frame *b)
{
    char fn[FP_PART_MAX];

    return a->function != NULL && streq(a->function, b->function) &&
           streq(a->abs_path, b->abs_path) && streq(a->module, b->module) &&
           streq(a->filename, b->filename) &&
           clean_function(a->function, 1, fn, sizeof(fn)) > 0;
}

/*
 * Where the frames of x start to count: for JavaScript, the first frame of
 * the innermost recursion (consecutive frames of one named function), else
 * 0.
 *
 * V8 keeps only the 10 innermost frames of an Error unless the program
 * raises Error.stackTraceLimit, so how many callers of a recursion survive
 * depends on how deep it went: the same error thrown at depth 3 and at
 * depth 7 keeps different outer frames and would split into two issues.
 * The recursion and what it called identify the error; its callers do not
 * count. Other platforms send whole stacks (or lose the middle, not the
 * callers), so they keep Sentry's rule: repeated frames count once. Runs
 * are judged on the frames of the variant, so walk -> forEach -> walk
 * recurses in the in-app variant; anonymous functions never form one.
 */
static size_t first_counted(const struct event *ev, const struct ev_exception *x, int app_only)
{
    const struct ev_frame *prev = NULL;
    size_t start = 0, run = 0;

    if (!is_js(ev))
        return 0;
    for (size_t i = 0; i < x->nframes; i++) {
        const struct ev_frame *f = &x->frames[i];

        if (!frame_selected(f, app_only))
            continue;
        if (prev != NULL && same_function(prev, f))
            start = run;
        else
            run = i;
        prev = f;
    }
    return start;
}

/*
 * Adds (b != NULL) or counts the contributing frames of x; recursion counts
 * once. Adds nothing when it returns 0.
 */
static size_t exc_frames(const struct event *ev, const struct ev_exception *x, int app_only,
                         struct comps *b)
{
    const struct ev_frame *prev = NULL; /* the last frame that contributed */
    size_t n = 0;

    for (size_t i = first_counted(ev, x, app_only); i < x->nframes; i++) {
        const struct ev_frame *f = &x->frames[i];
        int added;

        if (!frame_selected(f, app_only) || (prev != NULL && same_frame(f, prev)))
            continue;
        added = frame_component(ev, f, b);
        if (added)
            prev = f;
        n += (size_t)added;
    }
    return n;
}

static size_t chain_frames(const struct event *ev, int app_only)
{
    size_t n = 0;

    for (size_t i = 0; i < ev->nexc; i++)
        n += exc_frames(ev, &ev->exc[i], app_only, NULL);
    return n;
}

static void add_parameterized(struct comps *b, const char *prefix, const char *s)
{
    struct buf p = BUF_INIT(FP_COMPONENTS_MAX);

    if (b->rc == 0)
        b->rc = fingerprint_parameterize(s, strlen(s), &p);
    comp_add(b, prefix, p.p, p.len);
    buf_release(&p);
}

/*
 * Each exception of the chain gives its type and its frames; one whose
 * frames contribute nothing in the chosen variant gives its value instead,
 * as Sentry decides per exception.
 */
static void exception_components(const struct event *ev, struct comps *b)
{
    int app_only = chain_frames(ev, 1) > 0;

    for (size_t i = 0; i < ev->nexc; i++) {
        const struct ev_exception *x = &ev->exc[i];

        if (x->type != NULL && !x->synthetic)
            comp_add(b, "type:", x->type, strlen(x->type));
        if (exc_frames(ev, x, app_only, b) == 0 && x->value != NULL)
            add_parameterized(b, "value:", x->value);
    }
}

static void default_components(const struct event *ev, struct comps *b)
{
    const char *msg = ev->message_template != NULL ? ev->message_template : ev->message;

    if (ev->nexc > 0) {
        exception_components(ev, b);
        return;
    }
    add_parameterized(b, "message:", msg != NULL ? msg : "");
    if (ev->logger != NULL && ev->logger[0] != '\0')
        comp_add(b, "logger:", ev->logger, strlen(ev->logger));
}

/* The frame a person would look at first: the last in-app one, else the last. */
static const struct ev_frame *culprit_frame(const struct event *ev)
{
    const struct ev_exception *x = ev->nexc > 0 ? &ev->exc[ev->nexc - 1] : NULL;

    if (x == NULL || x->nframes == 0)
        return NULL;
    for (size_t i = x->nframes; i > 0; i--) {
        if (x->frames[i - 1].in_app == 1)
            return &x->frames[i - 1];
    }
    return &x->frames[x->nframes - 1];
}

/* "{{ name }}" or "{{name}}": the name, or an empty slice when s is not a variable. */
static struct slice variable_name(const char *s)
{
    size_t len = strlen(s);

    if (len < 4 || memcmp(s, "{{", 2) != 0 || memcmp(s + len - 2, "}}", 2) != 0)
        return SLICE_NULL;
    return slice_trim((struct slice){ s + 2, len - 4 });
}

static const char *tag_value(const struct event *ev, struct slice name)
{
    for (size_t i = 0; i < ev->ntags; i++) {
        if (slice_eq(name, ev->tags[i].key))
            return ev->tags[i].value;
    }
    return "";
}

static const char *nz(const char *s)
{
    return s != NULL ? s : "";
}

/* Sentry's other fingerprint variables; newer Sentry writes "" for missing values. */
static void variable_component(const struct event *ev, struct slice v, const char *raw,
                               struct comps *b)
{
    const struct ev_exception *x = ev->nexc > 0 ? &ev->exc[ev->nexc - 1] : NULL;
    const struct ev_frame *f = culprit_frame(ev);
    const char *val = raw;

    if (slice_eq(v, "transaction"))
        val = nz(ev->transaction);
    else if (slice_eq(v, "type") || slice_eq(v, "error.type"))
        val = x != NULL ? nz(x->type) : "";
    else if (slice_eq(v, "level"))
        val = ev_level_name(ev->level);
    else if (slice_eq(v, "logger"))
        val = nz(ev->logger);
    else if (slice_eq(v, "function") || slice_eq(v, "stack.function"))
        val = f != NULL ? nz(f->function) : "";
    else if (slice_eq(v, "module") || slice_eq(v, "stack.module"))
        val = f != NULL ? nz(f->module) : "";
    else if (slice_eq(v, "package") || slice_eq(v, "stack.package"))
        val = f != NULL ? nz(f->package) : "";
    else if (v.len > 5 && memcmp(v.p, "tags.", 5) == 0)
        val = tag_value(ev, (struct slice){ v.p + 5, v.len - 5 });
    if (slice_eq(v, "value") || slice_eq(v, "error.value"))
        add_parameterized(b, "custom:", x != NULL ? nz(x->value) : "");
    else
        comp_add(b, "custom:", val, strlen(val));
}

static void custom_components(const struct event *ev, struct comps *b)
{
    for (size_t i = 0; i < ev->nfingerprint_in; i++) {
        const char *s = ev->fingerprint_in[i];
        struct slice v = variable_name(s);

        if (slice_eq(v, "default"))
            default_components(ev, b);
        else if (v.len > 0)
            variable_component(ev, v, s, b);
        else
            comp_add(b, "custom:", s, strlen(s));
    }
}

int fingerprint_components(const struct event *ev, struct buf *out)
{
    struct comps c = { out, 0 };

    if (ev->nfingerprint_in > 0)
        custom_components(ev, &c);
    else
        default_components(ev, &c);
    return c.rc;
}

/* The first line of s, cut to max bytes at a UTF-8 boundary. */
static size_t first_line(const char *s, size_t max)
{
    size_t n = strcspn(s, "\r\n");

    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static const char *make_title(const struct event *ev, struct pool *pool)
{
    const struct ev_exception *x = ev->nexc > 0 ? &ev->exc[ev->nexc - 1] : NULL;
    const char *type = x != NULL && x->type != NULL && x->type[0] != '\0' ? x->type : NULL;
    const char *value = x != NULL && x->value != NULL && x->value[0] != '\0' ? x->value : NULL;
    const char *t;

    if (type != NULL && value != NULL)
        t = pool_printf(pool, "%s: %.*s", type, (int)first_line(value, FP_TITLE_MAX), value);
    else if (type != NULL || value != NULL)
        t = type != NULL ? type : value;
    else if (ev->message != NULL && ev->message[0] != '\0')
        t = ev->message;
    else
        t = "<unlabeled event>";
    return pool_strndup(pool, t, first_line(t, FP_TITLE_MAX));
}

static const char *make_culprit(const struct event *ev, struct pool *pool)
{
    const struct ev_frame *f = culprit_frame(ev);
    const char *where = NULL, *c;

    if (f != NULL) {
        where = f->module != NULL && f->module[0] != '\0' ? f->module : f->filename;
        if (where != NULL && f->function != NULL)
            c = pool_printf(pool, "%s in %s", where, f->function);
        else
            c = where != NULL ? where : f->function;
        if (c != NULL)
            return pool_strndup(pool, c, first_line(c, FP_TITLE_MAX));
    }
    if (ev->transaction != NULL && ev->transaction[0] != '\0')
        return pool_strndup(pool, ev->transaction, first_line(ev->transaction, FP_TITLE_MAX));
    return ev->logger;
}

static const char *make_search_text(const struct event *ev, struct pool *pool)
{
    struct buf b = BUF_INIT(FP_SEARCH_MAX);
    const char *s;

    if (ev->nexc == 0)
        return NULL;
    for (size_t i = 0; i < ev->nexc; i++) {
        const struct ev_exception *x = &ev->exc[i];

        if (i > 0)
            (void)buf_addch(&b, '\n');
        if (x->type != NULL)
            (void)buf_addstr(&b, x->type);
        if (x->type != NULL && x->value != NULL)
            (void)buf_addch(&b, ' ');
        if (x->value != NULL)
            (void)buf_addstr(&b, x->value);
    }
    s = pool_strndup(pool, b.p, b.len);
    buf_release(&b);
    return s;
}

static uint64_t template_hash(const struct event *ev)
{
    const char *t = ev->message_template != NULL ? ev->message_template : ev->message;
    struct buf p = BUF_INIT(FP_COMPONENTS_MAX);
    uint64_t h;

    /* Exceptions without a message still form patterns, by their title. */
    if (t == NULL)
        t = ev->title != NULL ? ev->title : "";
    (void)fingerprint_parameterize(t, strlen(t), &p);
    h = hash64(p.p, p.len);
    buf_release(&p);
    return h;
}

void fingerprint_event(struct event *ev, struct pool *pool)
{
    struct buf comps = BUF_INIT(FP_COMPONENTS_MAX);

    (void)fingerprint_components(ev, &comps);
    hash_hex128(comps.p, comps.len, ev->fingerprint);
    buf_release(&comps);
    ev->grouping_version = FINGERPRINT_VERSION;
    ev->title = make_title(ev, pool);
    ev->culprit = make_culprit(ev, pool);
    ev->search_text = make_search_text(ev, pool);
    ev->template_hash = template_hash(ev);
}
