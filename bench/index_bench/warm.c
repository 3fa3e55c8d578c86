/*
 * warm.c: the single-thread, warm-cache phases of alexdb-index-bench, in this order:
 *   bulkload    alexdb_bulk_load of the sorted keys into a fresh database (<dir>/bulk);
 *               only the call is timed.
 *   fillrandom  a fresh database (<dir>/fill) with sync = 0, alexdb_put of every key in
 *               a seeded random order; the loop (value generation included) is timed.
 *   readrandom  on the last database written (fill if it ran, else bulk; built by an
 *               untimed bulk load if neither ran): every key read once and checked (the
 *               warm-up), then alexdb_get of uniformly drawn keys for --seconds.
 *   scan        on the same database: seek to a random existing key, read 100 keys and
 *               their values through one reused iterator, for --seconds.
 * Every database gets --warm-cache (1 GiB by default: larger than the data), and after
 * each write phase its alexdb_checkpoint is timed and reported apart, then alexdb_check runs.
 * Latency is timed on one op in IB_LATENCY_SAMPLE_EVERY to keep the clock out of the
 * throughput. Every get checks every value byte; scans check every key and every
 * value's size and first word, and every byte of every value on one scan in
 * IB_SCAN_FULL_CHECK_EVERY (bench/README.md says why).
 *
 * Entry point: index_bench_warm_run().
 */
#include "index_bench.h"

#include <inttypes.h>

typedef struct warm_ctx {
    ib_bench *b;
    ib_keys keys;
    uint64_t *sorted; /* every key, increasing: bulk load input, scan starts and checks */
    alexdb *db;       /* the database readrandom and scan use */
    const char *db_name;
    char path[IB_PATH_SIZE_MAX];
} warm_ctx;

static int open_fresh(warm_ctx *w, const char *name)
{
    IB_ASSERT(w->db == NULL);
    int n = snprintf(w->path, sizeof(w->path), "%s/%s", w->b->opt.dir, name);
    IB_ASSERT(n > 0 && (size_t)n < sizeof(w->path)); /* dir is bounded at parse time */
    int rc = index_bench_remove_db_dir(w->path);
    if (rc != ALEXDB_OK) return rc;
    alexdb_options options;
    alexdb_options_init(&options);
    options.cache_bytes = w->b->opt.warm_cache_size;
    options.sync = 0;
    rc = alexdb_open(w->path, &options, &w->db);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_open", rc);
    w->db_name = name;
    return ALEXDB_OK;
}

static int close_db(warm_ctx *w)
{
    if (w->db == NULL) return ALEXDB_OK;
    int rc = alexdb_close(w->db);
    w->db = NULL;
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_close", rc);
    return w->b->opt.keep ? ALEXDB_OK : index_bench_remove_db_dir(w->path);
}

static int stats_checked(alexdb *db, struct alexdb_stats *stats_out)
{
    int rc = alexdb_stats(db, stats_out);
    return rc == ALEXDB_OK ? ALEXDB_OK : index_bench_fail("alexdb_stats", rc);
}

/* After a write phase: the checkpoint (timed apart), the full check, the statistics. */
static int settle(warm_ctx *w, struct alexdb_stats *stats_out)
{
    uint64_t t0 = index_bench_now_ns();
    int rc = alexdb_checkpoint(w->db);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_checkpoint", rc);
    double sync_s = index_bench_seconds_since(t0);
    t0 = index_bench_now_ns();
    rc = alexdb_check(w->db);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_check", rc);
    double check_s = index_bench_seconds_since(t0);
    rc = stats_checked(w->db, stats_out);
    if (rc != ALEXDB_OK) return rc;
    if (stats_out->key_count != w->keys.count) {
        return index_bench_errorf(ALEXDB_CORRUPT, "%s db holds %" PRIu64 " keys, expected %" PRIu64,
                                  w->db_name, stats_out->key_count, w->keys.count);
    }
    printf("  then alexdb_checkpoint %.3f s, alexdb_check OK %.3f s\n", sync_s, check_s);
    char label[64];
    snprintf(label, sizeof(label), "%s db", w->db_name);
    index_bench_report_stats(label, stats_out);
    return ALEXDB_OK;
}

