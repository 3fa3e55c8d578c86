/*
 * pager_file_test.c: the file layer (pager/file.c) through whichever backend
 * ALEXDB_TEST_BACKEND names (uring, posix, fault): ctest runs this program once per
 * backend, so every backend must honour the same contract: batches larger than
 * PAGER_IO_BATCH_MAX, end of file as corruption naming the file, open failures as
 * codes, read-only handles, size/zero-extend/truncate, and the counters.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE PAGER_PAGE_SIZE

static pager_file *open_file(const char *path, unsigned flags)
{
    pager_env env;
    tu_env(&env);
    pager_file *file = NULL;
    assert_int_equal(pager_file_open(&env, path, flags, &file), ALEXDB_OK);
    assert_non_null(file);
    return file;
}

/* count page requests at first, each its own request, over one buffer. */
static pager_io_req *page_reqs(uint8_t *buf, uint64_t first, uint32_t count, uint8_t op)
{
    pager_io_req *reqs = calloc(count, sizeof(*reqs));
    assert_non_null(reqs);
    for (uint32_t i = 0; i < count; i++) {
        reqs[i] = (pager_io_req){.buf = buf + (size_t)i * PAGE, .offset = (first + i) * PAGE,
                                 .size = PAGE, .op = op};
    }
    return reqs;
}

static bool all_zero(const uint8_t *buf, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (buf[i] != 0) return false;
    }
    return true;
}

/* 300 requests in one call (more than PAGER_IO_BATCH_MAX) are chunked and round-trip exactly. */
static void test_batch_round_trip(void **state)
{
    tu_fixture *fx = *state;
    enum { COUNT = 300 };
    _Static_assert(COUNT > PAGER_IO_BATCH_MAX, "the batch must need chunking");
    pager_file *file = open_file(fx->path, PAGER_OPEN_CREATE);
    uint8_t *out = tu_aligned((size_t)COUNT * PAGE);
    uint8_t *in = tu_aligned((size_t)COUNT * PAGE);
    uint64_t salt = tu_seed();
    for (uint32_t i = 0; i < COUNT; i++) tu_fill_body(out + (size_t)i * PAGE, i, salt);
    /* Written in a shuffled order so that request i is not simply at offset i. */
    pager_io_req *writes = page_reqs(out, 0, COUNT, PAGER_IO_WRITE);
    for (uint32_t i = 0; i < COUNT; i += 2) {
        pager_io_req tmp = writes[i];
        writes[i] = writes[COUNT - 1 - i];
        writes[COUNT - 1 - i] = tmp;
    }
    assert_int_equal(pager_file_rw(file, writes, COUNT), ALEXDB_OK);
    for (uint32_t i = 0; i < COUNT; i++) assert_int_equal(writes[i].result, PAGE);
    pager_io_stats stats;
    pager_file_stats(file, &stats);
    assert_int_equal(stats.submit_count, 2);
    pager_io_req *reads = page_reqs(in, 0, COUNT, PAGER_IO_READ);
    assert_int_equal(pager_file_rw(file, reads, COUNT), ALEXDB_OK);
    for (uint32_t i = 0; i < COUNT; i++) {
        assert_int_equal(reads[i].result, PAGE);
        assert_true(tu_body_matches(in + (size_t)i * PAGE, i, salt));
    }
    pager_file_stats(file, &stats);
    assert_int_equal(stats.write_count, COUNT);
    assert_int_equal(stats.read_count, COUNT);
    assert_int_equal(stats.submit_count, 4);
    uint64_t size = 0;
    assert_int_equal(pager_file_size(file, &size), ALEXDB_OK);
    assert_int_equal(size, (uint64_t)COUNT * PAGE);
    free(reads);
    free(writes);
    free(in);
    free(out);
    pager_file_close(file);
}

