/*
 * raw.c: alexdb-pager-bench's comparator, the same reads done without the pager. It has
 * its own descriptor on the page file, opened O_DIRECT exactly when the pager's is, and
 * its own io_uring ring set up with the pager's flag fallback, so that the only
 * difference left between raw and pager is the pager's own work. When the pager runs on
 * the posix backend, raw reads with pread one page after another, as io_posix.c does.
 *
 * Entry points: pager_bench_raw_open() / pager_bench_raw_close() for the shared ring
 * and buffers; pager_bench_raw_uring_batch() and pager_bench_raw_pread_batch() read a
 * batch; pager_bench_raw_ring_setup(), pager_bench_raw_prep_read() and
 * pager_bench_raw_result_error() are the pieces measure.c's other loops reuse.
 */
#include "pager_bench.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

/* The same fallback chain as the pager's ring (ANCHORS 6), so both run alike. */
int pager_bench_raw_ring_setup(struct io_uring *ring, unsigned entries, unsigned *flags_out)
{
    static const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int ret = -EINVAL;
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(flag_sets); i++) {
        ret = io_uring_queue_init(entries, ring, flag_sets[i]);
        if (ret != -EINVAL) {
            *flags_out = flag_sets[i];
            break;
        }
    }
    return ret;
}

static const char *ring_flags_name(unsigned flags)
{
    if (flags & IORING_SETUP_DEFER_TASKRUN) return "SINGLE_ISSUER|DEFER_TASKRUN";
    if (flags & IORING_SETUP_COOP_TASKRUN) return "COOP_TASKRUN";
    return "none";
}

void pager_bench_raw_prep_read(struct io_uring *ring, int fd, uint8_t *buf, uint64_t page_no,
                               uint32_t slot)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    ALEXDB_ASSERT(sqe != NULL); /* in flight <= depth <= ring entries */
    io_uring_prep_read(sqe, fd, buf, PAGER_PAGE_SIZE, page_no * PAGER_PAGE_SIZE);
    io_uring_sqe_set_data64(sqe, slot);
}

int pager_bench_raw_result_error(uint64_t page_no, int res)
{
    if (res >= 0) {
        return common_error(ALEXDB_IO, "raw read of page %" PRIu64 ": %d bytes, expected %u",
                            page_no, res, PAGER_PAGE_SIZE);
    }
    return common_error(ALEXDB_IO, "raw read of page %" PRIu64 ": %s", page_no, strerror(-res));
}

/*
 * Submits count reads in one submission and waits for all of them, as the pager does
 * for a batch of misses. EAGAIN/EINTR completions are resubmitted (bounded).
 */
int pager_bench_raw_uring_batch(struct io_uring *ring, int fd, uint8_t *bufs,
                                const uint64_t *page_nos, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        pager_bench_raw_prep_read(ring, fd, bufs + (size_t)i * PAGER_PAGE_SIZE, page_nos[i], i);
    }
    uint32_t done = 0;
    uint32_t retries = 0;
    int rc = ALEXDB_OK;
    while (done < count) {
        int ret = io_uring_submit_and_wait(ring, count - done);
        if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
            /* Requests may still be in flight into bufs: this is fatal for the run. */
            return common_error(ALEXDB_IO, "io_uring_submit_and_wait: %s", strerror(-ret));
        }
        unsigned head;
        unsigned seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(ring, head, cqe)
        {
            seen++;
            uint32_t i = (uint32_t)io_uring_cqe_get_data64(cqe);
            ALEXDB_ASSERT(i < count);
            if ((cqe->res == -EAGAIN || cqe->res == -EINTR) && retries < BENCH_RETRY_MAX) {
                retries++;
                pager_bench_raw_prep_read(ring, fd, bufs + (size_t)i * PAGER_PAGE_SIZE, page_nos[i],
                                          i);
                continue;
            }
            done++;
            if (cqe->res != (int)PAGER_PAGE_SIZE && rc == ALEXDB_OK) {
                rc = pager_bench_raw_result_error(page_nos[i], cqe->res);
            }
        }
        io_uring_cq_advance(ring, seen);
    }
    return rc;
}

/* The posix comparator for --backend=posix: one pread after another, as io_posix.c. */
int pager_bench_raw_pread_batch(int fd, uint8_t *bufs, const uint64_t *page_nos, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        ssize_t n;
        uint32_t attempt = 0;
        do {
            n = pread(fd, bufs + (size_t)i * PAGER_PAGE_SIZE, PAGER_PAGE_SIZE,
                      (off_t)(page_nos[i] * PAGER_PAGE_SIZE));
        } while (n < 0 && (errno == EINTR || errno == EAGAIN) && ++attempt < BENCH_RETRY_MAX);
        if (n != (ssize_t)PAGER_PAGE_SIZE)
            return pager_bench_raw_result_error(page_nos[i], n < 0 ? -errno : (int)n);
    }
    return ALEXDB_OK;
}

int pager_bench_raw_open(bench *b)
{
    int direct = pager_file_is_direct(pager_get_file(b->pg));
    b->raw_fd = open(b->path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
    if (b->raw_fd < 0)
        return pager_bench_errorf(ALEXDB_IO, "open %s: %s", b->path, strerror(errno));
    if (posix_memalign((void **)&b->raw_bufs, PAGER_PAGE_SIZE,
                       (size_t)BENCH_DEPTH_MAX * PAGER_PAGE_SIZE) != 0) {
        return pager_bench_errorf(ALEXDB_NOMEM, "out of memory for raw buffers");
    }
    memset(b->raw_bufs, 0, (size_t)BENCH_DEPTH_MAX * PAGER_PAGE_SIZE);
    pager_stats stats;
    pager_stats_get(b->pg, &stats);
    b->raw_uring = strcmp(stats.backend, "io_uring") == 0;
    uint32_t depth_max = 1;
    for (uint32_t i = 0; i < b->opt.depth_count; i++)
        depth_max = COMMON_MAX(depth_max, b->opt.depths[i]);
    if (b->raw_uring) {
        int ret = pager_bench_raw_ring_setup(&b->ring, depth_max, &b->ring_flags);
        if (ret < 0) return pager_bench_errorf(ALEXDB_IO, "raw io_uring setup: %s", strerror(-ret));
        b->ring_ready = true;
    }
    fprintf(b->out, "raw: own %s descriptor on the same file, %s%s%s; same page distribution%s\n",
            direct ? "O_DIRECT" : "buffered",
            !b->raw_uring ? "pread one after another"
            : b->opt.mode == BENCH_MODE_THREADS
                ? "one io_uring ring per thread, one read at a time, flags "
                : "io_uring ring, submit_and_wait per batch, flags ",
            b->raw_uring ? ring_flags_name(b->ring_flags) : "",
            b->raw_uring ? "" : " (raw-continuous needs io_uring: skipped)",
            b->opt.mode == BENCH_MODE_THREADS ? "" : ", same batches");
    return ALEXDB_OK;
}

void pager_bench_raw_close(bench *b)
{
    if (b->ring_ready) io_uring_queue_exit(&b->ring);
    b->ring_ready = false;
    if (b->raw_fd >= 0) close(b->raw_fd);
    b->raw_fd = -1;
    free(b->raw_bufs);
    b->raw_bufs = NULL;
}
