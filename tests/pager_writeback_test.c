/*
 * pager_writeback_test.c: write-back of dirty pages (pager/writeback.c): page order,
 * adjacent pages merged into one write, pages changed during a flush kept dirty, a
 * failed write keeping pages dirty, and a checkpoint's two phases (P13) with changes,
 * a freed page and a new page between them. Run once per backend.
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pager *open_new(const char *path, uint32_t frames)
{
    pager_config config;
    pager_config_init(&config);
    tu_env(&config.env);
    config.cache_bytes = (size_t)frames * PAGER_PAGE_SIZE;
    pager *p = NULL;
    assert_int_equal(pager_open(path, &config, &p), ALEXDB_OK);
    return p;
}

static void dirty_page(pager *p, uint64_t page_no, uint64_t salt, int create)
{
    pager_frame *f = NULL;
    if (create) {
        assert_int_equal(pager_pin_new(p, page_no, PAGER_KIND_RAW, &f), ALEXDB_OK);
    } else {
        assert_int_equal(pager_pin(p, page_no, 0, &f), ALEXDB_OK);
    }
    pager_latch_exclusive(f);
    tu_fill_body(pager_frame_data(f), page_no, salt);
    pager_mark_dirty(p, f, salt);
    pager_unlatch(f);
    pager_unpin(p, f);
}

/* 300 adjacent dirty pages go out as two writes (256 + 44), plus 3 separate ones. */
static void test_adjacent_pages_merge(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "pages");
    pager *p = open_new(path, 1024);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, 400, &first), ALEXDB_OK);
    /* Dirty in reverse order: write-back must sort. */
    assert_int_equal(pager_superblock_commit(p, 0, NULL, 0), ALEXDB_OK);
    for (uint64_t i = 300; i-- > 0;) dirty_page(p, first + i, 1, 1);
    dirty_page(p, first + 310, 1, 1);
    dirty_page(p, first + 320, 1, 1);
    dirty_page(p, first + 330, 1, 1);
    pager_stats before, after;
    pager_stats_get(p, &before);
    assert_int_equal(pager_flush(p), ALEXDB_OK);
    pager_stats_get(p, &after);
    /* Fresh pages (P12): no double-write; then the superblock, synced apart. */
    assert_int_equal(after.dirty_write_count - before.dirty_write_count, 5);
    assert_int_equal(after.io.write_count - before.io.write_count, 5 + 1);
    assert_int_equal(after.io.write_bytes - before.io.write_bytes, (303 + 1) * PAGER_PAGE_SIZE);
    assert_int_equal(after.io.sync_count - before.io.sync_count, 2);
    /* A second flush has no page to write, only the superblock. */
    assert_int_equal(pager_flush(p), ALEXDB_OK);
    pager_stats_get(p, &before);
    assert_int_equal(before.io.write_count, after.io.write_count + 1);
    pager_close(p);
    p = open_new(path, 64);
    for (uint64_t i = 0; i < 300; i += 7) {
        pager_frame *f = NULL;
        assert_int_equal(pager_pin(p, first + i, 0, &f), ALEXDB_OK);
        assert_true(tu_body_matches(pager_frame_data(f), first + i, 1));
        assert_int_equal(pager_page_lsn(pager_frame_data(f)), 1);
        pager_unpin(p, f);
    }
    pager_close(p);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

typedef struct writer_arg {
    pager *p;
    uint64_t first;
    int stop;
    uint64_t last_salt;
} writer_arg;

static void *writer_main(void *arg)
{
    writer_arg *a = arg;
    for (uint64_t salt = 2; !__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE); salt++) {
        for (uint64_t i = 0; i < 32; i++) dirty_page(a->p, a->first + i, salt, 0);
        __atomic_store_n(&a->last_salt, salt, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* Flushes racing with writers lose nothing: after a final flush the disk has the last write. */
static void test_flush_during_writes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "pages");
    pager *p = open_new(path, 256);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, 32, &first), ALEXDB_OK);
    assert_int_equal(pager_superblock_commit(p, 0, NULL, 0), ALEXDB_OK);
    for (uint64_t i = 0; i < 32; i++) dirty_page(p, first + i, 1, 1);
    writer_arg arg = {.p = p, .first = first};
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, writer_main, &arg), 0);
    for (int i = 0; i < 20; i++) assert_int_equal(pager_flush(p), ALEXDB_OK);
    __atomic_store_n(&arg.stop, 1, __ATOMIC_RELEASE);
    pthread_join(writer, NULL);
    assert_int_equal(pager_flush(p), ALEXDB_OK);
    pager_close(p);
    p = open_new(path, 64);
    for (uint64_t i = 0; i < 32; i++) {
        pager_frame *f = NULL;
        assert_int_equal(pager_pin(p, first + i, 0, &f), ALEXDB_OK);
        assert_true(tu_body_matches(pager_frame_data(f), first + i, arg.last_salt));
        pager_unpin(p, f);
    }
    pager_close(p);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* A write that fails (ENOSPC) keeps its pages dirty and makes the file refuse writes. */
