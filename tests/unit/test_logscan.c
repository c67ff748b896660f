/*
 * Unit tests for src/ingest/normalize_log_scan.c: a JSON line read from its
 * text must give the event the tree path gives (json_parse, scrub_tree,
 * normalize_log_line), or decline. Differential over hand-made edge cases,
 * the scrubbing cases (tests/data/scrub/scrub.test) as lines, the log-line
 * normalizer cases (tests/data/normalize) and every line of every fuzz
 * corpus (tests/fuzz/corpus), each under the default limits, tiny limits
 * and a project's scrubbing additions. Lines like the bench's must take the
 * text path, or it would be tested by nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "../fuzz/logscan_diff.h"
#include "t.h"
#include "t_corpus.h"

struct tally {
    size_t same, tree, skip;
};

static struct tally tally;

/* Runs one line under every configuration; returns the answer under the defaults. */
static int diff_all(const char *line, size_t n, const char *where)
{
    struct ingest_limits lim = INGEST_LIMITS_DEFAULT, tiny = INGEST_LIMITS_DEFAULT;
    struct scrub_rules extra = { "user, remote_addr", "token,X-Auth" };
    const char *why;
    int first = LSD_SKIP;

    tiny.max_string = 7;
    tiny.max_depth = 3;
    tiny.max_line = 200;
    for (int cfg = 0; cfg < 3; cfg++) {
        int rc = logscan_diff(line, n, cfg == 2 ? &extra : NULL, cfg == 1 ? &tiny : &lim, &why);

        if (rc == LSD_DIFF)
            fprintf(stderr, "%s (config %d): %s: %.*s\n", where, cfg, why, (int)(n > 300 ? 300 : n),
                    line);
        CHECK(rc != LSD_DIFF);
        if (cfg == 0)
            first = rc;
    }
    tally.same += first == LSD_SAME;
    tally.tree += first == LSD_TREE;
    tally.skip += first == LSD_SKIP;
    return first;
}

static int diff_str(const char *line)
{
    return diff_all(line, strlen(line), "case");
}

/* Lines the text path must read itself. */
static void test_text_path_taken(void)
{
    static const char *const lines[] = {
        "{\"timestamp\":\"2026-12-01T10:00:00.123456Z\",\"level\":\"info\",\"logger\":"
        "\"nginx.access\",\"host\":\"web-3\",\"service\":\"shop\",\"request_id\":"
        "\"9f2c1e0d4b7a44d5a1c3e9f0b2d4c6e8\",\"message\":\"GET /api/orders/123 HTTP/1.1 200 "
        "5120 12.50ms\",\"method\":\"GET\",\"path\":\"/api/orders/123\",\"status\":200,\"bytes\":"
        "5120,\"duration_ms\":12.50,\"remote_addr\":\"203.0.113.7\",\"user_agent\":\"Mozilla/5.0 "
        "(X11; Linux x86_64) Firefox/126.0\"}",
        "{\"ts\":1714564800.25,\"level\":\"warn\",\"msg\":\"disk \\\"almost\\\" full\\n\","
        "\"host\":\"web-1\",\"trace_id\":\"5b8efff798038103d269b633813fc60c\",\"request_id\":8812}",
        "{\"time\":\"2024-05-01T12:00:00Z\",\"level\":30,\"message\":\"caf\\u00e9 \\ud83d\\ude00 "
        "nul\\u0000end\",\"disk\":{\"free_mb\":120,\"tags\":{\"a\":1}},\"list\":[1,2,[3]]}",
        "{\"ms\\u0067\":\"escaped key\",\"message\":null,\"level\":\"nope\",\"logger\":5}",
        "{\"timestamp\":null,\"time\":\"garbage\",\"@timestamp\":1714564800000,\"message\":true}",
        "{\"message\":12.5e3,\"request_id\":-0.5,\"span_id\":\"ab\",\"trace_id\":1e300}",
        "{\"message\":\"x\",\"message\":\"second\",\"hostname\":\"h\",\"host\":7}",
        "{}",
        "  {\"message\" : \"spaces\" , \"level\" : \"ERROR\" }  ",
        "{\"message\":\"slow query took 25 ms (rows=4)\",\"n\":1700000000000}",
        "{\"url\":\"/x?a=1&b=2\",\"query\":\"q=shoes\",\"message\":\"order 4111111111111112\"}",
    };

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        int rc = diff_str(lines[i]);

        if (rc != LSD_SAME)
            fprintf(stderr, "text path not taken (%d): %s\n", rc, lines[i]);
        CHECK_INT_EQ(rc, LSD_SAME);
    }
}

/* Lines only the tree path may decode: something to scrub, or a value only it reads. */
static void test_tree_path_taken(void)
{
    static const char *const lines[] = {
        "{\"message\":\"login\",\"password\":\"hunter2\"}",
        "{\"message\":\"login\",\"ctx\":{\"api_key\":null}}",
        "{\"message\":\"paid with 4111 1111 1111 1111\"}",
        "{\"message\":\"m\",\"nested\":{\"card\":\"5555-5555-5555-4444\"}}",
        "{\"message\":\"m\",\"n\":4111111111111111}",
        "{\"message\":\"m\",\"n\":4.111111111111111e15}",
        "{\"message\":\"m\",\"query_string\":\"q=1&token=abc\"}",
        "{\"message\":\"m\",\"data\":\"user=bob&pass\\u0077d=x\"}",
        "{\"message\":\"m\",\"tags\":[[\"session_kind\",\"long\"]]}",
        "{\"message\":{\"text\":\"an object\"}}",
        "{\"msg\":[1,2,3]}",
        "{\"pass\\u0077ord\":\"x\"}",
    };

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        int rc = diff_str(lines[i]);

        if (rc != LSD_TREE)
            fprintf(stderr, "tree path not taken (%d): %s\n", rc, lines[i]);
        CHECK_INT_EQ(rc, LSD_TREE);
    }
}

