/*
 * persist.c: the inner nodes' serialised form, docs/FORMAT.md 5 (alex_inner_encode,
 * alex_inner_decode). The tree layer stores the stream in pages of kind 5.
 *
 * The stream is a header and the nodes in preorder, each node's slots run-length
 * encoded (a child holds several consecutive slots). Preorder makes a parent's index
 * smaller than its children's, so the decoder proves the references form a tree in
 * one forward pass: every node but the root must already have been referenced exactly
 * once by the time it is read, which rules out cycles and orphans without recursion.
 *
 * The decoder treats the bytes as hostile: every read is bounds-checked, every count
 * is checked against the bytes that could hold it before anything is allocated, loops
 * are bounded by the stream's size, and nothing is built until all of FORMAT.md 5's
 * "valid iff" rules hold, including that every child owns a non-empty key range
 * (inner.c invariant I3), which routing and iteration assert.
 */
#include "alex_int.h"

#include <math.h>
#include <stdlib.h>

#define PERSIST_MAGIC 0x4E495841u /* bytes "AXIN" */
#define PERSIST_VERSION 1u
#define PERSIST_HEADER_SIZE 40u
#define PERSIST_NODE_SIZE 32u /* before its runs */
#define PERSIST_RUN_SIZE 8u
#define PERSIST_NODE_SIZE_MIN (PERSIST_NODE_SIZE + 2 * PERSIST_RUN_SIZE)

/* Header field offsets (FORMAT.md 5.1). */
#define PERSIST_HDR_CHECKSUM 0u
#define PERSIST_HDR_MAGIC 8u
#define PERSIST_HDR_VERSION 12u
#define PERSIST_HDR_RESERVED 13u
#define PERSIST_HDR_SIZE 16u
#define PERSIST_HDR_ROOT 24u
#define PERSIST_HDR_NODE_COUNT 28u
#define PERSIST_HDR_SLOT_TOTAL 32u
_Static_assert(PERSIST_HDR_SLOT_TOTAL + 8 == PERSIST_HEADER_SIZE, "header fields fill the header");

/* Node field offsets (FORMAT.md 5.2). */
#define PERSIST_NODE_LOG2 0u
#define PERSIST_NODE_FLAGS 1u
#define PERSIST_NODE_RESERVED 2u
#define PERSIST_NODE_RUN_COUNT 4u
#define PERSIST_NODE_SLOPE 8u
#define PERSIST_NODE_INTERCEPT 16u
#define PERSIST_NODE_BASE 24u
_Static_assert(PERSIST_NODE_BASE + 8 == PERSIST_NODE_SIZE, "node fields fill the node header");

static uint64_t stream_checksum(const uint8_t *bytes, size_t size)
{
    return common_checksum(bytes + PERSIST_HDR_MAGIC, size - PERSIST_HDR_MAGIC);
}

/* ---- encode ------------------------------------------------------------------- */

/*
 * Numbers the live nodes in preorder: order[new] = old index, renumber[old] = new.
 * Returns the stream size. A bounded walk (depth <= ALEX_DEPTH_MAX, inner.c I4).
 */
static size_t encode_plan(const alex_inner *inner, uint32_t *order, uint32_t *renumber)
{
    size_t size = PERSIST_HEADER_SIZE;
    if (!(inner->root & ALEX_REF_INNER)) return size;
    uint32_t index[ALEX_DEPTH_MAX];
    uint32_t next[ALEX_DEPTH_MAX];
    uint32_t top = 0;
    uint32_t count = 0;
    index[0] = inner->root & ~ALEX_REF_INNER;
    next[0] = 0;
    renumber[index[0]] = count;
    order[count++] = index[0];
    for (;;) {
        const alex_inner_node *node = &inner->nodes[index[top]];
        if (next[top] == 0) size += PERSIST_NODE_SIZE + (size_t)node->child_count * PERSIST_RUN_SIZE;
        if (next[top] == node->child_count) {
            if (top == 0) break;
            top--;
            continue;
        }
        alex_ref ref = alex_inner_node_children(node)[next[top]++];
        if (!(ref & ALEX_REF_INNER)) continue;
        ALEXDB_ASSERT(top + 1 < ALEX_DEPTH_MAX);
        top++;
        index[top] = ref & ~ALEX_REF_INNER;
        next[top] = 0;
        renumber[index[top]] = count;
        order[count++] = index[top];
    }
    ALEXDB_ASSERT(count == inner->node_count);
    return size;
}

