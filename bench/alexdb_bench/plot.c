/*
 * plot.c: --plot DIR. For every job, two SVG files that open in a browser, written by
 * hand (no library): NN-<job>-throughput.svg, ops/s in each 1 s interval of the
 * measurement, one step line per engine; and NN-<job>-latency.svg, the latency CDF of each
 * engine (the fraction of ops at or below a latency, on a log-scale latency axis) read
 * from the job's merged histogram at 1 %, then ever finer steps up to 99.99 % and the max.
 * NN is the job's place in the job file (job names may repeat), and the name keeps only
 * [A-Za-z0-9._-].
 *
 * Each engine is one <polyline> with data-engine="<engine>" (the legend uses <line>), so
 * a test can count engines. An engine that did not run the job, or ran no measured op, has
 * a legend entry saying so and no line. A last interval shorter than a quarter of a
 * second is left out of the throughput plot: its rate is mostly noise. Only the first
 * AB_INTERVAL_COUNT_MAX seconds of a job are recorded.
 *
 * Entry point: ab_plot_write().
 */
#include "alexdb_bench.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>

#define PLOT_WIDTH 860.0
#define PLOT_HEIGHT 480.0
#define PLOT_LEFT 90.0
#define PLOT_RIGHT 190.0      /* the legend lives here */
#define PLOT_TOP 50.0
#define PLOT_BOTTOM 60.0
#define PLOT_TICK_COUNT_MAX 24u
#define PLOT_SHORT_TAIL_S 0.25
#define PLOT_FILE_NAME_SIZE (AB_NAME_SIZE_MAX + 32u)

static const char *const plot_colors[AB_ENGINE_COUNT_MAX] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
};

/* The quantiles of the CDF: every 1 % to 99 %, then tenths of the rest, up to 99.99 %. */
static const double plot_tail_steps[] = {0.99, 0.999, 0.9999};

typedef struct plot {
    FILE *file;
    double x_min, x_max, y_min, y_max;
    bool x_log;
} plot;

typedef void (*plot_label_fn)(double value, char *buf, size_t buf_size);

static double plot_x(const plot *p, double x)
{
    double t = p->x_log ? (log10(x) - log10(p->x_min)) / (log10(p->x_max) - log10(p->x_min))
                        : (x - p->x_min) / (p->x_max - p->x_min);
    return PLOT_LEFT + t * (PLOT_WIDTH - PLOT_LEFT - PLOT_RIGHT);
}

static double plot_y(const plot *p, double y)
{
    double t = (y - p->y_min) / (p->y_max - p->y_min);
    return PLOT_HEIGHT - PLOT_BOTTOM - t * (PLOT_HEIGHT - PLOT_TOP - PLOT_BOTTOM);
}

/* Writes text with XML's five special characters escaped. */
static void put_escaped(FILE *f, const char *text)
{
    for (const char *c = text; *c != '\0'; c++) {
        switch (*c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*c, f);
        }
    }
}

/* A round step (1, 2 or 5 times a power of ten) giving about six ticks over range. */
static double nice_step(double range)
{
    double raw = range / 6.0;
    double magnitude = pow(10.0, floor(log10(raw)));
    double steps[] = {1, 2, 5, 10};
    for (size_t i = 0; i < 4; i++)
        if (steps[i] * magnitude >= raw) return steps[i] * magnitude;
    return 10 * magnitude;
}

static void label_seconds(double v, char *buf, size_t buf_size) { snprintf(buf, buf_size, "%g s", v); }
static void label_rate(double v, char *buf, size_t buf_size) { bench_format_rate(v, buf, buf_size); }
static void label_percent(double v, char *buf, size_t buf_size) { snprintf(buf, buf_size, "%g %%", v * 100); }

static void label_latency(double us, char *buf, size_t buf_size)
{
    if (us < 1000) snprintf(buf, buf_size, "%g us", us);
    else if (us < 1e6) snprintf(buf, buf_size, "%g ms", us / 1e3);
    else snprintf(buf, buf_size, "%g s", us / 1e6);
}

