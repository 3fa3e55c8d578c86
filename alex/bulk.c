/*
 * bulk.c: building an index from sorted keys. The inner nodes choose the cut into leaves
 * (ALEX's fanout tree, inner.c); here each leaf is built at ALEX's initial density into a
 * staging buffer of PAGER_WRITE_RUN_PAGES_MAX pages whose page numbers were allocated
 * together, and every full buffer goes to disk as one write. Big values are written to
 * their overflow runs first. Runs under the exclusive tree lock on an empty index.
 */
#include "index_int.h"

#include <inttypes.h>
#include <stdlib.h>

#define STAGE_PAGES PAGER_WRITE_RUN_PAGES_MAX

typedef struct bulk_ctx {
    alex_index *index;
    const uint64_t *keys;
    const alex_value *values;
    const uint64_t *record_prefix; /* record_prefix[i]: heap bytes of values[0..i) */
    uint8_t *stage;
    uint64_t stage_first;          /* first page number of the staged run */
    uint32_t stage_used;           /* pages built into the stage */
    uint32_t stage_allocated;      /* pages allocated for the stage */
    int rc;
} bulk_ctx;

static bool bulk_fits(void *ctx, uint64_t first, uint32_t count)
{
    bulk_ctx *b = ctx;
    uint64_t heap = b->record_prefix[first + count] - b->record_prefix[first];
    return count < ALEX_LEAF_SLOT_COUNT_MAX && alex_leaf_fits(count, heap, ALEX_LEAF_DENSITY_BUILD);
}

/* Writes the staged leaves and gives back the pages allocated but not used. */
static int stage_flush(bulk_ctx *b)
{
    int rc = ALEXDB_OK;
    if (b->stage_used > 0) {
        rc = pager_write_pages(b->index->pager, b->stage_first, b->stage_used, b->stage, 0);
    }
    if (b->stage_allocated > b->stage_used) {
        alex_pages_release(b->index, b->stage_first + b->stage_used, b->stage_allocated - b->stage_used);
    }
    b->stage_used = b->stage_allocated = 0;
    return rc;
}

static int bulk_make_leaf(void *ctx, uint64_t first, uint32_t count, uint64_t low, uint64_t high,
                          uint64_t *page_no_out)
{
    bulk_ctx *b = ctx;
    if (b->stage_used == b->stage_allocated) {
        int rc = stage_flush(b);
        if (rc == ALEXDB_OK) rc = alex_pages_alloc(b->index, STAGE_PAGES, &b->stage_first);
        if (rc != ALEXDB_OK) return b->rc = rc;
        for (uint32_t i = 0; i < STAGE_PAGES; i++) pager_discard(b->index->pager, b->stage_first + i);
        b->stage_allocated = STAGE_PAGES;
    }
    alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX];
    ALEXDB_ASSERT(count <= ALEX_LEAF_SLOT_COUNT_MAX);
    for (uint32_t i = 0; i < count; i++) {
        entries[i] = (alex_entry){.key = b->keys[first + i], .value = b->values[first + i]};
    }
    uint8_t *page = b->stage + (size_t)b->stage_used * PAGER_PAGE_SIZE;
    int rc = alex_leaf_build(page, entries, count, low, high, ALEX_LEAF_DENSITY_BUILD);
    ALEXDB_ASSERT(rc == ALEXDB_OK); /* bulk_fits said so */
    *page_no_out = b->stage_first + b->stage_used++;
    return ALEXDB_OK;
}

/* Checks all the input before anything is written. */
static int validate(const uint64_t *keys, const void *const *data, const size_t *sizes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && keys[i] <= keys[i - 1]) {
            return common_error(ALEXDB_INVALID, "bulk load: key %zu (%" PRIu64 ") is not greater "
                                "than the key before it", i, keys[i]);
        }
        if (sizes[i] > ALEX_VALUE_SIZE_MAX || (sizes[i] > 0 && data[i] == NULL)) {
            return common_error(sizes[i] > ALEX_VALUE_SIZE_MAX ? ALEXDB_TOOBIG : ALEXDB_INVALID,
                                "bulk load: value %zu: bad size or NULL data", i);
        }
    }
    return ALEXDB_OK;
}