static uint8_t *encode_node(const alex_inner_node *node, const uint32_t *renumber, uint8_t *p)
{
    ALEXDB_ASSERT(node->child_count >= 2); /* I2 */
    p[PERSIST_NODE_LOG2] = node->slot_count_log2;
    p[PERSIST_NODE_FLAGS] = node->flags;
    common_store_u16le(p + PERSIST_NODE_RESERVED, 0);
    common_store_u32le(p + PERSIST_NODE_RUN_COUNT, node->child_count);
    common_store_f64le(p + PERSIST_NODE_SLOPE, node->model.slope);
    common_store_f64le(p + PERSIST_NODE_INTERCEPT, node->model.intercept);
    common_store_u64le(p + PERSIST_NODE_BASE, node->key_base);
    p += PERSIST_NODE_SIZE;
    const alex_ref *children = alex_inner_node_children(node);
    uint32_t first = 0; /* run 0 starts at slot 0 (I2) */
    for (uint32_t k = 0; k < node->child_count; k++) {
        /* Not run_start(k + 1): a search per run made a checkpoint's begin ~0.5 ms longer
         * with 14 K leaves, all of it with writers held out. */
        uint32_t end = alex_inner_node_next_run_start(node, first);
        alex_ref ref = children[k];
        if (ref & ALEX_REF_INNER) ref = ALEX_REF_INNER | renumber[ref & ~ALEX_REF_INNER];
        common_store_u32le(p, ref);
        common_store_u32le(p + 4, end - first);
        p += PERSIST_RUN_SIZE;
        first = end;
    }
    return p;
}

int alex_inner_encode(const alex_inner *inner, uint8_t **bytes_out, size_t *size_out)
{
    if (inner == NULL || bytes_out == NULL || size_out == NULL) {
        return common_error(ALEXDB_INVALID, "alex: bad encode arguments");
    }
    size_t table_size = (size_t)(inner->node_used > 0 ? inner->node_used : 1) * sizeof(uint32_t);
    uint32_t *order = malloc(table_size);
    uint32_t *renumber = malloc(table_size);
    uint8_t *bytes = NULL;
    int rc = ALEXDB_NOMEM;
    if (order == NULL || renumber == NULL) goto free_tables;
    size_t size = encode_plan(inner, order, renumber);
    bytes = calloc(1, size);
    if (bytes == NULL) goto free_tables;
    common_store_u32le(bytes + PERSIST_HDR_MAGIC, PERSIST_MAGIC);
    bytes[PERSIST_HDR_VERSION] = PERSIST_VERSION;
    common_store_u64le(bytes + PERSIST_HDR_SIZE, size);
    alex_ref root = inner->root;
    if (root & ALEX_REF_INNER) root = ALEX_REF_INNER | 0u;
    common_store_u32le(bytes + PERSIST_HDR_ROOT, root);
    common_store_u32le(bytes + PERSIST_HDR_NODE_COUNT, (uint32_t)inner->node_count);
    common_store_u64le(bytes + PERSIST_HDR_SLOT_TOTAL, inner->slot_total);
    uint8_t *p = bytes + PERSIST_HEADER_SIZE;
    for (uint64_t i = 0; i < inner->node_count; i++) p = encode_node(&inner->nodes[order[i]], renumber, p);
    ALEXDB_ASSERT((size_t)(p - bytes) == size);
    common_store_u64le(bytes + PERSIST_HDR_CHECKSUM, stream_checksum(bytes, size));
    *bytes_out = bytes;
    *size_out = size;
    rc = ALEXDB_OK;
free_tables:
    free(order);
    free(renumber);
    if (rc != ALEXDB_OK) return common_error(rc, "alex: no memory to encode the inner nodes");
    return rc;
}

