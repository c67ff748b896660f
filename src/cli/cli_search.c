/*
 * cli_search.c - `bilor login`, `bilor search` and `bilor tail`: the search
 * API of a running server from a terminal, over libcurl.
 *
 * Where the server is and which token to use come from, first to last:
 * --url/--token, BILOR_URL/BILOR_TOKEN, then the file `bilor login` writes
 * ($XDG_CONFIG_HOME/bilor/cli.conf, else ~/.config/bilor/cli.conf; mode
 * 0600 since it holds a token; lines "url=..." and "token=...").
 *
 * Output: one line per log line, coloured by level when stdout is a
 * terminal; with --json each line is the API's JSON object on its own line
 * (NDJSON), for jq and scripts.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/banned.h"

#define CLI_URL_MAX 1024
#define CLI_TOKEN_MAX 256
#define CLI_BODY_MAX (64u << 20)

struct remote {
    char url[CLI_URL_MAX]; /* without a trailing slash or /api/0 */
    char token[CLI_TOKEN_MAX];
};

struct opts {
    struct remote r;
    const char *project, *since, *until, *limit;
    int json, events;
    char query[4096];
};

static int config_path(char *out, size_t len, int make_dir)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char dir[CLI_URL_MAX];
    int n;

    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(dir, sizeof(dir), "%s/bilor", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(dir, sizeof(dir), "%s/.config/bilor", home);
    else
        return -1;
    if (n < 0 || (size_t)n >= sizeof(dir))
        return -1;
    if (make_dir) {
        char parent[CLI_URL_MAX];

        snprintf(parent, sizeof(parent), "%s", dir);
        *strrchr(parent, '/') = '\0';
        mkdir(parent, 0700);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return -1;
    }
    n = snprintf(out, len, "%s/cli.conf", dir);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void set_url(struct remote *r, const char *u)
{
    size_t n = strlen(u);

    if (n >= sizeof(r->url))
        n = sizeof(r->url) - 1; /* a URL this long fails on its own */
    memcpy(r->url, u, n);
    r->url[n] = '\0';
    while (n > 0 && r->url[n - 1] == '/')
        r->url[--n] = '\0';
    if (n >= 6 && strcmp(r->url + n - 6, "/api/0") == 0)
        r->url[n - 6] = '\0';
}

static void copy_token(struct remote *r, const char *t)
{
    size_t n = strlen(t);

    if (n >= sizeof(r->token))
        n = sizeof(r->token) - 1;
    memcpy(r->token, t, n);
    r->token[n] = '\0';
}

static void read_config(struct remote *r)
{
    char path[CLI_URL_MAX], line[CLI_URL_MAX + 16];
    FILE *f;

    if (config_path(path, sizeof(path), 0) < 0 || (f = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "url=", 4) == 0 && r->url[0] == '\0')
            set_url(r, line + 4);
        else if (strncmp(line, "token=", 6) == 0 && r->token[0] == '\0')
            copy_token(r, line + 6);
    }
    fclose(f);
}

/* Flags first, then the environment, then the config file. */
static int resolve(struct remote *r, const char *url, const char *token)
{
    const char *eu = getenv("BILOR_URL"), *et = getenv("BILOR_TOKEN");

    r->url[0] = r->token[0] = '\0';
    if (url != NULL)
        set_url(r, url);
    else if (eu != NULL && eu[0] != '\0')
        set_url(r, eu);
    if (token != NULL)
        copy_token(r, token);
    else if (et != NULL && et[0] != '\0')
        copy_token(r, et);
    read_config(r);
    if (r->url[0] == '\0') {
        cli_fail("no server: pass --url, set BILOR_URL or run 'bilor login'");
        return -1;
    }
    return 0;
}

/* HTTP. */

struct fetch {
    struct buf body;
    int (*on_data)(void *arg, const char *p, size_t n); /* streaming; NULL: collect */
    void *arg;
};

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    struct fetch *f = ud;
    size_t n = size * nmemb;

    if (f->on_data != NULL)
        return f->on_data(f->arg, p, n) == 0 ? n : 0;
    return buf_add(&f->body, p, n) == 0 ? n : 0;
}

