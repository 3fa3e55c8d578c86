/*
 * leaf_write.c: changes to one leaf page (docs/FORMAT.md 3): upsert, delete, and the
 * two mechanisms behind them, shifting keys in the gapped array and compacting the heap.
 *
 * Insert (ALEX's data-node insert): the new key belongs between the last occupied slot
 * l before it and the first occupied slot r after it. If gaps lie between them, the key
 * takes the gap closest to the model's prediction. Otherwise the run of occupied slots
 * is shifted one slot towards the nearest gap, left or right, whichever takes fewer
 * moves, and the key takes the freed slot. Gap copies stay right because shifting moves
 * a run that contains no gap, and an insert into a gap only rewrites the gaps between l
 * and the new slot (they now copy the new key).
 *
 * Heap: new records are allocated downwards from heap_offset. A replaced or deleted
 * record becomes dead (or, if it sits at heap_offset, is given back at once). When the
 * free space below heap_offset is too small but dead bytes would make it enough, the
 * heap is compacted: live records are repacked against the end of the page in slot
 * order. Every failure (ALEXDB_FULL) is decided before the first byte changes, so a
 * full leaf is left byte-for-byte as it was.
 *
 * Bulk build (alex_leaf_build_sorted): the bulk load's way to fill a fresh page, the same
 * bytes as alex_leaf_build (leaf.c) in one pass: each key goes to its slot as ALEX places
 * it (the predicted slot or the next free one), the gaps before it take its key on the
 * way, its record goes to the heap, and ALEX's expected cost is summed as the keys are
 * placed, so nothing is read back from the page.
 *
 * Entry points: alex_leaf_upsert, alex_leaf_delete (the page passed alex_leaf_check),
 * alex_leaf_build_sorted.
 */
#include "alex_int.h"

#include <math.h> /* isfinite only: libalexdb does not link libm */

#define SLOT_NONE UINT32_MAX

static uint32_t field16(const uint8_t *page, uint32_t field)
{
    return common_load_u16le(page + field);
}

static void field16_set(uint8_t *page, uint32_t field, uint32_t v)
{
    ALEXDB_ASSERT(v <= UINT16_MAX);
    common_store_u16le(page + field, (uint16_t)v);
}

static void stat_add(uint8_t *page, uint32_t field, uint32_t v)
{
    uint32_t old = common_load_u32le(page + field);
    common_store_u32le(page + field, old > UINT32_MAX - v ? UINT32_MAX : old + v);
}

static uint64_t key_get(const uint8_t *page, uint32_t n, uint32_t slot)
{
    return common_load_u64le(page + alex_leaf_keys_offset(n) + 8u * slot);
}

static void key_set(uint8_t *page, uint32_t n, uint32_t slot, uint64_t key)
{
    common_store_u64le(page + alex_leaf_keys_offset(n) + 8u * slot, key);
}

static uint32_t voff_get(const uint8_t *page, uint32_t n, uint32_t slot)
{
    return common_load_u16le(page + alex_leaf_value_offsets_offset(n) + 2u * slot);
}

static void voff_set(uint8_t *page, uint32_t n, uint32_t slot, uint32_t offset)
{
    common_store_u16le(page + alex_leaf_value_offsets_offset(n) + 2u * slot, (uint16_t)offset);
}

static uint64_t bitmap_word(const uint8_t *page, uint32_t w)
{
    return common_load_u64le(page + ALEX_LEAF_FIELD_BITMAP + 8u * w);
}

static bool bit_get(const uint8_t *page, uint32_t slot)
{
    return (page[ALEX_LEAF_FIELD_BITMAP + slot / 8u] >> (slot % 8u)) & 1u;
}

static void bit_put(uint8_t *page, uint32_t slot, bool on)
{
    uint8_t mask = (uint8_t)(1u << (slot % 8u));
    if (on) page[ALEX_LEAF_FIELD_BITMAP + slot / 8u] |= mask;
    else page[ALEX_LEAF_FIELD_BITMAP + slot / 8u] &= (uint8_t)~mask;
}

/* The first slot >= from whose bit is `want`, or n. */
static uint32_t scan_up(const uint8_t *page, uint32_t n, uint32_t from, bool want)
{
    if (from >= n) return n;
    uint64_t flip = want ? 0 : ~0ull;
    uint32_t words = (n + 63u) / 64u;
    uint32_t w = from / 64u;
    uint64_t bits = (bitmap_word(page, w) ^ flip) & (~0ull << (from % 64u));
    while (bits == 0) {
        if (++w >= words) return n;
        bits = bitmap_word(page, w) ^ flip;
    }
    uint32_t slot = w * 64u + (uint32_t)__builtin_ctzll(bits);
    return slot < n ? slot : n; /* flipped bits past n read as gaps */
}

