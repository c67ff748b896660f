/*
 * cli_serve.c - `bilor serve`: wire the subsystems, run, shut down cleanly.
 *
 * Nothing is created before every setting is checked (load_config). Then
 * the data directory is claimed: created private, or made private, and
 * locked, so a second server on it stops before touching anything.
 * Start-up order follows the path of an event backwards: store (it holds
 * the checkpoint), journal (opened at that checkpoint), digest (reads the
 * journal), then the HTTP doors last so nothing is acknowledged before it
 * can be made durable. Shutdown runs the other way: stop accepting, let
 * requests waiting for the journal finish, stop HTTP, let the digest finish
 * the batch in hand (the rest stays in the journal for the next start),
 * close the journal and the store.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "door/door.h"
#include "auth/auth.h"
#include "auth/session.h"
#include "auth/throttle.h"
#include "cli/cli.h"
#include "cli/datadir.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "http/http.h"
#include "ingest/handoff.h"
#include "listen/listen.h"
#include "core/banned.h"

struct server {
    struct config cfg;
    struct app app;
    struct store *store;
    struct journal *journal;
    struct digest *digest;
    struct handoff *handoff; /* the doors' decompressed bodies for the digest */
    struct http_server *http;
    struct http_server *es_http;           /* --es-listen, or NULL */
    struct listener *listeners[LISTEN__N]; /* socket doors, NULL when off */
    int lock_fd;                           /* holds the data directory's lock while serving */
    int listen_fd;            /* bound before anything else, until http_start takes it */
    char *tls_cert, *tls_key; /* PEM texts while serving over TLS */
};

/* Before anything is opened: the directory exists, is private and is ours alone. */
static int claim_data_dir(struct server *s)
{
    struct bl_err err = { 0 };

    if (datadir_prepare(s->cfg.data_dir, &err) < 0 ||
        datadir_lock(s->cfg.data_dir, &s->lock_fd, &err) < 0) {
        cli_fail("%s", bl_err_msg(&err));
        return -1;
    }
    return 0;
}

/* What the admin commands print in DSNs; a failure costs them only the right URL. */
static void record_public_url(struct server *s)
{
    struct bl_err err = { 0 };

    if (datadir_write_url(s->cfg.data_dir, s->app.public_url, &err) < 0)
        log_warn("%s; `bilor project` will print DSNs with the default URL", bl_err_msg(&err));
}

/* Every setting is checked here, before the first thing is created or printed. */
static int load_config(struct config *cfg, int argc, char **argv)
{
    struct bl_err err = { 0 };

    config_defaults(cfg);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: bilor serve [OPTIONS]\n\nOptions (flag, environment variable):\n");
            config_print_help();
            printf("\nFirst start only: BILOR_ADMIN_EMAIL (default admin@localhost), "
                   "BILOR_ADMIN_PASSWORD and\nBILOR_ADMIN_TOKEN set the admin's email, password "
                   "and API token instead of random ones.\n");
            exit(0);
        }
    }
    if (config_from_env(cfg, &err) < 0 || config_from_args(cfg, argc, argv, &err) < 0 ||
        config_validate(cfg, &err) < 0) {
        cli_fail("%s", bl_err_msg(&err));
        return -1;
    }
    log_set_level(log_level_parse(cfg->log_level));
    return 0;
}

