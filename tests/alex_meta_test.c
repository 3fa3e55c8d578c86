/*
 * alex_meta_test.c: the index metadata on disk (alex/meta.c): the superblock payload
 * that names the metadata run, the run of kind-5 pages, and the blob in it (inner stream
 * and free list). Each is damaged in a closed database in every way we could think of:
 * bit flips in every part of every metadata page, truncation inside the run, the run's
 * pages swapped or replaced, each payload field broken (re-sealed, so only its meaning
 * is wrong), free runs that overlap the metadata, each other or the end of the file, and
 * blobs and inner streams whose checksums match but whose contents are garbage, built
 * with the layout meta.c and persist.c document. alexdb_open must answer ALEXDB_CORRUPT
 * (ALEXDB_VERSION for a newer version) with a message naming the file, never crash (the
 * suite also runs under ASan/UBSan), and never serve a wrong value. Reopening an
 * unchanged database many times must not grow the file.
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

/* meta.c's layout: the superblock payload and the metadata pages (kind 5). */
#define SB_PAYLOAD_SIZE_OFFSET 72u
#define SB_PAYLOAD_OFFSET 80u
#define SB_GENERATION_OFFSET 48u
#define SB_PAGE_COUNT_OFFSET 56u
#define PAYLOAD_SIZE 56u
#define PL_MAGIC 0u
#define PL_VERSION 4u
#define PL_RUN_FIRST 8u
#define PL_RUN_COUNT 16u
#define PL_BLOB_SIZE 24u
#define PL_CHECKSUM 32u
#define PL_KEY_COUNT 40u
#define PL_RESERVED 48u
#define META_RUN_INDEX 32u
#define META_RUN_PAGE_COUNT 36u
#define META_BLOB_SIZE 40u
#define META_DATA 48u
#define META_DATA_SIZE (PAGER_PAGE_SIZE - META_DATA)
/* persist.c's inner stream header and node layout. */
#define IS_CHECKSUM 0u
#define IS_MAGIC 8u
#define IS_VERSION 12u
#define IS_SIZE 16u
#define IS_ROOT 24u
#define IS_NODE_COUNT 28u
#define IS_HEADER 40u
#define NODE_LOG2 0u
#define NODE_RUN_COUNT 4u
#define NODE_SLOPE 8u
#define NODE_RUNS 32u

#define KEY_COUNT 3000u
#define BIG_COUNT 600u
#define BIG_KEY_BASE 1000000u

static alexdb *open_db_opts(const char *dir, int read_only, int *rc_out)
{
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.cache_bytes = 1u << 20;
    opts.read_only = read_only;
    alexdb *db = NULL;
    *rc_out = alexdb_open(dir, &opts, &db);
    return db;
}

static alexdb *open_db(const char *dir)
{
    int rc = 0;
    alexdb *db = open_db_opts(dir, 0, &rc);
    assert_int_equal(rc, ALEXDB_OK);
    return db;
}

static uint64_t file_size_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* The whole file, to restore after each damage. */
typedef struct image {
    uint8_t *bytes;
    size_t size;
} image;

static image image_save(const char *path)
{
    image im = {.size = file_size_of(path)};
    im.bytes = malloc(im.size);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0 && im.bytes != NULL);
    assert_int_equal(pread(fd, im.bytes, im.size, 0), (ssize_t)im.size);
    close(fd);
    return im;
}

static void image_restore(const char *path, const image *im)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, im->bytes, im->size, 0), (ssize_t)im->size);
    assert_int_equal(fsync(fd), 0);
    close(fd);
}

static void value_of(uint64_t key, uint8_t *buf, size_t size)
{
    for (size_t i = 0; i < size; i++) buf[i] = (uint8_t)(key * 31 + i * 7 + (key >> 8));
}

static size_t size_of(uint64_t key)
{
    return key >= BIG_KEY_BASE ? 1100 : 8 + key % 17;
}

/*
 * A database with several leaves (so the inner stream has nodes), 300 one-page overflow
 * values and 300 single free pages between them (so the blob spans two pages).
 */
