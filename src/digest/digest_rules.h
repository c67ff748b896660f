/*
 * digest_rules.h - private to the digest: each decode thread's cache of
 * the projects' grouping rules (store_grouping, ingest/grouprules.h) and
 * issue levels (which events need grouping at all). The writer keeps one
 * too, for the events it must group itself.
 */
#ifndef BL_DIGEST_RULES_H
#define BL_DIGEST_RULES_H

#include <stdint.h>

#include "ingest/fingerprint.h"
#include "ingest/grouprules.h"
#include "store/store.h"

#define DIGEST_RULES_CACHE 64
/* Like the writer's project cache: an edit through the API applies within this time. */
#define DIGEST_RULES_TTL_US (10 * INT64_C(1000000))

struct digest_rules_slot {
    int64_t project_id; /* 0: empty */
    int64_t fetched_at;
    struct grules fp, stack;
    struct fingerprint_rules rules;
    int has;         /* the project has rules (version > 0 and a text that parsed) */
    int issue_level; /* the project's, 0 when the store could not say */
};

struct digest_rules {
    struct digest_rules_slot slots[DIGEST_RULES_CACHE];
};

/* The project's rules, or NULL when it has none; reloaded after the TTL. */
const struct fingerprint_rules *digest_rules_get(struct digest_rules *c, struct store *st,
                                                 int64_t project_id, int64_t now);
/* The project's issue level (store_project), 0 when unknown; cached with its rules. */
int digest_rules_issue_level(struct digest_rules *c, struct store *st, int64_t project_id,
                             int64_t now);
void digest_rules_free(struct digest_rules *c);

#endif
