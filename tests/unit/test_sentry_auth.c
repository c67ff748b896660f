/*
 * test_sentry_auth.c - every place a Sentry client puts its key
 * (protocols.md §1.3), the ambiguity rule, malformed values, and DSNs.
 */
#include <stdio.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/sentry_auth.h"

#include "t.h"

#define KEY "0123456789abcdef0123456789abcdef"

static void expect_find(const char *xsa, const char *authz, const char *query, int want_rc,
                        const char *want_key, const char *want_msg)
{
    struct sentry_auth_in in = { xsa, authz, query };
    struct bl_err err = { 0, "" };
    char key[65] = "junk";
    int rc = sentry_auth_find(&in, key, &err);

    CHECK_INT_EQ(rc, want_rc);
    if (rc != want_rc)
        fprintf(stderr, "  xsa '%s' authz '%s' query '%s': %s\n", xsa ? xsa : "-",
                authz ? authz : "-", query ? query : "-", err.msg);
    if (want_rc == 0)
        CHECK_STR_EQ(key, want_key);
    else
        CHECK_STR_EQ(key, "");
    if (want_msg != NULL)
        CHECK_STR_EQ(err.msg, want_msg);
}

static void test_single_sources(void)
{
    /* Exactly what sentry-python 1.9.10 sends. */
    expect_find("Sentry sentry_key=" KEY ", sentry_version=7, sentry_client=sentry.python/1.9.10",
                NULL, NULL, 0, KEY, NULL);
    expect_find("sentry sentry_version=7,sentry_key=" KEY, NULL, NULL, 0, KEY, NULL);
    expect_find("SENTRY   sentry_key = " KEY " , sentry_secret=xyz", NULL, NULL, 0, KEY, NULL);
    expect_find("Sentry sentry_version=7, sentry_timestamp=1714564800.0, sentry_key=AbC_9", NULL,
                NULL, 0, "abc_9", NULL);
    expect_find("Sentry sentry_key=\"" KEY "\"", NULL, NULL, 0, KEY, NULL);
    /* First sentry_key wins inside one header. */
    expect_find("Sentry sentry_key=first, sentry_key=second", NULL, NULL, 0, "first", NULL);
    /* Old clients without the leading word. */
    expect_find("sentry_version=7, sentry_key=" KEY, NULL, NULL, 0, KEY, NULL);

    expect_find(NULL, "Sentry sentry_key=" KEY ", sentry_version=7", NULL, 0, KEY, NULL);
    /* Basic base64("0123...:secret") and base64("0123...") without a secret. */
    expect_find(NULL, "Basic MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY6c2VjcmV0", NULL, 0, KEY,
                NULL);
    expect_find(NULL, "basic MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", NULL, 0, KEY, NULL);
    expect_find(NULL, "Bearer " KEY, NULL, 0, KEY, NULL);
    expect_find(NULL, "bearer   " KEY "  ", NULL, 0, KEY, NULL);
    expect_find(NULL, NULL, KEY, 0, KEY, NULL);
    expect_find(NULL, NULL, "ABCDEF", 0, "abcdef", NULL);
}

static void test_missing_and_multiple(void)
{
    expect_find(NULL, NULL, NULL, BL_EAUTH, NULL, "missing credentials");
    /* Headers present but without a key do not count as a source. */
    expect_find("Sentry sentry_version=7", NULL, NULL, BL_EAUTH, NULL, "missing credentials");
    expect_find("Sentry", NULL, NULL, BL_EAUTH, NULL, "missing credentials");
    expect_find(NULL, "Digest username=\"x\"", NULL, BL_EAUTH, NULL, "missing credentials");
    expect_find(NULL, "Sentry sentry_version=7", KEY, 0, KEY, NULL);
    expect_find(NULL, "Token abc", KEY, 0, KEY, NULL);

    expect_find("Sentry sentry_key=" KEY, NULL, KEY, BL_EAUTH, NULL,
                "multiple authorization payloads");
    expect_find("Sentry sentry_key=" KEY, "Bearer " KEY, NULL, BL_EAUTH, NULL,
                "multiple authorization payloads");
    expect_find(NULL, "Sentry sentry_key=aaa", "bbb", BL_EAUTH, NULL,
                "multiple authorization payloads");
    expect_find(NULL, "Basic YWFhOg==", "aaa", BL_EAUTH, NULL, "multiple authorization payloads");
    expect_find("Sentry sentry_key=a", "Bearer b", "c", BL_EAUTH, NULL,
                "multiple authorization payloads");
}

