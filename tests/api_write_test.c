/*
 * api_write_test.c: api/write.c: what sync means. Power cuts at random I/Os (the
 * fault-injecting backend, writes torn at 512 B) lose no acknowledged put, delete or
 * batch, and a batch in flight is all there or not at all; SIGKILL of a process doing
 * sync puts on four threads loses nothing acknowledged; sync 0 writes are durable after
 * alexdb_sync and after sync_interval_ms; a failed fdatasync or a full disk makes the
 * handle refuse writes and loses nothing; many threads doing sync puts (TSan); a put
 * that finds the writer lock taken reads its uncached leaf before it waits.
 */
#include "alexdb.h"
#include "api_int.h"
#include "testutil.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KEYS 400u
#define BATCH_OPS 6u

static alexdb *open_env(const char *dir, int sync, size_t cache, pager_fault *fault, int *rc_out)
{
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.sync = sync;
    opts.cache_bytes = cache;
    opts.sync_interval_ms = 0;
    pager_env env;
    memset(&env, 0, sizeof(env));
    env.backend = fault != NULL ? PAGER_BACKEND_FAULT : tu_backend() == PAGER_BACKEND_FAULT ? PAGER_BACKEND_POSIX : tu_backend();
    env.fault = fault;
    alexdb *db = NULL;
    *rc_out = api_open(dir, &opts, &env, &db);
    return db;
}

static alexdb *open_db(const char *dir, int sync, size_t cache, pager_fault *fault)
{
    int rc = 0;
    alexdb *db = open_env(dir, sync, cache, fault, &rc);
    assert_int_equal(rc, ALEXDB_OK);
    return db;
}

/* Version v (> 0) of key's value: its size and bytes follow from (key, v). */
static size_t value_of(uint64_t key, uint32_t v, uint8_t *buf)
{
    size_t size = (key * 131 + v * 17) % 9 == 0 ? 1500 + (key + v) % 3000 : 20 + (key * 7 + v) % 700;
    for (size_t i = 0; i < size; i++) buf[i] = (uint8_t)(key ^ (v * 13) ^ (i * 29));
    return size;
}

/* The version key holds in db: 0 if absent, UINT32_MAX if it is no version of ours. */
static uint32_t version_in(alexdb *db, uint64_t key, uint32_t max_v)
{
    static uint8_t got[8192], want[8192];
    size_t size = 0;
    int rc = alexdb_get(db, key, got, sizeof(got), &size);
    if (rc == ALEXDB_NOTFOUND) return 0;
    assert_int_equal(rc, ALEXDB_OK);
    for (uint32_t v = 1; v <= max_v; v++) {
        if (value_of(key, v, want) == size && memcmp(got, want, size) == 0) return v;
    }
    return UINT32_MAX;
}

/*
 * The workload of the power-cut test: single puts, deletes and batches on KEYS keys,
 * each version of a key distinct. oracle[k]: the version acknowledged (0 absent);
 * pending: the keys and versions of the one change that returned an error.
 */
typedef struct workload {
    uint32_t oracle[KEYS];
    uint32_t next_version[KEYS];
    uint64_t pending_keys[BATCH_OPS];
    uint32_t pending_versions[BATCH_OPS];
    uint32_t pending_count;
    uint64_t acked;
} workload;

