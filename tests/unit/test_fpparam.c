/*
 * test_fpparam.c - the message parameterizer (src/ingest/fingerprint_param.c)
 * gives exactly what the previous one gave (tests/fuzz/param_ref.h), so no
 * fingerprint or template hash changes: over many generated messages made
 * of every shape a matcher looks for, near misses of each, the separators
 * and bytes that end or join them, and random bytes put in anywhere.
 * tests/fuzz/fuzz_fpparam.c does the same on arbitrary bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../fuzz/param_diff.h"
#include "t.h"

#define MESSAGES 20000

static const char *const tokens[] = {
    /* e-mail */
    "a@b.com",
    "first.last+tag@mail.example.org",
    "x@y",
    "user@host.c",
    "@foo.com",
    "a_b%c-d@x-y.io.",
    "bob@EXAMPLE.COM",
    /* URL */
    "https://example.com/path?q=1",
    "http://a.b/c).",
    "ftp+x://h",
    "ab://",
    "x://",
    "://x",
    "git://host:22/repo.git,",
    "s3.a-b://bucket",
    /* UUID */
    "123e4567-e89b-12d3-a456-426614174000",
    "123e4567-e89b-12d3-a456-42661417400",
    "123E4567-E89B-12D3-A456-426614174000x",
    "123e4567-e89b-12d3-a456",
    "deadbeef-",
    /* dates */
    "2024-05-01",
    "2024-13-01",
    "2024-05-32",
    "2024-05-01T10:20:30Z",
    "2024-05-01 10:20:30.123+02:00",
    "2024-05-01T10:20:30+0200",
    "2024-05-01T10:20",
    "10:20:30",
    "25:00:00",
    "10:20:30,5",
    "10:61:00",
    "Apr 17 22:31:45",
    "Apr  7 22:31:45 2019",
    "Thu Apr 17 22:31:45 UTC 2019",
    "Mon, 17 Apr 2019 22:31:45 +0000",
    "17 Apr 2019 22:31:45 GMT",
    "17 Apr 2019",
    "17/Apr/2019:22:31:45 +0000",
    "17/apr/2019",
    "Monday, 17 April 2019",
    "Sep 31",
    "Tuesday",
    "Wed 32 Jan",
    "jan 1 00:00:00 CEST",
    "Fri Dec  5 10:00:00 +01:00 2025",
    /* IP */
    "10.0.0.1",
    "256.1.1.1",
    "1.2.3.4.5",
    "1.2.3.4a",
    "::1",
    "fe80::1ff:fe23:4567:890a",
    "1:2:3:4:5:6:7:8",
    "1:2:3",
    "abcd::",
    "12345::1",
    "a:b:c:d:e:f:0:1:2",
    "::",
    ":::",
    /* versions */
    "1.2.3",
    "v10.4.0-beta.2",
    "2.0.1+build5",
    "1.2",
    "V1.2.3.",
    "1.2.3-",
    "1.2.3.4",
    "v1",
    "1.2.3_x",
    "1.2.3-rc.1.",
    /* host names */
    "api.stripe.com",
    "db-1.internal",
    "x.local.",
    "foo.bar",
    "my-host.svc",
    "a.b.c.LAN",
    ".com",
    "-x.io",
    "f.io(",
    "module.func(",
    "shop.payments.gateway",
    "www.example.co.uk",
    /* digests and hex */
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "d41d8cd98f00b204e9800998ecf8427e",
    "da39a3ee5e6b4b0d3255bfef95601890afd8070",
    "d41d8cd98f00b204e9800998ecf8427e0",
    "0xdeadBEEF",
    "0x",
    "0xg",
    "0x1_",
    "deadbeef1",
    "deadbeef",
    "abcdefab",
    "1234567890abcdef",
    "12345678",
    "123456789012",
    /* durations, numbers */
    "12ms",
    "1.5s",
    "5\xc2\xb5s",
    "3mins",
    "10h",
    "2x",
    "7min.",
    "1.5",
    "1.",
    "12sec_",
    "4us",
    "250ns",
    "9m",
    "1",
    "1234567",
    "0",
    "007",
    "3.14",
    "-5",
    "+7",
    "1e10",
    "1_000",
    "99999",
    "12.34ms",
    "500",
    "4567",
    /* words */
    "payment",
    "failed",
    "for",
    "order",
    "SKU-123",
    "HTTP/1.1",
    "u_42",
    "key=value",
    "rows=5",
    "\xc3\xa9t\xc3\xa9",
    "na\xc3\xafve",
    "\xe6\x97\xa5\xe6\x9c\xac",
    "Mar",
    "may",
    "MAYBE",
    "Jan2",
    "Sat,",
    "FRI",
    "GET",
    "/api/orders/123",
    "card",
    "declined",
    "(code",
    "v",
    "vx",
    "T",
    "Z",
    /* after '=' */
    "k=\"quoted str\"",
    "k='x'",
    "k=\"unterminated",
    "flag=true",
    "flag=FALSE",
    "flag=trueish",
    "x=1",
    "a==b",
    "=true",
    "=\"\"",
    "id=12345678",
    "at=2024-05-01",
};

