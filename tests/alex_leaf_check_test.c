/* alex_leaf_check_test.c: the leaf check, cost model and full-leaf decision (alex/leaf_check.c). */
#include "testutil.h"

#include "alex_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#define PAGE_NO 9u
#define PAGE_BASE ((uint64_t)PAGE_NO * PAGER_PAGE_SIZE)

static uint8_t value_bytes[ALEX_LEAF_SLOT_COUNT_MAX][64];

/* Where the good page keeps things, read from its own bytes. */
typedef struct layout {
    uint32_t n;
    uint32_t keys;    /* offset of the key array */
    uint32_t offsets; /* offset of the value offsets */
    uint32_t heap_offset;
    uint32_t occupied[ALEX_LEAF_SLOT_COUNT_MAX];
    uint32_t occupied_count;
    uint32_t gap; /* a gap with an occupied slot to its right */
} layout;

static bool bit(const uint8_t *page, uint32_t slot)
{
    return (page[ALEX_LEAF_FIELD_BITMAP + slot / 8] >> (slot % 8)) & 1;
}

static void layout_get(const uint8_t *page, layout *l)
{
    memset(l, 0, sizeof(*l));
    l->n = alex_leaf_slot_count(page);
    l->keys = alex_leaf_keys_offset(l->n);
    l->offsets = alex_leaf_value_offsets_offset(l->n);
    l->heap_offset = common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET);
    l->gap = UINT32_MAX;
    for (uint32_t s = 0; s < l->n; s++) {
        if (bit(page, s)) l->occupied[l->occupied_count++] = s;
        else if (l->occupied_count == 0) l->gap = s;
    }
    if (l->gap == UINT32_MAX) {
        for (uint32_t s = l->n - 1; s > 0; s--) {
            if (!bit(page, s - 1) && bit(page, s)) l->gap = s - 1;
        }
    }
    assert_true(l->gap < l->n && l->occupied_count >= 3);
}

/* A valid leaf with gaps, inline and overflow values and dead heap bytes; N % 64 != 0. */
static void good_page(uint8_t *page)
{
    alex_entry entries[40];
    for (uint32_t i = 0; i < 40; i++) {
        entries[i].key = 2000 + (uint64_t)i * 1000;
        entries[i].value.size = i % 7 == 3 ? 5000 + i : i % 5 * 9;
        entries[i].value.data = value_bytes[i];
        entries[i].value.overflow_page_no = 0;
        if (entries[i].value.size > ALEX_INLINE_VALUE_SIZE_MAX) {
            entries[i].value.data = NULL;
            entries[i].value.overflow_page_no = 100 + i;
        }
        memset(value_bytes[i], (int)i, sizeof(value_bytes[i]));
    }
    assert_int_equal(alex_leaf_build(page, entries, 40, 1000, 1000000, ALEX_LEAF_DENSITY_BUILD),
                     ALEXDB_OK);
    alex_value old;
    assert_int_equal(alex_leaf_delete(page, 2000 + 5 * 1000, &old),
                     ALEXDB_OK); /* a middle record */
    alex_value small = { .size = 1, .data = value_bytes[0], .overflow_page_no = 0 };
    bool replaced;
    assert_int_equal(alex_leaf_upsert(page, 2000 + 9 * 1000, &small, &old, &replaced, NULL),
                     ALEXDB_OK);
    assert_true(common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_DEAD) > 0);
    assert_true(alex_leaf_slot_count(page) % 64 != 0);
    pager_page_seal(page, PAGE_NO, 77);
    assert_int_equal(alex_leaf_check("db.alex", page, PAGE_NO), ALEXDB_OK);
}

/* Re-seals so only the structure is wrong; expects CORRUPT naming path, offset and the rule. */
static void corrupt_expect(uint8_t *page, uint32_t field_offset, const char *phrase)
{
    pager_page_seal(page, PAGE_NO, 77);
    assert_int_equal(pager_page_check("db.alex", page, PAGE_NO), ALEXDB_OK);
    assert_int_equal(alex_leaf_check("db.alex", page, PAGE_NO), ALEXDB_CORRUPT);
    char want[64];
    snprintf(want, sizeof(want),
             "db.alex offset %" PRIu64 ": leaf page %u: ", PAGE_BASE + field_offset, PAGE_NO);
    if (strstr(alexdb_errmsg(), want) == NULL || strstr(alexdb_errmsg(), phrase) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", alexdb_errmsg(), want, phrase);
    }
}

