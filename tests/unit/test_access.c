/*
 * Unit tests of access: the session cookie and login body parsers, login
 * throttling, the store's users/sessions/members/tokens, and THE access rule
 * (api_access) over a real store with hand-made principals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "auth/session.h"
#include "auth/throttle.h"
#include "core/hash.h"
#include "core/json.h"
#include "t.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_cookie(void)
{
    char id[SESSION_ID_LEN + 1];
    char big[SESSION_COOKIE_HEADER_MAX + 100];

    CHECK_INT_EQ(session_cookie_get("bilor_session=" ID64, id), 0);
    CHECK_STR_EQ(id, ID64);
    CHECK_INT_EQ(session_cookie_get("a=1; b=2;  bilor_session=" ID64 " ; c=3", id), 0);
    CHECK_INT_EQ(session_cookie_get("bilor_session=\"" ID64 "\"", id), 0);
    CHECK_INT_EQ(session_cookie_get(NULL, id), BL_ENOTFOUND);
    CHECK_INT_EQ(session_cookie_get("", id), BL_ENOTFOUND);
    CHECK_INT_EQ(session_cookie_get(";;;", id), BL_ENOTFOUND);
    CHECK_INT_EQ(session_cookie_get("xbilor_session=" ID64, id), BL_ENOTFOUND);
    CHECK_INT_EQ(session_cookie_get("bilor_session=" ID64 "0", id), BL_ENOTFOUND);
    CHECK_INT_EQ(session_cookie_get("bilor_session=0123", id), BL_ENOTFOUND);
    /* Upper-case hex is not what we hand out. */
    CHECK_INT_EQ(session_cookie_get("bilor_session=0123456789ABCDEF0123456789abcdef0123456789abcdef"
                                    "0123456789abcdef",
                                    id),
                 BL_ENOTFOUND);
    CHECK_INT_EQ(session_cookie_get("bilor_session", id), BL_ENOTFOUND);
    CHECK_INT_EQ(session_cookie_get("bilor_session=", id), BL_ENOTFOUND);
    /* The first one wins, even when it is malformed (no second guess). */
    CHECK_INT_EQ(session_cookie_get("bilor_session=bad; bilor_session=" ID64, id), BL_ENOTFOUND);
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "bilor_session=" ID64 ";", 79);
    CHECK_INT_EQ(session_cookie_get(big, id), BL_ENOTFOUND); /* too long to search */
}

static void test_login_body(void)
{
    struct session_login in;
    struct bl_err err = { 0, "" };
    static const char ok[] = "{\"email\":\"Ann@Example.TEST\",\"password\":\"pw with spaces\"}";

    CHECK_INT_EQ(session_login_parse(ok, strlen(ok), &in, &err), 0);
    CHECK_STR_EQ(in.email, "ann@example.test");
    CHECK_STR_EQ(in.password, "pw with spaces");
    session_login_wipe(&in);
    CHECK_STR_EQ(in.password, "");
    CHECK_INT_EQ(session_login_parse("", 0, &in, &err), BL_EPARSE);
    CHECK_INT_EQ(session_login_parse("[]", 2, &in, &err), BL_EINVAL);
    CHECK_INT_EQ(session_login_parse("{\"email\":1,\"password\":\"x\"}", 26, &in, &err), BL_EINVAL);
    CHECK_INT_EQ(session_login_parse("{\"email\":\"a@b\"}", 15, &in, &err), BL_EINVAL);
    CHECK_INT_EQ(session_login_parse("{\"email\":\"\",\"password\":\"x\"}", 27, &in, &err),
                 BL_EINVAL);
    CHECK_INT_EQ(session_login_parse("{\"email\":\"a@b\",\"password\":\"x\"} x", 32, &in, &err),
                 BL_EPARSE);
    CHECK_INT_EQ(session_email_check("a@b.c"), 0);
    CHECK_INT_EQ(session_email_check("admin@localhost"), 0);
    CHECK_INT_EQ(session_email_check("nobody"), BL_EINVAL);
    CHECK_INT_EQ(session_email_check("a@b@c"), BL_EINVAL);
    CHECK_INT_EQ(session_email_check("a b@c"), BL_EINVAL);
    CHECK_INT_EQ(session_email_check("@c"), BL_EINVAL);
    CHECK(session_str_eq("abc", "abc"));
    CHECK(!session_str_eq("abc", "abd"));
    CHECK(!session_str_eq("abc", "abcd"));
    CHECK(!session_str_eq("", ""));
}

#define S 1000000LL

