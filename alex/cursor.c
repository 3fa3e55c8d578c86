/*
 * cursor.c: ordered iteration. A cursor copies the entries it is about to return out of
 * the leaves (under the tree lock and each leaf's shared latch) and walks the copy, so it
 * holds no lock, latch or pin between calls and never blocks a writer (README, "Cursors").
 *
 * HOW A FILL WORKS. A fill copies, under one hold of the tree lock, the entries >= a key
 * from the leaf the key routes to and from the leaves after it, until it has as many as
 * the scan is expected to read. While the tree lock is held no leaf's range can change
 * (A2), so the leaf after a leaf is its successor in the inner nodes, found from the
 * route's path without reading any page (alex_inner_path_next). So a fill knows its leaves before
 * it touches them: it pins them together (pager_pin_many: the lookups' misses overlap,
 * and leaves not cached are read in one submission), asks for the lines of each leaf
 * that will be copied (alex_leaf_prefetch), and only then copies them one by one, each
 * under its own latch after checking that its fences continue the walk (A3).
 *
 * HOW MUCH TO COPY. A seek expects the scan to read as many entries as the previous one
 * from a seek did; past that, each fill expects twice what the last one gave. Entries
 * become leaves through a running average of entries per leaf. Every fill copies whole
 * leaves (from the key on), and at most CURSOR_FILL_LEAF_COUNT_MAX of them.
 *
 * The next fill seeks to the key after the last copied leaf's upper fence, so keys come
 * out strictly increasing even when leaves split or merge between fills. It is not a
 * snapshot: a change behind the cursor is not seen, a change ahead of it may be. Overflow
 * values are read on demand by a point lookup of the key, into a buffer the cursor owns.
 */
#include "index_int.h"

#include <inttypes.h>
#include <stdlib.h>

/*
 * Leaves one fill copies at most. The copy has room for room_leaf_count leaves (each at
 * most ALEX_LEAF_SLOT_COUNT_MAX items and a page of bytes), grown on demand up to this.
 */
#define CURSOR_FILL_LEAF_COUNT_MAX 8u
#define CURSOR_ITEM_COUNT_MAX (CURSOR_FILL_LEAF_COUNT_MAX * ALEX_LEAF_SLOT_COUNT_MAX)
/* Leaves one hold of the tree lock visits at most (runs of empty leaves included). */
#define CURSOR_FILL_VISIT_COUNT_MAX 64u
/* Entries per leaf assumed before a fill has measured it. */
#define CURSOR_LEAF_ENTRY_GUESS 16u

struct alex_cursor {
    alex_index *index;
    alex_leaf_item *items;        /* the copied entries */
    uint8_t *bytes;               /* the copied heaps, where inline values point */
    uint32_t room_leaf_count;     /* the room of items and bytes, in leaves */
    uint32_t item_count;
    uint32_t item_index;          /* the current entry; valid iff item_index < item_count */
    bool at_last_leaf;            /* the last copied leaf's upper fence is UINT64_MAX */
    uint64_t next_key;            /* else: where the next fill starts (that fence + 1) */
    uint32_t fill_target;         /* entries the next fill should copy */
    uint64_t seek_position_count; /* entries stood on since the last seek */
    uint32_t length_hint;         /* that count for the scan before, at most the room */
    uint32_t leaf_entry_avg;      /* entries per leaf copied whole: a running average */
    uint8_t *value_buf;           /* the current overflow value, if read */
    size_t value_buf_size;
};

int alex_cursor_open(alex_index *index, alex_cursor **cursor_out)
{
    ALEXDB_ASSERT(index != NULL && cursor_out != NULL);
    alex_cursor *c = calloc(1, sizeof(*c));
    if (c != NULL) {
        c->items = malloc(ALEX_LEAF_SLOT_COUNT_MAX * sizeof(*c->items));
        c->bytes = malloc(PAGER_PAGE_SIZE);
    }
    if (c == NULL || c->items == NULL || c->bytes == NULL) {
        if (c != NULL) {
            free(c->items);
            free(c->bytes);
        }
        free(c);
        return common_error(ALEXDB_NOMEM, "cursor: out of memory");
    }
    c->index = index;
    c->room_leaf_count = 1;
    c->at_last_leaf = true;
    c->leaf_entry_avg = CURSOR_LEAF_ENTRY_GUESS;
    *cursor_out = c;
    return ALEXDB_OK;
}

void alex_cursor_close(alex_cursor *c)
{
    if (c == NULL) return;
    free(c->items);
    free(c->bytes);
    free(c->value_buf);
    free(c);
}

/* ---- the walk over the leaves (tree lock held shared) ------------------------------ */

/* ---- one fill ---------------------------------------------------------------------- */

