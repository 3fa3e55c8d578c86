/*
 * load.c: the two jobs of alexdb-bench that are one timed call rather than a stream of
 * ops, so they run alone (main.c gives each its own group) and outside run.c's threads.
 *
 * bulkload: the job's keys (every index's key, sorted) and their values are made first,
 * untimed, so that only the engine's load is measured; then one call of the engine's
 * bulk_load, its fastest honest sorted-load path, which returns once the load is durable
 * (alexdb_bulk_load ends with a checkpoint; each peer's path is in its engine file).
 * Reported as keys/s. Then every key is read back and checked.
 *
 * recover: the open after a crash. The shared database is closed and emptied; a child
 * process, this program again (exec of /proc/self/exe with the same command line plus
 * --internal-recover-child=ENGINE,JOB,FD), opens it, fills the job's keys in a random
 * order (fillrandom, the job's sync and cache), calls the engine's flush where it has one
 * (alexdb_sync: writes that returned must survive the death of the process), writes its
 * fill time to the pipe FD, and _exits without closing anything, as a crash would. Why a
 * new program rather than the forked copy: the parent has had the peers' libraries
 * running (RocksDB keeps a pool of background threads after close), and a fork keeps
 * only the calling thread, so a library reopened in the forked copy could wait forever
 * for threads that do not exist there. The parent then times engine->open on what the
 * child left (the log files, named by the engine's log_prefix and log_suffix, are
 * measured first: MB of log per second of open), and reads back and checks every key:
 * each must be there with its value. The reopened database is the one the next jobs use.
 *
 * Entry points: ab_run_bulkload(), ab_run_recover(), ab_recover_child_main().
 */
#include "alexdb_bench.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define AB_CHILD_ARG_SIZE 128u

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct load_data {
    uint64_t *keys;
    const void **values;
    size_t *value_sizes;
    unsigned char *bytes;
} load_data;

static void load_data_free(load_data *d)
{
    free(d->keys);
    free(d->values);
    free(d->value_sizes);
    free(d->bytes);
}

/* Every index's key, sorted, and its value: 0, or -1 when memory runs out. */
static int load_data_make(const ab_job *job, load_data *d)
{
    uint64_t n = job->key_count;
    *d = (load_data){0};
    d->keys = malloc(n * sizeof(uint64_t));
    d->values = malloc(n * sizeof(void *));
    d->value_sizes = malloc(n * sizeof(size_t));
    d->bytes = malloc(n * job->value_size + 1);
    if (d->keys == NULL || d->values == NULL || d->value_sizes == NULL || d->bytes == NULL) {
        load_data_free(d);
        return ab_errorf("bulkload: out of memory for %" PRIu64 " keys", n);
    }
    for (uint64_t i = 0; i < n; i++) d->keys[i] = ab_key_of(job, i);
    qsort(d->keys, n, sizeof(uint64_t), compare_u64);
    for (uint64_t i = 0; i < n; i++) {
        AB_ASSERT(i == 0 || d->keys[i - 1] < d->keys[i]); /* ab_key_of is bijective */
        d->values[i] = d->bytes + i * job->value_size;
        d->value_sizes[i] = job->value_size;
        ab_value_fill(d->keys[i], d->bytes + i * job->value_size, job->value_size);
    }
    return 0;
}

/* Reads every index's key through a fresh thread context: each must be present with its
 * value (plant_wrong_value flips a byte first, so the check can be seen to fail). */
static int verify_all(const bench_engine *engine, void *db, const ab_job *job, double *seconds_out)
{
    void *ctx = NULL;
    unsigned char *buf = malloc(AB_VALUE_SIZE_MAX);
    if (buf == NULL) return ab_errorf("out of memory");
    if (engine->thread_open(db, job, &ctx) != 0) {
        free(buf);
        return -1;
    }
    uint64_t t0 = ab_now_ns();
    int rc = 0;
    for (uint64_t i = 0; i < job->key_count && rc == 0; i++) {
        uint64_t key = ab_key_of(job, i);
        size_t size = 0;
        int got = engine->get(ctx, key, buf, AB_VALUE_SIZE_MAX, &size);
        if (got == 1) rc = ab_errorf("%s: key %" PRIu64 " (index %" PRIu64 ") not found after %s", engine->name,
                                     key, i, ab_rw_name(job->rw));
        else if (got != 0) rc = -1;
        else {
            if (job->plant_wrong_value && size > 0) buf[size - 1] ^= 1;
            rc = ab_value_check(job, key, buf, size);
        }
    }
    *seconds_out = (double)(ab_now_ns() - t0) / 1e9;
    engine->thread_close(ctx);
    free(buf);
    return rc;
}

