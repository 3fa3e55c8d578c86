/*
 * pager_pager_test.c: opening page files (pager/pager.c): bad input of every kind
 * gives a clear code and message, never a crash; allocation; uncached page runs;
 * stats. Run once per backend.
 */
#include "testutil.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int try_open(const char *path, int create, pager **p)
{
    pager_config config;
    pager_config_init(&config);
    tu_env(&config.env);
    config.create = create;
    config.cache_bytes = PAGER_CACHE_SIZE_MIN;
    return pager_open(path, &config, p);
}

static void write_file(const char *path, const void *bytes, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, size), (ssize_t)size);
    close(fd);
}

/* A file in a directory that does not exist: ALEXDB_IO naming the path. */
static void test_missing_directory(void **state)
{
    tu_fixture *fx = *state;
    char *path = tu_path(fx->dir, "no/such/dir/pages");
    pager *p = NULL;
    assert_int_equal(try_open(path, 1, &p), ALEXDB_IO);
    assert_null(p);
    assert_non_null(strstr(alexdb_errmsg(), path));
    free(path);
}

/* Without create, a missing file is an error, not a new database. */
static void test_missing_file_without_create(void **state)
{
    tu_fixture *fx = *state;
    pager *p = NULL;
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_IO);
    assert_int_equal(access(fx->path, F_OK), -1);
}

/* Text, a short file and an empty file are not alexdb files. */
static void test_not_an_alexdb_file(void **state)
{
    tu_fixture *fx = *state;
    pager *p = NULL;
    char text[3 * PAGER_PAGE_SIZE];
    memset(text, 'x', sizeof(text));
    write_file(fx->path, text, sizeof(text));
    assert_int_equal(try_open(fx->path, 1, &p), ALEXDB_NOTDB);
    assert_non_null(strstr(alexdb_errmsg(), "not an alexdb file"));
    write_file(fx->path, "hello", 5);
    assert_int_equal(try_open(fx->path, 1, &p), ALEXDB_NOTDB);
    write_file(fx->path, "", 0);
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_NOTDB);
    assert_null(p);
}

static void create_with_pages(const char *path, uint32_t count)
{
    pager *p = NULL;
    assert_int_equal(try_open(path, 1, &p), ALEXDB_OK);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, count, &first), ALEXDB_OK);
    assert_int_equal(first, 2);
    uint8_t *buf = tu_aligned((size_t)count * PAGER_PAGE_SIZE);
    for (uint32_t i = 0; i < count; i++) {
        pager_page_init(buf + (size_t)i * PAGER_PAGE_SIZE, PAGER_KIND_RAW);
        tu_fill_body(buf + (size_t)i * PAGER_PAGE_SIZE, first + i, 21);
    }
    assert_int_equal(pager_write_pages(p, first, count, buf, 5), ALEXDB_OK);
    assert_int_equal(pager_superblock_commit(p, 5, "meta", 4), ALEXDB_OK);
    pager_close(p);
    free(buf);
}

/* A file cut short is corruption, named with the size found. */
static void test_truncated_file(void **state)
{
    tu_fixture *fx = *state;
    create_with_pages(fx->path, 10);
    pager *p = NULL;
    assert_int_equal(truncate(fx->path, 5 * PAGER_PAGE_SIZE), 0);
    assert_int_equal(try_open(fx->path, 1, &p), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "truncated"));
    assert_int_equal(truncate(fx->path, PAGER_PAGE_SIZE + 100), 0);
    assert_int_equal(try_open(fx->path, 1, &p), ALEXDB_CORRUPT);
    assert_null(p);
}

/*
 * A partial page past the whole pages is growth a power cut tore (the zero-filling is
 * not synced before use): ignored, and the next growth writes over it. Fewer whole
 * pages than the superblock's page_count is still truncation.
 */
static void test_partial_page_at_end(void **state)
{
    tu_fixture *fx = *state;
    create_with_pages(fx->path, 10);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    uint64_t whole = (uint64_t)st.st_size;
    assert_int_equal(truncate(fx->path, (off_t)(whole + 1536)), 0); /* three torn sectors */
    pager *p = NULL;
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_OK);
    pager_superblock sb;
    pager_superblock_get(p, &sb);
    assert_int_equal(sb.lsn, 5);
    /* Grow past the torn page: the growth writes whole pages over it. */
    uint32_t grow = (uint32_t)(whole / PAGER_PAGE_SIZE + 1 - pager_page_count(p));
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, grow, &first), ALEXDB_OK);
    assert_int_equal(pager_superblock_commit(p, 6, "meta", 4), ALEXDB_OK);
    pager_close(p);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_size % PAGER_PAGE_SIZE, 0);
    assert_int_equal(try_open(fx->path, 1, &p), ALEXDB_OK);
    pager_close(p);
    assert_int_equal(truncate(fx->path, (off_t)((first + grow - 1) * PAGER_PAGE_SIZE + 100)), 0);
    assert_int_equal(try_open(fx->path, 1, &p), ALEXDB_CORRUPT); /* one whole page short */
    assert_null(p);
}

