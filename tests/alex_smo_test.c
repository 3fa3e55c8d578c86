/*
 * alex_smo_test.c: structure modifications (alex/smo.c): splits, retrains and merges.
 * For sequential, reverse, clustered-above-2^53, alternating-extreme and hashed insert
 * orders, splits and retrains happen and are counted, deleting most keys merges leaves,
 * every structure change is accounted for (leaf_count = 1 + split_count - merge_count),
 * every key reads back and alexdb_check passes after each phase; deleting everything
 * leaves a database that checks clean, iterates empty, survives reopen and takes new
 * keys. Leaves of 1 KiB values (three fit a page) split and merge correctly too.
 */
#include "alexdb.h"
#include "testutil.h"

#include <stdio.h>

#define KEY_COUNT 20000u

enum order { ORDER_SEQUENTIAL, ORDER_REVERSE, ORDER_CLUSTERED_HIGH, ORDER_ALTERNATING, ORDER_HASHED };

static alexdb *open_db(const char *dir)
{
    return tu_db_open(dir, 8u << 20);
}

/* The i-th key inserted in each order; distinct for i < n. */
static uint64_t key_at(enum order order, uint64_t i, uint64_t n)
{
    switch (order) {
    case ORDER_SEQUENTIAL:
        return i * 3;
    case ORDER_REVERSE:
        return (n - 1 - i) * 3;
    case ORDER_CLUSTERED_HIGH: /* a dense cluster far above 2^53, in scattered order */
        return (1ULL << 60) + (i * 7919) % n;
    case ORDER_ALTERNATING: /* 0, MAX, 1, MAX - 1, ... */
        return i % 2 == 0 ? i / 2 : UINT64_MAX - i / 2;
    case ORDER_HASHED: {
        uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL;
        return x ^ (x >> 31); /* a bijection of i: distinct */
    }
    }
    return 0;
}

/* Stats; every split since the open added one leaf and every merge removed one. */
static struct alexdb_stats stats_of(alexdb *db, uint64_t leaves_at_open)
{
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.leaf_count, leaves_at_open + st.split_count - st.merge_count);
    return st;
}

static uint64_t leaf_count_of(alexdb *db)
{
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.split_count + st.merge_count, 0); /* just opened */
    return st.leaf_count;
}

static void expect_keys(alexdb *db, enum order order, uint64_t n, const uint8_t *present)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t key = key_at(order, i, n), got_value = 0;
        size_t got = 0;
        int rc = alexdb_get(db, key, &got_value, sizeof(got_value), &got);
        assert_int_equal(rc, present[i] ? ALEXDB_OK : ALEXDB_NOTFOUND);
        if (rc == ALEXDB_OK) {
            assert_int_equal(got, 8);
            assert_int_equal(got_value, key);
        }
    }
}

