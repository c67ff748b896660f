/*
 * crash_spool.c - the next start: spooled crashes become fatal events.
 *
 * Runs on the sender thread before anything else is sent. Each spool file
 * is parsed, symbolized against the module map it carries (the binaries
 * are still on disk), turned into a fatal event with exception type
 * "SIGSEGV" etc., and queued; the file is removed once the server (or the
 * sink) has it, so a crash survives a second run that cannot reach the
 * server either. A file that cannot be parsed is removed at once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/buf.h"
#include "client/client_int.h"
#include "client/crash.h"
#include "client/json.h"
#include "client/sym.h"
#include "core/banned.h"

#define SPOOL_MAX (BC_CRASH_MAPS_MAX + (1u << 20))

struct signame {
    int sig;
    const char *name;
    const char *text;
};

static const struct signame signames[] = {
    { SIGSEGV, "SIGSEGV", "Segmentation fault" },
    { SIGBUS, "SIGBUS", "Bus error" },
    { SIGFPE, "SIGFPE", "Floating point exception" },
    { SIGILL, "SIGILL", "Illegal instruction" },
    { SIGABRT, "SIGABRT", "Aborted" },
};

static const struct signame *signame_of(int sig)
{
    static const struct signame other = { 0, "SIGNAL", "Fatal signal" };

    for (size_t i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
        if (signames[i].sig == sig)
            return &signames[i];
    return &other;
}

/* One "key value\n" line: *val and *vlen get the value; returns the next line. */
static const char *next_line(const char *p, const char *end, const char **key, size_t *klen,
                             const char **val, size_t *vlen)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *sp;

    if (nl == NULL)
        nl = end;
    sp = memchr(p, ' ', (size_t)(nl - p));
    *key = p;
    *klen = (size_t)((sp != NULL ? sp : nl) - p);
    *val = sp != NULL ? sp + 1 : nl;
    *vlen = (size_t)(nl - *val);
    return nl < end ? nl + 1 : end;
}

static int parse_u64(const char *s, size_t n, int base, uint64_t *out)
{
    char tmp[32];
    char *endp;

    if (n == 0 || n >= sizeof(tmp))
        return BILOR_EINVAL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    *out = strtoull(tmp, &endp, base);
    return errno == 0 && *endp == '\0' ? 0 : BILOR_EINVAL;
}

static int key_is(const char *k, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(k, want, n) == 0;
}

/* A metadata line: numbers or a JSON string, by key. */
static int parse_field(struct bc_spool *sp, const char *k, size_t kn, const char *v, size_t vn)
{
    uint64_t x = 0;
    int rc = 0;

    if (key_is(k, kn, "release") || key_is(k, kn, "environment") || key_is(k, kn, "server_name")) {
        if (bc_json_check(v, vn, NULL) != 0 || v[0] != '"')
            return BILOR_EINVAL;
        if (k[0] == 'r') {
            sp->release = v;
            sp->release_len = vn;
        } else if (k[0] == 'e') {
            sp->environment = v;
            sp->environment_len = vn;
        } else {
            sp->server_name = v;
            sp->server_name_len = vn;
        }
        return 0;
    }
    rc = parse_u64(v, vn, key_is(k, kn, "addr") || key_is(k, kn, "pc") ? 16 : 10, &x);
    if (key_is(k, kn, "signal"))
        sp->sig = (int)x;
    else if (key_is(k, kn, "code"))
        sp->code = (int)(int64_t)x;
    else if (key_is(k, kn, "addr"))
        sp->addr = (uintptr_t)x;
    else if (key_is(k, kn, "pc"))
        sp->pc = (uintptr_t)x;
    else if (key_is(k, kn, "time"))
        sp->time_us = (int64_t)x;
    return rc;
}

static const char *parse_frames(struct bc_spool *sp, const char *p, const char *end, uint64_t count)
{
    const char *k, *v;
    size_t kn, vn;
    uint64_t x;

    for (uint64_t i = 0; i < count && p < end; i++) {
        p = next_line(p, end, &k, &kn, &v, &vn);
        if (parse_u64(k, kn, 16, &x) != 0 || sp->nframes >= BC_CRASH_FRAMES)
            return NULL;
        sp->frames[sp->nframes++] = (void *)(uintptr_t)x;
    }
    return p;
}

