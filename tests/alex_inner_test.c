/*
 * alex_inner_test.c: routing, exact ranges, iteration and statistics of the inner
 * nodes (alex/inner.c), on hand-made nodes and on the simulated leaves of
 * alex_inner_sim.c.
 */
#include "alex_inner_sim.h"

#include <inttypes.h>
#include <stdio.h>

#include <math.h>

/* A fresh index is one leaf over every key; bad root pages are ALEXDB_INVALID. */
static void test_single_leaf(void **state)
{
    (void)state;
    alex_inner *inner = NULL;
    assert_int_equal(alex_inner_create(0, &inner), ALEXDB_INVALID);
    assert_int_equal(alex_inner_create(1, &inner), ALEXDB_INVALID);
    assert_int_equal(alex_inner_create(1ull << 31, &inner), ALEXDB_INVALID);
    assert_int_equal(alex_inner_create(2, NULL), ALEXDB_INVALID);
    assert_int_equal(alex_inner_create(ALEX_LEAF_PAGE_NO_MAX, &inner), ALEXDB_OK);
    alex_route route;
    alex_inner_route(inner, UINT64_MAX, &route);
    assert_true(route.depth == 0 && route.leaf_page_no == ALEX_LEAF_PAGE_NO_MAX);
    assert_true(route.leaf_position == 0.5);
    uint64_t low = 1, high = 0;
    alex_inner_range(inner, &route, &low, &high);
    assert_true(low == 0 && high == UINT64_MAX);
    alex_inner_stats stats;
    alex_inner_stats_get(inner, &stats);
    assert_true(stats.node_count == 0 && stats.leaf_count == 1 && stats.depth_max == 0);
    assert_true(stats.slot_count == 0 && stats.memory_size > 0);
    alex_inner_destroy(inner);
    alex_inner_destroy(NULL);
}

/* A 2-run node of 2^log2 slots with the given shape (runs are irrelevant to predictions). */
static alex_inner_node *shaped_node(alex_inner *inner, uint32_t log2, double slope, double intercept,
                                    uint64_t base, bool reversed)
{
    uint32_t index = 0;
    assert_int_equal(alex_inner_node_new(inner, log2, 2, &index), ALEXDB_OK);
    alex_inner_node *node = &inner->nodes[index];
    alex_inner_node_set_run(node, 0, 0, 10);
    alex_inner_node_set_run(node, 1, 1, 11);
    alex_inner_node_seal(node);
    node->model.slope = slope;
    node->model.intercept = intercept;
    node->key_base = base;
    node->flags = reversed ? ALEX_INNER_REVERSED : 0;
    return node;
}

/* first_key_at(slot) is the smallest key in [low, high] predicted at slot or beyond. */
static void check_first_key(const alex_inner_node *node, uint32_t slot, uint64_t low, uint64_t high)
{
    bool found = false;
    uint64_t key = alex_inner_node_first_key_at(node, slot, low, high, &found);
    if (!found) {
        assert_true(alex_inner_node_predict(node, high) < slot);
        return;
    }
    assert_true(key >= low && key <= high);
    assert_true(alex_inner_node_predict(node, key) >= slot);
    if (key > low) assert_true(alex_inner_node_predict(node, key - 1) < slot);
}

static uint64_t edge_key(common_rng *rng, uint64_t base)
{
    switch (common_rng_below(rng, 6)) {
    case 0: return common_rng_below(rng, 1000);
    case 1: return UINT64_MAX - common_rng_below(rng, 1000);
    case 2: return base + common_rng_below(rng, 1000);
    case 3: return base - common_rng_below(rng, 1000);
    default: return common_rng_next(rng);
    }
}

