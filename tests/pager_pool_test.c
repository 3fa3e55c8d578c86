/*
 * pager_pool_test.c: the buffer pool (pager/pool.c): pinning, read holds, batched reads, prefetch,
 * eviction (which never takes a frame a checkpoint has yet to copy), scan resistance,
 * the dirty budget (3/4 of the frames, at least 32 left),
 * detection of bad pages, and concurrent pins. Run once per
 * backend (ALEXDB_TEST_BACKEND).
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SMALL_CACHE_FRAMES 64u

typedef struct fixture {
    char *dir;
    char *path;
    pager *p;
} fixture;

static void open_pager(fixture *fx, uint32_t frames)
{
    pager_config config;
    pager_config_init(&config);
    tu_env(&config.env);
    config.cache_bytes = (size_t)frames * PAGER_PAGE_SIZE;
    assert_int_equal(pager_open(fx->path, &config, &fx->p), ALEXDB_OK);
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->dir = tu_tmpdir();
    fx->path = tu_path(fx->dir, "pages");
    open_pager(fx, SMALL_CACHE_FRAMES);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    pager_close(fx->p);
    tu_rmrf(fx->dir);
    free(fx->path);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Creates count pages after the superblocks, bodies patterned by (page_no, salt). */
static void make_pages(pager *p, uint32_t count, uint64_t salt)
{
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, count, &first), ALEXDB_OK);
    for (uint64_t page_no = first; page_no < first + count; page_no++) {
        pager_frame *f = NULL;
        assert_int_equal(pager_pin_new(p, page_no, PAGER_KIND_RAW, &f), ALEXDB_OK);
        pager_latch_exclusive(f);
        tu_fill_body(pager_frame_data(f), page_no, salt);
        pager_mark_dirty(p, f, page_no);
        pager_unlatch(f);
        pager_unpin(p, f);
    }
    assert_int_equal(pager_flush(p), ALEXDB_OK);
    assert_int_equal(pager_superblock_commit(p, 0, NULL, 0), ALEXDB_OK); /* persists the allocation */
}

static void reopen(fixture *fx, uint32_t frames)
{
    pager_close(fx->p);
    open_pager(fx, frames);
}

static void expect_page(pager *p, uint64_t page_no, uint64_t salt)
{
    pager_frame *f = NULL;
    assert_int_equal(pager_pin(p, page_no, 0, &f), ALEXDB_OK);
    pager_latch_shared(f);
    assert_true(tu_body_matches(pager_frame_data(f), page_no, salt));
    assert_int_equal(pager_page_lsn(pager_frame_data(f)) <= page_no, 1);
    pager_unlatch(f);
    pager_unpin(p, f);
}

/* Pages written through a small cache (dirty evictions) read back after reopen. */
static void test_round_trip(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 200, 1);
    reopen(fx, SMALL_CACHE_FRAMES);
    for (uint64_t page_no = 2; page_no < 202; page_no++) expect_page(fx->p, page_no, 1);
    pager_stats stats;
    pager_stats_get(fx->p, &stats);
    assert_int_equal(stats.miss_count, 200);
    assert_true(stats.eviction_count >= 200 - SMALL_CACHE_FRAMES);
    assert_string_equal(stats.backend, tu_backend() == PAGER_BACKEND_URING   ? "io_uring"
                                       : tu_backend() == PAGER_BACKEND_POSIX ? "posix"
                                                                             : "fault");
}

/* A flipped bit on disk gives ALEXDB_CORRUPT naming file and offset, every time. */
static void test_flipped_bit(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 20, 2);
    pager_close(fx->p);
    tu_flip_bit(fx->path, 10 * PAGER_PAGE_SIZE + 1000, 3);
    open_pager(fx, SMALL_CACHE_FRAMES);
    pager_frame *f = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        assert_int_equal(pager_pin(fx->p, 10, 0, &f), ALEXDB_CORRUPT);
        assert_null(f);
        assert_non_null(strstr(alexdb_errmsg(), fx->path));
        assert_non_null(strstr(alexdb_errmsg(), "offset 40960"));
    }
    expect_page(fx->p, 11, 2);
}

