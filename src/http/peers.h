/*
 * peers.h - what each client address holds: connections and body bytes.
 *
 * DESIGN
 * One client must not take what all clients share. The HTTP layer counts,
 * per client address, the connections it has open and the request-body
 * bytes it has in memory, and refuses past a share of each. An IPv4 client
 * is its address; an IPv6 client is its /64 prefix, because one host is
 * routinely given a whole /64 and could otherwise pick a fresh address per
 * connection. Which address a request counts against is decided by the
 * caller (http.c's client_key: the socket peer today, the forwarded address
 * behind a trusted proxy later).
 *
 * The table is open addressing with linear probing and backward-shift
 * deletion under one mutex. An entry lives only while it holds something,
 * so it never needs more entries than connections plus requests in flight;
 * the caller sizes it from the connection limit, and a full table refuses.
 */
#ifndef BL_HTTP_PEERS_H
#define BL_HTTP_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct peer_key {
    uint8_t b[16]; /* IPv4 as ::ffff:a.b.c.d, IPv6 as its /64 with zeros after */
};

struct peers;

/* The key of a socket address; an unknown family maps to the all-zero key. */
void peer_key_of(const struct sockaddr *sa, struct peer_key *k);

/*
 * A table for up to max_entries addresses. max_conns: connections one
 * address may hold (0: no limit); max_bytes: body bytes one address may
 * hold (0: no limit).
 */
struct peers *peers_new(size_t max_entries, unsigned max_conns, size_t max_bytes);
void peers_free(struct peers *p);

/* 1 when k already holds its whole connection share (a cheap pre-check). */
int peers_conn_full(struct peers *p, const struct peer_key *k);
/* Counts one more connection for k; -1 (nothing counted) past its share. */
int peers_conn_open(struct peers *p, const struct peer_key *k);
void peers_conn_close(struct peers *p, const struct peer_key *k);

/* Counts n body bytes for k; -1 (nothing counted) past its share. */
int peers_take(struct peers *p, const struct peer_key *k, size_t n);
void peers_give(struct peers *p, const struct peer_key *k, size_t n);

#endif
