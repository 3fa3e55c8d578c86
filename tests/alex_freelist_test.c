/*
 * alex_freelist_test.c: the free page runs (alex/freelist.c): adding runs coalesces with
 * the left, the right or both neighbours; taking is first fit over the sorted runs, exact
 * or partial; page_count follows every change; and a long random sequence of adds and
 * takes matches a bitmap oracle (seed printed; ALEXDB_TEST_SEED replays).
 */
#include "testutil.h"

#include "index_int.h"

#include <inttypes.h>
#include <stdio.h>

/* The list holds exactly these runs (first, count pairs), in order, and their page total. */
static void expect_runs(const alex_freelist *list, const uint64_t *pairs, size_t run_count)
{
    assert_int_equal(list->count, run_count);
    uint64_t total = 0;
    for (size_t i = 0; i < run_count; i++) {
        assert_int_equal(list->runs[i].first, pairs[2 * i]);
        assert_int_equal(list->runs[i].count, pairs[2 * i + 1]);
        total += pairs[2 * i + 1];
    }
    assert_int_equal(list->page_count, total);
}

/* An empty list has nothing to give and counts no pages. */
static void test_empty(void **state)
{
    (void)state;
    alex_freelist list = {0};
    uint64_t first = 77;
    assert_false(alex_freelist_take(&list, 1, &first));
    assert_int_equal(first, 77);
    assert_int_equal(list.page_count, 0);
    alex_freelist_destroy(&list);
    assert_null(list.runs);
}

/* Disjoint runs stay separate and sorted whatever order they are added in. */
static void test_add_sorted(void **state)
{
    (void)state;
    alex_freelist list = {0};
    assert_int_equal(alex_freelist_add(&list, 50, 5), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 10, 2), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 30, 1), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 2, 3), ALEXDB_OK); /* the lowest legal page */
    const uint64_t want[] = {2, 3, 10, 2, 30, 1, 50, 5};
    expect_runs(&list, want, 4);
    alex_freelist_destroy(&list);
}

/* A run ending where the next starts joins it on the right. */
static void test_coalesce_right(void **state)
{
    (void)state;
    alex_freelist list = {0};
    assert_int_equal(alex_freelist_add(&list, 20, 4), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 17, 3), ALEXDB_OK);
    const uint64_t want[] = {17, 7};
    expect_runs(&list, want, 1);
    alex_freelist_destroy(&list);
}

/* A run starting where the previous ends joins it on the left. */
static void test_coalesce_left(void **state)
{
    (void)state;
    alex_freelist list = {0};
    assert_int_equal(alex_freelist_add(&list, 20, 4), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 24, 1), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 40, 1), ALEXDB_OK);
    const uint64_t want[] = {20, 5, 40, 1};
    expect_runs(&list, want, 2);
    alex_freelist_destroy(&list);
}

/* A run that exactly fills a hole merges three runs into one, keeping the others. */
static void test_coalesce_both(void **state)
{
    (void)state;
    alex_freelist list = {0};
    assert_int_equal(alex_freelist_add(&list, 2, 1), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 10, 5), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 20, 5), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 100, 1), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 15, 5), ALEXDB_OK);
    const uint64_t want[] = {2, 1, 10, 15, 100, 1};
    expect_runs(&list, want, 3);
    /* And the last run merging with its left neighbour only (no right one). */
    assert_int_equal(alex_freelist_add(&list, 3, 7), ALEXDB_OK);
    const uint64_t want2[] = {2, 23, 100, 1};
    expect_runs(&list, want2, 2);
    alex_freelist_destroy(&list);
}

/* Take is first fit: the lowest run long enough, even if a later one fits exactly. */
static void test_take_first_fit(void **state)
{
    (void)state;
    alex_freelist list = {0};
    assert_int_equal(alex_freelist_add(&list, 10, 2), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 20, 8), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 40, 3), ALEXDB_OK);
    uint64_t first = 0;
    assert_true(alex_freelist_take(&list, 3, &first));
    assert_int_equal(first, 20); /* not 40, where 3 would fit exactly */
    const uint64_t want[] = {10, 2, 23, 5, 40, 3};
    expect_runs(&list, want, 3);
    assert_false(alex_freelist_take(&list, 6, &first)); /* no run of 6 */
    expect_runs(&list, want, 3);                          /* and nothing changed */
    alex_freelist_destroy(&list);
}

