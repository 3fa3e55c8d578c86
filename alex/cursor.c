/*
 * cursor.c: ordered iteration. A cursor copies the leaf it stands in (under the tree lock
 * and the leaf's shared latch) and walks the copy, so it holds no lock or pin between
 * calls and never blocks a writer. Leaving a leaf, it seeks to the key after the copied
 * leaf's upper fence, so keys come out strictly increasing even when leaves split or
 * merge meanwhile. It is not a snapshot: a change behind the cursor is not seen, a
 * change ahead of it may be (README, "Cursors"). Overflow values are read on demand by a
 * point lookup of the key, into a buffer the cursor owns.
 */
#include "index_int.h"

#include <stdlib.h>

struct alex_cursor {
    alex_index *index;
    uint8_t *page;       /* copy of the current leaf, 4 KiB-aligned */
    uint32_t slot;
    bool valid;
    uint64_t high;       /* the copied leaf's upper fence */
    alex_entry entry;    /* the current entry (inline data points into page) */
    uint8_t *value_buf;  /* the current overflow value, if read */
    size_t value_buf_size;
};

int alex_cursor_open(alex_index *index, alex_cursor **cursor_out)
{
    ALEXDB_ASSERT(index != NULL && cursor_out != NULL);
    alex_cursor *c = calloc(1, sizeof(*c));
    if (c != NULL && posix_memalign((void **)&c->page, PAGER_PAGE_SIZE, PAGER_PAGE_SIZE) != 0) {
        c->page = NULL;
    }
    if (c == NULL || c->page == NULL) {
        free(c);
        return common_error(ALEXDB_NOMEM, "cursor: out of memory");
    }
    c->index = index;
    *cursor_out = c;
    return ALEXDB_OK;
}

void alex_cursor_close(alex_cursor *c)
{
    if (c == NULL) return;
    free(c->page);
    free(c->value_buf);
    free(c);
}

/* Copies the leaf key routes to; returns its first slot with a key >= key. */
static int load_leaf(alex_cursor *c, uint64_t key)
{
    alex_index *index = c->index;
    pthread_rwlock_rdlock(&index->tree_lock);
    alex_route route;
    alex_inner_route(index->inner, key, &route);
    pager_frame *frame = NULL;
    int rc = pager_pin(index->pager, route.leaf_page_no, PAGER_PIN_SCAN, &frame);
    if (rc == ALEXDB_OK) {
        pager_latch_shared(frame);
        memcpy(c->page, pager_frame_data(frame), PAGER_PAGE_SIZE);
        pager_unlatch(frame);
        pager_unpin(index->pager, frame);
    }
    pthread_rwlock_unlock(&index->tree_lock);
    if (rc != ALEXDB_OK) return rc;
    uint64_t low;
    alex_leaf_fences(c->page, &low, &c->high);
    c->slot = alex_leaf_seek(c->page, key);
    return ALEXDB_OK;
}

/* From key onwards, the first entry: walks right over leaves with nothing >= key. */
static int position(alex_cursor *c, uint64_t key)
{
    c->valid = false;
    for (;;) {
        int rc = load_leaf(c, key);
        if (rc != ALEXDB_OK) return rc;
        if (c->slot < alex_leaf_slot_count(c->page)) {
            alex_leaf_entry_at(c->page, c->slot, &c->entry);
            c->valid = true;
            return ALEXDB_OK;
        }
        if (c->high == UINT64_MAX) return ALEXDB_OK; /* past the last key */
        key = c->high + 1;
    }
}

int alex_cursor_seek(alex_cursor *c, uint64_t key)
{
    ALEXDB_ASSERT(c != NULL);
    return position(c, key);
}

int alex_cursor_next(alex_cursor *c)
{
    ALEXDB_ASSERT(c != NULL && c->valid);
    uint32_t slot = alex_leaf_next(c->page, c->slot);
    if (slot < alex_leaf_slot_count(c->page)) {
        c->slot = slot;
        alex_leaf_entry_at(c->page, slot, &c->entry);
        return ALEXDB_OK;
    }
    if (c->high == UINT64_MAX) {
        c->valid = false;
        return ALEXDB_OK;
    }
    return position(c, c->high + 1);
}

bool alex_cursor_valid(const alex_cursor *c)
{
    return c->valid;
}

uint64_t alex_cursor_key(const alex_cursor *c)
{
    ALEXDB_ASSERT(c->valid);
    return c->entry.key;
}

int alex_cursor_value(alex_cursor *c, const void **data_out, size_t *size_out)
{
    ALEXDB_ASSERT(c->valid && data_out != NULL && size_out != NULL);
    if (c->entry.value.size <= ALEX_INLINE_VALUE_SIZE_MAX) {
        *data_out = c->entry.value.data;
        *size_out = c->entry.value.size;
        return ALEXDB_OK;
    }
    /* Out of line: the current value of the key, read under the leaf's latch (A7). */
    size_t want = c->entry.value.size;
    for (int attempt = 0; attempt < 4; attempt++) {
        if (c->value_buf_size < want) {
            uint8_t *buf = realloc(c->value_buf, want);
            if (buf == NULL) return common_error(ALEXDB_NOMEM, "cursor value: out of memory");
            c->value_buf = buf;
            c->value_buf_size = want;
        }
        size_t size = 0;
        int rc = alex_get(c->index, c->entry.key, c->value_buf, c->value_buf_size, &size);
        if (rc == ALEXDB_NOTFOUND) { /* deleted since the cursor reached it: no value */
            *data_out = NULL;
            *size_out = 0;
            return ALEXDB_OK;
        }
        if (rc != ALEXDB_OK) return rc;
        if (size <= c->value_buf_size) {
            *data_out = c->value_buf;
            *size_out = size;
            return ALEXDB_OK;
        }
        want = size; /* replaced by a bigger value meanwhile */
    }
    return common_error(ALEXDB_BUSY, "cursor value: the key keeps changing size");
}
