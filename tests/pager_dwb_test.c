/*
 * pager_dwb_test.c: crash-atomic checkpoints (pager/dwb.c, README P12). The power is cut
 * at every I/O of a checkpoint in turn, with unsynced writes kept, dropped or torn at
 * 512-byte sectors; every reopen must find the old checkpoint or the new one whole,
 * never a mix, and some must have been finished from the double-write file. Its writes
 * keep at most 4 requests in flight.
 */
#include "pager_int.h"
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum { LIVE_PAGES = 40, NEW_PAGES = 5, FRAMES = 128 };

static int try_open(const char *path, const pager_env *env, pager **p)
{
    pager_config config;
    pager_config_init(&config);
    config.env = *env;
    config.cache_bytes = (size_t)FRAMES * PAGER_PAGE_SIZE;
    config.create = 1;
    return pager_open(path, &config, p);
}

static pager *open_with(const char *path, const pager_env *env)
{
    pager *p = NULL;
    assert_int_equal(try_open(path, env, &p), ALEXDB_OK);
    return p;
}

static int try_write_page(pager *p, uint64_t page_no, uint64_t salt, bool create)
{
    pager_frame *f = NULL;
    int rc = create ? pager_pin_new(p, page_no, PAGER_KIND_RAW, &f) : pager_pin(p, page_no, 0, &f);
    if (rc != ALEXDB_OK) return rc;
    pager_latch_exclusive(f);
    tu_fill_body(pager_frame_data(f), page_no, salt);
    pager_mark_dirty(p, f, salt);
    pager_unlatch(f);
    pager_unpin(p, f);
    return ALEXDB_OK;
}

static void write_page(pager *p, uint64_t page_no, uint64_t salt, bool create)
{
    assert_int_equal(try_write_page(p, page_no, salt, create), ALEXDB_OK);
}

static bool page_has(pager *p, uint64_t page_no, uint64_t salt)
{
    pager_frame *f = NULL;
    if (pager_pin(p, page_no, 0, &f) != ALEXDB_OK) return false;
    pager_latch_shared(f);
    bool ok = tu_body_matches(pager_frame_data(f), page_no, salt);
    pager_unlatch(f);
    pager_unpin(p, f);
    return ok;
}

/* The first checkpoint: LIVE_PAGES pages of salt 1, payload "A", LSN 1. */
static uint64_t make_first(const char *path)
{
    pager_env env = {.backend = PAGER_BACKEND_POSIX};
    pager *p = open_with(path, &env);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, LIVE_PAGES, &first), ALEXDB_OK);
    for (uint64_t i = 0; i < LIVE_PAGES; i++) write_page(p, first + i, 1, true);
    assert_int_equal(pager_checkpoint(p, 1, "A", 1), ALEXDB_OK);
    pager_close(p);
    return first;
}

/* Changes every live page to salt 2, adds NEW_PAGES, and checkpoints "B" at LSN 2. */
static int try_second(const char *path, uint64_t first, pager_fault *fault)
{
    pager_env env = {.backend = PAGER_BACKEND_FAULT, .fault = fault};
    pager *p = NULL;
    int rc = try_open(path, &env, &p);
    if (rc != ALEXDB_OK) return rc; /* the cut came while opening */
    for (uint64_t i = 0; i < LIVE_PAGES && rc == ALEXDB_OK; i++) rc = try_write_page(p, first + i, 2, false);
    uint64_t added = 0;
    if (rc == ALEXDB_OK) rc = pager_extend(p, NEW_PAGES, &added);
    for (uint64_t i = 0; i < NEW_PAGES && rc == ALEXDB_OK; i++) rc = try_write_page(p, added + i, 2, true);
    if (rc == ALEXDB_OK) rc = pager_checkpoint(p, 2, "B", 1);
    pager_close(p);
    return rc;
}

/* Returns the LSN of the checkpoint found (1 or 2) after checking it is whole. */
static uint64_t verify(const char *path, uint64_t first)
{
    pager_env env = {.backend = PAGER_BACKEND_POSIX};
    pager *p = open_with(path, &env);
    pager_superblock sb;
    pager_superblock_get(p, &sb);
    assert_true(sb.lsn == 1 || sb.lsn == 2);
    assert_int_equal(sb.payload_size, 1);
    assert_int_equal(sb.payload[0], sb.lsn == 1 ? 'A' : 'B');
    for (uint64_t i = 0; i < LIVE_PAGES; i++) assert_true(page_has(p, first + i, sb.lsn));
    if (sb.lsn == 2) {
        assert_int_equal(pager_page_count(p), first + LIVE_PAGES + NEW_PAGES);
        for (uint64_t i = 0; i < NEW_PAGES; i++) assert_true(page_has(p, first + LIVE_PAGES + i, 2));
    }
    pager_close(p);
    return sb.lsn;
}

