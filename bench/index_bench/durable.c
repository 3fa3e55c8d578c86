/*
 * durable.c: the durable-put and recovery phases of alexdb-index-bench (issue 4's figures).
 *
 * For each count in --durable-threads (1,32 by default): a fresh database
 * (<dir>/durable, sync = 1, --warm-cache), N threads released together, each doing
 * alexdb_put of --value-size bytes to its own keys, one at a time, for --seconds. Every
 * put is timed (each waits for the device, so the clock costs nothing by comparison).
 * Reported: puts/s, latency p50/p99/max, and the log's commits per fdatasync (group
 * commit) from alexdb_stats. Then every key written is read back and checked.
 *
 * recover: a child process fills --keys keys with sync = 0, calls alexdb_sync and is
 * killed with SIGKILL; the next alexdb_open (which replays the log after the last
 * checkpoint) is timed: MB of log replayed per second (target >= 200 MB/s).
 *
 * Entry points: index_bench_durable_run(), index_bench_recover_run().
 */
#include "index_bench.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct durable_thread {
    bench_thread t; /* first: bench_threads_run's part */
    alexdb *db;
    uint32_t id;
    size_t value_size;
    uint64_t put_count;
    int rc;
    latency_hist hist;
} durable_thread;

/* Thread id's i-th key: spread over the key space so the threads touch different leaves. */
static uint64_t durable_key(uint32_t id, uint64_t i)
{
    return (((uint64_t)id << 40) | i) * IB_MIX_ADD;
}

static void *durable_main(void *arg)
{
    durable_thread *d = arg;
    uint8_t *value = malloc(d->value_size + 1);
    IB_ASSERT(value != NULL);
    bench_gate_arrive_and_wait(d->t.start);
    for (uint64_t i = 0; !atomic_load_explicit(d->t.stop, memory_order_relaxed); i++) {
        uint64_t key = durable_key(d->id, i);
        index_bench_value_fill(value, d->value_size, key);
        uint64_t t0 = index_bench_now_ns();
        int rc = alexdb_put(d->db, key, value, d->value_size);
        latency_hist_add(&d->hist, index_bench_now_ns() - t0);
        if (rc != ALEXDB_OK) {
            d->rc = rc;
            break;
        }
        d->put_count = i + 1;
    }
    free(value);
    return NULL;
}

typedef struct durable_clock {
    uint64_t start_ns;
} durable_clock;

static void clock_start(void *arg)
{
    ((durable_clock *)arg)->start_ns = index_bench_now_ns();
}

/* Every key the threads wrote holds its value. */
static int check_keys(alexdb *db, const durable_thread *threads, uint32_t count, size_t value_size)
{
    uint8_t *want = malloc(value_size + 1), *got = malloc(value_size + 1);
    int rc = want != NULL && got != NULL ? ALEXDB_OK : index_bench_errorf(ALEXDB_NOMEM, "out of memory");
    for (uint32_t t = 0; t < count && rc == ALEXDB_OK; t++) {
        for (uint64_t i = 0; i < threads[t].put_count && rc == ALEXDB_OK; i++) {
            uint64_t key = durable_key(threads[t].id, i);
            size_t size = 0;
            rc = alexdb_get(db, key, got, value_size + 1, &size);
            if (rc != ALEXDB_OK) {
                rc = index_bench_fail("alexdb_get (durable check)", rc);
                break;
            }
            index_bench_value_fill(want, value_size, key);
            if (size != value_size || memcmp(got, want, value_size) != 0) {
                rc = index_bench_errorf(ALEXDB_CORRUPT, "durable: key %" PRIu64 " has a wrong value", key);
            }
        }
    }
    free(want);
    free(got);
    return rc;
}

