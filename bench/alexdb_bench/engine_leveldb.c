/*
 * engine_leveldb.c: LevelDB through its C API (leveldb/c.h). One DB shared by all threads
 * (LevelDB's DB is thread-safe). Keys are 8 bytes big-endian (bytewise order = key order).
 *
 * Fairness: an LRU cache of cache_size, a bloom filter of 10 bits per key (as RocksDB),
 * sync=1 sets the write option sync (each write's log record synced, group-committed
 * across threads). LevelDB has no O_DIRECT: direct does not apply. Compiled only with
 * ALEXDB_BENCH_HAVE_LEVELDB.
 */
#include "alexdb_bench.h"

#ifdef ALEXDB_BENCH_HAVE_LEVELDB
#include <leveldb/c.h>

typedef struct lv_db {
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_writeoptions_t *write;
    leveldb_readoptions_t *read;
} lv_db;

static int lv_fail(const char *what, char *err)
{
    ab_errorf("leveldb %s: %s", what, err != NULL ? err : "unknown error");
    leveldb_free(err);
    return -1;
}

static void lv_destroy(lv_db *db)
{
    if (db->db != NULL) leveldb_close(db->db);
    if (db->write != NULL) leveldb_writeoptions_destroy(db->write);
    if (db->read != NULL) leveldb_readoptions_destroy(db->read);
    if (db->options != NULL) leveldb_options_destroy(db->options);
    if (db->filter != NULL) leveldb_filterpolicy_destroy(db->filter);
    if (db->cache != NULL) leveldb_cache_destroy(db->cache);
    free(db);
}

static int lv_open(const ab_job *job, const char *dir, void **db_out)
{
    lv_db *db = calloc(1, sizeof(*db));
    if (db == NULL) return ab_errorf("out of memory");
    db->options = leveldb_options_create();
    leveldb_options_set_create_if_missing(db->options, 1);
    db->cache = leveldb_cache_create_lru(job->cache_size);
    leveldb_options_set_cache(db->options, db->cache);
    db->filter = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_filter_policy(db->options, db->filter);
    db->write = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(db->write, job->sync ? 1 : 0);
    db->read = leveldb_readoptions_create();
    char *err = NULL;
    db->db = leveldb_open(db->options, dir, &err);
    if (err != NULL) {
        db->db = NULL;
        lv_destroy(db);
        return lv_fail("open", err);
    }
    *db_out = db;
    return 0;
}

static int lv_thread_open(void *db, const ab_job *job, void **ctx_out)
{
    (void)job; /* one handle serves every job */
    *ctx_out = db;
    return 0;
}

static void lv_thread_close(void *ctx)
{
    (void)ctx;
}

static int lv_put(void *ctx, uint64_t key, const void *value, size_t value_size)
{
    lv_db *db = ctx;
    unsigned char kb[8];
    ab_key_encode(key, kb);
    char *err = NULL;
    leveldb_put(db->db, db->write, (const char *)kb, 8, value, value_size, &err);
    return err == NULL ? 0 : lv_fail("put", err);
}

static int lv_get(void *ctx, uint64_t key, void *buf, size_t buf_size, size_t *value_size_out)
{
    lv_db *db = ctx;
    unsigned char kb[8];
    ab_key_encode(key, kb);
    char *err = NULL;
    size_t size = 0;
    char *value = leveldb_get(db->db, db->read, (const char *)kb, 8, &size, &err);
    if (err != NULL) return lv_fail("get", err);
    if (value == NULL) return 1;
    memcpy(buf, value, size < buf_size ? size : buf_size);
    *value_size_out = size;
    leveldb_free(value);
    return 0;
}

static int lv_scan(void *ctx, uint64_t start, uint32_t count, ab_scan_visit_fn visit, void *arg,
                   uint32_t *visited_out)
{
    lv_db *db = ctx;
    leveldb_iterator_t *it = leveldb_create_iterator(db->db, db->read);
    unsigned char kb[8];
    ab_key_encode(start, kb);
    uint32_t visited = 0;
    int result = 0;
    for (leveldb_iter_seek(it, (const char *)kb, 8); visited < count && leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t key_size = 0, value_size = 0;
        const char *k = leveldb_iter_key(it, &key_size);
        const char *v = leveldb_iter_value(it, &value_size);
        visited++;
        if (key_size != 8 || visit(arg, ab_key_decode((const unsigned char *)k), v, value_size) != 0) {
            result = -1;
            break;
        }
    }
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    leveldb_iter_destroy(it);
    if (err != NULL) return lv_fail("iterator", err);
    *visited_out = visited;
    return result;
}

static int lv_close(void *ctx)
{
    lv_destroy(ctx);
    return 0;
}

const bench_engine ab_engine_leveldb = {
    .name = "leveldb",
    .ordered = true,
    .open = lv_open,
    .thread_open = lv_thread_open,
    .thread_close = lv_thread_close,
    .put = lv_put,
    .get = lv_get,
    .scan = lv_scan,
    .counters = NULL,
    .close = lv_close,
};
#endif /* ALEXDB_BENCH_HAVE_LEVELDB */