/* Breaks one rule in a copy of good (page), then expects the check to name it. */
#define BREAK(stmt, offset, phrase)                                                                \
    do {                                                                                           \
        memcpy(page, good, PAGER_PAGE_SIZE);                                                       \
        stmt;                                                                                      \
        corrupt_expect(page, offset, phrase);                                                      \
    } while (0)

/* Each rule on the fixed fields is caught, at that field's offset. */
static void test_rejects_bad_fields(void **state)
{
    (void)state;
    uint8_t *good = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    good_page(good);
    layout l;
    layout_get(good, &l);
    uint16_t dead = common_load_u16le(good + ALEX_LEAF_FIELD_HEAP_DEAD);
    BREAK(page[PAGER_HDR_KIND] = PAGER_KIND_RAW, PAGER_HDR_KIND, "kind 2 is not a leaf");
    BREAK(common_store_u16le(page + PAGER_HDR_FLAGS, 1), PAGER_HDR_FLAGS, "flags 1");
    BREAK(common_store_u16le(page + 32, 0), 32, "slot_count 0 outside");
    BREAK(common_store_u16le(page + 32, 321), 32, "slot_count 321 outside");
    BREAK(common_store_u16le(page + 34, (uint16_t)(l.n + 1)), 34, "above slot_count");
    BREAK(common_store_u16le(page + 34, (uint16_t)(l.occupied_count - 1)), 34, "bits set");
    BREAK(common_store_u16le(page + 36, (uint16_t)(alex_leaf_keys_end(l.n) - 1)), 36,
          "heap_offset");
    BREAK(common_store_u16le(page + 36, 4097), 36, "heap_offset 4097");
    BREAK(common_store_u16le(page + 38, (uint16_t)(PAGER_PAGE_SIZE - l.heap_offset + 1)), 38,
          "above the heap");
    BREAK(common_store_u16le(page + 38, (uint16_t)(dead + 1)), 38, "heap bytes are dead");
    BREAK(common_store_f64le(page + 40, NAN), 40, "slope");
    BREAK(common_store_f64le(page + 40, -1.0), 40, "slope");
    BREAK(common_store_f64le(page + 48, INFINITY), 48, "intercept");
    BREAK(common_store_u64le(page + 64, 999), 64, "fence_high 999 below fence_low 1000");
    BREAK(common_store_f32le(page + 84, NAN), 84, "expected_cost");
    BREAK(common_store_f32le(page + 84, -0.5f), 84, "expected_cost");
    BREAK(page[88 + l.n / 8] |= (uint8_t)(1u << (l.n % 8)), 88 + 8 * (l.n / 64),
          "at or above slot_count");
    BREAK(page[88 + l.gap / 8] |= (uint8_t)(1u << (l.gap % 8)), 34, "bits set");
    free(page);
    free(good);
}

