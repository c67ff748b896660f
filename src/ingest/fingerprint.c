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
 *
 * Versions. Issues are keyed by (fingerprint, version), and each version
 * is a row of `versions` below: a set of behaviour flags that is never
 * edited once shipped. The current version's fingerprint decides the
 * issue; the previous version's is computed too (over the same normalized
 * event, before any rule re-marks its frames) and the store keeps sending
 * an event to the previous version's issue while that issue is open and
 * the new fingerprint has none yet, as Sentry's secondary grouping config
 * does during an upgrade. An old issue that is resolved lets its events
 * start a new-version issue, so the transition ends by itself.
 */
#include <string.h>

#include "ingest/fingerprint.h"
#include "ingest/fingerprint_text.h"
#include "ingest/grouprules.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/banned.h"

#define FP_PART_MAX 256    /* bytes of a module or function name that count */
#define FP_CONTEXT_MAX 120 /* longer context lines do not contribute */
#define FP_COMPONENTS_MAX (16u << 20)

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

/* Behaviour flags of an algorithm version. */
#define FPF_SHAPES 1u /* top-level stack, crashing thread, template group by content */
#define FPF_JS 2u     /* browser-independent JavaScript function names, low-quality frames */
#define FPF_RULES 4u  /* built-in and project grouping rules */
#define FPF_PARAM 8u  /* the version-3 parameterizer (dates in every format, versions, ...) */

static const struct fp_version {
    int version;
    unsigned flags;
} versions[] = {
    { 2, 0 },
    { 3, FPF_SHAPES | FPF_JS | FPF_RULES | FPF_PARAM },
};

/* The component text being built (NULL b: only counting), with a sticky error. */
struct comps {
    struct buf *b;
    int rc;
    unsigned flags;
    const struct fingerprint_rules *rules;
    /* the event's platform (is_js, uses_context), asked once rather than per frame */
    signed char js, context;
};

/* A copy of c that only counts. */
static struct comps counting(const struct comps *c)
{
    struct comps k = *c;

    k.b = NULL;
    return k;
}

/*
 * One component line, prefix then the n parts of its value joined by '|'
 * (a frame's module, function and context line); newlines inside the value
 * become spaces to keep one per line.
 */
static void comp_add_parts(struct comps *c, const char *prefix, const struct slice *part, size_t n)
{
    struct buf *b = c->b;
    size_t np = strlen(prefix), total = np + 1, from;
    char *o;
    int rc;

    if (b == NULL || c->rc != 0)
        return;
    for (size_t k = 0; k < n; k++)
        total += part[k].len + (k > 0);
    /* All or nothing (buf_grow leaves b as it was), so the text stays one line per component. */
    rc = buf_grow(b, total);
    if (rc != 0) {
        c->rc = rc;
        return;
    }
    o = b->p + b->len;
    memcpy(o, prefix, np);
    from = np;
    for (size_t k = 0; k < n; k++) {
        if (k > 0)
            o[from++] = '|';
        if (part[k].len > 0)
            memcpy(o + from, part[k].p, part[k].len);
        from += part[k].len;
    }
    o[from] = '\n';
    o[from + 1] = '\0';
    b->len += total;
    /* The value's own line breaks (rare: two memchr look, bytes are replaced only then). */
    if (memchr(o + np, '\n', from - np) != NULL || memchr(o + np, '\r', from - np) != NULL) {
        for (size_t i = np; i < from; i++) {
            if (o[i] == '\n' || o[i] == '\r')
                o[i] = ' ';
        }
    }
}

/* One component line; newlines inside a value become spaces to keep one per line. */
static void comp_add(struct comps *c, const char *prefix, const char *s, size_t len)
{
    struct slice v = { s, len };

    comp_add_parts(c, prefix, &v, 1);
}

/*
 * A frame that says nothing about the program: a native function or eval'd
 * code, which browsers report in different ways or not at all (V8's
 * "Array.forEach (<anonymous>)", Safari's "forEach@[native code]",
 * Firefox leaves them out).
 */
