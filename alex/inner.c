/*
 * inner.c: ALEX's inner nodes, kept in memory: the node table, routing a key to its
 * leaf, the exact key range of a leaf, iteration over the leaves and statistics.
 * Splits and merges live in inner_split.c, the bulk load (fanout tree) in
 * inner_bulk.c, the serialised form in persist.c (docs/FORMAT.md 5).
 *
 * HOW IT WORKS. An inner node is a linear model over a power-of-two number of slots,
 * each leading to a child; a child may hold several consecutive slots (a run). A key
 * descends from the root taking, in each node, the slot its model predicts: a bounded
 * loop, at most ALEX_DEPTH_MAX nodes. Because a node's prediction never decreases as
 * keys grow, each slot owns an interval of keys, and a child owns the union of its
 * slots' intervals. That interval is computed exactly, never estimated: the first key
 * of slot s is found by a binary search on the model's own double-precision
 * predictions (alex_model_first_key_at), so the range reported for a leaf is exactly
 * the set of keys that route to it, bit for bit.
 *
 * The key_base of a node makes the models exact for keys that collide as doubles: a
 * node predicts on key - key_base, and a node made by a split takes the leaf's smallest
 * (or, reversed, largest) key as its base, so the keys it must separate differ by less
 * than the leaf's span, not by their magnitude. Keys on the clamped side of the base
 * all go to the edge slot, which also gives a node one boundary that is exact whatever
 * the model's precision.
 *
 * Memory. ALEX duplicates a child's pointer in every slot it holds; here the slot
 * array is stored as what it is, runs: a bitmap of run starts (with a u32 rank per 64
 * slots past the first 64) and one 4-byte ref per child, so a slot costs 1.5 bits and
 * a child 4 bytes. The child at a slot is children[rank(slot) - 1]: two reads and a
 * popcount more than a plain array, still O(1). Doubling a node doubles only its
 * bitmap, which is what keeps the index within 8 bytes of memory per leaf page
 * whatever phase of growth its nodes are in (a plain 4-byte array swings between 4 and
 * 8/theta bytes per leaf, theta being how full a node is when it doubles).
 *
 * Invariants (cited as I1..I7):
 *   I1  Every inner node is referenced from exactly one run of slots of one parent, or
 *       is the root; every leaf likewise. The references form a tree.
 *   I2  A ref occupies one contiguous run of slots in its node, and every node has
 *       at least two runs; bit 0 of the start bitmap is always set.
 *   I3  Every run owns a non-empty key interval, inside its node's interval.
 *   I4  Depth (inner nodes on a path) <= ALEX_DEPTH_MAX.
 *   I5  slot_count is a power of two in [2, ALEX_INNER_SLOT_COUNT_MAX]; the slot total
 *       over all nodes stays <= ALEX_INNER_SLOT_TOTAL_MAX.
 *   I6  child_count equals the bits set in the start bitmap; ranks[w] counts those
 *       in words before w; node_count, slot_total, leaf_count and heap_size of the
 *       index match the table.
 *   I7  Models are finite with slope >= 0.
 *
 * Concurrency: none inside. The tree layer calls route, range, for_each_leaf and
 * stats under its shared lock, and split, merge and bulk load under its exclusive
 * lock; the functions here never block and never allocate on the routing path.
 */
#include "alex_int.h"

#include <stdlib.h>

#define INNER_HEAP_OVERHEAD 16u /* as in inner_node.c */

static uint32_t node_slot_count(const alex_inner_node *node)
{
    return 1u << node->slot_count_log2;
}

/* The model's output for key as a fractional slot: alex_inner_node_predict before rounding. */
static double node_position(const alex_inner_node *node, uint64_t key)
{
    uint32_t slot_count = node_slot_count(node);
    if (!(node->flags & ALEX_INNER_REVERSED)) {
        if (key < node->key_base) return 0.0;
        return node->model.slope * (double)(key - node->key_base) + node->model.intercept;
    }
    if (key > node->key_base) return (double)slot_count;
    return (double)slot_count -
           (node->model.slope * (double)(node->key_base - key) + node->model.intercept);
}

