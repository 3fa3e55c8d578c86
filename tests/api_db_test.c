/*
 * api_db_test.c: the public handle (api/db.c): open/close/reopen, point operations on
 * edge keys and values of every size, and every kind of caller mistake returning its
 * code: NULLs, oversized values, closed handles, a second writer, a bad directory.
 */
#include "alexdb.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static alexdb *open_db(const char *dir)
{
    return tu_db_open(dir, 1u << 20);
}

static void check_value_is(alexdb *db, uint64_t key, const void *value, size_t size)
{
    uint8_t buf[2048];
    size_t got = 0;
    assert_int_equal(alexdb_get(db, key, buf, sizeof(buf), &got), ALEXDB_OK);
    assert_int_equal(got, size);
    assert_memory_equal(buf, value, COMMON_MIN(size, sizeof(buf)));
}

/* An empty database answers NOTFOUND, survives close and reopen, and stays empty. */
static void test_empty_database(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    size_t size = 0;
    assert_int_equal(alexdb_get(db, 42, NULL, 0, &size), ALEXDB_NOTFOUND);
    assert_int_equal(alexdb_delete(db, 42), ALEXDB_NOTFOUND);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path);
    assert_int_equal(alexdb_get(db, 0, NULL, 0, &size), ALEXDB_NOTFOUND);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, 0);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* 0, 1, 2^53 + 1, UINT64_MAX - 1 and UINT64_MAX are ordinary keys. */
static void test_edge_keys(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    const uint64_t keys[] = {0, 1, (1ULL << 53) + 1, (1ULL << 53) + 2, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < 6; i++) assert_int_equal(alexdb_put(db, keys[i], &keys[i], 8), ALEXDB_OK);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 6; i++) check_value_is(db, keys[i], &keys[i], 8);
        size_t size = 0;
        assert_int_equal(alexdb_get(db, 2, NULL, 0, &size), ALEXDB_NOTFOUND);
        assert_int_equal(alexdb_get(db, (1ULL << 53), NULL, 0, &size), ALEXDB_NOTFOUND);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        db = open_db(fx->path);
    }
    assert_int_equal(alexdb_delete(db, UINT64_MAX), ALEXDB_OK);
    assert_int_equal(alexdb_delete(db, 0), ALEXDB_OK);
    size_t size = 0;
    assert_int_equal(alexdb_get(db, UINT64_MAX, NULL, 0, &size), ALEXDB_NOTFOUND);
    check_value_is(db, UINT64_MAX - 1, &keys[4], 8);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* Values of 0 B, 1 KiB (inline), 1 KiB + 1 and 1 MiB (overflow) round trip and replace. */
static void test_value_sizes(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    static const size_t sizes[] = {0, 1, 100, 1024, 1025, 4048, 4049, 100000, 1u << 20};
    size_t n = sizeof(sizes) / sizeof(sizes[0]);
    uint8_t *big = malloc(1u << 20);
    uint8_t *buf = malloc(1u << 20);
    for (size_t i = 0; i < (1u << 20); i++) big[i] = (uint8_t)(i * 7 + (i >> 11));
    for (size_t i = 0; i < n; i++) assert_int_equal(alexdb_put(db, 1000 + i, big, sizes[i]), ALEXDB_OK);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < n; i++) {
            size_t got = 0;
            assert_int_equal(alexdb_get(db, 1000 + i, buf, 1u << 20, &got), ALEXDB_OK);
            assert_int_equal(got, sizes[i]);
            assert_memory_equal(buf, big, sizes[i]);
            /* A short buffer gets a prefix and the full size. */
            memset(buf, 0, 16);
            assert_int_equal(alexdb_get(db, 1000 + i, buf, 10, &got), ALEXDB_OK);
            assert_int_equal(got, sizes[i]);
            assert_memory_equal(buf, big, COMMON_MIN(sizes[i], (size_t)10));
        }
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        db = open_db(fx->path);
    }
    /* Replacing a big value by a small one frees its pages; once a checkpoint has
     * committed (alex A11) the space is reused. */
    struct alexdb_stats before, after;
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    assert_int_equal(alexdb_put(db, 1000 + n - 1, "small", 5), ALEXDB_OK);
    assert_int_equal(alexdb_checkpoint(db), ALEXDB_OK);
    assert_int_equal(alexdb_put(db, 5000, big, 1u << 20), ALEXDB_OK);
    assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
    /* the 1 MiB run was reused; the checkpoint's metadata run may take a few pages */
    assert_true(after.file_size <= before.file_size + 4 * 4096);
    check_value_is(db, 1000 + n - 1, "small", 5);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(big);
    free(buf);
}

