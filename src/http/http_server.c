/*
 * http_server.c - the libmicrohttpd daemon: listening socket, per-address
 * connection shares, the reaper thread that enforces total deadlines, and
 * start, quiesce, drain and stop.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "http/hfast.h"
#include "http/http_int.h"
#include "core/banned.h"

/*
 * libmicrohttpd's memory per connection: request headers, its read buffer
 * and the answer's headers. Bodies go to our own buffer, so it needs little;
 * and libmicrohttpd zeroes the whole pool after every request of a
 * keep-alive connection, a cost per request in proportion to its size (64
 * KiB was 2-3% of the server under the event bench). 32 KiB takes request
 * headers up to about 32 KB (test_http_limits.py); 16 KiB refused 10 KB.
 */
#define MHD_POOL_BYTES (32 * 1024)

/* Accept-time pre-check: an address at its connection share is refused before any work. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct http_server *s = cls;
    struct peer_key k;

    (void)len;
    if (atomic_load(&s->quiesced))
        return MHD_NO;
    peer_key_of(addr, &k);
    return peers_conn_full(s->peers, &k) ? MHD_NO : MHD_YES;
}

static void on_conn_started(struct http_server *s, struct MHD_Connection *c, void **socket_ctx)
{
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(
        c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *fi = MHD_get_connection_info(c,
                                                                 MHD_CONNECTION_INFO_CONNECTION_FD);
    struct hconn *hc = xcalloc(1, sizeof(*hc));

    pool_init(&hc->pool, 8192);
    peer_key_of(ai != NULL ? ai->client_addr : NULL, &hc->peer);
    hc->fd = fi != NULL ? fi->connect_fd : MHD_INVALID_SOCKET;
    http_phase_set(hc, PH_HEADERS);
    /* the firm check: on_accept's can race between pool threads */
    hc->counted = peers_conn_open(s->peers, &hc->peer) == 0;
    pthread_mutex_lock(&s->conns_mu);
    hc->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = hc;
    s->conns = hc;
    s->nconns++;
    if (!hc->counted && hc->fd != MHD_INVALID_SOCKET) {
        shutdown(hc->fd, SHUT_RDWR); /* MHD sees the end of the stream and closes it */
        hc->cut = 1;
    }
    pthread_mutex_unlock(&s->conns_mu);
    *socket_ctx = hc;
}

/* MHD calls this before it closes the socket, so the reaper never shuts a reused fd. */
static void on_conn_closed(struct http_server *s, void **socket_ctx)
{
    struct hconn *hc = *socket_ctx;

    if (hc == NULL)
        return;
    pthread_mutex_lock(&s->conns_mu);
    if (hc->prev != NULL)
        hc->prev->next = hc->next;
    else
        s->conns = hc->next;
    if (hc->next != NULL)
        hc->next->prev = hc->prev;
    s->nconns--;
    pthread_mutex_unlock(&s->conns_mu);
    if (hc->counted)
        peers_conn_close(s->peers, &hc->peer);
    pool_release(&hc->pool);
    free(hc);
    *socket_ctx = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        on_conn_started(cls, c, socket_ctx);
    else
        on_conn_closed(cls, socket_ctx);
}

/* When the current phase of hc must be over, in clock_mono_us; INT64_MAX: no deadline. */
static int64_t deadline_of(const struct http_config *cfg, struct hconn *hc)
{
    int64_t since = atomic_load(&hc->since);
    size_t got = atomic_load(&hc->got), cap = atomic_load(&hc->cap);

    switch (atomic_load(&hc->phase)) {
    case PH_HEADERS:
        return since + (int64_t)cfg->header_timeout_s * 1000000;
    case PH_BODY:
        /* like Apache's mod_reqtimeout: a fixed time, plus one second per
           min_body_rate bytes received, up to the body's cap: a total bound */
        if (got > cap)
            got = cap;
        return since + (int64_t)cfg->body_timeout_s * 1000000 +
               (int64_t)((uint64_t)got * 1000000 / cfg->min_body_rate);
    case PH_SEND:
        return since + (int64_t)cfg->timeout_s * 1000000;
    default:
        return INT64_MAX;
    }
}