static int phase_bulkload(warm_ctx *w, bool report)
{
    int rc = open_fresh(w, "bulk");
    if (rc != ALEXDB_OK) return rc;
    ib_bulk_input in;
    rc = index_bench_bulk_input_make(&in, w->sorted, w->keys.count, w->b->opt.value_size);
    if (rc != ALEXDB_OK) return rc;
    uint64_t t0 = index_bench_now_ns();
    rc = alexdb_bulk_load(w->db, w->sorted, in.values, in.value_sizes, w->keys.count);
    uint64_t elapsed_ns = index_bench_now_ns() - t0;
    index_bench_bulk_input_free(&in);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_bulk_load", rc);
    if (report) {
        index_bench_report_line("bulkload", w->keys.count, elapsed_ns, "keys/sec",
                                "  (alexdb_bulk_load call only)");
        w->b->warm.bulk_ran = true;
        w->b->warm.bulk_keys_per_s = (double)w->keys.count * 1e9 / (double)elapsed_ns;
    } else {
        printf("  (built %s db for the reads by bulk load: %.3f s)\n", w->db_name,
               (double)elapsed_ns / 1e9);
    }
    return settle(w, &w->b->warm.bulk_stats);
}

static int phase_fillrandom(warm_ctx *w)
{
    uint64_t *order = index_bench_shuffled_keys(&w->keys, w->b->opt.seed);
    if (order == NULL) return ALEXDB_NOMEM;
    size_t value_size = w->b->opt.value_size;
    uint8_t *value = malloc(value_size > 0 ? value_size : 1);
    int rc = value == NULL ? index_bench_errorf(ALEXDB_NOMEM, "out of memory") : open_fresh(w, "fill");
    uint64_t t0 = index_bench_now_ns();
    for (uint64_t i = 0; i < w->keys.count && rc == ALEXDB_OK; i++) {
        index_bench_value_fill(value, value_size, order[i]);
        rc = alexdb_put(w->db, order[i], value, value_size);
        if (rc != ALEXDB_OK) rc = index_bench_fail("alexdb_put", rc);
    }
    uint64_t elapsed_ns = index_bench_now_ns() - t0;
    free(order);
    free(value);
    if (rc != ALEXDB_OK) return rc;
    index_bench_report_line("fillrandom", w->keys.count, elapsed_ns, "ops/sec",
                            "  (sync=0, random order, value generation included)");
    w->b->warm.fill_ran = true;
    w->b->warm.fill_ops_per_s = (double)w->keys.count * 1e9 / (double)elapsed_ns;
    return settle(w, &w->b->warm.fill_stats);
}

static int get_checked(alexdb *db, uint64_t key, uint8_t *buf, size_t value_size)
{
    size_t size = 0;
    int rc = alexdb_get(db, key, buf, value_size, &size);
    if (rc == ALEXDB_NOTFOUND)
        return index_bench_errorf(ALEXDB_CORRUPT, "get: key %" PRIu64 " not found", key);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_get", rc);
    if (size != value_size || !index_bench_value_check(buf, size, key)) {
        return index_bench_errorf(ALEXDB_CORRUPT, "get: key %" PRIu64 " read back a wrong value"
                                  " (%zu bytes, expected %zu)", key, size, value_size);
    }
    return ALEXDB_OK;
}

/* Every key once, in key-number order (random order for uniform keys), each checked. */
static int warm_up(warm_ctx *w, uint8_t *buf)
{
    uint64_t t0 = index_bench_now_ns();
    for (uint64_t i = 0; i < w->keys.count; i++) {
        int rc = get_checked(w->db, ib_key_at(&w->keys, i), buf, w->b->opt.value_size);
        if (rc != ALEXDB_OK) return rc;
    }
    printf("  warm-up: read and checked all %" PRIu64 " keys of the %s db in %.3f s\n",
           w->keys.count, w->db_name, index_bench_seconds_since(t0));
    return ALEXDB_OK;
}

static int timed_reads(warm_ctx *w, uint8_t *buf, latency_hist *hist, uint64_t *ops_out,
                       uint64_t *elapsed_ns_out)
{
    ib_rng rng;
    ib_rng_seed(&rng, w->b->opt.seed ^ 0x7eadULL);
    uint64_t start_ns = index_bench_now_ns();
    uint64_t deadline_ns = start_ns + (uint64_t)(w->b->opt.seconds * 1e9);
    uint64_t ops = 0;
    for (;;) {
        for (uint32_t j = 0; j < IB_DEADLINE_CHECK_EVERY; j++, ops++) {
            uint64_t key = ib_key_at(&w->keys, ib_rng_below(&rng, w->keys.count));
            bool timed = (ops & (IB_LATENCY_SAMPLE_EVERY - 1)) == 0;
            uint64_t t0 = timed ? index_bench_now_ns() : 0;
            int rc = get_checked(w->db, key, buf, w->b->opt.value_size);
            if (rc != ALEXDB_OK) return rc;
            if (timed) latency_hist_add(hist, index_bench_now_ns() - t0);
        }
        if (index_bench_now_ns() >= deadline_ns) break;
    }
    *ops_out = ops;
    *elapsed_ns_out = index_bench_now_ns() - start_ns;
    return ALEXDB_OK;
}

