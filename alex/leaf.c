/*
 * leaf.c: one ALEX leaf page (docs/FORMAT.md 3) as a 4 KiB image: layout accessors,
 * building a leaf from sorted entries, and the read path. Pure functions on page bytes:
 * no I/O, no malloc, no recursion.
 *
 * Main idea: the gapped key array never decreases (a gap holds a copy of the next
 * occupied key, or UINT64_MAX), so a lookup reads only the key array: the model predicts
 * a slot, an exponential search from there finds the first slot p with key >= k, and the
 * first occupied slot at or after p (from the bitmap) holds k iff k is present. When the
 * key at p differs from k the bitmap is not even read: that slot's copy is the key of the
 * next occupied slot, so k is absent. (A key equal to the copy can still be absent only
 * when it is UINT64_MAX and held by trailing gaps alone.)
 *
 * Entry points: alex_leaf_init, alex_leaf_build, alex_leaf_fits, alex_value_record_size,
 * alex_leaf_find, alex_leaf_seek, alex_leaf_next, alex_leaf_entry_at, alex_leaf_entries
 * and the field accessors. Writes are in leaf_write.c; the structural check, the cost
 * model and the full-leaf decision are in leaf_check.c. The readers assume a page that
 * passed alex_leaf_check; a build overwrites the whole page except its page number and LSN.
 */
#include "alex_int.h"

#include <math.h> /* isfinite only: libalexdb does not link libm */

_Static_assert(ALEX_LEAF_FIELD_BITMAP == ALEX_LEAF_FIELD_EXPECTED_COST + 4, "fields end at 88");
_Static_assert(ALEX_LEAF_FIELD_SLOT_COUNT == PAGER_HEADER_SIZE, "fields follow the header");
_Static_assert(ALEX_LEAF_SLOT_COUNT_MAX * 10u + 88u + 8u * 5u == 3328u, "FORMAT.md 3 keys_end");
_Static_assert(88u + 8u + 20u + 2u * (ALEX_INLINE_VALUE_SIZE_MAX + 2u) <= PAGER_PAGE_SIZE,
               "a leaf of the two largest inline values fits one page");

static inline uint64_t key_at(const uint8_t *keys, uint32_t slot)
{
    return common_load_u64le(keys + 8u * slot);
}

void alex_leaf_model_get(const uint8_t *page, alex_model *model_out)
{
    model_out->slope = common_load_f64le(page + ALEX_LEAF_FIELD_SLOPE);
    model_out->intercept = common_load_f64le(page + ALEX_LEAF_FIELD_INTERCEPT);
}

uint32_t alex_leaf_slot_count(const uint8_t *page)
{
    return common_load_u16le(page + ALEX_LEAF_FIELD_SLOT_COUNT);
}

uint32_t alex_leaf_key_count(const uint8_t *page)
{
    return common_load_u16le(page + ALEX_LEAF_FIELD_KEY_COUNT);
}

void alex_leaf_fences(const uint8_t *page, uint64_t *low_out, uint64_t *high_out)
{
    *low_out = common_load_u64le(page + ALEX_LEAF_FIELD_FENCE_LOW);
    *high_out = common_load_u64le(page + ALEX_LEAF_FIELD_FENCE_HIGH);
}

size_t alex_leaf_free_bytes(const uint8_t *page)
{
    uint32_t heap_offset = common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET);
    uint32_t keys_end = alex_leaf_keys_end(alex_leaf_slot_count(page));
    ALEXDB_ASSERT(keys_end <= heap_offset);
    return heap_offset - keys_end + common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_DEAD);
}

size_t alex_leaf_heap_used(const uint8_t *page)
{
    uint32_t heap_offset = common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET);
    uint32_t heap_dead = common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_DEAD);
    ALEXDB_ASSERT(heap_offset + heap_dead <= PAGER_PAGE_SIZE);
    return PAGER_PAGE_SIZE - heap_offset - heap_dead;
}

uint32_t alex_value_record_size(uint32_t value_size)
{
    ALEXDB_ASSERT(value_size <= ALEX_VALUE_SIZE_MAX);
    return value_size <= ALEX_INLINE_VALUE_SIZE_MAX ? 2u + value_size : ALEX_OVERFLOW_RECORD_SIZE;
}

