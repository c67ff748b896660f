/*
 * example.c - libbilor in one file (docs/client-c.md walks through it).
 *
 * Build against the installed library and run:
 *   cc example.c $(pkg-config --cflags --libs bilor) -o example
 *   ./example http://PUBLIC_KEY@127.0.0.1:8000/1
 *
 * It logs an informational message, three declined orders (one message
 * template, so one issue on the server) with tags and extra data, and
 * three configuration errors with their stack trace (one call site, so
 * one issue), then flushes and exits. With the crash handler installed, a
 * crash of this program would be reported by its next run.
 */
#include <bilor/bilor.h>
#include <stdio.h>
#include <stdlib.h>

/* Our own diagnostics: libbilor never prints anything by itself. */
static void on_diag(void *ud, enum bilor_level level, const char *msg)
{
    (void)ud;
    fprintf(stderr, "example: bilor says (%d): %s\n", (int)level, msg);
}

static int load_config(struct bilor *c, const char *path, int attempt)
{
    /* An error with a type, a printf-style value and this stack trace. */
    return bilor_capture_error(c, "ConfigError", "cannot parse %s (attempt %d)", path, attempt);
}

static int decline_order(struct bilor *c, int order_id, double amount)
{
    struct bilor_event *ev = bilor_event_new(c, BILOR_ERROR, "shop.orders");
    char event_id[33];
    int rc;

    if (ev == NULL)
        return BILOR_ENOMEM;
    bilor_event_message(ev, "order %d declined: amount %.2f over the limit", order_id, amount);
    bilor_event_tag(ev, "customer_tier", "gold");
    bilor_event_extra_int(ev, "order_id", order_id);
    bilor_event_extra_double(ev, "amount", amount);
    bilor_event_extra_bool(ev, "retryable", 1);
    bilor_event_extra_str(ev, "currency", "EUR");
    bilor_event_extra_json(ev, "cart", "{\"items\": [{\"sku\": \"A-1\", \"qty\": 2}], \"coupon\": null}");
    /* Sends (queues) the record and frees ev; any earlier error is returned here. */
    rc = bilor_event_send(ev, event_id);
    if (rc == 0)
        printf("order event %s\n", event_id);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dsn = argc > 1 ? argv[1] : getenv("BILOR_DSN");
    struct bilor_options o;
    struct bilor_stats st;
    struct bilor *c = NULL;
    int rc;

    bilor_options_init(&o);
    o.dsn = dsn;
    o.release = "example@1.0.0";
    o.environment = "staging";
    o.server_name = "example-host";
    o.queue_size = 1000;                /* records held while the server is slow */
    o.send_timeout_ms = 3000;           /* one HTTP request */
    o.fallback_after_ms = 10000;        /* then records go to the sink below */
    o.sink = BILOR_SINK_FILE;
    o.sink_path = "example-fallback.jsonl";
    o.crash_dir = "example-crashes";    /* crash spool; sent by the next run */
    o.log_fn = on_diag;
    rc = bilor_new(&c, &o);
    if (rc != 0) {
        fprintf(stderr, "example: bilor_new: %s\n", bilor_strerror(rc));
        return 1;
    }
    rc = bilor_crash_install(c);
    if (rc != 0)
        fprintf(stderr, "example: no crash handler: %s\n", bilor_strerror(rc));

    bilor_log(c, BILOR_INFO, "example", "example started with %d argument(s)", argc - 1);
    for (int i = 1; i <= 3; i++) {
        decline_order(c, 1000 + i, 99.5 * i);
        load_config(c, "/etc/example.conf", i);
    }

    rc = bilor_flush(c, 10000);
    bilor_get_stats(c, &st);
    printf("flush: %s; sent %llu, to sink %llu, dropped %llu\n", bilor_strerror(rc),
           (unsigned long long)st.sent, (unsigned long long)st.to_sink,
           (unsigned long long)st.dropped);
    bilor_free(c);
    return rc == 0 ? 0 : 1;
}