/* Runs changes until one fails; returns that error. */
static int run_until_error(alexdb *db, workload *w, common_rng *rng)
{
    static uint8_t buf[8192];
    alexdb_batch *b = NULL;
    assert_int_equal(alexdb_batch_create(&b), ALEXDB_OK);
    int rc = ALEXDB_OK;
    while (rc == ALEXDB_OK) {
        uint64_t r = common_rng_below(rng, 10);
        uint32_t count = r < 2 ? 1 + (uint32_t)common_rng_below(rng, BATCH_OPS) : 1;
        alexdb_batch_clear(b);
        w->pending_count = 0;
        for (uint32_t i = 0; i < count; i++) {
            uint64_t key = common_rng_below(rng, KEYS);
            bool dup = false;
            for (uint32_t j = 0; j < w->pending_count; j++) dup |= w->pending_keys[j] == key;
            if (dup) continue;
            bool del = common_rng_below(rng, 4) == 0;
            uint32_t v = del ? 0 : ++w->next_version[key];
            w->pending_keys[w->pending_count] = key;
            w->pending_versions[w->pending_count++] = v;
            if (r < 2) {
                if (del) assert_int_equal(alexdb_batch_delete(b, key), ALEXDB_OK);
                else assert_int_equal(alexdb_batch_put(b, key, buf, value_of(key, v, buf)), ALEXDB_OK);
            } else if (del) {
                rc = alexdb_delete(db, key);
                if (rc == ALEXDB_NOTFOUND) rc = ALEXDB_OK;
            } else {
                rc = alexdb_put(db, key, buf, value_of(key, v, buf));
            }
        }
        if (r < 2) rc = alexdb_batch_commit(db, b);
        if (rc != ALEXDB_OK) break;
        for (uint32_t j = 0; j < w->pending_count; j++) w->oracle[w->pending_keys[j]] = w->pending_versions[j];
        w->acked++;
    }
    alexdb_batch_destroy(b);
    return rc;
}

/* Every key holds its acknowledged version, except that the pending change is all there or none. */
static void verify(alexdb *db, const workload *w)
{
    int pending_state = -1; /* 0: none of it, 1: all of it */
    for (uint64_t key = 0; key < KEYS; key++) {
        uint32_t got = version_in(db, key, w->next_version[key]);
        int in_pending = -1;
        for (uint32_t j = 0; j < w->pending_count; j++) {
            if (w->pending_keys[j] == key) in_pending = (int)j;
        }
        if (in_pending < 0) {
            if (got != w->oracle[key]) {
                fail_msg("key %" PRIu64 ": version %u, acknowledged %u", key, got, w->oracle[key]);
            }
            continue;
        }
        uint32_t now = w->pending_versions[in_pending];
        int state = got == now && got != w->oracle[key] ? 1 : got == w->oracle[key] && got != now ? 0 : -1;
        if (got == now && got == w->oracle[key]) continue; /* deleting an absent key: either way */
        if (state < 0) fail_msg("key %" PRIu64 ": version %u is neither before nor after", key, got);
        if (pending_state >= 0 && state != pending_state) fail_msg("the change in flight is half there");
        pending_state = state;
    }
}

/*
 * Power cut at a random I/O (from any thread: writers, the log, the checkpointer),
 * with unsynced writes kept, dropped or torn; then recovery on the surviving files.
 * A 64-frame cache makes checkpoints frequent, so cuts land in them too.
 */
static void test_powercut_loses_nothing_acknowledged(void **state)
{
    tu_fixture *fx = *state;
    uint64_t seed = tu_seed();
    uint64_t acked = 0;
    for (uint32_t cycle = 0; cycle < 10; cycle++) {
        common_rng rng;
        common_rng_seed(&rng, seed + cycle);
        char name[32];
        snprintf(name, sizeof(name), "cut%u", cycle);
        char *dir = tu_path(fx->dir, name);
        pager_fault_config fc = {.seed = seed + cycle, .powercut_at = 30 + common_rng_below(&rng, 1500), .tear = 1};
        pager_fault *fault = NULL;
        assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
        workload *w = calloc(1, sizeof(*w));
        int rc = 0;
        alexdb *db = open_env(dir, 1, PAGER_CACHE_SIZE_MIN, fault, &rc);
        if (rc == ALEXDB_OK) {
            rc = run_until_error(db, w, &rng);
            assert_true(rc == ALEXDB_IO || rc == ALEXDB_READONLY);
            assert_true(pager_fault_is_cut(fault));
            (void)alexdb_close(db);
        } else {
            assert_int_equal(rc, ALEXDB_IO); /* the cut came during the first open */
        }
        pager_fault_destroy(fault);
        db = open_db(dir, 1, PAGER_CACHE_SIZE_MIN, NULL);
        verify(db, w);
        assert_int_equal(alexdb_check(db), ALEXDB_OK);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        acked += w->acked;
        free(w);
        tu_rmrf(dir);
        free(dir);
    }
    printf("power cuts: 10 cycles, %" PRIu64 " changes acknowledged, none lost\n", acked);
}