static void tick(const plot *p, bool x_axis, double v, plot_label_fn label)
{
    char text[32];
    label(v, text, sizeof(text));
    if (x_axis) {
        double x = plot_x(p, v);
        fprintf(p->file, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x,
                PLOT_TOP, x, PLOT_HEIGHT - PLOT_BOTTOM + 5);
        fprintf(p->file, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, PLOT_HEIGHT - PLOT_BOTTOM + 20);
    } else {
        double y = plot_y(p, v);
        fprintf(p->file, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                PLOT_LEFT - 5, y, PLOT_WIDTH - PLOT_RIGHT, y);
        fprintf(p->file, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", PLOT_LEFT - 8, y + 4);
    }
    put_escaped(p->file, text);
    fputs("</text>\n", p->file);
}

/* Ticks of a linear axis from its min to its max (rounded up to a whole step first). */
static void linear_ticks(plot *p, bool x_axis, plot_label_fn label)
{
    double *min = x_axis ? &p->x_min : &p->y_min, *max = x_axis ? &p->x_max : &p->y_max;
    double step = nice_step(*max - *min);
    *max = *min + ceil((*max - *min) / step - 1e-9) * step;
    for (uint32_t i = 0; i < PLOT_TICK_COUNT_MAX && *min + i * step <= *max + step * 1e-9; i++)
        tick(p, x_axis, *min + i * step, label);
}

/* The file's header, title, axis names and frame. */
static void plot_begin(const plot *p, const char *title, const char *x_name, const char *y_name)
{
    FILE *f = p->file;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
               "<text x=\"%.1f\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">",
            PLOT_WIDTH, PLOT_HEIGHT, PLOT_WIDTH, PLOT_HEIGHT, (PLOT_LEFT + PLOT_WIDTH - PLOT_RIGHT) / 2);
    put_escaped(f, title);
    fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
            (PLOT_LEFT + PLOT_WIDTH - PLOT_RIGHT) / 2, PLOT_HEIGHT - 15, x_name);
    fprintf(f, "<text transform=\"translate(20 %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            (PLOT_TOP + PLOT_HEIGHT - PLOT_BOTTOM) / 2, y_name);
}

static void plot_frame(const plot *p)
{
    fprintf(p->file, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n",
            PLOT_LEFT, PLOT_TOP, PLOT_WIDTH - PLOT_LEFT - PLOT_RIGHT, PLOT_HEIGHT - PLOT_TOP - PLOT_BOTTOM);
}

static void legend(const plot *p, uint32_t index, const char *engine, const char *note)
{
    double y = PLOT_TOP + 10 + 20.0 * index, x = PLOT_WIDTH - PLOT_RIGHT + 15;
    fprintf(p->file, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
            x, y, x + 25, y, note == NULL ? plot_colors[index] : "none");
    fprintf(p->file, "<text x=\"%.1f\" y=\"%.1f\">", x + 32, y + 4);
    put_escaped(p->file, engine);
    if (note != NULL) fprintf(p->file, " (%s)", note);
    fputs("</text>\n", p->file);
}

