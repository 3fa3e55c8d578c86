/*
 * main.c: alexdb-wal-bench, the write-ahead log's benchmark (wal/README.md reports its
 * figures). Two phases:
 *
 *   1. Group commit, and the device under it. Each round first measures the device:
 *      one thread writes a 4 KiB block at the next offset of a preallocated file and
 *      fdatasyncs it, in a loop, through the same pager file layer and backend (what
 *      one group costs at best: the bound for one committer, and for any thread count
 *      the rate of groups), and the same again as one pager_file_write_durable (the write
 *      a group makes). Then, for each thread count T, T threads loop { wal_append one record of
 *      --record-size payload bytes; wal_sync_to its LSN } for --seconds, on a fresh log.
 *      Reported: durable commits per second, p50 / p99 latency of append + sync,
 *      commits per group (wal_sync_to calls that waited / write + fdatasync pairs), the
 *      rate over the same round's device rate (the figure to compare between runs on a
 *      drifting disk), and context switches and CPU time per commit (getrusage).
 *      Rounds alternate device and log measurements, since this machine's disk drifts
 *      a lot between minutes; the round with the median rate is reported for each.
 *   2. Replay. A log of --replay-size bytes of such records is written with appends
 *      nobody waits for (made durable by wal_close), then wal_open replays it into a
 *      callback that does nothing, --rounds times: MB/s of log replayed (framed bytes),
 *      median. Target (issue 4): at least 200 MB/s.
 *
 * The first line of the output is the exact command, every default spelt out. Exit
 * status: 0 when the run completed (timing is reported, not asserted), 1 on an error,
 * 2 on a bad option. Entry point: main().
 */
#include "bench_common.h"
#include "wal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define BENCH_NAME "alexdb-wal-bench"
#define THREAD_COUNT_MAX 256u
#define THREAD_LIST_MAX 8u
#define ROUND_COUNT_MAX 16u
#define RECORD_SIZE_MAX 65536u

typedef struct options {
    char dir[512];
    uint32_t threads[THREAD_LIST_MAX];
    uint32_t thread_list_count;
    double seconds;
    uint32_t rounds;
    uint32_t record_size;
    uint64_t replay_size;
    uint64_t segment_size;
    pager_backend backend;
} options;

static int fail(const char *what, int rc)
{
    fprintf(stderr, BENCH_NAME ": error: %s: %s (%s)\n", what, alexdb_strerror(rc), alexdb_errmsg());
    return 1;
}

