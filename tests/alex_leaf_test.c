/* alex_leaf_test.c: building and reading one leaf page (alex/leaf.c, docs/FORMAT.md 3). */
#include "testutil.h"

#include "alex_int.h"

#include <stdio.h>

#define PAGE_NO 7u

static uint8_t value_bytes[ALEX_LEAF_SLOT_COUNT_MAX][ALEX_INLINE_VALUE_SIZE_MAX];

static int u64_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * 1 to max random keys (64-bit, shifted right by shift), sorted, duplicates dropped;
 * returns how many are left.
 */
static uint32_t keys_random(common_rng *rng, uint64_t *keys, uint32_t max, unsigned shift)
{
    uint32_t count = 1 + (uint32_t)common_rng_below(rng, max);
    for (uint32_t i = 0; i < count; i++) keys[i] = common_rng_next(rng) >> shift;
    qsort(keys, count, sizeof(keys[0]), u64_compare);
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (distinct == 0 || keys[distinct - 1] != keys[i]) keys[distinct++] = keys[i];
    }
    return distinct;
}

/* Entries over sorted distinct keys; value i has value_size bytes derived from its key. */
static void entries_make(alex_entry *entries, const uint64_t *keys, uint32_t count,
                         uint32_t value_size)
{
    for (uint32_t i = 0; i < count; i++) {
        entries[i].key = keys[i];
        entries[i].value.size = value_size;
        entries[i].value.overflow_page_no = 0;
        entries[i].value.data = NULL;
        if (value_size <= ALEX_INLINE_VALUE_SIZE_MAX) {
            for (uint32_t b = 0; b < value_size; b++)
                value_bytes[i][b] = (uint8_t)(keys[i] * 31 + b);
            entries[i].value.data = value_bytes[i];
        } else {
            entries[i].value.overflow_page_no = keys[i] ^ 0x5555;
        }
    }
}

static void value_assert_equal(const alex_value *got, const alex_value *want)
{
    assert_int_equal(got->size, want->size);
    if (want->size > ALEX_INLINE_VALUE_SIZE_MAX) {
        assert_null(got->data);
        assert_int_equal(got->overflow_page_no, want->overflow_page_no);
    } else if (want->size > 0) {
        assert_memory_equal(got->data, want->data, want->size);
    }
}

static void page_seal_check(uint8_t *page)
{
    pager_page_seal(page, PAGE_NO, 1);
    assert_int_equal(pager_page_check("leaf", page, PAGE_NO), ALEXDB_OK);
    assert_int_equal(alex_leaf_check("leaf", page, PAGE_NO), ALEXDB_OK);
}

/*
 * Builds a leaf of the entries and proves every read agrees with them: find (and absent
 * neighbours), seek, next, entry_at, entries; the page passes alex_leaf_check.
 */
static void build_and_verify(uint8_t *page, const alex_entry *entries, uint32_t count, uint64_t low,
                             uint64_t high)
{
    assert_int_equal(alex_leaf_build(page, entries, count, low, high, ALEX_LEAF_DENSITY_BUILD),
                     ALEXDB_OK);
    page_seal_check(page);
    assert_int_equal(alex_leaf_key_count(page), count);
    uint32_t n = alex_leaf_slot_count(page);
    assert_true(n >= count + 1 && n <= ALEX_LEAF_SLOT_COUNT_MAX);
    for (uint32_t i = 0; i < count; i++) {
        alex_value v;
        uint32_t steps = 0;
        assert_int_equal(alex_leaf_find(page, entries[i].key, &v, &steps), ALEXDB_OK);
        assert_true(steps >= 1 && steps <= 3 * 9 + 2);
        value_assert_equal(&v, &entries[i].value);
        uint64_t k = entries[i].key;
        if (k > low && (i == 0 || entries[i - 1].key != k - 1)) {
            assert_int_equal(alex_leaf_find(page, k - 1, &v, NULL), ALEXDB_NOTFOUND);
            uint32_t slot = alex_leaf_seek(page, k - 1);
            alex_entry e;
            alex_leaf_entry_at(page, slot, &e);
            assert_int_equal(e.key, k);
        }
    }
    alex_entry out[ALEX_LEAF_SLOT_COUNT_MAX];
    assert_int_equal(alex_leaf_entries(page, out), count);
    uint32_t slot = alex_leaf_seek(page, low);
    for (uint32_t i = 0; i < count; i++) {
        assert_int_equal(out[i].key, entries[i].key);
        value_assert_equal(&out[i].value, &entries[i].value);
        assert_true(slot < n);
        alex_entry e;
        alex_leaf_entry_at(page, slot, &e);
        assert_int_equal(e.key, entries[i].key);
        slot = alex_leaf_next(page, slot);
    }
    assert_int_equal(slot, n);
}

