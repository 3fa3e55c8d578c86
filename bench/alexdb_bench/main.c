/*
 * main.c: alexdb-bench (issue 6), the fio-style benchmark of alexdb and its peers. For
 * each engine of the job (engine=all: every engine this build has, or a list such as alexdb,raw; the raw engine
 * runs first, so the others can be reported as a fraction of it) it makes an empty
 * database in <directory>/<engine>, runs the jobs on it group by group (a job without
 * stonewall starts together with the one before it, as in fio), reports each, closes and
 * removes it (bulkload and recover, load.c, run alone). With more than one engine it ends with a side-by-side table of ops/s,
 * ratios to alexdb and % of device; --plot DIR then writes the SVG plots.
 *
 * Exit status: 0 when every job ran and every value read back was right; 1 on an
 * engine's error or a wrong value; 2 on a bad option or job file.
 * Entry point: main(). Options and fairness: bench/README.md "alexdb-bench".
 */
#include "alexdb_bench.h"

#include <errno.h>
#include <sys/stat.h>

/* engine=all runs these in this order; alexdb first, the device last. */
static const bench_engine *const ab_engines[] = {
    &ab_engine_alexdb,
#ifdef ALEXDB_BENCH_HAVE_ROCKSDB
    &ab_engine_rocksdb,
#endif
#ifdef ALEXDB_BENCH_HAVE_LEVELDB
    &ab_engine_leveldb,
#endif
#ifdef ALEXDB_BENCH_HAVE_LMDB
    &ab_engine_lmdb,
#endif
#ifdef ALEXDB_BENCH_HAVE_SQLITE
    &ab_engine_sqlite,
#endif
    &ab_engine_raw,
};
#define AB_ENGINE_TABLE_COUNT (sizeof(ab_engines) / sizeof(ab_engines[0]))
_Static_assert(AB_ENGINE_TABLE_COUNT <= AB_ENGINE_COUNT_MAX, "engine table too long");

/* name: one engine, "all", or a comma-separated list ("alexdb,raw"); the engines run in
 * the table's order whatever the list's order, each once. */
static int select_engines(const char *name, const bench_engine **out, uint32_t *count_out)
{
    *count_out = 0;
    bool wanted[AB_ENGINE_TABLE_COUNT] = {false};
    bool all = strcmp(name, "all") == 0;
    for (const char *s = name; !all;) {
        const char *comma = strchr(s, ',');
        size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
        bool known = false;
        for (size_t i = 0; i < AB_ENGINE_TABLE_COUNT; i++) {
            if (strlen(ab_engines[i]->name) == n && strncmp(s, ab_engines[i]->name, n) == 0) wanted[i] = known = true;
        }
        if (!known) {
            fprintf(stderr, AB_NAME ": error: engine %.*s is not built here; built:", (int)n, s);
            for (size_t i = 0; i < AB_ENGINE_TABLE_COUNT; i++) fprintf(stderr, " %s", ab_engines[i]->name);
            fprintf(stderr, " (all, or a list: alexdb,raw)\n");
            return -1;
        }
        if (comma == NULL) break;
        s = comma + 1;
    }
    for (size_t i = 0; i < AB_ENGINE_TABLE_COUNT; i++) {
        if (all || wanted[i]) out[(*count_out)++] = ab_engines[i];
    }
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return ab_errorf("mkdir %s: %s", path, strerror(errno));
    return 0;
}

/* Runs the group jobs[begin..end) (a bulkload or recover job is a group of its own). */
static int run_group(const bench_engine *engine, const ab_config *config, const char *dir, void **db,
                     uint32_t begin, uint32_t end, ab_inserts *inserts, uint64_t *origin_ns, ab_result *results)
{
    const ab_job *job = &config->jobs[begin];
    if (job->rw == AB_RW_BULKLOAD) {
        AB_ASSERT(end == begin + 1);
        return ab_run_bulkload(engine, *db, job, &results[begin]);
    }
    if (job->rw == AB_RW_RECOVER) {
        AB_ASSERT(end == begin + 1);
        *inserts = (ab_inserts){0}; /* a fresh database: no YCSB inserts yet */
        return ab_run_recover(engine, config, begin, dir, db, &results[begin]);
    }
    return ab_run_group(engine, *db, job, end - begin, inserts, origin_ns, &results[begin]);
}

