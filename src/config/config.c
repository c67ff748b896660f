#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "core/banned.h"

enum opt_type { OPT_STR, OPT_INT };

struct opt {
    const char *flag;
    const char *env;
    int type;
    size_t off;
    size_t size; /* for strings: capacity */
    const char *def;
    int64_t min, max; /* for integers */
    const char *help;
};

#define STR(field, flag, env, def, help)                                                           \
    {                                                                                              \
        flag, env, OPT_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field),   \
            def, 0, 0, help                                                                        \
    }
#define INT(field, flag, env, def, lo, hi, help)                                                   \
    {                                                                                              \
        flag, env, OPT_INT, offsetof(struct config, field), 0, def, lo, hi, help                   \
    }

/* clang-format off: one row per line reads as a table */
static const struct opt opts[] = {
    STR(listen, "listen", "BILOR_LISTEN", "127.0.0.1:8000",
        "HOST:PORT of the HTTP doors, API and UI"),
    STR(data_dir, "data-dir", "BILOR_DATA_DIR", "./bilor-data", "where the store and journal live"),
    STR(store, "store", "BILOR_STORE", "",
        "store URL: a directory or sqlite:PATH (postgres:// not yet); none: the data directory"),
    STR(public_url, "public-url", "BILOR_PUBLIC_URL", "",
        "base URL clients use (DSNs); default http://LISTEN"),
    STR(ui_dir, "ui-dir", "BILOR_UI_DIR", "",
        "serve the web UI from this folder instead of the embedded copy (UI development)"),
    STR(es_listen, "es-listen", "BILOR_ES_LISTEN", "",
        "HOST:PORT of a second port serving the Elasticsearch API at / (it is always under /es/)"),
    STR(log_level, "log-level", "BILOR_LOG_LEVEL", "info", "debug, info, warn, error"),
    STR(tls_cert, "tls-cert", "BILOR_TLS_CERT", "",
        "PEM certificate file: with --tls-key, serve HTTPS (GnuTLS) instead of HTTP"),
    STR(tls_key, "tls-key", "BILOR_TLS_KEY", "", "PEM private key file for --tls-cert"),
    STR(trusted_proxy, "trusted-proxy", "BILOR_TRUSTED_PROXY", "",
        "IP address of a reverse proxy whose X-Forwarded-For names the client; none: never"),
    INT(http_threads, "http-threads", "BILOR_HTTP_THREADS", "2", 1, 64, "HTTP worker threads"),
    STR(http_poll, "http-poll", "BILOR_HTTP_POLL", "auto",
        "how HTTP threads wait for their sockets: poll, epoll, or auto (docs/architecture.md)"),
    STR(http_ingest, "http-ingest", "BILOR_HTTP_INGEST", "loop",
        "what serves the ingest doors' POSTs: loop (a lean epoll loop, docs/architecture.md) "
        "or mhd (libmicrohttpd, as every other request)"),
    INT(digest_threads, "digest-threads", "BILOR_DIGEST_THREADS", "0", 0, 64,
        "threads that decode journal records ahead of the store writer (0: one per CPU)"),
    INT(max_connections, "max-connections", "BILOR_MAX_CONNECTIONS", "4096", 16, 100000,
        "concurrent HTTP connections"),
    INT(max_body, "max-body", "BILOR_MAX_BODY", "20971520", 1024, INT64_C(1) << 31,
        "largest decompressed request body in bytes (413 above)"),
    INT(max_event, "max-event", "BILOR_MAX_EVENT", "1048576", 1024, INT64_C(1) << 30,
        "largest single event in bytes (413 above)"),
    INT(max_inflight, "max-inflight", "BILOR_MAX_INFLIGHT", "268435456", 65536, INT64_C(1) << 40,
        "request bodies held in memory at once, all connections (503 above)"),
    INT(max_conns_per_ip, "max-conns-per-ip", "BILOR_MAX_CONNS_PER_IP", "64", 0, 100000,
        "concurrent connections one client address may hold (IPv6: per /64; 0: no limit)"),
    INT(max_inflight_per_ip, "max-inflight-per-ip", "BILOR_MAX_INFLIGHT_PER_IP", "0", 0,
        INT64_C(1) << 40,
        "request bodies one client address may hold in memory (429 above); 0: a quarter of "
        "--max-inflight, at least --max-body"),
    INT(header_timeout, "header-timeout", "BILOR_HEADER_TIMEOUT", "15", 1, 3600,
        "seconds a client has to send a request's headers, counted from the connection or "
        "the previous answer (closed after)"),
    INT(body_timeout, "body-timeout", "BILOR_BODY_TIMEOUT", "30", 1, 3600,
        "seconds a request body may take, plus one second per --min-body-rate bytes received"),
    INT(min_body_rate, "min-body-rate", "BILOR_MIN_BODY_RATE", "8192", 1, INT64_C(1) << 30,
        "bytes per second a large body must average to earn time past --body-timeout"),
    INT(journal_budget, "journal-budget", "BILOR_JOURNAL_BUDGET", "1073741824", 4096,
        INT64_C(1) << 50, "undigested journal bytes before the doors answer 429"),
    INT(session_idle, "session-idle", "BILOR_SESSION_IDLE", "86400", 1, INT64_C(1) << 31,
        "seconds a signed-in web session lasts without a request"),
    INT(session_max, "session-max", "BILOR_SESSION_MAX", "1209600", 1, INT64_C(1) << 31,
        "seconds a signed-in web session lasts at most"),
    INT(disk_reserve, "disk-reserve", "BILOR_DISK_RESERVE", "268435456", 0, INT64_C(1) << 50,
        "free disk bytes kept for the store; below it ingest answers 503 (0: off)"),
    INT(journal_segment, "journal-segment", "BILOR_JOURNAL_SEGMENT", "67108864", 65536,
        INT64_C(1) << 40, "journal segment file size in bytes"),
    INT(retry_after, "retry-after", "BILOR_RETRY_AFTER", "5", 1, 3600,
        "seconds a 429 asks clients to wait"),
    INT(v1_api, "v1-api", "BILOR_V1_API", "0", 0, INT64_MAX,
        "project id that POST /api/v1/message/ (the original Bilor handler, no key) writes "
        "to; 0: that door is closed"),
    INT(journal_fsync, "journal-fsync", "BILOR_JOURNAL_FSYNC", "1", 0, 1,
        "1: acknowledge only after fdatasync (never turn off in production)"),
    /* retention (store_sqlite_retention.c) */
    INT(disk_budget, "disk-budget", "BILOR_DISK_BUDGET", "0", 0, INT64_C(1) << 50,
        "bytes the event partitions may take, all projects; the oldest days go first (0: none)"),
    INT(issue_events_per_day, "issue-events-per-day", "BILOR_ISSUE_EVENTS_PER_DAY", "0", 0,
        INT64_C(1) << 40,
        "events of one issue stored per day, e.g. 1000; the rest are counted, not kept (0: all)"),
    STR(log_compression, "log-compression", "BILOR_LOG_COMPRESSION", "lz4",
        "codec of new log frames: lz4 (fastest) or zstd (level 1: 15-25% less disk, "
        "more CPU); either reads the other's"),
    INT(retention_interval, "retention-interval", "BILOR_RETENTION_INTERVAL", "60", 1, 86400,
        "seconds between retention runs (expired days and the disk budget)"),
    STR(syslog_udp, "syslog-udp", "BILOR_SYSLOG_UDP", "",
        "HOST:PORT=PROJECT_ID: receive syslog over UDP for that project (off when empty)"),
    STR(syslog_tcp, "syslog-tcp", "BILOR_SYSLOG_TCP", "",
        "HOST:PORT=PROJECT_ID: receive syslog over TCP (octet-counted or LF framing)"),
    STR(gelf_udp, "gelf-udp", "BILOR_GELF_UDP", "",
        "HOST:PORT=PROJECT_ID: receive GELF over UDP (chunked, zlib/gzip/plain)"),
    STR(gelf_tcp, "gelf-tcp", "BILOR_GELF_TCP", "",
        "HOST:PORT=PROJECT_ID: receive GELF over TCP (NUL-delimited)"),
    STR(relp, "relp", "BILOR_RELP", "",
        "HOST:PORT=PROJECT_ID: receive RELP (rsyslog omrelp), acked once durable"),
    INT(udp_rcvbuf, "udp-rcvbuf", "BILOR_UDP_RCVBUF", "8388608", 0, INT64_C(1) << 30,
        "receive buffer of UDP listeners in bytes (capped by net.core.rmem_max; 0: system's)"),
    INT(socket_max_frame, "socket-max-frame", "BILOR_SOCKET_MAX_FRAME", "1048576", 1024,
        INT64_C(1) << 26, "largest syslog or GELF message on a socket door (longer: skipped)"),
    INT(socket_idle_timeout, "socket-idle-timeout", "BILOR_SOCKET_IDLE_TIMEOUT", "300", 1, 86400,
        "seconds a silent TCP connection of a socket door stays open"),
    INT(socket_max_conns, "socket-max-conns", "BILOR_SOCKET_MAX_CONNS", "512", 1, 65536,
        "connections each TCP socket door holds at once"),
    INT(socket_require_key, "socket-require-key", "BILOR_SOCKET_REQUIRE_KEY", "0", 0, 1,
        "1: socket door messages must carry a project key (_bilor_key, [bilor@0 key=...])"),
};
/* clang-format on */

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int opt_set(struct config *c, const struct opt *o, const char *val, struct bl_err *err)
{
    char *dst = (char *)c + o->off;
    char *end;
    long long v;

    if (o->type == OPT_STR) {
        size_t n = strlen(val);

        if (n >= o->size)
            return bl_err_set(err, BL_EINVAL, "value of '%s' is too long", o->flag);
        memcpy(dst, val, n + 1);
        return 0;
    }
    errno = 0;
    v = strtoll(val, &end, 10);
    if (errno != 0 || end == val || *end != '\0')
        return bl_err_set(err, BL_EINVAL, "'%s' wants an integer, not '%s'", o->flag, val);
    if (v < o->min || v > o->max)
        return bl_err_set(err, BL_EINVAL, "'%s' must be between %lld and %lld", o->flag,
                          (long long)o->min, (long long)o->max);
    memcpy(dst, &(int64_t){ v }, sizeof(int64_t));
    return 0;
}

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NOPTS; i++)
        if (opt_set(c, &opts[i], opts[i].def, NULL) < 0)
            abort(); /* a bad default is a programming error */
}

