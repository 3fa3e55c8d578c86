/*
 * alexdb_bench.h: what the files of alexdb-bench (issue 6) share. alexdb-bench runs
 * fio-style job files against alexdb and its peers (RocksDB, LevelDB, LMDB, SQLite, and a
 * raw io_uring device engine) and reports each job like fio.
 *
 * Which file does what:
 *   main.c            the command line, the order of engines and jobs, exit status
 *   job.c             job files ([global], [job], key=value, suffixes) and options
 *   run.c             keys, values, distributions, the measured threads, /proc/self/io
 *   load.c            the jobs that are not a stream of ops: bulkload (one sorted load) and
 *                     recover (a child process fills and dies, the parent times the open)
 *   progress.c        the live progress line on a terminal (stderr)
 *   report.c          per-job text report, engine=all table, % of device, JSON
 *   plot.c            --plot DIR: hand-written SVG (throughput over time, latency CDF)
 *   engine_*.c        one engine each behind struct bench_engine (below)
 *
 * Every value is derived from its key (bench_value_fill), and every read checks it, so
 * a figure can never come from an engine that returns wrong bytes. Options, fairness
 * settings and the output: bench/README.md "alexdb-bench".
 */
#ifndef ALEXDB_BENCH_H
#define ALEXDB_BENCH_H

#include "bench_common.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AB_NAME "alexdb-bench"
#define AB_PATH_SIZE_MAX 512u
#define AB_JOB_COUNT_MAX 32u
#define AB_ENGINE_COUNT_MAX 8u
#define AB_THREAD_COUNT_MAX 256u
#define AB_VALUE_SIZE_MAX (1u << 20)
#define AB_SCAN_LENGTH_MAX 100000u
#define AB_IODEPTH_MAX 1024u
#define AB_NAME_SIZE_MAX 64u
#define AB_INTERVAL_NS 1000000000ULL   /* throughput over time: one count per second */
#define AB_INTERVAL_COUNT_MAX 3600u     /* the first hour of a job is recorded */

/* A broken invariant of the benchmark itself (never an engine's error): abort. */
#define AB_ASSERT(cond) ((cond) ? (void)0 : ab_assert_fail(#cond, __FILE__, __LINE__))
__attribute__((noreturn)) void ab_assert_fail(const char *cond, const char *file, int line);
/* Prints "alexdb-bench: error: ..." and returns -1. */
int ab_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t ab_now_ns(void);

/* Adding a workload? Also: ab_rw_names in job.c, the switch in run.c (a one-call job:
 * ab_rw_special and load.c), bench/README.md. */
enum ab_rw {
    AB_RW_FILLSEQ,
    AB_RW_FILLRANDOM,
    AB_RW_OVERWRITE,
    AB_RW_READRANDOM,
    AB_RW_READSEQ,
    AB_RW_SCAN,
    AB_RW_MULTIGET,          /* iodepth keys per op: the engine's multi_get, else a loop of gets */
    AB_RW_READWHILEWRITING,  /* threads readers + one overwrite writer */
    AB_RW_YCSB_A,            /* YCSB core workloads A..F, in this order */
    AB_RW_YCSB_B,
    AB_RW_YCSB_C,
    AB_RW_YCSB_D,
    AB_RW_YCSB_E,
    AB_RW_YCSB_F,
    AB_RW_BULKLOAD,          /* keys sorted keys in one call (load.c); runs alone */
    AB_RW_RECOVER,           /* a child fills and _exits, the open after it is timed (load.c); alone */
    AB_RW_COUNT,
};

enum ab_key_shape { AB_KEYS_UNIFORM, AB_KEYS_SEQUENTIAL, AB_KEYS_CLUSTERED };
enum ab_dist { AB_DIST_UNIFORM, AB_DIST_ZIPFIAN, AB_DIST_LATEST };
#define AB_CLUSTER_BITS 10u   /* key_shape=clustered: 1024 consecutive keys per cluster */