static void test_throttle(void)
{
    struct throttle *t = throttle_new(64, 5, 900 * S, 60 * S);
    int64_t now = 1000 * S;

    for (int i = 0; i < 4; i++)
        throttle_fail(t, "acct:a", now + i * S);
    CHECK_INT_EQ(throttle_wait(t, "acct:a", now + 4 * S), 0); /* 4 failures: still free */
    throttle_fail(t, "acct:a", now + 4 * S);
    CHECK_INT_EQ(throttle_wait(t, "acct:a", now + 5 * S), 59 * S); /* 5th: locked 60 s */
    CHECK_INT_EQ(throttle_wait(t, "acct:b", now + 5 * S), 0);      /* others unaffected */
    /* After the lock, one more failure locks twice as long: growing. */
    throttle_fail(t, "acct:a", now + 70 * S);
    CHECK_INT_EQ(throttle_wait(t, "acct:a", now + 70 * S), 120 * S);
    throttle_fail(t, "acct:a", now + 200 * S);
    CHECK_INT_EQ(throttle_wait(t, "acct:a", now + 200 * S), 240 * S);
    for (int i = 0; i < 20; i++)
        throttle_fail(t, "acct:a", now + (300 + i) * S);
    CHECK_INT_EQ(throttle_wait(t, "acct:a", now + 319 * S), 900 * S); /* capped at the window */
    /* A quiet window forgets. */
    throttle_fail(t, "acct:c", now);
    for (int i = 1; i < 5; i++)
        throttle_fail(t, "acct:c", now + i * 1000 * S);
    CHECK_INT_EQ(throttle_wait(t, "acct:c", now + 4001 * S), 0);
    throttle_clear(t, "acct:a");
    CHECK_INT_EQ(throttle_wait(t, "acct:a", now + 320 * S), 0);
    /* Many keys in a small table: bounded, and a fresh key is still tracked. */
    for (int i = 0; i < 1000; i++) {
        char k[32];

        snprintf(k, sizeof(k), "addr:%d", i);
        throttle_fail(t, k, now);
    }
    for (int i = 0; i < 5; i++)
        throttle_fail(t, "acct:z", now + 1 * S);
    CHECK(throttle_wait(t, "acct:z", now + 2 * S) > 0);
    throttle_free(t);
}

static char tmpdir[256];
static struct app app;
static int64_t p1, p2, u_admin, u_viewer, u_member, u_padmin;