/* ---- Options ----------------------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " BENCH_NAME " [--key=value ...]\n"
            "  --dir=PATH            directory for the log (/tmp/alexdb-wal-bench)\n"
            "  --threads=T,T,...     committer thread counts, each 1..%u (1,8,32)\n"
            "  --seconds=S           seconds per group-commit measurement (5)\n"
            "  --rounds=N            rounds per thread count and of replay; medians (3)\n"
            "  --record-size=N       payload bytes per record (100)\n"
            "  --replay-size=SIZE    log bytes written for the replay phase, k/m/g (1g; 0: skip)\n"
            "  --segment-size=SIZE   wal_config.segment_size (64m)\n"
            "  --backend=auto|uring|posix  I/O backend (auto)\n",
            THREAD_COUNT_MAX);
}

static int parse_threads(const char *text, options *opt)
{
    if (text == NULL || *text == '\0') return -1;
    opt->thread_list_count = 0;
    for (const char *p = text;;) {
        char *end = NULL;
        unsigned long value = strtoul(p, &end, 10);
        if (end == p || value == 0 || value > THREAD_COUNT_MAX) return -1;
        if (opt->thread_list_count == THREAD_LIST_MAX) return -1;
        opt->threads[opt->thread_list_count++] = (uint32_t)value;
        if (*end == '\0') return 0;
        if (*end != ',') return -1;
        p = end + 1;
    }
}

static int parse_option(const char *key, const char *value, options *opt)
{
    uint64_t n = 0;
    if (value == NULL) return -1;
    if (strcmp(key, "dir") == 0) {
        if (*value == '\0' || strlen(value) >= sizeof(opt->dir)) return -1;
        snprintf(opt->dir, sizeof(opt->dir), "%s", value);
        return 0;
    }
    if (strcmp(key, "threads") == 0) return parse_threads(value, opt);
    if (strcmp(key, "replay-size") == 0) return bench_parse_scaled(value, 1024, &opt->replay_size);
    if (strcmp(key, "segment-size") == 0) return bench_parse_scaled(value, 1024, &opt->segment_size);
    if (strcmp(key, "rounds") == 0 || strcmp(key, "record-size") == 0) {
        if (bench_parse_scaled(value, 1024, &n) != 0 || n == 0) return -1;
        if (key[1] == 'o' && n > ROUND_COUNT_MAX) return -1;
        if (key[1] == 'e' && n > RECORD_SIZE_MAX) return -1;
        *(key[1] == 'o' ? &opt->rounds : &opt->record_size) = (uint32_t)n;
        return 0;
    }
    if (strcmp(key, "seconds") == 0) {
        char *end = NULL;
        double s = strtod(value, &end);
        if (end == value || *end != '\0' || !(s > 0.0) || s > 3600.0) return -1;
        opt->seconds = s;
        return 0;
    }
    if (strcmp(key, "backend") == 0) {
        if (strcmp(value, "auto") == 0) opt->backend = PAGER_BACKEND_AUTO;
        else if (strcmp(value, "uring") == 0) opt->backend = PAGER_BACKEND_URING;
        else if (strcmp(value, "posix") == 0) opt->backend = PAGER_BACKEND_POSIX;
        else return -1;
        return 0;
    }
    return -1;
}

/* Returns 0 to run, 1 after --help, 2 on a usage error (the exit code). */
static int parse_args(int argc, char **argv, options *opt)
{
    memset(opt, 0, sizeof(*opt));
    snprintf(opt->dir, sizeof(opt->dir), "/tmp/alexdb-wal-bench");
    opt->threads[0] = 1;
    opt->threads[1] = 8;
    opt->threads[2] = 32;
    opt->thread_list_count = 3;
    opt->seconds = 5.0;
    opt->rounds = 3;
    opt->record_size = 100;
    opt->replay_size = 1ull << 30;
    opt->segment_size = WAL_SEGMENT_SIZE_DEFAULT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        char key[32];
        const char *eq = strchr(argv[i], '=');
        size_t key_size = eq != NULL ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        bool ok = strncmp(argv[i], "--", 2) == 0 && key_size > 2 && key_size - 2 < sizeof(key);
        if (ok) {
            memcpy(key, argv[i] + 2, key_size - 2);
            key[key_size - 2] = '\0';
            ok = parse_option(key, eq != NULL ? eq + 1 : NULL, opt) == 0;
        }
        if (!ok) {
            fprintf(stderr, BENCH_NAME ": bad option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

static const char *backend_option(pager_backend backend)
{
    return backend == PAGER_BACKEND_URING ? "uring" : backend == PAGER_BACKEND_POSIX ? "posix" : "auto";
}

static void print_command(const options *opt)
{
    printf(BENCH_NAME " --dir=%s --threads=", opt->dir);
    for (uint32_t i = 0; i < opt->thread_list_count; i++) printf("%s%u", i ? "," : "", opt->threads[i]);
    printf(" --seconds=%g --rounds=%u --record-size=%u --replay-size=%" PRIu64
           " --segment-size=%" PRIu64 " --backend=%s\n",
           opt->seconds, opt->rounds, opt->record_size, opt->replay_size, opt->segment_size,
           backend_option(opt->backend));
    struct utsname u;
    if (uname(&u) == 0) printf("kernel %s %s, %ld CPUs\n", u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN));
}

/* ---- The log directory ----------------------------------------------------------------- */

/* Removes the log's segments (and only those) from the bench directory. */
static int clear_dir(const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, BENCH_NAME ": error: mkdir %s: %s\n", dir, strerror(errno));
        return 1;
    }
    DIR *d = opendir(dir);
    if (d == NULL) return 1;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "wal-", 4) != 0) continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return 0;
}

