/*
 * wal_recovery_test.c: wal/recovery.c (wal_open): the log cut at every byte offset of
 * its last records recovers exactly the records wholly before the cut; power cuts on
 * the fault backend (writes kept, dropped or torn at 512 bytes) recover a prefix that
 * holds every acknowledged record, and the planted bug (a skipped fdatasync) is caught;
 * a bad record followed by a later group's record is ALEXDB_CORRUPT naming the segment
 * and offset (salvage keeps the prefix); torn tails are cut so stale bytes never come
 * back; bad headers, foreign segments, gaps, read-only opens and checkpoints ahead of
 * the log.
 */
#include "wal_tu.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Helpers --------------------------------------------------------------------------- */

/* Byte offset of record lsn (tags = LSNs, one segment whose first LSN is 1). */
static uint64_t record_offset(uint64_t lsn)
{
    uint64_t offset = WAL_RECORDS_OFFSET;
    for (uint64_t tag = 1; tag < lsn; tag++) offset += wal_record_framed_size(wal_tu_size(tag));
    return offset;
}

/* Writes count records (tags 1..count), syncing every group_size: one group each. */
static void write_groups(const char *dir, const wal_config *config, uint64_t count,
                         uint64_t group_size)
{
    wal *w = wal_tu_open(dir, config, 0, NULL);
    uint64_t first = wal_last_lsn(w) + 1;
    for (uint64_t tag = first; tag < first + count; tag++) {
        assert_int_equal(wal_tu_append(w, tag), tag);
        if ((tag - first + 1) % group_size == 0) assert_int_equal(wal_sync_to(w, tag), ALEXDB_OK);
    }
    wal_tu_close(w);
}

static uint8_t *read_file(const char *path, uint64_t size)
{
    uint8_t *buf = calloc(1, size);
    assert_non_null(buf);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, size, 0), (ssize_t)size);
    close(fd);
    return buf;
}

static void write_file(const char *path, const uint8_t *buf, uint64_t size, uint64_t offset)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, buf, size, (off_t)offset), (ssize_t)size);
    close(fd);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* Opens expecting failure with rc; returns the error message. */
static const char *open_fails(const char *dir, const wal_config *config, uint64_t from_lsn, int rc)
{
    wal *w = NULL;
    wal_tu_replay r = {0};
    int got = wal_open(dir, config, from_lsn, wal_tu_collect, &r, &w);
    if (got != rc) {
        fail_msg("wal_open: got %s (%s), want %s", alexdb_strerror(got), alexdb_errmsg(),
                 alexdb_strerror(rc));
    }
    assert_null(w);
    wal_tu_replay_reset(&r);
    return alexdb_errmsg();
}

/* Opens, checks exactly tags 1..count replay, closes. */
static void expect_records(const char *dir, const wal_config *config, uint64_t count)
{
    wal_tu_replay r = {0};
    wal *w = wal_tu_open(dir, config, 0, &r);
    if (r.count != count || r.bad_count != 0) {
        fail_msg("recovered %" PRIu64 " records (bad %" PRIu64 "), want %" PRIu64, r.count,
                 r.bad_count, count);
    }
    for (uint64_t i = 0; i < r.count; i++) assert_int_equal(r.tags[i], i + 1);
    assert_int_equal(wal_last_lsn(w), count);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
}

typedef struct log_capture {
    char text[4096];
    uint32_t warn_count;
} log_capture;

static void capture_log(void *ctx, int level, const char *message)
{
    log_capture *c = ctx;
    if (level == PAGER_LOG_WARN) c->warn_count++;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof(c->text) - used, "%s\n", message);
}

/* ---- Truncation at every byte ------------------------------------------------------------ */

/*
 * The log truncated (or zeroed from) every byte offset within its last records recovers
 * exactly the records wholly before the cut (header and payload: the padding is zeros,
 * which the cut leaves too); every so often the log then takes new
 * records after them and a reopen shows no stale byte.
 */