static void test_powercut_at_every_io(void **state)
{
    (void)state;
    uint64_t seed = tu_seed();
    uint64_t old_count = 0, new_count = 0, finished_count = 0;
    for (uint64_t cut = 1;; cut++) {
        char *dir = tu_tmpdir();
        char *path = tu_path(dir, "pages");
        uint64_t first = make_first(path);
        pager_fault_config config = {.seed = seed + cut, .powercut_at = cut, .tear = 1};
        pager_fault *fault = NULL;
        assert_int_equal(pager_fault_create(&config, &fault), ALEXDB_OK);
        int rc = try_second(path, first, fault);
        pager_fault_destroy(fault);
        uint64_t lsn = verify(path, first);
        if (rc == ALEXDB_OK) assert_int_equal(lsn, 2); /* a checkpoint that returned is in */
        old_count += lsn == 1;
        new_count += lsn == 2;
        finished_count += lsn == 2 && rc != ALEXDB_OK; /* rolled forward at open */
        tu_rmrf(dir);
        free(path);
        free(dir);
        if (rc == ALEXDB_OK) break; /* the cut came after the last I/O */
        assert_true(cut < 10000);
    }
    printf("old checkpoint %" PRIu64 ", new %" PRIu64 " (finished from the double-write file %" PRIu64 ")\n",
           old_count, new_count, finished_count);
    assert_true(old_count > 0);
    assert_true(finished_count > 0);
}

/* A double-write file from a checkpoint that completed is left alone at the next open. */
static void test_stale_file_ignored(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "pages");
    uint64_t first = make_first(path);
    pager_env env = {.backend = PAGER_BACKEND_POSIX};
    pager *p = open_with(path, &env);
    for (uint64_t i = 0; i < LIVE_PAGES; i++) write_page(p, first + i, 2, false);
    assert_int_equal(pager_checkpoint(p, 2, "B", 1), ALEXDB_OK);
    for (uint64_t i = 0; i < LIVE_PAGES; i++) write_page(p, first + i, 3, false);
    assert_int_equal(pager_checkpoint(p, 3, "C", 1), ALEXDB_OK);
    pager_close(p);
    /* The file names checkpoint 3's generation, which is in force: nothing to redo. */
    p = open_with(path, &env);
    pager_superblock sb;
    pager_superblock_get(p, &sb);
    assert_int_equal(sb.lsn, 3);
    for (uint64_t i = 0; i < LIVE_PAGES; i++) assert_true(page_has(p, first + i, 3));
    pager_close(p);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* Submissions of a checkpoint of pages [first, first + count), each changed to salt. */
static uint64_t checkpoint_submits(pager *p, uint64_t first, uint32_t count, uint64_t salt)
{
    for (uint64_t i = 0; i < count; i++) write_page(p, first + i, salt, false);
    pager_stats before, after;
    pager_stats_get(p, &before);
    assert_int_equal(pager_checkpoint(p, salt, "D", 1), ALEXDB_OK);
    pager_stats_get(p, &after);
    assert_int_equal(after.dwb_io.write_bytes - before.dwb_io.write_bytes, (count + 1) * PAGER_PAGE_SIZE);
    return after.dwb_io.submit_count - before.dwb_io.submit_count;
}

/*
 * The double-write file's writes (the header, then runs of PAGER_DWB_RUN_PAGES images)
 * go out at most PAGER_DWB_WRITE_DEPTH at a time: with 32-page runs and 4 in flight,
 * 96 live pages take one submission there (header + 3 runs), 97 take two, 224 two
 * (then 4 runs), 225 three.
 */
#define DEPTH_FIRST_PAGES ((PAGER_DWB_WRITE_DEPTH - 1u) * PAGER_DWB_RUN_PAGES)
#define DEPTH_SECOND_PAGES (DEPTH_FIRST_PAGES + PAGER_DWB_WRITE_DEPTH * PAGER_DWB_RUN_PAGES)

static void test_write_depth(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "pages");
    pager_config config;
    pager_config_init(&config);
    config.env.backend = PAGER_BACKEND_POSIX;
    config.cache_bytes = 1024u * PAGER_PAGE_SIZE;
    pager *p = NULL;
    assert_int_equal(pager_open(path, &config, &p), ALEXDB_OK);
    uint32_t live = DEPTH_SECOND_PAGES + 1;
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, live, &first), ALEXDB_OK);
    for (uint64_t i = 0; i < live; i++) write_page(p, first + i, 1, true);
    assert_int_equal(pager_checkpoint(p, 1, "A", 1), ALEXDB_OK); /* now live */
    assert_int_equal(checkpoint_submits(p, first, DEPTH_FIRST_PAGES, 2), 1);
    assert_int_equal(checkpoint_submits(p, first, DEPTH_FIRST_PAGES + 1, 3), 2);
    assert_int_equal(checkpoint_submits(p, first, DEPTH_SECOND_PAGES, 4), 2);
    assert_int_equal(checkpoint_submits(p, first, DEPTH_SECOND_PAGES + 1, 5), 3);
    pager_close(p);
    p = open_with(path, &config.env);
    for (uint64_t i = 0; i <= DEPTH_SECOND_PAGES; i += 16) assert_true(page_has(p, first + i, 5));
    pager_close(p);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_powercut_at_every_io),
        cmocka_unit_test(test_stale_file_ignored),
        cmocka_unit_test(test_write_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