/* The last slot < before whose bit is `want`, or SLOT_NONE. */
static uint32_t scan_down(const uint8_t *page, uint32_t before, bool want)
{
    if (before == 0) return SLOT_NONE;
    uint64_t flip = want ? 0 : ~0ull;
    uint32_t last = before - 1u;
    uint32_t w = last / 64u;
    uint64_t bits = (bitmap_word(page, w) ^ flip) & (~0ull >> (63u - last % 64u));
    while (bits == 0) {
        if (w == 0) return SLOT_NONE;
        bits = bitmap_word(page, --w) ^ flip;
    }
    return w * 64u + 63u - (uint32_t)__builtin_clzll(bits);
}

/* Gives a record's bytes back: to the free space if it is the lowest record, else dead. */
static void heap_release(uint8_t *page, uint32_t offset, uint32_t size)
{
    uint32_t heap_offset = field16(page, ALEX_LEAF_FIELD_HEAP_OFFSET);
    ALEXDB_ASSERT(offset >= heap_offset && offset + size <= PAGER_PAGE_SIZE);
    if (offset == heap_offset) {
        field16_set(page, ALEX_LEAF_FIELD_HEAP_OFFSET, heap_offset + size);
    } else {
        field16_set(page, ALEX_LEAF_FIELD_HEAP_DEAD,
                    field16(page, ALEX_LEAF_FIELD_HEAP_DEAD) + size);
    }
}

/* Takes size bytes below heap_offset; the caller made sure they are free. */
static uint32_t heap_take(uint8_t *page, uint32_t size)
{
    uint32_t heap_offset = field16(page, ALEX_LEAF_FIELD_HEAP_OFFSET);
    uint32_t keys_end = alex_leaf_keys_end(field16(page, ALEX_LEAF_FIELD_SLOT_COUNT));
    ALEXDB_ASSERT(heap_offset >= keys_end + size);
    field16_set(page, ALEX_LEAF_FIELD_HEAP_OFFSET, heap_offset - size);
    return heap_offset - size;
}

static uint32_t record_size_at(const uint8_t *page, uint32_t offset)
{
    uint32_t size = alex_leaf_tag_record_size(common_load_u16le(page + offset));
    ALEXDB_ASSERT(size > 0 && offset + size <= PAGER_PAGE_SIZE);
    return size;
}

/*
 * Repacks the live records of every occupied slot except skip (SLOT_NONE: none) against
 * the end of the page, in slot order, through a copy of the heap on the stack. skip's
 * record is dropped and its value offset left 0 for the caller to set. Zeroes the freed
 * bytes so no deleted value lingers in the page.
 */
static void heap_compact(uint8_t *page, uint32_t skip)
{
    uint8_t copy[PAGER_PAGE_SIZE];
    uint32_t n = field16(page, ALEX_LEAF_FIELD_SLOT_COUNT);
    uint32_t heap_offset = field16(page, ALEX_LEAF_FIELD_HEAP_OFFSET);
    memcpy(copy + heap_offset, page + heap_offset, PAGER_PAGE_SIZE - heap_offset);
    uint32_t live = 0;
    for (uint32_t s = scan_up(page, n, 0, true); s < n; s = scan_up(page, n, s + 1u, true)) {
        if (s != skip) live += record_size_at(copy, voff_get(page, n, s));
    }
    uint32_t at = PAGER_PAGE_SIZE - live;
    ALEXDB_ASSERT(at >= alex_leaf_keys_end(n));
    memset(page + alex_leaf_keys_end(n), 0, at - alex_leaf_keys_end(n));
    for (uint32_t s = scan_up(page, n, 0, true); s < n; s = scan_up(page, n, s + 1u, true)) {
        uint32_t from = voff_get(page, n, s);
        if (s == skip) {
            voff_set(page, n, s, 0);
            continue;
        }
        uint32_t size = record_size_at(copy, from);
        memcpy(page + at, copy + from, size);
        voff_set(page, n, s, at);
        at += size;
    }
    ALEXDB_ASSERT(at == PAGER_PAGE_SIZE);
    field16_set(page, ALEX_LEAF_FIELD_HEAP_OFFSET, PAGER_PAGE_SIZE - live);
    field16_set(page, ALEX_LEAF_FIELD_HEAP_DEAD, 0);
}

