/*
 * leaf_check.c: the structural check of a leaf page (docs/FORMAT.md 3, "valid iff"),
 * ALEX's cost model over a leaf, and the decision for a full leaf.
 *
 * The check is the gate for bytes read from disk (run after pager_page_check): it must
 * return ALEXDB_CORRUPT, never crash, on any 4096 bytes. So every count and offset is
 * bounded before it is used: the fields first (slot_count bounds every array), then the
 * bitmap, the keys, and last the heap, where each record's tag is read only once its
 * offset is known to lie in the heap. Each failed rule has its own message naming the
 * byte offset of the field or array element that breaks it.
 *
 * The cost model (ALEX, Ding et al. 2020, with its weights):
 *
 *     cost = 20 x mean over present keys of log2(|predicted slot - actual slot| + 1)
 *          + 0.5 x shifts per insert
 *
 * The search term is computed from the layout as it is. For the expected cost (stored at
 * build), shifts per insert is ALEX's estimate from the layout: an insert lands in a run
 * of L consecutive occupied slots with probability L / K and then shifts about L / 4
 * slots to the nearer end, so the estimate is sum over runs of L^2 / (4 K). For the
 * measured cost it is stat_shift_count / stat_insert_count. ALEX weights the shift term
 * by the fraction of operations that are inserts; a page does not count its reads, so
 * that fraction is taken as 1.
 *
 * Entry points: alex_leaf_check, alex_leaf_cost_expected, alex_leaf_cost_get,
 * alex_leaf_full_action.
 */
#include "alex_int.h"

#include <inttypes.h>
#include <math.h> /* isfinite only: libalexdb does not link libm */

#define COST_RETRAIN_RATIO 1.5  /* measured above 1.5x expected: the model went stale */

typedef struct check_ctx {
    const char *path;
    const uint8_t *page;
    uint64_t page_no;
    uint32_t n; /* slot_count, once known to be in 1..320 */
    uint32_t key_count;
    uint32_t heap_offset;
    uint32_t heap_dead;
} check_ctx;

/* Every message: "leaf page N: ...", at the page's offset plus the field's. */
#define LEAF_CORRUPT(ctx, field_offset, fmt, ...)                                                  \
    common_corrupt((ctx)->path, (ctx)->page_no * PAGER_PAGE_SIZE + (field_offset),                 \
                   "leaf page %" PRIu64 ": " fmt, (ctx)->page_no, __VA_ARGS__)

static bool slot_occupied(const uint8_t *page, uint32_t slot)
{
    return (page[ALEX_LEAF_FIELD_BITMAP + slot / 8u] >> (slot % 8u)) & 1u;
}

/* Header kind and flags, then the sizes every later rule depends on. */
static int check_sizes(check_ctx *ctx)
{
    const uint8_t *page = ctx->page;
    if (page[PAGER_HDR_KIND] != PAGER_KIND_LEAF) {
        return LEAF_CORRUPT(ctx, PAGER_HDR_KIND, "kind %u is not a leaf", page[PAGER_HDR_KIND]);
    }
    uint32_t flags = common_load_u16le(page + PAGER_HDR_FLAGS);
    if (flags != 0) return LEAF_CORRUPT(ctx, PAGER_HDR_FLAGS, "flags %u are not 0", flags);
    ctx->n = common_load_u16le(page + ALEX_LEAF_FIELD_SLOT_COUNT);
    if (ctx->n < 1 || ctx->n > ALEX_LEAF_SLOT_COUNT_MAX) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_SLOT_COUNT, "slot_count %u outside 1..%u", ctx->n,
                            ALEX_LEAF_SLOT_COUNT_MAX);
    }
    ctx->key_count = common_load_u16le(page + ALEX_LEAF_FIELD_KEY_COUNT);
    if (ctx->key_count > ctx->n) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_KEY_COUNT, "key_count %u above slot_count %u",
                            ctx->key_count, ctx->n);
    }
    ctx->heap_offset = common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_OFFSET);
    uint32_t keys_end = alex_leaf_keys_end(ctx->n);
    if (ctx->heap_offset < keys_end || ctx->heap_offset > PAGER_PAGE_SIZE) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_HEAP_OFFSET, "heap_offset %u outside %u..%u",
                            ctx->heap_offset, keys_end, PAGER_PAGE_SIZE);
    }
    ctx->heap_dead = common_load_u16le(page + ALEX_LEAF_FIELD_HEAP_DEAD);
    if (ctx->heap_dead > PAGER_PAGE_SIZE - ctx->heap_offset) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_HEAP_DEAD,
                            "heap_dead %u above the heap's %u bytes", ctx->heap_dead,
                            PAGER_PAGE_SIZE - ctx->heap_offset);
    }
    return ALEXDB_OK;
}

