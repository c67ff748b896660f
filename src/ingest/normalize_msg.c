/*
 * normalize_msg.c - the message of a Sentry event: "message" as a string,
 * or a logentry {message, params, formatted} under "logentry" or
 * "message".
 *
 * Python's logging integration sends the template and its params without
 * "formatted" (protocols.md §1.7), so the text a person reads is built
 * here with Python's %-formatting rules, and the template is kept apart
 * because grouping wants the template, not the formatted text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/banned.h"

#define SPEC_MAX_WIDTH 100

struct fmt {
    struct buf out;
    int full; /* the cap was reached: everything after is dropped */
    int py;   /* Python spellings for booleans and null */
};

struct spec {
    char flags[6];
    int width;
    int prec; /* -1 when not given */
    char conv;
    const char *name; /* %(name)s */
    size_t namelen;
};

static void fmt_add(struct fmt *f, const char *p, size_t n)
{
    size_t room;

    if (f->full)
        return;
    room = f->out.max - f->out.len;
    if (n > room) {
        n = room;
        f->full = 1;
    }
    (void)buf_add(&f->out, p, n);
}

static void fmt_pad(struct fmt *f, size_t n)
{
    for (size_t i = 0; i < n && !f->full; i++)
        fmt_add(f, " ", 1);
}

static int parse_num(const char *s, size_t len, size_t *i)
{
    int v = 0;

    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (v < SPEC_MAX_WIDTH)
            v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    return v > SPEC_MAX_WIDTH ? SPEC_MAX_WIDTH : v;
}

/* Parses a conversion spec after '%'; returns the index after it, or 0 if it is not one. */
static size_t parse_spec(const char *s, size_t len, size_t i, struct spec *sp)
{
    size_t nflags = 0;

    memset(sp, 0, sizeof(*sp));
    sp->prec = -1;
    if (i < len && s[i] == '(') {
        const char *close = memchr(s + i, ')', len - i);

        if (close == NULL)
            return 0;
        sp->name = s + i + 1;
        sp->namelen = (size_t)(close - sp->name);
        i = (size_t)(close - s) + 1;
    }
    while (i < len && strchr("-+ 0#", s[i]) != NULL && s[i] != '\0') {
        if (nflags < sizeof(sp->flags) - 1)
            sp->flags[nflags++] = s[i];
        i++;
    }
    sp->width = parse_num(s, len, &i);
    if (i < len && s[i] == '.') {
        i++;
        sp->prec = parse_num(s, len, &i);
    }
    while (i < len && (s[i] == 'h' || s[i] == 'l' || s[i] == 'L'))
        i++;
    if (i >= len || s[i] == '\0' || strchr("sdiufFeEgGxXorac", s[i]) == NULL)
        return 0;
    sp->conv = s[i];
    return i + 1;
}

static const cJSON *spec_param(const cJSON *params, const struct spec *sp, size_t *next)
{
    const cJSON *it;

    if (sp->name == NULL) {
        if (!cJSON_IsArray(params) || *next >= (size_t)cJSON_GetArraySize(params))
            return NULL;
        return cJSON_GetArrayItem(params, (int)(*next)++);
    }
    if (!cJSON_IsObject(params))
        return NULL;
    cJSON_ArrayForEach(it, params)
    {
        if (strlen(it->string) == sp->namelen && memcmp(it->string, sp->name, sp->namelen) == 0)
            return it;
    }
    return NULL;
}

/* %s of a parameter the way the client's language would print it. */
static void add_text(struct fmt *f, const cJSON *v, const struct spec *sp)
{
    char num[40];
    char *json = NULL;
    const char *s;
    size_t n;
    int repr = sp->conv == 'r' || sp->conv == 'a';

    if (cJSON_IsString(v)) {
        s = v->valuestring;
    } else if (cJSON_IsNumber(v)) {
        s = num;
        nz_number_text(v->valuedouble, num);
    } else if (cJSON_IsBool(v)) {
        s = cJSON_IsTrue(v) ? (f->py ? "True" : "true") : (f->py ? "False" : "false");
    } else if (cJSON_IsNull(v)) {
        s = f->py ? "None" : "null";
    } else {
        json = cJSON_PrintUnformatted(v);
        s = json != NULL ? json : "";
    }
    n = strlen(s);
    if (sp->prec >= 0 && (size_t)sp->prec < n)
        n = nz_utf8_cut(s, n, (size_t)sp->prec);
    repr = repr && cJSON_IsString(v);
    if (strchr(sp->flags, '-') == NULL && (size_t)sp->width > n + 2 * (size_t)repr)
        fmt_pad(f, (size_t)sp->width - n - 2 * (size_t)repr);
    if (repr)
        fmt_add(f, "'", 1);
    fmt_add(f, s, n);
    if (repr)
        fmt_add(f, "'", 1);
    if (strchr(sp->flags, '-') != NULL && (size_t)sp->width > n + 2 * (size_t)repr)
        fmt_pad(f, (size_t)sp->width - n - 2 * (size_t)repr);
    cJSON_free(json);
}