uint32_t alex_inner_node_predict(const alex_inner_node *node, uint64_t key)
{
    uint32_t slot_count = node_slot_count(node);
    if (!(node->flags & ALEX_INNER_REVERSED)) {
        if (key < node->key_base) return 0;
        return alex_model_predict(&node->model, key - node->key_base, slot_count);
    }
    if (key > node->key_base) return slot_count - 1;
    return slot_count - 1 - alex_model_predict(&node->model, node->key_base - key, slot_count);
}

/*
 * A reversed node routes key <= base to slot S - 1 - p(base - key), where p only grows
 * with base - key. So the keys at a slot >= slot are those with p(d) <= S - 1 - slot:
 * the smallest such key has the largest such d, found from the first d whose p is
 * one more. Keys above base all sit in slot S - 1.
 */
static uint64_t reversed_first_key_at(const alex_inner_node *node, uint32_t slot, uint64_t low,
                                      uint64_t high, bool *found)
{
    uint32_t slot_count = node_slot_count(node);
    uint64_t base = node->key_base;
    *found = true;
    if (low > base) return low;
    uint64_t top = high < base ? high : base;
    uint64_t d_low = base - top;
    uint64_t d_high = base - low;
    uint32_t limit = slot_count - 1 - slot;
    if (alex_model_predict(&node->model, d_low, slot_count) > limit) {
        if (high > base) return base + 1;
        *found = false;
        return high;
    }
    bool beyond = false;
    uint64_t d_first = alex_model_first_key_at(&node->model, slot_count, limit + 1, d_low,
                                               d_high, &beyond);
    ALEXDB_ASSERT(!beyond || d_first > d_low);
    return base - (beyond ? d_first - 1 : d_high);
}

uint64_t alex_inner_node_first_key_at(const alex_inner_node *node, uint32_t slot,
                                      uint64_t low, uint64_t high, bool *found)
{
    ALEXDB_ASSERT(low <= high);
    ALEXDB_ASSERT(slot < node_slot_count(node));
    if (slot == 0) {
        *found = true;
        return low;
    }
    if (node->flags & ALEX_INNER_REVERSED) return reversed_first_key_at(node, slot, low, high, found);
    uint64_t base = node->key_base;
    if (high < base) {
        *found = false;
        return high;
    }
    uint64_t from = low > base ? low - base : 0;
    uint64_t key = alex_model_first_key_at(&node->model, node_slot_count(node), slot, from,
                                           high - base, found);
    return *found ? base + key : high;
}

int alex_inner_create(uint64_t root_page_no, alex_inner **inner_out)
{
    if (inner_out == NULL || root_page_no < 2 || root_page_no > ALEX_LEAF_PAGE_NO_MAX) {
        return common_error(ALEXDB_INVALID, "alex: bad root leaf page %llu",
                            (unsigned long long)root_page_no);
    }
    alex_inner *inner = calloc(1, sizeof(*inner));
    if (inner == NULL) return common_error(ALEXDB_NOMEM, "alex: no memory for the index");
    inner->root = (alex_ref)root_page_no;
    inner->free_head = UINT32_MAX;
    inner->leaf_count = 1;
    *inner_out = inner;
    return ALEXDB_OK;
}

void alex_inner_destroy(alex_inner *inner)
{
    if (inner == NULL) return;
    for (uint32_t i = 0; i < inner->node_used; i++) {
        alex_inner_node *node = &inner->nodes[i];
        if (node->slot_count_log2 == 0) continue;
        if (node->slot_count_log2 > 6) free(node->starts.heap);
        if (node->child_count > 2) free(node->children.heap);
    }
    free(inner->nodes);
    free(inner);
}

