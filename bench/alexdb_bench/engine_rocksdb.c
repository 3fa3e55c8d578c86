/*
 * engine_rocksdb.c: RocksDB through its C API (rocksdb/c.h). One DB shared by all threads
 * (RocksDB's DB is thread-safe). Keys are 8 bytes big-endian (bytewise order = key order).
 *
 * Fairness: an LRU block cache of cache_size, a bloom filter of 10 bits per key, the
 * block-based table's index and filter blocks in that cache; direct=1 sets
 * use_direct_reads and use_direct_io_for_flush_and_compaction; sync=1 sets the write
 * option sync (fsync of the WAL before each write returns, group-committed across
 * threads), sync=0 leaves the WAL on but unsynced. Background jobs = 2 (the machine's
 * cores). Compiled only with ALEXDB_BENCH_HAVE_ROCKSDB.
 */
#include "alexdb_bench.h"

#ifdef ALEXDB_BENCH_HAVE_ROCKSDB
#include <rocksdb/c.h>

typedef struct rx_db {
    rocksdb_t *db;
    rocksdb_options_t *options;
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;
    rocksdb_writeoptions_t *write;
    rocksdb_readoptions_t *read;
} rx_db;

static int rx_fail(const char *what, char *err)
{
    ab_errorf("rocksdb %s: %s", what, err != NULL ? err : "unknown error");
    rocksdb_free(err);
    return -1;
}

static void rx_destroy(rx_db *db)
{
    if (db->db != NULL) rocksdb_close(db->db);
    if (db->write != NULL) rocksdb_writeoptions_destroy(db->write);
    if (db->read != NULL) rocksdb_readoptions_destroy(db->read);
    if (db->options != NULL) rocksdb_options_destroy(db->options);
    if (db->table != NULL) rocksdb_block_based_options_destroy(db->table);
    if (db->cache != NULL) rocksdb_cache_destroy(db->cache);
    free(db);
}

static int rx_open(const ab_job *job, const char *dir, void **db_out)
{
    rx_db *db = calloc(1, sizeof(*db));
    if (db == NULL) return ab_errorf("out of memory");
    db->options = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(db->options, 1);
    rocksdb_options_increase_parallelism(db->options, 2);
    rocksdb_options_set_max_background_jobs(db->options, 2);
    db->cache = rocksdb_cache_create_lru(job->cache_size);
    db->table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(db->table, db->cache);
    rocksdb_block_based_options_set_filter_policy(db->table, rocksdb_filterpolicy_create_bloom(10));
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(db->table, 1);
    rocksdb_options_set_block_based_table_factory(db->options, db->table);
    if (job->direct) {
        rocksdb_options_set_use_direct_reads(db->options, 1);
        rocksdb_options_set_use_direct_io_for_flush_and_compaction(db->options, 1);
    }
    db->write = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(db->write, job->sync ? 1 : 0);
    db->read = rocksdb_readoptions_create();
    char *err = NULL;
    db->db = rocksdb_open(db->options, dir, &err);
    if (err != NULL) {
        db->db = NULL;
        rx_destroy(db);
        return rx_fail("open", err);
    }
    *db_out = db;
    return 0;
}

static int rx_thread_open(void *db, const ab_job *job, void **ctx_out)
{
    (void)job; /* one handle serves every job */
    *ctx_out = db;
    return 0;
}

static void rx_thread_close(void *ctx)
{
    (void)ctx;
}

static int rx_put(void *ctx, uint64_t key, const void *value, size_t value_size)
{
    rx_db *db = ctx;
    unsigned char kb[8];
    ab_key_encode(key, kb);
    char *err = NULL;
    rocksdb_put(db->db, db->write, (const char *)kb, 8, value, value_size, &err);
    return err == NULL ? 0 : rx_fail("put", err);
}

static int rx_get(void *ctx, uint64_t key, void *buf, size_t buf_size, size_t *value_size_out)
{
    rx_db *db = ctx;
    unsigned char kb[8];
    ab_key_encode(key, kb);
    char *err = NULL;
    rocksdb_pinnableslice_t *slice = rocksdb_get_pinned(db->db, db->read, (const char *)kb, 8, &err);
    if (err != NULL) return rx_fail("get", err);
    if (slice == NULL) return 1;
    size_t size = 0;
    const char *value = rocksdb_pinnableslice_value(slice, &size);
    memcpy(buf, value, size < buf_size ? size : buf_size);
    *value_size_out = size;
    rocksdb_pinnableslice_destroy(slice);
    return 0;
}

static int rx_scan(void *ctx, uint64_t start, uint32_t count, ab_scan_visit_fn visit, void *arg,
                   uint32_t *visited_out)
{
    rx_db *db = ctx;
    rocksdb_iterator_t *it = rocksdb_create_iterator(db->db, db->read);
    unsigned char kb[8];
    ab_key_encode(start, kb);
    uint32_t visited = 0;
    int result = 0;
    for (rocksdb_iter_seek(it, (const char *)kb, 8); visited < count && rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t key_size = 0, value_size = 0;
        const char *k = rocksdb_iter_key(it, &key_size);
        const char *v = rocksdb_iter_value(it, &value_size);
        visited++;
        if (key_size != 8 || visit(arg, ab_key_decode((const unsigned char *)k), v, value_size) != 0) {
            result = -1;
            break;
        }
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err != NULL) return rx_fail("iterator", err);
    *visited_out = visited;
    return result;
}

static int rx_close(void *ctx)
{
    rx_destroy(ctx);
    return 0;
}

const bench_engine ab_engine_rocksdb = {
    .name = "rocksdb",
    .ordered = true,
    .open = rx_open,
    .thread_open = rx_thread_open,
    .thread_close = rx_thread_close,
    .put = rx_put,
    .get = rx_get,
    .scan = rx_scan,
    .counters = NULL,
    .close = rx_close,
};
#endif /* ALEXDB_BENCH_HAVE_ROCKSDB */
