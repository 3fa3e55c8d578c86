/*
 * pager_bench.h: what the files of alexdb-pager-bench share: its limits, the latency
 * histogram, the options, one measurement, the run's whole state (bench), and every
 * function one file calls in another. Only this program's files include it.
 *
 * The files, one job each:
 *   main.c     options, the run's order (phase 1, then each depth in ABBA rounds), report
 *   create.c   phase 1: build the page file through the pager, reopen it cold, verify
 *   raw.c      the raw comparator: its own O_DIRECT descriptor, io_uring ring or pread
 *   measure.c  phase 2: batch, continuous and threads measurements
 *   (the latency histogram and the start gate are in bench/common/)
 *
 * What is measured and why, every option and figure: bench/README.md.
 * This program is the comparator, not the engine, so it includes <liburing.h> itself.
 */
#ifndef PAGER_BENCH_H
#define PAGER_BENCH_H

#include "bench_common.h"
#include "pager.h"

#include <liburing.h>
#include <stdio.h>

#define BENCH_NAME "alexdb-pager-bench"
#define BENCH_FILE_NAME "pager-bench.alexdb"
#define BENCH_PATH_SIZE_MAX 4096u
#define BENCH_DEPTH_COUNT_MAX 16u
#define BENCH_DEPTH_MAX PAGER_PIN_BATCH_MAX
#define BENCH_ROUND_COUNT_MAX 15u
_Static_assert(BENCH_ROUND_COUNT_MAX <= BENCH_MEDIAN_COUNT_MAX, "bench_median takes them all");
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

_Static_assert(BENCH_DEPTH_MAX <= PAGER_PIN_BATCH_MAX, "a batch is one pager_pin_many");


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

/* "raw", "pager", "raw-continuous": the names the report and the JSON use. */
extern const char *const pager_bench_kind_names[KIND_COUNT];

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

/* A uniformly random data page: the superblocks are never drawn. */
static inline uint64_t pager_bench_draw_page_no(const bench *b, common_rng *rng)
{
    return BENCH_RESERVED_PAGE_COUNT +
           common_rng_below(rng, b->page_count - BENCH_RESERVED_PAGE_COUNT);
}

/* ---- main.c: errors and time -------------------------------------------------- */

/* Print "what: <error> (<alexdb_errmsg>)" to stderr; returns rc (never ALEXDB_OK). */
int pager_bench_fail(const char *what, int rc);
/* Print a formatted error to stderr; returns rc (never ALEXDB_OK). */
int pager_bench_errorf(int rc, const char *fmt, ...) COMMON_PRINTF(2, 3);
double pager_bench_seconds_since(uint64_t start_ns);

/* ---- create.c: phase 1 --------------------------------------------------------- */

/* Each prints its line to b->out and returns ALEXDB_OK, or an error already printed. */
int pager_bench_create_file(bench *b) COMMON_WUR;
/* Opens b->pg without create; it stays open for phase 2. */
int pager_bench_reopen_pager(bench *b) COMMON_WUR;
int pager_bench_verify_sample(bench *b) COMMON_WUR;

/* ---- raw.c: the comparator ------------------------------------------------------ */

/* Returns io_uring_queue_init's result; *flags_out gets the flags that worked. */
int pager_bench_raw_ring_setup(struct io_uring *ring, unsigned entries,
                               unsigned *flags_out) COMMON_WUR;
void pager_bench_raw_prep_read(struct io_uring *ring, int fd, uint8_t *buf, uint64_t page_no,
                               uint32_t slot);
/* Sets the error message for a short or failed raw read; returns ALEXDB_IO. */
int pager_bench_raw_result_error(uint64_t page_no, int res) COMMON_WUR;
int pager_bench_raw_uring_batch(struct io_uring *ring, int fd, uint8_t *bufs,
                                const uint64_t *page_nos, uint32_t count) COMMON_WUR;
int pager_bench_raw_pread_batch(int fd, uint8_t *bufs, const uint64_t *page_nos,
                                uint32_t count) COMMON_WUR;
/* Opens b->raw_fd, b->raw_bufs and (if the pager uses io_uring) b->ring. */
int pager_bench_raw_open(bench *b) COMMON_WUR;
/* Undoes whatever part of pager_bench_raw_open ran; safe if none did. */
void pager_bench_raw_close(bench *b);

/* ---- measure.c: phase 2 -------------------------------------------------------- */

/* One measurement of --seconds into *out; latencies are added to *hist. */
int pager_bench_batch_run(bench *b, bench_kind kind, uint32_t depth, uint64_t seed,
                          measurement *out, latency_hist *hist) COMMON_WUR;
int pager_bench_continuous_run(bench *b, uint32_t depth, uint64_t seed, measurement *out,
                               latency_hist *hist) COMMON_WUR;
int pager_bench_threads_run(bench *b, bench_kind kind, uint32_t depth, uint64_t seed,
                            measurement *out, latency_hist *hist) COMMON_WUR;

#endif /* PAGER_BENCH_H */
