/*
 * run.c: one job on one engine. Keys are indexes 0..keys-1 mapped to u64 keys by the key
 * shape (uniform: a bijective mix, so keys spread over all of u64; sequential:
 * nanosecond timestamps 1 us apart; clustered: runs of 1024 consecutive keys, each run at a
 * mixed place in u64). Values are derived from the key, so every read is checked.
 * Requests draw an index uniformly, from a scrambled zipfian (YCSB's generator, theta
 * 0.99, ranks scattered by FNV-1a so hot keys are not neighbours), or from YCSB's latest
 * (the same zipfian's rank counted down from the newest index: the last fill index or
 * the last YCSB insert). multiget draws iodepth keys per op and asks the engine's native
 * multi-get for them where it has one (bench_engine.multi_get), else loops over get.
 *
 * readwhilewriting adds one writer thread to the job's readers; it overwrites until the
 * readers are done and is reported on its own. The YCSB workloads draw each op's kind
 * (read, update, insert, scan, read-modify-write) and time each op as one, into the job's
 * latencies and into its kind's (record(): ab_result.kind_lat); inserts take
 * fresh indexes after every key the database already holds.
 *
 * Threads claim ops from one shared counter in small batches, so a job with an op budget
 * does exactly that many ops whatever the thread count; fills claim indexes (fillseq in
 * index order, fillrandom through a permutation of the indexes), so each key is written
 * exactly once. Each thread times every op into its own histogram and counts it in its
 * own per-second interval array (throughput over time, for --plot); they are merged after.
 *
 * A group is the jobs that run at the same time (fio without stonewall): each job has its
 * own threads and gate; all gates open at one instant, and the starter sleeps on a
 * condition variable until the last thread of the group is done, waking once a second to
 * redraw the progress line. The engine's counters and /proc/self/io are read around the
 * whole group, so a job of a group of several gets the group's (group_job_count says so;
 * bench/README.md "Concurrent jobs" says why they are not split).
 *
 * Entry point: ab_run_group(). Also ab_key_of()/ab_index_of(), ab_value_*, ab_dir_size().
 */
#define _XOPEN_SOURCE 700
#include "alexdb_bench.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <sched.h>
#include <sys/stat.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define AB_CLAIM_BATCH 16u
#define AB_SEQ_BASE_NS 1700000000000000000ULL
#define AB_SEQ_STEP_NS 1000ULL
#define AB_MIX_K1 0xbf58476d1ce4e5b9ULL
#define AB_MIX_K2 0x94d049bb133111ebULL
#define AB_ZIPF_THETA 0.99
#define AB_CLUSTER_MASK ((1ULL << (64 - AB_CLUSTER_BITS)) - 1) /* cluster numbers: 54 bits */
#define AB_CLUSTER_SHIFT ((64 - AB_CLUSTER_BITS) / 2)          /* x ^= x >> 27 is an involution */

void ab_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, AB_NAME ": assertion failed: %s (%s:%d)\n", cond, file, line);
    abort();
}

int ab_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ab_progress_clear();
    fprintf(stderr, AB_NAME ": error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return -1;
}

uint64_t ab_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The inverse of an odd number modulo 2^64 (Newton's iteration doubles the good bits). */
static uint64_t mul_inverse(uint64_t a)
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++) x *= 2 - a * x;
    return x;
}

uint64_t ab_key_of(const ab_job *job, uint64_t index)
{
    if (job->key_shape == AB_KEYS_SEQUENTIAL) return AB_SEQ_BASE_NS + index * AB_SEQ_STEP_NS;
    if (job->key_shape == AB_KEYS_CLUSTERED) { /* a bijective mix of the cluster number, mod 2^54 */
        uint64_t c = (index >> AB_CLUSTER_BITS) * AB_MIX_K1 & AB_CLUSTER_MASK;
        c ^= c >> AB_CLUSTER_SHIFT;
        c = c * AB_MIX_K2 & AB_CLUSTER_MASK;
        c ^= c >> AB_CLUSTER_SHIFT;
        return c << AB_CLUSTER_BITS | (index & ((1ULL << AB_CLUSTER_BITS) - 1));
    }
    uint64_t x = index * AB_MIX_K1;
    x ^= x >> 32;
    x *= AB_MIX_K2;
    return x ^ (x >> 32);
}

uint64_t ab_index_of(const ab_job *job, uint64_t key)
{
    if (job->key_shape == AB_KEYS_SEQUENTIAL) return (key - AB_SEQ_BASE_NS) / AB_SEQ_STEP_NS;
    if (job->key_shape == AB_KEYS_CLUSTERED) {
        uint64_t c = key >> AB_CLUSTER_BITS;
        c ^= c >> AB_CLUSTER_SHIFT;
        c = c * mul_inverse(AB_MIX_K2) & AB_CLUSTER_MASK;
        c ^= c >> AB_CLUSTER_SHIFT;
        c = c * mul_inverse(AB_MIX_K1) & AB_CLUSTER_MASK;
        return c << AB_CLUSTER_BITS | (key & ((1ULL << AB_CLUSTER_BITS) - 1));
    }
    uint64_t x = key ^ (key >> 32);
    x *= mul_inverse(AB_MIX_K2);
    x ^= x >> 32;
    return x * mul_inverse(AB_MIX_K1);
}

