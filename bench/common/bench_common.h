/*
 * bench_common.h: what the benchmark programs under bench/ share, built once into a
 * small library (CMakeLists.txt): a log-linear latency histogram (hist.c) and a start
 * gate that releases reader threads together once all are set up (gate.c). Plain libc:
 * no alexdb internals, so every program can use it.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <pthread.h>
#include <stdbool.h>
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

#endif /* BENCH_COMMON_H */
