/*
 * api_int.h: the handle behind alexdb* (api/db.c) shared with iter.c, batch.c and
 * log.c. Only the .c files of api/ (and the tests) include it.
 */
#ifndef API_INT_H
#define API_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "alex.h"
#include "alexdb.h"
#include "wal.h"

#define API_DB_MAGIC 0x616C6578u /* "alex" */

typedef enum api_db_state { API_DB_OPEN = 1, API_DB_CLOSED = 2 } api_db_state;

/* Log record types (docs/FORMAT.md 9.4). */
enum api_record_type { API_RECORD_PUT = 1, API_RECORD_DELETE = 2, API_RECORD_BATCH = 3 };
/* A batch operation's kind byte. */
enum api_op_kind { API_OP_PUT = 1, API_OP_DELETE = 2 };

/* A checkpoint starts when the log has grown this much since the last one. */
#define API_CHECKPOINT_LOG_BYTES (64u << 20)
/* The checkpointer looks at the log's growth at least this often. */
#define API_CHECKPOINT_POLL_MS 200u

/*
 * A handle. Once closed, its index is freed but the handle itself is kept (on a list)
 * so that a call on it says ALEXDB_CLOSED instead of touching freed memory.
 *
 * Lock order (api/README.md): checkpoint_lock, then write_lock, then alex's tree lock.
 * write_lock makes the order of changes in the index the order of their LSNs: a change
 * is applied and appended under it, so a checkpoint taken under it covers exactly the
 * records up to wal_last_lsn().
 */
struct alexdb {
    uint32_t magic;
    _Atomic int state;
    alex_index *index;
    wal *wal;                        /* NULL only while opening */
    int lock_fd;
    _Atomic uint32_t iter_count;
    alexdb_options options;
    pthread_mutex_t write_lock;      /* apply + append, in LSN order */
    pthread_mutex_t checkpoint_lock; /* one checkpoint at a time */
    _Atomic uint64_t checkpoint_count;
    _Atomic uint64_t checkpoint_pause_max_ns; /* the longest begin (under write_lock) */
    uint64_t replay_ns;              /* time the open spent recovering the log */
    _Atomic uint64_t checkpoint_log_bytes; /* the log's append_bytes at the last checkpoint */
    /* The background checkpointer (writable handles only). */
    pthread_t checkpointer;
    bool checkpointer_running;
    bool manual_background;          /* API_OPEN_MANUAL_BACKGROUND: no thread of its own */
    pthread_mutex_t checkpointer_lock;
    pthread_cond_t checkpointer_cond;
    bool checkpointer_stop;          /* under checkpointer_lock */
    _Atomic bool checkpoint_wanted;  /* a writer saw the cache 3/4 full of changes */
    struct alexdb *next_closed;
};

/* ALEXDB_OK if db is a live handle; else ALEXDB_INVALID or ALEXDB_CLOSED with a message. */
int api_db_check(const alexdb *db, const char *call) COMMON_WUR;

/*
 * A checkpoint (alex_persist) at the LSN of the last change applied, then the log
 * segments it covers are removed. Returns ALEXDB_OK or the first error, after which the
 * handle refuses writes.
 */
int api_checkpoint(alexdb *db) COMMON_WUR;

/* One change, as the log records it and the index applies it. */
typedef struct api_change {
    uint8_t type;         /* enum api_record_type */
    uint64_t key;         /* PUT, DELETE */
    const void *value;    /* PUT */
    size_t size;
    const alex_op *ops;   /* BATCH */
    size_t count;
} api_change;

/* A change as log record parts (log.c); a batch's parts live in `owned`. */
typedef struct api_log_record {
    uint8_t type;
    uint8_t header[8];
    wal_part parts[2];
    uint32_t part_count;
    uint8_t *owned;
} api_log_record;

/* ALEXDB_OK, ALEXDB_TOOBIG (a batch past WAL_RECORD_SIZE_MAX), ALEXDB_NOMEM. */
int api_log_encode(const api_change *change, api_log_record *record) COMMON_WUR;
void api_log_record_free(api_log_record *record);

/* Grows *buf (an array of unit-byte items) to hold needed; doubling. ALEXDB_OK or NOMEM. */
int api_grow(void **buf, size_t *capacity, size_t needed, size_t unit) COMMON_WUR;

#define API_WRITE_TRIES_MAX 8u
/*
 * Applies change to the index and appends it to the log, in one order under
 * write_lock (never logging a change that failed); a change that found the cache full
 * of changes (ALEXDB_FULL) waits for a checkpoint and is tried again, up to
 * API_WRITE_TRIES_MAX times. With options.sync, returns once the record is durable.
 * A delete of an absent key returns ALEXDB_NOTFOUND and logs nothing.
 */
int api_write(alexdb *db, const api_change *change) COMMON_WUR;

/* log.c: opens db->wal in dir and replays it into db->index (docs/FORMAT.md 9.4). */
int api_log_open(alexdb *db, const char *dir, const pager_env *env) COMMON_WUR;
/*
 * A read that found every frame pinned or holding a change (ALEXDB_FULL; changes leave the
 * cache only through a checkpoint, pager P12) can go again once a checkpoint has freed
 * frames, as a write does: takes one on a writable handle and returns ALEXDB_OK, else
 * returns ALEXDB_FULL (read-only) or the checkpoint's error.
 */
int api_make_room(alexdb *db) COMMON_WUR;

/* Starts / stops the background checkpointer. */
int api_checkpointer_start(alexdb *db) COMMON_WUR;
void api_checkpointer_stop(alexdb *db);

/*
 * Opens like alexdb_open, but with the I/O environment env (backend, fault domain) for
 * every file; alexdb_open passes NULL (the options decide). For tests and the crash
 * driver.
 */
int api_open(const char *dir, const alexdb_options *opts, const pager_env *env, alexdb **db_out) COMMON_WUR;

/*
 * api_open with flags. API_OPEN_MANUAL_BACKGROUND: the handle starts no thread of its
 * own (no checkpointer, no log sync thread, no replay prefetcher); the caller runs
 * api_background_step where the threads would have acted. With every caller's step in
 * an order it chooses, the handle's I/O happens in an order a seed can repeat (the
 * crash driver's seeded schedule, crashtest/README.md).
 */
enum { API_OPEN_MANUAL_BACKGROUND = 1u };
int api_open_with(const char *dir, const alexdb_options *opts, const pager_env *env, unsigned flags,
                  alexdb **db_out) COMMON_WUR;

/*
 * One pass of the background work a manual handle does not do by itself: the log's
 * interval sync (if options.sync_interval_ms), then a checkpoint if the checkpointer
 * would take one now (asked for, the cache 3/4 full of changes, or the log grown).
 * Returns the first error; a failed checkpoint fails the handle as in the thread.
 */
int api_background_step(alexdb *db) COMMON_WUR;

/*
 * Frees a handle as if its process died now: no checkpoint and nothing written to the
 * page file; only records already in the log buffer are written out (as wal_close
 * does), so what the next open finds is what the log made durable. For tests.
 */
void api_abandon(alexdb *db);

#endif /* API_INT_H */
