/*
 * alex_bulk_test.c: the sorted bulk load (alex/bulk.c). 100 K keys of mixed spacing
 * (dense runs, wide gaps, a run above 2^53, both ends of the key space) with mixed value
 * sizes including out-of-line values load, read back, iterate in order, check clean and
 * survive reopen. Unsorted or duplicate keys, a non-empty database and bad arrays are
 * ALEXDB_INVALID (an oversized value ALEXDB_TOOBIG) and leave the handle usable; inserts
 * and deletes on top of a bulk-loaded index work and check clean. The leaves are written
 * around the cache, in any cache size: the first read of each misses, the second hits.
 * A write error in the load's writer thread fails the load and the handle, and a power
 * cut at any I/O of a load leaves the database empty or wholly loaded, never part.
 */
#include "alexdb.h"
#include "api_int.h"
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define BULK_COUNT 100000u
#define ALEX_TEST_KEYS_PER_LEAF_MAX 36u /* 100-byte values: a 4 KiB leaf holds fewer */

static alexdb *open_db(const char *dir)
{
    return tu_db_open(dir, 4u << 20);
}

/* Strictly increasing keys: dense, gapped, above 2^53 (where doubles collide), the ends. */
static uint64_t key_of(uint64_t i)
{
    if (i < 40000) return 2 * i; /* odd keys between them stay free for later inserts */
    if (i < 60000) return 80000 + (i - 40000) * 1000003ULL;
    if (i < 90000) return (1ULL << 53) + (i - 60000);
    return UINT64_MAX - (BULK_COUNT - 1 - i) * 977;
}

/* Mostly small, some exactly at the inline limit, one in 500 out of line. */
static size_t size_of(uint64_t i)
{
    if (i % 500 == 7) return 1025 + i % 6000;
    if (i % 997 == 3) return 1024;
    return i % 23;
}

static void value_of(uint64_t i, uint8_t *buf)
{
    size_t size = size_of(i);
    for (size_t b = 0; b < size; b++) buf[b] = (uint8_t)(i * 131 + b * 7);
}

typedef struct input {
    uint64_t *keys;
    const void **values;
    size_t *sizes;
    uint8_t *bytes;
    size_t count;
} input;

static input input_make(size_t count)
{
    input in = {.count = count};
    in.keys = malloc(count * sizeof(uint64_t));
    in.values = malloc(count * sizeof(void *));
    in.sizes = malloc(count * sizeof(size_t));
    size_t total = 0;
    for (size_t i = 0; i < count; i++) total += size_of(i);
    in.bytes = malloc(total + 1);
    assert_true(in.keys && in.values && in.sizes && in.bytes);
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        in.keys[i] = key_of(i);
        in.sizes[i] = size_of(i);
        in.values[i] = in.bytes + at;
        value_of(i, in.bytes + at);
        at += size_of(i);
    }
    return in;
}

static void input_free(input *in)
{
    free(in->keys);
    free(in->values);
    free(in->sizes);
    free(in->bytes);
}