static void test_store_access(struct store *st)
{
    struct store_project p;
    struct store_session ss = { "hash-a", 0, "csrf-a", 10, 20 };
    struct store_session ss2 = { "hash-b", 0, "csrf-b", 10, 20 };
    struct store_principal sp;
    struct store_user_change ch = { "Vera", "$argon2id$new", "hash-a", -1, -1, 0 };
    struct store_token t, *tv = NULL;
    struct store_member *mv = NULL;
    struct pool pool = POOL_INIT(4096);
    struct store_user u;
    size_t n = 0;
    int role = -1;

    CHECK_INT_EQ(store_project_add(st, "one", &p, NULL), 0);
    p1 = p.id;
    CHECK_INT_EQ(store_project_add(st, "two", &p, NULL), 0);
    p2 = p.id;
    CHECK_INT_EQ(store_user_add(st, "admin@x.test", "$argon2id$a", 1, &u_admin, NULL), 0);
    CHECK_INT_EQ(store_user_add(st, "viewer@x.test", "$argon2id$v", 0, &u_viewer, NULL), 0);
    CHECK_INT_EQ(store_user_add(st, "member@x.test", "$argon2id$m", 0, &u_member, NULL), 0);
    CHECK_INT_EQ(store_user_add(st, "padmin@x.test", "$argon2id$p", 0, &u_padmin, NULL), 0);
    CHECK_INT_EQ(store_member_set(st, p1, u_viewer, STORE_ROLE_VIEWER, NULL), 0);
    CHECK_INT_EQ(store_member_set(st, p1, u_member, STORE_ROLE_MEMBER, NULL), 0);
    CHECK_INT_EQ(store_member_set(st, p1, u_padmin, STORE_ROLE_VIEWER, NULL), 0);
    CHECK_INT_EQ(store_member_set(st, p1, u_padmin, STORE_ROLE_ADMIN, NULL), 0); /* upsert */
    CHECK_INT_EQ(store_member_role(st, p1, u_padmin, &role, NULL), 0);
    CHECK_INT_EQ(role, STORE_ROLE_ADMIN);
    CHECK_INT_EQ(store_member_role(st, p2, u_padmin, &role, NULL), 0);
    CHECK_INT_EQ(role, STORE_ROLE_NONE);
    CHECK_INT_EQ(store_member_list(st, p1, &pool, &mv, &n, NULL), 0);
    CHECK_INT_EQ(n, 3);
    if (n == 3)
        CHECK_STR_EQ(mv[0].email, "viewer@x.test");
    CHECK_INT_EQ(store_member_set(st, p2, u_viewer, STORE_ROLE_NONE, NULL), BL_ENOTFOUND);
    CHECK_INT_EQ(store_member_set(st, p2, u_viewer, 9, NULL), BL_EINVAL);

    /* Sessions; a password change ends all but the session that made it. */
    ss.user_id = ss2.user_id = u_viewer;
    CHECK_INT_EQ(store_session_add(st, &ss, NULL), 0);
    CHECK_INT_EQ(store_session_add(st, &ss2, NULL), 0);
    CHECK_INT_EQ(store_session_get(st, "hash-a", &sp, NULL), 0);
    CHECK_INT_EQ(sp.user_id, u_viewer);
    CHECK_STR_EQ(sp.session.csrf, "csrf-a");
    CHECK_INT_EQ(store_session_touch(st, "hash-a", 99, NULL), 0);
    CHECK_INT_EQ(store_session_get(st, "hash-a", &sp, NULL), 0);
    CHECK_INT_EQ(sp.session.last_seen, 99);
    CHECK_INT_EQ(store_user_update(st, u_viewer, &ch, NULL), 0);
    CHECK_INT_EQ(store_session_get(st, "hash-a", &sp, NULL), 0);
    CHECK_INT_EQ(store_session_get(st, "hash-b", &sp, NULL), BL_ENOTFOUND);
    CHECK_INT_EQ(store_user_get(st, u_viewer, NULL, &u, NULL), 0);
    CHECK_STR_EQ(u.name, "Vera");
    CHECK_STR_EQ(u.password_hash, "$argon2id$new");
    CHECK_INT_EQ(store_user_update(st, 999, &ch, NULL), BL_ENOTFOUND);

    /* Tokens: scopes and projects round-trip; revoked means gone. */
    memset(&t, 0, sizeof(t));
    t.user_id = u_member;
    t.scopes = STORE_SCOPE_READ;
    t.projects[0] = p1;
    t.projects[1] = p2;
    t.nprojects = 2;
    snprintf(t.name, sizeof(t.name), "ci");
    CHECK_INT_EQ(store_token_create(st, "tok-1", &t, NULL), 0);
    CHECK(t.id > 0);
    CHECK_INT_EQ(store_token_get(st, "tok-1", &sp, NULL), 0);
    CHECK_INT_EQ(sp.token.scopes, STORE_SCOPE_READ);
    CHECK_INT_EQ(sp.token.nprojects, 2);
    CHECK_INT_EQ(sp.token.projects[1], p2);
    CHECK(!sp.disabled);
    CHECK_INT_EQ(store_token_list(st, u_member, &pool, &tv, &n, NULL), 0);
    CHECK_INT_EQ(n, 1);
    CHECK_INT_EQ(store_token_revoke(st, t.id, u_viewer, NULL), BL_ENOTFOUND); /* not theirs */
    CHECK_INT_EQ(store_token_revoke(st, t.id, u_member, NULL), 0);
    CHECK_INT_EQ(store_token_get(st, "tok-1", &sp, NULL), BL_ENOTFOUND);

    /* Disabling ends every session and shows on the token's owner. */
    CHECK_INT_EQ(store_token_create(st, "tok-2", &t, NULL), 0);
    ch = (struct store_user_change){ NULL, NULL, NULL, 1, -1, 0 };
    CHECK_INT_EQ(store_user_update(st, u_member, &ch, NULL), 0);
    CHECK_INT_EQ(store_token_get(st, "tok-2", &sp, NULL), 0);
    CHECK(sp.disabled);
    ss.user_id = u_viewer;
    ch.disabled = 1;
    CHECK_INT_EQ(store_user_update(st, u_viewer, &ch, NULL), 0);
    CHECK_INT_EQ(store_session_get(st, "hash-a", &sp, NULL), BL_ENOTFOUND);
    ch.disabled = 0;
    CHECK_INT_EQ(store_user_update(st, u_viewer, &ch, NULL), 0);
    CHECK_INT_EQ(store_user_update(st, u_member, &ch, NULL), 0);
    CHECK_INT_EQ(store_project_update(st, p2, "renamed", EV_WARNING, NULL), 0);
    CHECK_INT_EQ(store_project_get(st, p2, &p, NULL), 0);
    CHECK_STR_EQ(p.name, "renamed");
    CHECK_INT_EQ(p.issue_level, EV_WARNING);
    CHECK_INT_EQ(store_project_update(st, 999, "x", -1, NULL), BL_ENOTFOUND);
    pool_release(&pool);
}

/* api_access for a principal of kind, user, scopes and token projects. */
static int rule(int kind, int64_t user, int admin, unsigned scopes, int64_t only, int action,
                int64_t pid)
{
    struct bl_req req;

    memset(&req, 0, sizeof(req));
    req.app = &app;
    req.who.kind = kind;
    req.who.user_id = user;
    req.who.instance_admin = admin;
    req.who.scopes = scopes;
    if (only > 0) {
        req.who.projects[0] = only;
        req.who.nprojects = 1;
    }
    return api_access(&req, action, pid);
}

