/*
 * wal_writer_test.c: wal/writer.c: appends, LSN order, group commit under many threads
 * (run under TSan: label "concurrency"), segment switches, records bigger than a
 * segment or a buffer, the sync thread, close, and sticky errors: every write and every
 * fdatasync failing in turn (EIO, ENOSPC) is returned, stays returned, and loses nothing
 * that wal_sync_to acknowledged.
 */
#include "wal_tu.h"

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

/* Appends and syncs, closes, reopens: every record replays, LSNs go on after them. */
static void test_append_sync_reopen(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    wal *w = wal_tu_open(fx->dir, &config, 0, NULL);
    assert_int_equal(wal_last_lsn(w), 0);
    assert_int_equal(wal_durable_lsn(w), 0);
    for (uint64_t tag = 1; tag <= 100; tag++) {
        assert_int_equal(wal_tu_append(w, tag), tag);
        if (tag % 10 == 0) {
            assert_int_equal(wal_sync_to(w, tag), ALEXDB_OK);
            assert_true(wal_durable_lsn(w) >= tag);
        }
    }
    assert_int_equal(wal_last_lsn(w), 100);
    wal_stats stats;
    wal_stats_get(w, &stats);
    assert_int_equal(stats.append_count, 100);
    assert_int_equal(stats.commit_count, 10);
    assert_int_equal(stats.group_count, 10);
    assert_int_equal(stats.segment_count, 1);
    wal_tu_close(w);

    wal_tu_replay r = {0};
    w = wal_tu_open(fx->dir, &config, 0, &r);
    assert_int_equal(r.count, 100);
    assert_int_equal(r.first_lsn, 1);
    assert_int_equal(r.bad_count, 0);
    for (uint64_t i = 0; i < r.count; i++) assert_int_equal(r.tags[i], i + 1);
    assert_int_equal(wal_last_lsn(w), 100);
    assert_int_equal(wal_durable_lsn(w), 100);
    wal_stats_get(w, &stats);
    assert_int_equal(stats.replay_count, 100);
    assert_int_equal(wal_tu_append(w, 101), 101);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);

    /* From a checkpoint: only later records replay. */
    w = wal_tu_open(fx->dir, &config, 60, &r);
    assert_int_equal(r.count, 41);
    assert_int_equal(r.first_lsn, 61);
    assert_int_equal(r.bad_count, 0);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
}

/* Bad arguments are refused with the exact codes; nothing is appended. */
static void test_bad_arguments(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    wal *w = NULL;
    assert_int_equal(wal_open(NULL, &config, 0, NULL, NULL, &w), ALEXDB_INVALID);
    assert_int_equal(wal_open(fx->dir, NULL, 0, NULL, NULL, &w), ALEXDB_INVALID);
    assert_int_equal(wal_open(fx->dir, &config, UINT64_MAX, NULL, NULL, &w), ALEXDB_INVALID);
    config.segment_size = 4096;
    assert_int_equal(wal_open(fx->dir, &config, 0, NULL, NULL, &w), ALEXDB_INVALID);
    assert_null(w);
    config.segment_size = 0;
    w = wal_tu_open(fx->dir, &config, 0, NULL);
    uint8_t byte = 7;
    wal_part part = {.data = &byte, .size = 1};
    uint64_t lsn = 0;
    assert_int_equal(wal_append(w, 0, &part, 1, &lsn), ALEXDB_INVALID);
    assert_int_equal(wal_append(w, 1, NULL, 1, &lsn), ALEXDB_INVALID);
    assert_int_equal(wal_append(w, 1, &part, 1, NULL), ALEXDB_INVALID);
    wal_part huge[2] = {{.data = &byte, .size = WAL_RECORD_SIZE_MAX}, {.data = &byte, .size = 1}};
    assert_int_equal(wal_append(w, 1, huge, 2, &lsn), ALEXDB_TOOBIG);
    wal_part wrap[2] = {{.data = &byte, .size = 16}, {.data = &byte, .size = SIZE_MAX - 8}};
    assert_int_equal(wal_append(w, 1, wrap, 2, &lsn), ALEXDB_TOOBIG);
    assert_int_equal(wal_last_lsn(w), 0);
    /* An empty record is fine; syncing past the end means "everything". */
    assert_int_equal(wal_append(w, 9, NULL, 0, &lsn), ALEXDB_OK);
    assert_int_equal(lsn, 1);
    assert_int_equal(wal_sync_to(w, 1000), ALEXDB_OK);
    assert_int_equal(wal_durable_lsn(w), 1);
    assert_int_equal(wal_error(w), ALEXDB_OK);
    wal_tu_close(w);
}