/* sync 0: buffered; durable after alexdb_sync, and within sync_interval_ms. */
static void test_sync_off_durable_after_sync_and_interval(void **state)
{
    tu_fixture *fx = *state;
    uint8_t buf[8192];
    for (int way = 0; way < 2; way++) {
        char *dir = tu_path(fx->dir, way == 0 ? "sync" : "interval");
        pager_fault_config fc = {.seed = 5, .tear = 1};
        pager_fault *fault = NULL;
        assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
        alexdb_options opts;
        alexdb_options_init(&opts);
        opts.sync = 0;
        opts.sync_interval_ms = way == 0 ? 0 : 20;
        pager_env env = {.backend = PAGER_BACKEND_FAULT, .fault = fault};
        alexdb *db = NULL;
        assert_int_equal(api_open(dir, &opts, &env, &db), ALEXDB_OK);
        for (uint64_t k = 0; k < 300; k++) assert_int_equal(alexdb_put(db, k, buf, value_of(k, 1, buf)), ALEXDB_OK);
        if (way == 0) {
            assert_int_equal(alexdb_sync(db), ALEXDB_OK);
        } else {
            /* No timing assertion: wait (up to a minute) for the interval sync to happen. */
            for (int i = 0; i < 6000 && wal_durable_lsn(db->wal) < wal_last_lsn(db->wal); i++) usleep(10000);
        }
        assert_int_equal(pager_fault_powercut(fault), ALEXDB_OK);
        (void)alexdb_close(db);
        pager_fault_destroy(fault);
        db = open_db(dir, 1, 1u << 20, NULL);
        for (uint64_t k = 0; k < 300; k++) assert_int_equal(version_in(db, k, 1), 1);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        tu_rmrf(dir);
        free(dir);
    }
}

/*
 * A failed fdatasync (or a write failing with ENOSPC) at the Nth: the write that needed
 * it fails, every later write says ALEXDB_READONLY, reads go on, and a reopen finds
 * every acknowledged change.
 */
static void test_failure_is_sticky_and_loses_nothing(void **state)
{
    tu_fixture *fx = *state;
    uint64_t seed = tu_seed();
    uint32_t failed = 0;
    for (uint32_t n = 1; n <= 24; n++) {
        bool enospc = n > 12;
        char name[32];
        snprintf(name, sizeof(name), "fail%u", n);
        char *dir = tu_path(fx->dir, name);
        pager_fault_config fc = {.seed = seed};
        if (enospc) {
            fc.write_error_at = 3 * (n - 12);
            fc.write_errno = ENOSPC;
        } else {
            fc.sync_error_at = n;
        }
        pager_fault *fault = NULL;
        assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
        workload *w = calloc(1, sizeof(*w));
        common_rng rng;
        common_rng_seed(&rng, seed + n);
        int rc = 0;
        alexdb *db = open_env(dir, 1, PAGER_CACHE_SIZE_MIN, fault, &rc);
        if (rc == ALEXDB_OK) {
            rc = run_until_error(db, w, &rng);
            /* READONLY: the checkpointer hit the fault first and failed the handle. */
            assert_true(rc == (enospc ? ALEXDB_NOSPACE : ALEXDB_IO) || rc == ALEXDB_READONLY);
            assert_int_equal(alexdb_put(db, 1, "x", 1), ALEXDB_READONLY);
            assert_int_equal(alexdb_delete(db, 1), ALEXDB_READONLY);
            for (uint64_t key = 0; key < KEYS; key++) {
                bool pending = false;
                for (uint32_t j = 0; j < w->pending_count; j++) pending |= w->pending_keys[j] == key;
                if (!pending) assert_int_equal(version_in(db, key, w->next_version[key]), w->oracle[key]);
            }
            (void)alexdb_close(db);
            failed++;
        } else {
            assert_int_equal(rc, enospc ? ALEXDB_NOSPACE : ALEXDB_IO); /* the open hit it */
        }
        pager_fault_destroy(fault);
        db = open_db(dir, 1, PAGER_CACHE_SIZE_MIN, NULL);
        verify(db, w);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        free(w);
        tu_rmrf(dir);
        free(dir);
    }
    assert_true(failed > 0); /* some faults did land in the workload */
}

