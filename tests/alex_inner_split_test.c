/*
 * alex_inner_split_test.c: splits and merges of the inner nodes (alex/inner_split.c),
 * driven by simulated leaves against an oracle.
 *
 * The simulated leaves and the oracle are in alex_inner_sim.c.
 */
#include "alex_inner_sim.h"

#include <inttypes.h>
#include <stdio.h>

/* Splitting the root leaf separates any two distinct keys, at the extremes and above 2^53. */
static void test_split_root_pairs(void **state)
{
    (void)state;
    static const uint64_t pairs[][2] = {
        {0, UINT64_MAX},        {0, 1},
        {UINT64_MAX - 1, UINT64_MAX}, {1ull << 53, (1ull << 53) + 1},
        {1ull << 63, (1ull << 63) + 1}, {(1ull << 63) - 1, 1ull << 63},
        {12345, 12346},
    };
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(pairs); i++) {
        sim s;
        sim_init(&s, 1);
        assert_int_equal(sim_insert(&s, pairs[i][0]), ALEXDB_OK);
        assert_int_equal(sim_insert(&s, pairs[i][1]), ALEXDB_OK);
        assert_int_equal(s.split_count, 1);
        sim_check(&s);
        sim_destroy(&s);
    }
}

/* Leaves of one key each over densely packed keys that collide as doubles: every split separates. */
static void test_split_colliding_dense(void **state)
{
    (void)state;
    static const uint64_t bases[] = {0, 1ull << 53, 1ull << 62, (1ull << 63) + 12345,
                                     UINT64_MAX - 3000};
    for (size_t b = 0; b < COMMON_ARRAY_COUNT(bases); b++) {
        sim s;
        sim_init(&s, 1); /* a split on every second key */
        common_rng rng;
        common_rng_seed(&rng, tu_seed() + b);
        for (uint64_t i = 0; i < 3000; i++) {
            uint64_t key = bases[b] + (i % 2 ? common_rng_below(&rng, 3000) : i);
            assert_int_equal(sim_insert(&s, key), ALEXDB_OK);
        }
        sim_check(&s);
        sim_report(&s, "dense, 1 key per leaf");
        sim_destroy(&s);
    }
}

/* Every key order keeps the oracle's invariants after each split, with bounded depth and memory. */
static void test_orders(void **state)
{
    (void)state;
    const uint64_t n = 40000;
    for (int order = 0; order < ORDER_COUNT; order++) {
        sim s;
        sim_init(&s, 40);
        common_rng rng;
        common_rng_seed(&rng, tu_seed() + (uint64_t)order);
        uint64_t geometric = 1ull << 20;
        for (uint64_t i = 0; i < n; i++) {
            assert_int_equal(sim_insert(&s, sim_key(order, i, n, &rng, &geometric)), ALEXDB_OK);
            if (i % 5000 == 4999) sim_check(&s);
        }
        sim_check(&s);
        sim_report(&s, sim_order_names[order]);
        alex_inner_stats stats;
        alex_inner_stats_get(s.inner, &stats);
        assert_true(stats.depth_max <= 8);
        assert_true(sim_memory_per_leaf(&s) < 64.0);
        sim_destroy(&s);
    }
}

/* Deleting most keys merges leaves and keeps the tiling; emptying the index collapses it to one leaf. */
static void test_merge_keeps_tiling(void **state)
{
    (void)state;
    for (int order = 0; order < ORDER_COUNT; order++) {
        sim s;
        sim_init(&s, 40);
        common_rng rng;
        common_rng_seed(&rng, (tu_seed() ^ 0x5eed) + (uint64_t)order);
        uint64_t n = 12000;
        uint64_t *keys = malloc(n * sizeof(uint64_t));
        uint64_t geometric = 1ull << 20;
        for (uint64_t i = 0; i < n; i++) {
            keys[i] = sim_key(order, i, n, &rng, &geometric);
            assert_int_equal(sim_insert(&s, keys[i]), ALEXDB_OK);
        }
        for (uint64_t i = n; i > 1; i--) { /* shuffle, then delete in that order */
            uint64_t j = common_rng_below(&rng, i);
            uint64_t t = keys[i - 1];
            keys[i - 1] = keys[j];
            keys[j] = t;
        }
        for (uint64_t i = 0; i < n; i++) {
            sim_delete(&s, keys[i], 10);
            if (i % 2000 == 1999) sim_check(&s);
        }
        sim_check(&s);
        assert_int_equal(s.key_count, 0);
        assert_true(s.merge_count > 0);
        sim_collapse(&s);
        sim_check(&s);
        alex_inner_stats stats;
        alex_inner_stats_get(s.inner, &stats);
        assert_int_equal(stats.leaf_count, 1);
        assert_int_equal(stats.node_count, 0);
        assert_int_equal(stats.depth_max, 0);
        free(keys);
        sim_destroy(&s);
    }
}

