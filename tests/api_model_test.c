/*
 * api_model_test.c: the randomized model test. At least 1 M mixed put / get / delete /
 * scan / batch operations against an oracle that is trivially a sorted array: key i of a
 * fixed, strictly increasing universe (sequential small keys, spread keys, a dense run
 * above 2^53 where doubles collide, keys next to UINT64_MAX) lives in slot i. The
 * database is closed, reopened and fully checked every 100 K operations. The seed is
 * printed; ALEXDB_TEST_SEED replays, ALEXDB_MODEL_OPS changes the count.
 */
#include "alexdb.h"
#include "api_int.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define UNIVERSE 200000u
#define REOPEN_EVERY 100000u
#define SCAN_LENGTH_MAX 60u
#define VALUE_SIZE_MAX 70000u
#define MODEL_CACHE_SIZE (64u << 20) /* the working set: every reopen still starts cold */

typedef struct oracle {
    uint8_t present[UNIVERSE];
    uint32_t version[UNIVERSE];
    uint32_t size[UNIVERSE];
    uint64_t count;
} oracle;

/* The universe: strictly increasing in i. */
static uint64_t key_of(uint32_t i)
{
    if (i < 50000) return i;                                        /* 0, 1, 2, ... */
    if (i < 100000) return (1ULL << 40) + (uint64_t)(i - 50000) * 1000003ULL;
    if (i < 150000) return (1ULL << 53) + (i - 100000);              /* doubles collide */
    if (i < 190000) return (1ULL << 62) + (uint64_t)(i - 150000) * (1ULL << 40);
    return UINT64_MAX - (UNIVERSE - 1 - i);                           /* up to UINT64_MAX */
}

static uint32_t draw_size(common_rng *rng)
{
    uint64_t r = common_rng_below(rng, 1000);
    if (r < 975) return (uint32_t)common_rng_below(rng, 200);
    if (r < 995) return 1000 + (uint32_t)common_rng_below(rng, 50); /* across the inline limit */
    return 2000 + (uint32_t)common_rng_below(rng, VALUE_SIZE_MAX - 2000);
}

static void fill_value(uint8_t *buf, uint64_t key, uint32_t version, uint32_t size)
{
    uint64_t x = key * 0x9e3779b97f4a7c15ULL ^ version;
    for (uint32_t i = 0; i < size; i++) {
        x ^= x >> 13;
        x *= 0xff51afd7ed558ccdULL;
        buf[i] = (uint8_t)(x >> 56);
    }
}

typedef struct model {
    alexdb *db;
    const char *dir;
    oracle *o;
    common_rng rng;
    uint8_t *value;
    uint8_t *expect;
    uint32_t next_version;
} model;

static uint32_t draw_index(model *m)
{
    /* Half uniform, half in a moving hot window (clusters of splits and merges). */
    if (common_rng_below(&m->rng, 2) == 0) return (uint32_t)common_rng_below(&m->rng, UNIVERSE);
    uint32_t centre = (uint32_t)((m->next_version / 5000) * 7919 % UNIVERSE);
    return (centre + (uint32_t)common_rng_below(&m->rng, 2000)) % UNIVERSE;
}

static void check_value(model *m, uint32_t i, const void *data, size_t size)
{
    assert_int_equal(size, m->o->size[i]);
    fill_value(m->expect, key_of(i), m->o->version[i], m->o->size[i]);
    assert_memory_equal(data, m->expect, size);
}

static void op_put(model *m, uint32_t i)
{
    uint32_t size = draw_size(&m->rng);
    uint32_t version = ++m->next_version;
    fill_value(m->value, key_of(i), version, size);
    assert_int_equal(alexdb_put(m->db, key_of(i), m->value, size), ALEXDB_OK);
    m->o->count += !m->o->present[i];
    m->o->present[i] = 1;
    m->o->version[i] = version;
    m->o->size[i] = size;
}

static void op_get(model *m, uint32_t i)
{
    size_t size = 0;
    int rc = alexdb_get(m->db, key_of(i), m->value, VALUE_SIZE_MAX, &size);
    if (!m->o->present[i]) {
        assert_int_equal(rc, ALEXDB_NOTFOUND);
        return;
    }
    assert_int_equal(rc, ALEXDB_OK);
    check_value(m, i, m->value, size);
}

static void op_delete(model *m, uint32_t i)
{
    int rc = alexdb_delete(m->db, key_of(i));
    assert_int_equal(rc, m->o->present[i] ? ALEXDB_OK : ALEXDB_NOTFOUND);
    m->o->count -= m->o->present[i];
    m->o->present[i] = 0;
}

