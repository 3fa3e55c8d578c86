/*
 * main.c: alexdb-pager-bench, the buffer pool's micro-benchmark and, for now, the
 * project's main job (scripts/run). This file parses the options, runs the phases in
 * order and writes the report; the work itself is in the files named in pager_bench.h.
 *
 * Phase 1 (create.c) builds a page file through the pager, reopens it cold and checks
 * a sample of it byte by byte. Phase 2 (measure.c) measures uniformly random 4 KiB
 * reads at each queue depth D three ways:
 *   raw             our own O_DIRECT descriptor and io_uring ring (raw.c): D reads in
 *                   one submission, wait for all D, repeat (the pattern the pager gets);
 *   pager           the same loop through pager_pin_many() + pager_unpin();
 *   raw-continuous  D reads kept in flight, refilled as they complete (what fio
 *                   measures): the device's own limit, for scale only.
 * Raw and pager alternate within each round (ABBA order) and medians are compared,
 * since this machine drifts between runs. Target: pager >= 90 % of raw at every depth.
 *
 * Entry point: main(). How to run it and what each figure means: bench/README.md.
 */
#include "pager_bench.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

const char *const pager_bench_kind_names[KIND_COUNT] = {"raw", "pager", "raw-continuous"};

/* ---- Errors --------------------------------------------------------------------- */

int pager_bench_fail(const char *what, int rc)
{
    ALEXDB_ASSERT(rc != ALEXDB_OK);
    fprintf(stderr, BENCH_NAME ": error: %s: %s (%s)\n", what, alexdb_strerror(rc),
            alexdb_errmsg());
    return rc;
}

int pager_bench_errorf(int rc, const char *fmt, ...)
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
    if (strcmp(key, "file-size") == 0) return bench_parse_scaled(value, 1024, &opt->file_size);
    if (strcmp(key, "cache") == 0) return bench_parse_scaled(value, 1024, &opt->cache_size);
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

double pager_bench_seconds_since(uint64_t start_ns)
{
    return (double)(common_now_ns() - start_ns) / 1e9;
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

/* ---- Running the depths and reporting ------------------------------------------- */

static int run_one(bench *b, bench_kind kind, uint32_t depth_index, uint32_t round)
{
    depth_result *r = &b->results[depth_index];
    uint64_t seed = measurement_seed(b->opt.seed, r->depth, round, kind);
    measurement *out = &r->rounds[kind][round];
    if (kind == KIND_CONTINUOUS)
        return pager_bench_continuous_run(b, r->depth, seed, out, &r->hist[kind]);
    if (b->opt.mode == BENCH_MODE_THREADS)
        return pager_bench_threads_run(b, kind, r->depth, seed, out, &r->hist[kind]);
    return pager_bench_batch_run(b, kind, r->depth, seed, out, &r->hist[kind]);
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
            r->depth, round + 1, b->opt.round_count, bench_format_rate(raw, raw_buf, sizeof(raw_buf)),
            bench_format_rate(pgr, pager_buf, sizeof(pager_buf)), raw > 0 ? 100.0 * pgr / raw : 0.0,
            b->raw_uring ? bench_format_rate(measurement_iops(&r->rounds[KIND_CONTINUOUS][round]),
                                       cont_buf, sizeof(cont_buf))
                         : "n/a",
            pager_bench_kind_names[first]);
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
        s->iops[k] = bench_median(iops, b->opt.round_count);
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
                     latency_hist_percentile_us(&r->hist[KIND_CONTINUOUS], 0.50),
                     latency_hist_percentile_us(&r->hist[KIND_CONTINUOUS], 0.99));
        }
        fprintf(
            b->out,
            "depth %u: raw %s IOPS  pager %s IOPS  (%.1f%% of raw)  raw-continuous %s  hit %.2f%%"
            "  p50/p99 us: raw %.1f/%.1f  pager %.1f/%.1f  raw-continuous %s"
            "  cpu us/page: raw %.2f  pager %.2f\n",
            r->depth, bench_format_rate(s.iops[KIND_RAW], raw_buf, sizeof(raw_buf)),
            bench_format_rate(s.iops[KIND_PAGER], pager_buf, sizeof(pager_buf)), 100.0 * s.ratio,
            b->raw_uring ? bench_format_rate(s.iops[KIND_CONTINUOUS], cont_buf, sizeof(cont_buf)) : "n/a",
            100.0 * s.hit_ratio, latency_hist_percentile_us(&r->hist[KIND_RAW], 0.50),
            latency_hist_percentile_us(&r->hist[KIND_RAW], 0.99),
            latency_hist_percentile_us(&r->hist[KIND_PAGER], 0.50),
            latency_hist_percentile_us(&r->hist[KIND_PAGER], 0.99), cont_lat,
            s.cpu_us_per_page[KIND_RAW], s.cpu_us_per_page[KIND_PAGER]);
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
            pager_bench_kind_names[k], latency_hist_percentile_us(&r->hist[k], 0.50),
            latency_hist_percentile_us(&r->hist[k], 0.99), s.cpu_us_per_page[k]);
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
        return pager_bench_errorf(ALEXDB_IO, "mkdir %s: %s", b->opt.dir, strerror(errno));
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
    rc = pager_bench_create_file(b);
    if (rc == ALEXDB_OK) rc = pager_bench_reopen_pager(b);
    if (rc == ALEXDB_OK) rc = pager_bench_verify_sample(b);
    if (rc == ALEXDB_OK) rc = pager_bench_raw_open(b);
    for (uint32_t d = 0; d < b->opt.depth_count && rc == ALEXDB_OK; d++) rc = run_depth(b, d);
    if (rc == ALEXDB_OK) {
        report_text(b);
        if (b->opt.json) report_json(b);
        fprintf(b->out, "done in %.1f s\n", pager_bench_seconds_since(b->start_ns));
    }
    pager_bench_raw_close(b);
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