/* First start: the default project, the admin user and token, printed once. */
static int bootstrap(struct server *s)
{
    struct store_project p;
    struct bl_err err = { 0 };
    char pw[32], hash[AUTH_HASH_MAX], token[AUTH_TOKEN_MAX], dsn[700];
    const char *env_pw = getenv("BILOR_ADMIN_PASSWORD");
    const char *env_token = getenv("BILOR_ADMIN_TOKEN");
    const char *email = getenv("BILOR_ADMIN_EMAIL");
    char lower[STORE_EMAIL_MAX + 1];
    int64_t users = 0, uid = 0;

    if (store_user_count(s->store, &users, &err) < 0)
        goto fail;
    if (users > 0) {
        /* Later starts: an admin token from the environment keeps working. */
        if (env_token != NULL && auth_check_bearer_token(s->store, env_token) < 0 &&
            auth_token_register(s->store, 1, env_token, "BILOR_ADMIN_TOKEN", &err) < 0)
            goto fail;
        return 0;
    }
    if (email == NULL || email[0] == '\0')
        email = "admin@localhost";
    /* Stored lowercased, as sign-in looks it up. */
    snprintf(lower, sizeof(lower), "%s", email);
    for (char *c = lower; *c != '\0'; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    email = lower;
    if (session_email_check(email) < 0) {
        cli_fail("BILOR_ADMIN_EMAIL '%s' is not an email address", email);
        return -1;
    }
    if (store_project_add(s->store, "default", &p, &err) < 0)
        goto fail;
    snprintf(pw, sizeof(pw), "%s", env_pw != NULL ? env_pw : "");
    if (env_pw == NULL)
        auth_password_new(pw);
    if (auth_password_hash(pw, hash, &err) < 0 ||
        store_user_add(s->store, email, hash, 1, &uid, &err) < 0)
        goto fail;
    if (env_token != NULL) {
        snprintf(token, sizeof(token), "%s", env_token);
        if (auth_token_register(s->store, uid, token, "BILOR_ADMIN_TOKEN", &err) < 0)
            goto fail;
    } else if (auth_token_create(s->store, uid, "first start", token, &err) < 0) {
        goto fail;
    }
    config_dsn(s->app.public_url, p.key, (long long)p.id, dsn, sizeof(dsn));
    printf("Bilor is set up in %s (shown once, keep it safe):\n"
           "  web UI:    %s/\n  API:       %s/api/0/\n  DSN:       %s\n  email:     %s\n"
           "  password:  %s\n  API token: %s\n",
           s->cfg.data_dir, s->app.public_url, s->app.public_url, dsn, email, pw, token);
    fflush(stdout);
    return 0;
fail:
    cli_fail("cannot set up the data directory: %s", bl_err_msg(&err));
    return -1;
}

/*
 * What the doors' decompressed copies may hold for the digest (ingest/handoff.h):
 * about 10,000 9 KB events of 12 KB each (body and text), a second of the
 * digest lagging behind the doors at full load (docs/bench.md, stop 13). A copy
 * not taken after 10 s never will be.
 */
#define HANDOFF_BYTES (128u << 20)
#define HANDOFF_STALE_US (10 * 1000000LL)

static int open_backends(struct server *s)
{
    struct journal_config jc;
    struct digest_config dc = DIGEST_CONFIG_DEFAULT;
    struct bl_err err = { 0 };
    char jdir[1200], node[STORE_NODE_ID_MAX];
    const char *url = s->cfg.store[0] != '\0' ? s->cfg.store : s->cfg.data_dir;
    uint64_t checkpoint = 0;

    /* The checkpoint is this node's: its id lives with its journal in the data directory. */
    if (store_node_id(s->cfg.data_dir, node, &err) < 0 ||
        store_open(&s->store, url, node, &err) < 0 ||
        store_get_checkpoint(s->store, &checkpoint, &err) < 0 ||
        store_set_issue_events_per_day(s->store, s->cfg.issue_events_per_day) < 0 ||
        store_set_log_codec(s->store, strcmp(s->cfg.log_compression, "zstd") == 0
                                          ? STORE_LOG_ZSTD
                                          : STORE_LOG_LZ4) < 0) {
        cli_fail("cannot open the store: %s", bl_err_msg(&err));
        return -1;
    }
    snprintf(jdir, sizeof(jdir), "%s/journal", s->cfg.data_dir);
    jc.dir = jdir;
    jc.segment_bytes = (uint64_t)s->cfg.journal_segment;
    jc.budget_bytes = (uint64_t)s->cfg.journal_budget;
    jc.max_record_bytes = (size_t)s->cfg.max_body;
    jc.fsync = (int)s->cfg.journal_fsync;
    jc.reserve_bytes = (uint64_t)s->cfg.disk_reserve;
    if (journal_open(&s->journal, &jc, checkpoint, &err) < 0) {
        cli_fail("cannot open the journal: %s", bl_err_msg(&err));
        return -1;
    }
    dc.limits = s->app.limits;
    dc.threads = (int)s->cfg.digest_threads;
    dc.retention_every_us = s->cfg.retention_interval * CLOCK_US_PER_SEC;
    dc.disk_budget = s->cfg.disk_budget;
    s->handoff = handoff_new(HANDOFF_BYTES, HANDOFF_STALE_US);
    dc.handoff = s->handoff;
    if (digest_start(&s->digest, s->journal, s->store, &dc, &err) < 0) {
        cli_fail("cannot start the digest: %s", bl_err_msg(&err));
        return -1;
    }
    return 0;
}

/* Login throttling (auth/throttle.h): an account after 5 failures, an address after 50. */
#define THROTTLE_WINDOW (15 * 60 * INT64_C(1000000))
#define THROTTLE_BASE (60 * INT64_C(1000000))

static int init_access(struct app *a, const struct config *cfg)
{
    struct bl_err err = { 0 };
    char pw[32];

    a->session_idle = cfg->session_idle * INT64_C(1000000);
    a->session_max = cfg->session_max * INT64_C(1000000);
    a->secure_cookie = strncmp(a->public_url, "https://", 8) == 0;
    a->login_account = throttle_new(16384, 5, THROTTLE_WINDOW, THROTTLE_BASE);
    a->login_address = throttle_new(16384, 50, THROTTLE_WINDOW, THROTTLE_BASE);
    /* Unknown emails are checked against this, so they cost what a wrong password does. */
    auth_password_new(pw);
    if (auth_password_hash(pw, a->dummy_hash, &err) < 0) {
        cli_fail("%s", bl_err_msg(&err));
        return -1;
    }
    return 0;
}

static void init_app(struct server *s)
{
    struct app *a = &s->app;

    a->cfg = &s->cfg;
    a->limits = INGEST_LIMITS_DEFAULT;
    a->limits.max_body = (size_t)s->cfg.max_body;
    a->limits.max_event = (size_t)s->cfg.max_event;
    a->started_at = clock_now_us();
    config_public_url(&s->cfg, a->public_url, sizeof(a->public_url));
}

static struct door *new_door(struct server *s)
{
    struct door_config dc = { s->store, s->journal, s->app.limits, (int)s->cfg.retry_after,
                              s->handoff };

    return door_new(&dc);
}

#define PEM_MAX (1024 * 1024)

/* A whole PEM file, NUL-terminated (malloc'ed); NULL after saying why. */
static char *read_pem(const char *path, const char *what)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    size_t n = 0;

    if (f == NULL) {
        cli_fail("cannot open the TLS %s '%s': %s", what, path, strerror(errno));
        return NULL;
    }
    p = xmalloc(PEM_MAX + 1);
    n = fread(p, 1, PEM_MAX, f);
    fclose(f);
    if (n == 0 || n == PEM_MAX) {
        cli_fail("the TLS %s '%s' is empty or too large", what, path);
        free(p);
        return NULL;
    }
    p[n] = '\0';
    return p;
}

