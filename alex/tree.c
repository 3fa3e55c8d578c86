/*
 * tree.c: one open index: open/close/persist, point reads and writes, atomic groups of
 * operations, and page allocation. A lookup routes through the in-memory inner nodes
 * to exactly one leaf page, pins it (one device read if it is not cached), and searches
 * it; a write does the same under the leaf's exclusive latch, and when the leaf is full
 * it retakes the tree lock exclusively for a retrain or split (smo.c) and retries.
 * alex_apply_sorted (log replay) does the same for a sorted run of changes, one pin and
 * latch per leaf's share of them (README A13).
 * Locking (README A2): tree lock, then one leaf latch; never the other way round.
 */
#include "index_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Runs on every page the pool reads from disk, with the tree lock held: only leaves are
 * pinned through the cache (A5), every leaf must pass the structural check, and its
 * fences must equal the key range the inner nodes route to it (A3). Pages in the cache
 * change only through this index, so checking at read time covers every later use.
 */
int alex_check_page(void *ctx, const char *path, const uint8_t *page, uint64_t page_no)
{
    alex_index *index = ctx;
    if (pager_page_kind(page) != PAGER_KIND_LEAF) {
        return common_corrupt(path, page_no * PAGER_PAGE_SIZE, "page %" PRIu64 " is a %s page "
                              "where a leaf was expected", page_no, pager_kind_name(pager_page_kind(page)));
    }
    int rc = alex_leaf_check(path, page, page_no);
    if (rc != ALEXDB_OK || index->inner == NULL) return rc;
    uint64_t low, high, routed_low = 0, routed_high = 0;
    alex_leaf_fences(page, &low, &high);
    alex_route route;
    alex_inner_route(index->inner, low, &route);
    if (route.leaf_page_no == page_no) alex_inner_range(index->inner, &route, &routed_low, &routed_high);
    if (route.leaf_page_no != page_no || routed_low != low || routed_high != high) {
        return common_corrupt(path, page_no * PAGER_PAGE_SIZE, "leaf %" PRIu64 " has fences [%"
                              PRIu64 ", %" PRIu64 "] but the index routes other keys to it",
                              page_no, low, high);
    }
    return ALEXDB_OK;
}

int alex_writable(alex_index *index)
{
    if (index->read_only) return common_error(ALEXDB_READONLY, "the database is open read-only");
    int failed = atomic_load(&index->failed);
    if (failed != ALEXDB_OK) {
        return common_error(ALEXDB_READONLY, "the database refuses writes after an earlier "
                            "failure (%s)", alexdb_strerror(failed));
    }
    int sticky = pager_file_error(pager_get_file(index->pager));
    if (sticky != ALEXDB_OK) {
        return common_error(ALEXDB_READONLY, "the database refuses writes after an earlier "
                            "I/O failure (%s)", alexdb_strerror(sticky));
    }
    return ALEXDB_OK;
}

int alex_pages_alloc(alex_index *index, uint64_t count, uint64_t *first_out)
{
    ALEXDB_ASSERT(count > 0);
    pthread_mutex_lock(&index->free_lock);
    bool taken = alex_freelist_take(&index->free, count, first_out);
    pthread_mutex_unlock(&index->free_lock);
    if (taken) return ALEXDB_OK;
    if (pager_page_count(index->pager) + count > ALEX_LEAF_PAGE_NO_MAX) {
        return common_error(ALEXDB_NOSPACE, "the page file reached its limit of %u pages",
                            ALEX_LEAF_PAGE_NO_MAX);
    }
    return pager_extend(index->pager, (uint32_t)count, first_out);
}

int alex_pages_free(alex_index *index, uint64_t first, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) pager_discard(index->pager, first + i); /* P11 */
    pthread_mutex_lock(&index->free_lock);
    int rc = ALEXDB_OK;
    for (uint64_t i = 0; i < count && rc == ALEXDB_OK; i++) {
        if (alex_freelist_contains(&index->free, first + i)) rc = ALEXDB_CORRUPT;
    }
    /* A11: the checkpoint in force may still use these pages: not reusable before the next. */
    if (rc == ALEXDB_OK) rc = alex_freelist_add(&index->pending, first, count);
    pthread_mutex_unlock(&index->free_lock);
    if (rc == ALEXDB_CORRUPT) {
        return common_corrupt(pager_file_path(pager_get_file(index->pager)), first * PAGER_PAGE_SIZE,
                              "pages %" PRIu64 "+%" PRIu64 " are already free", first, count);
    }
    return ALEXDB_OK; /* out of memory only leaks the space until the next open */
}