static void test_cut_at_every_byte(void **state)
{
    tu_fixture *fx = *state;
    enum { COUNT = 40, LAST = 4 };
    wal_config config = wal_tu_config(0);
    write_groups(fx->dir, &config, COUNT, 5);
    char *path = wal_tu_segment_path(fx->dir, 1);
    uint64_t end = record_offset(COUNT + 1);
    uint64_t image_size = (end + WAL_BLOCK_SIZE - 1) / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
    uint8_t *image = read_file(path, image_size);
    uint8_t *zeros = calloc(1, image_size);
    assert_non_null(zeros);
    uint64_t start = record_offset(COUNT + 1 - LAST);
    uint32_t checks = 0;
    for (int mode = 0; mode < 2; mode++) {
        for (uint64_t t = start; t <= end; t++) {
            /* Restore, then cut: mode 0 truncates the file, mode 1 zeroes from t. */
            assert_int_equal(truncate(path, (off_t)image_size), 0);
            write_file(path, image, image_size, 0);
            if (mode == 0) assert_int_equal(truncate(path, (off_t)t), 0);
            else if (t < image_size) write_file(path, zeros, image_size - t, t);
            /* Whole = header and payload before t: padding is zeros, as the cut leaves it. */
            uint64_t whole = 0;
            while (whole < COUNT &&
                   record_offset(whole + 1) + WAL_RECORD_HEADER_SIZE + wal_tu_size(whole + 1) <= t) {
                whole++;
            }
            expect_records(fx->dir, &config, whole);
            if (t % 23 == 0) {
                wal *w = wal_tu_open(fx->dir, &config, 0, NULL);
                assert_int_equal(wal_tu_append(w, whole + 1), whole + 1);
                assert_int_equal(wal_sync_to(w, whole + 1), ALEXDB_OK);
                wal_tu_close(w);
                expect_records(fx->dir, &config, whole + 1);
            }
            checks++;
        }
    }
    assert_true(checks > 2 * LAST * 8);
    free(zeros);
    free(image);
    free(path);
}

/* ---- Power cuts ------------------------------------------------------------------------- */

typedef struct cut_result {
    uint64_t acked_lsn;
    uint64_t recovered;    /* records recovered; UINT64_MAX if the open said CORRUPT */
    bool corrupt;
} cut_result;

/*
 * One run on a fault domain that tears unsynced writes: appends (two in three synced)
 * until the power goes at I/O number cut_at (0: cut explicitly after count records),
 * then recovers with the posix backend.
 */
static cut_result powercut_run(const char *dir, uint64_t seed, uint64_t cut_at, uint64_t count)
{
    cut_result result = {0};
    pager_fault_config fc = {.seed = seed, .tear = 1, .powercut_at = cut_at};
    pager_fault *fault = NULL;
    assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
    wal_config config = wal_tu_config(32 * 1024);
    config.env = (pager_env){.backend = PAGER_BACKEND_FAULT, .fault = fault};
    wal *w = NULL;
    if (wal_open(dir, &config, 0, NULL, NULL, &w) == ALEXDB_OK) {
        common_rng rng;
        common_rng_seed(&rng, seed);
        for (uint64_t tag = 1; tag <= count; tag++) {
            uint8_t buf[300];
            uint32_t size = wal_tu_size(tag);
            wal_tu_fill(tag, buf, size);
            wal_part part = {.data = buf, .size = size};
            uint64_t lsn = 0;
            if (wal_append(w, (uint8_t)(1 + tag % 7), &part, 1, &lsn) != ALEXDB_OK) break;
            if (common_rng_below(&rng, 3) != 0) {
                if (wal_sync_to(w, lsn) != ALEXDB_OK) break;
                result.acked_lsn = lsn;
            }
        }
        if (cut_at == 0) assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
        int rc = wal_close(w);
        (void)rc; /* the power is off: close may fail */
    }
    if (!pager_fault_is_cut(fault)) assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    pager_fault_destroy(fault);

    wal_config posix = wal_tu_config(32 * 1024);
    posix.env = (pager_env){.backend = PAGER_BACKEND_POSIX};
    wal_tu_replay r = {0};
    w = NULL;
    int rc = wal_open(dir, &posix, 0, wal_tu_collect, &r, &w);
    if (rc == ALEXDB_CORRUPT) {
        result.corrupt = true;
        result.recovered = 0;
        wal_tu_replay_reset(&r);
        return result;
    }
    if (rc != ALEXDB_OK) fail_msg("recovery: %s (%s)", alexdb_strerror(rc), alexdb_errmsg());
    assert_int_equal(r.bad_count, 0);
    for (uint64_t i = 0; i < r.count; i++) assert_int_equal(r.tags[i], i + 1);
    result.recovered = r.count;
    /* New records after the cut, then a reopen: exactly those, nothing stale behind. */
    for (uint64_t i = 1; i <= 3; i++) assert_int_equal(wal_tu_append(w, r.count + i), r.count + i);
    assert_int_equal(wal_sync_to(w, r.count + 3), ALEXDB_OK);
    wal_tu_close(w);
    expect_records(dir, &posix, r.count + 3);
    wal_tu_replay_reset(&r);
    return result;
}