/* NULLs, an oversized value and a NULL value with a size are refused with codes. */
static void test_bad_arguments(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = NULL;
    assert_int_equal(alexdb_open(NULL, NULL, &db), ALEXDB_INVALID);
    assert_int_equal(alexdb_open(fx->path, NULL, NULL), ALEXDB_INVALID);
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.cache_bytes = 1000;
    assert_int_equal(alexdb_open(fx->path, &opts, &db), ALEXDB_INVALID);
    opts.cache_bytes = 1u << 20;
    opts.io_backend = 99;
    assert_int_equal(alexdb_open(fx->path, &opts, &db), ALEXDB_INVALID);
    db = open_db(fx->path);
    size_t size = 0;
    assert_int_equal(alexdb_put(NULL, 1, "x", 1), ALEXDB_INVALID);
    assert_int_equal(alexdb_put(db, 1, NULL, 5), ALEXDB_INVALID);
    assert_int_equal(alexdb_put(db, 1, "x", (size_t)ALEXDB_VALUE_SIZE_MAX + 1), ALEXDB_TOOBIG);
    assert_int_equal(alexdb_get(db, 1, NULL, 5, &size), ALEXDB_INVALID);
    assert_int_equal(alexdb_get(db, 1, NULL, 0, NULL), ALEXDB_INVALID);
    assert_int_equal(alexdb_stats(db, NULL), ALEXDB_INVALID);
    assert_int_equal(alexdb_put(db, 1, NULL, 0), ALEXDB_OK); /* an empty value */
    assert_int_equal(alexdb_get(db, 1, NULL, 0, &size), ALEXDB_OK);
    assert_int_equal(size, 0);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* After close every call says ALEXDB_CLOSED; closing twice too. */
static void test_closed_handle(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    size_t size = 0;
    assert_int_equal(alexdb_put(db, 1, "x", 1), ALEXDB_CLOSED);
    assert_int_equal(alexdb_get(db, 1, NULL, 0, &size), ALEXDB_CLOSED);
    assert_int_equal(alexdb_delete(db, 1), ALEXDB_CLOSED);
    assert_int_equal(alexdb_sync(db), ALEXDB_CLOSED);
    assert_int_equal(alexdb_close(db), ALEXDB_CLOSED);
    assert_non_null(strstr(alexdb_errmsg(), "closed"));
}

/* A second writer, in this process or another, gets ALEXDB_BUSY; read-only handles share. */
static void test_busy(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_put(db, 7, "seven", 5), ALEXDB_OK);
    alexdb *second = NULL;
    assert_int_equal(alexdb_open(fx->path, NULL, &second), ALEXDB_BUSY);
    pid_t pid = fork();
    if (pid == 0) {
        alexdb *child = NULL;
        _exit(alexdb_open(fx->path, NULL, &child) == ALEXDB_BUSY ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    alexdb_options ro;
    alexdb_options_init(&ro);
    ro.read_only = 1;
    alexdb *r1 = NULL, *r2 = NULL;
    assert_int_equal(alexdb_open(fx->path, &ro, &r1), ALEXDB_OK);
    assert_int_equal(alexdb_open(fx->path, &ro, &r2), ALEXDB_OK);
    assert_int_equal(alexdb_open(fx->path, NULL, &second), ALEXDB_BUSY);
    check_value_is(r2, 7, "seven", 5);
    assert_int_equal(alexdb_put(r1, 8, "x", 1), ALEXDB_READONLY);
    assert_int_equal(alexdb_close(r1), ALEXDB_OK);
    assert_int_equal(alexdb_close(r2), ALEXDB_OK);
}

/* A path that is a file, a missing parent and garbage in the data file are clean errors. */
static void test_bad_directory(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = NULL;
    char *file = tu_path(fx->dir, "plain");
    int fd = open(file, O_CREAT | O_WRONLY, 0644);
    close(fd);
    assert_int_equal(alexdb_open(file, NULL, &db), ALEXDB_INVALID);
    char *deep = tu_path(fx->dir, "no/such/parent");
    assert_int_equal(alexdb_open(deep, NULL, &db), ALEXDB_IO);
    assert_non_null(strstr(alexdb_errmsg(), deep));
    char *garbage_dir = tu_path(fx->dir, "garbage");
    db = open_db(garbage_dir);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    char *data = tu_path(garbage_dir, "alexdb.data");
    fd = open(data, O_WRONLY | O_TRUNC);
    char junk[3 * 4096];
    memset(junk, 'z', sizeof(junk));
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    assert_int_equal(alexdb_open(garbage_dir, NULL, &db), ALEXDB_NOTDB);
    assert_null(db);
    free(file);
    free(deep);
    free(garbage_dir);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_database, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_edge_keys, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_value_sizes, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_closed_handle, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_busy, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_directory, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
