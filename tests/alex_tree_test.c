/*
 * alex_tree_test.c: point operations on one open index (alex/tree.c). A leaf page damaged
 * on disk makes get, put and delete of keys routed to it ALEXDB_CORRUPT, naming the file
 * and the page's offset, every time it is asked (a failed read is not cached), while
 * every other leaf goes on working, splits included; a batch that meets it stops and the
 * handle refuses further writes (A9). An uncached lookup costs exactly one device read
 * (lookup_device_read_count == lookup_count on a cold, tiny cache) and a cached one none.
 * alex_apply_sorted (log replay's entry point) agrees with a plain array oracle over
 * random sorted runs of puts (inline and overflow), replacements and deletes, through
 * splits and merges, and stops at a cache full of changes with exactly *applied_out in
 * place, so that the caller can checkpoint and go on. alex_warm_leaf reads a cold leaf
 * once, so the put that follows it reads nothing.
 */
#include "alexdb.h"
#include "testutil.h"

#include "api_int.h"
#include "index_int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define KEY_COUNT 6000u
#define KEY_STEP 10u

static alexdb *open_db(const char *dir, size_t cache_bytes)
{
    return tu_db_open(dir, cache_bytes);
}

static void value_of(uint64_t key, uint8_t *buf, size_t *size_out)
{
    size_t size = 4 + key % 29;
    for (size_t i = 0; i < size; i++) buf[i] = (uint8_t)(key ^ (key >> 8) ^ (i * 13));
    *size_out = size;
}

static void check_value_of(alexdb *db, uint64_t key)
{
    uint8_t buf[64], want[64];
    size_t got = 0, size = 0;
    value_of(key, want, &size);
    assert_int_equal(alexdb_get(db, key, buf, sizeof(buf), &got), ALEXDB_OK);
    assert_int_equal(got, size);
    assert_memory_equal(buf, want, size);
}

