/*
 * run.c: one job on one engine. Keys are indexes 0..keys-1 mapped to u64 keys by the key
 * shape (uniform: a bijective mix, so keys spread over all of u64; sequential:
 * nanosecond timestamps 1 us apart). Values are derived from the key, so every read is
 * checked. Requests draw an index uniformly or from a scrambled zipfian (YCSB's
 * generator, theta 0.99, ranks scattered by FNV-1a so hot keys are not neighbours).
 *
 * Threads claim ops from one shared counter in small batches, so a job with an op budget
 * does exactly that many ops whatever the thread count; fills claim indexes (fillseq in
 * index order, fillrandom through a permutation of the indexes), so each key is written
 * exactly once. Each thread times every op into its own histogram; they are merged after.
 *
 * Entry point: ab_run_job(). Also ab_key_of()/ab_index_of(), ab_value_*, ab_dir_size().
 */
#define _XOPEN_SOURCE 700
#include "alexdb_bench.h"

#include <errno.h>
#include <ftw.h>
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

void ab_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, AB_NAME ": assertion failed: %s (%s:%d)\n", cond, file, line);
    abort();
}

int ab_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
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
    uint64_t x = index * AB_MIX_K1;
    x ^= x >> 32;
    x *= AB_MIX_K2;
    return x ^ (x >> 32);
}

