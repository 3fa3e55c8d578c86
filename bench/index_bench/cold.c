/*
 * cold.c: the cold-read phase of alexdb-index-bench. A database of --cold-keys values of
 * --cold-value-size bytes is built once by bulk load in its own directory, named after
 * its parameters (<dir>/cold-<keys>x<size>-<shape>-s<seed>), with a parameters file
 * written last: a later run that finds the same parameters reuses it (--cold-rebuild
 * forces a build). It is then opened read-only with --cold-cache (64 MiB: a few percent
 * of the file), so nearly every lookup must read its leaf from the device.
 *
 * For each thread count T of --cold-threads and each of --rounds rounds, in ABBA order
 * (raw first in odd rounds, alexdb first in even ones; the machine drifts by minutes):
 *   raw     T threads, each one 4 KiB read at a time of a uniformly drawn page of the
 *           same file, own O_DIRECT descriptor and one io_uring ring per thread (raw.c);
 *   alexdb  T threads, each one alexdb_get at a time of a uniformly drawn key, every value
 *           checked byte for byte.
 * Before the rounds, untimed reads fill the cache once (cold_warm_cache). Medians over
 * rounds are compared. The engine's own counters give device reads per
 * lookup (lookup_device_read_count / lookup_count) and per uncached lookup (over cache
 * misses: one leaf pin per lookup, values <= 1 KiB being inline), over all rounds.
 *
 * Entry points: index_bench_cold_run(), index_bench_cold_free().
 */
#include "index_bench.h"

#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

typedef struct cold_ctx {
    ib_bench *b;
    ib_keys keys;
    char path[IB_PATH_SIZE_MAX];      /* the database directory */
    char data_path[IB_PATH_SIZE_MAX]; /* its page file, which raw reads */
    char params[256];                 /* what the parameters file must say to reuse it */
    alexdb *db;
    ib_read_target target;
} cold_ctx;

static void cold_names(cold_ctx *c)
{
    const ib_options *o = &c->b->opt;
    const char *shape = index_bench_shape_name(o->shape);
    int n = snprintf(c->path, sizeof(c->path), "%s/cold-%" PRIu64 "x%zu-%s-s%" PRIu64, o->dir,
                     o->cold_key_count, o->cold_value_size, shape, o->seed);
    IB_ASSERT(n > 0 && (size_t)n < sizeof(c->path) - sizeof(IB_DATA_FILE) - 1);
    n = snprintf(c->data_path, sizeof(c->data_path), "%s/%s", c->path, IB_DATA_FILE);
    IB_ASSERT(n > 0 && (size_t)n < sizeof(c->data_path));
    snprintf(c->params, sizeof(c->params),
             "alexdb-index-bench cold database v1: keys=%" PRIu64 " value_size=%zu shape=%s"
             " seed=%" PRIu64 "\n", o->cold_key_count, o->cold_value_size, shape, o->seed);
}

static bool params_match(const cold_ctx *c)
{
    char file[IB_PATH_SIZE_MAX + 32];
    snprintf(file, sizeof(file), "%s/%s", c->path, IB_PARAMS_FILE);
    FILE *f = fopen(file, "r");
    if (f == NULL) return false;
    char line[sizeof(c->params)] = "";
    bool match = fgets(line, sizeof(line), f) != NULL && strcmp(line, c->params) == 0;
    fclose(f);
    return match;
}

static int params_write(const cold_ctx *c)
{
    char file[IB_PATH_SIZE_MAX + 32];
    snprintf(file, sizeof(file), "%s/%s", c->path, IB_PARAMS_FILE);
    FILE *f = fopen(file, "w");
    if (f == NULL) return index_bench_errorf(ALEXDB_IO, "create %s: %s", file, strerror(errno));
    bool ok = fputs(c->params, f) >= 0;
    ok = fclose(f) == 0 && ok;
    return ok ? ALEXDB_OK : index_bench_errorf(ALEXDB_IO, "write %s failed", file);
}

