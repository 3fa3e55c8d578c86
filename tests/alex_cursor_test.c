/*
 * alex_cursor_test.c: ordered iteration (alex/cursor.c), through the public iterator.
 * Seek and next walk over empty leaves (first, middle runs, last) to exactly the keys
 * present; a database whose keys were all deleted iterates as empty and then fills
 * again; values over 1 KiB are read only when asked for (one read each) and are the
 * key's value at that moment; a cursor keeps returning strictly increasing keys, each
 * once, while splits and merges happen ahead of it. Scans of every length, repeated or
 * not (fills of many leaves at once), match a sorted array; a pool with nearly every
 * frame pinned still scans (one leaf at a time); a leaf whose fences disagree with the
 * inner nodes stops a scan with ALEXDB_CORRUPT.
 */
#include "alexdb.h"
#include "testutil.h"

#include "api_int.h"
#include "index_int.h"

#include <inttypes.h>
#include <stdio.h>

#define KEY_COUNT 5000u
#define KEY_STEP 8u

static alexdb *open_db(const char *dir)
{
    return tu_db_open(dir, 2u << 20);
}

static void fill(alexdb *db, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        uint64_t key = i * KEY_STEP;
        assert_int_equal(alexdb_put(db, key, &key, sizeof(key)), ALEXDB_OK);
    }
}

typedef struct leaf_list {
    uint64_t page_no[1024];
    uint64_t low[1024];
    uint64_t high[1024];
    size_t count;
} leaf_list;

static int collect_leaf(void *ctx, uint64_t page_no, uint64_t low, uint64_t high)
{
    leaf_list *list = ctx;
    assert_true(list->count < 1024);
    list->page_no[list->count] = page_no;
    list->low[list->count] = low;
    list->high[list->count] = high;
    list->count++;
    return 0;
}

/* Every leaf of db, in key order. */
static void leaves_of(alexdb *db, leaf_list *list)
{
    list->count = 0;
    assert_int_equal(alex_inner_for_each_leaf(db->index->inner, collect_leaf, list), 0);
}

/* Empties leaf i's key range through the leaf delete alone, so no merge removes the leaf. */
static void empty_leaf(alexdb *db, const leaf_list *list, size_t i, uint8_t *present)
{
    alex_index *index = db->index;
    for (uint64_t k = 0; k < KEY_COUNT; k++) {
        uint64_t key = k * KEY_STEP;
        if (key < list->low[i] || key > list->high[i] || !present[k]) continue;
        alex_value old;
        bool sparse = false;
        pthread_rwlock_rdlock(&index->tree_lock);
        int rc = alex_tree_delete(index, key, &old, &sparse);
        pthread_rwlock_unlock(&index->tree_lock);
        assert_int_equal(rc, ALEXDB_OK);
        atomic_fetch_sub(&index->key_count, 1);
        present[k] = 0;
    }
}

/* From seek(from), the iterator yields exactly the present keys >= from, in order. */
static void expect_iteration(alexdb *db, const uint8_t *present, uint64_t from)
{
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, from);
    for (uint64_t k = 0; k < KEY_COUNT; k++) {
        uint64_t key = k * KEY_STEP;
        if (!present[k] || key < from) continue;
        assert_true(alexdb_iter_valid(it));
        assert_int_equal(alexdb_iter_key(it), key);
        const void *v = NULL;
        size_t size = 0;
        alexdb_iter_value(it, &v, &size);
        assert_int_equal(size, sizeof(key));
        assert_memory_equal(v, &key, sizeof(key));
        alexdb_iter_next(it);
    }
    assert_false(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
}

/* Empty leaves first, in runs in the middle and last are walked over by seek and next. */
static void test_empty_leaves_between(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    fill(db, KEY_COUNT);
    static leaf_list list;
    leaves_of(db, &list);
    assert_true(list.count >= 12);
    static uint8_t present[KEY_COUNT];
    memset(present, 1, sizeof(present));
    const size_t victims[] = {0, 3, 4, 5, 9, list.count - 2, list.count - 1};
    for (size_t v = 0; v < COMMON_ARRAY_COUNT(victims); v++) empty_leaf(db, &list, victims[v], present);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.leaf_count, list.count); /* the empty leaves are still there */
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    expect_iteration(db, present, 0);
    /* Seeks into each empty leaf, at its first key, its last key and past everything. */
    for (size_t v = 0; v < COMMON_ARRAY_COUNT(victims); v++) {
        expect_iteration(db, present, list.low[victims[v]]);
        expect_iteration(db, present, list.high[victims[v]]);
    }
    expect_iteration(db, present, list.high[2] + 1); /* just before a run of empty leaves */
    expect_iteration(db, present, UINT64_MAX);
    /* A cursor walking onto an empty leaf at the very end reports the end cleanly. */
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, list.high[list.count - 3]);
    assert_false(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    /* The same after a reopen (the leaves persisted empty). */
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path);
    expect_iteration(db, present, 0);
    expect_iteration(db, present, list.low[4]);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* After every key is deleted the db iterates as empty, checks clean and fills again. */
