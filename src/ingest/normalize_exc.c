/*
 * normalize_exc.c - the exception chain of a Sentry event and its frames.
 *
 * "exception" is {"values":[...]}, a bare array, or (older SDKs) a single
 * exception object, oldest cause first, the last entry being the exception
 * that was raised. An event without one may carry a top-level "stacktrace"
 * or "threads" (the crashing thread's stack is the one that matters), and
 * Django-style template errors a "template" interface. Frames are ordered caller
 * to callee. Only object entries count; anything else in those arrays is
 * ignored, and normalize_src.c relies on the very same filtering to match
 * its frames with the ones kept here.
 */
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/json.h"
#include "core/banned.h"

const cJSON *nz_exc_single(const cJSON *obj)
{
    const cJSON *exc = cJSON_GetObjectItemCaseSensitive(obj, "exception");

    if (!cJSON_IsObject(exc) || cJSON_GetObjectItemCaseSensitive(exc, "values") != NULL)
        return NULL;
    if (json_str(exc, "type") != NULL || json_str(exc, "value") != NULL ||
        json_obj(exc, "stacktrace") != NULL)
        return exc;
    return NULL;
}

const cJSON *nz_exc_list(const cJSON *obj)
{
    const cJSON *exc = cJSON_GetObjectItemCaseSensitive(obj, "exception");

    if (cJSON_IsObject(exc))
        exc = json_arr(exc, "values");
    return cJSON_IsArray(exc) ? exc : NULL;
}

size_t nz_count_objects(const cJSON *arr)
{
    const cJSON *it;
    size_t n = 0;

    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsObject(it))
            n++;
    }
    return n;
}

static const cJSON *stack_frames(const cJSON *holder)
{
    const cJSON *st = json_obj(holder, "stacktrace");
    const cJSON *frames = st != NULL ? json_arr(st, "frames") : NULL;

    return frames != NULL && nz_count_objects(frames) > 0 ? frames : NULL;
}

/*
 * The thread whose stack matters: the one marked crashed, else the one
 * marked current, else the only thread with a stack trace; its frames, or
 * NULL.
 */
static const cJSON *thread_frames(const cJSON *obj)
{
    static const char *const marks[] = { "crashed", "current", NULL };
    const cJSON *threads = cJSON_GetObjectItemCaseSensitive(obj, "threads");
    const cJSON *it, *found = NULL;
    size_t n = 0;

    if (cJSON_IsObject(threads))
        threads = json_arr(threads, "values");
    if (!cJSON_IsArray(threads))
        return NULL;
    for (size_t m = 0; marks[m] != NULL; m++) {
        cJSON_ArrayForEach(it, threads)
        {
            const cJSON *frames = cJSON_IsObject(it) ? stack_frames(it) : NULL;

            if (frames != NULL && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, marks[m])))
                return frames;
        }
    }
    cJSON_ArrayForEach(it, threads)
    {
        const cJSON *frames = cJSON_IsObject(it) ? stack_frames(it) : NULL;

        if (frames != NULL) {
            found = frames;
            n++;
        }
    }
    return n == 1 ? found : NULL;
}

const cJSON *nz_event_frames(const cJSON *obj)
{
    const cJSON *frames = stack_frames(obj);

    return frames != NULL ? frames : thread_frames(obj);
}

const cJSON *nz_exc_frames(const cJSON *obj, const cJSON *exc, int primary)
{
    const cJSON *frames = stack_frames(exc);

    if (frames != NULL || !primary)
        return frames;
    return thread_frames(obj);
}

int nz_frame_kept(size_t idx, size_t nvalid, size_t nkept)
{
    size_t head = nkept / 2;
    size_t tail = nkept - head;

    if (nkept >= nvalid)
        return 1;
    return idx < head || idx >= nvalid - tail;
}

/* A number member as a line or column: 0 unless it is a number in [0, 2^31). */
static int int_of(const cJSON *v)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 2147483647.0)
        return 0;
    return (int)v->valuedouble;
}

static int tristate_of(const cJSON *v)
{
    if (!cJSON_IsBool(v))
        return -1;
    return cJSON_IsTrue(v) ? 1 : 0;
}

static const char *str_of(const cJSON *v, struct pool *pool, size_t max)
{
    return cJSON_IsString(v) ? nz_strdup(pool, v->valuestring, strlen(v->valuestring), max) : NULL;
}