static void expect_all_sized(alexdb *db, size_t count, size_t size_max)
{
    uint8_t buf[8192], want[8192];
    for (size_t i = 0; i < count; i++) {
        size_t got = 0;
        assert_int_equal(alexdb_get(db, key_of(i), buf, sizeof(buf), &got), ALEXDB_OK);
        assert_int_equal(got, COMMON_MIN(size_of(i), size_max));
        value_of(i, want);
        assert_memory_equal(buf, want, got);
    }
    /* In order, each once, with the same values. */
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    size_t i = 0;
    for (alexdb_iter_seek(it, 0); alexdb_iter_valid(it); alexdb_iter_next(it), i++) {
        assert_true(i < count);
        assert_int_equal(alexdb_iter_key(it), key_of(i));
        if (i % 7 == 0 || size_of(i) > 1024) {
            const void *v = NULL;
            size_t size = 0;
            alexdb_iter_value(it, &v, &size);
            assert_int_equal(size, COMMON_MIN(size_of(i), size_max));
            value_of(i, want);
            assert_memory_equal(v, want, size);
        }
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(i, count);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
}

static void expect_all(alexdb *db, size_t count)
{
    expect_all_sized(db, count, SIZE_MAX);
}

/* 100 K sorted keys with mixed values load, read back, iterate, check, survive reopen. */
static void test_load_100k(void **state)
{
    tu_fixture *fx = *state;
    input in = input_make(BULK_COUNT);
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_bulk_load(db, in.keys, in.values, in.sizes, in.count), ALEXDB_OK);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, BULK_COUNT);
    assert_true(st.leaf_count > BULK_COUNT / 320);
    assert_int_equal(st.split_count, 0); /* built, not grown */
    expect_all(db, BULK_COUNT);
    size_t got = 0;
    assert_int_equal(alexdb_get(db, 40001, NULL, 0, &got), ALEXDB_NOTFOUND); /* in a gap */
    assert_int_equal(alexdb_get(db, (1ULL << 53) + 30000, NULL, 0, &got), ALEXDB_NOTFOUND);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path);
    expect_all(db, BULK_COUNT);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, BULK_COUNT);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    input_free(&in);
}

/*
 * Pages owned by something (not free), after a checkpoint: so the metadata run is
 * there whether or not the background checkpointer took one meanwhile.
 */
static uint64_t used_size(alexdb *db)
{
    assert_int_equal(alexdb_checkpoint(db), ALEXDB_OK);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    return st.file_size - st.free_size;
}

/* The handle still works after a refused load: a put, a get, then a good load. */
static void expect_usable(alexdb *db, uint64_t used_before)
{
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, 0);
    assert_int_equal(used_size(db), used_before); /* nothing allocated and kept */
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
}

