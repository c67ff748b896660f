/*
 * gelf_chunk.c - chunked GELF reassembly with bounded memory (gelf_chunk.h).
 *
 * Sets live in a small array searched linearly: with a few hundred sets in
 * flight a scan is cheaper than keeping a hash table consistent under
 * evictions, and chunked messages are the rare large ones.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest/gelf_chunk.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define HDR 12 /* magic 2, id 8, seq 1, count 1 */

struct chunk_set {
    int used;
    uint64_t peer;
    unsigned char id[8];
    int count;
    int have;
    int64_t first_at;
    size_t bytes;
    unsigned char *data[GELF_MAX_CHUNKS];
    size_t len[GELF_MAX_CHUNKS];
};

struct gelf_reasm {
    struct chunk_set *sets;
    size_t nsets;
    size_t max_bytes;
    size_t bytes; /* held over all sets */
    struct gelf_chunk_stats st;
};

struct gelf_reasm *gelf_reasm_new(size_t max_sets, size_t max_bytes)
{
    struct gelf_reasm *r = xcalloc(1, sizeof(*r));

    r->sets = xcalloc(max_sets > 0 ? max_sets : 1, sizeof(*r->sets));
    r->nsets = max_sets > 0 ? max_sets : 1;
    r->max_bytes = max_bytes;
    return r;
}

static void set_clear(struct gelf_reasm *r, struct chunk_set *s)
{
    for (int i = 0; i < GELF_MAX_CHUNKS; i++)
        free(s->data[i]);
    r->bytes -= s->bytes;
    memset(s, 0, sizeof(*s));
}

void gelf_reasm_free(struct gelf_reasm *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nsets; i++)
        if (r->sets[i].used)
            set_clear(r, &r->sets[i]);
    free(r->sets);
    free(r);
}

int gelf_is_chunk(const void *p, size_t len)
{
    const unsigned char *b = p;

    return len >= 2 && b[0] == 0x1e && b[1] == 0x0f;
}

/* The set for (peer, id), or a fresh one: a free slot, else the oldest is evicted. */
static struct chunk_set *find_set(struct gelf_reasm *r, uint64_t peer, const unsigned char *id,
                                  int64_t now_us)
{
    struct chunk_set *free_slot = NULL, *oldest = NULL;

    for (size_t i = 0; i < r->nsets; i++) {
        struct chunk_set *s = &r->sets[i];

        if (!s->used) {
            free_slot = free_slot ? free_slot : s;
            continue;
        }
        if (s->peer == peer && memcmp(s->id, id, 8) == 0)
            return s;
        if (oldest == NULL || s->first_at < oldest->first_at)
            oldest = s;
    }
    if (free_slot == NULL) {
        r->st.evicted++;
        set_clear(r, oldest);
        free_slot = oldest;
    }
    free_slot->used = 1;
    free_slot->peer = peer;
    memcpy(free_slot->id, id, 8);
    free_slot->first_at = now_us;
    return free_slot;
}

/* Makes room for n more bytes by evicting the oldest other sets. */
static int make_room(struct gelf_reasm *r, const struct chunk_set *keep, size_t n)
{
    while (r->bytes + n > r->max_bytes) {
        struct chunk_set *oldest = NULL;

        for (size_t i = 0; i < r->nsets; i++) {
            struct chunk_set *s = &r->sets[i];

            if (s->used && s != keep && (oldest == NULL || s->first_at < oldest->first_at))
                oldest = s;
        }
        if (oldest == NULL)
            return -1;
        r->st.evicted++;
        set_clear(r, oldest);
    }
    return 0;
}

static int complete(struct gelf_reasm *r, struct chunk_set *s, struct buf *out)
{
    int rc = 0;

    buf_reset(out);
    for (int i = 0; i < s->count && rc == 0; i++)
        rc = buf_add(out, s->data[i], s->len[i]);
    set_clear(r, s);
    if (rc < 0) {
        buf_reset(out);
        return BL_ETOOBIG;
    }
    r->st.completed++;
    return 1;
}

int gelf_reasm_add(struct gelf_reasm *r, uint64_t peer, const void *p, size_t len, int64_t now_us,
                   struct buf *out)
{
    const unsigned char *b = p;
    struct chunk_set *s;
    int seq, count;

    if (len < HDR || !gelf_is_chunk(p, len) || b[11] == 0 || b[11] > GELF_MAX_CHUNKS ||
        b[10] >= b[11]) {
        r->st.invalid++;
        return BL_EPARSE;
    }
    seq = b[10];
    count = b[11];
    s = find_set(r, peer, b + 2, now_us);
    if (s->count != 0 && s->count != count) {
        r->st.invalid++;
        set_clear(r, s);
        return BL_EPARSE;
    }
    s->count = count;
    if (s->data[seq] != NULL) {
        r->st.duplicate++;
        return 0;
    }
    if (make_room(r, s, len - HDR) < 0) {
        r->st.evicted++;
        set_clear(r, s);
        return BL_ETOOBIG;
    }
    s->data[seq] = xmalloc(len - HDR > 0 ? len - HDR : 1);
    memcpy(s->data[seq], b + HDR, len - HDR);
    s->len[seq] = len - HDR;
    s->bytes += len - HDR;
    r->bytes += len - HDR;
    if (++s->have < s->count)
        return 0;
    return complete(r, s, out);
}

size_t gelf_reasm_expire(struct gelf_reasm *r, int64_t now_us)
{
    size_t n = 0;

    for (size_t i = 0; i < r->nsets; i++) {
        struct chunk_set *s = &r->sets[i];

        if (s->used && now_us - s->first_at > GELF_CHUNK_TTL_US) {
            set_clear(r, s);
            n++;
        }
    }
    r->st.expired += n;
    return n;
}

void gelf_reasm_stats(const struct gelf_reasm *r, struct gelf_chunk_stats *out)
{
    *out = r->st;
}
