/*
 * pager_io_posix_test.c: the portable backend (pager/io_posix.c), asked for by name:
 * batches round-trip, fdatasync is performed and counted, and the end of the file is
 * reported as corruption, not as a short success.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define PAGE PAGER_PAGE_SIZE

static pager_file *open_posix(const char *path)
{
    pager_env env = {.backend = PAGER_BACKEND_POSIX};
    pager_file *file = NULL;
    assert_int_equal(pager_file_open(&env, path, PAGER_OPEN_CREATE, &file), ALEXDB_OK);
    assert_string_equal(pager_file_backend_name(file), "posix");
    return file;
}

/* A batch of writes of different sizes reads back exactly, and survives close and reopen. */
static void test_round_trip(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_file *file = open_posix(path);
    uint8_t *out = tu_aligned(8 * PAGE);
    for (uint64_t p = 0; p < 8; p++) tu_fill_body(out + p * PAGE, p, 21);
    pager_io_req writes[3] = {
        {.buf = out + 5 * PAGE, .offset = 5 * PAGE, .size = 3 * PAGE, .op = PAGER_IO_WRITE},
        {.buf = out, .offset = 0, .size = PAGE, .op = PAGER_IO_WRITE},
        {.buf = out + PAGE, .offset = PAGE, .size = 4 * PAGE, .op = PAGER_IO_WRITE},
    };
    assert_int_equal(pager_file_rw(file, writes, 3), ALEXDB_OK);
    assert_int_equal(writes[0].result, 3 * PAGE);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    pager_file_close(file);
    file = open_posix(path);
    uint8_t *in = tu_aligned(8 * PAGE);
    pager_io_req reads[2] = {
        {.buf = in + 4 * PAGE, .offset = 4 * PAGE, .size = 4 * PAGE, .op = PAGER_IO_READ},
        {.buf = in, .offset = 0, .size = 4 * PAGE, .op = PAGER_IO_READ},
    };
    assert_int_equal(pager_file_rw(file, reads, 2), ALEXDB_OK);
    for (uint64_t p = 0; p < 8; p++) assert_true(tu_body_matches(in + p * PAGE, p, 21));
    assert_memory_equal(in, out, 8 * PAGE);
    free(in);
    free(out);
    pager_file_close(file);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* Each pager_file_sync is one completed fdatasync in the counters. */
static void test_sync_counted(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_file *file = open_posix(path);
    pager_io_stats stats;
    pager_file_stats(file, &stats);
    assert_int_equal(stats.sync_count, 0);
    uint8_t *buf = tu_aligned(PAGE);
    pager_io_req req = {.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    pager_file_stats(file, &stats);
    assert_int_equal(stats.sync_count, 1);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    pager_file_stats(file, &stats);
    assert_int_equal(stats.sync_count, 2);
    assert_int_equal(stats.write_count, 1);
    assert_int_equal(pager_file_error(file), ALEXDB_OK);
    free(buf);
    pager_file_close(file);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* A read past the end of the file is ALEXDB_CORRUPT naming the file; no completed read counted. */
static void test_read_past_eof(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_file *file = open_posix(path);
    uint8_t *buf = tu_aligned(PAGE);
    pager_io_req req = {.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    req = (pager_io_req){.buf = buf, .offset = PAGE, .size = PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_CORRUPT);
    assert_int_equal(req.result, 0);
    assert_non_null(strstr(alexdb_errmsg(), path));
    pager_io_stats stats;
    pager_file_stats(file, &stats);
    assert_int_equal(stats.read_count, 0);
    free(buf);
    pager_file_close(file);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sync_counted),
        cmocka_unit_test(test_read_past_eof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