/*
 * The reaper: a few times a second, shuts down every connection past its
 * deadline. MHD only calls the application once headers are complete and
 * has no total deadline of its own, so this runs beside it: shutdown() makes
 * MHD see the end of the stream on its next read and close the connection
 * in its own thread. The list lock is held across shutdown() and MHD takes
 * it (on_conn_closed) before closing a socket, so the fd is still this
 * connection's.
 */
static void *reaper_main(void *arg)
{
    struct http_server *s = arg;
    struct timespec ts;

    pthread_mutex_lock(&s->conns_mu);
    while (!s->reaper_stop) {
        int64_t now = clock_mono_us();

        for (struct hconn *hc = s->conns; hc != NULL; hc = hc->next) {
            if (hc->cut || hc->fd == MHD_INVALID_SOCKET || now <= deadline_of(&s->cfg, hc))
                continue;
            shutdown(hc->fd, SHUT_RDWR);
            hc->cut = 1;
            log_debug("http: closed a connection past its %s deadline",
                      atomic_load(&hc->phase) == PH_HEADERS ? "header" : "body");
        }
        http_streams_wake(s, 0);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->reaper_cv, &s->conns_mu, &ts);
    }
    pthread_mutex_unlock(&s->conns_mu);
    return NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    /* MHD reports mostly single connections (a client hung up mid-request):
       at any level above debug, hostile clients could flood the log */
    log_debug("http: %s", msg);
}

static int resolve(const char *host, int port, struct sockaddr_storage *sa, socklen_t *salen,
                   struct bl_err *err)
{
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
    if (rc != 0)
        return bl_err_set(err, BL_EINVAL, "cannot resolve '%s': %s", host, gai_strerror(rc));
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/*
 * The listening socket, made here rather than by MHD so that a taken port
 * is a clear error: SO_REUSEADDR only (a restart need not wait for
 * TIME_WAIT), never SO_REUSEPORT, which would let a second server share the
 * port and split the requests.
 */
static int listen_on(const struct http_config *cfg, int *fd_out, int *port_out, struct bl_err *err);

int http_listen(const char *host, int port, int *fd_out, struct bl_err *err)
{
    struct http_config cfg;
    int bound;

    memset(&cfg, 0, sizeof(cfg));
    cfg.host = host;
    cfg.port = port;
    return listen_on(&cfg, fd_out, &bound, err);
}

static int listen_on(const struct http_config *cfg, int *fd_out, int *port_out, struct bl_err *err)
{
    struct sockaddr_storage sa;
    socklen_t salen = 0;
    int fd, on = 1, rc;

    rc = resolve(cfg->host, cfg->port, &sa, &salen, err);
    if (rc < 0)
        return rc;
    fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return bl_err_set(err, BL_EIO, "cannot create a socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (sa.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = errno;

        close(fd);
        if (e == EADDRINUSE)
            return bl_err_set(err, BL_EIO,
                              "cannot listen on %s:%d: the port is already in use "
                              "(another bilor serve?)",
                              cfg->host, cfg->port);
        return bl_err_set(err, BL_EIO, "cannot listen on %s:%d: %s", cfg->host, cfg->port,
                          strerror(e));
    }
    salen = sizeof(sa);
    *port_out = cfg->port;
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
        *port_out = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                   : ((struct sockaddr_in *)&sa)->sin_port);
    *fd_out = fd;
    return 0;
}

/*
 * poll or epoll (docs/bench.md, stop 12). MHD's epoll mode takes a suspended
 * connection out of its epoll set and puts it back after the resume, and
 * marks a resumed connection readable, so every request waiting for the
 * journal costs two epoll_ctl and a recv that fails: about 5.4 system calls
 * a request against poll's 3, and 9 us of an HTTP thread's 50. But poll
 * passes every open connection of the thread to the kernel at every wakeup
 * and MHD walks them all: with 64 idle connections beside the bench's 32
 * the two were even, with 1,000 poll's threads spent twice epoll's CPU per
 * event, with 4,000 trickling ones seven times. So auto takes poll only when
 * --max-connections keeps each thread at AUTO_POLL_PER_THREAD connections
 * or fewer (a server behind a proxy that pools its connections), epoll
 * otherwise (the default 4,096: many clients, slow ones among them).
 */
