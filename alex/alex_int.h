/*
 * alex_int.h: alex/'s private interfaces, shared by its .c files only.
 *
 *   model.c   linear models: predict, fit, exact boundaries
 *   leaf.c    one leaf page (docs/FORMAT.md 3): pure functions on a 4 KiB image
 *   inner.c   the in-memory inner nodes: routing, splits, bulk load (fanout tree)
 *   persist.c the inner nodes' serialised form (docs/FORMAT.md 5)
 *
 * Design, invariants (A1..) and concurrency rules: alex/README.md.
 */
#ifndef ALEX_INT_H
#define ALEX_INT_H

#include "common.h"
#include "pager.h"

/* ---- model.c ------------------------------------------------------------------- */

typedef struct alex_model {
    double slope;     /* >= 0 and finite */
    double intercept; /* finite */
} alex_model;

/*
 * floor(slope * (double)key + intercept), clamped to [0, slot_count - 1]. Inline: it is
 * the inner loop of routing, leaf search and the bulk load. Plain IEEE-754 double
 * operations (the build has -ffp-contract=off: no fused multiply-add), so the same bytes
 * predict the same slot on every build (docs/FORMAT.md 3 and 5.3; model.c says why).
 */
static inline uint32_t alex_model_predict(const alex_model *model, uint64_t key, uint32_t slot_count)
{
    ALEXDB_ASSERT(slot_count > 0);
    double y = model->slope * (double)key + model->intercept;
    if (!(y > 0.0)) return 0; /* also catches NaN */
    if (y >= (double)slot_count) return slot_count - 1;
    return (uint32_t)y;
}
/* Least squares so that keys[i] of count lands near slot i * slot_count / count. */
void alex_model_fit(alex_model *model, const uint64_t *keys, uint32_t count, double slot_count);
/* The model through (first_key, 0) and (split_key, at); split_key > first_key. */
void alex_model_through(alex_model *model, uint64_t first_key, uint64_t split_key, double at);
/* A slope s with s * (double)offset >= 1 (offset >= 1), as close to 1/offset as possible. */
double alex_model_slope_reaching_one(uint64_t offset);
/* Smallest key in [low, high] predicted at a slot >= slot; *found = false if none. */
uint64_t alex_model_first_key_at(const alex_model *model, uint32_t slot_count, uint32_t slot,
                                 uint64_t low, uint64_t high, bool *found);
/*
 * log2(x), x >= 1, in plain double arithmetic (no libm): the same bits on every machine,
 * so an expected cost stored in a page does not depend on the build. log2(1) is +0.0.
 * ALEX's cost model uses it for the search term, in leaf_check.c and leaf_write.c alike.
 */
double alex_model_log2_u32(uint32_t x);

/* ---- leaf.c: one leaf page ------------------------------------------------------- */

#define ALEX_LEAF_SLOT_COUNT_MAX 320u
#define ALEX_INLINE_VALUE_SIZE_MAX 1024u
#define ALEX_OVERFLOW_DATA_SIZE 4048u     /* value bytes per overflow page (FORMAT.md 4) */
#define ALEX_VALUE_SIZE_MAX (64u << 20)   /* 64 MiB */
#define ALEX_LEAF_DENSITY_BUILD 0.7       /* slots used after a build (ALEX's initial density) */
#define ALEX_LEAF_DENSITY_MAX 0.8         /* ALEX's "full" density */
#define ALEX_RECORD_PREFETCH_MAX 256u     /* bytes a lookup fetches at its guessed record */
/* ALEX's cost model weights (leaf_check.c and leaf_write.c). */
#define ALEX_COST_SEARCH_WEIGHT 20.0      /* per log2 step of the search: kExpSearchIterationsWeight */
#define ALEX_COST_SHIFT_WEIGHT 0.5        /* per slot shifted by an insert: kShiftsWeight */

/*
 * A value as a leaf holds it. size <= ALEX_INLINE_VALUE_SIZE_MAX: inline, data points at
 * the bytes (into the page, or caller memory on input). Larger: overflow, data is NULL
 * and overflow_page_no names the first page of the run.
 */
typedef struct alex_value {
    uint32_t size;
    const uint8_t *data;
    uint64_t overflow_page_no;
} alex_value;

typedef struct alex_entry {
    uint64_t key;
    alex_value value;
} alex_entry;

/* Bytes the value's record takes in the heap: 2 + size inline, 14 for an overflow ref. */
uint32_t alex_value_record_size(uint32_t value_size);

