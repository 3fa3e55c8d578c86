/* alex_leaf_write_test.c: upsert, delete and the bulk build on one leaf page (alex/leaf_write.c). */
#include "testutil.h"

#include "alex_int.h"

#include <inttypes.h>
#include <stdio.h>

#define PAGE_NO 11u

static uint8_t value_buf[ALEX_INLINE_VALUE_SIZE_MAX];

/* Fills buf with the bytes of the value (size, seed): a pattern only that pair produces. */
static void pattern(uint8_t *buf, uint32_t size, uint64_t seed)
{
    for (uint32_t i = 0; i < size; i++)
        buf[i] = (uint8_t)((seed * 0x9e3779b97f4a7c15ull + i * 131u) >> 24);
}

/* A value: inline bytes from pattern() in buf, or an overflow reference to page seed. */
static alex_value value_make(uint8_t *buf, uint32_t size, uint64_t seed)
{
    alex_value v = { .size = size, .data = NULL, .overflow_page_no = 0 };
    if (size > ALEX_INLINE_VALUE_SIZE_MAX) {
        v.overflow_page_no = seed;
    } else {
        pattern(buf, size, seed);
        v.data = buf;
    }
    return v;
}

static bool value_matches(const alex_value *v, uint32_t size, uint64_t seed)
{
    if (v->size != size) return false;
    if (size > ALEX_INLINE_VALUE_SIZE_MAX) return v->data == NULL && v->overflow_page_no == seed;
    uint8_t want[ALEX_INLINE_VALUE_SIZE_MAX];
    pattern(want, size, seed);
    return size == 0 || memcmp(v->data, want, size) == 0;
}

static void leaf_valid(uint8_t *page)
{
    pager_page_seal(page, PAGE_NO, 3);
    assert_int_equal(alex_leaf_check("leaf", page, PAGE_NO), ALEXDB_OK);
}

static int upsert(uint8_t *page, uint64_t key, uint32_t size, uint64_t seed, bool *replaced,
                  uint32_t *shifts)
{
    alex_value v = value_make(value_buf, size, seed);
    alex_value old;
    return alex_leaf_upsert(page, key, &v, &old, replaced, shifts);
}

static void find_expect(const uint8_t *page, uint64_t key, uint32_t size, uint64_t seed)
{
    alex_value v;
    assert_int_equal(alex_leaf_find(page, key, &v, NULL), ALEXDB_OK);
    assert_true(value_matches(&v, size, seed));
}

/* Builds a leaf of count keys key_of(i) = base + i * step with size-byte values, seed = key. */
static void leaf_build_keys(uint8_t *page, uint32_t count, uint64_t base, uint64_t step,
                            uint32_t size, double density)
{
    static uint8_t bufs[ALEX_LEAF_SLOT_COUNT_MAX][ALEX_INLINE_VALUE_SIZE_MAX];
    alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX];
    for (uint32_t i = 0; i < count; i++) {
        entries[i].key = base + i * step;
        entries[i].value = value_make(bufs[i], size, entries[i].key);
    }
    assert_int_equal(alex_leaf_build(page, entries, count, 0, UINT64_MAX, density), ALEXDB_OK);
    leaf_valid(page);
}

/*
 * An empty leaf (one slot) takes one key, even UINT64_MAX (inserted, not "replaced"
 * although the gap held its value), then says FULL and RETRAIN; rebuilt, it takes more.
 */
static void test_insert_into_empty(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *before = tu_aligned(PAGER_PAGE_SIZE);
    alex_leaf_init(page, 0, UINT64_MAX);
    alex_value old;
    bool replaced = true;
    assert_int_equal(alex_leaf_delete(page, UINT64_MAX, &old), ALEXDB_NOTFOUND);
    assert_int_equal(alex_leaf_find(page, UINT64_MAX, &old, NULL), ALEXDB_NOTFOUND);
    assert_int_equal(upsert(page, UINT64_MAX, 3, 1, &replaced, NULL), ALEXDB_OK);
    assert_false(replaced);
    leaf_valid(page);
    find_expect(page, UINT64_MAX, 3, 1);
    memcpy(before, page, PAGER_PAGE_SIZE);
    assert_int_equal(upsert(page, 0, 0, 2, &replaced, NULL), ALEXDB_FULL);
    assert_memory_equal(page, before, PAGER_PAGE_SIZE);
    assert_int_equal(alex_leaf_full_action(page, alex_value_record_size(0)), ALEX_FULL_RETRAIN);
    alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX];
    assert_int_equal(alex_leaf_entries(before, entries), 1);
    assert_int_equal(alex_leaf_build(page, entries, 1, 0, UINT64_MAX, ALEX_LEAF_DENSITY_BUILD),
                     ALEXDB_OK);
    assert_int_equal(upsert(page, 0, 0, 2, &replaced, NULL), ALEXDB_OK);
    assert_false(replaced);
    leaf_valid(page);
    find_expect(page, UINT64_MAX, 3, 1);
    find_expect(page, 0, 0, 2);
    assert_int_equal(alex_leaf_delete(page, UINT64_MAX, &old), ALEXDB_OK);
    assert_int_equal(old.size, 3);
    leaf_valid(page);
    assert_int_equal(alex_leaf_find(page, UINT64_MAX, &old, NULL), ALEXDB_NOTFOUND);
    assert_int_equal(alex_leaf_delete(page, UINT64_MAX, &old), ALEXDB_NOTFOUND);
    assert_int_equal(upsert(page, UINT64_MAX, 5, 6, &replaced, NULL), ALEXDB_OK);
    assert_false(replaced);
    leaf_valid(page);
    free(before);
    free(page);
}

