/* alex_model_test.c: the linear models (alex/model.c): predict, fit, through, first_key_at, log2. */
#include "testutil.h"

#include "alex_int.h"

#include <math.h>
#include <stdio.h>

static int u64_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A key from a mix of ranges: small, around 2^53, above 2^60 and next to 2^64. */
static uint64_t mixed_key(common_rng *rng)
{
    switch (common_rng_below(rng, 5)) {
    case 0: return common_rng_below(rng, 1000);
    case 1: return (1ull << 53) - 500 + common_rng_below(rng, 1000);
    case 2: return (1ull << 60) + common_rng_below(rng, 1u << 20);
    case 3: return UINT64_MAX - common_rng_below(rng, 4096);
    default: return common_rng_next(rng);
    }
}

/* A model as a leaf or an inner node could hold one: fitted, steep, flat or shifted. */
static void random_model(common_rng *rng, alex_model *model, uint32_t slot_count)
{
    uint64_t keys[64];
    for (int i = 0; i < 64; i++) keys[i] = mixed_key(rng);
    qsort(keys, 64, sizeof(keys[0]), u64_compare);
    alex_model_fit(model, keys, 64, slot_count);
    switch (common_rng_below(rng, 4)) {
    case 0: model->slope *= 1e6; break;
    case 1:
        model->slope = 0.0;
        model->intercept = (double)common_rng_below(rng, 2 * slot_count) - slot_count / 2.0;
        break;
    case 2: model->intercept -= 1e20; break;
    default: break;
    }
    if (!isfinite(model->slope) || !isfinite(model->intercept)) {
        model->slope = 1e-3;
        model->intercept = 0.0;
    }
}

/* Predictions stay in [0, slot_count) and never decrease as keys grow, at every magnitude. */
static void test_predict_clamps_and_is_monotone(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    uint64_t keys[512];
    for (int round = 0; round < 200; round++) {
        uint32_t slot_count = 1 + (uint32_t)common_rng_below(&rng, 400);
        alex_model model;
        random_model(&rng, &model, slot_count);
        for (int i = 0; i < 512; i++) keys[i] = mixed_key(&rng);
        keys[0] = 0;
        keys[1] = UINT64_MAX;
        qsort(keys, 512, sizeof(keys[0]), u64_compare);
        uint32_t previous = 0;
        for (int i = 0; i < 512; i++) {
            uint32_t p = alex_model_predict(&model, keys[i], slot_count);
            assert_true(p < slot_count);
            assert_true(p >= previous);
            previous = p;
        }
    }
}

/* Out-of-range predictions clamp to the first and last slot exactly. */
static void test_predict_clamps_edges(void **state)
{
    (void)state;
    alex_model below = { .slope = 0.0, .intercept = -5.0 };
    alex_model above = { .slope = 1.0, .intercept = 0.0 };
    assert_int_equal(alex_model_predict(&below, 123, 10), 0);
    assert_int_equal(alex_model_predict(&above, UINT64_MAX, 10), 9);
    assert_int_equal(alex_model_predict(&above, 7, 10), 7);
    assert_int_equal(alex_model_predict(&above, 7, 1), 0);
}

/* Fitted to evenly spaced keys (also near 2^64), key i is predicted within 2 of i * N / count. */
static void test_fit_uniform_predicts_close(void **state)
{
    (void)state;
    const uint64_t bases[] = { 0, 1ull << 53, 1ull << 60, UINT64_MAX - 300ull * 1000003ull };
    uint64_t keys[300];
    for (size_t b = 0; b < COMMON_ARRAY_COUNT(bases); b++) {
        for (uint32_t count = 2; count <= 300; count += 37) {
            for (uint32_t i = 0; i < count; i++) keys[i] = bases[b] + (uint64_t)i * 1000003ull;
            double slot_count = ceil(count / 0.7);
            alex_model model;
            alex_model_fit(&model, keys, count, slot_count);
            for (uint32_t i = 0; i < count; i++) {
                double want = (double)i * slot_count / count;
                double got = alex_model_predict(&model, keys[i], (uint32_t)slot_count);
                assert_true(fabs(got - want) <= 2.0);
            }
        }
    }
}

/* A fit over one key, or equal keys, is a finite flat model in the middle. */
static void test_fit_degenerate(void **state)
{
    (void)state;
    uint64_t one = 42;
    alex_model model;
    alex_model_fit(&model, &one, 1, 10.0);
    assert_true(model.slope == 0.0 && isfinite(model.intercept));
    assert_int_equal(alex_model_predict(&model, 42, 10), 5);
    alex_model_fit(&model, NULL, 0, 1.0);
    assert_int_equal(alex_model_predict(&model, 42, 1), 0);
}

/* through() puts first_key at slot 0 and split_key at slot `at`. */
static void test_through(void **state)
{
    (void)state;
    alex_model model;
    alex_model_through(&model, 1000, 3000, 8.0);
    assert_int_equal(alex_model_predict(&model, 1000, 16), 0);
    assert_int_equal(alex_model_predict(&model, 3000, 16), 8);
    assert_int_equal(alex_model_predict(&model, 2999, 16), 7);
}