static char *fresh_dir(const char *parent)
{
    char *dir = tu_path(parent, "run");
    tu_rmrf(dir);
    assert_int_equal(mkdir(dir, 0755), 0);
    return dir;
}

/*
 * Power cuts at a random I/O (tear=1, seeds printed): recovery is a prefix holding every
 * record whose wal_sync_to returned OK, never corruption, and the log goes on after it.
 */
static void test_powercut_keeps_acknowledged(void **state)
{
    tu_fixture *fx = *state;
    uint64_t base = tu_seed();
    uint32_t torn_runs = 0;
    for (uint64_t i = 0; i < 60; i++) {
        uint64_t seed = base + i;
        common_rng rng;
        common_rng_seed(&rng, seed ^ 0x5eed);
        uint64_t cut_at = 1 + common_rng_below(&rng, 600);
        char *dir = fresh_dir(fx->dir);
        cut_result res = powercut_run(dir, seed, cut_at, 400);
        if (res.corrupt || res.recovered < res.acked_lsn) {
            fail_msg("seed %" PRIu64 " cut at I/O %" PRIu64 ": acknowledged %" PRIu64
                     ", recovered %" PRIu64 "%s", seed, cut_at, res.acked_lsn, res.recovered,
                     res.corrupt ? " (CORRUPT)" : "");
        }
        torn_runs += res.recovered < 400;
        tu_rmrf(dir);
        free(dir);
    }
    assert_true(torn_runs > 0);
}

typedef struct cut_writer {
    wal *w;
    uint32_t index;
    uint64_t acked_lsn;
} cut_writer;

static void *cut_writer_main(void *arg)
{
    cut_writer *c = arg;
    for (uint64_t i = 0; i < 150; i++) {
        uint64_t tag = (uint64_t)c->index << 32 | i;
        uint8_t buf[300];
        uint32_t size = wal_tu_size(tag);
        wal_tu_fill(tag, buf, size);
        wal_part part = {.data = buf, .size = size};
        uint64_t lsn = 0;
        if (wal_append(c->w, (uint8_t)(1 + tag % 7), &part, 1, &lsn) != ALEXDB_OK) break;
        if (wal_sync_to(c->w, lsn) != ALEXDB_OK) break;
        c->acked_lsn = lsn;
    }
    return NULL;
}

/*
 * Four committers race while the power goes at a random I/O (tear=1): recovery is a
 * prefix holding every record any of them was told is durable, each thread's records
 * in its own order.
 */
static void test_powercut_many_threads(void **state)
{
    tu_fixture *fx = *state;
    enum { THREADS = 4 };
    uint64_t base = tu_seed();
    for (uint64_t i = 0; i < 12; i++) {
        uint64_t seed = base + 1000 + i;
        common_rng rng;
        common_rng_seed(&rng, seed);
        pager_fault_config fc = {.seed = seed, .tear = 1, .powercut_at = 20 + common_rng_below(&rng, 400)};
        pager_fault *fault = NULL;
        assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
        char *dir = fresh_dir(fx->dir);
        wal_config config = wal_tu_config(32 * 1024);
        config.env = (pager_env){.backend = PAGER_BACKEND_FAULT, .fault = fault};
        wal *w = NULL;
        uint64_t acked = 0;
        if (wal_open(dir, &config, 0, NULL, NULL, &w) == ALEXDB_OK) {
            cut_writer writers[THREADS];
            pthread_t threads[THREADS];
            for (uint32_t t = 0; t < THREADS; t++) {
                writers[t] = (cut_writer){.w = w, .index = t};
                assert_int_equal(pthread_create(&threads[t], NULL, cut_writer_main, &writers[t]), 0);
            }
            for (uint32_t t = 0; t < THREADS; t++) {
                assert_int_equal(pthread_join(threads[t], NULL), 0);
                acked = COMMON_MAX(acked, writers[t].acked_lsn);
            }
            int rc = wal_close(w);
            (void)rc; /* the power is off (or the run ended first) */
        }
        if (!pager_fault_is_cut(fault)) assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
        pager_fault_destroy(fault);
        config.env = (pager_env){.backend = PAGER_BACKEND_POSIX};
        wal_tu_replay r = {0};
        w = NULL;
        int rc = wal_open(dir, &config, 0, wal_tu_collect, &r, &w);
        if (rc != ALEXDB_OK || r.count < acked || r.bad_count != 0) {
            fail_msg("seed %" PRIu64 ": %s, acknowledged lsn %" PRIu64 ", recovered %" PRIu64,
                     seed, alexdb_strerror(rc), acked, r.count);
        }
        uint64_t next[THREADS] = {0};
        for (uint64_t k = 0; k < r.count; k++) {
            uint32_t t = (uint32_t)(r.tags[k] >> 32);
            assert_true(t < THREADS);
            assert_int_equal(r.tags[k] & 0xffffffffu, next[t]);
            next[t]++;
        }
        wal_tu_close(w);
        wal_tu_replay_reset(&r);
        tu_rmrf(dir);
        free(dir);
    }
}

