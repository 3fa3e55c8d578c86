/*
 * inner_node.c: the inner-node table and each node's slots, stored as runs: a bitmap
 * of the slots where a child's run starts (plus, past 64 slots, a u32 rank per 64-bit
 * word: how many starts come before it) and an array of one 4-byte ref per child.
 * The ref at slot s is children[rank(s) - 1], rank(s) counting the starts at or
 * before s (inner.c explains why: memory). Everything here keeps invariants I2, I5
 * and I6 of inner.c, and the index's counters (node_count, slot_total, heap_size).
 *
 * Allocation: a node of at most 64 slots keeps its bitmap inline, one of at most two
 * children keeps its refs inline; otherwise one block for the bitmap and ranks and
 * one for the refs, whose capacity is a function of the child count (steps of an
 * eighth), so memory follows the count closely and is accounted exactly.
 */
#include "alex_int.h"

#include <stdlib.h>

/* What one malloc'd block costs beyond its bytes (glibc: a size word, 16-byte rounding). */
#define NODE_HEAP_OVERHEAD 16u
#define NODE_NONE UINT32_MAX

static uint32_t slot_count_of(const alex_inner_node *node)
{
    return 1u << node->slot_count_log2;
}

static uint64_t *start_words(const alex_inner_node *node)
{
    if (node->slot_count_log2 <= 6) return (uint64_t *)&node->starts.local;
    return node->starts.heap;
}

static uint32_t *rank_words(const alex_inner_node *node)
{
    ALEXDB_ASSERT(node->slot_count_log2 > 6);
    return (uint32_t *)(node->starts.heap + (slot_count_of(node) >> 6));
}

static uint64_t starts_heap_size(uint32_t slot_count_log2)
{
    if (slot_count_log2 <= 6) return 0;
    return ((1ull << slot_count_log2) >> 6) * 12 + NODE_HEAP_OVERHEAD;
}

/* Room for refs: 2 inline, else the count rounded up to an eighth of its power of two. */
static uint32_t children_capacity(uint32_t count)
{
    if (count <= 2) return 2;
    uint32_t top = 1u << (31 - __builtin_clz(count));
    uint32_t step = top / 8 > 4 ? top / 8 : 4;
    return (count + step - 1) / step * step;
}

static uint64_t children_heap_size(uint32_t count)
{
    if (count <= 2) return 0;
    return (uint64_t)children_capacity(count) * sizeof(alex_ref) + NODE_HEAP_OVERHEAD;
}

alex_ref *alex_inner_node_children(const alex_inner_node *node)
{
    ALEXDB_ASSERT(node->slot_count_log2 >= 1);
    if (node->child_count <= 2) return (alex_ref *)node->children.local;
    return node->children.heap;
}

uint32_t alex_inner_node_child_index(const alex_inner_node *node, uint32_t slot)
{
    uint64_t mask = ((uint64_t)2 << (slot & 63)) - 1; /* bits 0..slot%64 */
    if (node->slot_count_log2 <= 6) {
        return common_popcount64(node->starts.local & mask) - 1; /* bit 0 set: I2 */
    }
    uint32_t word = slot >> 6;
    return rank_words(node)[word] + common_popcount64(node->starts.heap[word] & mask) - 1;
}

/* The position of the (n+1)-th set bit of bits (n < popcount). */
static uint32_t select_in_word(uint64_t bits, uint32_t n)
{
    ALEXDB_ASSERT(n < common_popcount64(bits));
    for (uint32_t i = 0; i < n; i++) bits &= bits - 1;
    return (uint32_t)__builtin_ctzll(bits);
}

uint32_t alex_inner_node_run_start(const alex_inner_node *node, uint32_t index)
{
    ALEXDB_ASSERT(index <= node->child_count);
    if (index == node->child_count) return slot_count_of(node);
    if (node->slot_count_log2 <= 6) return select_in_word(node->starts.local, index);
    /* The word holding it is the last whose rank is <= index. */
    const uint32_t *ranks = rank_words(node);
    uint32_t lo = 0;
    uint32_t hi = (slot_count_of(node) >> 6) - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (ranks[mid] <= index) lo = mid;
        else hi = mid - 1;
    }
    return lo * 64 + select_in_word(node->starts.heap[lo], index - ranks[lo]);
}

