/*
 * pager_bench_main.c: alexdb-pager-bench, the buffer pool's micro-benchmark and, for
 * now, the project's main job (scripts/run).
 *
 * Phase 1 builds a page file through the pager (pager_extend, pager_write_pages in
 * 1 MiB runs, pager_flush, a superblock commit), reopens it cold and reads a sample
 * back with pager_pin, checking every body byte: a mismatch is an error exit.
 * Phase 2 measures uniformly random 4 KiB reads at each queue depth D three ways:
 *   raw             our own O_DIRECT descriptor and io_uring ring: D reads in one
 *                   submission, wait for all D, repeat (the pattern the pager gets);
 *   pager           the same loop through pager_pin_many() + pager_unpin();
 *   raw-continuous  D reads kept in flight, refilled as they complete (what fio
 *                   measures): the device's own limit, for scale only.
 * Raw and pager alternate within each round (ABBA order) and medians are compared,
 * since this machine drifts between runs. Target: pager >= 90 % of raw at every depth.
 *
 * Entry point: main(). How to run it and what each figure means: bench/README.md.
 * This program is the comparator, not the engine, so it includes <liburing.h> itself.
 */
#include "pager.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "alexdb-pager-bench"
#define BENCH_FILE_NAME "pager-bench.alexdb"
#define BENCH_PATH_SIZE_MAX 4096u
#define BENCH_DEPTH_COUNT_MAX 16u
#define BENCH_DEPTH_MAX PAGER_PIN_BATCH_MAX
#define BENCH_ROUND_COUNT_MAX 15u
#define BENCH_RESERVED_PAGE_COUNT 2u /* the superblocks: never read by the benchmark */
#define BENCH_RUN_PAGE_COUNT PAGER_WRITE_RUN_PAGES_MAX /* 1 MiB per pager_write_pages */
#define BENCH_EXTEND_PAGE_COUNT_MAX (1u << 18)
#define BENCH_FILE_SIZE_MAX (1ULL << 42)
#define BENCH_SECONDS_MAX 3600.0
#define BENCH_RETRY_MAX 16u /* EAGAIN/EINTR completions resubmitted per measurement */
#define BENCH_TARGET_RATIO 0.90
#define BENCH_VERIFY_PAGE_COUNT_DEFAULT 4096u
#define BENCH_VERIFY_SALT 0x7665726966790000ULL
#define BENCH_PATTERN_PAGE_MUL 0x9e3779b97f4a7c15ULL
#define BENCH_PATTERN_WORD_MUL 0xd1b54a32d192ed03ULL
#define BENCH_THREAD_RING_ENTRIES 4u

_Static_assert(PAGER_BODY_SIZE % 8 == 0, "the body pattern is whole 64-bit words");
_Static_assert(BENCH_DEPTH_MAX <= PAGER_PIN_BATCH_MAX, "a batch is one pager_pin_many");

/* ---- Latency histogram: log-linear, 64 sub-buckets per power of two (~1.5 %) ---- */

#define HIST_SUB_BITS 6u
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_EXP_MAX 40u /* 2^41 ns (~37 min): anything longer is clamped */
#define HIST_BUCKET_COUNT ((HIST_EXP_MAX - HIST_SUB_BITS + 2u) * HIST_SUB_COUNT)

typedef struct latency_hist {
    uint64_t counts[HIST_BUCKET_COUNT];
    uint64_t total;
} latency_hist;

static uint32_t hist_index(uint64_t ns)
{
    if (ns < HIST_SUB_COUNT) return (uint32_t)ns;
    uint32_t exp = 63u - (uint32_t)__builtin_clzll(ns);
    if (exp > HIST_EXP_MAX) return HIST_BUCKET_COUNT - 1u;
    uint32_t sub = (uint32_t)(ns >> (exp - HIST_SUB_BITS)) - HIST_SUB_COUNT;
    uint32_t index = (exp - HIST_SUB_BITS + 1u) * HIST_SUB_COUNT + sub;
    ALEXDB_ASSERT(index < HIST_BUCKET_COUNT);
    return index;
}

/* The middle of bucket index, in ns. */
static double hist_bucket_ns(uint32_t index)
{
    if (index < HIST_SUB_COUNT) return (double)index;
    uint32_t exp = index / HIST_SUB_COUNT + HIST_SUB_BITS - 1u;
    uint64_t width = 1ULL << (exp - HIST_SUB_BITS);
    uint64_t low = (uint64_t)(HIST_SUB_COUNT + index % HIST_SUB_COUNT) << (exp - HIST_SUB_BITS);
    return (double)low + (double)width / 2.0;
}

static void hist_add(latency_hist *hist, uint64_t ns)
{
    hist->counts[hist_index(ns)]++;
    hist->total++;
}

static void hist_merge(latency_hist *into, const latency_hist *from)
{
    for (uint32_t i = 0; i < HIST_BUCKET_COUNT; i++) into->counts[i] += from->counts[i];
    into->total += from->total;
}

static double hist_percentile_us(const latency_hist *hist, double quantile)
{
    if (hist->total == 0) return 0.0;
    uint64_t target = (uint64_t)(quantile * (double)hist->total + 0.999999);
    if (target == 0) target = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < HIST_BUCKET_COUNT; i++) {
        seen += hist->counts[i];
        if (seen >= target) return hist_bucket_ns(i) / 1000.0;
    }
    return hist_bucket_ns(HIST_BUCKET_COUNT - 1u) / 1000.0;
}

/* ---- Options, results, the run's state ----------------------------------------- */

typedef enum bench_mode { BENCH_MODE_BATCH = 0, BENCH_MODE_THREADS = 1 } bench_mode;

typedef struct bench_options {
    char dir[BENCH_PATH_SIZE_MAX / 2];
    uint64_t file_size;
    uint64_t cache_size;
    uint32_t depths[BENCH_DEPTH_COUNT_MAX];
    uint32_t depth_count;
    double seconds;
    uint64_t seed;
    pager_backend backend;
    uint32_t round_count;
    bench_mode mode;
    uint64_t verify_page_count;
    bool keep;
    bool json;
} bench_options;

typedef enum bench_kind {
    KIND_RAW = 0,
    KIND_PAGER = 1,
    KIND_CONTINUOUS = 2,
    KIND_COUNT = 3
} bench_kind;

static const char *const kind_names[KIND_COUNT] = {"raw", "pager", "raw-continuous"};

/* One timed measurement: pages read, wall and CPU time, the pager's hits and misses. */
typedef struct measurement {
    uint64_t page_count;
    uint64_t elapsed_ns;
    uint64_t cpu_ns;
    uint64_t hit_count;
    uint64_t miss_count;
} measurement;

typedef struct depth_result {
    uint32_t depth;
    measurement rounds[KIND_COUNT][BENCH_ROUND_COUNT_MAX];
    latency_hist hist[KIND_COUNT];
} depth_result;

typedef struct create_result {
    uint64_t page_count;
    double extend_s;
    double write_s;
    double write_in_pager_s;
    double flush_s;
    pager_io_stats io;
    uint64_t verified_page_count;
    double verify_s;
} create_result;

typedef struct bench {
    bench_options opt;
    FILE *out; /* stdout, or stderr when --json owns stdout */
    char path[BENCH_PATH_SIZE_MAX];
    uint64_t page_count; /* pages in the file, superblocks included */
    pager *pg;
    int raw_fd;
    bool raw_uring; /* raw uses io_uring iff the pager does; else pread */
    struct io_uring ring;
    bool ring_ready;
    unsigned ring_flags;
    uint8_t *raw_bufs; /* BENCH_DEPTH_MAX pages, 4 KiB-aligned */
    create_result create;
    depth_result results[BENCH_DEPTH_COUNT_MAX];
    uint64_t start_ns;
} bench;