/* Sequential keys round-trip through build and every read. */
static void test_build_find_sequential(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t keys[200];
    alex_entry entries[200];
    for (uint32_t i = 0; i < 200; i++) keys[i] = 1000 + i;
    entries_make(entries, keys, 200, 4);
    build_and_verify(page, entries, 200, 0, UINT64_MAX);
    alex_value v;
    assert_int_equal(alex_leaf_find(page, 999, &v, NULL), ALEXDB_NOTFOUND);
    assert_int_equal(alex_leaf_find(page, 1200, &v, NULL), ALEXDB_NOTFOUND);
    assert_int_equal(alex_leaf_seek(page, 1200), alex_leaf_slot_count(page));
    free(page);
}

/*
 * A leaf built of equal-size values: the guessed record of every entry's slot, and of
 * every gap (the next entry's), is exactly where the record is; past the last entry it
 * is the page's end.
 */
static void record_guess_check(const uint8_t *page, const uint64_t *keys, uint32_t count,
                               uint32_t value_size)
{
    uint32_t n = alex_leaf_slot_count(page);
    uint32_t slot = 0;
    for (uint32_t i = 0; i < count; i++) {
        alex_value v;
        assert_int_equal(alex_leaf_find(page, keys[i], &v, NULL), ALEXDB_OK);
        uint32_t offset = (uint32_t)(v.data - page) - 2u;
        uint32_t occupied = alex_leaf_seek(page, keys[i]);
        for (; slot <= occupied; slot++) { /* the gaps before the entry, then its slot */
            uint32_t record = 0;
            assert_int_equal(alex_leaf_record_guess(page, slot, &record), offset);
            assert_int_equal(record, alex_value_record_size(value_size));
        }
    }
    for (; slot < n; slot++) { /* trailing gaps: no entry at or after them */
        uint32_t record = 0;
        assert_int_equal(alex_leaf_record_guess(page, slot, &record), PAGER_PAGE_SIZE);
    }
}

/*
 * Uniformly random keys (64-bit, and narrower so that they crowd) with values of 0 to
 * 500 bytes round-trip, with a seed that replays, and their records are where
 * alex_leaf_record_guess says.
 */
static void test_build_find_uniform(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t keys[180];
    alex_entry entries[180];
    const uint32_t sizes[] = { 8, 0, 100, 500 };
    for (int round = 0; round < 60; round++) {
        uint32_t value_size = sizes[round % 4];
        uint32_t distinct = keys_random(&rng, keys, 180, (unsigned)(round % 3 * 20));
        while (!alex_leaf_fits(distinct, (size_t)distinct * alex_value_record_size(value_size),
                               ALEX_LEAF_DENSITY_BUILD)) {
            distinct--;
        }
        entries_make(entries, keys, distinct, value_size);
        build_and_verify(page, entries, distinct, 0, UINT64_MAX);
        record_guess_check(page, keys, distinct, value_size);
    }
    free(page);
}

/* Tightly clustered keys above 2^53 (doubles cannot tell them apart) are still found exactly. */
static void test_build_find_clustered(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 1);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t keys[250];
    alex_entry entries[250];
    for (int round = 0; round < 30; round++) {
        uint64_t base = round % 2 ? (1ull << 60) : UINT64_MAX - 4096;
        uint32_t count = 0;
        for (uint64_t k = base; count < 250 && k <= base + 4000;
             k += 1 + common_rng_below(&rng, 20)) {
            keys[count++] = k;
        }
        entries_make(entries, keys, count, 1);
        build_and_verify(page, entries, count, base, base + 4095);
    }
    free(page);
}

/* The extreme keys 0, 1, 2^64 - 2 and 2^64 - 1 are found; their neighbours are not. */
static void test_build_find_edge_keys(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t keys[4] = { 0, 1, UINT64_MAX - 1, UINT64_MAX };
    alex_entry entries[4];
    entries_make(entries, keys, 4, 3);
    build_and_verify(page, entries, 4, 0, UINT64_MAX);
    alex_value v;
    assert_int_equal(alex_leaf_find(page, 2, &v, NULL), ALEXDB_NOTFOUND);
    assert_int_equal(alex_leaf_find(page, UINT64_MAX - 2, &v, NULL), ALEXDB_NOTFOUND);
    alex_entry e;
    alex_leaf_entry_at(page, alex_leaf_seek(page, 2), &e);
    assert_int_equal(e.key, UINT64_MAX - 1);
    /* Only UINT64_MAX itself: the gaps' copies equal it. */
    build_and_verify(page, entries + 3, 1, 0, UINT64_MAX);
    assert_int_equal(alex_leaf_find(page, UINT64_MAX - 1, &v, NULL), ALEXDB_NOTFOUND);
    free(page);
}