/* Leaves in key order, pinned together; [0, prefetched) have had their lines asked for. */
typedef struct cursor_batch {
    uint32_t count;
    uint32_t prefetched;
    uint64_t page_no[CURSOR_FILL_LEAF_COUNT_MAX];
    pager_frame *frame[CURSOR_FILL_LEAF_COUNT_MAX];
    uint32_t expected[CURSOR_FILL_LEAF_COUNT_MAX]; /* entries each should give */
} cursor_batch;

/* A fill's progress, across its holds of the tree lock. */
typedef struct cursor_fill {
    uint64_t key;               /* copy from here on */
    bool routed;                /* key was routed to (else it starts the leaf after one copied) */
    bool narrow;                /* the pool had no frames for a batch: one leaf at a time */
    uint32_t bytes_size;
    uint32_t leaf_count;        /* leaves that gave entries: the room used */
    uint32_t whole_leaf_count;  /* of them, copied from their first entry */
    uint32_t whole_entry_count; /* entries those gave */
} cursor_fill;

/*
 * The leaf's fences must contain key and, unless key was routed to it, begin exactly at
 * key: the inner nodes and the page agree (A3). Otherwise the walk could loop or skip.
 */
static int check_fences(const alex_cursor *c, uint64_t page_no, const uint8_t *page, uint64_t key,
                        bool routed, uint64_t *low_out, uint64_t *high_out)
{
    alex_leaf_fences(page, low_out, high_out);
    if (COMMON_LIKELY(key >= *low_out && key <= *high_out && (routed || key == *low_out))) {
        return ALEXDB_OK;
    }
    return common_corrupt(pager_file_path(pager_get_file(c->index->pager)),
                          page_no * PAGER_PAGE_SIZE, "leaf %" PRIu64 " covers [%" PRIu64 ", %"
                          PRIu64 "] but the walk of the index reaches it at key %" PRIu64,
                          page_no, *low_out, *high_out, key);
}

/* Leaves worth pinning: enough for the entries missing, at the average per leaf. */
static uint32_t leaves_wanted(const alex_cursor *c, const cursor_fill *f, uint32_t visits_left)
{
    if (f->narrow) return 1;
    uint32_t missing = c->fill_target > c->item_count ? c->fill_target - c->item_count : 0;
    uint32_t per_leaf = COMMON_MAX(c->leaf_entry_avg, 1u);
    /* The leaf routed to is entered part-way, half a leaf on average: one leaf more. */
    uint32_t leaves = (missing + per_leaf - 1u) / per_leaf + (f->routed ? 1u : 0u);
    leaves = COMMON_MIN(COMMON_MAX(leaves, 1u), c->room_leaf_count - f->leaf_count);
    return COMMON_MIN(leaves, visits_left);
}

/*
 * Asks for the lines of the batch's leaves from leaf index on (that one always), as far
 * as the entries they should give fall short of the target: the misses of the leaves
 * overlap, and no leaf is fetched for nothing. The counts are the headers', read under
 * each leaf's latch; the leaf routed to (routed) should give half of its entries.
 */
static void prefetch_ahead(const alex_cursor *c, cursor_batch *b, uint32_t index, bool routed)
{
    uint32_t expected = c->item_count;
    for (uint32_t i = index; i < b->prefetched; i++) expected += b->expected[i];
    while (b->prefetched < b->count && (b->prefetched <= index || expected < c->fill_target)) {
        pager_frame *frame = b->frame[b->prefetched];
        pager_latch_shared(frame);
        const uint8_t *page = pager_frame_data(frame);
        alex_leaf_prefetch(page);
        uint32_t count = alex_leaf_key_count(page);
        pager_unlatch(frame);
        if (routed && b->prefetched == 0) count /= 2u;
        b->expected[b->prefetched++] = count;
        expected += count;
    }
}

/*
 * Under the leaf's shared latch: checks its fences (check_fences), then appends its
 * entries >= f->key to the copy. *low_out, *high_out: the fences; *count_out: entries.
 */
static int copy_leaf(alex_cursor *c, cursor_fill *f, uint64_t page_no, pager_frame *frame,
                     uint64_t *low_out, uint64_t *high_out, uint32_t *count_out)
{
    ALEXDB_ASSERT(f->leaf_count < c->room_leaf_count); /* room for one more leaf */
    pager_latch_shared(frame);
    const uint8_t *page = pager_frame_data(frame);
    int rc = check_fences(c, page_no, page, f->key, f->routed, low_out, high_out);
    *count_out = 0;
    if (rc == ALEXDB_OK) {
        *count_out = alex_leaf_copy_from(page, alex_leaf_seek(page, f->key),
                                         c->items + c->item_count, c->bytes, &f->bytes_size);
    }
    pager_unlatch(frame);
    c->item_count += *count_out;
    ALEXDB_ASSERT(c->item_count <= c->room_leaf_count * ALEX_LEAF_SLOT_COUNT_MAX &&
                  f->bytes_size <= c->room_leaf_count * PAGER_PAGE_SIZE);
    return rc;
}

