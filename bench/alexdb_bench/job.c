/*
 * job.c: job files and options in fio's style. A job file has a [global] section and
 * one section per job, each line `key=value` (or a bare `key` for a flag), `#` and `;`
 * start comments. Each job is the defaults, then [global], then its own section, then
 * every `--key=value` of the command line (which therefore overrides every job). Sizes
 * take k/m/g (x1024), times s/m/h or ms/us (plain numbers are seconds).
 *
 * Entry point: ab_config_load(). The option list: bench/README.md "alexdb-bench".
 */
#include "alexdb_bench.h"

#include <ctype.h>
#include <errno.h>
#include <unistd.h>

#define AB_PAIR_COUNT_MAX 512u
#define AB_LINE_SIZE_MAX 1024u

typedef struct ab_pair {
    int section;        /* -1: [global] or the command line; else the job's index */
    char key[64];
    char value[AB_PATH_SIZE_MAX];
} ab_pair;

static const char *const ab_rw_names[AB_RW_COUNT] = {
    "fillseq", "fillrandom", "overwrite", "readrandom", "readseq", "scan",
    "multiget", "readwhilewriting", "ycsb-a", "ycsb-b", "ycsb-c", "ycsb-d", "ycsb-e", "ycsb-f",
    "bulkload", "recover",
};
static const char *const ab_shape_names[] = {"uniform", "sequential", "clustered"};
static const char *const ab_dist_names[] = {"uniform", "zipfian", "latest"};

const char *ab_rw_name(int rw)
{
    AB_ASSERT(rw >= 0 && rw < AB_RW_COUNT);
    return ab_rw_names[rw];
}

const char *ab_dist_name(int dist)
{
    AB_ASSERT(dist >= 0 && dist < 3);
    return ab_dist_names[dist];
}

const char *ab_shape_name(int shape)
{
    AB_ASSERT(shape >= 0 && shape < 3);
    return ab_shape_names[shape];
}

bool ab_rw_ycsb(int rw)
{
    return rw >= AB_RW_YCSB_A && rw <= AB_RW_YCSB_F;
}

int ab_job_dist(const ab_job *job)
{
    if (!ab_rw_ycsb(job->rw)) return job->dist;
    return job->rw == AB_RW_YCSB_D ? AB_DIST_LATEST : AB_DIST_ZIPFIAN;
}

bool ab_rw_writes(int rw)
{
    return rw == AB_RW_FILLSEQ || rw == AB_RW_FILLRANDOM || rw == AB_RW_OVERWRITE || rw == AB_RW_BULKLOAD;
}

bool ab_rw_special(int rw)
{
    return rw == AB_RW_BULKLOAD || rw == AB_RW_RECOVER;
}

static int parse_u64_suffix(const char *text, uint64_t *out, bool is_time)
{
    errno = 0;
    char *end = NULL;
    double number = strtod(text, &end);
    if (errno != 0 || end == text || number < 0) return -1;
    double scale = is_time ? 1e9 : 1.0;
    if (is_time) {
        if (strcmp(end, "ms") == 0) scale = 1e6;
        else if (strcmp(end, "us") == 0) scale = 1e3;
        else if (strcmp(end, "m") == 0) scale = 60e9;
        else if (strcmp(end, "h") == 0) scale = 3600e9;
        else if (*end != '\0' && strcmp(end, "s") != 0) return -1;
    } else {
        char s = (char)tolower((unsigned char)*end);
        if (s == 'k') scale = 1024.0;
        else if (s == 'm') scale = 1024.0 * 1024.0;
        else if (s == 'g') scale = 1024.0 * 1024.0 * 1024.0;
        else if (s == 't') scale = 1024.0 * 1024.0 * 1024.0 * 1024.0;
        else if (s != '\0') return -1;
        if (s != '\0' && end[1] != '\0' && !(tolower((unsigned char)end[1]) == 'i' ||
                                            tolower((unsigned char)end[1]) == 'b'))
            return -1;
    }
    double v = number * scale;
    if (v > 1.8e19) return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_bool(const char *value, bool *out)
{
    if (*value == '\0' || strcmp(value, "1") == 0 || strcmp(value, "true") == 0) *out = true;
    else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0) *out = false;
    else return -1;
    return 0;
}