uint32_t alex_inner_node_next_run_start(const alex_inner_node *node, uint32_t slot)
{
    uint32_t slot_count = slot_count_of(node);
    ALEXDB_ASSERT(slot < slot_count);
    const uint64_t *words = start_words(node);
    uint32_t word_count = slot_count > 64 ? slot_count >> 6 : 1;
    uint32_t w = slot >> 6;
    uint64_t bits = words[w] & ~(((uint64_t)2 << (slot & 63)) - 1); /* bits after slot%64 */
    while (bits == 0) {
        if (++w == word_count) return slot_count;
        bits = words[w];
    }
    return COMMON_MIN((w << 6) + (uint32_t)__builtin_ctzll(bits), slot_count);
}

double alex_inner_node_run_position(const alex_inner_node *node, uint32_t slot, double y)
{
    uint32_t slot_count = slot_count_of(node);
    ALEXDB_ASSERT(slot < slot_count);
    const uint64_t *words = start_words(node);
    uint32_t word_count = slot_count > 64 ? slot_count >> 6 : 1;
    uint32_t w = slot >> 6;
    uint64_t mask = ((uint64_t)2 << (slot & 63)) - 1; /* bits 0..slot%64 */
    uint64_t bits = words[w] & mask;
    if (bits == 0 && w > 0) bits = words[--w];
    if (bits == 0) return 0.5; /* the run starts more than a word back */
    uint32_t first = (w << 6) + 63u - (uint32_t)__builtin_clzll(bits);
    w = slot >> 6;
    bits = words[w] & ~mask;
    if (bits == 0 && w + 1 < word_count) bits = words[++w];
    uint32_t end;
    if (bits != 0) end = COMMON_MIN((w << 6) + (uint32_t)__builtin_ctzll(bits), slot_count);
    else if (w + 1 >= word_count) end = slot_count;
    else return 0.5; /* the run ends more than a word on */
    if (!(y >= (double)slot)) y = (double)slot; /* also catches NaN */
    if (y >= (double)slot + 1.0) y = (double)slot + 0.999;
    return (y - (double)first) / (double)(end - first);
}

static void ranks_rebuild(alex_inner_node *node)
{
    if (node->slot_count_log2 <= 6) return;
    uint32_t words = slot_count_of(node) >> 6;
    uint32_t *ranks = rank_words(node);
    uint32_t count = 0;
    for (uint32_t w = 0; w < words; w++) {
        ranks[w] = count;
        count += common_popcount64(node->starts.heap[w]);
    }
}

/* Adds delta to the ranks of the words after slot's (a start bit set or cleared at slot). */
static void ranks_shift(alex_inner_node *node, uint32_t slot, int32_t delta)
{
    if (node->slot_count_log2 <= 6) return;
    uint32_t words = slot_count_of(node) >> 6;
    uint32_t *ranks = rank_words(node);
    for (uint32_t w = (slot >> 6) + 1; w < words; w++) ranks[w] = (uint32_t)((int32_t)ranks[w] + delta);
}

static int table_grow(alex_inner *inner)
{
    if (inner->node_capacity >= (ALEX_REF_INNER >> 1)) {
        return common_error(ALEXDB_FULL, "alex: inner node table is full");
    }
    uint32_t capacity = inner->node_capacity == 0 ? 8 : inner->node_capacity * 2;
    alex_inner_node *nodes = realloc(inner->nodes, (size_t)capacity * sizeof(*nodes));
    if (nodes == NULL) return common_error(ALEXDB_NOMEM, "alex: no memory for the node table");
    inner->nodes = nodes;
    inner->node_capacity = capacity;
    return ALEXDB_OK;
}

