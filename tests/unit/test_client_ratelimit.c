/*
 * test_client_ratelimit.c - Retry-After and X-Sentry-Rate-Limits parsing
 * and how answers move the per-category deadlines (protocols.md §1.9).
 */
#include <string.h>

#include "bilor/bilor.h"
#include "client/ratelimit.h"
#include "core/hash.h"
#include "core/json.h"

#include "t.h"

#define NOW 1000000000LL  /* monotonic µs */
#define WALL 1714564800LL /* 2024-05-01T12:00:00Z */
#define S(x) ((int64_t)(x)*1000000)

static void test_sentry_header(void)
{
    struct bc_limits l;

    bc_limits_init(&l);
    CHECK_INT_EQ(
        bc_limits_update(&l, 429, "1", "60:error;default:project:quota, 5::key", NOW, WALL), 1);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), NOW + S(60));
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_INTERNAL), NOW + S(5));

    /* The Sentry header wins over Retry-After, even when it names none of our categories. */
    bc_limits_init(&l);
    CHECK_INT_EQ(bc_limits_update(&l, 429, "30", "30:transaction:organization", NOW, WALL), 0);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), 0);

    /* It counts on any status, fractional seconds included. */
    bc_limits_init(&l);
    CHECK_INT_EQ(bc_limits_update(&l, 200, NULL, "2.5:internal", NOW, WALL), 1);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_INTERNAL), NOW + 2500000);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), 0);

    /* Limits only grow. */
    bc_limits_init(&l);
    bc_limits_parse_sentry(&l, "60:error", NOW);
    bc_limits_parse_sentry(&l, "5:error", NOW);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), NOW + S(60));

    /* Malformed limits are ignored, the good ones next to them are not. */
    bc_limits_init(&l);
    CHECK_INT_EQ(bc_limits_parse_sentry(&l, "abc:error, :error, 7, ,,  8:default ", NOW), 1);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), NOW + S(8));

    /* Silly values are capped at a day. */
    bc_limits_init(&l);
    bc_limits_parse_sentry(&l, "99999999999999999999::org", NOW);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), NOW + S(BC_RETRY_MAX_S));
}

static void test_retry_after(void)
{
    struct bc_limits l;

    CHECK_INT_EQ(bc_retry_after_seconds("7", WALL), 7);
    CHECK_INT_EQ(bc_retry_after_seconds(" 2.2 ", WALL), 3);
    CHECK_INT_EQ(bc_retry_after_seconds("Wed, 01 May 2024 12:00:42 GMT", WALL), 42);
    CHECK_INT_EQ(bc_retry_after_seconds("Wed, 01 May 2024 11:00:00 GMT", WALL), 0);
    CHECK_INT_EQ(bc_retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", 784111777), 0);
    CHECK_INT_EQ(bc_retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", 784111770), 7);
    CHECK_INT_EQ(bc_retry_after_seconds("soon", WALL), -1);
    CHECK_INT_EQ(bc_retry_after_seconds("", WALL), -1);
    CHECK_INT_EQ(bc_retry_after_seconds(NULL, WALL), -1);
    CHECK_INT_EQ(bc_retry_after_seconds("Wed, 01 Mxy 2024 12:00:42 GMT", WALL), -1);

    /* A 429 without the Sentry header blocks everything for Retry-After, else 60 s. */
    bc_limits_init(&l);
    CHECK_INT_EQ(bc_limits_update(&l, 429, "3", NULL, NOW, WALL), 1);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), NOW + S(3));
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_INTERNAL), NOW + S(3));
    bc_limits_init(&l);
    bc_limits_update(&l, 429, NULL, NULL, NOW, WALL);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), NOW + S(BC_RETRY_DEFAULT_S));
    bc_limits_init(&l);
    bc_limits_update(&l, 429, "whenever", "", NOW, WALL);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), NOW + S(BC_RETRY_DEFAULT_S));
    /* Retry-After on other statuses is not a rate limit. */
    bc_limits_init(&l);
    CHECK_INT_EQ(bc_limits_update(&l, 503, "9", NULL, NOW, WALL), 0);
    CHECK_INT_EQ(bc_limits_until(&l, BC_CAT_ERROR), 0);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_sentry_header();
    test_retry_after();
    return t_done();
}
