/*
 * inner_bulk.c: bulk load of the inner nodes over sorted keys with ALEX's fanout tree
 * (alex_inner_bulk_load). Routing and the node table: inner.c.
 *
 * HOW IT WORKS. Top down, with an explicit stack of tasks (never recursion). A task is
 * a run of keys with its exact key range; if the run fits one leaf (the caller's fits
 * callback) it becomes a leaf, made in key order by the caller's make_leaf. Otherwise
 * it becomes an inner node, chosen like ALEX's fanout tree:
 *
 *   1. Fit one least-squares model of rank against key - base (base = the run's first
 *      key, so keys above 2^53 keep their differences) mapping the run onto [0, 1).
 *   2. For each fanout F = 2, 4, 8, ... scale the model by F (exact: F is a power of
 *      two) and cut the keys into the F slots' partitions. Adjacent partitions merge
 *      greedily while together they fit one leaf, so a child may span several slots;
 *      empty slots join the child on their left. A partition that fits no leaf
 *      becomes an inner child, built later by its own task.
 *   3. Cost each fanout with ALEX's cost model, in ALEX's units, per lookup:
 *        search:  20 x mean log2(|predicted - actual| + 1) over the keys, each placed
 *                 by the model its leaf would fit (alex_model_fit at
 *                 ALEX_LEAF_DENSITY_BUILD); an inner child's keys count too, as if
 *                 cut into leaf-sized runs, so every fanout is costed on all keys;
 *        lookups: 20 for each inner level a key still has to traverse: for the keys
 *                 of an inner child one, plus one per 10 bits of the error of the
 *                 model that child will fit. (ALEX charges such a child its whole
 *                 search cost as if it were one leaf; for skewed keys that term
 *                 outweighed every memory cost and chose vast nodes, while leaving it
 *                 out let skewed keys build a chain of levels);
 *        memory:  4 per byte of inner memory per leaf page: the node, 1.5 bits a slot
 *                 and 4 bytes a child, plus an estimate for its inner children. This
 *                 plays the part of ALEX's model-size term; with leaves on disk, the
 *                 inner bytes per leaf page are what must stay small, and at 4 the
 *                 project's budget of 8 bytes costs more than one more level (at 2.5,
 *                 heavily skewed keys went past the budget to save a level).
 *      Cheap enough to try every fanout: the cut costs a few binary searches on the
 *      model per child (level_cut), not a prediction per key; the search term is
 *      measured on at most BULK_SEARCH_RUNS runs spread over the level, an inner
 *      child's error on its share of BULK_ERROR_POINTS keys; and both are memoised,
 *      since a small node's fanouts mostly cut the same children.
 *      Like ALEX, stop adding levels once the cost rose twice in a row, but only once
 *      the partitions average half a leaf or less (before that the cost climbs while
 *      partitions shrink towards leaf size, then drops when they fit), and keep the
 *      cheapest.
 *   4. A fanout must make progress (two children at least). If none does, or depth is
 *      running out while the best leaves an inner child with over half the keys, the
 *      node is a 2-slot median split instead, which halves the run every level.
 *
 * Bounds: depth <= ALEX_DEPTH_MAX (else ALEXDB_FULL), slot counts <= the maxima.
 */
#include "alex_int.h"

#include <math.h>
#include <stdlib.h>