/*
 * Exponential search from slot m for the first slot whose key is >= key, then a binary
 * search inside the last doubling. Returns slot_count when every key is smaller.
 */
static inline uint32_t search_from(const uint8_t *keys, uint32_t n, uint64_t key, uint32_t m,
                                   uint32_t *steps_out)
{
    uint32_t probes = 1;
    uint32_t lo;
    uint32_t hi; /* the answer is in [lo, hi]; keys[hi] >= key, or hi == n */
    uint32_t i = 1;
    if (key_at(keys, m) >= key) {
        while (i <= m) {
            probes++;
            if (key_at(keys, m - i) < key) break;
            i <<= 1;
        }
        hi = m - (i >> 1);
        lo = i <= m ? m - i + 1 : 0;
    } else {
        while (m + i < n) {
            probes++;
            if (key_at(keys, m + i) >= key) break;
            i <<= 1;
        }
        lo = m + (i >> 1) + 1;
        hi = m + i < n ? m + i : n;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        probes++;
        if (key_at(keys, mid) >= key) hi = mid;
        else lo = mid + 1;
    }
    *steps_out = probes;
    return lo;
}

uint32_t alex_leaf_lower_bound(const uint8_t *page, uint64_t key, uint32_t *steps_out)
{
    uint32_t n = alex_leaf_slot_count(page);
    ALEXDB_ASSERT(n >= 1 && n <= ALEX_LEAF_SLOT_COUNT_MAX);
    alex_model model;
    alex_leaf_model_get(page, &model);
    uint32_t steps;
    uint32_t p = search_from(page + alex_leaf_keys_offset(n), n, key,
                             alex_model_predict(&model, key, n), &steps);
    if (steps_out != NULL) *steps_out = steps;
    return p;
}

/* The first occupied slot at or after slot, or n. Bits >= n are 0 (FORMAT.md 3). */
static inline uint32_t occupied_from(const uint8_t *page, uint32_t n, uint32_t slot)
{
    if (slot >= n) return n;
    const uint8_t *bitmap = page + ALEX_LEAF_FIELD_BITMAP;
    uint32_t words = (n + 63u) / 64u;
    uint32_t w = slot / 64u;
    uint64_t bits = common_load_u64le(bitmap + 8u * w) & (~0ull << (slot % 64u));
    while (bits == 0) {
        if (++w >= words) return n;
        bits = common_load_u64le(bitmap + 8u * w);
    }
    uint32_t found = w * 64u + (uint32_t)__builtin_ctzll(bits);
    ALEXDB_ASSERT(found < n);
    return found;
}

void alex_leaf_value_decode(const uint8_t *page, uint32_t offset, alex_value *out)
{
    ALEXDB_ASSERT(offset >= ALEX_LEAF_FIELD_BITMAP && offset + 2u <= PAGER_PAGE_SIZE);
    uint16_t tag = common_load_u16le(page + offset);
    if (tag <= ALEX_INLINE_VALUE_SIZE_MAX) {
        out->size = tag;
        out->data = page + offset + 2u;
        out->overflow_page_no = 0;
        return;
    }
    ALEXDB_ASSERT(tag == ALEX_VALUE_TAG_OVERFLOW &&
                  offset + ALEX_OVERFLOW_RECORD_SIZE <= PAGER_PAGE_SIZE);
    out->size = common_load_u32le(page + offset + 2u);
    out->data = NULL;
    out->overflow_page_no = common_load_u64le(page + offset + 6u);
    ALEXDB_ASSERT(out->size > ALEX_INLINE_VALUE_SIZE_MAX);
}

static uint32_t value_offset_at(const uint8_t *page, uint32_t n, uint32_t slot)
{
    return common_load_u16le(page + alex_leaf_value_offsets_offset(n) + 2u * slot);
}