static wal_config make_config(const options *opt)
{
    wal_config config;
    memset(&config, 0, sizeof(config));
    config.env.backend = opt->backend;
    config.db_id = 0xbe7c4;
    config.segment_size = opt->segment_size;
    return config;
}

/* ---- Phase 1: group commit ----------------------------------------------------------------- */

typedef struct committer {
    bench_thread base; /* first: bench_threads_run() starts and stops it */
    wal *w;
    uint32_t record_size;
    uint64_t op_count;
    latency_hist *hist;
    int rc;
} committer;

static void *committer_main(void *arg)
{
    committer *c = arg;
    uint8_t payload[RECORD_SIZE_MAX];
    for (uint32_t i = 0; i < c->record_size; i++) payload[i] = (uint8_t)(i * 13 + (uintptr_t)c);
    wal_part part = {.data = payload, .size = c->record_size};
    bench_gate_arrive_and_wait(c->base.start);
    while (!atomic_load_explicit(c->base.stop, memory_order_relaxed) && c->rc == ALEXDB_OK) {
        uint64_t t0 = common_now_ns();
        uint64_t lsn = 0;
        c->rc = wal_append(c->w, 1, &part, 1, &lsn);
        if (c->rc == ALEXDB_OK) c->rc = wal_sync_to(c->w, lsn);
        latency_hist_add(c->hist, common_now_ns() - t0);
        c->op_count++;
    }
    return NULL;
}

typedef struct round_result {
    double ops_per_second;
    double p50_us, p99_us;
    double commits_per_group;
    double groups_per_second;
    double syncs_per_second;
    double device_ratio;       /* ops/s over the same round's device row (write + fdatasync) */
    double switches_per_op;    /* context switches (voluntary + involuntary) per commit */
    double cpu_us_per_op;      /* user + system CPU per commit */
} round_result;

/* The process's context switches and CPU time so far. */
typedef struct usage {
    uint64_t switch_count;
    uint64_t cpu_us;
} cpu_mark;

static cpu_mark cpu_mark_now(void)
{
    struct rusage ru;
    ALEXDB_ASSERT(getrusage(RUSAGE_SELF, &ru) == 0);
    return (cpu_mark){.switch_count = (uint64_t)(ru.ru_nvcsw + ru.ru_nivcsw),
                   .cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
                             (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)};
}

static void cpu_per_op(cpu_mark start, uint64_t op_count, round_result *out)
{
    cpu_mark end = cpu_mark_now();
    double ops = op_count == 0 ? 1.0 : (double)op_count;
    out->switches_per_op = (double)(end.switch_count - start.switch_count) / ops;
    out->cpu_us_per_op = (double)(end.cpu_us - start.cpu_us) / ops;
}

typedef struct meter {
    wal *w;
    uint64_t start_ns;
    wal_stats stats;
    cpu_mark cpu;
} meter;

static void start_meter(void *arg)
{
    meter *m = arg;
    wal_stats_get(m->w, &m->stats);
    m->cpu = cpu_mark_now();
    m->start_ns = common_now_ns();
}