/* Counts, over fixed seeds, the runs whose recovery lost an acknowledged record. */
static uint32_t lossy_runs(const char *parent, uint32_t run_count)
{
    uint32_t lossy = 0;
    for (uint64_t seed = 1; seed <= run_count; seed++) {
        char *dir = fresh_dir(parent);
        cut_result res = powercut_run(dir, seed, 0, 150);
        lossy += res.corrupt || res.recovered < res.acked_lsn;
        tu_rmrf(dir);
        free(dir);
    }
    return lossy;
}

/* The planted bug never outlives its test, even one that failed half-way. */
static int skip_sync_teardown(void **state)
{
    wal_test_skip_sync = false;
    return tu_fixture_teardown(state);
}

/*
 * The check that can fail: with the group fdatasync skipped (wal_test_skip_sync), a
 * power cut loses acknowledged records (or leaves a log recovery refuses), and the
 * same runs with the fdatasync lose none.
 */
static void test_planted_skipped_sync_is_caught(void **state)
{
    tu_fixture *fx = *state;
    enum { RUNS = 8 };
    wal_test_skip_sync = true;
    uint32_t lossy_with_bug = lossy_runs(fx->dir, RUNS);
    wal_test_skip_sync = false;
    uint32_t lossy_without = lossy_runs(fx->dir, RUNS);
    printf("planted bug: %u of %u runs lost acknowledged records; without it %u\n",
           lossy_with_bug, RUNS, lossy_without);
    assert_true(lossy_with_bug > 0);
    assert_int_equal(lossy_without, 0);
}

/* ---- Corruption versus torn tail ------------------------------------------------------------ */

/*
 * A bit flipped in an early group's record, with later groups intact: ALEXDB_CORRUPT
 * naming the segment and the record's offset. Salvage keeps the records before it
 * (with a warning) and new records follow them.
 */
static void test_bad_record_before_later_group(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    write_groups(fx->dir, &config, 30, 10);
    char *path = wal_tu_segment_path(fx->dir, 1);
    uint64_t offset = record_offset(5);
    tu_flip_bit(path, offset + WAL_RECORD_HEADER_SIZE + 3, 2);
    const char *message = open_fails(fx->dir, &config, 0, ALEXDB_CORRUPT);
    char expect[512];
    snprintf(expect, sizeof(expect), "%s offset %" PRIu64 ":", path, offset);
    if (strstr(message, expect) == NULL || strstr(message, "later group") == NULL) {
        fail_msg("message \"%s\" does not name \"%s\"", message, expect);
    }
    /* Read-only does not make it openable. */
    config.read_only = true;
    open_fails(fx->dir, &config, 0, ALEXDB_CORRUPT);
    config.read_only = false;

    log_capture capture = {0};
    config.salvage = true;
    config.env.log = capture_log;
    config.env.log_ctx = &capture;
    wal_tu_replay r = {0};
    wal *w = wal_tu_open(fx->dir, &config, 0, &r);
    assert_int_equal(r.count, 4);
    assert_int_equal(capture.warn_count, 1);
    assert_non_null(strstr(capture.text, "salvage"));
    assert_int_equal(wal_tu_append(w, 5), 5);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
    config.salvage = false;
    expect_records(fx->dir, &config, 5);
    free(path);
}