/* A read-only handle replays and refuses appends and releases. */
static void test_read_only(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    wal *w = wal_tu_open(fx->dir, &config, 0, NULL);
    for (uint64_t tag = 1; tag <= 5; tag++) wal_tu_append(w, tag);
    wal_tu_close(w);
    config.read_only = true;
    wal_tu_replay r = {0};
    w = wal_tu_open(fx->dir, &config, 0, &r);
    assert_int_equal(r.count, 5);
    assert_int_equal(wal_last_lsn(w), 5);
    uint64_t lsn = 0;
    wal_part part = {.data = "x", .size = 1};
    assert_int_equal(wal_append(w, 1, &part, 1, &lsn), ALEXDB_READONLY);
    assert_int_equal(wal_release_before(w, 5), ALEXDB_READONLY);
    assert_int_equal(wal_sync_to(w, 5), ALEXDB_OK);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
}

/* Small segments: records never span one, LSNs run on across them, all replay. */
static void test_segment_switches(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(16384);
    wal *w = wal_tu_open(fx->dir, &config, 0, NULL);
    for (uint64_t tag = 1; tag <= 1000; tag++) {
        wal_tu_append(w, tag);
        if (tag % 7 == 0) assert_int_equal(wal_sync_to(w, tag), ALEXDB_OK);
    }
    wal_stats stats;
    wal_stats_get(w, &stats);
    assert_true(stats.segment_count > 10);
    wal_tu_close(w);
    wal_segment_list list = wal_tu_segments(fx->dir);
    assert_int_equal(list.count, stats.segment_count);
    assert_int_equal(list.first_lsns[0], 1);
    wal_tu_replay r = {0};
    w = wal_tu_open(fx->dir, &config, 0, &r);
    assert_int_equal(r.count, 1000);
    assert_int_equal(r.bad_count, 0);
    for (uint64_t i = 0; i < r.count; i++) assert_int_equal(r.tags[i], i + 1);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
    free(list.first_lsns);
}

static int count_big(void *ctx, uint64_t lsn, uint8_t type, const uint8_t *payload, uint32_t size)
{
    (void)lsn;
    uint64_t *sizes = ctx;
    if (type == 2) {
        for (uint32_t i = 0; i < size; i++) {
            if (payload[i] != (uint8_t)(i * 31 + size)) return ALEXDB_CORRUPT;
        }
    }
    sizes[0]++;
    sizes[1] += size;
    return ALEXDB_OK;
}

/* A record bigger than a segment gets its own; one bigger than the buffer grows it. */
static void test_big_records(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(16384);
    wal *w = wal_tu_open(fx->dir, &config, 0, NULL);
    const uint32_t sizes[] = {100, 40000, 8, WAL_BUFFER_SIZE + 12345, 3, 20000};
    uint64_t total = 0;
    for (uint32_t k = 0; k < COMMON_ARRAY_COUNT(sizes); k++) {
        uint8_t *payload = malloc(sizes[k]);
        assert_non_null(payload);
        for (uint32_t i = 0; i < sizes[k]; i++) payload[i] = (uint8_t)(i * 31 + sizes[k]);
        wal_part parts[2] = {{.data = payload, .size = sizes[k] / 2},
                             {.data = payload + sizes[k] / 2, .size = sizes[k] - sizes[k] / 2}};
        uint64_t lsn = 0;
        assert_int_equal(wal_append(w, 2, parts, 2, &lsn), ALEXDB_OK);
        assert_int_equal(lsn, k + 1);
        if (k % 2 == 1) assert_int_equal(wal_sync_to(w, lsn), ALEXDB_OK);
        total += sizes[k];
        free(payload);
    }
    wal_tu_close(w);
    uint64_t seen[2] = {0, 0};
    w = NULL;
    int rc = wal_open(fx->dir, &config, 0, count_big, seen, &w);
    if (rc != ALEXDB_OK) fail_msg("wal_open: %s", alexdb_errmsg());
    assert_int_equal(seen[0], COMMON_ARRAY_COUNT(sizes));
    assert_int_equal(seen[1], total);
    wal_tu_close(w);
}