static int commit_round(const options *opt, uint32_t thread_count, round_result *out)
{
    if (clear_dir(opt->dir) != 0) return 1;
    wal_config config = make_config(opt);
    wal *w = NULL;
    int rc = wal_open(opt->dir, &config, 0, NULL, NULL, &w);
    if (rc != ALEXDB_OK) return fail("wal_open", rc);
    committer *cs = calloc(thread_count, sizeof(*cs));
    latency_hist *all = calloc(1, sizeof(*all));
    if (cs == NULL || all == NULL) return fail("calloc", ALEXDB_NOMEM);
    for (uint32_t i = 0; i < thread_count; i++) {
        cs[i] = (committer){.w = w, .record_size = opt->record_size, .hist = calloc(1, sizeof(latency_hist))};
        if (cs[i].hist == NULL) return fail("calloc", ALEXDB_NOMEM);
    }
    meter m = {.w = w};
    uint32_t created = 0;
    int err = bench_threads_run(cs, sizeof(*cs), thread_count, committer_main,
                                (uint64_t)(opt->seconds * 1e9), start_meter, &m, &created);
    uint64_t elapsed_ns = common_now_ns() - m.start_ns;
    round_result used = {0};
    wal_stats end;
    wal_stats_get(w, &end);
    uint64_t op_count = 0;
    int thread_rc = ALEXDB_OK;
    for (uint32_t i = 0; i < created; i++) {
        op_count += cs[i].op_count;
        if (cs[i].rc != ALEXDB_OK) thread_rc = cs[i].rc;
        latency_hist_merge(all, cs[i].hist);
        free(cs[i].hist);
    }
    rc = wal_close(w);
    if (err != 0) return fail("pthread_create", ALEXDB_NOMEM);
    if (thread_rc != ALEXDB_OK) return fail("append + sync_to", thread_rc);
    if (rc != ALEXDB_OK) return fail("wal_close", rc);
    double seconds = (double)elapsed_ns / 1e9;
    uint64_t groups = end.group_count - m.stats.group_count;
    cpu_per_op(m.cpu, op_count, &used);
    out->switches_per_op = used.switches_per_op;
    out->cpu_us_per_op = used.cpu_us_per_op;
    out->ops_per_second = (double)op_count / seconds;
    out->p50_us = latency_hist_percentile_us(all, 0.50);
    out->p99_us = latency_hist_percentile_us(all, 0.99);
    out->commits_per_group =
        groups == 0 ? 0.0 : (double)(end.commit_count - m.stats.commit_count) / (double)groups;
    out->groups_per_second = (double)groups / seconds;
    out->syncs_per_second = (double)(end.sync_count - m.stats.sync_count) / seconds;
    free(all);
    free(cs);
    return 0;
}

/*
 * The device: 4 KiB write + fdatasync, one after another, one thread; with durable, the
 * same through pager_file_write_durable (one round trip where the backend can).
 */
static int device_round(const options *opt, bool durable, round_result *out)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/device-baseline", opt->dir);
    pager_env env = {.backend = opt->backend};
    pager_file *file = NULL;
    const uint64_t file_size = 64u << 20;
    int rc = pager_file_open(&env, path, PAGER_OPEN_CREATE, &file);
    if (rc == ALEXDB_OK) rc = pager_file_zero_extend(file, 0, file_size);
    if (rc == ALEXDB_OK) rc = pager_file_sync(file);
    uint8_t *block = NULL;
    if (rc == ALEXDB_OK && posix_memalign((void **)&block, PAGER_PAGE_SIZE, PAGER_PAGE_SIZE) != 0) {
        rc = ALEXDB_NOMEM;
    }
    latency_hist *hist = calloc(1, sizeof(*hist));
    if (hist == NULL) rc = ALEXDB_NOMEM;
    uint64_t op_count = 0;
    cpu_mark start_cpu = cpu_mark_now();
    uint64_t start_ns = common_now_ns();
    uint64_t end_ns = start_ns + (uint64_t)(opt->seconds * 1e9);
    for (uint64_t now = start_ns; rc == ALEXDB_OK && now < end_ns; op_count++) {
        memset(block, (int)op_count, PAGER_PAGE_SIZE);
        pager_io_req req = {.buf = block, .offset = op_count * PAGER_PAGE_SIZE % file_size,
                            .size = PAGER_PAGE_SIZE, .op = PAGER_IO_WRITE};
        if (durable) {
            rc = pager_file_write_durable(file, &req);
        } else {
            rc = pager_file_rw(file, &req, 1);
            if (rc == ALEXDB_OK) rc = pager_file_sync(file);
        }
        uint64_t t = common_now_ns();
        latency_hist_add(hist, t - now);
        now = t;
    }
    double seconds = (double)(common_now_ns() - start_ns) / 1e9;
    pager_file_close(file);
    unlink(path);
    free(block);
    if (rc != ALEXDB_OK) {
        free(hist);
        return fail("device write + fdatasync", rc);
    }
    *out = (round_result){.ops_per_second = (double)op_count / seconds,
                          .p50_us = latency_hist_percentile_us(hist, 0.50),
                          .p99_us = latency_hist_percentile_us(hist, 0.99),
                          .commits_per_group = 1.0,
                          .groups_per_second = (double)op_count / seconds,
                          .syncs_per_second = (double)op_count / seconds};
    cpu_per_op(start_cpu, op_count, out);
    free(hist);
    return 0;
}