uint32_t alex_leaf_record_guess(const uint8_t *page, uint32_t slot, uint32_t *record_size_out)
{
    uint32_t n = alex_leaf_slot_count(page);
    uint32_t count = alex_leaf_key_count(page);
    ALEXDB_ASSERT(slot < n && count <= n);
    if (count == 0) {
        *record_size_out = 0;
        return PAGER_PAGE_SIZE;
    }
    const uint8_t *bitmap = page + ALEX_LEAF_FIELD_BITMAP;
    uint32_t rank = 0; /* occupied slots before slot */
    for (uint32_t w = 0; w < slot / 64u; w++) rank += common_popcount64(common_load_u64le(bitmap + 8u * w));
    if (slot % 64u != 0) {
        rank += common_popcount64(common_load_u64le(bitmap + 8u * (slot / 64u)) << (64u - slot % 64u));
    }
    uint32_t heap_offset = common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET);
    ALEXDB_ASSERT(heap_offset <= PAGER_PAGE_SIZE);
    uint32_t record = (PAGER_PAGE_SIZE - heap_offset) / count;
    *record_size_out = record;
    return heap_offset + rank * record;
}

/*
 * Asks for the lines of the record guessed for predicted slot m and of the one after it
 * (the key sits at m or just after it more often than before it), at most
 * ALEX_RECORD_PREFETCH_MAX bytes. A wrong guess costs only the fetch.
 */
static inline void record_prefetch(const uint8_t *page, uint32_t m)
{
    uint32_t record;
    uint32_t first = alex_leaf_record_guess(page, m, &record);
    if (first >= PAGER_PAGE_SIZE) return;
    uint32_t end = COMMON_MIN(first + COMMON_MIN(2u * record, ALEX_RECORD_PREFETCH_MAX), PAGER_PAGE_SIZE);
    for (uint32_t line = first & ~63u; line < end; line += 64u) __builtin_prefetch(page + line);
}

int alex_leaf_find(const uint8_t *page, uint64_t key, alex_value *value_out, uint32_t *steps_out)
{
    uint32_t n = common_load_u16le(page + ALEX_LEAF_FIELD_SLOT_COUNT);
    ALEXDB_ASSERT(n >= 1 && n <= ALEX_LEAF_SLOT_COUNT_MAX);
    const uint8_t *keys = page + alex_leaf_keys_offset(n);
    alex_model model;
    alex_leaf_model_get(page, &model);
    uint32_t m = alex_model_predict(&model, key, n);
    /*
     * The key's value offset sits in another line than its key: fetch both at once. The
     * record itself is fetched from where it is guessed to be, so that it does not wait
     * for the search and the offset (alex/README "How a lookup works").
     */
    __builtin_prefetch(page + alex_leaf_value_offsets_offset(n) + 2u * m);
    record_prefetch(page, m);
    uint32_t steps;
    uint32_t p = search_from(keys, n, key, m, &steps);
    if (steps_out != NULL) *steps_out = steps;
    if (p == n || key_at(keys, p) != key) return ALEXDB_NOTFOUND;
    uint32_t slot = occupied_from(page, n, p);
    if (slot == n) return ALEXDB_NOTFOUND; /* key is UINT64_MAX, copied by trailing gaps */
    ALEXDB_ASSERT(key_at(keys, slot) == key);
    uint32_t offset = value_offset_at(page, n, slot);
    /* A record of more than a few bytes spans two lines: ask for the second with the first. */
    __builtin_prefetch(page + COMMON_MIN(offset + 64u, PAGER_PAGE_SIZE - 1u));
    alex_leaf_value_decode(page, offset, value_out);
    return ALEXDB_OK;
}

uint32_t alex_leaf_seek(const uint8_t *page, uint64_t key)
{
    uint32_t p = alex_leaf_lower_bound(page, key, NULL);
    return occupied_from(page, alex_leaf_slot_count(page), p);
}

uint32_t alex_leaf_next(const uint8_t *page, uint32_t slot)
{
    uint32_t n = alex_leaf_slot_count(page);
    ALEXDB_ASSERT(slot < n);
    return occupied_from(page, n, slot + 1u);
}

void alex_leaf_entry_at(const uint8_t *page, uint32_t slot, alex_entry *out)
{
    uint32_t n = alex_leaf_slot_count(page);
    ALEXDB_ASSERT(slot < n && occupied_from(page, n, slot) == slot);
    out->key = key_at(page + alex_leaf_keys_offset(n), slot);
    alex_leaf_value_decode(page, value_offset_at(page, n, slot), &out->value);
}

uint32_t alex_leaf_entries(const uint8_t *page, alex_entry *out)
{
    uint32_t n = alex_leaf_slot_count(page);
    uint32_t count = 0;
    for (uint32_t slot = occupied_from(page, n, 0); slot < n;
         slot = occupied_from(page, n, slot + 1u)) {
        alex_leaf_entry_at(page, slot, &out[count]);
        count++;
    }
    ALEXDB_ASSERT(count == alex_leaf_key_count(page));
    return count;
}