/* A valid page copied to another page's place is caught by its page number. */
static void test_page_at_wrong_place(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 20, 3);
    pager_close(fx->p);
    int fd = open(fx->path, O_RDWR);
    uint8_t page[PAGER_PAGE_SIZE];
    assert_int_equal(pread(fd, page, sizeof(page), 11 * PAGER_PAGE_SIZE), PAGER_PAGE_SIZE);
    assert_int_equal(pwrite(fd, page, sizeof(page), 12 * PAGER_PAGE_SIZE), PAGER_PAGE_SIZE);
    close(fd);
    open_pager(fx, SMALL_CACHE_FRAMES);
    pager_frame *f = NULL;
    assert_int_equal(pager_pin(fx->p, 12, 0, &f), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "page 11 found where page 12 belongs"));
}

/* With half the frames pinned, reads still flow; with all pinned, ALEXDB_FULL. */
static void test_eviction_with_pins(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 400, 4);
    reopen(fx, SMALL_CACHE_FRAMES);
    pager_frame *held[SMALL_CACHE_FRAMES];
    for (uint32_t i = 0; i < SMALL_CACHE_FRAMES / 2; i++) {
        assert_int_equal(pager_pin(fx->p, 2 + i, 0, &held[i]), ALEXDB_OK);
    }
    for (uint64_t page_no = 100; page_no < 402; page_no++) expect_page(fx->p, page_no, 4);
    for (uint32_t i = 0; i < SMALL_CACHE_FRAMES / 2; i++) {
        assert_int_equal(pager_frame_page_no(held[i]), 2 + i);
        assert_true(tu_body_matches(pager_frame_data(held[i]), 2 + i, 4));
    }
    for (uint32_t i = SMALL_CACHE_FRAMES / 2; i < SMALL_CACHE_FRAMES; i++) {
        assert_int_equal(pager_pin(fx->p, 2 + i, 0, &held[i]), ALEXDB_OK);
    }
    pager_frame *f = NULL;
    assert_int_equal(pager_pin(fx->p, 300, 0, &f), ALEXDB_FULL);
    pager_unpin(fx->p, held[0]);
    expect_page(fx->p, 300, 4);
    for (uint32_t i = 1; i < SMALL_CACHE_FRAMES; i++) pager_unpin(fx->p, held[i]);
    pager_stats stats;
    pager_stats_get(fx->p, &stats);
    assert_true(stats.eviction_count > 200);
}

/* Sixteen misses in one pager_pin_many go out as one submission. */
static void test_batch_is_one_submission(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 100, 5);
    reopen(fx, SMALL_CACHE_FRAMES);
    uint64_t page_nos[16];
    pager_frame *frames[16];
    for (uint32_t i = 0; i < 16; i++) page_nos[i] = 2 + i * 6;
    pager_stats before, after;
    pager_stats_get(fx->p, &before);
    assert_int_equal(pager_pin_many(fx->p, page_nos, 16, 0, frames), ALEXDB_OK);
    pager_stats_get(fx->p, &after);
    assert_int_equal(after.io.submit_count - before.io.submit_count, 1);
    assert_int_equal(after.io.read_count - before.io.read_count, 16);
    for (uint32_t i = 0; i < 16; i++) {
        assert_true(tu_body_matches(pager_frame_data(frames[i]), page_nos[i], 5));
        pager_unpin(fx->p, frames[i]);
    }
}

/* Read requests completed since before. */
static uint64_t reads_since(pager *p, const pager_stats *before)
{
    pager_stats now;
    pager_stats_get(p, &now);
    return now.io.read_count - before->io.read_count;
}