/* Numeric conversions go through snprintf with the client's flags, width and precision. */
static void add_number(struct fmt *f, const cJSON *v, const struct spec *sp)
{
    char spec[24], out[512];
    double d = cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? 1 : 0) : v->valuedouble;
    int n;

    if (sp->prec >= 0)
        snprintf(spec, sizeof(spec), "%%%s%d.%d", sp->flags, sp->width, sp->prec);
    else
        snprintf(spec, sizeof(spec), "%%%s%d", sp->flags, sp->width);
    if (strchr("feEgGF", sp->conv) != NULL) {
        size_t k = strlen(spec);

        spec[k] = sp->conv;
        spec[k + 1] = '\0';
        n = snprintf(out, sizeof(out), spec, d);
    } else {
        size_t k = strlen(spec);
        char conv = sp->conv == 'i' || sp->conv == 'u' ? 'd' : sp->conv;

        /* Python truncates toward zero; out-of-range values are clamped
         * instead of invoking undefined behaviour on the cast. */
        long long ll = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : (long long)d;

        spec[k] = 'l';
        spec[k + 1] = 'l';
        spec[k + 2] = conv;
        spec[k + 3] = '\0';
        if (conv == 'd')
            n = snprintf(out, sizeof(out), spec, ll);
        else
            n = snprintf(out, sizeof(out), spec, (unsigned long long)ll);
    }
    if (n > 0)
        fmt_add(f, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

static void add_param(struct fmt *f, const cJSON *v, const struct spec *sp)
{
    int numeric = strchr("sra", sp->conv) == NULL && sp->conv != 'c';

    if (numeric && (cJSON_IsNumber(v) || cJSON_IsBool(v)))
        add_number(f, v, sp);
    else
        add_text(f, v, sp);
}

/*
 * Formats tmpl with params. A spec without a matching parameter is copied
 * as it is, so the reader sees where the value was missing.
 */
static const char *format_template(const char *tmpl, const cJSON *params, int py, size_t max,
                                   struct pool *pool)
{
    struct fmt f = { BUF_INIT(max), 0, py };
    size_t len = strlen(tmpl), i = 0, next = 0;
    const char *res;

    while (i < len && !f.full) {
        const char *pct = memchr(tmpl + i, '%', len - i);
        size_t at = pct != NULL ? (size_t)(pct - tmpl) : len;
        struct spec sp;
        size_t end;
        const cJSON *v;

        fmt_add(&f, tmpl + i, at - i);
        if (at >= len)
            break;
        if (at + 1 < len && tmpl[at + 1] == '%') {
            fmt_add(&f, "%", 1);
            i = at + 2;
            continue;
        }
        end = parse_spec(tmpl, len, at + 1, &sp);
        v = end != 0 ? spec_param(params, &sp, &next) : NULL;
        if (v == NULL) {
            end = end != 0 ? end : at + 1;
            fmt_add(&f, tmpl + at, end - at);
        } else {
            add_param(&f, v, &sp);
        }
        i = end;
    }
    res = nz_strdup(pool, f.out.p, f.out.len, max);
    buf_release(&f.out);
    return res;
}

static int has_params(const cJSON *params)
{
    return (cJSON_IsArray(params) || cJSON_IsObject(params)) && cJSON_GetArraySize(params) > 0;
}

static void logentry(const cJSON *le, struct event *ev, size_t max, struct pool *pool)
{
    const char *tmpl = json_str(le, "message");
    const char *formatted = json_str(le, "formatted");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(le, "params");
    int py = ev->platform != NULL && strcmp(ev->platform, "python") == 0;

    if (formatted != NULL)
        ev->message = nz_strdup(pool, formatted, strlen(formatted), max);
    else if (tmpl != NULL && has_params(params))
        ev->message = format_template(tmpl, params, py, max, pool);
    else if (tmpl != NULL)
        ev->message = nz_strdup(pool, tmpl, strlen(tmpl), max);
    if (tmpl != NULL && ev->message != NULL) {
        const char *t = nz_strdup(pool, tmpl, strlen(tmpl), max);

        if (strcmp(t, ev->message) != 0)
            ev->message_template = t;
    }
}

void nz_message(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                struct pool *pool)
{
    const cJSON *le = json_obj(obj, "logentry");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "message");

    if (le == NULL && cJSON_IsObject(msg))
        le = msg;
    if (le != NULL)
        logentry(le, ev, lim->max_string, pool);
    /* A bare string is logentry.formatted (Relay); it fills in only when
     * the logentry gave nothing. */
    if (ev->message == NULL && cJSON_IsString(msg))
        ev->message = nz_strdup(pool, msg->valuestring, strlen(msg->valuestring), lim->max_string);
}
