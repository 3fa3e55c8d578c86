/*
 * alex_overflow_test.c: out-of-line values (alex/overflow.c, docs/FORMAT.md 4). Values
 * just over the inline limit, at and around multiples of the 4048 data bytes a page
 * holds, and of 1 MiB round trip and take exactly ceil(size / 4048) pages; a value over
 * 64 MiB is refused; a short buffer reads only the pages it needs. On disk, a damaged run
 * page, a page of another run (or of the same run at the wrong index) in its place, a
 * wrong size, stray bytes after the value and a leaf reference to a bad place are all
 * ALEXDB_CORRUPT naming the file: never a wrong value.
 */
#include "alexdb.h"
#include "testutil.h"

#include "api_int.h"
#include "index_int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define OVF_KEY 32u
#define OVF_RUN_INDEX 40u
#define OVF_VALUE_SIZE 44u
#define OVF_DATA 48u

static alexdb *open_db(const char *dir)
{
    return tu_db_open(dir, 1u << 20);
}

static void fill_value(uint8_t *buf, uint64_t key, size_t size)
{
    uint64_t x = key * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < size; i++) {
        x ^= x >> 13;
        x *= 0xff51afd7ed558ccdULL;
        buf[i] = (uint8_t)(x >> 56);
    }
}

/* Pages in use (owned by something, not free). */
static uint64_t used_pages(alexdb *db)
{
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    return (st.file_size - st.free_size) / PAGER_PAGE_SIZE;
}

/* Re-seals a page edited in a test so that only its meaning is wrong, not its checksum. */
static void page_reseal(uint8_t *page, uint64_t page_no)
{
    pager_page_seal(page, page_no, pager_page_lsn(page));
}

/* The leaf page key routes to (the db is open). */
static uint64_t leaf_page_of(alexdb *db, uint64_t key)
{
    alex_route route;
    alex_inner_route(db->index->inner, key, &route);
    return route.leaf_page_no;
}

/* The byte offset of key's value record in a leaf image. */
static uint32_t record_offset(const uint8_t *leaf, uint64_t key)
{
    uint32_t slot = alex_leaf_seek(leaf, key);
    assert_true(slot < alex_leaf_slot_count(leaf));
    alex_entry entry;
    alex_leaf_entry_at(leaf, slot, &entry);
    assert_true(entry.key == key);
    uint32_t at = alex_leaf_value_offsets_offset(alex_leaf_slot_count(leaf)) + 2u * slot;
    return common_load_u16le(leaf + at);
}

/* Where a key's overflow run starts: read from its leaf reference while the db is open. */
typedef struct run_ref {
    uint64_t leaf_page_no;
    uint32_t record;
    uint64_t first;
    uint32_t size;
} run_ref;

static run_ref run_of(alexdb *db, const char *data, uint64_t key)
{
    assert_int_equal(alexdb_checkpoint(db), ALEXDB_OK); /* the pages on disk */
    run_ref r;
    r.leaf_page_no = leaf_page_of(db, key);
    uint8_t *leaf = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(data, r.leaf_page_no, leaf);
    r.record = record_offset(leaf, key);
    assert_int_equal(common_load_u16le(leaf + r.record), ALEX_VALUE_TAG_OVERFLOW);
    r.size = common_load_u32le(leaf + r.record + 2);
    r.first = common_load_u64le(leaf + r.record + 6);
    free(leaf);
    return r;
}

/* The run's pages on disk agree with the reference (FORMAT.md 4), found by scanning too. */
static void expect_run_on_disk(const char *data, uint64_t key, const run_ref *r)
{
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    uint32_t count = alex_overflow_page_count(r->size);
    for (uint32_t i = 0; i < count; i++) {
        tu_page_read(data, r->first + i, page);
        assert_int_equal(pager_page_check(data, page, r->first + i), ALEXDB_OK);
        assert_int_equal(pager_page_kind(page), PAGER_KIND_OVERFLOW);
        assert_int_equal(common_load_u64le(page + OVF_KEY), key);
        assert_int_equal(common_load_u32le(page + OVF_RUN_INDEX), i);
        assert_int_equal(common_load_u32le(page + OVF_VALUE_SIZE), r->size);
    }
    free(page);
}

