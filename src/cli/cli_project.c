/* `bilor project add|list`: admin work on a data dir (users and tokens: cli_user.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/datadir.h"
#include "core/pool.h"
#include "core/banned.h"

/*
 * Base URL for printed DSNs: the one the server recorded at its last start
 * (datadir.h); before any server of this version ran there, the settings
 * `bilor serve` would read from the environment.
 */
void cli_public_url(const char *dir, char *out, size_t len)
{
    struct config c;

    if (datadir_read_url(dir, out, len) == 0)
        return;
    config_defaults(&c);
    if (config_from_env(&c, NULL) < 0)
        config_defaults(&c);
    config_public_url(&c, out, len);
}

static int project_add(struct store *st, const char *dir, const char *name)
{
    struct store_project p;
    struct bl_err err = { 0 };
    char url[512], dsn[700];

    if (store_project_add(st, name, &p, &err) < 0) {
        cli_fail("cannot add project '%s': %s", name, bl_err_msg(&err));
        return 1;
    }
    cli_public_url(dir, url, sizeof(url));
    config_dsn(url, p.key, (long long)p.id, dsn, sizeof(dsn));
    printf("id: %lld\nname: %s\nslug: %s\ndsn: %s\n", (long long)p.id, p.name, p.slug, dsn);
    return 0;
}

static int project_list(struct store *st, const char *dir)
{
    struct pool pool = POOL_INIT(16384);
    struct store_project *v = NULL;
    struct bl_err err = { 0 };
    char url[512], dsn[700];
    size_t n = 0;

    if (store_project_list(st, &pool, &v, &n, &err) < 0) {
        cli_fail("cannot list projects: %s", bl_err_msg(&err));
        pool_release(&pool);
        return 1;
    }
    cli_public_url(dir, url, sizeof(url));
    printf("%-6s %-24s %s\n", "ID", "NAME", "DSN");
    for (size_t i = 0; i < n; i++) {
        config_dsn(url, v[i].key, (long long)v[i].id, dsn, sizeof(dsn));
        printf("%-6lld %-24s %s\n", (long long)v[i].id, v[i].name, dsn);
    }
    pool_release(&pool);
    return 0;
}

int cli_project(int argc, char **argv)
{
    struct store *st = NULL;
    char dir[1024];
    int rc;

    if (cli_open_store(&argc, argv, &st, dir, sizeof(dir)) != 0)
        return 1;
    if (argc == 2 && strcmp(argv[0], "add") == 0) {
        rc = project_add(st, dir, argv[1]);
    } else if (argc == 1 && strcmp(argv[0], "list") == 0) {
        rc = project_list(st, dir);
    } else {
        cli_fail("usage: bilor project add NAME | bilor project list  [--data-dir DIR]");
        rc = 2;
    }
    store_close(st);
    return rc;
}
