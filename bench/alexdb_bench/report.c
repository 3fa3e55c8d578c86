/*
 * report.c: what alexdb-bench prints. Per job, fio's shape: `read: IOPS=.., BW=..`, a
 * `lat (usec)` line (min, max, avg, stdev), the percentiles 1 .. 99.99, for YCSB the same
 * per op kind, then the engine's counters (per op, from the engine where it reports them,
 * its own named counters such as RocksDB's tickers, and from /proc/self/io for every
 * engine). With several engines a side-by-side table of ops/s with each engine's
 * ratio to alexdb. --output-format=json prints one JSON document instead of all that.
 *
 * "% of device": where the raw engine (one 4 KiB O_DIRECT io_uring I/O per key op, one
 * in flight per thread) ran the same job, each engine's ops/s is also given as a percent
 * of raw's. Above 100 % the engine did better than one device I/O per op (its cache, its
 * batching); below, it spent more than the device's time per op.
 *
 * Entry points: ab_report_job_text(), ab_report_table(), ab_report_json(),
 * ab_device_fraction().
 */
#include "alexdb_bench.h"

static const double ab_percentiles[] = {1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99};
#define AB_PERCENTILE_COUNT (sizeof(ab_percentiles) / sizeof(ab_percentiles[0]))

static double rate_of(const ab_result *r, double count)
{
    return r->seconds > 0 ? count / r->seconds : 0;
}

static double counter_delta(const ab_result *r, size_t offset)
{
    double before = *(const double *)((const char *)&r->before + offset);
    double after = *(const double *)((const char *)&r->after + offset);
    return before < 0 || after < 0 ? -1 : after - before;
}
#define DELTA(r, field) counter_delta((r), offsetof(ab_counters, field))

/* What the engine's own counter i (ab_counters.stats) did over the job; -1 if unknown. */
static double stat_delta(const ab_result *r, uint32_t i)
{
    AB_ASSERT(i < r->after.stat_count && r->before.stat_count == r->after.stat_count);
    double before = r->before.stats[i], after = r->after.stats[i];
    if (r->after.stat_level[i]) return after; /* a level: its value after the job */
    return before < 0 || after < 0 || after < before ? -1 : after - before;
}

/* The derived counters; -1 where unknown. */
typedef struct ab_derived {
    double device_reads_per_op, device_writes_per_op, cache_hit_ratio, commits_per_sync;
    double io_read_bytes_per_op, io_write_bytes_per_op, write_amp, space_amp, index_bytes_per_key;
    double inner_bytes_per_leaf_page; /* index bytes / pages below the index */
    double engine_write_amp;    /* the engine's own bytes written / key+value bytes put */
} ab_derived;

static ab_derived derive(const ab_result *r)
{
    ab_derived d;
    double ops = (double)r->op_count, items = (double)r->item_count;
    double user_bytes = (double)r->job->key_count * (8.0 + r->job->value_size);
    double hits = DELTA(r, cache_hit_count), misses = DELTA(r, cache_miss_count);
    double commits = DELTA(r, commit_count), syncs = DELTA(r, sync_count);
    double reads = DELTA(r, device_read_count), writes = DELTA(r, device_write_count);
    d.device_reads_per_op = reads >= 0 && ops > 0 ? reads / ops : -1;
    d.device_writes_per_op = writes >= 0 && ops > 0 ? writes / ops : -1;
    d.cache_hit_ratio = hits >= 0 && misses >= 0 && hits + misses > 0 ? hits / (hits + misses) : -1;
    d.commits_per_sync = commits > 0 && syncs > 0 ? commits / syncs : -1;
    d.io_read_bytes_per_op = r->io_read_bytes >= 0 && ops > 0 ? r->io_read_bytes / ops : -1;
    d.io_write_bytes_per_op = r->io_write_bytes >= 0 && ops > 0 ? r->io_write_bytes / ops : -1;
    double put_bytes = items * (8.0 + r->job->value_size), engine_writes = DELTA(r, write_size);
    d.write_amp = ab_rw_writes(r->job->rw) && r->io_write_bytes >= 0 && items > 0
                      ? r->io_write_bytes / put_bytes : -1;
    d.engine_write_amp = ab_rw_writes(r->job->rw) && engine_writes >= 0 && items > 0
                             ? engine_writes / put_bytes : -1;
    d.space_amp = r->disk_size > 0 ? r->disk_size / user_bytes : -1;
    d.index_bytes_per_key = r->after.index_size >= 0 && r->after.key_count > 0
                                ? r->after.index_size / r->after.key_count : -1;
    d.inner_bytes_per_leaf_page = r->after.index_size >= 0 && r->after.leaf_page_count > 0
                                      ? r->after.index_size / r->after.leaf_page_count : -1;
    return d;
}

