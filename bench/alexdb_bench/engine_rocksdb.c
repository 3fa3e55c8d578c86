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
 *
 * Counters: RocksDB's statistics are enabled (rocksdb_options_enable_statistics; its
 * default level, which keeps every ticker) and read as text with
 * rocksdb_options_statistics_get_string, one "<name> COUNT : <n>" line per ticker. The
 * tickers in rx_ticker_names are reported as they are, and the ones that mean what
 * alexdb's counters mean fill the same fields (rx_counters). A ticker this librocksdb
 * does not print stays unknown (-1, "-" in the report), never 0.
 *
 * multiget is native: rocksdb_batched_multi_get_cf (RocksDB's batched MultiGet, which
 * looks the keys up together: one memtable and filter pass, and block reads of one SST
 * gathered; it needs the default column family's handle, so the database is opened with
 * rocksdb_open_column_families). bulkload writes the sorted pairs in WriteBatches of
 * RX_LOAD_BATCH_COUNT with the WAL disabled and then flushes the memtable to an SST and
 * waits (rocksdb_flush, wait = 1): durable when it returns, as alexdb's ends with a
 * checkpoint. recover: rocksdb_flush_wal without sync (the WAL's writes reach the OS),
 * and the log the open replays is the WAL, the *.log files.
 */
#include "alexdb_bench.h"

#ifdef ALEXDB_BENCH_HAVE_ROCKSDB
#include <rocksdb/c.h>

/* The tickers reported. Adding one? Also enum rx_ticker (same order). */
static const char *const rx_ticker_names[] = {
    "rocksdb.block.cache.hit",        "rocksdb.block.cache.miss",
    "rocksdb.bloom.filter.useful",    "rocksdb.bloom.filter.full.positive",
    "rocksdb.bloom.filter.full.true.positive",
    "rocksdb.bytes.written",          "rocksdb.wal.bytes",
    "rocksdb.wal.synced",             "rocksdb.write.self",
    "rocksdb.write.other",            "rocksdb.write.wal",
    "rocksdb.flush.write.bytes",      "rocksdb.compact.read.bytes",
    "rocksdb.compact.write.bytes",
};
enum rx_ticker {
    RX_CACHE_HIT, RX_CACHE_MISS, RX_BLOOM_USEFUL, RX_BLOOM_POSITIVE, RX_BLOOM_TRUE_POSITIVE,
    RX_BYTES_WRITTEN, RX_WAL_BYTES, RX_WAL_SYNCED, RX_WRITE_SELF, RX_WRITE_OTHER, RX_WRITE_WAL,
    RX_FLUSH_WRITE_BYTES, RX_COMPACT_READ_BYTES, RX_COMPACT_WRITE_BYTES, RX_TICKER_COUNT,
};
_Static_assert(sizeof(rx_ticker_names) / sizeof(rx_ticker_names[0]) == RX_TICKER_COUNT, "ticker names");
_Static_assert(RX_TICKER_COUNT <= AB_ENGINE_STAT_COUNT_MAX, "too many tickers for ab_counters");

#define RX_STATS_LINE_COUNT_MAX 100000u /* a bound on the statistics text's lines */
#define RX_LOAD_BATCH_COUNT 10000u       /* bulkload: pairs per WriteBatch (~1 MB of 100 B values) */

typedef struct rx_db {
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf;  /* the default column family (multi-get needs it) */
    rocksdb_options_t *options;
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;
    rocksdb_writeoptions_t *write;
    rocksdb_readoptions_t *read;
    bool sync;                  /* every put waits for its WAL sync */
} rx_db;

static int rx_fail(const char *what, char *err)
{
    ab_errorf("rocksdb %s: %s", what, err != NULL ? err : "unknown error");
    rocksdb_free(err);
    return -1;
}

static void rx_destroy(rx_db *db)
{
    if (db->cf != NULL) rocksdb_column_family_handle_destroy(db->cf);
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
    rocksdb_options_enable_statistics(db->options);
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
    db->sync = job->sync;
    db->read = rocksdb_readoptions_create();
    char *err = NULL;
    const char *cf_names[1] = {"default"};
    const rocksdb_options_t *cf_options[1] = {db->options};
    rocksdb_column_family_handle_t *cf[1] = {NULL};
    db->db = rocksdb_open_column_families(db->options, dir, 1, cf_names, cf_options, cf, &err);
    if (err != NULL) {
        db->db = NULL;
        rx_destroy(db);
        return rx_fail("open", err);
    }
    db->cf = cf[0];
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

/* A multi-get's arrays, one set per thread (the db handle is shared), so that a batch
 * neither allocates nor clears 40 KiB of stack. */
typedef struct rx_multi_scratch {
    unsigned char kb[AB_IODEPTH_MAX][8];
    const char *key_ptrs[AB_IODEPTH_MAX];
    size_t key_sizes[AB_IODEPTH_MAX];
    rocksdb_pinnableslice_t *values[AB_IODEPTH_MAX];
    char *errs[AB_IODEPTH_MAX];
} rx_multi_scratch;
static _Thread_local rx_multi_scratch rx_scratch;

static int rx_multi_get(void *ctx, const uint64_t *keys, uint32_t count, ab_multi_visit_fn visit, void *arg)
{
    rx_db *db = ctx;
    AB_ASSERT(count > 0 && count <= AB_IODEPTH_MAX);
    rx_multi_scratch *m = &rx_scratch;
    unsigned char (*kb)[8] = m->kb;
    const char **key_ptrs = m->key_ptrs;
    size_t *key_sizes = m->key_sizes;
    rocksdb_pinnableslice_t **values = m->values;
    char **errs = m->errs;
    for (uint32_t i = 0; i < count; i++) {
        ab_key_encode(keys[i], kb[i]);
        key_ptrs[i] = (const char *)kb[i];
        key_sizes[i] = 8;
    }
    rocksdb_batched_multi_get_cf(db->db, db->read, db->cf, count, key_ptrs, key_sizes, values, errs, false);
    int result = 0;
    for (uint32_t i = 0; i < count; i++) { /* every slice and error is freed, even after a failure */
        if (result == 0 && errs[i] != NULL) {
            result = rx_fail("multi_get", errs[i]);
            errs[i] = NULL;
        }
        size_t size = 0;
        const char *value = values[i] != NULL ? rocksdb_pinnableslice_value(values[i], &size) : NULL;
        if (result == 0 && visit(arg, i, value, size) != 0) result = -1;
        if (values[i] != NULL) rocksdb_pinnableslice_destroy(values[i]);
        rocksdb_free(errs[i]);
    }
    return result;
}

/* Sorted WriteBatches without the WAL, then a flush of the memtable to an SST that waits. */
static int rx_bulk_load(void *ctx, const ab_load *load)
{
    rx_db *db = ctx;
    rocksdb_writeoptions_t *write = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(write, 1);
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create();
    char *err = NULL;
    for (uint64_t i = 0; i < load->count && err == NULL;) {
        rocksdb_writebatch_clear(batch);
        for (uint32_t n = 0; n < RX_LOAD_BATCH_COUNT && i < load->count; n++, i++) {
            unsigned char kb[8];
            ab_key_encode(load->keys[i], kb);
            rocksdb_writebatch_put(batch, (const char *)kb, 8, load->values[i], load->value_sizes[i]);
        }
        rocksdb_write(db->db, write, batch, &err);
    }
    rocksdb_writebatch_destroy(batch);
    rocksdb_writeoptions_destroy(write);
    if (err != NULL) return rx_fail("bulk load write", err);
    rocksdb_flushoptions_t *flush = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(flush, 1);
    rocksdb_flush(db->db, flush, &err);
    rocksdb_flushoptions_destroy(flush);
    return err == NULL ? 0 : rx_fail("bulk load flush", err);
}

static int rx_flush(void *ctx)
{
    rx_db *db = ctx;
    char *err = NULL;
    rocksdb_flush_wal(db->db, 0, &err);
    return err == NULL ? 0 : rx_fail("flush_wal", err);
}

/* "<spaces>word" at *at: true and *at past it, or false. */
static bool skip_word(const char **at, const char *end, const char *word)
{
    size_t size = strlen(word);
    while (*at < end && **at == ' ') (*at)++;
    if ((size_t)(end - *at) < size || memcmp(*at, word, size) != 0) return false;
    *at += size;
    return true;
}

/* Ticker name's count in RocksDB's statistics text: the line "<name> COUNT : <n>"; -1 when
 * no line has that name or its line does not parse (another format, a histogram). */
static double rx_ticker(const char *text, const char *name)
{
    size_t name_size = strlen(name);
    const char *line = text;
    for (uint32_t bound = 0; bound < RX_STATS_LINE_COUNT_MAX && *line != '\0'; bound++) {
        const char *end = strchr(line, '\n');
        if (end == NULL) end = line + strlen(line);
        const char *at = line + name_size;
        if ((size_t)(end - line) > name_size && memcmp(line, name, name_size) == 0 && *at == ' ') {
            if (!skip_word(&at, end, "COUNT") || !skip_word(&at, end, ":")) return -1;
            while (at < end && *at == ' ') at++;
            if (at == end || *at < '0' || *at > '9') return -1;
            double count = 0;
            for (; at < end && *at >= '0' && *at <= '9'; at++) count = count * 10 + (*at - '0');
            return at == end || *at == ' ' || *at == '\r' ? count : -1;
        }
        line = *end == '\n' ? end + 1 : end;
    }
    return -1;
}

static double rx_sum3(double a, double b, double c)
{
    return a < 0 || b < 0 || c < 0 ? -1 : a + b + c;
}

/* The tickers, and the fields of alexdb's counters that they match: the block cache's hits
 * and misses; commits (puts that waited for a WAL sync: all WAL writes with sync=1, none
 * otherwise) per WAL sync; bytes written by the WAL, flushes and compactions. */
static void rx_counters(void *ctx, ab_counters *out)
{
    rx_db *db = ctx;
    char *text = rocksdb_options_statistics_get_string(db->options);
    if (text == NULL) return; /* statistics off: every counter stays unknown */
    double *t = out->stats;
    out->stat_count = RX_TICKER_COUNT;
    for (uint32_t i = 0; i < RX_TICKER_COUNT; i++) {
        out->stat_names[i] = rx_ticker_names[i];
        t[i] = rx_ticker(text, rx_ticker_names[i]);
    }
    rocksdb_free(text);
    out->cache_hit_count = t[RX_CACHE_HIT];
    out->cache_miss_count = t[RX_CACHE_MISS];
    out->commit_count = db->sync ? t[RX_WRITE_WAL] : 0;
    out->sync_count = t[RX_WAL_SYNCED];
    out->write_size = rx_sum3(t[RX_WAL_BYTES], t[RX_FLUSH_WRITE_BYTES], t[RX_COMPACT_WRITE_BYTES]);
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
    .counters = rx_counters,
    .close = rx_close,
    .multi_get = rx_multi_get,
    .bulk_load = rx_bulk_load,
    .flush = rx_flush,
    .can_recover = true,
    .log_prefix = "",
    .log_suffix = ".log",
    .multi_get_name = "rocksdb_batched_multi_get_cf",
};
#endif /* ALEXDB_BENCH_HAVE_ROCKSDB */