/* The model, the fences and the expected cost. */
static int check_model(const check_ctx *ctx)
{
    const uint8_t *page = ctx->page;
    double slope = common_load_f64le(page + ALEX_LEAF_FIELD_SLOPE);
    if (!isfinite(slope) || slope < 0.0) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_SLOPE, "slope %g is not finite and >= 0", slope);
    }
    double intercept = common_load_f64le(page + ALEX_LEAF_FIELD_INTERCEPT);
    if (!isfinite(intercept)) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_INTERCEPT, "intercept %g is not finite",
                            intercept);
    }
    uint64_t low = common_load_u64le(page + ALEX_LEAF_FIELD_FENCE_LOW);
    uint64_t high = common_load_u64le(page + ALEX_LEAF_FIELD_FENCE_HIGH);
    if (high < low) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_FENCE_HIGH,
                            "fence_high %" PRIu64 " below fence_low %" PRIu64, high, low);
    }
    float cost = common_load_f32le(page + ALEX_LEAF_FIELD_EXPECTED_COST);
    if (!isfinite(cost) || cost < 0.0f) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_EXPECTED_COST,
                            "expected_cost %g is not finite and >= 0", (double)cost);
    }
    return ALEXDB_OK;
}

/* Bits at and above slot_count are zero; the population count is key_count. */
static int check_bitmap(const check_ctx *ctx)
{
    uint32_t words = (ctx->n + 63u) / 64u;
    uint32_t population = 0;
    for (uint32_t w = 0; w < words; w++) {
        uint32_t offset = ALEX_LEAF_FIELD_BITMAP + 8u * w;
        uint64_t bits = common_load_u64le(ctx->page + offset);
        uint32_t valid = ctx->n - 64u * w; /* slots this word covers, if below 64 */
        if (valid < 64u && (bits >> valid) != 0) {
            return LEAF_CORRUPT(ctx, offset, "bitmap bits set at or above slot_count %u", ctx->n);
        }
        population += common_popcount64(bits);
    }
    if (population != ctx->key_count) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_KEY_COUNT, "key_count %u but %u bits set",
                            ctx->key_count, population);
    }
    return ALEXDB_OK;
}

/* Occupied keys strictly increase inside the fences; each gap copies the next occupied. */
static int check_keys(const check_ctx *ctx)
{
    const uint8_t *page = ctx->page;
    uint64_t low = common_load_u64le(page + ALEX_LEAF_FIELD_FENCE_LOW);
    uint64_t high = common_load_u64le(page + ALEX_LEAF_FIELD_FENCE_HIGH);
    uint32_t keys_offset = alex_leaf_keys_offset(ctx->n);
    uint64_t next = UINT64_MAX; /* the next occupied key to the right, or the maximum */
    bool have_next = false;
    for (uint32_t slot = ctx->n; slot-- > 0;) {
        uint32_t offset = keys_offset + 8u * slot;
        uint64_t key = common_load_u64le(page + offset);
        if (!slot_occupied(page, slot)) {
            if (key != next) {
                return LEAF_CORRUPT(ctx, offset, "gap slot %u holds %" PRIu64 ", not %" PRIu64,
                                    slot, key, next);
            }
            continue;
        }
        if (have_next && key >= next) {
            return LEAF_CORRUPT(ctx, offset,
                                "key %" PRIu64 " at slot %u not below the next %" PRIu64, key, slot,
                                next);
        }
        if (key < low || key > high) {
            return LEAF_CORRUPT(ctx, offset, "key %" PRIu64 " at slot %u outside the fences", key,
                                slot);
        }
        next = key;
        have_next = true;
    }
    return ALEXDB_OK;
}

/*
 * Marks [offset, offset + size) in covered (one bit per page byte); false if any byte
 * was already covered. A word of 64 bytes at a time: the record's bits in word w are
 * the mask of its first and last bit there, so a 1002-byte record costs 17 tests, not
 * 1002.
 */
static bool heap_claim(uint64_t *covered, uint32_t offset, uint32_t size)
{
    ALEXDB_ASSERT(size > 0 && offset + size <= PAGER_PAGE_SIZE);
    uint32_t end = offset + size; /* exclusive */
    uint32_t last = (end - 1u) / 64u;
    for (uint32_t w = offset / 64u; w <= last; w++) {
        uint32_t from = w == offset / 64u ? offset % 64u : 0u;
        uint32_t to = w == last ? (end - 1u) % 64u : 63u; /* inclusive */
        uint64_t mask = (~0ull << from) & (~0ull >> (63u - to));
        if (covered[w] & mask) return false;
        covered[w] |= mask;
    }
    return true;
}

