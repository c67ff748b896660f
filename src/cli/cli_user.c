/*
 * cli_user.c - `bilor user add|list|passwd|disable` and `bilor token
 * add|list|revoke`: accounts and API tokens on a data directory, for an
 * operator before (or without) the web UI. Works next to a running server
 * (the store serializes admin writes); a disabled user or a revoked token
 * is refused by the server on its next request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "auth/session.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "core/pool.h"
#include "core/banned.h"

#define PASSWORD_MIN 8

/* Removes argv[i] (and n-1 following) from the argument list. */
static void drop_args(int *argc, char **argv, int i, int n)
{
    memmove(&argv[i], &argv[i + n], (size_t)(*argc - i - n) * sizeof(*argv));
    *argc -= n;
}

/* Takes "--flag" out of argv; 1 when it was there. */
static int take_flag(int *argc, char **argv, const char *flag)
{
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], flag) == 0) {
            drop_args(argc, argv, i, 1);
            return 1;
        }
    }
    return 0;
}

/* Takes "--flag VALUE" out of argv; the value or NULL. */
static const char *take_opt(int *argc, char **argv, const char *flag)
{
    for (int i = 0; i + 1 < *argc; i++) {
        if (strcmp(argv[i], flag) == 0) {
            const char *v = argv[i + 1];

            drop_args(argc, argv, i, 2);
            return v;
        }
    }
    return NULL;
}

/* The password: one line of stdin, or a random one that is printed. */
static int read_password(int from_stdin, char *out, size_t outsz, int *generated)
{
    size_t len;

    *generated = 0;
    if (!from_stdin) {
        auth_password_new(out);
        *generated = 1;
        return 0;
    }
    if (fgets(out, (int)outsz, stdin) == NULL) {
        cli_fail("no password on stdin");
        return -1;
    }
    len = strcspn(out, "\r\n");
    out[len] = '\0';
    if (len < PASSWORD_MIN) {
        cli_fail("a password has at least %d characters", PASSWORD_MIN);
        return -1;
    }
    return 0;
}

