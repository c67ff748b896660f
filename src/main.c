/* bilor: one binary, many subcommands (cli/cli.c has the table). */
#include "cli/cli.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "core/banned.h"

int main(int argc, char **argv)
{
    if (hash_global_init() < 0)
        fatal("cannot initialise libsodium");
    json_global_init();
    return cli_main(argc, argv);
}