void alex_inner_route(const alex_inner *inner, uint64_t key, alex_route *route_out)
{
    ALEXDB_ASSERT(inner != NULL && route_out != NULL);
    alex_ref ref = inner->root;
    uint32_t depth = 0;
    const alex_inner_node *node = NULL;
    uint32_t slot = 0;
    while (ref & ALEX_REF_INNER) {
        ALEXDB_ASSERT(depth < ALEX_DEPTH_MAX); /* I4 */
        uint32_t index = ref & ~ALEX_REF_INNER;
        node = &inner->nodes[index];
        slot = alex_inner_node_predict(node, key);
        route_out->node[depth] = index;
        route_out->slot[depth] = slot;
        depth++;
        ref = alex_inner_node_children(node)[alex_inner_node_child_index(node, slot)];
    }
    ALEXDB_ASSERT(ref != ALEX_REF_NONE);
    route_out->depth = depth;
    route_out->leaf_position =
        node == NULL ? 0.5 : alex_inner_node_run_position(node, slot, node_position(node, key));
    route_out->leaf_page_no = ref;
}

/* Narrows [*low, *high] to the node's child index (I3: never to nothing). */
static void child_range(const alex_inner_node *node, uint32_t index, uint64_t *low, uint64_t *high)
{
    bool found = true;
    uint32_t first = alex_inner_node_run_start(node, index);
    uint32_t end = alex_inner_node_run_start(node, index + 1);
    if (first > 0) {
        *low = alex_inner_node_first_key_at(node, first, *low, *high, &found);
        ALEXDB_ASSERT(found); /* I3 */
    }
    if (end < node_slot_count(node)) {
        uint64_t next = alex_inner_node_first_key_at(node, end, *low, *high, &found);
        ALEXDB_ASSERT(found && next > *low); /* I3 */
        *high = next - 1;
    }
}

void alex_inner_range(const alex_inner *inner, const alex_route *route, uint64_t *low_out,
                      uint64_t *high_out)
{
    ALEXDB_ASSERT(route->depth <= ALEX_DEPTH_MAX);
    uint64_t low = 0;
    uint64_t high = UINT64_MAX;
    for (uint32_t i = 0; i < route->depth; i++) {
        const alex_inner_node *node = &inner->nodes[route->node[i]];
        child_range(node, alex_inner_node_child_index(node, route->slot[i]), &low, &high);
    }
    ALEXDB_ASSERT(low <= high);
    *low_out = low;
    *high_out = high;
}

/* One level of an in-order walk: a node, its next child, the key cursor. */
typedef struct walk_frame {
    uint32_t index;
    uint32_t next_child;
    uint64_t next_low; /* first key of the next child */
    uint64_t high;     /* last key of the node */
} walk_frame;

int alex_inner_for_each_leaf(const alex_inner *inner, alex_leaf_visit_fn fn, void *ctx)
{
    ALEXDB_ASSERT(inner != NULL && fn != NULL);
    if (!(inner->root & ALEX_REF_INNER)) return fn(ctx, inner->root, 0, UINT64_MAX);
    walk_frame stack[ALEX_DEPTH_MAX];
    uint32_t top = 0;
    stack[0] = (walk_frame){inner->root & ~ALEX_REF_INNER, 0, 0, UINT64_MAX};
    for (;;) {
        walk_frame *frame = &stack[top];
        const alex_inner_node *node = &inner->nodes[frame->index];
        if (frame->next_child == node->child_count) {
            if (top == 0) return 0;
            top--;
            continue;
        }
        uint32_t child = frame->next_child++;
        uint64_t low = frame->next_low;
        uint64_t high = frame->high;
        child_range(node, child, &low, &high);
        frame->next_low = high + 1; /* wraps only after the last child, never read then */
        alex_ref ref = alex_inner_node_children(node)[child];
        if (!(ref & ALEX_REF_INNER)) {
            int rc = fn(ctx, ref, low, high);
            if (rc != 0) return rc;
            continue;
        }
        ALEXDB_ASSERT(top + 1 < ALEX_DEPTH_MAX); /* I4 */
        stack[++top] = (walk_frame){ref & ~ALEX_REF_INNER, 0, low, high};
    }
}