/*
 * A bad record in the last group, with stale records after it (a copy of an old record
 * and the rest of that group): a torn tail, cut off; the cut zeroes the stale bytes.
 */
static void test_torn_last_group_is_cut(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    write_groups(fx->dir, &config, 30, 10);
    char *path = wal_tu_segment_path(fx->dir, 1);
    uint64_t bad = record_offset(25);
    uint64_t end = record_offset(31);
    /* A copy of record 3 (lsn 3) past the end: stale, not evidence. */
    uint64_t size3 = wal_record_framed_size(wal_tu_size(3));
    uint8_t *copy = read_file(path, record_offset(4));
    write_file(path, copy + record_offset(3), size3, end + 64);
    free(copy);
    tu_flip_bit(path, bad + 9, 0); /* in the lsn field: checksum fails */
    wal_tu_replay r = {0};
    wal *w = wal_tu_open(fx->dir, &config, 0, &r);
    assert_int_equal(r.count, 24);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
    uint8_t *after = read_file(path, end + 64 + size3);
    for (uint64_t i = bad; i < end + 64 + size3; i++) {
        if (after[i] != 0) fail_msg("byte %" PRIu64 " not zeroed by the cut", i);
    }
    free(after);
    write_groups(fx->dir, &config, 1, 1);
    expect_records(fx->dir, &config, 25);
    free(path);
}

/* A later segment existing proves the earlier one was synced: its bad record is CORRUPT. */
static void test_bad_record_before_later_segment(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(16384);
    write_groups(fx->dir, &config, 200, 50);
    wal_segment_list list = wal_tu_segments(fx->dir);
    assert_true(list.count >= 3);
    char *path = wal_tu_segment_path(fx->dir, list.first_lsns[1]);
    /* The last record of segment 2: nothing of its own segment follows it. */
    uint64_t lsn = list.first_lsns[2] - 1;
    uint64_t offset = WAL_RECORDS_OFFSET;
    for (uint64_t tag = list.first_lsns[1]; tag < lsn; tag++) {
        offset += wal_record_framed_size(wal_tu_size(tag));
    }
    tu_flip_bit(path, offset + WAL_RECORD_HEADER_SIZE, 7);
    const char *message = open_fails(fx->dir, &config, 0, ALEXDB_CORRUPT);
    char expect[512];
    snprintf(expect, sizeof(expect), "%s offset %" PRIu64 ":", path, offset);
    if (strstr(message, expect) == NULL) fail_msg("message \"%s\" lacks \"%s\"", message, expect);
    config.salvage = true;
    wal_tu_replay r = {0};
    wal *w = wal_tu_open(fx->dir, &config, 0, &r);
    assert_int_equal(r.count, lsn - 1);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
    wal_segment_list after = wal_tu_segments(fx->dir);
    assert_int_equal(after.count, 2);
    free(after.first_lsns);
    free(list.first_lsns);
    free(path);
}

/* ---- Segments and checkpoints ---------------------------------------------------------------- */

/* Damaged header pages, another database's segment, a newer version: refused by name. */
static void test_bad_segment_headers(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    write_groups(fx->dir, &config, 10, 5);
    char *path = wal_tu_segment_path(fx->dir, 1);
    tu_flip_bit(path, WAL_SEG_FIRST_LSN, 1);
    const char *message = open_fails(fx->dir, &config, 0, ALEXDB_CORRUPT);
    assert_non_null(strstr(message, path));
    tu_flip_bit(path, WAL_SEG_FIRST_LSN, 1);
    expect_records(fx->dir, &config, 10);

    config.db_id = 43;
    message = open_fails(fx->dir, &config, 0, ALEXDB_CORRUPT);
    assert_non_null(strstr(message, "database"));
    config.db_id = 42;

    uint8_t *page = read_file(path, PAGER_PAGE_SIZE);
    page[PAGER_HDR_VERSION] = 2;
    pager_page_seal(page, 0, 0);
    write_file(path, page, PAGER_PAGE_SIZE, 0);
    open_fails(fx->dir, &config, 0, ALEXDB_VERSION);
    free(page);
    free(path);
}