/* Unsorted, duplicate, NULL, oversized and non-empty loads are refused; the db goes on. */
static void test_refusals(void **state)
{
    tu_fixture *fx = *state;
    input in = input_make(2000);
    /* Inline values only before the bad keys here: see the report on leaked overflow runs. */
    for (size_t i = 0; i < in.count; i++) in.sizes[i] = COMMON_MIN(in.sizes[i], (size_t)1024);
    alexdb *db = open_db(fx->path);
    uint64_t used = used_size(db);
    uint64_t saved = 0;
    /* Two keys swapped in the middle. */
    saved = in.keys[1000];
    in.keys[1000] = in.keys[1001];
    in.keys[1001] = saved;
    assert_int_equal(alexdb_bulk_load(db, in.keys, in.values, in.sizes, in.count), ALEXDB_INVALID);
    expect_usable(db, used);
    in.keys[1001] = in.keys[1000];
    in.keys[1000] = saved;
    /* A duplicate. */
    saved = in.keys[1500];
    in.keys[1500] = in.keys[1499];
    assert_int_equal(alexdb_bulk_load(db, in.keys, in.values, in.sizes, in.count), ALEXDB_INVALID);
    expect_usable(db, used);
    in.keys[1500] = saved;
    /* Decreasing at the very first pair. */
    uint64_t two[2] = {5, 4};
    assert_int_equal(alexdb_bulk_load(db, two, in.values, in.sizes, 2), ALEXDB_INVALID);
    expect_usable(db, used);
    /* NULL arrays; NULL data with a size; an oversized value. */
    assert_int_equal(alexdb_bulk_load(db, NULL, in.values, in.sizes, 10), ALEXDB_INVALID);
    assert_int_equal(alexdb_bulk_load(db, in.keys, NULL, in.sizes, 10), ALEXDB_INVALID);
    assert_int_equal(alexdb_bulk_load(db, in.keys, in.values, NULL, 10), ALEXDB_INVALID);
    const void *null_values[2] = {"ok", NULL};
    size_t null_sizes[2] = {2, 3};
    uint64_t keys2[2] = {1, 2};
    assert_int_equal(alexdb_bulk_load(db, keys2, null_values, null_sizes, 2), ALEXDB_INVALID);
    expect_usable(db, used);
    size_t huge_sizes[2] = {2, (size_t)ALEXDB_VALUE_SIZE_MAX + 1};
    const void *huge_values[2] = {"ok", "x"};
    assert_int_equal(alexdb_bulk_load(db, keys2, huge_values, huge_sizes, 2), ALEXDB_TOOBIG);
    expect_usable(db, used);
    assert_int_equal(alexdb_bulk_load(db, NULL, NULL, NULL, 0), ALEXDB_OK); /* nothing to do */
    expect_usable(db, used);
    /* After all that, a good load works. */
    assert_int_equal(alexdb_bulk_load(db, in.keys, in.values, in.sizes, in.count), ALEXDB_OK);
    expect_all_sized(db, in.count, 1024);
    /* Now it is not empty: refused, and nothing changed. */
    assert_int_equal(alexdb_bulk_load(db, in.keys, in.values, in.sizes, in.count), ALEXDB_INVALID);
    expect_all_sized(db, in.count, 1024);
    assert_int_equal(alexdb_put(db, key_of(5000), "z", 1), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    /* A db holding one key (one leaf) is not empty either. */
    char *dir2 = tu_path(fx->dir, "second");
    db = open_db(dir2);
    assert_int_equal(alexdb_put(db, 42, "x", 1), ALEXDB_OK);
    assert_int_equal(alexdb_bulk_load(db, in.keys, in.values, in.sizes, in.count), ALEXDB_INVALID);
    size_t got = 0;
    assert_int_equal(alexdb_get(db, 42, NULL, 0, &got), ALEXDB_OK);
    assert_int_equal(alexdb_get(db, in.keys[0], NULL, 0, &got), ALEXDB_NOTFOUND);
    assert_int_equal(alexdb_put(db, 43, "y", 1), ALEXDB_OK);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(dir2);
    input_free(&in);
}

/* Inserts between bulk-loaded keys and deletes of them, against an oracle; checks clean. */
static void test_changes_on_top(void **state)
{
    tu_fixture *fx = *state;
    const size_t count = 30000; /* keys 0, 2, 4, ... 59998 */
    input in = input_make(count);
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_bulk_load(db, in.keys, in.values, in.sizes, count), ALEXDB_OK);
    /* Oracle: bulk key i (2i) present iff present[i]; odd key 2j + 1 present iff odd[j]. */
    static uint8_t present[30000], odd[30000];
    memset(present, 1, sizeof(present));
    memset(odd, 0, sizeof(odd));
    uint64_t expected = count;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    struct alexdb_stats before, after;
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    for (uint32_t op = 0; op < 60000; op++) {
        uint64_t r = common_rng_below(&rng, 10);
        uint64_t j = common_rng_below(&rng, count);
        if (r < 5) { /* an odd key between two built ones */
            uint64_t key = 2 * j + 1;
            assert_int_equal(alexdb_put(db, key, &key, 8), ALEXDB_OK);
            expected += !odd[j];
            odd[j] = 1;
        } else if (r < 8) {
            int rc = alexdb_delete(db, key_of(j));
            assert_int_equal(rc, present[j] ? ALEXDB_OK : ALEXDB_NOTFOUND);
            expected -= present[j];
            present[j] = 0;
        } else {
            uint8_t buf[8192], want[8192];
            size_t got = 0;
            int rc = alexdb_get(db, key_of(j), buf, sizeof(buf), &got);
            assert_int_equal(rc, present[j] ? ALEXDB_OK : ALEXDB_NOTFOUND);
            if (rc == ALEXDB_OK) {
                value_of(j, want);
                assert_int_equal(got, size_of(j));
                assert_memory_equal(buf, want, got);
            }
        }
    }
    assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
    assert_true(after.split_count > before.split_count);
    assert_int_equal(after.key_count, expected);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < count; i++) {
            uint8_t buf[8192];
            size_t got = 0;
            assert_int_equal(alexdb_get(db, key_of(i), buf, sizeof(buf), &got),
                             present[i] ? ALEXDB_OK : ALEXDB_NOTFOUND);
            uint64_t key = 2 * i + 1;
            assert_int_equal(alexdb_get(db, key, buf, sizeof(buf), &got), odd[i] ? ALEXDB_OK : ALEXDB_NOTFOUND);
            if (odd[i]) assert_memory_equal(buf, &key, 8);
        }
        /* In order: every present key once. */
        alexdb_iter *it = NULL;
        assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
        uint64_t next = 0, seen = 0;
        for (alexdb_iter_seek(it, 0); alexdb_iter_valid(it); alexdb_iter_next(it), seen++) {
            while (next < 2 * count && !(next % 2 == 0 ? present[next / 2] : odd[next / 2])) next++;
            assert_int_equal(alexdb_iter_key(it), next);
            next++;
        }
        assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
        assert_int_equal(seen, expected);
        assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
        struct alexdb_stats st;
        assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
        assert_int_equal(st.key_count, expected);
        assert_int_equal(alexdb_check(db), ALEXDB_OK);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        db = open_db(fx->path);
    }
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    input_free(&in);
}