/* ---- decode ------------------------------------------------------------------- */

typedef struct decode_state {
    const char *path;
    uint64_t offset; /* of the stream in its file, for messages */
    const uint8_t *bytes;
    size_t size;
    uint64_t page_count;
    uint32_t node_count;
    uint64_t *node_pos;   /* each node's byte position in the stream */
    uint8_t *depth;       /* inner nodes from the root down to this one, 1 for the root */
    uint64_t *range;      /* [2i] low, [2i+1] high of node i's keys */
    uint64_t *leaves;     /* [2j] page number, [2j+1] position of the run naming it */
    uint64_t leaf_count;
} decode_state;

#define DECODE_CORRUPT(st, pos, ...) common_corrupt((st)->path, (st)->offset + (pos), __VA_ARGS__)

static int decode_header(decode_state *st, alex_ref *root_out, uint64_t *slot_total_out)
{
    const uint8_t *b = st->bytes;
    if (st->size < PERSIST_HEADER_SIZE) {
        return DECODE_CORRUPT(st, st->size, "inner stream truncated: %zu bytes", st->size);
    }
    if (common_load_u64le(b + PERSIST_HDR_CHECKSUM) != stream_checksum(b, st->size)) {
        return DECODE_CORRUPT(st, PERSIST_HDR_CHECKSUM, "inner stream checksum mismatch");
    }
    if (common_load_u32le(b + PERSIST_HDR_MAGIC) != PERSIST_MAGIC) {
        return DECODE_CORRUPT(st, PERSIST_HDR_MAGIC, "not an inner stream (bad magic)");
    }
    if (b[PERSIST_HDR_VERSION] != PERSIST_VERSION) {
        return common_error(ALEXDB_VERSION, "%s offset %llu: inner stream version %u unknown",
                            st->path != NULL ? st->path : "(unnamed)",
                            (unsigned long long)(st->offset + PERSIST_HDR_VERSION),
                            b[PERSIST_HDR_VERSION]);
    }
    for (uint32_t i = PERSIST_HDR_RESERVED; i < PERSIST_HDR_SIZE; i++) {
        if (b[i] != 0) return DECODE_CORRUPT(st, i, "inner stream reserved byte not zero");
    }
    if (common_load_u64le(b + PERSIST_HDR_SIZE) != st->size) {
        return DECODE_CORRUPT(st, PERSIST_HDR_SIZE, "inner stream size field %llu, stream %zu",
                              (unsigned long long)common_load_u64le(b + PERSIST_HDR_SIZE), st->size);
    }
    uint32_t node_count = common_load_u32le(b + PERSIST_HDR_NODE_COUNT);
    if (node_count > (st->size - PERSIST_HEADER_SIZE) / PERSIST_NODE_SIZE_MIN) {
        return DECODE_CORRUPT(st, PERSIST_HDR_NODE_COUNT, "node count %u exceeds the stream",
                              node_count);
    }
    *slot_total_out = common_load_u64le(b + PERSIST_HDR_SLOT_TOTAL);
    if (*slot_total_out > ALEX_INNER_SLOT_TOTAL_MAX) {
        return DECODE_CORRUPT(st, PERSIST_HDR_SLOT_TOTAL, "slot total too large");
    }
    *root_out = common_load_u32le(b + PERSIST_HDR_ROOT);
    st->node_count = node_count;
    return ALEXDB_OK;
}

static bool leaf_page_valid(const decode_state *st, alex_ref ref)
{
    return ref >= 2 && ref <= ALEX_LEAF_PAGE_NO_MAX && ref < st->page_count;
}

