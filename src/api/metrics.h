/*
 * metrics.h - /metrics in the Prometheus text format, and the HTTP side of
 * the counters.
 *
 * The counters live in the door layer's registry (door/metrics.h); this
 * module names and prints them, counts HTTP requests there by route label
 * and status, and reads journal and digest numbers from those modules at
 * render time.
 */
#ifndef BL_API_METRICS_H
#define BL_API_METRICS_H

#include "api/api.h"
#include "core/buf.h"
#include "door/metrics.h"

/* Counts one HTTP answer of a route labelled door (enum route_label). */
void metrics_request(struct metrics *m, int door, int status);
/* Appends the whole exposition (our counters + journal + digest) to out. */
int metrics_render(const struct app *app, struct buf *out);

#endif
