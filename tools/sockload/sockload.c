/*
 * sockload.c - a paced sender for the socket doors (docs/doors.md).
 *
 *   bilor-sockload MODE HOST PORT RATE SECONDS [TAG]
 *
 * MODE is syslog-udp, gelf-udp or syslog-tcp. UDP sends RATE datagrams a
 * second (sendmmsg, paced every millisecond); TCP sends octet-counted
 * RFC 5424 frames over one connection as fast as the server reads, or at
 * RATE when it is not 0. Prints the number of messages sent; the caller
 * compares it with what the server stored (tools/sockload/run.py).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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
    if (strcmp(mode, "gelf-udp") == 0)
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

static unsigned long long run_tcp(int fd, const char *tag, long rate, int secs)
{
    char msg[MSG_MAX], frame[MSG_MAX + 16], out[1 << 16];
    unsigned long long seq = 0;
    int64_t start = clock_mono_us(), end = start + (int64_t)secs * 1000000;
    size_t used = 0;

    while (clock_mono_us() < end) {
        int n = format_msg("syslog-tcp", tag, seq, msg);
        int f = snprintf(frame, sizeof(frame), "%d %s", n, msg);

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

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    const char *mode, *tag;
    unsigned long long sent;
    int tcp, fd;

    if (argc < 6) {
        fprintf(stderr, "usage: bilor-sockload syslog-udp|gelf-udp|syslog-tcp HOST PORT RATE "
                        "SECONDS [TAG]\n");
        return 2;
    }
    mode = argv[1];
    tag = argc > 6 ? argv[6] : "bench";
    tcp = strcmp(mode, "syslog-tcp") == 0;
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
    if (tcp)
        sent = run_tcp(fd, tag, strtol(argv[4], NULL, 10), (int)strtol(argv[5], NULL, 10));
    else
        sent = run_udp(fd, mode, tag, strtol(argv[4], NULL, 10), (int)strtol(argv[5], NULL, 10));
    close(fd);
    printf("%llu\n", sent);
    return 0;
}