/* Replacing with values of the same, smaller, larger, overflow, inline size keeps one record. */
static void test_replace_sizes(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    leaf_build_keys(page, 20, 100, 10, 8, ALEX_LEAF_DENSITY_BUILD);
    const uint32_t sizes[] = { 8, 3, 200, 5000, 0, 1024, 70000, 1 };
    size_t used = alex_leaf_heap_used(page);
    uint32_t previous = 8;
    uint64_t previous_seed = 150;
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(sizes); i++) {
        alex_value v = value_make(value_buf, sizes[i], 1000 + i);
        alex_value old;
        bool replaced = false;
        assert_int_equal(alex_leaf_upsert(page, 150, &v, &old, &replaced, NULL), ALEXDB_OK);
        assert_true(replaced);
        assert_int_equal(old.size, previous);
        if (previous > ALEX_INLINE_VALUE_SIZE_MAX)
            assert_int_equal(old.overflow_page_no, previous_seed);
        assert_null(old.data);
        used = used - alex_value_record_size(previous) + alex_value_record_size(sizes[i]);
        assert_int_equal(alex_leaf_heap_used(page), used);
        assert_int_equal(alex_leaf_key_count(page), 20);
        leaf_valid(page);
        find_expect(page, 150, sizes[i], 1000 + i);
        find_expect(page, 140, 8, 140);
        previous = sizes[i];
        previous_seed = 1000 + i;
    }
    free(page);
}

/* Deleting every key in random order keeps the gap copies valid, down to an empty leaf. */
static void test_delete_fixes_gap_copies(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    leaf_build_keys(page, 100, 7, 3, 4, ALEX_LEAF_DENSITY_BUILD);
    uint64_t keys[100];
    for (uint32_t i = 0; i < 100; i++) keys[i] = 7 + i * 3;
    for (uint32_t i = 99; i > 0; i--) {
        uint32_t j = (uint32_t)common_rng_below(&rng, i + 1);
        uint64_t t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
    }
    uint32_t deleted_before = 0;
    for (uint32_t i = 0; i < 100; i++) {
        alex_value old;
        assert_int_equal(alex_leaf_delete(page, keys[i], &old), ALEXDB_OK);
        assert_int_equal(old.size, 4);
        assert_int_equal(alex_leaf_delete(page, keys[i], &old), ALEXDB_NOTFOUND);
        assert_int_equal(alex_leaf_find(page, keys[i], &old, NULL), ALEXDB_NOTFOUND);
        leaf_valid(page);
        assert_int_equal(common_load_u32le(page + ALEX_LEAF_FIELD_DELETE_COUNT), ++deleted_before);
    }
    assert_int_equal(alex_leaf_key_count(page), 0);
    assert_int_equal(alex_leaf_heap_used(page), 0);
    assert_int_equal(alex_leaf_seek(page, 0), alex_leaf_slot_count(page));
    bool replaced;
    assert_int_equal(upsert(page, 55, 4, 55, &replaced, NULL), ALEXDB_OK);
    leaf_valid(page);
    find_expect(page, 55, 4, 55);
    free(page);
}

/* The slot of every key, in order; slot_count for keys not present. */
static void slots_of(const uint8_t *page, const uint64_t *keys, uint32_t count, uint32_t *slots)
{
    for (uint32_t i = 0; i < count; i++) {
        uint32_t slot = alex_leaf_seek(page, keys[i]);
        alex_entry e;
        alex_leaf_entry_at(page, slot, &e);
        assert_int_equal(e.key, keys[i]);
        slots[i] = slot;
    }
}

/*
 * Inserts into packed leaves shift towards the nearest gap, both ways: shifts_out equals
 * the number of keys that moved, all moved the same way by one slot, and the statistics
 * add up.
 */
