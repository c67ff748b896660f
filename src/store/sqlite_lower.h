/*
 * sqlite_lower.h - a query tree lowered to SQL over a day file's events
 * (store_sqlite_lower.c), for the searches of store_sqlite_search.c.
 */
#ifndef BL_SQLITE_LOWER_H
#define BL_SQLITE_LOWER_H

#include <stdint.h>

#include "core/buf.h"
#include "core/pool.h"
#include "search/query.h"
#include "store/sqlite_int.h"

/* How much of a node the SQL says (DESIGN in store_sqlite_lower.c). */
enum { LW_NONE = 0, LW_LOOSE = 1, LW_EXACT = 2 };

/* Parameters ?1..?7 are the fixed part of each statement; the query's start at ?8. */
#define ARG0 8

struct sq_lower {
    struct buf sql;
    struct sq_arg *args;
    size_t nargs, cap;
    struct pool *pool;
    int64_t now;
    int depth; /* 0 at the root, 1 inside the root's AND */
    int and_root;
    const char *drive; /* an FTS text every match must satisfy (see walk_day) */
    /* drive's node when it is a word of ASCII letters and digits (sq_lq.word) */
    const struct query_node *drive_word;
    /* an FTS text of a trace_id:X or request_id:X every match satisfies (sq_lq.id_drive) */
    const char *id_drive;
    /*
     * words with non-ASCII letters every match holds, in drive's form: only
     * word postings may narrow by them (sq_lq.post_drive), since unicode61
     * cuts such words otherwise than query_words
     */
    const char *post_drive;
};

/* Appends n's SQL to l->sql and its arguments to l->args; LW_NONE, LW_LOOSE or LW_EXACT. */
int sq_lower_node(struct sq_lower *l, const struct query_node *n);

#endif