int alex_inner_node_new(alex_inner *inner, uint32_t slot_count_log2, uint32_t child_count,
                        uint32_t *index_out)
{
    ALEXDB_ASSERT(slot_count_log2 >= 1 && (1u << slot_count_log2) <= ALEX_INNER_SLOT_COUNT_MAX);
    ALEXDB_ASSERT(child_count >= 2 && child_count <= (1u << slot_count_log2)); /* I2 */
    uint32_t slot_count = 1u << slot_count_log2;
    if (inner->slot_total + slot_count > ALEX_INNER_SLOT_TOTAL_MAX) {
        return common_error(ALEXDB_FULL, "alex: inner slot total would exceed %u",
                            ALEX_INNER_SLOT_TOTAL_MAX);
    }
    uint64_t *starts = NULL;
    alex_ref *children = NULL;
    if (slot_count_log2 > 6) starts = calloc(slot_count >> 6, 12);
    if (child_count > 2) children = calloc(children_capacity(child_count), sizeof(alex_ref));
    if ((slot_count_log2 > 6 && starts == NULL) || (child_count > 2 && children == NULL) ||
        (inner->free_head == NODE_NONE && inner->node_used == inner->node_capacity &&
         table_grow(inner) != ALEXDB_OK)) {
        free(starts);
        free(children);
        return common_error(ALEXDB_NOMEM, "alex: no memory for an inner node");
    }
    uint32_t index = inner->free_head;
    if (index != NODE_NONE) inner->free_head = inner->nodes[index].child_count;
    else index = inner->node_used++;
    alex_inner_node *node = &inner->nodes[index];
    memset(node, 0, sizeof(*node));
    node->slot_count_log2 = (uint8_t)slot_count_log2;
    node->child_count = child_count;
    if (starts != NULL) node->starts.heap = starts;
    if (children != NULL) node->children.heap = children;
    inner->heap_size += starts_heap_size(slot_count_log2) + children_heap_size(child_count);
    inner->node_count++;
    inner->slot_total += slot_count;
    *index_out = index;
    return ALEXDB_OK;
}

void alex_inner_node_set_run(alex_inner_node *node, uint32_t index, uint32_t first_slot,
                             alex_ref ref)
{
    ALEXDB_ASSERT(index < node->child_count && first_slot < slot_count_of(node));
    ALEXDB_ASSERT((index == 0) == (first_slot == 0));
    start_words(node)[first_slot >> 6] |= 1ull << (first_slot & 63);
    alex_inner_node_children(node)[index] = ref;
}

void alex_inner_node_seal(alex_inner_node *node)
{
    ranks_rebuild(node);
    uint32_t words = node->slot_count_log2 <= 6 ? 1 : slot_count_of(node) >> 6;
    uint64_t count = 0;
    for (uint32_t w = 0; w < words; w++) count += (uint64_t)common_popcount64(start_words(node)[w]);
    ALEXDB_ASSERT(count == node->child_count && (start_words(node)[0] & 1)); /* I2, I6 */
}

void alex_inner_node_free(alex_inner *inner, uint32_t index)
{
    ALEXDB_ASSERT(index < inner->node_used);
    alex_inner_node *node = &inner->nodes[index];
    ALEXDB_ASSERT(node->slot_count_log2 >= 1);
    if (node->slot_count_log2 > 6) free(node->starts.heap);
    if (node->child_count > 2) free(node->children.heap);
    inner->heap_size -= starts_heap_size(node->slot_count_log2) + children_heap_size(node->child_count);
    inner->slot_total -= slot_count_of(node);
    inner->node_count--;
    memset(node, 0, sizeof(*node));
    node->child_count = inner->free_head;
    inner->free_head = index;
}

/*
 * Gives the node room for new_count refs, keeping the first min(old, new) in place;
 * child_count is left to the caller, so *refs_out is the array to use until then.
 * A shrink that realloc refuses keeps the larger block (still big enough).
 */
static int children_resize(alex_inner *inner, alex_inner_node *node, uint32_t new_count,
                           alex_ref **refs_out)
{
    uint32_t old_count = node->child_count;
    bool old_inline = old_count <= 2;
    bool new_inline = new_count <= 2;
    *refs_out = alex_inner_node_children(node);
    if (old_inline && new_inline) return ALEXDB_OK;
    if (!old_inline && !new_inline && children_capacity(old_count) == children_capacity(new_count)) {
        return ALEXDB_OK;
    }
    if (new_inline) {
        alex_ref *heap = node->children.heap;
        alex_ref keep[2] = {heap[0], heap[1]};
        free(heap);
        memcpy(node->children.local, keep, sizeof(keep));
        *refs_out = node->children.local;
    } else {
        size_t size = children_capacity(new_count) * sizeof(alex_ref);
        alex_ref *heap = old_inline ? malloc(size) : realloc(node->children.heap, size);
        if (heap == NULL && new_count > old_count) {
            return common_error(ALEXDB_NOMEM, "alex: no memory for a node's children");
        }
        if (heap == NULL) heap = node->children.heap;
        if (old_inline) memcpy(heap, node->children.local, old_count * sizeof(alex_ref));
        node->children.heap = heap;
        *refs_out = heap;
    }
    inner->heap_size = inner->heap_size - children_heap_size(old_count) + children_heap_size(new_count);
    return ALEXDB_OK;
}