static void print_opt(const char *label, double v, const char *fmt_suffix, double scale)
{
    if (v < 0) printf(" %s=-", label);
    else printf(" %s=%.3g%s", label, v * scale, fmt_suffix);
}

double ab_device_fraction(const ab_result *r, const ab_result *raw)
{
    if (raw == NULL || !raw->ran || !r->ran) return -1;
    double raw_s = rate_of(raw, (double)raw->op_count);
    return raw_s > 0 ? rate_of(r, (double)r->op_count) / raw_s : -1;
}

/* "12.3 %" or "4567 %": three significant digits at most, then whole percents. */
static const char *format_percent(double fraction, char *buf, size_t buf_size)
{
    double pct = fraction * 100;
    snprintf(buf, buf_size, pct < 10 ? "%.2f %%" : pct < 100 ? "%.1f %%" : "%.0f %%", pct);
    return buf;
}

/* "lat (usec): min, max, avg, stdev" and the percentiles, as fio prints them. */
static void print_lat(const ab_lat *lat, const char *indent)
{
    printf("%slat (usec): min=%.2f, max=%.2f, avg=%.2f, stdev=%.2f\n", indent, lat->min_us, lat->max_us,
           lat->avg_us, lat->stdev_us);
    printf("%slat percentiles (usec):", indent);
    for (size_t i = 0; i < AB_PERCENTILE_COUNT; i++) {
        if (i % 6 == 0) printf("\n%s |", indent);
        printf(" %5.2fth=[%.2f]%s", ab_percentiles[i],
               latency_hist_percentile_us(lat->hist, ab_percentiles[i] / 100.0),
               i + 1 < AB_PERCENTILE_COUNT ? "," : "");
    }
    printf("\n");
}

/* YCSB: each kind that ran, fio-style (its IOPS over the job's time, then its latencies). */
static void print_kinds(const ab_result *r)
{
    for (int k = 0; k < AB_KIND_COUNT; k++) {
        const ab_lat *lat = &r->kind_lat[k];
        if (lat->op_count == 0) continue;
        char rate[32];
        printf("    ycsb %s: IOPS=%s (%" PRIu64 " ops, %.1f %% of the job's)\n", ab_kind_name(k),
               bench_format_rate(rate_of(r, (double)lat->op_count), rate, sizeof(rate)), lat->op_count,
               100.0 * (double)lat->op_count / (double)r->op_count);
        print_lat(lat, "      ");
    }
}

/* The engine's counters, its own named ones, and the OS's. */
static void print_counters(const ab_result *r)
{
    ab_derived d = derive(r);
    printf("    engine:");
    print_opt("device_reads/op", d.device_reads_per_op, "", 1);
    print_opt("device_writes/op", d.device_writes_per_op, "", 1);
    print_opt("cache_hit", d.cache_hit_ratio, "%", 100);
    print_opt("commits/fdatasync", d.commits_per_sync, "", 1);
    print_opt("index_bytes/key", d.index_bytes_per_key, "", 1);
    print_opt("inner_bytes/leaf_page", d.inner_bytes_per_leaf_page, "", 1);
    print_opt("write_amp", d.engine_write_amp, "", 1);
    if (r->group_job_count > 1) printf(" (group of %u jobs)", r->group_job_count);
    if (r->after.stat_count > 0) {
        size_t prefix_size = strlen(r->engine); /* "rocksdb: block.cache.hit=.." */
        printf("\n    %s:", r->engine);
        for (uint32_t i = 0; i < r->after.stat_count; i++) {
            const char *name = r->after.stat_names[i];
            if (strncmp(name, r->engine, prefix_size) == 0 && name[prefix_size] == '.') name += prefix_size + 1;
            double v = stat_delta(r, i);
            if (v < 0) printf(" %s=-", name);
            else if (v == (double)(uint64_t)v) printf(" %s=%.0f", name, v);
            else printf(" %s=%.4g", name, v);
        }
    }
    printf("\n    os:");
    print_opt("read_bytes/op", d.io_read_bytes_per_op, "", 1);
    print_opt("write_bytes/op", d.io_write_bytes_per_op, "", 1);
    print_opt("write_amp", d.write_amp, "", 1);
    print_opt("space_amp", d.space_amp, "", 1);
    if (r->group_job_count > 1) printf(" (group of %u jobs)", r->group_job_count);
    printf("\n");
}

