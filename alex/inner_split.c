/*
 * inner_split.c: how the inner nodes change when a leaf splits or is merged away
 * (alex_inner_split, alex_inner_merge). Routing and the node table: inner.c.
 *
 * HOW A LEAF SPLITS, cheapest first (ALEX's order, with a memory rule added):
 *
 *   1. Sideways. The leaf holds slots [a, b) of its parent and its keys fall in at
 *      least two of them: hand the slots from the one nearest the median key onwards
 *      to the new leaf. No memory, no model change.
 *   2. Expand the parent, then sideways, when its slots are mostly single children:
 *      at most 8 slots per child after doubling (a slot costs 1.5 bits, inner.c
 *      "Memory", so that is at most 1.5 bytes per child on top of its 4-byte ref;
 *      with a plain 4-byte slot array this rule could not hold 8 bytes per leaf).
 *      Two exact expansions, both keeping every other child's key range bit for bit:
 *        scale:  model (2s, 2b), each run [a, b) becomes [2a, 2b). Exact because
 *                doubling a double is exact: the new prediction is 2y, so
 *                floor(2y) / 2 == floor(y) and clamping agrees.
 *        extend: the same model over twice the slots, at the node's growth edge
 *                (the right for a plain node, the left for a reversed one): the
 *                clamped edge slot's keys spread over the new slots. Taken for keys
 *                beyond the model's range (sequential and reverse inserts), and
 *                only if at least half the new slots can receive keys at all.
 *   3. Downward. Replace the leaf's run by a new 2-slot node whose base is the
 *      leaf's smallest key (reversed: largest) and whose model sends the keys from
 *      a pivot on to slot 1 (downward_pivot: the median, or the middle of the
 *      widest gap in the middle half, so a leaf filling from both ends (alternating
 *      extremes) is cut in its empty middle). Keys above 2^53 that collide as
 *      doubles: as an offset from the base the pivot is a double >= 1 (never 0); the
 *      slope is nudged up by ulps (then doubled) until the pivot reaches slot 1,
 *      while the base key sits at offset 0 in slot 0 (reversed: the largest key at
 *      offset 0 in slot 1), so both sides always get a key: a downward split never
 *      fails on precision. A leaf at the left edge of its parent whose keys lie
 *      mostly below the parent's model (or whose parent grows leftwards) gets a
 *      reversed node, so descending inserts grow that node leftwards by "extend"
 *      instead of adding a level per split.
 *
 * ALEXDB_FULL only when none applies: depth at ALEX_DEPTH_MAX and the parent cannot
 * expand (at ALEX_INNER_SLOT_COUNT_MAX, or the keys stay in one slot after expanding).
 *
 * Merge gives the leaf's run to a neighbour leaf in the same parent; a parent left
 * with a single child is replaced by that leaf in its own parent (or as the root).
 */
#include "alex_int.h"

#include <math.h>

/* Expansion keeps a node within this many slots per child (see step 2 above). */
#define SPLIT_SLOTS_PER_CHILD_MAX 8u

static uint32_t slot_count_of(const alex_inner_node *node)
{
    return 1u << node->slot_count_log2;
}

static alex_inner_node *route_node(alex_inner *inner, const alex_route *route, uint32_t level)
{
    return &inner->nodes[route->node[level]];
}

/*
 * Step 1 for the node's child (whose keys are keys[0..count)): picks the slot boundary
 * between two keys nearest the median. *done_out false if all keys share a slot.
 */
static int split_sideways(alex_inner *inner, alex_inner_node *node, uint32_t child,
                          const uint64_t *keys, uint32_t count, uint64_t low, uint64_t high,
                          alex_ref new_ref, uint64_t *boundary_out, bool *done_out)
{
    *done_out = false;
    uint32_t pred_first = alex_inner_node_predict(node, keys[0]);
    uint32_t pred_last = alex_inner_node_predict(node, keys[count - 1]);
    ALEXDB_ASSERT(pred_first >= alex_inner_node_run_start(node, child));
    ALEXDB_ASSERT(pred_last < alex_inner_node_run_start(node, child + 1));
    if (pred_first == pred_last) return ALEXDB_OK;
    uint32_t best = 0;
    uint32_t best_distance = UINT32_MAX;
    uint32_t prev = pred_first;
    for (uint32_t i = 1; i < count; i++) {
        uint32_t pred = alex_inner_node_predict(node, keys[i]);
        if (pred == prev) continue;
        uint32_t distance = i > count / 2 ? i - count / 2 : count / 2 - i;
        if (distance < best_distance) {
            best = i;
            best_distance = distance;
        }
        prev = pred;
    }
    ALEXDB_ASSERT(best > 0);
    uint32_t boundary_slot = alex_inner_node_predict(node, keys[best]);
    bool found = false;
    uint64_t boundary = alex_inner_node_first_key_at(node, boundary_slot, low, high, &found);
    ALEXDB_ASSERT(found && keys[best - 1] < boundary && boundary <= keys[best]);
    int rc = alex_inner_node_split_run(inner, node, child, boundary_slot, new_ref);
    if (rc != ALEXDB_OK) return rc;
    inner->leaf_count++;
    *boundary_out = boundary;
    *done_out = true;
    return ALEXDB_OK;
}