/*
 * pager_prefetch: pages at most PAGER_PREFETCH_GAP_PAGES apart are read together and far
 * ones alone, all in one submission; duplicates and numbers outside the file are skipped;
 * the pages then pin without a read, a gap page read on the way is not kept, and a
 * second prefetch of cached pages reads nothing and counts no hit.
 */
static void test_prefetch_coalesces(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 300, 3);
    reopen(fx, 256);
    /* sorted: 10 12 17 26 (gaps of at most 8 pages: one read), 40, 100; 0, 1 and 99999 skipped */
    const uint64_t pages[] = {40, 10, 12, 17, 12, 26, 100, 0, 1, 99999};
    pager_stats before, after;
    pager_stats_get(fx->p, &before);
    assert_int_equal(pager_prefetch(fx->p, pages, 10), ALEXDB_OK);
    pager_stats_get(fx->p, &after);
    assert_int_equal(after.io.read_count - before.io.read_count, 3);
    assert_int_equal(after.io.submit_count - before.io.submit_count, 1);
    assert_int_equal(after.miss_count - before.miss_count, 6);
    assert_int_equal(after.hit_count, before.hit_count);
    for (uint32_t i = 0; i < 7; i++) {
        if (pages[i] != 12 || i == 2) expect_page(fx->p, pages[i], 3);
    }
    assert_int_equal(reads_since(fx->p, &after), 0);
    expect_page(fx->p, 11, 3); /* read with the run, but not kept */
    assert_int_equal(reads_since(fx->p, &after), 1);
    pager_stats_get(fx->p, &before);
    assert_int_equal(pager_prefetch(fx->p, pages, 10), ALEXDB_OK);
    pager_stats_get(fx->p, &after);
    assert_int_equal(after.io.read_count, before.io.read_count);
    assert_int_equal(after.hit_count, before.hit_count);
    assert_int_equal(pager_prefetch(fx->p, pages, 0), ALEXDB_OK);
}

/* At most a quarter of the frames per call: of 300 pages asked, 64 are read in. */
static void test_prefetch_cap(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 300, 4);
    reopen(fx, 256);
    uint64_t pages[300];
    for (uint32_t i = 0; i < 300; i++) pages[i] = 301 - i;
    pager_stats before, after;
    pager_stats_get(fx->p, &before);
    assert_int_equal(pager_prefetch(fx->p, pages, 300), ALEXDB_OK);
    pager_stats_get(fx->p, &after);
    assert_int_equal(after.miss_count - before.miss_count, 64);
    for (uint64_t page_no = 2; page_no < 66; page_no++) expect_page(fx->p, page_no, 4);
    assert_int_equal(reads_since(fx->p, &after), 0);
}

/* A bad page inside a run is reported and left out; its neighbours are cached. */
static void test_prefetch_bad_page(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 40, 6);
    pager_close(fx->p);
    tu_flip_bit(fx->path, 15 * PAGER_PAGE_SIZE + 77, 5);
    open_pager(fx, 256);
    uint64_t pages[11];
    for (uint32_t i = 0; i < 11; i++) pages[i] = 10 + i;
    assert_int_equal(pager_prefetch(fx->p, pages, 11), ALEXDB_CORRUPT);
    pager_stats before;
    pager_stats_get(fx->p, &before);
    expect_page(fx->p, 14, 6);
    expect_page(fx->p, 16, 6);
    assert_int_equal(reads_since(fx->p, &before), 0);
    pager_frame *f = NULL;
    assert_int_equal(pager_pin(fx->p, 15, 0, &f), ALEXDB_CORRUPT);
    assert_int_equal(reads_since(fx->p, &before), 1);
}

/* A page named twice in one batch is read once and pinned twice. */
static void test_batch_duplicates(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 10, 6);
    reopen(fx, SMALL_CACHE_FRAMES);
    uint64_t page_nos[3] = {5, 5, 6};
    pager_frame *frames[3];
    assert_int_equal(pager_pin_many(fx->p, page_nos, 3, 0, frames), ALEXDB_OK);
    assert_ptr_equal(frames[0], frames[1]);
    pager_stats stats;
    pager_stats_get(fx->p, &stats);
    assert_int_equal(stats.miss_count, 2);
    for (int i = 0; i < 3; i++) pager_unpin(fx->p, frames[i]);
}

