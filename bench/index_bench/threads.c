/*
 * threads.c: the cold phase's readers. N threads each do one read at a time, either
 * alexdb_get of a uniformly drawn key (every value checked byte for byte) or a raw
 * 4 KiB read of a uniformly drawn page of the same file. Each thread first does its
 * untimed setup (raw: its ring and buffer; alexdb: one get, whose first I/O makes the
 * engine's ring for that thread), then all start together behind a gate, and stop on a
 * flag after the given time. The same shape as alexdb-pager-bench's threads mode, so
 * the two kinds differ only in what one read does. Latency is timed on every read
 * (a cold read costs tens of microseconds; the clock costs tens of nanoseconds).
 *
 * Entry point: index_bench_threads_run().
 */
#include "index_bench.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

typedef struct reader_ctx {
    bench_thread base; /* first: bench_threads_run() starts and stops it */
    const ib_read_target *target;
    ib_reader_kind kind;
    uint64_t seed;
    latency_hist *hist;
    uint64_t op_count;
    int rc;
} reader_ctx;

/* One alexdb_get of a random key, its value checked in full. */
static int alexdb_read_one(const ib_read_target *t, ib_rng *rng, uint8_t *buf)
{
    uint64_t key = ib_key_at(t->keys, ib_rng_below(rng, t->keys->count));
    size_t size = 0;
    int rc = alexdb_get(t->db, key, buf, t->value_size, &size);
    if (rc == ALEXDB_NOTFOUND) {
        return index_bench_errorf(ALEXDB_CORRUPT, "cold get: key %" PRIu64 " not found", key);
    }
    if (rc != ALEXDB_OK) return index_bench_fail("cold alexdb_get", rc);
    if (size != t->value_size || !index_bench_value_check(buf, size, key)) {
        return index_bench_errorf(ALEXDB_CORRUPT, "cold get: key %" PRIu64 " read back a wrong "
                                  "value (%zu bytes)", key, size);
    }
    return ALEXDB_OK;
}

static int raw_read_one(const ib_read_target *t, ib_rng *rng, ib_raw_reader *raw)
{
    uint64_t span = t->page_count - IB_RESERVED_PAGE_COUNT;
    return index_bench_raw_read(raw, t->raw_fd, IB_RESERVED_PAGE_COUNT + ib_rng_below(rng, span));
}

static void *reader_main(void *arg)
{
    reader_ctx *c = arg;
    const ib_read_target *t = c->target;
    ib_rng rng;
    ib_rng_seed(&rng, c->seed);
    ib_raw_reader *raw = NULL;
    uint8_t *buf = NULL;
    if (c->kind == IB_READER_RAW) {
        c->rc = index_bench_raw_reader_make(t->raw_uring, &raw);
    } else {
        buf = malloc(t->value_size > 0 ? t->value_size : 1);
        c->rc = buf == NULL ? index_bench_errorf(ALEXDB_NOMEM, "out of memory for a value")
                            : alexdb_read_one(t, &rng, buf); /* untimed: makes the ring */
    }
    bench_gate_arrive_and_wait(c->base.start);
    while (c->rc == ALEXDB_OK && !atomic_load_explicit(c->base.stop, memory_order_relaxed)) {
        uint64_t t0 = index_bench_now_ns();
        c->rc = c->kind == IB_READER_RAW ? raw_read_one(t, &rng, raw) : alexdb_read_one(t, &rng, buf);
        if (c->rc != ALEXDB_OK) break;
        latency_hist_add(c->hist, index_bench_now_ns() - t0);
        c->op_count++;
    }
    index_bench_raw_reader_free(raw);
    free(buf);
    return NULL;
}

static void note_start(void *arg)
{
    *(uint64_t *)arg = index_bench_now_ns();
}

/* Starts the readers, opens the gate once all are set up, stops them after seconds. */
static int start_and_run(reader_ctx *ctxs, uint32_t count, double seconds,
                         uint64_t *elapsed_ns_out)
{
    uint64_t start_ns = 0;
    uint32_t created = 0;
    int err = bench_threads_run(ctxs, sizeof(*ctxs), count, reader_main, (uint64_t)(seconds * 1e9),
                                note_start, &start_ns, &created);
    *elapsed_ns_out = index_bench_now_ns() - start_ns;
    return err == 0 ? ALEXDB_OK
                    : index_bench_errorf(ALEXDB_NOMEM, "pthread_create: %s", strerror(err));
}

int index_bench_threads_run(const ib_read_target *target, ib_reader_kind kind,
                            uint32_t thread_count, double seconds, uint64_t seed,
                            latency_hist *hist, uint64_t *ops_out, uint64_t *elapsed_ns_out)
{
    IB_ASSERT(thread_count > 0 && thread_count <= IB_THREAD_COUNT_MAX);
    IB_ASSERT(kind == IB_READER_ALEXDB ? target->db != NULL : target->raw_fd >= 0);
    reader_ctx *ctxs = calloc(thread_count, sizeof(*ctxs));
    if (ctxs == NULL) return index_bench_errorf(ALEXDB_NOMEM, "out of memory for threads");
    int rc = ALEXDB_OK;
    for (uint32_t i = 0; i < thread_count && rc == ALEXDB_OK; i++) {
        ctxs[i] = (reader_ctx){.target = target, .kind = kind, .seed = ib_mix(seed + i)};
        ctxs[i].hist = calloc(1, sizeof(latency_hist));
        if (ctxs[i].hist == NULL) rc = index_bench_errorf(ALEXDB_NOMEM, "out of memory for histograms");
    }
    if (rc == ALEXDB_OK) rc = start_and_run(ctxs, thread_count, seconds, elapsed_ns_out);
    *ops_out = 0;
    for (uint32_t i = 0; i < thread_count; i++) {
        if (rc == ALEXDB_OK && ctxs[i].rc != ALEXDB_OK) rc = ctxs[i].rc; /* printed already */
        *ops_out += ctxs[i].op_count;
        if (ctxs[i].hist != NULL) latency_hist_merge(hist, ctxs[i].hist);
        free(ctxs[i].hist);
    }
    free(ctxs);
    return rc;
}
