/* dsn.c - DSN to endpoint and auth header. */
#include <stdio.h>
#include <string.h>

#include "bilor/bilor.h"
#include "client/dsn.h"
#include "core/banned.h"

static int copy_part(char *out, size_t cap, const char *p, size_t n)
{
    if (n >= cap)
        return BILOR_EINVAL;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int parse_key(struct bc_dsn *d, const char *p, size_t n)
{
    const char *colon = memchr(p, ':', n);
    size_t klen = colon != NULL ? (size_t)(colon - p) : n;

    if (klen == 0)
        return BILOR_EINVAL;
    for (size_t i = 0; i < klen; i++)
        if (!is_word(p[i]))
            return BILOR_EINVAL;
    return copy_part(d->key, sizeof(d->key), p, klen);
}

static int parse_host(struct bc_dsn *d, const char *p, size_t n)
{
    size_t hlen = 0;
    unsigned long port = 0;

    if (n > 0 && p[0] == '[') {
        const char *end = memchr(p, ']', n);

        if (end == NULL)
            return BILOR_EINVAL;
        hlen = (size_t)(end - p) + 1;
    } else {
        while (hlen < n && p[hlen] != ':')
            hlen++;
        for (size_t i = 0; i < hlen; i++)
            if (!is_word(p[i]) && p[i] != '.' && p[i] != '-')
                return BILOR_EINVAL;
    }
    if (hlen == 0 || copy_part(d->host, sizeof(d->host), p, hlen) != 0)
        return BILOR_EINVAL;
    if (hlen == n)
        return 0;
    if (p[hlen] != ':' || hlen + 1 == n || n - hlen - 1 > 5)
        return BILOR_EINVAL;
    for (size_t i = hlen + 1; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return BILOR_EINVAL;
        port = port * 10 + (unsigned long)(p[i] - '0');
    }
    if (port == 0 || port > 65535)
        return BILOR_EINVAL;
    d->port = (unsigned)port;
    return 0;
}

/* path is "/.../ID": prefix keeps the leading and trailing slash. */
static int parse_path(struct bc_dsn *d, const char *p, size_t n)
{
    const char *last;
    size_t id_len;

    if (n < 2 || p[0] != '/')
        return BILOR_EINVAL;
    last = p + n - 1;
    while (last > p && last[-1] != '/')
        last--;
    id_len = (size_t)(p + n - last);
    if (id_len == 0 || (id_len == 1 && last[0] == '0'))
        return BILOR_EINVAL;
    for (size_t i = 0; i < id_len; i++)
        if (last[i] < '0' || last[i] > '9')
            return BILOR_EINVAL;
    if (last[0] == '0' || copy_part(d->project, sizeof(d->project), last, id_len) != 0)
        return BILOR_EINVAL;
    return copy_part(d->prefix, sizeof(d->prefix), p, (size_t)(last - p));
}

static int build_urls(struct bc_dsn *d)
{
    char port[16] = "";
    int n;

    if (d->port != 0)
        snprintf(port, sizeof(port), ":%u", d->port);
    n = snprintf(d->endpoint, sizeof(d->endpoint), "%s://%s%s%sapi/%s/envelope/", d->scheme,
                 d->host, port, d->prefix, d->project);
    if (n < 0 || (size_t)n >= sizeof(d->endpoint))
        return BILOR_EINVAL;
    n = snprintf(d->auth, sizeof(d->auth),
                 "X-Sentry-Auth: Sentry sentry_key=%s, sentry_version=7, sentry_client=%s/%s",
                 d->key, BILOR_SDK_NAME, BILOR_VERSION_STRING);
    if (n < 0 || (size_t)n >= sizeof(d->auth))
        return BILOR_EINVAL;
    return 0;
}

int bc_dsn_parse(struct bc_dsn *d, const char *dsn)
{
    const char *sep, *at, *path, *end;
    size_t len;

    memset(d, 0, sizeof(*d));
    if (dsn == NULL)
        return BILOR_EINVAL;
    len = strcspn(dsn, "?#");
    if (len > BC_DSN_MAX)
        return BILOR_EINVAL;
    end = dsn + len;
    if (strncmp(dsn, "http://", 7) == 0)
        sep = dsn + 4;
    else if (strncmp(dsn, "https://", 8) == 0)
        sep = dsn + 5;
    else
        return BILOR_EINVAL;
    copy_part(d->scheme, sizeof(d->scheme), dsn, (size_t)(sep - dsn));
    sep += 3;
    at = memchr(sep, '@', (size_t)(end - sep));
    if (at == NULL || parse_key(d, sep, (size_t)(at - sep)) != 0)
        return BILOR_EINVAL;
    path = memchr(at + 1, '/', (size_t)(end - at - 1));
    if (path == NULL || parse_host(d, at + 1, (size_t)(path - at - 1)) != 0 ||
        parse_path(d, path, (size_t)(end - path)) != 0)
        return BILOR_EINVAL;
    return build_urls(d);
}