/* ---- SIGKILL of a process doing sync puts on four threads ---------------------------- */

#define KILL_THREADS 4

typedef struct kill_shared {
    _Atomic uint64_t acked[KILL_THREADS]; /* puts acknowledged per thread (keys 0..acked-1) */
} kill_shared;

typedef struct kill_arg {
    alexdb *db;
    kill_shared *shared;
    uint64_t round;
    int thread;
} kill_arg;

static uint64_t kill_key(uint64_t round, int thread, uint64_t i)
{
    return (round << 40) | ((uint64_t)thread << 32) | i;
}

static void *kill_writer(void *p)
{
    kill_arg *a = p;
    uint8_t buf[8192];
    for (uint64_t i = 0;; i++) {
        uint64_t key = kill_key(a->round, a->thread, i);
        if (alexdb_put(a->db, key, buf, value_of(key, 1, buf)) != ALEXDB_OK) _exit(3);
        atomic_store(&a->shared->acked[a->thread], i + 1);
    }
    return NULL;
}

static void test_sigkill_loses_nothing_acknowledged(void **state)
{
    tu_fixture *fx = *state;
    kill_shared *shared = mmap(NULL, sizeof(kill_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(shared != MAP_FAILED);
    for (uint64_t round = 0; round < 3; round++) {
        memset(shared, 0, sizeof(*shared));
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alexdb *db = NULL;
            int rc = 0;
            db = open_env(fx->path, 1, PAGER_CACHE_SIZE_MIN * 4, NULL, &rc);
            if (rc != ALEXDB_OK) {
                fprintf(stderr, "child: open: %s\n", alexdb_errmsg());
                _exit(2);
            }
            pthread_t threads[KILL_THREADS];
            kill_arg args[KILL_THREADS];
            for (int t = 0; t < KILL_THREADS; t++) {
                args[t] = (kill_arg){.db = db, .shared = shared, .round = round, .thread = t};
                pthread_create(&threads[t], NULL, kill_writer, &args[t]);
            }
            for (;;) pause();
        }
        /* Kill once a few hundred puts are acknowledged (or after a minute regardless). */
        for (int i = 0; i < 6000; i++) {
            uint64_t sum = 0;
            for (int t = 0; t < KILL_THREADS; t++) sum += atomic_load(&shared->acked[t]);
            if (sum >= 300 + round * 200) break;
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid) fail_msg("the writer process exited (%d)", status);
            usleep(10000);
        }
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        alexdb *db = open_db(fx->path, 1, 4u << 20, NULL);
        uint64_t total = 0;
        for (int t = 0; t < KILL_THREADS; t++) {
            uint64_t acked = atomic_load(&shared->acked[t]);
            total += acked;
            for (uint64_t i = 0; i < acked; i++) assert_int_equal(version_in(db, kill_key(round, t, i), 1), 1);
            /* At most the one put in flight after the last acknowledged one. */
            assert_int_equal(version_in(db, kill_key(round, t, acked + 1), 1), 0);
        }
        assert_int_equal(alexdb_check(db), ALEXDB_OK);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        printf("kill round %" PRIu64 ": %" PRIu64 " puts acknowledged, all present\n", round, total);
    }
    munmap(shared, sizeof(kill_shared));
}

/* ---- many threads doing sync puts (TSan) ------------------------------------------------ */

#define SYNC_THREADS 8
#define SYNC_PUTS 150u