/* Plain and reversed nodes, extreme models and bases: boundaries are exact and predictions monotone. */
static void test_first_key_exact(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    alex_inner *inner = NULL;
    assert_int_equal(alex_inner_create(2, &inner), ALEXDB_OK);
    static const double slopes[] = {0.0, 0x1p-64, 0x1p-40, 1e-9, 0.05, 1.0, 3.0, 0x1p40};
    for (int round = 0; round < 3000; round++) {
        uint32_t log2 = 1 + (uint32_t)common_rng_below(&rng, 20);
        double slope = slopes[common_rng_below(&rng, COMMON_ARRAY_COUNT(slopes))];
        slope *= 0.5 + (double)common_rng_below(&rng, 1000) / 1000.0;
        double intercept = ((double)common_rng_below(&rng, 2001) - 1000.0) / 7.0;
        uint64_t base = common_rng_below(&rng, 4) == 0 ? (common_rng_below(&rng, 2) ? 0 : UINT64_MAX)
                                                       : common_rng_next(&rng);
        bool reversed = common_rng_below(&rng, 2);
        uint32_t index = 0;
        alex_inner_node *node = shaped_node(inner, log2, slope, intercept, base, reversed);
        index = (uint32_t)(node - inner->nodes);
        uint64_t a = edge_key(&rng, base);
        uint64_t b = edge_key(&rng, base);
        uint64_t low = a < b ? a : b;
        uint64_t high = a < b ? b : a;
        uint32_t slot_count = 1u << log2;
        for (int i = 0; i < 8; i++) {
            uint32_t slot = (uint32_t)common_rng_below(&rng, slot_count);
            check_first_key(node, slot, low, high);
            check_first_key(node, slot, 0, UINT64_MAX);
        }
        check_first_key(node, slot_count - 1, low, high);
        check_first_key(node, 1, low, high);
        for (int i = 0; i < 8; i++) {
            uint64_t x = edge_key(&rng, base);
            uint64_t y = edge_key(&rng, base);
            if (x > y) {
                uint64_t t = x;
                x = y;
                y = t;
            }
            assert_true(alex_inner_node_predict(node, x) <= alex_inner_node_predict(node, y));
        }
        alex_inner_node_free(inner, index);
    }
    alex_inner_destroy(inner);
}

/*
 * Every key of a small domain routes to the leaf whose reported range holds it
 * (exhaustive), at a place in that leaf between 0 and 1 that does not go down as the key
 * goes up (0.5, the far-run answer, aside).
 */
static void test_ranges_exhaustive_small(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 3);
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 5);
    for (int i = 0; i < 400; i++) assert_int_equal(sim_insert(&s, common_rng_below(&rng, 5000)), ALEXDB_OK);
    uint64_t leaf = 0;
    double position = 0.0; /* the last place in leaf other than 0.5 */
    for (uint64_t key = 0; key < 6000; key++) {
        alex_route route;
        alex_inner_route(s.inner, key, &route);
        uint64_t low = 0, high = 0;
        alex_inner_range(s.inner, &route, &low, &high);
        assert_true(low <= key && key <= high);
        assert_true(route.leaf_position >= 0.0 && route.leaf_position <= 1.0);
        if (route.leaf_page_no != leaf) {
            leaf = route.leaf_page_no;
            position = 0.0;
        }
        if (route.leaf_position != 0.5) {
            assert_true(route.leaf_position >= position);
            position = route.leaf_position;
        }
        if (low > 0) {
            alex_route before;
            alex_inner_route(s.inner, low - 1, &before);
            assert_true(before.leaf_page_no != route.leaf_page_no);
        }
        alex_route after;
        alex_inner_route(s.inner, high + 1, &after);
        assert_true(high == UINT64_MAX || after.leaf_page_no != route.leaf_page_no);
    }
    sim_check(&s);
    sim_destroy(&s);
}

typedef struct visit_ctx {
    uint64_t visits;
    uint64_t stop_at;
    uint64_t last_low;
} visit_ctx;

static int visit_count(void *ctx, uint64_t page, uint64_t low, uint64_t high)
{
    visit_ctx *v = ctx;
    (void)page;
    (void)high;
    assert_true(v->visits == 0 || low > v->last_low); /* key order */
    v->last_low = low;
    return ++v->visits == v->stop_at ? 42 : 0;
}

