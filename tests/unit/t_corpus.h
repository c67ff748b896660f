/*
 * t_corpus.h - the documents the differential tests (test_logscan,
 * test_slim) run both parsers over: every case of scrub.test (its "in" and
 * "want" objects), every normalizer case's "input", and every file of
 * every fuzz corpus.
 */
#ifndef BL_T_CORPUS_H
#define BL_T_CORPUS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "t.h"

/* A JSON document as one line, and where it comes from. */
typedef void (*t_doc_fn)(const char *doc, const char *where);

/* Member name of c, when an object, printed as one line to fn. */
static inline void t_corpus_member(const cJSON *c, const char *name, const char *where, t_doc_fn fn)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);
    char *s;

    if (!cJSON_IsObject(v))
        return;
    s = cJSON_PrintUnformatted(v);
    if (s != NULL)
        fn(s, where);
    free(s);
}

/* The "in" and "want" of every case of scrub.test. */
static inline void t_scrub_cases(t_doc_fn fn)
{
    char *text = t_read_file(T_DATA "/scrub/scrub.test", NULL);
    char *line = text, *nl;
    size_t docs = 0;

    CHECK(text != NULL);
    for (; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
        cJSON *c;

        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (line[0] != '{' || (c = cJSON_Parse(line)) == NULL)
            continue;
        t_corpus_member(c, "in", "scrub.test in", fn);
        t_corpus_member(c, "want", "scrub.test want", fn);
        docs += cJSON_GetObjectItemCaseSensitive(c, "in") != NULL;
        cJSON_Delete(c);
    }
    free(text);
    CHECK(docs > 20);
}

/* The "input" of every normalizer case. */
static inline void t_normalize_cases(t_doc_fn fn)
{
    const char *dir = T_DATA "/normalize";
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    CHECK(d != NULL);
    while (d != NULL && (de = readdir(d)) != NULL) {
        char path[1024];
        char *text;
        cJSON *c;

        if (strstr(de->d_name, ".json") == NULL)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        text = t_read_file(path, NULL);
        c = text != NULL ? cJSON_Parse(text) : NULL;
        if (c != NULL) {
            t_corpus_member(c, "input", path, fn);
            n++;
        }
        cJSON_Delete(c);
        free(text);
    }
    if (d != NULL)
        closedir(d);
    CHECK(n > 10);
}

/* Every file of every fuzz corpus, by path. */
static inline void t_fuzz_files(void (*fn)(const char *path))
{
    const char *root = T_DATA "/../fuzz/corpus";
    DIR *d = opendir(root);
    struct dirent *de;
    size_t files = 0;

    CHECK(d != NULL);
    while (d != NULL && (de = readdir(d)) != NULL) {
        char dir[1024];
        DIR *sub;
        struct dirent *f;

        if (de->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof(dir), "%s/%s", root, de->d_name);
        if ((sub = opendir(dir)) == NULL)
            continue;
        while ((f = readdir(sub)) != NULL) {
            char path[2048];

            if (f->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, f->d_name);
            fn(path);
            files++;
        }
        closedir(sub);
    }
    if (d != NULL)
        closedir(d);
    CHECK(files > 50);
}

#endif