static long http_get(const struct remote *r, const char *path, struct fetch *f)
{
    char url[CLI_URL_MAX * 4], auth[CLI_TOKEN_MAX + 32];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    long status = -1;
    CURLcode rc;

    if (c == NULL)
        return -1;
    snprintf(url, sizeof(url), "%s%s", r->url, path);
    h = curl_slist_append(h, "Accept: application/json");
    if (r->token[0] != '\0') {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", r->token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (f->on_data == NULL)
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        cli_fail("%s: %s", url, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* The API's {"error": ...} of a failed request, on stderr. */
static int api_failed(long status, const struct buf *body)
{
    struct json_limits lim = JSON_LIMITS_DEFAULT;
    cJSON *o = body->len ? json_parse(body->p, body->len, &lim, NULL) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");

    if (status < 0)
        return 1;
    cli_fail("server answered %ld: %s", status,
             cJSON_IsString(e) ? e->valuestring : "(no error message)");
    cJSON_Delete(o);
    return 1;
}

/* Output. */

static const char *level_colour(const char *level)
{
    if (level == NULL)
        return "";
    if (strcmp(level, "fatal") == 0 || strcmp(level, "error") == 0)
        return "\033[31m";
    if (strcmp(level, "warning") == 0)
        return "\033[33m";
    if (strcmp(level, "debug") == 0 || strcmp(level, "trace") == 0)
        return "\033[2m";
    return "\033[32m";
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void print_line(const cJSON *o, int json, int tty)
{
    const char *level = str_of(o, "level"), *host = str_of(o, "server_name");
    const char *msg = str_of(o, "message");
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(o, "attributes");

    if (json) {
        char *s = cJSON_PrintUnformatted(o);

        if (s != NULL)
            printf("%s\n", s);
        free(s);
        return;
    }
    if (msg == NULL)
        msg = str_of(o, "title");
    printf("%s %s%-7s%s %s%s%s", str_of(o, "timestamp") ? str_of(o, "timestamp") : "-",
           tty ? level_colour(level) : "", level ? level : "-", tty ? "\033[0m" : "",
           host ? host : "", host ? " " : "", msg ? msg : "");
    if (cJSON_IsObject(attrs) && attrs->child != NULL) {
        char *s = cJSON_PrintUnformatted(attrs);

        printf(" %s%s%s", tty ? "\033[2m" : "", s ? s : "", tty ? "\033[0m" : "");
        free(s);
    }
    putchar('\n');
}

/* Arguments. */

static int take(int argc, char **argv, int *i, const char *name, const char **out)
{
    size_t n = strlen(name);

    if (strcmp(argv[*i], name) == 0) {
        if (*i + 1 >= argc)
            return -1;
        *out = argv[++*i];
        return 1;
    }
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return 1;
    }
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o, const char *usage)
{
    const char *url = NULL, *token = NULL;

    memset(o, 0, sizeof(*o));
    o->project = "1";
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        int t = 0;

        if ((t = take(argc, argv, &i, "--url", &url)) ||
            (t = take(argc, argv, &i, "--token", &token)) ||
            (t = take(argc, argv, &i, "--project", &o->project)) ||
            (t = take(argc, argv, &i, "--since", &o->since)) ||
            (t = take(argc, argv, &i, "--until", &o->until)) ||
            (t = take(argc, argv, &i, "--limit", &o->limit))) {
            if (t < 0)
                goto usage;
            continue;
        }
        if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
        } else if (strcmp(argv[i], "--events") == 0) {
            o->events = 1;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            goto usage;
        } else {
            size_t len = strlen(o->query);

            v = argv[i];
            snprintf(o->query + len, sizeof(o->query) - len, "%s%s", len ? " " : "", v);
        }
    }
    return resolve(&o->r, url, token) < 0 ? 1 : 0;
usage:
    fprintf(stderr, "usage: bilor %s\n", usage);
    return 2;
}

static void add_param(struct buf *b, CURL *c, const char *name, const char *v)
{
    char *e;

    if (v == NULL)
        return;
    e = curl_easy_escape(c, v, 0);
    buf_addf(b, "%s%s=%s", strchr(b->p, '?') != NULL ? "&" : "?", name, e ? e : "");
    curl_free(e);
}

/* /api/0/projects/N/{logs,events}/[tail/]?... */
static char *api_path(const struct opts *o, const char *what)
{
    struct buf b = BUF_INIT(16384);
    CURL *c = curl_easy_init();
    char *out;

    buf_addf(&b, "/api/0/projects/%s/%s/", o->project, what);
    if (o->query[0] != '\0')
        add_param(&b, c, "query", o->query);
    add_param(&b, c, "since", o->since);
    add_param(&b, c, "until", o->until);
    add_param(&b, c, "limit", o->limit);
    curl_easy_cleanup(c);
    out = buf_detach(&b, NULL);
    return out;
}

static const char search_usage[] =
    "search [--project N] [--since 1h] [--until T] [--limit N] [--json] [--events] "
    "[--url URL] [--token T] QUERY";

int cli_search(int argc, char **argv)
{
    struct opts o;
    struct fetch f = { BUF_INIT(CLI_BODY_MAX), NULL, NULL };
    struct json_limits lim = { CLI_BODY_MAX, 64 };
    cJSON *arr = NULL, *it;
    char *path;
    long status;
    int rc = parse_opts(argc, argv, &o, search_usage);

    if (rc != 0)
        return rc;
    path = api_path(&o, o.events ? "events" : "logs");
    status = http_get(&o.r, path, &f);
    free(path);
    if (status != 200) {
        rc = api_failed(status, &f.body);
        goto out;
    }
    arr = json_parse(f.body.p, f.body.len, &lim, NULL);
    if (!cJSON_IsArray(arr)) {
        cli_fail("the server's answer is not a list");
        rc = 1;
        goto out;
    }
    cJSON_ArrayForEach(it, arr) print_line(it, o.json, isatty(STDOUT_FILENO));
out:
    cJSON_Delete(arr);
    buf_release(&f.body);
    return rc;
}

/* tail: Server-Sent Events, one "data:" line per log line. */

struct sse {
    struct buf line;
    int json, tty;
};

static void sse_line(struct sse *s)
{
    struct json_limits lim = JSON_LIMITS_DEFAULT;
    const char *p = s->line.p;
    cJSON *o;

    if (s->line.len < 5 || strncmp(p, "data:", 5) != 0)
        return;
    p += 5;
    while (*p == ' ')
        p++;
    o = json_parse(p, strlen(p), &lim, NULL);
    if (o != NULL && cJSON_GetObjectItemCaseSensitive(o, "missed") != NULL) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "missed");

        fprintf(stderr, "bilor: %lld lines were missed (the terminal was too slow)\n",
                cJSON_IsNumber(m) ? (long long)m->valuedouble : 0LL);
    } else if (o != NULL) {
        print_line(o, s->json, s->tty);
        fflush(stdout);
    }
    cJSON_Delete(o);
}

