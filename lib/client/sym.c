/*
 * sym.c - addresses to frames with libdwfl.
 *
 * DESIGN
 * libdwfl does the hard parts (module layout from a maps file, ELF symbol
 * tables, DWARF line tables, inline scopes); this file only maps its
 * answers onto Sentry's frame fields. Return addresses point after the
 * call instruction, which may already belong to the next line or, after a
 * call to a noreturn function, to the next function: they are looked up
 * at address - 1. The faulting address of a crash is looked up as is.
 */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bilor/bilor.h"
#include "client/json.h"
#include "client/sym.h"
#include "core/banned.h"

#define SYM_INLINE_MAX 8 /* frames one address may expand to */

struct bc_sym {
    Dwfl *dwfl;
    const struct bilor_allocator *a;
};

struct frame {
    uintptr_t addr;
    const char *function; /* borrowed from libdw, valid until dwfl_end() */
    const char *file;
    int line;
    const char *package;
    int in_app;
};

/*
 * Local debug information only: dwfl_standard_find_debuginfo() would ask
 * debuginfod servers when DEBUGINFOD_URLS is set, and a library must not
 * reach the network on its own.
 */
static const Dwfl_Callbacks sym_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_build_id_find_debuginfo,
    .section_address = NULL,
    .debuginfo_path = NULL,
};

static int sym_alloc(struct bc_sym **out, const struct bilor_allocator *a)
{
    struct bc_sym *s = bc_malloc(a, sizeof(*s));

    *out = NULL;
    if (s == NULL)
        return BILOR_ENOMEM;
    s->a = a;
    s->dwfl = dwfl_begin(&sym_callbacks);
    if (s->dwfl == NULL) {
        bc_free(a, s);
        return BILOR_ENOMEM;
    }
    dwfl_report_begin(s->dwfl);
    *out = s;
    return 0;
}

static int sym_finish(struct bc_sym **out, struct bc_sym *s, int reported)
{
    if (reported < 0 || dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
        bc_sym_free(s);
        *out = NULL;
        return BILOR_EIO;
    }
    *out = s;
    return 0;
}

int bc_sym_new_self(struct bc_sym **out, const struct bilor_allocator *a)
{
    struct bc_sym *s;
    int rc = sym_alloc(&s, a);

    if (rc != 0)
        return rc;
    return sym_finish(out, s, dwfl_linux_proc_report(s->dwfl, getpid()) == 0 ? 0 : -1);
}

int bc_sym_new_maps(struct bc_sym **out, const struct bilor_allocator *a, const char *maps,
                    size_t len)
{
    struct bc_sym *s = NULL;
    char *copy = NULL;
    FILE *f = NULL;
    int rc;

    *out = NULL;
    copy = bc_malloc(a, len + 1);
    if (copy == NULL)
        return BILOR_ENOMEM;
    memcpy(copy, maps, len);
    copy[len] = '\0';
    rc = sym_alloc(&s, a);
    if (rc != 0)
        goto out;
    f = fmemopen(copy, len + 1, "r");
    if (f == NULL) {
        bc_sym_free(s);
        rc = BILOR_ENOMEM;
        goto out;
    }
    rc = sym_finish(out, s, dwfl_linux_proc_maps_report(s->dwfl, f));
out:
    if (f != NULL)
        fclose(f);
    bc_free(a, copy);
    return rc;
}

void bc_sym_free(struct bc_sym *s)
{
    if (s == NULL)
        return;
    dwfl_end(s->dwfl);
    bc_free(s->a, s);
}