/* The model's unclamped position for a key, measured towards the growth edge. */
static double edge_position(const alex_inner_node *node, uint64_t key)
{
    uint64_t offset = (node->flags & ALEX_INNER_REVERSED) ? node->key_base - key
                                                          : key - node->key_base;
    return node->model.slope * (double)offset + node->model.intercept;
}

/* Whether the child sits at the node's growth edge, where "extend" adds slots. */
static bool at_growth_edge(const alex_inner_node *node, uint32_t child)
{
    if (node->flags & ALEX_INNER_REVERSED) return child == 0;
    return child + 1 == node->child_count;
}

/*
 * The node as it would be after an expansion of kind, in *out (a copy sharing the
 * bitmap: only predict may be used on it); false if that expansion is impossible or
 * would waste most new slots.
 */
static bool expanded_shape(const alex_inner_node *node, int kind, alex_inner_node *out)
{
    *out = *node;
    out->slot_count_log2 = (uint8_t)(node->slot_count_log2 + 1);
    if (kind == ALEX_INNER_EXPAND_SCALE) {
        out->model.slope = node->model.slope * 2.0;
        out->model.intercept = node->model.intercept * 2.0;
        return isfinite(out->model.slope) && isfinite(out->model.intercept);
    }
    /* extend: at least half of the new slots must lie inside the key domain */
    bool reversed = node->flags & ALEX_INNER_REVERSED;
    uint64_t far_key = reversed ? 0 : UINT64_MAX;
    if (reversed ? far_key > node->key_base : far_key < node->key_base) return false;
    return edge_position(node, far_key) >= 1.5 * (double)slot_count_of(node);
}

/* Whether the node separates keys[0] and keys[count-1] (so, by monotony, can split them). */
static bool separates(const alex_inner_node *node, const uint64_t *keys, uint32_t count)
{
    return alex_inner_node_predict(node, keys[0]) != alex_inner_node_predict(node, keys[count - 1]);
}

/*
 * Step 2: expands the node if the memory rule allows and an expansion separates the
 * keys. *done_out false: nothing changed. Extension comes first for keys beyond the
 * model's range at the growth edge (sequential and reverse inserts).
 */
