/* pager_page_test.c: the self-checking page header (pager/page.c). */
#include "testutil.h"

#include <string.h>

static uint8_t *sealed_page(uint64_t page_no)
{
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    pager_page_init(page, PAGER_KIND_RAW);
    tu_fill_body(page, page_no, 7);
    pager_page_seal(page, page_no, 42);
    return page;
}

/* A sealed page passes the check and keeps its kind, LSN and body. */
static void test_seal_then_check(void **state)
{
    (void)state;
    uint8_t *page = sealed_page(9);
    assert_int_equal(pager_page_check("f", page, 9), ALEXDB_OK);
    assert_int_equal(pager_page_kind(page), PAGER_KIND_RAW);
    assert_int_equal(pager_page_lsn(page), 42);
    assert_true(tu_body_matches(page, 9, 7));
    free(page);
}

/* Flipping any single bit, header or body, is caught as corruption. */
static void test_every_bit_flip_detected(void **state)
{
    (void)state;
    uint8_t *page = sealed_page(3);
    for (size_t byte = 0; byte < PAGER_PAGE_SIZE; byte += 37) {
        for (int bit = 0; bit < 8; bit += 3) {
            page[byte] ^= (uint8_t)(1u << bit);
            assert_int_equal(pager_page_check("f", page, 3), ALEXDB_CORRUPT);
            page[byte] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(pager_page_check("f", page, 3), ALEXDB_OK);
    free(page);
}

/* A valid page found at another page number is corruption, and the message says where. */
static void test_wrong_place_detected(void **state)
{
    (void)state;
    uint8_t *page = sealed_page(5);
    assert_int_equal(pager_page_check("/db/file", page, 6), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "/db/file"));
    assert_non_null(strstr(alexdb_errmsg(), "offset 24576"));
    assert_non_null(strstr(alexdb_errmsg(), "page 5 found where page 6 belongs"));
    free(page);
}

/* A page of a newer format version is ALEXDB_VERSION, not corruption. */
static void test_future_version(void **state)
{
    (void)state;
    uint8_t *page = sealed_page(4);
    page[PAGER_HDR_VERSION] = PAGER_FORMAT_VERSION + 1;
    pager_page_seal(page, 4, 0); /* re-seal so only the version differs */
    assert_int_equal(pager_page_check("f", page, 4), ALEXDB_VERSION);
    free(page);
}

/* An all-zero page (allocated, never written) never passes. */
static void test_zero_page_invalid(void **state)
{
    (void)state;
    uint8_t *page = tu_aligned(PAGER_PAGE_SIZE);
    assert_int_equal(pager_page_check("f", page, 2), ALEXDB_CORRUPT);
    free(page);
}

/* An unknown kind with a correct checksum is still rejected. */
static void test_unknown_kind(void **state)
{
    (void)state;
    uint8_t *page = sealed_page(8);
    page[PAGER_HDR_KIND] = PAGER_KIND_COUNT_MAX;
    common_store_u64le(page, common_checksum(page + 8, PAGER_PAGE_SIZE - 8));
    assert_int_equal(pager_page_check("f", page, 8), ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "unknown kind"));
    assert_string_equal(pager_kind_name(PAGER_KIND_LEAF), "leaf");
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_then_check),
        cmocka_unit_test(test_every_bit_flip_detected),
        cmocka_unit_test(test_wrong_place_detected),
        cmocka_unit_test(test_future_version),
        cmocka_unit_test(test_zero_page_invalid),
        cmocka_unit_test(test_unknown_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
