/*
 * pager_writeback_test.c: write-back of dirty pages (pager/writeback.c): page order,
 * adjacent pages merged into one write, at most 16 writes in flight, pages changed during a flush kept dirty, a
 * failed write keeping pages dirty, and a checkpoint's two phases (P13, P15) with
 * changes, a freed page and a new page between them, a failed finish and a cancel, and
 * writer threads racing checkpoints. Run once per backend.
 */
#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
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
    const char *path = ((tu_fixture *)*state)->path;
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
}

/* Submissions of a flush of count new pages, no two adjacent: one write request each. */
static uint64_t flush_submits(pager *p, uint32_t count)
{
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, 2 * count, &first), ALEXDB_OK);
    for (uint32_t i = 0; i < count; i++) dirty_page(p, first + 2 * i, 1, 1);
    pager_stats before, after;
    pager_stats_get(p, &before);
    assert_int_equal(pager_flush(p), ALEXDB_OK);
    pager_stats_get(p, &after);
    assert_int_equal(after.dirty_write_count - before.dirty_write_count, count);
    return after.io.submit_count - before.io.submit_count;
}

/* A checkpoint keeps at most PAGER_IMAGE_WRITE_DEPTH (16) page writes in flight. */
static void test_write_depth(void **state)
{
    const char *path = ((tu_fixture *)*state)->path;
    pager *p = open_new(path, 256);
    assert_int_equal(pager_superblock_commit(p, 0, NULL, 0), ALEXDB_OK);
    uint64_t sixteen = flush_submits(p, 16);
    assert_int_equal(flush_submits(p, 17), sixteen + 1);
    assert_int_equal(flush_submits(p, 48), sixteen + 2);
    pager_close(p);
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
    const char *path = ((tu_fixture *)*state)->path;
    pager *p = open_new(path, 256);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, 32, &first), ALEXDB_OK);
    assert_int_equal(pager_superblock_commit(p, 0, NULL, 0), ALEXDB_OK);
    for (uint64_t i = 0; i < 32; i++) dirty_page(p, first + i, 1, 1);
    writer_arg arg = {.p = p, .first = first};
    pthread_t writer;
    assert_int_equal(pthread_create(&writer, NULL, writer_main, &arg), 0);
    /* At least 20 flushes, and on until the writer has done 3 rounds: on a loaded machine
     * the flushes can all end before its first round, and last_salt would still be 0. */
    for (int i = 0; i < 20 || __atomic_load_n(&arg.last_salt, __ATOMIC_ACQUIRE) < 4; i++) {
        assert_int_equal(pager_flush(p), ALEXDB_OK);
    }
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
}

/* Opens path on a fresh fault-injecting backend made from *fc; config_out keeps the rest. */
static pager *open_fault(const char *path, const pager_fault_config *fc, pager_fault **fault_out,
                         pager_config *config_out)
{
    assert_int_equal(pager_fault_create(fc, fault_out), ALEXDB_OK);
    pager_config_init(config_out);
    config_out->env.backend = PAGER_BACKEND_FAULT;
    config_out->env.fault = *fault_out;
    pager *p = NULL;
    assert_int_equal(pager_open(path, config_out, &p), ALEXDB_OK);
    return p;
}