/* A batch with one bad page fails as a whole and leaves nothing pinned. */
static void test_batch_with_bad_page(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 10, 7);
    pager_close(fx->p);
    tu_flip_bit(fx->path, 7 * PAGER_PAGE_SIZE + 100, 0);
    open_pager(fx, SMALL_CACHE_FRAMES);
    uint64_t page_nos[4] = {4, 5, 7, 8};
    pager_frame *frames[4];
    assert_int_equal(pager_pin_many(fx->p, page_nos, 4, 0, frames), ALEXDB_CORRUPT);
    for (int i = 0; i < 4; i++) assert_null(frames[i]);
    /* All frames are free again: the whole cache can be pinned. */
    pager_frame *held[SMALL_CACHE_FRAMES];
    uint64_t extra = 0;
    assert_int_equal(pager_extend(fx->p, SMALL_CACHE_FRAMES, &extra), ALEXDB_OK);
    for (uint32_t i = 0; i < SMALL_CACHE_FRAMES; i++) {
        assert_int_equal(pager_pin_new(fx->p, extra + i, PAGER_KIND_RAW, &held[i]), ALEXDB_OK);
    }
    for (uint32_t i = 0; i < SMALL_CACHE_FRAMES; i++) pager_unpin(fx->p, held[i]);
}

/* Touches hot pages, scans many cold ones, and counts how many hot ones were lost. */
static uint64_t hot_misses_after_scan(fixture *fx, unsigned scan_flags)
{
    for (int round = 0; round < 4; round++) {
        for (uint64_t page_no = 2; page_no < 34; page_no++) expect_page(fx->p, page_no, 8);
    }
    for (uint64_t page_no = 100; page_no < 1100; page_no++) {
        pager_frame *f = NULL;
        assert_int_equal(pager_pin(fx->p, page_no, scan_flags, &f), ALEXDB_OK);
        pager_unpin(fx->p, f);
    }
    pager_stats before, after;
    pager_stats_get(fx->p, &before);
    for (uint64_t page_no = 2; page_no < 34; page_no++) expect_page(fx->p, page_no, 8);
    pager_stats_get(fx->p, &after);
    return after.miss_count - before.miss_count;
}

/* A long scan with PAGER_PIN_SCAN leaves the hot set cached; without it, it does not. */
static void test_scan_resistance(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 1100, 8);
    reopen(fx, 128);
    assert_int_equal(hot_misses_after_scan(fx, PAGER_PIN_SCAN), 0);
    reopen(fx, 128);
    assert_true(hot_misses_after_scan(fx, 0) > 0);
}

/* Page numbers past the end of the file are corruption, never a read of garbage. */
static void test_beyond_end(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 4, 9);
    pager_frame *f = NULL;
    assert_int_equal(pager_pin(fx->p, 6, 0, &f), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "beyond the end"));
    assert_int_equal(pager_pin(fx->p, UINT64_MAX - 1, 0, &f), ALEXDB_CORRUPT);
    assert_int_equal(pager_pin_new(fx->p, 6, PAGER_KIND_RAW, &f), ALEXDB_INVALID);
    assert_int_equal(pager_pin_new(fx->p, 0, PAGER_KIND_RAW, &f), ALEXDB_INVALID);
    assert_int_equal(pager_pin(fx->p, 5, 0, &f), ALEXDB_OK);
    pager_frame *g = NULL;
    assert_int_equal(pager_pin_new(fx->p, 5, PAGER_KIND_RAW, &g), ALEXDB_INVALID);
    pager_unpin(fx->p, f);
}

/*
 * A read hold: a miss reads and pins, a hit takes the latch alone; with every kind of
 * early_offset (none, the first and last line, past the page, any u32) the data is
 * the page's. A held page is not evicted; once ended it can be. A page past the end
 * is an error, as for pager_pin.
 */
