/*
 * engine_alexdb.c: alexdb through its public API (api/alexdb.h). One handle shared by all
 * threads (every call is thread-safe); cache_bytes = cache_size, sync = the job's sync.
 * alexdb has no O_DIRECT switch of its own: its pager always reads pages with O_DIRECT
 * when the file system allows it. Counters come from alexdb_stats() (the bytes it wrote:
 * the data file's device_write_bytes plus the log's log_bytes), and a few of its fields
 * under their own names on the report's alexdb: line (ax_stat_names); inner_memory_size
 * over leaf_count is the report's inner_bytes/leaf_page.
 *
 * bulkload is alexdb_bulk_load (ALEX's bulk-load algorithm; it bypasses the log and ends
 * with a checkpoint, so it is durable when it returns). recover's flush is alexdb_sync
 * (with sync = 0 the log's writes may still sit in alexdb's buffer); the log the open
 * replays is the wal-*.log segments (docs/FORMAT.md section 9), which are preallocated,
 * so their size on disk overstates the records in them: log_replay_bytes says what the
 * open replayed. alexdb has no multi-get in its public API yet: multiget loops over get.
 */
#include "alexdb_bench.h"

#include "alexdb.h"

static int fail(const char *what, int rc)
{
    return ab_errorf("alexdb %s: %s (%s)", what, alexdb_strerror(rc), alexdb_errmsg());
}

static int ax_open(const ab_job *job, const char *dir, void **db_out)
{
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.cache_bytes = job->cache_size;
    opts.sync = job->sync ? 1 : 0;
    alexdb *db = NULL;
    int rc = alexdb_open(dir, &opts, &db);
    if (rc != ALEXDB_OK) return fail("open", rc);
    *db_out = db;
    return 0;
}

static int ax_thread_open(void *db, const ab_job *job, void **ctx_out)
{
    (void)job; /* one handle serves every job */
    *ctx_out = db;
    return 0;
}

static void ax_thread_close(void *ctx)
{
    (void)ctx;
}

static int ax_put(void *ctx, uint64_t key, const void *value, size_t value_size)
{
    int rc = alexdb_put(ctx, key, value, value_size);
    return rc == ALEXDB_OK ? 0 : fail("put", rc);
}

static int ax_get(void *ctx, uint64_t key, void *buf, size_t buf_size, size_t *value_size_out)
{
    int rc = alexdb_get(ctx, key, buf, buf_size, value_size_out);
    if (rc == ALEXDB_NOTFOUND) return 1;
    return rc == ALEXDB_OK ? 0 : fail("get", rc);
}

static int ax_scan(void *ctx, uint64_t start, uint32_t count, ab_scan_visit_fn visit, void *arg,
                   uint32_t *visited_out)
{
    alexdb_iter *iter = NULL;
    int rc = alexdb_iter_open(ctx, &iter);
    if (rc != ALEXDB_OK) return fail("iter_open", rc);
    uint32_t visited = 0;
    int result = 0;
    for (alexdb_iter_seek(iter, start); visited < count && alexdb_iter_valid(iter); alexdb_iter_next(iter)) {
        const void *value = NULL;
        size_t value_size = 0;
        alexdb_iter_value(iter, &value, &value_size);
        visited++;
        if (visit(arg, alexdb_iter_key(iter), value, value_size) != 0) { result = -1; break; }
    }
    rc = alexdb_iter_status(iter);
    if (result == 0 && rc != ALEXDB_OK) result = fail("iterator", rc);
    rc = alexdb_iter_close(iter);
    if (result == 0 && rc != ALEXDB_OK) result = fail("iter_close", rc);
    *visited_out = visited;
    return result;
}

/* alexdb_stats fields under their own names (the report strips "alexdb."): lookups and
 * the device reads they made (lookup.device.read / lookup is alexdb-index-bench's "device
 * reads per lookup", and over cache.miss its "per uncached lookup"); device.read counts
 * every read of the data file, checkpoints' and log replay's too. */
static const char *const ax_stat_names[] = {"alexdb.lookup", "alexdb.lookup.device.read", "alexdb.device.read",
                                            "alexdb.cache.miss"};
#define AX_STAT_COUNT (sizeof(ax_stat_names) / sizeof(ax_stat_names[0]))
_Static_assert(AX_STAT_COUNT <= AB_ENGINE_STAT_COUNT_MAX, "too many alexdb stats");

static void ax_counters(void *db, ab_counters *out)
{
    struct alexdb_stats st;
    if (alexdb_stats(db, &st) != ALEXDB_OK) return;
    out->device_read_count = (double)st.device_read_count;
    out->device_write_count = (double)st.device_write_count;
    out->cache_hit_count = (double)st.cache_hit_count;
    out->cache_miss_count = (double)st.cache_miss_count;
    out->commit_count = (double)st.log_commit_count;
    out->sync_count = (double)st.log_group_count;
    out->index_size = (double)st.inner_memory_size;
    out->key_count = (double)st.key_count;
    out->write_size = (double)(st.device_write_bytes + st.log_bytes); /* data file + log */
    out->leaf_page_count = (double)st.leaf_count;
    out->log_replay_size = (double)st.log_replay_bytes;
    out->log_replay_ns = (double)st.log_replay_ns;
    const double values[AX_STAT_COUNT] = {(double)st.lookup_count, (double)st.lookup_device_read_count,
                                          (double)st.device_read_count, (double)st.cache_miss_count};
    out->stat_count = AX_STAT_COUNT;
    for (uint32_t i = 0; i < AX_STAT_COUNT; i++) {
        out->stat_names[i] = ax_stat_names[i];
        out->stats[i] = values[i];
    }
}

static int ax_bulk_load(void *db, const ab_load *load)
{
    int rc = alexdb_bulk_load(db, load->keys, load->values, load->value_sizes, (size_t)load->count);
    return rc == ALEXDB_OK ? 0 : fail("bulk_load", rc);
}

static int ax_flush(void *db)
{
    int rc = alexdb_sync(db);
    return rc == ALEXDB_OK ? 0 : fail("sync", rc);
}

static int ax_close(void *db)
{
    int rc = alexdb_close(db);
    return rc == ALEXDB_OK ? 0 : fail("close", rc);
}

const bench_engine ab_engine_alexdb = {
    .name = "alexdb",
    .ordered = true,
    .open = ax_open,
    .thread_open = ax_thread_open,
    .thread_close = ax_thread_close,
    .put = ax_put,
    .get = ax_get,
    .scan = ax_scan,
    .counters = ax_counters,
    .close = ax_close,
    .bulk_load = ax_bulk_load,
    .flush = ax_flush,
    .can_recover = true,
    .log_prefix = "wal-",
    .log_suffix = ".log",
};
