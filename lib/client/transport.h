/*
 * transport.h - one HTTP POST of an envelope with libcurl.
 *
 * One easy handle per client, used only by its sender thread, so the
 * connection is kept alive between requests. No signals (CURLOPT_NOSIGNAL),
 * no redirects, http and https only, a total timeout per request, and a
 * progress callback that aborts the transfer as soon as *abort_flag is set
 * (bilor_free() must not wait for a slow server).
 */
#ifndef BC_TRANSPORT_H
#define BC_TRANSPORT_H

#include <stdatomic.h>
#include <stddef.h>

#include "client/dsn.h"

struct bc_transport;

struct bc_response {
    int status;           /* HTTP status; 0 when no answer came */
    char retry_after[64]; /* header values, "" when absent */
    char rate_limits[512];
    char error[256]; /* why there was no answer */
};

/* 0, BILOR_ENOMEM. */
int bc_transport_new(struct bc_transport **out, const struct bilor_allocator *a,
                     const struct bc_dsn *dsn, unsigned timeout_ms, atomic_int *abort_flag);
void bc_transport_free(struct bc_transport *t);

/* POSTs body; fills res. Returns 0 when an HTTP answer came, BILOR_EIO otherwise. */
int bc_transport_send(struct bc_transport *t, const char *body, size_t len,
                      struct bc_response *res);

#endif