int bc_spool_parse(const char *text, size_t len, struct bc_spool *sp)
{
    const char *p = text, *end = text + len, *k, *v;
    size_t kn, vn;
    uint64_t n;

    memset(sp, 0, sizeof(*sp));
    p = next_line(p, end, &k, &kn, &v, &vn);
    if (!key_is(k, kn, "bilor-crash") || vn != 1 || v[0] != '1')
        return BILOR_EINVAL;
    while (p < end) {
        p = next_line(p, end, &k, &kn, &v, &vn);
        if (key_is(k, kn, "maps")) {
            sp->maps = p;
            sp->maps_len = (size_t)(end - p);
            return sp->sig > 0 ? 0 : BILOR_EINVAL;
        }
        if (key_is(k, kn, "frames")) {
            if (parse_u64(v, vn, 10, &n) != 0 || n > BC_CRASH_FRAMES)
                return BILOR_EINVAL;
            p = parse_frames(sp, p, end, n);
            if (p == NULL)
                return BILOR_EINVAL;
        } else if (parse_field(sp, k, kn, v, vn) != 0) {
            return BILOR_EINVAL;
        }
    }
    return BILOR_EINVAL;
}

static void raw_field(struct bc_buf *b, const char *key, const char *raw, size_t n,
                      const char *fallback)
{
    if (raw == NULL && fallback == NULL)
        return;
    bc_buf_addf(b, ",\"%s\":", key);
    if (raw != NULL)
        bc_buf_add(b, raw, n);
    else
        bc_json_strz(b, fallback);
}

/* The stack from the faulting instruction outwards: the handler's own frames are left out. */
static void crash_frames(struct bilor *c, const struct bc_spool *sp, struct bc_buf *b)
{
    void *addrs[BC_CRASH_FRAMES + 1];
    struct bc_sym *sym = NULL;
    size_t start = sp->nframes, n = 0;

    for (size_t i = 0; i < sp->nframes && sp->pc != 0; i++) {
        if ((uintptr_t)sp->frames[i] == sp->pc) {
            start = i;
            break;
        }
    }
    if (start == sp->nframes) {
        /* pc not among the frames: it first, then every frame (handler ones included). */
        if (sp->pc != 0)
            addrs[n++] = (void *)sp->pc;
        start = 0;
    }
    for (size_t i = start; i < sp->nframes; i++)
        addrs[n++] = sp->frames[i];
    if (bc_sym_new_maps(&sym, &c->alloc, sp->maps, sp->maps_len) != 0)
        bc_client_log(c, BILOR_WARNING, "cannot read the module map of a crash");
    if (sym != NULL) {
        bc_sym_frames(sym, addrs, n, sp->pc != 0, b);
    } else {
        bc_buf_addc(b, '[');
        for (size_t i = n; i > 0; i--)
            bc_buf_addf(b, "{\"instruction_addr\":\"0x%" PRIxPTR "\"}%s", (uintptr_t)addrs[i - 1],
                        i > 1 ? "," : "");
        bc_buf_addc(b, ']');
    }
    bc_sym_free(sym);
}

int bc_spool_event(struct bilor *c, const struct bc_spool *sp, const char *event_id,
                   struct bc_buf *out)
{
    const struct signame *s = signame_of(sp->sig);
    int64_t ts = sp->time_us;