/* Each rule on the key array, value offsets and heap records is caught where it breaks. */
static void test_rejects_bad_arrays(void **state)
{
    (void)state;
    uint8_t *good = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    good_page(good);
    layout l;
    layout_get(good, &l);
    uint32_t s0 = l.occupied[0], s1 = l.occupied[1], s_last = l.occupied[l.occupied_count - 1];
    uint64_t key1 = common_load_u64le(good + l.keys + 8 * s1);
    uint32_t record0 = common_load_u16le(good + l.offsets + 2 * s0);
    uint32_t overflow_slot = UINT32_MAX, end_slot = UINT32_MAX;
    for (uint32_t i = 0; i < l.occupied_count; i++) {
        uint32_t s = l.occupied[i], at = common_load_u16le(good + l.offsets + 2 * s);
        uint16_t tag = common_load_u16le(good + at);
        if (tag == ALEX_VALUE_TAG_OVERFLOW) overflow_slot = s;
        if (tag <= 1000 && at + alex_leaf_tag_record_size(tag) == PAGER_PAGE_SIZE) end_slot = s;
    }
    assert_true(overflow_slot != UINT32_MAX && end_slot != UINT32_MAX);
    uint32_t overflow_at = common_load_u16le(good + l.offsets + 2 * overflow_slot);
    uint32_t end_at = common_load_u16le(good + l.offsets + 2 * end_slot);
    BREAK(common_store_u64le(page + l.keys + 8 * s0, key1), l.keys + 8 * s0, "not below the next");
    BREAK(common_store_u64le(page + l.keys + 8 * s0, 999), l.keys + 8 * s0, "outside the fences");
    BREAK(common_store_u64le(page + l.keys + 8 * s_last, 1000001), l.keys + 8 * s_last,
          "outside the fences");
    BREAK(common_store_u64le(page + l.keys + 8 * l.gap,
                             common_load_u64le(good + l.keys + 8 * l.gap) + 1),
          l.keys + 8 * l.gap, "gap slot");
    BREAK(common_store_u64le(page + l.keys + 8 * (l.n - 1), 5), l.keys + 8 * (l.n - 1),
          "slot"); /* last */
    BREAK(common_store_u16le(page + l.offsets + 2 * l.gap, (uint16_t)l.heap_offset),
          l.offsets + 2 * l.gap, "has value offset");
    BREAK(common_store_u16le(page + l.offsets + 2 * s0, (uint16_t)(l.heap_offset - 1)),
          l.offsets + 2 * s0, "outside the heap");
    BREAK(common_store_u16le(page + l.offsets + 2 * s0, 4095), l.offsets + 2 * s0,
          "outside the heap");
    BREAK(common_store_u16le(page + record0, 1025), record0, "invalid tag 0x401");
    BREAK(common_store_u16le(page + record0, 0x8001), record0, "invalid tag");
    BREAK(common_store_u16le(page + end_at, (uint16_t)(common_load_u16le(good + end_at) + 8)),
          end_at, "runs past the page");
    BREAK(common_store_u32le(page + overflow_at + 2, 1024), overflow_at + 2,
          "overflow reference of 1024 bytes");
    BREAK(common_store_u16le(page + l.offsets + 2 * s1, (uint16_t)record0), record0, "overlaps");
#undef BREAK
    free(page);
    free(good);
}

/* Fills page with random bytes, sometimes dressed as a leaf with plausible fields. */
static void garbage(common_rng *rng, uint8_t *page, bool dressed)
{
    for (uint32_t i = 0; i < PAGER_PAGE_SIZE; i += 8)
        common_store_u64le(page + i, common_rng_next(rng));
    if (!dressed) return;
    page[PAGER_HDR_KIND] = PAGER_KIND_LEAF;
    common_store_u16le(page + PAGER_HDR_FLAGS, 0);
    uint32_t n = 1 + (uint32_t)common_rng_below(rng, ALEX_LEAF_SLOT_COUNT_MAX);
    common_store_u16le(page + 32, (uint16_t)n);
    common_store_u16le(page + 34, (uint16_t)common_rng_below(rng, n + 1));
    uint32_t heap_offset =
        alex_leaf_keys_end(n) +
        (uint32_t)common_rng_below(rng, PAGER_PAGE_SIZE - alex_leaf_keys_end(n) + 1);
    common_store_u16le(page + 36, (uint16_t)heap_offset);
    common_store_u16le(page + 38,
                       (uint16_t)common_rng_below(rng, PAGER_PAGE_SIZE - heap_offset + 1));
    common_store_f64le(page + 40, (double)common_rng_below(rng, 1000) * 1e-15);
    common_store_f64le(page + 48, (double)common_rng_below(rng, 1000) - 500.0);
    common_store_u64le(page + 56, 0);
    common_store_u64le(page + 64, UINT64_MAX);
    common_store_f32le(page + 84, 1.0f);
}