/* One job: [global] merged with its own section, then the command line on top. */
typedef struct ab_job {
    char name[AB_NAME_SIZE_MAX];
    char engine[AB_NAME_SIZE_MAX];     /* alexdb, raw, lmdb, rocksdb, leveldb, sqlite, all, or a list: alexdb,raw */
    char directory[AB_PATH_SIZE_MAX];  /* databases go to <directory>/<engine> */
    int rw;                            /* enum ab_rw */
    uint64_t key_count;                /* keys: how many distinct keys the fill writes */
    uint32_t value_size;               /* bytes */
    int key_shape;                     /* enum ab_key_shape */
    int dist;                          /* enum ab_dist; zipfian is scrambled, theta 0.99 */
    uint32_t thread_count;             /* threads / numjobs */
    uint64_t op_count;                 /* ops: 0 = key_count (fills always write each key once) */
    uint64_t runtime_ns;               /* runtime: 0 = no limit */
    bool time_based;                   /* run for runtime whatever op_count says */
    uint64_t ramp_ns;                  /* ramp_time: run unmeasured first */
    uint64_t cache_size;               /* bytes, the same for every engine that has a cache */
    bool sync;                         /* every write durable before it returns */
    bool direct;                       /* O_DIRECT where the engine supports it */
    uint32_t scan_length;              /* keys per scan (YCSB E: at most this many) */
    uint32_t iodepth;                  /* multiget: keys per batch */
    uint64_t raw_size;                 /* the raw engine's file; 0 = key_count blocks, >= 64 MiB */
    uint64_t seed;
    bool keep;                         /* keep the databases after the run */
    bool stonewall;                    /* wait for every earlier job before starting */
    bool plant_wrong_value;            /* test only: reads flip a byte, so the check must fail */
} ab_job;

typedef struct ab_config {
    ab_job jobs[AB_JOB_COUNT_MAX];
    uint32_t job_count;
    bool json;                         /* --output-format=json */
    bool progress;                     /* the progress line: stderr is a terminal, no --no-progress */
    char plot_dir[AB_PATH_SIZE_MAX];   /* --plot DIR; "" = no plots */
    int argc;                          /* the command line, which a recover job's child */
    char **argv;                       /* process is started with (load.c) */
    /* --internal-recover-child=ENGINE,JOB,FD: this process is that child (load.c) */
    bool recover_child;
    char recover_child_engine[AB_NAME_SIZE_MAX];
    uint32_t recover_child_job;
    int recover_child_fd;
} ab_config;

/* job.c */
int ab_config_load(ab_config *config, int argc, char **argv); /* 0, -1 error, 1 --help */
const char *ab_rw_name(int rw);
const char *ab_dist_name(int dist);
const char *ab_shape_name(int shape);
bool ab_rw_writes(int rw);
bool ab_rw_ycsb(int rw);
/* bulkload and recover: one timed call each, not a stream of ops; they run alone. */
bool ab_rw_special(int rw);
/* The distribution the job's draws use: YCSB's own for ycsb-* (D latest, else zipfian). */
int ab_job_dist(const ab_job *job);

/* ---- Engines ---- */

#define AB_ENGINE_STAT_COUNT_MAX 16u

/* Counters an engine may report; a field it cannot know stays at -1. All are cumulative
 * since the engine's open: the report gives what changed over a job. */
typedef struct ab_counters {
    double device_read_count;
    double device_write_count;
    double cache_hit_count;
    double cache_miss_count;
    double commit_count;               /* writes that waited for a sync of the log */
    double sync_count;                 /* the log syncs made for them */
    double index_size;
    double key_count;
    double write_size;                 /* bytes the engine wrote to its files (log, pages,
                                        * flushes, compactions): its own write amplification */
    double leaf_page_count;            /* pages below the index (alexdb's leaves, LMDB's leaf
                                        * pages): index_size / this is inner bytes per leaf page */
    double log_replay_size;            /* bytes of log the last open replayed (alexdb) */
    double log_replay_ns;              /* the part of that open spent reading and applying them */
    /* The engine's own counters under its own names (RocksDB's statistics tickers,
     * LevelDB's properties, LMDB's mdb_stat, SQLite's sqlite3_db_status), reported as they
     * are; stat_names are static strings, a value it lacks is -1. A counter counts up and
     * the report gives what it did over the job; a level (stat_level[i], e.g. LMDB's tree
     * depth) is a state, and the report gives its value after the job. */
    uint32_t stat_count;
    const char *stat_names[AB_ENGINE_STAT_COUNT_MAX];
    double stats[AB_ENGINE_STAT_COUNT_MAX];
    bool stat_level[AB_ENGINE_STAT_COUNT_MAX];
} ab_counters;