/* --tls-cert and --tls-key: both or neither, read once before anything is created. */
static int load_tls(struct server *s)
{
    if (s->cfg.tls_cert[0] == '\0' && s->cfg.tls_key[0] == '\0')
        return 0;
    if (s->cfg.tls_cert[0] == '\0' || s->cfg.tls_key[0] == '\0') {
        cli_fail("--tls-cert and --tls-key go together");
        return -1;
    }
    if (!http_tls_supported()) {
        cli_fail("the HTTP library was built without TLS (GnuTLS)");
        return -1;
    }
    s->tls_cert = read_pem(s->cfg.tls_cert, "certificate");
    s->tls_key = s->tls_cert != NULL ? read_pem(s->cfg.tls_key, "key") : NULL;
    return s->tls_key != NULL ? 0 : -1;
}

static int bind_port(struct server *s)
{
    struct bl_err err = { 0 };
    char host[256];
    int port;

    s->listen_fd = -1;
    if (config_listen_addr(&s->cfg, host, sizeof(host), &port, &err) < 0 ||
        http_listen(host, port, &s->listen_fd, &err) < 0) {
        cli_fail("%s", bl_err_msg(&err));
        return -1;
    }
    return 0;
}

/* --v1-api opens a keyless door: it must name a project that exists. */
static int check_v1_project(struct server *s)
{
    struct store_project p;
    struct bl_err err = { 0 };

    if (s->cfg.v1_api <= 0)
        return 0;
    if (store_project_get(s->store, s->cfg.v1_api, &p, &err) < 0) {
        cli_fail("--v1-api %lld: no such project (%s)", (long long)s->cfg.v1_api, bl_err_msg(&err));
        return -1;
    }
    return 0;
}