/* An empty leaf (init, or a build of nothing) finds nothing, seeks to the end, and is valid. */
static void test_empty_leaf(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    alex_leaf_init(page, 10, 20);
    page_seal_check(page);
    assert_int_equal(alex_leaf_slot_count(page), 1);
    assert_int_equal(alex_leaf_key_count(page), 0);
    uint64_t low, high;
    alex_leaf_fences(page, &low, &high);
    assert_true(low == 10 && high == 20);
    alex_value v;
    assert_int_equal(alex_leaf_find(page, 15, &v, NULL), ALEXDB_NOTFOUND);
    assert_int_equal(alex_leaf_find(page, UINT64_MAX, &v, NULL), ALEXDB_NOTFOUND);
    assert_int_equal(alex_leaf_find(page, 0, &v, NULL), ALEXDB_NOTFOUND);
    assert_int_equal(alex_leaf_seek(page, 0), 1);
    alex_entry out[ALEX_LEAF_SLOT_COUNT_MAX];
    assert_int_equal(alex_leaf_entries(page, out), 0);
    assert_int_equal(alex_leaf_heap_used(page), 0);
    assert_int_equal(alex_leaf_free_bytes(page), PAGER_PAGE_SIZE - alex_leaf_keys_end(1));
    uint8_t *built = tu_aligned(PAGER_PAGE_SIZE);
    assert_int_equal(alex_leaf_build(built, NULL, 0, 10, 20, 0.5), ALEXDB_OK);
    pager_page_seal(built, PAGE_NO, 1);
    assert_memory_equal(built, page, PAGER_PAGE_SIZE);
    free(built);
    free(page);
}

/* Values of 0, 1 and 1024 bytes are stored inline and overflow references keep size and page. */
static void test_value_sizes(void **state)
{
    (void)state;
    assert_int_equal(alex_value_record_size(0), 2);
    assert_int_equal(alex_value_record_size(1024), 1026);
    assert_int_equal(alex_value_record_size(1025), 14);
    assert_int_equal(alex_value_record_size(ALEX_VALUE_SIZE_MAX), 14);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t keys[6] = { 5, 6, 7, 8, 9, 10 };
    const uint32_t sizes[6] = { 0, 1, 1024, 1025, ALEX_VALUE_SIZE_MAX, 1024 };
    alex_entry entries[6];
    for (int i = 0; i < 6; i++) {
        entries_make(entries + i, keys + i, 1, sizes[i]);
        if (sizes[i] <= ALEX_INLINE_VALUE_SIZE_MAX) {
            memcpy(value_bytes[10 + i], value_bytes[0], sizes[i]);
            entries[i].value.data = value_bytes[10 + i];
        }
    }
    build_and_verify(page, entries, 6, 0, 100);
    assert_int_equal(alex_leaf_heap_used(page), 2 + 3 + 1026 + 14 + 14 + 1026);
    free(page);
}

/* fits() agrees with build for every (count, value size) tried; FULL leaves the page alone. */
static void test_fits_matches_build(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *before = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t keys[ALEX_LEAF_SLOT_COUNT_MAX + 1];
    alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX + 1];
    for (uint32_t i = 0; i <= ALEX_LEAF_SLOT_COUNT_MAX; i++) keys[i] = i * 3;
    const uint32_t sizes[] = { 0, 1, 8, 30, 100, 500, 1024, 5000 };
    for (size_t s = 0; s < COMMON_ARRAY_COUNT(sizes); s++) {
        for (uint32_t count = 0; count <= ALEX_LEAF_SLOT_COUNT_MAX; count++) {
            entries_make(entries, keys, count, sizes[s]);
            size_t heap = (size_t)count * alex_value_record_size(sizes[s]);
            bool fits = alex_leaf_fits(count, heap, ALEX_LEAF_DENSITY_BUILD);
            alex_leaf_init(page, 0, UINT64_MAX);
            memcpy(before, page, PAGER_PAGE_SIZE);
            int rc = alex_leaf_build(page, entries, count, 0, UINT64_MAX, ALEX_LEAF_DENSITY_BUILD);
            assert_int_equal(rc, fits ? ALEXDB_OK : ALEXDB_FULL);
            if (!fits) assert_memory_equal(page, before, PAGER_PAGE_SIZE);
            else page_seal_check(page);
        }
    }
    assert_true(alex_leaf_fits(ALEX_LEAF_SLOT_COUNT_MAX - 1, 0, 1.0));
    assert_false(alex_leaf_fits(ALEX_LEAF_SLOT_COUNT_MAX, 0, 1.0));
    assert_false(alex_leaf_fits(1, PAGER_PAGE_SIZE, 1.0));
    free(before);
    free(page);
}

