/* common_checksum_test.c: the page and record checksum (common/checksum.c). */
#include "testutil.h"

#include <xxhash.h>

/* It is XXH3-64 with seed 0, as docs/FORMAT.md says, including for empty input. */
static void test_is_xxh3(void **state)
{
    (void)state;
    const char text[] = "alexdb";
    assert_int_equal(common_checksum(text, 6), XXH3_64bits(text, 6));
    assert_int_equal(common_checksum(NULL, 0), XXH3_64bits(NULL, 0));
    /* A known answer pins the algorithm independently of the library we link. */
    assert_int_equal(common_checksum("", 0), 0x2D06800538D394C2ULL);
}

/* Any single-bit change changes the checksum. */
static void test_bit_sensitivity(void **state)
{
    (void)state;
    uint8_t buf[256];
    for (size_t i = 0; i < sizeof(buf); i++) buf[i] = (uint8_t)i;
    uint64_t base = common_checksum(buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] ^= 0x10;
        assert_true(common_checksum(buf, sizeof(buf)) != base);
        buf[i] ^= 0x10;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_xxh3),
        cmocka_unit_test(test_bit_sensitivity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