/*
 * Whether count entries whose records take heap_size bytes in all fit one leaf built at
 * density (slot_count = ceil(count / density), at least count + 1, at most the max).
 */
bool alex_leaf_fits(uint32_t count, size_t heap_size, double density);

/* An empty leaf (one slot, no keys) covering [fence_low, fence_high]. */
void alex_leaf_init(uint8_t *page, uint64_t fence_low, uint64_t fence_high);

/*
 * Builds a leaf from count entries, strictly increasing keys inside the fences: fits the
 * model, sizes the gapped array for density (ALEX_LEAF_DENSITY_BUILD for bulk load and
 * splits; less to leave room), places each key at its predicted slot or the next free
 * one, fills the gaps and the heap. Resets the leaf's statistics. entries' data must not
 * point into page. Returns ALEXDB_OK, or ALEXDB_FULL if they cannot fit one page.
 */
int alex_leaf_build(uint8_t *page, const alex_entry *entries, uint32_t count,
                    uint64_t fence_low, uint64_t fence_high, double density) COMMON_WUR;

/*
 * The bulk load's build (leaf_write.c): byte for byte the body alex_leaf_build makes of
 * the entries (keys[i], values[i]), in one pass over them. keys are strictly increasing
 * inside the fences and stay the caller's (no copy); page's header must already be a
 * leaf's (pager_page_init or pager_pin_new with PAGER_KIND_LEAF) and is left as it is;
 * every byte of the body is written. ALEXDB_OK, or ALEXDB_FULL (page unchanged).
 */
int alex_leaf_build_sorted(uint8_t *page, const uint64_t *keys, const alex_value *values,
                           uint32_t count, uint64_t fence_low, uint64_t fence_high,
                           double density) COMMON_WUR;

/*
 * Finds key: ALEXDB_OK with *value_out (data points into the page) or ALEXDB_NOTFOUND.
 * *steps_out (may be NULL) is the exponential search's number of probes.
 */
int alex_leaf_find(const uint8_t *page, uint64_t key, alex_value *value_out, uint32_t *steps_out);

/*
 * Inserts key, or replaces its value (*replaced_out = true, *old_out = the old value
 * as it was, so the caller can free an overflow run; old inline data is gone after the
 * call). The key is inside the fences. Returns ALEXDB_OK, or ALEXDB_FULL when there is
 * no gap or no heap space even after compacting the heap: then nothing changed and the
 * caller retrains or splits. Updates the statistics. *shifts_out may be NULL.
 */
int alex_leaf_upsert(uint8_t *page, uint64_t key, const alex_value *value, alex_value *old_out,
                     bool *replaced_out, uint32_t *shifts_out) COMMON_WUR;

/* Removes key: ALEXDB_OK (with *old_out as in upsert) or ALEXDB_NOTFOUND. Leaves a gap. */
int alex_leaf_delete(uint8_t *page, uint64_t key, alex_value *old_out) COMMON_WUR;

uint32_t alex_leaf_key_count(const uint8_t *page);
uint32_t alex_leaf_slot_count(const uint8_t *page);
void alex_leaf_fences(const uint8_t *page, uint64_t *low_out, uint64_t *high_out);
/* Heap bytes still free (including dead bytes a compaction would reclaim). */
size_t alex_leaf_free_bytes(const uint8_t *page);
/* Total heap bytes of live records. */
size_t alex_leaf_heap_used(const uint8_t *page);

/* All entries in key order into out (room for ALEX_LEAF_SLOT_COUNT_MAX); data points into page. */
uint32_t alex_leaf_entries(const uint8_t *page, alex_entry *out);

/* Iteration: the first occupied slot with key >= key, or slot_count if none. */
uint32_t alex_leaf_seek(const uint8_t *page, uint64_t key);
/* The first occupied slot after slot, or slot_count if none. */
uint32_t alex_leaf_next(const uint8_t *page, uint32_t slot);
/* The entry at an occupied slot. */
void alex_leaf_entry_at(const uint8_t *page, uint32_t slot, alex_entry *out);

/* One entry as a cursor copies it: the key, the value's size, where its bytes went. */
typedef struct alex_leaf_item {
    uint64_t key;
    uint32_t value_size;   /* > ALEX_INLINE_VALUE_SIZE_MAX: out of line, not copied */
    uint32_t value_offset; /* into the copy's bytes; UINT32_MAX when out of line */
} alex_leaf_item;