static int index_init(alex_index *index, const char *path, const pager_config *config)
{
    pager_config pc = *config;
    pc.check_page = alex_check_page;
    /* A lookup reads the header, bitmap, keys and value offsets first (FORMAT.md 3:
     * 88 + 8 x ceil(N/64) + 10 N bytes), fetched together in one memory trip; 16 lines
     * cover them for leaves of up to 92 slots. 8 lines (512 bytes) were too few: in the
     * bench's 1 M-key bulk load half the leaves' arrays end past byte 512, so their last
     * value offsets came a trip later (median 2.24 M against 2.32 M reads/s; 12 lines
     * between, 64 no better than 16). The value's record is fetched apart, from where
     * alex_get guesses it (record_early_offset; alex/README "How a lookup works"). */
    pc.hit_prefetch_lines = 16;
    pc.check_ctx = index;
    index->read_only = config->read_only != 0;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* Structure changes are short; without writer preference readers could starve them. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&index->tree_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&index->free_lock, NULL);
    pthread_mutex_init(&index->persist_lock, NULL);
    index->lookup_count = common_counter_new();
    if (index->lookup_count == NULL) return common_error(ALEXDB_NOMEM, "alex_open: out of memory");
    int rc = pager_open(path, &pc, &index->pager);
    if (rc == ALEXDB_OK) rc = alex_meta_load(index);
    return rc;
}

int alex_open(const char *path, const pager_config *config, alex_index **index_out)
{
    ALEXDB_ASSERT(path != NULL && config != NULL && index_out != NULL);
    *index_out = NULL;
    alex_index *index = calloc(1, sizeof(*index));
    if (index == NULL) return common_error(ALEXDB_NOMEM, "alex_open: out of memory");
    int rc = index_init(index, path, config);
    if (rc != ALEXDB_OK) {
        index->read_only = true; /* nothing to persist */
        char message[COMMON_ERRMSG_SIZE_MAX];
        snprintf(message, sizeof(message), "%s", common_errmsg());
        alex_close(index);
        common_error(rc, "%s", message);
        return rc;
    }
    *index_out = index;
    return ALEXDB_OK;
}

int alex_persist_begin(alex_index *index, uint64_t lsn, alex_persist_job **job_out)
{
    ALEXDB_ASSERT(index != NULL && job_out != NULL);
    *job_out = NULL;
    pthread_mutex_lock(&index->persist_lock); /* A12: released by the finish */
    pthread_rwlock_wrlock(&index->tree_lock);
    int rc = alex_writable(index);
    if (rc == ALEXDB_OK) rc = alex_meta_store_begin(index, lsn, job_out);
    pthread_rwlock_unlock(&index->tree_lock);
    if (rc != ALEXDB_OK) pthread_mutex_unlock(&index->persist_lock);
    return rc;
}

int alex_persist_finish(alex_index *index, alex_persist_job *job)
{
    ALEXDB_ASSERT(index != NULL && job != NULL);
    int rc = alex_meta_store_finish(index, job); /* pages, metadata, superblock */
    pthread_mutex_unlock(&index->persist_lock);
    return rc;
}

int alex_persist(alex_index *index, uint64_t lsn)
{
    alex_persist_job *job = NULL;
    int rc = alex_persist_begin(index, lsn, &job);
    return rc != ALEXDB_OK ? rc : alex_persist_finish(index, job);
}

uint64_t alex_checkpoint_lsn(alex_index *index)
{
    pager_superblock sb;
    pager_superblock_get(index->pager, &sb);
    return sb.lsn;
}

bool alex_needs_checkpoint(alex_index *index)
{
    return pager_checkpoint_due(index->pager);
}

uint64_t alex_db_id(alex_index *index)
{
    pager_superblock sb;
    pager_superblock_get(index->pager, &sb);
    return sb.db_id;
}

