/*
 * xmalloc.h - allocation for the server: out of memory is fatal.
 *
 * The server is an application, so like git, tmux and h2o it logs and aborts
 * when memory runs out instead of threading ENOMEM through every caller.
 * lib/client (code inside someone else's process) never uses these.
 */
#ifndef BL_XMALLOC_H
#define BL_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

#endif
