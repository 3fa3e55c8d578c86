/*
 * index_bench.h: what the files of alexdb-index-bench share: limits, the key and value
 * generators (inline: they run in every timed loop), the latency histogram, the
 * options, the results, and every function one file calls in another. Only this
 * program's files include it.
 *
 * The program measures the figures of issues 3 and 4 through the public API (alexdb.h) only:
 *   main.c     errors, the clock, the order of the phases, exit status
 *   options.c  the command line: parsing, defaults, --quick, the line that reproduces a run
 *   keys.c     key shapes, sorted key arrays, fill order, bulk-load inputs, value checks
 *   warm.c     bulkload, fillrandom, readrandom, scan (one thread, warm cache)
 *   cold.c     the cold database (built once, reused), ABBA rounds against raw reads
 *   threads.c  N threads behind a gate, each doing one read at a time (alexdb or raw)
 *   durable.c  N threads doing sync puts (issue 4): puts/s, latency, commits per fdatasync;
 *              and the open after a SIGKILL, replaying the log: MB/s
 *   raw.c      the raw comparator: own O_DIRECT descriptor and io_uring ring per thread
 *   report.c   db_bench-style lines, index statistics, the final figure-vs-target table
 *   (the latency histogram and the start gate are in bench/common/)
 *
 * What is measured and why, every option and figure: bench/README.md,
 * "alexdb-index-bench". This program is a comparator, not the engine, so raw.c
 * includes <liburing.h> itself.
 */
#ifndef INDEX_BENCH_H
#define INDEX_BENCH_H