#define BULK_SEARCH_WEIGHT 20.0 /* per log2 step of a leaf's exponential search (ALEX) */
#define BULK_LOOKUP_WEIGHT 20.0 /* per inner node traversed (ALEX) */
#define BULK_MEMORY_WEIGHT 4.0  /* per byte of inner memory per leaf page: 8 B = 1.6 levels */
#define BULK_NODE_SIZE ((double)sizeof(alex_inner_node))
#define BULK_HEAP_OVERHEAD 16.0
#define BULK_LEVEL_BITS 10.0 /* log2 of the error one inner level resolves */
#define BULK_SLOT_SIZE (12.0 / 64.0) /* a start bit and a share of a u32 rank */
#define BULK_CHILD_SIZE 4.5          /* a ref and its share of the array's slack */
#define BULK_NO_PARENT UINT32_MAX
#define BULK_SEARCH_RUNS 256        /* leaf-sized runs whose search cost a fanout measures */
#define BULK_ERROR_POINTS 4096.0    /* keys a fanout's inner children measure their error on */
#define BULK_ERROR_POINTS_MIN 64u   /* ... and at least this many each */
#define BULK_MEMO_LOG2 12           /* entries of each memo: 2^12 x 32 B */

typedef struct bulk_child {
    uint64_t first; /* relative to the node's first key */
    uint64_t count;
    uint32_t slot_first;
    bool leaf;
} bulk_child;

typedef struct bulk_task {
    uint64_t first;
    uint64_t count;
    uint64_t low;
    uint64_t high;
    uint32_t parent; /* node index, or BULK_NO_PARENT for the root */
    uint32_t child;  /* its index among the parent's children */
    uint32_t depth;  /* inner nodes above */
    bool leaf;
} bulk_task;

/*
 * A remembered measurement of keys[first..first+count) (stride: the error's sample).
 * Small nodes' fanouts mostly cut the same children (clusters no fanout splits), so
 * their runs' costs repeat: remembering them gives the same numbers, computed once.
 */
typedef struct bulk_memo {
    uint64_t first;
    uint64_t count; /* 0: empty */
    uint64_t stride;
    double value;
} bulk_memo;

typedef struct bulk_state {
    alex_inner *inner; /* the index being built */
    const uint64_t *keys;
    alex_fits_fn fits;
    alex_make_leaf_fn make_leaf;
    void *ctx;
    double leaf_keys_est; /* keys a leaf takes, probed once */
    uint64_t fit_hint;    /* the last fit_max answer: where the next one starts */
    bulk_memo *search_memo; /* leaf_search_sum of runs, 2^BULK_MEMO_LOG2 entries */
    bulk_memo *error_memo;  /* inner_error_bits of inner children, as many */
    bulk_child *cand;     /* children of the fanout being costed */
    bulk_child *best;     /* children of the cheapest so far */
    uint64_t child_capacity;
    uint64_t cand_count;
    uint64_t best_count;
    bulk_task *stack;
    uint64_t stack_count;
    uint64_t stack_capacity;
} bulk_state;

static bool bulk_fits(const bulk_state *st, uint64_t first, uint64_t count)
{
    if (count > ALEX_LEAF_SLOT_COUNT_MAX) return false; /* cannot fit any page */
    return st->fits(st->ctx, first, (uint32_t)count);
}

/* Sum over keys of log2(|predicted - actual| + 1) as a leaf built from them would see it. */
static double leaf_search_sum(const uint64_t *keys, uint64_t count)
{
    if (count < 2) return 0.0;
    if (count > (1u << 30)) return (double)count * 30.0; /* no leaf is that big */
    double slots = ceil((double)count / ALEX_LEAF_DENSITY_BUILD);
    alex_model model;
    alex_model_fit(&model, keys, (uint32_t)count, slots);
    double scale = slots / (double)count;
    uint64_t sum = 0; /* whole numbers: the same sum a double would hold, exactly */
    for (uint64_t i = 0; i < count; i++) {
        double error = fabs((double)alex_model_predict(&model, keys[i], (uint32_t)slots) -
                            (double)i * scale);
        uint64_t steps = (uint64_t)error + 1; /* floor(log2(error + 1)), cheaply */
        sum += (uint64_t)(63 - __builtin_clzll(steps));
    }
    return (double)sum;
}