void ab_value_fill(uint64_t key, void *buf, size_t value_size)
{
    unsigned char *out = buf;
    uint64_t word = key * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
    size_t offset = 0;
    for (; offset + 8 <= value_size; offset += 8) {
        memcpy(out + offset, &word, 8);
        word += 0x2545f4914f6cdd1dULL;
    }
    if (offset < value_size) memcpy(out + offset, &word, value_size - offset);
}

int ab_value_check(const ab_job *job, uint64_t key, const void *value, size_t value_size)
{
    unsigned char expect[AB_VALUE_SIZE_MAX > 65536 ? 65536 : AB_VALUE_SIZE_MAX];
    if (value_size != job->value_size)
        return ab_errorf("key %" PRIu64 ": value of %zu bytes, expected %u", key, value_size, job->value_size);
    size_t checked = value_size < sizeof(expect) ? value_size : sizeof(expect);
    ab_value_fill(key, expect, checked);
    if (memcmp(expect, value, checked) != 0) return ab_errorf("key %" PRIu64 ": wrong value", key);
    return 0;
}

void ab_key_encode(uint64_t key, unsigned char out[8])
{
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(key >> (56 - 8 * i));
}

uint64_t ab_key_decode(const unsigned char in[8])
{
    uint64_t key = 0;
    for (int i = 0; i < 8; i++) key = key << 8 | in[i];
    return key;
}

/* ---- Draws ---- */

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *state)
{
    return (double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* YCSB's ZipfianGenerator (Gray et al.) over n items, theta 0.99. */
typedef struct zipf {
    uint64_t n;
    double theta, alpha, zetan, eta, zeta2;
} zipf;

static void zipf_init(zipf *z, uint64_t n)
{
    z->n = n;
    z->theta = AB_ZIPF_THETA;
    double zetan = 0;
    for (uint64_t i = 1; i <= n; i++) zetan += 1.0 / pow((double)i, z->theta);
    z->zetan = zetan;
    z->zeta2 = 1.0 + 1.0 / pow(2.0, z->theta);
    z->alpha = 1.0 / (1.0 - z->theta);
    z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - z->theta)) / (1.0 - z->zeta2 / zetan);
}

static uint64_t zipf_next(const zipf *z, uint64_t *rng)
{
    double u = rng_unit(rng);
    double uz = u * z->zetan;
    if (uz < 1.0) return 0;
    if (uz < z->zeta2) return 1;
    uint64_t r = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
    return r < z->n ? r : z->n - 1;
}

static uint64_t fnv1a64(uint64_t v)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A permutation of [0, n): a bijection on the next power of two, walked until < n. */
static uint64_t permute(uint64_t i, uint64_t n, uint64_t seed)
{
    uint32_t bits = 1;
    while (bits < 64 && (1ULL << bits) < n) bits++;
    uint64_t mask = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
    uint64_t x = i;
    for (uint32_t bound = 0; bound < 1000000u; bound++) {
        x = (x * 0x9e3779b97f4a7c15ULL + seed) & mask; /* odd multiplier: bijective mod 2^bits */
        x ^= x >> (bits / 2 + 1);
        if (x < n) return x;
    }
    AB_ASSERT(!"permutation did not land in range");
    return 0;
}

/* ---- Threads ---- */

/* The jobs of one group: the starter sleeps on cond until running reaches 0. */
typedef struct ab_group {
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* on CLOCK_MONOTONIC, the clock of ab_now_ns() */
    uint32_t running;           /* threads of every job of the group not yet finished */
} ab_group;

struct ab_thread;

/* One job of a group: what its threads share. */
typedef struct ab_shared {
    const bench_engine *engine;
    void *db;
    const ab_job *job;
    ab_group *group;
    ab_result *result;
    struct ab_thread *threads;
    uint32_t thread_count, reader_count;
    zipf zipf;
    int dist;                   /* ab_job_dist() */
    uint64_t op_budget;         /* UINT64_MAX: until the deadline */
    ab_inserts *inserts;        /* the database's, shared with concurrent jobs */
    uint32_t interval_cap;      /* entries of each thread's interval_counts */
    _Atomic uint32_t readers_running; /* readwhilewriting: the writer stops at 0 */
    _Atomic uint32_t threads_running; /* the progress line: 0 = this job has finished */
    _Atomic bool writer_started;      /* readwhilewriting: the readers start after the writer */
    _Atomic uint64_t next_op;
    _Atomic uint64_t progress_ops;    /* ops done, ramp included, for the progress line */
    _Atomic bool failed;
    bench_gate gate;
    uint32_t created_count;     /* threads started */
    uint64_t start_ns, measure_ns, deadline_ns; /* set before the gate opens */
} ab_shared;

/* A thread's latencies of one set of ops (ab_lat once merged). */
typedef struct lat_acc {
    latency_hist *hist;
    uint64_t count, min_ns, max_ns;
    double sum_ns, sumsq_ns;
} lat_acc;

