#include <stdarg.h>
#include <stdio.h>

#include "core/err.h"
#include "core/banned.h"

const char *bl_strerror(int code)
{
    switch (code) {
    case BL_OK:
        return "success";
#define BL_ERR_CASE(name, text)                                                                    \
    case BL_##name:                                                                                \
        return text;
        BL_ERRNO_MAP(BL_ERR_CASE)
#undef BL_ERR_CASE
    default:
        return "unknown error";
    }
}

int bl_err_set(struct bl_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *bl_err_msg(const struct bl_err *err)
{
    if (err->msg[0] != '\0')
        return err->msg;
    return bl_strerror(err->code);
}