/* Random inserts and deletes interleaved (a churning workload) against the oracle. */
static void test_churn(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 24);
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 99);
    for (uint64_t i = 0; i < 60000; i++) {
        uint64_t key = common_rng_below(&rng, 20000) * 0x9E3779B97F4A7C15ull;
        if (common_rng_below(&rng, 3) == 0) sim_delete(&s, key, 6);
        else assert_int_equal(sim_insert(&s, key), ALEXDB_OK);
        if (i % 10000 == 9999) sim_check(&s);
    }
    sim_check(&s);
    sim_report(&s, "churn");
    sim_destroy(&s);
}

/* Scenario (b): random inserts into leaves that split past 40 keys stay within 8 bytes per leaf. */
static void test_memory_random_inserts(void **state)
{
    (void)state;
    const char *env = getenv("ALEXDB_INNER_MEMORY_KEYS");
    uint64_t n = env != NULL ? strtoull(env, NULL, 0) : 200000;
    sim s;
    sim_init(&s, 40);
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 7);
    double worst = 0.0;
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(sim_insert(&s, common_rng_next(&rng)), ALEXDB_OK);
        if (i > n / 10 && i % 1000 == 0) {
            double m = sim_memory_per_leaf(&s);
            if (m > worst) worst = m;
        }
    }
    sim_check(&s);
    sim_report(&s, "random inserts");
    printf("  memory per leaf page: %.2f B at the end, worst sampled %.2f B\n",
           sim_memory_per_leaf(&s), worst);
    assert_true(sim_memory_per_leaf(&s) <= 8.0);
    sim_destroy(&s);
}

/*
 * A crafted chain of ALEX_DEPTH_MAX nodes (each: 2 slots, base 1000 (i + 1), slope 0,
 * intercept 1, so keys >= base go to slot 1 exactly): the deepest leaf cannot split,
 * ALEXDB_FULL and nothing changes; a leaf one level up still splits downwards.
 */
static void test_split_full_at_depth_max(void **state)
{
    (void)state;
    sim_stream st;
    sim_stream_begin(&st, ALEX_REF_INNER);
    for (uint32_t i = 0; i < ALEX_DEPTH_MAX; i++) {
        alex_ref next = i + 1 < ALEX_DEPTH_MAX ? ALEX_REF_INNER | (i + 1) : 100;
        sim_run runs[2] = {{10 + i, 1}, {next, 1}};
        sim_stream_node(&st, 1, 0, 0.0, 1.0, 1000 * (i + 1ull), runs, 2);
    }
    sim_stream_end(&st);
    alex_inner *inner = NULL;
    assert_int_equal(alex_inner_decode("chain", 0, st.bytes, st.size, 1000, &inner), ALEXDB_OK);
    alex_route route;
    alex_inner_route(inner, 1000000, &route);
    assert_int_equal(route.depth, ALEX_DEPTH_MAX);
    assert_int_equal(route.leaf_page_no, 100);
    uint64_t keys[3] = {30000, 1000000, UINT64_MAX};
    uint64_t boundary = 0;
    assert_int_equal(alex_inner_split(inner, &route, keys, 3, 200, &boundary), ALEXDB_FULL);
    alex_inner_stats stats;
    alex_inner_stats_get(inner, &stats);
    assert_int_equal(stats.leaf_count, ALEX_DEPTH_MAX + 1);
    assert_int_equal(stats.node_count, ALEX_DEPTH_MAX);
    assert_int_equal(stats.depth_max, ALEX_DEPTH_MAX);
    /* The leaf of node 22's slot 0, [22000, 22999], is at depth 23: it splits downwards. */
    alex_inner_route(inner, 22500, &route);
    assert_int_equal(route.depth, ALEX_DEPTH_MAX - 1);
    uint64_t keys2[2] = {22000, 22999};
    assert_int_equal(alex_inner_split(inner, &route, keys2, 2, 201, &boundary), ALEXDB_OK);
    assert_true(boundary > 22000 && boundary <= 22999);
    alex_inner_route(inner, 22999, &route);
    assert_int_equal(route.depth, ALEX_DEPTH_MAX);
    assert_int_equal(route.leaf_page_no, 201);
    alex_inner_destroy(inner);
}