typedef struct ab_thread {
    pthread_t thread;
    ab_shared *shared;
    uint32_t index;
    bool writer;                /* readwhilewriting's writer */
    uint64_t rng;
    uint64_t seq_key;           /* readseq: where the next chunk starts (wraps at the end) */
    uint64_t op_count, item_count, notfound_count;
    lat_acc lat;                /* every measured op */
    lat_acc kind_lat[AB_KIND_COUNT]; /* YCSB: each kind's ops (hist NULL for other jobs) */
    int op_kind;                /* YCSB: enum ab_kind of the op just done */
    uint64_t last_op_ns;
    uint64_t *interval_counts;  /* measured ops ending in each AB_INTERVAL_NS */
    uint32_t interval_index;
    uint64_t interval_end_ns;
    unsigned char *buf;
    int rc;
} ab_thread;

const char *ab_kind_name(int kind)
{
    static const char *const names[AB_KIND_COUNT] = {"read", "update", "insert", "scan",
                                                     "read-modify-write"};
    AB_ASSERT(kind >= 0 && kind < AB_KIND_COUNT);
    return names[kind];
}

static uint64_t draw_index(ab_thread *t)
{
    const ab_shared *sh = t->shared;
    const ab_job *job = sh->job;
    if (sh->dist == AB_DIST_ZIPFIAN) return fnv1a64(zipf_next(&sh->zipf, &t->rng)) % job->key_count;
    if (sh->dist == AB_DIST_LATEST) { /* YCSB's SkewedLatestGenerator: newest first */
        uint64_t limit = job->key_count + atomic_load_explicit(&sh->inserts->done, memory_order_relaxed);
        uint64_t rank = zipf_next(&sh->zipf, &t->rng);
        return rank < limit ? limit - 1 - rank : 0;
    }
    return rng_next(&t->rng) % job->key_count;
}

typedef struct scan_state {
    const ab_job *job;
    uint64_t last_key;
    bool any;
    bool ordered;
} scan_state;

static int scan_visit(void *arg, uint64_t key, const void *value, size_t value_size)
{
    scan_state *s = arg;
    if (s->ordered && s->any && key <= s->last_key) {
        return ab_errorf("scan: key %" PRIu64 " after %" PRIu64, key, s->last_key);
    }
    s->any = true;
    s->last_key = key;
    return ab_value_check(s->job, key, value, value_size);
}

/* Gets key and checks its value (not found is counted, not an error): 0 or -1. */
static int read_one(ab_thread *t, void *ctx, uint64_t key)
{
    const ab_shared *sh = t->shared;
    const ab_job *job = sh->job;
    size_t size = 0;
    int rc = sh->engine->get(ctx, key, t->buf, AB_VALUE_SIZE_MAX, &size);
    t->item_count++;
    if (rc == 1) { t->notfound_count++; return 0; }
    if (rc != 0) return -1;
    if (job->plant_wrong_value && size > 0) t->buf[size - 1] ^= 1;
    return ab_value_check(job, key, t->buf, size);
}

typedef struct multi_state {
    ab_thread *t;
    const uint64_t *keys;
    uint32_t next;              /* the index the engine must visit next: every key, in order */
} multi_state;

/* A native multi-get's answer for keys[index], checked as read_one checks a get. */
static int multi_visit(void *arg, uint32_t index, const void *value, size_t value_size)
{
    multi_state *m = arg;
    ab_thread *t = m->t;
    const ab_job *job = t->shared->job;
    if (index != m->next) return ab_errorf("multi-get: answer for key %u, expected %u", index, m->next);
    m->next++;
    t->item_count++;
    if (value == NULL) { t->notfound_count++; return 0; }
    if (!job->plant_wrong_value || value_size == 0 || value_size > AB_VALUE_SIZE_MAX)
        return ab_value_check(job, m->keys[index], value, value_size);
    memcpy(t->buf, value, value_size); /* the engine's buffer is not ours to flip */
    t->buf[value_size - 1] ^= 1;
    return ab_value_check(job, m->keys[index], t->buf, value_size);
}

/* One multiget op: iodepth drawn keys through the engine's native multi-get, or a loop of
 * gets where it has none. Every value is checked either way. */
static int multi_get(ab_thread *t, void *ctx)
{
    const ab_shared *sh = t->shared;
    const ab_job *job = sh->job;
    AB_ASSERT(job->iodepth > 0 && job->iodepth <= AB_IODEPTH_MAX);
    if (sh->engine->multi_get == NULL) {
        for (uint32_t i = 0; i < job->iodepth; i++)
            if (read_one(t, ctx, ab_key_of(job, draw_index(t))) != 0) return -1;
        return 0;
    }
    uint64_t keys[AB_IODEPTH_MAX];
    for (uint32_t i = 0; i < job->iodepth; i++) keys[i] = ab_key_of(job, draw_index(t));
    multi_state m = {.t = t, .keys = keys, .next = 0};
    if (sh->engine->multi_get(ctx, keys, job->iodepth, multi_visit, &m) != 0) return -1;
    if (m.next != job->iodepth) return ab_errorf("multi-get: %u answers for %u keys", m.next, job->iodepth);
    return 0;
}

static int write_one(ab_thread *t, void *ctx, uint64_t key)
{
    const ab_job *job = t->shared->job;
    ab_value_fill(key, t->buf, job->value_size);
    t->item_count++;
    return t->shared->engine->put(ctx, key, t->buf, job->value_size);
}

/* Scans count keys from start, checking values (and order where the engine has one). */
static int scan_keys(ab_thread *t, void *ctx, uint64_t start, uint32_t count, scan_state *s)
{
    uint32_t visited = 0;
    if (t->shared->engine->scan(ctx, start, count, scan_visit, s, &visited) != 0) return -1;
    t->item_count += visited;
    return 0;
}

