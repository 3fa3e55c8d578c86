/*
 * alex_inner_split_test.c: splits and merges of the inner nodes (alex/inner_split.c),
 * driven by simulated leaves against an oracle.
 *
 * The first part is the simulated-leaf harness, shared with the other inner tests
 * (they include this file with ALEX_INNER_SIM_ONLY defined): each leaf is a sorted
 * array of keys held by page number; a leaf over split_at keys splits by calling
 * alex_inner_split with its keys and moving the keys >= the boundary to a new leaf.
 * sim_check is the oracle: the leaves' ranges tile [0, UINT64_MAX] in key order, each
 * range is exactly what routes to its leaf, and every key routes to the leaf holding it.
 */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>

#include "alex_int.h"

#define SIM_FN static __attribute__((unused))

typedef struct sim_leaf {
    uint64_t *keys;
    uint32_t count;
    uint32_t capacity;
    bool live;
} sim_leaf;

typedef struct sim {
    alex_inner *inner;
    sim_leaf *leaves; /* indexed by page number */
    uint64_t page_capacity;
    uint64_t *free_pages;
    uint64_t free_count;
    uint64_t next_page;
    uint32_t split_at;
    uint64_t key_count;
    uint64_t live_leaves;
    uint64_t split_count;
    uint64_t merge_count;
} sim;

SIM_FN void sim_init(sim *s, uint32_t split_at)
{
    memset(s, 0, sizeof(*s));
    s->split_at = split_at;
    s->next_page = 3;
    s->page_capacity = 1024;
    s->leaves = calloc(s->page_capacity, sizeof(sim_leaf));
    s->free_pages = calloc(s->page_capacity, sizeof(uint64_t));
    assert_non_null(s->leaves);
    assert_int_equal(alex_inner_create(2, &s->inner), ALEXDB_OK);
    s->leaves[2].live = true;
    s->live_leaves = 1;
}

SIM_FN void sim_destroy(sim *s)
{
    for (uint64_t i = 0; i < s->page_capacity; i++) free(s->leaves[i].keys);
    free(s->leaves);
    free(s->free_pages);
    alex_inner_destroy(s->inner);
}

SIM_FN uint64_t sim_page_new(sim *s)
{
    uint64_t page = s->free_count > 0 ? s->free_pages[--s->free_count] : s->next_page++;
    if (page >= s->page_capacity) {
        uint64_t capacity = s->page_capacity * 2;
        s->leaves = realloc(s->leaves, capacity * sizeof(sim_leaf));
        s->free_pages = realloc(s->free_pages, capacity * sizeof(uint64_t));
        assert_non_null(s->leaves);
        memset(s->leaves + s->page_capacity, 0, (capacity - s->page_capacity) * sizeof(sim_leaf));
        s->page_capacity = capacity;
    }
    assert_false(s->leaves[page].live);
    s->leaves[page].live = true;
    s->leaves[page].count = 0;
    s->live_leaves++;
    return page;
}

SIM_FN void sim_page_free(sim *s, uint64_t page)
{
    s->leaves[page].live = false;
    s->leaves[page].count = 0;
    s->free_pages[s->free_count++] = page;
    s->live_leaves--;
}

SIM_FN void sim_leaf_reserve(sim_leaf *leaf, uint32_t count)
{
    if (count <= leaf->capacity) return;
    uint32_t capacity = leaf->capacity == 0 ? 64 : leaf->capacity;
    while (capacity < count) capacity *= 2;
    leaf->keys = realloc(leaf->keys, capacity * sizeof(uint64_t));
    assert_non_null(leaf->keys);
    leaf->capacity = capacity;
}