/* The page count of a run is ceil(size / 4048), at every boundary. */
static void test_page_count(void **state)
{
    (void)state;
    assert_int_equal(alex_overflow_page_count(1025), 1);
    assert_int_equal(alex_overflow_page_count(4047), 1);
    assert_int_equal(alex_overflow_page_count(4048), 1);
    assert_int_equal(alex_overflow_page_count(4049), 2);
    assert_int_equal(alex_overflow_page_count(2 * 4048), 2);
    assert_int_equal(alex_overflow_page_count(2 * 4048 + 1), 3);
    assert_int_equal(alex_overflow_page_count(1u << 20), 260);
    assert_int_equal(alex_overflow_page_count(ALEX_VALUE_SIZE_MAX), 16579);
}

static const size_t round_trip_sizes[] = {1025, 1026, 1100, 4047, 4048, 4049, 8096, 8097,
                                          3 * 4048, 3 * 4048 + 1, 1u << 20};

static void check_value_of(alexdb *db, uint64_t key, size_t size, uint8_t *buf, uint8_t *expect)
{
    size_t got = 0;
    fill_value(expect, key, size);
    memset(buf, 0xEE, size + 16);
    assert_int_equal(alexdb_get(db, key, buf, size + 16, &got), ALEXDB_OK);
    assert_int_equal(got, size);
    assert_memory_equal(buf, expect, size);
    for (size_t i = size; i < size + 16; i++) assert_int_equal(buf[i], 0xEE); /* no overrun */
    /* Every prefix length across a page boundary gets the right bytes and the full size. */
    const size_t prefixes[] = {0, 1, 4047, 4048, 4049, 8097};
    for (size_t p = 0; p < 6; p++) {
        size_t want = COMMON_MIN(prefixes[p], size);
        memset(buf, 0xEE, want + 16);
        assert_int_equal(alexdb_get(db, key, prefixes[p] ? buf : NULL, prefixes[p], &got), ALEXDB_OK);
        assert_int_equal(got, size);
        assert_memory_equal(buf, expect, want);
        assert_int_equal(buf[want], 0xEE);
    }
}

/* Values over 1 KiB round trip, take exactly ceil(size / 4048) pages, survive reopen. */
static void test_sizes_round_trip(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    size_t n = COMMON_ARRAY_COUNT(round_trip_sizes);
    uint8_t *value = malloc((1u << 20) + 64);
    uint8_t *buf = malloc((1u << 20) + 64);
    uint8_t *expect = malloc((1u << 20) + 64);
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_put(db, 1, "anchor", 6), ALEXDB_OK);
    for (size_t i = 0; i < n; i++) {
        uint64_t before = used_pages(db);
        fill_value(value, 100 + i, round_trip_sizes[i]);
        assert_int_equal(alexdb_put(db, 100 + i, value, round_trip_sizes[i]), ALEXDB_OK);
        assert_int_equal(used_pages(db) - before, alex_overflow_page_count((uint32_t)round_trip_sizes[i]));
    }
    for (size_t i = 0; i < n; i++) {
        run_ref r = run_of(db, data, 100 + i);
        assert_int_equal(r.size, round_trip_sizes[i]);
        expect_run_on_disk(data, 100 + i, &r);
    }
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < n; i++) check_value_of(db, 100 + i, round_trip_sizes[i], buf, expect);
        assert_int_equal(alexdb_check(db), ALEXDB_OK);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        db = open_db(fx->path);
    }
    /* Replacing each by a value one byte longer, then deleting it, gives every page back. */
    uint64_t base = used_pages(db);
    for (size_t i = 0; i < n; i++) {
        fill_value(value, 100 + i, round_trip_sizes[i] + 1);
        assert_int_equal(alexdb_put(db, 100 + i, value, round_trip_sizes[i] + 1), ALEXDB_OK);
        check_value_of(db, 100 + i, round_trip_sizes[i] + 1, buf, expect);
    }
    for (size_t i = 0; i < n; i++) {
        base -= alex_overflow_page_count((uint32_t)round_trip_sizes[i]);
        assert_int_equal(alexdb_delete(db, 100 + i), ALEXDB_OK);
    }
    assert_int_equal(used_pages(db), base);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(value);
    free(buf);
    free(expect);
    free(data);
}