/*
 * Copies every entry from slot (0..slot_count) on, in key order: items[i] for each, and
 * the leaf's heap (every record) into bytes from *bytes_size on (advanced), where each
 * item's value_offset points; nothing at all if there is no entry from slot on. Room
 * needed: ALEX_LEAF_SLOT_COUNT_MAX items and PAGER_PAGE_SIZE bytes. Returns the entry
 * count. Pure: the caller latches the page.
 */
uint32_t alex_leaf_copy_from(const uint8_t *page, uint32_t slot, alex_leaf_item *items,
                             uint8_t *bytes, uint32_t *bytes_size);
/* Asks for the lines alex_leaf_copy_from reads (a hint); reads the header, so: latched. */
void alex_leaf_prefetch(const uint8_t *page);

/* ALEX's cost model inputs, measured over the leaf's current layout and statistics. */
typedef struct alex_leaf_cost {
    double search_steps_avg;   /* mean exponential-search probes over the keys present */
    double shifts_per_insert;  /* stat_shift_count / stat_insert_count (0 if none) */
    double expected_cost;      /* the cost the model promised when the leaf was built */
    double measured_cost;      /* 20 * log2-steps term + 0.5 * shifts term, as in ALEX */
} alex_leaf_cost;

void alex_leaf_cost_get(const uint8_t *page, alex_leaf_cost *cost_out);

/*
 * The decision for a leaf whose upsert returned ALEXDB_FULL (ALEX's cost model, with
 * expansion replaced by an in-page retrain since a page cannot grow): RETRAIN when the
 * live bytes leave room in the page and the measured cost exceeds 1.5x the expected
 * cost or the gapped array, not the heap, ran out; SPLIT otherwise.
 */
typedef enum alex_full_action { ALEX_FULL_SPLIT = 0, ALEX_FULL_RETRAIN = 1 } alex_full_action;
alex_full_action alex_leaf_full_action(const uint8_t *page, uint32_t incoming_record_size);

/*
 * The structural check of docs/FORMAT.md 3 "valid iff", run on every leaf read from
 * disk (after pager_page_check). ALEXDB_OK or ALEXDB_CORRUPT naming path and offset.
 * Every other leaf function may assume a page that passed it.
 */
int alex_leaf_check(const char *path, const uint8_t *page, uint64_t page_no) COMMON_WUR;

/* Leaf internals shared by leaf.c, leaf_write.c and leaf_check.c only: FORMAT.md 3 offsets. */
#define ALEX_LEAF_FIELD_SLOT_COUNT 32u
#define ALEX_LEAF_FIELD_KEY_COUNT 34u
#define ALEX_LEAF_FIELD_HEAP_OFFSET 36u
#define ALEX_LEAF_FIELD_HEAP_DEAD 38u
#define ALEX_LEAF_FIELD_SLOPE 40u
#define ALEX_LEAF_FIELD_INTERCEPT 48u
#define ALEX_LEAF_FIELD_FENCE_LOW 56u
#define ALEX_LEAF_FIELD_FENCE_HIGH 64u
#define ALEX_LEAF_FIELD_INSERT_COUNT 72u
#define ALEX_LEAF_FIELD_SHIFT_COUNT 76u
#define ALEX_LEAF_FIELD_DELETE_COUNT 80u
#define ALEX_LEAF_FIELD_EXPECTED_COST 84u
#define ALEX_LEAF_FIELD_BITMAP 88u
#define ALEX_VALUE_TAG_OVERFLOW 0x8000u
#define ALEX_OVERFLOW_RECORD_SIZE 14u