/* One op of a YCSB core workload: its kind drawn with YCSB's proportions. */
static int do_ycsb(ab_thread *t, void *ctx)
{
    ab_shared *sh = t->shared;
    const ab_job *job = sh->job;
    uint64_t pct = rng_next(&t->rng) % 100;
    int kind = AB_KIND_READ;
    switch (job->rw) {
    case AB_RW_YCSB_A: kind = pct < 50 ? AB_KIND_READ : AB_KIND_UPDATE; break;
    case AB_RW_YCSB_B: kind = pct < 95 ? AB_KIND_READ : AB_KIND_UPDATE; break;
    case AB_RW_YCSB_C: kind = AB_KIND_READ; break;
    case AB_RW_YCSB_D: kind = pct < 95 ? AB_KIND_READ : AB_KIND_INSERT; break;
    case AB_RW_YCSB_E: kind = pct < 95 ? AB_KIND_SCAN : AB_KIND_INSERT; break;
    case AB_RW_YCSB_F: kind = pct < 50 ? AB_KIND_READ : AB_KIND_RMW; break;
    default: AB_ASSERT(!"not a YCSB workload");
    }
    t->op_kind = kind; /* record() times the op into this kind's latencies too */
    switch (kind) {
    case AB_KIND_READ: return read_one(t, ctx, ab_key_of(job, draw_index(t)));
    case AB_KIND_UPDATE: return write_one(t, ctx, ab_key_of(job, draw_index(t)));
    case AB_KIND_INSERT: {
        uint64_t index = job->key_count + atomic_fetch_add(&sh->inserts->claimed, 1);
        if (write_one(t, ctx, ab_key_of(job, index)) != 0) return -1;
        atomic_fetch_add(&sh->inserts->done, 1);
        return 0;
    }
    case AB_KIND_SCAN: {
        scan_state s = {.job = job, .ordered = sh->engine->ordered};
        uint32_t length = 1 + (uint32_t)(rng_next(&t->rng) % job->scan_length);
        return scan_keys(t, ctx, ab_key_of(job, draw_index(t)), length, &s);
    }
    default: { /* read-modify-write: the read is checked, the write puts the key's value */
        uint64_t key = ab_key_of(job, draw_index(t));
        if (read_one(t, ctx, key) != 0) return -1;
        return write_one(t, ctx, key);
    }
    }
}

/* One op; 0, or -1 after printing why. */
static int do_op(ab_thread *t, void *ctx, uint64_t op)
{
    const ab_shared *sh = t->shared;
    const ab_job *job = sh->job;
    uint64_t n = job->key_count;
    if (ab_rw_ycsb(job->rw)) return do_ycsb(t, ctx);
    switch (job->rw) {
    case AB_RW_FILLSEQ:
    case AB_RW_FILLRANDOM:
    case AB_RW_OVERWRITE: {
        uint64_t index = job->rw == AB_RW_FILLSEQ ? op % n
                         : job->rw == AB_RW_FILLRANDOM ? permute(op % n, n, job->seed | 1)
                                                       : draw_index(t);
        uint64_t key = ab_key_of(job, index);
        ab_value_fill(key, t->buf, job->value_size);
        t->item_count++;
        return sh->engine->put(ctx, key, t->buf, job->value_size);
    }
    case AB_RW_READRANDOM:
    case AB_RW_READWHILEWRITING:
        return read_one(t, ctx, ab_key_of(job, draw_index(t)));
    case AB_RW_MULTIGET:
        return multi_get(t, ctx);
    case AB_RW_READSEQ:
    case AB_RW_SCAN: {
        scan_state s = {.job = job, .ordered = sh->engine->ordered};
        uint64_t start;
        if (job->rw == AB_RW_SCAN) start = ab_key_of(job, draw_index(t));
        else start = t->seq_key;
        uint64_t before = t->item_count;
        if (scan_keys(t, ctx, start, job->scan_length, &s) != 0) return -1;
        uint64_t visited = t->item_count - before;
        if (job->rw == AB_RW_READSEQ) t->seq_key = visited < job->scan_length || s.last_key == UINT64_MAX ? 0 : s.last_key + 1;
        return 0;
    }
    default:
        AB_ASSERT(!"unknown workload");
        return -1;
    }
}

/* An empty set: true, or false when its histogram cannot be allocated. */
static bool lat_acc_init(lat_acc *acc)
{
    *acc = (lat_acc){.hist = calloc(1, sizeof(latency_hist)), .min_ns = UINT64_MAX};
    return acc->hist != NULL;
}

static void lat_acc_add(lat_acc *acc, uint64_t ns)
{
    latency_hist_add(acc->hist, ns);
    acc->count++;
    if (ns < acc->min_ns) acc->min_ns = ns;
    if (ns > acc->max_ns) acc->max_ns = ns;
    acc->sum_ns += (double)ns;
    acc->sumsq_ns += (double)ns * (double)ns;
}