static int parse_name(const char *value, const char *const *names, int count, int *out)
{
    for (int i = 0; i < count; i++) {
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static int set_string(char *field, size_t field_size, const char *value)
{
    if (*value == '\0' || strlen(value) >= field_size) return -1;
    snprintf(field, field_size, "%s", value);
    return 0;
}

/* Applies one option to job: 0, or -1 for an unknown key or a bad value. */
static int job_set(ab_job *job, const char *key, const char *value)
{
    uint64_t n = 0;
    if (strcmp(key, "engine") == 0) return set_string(job->engine, sizeof(job->engine), value);
    if (strcmp(key, "directory") == 0) return set_string(job->directory, sizeof(job->directory), value);
    if (strcmp(key, "name") == 0) return set_string(job->name, sizeof(job->name), value);
    if (strcmp(key, "rw") == 0 || strcmp(key, "workload") == 0)
        return parse_name(value, ab_rw_names, AB_RW_COUNT, &job->rw);
    if (strcmp(key, "key_shape") == 0) return parse_name(value, ab_shape_names, 3, &job->key_shape);
    if (strcmp(key, "distribution") == 0) return parse_name(value, ab_dist_names, 3, &job->dist);
    if (strcmp(key, "stonewall") == 0 || strcmp(key, "wait_for_previous") == 0)
        return parse_bool(value, &job->stonewall);
    if (strcmp(key, "time_based") == 0) return parse_bool(value, &job->time_based);
    if (strcmp(key, "sync") == 0) return parse_bool(value, &job->sync);
    if (strcmp(key, "direct") == 0) return parse_bool(value, &job->direct);
    if (strcmp(key, "keep") == 0) return parse_bool(value, &job->keep);
    if (strcmp(key, "plant_wrong_value") == 0) return parse_bool(value, &job->plant_wrong_value);
    if (strcmp(key, "runtime") == 0) return parse_u64_suffix(value, &job->runtime_ns, true);
    if (strcmp(key, "ramp_time") == 0) return parse_u64_suffix(value, &job->ramp_ns, true);
    if (parse_u64_suffix(value, &n, false) != 0) return -1;
    if (strcmp(key, "keys") == 0 && n > 0) job->key_count = n;
    else if (strcmp(key, "value_size") == 0 && n > 0 && n <= AB_VALUE_SIZE_MAX) job->value_size = (uint32_t)n;
    else if ((strcmp(key, "threads") == 0 || strcmp(key, "numjobs") == 0) && n > 0 &&
             n <= AB_THREAD_COUNT_MAX) job->thread_count = (uint32_t)n;
    else if (strcmp(key, "ops") == 0) job->op_count = n;
    else if (strcmp(key, "cache_size") == 0 && n >= (256u << 10)) job->cache_size = n;
    else if (strcmp(key, "scan_length") == 0 && n > 0 && n <= AB_SCAN_LENGTH_MAX) job->scan_length = (uint32_t)n;
    else if (strcmp(key, "iodepth") == 0 && n > 0 && n <= AB_IODEPTH_MAX) job->iodepth = (uint32_t)n;
    else if (strcmp(key, "raw_size") == 0) job->raw_size = n;
    else if (strcmp(key, "seed") == 0) job->seed = n;
    else return -1;
    return 0;
}

static void job_defaults(ab_job *job)
{
    memset(job, 0, sizeof(*job));
    snprintf(job->engine, sizeof(job->engine), "alexdb");
    snprintf(job->directory, sizeof(job->directory), "/tmp/alexdb-bench");
    job->rw = AB_RW_FILLRANDOM;
    job->key_count = 100000;
    job->value_size = 100;
    job->thread_count = 1;
    job->cache_size = 64u << 20;
    job->scan_length = 100;
    job->iodepth = 16;
    job->seed = 1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1])) s[--len] = '\0';
    return s;
}

