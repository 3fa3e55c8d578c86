/*
 * keys.c: the keys and values of alexdb-index-bench. Key number i is a pure function of
 * (shape, seed, i) (ib_key_at in index_bench.h), so timed loops draw an index and compute
 * the key with no array in memory; uniform keys are a bijection of i, hence distinct by
 * construction, and the sorted array is still checked strictly increasing (the clustered
 * shape could in principle collide; that is reported, never silently deduplicated, since
 * the count of keys is part of what is measured). Values are derived from their key
 * (ib_value_word), so every read can be checked without keeping values around.
 *
 * Entry points: index_bench_keys_init(), index_bench_sorted_keys(),
 * index_bench_shuffled_keys(), index_bench_value_fill(), index_bench_value_check(),
 * index_bench_bulk_input_make() / _free().
 */
#include "index_bench.h"

#include <endian.h>
#include <inttypes.h>
#include <string.h>

void index_bench_keys_init(ib_keys *keys, ib_key_shape shape, uint64_t count, uint64_t seed)
{
    IB_ASSERT(count > 0 && count <= IB_KEY_COUNT_MAX);
    keys->shape = shape;
    keys->count = count;
    keys->offset = ib_mix(seed * IB_MIX_ADD + 1u);
}

const char *index_bench_shape_name(ib_key_shape shape)
{
    switch (shape) {
    case IB_SHAPE_SEQUENTIAL: return "sequential";
    case IB_SHAPE_CLUSTERED: return "clustered";
    case IB_SHAPE_UNIFORM: break;
    }
    return "uniform";
}

/* Little-endian words through memcpy, which compiles to one move: the check runs once
 * per timed read, and a byte-by-byte loop cost about 330 instructions a read. */
static void store_u64le(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, 8);
}

static uint64_t load_u64le(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

void index_bench_value_fill(uint8_t *buf, size_t size, uint64_t key)
{
    size_t w = 0;
    for (; (w + 1) * 8 <= size; w++) store_u64le(buf + w * 8, ib_value_word(key, w));
    uint8_t last[8];
    store_u64le(last, ib_value_word(key, w));
    memcpy(buf + w * 8, last, size - w * 8);
}

bool index_bench_value_check(const uint8_t *buf, size_t size, uint64_t key)
{
    uint64_t diff = 0;
    size_t words = size / 8;
    uint64_t want = ib_value_word(key, 0);
    for (size_t i = 0; i < words; i++, want += IB_VALUE_WORD_MUL) diff |= load_u64le(buf + i * 8) ^ want;
    size_t w = words;
    uint8_t last[8];
    store_u64le(last, ib_value_word(key, w));
    return diff == 0 && memcmp(buf + w * 8, last, size - w * 8) == 0;
}

bool index_bench_value_check_first(const uint8_t *buf, size_t size, uint64_t key)
{
    if (size < 8) return index_bench_value_check(buf, size, key);
    return load_u64le(buf) == ib_value_word(key, 0);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t *index_bench_sorted_keys(const ib_keys *keys)
{
    uint64_t *sorted = malloc(keys->count * sizeof(uint64_t));
    if (sorted == NULL) {
        index_bench_errorf(ALEXDB_NOMEM, "out of memory for %" PRIu64 " keys", keys->count);
        return NULL;
    }
    bool in_order = true;
    for (uint64_t i = 0; i < keys->count; i++) {
        sorted[i] = ib_key_at(keys, i);
        if (i > 0 && sorted[i] <= sorted[i - 1]) in_order = false;
    }
    if (!in_order) qsort(sorted, keys->count, sizeof(uint64_t), compare_u64);
    for (uint64_t i = 1; i < keys->count; i++) {
        if (sorted[i] == sorted[i - 1]) {
            index_bench_errorf(ALEXDB_INVALID,
                               "key %" PRIu64 " drawn twice (%s shape): try another --seed",
                               sorted[i], index_bench_shape_name(keys->shape));
            free(sorted);
            return NULL;
        }
    }
    return sorted;
}

uint64_t *index_bench_shuffled_keys(const ib_keys *keys, uint64_t seed)
{
    uint64_t *order = malloc(keys->count * sizeof(uint64_t));
    if (order == NULL) {
        index_bench_errorf(ALEXDB_NOMEM, "out of memory for %" PRIu64 " keys", keys->count);
        return NULL;
    }
    for (uint64_t i = 0; i < keys->count; i++) order[i] = ib_key_at(keys, i);
    ib_rng rng;
    ib_rng_seed(&rng, seed ^ 0xf111ULL);
    for (uint64_t i = keys->count - 1; i > 0; i--) { /* Fisher-Yates */
        uint64_t j = ib_rng_below(&rng, i + 1);
        uint64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return order;
}

int index_bench_bulk_input_make(ib_bulk_input *in, const uint64_t *sorted, uint64_t count,
                                size_t value_size)
{
    IB_ASSERT(count > 0 && value_size <= IB_VALUE_SIZE_MAX);
    memset(in, 0, sizeof(*in));
    size_t stride = value_size > 0 ? value_size : 1;
    in->value_bytes = malloc(count * stride);
    in->values = malloc(count * sizeof(void *));
    in->value_sizes = malloc(count * sizeof(size_t));
    if (in->value_bytes == NULL || in->values == NULL || in->value_sizes == NULL) {
        index_bench_bulk_input_free(in);
        return index_bench_errorf(ALEXDB_NOMEM, "out of memory for %" PRIu64 " values of %zu bytes",
                                  count, value_size);
    }
    for (uint64_t i = 0; i < count; i++) {
        uint8_t *v = in->value_bytes + i * stride;
        index_bench_value_fill(v, value_size, sorted[i]);
        in->values[i] = v;
        in->value_sizes[i] = value_size;
    }
    return ALEXDB_OK;
}

void index_bench_bulk_input_free(ib_bulk_input *in)
{
    free(in->value_bytes);
    free((void *)in->values);
    free(in->value_sizes);
    memset(in, 0, sizeof(*in));
}