static void run_order(const char *dir, enum order order)
{
    static uint8_t present[KEY_COUNT];
    memset(present, 0, sizeof(present));
    alexdb *db = open_db(dir);
    for (uint64_t i = 0; i < KEY_COUNT; i++) {
        uint64_t key = key_at(order, i, KEY_COUNT);
        assert_int_equal(alexdb_put(db, key, &key, 8), ALEXDB_OK);
        present[i] = 1;
    }
    struct alexdb_stats grown = stats_of(db, 1);
    assert_int_equal(grown.key_count, KEY_COUNT);
    assert_true(grown.split_count >= 50);
    assert_true(grown.retrain_count > 0);
    assert_int_equal(grown.merge_count, 0);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    expect_keys(db, order, KEY_COUNT, present);
    /* Nine keys in ten go: sparse leaves merge. */
    for (uint64_t i = 0; i < KEY_COUNT; i++) {
        if (i % 10 == 3) continue;
        assert_int_equal(alexdb_delete(db, key_at(order, i, KEY_COUNT)), ALEXDB_OK);
        present[i] = 0;
    }
    struct alexdb_stats shrunk = stats_of(db, 1);
    assert_int_equal(shrunk.key_count, KEY_COUNT / 10);
    assert_true(shrunk.merge_count >= grown.leaf_count / 4);
    assert_true(shrunk.leaf_count < grown.leaf_count / 2);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    expect_keys(db, order, KEY_COUNT, present);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(dir);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    expect_keys(db, order, KEY_COUNT, present);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* Sequential inserts split and retrain, deletes merge; everything accounted and checked. */
static void test_sequential(void **state)
{
    run_order(((tu_fixture *)*state)->path, ORDER_SEQUENTIAL);
}

/* Reverse (descending) inserts: the same. */
static void test_reverse(void **state)
{
    run_order(((tu_fixture *)*state)->path, ORDER_REVERSE);
}

/* A dense cluster above 2^53 (doubles collide, models saturate): the same. */
static void test_clustered_above_2_53(void **state)
{
    run_order(((tu_fixture *)*state)->path, ORDER_CLUSTERED_HIGH);
}

/* Alternating 0, UINT64_MAX, 1, UINT64_MAX - 1, ...: growth at both ends at once. */
static void test_alternating_extremes(void **state)
{
    run_order(((tu_fixture *)*state)->path, ORDER_ALTERNATING);
}

/* Keys spread over the whole key space in hashed order. */
static void test_hashed(void **state)
{
    run_order(((tu_fixture *)*state)->path, ORDER_HASHED);
}

/* Deleting every key leaves a db that checks clean, iterates empty and takes new keys. */
static void test_delete_everything(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    for (uint64_t i = 0; i < KEY_COUNT; i++) {
        uint64_t key = key_at(ORDER_HASHED, i, KEY_COUNT);
        assert_int_equal(alexdb_put(db, key, &key, 8), ALEXDB_OK);
    }
    for (uint64_t i = 0; i < KEY_COUNT; i++) {
        assert_int_equal(alexdb_delete(db, key_at(ORDER_HASHED, (i * 7) % KEY_COUNT, KEY_COUNT)), ALEXDB_OK);
    }
    struct alexdb_stats st = stats_of(db, 1);
    assert_int_equal(st.key_count, 0);
    assert_true(st.merge_count > 0);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, 0);
    assert_false(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path);
    uint64_t leaves = leaf_count_of(db);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    /* New keys, in a new place, grow it again. */
    static uint8_t present[KEY_COUNT];
    memset(present, 1, sizeof(present));
    for (uint64_t i = 0; i < KEY_COUNT; i++) {
        uint64_t key = key_at(ORDER_SEQUENTIAL, i, KEY_COUNT);
        assert_int_equal(alexdb_put(db, key, &key, 8), ALEXDB_OK);
    }
    st = stats_of(db, leaves);
    assert_int_equal(st.key_count, KEY_COUNT);
    assert_true(st.split_count > 0);
    expect_keys(db, ORDER_SEQUENTIAL, KEY_COUNT, present);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

#define BIG_VALUE 1024u
#define BIG_COUNT 600u

static void big_of(uint64_t key, uint8_t *buf)
{
    for (uint32_t i = 0; i < BIG_VALUE; i++) buf[i] = (uint8_t)(key * 29 + i);
}

/* Leaves of 1024-byte inline values (at most three a page) split and merge correctly. */
static void test_leaves_of_1k_values(void **state)
{
    tu_fixture *fx = *state;
    const enum order orders[] = {ORDER_SEQUENTIAL, ORDER_REVERSE, ORDER_HASHED};
    uint8_t buf[BIG_VALUE], want[BIG_VALUE];
    for (size_t o = 0; o < COMMON_ARRAY_COUNT(orders); o++) {
        char name[16];
        snprintf(name, sizeof(name), "db%zu", o);
        char *dir = tu_path(fx->dir, name);
        alexdb *db = open_db(dir);
        for (uint64_t i = 0; i < BIG_COUNT; i++) {
            uint64_t key = key_at(orders[o], i, BIG_COUNT);
            big_of(key, buf);
            assert_int_equal(alexdb_put(db, key, buf, BIG_VALUE), ALEXDB_OK);
        }
        uint64_t leaves = 1;
        struct alexdb_stats st = stats_of(db, leaves);
        assert_true(st.leaf_count >= BIG_COUNT / 3); /* no more than three such values a page */
        assert_true(st.split_count >= BIG_COUNT / 3 - 1);
        assert_int_equal(alexdb_check(db), ALEXDB_OK);
        for (int round = 0; round < 2; round++) {
            for (uint64_t i = 0; i < BIG_COUNT; i++) {
                uint64_t key = key_at(orders[o], i, BIG_COUNT);
                size_t got = 0;
                int rc = alexdb_get(db, key, buf, sizeof(buf), &got);
                if (round == 1 && i % 3 != 0) {
                    assert_int_equal(rc, ALEXDB_NOTFOUND);
                    continue;
                }
                assert_int_equal(rc, ALEXDB_OK);
                assert_int_equal(got, BIG_VALUE);
                big_of(key, want);
                assert_memory_equal(buf, want, BIG_VALUE);
            }
            if (round == 0) {
                /* Two in three go (a leaf of one such value is not sparse enough to merge). */
                for (uint64_t i = 0; i < BIG_COUNT; i++) {
                    uint64_t key = key_at(orders[o], i, BIG_COUNT);
                    if (i % 3 != 0) assert_int_equal(alexdb_delete(db, key), ALEXDB_OK);
                }
                stats_of(db, leaves);
                assert_int_equal(alexdb_check(db), ALEXDB_OK);
                assert_int_equal(alexdb_close(db), ALEXDB_OK);
                db = open_db(dir);
                leaves = leaf_count_of(db);
            }
        }
        /* Values either side of the inline limit interleave in the same leaves. */
        static const size_t sizes[] = {1, BIG_VALUE, BIG_VALUE + 1, 3000};
        static uint8_t mixed[3000], got_bytes[3000];
        for (uint64_t i = 0; i < BIG_COUNT; i += 3) {
            uint64_t key = key_at(orders[o], i, BIG_COUNT) + 1;
            memset(mixed, (int)(key & 0xFF), sizeof(mixed));
            assert_int_equal(alexdb_put(db, key, mixed, sizes[i % 4]), ALEXDB_OK);
        }
        stats_of(db, leaves);
        assert_int_equal(alexdb_check(db), ALEXDB_OK);
        for (uint64_t i = 0; i < BIG_COUNT; i += 3) {
            uint64_t key = key_at(orders[o], i, BIG_COUNT) + 1;
            size_t got = 0;
            assert_int_equal(alexdb_get(db, key, got_bytes, sizeof(got_bytes), &got), ALEXDB_OK);
            assert_int_equal(got, sizes[i % 4]);
            memset(mixed, (int)(key & 0xFF), sizeof(mixed));
            assert_memory_equal(got_bytes, mixed, got);
        }
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        free(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sequential, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_reverse, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_clustered_above_2_53, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_alternating_extremes, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hashed, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_delete_everything, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_leaves_of_1k_values, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
