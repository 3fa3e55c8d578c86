/*
 * engine_sqlite.c: SQLite through sqlite3.h. One table kv(k INTEGER PRIMARY KEY, v BLOB):
 * the key is the rowid, so a lookup is one B-tree descent. Keys are stored as
 * (int64)(key ^ 2^63) so that signed rowid order is unsigned key order. One connection
 * per thread (SQLite's rule), prepared statements per connection, each put its own
 * transaction (autocommit), busy_timeout so writers on many threads wait for the lock.
 *
 * Fairness: WAL mode; synchronous=FULL when sync=1 (the WAL is synced at each commit),
 * OFF when sync=0; cache_size pragma = -(cache_size / 1024) per connection (KiB); mmap
 * off. SQLite has no O_DIRECT: direct does not apply. Compiled only with
 * ALEXDB_BENCH_HAVE_SQLITE.
 *
 * One more connection, the holder, stays open from open to close: SQLite checkpoints the
 * WAL into the database file and deletes it when the last connection closes, which
 * would otherwise happen at the end of every group of jobs (each thread's connection
 * closes with its thread) and, in recover's child, before its crash; the holder also does
 * the bulk load. bulkload: one transaction of sorted INSERTs on the holder, committed
 * with synchronous=FULL (durable when it returns; the pragma is then set back). recover:
 * each commit writes its WAL frames to the OS, so no flush is needed; the log the open
 * replays is kv.sqlite-wal (its size on disk is its high-water mark: SQLite rewrites it
 * from the start after each automatic checkpoint, every 1000 pages). Counters:
 * sqlite3_db_status per connection, CACHE_HIT, CACHE_MISS and CACHE_WRITE (counters)
 * added up as each thread's connection closes, plus the holder's; CACHE_USED (a level)
 * is the bytes of page cache the connections that closed since the last reading held,
 * plus the holder's. multiget loops over get (SQLite has no multi-get).
 */
#include "alexdb_bench.h"

#ifdef ALEXDB_BENCH_HAVE_SQLITE
#include <pthread.h>
#include <sqlite3.h>

#define SQ_KEY_FLIP 0x8000000000000000ULL

/* sqlite3_db_status counters summed over connections. Adding one? Also sq_status_ops. */
enum sq_status { SQ_CACHE_HIT, SQ_CACHE_MISS, SQ_CACHE_WRITE, SQ_CACHE_USED, SQ_STATUS_COUNT };
static const int sq_status_ops[SQ_STATUS_COUNT] = {SQLITE_DBSTATUS_CACHE_HIT, SQLITE_DBSTATUS_CACHE_MISS,
                                                   SQLITE_DBSTATUS_CACHE_WRITE, SQLITE_DBSTATUS_CACHE_USED};
static const char *const sq_stat_names[SQ_STATUS_COUNT] = {"sqlite.cache.hit", "sqlite.cache.miss",
                                                          "sqlite.cache.write", "sqlite.cache.used"};

typedef struct sq_db {
    char path[AB_PATH_SIZE_MAX + 16];
    uint64_t cache_size;
    bool sync;
    sqlite3 *holder;            /* open from sq_open to sq_close (see above) */
    pthread_mutex_t lock;       /* guards closed */
    double closed[SQ_STATUS_COUNT]; /* the closed connections' counts (CACHE_USED: since the
                                     * last sq_counters) */
} sq_db;

typedef struct sq_ctx {
    sq_db *db;
    sqlite3 *conn;
    sqlite3_stmt *put, *get, *scan;
} sq_ctx;

static int sq_fail(sqlite3 *conn, const char *what)
{
    return ab_errorf("sqlite %s: %s", what, conn != NULL ? sqlite3_errmsg(conn) : "cannot allocate");
}

static int sq_exec(sqlite3 *conn, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(conn, sql, NULL, NULL, &err) == SQLITE_OK) return 0;
    ab_errorf("sqlite %s: %s", sql, err != NULL ? err : "?");
    sqlite3_free(err);
    return -1;
}

