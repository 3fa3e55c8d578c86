/*
 * pager_io_fault_test.c: the fault-injecting backend (pager/io_fault.c). Every injected
 * fault must reach the caller of pager_file_rw()/pager_file_sync() as the right code
 * with the right sticky state, short transfers must be invisible, and the power cut
 * must leave exactly the last synced image plus, per unsynced write, its old or new
 * content (or, with tear, a sector-wise mix), the same for the same seed.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE PAGER_PAGE_SIZE
#define SECTORS_PER_PAGE (PAGER_PAGE_SIZE / PAGER_SECTOR_SIZE)

/* Every 8 bytes depend on (page_no, salt, index): no two sectors of any version agree. */
static void fill_page(uint8_t *page, uint64_t page_no, uint64_t salt)
{
    for (size_t i = 0; i < PAGE; i += 8) {
        uint64_t x = (page_no + 1) * 0x9e3779b97f4a7c15ULL ^ (salt + 1) * 0xbf58476d1ce4e5b9ULL ^
                     (i + 1) * 0x94d049bb133111ebULL;
        x ^= x >> 31;
        memcpy(page + i, &x, sizeof(x));
    }
}

static pager_fault *make_domain(const pager_fault_config *config)
{
    pager_fault *fault = NULL;
    assert_int_equal(pager_fault_create(config, &fault), ALEXDB_OK);
    assert_non_null(fault);
    return fault;
}

static pager_file *open_in(pager_fault *fault, const char *path)
{
    pager_env env = {.backend = PAGER_BACKEND_FAULT, .fault = fault};
    pager_file *file = NULL;
    assert_int_equal(pager_file_open(&env, path, PAGER_OPEN_CREATE, &file), ALEXDB_OK);
    assert_string_equal(pager_file_backend_name(file), "fault");
    return file;
}

/* Writes pages [first, first + count) with salt: one request per page, one call. */
static int write_pages(pager_file *file, uint64_t first, uint32_t count, uint64_t salt)
{
    uint8_t *buf = tu_aligned((size_t)count * PAGE);
    pager_io_req *reqs = calloc(count, sizeof(*reqs));
    assert_non_null(reqs);
    for (uint32_t i = 0; i < count; i++) {
        fill_page(buf + (size_t)i * PAGE, first + i, salt);
        reqs[i] = (pager_io_req){.buf = buf + (size_t)i * PAGE, .offset = (first + i) * PAGE,
                                 .size = PAGE, .op = PAGER_IO_WRITE};
    }
    int rc = pager_file_rw(file, reqs, count);
    free(reqs);
    free(buf);
    return rc;
}

/* The whole file, read around the domain (which refuses I/O after a cut). */
static uint8_t *slurp(const char *path, uint64_t *size_out)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *buf = calloc(1, (size_t)st.st_size + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *size_out = (uint64_t)st.st_size;
    return buf;
}

enum page_state { PAGE_OLD, PAGE_NEW, PAGE_TORN, PAGE_OTHER };

/*
 * Classifies page_no of an image sector by sector: each sector must be the old
 * version's (old_salt; 0 means "zeros or past the end": the page did not exist) or
 * the new version's.
 */
static enum page_state page_state(const uint8_t *image, uint64_t size, uint64_t page_no,
                                  uint64_t old_salt, uint64_t new_salt)
{
    uint8_t page[PAGE] = {0};
    uint8_t old_page[PAGE] = {0};
    uint8_t new_page[PAGE];
    uint64_t offset = page_no * PAGE;
    if (offset < size) memcpy(page, image + offset, COMMON_MIN((uint64_t)PAGE, size - offset));
    if (old_salt != 0) fill_page(old_page, page_no, old_salt);
    fill_page(new_page, page_no, new_salt);
    uint32_t old_count = 0;
    uint32_t new_count = 0;
    for (uint32_t s = 0; s < SECTORS_PER_PAGE; s++) {
        size_t at = (size_t)s * PAGER_SECTOR_SIZE;
        if (memcmp(page + at, old_page + at, PAGER_SECTOR_SIZE) == 0) old_count++;
        else if (memcmp(page + at, new_page + at, PAGER_SECTOR_SIZE) == 0) new_count++;
        else return PAGE_OTHER;
    }
    if (old_count == SECTORS_PER_PAGE) return PAGE_OLD;
    if (new_count == SECTORS_PER_PAGE) return PAGE_NEW;
    return PAGE_TORN;
}