static void test_read_hold(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 200, 4);
    reopen(fx, SMALL_CACHE_FRAMES);
    const uint32_t offsets[] = { PAGER_PAGE_SIZE, 0, 63, 64, 2000, PAGER_PAGE_SIZE - 64,
                                 PAGER_PAGE_SIZE - 1, PAGER_PAGE_SIZE + 64, UINT32_MAX };
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(offsets); i++) {
        pager_read hold;
        assert_int_equal(pager_read_begin(fx->p, 2, 0, offsets[i], &hold), ALEXDB_OK);
        assert_int_equal(hold.pinned, i == 0); /* read on the first, a hit after */
        assert_true(tu_body_matches(pager_read_data(&hold), 2, 4));
        pager_read_end(fx->p, &hold);
    }
    pager_read held;
    assert_int_equal(pager_read_begin(fx->p, 3, 0, 0, &held), ALEXDB_OK);
    for (uint64_t page_no = 4; page_no < 202; page_no++) expect_page(fx->p, page_no, 4);
    assert_true(tu_body_matches(pager_read_data(&held), 3, 4)); /* still its page */
    pager_read_end(fx->p, &held);
    for (uint64_t page_no = 4; page_no < 202; page_no++) expect_page(fx->p, page_no, 4);
    pager_stats before, after;
    pager_stats_get(fx->p, &before);
    assert_int_equal(pager_read_begin(fx->p, 3, 0, 100, &held), ALEXDB_OK);
    pager_stats_get(fx->p, &after);
    assert_int_equal(after.miss_count, before.miss_count + 1); /* evicted once ended */
    assert_true(held.pinned && tu_body_matches(pager_read_data(&held), 3, 4));
    pager_read_end(fx->p, &held);
    assert_int_equal(pager_read_begin(fx->p, 202, 0, 0, &held), ALEXDB_CORRUPT);
}

typedef struct reader_arg {
    pager *p;
    uint64_t seed;
    uint32_t page_count;
    int failures;
} reader_arg;

static void *reader_main(void *arg)
{
    reader_arg *a = arg;
    common_rng rng;
    common_rng_seed(&rng, a->seed);
    for (int op = 0; op < 400; op++) {
        uint32_t n = 1 + (uint32_t)common_rng_below(&rng, 8);
        uint64_t page_nos[8];
        pager_frame *frames[8];
        for (uint32_t i = 0; i < n; i++) page_nos[i] = 2 + common_rng_below(&rng, a->page_count);
        if (pager_pin_many(a->p, page_nos, n, 0, frames) != ALEXDB_OK) {
            a->failures++;
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            pager_latch_shared(frames[i]);
            if (!tu_body_matches(pager_frame_data(frames[i]), page_nos[i], 10)) a->failures++;
            pager_unlatch(frames[i]);
            pager_unpin(a->p, frames[i]);
        }
    }
    return NULL;
}

