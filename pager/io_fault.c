/*
 * io_fault.c: the fault-injecting backend, a simulated machine for tests and crash runs.
 * It does real pread/pwrite/fdatasync like io_posix.c (synchronously inside submit(),
 * reap() has nothing to wait for), but first asks its domain (pager_fault, pager.h 2b)
 * what should happen. The domain's counters are shared by every file opened with it,
 * 1-based and atomic; they decide which read, write or sync fails with an injected
 * errno, which read or write transfers only half of its bytes (file.c resubmits the
 * rest), at which I/O the power is cut, and at which I/O the process dies (kill_at:
 * SIGKILL before that I/O is done, for crash runs whose every step must repeat).
 *
 * HOW THE POWER CUT WORKS. Every write is logged, per file path, with its pre-image
 * (the bytes it overwrote, and the file size before it, since bytes past the end of
 * the file did not exist) and its new data. A completed fdatasync of the path drops
 * the entries written before it started. The log belongs to the domain, not to the
 * pager_file: closing a file does not make its writes durable, and a file reopened in
 * the same domain finds its log again. At the cut each path's log is undone
 * newest-first, which leaves exactly the last synced image, then replayed oldest-first
 * with each write kept, dropped or (config.tear) torn at 512-byte sectors, every choice
 * drawn from one PRNG seeded with config.seed: the same writes and the same seed give
 * the same image (SQLite's crash VFS, FoundationDB's 512-byte tears: ANCHORS.md 9).
 * After the cut every I/O of the domain fails with EIO.
 *
 * Concurrency: one mutex guards the logs, the PRNG and the cut. A write holds it from
 * reading its pre-image to logging itself, so a cut never sees half a write. Reads run
 * unlocked and check the cut flag after their pread: a read that overlapped the cut
 * fails, as the machine it ran on was down.
 *
 * LIMITS. The log is held in memory, at most FAULT_LOG_SIZE_MAX bytes (pre-image plus
 * data); a write that would exceed it is not performed and fails with ENOMEM
 * (ALEXDB_NOMEM): sync more often. pager_file_truncate() does not pass through the
 * backend, so a truncation is durable at once and is not undone. The log is keyed by
 * the canonical path; a path that now names another inode drops the old log, but an
 * inode number reused at the same path is not noticed, unless the file was removed or
 * renamed through pager_file_remove / pager_file_rename, which forget its log
 * (pager_fault_forget): directory operations are durable at once, never undone by a cut.
 *
 * Entry points: pager_io_fault_ops (called by file.c), pager_fault_create/destroy/
 * powercut/is_cut/stats_get. Design and invariants F1-F4: pager/README.md, "I/O backends".
 */
#include "pager_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAULT_LOG_SIZE_MAX (1ull << 30)

/* One logged write: [offset, offset + size) got data; pre holds what it replaced. */
typedef struct fault_entry fault_entry;
struct fault_entry {
    fault_entry *prev;
    fault_entry *next;
    uint64_t seq;         /* domain-wide order; a sync covers seq below its start */
    uint64_t offset;
    uint64_t size_before; /* file size before the write */
    uint32_t size;
    uint32_t pre_size;    /* pre-image bytes that existed; the rest was past the end */
    uint8_t *pre;         /* size bytes, 4 KiB-aligned (read through an O_DIRECT fd) */
    uint8_t *data;        /* size bytes, right after pre in the same block */
};

struct pager_fault_file {
    pager_fault_file *next;
    char *path;           /* canonical; reopened at the cut */
    dev_t dev;
    ino_t ino;
    uint32_t open_count;  /* pager_files attached now */
    fault_entry *head;    /* oldest unsynced write */
    fault_entry *tail;
};

struct pager_fault {
    pager_fault_config config;
    pthread_mutex_t lock; /* guards files, every log, log_size, seq_next, rng, the cut */
    pager_fault_file *files;
    uint64_t log_size;
    uint64_t seq_next;
    common_rng rng;
    _Atomic bool cut;
    _Atomic uint64_t io_count;
    _Atomic uint64_t read_count;
    _Atomic uint64_t write_count;
    _Atomic uint64_t sync_count;
    _Atomic uint64_t injected_count;
    _Atomic uint64_t cut_kept_count;
    _Atomic uint64_t cut_dropped_count;
    _Atomic uint64_t cut_torn_count;
};

