/*
 * alex.h: what api/ may call in alex/, the ALEX learned index whose leaves are pager
 * pages. One alex_index per open database. Design and concurrency rules:
 * alex/README.md; bytes: docs/FORMAT.md 3-7.
 */
#ifndef ALEX_H
#define ALEX_H

#include "common.h"
#include "pager.h"

typedef struct alex_index alex_index;

/*
 * Opens the index stored in the page file (or an empty one if the file is new), with
 * its own pager. Returns ALEXDB_OK or the pager's and the metadata's errors
 * (ALEXDB_CORRUPT, ALEXDB_NOTDB, ALEXDB_VERSION, ALEXDB_IO, ALEXDB_NOMEM).
 */
int alex_open(const char *path, const pager_config *config, alex_index **index_out) COMMON_WUR;

/*
 * A checkpoint: writes every dirty page and the index metadata and commits the
 * superblock with lsn (the log position the index now includes), crash-atomically (pager
 * P12). After it returns ALEXDB_OK the whole index is on stable storage. Both phases
 * below in a row: changes wait only for the first.
 */
int alex_persist(alex_index *index, uint64_t lsn) COMMON_WUR;

/*
 * alex_persist in two phases, so that changes stop only for the first (alex README
 * A12). alex_persist_begin takes the tree lock exclusively while it marks the dirty
 * pages (pager P15: each is copied after, before its next change) and encodes the
 * index (memory only), then releases it: the caller must keep
 * changes that are not in the checkpoint from being logged at or below lsn while it
 * runs. alex_persist_finish writes that copy and commits it with lsn while readers and
 * writers go on; it always consumes the job. One checkpoint at a time: a second begin
 * waits for the first finish. Errors as alex_persist.
 */
typedef struct alex_persist_job alex_persist_job;
int alex_persist_begin(alex_index *index, uint64_t lsn, alex_persist_job **job_out) COMMON_WUR;
int alex_persist_finish(alex_index *index, alex_persist_job *job) COMMON_WUR;

/* The checkpoint LSN of the index on disk (the superblock in force). */
uint64_t alex_checkpoint_lsn(alex_index *index);

/* True when changes fill 3/4 of the cache: they can only leave it by a checkpoint (P12). */
bool alex_needs_checkpoint(alex_index *index);

/* The database's random identity, chosen when the page file was created. */
uint64_t alex_db_id(alex_index *index);

/*
 * Makes the index refuse every later write and checkpoint (ALEXDB_READONLY naming rc),
 * as after a structure change failed half-way: the layer above calls it when the
 * in-memory index holds a change the log could not make durable, so that no checkpoint
 * ever writes it. The first failure's code is kept.
 */
void alex_fail(alex_index *index, int rc);

/*
 * ALEXDB_OK if the index accepts changes; else ALEXDB_READONLY with a message saying
 * why: opened read-only, a failure (alex_fail, a structure change failed half-way, A9),
 * or a sticky I/O error of the page file.
 */
int alex_writable(alex_index *index) COMMON_WUR;

/* Persists (unless read-only or failed) and frees everything. Returns the persist result. */
int alex_close(alex_index *index);

/*
 * Reads the leaves the keys route to into the cache with pager_prefetch: sorted by page,
 * neighbours read together, many reads per submission; nothing stays pinned. At most
 * alex_prefetch_leaf_max() leaves are read (the cache must hold them until they are
 * used). A hint for a caller that knows its next keys (log replay): the first error is
 * returned and nothing else changes. Thread-safe.
 */
int alex_prefetch(alex_index *index, const uint64_t *keys, size_t count);
/* How many leaves one alex_prefetch reads at most (pager_prefetch_page_max). */
uint32_t alex_prefetch_leaf_max(alex_index *index);
/*
 * Reads the leaf key routes to into the cache if it is not there, as a lookup would,
 * and keeps nothing pinned. A writer that finds its writer lock taken calls it before
 * waiting, so that the change it makes under the lock finds the leaf cached instead of
 * holding every other writer up for a device read (api/README D6). Returns ALEXDB_OK or
 * the read's error (ALEXDB_CORRUPT, ALEXDB_IO, ...); the change made next meets the
 * same error and reports it. Thread-safe.
 */
