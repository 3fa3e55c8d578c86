/*
 * raw.c: alexdb-index-bench's comparator for cold reads: the same 4 KiB random reads of
 * the engine's own data file, done without the engine. Its descriptor is opened O_DIRECT
 * exactly when the engine's is (read from /proc/self/fdinfo, since alexdb.h does not
 * say), and each reader thread has its own io_uring ring set up with the engine's flag
 * fallback (ANCHORS 6), reading one page at a time with one submit-and-wait, as
 * alexdb-pager-bench's threads mode does. When the engine runs on pread, so does raw.
 * The ring code follows bench/pager_bench/raw.c.
 *
 * Entry points: index_bench_raw_open(), index_bench_fd_is_direct(),
 * index_bench_raw_reader_make() / _free(), index_bench_raw_read(),
 * index_bench_raw_ring_flags_name().
 */
#include "index_bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <unistd.h>

struct ib_raw_reader {
    bool uring;
    struct io_uring ring;
    uint8_t *buf; /* one page, 4 KiB-aligned for O_DIRECT */
};

static const unsigned ring_flag_sets[] = {
    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
    IORING_SETUP_COOP_TASKRUN,
    0,
};

/* The same fallback chain as the engine's ring, so both run alike. */
static int ring_setup(struct io_uring *ring, unsigned *flags_out)
{
    int ret = -EINVAL;
    for (size_t i = 0; i < sizeof(ring_flag_sets) / sizeof(ring_flag_sets[0]); i++) {
        ret = io_uring_queue_init(IB_THREAD_RING_ENTRIES, ring, ring_flag_sets[i]);
        if (ret != -EINVAL) {
            *flags_out = ring_flag_sets[i];
            break;
        }
    }
    return ret;
}

const char *index_bench_raw_ring_flags_name(void)
{
    struct io_uring ring;
    unsigned flags = 0;
    if (ring_setup(&ring, &flags) < 0) return "unavailable";
    io_uring_queue_exit(&ring);
    if (flags & IORING_SETUP_DEFER_TASKRUN) return "SINGLE_ISSUER|DEFER_TASKRUN";
    if (flags & IORING_SETUP_COOP_TASKRUN) return "COOP_TASKRUN";
    return "none";
}

int index_bench_raw_open(const char *data_path, bool direct, int *fd_out)
{
    int fd = open(data_path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
    if (fd < 0) return index_bench_errorf(ALEXDB_IO, "open %s: %s", data_path, strerror(errno));
    *fd_out = fd;
    return ALEXDB_OK;
}

/* The "flags:" line of /proc/self/fdinfo/<fd>, in octal; -1 if unreadable. */
static long fdinfo_flags(const char *fd_name)
{
    char path[300];
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", fd_name);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    char line[256];
    long flags = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "flags:", 6) == 0) {
            flags = strtol(line + 6, NULL, 8);
            break;
        }
    }
    fclose(f);
    return flags;
}

int index_bench_fd_is_direct(const char *data_path)
{
    char want[IB_PATH_SIZE_MAX];
    if (realpath(data_path, want) == NULL) return -1;
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL) return -1;
    int result = -1;
    struct dirent *entry;
    while (result < 0 && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char link_path[300];
        char target[IB_PATH_SIZE_MAX];
        snprintf(link_path, sizeof(link_path), "/proc/self/fd/%s", entry->d_name);
        ssize_t n = readlink(link_path, target, sizeof(target) - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (strcmp(target, want) != 0) continue;
        long flags = fdinfo_flags(entry->d_name);
        if (flags >= 0) result = (flags & O_DIRECT) != 0;
    }
    closedir(dir);
    return result;
}

int index_bench_raw_reader_make(bool uring, ib_raw_reader **reader_out)
{
    ib_raw_reader *r = calloc(1, sizeof(*r));
    if (r == NULL) return index_bench_errorf(ALEXDB_NOMEM, "out of memory for a raw reader");
    if (posix_memalign((void **)&r->buf, IB_PAGE_SIZE, IB_PAGE_SIZE) != 0) {
        free(r);
        return index_bench_errorf(ALEXDB_NOMEM, "out of memory for a raw buffer");
    }
    memset(r->buf, 0, IB_PAGE_SIZE);
    if (uring) {
        unsigned flags = 0;
        int ret = ring_setup(&r->ring, &flags);
        if (ret < 0) {
            free(r->buf);
            free(r);
            return index_bench_errorf(ALEXDB_IO, "raw io_uring setup: %s", strerror(-ret));
        }
        r->uring = true;
    }
    *reader_out = r;
    return ALEXDB_OK;
}

void index_bench_raw_reader_free(ib_raw_reader *r)
{
    if (r == NULL) return;
    if (r->uring) io_uring_queue_exit(&r->ring);
    free(r->buf);
    free(r);
}

static int read_error(uint64_t page_no, int res)
{
    if (res >= 0) {
        return index_bench_errorf(ALEXDB_IO, "raw read of page %" PRIu64 ": %d bytes, expected %u",
                                  page_no, res, IB_PAGE_SIZE);
    }
    return index_bench_errorf(ALEXDB_IO, "raw read of page %" PRIu64 ": %s", page_no,
                              strerror(-res));
}

static int pread_page(ib_raw_reader *r, int fd, uint64_t page_no)
{
    ssize_t n;
    uint32_t attempt = 0;
    do {
        n = pread(fd, r->buf, IB_PAGE_SIZE, (off_t)(page_no * IB_PAGE_SIZE));
    } while (n < 0 && (errno == EINTR || errno == EAGAIN) && ++attempt < IB_RETRY_MAX);
    return n == (ssize_t)IB_PAGE_SIZE ? ALEXDB_OK : read_error(page_no, n < 0 ? -errno : (int)n);
}

/* One read, one submit-and-wait: a QD1 reader. EAGAIN/EINTR completions are retried. */
int index_bench_raw_read(ib_raw_reader *r, int fd, uint64_t page_no)
{
    if (!r->uring) return pread_page(r, fd, page_no);
    for (uint32_t attempt = 0; attempt < IB_RETRY_MAX; attempt++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
        IB_ASSERT(sqe != NULL); /* one read in flight at most */
        io_uring_prep_read(sqe, fd, r->buf, IB_PAGE_SIZE, page_no * IB_PAGE_SIZE);
        int ret;
        do {
            ret = io_uring_submit_and_wait(&r->ring, 1);
        } while (ret == -EINTR || ret == -EAGAIN || ret == -EBUSY);
        if (ret < 0) {
            return index_bench_errorf(ALEXDB_IO, "io_uring_submit_and_wait: %s", strerror(-ret));
        }
        struct io_uring_cqe *cqe = NULL;
        ret = io_uring_peek_cqe(&r->ring, &cqe);
        IB_ASSERT(ret == 0 && cqe != NULL); /* submit_and_wait(1) returned */
        int res = cqe->res;
        io_uring_cqe_seen(&r->ring, cqe);
        if (res == (int)IB_PAGE_SIZE) return ALEXDB_OK;
        if (res != -EAGAIN && res != -EINTR) return read_error(page_no, res);
    }
    return read_error(page_no, -EAGAIN);
}
