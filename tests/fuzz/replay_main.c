/*
 * replay_main.c - runs a libFuzzer driver over its seed corpus without
 * libFuzzer, so CI replays every corpus under ASan/UBSan with gcc.
 * Usage: fuzz_x DIR_OR_FILE...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long n;

    if (f == NULL)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc(n > 0 ? (size_t)n : 1);
    if (p == NULL || (n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n)) {
        free(p);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(p, (size_t)n);
    free(p);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0, failed = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        DIR *d;
        struct dirent *e;

        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            failed += run_file(argv[i]) != 0;
            files++;
            continue;
        }
        d = opendir(argv[i]);
        if (d == NULL) {
            fprintf(stderr, "cannot open '%s'\n", argv[i]);
            failed++;
            continue;
        }
        while ((e = readdir(d)) != NULL) {
            char path[4096];

            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            failed += run_file(path) != 0;
            files++;
        }
        closedir(d);
    }
    printf("%d passed, %d failed\n", files - failed, failed + (files == 0));
    return failed != 0 || files == 0;
}