static int phase_readrandom(warm_ctx *w)
{
    uint8_t *buf = malloc(w->b->opt.value_size > 0 ? w->b->opt.value_size : 1);
    latency_hist *hist = calloc(1, sizeof(*hist));
    int rc = buf == NULL || hist == NULL ? index_bench_errorf(ALEXDB_NOMEM, "out of memory")
                                         : warm_up(w, buf);
    struct alexdb_stats before, after;
    if (rc == ALEXDB_OK) rc = stats_checked(w->db, &before);
    uint64_t ops = 0, elapsed_ns = 0;
    if (rc == ALEXDB_OK) rc = timed_reads(w, buf, hist, &ops, &elapsed_ns);
    if (rc == ALEXDB_OK) rc = stats_checked(w->db, &after);
    if (rc == ALEXDB_OK) {
        ib_warm_results *r = &w->b->warm;
        r->read_ran = true;
        r->read_ops_per_s = (double)ops * 1e9 / (double)elapsed_ns;
        r->read_p50_us = latency_hist_percentile_us(hist, 0.50);
        r->read_p99_us = latency_hist_percentile_us(hist, 0.99);
        char tail[160];
        snprintf(tail, sizeof(tail), " p50 %.2f us p99 %.2f us  (1 op in %u timed; every value "
                 "checked; %" PRIu64 " device reads)", r->read_p50_us, r->read_p99_us,
                 IB_LATENCY_SAMPLE_EVERY, after.device_read_count - before.device_read_count);
        index_bench_report_line("readrandom", ops, elapsed_ns, "ops/sec", tail);
    }
    free(buf);
    free(hist);
    return rc;
}

/* One scan of IB_SCAN_KEY_COUNT keys from sorted[first]; every key checked. */
static int scan_one(warm_ctx *w, alexdb_iter *it, uint64_t first, uint32_t length, bool full)
{
    alexdb_iter_seek(it, w->sorted[first]);
    size_t value_size = w->b->opt.value_size;
    for (uint32_t k = 0; k < length; k++, alexdb_iter_next(it)) {
        uint64_t want = w->sorted[first + k];
        if (!alexdb_iter_valid(it) || alexdb_iter_key(it) != want) {
            int st = alexdb_iter_status(it);
            if (st != ALEXDB_OK) return index_bench_fail("scan", st);
            return index_bench_errorf(ALEXDB_CORRUPT, "scan from key %" PRIu64 ": entry %u should "
                                      "be key %" PRIu64, w->sorted[first], k, want);
        }
        const void *value = NULL;
        size_t size = 0;
        alexdb_iter_value(it, &value, &size);
        bool ok = value != NULL && size == value_size &&
                  (full ? index_bench_value_check(value, size, want)
                        : index_bench_value_check_first(value, size, want));
        if (!ok) {
            return index_bench_errorf(ALEXDB_CORRUPT, "scan: key %" PRIu64 " has a wrong value"
                                      " (%zu bytes)", want, size);
        }
    }
    return ALEXDB_OK;
}

static int timed_scans(warm_ctx *w, alexdb_iter *it, latency_hist *hist, uint64_t *scans_out,
                       uint64_t *elapsed_ns_out)
{
    uint32_t length = (uint32_t)(w->keys.count < IB_SCAN_KEY_COUNT ? w->keys.count
                                                                   : IB_SCAN_KEY_COUNT);
    ib_rng rng;
    ib_rng_seed(&rng, w->b->opt.seed ^ 0x5ca7ULL);
    uint64_t start_ns = index_bench_now_ns();
    uint64_t deadline_ns = start_ns + (uint64_t)(w->b->opt.seconds * 1e9);
    uint64_t scans = 0;
    do {
        for (uint32_t j = 0; j < IB_DEADLINE_CHECK_EVERY / 16u; j++, scans++) {
            uint64_t first = ib_rng_below(&rng, w->keys.count - length + 1);
            bool timed = (scans & (IB_LATENCY_SAMPLE_EVERY - 1)) == 0;
            uint64_t t0 = timed ? index_bench_now_ns() : 0;
            /* Half a period apart: the timed scans are not the fully checked ones. */
            bool full = scans % IB_SCAN_FULL_CHECK_EVERY == IB_SCAN_FULL_CHECK_EVERY / 2;
            int rc = scan_one(w, it, first, length, full);
            if (rc != ALEXDB_OK) return rc;
            if (timed) latency_hist_add(hist, index_bench_now_ns() - t0);
        }
    } while (index_bench_now_ns() < deadline_ns);
    *scans_out = scans;
    *elapsed_ns_out = index_bench_now_ns() - start_ns;
    return ALEXDB_OK;
}

