/*
 * test_peers.c - the per-client-address shares of the HTTP layer: keys
 * (IPv4 whole, IPv6 by /64), connection and byte shares, entries freed when
 * empty (also across probe runs), and a full table refusing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "http/peers.h"

#include "t.h"

static struct peer_key v4(const char *s)
{
    struct sockaddr_in in = { .sin_family = AF_INET };
    struct peer_key k;

    inet_pton(AF_INET, s, &in.sin_addr);
    peer_key_of((const struct sockaddr *)&in, &k);
    return k;
}

static struct peer_key v6(const char *s)
{
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    struct peer_key k;

    inet_pton(AF_INET6, s, &in6.sin6_addr);
    peer_key_of((const struct sockaddr *)&in6, &k);
    return k;
}

static void test_keys(void)
{
    struct peer_key a = v4("127.0.0.1"), b = v4("127.0.0.2");
    struct peer_key m = v6("::ffff:127.0.0.1");
    struct peer_key x = v6("2001:db8:1:2::1"), y = v6("2001:db8:1:2:ffff::9");
    struct peer_key z = v6("2001:db8:1:3::1");

    CHECK(memcmp(&a, &b, sizeof(a)) != 0);
    CHECK(memcmp(&a, &m, sizeof(a)) == 0); /* dual-stack IPv4 is the same client */
    CHECK(memcmp(&x, &y, sizeof(x)) == 0); /* one /64 is one client */
    CHECK(memcmp(&x, &z, sizeof(x)) != 0);
}

static void test_conn_share(void)
{
    struct peers *p = peers_new(8, 2, 0);
    struct peer_key a = v4("10.0.0.1"), b = v4("10.0.0.2");

    CHECK_INT_EQ(peers_conn_full(p, &a), 0);
    CHECK_INT_EQ(peers_conn_open(p, &a), 0);
    CHECK_INT_EQ(peers_conn_open(p, &a), 0);
    CHECK_INT_EQ(peers_conn_full(p, &a), 1);
    CHECK_INT_EQ(peers_conn_open(p, &a), -1);
    CHECK_INT_EQ(peers_conn_open(p, &b), 0); /* another address has its own share */
    peers_conn_close(p, &a);
    CHECK_INT_EQ(peers_conn_full(p, &a), 0);
    CHECK_INT_EQ(peers_conn_open(p, &a), 0);
    peers_free(p);
}

static void test_byte_share(void)
{
    struct peers *p = peers_new(8, 0, 1000);
    struct peer_key a = v4("10.0.0.1"), b = v4("10.0.0.2");

    CHECK_INT_EQ(peers_take(p, &a, 600), 0);
    CHECK_INT_EQ(peers_take(p, &a, 600), -1);
    CHECK_INT_EQ(peers_take(p, &a, 400), 0);
    CHECK_INT_EQ(peers_take(p, &b, 1000), 0);
    CHECK_INT_EQ(peers_take(p, &b, 1), -1);
    CHECK_INT_EQ(peers_take(p, &b, (size_t)-1), -1); /* no overflow */
    peers_give(p, &a, 600);
    CHECK_INT_EQ(peers_take(p, &a, 600), 0);
    peers_free(p);
}

/* Many addresses come and go through a small table: no entry leaks. */
static void test_churn_and_full(void)
{
    struct peers *p = peers_new(4, 1, 0);
    char ip[32];

    for (int round = 0; round < 50; round++) {
        struct peer_key k[4];

        for (int i = 0; i < 4; i++) {
            snprintf(ip, sizeof(ip), "10.%d.0.%d", round, i);
            k[i] = v4(ip);
            CHECK_INT_EQ(peers_conn_open(p, &k[i]), 0);
        }
        snprintf(ip, sizeof(ip), "10.%d.1.1", round);
        k[0] = v4(ip);
        CHECK_INT_EQ(peers_conn_open(p, &k[0]), -1); /* table full: refused */
        for (int i = 3; i >= 0; i--) {
            snprintf(ip, sizeof(ip), "10.%d.0.%d", round, i);
            k[i] = v4(ip);
            peers_conn_close(p, &k[i]);
        }
        for (int i = 0; i < 4; i++)
            CHECK_INT_EQ(peers_conn_full(p, &k[i]), 0);
    }
    peers_free(p);
}

int main(void)
{
    test_keys();
    test_conn_share();
    test_byte_share();
    test_churn_and_full();
    return t_done();
}