/* ---- Errors --------------------------------------------------------------------- */

static int bench_fail(const char *what, int rc)
{
    ALEXDB_ASSERT(rc != ALEXDB_OK);
    fprintf(stderr, BENCH_NAME ": error: %s: %s (%s)\n", what, alexdb_strerror(rc),
            alexdb_errmsg());
    return rc;
}

static int bench_errorf(int rc, const char *fmt, ...) COMMON_PRINTF(2, 3);

static int bench_errorf(int rc, const char *fmt, ...)
{
    ALEXDB_ASSERT(rc != ALEXDB_OK);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, BENCH_NAME ": error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return rc;
}

/* ---- Option parsing ------------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " BENCH_NAME " [--key=value ...]\n"
            "  --dir=PATH          directory for the page file (/tmp/alexdb-pager-bench)\n"
            "  --file-size=SIZE    page file size, suffix k/m/g/t (1g)\n"
            "  --cache=SIZE        pager cache size (16m)\n"
            "  --depths=D,D,...    queue depths, each 1..%u (1,16,32)\n"
            "  --seconds=S         seconds per measurement (5)\n"
            "  --rounds=N          raw/pager alternations per depth, medians reported (3)\n"
            "  --mode=batch|threads  batch: one thread, D reads per submission;\n"
            "                      threads: D threads at depth 1 each (batch)\n"
            "  --backend=auto|uring|posix  the pager's I/O backend (auto)\n"
            "  --seed=N            PRNG seed; the same seed draws the same pages (1)\n"
            "  --verify-pages=N    pages read back and checked after create (%u)\n"
            "  --keep              leave the page file in place\n"
            "  --json              JSON on stdout; the human report goes to stderr\n",
            BENCH_DEPTH_MAX, BENCH_VERIFY_PAGE_COUNT_DEFAULT);
}

static int parse_u64(const char *text, uint64_t *value_out)
{
    if (text == NULL || *text == '\0' || *text == '-') return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 0);
    if (errno != 0 || end == text || *end != '\0') return -1;
    *value_out = value;
    return 0;
}

static int parse_size(const char *text, uint64_t *size_out)
{
    if (text == NULL || *text == '\0' || *text == '-') return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text) return -1;
    static const char suffixes[] = "kmgt"; /* fio's: 1k = 1024 */
    unsigned shift = 0;
    const char *suffix = *end != '\0' ? strchr(suffixes, tolower((unsigned char)*end)) : NULL;
    if (suffix != NULL) {
        shift = 10u * (unsigned)(suffix - suffixes + 1);
        end++;
    }
    if (*end != '\0' || value > (UINT64_MAX >> shift)) return -1;
    *size_out = (uint64_t)value << shift;
    return 0;
}

static int parse_depths(const char *text, bench_options *opt)
{
    if (text == NULL || *text == '\0') return -1;
    opt->depth_count = 0;
    const char *p = text;
    for (;;) {
        char *end = NULL;
        errno = 0;
        unsigned long value = strtoul(p, &end, 10);
        if (errno != 0 || end == p || value == 0 || value > BENCH_DEPTH_MAX) return -1;
        if (opt->depth_count == BENCH_DEPTH_COUNT_MAX) return -1;
        opt->depths[opt->depth_count++] = (uint32_t)value;
        if (*end == '\0') return 0;
        if (*end != ',') return -1;
        p = end + 1;
    }
}

static int parse_bool(const char *value, bool *flag_out)
{
    if (value == NULL || strcmp(value, "1") == 0 || strcmp(value, "true") == 0) {
        *flag_out = true;
    } else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0) {
        *flag_out = false;
    } else {
        return -1;
    }
    return 0;
}

static int parse_choice(const char *key, const char *value, bench_options *opt)
{
    if (value == NULL) return -1;
    if (strcmp(key, "backend") == 0) {
        if (strcmp(value, "auto") == 0) opt->backend = PAGER_BACKEND_AUTO;
        else if (strcmp(value, "uring") == 0) opt->backend = PAGER_BACKEND_URING;
        else if (strcmp(value, "posix") == 0) opt->backend = PAGER_BACKEND_POSIX;
        else return -1;
        return 0;
    }
    if (strcmp(value, "batch") == 0) opt->mode = BENCH_MODE_BATCH;
    else if (strcmp(value, "threads") == 0) opt->mode = BENCH_MODE_THREADS;
    else return -1;
    return 0;
}

/* One --key[=value]. Returns 0, or -1 for an unknown key or a bad value. */
static int parse_option(const char *key, const char *value, bench_options *opt)
{
    uint64_t n = 0;
    if (strcmp(key, "dir") == 0) {
        if (value == NULL || *value == '\0' || strlen(value) >= sizeof(opt->dir)) return -1;
        snprintf(opt->dir, sizeof(opt->dir), "%s", value);
        return 0;
    }
    if (strcmp(key, "file-size") == 0) return parse_size(value, &opt->file_size);
    if (strcmp(key, "cache") == 0) return parse_size(value, &opt->cache_size);
    if (strcmp(key, "depths") == 0) return parse_depths(value, opt);
    if (strcmp(key, "seed") == 0) return parse_u64(value, &opt->seed);
    if (strcmp(key, "verify-pages") == 0) return parse_u64(value, &opt->verify_page_count);
    if (strcmp(key, "backend") == 0 || strcmp(key, "mode") == 0) {
        return parse_choice(key, value, opt);
    }
    if (strcmp(key, "keep") == 0) return parse_bool(value, &opt->keep);
    if (strcmp(key, "json") == 0) return parse_bool(value, &opt->json);
    if (strcmp(key, "rounds") == 0) {
        if (parse_u64(value, &n) != 0 || n == 0 || n > BENCH_ROUND_COUNT_MAX) return -1;
        opt->round_count = (uint32_t)n;
        return 0;
    }
    if (strcmp(key, "seconds") == 0) {
        char *end = NULL;
        if (value == NULL) return -1;
        double s = strtod(value, &end);
        if (end == value || *end != '\0' || !(s > 0.0) || s > BENCH_SECONDS_MAX) return -1;
        opt->seconds = s;
        return 0;
    }
    return -1;
}

static void options_default(bench_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    snprintf(opt->dir, sizeof(opt->dir), "/tmp/alexdb-pager-bench");
    opt->file_size = 1ULL << 30;
    opt->cache_size = 16ULL << 20;
    opt->depths[0] = 1;
    opt->depths[1] = 16;
    opt->depths[2] = 32;
    opt->depth_count = 3;
    opt->seconds = 5.0;
    opt->seed = 1;
    opt->backend = PAGER_BACKEND_AUTO;
    opt->round_count = 3;
    opt->mode = BENCH_MODE_BATCH;
    opt->verify_page_count = BENCH_VERIFY_PAGE_COUNT_DEFAULT;
}

/* Returns 0 to run, 1 after --help, 2 on a usage error (the exit code). */
static int parse_args(int argc, char **argv, bench_options *opt)
{
    options_default(opt);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        char key[32];
        const char *eq = strchr(arg, '=');
        size_t key_size =
            (eq != NULL ? (size_t)(eq - arg) : strlen(arg)) - COMMON_MIN(strlen(arg), 2u);
        bool ok = strncmp(arg, "--", 2) == 0 && key_size > 0 && key_size < sizeof(key);
        if (ok) {
            memcpy(key, arg + 2, key_size);
            key[key_size] = '\0';
            ok = parse_option(key, eq != NULL ? eq + 1 : NULL, opt) == 0;
        }
        if (!ok) {
            fprintf(stderr, BENCH_NAME ": bad option '%s'\n", arg);
            usage(stderr);
            return 2;
        }
    }
    uint64_t data_page_count = opt->file_size / PAGER_PAGE_SIZE;
    if (data_page_count < BENCH_RESERVED_PAGE_COUNT + BENCH_DEPTH_MAX ||
        opt->file_size > BENCH_FILE_SIZE_MAX || opt->cache_size < PAGER_CACHE_SIZE_MIN) {
        fprintf(stderr, BENCH_NAME ": need %u KiB <= --file-size <= 4t and --cache >= %u KiB\n",
                (BENCH_RESERVED_PAGE_COUNT + BENCH_DEPTH_MAX) * PAGER_PAGE_SIZE / 1024,
                PAGER_CACHE_SIZE_MIN / 1024);
        return 2;
    }
    return 0;
}