/* The build sizes the gapped array from the density, keeps page_no and LSN, zeroes the stats. */
static void test_build_layout(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    pager_page_init(page, PAGER_KIND_RAW);
    pager_page_seal(page, 42, 99);
    uint64_t keys[70];
    alex_entry entries[70];
    for (uint32_t i = 0; i < 70; i++) keys[i] = (uint64_t)i << 40;
    entries_make(entries, keys, 70, 8);
    assert_int_equal(alex_leaf_build(page, entries, 70, 0, UINT64_MAX, 0.7), ALEXDB_OK);
    assert_int_equal(alex_leaf_slot_count(page), 100);
    assert_int_equal(common_load_u64le(page + PAGER_HDR_PAGE_NO), 42);
    assert_int_equal(pager_page_lsn(page), 99);
    assert_int_equal(common_load_u32le(page + ALEX_LEAF_FIELD_INSERT_COUNT), 0);
    assert_int_equal(common_load_u32le(page + ALEX_LEAF_FIELD_SHIFT_COUNT), 0);
    assert_int_equal(common_load_u32le(page + ALEX_LEAF_FIELD_DELETE_COUNT), 0);
    assert_int_equal(common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET), PAGER_PAGE_SIZE - 700);
    /* Evenly spaced keys land on their predicted slots: the probe there, one through the
     * gap before it (a copy of the same key) and one at the previous key. */
    for (uint32_t i = 0; i < 70; i++) {
        alex_value v;
        uint32_t steps;
        assert_int_equal(alex_leaf_find(page, keys[i], &v, &steps), ALEXDB_OK);
        assert_true(steps <= 3);
    }
    assert_int_equal(alex_leaf_build(page, entries, 70, 0, UINT64_MAX, 1.0), ALEXDB_OK);
    assert_int_equal(alex_leaf_slot_count(page), 71);
    free(page);
}

/* When predictions crowd the right end, keys are packed against it and all still fit. */
static void test_build_packs_right_end(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t keys[100];
    alex_entry entries[100];
    for (uint32_t i = 0; i < 99; i++) keys[i] = i;
    keys[99] = UINT64_MAX; /* one outlier flattens the model: most keys predict the same slot */
    entries_make(entries, keys, 100, 2);
    build_and_verify(page, entries, 100, 0, UINT64_MAX);
    free(page);
}

/* Mixed sizes: the guess stays inside the heap or at its end. An empty leaf has none. */
static void test_record_guess_mixed_empty(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t keys[6] = { 5, 6, 7, 8, 9, 10 };
    const uint32_t sizes[6] = { 0, 1, 1024, 1025, 300, 7 };
    alex_entry entries[6];
    for (int i = 0; i < 6; i++) entries_make(entries + i, keys + i, 1, sizes[i]);
    build_and_verify(page, entries, 6, 0, 100);
    uint32_t heap_offset = PAGER_PAGE_SIZE - (uint32_t)alex_leaf_heap_used(page);
    for (uint32_t slot = 0; slot < alex_leaf_slot_count(page); slot++) {
        uint32_t record = 0;
        uint32_t guess = alex_leaf_record_guess(page, slot, &record);
        assert_true(guess >= heap_offset && guess <= PAGER_PAGE_SIZE);
        assert_int_equal(record, (PAGER_PAGE_SIZE - heap_offset) / 6u);
    }
    alex_leaf_init(page, 10, 20);
    uint32_t record = 1;
    assert_int_equal(alex_leaf_record_guess(page, 0, &record), PAGER_PAGE_SIZE);
    assert_int_equal(record, 0);
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_find_sequential),
        cmocka_unit_test(test_build_find_uniform),
        cmocka_unit_test(test_build_find_clustered),
        cmocka_unit_test(test_build_find_edge_keys),
        cmocka_unit_test(test_empty_leaf),
        cmocka_unit_test(test_value_sizes),
        cmocka_unit_test(test_fits_matches_build),
        cmocka_unit_test(test_build_layout),
        cmocka_unit_test(test_build_packs_right_end),
        cmocka_unit_test(test_record_guess_mixed_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