static inline uint32_t alex_leaf_keys_offset(uint32_t slot_count)
{
    return ALEX_LEAF_FIELD_BITMAP + 8u * ((slot_count + 63u) / 64u);
}
static inline uint32_t alex_leaf_value_offsets_offset(uint32_t slot_count)
{
    return alex_leaf_keys_offset(slot_count) + 8u * slot_count;
}
static inline uint32_t alex_leaf_keys_end(uint32_t slot_count)
{
    return alex_leaf_value_offsets_offset(slot_count) + 2u * slot_count;
}
/* Record size for a tag (2 + tag inline, 14 overflow), 0 for an invalid tag. */
static inline uint32_t alex_leaf_tag_record_size(uint16_t tag)
{
    if (tag <= ALEX_INLINE_VALUE_SIZE_MAX) return 2u + tag;
    return tag == ALEX_VALUE_TAG_OVERFLOW ? ALEX_OVERFLOW_RECORD_SIZE : 0u;
}
void alex_leaf_model_get(const uint8_t *page, alex_model *model_out);
/* The first slot whose key is >= key (slot_count if none); *steps_out = probes. */
uint32_t alex_leaf_lower_bound(const uint8_t *page, uint64_t key, uint32_t *steps_out);
void alex_leaf_value_decode(const uint8_t *page, uint32_t offset, alex_value *out);
/*
 * Where the record of the entry at slot (or of the next entry, if slot is a gap) is
 * guessed to start. A build and a heap compaction write records in slot order from
 * heap_offset on, so with values of one size it is exactly heap_offset + (occupied slots
 * before slot) * (heap bytes / key count). After inserts or deletes, or with mixed sizes,
 * it is an estimate: a hint for prefetching, never read through. At most PAGER_PAGE_SIZE
 * (the heap's end, past the last entry). *record_size_out = that average record size;
 * PAGER_PAGE_SIZE (and 0) for an empty leaf.
 */
uint32_t alex_leaf_record_guess(const uint8_t *page, uint32_t slot, uint32_t *record_size_out);
/* Writes value's record at offset (room checked by the caller); returns its size. */
uint32_t alex_leaf_record_store(uint8_t *page, uint32_t offset, const alex_value *value);
/* The slot count a build picks, or 0 if the entries cannot fit (alex_leaf_fits). */
uint32_t alex_leaf_slot_count_for(uint32_t count, size_t heap_size, double density);
/* ALEX's cost of the current layout with the expected shifts (leaf_check.c). */
double alex_leaf_cost_expected(const uint8_t *page);

/* ---- inner.c: the in-memory inner nodes --------------------------------------- */

/*
 * A child reference in an inner node's slot array: a leaf's page number (< 2^31), or
 * ALEX_REF_INNER | the index of an inner node. Four bytes per slot keep the inner nodes
 * within 8 bytes of memory per leaf page (README, "Memory").
 */
typedef uint32_t alex_ref;
#define ALEX_REF_INNER 0x80000000u
#define ALEX_REF_NONE 0u /* page 0 is a superblock, never a leaf */
#define ALEX_LEAF_PAGE_NO_MAX 0x7FFFFFFFu
#define ALEX_DEPTH_MAX 24u
#define ALEX_INNER_SLOT_COUNT_MAX (1u << 20)

/* The path from the root to the leaf a key routes to. */
typedef struct alex_route {
    uint64_t leaf_page_no;
    uint32_t depth;                  /* inner nodes on the path; 0: the root is a leaf */
    uint32_t node[ALEX_DEPTH_MAX];   /* inner node indexes, root first */
    uint32_t slot[ALEX_DEPTH_MAX];   /* the slot taken in each */
    double leaf_position;            /* the key's place in the leaf's range, 0..1 (a hint) */
} alex_route;

typedef struct alex_inner alex_inner;

/* A new index whose root is the leaf root_page_no (which covers every key). */
int alex_inner_create(uint64_t root_page_no, alex_inner **inner_out) COMMON_WUR;
void alex_inner_destroy(alex_inner *inner);

/* The leaf key routes to, and the path there. Reads only; a bounded loop. */
void alex_inner_route(const alex_inner *inner, uint64_t key, alex_route *route_out);

/*
 * A path from the root to a leaf, by child index, for walking the leaves in key order
 * without reading any page (cursors).
 */
typedef struct alex_inner_path {
    uint32_t depth;
    uint32_t node[ALEX_DEPTH_MAX];
    uint32_t child[ALEX_DEPTH_MAX]; /* the child index taken in node[i] */
    uint64_t leaf_page_no;
} alex_inner_path;

void alex_inner_path_from_route(const alex_inner *inner, const alex_route *route,
                                alex_inner_path *path);
/* Moves the path to the next leaf in key order; false after the last leaf. */
bool alex_inner_path_next(const alex_inner *inner, alex_inner_path *path);

/*
 * The keys routed to the route's leaf: exactly [*low_out, *high_out] (inclusive).
 * Every key in it routes to that leaf and no key outside does.
 */
void alex_inner_range(const alex_inner *inner, const alex_route *route, uint64_t *low_out,
                      uint64_t *high_out);

