/*
 * query_fields.c - the fields the search language knows, as one table.
 *
 * A field is known by its canonical name and any aliases people type from
 * Sentry, Kibana or Graylog habits (server_name for host, env for
 * environment). Each row says which targets have it and how its values
 * compare. tags.NAME and attrs.NAME are open families; a bare unknown name
 * is a tag, as in Sentry (browser:Chrome means tags.browser:Chrome), except
 * names with dots, which must be one of the families.
 */
#include <string.h>
#include <strings.h>

#include "search/query_int.h"
#include "core/banned.h"

#define L QUERY_LOGS
#define E QUERY_EVENTS
#define I QUERY_ISSUES

static const struct query_field fields[] = {
    { "message", NULL, QT_TEXT, L | E | I },
    { "level", NULL, QT_LEVEL, L | E | I },
    { "logger", NULL, QT_KEYWORD, L | E },
    { "host", "server_name", QT_KEYWORD, L | E },
    { "service", NULL, QT_KEYWORD, L | E },
    { "release", NULL, QT_KEYWORD, L | E | I },
    { "environment", "env", QT_KEYWORD, L | E | I },
    { "platform", NULL, QT_KEYWORD, E },
    { "transaction", NULL, QT_KEYWORD, E },
    { "trace_id", "trace", QT_KEYWORD, L | E },
    { "span_id", NULL, QT_KEYWORD, L | E },
    { "request_id", NULL, QT_KEYWORD, L | E },
    { "event_id", "id", QT_KEYWORD, L | E },
    { "user.id", NULL, QT_KEYWORD, E },
    { "user.email", NULL, QT_KEYWORD, E },
    { "user.ip", NULL, QT_KEYWORD, E },
    { "error.type", NULL, QT_KEYWORD, E | I },
    { "error.value", NULL, QT_TEXT, E | I },
    { "stack.function", NULL, QT_KEYWORD, E },
    { "stack.module", NULL, QT_KEYWORD, E },
    { "timestamp", NULL, QT_TIME, L | E },
    { "title", NULL, QT_TEXT, E | I },
    { "culprit", NULL, QT_KEYWORD, E | I },
    { "times_seen", NULL, QT_NUMBER, I },
    { "first_seen", NULL, QT_TIME, I },
    { "last_seen", NULL, QT_TIME, I },
};

static const struct query_field tag_field = { "tags.", NULL, QT_KEYWORD, L | E };
static const struct query_field attr_field = { "attrs.", NULL, QT_KEYWORD, L };

const char *const query_text_fields[] = { "message", "title", "error.value", "error.type", NULL };

static int valid_name(const char *p, size_t n)
{
    if (n == 0 || n > QUERY_MAX_FIELD)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '@'))
            return 0;
    }
    return p[n - 1] != '.' && p[0] != '.';
}

static int name_is(const char *name, const char *p, size_t n)
{
    return name != NULL && strlen(name) == n && strncasecmp(name, p, n) == 0;
}

/* A family member: "tags.browser" -> tags.browser, "attrs.http.status" -> attrs.http.status. */
static const struct query_field *family(const char *p, size_t n, const char **canon,
                                        struct pool *pool)
{
    static const struct {
        const char *prefix;
        const struct query_field *f;
    } fams[] = { { "tags.", &tag_field },
                 { "tag.", &tag_field },
                 { "attrs.", &attr_field },
                 { "attributes.", &attr_field } };

    for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
        size_t pl = strlen(fams[i].prefix);

        if (n > pl && strncasecmp(p, fams[i].prefix, pl) == 0) {
            *canon = pool_printf(pool, "%s%.*s", fams[i].f->name, (int)(n - pl), p + pl);
            return fams[i].f;
        }
    }
    return NULL;
}

const struct query_field *query__field(const char *p, size_t n, int target, const char **canon,
                                       struct pool *pool, const char **why)
{
    const struct query_field *f;

    *why = NULL;
    if (!valid_name(p, n)) {
        *why = "a field name";
        return NULL;
    }
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        f = &fields[i];
        if (!name_is(f->name, p, n) && !name_is(f->alias, p, n))
            continue;
        if (!(f->targets & target)) {
            *why = "a field this search has";
            return NULL;
        }
        *canon = f->name;
        return f;
    }
    f = family(p, n, canon, pool);
    if (f == NULL && memchr(p, '.', n) == NULL) {
        /* A bare name is a tag (browser:Chrome), as in Sentry. */
        f = &tag_field;
        *canon = pool_printf(pool, "tags.%.*s", (int)n, p);
    }
    if (f == NULL || !(f->targets & target)) {
        *why = "a known field (level, logger, host, ..., tags.NAME or attrs.NAME)";
        return NULL;
    }
    return f;
}