enum fault_fate { FAULT_KEEP = 0, FAULT_DROP = 1, FAULT_TEAR = 2 };

/* ---- The domain --------------------------------------------------------------- */

int pager_fault_create(const pager_fault_config *config, pager_fault **fault_out)
{
    if (config == NULL || fault_out == NULL) {
        return common_error(ALEXDB_INVALID, "pager_fault_create: NULL argument");
    }
    *fault_out = NULL;
    if (config->read_errno < 0 || config->write_errno < 0 || config->sync_errno < 0) {
        return common_error(ALEXDB_INVALID, "pager_fault_create: errno values must be positive");
    }
    pager_fault *fault = calloc(1, sizeof(*fault));
    if (fault == NULL) return common_error(ALEXDB_NOMEM, "pager_fault_create: out of memory");
    fault->config = *config;
    if (fault->config.read_errno == 0) fault->config.read_errno = EIO;
    if (fault->config.write_errno == 0) fault->config.write_errno = EIO;
    if (fault->config.sync_errno == 0) fault->config.sync_errno = EIO;
    if (pthread_mutex_init(&fault->lock, NULL) != 0) {
        free(fault);
        return common_error(ALEXDB_NOMEM, "pager_fault_create: cannot create a mutex");
    }
    common_rng_seed(&fault->rng, config->seed);
    *fault_out = fault;
    return ALEXDB_OK;
}

static void log_remove(pager_fault *fault, pager_fault_file *ff, fault_entry *w)
{
    ALEXDB_ASSERT(fault->log_size >= 2ull * w->size);
    *(w->prev != NULL ? &w->prev->next : &ff->head) = w->next;
    *(w->next != NULL ? &w->next->prev : &ff->tail) = w->prev;
    fault->log_size -= 2ull * w->size;
    free(w->pre);
    free(w);
}

/* Drops the writes a completed fdatasync covers: those logged before it started. */
static void log_drop_before(pager_fault *fault, pager_fault_file *ff, uint64_t seq)
{
    while (ff->head != NULL && ff->head->seq < seq) log_remove(fault, ff, ff->head);
}

static void log_append(pager_fault *fault, pager_fault_file *ff, fault_entry *w)
{
    w->seq = fault->seq_next++;
    w->prev = ff->tail;
    w->next = NULL;
    *(ff->tail != NULL ? &ff->tail->next : &ff->head) = w;
    ff->tail = w;
    fault->log_size += 2ull * w->size;
    ALEXDB_ASSERT(fault->log_size <= FAULT_LOG_SIZE_MAX);
}

void pager_fault_destroy(pager_fault *fault)
{
    if (fault == NULL) return;
    pager_fault_file *ff = fault->files;
    while (ff != NULL) {
        pager_fault_file *next = ff->next;
        ALEXDB_ASSERT(ff->open_count == 0); /* its files must be closed first */
        log_drop_before(fault, ff, UINT64_MAX);
        free(ff->path);
        free(ff);
        ff = next;
    }
    ALEXDB_ASSERT(fault->log_size == 0);
    pthread_mutex_destroy(&fault->lock);
    free(fault);
}

bool pager_fault_is_cut(const pager_fault *fault)
{
    ALEXDB_ASSERT(fault != NULL);
    return atomic_load(&((pager_fault *)fault)->cut);
}

void pager_fault_stats_get(const pager_fault *fault, pager_fault_stats *stats_out)
{
    ALEXDB_ASSERT(fault != NULL && stats_out != NULL);
    pager_fault *f = (pager_fault *)fault;
    stats_out->io_count = atomic_load(&f->io_count);
    stats_out->read_count = atomic_load(&f->read_count);
    stats_out->write_count = atomic_load(&f->write_count);
    stats_out->sync_count = atomic_load(&f->sync_count);
    stats_out->injected_count = atomic_load(&f->injected_count);
    stats_out->cut_kept_count = atomic_load(&f->cut_kept_count);
    stats_out->cut_dropped_count = atomic_load(&f->cut_dropped_count);
    stats_out->cut_torn_count = atomic_load(&f->cut_torn_count);
}

