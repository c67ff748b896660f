/*
 * crash.c - the crash handler (bilor_crash_install()).
 *
 * DESIGN
 * A fatal signal leaves the process in an unknown state: the heap may be
 * corrupt and any lock may be held. So the handler only calls
 * async-signal-safe functions (open, read, write, rename, close,
 * sigaction, raise, clock_gettime, getpid) on memory prepared at install
 * time, and backtrace(), whose one unsafe part (loading libgcc_s on first
 * use) bc_stack_warmup() did in advance; with glibc >= 2.35 the unwinder
 * finds unwind tables through _dl_find_object, which takes no lock. It
 * writes the raw facts (signal, faulting address and instruction, return
 * addresses, /proc/self/maps) to a spool file and gives the signal back
 * to the previous handler. Everything slow (symbolizing, JSON, HTTP)
 * happens in the next run, which still has the same binaries on disk.
 *
 * Signal dispositions are per process, so this state is global: one
 * client at a time may own the handler (crash_mu guards ownership).
 */
#define _GNU_SOURCE /* REG_RIP and friends in ucontext_t: the faulting instruction */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "client/client_int.h"
#include "client/crash.h"
#include "client/json.h"
#include "client/stack.h"
#include "core/banned.h"

#define NCRASH 5
#define ALTSTACK_SIZE (64 * 1024)
#define DIR_MAX 3800

static const int crash_signals[NCRASH] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

static struct {
    struct bilor *owner; /* guarded by crash_mu */
    struct sigaction old[NCRASH];
    char dir[DIR_MAX + 16]; /* "DIR/crash-" */
    size_t dirlen;
    char meta[3072];
    size_t metalen;
    void *frames[BC_CRASH_FRAMES];
    char io[4096];
    atomic_flag busy;
    atomic_int done;
    _Alignas(16) unsigned char altstack[ALTSTACK_SIZE];
} crash = { .busy = ATOMIC_FLAG_INIT };

static pthread_mutex_t crash_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- async-signal-safe output ---- */

struct out {
    int fd;
    size_t n;
    char buf[512];
};