/* A configured connection: pragmas for this job, the table created if missing. */
static int sq_connect(const sq_db *db, sqlite3 **conn_out)
{
    sqlite3 *conn = NULL;
    int rc = sqlite3_open_v2(db->path, &conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        sq_fail(conn, "open");
        sqlite3_close(conn);
        return -1;
    }
    char pragmas[256];
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-%" PRIu64
             "; PRAGMA mmap_size=0; CREATE TABLE IF NOT EXISTS kv(k INTEGER PRIMARY KEY, v BLOB);",
             db->sync ? "FULL" : "OFF", db->cache_size / 1024u);
    sqlite3_busy_timeout(conn, 60000);
    if (sq_exec(conn, pragmas) != 0) {
        sqlite3_close(conn);
        return -1;
    }
    *conn_out = conn;
    return 0;
}

static int sq_open(const ab_job *job, const char *dir, void **db_out)
{
    sq_db *db = calloc(1, sizeof(*db));
    if (db == NULL) return ab_errorf("out of memory");
    snprintf(db->path, sizeof(db->path), "%s/kv.sqlite", dir);
    db->cache_size = job->cache_size;
    db->sync = job->sync;
    pthread_mutex_init(&db->lock, NULL);
    if (sq_connect(db, &db->holder) != 0) { /* creates the file and the table once */
        pthread_mutex_destroy(&db->lock);
        free(db);
        return -1;
    }
    *db_out = db;
    return 0;
}

static void sq_thread_close(void *ctxp)
{
    sq_ctx *ctx = ctxp;
    if (ctx == NULL) return;
    int cur[SQ_STATUS_COUNT] = {0}, high = 0;
    bool known = true;
    for (int i = 0; i < SQ_STATUS_COUNT && ctx->conn != NULL; i++)
        known = sqlite3_db_status(ctx->conn, sq_status_ops[i], &cur[i], &high, 0) == SQLITE_OK && known;
    if (ctx->conn != NULL && known) {
        pthread_mutex_lock(&ctx->db->lock);
        for (int i = 0; i < SQ_STATUS_COUNT; i++) ctx->db->closed[i] += cur[i];
        pthread_mutex_unlock(&ctx->db->lock);
    }
    sqlite3_finalize(ctx->put);
    sqlite3_finalize(ctx->get);
    sqlite3_finalize(ctx->scan);
    sqlite3_close(ctx->conn);
    free(ctx);
}

static int sq_thread_open(void *db, const ab_job *job, void **ctx_out)
{
    (void)job; /* one handle serves every job */
    sq_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) return ab_errorf("out of memory");
    ctx->db = db;
    if (sq_connect(db, &ctx->conn) != 0) {
        free(ctx);
        return -1;
    }
    if (sqlite3_prepare_v2(ctx->conn, "INSERT OR REPLACE INTO kv(k, v) VALUES(?, ?)", -1, &ctx->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ctx->conn, "SELECT v FROM kv WHERE k = ?", -1, &ctx->get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ctx->conn, "SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?", -1, &ctx->scan,
                           NULL) != SQLITE_OK) {
        sq_fail(ctx->conn, "prepare");
        sq_thread_close(ctx);
        return -1;
    }
    *ctx_out = ctx;
    return 0;
}

static sqlite3_int64 sq_key(uint64_t key)
{
    return (sqlite3_int64)(key ^ SQ_KEY_FLIP);
}

static int sq_put(void *ctxp, uint64_t key, const void *value, size_t value_size)
{
    sq_ctx *ctx = ctxp;
    sqlite3_bind_int64(ctx->put, 1, sq_key(key));
    sqlite3_bind_blob(ctx->put, 2, value, (int)value_size, SQLITE_STATIC);
    int rc = sqlite3_step(ctx->put);
    sqlite3_reset(ctx->put);
    return rc == SQLITE_DONE ? 0 : sq_fail(ctx->conn, "put");
}

static int sq_get(void *ctxp, uint64_t key, void *buf, size_t buf_size, size_t *value_size_out)
{
    sq_ctx *ctx = ctxp;
    sqlite3_bind_int64(ctx->get, 1, sq_key(key));
    int rc = sqlite3_step(ctx->get);
    int result = 1;
    if (rc == SQLITE_ROW) {
        size_t size = (size_t)sqlite3_column_bytes(ctx->get, 0);
        const void *value = sqlite3_column_blob(ctx->get, 0);
        if (size > 0) memcpy(buf, value, size < buf_size ? size : buf_size);
        *value_size_out = size;
        result = 0;
    } else if (rc != SQLITE_DONE) {
        result = sq_fail(ctx->conn, "get");
    }
    sqlite3_reset(ctx->get);
    return result;
}