/* One damaged superblock copy is survived; both damaged is ALEXDB_CORRUPT. */
static void test_superblock_copies(void **state)
{
    tu_fixture *fx = *state;
    create_with_pages(fx->path, 4);
    pager *p = NULL;
    /* The commit in create_with_pages wrote slot 1 (generation 2): damage it. */
    tu_flip_bit(fx->path, PAGER_PAGE_SIZE + 200, 1);
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_OK);
    pager_superblock sb;
    pager_superblock_get(p, &sb);
    assert_int_equal(sb.generation, 1); /* fell back to the older copy */
    pager_close(p);
    tu_flip_bit(fx->path, 300, 2);
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "offset 0"));
}

/* Superblock commits alternate slots, grow the generation and carry the payload. */
static void test_superblock_commit(void **state)
{
    tu_fixture *fx = *state;
    create_with_pages(fx->path, 4);
    pager *p = NULL;
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_OK);
    pager_superblock sb;
    pager_superblock_get(p, &sb);
    assert_int_equal(sb.generation, 2);
    assert_int_equal(sb.page_count, 6);
    assert_int_equal(sb.lsn, 5);
    assert_int_equal(sb.payload_size, 4);
    assert_memory_equal(sb.payload, "meta", 4);
    uint64_t db_id = sb.db_id;
    assert_int_equal(pager_superblock_commit(p, 9, "next", 4), ALEXDB_OK);
    uint8_t big[PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX + 1] = {0};
    assert_int_equal(pager_superblock_commit(p, 9, big, sizeof(big)), ALEXDB_TOOBIG);
    pager_close(p);
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_OK);
    pager_superblock_get(p, &sb);
    assert_int_equal(sb.generation, 3);
    assert_int_equal(sb.lsn, 9);
    assert_int_equal(sb.db_id, db_id);
    assert_memory_equal(sb.payload, "next", 4);
    pager_close(p);
}

/* Uncached runs: one write and one read of many pages, verified page by page; several
 * runs written in one call (pager_write_runs), the pages between them untouched. */
static void test_page_runs(void **state)
{
    tu_fixture *fx = *state;
    create_with_pages(fx->path, 64);
    pager *p = NULL;
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_OK);
    uint8_t *buf = tu_aligned(64 * PAGER_PAGE_SIZE);
    pager_stats before, after;
    pager_stats_get(p, &before);
    assert_int_equal(pager_read_pages(p, 2, 64, buf), ALEXDB_OK);
    pager_stats_get(p, &after);
    assert_int_equal(after.io.read_count - before.io.read_count, 1);
    for (uint32_t i = 0; i < 64; i++) {
        assert_true(tu_body_matches(buf + (size_t)i * PAGER_PAGE_SIZE, 2 + i, 21));
    }
    assert_int_equal(pager_read_pages(p, 60, 10, buf), ALEXDB_CORRUPT); /* past the end */
    assert_int_equal(pager_read_pages(p, 0, 1, buf), ALEXDB_INVALID);   /* superblocks */
    assert_int_equal(pager_read_pages(p, 2, 1, buf + 1), ALEXDB_INVALID); /* unaligned */
    /* Several runs in one call: each page sealed with its own number, the rest untouched. */
    for (uint32_t i = 0; i < 6; i++) {
        pager_page_init(buf + (size_t)i * PAGER_PAGE_SIZE, PAGER_KIND_RAW);
        tu_fill_body(buf + (size_t)i * PAGER_PAGE_SIZE, 1000 + i, 33);
    }
    pager_page_run runs[3] = {{10, 2, buf}, {30, 1, buf + 2 * PAGER_PAGE_SIZE},
                              {50, 3, buf + 3 * PAGER_PAGE_SIZE}};
    assert_int_equal(pager_write_runs(p, runs, 3, 9), ALEXDB_OK);
    pager_page_run too_many[PAGER_WRITE_RUNS_MAX + 1];
    for (uint32_t i = 0; i <= PAGER_WRITE_RUNS_MAX; i++) too_many[i] = runs[1];
    assert_int_equal(pager_write_runs(p, too_many, PAGER_WRITE_RUNS_MAX + 1, 9), ALEXDB_INVALID);
    pager_page_run past_end = {60, 10, buf};
    assert_int_equal(pager_write_runs(p, &past_end, 1, 9), ALEXDB_CORRUPT);
    assert_int_equal(pager_read_pages(p, 2, 64, buf), ALEXDB_OK);
    const uint64_t written[6] = {10, 11, 30, 50, 51, 52};
    for (uint32_t i = 0; i < 6; i++) {
        const uint8_t *page = buf + (size_t)(written[i] - 2) * PAGER_PAGE_SIZE;
        assert_int_equal(pager_page_lsn(page), 9);
        assert_true(tu_body_matches(page, 1000 + i, 33));
    }
    assert_true(tu_body_matches(buf + (size_t)(12 - 2) * PAGER_PAGE_SIZE, 12, 21));
    assert_true(tu_body_matches(buf + (size_t)(53 - 2) * PAGER_PAGE_SIZE, 53, 21));
    pager_close(p);
    tu_flip_bit(fx->path, 40 * PAGER_PAGE_SIZE + 77, 5);
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_OK);
    assert_int_equal(pager_read_pages(p, 2, 64, buf), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "page 40"));
    pager_close(p);
    free(buf);
}