static int add_pair(ab_pair *pairs, uint32_t *count, int section, const char *key, const char *value)
{
    if (*count >= AB_PAIR_COUNT_MAX) return ab_errorf("more than %u options", AB_PAIR_COUNT_MAX);
    ab_pair *p = &pairs[(*count)++];
    p->section = section;
    if (set_string(p->key, sizeof(p->key), key) != 0) return ab_errorf("bad option name '%s'", key);
    if (strlen(value) >= sizeof(p->value)) return ab_errorf("value of %s too long", key);
    snprintf(p->value, sizeof(p->value), "%s", value);
    return 0;
}

/* Reads a job file into pairs and job names; -1 after printing where it went wrong. */
static int read_job_file(const char *path, ab_config *config, ab_pair *pairs, uint32_t *pair_count)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return ab_errorf("cannot open job file %s: %s", path, strerror(errno));
    char line[AB_LINE_SIZE_MAX];
    int section = -2, rc = 0; /* -2: before any section */
    for (uint32_t line_no = 1; rc == 0 && fgets(line, sizeof(line), f) != NULL; line_no++) {
        char *hash = strpbrk(line, "#;");
        if (hash != NULL) *hash = '\0';
        char *s = trim(line);
        if (*s == '\0') continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close == NULL) { rc = ab_errorf("%s:%u: missing ]", path, line_no); break; }
            *close = '\0';
            if (strcmp(s + 1, "global") == 0) { section = -1; continue; }
            if (config->job_count >= AB_JOB_COUNT_MAX) { rc = ab_errorf("%s: too many jobs", path); break; }
            section = (int)config->job_count++;
            rc = add_pair(pairs, pair_count, section, "name", s + 1);
            continue;
        }
        if (section == -2) { rc = ab_errorf("%s:%u: option before any [section]", path, line_no); break; }
        char *eq = strchr(s, '=');
        if (eq != NULL) *eq = '\0';
        rc = add_pair(pairs, pair_count, section, trim(s), eq != NULL ? trim(eq + 1) : "");
    }
    fclose(f);
    return rc;
}

static void usage(void)
{
    printf("usage: " AB_NAME " [--key=value ...] [jobfile]\n"
           "  Runs each job of the job file (or one job made of the options) and reports it\n"
           "  like fio. Every job-file option is also a --key=value, which overrides the file.\n"
           "  options: engine=alexdb|raw|lmdb|rocksdb|leveldb|sqlite|all|a,b,.. directory= rw=\n"
           "  (fillseq fillrandom overwrite readrandom readseq scan multiget readwhilewriting\n"
           "  ycsb-a .. ycsb-f bulkload recover) keys= value_size= key_shape=uniform|sequential|clustered\n"
           "  distribution=uniform|zipfian|latest threads= ops= runtime= time_based\n"
           "  ramp_time= cache_size= sync= direct= scan_length= iodepth=\n"
           "  raw_size= seed= keep= stonewall (else a job starts with the one before it);\n"
           "  --output-format=normal|json  --plot DIR (SVG plots)  --no-progress\n"
           "  Details: bench/README.md \"alexdb-bench\".\n");
}

/* --internal-recover-child=ENGINE,JOB,FD (load.c starts its child with it): 0 or -1. */
static int parse_recover_child(ab_config *config, const char *value)
{
    const char *comma = strchr(value, ',');
    if (comma == NULL || comma == value || (size_t)(comma - value) >= sizeof(config->recover_child_engine))
        return -1;
    memcpy(config->recover_child_engine, value, (size_t)(comma - value));
    config->recover_child_engine[comma - value] = '\0';
    unsigned job = 0;
    int fd = -1, used = 0;
    if (sscanf(comma + 1, "%u,%d%n", &job, &fd, &used) != 2 || comma[1 + used] != '\0' || fd < 0 ||
        job >= AB_JOB_COUNT_MAX)
        return -1;
    config->recover_child = true;
    config->recover_child_job = job;
    config->recover_child_fd = fd;
    return 0;
}