static void assert_page_is(const char *path, uint64_t page_no, uint64_t salt)
{
    uint64_t size = 0;
    uint8_t *image = slurp(path, &size);
    assert_int_equal(page_state(image, size, page_no, 0, salt), PAGE_NEW);
    free(image);
}

/* Reads count pages at first through the file into buf (count * PAGE bytes). */
static int read_pages(pager_file *file, uint64_t first, uint32_t count, uint8_t *buf)
{
    pager_io_req req = {.buf = buf, .offset = first * PAGE, .size = count * PAGE,
                        .op = PAGER_IO_READ};
    return pager_file_rw(file, &req, 1);
}

static void fault_stats(pager_fault *fault, pager_fault_stats *stats)
{
    memset(stats, 0xff, sizeof(*stats));
    pager_fault_stats_get(fault, stats);
}

/* A bad configuration and a fault backend without a domain are refused, not crashed on. */
static void test_bad_arguments(void **state)
{
    (void)state;
    pager_fault *fault = NULL;
    assert_int_equal(pager_fault_create(NULL, &fault), ALEXDB_INVALID);
    pager_fault_config config = {.read_errno = -5};
    fault = (pager_fault *)(uintptr_t)1;
    assert_int_equal(pager_fault_create(&config, &fault), ALEXDB_INVALID);
    assert_null(fault);
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_env env = {.backend = PAGER_BACKEND_FAULT};
    pager_file *file = NULL;
    assert_int_equal(pager_file_open(&env, path, PAGER_OPEN_CREATE, &file), ALEXDB_INVALID);
    assert_null(file);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* The Nth read fails with EIO as ALEXDB_IO naming the file; reads are not sticky. */
static void test_read_error(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = 1, .read_error_at = 2};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    assert_int_equal(write_pages(file, 0, 2, 7), ALEXDB_OK);
    uint8_t *buf = tu_aligned(2 * PAGE);
    pager_io_req reqs[2] = {
        {.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_READ},
        {.buf = buf + PAGE, .offset = PAGE, .size = PAGE, .op = PAGER_IO_READ},
    };
    assert_int_equal(pager_file_rw(file, reqs, 2), ALEXDB_IO);
    assert_int_equal(reqs[0].result, PAGE);
    assert_int_equal(reqs[1].result, -EIO);
    assert_non_null(strstr(alexdb_errmsg(), path));
    assert_int_equal(pager_file_error(file), ALEXDB_OK);
    assert_int_equal(read_pages(file, 1, 1, buf), ALEXDB_OK); /* read #3 is fine */
    uint8_t expected[PAGE];
    fill_page(expected, 1, 7);
    assert_memory_equal(buf, expected, PAGE);
    assert_int_equal(write_pages(file, 2, 1, 7), ALEXDB_OK);
    pager_fault_stats stats;
    fault_stats(fault, &stats);
    assert_int_equal(stats.read_count, 3);
    assert_int_equal(stats.injected_count, 1);
    assert_int_equal(stats.io_count, 3 + 3);
    free(buf);
    pager_file_close(file);
    pager_fault_destroy(fault);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* A write failing with ENOSPC is ALEXDB_NOSPACE, writes nothing; then writes/syncs are refused. */
static void test_write_nospace_is_sticky(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = 1, .write_error_at = 2, .write_errno = ENOSPC};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    assert_int_equal(write_pages(file, 0, 1, 3), ALEXDB_OK);
    assert_int_equal(write_pages(file, 1, 1, 3), ALEXDB_NOSPACE);
    assert_int_equal(pager_file_error(file), ALEXDB_NOSPACE);
    uint64_t size = 0;
    assert_int_equal(pager_file_size(file, &size), ALEXDB_OK);
    assert_int_equal(size, PAGE); /* the failed write wrote nothing */
    assert_int_equal(write_pages(file, 2, 1, 3), ALEXDB_READONLY);
    assert_int_equal(pager_file_sync(file), ALEXDB_READONLY);
    uint8_t *buf = tu_aligned(PAGE);
    assert_int_equal(read_pages(file, 0, 1, buf), ALEXDB_OK);
    pager_fault_stats stats;
    fault_stats(fault, &stats);
    assert_int_equal(stats.write_count, 2); /* the refused ones never reached the backend */
    assert_int_equal(stats.sync_count, 0);
    assert_int_equal(stats.injected_count, 1);
    free(buf);
    pager_file_close(file);
    pager_fault_destroy(fault);
    assert_page_is(path, 0, 3);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* A failed fdatasync is ALEXDB_IO, not retried, makes nothing durable; then syncs/writes fail. */
static void test_sync_error_is_sticky(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = 1, .sync_error_at = 1};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    assert_int_equal(write_pages(file, 0, 1, 3), ALEXDB_OK);
    assert_int_equal(pager_file_sync(file), ALEXDB_IO);
    assert_int_equal(pager_file_error(file), ALEXDB_IO);
    assert_int_equal(pager_file_sync(file), ALEXDB_READONLY);
    assert_int_equal(write_pages(file, 1, 1, 3), ALEXDB_READONLY);
    pager_fault_stats stats;
    fault_stats(fault, &stats);
    assert_int_equal(stats.sync_count, 1);
    assert_int_equal(stats.write_count, 1);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    fault_stats(fault, &stats);
    assert_int_equal(stats.cut_kept_count + stats.cut_dropped_count, 1);
    pager_file_close(file);
    pager_fault_destroy(fault);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* A short read is completed by one resubmission: the caller sees the whole, correct page run. */
static void test_short_read_completed(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = 1, .short_read_at = 1};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    assert_int_equal(write_pages(file, 0, 4, 9), ALEXDB_OK);
    pager_io_stats before;
    pager_file_stats(file, &before);
    uint8_t *buf = tu_aligned(4 * PAGE);
    assert_int_equal(read_pages(file, 0, 4, buf), ALEXDB_OK);
    for (uint64_t p = 0; p < 4; p++) {
        uint8_t expected[PAGE];
        fill_page(expected, p, 9);
        assert_memory_equal(buf + p * PAGE, expected, PAGE);
    }
    pager_io_stats after;
    pager_file_stats(file, &after);
    assert_int_equal(after.submit_count - before.submit_count, 2);
    assert_int_equal(after.read_count - before.read_count, 1);
    assert_int_equal(after.read_bytes - before.read_bytes, 4 * PAGE);
    pager_fault_stats stats;
    fault_stats(fault, &stats);
    assert_int_equal(stats.read_count, 2);
    assert_int_equal(stats.injected_count, 1);
    free(buf);
    pager_file_close(file);
    pager_fault_destroy(fault);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* A short write is completed by one resubmission; both pieces are logged as unsynced writes. */
static void test_short_write_completed(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = 1, .short_write_at = 1};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    uint8_t *buf = tu_aligned(4 * PAGE);
    for (uint64_t p = 0; p < 4; p++) fill_page(buf + p * PAGE, p, 5);
    pager_io_req req = {.buf = buf, .offset = 0, .size = 4 * PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    assert_int_equal(req.result, 4 * PAGE);
    pager_io_stats io;
    pager_file_stats(file, &io);
    assert_int_equal(io.submit_count, 2);
    assert_int_equal(io.write_count, 1);
    assert_int_equal(io.write_bytes, 4 * PAGE);
    for (uint64_t p = 0; p < 4; p++) assert_page_is(path, p, 5);
    pager_fault_stats stats;
    fault_stats(fault, &stats);
    assert_int_equal(stats.write_count, 2);
    assert_int_equal(stats.injected_count, 1);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    fault_stats(fault, &stats);
    assert_int_equal(stats.cut_kept_count + stats.cut_dropped_count, 2);
    free(buf);
    pager_file_close(file);
    pager_fault_destroy(fault);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/*
 * The standard cut scenario: pages 0..47 written with salt 1 and synced, then pages
 * 16..63 rewritten with salt 2 (32 overwrites, 16 extending the file), unsynced, then
 * the cut. Returns the image left on disk.
 */
#define SYNCED_PAGES 48u
#define UNSYNCED_FIRST 16u
#define LAST_PAGES 64u

static uint8_t *cut_scenario(const char *dir, const pager_fault_config *config,
                             pager_fault_stats *stats, uint64_t *size_out)
{
    char *path = tu_path(dir, "scenario");
    pager_fault *fault = make_domain(config);
    pager_file *file = open_in(fault, path);
    assert_int_equal(write_pages(file, 0, SYNCED_PAGES, 1), ALEXDB_OK);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    assert_int_equal(write_pages(file, UNSYNCED_FIRST, LAST_PAGES - UNSYNCED_FIRST, 2), ALEXDB_OK);
    assert_false(pager_fault_is_cut(fault));
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    assert_true(pager_fault_is_cut(fault));
    fault_stats(fault, stats);
    pager_file_close(file);
    pager_fault_destroy(fault);
    uint8_t *image = slurp(path, size_out);
    free(path);
    return image;
}

/*
 * Checks a scenario image page by page and that the counts of old/new/torn pages are
 * exactly the dropped/kept/torn counts the domain reports. Returns the torn count.
 */
static uint64_t check_scenario(const uint8_t *image, uint64_t size, const pager_fault_stats *stats)
{
    assert_int_equal(size % PAGER_SECTOR_SIZE, 0);
    assert_true(size >= SYNCED_PAGES * PAGE && size <= LAST_PAGES * PAGE);
    for (uint64_t p = 0; p < UNSYNCED_FIRST; p++) {
        assert_int_equal(page_state(image, size, p, 0, 1), PAGE_NEW); /* synced: exact */
    }
    uint64_t counts[4] = {0};
    uint64_t last_new_end = SYNCED_PAGES * PAGE;
    for (uint64_t p = UNSYNCED_FIRST; p < LAST_PAGES; p++) {
        enum page_state st = page_state(image, size, p, p < SYNCED_PAGES ? 1 : 0, 2);
        assert_int_not_equal(st, PAGE_OTHER);
        counts[st]++;
        if (st != PAGE_OLD) last_new_end = COMMON_MAX(last_new_end, (p + 1) * PAGE);
    }
    /* Dropped extending writes were truncated back; only a torn one can end mid-page. */
    assert_true(size <= last_new_end && size > last_new_end - PAGE);
    if (counts[PAGE_TORN] == 0) assert_int_equal(size, last_new_end);
    assert_int_equal(counts[PAGE_OLD], stats->cut_dropped_count);
    assert_int_equal(counts[PAGE_NEW], stats->cut_kept_count);
    assert_int_equal(counts[PAGE_TORN], stats->cut_torn_count);
    assert_int_equal(stats->cut_kept_count + stats->cut_dropped_count + stats->cut_torn_count,
                     LAST_PAGES - UNSYNCED_FIRST);
    return counts[PAGE_TORN];
}

/* Without tear, synced pages survive exactly and each unsynced page is wholly old or wholly new. */
static void test_powercut_keeps_or_drops(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    pager_fault_config config = {.seed = tu_seed()};
    pager_fault_stats stats;
    uint64_t size = 0;
    uint8_t *image = cut_scenario(dir, &config, &stats, &size);
    assert_int_equal(check_scenario(image, size, &stats), 0);
    assert_int_equal(size % PAGE, 0);
    assert_true(stats.cut_kept_count > 0 && stats.cut_dropped_count > 0);
    free(image);
    tu_rmrf(dir);
    free(dir);
}

/* With tear, some page mixes old and new 512-byte sectors, and every torn page is counted. */
static void test_powercut_tears(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    pager_fault_config config = {.seed = 42, .tear = 1};
    pager_fault_stats stats;
    uint64_t size = 0;
    uint8_t *image = cut_scenario(dir, &config, &stats, &size);
    assert_true(check_scenario(image, size, &stats) > 0);
    assert_true(stats.cut_kept_count > 0 && stats.cut_dropped_count > 0);
    free(image);
    tu_rmrf(dir);
    free(dir);
}

/* A write counted as torn always mixes kept and lost sectors, even a two-sector one. */
static void test_torn_write_mixes(void **state)
{
    (void)state;
    enum { UNIT = 2 * PAGER_SECTOR_SIZE, UNIT_COUNT = 64 };
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = tu_seed(), .tear = 1};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    uint8_t *old_image = tu_aligned((size_t)UNIT * UNIT_COUNT);
    uint8_t *new_image = tu_aligned((size_t)UNIT * UNIT_COUNT);
    for (uint64_t p = 0; p < UNIT * UNIT_COUNT / PAGE; p++) {
        fill_page(old_image + p * PAGE, p, 1);
        fill_page(new_image + p * PAGE, p, 2);
    }
    pager_io_req req = {.buf = old_image, .offset = 0, .size = UNIT * UNIT_COUNT,
                        .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    pager_io_req reqs[UNIT_COUNT];
    for (uint32_t u = 0; u < UNIT_COUNT; u++) {
        reqs[u] = (pager_io_req){.buf = new_image + (size_t)u * UNIT, .offset = (uint64_t)u * UNIT,
                                 .size = UNIT, .op = PAGER_IO_WRITE};
    }
    assert_int_equal(pager_file_rw(file, reqs, UNIT_COUNT), ALEXDB_OK);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    pager_fault_stats stats;
    fault_stats(fault, &stats);
    uint64_t size = 0;
    uint8_t *image = slurp(path, &size);
    assert_int_equal(size, (uint64_t)UNIT * UNIT_COUNT);
    uint64_t mixed_count = 0;
    for (uint32_t u = 0; u < UNIT_COUNT; u++) {
        bool sector_new[2];
        for (uint32_t s = 0; s < 2; s++) {
            size_t at = (size_t)u * UNIT + (size_t)s * PAGER_SECTOR_SIZE;
            sector_new[s] = memcmp(image + at, new_image + at, PAGER_SECTOR_SIZE) == 0;
            bool sector_old = memcmp(image + at, old_image + at, PAGER_SECTOR_SIZE) == 0;
            assert_true(sector_new[s] || sector_old);
        }
        mixed_count += sector_new[0] != sector_new[1];
    }
    assert_int_equal(mixed_count, stats.cut_torn_count);
    assert_true(stats.cut_torn_count > 0);
    free(image);
    free(new_image);
    free(old_image);
    pager_file_close(file);
    pager_fault_destroy(fault);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* The same seed leaves the same image byte for byte; another seed leaves another. */
static void test_powercut_is_deterministic(void **state)
{
    (void)state;
    uint8_t *images[3];
    uint64_t sizes[3];
    uint64_t seeds[3] = {7, 7, 8};
    for (int i = 0; i < 3; i++) {
        char *dir = tu_tmpdir();
        pager_fault_config config = {.seed = seeds[i], .tear = 1};
        pager_fault_stats stats;
        images[i] = cut_scenario(dir, &config, &stats, &sizes[i]);
        (void)check_scenario(images[i], sizes[i], &stats);
        tu_rmrf(dir);
        free(dir);
    }
    assert_int_equal(sizes[0], sizes[1]);
    assert_memory_equal(images[0], images[1], sizes[0]);
    assert_true(sizes[0] != sizes[2] || memcmp(images[0], images[2], sizes[0]) != 0);
    for (int i = 0; i < 3; i++) free(images[i]);
}

/* After the cut every read, write and sync fails with EIO, and nothing more reaches the disk. */
static void test_io_fails_after_cut(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = 1};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    assert_int_equal(write_pages(file, 0, 2, 1), ALEXDB_OK);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK); /* already off: nothing to do */
    uint8_t *buf = tu_aligned(PAGE);
    pager_io_req req = {.buf = buf, .offset = 0, .size = PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_IO);
    assert_int_equal(req.result, -EIO);
    assert_int_equal(write_pages(file, 0, 1, 9), ALEXDB_IO);
    pager_file_close(file);
    file = open_in(fault, path); /* a fresh handle, not yet sticky */
    assert_int_equal(pager_file_sync(file), ALEXDB_IO);
    pager_file_close(file);
    file = open_in(fault, path);
    assert_int_equal(write_pages(file, 2, 1, 9), ALEXDB_IO);
    pager_file_close(file);
    pager_fault_destroy(fault);
    uint64_t size = 0;
    uint8_t *image = slurp(path, &size);
    assert_int_equal(size, 2 * PAGE);
    assert_int_equal(page_state(image, size, 0, 0, 1), PAGE_NEW);
    assert_int_equal(page_state(image, size, 1, 0, 1), PAGE_NEW);
    free(image);
    free(buf);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* powercut_at cuts at exactly the Nth I/O: that write never lands; earlier unsynced are judged. */
static void test_powercut_at(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = tu_seed(), .powercut_at = 4};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    assert_int_equal(write_pages(file, 0, 1, 1), ALEXDB_OK);  /* I/O 1 */
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);       /* I/O 2 */
    assert_int_equal(write_pages(file, 1, 1, 1), ALEXDB_OK);  /* I/O 3, unsynced */
    assert_false(pager_fault_is_cut(fault));
    assert_int_equal(write_pages(file, 0, 1, 2), ALEXDB_IO);  /* I/O 4: the cut */
    assert_true(pager_fault_is_cut(fault));
    pager_fault_stats stats;
    fault_stats(fault, &stats);
    assert_int_equal(stats.io_count, 4);
    assert_int_equal(stats.injected_count, 1);
    assert_int_equal(stats.cut_kept_count + stats.cut_dropped_count, 1);
    pager_file_close(file);
    pager_fault_destroy(fault);
    uint64_t size = 0;
    uint8_t *image = slurp(path, &size);
    assert_int_equal(page_state(image, size, 0, 0, 1), PAGE_NEW);
    assert_int_equal(size, stats.cut_kept_count == 1 ? 2 * PAGE : PAGE);
    if (size == 2 * PAGE) assert_int_equal(page_state(image, size, 1, 0, 1), PAGE_NEW);
    free(image);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* kill_at: the Nth I/O SIGKILLs the process before it is done; the writes before it stay. */
static void test_kill_at(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pager_fault_config config = {.seed = 5, .kill_at = 3};
        pager_fault *fault = make_domain(&config);
        pager_file *file = open_in(fault, path);
        (void)write_pages(file, 0, 1, 1); /* I/O 1 */
        (void)write_pages(file, 1, 1, 1); /* I/O 2, unsynced: a process crash keeps it */
        (void)write_pages(file, 2, 1, 1); /* I/O 3: the kill, never written */
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) assert_int_equal(errno, EINTR);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    uint64_t size = 0;
    uint8_t *image = slurp(path, &size);
    assert_int_equal(size, 2 * PAGE);
    assert_int_equal(page_state(image, size, 0, 0, 1), PAGE_NEW);
    assert_int_equal(page_state(image, size, 1, 0, 1), PAGE_NEW);
    free(image);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* Closing is not syncing: the log survives a reopen, and a sync via the new handle covers it. */
static void test_log_survives_reopen(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = 11};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    assert_int_equal(write_pages(file, 0, 32, 1), ALEXDB_OK);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    assert_int_equal(write_pages(file, 0, 32, 2), ALEXDB_OK);
    pager_file_close(file);
    file = open_in(fault, path);
    pager_file_close(file);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    pager_fault_stats stats;
    fault_stats(fault, &stats);
    assert_int_equal(stats.cut_kept_count + stats.cut_dropped_count, 32);
    assert_true(stats.cut_dropped_count > 0);
    uint64_t size = 0;
    uint8_t *image = slurp(path, &size);
    uint64_t old_count = 0;
    for (uint64_t p = 0; p < 32; p++) {
        enum page_state st = page_state(image, size, p, 1, 2);
        assert_true(st == PAGE_OLD || st == PAGE_NEW);
        old_count += st == PAGE_OLD;
    }
    assert_int_equal(old_count, stats.cut_dropped_count);
    free(image);
    pager_fault_destroy(fault);

    fault = make_domain(&config);
    file = open_in(fault, path);
    assert_int_equal(write_pages(file, 0, 32, 3), ALEXDB_OK);
    pager_file_close(file);
    file = open_in(fault, path);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    pager_file_close(file);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    fault_stats(fault, &stats);
    assert_int_equal(stats.cut_kept_count + stats.cut_dropped_count + stats.cut_torn_count, 0);
    for (uint64_t p = 0; p < 32; p++) assert_page_is(path, p, 3);
    pager_fault_destroy(fault);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

/* A dropped write that extended the file is cut back to the synced size; a kept one is not. */
static void test_dropped_extension_truncated(void **state)
{
    (void)state;
    bool seen_dropped = false;
    bool seen_kept = false;
    for (uint64_t seed = 1; seed <= 64 && !(seen_dropped && seen_kept); seed++) {
        char *dir = tu_tmpdir();
        char *path = tu_path(dir, "f");
        pager_fault_config config = {.seed = seed};
        pager_fault *fault = make_domain(&config);
        pager_file *file = open_in(fault, path);
        assert_int_equal(write_pages(file, 0, 2, 1), ALEXDB_OK);
        assert_int_equal(pager_file_sync(file), ALEXDB_OK);
        uint8_t *buf = tu_aligned(4 * PAGE);
        for (uint64_t p = 0; p < 4; p++) fill_page(buf + p * PAGE, 2 + p, 2);
        pager_io_req req = {.buf = buf, .offset = 2 * PAGE, .size = 4 * PAGE, .op = PAGER_IO_WRITE};
        assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
        assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
        pager_fault_stats stats;
        fault_stats(fault, &stats);
        pager_file_close(file);
        pager_fault_destroy(fault);
        uint64_t size = 0;
        uint8_t *image = slurp(path, &size);
        assert_int_equal(page_state(image, size, 0, 0, 1), PAGE_NEW);
        assert_int_equal(page_state(image, size, 1, 0, 1), PAGE_NEW);
        if (stats.cut_dropped_count == 1) {
            seen_dropped = true;
            assert_int_equal(size, 2 * PAGE);
        } else {
            assert_int_equal(stats.cut_kept_count, 1);
            seen_kept = true;
            assert_int_equal(size, 6 * PAGE);
            for (uint64_t p = 2; p < 6; p++) {
                assert_int_equal(page_state(image, size, p, 0, 2), PAGE_NEW);
            }
        }
        free(image);
        free(buf);
        tu_rmrf(dir);
        free(path);
        free(dir);
    }
    assert_true(seen_dropped && seen_kept);
}

/* One domain, one machine: a cut judges every file's unsynced writes; a sync covers its file. */
static void test_domain_covers_every_file(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path_a = tu_path(dir, "a");
    char *path_b = tu_path(dir, "b");
    pager_fault_config config = {.seed = 3};
    pager_fault *fault = make_domain(&config);
    pager_file *a = open_in(fault, path_a);
    pager_file *b = open_in(fault, path_b);
    assert_int_equal(write_pages(a, 0, 8, 1), ALEXDB_OK);
    assert_int_equal(write_pages(b, 0, 8, 1), ALEXDB_OK);
    assert_int_equal(pager_file_sync(a), ALEXDB_OK);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    pager_fault_stats stats;
    fault_stats(fault, &stats);
    assert_int_equal(stats.io_count, 8 + 8 + 1);
    assert_int_equal(stats.cut_kept_count + stats.cut_dropped_count, 8); /* b's writes only */
    pager_file_close(a);
    pager_file_close(b);
    pager_fault_destroy(fault);
    for (uint64_t p = 0; p < 8; p++) assert_page_is(path_a, p, 1);
    tu_rmrf(dir);
    free(path_a);
    free(path_b);
    free(dir);
}

#define RACE_THREAD_COUNT 4u
#define RACE_PAGES 128u

typedef struct racer {
    pager_file *file;
    uint32_t index;
    uint32_t ok_count;      /* writes acknowledged: pages [first, first + ok_count) */
    int first_error;        /* the code of the first failed write */
    _Atomic uint32_t *done_count;
} racer;

/* Writes its own pages one call at a time until one fails (the cut) or all are written. */
static void *racer_main(void *arg)
{
    racer *r = arg;
    uint64_t first = (uint64_t)r->index * RACE_PAGES;
    for (uint32_t i = 0; i < RACE_PAGES; i++) {
        int rc = write_pages(r->file, first + i, 1, 4);
        if (rc != ALEXDB_OK) {
            r->first_error = rc;
            break;
        }
        r->ok_count++;
    }
    atomic_fetch_add(r->done_count, 1);
    return NULL;
}

/* A cut racing writer threads: acked writes are kept or dropped whole; later ones never land. */
static void test_powercut_races_writers(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "f");
    pager_fault_config config = {.seed = tu_seed()};
    pager_fault *fault = make_domain(&config);
    pager_file *file = open_in(fault, path);
    _Atomic uint32_t done_count = 0;
    racer racers[RACE_THREAD_COUNT];
    pthread_t threads[RACE_THREAD_COUNT];
    for (uint32_t t = 0; t < RACE_THREAD_COUNT; t++) {
        racers[t] = (racer){.file = file, .index = t, .done_count = &done_count};
        assert_int_equal(pthread_create(&threads[t], NULL, racer_main, &racers[t]), 0);
    }
    pager_fault_stats stats;
    do {
        sched_yield();
        pager_fault_stats_get(fault, &stats);
    } while (stats.write_count < RACE_PAGES && atomic_load(&done_count) < RACE_THREAD_COUNT);
    assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
    uint64_t ok_total = 0;
    uint32_t io_error_count = 0;
    uint32_t stopped_count = 0;
    for (uint32_t t = 0; t < RACE_THREAD_COUNT; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        ok_total += racers[t].ok_count;
        if (racers[t].ok_count == RACE_PAGES) continue;
        /* The cut fails a write with EIO; the shared handle then refuses the others (F2). */
        int rc = racers[t].first_error;
        assert_true(rc == ALEXDB_IO || rc == ALEXDB_READONLY);
        io_error_count += rc == ALEXDB_IO;
        stopped_count++;
    }
    assert_true(stopped_count == 0 || io_error_count > 0);
    fault_stats(fault, &stats);
    assert_int_equal(stats.cut_kept_count + stats.cut_dropped_count, ok_total);
    uint64_t size = 0;
    uint8_t *image = slurp(path, &size);
    uint64_t new_count = 0;
    for (uint32_t t = 0; t < RACE_THREAD_COUNT; t++) {
        for (uint32_t i = 0; i < RACE_PAGES; i++) {
            uint64_t p = (uint64_t)t * RACE_PAGES + i;
            enum page_state st = page_state(image, size, p, 0, 4);
            assert_true(st == PAGE_OLD || (st == PAGE_NEW && i < racers[t].ok_count));
            new_count += st == PAGE_NEW;
        }
    }
    assert_int_equal(new_count, stats.cut_kept_count);
    free(image);
    pager_file_close(file);
    pager_fault_destroy(fault);
    tu_rmrf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_write_nospace_is_sticky),
        cmocka_unit_test(test_sync_error_is_sticky),
        cmocka_unit_test(test_short_read_completed),
        cmocka_unit_test(test_short_write_completed),
        cmocka_unit_test(test_powercut_keeps_or_drops),
        cmocka_unit_test(test_powercut_tears),
        cmocka_unit_test(test_torn_write_mixes),
        cmocka_unit_test(test_powercut_is_deterministic),
        cmocka_unit_test(test_io_fails_after_cut),
        cmocka_unit_test(test_powercut_at),
        cmocka_unit_test(test_kill_at),
        cmocka_unit_test(test_log_survives_reopen),
        cmocka_unit_test(test_dropped_extension_truncated),
        cmocka_unit_test(test_domain_covers_every_file),
        cmocka_unit_test(test_powercut_races_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
