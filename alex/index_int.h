/*
 * index_int.h: the private state of one open index (struct alex_index) and the
 * helpers its files share: tree.c (get/put/delete), smo.c (splits, retrains, merges),
 * bulk.c, overflow.c, freelist.c, meta.c (metadata and superblock payload), cursor.c,
 * check.c. Only the .c files of alex/ include it. Invariants A1-A9: alex/README.md.
 */
#ifndef ALEX_INDEX_INT_H
#define ALEX_INDEX_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "alex.h"
#include "alex_int.h"

/* ---- freelist.c: free page runs, sorted, coalesced ---- */

typedef struct alex_run {
    uint64_t first;
    uint64_t count;
} alex_run;

typedef struct alex_freelist {
    alex_run *runs;
    size_t count;
    size_t capacity;
    uint64_t page_count; /* pages in all runs */
} alex_freelist;

/* Adds [first, first+count). ALEXDB_CORRUPT (no message: the caller reports it, naming
 * the file) if it overlaps a free run (A6); ALEXDB_NOMEM. */
int alex_freelist_add(alex_freelist *list, uint64_t first, uint64_t count) COMMON_WUR;
/* Takes count contiguous pages (first fit); false if no run is long enough. */
bool alex_freelist_take(alex_freelist *list, uint64_t count, uint64_t *first_out);
bool alex_freelist_contains(const alex_freelist *list, uint64_t page);
void alex_freelist_destroy(alex_freelist *list);

/* ---- the index ---- */

#define ALEX_PUT_ATTEMPTS_MAX 8u
#define ALEX_MERGE_FILL_MAX 0.25 /* a leaf this empty (bytes) merges with a neighbour */

struct alex_index {
    pager *pager;
    alex_inner *inner;
    bool read_only;
    /* A2: shared to read or change leaves; exclusive to change the inner nodes. */
    pthread_rwlock_t tree_lock;
    pthread_mutex_t persist_lock;  /* one checkpoint at a time, begin to finish (A12) */
    pthread_mutex_t free_lock;
    alex_freelist free;          /* reusable: free in the checkpoint in force (A11) */
    alex_freelist pending;       /* freed since: reusable once a checkpoint commits (A11) */
    alex_run meta_run;           /* pages holding the metadata in force */
    _Atomic int failed;          /* sticky: a structure change failed half-way */
    _Atomic uint64_t key_count;
    common_counter *lookup_count; /* alex_get calls: a hot path */
    _Atomic uint64_t lookup_read_count;
    _Atomic uint64_t split_count;
    _Atomic uint64_t retrain_count;
    _Atomic uint64_t merge_count;
};

/* Allocates count contiguous pages: free list first, then the end of the file. */
int alex_pages_alloc(alex_index *index, uint64_t count, uint64_t *first_out) COMMON_WUR;
/* Frees a run: its cached copies are discarded (pager P11); it is reusable once the next
 * checkpoint commits (A11). ALEXDB_CORRUPT if part of it is free already (then nothing
 * is freed). */
int alex_pages_free(alex_index *index, uint64_t first, uint64_t count);
/* Frees pages this index itself allocated and still owns: a failure is a bug (A6). */
void alex_pages_release(alex_index *index, uint64_t first, uint64_t count);

/* Frees a value's overflow run that this index wrote and no leaf references yet. */
void alex_value_unwind(alex_index *index, const alex_value *value);

/* ---- overflow.c (docs/FORMAT.md 4) ---- */

uint64_t alex_overflow_page_count(uint64_t value_size);
int alex_overflow_write(alex_index *index, uint64_t key, const void *data, uint32_t size,
                        uint64_t *first_out) COMMON_WUR;
/* Reads and validates the run; copies min(size, buf_size) bytes into buf. */
int alex_overflow_read(alex_index *index, uint64_t key, uint64_t first, uint32_t size,
                       void *buf, size_t buf_size) COMMON_WUR;
/*
 * Frees the run of key's value after verifying, from disk, that the reference names a
 * run of that key and size inside the file: a bad reference is ALEXDB_CORRUPT and the
 * pages are left alone (A6 is never broken by a damaged leaf).
 */
int alex_overflow_free(alex_index *index, uint64_t key, uint64_t first, uint32_t size) COMMON_WUR;

/* ---- smo.c: structure changes, under the exclusive tree lock ---- */

/* The leaf's records fill less than ALEX_MERGE_FILL_MAX of its body: a merge candidate. */
bool alex_leaf_sparse(const uint8_t *page);

/* Makes room in the leaf key routes to for a record of record_size: retrain or split. */
int alex_smo_make_room(alex_index *index, uint64_t key, uint32_t record_size) COMMON_WUR;
/* Merges the leaf key routes to into a neighbour if it is empty or sparse enough. */
int alex_smo_maybe_merge(alex_index *index, uint64_t key) COMMON_WUR;

/* ---- tree.c helpers shared with smo.c and bulk.c ---- */

/* Upserts into the leaf (tree lock held in either mode); ALEXDB_FULL passes up. */
int alex_tree_upsert(alex_index *index, uint64_t key, const alex_value *value,
                     alex_value *old_out, bool *replaced_out) COMMON_WUR;
int alex_tree_delete(alex_index *index, uint64_t key, alex_value *old_out,
                     bool *sparse_out) COMMON_WUR;

/* ---- meta.c (docs/FORMAT.md 6-7) ---- */

/* Loads the inner nodes and free list named by the superblock, or makes a new index. */
int alex_meta_load(alex_index *index) COMMON_WUR;
/*
 * A checkpoint in two phases (A12). begin, under the exclusive tree lock and the persist
 * lock: encodes the inner nodes and the free list into a new metadata run, takes the
 * pager's snapshot of the dirty pages (pager_checkpoint_begin: marked, copied on their
 * next change or by the finish, pager P15), and moves `pending` aside.
 * finish, under the persist lock only: writes the run and the pages and commits the
 * superblock with lsn; then (or, after a failure, back to `pending`) the pages it freed
 * join `free`. finish always consumes the job.
 */
int alex_meta_store_begin(alex_index *index, uint64_t lsn, alex_persist_job **job_out) COMMON_WUR;
int alex_meta_store_finish(alex_index *index, alex_persist_job *job) COMMON_WUR;

/* The pager's per-page check for leaves read from disk (alex_leaf_check). */
int alex_check_page(void *ctx, const char *path, const uint8_t *page, uint64_t page_no);

#endif /* ALEX_INDEX_INT_H */