static void make_db(const char *dir)
{
    alexdb *db = open_db(dir, 1u << 20);
    uint8_t buf[64];
    size_t size = 0;
    for (uint64_t i = 0; i < KEY_COUNT; i++) {
        value_of(i * KEY_STEP, buf, &size);
        assert_int_equal(alexdb_put(db, i * KEY_STEP, buf, size), ALEXDB_OK);
    }
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* The leaves in key order, from the inner nodes. */
typedef struct leaf_info {
    uint64_t page_no;
    uint64_t low;
    uint64_t high;
} leaf_info;

typedef struct leaf_list {
    leaf_info *leaves;
    size_t count;
} leaf_list;

static int collect_leaf(void *ctx, uint64_t page_no, uint64_t low, uint64_t high)
{
    leaf_list *list = ctx;
    list->leaves = realloc(list->leaves, (list->count + 1) * sizeof(leaf_info));
    assert_non_null(list->leaves);
    list->leaves[list->count++] = (leaf_info){page_no, low, high};
    return 0;
}

static leaf_list leaves_of(alexdb *db)
{
    leaf_list list = {NULL, 0};
    assert_int_equal(alex_inner_for_each_leaf(db->index->inner, collect_leaf, &list), 0);
    return list;
}

/* The first stored key (a multiple of KEY_STEP) inside [low, high], if any. */
static bool first_key_in(uint64_t low, uint64_t high, uint64_t *key_out)
{
    uint64_t k = (low + KEY_STEP - 1) / KEY_STEP * KEY_STEP;
    if (k > high || k >= (uint64_t)KEY_COUNT * KEY_STEP) return false;
    *key_out = k;
    return true;
}

static void expect_corrupt_here(const char *data, uint64_t page_no)
{
    assert_non_null(strstr(alexdb_errmsg(), data));
    char offset[64];
    snprintf(offset, sizeof(offset), "offset %" PRIu64, page_no * PAGER_PAGE_SIZE);
    assert_non_null(strstr(alexdb_errmsg(), offset));
}

/* A bit flip in one leaf: its keys are CORRUPT for get/put/delete; the rest still work. */
static void test_corrupt_leaf(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    make_db(fx->path);
    alexdb *db = open_db(fx->path, 1u << 20);
    leaf_list list = leaves_of(db);
    assert_true(list.count >= 8);
    leaf_info bad = list.leaves[list.count / 2];
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    /* A bit in the middle of its key array. */
    tu_flip_bit(data, bad.page_no * PAGER_PAGE_SIZE + 1000, 5);
    db = open_db(fx->path, 1u << 20);
    uint64_t bad_key = 0;
    assert_true(first_key_in(bad.low, bad.high, &bad_key));
    struct alexdb_stats before, after;
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    uint8_t *big = calloc(1, 5000);
    for (int again = 0; again < 2; again++) {
        size_t got = 0;
        uint8_t buf[64];
        memset(buf, 0x5A, sizeof(buf));
        assert_int_equal(alexdb_get(db, bad_key, buf, sizeof(buf), &got), ALEXDB_CORRUPT);
        expect_corrupt_here(data, bad.page_no);
        assert_int_equal(buf[0], 0x5A);
        assert_int_equal(alexdb_get(db, bad.high, buf, sizeof(buf), &got), ALEXDB_CORRUPT);
        expect_corrupt_here(data, bad.page_no);
        assert_int_equal(alexdb_put(db, bad_key, "new", 3), ALEXDB_CORRUPT);
        expect_corrupt_here(data, bad.page_no);
        assert_int_equal(alexdb_put(db, bad_key + 1, "new", 3), ALEXDB_CORRUPT); /* an insert */
        expect_corrupt_here(data, bad.page_no);
        assert_int_equal(alexdb_put(db, bad_key + 2, big, 5000), ALEXDB_CORRUPT); /* overflow */
        expect_corrupt_here(data, bad.page_no);
        assert_int_equal(alexdb_delete(db, bad_key), ALEXDB_CORRUPT);
        expect_corrupt_here(data, bad.page_no);
        assert_int_equal(alex_warm_leaf(db->index, bad_key), ALEXDB_CORRUPT);
        expect_corrupt_here(data, bad.page_no);
    }
    assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
    assert_int_equal(after.key_count, before.key_count);
    assert_int_equal(after.file_size - after.free_size, before.file_size - before.free_size);
    /* Every other leaf: reads, replaces, deletes, and inserts enough to split. */
    for (size_t i = 0; i < list.count; i++) {
        uint64_t key = 0;
        if (list.leaves[i].page_no == bad.page_no || !first_key_in(list.leaves[i].low, list.leaves[i].high, &key)) {
            continue;
        }
        check_value_of(db, key);
        assert_int_equal(alexdb_put(db, key, "replaced", 8), ALEXDB_OK);
        assert_int_equal(alexdb_delete(db, key), ALEXDB_OK);
    }
    uint64_t base = (uint64_t)KEY_COUNT * KEY_STEP;
    for (uint64_t i = 0; i < 3000; i++) assert_int_equal(alexdb_put(db, base + i, "x", 1), ALEXDB_OK);
    assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
    assert_true(after.split_count > before.split_count);
    for (uint64_t i = 0; i < 3000; i += 97) {
        size_t got = 0;
        char c = 0;
        assert_int_equal(alexdb_get(db, base + i, &c, 1, &got), ALEXDB_OK);
        assert_int_equal(c, 'x');
    }
    assert_int_equal(alexdb_check(db), ALEXDB_CORRUPT);
    expect_corrupt_here(data, bad.page_no);
    /* An iterator stops at the bad leaf with the same error. */
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, 0);
    while (alexdb_iter_valid(it)) {
        assert_true(alexdb_iter_key(it) < bad.low);
        alexdb_iter_next(it);
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_CORRUPT);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(big);
    free(list.leaves);
    free(data);
}

/* A batch that meets the damaged leaf after changing another stops; writes are refused. */
static void test_batch_meets_corrupt_leaf(void **state)
{
    tu_fixture *fx = *state;
    char *data = tu_path(fx->path, "alexdb.data");
    make_db(fx->path);
    alexdb *db = open_db(fx->path, 1u << 20);
    leaf_list list = leaves_of(db);
    leaf_info bad = list.leaves[list.count - 1];
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    tu_flip_bit(data, bad.page_no * PAGER_PAGE_SIZE + 100, 0);
    db = open_db(fx->path, 1u << 20);
    uint64_t bad_key = 0;
    assert_true(first_key_in(bad.low, bad.high, &bad_key));
    alexdb_batch *batch = NULL;
    assert_int_equal(alexdb_batch_create(&batch), ALEXDB_OK);
    assert_int_equal(alexdb_batch_put(batch, 0, "zero", 4), ALEXDB_OK);
    assert_int_equal(alexdb_batch_put(batch, bad_key, "bad", 3), ALEXDB_OK);
    assert_int_equal(alexdb_batch_commit(db, batch), ALEXDB_CORRUPT);
    expect_corrupt_here(data, bad.page_no);
    assert_int_equal(alexdb_put(db, 10, "ten", 3), ALEXDB_READONLY);
    assert_int_equal(alexdb_delete(db, 10), ALEXDB_READONLY);
    check_value_of(db, 10); /* reads go on */
    alexdb_batch_destroy(batch);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(list.leaves);
    free(data);
}