/* "12.3 MB/s" of bytes over seconds, or "-" when either is unknown. */
static const char *format_mb_s(double bytes, double seconds, char *buf, size_t buf_size)
{
    if (bytes < 0 || seconds <= 0) snprintf(buf, buf_size, "-");
    else snprintf(buf, buf_size, "%.1f MB/s", bytes / 1e6 / seconds);
    return buf;
}

/* bulkload and recover (load.c): one call each, so no latency percentiles. */
static void print_special(const ab_result *r)
{
    char rate[32], a[32], b[32];
    bench_format_rate(rate_of(r, (double)r->item_count), rate, sizeof(rate));
    if (r->job->rw == AB_RW_BULKLOAD) {
        printf("  bulkload: %s keys/s (%" PRIu64 " sorted keys in one load, %.3f s; then every key read back "
               "and checked in %.2f s)\n", rate, r->item_count, r->seconds, r->verify_seconds);
        return;
    }
    printf("  recover: open=%.3f s after a crash (a child filled %" PRIu64 " keys in %.2f s and exited "
           "without closing); every key then read back and checked in %.2f s\n", r->seconds, r->item_count,
           r->fill_seconds, r->verify_seconds);
    if (r->log_file_size < 0) {
        printf("    log: none (the engine keeps no log to replay)\n");
        return;
    }
    printf("    log: %u file%s, %.1f MB on disk before the open: %s of open", r->log_file_count,
           r->log_file_count == 1 ? "" : "s", r->log_file_size / 1e6, format_mb_s(r->log_file_size, r->seconds, a, sizeof(a)));
    if (r->replay_size >= 0 && r->replay_seconds > 0)
        printf("\n    replay: the engine replayed %.1f MB in %.3f s of the open: %s (%s of the whole open)",
               r->replay_size / 1e6, r->replay_seconds, format_mb_s(r->replay_size, r->replay_seconds, b, sizeof(b)),
               format_mb_s(r->replay_size, r->seconds, a, sizeof(a)));
    else if (r->replay_size >= 0)
        printf("\n    replay: the engine replayed %.1f MB: %s of open", r->replay_size / 1e6,
               format_mb_s(r->replay_size, r->seconds, b, sizeof(b)));
    printf("\n");
}

