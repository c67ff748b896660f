/*
 * Unit tests for src/ingest/scrub.c, data-driven from tests/data/scrub/scrub.test
 * (documents before and after, card numbers, key names), plus scrub_text's
 * "unchanged" answer and its refusal of text that is not JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/pool.h"
#include "ingest/scrub.h"
#include "t.h"

static void run_doc(const cJSON *c, const struct scrub_rules *r, int lineno)
{
    cJSON *in = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "in"), 1);
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "want");
    int same;

    scrub_tree(in, r);
    same = cJSON_Compare(in, want, 1);
    if (!same) {
        char *got = cJSON_PrintUnformatted(in);

        fprintf(stderr, "scrub.test:%d: got %s\n", lineno, got);
        free(got);
    }
    CHECK(same);
    cJSON_Delete(in);
}

static void run_case(const cJSON *c, int lineno)
{
    struct scrub_rules r = { json_str(c, "extra"), json_str(c, "safe") };
    const char *card = json_str(c, "card"), *key = json_str(c, "key");

    if (cJSON_GetObjectItemCaseSensitive(c, "in") != NULL) {
        run_doc(c, &r, lineno);
    } else if (card != NULL) {
        int want = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "is"));

        if (scrub_is_card(card, strlen(card)) != want)
            fprintf(stderr, "scrub.test:%d: card %s\n", lineno, card);
        CHECK_INT_EQ(scrub_is_card(card, strlen(card)), want);
    } else if (key != NULL) {
        int want = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "sensitive"));

        if (scrub_key_sensitive(key, strlen(key), &r) != want)
            fprintf(stderr, "scrub.test:%d: key %s\n", lineno, key);
        CHECK_INT_EQ(scrub_key_sensitive(key, strlen(key), &r), want);
    } else {
        fprintf(stderr, "scrub.test:%d: unknown case\n", lineno);
        CHECK(0);
    }
}

static void test_cases_file(void)
{
    size_t len = 0;
    char *text = t_read_file(T_DATA "/scrub/scrub.test", &len);
    char *line = text, *nl;
    int lineno = 0, ncases = 0;

    CHECK(text != NULL);
    for (; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
        cJSON *c;

        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        lineno++;
        if (line[0] == '\0' || line[0] == '#')
            continue;
        c = cJSON_Parse(line);
        if (c == NULL)
            fprintf(stderr, "scrub.test:%d: not JSON\n", lineno);
        CHECK(c != NULL);
        if (c == NULL)
            continue;
        run_case(c, lineno);
        ncases++;
        cJSON_Delete(c);
    }
    CHECK(ncases >= 30);
    free(text);
}

/* Whether needle occurs in the first len bytes of p. */
static int contains(const char *p, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, needle, n) == 0)
            return 1;
    return 0;
}

static void test_text(void)
{
    struct pool pool = POOL_INIT(4096);
    struct slice out = SLICE_NULL;
    const char clean[] = "{\"message\":\"fine\"}";
    const char dirty[] = "{\"message\":\"x\",\"password\":\"hunter2\"}";

    CHECK_INT_EQ(scrub_text(clean, strlen(clean), 1024, 16, NULL, &pool, &out), 0);
    CHECK(out.p == NULL);
    CHECK_INT_EQ(scrub_text(dirty, strlen(dirty), 1024, 16, NULL, &pool, &out), 1);
    CHECK(out.len > 0 && !contains(out.p, out.len, "hunter2"));
    CHECK(contains(out.p, out.len, "[Filtered]"));
    CHECK(scrub_text("{nope", 5, 1024, 16, NULL, &pool, &out) < 0);
    CHECK(scrub_text(dirty, strlen(dirty), 8, 16, NULL, &pool, &out) < 0); /* over max */
    pool_release(&pool);
}

/*
 * The per-thread memory of answers (scrub.c) must never answer for another
 * key: many keys, sensitive and not, of every length around the memo's
 * limit (30 bytes) and with shared ends, asked three times over in changing
 * orders, always get the answer of the words they hold.
 */
static void test_memo(void)
{
    static const char *const stems[] = { "lineno", "token",    "filename", "Password", "module",
                                         "x-csrf", "abs_path", "apiKey",   "in_app",   "SeSsIoN" };
    char key[64];

    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < 4000; i++) {
            int k = pass == 1 ? 3999 - i : (i * 7919) % 4000;
            const char *stem = stems[k % 10];
            int pad = (k / 10) % 40, n;
            int want = k % 10 == 1 || k % 10 == 3 || k % 10 == 5 || k % 10 == 7 || k % 10 == 9;

            /* the same stem after pad bytes of 'q' and a number: ends and starts shared */
            n = snprintf(key, sizeof(key), "%.*s%s%d", pad,
                         "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", stem, k / 400);
            if (scrub_key_sensitive(key, (size_t)n, NULL) != want)
                fprintf(stderr, "memo: pass %d key %s\n", pass, key);
            CHECK_INT_EQ(scrub_key_sensitive(key, (size_t)n, NULL), want);
            /* a prefix of the key that cuts the stem short is another key */
            if (n > pad + 2)
                CHECK_INT_EQ(scrub_key_sensitive(key, (size_t)pad + 2, NULL), 0);
        }
    }
}

int main(void)
{
    json_global_init();
    test_cases_file();
    test_text();
    test_memo();
    return t_done();
}