/*
 * Splits the route's leaf, whose sorted distinct keys are keys[0..count), count >= 2,
 * giving part of its key range to the new leaf new_page_no: sideways within the slots
 * the leaf holds in its parent; or after doubling the parent's slot array (when the
 * parent's slots are mostly single-leaf and it is below ALEX_INNER_SLOT_COUNT_MAX); or
 * downwards, replacing the leaf's slot with a new inner node whose model puts the
 * boundary at the median key (or in the widest gap of the middle half of the keys).
 * Returns the boundary: after the split, keys >= *boundary_out
 * (within the old range) route to new_page_no, smaller ones to the old leaf; both sides
 * get at least one of the keys. ALEXDB_NOMEM, or ALEXDB_FULL if no split is possible
 * (depth at ALEX_DEPTH_MAX and no slots to share).
 */
int alex_inner_split(alex_inner *inner, const alex_route *route, const uint64_t *keys,
                     uint32_t count, uint64_t new_page_no, uint64_t *boundary_out) COMMON_WUR;

/*
 * Gives the slots of the route's leaf to its neighbour in the same parent (the left one
 * if there is one, else the right one) so the leaf can be freed. *survivor_out is the
 * neighbour's page number; its key range grows to cover the merged one. ALEXDB_NOTFOUND
 * if the leaf has no neighbour leaf in its parent (then nothing changes).
 */
int alex_inner_merge(alex_inner *inner, const alex_route *route, uint64_t *survivor_out) COMMON_WUR;

/*
 * Bulk load with ALEX's fanout tree: builds the inner nodes over sorted distinct keys,
 * choosing each node's fanout by ALEX's cost model, and cuts the keys into leaves. For
 * every leaf, in key order, calls make_leaf(ctx, first, count, low, high, &page_no) which
 * builds and writes a leaf of keys[first..first+count) covering [low, high] and returns
 * its page number. fits(ctx, first, count) tells whether a run fits one leaf at
 * ALEX_LEAF_DENSITY_BUILD. Replaces the current structure (which must be the single
 * empty root leaf, whose page make_leaf may reuse).
 */
typedef bool (*alex_fits_fn)(void *ctx, uint64_t first, uint32_t count);
typedef int (*alex_make_leaf_fn)(void *ctx, uint64_t first, uint32_t count, uint64_t low,
                                 uint64_t high, uint64_t *page_no_out);
int alex_inner_bulk_load(alex_inner *inner, const uint64_t *keys, uint64_t count,
                         alex_fits_fn fits, alex_make_leaf_fn make_leaf, void *ctx) COMMON_WUR;

/* Calls fn for every leaf in key order, with its range; stops at a nonzero return. */
typedef int (*alex_leaf_visit_fn)(void *ctx, uint64_t page_no, uint64_t low, uint64_t high);
int alex_inner_for_each_leaf(const alex_inner *inner, alex_leaf_visit_fn fn, void *ctx);

typedef struct alex_inner_stats {
    uint64_t node_count;
    uint64_t slot_count;   /* over all inner nodes */
    uint64_t leaf_count;   /* distinct leaves */
    uint64_t memory_size;  /* bytes of inner-node memory, everything included */
    uint32_t depth_max;    /* inner levels on the longest path */
} alex_inner_stats;

void alex_inner_stats_get(const alex_inner *inner, alex_inner_stats *stats_out);

/*
 * The node table, shared by inner*.c and persist.c only. A node routes a key to slot
 * predict(model, key - key_base) (keys below key_base: slot 0); a "reversed" node
 * mirrors that (keys above key_base: the last slot, others slot_count - 1 -
 * predict(model, key_base - key)), so it can grow to the left exactly as a plain node
 * grows to the right. docs/FORMAT.md 5 specifies the same arithmetic.
 *
 * The slot array is kept as runs: a bitmap with bit i set where a child's run starts
 * (with a rank directory past 64 slots) and one 4-byte ref per child. The child at a
 * slot is children[rank(slot) - 1]: ALEX's duplicated pointers in ~1.5 bits a slot.
 */
#define ALEX_INNER_REVERSED 0x01u
#define ALEX_INNER_SLOT_TOTAL_MAX (1u << 28) /* slots over all nodes */

typedef struct alex_inner_node {
    alex_model model;
    uint64_t key_base;
    union {
        uint64_t local;  /* slot_count <= 64 */
        uint64_t *heap;  /* slot_count / 64 words, then as many u32 ranks */
    } starts;
    union {
        alex_ref local[2]; /* child_count <= 2 */
        alex_ref *heap;
    } children;
    uint32_t child_count;    /* runs; the next free index if the entry is free */
    uint8_t slot_count_log2; /* 1..20; 0: a free table entry */
    uint8_t flags;
    uint16_t reserved;
} alex_inner_node;