/* The old value as the caller may still use it: inline bytes are gone after the call. */
static void old_value_take(const uint8_t *page, uint32_t offset, alex_value *old_out)
{
    alex_leaf_value_decode(page, offset, old_out);
    old_out->data = NULL;
}

/* Replaces slot's value; ALEXDB_FULL (page unchanged) if no heap space even after compaction. */
static int leaf_replace(uint8_t *page, uint32_t slot, const alex_value *value, alex_value *old_out)
{
    uint32_t n = field16(page, ALEX_LEAF_FIELD_SLOT_COUNT);
    uint32_t old_offset = voff_get(page, n, slot);
    uint32_t old_size = record_size_at(page, old_offset);
    uint32_t new_size = alex_value_record_size(value->size);
    uint32_t free_size = field16(page, ALEX_LEAF_FIELD_HEAP_OFFSET) - alex_leaf_keys_end(n);
    uint32_t dead = field16(page, ALEX_LEAF_FIELD_HEAP_DEAD);
    if (new_size > old_size && free_size < new_size && free_size + dead + old_size < new_size) {
        return ALEXDB_FULL;
    }
    old_value_take(page, old_offset, old_out);
    if (new_size <= old_size) {
        alex_leaf_record_store(page, old_offset, value);
        if (new_size < old_size) {
            field16_set(page, ALEX_LEAF_FIELD_HEAP_DEAD, dead + old_size - new_size);
        }
        return ALEXDB_OK;
    }
    if (free_size >= new_size) {
        uint32_t offset = heap_take(page, new_size);
        alex_leaf_record_store(page, offset, value);
        voff_set(page, n, slot, offset);
        heap_release(page, old_offset, old_size);
    } else {
        heap_compact(page, slot); /* drops the old record */
        uint32_t offset = heap_take(page, new_size);
        alex_leaf_record_store(page, offset, value);
        voff_set(page, n, slot, offset);
    }
    return ALEXDB_OK;
}

/* Rewrites the gaps in (l, slot) and slot itself with key: their next occupied is slot. */
static void gaps_copy(uint8_t *page, uint32_t n, uint32_t first, uint32_t slot, uint64_t key)
{
    for (uint32_t s = first; s <= slot; s++) {
        ALEXDB_ASSERT(s == slot || !bit_get(page, s));
        key_set(page, n, s, key);
    }
}

/*
 * Moves slots [from, from + count) one slot right (delta 1) or left (delta -1): keys and
 * value offsets; the caller fixes the bitmap (the run holds no gap).
 */
static void slots_move(uint8_t *page, uint32_t n, uint32_t from, uint32_t count, int delta)
{
    uint8_t *keys = page + alex_leaf_keys_offset(n);
    uint8_t *offsets = page + alex_leaf_value_offsets_offset(n);
    uint32_t to = delta > 0 ? from + 1u : from - 1u;
    ALEXDB_ASSERT(to + count <= n);
    memmove(keys + 8u * to, keys + 8u * from, 8u * (size_t)count);
    memmove(offsets + 2u * to, offsets + 2u * from, 2u * (size_t)count);
}

/*
 * Puts key (absent, > the key of every occupied slot before p, < every one from p on)
 * into a slot and returns it, shifting if needed. *shifts_out = slots moved.
 */
static uint32_t key_place(uint8_t *page, uint32_t n, uint64_t key, uint32_t p, uint32_t *shifts_out)
{
    uint32_t r = scan_up(page, n, p, true); /* next occupied, or n */
    uint32_t l = scan_down(page, r, true);  /* previous occupied, or SLOT_NONE */
    uint32_t first_free = l == SLOT_NONE ? 0 : l + 1u;
    *shifts_out = 0;
    if (first_free < r) {
        alex_model model;
        alex_leaf_model_get(page, &model);
        uint32_t slot = alex_model_predict(&model, key, n);
        slot = COMMON_MIN(COMMON_MAX(slot, first_free), r - 1u);
        gaps_copy(page, n, first_free, slot, key);
        bit_put(page, slot, true);
        return slot;
    }
    uint32_t gap_right = scan_up(page, n, r, false);
    uint32_t gap_left = l == SLOT_NONE ? SLOT_NONE : scan_down(page, l, false);
    ALEXDB_ASSERT(gap_right < n || gap_left != SLOT_NONE);
    bool go_right = gap_right < n && (gap_left == SLOT_NONE || gap_right - r <= l - gap_left);
    uint32_t slot;
    if (go_right) {
        *shifts_out = gap_right - r;
        slots_move(page, n, r, gap_right - r, 1);
        bit_put(page, gap_right, true);
        slot = r;
    } else {
        *shifts_out = l - gap_left;
        slots_move(page, n, gap_left + 1u, l - gap_left, -1);
        bit_put(page, gap_left, true);
        slot = l;
    }
    key_set(page, n, slot, key);
    return slot;
}