#include "bench_common.h"
#include "alexdb.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IB_NAME "alexdb-index-bench"
#define IB_WUR __attribute__((warn_unused_result))
#define IB_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Always on, as ALEXDB_ASSERT is in the engine (STYLE: asserts stay in release builds). */
#define IB_ASSERT(cond)                                                                    \
    do {                                                                                   \
        if (!(cond)) index_bench_assert_fail(#cond, __FILE__, __LINE__);                   \
    } while (0)

#define IB_PAGE_SIZE 4096u
#define IB_RESERVED_PAGE_COUNT 2u          /* superblocks: raw never reads them */
#define IB_PATH_SIZE_MAX 4096u
#define IB_DIR_SIZE_MAX 2048u
#define IB_KEY_COUNT_MAX (1ULL << 32)
#define IB_VALUE_SIZE_MAX (1u << 20)       /* the benchmark's bound, far below the API's */
#define IB_SECONDS_MAX 3600.0
#define IB_ROUND_COUNT_MAX 15u
_Static_assert(IB_ROUND_COUNT_MAX <= BENCH_MEDIAN_COUNT_MAX, "bench_median takes them all");
#define IB_COLD_THREADS_COUNT_MAX 8u       /* entries in --cold-threads */
#define IB_THREAD_COUNT_MAX 256u
#define IB_SCAN_KEY_COUNT 100u
#define IB_LATENCY_SAMPLE_EVERY 16u        /* warm phases time one op in 16 */
#define IB_SCAN_FULL_CHECK_EVERY 16u       /* scans check every value byte one scan in 16 */
#define IB_DEADLINE_CHECK_EVERY 256u       /* ops between clock reads for the deadline */
#define IB_CLUSTER_KEY_COUNT 1024u         /* keys per cluster in --key-shape=clustered */
#define IB_CLUSTER_SPAN_BITS 24u           /* a cluster spans 2^24 key values */
#define IB_MIX_ADD 0x9e3779b97f4a7c15ULL
#define IB_VALUE_WORD_MUL 0xd1b54a32d192ed03ULL
#define IB_RETRY_MAX 16u                   /* EAGAIN/EINTR raw reads resubmitted, per read */
#define IB_THREAD_RING_ENTRIES 4u
#define IB_COLD_WARM_SLICE_S 0.25          /* cold cache warm-up: runs of this length... */
#define IB_COLD_WARM_SLICE_COUNT_MAX 40u   /* ...until the cache has filled, at most 10 s */
#define IB_PARAMS_FILE "index-bench.params"
#define IB_DATA_FILE "alexdb.data"         /* the engine's page file (docs/FORMAT.md 0) */

_Static_assert(IB_CLUSTER_KEY_COUNT * 8u <= (1u << IB_CLUSTER_SPAN_BITS),
               "a cluster's keys fit in its span");
_Static_assert((IB_LATENCY_SAMPLE_EVERY & (IB_LATENCY_SAMPLE_EVERY - 1)) == 0,
               "sampling uses a mask");

void index_bench_assert_fail(const char *cond, const char *file, int line)
    __attribute__((noreturn));

/* ---- PRNG and keys (keys.c; the hot parts inline) ------------------------------- */

/* splitmix64: fast, seedable, passes BigCrush; good enough to draw keys and indexes. */
typedef struct ib_rng {
    uint64_t state;
} ib_rng;

/* splitmix64's finalizer: a bijection on 64-bit words (each step is invertible). */
static inline uint64_t ib_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static inline uint64_t ib_rng_next(ib_rng *rng)
{
    rng->state += IB_MIX_ADD;
    return ib_mix(rng->state);
}

/* Uniform in [0, bound) by multiply-shift (Lemire); the bias is below 2^-32 here. */
static inline uint64_t ib_rng_below(ib_rng *rng, uint64_t bound)
{
    return (uint64_t)(((unsigned __int128)ib_rng_next(rng) * bound) >> 64);
}

static inline void ib_rng_seed(ib_rng *rng, uint64_t seed)
{
    rng->state = ib_mix(seed ^ 0x5eed5eed5eed5eedULL);
}

typedef enum ib_key_shape {
    IB_SHAPE_UNIFORM = 0,    /* ib_mix(i + offset): uniform over 2^64, distinct by bijection */
    IB_SHAPE_SEQUENTIAL = 1, /* i */
    IB_SHAPE_CLUSTERED = 2,  /* runs of IB_CLUSTER_KEY_COUNT close keys at random bases */
} ib_key_shape;

/*
 * The key space: key number i in [0, count) is a pure function of (shape, seed, i), so a
 * timed loop draws i and computes its key without touching a key array.
 */
typedef struct ib_keys {
    ib_key_shape shape;
    uint64_t count;
    uint64_t offset; /* from the seed */
} ib_keys;

static inline uint64_t ib_key_at(const ib_keys *keys, uint64_t i)
{
    switch (keys->shape) {
    case IB_SHAPE_SEQUENTIAL: return i;
    case IB_SHAPE_CLUSTERED: {
        uint64_t cluster = i / IB_CLUSTER_KEY_COUNT;
        uint64_t j = i % IB_CLUSTER_KEY_COUNT;
        uint64_t base = ib_mix(cluster + keys->offset) & ~((1ULL << IB_CLUSTER_SPAN_BITS) - 1);
        return base | (j * 8u + (ib_mix(i ^ keys->offset) & 7u)); /* 8 apart, jittered */
    }
    case IB_SHAPE_UNIFORM: break;
    }
    return ib_mix(i + keys->offset);
}

/*
 * Value of key k: word w (little-endian, 8 bytes) is k + w * IB_VALUE_WORD_MUL, the last
 * partial word cut short. Every byte depends on the key and on its position, so a value
 * of another key, a shifted copy or a torn copy all fail the check.
 */
static inline uint64_t ib_value_word(uint64_t key, uint64_t w)
{
    return key + w * IB_VALUE_WORD_MUL;
}

void index_bench_keys_init(ib_keys *keys, ib_key_shape shape, uint64_t count, uint64_t seed);
const char *index_bench_shape_name(ib_key_shape shape);
void index_bench_value_fill(uint8_t *buf, size_t size, uint64_t key);
/* true iff buf holds exactly key's value of size bytes. */
bool index_bench_value_check(const uint8_t *buf, size_t size, uint64_t key);
/* The first word only: the scans' cheap check. */
bool index_bench_value_check_first(const uint8_t *buf, size_t size, uint64_t key);
/* Every key, sorted and checked strictly increasing (malloc'd; NULL + message on error). */
uint64_t *index_bench_sorted_keys(const ib_keys *keys) IB_WUR;
/* Every key in a random order (a seeded shuffle; malloc'd; NULL + message on error). */
uint64_t *index_bench_shuffled_keys(const ib_keys *keys, uint64_t seed) IB_WUR;

/* alexdb_bulk_load's three arrays for sorted keys; index_bench_bulk_free undoes it. */
typedef struct ib_bulk_input {
    uint8_t *value_bytes;
    const void **values;
    size_t *value_sizes;
} ib_bulk_input;

int index_bench_bulk_input_make(ib_bulk_input *in, const uint64_t *sorted, uint64_t count,
                                size_t value_size) IB_WUR;
void index_bench_bulk_input_free(ib_bulk_input *in);


/* ---- Options --------------------------------------------------------------------- */

enum ib_phase {
    IB_PHASE_BULKLOAD = 1u << 0,
    IB_PHASE_FILLRANDOM = 1u << 1,
    IB_PHASE_READRANDOM = 1u << 2,
    IB_PHASE_SCAN = 1u << 3,
    IB_PHASE_COLD = 1u << 4,
    IB_PHASE_DURABLE = 1u << 5,
    IB_PHASE_RECOVER = 1u << 6,
    IB_PHASE_ALL = (1u << 7) - 1u,
};

typedef struct ib_options {
    char dir[IB_DIR_SIZE_MAX];
    uint64_t key_count;
    size_t value_size;
    ib_key_shape shape;
    double seconds;
    uint64_t seed;
    unsigned phases;
    uint64_t warm_cache_size;
    uint64_t cold_key_count;
    size_t cold_value_size;
    uint64_t cold_cache_size;
    uint32_t cold_threads[IB_COLD_THREADS_COUNT_MAX];
    uint32_t cold_threads_count;
    uint32_t durable_threads[IB_COLD_THREADS_COUNT_MAX];
    uint32_t durable_threads_count;
    uint32_t round_count;
    bool quick;
    bool keep;
    bool cold_rebuild;
} ib_options;

/* Parses argv into *opt. Returns 0 to run, 1 after --help, 2 on a usage error. */
int index_bench_parse_args(int argc, char **argv, ib_options *opt);
/* Prints the command line that reproduces the run, every option spelt out. */
void index_bench_print_command(FILE *to, const ib_options *opt);

/* ---- Results --------------------------------------------------------------------- */

typedef struct ib_warm_results {
    bool bulk_ran, fill_ran, read_ran, scan_ran;
    double bulk_keys_per_s;
    double fill_ops_per_s;
    double read_ops_per_s;
    double read_p50_us, read_p99_us;
    double scan_per_s;
    double scan_p50_us, scan_p99_us;
    struct alexdb_stats bulk_stats, fill_stats;
} ib_warm_results;

/* One concurrency level of the cold phase: per-round figures and their medians. */
typedef struct ib_cold_level {
    uint32_t thread_count;
    double alexdb_ops_per_s[IB_ROUND_COUNT_MAX];
    double raw_iops[IB_ROUND_COUNT_MAX];
    double alexdb_median, raw_median;
    uint64_t lookup_count, lookup_read_count, hit_count, miss_count; /* over all rounds */
    latency_hist *alexdb_hist, *raw_hist;
} ib_cold_level;

typedef struct ib_cold_results {
    bool ran;
    bool direct;       /* raw opened O_DIRECT (as the engine's descriptor is) */
    bool raw_uring;    /* raw used io_uring (as the engine does); else pread */
    uint64_t page_count;
    struct alexdb_stats stats;
    ib_cold_level levels[IB_COLD_THREADS_COUNT_MAX];
} ib_cold_results;

/* One thread count of the durable phase. */
typedef struct ib_durable_level {
    uint32_t thread_count;
    double ops_per_s;
    double p50_us, p99_us, max_us;
    double commits_per_sync; /* the log's commits per fdatasync */
} ib_durable_level;

typedef struct ib_durable_results {
    bool ran;
    bool recover_ran;
    double replay_mb_per_s;
    ib_durable_level levels[IB_COLD_THREADS_COUNT_MAX];
} ib_durable_results;

typedef struct ib_bench {
    ib_options opt;
    uint64_t start_ns;
    ib_warm_results warm;
    ib_cold_results cold;
    ib_durable_results durable;
} ib_bench;

/* ---- main.c: errors, time, directories ------------------------------------------- */

/* Prints "what: <alexdb_strerror> (<alexdb_errmsg>)"; returns rc (never ALEXDB_OK). */
int index_bench_fail(const char *what, int rc);
/* Prints a formatted error; returns rc (never ALEXDB_OK). */
int index_bench_errorf(int rc, const char *fmt, ...) IB_PRINTF(2, 3);
uint64_t index_bench_now_ns(void);
double index_bench_seconds_since(uint64_t start_ns);
/* Removes a database directory's files and the directory; missing is fine. */
int index_bench_remove_db_dir(const char *path) IB_WUR;

/* ---- warm.c ------------------------------------------------------------------------ */

int index_bench_warm_run(ib_bench *b) IB_WUR;

/* ---- cold.c ------------------------------------------------------------------------ */

int index_bench_cold_run(ib_bench *b) IB_WUR;
void index_bench_cold_free(ib_bench *b);

/* ---- durable.c ---------------------------------------------------------------------- */

int index_bench_durable_run(ib_bench *b) IB_WUR;
int index_bench_recover_run(ib_bench *b) IB_WUR;

/* ---- threads.c: N threads, one read at a time each -------------------------------- */

typedef enum ib_reader_kind { IB_READER_ALEXDB = 0, IB_READER_RAW = 1 } ib_reader_kind;

/* What the threads read from: the engine's handle, or raw's descriptor on its file. */
typedef struct ib_read_target {
    alexdb *db;
    const ib_keys *keys;
    size_t value_size;
    int raw_fd;
    bool raw_uring;
    uint64_t page_count; /* pages raw draws from: [IB_RESERVED_PAGE_COUNT, page_count) */
} ib_read_target;

/* Runs thread_count readers for seconds; *ops_out reads done, *elapsed_ns_out wall time. */
int index_bench_threads_run(const ib_read_target *target, ib_reader_kind kind,
                            uint32_t thread_count, double seconds, uint64_t seed,
                            latency_hist *hist, uint64_t *ops_out,
                            uint64_t *elapsed_ns_out) IB_WUR;

/* ---- raw.c: the comparator ------------------------------------------------------------ */

typedef struct ib_raw_reader ib_raw_reader; /* one thread's ring and aligned buffer */

/* Opens the data file as the engine did (O_DIRECT iff *direct); sets *fd_out. */
int index_bench_raw_open(const char *data_path, bool direct, int *fd_out) IB_WUR;
/* Whether this process's descriptor on data_path has O_DIRECT: 1 yes, 0 no, -1 unknown. */
int index_bench_fd_is_direct(const char *data_path);
int index_bench_raw_reader_make(bool uring, ib_raw_reader **reader_out) IB_WUR;
void index_bench_raw_reader_free(ib_raw_reader *reader);
/* Reads page page_no through the reader's ring (or pread); ALEXDB_IO on a bad result. */
int index_bench_raw_read(ib_raw_reader *reader, int fd, uint64_t page_no) IB_WUR;
/* "SINGLE_ISSUER|DEFER_TASKRUN", "COOP_TASKRUN", "none": what a fresh ring gets here. */
const char *index_bench_raw_ring_flags_name(void);

/* ---- report.c ---------------------------------------------------------------------- */

/* db_bench's line: "name : 0.412 micros/op 2427184 ops/sec;" and the rest of it. */
void index_bench_report_line(const char *name, uint64_t op_count, uint64_t elapsed_ns,
                             const char *unit, const char *tail);
void index_bench_report_stats(const char *label, const struct alexdb_stats *s);
void index_bench_report_table(const ib_bench *b);

#endif /* INDEX_BENCH_H */
