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
    opts->sync_interval_ms = 1000;
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

static void make_env(const alexdb *db, pager_env *env)
{
    memset(env, 0, sizeof(*env));
    static const pager_backend backends[] = {PAGER_BACKEND_AUTO, PAGER_BACKEND_URING, PAGER_BACKEND_POSIX};
    env->backend = backends[db->options.io_backend];
}

static int open_index(alexdb *db, const char *dir, const pager_env *env)
{
    pager_config config;
    pager_config_init(&config);
    config.cache_bytes = db->options.cache_bytes;
    config.read_only = db->options.read_only;
    config.create = !db->options.read_only;
    config.env = *env;
    char path[API_PATH_SIZE_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, API_DATA_FILE) >= (int)sizeof(path)) {
        return common_error(ALEXDB_INVALID, "database directory path too long");
    }
    return alex_open(path, &config, &db->index);
}

/* Frees what api_open made, writing nothing (after a failed open or recovery); returns rc. */
static int discard_handle(alexdb *db, int rc)
{
    char message[COMMON_ERRMSG_SIZE_MAX];
    snprintf(message, sizeof(message), "%s", common_errmsg());
    api_checkpointer_stop(db);
    if (db->wal != NULL) (void)wal_close(db->wal);
    if (db->index != NULL) {
        alex_fail(db->index, ALEXDB_INVALID); /* a partial recovery is never checkpointed */
        (void)alex_close(db->index);
    }
    if (db->lock_fd >= 0) close(db->lock_fd);
    pthread_mutex_destroy(&db->write_lock);
    pthread_mutex_destroy(&db->checkpoint_lock);
    pthread_mutex_destroy(&db->checkpointer_lock);
    free(db);
    return rc != ALEXDB_OK ? common_error(rc, "%s", message) : rc;
}

int api_open(const char *dir, const alexdb_options *opts, const pager_env *env, alexdb **db_out)
{
    return api_open_with(dir, opts, env, 0, db_out);
}

int api_open_with(const char *dir, const alexdb_options *opts, const pager_env *env, unsigned flags,
                  alexdb **db_out)
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
    db->manual_background = (flags & API_OPEN_MANUAL_BACKGROUND) != 0;
    db->lock_fd = -1;
    pthread_mutex_init(&db->write_lock, NULL);
    pthread_mutex_init(&db->checkpoint_lock, NULL);
    pthread_mutex_init(&db->checkpointer_lock, NULL);
    pager_env own_env;
    if (env == NULL) {
        make_env(db, &own_env);
        env = &own_env;
    }
    pager_env with_log = *env;
    if (db->options.log != NULL) {
        with_log.log = log_bridge;
        with_log.log_ctx = &db->options;
    }
    rc = take_lock(dir, options.read_only, &db->lock_fd);
    if (rc == ALEXDB_OK) rc = open_index(db, dir, &with_log);
    if (rc == ALEXDB_OK) rc = api_log_open(db, dir, &with_log);
    /* A new database gets its first checkpoint now, so that its files are a complete
     * database from the start (a read-only open after a crash can then say why it
     * cannot recover rather than find no index). */
    if (rc == ALEXDB_OK && !options.read_only && wal_last_lsn(db->wal) == 0 &&
        alex_checkpoint_lsn(db->index) == 0) {
        rc = api_checkpoint(db);
    }
    if (rc == ALEXDB_OK && !options.read_only && !db->manual_background) rc = api_checkpointer_start(db);
    if (rc != ALEXDB_OK) return discard_handle(db, rc);
    db->magic = API_DB_MAGIC;
    atomic_store(&db->state, API_DB_OPEN);
    *db_out = db;
    return ALEXDB_OK;
}

void api_abandon(alexdb *db)
{
    ALEXDB_ASSERT(db != NULL && db->magic == API_DB_MAGIC && atomic_load(&db->iter_count) == 0);
    (void)discard_handle(db, ALEXDB_OK);
}

int alexdb_open(const char *dir, const alexdb_options *opts, alexdb **db_out)
{
    return api_open(dir, opts, NULL, db_out);
}