/* ---- Small helpers -------------------------------------------------------------- */

static const char *backend_option_name(pager_backend backend)
{
    switch (backend) {
    case PAGER_BACKEND_URING: return "uring";
    case PAGER_BACKEND_POSIX: return "posix";
    case PAGER_BACKEND_FAULT: return "fault";
    case PAGER_BACKEND_AUTO: break;
    }
    return "auto";
}

static double seconds_since(uint64_t start_ns)
{
    return (double)(common_now_ns() - start_ns) / 1e9;
}

static uint64_t cpu_now_ns(void)
{
    struct rusage ru;
    ALEXDB_ASSERT(getrusage(RUSAGE_SELF, &ru) == 0);
    uint64_t user_ns =
        (uint64_t)ru.ru_utime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_utime.tv_usec * 1000ULL;
    uint64_t sys_ns =
        (uint64_t)ru.ru_stime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_stime.tv_usec * 1000ULL;
    return user_ns + sys_ns;
}

/* fio's way of writing a rate: 812, 71.2k, 1.05M. */
static const char *format_rate(double rate, char *buf, size_t buf_size)
{
    if (rate >= 1e6) snprintf(buf, buf_size, "%.2fM", rate / 1e6);
    else if (rate >= 1e3) snprintf(buf, buf_size, "%.1fk", rate / 1e3);
    else snprintf(buf, buf_size, "%.0f", rate);
    return buf;
}