/* Inserts an absent key whose lower bound is p; ALEXDB_FULL (page unchanged) if no room. */
static int leaf_insert(uint8_t *page, uint64_t key, uint32_t p, const alex_value *value,
                       uint32_t *shifts_out)
{
    uint32_t n = field16(page, ALEX_LEAF_FIELD_SLOT_COUNT);
    uint32_t key_count = field16(page, ALEX_LEAF_FIELD_KEY_COUNT);
    uint32_t size = alex_value_record_size(value->size);
    uint32_t free_size = field16(page, ALEX_LEAF_FIELD_HEAP_OFFSET) - alex_leaf_keys_end(n);
    uint32_t dead = field16(page, ALEX_LEAF_FIELD_HEAP_DEAD);
    if (key_count >= n || free_size + dead < size) return ALEXDB_FULL;
    if (free_size < size) heap_compact(page, SLOT_NONE);
    uint32_t offset = heap_take(page, size);
    alex_leaf_record_store(page, offset, value);
    uint32_t shifts;
    uint32_t slot = key_place(page, n, key, p, &shifts);
    voff_set(page, n, slot, offset);
    field16_set(page, ALEX_LEAF_FIELD_KEY_COUNT, key_count + 1u);
    stat_add(page, ALEX_LEAF_FIELD_INSERT_COUNT, 1);
    stat_add(page, ALEX_LEAF_FIELD_SHIFT_COUNT, shifts);
    *shifts_out = shifts;
    return ALEXDB_OK;
}

int alex_leaf_upsert(uint8_t *page, uint64_t key, const alex_value *value, alex_value *old_out,
                     bool *replaced_out, uint32_t *shifts_out)
{
    ALEXDB_ASSERT(page != NULL && value != NULL && old_out != NULL && replaced_out != NULL);
    ALEXDB_ASSERT(value->size <= ALEX_VALUE_SIZE_MAX);
    ALEXDB_ASSERT(value->size > ALEX_INLINE_VALUE_SIZE_MAX || value->size == 0 ||
                  value->data != NULL);
    ALEXDB_ASSERT(value->size > ALEX_INLINE_VALUE_SIZE_MAX || value->data == NULL ||
                  value->data + value->size <= page || value->data >= page + PAGER_PAGE_SIZE);
    uint64_t low = common_load_u64le(page + ALEX_LEAF_FIELD_FENCE_LOW);
    uint64_t high = common_load_u64le(page + ALEX_LEAF_FIELD_FENCE_HIGH);
    ALEXDB_ASSERT(key >= low && key <= high);
    uint32_t n = field16(page, ALEX_LEAF_FIELD_SLOT_COUNT);
    uint32_t p = alex_leaf_lower_bound(page, key, NULL);
    uint32_t slot = p < n && key_get(page, n, p) == key ? scan_up(page, n, p, true) : n;
    uint32_t shifts = 0;
    int rc;
    *replaced_out = slot < n; /* slot == n with a match: UINT64_MAX held by trailing gaps */
    if (*replaced_out) {
        rc = leaf_replace(page, slot, value, old_out);
    } else {
        rc = leaf_insert(page, key, p, value, &shifts);
        memset(old_out, 0, sizeof(*old_out));
    }
    if (rc != ALEXDB_OK) *replaced_out = false;
    if (shifts_out != NULL) *shifts_out = shifts;
    return rc;
}