static void make_db(const char *dir)
{
    alexdb *db = open_db(dir);
    uint8_t buf[1100];
    for (uint64_t k = 0; k < KEY_COUNT; k++) {
        value_of(k, buf, size_of(k));
        assert_int_equal(alexdb_put(db, k * 3, buf, size_of(k)), ALEXDB_OK);
    }
    for (uint64_t i = 0; i < BIG_COUNT; i++) {
        value_of(BIG_KEY_BASE + i, buf, 1100);
        assert_int_equal(alexdb_put(db, BIG_KEY_BASE + i, buf, 1100), ALEXDB_OK);
    }
    for (uint64_t i = 0; i < BIG_COUNT; i += 2) assert_int_equal(alexdb_delete(db, BIG_KEY_BASE + i), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* Every value the db should hold reads back right (or, with may_fail, at worst CORRUPT). */
static void expect_contents(alexdb *db, bool may_fail)
{
    uint8_t buf[1100], want[1100];
    size_t got = 0;
    for (uint64_t k = 0; k < KEY_COUNT; k++) {
        int rc = alexdb_get(db, k * 3, buf, sizeof(buf), &got);
        if (may_fail && rc == ALEXDB_CORRUPT) continue;
        assert_int_equal(rc, ALEXDB_OK);
        value_of(k, want, size_of(k));
        assert_int_equal(got, size_of(k));
        assert_memory_equal(buf, want, got);
        rc = alexdb_get(db, k * 3 + 1, buf, sizeof(buf), &got);
        if (!(may_fail && rc == ALEXDB_CORRUPT)) assert_int_equal(rc, ALEXDB_NOTFOUND);
    }
    for (uint64_t i = 1; i < BIG_COUNT; i += 2) {
        int rc = alexdb_get(db, BIG_KEY_BASE + i, buf, sizeof(buf), &got);
        if (may_fail && rc == ALEXDB_CORRUPT) continue;
        assert_int_equal(rc, ALEXDB_OK);
        value_of(BIG_KEY_BASE + i, want, 1100);
        assert_int_equal(got, 1100);
        assert_memory_equal(buf, want, 1100);
    }
}

/* Opening fails with rc and a message naming the file; no handle is returned. */
static void expect_open_fails(const char *dir, const char *data, int rc_expected)
{
    int rc = 0;
    alexdb *db = open_db_opts(dir, 0, &rc);
    assert_int_equal(rc, rc_expected);
    assert_null(db);
    assert_non_null(strstr(alexdb_errmsg(), data));
    db = open_db_opts(dir, 1, &rc); /* read-only handles validate the same way */
    assert_int_equal(rc, rc_expected);
    assert_null(db);
}

/* The superblock slot in force: the valid one with the larger generation. */
static uint32_t slot_in_force(const char *data, uint8_t *page_out)
{
    uint8_t *pages = tu_aligned(2 * PAGER_PAGE_SIZE);
    tu_page_read(data, 0, pages);
    tu_page_read(data, 1, pages + PAGER_PAGE_SIZE);
    bool valid0 = pager_page_check(data, pages, 0) == ALEXDB_OK;
    bool valid1 = pager_page_check(data, pages + PAGER_PAGE_SIZE, 1) == ALEXDB_OK;
    assert_true(valid0 || valid1);
    uint32_t slot = !valid0 ? 1
                    : !valid1 ? 0
                    : common_load_u64le(pages + PAGER_PAGE_SIZE + SB_GENERATION_OFFSET) >
                              common_load_u64le(pages + SB_GENERATION_OFFSET)
                        ? 1
                        : 0;
    memcpy(page_out, pages + slot * PAGER_PAGE_SIZE, PAGER_PAGE_SIZE);
    free(pages);
    return slot;
}

/* The superblock in force, its payload fields, and the metadata blob it names. */
typedef struct meta {
    uint32_t slot;
    uint8_t *sb; /* the slot's page */
    uint64_t run_first;
    uint64_t run_count;
    uint64_t blob_size;
    uint8_t *blob;
    uint64_t page_count;
} meta;

static void meta_load(const char *data, meta *m)
{
    m->sb = tu_aligned(PAGER_PAGE_SIZE);
    m->slot = slot_in_force(data, m->sb);
    const uint8_t *pl = m->sb + SB_PAYLOAD_OFFSET;
    assert_int_equal(common_load_u32le(m->sb + SB_PAYLOAD_SIZE_OFFSET), PAYLOAD_SIZE);
    m->page_count = common_load_u64le(m->sb + SB_PAGE_COUNT_OFFSET);
    m->run_first = common_load_u64le(pl + PL_RUN_FIRST);
    m->run_count = common_load_u64le(pl + PL_RUN_COUNT);
    m->blob_size = common_load_u64le(pl + PL_BLOB_SIZE);
    m->blob = malloc(m->run_count * META_DATA_SIZE);
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    for (uint64_t i = 0; i < m->run_count; i++) {
        tu_page_read(data, m->run_first + i, page);
        assert_int_equal(pager_page_kind(page), PAGER_KIND_INNER);
        memcpy(m->blob + i * META_DATA_SIZE, page + META_DATA, META_DATA_SIZE);
    }
    free(page);
    assert_int_equal(common_checksum(m->blob, m->blob_size), common_load_u64le(pl + PL_CHECKSUM));
}

static void meta_free(meta *m)
{
    free(m->sb);
    free(m->blob);
}

/* Writes the superblock page back into its slot, re-sealed: only its meaning can be wrong. */
static void sb_store(const char *data, meta *m)
{
    pager_page_seal(m->sb, m->slot, pager_page_lsn(m->sb));
    tu_page_write(data, m->slot, m->sb);
}

/*
 * Writes blob (of size bytes) over the metadata run as meta.c lays it out, and points
 * the payload at it with a matching size and checksum: every checksum is right.
 */
static void blob_store(const char *data, meta *m, const uint8_t *blob, uint64_t size)
{
    uint64_t count = (size + META_DATA_SIZE - 1) / META_DATA_SIZE;
    assert_int_equal(count, m->run_count); /* the test edits keep the run's length */
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    for (uint64_t i = 0; i < count; i++) {
        pager_page_init(page, PAGER_KIND_INNER);
        common_store_u32le(page + META_RUN_INDEX, (uint32_t)i);
        common_store_u32le(page + META_RUN_PAGE_COUNT, (uint32_t)count);
        common_store_u64le(page + META_BLOB_SIZE, size);
        uint64_t offset = i * META_DATA_SIZE;
        memcpy(page + META_DATA, blob + offset, COMMON_MIN((uint64_t)META_DATA_SIZE, size - offset));
        pager_page_seal(page, m->run_first + i, 0);
        tu_page_write(data, m->run_first + i, page);
    }
    free(page);
    uint8_t *pl = m->sb + SB_PAYLOAD_OFFSET;
    common_store_u64le(pl + PL_BLOB_SIZE, size);
    common_store_u64le(pl + PL_CHECKSUM, common_checksum(blob, size));
    sb_store(data, m);
}

/* The inner stream inside a blob copy, with its checksum recomputed (persist.c). */
static uint8_t *inner_stream(uint8_t *blob, uint64_t *size_out)
{
    *size_out = common_load_u64le(blob);
    return blob + 8;
}

static void inner_reseal(uint8_t *stream, uint64_t size)
{
    common_store_u64le(stream + IS_CHECKSUM, common_checksum(stream + IS_MAGIC, size - IS_MAGIC));
}

/* The free list part of a blob copy. */
static uint8_t *free_list(uint8_t *blob, uint64_t *run_count_out)
{
    uint8_t *p = blob + 8 + common_load_u64le(blob);
    *run_count_out = common_load_u64le(p);
    return p;
}

typedef struct fixture {
    tu_fixture base;
    char *data;
    image good;
} fixture;

static int setup(void **state)
{
    assert_int_equal(tu_fixture_setup(state), 0);
    fixture *fx = realloc(*state, sizeof(fixture));
    assert_non_null(fx);
    fx->data = tu_path(fx->base.path, "alexdb.data");
    make_db(fx->base.path);
    fx->good = image_save(fx->data);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    free(fx->data);
    free(fx->good.bytes);
    return tu_fixture_teardown(state);
}

/* The untouched db opens, reads back and checks clean (the baseline of every damage). */
static void expect_good(fixture *fx)
{
    image_restore(fx->data, &fx->good);
    alexdb *db = open_db(fx->base.path);
    expect_contents(db, false);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    image_restore(fx->data, &fx->good);
}

/* The fixture's db has what the tests below rely on: a two-page run, free runs, nodes. */
static void test_fixture_shape(void **state)
{
    fixture *fx = *state;
    meta m;
    meta_load(fx->data, &m);
    assert_true(m.run_count >= 2);
    assert_true(m.run_first >= 2 && m.run_first + m.run_count <= m.page_count);
    uint64_t inner_size = 0, runs = 0;
    uint8_t *stream = inner_stream(m.blob, &inner_size);
    assert_true(common_load_u32le(stream + IS_NODE_COUNT) >= 1);
    free_list(m.blob, &runs);
    assert_true(runs >= BIG_COUNT / 2 - 1);
    assert_int_equal(m.blob_size, 8 + inner_size + 8 + 16 * runs);
    meta_free(&m);
    expect_good(fx);
}

/* A bit flipped anywhere in any metadata page (header, fields, data, tail) is CORRUPT. */
static void test_bit_flips_in_metadata_pages(void **state)
{
    fixture *fx = *state;
    meta m;
    meta_load(fx->data, &m);
    const uint32_t offsets[] = {0, 7, PAGER_HDR_MAGIC, PAGER_HDR_VERSION, PAGER_HDR_KIND,
                                PAGER_HDR_PAGE_NO, PAGER_HDR_LSN, META_RUN_INDEX,
                                META_RUN_PAGE_COUNT, META_BLOB_SIZE, META_DATA, META_DATA + 9,
                                2000, PAGER_PAGE_SIZE - 1};
    for (uint64_t p = 0; p < m.run_count; p++) {
        for (size_t i = 0; i < COMMON_ARRAY_COUNT(offsets); i++) {
            uint64_t at = (m.run_first + p) * PAGER_PAGE_SIZE + offsets[i];
            tu_flip_bit(fx->data, at, (int)(i % 8));
            expect_open_fails(fx->base.path, fx->data, ALEXDB_CORRUPT);
            tu_flip_bit(fx->data, at, (int)(i % 8));
        }
    }
    meta_free(&m);
    expect_good(fx);
}

/* A file cut inside the metadata run, on or off a page boundary, is CORRUPT. */
static void test_truncated_inside_run(void **state)
{
    fixture *fx = *state;
    meta m;
    meta_load(fx->data, &m);
    const uint64_t sizes[] = {(m.run_first + 1) * PAGER_PAGE_SIZE,
                              (m.run_first + 1) * PAGER_PAGE_SIZE + 100,
                              m.run_first * PAGER_PAGE_SIZE + PAGER_PAGE_SIZE / 2,
                              m.run_first * PAGER_PAGE_SIZE};
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(sizes); i++) {
        assert_int_equal(truncate(fx->data, (off_t)sizes[i]), 0);
        expect_open_fails(fx->base.path, fx->data, ALEXDB_CORRUPT);
        image_restore(fx->data, &fx->good);
    }
    meta_free(&m);
    expect_good(fx);
}

/* The run's pages swapped with each other or with a leaf, re-sealed or not, are CORRUPT. */
static void test_swapped_pages(void **state)
{
    fixture *fx = *state;
    meta m;
    meta_load(fx->data, &m);
    uint8_t *a = tu_aligned(PAGER_PAGE_SIZE);
    uint8_t *b = tu_aligned(PAGER_PAGE_SIZE);
    uint64_t leaf = 2; /* the first leaf of a new database */
    tu_page_read(fx->data, leaf, b);
    assert_int_equal(pager_page_kind(b), PAGER_KIND_LEAF);
    for (int resealed = 0; resealed < 2; resealed++) {
        /* The metadata's first page and a leaf trade places. */
        tu_page_read(fx->data, m.run_first, a);
        tu_page_read(fx->data, leaf, b);
        if (resealed) {
            pager_page_seal(a, leaf, 0);
            pager_page_seal(b, m.run_first, 0);
        }
        tu_page_write(fx->data, m.run_first, b);
        tu_page_write(fx->data, leaf, a);
        expect_open_fails(fx->base.path, fx->data, ALEXDB_CORRUPT);
        image_restore(fx->data, &fx->good);
        /* The run's two pages in each other's place. */
        tu_page_read(fx->data, m.run_first, a);
        tu_page_read(fx->data, m.run_first + 1, b);
        if (resealed) {
            pager_page_seal(a, m.run_first + 1, 0);
            pager_page_seal(b, m.run_first, 0);
        }
        tu_page_write(fx->data, m.run_first, b);
        tu_page_write(fx->data, m.run_first + 1, a);
        expect_open_fails(fx->base.path, fx->data, ALEXDB_CORRUPT);
        image_restore(fx->data, &fx->good);
        /* The first page twice. */
        tu_page_read(fx->data, m.run_first, a);
        if (resealed) pager_page_seal(a, m.run_first + 1, 0);
        tu_page_write(fx->data, m.run_first + 1, a);
        expect_open_fails(fx->base.path, fx->data, ALEXDB_CORRUPT);
        image_restore(fx->data, &fx->good);
    }
    /* A page of the right run whose header says another blob size. */
    tu_page_read(fx->data, m.run_first + 1, a);
    common_store_u64le(a + META_BLOB_SIZE, m.blob_size + 1);
    pager_page_seal(a, m.run_first + 1, 0);
    tu_page_write(fx->data, m.run_first + 1, a);
    expect_open_fails(fx->base.path, fx->data, ALEXDB_CORRUPT);
    free(a);
    free(b);
    meta_free(&m);
    expect_good(fx);
}

/* Applies an edit to the payload in force (re-sealed) and expects rc at open. */
static void payload_case(fixture *fx, uint32_t field, uint64_t value, uint32_t width, int rc)
{
    meta m;
    meta_load(fx->data, &m);
    uint8_t *pl = m.sb + SB_PAYLOAD_OFFSET;
    if (width == 4) common_store_u32le(pl + field, (uint32_t)value);
    else common_store_u64le(pl + field, value);
    sb_store(fx->data, &m);
    expect_open_fails(fx->base.path, fx->data, rc);
    meta_free(&m);
    image_restore(fx->data, &fx->good);
}

/* Every field of the superblock payload broken in turn gives CORRUPT, or VERSION. */
static void test_payload_fields(void **state)
{
    fixture *fx = *state;
    meta m;
    meta_load(fx->data, &m);
    uint64_t pc = m.page_count, first = m.run_first, count = m.run_count, size = m.blob_size;
    meta_free(&m);
    payload_case(fx, PL_MAGIC, 0x58444E48u, 4, ALEXDB_CORRUPT);
    payload_case(fx, PL_VERSION, 2, 4, ALEXDB_VERSION);
    payload_case(fx, PL_VERSION, 0, 4, ALEXDB_VERSION);
    payload_case(fx, PL_RESERVED, 1, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_RUN_FIRST, 0, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_RUN_FIRST, 1, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_RUN_FIRST, 2, 8, ALEXDB_CORRUPT);           /* a leaf, not the run */
    payload_case(fx, PL_RUN_FIRST, first + 1, 8, ALEXDB_CORRUPT);   /* off by one */
    payload_case(fx, PL_RUN_FIRST, pc - 1, 8, ALEXDB_CORRUPT);      /* past the end */
    payload_case(fx, PL_RUN_FIRST, pc, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_RUN_FIRST, UINT64_MAX - 1, 8, ALEXDB_CORRUPT); /* first + count wraps */
    payload_case(fx, PL_RUN_COUNT, 0, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_RUN_COUNT, count + 1, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_RUN_COUNT, UINT64_MAX, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_BLOB_SIZE, 0, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_BLOB_SIZE, 15, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_BLOB_SIZE, size - 1, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_BLOB_SIZE, count * META_DATA_SIZE + 1, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_BLOB_SIZE, UINT64_MAX, 8, ALEXDB_CORRUPT);
    payload_case(fx, PL_CHECKSUM, 12345, 8, ALEXDB_CORRUPT);
    /* The whole payload zeroed, its size kept. */
    meta_load(fx->data, &m);
    memset(m.sb + SB_PAYLOAD_OFFSET, 0, PAYLOAD_SIZE);
    sb_store(fx->data, &m);
    expect_open_fails(fx->base.path, fx->data, ALEXDB_CORRUPT);
    meta_free(&m);
    image_restore(fx->data, &fx->good);
    /* A payload of the wrong size. */
    const uint32_t sizes[] = {PAYLOAD_SIZE - 1, PAYLOAD_SIZE + 1, PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX};
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(sizes); i++) {
        meta_load(fx->data, &m);
        common_store_u32le(m.sb + SB_PAYLOAD_SIZE_OFFSET, sizes[i]);
        sb_store(fx->data, &m);
        expect_open_fails(fx->base.path, fx->data, ALEXDB_CORRUPT);
        meta_free(&m);
        image_restore(fx->data, &fx->good);
    }
    expect_good(fx);
}