/* Cold lookups on a tiny cache cost exactly one read each; cached ones cost none. */
static void test_one_read_per_lookup(void **state)
{
    tu_fixture *fx = *state;
    make_db(fx->path);
    alexdb *db = open_db(fx->path, PAGER_CACHE_SIZE_MIN);
    leaf_list list = leaves_of(db);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_true(list.count > st.cache_frame_count); /* the cache cannot hold them all */
    assert_int_equal(st.lookup_count, 0);
    assert_int_equal(st.lookup_device_read_count, 0);
    uint64_t lookups = 0, reads = 0;
    for (size_t i = 0; i < list.count; i++) {
        uint64_t key = 0;
        if (!first_key_in(list.leaves[i].low, list.leaves[i].high, &key)) continue;
        check_value_of(db, key); /* cold: this leaf was not read since the open */
        lookups++;
        reads++;
        assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
        assert_int_equal(st.lookup_count, lookups);
        assert_int_equal(st.lookup_device_read_count, reads);
        if (i % 4 == 0) {
            /* The same leaf again, a hit and a miss: lookups, but no reads. */
            check_value_of(db, key);
            size_t got = 0;
            assert_int_equal(alexdb_get(db, key + 1, NULL, 0, &got), ALEXDB_NOTFOUND);
            lookups += 2;
            assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
            assert_int_equal(st.lookup_count, lookups);
            assert_int_equal(st.lookup_device_read_count, reads);
        }
    }
    assert_true(st.cache_eviction_count > 0); /* the leaves did not all fit */
    /* A fresh handle: one cold lookup per leaf is exactly 1.00 reads per lookup. */
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path, PAGER_CACHE_SIZE_MIN);
    lookups = 0;
    for (size_t i = 0; i < list.count; i++) {
        uint64_t key = 0;
        if (!first_key_in(list.leaves[i].low, list.leaves[i].high, &key)) continue;
        check_value_of(db, key);
        lookups++;
    }
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.lookup_count, lookups);
    assert_int_equal(st.lookup_device_read_count, lookups);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(list.leaves);
}

/* alex_prefetch reads the leaves of its keys in batches; lookups of them then read nothing. */
static void test_prefetch(void **state)
{
    tu_fixture *fx = *state;
    make_db(fx->path);
    alexdb *db = open_db(fx->path, 8u << 20);
    leaf_list list = leaves_of(db);
    assert_true(list.count > 2);
    uint64_t *keys = calloc(list.count, sizeof(*keys));
    size_t n = 0;
    for (size_t i = 0; i < list.count; i++) {
        if (first_key_in(list.leaves[i].low, list.leaves[i].high, &keys[n])) n++;
    }
    struct alexdb_stats before, after;
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    assert_int_equal(alex_prefetch(db->index, keys, n), ALEXDB_OK);
    assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
    assert_true(after.device_read_count - before.device_read_count >= n / PAGER_PIN_BATCH_MAX);
    assert_int_equal(after.cache_miss_count - before.cache_miss_count, n); /* one per leaf */
    for (size_t i = 0; i < n; i++) check_value_of(db, keys[i]);
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    assert_int_equal(before.lookup_device_read_count, 0); /* every lookup hit */
    assert_int_equal(alex_prefetch(db->index, keys, 0), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(keys);
    free(list.leaves);
}

/*
 * alex_warm_leaf reads an uncached leaf (one miss, no lookup counted) and nothing for a
 * cached one; the lookup and the replacing put that follow read nothing more.
 */
static void test_warm_leaf(void **state)
{
    tu_fixture *fx = *state;
    make_db(fx->path);
    alexdb *db = open_db(fx->path, PAGER_CACHE_SIZE_MIN);
    leaf_list list = leaves_of(db);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path, PAGER_CACHE_SIZE_MIN); /* cold */
    size_t warmed = 0;
    for (size_t i = 0; i < list.count; i += 3) {
        uint64_t key = 0;
        if (!first_key_in(list.leaves[i].low, list.leaves[i].high, &key)) continue;
        struct alexdb_stats before, after;
        assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
        assert_int_equal(alex_warm_leaf(db->index, key), ALEXDB_OK);
        assert_int_equal(alexdb_stats(db, &after), ALEXDB_OK);
        assert_int_equal(after.cache_miss_count - before.cache_miss_count, 1);
        assert_int_equal(after.device_read_count - before.device_read_count, 1);
        assert_int_equal(after.lookup_count, before.lookup_count);
        assert_int_equal(alex_warm_leaf(db->index, key), ALEXDB_OK); /* cached now */
        check_value_of(db, key);
        uint8_t value[64];
        size_t size = 0;
        value_of(key, value, &size);
        assert_int_equal(alexdb_put(db, key, value, size), ALEXDB_OK); /* same value */
        assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
        assert_int_equal(before.cache_miss_count, after.cache_miss_count);
        assert_int_equal(before.device_read_count, after.device_read_count);
        assert_int_equal(before.lookup_device_read_count, after.lookup_device_read_count);
        warmed++;
    }
    assert_true(warmed > 8);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(list.leaves);
}