void alex_fail(alex_index *index, int rc)
{
    ALEXDB_ASSERT(rc != ALEXDB_OK);
    int expected = ALEXDB_OK;
    atomic_compare_exchange_strong(&index->failed, &expected, rc);
}

int alex_close(alex_index *index)
{
    if (index == NULL) return ALEXDB_OK;
    int rc = ALEXDB_OK;
    if (index->pager != NULL && index->inner != NULL && !index->read_only &&
        atomic_load(&index->failed) == ALEXDB_OK &&
        pager_file_error(pager_get_file(index->pager)) == ALEXDB_OK) {
        rc = alex_persist(index, alex_checkpoint_lsn(index));
    }
    if (index->inner != NULL) alex_inner_destroy(index->inner);
    alex_freelist_destroy(&index->free);
    alex_freelist_destroy(&index->pending);
    pager_close(index->pager);
    pthread_rwlock_destroy(&index->tree_lock);
    pthread_mutex_destroy(&index->free_lock);
    pthread_mutex_destroy(&index->persist_lock);
    free(index->lookup_count);
    free(index);
    return rc;
}

/* A leaf whose fences disagree with the route to it (A3). */
static int fence_mismatch(alex_index *index, uint64_t page_no, uint64_t low, uint64_t high, uint64_t key)
{
    return common_corrupt(pager_file_path(pager_get_file(index->pager)), page_no * PAGER_PAGE_SIZE,
                          "leaf %" PRIu64 " covers [%" PRIu64 ", %" PRIu64 "] but the index "
                          "routes key %" PRIu64 " to it", page_no, low, high, key);
}

/* Pins the leaf key routes to and checks that its fences agree with the route (A3). */
static int pin_leaf(alex_index *index, uint64_t key, pager_frame **frame_out)
{
    alex_route route;
    alex_inner_route(index->inner, key, &route);
    int rc = pager_pin(index->pager, route.leaf_page_no, 0, frame_out);
    if (rc != ALEXDB_OK) return rc;
    uint64_t low, high;
    alex_leaf_fences(pager_frame_data(*frame_out), &low, &high);
    if (key < low || key > high) {
        pager_unpin(index->pager, *frame_out);
        return fence_mismatch(index, route.leaf_page_no, low, high, key);
    }
    return ALEXDB_OK;
}

int alex_prefetch(alex_index *index, const uint64_t *keys, size_t count)
{
    ALEXDB_ASSERT(index != NULL && (keys != NULL || count == 0));
    if (count == 0) return ALEXDB_OK;
    uint32_t max = alex_prefetch_leaf_max(index);
    uint64_t *page_nos = malloc((size_t)COMMON_MIN(count, (size_t)max) * sizeof(*page_nos));
    if (page_nos == NULL) return common_error(ALEXDB_NOMEM, "alex_prefetch: out of memory");
    uint32_t n = 0;
    pthread_rwlock_rdlock(&index->tree_lock);
    for (size_t i = 0; i < count && n < max; i++) {
        alex_route route;
        alex_inner_route(index->inner, keys[i], &route);
        if (n == 0 || page_nos[n - 1] != route.leaf_page_no) page_nos[n++] = route.leaf_page_no;
    }
    pthread_rwlock_unlock(&index->tree_lock);
    /* A leaf freed meanwhile is read and checked like any page: at worst a wasted read. */
    int rc = pager_prefetch(index->pager, page_nos, n);
    free(page_nos);
    return rc;
}

uint32_t alex_prefetch_leaf_max(alex_index *index)
{
    return pager_prefetch_page_max(index->pager);
}

int alex_warm_leaf(alex_index *index, uint64_t key)
{
    ALEXDB_ASSERT(index != NULL);
    pthread_rwlock_rdlock(&index->tree_lock);
    alex_route route;
    alex_inner_route(index->inner, key, &route);
    pager_read hold;
    /* On a hit the page's first lines are requested: the change made next reads them. */
    int rc = pager_read_begin(index->pager, route.leaf_page_no, 0, PAGER_PAGE_SIZE, &hold);
    if (rc == ALEXDB_OK) pager_read_end(index->pager, &hold);
    pthread_rwlock_unlock(&index->tree_lock);
    return rc;
}