/* Called for each key a scan visits: 0 to go on, -1 to stop with an error. */
typedef int (*ab_scan_visit_fn)(void *arg, uint64_t key, const void *value, size_t value_size);
/* Called by a native multi-get once per key, in the order of the keys: value is NULL when
 * the key is absent. 0 to go on, -1 to stop with an error. */
typedef int (*ab_multi_visit_fn)(void *arg, uint32_t index, const void *value, size_t value_size);

/* What a bulk load loads: count pairs, keys strictly increasing, values[i] of value_sizes[i]
 * bytes (all made before the load is timed, so only the engine's work is measured). */
typedef struct ab_load {
    const uint64_t *keys;
    const void *const *values;
    const size_t *value_sizes;
    uint64_t count;
} ab_load;

/*
 * One engine: a database handle shared by all threads (db) and one context per thread
 * (ctx) for what cannot be shared (LMDB transactions, SQLite connections, io_uring rings).
 * Every call returns 0, 1 for "not found" (get only) or -1 after printing why.
 * Adding an engine? Also: ab_engines in main.c, CMakeLists.txt here, bench/README.md.
 */
typedef struct bench_engine {
    const char *name;
    bool ordered;   /* scans return keys in increasing order (all but raw) */
    int (*open)(const ab_job *job, const char *dir, void **db_out);
    /* job: the job the thread runs (concurrent jobs share db but not their options). */
    int (*thread_open)(void *db, const ab_job *job, void **ctx_out);
    void (*thread_close)(void *ctx);
    int (*put)(void *ctx, uint64_t key, const void *value, size_t value_size);
    int (*get)(void *ctx, uint64_t key, void *buf, size_t buf_size, size_t *value_size_out);
    /* Visits up to count keys >= start in increasing key order; *visited_out says how many. */
    int (*scan)(void *ctx, uint64_t start, uint32_t count, ab_scan_visit_fn visit, void *arg,
                uint32_t *visited_out);
    void (*counters)(void *db, ab_counters *out); /* may be NULL */
    int (*close)(void *db);
    /* Optional: the engine's native multi-get of count (<= AB_IODEPTH_MAX) keys; NULL: the
     * runner loops over get, and the report says which. */
    int (*multi_get)(void *ctx, const uint64_t *keys, uint32_t count, ab_multi_visit_fn visit, void *arg);
    /* Optional: loads sorted pairs into the empty db by the engine's fastest honest path,
     * durable when it returns (rw=bulkload); NULL: the engine cannot (raw). */
    int (*bulk_load)(void *db, const ab_load *load);
    /* Optional: makes every write that returned survive the death of the process (not of
     * the machine), for rw=recover; NULL: the engine's writes already reach the OS. */
    int (*flush)(void *db);
    /* rw=recover: the engine reopens an existing database (all but raw, whose open
     * zero-fills its file); and which files of its directory are the log that the open
     * replays (names that start with log_prefix and end with log_suffix; NULL: it has no
     * log, as LMDB). */
    bool can_recover;
    const char *log_prefix;
    const char *log_suffix;
    /* How the engine runs multiget, for the report: "native (rocksdb_batched_multi_get_cf)";
     * NULL means a loop of gets. */
    const char *multi_get_name;
} bench_engine;