/* Appends nobody syncs become durable through the sync thread (polled, not timed). */
static void test_sync_thread(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    config.sync_interval_ms = 5;
    wal *w = wal_tu_open(fx->dir, &config, 0, NULL);
    for (uint64_t tag = 1; tag <= 50; tag++) wal_tu_append(w, tag);
    /* Bounded wait: 20 s is a hang, not a slow machine. */
    for (uint32_t i = 0; i < 20000 && wal_durable_lsn(w) < 50; i++) usleep(1000);
    assert_int_equal(wal_durable_lsn(w), 50);
    wal_stats stats;
    wal_stats_get(w, &stats);
    assert_int_equal(stats.commit_count, 0);
    assert_true(stats.group_count >= 1);
    wal_tu_close(w);
}

/* With manual_interval no thread runs: appends stay buffered until wal_sync_tick. */
static void test_sync_tick(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    config.sync_interval_ms = 1;
    config.manual_interval = true;
    wal *w = wal_tu_open(fx->dir, &config, 0, NULL);
    for (uint64_t tag = 1; tag <= 20; tag++) wal_tu_append(w, tag);
    usleep(20000); /* twenty intervals: a thread, had one started, would have synced */
    assert_int_equal(wal_durable_lsn(w), 0);
    assert_int_equal(wal_sync_tick(w), ALEXDB_OK);
    assert_int_equal(wal_durable_lsn(w), 20);
    wal_stats stats;
    wal_stats_get(w, &stats);
    assert_int_equal(stats.commit_count, 0);
    assert_int_equal(stats.group_count, 1);
    assert_int_equal(wal_sync_tick(w), ALEXDB_OK); /* nothing new: no group */
    wal_stats_get(w, &stats);
    assert_int_equal(stats.group_count, 1);
    wal_tu_close(w);
}

/* ---- Sticky errors ------------------------------------------------------------------ */

typedef struct fault_run {
    uint64_t acked_lsn;   /* the largest LSN wal_sync_to acknowledged */
    uint64_t appended;    /* records appended */
    int error;            /* the first error seen, 0 if none */
    bool open_failed;
} fault_run;

/*
 * Appends and syncs on a fresh fault domain with one fault configured, until an error;
 * then checks the error is sticky. Small segments, so creations and growth are hit too.
 */
static fault_run run_with_fault(const char *dir, const pager_fault_config *fc)
{
    fault_run run = {0};
    pager_fault *fault = NULL;
    assert_int_equal(pager_fault_create(fc, &fault), ALEXDB_OK);
    wal_config config = wal_tu_config(3 * WAL_BLOCK_SIZE);
    config.env = (pager_env){.backend = PAGER_BACKEND_FAULT, .fault = fault};
    wal *w = NULL;
    int rc = wal_open(dir, &config, 0, NULL, NULL, &w);
    if (rc != ALEXDB_OK) {
        run.open_failed = true;
        run.error = rc;
        pager_fault_destroy(fault);
        return run;
    }
    uint64_t tag = 1;
    for (; tag <= 60 && run.error == 0; tag++) {
        uint8_t buf[300];
        uint32_t size = wal_tu_size(tag);
        wal_tu_fill(tag, buf, size);
        wal_part part = {.data = buf, .size = size};
        uint64_t lsn = 0;
        rc = wal_append(w, (uint8_t)(1 + tag % 7), &part, 1, &lsn);
        if (rc == ALEXDB_OK) {
            run.appended++;
            assert_int_equal(lsn, tag);
            if (tag % 3 != 0) rc = wal_sync_to(w, lsn);
            if (rc == ALEXDB_OK && tag % 3 != 0) run.acked_lsn = lsn;
        }
        if (rc != ALEXDB_OK) run.error = rc;
    }
    if (run.error != 0) {
        /* Sticky: the same code from every later call, and from wal_error. */
        assert_int_equal(wal_error(w), run.error);
        uint64_t lsn = 0;
        wal_part part = {.data = "x", .size = 1};
        assert_int_equal(wal_append(w, 1, &part, 1, &lsn), run.error);
        if (wal_last_lsn(w) > wal_durable_lsn(w)) {
            assert_int_equal(wal_sync_to(w, wal_last_lsn(w)), run.error);
        }
        assert_int_equal(wal_sync_to(w, run.acked_lsn), ALEXDB_OK);
        assert_true(wal_durable_lsn(w) >= run.acked_lsn);
    }
    rc = wal_close(w);
    /* Close makes the unsynced tail durable: the fault may strike there first. */
    if (run.error == 0) run.error = rc;
    if (rc != ALEXDB_OK && rc != run.error) {
        fail_msg("wal_close: %s, the sticky error was %s", alexdb_strerror(rc),
                 alexdb_strerror(run.error));
    }
    pager_fault_destroy(fault);
    return run;
}