/* One occupied slot's record: inside the heap, a valid tag, no overlap. Adds its size. */
static int check_record(const check_ctx *ctx, uint32_t slot, uint64_t *covered, uint32_t *live)
{
    uint32_t at = alex_leaf_value_offsets_offset(ctx->n) + 2u * slot;
    uint32_t offset = common_load_u16le(ctx->page + at);
    if (offset < ctx->heap_offset || offset + 2u > PAGER_PAGE_SIZE) {
        return LEAF_CORRUPT(ctx, at, "slot %u value offset %u outside the heap %u..%u", slot,
                            offset, ctx->heap_offset, PAGER_PAGE_SIZE);
    }
    uint16_t tag = common_load_u16le(ctx->page + offset);
    uint32_t size = alex_leaf_tag_record_size(tag);
    if (size == 0)
        return LEAF_CORRUPT(ctx, offset, "slot %u record has invalid tag 0x%x", slot, tag);
    if (offset + size > PAGER_PAGE_SIZE) {
        return LEAF_CORRUPT(ctx, offset, "slot %u record of %u bytes runs past the page", slot,
                            size);
    }
    if (tag == ALEX_VALUE_TAG_OVERFLOW) {
        uint32_t value_size = common_load_u32le(ctx->page + offset + 2u);
        uint64_t first = common_load_u64le(ctx->page + offset + 6u);
        if (value_size <= ALEX_INLINE_VALUE_SIZE_MAX || value_size > ALEX_VALUE_SIZE_MAX) {
            return LEAF_CORRUPT(ctx, offset + 2u, "slot %u overflow reference of %u bytes "
                                "(must be %u..%u)", slot, value_size,
                                ALEX_INLINE_VALUE_SIZE_MAX + 1, ALEX_VALUE_SIZE_MAX);
        }
        if (first < 2 || first > ALEX_LEAF_PAGE_NO_MAX) {
            return LEAF_CORRUPT(ctx, offset + 6u, "slot %u overflow reference to page %llu",
                                slot, (unsigned long long)first);
        }
    }
    if (!heap_claim(covered, offset, size)) {
        return LEAF_CORRUPT(ctx, offset, "slot %u record overlaps another record", slot);
    }
    *live += size;
    return ALEXDB_OK;
}

/* Value offsets, records, and heap_dead = heap bytes no record covers. */
static int check_heap(const check_ctx *ctx)
{
    uint64_t covered[PAGER_PAGE_SIZE / 64u];
    memset(covered, 0, sizeof(covered));
    uint32_t offsets_offset = alex_leaf_value_offsets_offset(ctx->n);
    uint32_t live = 0;
    for (uint32_t slot = 0; slot < ctx->n; slot++) {
        if (slot_occupied(ctx->page, slot)) {
            int rc = check_record(ctx, slot, covered, &live);
            if (rc != ALEXDB_OK) return rc;
            continue;
        }
        uint32_t offset = common_load_u16le(ctx->page + offsets_offset + 2u * slot);
        if (offset != 0) {
            return LEAF_CORRUPT(ctx, offsets_offset + 2u * slot, "gap slot %u has value offset %u",
                                slot, offset);
        }
    }
    uint32_t dead = PAGER_PAGE_SIZE - ctx->heap_offset - live;
    if (ctx->heap_dead != dead) {
        return LEAF_CORRUPT(ctx, ALEX_LEAF_FIELD_HEAP_DEAD,
                            "heap_dead %u but %u heap bytes are dead", ctx->heap_dead, dead);
    }
    return ALEXDB_OK;
}

int alex_leaf_check(const char *path, const uint8_t *page, uint64_t page_no)
{
    ALEXDB_ASSERT(page != NULL);
    check_ctx ctx = { .path = path, .page = page, .page_no = page_no };
    int rc = check_sizes(&ctx);
    if (rc == ALEXDB_OK) rc = check_model(&ctx);
    if (rc == ALEXDB_OK) rc = check_bitmap(&ctx);
    if (rc == ALEXDB_OK) rc = check_keys(&ctx);
    if (rc == ALEXDB_OK) rc = check_heap(&ctx);
    ALEXDB_ASSERT(rc == ALEXDB_OK || rc == ALEXDB_CORRUPT);
    return rc;
}

/* ---- ALEX's cost model ------------------------------------------------------------ */

/* Mean over present keys of log2(|predicted - actual| + 1): the search term. */
static double log2_error_avg(const uint8_t *page)
{
    uint32_t n = alex_leaf_slot_count(page);
    uint32_t key_count = alex_leaf_key_count(page);
    if (key_count == 0) return 0.0;
    alex_model model;
    alex_leaf_model_get(page, &model);
    const uint8_t *keys = page + alex_leaf_keys_offset(n);
    double sum = 0.0;
    for (uint32_t slot = 0; slot < n; slot++) {
        if (!slot_occupied(page, slot)) continue;
        uint32_t predicted = alex_model_predict(&model, common_load_u64le(keys + 8u * slot), n);
        uint32_t error = predicted > slot ? predicted - slot : slot - predicted;
        sum += alex_model_log2_u32(error + 1u);
    }
    return sum / key_count;
}

