/*
 * engine_leveldb.c: LevelDB through its C API (leveldb/c.h). One DB shared by all threads
 * (LevelDB's DB is thread-safe). Keys are 8 bytes big-endian (bytewise order = key order).
 *
 * Fairness: an LRU cache of cache_size, a bloom filter of 10 bits per key (as RocksDB),
 * sync=1 sets the write option sync (each write's log record synced, group-committed
 * across threads). LevelDB has no O_DIRECT: direct does not apply. Compiled only with
 * ALEXDB_BENCH_HAVE_LEVELDB.
 *
 * bulkload: sorted WriteBatches of LV_LOAD_BATCH_COUNT pairs (LevelDB cannot turn its log
 * off), the last one written with sync so the load is durable when it returns. recover:
 * each write's log record reaches the OS before the write returns, so no flush is
 * needed; the log the open replays is the *.log files. Counters: LevelDB's properties
 * (leveldb_property_value): "leveldb.stats" (its per-level table: the compactions' MB
 * read and written since the open, memtable flushes included, summed over the levels),
 * "leveldb.approximate-memory-usage" (bytes, a level) and "leveldb.num-files-at-levelN"
 * (sstables, summed, a level). A property that does not parse stays unknown (-1). multiget
 * loops over get (LevelDB has no multi-get).
 */
#include "alexdb_bench.h"

#ifdef ALEXDB_BENCH_HAVE_LEVELDB
#include <leveldb/c.h>

#define LV_LOAD_BATCH_COUNT 10000u     /* bulkload: pairs per WriteBatch */
#define LV_LEVEL_COUNT 7               /* LevelDB's config::kNumLevels */
#define LV_STATS_LINE_COUNT_MAX 64u    /* a bound on leveldb.stats' lines */

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

static int lv_bulk_load(void *ctx, const ab_load *load)
{
    lv_db *db = ctx;
    leveldb_writeoptions_t *last = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(last, 1);
    leveldb_writebatch_t *batch = leveldb_writebatch_create();
    char *err = NULL;
    for (uint64_t i = 0; i < load->count && err == NULL;) {
        leveldb_writebatch_clear(batch);
        for (uint32_t n = 0; n < LV_LOAD_BATCH_COUNT && i < load->count; n++, i++) {
            unsigned char kb[8];
            ab_key_encode(load->keys[i], kb);
            leveldb_writebatch_put(batch, (const char *)kb, 8, load->values[i], load->value_sizes[i]);
        }
        leveldb_write(db->db, i == load->count ? last : db->write, batch, &err);
    }
    leveldb_writebatch_destroy(batch);
    leveldb_writeoptions_destroy(last);
    return err == NULL ? 0 : lv_fail("bulk load write", err);
}

/* A property as a number: -1 when LevelDB does not have it or it is not a number. */
static double lv_property_number(leveldb_t *db, const char *name)
{
    char *text = leveldb_property_value(db, name);
    if (text == NULL) return -1;
    char *end = NULL;
    double v = strtod(text, &end);
    bool ok = end != text && (*end == '\0' || *end == '\n');
    leveldb_free(text);
    return ok && v >= 0 ? v : -1;
}

/* leveldb.stats' table, "Level Files Size(MB) Time(sec) Read(MB) Write(MB)" then a rule
 * and one row per level with data: the MB read and written summed over the rows; -1 each
 * when the text is not that table. */
static void lv_compaction_mb(leveldb_t *db, double *read_mb, double *write_mb)
{
    *read_mb = *write_mb = -1;
    char *text = leveldb_property_value(db, "leveldb.stats");
    if (text == NULL) return;
    const char *rule = strstr(text, "Read(MB) Write(MB)") != NULL ? strstr(text, "---") : NULL;
    const char *line = rule != NULL ? strchr(rule, '\n') : NULL;
    double r_sum = 0, w_sum = 0;
    for (uint32_t bound = 0; line != NULL && bound < LV_STATS_LINE_COUNT_MAX; bound++) {
        int level = 0, files = 0;
        double size = 0, secs = 0, r = 0, w = 0;
        if (sscanf(line + 1, "%d %d %lf %lf %lf %lf", &level, &files, &size, &secs, &r, &w) != 6) break;
        r_sum += r;
        w_sum += w;
        line = strchr(line + 1, '\n');
    }
    if (rule != NULL) {
        *read_mb = r_sum;
        *write_mb = w_sum;
    }
    leveldb_free(text);
}

/* The properties reported. Adding one? Also lv_counters (same order). */
static const char *const lv_stat_names[] = {"leveldb.sstables", "leveldb.level0.sstables",
                                            "leveldb.approximate-memory-usage", "leveldb.compaction.read.mb",
                                            "leveldb.compaction.write.mb"};
#define LV_STAT_COUNT (sizeof(lv_stat_names) / sizeof(lv_stat_names[0]))
_Static_assert(LV_STAT_COUNT <= AB_ENGINE_STAT_COUNT_MAX, "too many leveldb stats");

static void lv_counters(void *ctx, ab_counters *out)
{
    lv_db *db = ctx;
    double files = 0;
    double level0 = -1;
    for (int level = 0; level < LV_LEVEL_COUNT && files >= 0; level++) {
        char name[64];
        snprintf(name, sizeof(name), "leveldb.num-files-at-level%d", level);
        double n = lv_property_number(db->db, name);
        if (level == 0) level0 = n;
        files = n < 0 ? -1 : files + n;
    }
    double read_mb = -1, write_mb = -1;
    lv_compaction_mb(db->db, &read_mb, &write_mb);
    const double values[LV_STAT_COUNT] = {files, level0,
                                          lv_property_number(db->db, "leveldb.approximate-memory-usage"), read_mb,
                                          write_mb};
    const bool levels[LV_STAT_COUNT] = {true, true, true, false, false};
    out->stat_count = LV_STAT_COUNT;
    for (uint32_t i = 0; i < LV_STAT_COUNT; i++) {
        out->stat_names[i] = lv_stat_names[i];
        out->stats[i] = values[i];
        out->stat_level[i] = levels[i];
    }
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
    .counters = lv_counters,
    .close = lv_close,
    .bulk_load = lv_bulk_load,
    .can_recover = true,
    .log_prefix = "",
    .log_suffix = ".log",
};
#endif /* ALEXDB_BENCH_HAVE_LEVELDB */
