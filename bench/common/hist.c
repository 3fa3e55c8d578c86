/*
 * hist.c: the benchmarks' latency histogram. Log-linear: values below 64 ns get a
 * bucket each; above, every power of two is cut into 64 equal sub-buckets, so a bucket
 * is at most ~1.5 % wide whatever the scale, and the whole range up to 2^41 ns fits in
 * a fixed array (no allocation while measuring). Percentiles report a bucket's middle.
 *
 * Entry points: latency_hist_add(), latency_hist_merge(), latency_hist_percentile_us().
 */
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>

static uint32_t hist_index(uint64_t ns)
{
    if (ns < HIST_SUB_COUNT) return (uint32_t)ns;
    uint32_t exp = 63u - (uint32_t)__builtin_clzll(ns);
    if (exp > HIST_EXP_MAX) return HIST_BUCKET_COUNT - 1u;
    uint32_t sub = (uint32_t)(ns >> (exp - HIST_SUB_BITS)) - HIST_SUB_COUNT;
    uint32_t index = (exp - HIST_SUB_BITS + 1u) * HIST_SUB_COUNT + sub;
    if (index >= HIST_BUCKET_COUNT) abort(); /* a bug in the bucket arithmetic */
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

void latency_hist_add(latency_hist *hist, uint64_t ns)
{
    hist->counts[hist_index(ns)]++;
    hist->total++;
}

void latency_hist_merge(latency_hist *into, const latency_hist *from)
{
    for (uint32_t i = 0; i < HIST_BUCKET_COUNT; i++) into->counts[i] += from->counts[i];
    into->total += from->total;
}

double latency_hist_percentile_us(const latency_hist *hist, double quantile)
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
