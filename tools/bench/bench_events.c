/*
 * bench_events.c - realistic sentry-python events for the benchmark.
 *
 * The tables below describe a Django + DRF + Celery shop; the generator
 * draws from them with a PRNG seeded per body, so the pool is the same on
 * every run. See bench_events.h for how issues are kept distinct.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_events.h"
#include "bench_rng.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define SITE "/usr/local/lib/python3.11/site-packages/"
#define ZERO_ID "00000000000000000000000000000000"

struct lib_frame {
    const char *module;
    const char *file;
    const char *function;
    const char *line;
};

static const struct lib_frame lib_frames[] = {
    { "django.core.handlers.exception", "django/core/handlers/exception.py", "inner",
      "response = get_response(request)" },
    { "django.core.handlers.base", "django/core/handlers/base.py", "_get_response",
      "response = wrapped_callback(request, *callback_args, **callback_kwargs)" },
    { "django.views.decorators.csrf", "django/views/decorators/csrf.py", "wrapped_view",
      "return view_func(*args, **kwargs)" },
    { "rest_framework.viewsets", "rest_framework/viewsets.py", "view",
      "return self.dispatch(request, *args, **kwargs)" },
    { "rest_framework.views", "rest_framework/views.py", "dispatch",
      "response = handler(request, *args, **kwargs)" },
    { "rest_framework.views", "rest_framework/views.py", "handle_exception",
      "self.raise_uncaught_exception(exc)" },
    { "rest_framework.mixins", "rest_framework/mixins.py", "list",
      "page = self.paginate_queryset(queryset)" },
    { "django.db.models.query", "django/db/models/query.py", "__iter__", "self._fetch_all()" },
    { "django.db.models.query", "django/db/models/query.py", "_fetch_all",
      "self._result_cache = list(self._iterable_class(self))" },
    { "django.db.models.sql.compiler", "django/db/models/sql/compiler.py", "execute_sql",
      "cursor.execute(sql, params)" },
    { "django.db.backends.utils", "django/db/backends/utils.py", "_execute",
      "return self.cursor.execute(sql, params)" },
    { "requests.api", "requests/api.py", "request",
      "return session.request(method=method, url=url, **kwargs)" },
    { "requests.sessions", "requests/sessions.py", "send", "r = adapter.send(request, **kwargs)" },
    { "requests.adapters", "requests/adapters.py", "send",
      "raise ConnectionError(e, request=request)" },
    { "urllib3.connectionpool", "urllib3/connectionpool.py", "urlopen",
      "httplib_response = self._make_request(conn, method, url, **response_kw)" },
    { "celery.app.trace", "celery/app/trace.py", "trace_task",
      "R = retval = fun(*args, **kwargs)" },
    { "celery.app.trace", "celery/app/trace.py", "__protected_call__",
      "return self.run(*args, **kwargs)" },
    { "json", "json/__init__.py", "loads", "return _default_decoder.decode(s)" },
    { "json.decoder", "json/decoder.py", "raw_decode",
      "raise JSONDecodeError(\"Expecting value\", s, err.value) from None" },
    { "redis.client", "redis/client.py", "execute_command",
      "return self.parse_response(conn, command_name, **options)" },
    { "gunicorn.workers.sync", "gunicorn/workers/sync.py", "handle_request",
      "respiter = self.wsgi(environ, resp.start_response)" },
    { "sentry_sdk.integrations.django", "sentry_sdk/integrations/django/views.py",
      "sentry_wrapped_callback", "return callback(request, *args, **kwargs)" },
};

static const char *const app_modules[] = {
    "shop.orders.views",   "shop.orders.services",     "shop.payments.gateway",
    "shop.payments.tasks", "shop.catalog.views",       "shop.catalog.search",
    "shop.accounts.views", "shop.accounts.auth",       "shop.cart.models",
    "shop.cart.views",     "shop.shipping.rates",      "shop.shipping.tasks",
    "shop.inventory.sync", "shop.notifications.email", "shop.api.serializers",
    "shop.api.pagination", "shop.reports.export",      "shop.billing.invoices",
    "shop.coupons.rules",  "shop.search.indexer",
};
#define N_APP_MODULES (sizeof(app_modules) / sizeof(app_modules[0]))

static const char *const app_functions[] = {
    "get_queryset",  "create_order",  "apply_discount",    "charge_card",     "refund_payment",
    "compute_total", "send_receipt",  "sync_stock",        "render_invoice",  "validate_address",
    "get_rates",     "lookup_user",   "check_permissions", "serialize_items", "paginate",
    "export_csv",    "parse_webhook", "retry_charge",      "load_cart",       "merge_carts",
    "reserve_items", "release_items", "update_index",      "build_query",     "resolve_coupon",
};
#define N_APP_FUNCTIONS (sizeof(app_functions) / sizeof(app_functions[0]))

static const char *const app_lines[] = {
    "order = Order.objects.select_related(\"customer\").get(pk=order_id)",
    "total = sum(item.price * item.quantity for item in items)",
    "response = self.client.post(url, json=payload, timeout=10)",
    "data = json.loads(request.body)",
    "rate = rates[zone][weight_class]",
    "user = User.objects.get(email=email.lower())",
    "discount = coupon.value / coupon.min_items",
    "stock = cache.get(f\"stock:{sku}\")",
    "return serializer.to_representation(instance)",
    "if not request.user.has_perm(\"orders.change_order\", obj):",
    "raise ValidationError({\"email\": [\"Enter a valid email address.\"]})",
    "writer.writerow([row.id, row.created.isoformat(), row.total])",
    "result = gateway.charge(amount=cents, currency=currency, source=token)",
    "item = cart.items[index]",
    "self.index.add_documents(batch, primary_key=\"id\")",
};

static const char *const ctx_lines[] = {
    "",
    "    try:",
    "    except Exception:",
    "        log.exception(\"failed\")",
    "    # keep the session alive for the retry",
    "    with transaction.atomic():",
    "        return None",
    "    kwargs.setdefault(\"timeout\", 30)",
};

struct exc_kind {
    const char *type;
    const char *module; /* NULL for builtins (python sends null) */
    const char *value;
};