/* 64 MiB + 1 is ALEXDB_TOOBIG and allocates nothing; the key stays absent. */
static void test_too_big(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_put(db, 5, "five", 4), ALEXDB_OK);
    struct alexdb_stats before, after;
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    static const uint8_t small[8];
    assert_int_equal(alexdb_put(db, 6, small, (size_t)ALEXDB_VALUE_SIZE_MAX + 1), ALEXDB_TOOBIG);
    assert_int_equal(alexdb_put(db, 5, small, SIZE_MAX), ALEXDB_TOOBIG);
    assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
    assert_int_equal(after.file_size, before.file_size);
    assert_int_equal(after.key_count, 1);
    size_t got = 0;
    assert_int_equal(alexdb_get(db, 6, NULL, 0, &got), ALEXDB_NOTFOUND);
    uint8_t buf[8];
    assert_int_equal(alexdb_get(db, 5, buf, sizeof(buf), &got), ALEXDB_OK);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "five", 4);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* Device bytes one get reads (the leaf is cached before). */
static uint64_t read_bytes_of_get(alexdb *db, uint64_t key, uint8_t *buf, size_t buf_size)
{
    struct alexdb_stats before, after;
    size_t got = 0;
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    assert_int_equal(alexdb_get(db, key, buf, buf_size, &got), ALEXDB_OK);
    assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
    /* At most one I/O: none when only the size is asked for. */
    assert_int_equal(after.device_read_count - before.device_read_count, buf_size > 0 ? 1 : 0);
    return after.device_read_bytes - before.device_read_bytes;
}

/* A short buffer reads only the pages holding the bytes asked for, in one I/O. */
static void test_short_buffer_reads_what_it_needs(void **state)
{
    tu_fixture *fx = *state;
    uint8_t *value = malloc(1u << 20);
    uint8_t *buf = malloc(1u << 20);
    fill_value(value, 9, 1u << 20);
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_put(db, 9, value, 1u << 20), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path);
    size_t got = 0;
    assert_int_equal(alexdb_get(db, 9, buf, 1, &got), ALEXDB_OK); /* caches the leaf */
    assert_int_equal(read_bytes_of_get(db, 9, buf, 10), PAGER_PAGE_SIZE);
    assert_memory_equal(buf, value, 10);
    assert_int_equal(read_bytes_of_get(db, 9, buf, 4048), PAGER_PAGE_SIZE);
    assert_int_equal(read_bytes_of_get(db, 9, buf, 4049), 2 * PAGER_PAGE_SIZE);
    assert_int_equal(read_bytes_of_get(db, 9, buf, 100000), 25 * PAGER_PAGE_SIZE);
    assert_memory_equal(buf, value, 100000);
    assert_int_equal(read_bytes_of_get(db, 9, buf, 1u << 20), 260 * PAGER_PAGE_SIZE);
    assert_memory_equal(buf, value, 1u << 20);
    assert_int_equal(read_bytes_of_get(db, 9, NULL, 0), 0); /* the size alone is in the leaf */
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(value);
    free(buf);
}

/* A db with key 1 (3-page value) and key 2 (2-page value); returns both runs. */
static void make_two_runs(tu_fixture *fx, const char *data, run_ref *a, run_ref *b)
{
    uint8_t *value = malloc(3 * 4048);
    alexdb *db = open_db(fx->path);
    fill_value(value, 1, 3 * 4048);
    assert_int_equal(alexdb_put(db, 1, value, 3 * 4048), ALEXDB_OK);
    fill_value(value, 2, 2 * 4048 - 7);
    assert_int_equal(alexdb_put(db, 2, value, 2 * 4048 - 7), ALEXDB_OK);
    assert_int_equal(alexdb_put(db, 3, "small", 5), ALEXDB_OK);
    *a = run_of(db, data, 1);
    *b = run_of(db, data, 2);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(value);
}