/* ---- sizing and build ------------------------------------------------------------ */

/* The largest slot count whose arrays leave heap_size bytes of heap, or 0 if none. */
static uint32_t slot_count_fitting(size_t heap_size)
{
    if (heap_size + alex_leaf_keys_end(1) > PAGER_PAGE_SIZE) return 0;
    uint32_t n = (uint32_t)((PAGER_PAGE_SIZE - ALEX_LEAF_FIELD_BITMAP - heap_size) / 10u);
    n = COMMON_MIN(n, ALEX_LEAF_SLOT_COUNT_MAX);
    for (int round = 0; round < 8 && alex_leaf_keys_end(n) + heap_size > PAGER_PAGE_SIZE; round++) {
        n--; /* the bitmap's words take at most 5 * 8 bytes more than 10n: a few rounds */
    }
    ALEXDB_ASSERT(n >= 1 && alex_leaf_keys_end(n) + heap_size <= PAGER_PAGE_SIZE);
    return n;
}

uint32_t alex_leaf_slot_count_for(uint32_t count, size_t heap_size, double density)
{
    ALEXDB_ASSERT(density > 0.0 && density <= 1.0);
    if (count >= ALEX_LEAF_SLOT_COUNT_MAX || heap_size > PAGER_PAGE_SIZE) return 0;
    uint32_t n_max = slot_count_fitting(heap_size);
    if (n_max < count + 1u) return 0;
    /* ceil(count / density); the epsilon keeps 7 / 0.7 at 10 slots despite rounding. */
    double wanted = (double)count / density - 1e-9;
    if (wanted >= (double)n_max) return n_max;
    uint32_t n = (uint32_t)wanted;
    if ((double)n < wanted) n++;
    return COMMON_MAX(n, count + 1u);
}

bool alex_leaf_fits(uint32_t count, size_t heap_size, double density)
{
    return alex_leaf_slot_count_for(count, heap_size, density) != 0;
}

uint32_t alex_leaf_record_store(uint8_t *page, uint32_t offset, const alex_value *value)
{
    uint32_t size = alex_value_record_size(value->size);
    ALEXDB_ASSERT(offset >= ALEX_LEAF_FIELD_BITMAP && offset + size <= PAGER_PAGE_SIZE);
    if (value->size <= ALEX_INLINE_VALUE_SIZE_MAX) {
        common_store_u16le(page + offset, (uint16_t)value->size);
        if (value->size > 0) memcpy(page + offset + 2u, value->data, value->size);
    } else {
        common_store_u16le(page + offset, (uint16_t)ALEX_VALUE_TAG_OVERFLOW);
        common_store_u32le(page + offset + 2u, value->size);
        common_store_u64le(page + offset + 6u, value->overflow_page_no);
    }
    return size;
}

/* Checks the build's preconditions and sums the records' heap bytes. */
static size_t entries_heap_size(const uint8_t *page, const alex_entry *entries, uint32_t count,
                                uint64_t fence_low, uint64_t fence_high)
{
    size_t heap_size = 0;
    for (uint32_t i = 0; i < count; i++) {
        const alex_value *v = &entries[i].value;
        ALEXDB_ASSERT(entries[i].key >= fence_low && entries[i].key <= fence_high);
        ALEXDB_ASSERT(i == 0 || entries[i - 1].key < entries[i].key);
        ALEXDB_ASSERT(v->size > ALEX_INLINE_VALUE_SIZE_MAX || v->size == 0 || v->data != NULL);
        ALEXDB_ASSERT(v->data == NULL || v->data + v->size <= page ||
                      v->data >= page + PAGER_PAGE_SIZE);
        heap_size += alex_value_record_size(v->size);
    }
    return heap_size;
}

