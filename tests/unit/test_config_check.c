/* Unit tests for src/config: settings are checked before `bilor serve` creates anything. */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "t.h"

/* config_validate() of the defaults with one setting changed. */
static int validate_with(const char *flag, const char *value)
{
    struct config c;
    char arg[64];
    char *argv[2];

    config_defaults(&c);
    snprintf(arg, sizeof(arg), "--%s", flag);
    argv[0] = arg;
    argv[1] = (char *)value;
    if (config_from_args(&c, 2, argv, NULL) < 0)
        return -2;
    return config_validate(&c, NULL) < 0 ? -1 : 0;
}

static void test_listen(void)
{
    static const char *const good[] = { "127.0.0.1:8000", "0.0.0.0:1", ":65535", "[::1]:8000",
                                        "localhost:9000" };
    static const char *const bad[] = { "127.0.0.1",
                                       "127.0.0.1:",
                                       "127.0.0.1:0",
                                       "127.0.0.1:65536",
                                       "127.0.0.1:99999999999999999999",
                                       "127.0.0.1:80x",
                                       "127.0.0.1:-1",
                                       "127.0.0.1: 80",
                                       "127.0.0.1:+80",
                                       "::1:8000",
                                       "[::1]",
                                       "" };
    struct config c;
    char host[64];
    int port = -1;

    /* A name that cannot resolve (an empty label: refused without a DNS query). */
    CHECK_INT_EQ(validate_with("listen", "bad..name:80"), -1);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (validate_with("listen", good[i]) != 0)
            fprintf(stderr, "listen '%s' should be accepted\n", good[i]);
        CHECK_INT_EQ(validate_with("listen", good[i]), 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (validate_with("listen", bad[i]) != -1)
            fprintf(stderr, "listen '%s' should be refused\n", bad[i]);
        CHECK_INT_EQ(validate_with("listen", bad[i]), -1);
    }
    /* The brackets of an IPv6 host are URL syntax: the resolver gets the bare address. */
    config_defaults(&c);
    snprintf(c.listen, sizeof(c.listen), "[::1]:8443");
    CHECK_INT_EQ(config_listen_addr(&c, host, sizeof(host), &port, NULL), 0);
    CHECK_STR_EQ(host, "::1");
    CHECK_INT_EQ(port, 8443);
    snprintf(c.listen, sizeof(c.listen), ":8000");
    CHECK_INT_EQ(config_listen_addr(&c, host, sizeof(host), &port, NULL), 0);
    CHECK_STR_EQ(host, "");
    CHECK_INT_EQ(port, 8000);
}

static void test_public_url(void)
{
    static const char *const good[] = { "", "http://example.com", "https://example.com/bilor/",
                                        "https://example.com:8443", "http://[::1]:8000" };
    static const char *const bad[] = { "example.com",  "ftp://example.com",
                                       "http://",      "https:///x",
                                       "http://a b",   "http://example.com/?x=1",
                                       "http://u@h",   "http://h/#f",
                                       "http://h/\x01" };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK_INT_EQ(validate_with("public-url", good[i]), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (validate_with("public-url", bad[i]) != -1)
            fprintf(stderr, "public URL '%s' should be refused\n", bad[i]);
        CHECK_INT_EQ(validate_with("public-url", bad[i]), -1);
    }
}

static void test_others(void)
{
    struct config c;
    struct bl_err err = { 0 };

    config_defaults(&c);
    CHECK_INT_EQ(config_validate(&c, &err), 0);
    CHECK_INT_EQ(validate_with("log-level", "debug"), 0);
    CHECK_INT_EQ(validate_with("log-level", "loud"), -1);
    CHECK_INT_EQ(validate_with("data-dir", ""), -1);
    /* Integers are checked against their bounds as they are parsed. */
    CHECK_INT_EQ(validate_with("max-body", "12"), -2);
    CHECK_INT_EQ(validate_with("http-threads", "0"), -2);
    snprintf(c.listen, sizeof(c.listen), "127.0.0.1");
    CHECK(config_validate(&c, &err) < 0);
    CHECK(strstr(bl_err_msg(&err), "HOST:PORT") != NULL);
}

int main(void)
{
    test_listen();
    test_public_url();
    test_others();
    return t_done();
}
