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
    ALEXDB_FULL = -11,      /* no room: every cache frame is pinned, or a leaf stayed full
                             * after repeated splits (a limit of the index was reached) */
    ALEXDB_CLOSED = -12,    /* the handle was already closed */
    ALEXDB_NOTSUP = -13,    /* the operation is not supported here */
};

/* ---- Opening and closing ---------------------------------------------------------- */

typedef struct alexdb alexdb;
typedef struct alexdb_iter alexdb_iter;
typedef struct alexdb_batch alexdb_batch;

/* Log messages (e.g. "io_uring unavailable; using pread/pwrite"). level 0 info, 1 warning. */
typedef void (*alexdb_log_fn)(void *ctx, int level, const char *message);

enum alexdb_io_backend {
    ALEXDB_IO_AUTO = 0,  /* io_uring, falling back to pread/pwrite when unavailable */
    ALEXDB_IO_URING = 1, /* io_uring only: open fails with ALEXDB_NOTSUP without it */
    ALEXDB_IO_POSIX = 2, /* pread/pwrite */
};

typedef struct alexdb_options {
    size_t cache_bytes;   /* buffer pool size; default 64 MiB; at least 256 KiB */
    int    sync;          /* 1 (default): a write returns once its log record is on stable
                           * storage; 0: once it is in the log buffer (durable through a
                           * later sync write, alexdb_sync(), or sync_interval_ms) */
    int    read_only;     /* 1: every write returns ALEXDB_READONLY; other read-only
                           * processes may open the directory at the same time */
    int    io_backend;    /* enum alexdb_io_backend; default ALEXDB_IO_AUTO */
    alexdb_log_fn log;    /* optional; called from the thread that hit the event (or the
                           * background checkpointer) */
    void  *log_ctx;
    unsigned sync_interval_ms; /* writes made with sync 0 are durable within this many ms;
                                * default 1000; 0: only through a sync write or alexdb_sync */
    int    log_salvage;   /* 1: at open, a damaged log record followed by intact ones drops
                           * it and everything after it (reported through log) instead of
                           * failing with ALEXDB_CORRUPT; default 0 */
} alexdb_options;

/* Fills opts with the defaults above. */
ALEXDB_API void alexdb_options_init(alexdb_options *opts);

/*
 * Opens the database in directory dir, creating the directory (one level) and the
 * database if missing. opts may be NULL (defaults). On success *db_out is a handle to
 * close with alexdb_close(). Returns ALEXDB_OK, ALEXDB_INVALID (NULL dir or db_out, bad
 * option), ALEXDB_BUSY (another handle or process holds it; read-only handles share),
 * ALEXDB_NOTDB, ALEXDB_CORRUPT, ALEXDB_VERSION, ALEXDB_IO (including a missing parent
 * directory), ALEXDB_NOMEM, ALEXDB_NOTSUP. Thread-safe.
 */
ALEXDB_API int alexdb_open(const char *dir, const alexdb_options *opts, alexdb **db_out);

/*
 * Writes everything (a checkpoint, as alexdb_checkpoint) and releases the handle. Every
 * iterator must be closed first (else ALEXDB_BUSY and nothing happens). After it the
 * handle is dead: every call on it returns ALEXDB_CLOSED (the handle's few bytes are
 * kept for that until the process exits). Returns ALEXDB_OK, ALEXDB_CLOSED,
 * ALEXDB_BUSY, or the checkpoint's error (the handle is closed all the same).
 * Not concurrent with other calls on the same handle.
 */
ALEXDB_API int alexdb_close(alexdb *db);

/* ---- Reading and writing: all thread-safe on one handle ---------------------------- */

/* Largest value: 64 MiB. Values over 1 KiB are stored out of line (one extra read). */
#define ALEXDB_VALUE_SIZE_MAX (64u << 20)

/*
 * Stores value (value_size bytes, copied; value may be NULL if value_size is 0) under
 * key, replacing any previous value. Any uint64_t is a key. With options.sync it
 * returns once the change is on stable storage; writers on many threads then share
 * fdatasyncs (group commit). After a failed log write or fdatasync the handle refuses
 * every later write with ALEXDB_READONLY (nothing is retried). Returns ALEXDB_OK,
 * ALEXDB_INVALID, ALEXDB_TOOBIG (value_size > ALEXDB_VALUE_SIZE_MAX), ALEXDB_READONLY,
 * ALEXDB_NOSPACE, ALEXDB_IO, ALEXDB_CORRUPT, ALEXDB_NOMEM, ALEXDB_CLOSED.
 */