/*
 * Strings are read eight bytes at a time: a card, an escape and the closing
 * quote at every offset from a word's start, in strings of every length
 * around 13 digits.
 */
static void test_offsets(void)
{
    char line[256], pad[32], sp[32];

    for (int off = 0; off < 17; off++) {
        memset(pad, 'a', (size_t)off);
        pad[off] = '\0';
        memset(sp, ' ', (size_t)off);
        sp[off] = '\0';
        /* A card (standing alone): the scrub replaces it, only the tree path may store the line. */
        snprintf(line, sizeof(line), "{\"message\":\"%s4111 1111 1111 1111%s\"}", sp, sp);
        CHECK_INT_EQ(diff_str(line), LSD_TREE);
        snprintf(line, sizeof(line), "{\"message\":\"%s4111-1111-1111-1111\"}", sp);
        CHECK_INT_EQ(diff_str(line), LSD_TREE);
        /* After a letter it is part of a word: no card, whichever path. */
        snprintf(line, sizeof(line), "{\"message\":\"a%s4111111111111111\"}", pad);
        CHECK(diff_str(line) != LSD_DIFF);
        /* 12 digits in a run, and 13 broken in two: no card. */
        snprintf(line, sizeof(line), "{\"message\":\"%s411111111111 x1\"}", pad);
        CHECK_INT_EQ(diff_str(line), LSD_SAME);
        snprintf(line, sizeof(line), "{\"message\":\"%s4111111 11-1111\"}", pad);
        CHECK(diff_str(line) != LSD_DIFF);
        /* Escapes and quotes around the block edges. */
        snprintf(line, sizeof(line), "{\"message\":\"%s\\\"q\\\\%s\",\"k%s\":\"\\n\"}", pad, pad,
                 pad);
        CHECK_INT_EQ(diff_str(line), LSD_SAME);
        snprintf(line, sizeof(line), "{\"message\":\"%s\\u0034111111111111111\"}", pad);
        CHECK(diff_str(line) != LSD_DIFF);
        snprintf(line, sizeof(line), "{\"msg\":\"%s\",\"message\":\"%s\"}", pad, pad);
        CHECK(diff_str(line) != LSD_DIFF);
    }
}

/*
 * Card-like runs against the 16-byte blocks a string is read in (the closing
 * quote and the card bytes looked for in one pass): random strings of
 * digits, spaces, dashes and letters, 0-79 bytes, as the message alone (its
 * end within 16 bytes of the line's: the byte-by-byte tail) or followed by
 * more members (whole blocks), sometimes with an escape.
 */
static void test_card_blocks(void)
{
    static const char bytes[] = "0123456789012345678901234567890123456789  --ax";
    uint64_t r = 0x9e3779b97f4a7c15u;
    char line[256], str[96];
    size_t tree = 0;

    for (int i = 0; i < 20000; i++) {
        size_t len;

        r = r * 6364136223846793005u + 1442695040888963407u;
        len = (size_t)(r >> 33) % 80;
        for (size_t k = 0; k < len; k++) {
            r = r * 6364136223846793005u + 1442695040888963407u;
            str[k] = bytes[(r >> 33) % (sizeof(bytes) - 1)];
        }
        str[len] = '\0';
        if (len > 2 && i % 7 == 0)
            str[len / 2] = '\\', str[len / 2 + 1] = 'n';
        if (i % 2 == 0)
            snprintf(line, sizeof(line), "{\"message\":\"%s\"}", str);
        else
            snprintf(line, sizeof(line), "{\"message\":\"%s\",\"user_agent\":\"Mozilla/5.0\"}",
                     str);
        tree += diff_str(line) == LSD_TREE;
    }
    /* Cards (Luhn-valid runs, which the scrub replaces) were made, across blocks too. */
    CHECK(tree > 20);
}

static void diff_doc(const char *doc, const char *where)
{
    (void)diff_all(doc, strlen(doc), where);
}

/* Every line of a file (fuzz inputs hold one or several lines). */
static void diff_file_lines(const char *path)
{
    size_t len = 0;
    char *text = t_read_file(path, &len);
    size_t pos = 0;

    if (text == NULL)
        return;
    while (pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;

        pos += n + 1;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        (void)diff_all(line, n, path);
    }
    free(text);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    test_text_path_taken();
    test_tree_path_taken();
    test_offsets();
    test_card_blocks();
    t_scrub_cases(diff_doc);
    t_normalize_cases(diff_doc);
    t_fuzz_files(diff_file_lines);
    printf("lines: %zu by text, %zu by tree, %zu not stored\n", tally.same, tally.tree, tally.skip);
    CHECK(tally.same > 50);
    return t_done();
}
