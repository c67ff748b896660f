/*
 * t_sqlite.h - fixtures of the SQLite backend's own test suites (the
 * backend-neutral ones are in t_store.h): data files as an older binary
 * left them.
 */
#ifndef BL_T_SQLITE_H
#define BL_T_SQLITE_H

#include <stdio.h>

#include "store/sqlite_int.h"
#include "t.h"

/* Runs sql on a file through the backend's connection, migrated up to version. */
static inline void old_file(const char *path, int main_db, int version, const char *sql)
{
    struct sq_conn *c = NULL;
    struct bl_err err = { 0, "" };
    int rc = sq_conn_open(path, SQ_OPEN_CREATE, &c, &err);

    if (rc == 0)
        rc = main_db ? sq_migrate_main_to(c, version, &err) : sq_migrate_part_to(c, version, &err);
    if (rc == 0 && sql != NULL)
        rc = sq_exec(c, sql, &err);
    if (rc != 0)
        fprintf(stderr, "old file %s: %s\n", path, bl_err_msg(&err));
    CHECK_INT_EQ(rc, 0);
    sq_conn_close(c);
}

#endif
