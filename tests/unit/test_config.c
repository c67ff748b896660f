/*
 * Unit tests for src/config: defaults, flags (--k v and --k=v), environment
 * variables, precedence (flags beat the environment), bounds, malformed
 * values, the listen address, the public URL and DSNs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "t.h"

static int args(struct config *c, const char *a0, const char *a1, const char *a2,
                struct bl_err *err)
{
    char *argv[3] = { (char *)a0, (char *)a1, (char *)a2 };
    int argc = a0 == NULL ? 0 : a1 == NULL ? 1 : a2 == NULL ? 2 : 3;

    return config_from_args(c, argc, argv, err);
}

static void test_defaults(void)
{
    struct config c;

    config_defaults(&c);
    CHECK_STR_EQ(c.listen, "127.0.0.1:8000");
    CHECK_STR_EQ(c.public_url, "");
    CHECK_INT_EQ(c.max_body, 20 << 20);
    CHECK_INT_EQ(c.max_event, 1 << 20);
    CHECK_INT_EQ(c.journal_fsync, 1);
}

static void test_flags(void)
{
    struct config c;
    struct bl_err err = { 0, "" };

    config_defaults(&c);
    CHECK_INT_EQ(args(&c, "--listen", "0.0.0.0:9000", NULL, &err), 0);
    CHECK_STR_EQ(c.listen, "0.0.0.0:9000");
    CHECK_INT_EQ(args(&c, "--http-threads=4", "--max-body=2048", NULL, &err), 0);
    CHECK_INT_EQ(c.http_threads, 4);
    CHECK_INT_EQ(c.max_body, 2048);
    /* A later flag wins over an earlier one. */
    CHECK_INT_EQ(args(&c, "--retry-after=7", "--retry-after=9", NULL, &err), 0);
    CHECK_INT_EQ(c.retry_after, 9);
    /* An empty string is a value. */
    CHECK_INT_EQ(args(&c, "--public-url=", NULL, NULL, &err), 0);
    CHECK_STR_EQ(c.public_url, "");
}

