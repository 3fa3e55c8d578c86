/*
 * engine_raw.c: the device itself, as fio sees it, so every report can say "% of device".
 * One preallocated file (written with zeros first: writes into unwritten extents would
 * pay for metadata) of one 4 KiB block per key; key index i lives in block i mod blocks.
 * Each op is one 4 KiB O_DIRECT read or write through io_uring, one ring per thread and
 * one I/O in flight (fio's ioengine=io_uring iodepth=1); with sync=1 each write is
 * followed by an fdatasync. A block holds [key u64 LE][size u32 LE][value], so a read
 * still checks its value like every engine. A scan of n keys (rw=scan, readseq, YCSB E) is
 * n consecutive blocks from the start key's block, wrapping from the last block to block 0,
 * so it is always n reads: the device's cost of touching n keys one 4 KiB read each, in
 * the order of the blocks, which is key order only with key_shape=sequential (the engine
 * says it is not ordered, so the runner checks each value but not the order).
 *
 * Rings try SINGLE_ISSUER|DEFER_TASKRUN, then COOP_TASKRUN, then no flags (ANCHORS 6);
 * without io_uring (EPERM in containers) the engine says so once and uses pread/pwrite.
 */
#include "alexdb_bench.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdatomic.h>
#include <unistd.h>

#define RAW_BLOCK_SIZE 4096u
#define RAW_HEADER_SIZE 12u
#define RAW_ZERO_CHUNK_SIZE (1u << 20)

typedef struct raw_db {
    int fd;
    uint64_t block_count;
    bool sync;
} raw_db;

typedef struct raw_ctx {
    raw_db *db;
    const ab_job *job;      /* keys map back to blocks with its key shape */
    struct io_uring ring;
    bool have_ring;
    unsigned char *block;   /* RAW_BLOCK_SIZE, aligned */
} raw_ctx;

static _Atomic bool raw_said_fallback;

static int zero_fill(int fd, uint64_t size)
{
    void *zeros = NULL;
    if (posix_memalign(&zeros, RAW_BLOCK_SIZE, RAW_ZERO_CHUNK_SIZE) != 0) return ab_errorf("out of memory");
    memset(zeros, 0, RAW_ZERO_CHUNK_SIZE);
    int rc = 0;
    for (uint64_t offset = 0; offset < size && rc == 0;) {
        size_t n = size - offset < RAW_ZERO_CHUNK_SIZE ? (size_t)(size - offset) : RAW_ZERO_CHUNK_SIZE;
        ssize_t w = pwrite(fd, zeros, n, (off_t)offset);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) rc = ab_errorf("raw: preallocating: %s", w < 0 ? strerror(errno) : "short write");
        else offset += (uint64_t)w;
    }
    free(zeros);
    if (rc == 0 && fdatasync(fd) != 0) rc = ab_errorf("raw: fdatasync: %s", strerror(errno));
    return rc;
}

static int raw_open(const ab_job *job, const char *dir, void **db_out)
{
    if (job->value_size + RAW_HEADER_SIZE > RAW_BLOCK_SIZE)
        return ab_errorf("raw: value_size %u does not fit a 4 KiB block", job->value_size);
    raw_db *db = calloc(1, sizeof(*db));
    if (db == NULL) return ab_errorf("out of memory");
    db->sync = job->sync;
    db->block_count = job->raw_size != 0 ? job->raw_size / RAW_BLOCK_SIZE : job->key_count;
    if (db->block_count == 0) db->block_count = 1;
    char path[AB_PATH_SIZE_MAX + 16];
    snprintf(path, sizeof(path), "%s/raw.data", dir);
    db->fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0644);
    if (db->fd < 0 && errno == EINVAL) {
        fprintf(stderr, AB_NAME ": raw: O_DIRECT unsupported here; using the page cache\n");
        db->fd = open(path, O_RDWR | O_CREAT, 0644);
    }
    if (db->fd < 0) {
        free(db);
        return ab_errorf("raw: open %s: %s", path, strerror(errno));
    }
    if (zero_fill(db->fd, db->block_count * RAW_BLOCK_SIZE) != 0) {
        close(db->fd);
        free(db);
        return -1;
    }
    *db_out = db;
    return 0;
}

static int ring_init(struct io_uring *ring)
{
    const unsigned flag_sets[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                                  IORING_SETUP_COOP_TASKRUN, 0};
    int rc = -EINVAL;
    for (unsigned i = 0; i < 3 && rc == -EINVAL; i++) rc = io_uring_queue_init(8, ring, flag_sets[i]);
    return rc;
}

static int raw_thread_open(void *dbp, const ab_job *job, void **ctx_out)
{
    raw_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) return ab_errorf("out of memory");
    ctx->db = dbp;
    ctx->job = job;
    void *block = NULL;
    if (posix_memalign(&block, RAW_BLOCK_SIZE, RAW_BLOCK_SIZE) != 0) {
        free(ctx);
        return ab_errorf("out of memory");
    }
    ctx->block = block;
    int rc = ring_init(&ctx->ring);
    ctx->have_ring = rc == 0;
    if (rc != 0 && !atomic_exchange(&raw_said_fallback, true))
        fprintf(stderr, AB_NAME ": raw: io_uring unavailable (%s); using pread/pwrite\n", strerror(-rc));
    *ctx_out = ctx;
    return 0;
}

