/*
 * fingerprint_func.c - a stack frame's function name as grouping counts it
 * (fingerprint.c): without parameter lists and template arguments, and for
 * JavaScript the name every engine would give.
 */
#include <string.h>

#include "ingest/fingerprint_text.h"
#include "core/buf.h"
#include "core/banned.h"

static int is_ident(int c)
{
    return c_alnum(c) || c == '_' || c == '$';
}

static struct slice drop_prefix(struct slice s, const char *prefix)
{
    size_t n = strlen(prefix);

    if (s.len > n && memcmp(s.p, prefix, n) == 0)
        return slice_trim((struct slice){ s.p + n, s.len - n });
    return s;
}

/*
 * A JavaScript function name as every engine would spell it. V8 writes
 * "Foo.bar", "Foo.prototype.bar", "Object.bar", "async bar", "new Foo" and
 * "bar [as alias]"; SpiderMonkey "bar", "outer/inner" for nested functions
 * and "outer/<" for an anonymous one inside outer; JavaScriptCore "bar" and
 * "global code"/"module code"/"eval code" for code outside any function.
 * The reduction keeps the last name, as Sentry does: the method's own name.
 * An anonymous function gives an empty slice.
 */
static struct slice js_function(struct slice s)
{
    static const char *const anon[] = {
        "global code", "Global code", "module code",        "eval code", "eval",
        "<anonymous>", "?",           "Anonymous function", NULL
    };
    const char *as;
    size_t k;

    s = drop_prefix(drop_prefix(s, "async "), "new ");
    as = s.len > 5 ? memchr(s.p, '[', s.len) : NULL;
    if (as != NULL && as > s.p && as[-1] == ' ')
        s.len = (size_t)(as - s.p) - 1;
    while (s.len > 0 && (s.p[s.len - 1] == '@' || s.p[s.len - 1] == '*'))
        s.len--;
    if ((s.len >= 2 && memcmp(s.p + s.len - 2, "/<", 2) == 0) ||
        (s.len > 0 && s.p[s.len - 1] == '<'))
        return SLICE_NULL;
    for (k = s.len; k > 0 && s.p[k - 1] != '/' && s.p[k - 1] != '.'; k--)
        ;
    s = (struct slice){ s.p + k, s.len - k };
    for (size_t i = 0; anon[i] != NULL; i++) {
        if (slice_eq(s, anon[i]))
            return SLICE_NULL;
    }
    return s;
}

/*
 * A function name without what changes between builds or call sites:
 * parameter lists and template arguments ("foo<int>(a, b)" -> "foo"), and
 * for JavaScript the "Object." and "async " prefixes. Names of anonymous
 * JavaScript functions carry nothing and give 0. js_names: the version's
 * browser-independent JavaScript names (js_function).
 */
size_t fp_clean_function(const char *fn, int js, int js_names, char *out, size_t cap)
{
    static const char *const anon[] = { "?", "<anonymous>", "eval", "Anonymous function", NULL };
    struct slice s = slice_trim(slice_from(fn));
    size_t o = 0;

    if (js && js_names) {
        s = js_function(s);
        if (s.len == 0)
            return 0;
    }
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