/* Both superblock copies with their payload zeroed: never an open that serves nothing. */
static void test_both_payloads_zeroed(void **state)
{
    fixture *fx = *state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    for (uint64_t slot = 0; slot < 2; slot++) {
        tu_page_read(fx->data, slot, page);
        memset(page + SB_PAYLOAD_OFFSET, 0, PAYLOAD_SIZE);
        if (common_load_u32le(page + SB_PAYLOAD_SIZE_OFFSET) == 0) {
            common_store_u32le(page + SB_PAYLOAD_SIZE_OFFSET, PAYLOAD_SIZE);
        }
        pager_page_seal(page, slot, pager_page_lsn(page));
        tu_page_write(fx->data, slot, page);
    }
    expect_open_fails(fx->base.path, fx->data, ALEXDB_CORRUPT);
    free(page);
    expect_good(fx);
}

/* Rewrites the blob after edit(), every checksum right, and expects rc at open. */
typedef void (*blob_edit_fn)(uint8_t *blob, const meta *m);

static void blob_case(fixture *fx, blob_edit_fn edit, int rc)
{
    meta m;
    meta_load(fx->data, &m);
    edit(m.blob, &m);
    blob_store(fx->data, &m, m.blob, m.blob_size);
    expect_open_fails(fx->base.path, fx->data, rc);
    meta_free(&m);
    image_restore(fx->data, &fx->good);
}