/* ---- Files of the domain ------------------------------------------------------ */

static pager_fault_file *fault_file_find(pager_fault *fault, const char *path)
{
    for (pager_fault_file *ff = fault->files; ff != NULL; ff = ff->next) {
        if (strcmp(ff->path, path) == 0) return ff;
    }
    return NULL;
}

/*
 * Finds or makes the domain's record of path (which exists: file.c has opened it) and
 * counts one more open file on it. Returns NULL when out of memory.
 */
pager_fault_file *pager_fault_attach(pager_fault *fault, const char *path)
{
    ALEXDB_ASSERT(fault != NULL && path != NULL);
    char *canonical = realpath(path, NULL);
    if (canonical == NULL) canonical = strdup(path);
    if (canonical == NULL) return NULL;
    struct stat st = {0};
    (void)stat(canonical, &st);
    pthread_mutex_lock(&fault->lock);
    pager_fault_file *ff = fault_file_find(fault, canonical);
    if (ff == NULL && (ff = calloc(1, sizeof(*ff))) != NULL) {
        ff->path = canonical;
        canonical = NULL;
        ff->dev = st.st_dev;
        ff->ino = st.st_ino;
        ff->next = fault->files;
        fault->files = ff;
    }
    if (ff != NULL && (ff->dev != st.st_dev || ff->ino != st.st_ino)) {
        /* The path names another file now: the old one's writes cannot reach it. */
        log_drop_before(fault, ff, UINT64_MAX);
        ff->dev = st.st_dev;
        ff->ino = st.st_ino;
    }
    if (ff != NULL) ff->open_count++;
    pthread_mutex_unlock(&fault->lock);
    free(canonical);
    return ff;
}

void pager_fault_forget(pager_fault *fault, const char *path)
{
    ALEXDB_ASSERT(fault != NULL && path != NULL);
    char *canonical = realpath(path, NULL);
    if (canonical == NULL) return; /* missing: nothing of it is logged that could matter */
    pthread_mutex_lock(&fault->lock);
    pager_fault_file *ff = fault_file_find(fault, canonical);
    if (ff != NULL) {
        log_drop_before(fault, ff, UINT64_MAX);
        /* The path will name another inode (or none): the next attach re-stats it. */
        ff->dev = 0;
        ff->ino = 0;
    }
    pthread_mutex_unlock(&fault->lock);
    free(canonical);
}

static int fault_open(pager_file *file, int open_flags)
{
    (void)open_flags;
    ALEXDB_ASSERT(file->env.fault != NULL); /* file.c refuses the fault backend without one */
    file->impl = pager_fault_attach(file->env.fault, file->path);
    if (file->impl == NULL) {
        return common_error(ALEXDB_NOMEM, "%s: out of memory attaching to the fault domain",
                            file->path);
    }
    return ALEXDB_OK;
}

/* The file's log stays in the domain: closing does not make writes durable. */
static void fault_close(pager_file *file)
{
    pager_fault *fault = file->env.fault;
    pager_fault_file *ff = file->impl;
    ALEXDB_ASSERT(fault != NULL && ff != NULL);
    pthread_mutex_lock(&fault->lock);
    ALEXDB_ASSERT(ff->open_count > 0);
    ff->open_count--;
    pthread_mutex_unlock(&fault->lock);
    file->impl = NULL;
}

/* ---- The power cut ------------------------------------------------------------ */

static int pwrite_all(int fd, const uint8_t *buf, uint64_t size, uint64_t offset)
{
    uint64_t done = 0;
    for (uint32_t attempt = 0; done < size; attempt++) {
        if (attempt > PAGER_IO_RETRY_MAX) return EIO;
        ssize_t n = pwrite(fd, buf + done, size - done, (off_t)(offset + done));
        if (n < 0 && errno != EINTR) return errno;
        if (n > 0) done += (uint64_t)n;
    }
    return 0;
}