/* Makes garbage's bitmap, key count, keys and gap copies consistent, so the heap rules run. */
static void garbage_deep(common_rng *rng, uint8_t *page)
{
    uint32_t n = common_load_u16le(page + 32);
    uint32_t heap_offset = common_load_u16le(page + 36);
    uint32_t population = 0;
    for (uint32_t s = 0; s < ALEX_LEAF_SLOT_COUNT_MAX; s++) {
        if (s >= n) page[88 + s / 8] &= (uint8_t) ~(1u << (s % 8));
        else population += bit(page, s);
        if (s + 1 >= n && s % 64 == 63) break;
    }
    common_store_u16le(page + 34, (uint16_t)population);
    uint64_t key = common_rng_below(rng, 1000);
    for (uint32_t s = 0; s < n; s++) {
        if (!bit(page, s)) continue;
        key += 1 + common_rng_below(rng, 1000);
        common_store_u64le(page + alex_leaf_keys_offset(n) + 8 * s, key);
        uint32_t heap = PAGER_PAGE_SIZE - heap_offset;
        uint32_t offset = heap > 0 && common_rng_below(rng, 4)
                              ? heap_offset + (uint32_t)common_rng_below(rng, heap)
                              : (uint32_t)common_rng_below(rng, 65536);
        common_store_u16le(page + alex_leaf_value_offsets_offset(n) + 2 * s, (uint16_t)offset);
    }
    uint64_t next = UINT64_MAX;
    for (uint32_t s = n; s-- > 0;) {
        uint8_t *at = page + alex_leaf_keys_offset(n) + 8 * s;
        if (bit(page, s)) {
            next = common_load_u64le(at);
            continue;
        }
        common_store_u64le(at, next);
        if (common_rng_below(rng, 50))
            common_store_u16le(page + alex_leaf_value_offsets_offset(n) + 2 * s, 0);
    }
}

/* A page the check accepted must also be safe for every other leaf function. */
static void exercise(uint8_t *page)
{
    alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX];
    uint32_t count = alex_leaf_entries(page, entries);
    for (uint32_t i = 0; i < count; i++) {
        alex_value v;
        assert_int_equal(alex_leaf_find(page, entries[i].key, &v, NULL), ALEXDB_OK);
    }
    alex_leaf_cost cost;
    alex_leaf_cost_get(page, &cost);
    (void)alex_leaf_full_action(page, 30);
    if (count > 0) {
        alex_value old;
        assert_int_equal(alex_leaf_delete(page, entries[0].key, &old), ALEXDB_OK);
        assert_int_equal(alex_leaf_check("g", page, PAGE_NO), ALEXDB_OK);
    }
}

/*
 * 10 K pages of random bytes, random bytes dressed as a leaf (plausible fields; or also
 * a consistent bitmap and keys, so random value offsets and tags reach the heap rules),
 * and good leaves with a few flipped bits: the check returns OK or CORRUPT and never
 * crashes or reads out of bounds (ASan), and whatever it accepts the other functions handle.
 */
static void test_survives_garbage_and_bit_flips(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    uint8_t *good = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    good_page(good);
    uint32_t accepted = 0;
    for (uint32_t round = 0; round < 10000; round++) {
        uint32_t kind = round % 4;
        if (kind < 3) {
            garbage(&rng, page, kind >= 1);
            if (kind == 2) garbage_deep(&rng, page);
        } else {
            memcpy(page, good, PAGER_PAGE_SIZE);
            uint32_t flips = 1 + (uint32_t)common_rng_below(&rng, 8);
            for (uint32_t f = 0; f < flips; f++) {
                uint32_t at = PAGER_HEADER_SIZE +
                              (uint32_t)common_rng_below(&rng, PAGER_PAGE_SIZE - PAGER_HEADER_SIZE);
                page[at] ^= (uint8_t)(1u << common_rng_below(&rng, 8));
            }
        }
        int rc = alex_leaf_check("g", page, PAGE_NO);
        assert_true(rc == ALEXDB_OK || rc == ALEXDB_CORRUPT);
        if (rc == ALEXDB_OK) {
            accepted++;
            exercise(page);
        }
    }
    printf("accepted %u of 10000\n", accepted);
    free(page);
    free(good);
}

