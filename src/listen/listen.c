/*
 * listen.c - the socket doors' common part (listen.h): binding, threads,
 * the batch each listener journals, and the drops it counts.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "listen/listen_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/xmalloc.h"
#include "ingest/logfmt.h"
#include "core/banned.h"

extern const struct ingest_format format_syslog;
extern const struct ingest_format format_gelf;

static const char *const kind_names[LISTEN__N] = { "syslog-udp", "syslog-tcp", "gelf-udp",
                                                   "gelf-tcp", "relp" };

const char *listen_kind_name(int kind)
{
    return kind >= 0 && kind < LISTEN__N ? kind_names[kind] : "?";
}

int64_t listen_now_us(void)
{
    return clock_now_us();
}

/* "HOST:PORT=PROJECT_ID" ("[v6]:PORT=..." too). */
static int parse_spec(struct listener *l, const char *spec, struct bl_err *err)
{
    const char *eq = strrchr(spec, '='), *colon;
    char *end;
    long long pid;
    long port;
    size_t hlen;

    if (eq == NULL)
        return bl_err_set(err, BL_EINVAL, "--%s wants HOST:PORT=PROJECT_ID, not '%s'",
                          listen_kind_name(l->cfg.kind), spec);
    pid = strtoll(eq + 1, &end, 10);
    if (end == eq + 1 || *end != '\0' || pid <= 0)
        return bl_err_set(err, BL_EINVAL, "--%s: '%s' is not a project id",
                          listen_kind_name(l->cfg.kind), eq + 1);
    colon = memrchr(spec, ':', (size_t)(eq - spec));
    if (colon == NULL)
        return bl_err_set(err, BL_EINVAL, "--%s: no port in '%s'", listen_kind_name(l->cfg.kind),
                          spec);
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || end != eq || port < 0 || port > 65535)
        return bl_err_set(err, BL_EINVAL, "--%s: bad port in '%s'", listen_kind_name(l->cfg.kind),
                          spec);
    hlen = (size_t)(colon - spec);
    if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
        spec++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof(l->host))
        return bl_err_set(err, BL_EINVAL, "--%s: bad host in '%s'", listen_kind_name(l->cfg.kind),
                          spec);
    memcpy(l->host, spec, hlen);
    l->host[hlen] = '\0';
    l->port = (int)port;
    l->project_id = pid;
    return 0;
}

static int is_udp(int kind)
{
    return kind == LISTEN_SYSLOG_UDP || kind == LISTEN_GELF_UDP;
}

static int bind_socket(struct listener *l, struct bl_err *err)
{
    struct addrinfo hints, *ai = NULL;
    char port[16];
    int fd = -1, one = 1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = is_udp(l->cfg.kind) ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port, sizeof(port), "%d", l->port);
    rc = getaddrinfo(l->host, port, &hints, &ai);
    if (rc != 0)
        return bl_err_set(err, BL_EINVAL, "--%s: cannot resolve '%s': %s",
                          listen_kind_name(l->cfg.kind), l->host, gai_strerror(rc));
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* FORCE passes net.core.rmem_max when we may (CAP_NET_ADMIN); else the capped size. */
    if (is_udp(l->cfg.kind) && l->cfg.rcvbuf > 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &l->cfg.rcvbuf, sizeof(l->cfg.rcvbuf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &l->cfg.rcvbuf, sizeof(l->cfg.rcvbuf));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        goto fail;
    if (!is_udp(l->cfg.kind) && listen(fd, 128) < 0)
        goto fail;
    freeaddrinfo(ai);
    l->fd = fd;
    return 0;
fail:
    rc = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return bl_err_set(err, BL_EIO, "--%s: cannot listen on %s:%d: %s",
                      listen_kind_name(l->cfg.kind), l->host, l->port, strerror(rc));
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t n = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &n) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int listen_start(struct listener **out, const struct listen_config *c, struct bl_err *err)
{
    struct listener *l = xcalloc(1, sizeof(*l));
    void *(*run)(void *) = NULL;
    int rc;

    l->cfg = *c;
    l->fd = -1;
    l->format = c->kind == LISTEN_GELF_UDP || c->kind == LISTEN_GELF_TCP ? &format_gelf
                                                                         : &format_syslog;
    l->fmt = format_index(l->format);
    l->metrics = door_metrics(c->door);
    buf_init(&l->batch, LISTEN_BATCH_BYTES + c->max_frame + 32);
    rc = parse_spec(l, c->spec, err);
    if (rc == 0)
        rc = bind_socket(l, err);
    if (rc < 0)
        goto fail;
    if (l->fd >= 0)
        l->port = bound_port(l->fd);
    run = is_udp(c->kind)          ? listen_udp_run
          : c->kind == LISTEN_RELP ? listen_relp_run
                                   : listen_tcp_run;
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        rc = bl_err_set(err, BL_EIO, "cannot start the %s thread", listen_kind_name(c->kind));
        goto fail;
    }
    log_info("%s listening on %s:%d for project %lld", listen_kind_name(c->kind), l->host, l->port,
             (long long)l->project_id);
    *out = l;
    return 0;
fail:
    if (l->fd >= 0)
        close(l->fd);
    buf_release(&l->batch);
    free(l);
    return rc;
}

int listen_port(const struct listener *l)
{
    return l->port;
}

int64_t listen_project(const struct listener *l)
{
    return l->project_id;
}