static void edit_free_over_meta(uint8_t *blob, const meta *m)
{
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    /* Replace the free run just below the metadata by one that reaches into it. */
    uint64_t best = 0;
    for (uint64_t i = 0; i < runs; i++) {
        if (common_load_u64le(p + 8 + 16 * i) < m->run_first) best = i;
    }
    uint64_t first = common_load_u64le(p + 8 + 16 * best);
    uint64_t next = best + 1 < runs ? common_load_u64le(p + 8 + 16 * (best + 1)) : UINT64_MAX;
    assert_true(next > m->run_first + m->run_count); /* still sorted and disjoint */
    common_store_u64le(p + 16 + 16 * best, m->run_first + 1 - first);
}

static void edit_free_is_meta(uint8_t *blob, const meta *m)
{
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    /* The last run below the metadata run (or the first run) becomes exactly the
     * metadata run: the list stays sorted and disjoint, since no run overlaps it. */
    assert_true(runs > 0);
    uint64_t i = 0;
    while (i + 1 < runs && common_load_u64le(p + 8 + 16 * (i + 1)) < m->run_first) i++;
    common_store_u64le(p + 8 + 16 * i, m->run_first);
    common_store_u64le(p + 16 + 16 * i, m->run_count);
    assert_true(i == 0 || common_load_u64le(p + 8 + 16 * (i - 1)) + common_load_u64le(p + 16 + 16 * (i - 1)) <=
                              m->run_first);
    assert_true(i + 1 >= runs || common_load_u64le(p + 8 + 16 * (i + 1)) >=
                                     m->run_first + m->run_count);
}

