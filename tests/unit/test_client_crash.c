/*
 * test_client_crash.c - crash reports: the spool file written by the
 * signal handler's writer reads back into a fatal event whose frames name
 * the crashing function; malformed spools are refused; and for real, a
 * forked child that installs the handler and dereferences NULL (or calls
 * abort()) leaves a spool that the next client turns into the event.
 *
 * Under AddressSanitizer the child's fault goes first to our handler
 * (installed after ASan's), which writes the spool and then hands the
 * signal back to ASan's own handler; the child's stderr is discarded so
 * its ASan report does not look like a failure of this test.
 */
#include <dirent.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/buf.h"
#include "client/client_int.h"
#include "client/crash.h"
#include "core/hash.h"
#include "core/json.h"

#include "t.h"

static char dir[] = "/tmp/bilor-crash-test-XXXXXX";
static char *last;

static void keep_last(void *ud, const char *json, size_t len)
{
    (void)ud;
    free(last);
    last = malloc(len + 1);
    memcpy(last, json, len);
    last[len] = '\0';
}

static struct bilor *client(void)
{
    struct bilor_options o;
    struct bilor *c = NULL;

    bilor_options_init(&o);
    o.crash_dir = dir;
    o.release = "crash@1";
    o.sink = BILOR_SINK_CALLBACK;
    o.sink_fn = keep_last;
    CHECK_INT_EQ(bilor_new(&c, &o), 0);
    return c;
}

/* Names of the frames of the first exception, caller first, joined by spaces. */
static void frame_names(cJSON *v, char *out, size_t cap)
{
    cJSON *exc = cJSON_GetArrayItem(json_arr(json_obj(v, "exception"), "values"), 0);
    cJSON *frames = json_arr(json_obj(exc, "stacktrace"), "frames");
    cJSON *f;

    out[0] = '\0';
    cJSON_ArrayForEach(f, frames)
    {
        const char *fn = json_str(f, "function");
        size_t n = strlen(out);

        snprintf(out + n, cap - n, "%s ", fn != NULL ? fn : "?");
    }
}

static int count_spools(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d != NULL && (e = readdir(d)) != NULL)
        n += strncmp(e->d_name, "crash-", 6) == 0;
    if (d != NULL)
        closedir(d);
    return n;
}

__attribute__((noinline)) static void spool_site_marker(struct bilor *c, struct bc_buf *json)
{
    void *frames[64];
    char path[512], text[1 << 16];
    const char meta[] = "release \"r@1\"\nenvironment \"qa\"\n";
    struct bc_spool sp;
    int n = backtrace(frames, 64), fd;
    ssize_t len;

    snprintf(path, sizeof(path), "%s/manual.txt", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    bc_crash_write(fd, SIGSEGV, 1, 0x10, (uintptr_t)frames[0], frames, n, meta, strlen(meta));
    close(fd);
    fd = open(path, O_RDONLY);
    len = read(fd, text, sizeof(text) - 1);
    close(fd);
    unlink(path);
    CHECK(len > 0);
    text[len > 0 ? len : 0] = '\0';
    CHECK_INT_EQ(bc_spool_parse(text, (size_t)len, &sp), 0);
    CHECK_INT_EQ(sp.sig, SIGSEGV);
    CHECK_INT_EQ(sp.addr, 0x10);
    CHECK_INT_EQ(sp.nframes, n);
    CHECK(sp.maps_len > 100);
    CHECK_INT_EQ(bc_spool_event(c, &sp, "0123456789abcdef0123456789abcdef", json), 0);
    __asm__ volatile("" ::: "memory");
}

static void test_spool_roundtrip(struct bilor *c)
{
    struct bc_buf json;
    char names[4096];
    cJSON *v;

    bc_buf_init(&json, &bc_default_alloc, 1 << 20);
    spool_site_marker(c, &json);
    v = json_parse(bc_buf_str(&json), json.len, &JSON_LIMITS_DEFAULT, NULL);
    CHECK(v != NULL);
    if (v != NULL) {
        cJSON *exc = cJSON_GetArrayItem(json_arr(json_obj(v, "exception"), "values"), 0);

        CHECK_STR_EQ(json_str(v, "level"), "fatal");
        CHECK_STR_EQ(json_str(v, "release"), "r@1");
        CHECK_STR_EQ(json_str(v, "environment"), "qa");
        CHECK_STR_EQ(json_str(exc, "type"), "SIGSEGV");
        CHECK_STR_EQ(json_str(exc, "value"), "Segmentation fault at address 0x10");
        CHECK_STR_EQ(json_str(json_obj(exc, "mechanism"), "type"), "signalhandler");
        frame_names(v, names, sizeof(names));
        CHECK(strstr(names, "spool_site_marker test_spool_roundtrip") == NULL);
        CHECK(strstr(names, "test_spool_roundtrip spool_site_marker") != NULL);
        if (strstr(names, "test_spool_roundtrip spool_site_marker") == NULL)
            fprintf(stderr, "frames: %s\n", names);
    }
    cJSON_Delete(v);
    bc_buf_release(&json);
}

static void test_spool_bad(void)
{
    static const char *const bad[] = {
        "",
        "bilor-crash 2\nsignal 11\nmaps\n",
        "bilor-crash 1\nsignal 11\nframes 1\n",             /* no maps */
        "bilor-crash 1\nsignal 11\nframes 3\n1\n2\nmaps\n", /* a frame short: eats "maps" */
        "bilor-crash 1\nsignal 11\nframes 1\nxyz\nmaps\n",
        "bilor-crash 1\nsignal 11\nframes 9999\nmaps\n",
        "bilor-crash 1\nsignal eleven\nmaps\n",
        "bilor-crash 1\nmaps\n", /* no signal */
        "bilor-crash 1\nsignal 11\nrelease not-json\nmaps\n",
        "bilor-crash 1\nsignal 11\nrelease {\"a\":1}\nmaps\n",
    };
    struct bc_spool sp;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = bc_spool_parse(bad[i], strlen(bad[i]), &sp);

        if (rc != BILOR_EINVAL)
            fprintf(stderr, "accepted spool %zu\n", i);
        CHECK_INT_EQ(rc, BILOR_EINVAL);
    }
    CHECK_INT_EQ(bc_spool_parse("bilor-crash 1\nsignal 6\nmaps\nx", 29, &sp), 0);
}