/* A missing middle segment is a gap: CORRUPT; salvage keeps the records before it. */
static void test_gap_between_segments(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(16384);
    write_groups(fx->dir, &config, 300, 20);
    wal_segment_list list = wal_tu_segments(fx->dir);
    assert_true(list.count >= 4);
    char *path = wal_tu_segment_path(fx->dir, list.first_lsns[2]);
    assert_int_equal(unlink(path), 0);
    const char *message = open_fails(fx->dir, &config, 0, ALEXDB_CORRUPT);
    assert_non_null(strstr(message, "follows a segment"));
    /* A checkpoint past the gap covers it. */
    wal_tu_replay r = {0};
    wal *w = wal_tu_open(fx->dir, &config, list.first_lsns[3] - 1, &r);
    assert_int_equal(r.first_lsn, list.first_lsns[3]);
    assert_int_equal(r.last_lsn, 300);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
    config.salvage = true;
    w = wal_tu_open(fx->dir, &config, 0, &r);
    assert_int_equal(r.count, list.first_lsns[2] - 1);
    assert_int_equal(wal_last_lsn(w), list.first_lsns[2] - 1);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
    free(path);
    free(list.first_lsns);
}

/* A checkpoint ahead of the log: LSNs go on after it, in a new segment, and reopen. */
static void test_checkpoint_ahead_of_log(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    write_groups(fx->dir, &config, 30, 10);
    wal_tu_replay r = {0};
    wal *w = wal_tu_open(fx->dir, &config, 50, &r);
    assert_int_equal(r.count, 0);
    assert_int_equal(wal_last_lsn(w), 50);
    assert_int_equal(wal_tu_append(w, 51), 51);
    wal_tu_close(w);
    char *path = wal_tu_segment_path(fx->dir, 51);
    assert_int_equal(access(path, F_OK), 0);
    w = wal_tu_open(fx->dir, &config, 50, &r);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.tags[0], 51);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
    free(path);
}

/* Read-only recovery of a torn tail reports the prefix and changes no byte. */
static void test_read_only_changes_nothing(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    write_groups(fx->dir, &config, 30, 10);
    char *path = wal_tu_segment_path(fx->dir, 1);
    tu_flip_bit(path, record_offset(28) + 40, 4);
    uint64_t size = file_size(path);
    uint8_t *before = read_file(path, size);
    config.read_only = true;
    wal_tu_replay r = {0};
    wal *w = wal_tu_open(fx->dir, &config, 0, &r);
    assert_int_equal(r.count, 27);
    assert_int_equal(wal_last_lsn(w), 27);
    wal_tu_close(w);
    wal_tu_replay_reset(&r);
    assert_int_equal(file_size(path), size);
    uint8_t *after = read_file(path, size);
    assert_memory_equal(before, after, size);
    free(before);
    free(after);
    free(path);
}

/* A replay callback's error stops wal_open with that code; a leftover .tmp is removed. */
static void test_replay_error_and_leftovers(void **state)
{
    tu_fixture *fx = *state;
    wal_config config = wal_tu_config(0);
    write_groups(fx->dir, &config, 10, 5);
    wal_tu_replay r = {.stop_at_lsn_rc = ALEXDB_NOMEM, .stop_lsn = 4};
    wal *w = NULL;
    assert_int_equal(wal_open(fx->dir, &config, 0, wal_tu_collect, &r, &w), ALEXDB_NOMEM);
    assert_null(w);
    assert_int_equal(r.count, 3);
    wal_tu_replay_reset(&r);
    char *tmp = wal_segment_path(fx->dir, 77, WAL_SEGMENT_TMP_SUFFIX);
    int fd = open(tmp, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    expect_records(fx->dir, &config, 10);
    assert_int_equal(access(tmp, F_OK), -1);
    free(tmp);
}

int main(void)
{
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cut_at_every_byte, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_powercut_keeps_acknowledged, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_powercut_many_threads, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_planted_skipped_sync_is_caught, tu_fixture_setup, skip_sync_teardown),
        cmocka_unit_test_setup_teardown(test_bad_record_before_later_group, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_torn_last_group_is_cut, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_record_before_later_segment, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_segment_headers, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_gap_between_segments, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_ahead_of_log, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_only_changes_nothing, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_replay_error_and_leftovers, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests_name("wal_recovery", tests, NULL, NULL);
}