/* A result with no latencies: one call of count keys that took seconds. */
static void result_set_call(ab_result *r, uint64_t count, double seconds)
{
    r->op_count = count;
    r->item_count = count;
    r->seconds = seconds;
    r->start_s = 0;
    r->end_s = seconds;
}

int ab_run_bulkload(const bench_engine *engine, void *db, const ab_job *job, ab_result *result)
{
    AB_ASSERT(job->rw == AB_RW_BULKLOAD);
    if (engine->bulk_load == NULL) {
        fprintf(stderr, AB_NAME ": %s has no bulk load; job %s skipped\n", engine->name, job->name);
        return 0;
    }
    load_data d;
    if (load_data_make(job, &d) != 0) return -1;
    ab_load load = {.keys = d.keys, .values = d.values, .value_sizes = d.value_sizes, .count = job->key_count};
    ab_counters_read(engine, db, &result->before);
    ab_proc_io(&result->io_read_bytes, &result->io_write_bytes);
    double io_r0 = result->io_read_bytes, io_w0 = result->io_write_bytes;
    uint64_t t0 = ab_now_ns();
    int rc = engine->bulk_load(db, &load);
    double seconds = (double)(ab_now_ns() - t0) / 1e9;
    ab_proc_io(&result->io_read_bytes, &result->io_write_bytes);
    ab_counters_read(engine, db, &result->after);
    result->io_read_bytes = io_r0 >= 0 && result->io_read_bytes >= 0 ? result->io_read_bytes - io_r0 : -1;
    result->io_write_bytes = io_w0 >= 0 && result->io_write_bytes >= 0 ? result->io_write_bytes - io_w0 : -1;
    load_data_free(&d);
    if (rc != 0) return -1;
    result_set_call(result, job->key_count, seconds);
    if (verify_all(engine, db, job, &result->verify_seconds) != 0) return -1;
    result->ran = true;
    return 0;
}

/* ---- recover ---- */

typedef struct child_message {
    uint32_t magic;
    double fill_seconds;
} child_message;
#define AB_CHILD_MAGIC 0x52435652u /* "RCVR" */

