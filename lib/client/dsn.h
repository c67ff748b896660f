/*
 * dsn.h - Sentry DSN parsing (protocols.md §1.1).
 *
 * "{scheme}://{public_key}[:{secret}]@{host}[:{port}]{/prefix}/{project_id}"
 * gives the envelope endpoint "{scheme}://{host}[:{port}]{prefix}/api/
 * {project_id}/envelope/" and the X-Sentry-Auth header. The rules are the
 * strictest of the Sentry SDKs', so a DSN accepted here works everywhere:
 * scheme http or https, a key of [A-Za-z0-9_], a numeric project id as
 * the last path segment; a query or fragment is ignored.
 */
#ifndef BC_DSN_H
#define BC_DSN_H

#define BC_DSN_MAX 1024

struct bc_dsn {
    char scheme[8];
    char key[128];
    char host[256];   /* as written, brackets of an IPv6 literal kept */
    unsigned port;    /* 0 when the DSN names none */
    char prefix[512]; /* path before the project id, starts and ends with '/' */
    char project[24];
    char endpoint[BC_DSN_MAX + 64];
    char auth[256]; /* the whole "X-Sentry-Auth: ..." header line */
};

/* Parses dsn into d. Returns 0 or BILOR_EINVAL. */
int bc_dsn_parse(struct bc_dsn *d, const char *dsn);

#endif
