/*
 * grouprules.h - grouping rules in Sentry's text syntax (protocols.md §2).
 *
 * Two kinds, one line each, '#' starts a comment:
 *
 *   fingerprint rules   MATCHER... -> VALUE[, VALUE...] [title="..."]
 *       error.type:ChunkLoadError -> chunkloaderror
 *       message:"*timed out*" tags.region:eu-* -> timeout, {{ tags.region }}
 *   stack-trace rules   MATCHER... ACTION...
 *       stack.module:vendor.** -app
 *       family:javascript stack.abs_path:**node_modules* -app -group
 *
 * A matcher is [!]NAME:PATTERN; PATTERN is a glob ('*' any run without
 * '/', '**' any run, '?' one character), case-insensitive, optionally
 * "quoted" (with \" and \\ escapes) so it may hold spaces. Names: error.type
 * (type), error.value (value), error.mechanism, message, logger, level,
 * release, tags.NAME, stack.function (function), stack.module (module),
 * stack.abs_path (path), stack.package (package), family, app (yes/no).
 * Actions: +app -app +group -group. Frame matchers in a fingerprint rule
 * match when any frame matches; in a stack-trace rule they test the frame
 * the rule is applied to.
 *
 * The built-in rules Bilor applies to every project (Sentry's defaults for
 * well-known runtime frames and noisy errors) are written in this syntax
 * in grouprules_builtin.c, one table each.
 */
#ifndef BL_GROUPRULES_H
#define BL_GROUPRULES_H

#include <stddef.h>

#include "core/event.h"

#define GRULES_MAX_TEXT (64u << 10) /* bytes of one rule set */
#define GRULES_MAX_RULES 512
#define GRULES_MAX_MATCHERS 8
#define GRULES_MAX_VALUES 16 /* fingerprint values of one rule */

enum grules_kind { GRULES_FINGERPRINT = 0, GRULES_STACK = 1 };

struct grules_matcher {
    int field; /* enum in grouprules.c */
    int negate;
    char *arg; /* the tag name of tags.NAME */
    char *pattern;
    size_t inner; /* pattern is "**TEXT**", TEXT without wildcards: its length (else 0) */
    unsigned fam; /* family: the known families it names as bits, GRULES_FAM_STAR, _PLAIN */
};

/* grules_matcher.fam: "*" is among the names; a name that is no family (a platform). */
#define GRULES_FAM_STAR (1u << 30)
#define GRULES_FAM_PLAIN (1u << 31)

struct grules_rule {
    struct grules_matcher m[GRULES_MAX_MATCHERS];
    size_t nm;
    char *values[GRULES_MAX_VALUES]; /* fingerprint rules */
    size_t nvalues;
    char *title; /* fingerprint rules, optional */
    int app;     /* stack rules: -1 unchanged, 0 or 1 */
    int group;   /* stack rules: -1 unchanged, 0 or 1 */
};

struct grules {
    int kind; /* enum grules_kind */
    struct grules_rule *rules;
    size_t n;
};

/* Where parsing stopped and why. */
struct grules_error {
    int line;   /* 1-based */
    int column; /* 1-based, in bytes */
    char msg[120];
};

/*
 * Parses text[0..len) as rules of kind into out (caller frees with
 * grules_free, also after an error). Returns 0, or -1 with e filled.
 */
int grules_parse(const char *text, size_t len, int kind, struct grules *out,
                 struct grules_error *e);
void grules_free(struct grules *r);

/*
 * Stack-trace rules: re-marks every frame of ev (exception frames and the
 * event's own stack) by the rules, in order, later rules winning.
 */
void grules_apply_stack(const struct grules *r, struct event *ev);

/* Fingerprint rules: the first rule that matches ev, or NULL. */
const struct grules_rule *grules_match_fingerprint(const struct grules *r, const struct event *ev);

/* The built-in rule sets (parsed once, never freed). */
const struct grules *grules_builtin(int kind);

/* Whether a platform belongs to a family ("javascript" covers node, "native" c/cocoa/...). */
int grules_family_is(const char *platform, const char *family, size_t len);

#endif
