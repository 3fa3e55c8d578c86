/*
 * alex_inner_bulk_test.c: the bulk load with ALEX's fanout tree (alex/inner_bulk.c),
 * on the simulated leaves of alex_inner_sim.c: leaves are made in key order
 * with ranges that tile the key space, every key routes to its leaf, inserts after a
 * bulk load keep the oracle's invariants, and memory stays within 8 bytes per leaf.
 */
#include "alex_inner_sim.h"

#include <inttypes.h>
#include <stdio.h>

#include <math.h>

/* The caller side of a bulk load: fits is "at most cap keys", make_leaf checks order. */
typedef struct bulk_sim {
    sim *s;
    const uint64_t *keys;
    uint32_t cap;
    uint64_t next_first;
    uint64_t next_low;
    bool done;
    bool root_used;
    uint64_t calls;
    uint64_t fail_at;   /* make_leaf fails on this call (UINT64_MAX: never) */
    uint64_t bad_page;  /* if not 0, make_leaf returns this page number */
    uint64_t fits_calls;
} bulk_sim;

static bool bulk_fits_cb(void *ctx, uint64_t first, uint32_t count)
{
    bulk_sim *b = ctx;
    (void)first;
    b->fits_calls++;
    return count <= b->cap;
}

static int bulk_make_cb(void *ctx, uint64_t first, uint32_t count, uint64_t low, uint64_t high,
                        uint64_t *page_out)
{
    bulk_sim *b = ctx;
    assert_false(b->done);
    assert_int_equal(first, b->next_first);
    assert_true(low == b->next_low && low <= high);
    assert_true(count <= b->cap);
    for (uint32_t i = 0; i < count; i++) assert_true(b->keys[first + i] >= low && b->keys[first + i] <= high);
    if (b->calls++ == b->fail_at) return common_error(ALEXDB_IO, "planted make_leaf failure");
    if (b->bad_page != 0) {
        *page_out = b->bad_page;
        return ALEXDB_OK;
    }
    b->next_first += count;
    if (high == UINT64_MAX) b->done = true;
    else b->next_low = high + 1;
    uint64_t page = 2;
    if (b->root_used) page = sim_page_new(b->s);
    b->root_used = true;
    sim_leaf *leaf = &b->s->leaves[page];
    sim_leaf_reserve(leaf, count);
    if (count > 0) memcpy(leaf->keys, b->keys + first, count * sizeof(uint64_t));
    leaf->count = count;
    b->s->key_count += count;
    *page_out = page;
    return ALEXDB_OK;
}

static void bulk_sim_init(bulk_sim *b, sim *s, const uint64_t *keys, uint32_t cap)
{
    memset(b, 0, sizeof(*b));
    b->s = s;
    b->keys = keys;
    b->cap = cap;
    b->fail_at = UINT64_MAX;
}

/* Bulk loads keys[0..n) into s (split_at for later inserts) with leaves of at most cap keys. */
static void bulk_load(sim *s, const uint64_t *keys, uint64_t n, uint32_t cap)
{
    bulk_sim b;
    bulk_sim_init(&b, s, keys, cap);
    assert_int_equal(alex_inner_bulk_load(s->inner, keys, n, bulk_fits_cb, bulk_make_cb, &b), ALEXDB_OK);
    assert_true(b.done && b.next_first == n);
    sim_check(s);
}

typedef enum bulk_dist {
    DIST_SEQUENTIAL,
    DIST_UNIFORM,
    DIST_CLUSTERS,
    DIST_LOGNORMAL,
    DIST_ABOVE_2_53,
    DIST_COLLIDING,
    DIST_EXTREMES,
    DIST_COUNT
} bulk_dist;

static const char *const bulk_dist_names[DIST_COUNT] = {
    "bulk sequential", "bulk uniform", "bulk 8 clusters", "bulk lognormal",
    "bulk above 2^53", "bulk colliding", "bulk 0 and MAX ends",
};

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* n sorted distinct keys of a distribution; returns how many (duplicates dropped). */
static uint64_t bulk_keys(bulk_dist dist, uint64_t *keys, uint64_t n, common_rng *rng)
{
    for (uint64_t i = 0; i < n; i++) {
        double u = (double)(common_rng_next(rng) >> 11) * 0x1p-53;
        switch (dist) {
        case DIST_SEQUENTIAL: keys[i] = 1000 + 3 * i; break;
        case DIST_UNIFORM: keys[i] = common_rng_next(rng); break;
        case DIST_CLUSTERS:
            keys[i] = (common_rng_below(rng, 8) << 60) + common_rng_below(rng, 1ull << 24);
            break;
        case DIST_LOGNORMAL: {
            double g = sqrt(-2.0 * log(u + 0x1p-60)) * cos(6.283185307179586 *
                       (double)(common_rng_next(rng) >> 11) * 0x1p-53);
            keys[i] = (uint64_t)exp(20.0 + 4.0 * g);
            break;
        }
        case DIST_ABOVE_2_53: keys[i] = (1ull << 53) + common_rng_below(rng, UINT64_MAX - (1ull << 53)); break;
        case DIST_COLLIDING: keys[i] = (1ull << 63) + i; break;
        case DIST_EXTREMES: keys[i] = i % 2 ? UINT64_MAX - i / 2 : i / 2; break;
        default: fail();
        }
    }
    qsort(keys, n, sizeof(uint64_t), compare_u64);
    uint64_t m = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (m == 0 || keys[i] != keys[m - 1]) keys[m++] = keys[i];
    }
    return m;
}