/* Least squares of rank / count against key - keys[0] over the keys at multiples of stride. */
static void fit_unit_strided(const uint64_t *keys, uint64_t count, uint64_t stride, alex_model *model)
{
    ALEXDB_ASSERT(count > 0 && stride > 0);
    uint64_t base = keys[0];
    uint64_t points = (count - 1) / stride + 1;
    double x_mean = 0.0;
    for (uint64_t i = 0; i < count; i += stride) x_mean += (double)(keys[i] - base);
    x_mean /= (double)points;
    double y_mean = (double)(points - 1) * (double)stride * 0.5 / (double)count;
    double sxx = 0.0;
    double sxy = 0.0;
    for (uint64_t i = 0; i < count; i += stride) {
        double dx = (double)(keys[i] - base) - x_mean;
        sxx += dx * dx;
        sxy += dx * ((double)i / (double)count - y_mean);
    }
    double slope = sxx > 0.0 ? sxy / sxx : 0.0;
    if (!isfinite(slope) || slope < 0.0) slope = 0.0;
    double intercept = y_mean - slope * x_mean;
    if (!isfinite(intercept)) intercept = 0.0;
    model->slope = slope;
    model->intercept = intercept;
}

/* The node's model for F = 1: every key counts, since it routes every key. */
static void fit_unit(const uint64_t *keys, uint64_t count, alex_model *model)
{
    fit_unit_strided(keys, count, 1, model);
}

/*
 * Mean log2(error + 1) of the model an inner child over keys would fit (on offsets
 * from its first key, as node_choose does), the error counted in leaves: how far the
 * child's keys are from linear at the scale its slots will have to resolve. Measured
 * on the keys at multiples of stride: a mean over a few thousand keys is as good an
 * estimate for choosing a fanout, and every fanout pays it for every inner child.
 */
static double inner_error_bits(const uint64_t *keys, uint64_t count, uint64_t stride,
                               double leaf_keys)
{
    alex_model unit;
    fit_unit_strided(keys, count, stride, &unit);
    uint64_t sum = 0; /* whole numbers: the same sums doubles would hold, exactly */
    uint64_t points = 0;
    for (uint64_t i = 0; i < count; i += stride) {
        double position = (unit.slope * (double)(keys[i] - keys[0]) + unit.intercept) * (double)count;
        double keys_off = fabs(position - (double)i);
        points++;
        /* Below one leaf the term is 0, known without the division: keys_off < leaf_keys
         * (a whole number >= 1) makes the quotient at most 1 - 2^-53, the largest double
         * below 1, even after rounding, so it truncates to 0. */
        if (keys_off < leaf_keys) continue;
        double error = keys_off / leaf_keys;
        sum += (uint64_t)(63 - __builtin_clzll((uint64_t)error + 1));
    }
    return (double)sum / (double)points;
}

/* The memo entry for a run: direct-mapped, a colliding run just replaces it. */
static bulk_memo *memo_slot(bulk_memo *memo, uint64_t first, uint64_t count, uint64_t stride)
{
    uint64_t h = first * 0x9E3779B97F4A7C15ull ^ (count + (stride << 32)) * 0xC2B2AE3D27D4EB4Full;
    return &memo[h >> (64 - BULK_MEMO_LOG2)];
}

static double run_search_sum(const bulk_state *st, uint64_t first, uint64_t count)
{
    bulk_memo *m = memo_slot(st->search_memo, first, count, 0);
    if (m->count != count || m->first != first) {
        *m = (bulk_memo){first, count, 0, leaf_search_sum(st->keys + first, count)};
    }
    return m->value;
}

static double run_error_bits(const bulk_state *st, uint64_t first, uint64_t count, uint64_t stride)
{
    bulk_memo *m = memo_slot(st->error_memo, first, count, stride);
    if (m->count != count || m->first != first || m->stride != stride) {
        double bits = inner_error_bits(st->keys + first, count, stride, st->leaf_keys_est);
        *m = (bulk_memo){first, count, stride, bits};
    }
    return m->value;
}