static void out_flush(struct out *o)
{
    size_t off = 0;

    while (off < o->n) {
        ssize_t w = write(o->fd, o->buf + off, o->n - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    o->n = 0;
}

static void out_mem(struct out *o, const char *p, size_t n)
{
    while (n > 0) {
        size_t k = sizeof(o->buf) - o->n;

        if (k == 0) {
            out_flush(o);
            continue;
        }
        k = k < n ? k : n;
        memcpy(o->buf + o->n, p, k);
        o->n += k;
        p += k;
        n -= k;
    }
}

static void out_str(struct out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static void out_num(struct out *o, uint64_t v, unsigned base)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v > 0 && i > 0);
    out_mem(o, tmp + i, sizeof(tmp) - i);
}

static void out_field(struct out *o, const char *key, uint64_t v, unsigned base)
{
    out_str(o, key);
    out_num(o, v, base);
    out_mem(o, "\n", 1);
}

static void copy_maps(struct out *o)
{
    size_t total = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return;
    out_flush(o);
    while (total < BC_CRASH_MAPS_MAX) {
        ssize_t r = read(fd, crash.io, sizeof(crash.io));

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        out_mem(o, crash.io, (size_t)r);
        total += (size_t)r;
    }
    out_flush(o);
    close(fd);
}

void bc_crash_write(int fd, int sig, int code, uintptr_t addr, uintptr_t pc, void *const *frames,
                    int nframes, const char *meta, size_t metalen)
{
    struct out o = { .fd = fd, .n = 0 };
    struct timespec ts = { 0, 0 };

    clock_gettime(CLOCK_REALTIME, &ts);
    out_str(&o, "bilor-crash 1\n");
    out_field(&o, "signal ", (uint64_t)sig, 10);
    out_field(&o, "code ", (uint64_t)(int64_t)code, 10);
    out_field(&o, "addr ", addr, 16);
    out_field(&o, "pc ", pc, 16);
    out_field(&o, "time ", (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000, 10);
    out_mem(&o, meta, metalen);
    out_field(&o, "frames ", nframes > 0 ? (uint64_t)nframes : 0, 10);
    for (int i = 0; i < nframes; i++) {
        out_num(&o, (uintptr_t)frames[i], 16);
        out_mem(&o, "\n", 1);
    }
    out_str(&o, "maps\n");
    copy_maps(&o);
}

static uintptr_t fault_pc(void *uctx)
{
    const ucontext_t *uc = uctx;

    if (uc == NULL)
        return 0;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__i386__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_EIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    return 0;
#endif
}

static size_t put_num(char *p, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    memcpy(p, tmp + i, sizeof(tmp) - i);
    return sizeof(tmp) - i;
}

/* "DIR/crash-PID-TIME" + suffix into path (room for DIR_MAX + 64); no stdio. */
static void spool_name(char *path, const char *suffix, uint64_t pid, uint64_t t)
{
    size_t n = crash.dirlen;

    memcpy(path, crash.dir, n);
    n += put_num(path + n, pid);
    path[n++] = '-';
    n += put_num(path + n, t);
    memcpy(path + n, suffix, strlen(suffix) + 1);
}

static void crash_spool(int sig, siginfo_t *si, void *uctx)
{
    char tmp[DIR_MAX + 64], final[DIR_MAX + 64];
    struct timespec ts = { 0, 0 };
    uint64_t pid = (uint64_t)getpid(), t;
    int n, fd;

    clock_gettime(CLOCK_REALTIME, &ts);
    t = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
    spool_name(tmp, ".tmp", pid, t);
    spool_name(final, ".spool", pid, t);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    n = backtrace(crash.frames, BC_CRASH_FRAMES);
    bc_crash_write(fd, sig, si != NULL ? si->si_code : 0, si != NULL ? (uintptr_t)si->si_addr : 0,
                   fault_pc(uctx), crash.frames, n, crash.meta, crash.metalen);
    close(fd);
    rename(tmp, final);
}

/* Puts the previous dispositions back; an ignored hardware fault would loop forever. */
static void crash_restore(void)
{
    for (int i = 0; i < NCRASH; i++) {
        struct sigaction sa = crash.old[i];

        if (sa.sa_handler == SIG_IGN && crash_signals[i] != SIGABRT)
            sa.sa_handler = SIG_DFL;
        sigaction(crash_signals[i], &sa, NULL);
    }
}

static void crash_handler(int sig, siginfo_t *si, void *uctx)
{
    int saved = errno;

    if (!atomic_flag_test_and_set(&crash.busy)) {
        crash_spool(sig, si, uctx);
        atomic_store(&crash.done, 1);
    } else {
        /* Another thread crashed first: let it finish its file (at most 2 s). */
        struct timespec ms = { 0, 10 * 1000000 };

        for (int i = 0; i < 200 && !atomic_load(&crash.done); i++)
            nanosleep(&ms, NULL);
    }
    crash_restore();
    /* Sent with kill() or raise(): returning would not repeat it, so send it again. */
    if (si == NULL || si->si_code <= 0)
        raise(sig);
    errno = saved;
}

/* The spool's metadata lines, made once so the handler only copies bytes. */
static int crash_meta(struct bilor *c)
{
    const char *keys[3] = { "release ", "environment ", "server_name " };
    const char *vals[3] = { c->release, c->environment, c->server_name };
    struct bc_buf b;
    int rc;

    bc_buf_init(&b, &c->alloc, sizeof(crash.meta) - 1);
    for (int i = 0; i < 3; i++) {
        if (vals[i] == NULL)
            continue;
        bc_buf_adds(&b, keys[i]);
        bc_json_str_cut(&b, vals[i], strlen(vals[i]), 256);
        bc_buf_addc(&b, '\n');
    }
    rc = b.err;
    if (rc == 0) {
        memcpy(crash.meta, bc_buf_str(&b), b.len);
        crash.metalen = b.len;
    }
    bc_buf_release(&b);
    return rc;
}

static int crash_prepare(struct bilor *c)
{
    char abs[PATH_MAX];
    const char *dir = c->crash_dir;
    size_t n;

    if (dir[0] == '\0')
        return BILOR_EINVAL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return BILOR_EIO;
    /* Absolute, so the spool lands in the same place after a chdir(). */
    if (realpath(dir, abs) != NULL)
        dir = abs;
    n = strlen(dir);
    if (n > DIR_MAX)
        return BILOR_EINVAL;
    memcpy(crash.dir, dir, n);
    memcpy(crash.dir + n, "/crash-", 7);
    crash.dirlen = n + 7;
    atomic_flag_clear(&crash.busy);
    atomic_store(&crash.done, 0);
    return crash_meta(c);
}

/* An alternate stack, so that a stack overflow can still be reported; the caller's own wins. */
static void crash_altstack(void)
{
    stack_t ss;

    if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE))
        return;
    ss.ss_sp = crash.altstack;
    ss.ss_size = sizeof(crash.altstack);
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
}

int bilor_crash_install(struct bilor *c)
{
    struct sigaction sa;
    int rc;

    if (c == NULL || c->crash_dir == NULL)
        return BILOR_EINVAL;
    pthread_mutex_lock(&crash_mu);
    rc = crash.owner != NULL ? BILOR_EBUSY : crash_prepare(c);
    if (rc == 0) {
        bc_stack_warmup();
        crash_altstack();
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = crash_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        for (int i = 0; i < NCRASH; i++)
            sigaction(crash_signals[i], &sa, &crash.old[i]);
        crash.owner = c;
    }
    pthread_mutex_unlock(&crash_mu);
    return rc;
}

void bc_crash_uninstall(struct bilor *c)
{
    pthread_mutex_lock(&crash_mu);
    if (crash.owner == c) {
        for (int i = 0; i < NCRASH; i++)
            sigaction(crash_signals[i], &crash.old[i], NULL);
        crash.owner = NULL;
    }
    pthread_mutex_unlock(&crash_mu);
}