/* first_key_at is exact: its key predicts >= slot and the key before it predicts below. */
static void test_first_key_at_agrees_with_predict(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 1);
    for (int round = 0; round < 3000; round++) {
        uint32_t slot_count = 1 + (uint32_t)common_rng_below(&rng, 400);
        alex_model model;
        random_model(&rng, &model, slot_count);
        uint64_t a = mixed_key(&rng);
        uint64_t b = mixed_key(&rng);
        uint64_t low = COMMON_MIN(a, b);
        uint64_t high = COMMON_MAX(a, b);
        uint32_t slot = (uint32_t)common_rng_below(&rng, slot_count + 1u);
        bool found;
        uint64_t key = alex_model_first_key_at(&model, slot_count, slot, low, high, &found);
        if (!found) {
            assert_true(alex_model_predict(&model, high, slot_count) < slot);
            continue;
        }
        assert_true(key >= low && key <= high);
        assert_true(alex_model_predict(&model, key, slot_count) >= slot);
        if (key > low) assert_true(alex_model_predict(&model, key - 1, slot_count) < slot);
    }
}

/* A uniform double in [0, 1). */
static double unit_draw(common_rng *rng)
{
    return (double)(common_rng_next(rng) >> 11) / 9007199254740992.0;
}

/* The plain bisection over [low, high] that first_key_at must agree with bit for bit. */
static uint64_t first_key_reference(const alex_model *model, uint32_t slot_count, uint32_t slot,
                                    uint64_t low, uint64_t high)
{
    uint64_t lo = low;
    uint64_t hi = high;
    for (int step = 0; step < 65 && lo < hi; step++) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (alex_model_predict(model, mid, slot_count) >= slot) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/*
 * The inverted-model guess and its galloping correction give the bisection's answer
 * for every slot of routing-like models: over all of uint64_t (keys far above 2^53,
 * where doubles are thousands of keys apart), around 2^53, near 0, and on random ones.
 */
static void test_first_key_at_matches_bisection(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 2);
    for (int round = 0; round < 400; round++) {
        uint32_t slot_count = 1u << (1 + common_rng_below(&rng, 12));
        alex_model model;
        uint64_t low = 0;
        uint64_t high = UINT64_MAX;
        switch (round % 4) {
        case 0: /* a root over every key */
            model.slope = slot_count / 18446744073709551616.0 * (0.5 + unit_draw(&rng));
            model.intercept = unit_draw(&rng) - 0.5;
            break;
        case 1: /* a node whose keys straddle 2^53 */
            low = (1ull << 53) - common_rng_below(&rng, 1u << 20);
            high = low + (1u << 21);
            model.slope = slot_count / (double)(1u << 21);
            model.intercept = -model.slope * (double)low + unit_draw(&rng);
            break;
        case 2: /* a narrow node near 0 */
            high = 1 + common_rng_below(&rng, 100000);
            model.slope = slot_count / (double)high * (0.5 + unit_draw(&rng));
            model.intercept = unit_draw(&rng) * 3.0 - 1.0;
            break;
        default:
            random_model(&rng, &model, slot_count);
            low = mixed_key(&rng);
            high = mixed_key(&rng);
            if (high < low) {
                uint64_t swap = low;
                low = high;
                high = swap;
            }
            break;
        }
        for (uint32_t slot = 0; slot <= slot_count; slot += 1u + slot_count / 64u) {
            bool found;
            uint64_t key = alex_model_first_key_at(&model, slot_count, slot, low, high, &found);
            if (!found) {
                assert_true(alex_model_predict(&model, high, slot_count) < slot);
                continue;
            }
            assert_true(key == first_key_reference(&model, slot_count, slot, low, high));
        }
    }
}

/*
 * The deterministic log2: exact at powers of two (log2(1) is +0.0, which the leaf build's
 * cost sums rely on), within 1e-9 of libm's elsewhere, increasing, and the same on both
 * sides of its table's end (errors up to the slot maximum come from the table).
 */
static void test_log2(void **state)
{
    (void)state;
    assert_true(alex_model_log2_u32(1) == 0.0 && !signbit(alex_model_log2_u32(1)));
    for (uint32_t k = 0; k < 32; k++) assert_true(alex_model_log2_u32(1u << k) == (double)k);
    double previous = -1.0;
    for (uint32_t x = 1; x < 5000; x++) {
        double y = alex_model_log2_u32(x);
        assert_true(fabs(y - log2((double)x)) < 1e-9);
        assert_true(y > previous);
        previous = y;
    }
    uint32_t big[] = {ALEX_LEAF_SLOT_COUNT_MAX, ALEX_LEAF_SLOT_COUNT_MAX + 1, 1000003, UINT32_MAX};
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        assert_true(fabs(alex_model_log2_u32(big[i]) - log2((double)big[i])) < 1e-9);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predict_clamps_and_is_monotone),
        cmocka_unit_test(test_predict_clamps_edges),
        cmocka_unit_test(test_fit_uniform_predicts_close),
        cmocka_unit_test(test_fit_degenerate),
        cmocka_unit_test(test_through),
        cmocka_unit_test(test_first_key_at_agrees_with_predict),
        cmocka_unit_test(test_first_key_at_matches_bisection),
        cmocka_unit_test(test_log2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
