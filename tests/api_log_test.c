/*
 * api_log_test.c: api/log.c: every kind of change comes back from the log after a
 * crash (api_abandon), replay is idempotent and takes checkpoints under a small cache,
 * a read-only open refuses a log it would have to replay, damaged records are
 * ALEXDB_CORRUPT (or salvaged on request), and a batch too large for one record is
 * refused before anything is applied. A random log of puts, deletes and batches, many
 * on the same keys, over several replay windows, replays to what a plain array says
 * (the last change to a key wins), twice in a row.
 */
#include "alexdb.h"
#include "api_int.h"
#include "testutil.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static alexdb *open_opts(const char *dir, int sync, size_t cache, int read_only, int salvage, int *rc_out)
{
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.sync = sync;
    opts.cache_bytes = cache;
    opts.read_only = read_only;
    opts.log_salvage = salvage;
    alexdb *db = NULL;
    *rc_out = alexdb_open(dir, &opts, &db);
    return db;
}

static alexdb *open_db(const char *dir, int sync, size_t cache)
{
    int rc = 0;
    alexdb *db = open_opts(dir, sync, cache, 0, 0, &rc);
    assert_int_equal(rc, ALEXDB_OK);
    return db;
}

static void fill(uint8_t *buf, uint64_t key, size_t size)
{
    for (size_t i = 0; i < size; i++) buf[i] = (uint8_t)(key * 31 + i * 7 + (i >> 8));
}

static void check_value(alexdb *db, uint64_t key, size_t size)
{
    uint8_t *want = malloc(size + 1), *got = malloc(size + 1);
    fill(want, key, size);
    size_t got_size = 0;
    assert_int_equal(alexdb_get(db, key, got, size + 1, &got_size), ALEXDB_OK);
    assert_int_equal(got_size, size);
    assert_memory_equal(got, want, size);
    free(want);
    free(got);
}

static void expect_absent(alexdb *db, uint64_t key)
{
    size_t size = 0;
    assert_int_equal(alexdb_get(db, key, NULL, 0, &size), ALEXDB_NOTFOUND);
}

static void put(alexdb *db, uint64_t key, size_t size)
{
    uint8_t *buf = malloc(size + 1);
    fill(buf, key, size);
    assert_int_equal(alexdb_put(db, key, buf, size), ALEXDB_OK);
    free(buf);
}

/* Puts (edge keys, empty and 1 MiB values), deletes and a batch all come back from the log. */
static void test_replay_restores_every_kind(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path, 1, 8u << 20);
    put(db, 0, 0);
    put(db, UINT64_MAX, 100);
    put(db, 1ull << 60, 1u << 20);
    for (uint64_t k = 100; k < 300; k++) put(db, k, 40);
    for (uint64_t k = 100; k < 300; k += 3) assert_int_equal(alexdb_delete(db, k), ALEXDB_OK);
    assert_int_equal(alexdb_delete(db, 99), ALEXDB_NOTFOUND); /* nothing to log */
    alexdb_batch *b = NULL;
    assert_int_equal(alexdb_batch_create(&b), ALEXDB_OK);
    uint8_t buf[3000];
    fill(buf, 500, sizeof(buf));
    assert_int_equal(alexdb_batch_put(b, 500, buf, sizeof(buf)), ALEXDB_OK);
    assert_int_equal(alexdb_batch_delete(b, 101), ALEXDB_OK);
    assert_int_equal(alexdb_batch_delete(b, 7777), ALEXDB_OK); /* absent: not an error */
    fill(buf, 501, 10);
    assert_int_equal(alexdb_batch_put(b, 501, buf, 10), ALEXDB_OK);
    assert_int_equal(alexdb_batch_commit(db, b), ALEXDB_OK);
    alexdb_batch_destroy(b);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    uint64_t records = st.log_record_count;
    assert_int_equal(records, 3 + 200 + 67 + 1);
    api_abandon(db);
    for (int round = 0; round < 2; round++) { /* the second replays again: idempotent */
        db = open_db(fx->path, 1, 8u << 20);
        assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
        assert_int_equal(st.log_replay_count, records);
        check_value(db, 0, 0);
        check_value(db, UINT64_MAX, 100);
        check_value(db, 1ull << 60, 1u << 20);
        for (uint64_t k = 100; k < 300; k++) {
            if (k % 3 == 1 || k == 101) expect_absent(db, k);
            else check_value(db, k, 40);
        }
        check_value(db, 500, 3000);
        check_value(db, 501, 10);
        expect_absent(db, 7777);
        assert_int_equal(st.key_count, 3 + 200 - 67 - 1 + 2);
        assert_int_equal(alexdb_check(db), ALEXDB_OK);
        api_abandon(db);
    }
    /* A clean close leaves nothing to replay. */
    db = open_db(fx->path, 1, 8u << 20);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path, 1, 8u << 20);
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.log_replay_count, 0);
    assert_int_equal(st.log_segment_count, 1);
    check_value(db, 500, 3000);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* Replay through a 64-frame cache fills it with changes: it must checkpoint as it goes. */