static void lower(char *s)
{
    for (; *s != '\0'; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static int user_add(struct store *st, int argc, char **argv)
{
    int admin = take_flag(&argc, argv, "--admin");
    int from_stdin = take_flag(&argc, argv, "--password-stdin");
    const char *name = take_opt(&argc, argv, "--name");
    struct store_user_change ch = { name, NULL, NULL, -1, -1, 0 };
    struct bl_err err = { 0 };
    char email[STORE_EMAIL_MAX + 1], pw[SESSION_PASSWORD_MAX + 2], hash[AUTH_HASH_MAX];
    int64_t id = 0;
    int gen = 0;

    if (argc != 1 || strlen(argv[0]) > STORE_EMAIL_MAX) {
        cli_fail("usage: bilor user add EMAIL [--admin] [--name NAME] [--password-stdin]");
        return 2;
    }
    snprintf(email, sizeof(email), "%s", argv[0]);
    lower(email);
    if (session_email_check(email) < 0) {
        cli_fail("'%s' is not an email address", email);
        return 2;
    }
    if (read_password(from_stdin, pw, sizeof(pw), &gen) < 0)
        return 1;
    if (auth_password_hash(pw, hash, &err) < 0 ||
        store_user_add(st, email, hash, admin, &id, &err) < 0 ||
        (name != NULL && store_user_update(st, id, &ch, &err) < 0)) {
        cli_fail("cannot add user '%s': %s", email, bl_err_msg(&err));
        return 1;
    }
    printf("id: %lld\nemail: %s\n", (long long)id, email);
    if (gen)
        printf("password: %s\n", pw);
    return 0;
}

static int user_list(struct store *st)
{
    struct pool pool = POOL_INIT(16384);
    struct store_user *v = NULL;
    struct bl_err err = { 0 };
    size_t n = 0;

    if (store_user_list(st, &pool, &v, &n, &err) < 0) {
        cli_fail("cannot list users: %s", bl_err_msg(&err));
        pool_release(&pool);
        return 1;
    }
    printf("%-6s %-32s %-6s %-9s %s\n", "ID", "EMAIL", "ADMIN", "DISABLED", "NAME");
    for (size_t i = 0; i < n; i++)
        printf("%-6lld %-32s %-6s %-9s %s\n", (long long)v[i].id, v[i].email,
               v[i].is_admin ? "yes" : "no", v[i].disabled ? "yes" : "no", v[i].name);
    pool_release(&pool);
    return 0;
}

/* The user an EMAIL argument names, or -1 after saying why. */
static int find_user(struct store *st, const char *arg, struct store_user *u)
{
    char email[STORE_EMAIL_MAX + 1];
    struct bl_err err = { 0 };

    snprintf(email, sizeof(email), "%s", arg);
    lower(email);
    if (store_user_get(st, 0, email, u, &err) < 0) {
        cli_fail("no user '%s'", email);
        return -1;
    }
    return 0;
}

static int user_passwd(struct store *st, int argc, char **argv)
{
    int from_stdin = take_flag(&argc, argv, "--password-stdin");
    struct store_user_change ch = { NULL, NULL, NULL, -1, -1, 0 };
    struct store_user u;
    struct bl_err err = { 0 };
    char pw[SESSION_PASSWORD_MAX + 2], hash[AUTH_HASH_MAX];
    int gen = 0;

    if (argc != 1) {
        cli_fail("usage: bilor user passwd EMAIL [--password-stdin]");
        return 2;
    }
    if (find_user(st, argv[0], &u) < 0 || read_password(from_stdin, pw, sizeof(pw), &gen) < 0)
        return 1;
    ch.password_hash = hash;
    if (auth_password_hash(pw, hash, &err) < 0 || store_user_update(st, u.id, &ch, &err) < 0) {
        cli_fail("cannot set the password: %s", bl_err_msg(&err));
        return 1;
    }
    if (gen)
        printf("password: %s\n", pw);
    return 0;
}

static int user_disable(struct store *st, int argc, char **argv)
{
    struct store_user_change ch = { NULL, NULL, NULL, 1, -1, 0 };
    struct store_user u;
    struct bl_err err = { 0 };

    if (argc != 1) {
        cli_fail("usage: bilor user disable EMAIL");
        return 2;
    }
    if (find_user(st, argv[0], &u) < 0)
        return 1;
    if (store_user_update(st, u.id, &ch, &err) < 0) {
        cli_fail("cannot disable '%s': %s", u.email, bl_err_msg(&err));
        return 1;
    }
    return 0;
}

int cli_user(int argc, char **argv)
{
    struct store *st = NULL;
    char dir[1024];
    int rc = 2;

    if (cli_open_store(&argc, argv, &st, dir, sizeof(dir)) != 0)
        return 1;
    if (argc >= 1 && strcmp(argv[0], "add") == 0)
        rc = user_add(st, argc - 1, argv + 1);
    else if (argc == 1 && strcmp(argv[0], "list") == 0)
        rc = user_list(st);
    else if (argc >= 1 && strcmp(argv[0], "passwd") == 0)
        rc = user_passwd(st, argc - 1, argv + 1);
    else if (argc >= 1 && strcmp(argv[0], "disable") == 0)
        rc = user_disable(st, argc - 1, argv + 1);
    else
        cli_fail("usage: bilor user add|list|passwd|disable ...  [--data-dir DIR]");
    store_close(st);
    return rc;
}

/* --scope S (repeatable) and --project N (repeatable) into t; -1 on a bad one. */
static int token_options(int *argc, char **argv, struct store_token *t)
{
    static const char *const names[] = { "read", "write", "admin" };
    const char *v;

    while ((v = take_opt(argc, argv, "--scope")) != NULL) {
        size_t i;

        for (i = 0; i < 3 && strcmp(v, names[i]) != 0; i++)
            ;
        if (i == 3) {
            cli_fail("--scope is read, write or admin");
            return -1;
        }
        t->scopes |= 1u << i;
    }
    while ((v = take_opt(argc, argv, "--project")) != NULL) {
        char *end = NULL;
        long long id = strtoll(v, &end, 10);

        if (end == v || *end != '\0' || id < 1 || t->nprojects == STORE_TOKEN_PROJECTS) {
            cli_fail("--project is a project id (at most %d)", STORE_TOKEN_PROJECTS);
            return -1;
        }
        t->projects[t->nprojects++] = id;
    }
    if (t->scopes == 0)
        t->scopes = STORE_SCOPE_ALL;
    return 0;
}

static int token_add(struct store *st, int argc, char **argv)
{
    const char *email = take_opt(&argc, argv, "--user");
    const char *label = take_opt(&argc, argv, "--label");
    struct store_token t;
    struct store_user u;
    struct bl_err err = { 0 };
    char token[AUTH_TOKEN_MAX], digest[65];

    memset(&t, 0, sizeof(t));
    if (token_options(&argc, argv, &t) < 0 || argc != 0) {
        cli_fail("usage: bilor token add [--user EMAIL] [--scope read|write|admin]... "
                 "[--project N]... [--label TEXT]");
        return 2;
    }
    t.user_id = 1; /* the first start's admin */
    if (email != NULL) {
        if (find_user(st, email, &u) < 0)
            return 1;
        t.user_id = u.id;
    }
    snprintf(t.name, sizeof(t.name), "%s", label != NULL ? label : "cli");
    auth_token_new(token);
    auth_token_digest(token, strlen(token), digest);
    if (store_token_create(st, digest, &t, &err) < 0) {
        cli_fail("cannot create a token: %s", bl_err_msg(&err));
        return 1;
    }
    printf("%s\n", token);
    return 0;
}

static int token_list(struct store *st, int argc, char **argv)
{
    const char *email = take_opt(&argc, argv, "--user");
    struct pool pool = POOL_INIT(16384);
    struct store_token *v = NULL;
    struct store_user u = { 0 };
    struct bl_err err = { 0 };
    size_t n = 0;

    if (argc != 0 || (email != NULL && find_user(st, email, &u) < 0))
        return argc != 0 ? 2 : 1;
    if (store_token_list(st, u.id, &pool, &v, &n, &err) < 0) {
        cli_fail("cannot list tokens: %s", bl_err_msg(&err));
        pool_release(&pool);
        return 1;
    }
    printf("%-6s %-6s %-7s %-16s %s\n", "ID", "USER", "SCOPES", "PROJECTS", "NAME");
    for (size_t i = 0; i < n; i++) {
        char projects[64] = "all";
        size_t off = 0;

        for (size_t k = 0; k < v[i].nprojects && off < sizeof(projects); k++)
            off += (size_t)snprintf(projects + off, sizeof(projects) - off, "%s%lld", k ? "," : "",
                                    (long long)v[i].projects[k]);
        printf("%-6lld %-6lld %c%c%c     %-16s %s\n", (long long)v[i].id, (long long)v[i].user_id,
               v[i].scopes & STORE_SCOPE_READ ? 'r' : '-',
               v[i].scopes & STORE_SCOPE_WRITE ? 'w' : '-',
               v[i].scopes & STORE_SCOPE_ADMIN ? 'a' : '-', projects, v[i].name);
    }
    pool_release(&pool);
    return 0;
}

static int token_revoke(struct store *st, int argc, char **argv)
{
    struct bl_err err = { 0 };
    char *end = NULL;
    long long id = argc == 1 ? strtoll(argv[0], &end, 10) : 0;

    if (argc != 1 || end == argv[0] || *end != '\0' || id < 1) {
        cli_fail("usage: bilor token revoke ID");
        return 2;
    }
    if (store_token_revoke(st, id, 0, &err) < 0) {
        cli_fail("cannot revoke token %lld: %s", id, bl_err_msg(&err));
        return 1;
    }
    return 0;
}

int cli_token(int argc, char **argv)
{
    struct store *st = NULL;
    char dir[1024];
    int rc = 2;

    if (cli_open_store(&argc, argv, &st, dir, sizeof(dir)) != 0)
        return 1;
    if (argc >= 1 && strcmp(argv[0], "add") == 0)
        rc = token_add(st, argc - 1, argv + 1);
    else if (argc >= 1 && strcmp(argv[0], "list") == 0)
        rc = token_list(st, argc - 1, argv + 1);
    else if (argc >= 1 && strcmp(argv[0], "revoke") == 0)
        rc = token_revoke(st, argc - 1, argv + 1);
    else
        cli_fail("usage: bilor token add|list|revoke ...  [--data-dir DIR]");
    store_close(st);
    return rc;
}