typedef struct sync_arg {
    alexdb *db;
    int thread;
    int errors;
} sync_arg;

static void *sync_writer(void *p)
{
    sync_arg *a = p;
    uint8_t buf[8192];
    for (uint64_t i = 0; i < SYNC_PUTS; i++) {
        uint64_t key = kill_key(9, a->thread, i);
        if (alexdb_put(a->db, key, buf, value_of(key, 1, buf)) != ALEXDB_OK) a->errors++;
    }
    return NULL;
}

static void test_many_threads_sync_puts(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path, 1, PAGER_CACHE_SIZE_MIN, NULL);
    pthread_t threads[SYNC_THREADS];
    sync_arg args[SYNC_THREADS];
    for (int t = 0; t < SYNC_THREADS; t++) {
        args[t] = (sync_arg){.db = db, .thread = t};
        assert_int_equal(pthread_create(&threads[t], NULL, sync_writer, &args[t]), 0);
    }
    for (int t = 0; t < SYNC_THREADS; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(args[t].errors, 0);
    }
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.log_record_count, SYNC_THREADS * SYNC_PUTS);
    assert_true(st.log_commit_count <= SYNC_THREADS * SYNC_PUTS);
    printf("%d threads: %" PRIu64 " commits in %" PRIu64 " groups, %" PRIu64 " checkpoints\n", SYNC_THREADS,
           st.log_commit_count, st.log_group_count, st.checkpoint_count);
    api_abandon(db); /* everything acknowledged must come back from the log */
    db = open_db(fx->path, 1, PAGER_CACHE_SIZE_MIN, NULL);
    for (int t = 0; t < SYNC_THREADS; t++) {
        for (uint64_t i = 0; i < SYNC_PUTS; i++) assert_int_equal(version_in(db, kill_key(9, t, i), 1), 1);
    }
    assert_int_equal(alexdb_check(db), ALEXDB_OK);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

typedef struct put_arg {
    alexdb *db;
    uint64_t key;
    int rc;
} put_arg;

static void *put_one(void *arg)
{
    put_arg *a = arg;
    a->rc = alexdb_put(a->db, a->key, "warm", 4);
    return NULL;
}

/*
 * D6: a put that finds write_lock taken reads its uncached leaf first. The test holds
 * the lock while the put runs: the leaf's read must happen meanwhile.
 */
static void test_put_reads_leaf_before_write_lock(void **state)
{
    tu_fixture *fx = *state;
    alexdb *db = open_db(fx->path, 0, 8u << 20, NULL);
    uint8_t value[100];
    memset(value, 0xA5, sizeof(value));
    for (uint64_t key = 0; key < 20000; key++) {
        assert_int_equal(alexdb_put(db, key * 7, value, sizeof(value)), ALEXDB_OK);
    }
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
    db = open_db(fx->path, 0, PAGER_CACHE_SIZE_MIN, NULL); /* no leaf cached */
    struct alexdb_stats before, now;
    assert_int_equal(alexdb_stats(db, &before), ALEXDB_OK);
    put_arg arg = {.db = db, .key = 10007 * 7};
    pthread_mutex_lock(&db->write_lock);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, put_one, &arg), 0);
    bool read = false;
    for (int waited_ms = 0; !read && waited_ms < 20000; waited_ms++) {
        assert_int_equal(alexdb_stats(db, &now), ALEXDB_OK);
        read = now.device_read_count > before.device_read_count;
        if (!read) usleep(1000);
    }
    pthread_mutex_unlock(&db->write_lock);
    pthread_join(thread, NULL);
    assert_true(read);
    assert_int_equal(arg.rc, ALEXDB_OK);
    char got[8];
    size_t size = 0;
    assert_int_equal(alexdb_get(db, arg.key, got, sizeof(got), &size), ALEXDB_OK);
    assert_int_equal(size, 4);
    assert_memory_equal(got, "warm", 4);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* alexdb_checkpoint removes the log it covers: nothing is replayed after it. */