static int compare_rate(const void *a, const void *b)
{
    double x = ((const round_result *)a)->ops_per_second;
    double y = ((const round_result *)b)->ops_per_second;
    return (x > y) - (x < y);
}

static void print_row(const char *name, round_result *rounds, uint32_t count)
{
    char list[256] = "";
    for (uint32_t r = 0; r < count; r++) {
        char rate[16];
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%s%s", r ? " " : "",
                 bench_format_rate(rounds[r].ops_per_second, rate, sizeof(rate)));
    }
    qsort(rounds, count, sizeof(rounds[0]), compare_rate);
    const round_result *med = &rounds[count / 2];
    char rate[16];
    double ratios[ROUND_COUNT_MAX];
    for (uint32_t r = 0; r < count; r++) ratios[r] = rounds[r].device_ratio;
    printf("%-8s %10s %9.1f %9.1f %14.2f %9.0f %9.0f %7.2f %8.2f %8.1f   %s\n", name,
           bench_format_rate(med->ops_per_second, rate, sizeof(rate)), med->p50_us, med->p99_us,
           med->commits_per_group, med->groups_per_second, med->syncs_per_second,
           bench_median(ratios, count), med->switches_per_op, med->cpu_us_per_op, list);
}

static int phase_commit(const options *opt)
{
    printf("\ngroup commit: wal_append + wal_sync_to of %u-byte records, %g s per measurement, "
           "%u rounds (the median round; every round listed)\n", opt->record_size, opt->seconds,
           opt->rounds);
    static round_result device[ROUND_COUNT_MAX];
    static round_result durable[ROUND_COUNT_MAX];
    static round_result log[THREAD_LIST_MAX][ROUND_COUNT_MAX];
    for (uint32_t r = 0; r < opt->rounds; r++) {
        if (clear_dir(opt->dir) != 0 || device_round(opt, false, &device[r]) != 0) return 1;
        if (device_round(opt, true, &durable[r]) != 0) return 1;
        double device_rate = device[r].ops_per_second;
        device[r].device_ratio = 1.0;
        durable[r].device_ratio = durable[r].ops_per_second / device_rate;
        for (uint32_t t = 0; t < opt->thread_list_count; t++) {
            if (commit_round(opt, opt->threads[t], &log[t][r]) != 0) return 1;
            log[t][r].device_ratio = log[t][r].ops_per_second / device_rate;
        }
        fprintf(stderr, "round %u of %u done\n", r + 1, opt->rounds);
    }
    printf("%-8s %10s %9s %9s %14s %9s %9s %7s %8s %8s   rounds (ops/s)\n", "threads", "ops/s",
           "p50 us", "p99 us", "commits/group", "groups/s", "syncs/s", "/device", "cs/op",
           "cpu us/op");
    print_row("device", device, opt->rounds);
    print_row("durable", durable, opt->rounds);
    for (uint32_t t = 0; t < opt->thread_list_count; t++) {
        char name[16];
        snprintf(name, sizeof(name), "%u", opt->threads[t]);
        print_row(name, log[t], opt->rounds);
    }
    printf("(device: one thread, 4 KiB write + fdatasync in a loop, the cost of one group;\n"
           " durable: the same as one pager_file_write_durable; /device: median over rounds of\n"
           " ops/s over that round's device rate; cs/op, cpu us/op: the whole process's context\n"
           " switches and CPU time per commit)\n");
    fflush(stdout);
    return 0;
}