static const struct exc_kind exc_kinds[] = {
    { "KeyError", NULL, "'user_id'" },
    { "ValueError", NULL, "invalid literal for int() with base 10: 'abc'" },
    { "TypeError", NULL, "unsupported operand type(s) for +: 'int' and 'NoneType'" },
    { "AttributeError", NULL, "'NoneType' object has no attribute 'id'" },
    { "ZeroDivisionError", NULL, "division by zero" },
    { "IndexError", NULL, "list index out of range" },
    { "DoesNotExist", "shop.orders.models", "Order matching query does not exist." },
    { "IntegrityError", "django.db.utils",
      "duplicate key value violates unique constraint \"orders_order_pkey\"" },
    { "OperationalError", "django.db.utils", "could not connect to server: Connection refused" },
    { "ConnectionError", "requests.exceptions",
      "HTTPSConnectionPool(host='api.stripe.com', port=443): Max retries exceeded" },
    { "ReadTimeout", "requests.exceptions", "Read timed out. (read timeout=10)" },
    { "JSONDecodeError", "json.decoder", "Expecting value: line 1 column 1 (char 0)" },
    { "PermissionDenied", "rest_framework.exceptions",
      "You do not have permission to perform this action." },
    { "ValidationError", "django.core.exceptions", "{'email': ['Enter a valid email address.']}" },
    { "RuntimeError", NULL, "dictionary changed size during iteration" },
    { "UnicodeDecodeError", NULL,
      "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte" },
    { "ConnectionError", "redis.exceptions",
      "Error 111 connecting to redis:6379. Connection refused." },
    { "CardError", "stripe.error", "Your card was declined." },
};
#define N_EXC_KINDS (sizeof(exc_kinds) / sizeof(exc_kinds[0]))