void ab_report_job_text(const ab_result *r, const ab_result *raw)
{
    const ab_job *job = r->job;
    char rate[32], bw[32];
    double ops_s = rate_of(r, (double)r->op_count), items_s = rate_of(r, (double)r->item_count);
    printf("%s: (engine=%s, rw=%s, keys=%" PRIu64 ", value_size=%u, threads=%u, distribution=%s, "
           "key_shape=%s, group=%u)\n", job->name, r->engine, ab_rw_name(job->rw), job->key_count,
           job->value_size, job->thread_count, ab_dist_name(ab_job_dist(job)), ab_shape_name(job->key_shape),
           r->group);
    if (ab_rw_special(job->rw)) {
        print_special(r);
        print_counters(r);
        return;
    }
    bench_format_rate(ops_s, rate, sizeof(rate));
    printf("  %s: IOPS=%s, BW=%.1fMB/s (%.1fMiB/s) (%" PRIu64 " ops, %" PRIu64 " keys, %.2f s)\n",
           ab_rw_writes(job->rw) ? "write" : ab_rw_ycsb(job->rw) ? "mixed" : "read", rate, items_s * (8.0 + job->value_size) / 1e6,
           items_s * (8.0 + job->value_size) / 1048576.0, r->op_count, r->item_count, r->seconds);
    double device = ab_device_fraction(r, raw);
    if (device >= 0) {
        char pct[32], raw_rate[32];
        printf("    device: %s of raw (raw: IOPS=%s on this job, one 4 KiB O_DIRECT read or write per "
               "key op)\n", format_percent(device, pct, sizeof(pct)),
               bench_format_rate(rate_of(raw, (double)raw->op_count), raw_rate, sizeof(raw_rate)));
    }
    if (job->rw == AB_RW_MULTIGET)
        printf("    multiget: batches/s=%s, keys/s=%s (iodepth=%u keys per batch, %s%s)\n", rate,
               bench_format_rate(items_s, bw, sizeof(bw)), job->iodepth,
               r->multi_get_name != NULL ? "native: " : "a loop of gets",
               r->multi_get_name != NULL ? r->multi_get_name : "");
    else if (r->item_count != r->op_count)
        printf("    keys/s=%s\n", bench_format_rate(items_s, bw, sizeof(bw)));
    if (job->rw == AB_RW_READWHILEWRITING) {
        char wrate[32];
        double w_s = r->writer_seconds > 0 ? (double)r->writer_op_count / r->writer_seconds : 0;
        printf("    writer (1 thread, overwrite, not in the figures above): IOPS=%s (%" PRIu64 " ops, %.2f s)\n",
               bench_format_rate(w_s, wrate, sizeof(wrate)), r->writer_op_count, r->writer_seconds);
    }
    if (ab_rw_ycsb(job->rw)) {
        printf("    ycsb ops:");
        for (int k = 0; k < AB_KIND_COUNT; k++)
            printf(" %s=%" PRIu64, ab_kind_name(k), r->kind_lat[k].op_count);
        printf("\n");
    }
    if (r->notfound_count > 0) printf("    not found: %" PRIu64 "\n", r->notfound_count);
    print_lat(&r->lat, "    ");
    if (ab_rw_ycsb(job->rw)) print_kinds(r);
    print_counters(r);
}

/* The % of device row under job j's row, when raw ran that job. */
static void table_device_row(const ab_result *results, uint32_t engine_count, uint32_t job_count,
                             uint32_t j, const ab_result *raw)
{
    if (raw == NULL || !raw->ran) return;
    printf("%-20s", "  % of device");
    for (uint32_t e = 0; e < engine_count; e++) {
        char pct[32];
        double device = ab_device_fraction(&results[e * job_count + j], raw);
        printf(" %18s", device >= 0 ? format_percent(device, pct, sizeof(pct)) : "-");
    }
    printf("\n");
}

void ab_report_table(const ab_result *results, uint32_t engine_count, uint32_t job_count)
{
    int alexdb_column = -1, raw_column = -1;
    for (uint32_t e = 0; e < engine_count; e++) {
        if (strcmp(results[e * job_count].engine, "alexdb") == 0) alexdb_column = (int)e;
        if (strcmp(results[e * job_count].engine, "raw") == 0) raw_column = (int)e;
    }
    printf("\nops/s (ratio to alexdb; >1 means faster than alexdb)\n");
    if (raw_column >= 0)
        printf("%% of device: ops/s as a percent of raw's on the same job (raw: one 4 KiB O_DIRECT "
               "io_uring I/O per key op)\n");
    printf("%-20s", "job");
    for (uint32_t e = 0; e < engine_count; e++) printf(" %18s", results[e * job_count].engine);
    printf("\n");
    for (uint32_t j = 0; j < job_count; j++) {
        printf("%-20s", results[j].job->name);
        for (uint32_t e = 0; e < engine_count; e++) {
            const ab_result *r = &results[e * job_count + j];
            char rate[32], cell[48];
            if (!r->ran) { printf(" %18s", "-"); continue; }
            double ops_s = rate_of(r, (double)r->op_count);
            bench_format_rate(ops_s, rate, sizeof(rate));
            const ab_result *base = alexdb_column >= 0 ? &results[(uint32_t)alexdb_column * job_count + j] : NULL;
            double base_s = base != NULL && base->ran ? rate_of(base, (double)base->op_count) : 0;
            if (base_s > 0) snprintf(cell, sizeof(cell), "%s (%.2fx)", rate, ops_s / base_s);
            else snprintf(cell, sizeof(cell), "%s", rate);
            printf(" %18s", cell);
        }
        printf("\n");
        table_device_row(results, engine_count, job_count, j,
                         raw_column >= 0 ? &results[(uint32_t)raw_column * job_count + j] : NULL);
    }
}

