/*
 * alexdb.h: the one public header of alexdb, an embedded key-value engine whose
 * index is the ALEX learned index and whose leaves are 4 KiB pages on disk.
 *
 * Contract conventions used by every declaration below:
 *   - Functions that can fail return int: ALEXDB_OK (0), ALEXDB_NOTFOUND (> 0, not an
 *     error), or a negative ALEXDB_* error code. alexdb_strerror() names any code;
 *     alexdb_errmsg() gives the calling thread's last detailed message (which file,
 *     which offset), valid until that thread's next alexdb call.
 *   - Error codes are stable: new codes are only ever added, never renumbered.
 */
#ifndef ALEXDB_H
#define ALEXDB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ALEXDB_API __attribute__((visibility("default")))

/*
 * Result codes. Adding one? Also: alexdb_strerror() in api/strerror.c and the table
 * in api/README.md.
 */
enum alexdb_result {
    ALEXDB_OK = 0,          /* success */
    ALEXDB_NOTFOUND = 1,    /* the key is absent (not an error) */
    ALEXDB_INVALID = -1,    /* a bad argument: NULL, out of range, misuse */
    ALEXDB_NOMEM = -2,      /* memory could not be allocated */
    ALEXDB_IO = -3,         /* the operating system reported an I/O error */
    ALEXDB_CORRUPT = -4,    /* bytes read from disk failed validation */
    ALEXDB_NOTDB = -5,      /* the file is not an alexdb file */
    ALEXDB_VERSION = -6,    /* the file was written by an unknown format version */
    ALEXDB_BUSY = -7,       /* another process holds the database */
    ALEXDB_NOSPACE = -8,    /* the device is full */
    ALEXDB_READONLY = -9,   /* the handle refuses writes (opened so, or a sticky error) */
    ALEXDB_TOOBIG = -10,    /* a value or request exceeds a documented limit */
    ALEXDB_FULL = -11,      /* every cache frame is pinned; nothing can be evicted */
    ALEXDB_CLOSED = -12,    /* the handle was already closed */
    ALEXDB_NOTSUP = -13,    /* the operation is not supported here */
};

/*
 * Returns a static, human-readable name for rc ("ALEXDB_CORRUPT: ..."). Never NULL;
 * unknown codes give "unknown alexdb result code". Thread-safe.
 */
ALEXDB_API const char *alexdb_strerror(int rc);

/*
 * Returns the calling thread's most recent detailed error message, e.g.
 * "corrupt page: /db/alexdb.data offset 8192 (page 2): checksum mismatch".
 * Empty string if none. The pointer stays valid until this thread's next alexdb call.
 * Thread-safe (the message is per thread).
 */
ALEXDB_API const char *alexdb_errmsg(void);

#ifdef __cplusplus
}
#endif

#endif /* ALEXDB_H */