/* Newest first: restoring every pre-image and old size leaves the last synced image. */
static int undo_log(int fd, const pager_fault_file *ff)
{
    for (const fault_entry *w = ff->tail; w != NULL; w = w->prev) {
        int err = pwrite_all(fd, w->pre, w->pre_size, w->offset);
        if (err == 0 && w->offset + w->size > w->size_before &&
            ftruncate(fd, (off_t)w->size_before) != 0) {
            err = errno;
        }
        if (err != 0) return err;
    }
    return 0;
}

/*
 * Writes a random subset of the write's sectors, never all of them and never none: a
 * tear that kept every sector would be counted as torn and look kept. Kept sectors
 * that touch are written together.
 */
static int replay_torn(pager_fault *fault, int fd, const fault_entry *w, uint32_t sector_count)
{
    ALEXDB_ASSERT(sector_count >= 2);
    uint32_t forced_keep = (uint32_t)common_rng_below(&fault->rng, sector_count);
    uint32_t forced_drop =
        (forced_keep + 1 + (uint32_t)common_rng_below(&fault->rng, sector_count - 1)) %
        sector_count;
    uint32_t run_start = 0;
    bool in_run = false;
    for (uint32_t i = 0; i <= sector_count; i++) {
        bool coin = common_rng_next(&fault->rng) >> 63;
        bool keep = i < sector_count && (i == forced_keep || (i != forced_drop && coin));
        if (keep && !in_run) run_start = i;
        if (!keep && in_run) {
            uint64_t begin = (uint64_t)run_start * PAGER_SECTOR_SIZE;
            uint64_t end = COMMON_MIN((uint64_t)i * PAGER_SECTOR_SIZE, (uint64_t)w->size);
            int err = pwrite_all(fd, w->data + begin, end - begin, w->offset + begin);
            if (err != 0) return err;
        }
        in_run = keep;
    }
    return 0;
}

static int replay_write(pager_fault *fault, int fd, const fault_entry *w)
{
    uint32_t sector_count = (w->size + PAGER_SECTOR_SIZE - 1) / PAGER_SECTOR_SIZE;
    bool can_tear = fault->config.tear && sector_count >= 2;
    uint64_t fate = common_rng_below(&fault->rng, can_tear ? 3 : 2);
    if (fate == FAULT_DROP) {
        atomic_fetch_add(&fault->cut_dropped_count, 1);
        return 0;
    }
    if (fate == FAULT_KEEP) {
        atomic_fetch_add(&fault->cut_kept_count, 1);
        return pwrite_all(fd, w->data, w->size, w->offset);
    }
    ALEXDB_ASSERT(fate == FAULT_TEAR);
    atomic_fetch_add(&fault->cut_torn_count, 1);
    return replay_torn(fault, fd, w, sector_count);
}

/* Rewrites one file as the power cut leaves it. Called with the domain lock held. */
static int cut_file(pager_fault *fault, pager_fault_file *ff)
{
    int fd = open(ff->path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_dev != ff->dev || st.st_ino != ff->ino) {
        int err = fd < 0 ? errno : 0;
        if (fd >= 0) close(fd);
        log_drop_before(fault, ff, UINT64_MAX);
        /* Deleted or replaced: its unsynced writes cannot matter to anyone now. */
        if (err == 0 || err == ENOENT) return ALEXDB_OK;
        return common_error(ALEXDB_IO, "powercut: open %s: %s", ff->path, strerror(err));
    }
    int err = undo_log(fd, ff);
    for (const fault_entry *w = ff->head; w != NULL && err == 0; w = w->next) {
        err = replay_write(fault, fd, w);
    }
    if (err == 0 && fsync(fd) != 0) err = errno;
    close(fd);
    log_drop_before(fault, ff, UINT64_MAX);
    if (err != 0) {
        return common_error(ALEXDB_IO, "powercut: rewriting %s: %s", ff->path, strerror(err));
    }
    return ALEXDB_OK;
}

