/*
 * test_envelope.c - envelope_parse against the data-driven cases in
 * tests/data/ingest/envelope.test (protocols.md vectors S4-S10 and the
 * grammar's edges), plus event id normalization and item array growth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "ingest/envelope.h"

#include "t.h"

#define MAX_IN (64 * 1024)
#define MAX_ITEMS 16

struct want_item {
    char type[64];
    size_t len;
    int has_bytes;
    char bytes[4096];
    size_t nbytes;
};

struct env_case {
    char name[200];
    char in[MAX_IN];
    size_t inlen;
    struct envelope_limits lim;
    char want[16];
    char want_msg[200];
    char event_id[64];
    char dsn[200];
    int check_event_id, check_dsn;
    struct want_item items[MAX_ITEMS];
    size_t nitems;
};

/* Case-file escapes: \n \r \t \s \\ \xHH. */
static size_t unescape(const char *s, char *out, size_t cap)
{
    size_t n = 0;

    while (*s != '\0' && n + 1 < cap) {
        char c = *s++;

        if (c == '\\' && *s != '\0') {
            c = *s++;
            if (c == 'n')
                c = '\n';
            else if (c == 'r')
                c = '\r';
            else if (c == 't')
                c = '\t';
            else if (c == 's')
                c = ' ';
            else if (c == 'x' && s[0] != '\0' && s[1] != '\0') {
                char hex[3] = { s[0], s[1], 0 };

                c = (char)strtol(hex, NULL, 16);
                s += 2;
            }
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return n;
}

static void run_case(struct env_case *c)
{
    struct pool pool = POOL_INIT(4096);
    struct envelope env;
    struct bl_err err = { 0, "" };
    int rc = envelope_parse(c->in, c->inlen, &c->lim, &pool, &env, &err);
    int want_rc = strcmp(c->want, "ok") == 0        ? 0
                  : strcmp(c->want, "ETOOBIG") == 0 ? BL_ETOOBIG
                                                    : BL_EPARSE;
    int failed_before = t_fail;

    CHECK_INT_EQ(rc, want_rc);
    if (rc != 0 && c->want_msg[0] != '\0')
        CHECK(strstr(err.msg, c->want_msg) != NULL);
    if (rc == 0) {
        CHECK_INT_EQ(env.nitems, c->nitems);
        if (c->check_event_id)
            CHECK_STR_EQ(env.event_id, c->event_id);
        if (c->check_dsn) {
            CHECK(env.dsn.p != NULL && env.dsn.p[env.dsn.len] == '\0');
            CHECK_STR_EQ(env.dsn.p, c->dsn);
        }
        for (size_t i = 0; i < c->nitems && i < env.nitems; i++) {
            struct envelope_item *it = &env.items[i];
            struct want_item *w = &c->items[i];

            CHECK(slice_eq(it->type, w->type));
            CHECK_INT_EQ(it->payload.len, w->len);
            /* Payloads are slices of the input, never copies. */
            CHECK(it->payload.p >= c->in && it->payload.p + it->payload.len <= c->in + c->inlen);
            if (w->has_bytes)
                CHECK(it->payload.len == w->nbytes &&
                      memcmp(it->payload.p, w->bytes, w->nbytes) == 0);
        }
    }
    if (t_fail != failed_before)
        fprintf(stderr, "  in case '%s': rc %d, message '%s'\n", c->name, rc, err.msg);
    pool_release(&pool);
}

static void case_line(struct env_case *c, char *line)
{
    char *v = strchr(line, ':');

    if (v == NULL)
        return;
    *v++ = '\0';
    if (*v == ' ')
        v++;
    if (strcmp(line, "in") == 0) {
        c->inlen += unescape(v, c->in + c->inlen, sizeof(c->in) - c->inlen);
    } else if (strcmp(line, "max_items") == 0) {
        c->lim.max_items = strtoul(v, NULL, 10);
    } else if (strcmp(line, "max_header") == 0) {
        c->lim.max_header = strtoul(v, NULL, 10);
    } else if (strcmp(line, "max_depth") == 0) {
        c->lim.max_depth = (int)strtol(v, NULL, 10);
    } else if (strcmp(line, "want") == 0) {
        sscanf(v, "%15s", c->want);
        if (strchr(v, ' ') != NULL)
            snprintf(c->want_msg, sizeof(c->want_msg), "%.190s", strchr(v, ' ') + 1);
    } else if (strcmp(line, "event_id") == 0) {
        c->check_event_id = 1;
        snprintf(c->event_id, sizeof(c->event_id), "%s", strcmp(v, "-") == 0 ? "" : v);
    } else if (strcmp(line, "dsn") == 0) {
        c->check_dsn = 1;
        snprintf(c->dsn, sizeof(c->dsn), "%s", strcmp(v, "-") == 0 ? "" : v);
    } else if (strcmp(line, "item") == 0 && c->nitems < MAX_ITEMS) {
        struct want_item *w = &c->items[c->nitems++];
        int off = 0;

        sscanf(v, "%63s %zu %n", w->type, &w->len, &off);
        if (strcmp(w->type, "-") == 0)
            w->type[0] = '\0';
        w->has_bytes = off > 0 && v[off] != '\0';
        if (w->has_bytes)
            w->nbytes = unescape(v + off, w->bytes, sizeof(w->bytes));
    }
}

static void run_case_file(void)
{
    char path[512], line[8192];
    static struct env_case c;
    int ncases = 0, open = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/ingest/envelope.test", T_DATA);
    f = fopen(path, "r");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (strncmp(line, "=== ", 4) == 0) {
            if (open)
                run_case(&c);
            memset(&c, 0, sizeof(c));
            c.lim = ENVELOPE_LIMITS_DEFAULT;
            snprintf(c.name, sizeof(c.name), "%.190s", line + 4);
            open = 1;
            ncases++;
            continue;
        }
        case_line(&c, line);
    }
    if (open)
        run_case(&c);
    fclose(f);
    CHECK(ncases >= 45);
}

static void test_event_ids(void)
{
    char id[33];

    CHECK_INT_EQ(envelope_event_id("9ec79c33ec9942ab8353589fcb2e04dc", 32, id), 0);
    CHECK_STR_EQ(id, "9ec79c33ec9942ab8353589fcb2e04dc");
    CHECK_INT_EQ(envelope_event_id("9EC79C33EC9942AB8353589FCB2E04DC", 32, id), 0);
    CHECK_STR_EQ(id, "9ec79c33ec9942ab8353589fcb2e04dc");
    CHECK_INT_EQ(envelope_event_id("7c7b6585-f901-4351-bf8d-02711b721929", 36, id), 0);
    CHECK_STR_EQ(id, "7c7b6585f9014351bf8d02711b721929");
    CHECK_INT_EQ(envelope_event_id("7c7b6585-f901-4351-bf8d-02711b72192", 35, id), BL_EPARSE);
    CHECK_INT_EQ(envelope_event_id("7c7b6585f-901-4351-bf8d-02711b721929", 36, id), BL_EPARSE);
    CHECK_INT_EQ(envelope_event_id("7c7b6585-f901-4351-bf8d-02711b72192g", 36, id), BL_EPARSE);
    CHECK_INT_EQ(envelope_event_id("9ec79c33ec9942ab8353589fcb2e04dx", 32, id), BL_EPARSE);
    CHECK_INT_EQ(envelope_event_id("9ec79c33-ec9942ab8353589fcb2e04d", 32, id), BL_EPARSE);
    CHECK_INT_EQ(envelope_event_id("", 0, id), BL_EPARSE);
}

/* Hundreds of items: the item array grows in the pool and keeps every entry. */
static void test_many_items(void)
{
    struct buf b = BUF_INIT(1 << 20);
    struct pool pool = POOL_INIT(1024);
    struct envelope env;
    struct envelope_limits lim = ENVELOPE_LIMITS_DEFAULT;
    int ok = 1;

    buf_addstr(&b, "{}\n");
    for (int i = 0; i < 700; i++)
        buf_addf(&b, "{\"type\":\"t%d\"%s}\n%d\n", i, i % 2 ? ",\"length\":3" : "", 100 + i);
    CHECK_INT_EQ(envelope_parse(b.p, b.len, &lim, &pool, &env, NULL), 0);
    CHECK_INT_EQ(env.nitems, 700);
    for (size_t i = 0; i < env.nitems; i++) {
        char t[32], p[32];

        snprintf(t, sizeof(t), "t%zu", i);
        snprintf(p, sizeof(p), "%zu", 100 + i);
        ok &= slice_eq(env.items[i].type, t) && slice_eq(env.items[i].payload, p);
    }
    CHECK(ok);
    lim.max_items = 699;
    CHECK_INT_EQ(envelope_parse(b.p, b.len, &lim, &pool, &env, NULL), BL_ETOOBIG);
    pool_release(&pool);
    buf_release(&b);
}

int main(void)
{
    hash_global_init();
    json_global_init();
    run_case_file();
    test_event_ids();
    test_many_items();
    return t_done();
}