/* One node's fields (not its runs); *pos advances past them. */
static int decode_node_fields(decode_state *st, uint32_t i, uint64_t *pos, alex_inner_node *node,
                              uint32_t *runs_out)
{
    const uint8_t *p = st->bytes + *pos;
    if (st->size - *pos < PERSIST_NODE_SIZE) return DECODE_CORRUPT(st, *pos, "node %u truncated", i);
    uint32_t log2 = p[PERSIST_NODE_LOG2];
    uint32_t runs = common_load_u32le(p + PERSIST_NODE_RUN_COUNT);
    memset(node, 0, sizeof(*node));
    node->slot_count_log2 = (uint8_t)log2;
    node->flags = p[PERSIST_NODE_FLAGS];
    *runs_out = runs;
    node->model.slope = common_load_f64le(p + PERSIST_NODE_SLOPE);
    node->model.intercept = common_load_f64le(p + PERSIST_NODE_INTERCEPT);
    node->key_base = common_load_u64le(p + PERSIST_NODE_BASE);
    if (log2 < 1 || (1u << (log2 < 31 ? log2 : 31)) > ALEX_INNER_SLOT_COUNT_MAX) {
        return DECODE_CORRUPT(st, *pos + PERSIST_NODE_LOG2, "node %u: bad slot count log2 %u", i, log2);
    }
    if ((node->flags & ~ALEX_INNER_REVERSED) != 0) {
        return DECODE_CORRUPT(st, *pos + PERSIST_NODE_FLAGS, "node %u: unknown flags", i);
    }
    if (common_load_u16le(p + PERSIST_NODE_RESERVED) != 0) {
        return DECODE_CORRUPT(st, *pos + PERSIST_NODE_RESERVED, "node %u: reserved not zero", i);
    }
    if (runs < 2 || runs > (1u << log2)) {
        return DECODE_CORRUPT(st, *pos + PERSIST_NODE_RUN_COUNT, "node %u: bad run count %u", i, runs);
    }
    if (!isfinite(node->model.slope) || !(node->model.slope >= 0.0)) {
        return DECODE_CORRUPT(st, *pos + PERSIST_NODE_SLOPE, "node %u: bad slope", i);
    }
    if (!isfinite(node->model.intercept)) {
        return DECODE_CORRUPT(st, *pos + PERSIST_NODE_INTERCEPT, "node %u: bad intercept", i);
    }
    *pos += PERSIST_NODE_SIZE;
    if ((st->size - *pos) / PERSIST_RUN_SIZE < runs) {
        return DECODE_CORRUPT(st, *pos, "node %u: runs truncated", i);
    }
    return ALEXDB_OK;
}

/* Checks one run's reference, and records it (leaf list, or the child's depth). */
static int decode_ref(decode_state *st, uint32_t i, uint64_t pos, alex_ref ref)
{
    if (!(ref & ALEX_REF_INNER)) {
        if (!leaf_page_valid(st, ref)) return DECODE_CORRUPT(st, pos, "node %u: bad leaf page %u", i, ref);
        st->leaves[2 * st->leaf_count] = ref;
        st->leaves[2 * st->leaf_count + 1] = pos;
        st->leaf_count++;
        return ALEXDB_OK;
    }
    uint32_t child = ref & ~ALEX_REF_INNER;
    if (child <= i || child >= st->node_count) {
        return DECODE_CORRUPT(st, pos, "node %u: child node %u out of order", i, child);
    }
    if (st->depth[child] != 0) return DECODE_CORRUPT(st, pos, "node %u referenced twice", child);
    if (st->depth[i] >= ALEX_DEPTH_MAX) return DECODE_CORRUPT(st, pos, "node %u: too deep", child);
    st->depth[child] = (uint8_t)(st->depth[i] + 1);
    return ALEXDB_OK;
}