/*
 * The heap bytes of the leaves this thread read last (a moving average). With the key's
 * place in its leaf's range (the route's leaf_position), it says where the key's record
 * probably is before the leaf is read: heaps end at the page's end, in slot order after
 * a build (alex/README "How a lookup works").
 */
static _Thread_local uint32_t heap_estimate = PAGER_PAGE_SIZE / 2;

static uint32_t record_early_offset(double leaf_position)
{
    double back = (1.0 - leaf_position) * (double)heap_estimate + 64.0; /* a line of slack */
    if (!(back <= (double)PAGER_PAGE_SIZE)) return 0; /* also catches NaN */
    return PAGER_PAGE_SIZE - (uint32_t)back;
}

int alex_get(alex_index *index, uint64_t key, void *buf, size_t buf_size, size_t *size_out)
{
    ALEXDB_ASSERT(index != NULL && (buf != NULL || buf_size == 0) && size_out != NULL);
    uint64_t reads_before = pager_thread_read_count();
    pthread_rwlock_rdlock(&index->tree_lock);
    alex_route route;
    alex_inner_route(index->inner, key, &route);
    pager_read hold;
    int rc = pager_read_begin(index->pager, route.leaf_page_no, 0,
                              record_early_offset(route.leaf_position), &hold);
    if (rc == ALEXDB_OK) {
        const uint8_t *page = pager_read_data(&hold);
        uint64_t low, high;
        alex_leaf_fences(page, &low, &high);
        alex_value value;
        if (key < low || key > high) {
            rc = fence_mismatch(index, route.leaf_page_no, low, high, key);
        } else {
            rc = alex_leaf_find(page, key, &value, NULL);
            heap_estimate = (7u * heap_estimate + (uint32_t)alex_leaf_heap_used(page)) / 8u;
        }
        if (rc == ALEXDB_OK) {
            *size_out = value.size;
            if (value.size <= ALEX_INLINE_VALUE_SIZE_MAX) {
                size_t n = COMMON_MIN((size_t)value.size, buf_size);
                if (n > 0) memcpy(buf, value.data, n);
            } else if (buf_size > 0) {
                /* Under the hold: the run cannot be freed and reused meanwhile (A7). */
                rc = alex_overflow_read(index, key, value.overflow_page_no, value.size, buf, buf_size);
            }
        }
        pager_read_end(index->pager, &hold);
    }
    pthread_rwlock_unlock(&index->tree_lock);
    common_counter_add(index->lookup_count, 1);
    uint64_t reads = pager_thread_read_count() - reads_before;
    if (reads != 0) atomic_fetch_add_explicit(&index->lookup_read_count, reads, memory_order_relaxed);
    return rc;
}

int alex_tree_upsert(alex_index *index, uint64_t key, const alex_value *value, alex_value *old_out,
                     bool *replaced_out)
{
    pager_frame *frame = NULL;
    int rc = pin_leaf(index, key, &frame);
    if (rc != ALEXDB_OK) return rc;
    pager_latch_exclusive(frame);
    rc = alex_leaf_upsert(pager_frame_data(frame), key, value, old_out, replaced_out, NULL);
    if (rc == ALEXDB_OK) pager_mark_dirty(index->pager, frame, 0); /* P9: under the latch */
    pager_unlatch(frame);
    pager_unpin(index->pager, frame);
    return rc;
}

int alex_tree_delete(alex_index *index, uint64_t key, alex_value *old_out, bool *sparse_out)
{
    pager_frame *frame = NULL;
    int rc = pin_leaf(index, key, &frame);
    if (rc != ALEXDB_OK) return rc;
    pager_latch_exclusive(frame);
    uint8_t *page = pager_frame_data(frame);
    rc = alex_leaf_delete(page, key, old_out);
    if (rc == ALEXDB_OK) {
        pager_mark_dirty(index->pager, frame, 0);
        *sparse_out = alex_leaf_sparse(page);
    }
    pager_unlatch(frame);
    pager_unpin(index->pager, frame);
    return rc;
}