/* Bulk load into a fresh directory, close (the checkpoint), then the parameters file. */
static int cold_build(cold_ctx *c)
{
    int rc = index_bench_remove_db_dir(c->path);
    if (rc != ALEXDB_OK) return rc;
    uint64_t t0 = index_bench_now_ns();
    uint64_t *sorted = index_bench_sorted_keys(&c->keys);
    if (sorted == NULL) return ALEXDB_NOMEM;
    ib_bulk_input in;
    rc = index_bench_bulk_input_make(&in, sorted, c->keys.count, c->b->opt.cold_value_size);
    if (rc != ALEXDB_OK) {
        free(sorted);
        return rc;
    }
    double prepare_s = index_bench_seconds_since(t0);
    alexdb_options options;
    alexdb_options_init(&options);
    options.cache_bytes = c->b->opt.warm_cache_size;
    options.sync = 0;
    alexdb *db = NULL;
    rc = alexdb_open(c->path, &options, &db);
    if (rc != ALEXDB_OK) rc = index_bench_fail("alexdb_open (cold build)", rc);
    t0 = index_bench_now_ns();
    if (rc == ALEXDB_OK) rc = alexdb_bulk_load(db, sorted, in.values, in.value_sizes, c->keys.count);
    if (rc != ALEXDB_OK && db != NULL) rc = index_bench_fail("alexdb_bulk_load (cold)", rc);
    double load_s = index_bench_seconds_since(t0);
    index_bench_bulk_input_free(&in);
    free(sorted);
    t0 = index_bench_now_ns();
    if (db != NULL) {
        int close_rc = alexdb_close(db);
        if (rc == ALEXDB_OK && close_rc != ALEXDB_OK) rc = index_bench_fail("alexdb_close", close_rc);
    }
    if (rc != ALEXDB_OK) return rc;
    printf("  built it: inputs %.2f s, alexdb_bulk_load %.2f s, alexdb_close %.2f s\n", prepare_s,
           load_s, index_bench_seconds_since(t0));
    return params_write(c);
}

static int cold_open(cold_ctx *c)
{
    alexdb_options options;
    alexdb_options_init(&options);
    options.cache_bytes = c->b->opt.cold_cache_size;
    options.read_only = 1;
    int rc = alexdb_open(c->path, &options, &c->db);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_open (cold, read-only)", rc);
    struct alexdb_stats *s = &c->b->cold.stats;
    rc = alexdb_stats(c->db, s);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_stats", rc);
    if (s->key_count != c->keys.count) {
        return index_bench_errorf(ALEXDB_CORRUPT, "%s holds %" PRIu64 " keys, expected %" PRIu64
                                  " (try --cold-rebuild)", c->path, s->key_count, c->keys.count);
    }
    return ALEXDB_OK;
}

static int cold_prepare(cold_ctx *c)
{
    bool reuse = !c->b->opt.cold_rebuild && params_match(c);
    printf("\ncold phase: %s db %s (%" PRIu64 " %s keys, %zu-byte values)\n",
           reuse ? "reusing" : "building", c->path, c->keys.count,
           index_bench_shape_name(c->keys.shape), c->b->opt.cold_value_size);
    int rc = reuse ? ALEXDB_OK : cold_build(c);
    if (rc == ALEXDB_OK) rc = cold_open(c);
    if (rc != ALEXDB_OK) return rc;
    ib_cold_results *r = &c->b->cold;
    r->page_count = r->stats.file_size / IB_PAGE_SIZE;
    if (r->page_count <= IB_RESERVED_PAGE_COUNT) {
        return index_bench_errorf(ALEXDB_CORRUPT, "%s: %" PRIu64 " pages in use", c->data_path,
                                  r->page_count);
    }
    int direct = index_bench_fd_is_direct(c->data_path);
    r->direct = direct != 0; /* unknown: assume the engine's default, O_DIRECT */
    r->raw_uring = strcmp(r->stats.io_backend, "io_uring") == 0;
    c->target = (ib_read_target){.db = c->db, .keys = &c->keys,
                                 .value_size = c->b->opt.cold_value_size, .raw_fd = -1,
                                 .raw_uring = r->raw_uring, .page_count = r->page_count};
    rc = index_bench_raw_open(c->data_path, r->direct, &c->target.raw_fd);
    if (rc != ALEXDB_OK) return rc;
    index_bench_report_stats("cold db", &r->stats);
    printf("  cache %.1f MiB = %.2f%% of %" PRIu64 " pages in use; engine %s, %s%s\n",
           (double)c->b->opt.cold_cache_size / 1048576.0,
           100.0 * (double)c->b->opt.cold_cache_size / (double)r->stats.file_size, r->page_count,
           r->stats.io_backend, r->direct ? "O_DIRECT" : "buffered (page cache!)",
           direct < 0 ? " (not seen in /proc: assumed)" : "");
    printf("  raw: own %s descriptor on %s, %s, QD1 per thread, pages uniform over [%u, %" PRIu64
           ")\n", r->direct ? "O_DIRECT" : "buffered", IB_DATA_FILE,
           r->raw_uring ? "one io_uring ring per thread" : "pread", IB_RESERVED_PAGE_COUNT,
           r->page_count);
    if (r->raw_uring) printf("  raw ring flags: %s\n", index_bench_raw_ring_flags_name());
    return ALEXDB_OK;
}