static void test_replay_checkpoints_under_small_cache(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path, 0, PAGER_CACHE_SIZE_MIN);
    for (uint64_t k = 0; k < 3000; k++) put(db, k * 7919, 600);
    assert_int_equal(alexdb_sync(db), ALEXDB_OK);
    api_abandon(db);
    db = open_db(fx->path, 0, PAGER_CACHE_SIZE_MIN);
    assert_true(alex_checkpoint_lsn(db->index) > 0); /* replay took checkpoints */
    for (uint64_t k = 0; k < 3000; k++) check_value(db, k * 7919, 600);
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* A log of deletes and empty values only: its windows hold no value bytes at all. */
static void test_replay_without_value_bytes(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path, 1, 1u << 20);
    for (uint64_t k = 0; k < 200; k++) put(db, k, 40);
    assert_int_equal(alexdb_close(db), ALEXDB_OK); /* the log is empty after the close */
    db = open_db(fx->path, 1, 1u << 20);
    for (uint64_t k = 0; k < 200; k += 2) assert_int_equal(alexdb_delete(db, k), ALEXDB_OK);
    for (uint64_t k = 1000; k < 1050; k++) put(db, k, 0);
    api_abandon(db);
    db = open_db(fx->path, 1, 1u << 20);
    for (uint64_t k = 0; k < 200; k++) {
        if (k % 2 == 0) expect_absent(db, k);
        else check_value(db, k, 40);
    }
    for (uint64_t k = 1000; k < 1050; k++) check_value(db, k, 0);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* A read-only handle cannot replay: it says so; one read-write open recovers. */
static void test_read_only_after_crash(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path, 1, 1u << 20);
    put(db, 42, 10);
    api_abandon(db);
    int rc = 0;
    db = open_opts(fx->path, 1, 1u << 20, 1, 0, &rc);
    assert_int_equal(rc, ALEXDB_READONLY);
    assert_null(db);
    assert_non_null(strstr(alexdb_errmsg(), "read-write once to recover"));
    db = open_db(fx->path, 1, 1u << 20);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_opts(fx->path, 1, 1u << 20, 1, 0, &rc);
    assert_int_equal(rc, ALEXDB_OK);
    check_value(db, 42, 10);
    assert_int_equal(alexdb_put(db, 43, "x", 1), ALEXDB_READONLY);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* Records whose checksum is right but whose contents this version cannot apply. */