static int run_level(ib_bench *b, uint32_t thread_count, ib_durable_level *out)
{
    char path[IB_PATH_SIZE_MAX];
    int n = snprintf(path, sizeof(path), "%s/durable", b->opt.dir);
    IB_ASSERT(n > 0 && (size_t)n < sizeof(path));
    int rc = index_bench_remove_db_dir(path);
    if (rc != ALEXDB_OK) return rc;
    alexdb_options options;
    alexdb_options_init(&options);
    options.cache_bytes = b->opt.warm_cache_size;
    options.sync = 1;
    alexdb *db = NULL;
    rc = alexdb_open(path, &options, &db);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_open", rc);
    durable_thread *threads = calloc(thread_count, sizeof(*threads));
    if (threads == NULL) {
        (void)alexdb_close(db);
        return index_bench_errorf(ALEXDB_NOMEM, "out of memory");
    }
    for (uint32_t t = 0; t < thread_count; t++) {
        threads[t] = (durable_thread){.db = db, .id = t, .value_size = b->opt.value_size};
    }
    struct alexdb_stats before, after;
    rc = alexdb_stats(db, &before);
    durable_clock clock = {0};
    uint32_t created = 0;
    int err = rc == ALEXDB_OK ? bench_threads_run(threads, sizeof(*threads), thread_count, durable_main,
                                                  (uint64_t)(b->opt.seconds * 1e9), clock_start, &clock,
                                                  &created)
                              : 0;
    uint64_t elapsed_ns = index_bench_now_ns() - clock.start_ns;
    if (rc == ALEXDB_OK && err != 0) rc = index_bench_errorf(ALEXDB_IO, "pthread_create: %s", strerror(err));
    if (rc == ALEXDB_OK) rc = alexdb_stats(db, &after);
    latency_hist *hist = calloc(1, sizeof(*hist));
    uint64_t puts = 0;
    for (uint32_t t = 0; t < created && hist != NULL; t++) {
        if (rc == ALEXDB_OK && threads[t].rc != ALEXDB_OK) rc = index_bench_fail("alexdb_put", threads[t].rc);
        puts += threads[t].put_count;
        latency_hist_merge(hist, &threads[t].hist);
    }
    if (hist == NULL && rc == ALEXDB_OK) rc = index_bench_errorf(ALEXDB_NOMEM, "out of memory");
    if (rc == ALEXDB_OK) {
        uint64_t commits = after.log_commit_count - before.log_commit_count;
        uint64_t groups = after.log_group_count - before.log_group_count;
        *out = (ib_durable_level){
            .thread_count = thread_count,
            .ops_per_s = (double)puts * 1e9 / (double)elapsed_ns,
            .p50_us = latency_hist_percentile_us(hist, 0.50),
            .p99_us = latency_hist_percentile_us(hist, 0.99),
            .max_us = latency_hist_percentile_us(hist, 1.0),
            .commits_per_sync = groups > 0 ? (double)commits / (double)groups : 0.0,
        };
        char name[32], tail[256];
        snprintf(name, sizeof(name), "durable x%u", thread_count);
        snprintf(tail, sizeof(tail),
                 " p50 %.0f us, p99 %.0f us, max %.0f us; %.1f commits per fdatasync; %" PRIu64
                 " checkpoints, longest pause %.2f ms",
                 out->p50_us, out->p99_us, out->max_us, out->commits_per_sync,
                 after.checkpoint_count - before.checkpoint_count, (double)after.checkpoint_pause_max_ns / 1e6);
        index_bench_report_line(name, puts, elapsed_ns, "puts/sec", tail);
        rc = check_keys(db, threads, created, b->opt.value_size);
    }
    free(hist);
    free(threads);
    int close_rc = alexdb_close(db);
    if (rc == ALEXDB_OK && close_rc != ALEXDB_OK) rc = index_bench_fail("alexdb_close", close_rc);
    if (rc == ALEXDB_OK && !b->opt.keep) rc = index_bench_remove_db_dir(path);
    return rc;
}

int index_bench_durable_run(ib_bench *b)
{
    printf("durable puts: sync = 1, %zu-byte values, %.1f s per thread count\n", b->opt.value_size,
           b->opt.seconds);
    int rc = ALEXDB_OK;
    for (uint32_t i = 0; i < b->opt.durable_threads_count && rc == ALEXDB_OK; i++) {
        rc = run_level(b, b->opt.durable_threads[i], &b->durable.levels[i]);
    }
    b->durable.ran = rc == ALEXDB_OK;
    return rc;
}

