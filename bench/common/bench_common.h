/*
 * bench_common.h: what the benchmark programs under bench/ share, built once into a
 * small library (CMakeLists.txt): a log-linear latency histogram (hist.c), a start gate
 * and a runner for measured threads (gate.c), and small reporting helpers (util.c). Plain libc:
 * no alexdb internals, so every program can use it.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Latency histogram: log-linear, 64 sub-buckets per power of two ---- */

#define HIST_SUB_BITS 6u
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_EXP_MAX 40u /* 2^41 ns (~37 min): anything longer is clamped */
#define HIST_BUCKET_COUNT ((HIST_EXP_MAX - HIST_SUB_BITS + 2u) * HIST_SUB_COUNT)

typedef struct latency_hist {
    uint64_t counts[HIST_BUCKET_COUNT];
    uint64_t total;
} latency_hist;

void latency_hist_add(latency_hist *hist, uint64_t ns);
void latency_hist_merge(latency_hist *into, const latency_hist *from);
/* The latency below which quantile (0..1) of the samples fall, in us; 0 when empty. */
double latency_hist_percentile_us(const latency_hist *hist, double quantile);

/* ---- Start gate: threads arrive, the starter waits for all, then opens ---- */

typedef struct bench_gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t ready_count;
    bool open;
} bench_gate;

#define BENCH_GATE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false}

/* A thread: counts itself ready and waits for the gate to open. */
void bench_gate_arrive_and_wait(bench_gate *gate);
/* The starter: waits until count threads have arrived. */
void bench_gate_wait_ready(bench_gate *gate, uint32_t count);
void bench_gate_open(bench_gate *gate);

/* ---- Measured threads: start, release together, run for a while, stop ---- */

/* What a measured thread shares with the runner: the first member of its context. */
typedef struct bench_thread {
    pthread_t thread;
    bench_gate *start;   /* arrive here once set up (bench_gate_arrive_and_wait) */
    _Atomic bool *stop;  /* run until this turns true */
} bench_thread;

/*
 * Starts count threads running fn on contexts[i] (at contexts + i * context_size, each
 * beginning with a bench_thread), waits until all have arrived at the gate, calls
 * opened(arg) (where the caller starts its clock), opens the gate, sleeps run_ns, stops
 * and joins them. Returns 0, or the errno of a pthread_create that failed: the threads
 * already started are still released, stopped at once and joined. *created_out tells
 * how many ran.
 */
int bench_threads_run(void *contexts, size_t context_size, uint32_t count, void *(*fn)(void *),
                      uint64_t run_ns, void (*opened)(void *), void *arg, uint32_t *created_out);

/* ---- Small reporting helpers ---- */

#define BENCH_MEDIAN_COUNT_MAX 64u

/* The median of count (1..BENCH_MEDIAN_COUNT_MAX) values; values are left as they are. */
double bench_median(const double *values, uint32_t count);
/* fio's way of writing a rate: 812, 71.2k, 1.05M. Returns buf. */
const char *bench_format_rate(double rate, char *buf, size_t buf_size);
/*
 * Parses a decimal number with an optional suffix k, m, g or t (either case) that
 * multiplies it by base, base^2, base^3 or base^4 (fio's sizes use 1024; counts 1000).
 * Returns 0, or -1 if text is not such a number or the value overflows.
 */
int bench_parse_scaled(const char *text, uint64_t base, uint64_t *value_out);
/* Sleeps ns, resuming after signals. */
void bench_sleep_ns(uint64_t ns);

#endif /* BENCH_COMMON_H */