static double median(const double *values, uint32_t count)
{
    ALEXDB_ASSERT(count > 0 && count <= BENCH_ROUND_COUNT_MAX);
    double sorted[BENCH_ROUND_COUNT_MAX];
    memcpy(sorted, values, count * sizeof(double));
    for (uint32_t i = 1; i < count; i++) {
        for (uint32_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    }
    return count % 2 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2.0;
}

static double measurement_iops(const measurement *m)
{
    return m->elapsed_ns == 0 ? 0.0 : (double)m->page_count * 1e9 / (double)m->elapsed_ns;
}

/* Every measurement draws its own stream, reproducible from --seed. */
static uint64_t measurement_seed(uint64_t seed, uint32_t depth, uint32_t round, uint32_t kind)
{
    common_rng rng;
    common_rng_seed(&rng, seed ^ ((uint64_t)depth << 40) ^ ((uint64_t)round << 20) ^ kind);
    return common_rng_next(&rng);
}

static uint64_t draw_page_no(const bench *b, common_rng *rng)
{
    return BENCH_RESERVED_PAGE_COUNT +
           common_rng_below(rng, b->page_count - BENCH_RESERVED_PAGE_COUNT);
}

static void bench_log(void *ctx, int level, const char *message)
{
    FILE *to = ctx;
    fprintf(to, "pager %s: %s\n", level == PAGER_LOG_WARN ? "warning" : "info", message);
}

static void bench_config(bench *b, pager_config *config, int create)
{
    pager_config_init(config);
    config->env.backend = b->opt.backend;
    config->env.log = bench_log;
    config->env.log_ctx = b->out;
    config->cache_bytes = (size_t)b->opt.cache_size;
    config->create = create;
}

/* ---- Phase 1: create, reopen, verify -------------------------------------------- */

static uint64_t pattern_word(uint64_t page_no, uint32_t word_index)
{
    /* Odd multipliers are bijections: no two pages share a word at the same index. */
    return (page_no * BENCH_PATTERN_PAGE_MUL) ^
           ((uint64_t)(word_index + 1u) * BENCH_PATTERN_WORD_MUL);
}

static void pattern_fill(uint8_t *page, uint64_t page_no)
{
    pager_page_init(page, PAGER_KIND_RAW);
    for (uint32_t w = 0; w < PAGER_BODY_SIZE / 8u; w++) {
        common_store_u64le(page + PAGER_HEADER_SIZE + 8u * w, pattern_word(page_no, w));
    }
}

/* Returns the index of the first body word that differs, or -1 if the body is right. */
static int32_t pattern_check(const uint8_t *page, uint64_t page_no)
{
    for (uint32_t w = 0; w < PAGER_BODY_SIZE / 8u; w++) {
        if (common_load_u64le(page + PAGER_HEADER_SIZE + 8u * w) != pattern_word(page_no, w)) {
            return (int32_t)w;
        }
    }
    return -1;
}

static int extend_file(bench *b, pager *pg)
{
    uint64_t have = pager_page_count(pg);
    if (have != BENCH_RESERVED_PAGE_COUNT) {
        return bench_errorf(ALEXDB_INVALID, "a new page file has %" PRIu64 " pages, expected %u",
                            have, BENCH_RESERVED_PAGE_COUNT);
    }
    while (have < b->page_count) {
        uint32_t n =
            (uint32_t)COMMON_MIN(b->page_count - have, (uint64_t)BENCH_EXTEND_PAGE_COUNT_MAX);
        uint64_t first = 0;
        int rc = pager_extend(pg, n, &first);
        if (rc != ALEXDB_OK) return bench_fail("pager_extend", rc);
        if (first != have) {
            return bench_errorf(ALEXDB_INVALID,
                                "pager_extend gave first page %" PRIu64 ", expected %" PRIu64,
                                first, have);
        }
        have += n;
    }
    return ALEXDB_OK;
}

static int write_pages(bench *b, pager *pg, uint8_t *run_buf)
{
    uint64_t in_pager_ns = 0;
    for (uint64_t first = BENCH_RESERVED_PAGE_COUNT; first < b->page_count;
         first += BENCH_RUN_PAGE_COUNT) {
        uint32_t n = (uint32_t)COMMON_MIN(b->page_count - first, (uint64_t)BENCH_RUN_PAGE_COUNT);
        for (uint32_t i = 0; i < n; i++)
            pattern_fill(run_buf + (size_t)i * PAGER_PAGE_SIZE, first + i);
        uint64_t t0 = common_now_ns();
        int rc = pager_write_pages(pg, first, n, run_buf, 0);
        in_pager_ns += common_now_ns() - t0;
        if (rc != ALEXDB_OK) return bench_fail("pager_write_pages", rc);
    }
    b->create.write_in_pager_s = (double)in_pager_ns / 1e9;
    return ALEXDB_OK;
}

static int create_steps(bench *b, pager *pg)
{
    static const char payload[] = BENCH_NAME;
    uint8_t *run_buf = NULL;
    if (posix_memalign((void **)&run_buf, PAGER_PAGE_SIZE,
                       (size_t)BENCH_RUN_PAGE_COUNT * PAGER_PAGE_SIZE) != 0) {
        return bench_errorf(ALEXDB_NOMEM, "out of memory for a 1 MiB write run");
    }
    uint64_t t0 = common_now_ns();
    int rc = extend_file(b, pg);
    uint64_t t1 = common_now_ns();
    if (rc == ALEXDB_OK) rc = write_pages(b, pg, run_buf);
    uint64_t t2 = common_now_ns();
    if (rc == ALEXDB_OK) {
        rc = pager_flush(pg);
        if (rc != ALEXDB_OK) bench_fail("pager_flush", rc);
    }
    if (rc == ALEXDB_OK) {
        rc = pager_superblock_commit(pg, 0, payload, (uint32_t)sizeof(payload));
        if (rc != ALEXDB_OK) bench_fail("pager_superblock_commit", rc);
    }
    b->create.extend_s = (double)(t1 - t0) / 1e9;
    b->create.write_s = (double)(t2 - t1) / 1e9;
    b->create.flush_s = seconds_since(t2);
    free(run_buf);
    return rc;
}

static int create_file(bench *b)
{
    if (unlink(b->path) != 0 && errno != ENOENT) {
        return bench_errorf(ALEXDB_IO, "unlink %s: %s", b->path, strerror(errno));
    }
    pager_config config;
    bench_config(b, &config, 1);
    pager *pg = NULL;
    int rc = pager_open(b->path, &config, &pg);
    if (rc != ALEXDB_OK) return bench_fail("pager_open (create)", rc);
    rc = create_steps(b, pg);
    pager_stats stats;
    pager_stats_get(pg, &stats);
    pager_close(pg);
    if (rc != ALEXDB_OK) return rc;
    create_result *c = &b->create;
    c->page_count = b->page_count - BENCH_RESERVED_PAGE_COUNT;
    c->io = stats.io;
    double mib = (double)c->page_count * PAGER_PAGE_SIZE / (1024.0 * 1024.0);
    fprintf(b->out,
            "create: extended to %" PRIu64 " pages in %.2f s; wrote %" PRIu64
            " pages, %.1f MiB in %.2f s: %.0f MB/s in pager_write_pages (%.2f s of it); "
            "flush + superblock %.3f s\n",
            b->page_count, c->extend_s, c->page_count, mib, c->write_s,
            (double)c->page_count * PAGER_PAGE_SIZE / 1e6 / c->write_in_pager_s,
            c->write_in_pager_s, c->flush_s);
    fprintf(b->out,
            "create: io %" PRIu64 " writes (%.1f MiB, zero-fill included), %" PRIu64
            " submissions, %" PRIu64 " fdatasyncs\n",
            c->io.write_count, (double)c->io.write_bytes / (1024.0 * 1024.0), c->io.submit_count,
            c->io.sync_count);
    return ALEXDB_OK;
}

static int verify_page(bench *b, uint64_t page_no)
{
    pager_frame *frame = NULL;
    int rc = pager_pin(b->pg, page_no, 0, &frame);
    if (rc != ALEXDB_OK) return bench_fail("verify: pager_pin", rc);
    const uint8_t *data = pager_frame_data(frame);
    uint64_t frame_page_no = pager_frame_page_no(frame);
    uint8_t kind = pager_page_kind(data);
    int32_t bad_word = pattern_check(data, page_no);
    pager_unpin(b->pg, frame);
    if (frame_page_no != page_no || kind != PAGER_KIND_RAW || bad_word >= 0) {
        return bench_errorf(ALEXDB_CORRUPT,
                            "verify: page %" PRIu64 " came back wrong: frame holds page %" PRIu64
                            ", kind %u (%s), first bad body word %d",
                            page_no, frame_page_no, kind, pager_kind_name(kind), (int)bad_word);
    }
    return ALEXDB_OK;
}

/* Reads back the first and last data pages and a random sample, checking every byte. */
static int verify_sample(bench *b)
{
    uint64_t data_page_count = b->page_count - BENCH_RESERVED_PAGE_COUNT;
    uint64_t count = COMMON_MIN(b->opt.verify_page_count, data_page_count);
    common_rng rng;
    common_rng_seed(&rng, b->opt.seed ^ BENCH_VERIFY_SALT);
    uint64_t t0 = common_now_ns();
    for (uint64_t k = 0; k < count; k++) {
        uint64_t page_no = k == 0   ? BENCH_RESERVED_PAGE_COUNT
                           : k == 1 ? b->page_count - 1
                                    : draw_page_no(b, &rng);
        int rc = verify_page(b, page_no);
        if (rc != ALEXDB_OK) return rc;
    }
    b->create.verified_page_count = count;
    b->create.verify_s = seconds_since(t0);
    fprintf(b->out,
            "verify: verified %" PRIu64 " pages (first, last and %" PRIu64
            " random) through pager_pin in %.2f s: kind, page number and every body byte match\n",
            count, count > 2 ? count - 2 : 0, b->create.verify_s);
    return ALEXDB_OK;
}

static int reopen_pager(bench *b)
{
    pager_config config;
    bench_config(b, &config, 0);
    int rc = pager_open(b->path, &config, &b->pg);
    if (rc != ALEXDB_OK) return bench_fail("pager_open (reopen)", rc);
    uint64_t have = pager_page_count(b->pg);
    if (have != b->page_count) {
        return bench_errorf(ALEXDB_CORRUPT, "reopened file has %" PRIu64 " pages, wrote %" PRIu64,
                            have, b->page_count);
    }
    pager_stats stats;
    pager_stats_get(b->pg, &stats);
    fprintf(
        b->out,
        "pager: reopened cold: backend %s%s%s, %s, %" PRIu64 " frames (%.1f MiB) "
        "for %" PRIu64 " pages: expected hit ratio %.2f%%\n",
        stats.backend, stats.fallback_reason[0] ? " after fallback: " : "", stats.fallback_reason,
        pager_file_is_direct(pager_get_file(b->pg)) ? "O_DIRECT" : "buffered", stats.frame_count,
        (double)stats.frame_count * PAGER_PAGE_SIZE / (1024.0 * 1024.0),
        b->page_count - BENCH_RESERVED_PAGE_COUNT,
        100.0 * (double)stats.frame_count / (double)(b->page_count - BENCH_RESERVED_PAGE_COUNT));
    return ALEXDB_OK;
}

/* ---- The raw comparator: its own descriptor and ring --------------------------- */

/* The same fallback chain as the pager's ring (ANCHORS 6), so both run alike. */
static int raw_ring_setup(struct io_uring *ring, unsigned entries, unsigned *flags_out)
{
    static const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int ret = -EINVAL;
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(flag_sets); i++) {
        ret = io_uring_queue_init(entries, ring, flag_sets[i]);
        if (ret != -EINVAL) {
            *flags_out = flag_sets[i];
            break;
        }
    }
    return ret;
}

static const char *ring_flags_name(unsigned flags)
{
    if (flags & IORING_SETUP_DEFER_TASKRUN) return "SINGLE_ISSUER|DEFER_TASKRUN";
    if (flags & IORING_SETUP_COOP_TASKRUN) return "COOP_TASKRUN";
    return "none";
}

static void raw_prep_read(struct io_uring *ring, int fd, uint8_t *buf, uint64_t page_no,
                          uint32_t slot)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    ALEXDB_ASSERT(sqe != NULL); /* in flight <= depth <= ring entries */
    io_uring_prep_read(sqe, fd, buf, PAGER_PAGE_SIZE, page_no * PAGER_PAGE_SIZE);
    io_uring_sqe_set_data64(sqe, slot);
}

static int raw_result_error(uint64_t page_no, int res)
{
    if (res >= 0) {
        return common_error(ALEXDB_IO, "raw read of page %" PRIu64 ": %d bytes, expected %u",
                            page_no, res, PAGER_PAGE_SIZE);
    }
    return common_error(ALEXDB_IO, "raw read of page %" PRIu64 ": %s", page_no, strerror(-res));
}

/*
 * Submits count reads in one submission and waits for all of them, as the pager does
 * for a batch of misses. EAGAIN/EINTR completions are resubmitted (bounded).
 */