/* ---- recover: the open after a crash, replaying the log --------------------------- */

/*
 * The child fills a fresh database (sync = 0) with --keys keys, makes the log durable
 * (alexdb_sync) and says so through a pipe; the parent SIGKILLs it there, so the next
 * open finds everything after the last checkpoint in the log. That open is timed.
 */
static void recover_child(const char *path, const ib_bench *b, int ready_fd)
{
    alexdb_options options;
    alexdb_options_init(&options);
    options.cache_bytes = b->opt.warm_cache_size;
    options.sync = 0;
    alexdb *db = NULL;
    uint8_t *value = malloc(b->opt.value_size + 1);
    if (value == NULL || alexdb_open(path, &options, &db) != ALEXDB_OK) _exit(2);
    for (uint64_t i = 0; i < b->opt.key_count; i++) {
        uint64_t key = durable_key(0, i);
        index_bench_value_fill(value, b->opt.value_size, key);
        if (alexdb_put(db, key, value, b->opt.value_size) != ALEXDB_OK) _exit(3);
    }
    if (alexdb_sync(db) != ALEXDB_OK) _exit(4);
    char byte = 1;
    if (write(ready_fd, &byte, 1) != 1) _exit(5);
    for (;;) pause();
}

int index_bench_recover_run(ib_bench *b)
{
    char path[IB_PATH_SIZE_MAX];
    int n = snprintf(path, sizeof(path), "%s/recover", b->opt.dir);
    IB_ASSERT(n > 0 && (size_t)n < sizeof(path));
    int rc = index_bench_remove_db_dir(path);
    if (rc != ALEXDB_OK) return rc;
    int fds[2];
    if (pipe(fds) != 0) return index_bench_errorf(ALEXDB_IO, "pipe: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return index_bench_errorf(ALEXDB_IO, "fork: %s", strerror(errno));
    if (pid == 0) recover_child(path, b, fds[1]);
    close(fds[1]);
    char byte = 0;
    ssize_t got = read(fds[0], &byte, 1);
    close(fds[0]);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != 1) return index_bench_errorf(ALEXDB_IO, "recover: the writer process failed (%d)", status);
    alexdb_options options;
    alexdb_options_init(&options);
    options.cache_bytes = b->opt.warm_cache_size;
    alexdb *db = NULL;
    uint64_t t0 = index_bench_now_ns();
    rc = alexdb_open(path, &options, &db);
    uint64_t elapsed_ns = index_bench_now_ns() - t0;
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_open (recovery)", rc);
    struct alexdb_stats st;
    rc = alexdb_stats(db, &st);
    if (rc == ALEXDB_OK && st.key_count != b->opt.key_count) {
        rc = index_bench_errorf(ALEXDB_CORRUPT, "recover: %" PRIu64 " keys after recovery, %" PRIu64 " written",
                                st.key_count, b->opt.key_count);
    }
    if (rc == ALEXDB_OK) {
        double replay_s = (double)st.log_replay_ns / 1e9;
        b->durable.replay_mb_per_s = replay_s > 0 ? (double)st.log_replay_bytes / 1e6 / replay_s : 0.0;
        b->durable.recover_ran = true;
        printf("recover      : open after SIGKILL %.3f s, of which the log %.3f s: %" PRIu64
               " records (%.1f MB) read and applied, %.0f MB/s; %" PRIu64 " keys\n",
               (double)elapsed_ns / 1e9, replay_s, st.log_replay_count, (double)st.log_replay_bytes / 1e6,
               b->durable.replay_mb_per_s, st.key_count);
    }
    int close_rc = alexdb_close(db);
    if (rc == ALEXDB_OK && close_rc != ALEXDB_OK) rc = index_bench_fail("alexdb_close", close_rc);
    if (rc == ALEXDB_OK && !b->opt.keep) rc = index_bench_remove_db_dir(path);
    return rc;
}
