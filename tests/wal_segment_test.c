/*
 * wal_segment_test.c: wal/segment.c: segment names are exact (16 lowercase hex digits);
 * the header page round-trips and each of its rules is enforced with a message naming
 * the file; listing sorts segments, ignores other files and removes leftover .tmp files;
 * creation is durable and leaves no temporary; wal_release_before removes exactly the
 * segments a checkpoint covers and never the newest.
 */
#include "wal_tu.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Names round-trip and nothing else parses as a segment. */
static void test_names(void **state)
{
    (void)state;
    char name[WAL_SEGMENT_NAME_SIZE];
    wal_segment_name(0x1234abcdull, WAL_SEGMENT_SUFFIX, name);
    assert_string_equal(name, "wal-000000001234abcd.log");
    uint64_t lsn = 0;
    assert_true(wal_segment_parse_name(name, WAL_SEGMENT_SUFFIX, &lsn));
    assert_int_equal(lsn, 0x1234abcdull);
    wal_segment_name(UINT64_MAX, WAL_SEGMENT_TMP_SUFFIX, name);
    assert_string_equal(name, "wal-ffffffffffffffff.tmp");
    assert_true(wal_segment_parse_name(name, WAL_SEGMENT_TMP_SUFFIX, &lsn));
    assert_int_equal(lsn, UINT64_MAX);
    const char *bad[] = {"wal-000000001234ABCD.log", "wal-00000001234abcd.log",
                         "wal-0000000001234abcd.log", "wal-000000001234abcd.lo",
                         "wal-000000001234abcd.tmp", "xal-000000001234abcd.log",
                         "wal-00000000-234abcd.log", "alexdb.data", ""};
    for (uint32_t i = 0; i < COMMON_ARRAY_COUNT(bad); i++) {
        if (wal_segment_parse_name(bad[i], WAL_SEGMENT_SUFFIX, &lsn)) fail_msg("parsed \"%s\"", bad[i]);
    }
}

/* The header page round-trips; each rule broken gives the exact code naming the file. */
static void test_header_rules(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    wal_segment_header_encode(page, 42, 1000, 1 << 20);
    assert_int_equal(pager_page_kind(page), PAGER_KIND_WAL_SEGMENT);
    assert_string_equal(pager_kind_name(PAGER_KIND_WAL_SEGMENT), "wal-segment");
    assert_int_equal(wal_segment_header_check("seg", page, 42, 1000), ALEXDB_OK);
    assert_int_equal(wal_segment_header_check("seg", page, 43, 1000), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "seg offset 40"));
    assert_int_equal(wal_segment_header_check("seg", page, 42, 1001), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "seg offset 48"));
    /* Each field broken and the page resealed, so only the WAL's own rule catches it. */
    const uint32_t offsets[] = {WAL_SEG_IDENT, WAL_SEG_SEGMENT_SIZE, WAL_SEG_BLOCK_SIZE,
                                WAL_SEG_RESERVED, WAL_SEG_BODY_END, PAGER_PAGE_SIZE - 1};
    for (uint32_t i = 0; i < COMMON_ARRAY_COUNT(offsets); i++) {
        wal_segment_header_encode(page, 42, 1000, 1 << 20);
        page[offsets[i]] ^= 0x10;
        pager_page_seal(page, 0, 0);
        assert_int_equal(wal_segment_header_check("seg", page, 42, 1000), ALEXDB_CORRUPT);
    }
    /* Another kind, a page number other than 0, a bad checksum, a newer version. */
    wal_segment_header_encode(page, 42, 1000, 1 << 20);
    page[PAGER_HDR_KIND] = PAGER_KIND_RAW;
    pager_page_seal(page, 0, 0);
    assert_int_equal(wal_segment_header_check("seg", page, 42, 1000), ALEXDB_CORRUPT);
    wal_segment_header_encode(page, 42, 1000, 1 << 20);
    pager_page_seal(page, 1, 0);
    assert_int_equal(wal_segment_header_check("seg", page, 42, 1000), ALEXDB_CORRUPT);
    wal_segment_header_encode(page, 42, 1000, 1 << 20);
    page[100] = 1;
    assert_int_equal(wal_segment_header_check("seg", page, 42, 1000), ALEXDB_CORRUPT);
    wal_segment_header_encode(page, 42, 1000, 1 << 20);
    page[PAGER_HDR_VERSION] = 2;
    pager_page_seal(page, 0, 0);
    assert_int_equal(wal_segment_header_check("seg", page, 42, 1000), ALEXDB_VERSION);
    free(page);
}

static void touch(const char *dir, const char *name)
{
    char *path = tu_path(dir, name);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    free(path);
}

/* Listing sorts by LSN, ignores other names, removes .tmp leftovers unless read-only. */
static void test_list(void **state)
{
    tu_fixture *fx = *state;
    touch(fx->dir, "wal-0000000000000100.log");
    touch(fx->dir, "wal-0000000000000002.log");
    touch(fx->dir, "wal-0000000000000ff0.log");
    touch(fx->dir, "wal-0000000000000003.tmp");
    touch(fx->dir, "WAL-0000000000000004.log");
    touch(fx->dir, "alexdb.data");
    pager_env env;
    tu_env(&env);
    wal_segment_list list = {0};
    assert_int_equal(wal_segment_list_load(&env, fx->dir, true, &list), ALEXDB_OK);
    assert_int_equal(list.count, 3);
    assert_int_equal(list.first_lsns[0], 2);
    assert_int_equal(list.first_lsns[1], 0x100);
    assert_int_equal(list.first_lsns[2], 0xff0);
    char *tmp = tu_path(fx->dir, "wal-0000000000000003.tmp");
    assert_int_equal(access(tmp, F_OK), 0);
    assert_int_equal(wal_segment_list_load(&env, fx->dir, false, &list), ALEXDB_OK);
    assert_int_equal(list.count, 3);
    assert_int_equal(access(tmp, F_OK), -1);
    wal_segment_list_free(&list);
    char *missing = tu_path(fx->dir, "missing");
    assert_int_equal(wal_segment_list_load(&env, missing, true, &list), ALEXDB_IO);
    free(missing);
    free(tmp);
}

