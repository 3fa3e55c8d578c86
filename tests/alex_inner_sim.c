/*
 * alex_inner_sim.c: the simulated-leaf harness shared by the inner-node tests; see
 * alex_inner_sim.h.
 */
#include "alex_inner_sim.h"

#include <inttypes.h>
#include <stdio.h>

void sim_init(sim *s, uint32_t split_at)
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

void sim_destroy(sim *s)
{
    for (uint64_t i = 0; i < s->page_capacity; i++) free(s->leaves[i].keys);
    free(s->leaves);
    free(s->free_pages);
    alex_inner_destroy(s->inner);
}

uint64_t sim_page_new(sim *s)
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

void sim_page_free(sim *s, uint64_t page)
{
    s->leaves[page].live = false;
    s->leaves[page].count = 0;
    s->free_pages[s->free_count++] = page;
    s->live_leaves--;
}

void sim_leaf_reserve(sim_leaf *leaf, uint32_t count)
{
    if (count <= leaf->capacity) return;
    uint32_t capacity = leaf->capacity == 0 ? 64 : leaf->capacity;
    while (capacity < count) capacity *= 2;
    leaf->keys = realloc(leaf->keys, capacity * sizeof(uint64_t));
    assert_non_null(leaf->keys);
    leaf->capacity = capacity;
}

/* The first index in leaf with key >= key. */
uint32_t sim_lower_bound(const sim_leaf *leaf, uint64_t key)
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

uint64_t sim_route_leaf(const sim *s, uint64_t key)
{
    alex_route route;
    alex_inner_route(s->inner, key, &route);
    assert_true(route.depth <= ALEX_DEPTH_MAX);
    return route.leaf_page_no;
}

void sim_range_of(const sim *s, uint64_t key, uint64_t *low, uint64_t *high)
{
    alex_route route;
    alex_inner_route(s->inner, key, &route);
    alex_inner_range(s->inner, &route, low, high);
}

/* Splits the route's leaf; checks the boundary and both new ranges. */
int sim_split(sim *s, const alex_route *route)
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
int sim_insert(sim *s, uint64_t key)
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
void sim_absorb(sim *s, uint64_t page, uint64_t survivor)
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
void sim_delete(sim *s, uint64_t key, uint32_t merge_at)
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
void sim_check(const sim *s)
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

double sim_memory_per_leaf(const sim *s)
{
    alex_inner_stats stats;
    alex_inner_stats_get(s->inner, &stats);
    return (double)stats.memory_size / (double)stats.leaf_count;
}

void sim_report(const sim *s, const char *name)
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
void sim_collapse(sim *s)
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
void sim_stream_begin(sim_stream *st, alex_ref root)
{
    memset(st, 0, sizeof(*st));
    st->size = 40;
    common_store_u32le(st->bytes + 8, 0x4E495841u);
    st->bytes[12] = 1;
    common_store_u32le(st->bytes + 24, root);
}

void sim_stream_node(sim_stream *st, uint32_t log2, uint32_t flags, double slope,
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
void sim_stream_end(sim_stream *st)
{
    common_store_u64le(st->bytes + 16, st->size);
    common_store_u32le(st->bytes + 28, st->node_count);
    common_store_u64le(st->bytes + 32, st->slot_total);
    common_store_u64le(st->bytes, common_checksum(st->bytes + 8, st->size - 8));
}

/* Recomputes the checksum after a deliberate change. */
void sim_stream_reseal(uint8_t *bytes, size_t size)
{
    if (size >= 8) common_store_u64le(bytes, common_checksum(bytes + 8, size - 8));
}

/* Key orders the randomized tests run. */
const char *const sim_order_names[ORDER_COUNT] = {
    "sequential", "reverse", "uniform", "tiny cluster", "near UINT64_MAX",
    "above 2^53", "colliding doubles", "alternating extremes", "geometric",
};

/* The i-th key of n in order; state carries the geometric sequence. */
uint64_t sim_key(sim_order order, uint64_t i, uint64_t n, common_rng *rng, uint64_t *state)
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