/* Writes a big value's overflow run first; the leaf then only holds a reference. */
static int prepare_value(alex_index *index, uint64_t key, const void *data, size_t size,
                         alex_value *value_out)
{
    if (size > ALEX_VALUE_SIZE_MAX) {
        return common_error(ALEXDB_TOOBIG, "value of %zu bytes (at most %u)", size, ALEX_VALUE_SIZE_MAX);
    }
    *value_out = (alex_value){.size = (uint32_t)size, .data = data};
    if (size <= ALEX_INLINE_VALUE_SIZE_MAX) {
        if (size == 0) value_out->data = (const uint8_t *)"";
        return ALEXDB_OK;
    }
    value_out->data = NULL;
    return alex_overflow_write(index, key, data, (uint32_t)size, &value_out->overflow_page_no);
}

void alex_pages_release(alex_index *index, uint64_t first, uint64_t count)
{
    int rc = alex_pages_free(index, first, count);
    ALEXDB_ASSERT(rc == ALEXDB_OK); /* A6: our own pages are never free already */
}

/* Frees the overflow run of a value the index no longer holds (a disk reference: checked). */
static int release_value(alex_index *index, uint64_t key, const alex_value *value)
{
    if (value->size <= ALEX_INLINE_VALUE_SIZE_MAX) return ALEXDB_OK;
    int rc = alex_overflow_free(index, key, value->overflow_page_no, value->size);
    if (rc != ALEXDB_OK) {
        char message[COMMON_ERRMSG_SIZE_MAX / 2];
        snprintf(message, sizeof(message), "%s", common_errmsg());
        common_error(rc, "the change to key %" PRIu64 " was made, but the old value's pages "
                     "are damaged and were not reused: %s", key, message);
    }
    return rc;
}

void alex_value_unwind(alex_index *index, const alex_value *value)
{
    if (value->size > ALEX_INLINE_VALUE_SIZE_MAX) {
        alex_pages_release(index, value->overflow_page_no, alex_overflow_page_count(value->size));
    }
}

/* Still full after ALEX_PUT_ATTEMPTS_MAX splits or retrains for key. */
static int no_room(uint64_t key)
{
    return common_error(ALEXDB_FULL, "key %" PRIu64 ": no room after %u splits", key, ALEX_PUT_ATTEMPTS_MAX);
}

/*
 * Upserts, making room when the leaf is full (retrain or split) and trying again, at
 * most ALEX_PUT_ATTEMPTS_MAX times. With exclusive_held the caller holds the tree lock
 * exclusively (a group of operations); otherwise the upsert takes it shared and the
 * structure change exclusively (A2).
 */
static int upsert_making_room(alex_index *index, uint64_t key, const alex_value *value,
                              alex_value *old_out, bool *replaced_out, bool exclusive_held)
{
    int rc = ALEXDB_FULL;
    for (uint32_t attempt = 0; attempt < ALEX_PUT_ATTEMPTS_MAX && rc == ALEXDB_FULL; attempt++) {
        if (!exclusive_held) pthread_rwlock_rdlock(&index->tree_lock);
        rc = alex_tree_upsert(index, key, value, old_out, replaced_out);
        if (!exclusive_held) pthread_rwlock_unlock(&index->tree_lock);
        if (rc != ALEXDB_FULL) break;
        if (!exclusive_held) pthread_rwlock_wrlock(&index->tree_lock);
        rc = alex_smo_make_room(index, key, alex_value_record_size(value->size));
        if (!exclusive_held) pthread_rwlock_unlock(&index->tree_lock);
        if (rc == ALEXDB_OK) rc = ALEXDB_FULL; /* retry the upsert */
    }
    return rc == ALEXDB_FULL ? no_room(key) : rc;
}

int alex_put(alex_index *index, uint64_t key, const void *data, size_t size)
{
    ALEXDB_ASSERT(index != NULL && (data != NULL || size == 0));
    int rc = alex_writable(index);
    alex_value value;
    if (rc == ALEXDB_OK) rc = prepare_value(index, key, data, size, &value);
    if (rc != ALEXDB_OK) return rc;
    alex_value old;
    bool replaced = false;
    rc = upsert_making_room(index, key, &value, &old, &replaced, false);
    if (rc != ALEXDB_OK) {
        alex_value_unwind(index, &value);
        return rc;
    }
    if (!replaced) atomic_fetch_add(&index->key_count, 1);
    return replaced ? release_value(index, key, &old) : ALEXDB_OK;
}