extern const bench_engine ab_engine_alexdb;
extern const bench_engine ab_engine_raw;
#ifdef ALEXDB_BENCH_HAVE_LMDB
extern const bench_engine ab_engine_lmdb;
#endif
#ifdef ALEXDB_BENCH_HAVE_ROCKSDB
extern const bench_engine ab_engine_rocksdb;
#endif
#ifdef ALEXDB_BENCH_HAVE_LEVELDB
extern const bench_engine ab_engine_leveldb;
#endif
#ifdef ALEXDB_BENCH_HAVE_SQLITE
extern const bench_engine ab_engine_sqlite;
#endif

/* ---- Keys and values (run.c) ---- */

/* The key with index (0..key_count-1) for the job's key shape; bijective. */
uint64_t ab_key_of(const ab_job *job, uint64_t index);
/* The inverse of ab_key_of (the raw engine maps keys back to blocks with it). */
uint64_t ab_index_of(const ab_job *job, uint64_t key);
/* Fills buf with key's value of value_size bytes. */
void ab_value_fill(uint64_t key, void *buf, size_t value_size);
/* 0 if value is key's value of the job's size, else -1 (after printing why). */
int ab_value_check(const ab_job *job, uint64_t key, const void *value, size_t value_size);
/* Big-endian bytes of key: memcmp order is key order (the peers compare bytes). */
void ab_key_encode(uint64_t key, unsigned char out[8]);
uint64_t ab_key_decode(const unsigned char in[8]);

/* ---- Results (run.c fills, report.c prints) ---- */

/* The kinds of a YCSB op, each with its own latencies. Adding one? Also ab_kind_name(). */
enum ab_kind { AB_KIND_READ, AB_KIND_UPDATE, AB_KIND_INSERT, AB_KIND_SCAN, AB_KIND_RMW, AB_KIND_COUNT };
/* "read", "update", "insert", "scan", "read-modify-write". */
const char *ab_kind_name(int kind);

/* The latencies of a set of measured ops: all of a job's, or one YCSB kind's. */
typedef struct ab_lat {
    uint64_t op_count;
    double min_us, max_us, avg_us, stdev_us; /* exact (not from the histogram); 0 if no op */
    latency_hist *hist;                /* owned; NULL where the set is not recorded */
} ab_lat;

typedef struct ab_result {
    char engine[AB_NAME_SIZE_MAX];
    const ab_job *job;
    bool ran;
    uint64_t op_count;                 /* measured ops (a scan is one op) */
    uint64_t item_count;               /* keys read or written (a scan's keys all count) */
    uint64_t notfound_count;
    double seconds;
    ab_lat lat;                        /* every measured op */
    ab_lat kind_lat[AB_KIND_COUNT];    /* YCSB: each kind's ops (hist NULL for other jobs) */
    double io_read_bytes, io_write_bytes; /* /proc/self/io over the job */
    ab_counters before, after;
    double disk_size;                  /* bytes under the engine's directory after the job */
    /* readwhilewriting: the writer thread (the figures above are the readers') */
    uint64_t writer_op_count;
    double writer_seconds;
    uint32_t group;                    /* jobs of one group run at the same time */
    uint32_t group_job_count;          /* jobs in its group; above 1 the engine's and the OS's
                                        * counters (before, after, io_*) cover them all */
    double start_s, end_s;             /* its threads' release and its last op, in s from the
                                        * engine's first release */
    /* ops completed in each AB_INTERVAL_NS since the measurement began (owned); the last
     * interval lasts last_interval_s (it may be cut short by the job's end) */
    uint64_t *interval_counts;
    uint32_t interval_count;
    double last_interval_s;
    const char *multi_get_name;        /* the engine's native multi-get; NULL: a loop of gets */
    /* rw=recover (seconds is the open's time): the log files in the directory before the
     * open (-1: the engine has no log), what the engine says it replayed (-1: it does not
     * say), and the check after the open of every key (seconds) */
    double log_file_size;
    uint32_t log_file_count;
    double replay_size;
    double replay_seconds;             /* the part of the open the engine says was the log */
    double verify_seconds;
    double fill_seconds;               /* the child's fill */
} ab_result;