static void json_num(const char *name, double v, const char *after)
{
    if (v < 0) printf("\"%s\": null%s", name, after);
    else printf("\"%s\": %.6g%s", name, v, after);
}

/* JSON's names of the YCSB kinds (ab_kind_name() with '_' for '-'). */
static const char *const ab_json_kind_names[AB_KIND_COUNT] = {"read", "update", "insert", "scan",
                                                              "read_modify_write"};

/* {min, max, mean, stddev, percentile: {..}} in us; every figure null for an empty set. */
static void json_lat(const ab_lat *lat)
{
    bool empty = lat->hist == NULL || lat->op_count == 0;
    printf("{");
    json_num("min", empty ? -1 : lat->min_us, ", ");
    json_num("max", empty ? -1 : lat->max_us, ", ");
    json_num("mean", empty ? -1 : lat->avg_us, ", ");
    json_num("stddev", empty ? -1 : lat->stdev_us, ", \"percentile\": {");
    for (size_t i = 0; i < AB_PERCENTILE_COUNT; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%.6f", ab_percentiles[i]);
        json_num(name, empty ? -1 : latency_hist_percentile_us(lat->hist, ab_percentiles[i] / 100.0),
                 i + 1 < AB_PERCENTILE_COUNT ? ", " : "}}");
    }
}

/* The counters of one result: derived figures, then the engine's own under its names. */
static void json_counters(const ab_result *r)
{
    ab_derived d = derive(r);
    printf("     \"counters\": {");
    json_num("device_reads_per_op", d.device_reads_per_op, ", ");
    json_num("device_writes_per_op", d.device_writes_per_op, ", ");
    json_num("cache_hit_ratio", d.cache_hit_ratio, ", ");
    json_num("commits_per_fdatasync", d.commits_per_sync, ", ");
    json_num("index_bytes_per_key", d.index_bytes_per_key, ", ");
    json_num("inner_bytes_per_leaf_page", d.inner_bytes_per_leaf_page, ", ");
    json_num("os_read_bytes_per_op", d.io_read_bytes_per_op, ", ");
    json_num("os_write_bytes_per_op", d.io_write_bytes_per_op, ", ");
    json_num("write_amplification", d.write_amp, ", ");
    json_num("space_amplification", d.space_amp, ", ");
    json_num("engine_write_amplification", d.engine_write_amp, ", ");
    printf("\"scope\": \"%s\", \"group_jobs\": %u,\n       \"engine_stats\": {",
           r->group_job_count > 1 ? "group" : "job", r->group_job_count);
    for (uint32_t i = 0; i < r->after.stat_count; i++)
        json_num(r->after.stat_names[i], stat_delta(r, i), i + 1 < r->after.stat_count ? ", " : "");
    printf("}}}");
}

/* "bulkload": {..} and "recover": {..} (null for the other jobs), then ",\n". */
static void json_special(const ab_result *r)
{
    bool ran = r->ran && ab_rw_special(r->job->rw);
    if (!ran || r->job->rw != AB_RW_BULKLOAD) printf("\"bulkload\": null, ");
    else {
        printf("\"bulkload\": {");
        json_num("seconds", r->seconds, ", ");
        json_num("verify_seconds", r->verify_seconds, "}, ");
    }
    if (!ran || r->job->rw != AB_RW_RECOVER) {
        printf("\"recover\": null,\n     ");
        return;
    }
    printf("\"recover\": {");
    json_num("open_seconds", r->seconds, ", ");
    json_num("fill_seconds", r->fill_seconds, ", ");
    json_num("verify_seconds", r->verify_seconds, ", ");
    json_num("log_file_bytes", r->log_file_size, ", ");
    printf("\"log_files\": %u, ", r->log_file_size >= 0 ? r->log_file_count : 0);
    json_num("log_file_mb_per_s", r->log_file_size >= 0 && r->seconds > 0 ? r->log_file_size / 1e6 / r->seconds : -1,
             ", ");
    json_num("replayed_bytes", r->replay_size, ", ");
    json_num("replay_seconds", r->replay_seconds, ", ");
    json_num("replay_mb_per_s", r->replay_size >= 0 && r->replay_seconds > 0 ? r->replay_size / 1e6 / r->replay_seconds
                                                                           : -1, ", ");
    json_num("replayed_mb_per_s", r->replay_size >= 0 && r->seconds > 0 ? r->replay_size / 1e6 / r->seconds : -1,
             "},\n     ");
}