/* A read reaching past the end of the file is ALEXDB_CORRUPT and the message names the file. */
static void test_read_past_eof_is_corrupt(void **state)
{
    tu_fixture *fx = *state;
    pager_file *file = open_file(fx->path, PAGER_OPEN_CREATE);
    uint8_t *buf = tu_aligned(2 * PAGE);
    tu_fill_body(buf, 0, 1);
    pager_io_req req = {.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    common_errmsg_clear();
    req = (pager_io_req){.buf = buf, .offset = 4 * PAGE, .size = PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), fx->path));
    /* Half inside the file: the first page arrives, the whole request is still corrupt. */
    memset(buf, 0, 2 * PAGE);
    common_errmsg_clear();
    req = (pager_io_req){.buf = buf, .offset = 0, .size = 2 * PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), fx->path));
    assert_int_equal(req.result, PAGE);
    assert_true(tu_body_matches(buf, 0, 1));
    assert_int_equal(pager_file_error(file), ALEXDB_OK); /* a short file is not a write failure */
    free(buf);
    pager_file_close(file);
}

/* Opening a missing file without PAGER_OPEN_CREATE fails with a code and creates nothing. */
static void test_open_missing_without_create(void **state)
{
    tu_fixture *fx = *state;
    pager_env env;
    tu_env(&env);
    pager_file *file = (pager_file *)(uintptr_t)1;
    int rc = pager_file_open(&env, fx->path, 0, &file);
    assert_true(rc < 0);
    assert_null(file);
    assert_non_null(strstr(alexdb_errmsg(), fx->path));
    assert_int_equal(access(fx->path, F_OK), -1);
}

/* Opening (even with create) in a missing directory fails cleanly with a code naming the path. */
static void test_open_in_missing_directory(void **state)
{
    tu_fixture *fx = *state;
    char *dir = tu_path(fx->dir, "no-such-dir");
    char *path = tu_path(dir, "file");
    pager_env env;
    tu_env(&env);
    pager_file *file = (pager_file *)(uintptr_t)1;
    int rc = pager_file_open(&env, path, PAGER_OPEN_CREATE, &file);
    assert_true(rc < 0);
    assert_null(file);
    assert_non_null(strstr(alexdb_errmsg(), path));
    free(path);
    free(dir);
}