int pager_fault_powercut(pager_fault *fault)
{
    ALEXDB_ASSERT(fault != NULL);
    int rc = ALEXDB_OK;
    pthread_mutex_lock(&fault->lock);
    if (!atomic_load(&fault->cut)) {
        atomic_store(&fault->cut, true);
        for (pager_fault_file *ff = fault->files; ff != NULL; ff = ff->next) {
            if (ff->head == NULL) continue;
            int file_rc = cut_file(fault, ff);
            if (rc == ALEXDB_OK) rc = file_rc;
        }
        ALEXDB_ASSERT(fault->log_size == 0);
    }
    pthread_mutex_unlock(&fault->lock);
    return rc;
}

/* ---- The backend -------------------------------------------------------------- */

/*
 * Counts one I/O of a kind and returns its 1-based number in *kind_no_out. Returns
 * -EIO if the power is (or, being the powercut_at-th I/O, now goes) off, else 0.
 */
static int32_t before_io(pager_file *file, _Atomic uint64_t *kind_count, uint64_t *kind_no_out)
{
    pager_fault *fault = file->env.fault;
    uint64_t io_no = atomic_fetch_add(&fault->io_count, 1) + 1;
    *kind_no_out = atomic_fetch_add(kind_count, 1) + 1;
    if (io_no == fault->config.kill_at) {
        (void)kill(getpid(), SIGKILL);
        for (;;) pause(); /* SIGKILL cannot be caught; nothing runs past it */
    }
    if (io_no == fault->config.powercut_at) {
        atomic_fetch_add(&fault->injected_count, 1);
        if (pager_fault_powercut(fault) != ALEXDB_OK) {
            pager_log(&file->env, PAGER_LOG_WARN, "alexdb: fault: %s", alexdb_errmsg());
        }
        return -EIO;
    }
    return atomic_load(&fault->cut) ? -EIO : 0;
}

/* An injected short transfer: half, in whole sectors, at least one sector. */
static uint32_t short_size(uint32_t size)
{
    ALEXDB_ASSERT(size > PAGER_SECTOR_SIZE);
    uint32_t half = (size / 2) / PAGER_SECTOR_SIZE * PAGER_SECTOR_SIZE;
    return COMMON_MAX(half, PAGER_SECTOR_SIZE);
}

static int32_t fault_read(pager_file *file, pager_io_req *req)
{
    pager_fault *fault = file->env.fault;
    uint64_t read_no = 0;
    int32_t res = before_io(file, &fault->read_count, &read_no);
    if (res != 0) return res;
    if (read_no == fault->config.read_error_at) {
        atomic_fetch_add(&fault->injected_count, 1);
        return -fault->config.read_errno;
    }
    uint32_t size = req->size;
    if (read_no == fault->config.short_read_at && size > PAGER_SECTOR_SIZE) {
        atomic_fetch_add(&fault->injected_count, 1);
        size = short_size(size);
    }
    ssize_t n = pread(file->fd, req->buf, size, (off_t)req->offset);
    res = n < 0 ? -errno : (int32_t)n;
    /* A read that overlapped the cut ran on a machine that was going down. */
    return atomic_load(&fault->cut) ? -EIO : res;
}

/* Reads what [offset, offset + size) holds now, up to the end of the file. */
static int read_pre_image(int fd, fault_entry *w)
{
    uint64_t present = w->size_before > w->offset ? w->size_before - w->offset : 0;
    present = COMMON_MIN(present, (uint64_t)w->size);
    /* Whole sectors (F1 holds for offset): the descriptor may be O_DIRECT. */
    uint64_t want = COMMON_MIN((present + PAGER_SECTOR_SIZE - 1) / PAGER_SECTOR_SIZE *
                                   PAGER_SECTOR_SIZE, (uint64_t)w->size);
    uint64_t got = 0;
    for (uint32_t attempt = 0; got < present && attempt <= PAGER_IO_RETRY_MAX; attempt++) {
        ssize_t n = pread(fd, w->pre + got, want - got, (off_t)(w->offset + got));
        if (n < 0 && errno != EINTR) return -errno;
        if (n == 0) break;
        if (n > 0) got += (uint64_t)n;
    }
    w->pre_size = (uint32_t)COMMON_MIN(got, present);
    return 0;
}