static void json_result(const ab_result *r, const ab_result *raw)
{
    const ab_job *job = r->job;
    printf("    {\"jobname\": \"%s\", \"engine\": \"%s\", \"rw\": \"%s\", \"keys\": %" PRIu64
           ", \"value_size\": %u, \"threads\": %u, \"distribution\": \"%s\", \"key_shape\": \"%s\", "
           "\"iodepth\": %u, \"ok\": %s,\n",
           job->name, r->engine, ab_rw_name(job->rw), job->key_count, job->value_size, job->thread_count,
           ab_dist_name(ab_job_dist(job)), ab_shape_name(job->key_shape), job->iodepth,
           r->ran ? "true" : "false");
    printf("     \"ops\": %" PRIu64 ", \"keys_done\": %" PRIu64 ", \"notfound\": %" PRIu64 ", ", r->op_count,
           r->item_count, r->notfound_count);
    printf("\"group\": %u, ", r->group);
    json_num("start_s", r->ran ? r->start_s : -1, ", ");
    json_num("end_s", r->ran ? r->end_s : -1, ", ");
    json_num("seconds", r->seconds, ", ");
    json_num("iops", rate_of(r, (double)r->op_count), ", ");
    json_num("bw_bytes", rate_of(r, (double)r->item_count) * (8.0 + job->value_size), ", ");
    json_num("keys_per_s", rate_of(r, (double)r->item_count), ", ");
    json_num("writer_iops", r->writer_seconds > 0 ? (double)r->writer_op_count / r->writer_seconds : -1, ", ");
    json_num("fraction_of_device", raw == r ? -1 : ab_device_fraction(r, raw), ",\n     ");
    if (job->rw != AB_RW_MULTIGET) printf("\"multiget\": null, ");
    else if (r->multi_get_name == NULL) printf("\"multiget\": \"loop\", ");
    else printf("\"multiget\": \"native\", \"multiget_api\": \"%s\", ", r->multi_get_name);
    json_special(r);
    printf("\"ycsb_ops\": {");
    for (int k = 0; k < AB_KIND_COUNT; k++)
        printf("\"%s\": %" PRIu64 "%s", ab_json_kind_names[k], r->kind_lat[k].op_count,
               k + 1 < AB_KIND_COUNT ? ", " : "},\n");
    printf("     \"lat_us\": ");
    json_lat(&r->lat);
    printf(",\n     \"ycsb_kinds\": ");
    if (!ab_rw_ycsb(job->rw) || !r->ran) printf("null");
    for (int k = 0; k < AB_KIND_COUNT && ab_rw_ycsb(job->rw) && r->ran; k++) {
        const ab_lat *lat = &r->kind_lat[k];
        printf("%s\n       \"%s\": {\"ops\": %" PRIu64 ", ", k == 0 ? "{" : ",", ab_json_kind_names[k],
               lat->op_count);
        json_num("iops", rate_of(r, (double)lat->op_count), ", \"lat_us\": ");
        json_lat(lat);
        printf("}%s", k + 1 < AB_KIND_COUNT ? "" : "}");
    }
    printf(",\n");
    json_counters(r);
}

void ab_report_json(const ab_result *results, uint32_t engine_count, uint32_t job_count)
{
    int raw_column = -1;
    for (uint32_t e = 0; e < engine_count; e++)
        if (strcmp(results[e * job_count].engine, "raw") == 0) raw_column = (int)e;
    printf("{\n  \"program\": \"" AB_NAME "\",\n  \"jobs\": [\n");
    uint32_t printed = 0;
    for (uint32_t i = 0; i < engine_count * job_count; i++) {
        if (results[i].job == NULL) continue;
        if (printed++ > 0) printf(",\n");
        json_result(&results[i], raw_column >= 0 ? &results[(uint32_t)raw_column * job_count + i % job_count] : NULL);
    }
    printf("\n  ]\n}\n");
}