static int raw_uring_batch(struct io_uring *ring, int fd, uint8_t *bufs, const uint64_t *page_nos,
                           uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        raw_prep_read(ring, fd, bufs + (size_t)i * PAGER_PAGE_SIZE, page_nos[i], i);
    }
    uint32_t done = 0;
    uint32_t retries = 0;
    int rc = ALEXDB_OK;
    while (done < count) {
        int ret = io_uring_submit_and_wait(ring, count - done);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
            /* Requests may still be in flight into bufs: this is fatal for the run. */
            return common_error(ALEXDB_IO, "io_uring_submit_and_wait: %s", strerror(-ret));
        }
        unsigned head;
        unsigned seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(ring, head, cqe)
        {
            seen++;
            uint32_t i = (uint32_t)io_uring_cqe_get_data64(cqe);
            ALEXDB_ASSERT(i < count);
            if ((cqe->res == -EAGAIN || cqe->res == -EINTR) && retries < BENCH_RETRY_MAX) {
                retries++;
                raw_prep_read(ring, fd, bufs + (size_t)i * PAGER_PAGE_SIZE, page_nos[i], i);
                continue;
            }
            done++;
            if (cqe->res != (int)PAGER_PAGE_SIZE && rc == ALEXDB_OK) {
                rc = raw_result_error(page_nos[i], cqe->res);
            }
        }
        io_uring_cq_advance(ring, seen);
    }
    return rc;
}

/* The posix comparator for --backend=posix: one pread after another, as io_posix.c. */
static int raw_pread_batch(int fd, uint8_t *bufs, const uint64_t *page_nos, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        ssize_t n;
        uint32_t attempt = 0;
        do {
            n = pread(fd, bufs + (size_t)i * PAGER_PAGE_SIZE, PAGER_PAGE_SIZE,
                      (off_t)(page_nos[i] * PAGER_PAGE_SIZE));
        } while (n < 0 && (errno == EINTR || errno == EAGAIN) && ++attempt < BENCH_RETRY_MAX);
        if (n != (ssize_t)PAGER_PAGE_SIZE)
            return raw_result_error(page_nos[i], n < 0 ? -errno : (int)n);
    }
    return ALEXDB_OK;
}

static int raw_open(bench *b)
{
    int direct = pager_file_is_direct(pager_get_file(b->pg));
    b->raw_fd = open(b->path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
    if (b->raw_fd < 0) return bench_errorf(ALEXDB_IO, "open %s: %s", b->path, strerror(errno));
    if (posix_memalign((void **)&b->raw_bufs, PAGER_PAGE_SIZE,
                       (size_t)BENCH_DEPTH_MAX * PAGER_PAGE_SIZE) != 0) {
        return bench_errorf(ALEXDB_NOMEM, "out of memory for raw buffers");
    }
    memset(b->raw_bufs, 0, (size_t)BENCH_DEPTH_MAX * PAGER_PAGE_SIZE);
    pager_stats stats;
    pager_stats_get(b->pg, &stats);
    b->raw_uring = strcmp(stats.backend, "io_uring") == 0;
    uint32_t depth_max = 1;
    for (uint32_t i = 0; i < b->opt.depth_count; i++)
        depth_max = COMMON_MAX(depth_max, b->opt.depths[i]);
    if (b->raw_uring) {
        int ret = raw_ring_setup(&b->ring, depth_max, &b->ring_flags);
        if (ret < 0) return bench_errorf(ALEXDB_IO, "raw io_uring setup: %s", strerror(-ret));
        b->ring_ready = true;
    }
    fprintf(b->out, "raw: own %s descriptor on the same file, %s%s%s; same page distribution%s\n",
            direct ? "O_DIRECT" : "buffered",
            !b->raw_uring ? "pread one after another"
            : b->opt.mode == BENCH_MODE_THREADS
                ? "one io_uring ring per thread, one read at a time, flags "
                : "io_uring ring, submit_and_wait per batch, flags ",
            b->raw_uring ? ring_flags_name(b->ring_flags) : "",
            b->raw_uring ? "" : " (raw-continuous needs io_uring: skipped)",
            b->opt.mode == BENCH_MODE_THREADS ? "" : ", same batches");
    return ALEXDB_OK;
}

static void raw_close(bench *b)
{
    if (b->ring_ready) io_uring_queue_exit(&b->ring);
    b->ring_ready = false;
    if (b->raw_fd >= 0) close(b->raw_fd);
    b->raw_fd = -1;
    free(b->raw_bufs);
    b->raw_bufs = NULL;
}

/* ---- Phase 2: measurements ------------------------------------------------------ */

typedef struct meter {
    uint64_t start_ns;
    uint64_t cpu_start_ns;
    uint64_t hit_start;
    uint64_t miss_start;
} meter;

static void meter_start(bench *b, meter *mt)
{
    pager_stats stats;
    pager_stats_get(b->pg, &stats);
    mt->hit_start = stats.hit_count;
    mt->miss_start = stats.miss_count;
    mt->cpu_start_ns = cpu_now_ns();
    mt->start_ns = common_now_ns();
}

static void meter_stop(bench *b, const meter *mt, uint64_t page_count, measurement *out)
{
    out->elapsed_ns = common_now_ns() - mt->start_ns;
    out->cpu_ns = cpu_now_ns() - mt->cpu_start_ns;
    pager_stats stats;
    pager_stats_get(b->pg, &stats);
    out->hit_count = stats.hit_count - mt->hit_start;
    out->miss_count = stats.miss_count - mt->miss_start;
    out->page_count = page_count;
}

static uint64_t measure_ns(const bench *b)
{
    return (uint64_t)(b->opt.seconds * 1e9);
}

typedef int (*batch_read_fn)(bench *b, const uint64_t *page_nos, uint32_t count);

static int raw_batch_read(bench *b, const uint64_t *page_nos, uint32_t count)
{
    if (b->raw_uring) return raw_uring_batch(&b->ring, b->raw_fd, b->raw_bufs, page_nos, count);
    return raw_pread_batch(b->raw_fd, b->raw_bufs, page_nos, count);
}

static int pager_batch_read(bench *b, const uint64_t *page_nos, uint32_t count)
{
    pager_frame *frames[BENCH_DEPTH_MAX];
    int rc = pager_pin_many(b->pg, page_nos, count, 0, frames);
    if (rc != ALEXDB_OK) return rc;
    uint32_t wrong = count;
    for (uint32_t i = 0; i < count; i++) {
        if (pager_frame_page_no(frames[i]) != page_nos[i] && wrong == count) wrong = i;
        pager_unpin(b->pg, frames[i]);
    }
    if (wrong != count) {
        return common_error(ALEXDB_CORRUPT,
                            "pager_pin_many: frame %u holds another page than %" PRIu64, wrong,
                            page_nos[wrong]);
    }
    return ALEXDB_OK;
}

/* Batch mode: draw depth pages, read them as one batch, wait for all; repeat. */
static int batch_run(bench *b, bench_kind kind, uint32_t depth, uint64_t seed, measurement *out,
                     latency_hist *hist)
{
    batch_read_fn read_batch = kind == KIND_PAGER ? pager_batch_read : raw_batch_read;
    common_rng rng;
    common_rng_seed(&rng, seed);
    uint64_t page_nos[BENCH_DEPTH_MAX];
    uint64_t pages = 0;
    meter mt;
    meter_start(b, &mt);
    uint64_t deadline_ns = mt.start_ns + measure_ns(b);
    for (;;) {
        for (uint32_t i = 0; i < depth; i++) page_nos[i] = draw_page_no(b, &rng);
        uint64_t t0 = common_now_ns();
        int rc = read_batch(b, page_nos, depth);
        uint64_t t1 = common_now_ns();
        if (rc != ALEXDB_OK)
            return bench_fail(kind == KIND_PAGER ? "pager batch read" : "raw batch read", rc);
        hist_add(hist, t1 - t0);
        pages += depth;
        if (t1 >= deadline_ns) break;
    }
    meter_stop(b, &mt, pages, out);
    return ALEXDB_OK;
}

/* fio's pattern: depth reads always in flight, each completion refilled at once. */
static int continuous_run(bench *b, uint32_t depth, uint64_t seed, measurement *out,
                          latency_hist *hist)
{
    ALEXDB_ASSERT(b->ring_ready && depth <= BENCH_DEPTH_MAX);
    common_rng rng;
    common_rng_seed(&rng, seed);
    uint64_t slot_page_no[BENCH_DEPTH_MAX];
    uint64_t slot_submit_ns[BENCH_DEPTH_MAX];
    meter mt;
    meter_start(b, &mt);
    uint64_t deadline_ns = mt.start_ns + measure_ns(b);
    for (uint32_t s = 0; s < depth; s++) {
        slot_page_no[s] = draw_page_no(b, &rng);
        slot_submit_ns[s] = mt.start_ns;
        raw_prep_read(&b->ring, b->raw_fd, b->raw_bufs + (size_t)s * PAGER_PAGE_SIZE,
                      slot_page_no[s], s);
    }
    uint32_t inflight = depth;
    uint32_t retries = 0;
    uint64_t pages = 0;
    int rc = ALEXDB_OK;
    while (inflight > 0) {
        int ret = io_uring_submit_and_wait(&b->ring, 1);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
            return bench_errorf(ALEXDB_IO, "io_uring_submit_and_wait: %s", strerror(-ret));
        }
        uint64_t now_ns = common_now_ns();
        unsigned head;
        unsigned seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&b->ring, head, cqe)
        {
            seen++;
            uint32_t s = (uint32_t)io_uring_cqe_get_data64(cqe);
            ALEXDB_ASSERT(s < depth);
            if (cqe->res == (int)PAGER_PAGE_SIZE) {
                pages++;
                hist_add(hist, now_ns - slot_submit_ns[s]);
            } else if ((cqe->res != -EAGAIN && cqe->res != -EINTR) || ++retries > BENCH_RETRY_MAX) {
                if (rc == ALEXDB_OK) rc = raw_result_error(slot_page_no[s], cqe->res);
            }
            if (now_ns >= deadline_ns || rc != ALEXDB_OK) {
                inflight--;
                continue;
            }
            slot_page_no[s] = draw_page_no(b, &rng);
            slot_submit_ns[s] = now_ns;
            raw_prep_read(&b->ring, b->raw_fd, b->raw_bufs + (size_t)s * PAGER_PAGE_SIZE,
                          slot_page_no[s], s);
        }
        io_uring_cq_advance(&b->ring, seen);
    }
    meter_stop(b, &mt, pages, out);
    return rc == ALEXDB_OK ? ALEXDB_OK : bench_fail("raw-continuous read", rc);
}