int config_from_env(struct config *c, struct bl_err *err)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const char *v = getenv(opts[i].env);
        int rc;

        if (v == NULL)
            continue;
        rc = opt_set(c, &opts[i], v, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static const struct opt *opt_find(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(opts[i].flag) == len && memcmp(opts[i].flag, name, len) == 0)
            return &opts[i];
    return NULL;
}

int config_from_args(struct config *c, int argc, char **argv, struct bl_err *err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *eq, *val;
        const struct opt *o;
        int rc;

        if (strncmp(a, "--", 2) != 0)
            return bl_err_set(err, BL_EINVAL, "unexpected argument '%s'", a);
        a += 2;
        eq = strchr(a, '=');
        o = opt_find(a, eq ? (size_t)(eq - a) : strlen(a));
        if (o == NULL)
            return bl_err_set(err, BL_EINVAL, "unknown option '--%s'", a);
        if (eq != NULL) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return bl_err_set(err, BL_EINVAL, "option '--%s' needs a value", o->flag);
        }
        rc = opt_set(c, o, val, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The decimal port after the last colon: digits only, 1-65535 (0 would mean "any free port"). */
static int parse_port(const char *s, int *port)
{
    long p = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || p > 65535)
            return -1;
        p = p * 10 + (*s - '0');
    }
    if (p < 1 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

int config_listen_addr(const struct config *c, char *host, size_t hostlen, int *port,
                       struct bl_err *err)
{
    const char *colon = strrchr(c->listen, ':');
    const char *h = c->listen;
    size_t n;

    if (colon == NULL)
        return bl_err_set(err, BL_EINVAL,
                          "listen address '%s' is not HOST:PORT (e.g. 127.0.0.1:8000)", c->listen);
    if (parse_port(colon + 1, port) < 0)
        return bl_err_set(err, BL_EINVAL, "listen address '%s' needs a port from 1 to 65535",
                          c->listen);
    n = (size_t)(colon - h);
    /* [::1]:8000 - the brackets belong to the URL syntax, not to the address. */
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    } else if (memchr(h, ':', n) != NULL) {
        return bl_err_set(err, BL_EINVAL,
                          "listen address '%s': write an IPv6 host in brackets, "
                          "e.g. [::1]:8000",
                          c->listen);
    }
    if (n >= hostlen)
        return bl_err_set(err, BL_EINVAL, "listen host is too long");
    memcpy(host, h, n);
    host[n] = '\0';
    return 0;
}