static int sq_scan(void *ctxp, uint64_t start, uint32_t count, ab_scan_visit_fn visit, void *arg,
                   uint32_t *visited_out)
{
    sq_ctx *ctx = ctxp;
    sqlite3_bind_int64(ctx->scan, 1, sq_key(start));
    sqlite3_bind_int64(ctx->scan, 2, count);
    uint32_t visited = 0;
    int rc, result = 0;
    while ((rc = sqlite3_step(ctx->scan)) == SQLITE_ROW) {
        uint64_t key = (uint64_t)sqlite3_column_int64(ctx->scan, 0) ^ SQ_KEY_FLIP;
        const void *value = sqlite3_column_blob(ctx->scan, 1);
        size_t size = (size_t)sqlite3_column_bytes(ctx->scan, 1);
        visited++;
        if (visit(arg, key, value, size) != 0) { result = -1; break; }
    }
    if (result == 0 && rc != SQLITE_DONE) result = sq_fail(ctx->conn, "scan");
    sqlite3_reset(ctx->scan);
    *visited_out = visited;
    return result;
}

/* One transaction of sorted INSERTs on the holder, its COMMIT with synchronous=FULL. */
static int sq_bulk_load(void *dbp, const ab_load *load)
{
    sq_db *db = dbp;
    sqlite3_stmt *insert = NULL;
    if (sqlite3_prepare_v2(db->holder, "INSERT INTO kv(k, v) VALUES(?, ?)", -1, &insert, NULL) != SQLITE_OK)
        return sq_fail(db->holder, "prepare");
    if (sq_exec(db->holder, "PRAGMA synchronous=FULL; BEGIN") != 0) {
        sqlite3_finalize(insert);
        return -1;
    }
    int rc = SQLITE_DONE;
    for (uint64_t i = 0; i < load->count && rc == SQLITE_DONE; i++) {
        sqlite3_bind_int64(insert, 1, sq_key(load->keys[i]));
        sqlite3_bind_blob(insert, 2, load->values[i], (int)load->value_sizes[i], SQLITE_STATIC);
        rc = sqlite3_step(insert);
        sqlite3_reset(insert);
    }
    int result = rc == SQLITE_DONE ? 0 : sq_fail(db->holder, "bulk load insert");
    sqlite3_finalize(insert);
    if (sq_exec(db->holder, result == 0 ? "COMMIT" : "ROLLBACK") != 0) result = -1;
    if (sq_exec(db->holder, db->sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF") != 0) result = -1;
    return result;
}

static void sq_counters(void *dbp, ab_counters *out)
{
    sq_db *db = dbp;
    double values[SQ_STATUS_COUNT];
    pthread_mutex_lock(&db->lock);
    for (int i = 0; i < SQ_STATUS_COUNT; i++) {
        int cur = 0, high = 0;
        values[i] = sqlite3_db_status(db->holder, sq_status_ops[i], &cur, &high, 0) == SQLITE_OK
                        ? db->closed[i] + cur : -1;
    }
    db->closed[SQ_CACHE_USED] = 0; /* a level: the next reading sees the connections closed after this one */
    pthread_mutex_unlock(&db->lock);
    out->stat_count = SQ_STATUS_COUNT;
    for (uint32_t i = 0; i < SQ_STATUS_COUNT; i++) {
        out->stat_names[i] = sq_stat_names[i];
        out->stats[i] = values[i];
        out->stat_level[i] = i == SQ_CACHE_USED;
    }
    out->cache_hit_count = values[SQ_CACHE_HIT];
    out->cache_miss_count = values[SQ_CACHE_MISS];
}

static int sq_close(void *dbp)
{
    sq_db *db = dbp;
    int rc = sqlite3_close(db->holder) == SQLITE_OK ? 0 : sq_fail(db->holder, "close");
    pthread_mutex_destroy(&db->lock);
    free(db);
    return rc;
}

const bench_engine ab_engine_sqlite = {
    .name = "sqlite",
    .ordered = true,
    .open = sq_open,
    .thread_open = sq_thread_open,
    .thread_close = sq_thread_close,
    .put = sq_put,
    .get = sq_get,
    .scan = sq_scan,
    .counters = sq_counters,
    .close = sq_close,
    .bulk_load = sq_bulk_load,
    .can_recover = true,
    .log_prefix = "kv.sqlite",
    .log_suffix = "-wal",
};
#endif /* ALEXDB_BENCH_HAVE_SQLITE */