__attribute__((noinline)) static void crash_now(int how)
{
    /* Not NULL itself: UBSan would report a null store and exit before the fault. */
    volatile int *volatile p = (volatile int *)(uintptr_t)0x10;

    if (how == 0)
        *p = 42;
    else
        abort();
}

static void child(int how)
{
    struct bilor_options o;
    struct bilor *c = NULL;
    int fd = open("/dev/null", O_WRONLY);

    dup2(fd, 2);
    bilor_options_init(&o);
    o.crash_dir = dir;
    if (bilor_new(&c, &o) != 0 || bilor_crash_install(c) != 0)
        _exit(3);
    crash_now(how);
    _exit(4);
}

static void test_fork_crash(int how, const char *type)
{
    struct bilor *c;
    char names[4096];
    int status = 0;
    pid_t pid;
    cJSON *v;

    pid = fork();
    if (pid == 0)
        child(how);
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) ||
          (WIFEXITED(status) && WEXITSTATUS(status) != 3 && WEXITSTATUS(status) != 4));
    CHECK_INT_EQ(count_spools(), 1);
    free(last);
    last = NULL;
    c = client();
    if (c == NULL)
        return;
    CHECK_INT_EQ(bilor_flush(c, 10000), 0);
    bilor_free(c);
    CHECK(last != NULL);
    v = last != NULL ? json_parse(last, strlen(last), &JSON_LIMITS_DEFAULT, NULL) : NULL;
    CHECK(v != NULL);
    if (v != NULL) {
        cJSON *exc = cJSON_GetArrayItem(json_arr(json_obj(v, "exception"), "values"), 0);

        CHECK_STR_EQ(json_str(exc, "type"), type);
        frame_names(v, names, sizeof(names));
        CHECK(strstr(names, "crash_now") != NULL);
        CHECK(strstr(names, "test_fork_crash") != NULL);
        printf("%s frames: %s\n", type, names);
    }
    cJSON_Delete(v);
    CHECK_INT_EQ(count_spools(), 0); /* delivered (to the sink): removed */
}

static void test_install_rules(void)
{
    struct bilor_options o;
    struct bilor *a = NULL, *b = NULL, *plain = NULL;

    bilor_options_init(&o);
    CHECK_INT_EQ(bilor_new(&plain, &o), 0);
    CHECK_INT_EQ(bilor_crash_install(plain), BILOR_EINVAL);
    o.crash_dir = dir;
    CHECK_INT_EQ(bilor_new(&a, &o), 0);
    CHECK_INT_EQ(bilor_new(&b, &o), 0);
    CHECK_INT_EQ(bilor_crash_install(a), 0);
    CHECK_INT_EQ(bilor_crash_install(b), BILOR_EBUSY);
    bilor_free(a);
    CHECK_INT_EQ(bilor_crash_install(b), 0);
    bilor_free(b);
    bilor_free(plain);
}

int main(void)
{
    struct bilor *c;

    hash_global_init();
    json_global_init();
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    c = client();
    if (c != NULL) {
        test_spool_roundtrip(c);
        bilor_free(c);
    }
    test_spool_bad();
    test_fork_crash(0, "SIGSEGV");
    test_fork_crash(1, "SIGABRT");
    test_install_rules();
    free(last);
    rmdir(dir);
    return t_done();
}