/* ---- alex_apply_sorted ---------------------------------------------------------- */

#define SORTED_UNIVERSE 3000u       /* keys k * SORTED_KEY_STEP, k < SORTED_UNIVERSE */
#define SORTED_KEY_STEP 7919u
#define SORTED_VALUE_SIZE_MAX 3000u /* past ALEX_INLINE_VALUE_SIZE_MAX: overflow runs too */

/* The oracle: each key's value size (-1: absent); a value's bytes follow from key and size. */
typedef struct sorted_oracle {
    int32_t size[SORTED_UNIVERSE];
    uint8_t salt[SORTED_UNIVERSE];
} sorted_oracle;

static void sorted_value(uint64_t key, uint8_t salt, uint32_t size, uint8_t *buf)
{
    for (uint32_t i = 0; i < size; i++) buf[i] = (uint8_t)(key * 31 + salt + i * 7);
}

static int compare_op_key(const void *a, const void *b)
{
    const alex_op *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

/* A stable sort by key (insertion order breaks ties): qsort is not stable, so index them. */
static void sort_ops_stable(alex_op *ops, size_t count, uint8_t *salts)
{
    for (size_t i = 1; i < count; i++) {
        alex_op op = ops[i];
        uint8_t salt = salts[i];
        size_t j = i;
        for (; j > 0 && compare_op_key(&ops[j - 1], &op) > 0; j--) {
            ops[j] = ops[j - 1];
            salts[j] = salts[j - 1];
        }
        ops[j] = op;
        salts[j] = salt;
    }
}

static void check_against_oracle(alexdb *db, const sorted_oracle *o)
{
    static uint8_t buf[SORTED_VALUE_SIZE_MAX], want[SORTED_VALUE_SIZE_MAX];
    uint64_t present = 0;
    for (uint64_t k = 0; k < SORTED_UNIVERSE; k++) {
        size_t got = 0;
        int rc = alexdb_get(db, k * SORTED_KEY_STEP, buf, sizeof(buf), &got);
        if (o->size[k] < 0) {
            assert_int_equal(rc, ALEXDB_NOTFOUND);
            continue;
        }
        present++;
        assert_int_equal(rc, ALEXDB_OK);
        assert_int_equal(got, (size_t)o->size[k]);
        sorted_value(k * SORTED_KEY_STEP, o->salt[k], (uint32_t)got, want);
        assert_memory_equal(buf, want, got);
    }
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, present);
}

/* Random sorted runs (duplicates in order, deletes of absent keys, overflow values, a
 * delete-heavy phase for merges) against the oracle; the seed is printed. */