/* Runs every job on one engine into results[0..job_count), group by group: a job starts
 * with the one before it unless it has stonewall (fio's rule); bulkload and recover run
 * alone. raw: the raw engine's results of the same jobs, or NULL, for "% of device". */
static int run_engine(const bench_engine *engine, const ab_config *config, ab_result *results,
                      const ab_result *raw)
{
    const ab_job *first = &config->jobs[0];
    char dir[AB_PATH_SIZE_MAX + AB_NAME_SIZE_MAX + 2];
    snprintf(dir, sizeof(dir), "%s/%s", first->directory, engine->name);
    if (make_dir(first->directory) != 0 || ab_remove_tree(dir) != 0 || make_dir(dir) != 0) return -1;
    void *db = NULL;
    if (engine->open(first, dir, &db) != 0) return -1;
    int rc = 0;
    ab_inserts inserts = {0}; /* YCSB D/E inserts, kept across the jobs on this database */
    uint64_t origin_ns = 0;
    for (uint32_t begin = 0, group = 0; begin < config->job_count && rc == 0; group++) {
        uint32_t end = begin + 1;
        while (end < config->job_count && !config->jobs[end].stonewall && !ab_rw_special(config->jobs[begin].rw) &&
               !ab_rw_special(config->jobs[end].rw))
            end++;
        for (uint32_t j = begin; j < end; j++) {
            results[j].group = group;
            results[j].multi_get_name = engine->multi_get != NULL ? engine->multi_get_name : NULL;
        }
        rc = run_group(engine, config, dir, &db, begin, end, &inserts, &origin_ns, results);
        double disk_size = (double)ab_dir_size(dir);
        for (uint32_t j = begin; j < end; j++) {
            if (results[j].group_job_count == 0) results[j].group_job_count = 1;
            results[j].disk_size = disk_size;
            if (!config->json && results[j].ran)
                ab_report_job_text(&results[j], raw != NULL ? &raw[j] : NULL);
        }
        fflush(stdout);
        begin = end;
    }
    if (db != NULL && engine->close(db) != 0) rc = -1;
    if (!first->keep && ab_remove_tree(dir) != 0) rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    static ab_config config;
    int rc = ab_config_load(&config, argc, argv);
    if (rc != 0) return rc > 0 ? 0 : 2;
    const bench_engine *engines[AB_ENGINE_COUNT_MAX];
    uint32_t engine_count = 0;
    if (config.recover_child) { /* this process is a recover job's child (load.c) */
        if (select_engines(config.recover_child_engine, engines, &engine_count) != 0 || engine_count != 1) return 2;
        return ab_recover_child_main(engines[0], &config) == 0 ? 0 : 1;
    }
    if (select_engines(config.jobs[0].engine, engines, &engine_count) != 0) return 2;
    ab_progress_enable(config.progress);
    ab_result *results = calloc((size_t)engine_count * config.job_count, sizeof(ab_result));
    if (results == NULL) return ab_errorf("out of memory") != 0 ? 1 : 1;
    /* The raw engine (last in the table) runs first, so every later report can say how
     * close its engine came to the device on the same job. */
    bool raw_first = engine_count > 1 && engines[engine_count - 1] == &ab_engine_raw;
    const ab_result *raw = raw_first ? &results[(engine_count - 1) * config.job_count] : NULL;
    int status = 0;
    for (uint32_t step = 0; step < engine_count; step++) {
        uint32_t e = raw_first ? (step + engine_count - 1) % engine_count : step;
        ab_result *row = &results[e * config.job_count];
        for (uint32_t j = 0; j < config.job_count; j++) {
            row[j].job = &config.jobs[j];
            snprintf(row[j].engine, sizeof(row[j].engine), "%s", engines[e]->name);
        }
        if (run_engine(engines[e], &config, row, engines[e] == &ab_engine_raw ? NULL : raw) != 0) {
            fprintf(stderr, AB_NAME ": engine %s failed\n", engines[e]->name);
            status = 1;
        }
    }
    if (config.json) ab_report_json(results, engine_count, config.job_count);
    else if (engine_count > 1) ab_report_table(results, engine_count, config.job_count);
    if (config.plot_dir[0] != '\0' && ab_plot_write(config.plot_dir, results, engine_count, config.job_count) != 0)
        status = 1;
    for (uint32_t i = 0; i < engine_count * config.job_count; i++) ab_result_free(&results[i]);
    free(results);
    return status;
}
