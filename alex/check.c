/*
 * check.c: alex_check, the full integrity check behind alexdb_check(). Under the persist
 * lock (no checkpoint runs meanwhile) and the shared tree lock it visits every leaf in
 * key order, reading CHECK_BATCH at a time in one submission, and verifies: the page is
 * a valid leaf (pager and leaf checks), its fences equal the key range the inner nodes
 * route to it (A3), the key count adds up, every overflow run reads back valid, and no page is
 * owned twice by leaves, overflow runs, the metadata run and the free list (A6).
 */
#include "index_int.h"

#include <inttypes.h>
#include <stdlib.h>

/* Leaves read in one submission: enough to keep the device busy, few enough for the
 * smallest cache (PAGER_CACHE_SIZE_MIN) to hold pinned. */
#define CHECK_BATCH 16u

/* A leaf the walk reached, with the key range the inner nodes route to it. */
typedef struct check_leaf_ref {
    uint64_t page_no;
    uint64_t low;
    uint64_t high;
} check_leaf_ref;

typedef struct check_ctx {
    alex_index *index;
    check_leaf_ref batch[CHECK_BATCH]; /* leaves whose reads go out together */
    uint32_t batch_count;
    uint8_t *owned;       /* one byte per page: 1 once something owns it */
    uint64_t page_count;
    uint64_t key_count;
    uint8_t *value_buf;
    size_t value_buf_size;
} check_ctx;

static int claim(check_ctx *c, uint64_t first, uint64_t count, const char *what)
{
    const char *path = pager_file_path(pager_get_file(c->index->pager));
    if (first < 2 || first > c->page_count || count > c->page_count - first) {
        return common_corrupt(path, first * PAGER_PAGE_SIZE, "%s %" PRIu64 "+%" PRIu64
                              " lies outside the file", what, first, count);
    }
    for (uint64_t p = first; p < first + count; p++) {
        if (c->owned[p]) {
            return common_corrupt(path, p * PAGER_PAGE_SIZE, "page %" PRIu64 " is owned twice "
                                  "(the second time by a %s)", p, what);
        }
        c->owned[p] = 1;
    }
    return ALEXDB_OK;
}

static int check_values(check_ctx *c, const uint8_t *page)
{
    static _Thread_local alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX];
    uint32_t count = alex_leaf_entries(page, entries);
    c->key_count += count;
    for (uint32_t i = 0; i < count; i++) {
        const alex_value *v = &entries[i].value;
        if (v->size <= ALEX_INLINE_VALUE_SIZE_MAX) continue;
        int rc = claim(c, v->overflow_page_no, alex_overflow_page_count(v->size), "overflow run");
        if (rc == ALEXDB_OK && c->value_buf_size < v->size) {
            free(c->value_buf);
            c->value_buf = malloc(v->size);
            c->value_buf_size = c->value_buf != NULL ? v->size : 0;
            if (c->value_buf == NULL) rc = common_error(ALEXDB_NOMEM, "check: out of memory");
        }
        if (rc == ALEXDB_OK) {
            rc = alex_overflow_read(c->index, entries[i].key, v->overflow_page_no, v->size,
                                    c->value_buf, v->size);
        }
        if (rc != ALEXDB_OK) return rc;
    }
    return ALEXDB_OK;
}

static int check_leaf(check_ctx *c, const check_leaf_ref *leaf, pager_frame *frame)
{
    pager_latch_shared(frame);
    const uint8_t *page = pager_frame_data(frame);
    uint64_t fence_low, fence_high;
    alex_leaf_fences(page, &fence_low, &fence_high);
    int rc = ALEXDB_OK;
    if (fence_low != leaf->low || fence_high != leaf->high) {
        rc = common_corrupt(pager_file_path(pager_get_file(c->index->pager)),
                            leaf->page_no * PAGER_PAGE_SIZE, "leaf %" PRIu64 " has fences [%" PRIu64
                            ", %" PRIu64 "] but the index routes [%" PRIu64 ", %" PRIu64 "] to it",
                            leaf->page_no, fence_low, fence_high, leaf->low, leaf->high);
    }
    if (rc == ALEXDB_OK) rc = check_values(c, page);
    pager_unlatch(frame);
    return rc;
}

/* Checks the batched leaves, their reads submitted together (pager_pin_many). */
static int check_batch(check_ctx *c)
{
    uint64_t page_nos[CHECK_BATCH] = {0};
    pager_frame *frames[CHECK_BATCH];
    uint32_t count = c->batch_count;
    c->batch_count = 0;
    for (uint32_t i = 0; i < count; i++) page_nos[i] = c->batch[i].page_no;
    int rc = pager_pin_many(c->index->pager, page_nos, count, PAGER_PIN_SCAN, frames);
    if (rc != ALEXDB_OK) return rc; /* none is pinned */
    for (uint32_t i = 0; rc == ALEXDB_OK && i < count; i++) rc = check_leaf(c, &c->batch[i], frames[i]);
    for (uint32_t i = 0; i < count; i++) pager_unpin(c->index->pager, frames[i]);
    return rc;
}

static int check_leaf_visit(void *ctx, uint64_t page_no, uint64_t low, uint64_t high)
{
    check_ctx *c = ctx;
    int rc = claim(c, page_no, 1, "leaf");
    if (rc != ALEXDB_OK) return rc;
    c->batch[c->batch_count++] = (check_leaf_ref){page_no, low, high};
    return c->batch_count == CHECK_BATCH ? check_batch(c) : ALEXDB_OK;
}

int alex_check(alex_index *index)
{
    ALEXDB_ASSERT(index != NULL);
    /* Not during a checkpoint's writes (A12): the metadata run and the free lists are
     * between two states then. */
    pthread_mutex_lock(&index->persist_lock);
    pthread_rwlock_rdlock(&index->tree_lock);
    check_ctx c = {.index = index, .page_count = pager_page_count(index->pager)};
    c.owned = calloc(c.page_count + 1, 1);
    int rc = c.owned == NULL ? common_error(ALEXDB_NOMEM, "check: out of memory") : ALEXDB_OK;
    if (rc == ALEXDB_OK && index->meta_run.count > 0) {
        rc = claim(&c, index->meta_run.first, index->meta_run.count, "metadata run");
    }
    pthread_mutex_lock(&index->free_lock);
    for (size_t i = 0; i < index->free.count && rc == ALEXDB_OK; i++) {
        rc = claim(&c, index->free.runs[i].first, index->free.runs[i].count, "free run");
    }
    for (size_t i = 0; i < index->pending.count && rc == ALEXDB_OK; i++) {
        rc = claim(&c, index->pending.runs[i].first, index->pending.runs[i].count, "freed run");
    }
    pthread_mutex_unlock(&index->free_lock);
    if (rc == ALEXDB_OK) rc = alex_inner_for_each_leaf(index->inner, check_leaf_visit, &c);
    if (rc == ALEXDB_OK && c.batch_count > 0) rc = check_batch(&c);
    if (rc == ALEXDB_OK && c.key_count != atomic_load(&index->key_count)) {
        rc = common_corrupt(pager_file_path(pager_get_file(index->pager)), 0,
                            "the leaves hold %" PRIu64 " keys, the index counts %" PRIu64,
                            c.key_count, atomic_load(&index->key_count));
    }
    pthread_rwlock_unlock(&index->tree_lock);
    pthread_mutex_unlock(&index->persist_lock);
    free(c.value_buf);
    free(c.owned);
    return rc;
}
