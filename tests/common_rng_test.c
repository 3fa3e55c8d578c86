/* common_rng_test.c: the seeded PRNG and clock (common/rng.c), and common.h's LE codecs
 * and bit count. */
#include "testutil.h"

/* The same seed gives the same sequence; another seed another one. */
static void test_deterministic(void **state)
{
    (void)state;
    common_rng a, b, c;
    common_rng_seed(&a, 42);
    common_rng_seed(&b, 42);
    common_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = common_rng_next(&a);
        assert_int_equal(x, common_rng_next(&b));
        differ |= x != common_rng_next(&c);
    }
    assert_true(differ);
}

/* below(n) stays in range and hits every value of a small range about evenly. */
static void test_below_uniform(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    uint32_t counts[10] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t x = common_rng_below(&rng, 10);
        assert_true(x < 10);
        counts[x]++;
    }
    for (int i = 0; i < 10; i++) assert_true(counts[i] > 9000 && counts[i] < 11000);
    assert_int_equal(common_rng_below(&rng, 1), 0);
}

/* Little-endian codecs round trip and put the low byte first. */
static void test_le_codecs(void **state)
{
    (void)state;
    uint8_t b[8];
    common_store_u64le(b, 0x0102030405060708ULL);
    assert_int_equal(b[0], 0x08);
    assert_int_equal(b[7], 0x01);
    assert_int_equal(common_load_u64le(b), 0x0102030405060708ULL);
    common_store_u32le(b, 0xA1B2C3D4u);
    assert_int_equal(b[0], 0xD4);
    assert_int_equal(common_load_u32le(b), 0xA1B2C3D4u);
    common_store_u16le(b, 0xBEEF);
    assert_int_equal(b[0], 0xEF);
    assert_int_equal(common_load_u16le(b), 0xBEEF);
}

/* The bit count agrees with a bit-by-bit count on edge words and seeded random words. */
static void test_popcount(void **state)
{
    (void)state;
    assert_int_equal(common_popcount64(0), 0);
    assert_int_equal(common_popcount64(~0ULL), 64);
    assert_int_equal(common_popcount64(1ULL << 63), 1);
    assert_int_equal(common_popcount64(0x5555555555555555ULL), 32);
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    for (int i = 0; i < 100000; i++) {
        uint64_t x = common_rng_next(&rng);
        if (i & 1) x &= common_rng_next(&rng) & common_rng_next(&rng); /* sparse words too */
        uint32_t naive = 0;
        for (uint64_t y = x; y != 0; y >>= 1) naive += (uint32_t)(y & 1u);
        assert_int_equal(common_popcount64(x), naive);
    }
}

/* The monotonic clock never goes backwards. */
static void test_clock_monotonic(void **state)
{
    (void)state;
    uint64_t prev = common_now_ns();
    for (int i = 0; i < 1000; i++) {
        uint64_t now = common_now_ns();
        assert_true(now >= prev);
        prev = now;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_below_uniform),
        cmocka_unit_test(test_le_codecs),
        cmocka_unit_test(test_popcount),
        cmocka_unit_test(test_clock_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