/* The listen host must be an address of this machine or a name that resolves. */
static int check_listen(const struct config *c, struct bl_err *err)
{
    struct addrinfo hints, *res = NULL;
    char host[256];
    int port, rc;

    if (config_listen_addr(c, host, sizeof(host), &port, err) < 0)
        return -1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host[0] != '\0' ? host : NULL, "1", &hints, &res);
    if (rc != 0)
        return bl_err_set(err, BL_EINVAL, "listen address '%s': cannot resolve '%s': %s", c->listen,
                          host, gai_strerror(rc));
    freeaddrinfo(res);
    return 0;
}

/*
 * --public-url goes into every DSN clients are given, so a typo there would
 * be handed out to every SDK: http(s)://HOST[:PORT][/PREFIX], nothing else.
 */
static int check_public_url(const char *u, struct bl_err *err)
{
    const char *host;

    if (u[0] == '\0')
        return 0;
    if (strncmp(u, "http://", 7) == 0)
        host = u + 7;
    else if (strncmp(u, "https://", 8) == 0)
        host = u + 8;
    else
        return bl_err_set(err, BL_EINVAL, "public URL '%s' must start with http:// or https://", u);
    if (*host == '\0' || *host == '/' || *host == ':')
        return bl_err_set(err, BL_EINVAL, "public URL '%s' has no host", u);
    for (const char *p = u; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("?#@\\\"<>", *p) != NULL)
            return bl_err_set(err, BL_EINVAL,
                              "public URL '%s' may hold only a scheme, host, "
                              "port and path (no spaces, ?, #, @, quotes or <>)",
                              u);
    return 0;
}