/*
 * Copies the pinned batch in key order, unpinning each leaf; once the target is met it
 * only unpins. *done: nothing more to copy (the last leaf, the target or the room).
 */
static int copy_batch(alex_cursor *c, cursor_batch *b, cursor_fill *f, bool *done)
{
    int rc = ALEXDB_OK;
    for (uint32_t i = 0; i < b->count; i++) {
        if (rc == ALEXDB_OK && !*done) {
            prefetch_ahead(c, b, i, f->routed && i == 0);
            uint64_t low = 0, high = 0;
            uint32_t count = 0;
            rc = copy_leaf(c, f, b->page_no[i], b->frame[i], &low, &high, &count);
            if (rc == ALEXDB_OK) {
                bool whole = low == f->key;
                f->routed = false;
                f->leaf_count += count > 0;
                f->whole_leaf_count += whole && count > 0;
                f->whole_entry_count += whole ? count : 0;
                f->key = high + 1;
                c->at_last_leaf = high == UINT64_MAX;
                *done = c->at_last_leaf || f->leaf_count == c->room_leaf_count ||
                        c->item_count >= c->fill_target;
            }
        }
        pager_unpin(c->index->pager, b->frame[i]);
    }
    b->count = 0;
    b->prefetched = 0;
    return rc;
}

/*
 * Every frame of the pool is pinned (by other threads): copies the batch's first leaf
 * alone, as a cursor pinning one leaf at a time always could, and stays so for the rest
 * of the fill. The walk went past leaves it did not copy, so the caller routes again.
 */
static int fill_narrow(alex_cursor *c, cursor_batch *b, cursor_fill *f, bool *done)
{
    f->narrow = true;
    b->count = 1;
    int rc = pager_pin_many(c->index->pager, b->page_no, 1, PAGER_PIN_SCAN, b->frame);
    if (rc != ALEXDB_OK) return rc;
    common_errmsg_clear(); /* the batch's ALEXDB_FULL is handled */
    return copy_batch(c, b, f, done);
}

/*
 * One hold of the tree lock: routes f->key, then pins batches of the leaves from there
 * on and copies them, until done or CURSOR_FILL_VISIT_COUNT_MAX leaves were visited
 * (then the caller takes the lock again and goes on from f->key).
 */
static int fill_held(alex_cursor *c, cursor_fill *f, bool *done)
{
    const alex_inner *inner = c->index->inner;
    alex_route route;
    alex_inner_route(inner, f->key, &route);
    f->routed = true;
    alex_inner_path path;
    alex_inner_path_from_route(inner, &route, &path);
    cursor_batch batch = {.count = 0, .prefetched = 0};
    bool has_leaf = true;
    int rc = ALEXDB_OK;
    uint32_t visits = 0;
    while (rc == ALEXDB_OK && !*done && has_leaf && visits < CURSOR_FILL_VISIT_COUNT_MAX) {
        uint32_t wanted = leaves_wanted(c, f, CURSOR_FILL_VISIT_COUNT_MAX - visits);
        for (; batch.count < wanted && has_leaf; visits++) {
            batch.page_no[batch.count++] = path.leaf_page_no;
            has_leaf = alex_inner_path_next(inner, &path);
        }
        rc = pager_pin_many(c->index->pager, batch.page_no, batch.count, PAGER_PIN_SCAN,
                            batch.frame);
        if (rc == ALEXDB_FULL && batch.count > 1) return fill_narrow(c, &batch, f, done);
        if (rc == ALEXDB_OK) rc = copy_batch(c, &batch, f, done);
    }
    if (rc == ALEXDB_OK && !*done && !has_leaf) { /* A1: the last leaf ends at UINT64_MAX */
        return common_corrupt(pager_file_path(pager_get_file(c->index->pager)), 0,
                              "the index has no leaf for the keys from %" PRIu64, f->key);
    }
    return rc;
}

/*
 * Grows the room towards the leaves the target needs: a few times in a cursor's life,
 * as it only grows. Out of memory, the room stays as it is and fills copy less at once.
 * It moves the copy: only at the start of a fill, which drops the old copy anyway.
 */