/* The first index in leaf with key >= key. */
SIM_FN uint32_t sim_lower_bound(const sim_leaf *leaf, uint64_t key)
{
    uint32_t lo = 0;
    uint32_t hi = leaf->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (leaf->keys[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

SIM_FN uint64_t sim_route_leaf(const sim *s, uint64_t key)
{
    alex_route route;
    alex_inner_route(s->inner, key, &route);
    assert_true(route.depth <= ALEX_DEPTH_MAX);
    return route.leaf_page_no;
}

SIM_FN void sim_range_of(const sim *s, uint64_t key, uint64_t *low, uint64_t *high)
{
    alex_route route;
    alex_inner_route(s->inner, key, &route);
    alex_inner_range(s->inner, &route, low, high);
}

/* Splits the route's leaf; checks the boundary and both new ranges. */
SIM_FN int sim_split(sim *s, const alex_route *route)
{
    uint64_t low = 0, high = 0;
    alex_inner_range(s->inner, route, &low, &high);
    uint64_t page = sim_page_new(s);
    sim_leaf *leaf = &s->leaves[route->leaf_page_no];
    uint64_t boundary = 0;
    int rc = alex_inner_split(s->inner, route, leaf->keys, leaf->count, page, &boundary);
    if (rc != ALEXDB_OK) {
        sim_page_free(s, page);
        return rc;
    }
    assert_true(boundary > leaf->keys[0] && boundary <= leaf->keys[leaf->count - 1]);
    assert_true(boundary > low && boundary <= high);
    uint32_t keep = sim_lower_bound(leaf, boundary);
    sim_leaf *right = &s->leaves[page];
    sim_leaf_reserve(right, leaf->count - keep);
    memcpy(right->keys, leaf->keys + keep, (leaf->count - keep) * sizeof(uint64_t));
    right->count = leaf->count - keep;
    leaf->count = keep;
    uint64_t l = 0, h = 0;
    sim_range_of(s, leaf->keys[0], &l, &h);
    assert_true(l == low && h == boundary - 1);
    sim_range_of(s, right->keys[0], &l, &h);
    assert_true(l == boundary && h == high);
    assert_int_equal(sim_route_leaf(s, boundary - 1), route->leaf_page_no);
    assert_int_equal(sim_route_leaf(s, boundary), page);
    s->split_count++;
    return ALEXDB_OK;
}

/* Inserts key (a duplicate is a no-op); splits the leaf when it passes split_at. */
SIM_FN int sim_insert(sim *s, uint64_t key)
{
    alex_route route;
    alex_inner_route(s->inner, key, &route);
    sim_leaf *leaf = &s->leaves[route.leaf_page_no];
    assert_true(leaf->live);
    uint32_t pos = sim_lower_bound(leaf, key);
    if (pos < leaf->count && leaf->keys[pos] == key) return ALEXDB_OK;
    sim_leaf_reserve(leaf, leaf->count + 1);
    memmove(leaf->keys + pos + 1, leaf->keys + pos, (leaf->count - pos) * sizeof(uint64_t));
    leaf->keys[pos] = key;
    leaf->count++;
    s->key_count++;
    if (leaf->count <= s->split_at) return ALEXDB_OK;
    return sim_split(s, &route);
}

/* Moves the merged leaf's keys into the survivor (their ranges are adjacent). */
SIM_FN void sim_absorb(sim *s, uint64_t page, uint64_t survivor)
{
    sim_leaf *from = &s->leaves[page];
    sim_leaf *into = &s->leaves[survivor];
    if (from->count == 0) {
        sim_page_free(s, page);
        return;
    }
    sim_leaf_reserve(into, into->count + from->count);
    if (into->count == 0 || from->keys[0] < into->keys[0]) {
        memmove(into->keys + from->count, into->keys, into->count * sizeof(uint64_t));
        memcpy(into->keys, from->keys, from->count * sizeof(uint64_t));
    } else {
        memcpy(into->keys + into->count, from->keys, from->count * sizeof(uint64_t));
    }
    into->count += from->count;
    sim_page_free(s, page);
}

/*
 * Deletes key; a leaf left with at most merge_at keys is merged into its neighbour,
 * whose range must become the union of both. The survivor splits again if too full.
 */
SIM_FN void sim_delete(sim *s, uint64_t key, uint32_t merge_at)
{
    alex_route route;
    alex_inner_route(s->inner, key, &route);
    sim_leaf *leaf = &s->leaves[route.leaf_page_no];
    uint32_t pos = sim_lower_bound(leaf, key);
    if (pos == leaf->count || leaf->keys[pos] != key) return;
    memmove(leaf->keys + pos, leaf->keys + pos + 1, (leaf->count - pos - 1) * sizeof(uint64_t));
    leaf->count--;
    s->key_count--;
    if (leaf->count > merge_at) return;
    uint64_t low = 0, high = 0;
    alex_inner_range(s->inner, &route, &low, &high);
    uint64_t survivor = 0;
    int rc = alex_inner_merge(s->inner, &route, &survivor);
    if (rc == ALEXDB_NOTFOUND) return;
    assert_int_equal(rc, ALEXDB_OK);
    assert_true(survivor != route.leaf_page_no && s->leaves[survivor].live);
    uint64_t l = 0, h = 0;
    sim_range_of(s, low, &l, &h);
    assert_int_equal(sim_route_leaf(s, low), survivor);
    assert_int_equal(sim_route_leaf(s, high), survivor);
    assert_true(l <= low && h >= high && (l == high + 1 || h == low - 1 || l < low || h > high));
    sim_absorb(s, route.leaf_page_no, survivor);
    s->merge_count++;
    if (s->leaves[survivor].count > s->split_at) {
        alex_inner_route(s->inner, low, &route);
        assert_int_equal(sim_split(s, &route), ALEXDB_OK);
    }
}

typedef struct sim_check_ctx {
    const sim *s;
    uint64_t expect_low;
    bool done;
    uint64_t visited;
    uint8_t *seen;
} sim_check_ctx;

static int sim_check_leaf(void *ctx, uint64_t page, uint64_t low, uint64_t high)
{
    sim_check_ctx *c = ctx;
    const sim *s = c->s;
    assert_false(c->done);
    assert_true(low == c->expect_low && low <= high);
    assert_true(page < s->page_capacity && s->leaves[page].live && !c->seen[page]);
    c->seen[page] = 1;
    uint64_t l = 0, h = 0;
    sim_range_of(s, low, &l, &h);
    assert_true(l == low && h == high);
    assert_int_equal(sim_route_leaf(s, low), page);
    assert_int_equal(sim_route_leaf(s, high), page);
    assert_int_equal(sim_route_leaf(s, low + (high - low) / 2), page);
    const sim_leaf *leaf = &s->leaves[page];
    for (uint32_t i = 0; i < leaf->count; i++) {
        assert_true(leaf->keys[i] >= low && leaf->keys[i] <= high);
        assert_int_equal(sim_route_leaf(s, leaf->keys[i]), page);
    }
    c->visited++;
    if (high == UINT64_MAX) c->done = true;
    else c->expect_low = high + 1;
    return 0;
}

/* The oracle: tiling, exact ranges, every key at home, counters and depth in bounds. */
SIM_FN void sim_check(const sim *s)
{
    sim_check_ctx c = {s, 0, false, 0, calloc(s->page_capacity, 1)};
    assert_int_equal(alex_inner_for_each_leaf(s->inner, sim_check_leaf, &c), 0);
    assert_true(c.done);
    assert_int_equal(c.visited, s->live_leaves);
    alex_inner_stats stats;
    alex_inner_stats_get(s->inner, &stats);
    assert_int_equal(stats.leaf_count, s->live_leaves);
    assert_true(stats.depth_max <= ALEX_DEPTH_MAX);
    free(c.seen);
}

SIM_FN double sim_memory_per_leaf(const sim *s)
{
    alex_inner_stats stats;
    alex_inner_stats_get(s->inner, &stats);
    return (double)stats.memory_size / (double)stats.leaf_count;
}

SIM_FN void sim_report(const sim *s, const char *name)
{
    alex_inner_stats stats;
    alex_inner_stats_get(s->inner, &stats);
    printf("  %-22s keys %8" PRIu64 " leaves %7" PRIu64 " nodes %6" PRIu64 " slots %8" PRIu64
           " depth %2u memory %6.2f B/leaf\n",
           name, s->key_count, stats.leaf_count, stats.node_count, stats.slot_count,
           stats.depth_max, (double)stats.memory_size / (double)stats.leaf_count);
    fflush(stdout);
}

typedef struct sim_lows {
    uint64_t *low;
    uint64_t count;
} sim_lows;

static int sim_collect_low(void *ctx, uint64_t page, uint64_t low, uint64_t high)
{
    (void)page;
    (void)high;
    sim_lows *lows = ctx;
    lows->low[lows->count++] = low;
    return 0;
}

/*
 * Merges leaves until one is left: each pass tries every leaf once (a leaf whose
 * neighbours are inner nodes waits until they have collapsed into leaves).
 */
SIM_FN void sim_collapse(sim *s)
{
    for (int pass = 0; pass < 64 && s->live_leaves > 1; pass++) {
        sim_lows lows = {malloc(s->live_leaves * sizeof(uint64_t)), 0};
        assert_int_equal(alex_inner_for_each_leaf(s->inner, sim_collect_low, &lows), 0);
        for (uint64_t i = 0; i < lows.count && s->live_leaves > 1; i++) {
            alex_route route;
            alex_inner_route(s->inner, lows.low[i], &route);
            uint64_t survivor = 0;
            int rc = alex_inner_merge(s->inner, &route, &survivor);
            if (rc == ALEXDB_NOTFOUND) continue;
            assert_int_equal(rc, ALEXDB_OK);
            sim_absorb(s, route.leaf_page_no, survivor);
            s->merge_count++;
        }
        free(lows.low);
    }
    assert_int_equal(s->live_leaves, 1);
}

/* Builds an inner stream by hand (docs/FORMAT.md 5), for crafted and corrupted cases. */
typedef struct sim_stream {
    uint8_t bytes[4096];
    size_t size;
    uint32_t node_count;
    uint64_t slot_total;
} sim_stream;

typedef struct sim_run {
    alex_ref ref;
    uint32_t length;
} sim_run;

SIM_FN void sim_stream_begin(sim_stream *st, alex_ref root)
{
    memset(st, 0, sizeof(*st));
    st->size = 40;
    common_store_u32le(st->bytes + 8, 0x4E495841u);
    st->bytes[12] = 1;
    common_store_u32le(st->bytes + 24, root);
}

SIM_FN void sim_stream_node(sim_stream *st, uint32_t log2, uint32_t flags, double slope,
                            double intercept, uint64_t base, const sim_run *runs, uint32_t count)
{
    uint8_t *p = st->bytes + st->size;
    uint64_t bits;
    p[0] = (uint8_t)log2;
    p[1] = (uint8_t)flags;
    common_store_u32le(p + 4, count);
    memcpy(&bits, &slope, 8);
    common_store_u64le(p + 8, bits);
    memcpy(&bits, &intercept, 8);
    common_store_u64le(p + 16, bits);
    common_store_u64le(p + 24, base);
    for (uint32_t i = 0; i < count; i++) {
        common_store_u32le(p + 32 + 8 * i, runs[i].ref);
        common_store_u32le(p + 36 + 8 * i, runs[i].length);
    }
    st->size += 32 + 8 * (size_t)count;
    st->node_count++;
    st->slot_total += 1ull << log2;
    assert_true(st->size < sizeof(st->bytes) - 64);
}

/* Fills node count, slot total and size, then the checksum. */
SIM_FN void sim_stream_end(sim_stream *st)
{
    common_store_u64le(st->bytes + 16, st->size);
    common_store_u32le(st->bytes + 28, st->node_count);
    common_store_u64le(st->bytes + 32, st->slot_total);
    common_store_u64le(st->bytes, common_checksum(st->bytes + 8, st->size - 8));
}

/* Recomputes the checksum after a deliberate change. */
SIM_FN void sim_stream_reseal(uint8_t *bytes, size_t size)
{
    if (size >= 8) common_store_u64le(bytes, common_checksum(bytes + 8, size - 8));
}

/* Key orders the randomized tests run. */
typedef enum sim_order {
    ORDER_SEQUENTIAL,
    ORDER_REVERSE,
    ORDER_UNIFORM,
    ORDER_CLUSTER,
    ORDER_NEAR_MAX,
    ORDER_ABOVE_2_53,
    ORDER_COLLIDING,
    ORDER_ALTERNATING,
    ORDER_GEOMETRIC,
    ORDER_COUNT
} sim_order;

static const char *const sim_order_names[ORDER_COUNT] = {
    "sequential", "reverse", "uniform", "tiny cluster", "near UINT64_MAX",
    "above 2^53", "colliding doubles", "alternating extremes", "geometric",
};

/* The i-th key of n in order; state carries the geometric sequence. */
SIM_FN uint64_t sim_key(sim_order order, uint64_t i, uint64_t n, common_rng *rng, uint64_t *state)
{
    switch (order) {
    case ORDER_SEQUENTIAL: return i;
    case ORDER_REVERSE: return 1000000000000ull - i;
    case ORDER_UNIFORM: return common_rng_next(rng);
    case ORDER_CLUSTER: return (1ull << 40) + common_rng_below(rng, 2 * n);
    case ORDER_NEAR_MAX: return i < 2 ? UINT64_MAX - i : UINT64_MAX - common_rng_below(rng, 8 * n);
    case ORDER_ABOVE_2_53: return (1ull << 53) + common_rng_below(rng, UINT64_MAX - (1ull << 53));
    case ORDER_COLLIDING: return (1ull << 63) + common_rng_below(rng, 4 * n);
    case ORDER_ALTERNATING: return (i & 1) ? UINT64_MAX - i / 2 : i / 2;
    case ORDER_GEOMETRIC:
        *state += (*state >> 12) + 1; /* x(1 + 2^-12) per key: 2^20 to ~2^34 over 40 K keys */
        return *state;
    default: fail();
    }
    return 0;
}

#ifndef ALEX_INNER_SIM_ONLY

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

#endif /* ALEX_INNER_SIM_ONLY */
