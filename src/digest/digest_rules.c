/*
 * digest_rules.c - the decode threads' cache of project grouping rules.
 *
 * Each decode thread keeps its own small cache, so looking rules up takes
 * no lock; a project's rules are read again after DIGEST_RULES_TTL_US.
 * The API parses rules before storing them, so a stored text that no
 * longer parses (a future syntax read by an older binary) is logged and
 * ignored rather than stopping the digest.
 */
#include <string.h>

#include "digest/digest_rules.h"
#include "core/log.h"
#include "core/pool.h"
#include "core/banned.h"

static void slot_clear(struct digest_rules_slot *s)
{
    grules_free(&s->fp);
    grules_free(&s->stack);
    memset(&s->rules, 0, sizeof(s->rules));
    s->has = 0;
}

static int parse_into(struct grules *out, const char *text, int kind, int64_t pid)
{
    struct grules_error e;

    if (grules_parse(text, strlen(text), kind, out, &e) == 0)
        return 0;
    log_warn("project %lld: stored grouping rules do not parse (line %d, column %d: %s);"
             " ignored",
             (long long)pid, e.line, e.column, e.msg);
    grules_free(out);
    return -1;
}

static void slot_load(struct digest_rules_slot *s, struct store *st, int64_t pid, int64_t now)
{
    struct pool pool = POOL_INIT(4096);
    struct store_grouping g;
    struct store_project p;

    slot_clear(s);
    s->project_id = pid;
    s->fetched_at = now;
    /* Unknown (0) groups every event: only a known level lets the decode skip grouping. */
    s->issue_level = store_project_get(st, pid, &p, NULL) == 0 ? p.issue_level : 0;
    if (store_grouping_get(st, pid, &pool, &g, NULL) == 0 && g.version > 0 &&
        parse_into(&s->fp, g.fingerprint_rules, GRULES_FINGERPRINT, pid) == 0 &&
        parse_into(&s->stack, g.stack_rules, GRULES_STACK, pid) == 0) {
        s->rules.fingerprint = &s->fp;
        s->rules.stack = &s->stack;
        s->rules.version = g.version;
        s->has = 1;
    }
    pool_release(&pool);
}

static struct digest_rules_slot *slot_of(struct digest_rules *c, struct store *st,
                                         int64_t project_id, int64_t now)
{
    struct digest_rules_slot *s = &c->slots[(uint64_t)project_id % DIGEST_RULES_CACHE];

    if (s->project_id != project_id || now - s->fetched_at >= DIGEST_RULES_TTL_US)
        slot_load(s, st, project_id, now);
    return s;
}

const struct fingerprint_rules *digest_rules_get(struct digest_rules *c, struct store *st,
                                                 int64_t project_id, int64_t now)
{
    struct digest_rules_slot *s = slot_of(c, st, project_id, now);

    return s->has ? &s->rules : NULL;
}

int digest_rules_issue_level(struct digest_rules *c, struct store *st, int64_t project_id,
                             int64_t now)
{
    return slot_of(c, st, project_id, now)->issue_level;
}

void digest_rules_free(struct digest_rules *c)
{
    for (size_t i = 0; i < DIGEST_RULES_CACHE; i++)
        slot_clear(&c->slots[i]);
}