/* Taking a whole run removes it; taking part keeps the rest at the upper end. */
static void test_take_exact_and_partial(void **state)
{
    (void)state;
    alex_freelist list = {0};
    assert_int_equal(alex_freelist_add(&list, 5, 4), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 30, 6), ALEXDB_OK);
    uint64_t first = 0;
    assert_true(alex_freelist_take(&list, 4, &first));
    assert_int_equal(first, 5);
    const uint64_t want[] = {30, 6};
    expect_runs(&list, want, 1);
    assert_true(alex_freelist_take(&list, 1, &first));
    assert_int_equal(first, 30);
    assert_true(alex_freelist_take(&list, 2, &first));
    assert_int_equal(first, 31);
    const uint64_t want2[] = {33, 3};
    expect_runs(&list, want2, 1);
    assert_true(alex_freelist_take(&list, 3, &first));
    assert_int_equal(first, 33);
    expect_runs(&list, NULL, 0);
    assert_false(alex_freelist_take(&list, 1, &first));
    /* A page taken and given back rejoins its neighbours. */
    assert_int_equal(alex_freelist_add(&list, 40, 10), ALEXDB_OK);
    assert_true(alex_freelist_take(&list, 10, &first));
    assert_int_equal(alex_freelist_add(&list, 40, 3), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 45, 5), ALEXDB_OK);
    assert_int_equal(alex_freelist_add(&list, 43, 2), ALEXDB_OK);
    const uint64_t want3[] = {40, 10};
    expect_runs(&list, want3, 1);
    alex_freelist_destroy(&list);
}

/* Many separate runs grow the array past its first capacity and stay sorted. */
static void test_many_runs(void **state)
{
    (void)state;
    alex_freelist list = {0};
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t page = 2 + ((i * 7919) % 1000) * 2; /* every other page, shuffled */
        assert_int_equal(alex_freelist_add(&list, page, 1), ALEXDB_OK);
    }
    assert_int_equal(list.count, 1000);
    assert_int_equal(list.page_count, 1000);
    for (size_t i = 0; i < list.count; i++) assert_int_equal(list.runs[i].first, 2 + 2 * i);
    /* Filling every hole leaves one run. */
    for (uint64_t i = 0; i < 999; i++) {
        assert_int_equal(alex_freelist_add(&list, 3 + ((i * 613) % 999) * 2, 1), ALEXDB_OK);
    }
    const uint64_t want[] = {2, 1999};
    expect_runs(&list, want, 1);
    alex_freelist_destroy(&list);
}

#define ORACLE_PAGES 600u

/* The free pages of the oracle as maximal runs must be exactly the list. */
static void compare_with_oracle(const alex_freelist *list, const uint8_t *is_free)
{
    size_t r = 0;
    uint64_t total = 0;
    for (uint64_t p = 2; p < ORACLE_PAGES;) {
        if (!is_free[p]) {
            p++;
            continue;
        }
        uint64_t start = p;
        while (p < ORACLE_PAGES && is_free[p]) p++;
        assert_true(r < list->count);
        assert_int_equal(list->runs[r].first, start);
        assert_int_equal(list->runs[r].count, p - start);
        total += p - start;
        r++;
    }
    assert_int_equal(r, list->count);
    assert_int_equal(list->page_count, total);
}

/* 200 K random adds and takes agree with a bitmap oracle after every step. */
static void test_random_against_oracle(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    static uint8_t is_free[ORACLE_PAGES];
    memset(is_free, 0, sizeof(is_free));
    alex_freelist list = {0};
    for (uint32_t step = 0; step < 200000; step++) {
        if (common_rng_below(&rng, 2) == 0) {
            /* Free a random in-use run: start anywhere in use, stop at a free page. */
            uint64_t start = 2 + common_rng_below(&rng, ORACLE_PAGES - 2);
            if (is_free[start]) continue;
            uint64_t len_max = 1 + common_rng_below(&rng, 12);
            uint64_t len = 0;
            while (len < len_max && start + len < ORACLE_PAGES && !is_free[start + len]) len++;
            assert_int_equal(alex_freelist_add(&list, start, len), ALEXDB_OK);
            for (uint64_t i = 0; i < len; i++) is_free[start + i] = 1;
        } else {
            uint64_t count = 1 + common_rng_below(&rng, 10);
            uint64_t expect = 0; /* first fit: the lowest start of a long enough run */
            bool found = false;
            for (uint64_t p = 2; p < ORACLE_PAGES && !found;) {
                uint64_t s = p;
                while (p < ORACLE_PAGES && is_free[p]) p++;
                if (p - s >= count) {
                    expect = s;
                    found = true;
                }
                p++;
            }
            uint64_t first = 0;
            bool taken = alex_freelist_take(&list, count, &first);
            assert_int_equal(taken, found);
            if (taken) {
                assert_int_equal(first, expect);
                for (uint64_t i = 0; i < count; i++) is_free[first + i] = 0;
            }
        }
        compare_with_oracle(&list, is_free);
    }
    alex_freelist_destroy(&list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_add_sorted),
        cmocka_unit_test(test_coalesce_right),
        cmocka_unit_test(test_coalesce_left),
        cmocka_unit_test(test_coalesce_both),
        cmocka_unit_test(test_take_first_fit),
        cmocka_unit_test(test_take_exact_and_partial),
        cmocka_unit_test(test_many_runs),
        cmocka_unit_test(test_random_against_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