static void room_grow(alex_cursor *c)
{
    uint32_t per_leaf = COMMON_MAX(c->leaf_entry_avg, 1u);
    uint32_t wanted = (c->fill_target + per_leaf - 1u) / per_leaf + 1u;
    wanted = COMMON_MIN(wanted, CURSOR_FILL_LEAF_COUNT_MAX);
    if (wanted <= c->room_leaf_count) return;
    uint32_t room = c->room_leaf_count;
    while (room < wanted) room *= 2u; /* at most log2(CURSOR_FILL_LEAF_COUNT_MAX) rounds */
    room = COMMON_MIN(room, CURSOR_FILL_LEAF_COUNT_MAX);
    size_t items_size = (size_t)room * ALEX_LEAF_SLOT_COUNT_MAX * sizeof(*c->items);
    alex_leaf_item *items = realloc(c->items, items_size);
    if (items == NULL) return;
    c->items = items;
    uint8_t *bytes = realloc(c->bytes, (size_t)room * PAGER_PAGE_SIZE);
    if (bytes == NULL) return;
    c->bytes = bytes;
    c->room_leaf_count = room;
}

/* Refills the copy from key on (see the top of the file). Ends valid, or past the last key. */
static int fill(alex_cursor *c, uint64_t key)
{
    room_grow(c);
    c->item_count = 0;
    c->item_index = 0;
    c->at_last_leaf = false;
    cursor_fill f = {.key = key};
    bool done = false;
    int rc = ALEXDB_OK;
    while (rc == ALEXDB_OK && !done) {
        pthread_rwlock_rdlock(&c->index->tree_lock);
        rc = fill_held(c, &f, &done);
        pthread_rwlock_unlock(&c->index->tree_lock);
    }
    c->next_key = f.key;
    if (f.whole_leaf_count > 0) {
        /* Rounded down: a leaf pinned too many costs less than a second batch. */
        uint32_t measured = f.whole_entry_count / f.whole_leaf_count;
        c->leaf_entry_avg = (3u * c->leaf_entry_avg + measured) / 4u;
    }
    if (rc != ALEXDB_OK) c->item_count = 0;
    return rc;
}

/* ---- the cursor calls -------------------------------------------------------------- */

int alex_cursor_seek(alex_cursor *c, uint64_t key)
{
    ALEXDB_ASSERT(c != NULL);
    c->length_hint = (uint32_t)COMMON_MIN(c->seek_position_count, CURSOR_ITEM_COUNT_MAX);
    c->fill_target = COMMON_MAX(c->length_hint, 1u);
    int rc = fill(c, key);
    c->seek_position_count = c->item_count > 0;
    return rc;
}

/* The copy ran out: the next fill. Not inlined, to keep alex_cursor_next a leaf call. */
__attribute__((noinline)) static int next_fill(alex_cursor *c)
{
    if (c->at_last_leaf) return ALEXDB_OK;
    /* The rest of the length expected; past it, twice what the last fill gave. */
    if (c->seek_position_count < c->length_hint) {
        c->fill_target = c->length_hint - (uint32_t)c->seek_position_count;
    } else {
        c->fill_target = COMMON_MIN(2u * c->item_count, CURSOR_ITEM_COUNT_MAX);
    }
    int rc = fill(c, c->next_key);
    c->seek_position_count += c->item_count > 0;
    return rc;
}

int alex_cursor_next(alex_cursor *c)
{
    ALEXDB_ASSERT(c != NULL && c->item_index < c->item_count);
    if (COMMON_UNLIKELY(++c->item_index == c->item_count)) return next_fill(c);
    c->seek_position_count++;
    return ALEXDB_OK;
}

bool alex_cursor_valid(const alex_cursor *c)
{
    return c->item_index < c->item_count;
}

uint64_t alex_cursor_key(const alex_cursor *c)
{
    ALEXDB_ASSERT(c->item_index < c->item_count);
    return c->items[c->item_index].key;
}

/*
 * The current value of an out-of-line entry's key, read under the leaf's latch (A7).
 * Not inlined: it keeps the inline case of alex_cursor_value free of its stack frame.
 */
__attribute__((noinline)) static int value_out_of_line(alex_cursor *c, const alex_leaf_item *item,
                                                       const void **data_out, size_t *size_out)
{
    size_t want = item->value_size;
    for (int attempt = 0; attempt < 4; attempt++) {
        if (c->value_buf_size < want) {
            uint8_t *buf = realloc(c->value_buf, want);
            if (buf == NULL) return common_error(ALEXDB_NOMEM, "cursor value: out of memory");
            c->value_buf = buf;
            c->value_buf_size = want;
        }
        size_t size = 0;
        int rc = alex_get(c->index, item->key, c->value_buf, c->value_buf_size, &size);
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

int alex_cursor_value(alex_cursor *c, const void **data_out, size_t *size_out)
{
    ALEXDB_ASSERT(c->item_index < c->item_count && data_out != NULL && size_out != NULL);
    const alex_leaf_item *item = &c->items[c->item_index];
    if (COMMON_UNLIKELY(item->value_size > ALEX_INLINE_VALUE_SIZE_MAX)) {
        return value_out_of_line(c, item, data_out, size_out);
    }
    *data_out = c->bytes + item->value_offset;
    *size_out = item->value_size;
    return ALEXDB_OK;
}