/* Applies the pairs of section (and of -1 when section is -1 only) to job. */
static int apply_pairs(ab_job *job, const ab_pair *pairs, uint32_t count, int section, bool cmdline)
{
    for (uint32_t i = 0; i < count; i++) {
        if (pairs[i].section != section) continue;
        if (job_set(job, pairs[i].key, pairs[i].value) != 0)
            return ab_errorf("bad option %s%s=%s", cmdline ? "--" : "", pairs[i].key, pairs[i].value);
    }
    return 0;
}

int ab_config_load(ab_config *config, int argc, char **argv)
{
    static ab_pair file_pairs[AB_PAIR_COUNT_MAX], cmd_pairs[AB_PAIR_COUNT_MAX];
    uint32_t file_count = 0, cmd_count = 0;
    const char *job_file = NULL;
    memset(config, 0, sizeof(*config));
    config->argc = argc;
    config->argv = argv;
    config->progress = isatty(STDERR_FILENO) == 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) { usage(); return 1; }
        if (strcmp(arg, "--no-progress") == 0) { config->progress = false; continue; }
        if (strcmp(arg, "--plot") == 0 || strncmp(arg, "--plot=", 7) == 0) {
            const char *dir = arg[6] == '=' ? arg + 7 : i + 1 < argc ? argv[++i] : "";
            if (set_string(config->plot_dir, sizeof(config->plot_dir), dir) != 0)
                return ab_errorf("--plot needs a directory");
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (job_file != NULL) return ab_errorf("more than one job file");
            job_file = arg;
            continue;
        }
        char key[64];
        const char *eq = strchr(arg + 2, '=');
        size_t key_len = eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (key_len == 0 || key_len >= sizeof(key)) return ab_errorf("bad option %s", arg);
        memcpy(key, arg + 2, key_len);
        key[key_len] = '\0';
        for (char *c = key; *c != '\0'; c++) if (*c == '-') *c = '_';
        const char *value = eq != NULL ? eq + 1 : "";
        if (strcmp(key, "internal_recover_child") == 0) {
            if (parse_recover_child(config, value) != 0) return ab_errorf("bad %s", arg);
            continue;
        }
        if (strcmp(key, "output_format") == 0) {
            if (strcmp(value, "json") == 0) config->json = true;
            else if (strcmp(value, "normal") != 0) return ab_errorf("bad --output-format=%s", value);
            continue;
        }
        if (add_pair(cmd_pairs, &cmd_count, -1, key, value) != 0) return -1;
    }
    if (config->recover_child) config->progress = false;
    if (job_file != NULL && read_job_file(job_file, config, file_pairs, &file_count) != 0) return -1;
    bool implicit = config->job_count == 0;
    if (implicit) config->job_count = 1;
    for (uint32_t j = 0; j < config->job_count; j++) {
        ab_job *job = &config->jobs[j];
        job_defaults(job);
        if (apply_pairs(job, file_pairs, file_count, -1, false) != 0 ||
            apply_pairs(job, file_pairs, file_count, (int)j, false) != 0 ||
            apply_pairs(job, cmd_pairs, cmd_count, -1, true) != 0)
            return -1;
        if (implicit && strcmp(job->name, "") == 0) snprintf(job->name, sizeof(job->name), "%s", ab_rw_name(job->rw));
        if (job->time_based && job->runtime_ns == 0) return ab_errorf("job %s: time_based needs runtime", job->name);
        if (job->rw == AB_RW_BULKLOAD && j > 0)
            return ab_errorf("job %s: bulkload loads an empty database, so it must be the first job", job->name);
        if (j > 0 && (strcmp(job->engine, config->jobs[0].engine) != 0 ||
                      strcmp(job->directory, config->jobs[0].directory) != 0 ||
                      job->cache_size != config->jobs[0].cache_size || job->sync != config->jobs[0].sync ||
                      job->direct != config->jobs[0].direct || job->raw_size != config->jobs[0].raw_size))
            return ab_errorf("job %s: engine, directory, cache_size, sync, direct and raw_size "
                             "belong in [global] (all jobs share one database)", job->name);
    }
    return 0;
}