    bc_buf_addf(out, "{\"event_id\":\"%s\",\"timestamp\":%lld.%06d,\"platform\":\"native\"",
                event_id, (long long)(ts / 1000000), (int)(ts % 1000000));
    bc_buf_adds(out, ",\"level\":\"fatal\"");
    raw_field(out, "release", sp->release, sp->release_len, NULL);
    raw_field(out, "environment", sp->environment, sp->environment_len, "production");
    raw_field(out, "server_name", sp->server_name, sp->server_name_len, NULL);
    bc_buf_addf(out, ",\"sdk\":{\"name\":\"%s\",\"version\":\"%s\"}", BILOR_SDK_NAME,
                BILOR_VERSION_STRING);
    bc_buf_adds(out, ",\"contexts\":{\"os\":{\"name\":\"Linux\",\"version\":");
    bc_json_strz(out, c->os_release);
    bc_buf_addf(out, "}},\"tags\":{\"signal\":\"%s\"}", s->name);
    bc_buf_addf(out, ",\"exception\":{\"values\":[{\"type\":\"%s\",\"value\":\"%s", s->name,
                s->text);
    if (sp->sig == SIGSEGV || sp->sig == SIGBUS)
        bc_buf_addf(out, " at address 0x%" PRIxPTR, sp->addr);
    bc_buf_addf(out,
                "\",\"mechanism\":{\"type\":\"signalhandler\",\"handled\":false,"
                "\"meta\":{\"signal\":{\"number\":%d,\"code\":%d,\"name\":\"%s\"}}}",
                sp->sig, sp->code, s->name);
    bc_buf_adds(out, ",\"stacktrace\":{\"frames\":");
    crash_frames(c, sp, out);
    return bc_buf_adds(out, "}}]}}");
}

static int read_file(struct bilor *c, const char *path, struct bc_buf *b)
{
    char chunk[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return BILOR_EIO;
    bc_buf_init(b, &c->alloc, SPOOL_MAX);
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || bc_buf_add(b, chunk, (size_t)n) != 0)
            break;
    }
    close(fd);
    return n < 0 ? BILOR_EIO : b->err;
}

static int spool_record(struct bilor *c, const char *path, struct bc_record **out)
{
    struct bc_spool *sp = NULL;
    struct bc_record *r = NULL;
    struct bc_buf text, json;
    int rc;

    *out = NULL;
    bc_buf_init(&json, &c->alloc, c->max_event_bytes);
    rc = read_file(c, path, &text);
    sp = rc == 0 ? bc_malloc(&c->alloc, sizeof(*sp)) : NULL;
    rc = rc ? rc : (sp == NULL ? BILOR_ENOMEM : 0);
    rc = rc ? rc : bc_spool_parse(bc_buf_str(&text), text.len, sp);
    r = rc == 0 ? bc_record_new(&c->alloc) : NULL;
    rc = rc ? rc : (r == NULL ? BILOR_ENOMEM : 0);
    if (rc == 0) {
        bc_event_id(r->event_id);
        rc = bc_spool_event(c, sp, r->event_id, &json);
    }
    rc = rc ? rc : bc_strdup(&c->alloc, path, &r->spool_path);
    if (rc == 0) {
        r->json = bc_buf_detach(&json, &r->len);
        r->cat = BC_CAT_ERROR;
        r->level = BILOR_FATAL;
        *out = r;
        r = NULL;
    }
    bc_record_free(&c->alloc, r);
    bc_buf_release(&json);
    bc_buf_release(&text);
    bc_free(&c->alloc, sp);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A .tmp file is taken only when its writer is dead (it crashed while writing). */
static int spool_ready(const char *name)
{
    long pid;
    char *end;

    if (strncmp(name, "crash-", 6) != 0)
        return 0;
    if (ends_with(name, ".spool"))
        return 1;
    if (!ends_with(name, ".tmp"))
        return 0;
    pid = strtol(name + 6, &end, 10);
    return pid > 0 && *end == '-' && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void bc_crash_collect(struct bilor *c)
{
    DIR *d = opendir(c->crash_dir);
    struct dirent *e;
    char path[4096];
    struct bc_record *r;
    int rc;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!spool_ready(e->d_name))
            continue;
        snprintf(path, sizeof(path), "%s/%s", c->crash_dir, e->d_name);
        rc = spool_record(c, path, &r);
        if (rc == BILOR_EINVAL) {
            bc_client_log(c, BILOR_WARNING, "removing unreadable crash file %s", path);
            unlink(path);
        } else if (rc != 0) {
            bc_client_log(c, BILOR_WARNING, "cannot read crash file %s: %s", path,
                          bilor_strerror(rc));
        } else {
            bc_client_enqueue(c, r);
        }
    }
    closedir(d);
}