/*
 * After a delete left key's leaf sparse: merge it with a neighbour if one fits. Maintenance:
 * the delete is done whatever happens here (a failure half-way is sticky, A9).
 */
static void merge_sparse_leaf(alex_index *index, uint64_t key)
{
    pthread_rwlock_wrlock(&index->tree_lock);
    int rc = alex_smo_maybe_merge(index, key);
    pthread_rwlock_unlock(&index->tree_lock);
    (void)rc;
}

int alex_delete(alex_index *index, uint64_t key)
{
    ALEXDB_ASSERT(index != NULL);
    int rc = alex_writable(index);
    if (rc != ALEXDB_OK) return rc;
    alex_value old;
    bool sparse = false;
    pthread_rwlock_rdlock(&index->tree_lock);
    rc = alex_tree_delete(index, key, &old, &sparse);
    pthread_rwlock_unlock(&index->tree_lock);
    if (rc != ALEXDB_OK) return rc;
    atomic_fetch_sub(&index->key_count, 1);
    rc = release_value(index, key, &old);
    if (sparse) merge_sparse_leaf(index, key);
    return rc;
}

/* Applies one operation with the tree lock held exclusively. */
static int apply_one(alex_index *index, const alex_op *op, const alex_value *value,
                     alex_value *old_out, bool *replaced_out)
{
    if (op->is_delete) {
        bool sparse = false;
        int rc = alex_tree_delete(index, op->key, old_out, &sparse);
        *replaced_out = rc == ALEXDB_OK;
        return rc == ALEXDB_NOTFOUND ? ALEXDB_OK : rc;
    }
    return upsert_making_room(index, op->key, value, old_out, replaced_out, true);
}

/*
 * Reserves, before anything is applied, every page the group could need (one split per
 * put), so that a full disk is found before the first change and not in the middle.
 */
static int reserve_pages(alex_index *index, size_t put_count, uint64_t record_bytes)
{
    if (put_count == 0) return ALEXDB_OK;
    /* A split leaves at least a quarter of a page free on each side, so the group needs
     * at most one new page per 1 KiB it adds, plus one per put for leaves it finds full. */
    uint64_t need = COMMON_MIN((uint64_t)put_count, 2 + record_bytes / 1024);
    pthread_mutex_lock(&index->free_lock);
    uint64_t free_pages = index->free.page_count;
    pthread_mutex_unlock(&index->free_lock);
    if (free_pages >= need) return ALEXDB_OK;
    uint64_t first = 0, grow = need - free_pages;
    int rc = alex_pages_alloc(index, grow, &first);
    if (rc == ALEXDB_OK) alex_pages_release(index, first, grow);
    return rc;
}

int alex_apply(alex_index *index, const alex_op *ops, size_t count)
{
    ALEXDB_ASSERT(index != NULL && (ops != NULL || count == 0));
    int rc = alex_writable(index);
    if (rc != ALEXDB_OK || count == 0) return rc;
    alex_value *values = calloc(count, sizeof(*values));
    alex_value *olds = calloc(count, sizeof(*olds));
    bool *replaced = calloc(count, sizeof(*replaced));
    size_t prepared = 0, put_count = 0;
    uint64_t record_bytes = 0;
    if (values == NULL || olds == NULL || replaced == NULL) rc = common_error(ALEXDB_NOMEM, "batch: out of memory");
    for (; rc == ALEXDB_OK && prepared < count; prepared++) {
        const alex_op *op = &ops[prepared];
        if (!op->is_delete) {
            put_count++;
            record_bytes += 10 + alex_value_record_size((uint32_t)COMMON_MIN(op->size, (size_t)ALEX_VALUE_SIZE_MAX));
            rc = prepare_value(index, op->key, op->value, op->size, &values[prepared]);
        }
        if (rc != ALEXDB_OK) break;
    }
    if (rc == ALEXDB_OK) rc = reserve_pages(index, put_count, record_bytes);
    if (rc != ALEXDB_OK) {
        for (size_t i = 0; i < prepared && values != NULL; i++) {
            if (!ops[i].is_delete) alex_value_unwind(index, &values[i]);
        }
        goto done;
    }
    pthread_rwlock_wrlock(&index->tree_lock); /* A4: no reader sees part of the group */
    size_t applied = 0;
    for (; applied < count && rc == ALEXDB_OK; applied++) {
        rc = apply_one(index, &ops[applied], &values[applied], &olds[applied], &replaced[applied]);
    }
    if (rc != ALEXDB_OK) {
        /* Part of the group is in place and cannot be taken back: refuse all writes. */
        alex_fail(index, rc);
    }
    pthread_rwlock_unlock(&index->tree_lock);
    for (size_t i = 0; i < applied; i++) {
        bool put = !ops[i].is_delete;
        int release_rc = replaced[i] ? release_value(index, ops[i].key, &olds[i]) : ALEXDB_OK;
        if (rc == ALEXDB_OK) rc = release_rc;
        if (put && !replaced[i]) atomic_fetch_add(&index->key_count, 1);
        if (!put && replaced[i]) atomic_fetch_sub(&index->key_count, 1);
    }
done:
    free(values);
    free(olds);
    free(replaced);
    return rc;
}