static void test_malformed(void)
{
    char long_key[80];

    memset(long_key, 'a', 65);
    long_key[65] = '\0';
    expect_find("Bearer " KEY, NULL, NULL, BL_EPARSE, NULL, "malformed X-Sentry-Auth header");
    expect_find("Sentry sentry_key=abc-def", NULL, NULL, BL_EPARSE, NULL,
                "invalid sentry_key in X-Sentry-Auth");
    expect_find("Sentry sentry_key=", NULL, NULL, BL_EPARSE, NULL, NULL);
    expect_find(NULL, "Sentry sentry_key=a.b", NULL, BL_EPARSE, NULL,
                "invalid sentry_key in Authorization");
    expect_find(NULL, "Basic !!!", NULL, BL_EPARSE, NULL, "malformed Basic credentials");
    expect_find(NULL, "Basic OmFiYw==", NULL, BL_EPARSE, NULL, "malformed Basic credentials");
    expect_find(NULL, "Basic", NULL, BL_EPARSE, NULL, "malformed Basic credentials");
    expect_find(NULL, "Bearer", NULL, BL_EPARSE, NULL, "malformed Bearer key");
    expect_find(NULL, "Bearer a b", NULL, BL_EPARSE, NULL, "malformed Bearer key");
    expect_find(NULL, NULL, "", BL_EPARSE, NULL, "invalid sentry_key in query string");
    expect_find(NULL, NULL, "key with space", BL_EPARSE, NULL, NULL);
    expect_find(NULL, NULL, long_key, BL_EPARSE, NULL, NULL);
    long_key[64] = '\0';
    expect_find(NULL, NULL, long_key, 0, long_key, NULL);
    /* A malformed source is an error even when another source is fine. */
    expect_find("Sentry sentry_key=bad!", NULL, KEY, BL_EPARSE, NULL, NULL);
}

static void expect_dsn(const char *dsn, int want_rc, const char *want_key, long long want_pid)
{
    char key[65] = "junk";
    long long pid = -1;
    int rc = sentry_auth_parse_dsn(dsn, strlen(dsn), key, &pid);

    CHECK_INT_EQ(rc, want_rc);
    if (rc != want_rc)
        fprintf(stderr, "  dsn '%s'\n", dsn);
    if (want_rc == 0) {
        CHECK_STR_EQ(key, want_key);
        CHECK_INT_EQ(pid, want_pid);
    }
}

static void test_dsn(void)
{
    expect_dsn("http://" KEY "@127.0.0.1:8000/1", 0, KEY, 1);
    expect_dsn("https://" KEY ":secret@sentry.example.com/42", 0, KEY, 42);
    expect_dsn("https://ABC@sentry.example.com/prefix/path/123456789", 0, "abc", 123456789);
    expect_dsn("http://k@[::1]:9000/7", 0, "k", 7);
    expect_dsn("http://k@[::1]/7", 0, "k", 7);
    expect_dsn("http://k@h/", BL_EPARSE, NULL, 0);
    expect_dsn("http://k@h/1/", BL_EPARSE, NULL, 0);
    expect_dsn("http://k@h/0", BL_EPARSE, NULL, 0);
    expect_dsn("http://k@h/42abc", BL_EPARSE, NULL, 0);
    expect_dsn("http://k@h/1234567890123456789", BL_EPARSE, NULL, 0);
    expect_dsn("http://k@h", BL_EPARSE, NULL, 0);
    expect_dsn("http://h/1", BL_EPARSE, NULL, 0);
    expect_dsn("http://@h/1", BL_EPARSE, NULL, 0);
    expect_dsn("http://k-1@h/1", BL_EPARSE, NULL, 0);
    expect_dsn("http://k@/1", BL_EPARSE, NULL, 0);
    expect_dsn("http://k@:80/1", BL_EPARSE, NULL, 0);
    expect_dsn("http://k@h:8x/1", BL_EPARSE, NULL, 0);
    expect_dsn("http://k@h:/1", BL_EPARSE, NULL, 0);
    expect_dsn("k@h/1", BL_EPARSE, NULL, 0);
    expect_dsn("://k@h/1", BL_EPARSE, NULL, 0);
    expect_dsn("1http://k@h/1", BL_EPARSE, NULL, 0);
    expect_dsn("", BL_EPARSE, NULL, 0);
    /* The length is respected: a longer buffer's prefix. */
    {
        char key[65];
        long long pid = 0;
        const char *d = "http://k@h/12/99";

        CHECK_INT_EQ(sentry_auth_parse_dsn(d, 13, key, &pid), 0);
        CHECK_INT_EQ(pid, 12);
    }
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_single_sources();
    test_missing_and_multiple();
    test_malformed();
    test_dsn();
    return t_done();
}
