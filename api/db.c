/*
 * db.c: the public handle: opening a database directory (its lock file and page file,
 * docs/FORMAT.md 0), closing it, and the point operations, each checking its
 * arguments before handing over to alex/. Every caller mistake is a code with a
 * message, never a crash: NULLs, sizes, closed handles, a second writer.
 */
#include "api_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define API_DATA_FILE "alexdb.data"
#define API_LOCK_FILE "LOCK"
#define API_PATH_SIZE_MAX 4096u

static pthread_mutex_t closed_lock = PTHREAD_MUTEX_INITIALIZER;
static alexdb *closed_handles; /* kept reachable: see struct alexdb */

void alexdb_options_init(alexdb_options *opts)
{
    if (opts == NULL) return;
    memset(opts, 0, sizeof(*opts));
    opts->cache_bytes = 64u << 20;
    opts->sync = 1;
    opts->io_backend = ALEXDB_IO_AUTO;
}

int api_db_check(const alexdb *db, const char *call)
{
    if (db == NULL) return common_error(ALEXDB_INVALID, "%s: NULL database handle", call);
    if (db->magic != API_DB_MAGIC) return common_error(ALEXDB_INVALID, "%s: not a database handle", call);
    if (atomic_load(&db->state) != API_DB_OPEN) {
        return common_error(ALEXDB_CLOSED, "%s: the database handle was closed", call);
    }
    return ALEXDB_OK;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return ALEXDB_OK;
        return common_error(ALEXDB_INVALID, "%s exists and is not a directory", dir);
    }
    return common_error(errno == ENOENT ? ALEXDB_IO : common_errno_to_result(errno),
                        "cannot create database directory %s: %s", dir, strerror(errno));
}

/* flock: exclusive for a writer, shared for read-only handles (A10). */
static int take_lock(const char *dir, int read_only, int *fd_out)
{
    char path[API_PATH_SIZE_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, API_LOCK_FILE);
    int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && read_only) fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return common_error(common_errno_to_result(errno), "open %s: %s", path, strerror(errno));
    if (flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        int err = errno;
        close(fd);
        return common_error(err == EWOULDBLOCK ? ALEXDB_BUSY : ALEXDB_IO,
                            "%s is in use by another handle or process (%s)", dir, strerror(err));
    }
    *fd_out = fd;
    return ALEXDB_OK;
}

static void log_bridge(void *ctx, int level, const char *message)
{
    const alexdb_options *opts = ctx;
    opts->log(opts->log_ctx, level, message);
}

static int validate_options(const alexdb_options *opts)
{
    if (opts->cache_bytes < PAGER_CACHE_SIZE_MIN) {
        return common_error(ALEXDB_INVALID, "cache_bytes %zu is below the minimum %u",
                            opts->cache_bytes, PAGER_CACHE_SIZE_MIN);
    }
    if (opts->io_backend < ALEXDB_IO_AUTO || opts->io_backend > ALEXDB_IO_POSIX) {
        return common_error(ALEXDB_INVALID, "io_backend %d is not an enum alexdb_io_backend",
                            opts->io_backend);
    }
    return ALEXDB_OK;
}

static int open_index(alexdb *db, const char *dir)
{
    pager_config config;
    pager_config_init(&config);
    config.cache_bytes = db->options.cache_bytes;
    config.read_only = db->options.read_only;
    config.create = !db->options.read_only;
    static const pager_backend backends[] = {PAGER_BACKEND_AUTO, PAGER_BACKEND_URING, PAGER_BACKEND_POSIX};
    config.env.backend = backends[db->options.io_backend];
    if (db->options.log != NULL) {
        config.env.log = log_bridge;
        config.env.log_ctx = &db->options;
    }
    char path[API_PATH_SIZE_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, API_DATA_FILE) >= (int)sizeof(path)) {
        return common_error(ALEXDB_INVALID, "database directory path too long");
    }
    return alex_open(path, &config, &db->index);
}

int alexdb_open(const char *dir, const alexdb_options *opts, alexdb **db_out)
{
    common_errmsg_clear();
    if (dir == NULL || db_out == NULL || dir[0] == '\0') {
        return common_error(ALEXDB_INVALID, "alexdb_open: NULL or empty directory or db_out");
    }
    *db_out = NULL;
    alexdb_options options;
    alexdb_options_init(&options);
    if (opts != NULL) options = *opts;
    int rc = validate_options(&options);
    if (rc == ALEXDB_OK && !options.read_only) rc = make_dir(dir);
    if (rc != ALEXDB_OK) return rc;
    alexdb *db = calloc(1, sizeof(*db));
    if (db == NULL) return common_error(ALEXDB_NOMEM, "alexdb_open: out of memory");
    db->options = options;
    db->lock_fd = -1;
    rc = take_lock(dir, options.read_only, &db->lock_fd);
    if (rc == ALEXDB_OK) rc = open_index(db, dir);
    if (rc != ALEXDB_OK) {
        if (db->lock_fd >= 0) close(db->lock_fd);
        free(db);
        return rc;
    }
    db->magic = API_DB_MAGIC;
    atomic_store(&db->state, API_DB_OPEN);
    *db_out = db;
    return ALEXDB_OK;
}