static void test_iterate_after_deleting_everything(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    fill(db, KEY_COUNT);
    for (uint64_t i = 0; i < KEY_COUNT; i++) {
        uint64_t key = ((i * 7919) % KEY_COUNT) * KEY_STEP; /* scattered order */
        assert_int_equal(alexdb_delete(db, key), ALEXDB_OK);
    }
    static uint8_t present[KEY_COUNT];
    memset(present, 0, sizeof(present));
    for (int round = 0; round < 2; round++) {
        expect_iteration(db, present, 0);
        expect_iteration(db, present, 12345);
        expect_iteration(db, present, UINT64_MAX);
        assert_int_equal(alexdb_check(db), ALEXDB_OK);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        db = open_db(fx->path);
    }
    for (uint64_t k = 100; k < KEY_COUNT; k += 331) {
        uint64_t key = k * KEY_STEP;
        assert_int_equal(alexdb_put(db, key, &key, sizeof(key)), ALEXDB_OK);
        present[k] = 1;
    }
    expect_iteration(db, present, 0);
    expect_iteration(db, present, 200 * KEY_STEP);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

static void big_value(uint64_t key, uint8_t *buf, size_t size)
{
    for (size_t i = 0; i < size; i++) buf[i] = (uint8_t)(key * 3 + i / 7);
}

#define BIG_KEYS 400u

static size_t big_size(uint64_t i)
{
    return i % 4 == 0 ? 1025 + i * 37 % 9000 : 10 + i % 90;
}

/* Values over 1 KiB are read on demand: one read each, none when only keys are walked. */
static void test_big_values_on_demand(void **state)
{
    tu_fixture *fx = *state;
    uint8_t *buf = malloc(10100), *want = malloc(10100);
    alexdb *db = open_db(fx->path);
    uint64_t big_count = 0;
    for (uint64_t i = 0; i < BIG_KEYS; i++) {
        big_value(i, buf, big_size(i));
        assert_int_equal(alexdb_put(db, i, buf, big_size(i)), ALEXDB_OK);
        big_count += big_size(i) > 1024;
    }
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    /* Keys only: the leaves are read, no overflow run. */
    db = open_db(fx->path);
    struct alexdb_stats s0, s1, s2;
    assert_int_equal(alexdb_stats(db, &s0), ALEXDB_OK);
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    uint64_t n = 0;
    for (alexdb_iter_seek(it, 0); alexdb_iter_valid(it); alexdb_iter_next(it)) {
        assert_int_equal(alexdb_iter_key(it), n++);
    }
    assert_int_equal(n, BIG_KEYS);
    assert_int_equal(alexdb_stats(db, &s1), ALEXDB_OK);
    assert_int_equal(s1.device_read_count - s0.device_read_count, s1.leaf_count);
    /* With values: one more read per big value; every value right. */
    n = 0;
    for (alexdb_iter_seek(it, 0); alexdb_iter_valid(it); alexdb_iter_next(it), n++) {
        const void *v = NULL;
        size_t size = 0;
        alexdb_iter_value(it, &v, &size);
        assert_int_equal(size, big_size(n));
        big_value(n, want, size);
        assert_memory_equal(v, want, size);
        if (n % 5 == 0) { /* asking twice returns the same bytes */
            alexdb_iter_value(it, &v, &size);
            assert_memory_equal(v, want, size);
        }
    }
    assert_int_equal(n, BIG_KEYS);
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(alexdb_stats(db, &s2), ALEXDB_OK);
    uint64_t repeats = 0;
    for (uint64_t i = 0; i < BIG_KEYS; i += 5) repeats += big_size(i) > 1024;
    assert_int_equal(s2.device_read_count - s1.device_read_count, big_count + repeats);
    /* A big value replaced after the cursor reached its key: the value of that moment. */
    alexdb_iter_seek(it, 8);
    assert_true(alexdb_iter_valid(it));
    assert_true(big_size(8) > 1024);
    big_value(1000, buf, 10000);
    assert_int_equal(alexdb_put(db, 8, buf, 10000), ALEXDB_OK); /* bigger */
    const void *v = NULL;
    size_t size = 0;
    alexdb_iter_value(it, &v, &size);
    assert_int_equal(size, 10000);
    assert_memory_equal(v, buf, 10000);
    alexdb_iter_next(it);
    assert_int_equal(alexdb_iter_key(it), 9);
    alexdb_iter_seek(it, 12);
    assert_int_equal(alexdb_put(db, 12, "tiny", 4), ALEXDB_OK); /* now inline */
    alexdb_iter_value(it, &v, &size);
    assert_int_equal(size, 4);
    assert_memory_equal(v, "tiny", 4);
    alexdb_iter_next(it);
    assert_int_equal(alexdb_iter_key(it), 13);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(buf);
    free(want);
}

/*
 * A cursor walks while, ahead of it, keys are inserted (splits) and deleted (merges):
 * keys come out strictly increasing, once each, every key present throughout is seen,
 * and no key that never existed appears.
 */
static void test_survives_splits_and_merges_ahead(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    /* Stable keys: multiples of 8 in [0, 80000); volatile ones at 8k + 3, 5 and 6. */
    const uint64_t stable_count = 10000;
    for (uint64_t i = 0; i < stable_count; i++) {
        uint64_t key = i * 8;
        assert_int_equal(alexdb_put(db, key, &key, 8), ALEXDB_OK);
    }
    for (uint64_t i = 0; i < stable_count; i++) {
        uint64_t key = i * 8 + 3;
        assert_int_equal(alexdb_put(db, key, &key, 8), ALEXDB_OK);
    }
    struct alexdb_stats before, after;
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, 0);
    uint64_t last = 0, seen_stable = 0, steps = 0;
    bool first = true;
    while (alexdb_iter_valid(it)) {
        uint64_t key = alexdb_iter_key(it);
        assert_true(first || key > last);
        first = false;
        last = key;
        assert_true(key % 8 == 0 || key % 8 == 3 || key % 8 == 5 || key % 8 == 6);
        assert_true(key < stable_count * 8);
        const void *v = NULL;
        size_t size = 0;
        alexdb_iter_value(it, &v, &size);
        assert_int_equal(size, 8);
        assert_memory_equal(v, &key, 8);
        if (key % 8 == 0) {
            assert_int_equal(key, seen_stable * 8); /* no stable key skipped */
            seen_stable++;
        }
        if (++steps % 200 == 0) {
            /* Far ahead: insert 8k + 5 and 8k + 6 (splits). Nearer: delete every volatile
             * key of a band, leaving its leaves a quarter full (merges). */
            uint64_t at = key / 8;
            for (uint64_t i = at + 300; i < at + 700 && i < stable_count; i++) {
                uint64_t k5 = i * 8 + 5, k6 = i * 8 + 6;
                assert_int_equal(alexdb_put(db, k5, &k5, 8), ALEXDB_OK);
                assert_int_equal(alexdb_put(db, k6, &k6, 8), ALEXDB_OK);
            }
            for (uint64_t i = at + 100; i < at + 200 && i < stable_count; i++) {
                for (uint64_t d = 3; d <= 6; d++) {
                    int rc = alexdb_delete(db, i * 8 + d);
                    assert_true(rc == ALEXDB_OK || rc == ALEXDB_NOTFOUND);
                }
            }
        }
        alexdb_iter_next(it);
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(seen_stable, stable_count);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
    assert_true(after.split_count > before.split_count);
    assert_true(after.merge_count > before.merge_count);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* A big value deleted after the iterator reached its key reads as absent; the scan goes on. */
static void test_value_deleted_under_iterator(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    static uint8_t buf5000[5000];
    for (uint64_t i = 0; i < 10; i++) assert_int_equal(alexdb_put(db, i, buf5000, 5000), ALEXDB_OK);
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, 4);
    assert_int_equal(alexdb_delete(db, 4), ALEXDB_OK);
    const void *v = (const void *)1;
    size_t size = 1;
    alexdb_iter_value(it, &v, &size);
    assert_null(v);
    assert_int_equal(size, 0);
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    alexdb_iter_next(it);
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(alexdb_iter_key(it), 5);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* ---- fills of many leaves (readahead), against a sorted array ---------------------- */

#define ORACLE_KEYS 12000u

static size_t oracle_size(uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull >> 40;
    if (h % 97 == 0) return 1025 + h % 3000; /* out of line, about 1 in 100 */
    return h % 7 == 0 ? 0 : 1 + h % 180;
}

static void oracle_value(uint64_t key, uint8_t *buf, size_t size)
{
    for (size_t i = 0; i < size; i++) buf[i] = (uint8_t)(key * 31 + i);
}

static int compare_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The index of the first key >= from in sorted[0, count), or count. */
static size_t lower_index(const uint64_t *sorted, size_t count, uint64_t from)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < from) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Reads length entries from a seek to from (fewer at the end) and checks each one. */
static void expect_scan(alexdb_iter *it, const uint64_t *sorted, size_t count, uint64_t from,
                        size_t length, bool values, uint8_t *want)
{
    size_t at = lower_index(sorted, count, from);
    alexdb_iter_seek(it, from);
    for (size_t k = 0; k < length && at + k < count; k++, alexdb_iter_next(it)) {
        uint64_t key = sorted[at + k];
        assert_true(alexdb_iter_valid(it));
        assert_int_equal(alexdb_iter_key(it), key);
        if (!values && oracle_size(key) > 1024) continue; /* out of line: read on demand */
        const void *v = NULL;
        size_t size = 99999;
        alexdb_iter_value(it, &v, &size);
        assert_int_equal(size, oracle_size(key));
        oracle_value(key, want, size);
        if (size > 0) assert_memory_equal(v, want, size);
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    if (at + length >= count) assert_false(alexdb_iter_valid(it));
}

/*
 * Seeks with scans of every kind of length, repeated (the cursor then expects that
 * length and copies that many leaves at once) or changing, from keys present, absent,
 * before the first and after the last: every entry comes out as a sorted array says.
 */
static void test_scans_match_sorted_array(void **state)
{
    tu_fixture *fx = *state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    static uint64_t sorted[ORACLE_KEYS];
    uint8_t *buf = malloc(5000);
    alexdb *db = open_db(fx->path);
    for (size_t i = 0; i < ORACLE_KEYS; i++) {
        uint64_t key = common_rng_next(&rng) >> 8; /* room above the last key */
        sorted[i] = key;
        oracle_value(key, buf, oracle_size(key));
        assert_int_equal(alexdb_put(db, key, buf, oracle_size(key)), ALEXDB_OK);
    }
    qsort(sorted, ORACLE_KEYS, sizeof(sorted[0]), compare_key);
    size_t count = 0; /* a random draw can repeat a key */
    for (size_t i = 0; i < ORACLE_KEYS; i++) {
        if (count == 0 || sorted[i] != sorted[count - 1]) sorted[count++] = sorted[i];
    }
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    size_t length = 100;
    for (int round = 0; round < 600; round++) {
        uint64_t pick = common_rng_next(&rng);
        if (pick % 4 == 0) length = 1 + common_rng_below(&rng, pick % 3 == 0 ? 2000 : 150);
        uint64_t from = pick % 5 == 0 ? common_rng_next(&rng) >> 8 : sorted[pick % count];
        if (round % 97 == 0) from = 0;
        if (round % 89 == 0) from = UINT64_MAX;
        expect_scan(it, sorted, count, from, length, round % 10 == 0, buf);
    }
    expect_scan(it, sorted, count, 0, count + 1, true, buf); /* everything, once */
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(buf);
}

#define FULL_POOL_KEYS 8000u

/* Every key and 100-byte value (the key, then zeroes) of a full scan, in order. */
static void expect_full_pool_scan(alexdb_iter *it, uint64_t from_index)
{
    uint64_t n = from_index;
    for (alexdb_iter_seek(it, from_index); alexdb_iter_valid(it); alexdb_iter_next(it), n++) {
        assert_int_equal(alexdb_iter_key(it), n);
        const void *v = NULL;
        size_t size = 0;
        alexdb_iter_value(it, &v, &size);
        assert_int_equal(size, 100);
        assert_memory_equal(v, &n, sizeof(n));
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(n, FULL_POOL_KEYS);
}

/*
 * With nearly every frame of a 64-frame pool pinned elsewhere, a fill cannot pin a batch
 * of leaves (ALEXDB_FULL): it goes on one leaf at a time, and the scan is complete.
 */
static void test_scan_with_pool_nearly_full(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    uint8_t value[100] = {0};
    for (uint64_t key = 0; key < FULL_POOL_KEYS; key++) {
        memcpy(value, &key, sizeof(key));
        assert_int_equal(alexdb_put(db, key, value, sizeof(value)), ALEXDB_OK);
    }
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = tu_db_open(fx->path, PAGER_CACHE_SIZE_MIN); /* 64 frames, every page clean */
    static leaf_list list;
    leaves_of(db, &list);
    enum { PINNED_COUNT = 61 };
    assert_true(list.count > 3 * PINNED_COUNT);
    static pager_frame *pinned[PINNED_COUNT];
    for (size_t i = 0; i < PINNED_COUNT; i++) {
        int rc = pager_pin(db->index->pager, list.page_no[3 * i], 0, &pinned[i]);
        assert_int_equal(rc, ALEXDB_OK);
    }
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    for (int round = 0; round < 3; round++) expect_full_pool_scan(it, 0); /* then long ones */
    expect_full_pool_scan(it, 1234);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    for (size_t i = 0; i < PINNED_COUNT; i++) pager_unpin(db->index->pager, pinned[i]);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/*
 * A leaf whose fences disagree with the inner nodes (A3) stops a scan with
 * ALEXDB_CORRUPT, whether the cursor routes to it or walks on to it from the leaf
 * before: never a loop, a skipped key or a wrong answer.
 */
static void test_fences_disagreeing_are_corrupt(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    fill(db, KEY_COUNT);
    static leaf_list list;
    leaves_of(db, &list);
    assert_true(list.count >= 8);
    size_t b = list.count / 2; /* leaf b's low fence moves up by one, in the cache only */
    pager_frame *frame = NULL;
    assert_int_equal(pager_pin(db->index->pager, list.page_no[b], 0, &frame), ALEXDB_OK);
    uint8_t *page = pager_frame_data(frame);
    pager_latch_exclusive(frame);
    common_store_u64le(page + ALEX_LEAF_FIELD_FENCE_LOW, list.low[b] + 1);
    pager_unlatch(frame);
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    /* Routed to: seek into it, or run off the end of the leaf before it. */
    alexdb_iter_seek(it, list.low[b]);
    assert_false(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_status(it), ALEXDB_CORRUPT);
    alexdb_iter_seek(it, list.low[b - 1]);
    assert_true(alexdb_iter_valid(it));
    while (alexdb_iter_valid(it)) {
        assert_true(alexdb_iter_key(it) <= list.high[b - 1]);
        alexdb_iter_next(it);
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_CORRUPT);
    /* Walked on to within one fill: after a long scan the next fill copies many leaves. */
    alexdb_iter_seek(it, 0);
    while (alexdb_iter_valid(it) && alexdb_iter_key(it) < list.low[b - 3]) alexdb_iter_next(it);
    alexdb_iter_seek(it, list.low[b - 2]);
    while (alexdb_iter_valid(it)) {
        assert_true(alexdb_iter_key(it) <= list.high[b - 1]);
        alexdb_iter_next(it);
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_CORRUPT);
    pager_latch_exclusive(frame);
    common_store_u64le(page + ALEX_LEAF_FIELD_FENCE_LOW, list.low[b]);
    pager_unlatch(frame);
    pager_unpin(db->index->pager, frame);
    alexdb_iter_seek(it, list.low[b - 2]); /* as it was: the same scans go through */
    uint64_t last = 0;
    while (alexdb_iter_valid(it)) {
        last = alexdb_iter_key(it);
        alexdb_iter_next(it);
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(last, (KEY_COUNT - 1) * KEY_STEP);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_value_deleted_under_iterator, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_empty_leaves_between, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_iterate_after_deleting_everything, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_big_values_on_demand, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_survives_splits_and_merges_ahead, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_scans_match_sorted_array, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_scan_with_pool_nearly_full, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fences_disagreeing_are_corrupt, tu_fixture_setup,
                                        tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