static const char *const sql_crumbs[] = {
    "SELECT \\\"orders_order\\\".\\\"id\\\", \\\"orders_order\\\".\\\"status\\\", "
    "\\\"orders_order\\\".\\\"total\\\" FROM \\\"orders_order\\\" WHERE "
    "\\\"orders_order\\\".\\\"customer_id\\\" = %s ORDER BY \\\"orders_order\\\".\\\"created\\\" "
    "DESC LIMIT 21",
    "SELECT \\\"auth_user\\\".\\\"id\\\", \\\"auth_user\\\".\\\"email\\\" FROM \\\"auth_user\\\" "
    "WHERE \\\"auth_user\\\".\\\"id\\\" = %s LIMIT 21",
    "UPDATE \\\"inventory_stock\\\" SET \\\"quantity\\\" = "
    "(\\\"inventory_stock\\\".\\\"quantity\\\" "
    "- %s) WHERE \\\"inventory_stock\\\".\\\"sku\\\" = %s",
    "INSERT INTO \\\"orders_orderitem\\\" (\\\"order_id\\\", \\\"sku\\\", \\\"quantity\\\", "
    "\\\"price\\\") VALUES (%s, %s, %s, %s) RETURNING \\\"orders_orderitem\\\".\\\"id\\\"",
};

static const char *const user_agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "okhttp/4.12.0",
    "python-requests/2.31.0",
};

static const char *const paths[] = {
    "/api/orders/",         "/api/cart/items/",     "/api/payments/charge/", "/api/catalog/search/",
    "/api/accounts/login/", "/api/shipping/rates/", "/api/coupons/apply/",   "/api/reports/export/",
};

/* The generator's state: one buffer, a sticky failure flag, the PRNG. */
struct gen {
    struct buf b;
    struct rng r;
    int failed;
    int64_t now;
};

static void put(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct gen *g, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (buf_vaddf(&g->b, fmt, ap) < 0)
        g->failed = 1;
    va_end(ap);
}

/* Appends a JSON string literal. */
static void put_str(struct gen *g, const char *s)
{
    if (buf_add_json_str(&g->b, s, strlen(s)) < 0)
        g->failed = 1;
}

static void put_time(struct gen *g, int64_t us)
{
    char ts[40];

    clock_fmt_rfc3339(us, ts);
    put(g, "\"%s\"", ts);
}

static void put_hex(struct gen *g, size_t n)
{
    char hex[64];

    rng_hex(&g->r, hex, n);
    put(g, "\"%.*s\"", (int)n, hex);
}

static void put_context(struct gen *g, struct rng *code, const char *key, int nlines)
{
    int i;

    put(g, ",\"%s\":[", key);
    for (i = 0; i < nlines; i++) {
        put(g, i ? "," : "");
        put_str(g, RNG_PICK(code, ctx_lines));
    }
    put(g, "]");
}

static void put_vars(struct gen *g, int nvars)
{
    static const char *const vars[] = {
        "\"self\":\"<shop.orders.views.OrderViewSet object at 0x7f3a2c1d9e50>\"",
        "\"request\":\"<Request: GET '/api/orders/?page=2'>\"",
        "\"order_id\":\"'48213'\"",
        "\"user\":\"<User: alice@example.com>\"",
        "\"items\":\"[<OrderItem: 3 x SKU-1182>, <OrderItem: 1 x SKU-2231>]\"",
        "\"total\":\"Decimal('129.90')\"",
        "\"retries\":\"3\"",
        "\"kwargs\":\"{'timeout': 10, 'allow_redirects': True}\"",
    };
    int i;

    put(g, ",\"vars\":{");
    for (i = 0; i < nvars && i < (int)(sizeof(vars) / sizeof(vars[0])); i++)
        put(g, "%s%s", i ? "," : "", vars[(i + rng_below(&g->r, 3)) % 8]);
    put(g, "}");
}

/*
 * One stack frame; ctx is the number of pre/post context lines (0 = none).
 * The line number and context come from code, so that a code location can
 * look the same in every event that passes through it.
 */
static void put_frame(struct gen *g, struct rng *code, const struct lib_frame *f, int in_app,
                      int ctx, int nvars)
{
    put(g,
        "{\"filename\":\"%s\",\"abs_path\":\"%s%s\",\"function\":\"%s\",\"module\":\"%s\","
        "\"lineno\":%ld",
        f->file, in_app ? "/srv/shop/" : SITE, f->file, f->function, f->module,
        rng_range(code, 12, 1400));
    if (ctx > 0)
        put_context(g, code, "pre_context", ctx);
    put(g, ",\"context_line\":");
    put_str(g, f->line);
    if (ctx > 0)
        put_context(g, code, "post_context", ctx);
    if (nvars > 0)
        put_vars(g, nvars);
    put(g, ",\"in_app\":%s}", in_app ? "true" : "false");
}

