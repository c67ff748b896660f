/*
 * t.h - the in-house unit test harness.
 *
 * CHECK(cond) and the typed CHECK_*_EQ assertions print both values on
 * failure and keep going; t_done() prints "N passed, N failed" as the last
 * line and returns the exit status. T_DATA is the tests/data directory.
 */
#ifndef BL_T_H
#define BL_T_H

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int t_pass, t_fail;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (c) {                                                                                   \
            t_pass++;                                                                              \
        } else {                                                                                   \
            t_fail++;                                                                              \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);                  \
        }                                                                                          \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
    do {                                                                                           \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                                    \
        if (t_a_ == t_b_) {                                                                        \
            t_pass++;                                                                              \
        } else {                                                                                   \
            t_fail++;                                                                              \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    t_a_, t_b_);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
    do {                                                                                           \
        const char *t_a_ = (a), *t_b_ = (b);                                                       \
        if (t_a_ != NULL && t_b_ != NULL && strcmp(t_a_, t_b_) == 0) {                             \
            t_pass++;                                                                              \
        } else {                                                                                   \
            t_fail++;                                                                              \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a,  \
                    #b, t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");                           \
        }                                                                                          \
    } while (0)

static inline int t_done(void)
{
    printf("%d passed, %d failed\n", t_pass, t_fail);
    return t_fail != 0 || t_pass == 0;
}

/* Whole file as a NUL-terminated heap string (free() it), NULL if unreadable. */
static inline char *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n + 1);
        if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n)
            n = 0;
        if (p != NULL)
            p[n] = '\0';
        if (len != NULL)
            *len = (size_t)n;
    }
    fclose(f);
    return p;
}

#ifndef T_DATA
#define T_DATA "tests/data"
#endif

/* Removes a temporary directory tree (tests' data directories). */
static inline void t_rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char sub[1024];
    struct stat sb;

    if (d == NULL) {
        unlink(path);
        return;
    }
    for (de = readdir(d); de != NULL; de = readdir(d)) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub))
            continue;
        if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
            t_rm_tree(sub);
        else
            unlink(sub);
    }
    closedir(d);
    rmdir(path);
}

#endif