/* ---- Threads mode: depth threads, each one read at a time ---------------------- */

typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t ready_count;
    bool open;
} gate;

typedef struct thread_ctx {
    bench *b;
    bench_kind kind;
    uint64_t seed;
    gate *start;
    _Atomic bool *stop;
    latency_hist *hist;
    uint64_t page_count;
    int rc;
    char errmsg[COMMON_ERRMSG_SIZE_MAX];
    pthread_t thread;
} thread_ctx;

static void gate_arrive_and_wait(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->ready_count++;
    pthread_cond_broadcast(&g->cond);
    while (!g->open) pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_wait_ready(gate *g, uint32_t count)
{
    pthread_mutex_lock(&g->lock);
    while (g->ready_count < count) pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static int thread_read_one(thread_ctx *t, common_rng *rng, struct io_uring *ring, uint8_t *buf)
{
    bench *b = t->b;
    uint64_t page_no = draw_page_no(b, rng);
    if (t->kind == KIND_RAW) {
        if (ring != NULL) return raw_uring_batch(ring, b->raw_fd, buf, &page_no, 1);
        return raw_pread_batch(b->raw_fd, buf, &page_no, 1);
    }
    pager_frame *frame = NULL;
    int rc = pager_pin(b->pg, page_no, 0, &frame);
    if (rc != ALEXDB_OK) return rc;
    uint64_t got = pager_frame_page_no(frame);
    pager_unpin(b->pg, frame);
    if (got != page_no) {
        return common_error(ALEXDB_CORRUPT,
                            "pager_pin(%" PRIu64 ") gave a frame holding page %" PRIu64, page_no,
                            got);
    }
    return ALEXDB_OK;
}

/* Untimed: the raw thread makes its ring, the pager thread's first pin makes the pager's. */
static int thread_setup(thread_ctx *t, common_rng *rng, struct io_uring *ring, bool *ring_ready,
                        uint8_t **buf_out)
{
    if (t->kind == KIND_PAGER) return thread_read_one(t, rng, NULL, NULL);
    if (posix_memalign((void **)buf_out, PAGER_PAGE_SIZE, PAGER_PAGE_SIZE) != 0) {
        return common_error(ALEXDB_NOMEM, "out of memory for a thread's buffer");
    }
    if (!t->b->raw_uring) return ALEXDB_OK;
    unsigned flags = 0;
    int ret = raw_ring_setup(ring, BENCH_THREAD_RING_ENTRIES, &flags);
    if (ret < 0) return common_error(ALEXDB_IO, "thread io_uring setup: %s", strerror(-ret));
    *ring_ready = true;
    return ALEXDB_OK;
}

static void *thread_main(void *arg)
{
    thread_ctx *t = arg;
    common_rng rng;
    common_rng_seed(&rng, t->seed);
    struct io_uring ring;
    bool ring_ready = false;
    uint8_t *buf = NULL;
    t->rc = thread_setup(t, &rng, &ring, &ring_ready, &buf);
    gate_arrive_and_wait(t->start);
    while (t->rc == ALEXDB_OK && !atomic_load_explicit(t->stop, memory_order_relaxed)) {
        uint64_t t0 = common_now_ns();
        t->rc = thread_read_one(t, &rng, ring_ready ? &ring : NULL, buf);
        if (t->rc != ALEXDB_OK) break;
        hist_add(t->hist, common_now_ns() - t0);
        t->page_count++;
    }
    if (t->rc != ALEXDB_OK) snprintf(t->errmsg, sizeof(t->errmsg), "%s", alexdb_errmsg());
    if (ring_ready) io_uring_queue_exit(&ring);
    free(buf);
    return NULL;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec left = {.tv_sec = (time_t)(ns / 1000000000ULL),
                            .tv_nsec = (long)(ns % 1000000000ULL)};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
}

/* Starts depth threads, opens the gate once all are set up, stops them after --seconds. */
static int threads_start_and_run(bench *b, thread_ctx *ctxs, uint32_t depth, measurement *out)
{
    gate start = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    _Atomic bool stop = false;
    uint32_t created = 0;
    int rc = ALEXDB_OK;
    for (; created < depth; created++) {
        ctxs[created].start = &start;
        ctxs[created].stop = &stop;
        int err = pthread_create(&ctxs[created].thread, NULL, thread_main, &ctxs[created]);
        if (err != 0) {
            rc = bench_errorf(ALEXDB_NOMEM, "pthread_create: %s", strerror(err));
            break;
        }
    }
    gate_wait_ready(&start, created);
    meter mt;
    meter_start(b, &mt);
    gate_open(&start);
    if (rc == ALEXDB_OK) sleep_ns(measure_ns(b));
    atomic_store(&stop, true);
    uint64_t pages = 0;
    for (uint32_t i = 0; i < created; i++) {
        pthread_join(ctxs[i].thread, NULL);
        pages += ctxs[i].page_count;
    }
    meter_stop(b, &mt, pages, out);
    return rc;
}

static int threads_run(bench *b, bench_kind kind, uint32_t depth, uint64_t seed, measurement *out,
                       latency_hist *hist)
{
    thread_ctx *ctxs = calloc(depth, sizeof(*ctxs));
    if (ctxs == NULL) return bench_errorf(ALEXDB_NOMEM, "out of memory for %u threads", depth);
    int rc = ALEXDB_OK;
    for (uint32_t i = 0; i < depth && rc == ALEXDB_OK; i++) {
        ctxs[i] = (thread_ctx){.b = b, .kind = kind, .seed = seed + i * BENCH_PATTERN_PAGE_MUL};
        ctxs[i].hist = calloc(1, sizeof(latency_hist));
        if (ctxs[i].hist == NULL) rc = bench_errorf(ALEXDB_NOMEM, "out of memory for histograms");
    }
    if (rc == ALEXDB_OK) rc = threads_start_and_run(b, ctxs, depth, out);
    for (uint32_t i = 0; i < depth; i++) {
        if (rc == ALEXDB_OK && ctxs[i].rc != ALEXDB_OK) {
            rc = bench_errorf(ctxs[i].rc, "%s thread %u: %s (%s)", kind_names[kind], i,
                              alexdb_strerror(ctxs[i].rc), ctxs[i].errmsg);
        }
        if (ctxs[i].hist != NULL) hist_merge(hist, ctxs[i].hist);
        free(ctxs[i].hist);
    }
    free(ctxs);
    return rc;
}

/* ---- Running the depths and reporting ------------------------------------------- */

static int run_one(bench *b, bench_kind kind, uint32_t depth_index, uint32_t round)
{
    depth_result *r = &b->results[depth_index];
    uint64_t seed = measurement_seed(b->opt.seed, r->depth, round, kind);
    measurement *out = &r->rounds[kind][round];
    if (kind == KIND_CONTINUOUS) return continuous_run(b, r->depth, seed, out, &r->hist[kind]);
    if (b->opt.mode == BENCH_MODE_THREADS)
        return threads_run(b, kind, r->depth, seed, out, &r->hist[kind]);
    return batch_run(b, kind, r->depth, seed, out, &r->hist[kind]);
}

static int run_depth(bench *b, uint32_t depth_index)
{
    depth_result *r = &b->results[depth_index];
    r->depth = b->opt.depths[depth_index];
    for (uint32_t round = 0; round < b->opt.round_count; round++) {
        /* ABBA: drift within a round favours neither side. */
        bench_kind first = round % 2 == 0 ? KIND_RAW : KIND_PAGER;
        bench_kind second = round % 2 == 0 ? KIND_PAGER : KIND_RAW;
        int rc = run_one(b, first, depth_index, round);
        if (rc == ALEXDB_OK) rc = run_one(b, second, depth_index, round);
        if (rc == ALEXDB_OK && b->raw_uring) rc = run_one(b, KIND_CONTINUOUS, depth_index, round);
        if (rc != ALEXDB_OK) return rc;
        char raw_buf[16], pager_buf[16], cont_buf[16];
        double raw = measurement_iops(&r->rounds[KIND_RAW][round]);
        double pgr = measurement_iops(&r->rounds[KIND_PAGER][round]);
        fprintf(
            b->out,
            "  depth %u round %u/%u: raw %s  pager %s (%.1f%%)  raw-continuous %s  [%s first]\n",
            r->depth, round + 1, b->opt.round_count, format_rate(raw, raw_buf, sizeof(raw_buf)),
            format_rate(pgr, pager_buf, sizeof(pager_buf)), raw > 0 ? 100.0 * pgr / raw : 0.0,
            b->raw_uring ? format_rate(measurement_iops(&r->rounds[KIND_CONTINUOUS][round]),
                                       cont_buf, sizeof(cont_buf))
                         : "n/a",
            kind_names[first]);
        fflush(b->out);
    }
    return ALEXDB_OK;
}

typedef struct depth_summary {
    double iops[KIND_COUNT]; /* medians over rounds */
    double cpu_us_per_page[KIND_COUNT];
    double hit_ratio;
    double ratio; /* pager / raw */
} depth_summary;

static void summarize(const bench *b, const depth_result *r, depth_summary *s)
{
    memset(s, 0, sizeof(*s));
    for (uint32_t k = 0; k < KIND_COUNT; k++) {
        double iops[BENCH_ROUND_COUNT_MAX];
        uint64_t cpu_ns = 0, pages = 0;
        for (uint32_t i = 0; i < b->opt.round_count; i++) {
            iops[i] = measurement_iops(&r->rounds[k][i]);
            cpu_ns += r->rounds[k][i].cpu_ns;
            pages += r->rounds[k][i].page_count;
        }
        s->iops[k] = median(iops, b->opt.round_count);
        s->cpu_us_per_page[k] = pages > 0 ? (double)cpu_ns / 1000.0 / (double)pages : 0.0;
    }
    uint64_t hits = 0, pins = 0;
    for (uint32_t i = 0; i < b->opt.round_count; i++) {
        hits += r->rounds[KIND_PAGER][i].hit_count;
        pins += r->rounds[KIND_PAGER][i].hit_count + r->rounds[KIND_PAGER][i].miss_count;
    }
    s->hit_ratio = pins > 0 ? (double)hits / (double)pins : 0.0;
    s->ratio = s->iops[KIND_RAW] > 0 ? s->iops[KIND_PAGER] / s->iops[KIND_RAW] : 0.0;
}

static void report_text(bench *b)
{
    const char *unit = b->opt.mode == BENCH_MODE_THREADS ? "read" : "batch";
    fprintf(
        b->out,
        "\nresults (medians of %u rounds, %g s each; latency per %s, raw-continuous per I/O):\n",
        b->opt.round_count, b->opt.seconds, unit);
    for (uint32_t d = 0; d < b->opt.depth_count; d++) {
        const depth_result *r = &b->results[d];
        depth_summary s;
        summarize(b, r, &s);
        char raw_buf[16], pager_buf[16], cont_buf[16];
        char cont_lat[48] = "n/a";
        if (b->raw_uring) {
            snprintf(cont_lat, sizeof(cont_lat), "%.1f/%.1f",
                     hist_percentile_us(&r->hist[KIND_CONTINUOUS], 0.50),
                     hist_percentile_us(&r->hist[KIND_CONTINUOUS], 0.99));
        }
        fprintf(
            b->out,
            "depth %u: raw %s IOPS  pager %s IOPS  (%.1f%% of raw)  raw-continuous %s  hit %.2f%%"
            "  p50/p99 us: raw %.1f/%.1f  pager %.1f/%.1f  raw-continuous %s"
            "  cpu us/page: raw %.2f  pager %.2f\n",
            r->depth, format_rate(s.iops[KIND_RAW], raw_buf, sizeof(raw_buf)),
            format_rate(s.iops[KIND_PAGER], pager_buf, sizeof(pager_buf)), 100.0 * s.ratio,
            b->raw_uring ? format_rate(s.iops[KIND_CONTINUOUS], cont_buf, sizeof(cont_buf)) : "n/a",
            100.0 * s.hit_ratio, hist_percentile_us(&r->hist[KIND_RAW], 0.50),
            hist_percentile_us(&r->hist[KIND_RAW], 0.99),
            hist_percentile_us(&r->hist[KIND_PAGER], 0.50),
            hist_percentile_us(&r->hist[KIND_PAGER], 0.99), cont_lat, s.cpu_us_per_page[KIND_RAW],
            s.cpu_us_per_page[KIND_PAGER]);
    }
    for (uint32_t d = 0; d < b->opt.depth_count; d++) {
        depth_summary s;
        summarize(b, &b->results[d], &s);
        fprintf(b->out, "depth %u: %s: pager %.1f%% of raw (target >= %.0f%%)\n",
                b->results[d].depth, s.ratio >= BENCH_TARGET_RATIO ? "PASS" : "BELOW TARGET",
                100.0 * s.ratio, 100.0 * BENCH_TARGET_RATIO);
    }
}

static void json_string(FILE *to, const char *text)
{
    fputc('"', to);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') fprintf(to, "\\%c", *p);
        else if (*p < 0x20) fprintf(to, "\\u%04x", *p);
        else fputc(*p, to);
    }
    fputc('"', to);
}

static void json_depth(const bench *b, const depth_result *r, FILE *to)
{
    depth_summary s;
    summarize(b, r, &s);
    fprintf(to,
            "    {\"depth\": %u, \"raw_iops\": %.1f, \"pager_iops\": %.1f, \"pager_vs_raw\": %.4f, "
            "\"hit_ratio\": %.5f, \"verdict\": \"%s\",\n",
            r->depth, s.iops[KIND_RAW], s.iops[KIND_PAGER], s.ratio, s.hit_ratio,
            s.ratio >= BENCH_TARGET_RATIO ? "PASS" : "BELOW TARGET");
    uint32_t kind_count = b->raw_uring ? KIND_COUNT : KIND_CONTINUOUS;
    for (uint32_t k = 0; k < kind_count; k++) {
        fprintf(
            to,
            "     \"%s\": {\"lat_us_p50\": %.2f, \"lat_us_p99\": %.2f, \"cpu_us_per_page\": %.3f, "
            "\"iops_rounds\": [",
            kind_names[k], hist_percentile_us(&r->hist[k], 0.50),
            hist_percentile_us(&r->hist[k], 0.99), s.cpu_us_per_page[k]);
        for (uint32_t i = 0; i < b->opt.round_count; i++) {
            fprintf(to, "%s%.1f", i ? ", " : "", measurement_iops(&r->rounds[k][i]));
        }
        fprintf(to, "]}%s\n", k + 1 < kind_count ? "," : "");
    }
    fprintf(to, "    }");
}

static void report_json(const bench *b)
{
    FILE *to = stdout;
    const bench_options *o = &b->opt;
    fprintf(to, "{\n  \"program\": \"" BENCH_NAME "\",\n  \"parameters\": {\"dir\": ");
    json_string(to, o->dir);
    fprintf(to,
            ", \"file_size\": %" PRIu64 ", \"cache\": %" PRIu64
            ", \"seconds\": %g, \"rounds\": %u, "
            "\"seed\": %" PRIu64
            ", \"backend\": \"%s\", \"mode\": \"%s\", \"verify_pages\": %" PRIu64 "},\n",
            o->file_size, o->cache_size, o->seconds, o->round_count, o->seed,
            backend_option_name(o->backend), o->mode == BENCH_MODE_THREADS ? "threads" : "batch",
            o->verify_page_count);
    const create_result *c = &b->create;
    fprintf(to,
            "  \"create\": {\"pages\": %" PRIu64
            ", \"seconds\": %.3f, \"mb_per_s_in_pager\": %.1f, "
            "\"verified_pages\": %" PRIu64 "},\n",
            c->page_count, c->write_s,
            (double)c->page_count * PAGER_PAGE_SIZE / 1e6 / c->write_in_pager_s,
            c->verified_page_count);
    fprintf(to, "  \"raw_engine\": \"%s\",\n  \"depths\": [\n",
            b->raw_uring ? "io_uring" : "pread");
    for (uint32_t d = 0; d < o->depth_count; d++) {
        json_depth(b, &b->results[d], to);
        fprintf(to, "%s\n", d + 1 < o->depth_count ? "," : "");
    }
    fprintf(to, "  ]\n}\n");
}

static void print_parameters(bench *b)
{
    const bench_options *o = &b->opt;
    char depths[BENCH_DEPTH_COUNT_MAX * 5];
    size_t used = 0;
    for (uint32_t i = 0; i < o->depth_count; i++) {
        used += (size_t)snprintf(depths + used, sizeof(depths) - used, "%s%u", i ? "," : "",
                                 o->depths[i]);
    }
    fprintf(b->out,
            BENCH_NAME
            " --dir=%s --file-size=%" PRIu64 " --cache=%" PRIu64 " --depths=%s --seconds=%g"
            " --rounds=%u --mode=%s --backend=%s --seed=%" PRIu64 " --verify-pages=%" PRIu64
            "%s%s\n",
            o->dir, o->file_size, o->cache_size, depths, o->seconds, o->round_count,
            o->mode == BENCH_MODE_THREADS ? "threads" : "batch", backend_option_name(o->backend),
            o->seed, o->verify_page_count, o->keep ? " --keep" : "", o->json ? " --json" : "");
    struct utsname un;
    if (uname(&un) != 0) snprintf(un.release, sizeof(un.release), "?");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    fprintf(b->out,
            "machine: Linux %s, %ld cpus; file %s: %" PRIu64 " pages (%.1f MiB), cache %.1f MiB "
            "(%.2f%% of the file)\n",
            un.release, cpus, b->path, b->page_count,
            (double)b->page_count * PAGER_PAGE_SIZE / (1024.0 * 1024.0),
            (double)o->cache_size / (1024.0 * 1024.0),
            100.0 * (double)o->cache_size / (double)(b->page_count * PAGER_PAGE_SIZE));
    if (o->cache_size * 4 > b->page_count * PAGER_PAGE_SIZE) {
        fprintf(b->out,
                "warning: the cache is not much smaller than the file: the pager will hit often "
                "and the comparison with raw reads is not like for like\n");
    }
}

static int prepare_dir(bench *b)
{
    if (mkdir(b->opt.dir, 0755) != 0 && errno != EEXIST) {
        return bench_errorf(ALEXDB_IO, "mkdir %s: %s", b->opt.dir, strerror(errno));
    }
    int n = snprintf(b->path, sizeof(b->path), "%s/%s", b->opt.dir, BENCH_FILE_NAME);
    ALEXDB_ASSERT(n > 0 && (size_t)n < sizeof(b->path)); /* dir is bounded at parse time */
    return ALEXDB_OK;
}

static int bench_run(bench *b)
{
    int rc = prepare_dir(b);
    if (rc != ALEXDB_OK) return rc;
    print_parameters(b);
    rc = create_file(b);
    if (rc == ALEXDB_OK) rc = reopen_pager(b);
    if (rc == ALEXDB_OK) rc = verify_sample(b);
    if (rc == ALEXDB_OK) rc = raw_open(b);
    for (uint32_t d = 0; d < b->opt.depth_count && rc == ALEXDB_OK; d++) rc = run_depth(b, d);
    if (rc == ALEXDB_OK) {
        report_text(b);
        if (b->opt.json) report_json(b);
        fprintf(b->out, "done in %.1f s\n", seconds_since(b->start_ns));
    }
    raw_close(b);
    if (b->pg != NULL) pager_close(b->pg);
    b->pg = NULL;
    if (!b->opt.keep) {
        unlink(b->path);
        rmdir(b->opt.dir); /* only if empty: the directory may hold other things */
    }
    return rc;
}

int main(int argc, char **argv)
{
    bench *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        fprintf(stderr, BENCH_NAME ": out of memory\n");
        return 1;
    }
    int exit_code = parse_args(argc, argv, &b->opt);
    if (exit_code != 0) {
        free(b);
        return exit_code == 1 ? 0 : exit_code;
    }
    b->start_ns = common_now_ns();
    b->out = b->opt.json ? stderr : stdout;
    b->raw_fd = -1;
    b->page_count = b->opt.file_size / PAGER_PAGE_SIZE;
    int rc = bench_run(b);
    free(b);
    return rc == ALEXDB_OK ? 0 : 1;
}
