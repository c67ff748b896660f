/*
 * test_http_poll.c - how the HTTP threads wait (--http-poll): poll and epoll
 * as asked, and auto's rule: poll only while --max-connections keeps each
 * thread at 32 connections or fewer, since poll's every wakeup costs every
 * open connection of the thread (docs/bench.md, stop 12).
 */
#include "http/http.h"

#include "t.h"

static int mode(int poll, unsigned threads, unsigned max_connections)
{
    struct http_config c = { .poll = poll, .threads = threads, .max_connections = max_connections };

    return http_poll_mode(&c);
}

int main(void)
{
    CHECK_INT_EQ(mode(HTTP_POLL_POLL, 2, 4096), HTTP_POLL_POLL);
    CHECK_INT_EQ(mode(HTTP_POLL_EPOLL, 2, 16), HTTP_POLL_EPOLL);
    /* the defaults: 2 threads, 4,096 connections */
    CHECK_INT_EQ(mode(HTTP_POLL_AUTO, 2, 4096), HTTP_POLL_EPOLL);
    CHECK_INT_EQ(mode(HTTP_POLL_AUTO, 2, 64), HTTP_POLL_POLL);
    CHECK_INT_EQ(mode(HTTP_POLL_AUTO, 2, 65), HTTP_POLL_EPOLL);
    CHECK_INT_EQ(mode(HTTP_POLL_AUTO, 4, 128), HTTP_POLL_POLL);
    CHECK_INT_EQ(mode(HTTP_POLL_AUTO, 0, 32), HTTP_POLL_POLL);
    CHECK_INT_EQ(mode(HTTP_POLL_AUTO, 0, 33), HTTP_POLL_EPOLL);
    return t_done();
}