/* Pass 1: every node's fields and runs, the tree shape and depth (FORMAT.md 5.3, 1-6). */
static int decode_shape(decode_state *st, uint64_t slot_total)
{
    uint64_t pos = PERSIST_HEADER_SIZE;
    uint64_t slots_seen = 0;
    if (st->node_count > 0) st->depth[0] = 1;
    for (uint32_t i = 0; i < st->node_count; i++) {
        if (st->depth[i] == 0) return DECODE_CORRUPT(st, pos, "node %u is not referenced", i);
        st->node_pos[i] = pos;
        alex_inner_node node;
        uint32_t runs = 0;
        int rc = decode_node_fields(st, i, &pos, &node, &runs);
        if (rc != ALEXDB_OK) return rc;
        uint64_t slot_count = 1ull << node.slot_count_log2;
        uint64_t covered = 0;
        alex_ref prev = ALEX_REF_NONE;
        for (uint32_t r = 0; r < runs; r++, pos += PERSIST_RUN_SIZE) {
            alex_ref ref = common_load_u32le(st->bytes + pos);
            uint32_t length = common_load_u32le(st->bytes + pos + 4);
            if (length == 0 || length > slot_count - covered) {
                return DECODE_CORRUPT(st, pos + 4, "node %u: bad run length %u", i, length);
            }
            if (ref == prev) return DECODE_CORRUPT(st, pos, "node %u: child split over two runs", i);
            rc = decode_ref(st, i, pos, ref);
            if (rc != ALEXDB_OK) return rc;
            covered += length;
            prev = ref;
        }
        if (covered != slot_count) return DECODE_CORRUPT(st, pos, "node %u: runs cover %llu of %llu slots", i,
                                                         (unsigned long long)covered,
                                                         (unsigned long long)slot_count);
        slots_seen += slot_count;
    }
    if (pos != st->size) return DECODE_CORRUPT(st, pos, "%llu bytes after the last node",
                                               (unsigned long long)(st->size - pos));
    if (slots_seen != slot_total) {
        return DECODE_CORRUPT(st, PERSIST_HDR_SLOT_TOTAL, "slot total %llu, nodes hold %llu",
                              (unsigned long long)slot_total, (unsigned long long)slots_seen);
    }
    return ALEXDB_OK;
}