static void edit_free_unsorted(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    uint8_t tmp[16];
    memcpy(tmp, p + 8, 16);
    memcpy(p + 8, p + 24, 16);
    memcpy(p + 24, tmp, 16);
}

static void edit_free_overlapping(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    uint64_t second = common_load_u64le(p + 24);
    common_store_u64le(p + 16, second - common_load_u64le(p + 8) + 1); /* into the next run */
}

static void edit_free_adjacent(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    uint64_t second = common_load_u64le(p + 24);
    common_store_u64le(p + 16, second - common_load_u64le(p + 8)); /* touching: not coalesced */
    (void)second;
}

static void edit_free_empty_run(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    common_store_u64le(p + 16, 0);
}

static void edit_free_past_end(uint8_t *blob, const meta *m)
{
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    uint8_t *last = p + 8 + 16 * (runs - 1);
    uint64_t first = common_load_u64le(last);
    if (first < m->page_count) common_store_u64le(last + 8, m->page_count - first + 1);
}

static void edit_free_wraps(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    uint8_t *last = p + 8 + 16 * (runs - 1);
    common_store_u64le(last + 8, UINT64_MAX - 1);
}

static void edit_free_superblock(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    common_store_u64le(p + 8, 1); /* a superblock page as free */
}

static void edit_free_count_high(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    common_store_u64le(p, runs + 1);
}

