/*
 * measure.c: phase 2 of alexdb-pager-bench, one timed measurement of --seconds each.
 *   batch       one thread: draw D page numbers, read them as one batch (raw: one
 *               submission and one wait; pager: one pager_pin_many), wait for all D,
 *               repeat; latency is per batch.
 *   continuous  raw only: D reads always in flight on one ring, each completion
 *               refilled at once (fio's iodepth=D); latency is per I/O.
 *   threads     D threads, each reading one page at a time; they start together behind
 *               a gate once each has made its ring (raw) or done one untimed pin (pager).
 * Each measurement draws its page numbers from its own seed, so a run replays; wall
 * time, process CPU time and the pager's hits and misses are taken around it (meter).
 *
 * Entry points: pager_bench_batch_run(), pager_bench_continuous_run(),
 * pager_bench_threads_run(). What the figures mean: bench/README.md.
 */
#include "pager_bench.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static uint64_t cpu_now_ns(void)
{
    struct rusage ru;
    ALEXDB_ASSERT(getrusage(RUSAGE_SELF, &ru) == 0);
    uint64_t user_ns =
        (uint64_t)ru.ru_utime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_utime.tv_usec * 1000ULL;
    uint64_t sys_ns =
        (uint64_t)ru.ru_stime.tv_sec * 1000000000ULL + (uint64_t)ru.ru_stime.tv_usec * 1000ULL;
    return user_ns + sys_ns;
}

typedef struct meter {
    uint64_t start_ns;
    uint64_t cpu_start_ns;
    uint64_t hit_start;
    uint64_t miss_start;
} meter;

static void meter_start(bench *b, meter *mt)
{
    pager_stats stats;
    pager_stats_get(b->pg, &stats);
    mt->hit_start = stats.hit_count;
    mt->miss_start = stats.miss_count;
    mt->cpu_start_ns = cpu_now_ns();
    mt->start_ns = common_now_ns();
}

static void meter_stop(bench *b, const meter *mt, uint64_t page_count, measurement *out)
{
    out->elapsed_ns = common_now_ns() - mt->start_ns;
    out->cpu_ns = cpu_now_ns() - mt->cpu_start_ns;
    pager_stats stats;
    pager_stats_get(b->pg, &stats);
    out->hit_count = stats.hit_count - mt->hit_start;
    out->miss_count = stats.miss_count - mt->miss_start;
    out->page_count = page_count;
}

static uint64_t measure_ns(const bench *b)
{
    return (uint64_t)(b->opt.seconds * 1e9);
}

typedef int (*batch_read_fn)(bench *b, const uint64_t *page_nos, uint32_t count);

static int raw_batch_read(bench *b, const uint64_t *page_nos, uint32_t count)
{
    if (b->raw_uring)
        return pager_bench_raw_uring_batch(&b->ring, b->raw_fd, b->raw_bufs, page_nos, count);
    return pager_bench_raw_pread_batch(b->raw_fd, b->raw_bufs, page_nos, count);
}

static int pager_batch_read(bench *b, const uint64_t *page_nos, uint32_t count)
{
    pager_frame *frames[BENCH_DEPTH_MAX];
    int rc = pager_pin_many(b->pg, page_nos, count, 0, frames);
    if (rc != ALEXDB_OK) return rc;
    uint32_t wrong = count;
    for (uint32_t i = 0; i < count; i++) {
        if (pager_frame_page_no(frames[i]) != page_nos[i] && wrong == count) wrong = i;
        pager_unpin(b->pg, frames[i]);
    }
    if (wrong != count) {
        return common_error(ALEXDB_CORRUPT,
                            "pager_pin_many: frame %u holds another page than %" PRIu64, wrong,
                            page_nos[wrong]);
    }
    return ALEXDB_OK;
}

/* Batch mode: draw depth pages, read them as one batch, wait for all; repeat. */
int pager_bench_batch_run(bench *b, bench_kind kind, uint32_t depth, uint64_t seed,
                          measurement *out, latency_hist *hist)
{
    batch_read_fn read_batch = kind == KIND_PAGER ? pager_batch_read : raw_batch_read;
    common_rng rng;
    common_rng_seed(&rng, seed);
    uint64_t page_nos[BENCH_DEPTH_MAX];
    uint64_t pages = 0;
    meter mt;
    meter_start(b, &mt);
    uint64_t deadline_ns = mt.start_ns + measure_ns(b);
    for (;;) {
        for (uint32_t i = 0; i < depth; i++) page_nos[i] = pager_bench_draw_page_no(b, &rng);
        uint64_t t0 = common_now_ns();
        int rc = read_batch(b, page_nos, depth);
        uint64_t t1 = common_now_ns();
        if (rc != ALEXDB_OK)
            return pager_bench_fail(kind == KIND_PAGER ? "pager batch read" : "raw batch read", rc);
        latency_hist_add(hist, t1 - t0);
        pages += depth;
        if (t1 >= deadline_ns) break;
    }
    meter_stop(b, &mt, pages, out);
    return ALEXDB_OK;
}

