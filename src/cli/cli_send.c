/*
 * `bilor send`: one message or a test error to a DSN, through libbilor
 * only (the curl way: the command line tool dogfoods the public client
 * API), so a user can check a setup in one line:
 *
 *   bilor send --dsn http://KEY@127.0.0.1:8000/1 "hello"
 *   bilor send --dsn http://KEY@127.0.0.1:8000/1 --test-error
 *
 * Exits 0 once the server acknowledged the event, 1 when it could not be
 * delivered within --timeout (the reason is printed), 2 on usage errors.
 */
#include <bilor/bilor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/banned.h"

struct send_args {
    const char *dsn;
    const char *level;
    const char *logger;
    const char *release;
    const char *environment;
    const char *message;
    int test_error;
    unsigned timeout_ms;
};

/* The last thing libbilor had to say; printed when delivery fails. */
static char last_diag[512];

static void on_diag(void *ud, enum bilor_level level, const char *msg)
{
    (void)ud;
    (void)level;
    snprintf(last_diag, sizeof(last_diag), "%s", msg);
}

static int parse_level(const char *s, enum bilor_level *out)
{
    static const char *const names[] = { "debug", "info", "warning", "error", "fatal" };

    for (int i = 0; i <= BILOR_FATAL; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum bilor_level)i;
            return 0;
        }
    }
    return -1;
}

static int parse_args(int argc, char **argv, struct send_args *a)
{
    const char **opt[] = { &a->dsn, &a->level, &a->logger, &a->release, &a->environment };
    static const char *const names[] = { "--dsn", "--level", "--logger", "--release",
                                         "--environment" };
    char *end;

    for (int i = 0; i < argc; i++) {
        size_t k = 0;

        while (k < 5 && strcmp(argv[i], names[k]) != 0)
            k++;
        if (k < 5 && i + 1 < argc) {
            *opt[k] = argv[++i];
        } else if (strcmp(argv[i], "--test-error") == 0) {
            a->test_error = 1;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            unsigned long t = strtoul(argv[++i], &end, 10);

            if (*end != '\0' || t == 0 || t > 3600)
                return -1;
            a->timeout_ms = (unsigned)t * 1000;
        } else if (argv[i][0] != '-' && a->message == NULL) {
            a->message = argv[i];
        } else {
            return -1;
        }
    }
    if (a->dsn == NULL)
        a->dsn = getenv("BILOR_DSN");
    return a->dsn != NULL && (a->message != NULL) != (a->test_error != 0) ? 0 : -1;
}

static int build_event(struct bilor *c, const struct send_args *a, char id[33])
{
    enum bilor_level level = a->test_error ? BILOR_ERROR : BILOR_INFO;
    struct bilor_event *ev;

    if (a->level != NULL && parse_level(a->level, &level) != 0) {
        cli_fail("unknown level '%s' (debug, info, warning, error, fatal)", a->level);
        return 2;
    }
    ev = bilor_event_new(c, level, a->logger != NULL ? a->logger : "bilor.send");
    if (ev == NULL) {
        cli_fail("out of memory");
        return 1;
    }
    bilor_event_tag(ev, "source", "bilor send");
    if (a->test_error)
        bilor_event_exception(ev, "BilorTestError", 1,
                              "this is a test error sent by 'bilor send --test-error'");
    else
        bilor_event_set_message(ev, a->message);
    if (bilor_event_send(ev, id) != 0) {
        cli_fail("cannot queue the event");
        return 1;
    }
    return 0;
}

static int deliver(struct bilor *c, const struct send_args *a, const char *id)
{
    struct bilor_stats st;

    bilor_flush(c, a->timeout_ms + 2000);
    bilor_get_stats(c, &st);
    if (st.sent > 0) {
        printf("sent event %s\n", id);
        return 0;
    }
    if (last_diag[0] != '\0')
        cli_fail("event %s not delivered: %s", id, last_diag);
    else
        cli_fail("event %s not delivered within %u s", id, a->timeout_ms / 1000);
    return 1;
}

int cli_send(int argc, char **argv)
{
    struct send_args a = { .timeout_ms = 10000 };
    struct bilor_options o;
    struct bilor *c = NULL;
    char id[33] = "";
    int rc;

    if (parse_args(argc, argv, &a) != 0) {
        cli_fail("usage: bilor send --dsn DSN [--level L] [--logger NAME] [--release R] "
                 "[--environment E] [--timeout SECONDS] (MESSAGE | --test-error)");
        return 2;
    }
    bilor_options_init(&o);
    o.dsn = a.dsn;
    o.release = a.release;
    o.environment = a.environment;
    o.send_timeout_ms = a.timeout_ms;
    o.fallback_after_ms = a.timeout_ms;
    o.retry_min_ms = 250;
    o.retry_max_ms = 2000;
    o.log_fn = on_diag;
    rc = bilor_new(&c, &o);
    if (rc != 0) {
        cli_fail("cannot use DSN '%s': %s", a.dsn, bilor_strerror(rc));
        return rc == BILOR_EINVAL ? 2 : 1;
    }
    rc = build_event(c, &a, id);
    if (rc == 0)
        rc = deliver(c, &a, id);
    bilor_free(c);
    return rc;
}