ALEXDB_API int alexdb_put(alexdb *db, uint64_t key, const void *value, size_t value_size);

/*
 * Copies min(value size, buf_size) bytes of key's value into buf (buf may be NULL if
 * buf_size is 0) and sets *value_size_out to the value's full size, so a caller can
 * ask for the size first. If every cache frame holds a change waiting for a checkpoint,
 * a writable handle takes the checkpoint and reads again. Returns ALEXDB_OK,
 * ALEXDB_NOTFOUND, ALEXDB_INVALID, ALEXDB_CORRUPT, ALEXDB_IO, ALEXDB_NOMEM,
 * ALEXDB_CLOSED, ALEXDB_FULL (every frame pinned by other threads).
 */
ALEXDB_API int alexdb_get(alexdb *db, uint64_t key, void *buf, size_t buf_size,
                          size_t *value_size_out);

/* Removes key. Returns ALEXDB_OK, ALEXDB_NOTFOUND, or the errors of alexdb_put. */
ALEXDB_API int alexdb_delete(alexdb *db, uint64_t key);

/*
 * Makes every write that returned so far durable (what sync 1 does for each write).
 * Returns ALEXDB_OK, ALEXDB_INVALID, ALEXDB_CLOSED, or the I/O error that failed the log
 * (ALEXDB_IO, ALEXDB_NOSPACE: the handle then refuses writes). Thread-safe.
 */
ALEXDB_API int alexdb_sync(alexdb *db);

/*
 * Takes a checkpoint now: writes the changed pages and the index, then removes the log
 * segments it covers. A background thread already does this when the cache is half
 * full of changes or the log has grown by 64 MiB; call it to shorten the next recovery.
 * Returns ALEXDB_OK, ALEXDB_INVALID, ALEXDB_CLOSED, ALEXDB_READONLY, or the I/O error
 * (the handle then refuses writes). Thread-safe; writers wait while it runs.
 */
ALEXDB_API int alexdb_checkpoint(alexdb *db);

/*
 * Loads count pairs into an EMPTY database: keys strictly increasing, values[i] of
 * value_sizes[i] bytes (copied). Builds the index with ALEX's bulk-load algorithm and
 * bypasses the log: it ends with a checkpoint, so once it returns ALEXDB_OK the load is
 * durable; after a crash during it the database is as before it. The leaves are
 * written straight to the file (a helper thread writes while the next are built), not
 * through the cache: the first read of each afterwards reads it. Returns ALEXDB_OK,
 * ALEXDB_INVALID (not empty, keys not increasing, NULL arrays), or the errors of
 * alexdb_put. Not atomic: after an error the handle refuses writes.
 */
ALEXDB_API int alexdb_bulk_load(alexdb *db, const uint64_t *keys, const void *const *values,
                                const size_t *value_sizes, size_t count);

/* ---- Atomic write batches ------------------------------------------------------------ */

/*
 * A batch collects puts and deletes (copying values) and applies them all at once:
 * no reader ever sees part of a committed batch, and later operations on the same key
 * win. A batch belongs to one thread at a time; it is not tied to a database.
 */
ALEXDB_API int alexdb_batch_create(alexdb_batch **batch_out);                /* OK, INVALID, NOMEM */
ALEXDB_API int alexdb_batch_put(alexdb_batch *batch, uint64_t key, const void *value,
                                size_t value_size);                          /* OK, INVALID, TOOBIG, NOMEM */
ALEXDB_API int alexdb_batch_delete(alexdb_batch *batch, uint64_t key);       /* OK, INVALID, NOMEM */
ALEXDB_API size_t alexdb_batch_count(const alexdb_batch *batch);            /* operations held */
ALEXDB_API void alexdb_batch_clear(alexdb_batch *batch);                     /* empties it for reuse */
ALEXDB_API void alexdb_batch_destroy(alexdb_batch *batch);                   /* NULL is fine */
/*
 * Applies the batch (which stays as it was) as one log record: after a crash either
 * all of it is there or none. Durable on return as alexdb_put (options.sync). Returns
 * ALEXDB_OK, ALEXDB_TOOBIG (the record would pass 80 MiB), or the errors of
 * alexdb_put; every page it could need is reserved first, so a full disk is reported
 * before anything is applied. Deleting an absent key in a batch is not an error.
 */
ALEXDB_API int alexdb_batch_commit(alexdb *db, const alexdb_batch *batch);

/* ---- Iterators ------------------------------------------------------------------------ */