/* Header and fields of a fresh leaf; keeps the page number and LSN already in page. */
static void fields_store(uint8_t *page, uint32_t n, uint32_t count, uint32_t heap_offset,
                         const alex_model *model, uint64_t fence_low, uint64_t fence_high)
{
    uint8_t identity[PAGER_HEADER_SIZE - PAGER_HDR_PAGE_NO];
    memcpy(identity, page + PAGER_HDR_PAGE_NO, sizeof(identity));
    pager_page_init(page, PAGER_KIND_LEAF); /* zeroes everything else, stats included */
    memcpy(page + PAGER_HDR_PAGE_NO, identity, sizeof(identity));
    common_store_u16le(page + ALEX_LEAF_FIELD_SLOT_COUNT, (uint16_t)n);
    common_store_u16le(page + ALEX_LEAF_FIELD_KEY_COUNT, (uint16_t)count);
    common_store_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET, (uint16_t)heap_offset);
    common_store_f64le(page + ALEX_LEAF_FIELD_SLOPE, model->slope);
    common_store_f64le(page + ALEX_LEAF_FIELD_INTERCEPT, model->intercept);
    common_store_u64le(page + ALEX_LEAF_FIELD_FENCE_LOW, fence_low);
    common_store_u64le(page + ALEX_LEAF_FIELD_FENCE_HIGH, fence_high);
}

/*
 * ALEX's bulk placement: key i goes to max(predicted, previous + 1), but never past
 * n - (count - i), so that once the right end runs short the remaining keys are packed
 * against it. Records are written in key order from heap_offset on. Then every gap,
 * right to left, takes the key of the next occupied slot (UINT64_MAX if none).
 */
static void place_entries(uint8_t *page, uint32_t n, const alex_entry *entries, uint32_t count,
                          const alex_model *model, uint32_t heap_offset)
{
    uint8_t *keys = page + alex_leaf_keys_offset(n);
    uint8_t *offsets = page + alex_leaf_value_offsets_offset(n);
    uint32_t next_free = 0;
    uint32_t record = heap_offset;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t slot = COMMON_MAX(alex_model_predict(model, entries[i].key, n), next_free);
        slot = COMMON_MIN(slot, n - (count - i));
        ALEXDB_ASSERT(slot >= next_free && slot < n);
        common_store_u64le(keys + 8u * slot, entries[i].key);
        common_store_u16le(offsets + 2u * slot, (uint16_t)record);
        page[ALEX_LEAF_FIELD_BITMAP + slot / 8u] |= (uint8_t)(1u << (slot % 8u));
        record += alex_leaf_record_store(page, record, &entries[i].value);
        next_free = slot + 1u;
    }
    ALEXDB_ASSERT(record == PAGER_PAGE_SIZE);
    uint64_t next_key = UINT64_MAX;
    for (uint32_t slot = n; slot-- > 0;) {
        bool occupied = page[ALEX_LEAF_FIELD_BITMAP + slot / 8u] & (1u << (slot % 8u));
        if (occupied) next_key = common_load_u64le(keys + 8u * slot);
        else common_store_u64le(keys + 8u * slot, next_key);
    }
}

int alex_leaf_build(uint8_t *page, const alex_entry *entries, uint32_t count, uint64_t fence_low,
                    uint64_t fence_high, double density)
{
    ALEXDB_ASSERT(page != NULL && (entries != NULL || count == 0));
    ALEXDB_ASSERT(fence_low <= fence_high && density > 0.0 && density <= 1.0);
    size_t heap_size = entries_heap_size(page, entries, count, fence_low, fence_high);
    uint32_t n = alex_leaf_slot_count_for(count, heap_size, density);
    if (n == 0) return ALEXDB_FULL; /* before any byte of page changes */
    uint64_t keys[ALEX_LEAF_SLOT_COUNT_MAX] = {0}; /* zeroed: gcc -O3 cannot see count <= n */
    for (uint32_t i = 0; i < count; i++) keys[i] = entries[i].key;
    alex_model model;
    alex_model_fit(&model, keys, count, (double)n);
    uint32_t heap_offset = PAGER_PAGE_SIZE - (uint32_t)heap_size;
    fields_store(page, n, count, heap_offset, &model, fence_low, fence_high);
    place_entries(page, n, entries, count, &model, heap_offset);
    double cost = alex_leaf_cost_expected(page);
    ALEXDB_ASSERT(isfinite(cost) && cost >= 0.0);
    common_store_f32le(page + ALEX_LEAF_FIELD_EXPECTED_COST, (float)cost);
    return ALEXDB_OK;
}

