/*
 * api_int.h: the handle behind alexdb* (api/db.c) shared with iter.c and batch.c.
 * Only the .c files of api/ include it.
 */
#ifndef API_INT_H
#define API_INT_H

#include <stdatomic.h>

#include "alex.h"
#include "alexdb.h"

#define API_DB_MAGIC 0x616C6578u /* "alex" */

typedef enum api_db_state { API_DB_OPEN = 1, API_DB_CLOSED = 2 } api_db_state;

/*
 * A handle. Once closed, its index is freed but the handle itself is kept (on a list)
 * so that a call on it says ALEXDB_CLOSED instead of touching freed memory.
 */
struct alexdb {
    uint32_t magic;
    _Atomic int state;
    alex_index *index;
    int lock_fd;
    _Atomic uint32_t iter_count;
    alexdb_options options;
    struct alexdb *next_closed;
};

/* ALEXDB_OK if db is a live handle; else ALEXDB_INVALID or ALEXDB_CLOSED with a message. */
int api_db_check(const alexdb *db, const char *call) COMMON_WUR;
/* A checkpoint at the LSN the index is at (alex_persist). */
int api_checkpoint(alexdb *db) COMMON_WUR;
#define API_WRITE_TRIES_MAX 8u
/* After a write: checkpoints under cache pressure; *retry_out: ALEXDB_FULL, try again once. */
int api_write_done(alexdb *db, int rc, bool *retry_out) COMMON_WUR;

#endif /* API_INT_H */