static void polyline_begin(const plot *p, uint32_t index, const char *engine)
{
    fprintf(p->file, "<polyline data-engine=\"");
    put_escaped(p->file, engine);
    fprintf(p->file, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", plot_colors[index]);
}

static void polyline_end(const plot *p, const char *engine)
{
    fputs("\"><title>", p->file);
    put_escaped(p->file, engine);
    fputs("</title></polyline>\n", p->file);
}

/* Intervals of r worth plotting (a short last one is left out). */
static uint32_t plotted_intervals(const ab_result *r)
{
    if (!r->ran || r->interval_count == 0) return 0;
    if (r->interval_count > 1 && r->last_interval_s < PLOT_SHORT_TAIL_S) return r->interval_count - 1;
    return r->interval_count;
}

static double interval_length_s(const ab_result *r, uint32_t i)
{
    return i + 1 == r->interval_count ? r->last_interval_s : (double)AB_INTERVAL_NS / 1e9;
}

static void throughput_plot(plot *p, const ab_result *results, uint32_t engine_count, uint32_t job_count,
                            uint32_t j)
{
    p->x_min = p->y_min = 0;
    p->x_max = p->y_max = 1e-9;
    for (uint32_t e = 0; e < engine_count; e++) {
        const ab_result *r = &results[e * job_count + j];
        uint32_t n = plotted_intervals(r);
        for (uint32_t i = 0; i < n; i++) {
            double length = interval_length_s(r, i), rate = length > 0 ? (double)r->interval_counts[i] / length : 0;
            if (i + length > p->x_max) p->x_max = i + length;
            if (rate > p->y_max) p->y_max = rate;
        }
    }
    linear_ticks(p, true, label_seconds);
    linear_ticks(p, false, label_rate);
    plot_frame(p);
    for (uint32_t e = 0; e < engine_count; e++) {
        const ab_result *r = &results[e * job_count + j];
        uint32_t n = plotted_intervals(r);
        legend(p, e, r->engine, !r->ran ? "did not run" : n == 0 ? "no ops" : NULL);
        if (n == 0) continue;
        polyline_begin(p, e, r->engine);
        for (uint32_t i = 0; i < n; i++) { /* a step: the interval's rate across the interval */
            double length = interval_length_s(r, i), rate = length > 0 ? (double)r->interval_counts[i] / length : 0;
            fprintf(p->file, "%s%.1f,%.1f %.1f,%.1f", i > 0 ? " " : "", plot_x(p, i), plot_y(p, rate),
                    plot_x(p, i + length), plot_y(p, rate));
        }
        polyline_end(p, r->engine);
    }
}

/* The CDF's quantiles in order into out (at most out_count); returns how many. */
static uint32_t cdf_quantiles(double *out, uint32_t out_count)
{
    uint32_t n = 0;
    for (uint32_t i = 1; i <= 99 && n < out_count; i++) out[n++] = i / 100.0;
    for (size_t s = 0; s < sizeof(plot_tail_steps) / sizeof(plot_tail_steps[0]); s++) {
        double low = plot_tail_steps[s], step = (1 - low) / 10;
        for (uint32_t i = 1; i < 10 && n < out_count; i++) out[n++] = low + i * step;
    }
    if (n < out_count) out[n++] = 1.0;
    return n;
}

static void latency_plot(plot *p, const ab_result *results, uint32_t engine_count, uint32_t job_count, uint32_t j)
{
    double quantiles[160];
    uint32_t quantile_count = cdf_quantiles(quantiles, 160);
    double low = INFINITY, high = 0;
    for (uint32_t e = 0; e < engine_count; e++) {
        const ab_result *r = &results[e * job_count + j];
        if (!r->ran || r->lat.hist == NULL || r->lat.hist->total == 0) continue;
        double first = latency_hist_percentile_us(r->lat.hist, quantiles[0]), last = latency_hist_percentile_us(r->lat.hist, 1.0);
        if (first < low) low = first;
        if (last > high) high = last;
    }
    if (!(low < INFINITY)) low = high = 1;
    p->x_log = true;
    p->x_min = pow(10.0, floor(log10(low > 0.001 ? low : 0.001)));
    p->x_max = pow(10.0, ceil(log10(high > p->x_min ? high : p->x_min * 10)));
    if (p->x_max <= p->x_min) p->x_max = p->x_min * 10;
    for (double decade = p->x_min; decade <= p->x_max * 1.0001; decade *= 10) tick(p, true, decade, label_latency);
    p->y_min = 0;
    p->y_max = 1;
    linear_ticks(p, false, label_percent);
    plot_frame(p);
    for (uint32_t e = 0; e < engine_count; e++) {
        const ab_result *r = &results[e * job_count + j];
        bool empty = !r->ran || r->lat.hist == NULL || r->lat.hist->total == 0;
        legend(p, e, r->engine, !r->ran ? "did not run" : empty ? "no ops" : NULL);
        if (empty) continue;
        polyline_begin(p, e, r->engine);
        for (uint32_t q = 0; q < quantile_count; q++) {
            double us = latency_hist_percentile_us(r->lat.hist, quantiles[q]);
            if (us < p->x_min) us = p->x_min;
            fprintf(p->file, "%s%.1f,%.1f", q > 0 ? " " : "", plot_x(p, us), plot_y(p, quantiles[q]));
        }
        polyline_end(p, r->engine);
    }
}

/* Opens <dir>/<NN>-<job>-<kind>.svg for writing. */
static FILE *plot_open(const char *dir, uint32_t j, const char *job_name, const char *kind)
{
    char name[PLOT_FILE_NAME_SIZE], path[AB_PATH_SIZE_MAX + PLOT_FILE_NAME_SIZE + 2];
    snprintf(name, sizeof(name), "%02u-%s-%s.svg", j + 1, job_name, kind);
    for (char *c = name; *c != '\0'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
              *c == '-' || *c == '_'))
            *c = '_';
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) ab_errorf("--plot: cannot create %s: %s", path, strerror(errno));
    return f;
}

static int plot_close(FILE *f)
{
    fputs("</svg>\n", f);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) return ab_errorf("--plot: writing a plot failed: %s", strerror(errno));
    return 0;
}

int ab_plot_write(const char *dir, const ab_result *results, uint32_t engine_count, uint32_t job_count)
{
    AB_ASSERT(engine_count > 0 && engine_count <= AB_ENGINE_COUNT_MAX);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return ab_errorf("--plot: mkdir %s: %s", dir, strerror(errno));
    for (uint32_t j = 0; j < job_count; j++) {
        const ab_job *job = results[j].job;
        char title[AB_NAME_SIZE_MAX + 64];
        plot p = {.file = plot_open(dir, j, job->name, "throughput")};
        if (p.file == NULL) return -1;
        snprintf(title, sizeof(title), "%s (%s): throughput", job->name, ab_rw_name(job->rw));
        plot_begin(&p, title, "time since the measurement began", "ops/s in each 1 s interval");
        throughput_plot(&p, results, engine_count, job_count, j);
        if (plot_close(p.file) != 0) return -1;
        p = (plot){.file = plot_open(dir, j, job->name, "latency")};
        if (p.file == NULL) return -1;
        snprintf(title, sizeof(title), "%s (%s): latency CDF", job->name, ab_rw_name(job->rw));
        plot_begin(&p, title, "latency per op (log scale)", "fraction of ops at or below");
        latency_plot(&p, results, engine_count, job_count, j);
        if (plot_close(p.file) != 0) return -1;
    }
    return 0;
}
