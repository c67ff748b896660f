#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/datadir.h"
#include "core/banned.h"

struct cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *help;
};

static int cli_help(int argc, char **argv);
static int cli_version(int argc, char **argv);

static const struct cli_cmd cmds[] = {
    { "serve", cli_serve, "serve [--listen HOST:PORT] [--data-dir DIR] [...]",
      "run the server (doors, API, digest); --help lists every setting" },
    { "project", cli_project, "project add NAME | project list  [--data-dir DIR]",
      "create a project (prints its id and DSN) or list projects" },
    { "user", cli_user, "user add EMAIL [--admin] [--name N] [--password-stdin] | list",
      "add a user (prints a random password unless --password-stdin)" },
    { "user", cli_user, "user passwd EMAIL [--password-stdin] | disable EMAIL",
      "set a user's password (ends their sessions), or disable the account" },
    { "token", cli_token, "token add [--user EMAIL] [--scope S]... [--project N]...",
      "create an API token (printed once); default: user 1, every scope" },
    { "token", cli_token, "token list [--user EMAIL] | token revoke ID", "list or revoke tokens" },
    { "key", cli_key,
      "key add PROJECT [--label L] [--events-per-minute N] [--events-per-hour N]"
      " [--lines-per-minute N] | key list PROJECT | key revoke PROJECT KEY_ID",
      "manage a project's DSN keys and their rate limits" },
    { "send", cli_send, "send --dsn DSN [--level L] [--logger N] MESSAGE",
      "send a message (or --test-error) through libbilor to check a DSN" },
    { "login", cli_login, "login --url URL --token TOKEN",
      "check an API token against a server and save both for search and tail" },
    { "search", cli_search, "search [--project N] [--since 1h] [--limit N] [--json] QUERY",
      "search a running server's log lines (--events: events); see docs/search.md" },
    { "tail", cli_tail, "tail [--project N] [--json] [QUERY]",
      "follow new log lines that match QUERY as they arrive" },
    { "version", cli_version, "version", "print the version" },
    { "help", cli_help, "help", "this text" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

void cli_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("bilor: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int cli_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: bilor COMMAND [ARGS]\n\n");
    for (size_t i = 0; i < NCMDS; i++)
        printf("  %-52s %s\n", cmds[i].usage, cmds[i].help);
    return 0;
}

static int cli_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("bilor %s\n", BILOR_VERSION);
    return 0;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        cli_help(0, NULL);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cli_help(0, NULL);
    if (strcmp(argv[1], "--version") == 0)
        return cli_version(0, NULL);
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].run(argc - 2, argv + 2);
    cli_fail("unknown command '%s' (see 'bilor help')", argv[1]);
    return 2;
}

int cli_open_store(int *argc, char **argv, struct store **st, char *data_dir, size_t len)
{
    const char *dir = getenv("BILOR_DATA_DIR");
    const char *url = getenv("BILOR_STORE");
    struct bl_err err = { 0 };
    int out = 0;

    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < *argc) {
            dir = argv[++i];
        } else if (strncmp(argv[i], "--data-dir=", 11) == 0) {
            dir = argv[i] + 11;
        } else if (strcmp(argv[i], "--store") == 0 && i + 1 < *argc) {
            url = argv[++i];
        } else if (strncmp(argv[i], "--store=", 8) == 0) {
            url = argv[i] + 8;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    if (dir == NULL)
        dir = "./bilor-data";
    snprintf(data_dir, len, "%s", dir);
    /* Admin commands only: no node id, they never touch a checkpoint. */
    if (url == NULL || url[0] == '\0') {
        url = data_dir;
        /* Only `bilor serve` creates a data directory: a mistyped path is an error, not a new store. */
        if (datadir_check(data_dir, &err) < 0) {
            cli_fail("%s", bl_err_msg(&err));
            return 1;
        }
    }
    if (store_open(st, url, NULL, &err) < 0) {
        cli_fail("cannot open the store in '%s': %s", data_dir, bl_err_msg(&err));
        return 1;
    }
    return 0;
}