/*
 * An iterator walks keys in increasing order. It is not a snapshot: it never shows a
 * key twice or out of order, sees each leaf as it was when it reached it, and may or
 * may not see changes made ahead of it. It holds no lock between calls. One thread at a
 * time per iterator; close every iterator before alexdb_close().
 */
ALEXDB_API int alexdb_iter_open(alexdb *db, alexdb_iter **iter_out);  /* OK, INVALID, NOMEM, CLOSED */
ALEXDB_API void alexdb_iter_seek(alexdb_iter *iter, uint64_t key);    /* first key >= key */
/* 1 if positioned on a key; 0 past the end or after an error (see alexdb_iter_status). */
ALEXDB_API int alexdb_iter_valid(const alexdb_iter *iter);
ALEXDB_API void alexdb_iter_next(alexdb_iter *iter);                  /* only while valid */
ALEXDB_API uint64_t alexdb_iter_key(const alexdb_iter *iter);         /* only while valid */
/*
 * The current value: *value_out stays valid until the next call on this iterator. A
 * value over 1 KiB is read on demand, so it is the key's value at that moment: if the
 * key was deleted since the iterator reached it, *value_out is NULL and the size 0 (the
 * iterator goes on); if the read fails, the same, and alexdb_iter_status() says why.
 */
ALEXDB_API void alexdb_iter_value(const alexdb_iter *iter, const void **value_out,
                                  size_t *value_size_out);
/* ALEXDB_OK, or the error that stopped the iterator (it is then not valid). */
ALEXDB_API int alexdb_iter_status(const alexdb_iter *iter);
ALEXDB_API int alexdb_iter_close(alexdb_iter *iter);                  /* OK, INVALID */

/* ---- Statistics and checks ------------------------------------------------------------ */

struct alexdb_stats {
    uint64_t key_count;
    uint64_t lookup_count;              /* alexdb_get calls that reached a leaf */
    uint64_t lookup_device_read_count;  /* device reads those made: 1 per uncached lookup */
    uint64_t device_read_count;         /* read I/Os on the data file */
    uint64_t device_write_count;
    uint64_t device_read_bytes;
    uint64_t device_write_bytes;
    uint64_t device_sync_count;
    uint64_t cache_hit_count;
    uint64_t cache_miss_count;
    uint64_t cache_eviction_count;
    uint64_t cache_frame_count;
    uint64_t leaf_count;
    uint64_t inner_node_count;
    uint64_t inner_memory_size;         /* bytes of inner-node memory */
    double   inner_bytes_per_leaf;      /* inner_memory_size / leaf_count */
    uint32_t depth_max;                 /* inner levels on the longest path */
    uint64_t split_count;
    uint64_t retrain_count;
    uint64_t merge_count;
    uint64_t file_size;                 /* bytes of pages in use or free */
    uint64_t free_size;                 /* bytes of free pages */
    const char *io_backend;             /* "io_uring", "posix"; static storage */
    /* The write-ahead log (wal/README.md). commits / groups = commits per fdatasync. */
    uint64_t log_record_count;          /* records appended by this handle */
    uint64_t log_bytes;                 /* their bytes, framing included */
    uint64_t log_sync_count;            /* fdatasyncs of log segments */
    uint64_t log_commit_count;          /* sync writes that waited for the device */
    uint64_t log_group_count;           /* writes + fdatasyncs made for them */
    uint64_t log_replay_count;          /* records replayed at open */
    uint64_t log_replay_bytes;          /* their bytes */
    uint64_t log_replay_ns;             /* the time the open spent reading and applying them */
    uint64_t log_segment_count;         /* segments on disk */
    uint64_t checkpoint_count;          /* checkpoints taken by this handle */
    uint64_t checkpoint_pause_max_ns;   /* the longest a checkpoint held writers up (its
                                         * copy of the changed pages; the writes run after) */
};

/* Fills *stats_out. Returns ALEXDB_OK, ALEXDB_INVALID, ALEXDB_CLOSED. Thread-safe. */
ALEXDB_API int alexdb_stats(alexdb *db, struct alexdb_stats *stats_out);

/*
 * Checks every page and index structure (checksums, leaf layouts, fences against the
 * routing, overflow runs, page ownership). ALEXDB_OK or ALEXDB_CORRUPT naming the first
 * problem. Reads the whole database; blocks structure changes while it runs.
 */
ALEXDB_API int alexdb_check(alexdb *db);

/* ---- Errors ---------------------------------------------------------------------------- */

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
