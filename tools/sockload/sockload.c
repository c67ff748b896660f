/*
 * sockload.c - a paced sender for the socket doors (docs/doors.md).
 *
 *   bilor-sockload MODE HOST PORT RATE SECONDS [TAG]
 *
 * MODE is syslog-udp, gelf-udp, syslog-tcp, gelf-tcp or relp. UDP sends
 * RATE datagrams a second (sendmmsg, paced every millisecond); TCP sends
 * octet-counted RFC 5424 frames (gelf-tcp: NUL-terminated GELF) over one
 * connection as fast as the server reads, or at RATE when it is not 0. RELP opens a session and keeps RATE
 * "syslog" commands unanswered at most (the window; rsyslog's omrelp uses
 * 128), sending the next ones as the answers come, like omrelp does; at the
 * end it waits for every answer and closes. Prints the number of messages
 * sent (RELP: acknowledged with 200); the caller compares it with what the
 * server stored (tools/sockload/run.py).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/banned.h"

#define BURST 64
#define MSG_MAX 512

static int format_msg(const char *mode, const char *tag, unsigned long long seq, char *out)
{
    if (strncmp(mode, "gelf", 4) == 0)
        return snprintf(out, MSG_MAX,
                        "{\"version\":\"1.1\",\"host\":\"bench\",\"short_message\":\"%s %llu "
                        "GET /api/items 200\",\"level\":6,\"_seq\":%llu}",
                        tag, seq, seq);
    return snprintf(out, MSG_MAX, "<134>1 - bench app 42 - - %s %llu GET /api/items 200", tag, seq);
}

static void sleep_until(int64_t us)
{
    int64_t now = clock_mono_us();

    if (us > now) {
        struct timespec ts = { (time_t)((us - now) / 1000000),
                               (long)((us - now) % 1000000) * 1000 };

        nanosleep(&ts, NULL);
    }
}

static unsigned long long run_udp(int fd, const char *mode, const char *tag, long rate, int secs)
{
    static char bufs[BURST][MSG_MAX];
    struct mmsghdr msgs[BURST];
    struct iovec iov[BURST];
    unsigned long long seq = 0, due;
    int64_t start = clock_mono_us(), end = start + (int64_t)secs * 1000000;

    for (int64_t t = start; t < end; t += 1000) {
        due = (unsigned long long)((double)(t + 1000 - start) / 1e6 * (double)rate);
        while (seq < due) {
            int n = due - seq < BURST ? (int)(due - seq) : BURST, sent;

            for (int i = 0; i < n; i++) {
                iov[i].iov_base = bufs[i];
                iov[i].iov_len = (size_t)format_msg(mode, tag, seq + (unsigned long long)i,
                                                    bufs[i]);
                memset(&msgs[i], 0, sizeof(msgs[i]));
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            sent = sendmmsg(fd, msgs, (unsigned)n, 0);
            if (sent <= 0)
                break;
            seq += (unsigned long long)sent;
        }
        sleep_until(t + 1000);
    }
    return seq;
}

static unsigned long long run_tcp(int fd, const char *mode, const char *tag, long rate, int secs)
{
    char msg[MSG_MAX], frame[MSG_MAX + 16], out[1 << 16];
    unsigned long long seq = 0;
    int64_t start = clock_mono_us(), end = start + (int64_t)secs * 1000000;
    size_t used = 0;

    while (clock_mono_us() < end) {
        int n = format_msg(mode, tag, seq, msg), f;

        if (strcmp(mode, "gelf-tcp") == 0) {
            memcpy(frame, msg, (size_t)n + 1); /* NUL-delimited */
            f = n + 1;
        } else {
            f = snprintf(frame, sizeof(frame), "%d %s", n, msg);
        }

        if (used + (size_t)f > sizeof(out)) {
            if (write(fd, out, used) != (ssize_t)used)
                break;
            used = 0;
            if (rate > 0)
                sleep_until(start + (int64_t)((double)seq / (double)rate * 1e6));
        }
        memcpy(out + used, frame, (size_t)f);
        used += (size_t)f;
        seq++;
    }
    if (used > 0 && write(fd, out, used) != (ssize_t)used)
        seq -= 1; /* unknown: at least one frame was cut */
    return seq;
}

/* RELP: the window of unanswered commands and the I/O buffers of the session. */
struct relp_load {
    int fd;
    long window;
    unsigned long long txnr, inflight, acked, refused;
    char in[1 << 16];
    size_t inlen;
    char out[1 << 18];
    size_t outlen, outpos;
};

static void relp_queue(struct relp_load *r, const char *cmd, const char *data, size_t len)
{
    r->txnr++;
    r->outlen += (size_t)snprintf(r->out + r->outlen, sizeof(r->out) - r->outlen, "%llu %s %zu%s",
                                  r->txnr, cmd, len, len > 0 ? " " : "");
    memcpy(r->out + r->outlen, data, len);
    r->outlen += len;
    r->out[r->outlen++] = '\n';
    r->inflight++;
}