/* A measured op that took ns and ended at end_ns. */
static void record(ab_thread *t, uint64_t ns, uint64_t end_ns)
{
    while (end_ns >= t->interval_end_ns && t->interval_index < t->shared->interval_cap) {
        t->interval_index++;
        t->interval_end_ns += AB_INTERVAL_NS;
    }
    if (t->interval_index < t->shared->interval_cap) t->interval_counts[t->interval_index]++;
    t->op_count++;
    lat_acc_add(&t->lat, ns);
    if (ab_rw_ycsb(t->shared->job->rw)) {
        AB_ASSERT(t->op_kind >= 0 && t->op_kind < AB_KIND_COUNT);
        lat_acc_add(&t->kind_lat[t->op_kind], ns);
    }
}

/* readwhilewriting's writer: overwrites drawn keys at full speed until the readers stop. */
static void writer_loop(ab_thread *t, void *ctx)
{
    ab_shared *sh = t->shared;
    const ab_job *job = sh->job;
    atomic_store(&sh->writer_started, true);
    while (!atomic_load_explicit(&sh->failed, memory_order_relaxed) &&
           atomic_load_explicit(&sh->readers_running, memory_order_relaxed) > 0) {
        uint64_t begin = ab_now_ns();
        if (begin >= sh->deadline_ns) break;
        uint64_t key = ab_key_of(job, draw_index(t));
        ab_value_fill(key, t->buf, job->value_size);
        if (sh->engine->put(ctx, key, t->buf, job->value_size) != 0) {
            t->rc = -1;
            atomic_store(&sh->failed, true);
            break;
        }
        uint64_t now = ab_now_ns();
        if (begin >= sh->measure_ns) {
            t->op_count++;
            t->last_op_ns = now;
        }
    }
}

/* A reader (every thread but readwhilewriting's writer): claims ops until the budget or
 * the deadline runs out. */
static void reader_loop(ab_thread *t, void *ctx)
{
    ab_shared *sh = t->shared;
    while (sh->job->rw == AB_RW_READWHILEWRITING && !atomic_load(&sh->writer_started) &&
           !atomic_load(&sh->failed))
        sched_yield(); /* so the readers never run without the writer */
    if (sh->job->rw == AB_RW_READSEQ)
        t->seq_key = ab_key_of(sh->job, sh->job->key_count / sh->job->thread_count * t->index);
    while (!atomic_load_explicit(&sh->failed, memory_order_relaxed)) {
        uint64_t first = atomic_fetch_add(&sh->next_op, AB_CLAIM_BATCH);
        if (first >= sh->op_budget) break;
        uint64_t end = first + AB_CLAIM_BATCH < sh->op_budget ? first + AB_CLAIM_BATCH : sh->op_budget;
        uint64_t now = ab_now_ns();
        if (now >= sh->deadline_ns) break;
        uint64_t op = first;
        for (; op < end; op++) {
            uint64_t begin = now, items = t->item_count, notfound = t->notfound_count;
            if (do_op(t, ctx, op) != 0) { t->rc = -1; atomic_store(&sh->failed, true); break; }
            now = ab_now_ns();
            if (begin >= sh->measure_ns) {
                record(t, now - begin, now);
            } else { /* ramp_time: done, not counted */
                t->item_count = items;
                t->notfound_count = notfound;
            }
        }
        atomic_fetch_add_explicit(&sh->progress_ops, op - first, memory_order_relaxed);
        if (t->rc != 0) break;
        t->last_op_ns = now;
    }
    atomic_fetch_sub(&sh->readers_running, 1);
}

static void *thread_main(void *arg)
{
    ab_thread *t = arg;
    ab_shared *sh = t->shared;
    void *ctx = NULL;
    t->rc = sh->engine->thread_open(sh->db, sh->job, &ctx);
    if (t->rc != 0) atomic_store(&sh->failed, true);
    bench_gate_arrive_and_wait(&sh->gate);
    t->interval_end_ns = sh->measure_ns + AB_INTERVAL_NS;
    if (t->rc == 0) {
        if (t->writer) writer_loop(t, ctx);
        else reader_loop(t, ctx);
        sh->engine->thread_close(ctx);
    } else if (!t->writer) {
        atomic_fetch_sub(&sh->readers_running, 1);
    }
    atomic_fetch_sub(&sh->threads_running, 1);
    pthread_mutex_lock(&sh->group->lock);
    AB_ASSERT(sh->group->running > 0);
    if (--sh->group->running == 0) pthread_cond_signal(&sh->group->cond);
    pthread_mutex_unlock(&sh->group->lock);
    return NULL;
}

int ab_proc_io(double *read_bytes, double *write_bytes)
{
    FILE *f = fopen("/proc/self/io", "r");
    *read_bytes = *write_bytes = -1;
    if (f == NULL) return -1;
    char line[128];
    unsigned long long v;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "read_bytes: %llu", &v) == 1) *read_bytes = (double)v;
        if (sscanf(line, "write_bytes: %llu", &v) == 1) *write_bytes = (double)v;
    }
    fclose(f);
    return 0;
}

void ab_counters_read(const bench_engine *engine, void *db, ab_counters *out)
{
    out->device_read_count = out->device_write_count = out->cache_hit_count = -1;
    out->cache_miss_count = out->commit_count = out->sync_count = out->index_size = -1;
    out->key_count = out->write_size = out->leaf_page_count = out->log_replay_size = out->log_replay_ns = -1;
    out->stat_count = 0;
    memset(out->stat_level, 0, sizeof(out->stat_level));
    if (engine->counters != NULL) engine->counters(db, out);
}