static int reserve_children(bulk_state *st, uint64_t count)
{
    if (count <= st->child_capacity) return ALEXDB_OK;
    bulk_child *cand = realloc(st->cand, count * sizeof(*cand));
    if (cand != NULL) st->cand = cand;
    bulk_child *best = cand != NULL ? realloc(st->best, count * sizeof(*best)) : NULL;
    if (best != NULL) st->best = best;
    if (cand == NULL || best == NULL) return common_error(ALEXDB_NOMEM, "alex: bulk load: no memory");
    st->child_capacity = count;
    return ALEXDB_OK;
}

/*
 * The largest n <= limit with fits(first, n), 0 if none: a leaf that holds n keys holds
 * their first n - 1 too (bytes and slots only grow with n), so fits is monotone in n and
 * this is a search. It gallops from the last answer, because neighbouring runs (values
 * of similar sizes) fit about as many keys: two calls when all values are alike.
 */
static uint64_t fit_max(bulk_state *st, uint64_t first, uint64_t limit)
{
    uint64_t lo = 0;         /* fits(lo), or lo == 0 */
    uint64_t hi = limit + 1; /* !fits(hi), or hi == limit + 1 */
    uint64_t probe = st->fit_hint < 1 ? 1 : (st->fit_hint > limit ? limit : st->fit_hint);
    bool up = bulk_fits(st, first, probe);
    if (up) lo = probe;
    else hi = probe;
    for (uint64_t step = 1; up ? lo < limit : hi > 1; step *= 2) {
        probe = up ? (limit - lo > step ? lo + step : limit) : (hi - 1 > step ? hi - step : 1);
        bool fit = bulk_fits(st, first, probe);
        if (fit) lo = probe;
        else hi = probe;
        if (fit != up) break;
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (bulk_fits(st, first, mid)) lo = mid;
        else hi = mid;
    }
    ALEXDB_ASSERT(lo < hi && lo <= limit);
    if (lo > 0) st->fit_hint = lo;
    return lo;
}

/*
 * The slot a candidate node routes key to: alex_inner_node_predict (inner.c) for the
 * plain, not reversed, nodes node_choose shapes, inlined, since cutting a level asks it
 * a few times per child. level_cut asserts the two agree.
 */
static inline uint32_t shape_predict(const alex_inner_node *shape, uint64_t key)
{
    if (key < shape->key_base) return 0;
    return alex_model_predict(&shape->model, key - shape->key_base, 1u << shape->slot_count_log2);
}