/* Creation: header valid, preallocated with zeros, no temporary left; growth by chunks. */
static void test_create_and_preallocate(void **state)
{
    tu_fixture *fx = *state;
    pager_env env;
    tu_env(&env);
    pager_file *file = NULL;
    assert_int_equal(wal_segment_create(&env, fx->dir, 42, 7, 1 << 20, 64 * 1024, &file), ALEXDB_OK);
    uint64_t size = 0;
    assert_int_equal(pager_file_size(file, &size), ALEXDB_OK);
    assert_int_equal(size, 64 * 1024);
    assert_int_equal(wal_segment_preallocate(file, 64 * 1024, 128 * 1024), ALEXDB_OK);
    assert_int_equal(pager_file_size(file, &size), ALEXDB_OK);
    assert_int_equal(size, 128 * 1024);
    uint8_t *buf = tu_aligned(128 * 1024);
    pager_io_req req = {.buf = buf, .offset = 0, .size = 128 * 1024, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    pager_file_close(file);
    char *path = wal_tu_segment_path(fx->dir, 7);
    assert_int_equal(wal_segment_header_check(path, buf, 42, 7), ALEXDB_OK);
    for (uint32_t i = PAGER_PAGE_SIZE; i < 128 * 1024; i++) assert_int_equal(buf[i], 0);
    wal_segment_list list = wal_tu_segments(fx->dir);
    assert_int_equal(list.count, 1);
    char *tmp = wal_segment_path(fx->dir, 7, WAL_SEGMENT_TMP_SUFFIX);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(wal_segment_remove(&env, fx->dir, 7), ALEXDB_OK);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(wal_segment_remove(&env, fx->dir, 7), ALEXDB_IO);
    free(tmp);
    free(list.first_lsns);
    free(path);
    free(buf);
}

/* On a fault domain whose power is cut, creation fails with ALEXDB_IO and leaves no segment. */
static void test_create_after_powercut(void **state)
{
    tu_fixture *fx = *state;
    pager_fault_config fc = {.seed = 1};
    pager_fault *fault = NULL;
    assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    pager_env env = {.backend = PAGER_BACKEND_FAULT, .fault = fault};
    pager_file *file = NULL;
    assert_int_equal(wal_segment_create(&env, fx->dir, 42, 7, 1 << 20, 64 * 1024, &file), ALEXDB_IO);
    assert_null(file);
    wal_segment_list list = wal_tu_segments(fx->dir);
    assert_int_equal(list.count, 0);
    free(list.first_lsns);
    pager_fault_destroy(fault);
}

/*
 * wal_release_before removes exactly the segments a checkpoint covers (never the
 * newest); the log then opens from that checkpoint, and from an older one it is CORRUPT.
 */
static void test_release_before(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(16384);
    wal *w = wal_tu_open(fx->dir, &config, 0, NULL);
    for (uint64_t tag = 1; tag <= 300; tag++) wal_tu_append(w, tag);
    assert_int_equal(wal_sync_to(w, 300), ALEXDB_OK);
    wal_segment_list before = wal_tu_segments(fx->dir);
    assert_true(before.count >= 4);
    /* Nothing covered yet: nothing goes. */
    assert_int_equal(wal_release_before(w, before.first_lsns[1] - 2), ALEXDB_OK);
    wal_segment_list after = wal_tu_segments(fx->dir);
    assert_int_equal(after.count, before.count);
    free(after.first_lsns);
    /* Just short of covering segment 2: only segment 1 goes. */
    assert_int_equal(wal_release_before(w, before.first_lsns[2] - 2), ALEXDB_OK);
    after = wal_tu_segments(fx->dir);
    assert_int_equal(after.count, before.count - 1);
    assert_int_equal(after.first_lsns[0], before.first_lsns[1]);
    free(after.first_lsns);
    /* Everything: all but the newest. */
    assert_int_equal(wal_release_before(w, UINT64_MAX), ALEXDB_OK);
    after = wal_tu_segments(fx->dir);
    assert_int_equal(after.count, 1);
    assert_int_equal(after.first_lsns[0], before.first_lsns[before.count - 1]);
    wal_stats stats;
    wal_stats_get(w, &stats);
    assert_int_equal(stats.segment_count, 1);
    /* Appends go on into the newest segment and beyond. */
    for (uint64_t tag = 301; tag <= 400; tag++) wal_tu_append(w, tag);
    wal_tu_close(w);
    uint64_t newest = after.first_lsns[0];
    wal_tu_replay r = {0};
    wal *w2 = NULL;
    assert_int_equal(wal_open(fx->dir, &config, newest - 2, wal_tu_collect, &r, &w2), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "the log starts at lsn"));
    wal_tu_replay_reset(&r);
    w = wal_tu_open(fx->dir, &config, newest - 1, &r);
    assert_int_equal(r.first_lsn, newest);
    assert_int_equal(r.last_lsn, 400);
    assert_int_equal(r.bad_count, 0);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
    free(after.first_lsns);
    free(before.first_lsns);
}

int main(void)
{
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test_setup_teardown(test_list, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_and_preallocate, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_after_powercut, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_release_before, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests_name("wal_segment", tests, NULL, NULL);
}