/* Right after a build, nothing has shifted: the measured cost is at most the expected one. */
static void test_cost_fresh_build(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    good_page(page);
    alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX];
    uint32_t count = alex_leaf_entries(page, entries);
    uint8_t *built = tu_aligned(PAGER_PAGE_SIZE);
    assert_int_equal(alex_leaf_build(built, entries, count, 1000, 1000000, ALEX_LEAF_DENSITY_BUILD),
                     ALEXDB_OK);
    alex_leaf_cost cost;
    alex_leaf_cost_get(built, &cost);
    assert_true(cost.search_steps_avg >= 1.0 && cost.search_steps_avg < 8.0);
    assert_true(cost.shifts_per_insert == 0.0);
    assert_true(cost.expected_cost > 0.0 && cost.measured_cost <= cost.expected_cost + 1e-6);
    alex_leaf_init(built, 0, 10);
    alex_leaf_cost_get(built, &cost);
    assert_true(cost.expected_cost == 0.0 && cost.measured_cost == 0.0 &&
                cost.search_steps_avg == 0.0);
    free(built);
    free(page);
}

/* A leaf of 20 keys 1000 apart, built at density; value_size-byte values. */
static void sparse_leaf(uint8_t *page, double density)
{
    alex_entry entries[20];
    for (uint32_t i = 0; i < 20; i++) {
        entries[i] = (alex_entry){ .key = (uint64_t)i * 1000,
                                   .value = { .size = 8, .data = value_bytes[i] } };
    }
    assert_int_equal(alex_leaf_build(page, entries, 20, 0, UINT64_MAX, density), ALEXDB_OK);
}

/* Inserts keys from `first` on (step apart) with size-byte values until FULL; returns the count. */
static uint32_t fill(uint8_t *page, uint64_t first, uint64_t step, uint32_t size)
{
    static uint8_t bytes[ALEX_INLINE_VALUE_SIZE_MAX];
    alex_value v = { .size = size, .data = bytes };
    alex_value old;
    bool replaced;
    uint32_t count = 0;
    while (alex_leaf_upsert(page, first + count * step, &v, &old, &replaced, NULL) == ALEXDB_OK)
        count++;
    pager_page_seal(page, PAGE_NO, 1);
    assert_int_equal(alex_leaf_check("f", page, PAGE_NO), ALEXDB_OK);
    return count;
}

/* Sequential inserts past a model fitted to other keys fill the array: RETRAIN, cost 1.5x over. */
static void test_bad_model_prefers_retrain(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    sparse_leaf(page, ALEX_LEAF_DENSITY_BUILD);
    assert_true(fill(page, 1000000000, 1, 8) > 0);
    assert_int_equal(alex_leaf_key_count(page), alex_leaf_slot_count(page)); /* the array ran out */
    alex_leaf_cost cost;
    alex_leaf_cost_get(page, &cost);
    assert_true(cost.shifts_per_insert > 1.0);
    assert_true(cost.measured_cost > 1.5 * cost.expected_cost);
    assert_int_equal(alex_leaf_full_action(page, 10), ALEX_FULL_RETRAIN);
    /* The same when the heap, not the array, ran out: the cost decides. */
    sparse_leaf(page, 0.2);
    assert_true(fill(page, 1000000000, 1, 500) > 0);
    assert_true(alex_leaf_key_count(page) < alex_leaf_slot_count(page));
    alex_leaf_cost_get(page, &cost);
    assert_true(cost.measured_cost > 1.5 * cost.expected_cost);
    assert_int_equal(alex_leaf_full_action(page, 502), ALEX_FULL_RETRAIN);
    free(page);
}

/* A full heap leaves no room to rebuild: SPLIT; a heap-full leaf whose model still fits: SPLIT. */
static void test_full_heap_prefers_split(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    sparse_leaf(page, ALEX_LEAF_DENSITY_BUILD);
    assert_true(fill(page, 500, 1000, 500) > 0);
    assert_true(alex_leaf_free_bytes(page) < 502);
    assert_true(alex_leaf_key_count(page) < alex_leaf_slot_count(page));
    assert_int_equal(alex_leaf_full_action(page, 502), ALEX_FULL_SPLIT);
    sparse_leaf(page, 0.2);
    assert_true(fill(page, 500, 1000, 500) > 0); /* keys between the built ones: on prediction */
    alex_leaf_cost cost;
    alex_leaf_cost_get(page, &cost);
    assert_true(cost.measured_cost <= 1.5 * cost.expected_cost);
    assert_int_equal(alex_leaf_full_action(page, 502), ALEX_FULL_SPLIT);
    free(page);
}