/*
 * Untimed: reads until the cache has filled once, so that every round sees the steady
 * state (hits at about cache / file) and none pays the frames' first touch (the kernel
 * zeroing fresh memory, about 4 % of the first round's CPU here).
 */
static int cold_warm_cache(cold_ctx *c)
{
    uint32_t threads = 1;
    for (uint32_t i = 0; i < c->b->opt.cold_threads_count; i++)
        threads = c->b->opt.cold_threads[i] > threads ? c->b->opt.cold_threads[i] : threads;
    latency_hist *hist = calloc(1, sizeof(*hist));
    if (hist == NULL) return index_bench_errorf(ALEXDB_NOMEM, "out of memory for a histogram");
    struct alexdb_stats start, now;
    int rc = alexdb_stats(c->db, &start);
    if (rc != ALEXDB_OK) rc = index_bench_fail("alexdb_stats", rc);
    now = start;
    uint64_t t0 = index_bench_now_ns(), lookups = 0;
    for (uint32_t slice = 0; rc == ALEXDB_OK && slice < IB_COLD_WARM_SLICE_COUNT_MAX; slice++) {
        uint64_t ops = 0, elapsed_ns = 0;
        rc = index_bench_threads_run(&c->target, IB_READER_ALEXDB, threads, IB_COLD_WARM_SLICE_S,
                                     ib_mix(c->b->opt.seed ^ 0x3a3aULL ^ slice), hist, &ops,
                                     &elapsed_ns);
        lookups += ops;
        if (rc == ALEXDB_OK && (rc = alexdb_stats(c->db, &now)) != ALEXDB_OK)
            rc = index_bench_fail("alexdb_stats", rc);
        if (now.cache_miss_count - start.cache_miss_count >= now.cache_frame_count) break;
    }
    free(hist);
    if (rc != ALEXDB_OK) return rc;
    printf("  cache warm-up (untimed): %" PRIu64 " lookups by %u threads in %.2f s, %" PRIu64
           " misses for %" PRIu64 " frames\n", lookups, threads, index_bench_seconds_since(t0),
           now.cache_miss_count - start.cache_miss_count, now.cache_frame_count);
    return ALEXDB_OK;
}

static uint64_t measurement_seed(uint64_t seed, uint32_t threads, uint32_t round, uint32_t kind)
{
    return ib_mix(seed ^ ((uint64_t)threads << 40) ^ ((uint64_t)round << 20) ^ kind);
}

static int run_alexdb(cold_ctx *c, ib_cold_level *lv, uint32_t round)
{
    struct alexdb_stats before, after;
    int rc = alexdb_stats(c->db, &before);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_stats", rc);
    uint64_t ops = 0, elapsed_ns = 0;
    rc = index_bench_threads_run(&c->target, IB_READER_ALEXDB, lv->thread_count, c->b->opt.seconds,
                                 measurement_seed(c->b->opt.seed, lv->thread_count, round, 0),
                                 lv->alexdb_hist, &ops, &elapsed_ns);
    if (rc != ALEXDB_OK) return rc;
    rc = alexdb_stats(c->db, &after);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_stats", rc);
    lv->alexdb_ops_per_s[round] = (double)ops * 1e9 / (double)elapsed_ns;
    lv->lookup_count += after.lookup_count - before.lookup_count;
    lv->lookup_read_count += after.lookup_device_read_count - before.lookup_device_read_count;
    lv->hit_count += after.cache_hit_count - before.cache_hit_count;
    lv->miss_count += after.cache_miss_count - before.cache_miss_count;
    return ALEXDB_OK;
}

static int run_raw(cold_ctx *c, ib_cold_level *lv, uint32_t round)
{
    uint64_t ops = 0, elapsed_ns = 0;
    int rc = index_bench_threads_run(&c->target, IB_READER_RAW, lv->thread_count,
                                     c->b->opt.seconds,
                                     measurement_seed(c->b->opt.seed, lv->thread_count, round, 1),
                                     lv->raw_hist, &ops, &elapsed_ns);
    if (rc == ALEXDB_OK) lv->raw_iops[round] = (double)ops * 1e9 / (double)elapsed_ns;
    return rc;
}

