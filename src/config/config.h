/*
 * config.h - the server's settings: one table is the single source of truth.
 *
 * Each setting has a command-line flag, an environment variable, a type, a
 * default, bounds and a help line (config.c). `bilor serve --help` prints
 * the table; flags beat environment variables, which beat defaults.
 */
#ifndef BL_CONFIG_H
#define BL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct config {
    char listen[256]; /* HOST:PORT */
    char data_dir[1024];
    char store[1100];     /* store URL (store_open); empty: the data directory */
    char public_url[512]; /* base URL in DSNs; derived from listen when empty */
    char es_listen[256];  /* HOST:PORT serving the Elasticsearch API at /; empty: none */
    char log_level[16];
    char tls_cert[1024];     /* PEM certificate (chain) file; with tls_key: serve HTTPS */
    char tls_key[1024];      /* PEM private key file */
    char trusted_proxy[64];  /* address whose X-Forwarded-For is believed; "" none */
    char ui_dir[1024];       /* serve the web UI from this folder (development); empty: embedded */
    char log_compression[8]; /* codec of new log frames: "lz4" or "zstd" (level 1) */
    char http_poll[8];       /* how the HTTP threads wait: "auto", "poll" or "epoll" */
    char http_ingest[8];     /* who serves ingest POSTs: "loop" (hfast) or "mhd" */
    int64_t http_threads;
    int64_t digest_threads; /* decode threads of the digest; 0: one per online CPU */
    int64_t max_connections;
    int64_t max_body;            /* decompressed request body cap (413 above) */
    int64_t max_event;           /* one Sentry event cap */
    int64_t max_inflight;        /* request bodies held in memory at once */
    int64_t max_conns_per_ip;    /* connections one client address may hold; 0: no limit */
    int64_t max_inflight_per_ip; /* body bytes one client address may hold; 0: derived */
    int64_t header_timeout;      /* seconds for a request's headers (keep-alive idle included) */
    int64_t body_timeout;        /* seconds for a body, plus received / min_body_rate */
    int64_t min_body_rate;       /* bytes per second */
    int64_t journal_budget;      /* undigested journal bytes before doors answer 429 */
    int64_t disk_reserve;        /* free bytes kept on the data disk; ingest refused below */
    int64_t journal_segment;
    int64_t retry_after;          /* seconds advertised with 429 */
    int64_t journal_fsync;        /* 0 disables fsync (benchmarks of the disk-less path only) */
    int64_t session_idle;         /* seconds a web session lives without a request */
    int64_t session_max;          /* seconds a web session lives at most */
    int64_t v1_api;               /* project of the keyless original Bilor API; 0: closed */
    int64_t disk_budget;          /* bytes of event partitions, all projects; 0: no budget */
    int64_t retention_interval;   /* seconds between retention runs */
    int64_t issue_events_per_day; /* stored per issue per day; the rest only counted; 0: all */
    /* Socket doors (listen/, docs/doors.md): HOST:PORT=PROJECT_ID, empty when off. */
    char syslog_udp[300];
    char syslog_tcp[300];
    char gelf_udp[300];
    char gelf_tcp[300];
    char relp[300];
    int64_t udp_rcvbuf;          /* SO_RCVBUF of UDP listeners */
    int64_t socket_max_frame;    /* largest syslog/GELF message */
    int64_t socket_idle_timeout; /* seconds */
    int64_t socket_max_conns;    /* per TCP listener */
    int64_t socket_require_key;  /* 1: each message must carry a key of the project */
};

/* Fills c with the defaults. */
void config_defaults(struct config *c);

/* Applies BILOR_* environment variables. */
int config_from_env(struct config *c, struct bl_err *err);

/*
 * Applies --flag VALUE / --flag=VALUE arguments. Unknown flags are errors.
 * argv[0] is not skipped: pass the arguments after the subcommand.
 */
int config_from_args(struct config *c, int argc, char **argv, struct bl_err *err);

/*
 * Checks every setting before anything is created: the listen address (a
 * port 1-65535, a host that resolves), the public URL, the data directory
 * and the log level. Integer bounds are checked as they are parsed.
 */
int config_validate(const struct config *c, struct bl_err *err);

/* Splits c->listen into host (without IPv6 brackets) and port. */
int config_listen_addr(const struct config *c, char *host, size_t hostlen, int *port,
                       struct bl_err *err);

/*
 * The base URL clients use (DSNs, links): --public-url, else http://LISTEN,
 * without a trailing slash.
 */
void config_public_url(const struct config *c, char *out, size_t len);

/* The DSN of a project key: scheme://KEY@host[:port][/prefix]/ID from a base URL. */
void config_dsn(const char *public_url, const char *key, long long project_id, char *out,
                size_t len);

/* Prints the settings table (flag, env, default, help) to stdout. */
void config_print_help(void);

#endif