/* 1000 values of 1 KiB: the metadata blob lands near a page boundary; reopen works. */
static void test_1k_values_reopen(void **state)
{
    tu_fixture *fx = *state;
    static uint8_t v[1024];
    static uint64_t k[1000];
    static const void *vals[1000];
    static size_t s[1000];
    for (size_t i = 0; i < 1000; i++) {
        k[i] = i;
        vals[i] = v;
        s[i] = 1024;
    }
    alexdb *db = open_db(fx->path);
    assert_int_equal(alexdb_bulk_load(db, k, vals, s, 1000), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* A refused load keeps no page: its big values' runs are never written or are freed. */
static void test_refused_load_leaks_nothing(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path);
    uint64_t used = used_size(db);
    static uint8_t big[5000];
    uint64_t k[3] = {1, 3, 2};
    const void *v[3] = {big, "b", "c"};
    size_t s[3] = {5000, 1, 1};
    assert_int_equal(alexdb_bulk_load(db, k, v, s, 3), ALEXDB_INVALID);
    assert_int_equal(used_size(db), used);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* ---- values of one size: the load's fits needs no prefix sums ---- */

#define SAME_SIZE_VALUE_SIZE 100u

static uint64_t same_size_key(uint64_t i)
{
    return i * 0x9E3779B97F4AULL + (i % 7); /* strictly increasing, uneven gaps */
}

static void same_size_value(uint64_t key, uint8_t *buf)
{
    for (uint32_t b = 0; b < SAME_SIZE_VALUE_SIZE; b++) buf[b] = (uint8_t)(key * 31 + b);
}

/* The arrays alexdb_bulk_load takes for count keys of same_size_key / same_size_value. */
typedef struct same_size_input {
    uint64_t *keys;
    const void **values;
    size_t *sizes;
    uint8_t *bytes;
} same_size_input;

static void same_size_make(same_size_input *in, size_t count)
{
    in->keys = malloc(count * sizeof(*in->keys));
    in->values = malloc(count * sizeof(*in->values));
    in->sizes = malloc(count * sizeof(*in->sizes));
    in->bytes = malloc(count * SAME_SIZE_VALUE_SIZE);
    assert_true(in->keys && in->values && in->sizes && in->bytes);
    for (size_t i = 0; i < count; i++) {
        in->keys[i] = same_size_key(i);
        same_size_value(in->keys[i], in->bytes + i * SAME_SIZE_VALUE_SIZE);
        in->values[i] = in->bytes + i * SAME_SIZE_VALUE_SIZE;
        in->sizes[i] = SAME_SIZE_VALUE_SIZE;
    }
}

static void same_size_free(same_size_input *in)
{
    free(in->bytes);
    free(in->sizes);
    free(in->values);
    free(in->keys);
}

/* Loads count keys with 100-byte values into a db with a cache of cache_bytes, reads them
 * all back twice; returns the cache misses the first pass took, *second_out the second's. */
static uint64_t same_size_load(const char *dir, size_t count, size_t cache_bytes,
                               uint64_t *second_out)
{
    same_size_input in;
    same_size_make(&in, count);
    const uint64_t *keys = in.keys;
    alexdb *db = tu_db_open(dir, cache_bytes);
    assert_int_equal(alexdb_bulk_load(db, keys, in.values, in.sizes, count), ALEXDB_OK);
    struct alexdb_stats before, after;
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    uint8_t buf[SAME_SIZE_VALUE_SIZE], want[SAME_SIZE_VALUE_SIZE];
    for (size_t i = 0; i < count; i++) {
        size_t got = 0;
        assert_int_equal(alexdb_get(db, keys[i], buf, sizeof(buf), &got), ALEXDB_OK);
        assert_int_equal(got, SAME_SIZE_VALUE_SIZE);
        same_size_value(keys[i], want);
        assert_memory_equal(buf, want, SAME_SIZE_VALUE_SIZE);
    }
    assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
    assert_int_equal(after.key_count, count);
    for (size_t i = 0; i < count; i++) {
        size_t got = 0;
        assert_int_equal(alexdb_get(db, keys[i], buf, sizeof(buf), &got), ALEXDB_OK);
    }
    struct alexdb_stats second;
    assert_int_equal(alexdb_stats(db, &second), ALEXDB_OK);
    *second_out = second.cache_miss_count - after.cache_miss_count;
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = tu_db_open(dir, cache_bytes);
    for (size_t i = 0; i < count; i += 97) {
        size_t got = 0;
        assert_int_equal(alexdb_get(db, keys[i], buf, sizeof(buf), &got), ALEXDB_OK);
        same_size_value(keys[i], want);
        assert_memory_equal(buf, want, SAME_SIZE_VALUE_SIZE);
    }
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    same_size_free(&in);
    return after.cache_miss_count - before.cache_miss_count;
}

/*
 * A load far smaller than the cache still writes its leaves around it: each is read
 * once on the first pass over the keys (about 60000 / 28 leaves) and then stays cached.
 */
static void test_load_writes_around_cache(void **state)
{
    tu_fixture *fx = *state;
    uint64_t second = 1;
    uint64_t first = same_size_load(fx->path, 60000, 64u << 20, &second);
    assert_true(first >= 60000 / ALEX_TEST_KEYS_PER_LEAF_MAX && first <= 60000 / 10);
    assert_int_equal(second, 0);
}

/* A load larger than the cache: reads miss on both passes, every value reads back, the
 * db checks clean and survives reopen. */
static void test_load_larger_than_cache(void **state)
{
    tu_fixture *fx = *state;
    uint64_t second = 0;
    assert_true(same_size_load(fx->path, 60000, 1u << 20, &second) > 0);
    assert_true(second > 0);
}

/* ---- Faults during a load ------------------------------------------------------------ */

#define FAULT_KEYS 40000u /* about 1,400 leaves: six staging runs */

static alexdb *open_fault(const char *dir, pager_fault *fault, int *rc_out)
{
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.cache_bytes = 4u << 20;
    opts.sync_interval_ms = 0;
    pager_env env;
    memset(&env, 0, sizeof(env));
    env.backend = fault != NULL ? PAGER_BACKEND_FAULT : PAGER_BACKEND_POSIX;
    env.fault = fault;
    alexdb *db = NULL;
    *rc_out = api_open(dir, &opts, &env, &db);
    return db;
}

/* A new empty database in parent/<tag><n>, created and closed, so that a fault domain
 * counts I/Os from its next open; the caller frees the path. */
static char *fresh_db(const char *parent, const char *tag, uint32_t n)
{
    char name[32];
    snprintf(name, sizeof(name), "%s%u", tag, n);
    char *dir = tu_path(parent, name);
    int rc = 0;
    alexdb *db = open_fault(dir, NULL, &rc);
    assert_int_equal(rc, ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    return dir;
}

static int fault_load(alexdb *db)
{
    same_size_input in;
    same_size_make(&in, FAULT_KEYS);
    int rc = alexdb_bulk_load(db, in.keys, in.values, in.sizes, FAULT_KEYS);
    same_size_free(&in);
    return rc;
}

/* Reopened without faults: empty or every key with its value, never a part; checks clean. */
static uint64_t check_all_or_nothing(const char *dir)
{
    int rc = 0;
    alexdb *db = open_fault(dir, NULL, &rc);
    assert_int_equal(rc, ALEXDB_OK);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_true(st.key_count == 0 || st.key_count == FAULT_KEYS);
    uint8_t buf[SAME_SIZE_VALUE_SIZE], want[SAME_SIZE_VALUE_SIZE];
    for (size_t i = 0; i < FAULT_KEYS; i += 37) {
        uint64_t key = same_size_key(i);
        size_t got = 0;
        rc = alexdb_get(db, key, buf, sizeof(buf), &got);
        if (st.key_count == 0) {
            assert_int_equal(rc, ALEXDB_NOTFOUND);
            continue;
        }
        assert_int_equal(rc, ALEXDB_OK);
        same_size_value(key, want);
        assert_memory_equal(buf, want, SAME_SIZE_VALUE_SIZE);
    }
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    return st.key_count;
}

/*
 * The Nth write after the open fails (EIO, or ENOSPC for odd N): the load says so, the
 * handle then refuses writes, and the reopened database is empty. Some N land in the
 * writer thread's runs, the rest in the checkpoint that ends the load.
 */
static void test_write_error_fails_load(void **state)
{
    tu_fixture *fx = *state;
    uint32_t failed = 0;
    for (uint32_t n = 1; n <= 12; n++) {
        char *dir = fresh_db(fx->dir, "werr", n);
        int rc = 0;
        alexdb *db = NULL;
        pager_fault_config fc = {.seed = n, .write_error_at = n, .write_errno = n % 2 ? ENOSPC : EIO};
        pager_fault *fault = NULL;
        assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
        db = open_fault(dir, fault, &rc);
        if (rc == ALEXDB_OK) {
            rc = fault_load(db);
            if (rc != ALEXDB_OK) {
                assert_true(rc == (n % 2 ? ALEXDB_NOSPACE : ALEXDB_IO) || rc == ALEXDB_READONLY);
                assert_int_equal(alexdb_put(db, 1, "x", 1), ALEXDB_READONLY);
                failed++;
            }
            (void)alexdb_close(db);
        }
        pager_fault_destroy(fault);
        uint64_t keys = check_all_or_nothing(dir);
        if (rc != ALEXDB_OK) assert_int_equal(keys, 0);
        tu_rmrf(dir);
        free(dir);
    }
    assert_true(failed >= 6);
}

/* Power cut at the Nth I/O of the load (unsynced writes kept, dropped or torn): the
 * reopened database holds all of it or none. */
static void test_powercut_all_or_nothing(void **state)
{
    tu_fixture *fx = *state;
    uint64_t seed = tu_seed();
    uint32_t empty = 0;
    for (uint32_t n = 1; n <= 24; n++) {
        char *dir = fresh_db(fx->dir, "cut", n);
        int rc = 0;
        alexdb *db = NULL;
        pager_fault_config fc = {.seed = seed + n, .powercut_at = 2 + (n - 1) * 2, .tear = 1};
        pager_fault *fault = NULL;
        assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
        db = open_fault(dir, fault, &rc);
        if (rc == ALEXDB_OK) {
            (void)fault_load(db);
            (void)alexdb_close(db);
        }
        pager_fault_destroy(fault);
        empty += check_all_or_nothing(dir) == 0;
        tu_rmrf(dir);
        free(dir);
    }
    assert_true(empty > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_1k_values_reopen, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_refused_load_leaks_nothing, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_load_100k, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_changes_on_top, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_load_writes_around_cache, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_load_larger_than_cache, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_write_error_fails_load, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_powercut_all_or_nothing, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
