/*
 * The route table: every URL Bilor answers, in one place. The last field is
 * the largest body a route takes: 0 takes none, so a GET or a preflight with
 * a body is refused on its headers (413).
 */
#include <string.h>

#include "api/api.h"
#include "ingest/grouprules.h"
#include "core/banned.h"

/*
 * First match wins, so a prefix route (a pattern ending in "*") goes after
 * the exact routes it would shadow. New endpoints are one row each.
 */
static const struct route routes[] = {
    /* Sentry doors (protocols.md §1.2); the trailing slash is optional for old clients. */
    { BL_POST, "/api/{}/store/", DOOR_STORE, ROUTE_CORS | ROUTE_SLASH_OPT, api_ingest_early,
      api_store, ROUTE_BODY_MAX },
    { BL_POST, "/api/{}/envelope/", DOOR_ENVELOPE, ROUTE_CORS | ROUTE_SLASH_OPT, api_ingest_early,
      api_envelope, ROUTE_BODY_MAX },
    { BL_OPTIONS, "/api/{}/store/", DOOR_STORE, ROUTE_CORS | ROUTE_SLASH_OPT, NULL,
      api_cors_preflight, 0 },
    { BL_OPTIONS, "/api/{}/envelope/", DOOR_ENVELOPE, ROUTE_CORS | ROUTE_SLASH_OPT, NULL,
      api_cors_preflight, 0 },
    /* JSON lines */
    { BL_POST, "/api/{}/logs", DOOR_LOGS, ROUTE_CORS | ROUTE_SLASH_OPT, api_ingest_early,
      api_logs_ingest, ROUTE_BODY_MAX },
    { BL_OPTIONS, "/api/{}/logs", DOOR_LOGS, ROUTE_CORS | ROUTE_SLASH_OPT, NULL, api_cors_preflight,
      0 },
    /* Elasticsearch API (api_es.c, protocols.md §5): probes answer without a body limit of their own */
    { BL_GET, "/es", DOOR_LOGS, 0, api_es_early, api_es, 0 },
    { BL_GET, "/es/*", DOOR_LOGS, 0, api_es_early, api_es, 0 },
    { BL_POST, "/es/*", DOOR_LOGS, 0, api_es_early, api_es, ROUTE_BODY_MAX },
    { BL_PUT, "/es/*", DOOR_LOGS, 0, api_es_early, api_es, ROUTE_BODY_MAX },
    /* OTLP/HTTP logs (api_otlp.c, protocols.md §6): the key's project, or the path's */
    { BL_POST, "/v1/logs", DOOR_LOGS, ROUTE_SLASH_OPT, api_otlp_early, api_otlp, ROUTE_BODY_MAX },
    { BL_POST, "/api/{}/otlp/v1/logs", DOOR_LOGS, ROUTE_SLASH_OPT, api_otlp_early, api_otlp,
      ROUTE_BODY_MAX },
    /* GELF over HTTP (api_gelf.c, protocols.md §3.4) */
    { BL_POST, "/gelf", DOOR_LOGS, ROUTE_CORS | ROUTE_SLASH_OPT, api_gelf_early, api_gelf,
      ROUTE_BODY_MAX },
    { BL_POST, "/api/{}/gelf", DOOR_LOGS, ROUTE_CORS | ROUTE_SLASH_OPT, api_gelf_early, api_gelf,
      ROUTE_BODY_MAX },
    /* The original Bilor API (api_v1.c, protocols.md §7): closed unless --v1-api */
    { BL_POST, "/api/v1/message/", DOOR_LOGS, ROUTE_SLASH_OPT, api_v1_early, api_v1,
      ROUTE_BODY_MAX },
    { BL_GET, "/api/v1/message/", DOOR_LOGS, ROUTE_SLASH_OPT, NULL, api_v1_get, 0 },
    /* REST API (docs/api.md) */
    { BL_GET, "/api/0/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_index, 0 },
    { BL_GET, "/api/0/projects/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_projects_list,
      0 },
    { BL_GET, "/api/0/projects/{}/issues/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_issues_list, 0 },
    { BL_GET, "/api/0/projects/{}/environments/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_project_environments, 0 },
    { BL_GET, "/api/0/projects/{}/releases/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_project_releases, 0 },
    /* search (api_search.c): before events/{id}/, which would take "histogram" as an id */
    { BL_GET, "/api/0/projects/{}/events/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_events_list, 0 },
    { BL_GET, "/api/0/projects/{}/events/histogram/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_events_histogram, 0 },
    { BL_GET, "/api/0/projects/{}/events/facets/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_events_facets, 0 },
    { BL_GET, "/api/0/projects/{}/logs/histogram/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_logs_histogram, 0 },
    { BL_GET, "/api/0/projects/{}/logs/facets/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_logs_facets, 0 },
    { BL_GET, "/api/0/projects/{}/logs/context/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_logs_context, 0 },
    /* retention (api_retention.c) */
    { BL_PUT, "/api/0/projects/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_project_put,
      64 * 1024 },
    { BL_GET, "/api/0/projects/{}/storage/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_project_storage, 0 },
    { BL_GET, "/api/0/projects/{}/logs/tail/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_logs_tail, 0 },
    { BL_GET, "/api/0/projects/{}/events/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_event_get, 0 },
    { BL_GET, "/api/0/projects/{}/logs/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_logs_list,
      0 },
    { BL_GET, "/api/0/projects/{}/grouping/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_grouping_get, 0 },
    { BL_PUT, "/api/0/projects/{}/grouping/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_grouping_put, 2 * GRULES_MAX_TEXT + 1024 },
    { BL_GET, "/api/0/issues/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_issue_get, 0 },
    { BL_PUT, "/api/0/issues/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_issue_put,
      64 * 1024 },
    { BL_GET, "/api/0/issues/{}/events/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_issue_events, 0 },
    /* envelope items kept beside events (api_items.c) */
    { BL_GET, "/api/0/projects/{}/events/{}/attachments/", DOOR_API, ROUTE_SLASH_OPT,
      api_token_early, api_event_attachments, 0 },
    { BL_GET, "/api/0/projects/{}/events/{}/attachments/{}/", DOOR_API, ROUTE_SLASH_OPT,
      api_token_early, api_event_attachment_get, 0 },
    { BL_GET, "/api/0/projects/{}/feedback/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_project_feedback, 0 },
    { BL_GET, "/api/0/issues/{}/feedback/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_issue_feedback, 0 },
    { BL_GET, "/api/0/projects/{}/stats/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_project_item_stats, 0 },
    /* DSN keys and project ingest settings (api_keys.c) */
    { BL_GET, "/api/0/projects/{}/keys/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_keys_list,
      0 },
    { BL_POST, "/api/0/projects/{}/keys/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_keys_add,
      16 * 1024 },
    { BL_PUT, "/api/0/projects/{}/keys/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_keys_put, 16 * 1024 },
    { BL_DELETE, "/api/0/projects/{}/keys/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_keys_delete, 0 },
    { BL_GET, "/api/0/projects/{}/settings/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_settings_get, 0 },
    { BL_PUT, "/api/0/projects/{}/settings/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_settings_put, 16 * 1024 },
    /* access: sign-in, projects and members, tokens (api_auth.c, api_projects.c, api_tokens.c) */
    { BL_POST, "/api/0/auth/login/", DOOR_API, ROUTE_SLASH_OPT, NULL, api_auth_login, 16 * 1024 },
    { BL_POST, "/api/0/auth/logout/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_auth_logout,
      1024 },
    { BL_GET, "/api/0/auth/me/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_auth_me, 0 },
    { BL_POST, "/api/0/auth/password/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_auth_password, 16 * 1024 },
    { BL_POST, "/api/0/projects/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_project_create,
      64 * 1024 },
    { BL_GET, "/api/0/projects/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_project_get,
      0 },
    { BL_GET, "/api/0/projects/{}/members/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_members_list, 0 },
    { BL_POST, "/api/0/projects/{}/members/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_member_add, 64 * 1024 },
    { BL_PUT, "/api/0/projects/{}/members/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_member_put, 64 * 1024 },
    { BL_DELETE, "/api/0/projects/{}/members/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early,
      api_member_delete, 0 },
    { BL_GET, "/api/0/users/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_users_list, 0 },
    { BL_POST, "/api/0/users/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_user_create,
      64 * 1024 },
    { BL_PUT, "/api/0/users/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_user_put,
      64 * 1024 },
    { BL_GET, "/api/0/tokens/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_tokens_list, 0 },
    { BL_POST, "/api/0/tokens/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_token_create,
      64 * 1024 },
    { BL_DELETE, "/api/0/tokens/{}/", DOOR_API, ROUTE_SLASH_OPT, api_token_early, api_token_delete,
      0 },
    /* operations */
    { BL_GET, "/healthz", DOOR_OPS, 0, NULL, api_healthz, 0 },
    { BL_GET, "/readyz", DOOR_OPS, 0, NULL, api_readyz, 0 },
    { BL_GET, "/metrics", DOOR_OPS, 0, NULL, api_metrics, 0 },
    /* the web UI (api_ui.c): public files; every datum comes from the REST API */
    { BL_GET, "/", DOOR_OTHER, 0, NULL, api_ui_index, 0 },
    { BL_GET, "/ui/*", DOOR_OTHER, 0, NULL, api_ui_asset, 0 },
};

/* Matches path against pattern; {} takes one non-empty segment, a final * the rest. */
static int match(const char *pattern, const char *path, int slash_opt, struct slice *params,
                 size_t *nparams)
{
    const char *p = pattern, *s = path;

    *nparams = 0;
    while (*p != '\0') {
        if (p[0] == '*' && p[1] == '\0') {
            if (*nparams >= REQ_MAX_PARAMS)
                return 0;
            params[(*nparams)++] = (struct slice){ s, strlen(s) };
            return 1;
        }
        if (p[0] == '{' && p[1] == '}') {
            const char *start = s;

            while (*s != '\0' && *s != '/')
                s++;
            if (s == start || *nparams >= REQ_MAX_PARAMS)
                return 0;
            params[(*nparams)++] = (struct slice){ start, (size_t)(s - start) };
            p += 2;
            continue;
        }
        if (*s != *p) {
            /* "/api/1/store" matches "/api/{}/store/" when the slash is optional. */
            return slash_opt && *s == '\0' && p[0] == '/' && p[1] == '\0';
        }
        p++;
        s++;
    }
    return *s == '\0';
}

const struct route *api_route(struct bl_req *req, int *status)
{
    return api_route_in(routes, sizeof(routes) / sizeof(routes[0]), req, status);
}

const struct route *api_route_in(const struct route *table, size_t n_routes, struct bl_req *req,
                                 int *status)
{
    int path_found = 0;

    for (size_t i = 0; i < n_routes; i++) {
        const struct route *r = &table[i];
        size_t n;

        if (!match(r->pattern, req->path, (r->flags & ROUTE_SLASH_OPT) != 0, req->params, &n))
            continue;
        path_found = 1;
        if (r->method != req->method && !(r->method == BL_GET && req->method == BL_HEAD))
            continue;
        req->nparams = n;
        req->route = r;
        return r;
    }
    *status = path_found ? 405 : 404;
    return NULL;
}