/* Reopens without faults and checks every acknowledged record is there, in order. */
static void check_nothing_acked_lost(const char *dir, const fault_run *run, const char *what,
                                     uint64_t at)
{
    wal_config config = wal_tu_config(3 * WAL_BLOCK_SIZE);
    config.env = (pager_env){.backend = PAGER_BACKEND_POSIX};
    wal_tu_replay r = {0};
    wal *w = wal_tu_open(dir, &config, 0, &r);
    if (r.count < run->acked_lsn || r.bad_count != 0 || (r.count > 0 && r.first_lsn != 1)) {
        fail_msg("%s at %" PRIu64 ": acknowledged %" PRIu64 ", recovered %" PRIu64
                 " (bad %" PRIu64 ")", what, at, run->acked_lsn, r.count, r.bad_count);
    }
    for (uint64_t i = 0; i < r.count; i++) assert_int_equal(r.tags[i], i + 1);
    /* The log takes appends again after the failure. */
    assert_int_equal(wal_tu_append(w, r.count + 1), r.count + 1);
    assert_int_equal(wal_sync_to(w, r.count + 1), ALEXDB_OK);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
}

static void sticky_sweep(void **state, bool sync, int err)
{
    tu_fixture *fx = *state;
    uint32_t error_count = 0;
    for (uint64_t at = 1; at <= 80; at++) {
        pager_fault_config fc = {.seed = at};
        if (sync) {
            fc.sync_error_at = at;
            fc.sync_errno = err;
        } else {
            fc.write_error_at = at;
            fc.write_errno = err;
        }
        char *dir = tu_path(fx->dir, "sweep");
        tu_rmrf(dir);
        assert_int_equal(mkdir(dir, 0755), 0);
        fault_run run = run_with_fault(dir, &fc);
        if (run.error != 0) {
            error_count++;
            int expect = err == ENOSPC ? ALEXDB_NOSPACE : ALEXDB_IO;
            if (run.error != expect) {
                fail_msg("%s error at %" PRIu64 ": got %s, want %s", sync ? "sync" : "write", at,
                         alexdb_strerror(run.error), alexdb_strerror(expect));
            }
        }
        if (!run.open_failed) check_nothing_acked_lost(dir, &run, sync ? "sync" : "write", at);
        tu_rmrf(dir);
        free(dir);
    }
    /* The sweep must have hit real I/O: most positions fail something. */
    assert_true(error_count > 40);
}

/* The Nth write fails with EIO, for every N over a run: sticky, nothing acked lost. */
static void test_sticky_write_eio(void **state)
{
    sticky_sweep(state, false, EIO);
}

/* The Nth write fails with ENOSPC (data, growth, creation): ALEXDB_NOSPACE, sticky. */
static void test_sticky_write_enospc(void **state)
{
    sticky_sweep(state, false, ENOSPC);
}

/* The Nth fdatasync fails: sticky, never retried, nothing acked lost. */
static void test_sticky_sync_eio(void **state)
{
    sticky_sweep(state, true, EIO);
}

/* ---- Many threads -------------------------------------------------------------------- */

enum { THREAD_COUNT = 16, PER_THREAD = 400 };

typedef struct writer_ctx {
    wal *w;
    uint32_t index;
    uint64_t max_lsn;
    int rc;
} writer_ctx;

static void *writer_main(void *arg)
{
    writer_ctx *ctx = arg;
    for (uint64_t i = 0; i < PER_THREAD && ctx->rc == ALEXDB_OK; i++) {
        uint64_t tag = (uint64_t)ctx->index << 32 | i;
        uint8_t buf[300];
        uint32_t size = wal_tu_size(tag);
        wal_tu_fill(tag, buf, size);
        wal_part part = {.data = buf, .size = size};
        uint64_t lsn = 0;
        ctx->rc = wal_append(ctx->w, (uint8_t)(1 + tag % 7), &part, 1, &lsn);
        /* One in four is a non-sync write, made durable by a later sync. */
        if (ctx->rc == ALEXDB_OK && i % 4 != 3) {
            ctx->rc = wal_sync_to(ctx->w, lsn);
            if (ctx->rc == ALEXDB_OK && wal_durable_lsn(ctx->w) < lsn) ctx->rc = ALEXDB_CORRUPT;
        }
        ctx->max_lsn = COMMON_MAX(ctx->max_lsn, lsn);
    }
    return NULL;
}

