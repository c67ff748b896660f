/* `bilor key add|list|revoke`: a project's DSN keys, on a data dir (works while serving). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/pool.h"
#include "core/banned.h"

#define KEY_USAGE                                                                                  \
    "usage: bilor key add PROJECT [--label L] [--events-per-minute N]"                             \
    " [--events-per-hour N] [--lines-per-minute N] | bilor key list PROJECT"                       \
    " | bilor key revoke PROJECT KEY_ID  [--data-dir DIR]"

/* A positive (or, with zero_ok, non-negative) decimal integer; -1 when not one. */
static int64_t parse_num(const char *s, int zero_ok)
{
    char *end = NULL;
    long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    v = strtoll(s, &end, 10);
    if (*end != '\0' || v < 0 || v > 1000000000000LL || (v == 0 && !zero_ok))
        return -1;
    return (int64_t)v;
}

static void print_key(const char *dir, const struct store_key *k)
{
    char url[512], dsn[700];

    cli_public_url(dir, url, sizeof(url));
    config_dsn(url, k->public_key, (long long)k->project_id, dsn, sizeof(dsn));
    printf("%-4lld %-8s %-20s %7lld %7lld %7lld  %s\n", (long long)k->id,
           k->active ? "enabled" : "revoked", k->label, (long long)k->limits.events_per_minute,
           (long long)k->limits.events_per_hour, (long long)k->limits.lines_per_minute, dsn);
}

static void print_header(void)
{
    printf("%-4s %-8s %-20s %7s %7s %7s  %s\n", "ID", "STATE", "LABEL", "EV/MIN", "EV/HOUR",
           "LN/MIN", "DSN");
}

/* --label and the limit options of `key add` into k; -1 on a bad option. */
static int add_options(int argc, char **argv, struct store_key *k)
{
    for (int i = 0; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t *dst = NULL;

        if (val == NULL)
            return -1;
        if (strcmp(opt, "--label") == 0) {
            if (val[0] == '\0' || strlen(val) >= sizeof(k->label))
                return -1;
            snprintf(k->label, sizeof(k->label), "%s", val);
            continue;
        }
        if (strcmp(opt, "--events-per-minute") == 0)
            dst = &k->limits.events_per_minute;
        else if (strcmp(opt, "--events-per-hour") == 0)
            dst = &k->limits.events_per_hour;
        else if (strcmp(opt, "--lines-per-minute") == 0)
            dst = &k->limits.lines_per_minute;
        if (dst == NULL || (*dst = parse_num(val, 1)) < 0)
            return -1;
    }
    return 0;
}

static int key_add(struct store *st, const char *dir, int64_t pid, int argc, char **argv)
{
    struct bl_err err = { 0 };
    struct store_project p;
    struct store_key k;

    memset(&k, 0, sizeof(k));
    k.project_id = pid;
    if (add_options(argc, argv, &k) < 0) {
        cli_fail(KEY_USAGE);
        return 2;
    }
    if (store_project_get(st, pid, &p, &err) < 0) {
        cli_fail("no project %lld", (long long)pid);
        return 1;
    }
    if (store_key_add(st, &k, &err) < 0) {
        cli_fail("cannot add a key: %s", bl_err_msg(&err));
        return 1;
    }
    print_header();
    print_key(dir, &k);
    return 0;
}

static int key_list(struct store *st, const char *dir, int64_t pid)
{
    struct pool pool = POOL_INIT(16384);
    struct store_key *v = NULL;
    struct bl_err err = { 0 };
    size_t n = 0;

    if (store_key_list(st, pid, &pool, &v, &n, &err) < 0) {
        cli_fail("cannot list keys: %s", bl_err_msg(&err));
        pool_release(&pool);
        return 1;
    }
    print_header();
    for (size_t i = 0; i < n; i++)
        print_key(dir, &v[i]);
    pool_release(&pool);
    return 0;
}

static int key_revoke(struct store *st, int64_t pid, int64_t kid)
{
    struct pool pool = POOL_INIT(16384);
    struct store_key *v = NULL;
    struct bl_err err = { 0 };
    size_t n = 0;
    int rc = 1;

    if (store_key_list(st, pid, &pool, &v, &n, &err) == 0) {
        for (size_t i = 0; i < n && rc != 0; i++) {
            if (v[i].id != kid)
                continue;
            v[i].active = 0;
            rc = store_key_update(st, &v[i], &err) < 0 ? 1 : 0;
        }
    }
    if (rc == 0)
        printf("key %lld of project %lld revoked\n", (long long)kid, (long long)pid);
    else
        cli_fail("cannot revoke key %lld of project %lld: %s", (long long)kid, (long long)pid,
                 err.msg[0] ? bl_err_msg(&err) : "no such key");
    pool_release(&pool);
    return rc;
}

int cli_key(int argc, char **argv)
{
    struct store *st = NULL;
    char dir[1024];
    int64_t pid;
    int rc = 2;

    if (cli_open_store(&argc, argv, &st, dir, sizeof(dir)) != 0)
        return 1;
    pid = argc >= 2 ? parse_num(argv[1], 0) : -1;
    if (pid > 0 && strcmp(argv[0], "add") == 0)
        rc = key_add(st, dir, pid, argc - 2, argv + 2);
    else if (pid > 0 && argc == 2 && strcmp(argv[0], "list") == 0)
        rc = key_list(st, dir, pid);
    else if (pid > 0 && argc == 3 && strcmp(argv[0], "revoke") == 0 && parse_num(argv[2], 0) > 0)
        rc = key_revoke(st, pid, parse_num(argv[2], 0));
    else
        cli_fail(KEY_USAGE);
    store_close(st);
    return rc;
}