/* ---- Phase 2: replay ----------------------------------------------------------------------- */

static int replay_nothing(void *ctx, uint64_t lsn, uint8_t type, const uint8_t *payload, uint32_t size)
{
    (void)lsn;
    (void)type;
    (void)payload;
    (void)size;
    (*(uint64_t *)ctx)++;
    return ALEXDB_OK;
}

static int phase_replay(const options *opt)
{
    if (opt->replay_size == 0) return 0;
    if (clear_dir(opt->dir) != 0) return 1;
    wal_config config = make_config(opt);
    wal *w = NULL;
    int rc = wal_open(opt->dir, &config, 0, NULL, NULL, &w);
    if (rc != ALEXDB_OK) return fail("wal_open", rc);
    uint8_t *payload = calloc(1, opt->record_size);
    if (payload == NULL) return fail("calloc", ALEXDB_NOMEM);
    wal_part part = {.data = payload, .size = opt->record_size};
    uint64_t t0 = common_now_ns();
    wal_stats stats = {0};
    /* Bounded by the size asked for: each append adds at least 32 framed bytes. */
    for (uint64_t i = 0; stats.append_bytes < opt->replay_size && rc == ALEXDB_OK; i++) {
        common_store_u64le(payload, i);
        uint64_t lsn = 0;
        rc = wal_append(w, 1, &part, 1, &lsn);
        if ((i & 4095) == 0) wal_stats_get(w, &stats);
    }
    if (rc == ALEXDB_OK) rc = wal_close(w);
    if (rc != ALEXDB_OK) return fail("writing the log", rc);
    double write_seconds = (double)(common_now_ns() - t0) / 1e9;
    printf("\nreplay: a log of %.0f MiB of %u-byte records, written without waiting in %.2f s "
           "(%.0f MB/s, durable at close)\n", (double)stats.append_bytes / 1048576.0,
           opt->record_size, write_seconds, (double)stats.append_bytes / write_seconds / 1e6);
    double rates[ROUND_COUNT_MAX];
    for (uint32_t r = 0; r < opt->rounds; r++) {
        uint64_t count = 0;
        uint64_t start_ns = common_now_ns();
        rc = wal_open(opt->dir, &config, 0, replay_nothing, &count, &w);
        double seconds = (double)(common_now_ns() - start_ns) / 1e9;
        if (rc != ALEXDB_OK) return fail("wal_open (replay)", rc);
        wal_stats_get(w, &stats);
        rc = wal_close(w);
        if (rc != ALEXDB_OK) return fail("wal_close", rc);
        rates[r] = (double)stats.replay_bytes / seconds / 1e6;
        printf("  round %u: %" PRIu64 " records, %.0f MiB in %.3f s: %.0f MB/s, %.2f M records/s\n",
               r + 1, count, (double)stats.replay_bytes / 1048576.0, seconds, rates[r],
               (double)count / seconds / 1e6);
    }
    printf("replay: median %.0f MB/s (target >= 200 MB/s)\n", bench_median(rates, opt->rounds));
    free(payload);
    return clear_dir(opt->dir);
}

int main(int argc, char **argv)
{
    options opt;
    int rc = parse_args(argc, argv, &opt);
    if (rc != 0) return rc == 1 ? 0 : 2;
    print_command(&opt);
    fflush(stdout);
    if (phase_commit(&opt) != 0) return 1;
    if (phase_replay(&opt) != 0) return 1;
    return clear_dir(opt.dir);
}