/* Counts the complete "rsp" frames in the input; -1 on a frame we do not understand. */
static int relp_answers(struct relp_load *r)
{
    size_t pos = 0;

    for (;;) {
        char *p = r->in + pos, *end = r->in + r->inlen, *q;
        unsigned long long txnr = strtoull(p, &q, 10);
        unsigned long len;

        if (memchr(p, '\n', (size_t)(end - p)) == NULL)
            break;
        if (q == p || (strncmp(q, " rsp ", 5) != 0 && strncmp(q, " serverclose ", 13) != 0))
            return -1;
        q = strchr(q + 1, ' ') + 1;
        len = strtoul(q, &q, 10);
        if (len > 0)
            q++;
        if ((size_t)(end - q) < len + 1)
            break;
        if (txnr == 0)
            return -1; /* serverclose */
        if (len >= 3 && memcmp(q, "200", 3) == 0)
            r->acked++;
        else
            r->refused++;
        r->inflight--;
        pos = (size_t)(q + len + 1 - r->in);
    }
    memmove(r->in, r->in + pos, r->inlen - pos);
    r->inlen -= pos;
    return 0;
}

/* One poll round: writes what is queued, reads answers. -1 when the session broke. */
static int relp_io(struct relp_load *r, int ms)
{
    struct pollfd pfd = { r->fd, (short)(POLLIN | (r->outpos < r->outlen ? POLLOUT : 0)), 0 };
    ssize_t n;

    if (poll(&pfd, 1, ms) < 0)
        return errno == EINTR ? 0 : -1;
    if (pfd.revents & POLLOUT) {
        n = write(r->fd, r->out + r->outpos, r->outlen - r->outpos);
        if (n < 0 && errno != EAGAIN)
            return -1;
        r->outpos += n > 0 ? (size_t)n : 0;
        if (r->outpos == r->outlen)
            r->outpos = r->outlen = 0;
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
        n = read(r->fd, r->in + r->inlen, sizeof(r->in) - 1 - r->inlen);
        if (n <= 0)
            return n < 0 && errno == EAGAIN ? 0 : -1;
        r->inlen += (size_t)n;
        r->in[r->inlen] = '\0';
        return relp_answers(r);
    }
    return 0;
}

static unsigned long long run_relp(int fd, const char *tag, long window, int secs)
{
    static struct relp_load r;
    static const char offers[] = "relp_version=0\nrelp_software=bilor-sockload\ncommands=syslog";
    int64_t start, end;
    char msg[MSG_MAX];
    unsigned long long seq = 0;

    r.fd = fd;
    r.window = window > 0 ? window : 128;
    relp_queue(&r, "open", offers, sizeof(offers) - 1);
    while (r.inflight > 0)
        if (relp_io(&r, 1000) < 0)
            return 0;
    r.acked = r.refused = 0; /* the open's answer is no message */
    start = clock_mono_us();
    end = start + (int64_t)secs * 1000000;
    while (clock_mono_us() < end) {
        while (r.inflight < (unsigned long long)r.window &&
               r.outlen + MSG_MAX + 32 < sizeof(r.out)) {
            int n = format_msg("relp", tag, seq++, msg);

            relp_queue(&r, "syslog", msg, (size_t)n);
        }
        if (relp_io(&r, 100) < 0)
            return r.acked;
    }
    while (r.inflight > 0 && clock_mono_us() < end + 30000000)
        if (relp_io(&r, 100) < 0)
            return r.acked;
    seq = r.acked;
    relp_queue(&r, "close", "", 0);
    while (r.inflight > 0 && relp_io(&r, 1000) == 0)
        ;
    r.acked = seq; /* nor is the close's */
    if (r.refused > 0)
        fprintf(stderr, "relp: %llu refused\n", r.refused);
    fprintf(stderr, "relp: %llu acknowledged in %.2f s\n", r.acked,
            (double)(clock_mono_us() - start) / 1e6);
    return r.acked;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    const char *mode, *tag;
    unsigned long long sent;
    int tcp, fd;

    if (argc < 6) {
        fprintf(stderr,
                "usage: bilor-sockload syslog-udp|gelf-udp|syslog-tcp|gelf-tcp|relp HOST PORT "
                "RATE|WINDOW SECONDS [TAG]\n");
        return 2;
    }
    mode = argv[1];
    tag = argc > 6 ? argv[6] : "bench";
    tcp = strcmp(mode, "syslog-tcp") == 0 || strcmp(mode, "gelf-tcp") == 0 ||
          strcmp(mode, "relp") == 0;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)strtol(argv[3], NULL, 10));
    if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
        fprintf(stderr, "bad IPv4 address %s\n", argv[2]);
        return 2;
    }
    fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        return 1;
    }
    if (strcmp(mode, "relp") == 0)
        sent = run_relp(fd, tag, strtol(argv[4], NULL, 10), (int)strtol(argv[5], NULL, 10));
    else if (tcp)
        sent = run_tcp(fd, mode, tag, strtol(argv[4], NULL, 10), (int)strtol(argv[5], NULL, 10));
    else
        sent = run_udp(fd, mode, tag, strtol(argv[4], NULL, 10), (int)strtol(argv[5], NULL, 10));
    close(fd);
    printf("%llu\n", sent);
    return 0;
}