static void test_bad_records_are_corrupt(void **state)
{
    tu_fixture *fx = *state;
    uint8_t short_put[4] = {1, 2, 3, 4};
    uint8_t long_delete[9] = {0};
    uint8_t batch_count[4 + 13] = {5, 0, 0, 0, API_OP_PUT}; /* claims 5 operations, holds 1 */
    uint8_t batch_kind[4 + 13] = {1, 0, 0, 0, 7};          /* operation kind 7 */
    uint8_t batch_size[4 + 13] = {1, 0, 0, 0, API_OP_PUT, 0, 0, 0, 0, 0, 0, 0, 0, 200}; /* value past the end */
    uint8_t batch_tail[4 + 13 + 2] = {1, 0, 0, 0, API_OP_DELETE}; /* bytes after the last op */
    uint8_t key[8] = {0};
    struct {
        uint8_t type;
        const uint8_t *payload;
        uint32_t size;
    } cases[] = {
        {API_RECORD_PUT, short_put, sizeof(short_put)},
        {API_RECORD_DELETE, long_delete, sizeof(long_delete)},
        {API_RECORD_BATCH, batch_count, sizeof(batch_count)},
        {API_RECORD_BATCH, batch_kind, sizeof(batch_kind)},
        {API_RECORD_BATCH, batch_size, sizeof(batch_size)},
        {API_RECORD_BATCH, batch_tail, sizeof(batch_tail)},
        {API_RECORD_BATCH, batch_count, 3},
        {9, key, sizeof(key)},
    };
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(cases); i++) {
        char name[32];
        snprintf(name, sizeof(name), "case%zu", i);
        char *dir = tu_path(fx->dir, name);
        alexdb *db = open_db(dir, 1, 1u << 20);
        put(db, 1, 10);
        wal_part part = {cases[i].payload, cases[i].size};
        uint64_t lsn = 0;
        assert_int_equal(wal_append(db->wal, cases[i].type, &part, 1, &lsn), ALEXDB_OK);
        assert_int_equal(wal_sync_to(db->wal, lsn), ALEXDB_OK);
        api_abandon(db);
        int rc = 0;
        db = open_opts(dir, 1, 1u << 20, 0, 0, &rc);
        assert_int_equal(rc, ALEXDB_CORRUPT);
        assert_null(db);
        assert_non_null(strstr(alexdb_errmsg(), "log record 2"));
        tu_rmrf(dir);
        free(dir);
    }
}

/* The one segment in dir (the database was just created, so there is one). */
static char *segment_path(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *path = NULL;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "wal-", 4) != 0) continue;
        assert_null(path);
        path = tu_path(dir, e->d_name);
    }
    closedir(d);
    assert_non_null(path);
    return path;
}

/* A damaged record with intact ones after it: CORRUPT, or with log_salvage, the prefix. */
static void test_damaged_record_and_salvage(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path, 1, 1u << 20);
    for (uint64_t k = 1; k <= 3; k++) put(db, k, 10);
    api_abandon(db);
    char *segment = segment_path(fx->path);
    tu_flip_bit(segment, 4096 + 32 + 3, 2); /* the first record's key */
    int rc = 0;
    db = open_opts(fx->path, 1, 1u << 20, 0, 0, &rc);
    assert_int_equal(rc, ALEXDB_CORRUPT);
    assert_non_null(strstr(alexdb_errmsg(), "wal-"));
    db = open_opts(fx->path, 1, 1u << 20, 0, 1, &rc);
    assert_int_equal(rc, ALEXDB_OK);
    for (uint64_t k = 1; k <= 3; k++) expect_absent(db, k);
    put(db, 9, 10); /* the salvaged log takes new records */
    api_abandon(db);
    db = open_db(fx->path, 1, 1u << 20);
    check_value(db, 9, 10);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(segment);
}

/* A batch whose record would pass WAL_RECORD_SIZE_MAX is refused whole. */
static void test_batch_too_big_for_one_record(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path, 1, 1u << 20);
    size_t size = WAL_RECORD_SIZE_MAX / 2 + 1;
    uint8_t *big = calloc(1, size);
    alexdb_batch *b = NULL;
    assert_int_equal(alexdb_batch_create(&b), ALEXDB_OK);
    assert_int_equal(alexdb_batch_put(b, 1, big, size), ALEXDB_OK);
    assert_int_equal(alexdb_batch_put(b, 2, big, size), ALEXDB_OK);
    assert_int_equal(alexdb_batch_commit(db, b), ALEXDB_TOOBIG);
    expect_absent(db, 1);
    expect_absent(db, 2);
    alexdb_batch_destroy(b);
    put(db, 3, 10);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    free(big);
}

/* ---- a random log against an oracle ---- */

#define MODEL_UNIVERSE 4000u
#define MODEL_OPS 150000u /* more than two replay windows of 65536 changes */

/* Keys that differ in their top byte and share low bytes, so the sort's every pass counts. */
static uint64_t model_key(uint32_t i)
{
    return ((uint64_t)(i % 256) << 56) | (uint64_t)(i / 256) * 0x10001u;
}