/* The main port (prefix NULL, bound by bind_port) or the Elasticsearch port ("/es"). */
static int start_http(struct server *s, const char *listen, const char *prefix,
                      struct http_server **out)
{
    struct http_config hc;
    struct bl_err err = { 0 };
    struct config addr = s->cfg;
    char host[256];
    int port;

    snprintf(addr.listen, sizeof(addr.listen), "%s", listen);
    if (config_listen_addr(&addr, host, sizeof(host), &port, &err) < 0) {
        cli_fail("%s", bl_err_msg(&err));
        return -1;
    }
    memset(&hc, 0, sizeof(hc));
    hc.path_prefix = prefix;
    hc.host = host;
    hc.port = port;
    hc.threads = (unsigned)s->cfg.http_threads;
    hc.poll = strcmp(s->cfg.http_poll, "poll") == 0    ? HTTP_POLL_POLL
              : strcmp(s->cfg.http_poll, "epoll") == 0 ? HTTP_POLL_EPOLL
                                                       : HTTP_POLL_AUTO;
    hc.ingest_loop = strcmp(s->cfg.http_ingest, "loop") == 0;
    hc.max_connections = (unsigned)s->cfg.max_connections;
    hc.per_ip_connections = (unsigned)s->cfg.max_conns_per_ip;
    hc.timeout_s = 60;
    hc.header_timeout_s = (unsigned)s->cfg.header_timeout;
    hc.body_timeout_s = (unsigned)s->cfg.body_timeout;
    hc.min_body_rate = (size_t)s->cfg.min_body_rate;
    hc.max_body = (size_t)s->cfg.max_body;
    hc.max_inflight = (size_t)s->cfg.max_inflight;
    hc.per_ip_inflight = (size_t)s->cfg.max_inflight_per_ip;
    hc.trusted_proxy = s->cfg.trusted_proxy;
    hc.tls_cert_pem = s->tls_cert;
    hc.tls_key_pem = s->tls_key;
    hc.listen_fd = -1;
    if (prefix == NULL) {
        hc.listen_fd = s->listen_fd;
        s->listen_fd = -1; /* http_start owns it now, also when it fails */
    }
    if (http_start(out, &s->app, &hc, &err) < 0) {
        cli_fail("%s", bl_err_msg(&err));
        return -1;
    }
    if (prefix != NULL)
        log_info("Elasticsearch API listening on %s:%d (%s, %s)", host, http_port(*out),
                 hc.tls_cert_pem != NULL ? "https" : "http",
                 http_poll_mode(&hc) == HTTP_POLL_POLL ? "poll" : "epoll");
    else
        log_info("listening on %s:%d (%s, %s%s) data_dir='%s'", host, http_port(*out),
                 hc.tls_cert_pem != NULL ? "https" : "http",
                 http_poll_mode(&hc) == HTTP_POLL_POLL ? "poll" : "epoll",
                 http_ingest_loop(*out) ? ", ingest loop" : "", s->cfg.data_dir);
    return 0;
}

static void stop_http(struct http_server *h)
{
    if (h == NULL)
        return;
    http_quiesce(h);
    http_drain(h, 10000);
    http_stop(h);
}

/* The socket doors that are configured (docs/doors.md). */
static int start_listeners(struct server *s)
{
    const char *specs[LISTEN__N] = { s->cfg.syslog_udp, s->cfg.syslog_tcp, s->cfg.gelf_udp,
                                     s->cfg.gelf_tcp, s->cfg.relp };
    struct store_project p;
    struct bl_err err = { 0 };

    for (int k = 0; k < LISTEN__N; k++) {
        struct listen_config lc = { k,
                                    specs[k],
                                    s->app.door,
                                    (int)s->cfg.udp_rcvbuf,
                                    (size_t)s->cfg.socket_max_frame,
                                    (int)s->cfg.socket_idle_timeout,
                                    (int)s->cfg.socket_max_conns,
                                    (int)s->cfg.socket_require_key };

        if (specs[k][0] == '\0')
            continue;
        if (listen_start(&s->listeners[k], &lc, &err) < 0) {
            cli_fail("%s", bl_err_msg(&err));
            return -1;
        }
        if (store_project_get(s->store, listen_project(s->listeners[k]), &p, &err) < 0) {
            cli_fail("--%s: no project %lld", listen_kind_name(k),
                     (long long)listen_project(s->listeners[k]));
            return -1;
        }
    }
    return 0;
}

