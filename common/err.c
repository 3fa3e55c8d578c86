/*
 * err.c: how failures are reported. Two kinds, never mixed (STYLE.md):
 *   - common_assert_fail(): a broken invariant, a bug; prints and aborts.
 *   - common_error() / common_corrupt(): operating errors; set this thread's message
 *     and return the code for the caller to pass up.
 * The message is thread-local so that concurrent callers never see each other's text;
 * alexdb_errmsg() in api/ hands it to users.
 */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char errmsg[COMMON_ERRMSG_SIZE_MAX];

void common_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "alexdb: assertion failed: %s (%s:%d)\n", cond, file, line);
    fflush(stderr);
    abort();
}

int common_error(int rc, const char *fmt, ...)
{
    ALEXDB_ASSERT(rc != ALEXDB_OK);
    ALEXDB_ASSERT(fmt != NULL);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
    va_end(ap);
    return rc;
}

int common_corrupt(const char *path, uint64_t offset, const char *fmt, ...)
{
    ALEXDB_ASSERT(fmt != NULL);
    char detail[COMMON_ERRMSG_SIZE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    snprintf(errmsg, sizeof(errmsg), "corrupt: %s offset %" PRIu64 ": %s",
             path != NULL ? path : "(unnamed)", offset, detail);
    return ALEXDB_CORRUPT;
}

int common_errno_to_result(int errnum)
{
    ALEXDB_ASSERT(errnum > 0);
    switch (errnum) {
    case ENOSPC:
    case EDQUOT:
        return ALEXDB_NOSPACE;
    case ENOMEM:
        return ALEXDB_NOMEM;
    case EROFS:
        return ALEXDB_READONLY;
    case EFBIG:
        return ALEXDB_TOOBIG;
    case EWOULDBLOCK:
        return ALEXDB_BUSY;
    case EINVAL:
        return ALEXDB_INVALID;
    default:
        return ALEXDB_IO;
    }
}

const char *common_errmsg(void)
{
    return errmsg;
}

void common_errmsg_clear(void)
{
    errmsg[0] = '\0';
}
