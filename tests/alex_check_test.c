/*
 * alex_check_test.c: alexdb_check (alex/check.c). It passes on healthy databases (empty,
 * many leaves, inline and overflow values, after deletes and reopens), and it catches,
 * with ALEXDB_CORRUPT naming the file and the page: a leaf whose fences no longer equal
 * the range routed to it (edited and re-sealed, so every page check still passes), a
 * page owned twice (a free run over a leaf, an overflow run or the metadata; two leaves'
 * references to one run), a key count that disagrees with the leaves (in memory, or
 * persisted in the superblock payload), and an overflow reference outside the file.
 */
#include "alexdb.h"
#include "testutil.h"

#include "api_int.h"
#include "index_int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#define KEY_COUNT 4000u
#define KEY_STEP 4u
#define BIG_EVERY 97u
#define SB_GENERATION_OFFSET 48u
#define SB_PAYLOAD_OFFSET 80u
#define PL_KEY_COUNT 40u

static alexdb *open_db(const char *dir)
{
    return tu_db_open(dir, 1u << 20);
}

static size_t size_of(uint64_t key)
{
    return key % (BIG_EVERY * KEY_STEP) == 0 ? 1500 + key % 9000 : key % 40;
}

/* Many leaves; every 97th value is out of line. */
static void fill_db(alexdb *db)
{
    uint8_t *buf = calloc(1, 12000);
    for (uint64_t i = 0; i < KEY_COUNT; i++) {
        uint64_t key = i * KEY_STEP;
        memset(buf, (int)(key & 0xFF), size_of(key));
        assert_int_equal(alexdb_put(db, key, buf, size_of(key)), ALEXDB_OK);
    }
    free(buf);
}

static void expect_corrupt_at(const char *data, uint64_t offset, const char *words)
{
    const char *msg = alexdb_errmsg();
    assert_non_null(strstr(msg, data));
    char text[64];
    snprintf(text, sizeof(text), "offset %" PRIu64 ":", offset);
    assert_non_null(strstr(msg, text));
    if (words != NULL) assert_non_null(strstr(msg, words));
}

typedef struct leaf_list {
    uint64_t page_no[4096];
    uint64_t low[4096];
    uint64_t high[4096];
    size_t count;
} leaf_list;

static int collect_leaf(void *ctx, uint64_t page_no, uint64_t low, uint64_t high)
{
    leaf_list *list = ctx;
    assert_true(list->count < 4096);
    list->page_no[list->count] = page_no;
    list->low[list->count] = low;
    list->high[list->count] = high;
    list->count++;
    return 0;
}

static leaf_list *leaves_of(alexdb *db)
{
    leaf_list *list = calloc(1, sizeof(*list));
    assert_int_equal(alex_inner_for_each_leaf(db->index->inner, collect_leaf, list), 0);
    return list;
}

/* Healthy databases check clean: empty, filled, after deletes, replaces and reopens. */
static void test_healthy(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    fill_db(db);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_true(st.leaf_count > 10);
    for (uint64_t i = 0; i < KEY_COUNT; i += 3) assert_int_equal(alexdb_delete(db, i * KEY_STEP), ALEXDB_OK);
    uint8_t *big = calloc(1, 20000);
    for (uint64_t i = 1; i < KEY_COUNT; i += 50) assert_int_equal(alexdb_put(db, i * KEY_STEP, big, 20000), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_OK); /* twice: it changes nothing */
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(big);
}