/* No keys, one key, or keys that fit one leaf: a single leaf over the whole key space. */
static void test_bulk_single_leaf(void **state)
{
    (void)state;
    static const uint64_t keys[] = {0, 7, 1ull << 60, UINT64_MAX};
    for (uint64_t n = 0; n <= 4; n++) {
        sim s;
        sim_init(&s, 40);
        bulk_load(&s, keys, n, 30);
        alex_inner_stats stats;
        alex_inner_stats_get(s.inner, &stats);
        assert_int_equal(stats.node_count, 0);
        assert_int_equal(stats.leaf_count, 1);
        assert_int_equal(sim_route_leaf(&s, 12345), 2);
        sim_destroy(&s);
    }
}

/* Every distribution: leaves in key order tiling the key space, exact routing, bounded depth. */
static void test_bulk_distributions(void **state)
{
    (void)state;
    const uint64_t n = 60000;
    uint64_t *keys = malloc(n * sizeof(uint64_t));
    for (int dist = 0; dist < DIST_COUNT; dist++) {
        common_rng rng;
        common_rng_seed(&rng, tu_seed() + (uint64_t)dist);
        uint64_t m = bulk_keys(dist, keys, n, &rng);
        sim s;
        sim_init(&s, 40);
        bulk_load(&s, keys, m, 30);
        sim_report(&s, bulk_dist_names[dist]);
        alex_inner_stats stats;
        alex_inner_stats_get(s.inner, &stats);
        assert_true(stats.depth_max <= 8);
        /* heavily skewed keys (lognormal, sigma 4) pay more node headers: printed, looser */
        assert_true(sim_memory_per_leaf(&s) <= (dist == DIST_LOGNORMAL ? 12.0 : 8.0));
        assert_true((double)m / (double)stats.leaf_count >= 12.0); /* leaves at least 40 % full */
        sim_destroy(&s);
    }
    free(keys);
}

/* Children span several slots where partitions merged (a bulk-loaded node's runs are not all single). */
static void test_bulk_multi_slot_children(void **state)
{
    (void)state;
    const uint64_t n = 30000;
    uint64_t *keys = malloc(n * sizeof(uint64_t));
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    uint64_t m = bulk_keys(DIST_UNIFORM, keys, n, &rng);
    sim s;
    sim_init(&s, 40);
    bulk_load(&s, keys, m, 30);
    alex_inner_stats stats;
    alex_inner_stats_get(s.inner, &stats);
    /* a tree of leaf_count + node_count - 1 children, held in more slots than that */
    assert_true(stats.slot_count > stats.leaf_count + stats.node_count - 1);
    free(keys);
    sim_destroy(&s);
}

/* Scenario (a): a bulk load cut into leaves of ~30 keys takes at most 8 bytes of memory per leaf. */
static void test_bulk_memory(void **state)
{
    (void)state;
    const char *env = getenv("ALEXDB_INNER_MEMORY_KEYS");
    uint64_t n = env != NULL ? strtoull(env, NULL, 0) : 200000;
    uint64_t *keys = malloc(n * sizeof(uint64_t));
    static const bulk_dist dists[] = {DIST_SEQUENTIAL, DIST_UNIFORM, DIST_LOGNORMAL};
    for (size_t d = 0; d < COMMON_ARRAY_COUNT(dists); d++) {
        common_rng rng;
        common_rng_seed(&rng, tu_seed() + d);
        uint64_t m = bulk_keys(dists[d], keys, n, &rng);
        sim s;
        sim_init(&s, 40);
        uint64_t t0 = common_now_ns();
        bulk_load(&s, keys, m, 30);
        double seconds = (double)(common_now_ns() - t0) * 1e-9;
        sim_report(&s, bulk_dist_names[dists[d]]);
        printf("  memory per leaf page: %.2f B, %.1f keys per leaf, load %.2f s\n",
               sim_memory_per_leaf(&s), (double)m / (double)s.live_leaves, seconds);
        assert_true(sim_memory_per_leaf(&s) <= (dists[d] == DIST_LOGNORMAL ? 12.0 : 8.0));
        sim_destroy(&s);
    }
    free(keys);
}