/* Frees what a result owns (its histograms and interval counts). */
void ab_result_free(ab_result *result);

/* Keys a database holds beyond index key_count-1: YCSB D and E insert indexes key_count +
 * claimed, ...; done counts finished inserts (the newest for distribution=latest). The
 * caller keeps one per database, shared by concurrent jobs. */
typedef struct ab_inserts {
    _Atomic uint64_t claimed;
    _Atomic uint64_t done;
} ab_inserts;

/* Runs jobs[0..job_count) at the same time, each with its own threads, on one database
 * (fio without stonewall) into results[0..job_count). *origin_ns: the engine's first
 * release (0: this group's becomes it), for ab_result.start_s and end_s. 0, or -1 if any
 * job failed. */
int ab_run_group(const bench_engine *engine, void *db, const ab_job *jobs, uint32_t job_count,
                 ab_inserts *inserts, uint64_t *origin_ns, ab_result *results);
uint64_t ab_dir_size(const char *dir);
/* The engine's counters (every field -1 first, so what it does not fill is unknown). */
void ab_counters_read(const bench_engine *engine, void *db, ab_counters *out);
/* /proc/self/io's read_bytes and write_bytes (-1 each when unreadable): 0 or -1. */
int ab_proc_io(double *read_bytes, double *write_bytes);
/* Bytes and count of the files directly in dir whose names start with prefix and end with
 * suffix; -1 if dir cannot be read. */
int ab_dir_files_size(const char *dir, const char *prefix, const char *suffix, uint64_t *size_out,
                      uint32_t *count_out);
int ab_remove_tree(const char *dir);

/* load.c. bulkload: builds the job's keys sorted and their values (untimed), times the
 * engine's bulk_load into the empty db, then reads back and checks every key. 0 or -1. */
int ab_run_bulkload(const bench_engine *engine, void *db, const ab_job *job, ab_result *result);
/* recover: closes *db, empties dir, starts a child (this program again, with
 * --internal-recover-child) that fills the job's keys and exits without closing, times
 * engine->open of what it left in *db (the next jobs run on it), then reads back and
 * checks every key. *db is NULL after a failed reopen. 0 or -1. */
int ab_run_recover(const bench_engine *engine, const ab_config *config, uint32_t job_index, const char *dir,
                   void **db, ab_result *result);
/* The child's side: open dir, fill, flush, tell the parent, _exit. Returns only on error. */
int ab_recover_child_main(const bench_engine *engine, const ab_config *config);

/* progress.c: what one running job shows on the progress line. */
typedef struct ab_progress_job {
    const char *job_name;
    const char *engine;
    const _Atomic uint64_t *op_count;     /* ops done so far, ramp included */
    const _Atomic uint32_t *thread_count; /* its threads still running; 0 = finished */
    uint64_t op_budget;                   /* UINT64_MAX: none */
    uint64_t start_ns, deadline_ns;       /* deadline_ns UINT64_MAX: none */
} ab_progress_job;

void ab_progress_enable(bool enabled);
/* Rewrites the line (\r) for jobs; the caller calls it about once a second. */
void ab_progress_show(const ab_progress_job *jobs, uint32_t job_count, uint64_t now_ns);
/* Erases the line (before anything else goes to the terminal). */
void ab_progress_clear(void);

/* report.c. raw: the raw engine's result of the same job, or NULL (no "% of device"). */
void ab_report_job_text(const ab_result *result, const ab_result *raw);
void ab_report_table(const ab_result *results, uint32_t engine_count, uint32_t job_count);
void ab_report_json(const ab_result *results, uint32_t engine_count, uint32_t job_count);
/* The result's ops/s as a fraction of raw's on the same job (1 = the device's rate), or
 * -1 when raw did not run it. */
double ab_device_fraction(const ab_result *result, const ab_result *raw);

/* plot.c: <dir>/<job>-throughput.svg and <dir>/<job>-latency.svg for every job. */
int ab_plot_write(const char *dir, const ab_result *results, uint32_t engine_count, uint32_t job_count);

#endif /* ALEXDB_BENCH_H */
