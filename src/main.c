/* bilor: one binary, many subcommands (cli/cli.c has the table). */
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

int main(int argc, char **argv)
{
    /*
     * Everything a command creates is private: the data directory holds the
     * admin password hash, token digests and every DSN key. SQLite's files
     * (WAL and SHM too) and the journal segments get their mode from this.
     */
    umask(077);
    if (hash_global_init() < 0)
        fatal("cannot initialise libsodium");
    json_global_init();
    return cli_main(argc, argv);
}