/* Starts the child: this program with the same arguments and --internal-recover-child. */
static pid_t child_start(const ab_config *config, const char *engine_name, uint32_t job_index, int fd)
{
    char arg[AB_CHILD_ARG_SIZE];
    snprintf(arg, sizeof(arg), "--internal-recover-child=%s,%u,%d", engine_name, job_index, fd);
    char **argv = calloc((size_t)config->argc + 3, sizeof(char *));
    if (argv == NULL) return (pid_t)ab_errorf("out of memory");
    for (int i = 0; i < config->argc; i++) argv[i] = config->argv[i];
    argv[config->argc] = arg;
    argv[config->argc + 1] = (char *)"--no-progress";
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", argv);
        fprintf(stderr, AB_NAME ": recover: exec /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    free(argv);
    if (pid < 0) return (pid_t)ab_errorf("recover: fork: %s", strerror(errno));
    return pid;
}

/* Runs the child and waits for it: 0 with its fill time, or -1. */
static int child_run(const bench_engine *engine, const ab_config *config, uint32_t job_index, double *fill_s)
{
    int fds[2];
    if (pipe(fds) != 0) return ab_errorf("recover: pipe: %s", strerror(errno));
    pid_t pid = child_start(config, engine->name, job_index, fds[1]);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    child_message msg = {0};
    size_t got = 0;
    while (got < sizeof(msg)) { /* bounded: EOF once the child has exited */
        ssize_t n = read(fds[0], (char *)&msg + got, sizeof(msg) - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (got != sizeof(msg) || msg.magic != AB_CHILD_MAGIC)
        return ab_errorf("recover: the child process that fills %s failed (%s %d)", engine->name,
                         WIFSIGNALED(status) ? "signal" : "exit status",
                         WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return ab_errorf("recover: the child process ended with status %d after its fill", status);
    *fill_s = msg.fill_seconds;
    return 0;
}

/* The counters before the open: 0 for every counter the engine knows after it (a fresh
 * handle's counters start at 0), so the report gives what the open itself did. */
static void counters_zero_like(const ab_counters *after, ab_counters *before)
{
    *before = *after;
    double *fields[] = {&before->device_read_count, &before->device_write_count, &before->cache_hit_count,
                        &before->cache_miss_count, &before->commit_count, &before->sync_count,
                        &before->write_size, &before->log_replay_size, &before->log_replay_ns};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (*fields[i] >= 0) *fields[i] = 0;
    for (uint32_t i = 0; i < before->stat_count; i++)
        if (!before->stat_level[i] && before->stats[i] >= 0) before->stats[i] = 0;
}

int ab_run_recover(const bench_engine *engine, const ab_config *config, uint32_t job_index, const char *dir,
                   void **db, ab_result *result)
{
    const ab_job *job = &config->jobs[job_index];
    AB_ASSERT(job->rw == AB_RW_RECOVER && *db != NULL);
    if (!engine->can_recover) {
        fprintf(stderr, AB_NAME ": %s cannot reopen a database; job %s skipped\n", engine->name, job->name);
        return 0;
    }
    int rc = engine->close(*db);
    *db = NULL;
    if (rc != 0 || ab_remove_tree(dir) != 0) return -1;
    if (mkdir(dir, 0755) != 0) return ab_errorf("mkdir %s: %s", dir, strerror(errno));
    if (child_run(engine, config, job_index, &result->fill_seconds) != 0) return -1;
    uint64_t log_size = 0;
    result->log_file_size = -1;
    if (engine->log_suffix != NULL) {
        if (ab_dir_files_size(dir, engine->log_prefix, engine->log_suffix, &log_size, &result->log_file_count) != 0)
            return -1;
        result->log_file_size = (double)log_size;
    }
    double io_r0 = 0, io_w0 = 0;
    ab_proc_io(&io_r0, &io_w0);
    uint64_t t0 = ab_now_ns();
    rc = engine->open(job, dir, db);
    double seconds = (double)(ab_now_ns() - t0) / 1e9;
    if (rc != 0) {
        *db = NULL;
        return -1;
    }
    ab_proc_io(&result->io_read_bytes, &result->io_write_bytes);
    ab_counters_read(engine, *db, &result->after);
    counters_zero_like(&result->after, &result->before);
    result->io_read_bytes = io_r0 >= 0 && result->io_read_bytes >= 0 ? result->io_read_bytes - io_r0 : -1;
    result->io_write_bytes = io_w0 >= 0 && result->io_write_bytes >= 0 ? result->io_write_bytes - io_w0 : -1;
    result->replay_size = result->after.log_replay_size;
    result->replay_seconds = result->after.log_replay_ns >= 0 ? result->after.log_replay_ns / 1e9 : -1;
    result_set_call(result, job->key_count, seconds);
    if (verify_all(engine, *db, job, &result->verify_seconds) != 0) return -1;
    result->ran = true;
    return 0;
}

int ab_recover_child_main(const bench_engine *engine, const ab_config *config)
{
    if (config->recover_child_job >= config->job_count ||
        config->jobs[config->recover_child_job].rw != AB_RW_RECOVER)
        return ab_errorf("--internal-recover-child: job %u is not a recover job", config->recover_child_job);
    ab_job fill = config->jobs[config->recover_child_job];
    fill.rw = AB_RW_FILLRANDOM; /* every key once, in a random order, with the job's sync */
    fill.runtime_ns = fill.ramp_ns = 0;
    fill.time_based = false;
    char dir[AB_PATH_SIZE_MAX + AB_NAME_SIZE_MAX + 2];
    snprintf(dir, sizeof(dir), "%s/%s", fill.directory, engine->name);
    void *db = NULL;
    if (engine->open(&fill, dir, &db) != 0) return -1;
    ab_inserts inserts = {0};
    uint64_t origin_ns = 0;
    ab_result r = {.job = &fill};
    int rc = ab_run_group(engine, db, &fill, 1, &inserts, &origin_ns, &r);
    if (rc == 0 && r.item_count != fill.key_count)
        rc = ab_errorf("recover: the child wrote %" PRIu64 " of %" PRIu64 " keys", r.item_count, fill.key_count);
    if (rc == 0 && engine->flush != NULL) rc = engine->flush(db);
    child_message msg = {.magic = AB_CHILD_MAGIC, .fill_seconds = r.seconds};
    ab_result_free(&r);
    if (rc != 0) return -1;
    if (write(config->recover_child_fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
        return ab_errorf("recover: write to the parent: %s", strerror(errno));
    _exit(0); /* the crash: nothing is closed, nothing flushed beyond what flush did */
}