static void edit_free_count_low(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    common_store_u64le(p, runs - 1); /* 16 bytes left over */
}

static void edit_free_count_huge(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t runs = 0;
    uint8_t *p = free_list(blob, &runs);
    common_store_u64le(p, UINT64_MAX / 8);
}

static void edit_inner_size_huge(uint8_t *blob, const meta *m)
{
    (void)m;
    common_store_u64le(blob, UINT64_MAX - 4);
}

static void edit_inner_size_past_blob(uint8_t *blob, const meta *m)
{
    common_store_u64le(blob, m->blob_size - 15);
}

static void edit_inner_size_short(uint8_t *blob, const meta *m)
{
    (void)m;
    common_store_u64le(blob, common_load_u64le(blob) - 8); /* the free list starts early */
}

static void edit_inner_garbage(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t size = 0;
    uint8_t *s = inner_stream(blob, &size);
    for (uint64_t i = 0; i < size; i++) s[i] = (uint8_t)(i * 151 + 7); /* checksum wrong too */
}

/* Garbage whose stream checksum is right: only persist.c's structural checks remain. */
static void edit_inner_garbage_resealed(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t size = 0;
    uint8_t *s = inner_stream(blob, &size);
    for (uint64_t i = IS_MAGIC; i < size; i++) s[i] = (uint8_t)(i * 151 + 7);
    inner_reseal(s, size);
}

/* Header intact (magic, version, size, counts), every node byte garbage, checksum right. */
static void edit_inner_nodes_garbage(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t size = 0;
    uint8_t *s = inner_stream(blob, &size);
    for (uint64_t i = IS_HEADER; i < size; i++) s[i] = (uint8_t)(i * 151 + 7);
    inner_reseal(s, size);
}

static void edit_ref_second_leaf_twice(uint8_t *blob, const meta *m)
{
    (void)m;
    uint64_t size = 0;
    uint8_t *s = inner_stream(blob, &size);
    uint32_t second = common_load_u32le(s + IS_HEADER + NODE_RUNS + 8);
    uint32_t third = common_load_u32le(s + IS_HEADER + NODE_RUNS + 16);
    assert_false(second & ALEX_REF_INNER);
    assert_false(third & ALEX_REF_INNER);
    common_store_u32le(s + IS_HEADER + NODE_RUNS + 16, second); /* named twice, not adjacent */
    common_store_u32le(s + IS_HEADER + NODE_RUNS + 8, third);
    common_store_u32le(s + IS_HEADER + NODE_RUNS + 16, second);
    common_store_u32le(s + IS_HEADER + NODE_RUNS, second);
    inner_reseal(s, size);
}

/* One field of the inner stream set to a bad value, its checksum recomputed (persist.c). */
typedef struct stream_field {
    uint32_t offset; /* from the stream's start */
    uint32_t width;  /* 1, 4 or 8 bytes */
    uint64_t value;  /* FIELD_PAGE_COUNT: the file's page count */
    int rc;
} stream_field;

#define FIELD_PAGE_COUNT UINT64_MAX
#define ROOT_RUN0 (IS_HEADER + NODE_RUNS) /* the root's first run: u32 ref, u32 length */

static const stream_field stream_fields[] = {
    {IS_MAGIC, 4, 0x4E495840u, ALEXDB_CORRUPT},
    {IS_VERSION, 1, 2, ALEXDB_VERSION},
    {IS_SIZE, 8, 1, ALEXDB_CORRUPT},                         /* disagrees with the blob */
    {IS_NODE_COUNT, 4, UINT32_MAX, ALEXDB_CORRUPT},
    {IS_ROOT, 4, 2, ALEXDB_CORRUPT},                         /* a leaf root, nodes following */
    {IS_HEADER + NODE_LOG2, 1, 0, ALEXDB_CORRUPT},
    {IS_HEADER + NODE_LOG2, 1, 63, ALEXDB_CORRUPT},
    {IS_HEADER + NODE_SLOPE, 8, 0x7FF8000000000001ULL, ALEXDB_CORRUPT}, /* NaN */
    {IS_HEADER + NODE_SLOPE, 8, 0xBFF0000000000000ULL, ALEXDB_CORRUPT}, /* -1.0 */
    {IS_HEADER + NODE_RUN_COUNT, 4, 1000000, ALEXDB_CORRUPT},
    {IS_HEADER + NODE_RUN_COUNT, 4, 1, ALEXDB_CORRUPT},
    {ROOT_RUN0, 4, 1, ALEXDB_CORRUPT},                       /* a superblock as a leaf */
    {ROOT_RUN0, 4, FIELD_PAGE_COUNT, ALEXDB_CORRUPT},        /* a leaf past the end */
    {ROOT_RUN0, 4, ALEX_REF_INNER, ALEXDB_CORRUPT},          /* the root as its own child */
    {ROOT_RUN0 + 4, 4, 0, ALEXDB_CORRUPT},                   /* an empty run */
    {ROOT_RUN0 + 4, 4, UINT32_MAX, ALEXDB_CORRUPT},          /* a run past the slots */
};