void listen_stop(struct listener *l)
{
    if (l == NULL)
        return;
    atomic_store(&l->stop, 1);
    pthread_join(l->thread, NULL);
    if (l->fd >= 0)
        close(l->fd);
    buf_release(&l->batch);
    free(l);
}

static void drop(struct listener *l, uint64_t n)
{
    metrics_add(&l->metrics->sock_dropped[l->fmt], n);
}

/* The key a message carries, NUL-terminated into out; 0 when it has one. */
static int message_key(struct listener *l, const char *msg, size_t len, struct pool *pool,
                       char out[65])
{
    struct slice k = SLICE_NULL;

    if (l->format == &format_gelf) {
        if (logfmt_gelf_ok(msg, len, door_limits(l->cfg.door), &k, NULL) == 0 && k.len >= 2) {
            k.p++; /* the raw JSON string: a project key needs no escapes */
            k.len -= 2;
        }
    } else {
        k = logfmt_syslog_key(msg, len, pool);
    }
    if (k.len == 0 || k.len > 64 || memchr(k.p, '\\', k.len) != NULL)
        return -1;
    memcpy(out, k.p, k.len);
    out[k.len] = '\0';
    return 0;
}

static int key_ok(struct listener *l, const char *msg, size_t len)
{
    struct pool pool = POOL_INIT(1024);
    struct door_req r;
    char key[65];
    int ok;

    door_req_init(&r, l->cfg.door, l->project_id, &pool);
    if (message_key(l, msg, len, &pool, key) < 0)
        ok = door_refuse(&r, DOOR_UNAUTHORIZED, "missing project key") == DOOR_ACCEPTED;
    else
        ok = door_auth(&r, key) == DOOR_ACCEPTED;
    pool_release(&pool);
    return ok;
}

int listen_add(struct listener *l, const char *msg, size_t len)
{
    if (len == 0)
        return 0;
    if (len > l->cfg.max_frame) {
        metrics_add(&l->metrics->sock_oversize[l->fmt], 1);
        return 0;
    }
    if (l->batch.len + len + 16 > LISTEN_BATCH_BYTES + l->cfg.max_frame)
        return BL_ETOOBIG;
    if (l->cfg.require_key && !key_ok(l, msg, len)) {
        drop(l, 1);
        return 0;
    }
    if (logfmt_batch_add(&l->batch, msg, len) < 0)
        return BL_ETOOBIG;
    l->nbatch++;
    return 0;
}

/* One journal append in flight: freed when the journal says it is durable. */
struct sub {
    struct door_req req;
    struct pool pool;
    struct listener *l;
    size_t n;
};

static void sub_free(struct sub *s)
{
    pool_release(&s->pool);
    free(s);
}

/* Journal flusher thread. */
static void sub_done(struct door_req *r, int outcome)
{
    struct sub *s = (struct sub *)r;

    if (outcome != DOOR_ACCEPTED)
        metrics_add(&s->l->metrics->sock_dropped[s->l->fmt], s->n);
    sub_free(s);
}

int listen_flush(struct listener *l, int keep)
{
    struct sub *s;
    int rc;

    if (l->nbatch == 0)
        return DOOR_ACCEPTED;
    s = xcalloc(1, sizeof(*s));
    pool_init(&s->pool, 1024);
    s->l = l;
    s->n = l->nbatch;
    door_req_init(&s->req, l->cfg.door, l->project_id, &s->pool);
    rc = door_gate(&s->req);
    if (rc == DOOR_ACCEPTED)
        rc = door_bind(&s->req);
    if (rc == DOOR_ACCEPTED) {
        rc = door_submit(&s->req, l->format, l->batch.p, l->batch.len, INGEST_ENC_NONE,
                         listen_now_us(), sub_done, s);
        /*
         * Accepted means queued (both formats refuse a body with no message), and
         * sub_done may already have run on the flusher thread and freed s: do
         * not touch it again.
         */
        if (rc == DOOR_ACCEPTED) {
            buf_reset(&l->batch);
            l->nbatch = 0;
            return DOOR_ACCEPTED;
        }
    }
    sub_free(s);
    if (rc == DOOR_BUSY && keep)
        return DOOR_BUSY;
    if (rc != DOOR_ACCEPTED)
        drop(l, l->nbatch);
    buf_reset(&l->batch);
    l->nbatch = 0;
    return rc;
}

/* The drops column of our socket's line in one /proc/net/udp file, by inode. */
static int proc_drops(const char *path, unsigned long inode, uint64_t *out)
{
    FILE *f = fopen(path, "re");
    char line[512];
    int found = -1;

    if (f == NULL)
        return -1;
    while (found < 0 && fgets(line, sizeof(line), f) != NULL) {
        unsigned long ino = 0;
        unsigned long long drops = 0;

        /* sl local rem st tx:rx tr:when retr uid timeout inode ref ptr drops */
        if (sscanf(line, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %llu", &ino, &drops) ==
                2 &&
            ino == inode) {
            *out = drops;
            found = 0;
        }
    }
    fclose(f);
    return found;
}

void listen_kernel_drops(struct listener *l)
{
    struct stat st;
    uint64_t now = 0;

    if (l->fd < 0 || fstat(l->fd, &st) < 0)
        return;
    if (proc_drops("/proc/net/udp", (unsigned long)st.st_ino, &now) < 0 &&
        proc_drops("/proc/net/udp6", (unsigned long)st.st_ino, &now) < 0)
        return;
    if (now > l->kernel_drops)
        metrics_add(&l->metrics->sock_kernel_drops[l->fmt], now - l->kernel_drops);
    l->kernel_drops = now;
}
