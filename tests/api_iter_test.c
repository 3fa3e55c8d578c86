/*
 * api_iter_test.c: iterators (api/iter.c over alex/cursor.c): order, seeks, edge keys,
 * empty ranges between leaves, values of every size, iterating while writing, and
 * misuse (close with open iterators, NULL); a value that cannot be read ends the scan.
 */
#include "alexdb.h"
#include "testutil.h"

#include <string.h>

static alexdb *open_db(const char *dir)
{
    return tu_db_open(dir, 1u << 20);
}

/* A full scan returns every key once, in order, with its value, across many leaves. */
static void test_full_scan_in_order(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t key = i * 7919 % 5000 * 3 + 1; /* shuffled, every third key */
        assert_int_equal(alexdb_put(db, key, &key, sizeof(key)), ALEXDB_OK);
    }
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    uint64_t expected = 1, count = 0;
    for (alexdb_iter_seek(it, 0); alexdb_iter_valid(it); alexdb_iter_next(it)) {
        assert_int_equal(alexdb_iter_key(it), expected);
        const void *value = NULL;
        size_t size = 0;
        alexdb_iter_value(it, &value, &size);
        assert_int_equal(size, 8);
        assert_memory_equal(value, &expected, 8);
        expected += 3;
        count++;
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(count, 5000);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* Seek lands on the first key >= the target, including past the end and on edge keys. */
static void test_seek(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    const uint64_t keys[] = {0, 10, 20, UINT64_MAX};
    for (int i = 0; i < 4; i++) assert_int_equal(alexdb_put(db, keys[i], "v", 1), ALEXDB_OK);
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, 11);
    assert_true(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_key(it), 20);
    alexdb_iter_next(it);
    assert_int_equal(alexdb_iter_key(it), UINT64_MAX);
    alexdb_iter_next(it);
    assert_false(alexdb_iter_valid(it));
    alexdb_iter_next(it); /* harmless once past the end */
    assert_false(alexdb_iter_valid(it));
    alexdb_iter_seek(it, UINT64_MAX);
    assert_int_equal(alexdb_iter_key(it), UINT64_MAX);
    alexdb_iter_seek(it, 0);
    assert_int_equal(alexdb_iter_key(it), 0);
    assert_int_equal(alexdb_delete(db, UINT64_MAX), ALEXDB_OK);
    alexdb_iter_seek(it, 21);
    assert_false(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    /* An open iterator keeps the database from closing. */
    assert_int_equal(alexdb_close(db), ALEXDB_BUSY);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    assert_int_equal(alexdb_iter_close(NULL), ALEXDB_INVALID);
}

/* Out-of-line values come back whole through the iterator. */
static void test_big_values(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    uint8_t *big = malloc(300000);
    for (size_t i = 0; i < 300000; i++) big[i] = (uint8_t)(i ^ (i >> 8));
    for (uint64_t k = 1; k <= 5; k++) assert_int_equal(alexdb_put(db, k, big, 60000 * k), ALEXDB_OK);
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    uint64_t k = 1;
    for (alexdb_iter_seek(it, 0); alexdb_iter_valid(it); alexdb_iter_next(it), k++) {
        const void *value = NULL;
        size_t size = 0;
        alexdb_iter_value(it, &value, &size);
        assert_int_equal(size, 60000 * k);
        assert_memory_equal(value, big, size);
    }
    assert_int_equal(k, 6);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(big);
}

/* Writing while iterating: keys still come out strictly increasing, none twice. */
static void test_writes_during_scan(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    for (uint64_t k = 0; k < 3000; k += 2) assert_int_equal(alexdb_put(db, k, &k, 8), ALEXDB_OK);
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    uint64_t last = 0, count = 0;
    bool first = true;
    for (alexdb_iter_seek(it, 0); alexdb_iter_valid(it); alexdb_iter_next(it)) {
        uint64_t key = alexdb_iter_key(it);
        assert_true(first || key > last);
        first = false;
        last = key;
        /* Insert behind and ahead, delete ahead: splits and merges under the iterator. */
        uint64_t ahead = key + 1001;
        if (key < 3000) assert_int_equal(alexdb_put(db, ahead | 1, &ahead, 8), ALEXDB_OK);
        if (key >= 2) assert_int_equal(alexdb_put(db, key - 1, &key, 8), ALEXDB_OK);
        count++;
    }
    assert_true(count >= 1500);
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/*
 * A value that cannot be read (its overflow run is corrupt on disk) ends the iteration:
 * not valid, ALEXDB_CORRUPT, key 0, next does nothing; a seek starts afresh.
 */
static void test_value_error_ends_iteration(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    static uint8_t big[5000];
    memset(big, 0x5a, sizeof(big));
    assert_int_equal(alexdb_put(db, 1, "one", 3), ALEXDB_OK);
    assert_int_equal(alexdb_put(db, 2, big, sizeof(big)), ALEXDB_OK);
    assert_int_equal(alexdb_put(db, 3, "three", 5), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    char *file = tu_path(fx->path, "alexdb.data");
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t overflow_page_no = 0;
    for (uint64_t page_no = 2; page_no < 64 && overflow_page_no == 0; page_no++) {
        tu_page_read(file, page_no, page);
        if (pager_page_kind(page) == PAGER_KIND_OVERFLOW) overflow_page_no = page_no;
    }
    assert_true(overflow_page_no != 0);
    tu_flip_bit(file, overflow_page_no * PAGER_PAGE_SIZE + 1000, 3);
    db = open_db(fx->path);
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, 0);
    const void *value = NULL;
    size_t size = 0;
    alexdb_iter_value(it, &value, &size);
    assert_int_equal(size, 3);
    alexdb_iter_next(it);
    assert_true(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_key(it), 2);
    alexdb_iter_value(it, &value, &size);
    assert_null(value);
    assert_int_equal(size, 0);
    assert_false(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_status(it), ALEXDB_CORRUPT);
    assert_int_equal(alexdb_iter_key(it), 0);
    alexdb_iter_next(it); /* does nothing */
    assert_false(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_status(it), ALEXDB_CORRUPT);
    alexdb_iter_seek(it, 3);
    assert_true(alexdb_iter_valid(it));
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(alexdb_iter_key(it), 3);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(page);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_scan_in_order, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_seek, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_big_values, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_writes_during_scan, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_value_error_ends_iteration, tu_fixture_setup,
                                        tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