int alex_leaf_delete(uint8_t *page, uint64_t key, alex_value *old_out)
{
    ALEXDB_ASSERT(page != NULL && old_out != NULL);
    uint32_t n = field16(page, ALEX_LEAF_FIELD_SLOT_COUNT);
    uint32_t p = alex_leaf_lower_bound(page, key, NULL);
    if (p == n || key_get(page, n, p) != key) return ALEXDB_NOTFOUND;
    uint32_t slot = scan_up(page, n, p, true);
    if (slot == n) return ALEXDB_NOTFOUND; /* UINT64_MAX, held by trailing gaps only */
    ALEXDB_ASSERT(key_get(page, n, slot) == key);
    uint32_t offset = voff_get(page, n, slot);
    old_value_take(page, offset, old_out);
    heap_release(page, offset, record_size_at(page, offset));
    bit_put(page, slot, false);
    voff_set(page, n, slot, 0);
    field16_set(page, ALEX_LEAF_FIELD_KEY_COUNT, field16(page, ALEX_LEAF_FIELD_KEY_COUNT) - 1u);
    /* slot + 1 is occupied or a gap copying the next occupied key: either way the copy. */
    uint64_t next_key = slot + 1u < n ? key_get(page, n, slot + 1u) : UINT64_MAX;
    key_set(page, n, slot, next_key);
    for (uint32_t s = slot; s-- > 0 && !bit_get(page, s);) key_set(page, n, s, next_key);
    stat_add(page, ALEX_LEAF_FIELD_DELETE_COUNT, 1);
    return ALEXDB_OK;
}

/* ---- the bulk load's build ---- */

/*
 * ALEX's expected cost of a fresh leaf (alex_leaf_cost_expected in leaf_check.c) summed
 * while the keys are placed, term by term in the order that function adds them, so it is
 * the same double: the terms it adds and this skips are a key at its predicted slot
 * (log2(1) = +0.0) and a run of 0 occupied slots, and adding +0.0 to a sum of
 * non-negative terms changes no bit. Adding a term there? Also here.
 */
typedef struct build_cost {
    double log2_sum;  /* log2(|predicted - slot| + 1) over the keys */
    double shift_sum; /* L^2 / 4 over the runs of L consecutive occupied slots */
    uint32_t run;     /* occupied slots in the current run */
} build_cost;

static void build_cost_add(build_cost *cost, uint32_t predicted, uint32_t slot, bool after_gap)
{
    if (after_gap) {
        cost->shift_sum += (double)cost->run * (double)cost->run / 4.0;
        cost->run = 0;
    }
    cost->run++;
    if (predicted != slot) {
        uint32_t error = predicted > slot ? predicted - slot : slot - predicted;
        cost->log2_sum += alex_model_log2_u32(error + 1u);
    }
}

static double build_cost_total(build_cost *cost, uint32_t count)
{
    if (count == 0) return 0.0;
    cost->shift_sum += (double)cost->run * (double)cost->run / 4.0;
    cost->run = 0;
    return ALEX_COST_SEARCH_WEIGHT * (cost->log2_sum / count) +
           ALEX_COST_SHIFT_WEIGHT * (cost->shift_sum / count);
}

/* alex_value_record_size, inline: every build asks it for every key. */
static inline uint32_t record_size(const alex_value *v)
{
    return alex_leaf_tag_record_size(v->size > ALEX_INLINE_VALUE_SIZE_MAX ? ALEX_VALUE_TAG_OVERFLOW
                                                                          : (uint16_t)v->size);
}

/* alex_leaf_record_store with the inline case inline: its tag is its size (FORMAT.md 3). */
static inline uint32_t record_put(uint8_t *page, uint32_t offset, const alex_value *v)
{
    if (v->size > ALEX_INLINE_VALUE_SIZE_MAX) return alex_leaf_record_store(page, offset, v);
    common_store_u16le(page + offset, (uint16_t)v->size);
    if (v->size > 0) memcpy(page + offset + 2u, v->data, v->size);
    return 2u + v->size;
}

/*
 * ALEX's bulk placement, as place_entries in leaf.c: key i goes to max(predicted,
 * previous + 1), but never past n - (count - i). Gaps take the key of the next occupied
 * slot as it is placed, the trailing ones UINT64_MAX; records go in key order from
 * heap_offset on. Writes the bitmap, the key array and the value offsets whole.
 */