/* Four threads pin overlapping random batches through a small cache: all data right. */
static void test_concurrent_pins(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 300, 10);
    reopen(fx, SMALL_CACHE_FRAMES);
    pthread_t threads[4];
    reader_arg args[4];
    uint64_t seed = tu_seed();
    for (int i = 0; i < 4; i++) {
        args[i] = (reader_arg){.p = fx->p, .seed = seed + (uint64_t)i, .page_count = 300};
        assert_int_equal(pthread_create(&threads[i], NULL, reader_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
}

typedef struct writer_arg {
    pager *p;
    uint64_t seed;
    uint32_t thread;      /* owns the pages with (page_no - 2) % 4 == thread */
    uint32_t page_count;
    uint32_t counts[300]; /* increments made to each owned page */
    int failures;
    int flushes;
} writer_arg;

#define COUNTER_OFFSET PAGER_HEADER_SIZE

/*
 * Increments a counter in its own pages (single pins: the lock-free hit path) while
 * touching random pages of the other threads, so frames are evicted all the time.
 */
static void *writer_main(void *arg)
{
    writer_arg *a = arg;
    common_rng rng;
    common_rng_seed(&rng, a->seed);
    for (int op = 0; op < 3000; op++) {
        uint64_t page_no = 2 + common_rng_below(&rng, a->page_count);
        bool mine = (page_no - 2) % 4 == a->thread;
        pager_frame *f = NULL;
        int rc = pager_pin(a->p, page_no, 0, &f);
        /* Every frame holds a change to a live page: only a checkpoint frees them (P12);
         * the other threads may fill the cache again before the retry. */
        for (int tries = 0; rc == ALEXDB_FULL && tries < 100; tries++) {
            if (pager_flush(a->p) != ALEXDB_OK) a->failures++;
            a->flushes++;
            rc = pager_pin(a->p, page_no, 0, &f);
        }
        if (rc != ALEXDB_OK) {
            a->failures++;
            continue;
        }
        if (mine) {
            pager_latch_exclusive(f);
            uint8_t *data = pager_frame_data(f);
            common_store_u32le(data + COUNTER_OFFSET, common_load_u32le(data + COUNTER_OFFSET) + 1);
            pager_mark_dirty(a->p, f, 0);
            pager_unlatch(f);
            a->counts[page_no - 2]++;
        } else {
            pager_latch_shared(f);
            if (pager_page_kind(pager_frame_data(f)) != PAGER_KIND_RAW) a->failures++;
            pager_unlatch(f);
        }
        pager_unpin(a->p, f);
    }
    return NULL;
}

/*
 * Four threads change their own pages through a 64-frame cache over 300 pages while
 * evictions and checkpoints run: no change is lost to an eviction racing a pin (P4),
 * or to a checkpoint copying a page being changed (P9), before or after a reopen.
 */
static void test_concurrent_writes_and_evictions(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 300, 10);
    for (uint64_t page_no = 2; page_no < 302; page_no++) {
        pager_frame *f = NULL;
        if (page_no % 32 == 0) assert_int_equal(pager_flush(fx->p), ALEXDB_OK);
        assert_int_equal(pager_pin(fx->p, page_no, 0, &f), ALEXDB_OK);
        pager_latch_exclusive(f);
        common_store_u32le(pager_frame_data(f) + COUNTER_OFFSET, 0);
        pager_mark_dirty(fx->p, f, 0);
        pager_unlatch(f);
        pager_unpin(fx->p, f);
    }
    pthread_t threads[4];
    static writer_arg args[4];
    uint64_t seed = tu_seed();
    for (uint32_t i = 0; i < 4; i++) {
        args[i] = (writer_arg){.p = fx->p, .seed = seed + i, .thread = i, .page_count = 300};
        assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &args[i]), 0);
    }
    int flushes = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(args[i].failures, 0);
        flushes += args[i].flushes;
    }
    assert_true(flushes > 0); /* the cache did fill with changes to live pages */
    for (int round = 0; round < 2; round++) {
        for (uint64_t page_no = 2; page_no < 302; page_no++) {
            pager_frame *f = NULL;
            int rc = pager_pin(fx->p, page_no, 0, &f);
            if (rc == ALEXDB_FULL) { /* the writers left every frame changed (P12) */
                assert_int_equal(pager_flush(fx->p), ALEXDB_OK);
                rc = pager_pin(fx->p, page_no, 0, &f);
            }
            assert_int_equal(rc, ALEXDB_OK);
            pager_latch_shared(f);
            uint32_t got = common_load_u32le(pager_frame_data(f) + COUNTER_OFFSET);
            pager_unlatch(f);
            pager_unpin(fx->p, f);
            assert_int_equal(got, args[(page_no - 2) % 4].counts[page_no - 2]);
        }
        assert_int_equal(pager_flush(fx->p), ALEXDB_OK);
        reopen(fx, SMALL_CACHE_FRAMES);
    }
}