/* A leaf's fences narrowed or widened (re-sealed, so it is a valid leaf) is caught. */
static void test_fences_changed(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    alexdb *db = open_db(fx->path);
    fill_db(db);
    leaf_list *list = leaves_of(db);
    assert_true(list->count > 4);
    size_t victim = list->count / 2;
    /* Its first key goes, so that there is room to narrow the low fence too. */
    uint64_t first_key = (list->low[victim] + KEY_STEP - 1) / KEY_STEP * KEY_STEP;
    assert_int_equal(alexdb_delete(db, first_key), ALEXDB_OK);
    free(list);
    list = leaves_of(db);
    uint64_t page_no = list->page_no[victim];
    assert_true(first_key >= list->low[victim] && first_key <= list->high[victim]);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    uint8_t *orig = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(data, page_no, orig);
    static alex_entry entries[ALEX_LEAF_SLOT_COUNT_MAX];
    uint32_t count = alex_leaf_entries(orig, entries);
    assert_true(count >= 2);
    uint64_t lowest = entries[0].key, highest = entries[count - 1].key;
    assert_true(lowest > list->low[victim] && highest < list->high[victim]);
    /* [new low, new high] for each edit; keys stay inside, so alex_leaf_check passes. */
    const uint64_t edits[][2] = {
        {list->low[victim], highest},                 /* high fence narrowed */
        {list->low[victim] + 1, list->high[victim]},  /* low fence narrowed (may drop a key) */
        {list->low[victim] - 1, list->high[victim]},  /* widened into the left neighbour */
        {list->low[victim], list->high[victim] + 1},  /* widened into the right neighbour */
        {0, UINT64_MAX},
    };
    for (size_t e = 0; e < COMMON_ARRAY_COUNT(edits); e++) {
        memcpy(page, orig, PAGER_PAGE_SIZE);
        common_store_u64le(page + ALEX_LEAF_FIELD_FENCE_LOW, edits[e][0]);
        common_store_u64le(page + ALEX_LEAF_FIELD_FENCE_HIGH, edits[e][1]);
        pager_page_seal(page, page_no, pager_page_lsn(page));
        assert_int_equal(pager_page_check(data, page, page_no), ALEXDB_OK);
        assert_int_equal(alex_leaf_check(data, page, page_no), ALEXDB_OK);
        tu_page_write(data, page_no, page);
        db = open_db(fx->path);
        assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
        expect_corrupt_at(data, page_no * PAGER_PAGE_SIZE, "fences");
        /* Fences are checked against the routing when the page is read: even its own keys
         * are CORRUPT, and so is a key routed there but outside the fences. */
        size_t got = 0;
        assert_int_equal(alexdb_get(db, lowest, NULL, 0, &got), ALEXDB_CORRUPT);
        if (edits[e][1] < list->high[victim]) {
            assert_int_equal(alexdb_get(db, edits[e][1] + 1, NULL, 0, &got), ALEXDB_CORRUPT);
            expect_corrupt_at(data, page_no * PAGER_PAGE_SIZE, NULL);
        }
        if (edits[e][0] > list->low[victim]) {
            assert_int_equal(alexdb_put(db, edits[e][0] - 1, "x", 1), ALEXDB_CORRUPT);
        }
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
    }
    tu_page_write(data, page_no, orig);
    db = open_db(fx->path);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(list);
    free(orig);
    free(page);
    free(data);
}

/* Runs check with a free run [first, first+count) added in memory, then takes it back. */
static int check_with_free_run(alexdb *db, uint64_t first, uint64_t count)
{
    alex_index *index = db->index;
    alex_freelist saved = index->free;
    alex_freelist copy = {0};
    for (size_t i = 0; i < saved.count; i++) {
        assert_int_equal(alex_freelist_add(&copy, saved.runs[i].first, saved.runs[i].count), ALEXDB_OK);
    }
    /* Splice the run in without alex_freelist_add's A6 assertion: it is the damage. */
    size_t at = 0;
    while (at < copy.count && copy.runs[at].first < first) at++;
    assert_int_equal(alex_freelist_add(&copy, 1u << 30, 1), ALEXDB_OK); /* room for one more */
    memmove(&copy.runs[at + 1], &copy.runs[at], (copy.count - 1 - at) * sizeof(alex_run));
    copy.runs[at] = (alex_run){.first = first, .count = count};
    index->free = copy;
    int rc = alexdb_check(db);
    index->free = saved;
    alex_freelist_destroy(&copy);
    return rc;
}

/* A page owned twice (free list over a leaf, an overflow run or the metadata) is caught. */
static void test_page_owned_twice(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    alexdb *db = open_db(fx->path);
    fill_db(db);
    assert_int_equal(alexdb_checkpoint(db), ALEXDB_OK); /* so there is a metadata run */
    leaf_list *list = leaves_of(db);
    uint64_t leaf = list->page_no[list->count / 3];
    assert_int_equal(check_with_free_run(db, leaf, 1), ALEXDB_CORRUPT);
    expect_corrupt_at(data, leaf * PAGER_PAGE_SIZE, "owned twice");
    /* An overflow run's page. */
    alex_route route;
    alex_inner_route(db->index->inner, 0, &route);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(data, route.leaf_page_no, page);
    alex_value value;
    assert_int_equal(alex_leaf_find(page, 0, &value, NULL), ALEXDB_OK);
    assert_true(value.size > ALEX_INLINE_VALUE_SIZE_MAX);
    uint64_t run_last = value.overflow_page_no + alex_overflow_page_count(value.size) - 1;
    assert_int_equal(check_with_free_run(db, run_last, 1), ALEXDB_CORRUPT);
    expect_corrupt_at(data, run_last * PAGER_PAGE_SIZE, "owned twice");
    /* The metadata run. */
    alex_run meta = db->index->meta_run;
    assert_true(meta.count > 0);
    assert_int_equal(check_with_free_run(db, meta.first, meta.count), ALEXDB_CORRUPT);
    expect_corrupt_at(data, meta.first * PAGER_PAGE_SIZE, "owned twice");
    /* A free run past the end of the file. */
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    uint64_t page_count = st.file_size / PAGER_PAGE_SIZE;
    assert_int_equal(check_with_free_run(db, page_count, 2), ALEXDB_CORRUPT);
    expect_corrupt_at(data, page_count * PAGER_PAGE_SIZE, "outside the file");
    assert_int_equal(alexdb_check(db), ALEXDB_OK); /* everything as it was */
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(page);
    free(list);
    free(data);
}

