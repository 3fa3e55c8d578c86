/*
 * progress.c: the live progress line of long runs. On a terminal (stderr is a tty, no
 * --no-progress) the starter of each group of jobs calls ab_progress_show() about once a
 * second; it rewrites one line on stderr with \r:
 *
 *   [readrandom alexdb] 3.0s/5.0s, 3.61M ops, 1.20M ops/s, ETA 2.0s
 *
 * The job (several concurrent jobs are joined with '+'), the engine, elapsed and
 * expected total time, ops done so far (ramp included), ops/s since the last redraw, and
 * the time left: the deadline where the job has a runtime, the ops left at the current
 * rate where it has an op budget, whichever comes first; the group ends with its last
 * job. The line is erased (spaces, then \r) before anything else is written, so it never
 * mixes into the report, which goes to stdout after the group has finished.
 *
 * Entry points: ab_progress_enable(), ab_progress_show(), ab_progress_clear().
 */
#include "alexdb_bench.h"

#include <pthread.h>

#define AB_PROGRESS_LINE_SIZE 160u

static bool progress_enabled;
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t progress_width;         /* characters on the line now; 0 = nothing shown */
static uint64_t progress_last_ns;     /* the previous redraw, for ops/s */
static uint64_t progress_last_ops;

void ab_progress_enable(bool enabled)
{
    progress_enabled = enabled;
}

static void format_seconds(double s, char *buf, size_t buf_size)
{
    uint64_t whole = (uint64_t)(s + 0.5);
    if (s < 0) snprintf(buf, buf_size, "?");
    else if (s < 9.95) snprintf(buf, buf_size, "%.1fs", s);
    else if (whole < 600) snprintf(buf, buf_size, "%" PRIu64 "s", whole);
    else snprintf(buf, buf_size, "%" PRIu64 "m%02" PRIu64 "s", whole / 60, whole % 60);
}

/* Seconds job still needs at rate ops/s (its share of the group's): -1 when unknown. */
static double job_left_s(const ab_progress_job *job, uint64_t ops, double rate, uint64_t now_ns)
{
    if (atomic_load(job->thread_count) == 0) return 0;
    double left = -1;
    if (job->deadline_ns != UINT64_MAX)
        left = job->deadline_ns > now_ns ? (double)(job->deadline_ns - now_ns) / 1e9 : 0;
    if (job->op_budget != UINT64_MAX && rate > 0) {
        double by_ops = ops < job->op_budget ? (double)(job->op_budget - ops) / rate : 0;
        if (left < 0 || by_ops < left) left = by_ops;
    }
    return left;
}

/* The line for jobs into line; returns its length. */
static size_t format_line(const ab_progress_job *jobs, uint32_t job_count, uint64_t now_ns, char *line)
{
    char names[AB_PROGRESS_LINE_SIZE / 2] = "", ops_text[32], rate_text[32], elapsed[32], total[32], eta[32];
    uint64_t ops = 0;
    for (uint32_t i = 0; i < job_count; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof(names) - used, "%s%s", i > 0 ? "+" : "", jobs[i].job_name);
        ops += atomic_load_explicit(jobs[i].op_count, memory_order_relaxed);
    }
    double since_s = (double)(now_ns - progress_last_ns) / 1e9;
    double rate = since_s > 0 && ops >= progress_last_ops ? (double)(ops - progress_last_ops) / since_s : 0;
    double elapsed_s = (double)(now_ns - jobs[0].start_ns) / 1e9, left_s = 0;
    for (uint32_t i = 0; i < job_count && left_s >= 0; i++) {
        uint64_t job_ops = atomic_load_explicit(jobs[i].op_count, memory_order_relaxed);
        double job_rate = ops > 0 ? rate * (double)job_ops / (double)ops : 0;
        double job_left = job_left_s(&jobs[i], job_ops, job_rate, now_ns);
        left_s = job_left < 0 ? -1 : job_left > left_s ? job_left : left_s;
    }
    format_seconds(elapsed_s, elapsed, sizeof(elapsed));
    format_seconds(left_s < 0 ? -1 : elapsed_s + left_s, total, sizeof(total));
    format_seconds(left_s, eta, sizeof(eta));
    int n = snprintf(line, AB_PROGRESS_LINE_SIZE, "[%s %s] %s/%s, %s ops, %s ops/s, ETA %s", names,
                     jobs[0].engine, elapsed, total, bench_format_rate((double)ops, ops_text, sizeof(ops_text)),
                     bench_format_rate(rate, rate_text, sizeof(rate_text)), eta);
    progress_last_ns = now_ns;
    progress_last_ops = ops;
    return n < 0 ? 0 : (size_t)n < AB_PROGRESS_LINE_SIZE ? (size_t)n : AB_PROGRESS_LINE_SIZE - 1;
}

void ab_progress_show(const ab_progress_job *jobs, uint32_t job_count, uint64_t now_ns)
{
    if (!progress_enabled || job_count == 0) return;
    char line[AB_PROGRESS_LINE_SIZE];
    pthread_mutex_lock(&progress_lock);
    if (progress_width == 0) { /* a new group: ops/s from its start */
        progress_last_ns = jobs[0].start_ns;
        progress_last_ops = 0;
    }
    size_t width = format_line(jobs, job_count, now_ns, line);
    /* Pad with spaces over a longer previous line rather than send terminal escapes. */
    fprintf(stderr, "\r%s%*s", line, progress_width > width ? (int)(progress_width - width) : 0, "");
    fflush(stderr);
    progress_width = width > progress_width ? width : progress_width;
    pthread_mutex_unlock(&progress_lock);
}

void ab_progress_clear(void)
{
    pthread_mutex_lock(&progress_lock);
    if (progress_width > 0) {
        fprintf(stderr, "\r%*s\r", (int)progress_width, "");
        fflush(stderr);
        progress_width = 0;
    }
    pthread_mutex_unlock(&progress_lock);
}
