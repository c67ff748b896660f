/*
 * relp.c - RELP frames, offers and answers (relp.h).
 */
#include <stdio.h>
#include <string.h>

#include "ingest/relp.h"
#include "core/banned.h"

#define NUMBER_MAX 9
#define SOFTWARE "bilor"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * A NUMBER (1-9 digits) at p[*pos] ended by stop (or, when alt is not 0,
 * by alt): 1 with *val and *pos past the terminator (*term is it), 0 when
 * the buffer ends first, BL_EPARSE otherwise.
 */
static int number(const char *p, size_t len, size_t *pos, char stop, char alt, uint32_t *val,
                  char *term)
{
    uint32_t v = 0;
    size_t i = *pos, n = 0;

    for (; i < len && is_digit(p[i]); i++, n++) {
        if (n == NUMBER_MAX)
            return BL_EPARSE;
        v = v * 10 + (uint32_t)(p[i] - '0');
    }
    if (i == len)
        return 0;
    if (n == 0 || (p[i] != stop && (alt == 0 || p[i] != alt)))
        return BL_EPARSE;
    *val = v;
    *term = p[i];
    *pos = i + 1;
    return 1;
}

static int command_id(struct slice name)
{
    if (slice_eq(name, "syslog"))
        return RELP_CMD_SYSLOG;
    if (slice_eq(name, "open"))
        return RELP_CMD_OPEN;
    if (slice_eq(name, "close"))
        return RELP_CMD_CLOSE;
    if (slice_eq(name, "rsp"))
        return RELP_CMD_RSP;
    return RELP_CMD_OTHER;
}

/* The header "TXNR SP COMMAND SP DATALEN" and what ends it: 1, 0 (more) or BL_EPARSE. */
static int header(const char *p, size_t len, struct relp_frame *f, size_t *pos, char *term,
                  struct bl_err *err)
{
    uint32_t datalen = 0;
    size_t c0;
    int rc;

    rc = number(p, len, pos, ' ', 0, &f->txnr, term);
    if (rc <= 0)
        return rc < 0 ? bl_err_set(err, BL_EPARSE, "relp: bad transaction number") : 0;
    c0 = *pos;
    while (*pos < len && is_alpha(p[*pos]) && *pos - c0 < RELP_CMD_MAX)
        (*pos)++;
    if (*pos == len)
        return 0;
    if (*pos == c0 || p[*pos] != ' ')
        return bl_err_set(err, BL_EPARSE, "relp: bad command");
    f->name = (struct slice){ p + c0, *pos - c0 };
    f->cmd = command_id(f->name);
    (*pos)++;
    rc = number(p, len, pos, ' ', '\n', &datalen, term);
    if (rc <= 0)
        return rc < 0 ? bl_err_set(err, BL_EPARSE, "relp: bad data length") : 0;
    f->datalen = datalen;
    return 1;
}

int relp_parse(const char *p, size_t len, size_t max_data, struct relp_frame *f, size_t *used,
               struct bl_err *err)
{
    size_t pos = 0;
    char term = 0;
    int rc;

    memset(f, 0, sizeof(*f));
    *used = 0;
    rc = header(p, len, f, &pos, &term, err);
    if (rc <= 0)
        return rc;
    if (f->datalen == 0) {
        /* No data: the LF follows the length at once. */
        if (term != '\n')
            return bl_err_set(err, BL_EPARSE, "relp: no trailer after an empty frame");
        *used = pos;
        return RELP_FRAME;
    }
    if (term != ' ')
        return bl_err_set(err, BL_EPARSE, "relp: data length %zu but no data", f->datalen);
    if (f->datalen > max_data) {
        *used = pos;
        return RELP_OVERSIZE;
    }
    if (len - pos < f->datalen + 1)
        return RELP_MORE;
    if (!relp_trailer(p[pos + f->datalen]))
        return bl_err_set(err, BL_EPARSE, "relp: no trailer after %zu octets of data", f->datalen);
    f->data = (struct slice){ p + pos, f->datalen };
    *used = pos + f->datalen + 1;
    return RELP_FRAME;
}

int relp_trailer(char c)
{
    return c == '\n';
}

/* One offer line: "name[=v1[,v2...]]". */
static void offer_line(struct slice line, struct relp_offers *out)
{
    const char *eq = memchr(line.p, '=', line.len);
    struct slice name;
    size_t i, start;

    if (eq == NULL)
        return;
    name = (struct slice){ line.p, (size_t)(eq - line.p) };
    start = name.len + 1;
    for (i = start; i <= line.len; i++) {
        struct slice v;

        if (i < line.len && line.p[i] != ',')
            continue;
        v = (struct slice){ line.p + start, i - start };
        start = i + 1;
        if (slice_eq(name, "commands") && slice_eq(v, "syslog"))
            out->syslog = 1;
        if (slice_eq(name, "relp_version") && v.len > 0 && v.len <= NUMBER_MAX) {
            int n = 0;

            for (size_t k = 0; k < v.len && n >= 0; k++)
                n = is_digit(v.p[k]) ? n * 10 + (v.p[k] - '0') : -1;
            out->version = n;
        }
    }
}

void relp_offers_parse(struct slice data, struct relp_offers *out)
{
    const char *p = data.p, *end = data.p + data.len;

    out->version = -1;
    out->syslog = 0;
    while (p != NULL && p < end) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        struct slice line = { p, lf != NULL ? (size_t)(lf - p) : (size_t)(end - p) };

        offer_line(line, out);
        p = lf != NULL ? lf + 1 : NULL;
    }
}

int relp_rsp(struct buf *out, uint32_t txnr, int code, const char *text, const char *extra)
{
    size_t tlen = strlen(text), xlen = strlen(extra);
    size_t dlen = 4 + tlen + (xlen > 0 ? 1 + xlen : 0);
    char head[48];
    int n = snprintf(head, sizeof(head), "%u rsp %zu %03d ", txnr, dlen, code);
    int rc = buf_grow(out, (size_t)n + tlen + 1 + xlen + 1);

    if (rc < 0)
        return rc;
    buf_add(out, head, (size_t)n);
    buf_add(out, text, tlen);
    if (xlen > 0) {
        buf_addch(out, '\n');
        buf_add(out, extra, xlen);
    }
    return buf_addch(out, '\n');
}

int relp_rsp_open(struct buf *out, uint32_t txnr, const struct relp_offers *client)
{
    char offers[96];
    int v = client->version < RELP_VERSION ? client->version : RELP_VERSION;

    snprintf(offers, sizeof(offers), "relp_version=%d\nrelp_software=" SOFTWARE "\ncommands=syslog",
             v);
    return relp_rsp(out, txnr, 200, "OK", offers);
}

int relp_serverclose(struct buf *out)
{
    static const char hint[] = "0 serverclose 0\n";

    return buf_add(out, hint, sizeof(hint) - 1);
}