/* Adds every thread's acc at offset (a lat_acc in ab_thread) into out, whose hist the
 * result owns, and sets out's figures. */
static void merge_lat(const ab_thread *threads, uint32_t count, size_t offset, ab_lat *out)
{
    AB_ASSERT(out->hist != NULL);
    lat_acc all = {.hist = out->hist, .min_ns = UINT64_MAX};
    for (uint32_t i = 0; i < count; i++) {
        const lat_acc *acc = (const lat_acc *)((const char *)&threads[i] + offset);
        latency_hist_merge(all.hist, acc->hist);
        all.count += acc->count;
        all.sum_ns += acc->sum_ns;
        all.sumsq_ns += acc->sumsq_ns;
        if (acc->min_ns < all.min_ns) all.min_ns = acc->min_ns;
        if (acc->max_ns > all.max_ns) all.max_ns = acc->max_ns;
    }
    AB_ASSERT(all.hist->total == all.count);
    out->op_count = all.count;
    if (all.count == 0) return;
    double n = (double)all.count, avg = all.sum_ns / n;
    double var = all.sumsq_ns / n - avg * avg;
    out->min_us = (double)all.min_ns / 1e3;
    out->max_us = (double)all.max_ns / 1e3;
    out->avg_us = avg / 1e3;
    out->stdev_us = (var > 0 ? sqrt(var) : 0) / 1e3;
}

static void merge_threads(const ab_thread *threads, uint32_t count, ab_result *r)
{
    for (uint32_t i = 0; i < count; i++) {
        r->op_count += threads[i].op_count;
        r->item_count += threads[i].item_count;
        r->notfound_count += threads[i].notfound_count;
    }
    merge_lat(threads, count, offsetof(ab_thread, lat), &r->lat);
    AB_ASSERT(r->lat.op_count == r->op_count);
    if (!ab_rw_ycsb(r->job->rw)) return;
    uint64_t kinds_total = 0;
    for (int k = 0; k < AB_KIND_COUNT; k++) {
        merge_lat(threads, count, offsetof(ab_thread, kind_lat) + (size_t)k * sizeof(lat_acc), &r->kind_lat[k]);
        kinds_total += r->kind_lat[k].op_count;
    }
    AB_ASSERT(kinds_total == r->op_count); /* every measured YCSB op has exactly one kind */
}

/* Sums the readers' interval counts into r, up to the interval of the job's last op. */
static int merge_intervals(const ab_shared *sh, uint64_t end_ns, ab_result *r)
{
    if (end_ns <= sh->measure_ns) return 0;
    uint64_t span_ns = end_ns - sh->measure_ns;
    uint64_t count = span_ns / AB_INTERVAL_NS + 1;
    if (count > sh->interval_cap) count = sh->interval_cap;
    r->interval_counts = calloc(count, sizeof(uint64_t));
    if (r->interval_counts == NULL) return ab_errorf("out of memory");
    for (uint32_t i = 0; i < sh->reader_count; i++)
        for (uint64_t k = 0; k < count; k++) r->interval_counts[k] += sh->threads[i].interval_counts[k];
    r->interval_count = (uint32_t)count;
    uint64_t last_ns = span_ns - (count - 1) * AB_INTERVAL_NS;
    r->last_interval_s = (double)(last_ns < AB_INTERVAL_NS ? last_ns : AB_INTERVAL_NS) / 1e9;
    return 0;
}

/* Sets up one job of a group (nothing runs yet): 0, or -1 (job_free() cleans up). */
static int job_prepare(ab_shared *sh, const bench_engine *engine, void *db, const ab_job *job,
                       ab_group *group, ab_inserts *inserts, ab_result *result)
{
    sh->engine = engine;
    sh->db = db;
    sh->job = job;
    sh->group = group;
    sh->result = result;
    sh->inserts = inserts;
    sh->gate = (bench_gate)BENCH_GATE_INIT;
    sh->dist = ab_job_dist(job);
    if (sh->dist != AB_DIST_UNIFORM) zipf_init(&sh->zipf, job->key_count);
    sh->reader_count = job->thread_count;
    sh->thread_count = sh->reader_count + (job->rw == AB_RW_READWHILEWRITING ? 1u : 0u);
    atomic_store(&sh->readers_running, sh->reader_count);
    atomic_store(&sh->threads_running, sh->thread_count);
    sh->op_budget = ab_rw_writes(job->rw) && job->rw != AB_RW_OVERWRITE ? job->key_count
                    : job->op_count != 0 ? job->op_count : job->key_count;
    if (job->time_based) sh->op_budget = UINT64_MAX;
    uint64_t seconds = (job->runtime_ns + AB_INTERVAL_NS - 1) / AB_INTERVAL_NS;
    sh->interval_cap = job->runtime_ns != 0 && seconds < AB_INTERVAL_COUNT_MAX ? (uint32_t)seconds + 1
                                                                               : AB_INTERVAL_COUNT_MAX;
    int kind_count = ab_rw_ycsb(job->rw) ? AB_KIND_COUNT : 0; /* per-kind latencies: YCSB only */
    sh->threads = calloc(sh->thread_count, sizeof(ab_thread));
    bool ok = sh->threads != NULL && (result->lat.hist = calloc(1, sizeof(latency_hist))) != NULL;
    for (int k = 0; k < kind_count && ok; k++)
        ok = (result->kind_lat[k].hist = calloc(1, sizeof(latency_hist))) != NULL;
    for (uint32_t i = 0; i < sh->thread_count && ok; i++) {
        ab_thread *t = &sh->threads[i];
        t->shared = sh;
        t->index = i;
        t->writer = i >= sh->reader_count;
        t->rng = job->seed * 0x100000001b3ULL + i + 1;
        t->buf = malloc(AB_VALUE_SIZE_MAX);
        t->interval_counts = calloc(sh->interval_cap, sizeof(uint64_t));
        ok = lat_acc_init(&t->lat) && t->buf != NULL && t->interval_counts != NULL;
        for (int k = 0; k < kind_count && ok; k++) ok = lat_acc_init(&t->kind_lat[k]);
    }
    return ok ? 0 : ab_errorf("out of memory");
}