int alex_warm_leaf(alex_index *index, uint64_t key);

/* Copies min(size, buf_size) bytes of key's value into buf; *size_out = full size. */
int alex_get(alex_index *index, uint64_t key, void *buf, size_t buf_size, size_t *size_out) COMMON_WUR;

/* Inserts or replaces. Values up to ALEX_VALUE_SIZE_MAX (64 MiB). */
int alex_put(alex_index *index, uint64_t key, const void *value, size_t size) COMMON_WUR;

/* ALEXDB_OK or ALEXDB_NOTFOUND. */
int alex_delete(alex_index *index, uint64_t key) COMMON_WUR;

/* One operation of an atomic group. value == NULL && is_delete: a delete. */
typedef struct alex_op {
    uint64_t key;
    const void *value;
    size_t size;
    bool is_delete;
} alex_op;

/*
 * Applies count operations atomically with respect to readers (no reader sees part of
 * them): under the exclusive tree lock, after reserving every page they could need.
 */
int alex_apply(alex_index *index, const alex_op *ops, size_t count) COMMON_WUR;

/*
 * Applies ops in order, as alex_put and alex_delete one after the other would (a delete
 * of an absent key is nothing), but not atomically: readers may see part of them. ops
 * are sorted by key (nondecreasing; equal keys in the order they take effect), so the
 * run of ops that falls in one leaf is applied under one route, pin and latch (log
 * replay). *applied_out is the number of ops in place: all on ALEXDB_OK; after an error
 * the first *applied_out, and none after. Errors as alex_put; ALEXDB_FULL (the cache
 * full of changes, or a leaf still full after repeated splits) can be retried from
 * ops + *applied_out after a checkpoint.
 */
int alex_apply_sorted(alex_index *index, const alex_op *ops, size_t count, size_t *applied_out) COMMON_WUR;

/*
 * Builds the index from sorted, strictly increasing keys; the index must be empty.
 * ALEXDB_INVALID if it is not, or the keys are not strictly increasing.
 */
int alex_bulk_load(alex_index *index, const uint64_t *keys, const void *const *values,
                   const size_t *sizes, size_t count) COMMON_WUR;

/* ---- cursors (cursor.c) ---- */

typedef struct alex_cursor alex_cursor;

int alex_cursor_open(alex_index *index, alex_cursor **cursor_out) COMMON_WUR;
void alex_cursor_close(alex_cursor *cursor);
/* Positions at the first key >= key. Returns ALEXDB_OK (valid or past the end) or an error. */
int alex_cursor_seek(alex_cursor *cursor, uint64_t key) COMMON_WUR;
int alex_cursor_next(alex_cursor *cursor) COMMON_WUR;
bool alex_cursor_valid(const alex_cursor *cursor);
uint64_t alex_cursor_key(const alex_cursor *cursor);
/* The value; *data_out valid until the next cursor call. May read overflow pages. */
int alex_cursor_value(alex_cursor *cursor, const void **data_out, size_t *size_out) COMMON_WUR;

/* ---- stats and checks ---- */

typedef struct alex_stats {
    uint64_t key_count;
    uint64_t leaf_count;
    uint64_t inner_node_count;
    uint64_t inner_memory_size;
    uint32_t depth_max;
    uint64_t lookup_count;        /* alex_get calls that reached a leaf */
    uint64_t lookup_read_count;   /* device reads those lookups made */
    uint64_t split_count;
    uint64_t retrain_count;
    uint64_t merge_count;
    uint64_t free_page_count;
    uint64_t page_count;
    pager_stats pager;
} alex_stats;

void alex_stats_get(alex_index *index, alex_stats *stats_out);

/*
 * Checks every leaf, overflow run and page-ownership rule (README A1-A8); ALEXDB_OK or
 * ALEXDB_CORRUPT naming the first violation. Takes the tree lock shared.
 */
int alex_check(alex_index *index) COMMON_WUR;

#endif /* ALEX_H */
