/*
 * wal.h: what api/ may call in wal/, the write-ahead log. Records are typed byte
 * strings with a log sequence number; the layer above gives the types their meaning.
 * Segments, record framing and recovery rules: docs/FORMAT.md 9; design, group commit
 * and invariants W1..: wal/README.md.
 */
#ifndef WAL_H
#define WAL_H

#include "common.h"
#include "pager.h"

typedef struct wal wal;

#define WAL_SEGMENT_SIZE_DEFAULT (64u << 20)
#define WAL_RECORD_SIZE_MAX (80u << 20) /* a record's payload; larger appends: ALEXDB_TOOBIG */

typedef struct wal_config {
    pager_env env;              /* backend, fault domain, log callback: as the page file */
    uint64_t db_id;             /* stamped in every segment header; another value: CORRUPT */
    uint64_t segment_size;      /* a new segment starts past this; 0: the default; else
                                 * 8 KiB .. 2^40, rounded up to 4 KiB */
    uint32_t sync_interval_ms;  /* appends nobody waits for are durable within this; 0: never by time */
    bool manual_interval;       /* no sync thread: the caller calls wal_sync_tick instead (a
                                 * deterministic schedule, crashtest) */
    bool salvage;               /* recovery keeps the records before a bad one instead of failing */
    bool read_only;             /* recover into the callback, change nothing on disk */
} wal_config;

/* One piece of a record's payload; a record is its parts back to back. */
typedef struct wal_part {
    const void *data;
    size_t size;
} wal_part;

/*
 * Called once per record during recovery, in LSN order. payload is valid only during the
 * call. A nonzero return stops wal_open, which returns that value.
 */
typedef int (*wal_replay_fn)(void *ctx, uint64_t lsn, uint8_t type, const uint8_t *payload,
                             uint32_t size);

/*
 * Opens the log in dir (which must exist; creating its first segment if there is none)
 * and recovers it: every intact record with lsn > from_lsn goes to replay (may be NULL)
 * in order; a torn tail is cut off; a bad record followed by a record made durable after
 * it is ALEXDB_CORRUPT naming the segment and offset (unless config->salvage). New
 * records get LSNs after the last intact one, and at least from_lsn + 1.
 * from_lsn is the checkpoint's LSN: segments it covers may be missing.
 * Returns ALEXDB_OK, ALEXDB_INVALID (NULL argument, bad segment_size, from_lsn
 * UINT64_MAX), ALEXDB_CORRUPT, ALEXDB_VERSION, ALEXDB_IO, ALEXDB_NOSPACE, ALEXDB_NOMEM,
 * or the replay callback's nonzero result. On failure *wal_out is NULL.
 * With config->read_only nothing on disk changes (a torn tail is reported as the end).
 */
int wal_open(const char *dir, const wal_config *config, uint64_t from_lsn, wal_replay_fn replay,
             void *ctx, wal **wal_out) COMMON_WUR;

/*
 * Appends one record (its parts concatenated; parts are copied) to the log buffer and
 * returns its LSN; does not wait for the device, unless the 4 MiB buffer is full (then
 * it is written out first). Thread-safe; LSNs follow the order of the calls.
 * Errors: ALEXDB_INVALID (type 0, NULL), ALEXDB_TOOBIG, ALEXDB_NOMEM, ALEXDB_READONLY
 * (opened read-only), the sticky error after a failed write or sync (wal_error()).
 */
int wal_append(wal *w, uint8_t type, const wal_part *parts, uint32_t part_count,
               uint64_t *lsn_out) COMMON_WUR;

/*
 * Returns once every record up to lsn (at most the last appended) is on stable storage.
 * Committers that wait at the same time share one write and one fdatasync (group
 * commit). Thread-safe. Returns ALEXDB_OK, or the sticky error if a write or fdatasync
 * failed before lsn was durable (ALEXDB_IO, ALEXDB_NOSPACE, ...).
 */
int wal_sync_to(wal *w, uint64_t lsn) COMMON_WUR;

/*
 * What the sync thread does every sync_interval_ms: makes every record appended so far
 * durable, as a sync that counts as no commit. With config.manual_interval the caller
 * calls it instead (the thread is not started). Thread-safe; returns as wal_sync_to.
 */
int wal_sync_tick(wal *w) COMMON_WUR;

/* The LSN of the last record appended, and of the last one known durable. */
uint64_t wal_last_lsn(wal *w);
uint64_t wal_durable_lsn(wal *w);

/*
 * Every record <= lsn is covered by a checkpoint: segments that hold only such records
 * are deleted (never the newest), then the directory is synced. Thread-safe; appends go
 * on meanwhile. Returns ALEXDB_OK, ALEXDB_READONLY, or the first I/O error.
 */
int wal_release_before(wal *w, uint64_t lsn) COMMON_WUR;

/* The sticky error (ALEXDB_OK if none): after a failed write or fdatasync. */
int wal_error(wal *w);

typedef struct wal_stats {
    uint64_t append_count;   /* records appended */
    uint64_t append_bytes;   /* their framed bytes */
    uint64_t sync_count;     /* fdatasyncs of segments */
    uint64_t commit_count;   /* wal_sync_to calls that waited for a sync */
    uint64_t group_count;    /* writes + syncs made for committers (commits / groups = group size) */
    uint64_t segment_count;  /* segments now on disk */
    uint64_t replay_count;   /* records replayed by wal_open */
    uint64_t replay_bytes;
} wal_stats;

void wal_stats_get(wal *w, wal_stats *stats_out);

/*
 * Makes everything appended durable (unless read-only or failed), then frees. Returns
 * ALEXDB_OK, or the error that left appended records not durable. Not concurrent with
 * any other call on w.
 */
int wal_close(wal *w);

#endif /* WAL_H */