static int js_low_quality(const struct ev_frame *f)
{
    static const char *const names[] = { "<anonymous>", "[native code]", "native code",
                                         "eval code",   "native",        NULL };
    const char *const files[] = { f->filename, f->abs_path };

    for (size_t k = 0; k < 2; k++) {
        if (files[k] == NULL)
            continue;
        if (strncmp(files[k], "eval at ", 8) == 0)
            return 1;
        for (size_t i = 0; names[i] != NULL; i++) {
            if (strcmp(files[k], names[i]) == 0)
                return 1;
        }
    }
    return 0;
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
            out[n] = (char)c_lower((unsigned char)s[n]);
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
        if (c_space((unsigned char)line[i])) {
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
    size_t nw, nf, nc;

    (void)ev;
    if ((b->flags & FPF_RULES) != 0 && f->no_group)
        return 0;
    if ((b->flags & FPF_JS) != 0 && b->js && js_low_quality(f))
        return 0;
    nw = frame_where(f, where, sizeof(where));
    /* Counting: a module or file name is enough to contribute (the JS rule drops only names). */
    if (nw > 0 && b->b == NULL)
        return 1;
    nf = f->function != NULL
             ? fp_clean_function(f->function, b->js, (b->flags & FPF_JS) != 0, fn, sizeof(fn))
             : 0;
    nc = b->context ? frame_context(f->context_line, ctx) : 0;
    /*
     * A source-mapped JavaScript frame with its line of code: the line says
     * what ran, and the function name is whatever the bundler's mangling
     * and the map's names made of it, so it does not count (Sentry's rule).
     */
    if ((b->flags & FPF_JS) != 0 && b->js && f->sourcemapped && nc > 0)
        nf = 0;
    if (nw == 0 && nf == 0 && nc == 0)
        return 0;
    if (b->b != NULL) {
        /* "where|function|context" (each part is shorter than FP_PART_MAX and holds no NUL). */
        const struct slice parts[3] = { { where, nw }, { fn, nf }, { ctx, nc } };

        comp_add_parts(b, "frame:", parts, 3);
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
static int same_function(const struct ev_frame *a, const struct ev_frame *b, unsigned flags)
{
    char fn[FP_PART_MAX];

    return a->function != NULL && streq(a->function, b->function) &&
           streq(a->abs_path, b->abs_path) && streq(a->module, b->module) &&
           streq(a->filename, b->filename) &&
           fp_clean_function(a->function, 1, (flags & FPF_JS) != 0, fn, sizeof(fn)) > 0;
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
static size_t first_counted(const struct event *ev, const struct ev_exception *x, int app_only,
                            unsigned flags)
{
    const struct ev_frame *prev = NULL;
    size_t start = 0, run = 0;

    if (!is_js(ev))
        return 0;
    for (size_t i = 0; i < x->nframes; i++) {
        const struct ev_frame *f = &x->frames[i];

        if (!frame_selected(f, app_only))
            continue;
        if (prev != NULL && same_function(prev, f, flags))
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

    for (size_t i = first_counted(ev, x, app_only, b->flags); i < x->nframes; i++) {
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

static size_t chain_frames(const struct event *ev, int app_only, const struct comps *b)
{
    struct comps count = counting(b);
    size_t n = 0;

    for (size_t i = 0; i < ev->nexc; i++)
        n += exc_frames(ev, &ev->exc[i], app_only, &count);
    return n;
}

static void add_parameterized(struct comps *b, const char *prefix, const char *s)
{
    struct buf p = BUF_INIT(FP_COMPONENTS_MAX);

    if (b->rc == 0)
        b->rc = fp_parameterize(s, strlen(s), (b->flags & FPF_PARAM) != 0, &p);
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
    int app_only = chain_frames(ev, 1, b) > 0;

    for (size_t i = 0; i < ev->nexc; i++) {
        const struct ev_exception *x = &ev->exc[i];

        if (x->type != NULL && !x->synthetic)
            comp_add(b, "type:", x->type, strlen(x->type));
        if (exc_frames(ev, x, app_only, b) == 0 && x->value != NULL)
            add_parameterized(b, "value:", x->value);
    }
}

/* The lower-cased basename of a path. */
static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    path = slash != NULL ? slash + 1 : path;
    slash = strrchr(path, '\\');
    return slash != NULL ? slash + 1 : path;
}

/*
 * An event without exceptions: its own stack (top-level or the crashing
 * thread's) groups it like a frameless exception's would, else its
 * template (file and line of code), else its message. Returns whether
 * anything was added.
 */
static int shape_components(const struct event *ev, struct comps *b)
{
    struct ev_exception stack = { .frames = ev->frames, .nframes = ev->nframes };
    struct comps count = counting(b);
    const struct ev_frame *t = ev->template_frame;
    int app_only = exc_frames(ev, &stack, 1, &count) > 0;
    char ctx[FP_CONTEXT_MAX + 1], name[FP_PART_MAX];
    const char *file;
    size_t nc, nn = 0;

    if (exc_frames(ev, &stack, app_only, b) > 0)
        return 1;
    if (t == NULL)
        return 0;
    file = t->filename != NULL ? t->filename : t->abs_path;
    for (const char *f = file != NULL ? basename_of(file) : "";
         f[nn] != '\0' && nn + 1 < sizeof(name); nn++)
        name[nn] = (char)c_lower((unsigned char)f[nn]);
    name[nn] = '\0';
    nc = frame_context(t->context_line, ctx);
    if (nn == 0 && nc == 0)
        return 0;
    comp_add(b, "template:", name, nn);
    if (nc > 0)
        comp_add(b, "template-line:", ctx, nc);
    return 1;
}

static void default_components(const struct event *ev, struct comps *b)
{
    const char *msg = ev->message_template != NULL ? ev->message_template : ev->message;

    if (ev->nexc > 0) {
        exception_components(ev, b);
        return;
    }
    if ((b->flags & FPF_SHAPES) != 0 && shape_components(ev, b))
        return;
    add_parameterized(b, "message:", msg != NULL ? msg : "");
    if (ev->logger != NULL && ev->logger[0] != '\0')
        comp_add(b, "logger:", ev->logger, strlen(ev->logger));
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
    const struct ev_frame *f = fp_culprit_frame(ev);
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

static void custom_components(const struct event *ev, const char *const *list, size_t n,
                              struct comps *b)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = list[i];
        struct slice v = variable_name(s);

        if (slice_eq(v, "default"))
            default_components(ev, b);
        else if (v.len > 0)
            variable_component(ev, v, s, b);
        else
            comp_add(b, "custom:", s, strlen(s));
    }
}

/*
 * The fingerprint rule that decides ev, if any: the project's rules win
 * over what the client sent (Sentry's server-side fingerprinting); the
 * built-in ones only apply when the client sent no fingerprint of its own.
 */
static const struct grules_rule *matching_rule(const struct event *ev, unsigned flags,
                                               const struct fingerprint_rules *rules)
{
    const struct grules_rule *r = NULL;
    int client = ev->nfingerprint_in > 0 &&
                 !(ev->nfingerprint_in == 1 &&
                   slice_eq(variable_name(ev->fingerprint_in[0]), "default"));

    if ((flags & FPF_RULES) == 0)
        return NULL;
    if (rules != NULL && rules->fingerprint != NULL)
        r = grules_match_fingerprint(rules->fingerprint, ev);
    if (r == NULL && !client)
        r = grules_match_fingerprint(grules_builtin(GRULES_FINGERPRINT), ev);
    return r;
}

/* The components of version v, where r is the rule matching_rule chose (NULL: none). */
static int components_with(const struct event *ev, const struct fp_version *v,
                           const struct fingerprint_rules *rules, const struct grules_rule *r,
                           struct buf *out)
{
    struct comps c = {
        out, 0, v->flags, rules, (signed char)is_js(ev), (signed char)uses_context(ev)
    };

    if (r != NULL)
        custom_components(ev, (const char *const *)r->values, r->nvalues, &c);
    else if (ev->nfingerprint_in > 0)
        custom_components(ev, ev->fingerprint_in, ev->nfingerprint_in, &c);
    else
        default_components(ev, &c);
    return c.rc;
}

static int components(const struct event *ev, const struct fp_version *v,
                      const struct fingerprint_rules *rules, struct buf *out)
{
    return components_with(ev, v, rules, matching_rule(ev, v->flags, rules), out);
}

#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

int fingerprint_components(const struct event *ev, struct buf *out)
{
    return components(ev, &versions[NVERSIONS - 1], NULL, out);
}

int fingerprint_components_rules(const struct event *ev, const struct fingerprint_rules *rules,
                                 struct buf *out)
{
    return components(ev, &versions[NVERSIONS - 1], rules, out);
}

int fingerprint_parameterize(const char *msg, size_t len, struct buf *out)
{
    return fp_parameterize(msg, len, 1, out);
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

/*
 * The components of version v in comps, and their hash in out. When they
 * are the very text of another version's (prev, hashed as prev_hex: an
 * event no rule or version-3 behaviour changes), that hash is taken.
 */
static void hash_version(struct event *ev, const struct fp_version *v,
                         const struct fingerprint_rules *rules, const struct grules_rule *r,
                         struct buf *comps, const struct buf *prev, const char *prev_hex,
                         char out[33])
{
    /* Room for an event's usual components at once, not grown line by line. */
    (void)buf_grow(comps, 2048);
    (void)components_with(ev, v, rules, r, comps);
    if (prev != NULL && prev->len == comps->len && memcmp(prev->p, comps->p, comps->len) == 0)
        memcpy(out, prev_hex, 33);
    else
        hash_hex128(comps->p, comps->len, out);
}

void fingerprint_event(struct event *ev, struct pool *pool)
{
    fingerprint_event_rules(ev, pool, NULL);
}

void fingerprint_event_rules(struct event *ev, struct pool *pool,
                             const struct fingerprint_rules *rules)
{
    const struct fp_version *cur = &versions[NVERSIONS - 1];
    const struct grules_rule *r;
    struct buf was = BUF_INIT(FP_COMPONENTS_MAX), now = BUF_INIT(FP_COMPONENTS_MAX);
    int fresh = ev->grouping_version == 0;

    /*
     * The previous version knows no rules: hash it before they re-mark
     * frames, once (the digest runs this again with a project's rules).
     */
    if (fresh) {
        const struct fp_version *prev = &versions[NVERSIONS - 2];

        hash_version(ev, prev, NULL, matching_rule(ev, prev->flags, NULL), &was, NULL, NULL,
                     ev->fingerprint_prev);
        ev->grouping_version_prev = prev->version;
    }
    grules_apply_stack(grules_builtin(GRULES_STACK), ev);
    if (rules != NULL)
        grules_apply_stack(rules->stack, ev);
    /* The rule decides both the components and the title: matched once (a rule is a walk). */
    r = matching_rule(ev, cur->flags, rules);
    hash_version(ev, cur, rules, r, &now, fresh ? &was : NULL, ev->fingerprint_prev,
                 ev->fingerprint);
    buf_release(&was);
    buf_release(&now);
    ev->grouping_version = cur->version;
    ev->rules_version = rules != NULL ? rules->version : 0;
    ev->title = r != NULL && r->title != NULL ? pool_strdup(pool, r->title) : fp_title(ev, pool);
    ev->culprit = fp_culprit(ev, pool);
    ev->search_text = fp_search_text(ev, pool);
    ev->template_hash = template_hash(ev);
}

int fingerprint_deferrable(const struct event *ev, int issue_level)
{
    return ev->nexc == 0 && ev->nframes == 0 && ev->level < issue_level;
}

/* Some rule of g names a title (the built-in rules name none). */
static int titles_any(const struct grules *g)
{
    for (size_t i = 0; g != NULL && i < g->n; i++)
        if (g->rules[i].title != NULL)
            return 1;
    return 0;
}

void fingerprint_event_deferred(struct event *ev, struct pool *pool,
                                const struct fingerprint_rules *rules)
{
    const struct grules_rule *r = NULL;

    /*
     * The same title, culprit and search text as fingerprint_event_rules.
     * Only a rule's title matters here, so the rules are matched (a tenth
     * of a log line's decode) only when one has a title.
     */
    static _Thread_local signed char builtin_titles = -1; /* the built-in rules never change */

    if (builtin_titles < 0)
        builtin_titles = (signed char)titles_any(grules_builtin(GRULES_FINGERPRINT));
    if (builtin_titles || (rules != NULL && titles_any(rules->fingerprint)))
        r = matching_rule(ev, versions[NVERSIONS - 1].flags, rules);
    ev->fingerprint[0] = '\0';
    ev->grouping_version = 0;
    ev->rules_version = rules != NULL ? rules->version : 0;
    ev->title = r != NULL && r->title != NULL ? pool_strdup(pool, r->title) : fp_title(ev, pool);
    ev->culprit = fp_culprit(ev, pool);
    ev->search_text = fp_search_text(ev, pool);
}

int fingerprint_is_deferred(const struct event *ev)
{
    return ev->grouping_version == 0;
}