/* An injected read error surfaces as ALEXDB_IO; the frame is recycled and a retry works. */
static void test_read_error_recycles_frame(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 10, 11);
    pager_close(fx->p);
    pager_fault *fault = NULL;
    pager_fault_config fc = {.seed = 1, .read_error_at = 3};
    assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
    pager_config config;
    pager_config_init(&config);
    config.env.backend = PAGER_BACKEND_FAULT;
    config.env.fault = fault;
    config.cache_bytes = PAGER_CACHE_SIZE_MIN;
    assert_int_equal(pager_open(fx->path, &config, &fx->p), ALEXDB_OK); /* read 1: superblocks */
    expect_page(fx->p, 2, 11);                                          /* read 2 */
    pager_frame *f = NULL;
    assert_int_equal(pager_pin(fx->p, 3, 0, &f), ALEXDB_IO);            /* read 3 fails */
    expect_page(fx->p, 3, 11);
    pager_close(fx->p);
    pager_fault_destroy(fault);
    open_pager(fx, SMALL_CACHE_FRAMES);
}

static int reject_page_9(void *ctx, const char *path, const uint8_t *page, uint64_t page_no)
{
    (*(int *)ctx)++;
    assert_int_equal(pager_page_kind(page), PAGER_KIND_RAW);
    return page_no == 9 ? common_corrupt(path, page_no * PAGER_PAGE_SIZE, "layer above says no")
                        : ALEXDB_OK;
}

/* The layer above's check runs once per page read from disk, never on hits, and can fail a pin. */
static void test_check_page_hook(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 10, 12);
    pager_close(fx->p);
    int calls = 0;
    pager_config config;
    pager_config_init(&config);
    tu_env(&config.env);
    config.check_page = reject_page_9;
    config.check_ctx = &calls;
    assert_int_equal(pager_open(fx->path, &config, &fx->p), ALEXDB_OK);
    expect_page(fx->p, 8, 12);
    expect_page(fx->p, 8, 12);
    assert_int_equal(calls, 1);
    pager_frame *f = NULL;
    assert_int_equal(pager_pin(fx->p, 9, 0, &f), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "layer above says no"));
    assert_int_equal(calls, 2);
}

/* A discarded dirty page is never written back; a re-created one is. */
static void test_discard(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 4, 13);
    pager_frame *f = NULL;
    assert_int_equal(pager_pin(fx->p, 3, 0, &f), ALEXDB_OK);
    pager_latch_exclusive(f);
    tu_fill_body(pager_frame_data(f), 3, 14);
    pager_mark_dirty(fx->p, f, 1);
    pager_unlatch(f);
    pager_unpin(fx->p, f);
    pager_discard(fx->p, 3);
    pager_discard(fx->p, 5); /* not cached: nothing to do */
    pager_stats before, after;
    pager_stats_get(fx->p, &before);
    assert_int_equal(pager_flush(fx->p), ALEXDB_OK);
    pager_stats_get(fx->p, &after);
    assert_int_equal(after.io.write_count, before.io.write_count + 1); /* the superblock only */
    /* Rewritten uncached, the page is then read from disk, not from a stale frame. */
    uint8_t *buf = tu_aligned(PAGER_PAGE_SIZE);
    pager_page_init(buf, PAGER_KIND_RAW);
    tu_fill_body(buf, 3, 15);
    assert_int_equal(pager_write_pages(fx->p, 3, 1, buf, 0), ALEXDB_OK);
    free(buf);
    expect_page(fx->p, 3, 15);
    pager_discard(fx->p, 3);
    reopen(fx, SMALL_CACHE_FRAMES);
    expect_page(fx->p, 3, 15); /* the discarded dirty change (salt 14) never reached disk */
}

/*
 * P15: frames a begun checkpoint has not copied yet are pinned by it, so reads that cycle
 * the clock through the cache several times never evict them; the checkpoint then
 * writes the begin's pages.
 */