#define AUTO_POLL_PER_THREAD 32

int http_poll_mode(const struct http_config *cfg)
{
    unsigned threads = cfg->threads > 0 ? cfg->threads : 1;

    if (cfg->poll != HTTP_POLL_AUTO)
        return cfg->poll;
    return cfg->max_connections <= AUTO_POLL_PER_THREAD * threads ? HTTP_POLL_POLL
                                                                  : HTTP_POLL_EPOLL;
}

static int start_reaper(struct http_server *s)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&s->conns_mu, NULL);
    pthread_mutex_init(&s->streams_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->reaper_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0)
        return -1;
    s->reaper_running = 1;
    return 0;
}

static void stop_reaper(struct http_server *s)
{
    if (s->reaper_running) {
        pthread_mutex_lock(&s->conns_mu);
        s->reaper_stop = 1;
        pthread_cond_signal(&s->reaper_cv);
        pthread_mutex_unlock(&s->conns_mu);
        pthread_join(s->reaper, NULL);
        s->reaper_running = 0;
    }
}

static void server_free(struct http_server *s)
{
    stop_reaper(s);
    peers_free(s->peers);
    pthread_cond_destroy(&s->reaper_cv);
    pthread_mutex_destroy(&s->conns_mu);
    pthread_mutex_destroy(&s->streams_mu);
    free(s);
}

/* The lean ingest loop listens and hands MHD what it does not serve; not under TLS. */
static int use_loop(const struct http_config *cfg)
{
    return cfg->ingest_loop && cfg->tls_cert_pem == NULL;
}

/*
 * libmicrohttpd, listening on fd itself, or without a socket of its own
 * when the ingest loop listens and hands it connections (MHD_add_connection).
 */
static struct MHD_Daemon *start_daemon(struct http_server *s, unsigned flags, int fd)
{
    const struct http_config *cfg = &s->cfg;
    struct MHD_OptionItem o[] = {
        { MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, s },
        { MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL },
        { MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s, NULL },
        { MHD_OPTION_CONNECTION_MEMORY_LIMIT, MHD_POOL_BYTES, NULL },
        { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)http_on_completed, s },
        { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s },
        { MHD_OPTION_END, 0, NULL }, /* the listening socket, unless the loop has it */
        { MHD_OPTION_END, 0, NULL }, /* the certificate */
        { MHD_OPTION_END, 0, NULL }, /* the key */
        { MHD_OPTION_END, 0, NULL },
    };
    size_t n = 7;

    if (use_loop(cfg))
        flags |= MHD_USE_NO_LISTEN_SOCKET;
    else
        o[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
    if (cfg->tls_cert_pem != NULL) {
        o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem };
        o[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem };
    }
    return MHD_start_daemon(flags, 0, on_accept, s, http_on_request, s, MHD_OPTION_ARRAY, o,
                            MHD_OPTION_END);
}

int http_start(struct http_server **out, struct app *app, const struct http_config *cfg,
               struct bl_err *err)
{
    struct http_server *s;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG |
                     (http_poll_mode(cfg) == HTTP_POLL_POLL ? MHD_USE_POLL : MHD_USE_EPOLL);
    size_t share = cfg->per_ip_inflight;
    int fd = -1, port = 0, rc;