/*
 * An in-app frame of module.function: the file name is the module's path;
 * code (seeded by issue and frame) fixes the source line, since Sentry-style
 * grouping of python frames includes the context line.
 */
static void put_app_frame(struct gen *g, struct rng *code, const char *module, const char *function,
                          int large)
{
    struct lib_frame f = { module, NULL, function, RNG_PICK(code, app_lines) };
    char file[160];
    size_t i, n;

    n = (size_t)snprintf(file, sizeof(file), "%s", module);
    for (i = 0; i < n && i < sizeof(file); i++)
        if (file[i] == '.')
            file[i] = '/';
    if (n + 3 < sizeof(file))
        memcpy(file + n, ".py", 4);
    f.file = file;
    put_frame(g, code, &f, 1, large ? 5 : 0, large ? 6 : 1);
}

/*
 * The frames, caller first. The issue's in-app frames (1-3, derived from the
 * issue number only) come last, so the primary frame is in-app; library
 * frames before them vary per body.
 */
static void put_frames(struct gen *g, size_t issue, int large)
{
    int nframes = large ? (int)rng_range(&g->r, 9, 13) : (int)rng_range(&g->r, 4, 6);
    int napp = 1 + (int)(issue % 3), i;

    put(g, "\"stacktrace\":{\"frames\":[");
    for (i = 0; i < nframes - napp; i++) {
        const struct lib_frame *f = &RNG_PICK(&g->r, lib_frames);

        put(g, i ? "," : "");
        put_frame(g, &g->r, f, 0, large ? 2 : 0, large ? 2 : 0);
    }
    for (i = 0; i < napp; i++) {
        /* One generator per (issue, frame): both size variants draw the same code. */
        struct rng ir = { (issue + 1) * 7919 + (uint64_t)i * 104729 };
        /* The last frame's (module, function) pair is unique per issue < 500. */
        const char *mod =
            app_modules[i == napp - 1 ? issue % N_APP_MODULES : rng_below(&ir, N_APP_MODULES)];
        const char *fn = app_functions[i == napp - 1 ? (issue / N_APP_MODULES) % N_APP_FUNCTIONS
                                                     : rng_below(&ir, N_APP_FUNCTIONS)];

        put(g, ",");
        put_app_frame(g, &ir, mod, fn, large);
    }
    put(g, "]}");
}

static void put_exception(struct gen *g, size_t issue, int large)
{
    const struct exc_kind *k = &exc_kinds[(issue * 7) % N_EXC_KINDS];

    put(g, "\"exception\":{\"values\":[{\"module\":");
    if (k->module != NULL)
        put_str(g, k->module);
    else
        put(g, "null");
    put(g, ",\"type\":\"%s\",\"value\":", k->type);
    put_str(g, k->value);
    put(g, ",\"mechanism\":{\"type\":\"django\",\"handled\":false},");
    put_frames(g, issue, large);
    put(g, "}]}");
}

static void put_breadcrumb(struct gen *g, int64_t ts)
{
    put(g, "{\"timestamp\":");
    put_time(g, ts);
    switch (rng_below(&g->r, 3)) {
    case 0:
        put(g,
            ",\"type\":\"default\",\"category\":\"query\",\"level\":\"info\",\"data\":{},"
            "\"message\":\"%s\"}",
            RNG_PICK(&g->r, sql_crumbs));
        break;
    case 1:
        put(g,
            ",\"type\":\"http\",\"category\":\"httplib\",\"level\":\"info\",\"data\":{"
            "\"url\":\"https://api.stripe.com/v1/charges\",\"method\":\"POST\","
            "\"status_code\":%d,\"reason\":\"OK\"}}",
            rng_below(&g->r, 4) ? 200 : 402);
        break;
    default:
        put(g,
            ",\"type\":\"log\",\"category\":\"shop.orders\",\"level\":\"info\",\"data\":{},"
            "\"message\":\"loading cart %ld for user %ld\"}",
            rng_range(&g->r, 1, 99999), rng_range(&g->r, 1, 50000));
        break;
    }
}