static void test_shifts(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 2);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint32_t moved_left = 0, moved_right = 0;
    for (int round = 0; round < 40; round++) {
        leaf_build_keys(page, 60, 1000, 1000, 2, 0.8);
        uint64_t keys[ALEX_LEAF_SLOT_COUNT_MAX];
        uint32_t count = 60, inserts = 0, shift_sum = 0;
        for (uint32_t i = 0; i < count; i++) keys[i] = 1000 + i * 1000;
        while (alex_leaf_key_count(page) < alex_leaf_slot_count(page)) {
            uint64_t key = common_rng_below(&rng, 70000);
            alex_value found;
            if (alex_leaf_find(page, key, &found, NULL) == ALEXDB_OK) continue;
            uint32_t before[ALEX_LEAF_SLOT_COUNT_MAX], after[ALEX_LEAF_SLOT_COUNT_MAX];
            slots_of(page, keys, count, before);
            bool replaced;
            uint32_t shifts;
            assert_int_equal(upsert(page, key, 2, key, &replaced, &shifts), ALEXDB_OK);
            slots_of(page, keys, count, after);
            uint32_t moved = 0;
            for (uint32_t i = 0; i < count; i++) {
                if (after[i] == before[i]) continue;
                assert_true(after[i] == before[i] + 1 || after[i] + 1 == before[i]);
                moved++;
                if (after[i] > before[i]) moved_right++;
                else moved_left++;
            }
            assert_int_equal(moved, shifts);
            keys[count++] = key;
            inserts++;
            shift_sum += shifts;
            for (uint32_t i = count - 1; i > 0 && keys[i - 1] > keys[i]; i--) {
                uint64_t t = keys[i];
                keys[i] = keys[i - 1];
                keys[i - 1] = t;
            }
        }
        leaf_valid(page);
        assert_int_equal(common_load_u32le(page + ALEX_LEAF_FIELD_INSERT_COUNT), inserts);
        assert_int_equal(common_load_u32le(page + ALEX_LEAF_FIELD_SHIFT_COUNT), shift_sum);
    }
    assert_true(moved_left > 0 && moved_right > 0);
    free(page);
}

/* FULL, with no free slot or no heap space (insert and replace), leaves the page byte-for-byte. */
static void test_full_leaves_page_unchanged(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *before = tu_aligned(PAGER_PAGE_SIZE);
    bool replaced;
    leaf_build_keys(page, 30, 10, 10, 8, 1.0); /* 31 slots: one gap */
    assert_int_equal(upsert(page, 15, 8, 15, &replaced, NULL), ALEXDB_OK);
    leaf_valid(page);
    memcpy(before, page, PAGER_PAGE_SIZE);
    assert_int_equal(upsert(page, 25, 8, 25, &replaced, NULL), ALEXDB_FULL);
    assert_false(replaced);
    assert_memory_equal(page, before, PAGER_PAGE_SIZE);
    leaf_build_keys(page, 3, 10, 10, 1000, 0.3); /* 10 slots, 290 bytes free */
    uint32_t inserted = 0;
    int rc;
    while ((rc = upsert(page, 100 + inserted, 300, inserted, &replaced, NULL)) == ALEXDB_OK)
        inserted++;
    assert_int_equal(rc, ALEXDB_FULL);
    assert_true(inserted > 0 && alex_leaf_key_count(page) < alex_leaf_slot_count(page));
    leaf_valid(page);
    memcpy(before, page, PAGER_PAGE_SIZE);
    assert_int_equal(upsert(page, 5, 300, 5, &replaced, NULL), ALEXDB_FULL);
    assert_memory_equal(page, before, PAGER_PAGE_SIZE);
    assert_int_equal(upsert(page, 100, 1024, 5, &replaced, NULL), ALEXDB_FULL);
    assert_false(replaced);
    assert_memory_equal(page, before, PAGER_PAGE_SIZE);
    free(before);
    free(page);
}

