/*
 * smo.c: structure modifications, always under the exclusive tree lock (A2), so no
 * reader or writer is inside a leaf meanwhile; only the pager's write-back may read a
 * leaf, and the exclusive latch held here keeps it out (pager P9).
 *
 *   make_room: a leaf said FULL. ALEX's cost model (alex_leaf_full_action) picks
 *     RETRAIN (rebuild the same keys in the same page with a refit model and fresh gaps;
 *     a page cannot expand, so this replaces ALEX's expansion) or SPLIT (the inner nodes
 *     give part of the leaf's key range to a new page; both halves are rebuilt at the
 *     build density).
 *   maybe_merge: a leaf became empty or sparse: if it and its neighbour in the same
 *     parent fit one page, the neighbour takes its slots and keys and the page is freed.
 *
 * Order of a split (A9): everything that can fail for want of a resource (the new page,
 * its frame) is obtained before the inner nodes change; after that only an impossible
 * rebuild failure remains, which marks the index failed rather than half-split.
 */
#include "index_int.h"

#include <inttypes.h>

typedef struct leaf_scratch {
    _Alignas(8) uint8_t page[PAGER_PAGE_SIZE];
    alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX];
    uint32_t count;
} leaf_scratch;

/* Copies a leaf so its entries stay readable while the page is rebuilt. */
static void snapshot(leaf_scratch *s, const uint8_t *page)
{
    memcpy(s->page, page, PAGER_PAGE_SIZE);
    s->count = alex_leaf_entries(s->page, s->entries);
}

/* Rebuilds at the build density, or as dense as needed when that does not fit. */
static int rebuild(uint8_t *page, const alex_entry *entries, uint32_t count, uint64_t low,
                   uint64_t high)
{
    int rc = alex_leaf_build(page, entries, count, low, high, ALEX_LEAF_DENSITY_BUILD);
    if (rc == ALEXDB_FULL) rc = alex_leaf_build(page, entries, count, low, high, 1.0);
    return rc;
}

static int fail_index(alex_index *index, int rc, const char *what)
{
    int expected = ALEXDB_OK;
    atomic_compare_exchange_strong(&index->failed, &expected, rc);
    return common_error(rc, "%s failed half-way; the database refuses writes", what);
}

static bool has_room(const uint8_t *page, uint32_t record_size)
{
    return alex_leaf_key_count(page) < alex_leaf_slot_count(page) &&
           alex_leaf_free_bytes(page) >= record_size;
}

/* The split proper: frame (old leaf) latched, snapshot taken. */
static int split_leaf(alex_index *index, const alex_route *route, pager_frame *frame, leaf_scratch *s)
{
    uint64_t keys[ALEX_LEAF_SLOT_COUNT_MAX];
    for (uint32_t i = 0; i < s->count; i++) keys[i] = s->entries[i].key;
    uint64_t new_page_no = 0;
    int rc = alex_pages_alloc(index, 1, &new_page_no);
    if (rc != ALEXDB_OK) return rc;
    pager_frame *new_frame = NULL;
    rc = pager_pin_new(index->pager, new_page_no, PAGER_KIND_LEAF, &new_frame);
    if (rc != ALEXDB_OK) {
        alex_pages_release(index, new_page_no, 1);
        return rc;
    }
    pager_latch_exclusive(new_frame);
    uint64_t boundary = 0;
    rc = alex_inner_split(index->inner, route, keys, s->count, new_page_no, &boundary);
    if (rc != ALEXDB_OK) {
        pager_unlatch(new_frame);
        pager_unpin(index->pager, new_frame);
        alex_pages_release(index, new_page_no, 1); /* discards the new frame's contents */
        return rc;
    }
    uint32_t m = 0;
    while (m < s->count && keys[m] < boundary) m++;
    ALEXDB_ASSERT(m > 0 && m < s->count); /* alex_inner_split: both sides non-empty */
    uint64_t low, high;
    alex_leaf_fences(s->page, &low, &high);
    ALEXDB_ASSERT(boundary > low && boundary <= high);
    rc = rebuild(pager_frame_data(frame), s->entries, m, low, boundary - 1);
    if (rc == ALEXDB_OK) {
        rc = rebuild(pager_frame_data(new_frame), s->entries + m, s->count - m, boundary, high);
    }
    pager_mark_dirty(index->pager, new_frame, 0);
    pager_unlatch(new_frame);
    pager_unpin(index->pager, new_frame);
    if (rc != ALEXDB_OK) return fail_index(index, rc, "leaf split");
    atomic_fetch_add_explicit(&index->split_count, 1, memory_order_relaxed);
    return ALEXDB_OK;
}