/* Frees the overflow runs of values[0..count) after a failed load. */
static void unwind(alex_index *index, const alex_value *values, size_t count)
{
    for (size_t i = 0; i < count; i++) alex_value_unwind(index, &values[i]);
}

/* Turns the input into leaf values, writing overflow runs. */
static int prepare(alex_index *index, const uint64_t *keys, const void *const *data,
                   const size_t *sizes, size_t count, alex_value *values, uint64_t *prefix)
{
    int rc = validate(keys, data, sizes, count);
    if (rc != ALEXDB_OK) return rc;
    prefix[0] = 0;
    for (size_t i = 0; i < count; i++) {
        values[i] = (alex_value){.size = (uint32_t)sizes[i],
                                 .data = sizes[i] > 0 ? data[i] : (const void *)""};
        if (sizes[i] > ALEX_INLINE_VALUE_SIZE_MAX) {
            values[i].data = NULL;
            rc = alex_overflow_write(index, keys[i], data[i], (uint32_t)sizes[i],
                                     &values[i].overflow_page_no);
            if (rc != ALEXDB_OK) {
                unwind(index, values, i);
                return rc;
            }
        }
        prefix[i + 1] = prefix[i] + alex_value_record_size((uint32_t)sizes[i]);
    }
    return ALEXDB_OK;
}

static int bulk_run(alex_index *index, bulk_ctx *b, size_t count)
{
    alex_route route;
    alex_inner_route(index->inner, 0, &route);
    uint64_t old_root = route.leaf_page_no;
    int rc = alex_inner_bulk_load(index->inner, b->keys, count, bulk_fits, bulk_make_leaf, b);
    if (rc == ALEXDB_OK) rc = b->rc;
    int flush_rc = stage_flush(b);
    if (rc == ALEXDB_OK) rc = flush_rc;
    if (rc != ALEXDB_OK) {
        int expected = ALEXDB_OK;
        atomic_compare_exchange_strong(&index->failed, &expected, rc);
        return rc;
    }
    alex_pages_release(index, old_root, 1);
    atomic_store(&index->key_count, count);
    return ALEXDB_OK;
}

int alex_bulk_load(alex_index *index, const uint64_t *keys, const void *const *data,
                   const size_t *sizes, size_t count)
{
    ALEXDB_ASSERT(index != NULL && (count == 0 || (keys != NULL && data != NULL && sizes != NULL)));
    int rc = alex_writable(index);
    if (rc != ALEXDB_OK || count == 0) return rc;
    pthread_rwlock_wrlock(&index->tree_lock);
    alex_inner_stats inner;
    alex_inner_stats_get(index->inner, &inner);
    alex_value *values = calloc(count, sizeof(*values));
    uint64_t *prefix = calloc(count + 1, sizeof(*prefix));
    bulk_ctx b = {.index = index, .keys = keys, .values = values, .record_prefix = prefix};
    if (atomic_load(&index->key_count) != 0 || inner.leaf_count != 1) {
        rc = common_error(ALEXDB_INVALID, "bulk load needs an empty database");
    } else if (values == NULL || prefix == NULL ||
               posix_memalign((void **)&b.stage, PAGER_PAGE_SIZE, STAGE_PAGES * PAGER_PAGE_SIZE) != 0) {
        b.stage = NULL;
        rc = common_error(ALEXDB_NOMEM, "bulk load: out of memory");
    } else {
        rc = prepare(index, keys, data, sizes, count, values, prefix);
        if (rc == ALEXDB_OK) rc = bulk_run(index, &b, count);
    }
    pthread_rwlock_unlock(&index->tree_lock);
    free(b.stage);
    free(prefix);
    free(values);
    return rc;
}