struct alex_inner {
    alex_ref root;
    uint32_t free_head;      /* first free table entry, or UINT32_MAX */
    uint32_t node_used;      /* table entries handed out, free ones included */
    uint32_t node_capacity;
    uint64_t node_count;
    uint64_t slot_total;
    uint64_t leaf_count;
    uint64_t heap_size;      /* bytes of bitmaps and child arrays, allocator overhead included */
    alex_inner_node *nodes;
};

uint32_t alex_inner_node_predict(const alex_inner_node *node, uint64_t key);
/* Smallest key in [low, high] the node routes to a slot >= slot; *found as in model.c. */
uint64_t alex_inner_node_first_key_at(const alex_inner_node *node, uint32_t slot,
                                      uint64_t low, uint64_t high, bool *found);
/* Which child holds slot (0-based, in key order), and that child's ref. */
uint32_t alex_inner_node_child_index(const alex_inner_node *node, uint32_t slot);
alex_ref *alex_inner_node_children(const alex_inner_node *node);
/* The first slot of child index; the slot count for index == child_count. */
uint32_t alex_inner_node_run_start(const alex_inner_node *node, uint32_t index);
/* The first slot after slot where a run starts, or the slot count: a walk over the runs
 * in order is then one pass over the bitmap (run_start is a search per call). */
uint32_t alex_inner_node_next_run_start(const alex_inner_node *node, uint32_t slot);
/*
 * Where the fractional slot y (the node's model output for a key routed to slot) falls in
 * the run holding slot, from 0 (its first slot's start) to 1 (its end): the key's place
 * in the child's key range. 0.5 when a run end is more than a bitmap word from slot (the
 * work stays bounded; the caller uses it as a hint).
 */
double alex_inner_node_run_position(const alex_inner_node *node, uint32_t slot, double y);
/* A new node of 2^slot_count_log2 slots and child_count runs, all unset (set_run each, then seal). */
int alex_inner_node_new(alex_inner *inner, uint32_t slot_count_log2, uint32_t child_count,
                        uint32_t *index_out) COMMON_WUR;
void alex_inner_node_set_run(alex_inner_node *node, uint32_t index, uint32_t first_slot,
                             alex_ref ref);
void alex_inner_node_seal(alex_inner_node *node);
void alex_inner_node_free(alex_inner *inner, uint32_t index);
/* Child index's run is cut at slot (inside it, after its start); ref owns the upper part. */
int alex_inner_node_split_run(alex_inner *inner, alex_inner_node *node, uint32_t index,
                              uint32_t slot, alex_ref ref) COMMON_WUR;
/* Child index's slots go to its left (index - 1) or right (index + 1) neighbour. */
void alex_inner_node_merge_run(alex_inner *inner, alex_inner_node *node, uint32_t index,
                               bool into_left);
/* Doubles the slots: each run [a, b) becomes [2a, 2b) (ALEX_INNER_EXPAND_SCALE), or the
 * runs keep their keys and the edge run, the last (reversed: the first), takes the new
 * slots (ALEX_INNER_EXPAND_EXTEND). The caller sets the model that goes with it. */
#define ALEX_INNER_EXPAND_SCALE 0
#define ALEX_INNER_EXPAND_EXTEND 1
int alex_inner_node_expand(alex_inner *inner, alex_inner_node *node, int kind) COMMON_WUR;

/* ---- persist.c: the inner nodes' serialised form (docs/FORMAT.md 5) ------------- */

/* Serialises the inner nodes into a malloc'd buffer (*bytes_out, freed by the caller). */
int alex_inner_encode(const alex_inner *inner, uint8_t **bytes_out, size_t *size_out) COMMON_WUR;

/*
 * Rebuilds inner nodes from bytes read from disk, validating everything: models finite,
 * slot counts powers of two within the maximum, every reference a leaf page below
 * page_count or an inner node that is referenced exactly once from above, no cycle, depth
 * within ALEX_DEPTH_MAX, a node's copies of a child contiguous. ALEXDB_CORRUPT (naming
 * path and offset) on any violation; never a crash, never a recursion.
 */
int alex_inner_decode(const char *path, uint64_t offset, const uint8_t *bytes, size_t size,
                      uint64_t page_count, alex_inner **inner_out) COMMON_WUR;

#endif /* ALEX_INT_H */