#define SESS(user, admin, action, pid)                                                             \
    rule(PRINCIPAL_SESSION, user, admin, STORE_SCOPE_ALL, 0, action, pid)

static void test_rule(void)
{
    const int T = PRINCIPAL_TOKEN;

    CHECK_INT_EQ(rule(PRINCIPAL_ANONYMOUS, 0, 0, 0, 0, API_READ, p1), 401);
    CHECK_INT_EQ(rule(PRINCIPAL_ANONYMOUS, 0, 0, 0, 0, API_READ, 0), 401);
    /* Roles: viewer reads, member writes, admin administers; no role: invisible (404). */
    CHECK_INT_EQ(SESS(u_viewer, 0, API_READ, p1), 0);
    CHECK_INT_EQ(SESS(u_viewer, 0, API_WRITE, p1), 403);
    CHECK_INT_EQ(SESS(u_viewer, 0, API_ADMIN, p1), 403);
    CHECK_INT_EQ(SESS(u_viewer, 0, API_READ, p2), 404);
    CHECK_INT_EQ(SESS(u_viewer, 0, API_ADMIN, p2), 404);
    CHECK_INT_EQ(SESS(u_member, 0, API_WRITE, p1), 0);
    CHECK_INT_EQ(SESS(u_member, 0, API_ADMIN, p1), 403);
    CHECK_INT_EQ(SESS(u_padmin, 0, API_ADMIN, p1), 0);
    CHECK_INT_EQ(SESS(u_padmin, 0, API_ADMIN, 0), 403); /* not the instance */
    CHECK_INT_EQ(SESS(u_padmin, 0, API_READ, 0), 0);    /* listings */
    CHECK_INT_EQ(SESS(u_padmin, 0, API_ACCOUNT, 0), 0);
    CHECK_INT_EQ(SESS(u_admin, 1, API_ADMIN, p2), 0); /* instance admin: everything */
    CHECK_INT_EQ(SESS(u_admin, 1, API_ADMIN, 0), 0);
    CHECK_INT_EQ(SESS(u_admin, 1, API_READ, 12345), 0); /* the handler then says 404 */
    CHECK_INT_EQ(SESS(u_admin, 1, 99, p1), 403);        /* an unknown action never passes */
    /* Tokens: the intersection of role, scopes and project list. */
    CHECK_INT_EQ(rule(T, u_padmin, 0, STORE_SCOPE_READ, 0, API_READ, p1), 0);
    CHECK_INT_EQ(rule(T, u_padmin, 0, STORE_SCOPE_READ, 0, API_WRITE, p1), 403);
    CHECK_INT_EQ(rule(T, u_padmin, 0, STORE_SCOPE_READ, 0, API_READ, p2), 404);
    CHECK_INT_EQ(rule(T, u_padmin, 0, STORE_SCOPE_WRITE, 0, API_READ, p1), 0); /* write reads */
    CHECK_INT_EQ(rule(T, u_padmin, 0, STORE_SCOPE_WRITE, 0, API_ADMIN, p1), 403);
    CHECK_INT_EQ(rule(T, u_padmin, 0, STORE_SCOPE_ALL, 0, API_ADMIN, p1), 0);
    CHECK_INT_EQ(rule(T, u_padmin, 0, STORE_SCOPE_READ, 0, API_ACCOUNT, 0), 403);
    CHECK_INT_EQ(rule(T, u_viewer, 0, STORE_SCOPE_ALL, 0, API_WRITE, p1), 403); /* role caps */
    CHECK_INT_EQ(rule(T, u_admin, 1, STORE_SCOPE_ALL, p2, API_READ, p1), 404);  /* list caps */
    CHECK_INT_EQ(rule(T, u_admin, 1, STORE_SCOPE_ALL, p2, API_ADMIN, p2), 0);
    CHECK_INT_EQ(rule(T, u_admin, 1, STORE_SCOPE_ALL, p2, API_ADMIN, 0), 403);
    CHECK_INT_EQ(rule(T, u_admin, 1, STORE_SCOPE_READ, 0, API_ADMIN, 0), 403);
    CHECK_INT_EQ(rule(T, u_viewer, 0, STORE_SCOPE_ALL, p2, API_READ, p2), 404); /* no role */
}

int main(void)
{
    struct bl_err err = { 0, "" };

    hash_global_init();
    json_global_init();
    test_cookie();
    test_login_body();
    test_throttle();
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bilor-test-access-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    if (store_open(&app.store, tmpdir, NULL, &err) < 0) {
        fprintf(stderr, "store: %s\n", bl_err_msg(&err));
        return 1;
    }
    test_store_access(app.store);
    test_rule();
    store_close(app.store);
    t_rm_tree(tmpdir);
    return t_done();
}