/* Bad arguments are refused with ALEXDB_INVALID; merging the root leaf finds no neighbour. */
static void test_bad_arguments(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 40);
    alex_route route;
    alex_inner_route(s.inner, 5, &route);
    uint64_t keys[2] = {1, 2};
    uint64_t boundary = 0;
    assert_int_equal(alex_inner_split(s.inner, &route, keys, 1, 3, &boundary), ALEXDB_INVALID);
    assert_int_equal(alex_inner_split(s.inner, &route, keys, 2, 0, &boundary), ALEXDB_INVALID);
    assert_int_equal(alex_inner_split(s.inner, &route, keys, 2, 1, &boundary), ALEXDB_INVALID);
    assert_int_equal(alex_inner_split(s.inner, &route, keys, 2, 1ull << 31, &boundary),
                     ALEXDB_INVALID);
    assert_int_equal(alex_inner_split(s.inner, &route, NULL, 2, 3, &boundary), ALEXDB_INVALID);
    uint64_t survivor = 0;
    assert_int_equal(alex_inner_merge(s.inner, &route, &survivor), ALEXDB_NOTFOUND);
    sim_destroy(&s);
}

/*
 * Root runs [node A][leaf 10][node B]: leaf 10 has no leaf neighbour (ALEXDB_NOTFOUND,
 * nothing changes); once A's leaves merge, A collapses into a leaf and 10 can merge.
 */
static void test_merge_without_leaf_neighbour(void **state)
{
    (void)state;
    sim_stream st;
    sim_stream_begin(&st, ALEX_REF_INNER);
    sim_run root[3] = {{ALEX_REF_INNER | 1, 1}, {10, 1}, {ALEX_REF_INNER | 2, 2}};
    sim_stream_node(&st, 2, 0, 0x1p-62, 0.0, 0, root, 3);
    sim_run a[2] = {{11, 1}, {12, 1}};
    sim_stream_node(&st, 1, 0, 0x1p-61, 0.0, 0, a, 2);
    sim_run b[2] = {{13, 1}, {14, 1}};
    sim_stream_node(&st, 1, 0, 0.0, 1.0, 3ull << 62, b, 2);
    sim_stream_end(&st);
    alex_inner *inner = NULL;
    assert_int_equal(alex_inner_decode("crafted", 0, st.bytes, st.size, 100, &inner), ALEXDB_OK);
    alex_route route;
    alex_inner_route(inner, 1ull << 62, &route);
    assert_int_equal(route.leaf_page_no, 10);
    uint64_t survivor = 0;
    assert_int_equal(alex_inner_merge(inner, &route, &survivor), ALEXDB_NOTFOUND);
    alex_inner_stats stats;
    alex_inner_stats_get(inner, &stats);
    assert_int_equal(stats.leaf_count, 5);
    alex_inner_route(inner, 5, &route); /* leaf 11 merges into 12; A collapses */
    assert_int_equal(alex_inner_merge(inner, &route, &survivor), ALEXDB_OK);
    assert_int_equal(survivor, 12);
    alex_inner_stats_get(inner, &stats);
    assert_int_equal(stats.node_count, 2);
    assert_int_equal(stats.leaf_count, 4);
    alex_inner_route(inner, 0, &route);
    assert_int_equal(route.leaf_page_no, 12);
    assert_int_equal(route.depth, 1);
    /* The boundaries are where the doubles cross 2^62 and 2^63, a little below. */
    uint64_t low = 1, high = 0;
    alex_inner_range(inner, &route, &low, &high);
    assert_true(low == 0 && high < (1ull << 62) && high > (1ull << 62) - 1024);
    alex_inner_route(inner, high + 1, &route);
    assert_int_equal(route.leaf_page_no, 10);
    assert_int_equal(alex_inner_merge(inner, &route, &survivor), ALEXDB_OK);
    assert_int_equal(survivor, 12);
    alex_inner_route(inner, 0, &route);
    alex_inner_range(inner, &route, &low, &high);
    assert_true(low == 0 && high < (1ull << 63) && high > (1ull << 63) - 2048);
    alex_inner_route(inner, high + 1, &route);
    assert_int_equal(route.leaf_page_no, 13);
    alex_inner_destroy(inner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_root_pairs),
        cmocka_unit_test(test_split_colliding_dense),
        cmocka_unit_test(test_orders),
        cmocka_unit_test(test_merge_keeps_tiling),
        cmocka_unit_test(test_churn),
        cmocka_unit_test(test_memory_random_inserts),
        cmocka_unit_test(test_split_full_at_depth_max),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_merge_without_leaf_neighbour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