/* Dead bytes from deletes and shrinking replaces are reclaimed when a record needs them. */
static void test_compaction_reclaims_dead(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    leaf_build_keys(page, 3, 10, 10, 1000, ALEX_LEAF_DENSITY_BUILD);
    alex_value old;
    bool replaced;
    assert_int_equal(alex_leaf_delete(page, 20, &old), ALEXDB_OK); /* the middle record: dead */
    assert_int_equal(common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_DEAD), 1002);
    leaf_valid(page);
    assert_int_equal(upsert(page, 25, 1000, 25, &replaced, NULL), ALEXDB_OK);
    assert_int_equal(common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_DEAD), 0);
    leaf_valid(page);
    find_expect(page, 10, 1000, 10);
    find_expect(page, 25, 1000, 25);
    find_expect(page, 30, 1000, 30);
    /* A shrinking replace leaves dead bytes; a growing one then needs them back. */
    assert_int_equal(upsert(page, 10, 10, 11, &replaced, NULL), ALEXDB_OK);
    assert_int_equal(common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_DEAD), 990);
    leaf_valid(page);
    assert_int_equal(upsert(page, 30, 1024, 31, &replaced, NULL), ALEXDB_OK);
    assert_true(replaced);
    leaf_valid(page);
    find_expect(page, 10, 10, 11);
    find_expect(page, 25, 1000, 25);
    find_expect(page, 30, 1024, 31);
    assert_int_equal(alex_leaf_heap_used(page), 12 + 1002 + 1026);
    /* No dead bytes, too little free space: a growing replace reuses its own record's. */
    leaf_build_keys(page, 3, 10, 10, 1000, ALEX_LEAF_DENSITY_BUILD);
    assert_true(alex_leaf_free_bytes(page) < 1026);
    assert_int_equal(upsert(page, 20, 1024, 21, &replaced, NULL), ALEXDB_OK);
    leaf_valid(page);
    find_expect(page, 20, 1024, 21);
    find_expect(page, 30, 1000, 30);
    free(page);
}

/* ---- randomized: many leaves, each against a sorted-array oracle ---------------- */

#define RANDOM_OP_COUNT 200000u
#define RANDOM_BATCH_SIZE 64u
#define RANDOM_LEAF_COUNT_MAX 4096u
#define RANDOM_LIVE_KEYS_MAX 20000u

typedef struct oracle_entry {
    uint64_t key;
    uint32_t size;
    uint64_t seed;
} oracle_entry;

typedef struct random_leaf {
    uint8_t *page;
    uint64_t low;
    uint64_t high;
    uint32_t count;
    bool dirty;
    oracle_entry entries[ALEX_LEAF_SLOT_COUNT_MAX + 1]; /* sorted by key */
} random_leaf;

typedef struct random_state {
    common_rng rng;
    random_leaf *leaves[RANDOM_LEAF_COUNT_MAX]; /* sorted by low fence; fences tile the keys */
    uint32_t leaf_count;
    uint64_t live;
    uint64_t sequence;
    uint64_t seed_next;
    uint32_t retrains, splits, compactions, fulls;
} random_state;

static random_leaf *random_leaf_new(uint64_t low, uint64_t high)
{
    random_leaf *leaf = calloc(1, sizeof(*leaf));
    assert_non_null(leaf);
    leaf->page = tu_aligned(PAGER_PAGE_SIZE);
    leaf->low = low;
    leaf->high = high;
    return leaf;
}

/* The leaf whose fences hold key. */
static uint32_t route(const random_state *rs, uint64_t key)
{
    uint32_t lo = 0, hi = rs->leaf_count - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (rs->leaves[mid]->low <= key) lo = mid;
        else hi = mid - 1;
    }
    assert_true(rs->leaves[lo]->low <= key && key <= rs->leaves[lo]->high);
    return lo;
}

