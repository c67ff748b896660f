/* transport.c - envelope POST over libcurl. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bilor/bilor.h"
#include "client/buf.h"
#include "client/transport.h"
#include "core/banned.h"

struct bc_transport {
    const struct bilor_allocator *a;
    CURL *curl;
    struct curl_slist *headers;
    atomic_int *abort_flag;
    struct bc_response *res; /* the answer being read */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static void header_value(char *out, size_t cap, const char *v, size_t n)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct bc_transport *t = ud;
    size_t len = size * n;
    const char *colon = memchr(p, ':', len);
    size_t name;

    if (colon == NULL)
        return len;
    name = (size_t)(colon - p);
    if (name == 11 && strncasecmp(p, "retry-after", 11) == 0)
        header_value(t->res->retry_after, sizeof(t->res->retry_after), colon + 1, len - name - 1);
    else if (name == 20 && strncasecmp(p, "x-sentry-rate-limits", 20) == 0)
        header_value(t->res->rate_limits, sizeof(t->res->rate_limits), colon + 1, len - name - 1);
    return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct bc_transport *t = ud;

    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return atomic_load(t->abort_flag) ? 1 : 0;
}

static int add_header(struct bc_transport *t, const char *h)
{
    struct curl_slist *l = curl_slist_append(t->headers, h);

    if (l == NULL)
        return BILOR_ENOMEM;
    t->headers = l;
    return 0;
}

static int set_options(struct bc_transport *t, const struct bc_dsn *dsn, unsigned timeout_ms)
{
    CURL *c = t->curl;
    CURLcode e = CURLE_OK;

    e = e ? e : curl_easy_setopt(c, CURLOPT_URL, dsn->endpoint);
    e = e ? e : curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    e = e ? e : curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    e = e ? e : curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    e = e ? e : curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    e = e ? e : curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
    e = e ? e : curl_easy_setopt(c, CURLOPT_USERAGENT, BILOR_SDK_NAME "/" BILOR_VERSION_STRING);
    e = e ? e : curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    e = e ? e : curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    e = e ? e : curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    e = e ? e : curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    e = e ? e : curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    e = e ? e : curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    e = e ? e : curl_easy_setopt(c, CURLOPT_POST, 1L);
    return e == CURLE_OK ? 0 : (e == CURLE_OUT_OF_MEMORY ? BILOR_ENOMEM : BILOR_EINVAL);
}

int bc_transport_new(struct bc_transport **out, const struct bilor_allocator *a,
                     const struct bc_dsn *dsn, unsigned timeout_ms, atomic_int *abort_flag)
{
    struct bc_transport *t = bc_malloc(a, sizeof(*t));
    int rc;

    *out = NULL;
    if (t == NULL)
        return BILOR_ENOMEM;
    memset(t, 0, sizeof(*t));
    t->a = a;
    t->abort_flag = abort_flag;
    t->curl = curl_easy_init();
    rc = t->curl == NULL ? BILOR_ENOMEM : 0;
    rc = rc ? rc : add_header(t, dsn->auth);
    rc = rc ? rc : add_header(t, "Content-Type: application/x-sentry-envelope");
    rc = rc ? rc : add_header(t, "Expect:");
    rc = rc ? rc : set_options(t, dsn, timeout_ms);
    if (rc != 0) {
        bc_transport_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void bc_transport_free(struct bc_transport *t)
{
    if (t == NULL)
        return;
    if (t->curl != NULL)
        curl_easy_cleanup(t->curl);
    curl_slist_free_all(t->headers);
    bc_free(t->a, t);
}

int bc_transport_send(struct bc_transport *t, const char *body, size_t len, struct bc_response *res)
{
    CURLcode e;
    long status = 0;

    memset(res, 0, sizeof(*res));
    t->res = res;
    curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    e = curl_easy_perform(t->curl);
    t->res = NULL;
    if (e != CURLE_OK) {
        snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(e));
        return BILOR_EIO;
    }
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    res->status = (int)status;
    return 0;
}