/* ALEX's expected shifts per insert: sum over runs of L occupied slots of L^2 / (4 K). */
static double expected_shifts_avg(const uint8_t *page)
{
    uint32_t n = alex_leaf_slot_count(page);
    uint32_t key_count = alex_leaf_key_count(page);
    if (key_count == 0) return 0.0;
    double sum = 0.0;
    uint32_t run = 0;
    for (uint32_t slot = 0; slot <= n; slot++) {
        if (slot < n && slot_occupied(page, slot)) {
            run++;
        } else {
            sum += (double)run * (double)run / 4.0;
            run = 0;
        }
    }
    return sum / key_count;
}

double alex_leaf_cost_expected(const uint8_t *page)
{
    return ALEX_COST_SEARCH_WEIGHT * log2_error_avg(page) +
           ALEX_COST_SHIFT_WEIGHT * expected_shifts_avg(page);
}

void alex_leaf_cost_get(const uint8_t *page, alex_leaf_cost *cost_out)
{
    ALEXDB_ASSERT(page != NULL && cost_out != NULL);
    uint32_t n = alex_leaf_slot_count(page);
    uint32_t key_count = alex_leaf_key_count(page);
    const uint8_t *keys = page + alex_leaf_keys_offset(n);
    uint64_t steps_sum = 0;
    for (uint32_t slot = 0; slot < n; slot++) {
        if (!slot_occupied(page, slot)) continue;
        uint32_t steps;
        uint32_t p = alex_leaf_lower_bound(page, common_load_u64le(keys + 8u * slot), &steps);
        ALEXDB_ASSERT(p <= slot);
        steps_sum += steps;
    }
    uint32_t inserts = common_load_u32le(page + ALEX_LEAF_FIELD_INSERT_COUNT);
    uint32_t shifts = common_load_u32le(page + ALEX_LEAF_FIELD_SHIFT_COUNT);
    cost_out->search_steps_avg = key_count > 0 ? (double)steps_sum / key_count : 0.0;
    cost_out->shifts_per_insert = inserts > 0 ? (double)shifts / inserts : 0.0;
    cost_out->expected_cost = common_load_f32le(page + ALEX_LEAF_FIELD_EXPECTED_COST);
    cost_out->measured_cost =
        ALEX_COST_SEARCH_WEIGHT * log2_error_avg(page) + ALEX_COST_SHIFT_WEIGHT * cost_out->shifts_per_insert;
    ALEXDB_ASSERT(isfinite(cost_out->measured_cost) && cost_out->measured_cost >= 0.0);
}

/*
 * "The live bytes leave room" means: rebuilding the current entries at
 * ALEX_LEAF_DENSITY_BUILD (alex_leaf_entries + alex_leaf_build, in the same page) gets
 * the slot count it asks for (at most 0.7 full; or at worst ALEX_LEAF_DENSITY_MAX full
 * once the incoming key is in) and leaves incoming_record_size bytes of free heap. So
 * after RETRAIN both ways of retrying work: the rebuild followed by the same upsert, or
 * a build with the incoming entry merged in (its slot count is at least as large). And
 * retrains cannot thrash: each one grows the gapped array by about 1 / 0.7, and when the
 * page caps that growth near full density, the leaf splits instead.
 */
alex_full_action alex_leaf_full_action(const uint8_t *page, uint32_t incoming_record_size)
{
    ALEXDB_ASSERT(page != NULL && incoming_record_size <= 2u + ALEX_INLINE_VALUE_SIZE_MAX);
    uint32_t key_count = alex_leaf_key_count(page);
    size_t live = alex_leaf_heap_used(page);
    uint32_t rebuilt = alex_leaf_slot_count_for(key_count, live, ALEX_LEAF_DENSITY_BUILD);
    if (rebuilt == 0 ||
        alex_leaf_keys_end(rebuilt) + live + incoming_record_size > PAGER_PAGE_SIZE) {
        return ALEX_FULL_SPLIT;
    }
    bool sparse = (double)key_count <= ALEX_LEAF_DENSITY_BUILD * rebuilt + 1e-9 ||
                  (double)(key_count + 1u) <= ALEX_LEAF_DENSITY_MAX * rebuilt;
    if (!sparse) return ALEX_FULL_SPLIT;
    /* The heap had room: the gapped array ran out (ALEX: full density -> expand). */
    if (alex_leaf_free_bytes(page) >= incoming_record_size) return ALEX_FULL_RETRAIN;
    alex_leaf_cost cost;
    alex_leaf_cost_get(page, &cost);
    if (cost.measured_cost > COST_RETRAIN_RATIO * cost.expected_cost) return ALEX_FULL_RETRAIN;
    return ALEX_FULL_SPLIT;
}