uint64_t ab_index_of(const ab_job *job, uint64_t key)
{
    if (job->key_shape == AB_KEYS_SEQUENTIAL) return (key - AB_SEQ_BASE_NS) / AB_SEQ_STEP_NS;
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

typedef struct ab_shared {
    const bench_engine *engine;
    void *db;
    const ab_job *job;
    zipf zipf;
    uint64_t op_budget;         /* UINT64_MAX: until the deadline */
    _Atomic uint64_t next_op;
    _Atomic bool failed;
    bench_gate gate;
    uint64_t start_ns, measure_ns, deadline_ns; /* set before the gate opens */
} ab_shared;

typedef struct ab_thread {
    pthread_t thread;
    ab_shared *shared;
    uint32_t index;
    uint64_t rng;
    uint64_t seq_key;           /* readseq: where the next chunk starts (wraps at the end) */
    latency_hist *hist;
    uint64_t op_count, item_count, notfound_count;
    uint64_t lat_min_ns, lat_max_ns;
    double lat_sum_ns, lat_sumsq_ns;
    uint64_t last_op_ns;
    unsigned char *buf;
    int rc;
} ab_thread;

static uint64_t draw_index(ab_thread *t)
{
    const ab_job *job = t->shared->job;
    if (job->dist == AB_DIST_ZIPFIAN) return fnv1a64(zipf_next(&t->shared->zipf, &t->rng)) % job->key_count;
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

/* One op; 0, or -1 after printing why. */
static int do_op(ab_thread *t, void *ctx, uint64_t op)
{
    const ab_shared *sh = t->shared;
    const ab_job *job = sh->job;
    uint64_t n = job->key_count;
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
    case AB_RW_READRANDOM: {
        uint64_t key = ab_key_of(job, draw_index(t));
        size_t size = 0;
        int rc = sh->engine->get(ctx, key, t->buf, AB_VALUE_SIZE_MAX, &size);
        t->item_count++;
        if (rc == 1) { t->notfound_count++; return 0; }
        if (rc != 0) return -1;
        if (job->plant_wrong_value && size > 0) t->buf[size - 1] ^= 1;
        return ab_value_check(job, key, t->buf, size);
    }
    case AB_RW_READSEQ:
    case AB_RW_SCAN: {
        scan_state s = {.job = job, .ordered = sh->engine->ordered};
        uint64_t start;
        if (job->rw == AB_RW_SCAN) start = ab_key_of(job, draw_index(t));
        else start = t->seq_key;
        uint32_t visited = 0;
        if (sh->engine->scan(ctx, start, job->scan_length, scan_visit, &s, &visited) != 0) return -1;
        t->item_count += visited;
        if (job->rw == AB_RW_READSEQ) t->seq_key = visited < job->scan_length || s.last_key == UINT64_MAX ? 0 : s.last_key + 1;
        return 0;
    }
    default:
        AB_ASSERT(!"unknown workload");
        return -1;
    }
}

static void record(ab_thread *t, uint64_t ns)
{
    latency_hist_add(t->hist, ns);
    t->op_count++;
    if (ns < t->lat_min_ns) t->lat_min_ns = ns;
    if (ns > t->lat_max_ns) t->lat_max_ns = ns;
    t->lat_sum_ns += (double)ns;
    t->lat_sumsq_ns += (double)ns * (double)ns;
}

static void *thread_main(void *arg)
{
    ab_thread *t = arg;
    ab_shared *sh = t->shared;
    void *ctx = NULL;
    t->rc = sh->engine->thread_open(sh->db, &ctx);
    if (t->rc != 0) atomic_store(&sh->failed, true);
    bench_gate_arrive_and_wait(&sh->gate);
    if (t->rc != 0) return NULL;
    if (sh->job->rw == AB_RW_READSEQ)
        t->seq_key = ab_key_of(sh->job, sh->job->key_count / sh->job->thread_count * t->index);
    while (!atomic_load_explicit(&sh->failed, memory_order_relaxed)) {
        uint64_t first = atomic_fetch_add(&sh->next_op, AB_CLAIM_BATCH);
        if (first >= sh->op_budget) break;
        uint64_t end = first + AB_CLAIM_BATCH < sh->op_budget ? first + AB_CLAIM_BATCH : sh->op_budget;
        uint64_t now = ab_now_ns();
        if (now >= sh->deadline_ns) break;
        for (uint64_t op = first; op < end; op++) {
            uint64_t begin = now, items = t->item_count, notfound = t->notfound_count;
            if (do_op(t, ctx, op) != 0) { t->rc = -1; atomic_store(&sh->failed, true); break; }
            now = ab_now_ns();
            if (begin >= sh->measure_ns) {
                record(t, now - begin);
            } else { /* ramp_time: done, not counted */
                t->item_count = items;
                t->notfound_count = notfound;
            }
        }
        if (t->rc != 0) break;
        t->last_op_ns = now;
    }
    sh->engine->thread_close(ctx);
    return NULL;
}

static int read_proc_io(double *read_bytes, double *write_bytes)
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

static void counters_get(const bench_engine *engine, void *db, ab_counters *out)
{
    out->device_read_count = out->device_write_count = out->cache_hit_count = -1;
    out->cache_miss_count = out->commit_count = out->sync_count = out->index_size = -1;
    out->key_count = -1;
    if (engine->counters != NULL) engine->counters(db, out);
}

static void merge_threads(ab_thread *threads, uint32_t count, ab_result *r)
{
    double sum = 0, sumsq = 0;
    uint64_t min = UINT64_MAX, max = 0;
    for (uint32_t i = 0; i < count; i++) {
        ab_thread *t = &threads[i];
        latency_hist_merge(r->hist, t->hist);
        r->op_count += t->op_count;
        r->item_count += t->item_count;
        r->notfound_count += t->notfound_count;
        sum += t->lat_sum_ns;
        sumsq += t->lat_sumsq_ns;
        if (t->lat_min_ns < min) min = t->lat_min_ns;
        if (t->lat_max_ns > max) max = t->lat_max_ns;
    }
    if (r->op_count == 0) return;
    double n = (double)r->op_count, avg = sum / n;
    double var = sumsq / n - avg * avg;
    r->lat_min_us = (double)min / 1e3;
    r->lat_max_us = (double)max / 1e3;
    r->lat_avg_us = avg / 1e3;
    r->lat_stdev_us = (var > 0 ? sqrt(var) : 0) / 1e3;
}

static int run_threads(ab_shared *sh, ab_thread *threads, uint32_t count)
{
    uint32_t created = 0;
    int rc = 0;
    for (; created < count; created++) {
        if (pthread_create(&threads[created].thread, NULL, thread_main, &threads[created]) != 0) {
            rc = ab_errorf("pthread_create: %s", strerror(errno));
            atomic_store(&sh->failed, true);
            break;
        }
    }
    bench_gate_wait_ready(&sh->gate, created);
    sh->start_ns = ab_now_ns();
    sh->measure_ns = sh->start_ns + sh->job->ramp_ns;
    sh->deadline_ns = sh->job->runtime_ns == 0 ? UINT64_MAX : sh->measure_ns + sh->job->runtime_ns;
    bench_gate_open(&sh->gate);
    for (uint32_t i = 0; i < created; i++) {
        pthread_join(threads[i].thread, NULL);
        if (threads[i].rc != 0) rc = -1;
    }
    return rc;
}

int ab_run_job(const bench_engine *engine, void *db, const ab_job *job, ab_result *result)
{
    static ab_shared sh; /* large (the zipf table is not, but the gate must not move) */
    memset(&sh, 0, sizeof(sh));
    sh.engine = engine;
    sh.db = db;
    sh.job = job;
    sh.gate = (bench_gate)BENCH_GATE_INIT;
    if (job->dist == AB_DIST_ZIPFIAN) zipf_init(&sh.zipf, job->key_count);
    sh.op_budget = ab_rw_writes(job->rw) && job->rw != AB_RW_OVERWRITE ? job->key_count
                   : job->op_count != 0 ? job->op_count : job->key_count;
    if (job->time_based) sh.op_budget = UINT64_MAX;
    ab_thread *threads = calloc(job->thread_count, sizeof(ab_thread));
    result->hist = calloc(1, sizeof(latency_hist));
    if (threads == NULL || result->hist == NULL) { free(threads); return ab_errorf("out of memory"); }
    int rc = 0;
    for (uint32_t i = 0; i < job->thread_count && rc == 0; i++) {
        ab_thread *t = &threads[i];
        t->shared = &sh;
        t->index = i;
        t->rng = job->seed * 0x100000001b3ULL + i + 1;
        t->lat_min_ns = UINT64_MAX;
        t->hist = calloc(1, sizeof(latency_hist));
        t->buf = malloc(AB_VALUE_SIZE_MAX);
        if (t->hist == NULL || t->buf == NULL) rc = ab_errorf("out of memory");
    }
    double io_r0 = 0, io_w0 = 0, io_r1 = 0, io_w1 = 0;
    counters_get(engine, db, &result->before);
    read_proc_io(&io_r0, &io_w0);
    if (rc == 0) rc = run_threads(&sh, threads, job->thread_count);
    uint64_t end_ns = 0;
    for (uint32_t i = 0; i < job->thread_count; i++)
        if (threads[i].last_op_ns > end_ns) end_ns = threads[i].last_op_ns;
    read_proc_io(&io_r1, &io_w1);
    counters_get(engine, db, &result->after);
    if (rc == 0) {
        merge_threads(threads, job->thread_count, result);
        result->seconds = end_ns > sh.measure_ns ? (double)(end_ns - sh.measure_ns) / 1e9 : 0;
        result->io_read_bytes = io_r0 >= 0 && io_r1 >= 0 ? io_r1 - io_r0 : -1;
        result->io_write_bytes = io_w0 >= 0 && io_w1 >= 0 ? io_w1 - io_w0 : -1;
        result->ran = true;
    }
    for (uint32_t i = 0; i < job->thread_count; i++) {
        free(threads[i].hist);
        free(threads[i].buf);
    }
    free(threads);
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

uint64_t ab_dir_size(const char *dir)
{
    dir_size_total = 0;
    if (nftw(dir, add_size, 16, FTW_PHYS) != 0) return 0;
    return dir_size_total;
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
