/*
 * item.h - what a Sentry envelope carries besides events (issue 6 §5).
 *
 * The digest turns envelope items that are not events into these records
 * (ingest/sentry_items.c) and the store keeps them (store_write_items).
 * Like struct event, an item lives in the digest batch's pool: pointers are
 * borrowed from it and NULL when the client did not send the field.
 *
 * Log items are not here: each Sentry log entry becomes an ordinary log
 * event (struct event), searchable like a JSON line.
 */
#ifndef BL_ITEM_H
#define BL_ITEM_H

#include <stddef.h>
#include <stdint.h>

enum item_kind {
    ITEM_ATTACHMENT = 1, /* a file kept with its event */
    ITEM_FEEDBACK,       /* user feedback: `feedback` event items and `user_report` */
    ITEM_CLIENT_REPORT,  /* one discarded-events line of an SDK's client report */
    ITEM_RECEIVED,       /* items accepted but not stored (transactions, sessions, ...) */
};

struct item {
    int kind; /* enum item_kind */
    int64_t project_id;
    uint64_t lsn;        /* journal record it came from */
    uint32_t seq;        /* position inside that record (unique per kind) */
    int64_t received_at; /* µs */
    char event_id[33];   /* attachment: its event; feedback: the event it is about, or "" */

    /* ITEM_ATTACHMENT */
    const char *filename;
    const char *content_type;
    const char *attachment_type; /* "event.attachment", "event.minidump", ... */
    const void *data;
    size_t len;

    /* ITEM_FEEDBACK */
    const char *name;
    const char *email;
    const char *message;
    const char *url;
    char feedback_id[33]; /* the feedback's own id (feedback events), else "" */

    /* ITEM_CLIENT_REPORT: reason + category; ITEM_RECEIVED: type in category */
    const char *reason;
    const char *category;
    int64_t quantity;
};

#endif