/* fio's pattern: depth reads always in flight, each completion refilled at once. */
int pager_bench_continuous_run(bench *b, uint32_t depth, uint64_t seed, measurement *out,
                               latency_hist *hist)
{
    ALEXDB_ASSERT(b->ring_ready && depth <= BENCH_DEPTH_MAX);
    common_rng rng;
    common_rng_seed(&rng, seed);
    uint64_t slot_page_no[BENCH_DEPTH_MAX];
    uint64_t slot_submit_ns[BENCH_DEPTH_MAX];
    meter mt;
    meter_start(b, &mt);
    uint64_t deadline_ns = mt.start_ns + measure_ns(b);
    for (uint32_t s = 0; s < depth; s++) {
        slot_page_no[s] = pager_bench_draw_page_no(b, &rng);
        slot_submit_ns[s] = mt.start_ns;
        pager_bench_raw_prep_read(&b->ring, b->raw_fd, b->raw_bufs + (size_t)s * PAGER_PAGE_SIZE,
                                  slot_page_no[s], s);
    }
    uint32_t inflight = depth;
    uint32_t retries = 0;
    uint64_t pages = 0;
    int rc = ALEXDB_OK;
    while (inflight > 0) {
        int ret = io_uring_submit_and_wait(&b->ring, 1);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
            return pager_bench_errorf(ALEXDB_IO, "io_uring_submit_and_wait: %s", strerror(-ret));
        }
        uint64_t now_ns = common_now_ns();
        unsigned head;
        unsigned seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&b->ring, head, cqe)
        {
            seen++;
            uint32_t s = (uint32_t)io_uring_cqe_get_data64(cqe);
            ALEXDB_ASSERT(s < depth);
            if (cqe->res == (int)PAGER_PAGE_SIZE) {
                pages++;
                latency_hist_add(hist, now_ns - slot_submit_ns[s]);
            } else if ((cqe->res != -EAGAIN && cqe->res != -EINTR) || ++retries > BENCH_RETRY_MAX) {
                if (rc == ALEXDB_OK) rc = pager_bench_raw_result_error(slot_page_no[s], cqe->res);
            }
            if (now_ns >= deadline_ns || rc != ALEXDB_OK) {
                inflight--;
                continue;
            }
            slot_page_no[s] = pager_bench_draw_page_no(b, &rng);
            slot_submit_ns[s] = now_ns;
            pager_bench_raw_prep_read(
                &b->ring, b->raw_fd, b->raw_bufs + (size_t)s * PAGER_PAGE_SIZE, slot_page_no[s], s);
        }
        io_uring_cq_advance(&b->ring, seen);
    }
    meter_stop(b, &mt, pages, out);
    return rc == ALEXDB_OK ? ALEXDB_OK : pager_bench_fail("raw-continuous read", rc);
}

/* ---- Threads mode: depth threads, each one read at a time ---------------------- */

typedef struct thread_ctx {
    bench_thread base; /* first: bench_threads_run() starts and stops it */
    bench *b;
    bench_kind kind;
    uint64_t seed;
    latency_hist *hist;
    uint64_t page_count;
    int rc;
    char errmsg[COMMON_ERRMSG_SIZE_MAX];
} thread_ctx;

static int thread_read_one(thread_ctx *t, common_rng *rng, struct io_uring *ring, uint8_t *buf)
{
    bench *b = t->b;
    uint64_t page_no = pager_bench_draw_page_no(b, rng);
    if (t->kind == KIND_RAW) {
        if (ring != NULL) return pager_bench_raw_uring_batch(ring, b->raw_fd, buf, &page_no, 1);
        return pager_bench_raw_pread_batch(b->raw_fd, buf, &page_no, 1);
    }
    pager_frame *frame = NULL;
    int rc = pager_pin(b->pg, page_no, 0, &frame);
    if (rc != ALEXDB_OK) return rc;
    uint64_t got = pager_frame_page_no(frame);
    pager_unpin(b->pg, frame);
    if (got != page_no) {
        return common_error(ALEXDB_CORRUPT,
                            "pager_pin(%" PRIu64 ") gave a frame holding page %" PRIu64, page_no,
                            got);
    }
    return ALEXDB_OK;
}

