/*
 * api_batch_test.c: write batches (api/batch.c over alex_apply): all operations land,
 * later ones on the same key win, deletes of absent keys are fine, bad input is
 * refused, and readers never see part of a batch.
 */
#include "alexdb.h"
#include "testutil.h"

#include <pthread.h>
#include <string.h>

static alexdb *open_db(const char *dir)
{
    return tu_db_open(dir, 1u << 20);
}

/* Puts, overwrites and deletes in one batch apply in order; the batch can be reused. */
static void test_batch_applies_in_order(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_put(db, 5, "old", 3), ALEXDB_OK);
    alexdb_batch *b = NULL;
    assert_int_equal(alexdb_batch_create(&b), ALEXDB_OK);
    for (uint64_t k = 100; k < 1100; k++) assert_int_equal(alexdb_batch_put(b, k, &k, 8), ALEXDB_OK);
    assert_int_equal(alexdb_batch_put(b, 7, "first", 5), ALEXDB_OK);
    assert_int_equal(alexdb_batch_put(b, 7, "second", 6), ALEXDB_OK);
    assert_int_equal(alexdb_batch_delete(b, 5), ALEXDB_OK);
    assert_int_equal(alexdb_batch_delete(b, 6), ALEXDB_OK); /* absent: fine */
    uint8_t big[5000];
    memset(big, 0xAB, sizeof(big));
    assert_int_equal(alexdb_batch_put(b, 9, big, sizeof(big)), ALEXDB_OK);
    assert_int_equal(alexdb_batch_count(b), 1005);
    assert_int_equal(alexdb_batch_commit(db, b), ALEXDB_OK);
    uint8_t buf[8192];
    size_t size = 0;
    assert_int_equal(alexdb_get(db, 7, buf, sizeof(buf), &size), ALEXDB_OK);
    assert_int_equal(size, 6);
    assert_memory_equal(buf, "second", 6);
    assert_int_equal(alexdb_get(db, 5, buf, sizeof(buf), &size), ALEXDB_NOTFOUND);
    assert_int_equal(alexdb_get(db, 9, buf, sizeof(buf), &size), ALEXDB_OK);
    assert_memory_equal(buf, big, sizeof(big));
    for (uint64_t k = 100; k < 1100; k += 37) {
        assert_int_equal(alexdb_get(db, k, buf, sizeof(buf), &size), ALEXDB_OK);
        assert_memory_equal(buf, &k, 8);
    }
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, 1002);
    alexdb_batch_clear(b);
    assert_int_equal(alexdb_batch_count(b), 0);
    assert_int_equal(alexdb_batch_commit(db, b), ALEXDB_OK);
    alexdb_batch_destroy(b);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* NULLs and oversized values are refused. */
static void test_batch_bad_input(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    alexdb_batch *b = NULL;
    assert_int_equal(alexdb_batch_create(NULL), ALEXDB_INVALID);
    assert_int_equal(alexdb_batch_create(&b), ALEXDB_OK);
    assert_int_equal(alexdb_batch_put(NULL, 1, "x", 1), ALEXDB_INVALID);
    assert_int_equal(alexdb_batch_put(b, 1, NULL, 1), ALEXDB_INVALID);
    assert_int_equal(alexdb_batch_put(b, 1, "x", (size_t)ALEXDB_VALUE_SIZE_MAX + 1), ALEXDB_TOOBIG);
    assert_int_equal(alexdb_batch_delete(NULL, 1), ALEXDB_INVALID);
    assert_int_equal(alexdb_batch_commit(db, NULL), ALEXDB_INVALID);
    assert_int_equal(alexdb_batch_commit(NULL, b), ALEXDB_INVALID);
    alexdb_batch_destroy(b);
    alexdb_batch_destroy(NULL);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

typedef struct watcher {
    alexdb *db;
    int stop;
    int torn;
    int reads;
} watcher;

/* Reads keys 1 and 2 together: a batch always writes both with the same value. */
static void *watch(void *arg)
{
    watcher *w = arg;
    while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
        alexdb_iter *it = NULL;
        if (alexdb_iter_open(w->db, &it) != ALEXDB_OK) continue;
        alexdb_iter_seek(it, 1);
        uint64_t a = 0, b = 0;
        const void *v = NULL;
        size_t size = 0;
        if (alexdb_iter_valid(it) && alexdb_iter_key(it) == 1) {
            alexdb_iter_value(it, &v, &size);
            memcpy(&a, v, 8);
            alexdb_iter_next(it);
            alexdb_iter_value(it, &v, &size);
            memcpy(&b, v, 8);
            /* Each leaf is copied whole, and both keys share a leaf: equal unless torn. */
            if (a != b) w->torn++;
            w->reads++;
        }
        alexdb_iter_close(it);
    }
    return NULL;
}

/* No reader sees one key of a committed batch without the other. */
static void test_batch_atomic_for_readers(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    uint64_t zero = 0;
    assert_int_equal(alexdb_put(db, 1, &zero, 8), ALEXDB_OK);
    assert_int_equal(alexdb_put(db, 2, &zero, 8), ALEXDB_OK);
    watcher w = {.db = db};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, watch, &w), 0);
    alexdb_batch *b = NULL;
    assert_int_equal(alexdb_batch_create(&b), ALEXDB_OK);
    for (uint64_t v = 1; v <= 2000; v++) {
        alexdb_batch_clear(b);
        assert_int_equal(alexdb_batch_put(b, 1, &v, 8), ALEXDB_OK);
        assert_int_equal(alexdb_batch_put(b, 2, &v, 8), ALEXDB_OK);
        assert_int_equal(alexdb_batch_commit(db, b), ALEXDB_OK);
    }
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    assert_int_equal(w.torn, 0);
    alexdb_batch_destroy(b);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_applies_in_order, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_batch_bad_input, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_batch_atomic_for_readers, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