static void test_bad_values(void)
{
    static const struct {
        const char *a0, *a1;
        const char *msg; /* a part of the error message */
    } cases[] = {
        { "--http-threads=0", NULL, "between 1 and 64" },
        { "--http-threads=65", NULL, "between 1 and 64" },
        { "--http-threads=-1", NULL, "between" },
        { "--http-threads=four", NULL, "wants an integer" },
        { "--http-threads=4x", NULL, "wants an integer" },
        { "--http-threads=", NULL, "wants an integer" },
        { "--max-body=99999999999999999999999", NULL, "wants an integer" },
        { "--journal-fsync=2", NULL, "between 0 and 1" },
        { "--max-body=1023", NULL, "between" },
        { "--nope=1", NULL, "unknown option" },
        { "--listen", NULL, "needs a value" },
        { "listen", NULL, "unexpected argument" },
        { "-listen", "x", "unexpected argument" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config c, before;
        struct bl_err err = { 0, "" };
        int rc;

        config_defaults(&c);
        before = c;
        rc = args(&c, cases[i].a0, cases[i].a1, NULL, &err);
        CHECK_INT_EQ(rc, BL_EINVAL);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fprintf(stderr, "case %zu: message '%s' lacks '%s'\n", i, err.msg, cases[i].msg);
        CHECK(strstr(err.msg, cases[i].msg) != NULL);
        /* A refused value changes nothing. */
        CHECK(memcmp(&c, &before, sizeof(c)) == 0);
    }
}

static void test_string_cap(void)
{
    struct config c;
    struct bl_err err = { 0, "" };
    char flag[sizeof(c.listen) + 16];

    config_defaults(&c);
    snprintf(flag, sizeof(flag), "--listen=%0*d", (int)sizeof(c.listen), 0);
    CHECK_INT_EQ(args(&c, flag, NULL, NULL, &err), BL_EINVAL);
    CHECK(strstr(err.msg, "too long") != NULL);
    CHECK_STR_EQ(c.listen, "127.0.0.1:8000");
}

static void test_env(void)
{
    struct config c;
    struct bl_err err = { 0, "" };

    config_defaults(&c);
    setenv("BILOR_HTTP_THREADS", "8", 1);
    setenv("BILOR_LISTEN", "127.0.0.1:9100", 1);
    CHECK_INT_EQ(config_from_env(&c, &err), 0);
    CHECK_INT_EQ(c.http_threads, 8);
    CHECK_STR_EQ(c.listen, "127.0.0.1:9100");
    /* Flags are applied after the environment, so they win. */
    CHECK_INT_EQ(args(&c, "--http-threads", "3", NULL, &err), 0);
    CHECK_INT_EQ(c.http_threads, 3);
    CHECK_STR_EQ(c.listen, "127.0.0.1:9100");

    setenv("BILOR_MAX_EVENT", "lots", 1);
    CHECK_INT_EQ(config_from_env(&c, &err), BL_EINVAL);
    CHECK(strstr(err.msg, "max-event") != NULL);
    setenv("BILOR_MAX_EVENT", "100", 1);
    CHECK_INT_EQ(config_from_env(&c, &err), BL_EINVAL);
    unsetenv("BILOR_MAX_EVENT");
    unsetenv("BILOR_HTTP_THREADS");
    unsetenv("BILOR_LISTEN");
    config_defaults(&c);
    CHECK_INT_EQ(config_from_env(&c, &err), 0);
    CHECK_INT_EQ(c.http_threads, 2);
}

static void test_listen(void)
{
    static const struct {
        const char *listen;
        const char *host; /* NULL: refused */
        int port;
    } cases[] = {
        { "127.0.0.1:8000", "127.0.0.1", 8000 },
        { "0.0.0.0:1", "0.0.0.0", 1 },
        { ":8080", "", 8080 },
        { "[::1]:9000", "::1", 9000 }, /* the brackets are URL syntax, not the address */
        { "localhost:65535", "localhost", 65535 },
        { "127.0.0.1", NULL, 0 },
        { "127.0.0.1:", NULL, 0 },
        { "127.0.0.1:http", NULL, 0 },
        { "127.0.0.1:80x", NULL, 0 },
        { "127.0.0.1:65536", NULL, 0 },
        { "127.0.0.1:-1", NULL, 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config c;
        char host[64] = "";
        int port = -1, rc;

        config_defaults(&c);
        snprintf(c.listen, sizeof(c.listen), "%s", cases[i].listen);
        rc = config_listen_addr(&c, host, sizeof(host), &port, NULL);
        if (cases[i].host == NULL) {
            if (rc == 0)
                fprintf(stderr, "accepted listen '%s'\n", cases[i].listen);
            CHECK_INT_EQ(rc, BL_EINVAL);
            continue;
        }
        CHECK_INT_EQ(rc, 0);
        CHECK_STR_EQ(host, cases[i].host);
        CHECK_INT_EQ(port, cases[i].port);
    }
}

static void test_urls(void)
{
    struct config c;
    char url[512], dsn[1024];

    config_defaults(&c);
    config_public_url(&c, url, sizeof(url));
    CHECK_STR_EQ(url, "http://127.0.0.1:8000");
    snprintf(c.public_url, sizeof(c.public_url), "https://bilor.example.com/errors//");
    config_public_url(&c, url, sizeof(url));
    CHECK_STR_EQ(url, "https://bilor.example.com/errors");
    config_dsn(url, "0123456789abcdef0123456789abcdef", 7, dsn, sizeof(dsn));
    CHECK_STR_EQ(dsn, "https://0123456789abcdef0123456789abcdef@bilor.example.com/errors/7");
    config_dsn("localhost:9000", "k", 1, dsn, sizeof(dsn));
    CHECK_STR_EQ(dsn, "http://k@localhost:9000/1");
}

/* --log-compression: lz4 by default, zstd on request, nothing else. */
static void test_log_compression(void)
{
    struct config c;
    struct bl_err err = { 0, "" };

    config_defaults(&c);
    CHECK_STR_EQ(c.log_compression, "lz4");
    CHECK_INT_EQ(config_validate(&c, &err), 0);
    CHECK_INT_EQ(args(&c, "--log-compression", "zstd", NULL, &err), 0);
    CHECK_STR_EQ(c.log_compression, "zstd");
    CHECK_INT_EQ(config_validate(&c, &err), 0);
    CHECK_INT_EQ(args(&c, "--log-compression=gzip", NULL, NULL, &err), 0);
    CHECK(config_validate(&c, &err) < 0);
    CHECK(strstr(err.msg, "lz4 or zstd") != NULL);
    CHECK(args(&c, "--log-compression=zstd-level-19", NULL, NULL, &err) < 0); /* too long */
}

/* --http-poll: auto by default, poll or epoll on request, nothing else. */
static void test_http_poll(void)
{
    struct config c;
    struct bl_err err = { 0, "" };

    config_defaults(&c);
    CHECK_STR_EQ(c.http_poll, "auto");
    CHECK_INT_EQ(config_validate(&c, &err), 0);
    CHECK_INT_EQ(args(&c, "--http-poll", "poll", NULL, &err), 0);
    CHECK_STR_EQ(c.http_poll, "poll");
    CHECK_INT_EQ(config_validate(&c, &err), 0);
    CHECK_INT_EQ(args(&c, "--http-poll=epoll", NULL, NULL, &err), 0);
    CHECK_INT_EQ(config_validate(&c, &err), 0);
    CHECK_INT_EQ(args(&c, "--http-poll=select", NULL, NULL, &err), 0);
    CHECK(config_validate(&c, &err) < 0);
    CHECK(strstr(err.msg, "auto, poll or epoll") != NULL);
    CHECK(args(&c, "--http-poll=epoll-edge", NULL, NULL, &err) < 0); /* too long */
}

int main(void)
{
    test_defaults();
    test_flags();
    test_bad_values();
    test_string_cap();
    test_env();
    test_listen();
    test_urls();
    test_log_compression();
    test_http_poll();
    return t_done();
}