/* Opens the damaged db: key 1 is CORRUPT naming file and offset, the buffer untouched. */
static void expect_key1_corrupt(tu_fixture *fx, const char *data, uint64_t bad_offset)
{
    alexdb *db = open_db(fx->path);
    uint8_t *buf = malloc(4 * 4048);
    memset(buf, 0x5A, 4 * 4048);
    size_t got = 0;
    assert_int_equal(alexdb_get(db, 1, buf, 4 * 4048, &got), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), data));
    char offset[64];
    snprintf(offset, sizeof(offset), "offset %" PRIu64, bad_offset);
    assert_non_null(strstr(alexdb_errmsg(), offset));
    for (size_t i = 0; i < 4 * 4048; i++) assert_int_equal(buf[i], 0x5A); /* no wrong bytes */
    /* The others still read back; the check finds the damage. */
    uint8_t *expect = malloc(2 * 4048);
    fill_value(expect, 2, 2 * 4048 - 7);
    assert_int_equal(alexdb_get(db, 2, buf, 4 * 4048, &got), ALEXDB_OK);
    assert_int_equal(got, 2 * 4048 - 7);
    assert_memory_equal(buf, expect, got);
    assert_int_equal(alexdb_get(db, 3, buf, 16, &got), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), data));
    /* An iterator reading the value on demand reports it too. */
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, 1);
    assert_true(alexdb_iter_valid(it));
    const void *v = (const void *)1;
    size_t vsize = 99;
    alexdb_iter_value(it, &v, &vsize);
    assert_null(v);
    assert_int_equal(vsize, 0);
    assert_int_equal(alexdb_iter_status(it), ALEXDB_CORRUPT);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(expect);
    free(buf);
}

/* A bit flipped in a run page's data is CORRUPT; a prefix before it still reads. */
static void test_bit_flip_in_run(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    run_ref a, b;
    make_two_runs(fx, data, &a, &b);
    uint64_t at = (a.first + 1) * PAGER_PAGE_SIZE;
    tu_flip_bit(data, at + OVF_DATA + 100, 3);
    expect_key1_corrupt(fx, data, at);
    /* The first page is intact: a 4048-byte prefix needs only it. */
    alexdb *db = open_db(fx->path);
    uint8_t *buf = malloc(4048);
    uint8_t *expect = malloc(3 * 4048);
    fill_value(expect, 1, 3 * 4048);
    size_t got = 0;
    assert_int_equal(alexdb_get(db, 1, buf, 4048, &got), ALEXDB_OK);
    assert_int_equal(got, 3 * 4048);
    assert_memory_equal(buf, expect, 4048);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    /* A flip in the header (its page number) of the last page is caught too. */
    tu_flip_bit(data, at + OVF_DATA + 100, 3); /* undo */
    uint64_t last = (a.first + 2) * PAGER_PAGE_SIZE;
    tu_flip_bit(data, last + PAGER_HDR_PAGE_NO, 0);
    expect_key1_corrupt(fx, data, last);
    free(buf);
    free(expect);
    free(data);
}

/* A valid page of another key's run copied into the run, fixed or not, is CORRUPT. */
static void test_page_of_other_run(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    run_ref a, b;
    make_two_runs(fx, data, &a, &b);
    uint8_t *orig = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(data, a.first, orig);
    /* As copied: its page number is another's. */
    tu_page_read(data, b.first, page);
    tu_page_write(data, a.first, page);
    expect_key1_corrupt(fx, data, a.first * PAGER_PAGE_SIZE);
    /* Re-sealed in its new place: the key and size are another's. */
    page_reseal(page, a.first);
    tu_page_write(data, a.first, page);
    expect_key1_corrupt(fx, data, a.first * PAGER_PAGE_SIZE);
    /* Only the key differs. */
    memcpy(page, orig, PAGER_PAGE_SIZE);
    common_store_u64le(page + OVF_KEY, 2);
    page_reseal(page, a.first);
    tu_page_write(data, a.first, page);
    expect_key1_corrupt(fx, data, a.first * PAGER_PAGE_SIZE);
    /* The same run's second page in the first place (run_index 1 where 0 belongs). */
    tu_page_read(data, a.first + 1, page);
    page_reseal(page, a.first);
    tu_page_write(data, a.first, page);
    expect_key1_corrupt(fx, data, a.first * PAGER_PAGE_SIZE);
    /* Restored, everything reads again and checks clean. */
    tu_page_write(data, a.first, orig);
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(orig);
    free(page);
    free(data);
}