int alexdb_close(alexdb *db)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_close");
    if (rc != ALEXDB_OK) return rc;
    uint32_t iters = atomic_load(&db->iter_count);
    if (iters > 0) return common_error(ALEXDB_BUSY, "alexdb_close: %u iterators are still open", iters);
    atomic_store(&db->state, API_DB_CLOSED);
    char message[COMMON_ERRMSG_SIZE_MAX] = "";
    rc = alex_close(db->index);
    if (rc != ALEXDB_OK) snprintf(message, sizeof(message), "%s", common_errmsg());
    db->index = NULL;
    close(db->lock_fd); /* after the index: the next opener finds everything written */
    db->lock_fd = -1;
    pthread_mutex_lock(&closed_lock);
    db->next_closed = closed_handles;
    closed_handles = db;
    pthread_mutex_unlock(&closed_lock);
    if (rc != ALEXDB_OK) common_error(rc, "%s", message);
    return rc;
}

int api_checkpoint(alexdb *db)
{
    return alex_persist(db->index, alex_checkpoint_lsn(db->index));
}

/*
 * Changes to pages the checkpoint in force uses stay in the cache until the next
 * checkpoint (pager P12), so a write that fills half the cache with them takes one; a
 * write that found the cache full of them (ALEXDB_FULL) takes one and is tried again
 * (up to API_WRITE_TRIES_MAX times: other writers may fill the cache meanwhile).
 */
int api_write_done(alexdb *db, int rc, bool *retry_out)
{
    *retry_out = false;
    bool full = rc == ALEXDB_FULL;
    if (full || ((rc == ALEXDB_OK || rc == ALEXDB_NOTFOUND) && alex_needs_checkpoint(db->index))) {
        int persist_rc = api_checkpoint(db);
        if (persist_rc != ALEXDB_OK) return persist_rc;
        *retry_out = full;
    }
    return rc;
}

int alexdb_put(alexdb *db, uint64_t key, const void *value, size_t value_size)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_put");
    if (rc != ALEXDB_OK) return rc;
    if (value == NULL && value_size > 0) {
        return common_error(ALEXDB_INVALID, "alexdb_put: NULL value of %zu bytes", value_size);
    }
    if (value_size > ALEXDB_VALUE_SIZE_MAX) {
        return common_error(ALEXDB_TOOBIG, "alexdb_put: value of %zu bytes (at most %u)",
                            value_size, ALEXDB_VALUE_SIZE_MAX);
    }
    bool retry = true;
    for (uint32_t i = 0; retry && i < API_WRITE_TRIES_MAX; i++) {
        rc = api_write_done(db, alex_put(db->index, key, value, value_size), &retry);
    }
    return rc;
}

int alexdb_get(alexdb *db, uint64_t key, void *buf, size_t buf_size, size_t *value_size_out)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_get");
    if (rc != ALEXDB_OK) return rc;
    if ((buf == NULL && buf_size > 0) || value_size_out == NULL) {
        return common_error(ALEXDB_INVALID, "alexdb_get: NULL buffer or value_size_out");
    }
    return alex_get(db->index, key, buf, buf_size, value_size_out);
}

int alexdb_delete(alexdb *db, uint64_t key)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_delete");
    if (rc != ALEXDB_OK) return rc;
    bool retry = true;
    for (uint32_t i = 0; retry && i < API_WRITE_TRIES_MAX; i++) {
        rc = api_write_done(db, alex_delete(db->index, key), &retry);
    }
    return rc;
}

int alexdb_sync(alexdb *db)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_sync");
    if (rc == ALEXDB_OK && db->options.read_only) return ALEXDB_OK;
    return rc != ALEXDB_OK ? rc : api_checkpoint(db);
}

int alexdb_bulk_load(alexdb *db, const uint64_t *keys, const void *const *values,
                     const size_t *value_sizes, size_t count)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_bulk_load");
    if (rc != ALEXDB_OK) return rc;
    if (count > 0 && (keys == NULL || values == NULL || value_sizes == NULL)) {
        return common_error(ALEXDB_INVALID, "alexdb_bulk_load: NULL array");
    }
    return alex_bulk_load(db->index, keys, values, value_sizes, count);
}

int alexdb_check(alexdb *db)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_check");
    return rc != ALEXDB_OK ? rc : alex_check(db->index);
}

int alexdb_stats(alexdb *db, struct alexdb_stats *out)
{
    int rc = api_db_check(db, "alexdb_stats");
    if (rc != ALEXDB_OK) return rc;
    if (out == NULL) return common_error(ALEXDB_INVALID, "alexdb_stats: NULL output");
    alex_stats s;
    alex_stats_get(db->index, &s);
    *out = (struct alexdb_stats){
        .key_count = s.key_count,
        .lookup_count = s.lookup_count,
        .lookup_device_read_count = s.lookup_read_count,
        .device_read_count = s.pager.io.read_count,
        .device_write_count = s.pager.io.write_count,
        .device_read_bytes = s.pager.io.read_bytes,
        .device_write_bytes = s.pager.io.write_bytes,
        .device_sync_count = s.pager.io.sync_count,
        .cache_hit_count = s.pager.hit_count,
        .cache_miss_count = s.pager.miss_count,
        .cache_eviction_count = s.pager.eviction_count,
        .cache_frame_count = s.pager.frame_count,
        .leaf_count = s.leaf_count,
        .inner_node_count = s.inner_node_count,
        .inner_memory_size = s.inner_memory_size,
        .inner_bytes_per_leaf = s.leaf_count > 0 ? (double)s.inner_memory_size / (double)s.leaf_count : 0.0,
        .depth_max = s.depth_max,
        .split_count = s.split_count,
        .retrain_count = s.retrain_count,
        .merge_count = s.merge_count,
        .file_size = s.page_count * PAGER_PAGE_SIZE,
        .free_size = s.free_page_count * PAGER_PAGE_SIZE,
        .io_backend = s.pager.backend,
    };
    return ALEXDB_OK;
}
