/*
 * cli.h - the `bilor` command line: a table of subcommands (cli.c).
 *
 * Each subcommand gets the arguments after its name and returns the exit
 * status. Errors go to stderr as one line "bilor: ..." and exit 1; usage
 * errors exit 2.
 */
#ifndef BL_CLI_H
#define BL_CLI_H

#include "config/config.h"
#include "store/store.h"

int cli_main(int argc, char **argv);

int cli_serve(int argc, char **argv);
int cli_project(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_send(int argc, char **argv);
int cli_key(int argc, char **argv);

/* Base URL for printed DSNs (cli_project.c). */
void cli_public_url(const char *dir, char *out, size_t len);
int cli_login(int argc, char **argv);
int cli_search(int argc, char **argv);
int cli_tail(int argc, char **argv);

/*
 * Shared by the subcommands that work on a data directory: takes
 * --data-dir DIR (or BILOR_DATA_DIR) and --store URL (or BILOR_STORE) out
 * of argv, compacting it, and opens the store (URL, else the data
 * directory). Returns 0, or prints why and returns non-zero.
 */
int cli_open_store(int *argc, char **argv, struct store **st, char *data_dir, size_t len);

/* "bilor: " + message on stderr. */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