/* A run page naming another value size, or with bytes after the value's end, is CORRUPT. */
static void test_size_and_tail(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    run_ref a, b;
    make_two_runs(fx, data, &a, &b);
    (void)b;
    uint8_t *orig = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(data, a.first + 2, orig);
    memcpy(page, orig, PAGER_PAGE_SIZE);
    common_store_u32le(page + OVF_VALUE_SIZE, 3 * 4048 - 1);
    page_reseal(page, a.first + 2);
    tu_page_write(data, a.first + 2, page);
    expect_key1_corrupt(fx, data, (a.first + 2) * PAGER_PAGE_SIZE);
    tu_page_write(data, a.first + 2, orig);
    /* Key 2's value ends 7 bytes before its second page's end: a stray byte there. */
    tu_page_read(data, b.first + 1, orig);
    memcpy(page, orig, PAGER_PAGE_SIZE);
    page[PAGER_PAGE_SIZE - 3] = 1;
    page_reseal(page, b.first + 1);
    tu_page_write(data, b.first + 1, page);
    alexdb *db = open_db(fx->path);
    uint8_t *buf = malloc(2 * 4048);
    memset(buf, 0x5A, 2 * 4048);
    size_t got = 0;
    assert_int_equal(alexdb_get(db, 2, buf, 2 * 4048, &got), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), data));
    for (size_t i = 0; i < 2 * 4048; i++) assert_int_equal(buf[i], 0x5A);
    assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(buf);
    free(orig);
    free(page);
    free(data);
}

/* Rewrites key 1's leaf reference (size, first page) and re-seals the leaf. */
static void edit_reference(const char *data, const run_ref *a, uint32_t size, uint64_t first)
{
    uint8_t *leaf = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(data, a->leaf_page_no, leaf);
    common_store_u32le(leaf + a->record + 2, size);
    common_store_u64le(leaf + a->record + 6, first);
    page_reseal(leaf, a->leaf_page_no);
    assert_int_equal(alex_leaf_check(data, leaf, a->leaf_page_no), ALEXDB_OK);
    tu_page_write(data, a->leaf_page_no, leaf);
    free(leaf);
}

/* A leaf reference to a leaf page, past the file's end or with the wrong size is CORRUPT. */
static void test_bad_reference(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    run_ref a, b;
    make_two_runs(fx, data, &a, &b);
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    uint64_t file_pages = (uint64_t)st.st_size / PAGER_PAGE_SIZE;
    edit_reference(data, &a, a.size, a.leaf_page_no); /* a leaf, not a run */
    expect_key1_corrupt(fx, data, a.leaf_page_no * PAGER_PAGE_SIZE);
    edit_reference(data, &a, a.size, b.first); /* key 2's run */
    expect_key1_corrupt(fx, data, b.first * PAGER_PAGE_SIZE);
    edit_reference(data, &a, a.size, file_pages + 10); /* past the end */
    expect_key1_corrupt(fx, data, (file_pages + 10) * PAGER_PAGE_SIZE);
    edit_reference(data, &a, a.size - 1, a.first); /* the size disagrees with the run */
    expect_key1_corrupt(fx, data, a.first * PAGER_PAGE_SIZE);
    /* A reference to a superblock makes the leaf itself invalid (FORMAT.md 3). */
    uint8_t *leaf = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(data, a.leaf_page_no, leaf);
    common_store_u64le(leaf + a.record + 6, 1);
    page_reseal(leaf, a.leaf_page_no);
    assert_int_equal(alex_leaf_check(data, leaf, a.leaf_page_no), ALEXDB_CORRUPT);
    tu_page_write(data, a.leaf_page_no, leaf);
    free(leaf);
    alexdb *db = open_db(fx->path);
    size_t got = 0;
    assert_int_equal(alexdb_get(db, 1, NULL, 0, &got), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), data));
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    /* Deleting a key whose reference names a leaf: the delete happens, the leaf's page is
     * not freed (it would be owned twice), and the damage is reported. */
    edit_reference(data, &a, a.size, a.leaf_page_no);
    db = open_db(fx->path);
    assert_int_equal(alexdb_delete(db, 1), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "were not reused"));
    assert_int_equal(alexdb_get(db, 1, NULL, 0, &got), ALEXDB_NOTFOUND);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_count),
        cmocka_unit_test_setup_teardown(test_sizes_round_trip, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_too_big, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_short_buffer_reads_what_it_needs, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bit_flip_in_run, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_page_of_other_run, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_size_and_tail, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_reference, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