static void put_breadcrumbs(struct gen *g, int n)
{
    int i;

    put(g, ",\"breadcrumbs\":{\"values\":[");
    for (i = 0; i < n; i++) {
        put(g, i ? "," : "");
        put_breadcrumb(g, g->now - (n - i) * 35000);
    }
    put(g, "]}");
}

static void put_request(struct gen *g, int large)
{
    const char *path = RNG_PICK(&g->r, paths);

    put(g,
        ",\"request\":{\"url\":\"https://shop.example.com%s\",\"query_string\":\"page=%ld\","
        "\"method\":\"%s\",\"env\":{\"SERVER_NAME\":\"web-%ld\",\"SERVER_PORT\":\"8000\"},"
        "\"headers\":{\"Host\":\"shop.example.com\",\"User-Agent\":\"%s\","
        "\"Accept\":\"application/json\",\"X-Forwarded-For\":\"203.0.113.%ld\"",
        path, rng_range(&g->r, 1, 40), rng_below(&g->r, 2) ? "GET" : "POST", rng_range(&g->r, 1, 8),
        RNG_PICK(&g->r, user_agents), rng_range(&g->r, 1, 254));
    if (large)
        put(g, ",\"Accept-Language\":\"en-US,en;q=0.9,de;q=0.8\",\"Accept-Encoding\":\"gzip, "
               "deflate, br\",\"Content-Type\":\"application/json\",\"Cookie\":\"[Filtered]\","
               "\"X-Request-Id\":");
    if (large)
        put_hex(g, 32);
    put(g, "},\"data\":%s}",
        large ? "{\"items\":[{\"sku\":\"SKU-1182\",\"quantity\":3},"
                "{\"sku\":\"SKU-2231\",\"quantity\":1}],"
                "\"coupon\":\"SPRING24\",\"note\":\"\"}"
              : "{}");
}

static void put_envelope_fields(struct gen *g, int large)
{
    put(g, ",\"tags\":{\"tenant\":\"t-%ld\",\"region\":\"eu-west-1\",\"worker\":\"gunicorn-%ld\"}",
        rng_range(&g->r, 1, 60), rng_range(&g->r, 1, 8));
    put(g, ",\"contexts\":{\"runtime\":{\"name\":\"CPython\",\"version\":\"3.11.2\",\"build\":"
           "\"3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]\"},\"trace\":{\"trace_id\":");
    put_hex(g, 32);
    put(g, ",\"span_id\":");
    put_hex(g, 16);
    put(g, ",\"parent_span_id\":null,\"op\":\"http.server\",\"status\":\"internal_error\"}}");
    put(g,
        ",\"user\":{\"id\":\"%ld\",\"email\":\"user%ld@example.com\","
        "\"ip_address\":\"203.0.113.%ld\"}",
        rng_range(&g->r, 1, 50000), rng_range(&g->r, 1, 50000), rng_range(&g->r, 1, 254));
    put(g, ",\"extra\":{\"sys.argv\":[\"/usr/local/bin/gunicorn\",\"shop.wsgi:application\","
           "\"-w\",\"4\"]}");
    if (large)
        put(g, ",\"modules\":{\"django\":\"4.2.7\",\"djangorestframework\":\"3.14.0\","
               "\"celery\":\"5.3.4\",\"redis\":\"5.0.1\",\"requests\":\"2.31.0\",\"urllib3\":"
               "\"2.0.7\",\"psycopg2\":\"2.9.9\",\"gunicorn\":\"21.2.0\",\"stripe\":\"7.4.0\","
               "\"sentry-sdk\":\"1.9.10\"}");
    put(g, ",\"sdk\":{\"name\":\"sentry.python\",\"version\":\"1.9.10\",\"packages\":[{\"name\":"
           "\"pypi:sentry-sdk\",\"version\":\"1.9.10\"}],\"integrations\":[\"argv\",\"atexit\","
           "\"celery\",\"dedupe\",\"django\",\"excepthook\",\"logging\",\"modules\",\"redis\","
           "\"stdlib\",\"threading\"]}");
}