    if (share == 0) /* derived: a quarter of the budget, but room for one largest body */
        share = cfg->max_inflight / 4 > cfg->max_body ? cfg->max_inflight / 4 : cfg->max_body;
    else if (share < cfg->max_body) {
        if (cfg->listen_fd >= 0)
            close(cfg->listen_fd);
        return bl_err_set(err, BL_EINVAL,
                          "the per-client in-flight share (%zu) is below the largest body "
                          "(%zu): such bodies could never be received",
                          share, cfg->max_body);
    }
    if (cfg->listen_fd >= 0) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);

        fd = cfg->listen_fd;
        port = cfg->port;
        if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
            port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                  : ((struct sockaddr_in *)&sa)->sin_port);
    } else {
        rc = listen_on(cfg, &fd, &port, err);
        if (rc < 0)
            return rc;
    }
    s = xcalloc(1, sizeof(*s));
    s->app = app;
    s->cfg = *cfg;
    s->cfg.per_ip_inflight = share;
    s->cfg.min_body_rate = cfg->min_body_rate > 0 ? cfg->min_body_rate : 1;
    s->port = port;
    if (cfg->trusted_proxy != NULL && cfg->trusted_proxy[0] != '\0') {
        if (http_parse_addr(cfg->trusted_proxy, strlen(cfg->trusted_proxy), &s->proxy) < 0) {
            close(fd);
            free(s);
            return bl_err_set(err, BL_EINVAL, "--trusted-proxy wants an IP address, not '%s'",
                              cfg->trusted_proxy);
        }
        s->has_proxy = 1;
    }
    if (cfg->tls_cert_pem != NULL)
        flags |= MHD_USE_TLS;
    /* entries: one per connection, plus one per request counted elsewhere (proxies later) */
    s->peers = peers_new((size_t)cfg->max_connections * 2, cfg->per_ip_connections, share);
    if (start_reaper(s) < 0) {
        close(fd);
        server_free(s);
        return bl_err_set(err, BL_EIO, "cannot start the HTTP reaper thread");
    }
    s->daemon = start_daemon(s, flags, fd);
    if (s->daemon == NULL) {
        close(fd);
        server_free(s);
        return bl_err_set(err, BL_EIO, "cannot start the HTTP server on %s:%d", cfg->host,
                          cfg->port);
    }
    if (use_loop(cfg)) {
        s->fast = hfast_start(s, s->daemon, fd, cfg->threads); /* takes fd */
        if (s->fast == NULL) {
            MHD_stop_daemon(s->daemon);
            server_free(s);
            return bl_err_set(err, BL_EIO, "cannot start the HTTP ingest loop");
        }
    }
    *out = s;
    return 0;
}

int http_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

int http_port(const struct http_server *s)
{
    return s->port;
}

int http_ingest_loop(const struct http_server *s)
{
    return s->fast != NULL;
}

/*
 * Under epoll, MHD_quiesce_daemon() races its own pool threads: both take
 * the listen socket out of a thread's epoll set, and the loser's
 * epoll_ctl() gets ENOENT, on which libmicrohttpd 0.9.75 aborts the
 * process (daemon.c:5531, seen in CI as a SIGTERM ending in SIGABRT).
 * So under epoll the socket stays listening and on_accept closes every new
 * connection at once; MHD_stop_daemon() closes the socket. Under poll,
 * quiescing is safe and lets the kernel refuse the connections itself.
 */
void http_quiesce(struct http_server *s)
{
    MHD_socket fd = MHD_INVALID_SOCKET;

    atomic_store(&s->quiesced, 1);
    hfast_quiesce(s->fast);
    if (s->fast == NULL && http_poll_mode(&s->cfg) == HTTP_POLL_POLL)
        fd = MHD_quiesce_daemon(s->daemon);
    http_streams_wake(s, 1); /* live tails end: nothing holds the drain below */
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

void http_drain(struct http_server *s, int timeout_ms)
{
    for (int waited = 0; atomic_load(&s->live) > 0 && waited < timeout_ms; waited += 10)
        nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
}

void http_stop(struct http_server *s)
{
    if (s == NULL)
        return;
    stop_reaper(s);
    http_streams_wake(s, 1); /* MHD must not be stopped with suspended connections */
    for (int waited = 0; waited < 2000; waited += 10) {
        int left;

        pthread_mutex_lock(&s->streams_mu);
        left = s->streams != NULL;
        pthread_mutex_unlock(&s->streams_mu);
        if (!left)
            break;
        http_streams_wake(s, 1);
        nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
    }
    hfast_stop(s->fast); /* its relays end: MHD sees their sockets close */
    MHD_stop_daemon(s->daemon);
    server_free(s);
}
