/*
 * pager_superblock_test.c: encoding and validating the superblock (pager/superblock.c).
 * Opening files with damaged superblocks is tested in pager_pager_test.c.
 */
#include "pager_int.h"
#include "testutil.h"

#include <string.h>

static uint8_t *encoded(const pager_superblock *sb, uint64_t slot)
{
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    pager_superblock_encode(sb, page);
    pager_page_seal(page, slot, sb->lsn);
    return page;
}

static pager_superblock sample(void)
{
    pager_superblock sb = {.generation = 7, .page_count = 100, .lsn = 55, .db_id = 0xABCDEF,
                           .payload_size = 5};
    memcpy(sb.payload, "hello", 5);
    return sb;
}

/* Every field survives encode and decode. */
static void test_round_trip(void **state)
{
    (void)state;
    pager_superblock sb = sample();
    uint8_t *page = encoded(&sb, 1);
    pager_superblock out;
    assert_int_equal(pager_superblock_decode("f", page, 1, &out), ALEXDB_OK);
    assert_int_equal(out.generation, 7);
    assert_int_equal(out.page_count, 100);
    assert_int_equal(out.lsn, 55);
    assert_int_equal(out.db_id, 0xABCDEF);
    assert_int_equal(out.payload_size, 5);
    assert_memory_equal(out.payload, "hello", 5);
    assert_memory_equal(page + 32, "alexdb\0\0", 8);
    free(page);
}

/* A copy read from the other slot is caught by its page number. */
static void test_wrong_slot(void **state)
{
    (void)state;
    pager_superblock sb = sample();
    uint8_t *page = encoded(&sb, 0);
    pager_superblock out;
    assert_int_equal(pager_superblock_decode("f", page, 1, &out), ALEXDB_CORRUPT);
    free(page);
}

/* Sealed but semantically wrong fields are rejected: reserved, payload size, page count, kind. */
static void test_field_rules(void **state)
{
    (void)state;
    pager_superblock sb = sample();
    pager_superblock out;
    uint8_t *page = encoded(&sb, 0);
    common_store_u32le(page + 76, 1); /* reserved */
    pager_page_seal(page, 0, 55);
    assert_int_equal(pager_superblock_decode("f", page, 0, &out), ALEXDB_CORRUPT);
    free(page);
    page = encoded(&sb, 0);
    common_store_u32le(page + 72, PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX + 1);
    pager_page_seal(page, 0, 55);
    assert_int_equal(pager_superblock_decode("f", page, 0, &out), ALEXDB_CORRUPT);
    free(page);
    sb.page_count = 1;
    page = encoded(&sb, 0);
    assert_int_equal(pager_superblock_decode("f", page, 0, &out), ALEXDB_CORRUPT);
    free(page);
    sb.page_count = PAGER_PAGE_COUNT_MAX + 1; /* past the page map's reach (FORMAT.md 2) */
    page = encoded(&sb, 0);
    assert_int_equal(pager_superblock_decode("f", page, 0, &out), ALEXDB_CORRUPT);
    free(page);
    sb.page_count = PAGER_PAGE_COUNT_MAX;
    page = encoded(&sb, 0);
    assert_int_equal(pager_superblock_decode("f", page, 0, &out), ALEXDB_OK);
    free(page);
    sb = sample();
    page = encoded(&sb, 0);
    page[PAGER_HDR_KIND] = PAGER_KIND_LEAF;
    pager_page_seal(page, 0, 55);
    assert_int_equal(pager_superblock_decode("f", page, 0, &out), ALEXDB_CORRUPT);
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_wrong_slot),
        cmocka_unit_test(test_field_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