static void keys_place(uint8_t *page, uint32_t n, const uint64_t *keys, const alex_value *values,
                       uint32_t count, const alex_model *model, uint32_t heap_offset,
                       build_cost *cost)
{
    uint8_t *key_bytes = page + alex_leaf_keys_offset(n);
    uint8_t *offset_bytes = page + alex_leaf_value_offsets_offset(n);
    uint64_t bitmap[(ALEX_LEAF_SLOT_COUNT_MAX + 63u) / 64u] = {0};
    uint32_t next_free = 0;
    uint32_t record = heap_offset;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t key = keys[i];
        ALEXDB_ASSERT(i == 0 || keys[i - 1] < key);
        uint32_t predicted = alex_model_predict(model, key, n);
        uint32_t slot = COMMON_MIN(COMMON_MAX(predicted, next_free), n - (count - i));
        ALEXDB_ASSERT(slot >= next_free && slot < n);
        build_cost_add(cost, predicted, slot, slot > next_free);
        for (uint32_t gap = next_free; gap < slot; gap++) {
            common_store_u64le(key_bytes + 8u * gap, key);
            common_store_u16le(offset_bytes + 2u * gap, 0);
        }
        common_store_u64le(key_bytes + 8u * slot, key);
        common_store_u16le(offset_bytes + 2u * slot, (uint16_t)record);
        bitmap[slot / 64u] |= 1ull << (slot % 64u);
        record += record_put(page, record, &values[i]);
        next_free = slot + 1u;
    }
    ALEXDB_ASSERT(record == PAGER_PAGE_SIZE);
    for (uint32_t gap = next_free; gap < n; gap++) {
        common_store_u64le(key_bytes + 8u * gap, UINT64_MAX);
        common_store_u16le(offset_bytes + 2u * gap, 0);
    }
    for (uint32_t w = 0; w < (n + 63u) / 64u; w++) {
        common_store_u64le(page + ALEX_LEAF_FIELD_BITMAP + 8u * w, bitmap[w]);
    }
}

/* The records' heap bytes; checks each value as alex_leaf_build does. */
static size_t values_heap_size(const uint8_t *page, const alex_value *values, uint32_t count)
{
    size_t heap_size = 0;
    for (uint32_t i = 0; i < count; i++) {
        const alex_value *v = &values[i];
        ALEXDB_ASSERT(v->size > ALEX_INLINE_VALUE_SIZE_MAX || v->size == 0 || v->data != NULL);
        ALEXDB_ASSERT(v->data == NULL || v->data + v->size <= page ||
                      v->data >= page + PAGER_PAGE_SIZE);
        ALEXDB_ASSERT(v->size <= ALEX_VALUE_SIZE_MAX);
        heap_size += record_size(v);
    }
    return heap_size;
}

int alex_leaf_build_sorted(uint8_t *page, const uint64_t *keys, const alex_value *values,
                           uint32_t count, uint64_t fence_low, uint64_t fence_high, double density)
{
    ALEXDB_ASSERT(page != NULL && (count == 0 || (keys != NULL && values != NULL)));
    ALEXDB_ASSERT(fence_low <= fence_high && density > 0.0 && density <= 1.0);
    ALEXDB_ASSERT(pager_page_kind(page) == PAGER_KIND_LEAF);
    ALEXDB_ASSERT(count == 0 || (keys[0] >= fence_low && keys[count - 1] <= fence_high));
    size_t heap_size = values_heap_size(page, values, count);
    uint32_t n = alex_leaf_slot_count_for(count, heap_size, density);
    if (n == 0) return ALEXDB_FULL; /* before any byte of page changes */
    alex_model model;
    alex_model_fit(&model, keys, count, (double)n);
    uint32_t heap_offset = PAGER_PAGE_SIZE - (uint32_t)heap_size;
    build_cost cost = {0.0, 0.0, 0};
    keys_place(page, n, keys, values, count, &model, heap_offset, &cost);
    memset(page + alex_leaf_keys_end(n), 0, heap_offset - alex_leaf_keys_end(n));
    memset(page + ALEX_LEAF_FIELD_SLOT_COUNT, 0, ALEX_LEAF_FIELD_BITMAP - ALEX_LEAF_FIELD_SLOT_COUNT);
    field16_set(page, ALEX_LEAF_FIELD_SLOT_COUNT, n);
    field16_set(page, ALEX_LEAF_FIELD_KEY_COUNT, count);
    field16_set(page, ALEX_LEAF_FIELD_HEAP_OFFSET, heap_offset);
    common_store_f64le(page + ALEX_LEAF_FIELD_SLOPE, model.slope);
    common_store_f64le(page + ALEX_LEAF_FIELD_INTERCEPT, model.intercept);
    common_store_u64le(page + ALEX_LEAF_FIELD_FENCE_LOW, fence_low);
    common_store_u64le(page + ALEX_LEAF_FIELD_FENCE_HIGH, fence_high);
    double expected = build_cost_total(&cost, count);
    ALEXDB_ASSERT(isfinite(expected) && expected >= 0.0);
    common_store_f32le(page + ALEX_LEAF_FIELD_EXPECTED_COST, (float)expected);
    return ALEXDB_OK;
}