static int sse_data(void *arg, const char *p, size_t n)
{
    struct sse *s = arg;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            if (buf_addch(&s->line, '\0') == 0)
                sse_line(s);
            buf_reset(&s->line);
        } else if (p[i] != '\r' && buf_addch(&s->line, p[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

int cli_tail(int argc, char **argv)
{
    struct opts o;
    struct sse s = { BUF_INIT(1u << 20), 0, 0 };
    struct fetch f = { BUF_INIT(1u << 16), sse_data, &s };
    char *path;
    long status;
    int rc = parse_opts(argc, argv, &o,
                        "tail [--project N] [--json] [--url URL] [--token T] [QUERY]");

    if (rc != 0)
        return rc;
    if (o.since != NULL || o.until != NULL || o.limit != NULL || o.events) {
        cli_fail("tail takes only --project, --json, --url, --token and a query");
        return 2;
    }
    s.json = o.json;
    s.tty = isatty(STDOUT_FILENO);
    path = api_path(&o, "logs/tail");
    status = http_get(&o.r, path, &f);
    free(path);
    rc = status == 200 ? 0 : api_failed(status, &f.body);
    buf_release(&s.line);
    buf_release(&f.body);
    return rc;
}

/* login: checks the token against the server, then saves both (0600). */
int cli_login(int argc, char **argv)
{
    const char *url = NULL, *token = NULL;
    struct remote r = { "", "" };
    struct fetch f = { BUF_INIT(1u << 20), NULL, NULL };
    char path[CLI_URL_MAX];
    long status;
    FILE *fp;
    int fd;

    for (int i = 0; i < argc; i++) {
        if (take(argc, argv, &i, "--url", &url) <= 0 &&
            take(argc, argv, &i, "--token", &token) <= 0) {
            fprintf(stderr, "usage: bilor login --url URL --token TOKEN\n");
            return 2;
        }
    }
    if (url == NULL || token == NULL) {
        fprintf(stderr, "usage: bilor login --url URL --token TOKEN\n");
        return 2;
    }
    set_url(&r, url);
    copy_token(&r, token);
    status = http_get(&r, "/api/0/projects/", &f);
    if (status != 200) {
        int rc = api_failed(status, &f.body);

        buf_release(&f.body);
        return rc;
    }
    buf_release(&f.body);
    if (config_path(path, sizeof(path), 1) < 0) {
        cli_fail("no place for the config file (set HOME or XDG_CONFIG_HOME)");
        return 1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0 || (fp = fdopen(fd, "w")) == NULL) {
        cli_fail("cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    fprintf(fp, "url=%s\ntoken=%s\n", r.url, r.token);
    if (fclose(fp) != 0) {
        cli_fail("cannot write %s: %s", path, strerror(errno));
        return 1;
    }
    printf("logged in to %s (saved in %s)\n", r.url, path);
    return 0;
}