int alex_inner_node_split_run(alex_inner *inner, alex_inner_node *node, uint32_t index,
                              uint32_t slot, alex_ref ref)
{
    ALEXDB_ASSERT(alex_inner_node_run_start(node, index) < slot);
    ALEXDB_ASSERT(slot < alex_inner_node_run_start(node, index + 1));
    uint32_t count = node->child_count;
    alex_ref *refs = NULL;
    int rc = children_resize(inner, node, count + 1, &refs);
    if (rc != ALEXDB_OK) return rc;
    memmove(refs + index + 2, refs + index + 1, (size_t)(count - index - 1) * sizeof(alex_ref));
    refs[index + 1] = ref;
    node->child_count = count + 1;
    start_words(node)[slot >> 6] |= 1ull << (slot & 63);
    ranks_shift(node, slot, 1);
    return ALEXDB_OK;
}

void alex_inner_node_merge_run(alex_inner *inner, alex_inner_node *node, uint32_t index,
                               bool into_left)
{
    uint32_t count = node->child_count;
    ALEXDB_ASSERT(count > 2 || (count == 2 && index < 2)); /* a node keeps one run at least */
    ALEXDB_ASSERT(into_left ? index > 0 : index + 1 < count);
    uint32_t boundary = alex_inner_node_run_start(node, into_left ? index : index + 1);
    start_words(node)[boundary >> 6] &= ~(1ull << (boundary & 63));
    ranks_shift(node, boundary, -1);
    alex_ref *refs = alex_inner_node_children(node);
    memmove(refs + index, refs + index + 1, (size_t)(count - index - 1) * sizeof(alex_ref));
    int rc = children_resize(inner, node, count - 1, &refs);
    ALEXDB_ASSERT(rc == ALEXDB_OK); /* shrinking never fails */
    node->child_count = count - 1;
}

/* Where an old run start lands after an expansion of kind (alex_int.h). */
static uint32_t expanded_slot(const alex_inner_node *node, int kind, uint32_t slot)
{
    if (kind == ALEX_INNER_EXPAND_SCALE) return 2 * slot;
    if (!(node->flags & ALEX_INNER_REVERSED) || slot == 0) return slot;
    return slot + slot_count_of(node); /* reversed: the new slots come first */
}

int alex_inner_node_expand(alex_inner *inner, alex_inner_node *node, int kind)
{
    uint32_t old_log2 = node->slot_count_log2;
    uint32_t new_count = 2u << old_log2;
    ALEXDB_ASSERT(new_count <= ALEX_INNER_SLOT_COUNT_MAX);
    if (inner->slot_total + (new_count >> 1) > ALEX_INNER_SLOT_TOTAL_MAX) {
        return common_error(ALEXDB_FULL, "alex: inner slot total would exceed %u",
                            ALEX_INNER_SLOT_TOTAL_MAX);
    }
    uint64_t local = 0;
    uint64_t *words = &local;
    if (old_log2 + 1 > 6) {
        words = calloc(new_count >> 6, 12);
        if (words == NULL) return common_error(ALEXDB_NOMEM, "alex: no memory to expand a node");
    }
    const uint64_t *old = start_words(node);
    uint32_t old_words = old_log2 <= 6 ? 1 : (1u << old_log2) >> 6;
    for (uint32_t w = 0; w < old_words; w++) {
        for (uint64_t bits = old[w]; bits != 0; bits &= bits - 1) {
            uint32_t slot = expanded_slot(node, kind, w * 64 + (uint32_t)__builtin_ctzll(bits));
            words[slot >> 6] |= 1ull << (slot & 63);
        }
    }
    if (old_log2 > 6) free(node->starts.heap);
    inner->heap_size = inner->heap_size - starts_heap_size(old_log2) + starts_heap_size(old_log2 + 1);
    inner->slot_total += new_count >> 1;
    node->slot_count_log2 = (uint8_t)(old_log2 + 1);
    if (old_log2 + 1 > 6) node->starts.heap = words;
    else node->starts.local = local;
    alex_inner_node_seal(node);
    return ALEXDB_OK;
}
