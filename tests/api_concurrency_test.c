/*
 * api_concurrency_test.c: many readers and writers on one handle at once (run under
 * TSan in CI). Writers own disjoint key ranges and record what they wrote; readers get
 * and scan everything meanwhile and check that whatever they see is a value some writer
 * wrote for that key; afterwards every key holds its writer's last value.
 */
#include "alexdb.h"
#include "testutil.h"

#include <pthread.h>
#include <string.h>

#define WRITERS 3
#define READERS 3
#define KEYS_PER_WRITER 3000u
#define ROUNDS 4u

typedef struct shared {
    alexdb *db;
    uint64_t seed;
    int stop;
    int errors;
    uint32_t last_round[WRITERS][KEYS_PER_WRITER]; /* 0: deleted last */
} shared;

typedef struct thread_arg {
    shared *s;
    int id;
} thread_arg;

/* Key k of writer w; values are (key, round) so a reader can check any value it sees. */
static uint64_t key_of(int w, uint32_t k)
{
    return ((uint64_t)k * WRITERS + (uint64_t)w) * 0x9E3779B97F4A7C15ULL;
}

static void *writer(void *p)
{
    thread_arg *a = p;
    shared *s = a->s;
    common_rng rng;
    common_rng_seed(&rng, s->seed + (uint64_t)a->id);
    for (uint32_t round = 1; round <= ROUNDS; round++) {
        for (uint32_t k = 0; k < KEYS_PER_WRITER; k++) {
            uint64_t key = key_of(a->id, k);
            if (common_rng_below(&rng, 5) == 0) {
                int rc = alexdb_delete(s->db, key);
                if (rc != ALEXDB_OK && rc != ALEXDB_NOTFOUND) __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
                s->last_round[a->id][k] = 0;
                continue;
            }
            uint64_t value[2] = {key, round};
            if (alexdb_put(s->db, key, value, sizeof(value)) != ALEXDB_OK) {
                __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
            }
            s->last_round[a->id][k] = round;
        }
    }
    return NULL;
}

static void check_seen(shared *s, uint64_t key, const void *data, size_t size)
{
    uint64_t value[2] = {0, 0};
    if (size != sizeof(value)) {
        __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
        return;
    }
    memcpy(value, data, sizeof(value));
    if (value[0] != key || value[1] < 1 || value[1] > ROUNDS) __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
}

static void *reader(void *p)
{
    thread_arg *a = p;
    shared *s = a->s;
    common_rng rng;
    common_rng_seed(&rng, s->seed + 100 + (uint64_t)a->id);
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        uint64_t key = key_of((int)common_rng_below(&rng, WRITERS), (uint32_t)common_rng_below(&rng, KEYS_PER_WRITER));
        uint64_t buf[2];
        size_t size = 0;
        int rc = alexdb_get(s->db, key, buf, sizeof(buf), &size);
        if (rc == ALEXDB_OK) check_seen(s, key, buf, size);
        else if (rc != ALEXDB_NOTFOUND) __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
        alexdb_iter *it = NULL;
        if (alexdb_iter_open(s->db, &it) != ALEXDB_OK) continue;
        uint64_t last = 0;
        int n = 0;
        for (alexdb_iter_seek(it, key); alexdb_iter_valid(it) && n < 50; alexdb_iter_next(it), n++) {
            uint64_t k = alexdb_iter_key(it);
            if (n > 0 && k <= last) __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
            last = k;
            const void *data = NULL;
            alexdb_iter_value(it, &data, &size);
            check_seen(s, k, data, size);
        }
        if (alexdb_iter_status(it) != ALEXDB_OK) __atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
        alexdb_iter_close(it);
    }
    return NULL;
}

/* Concurrent writers and readers: no error, no torn or foreign value, last writes win. */
static void test_readers_and_writers(void **state)
{
    tu_fixture *fx = *state;
    static shared s;
    memset(&s, 0, sizeof(s));
    s.seed = tu_seed();
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.cache_bytes = 512u << 10; /* small: evictions and re-reads while writing */
    assert_int_equal(alexdb_open(fx->path, &opts, &s.db), ALEXDB_OK);
    pthread_t threads[WRITERS + READERS];
    thread_arg args[WRITERS + READERS];
    for (int i = 0; i < WRITERS + READERS; i++) {
        args[i] = (thread_arg){.s = &s, .id = i < WRITERS ? i : i - WRITERS};
        assert_int_equal(pthread_create(&threads[i], NULL, i < WRITERS ? writer : reader, &args[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) pthread_join(threads[i], NULL);
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    for (int i = WRITERS; i < WRITERS + READERS; i++) pthread_join(threads[i], NULL);
    assert_int_equal(s.errors, 0);
    for (int w = 0; w < WRITERS; w++) {
        for (uint32_t k = 0; k < KEYS_PER_WRITER; k++) {
            uint64_t buf[2];
            size_t size = 0;
            int rc = alexdb_get(s.db, key_of(w, k), buf, sizeof(buf), &size);
            if (s.last_round[w][k] == 0) {
                assert_int_equal(rc, ALEXDB_NOTFOUND);
            } else {
                assert_int_equal(rc, ALEXDB_OK);
                assert_int_equal(buf[1], s.last_round[w][k]);
            }
        }
    }
    assert_int_equal(alexdb_check(s.db), ALEXDB_OK);
    assert_int_equal(alexdb_close(s.db), ALEXDB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readers_and_writers, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