/* A write that fails (ENOSPC) keeps its pages dirty and makes the file refuse writes. */
static void test_failed_write_keeps_dirty(void **state)
{
    const char *path = ((tu_fixture *)*state)->path;
    pager_fault *fault = NULL;
    pager_fault_config fc = {.seed = 1};
    pager_config config;
    pager *p = open_fault(path, &fc, &fault, &config);
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
 * A new 256-frame pager at path with count pages written by a checkpoint at LSN 1 (salt
 * 1, so all live now) and changed since (salt 2, dirty), and a checkpoint begun over
 * those changes (*job_out); *first_out: the first page.
 */
static pager *checkpoint_begun(const char *path, uint64_t count, uint64_t *first_out,
                               pager_checkpoint_job **job_out)
{
    pager *p = open_new(path, 256);
    assert_int_equal(pager_extend(p, count, first_out), ALEXDB_OK);
    for (uint64_t i = 0; i < count; i++) dirty_page(p, *first_out + i, 1, 1);
    assert_int_equal(pager_checkpoint(p, 1, NULL, 0), ALEXDB_OK);
    for (uint64_t i = 0; i < count; i++) dirty_page(p, *first_out + i, 2, 0);
    assert_int_equal(pager_checkpoint_begin(p, job_out), ALEXDB_OK);
    return p;
}

/*
 * P13: a checkpoint's content is fixed at its begin. Pages changed between begin and
 * finish stay dirty for the next one; a page freed meanwhile is discarded at once; the
 * committed file holds exactly the begin's images; the next checkpoint the rest.
 */
static void test_changes_between_begin_and_finish(void **state)
{
    const char *path = ((tu_fixture *)*state)->path;
    uint64_t first = 0;
    pager_checkpoint_job *job = NULL;
    pager *p = checkpoint_begun(path, 40, &first, &job);
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
}

/* 1 if the page file itself (not the cache) holds page_no with salt's body and LSN. */
static int durable_holds(const char *path, uint64_t page_no, uint64_t salt)
{
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(path, page_no, page);
    int ok = pager_page_check(path, page, page_no) == ALEXDB_OK && tu_body_matches(page, page_no, salt) &&
             pager_page_lsn(page) == salt;
    free(page);
    return ok;
}

/*
 * P15: the begin copies nothing; a page changed between begin and finish is copied by
 * the change's exclusive latch first, so the checkpoint holds the begin's page and LSN
 * (both for pages a writer copied and pages the finish copied) and the change stays
 * dirty for the next checkpoint.
 */
static void test_change_after_begin_copies_first(void **state)
{
    const char *path = ((tu_fixture *)*state)->path;
    uint64_t first = 0;
    pager_checkpoint_job *job = NULL;
    pager *p = checkpoint_begun(path, 16, &first, &job);
    for (uint64_t i = 0; i < 16; i += 2) dirty_page(p, first + i, 3, 0); /* PENDING: copied first */
    for (uint64_t i = 0; i < 16; i += 4) dirty_page(p, first + i, 4, 0); /* COPIED: no second copy */
    for (uint64_t i = 1; i < 16; i += 2) assert_true(holds(p, first + i, 2)); /* a reader copies nothing */
    assert_int_equal(pager_checkpoint_finish(p, job, 2, NULL, 0), ALEXDB_OK);
    pager_stats stats;
    pager_stats_get(p, &stats);
    assert_int_equal(stats.dirty_count, 8); /* the later changes only */
    for (uint64_t i = 0; i < 16; i++) assert_true(durable_holds(path, first + i, 2));
    for (uint64_t i = 0; i < 16; i += 2) assert_true(holds(p, first + i, i % 4 == 0 ? 4 : 3));
    pager_close(p); /* unflushed: the file keeps the checkpoint's pages */
    p = open_new(path, 256);
    for (uint64_t i = 0; i < 16; i++) assert_true(holds(p, first + i, 2));
    pager_close(p);
}

/*
 * P11, P15: a page freed while PENDING (the job still pins it) is copied by the discard's
 * exclusive latch, which drops the job's pin, so the discard does not wait for the
 * finish; the checkpoint still writes the begin's page, and nothing stays pinned.
 */
static void test_discard_pending_page(void **state)
{
    const char *path = ((tu_fixture *)*state)->path;
    uint64_t first = 0;
    pager_checkpoint_job *job = NULL;
    pager *p = checkpoint_begun(path, 8, &first, &job);
    pager_discard(p, first + 3); /* PENDING */
    dirty_page(p, first + 5, 3, 0);
    pager_discard(p, first + 5); /* COPIED, then changed */
    pager_stats stats;
    pager_stats_get(p, &stats);
    assert_int_equal(stats.dirty_count, 6);
    assert_int_equal(pager_checkpoint_finish(p, job, 2, NULL, 0), ALEXDB_OK);
    pager_stats_get(p, &stats);
    assert_int_equal(stats.dirty_count, 0);
    for (uint64_t i = 0; i < 8; i++) assert_true(durable_holds(path, first + i, 2));
    pager_close(p); /* P1: the job left no pin behind */
}

/*
 * P13, P15: a finish whose write fails (EIO) leaves every page dirty with its latest
 * content: pages still PENDING go back to DIRTY unchanged, pages copied and changed keep
 * the change; the job's pins are all dropped. A cancel likewise, and the next
 * checkpoint then writes the latest content.
 */
static void test_failed_finish_keeps_latest(void **state)
{
    const char *path = ((tu_fixture *)*state)->path;
    pager_fault *fault = NULL;
    pager_fault_config fc = {.seed = 1};
    pager_config config;
    pager *p = open_fault(path, &fc, &fault, &config);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, 8, &first), ALEXDB_OK);
    for (uint64_t i = 0; i < 8; i++) dirty_page(p, first + i, 1, 1);
    assert_int_equal(pager_checkpoint(p, 1, NULL, 0), ALEXDB_OK);
    /* A cancel with pages PENDING, COPIED and COPIED-then-changed. */
    for (uint64_t i = 0; i < 8; i++) dirty_page(p, first + i, 2, 0);
    pager_checkpoint_job *job = NULL;
    assert_int_equal(pager_checkpoint_begin(p, &job), ALEXDB_OK);
    for (uint64_t i = 0; i < 8; i += 2) dirty_page(p, first + i, 3, 0);
    pager_checkpoint_cancel(p, job);
    pager_stats stats;
    pager_stats_get(p, &stats);
    assert_int_equal(stats.dirty_count, 8);
    for (uint64_t i = 0; i < 8; i++) assert_true(holds(p, first + i, i % 2 == 0 ? 3 : 2));
    assert_int_equal(pager_checkpoint(p, 3, NULL, 0), ALEXDB_OK);
    for (uint64_t i = 0; i < 8; i++) assert_true(durable_holds(path, first + i, i % 2 == 0 ? 3 : 2));
    pager_close(p);
    pager_fault_destroy(fault);
    /* A finish whose first write fails. */
    fc.write_error_at = 1;
    assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
    config.env.fault = fault;
    assert_int_equal(pager_open(path, &config, &p), ALEXDB_OK);
    for (uint64_t i = 0; i < 8; i++) dirty_page(p, first + i, 4, 0);
    assert_int_equal(pager_checkpoint_begin(p, &job), ALEXDB_OK);
    for (uint64_t i = 0; i < 8; i += 2) dirty_page(p, first + i, 5, 0);
    assert_int_equal(pager_checkpoint_finish(p, job, 4, NULL, 0), ALEXDB_IO);
    pager_stats_get(p, &stats);
    assert_int_equal(stats.dirty_count, 8);
    for (uint64_t i = 0; i < 8; i++) assert_true(holds(p, first + i, i % 2 == 0 ? 5 : 4));
    for (uint64_t i = 0; i < 8; i++) dirty_page(p, first + i, 6, 0); /* no PENDING left behind */
    pager_close(p); /* P1: no pin left */
    pager_fault_destroy(fault);
    for (uint64_t i = 0; i < 8; i++) {
        assert_true(durable_holds(path, first + i, i % 2 == 0 ? 3 : 2)); /* the last checkpoint's */
    }
}