/* Logs then performs one write of size bytes (<= req->size). Domain lock held. */
static int32_t logged_write(pager_fault *fault, pager_file *file, const pager_io_req *req,
                            uint32_t size)
{
    if (fault->log_size + 2ull * size > FAULT_LOG_SIZE_MAX) return -ENOMEM;
    struct stat st;
    if (fstat(file->fd, &st) != 0) return -errno;
    fault_entry *w = calloc(1, sizeof(*w));
    if (w == NULL) return -ENOMEM;
    if (posix_memalign((void **)&w->pre, PAGER_PAGE_SIZE, 2 * (size_t)size) != 0) {
        free(w);
        return -ENOMEM;
    }
    w->data = w->pre + size;
    w->offset = req->offset;
    w->size = size;
    w->size_before = (uint64_t)st.st_size;
    int32_t res = read_pre_image(file->fd, w);
    if (res == 0) {
        ssize_t n = pwrite(file->fd, req->buf, size, (off_t)req->offset);
        res = n < 0 ? -errno : (int32_t)n;
    }
    if (res <= 0) {
        free(w->pre);
        free(w);
        return res;
    }
    w->size = (uint32_t)res; /* a short write changed only its first res bytes */
    w->pre_size = COMMON_MIN(w->pre_size, w->size);
    memcpy(w->data, req->buf, w->size);
    log_append(fault, file->impl, w);
    return res;
}

static int32_t fault_write(pager_file *file, const pager_io_req *req)
{
    pager_fault *fault = file->env.fault;
    uint64_t write_no = 0;
    int32_t res = before_io(file, &fault->write_count, &write_no);
    if (res != 0) return res;
    if (write_no == fault->config.write_error_at) {
        atomic_fetch_add(&fault->injected_count, 1);
        return -fault->config.write_errno;
    }
    uint32_t size = req->size;
    if (write_no == fault->config.short_write_at && size > PAGER_SECTOR_SIZE) {
        atomic_fetch_add(&fault->injected_count, 1);
        size = short_size(size);
    }
    pthread_mutex_lock(&fault->lock);
    res = atomic_load(&fault->cut) ? -EIO : logged_write(fault, file, req, size);
    pthread_mutex_unlock(&fault->lock);
    return res;
}

static int fault_submit(pager_file *file, pager_io_req *reqs, uint32_t count)
{
    ALEXDB_ASSERT(file->env.fault != NULL && file->impl != NULL);
    for (uint32_t i = 0; i < count; i++) {
        pager_io_req *req = &reqs[i];
        req->result = req->op == PAGER_IO_READ ? fault_read(file, req) : fault_write(file, req);
    }
    return ALEXDB_OK;
}

static int fault_reap(pager_file *file, pager_io_req *reqs, uint32_t count)
{
    (void)file;
    (void)reqs;
    (void)count;
    return ALEXDB_OK;
}

static int fault_sync(pager_file *file)
{
    pager_fault *fault = file->env.fault;
    uint64_t sync_no = 0;
    int res = before_io(file, &fault->sync_count, &sync_no);
    if (res != 0) return res;
    if (sync_no == fault->config.sync_error_at) {
        atomic_fetch_add(&fault->injected_count, 1);
        return -fault->config.sync_errno; /* not performed: the log stays */
    }
    pthread_mutex_lock(&fault->lock);
    uint64_t covered_seq = fault->seq_next;
    pthread_mutex_unlock(&fault->lock);
    if (fdatasync(file->fd) != 0) return -errno;
    pthread_mutex_lock(&fault->lock);
    /* A cut during the fdatasync wins: the sync never completed on that machine. */
    if (atomic_load(&fault->cut)) {
        res = -EIO;
    } else {
        log_drop_before(fault, file->impl, covered_seq);
    }
    pthread_mutex_unlock(&fault->lock);
    return res;
}

const pager_io_ops pager_io_fault_ops = {
    .name = "fault",
    .open = fault_open,
    .close = fault_close,
    .submit = fault_submit,
    .reap = fault_reap,
    .sync = fault_sync,
};
