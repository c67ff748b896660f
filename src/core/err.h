/*
 * err.h - error codes as values.
 *
 * Every fallible function returns int: 0 is success, a negative BL_E* code
 * is failure. The codes come from one X-macro table that also generates
 * bl_strerror(). A human-readable message, when useful, goes into an
 * optional struct bl_err out-parameter (NULL is always allowed).
 */
#ifndef BL_ERR_H
#define BL_ERR_H

#define BL_ERRNO_MAP(X)                                                                            \
    X(ENOMEM, "out of memory")                                                                     \
    X(EINVAL, "invalid argument")                                                                  \
    X(ETOOBIG, "too large")                                                                        \
    X(EPARSE, "malformed input")                                                                   \
    X(EIO, "input/output error")                                                                   \
    X(ENOTFOUND, "not found")                                                                      \
    X(EAUTH, "authentication required")                                                            \
    X(EFORBIDDEN, "forbidden")                                                                     \
    X(EBUSY, "busy, try again later")                                                              \
    X(EEXIST, "already exists")                                                                    \
    X(EUNSUPPORTED, "unsupported")                                                                 \
    X(ESTORE, "store error")                                                                       \
    X(ECLOSED, "closed")                                                                           \
    X(ENOSPACE, "not enough free disk space")

enum bl_errno {
    BL_OK = 0,
    BL__ERR_BASE = -1000,
#define BL_ERR_ENUM(name, text) BL_##name,
    BL_ERRNO_MAP(BL_ERR_ENUM)
#undef BL_ERR_ENUM
};

struct bl_err {
    int code;
    char msg[256];
};

/* Returns the fixed description of a BL_E* code ("unknown error" otherwise). */
const char *bl_strerror(int code);

/*
 * Records code and a printf-style message in err (which may be NULL) and
 * returns code, so callers can write `return bl_err_set(err, BL_EPARSE, ...)`.
 */
int bl_err_set(struct bl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Message of err if one was set, else bl_strerror(err->code). */
const char *bl_err_msg(const struct bl_err *err);

#endif