#define RACE_WRITERS 2u
#define RACE_PAGES 48u /* per writer */
#define RACE_CHECKPOINTS 24

typedef struct race {
    pager *p;
    uint64_t first;
    pthread_rwlock_t changes; /* writers share it; a checkpoint's begin excludes them */
    uint64_t counter[RACE_WRITERS * RACE_PAGES];
    int stop;
} race;

typedef struct race_writer {
    race *r;
    uint32_t index;
} race_writer;

static void *race_writer_main(void *arg)
{
    race_writer *w = arg;
    race *r = w->r;
    uint64_t x = 0x9e3779b97f4a7c15ULL * (w->index + 1);
    while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t slot = w->index * RACE_PAGES + (uint32_t)(x % RACE_PAGES);
        uint64_t page_no = r->first + slot;
        pthread_rwlock_rdlock(&r->changes);
        if (x & (1u << 20)) {
            assert_true(holds(r->p, page_no, r->counter[slot])); /* the latest, shared latch */
        } else {
            dirty_page(r->p, page_no, ++r->counter[slot], 0); /* salt = LSN = counter */
        }
        pthread_rwlock_unlock(&r->changes);
    }
    return NULL;
}

/*
 * P13, P15 under threads (and TSan): writers change pages while checkpoints run; each
 * page's counter is recorded at every begin, and after each finish the page file holds
 * exactly those counters (body and LSN), whichever thread copied each page.
 */