static void job_free(ab_shared *sh)
{
    for (uint32_t i = 0; sh->threads != NULL && i < sh->thread_count; i++) {
        free(sh->threads[i].lat.hist);
        for (int k = 0; k < AB_KIND_COUNT; k++) free(sh->threads[i].kind_lat[k].hist);
        free(sh->threads[i].buf);
        free(sh->threads[i].interval_counts);
    }
    free(sh->threads);
    sh->threads = NULL;
}

/* Starts the job's threads; they wait at its gate. Returns how many started. */
static uint32_t job_start_threads(ab_shared *sh)
{
    uint32_t created = 0;
    for (; created < sh->thread_count; created++) {
        ab_thread *t = &sh->threads[created];
        if (pthread_create(&t->thread, NULL, thread_main, t) != 0) {
            ab_errorf("pthread_create: %s", strerror(errno));
            atomic_store(&sh->failed, true);
            break;
        }
    }
    /* The threads never started count as finished (with their job failed). */
    uint32_t missing = sh->thread_count - created;
    atomic_fetch_sub(&sh->threads_running, missing);
    atomic_fetch_sub(&sh->readers_running, sh->reader_count > created ? sh->reader_count - created : 0);
    pthread_mutex_lock(&sh->group->lock);
    sh->group->running -= missing;
    pthread_mutex_unlock(&sh->group->lock);
    bench_gate_wait_ready(&sh->gate, created);
    return created;
}

/* Sleeps until every thread of the group has finished, showing progress once a second. */
static void group_wait(ab_group *group, const ab_shared *shs, uint32_t count)
{
    ab_progress_job shown[AB_JOB_COUNT_MAX];
    uint32_t shown_count = 0;
    for (uint32_t j = 0; j < count; j++) {
        const ab_shared *sh = &shs[j];
        if (sh->job == NULL) continue;
        shown[shown_count++] = (ab_progress_job){
            .job_name = sh->job->name, .engine = sh->engine->name, .op_count = &sh->progress_ops,
            .thread_count = &sh->threads_running, .op_budget = sh->op_budget,
            .start_ns = sh->start_ns, .deadline_ns = sh->deadline_ns};
    }
    uint64_t next_ns = ab_now_ns() + AB_INTERVAL_NS;
    pthread_mutex_lock(&group->lock);
    while (group->running > 0) {
        struct timespec at = {.tv_sec = (time_t)(next_ns / 1000000000ULL),
                              .tv_nsec = (long)(next_ns % 1000000000ULL)};
        if (pthread_cond_timedwait(&group->cond, &group->lock, &at) != ETIMEDOUT) continue;
        pthread_mutex_unlock(&group->lock);
        ab_progress_show(shown, shown_count, ab_now_ns());
        next_ns += AB_INTERVAL_NS;
        pthread_mutex_lock(&group->lock);
    }
    pthread_mutex_unlock(&group->lock);
    ab_progress_clear();
}

/* Starts every job's threads, releases them together, waits for all. 0, or -1 if any
 * thread could not start. */
static int group_run(ab_group *group, ab_shared *shs, uint32_t count, uint64_t *origin_ns)
{
    int rc = 0;
    for (uint32_t j = 0; j < count; j++) group->running += shs[j].job != NULL ? shs[j].thread_count : 0;
    for (uint32_t j = 0; j < count; j++) {
        if (shs[j].job == NULL) continue;
        shs[j].created_count = job_start_threads(&shs[j]);
        if (shs[j].created_count < shs[j].thread_count) rc = -1;
    }
    uint64_t now = ab_now_ns();
    if (*origin_ns == 0) *origin_ns = now;
    for (uint32_t j = 0; j < count; j++) {
        ab_shared *sh = &shs[j];
        if (sh->job == NULL) continue;
        sh->start_ns = now;
        sh->measure_ns = now + sh->job->ramp_ns;
        sh->deadline_ns = sh->job->runtime_ns == 0 ? UINT64_MAX : sh->measure_ns + sh->job->runtime_ns;
        sh->result->start_s = (double)(now - *origin_ns) / 1e9;
    }
    for (uint32_t j = 0; j < count; j++)
        if (shs[j].job != NULL) bench_gate_open(&shs[j].gate);
    group_wait(group, shs, count);
    for (uint32_t j = 0; j < count; j++)
        for (uint32_t i = 0; shs[j].job != NULL && i < shs[j].created_count; i++)
            pthread_join(shs[j].threads[i].thread, NULL);
    return rc;
}

