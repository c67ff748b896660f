/*
 * test_client_dsn.c - DSN parsing: endpoint and X-Sentry-Auth for the DSN
 * shapes Sentry SDKs accept, and rejection of the ones they refuse.
 */
#include <string.h>

#include "bilor/bilor.h"
#include "client/dsn.h"
#include "core/hash.h"
#include "core/json.h"

#include "t.h"

struct good {
    const char *dsn;
    const char *endpoint;
    const char *key;
    const char *project;
};

static void test_good(void)
{
    static const struct good cases[] = {
        { "http://0123456789abcdef0123456789abcdef@127.0.0.1:8000/1",
          "http://127.0.0.1:8000/api/1/envelope/", "0123456789abcdef0123456789abcdef", "1" },
        { "https://key@sentry.example.com/42", "https://sentry.example.com/api/42/envelope/", "key",
          "42" },
        { "https://pub:secret@o1.ingest.example.io/prefix/sub/7",
          "https://o1.ingest.example.io/prefix/sub/api/7/envelope/", "pub", "7" },
        { "http://k_1@[::1]:9000/3?timeout=5#frag", "http://[::1]:9000/api/3/envelope/", "k_1",
          "3" },
        { "http://k@localhost/123456789", "http://localhost/api/123456789/envelope/", "k",
          "123456789" },
    };
    struct bc_dsn d;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = bc_dsn_parse(&d, cases[i].dsn);

        CHECK_INT_EQ(rc, 0);
        if (rc != 0) {
            fprintf(stderr, "rejected: %s\n", cases[i].dsn);
            continue;
        }
        CHECK_STR_EQ(d.endpoint, cases[i].endpoint);
        CHECK_STR_EQ(d.key, cases[i].key);
        CHECK_STR_EQ(d.project, cases[i].project);
    }
    bc_dsn_parse(&d, "http://abc@h:1/2");
    CHECK_STR_EQ(d.auth, "X-Sentry-Auth: Sentry sentry_key=abc, sentry_version=7, "
                         "sentry_client=bilor.c/" BILOR_VERSION_STRING);
    CHECK_INT_EQ(d.port, 1);
}

static void test_bad(void)
{
    static const char *const bad[] = {
        "",
        "127.0.0.1:8000/1",
        "ftp://k@h/1",
        "http://h/1",
        "http://@h/1",
        "http://k@/1",
        "http://k@h",
        "http://k@h/",
        "http://k@h/abc",
        "http://k@h/1/",
        "http://k@h/0",
        "http://k@h/01",
        "http://k-ey@h/1",
        "http://k.ey@h/1",
        "http://k@h:0/1",
        "http://k@h:65536/1",
        "http://k@h:80a/1",
        "http://k@h:/1",
        "http://k@ho st/1",
        "http://k@[::1/1",
        "http://k@h/-1",
    };
    struct bc_dsn d;
    char longdsn[2000];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = bc_dsn_parse(&d, bad[i]);

        if (rc != BILOR_EINVAL)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_INT_EQ(rc, BILOR_EINVAL);
    }
    CHECK_INT_EQ(bc_dsn_parse(&d, NULL), BILOR_EINVAL);
    memcpy(longdsn, "http://k@h/", 11);
    memset(longdsn + 11, 'a', sizeof(longdsn) - 14);
    memcpy(longdsn + sizeof(longdsn) - 3, "/1", 3);
    CHECK_INT_EQ(bc_dsn_parse(&d, longdsn), BILOR_EINVAL);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_good();
    test_bad();
    return t_done();
}