/* ---- sorted runs of changes (log replay) ---------------------------------------- */

#define SORTED_RUN_OPS_MAX 1024u  /* changes per latch hold: bounds a reader's wait */
#define SORTED_VALUE_AHEAD 8u     /* the value asked for ahead of its change */

/* What one leaf's run of changes left for the caller to do outside the latch. */
typedef struct sorted_run {
    size_t applied;
    int64_t key_delta;  /* keys added minus keys removed */
    bool full;          /* ops[applied] found the leaf full: make room, then go on */
    bool sparse;        /* the last change, a delete, left the leaf sparse: maybe merge */
    bool old_overflow;  /* the last change replaced a value held in overflow pages: free it */
    alex_value old;
} sorted_run;

/* Applies one inline change to the latched page; false when the leaf is full. */
static bool sorted_apply_one(uint8_t *page, const alex_op *op, sorted_run *run)
{
    alex_value old;
    bool replaced = false;
    if (op->is_delete) {
        if (alex_leaf_delete(page, op->key, &old) == ALEXDB_NOTFOUND) return true;
        replaced = true;
        run->key_delta--;
        run->sparse = alex_leaf_sparse(page);
    } else {
        alex_value value = {.size = (uint32_t)op->size, .data = op->size > 0 ? op->value : (const uint8_t *)""};
        if (alex_leaf_upsert(page, op->key, &value, &old, &replaced, NULL) == ALEXDB_FULL) return false;
        if (!replaced) run->key_delta++;
    }
    run->old_overflow = replaced && old.size > ALEX_INLINE_VALUE_SIZE_MAX;
    if (run->old_overflow) run->old = old;
    return true;
}

/*
 * Applies the changes from ops[0] on that fall in ops[0]'s leaf, under one pin and its
 * exclusive latch (tree lock held shared, A2). Stops at the leaf's upper fence, at a
 * value that needs overflow pages (the caller puts it), at a full leaf, after a change
 * that leaves work outside the latch (sorted_run), or after SORTED_RUN_OPS_MAX changes.
 */
static int sorted_leaf_run(alex_index *index, const alex_op *ops, size_t count, sorted_run *run)
{
    memset(run, 0, sizeof(*run));
    pager_frame *frame = NULL;
    int rc = pin_leaf(index, ops[0].key, &frame); /* A3: ops[0] within the fences */
    if (rc != ALEXDB_OK) return rc;
    pager_latch_exclusive(frame);
    uint8_t *page = pager_frame_data(frame);
    uint64_t low, high;
    alex_leaf_fences(page, &low, &high);
    size_t n = COMMON_MIN(count, (size_t)SORTED_RUN_OPS_MAX);
    while (run->applied < n && !run->sparse && !run->old_overflow) {
        const alex_op *op = &ops[run->applied];
        if (op->key > high || (!op->is_delete && op->size > ALEX_INLINE_VALUE_SIZE_MAX)) break;
        ALEXDB_ASSERT(op->key >= low); /* A13: sorted, and ops[0] is inside */
        if (run->applied + SORTED_VALUE_AHEAD < count) {
            const alex_op *ahead = &ops[run->applied + SORTED_VALUE_AHEAD];
            if (!ahead->is_delete) __builtin_prefetch(ahead->value);
        }
        if (!sorted_apply_one(page, op, run)) {
            run->full = true;
            break;
        }
        run->applied++;
    }
    if (run->applied > 0) pager_mark_dirty(index->pager, frame, 0); /* P9: under the latch */
    pager_unlatch(frame);
    pager_unpin(index->pager, frame);
    return ALEXDB_OK;
}

