/*
 * io_posix.c: the portable backend, pread/pwrite/fdatasync. Chosen automatically when
 * io_uring is unavailable or the filesystem refuses O_DIRECT (file.c). A batch is
 * executed one request at a time inside submit(); reap() has nothing left to wait for.
 */
#include "pager_int.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int posix_open(pager_file *file, int open_flags)
{
    (void)open_flags;
    file->impl = NULL;
    return ALEXDB_OK;
}

static void posix_close(pager_file *file)
{
    ALEXDB_ASSERT(file->impl == NULL);
}

static int posix_submit(pager_file *file, pager_io_req *reqs, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        pager_io_req *req = &reqs[i];
        ssize_t n = req->op == PAGER_IO_READ
                        ? pread(file->fd, req->buf, req->size, (off_t)req->offset)
                        : pwrite(file->fd, req->buf, req->size, (off_t)req->offset);
        req->result = n < 0 ? -errno : (int32_t)n;
    }
    return ALEXDB_OK;
}

static int posix_reap(pager_file *file, pager_io_req *reqs, uint32_t count)
{
    (void)file;
    (void)reqs;
    (void)count;
    return ALEXDB_OK;
}

static int posix_sync(pager_file *file)
{
    return fdatasync(file->fd) == 0 ? 0 : -errno;
}

int pager_io_fallocate(pager_file *file, uint64_t offset, uint64_t size)
{
    return fallocate(file->fd, 0, (off_t)offset, (off_t)size) == 0 ? 0 : -errno;
}

const pager_io_ops pager_io_posix_ops = {
    .name = "posix",
    .open = posix_open,
    .close = posix_close,
    .submit = posix_submit,
    .reap = posix_reap,
    .sync = posix_sync,
    .allocate = pager_io_fallocate,
};