static int compare_leaf(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Pass 2: each leaf page named once (FORMAT.md 5.3, 7). */
static int decode_leaves_unique(decode_state *st)
{
    qsort(st->leaves, st->leaf_count, 2 * sizeof(uint64_t), compare_leaf);
    for (uint64_t j = 1; j < st->leaf_count; j++) {
        if (st->leaves[2 * j] == st->leaves[2 * j - 2]) {
            uint64_t pos = st->leaves[2 * j + 1] > st->leaves[2 * j - 1] ? st->leaves[2 * j + 1]
                                                                         : st->leaves[2 * j - 1];
            return DECODE_CORRUPT(st, pos, "leaf page %llu named twice",
                                  (unsigned long long)st->leaves[2 * j]);
        }
    }
    return ALEXDB_OK;
}

/* Pass 3: every run owns a non-empty key range (FORMAT.md 5.3, 8; inner.c I3). */
static int decode_ranges(decode_state *st)
{
    if (st->node_count > 0) {
        st->range[0] = 0;
        st->range[1] = UINT64_MAX;
    }
    for (uint32_t i = 0; i < st->node_count; i++) {
        uint64_t pos = st->node_pos[i];
        alex_inner_node node;
        uint32_t runs = 0;
        int rc = decode_node_fields(st, i, &pos, &node, &runs);
        ALEXDB_ASSERT(rc == ALEXDB_OK); /* pass 1 accepted it */
        uint64_t low = st->range[2 * i];
        uint64_t high = st->range[2 * i + 1];
        uint32_t first = 0;
        for (uint32_t r = 0; r < runs; r++, pos += PERSIST_RUN_SIZE) {
            alex_ref ref = common_load_u32le(st->bytes + pos);
            uint32_t end = first + common_load_u32le(st->bytes + pos + 4);
            bool found = true;
            uint64_t child_low = low;
            if (first > 0) child_low = alex_inner_node_first_key_at(&node, first, low, high, &found);
            if (!found) return DECODE_CORRUPT(st, pos, "node %u: child %u owns no keys", i, r);
            uint64_t child_high = high;
            if (end < (1u << node.slot_count_log2)) {
                uint64_t next = alex_inner_node_first_key_at(&node, end, low, high, &found);
                if (!found) {
                    return DECODE_CORRUPT(st, pos + PERSIST_RUN_SIZE, "node %u: child %u owns no keys",
                                          i, r + 1);
                }
                if (next <= child_low) return DECODE_CORRUPT(st, pos, "node %u: child %u owns no keys", i, r);
                child_high = next - 1;
            }
            if (ref & ALEX_REF_INNER) {
                st->range[2 * (ref & ~ALEX_REF_INNER)] = child_low;
                st->range[2 * (ref & ~ALEX_REF_INNER) + 1] = child_high;
            }
            first = end;
        }
    }
    return ALEXDB_OK;
}

/* Builds the index from a stream that passed every check. */
static int decode_build(decode_state *st, alex_ref root, alex_inner **inner_out)
{
    alex_inner *inner = calloc(1, sizeof(*inner));
    if (inner == NULL) return common_error(ALEXDB_NOMEM, "alex: no memory to decode");
    inner->free_head = UINT32_MAX;
    inner->root = root;
    inner->leaf_count = st->node_count > 0 ? st->leaf_count : 1;
    for (uint32_t i = 0; i < st->node_count; i++) {
        uint64_t pos = st->node_pos[i];
        alex_inner_node fields;
        uint32_t runs = 0;
        int rc = decode_node_fields(st, i, &pos, &fields, &runs);
        ALEXDB_ASSERT(rc == ALEXDB_OK);
        uint32_t index = 0;
        rc = alex_inner_node_new(inner, fields.slot_count_log2, runs, &index);
        if (rc != ALEXDB_OK) {
            alex_inner_destroy(inner);
            return rc;
        }
        ALEXDB_ASSERT(index == i);
        alex_inner_node *node = &inner->nodes[i];
        node->model = fields.model;
        node->key_base = fields.key_base;
        node->flags = fields.flags;
        uint32_t first = 0;
        for (uint32_t r = 0; r < runs; r++, pos += PERSIST_RUN_SIZE) {
            alex_inner_node_set_run(node, r, first, common_load_u32le(st->bytes + pos));
            first += common_load_u32le(st->bytes + pos + 4);
        }
        alex_inner_node_seal(node);
    }
    *inner_out = inner;
    return ALEXDB_OK;
}

static int decode_checked(decode_state *st, alex_inner **inner_out)
{
    alex_ref root = ALEX_REF_NONE;
    uint64_t slot_total = 0;
    int rc = decode_header(st, &root, &slot_total);
    if (rc != ALEXDB_OK) return rc;
    if (st->node_count == 0 ? !leaf_page_valid(st, root) : root != ALEX_REF_INNER) {
        return DECODE_CORRUPT(st, PERSIST_HDR_ROOT, "bad root reference 0x%08x", root);
    }
    uint64_t n = st->node_count > 0 ? st->node_count : 1;
    uint64_t run_max = (st->size - PERSIST_HEADER_SIZE) / PERSIST_RUN_SIZE + 1;
    st->node_pos = malloc(n * sizeof(uint64_t));
    st->depth = calloc(n, 1);
    st->range = malloc(2 * n * sizeof(uint64_t));
    st->leaves = malloc(2 * run_max * sizeof(uint64_t));
    if (st->node_pos == NULL || st->depth == NULL || st->range == NULL || st->leaves == NULL) {
        return common_error(ALEXDB_NOMEM, "alex: no memory to decode");
    }
    rc = decode_shape(st, slot_total);
    if (rc == ALEXDB_OK) rc = decode_leaves_unique(st);
    if (rc == ALEXDB_OK) rc = decode_ranges(st);
    if (rc == ALEXDB_OK) rc = decode_build(st, root, inner_out);
    return rc;
}

int alex_inner_decode(const char *path, uint64_t offset, const uint8_t *bytes, size_t size,
                      uint64_t page_count, alex_inner **inner_out)
{
    if ((bytes == NULL && size > 0) || inner_out == NULL) {
        return common_error(ALEXDB_INVALID, "alex: bad decode arguments");
    }
    decode_state st = {path, offset, bytes, size, page_count, 0, NULL, NULL, NULL, NULL, 0};
    int rc = decode_checked(&st, inner_out);
    free(st.node_pos);
    free(st.depth);
    free(st.range);
    free(st.leaves);
    return rc;
}