/* The first index in [lo, hi] whose key shape routes to a slot >= slot; routes(keys[hi]) >= slot. */
static uint64_t first_at_slot(const alex_inner_node *shape, const uint64_t *keys, uint64_t lo,
                              uint64_t hi, uint32_t slot)
{
    ALEXDB_ASSERT(lo <= hi && shape_predict(shape, keys[hi]) >= slot);
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (shape_predict(shape, keys[mid]) >= slot) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* The end of the partition of slot that holds keys[from]: gallops, as it may be huge. */
static uint64_t partition_end(const alex_inner_node *shape, const uint64_t *keys, uint64_t from,
                              uint64_t count, uint32_t slot)
{
    uint64_t lo = from; /* routes to slot */
    uint64_t step = 1;
    while (count - lo > step && shape_predict(shape, keys[lo + step]) <= slot) {
        lo += step;
        step *= 2;
    }
    if (count - lo <= step) {
        if (shape_predict(shape, keys[count - 1]) <= slot) return count;
        return first_at_slot(shape, keys, lo + 1, count - 1, slot + 1);
    }
    return first_at_slot(shape, keys, lo + 1, lo + step, slot + 1);
}

/*
 * Cuts keys[first..first+count) by shape's slots into st->cand (step 2 at the top).
 * Merging partitions greedily while they fit one leaf means a leaf child is every
 * whole partition before the first key that would not fit (fit_max): so each child
 * costs a few binary searches on the model instead of a prediction per key.
 */
static void level_cut(bulk_state *st, uint64_t first, uint64_t count, const alex_inner_node *shape)
{
    const uint64_t *keys = st->keys + first;
    ALEXDB_ASSERT(!(shape->flags & ALEX_INNER_REVERSED));
    ALEXDB_ASSERT(shape_predict(shape, keys[count - 1]) == alex_inner_node_predict(shape, keys[count - 1]));
    st->cand_count = 0;
    for (uint64_t c = 0; c < count;) {
        uint32_t slot = shape_predict(shape, keys[c]);
        uint64_t limit = count - c < ALEX_LEAF_SLOT_COUNT_MAX ? count - c : ALEX_LEAF_SLOT_COUNT_MAX;
        uint64_t room = fit_max(st, first + c, limit);
        bulk_child child = {c, count - c, st->cand_count == 0 ? 0 : slot, true};
        if (room < count - c) {
            uint32_t next = shape_predict(shape, keys[c + room]);
            if (next == slot) { /* one partition too big for a leaf: an inner child */
                child.count = partition_end(shape, keys, c + room, count, slot) - c;
                child.leaf = false;
            } else {
                child.count = first_at_slot(shape, keys, c + 1, c + room, next) - c;
            }
        }
        /* fits promised monotone; a child it refuses anyway becomes an inner one */
        if (child.leaf && child.count != room) child.leaf = bulk_fits(st, first + c, child.count);
        ALEXDB_ASSERT(child.count > 0 && st->cand_count < st->child_capacity);
        st->cand[st->cand_count++] = child;
        c += child.count;
    }
}

/*
 * Search term of step 3: the mean over leaf-sized runs (leaf children, and inner
 * children cut as if into leaves) of leaf_search_sum, measured on at most
 * BULK_SEARCH_RUNS runs evenly spread over the level, scaled to all count keys.
 * Exact when the level has that few runs; otherwise a sample, since refitting every
 * run for every fanout was most of the load's time and the mean is what counts.
 */
static double level_search_sum(const bulk_state *st, uint64_t first, uint64_t count)
{
    uint64_t chunk = (uint64_t)st->leaf_keys_est;
    uint64_t runs = 0;
    for (uint64_t j = 0; j < st->cand_count; j++) {
        runs += st->cand[j].leaf ? 1 : (st->cand[j].count + chunk - 1) / chunk;
    }
    uint64_t stride = (runs + BULK_SEARCH_RUNS - 1) / BULK_SEARCH_RUNS;
    double sum = 0.0;
    double sampled = 0.0;
    uint64_t run = 0; /* index of the child's first run over the level */
    for (uint64_t j = 0; j < st->cand_count; j++) {
        const bulk_child *child = &st->cand[j];
        uint64_t size = child->leaf ? child->count : chunk;
        uint64_t child_runs = child->leaf ? 1 : (child->count + chunk - 1) / chunk;
        for (uint64_t r = (stride - run % stride) % stride; r < child_runs; r += stride) {
            uint64_t n = child->count - r * size < size ? child->count - r * size : size;
            sum += run_search_sum(st, first + child->first + r * size, n);
            sampled += (double)n;
        }
        run += child_runs;
    }
    ALEXDB_ASSERT(sampled > 0.0);
    return sum / sampled * (double)count;
}

/* The running totals of one fanout's cost (step 3 at the top), but for its search term. */
typedef struct level_cost {
    double inner_keys;
    double leaves;
    double memory_size;
    uint64_t largest_inner;
} level_cost;

static void child_cost(const bulk_state *st, uint64_t first, uint64_t count,
                       const bulk_child *child, level_cost *cost)
{
    if (child->leaf) {
        cost->leaves += 1.0;
        return;
    }
    double leaves = ceil((double)child->count / st->leaf_keys_est);
    /* levels below: one, plus about one per 10 bits of its own model's error, measured
     * on the child's share of BULK_ERROR_POINTS keys (at least BULK_ERROR_POINTS_MIN) */
    uint64_t points = (uint64_t)((double)child->count * BULK_ERROR_POINTS / (double)count);
    if (points < BULK_ERROR_POINTS_MIN) points = BULK_ERROR_POINTS_MIN;
    uint64_t stride = points >= child->count ? 1 : child->count / points;
    double error_bits = run_error_bits(st, first + child->first, child->count, stride);
    cost->inner_keys += (double)child->count * (1.0 + error_bits / BULK_LEVEL_BITS);
    cost->leaves += leaves;
    cost->memory_size += BULK_NODE_SIZE + 2 * BULK_HEAP_OVERHEAD + BULK_CHILD_SIZE * leaves;
    if (child->count > cost->largest_inner) cost->largest_inner = child->count;
}

/*
 * Cuts keys[0..count) by shape's slots into st->cand and returns the cost, INFINITY if
 * the fanout makes no progress (fewer than two children).
 */
static double level_evaluate(bulk_state *st, uint64_t first, uint64_t count,
                             const alex_inner_node *shape, uint64_t *largest_inner_out)
{
    uint32_t slot_count = 1u << shape->slot_count_log2;
    level_cost cost = {0.0, 0.0, BULK_NODE_SIZE, 0};
    if (slot_count > 64) cost.memory_size += BULK_SLOT_SIZE * slot_count + BULK_HEAP_OVERHEAD;
    level_cut(st, first, count, shape);
    for (uint64_t j = 0; j < st->cand_count; j++) child_cost(st, first, count, &st->cand[j], &cost);
    *largest_inner_out = cost.largest_inner;
    if (st->cand_count < 2) return INFINITY;
    if (st->cand_count > 2) {
        cost.memory_size += BULK_CHILD_SIZE * (double)st->cand_count + BULK_HEAP_OVERHEAD;
    }
    double search_sum = level_search_sum(st, first, count);
    double lookup = (BULK_SEARCH_WEIGHT * search_sum + BULK_LOOKUP_WEIGHT * cost.inner_keys) /
                    (double)count;
    return lookup + BULK_MEMORY_WEIGHT * cost.memory_size / cost.leaves;
}

static void keep_best(bulk_state *st)
{
    bulk_child *swap = st->best;
    st->best = st->cand;
    st->cand = swap;
    st->best_count = st->cand_count;
}

/* Chooses the node for keys[first..first+count): fills *shape and st->best. */
static int node_choose(bulk_state *st, uint64_t first, uint64_t count, uint32_t depth,
                       alex_inner_node *shape)
{
    uint64_t slot_room = ALEX_INNER_SLOT_TOTAL_MAX - st->inner->slot_total;
    uint32_t log2_max = 1;
    while ((1ull << (log2_max + 1)) <= ALEX_INNER_SLOT_COUNT_MAX &&
           (1ull << (log2_max + 1)) <= slot_room && (1ull << log2_max) < 2 * count) {
        log2_max++;
    }
    int rc = reserve_children(st, count < (1ull << log2_max) ? count : (1ull << log2_max));
    if (rc != ALEXDB_OK) return rc;
    alex_model unit;
    fit_unit(st->keys + first, count, &unit);
    memset(shape, 0, sizeof(*shape));
    shape->key_base = st->keys[first];
    /* Costs rise while partitions shrink towards one leaf (many tiny inner children),
     * then fall once they fit: stop early only past half a leaf per slot. */
    double useful = 2.0 * (double)count / st->leaf_keys_est;
    double best_cost = INFINITY;
    double prev[2] = {INFINITY, INFINITY};
    uint64_t largest_inner = count;
    alex_inner_node trial = *shape;
    for (uint32_t log2 = 1; log2 <= log2_max && unit.slope > 0.0; log2++) {
        double slots = (double)(1u << log2);
        trial.slot_count_log2 = (uint8_t)log2;
        trial.model.slope = unit.slope * slots;
        trial.model.intercept = unit.intercept * slots;
        uint64_t largest = 0;
        double cost = level_evaluate(st, first, count, &trial, &largest);
        if (cost < best_cost) {
            best_cost = cost;
            largest_inner = largest;
            *shape = trial;
            keep_best(st);
        }
        if (slots >= useful && cost > prev[1] && prev[1] > prev[0]) break;
        prev[0] = prev[1];
        prev[1] = cost;
    }
    if (best_cost < INFINITY && !(largest_inner > count / 2 && depth >= ALEX_DEPTH_MAX / 2)) {
        return ALEXDB_OK;
    }
    /* Step 4: the median split, which always makes progress. */
    trial = (alex_inner_node){0};
    trial.slot_count_log2 = 1;
    trial.key_base = st->keys[first];
    trial.model.slope = alex_model_slope_reaching_one(st->keys[first + count / 2] - st->keys[first]);
    uint64_t largest = 0;
    double cost = level_evaluate(st, first, count, &trial, &largest);
    ALEXDB_ASSERT(cost < INFINITY);
    *shape = trial;
    keep_best(st);
    return ALEXDB_OK;
}

static int task_push(bulk_state *st, const bulk_task *task)
{
    if (st->stack_count == st->stack_capacity) {
        uint64_t capacity = st->stack_capacity == 0 ? 64 : st->stack_capacity * 2;
        bulk_task *stack = realloc(st->stack, capacity * sizeof(*stack));
        if (stack == NULL) return common_error(ALEXDB_NOMEM, "alex: bulk load: no memory");
        st->stack = stack;
        st->stack_capacity = capacity;
    }
    st->stack[st->stack_count++] = *task;
    return ALEXDB_OK;
}

/* Hangs ref in the task's place: its parent's slots, or the root. */
static void task_attach(bulk_state *st, const bulk_task *task, alex_ref ref)
{
    if (task->parent == BULK_NO_PARENT) {
        st->inner->root = ref;
        return;
    }
    alex_inner_node_children(&st->inner->nodes[task->parent])[task->child] = ref;
}

static int task_leaf(bulk_state *st, const bulk_task *task)
{
    uint64_t page_no = 0;
    int rc = st->make_leaf(st->ctx, task->first, (uint32_t)task->count, task->low, task->high,
                           &page_no);
    if (rc != ALEXDB_OK) return rc;
    if (page_no < 2 || page_no > ALEX_LEAF_PAGE_NO_MAX) {
        return common_error(ALEXDB_INVALID, "alex: make_leaf returned page %llu",
                            (unsigned long long)page_no);
    }
    task_attach(st, task, (alex_ref)page_no);
    st->inner->leaf_count++;
    return ALEXDB_OK;
}

/* Builds the task's node and pushes its children, rightmost first (so leaves come in order). */
static int task_node(bulk_state *st, const bulk_task *task)
{
    if (task->depth >= ALEX_DEPTH_MAX) {
        return common_error(ALEXDB_FULL, "alex: bulk load needs more than %u levels", ALEX_DEPTH_MAX);
    }
    alex_inner_node shape;
    int rc = node_choose(st, task->first, task->count, task->depth, &shape);
    if (rc != ALEXDB_OK) return rc;
    uint32_t index = 0;
    rc = alex_inner_node_new(st->inner, shape.slot_count_log2, (uint32_t)st->best_count, &index);
    if (rc != ALEXDB_OK) return rc;
    alex_inner_node *node = &st->inner->nodes[index];
    node->model = shape.model;
    node->key_base = shape.key_base;
    for (uint32_t j = 0; j < st->best_count; j++) {
        alex_inner_node_set_run(node, j, st->best[j].slot_first, ALEX_REF_NONE);
    }
    alex_inner_node_seal(node);
    task_attach(st, task, ALEX_REF_INNER | index);
    uint64_t high = task->high;
    for (uint32_t j = (uint32_t)st->best_count; j-- > 0;) {
        const bulk_child *child = &st->best[j];
        bool found = true;
        /* The boundary lies after the key before the child (routed to an earlier slot)
         * and at or before the child's first key: search only there. */
        uint64_t from = j > 0 ? st->keys[task->first + child->first - 1] + 1 : task->low;
        uint64_t low = alex_inner_node_first_key_at(node, child->slot_first, from,
                                                    st->keys[task->first + child->first], &found);
        ALEXDB_ASSERT(found && low >= task->low && low <= high);
        bulk_task sub = {task->first + child->first, child->count, low, high, index, j,
                         task->depth + 1, child->leaf};
        rc = task_push(st, &sub);
        if (rc != ALEXDB_OK) return rc;
        high = low - 1; /* low > task->low here unless j == 0 */
    }
    return ALEXDB_OK;
}

/* The largest count, at most the page's slot maximum, for which a run fits one leaf. */
static double leaf_keys_probe(const bulk_state *st, uint64_t count)
{
    uint64_t lo = 1;
    uint64_t hi = count < ALEX_LEAF_SLOT_COUNT_MAX ? count : ALEX_LEAF_SLOT_COUNT_MAX;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (bulk_fits(st, 0, mid)) lo = mid;
        else hi = mid - 1;
    }
    return (double)lo;
}