/* A read-only handle refuses writes with ALEXDB_READONLY, writes nothing, and still reads. */
static void test_readonly_refuses_writes(void **state)
{
    tu_fixture *fx = *state;
    pager_file *file = open_file(fx->path, PAGER_OPEN_CREATE);
    uint8_t *buf = tu_aligned(PAGE);
    tu_fill_body(buf, 0, 5);
    pager_io_req req = {.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    pager_file_close(file);

    file = open_file(fx->path, PAGER_OPEN_READONLY);
    tu_fill_body(buf, 0, 6);
    req = (pager_io_req){.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_READONLY);
    req.offset = PAGE;
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_READONLY);
    memset(buf, 0, PAGE);
    req = (pager_io_req){.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    assert_true(tu_body_matches(buf, 0, 5));
    uint64_t size = 0;
    assert_int_equal(pager_file_size(file, &size), ALEXDB_OK);
    assert_int_equal(size, PAGE);
    pager_io_stats stats;
    pager_file_stats(file, &stats);
    assert_int_equal(stats.write_count, 0);
    free(buf);
    pager_file_close(file);
}

typedef int (*extend_fn)(pager_file *file, uint64_t offset, uint64_t size);

/* extend makes zeroed pages exist (others untouched), size reports it, truncate shrinks;
 * it writes *writes_out requests doing so. */
static void extend_size_truncate(const char *path, extend_fn extend, uint64_t *writes_out)
{
    pager_file *file = open_file(path, PAGER_OPEN_CREATE);
    uint64_t size = 1;
    assert_int_equal(pager_file_size(file, &size), ALEXDB_OK);
    assert_int_equal(size, 0);
    uint8_t *buf = tu_aligned(4 * PAGE);
    for (uint64_t p = 0; p < 4; p++) tu_fill_body(buf + p * PAGE, p, 8);
    pager_io_req req = {.buf = buf, .offset = 0, .size = 4 * PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    pager_io_stats before, after;
    pager_file_stats(file, &before);
    assert_int_equal(extend(file, 4 * PAGE, 300 * PAGE), ALEXDB_OK);
    pager_file_stats(file, &after);
    *writes_out = after.write_count - before.write_count;
    assert_int_equal(pager_file_size(file, &size), ALEXDB_OK);
    assert_int_equal(size, 304 * PAGE);
    uint8_t *all = tu_aligned(304 * PAGE);
    memset(all, 0xaa, 304 * PAGE);
    req = (pager_io_req){.buf = all, .offset = 0, .size = 304 * PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    for (uint64_t p = 0; p < 4; p++) assert_true(tu_body_matches(all + p * PAGE, p, 8));
    assert_true(all_zero(all + 4 * PAGE, 300 * PAGE));
    assert_int_equal(pager_file_truncate(file, 2 * PAGE), ALEXDB_OK);
    assert_int_equal(pager_file_size(file, &size), ALEXDB_OK);
    assert_int_equal(size, 2 * PAGE);
    req = (pager_io_req){.buf = buf, .offset = 2 * PAGE, .size = PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_CORRUPT);
    req = (pager_io_req){.buf = buf, .offset = PAGE, .size = PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    assert_true(tu_body_matches(buf, 1, 8));
    free(all);
    free(buf);
    pager_file_close(file);
}

static void test_zero_extend_size_truncate(void **state)
{
    tu_fixture *fx = *state;
    uint64_t writes = 0;
    extend_size_truncate(fx->path, pager_file_zero_extend, &writes);
    assert_true(writes >= 1);
}

/* allocate reserves the space without writing it (fallocate) on the real backends; the
 * fault backend, which has no fallocate, gets real zeros, so its cuts can tear them. */
static void test_allocate_size_truncate(void **state)
{
    tu_fixture *fx = *state;
    uint64_t writes = 0;
    extend_size_truncate(fx->path, pager_file_allocate, &writes);
    if (strcmp(tu_backend_name(), "fault") == 0) assert_true(writes >= 1);
    else assert_int_equal(writes, 0);
}

/* The counters count completed requests, bytes, submissions and fdatasyncs exactly. */
static void test_stats_count(void **state)
{
    tu_fixture *fx = *state;
    pager_file *file = open_file(fx->path, PAGER_OPEN_CREATE);
    pager_io_stats stats;
    pager_file_stats(file, &stats);
    assert_int_equal(stats.read_count + stats.write_count + stats.sync_count, 0);
    assert_int_equal(stats.read_bytes + stats.write_bytes + stats.submit_count, 0);
    uint8_t *buf = tu_aligned(4 * PAGE);
    pager_io_req writes[3] = {
        {.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_WRITE},
        {.buf = buf + PAGE, .offset = PAGE, .size = 2 * PAGE, .op = PAGER_IO_WRITE},
        {.buf = buf + 3 * PAGE, .offset = 3 * PAGE, .size = PAGE, .op = PAGER_IO_WRITE},
    };
    assert_int_equal(pager_file_rw(file, writes, 3), ALEXDB_OK);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    pager_io_req reads[2] = {
        {.buf = buf, .offset = 0, .size = 3 * PAGE, .op = PAGER_IO_READ},
        {.buf = buf + 3 * PAGE, .offset = 3 * PAGE, .size = PAGER_SECTOR_SIZE, .op = PAGER_IO_READ},
    };
    assert_int_equal(pager_file_rw(file, reads, 2), ALEXDB_OK);
    pager_file_stats(file, &stats);
    assert_int_equal(stats.write_count, 3);
    assert_int_equal(stats.write_bytes, 4 * PAGE);
    assert_int_equal(stats.read_count, 2);
    assert_int_equal(stats.read_bytes, 3 * PAGE + PAGER_SECTOR_SIZE);
    assert_int_equal(stats.sync_count, 2);
    assert_int_equal(stats.submit_count, 2);
    free(buf);
    pager_file_close(file);
}

/* The file reports the backend under test, and the requested one is used without fallback. */
static void test_backend_name(void **state)
{
    tu_fixture *fx = *state;
    pager_file *file = open_file(fx->path, PAGER_OPEN_CREATE);
    static const char *expected[] = {
        [PAGER_BACKEND_URING] = "io_uring",
        [PAGER_BACKEND_POSIX] = "posix",
        [PAGER_BACKEND_FAULT] = "fault",
    };
    assert_string_equal(pager_file_backend_name(file), expected[tu_backend()]);
    assert_string_equal(pager_file_fallback_reason(file), "");
    assert_string_equal(pager_file_path(file), fx->path);
    assert_int_equal(pager_file_error(file), ALEXDB_OK);
    pager_file_close(file);
}

static void count_done(void *ctx)
{
    (*(int *)ctx)++;
}

/* on_done runs exactly once per request that completed in full, never for a failed one. */
static void test_on_done_once_per_completed_request(void **state)
{
    tu_fixture *fx = *state;
    pager_file *file = open_file(fx->path, PAGER_OPEN_CREATE);
    uint8_t *buf = tu_aligned(12 * PAGE);
    pager_io_req *writes = page_reqs(buf, 0, 10, PAGER_IO_WRITE);
    assert_int_equal(pager_file_rw(file, writes, 10), ALEXDB_OK);
    int calls[12] = {0};
    pager_io_req *reads = page_reqs(buf, 0, 12, PAGER_IO_READ); /* pages 10, 11: past EOF */
    for (int i = 0; i < 12; i++) {
        reads[i].on_done = count_done;
        reads[i].ctx = &calls[i];
    }
    assert_int_equal(pager_file_rw(file, reads, 12), ALEXDB_CORRUPT);
    for (int i = 0; i < 10; i++) assert_int_equal(calls[i], 1);
    assert_int_equal(calls[10], 0);
    assert_int_equal(calls[11], 0);
    pager_file_close(file);
    free(reads);
    free(writes);
    free(buf);
}

/* write_durable writes the bytes (read back exactly), counts one write, one sync and no
 * more; a read-only handle refuses it with ALEXDB_READONLY. */
static void test_write_durable(void **state)
{
    tu_fixture *fx = *state;
    pager_file *file = open_file(fx->path, PAGER_OPEN_CREATE);
    assert_int_equal(pager_file_zero_extend(file, 0, 4 * PAGE), ALEXDB_OK);
    pager_io_stats before;
    pager_file_stats(file, &before);
    uint8_t *buf = tu_aligned(2 * PAGE);
    tu_fill_body(buf, 1, 7);
    tu_fill_body(buf + PAGE, 2, 7);
    pager_io_req req = {.buf = buf, .offset = PAGE, .size = 2 * PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_write_durable(file, &req), ALEXDB_OK);
    assert_int_equal(req.result, 2 * PAGE);
    pager_io_stats after;
    pager_file_stats(file, &after);
    assert_int_equal(after.write_count - before.write_count, 1);
    assert_int_equal(after.write_bytes - before.write_bytes, 2 * PAGE);
    assert_int_equal(after.sync_count - before.sync_count, 1);
    memset(buf, 0, 2 * PAGE);
    req = (pager_io_req){.buf = buf, .offset = PAGE, .size = 2 * PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    assert_true(tu_body_matches(buf, 1, 7));
    assert_true(tu_body_matches(buf + PAGE, 2, 7));
    assert_int_equal(pager_file_error(file), ALEXDB_OK);
    pager_file_close(file);

    file = open_file(fx->path, PAGER_OPEN_READONLY);
    req = (pager_io_req){.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_write_durable(file, &req), ALEXDB_READONLY);
    pager_file_stats(file, &after);
    assert_int_equal(after.write_count + after.sync_count, 0);
    pager_file_close(file);
    free(buf);
}

/* The directory functions (pager.h 2) for the WAL: list, rename, remove, fsync, and
 * their errors; on a fault domain whose power is cut every one fails with ALEXDB_IO, and
 * removing or renaming a file with unsynced writes leaves the domain able to cut. */
typedef struct dir_names {
    uint32_t count;
    uint32_t stop_after;
    bool saw_a;
    bool saw_b;
} dir_names;

static int collect_name(void *ctx, const char *name)
{
    dir_names *names = ctx;
    names->count++;
    names->saw_a |= strcmp(name, "a") == 0;
    names->saw_b |= strcmp(name, "b") == 0;
    return names->stop_after != 0 && names->count == names->stop_after ? ALEXDB_BUSY : ALEXDB_OK;
}

static void test_dir_functions(void **state)
{
    tu_fixture *fx = *state;
    pager_env env;
    tu_env(&env);
    char *a = tu_path(fx->dir, "a");
    char *b = tu_path(fx->dir, "b");
    pager_file *file = open_file(a, PAGER_OPEN_CREATE);
    pager_file_close(file);
    dir_names names = {0};
    assert_int_equal(pager_dir_list(&env, fx->dir, collect_name, &names), ALEXDB_OK);
    assert_int_equal(names.count, 1);
    assert_true(names.saw_a);
    assert_int_equal(pager_file_rename(&env, a, b), ALEXDB_OK);
    assert_int_equal(pager_dir_sync(&env, fx->dir), ALEXDB_OK);
    names = (dir_names){0};
    assert_int_equal(pager_dir_list(NULL, fx->dir, collect_name, &names), ALEXDB_OK);
    assert_true(names.saw_b && !names.saw_a && names.count == 1);
    file = open_file(a, PAGER_OPEN_CREATE);
    pager_file_close(file);
    names = (dir_names){.stop_after = 1};
    assert_int_equal(pager_dir_list(&env, fx->dir, collect_name, &names), ALEXDB_BUSY);
    assert_int_equal(names.count, 1);
    assert_int_equal(pager_file_remove(&env, b), ALEXDB_OK);
    assert_int_equal(pager_file_remove(&env, b), ALEXDB_IO);
    assert_int_equal(pager_file_rename(&env, b, a), ALEXDB_IO);
    char *missing = tu_path(fx->dir, "missing");
    assert_int_equal(pager_dir_list(&env, missing, collect_name, &names), ALEXDB_IO);
    assert_int_equal(pager_dir_sync(&env, missing), ALEXDB_IO);

    /* A domain of its own: unsynced writes, a rename, a remove, then the cut. */
    pager_fault_config fc = {.seed = 3, .tear = 1};
    pager_fault *fault = NULL;
    assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
    pager_env fenv = {.backend = PAGER_BACKEND_FAULT, .fault = fault};
    uint8_t *page = tu_aligned(PAGE);
    memset(page, 0x5a, PAGE);
    assert_int_equal(pager_file_open(&fenv, a, 0, &file), ALEXDB_OK);
    pager_io_req req = {.buf = page, .offset = 0, .size = PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    pager_file_close(file);
    assert_int_equal(pager_file_rename(&fenv, a, b), ALEXDB_OK);
    assert_int_equal(pager_file_open(&fenv, b, 0, &file), ALEXDB_OK);
    req = (pager_io_req){.buf = page, .offset = PAGE, .size = PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    pager_file_close(file);
    assert_int_equal(pager_file_remove(&fenv, b), ALEXDB_OK);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    assert_int_equal(pager_dir_list(&fenv, fx->dir, collect_name, &names), ALEXDB_IO);
    assert_int_equal(pager_dir_sync(&fenv, fx->dir), ALEXDB_IO);
    assert_int_equal(pager_file_rename(&fenv, a, b), ALEXDB_IO);
    assert_int_equal(pager_file_remove(&fenv, a), ALEXDB_IO);
    pager_fault_destroy(fault);
    free(page);
    free(missing);
    free(a);
    free(b);
}

int main(void)
{
    printf("backend: %s\n", tu_backend_name());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dir_functions, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_batch_round_trip, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_past_eof_is_corrupt, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_open_missing_without_create, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_open_in_missing_directory, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_readonly_refuses_writes, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_zero_extend_size_truncate, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_allocate_size_truncate, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stats_count, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_backend_name, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_on_done_once_per_completed_request, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_write_durable, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