/* --trusted-proxy: empty, or one IPv4 or IPv6 address. */
static int check_proxy(const char *s, struct bl_err *err)
{
    unsigned char a[sizeof(struct in6_addr)];

    if (s[0] == '\0' || inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
        return 0;
    return bl_err_set(err, BL_EINVAL, "--trusted-proxy wants an IP address, not '%s'", s);
}

int config_validate(const struct config *c, struct bl_err *err)
{
    if (check_proxy(c->trusted_proxy, err) < 0)
        return -1;
    if (check_listen(c, err) < 0 || check_public_url(c->public_url, err) < 0)
        return -1;
    if (c->data_dir[0] == '\0')
        return bl_err_set(err, BL_EINVAL, "the data directory must not be empty");
    if (strcmp(c->log_compression, "lz4") != 0 && strcmp(c->log_compression, "zstd") != 0)
        return bl_err_set(err, BL_EINVAL, "--log-compression wants lz4 or zstd, not '%s'",
                          c->log_compression);
    if (strcmp(c->http_poll, "auto") != 0 && strcmp(c->http_poll, "poll") != 0 &&
        strcmp(c->http_poll, "epoll") != 0)
        return bl_err_set(err, BL_EINVAL, "--http-poll wants auto, poll or epoll, not '%s'",
                          c->http_poll);
    if (strcmp(c->http_ingest, "loop") != 0 && strcmp(c->http_ingest, "mhd") != 0)
        return bl_err_set(err, BL_EINVAL, "--http-ingest wants loop or mhd, not '%s'",
                          c->http_ingest);
    if (log_level_parse(c->log_level) < 0)
        return bl_err_set(err, BL_EINVAL, "unknown log level '%s' (debug, info, warn, error, off)",
                          c->log_level);
    return 0;
}

void config_public_url(const struct config *c, char *out, size_t len)
{
    size_t n;

    if (c->public_url[0] != '\0')
        snprintf(out, len, "%s", c->public_url);
    else
        snprintf(out, len, "%s://%s", c->tls_cert[0] != '\0' ? "https" : "http", c->listen);
    n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
}

void config_dsn(const char *public_url, const char *key, long long project_id, char *out,
                size_t len)
{
    const char *sep = strstr(public_url, "://");

    if (sep == NULL)
        snprintf(out, len, "http://%s@%s/%lld", key, public_url, project_id);
    else
        snprintf(out, len, "%.*s://%s@%s/%lld", (int)(sep - public_url), public_url, key, sep + 3,
                 project_id);
}

void config_print_help(void)
{
    for (size_t i = 0; i < NOPTS; i++)
        printf("  --%-20s %-26s %s (default: %s)\n", opts[i].flag, opts[i].env, opts[i].help,
               opts[i].def[0] ? opts[i].def : "none");
}
