/*
 * test_query.c - the search language from its data files:
 * tests/data/query/parse.test (query -> tree or error position) and
 * tests/data/query/match.test (documents, query -> which match).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "search/query.h"
#include "core/buf.h"
#include "core/pool.h"

#define MAX_DOCS 64
#define MAX_PAIRS 32
#define NOW_US INT64_C(1795521600000000) /* 2026-11-24T12:00:00Z */

struct pair {
    char key[64];
    char val[256];
};

struct doc {
    int id;
    int issue;
    struct pair kv[MAX_PAIRS];
    size_t n;
};

static struct doc docs[MAX_DOCS];
static size_t ndocs;

static int parse_target(const char *s, size_t n)
{
    if (n == 4 && memcmp(s, "logs", 4) == 0)
        return QUERY_LOGS;
    if (n == 6 && memcmp(s, "events", 6) == 0)
        return QUERY_EVENTS;
    if (n == 6 && memcmp(s, "issues", 6) == 0)
        return QUERY_ISSUES;
    return 0;
}

/* "<target> <query> => <want>": splits line in place. */
static int split_case(char *line, int *target, char **query, char **want)
{
    char *sp = strchr(line, ' '), *arrow = strstr(line, " =>");

    if (sp == NULL || arrow == NULL || arrow < sp)
        return -1;
    *target = parse_target(line, (size_t)(sp - line));
    *query = arrow == sp ? arrow : sp + 1;
    *arrow = '\0';
    *want = arrow + 3;
    while (**want == ' ')
        (*want)++;
    return *target != 0 ? 0 : -1;
}

static void parse_case(char *line, int lineno)
{
    struct pool pool;
    struct buf out;
    struct query_node *n = NULL;
    struct query_error err;
    char *query, *want;
    int target, rc;

    if (split_case(line, &target, &query, &want) < 0) {
        fprintf(stderr, "parse.test:%d: bad case line\n", lineno);
        CHECK(0);
        return;
    }
    pool_init(&pool, 4096);
    buf_init(&out, 1 << 16);
    rc = query_parse(query, strlen(query), target, &pool, &n, &err);
    if (strncmp(want, "error ", 6) == 0) {
        char *end;
        long pos = strtol(want + 6, &end, 10);

        while (*end == ' ')
            end++;
        if (rc == 0 || (long)err.pos != pos || strstr(err.msg, end) == NULL) {
            query_print(n, &out);
            fprintf(stderr, "parse.test:%d: '%s': want error %ld '%s', got rc=%d pos=%zu '%s' %s\n",
                    lineno, query, pos, end, rc, err.pos, err.msg, out.p);
            CHECK(0);
        } else {
            CHECK(1);
        }
    } else {
        if (rc == 0)
            query_print(n, &out);
        if (rc != 0 || strcmp(out.p, want) != 0) {
            fprintf(stderr, "parse.test:%d: '%s'\n  want %s\n  got  %s (%s)\n", lineno, query, want,
                    rc == 0 ? out.p : "error", rc == 0 ? "" : err.msg);
            CHECK(0);
        } else {
            CHECK(1);
        }
    }
    buf_release(&out);
    pool_release(&pool);
}

/* key=value or key="value with spaces"; returns the char after it. */
static char *read_pair(char *p, struct pair *kv)
{
    char *eq = strchr(p, '=');
    size_t n = 0;

    if (eq == NULL || (size_t)(eq - p) >= sizeof(kv->key))
        return NULL;
    memcpy(kv->key, p, (size_t)(eq - p));
    kv->key[eq - p] = '\0';
    p = eq + 1;
    if (*p == '"') {
        for (p++; *p != '\0' && *p != '"' && n + 1 < sizeof(kv->val); p++)
            kv->val[n++] = *p;
        p += *p == '"';
    } else {
        for (; *p != '\0' && *p != ' ' && n + 1 < sizeof(kv->val); p++)
            kv->val[n++] = *p;
    }
    kv->val[n] = '\0';
    return p;
}