/* System libraries and the vDSO are not the application's code. */
static int package_in_app(const char *pkg)
{
    static const char *const sys[] = { "/lib/",       "/lib64/",       "/usr/lib/",
                                       "/usr/lib64/", "/usr/libexec/", "[" };

    if (pkg == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
        if (strncmp(pkg, sys[i], strlen(sys[i])) == 0)
            return 0;
    return 1;
}

/* Where an inlined call was made: the caller frame's file and line. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *inl, const char **file, int *line)
{
    Dwarf_Attribute attr;
    Dwarf_Word v;
    Dwarf_Files *files;
    size_t nfiles;

    *line = 0;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &v) == 0)
        *line = (int)v;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &v) == 0 &&
        dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles)
        *file = dwarf_filesrc(files, v, NULL, NULL);
}

/*
 * The inline chain at lookup, innermost first, into out (room >= 1).
 * dwarf_getscopes() finds the innermost scope, but above an inlined
 * instance it continues with the scopes of the abstract definition;
 * dwarf_getscopes_die() on that innermost DIE gives the concrete nesting
 * (what eu-addr2line -i does).
 */
static size_t sym_scopes(Dwfl_Module *mod, Dwarf_Addr lookup, struct frame *out, size_t room)
{
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, lookup, &bias);
    Dwarf_Die *scopes = NULL, inner;
    const char *file = out[0].file;
    int line = out[0].line;
    int ns;
    size_t k = 0;

    ns = cu != NULL ? dwarf_getscopes(cu, lookup - bias, &scopes) : -1;
    if (ns <= 0) {
        free(scopes);
        return 0;
    }
    inner = scopes[0];
    free(scopes); /* allocated by libdw with malloc */
    scopes = NULL;
    ns = dwarf_getscopes_die(&inner, &scopes);
    for (int i = 0; i < ns && k < room; i++) {
        int tag = dwarf_tag(&scopes[i]);

        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
            continue;
        out[k] = out[0];
        out[k].function = dwarf_diename(&scopes[i]);
        out[k].file = file;
        out[k].line = line;
        k++;
        if (tag == DW_TAG_subprogram)
            break;
        call_site(cu, &scopes[i], &file, &line);
    }
    free(scopes);
    return k;
}

static size_t sym_one(struct bc_sym *s, uintptr_t pc, int exact, struct frame *out, size_t room)
{
    Dwarf_Addr lookup = exact || pc == 0 ? pc : pc - 1;
    Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, lookup);
    Dwfl_Line *ln;
    size_t k;

    memset(&out[0], 0, sizeof(out[0]));
    out[0].addr = pc;
    if (mod == NULL)
        return 1;
    out[0].package = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    out[0].in_app = package_in_app(out[0].package);
    ln = dwfl_module_getsrc(mod, lookup);
    if (ln != NULL)
        out[0].file = dwfl_lineinfo(ln, NULL, &out[0].line, NULL, NULL, NULL);
    k = sym_scopes(mod, lookup, out, room);
    if (k > 0 && out[k - 1].function != NULL)
        return k;
    /* No DWARF for this address: the ELF symbol still names the function. */
    out[0].function = dwfl_module_addrname(mod, lookup);
    return 1;
}

static void frame_json(struct bc_buf *b, const struct frame *f)
{
    int n = 0;

    bc_buf_addc(b, '{');
    bc_json_key(b, &n, "instruction_addr");
    bc_buf_addf(b, "\"0x%" PRIxPTR "\"", f->addr);
    if (f->function != NULL) {
        bc_json_key(b, &n, "function");
        bc_json_strz(b, f->function);
    }
    if (f->file != NULL) {
        bc_json_key(b, &n, "filename");
        bc_json_strz(b, f->file);
        if (f->file[0] == '/') {
            bc_json_key(b, &n, "abs_path");
            bc_json_strz(b, f->file);
        }
    }
    if (f->line > 0) {
        bc_json_key(b, &n, "lineno");
        bc_buf_addf(b, "%d", f->line);
    }
    if (f->package != NULL) {
        bc_json_key(b, &n, "package");
        bc_json_strz(b, f->package);
    }
    bc_json_key(b, &n, "in_app");
    bc_buf_adds(b, f->in_app ? "true" : "false");
    bc_buf_addc(b, '}');
}

int bc_sym_frames(struct bc_sym *s, void *const *addrs, size_t n, int exact_first,
                  struct bc_buf *out)
{
    struct frame *fr;
    size_t k = 0;

    if (n > ((size_t)-1) / (SYM_INLINE_MAX * sizeof(*fr)))
        return BILOR_ETOOBIG;
    fr = bc_malloc(s->a, (n == 0 ? 1 : n) * SYM_INLINE_MAX * sizeof(*fr));
    if (fr == NULL) {
        out->err = out->err != 0 ? out->err : BILOR_ENOMEM;
        return out->err;
    }
    for (size_t i = 0; i < n; i++)
        k += sym_one(s, (uintptr_t)addrs[i], exact_first && i == 0, fr + k, SYM_INLINE_MAX);
    bc_buf_addc(out, '[');
    for (size_t i = k; i > 0; i--) {
        frame_json(out, &fr[i - 1]);
        if (i > 1)
            bc_buf_addc(out, ',');
    }
    bc_buf_addc(out, ']');
    bc_free(s->a, fr);
    return out->err;
}