static uint32_t oracle_lower(const random_leaf *leaf, uint64_t key)
{
    uint32_t lo = 0, hi = leaf->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (leaf->entries[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Returns whether key was already there. */
static bool oracle_put(random_leaf *leaf, uint64_t key, uint32_t size, uint64_t seed)
{
    uint32_t at = oracle_lower(leaf, key);
    bool present = at < leaf->count && leaf->entries[at].key == key;
    if (!present) {
        assert_true(leaf->count <= ALEX_LEAF_SLOT_COUNT_MAX);
        memmove(leaf->entries + at + 1, leaf->entries + at,
                (leaf->count - at) * sizeof(oracle_entry));
        leaf->count++;
    }
    leaf->entries[at] = (oracle_entry){ .key = key, .size = size, .seed = seed };
    return present;
}

/* The page passes the check and holds exactly the oracle's entries, in order. */
static void leaf_verify(random_leaf *leaf)
{
    pager_page_seal(leaf->page, PAGE_NO, 5);
    assert_int_equal(alex_leaf_check("leaf", leaf->page, PAGE_NO), ALEXDB_OK);
    uint64_t low, high;
    alex_leaf_fences(leaf->page, &low, &high);
    assert_true(low == leaf->low && high == leaf->high);
    alex_entry out[ALEX_LEAF_SLOT_COUNT_MAX];
    assert_int_equal(alex_leaf_entries(leaf->page, out), leaf->count);
    for (uint32_t i = 0; i < leaf->count; i++) {
        assert_int_equal(out[i].key, leaf->entries[i].key);
        assert_true(value_matches(&out[i].value, leaf->entries[i].size, leaf->entries[i].seed));
    }
    leaf->dirty = false;
}

/* Alternating phases: tiny values (leaves of up to 320 slots) and mixed sizes. */
static uint32_t random_value_size(common_rng *rng, uint32_t op)
{
    uint32_t r = (uint32_t)common_rng_below(rng, 100);
    if ((op / 25000u) % 2 == 0) return r < 95 ? (uint32_t)common_rng_below(rng, 9) : 1025;
    if (r < 50) return (uint32_t)common_rng_below(rng, 17);
    if (r < 75) return 17 + (uint32_t)common_rng_below(rng, 104);
    if (r < 82) return 121 + (uint32_t)common_rng_below(rng, 904);
    if (r < 85) return ALEX_INLINE_VALUE_SIZE_MAX;
    if (r < 90) return 0;
    return ALEX_INLINE_VALUE_SIZE_MAX + 1 +
           (uint32_t)common_rng_below(rng, ALEX_VALUE_SIZE_MAX - 1024);
}

/* A present key (40 %) or a fresh one: uniform, clustered above 2^60, sequential, extreme. */
static uint64_t random_key(random_state *rs)
{
    common_rng *rng = &rs->rng;
    uint32_t r = (uint32_t)common_rng_below(rng, 100);
    if (r < 40 && rs->live > 0) {
        for (int attempt = 0; attempt < 8; attempt++) {
            const random_leaf *leaf = rs->leaves[common_rng_below(rng, rs->leaf_count)];
            if (leaf->count > 0) return leaf->entries[common_rng_below(rng, leaf->count)].key;
        }
    }
    if (r < 60) return common_rng_next(rng);
    if (r < 80) return (1ull << 60) + common_rng_below(rng, 30000);
    if (r < 95) return (1ull << 40) + rs->sequence++ * (1 + common_rng_below(rng, 3));
    const uint64_t edges[] = { 0, 1, 2, UINT64_MAX - 2, UINT64_MAX - 1, UINT64_MAX };
    return edges[common_rng_below(rng, COMMON_ARRAY_COUNT(edges))];
}

/* SPLIT: the merged entries into two fresh pages, cut near the middle where both fit. */
static void leaf_split(random_state *rs, uint32_t index, const alex_entry *merged, uint32_t count)
{
    random_leaf *leaf = rs->leaves[index];
    size_t prefix[ALEX_LEAF_SLOT_COUNT_MAX + 2] = { 0 };
    for (uint32_t i = 0; i < count; i++)
        prefix[i + 1] = prefix[i] + alex_value_record_size(merged[i].value.size);
    uint32_t mid = 0; /* by count alone, skewed value sizes may leave one half too big */
    for (uint32_t d = 0; d < count && mid == 0; d++) {
        uint32_t tries[2] = { count / 2 - COMMON_MIN(d, count / 2), count / 2 + d };
        for (int t = 0; t < 2 && mid == 0; t++) {
            uint32_t m = tries[t];
            if (m >= 1 && m < count && alex_leaf_fits(m, prefix[m], ALEX_LEAF_DENSITY_BUILD) &&
                alex_leaf_fits(count - m, prefix[count] - prefix[m], ALEX_LEAF_DENSITY_BUILD)) {
                mid = m;
            }
        }
    }
    assert_true(mid >= 1);
    uint64_t boundary = merged[mid].key;
    random_leaf *right = random_leaf_new(boundary, leaf->high);
    uint8_t *fresh = tu_aligned(PAGER_PAGE_SIZE);
    assert_int_equal(alex_leaf_build(right->page, merged + mid, count - mid, boundary, leaf->high,
                                     ALEX_LEAF_DENSITY_BUILD),
                     ALEXDB_OK);
    assert_int_equal(
        alex_leaf_build(fresh, merged, mid, leaf->low, boundary - 1, ALEX_LEAF_DENSITY_BUILD),
        ALEXDB_OK);
    free(leaf->page);
    leaf->page = fresh;
    leaf->high = boundary - 1;
    right->count = leaf->count - mid;
    memcpy(right->entries, leaf->entries + mid, right->count * sizeof(oracle_entry));
    leaf->count = mid;
    right->dirty = true;
    assert_true(rs->leaf_count < RANDOM_LEAF_COUNT_MAX);
    memmove(rs->leaves + index + 2, rs->leaves + index + 1,
            (rs->leaf_count - index - 1) * sizeof(rs->leaves[0]));
    rs->leaves[index + 1] = right;
    rs->leaf_count++;
    rs->splits++;
}

/*
 * After FULL, as alex_leaf_full_action says: RETRAIN rebuilds the leaf's entries in a
 * fresh page and retries the upsert, or (every other time) builds them with the new
 * entry merged in; both must succeed. SPLIT cuts the merged entries in two leaves.
 */
static void leaf_full(random_state *rs, uint32_t index, uint64_t key, const alex_value *value)
{
    random_leaf *leaf = rs->leaves[index];
    alex_full_action action =
        alex_leaf_full_action(leaf->page, alex_value_record_size(value->size));
    static alex_entry merged[ALEX_LEAF_SLOT_COUNT_MAX + 1];
    uint32_t count = alex_leaf_entries(leaf->page, merged);
    uint8_t *fresh = tu_aligned(PAGER_PAGE_SIZE);
    if (action == ALEX_FULL_RETRAIN && rs->retrains++ % 2 == 0) {
        assert_int_equal(
            alex_leaf_build(fresh, merged, count, leaf->low, leaf->high, ALEX_LEAF_DENSITY_BUILD),
            ALEXDB_OK);
        alex_value old;
        bool replaced;
        assert_int_equal(alex_leaf_upsert(fresh, key, value, &old, &replaced, NULL), ALEXDB_OK);
    }
    uint32_t at = 0;
    while (at < count && merged[at].key < key) at++;
    if (at == count || merged[at].key != key) {
        memmove(merged + at + 1, merged + at, (count - at) * sizeof(merged[0]));
        count++;
    }
    merged[at] = (alex_entry){ .key = key, .value = *value };
    assert_int_equal(count, leaf->count); /* the oracle already has the new entry */
    if (action == ALEX_FULL_RETRAIN && rs->retrains % 2 == 0) {
        assert_int_equal(
            alex_leaf_build(fresh, merged, count, leaf->low, leaf->high, ALEX_LEAF_DENSITY_BUILD),
            ALEXDB_OK);
    }
    if (action == ALEX_FULL_SPLIT) {
        leaf_split(rs, index, merged, count);
        free(fresh);
    } else {
        free(leaf->page);
        leaf->page = fresh;
    }
    leaf->dirty = true;
}

static void random_upsert(random_state *rs, uint32_t index, uint64_t key, uint32_t op)
{
    static uint8_t before[PAGER_PAGE_SIZE];
    random_leaf *leaf = rs->leaves[index];
    uint32_t size = random_value_size(&rs->rng, op);
    uint64_t seed = rs->seed_next++;
    alex_value v = value_make(value_buf, size, seed);
    uint32_t at = oracle_lower(leaf, key);
    bool present = at < leaf->count && leaf->entries[at].key == key;
    oracle_entry old_want = present ? leaf->entries[at] : (oracle_entry){ 0 };
    uint32_t dead_before = common_load_u16le(leaf->page + ALEX_LEAF_FIELD_HEAP_DEAD);
    memcpy(before, leaf->page, PAGER_PAGE_SIZE);
    alex_value old;
    bool replaced;
    uint32_t shifts;
    int rc = alex_leaf_upsert(leaf->page, key, &v, &old, &replaced, &shifts);
    leaf->dirty = true;
    assert_true(oracle_put(leaf, key, size, seed) == present);
    if (rc == ALEXDB_FULL) {
        rs->fulls++;
        assert_memory_equal(leaf->page, before, PAGER_PAGE_SIZE);
        leaf_full(rs, index, key, &v);
        return;
    }
    assert_int_equal(rc, ALEXDB_OK);
    assert_true(replaced == present);
    assert_true(shifts < alex_leaf_slot_count(leaf->page));
    if (present) {
        assert_int_equal(old.size, old_want.size);
        if (old.size > ALEX_INLINE_VALUE_SIZE_MAX)
            assert_int_equal(old.overflow_page_no, old_want.seed);
    }
    if (!present) rs->live++;
    if (dead_before > 0 && common_load_u16le(leaf->page + ALEX_LEAF_FIELD_HEAP_DEAD) == 0)
        rs->compactions++;
}

static void random_delete(random_state *rs, random_leaf *leaf, uint64_t key)
{
    uint32_t at = oracle_lower(leaf, key);
    bool present = at < leaf->count && leaf->entries[at].key == key;
    alex_value old;
    int rc = alex_leaf_delete(leaf->page, key, &old);
    assert_int_equal(rc, present ? ALEXDB_OK : ALEXDB_NOTFOUND);
    if (!present) return;
    assert_int_equal(old.size, leaf->entries[at].size);
    memmove(leaf->entries + at, leaf->entries + at + 1,
            (leaf->count - at - 1) * sizeof(oracle_entry));
    leaf->count--;
    leaf->dirty = true;
    rs->live--;
}

static void random_find(const random_leaf *leaf, uint64_t key)
{
    uint32_t at = oracle_lower(leaf, key);
    alex_value v;
    int rc = alex_leaf_find(leaf->page, key, &v, NULL);
    if (at < leaf->count && leaf->entries[at].key == key) {
        assert_int_equal(rc, ALEXDB_OK);
        assert_true(value_matches(&v, leaf->entries[at].size, leaf->entries[at].seed));
    } else {
        assert_int_equal(rc, ALEXDB_NOTFOUND);
    }
}

/* seek then a few next() steps walk the oracle's entries from key on. */
static void random_seek(const random_leaf *leaf, uint64_t key)
{
    uint32_t n = alex_leaf_slot_count(leaf->page);
    uint32_t slot = alex_leaf_seek(leaf->page, key);
    for (uint32_t at = oracle_lower(leaf, key);
         at < leaf->count && at < 8 + oracle_lower(leaf, key); at++) {
        assert_true(slot < n);
        alex_entry e;
        alex_leaf_entry_at(leaf->page, slot, &e);
        assert_int_equal(e.key, leaf->entries[at].key);
        slot = alex_leaf_next(leaf->page, slot);
        if (at + 1 == leaf->count) assert_int_equal(slot, n);
    }
    if (oracle_lower(leaf, key) == leaf->count) assert_int_equal(slot, n);
}

/*
 * 200 K random upserts, deletes, finds and seek walks over leaves that start as one empty
 * root and split or retrain whenever upsert says FULL, each leaf checked against its
 * oracle and alex_leaf_check after every batch of operations that touched it.
 */
static void test_randomized_against_oracle(void **state)
{
    (void)state;
    random_state *rs = calloc(1, sizeof(*rs));
    assert_non_null(rs);
    common_rng_seed(&rs->rng, tu_seed() + 3);
    rs->leaves[0] = random_leaf_new(0, UINT64_MAX);
    alex_leaf_init(rs->leaves[0]->page, 0, UINT64_MAX);
    rs->leaf_count = 1;
    for (uint32_t op = 0; op < RANDOM_OP_COUNT; op++) {
        uint64_t key = random_key(rs);
        uint32_t index = route(rs, key);
        uint32_t r = (uint32_t)common_rng_below(&rs->rng, 100);
        uint32_t upserts = rs->live > RANDOM_LIVE_KEYS_MAX ? 20 : 45;
        if (r < upserts) random_upsert(rs, index, key, op);
        else if (r < 65) random_delete(rs, rs->leaves[index], key);
        else if (r < 90) random_find(rs->leaves[index], key);
        else random_seek(rs->leaves[index], key);
        if (op % RANDOM_BATCH_SIZE != RANDOM_BATCH_SIZE - 1) continue;
        for (uint32_t i = 0; i < rs->leaf_count; i++) {
            if (rs->leaves[i]->dirty) leaf_verify(rs->leaves[i]);
        }
    }
    uint32_t keys_max = 0;
    for (uint32_t i = 0; i < rs->leaf_count; i++) {
        leaf_verify(rs->leaves[i]);
        keys_max = COMMON_MAX(keys_max, rs->leaves[i]->count);
    }
    printf("leaves %u (most keys %u), live keys %" PRIu64 ", full %u: retrain %u, split %u; "
           "compactions %u\n",
           rs->leaf_count, keys_max, rs->live, rs->fulls, rs->retrains, rs->splits,
           rs->compactions);
    assert_true(rs->retrains > 0 && rs->splits > 0 && rs->compactions > 0);
    for (uint32_t i = 0; i < rs->leaf_count; i++) {
        free(rs->leaves[i]->page);
        free(rs->leaves[i]);
    }
    free(rs);
}

/* ---- alex_leaf_build_sorted ---- */

#define BUILD_TRIAL_COUNT 4000u

static int key_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A key of one of the shapes a leaf meets: anywhere, dense, above 2^53, at either end. */
static uint64_t build_key(common_rng *rng, uint32_t shape, uint64_t base)
{
    switch (shape) {
    case 0: return common_rng_next(rng);
    case 1: return base + common_rng_below(rng, 600);                     /* dense */
    case 2: return (1ull << 53) + common_rng_below(rng, 4096);            /* doubles collide */
    case 3: return common_rng_below(rng, 2) ? common_rng_below(rng, 300)  /* both ends */
                                            : UINT64_MAX - common_rng_below(rng, 300);
    default: return base + common_rng_below(rng, 1ull << 40) * (1 + common_rng_below(rng, 3));
    }
}

/* Up to count_max sorted distinct keys; returns how many. */
static uint32_t build_keys(common_rng *rng, uint64_t *keys, uint32_t count_max)
{
    uint32_t shape = (uint32_t)common_rng_below(rng, 5);
    uint64_t base = common_rng_next(rng) >> (common_rng_below(rng, 2) ? 0 : 20);
    if (base > UINT64_MAX - (1ull << 43)) base = UINT64_MAX - (1ull << 43);
    uint32_t count = (uint32_t)common_rng_below(rng, count_max + 1);
    for (uint32_t i = 0; i < count; i++) keys[i] = build_key(rng, shape, base);
    qsort(keys, count, sizeof(keys[0]), key_compare);
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (distinct == 0 || keys[i] != keys[distinct - 1]) keys[distinct++] = keys[i];
    }
    return distinct;
}

/* A value: mostly small, some large inline, some out of line; bytes from bytes. */
static alex_value build_value(common_rng *rng, const uint8_t *bytes, uint32_t big_share)
{
    uint32_t r = (uint32_t)common_rng_below(rng, 100);
    alex_value v = {0};
    if (r < big_share) {
        v.size = (uint32_t)common_rng_below(rng, ALEX_INLINE_VALUE_SIZE_MAX + 1);
    } else if (r < big_share + 5) {
        v.size = ALEX_INLINE_VALUE_SIZE_MAX + 1 + (uint32_t)common_rng_below(rng, 1u << 20);
        v.overflow_page_no = 2 + common_rng_below(rng, ALEX_LEAF_PAGE_NO_MAX - 2);
        return v;
    } else {
        v.size = (uint32_t)common_rng_below(rng, 40);
    }
    v.data = v.size > 0 ? bytes + common_rng_below(rng, ALEX_INLINE_VALUE_SIZE_MAX) : NULL;
    return v;
}

/*
 * The bulk build makes, from random keys, values, fences and densities, byte for byte
 * the page alex_leaf_build makes (expected cost included), writing every body byte of a
 * page full of garbage; when the entries do not fit it says FULL and leaves the page
 * as it was. Each page it builds passes alex_leaf_check.
 */
static void test_build_sorted_matches_build(void **state)
{
    (void)state;
    static const double densities[] = {ALEX_LEAF_DENSITY_BUILD, 1.0, 0.5, 0.9};
    static uint8_t bytes[2 * ALEX_INLINE_VALUE_SIZE_MAX];
    uint64_t keys[ALEX_LEAF_SLOT_COUNT_MAX];
    alex_value values[ALEX_LEAF_SLOT_COUNT_MAX];
    alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX];
    uint8_t *want = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *got = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *before = tu_aligned(PAGER_PAGE_SIZE);
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 11);
    for (size_t i = 0; i < sizeof(bytes); i++) bytes[i] = (uint8_t)common_rng_next(&rng);
    uint32_t built = 0, full = 0;
    for (uint32_t trial = 0; trial < BUILD_TRIAL_COUNT; trial++) {
        uint32_t count_max = common_rng_below(&rng, 4) == 0 ? ALEX_LEAF_SLOT_COUNT_MAX : 40;
        uint32_t count = build_keys(&rng, keys, count_max);
        uint32_t big_share = (uint32_t)common_rng_below(&rng, 3) * 10;
        for (uint32_t i = 0; i < count; i++) {
            values[i] = build_value(&rng, bytes, big_share);
            entries[i] = (alex_entry){.key = keys[i], .value = values[i]};
        }
        uint64_t low = count > 0 ? keys[0] - common_rng_below(&rng, keys[0] % 1000 + 1) : 0;
        uint64_t high = count > 0 ? keys[count - 1] + common_rng_below(&rng, ~keys[count - 1] % 1000 + 1)
                                  : UINT64_MAX;
        double density = densities[common_rng_below(&rng, 4)];
        pager_page_init(want, PAGER_KIND_LEAF);
        for (uint32_t i = PAGER_HDR_PAGE_NO; i < PAGER_HEADER_SIZE; i++) want[i] = (uint8_t)common_rng_next(&rng);
        memcpy(got, want, PAGER_HEADER_SIZE);
        for (uint32_t i = PAGER_HEADER_SIZE; i < PAGER_PAGE_SIZE; i++) got[i] = (uint8_t)common_rng_next(&rng);
        memcpy(before, got, PAGER_PAGE_SIZE);
        int want_rc = alex_leaf_build(want, entries, count, low, high, density);
        int got_rc = alex_leaf_build_sorted(got, keys, values, count, low, high, density);
        assert_int_equal(got_rc, want_rc);
        if (got_rc == ALEXDB_FULL) {
            assert_memory_equal(got, before, PAGER_PAGE_SIZE);
            full++;
            continue;
        }
        assert_int_equal(got_rc, ALEXDB_OK);
        assert_memory_equal(got, want, PAGER_PAGE_SIZE);
        leaf_valid(got);
        built++;
    }
    printf("built %u leaves, %u refused as full\n", built, full);
    assert_true(built > BUILD_TRIAL_COUNT / 2 && full > 0);
    free(before);
    free(got);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_into_empty),
        cmocka_unit_test(test_replace_sizes),
        cmocka_unit_test(test_delete_fixes_gap_copies),
        cmocka_unit_test(test_shifts),
        cmocka_unit_test(test_full_leaves_page_unchanged),
        cmocka_unit_test(test_compaction_reclaims_dead),
        cmocka_unit_test(test_randomized_against_oracle),
        cmocka_unit_test(test_build_sorted_matches_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