static int phase_scan(warm_ctx *w)
{
    alexdb_iter *it = NULL;
    int rc = alexdb_iter_open(w->db, &it);
    if (rc != ALEXDB_OK) return index_bench_fail("alexdb_iter_open", rc);
    latency_hist *hist = calloc(1, sizeof(*hist));
    uint64_t scans = 0, elapsed_ns = 0;
    rc = hist == NULL ? index_bench_errorf(ALEXDB_NOMEM, "out of memory")
                      : timed_scans(w, it, hist, &scans, &elapsed_ns);
    int close_rc = alexdb_iter_close(it);
    if (rc == ALEXDB_OK && close_rc != ALEXDB_OK) rc = index_bench_fail("alexdb_iter_close", close_rc);
    if (rc == ALEXDB_OK) {
        ib_warm_results *r = &w->b->warm;
        r->scan_ran = true;
        r->scan_per_s = (double)scans * 1e9 / (double)elapsed_ns;
        r->scan_p50_us = latency_hist_percentile_us(hist, 0.50);
        r->scan_p99_us = latency_hist_percentile_us(hist, 0.99);
        char tail[200];
        snprintf(tail, sizeof(tail), " p50 %.2f us p99 %.2f us  (seek + %u keys and values; "
                 "every key checked, every value's size and first word, all bytes 1 scan in %u)",
                 r->scan_p50_us, r->scan_p99_us, IB_SCAN_KEY_COUNT, IB_SCAN_FULL_CHECK_EVERY);
        index_bench_report_line("scan100", scans, elapsed_ns, "scans/sec", tail);
    }
    free(hist);
    return rc;
}

static int warm_phases(warm_ctx *w)
{
    unsigned phases = w->b->opt.phases;
    int rc = ALEXDB_OK;
    if (phases & IB_PHASE_BULKLOAD) rc = phase_bulkload(w, true);
    if (rc == ALEXDB_OK && (phases & IB_PHASE_FILLRANDOM)) {
        rc = close_db(w);
        if (rc == ALEXDB_OK) rc = phase_fillrandom(w);
    }
    if (rc == ALEXDB_OK && (phases & (IB_PHASE_READRANDOM | IB_PHASE_SCAN)) && w->db == NULL)
        rc = phase_bulkload(w, false);
    if (rc == ALEXDB_OK && (phases & (IB_PHASE_READRANDOM | IB_PHASE_SCAN))) {
        printf("reads and scans use the %s db\n", w->db_name);
    }
    if (rc == ALEXDB_OK && (phases & IB_PHASE_READRANDOM)) rc = phase_readrandom(w);
    if (rc == ALEXDB_OK && (phases & IB_PHASE_SCAN)) rc = phase_scan(w);
    return rc;
}

int index_bench_warm_run(ib_bench *b)
{
    const unsigned warm_phases_mask = IB_PHASE_ALL & ~(unsigned)IB_PHASE_COLD;
    if ((b->opt.phases & warm_phases_mask) == 0) return ALEXDB_OK;
    warm_ctx w = {.b = b};
    index_bench_keys_init(&w.keys, b->opt.shape, b->opt.key_count, b->opt.seed);
    printf("\nwarm phases: %" PRIu64 " %s keys, %zu-byte values, cache %.0f MiB, 1 thread, "
           "%g s per timed phase\n", w.keys.count, index_bench_shape_name(w.keys.shape),
           b->opt.value_size, (double)b->opt.warm_cache_size / 1048576.0, b->opt.seconds);
    uint64_t t0 = index_bench_now_ns();
    w.sorted = index_bench_sorted_keys(&w.keys);
    if (w.sorted == NULL) return ALEXDB_NOMEM;
    printf("  (keys generated and sorted in %.3f s, untimed)\n", index_bench_seconds_since(t0));
    int rc = warm_phases(&w);
    int close_rc = close_db(&w);
    free(w.sorted);
    return rc != ALEXDB_OK ? rc : close_rc;
}