/* The job's figures from its threads into its result: 0, or -1 if the job failed. */
static int job_finish(ab_shared *sh)
{
    ab_result *r = sh->result;
    int rc = sh->created_count == sh->thread_count ? 0 : -1;
    for (uint32_t i = 0; i < sh->created_count; i++)
        if (sh->threads[i].rc != 0) rc = -1;
    uint64_t end_ns = 0;
    for (uint32_t i = 0; i < sh->reader_count; i++)
        if (sh->threads[i].last_op_ns > end_ns) end_ns = sh->threads[i].last_op_ns;
    if (rc == 0) {
        merge_threads(sh->threads, sh->reader_count, r);
        for (uint32_t i = sh->reader_count; i < sh->thread_count; i++) {
            r->writer_op_count += sh->threads[i].op_count;
            if (sh->threads[i].last_op_ns > sh->measure_ns)
                r->writer_seconds = (double)(sh->threads[i].last_op_ns - sh->measure_ns) / 1e9;
        }
        r->seconds = end_ns > sh->measure_ns ? (double)(end_ns - sh->measure_ns) / 1e9 : 0;
        r->end_s = r->start_s + (end_ns > sh->start_ns ? (double)(end_ns - sh->start_ns) / 1e9 : 0);
        rc = merge_intervals(sh, end_ns, r);
        r->ran = rc == 0;
    }
    return rc;
}

int ab_run_group(const bench_engine *engine, void *db, const ab_job *jobs, uint32_t job_count,
                 ab_inserts *inserts, uint64_t *origin_ns, ab_result *results)
{
    AB_ASSERT(job_count > 0 && job_count <= AB_JOB_COUNT_MAX);
    ab_shared *shs = calloc(job_count, sizeof(ab_shared));
    if (shs == NULL) return ab_errorf("out of memory");
    ab_group group = {.lock = PTHREAD_MUTEX_INITIALIZER, .running = 0};
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&group.cond, &attr);
    pthread_condattr_destroy(&attr);
    int rc = 0;
    for (uint32_t j = 0; j < job_count && rc == 0; j++) {
        rc = job_prepare(&shs[j], engine, db, &jobs[j], &group, inserts, &results[j]);
    }
    ab_counters before, after;
    double io_r0 = 0, io_w0 = 0, io_r1 = 0, io_w1 = 0;
    ab_counters_read(engine, db, &before);
    ab_proc_io(&io_r0, &io_w0);
    if (rc == 0) rc = group_run(&group, shs, job_count, origin_ns);
    ab_proc_io(&io_r1, &io_w1);
    ab_counters_read(engine, db, &after);
    for (uint32_t j = 0; j < job_count; j++) {
        results[j].group_job_count = job_count;
        if (shs[j].job == NULL) continue;
        shs[j].result->before = before; /* the engine's and the OS's counters cover the group */
        shs[j].result->after = after;
        shs[j].result->io_read_bytes = io_r0 >= 0 && io_r1 >= 0 ? io_r1 - io_r0 : -1;
        shs[j].result->io_write_bytes = io_w0 >= 0 && io_w1 >= 0 ? io_w1 - io_w0 : -1;
        if (rc == 0 && job_finish(&shs[j]) != 0) rc = -1;
        job_free(&shs[j]);
    }
    pthread_cond_destroy(&group.cond);
    free(shs);
    return rc;
}

/* ---- Directories ---- */

static _Thread_local uint64_t dir_size_total;

static int add_size(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F) dir_size_total += (uint64_t)st->st_blocks * 512u;
    return 0;
}

void ab_result_free(ab_result *result)
{
    free(result->lat.hist);
    for (int k = 0; k < AB_KIND_COUNT; k++) free(result->kind_lat[k].hist);
    free(result->interval_counts);
    result->lat.hist = NULL;
    for (int k = 0; k < AB_KIND_COUNT; k++) result->kind_lat[k].hist = NULL;
    result->interval_counts = NULL;
}

uint64_t ab_dir_size(const char *dir)
{
    dir_size_total = 0;
    if (nftw(dir, add_size, 16, FTW_PHYS) != 0) return 0;
    return dir_size_total;
}

int ab_dir_files_size(const char *dir, const char *prefix, const char *suffix, uint64_t *size_out,
                      uint32_t *count_out)
{
    *size_out = 0;
    *count_out = 0;
    DIR *d = opendir(dir);
    if (d == NULL) return ab_errorf("cannot read %s: %s", dir, strerror(errno));
    size_t prefix_size = strlen(prefix), suffix_size = strlen(suffix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < prefix_size + suffix_size || strncmp(e->d_name, prefix, prefix_size) != 0 ||
            strcmp(e->d_name + n - suffix_size, suffix) != 0)
            continue;
        char path[AB_PATH_SIZE_MAX * 2];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        *size_out += (uint64_t)st.st_size;
        (*count_out)++;
    }
    closedir(d);
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = type == FTW_DP ? rmdir(path) : unlink(path);
    if (rc != 0) return ab_errorf("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

int ab_remove_tree(const char *dir)
{
    if (access(dir, F_OK) != 0) return 0;
    return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