static void model_fill(uint8_t *buf, uint32_t i, uint32_t version, uint32_t size)
{
    for (uint32_t j = 0; j < size; j++) buf[j] = (uint8_t)(i * 31 + version * 7 + j);
}

static void model_check(alexdb *db, const int32_t *sizes, const uint32_t *versions)
{
    uint8_t got[64], want[64];
    uint64_t present = 0;
    for (uint32_t i = 0; i < MODEL_UNIVERSE; i++) {
        size_t size = 0;
        int rc = alexdb_get(db, model_key(i), got, sizeof(got), &size);
        if (sizes[i] < 0) {
            assert_int_equal(rc, ALEXDB_NOTFOUND);
            continue;
        }
        present++;
        assert_int_equal(rc, ALEXDB_OK);
        assert_int_equal(size, (size_t)sizes[i]);
        model_fill(want, i, versions[i], (uint32_t)size);
        assert_memory_equal(got, want, size);
    }
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.key_count, present);
}

static void test_replay_random_log(void **state)
{
    tu_fixture *fx = *state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    int32_t *sizes = malloc(MODEL_UNIVERSE * sizeof(*sizes));
    uint32_t *versions = calloc(MODEL_UNIVERSE, sizeof(*versions));
    assert_true(sizes != NULL && versions != NULL);
    for (uint32_t i = 0; i < MODEL_UNIVERSE; i++) sizes[i] = -1;
    alexdb *db = open_db(fx->path, 0, 8u << 20);
    uint8_t buf[64];
    for (uint32_t n = 0, version = 1; n < MODEL_OPS; version++) {
        uint32_t i = (uint32_t)common_rng_below(&rng, MODEL_UNIVERSE);
        uint32_t size = (uint32_t)common_rng_below(&rng, sizeof(buf));
        uint64_t r = common_rng_below(&rng, 100);
        model_fill(buf, i, version, size);
        if (r < 70) {
            assert_int_equal(alexdb_put(db, model_key(i), buf, size), ALEXDB_OK);
            sizes[i] = (int32_t)size;
            versions[i] = version;
            n++;
        } else if (r < 90) {
            int rc = alexdb_delete(db, model_key(i));
            assert_int_equal(rc, sizes[i] < 0 ? ALEXDB_NOTFOUND : ALEXDB_OK);
            sizes[i] = -1;
            n++;
        } else { /* a batch changing one key several times: its last change wins */
            alexdb_batch *b = NULL;
            assert_int_equal(alexdb_batch_create(&b), ALEXDB_OK);
            for (uint32_t j = 0; j < 4; j++, version++) {
                uint32_t k = j % 2 == 0 ? i : (uint32_t)common_rng_below(&rng, MODEL_UNIVERSE);
                model_fill(buf, k, version, size);
                if (common_rng_below(&rng, 4) == 0) {
                    assert_int_equal(alexdb_batch_delete(b, model_key(k)), ALEXDB_OK);
                    sizes[k] = -1;
                } else {
                    assert_int_equal(alexdb_batch_put(b, model_key(k), buf, size), ALEXDB_OK);
                    sizes[k] = (int32_t)size;
                    versions[k] = version;
                }
            }
            assert_int_equal(alexdb_batch_commit(db, b), ALEXDB_OK);
            alexdb_batch_destroy(b);
            n += 4;
        }
    }
    assert_int_equal(alexdb_sync(db), ALEXDB_OK);
    api_abandon(db);
    for (int round = 0; round < 2; round++) { /* the second replays again: idempotent */
        db = open_db(fx->path, 0, 8u << 20);
        struct alexdb_stats st;
        assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
        assert_true(st.log_replay_count > 65536); /* more than one window */
        model_check(db, sizes, versions);
        assert_int_equal(alexdb_check(db), ALEXDB_OK);
        api_abandon(db);
    }
    free(sizes);
    free(versions);
}

int main(void)
{
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_random_log, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_replay_without_value_bytes, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_replay_restores_every_kind, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_replay_checkpoints_under_small_cache, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_only_after_crash, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_records_are_corrupt, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_record_and_salvage, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_batch_too_big_for_one_record, tu_fixture_setup,
                                        tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