/* The event JSON of body b; with_id puts "event_id" first (the /store/ slot). */
static void gen_event(struct gen *g, size_t b, size_t nissues, int with_id)
{
    size_t issue = b % nissues;
    int large = (b / nissues) % 2;

    put(g, "{");
    if (with_id)
        put(g, "\"event_id\":\"" ZERO_ID "\",");
    put(g, "\"level\":\"error\",\"platform\":\"python\",\"timestamp\":");
    put_time(g, g->now);
    put(g,
        ",\"server_name\":\"web-%ld\",\"release\":\"shop@1.4.%ld\","
        "\"environment\":\"production\",\"transaction\":\"%s\",",
        rng_range(&g->r, 1, 8), rng_range(&g->r, 0, 3), RNG_PICK(&g->r, paths));
    put_exception(g, issue, large);
    put_breadcrumbs(g, large ? (int)rng_range(&g->r, 5, 8) : 2);
    put_request(g, large);
    put_envelope_fields(g, large);
    put(g, "}");
}

static void gen_start(struct gen *g, size_t b, uint64_t seed, int64_t now)
{
    buf_init(&g->b, 4u << 20);
    g->r.s = seed ^ (b * UINT64_C(0x100000001b3));
    g->failed = 0;
    g->now = now;
}

char *bev_event_json(size_t b, size_t nissues, uint64_t seed, size_t *len)
{
    struct gen g;

    gen_start(&g, b, seed, clock_now_us());
    gen_event(&g, b, nissues, 1);
    if (g.failed) {
        buf_release(&g.b);
        return NULL;
    }
    return buf_detach(&g.b, len);
}

/* The python-style envelope: header with the slot, one event item with a length. */
static int build_envelope(struct bgz_tmpl *t, const char *ev, size_t evlen, int64_t now, int level)
{
    struct buf e = BUF_INIT(8u << 20);
    char ts[40];
    size_t slot;
    int rc = -1;

    clock_fmt_rfc3339(now, ts);
    if (buf_addstr(&e, "{\"event_id\":\"") < 0)
        goto out;
    slot = e.len;
    if (buf_addf(&e,
                 ZERO_ID "\",\"sent_at\":\"%s\"}\n{\"type\":\"event\",\"content_type\":"
                         "\"application/json\",\"length\":%zu}\n",
                 ts, evlen) < 0)
        goto out;
    if (buf_add(&e, ev, evlen) < 0 || buf_addch(&e, '\n') < 0)
        goto out;
    rc = bgz_build(t, e.p, e.len, slot, level);
out:
    buf_release(&e);
    return rc;
}

/* Body b in both forms. */
static int build_one(struct bev_pool *p, size_t b, uint64_t seed, int64_t now, int level)
{
    struct gen g;
    const size_t slot = sizeof("{\"event_id\":\"") - 1;
    size_t off;
    int rc = -1;

    gen_start(&g, b, seed, now);
    gen_event(&g, b, p->nissues, 1);
    if (g.failed)
        goto out;
    if (bgz_build(&p->store[b], g.b.p, g.b.len, slot, level) < 0)
        goto out;
    /* The envelope's event carries no id of its own: the header's wins anyway. */
    off = slot + sizeof(ZERO_ID "\",") - 1;
    g.b.p[off - 1] = '{';
    rc = build_envelope(&p->envelope[b], g.b.p + off - 1, g.b.len - off + 1, now, level);
out:
    buf_release(&g.b);
    return rc;
}

int bev_pool_build(struct bev_pool *p, size_t n, size_t nissues, uint64_t seed, int level)
{
    int64_t now = clock_now_us();
    size_t b;

    memset(p, 0, sizeof(*p));
    if (n < 2 || nissues == 0)
        return -1;
    p->store = xcalloc(n, sizeof(*p->store));
    p->envelope = xcalloc(n, sizeof(*p->envelope));
    p->n = n;
    p->nissues = nissues;
    for (b = 0; b < n; b++) {
        if (build_one(p, b, seed, now, level) < 0) {
            bev_pool_release(p);
            return -1;
        }
    }
    return 0;
}

void bev_pool_release(struct bev_pool *p)
{
    size_t i;

    for (i = 0; i < p->n; i++) {
        bgz_release(&p->store[i]);
        bgz_release(&p->envelope[i]);
    }
    free(p->store);
    free(p->envelope);
    memset(p, 0, sizeof(*p));
}
