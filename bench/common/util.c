/*
 * util.c: the small helpers the benchmarks' reports share (bench_common.h): medians of a
 * few rounds, fio-style rates, and a sleep that survives signals.
 */
#include "bench_common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_median(const double *values, uint32_t count)
{
    if (count == 0 || count > BENCH_MEDIAN_COUNT_MAX) abort(); /* a caller's bug */
    double sorted[BENCH_MEDIAN_COUNT_MAX];
    memcpy(sorted, values, count * sizeof(double));
    for (uint32_t i = 1; i < count; i++) { /* insertion sort: a handful of rounds */
        for (uint32_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    }
    return count % 2 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2.0;
}

const char *bench_format_rate(double rate, char *buf, size_t buf_size)
{
    if (rate >= 1e6) snprintf(buf, buf_size, "%.2fM", rate / 1e6);
    else if (rate >= 1e3) snprintf(buf, buf_size, "%.1fk", rate / 1e3);
    else snprintf(buf, buf_size, "%.0f", rate);
    return buf;
}

void bench_sleep_ns(uint64_t ns)
{
    struct timespec left = {.tv_sec = (time_t)(ns / 1000000000ULL), .tv_nsec = (long)(ns % 1000000000ULL)};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
}

int bench_parse_scaled(const char *text, uint64_t base, uint64_t *value_out)
{
    if (text == NULL || *text == '\0' || *text == '-') return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text) return -1;
    static const char suffixes[] = "kmgt";
    uint64_t scale = 1;
    const char *suffix = *end != '\0' ? strchr(suffixes, tolower((unsigned char)*end)) : NULL;
    if (suffix != NULL) {
        for (const char *s = suffixes; s <= suffix; s++) scale *= base;
        end++;
    }
    if (*end != '\0' || value > UINT64_MAX / scale) return -1;
    *value_out = (uint64_t)value * scale;
    return 0;
}