/* The longest root-to-leaf path in inner nodes, by the same bounded walk. */
static uint32_t depth_max_get(const alex_inner *inner)
{
    if (!(inner->root & ALEX_REF_INNER)) return 0;
    uint32_t index[ALEX_DEPTH_MAX];
    uint32_t next[ALEX_DEPTH_MAX];
    uint32_t top = 0;
    uint32_t deepest = 1;
    index[0] = inner->root & ~ALEX_REF_INNER;
    next[0] = 0;
    for (;;) {
        const alex_inner_node *node = &inner->nodes[index[top]];
        if (next[top] == node->child_count) {
            if (top == 0) return deepest;
            top--;
            continue;
        }
        alex_ref ref = alex_inner_node_children(node)[next[top]++];
        if (!(ref & ALEX_REF_INNER)) continue;
        ALEXDB_ASSERT(top + 1 < ALEX_DEPTH_MAX); /* I4 */
        top++;
        index[top] = ref & ~ALEX_REF_INNER;
        next[top] = 0;
        if (top + 1 > deepest) deepest = top + 1;
    }
}

void alex_inner_stats_get(const alex_inner *inner, alex_inner_stats *stats_out)
{
    ALEXDB_ASSERT(inner != NULL && stats_out != NULL);
    stats_out->node_count = inner->node_count;
    stats_out->slot_count = inner->slot_total;
    stats_out->leaf_count = inner->leaf_count;
    stats_out->memory_size = sizeof(*inner) + INNER_HEAP_OVERHEAD +
                             (uint64_t)inner->node_capacity * sizeof(alex_inner_node) +
                             (inner->node_capacity > 0 ? INNER_HEAP_OVERHEAD : 0) +
                             inner->heap_size;
    stats_out->depth_max = depth_max_get(inner);
}

/* ---- walking the leaves in key order (cursors) ---- */

void alex_inner_path_from_route(const alex_inner *inner, const alex_route *route,
                                alex_inner_path *path)
{
    ALEXDB_ASSERT(route->depth <= ALEX_DEPTH_MAX);
    path->depth = route->depth;
    for (uint32_t i = 0; i < route->depth; i++) {
        const alex_inner_node *node = &inner->nodes[route->node[i]];
        path->node[i] = route->node[i];
        path->child[i] = alex_inner_node_child_index(node, route->slot[i]);
    }
    path->leaf_page_no = route->leaf_page_no;
}

/*
 * Moves the path to the next leaf in key order: the next child of the deepest node that
 * has one, then first children down to a leaf. A node's children are in key order (its
 * runs of slots are, I1-I3 in inner.c). Returns false after the last leaf. Both loops
 * are bounded by ALEX_DEPTH_MAX.
 */
bool alex_inner_path_next(const alex_inner *inner, alex_inner_path *path)
{
    uint32_t depth = path->depth;
    while (depth > 0) {
        const alex_inner_node *node = &inner->nodes[path->node[depth - 1]];
        if (path->child[depth - 1] + 1u < node->child_count) break;
        depth--;
    }
    if (depth == 0) return false;
    uint32_t child = ++path->child[depth - 1];
    alex_ref ref = alex_inner_node_children(&inner->nodes[path->node[depth - 1]])[child];
    while (ref & ALEX_REF_INNER) {
        ALEXDB_ASSERT(depth < ALEX_DEPTH_MAX); /* I4 */
        path->node[depth] = ref & ~ALEX_REF_INNER;
        path->child[depth] = 0;
        ref = alex_inner_node_children(&inner->nodes[path->node[depth]])[0];
        depth++;
    }
    ALEXDB_ASSERT(ref != ALEX_REF_NONE);
    path->depth = depth;
    path->leaf_page_no = ref;
    return true;
}