/* A read-only pager reads but refuses every write. */
static void test_read_only(void **state)
{
    tu_fixture *fx = *state;
    create_with_pages(fx->path, 4);
    pager_config config;
    pager_config_init(&config);
    tu_env(&config.env);
    config.read_only = 1;
    pager *p = NULL;
    assert_int_equal(pager_open(fx->path, &config, &p), ALEXDB_OK);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, 1, &first), ALEXDB_READONLY);
    uint8_t *buf = tu_aligned(PAGER_PAGE_SIZE);
    assert_int_equal(pager_read_pages(p, 3, 1, buf), ALEXDB_OK);
    assert_int_equal(pager_write_pages(p, 3, 1, buf, 0), ALEXDB_READONLY);
    assert_int_equal(pager_superblock_commit(p, 1, NULL, 0), ALEXDB_READONLY);
    pager_close(p);
    free(buf);
}

/* Extending grows the file ahead of use, in chunks; pager_reserve grows it at once. */
static void test_extend(void **state)
{
    tu_fixture *fx = *state;
    pager *p = NULL;
    assert_int_equal(try_open(fx->path, 1, &p), ALEXDB_OK);
    uint64_t first = 0;
    assert_int_equal(pager_extend(p, 1, &first), ALEXDB_OK);
    assert_int_equal(first, 2);
    assert_int_equal(pager_extend(p, 3, &first), ALEXDB_OK);
    assert_int_equal(first, 3);
    assert_int_equal(pager_page_count(p), 6);
    uint64_t size = 0;
    assert_int_equal(pager_file_size(pager_get_file(p), &size), ALEXDB_OK);
    assert_true(size >= 258 * PAGER_PAGE_SIZE);
    /* A reservation grows the file now and allocates nothing; extends within it do not
     * grow the file again. */
    assert_int_equal(pager_reserve(p, 5000), ALEXDB_OK);
    assert_int_equal(pager_page_count(p), 6);
    uint64_t reserved = 0;
    assert_int_equal(pager_file_size(pager_get_file(p), &reserved), ALEXDB_OK);
    assert_true(reserved >= 5006 * PAGER_PAGE_SIZE);
    assert_int_equal(pager_extend(p, 4000, &first), ALEXDB_OK);
    assert_int_equal(first, 6);
    assert_int_equal(pager_file_size(pager_get_file(p), &size), ALEXDB_OK);
    assert_int_equal(size, reserved);
    assert_int_equal(pager_reserve(p, PAGER_PAGE_COUNT_MAX), ALEXDB_FULL);
    pager_close(p);
    /* Uncommitted allocation is not persistent: the superblock still says 2 pages. */
    assert_int_equal(try_open(fx->path, 0, &p), ALEXDB_OK);
    assert_int_equal(pager_page_count(p), 2);
    pager_close(p);
}

/* A hit may prefetch at most the whole page; more is refused at open, up to it works. */
static void test_hit_prefetch_lines(void **state)
{
    tu_fixture *fx = *state;
    create_with_pages(fx->path, 4);
    pager_config config;
    pager_config_init(&config);
    tu_env(&config.env);
    assert_int_equal(config.hit_prefetch_lines, 2);
    config.hit_prefetch_lines = PAGER_PAGE_SIZE / 64 + 1;
    pager *p = NULL;
    assert_int_equal(pager_open(fx->path, &config, &p), ALEXDB_INVALID);
    assert_null(p);
    config.hit_prefetch_lines = PAGER_PAGE_SIZE / 64;
    assert_int_equal(pager_open(fx->path, &config, &p), ALEXDB_OK);
    for (int round = 0; round < 2; round++) { /* a miss, then a hit that prefetches */
        pager_frame *f = NULL;
        assert_int_equal(pager_pin(p, 3, 0, &f), ALEXDB_OK);
        assert_true(tu_body_matches(pager_frame_data(f), 3, 21));
        pager_unpin(p, f);
    }
    pager_close(p);
}

int main(void)
{
    printf("backend: %s\n", tu_backend_name());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_directory, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_partial_page_at_end, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_without_create, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_not_an_alexdb_file, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_superblock_copies, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_superblock_commit, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_page_runs, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_only, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_extend, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hit_prefetch_lines, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