static void test_checkpoint_releases_log(void **state)
{
    tu_fixture *fx = *state;
    uint8_t buf[8192];
    alexdb *db = open_db(fx->path, 0, 4u << 20, NULL);
    struct alexdb_stats st;
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    uint64_t checkpoints = st.checkpoint_count; /* a new database's first is taken at open */
    for (uint64_t k = 0; k < 500; k++) assert_int_equal(alexdb_put(db, k, buf, value_of(k, 1, buf)), ALEXDB_OK);
    assert_int_equal(alexdb_checkpoint(db), ALEXDB_OK);
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.checkpoint_count, checkpoints + 1);
    assert_int_equal(st.log_segment_count, 1);
    api_abandon(db);
    db = open_db(fx->path, 0, 4u << 20, NULL);
    assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
    assert_int_equal(st.log_replay_count, 0);
    for (uint64_t k = 0; k < 500; k++) assert_int_equal(version_in(db, k, 1), 1);
    assert_int_equal(alexdb_close(db), ALEXDB_OK);
}

/* A manual handle's background runs only in api_background_step: its I/O is the caller's. */
static void test_manual_background(void **state)
{
    tu_fixture *fx = *state;
    uint8_t buf[8192];
    uint64_t io_counts[2] = {0, 0};
    for (int run = 0; run < 2; run++) {
        char *dir = tu_path(fx->dir, run == 0 ? "a" : "b");
        pager_fault_config fc = {.seed = 9};
        pager_fault *fault = NULL;
        assert_int_equal(pager_fault_create(&fc, &fault), ALEXDB_OK);
        alexdb_options opts;
        alexdb_options_init(&opts);
        opts.sync = 0;
        opts.sync_interval_ms = 1;
        opts.cache_bytes = 1u << 20;
        pager_env env = {.backend = PAGER_BACKEND_FAULT, .fault = fault};
        alexdb *db = NULL;
        assert_int_equal(api_open_with(dir, &opts, &env, API_OPEN_MANUAL_BACKGROUND, &db), ALEXDB_OK);
        struct alexdb_stats st;
        assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
        uint64_t checkpoints = st.checkpoint_count;
        uint64_t k = 0;
        for (; k < 20000 && !alex_needs_checkpoint(db->index); k++) {
            assert_int_equal(alexdb_put(db, k * 7919, buf, value_of(k * 7919, 1, buf)), ALEXDB_OK);
        }
        assert_true(alex_needs_checkpoint(db->index));
        usleep(50000); /* fifty sync intervals and more than a checkpointer poll: nothing runs */
        assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
        assert_int_equal(st.checkpoint_count, checkpoints);
        assert_true(wal_durable_lsn(db->wal) < wal_last_lsn(db->wal));
        assert_int_equal(api_background_step(db), ALEXDB_OK);
        assert_int_equal(wal_durable_lsn(db->wal), wal_last_lsn(db->wal));
        assert_int_equal(alexdb_stats(db, &st), ALEXDB_OK);
        assert_int_equal(st.checkpoint_count, checkpoints + 1);
        assert_false(alex_needs_checkpoint(db->index));
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        pager_fault_stats fs;
        pager_fault_stats_get(fault, &fs);
        io_counts[run] = fs.io_count;
        pager_fault_destroy(fault);
        db = open_db(dir, 1, 1u << 20, NULL);
        for (uint64_t i = 0; i < k; i += 97) assert_int_equal(version_in(db, i * 7919, 1), 1);
        assert_int_equal(alexdb_close(db), ALEXDB_OK);
        tu_rmrf(dir);
        free(dir);
    }
    /* The same calls made the same I/Os. */
    assert_int_equal(io_counts[0], io_counts[1]);
}

int main(void)
{
    tu_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_powercut_loses_nothing_acknowledged, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sync_off_durable_after_sync_and_interval, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_failure_is_sticky_and_loses_nothing, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_loses_nothing_acknowledged, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_many_threads_sync_puts, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_put_reads_leaf_before_write_lock, tu_fixture_setup,
                                        tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_releases_log, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_manual_background, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