/* Places two inline records of a_size and b_size bytes at a_at and b_at in page. */
static int place_two(uint8_t *page, uint32_t a_at, uint32_t a_size, uint32_t b_at, uint32_t b_size)
{
    uint32_t n = alex_leaf_slot_count(page);
    uint32_t offsets = alex_leaf_value_offsets_offset(n);
    uint32_t keys_end = alex_leaf_keys_end(n);
    uint32_t slots[2];
    uint32_t found = 0;
    for (uint32_t s = 0; s < n && found < 2; s++) {
        if (bit(page, s)) slots[found++] = s;
    }
    assert_int_equal(found, 2);
    common_store_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET, (uint16_t)keys_end);
    common_store_u16le(page + ALEX_LEAF_FIELD_HEAP_DEAD,
                       (uint16_t)(PAGER_PAGE_SIZE - keys_end - a_size - b_size));
    common_store_u16le(page + a_at, (uint16_t)(a_size - 2u));
    common_store_u16le(page + b_at, (uint16_t)(b_size - 2u));
    common_store_u16le(page + offsets + 2u * slots[0], (uint16_t)a_at);
    common_store_u16le(page + offsets + 2u * slots[1], (uint16_t)b_at);
    return alex_leaf_check("db.alex", page, PAGE_NO);
}

/*
 * Heap coverage is marked 64 bytes at a time: records that touch, or overlap by one
 * byte, on either side of a word edge and across several words, are told apart exactly.
 */
static void test_heap_overlap_at_word_edges(void **state)
{
    (void)state;
    static const uint32_t sizes[] = { 2, 3, 62, 63, 64, 65, 66, 129, 1026 };
    uint8_t *good = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    alex_entry entries[2];
    for (uint32_t i = 0; i < 2; i++) {
        entries[i] = (alex_entry){ .key = 10 + i, .value = { .size = 0, .data = value_bytes[0] } };
    }
    assert_int_equal(alex_leaf_build(good, entries, 2, 0, 100, ALEX_LEAF_DENSITY_BUILD), ALEXDB_OK);
    uint32_t base = 1024; /* a word edge well inside the heap */
    for (uint32_t ai = 0; ai < sizeof(sizes) / sizeof(sizes[0]); ai++) {
        for (uint32_t bi = 0; bi < sizeof(sizes) / sizeof(sizes[0]); bi++) {
            for (uint32_t shift = 0; shift < 8; shift++) {
                for (int delta = -2; delta <= 1; delta++) {
                    uint32_t a_at = base - 4u + shift + (shift > 3 ? 56u : 0u);
                    uint32_t a_size = sizes[ai];
                    uint32_t b_size = sizes[bi];
                    uint32_t b_at = (uint32_t)((int)(a_at + a_size) + delta);
                    bool overlap = delta < 0;
                    if (b_at >= a_at + 2u && b_at + b_size <= PAGER_PAGE_SIZE) {
                        memcpy(page, good, PAGER_PAGE_SIZE);
                        int rc = place_two(page, a_at, a_size, b_at, b_size);
                        assert_int_equal(rc, overlap ? ALEXDB_CORRUPT : ALEXDB_OK);
                        if (overlap) assert_non_null(strstr(alexdb_errmsg(), "overlaps another"));
                    }
                    /* The other way round: the later slot's record first in the heap. */
                    uint32_t a2 = (uint32_t)((int)(a_at + b_size) + delta);
                    if (a2 < a_at + 2u || a2 + a_size > PAGER_PAGE_SIZE) continue;
                    memcpy(page, good, PAGER_PAGE_SIZE);
                    int rc = place_two(page, a2, a_size, a_at, b_size);
                    assert_int_equal(rc, overlap ? ALEXDB_CORRUPT : ALEXDB_OK);
                }
            }
        }
    }
    free(page);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects_bad_fields),
        cmocka_unit_test(test_rejects_bad_arrays),
        cmocka_unit_test(test_heap_overlap_at_word_edges),
        cmocka_unit_test(test_survives_garbage_and_bit_flips),
        cmocka_unit_test(test_cost_fresh_build),
        cmocka_unit_test(test_bad_model_prefers_retrain),
        cmocka_unit_test(test_full_heap_prefers_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
