/*
 * io_uring.c: the default backend. One ring per thread (liburing is not safe for
 * several submitters), created on the thread's first I/O and shared by every file that
 * thread touches; a batch is queued as one submission and reaped before the call
 * returns, so a thread's ring is idle between calls (F3). The ring is torn down when
 * its thread exits.
 *
 * Setup tries SINGLE_ISSUER|DEFER_TASKRUN, then COOP_TASKRUN, then no flags, as older
 * kernels return EINVAL for flags they do not know. If no ring can be made (EPERM
 * under seccomp, ENOSYS, the io_uring_disabled sysctl) file.c falls back to posix.
 * This is the only file that includes <liburing.h>.
 */
#include "pager_int.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>

#define URING_DEPTH PAGER_IO_BATCH_MAX

typedef struct uring_thread {
    struct io_uring ring;
} uring_thread;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static _Thread_local uring_thread *thread_ring;
static _Thread_local int thread_ring_errno;

static void thread_ring_destroy(void *arg)
{
    uring_thread *t = arg;
    io_uring_queue_exit(&t->ring);
    free(t);
}

/*
 * In a child after fork() the forking thread's ring is the parent's (a SINGLE_ISSUER
 * ring refuses the child's submissions): the child drops its copy and sets up its own
 * on first use. Rings of the parent's other threads are not in the child at all.
 */
static void forget_ring_after_fork(void)
{
    if (thread_ring != NULL) {
        pthread_setspecific(thread_key, NULL);
        thread_ring_destroy(thread_ring); /* unmaps and closes the child's copies only */
        thread_ring = NULL;
    }
    thread_ring_errno = 0;
}

static void key_create(void)
{
    ALEXDB_ASSERT(pthread_key_create(&thread_key, thread_ring_destroy) == 0);
    ALEXDB_ASSERT(pthread_atfork(NULL, NULL, forget_ring_after_fork) == 0);
}

static int ring_setup(struct io_uring *ring)
{
    static const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int ret = -EINVAL;
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(flag_sets); i++) {
        ret = io_uring_queue_init(URING_DEPTH, ring, flag_sets[i]);
        if (ret != -EINVAL) break;
    }
    return ret;
}

static uring_thread *thread_ring_get(void)
{
    if (COMMON_LIKELY(thread_ring != NULL)) return thread_ring;
    if (thread_ring_errno != 0) return NULL;
    pthread_once(&key_once, key_create);
    uring_thread *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        thread_ring_errno = ENOMEM;
        return NULL;
    }
    int ret = ring_setup(&t->ring);
    if (ret < 0) {
        free(t);
        thread_ring_errno = -ret;
        return NULL;
    }
    pthread_setspecific(thread_key, t);
    thread_ring = t;
    return t;
}

int pager_io_uring_probe(void)
{
    return thread_ring_get() != NULL ? 0 : thread_ring_errno;
}

static int uring_open(pager_file *file, int open_flags)
{
    (void)open_flags;
    file->impl = NULL;
    return ALEXDB_OK;
}

static void uring_close(pager_file *file)
{
    ALEXDB_ASSERT(file->impl == NULL);
}

static void reap_count(uring_thread *t, uint32_t count);
static void drop_thread_ring(uring_thread *t);

/*
 * The kernel keeps refusing queued entries: wait for those it took, then drop this
 * thread's ring (the next I/O makes a fresh one) and fail the rest of the batch.
 */
static int abandon_ring(pager_file *file, uring_thread *t, pager_io_req *reqs,
                        uint32_t submitted, int ret)
{
    reap_count(t, submitted);
    drop_thread_ring(t);
    return common_error(ALEXDB_IO, "%s: io_uring_submit failed (%s) at request offset %llu",
                        file->path, strerror(-ret),
                        (unsigned long long)reqs[submitted].offset);
}

static int uring_submit(pager_file *file, pager_io_req *reqs, uint32_t count)
{
    ALEXDB_ASSERT(count <= URING_DEPTH);
    uring_thread *t = thread_ring_get();
    if (t == NULL) {
        return common_error(ALEXDB_IO, "%s: this thread cannot set up io_uring (%s)",
                            file->path, strerror(thread_ring_errno));
    }
    ALEXDB_ASSERT(io_uring_sq_ready(&t->ring) == 0); /* F3: idle between calls */
    for (uint32_t i = 0; i < count; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
        ALEXDB_ASSERT(sqe != NULL); /* count <= depth and the ring was idle */
        pager_io_req *req = &reqs[i];
        if (req->op == PAGER_IO_READ) {
            io_uring_prep_read(sqe, file->fd, req->buf, req->size, req->offset);
        } else {
            io_uring_prep_write(sqe, file->fd, req->buf, req->size, req->offset);
        }
        io_uring_sqe_set_data(sqe, req);
        req->result = INT32_MIN; /* in flight */
    }
    uint32_t submitted = 0;
    for (uint32_t attempt = 0; submitted < count; attempt++) {
        /* Submitting and waiting for the first completion in one io_uring_enter: the
         * caller reaps next anyway, and a batch costs one system call less. */
        int ret = io_uring_submit_and_wait(&t->ring, 1);
        if (ret > 0) {
            submitted += (uint32_t)ret;
        } else if (ret == -EINTR ||
                   ((ret == -EAGAIN || ret == -EBUSY || ret == 0) && attempt < PAGER_IO_RETRY_MAX)) {
            continue;
        } else {
            return abandon_ring(file, t, reqs, submitted, ret);
        }
    }
    return ALEXDB_OK;
}

