/*
 * strerror.c: names for result codes and the per-thread detailed message.
 * Adding a code? Also: enum alexdb_result in alexdb.h and api/README.md.
 */
#include "common.h"

const char *alexdb_strerror(int rc)
{
    switch (rc) {
    case ALEXDB_OK: return "ALEXDB_OK: success";
    case ALEXDB_NOTFOUND: return "ALEXDB_NOTFOUND: key not found";
    case ALEXDB_INVALID: return "ALEXDB_INVALID: invalid argument";
    case ALEXDB_NOMEM: return "ALEXDB_NOMEM: out of memory";
    case ALEXDB_IO: return "ALEXDB_IO: I/O error";
    case ALEXDB_CORRUPT: return "ALEXDB_CORRUPT: data on disk failed validation";
    case ALEXDB_NOTDB: return "ALEXDB_NOTDB: not an alexdb file";
    case ALEXDB_VERSION: return "ALEXDB_VERSION: unsupported format version";
    case ALEXDB_BUSY: return "ALEXDB_BUSY: database is in use by another process";
    case ALEXDB_NOSPACE: return "ALEXDB_NOSPACE: no space left on device";
    case ALEXDB_READONLY: return "ALEXDB_READONLY: handle is read-only";
    case ALEXDB_TOOBIG: return "ALEXDB_TOOBIG: request exceeds a limit";
    case ALEXDB_FULL: return "ALEXDB_FULL: no room (cache frames all pinned, or a leaf cannot split)";
    case ALEXDB_CLOSED: return "ALEXDB_CLOSED: handle is closed";
    case ALEXDB_NOTSUP: return "ALEXDB_NOTSUP: operation not supported";
    default: return "unknown alexdb result code";
    }
}

const char *alexdb_errmsg(void)
{
    return common_errmsg();
}