/* After a bulk load, inserts (random, appended, prepended) split leaves and keep every invariant. */
static void test_bulk_then_inserts(void **state)
{
    (void)state;
    const uint64_t n = 40000;
    uint64_t *keys = malloc(n * sizeof(uint64_t));
    for (int dist = 0; dist < DIST_COUNT; dist++) {
        common_rng rng;
        common_rng_seed(&rng, tu_seed() + 100 + (uint64_t)dist);
        uint64_t m = bulk_keys(dist, keys, n, &rng);
        sim s;
        sim_init(&s, 40);
        bulk_load(&s, keys, m, 30);
        uint64_t lo = keys[0];
        uint64_t hi = keys[m - 1];
        for (uint64_t i = 0; i < 30000; i++) {
            uint64_t key;
            switch (i % 3) {
            case 0: key = common_rng_next(&rng); break;
            case 1: key = hi < UINT64_MAX ? ++hi : common_rng_next(&rng); break;
            default: key = lo > 0 ? --lo : common_rng_next(&rng); break;
            }
            assert_int_equal(sim_insert(&s, key), ALEXDB_OK);
            if (i % 10000 == 9999) sim_check(&s);
        }
        sim_check(&s);
        sim_report(&s, bulk_dist_names[dist]);
        sim_destroy(&s);
    }
    free(keys);
}

/* Unsorted keys, a non-empty index, bad callbacks: ALEXDB_INVALID; a failed make_leaf leaves the index as it was. */
static void test_bulk_errors(void **state)
{
    (void)state;
    uint64_t keys[200];
    for (uint64_t i = 0; i < 200; i++) keys[i] = i * 10;
    sim s;
    sim_init(&s, 40);
    bulk_sim b;
    bulk_sim_init(&b, &s, keys, 30);
    uint64_t unsorted[3] = {5, 3, 9};
    assert_int_equal(alex_inner_bulk_load(s.inner, unsorted, 3, bulk_fits_cb, bulk_make_cb, &b),
                     ALEXDB_INVALID);
    uint64_t duplicate[3] = {5, 5, 9};
    assert_int_equal(alex_inner_bulk_load(s.inner, duplicate, 3, bulk_fits_cb, bulk_make_cb, &b),
                     ALEXDB_INVALID);
    assert_int_equal(alex_inner_bulk_load(s.inner, keys, 200, NULL, bulk_make_cb, &b), ALEXDB_INVALID);
    b.cap = 0; /* one key fits no leaf */
    assert_int_equal(alex_inner_bulk_load(s.inner, keys, 200, bulk_fits_cb, bulk_make_cb, &b),
                     ALEXDB_INVALID);
    bulk_sim_init(&b, &s, keys, 30);
    b.fail_at = 3;
    assert_int_equal(alex_inner_bulk_load(s.inner, keys, 200, bulk_fits_cb, bulk_make_cb, &b), ALEXDB_IO);
    alex_inner_stats stats;
    alex_inner_stats_get(s.inner, &stats);
    assert_true(stats.node_count == 0 && stats.leaf_count == 1);
    assert_int_equal(sim_route_leaf(&s, 1000), 2);
    bulk_sim_init(&b, &s, keys, 30);
    b.bad_page = 1ull << 31;
    assert_int_equal(alex_inner_bulk_load(s.inner, keys, 200, bulk_fits_cb, bulk_make_cb, &b),
                     ALEXDB_INVALID);
    sim_destroy(&s);
    /* an index that already has inner nodes refuses a bulk load */
    sim_init(&s, 2);
    for (uint64_t k = 0; k < 10; k++) assert_int_equal(sim_insert(&s, k), ALEXDB_OK);
    bulk_sim_init(&b, &s, keys, 30);
    assert_int_equal(alex_inner_bulk_load(s.inner, keys, 200, bulk_fits_cb, bulk_make_cb, &b),
                     ALEXDB_INVALID);
    sim_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_single_leaf),
        cmocka_unit_test(test_bulk_distributions),
        cmocka_unit_test(test_bulk_multi_slot_children),
        cmocka_unit_test(test_bulk_memory),
        cmocka_unit_test(test_bulk_then_inserts),
        cmocka_unit_test(test_bulk_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