static void report_level(const ib_cold_level *lv)
{
    double ratio = lv->raw_median > 0 ? lv->alexdb_median / lv->raw_median : 0.0;
    char name[32];
    snprintf(name, sizeof(name), "coldread%u", lv->thread_count);
    char tail[320];
    snprintf(tail, sizeof(tail),
             " p50 %.1f us p99 %.1f us; raw %.0f IOPS p50 %.1f us p99 %.1f us; alexdb/raw %.2f%%"
             "; %.3f device reads/lookup, hit %.2f%%, %.3f reads/uncached lookup",
             latency_hist_percentile_us(lv->alexdb_hist, 0.50),
             latency_hist_percentile_us(lv->alexdb_hist, 0.99), lv->raw_median,
             latency_hist_percentile_us(lv->raw_hist, 0.50),
             latency_hist_percentile_us(lv->raw_hist, 0.99), 100.0 * ratio,
             lv->lookup_count ? (double)lv->lookup_read_count / (double)lv->lookup_count : 0.0,
             100.0 * (double)lv->hit_count / (double)(lv->hit_count + lv->miss_count + !lv->miss_count),
             lv->miss_count ? (double)lv->lookup_read_count / (double)lv->miss_count : 0.0);
    /* db_bench's line for the medians: one op per (median ops/sec)^-1 seconds. */
    uint64_t per_s = (uint64_t)(lv->alexdb_median + 0.5);
    index_bench_report_line(name, per_s, 1000000000ULL, "ops/sec", tail);
}

static int run_level(cold_ctx *c, ib_cold_level *lv)
{
    uint32_t rounds = c->b->opt.round_count;
    for (uint32_t round = 0; round < rounds; round++) {
        bool raw_first = round % 2 == 0; /* ABBA: drift within a round favours neither */
        int rc = raw_first ? run_raw(c, lv, round) : run_alexdb(c, lv, round);
        if (rc == ALEXDB_OK) rc = raw_first ? run_alexdb(c, lv, round) : run_raw(c, lv, round);
        if (rc != ALEXDB_OK) return rc;
        double raw = lv->raw_iops[round], db = lv->alexdb_ops_per_s[round];
        printf("  %u thread%s round %u/%u: raw %.0f IOPS  alexdb %.0f ops/s (%.1f%%)  [%s first]\n",
               lv->thread_count, lv->thread_count == 1 ? "" : "s", round + 1, rounds, raw, db,
               raw > 0 ? 100.0 * db / raw : 0.0, raw_first ? "raw" : "alexdb");
    }
    lv->alexdb_median = bench_median(lv->alexdb_ops_per_s, rounds);
    lv->raw_median = bench_median(lv->raw_iops, rounds);
    report_level(lv);
    return ALEXDB_OK;
}

int index_bench_cold_run(ib_bench *b)
{
    cold_ctx c = {.b = b};
    index_bench_keys_init(&c.keys, b->opt.shape, b->opt.cold_key_count, b->opt.seed);
    cold_names(&c);
    c.target.raw_fd = -1;
    int rc = cold_prepare(&c);
    if (rc == ALEXDB_OK) rc = cold_warm_cache(&c);
    for (uint32_t i = 0; i < b->opt.cold_threads_count && rc == ALEXDB_OK; i++) {
        ib_cold_level *lv = &b->cold.levels[i];
        lv->thread_count = b->opt.cold_threads[i];
        lv->alexdb_hist = calloc(1, sizeof(latency_hist));
        lv->raw_hist = calloc(1, sizeof(latency_hist));
        if (lv->alexdb_hist == NULL || lv->raw_hist == NULL)
            rc = index_bench_errorf(ALEXDB_NOMEM, "out of memory for histograms");
        if (rc == ALEXDB_OK) rc = run_level(&c, lv);
    }
    if (c.target.raw_fd >= 0) close(c.target.raw_fd);
    if (c.db != NULL) {
        int close_rc = alexdb_close(c.db);
        if (rc == ALEXDB_OK && close_rc != ALEXDB_OK) rc = index_bench_fail("alexdb_close", close_rc);
    }
    b->cold.ran = rc == ALEXDB_OK;
    return rc;
}

void index_bench_cold_free(ib_bench *b)
{
    for (uint32_t i = 0; i < IB_COLD_THREADS_COUNT_MAX; i++) {
        free(b->cold.levels[i].alexdb_hist);
        free(b->cold.levels[i].raw_hist);
        b->cold.levels[i].alexdb_hist = NULL;
        b->cold.levels[i].raw_hist = NULL;
    }
}