void alex_leaf_init(uint8_t *page, uint64_t fence_low, uint64_t fence_high)
{
    int rc = alex_leaf_build(page, NULL, 0, fence_low, fence_high, ALEX_LEAF_DENSITY_BUILD);
    ALEXDB_ASSERT(rc == ALEXDB_OK);
    ALEXDB_ASSERT(alex_leaf_slot_count(page) == 1 && alex_leaf_key_count(page) == 0);
}

/* ---- copies for cursors ---------------------------------------------------------- */

/* Fills the item of the occupied slot whose heap was copied to bytes + base. */
static inline void item_store(const uint8_t *page, uint32_t n, uint32_t slot, uint32_t heap_offset,
                              uint32_t base, alex_leaf_item *item)
{
    uint32_t offset = value_offset_at(page, n, slot);
    ALEXDB_ASSERT(offset >= heap_offset && offset + 2u <= PAGER_PAGE_SIZE);
    uint16_t tag = common_load_u16le(page + offset);
    item->key = key_at(page + alex_leaf_keys_offset(n), slot);
    if (COMMON_LIKELY(tag <= ALEX_INLINE_VALUE_SIZE_MAX)) {
        ALEXDB_ASSERT(offset + 2u + tag <= PAGER_PAGE_SIZE);
        item->value_size = tag;
        item->value_offset = base + (offset - heap_offset) + 2u;
        return;
    }
    ALEXDB_ASSERT(tag == ALEX_VALUE_TAG_OVERFLOW &&
                  offset + ALEX_OVERFLOW_RECORD_SIZE <= PAGER_PAGE_SIZE);
    item->value_size = common_load_u32le(page + offset + 2u);
    item->value_offset = UINT32_MAX;
}

/*
 * Copies the heap in one move (a record-by-record copy costs more per entry than the
 * dead bytes and skipped records it saves), then walks the bitmap a word at a time from
 * slot: each entry's key, and where its value landed in bytes. With no entry from slot
 * on, copies nothing.
 */
uint32_t alex_leaf_copy_from(const uint8_t *page, uint32_t slot, alex_leaf_item *items,
                             uint8_t *bytes, uint32_t *bytes_size)
{
    uint32_t n = alex_leaf_slot_count(page);
    ALEXDB_ASSERT(n >= 1 && n <= ALEX_LEAF_SLOT_COUNT_MAX && slot <= n);
    uint32_t heap_offset = common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET);
    ALEXDB_ASSERT(heap_offset >= alex_leaf_keys_end(n) && heap_offset <= PAGER_PAGE_SIZE);
    slot = occupied_from(page, n, slot);
    if (slot == n) return 0; /* nothing to copy: not even the heap */
    uint32_t base = *bytes_size;
    memcpy(bytes + base, page + heap_offset, PAGER_PAGE_SIZE - heap_offset);
    const uint8_t *bitmap = page + ALEX_LEAF_FIELD_BITMAP;
    uint32_t count = 0;
    for (uint32_t w = slot / 64u; w < (n + 63u) / 64u; w++) {
        uint64_t bits = common_load_u64le(bitmap + 8u * w);
        if (w == slot / 64u) bits &= ~0ull << (slot % 64u);
        for (; bits != 0; bits &= bits - 1u) {
            uint32_t occupied = w * 64u + (uint32_t)__builtin_ctzll(bits);
            ALEXDB_ASSERT(occupied < n); /* bits >= n are 0 (FORMAT.md 3) */
            item_store(page, n, occupied, heap_offset, base, &items[count++]);
        }
    }
    ALEXDB_ASSERT(count <= alex_leaf_key_count(page));
    *bytes_size = base + PAGER_PAGE_SIZE - heap_offset;
    return count;
}

/*
 * Asks for the lines alex_leaf_copy_from reads past the header (which the pager asks for
 * when it pins): the bitmap and the arrays, and the heap. Not the free middle.
 */
void alex_leaf_prefetch(const uint8_t *page)
{
    uint32_t n = COMMON_MIN(alex_leaf_slot_count(page), ALEX_LEAF_SLOT_COUNT_MAX);
    uint32_t heap_offset = common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET);
    for (uint32_t at = 128u; at < alex_leaf_keys_end(n); at += 64u) __builtin_prefetch(page + at);
    for (uint32_t at = heap_offset & ~63u; at < PAGER_PAGE_SIZE; at += 64u) {
        __builtin_prefetch(page + at);
    }
}