/* The work a run left outside the latch, in alex_put's and alex_delete's order. */
static int sorted_run_finish(alex_index *index, uint64_t key, const sorted_run *run)
{
    if (run->key_delta != 0) atomic_fetch_add(&index->key_count, (uint64_t)run->key_delta);
    int rc = run->old_overflow ? release_value(index, key, &run->old) : ALEXDB_OK;
    if (run->sparse) merge_sparse_leaf(index, key);
    return rc;
}

/* Makes room for ops's change in its full leaf; *attempts counts tries for that change. */
static int sorted_make_room(alex_index *index, const alex_op *op, uint32_t *attempts)
{
    if (++*attempts > ALEX_PUT_ATTEMPTS_MAX) return no_room(op->key);
    pthread_rwlock_wrlock(&index->tree_lock);
    int rc = alex_smo_make_room(index, op->key, alex_value_record_size((uint32_t)op->size));
    pthread_rwlock_unlock(&index->tree_lock);
    return rc;
}

int alex_apply_sorted(alex_index *index, const alex_op *ops, size_t count, size_t *applied_out)
{
    ALEXDB_ASSERT(index != NULL && (ops != NULL || count == 0) && applied_out != NULL);
    for (size_t i = 1; i < count; i++) ALEXDB_ASSERT(ops[i - 1].key <= ops[i].key); /* A13 */
    *applied_out = 0;
    int rc = alex_writable(index);
    size_t done = 0;
    uint32_t attempts = 0;
    while (rc == ALEXDB_OK && done < count) {
        const alex_op *op = &ops[done];
        if (!op->is_delete && op->size > ALEX_INLINE_VALUE_SIZE_MAX) {
            rc = alex_put(index, op->key, op->value, op->size);
            done += rc == ALEXDB_OK;
            continue;
        }
        sorted_run run;
        pthread_rwlock_rdlock(&index->tree_lock);
        rc = sorted_leaf_run(index, op, count - done, &run);
        pthread_rwlock_unlock(&index->tree_lock);
        if (rc != ALEXDB_OK) break;
        done += run.applied;
        if (run.applied > 0) {
            attempts = 0;
            rc = sorted_run_finish(index, ops[done - 1].key, &run);
        }
        if (rc == ALEXDB_OK && run.full) rc = sorted_make_room(index, &ops[done], &attempts);
    }
    *applied_out = done;
    return rc;
}

void alex_stats_get(alex_index *index, alex_stats *stats_out)
{
    ALEXDB_ASSERT(index != NULL && stats_out != NULL);
    memset(stats_out, 0, sizeof(*stats_out));
    pthread_rwlock_rdlock(&index->tree_lock);
    alex_inner_stats inner;
    alex_inner_stats_get(index->inner, &inner);
    pthread_rwlock_unlock(&index->tree_lock);
    stats_out->key_count = atomic_load(&index->key_count);
    stats_out->leaf_count = inner.leaf_count;
    stats_out->inner_node_count = inner.node_count;
    stats_out->inner_memory_size = inner.memory_size;
    stats_out->depth_max = inner.depth_max;
    stats_out->lookup_count = common_counter_sum(index->lookup_count);
    stats_out->lookup_read_count = atomic_load(&index->lookup_read_count);
    stats_out->split_count = atomic_load(&index->split_count);
    stats_out->retrain_count = atomic_load(&index->retrain_count);
    stats_out->merge_count = atomic_load(&index->merge_count);
    pthread_mutex_lock(&index->free_lock);
    stats_out->free_page_count = index->free.page_count + index->pending.page_count;
    pthread_mutex_unlock(&index->free_lock);
    stats_out->page_count = pager_page_count(index->pager);
    pager_stats_get(index->pager, &stats_out->pager);
}