static void op_scan(model *m, uint32_t i)
{
    alexdb_iter *it = NULL;
    assert_int_equal(alexdb_iter_open(m->db, &it), ALEXDB_OK);
    alexdb_iter_seek(it, key_of(i));
    uint32_t length = 1 + (uint32_t)common_rng_below(&m->rng, SCAN_LENGTH_MAX);
    for (uint32_t seen = 0; seen < length; seen++, i++) {
        while (i < UNIVERSE && !m->o->present[i]) i++;
        if (i == UNIVERSE) {
            assert_false(alexdb_iter_valid(it));
            break;
        }
        assert_true(alexdb_iter_valid(it));
        assert_int_equal(alexdb_iter_key(it), key_of(i));
        const void *data = NULL;
        size_t size = 0;
        alexdb_iter_value(it, &data, &size);
        check_value(m, i, data, size);
        alexdb_iter_next(it);
    }
    assert_int_equal(alexdb_iter_status(it), ALEXDB_OK);
    assert_int_equal(alexdb_iter_close(it), ALEXDB_OK);
}

static void op_batch(model *m, alexdb_batch *b)
{
    alexdb_batch_clear(b);
    uint32_t n = 2 + (uint32_t)common_rng_below(&m->rng, 20);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = draw_index(m);
        if (common_rng_below(&m->rng, 4) == 0) {
            assert_int_equal(alexdb_batch_delete(b, key_of(i)), ALEXDB_OK);
            m->o->count -= m->o->present[i];
            m->o->present[i] = 0;
            continue;
        }
        uint32_t size = draw_size(&m->rng);
        uint32_t version = ++m->next_version;
        fill_value(m->value, key_of(i), version, size);
        assert_int_equal(alexdb_batch_put(b, key_of(i), m->value, size), ALEXDB_OK);
        m->o->count += !m->o->present[i];
        m->o->present[i] = 1;
        m->o->version[i] = version;
        m->o->size[i] = size;
    }
    assert_int_equal(alexdb_batch_commit(m->db, b), ALEXDB_OK);
}

static void print_stats(model *m)
{
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(m->db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, m->o->count);
    printf("  %llu keys, %llu leaves, depth %u, %.2f inner bytes/leaf; this session: %llu splits, "
           "%llu retrains, %llu merges, %llu device reads, %llu writes, %llu syncs\n",
           (unsigned long long)st.key_count, (unsigned long long)st.leaf_count, st.depth_max,
           st.inner_bytes_per_leaf, (unsigned long long)st.split_count,
           (unsigned long long)st.retrain_count, (unsigned long long)st.merge_count,
           (unsigned long long)st.device_read_count, (unsigned long long)st.device_write_count,
           (unsigned long long)st.device_sync_count);
}

/* Durability is api_write_test's subject: here sync is off, for speed. */
static alexdb *open_model_db(const char *dir)
{
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.cache_bytes = MODEL_CACHE_SIZE;
    opts.sync = 0;
    alexdb *db = NULL;
    assert_int_equal(alexdb_open(dir, &opts, &db), ALEXDB_OK);
    return db;
}

/*
 * Every other time the handle is abandoned instead of closed, after alexdb_sync, as if
 * the process died: the reopen then rebuilds everything since the last checkpoint from
 * the log (api/log.c), and must find exactly what the oracle holds.
 */
static void reopen_and_check(model *m, bool crash)
{
    print_stats(m);
    if (crash) {
        assert_int_equal(alexdb_sync(m->db), ALEXDB_OK);
        api_abandon(m->db);
    } else {
        assert_int_equal(alexdb_close(m->db), ALEXDB_OK);
    }
    m->db = open_model_db(m->dir);
    assert_int_equal(alexdb_check(m->db), ALEXDB_OK);
}

/* Every operation agrees with the oracle; every reopen finds the same data and checks clean. */
static void test_model(void **state)
{
    tu_fixture *fx = *state;
    const char *ops_env = getenv("ALEXDB_MODEL_OPS");
    uint64_t ops = ops_env != NULL ? strtoull(ops_env, NULL, 0) : 1000000;
    model m = {.dir = fx->path, .o = calloc(1, sizeof(oracle)), .value = malloc(VALUE_SIZE_MAX),
               .expect = malloc(VALUE_SIZE_MAX)};
    common_rng_seed(&m.rng, tu_seed());
    m.db = open_model_db(m.dir);
    alexdb_batch *b = NULL;
    assert_int_equal(alexdb_batch_create(&b), ALEXDB_OK);
    for (uint64_t op = 1; op <= ops; op++) {
        uint64_t r = common_rng_below(&m.rng, 100);
        uint32_t i = draw_index(&m);
        if (r < 40) op_put(&m, i);
        else if (r < 65) op_get(&m, i);
        else if (r < 80) op_delete(&m, i);
        else if (r < 90) op_scan(&m, i);
        else op_batch(&m, b);
        if (op % REOPEN_EVERY == 0) reopen_and_check(&m, op / REOPEN_EVERY % 2 == 1);
    }
    reopen_and_check(&m, true);
    for (uint32_t i = 0; i < UNIVERSE; i += 97) op_get(&m, i);
    alexdb_batch_destroy(b);
    assert_int_equal(alexdb_close(m.db), ALEXDB_OK);
    free(m.o);
    free(m.value);
    free(m.expect);
}

int main(void)
{
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