int alex_smo_make_room(alex_index *index, uint64_t key, uint32_t record_size)
{
    alex_route route;
    alex_inner_route(index->inner, key, &route);
    pager_frame *frame = NULL;
    int rc = pager_pin(index->pager, route.leaf_page_no, 0, &frame);
    if (rc != ALEXDB_OK) return rc;
    pager_latch_exclusive(frame);
    uint8_t *page = pager_frame_data(frame);
    static _Thread_local leaf_scratch scratch;
    if (!has_room(page, record_size)) { /* another thread may have made room already */
        snapshot(&scratch, page);
        uint64_t low, high;
        alex_leaf_fences(page, &low, &high);
        rc = ALEXDB_FULL;
        if (alex_leaf_full_action(page, record_size) == ALEX_FULL_RETRAIN) {
            rc = alex_leaf_build(page, scratch.entries, scratch.count, low, high,
                                 ALEX_LEAF_DENSITY_BUILD);
            if (rc == ALEXDB_OK && has_room(page, record_size)) {
                atomic_fetch_add_explicit(&index->retrain_count, 1, memory_order_relaxed);
            } else {
                memcpy(page, scratch.page, PAGER_PAGE_SIZE); /* retraining did not help */
                rc = ALEXDB_FULL;
            }
        }
        if (rc == ALEXDB_FULL && scratch.count < 2) {
            rc = common_error(ALEXDB_FULL, "leaf %" PRIu64 " is full with one key",
                              route.leaf_page_no);
        } else if (rc == ALEXDB_FULL) {
            rc = split_leaf(index, &route, frame, &scratch);
        }
        if (rc == ALEXDB_OK) pager_mark_dirty(index->pager, frame, 0);
    }
    pager_unlatch(frame);
    pager_unpin(index->pager, frame);
    return rc;
}

/* The neighbour that alex_inner_merge will pick: the left leaf in the same parent, else the right. */
static bool merge_partner(alex_index *index, const alex_route *route, uint64_t low, uint64_t high,
                          alex_route *partner_out)
{
    if (route->depth == 0) return false;
    uint32_t parent = route->node[route->depth - 1];
    for (int side = 0; side < 2; side++) {
        if (side == 0 ? low == 0 : high == UINT64_MAX) continue;
        alex_inner_route(index->inner, side == 0 ? low - 1 : high + 1, partner_out);
        if (partner_out->depth == route->depth && partner_out->node[route->depth - 1] == parent) {
            return true;
        }
    }
    return false;
}

/*
 * Rebuilds the survivor with both leaves' keys over the merged range. *merged_out tells
 * the caller to free the merged leaf's page once it has unpinned it (pager P11).
 */
static int merge_into(alex_index *index, const alex_route *route, pager_frame *survivor,
                      leaf_scratch *a, leaf_scratch *b, bool *merged_out)
{
    uint64_t survivor_page_no = 0;
    int rc = alex_inner_merge(index->inner, route, &survivor_page_no);
    if (rc != ALEXDB_OK) return rc == ALEXDB_NOTFOUND ? ALEXDB_OK : rc;
    ALEXDB_ASSERT(survivor_page_no == pager_frame_page_no(survivor));
    uint64_t low_a, high_a, low_b, high_b;
    alex_leaf_fences(a->page, &low_a, &high_a);
    alex_leaf_fences(b->page, &low_b, &high_b);
    /* Put the left leaf's entries first, then the right one's. */
    leaf_scratch *left = low_a < low_b ? a : b, *right = left == a ? b : a;
    static _Thread_local alex_entry merged[2 * ALEX_LEAF_SLOT_COUNT_MAX];
    memcpy(merged, left->entries, left->count * sizeof(alex_entry));
    memcpy(merged + left->count, right->entries, right->count * sizeof(alex_entry));
    rc = rebuild(pager_frame_data(survivor), merged, left->count + right->count,
                 COMMON_MIN(low_a, low_b), COMMON_MAX(high_a, high_b));
    if (rc != ALEXDB_OK) return fail_index(index, rc, "leaf merge");
    pager_mark_dirty(index->pager, survivor, 0);
    *merged_out = true;
    atomic_fetch_add_explicit(&index->merge_count, 1, memory_order_relaxed);
    return ALEXDB_OK;
}

bool alex_leaf_sparse(const uint8_t *page)
{
    size_t used = alex_leaf_heap_used(page) + 10u * alex_leaf_key_count(page); /* key + offset */
    return used < ALEX_MERGE_FILL_MAX * PAGER_BODY_SIZE;
}

int alex_smo_maybe_merge(alex_index *index, uint64_t key)
{
    alex_route route, partner;
    alex_inner_route(index->inner, key, &route);
    pager_frame *leaf = NULL, *survivor = NULL;
    int rc = pager_pin(index->pager, route.leaf_page_no, 0, &leaf);
    if (rc != ALEXDB_OK) return rc;
    static _Thread_local leaf_scratch a, b;
    bool merged = false;
    snapshot(&a, pager_frame_data(leaf));
    uint64_t low, high;
    alex_leaf_fences(a.page, &low, &high);
    if (alex_leaf_sparse(a.page) && merge_partner(index, &route, low, high, &partner)) {
        rc = pager_pin(index->pager, partner.leaf_page_no, 0, &survivor);
        if (rc == ALEXDB_OK) {
            pager_latch_exclusive(survivor);
            snapshot(&b, pager_frame_data(survivor));
            size_t heap = alex_leaf_heap_used(a.page) + alex_leaf_heap_used(b.page);
            if (a.count + b.count <= ALEX_LEAF_SLOT_COUNT_MAX - 1 &&
                alex_leaf_fits(a.count + b.count, heap, ALEX_LEAF_DENSITY_BUILD)) {
                rc = merge_into(index, &route, survivor, &a, &b, &merged);
            }
            pager_unlatch(survivor);
            pager_unpin(index->pager, survivor);
        }
    }
    pager_unpin(index->pager, leaf);
    if (merged) alex_pages_release(index, route.leaf_page_no, 1);
    return rc;
}