static void stream_field_case(fixture *fx, const stream_field *f)
{
    meta m;
    meta_load(fx->data, &m);
    uint64_t size = 0;
    uint8_t *s = inner_stream(m.blob, &size);
    uint64_t value = f->value == FIELD_PAGE_COUNT ? m.page_count : f->value;
    if (f->width == 1) s[f->offset] = (uint8_t)value;
    else if (f->width == 4) common_store_u32le(s + f->offset, (uint32_t)value);
    else common_store_u64le(s + f->offset, value);
    inner_reseal(s, size);
    blob_store(fx->data, &m, m.blob, m.blob_size);
    expect_open_fails(fx->base.path, fx->data, f->rc);
    meta_free(&m);
    image_restore(fx->data, &fx->good);
}

/* The free list of the blob: every way of being wrong is CORRUPT at open. */
static void test_free_list_damage(void **state)
{
    fixture *fx = *state;
    blob_case(fx, edit_free_over_meta, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_is_meta, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_unsorted, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_overlapping, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_empty_run, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_past_end, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_wraps, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_superblock, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_count_high, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_count_low, ALEXDB_CORRUPT);
    blob_case(fx, edit_free_count_huge, ALEXDB_CORRUPT);
    expect_good(fx);
}

/* Touching free runs are legal on disk (merged when loaded) and the db still works. */
static void test_free_list_adjacent_runs_load(void **state)
{
    fixture *fx = *state;
    meta m;
    meta_load(fx->data, &m);
    edit_free_adjacent(m.blob, &m);
    blob_store(fx->data, &m, m.blob, m.blob_size);
    meta_free(&m);
    int rc = 0;
    alexdb *db = open_db_opts(fx->base.path, 0, &rc);
    if (rc == ALEXDB_OK) {
        /* The first run grew over pages that held overflow values: the check must see it. */
        int check = alexdb_check(db);
        assert_int_equal(check, ALEXDB_CORRUPT);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
    } else {
        assert_int_equal(rc, ALEXDB_CORRUPT);
    }
    expect_good(fx);
}

/* Blobs whose checksum matches but whose inner stream is garbage are CORRUPT (or VERSION). */
static void test_inner_stream_damage(void **state)
{
    fixture *fx = *state;
    blob_case(fx, edit_inner_size_huge, ALEXDB_CORRUPT);
    blob_case(fx, edit_inner_size_past_blob, ALEXDB_CORRUPT);
    blob_case(fx, edit_inner_size_short, ALEXDB_CORRUPT);
    blob_case(fx, edit_inner_garbage, ALEXDB_CORRUPT);
    blob_case(fx, edit_inner_garbage_resealed, ALEXDB_CORRUPT);
    blob_case(fx, edit_inner_nodes_garbage, ALEXDB_CORRUPT);
    blob_case(fx, edit_ref_second_leaf_twice, ALEXDB_CORRUPT);
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(stream_fields); i++) stream_field_case(fx, &stream_fields[i]);
    expect_good(fx);
}

/* The last page of the image that is an overflow page, not free and not metadata. */
static uint64_t live_overflow_page(const fixture *fx, meta *m)
{
    uint64_t runs = 0;
    const uint8_t *list = free_list(m->blob, &runs);
    for (uint64_t page_no = m->page_count; page_no-- > 2;) {
        if (fx->good.bytes[page_no * PAGER_PAGE_SIZE + PAGER_HDR_KIND] != PAGER_KIND_OVERFLOW) continue;
        bool is_free = false;
        for (uint64_t i = 0; i < runs; i++) {
            uint64_t first = common_load_u64le(list + 8 + 16 * i);
            if (page_no >= first && page_no < first + common_load_u64le(list + 16 + 16 * i)) is_free = true;
        }
        if (!is_free && (page_no < m->run_first || page_no >= m->run_first + m->run_count)) return page_no;
    }
    fail_msg("the fixture has no live overflow page");
    return 0;
}

/*
 * An inner stream that is well formed but routes keys to the wrong pages (two leaves
 * swapped; a leaf replaced by an overflow page) opens, but every key it misroutes is
 * CORRUPT (A3 and the page checks), never a wrong value; a leaf replaced by a metadata
 * page does not even open.
 */