static void add_doc(char *line, int issue)
{
    struct doc *d = &docs[ndocs++];
    char *p = strchr(line, ' ');

    d->id = atoi(line);
    d->issue = issue;
    while (p != NULL && *p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0' || d->n == MAX_PAIRS)
            break;
        p = read_pair(p, &d->kv[d->n++]);
    }
}

static size_t doc_get(const void *doc, const char *field, struct slice *vals, size_t max)
{
    const struct doc *d = doc;
    size_t n = 0;

    for (size_t i = 0; i < d->n && n < max; i++)
        if (strcmp(d->kv[i].key, field) == 0)
            vals[n++] = (struct slice){ d->kv[i].val, strlen(d->kv[i].val) };
    return n;
}

static void match_case(char *line, int lineno)
{
    struct pool pool;
    struct query_node *n = NULL;
    struct query_error err;
    char *query, *want, got[256] = "";
    int target;

    if (split_case(line, &target, &query, &want) < 0) {
        fprintf(stderr, "match.test:%d: bad case line\n", lineno);
        CHECK(0);
        return;
    }
    pool_init(&pool, 4096);
    if (query_parse(query, strlen(query), target, &pool, &n, &err) != 0) {
        fprintf(stderr, "match.test:%d: '%s' does not parse: %s\n", lineno, query, err.msg);
        CHECK(0);
        pool_release(&pool);
        return;
    }
    for (size_t i = 0; i < ndocs; i++) {
        size_t len = strlen(got);

        if (docs[i].issue != (target == QUERY_ISSUES))
            continue;
        if (query_match(n, doc_get, &docs[i], NOW_US))
            snprintf(got + len, sizeof(got) - len, "%s%d", len ? " " : "", docs[i].id);
    }
    if (got[0] == '\0')
        strcpy(got, "-");
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "match.test:%d: '%s': want %s, got %s\n", lineno, query, want, got);
        CHECK(0);
    } else {
        CHECK(1);
    }
    pool_release(&pool);
}

static void run_file(const char *name, int semantic)
{
    char path[512];
    size_t len;
    char *text, *line, *next;
    int lineno = 0;

    snprintf(path, sizeof(path), "%s/query/%s", T_DATA, name);
    text = t_read_file(path, &len);
    for (line = text; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        lineno++;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (!semantic)
            parse_case(line, lineno);
        else if (strncmp(line, "doc ", 4) == 0)
            add_doc(line + 4, 0);
        else if (strncmp(line, "issue ", 6) == 0)
            add_doc(line + 6, 1);
        else if (strncmp(line, "match ", 6) == 0)
            match_case(line + 6, lineno);
    }
    free(text);
}

/* Limits: nothing grows without bound, nothing reads past the text. */
static void test_limits(void)
{
    struct pool pool;
    struct query_node *n;
    struct query_error err;
    char q[QUERY_MAX_LEN + 2];

    pool_init(&pool, 4096);
    memset(q, '(', 100);
    memset(q + 100, 'a', 1);
    CHECK(query_parse(q, 101, QUERY_LOGS, &pool, &n, &err) != 0);
    CHECK(strstr(err.msg, "less nesting") != NULL);
    for (size_t i = 0; i < 300; i++) {
        q[2 * i] = 'w';
        q[2 * i + 1] = ' ';
    }
    CHECK(query_parse(q, 600, QUERY_LOGS, &pool, &n, &err) != 0);
    CHECK(strstr(err.msg, "too many terms") != NULL);
    memset(q, 'a', sizeof(q));
    CHECK(query_parse(q, QUERY_MAX_LEN + 1, QUERY_LOGS, &pool, &n, &err) != 0);
    CHECK(query_parse(q, QUERY_MAX_LEN, QUERY_LOGS, &pool, &n, &err) == 0);
    CHECK(query_parse("a\0b", 3, QUERY_LOGS, &pool, &n, &err) != 0);
    CHECK_INT_EQ(err.pos, 1);
    pool_release(&pool);
}

int main(void)
{
    run_file("parse.test", 0);
    run_file("match.test", 1);
    test_limits();
    return t_done();
}