static void shutdown_all(struct server *s)
{
    s->app.closing = 1;
    /* First, while the door still takes them: what the listeners hold is journaled. */
    for (int k = 0; k < LISTEN__N; k++)
        listen_stop(s->listeners[k]);
    if (s->app.door != NULL)
        door_close(s->app.door);
    stop_http(s->es_http);
    stop_http(s->http);
    digest_stop(s->digest);
    if (s->journal != NULL)
        journal_close(s->journal);
    store_close(s->store);
    door_free(s->app.door);
    handoff_free(s->handoff);
    throttle_free(s->app.login_account);
    throttle_free(s->app.login_address);
    free(s->tls_cert);
    free(s->tls_key);
    datadir_unlock(s->lock_fd);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
}

/*
 * The first SIGTERM/SIGINT starts a clean stop, which takes a few seconds at
 * most (the digest finishes the batch in hand; the journal keeps the rest).
 * Then this thread unblocks both with their default action, so a second one
 * ends the process at once: nothing acknowledged is lost, it is all in the
 * journal, exactly as after a crash.
 */
static int wait_for_signal(void)
{
    sigset_t set;
    int sig = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigwait(&set, &sig);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return sig;
}

/*
 * glibc gives the top of a thread's heap back to the kernel once 128 KiB of
 * it is free. The doors' decompressed copies (ingest/handoff.h, ~12 KB each
 * for a 9 KB event) are freed by the decode threads a fraction of a second
 * later, so each HTTP thread's heap shrank and regrew all the time, and the
 * regrowth's page faults were 3-4% of the doors' CPU on large events
 * (docs/bench.md, stop 16). Keeping up to 512 MiB of free heap and growing
 * by 64 MiB at a time stops that churn; the cost is that a burst's memory
 * stays with the process.
 */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    (void)mallopt(M_TRIM_THRESHOLD, 512 << 20);
    (void)mallopt(M_TOP_PAD, 64 << 20);
#endif
}

int cli_serve(int argc, char **argv)
{
    static struct server s = { .lock_fd = -1 };
    sigset_t set;
    int rc = 1, sig;

    if (load_config(&s.cfg, argc, argv) < 0)
        return 2;
    /* The port first: a taken one stops the start before anything is created or printed. */
    if (bind_port(&s) < 0)
        return 1;
    if (load_tls(&s) < 0 || claim_data_dir(&s) < 0) {
        close(s.listen_fd);
        return 1;
    }
    /* Signals are taken by sigwait in this thread only: block them before threads start. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    tune_malloc();
    init_app(&s);
    if (init_access(&s.app, &s.cfg) < 0)
        goto out;
    if (open_backends(&s) < 0 || bootstrap(&s) < 0)
        goto out;
    s.app.store = s.store;
    s.app.journal = s.journal;
    s.app.digest = s.digest;
    s.app.door = new_door(&s);
    s.app.metrics = door_metrics(s.app.door);
    /* Listeners first: once /readyz answers, their sockets are bound too. */
    if (check_v1_project(&s) < 0 || start_listeners(&s) < 0 ||
        start_http(&s, s.cfg.listen, NULL, &s.http) < 0)
        goto out;
    if (s.cfg.es_listen[0] != '\0' && start_http(&s, s.cfg.es_listen, "/es", &s.es_http) < 0)
        goto out;
    record_public_url(&s);
    /* Not inside log_info(): its arguments are not evaluated when info is off. */
    sig = wait_for_signal();
    log_info("stopping on signal %d", sig);
    rc = 0;
out:
    shutdown_all(&s);
    if (rc == 0)
        log_info("stopped cleanly");
    return rc;
}