static void test_inner_stream_misroutes(void **state)
{
    fixture *fx = *state;
    for (int variant = 0; variant < 3; variant++) {
        meta m;
        meta_load(fx->data, &m);
        uint64_t size = 0;
        uint8_t *s = inner_stream(m.blob, &size);
        uint8_t *r0 = s + IS_HEADER + NODE_RUNS, *r1 = r0 + 8;
        uint32_t a = common_load_u32le(r0), b = common_load_u32le(r1);
        assert_false((a | b) & ALEX_REF_INNER);
        if (variant == 0) {
            common_store_u32le(r0, b);
            common_store_u32le(r1, a);
        } else {
            common_store_u32le(r0, (uint32_t)(variant == 1 ? m.run_first : live_overflow_page(fx, &m)));
        }
        inner_reseal(s, size);
        blob_store(fx->data, &m, m.blob, m.blob_size);
        meta_free(&m);
        int rc = 0;
        alexdb *db = open_db_opts(fx->base.path, 1, &rc);
        if (variant == 1) {
            /* A leaf named inside the metadata run is caught at open (A6). */
            assert_int_equal(rc, ALEXDB_CORRUPT);
            assert_non_null(strstr(alexdb_errmsg(), fx->data));
            image_restore(fx->data, &fx->good);
            continue;
        }
        assert_int_equal(rc, ALEXDB_OK);
        expect_contents(db, true);
        size_t got = 0;
        assert_int_equal(alexdb_get(db, 0, NULL, 0, &got), ALEXDB_CORRUPT);
        assert_non_null(strstr(alexdb_errmsg(), fx->data));
        assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        image_restore(fx->data, &fx->good);
    }
    expect_good(fx);
}

/*
 * Random byte edits of the inner stream, its checksum and the blob's recomputed: open
 * fails with CORRUPT or VERSION, or it succeeds and then no key reads a wrong value.
 */
static void test_inner_stream_fuzz(void **state)
{
    fixture *fx = *state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    meta m;
    meta_load(fx->data, &m);
    uint64_t size = 0;
    inner_stream(m.blob, &size);
    uint8_t *orig = malloc(m.blob_size);
    memcpy(orig, m.blob, m.blob_size);
    uint32_t opened = 0;
    for (uint32_t round = 0; round < 300; round++) {
        memcpy(m.blob, orig, m.blob_size);
        uint8_t *s = m.blob + 8;
        uint32_t edits = 1 + (uint32_t)common_rng_below(&rng, 3);
        for (uint32_t e = 0; e < edits; e++) {
            uint64_t at = IS_MAGIC + common_rng_below(&rng, size - IS_MAGIC);
            s[at] ^= (uint8_t)(1u << common_rng_below(&rng, 8));
        }
        inner_reseal(s, size);
        blob_store(fx->data, &m, m.blob, m.blob_size);
        int rc = 0;
        alexdb *db = open_db_opts(fx->base.path, 1, &rc);
        if (rc != ALEXDB_OK) {
            assert_true(rc == ALEXDB_CORRUPT || rc == ALEXDB_VERSION);
            assert_non_null(strstr(alexdb_errmsg(), fx->data));
            continue;
        }
        opened++;
        expect_contents(db, true);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
    }
    printf("fuzz: %u of 300 damaged streams opened (and served no wrong value)\n", opened);
    free(orig);
    meta_free(&m);
    expect_good(fx);
}

/* Dozens of open/close cycles of an unchanged db keep its file and page counts fixed. */
static void test_reopen_cycles_do_not_leak(void **state)
{
    fixture *fx = *state;
    alexdb *db = open_db(fx->base.path);
    assert_int_equal(alexdb_close(db), ALEXDB_OK); /* settle the first rewrite */
    uint64_t file_bytes = file_size_of(fx->data);
    struct alexdb_stats first;
    db = open_db(fx->base.path);
    assert_int_equal(alexdb_stats(db, &first), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    for (int cycle = 0; cycle < 60; cycle++) {
        int rc = 0;
        bool read_only = cycle % 5 == 4;
        db = open_db_opts(fx->base.path, read_only, &rc);
        assert_int_equal(rc, ALEXDB_OK);
        int want = read_only ? ALEXDB_READONLY : ALEXDB_OK;
        if (cycle % 3 == 1) assert_int_equal(alexdb_checkpoint(db), want);
        if (cycle % 7 == 2) {
            assert_int_equal(alexdb_checkpoint(db), want);
            assert_int_equal(alexdb_checkpoint(db), want);
            assert_int_equal(alexdb_sync(db), ALEXDB_OK);
        }
        struct alexdb_stats st;
        assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
        assert_int_equal(st.file_size, first.file_size);
        assert_int_equal(st.free_size, first.free_size);
        assert_int_equal(st.key_count, first.key_count);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        assert_int_equal(file_size_of(fx->data), file_bytes);
    }
    db = open_db(fx->base.path);
    expect_contents(db, false);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* Checkpoints whose blob ends near a page boundary keep the run within one page of exact. */
static void test_checkpoints_across_page_boundary(void **state)
{
    fixture *fx = *state;
    alexdb *db = open_db(fx->base.path);
    for (uint64_t i = 1; i < BIG_COUNT; i += 4) {
        assert_int_equal(alexdb_delete(db, BIG_KEY_BASE + i), ALEXDB_OK);
        assert_int_equal(alexdb_checkpoint(db), ALEXDB_OK);
        meta m;
        meta_load(fx->data, &m);
        uint64_t exact = (m.blob_size + META_DATA_SIZE - 1) / META_DATA_SIZE;
        assert_true(m.run_count == exact || m.run_count == exact + 1);
        meta_free(&m);
    }
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->base.path);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checkpoints_across_page_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixture_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bit_flips_in_metadata_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_inside_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payload_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_payloads_zeroed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_list_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_list_adjacent_runs_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inner_stream_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inner_stream_misroutes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inner_stream_fuzz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_cycles_do_not_leak, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