/* for_each_leaf visits in key order and returns the first nonzero answer, stopping there. */
static void test_for_each_leaf_stops(void **state)
{
    (void)state;
    sim s;
    sim_init(&s, 10);
    for (uint64_t k = 0; k < 2000; k++) assert_int_equal(sim_insert(&s, k * 7919), ALEXDB_OK);
    visit_ctx v = {0, 0, 0};
    assert_int_equal(alex_inner_for_each_leaf(s.inner, visit_count, &v), 0);
    assert_int_equal(v.visits, s.live_leaves);
    v = (visit_ctx){0, 5, 0};
    assert_int_equal(alex_inner_for_each_leaf(s.inner, visit_count, &v), 42);
    assert_int_equal(v.visits, 5);
    sim_destroy(&s);
}

typedef struct path_ctx {
    const alex_inner *inner;
    alex_inner_path path;
    uint64_t visits;
} path_ctx;

/* Each leaf for_each_leaf visits is the one the path walk reaches next, and routes agree. */
static int visit_path(void *ctx, uint64_t page, uint64_t low, uint64_t high)
{
    path_ctx *p = ctx;
    (void)high;
    if (p->visits++ == 0) {
        alex_route route;
        alex_inner_route(p->inner, low, &route);
        alex_inner_path_from_route(p->inner, &route, &p->path);
    } else {
        assert_true(alex_inner_path_next(p->inner, &p->path));
    }
    assert_int_equal(p->path.leaf_page_no, page);
    return 0;
}

/* The path walk visits every leaf in key order from the first, then says it is done. */
static void test_path_walks_every_leaf(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    sim s;
    sim_init(&s, 10);
    for (int i = 0; i < 3000; i++) assert_int_equal(sim_insert(&s, common_rng_next(&rng)), ALEXDB_OK);
    path_ctx p = {.inner = s.inner};
    assert_int_equal(alex_inner_for_each_leaf(s.inner, visit_path, &p), 0);
    assert_int_equal(p.visits, s.live_leaves);
    assert_false(alex_inner_path_next(s.inner, &p.path));
    sim_destroy(&s);
}

typedef struct depth_ctx {
    const alex_inner *inner;
    uint32_t deepest;
} depth_ctx;

static int visit_depth(void *ctx, uint64_t page, uint64_t low, uint64_t high)
{
    depth_ctx *d = ctx;
    (void)page;
    (void)high;
    alex_route route;
    alex_inner_route(d->inner, low, &route);
    if (route.depth > d->deepest) d->deepest = route.depth;
    return 0;
}

/* Statistics agree with the structure: leaves visited, deepest route, memory in the table's terms. */
static void test_stats(void **state)
{
    (void)state;
    for (int order = 0; order < ORDER_COUNT; order++) {
        sim s;
        sim_init(&s, 16);
        common_rng rng;
        common_rng_seed(&rng, tu_seed() + (uint64_t)order);
        uint64_t geometric = 1ull << 20;
        for (uint64_t i = 0; i < 8000; i++) {
            assert_int_equal(sim_insert(&s, sim_key(order, i, 8000, &rng, &geometric)), ALEXDB_OK);
        }
        alex_inner_stats stats;
        alex_inner_stats_get(s.inner, &stats);
        depth_ctx d = {s.inner, 0};
        assert_int_equal(alex_inner_for_each_leaf(s.inner, visit_depth, &d), 0);
        assert_int_equal(stats.depth_max, d.deepest);
        assert_int_equal(stats.leaf_count, s.live_leaves);
        assert_int_equal(stats.node_count, s.inner->node_count);
        assert_true(stats.memory_size >= s.inner->heap_size +
                                             (uint64_t)s.inner->node_capacity * sizeof(alex_inner_node));
        assert_true(stats.memory_size < s.inner->heap_size +
                                            (uint64_t)s.inner->node_capacity * sizeof(alex_inner_node) + 512);
        sim_destroy(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_leaf),
        cmocka_unit_test(test_first_key_exact),
        cmocka_unit_test(test_ranges_exhaustive_small),
        cmocka_unit_test(test_for_each_leaf_stops),
        cmocka_unit_test(test_path_walks_every_leaf),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