typedef struct releaser_ctx {
    wal *w;
    _Atomic bool stop;
    int rc;
} releaser_ctx;

static void *releaser_main(void *arg)
{
    releaser_ctx *ctx = arg;
    while (!atomic_load(&ctx->stop) && ctx->rc == ALEXDB_OK) {
        ctx->rc = wal_release_before(ctx->w, wal_durable_lsn(ctx->w) / 2);
        usleep(200);
    }
    return NULL;
}

/*
 * 16 threads append and sync at once (with small segments, the sync thread and a
 * concurrent releaser): every sync returns with its record durable, groups are shared,
 * and a reopen finds every record after the last release exactly once.
 */
static void test_many_threads(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(64 * 1024);
    config.sync_interval_ms = 1;
    wal *w = wal_tu_open(fx->dir, &config, 0, NULL);
    writer_ctx ctxs[THREAD_COUNT];
    pthread_t threads[THREAD_COUNT];
    releaser_ctx releaser = {.w = w};
    pthread_t releaser_thread;
    assert_int_equal(pthread_create(&releaser_thread, NULL, releaser_main, &releaser), 0);
    for (uint32_t i = 0; i < THREAD_COUNT; i++) {
        ctxs[i] = (writer_ctx){.w = w, .index = i};
        assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &ctxs[i]), 0);
    }
    for (uint32_t i = 0; i < THREAD_COUNT; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(ctxs[i].rc, ALEXDB_OK);
    }
    atomic_store(&releaser.stop, true);
    assert_int_equal(pthread_join(releaser_thread, NULL), 0);
    assert_int_equal(releaser.rc, ALEXDB_OK);
    wal_stats stats;
    wal_stats_get(w, &stats);
    assert_int_equal(stats.append_count, THREAD_COUNT * PER_THREAD);
    assert_int_equal(wal_last_lsn(w), THREAD_COUNT * PER_THREAD);
    printf("threads: %u commits in %" PRIu64 " groups\n", (unsigned)stats.commit_count,
           stats.group_count);
    /* Every checkpointed release left a segment covering what it did not cover. */
    uint64_t released = wal_durable_lsn(w) / 2;
    assert_int_equal(wal_release_before(w, released), ALEXDB_OK);
    wal_tu_close(w);

    wal_tu_replay r = {0};
    w = wal_tu_open(fx->dir, &config, released, &r);
    assert_int_equal(r.bad_count, 0);
    assert_int_equal(r.last_lsn, THREAD_COUNT * PER_THREAD);
    assert_int_equal(r.first_lsn, released + 1);
    wal_tu_close(w);
    /* From 0 again: the records still there form one run ending at the last. */
    wal_tu_replay_reset(&r);
    wal_segment_list list = wal_tu_segments(fx->dir);
    uint64_t first = list.first_lsns[0];
    free(list.first_lsns);
    w = wal_tu_open(fx->dir, &config, first - 1, &r);
    assert_int_equal(r.count, THREAD_COUNT * PER_THREAD - (first - 1));
    /* Per thread, its records appear in its own order, each once. */
    uint64_t next[THREAD_COUNT] = {0};
    bool seen_first[THREAD_COUNT] = {false};
    for (uint64_t i = 0; i < r.count; i++) {
        uint32_t t = (uint32_t)(r.tags[i] >> 32);
        uint64_t seq = r.tags[i] & 0xffffffffu;
        assert_true(t < THREAD_COUNT);
        if (seen_first[t]) assert_int_equal(seq, next[t]);
        seen_first[t] = true;
        next[t] = seq + 1;
    }
    for (uint32_t t = 0; t < THREAD_COUNT; t++) {
        /* A thread that finished early may have had all its records in removed segments. */
        if (seen_first[t]) assert_int_equal(next[t], PER_THREAD);
        else assert_true(ctxs[t].max_lsn < first);
    }
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
}

int main(void)
{
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_sync_reopen, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_only, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_segment_switches, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_big_records, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_thread, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_tick, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sticky_write_eio, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sticky_write_enospc, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sticky_sync_eio, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_many_threads, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests_name("wal_writer", tests, NULL, NULL);
}