static int json_tristate(const cJSON *obj, const char *key)
{
    return tristate_of(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* The members of a frame that fill_frame reads. */
enum frame_key {
    FK_FUNCTION,
    FK_RAW_FUNCTION,
    FK_MODULE,
    FK_PACKAGE,
    FK_FILENAME,
    FK_ABS_PATH,
    FK_CONTEXT_LINE,
    FK_LINENO,
    FK_COLNO,
    FK_IN_APP,
    FK_DATA,
    FK_N
};

static const char *const frame_keys[FK_N] = { "function", "raw_function", "module",       "package",
                                              "filename", "abs_path",     "context_line", "lineno",
                                              "colno",    "in_app",       "data" };

/* Which of frame_keys key is, by its first byte and then one compare or two; FK_N if none. */
static enum frame_key frame_key_of(const char *key)
{
    enum frame_key a = FK_N, b = FK_N;

    switch (key[0]) {
    case 'f':
        a = FK_FUNCTION, b = FK_FILENAME;
        break;
    case 'r':
        a = FK_RAW_FUNCTION;
        break;
    case 'm':
        a = FK_MODULE;
        break;
    case 'p':
        a = FK_PACKAGE;
        break;
    case 'a':
        a = FK_ABS_PATH;
        break;
    case 'c':
        a = FK_CONTEXT_LINE, b = FK_COLNO;
        break;
    case 'l':
        a = FK_LINENO;
        break;
    case 'i':
        a = FK_IN_APP;
        break;
    case 'd':
        a = FK_DATA;
        break;
    default:
        return FK_N;
    }
    if (a != FK_N && strcmp(key, frame_keys[a]) == 0)
        return a;
    if (b != FK_N && strcmp(key, frame_keys[b]) == 0)
        return b;
    return FK_N;
}

/*
 * One pass over the frame's members instead of a lookup per field (each a
 * walk of the members with strcmp: a tenth of normalizing a 9 KB event). The
 * first member of a name counts, as cJSON_GetObjectItemCaseSensitive has it.
 */
static void fill_frame(const cJSON *f, struct ev_frame *fr, size_t max, struct pool *pool)
{
    const cJSON *m[FK_N] = { 0 }, *c;

    cJSON_ArrayForEach(c, f)
    {
        enum frame_key k = c->string != NULL ? frame_key_of(c->string) : FK_N;

        if (k != FK_N && m[k] == NULL)
            m[k] = c;
    }
    fr->function = str_of(m[FK_FUNCTION], pool, max);
    if (fr->function == NULL)
        fr->function = str_of(m[FK_RAW_FUNCTION], pool, max);
    fr->module = str_of(m[FK_MODULE], pool, max);
    fr->package = str_of(m[FK_PACKAGE], pool, max);
    fr->filename = str_of(m[FK_FILENAME], pool, max);
    fr->abs_path = str_of(m[FK_ABS_PATH], pool, max);
    fr->context_line = str_of(m[FK_CONTEXT_LINE], pool, max);
    fr->lineno = int_of(m[FK_LINENO]);
    fr->colno = int_of(m[FK_COLNO]);
    fr->in_app = tristate_of(m[FK_IN_APP]);
    fr->sourcemapped = cJSON_IsObject(m[FK_DATA]) && json_str(m[FK_DATA], "sourcemap") != NULL;
}

static void fill_frames(const cJSON *frames, struct ev_exception *x,
                        const struct ingest_limits *lim, struct pool *pool)
{
    size_t nvalid = nz_count_objects(frames);
    size_t nkept = nvalid < lim->max_frames ? nvalid : lim->max_frames;
    size_t idx = 0;
    const cJSON *it;

    if (nkept == 0)
        return;
    x->frames = pool_calloc(pool, nkept, sizeof(*x->frames));
    cJSON_ArrayForEach(it, frames)
    {
        if (!cJSON_IsObject(it))
            continue;
        if (nz_frame_kept(idx++, nvalid, nkept) && x->nframes < nkept)
            fill_frame(it, &x->frames[x->nframes++], lim->max_string, pool);
    }
}

static void fill_exception(const cJSON *obj, const cJSON *exc, int primary, struct ev_exception *x,
                           const struct ingest_limits *lim, struct pool *pool)
{
    const cJSON *mech = json_obj(exc, "mechanism");

    x->type = nz_str(exc, "type", pool, lim->max_string);
    x->value = nz_scalar(cJSON_GetObjectItemCaseSensitive(exc, "value"), pool, lim->max_string);
    x->module = nz_str(exc, "module", pool, lim->max_string);
    x->handled = -1;
    if (mech != NULL) {
        x->mechanism = nz_str(mech, "type", pool, lim->max_string);
        x->handled = json_tristate(mech, "handled");
        x->synthetic = json_tristate(mech, "synthetic") == 1;
    }
    fill_frames(nz_exc_frames(obj, exc, primary), x, lim, pool);
}

/* The stack of an event without exceptions, and its template; both group it. */
static void event_stack(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                        struct pool *pool)
{
    const cJSON *tpl = json_obj(obj, "template");
    struct ev_exception holder = { 0 };

    fill_frames(nz_event_frames(obj), &holder, lim, pool);
    ev->frames = holder.frames;
    ev->nframes = holder.nframes;
    if (tpl != NULL && (json_str(tpl, "filename") != NULL || json_str(tpl, "abs_path") != NULL ||
                        json_str(tpl, "context_line") != NULL)) {
        ev->template_frame = pool_calloc(pool, 1, sizeof(*ev->template_frame));
        fill_frame(tpl, ev->template_frame, lim->max_string, pool);
        ev->template_frame->in_app = 1;
    }
}

void nz_exceptions(const cJSON *obj, struct event *ev, const struct ingest_limits *lim,
                   struct pool *pool)
{
    const cJSON *single = nz_exc_single(obj);
    const cJSON *list = nz_exc_list(obj);
    size_t nvalid = list != NULL ? nz_count_objects(list) : 0;
    size_t nkeep = nvalid < NZ_MAX_EXCEPTIONS ? nvalid : NZ_MAX_EXCEPTIONS;
    size_t idx = 0;
    const cJSON *it;

    if (single != NULL) {
        ev->exc = pool_calloc(pool, 1, sizeof(*ev->exc));
        fill_exception(obj, single, 1, &ev->exc[ev->nexc++], lim, pool);
        return;
    }
    if (nkeep == 0) {
        event_stack(obj, ev, lim, pool);
        return;
    }
    ev->exc = pool_calloc(pool, nkeep, sizeof(*ev->exc));
    cJSON_ArrayForEach(it, list)
    {
        if (!cJSON_IsObject(it))
            continue;
        /* An overlong chain loses its oldest causes; the primary stays. */
        if (idx++ < nvalid - nkeep)
            continue;
        fill_exception(obj, it, idx == nvalid, &ev->exc[ev->nexc++], lim, pool);
    }
}