static int bulk_run(bulk_state *st, uint64_t count)
{
    bulk_task root = {0, count, 0, UINT64_MAX, BULK_NO_PARENT, 0, 0, true};
    if (count > 0) {
        if (!bulk_fits(st, 0, 1)) return common_error(ALEXDB_INVALID, "alex: one key fits no leaf");
        root.leaf = bulk_fits(st, 0, count);
        st->leaf_keys_est = leaf_keys_probe(st, count);
    }
    int rc = task_push(st, &root);
    while (rc == ALEXDB_OK && st->stack_count > 0) {
        bulk_task task = st->stack[--st->stack_count];
        rc = task.leaf ? task_leaf(st, &task) : task_node(st, &task);
    }
    return rc;
}

int alex_inner_bulk_load(alex_inner *inner, const uint64_t *keys, uint64_t count,
                         alex_fits_fn fits, alex_make_leaf_fn make_leaf, void *ctx)
{
    if (inner == NULL || (keys == NULL && count > 0) || fits == NULL || make_leaf == NULL) {
        return common_error(ALEXDB_INVALID, "alex: bad bulk load arguments");
    }
    if (inner->node_count != 0) {
        return common_error(ALEXDB_INVALID, "alex: bulk load needs an index of one empty leaf");
    }
    for (uint64_t i = 1; i < count; i++) {
        if (keys[i - 1] >= keys[i]) return common_error(ALEXDB_INVALID, "alex: bulk keys not sorted");
    }
    alex_inner *built = calloc(1, sizeof(*built));
    if (built == NULL) return common_error(ALEXDB_NOMEM, "alex: bulk load: no memory");
    built->free_head = UINT32_MAX;
    bulk_state st = {built, keys, fits, make_leaf, ctx, 1.0, 1, NULL, NULL, NULL, NULL,
                     0, 0, 0, NULL, 0, 0};
    st.search_memo = calloc((size_t)1 << BULK_MEMO_LOG2, sizeof(bulk_memo));
    st.error_memo = calloc((size_t)1 << BULK_MEMO_LOG2, sizeof(bulk_memo));
    int rc = st.search_memo != NULL && st.error_memo != NULL
                 ? bulk_run(&st, count)
                 : common_error(ALEXDB_NOMEM, "alex: bulk load: no memory");
    free(st.search_memo);
    free(st.error_memo);
    free(st.cand);
    free(st.best);
    free(st.stack);
    if (rc != ALEXDB_OK) {
        alex_inner_destroy(built);
        return rc;
    }
    free(inner->nodes); /* no live node: only a table left by merges */
    *inner = *built;
    free(built);
    return ALEXDB_OK;
}