/* Two leaves' references naming one overflow run: the second owner is caught. */
static void test_run_referenced_twice(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    alexdb *db = open_db(fx->path);
    fill_db(db);
    /* Key 0's and the next big key's references, each in its leaf. */
    uint64_t other = BIG_EVERY * KEY_STEP;
    alex_route ra, rb;
    alex_inner_route(db->index->inner, 0, &ra);
    alex_inner_route(db->index->inner, other, &rb);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    uint8_t *a = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *b = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(data, ra.leaf_page_no, a);
    alex_value va;
    assert_int_equal(alex_leaf_find(a, 0, &va, NULL), ALEXDB_OK);
    tu_page_read(data, rb.leaf_page_no, b);
    uint32_t slot = alex_leaf_seek(b, other);
    uint32_t n = alex_leaf_slot_count(b);
    uint32_t rec = common_load_u16le(b + alex_leaf_value_offsets_offset(n) + 2 * slot);
    assert_int_equal(common_load_u16le(b + rec), ALEX_VALUE_TAG_OVERFLOW);
    common_store_u32le(b + rec + 2, va.size);
    common_store_u64le(b + rec + 6, va.overflow_page_no);
    pager_page_seal(b, rb.leaf_page_no, pager_page_lsn(b));
    assert_int_equal(alex_leaf_check(data, b, rb.leaf_page_no), ALEXDB_OK);
    tu_page_write(data, rb.leaf_page_no, b);
    db = open_db(fx->path);
    assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
    expect_corrupt_at(data, va.overflow_page_no * PAGER_PAGE_SIZE, "owned twice");
    size_t got = 0;
    assert_int_equal(alexdb_get(db, other, NULL, 0, &got), ALEXDB_OK); /* the size is in the leaf */
    uint8_t *buf = malloc(va.size);
    assert_int_equal(alexdb_get(db, other, buf, va.size, &got), ALEXDB_CORRUPT); /* key 0's run */
    free(buf);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(a);
    free(b);
    free(data);
}

/* A key count off by one, in memory or persisted in the superblock payload, is caught. */
static void test_key_count_mismatch(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    alexdb *db = open_db(fx->path);
    fill_db(db);
    atomic_fetch_add(&db->index->key_count, 1);
    assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
    expect_corrupt_at(data, 0, "keys");
    atomic_fetch_sub(&db->index->key_count, 2);
    assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
    atomic_fetch_add(&db->index->key_count, 1);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    /* On disk: the payload's key count (re-sealed superblock in force). */
    uint8_t *pages = tu_aligned(2 * PAGER_PAGE_SIZE);
    tu_page_read(data, 0, pages);
    tu_page_read(data, 1, pages + PAGER_PAGE_SIZE);
    uint64_t slot = common_load_u64le(pages + PAGER_PAGE_SIZE + SB_GENERATION_OFFSET) >
                            common_load_u64le(pages + SB_GENERATION_OFFSET) ? 1 : 0;
    uint8_t *sb = pages + slot * PAGER_PAGE_SIZE;
    assert_int_equal(common_load_u64le(sb + SB_PAYLOAD_OFFSET + PL_KEY_COUNT), KEY_COUNT);
    common_store_u64le(sb + SB_PAYLOAD_OFFSET + PL_KEY_COUNT, KEY_COUNT + 5);
    pager_page_seal(sb, slot, pager_page_lsn(sb));
    tu_page_write(data, slot, sb);
    db = open_db(fx->path);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, KEY_COUNT + 5);
    size_t got = 0;
    assert_int_equal(alexdb_get(db, KEY_STEP, NULL, 0, &got), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
    expect_corrupt_at(data, 0, "keys");
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(pages);
    free(data);
}

/* A damaged leaf or overflow page anywhere is found by the check, naming it. */
static void test_damaged_pages(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    alexdb *db = open_db(fx->path);
    fill_db(db);
    leaf_list *list = leaves_of(db);
    uint64_t leaf = list->page_no[list->count - 1];
    alex_route route;
    alex_inner_route(db->index->inner, 0, &route);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    tu_flip_bit(data, leaf * PAGER_PAGE_SIZE + 3000, 2);
    db = open_db(fx->path);
    assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
    expect_corrupt_at(data, leaf * PAGER_PAGE_SIZE, NULL);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    tu_flip_bit(data, leaf * PAGER_PAGE_SIZE + 3000, 2);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    tu_page_read(data, route.leaf_page_no, page);
    alex_value value;
    assert_int_equal(alex_leaf_find(page, 0, &value, NULL), ALEXDB_OK);
    uint64_t last = value.overflow_page_no + alex_overflow_page_count(value.size) - 1;
    tu_flip_bit(data, last * PAGER_PAGE_SIZE + 60, 7);
    db = open_db(fx->path);
    assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
    expect_corrupt_at(data, last * PAGER_PAGE_SIZE, NULL);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    tu_flip_bit(data, last * PAGER_PAGE_SIZE + 60, 7);
    db = open_db(fx->path);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(page);
    free(list);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthy, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fences_changed, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_page_owned_twice, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_run_referenced_twice, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_key_count_mismatch, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_pages, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