static void test_clock_skips_pending(void **state)
{
    fixture *fx = *state;
    make_pages(fx->p, 200, 1);
    for (uint64_t page_no = 2; page_no < 18; page_no++) {
        pager_frame *f = NULL;
        assert_int_equal(pager_pin(fx->p, page_no, 0, &f), ALEXDB_OK);
        pager_latch_exclusive(f);
        tu_fill_body(pager_frame_data(f), page_no, 2);
        pager_mark_dirty(fx->p, f, 2);
        pager_unlatch(f);
        pager_unpin(fx->p, f);
    }
    pager_checkpoint_job *job = NULL;
    assert_int_equal(pager_checkpoint_begin(fx->p, &job), ALEXDB_OK);
    pager_stats before, after;
    pager_stats_get(fx->p, &before);
    for (int round = 0; round < 3; round++) {
        for (uint64_t page_no = 18; page_no < 202; page_no++) expect_page(fx->p, page_no, 1);
    }
    pager_stats_get(fx->p, &after);
    assert_true(after.eviction_count - before.eviction_count >= 3 * 184 - SMALL_CACHE_FRAMES);
    for (uint64_t page_no = 2; page_no < 18; page_no++) expect_page(fx->p, page_no, 2);
    pager_stats_get(fx->p, &before);
    assert_int_equal(before.miss_count, after.miss_count); /* all 16 still cached */
    assert_int_equal(pager_checkpoint_finish(fx->p, job, 2, NULL, 0), ALEXDB_OK);
    reopen(fx, SMALL_CACHE_FRAMES);
    for (uint64_t page_no = 2; page_no < 18; page_no++) expect_page(fx->p, page_no, 2);
}

/* After a reopen with frames, a checkpoint is due once more than budget frames are dirty. */
static void check_budget(fixture *fx, uint32_t frames, uint32_t budget)
{
    reopen(fx, frames);
    assert_int_equal(pager_dirty_budget(fx->p), budget);
    uint64_t first = 0;
    assert_int_equal(pager_extend(fx->p, budget + 4, &first), ALEXDB_OK);
    for (uint32_t i = 0; i < budget + 4; i++) {
        pager_frame *f = NULL;
        assert_int_equal(pager_pin_new(fx->p, first + i, PAGER_KIND_RAW, &f), ALEXDB_OK);
        pager_latch_exclusive(f);
        tu_fill_body(pager_frame_data(f), first + i, 1);
        pager_mark_dirty(fx->p, f, 1);
        pager_unlatch(f);
        pager_unpin(fx->p, f);
        assert_int_equal(pager_checkpoint_due(fx->p), i + 1 > budget);
    }
    assert_int_equal(pager_flush(fx->p), ALEXDB_OK);
    assert_false(pager_checkpoint_due(fx->p));
}

/* The dirty budget: 3/4 of the frames, but at least 32 left for clean pages. */
static void test_dirty_budget(void **state)
{
    fixture *fx = *state;
    check_budget(fx, 1024, 768);
    check_budget(fx, 128, 96);
    check_budget(fx, 100, 68);
    check_budget(fx, SMALL_CACHE_FRAMES, 32);
}

/* A cache below the minimum is refused at open with ALEXDB_INVALID. */
static void test_cache_too_small(void **state)
{
    fixture *fx = *state;
    pager_config config;
    pager_config_init(&config);
    tu_env(&config.env);
    config.cache_bytes = PAGER_CACHE_SIZE_MIN - 1;
    pager *p = NULL;
    assert_int_equal(pager_open(fx->path, &config, &p), ALEXDB_INVALID);
    assert_null(p);
}

int main(void)
{
    printf("backend: %s\n", tu_backend_name());
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_at_wrong_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eviction_with_pins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_is_one_submission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_with_bad_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_resistance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_beyond_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_pins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writes_and_evictions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_error_recycles_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dirty_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_page_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_skips_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefetch_coalesces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefetch_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefetch_bad_page, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