/* Untimed: the raw thread makes its ring, the pager thread's first pin makes the pager's. */
static int thread_setup(thread_ctx *t, common_rng *rng, struct io_uring *ring, bool *ring_ready,
                        uint8_t **buf_out)
{
    if (t->kind == KIND_PAGER) return thread_read_one(t, rng, NULL, NULL);
    if (posix_memalign((void **)buf_out, PAGER_PAGE_SIZE, PAGER_PAGE_SIZE) != 0) {
        return common_error(ALEXDB_NOMEM, "out of memory for a thread's buffer");
    }
    if (!t->b->raw_uring) return ALEXDB_OK;
    unsigned flags = 0;
    int ret = pager_bench_raw_ring_setup(ring, BENCH_THREAD_RING_ENTRIES, &flags);
    if (ret < 0) return common_error(ALEXDB_IO, "thread io_uring setup: %s", strerror(-ret));
    *ring_ready = true;
    return ALEXDB_OK;
}

static void *thread_main(void *arg)
{
    thread_ctx *t = arg;
    common_rng rng;
    common_rng_seed(&rng, t->seed);
    struct io_uring ring;
    bool ring_ready = false;
    uint8_t *buf = NULL;
    t->rc = thread_setup(t, &rng, &ring, &ring_ready, &buf);
    bench_gate_arrive_and_wait(t->base.start);
    while (t->rc == ALEXDB_OK && !atomic_load_explicit(t->base.stop, memory_order_relaxed)) {
        uint64_t t0 = common_now_ns();
        t->rc = thread_read_one(t, &rng, ring_ready ? &ring : NULL, buf);
        if (t->rc != ALEXDB_OK) break;
        latency_hist_add(t->hist, common_now_ns() - t0);
        t->page_count++;
    }
    if (t->rc != ALEXDB_OK) snprintf(t->errmsg, sizeof(t->errmsg), "%s", alexdb_errmsg());
    if (ring_ready) io_uring_queue_exit(&ring);
    free(buf);
    return NULL;
}

typedef struct meter_start_arg {
    bench *b;
    meter *mt;
} meter_start_arg;

static void start_meter(void *arg)
{
    meter_start_arg *a = arg;
    meter_start(a->b, a->mt);
}

/* Starts depth threads, opens the gate once all are set up, stops them after --seconds. */
static int threads_start_and_run(bench *b, thread_ctx *ctxs, uint32_t depth, measurement *out)
{
    meter mt;
    meter_start_arg arg = {.b = b, .mt = &mt};
    uint32_t created = 0;
    int err = bench_threads_run(ctxs, sizeof(*ctxs), depth, thread_main, measure_ns(b), start_meter,
                                &arg, &created);
    uint64_t pages = 0;
    for (uint32_t i = 0; i < created; i++) pages += ctxs[i].page_count;
    meter_stop(b, &mt, pages, out);
    return err == 0 ? ALEXDB_OK
                    : pager_bench_errorf(ALEXDB_NOMEM, "pthread_create: %s", strerror(err));
}

int pager_bench_threads_run(bench *b, bench_kind kind, uint32_t depth, uint64_t seed,
                            measurement *out, latency_hist *hist)
{
    thread_ctx *ctxs = calloc(depth, sizeof(*ctxs));
    if (ctxs == NULL)
        return pager_bench_errorf(ALEXDB_NOMEM, "out of memory for %u threads", depth);
    int rc = ALEXDB_OK;
    for (uint32_t i = 0; i < depth && rc == ALEXDB_OK; i++) {
        ctxs[i] = (thread_ctx){.b = b, .kind = kind, .seed = seed + i * BENCH_PATTERN_PAGE_MUL};
        ctxs[i].hist = calloc(1, sizeof(latency_hist));
        if (ctxs[i].hist == NULL)
            rc = pager_bench_errorf(ALEXDB_NOMEM, "out of memory for histograms");
    }
    if (rc == ALEXDB_OK) rc = threads_start_and_run(b, ctxs, depth, out);
    for (uint32_t i = 0; i < depth; i++) {
        if (rc == ALEXDB_OK && ctxs[i].rc != ALEXDB_OK) {
            rc = pager_bench_errorf(ctxs[i].rc, "%s thread %u: %s (%s)",
                                    pager_bench_kind_names[kind], i, alexdb_strerror(ctxs[i].rc),
                                    ctxs[i].errmsg);
        }
        if (ctxs[i].hist != NULL) latency_hist_merge(hist, ctxs[i].hist);
        free(ctxs[i].hist);
    }
    free(ctxs);
    return rc;
}