static void test_checkpoints_during_changes(void **state)
{
    const char *path = ((tu_fixture *)*state)->path;
    race *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->p = open_new(path, 512);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* glibc lets readers starve a writer by default; the begin must get in. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&r->changes, &attr);
    pthread_rwlockattr_destroy(&attr);
    assert_int_equal(pager_extend(r->p, RACE_WRITERS * RACE_PAGES, &r->first), ALEXDB_OK);
    for (uint32_t i = 0; i < RACE_WRITERS * RACE_PAGES; i++) {
        r->counter[i] = 1;
        dirty_page(r->p, r->first + i, 1, 1);
    }
    assert_int_equal(pager_checkpoint(r->p, 1, NULL, 0), ALEXDB_OK);
    pthread_t threads[RACE_WRITERS];
    race_writer writers[RACE_WRITERS];
    for (uint32_t t = 0; t < RACE_WRITERS; t++) {
        writers[t] = (race_writer){.r = r, .index = t};
        assert_int_equal(pthread_create(&threads[t], NULL, race_writer_main, &writers[t]), 0);
    }
    uint64_t at_begin[RACE_WRITERS * RACE_PAGES];
    for (int c = 0; c < RACE_CHECKPOINTS; c++) {
        for (int spin = 0; spin < 200; spin++) sched_yield(); /* let changes pile up */
        pager_checkpoint_job *job = NULL;
        pthread_rwlock_wrlock(&r->changes);
        memcpy(at_begin, r->counter, sizeof(at_begin));
        assert_int_equal(pager_checkpoint_begin(r->p, &job), ALEXDB_OK);
        pthread_rwlock_unlock(&r->changes);
        assert_int_equal(pager_checkpoint_finish(r->p, job, (uint64_t)c + 2, NULL, 0), ALEXDB_OK);
        for (uint32_t i = 0; i < RACE_WRITERS * RACE_PAGES; i++) {
            if (!durable_holds(path, r->first + i, at_begin[i])) {
                fail_msg("checkpoint %d: page %u is not its begin's (counter %" PRIu64 ")", c, i, at_begin[i]);
            }
        }
    }
    __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
    for (uint32_t t = 0; t < RACE_WRITERS; t++) pthread_join(threads[t], NULL);
    pager_close(r->p);
    pthread_rwlock_destroy(&r->changes);
    free(r);
}

int main(void)
{
    printf("backend: %s\n", tu_backend_name());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_adjacent_pages_merge, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_flush_during_writes, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_write_depth, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_dirty, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changes_between_begin_and_finish, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_change_after_begin_copies_first, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_discard_pending_page, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_failed_finish_keeps_latest, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_during_changes, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