static int try_expand(alex_inner *inner, alex_inner_node *node, uint32_t child,
                      const uint64_t *keys, uint32_t count, bool *done_out)
{
    *done_out = false;
    uint32_t slot_count = slot_count_of(node);
    if (slot_count * 2 > ALEX_INNER_SLOT_COUNT_MAX) return ALEXDB_OK;
    if (inner->slot_total + slot_count > ALEX_INNER_SLOT_TOTAL_MAX) return ALEXDB_OK;
    if (2 * (uint64_t)slot_count > SPLIT_SLOTS_PER_CHILD_MAX * (uint64_t)node->child_count) {
        return ALEXDB_OK;
    }
    int order[2] = {ALEX_INNER_EXPAND_SCALE, ALEX_INNER_EXPAND_EXTEND};
    bool edge = at_growth_edge(node, child);
    if (edge) {
        uint64_t far = (node->flags & ALEX_INNER_REVERSED) ? keys[0] : keys[count - 1];
        if (edge_position(node, far) >= (double)slot_count) {
            order[0] = ALEX_INNER_EXPAND_EXTEND;
            order[1] = ALEX_INNER_EXPAND_SCALE;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (order[i] == ALEX_INNER_EXPAND_EXTEND && !edge) continue;
        alex_inner_node shape;
        if (!expanded_shape(node, order[i], &shape) || !separates(&shape, keys, count)) continue;
        int rc = alex_inner_node_expand(inner, node, order[i]);
        if (rc != ALEXDB_OK) return rc;
        node->model = shape.model;
        *done_out = true;
        return ALEXDB_OK;
    }
    return ALEXDB_OK;
}

/*
 * Whether the node made by a downward split should grow leftwards: at its parent's left
 * edge, when the parent grows leftwards or most of the keys lie below its model.
 */
static bool downward_reversed(const alex_inner *inner, const alex_route *route, uint32_t child,
                              const uint64_t *keys, uint32_t count)
{
    if (route->depth == 0 || child != 0) return false;
    const alex_inner_node *parent = &inner->nodes[route->node[route->depth - 1]];
    if (parent->flags & ALEX_INNER_REVERSED) return true;
    return keys[count / 2] < parent->key_base;
}

/*
 * Where a downward split cuts: between keys[i - 1] and keys[i] for the i in the middle
 * half with the widest gap (the one nearest the median among equals). Keys spread
 * evenly cut at the median; keys arriving at both ends of a leaf (alternating
 * extremes) cut in the empty middle, so neither side's later inserts land in the
 * other's leaf. Returns the first key of the upper side, the gap's midpoint.
 */
static uint64_t downward_pivot(const uint64_t *keys, uint32_t count)
{
    uint32_t lo = count / 4 > 1 ? count / 4 : 1;
    uint32_t hi = count - count / 4 < count - 1 ? count - count / 4 : count - 1;
    uint32_t best = lo;
    for (uint32_t i = lo; i <= hi; i++) {
        uint64_t gap = keys[i] - keys[i - 1];
        uint64_t best_gap = keys[best] - keys[best - 1];
        uint32_t distance = i > count / 2 ? i - count / 2 : count / 2 - i;
        uint32_t best_distance = best > count / 2 ? best - count / 2 : count / 2 - best;
        if (gap > best_gap || (gap == best_gap && distance < best_distance)) best = i;
    }
    uint64_t gap = keys[best] - keys[best - 1];
    return keys[best - 1] + gap / 2 + (gap & 1); /* in (keys[best - 1], keys[best]] */
}

/* Step 3: the parent's child (or the root) becomes a 2-slot node over the leaf and the new one. */
static int split_downward(alex_inner *inner, const alex_route *route, uint32_t child,
                          const uint64_t *keys, uint32_t count, uint64_t low, uint64_t high,
                          alex_ref new_ref, uint64_t *boundary_out)
{
    bool reversed = downward_reversed(inner, route, child, keys, count);
    uint32_t index = 0;
    int rc = alex_inner_node_new(inner, 1, 2, &index);
    if (rc != ALEXDB_OK) return rc;
    alex_inner_node *node = &inner->nodes[index];
    uint64_t pivot = downward_pivot(keys, count); /* keys[0] < pivot <= keys[count - 1] */
    if (!reversed) {
        node->key_base = keys[0];
        node->model.slope = alex_model_slope_reaching_one(pivot - keys[0]);
    } else {
        node->flags = ALEX_INNER_REVERSED;
        node->key_base = keys[count - 1];
        node->model.slope = alex_model_slope_reaching_one(keys[count - 1] - (pivot - 1));
    }
    node->model.intercept = 0.0;
    ALEXDB_ASSERT(alex_inner_node_predict(node, keys[0]) == 0);
    ALEXDB_ASSERT(alex_inner_node_predict(node, keys[count - 1]) == 1);
    bool found = false;
    uint64_t boundary = alex_inner_node_first_key_at(node, 1, low, high, &found);
    ALEXDB_ASSERT(found && keys[0] < boundary && boundary <= keys[count - 1]);
    alex_inner_node_set_run(node, 0, 0, (alex_ref)route->leaf_page_no);
    alex_inner_node_set_run(node, 1, 1, new_ref);
    alex_inner_node_seal(node);
    if (route->depth == 0) {
        inner->root = ALEX_REF_INNER | index;
    } else {
        alex_inner_node *parent = route_node(inner, route, route->depth - 1); /* after new() */
        alex_inner_node_children(parent)[child] = ALEX_REF_INNER | index;
    }
    inner->leaf_count++;
    *boundary_out = boundary;
    return ALEXDB_OK;
}

/* The route must be current: each node's slot leads to the next, the last to the leaf. */
static void check_route(const alex_inner *inner, const alex_route *route)
{
    ALEXDB_ASSERT(route->depth <= ALEX_DEPTH_MAX);
    alex_ref ref = inner->root;
    for (uint32_t i = 0; i < route->depth; i++) {
        ALEXDB_ASSERT(ref == (ALEX_REF_INNER | route->node[i]));
        const alex_inner_node *node = &inner->nodes[route->node[i]];
        ALEXDB_ASSERT(route->slot[i] < slot_count_of(node));
        ref = alex_inner_node_children(node)[alex_inner_node_child_index(node, route->slot[i])];
    }
    ALEXDB_ASSERT(ref == route->leaf_page_no);
}

/* Steps 1-3 of the top comment, in order. */
static int split_any(alex_inner *inner, const alex_route *route, const uint64_t *keys,
                     uint32_t count, uint64_t low, uint64_t high, alex_ref new_ref,
                     uint64_t *boundary_out)
{
    if (route->depth == 0) {
        return split_downward(inner, route, 0, keys, count, low, high, new_ref, boundary_out);
    }
    alex_inner_node *parent = route_node(inner, route, route->depth - 1);
    uint32_t child = alex_inner_node_child_index(parent, route->slot[route->depth - 1]);
    bool done = false;
    int rc = split_sideways(inner, parent, child, keys, count, low, high, new_ref, boundary_out,
                            &done);
    if (rc != ALEXDB_OK || done) return rc;
    rc = try_expand(inner, parent, child, keys, count, &done);
    if (rc != ALEXDB_OK) return rc;
    if (done) {
        rc = split_sideways(inner, parent, child, keys, count, low, high, new_ref, boundary_out,
                            &done);
        ALEXDB_ASSERT(rc != ALEXDB_OK || done); /* the expansion separated the keys */
        return rc;
    }
    if (route->depth == ALEX_DEPTH_MAX) {
        return common_error(ALEXDB_FULL, "alex: leaf %llu cannot split: depth %u",
                            (unsigned long long)route->leaf_page_no, route->depth);
    }
    return split_downward(inner, route, child, keys, count, low, high, new_ref, boundary_out);
}

int alex_inner_split(alex_inner *inner, const alex_route *route, const uint64_t *keys,
                     uint32_t count, uint64_t new_page_no, uint64_t *boundary_out)
{
    if (inner == NULL || route == NULL || keys == NULL || boundary_out == NULL || count < 2 ||
        new_page_no < 2 || new_page_no > ALEX_LEAF_PAGE_NO_MAX) {
        return common_error(ALEXDB_INVALID, "alex: bad split arguments");
    }
    check_route(inner, route);
    uint64_t low = 0;
    uint64_t high = 0;
    alex_inner_range(inner, route, &low, &high);
    ALEXDB_ASSERT(keys[0] >= low && keys[count - 1] <= high);
    for (uint32_t i = 1; i < count; i++) ALEXDB_ASSERT(keys[i - 1] < keys[i]);
    return split_any(inner, route, keys, count, low, high, (alex_ref)new_page_no, boundary_out);
}

int alex_inner_merge(alex_inner *inner, const alex_route *route, uint64_t *survivor_out)
{
    if (inner == NULL || route == NULL || survivor_out == NULL) {
        return common_error(ALEXDB_INVALID, "alex: bad merge arguments");
    }
    check_route(inner, route);
    if (route->depth == 0) return ALEXDB_NOTFOUND;
    uint32_t level = route->depth - 1;
    alex_inner_node *parent = route_node(inner, route, level);
    const alex_ref *children = alex_inner_node_children(parent);
    uint32_t child = alex_inner_node_child_index(parent, route->slot[level]);
    alex_ref survivor = ALEX_REF_NONE;
    bool into_left = child > 0 && !(children[child - 1] & ALEX_REF_INNER);
    if (into_left) survivor = children[child - 1];
    else if (child + 1 < parent->child_count && !(children[child + 1] & ALEX_REF_INNER)) {
        survivor = children[child + 1];
    }
    if (survivor == ALEX_REF_NONE) return ALEXDB_NOTFOUND;
    alex_inner_node_merge_run(inner, parent, child, into_left);
    inner->leaf_count--;
    *survivor_out = survivor;
    if (parent->child_count > 1) return ALEXDB_OK;
    /* The parent has one child left: that leaf takes the parent's place (I2). */
    if (level == 0) {
        inner->root = survivor;
    } else {
        alex_inner_node *grand = route_node(inner, route, level - 1);
        alex_inner_node_children(grand)[alex_inner_node_child_index(grand, route->slot[level - 1])] =
            survivor;
    }
    alex_inner_node_free(inner, route->node[level]);
    return ALEXDB_OK;
}