/*
 * Waits for count completions on the thread's ring and stores each result. A request
 * that completed in full gets its on_done call here, while the rest are still in
 * flight (the pool verifies pages this way, overlapping checksums with I/O).
 */
static void reap_count(uring_thread *t, uint32_t count)
{
    uint32_t reaped = 0;
    while (reaped < count) {
        struct io_uring_cqe *cqe = NULL;
        int ret = io_uring_wait_cqe_nr(&t->ring, &cqe, 1);
        if (ret == -EINTR || ret == -EAGAIN) continue;
        /* A ring with requests in flight that cannot be waited on is a kernel contract
         * broken; returning would let the kernel write into freed buffers later. */
        ALEXDB_ASSERT(ret == 0);
        unsigned head;
        unsigned seen = 0;
        io_uring_for_each_cqe(&t->ring, head, cqe) {
            pager_io_req *req = io_uring_cqe_get_data(cqe);
            ALEXDB_ASSERT(req != NULL && req->result == INT32_MIN);
            req->result = cqe->res;
            if (req->on_done != NULL && cqe->res == (int32_t)req->size) {
                req->notified = 1;
                req->on_done(req->ctx);
            }
            seen++;
        }
        io_uring_cq_advance(&t->ring, seen);
        reaped += seen;
    }
    ALEXDB_ASSERT(reaped == count);
}

static int uring_reap(pager_file *file, pager_io_req *reqs, uint32_t count)
{
    (void)file;
    (void)reqs;
    ALEXDB_ASSERT(thread_ring != NULL);
    reap_count(thread_ring, count);
    return ALEXDB_OK;
}

static void drop_thread_ring(uring_thread *t)
{
    pthread_setspecific(thread_key, NULL);
    thread_ring = NULL;
    thread_ring_destroy(t);
}

/*
 * Submits the one entry prepared on t's ring and waits for its completion in the same
 * io_uring_enter. Returns its result (or -errno if it could not be submitted).
 */
static int submit_one_and_wait(uring_thread *t)
{
    int ret = 0;
    for (uint32_t attempt = 0; attempt <= PAGER_IO_RETRY_MAX; attempt++) {
        ret = io_uring_submit_and_wait(&t->ring, 1);
        if (ret != -EINTR && ret != -EAGAIN && ret != -EBUSY && ret != 0) break;
    }
    if (ret != 1) {
        /* Not submitted: the prepared entry must not reach the kernel later. */
        drop_thread_ring(t);
        return ret < 0 ? ret : -EIO;
    }
    struct io_uring_cqe *cqe = NULL;
    do {
        ret = io_uring_wait_cqe(&t->ring, &cqe);
    } while (ret == -EINTR || ret == -EAGAIN);
    ALEXDB_ASSERT(ret == 0 && cqe != NULL); /* see reap_count() */
    ALEXDB_ASSERT(io_uring_cqe_get_data(cqe) == NULL);
    int res = cqe->res;
    io_uring_cqe_seen(&t->ring, cqe);
    return res;
}

static int uring_sync(pager_file *file)
{
    uring_thread *t = thread_ring_get();
    if (t == NULL) return -thread_ring_errno;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
    ALEXDB_ASSERT(sqe != NULL); /* F3: the ring is idle */
    io_uring_prep_fsync(sqe, file->fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data(sqe, NULL);
    int res = submit_one_and_wait(t);
    return res < 0 ? res : 0;
}

/*
 * A write with RWF_DSYNC: the kernel completes it only once the data is on stable
 * storage (with O_DIRECT and no FUA, it flushes the device cache before completing).
 * One submission and one wait, where a write then an fdatasync take two of each and
 * the fdatasync a trip through an io-wq worker (measured in wal/README.md). A linked
 * write + fsync (IOSQE_IO_LINK) was measured slower here: the fsync still runs on a
 * worker after the write completes.
 */
static int uring_write_dsync(pager_file *file, pager_io_req *req)
{
    ALEXDB_ASSERT(req->op == PAGER_IO_WRITE);
    uring_thread *t = thread_ring_get();
    if (t == NULL) return -thread_ring_errno;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
    ALEXDB_ASSERT(sqe != NULL); /* F3: the ring is idle */
    io_uring_prep_write(sqe, file->fd, req->buf, req->size, req->offset);
    sqe->rw_flags = RWF_DSYNC;
    io_uring_sqe_set_data(sqe, NULL);
    return submit_one_and_wait(t);
}

const pager_io_ops pager_io_uring_ops = {
    .name = "io_uring",
    .open = uring_open,
    .close = uring_close,
    .submit = uring_submit,
    .reap = uring_reap,
    .sync = uring_sync,
    .write_dsync = uring_write_dsync,
    .allocate = pager_io_fallocate,
};
