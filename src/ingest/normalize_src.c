/*
 * normalize_src.c - where the client's object holds what the event model
 * does not keep.
 *
 * The store keeps only the raw payload, so the API (api/api_event_doc.c)
 * rebuilds the event on every read and shows, beside the model's fields, the
 * free-form parts the client sent: contexts, request, frame vars and source
 * context, mechanisms, breadcrumbs, log attributes. Which client object a
 * model exception or frame came from is decided by walking the object again
 * with the normalizer's own filtering and trimming rules (normalize_int.h),
 * so those rules stay in this module and the API owns only the shape. A
 * mismatch can only drop the extras, never read out of bounds.
 */
#include <string.h>

#include "ingest/normalize.h"
#include "ingest/normalize_int.h"
#include "core/json.h"
#include "core/banned.h"

/* Whether the exception list of obj is the one ev's chain was built from. */
static const cJSON *exc_list(const struct event *ev, const cJSON *obj, size_t *nvalid)
{
    const cJSON *list;

    if (ev->source != EV_SRC_SENTRY || !cJSON_IsObject(obj))
        return NULL;
    list = nz_exc_list(obj);
    *nvalid = list != NULL ? nz_count_objects(list) : 0;
    return list != NULL && *nvalid >= ev->nexc ? list : NULL;
}

const cJSON *normalize_src_exception(const struct event *ev, const cJSON *obj, size_t k)
{
    size_t nvalid = 0, idx = 0;
    const cJSON *list = exc_list(ev, obj, &nvalid), *it;

    if (k == 0 && ev->nexc == 1 && ev->source == EV_SRC_SENTRY && cJSON_IsObject(obj) &&
        nz_exc_single(obj) != NULL)
        return nz_exc_single(obj);
    if (list == NULL || k >= ev->nexc)
        return NULL;
    /* The chain keeps the newest nexc of the valid entries. */
    cJSON_ArrayForEach(it, list)
    {
        if (!cJSON_IsObject(it))
            continue;
        if (idx++ == nvalid - ev->nexc + k)
            return it;
    }
    return NULL;
}

void normalize_src_frames(const struct event *ev, const cJSON *obj, size_t k, const cJSON **out)
{
    const struct ev_exception *x = &ev->exc[k];
    const cJSON *exc = normalize_src_exception(ev, obj, k), *frames = NULL, *it;
    size_t nvalid = 0, idx = 0, f = 0;

    for (size_t i = 0; i < x->nframes; i++)
        out[i] = NULL;
    if (exc != NULL)
        frames = nz_exc_frames(obj, exc, k + 1 == ev->nexc);
    nvalid = frames != NULL ? nz_count_objects(frames) : 0;
    if (frames == NULL || nvalid < x->nframes)
        return; /* not the object the event came from: no extras */
    cJSON_ArrayForEach(it, frames)
    {
        if (!cJSON_IsObject(it))
            continue;
        if (nz_frame_kept(idx++, nvalid, x->nframes) && f < x->nframes)
            out[f++] = it;
    }
}

const cJSON *normalize_src_breadcrumbs(const cJSON *obj, size_t *skip)
{
    const cJSON *bc = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "breadcrumbs")
                                          : NULL;
    size_t n;

    *skip = 0;
    if (cJSON_IsObject(bc))
        bc = json_arr(bc, "values");
    if (!cJSON_IsArray(bc))
        return NULL;
    /* Only the newest ones: they lead up to the event. */
    n = nz_count_objects(bc);
    *skip = n > NZ_MAX_BREADCRUMBS ? n - NZ_MAX_BREADCRUMBS : 0;
    return bc;
}

int normalize_src_attribute(const cJSON *obj, const cJSON *member)
{
    return cJSON_IsObject(obj) && member->string != NULL && !nz_log_consumed(obj, member);
}