static void raw_thread_close(void *ctxp)
{
    raw_ctx *ctx = ctxp;
    if (ctx == NULL) return;
    if (ctx->have_ring) io_uring_queue_exit(&ctx->ring);
    free(ctx->block);
    free(ctx);
}

/* One I/O and its completion: 0, or -errno. op is IORING_OP_READ, WRITE or FSYNC. */
static int ring_io(raw_ctx *ctx, int op, uint64_t offset)
{
    int fd = ctx->db->fd;
    if (!ctx->have_ring) {
        ssize_t n = op == IORING_OP_READ ? pread(fd, ctx->block, RAW_BLOCK_SIZE, (off_t)offset)
                    : op == IORING_OP_WRITE ? pwrite(fd, ctx->block, RAW_BLOCK_SIZE, (off_t)offset)
                                            : fdatasync(fd);
        if (n < 0) return -errno;
        return op == IORING_OP_FSYNC || n == RAW_BLOCK_SIZE ? 0 : -EIO;
    }
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ctx->ring);
    AB_ASSERT(sqe != NULL); /* one I/O in flight, eight slots */
    if (op == IORING_OP_READ) io_uring_prep_read(sqe, fd, ctx->block, RAW_BLOCK_SIZE, offset);
    else if (op == IORING_OP_WRITE) io_uring_prep_write(sqe, fd, ctx->block, RAW_BLOCK_SIZE, offset);
    else io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    int rc;
    do rc = io_uring_submit_and_wait(&ctx->ring, 1);
    while (rc == -EINTR);
    if (rc < 0) return rc;
    struct io_uring_cqe *cqe = NULL;
    do rc = io_uring_wait_cqe(&ctx->ring, &cqe);
    while (rc == -EINTR);
    if (rc < 0) return rc;
    int res = cqe->res;
    io_uring_cqe_seen(&ctx->ring, cqe);
    if (res < 0) return res;
    return op == IORING_OP_FSYNC || res == RAW_BLOCK_SIZE ? 0 : -EIO;
}

/* Keys map back to blocks with the thread's job's key shape (it may change per job). */
static uint64_t block_of(const raw_ctx *ctx, uint64_t key)
{
    return ab_index_of(ctx->job, key) % ctx->db->block_count;
}

static int raw_put(void *ctxp, uint64_t key, const void *value, size_t value_size)
{
    raw_ctx *ctx = ctxp;
    uint32_t size = (uint32_t)value_size;
    memcpy(ctx->block, &key, 8);
    memcpy(ctx->block + 8, &size, 4);
    memcpy(ctx->block + RAW_HEADER_SIZE, value, value_size);
    int rc = ring_io(ctx, IORING_OP_WRITE, block_of(ctx, key) * RAW_BLOCK_SIZE);
    if (rc == 0 && ctx->db->sync) rc = ring_io(ctx, IORING_OP_FSYNC, 0);
    return rc == 0 ? 0 : ab_errorf("raw: write: %s", strerror(-rc));
}

/* Reads block; 0 with its key and value, or -1. */
static int read_block(raw_ctx *ctx, uint64_t block, uint64_t *key_out, uint32_t *size_out)
{
    int rc = ring_io(ctx, IORING_OP_READ, block * RAW_BLOCK_SIZE);
    if (rc != 0) return ab_errorf("raw: read: %s", strerror(-rc));
    memcpy(key_out, ctx->block, 8);
    memcpy(size_out, ctx->block + 8, 4);
    if (*size_out > RAW_BLOCK_SIZE - RAW_HEADER_SIZE) *size_out = 0;
    return 0;
}

static int raw_get(void *ctxp, uint64_t key, void *buf, size_t buf_size, size_t *value_size_out)
{
    raw_ctx *ctx = ctxp;
    uint64_t stored_key = 0;
    uint32_t size = 0;
    if (read_block(ctx, block_of(ctx, key), &stored_key, &size) != 0) return -1;
    if (stored_key != key || size == 0) return 1;
    memcpy(buf, ctx->block + RAW_HEADER_SIZE, size < buf_size ? size : buf_size);
    *value_size_out = size;
    return 0;
}

static int raw_scan(void *ctxp, uint64_t start, uint32_t count, ab_scan_visit_fn visit, void *arg,
                    uint32_t *visited_out)
{
    raw_ctx *ctx = ctxp;
    uint64_t first = block_of(ctx, start), block_count = ctx->db->block_count;
    uint32_t visited = 0;
    for (; visited < count && visited < block_count; visited++) {
        uint64_t key = 0;
        uint32_t size = 0;
        uint64_t block = (first + visited) % block_count;
        if (read_block(ctx, block, &key, &size) != 0) return -1;
        if (size != 0 && visit(arg, key, ctx->block + RAW_HEADER_SIZE, size) != 0) return -1;
    }
    *visited_out = visited;
    return 0;
}

static int raw_close(void *dbp)
{
    raw_db *db = dbp;
    int rc = close(db->fd) == 0 ? 0 : ab_errorf("raw: close: %s", strerror(errno));
    free(db);
    return rc;
}

const bench_engine ab_engine_raw = {
    .name = "raw",
    .ordered = false,
    .open = raw_open,
    .thread_open = raw_thread_open,
    .thread_close = raw_thread_close,
    .put = raw_put,
    .get = raw_get,
    .scan = raw_scan,
    .counters = NULL,
    .close = raw_close,
};
