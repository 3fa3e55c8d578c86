/*
 * alex_cursor_test.c: ordered iteration (alex/cursor.c), through the public iterator.
 * Seek and next walk over empty leaves (first, middle runs, last) to exactly the keys
 * present; a database whose keys were all deleted iterates as empty and then fills
 * again; values over 1 KiB are read only when asked for (one read each) and are the
 * key's value at that moment; a cursor keeps returning strictly increasing keys, each
 * once, while splits and merges happen ahead of it.
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
    list.count = 0;
    assert_int_equal(alex_inner_for_each_leaf(db->index->inner, collect_leaf, &list), 0);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
