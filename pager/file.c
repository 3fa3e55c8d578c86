/*
 * file.c: a page file or log segment, read and written in batches through one I/O
 * backend. This layer owns everything the backends share: choosing the backend and
 * falling back (io_uring unavailable, O_DIRECT refused), resubmitting short and EAGAIN
 * transfers, turning errno into ALEXDB_* codes, the sticky error after a failed write
 * or fdatasync (F2), and the I/O counters; and the few directory operations the WAL's
 * segments need (list, fsync, remove, rename). Invariants F1-F4: pager/README.md.
 */
#include "pager_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

void pager_log(const pager_env *env, int level, const char *fmt, ...)
{
    if (env == NULL || env->log == NULL) return;
    char message[COMMON_ERRMSG_SIZE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    env->log(env->log_ctx, level, message);
}

/* Records why a fallback happened; a second fallback is appended, not overwritten. */
static void add_fallback_reason(pager_file *file, const char *reason)
{
    size_t used = strlen(file->fallback_reason);
    snprintf(file->fallback_reason + used, sizeof(file->fallback_reason) - used, "%s%s",
             used > 0 ? "; " : "", reason);
}

static const pager_io_ops *choose_backend(pager_file *file)
{
    switch (file->env.backend) {
    case PAGER_BACKEND_POSIX: return &pager_io_posix_ops;
    case PAGER_BACKEND_FAULT: return &pager_io_fault_ops;
    case PAGER_BACKEND_URING:
    case PAGER_BACKEND_AUTO: break;
    }
    int err = file->env.test_uring_errno != 0 ? file->env.test_uring_errno : pager_io_uring_probe();
    if (err == 0) return &pager_io_uring_ops;
    if (file->env.backend == PAGER_BACKEND_URING) return NULL;
    char reason[64];
    snprintf(reason, sizeof(reason), "io_uring unavailable (%s)",
             strerrorname_np(err) ? strerrorname_np(err) : "?");
    add_fallback_reason(file, reason);
    pager_log(&file->env, PAGER_LOG_WARN, "alexdb: %s: %s; using pread/pwrite", file->path, reason);
    return &pager_io_posix_ops;
}

static int open_descriptor(pager_file *file, int oflags)
{
    if (!file->env.buffered) {
        errno = file->env.test_direct_errno;
        int fd = errno != 0 ? -1 : open(file->path, oflags | O_DIRECT, 0644);
        if (fd >= 0) {
            file->direct = 1;
            return fd;
        }
        if (errno != EINVAL) return -1;
        /* The filesystem refuses O_DIRECT: buffered I/O, said once. With AUTO that means
         * pread/pwrite; a caller who demanded io_uring keeps it, on the buffered fd. */
        const char *reason = "O_DIRECT refused by the filesystem (EINVAL)";
        add_fallback_reason(file, reason);
        bool to_posix = file->ops == &pager_io_uring_ops && file->env.backend == PAGER_BACKEND_AUTO;
        pager_log(&file->env, PAGER_LOG_WARN, "alexdb: %s: %s; using buffered %s", file->path,
                  reason, to_posix ? "pread/pwrite" : file->ops->name);
        if (to_posix) file->ops = &pager_io_posix_ops;
    }
    return open(file->path, oflags, 0644);
}

int pager_file_open(const pager_env *env, const char *path, unsigned flags, pager_file **file_out)
{
    if (path == NULL || file_out == NULL || strlen(path) >= PAGER_PATH_SIZE_MAX) {
        return common_error(ALEXDB_INVALID, "pager_file_open: bad path or output pointer");
    }
    *file_out = NULL;
    pager_file *file = calloc(1, sizeof(*file));
    if (file == NULL) return common_error(ALEXDB_NOMEM, "pager_file_open: out of memory");
    if (env != NULL) file->env = *env;
    file->flags = flags;
    file->fd = -1;
    file->path = strdup(path);
    int rc = ALEXDB_NOMEM;
    if (file->path == NULL) goto fail_free;
    if (file->env.backend == PAGER_BACKEND_FAULT && file->env.fault == NULL) {
        rc = common_error(ALEXDB_INVALID, "pager_file_open: fault backend without a domain");
        goto fail_free;
    }
    file->ops = choose_backend(file);
    if (file->ops == NULL) {
        rc = common_error(ALEXDB_NOTSUP, "%s: io_uring was required but is unavailable", path);
        goto fail_free;
    }
    int oflags = O_CLOEXEC | ((flags & PAGER_OPEN_READONLY) ? O_RDONLY : O_RDWR);
    if (flags & PAGER_OPEN_CREATE) oflags |= O_CREAT;
    file->fd = open_descriptor(file, oflags);
    if (file->fd < 0) {
        int err = errno;
        rc = common_error(err == ENOENT ? ALEXDB_IO : common_errno_to_result(err),
                          "open %s: %s", path, strerror(err));
        goto fail_free;
    }
    rc = file->ops->open(file, oflags);
    if (rc != ALEXDB_OK) goto fail_close;
    *file_out = file;
    return ALEXDB_OK;

fail_close:
    close(file->fd);
fail_free:
    free(file->path);
    free(file);
    return rc;
}

void pager_file_close(pager_file *file)
{
    if (file == NULL) return;
    file->ops->close(file);
    close(file->fd);
    free(file->path);
    free(file);
}

static _Thread_local uint64_t thread_read_count;

uint64_t pager_thread_read_count(void)
{
    return thread_read_count;
}

static void count_completion(pager_file *file, const pager_io_req *req)
{
    bool is_read = req->op == PAGER_IO_READ;
    thread_read_count += is_read;
    atomic_fetch_add_explicit(is_read ? &file->read_count : &file->write_count, 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(is_read ? &file->read_bytes : &file->write_bytes, req->size,
                              memory_order_relaxed);
}

/* The sticky error after a failed write or flush (F2), set once; rc is returned. */
static int set_sticky(pager_file *file, int rc)
{
    int expected = ALEXDB_OK;
    atomic_compare_exchange_strong(&file->sticky_error, &expected, rc); /* F2 */
    return rc;
}

static int request_error(pager_file *file, const pager_io_req *req, int err)
{
    const char *what = req->op == PAGER_IO_READ ? "read" : "write";
    int rc = common_error(common_errno_to_result(err), "%s %s offset %" PRIu64 " size %u: %s",
                          what, file->path, req->offset, req->size, strerror(err));
    return req->op == PAGER_IO_WRITE ? set_sticky(file, rc) : rc;
}

/*
 * Fails every request still pending with EIO (the retries ran out, or the backend
 * failed the whole batch): a pending write makes the file sticky (F2).
 */
static int fail_pending(pager_file *file, pager_io_req *reqs, const uint32_t *pending,
                        uint32_t pending_count, int rc, const char *why)
{
    for (uint32_t k = 0; k < pending_count; k++) {
        pager_io_req *req = &reqs[pending[k]];
        req->result = -EIO;
        int req_rc = request_error(file, req, EIO);
        if (rc == ALEXDB_OK) rc = req_rc;
    }
    if (pending_count > 0) {
        const pager_io_req *req = &reqs[pending[0]];
        common_error(rc, "%s offset %" PRIu64 ": %s", file->path, req->offset, why);
    }
    return rc;
}

/*
 * One chunk (at most PAGER_IO_BATCH_MAX): submit, reap, and resubmit the remainders of
 * short or EAGAIN transfers until every request is complete or has failed.
 */
static int rw_chunk(pager_file *file, pager_io_req *reqs, uint32_t count)
{
    ALEXDB_ASSERT(count > 0 && count <= PAGER_IO_BATCH_MAX);
    uint32_t done_size[PAGER_IO_BATCH_MAX] = {0};
    uint32_t pending[PAGER_IO_BATCH_MAX];
    pager_io_req sub[PAGER_IO_BATCH_MAX];
    uint32_t pending_count = count;
    for (uint32_t i = 0; i < count; i++) pending[i] = i;
    int rc = ALEXDB_OK;
    for (uint32_t round = 0; pending_count > 0; round++) {
        if (round > PAGER_IO_RETRY_MAX) { /* F4 */
            return fail_pending(file, reqs, pending, pending_count, rc,
                                "gave up after repeated short or EAGAIN transfers");
        }
        for (uint32_t k = 0; k < pending_count; k++) {
            const pager_io_req *req = &reqs[pending[k]];
            uint32_t done = done_size[pending[k]];
            sub[k] = (pager_io_req){.buf = req->buf + done, .offset = req->offset + done,
                                    .size = req->size - done, .op = req->op, .result = 0,
                                    .on_done = req->on_done, .ctx = req->ctx};
        }
        atomic_fetch_add_explicit(&file->submit_count, 1, memory_order_relaxed);
        int batch_rc = file->ops->submit(file, sub, pending_count);
        if (batch_rc == ALEXDB_OK) batch_rc = file->ops->reap(file, sub, pending_count);
        if (batch_rc != ALEXDB_OK) {
            char why[COMMON_ERRMSG_SIZE_MAX / 2];
            snprintf(why, sizeof(why), "%s", common_errmsg());
            return fail_pending(file, reqs, pending, pending_count, rc, why);
        }
        uint32_t still = 0;
        for (uint32_t k = 0; k < pending_count; k++) {
            uint32_t i = pending[k];
            int32_t res = sub[k].result;
            if (res == -EINTR || res == -EAGAIN || (res == 0 && reqs[i].op == PAGER_IO_WRITE)) {
                pending[still++] = i;
            } else if (res < 0) {
                reqs[i].result = res;
                if (rc == ALEXDB_OK) rc = request_error(file, &reqs[i], -res);
            } else if (res == 0) {
                reqs[i].result = (int32_t)done_size[i];
                if (rc == ALEXDB_OK) {
                    rc = common_corrupt(file->path, reqs[i].offset + done_size[i],
                                        "read past the end of the file");
                }
            } else {
                done_size[i] += (uint32_t)res;
                ALEXDB_ASSERT(done_size[i] <= reqs[i].size);
                if (done_size[i] < reqs[i].size) {
                    pending[still++] = i;
                } else {
                    reqs[i].result = (int32_t)reqs[i].size;
                    count_completion(file, &reqs[i]);
                    /* Backends that complete in submit() leave the call to us. */
                    if (reqs[i].on_done != NULL && !sub[k].notified) reqs[i].on_done(reqs[i].ctx);
                    reqs[i].notified = 1;
                }
            }
        }
        pending_count = still;
    }
    return rc;
}

int pager_file_rw(pager_file *file, pager_io_req *reqs, uint32_t count)
{
    ALEXDB_ASSERT(file != NULL);
    ALEXDB_ASSERT(reqs != NULL || count == 0);
    for (uint32_t i = 0; i < count; i++) {
        pager_io_req *req = &reqs[i];
        ALEXDB_ASSERT(req->op == PAGER_IO_READ || req->op == PAGER_IO_WRITE); /* F1 */
        ALEXDB_ASSERT(req->size > 0 && req->size <= INT32_MAX);
        ALEXDB_ASSERT(((uintptr_t)req->buf | req->offset | req->size) % PAGER_SECTOR_SIZE == 0);
        if (req->op == PAGER_IO_WRITE) {
            if (file->flags & PAGER_OPEN_READONLY) {
                return common_error(ALEXDB_READONLY, "%s is open read-only", file->path);
            }
            int sticky = atomic_load(&file->sticky_error);
            if (sticky != ALEXDB_OK) {
                return common_error(ALEXDB_READONLY,
                                    "%s refuses writes after an earlier failure (%s)",
                                    file->path, alexdb_strerror(sticky));
            }
        }
        req->result = 0;
        req->notified = 0;
    }
    int rc = ALEXDB_OK;
    for (uint32_t start = 0; start < count; start += PAGER_IO_BATCH_MAX) {
        uint32_t n = COMMON_MIN(count - start, PAGER_IO_BATCH_MAX);
        int chunk_rc = rw_chunk(file, reqs + start, n);
        if (rc == ALEXDB_OK) rc = chunk_rc;
    }
    return rc;
}

int pager_file_sync(pager_file *file)
{
    ALEXDB_ASSERT(file != NULL);
    if (file->flags & PAGER_OPEN_READONLY) return ALEXDB_OK;
    int sticky = atomic_load(&file->sticky_error);
    if (sticky != ALEXDB_OK) {
        return common_error(ALEXDB_READONLY, "%s refuses fdatasync after an earlier failure (%s)",
                            file->path, alexdb_strerror(sticky));
    }
    int res = file->ops->sync(file);
    if (res < 0) {
        /* Never retried: after a failed fdatasync the page cache state is unknown. */
        return set_sticky(file, common_error(common_errno_to_result(-res),
                                             "fdatasync %s: %s; the file refuses further writes",
                                             file->path, strerror(-res)));
    }
    atomic_fetch_add_explicit(&file->sync_count, 1, memory_order_relaxed);
    return ALEXDB_OK;
}

/*
 * The backend's one-round-trip durable write (RWF_DSYNC). A short write made its bytes
 * durable, so the rest is written the same way (bounded, F4); a negative result is
 * sticky at once and never retried, since it may be the flush that failed (F2).
 * ALEXDB_NOTSUP: the kernel refused the flag before writing; the caller falls back.
 */
static int write_dsync(pager_file *file, pager_io_req *req)
{
    uint32_t done = 0;
    for (uint32_t round = 0; done < req->size; round++) {
        if (round > PAGER_IO_RETRY_MAX) {
            return set_sticky(file, common_error(ALEXDB_IO,
                                                 "write+fdatasync %s offset %" PRIu64
                                                 ": gave up after repeated short transfers",
                                                 file->path, req->offset + done));
        }
        pager_io_req sub = {.buf = req->buf + done, .offset = req->offset + done,
                            .size = req->size - done, .op = PAGER_IO_WRITE};
        atomic_fetch_add_explicit(&file->submit_count, 1, memory_order_relaxed);
        int res = file->ops->write_dsync(file, &sub);
        if ((res == -EOPNOTSUPP || res == -EINVAL) && done == 0 && round == 0) {
            return ALEXDB_NOTSUP; /* rejected at submission: nothing was written */
        }
        if (res < 0) {
            req->result = res;
            return set_sticky(file, common_error(common_errno_to_result(-res),
                                                 "write+fdatasync %s offset %" PRIu64
                                                 " size %u: %s; the file refuses further writes",
                                                 file->path, sub.offset, sub.size,
                                                 strerror(-res)));
        }
        done += (uint32_t)res;
        ALEXDB_ASSERT(done <= req->size);
    }
    req->result = (int32_t)req->size;
    return ALEXDB_OK;
}

int pager_file_write_durable(pager_file *file, pager_io_req *req)
{
    ALEXDB_ASSERT(file != NULL && req != NULL && req->op == PAGER_IO_WRITE);
    ALEXDB_ASSERT(req->size > 0 && req->size <= INT32_MAX && req->on_done == NULL);
    /* F1 */
    ALEXDB_ASSERT(((uintptr_t)req->buf | req->offset | req->size) % PAGER_SECTOR_SIZE == 0);
    if (file->ops->write_dsync != NULL && !atomic_load(&file->dsync_refused) &&
        !(file->flags & PAGER_OPEN_READONLY) && atomic_load(&file->sticky_error) == ALEXDB_OK) {
        int rc = write_dsync(file, req);
        if (rc != ALEXDB_NOTSUP) {
            if (rc != ALEXDB_OK) return rc;
            count_completion(file, req);
            atomic_fetch_add_explicit(&file->sync_count, 1, memory_order_relaxed);
            return ALEXDB_OK;
        }
        atomic_store(&file->dsync_refused, true);
        pager_log(&file->env, PAGER_LOG_WARN,
                  "alexdb: %s: the kernel refuses RWF_DSYNC writes; using write + fdatasync",
                  file->path);
    }
    /* The refusals (read-only, sticky) come from these two, with their messages. */
    int rc = pager_file_rw(file, req, 1);
    return rc == ALEXDB_OK ? pager_file_sync(file) : rc;
}

int pager_file_size(pager_file *file, uint64_t *size_out)
{
    ALEXDB_ASSERT(file != NULL && size_out != NULL);
    struct stat st;
    if (fstat(file->fd, &st) != 0) {
        return common_error(common_errno_to_result(errno), "stat %s: %s", file->path,
                            strerror(errno));
    }
    *size_out = (uint64_t)st.st_size;
    return ALEXDB_OK;
}

#define ZERO_CHUNK_SIZE (1u << 20)

int pager_file_zero_extend(pager_file *file, uint64_t offset, uint64_t size)
{
    ALEXDB_ASSERT(file != NULL);
    ALEXDB_ASSERT((offset | size) % PAGER_SECTOR_SIZE == 0);
    uint8_t *zeros = NULL;
    if (posix_memalign((void **)&zeros, PAGER_PAGE_SIZE, ZERO_CHUNK_SIZE) != 0) {
        return common_error(ALEXDB_NOMEM, "zero_extend: out of memory");
    }
    memset(zeros, 0, ZERO_CHUNK_SIZE);
    int rc = ALEXDB_OK;
    for (uint64_t done = 0; done < size && rc == ALEXDB_OK;) {
        uint32_t n = (uint32_t)COMMON_MIN((uint64_t)ZERO_CHUNK_SIZE, size - done);
        pager_io_req req = {.buf = zeros, .offset = offset + done, .size = n,
                            .op = PAGER_IO_WRITE};
        rc = pager_file_rw(file, &req, 1);
        done += n;
    }
    free(zeros);
    return rc;
}

int pager_file_allocate(pager_file *file, uint64_t offset, uint64_t size)
{
    ALEXDB_ASSERT(file != NULL);
    ALEXDB_ASSERT((offset | size) % PAGER_SECTOR_SIZE == 0);
    if ((file->flags & PAGER_OPEN_READONLY) || atomic_load(&file->sticky_error) != ALEXDB_OK) {
        return common_error(ALEXDB_READONLY, "allocate %s: the file refuses writes", file->path);
    }
    int res = file->ops->allocate != NULL ? file->ops->allocate(file, offset, size) : -EOPNOTSUPP;
    if (res == 0) return ALEXDB_OK;
    if (res != -EOPNOTSUPP && res != -ENOSYS) {
        return common_error(common_errno_to_result(-res), "fallocate %s offset %" PRIu64
                            " size %" PRIu64 ": %s", file->path, offset, size, strerror(-res));
    }
    return pager_file_zero_extend(file, offset, size);
}

int pager_file_truncate(pager_file *file, uint64_t size)
{
    ALEXDB_ASSERT(file != NULL);
    if ((file->flags & PAGER_OPEN_READONLY) || atomic_load(&file->sticky_error) != ALEXDB_OK) {
        return common_error(ALEXDB_READONLY, "truncate %s: the file refuses writes", file->path);
    }
    if (ftruncate(file->fd, (off_t)size) != 0) {
        return common_error(common_errno_to_result(errno), "truncate %s: %s", file->path,
                            strerror(errno));
    }
    return ALEXDB_OK;
}

const char *pager_file_path(const pager_file *file)
{
    return file->path;
}

const char *pager_file_backend_name(const pager_file *file)
{
    return file->ops->name;
}

const char *pager_file_fallback_reason(const pager_file *file)
{
    return file->fallback_reason;
}

int pager_file_is_direct(const pager_file *file)
{
    return file->direct;
}

int pager_file_error(const pager_file *file)
{
    return atomic_load(&file->sticky_error);
}

void pager_file_stats(const pager_file *file, pager_io_stats *stats_out)
{
    ALEXDB_ASSERT(file != NULL && stats_out != NULL);
    pager_file *f = (pager_file *)file;
    stats_out->read_count = atomic_load_explicit(&f->read_count, memory_order_relaxed);
    stats_out->write_count = atomic_load_explicit(&f->write_count, memory_order_relaxed);
    stats_out->sync_count = atomic_load_explicit(&f->sync_count, memory_order_relaxed);
    stats_out->read_bytes = atomic_load_explicit(&f->read_bytes, memory_order_relaxed);
    stats_out->write_bytes = atomic_load_explicit(&f->write_bytes, memory_order_relaxed);
    stats_out->submit_count = atomic_load_explicit(&f->submit_count, memory_order_relaxed);
}

/* ---- Directories (pager.h 2): what the WAL needs besides its segments' bytes ---- */

/* The fault backend's machine is down after a cut: its directories too. */
static int env_check_power(const pager_env *env, const char *what, const char *path)
{
    if (env != NULL && env->backend == PAGER_BACKEND_FAULT && env->fault != NULL &&
        pager_fault_is_cut(env->fault)) {
        return common_error(ALEXDB_IO, "%s %s: %s", what, path, strerror(EIO));
    }
    return ALEXDB_OK;
}

static bool env_is_fault(const pager_env *env)
{
    return env != NULL && env->backend == PAGER_BACKEND_FAULT && env->fault != NULL;
}

int pager_dir_list(const pager_env *env, const char *dir, pager_dir_fn fn, void *ctx)
{
    ALEXDB_ASSERT(dir != NULL && fn != NULL);
    int rc = env_check_power(env, "list directory", dir);
    if (rc != ALEXDB_OK) return rc;
    DIR *d = opendir(dir);
    if (d == NULL) {
        return common_error(errno == ENOENT ? ALEXDB_IO : common_errno_to_result(errno),
                            "open directory %s: %s", dir, strerror(errno));
    }
    /* Bounded by the directory's size: readdir returns each entry once, then NULL. */
    for (;;) {
        errno = 0;
        struct dirent *entry = readdir(d);
        if (entry == NULL) {
            if (errno != 0) {
                rc = common_error(common_errno_to_result(errno), "read directory %s: %s", dir,
                                  strerror(errno));
            }
            break;
        }
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        rc = fn(ctx, entry->d_name);
        if (rc != ALEXDB_OK) break;
    }
    closedir(d);
    return rc;
}

int pager_dir_sync(const pager_env *env, const char *dir)
{
    ALEXDB_ASSERT(dir != NULL);
    int rc = env_check_power(env, "fsync directory", dir);
    if (rc != ALEXDB_OK) return rc;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return common_error(ALEXDB_IO, "open directory %s: %s", dir, strerror(errno));
    }
    int ret = fsync(fd);
    int err = errno;
    close(fd);
    if (ret != 0) {
        return common_error(common_errno_to_result(err), "fsync directory %s: %s", dir,
                            strerror(err));
    }
    return ALEXDB_OK;
}

int pager_file_remove(const pager_env *env, const char *path)
{
    ALEXDB_ASSERT(path != NULL);
    int rc = env_check_power(env, "remove", path);
    if (rc != ALEXDB_OK) return rc;
    /* Before the unlink: the domain finds the file by its canonical path. */
    if (env_is_fault(env)) pager_fault_forget(env->fault, path);
    if (unlink(path) != 0) {
        return common_error(errno == ENOENT ? ALEXDB_IO : common_errno_to_result(errno),
                            "remove %s: %s", path, strerror(errno));
    }
    return ALEXDB_OK;
}

int pager_file_rename(const pager_env *env, const char *from, const char *to)
{
    ALEXDB_ASSERT(from != NULL && to != NULL);
    int rc = env_check_power(env, "rename", from);
    if (rc != ALEXDB_OK) return rc;
    if (env_is_fault(env)) {
        pager_fault_forget(env->fault, from);
        pager_fault_forget(env->fault, to);
    }
    if (rename(from, to) != 0) {
        return common_error(errno == ENOENT ? ALEXDB_IO : common_errno_to_result(errno),
                            "rename %s to %s: %s", from, to, strerror(errno));
    }
    return ALEXDB_OK;
}