/* Keeps the first error of a close and its message. */
static void keep_first(int *rc, char *message, int next)
{
    if (*rc != ALEXDB_OK || next == ALEXDB_OK) return;
    *rc = next;
    snprintf(message, COMMON_ERRMSG_SIZE_MAX, "%s", common_errmsg());
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
    api_checkpointer_stop(db);
    /* A last checkpoint, so the next open has no log to replay; a handle that already
     * refuses writes writes nothing more (its log holds what was acknowledged). */
    if (!db->options.read_only && alex_writable(db->index) == ALEXDB_OK) {
        keep_first(&rc, message, api_checkpoint(db));
    }
    common_errmsg_clear();
    keep_first(&rc, message, wal_close(db->wal));
    db->wal = NULL;
    keep_first(&rc, message, alex_close(db->index));
    db->index = NULL;
    close(db->lock_fd); /* after the files: the next opener finds everything written */
    db->lock_fd = -1;
    pthread_mutex_destroy(&db->write_lock);
    pthread_mutex_destroy(&db->checkpoint_lock);
    pthread_mutex_destroy(&db->checkpointer_lock);
    pthread_mutex_lock(&closed_lock);
    db->next_closed = closed_handles;
    closed_handles = db;
    pthread_mutex_unlock(&closed_lock);
    if (rc != ALEXDB_OK) common_error(rc, "%s", message);
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
    return api_write(db, &(api_change){.type = API_RECORD_PUT, .key = key, .value = value,
                                       .size = value_size});
}

int alexdb_get(alexdb *db, uint64_t key, void *buf, size_t buf_size, size_t *value_size_out)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_get");
    if (rc != ALEXDB_OK) return rc;
    if ((buf == NULL && buf_size > 0) || value_size_out == NULL) {
        return common_error(ALEXDB_INVALID, "alexdb_get: NULL buffer or value_size_out");
    }
    rc = alex_get(db->index, key, buf, buf_size, value_size_out);
    if (rc == ALEXDB_FULL && api_make_room(db) == ALEXDB_OK) {
        rc = alex_get(db->index, key, buf, buf_size, value_size_out);
    }
    return rc;
}

int alexdb_delete(alexdb *db, uint64_t key)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_delete");
    if (rc != ALEXDB_OK) return rc;
    return api_write(db, &(api_change){.type = API_RECORD_DELETE, .key = key});
}

int alexdb_sync(alexdb *db)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_sync");
    if (rc != ALEXDB_OK || db->options.read_only) return rc;
    rc = wal_sync_to(db->wal, wal_last_lsn(db->wal));
    if (rc != ALEXDB_OK) alex_fail(db->index, rc);
    return rc;
}

int alexdb_checkpoint(alexdb *db)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_checkpoint");
    if (rc != ALEXDB_OK) return rc;
    if (db->options.read_only) return common_error(ALEXDB_READONLY, "alexdb_checkpoint: read-only handle");
    return api_checkpoint(db);
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
    /* Not logged: the checkpoint that ends it makes it durable. Under write_lock, so no
     * logged change can land between the load and that checkpoint's LSN. */
    pthread_mutex_lock(&db->write_lock);
    rc = alex_bulk_load(db->index, keys, values, value_sizes, count);
    pthread_mutex_unlock(&db->write_lock);
    return rc != ALEXDB_OK ? rc : api_checkpoint(db);
}

int alexdb_check(alexdb *db)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_check");
    if (rc != ALEXDB_OK) return rc;
    rc = alex_check(db->index);
    if (rc == ALEXDB_FULL && api_make_room(db) == ALEXDB_OK) rc = alex_check(db->index);
    return rc;
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
        .checkpoint_count = atomic_load(&db->checkpoint_count),
        .checkpoint_pause_max_ns = atomic_load(&db->checkpoint_pause_max_ns),
    };
    wal_stats log;
    wal_stats_get(db->wal, &log);
    out->log_record_count = log.append_count;
    out->log_bytes = log.append_bytes;
    out->log_sync_count = log.sync_count;
    out->log_commit_count = log.commit_count;
    out->log_group_count = log.group_count;
    out->log_replay_count = log.replay_count;
    out->log_replay_bytes = log.replay_bytes;
    out->log_replay_ns = db->replay_ns;
    out->log_segment_count = log.segment_count;
    return ALEXDB_OK;
}