static void test_apply_sorted_model(void **state)
{
    tu_fixture *fx = *state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    alexdb *db = open_db(fx->path, 8u << 20);
    sorted_oracle *o = malloc(sizeof(*o));
    assert_non_null(o);
    for (uint32_t k = 0; k < SORTED_UNIVERSE; k++) o->size[k] = -1;
    enum { ROUNDS = 60, OPS_MAX = 600 };
    alex_op *ops = calloc(OPS_MAX, sizeof(*ops));
    uint8_t *salts = calloc(OPS_MAX, 1);
    uint8_t *arena = malloc((size_t)OPS_MAX * SORTED_VALUE_SIZE_MAX);
    assert_true(ops != NULL && salts != NULL && arena != NULL);
    for (uint32_t round = 0; round < ROUNDS; round++) {
        uint32_t delete_percent = round >= 40 ? 70 : 15; /* the last rounds empty leaves */
        size_t count = 1 + common_rng_below(&rng, OPS_MAX);
        for (size_t i = 0; i < count; i++) {
            /* a narrow band half the time: many changes to one leaf and to one key */
            uint64_t k = common_rng_below(&rng, 2) ? common_rng_below(&rng, SORTED_UNIVERSE)
                                                   : 100 + common_rng_below(&rng, 40);
            uint64_t r = common_rng_below(&rng, 100);
            uint32_t size = r < 3 ? 1025 + (uint32_t)common_rng_below(&rng, SORTED_VALUE_SIZE_MAX - 1025)
                          : r < 6 ? 0 : (uint32_t)common_rng_below(&rng, 300);
            salts[i] = (uint8_t)common_rng_below(&rng, 256);
            uint8_t *value = arena + i * SORTED_VALUE_SIZE_MAX;
            sorted_value(k * SORTED_KEY_STEP, salts[i], size, value);
            bool is_delete = common_rng_below(&rng, 100) < delete_percent;
            ops[i] = (alex_op){.key = k * SORTED_KEY_STEP, .value = is_delete ? NULL : value,
                               .size = is_delete ? 0 : size, .is_delete = is_delete};
        }
        sort_ops_stable(ops, count, salts);
        for (size_t i = 0; i < count; i++) { /* the oracle: in order, the last one wins */
            uint64_t k = ops[i].key / SORTED_KEY_STEP;
            o->size[k] = ops[i].is_delete ? -1 : (int32_t)ops[i].size;
            o->salt[k] = salts[i];
        }
        size_t applied = 0;
        assert_int_equal(alex_apply_sorted(db->index, ops, count, &applied), ALEXDB_OK);
        assert_int_equal(applied, count);
        check_against_oracle(db, o);
        if (round % 10 == 9) assert_int_equal(alexdb_check(db), ALEXDB_OK);
    }
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_true(st.split_count > 0 && st.merge_count > 0); /* both structure changes ran */
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path, 8u << 20);
    check_against_oracle(db, o);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    size_t applied = 1;
    assert_int_equal(alex_apply_sorted(db->index, ops, 0, &applied), ALEXDB_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(arena);
    free(salts);
    free(ops);
    free(o);
}

static size_t size_of_key(alexdb *db, uint64_t key)
{
    size_t size = 0;
    assert_int_equal(alexdb_get(db, key, NULL, 0, &size), ALEXDB_OK);
    return size;
}

/* In a cache too small for the changes (leaves of the checkpoint in force, which cannot
 * be written back before the next one, pager P12), ALEXDB_FULL comes with exactly
 * *applied_out in place; after a checkpoint the rest goes on from there. */
static void test_apply_sorted_full_cache(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path, 256u << 10);
    enum { COUNT = 20000, SIZE_FIRST = 200, SIZE_NEXT = 150 };
    alex_op *ops = calloc(COUNT, sizeof(*ops));
    assert_non_null(ops);
    static uint8_t value[SIZE_FIRST];
    for (size_t i = 0; i < COUNT; i++) {
        ops[i] = (alex_op){.key = i * 1000003u, .value = value, .size = SIZE_FIRST};
    }
    size_t applied = 0;
    assert_int_equal(alex_apply_sorted(db->index, ops, COUNT, &applied), ALEXDB_OK); /* fresh pages */
    assert_int_equal(applied, COUNT);
    assert_int_equal(alex_persist(db->index, 0), ALEXDB_OK);
    for (size_t i = 0; i < COUNT; i++) ops[i].size = SIZE_NEXT; /* smaller: no split */
    size_t done = 0, full_count = 0;
    for (uint32_t tries = 0; done < COUNT && tries < 1000; tries++) {
        int rc = alex_apply_sorted(db->index, ops + done, COUNT - done, &applied);
        if (rc == ALEXDB_FULL) { /* a lookup needs a frame too: checkpoint first */
            full_count++;
            assert_int_equal(alex_persist(db->index, 0), ALEXDB_OK);
        } else {
            assert_int_equal(rc, ALEXDB_OK);
        }
        size_t after = done + applied;
        for (size_t i = done; i < after; i += 97) assert_int_equal(size_of_key(db, ops[i].key), SIZE_NEXT);
        if (after > done) assert_int_equal(size_of_key(db, ops[after - 1].key), SIZE_NEXT);
        if (after < COUNT) assert_int_equal(size_of_key(db, ops[after].key), SIZE_FIRST);
        done = after;
    }
    assert_int_equal(done, COUNT);
    assert_true(full_count > 0);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, COUNT);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(ops);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_corrupt_leaf, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_batch_meets_corrupt_leaf, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_one_read_per_lookup, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_prefetch, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_warm_leaf, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_apply_sorted_model, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_apply_sorted_full_cache, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