static void test_failed_write_keeps_dirty(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "pages");
    pager_fault *fault = NULL;
    pager_fault_config fc = {.seed = 1};
    assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
    pager_config config;
    pager_config_init(&config);
    config.env.backend = PAGER_BACKEND_FAULT;
    config.env.fault = fault;
    pager *p = NULL;
    assert_int_equal(pager_open(path, &config, &p), ALEXDB_OK);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, 8, &first), ALEXDB_OK);
    for (uint64_t i = 0; i < 8; i++) dirty_page(p, first + i, 3, 1);
    pager_close(p); /* never flushed: the file keeps its zeroed extension only */
    pager_fault_destroy(fault);
    fc.write_error_at = 1;
    fc.write_errno = ENOSPC;
    assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
    config.env.fault = fault;
    assert_int_equal(pager_open(path, &config, &p), ALEXDB_OK);
    assert_int_equal(pager_extend(p, 8, &first), ALEXDB_OK); /* within the zeroed extension */
    for (uint64_t i = 0; i < 8; i++) dirty_page(p, first + i, 4, 1);
    assert_int_equal(pager_flush(p), ALEXDB_NOSPACE);
    pager_stats stats;
    pager_stats_get(p, &stats);
    assert_int_equal(stats.dirty_count, 8); /* the 8 pages stayed dirty (P13) */
    assert_int_equal(pager_flush(p), ALEXDB_READONLY);
    pager_stats_get(p, &stats);
    assert_int_equal(stats.dirty_count, 8);
    pager_close(p);
    pager_fault_destroy(fault);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* 1 if page_no holds the body of salt (read through the cache). */
static int holds(pager *p, uint64_t page_no, uint64_t salt)
{
    pager_frame *f = NULL;
    assert_int_equal(pager_pin(p, page_no, 0, &f), ALEXDB_OK);
    pager_latch_shared(f);
    int ok = tu_body_matches(pager_frame_data(f), page_no, salt);
    pager_unlatch(f);
    pager_unpin(p, f);
    return ok;
}

/*
 * P13: a checkpoint's content is fixed at its begin. Pages changed between begin and
 * finish stay dirty for the next one; a page freed meanwhile is discarded at once; the
 * committed file holds exactly the begin's images; the next checkpoint the rest.
 */
static void test_changes_between_begin_and_finish(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "pages");
    pager *p = open_new(path, 256);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, 40, &first), ALEXDB_OK);
    for (uint64_t i = 0; i < 40; i++) dirty_page(p, first + i, 1, 1);
    assert_int_equal(pager_checkpoint(p, 1, NULL, 0), ALEXDB_OK); /* all 40 live now */
    for (uint64_t i = 0; i < 40; i++) dirty_page(p, first + i, 2, 0);
    pager_checkpoint_job *job = NULL;
    assert_int_equal(pager_checkpoint_begin(p, &job), ALEXDB_OK);
    pager_stats stats;
    pager_stats_get(p, &stats);
    assert_int_equal(stats.dirty_count, 40); /* COPIED frames count as dirty until written */
    for (uint64_t i = 0; i < 40; i += 2) dirty_page(p, first + i, 3, 0);
    pager_discard(p, first + 39); /* freed meanwhile: no wait for the checkpoint */
    uint64_t extra = 0;
    assert_int_equal(pager_extend(p, 1, &extra), ALEXDB_OK); /* past the begin's page count */
    dirty_page(p, extra, 3, 1);
    assert_int_equal(pager_checkpoint_finish(p, job, 2, "two", 3), ALEXDB_OK);
    pager_stats_get(p, &stats);
    assert_int_equal(stats.dirty_count, 20 + 1); /* the later changes, and the new page */
    pager_superblock sb;
    pager_superblock_get(p, &sb);
    assert_int_equal(sb.lsn, 2);
    assert_int_equal(sb.page_count, extra); /* the begin's */
    pager_close(p); /* what the checkpoint committed, and nothing else */
    p = open_new(path, 256);
    for (uint64_t i = 0; i < 40; i++) assert_true(holds(p, first + i, 2));
    for (uint64_t i = 0; i < 40; i += 2) dirty_page(p, first + i, 3, 0);
    assert_int_equal(pager_checkpoint(p, 3, NULL, 0), ALEXDB_OK);
    pager_close(p);
    p = open_new(path, 256);
    for (uint64_t i = 0; i < 40; i++) assert_true(holds(p, first + i, i % 2 == 0 ? 3 : 2));
    pager_close(p);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    printf("backend: %s\n", tu_backend_name());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adjacent_pages_merge),
        cmocka_unit_test(test_flush_during_writes),
        cmocka_unit_test(test_failed_write_keeps_dirty),
        cmocka_unit_test(test_changes_between_begin_and_finish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