static const char *const seps[] = {
    " ",  " ",    " ",    "  ", ", ", ": ",       "(",    ")", "[", "]",    "/",
    "\n", "\r\n", "\n\n", "\t", "=",  "-",        ".",    ":", "@", "_",    "%",
    "+",  "'",    "\"",   "<",  ">",  "\xc2\xb5", "\xff", "",  "",  " \n ",
};

static const char alphabet[] = "0123456789abcdefxvAFZT.:-/@_%+= \n\"',()\xc2\xb5\x80";

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

#define PICK(a) (a)[rnd(sizeof(a) / sizeof((a)[0]))]

/* A message of tokens and separators, now and then with random bytes put in or overwritten. */
static size_t gen(char *out, size_t cap)
{
    size_t n = 0, ntok = 1 + rnd(10);

    if (rnd(10) == 0) {
        /* Pure noise of the bytes the matchers look at. */
        size_t k = rnd(80);

        for (size_t i = 0; i < k && n + 1 < cap; i++)
            out[n++] = alphabet[rnd(sizeof(alphabet) - 1)];
        return n;
    }
    for (size_t t = 0; t < ntok; t++) {
        const char *parts[2] = { t > 0 ? PICK(seps) : "", PICK(tokens) };

        for (size_t k = 0; k < 2; k++) {
            size_t l = strlen(parts[k]);

            if (n + l + 1 >= cap)
                return n;
            memcpy(out + n, parts[k], l);
            n += l;
        }
    }
    for (uint32_t m = rnd(4); m > 0 && n > 0; m--) {
        size_t at = rnd((uint32_t)n);

        if (rnd(2) == 0 || n + 1 >= cap) {
            out[at] = alphabet[rnd(sizeof(alphabet) - 1)];
        } else {
            memmove(out + at + 1, out + at, n - at);
            out[at] = alphabet[rnd(sizeof(alphabet) - 1)];
            n++;
        }
    }
    return n;
}

static void test_generated(void)
{
    char msg[1024];
    size_t bad = 0;

    for (int i = 0; i < MESSAGES; i++) {
        size_t n = gen(msg, sizeof(msg));
        const char *why = NULL;

        if (param_diff(msg, n, &why) != 0 && bad++ < 10)
            fprintf(stderr, "differs (%s): \"%.*s\"\n", why, (int)n, msg);
    }
    CHECK_INT_EQ(bad, 0);
}

/* Every token alone, and each pair with every separator between them. */
static void test_pairs(void)
{
    char msg[512];
    size_t bad = 0, nt = sizeof(tokens) / sizeof(tokens[0]);

    for (size_t a = 0; a < nt; a++) {
        const char *why = NULL;

        if (param_diff(tokens[a], strlen(tokens[a]), &why) != 0 && bad++ < 10)
            fprintf(stderr, "differs (%s): \"%s\"\n", why, tokens[a]);
        for (size_t s = 0; s < sizeof(seps) / sizeof(seps[0]); s++) {
            size_t b = (a * 7 + s * 13) % nt;
            int n = snprintf(msg, sizeof(msg), "%s%s%s", tokens[a], seps[s], tokens[b]);

            if (param_diff(msg, (size_t)n, &why) != 0 && bad++ < 10)
                fprintf(stderr, "differs (%s): \"%s\"\n", why, msg);
        }
    }
    CHECK_INT_EQ(bad, 0);
}

/* Long messages (past the memo) and the memo's answers for both versions of one message. */
static void test_long_and_memo(void)
{
    char big[5000];
    const char *why = NULL;
    size_t n = 0;

    while (n + 40 < sizeof(big))
        n += (size_t)snprintf(big + n, sizeof(big) - n, "at 2024-05-01 v1.2.3 id %zu; ", n);
    CHECK_INT_EQ(param_diff(big, n, &why), 0);
    CHECK_INT_EQ(param_diff("Apr 17 22:31:45 took 1.2.3", 26, &why), 0);
    CHECK_INT_EQ(param_diff("", 0, &why), 0);
}

int main(void)
{
    test_pairs();
    test_long_and_memo();
    test_generated();
    return t_done();
}
