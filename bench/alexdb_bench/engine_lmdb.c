/*
 * engine_lmdb.c: LMDB through lmdb.h. One environment and one database; each put is its
 * own write transaction (as each alexdb_put is its own commit), each get and scan a
 * read-only transaction reset and renewed per op. Keys are 8 bytes big-endian so LMDB's
 * memcmp order is key order.
 *
 * Fairness: LMDB has no cache setting (it maps the file and the kernel's page cache is
 * its cache), so cache_size does not apply, and it has no O_DIRECT. sync=1 is LMDB's
 * default (fsync at each commit); sync=0 is MDB_NOSYNC|MDB_NOMETASYNC with MDB_WRITEMAP
 * (commits write into the map, the kernel writes back). Compiled only with
 * ALEXDB_BENCH_HAVE_LMDB.
 *
 * bulkload: one write transaction of MDB_APPEND puts (LMDB's sorted-load path: each key
 * goes at the end of the last leaf, no search, full pages), committed, then
 * mdb_env_sync(force) so it is durable whatever sync says. recover: a commit has written
 * into the shared map, which outlives the process, and LMDB has no log to replay (its
 * open reads the meta pages). Counters: mdb_stat of the database (levels: tree depth,
 * branch, leaf and overflow pages, entries) and mdb_env_info's last page used; the branch
 * pages are its index, so branch pages x page size is index_size (index bytes per key,
 * and per leaf page next to alexdb's inner bytes per leaf page). multiget loops over get
 * (LMDB has no multi-get).
 */
#include "alexdb_bench.h"

#ifdef ALEXDB_BENCH_HAVE_LMDB
#include <lmdb.h>

typedef struct lm_db {
    MDB_env *env;
    MDB_dbi dbi;
} lm_db;

typedef struct lm_ctx {
    lm_db *db;
    MDB_txn *read_txn; /* reset between ops */
} lm_ctx;

static int lm_fail(const char *what, int rc)
{
    return ab_errorf("lmdb %s: %s", what, mdb_strerror(rc));
}

static int lm_open(const ab_job *job, const char *dir, void **db_out)
{
    lm_db *db = calloc(1, sizeof(*db));
    if (db == NULL) return ab_errorf("out of memory");
    int rc = mdb_env_create(&db->env);
    if (rc != 0) { free(db); return lm_fail("env_create", rc); }
    double need = (double)job->key_count * (job->value_size + 64.0) * 4.0 + (1u << 30);
    rc = mdb_env_set_mapsize(db->env, (size_t)need);
    if (rc == 0) rc = mdb_env_set_maxreaders(db->env, AB_THREAD_COUNT_MAX + 16);
    unsigned flags = MDB_NORDAHEAD | MDB_NOTLS;
    if (!job->sync) flags |= MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP;
    if (rc == 0) rc = mdb_env_open(db->env, dir, flags, 0644);
    MDB_txn *txn = NULL;
    if (rc == 0) rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    if (rc == 0) rc = mdb_dbi_open(txn, NULL, 0, &db->dbi);
    if (rc == 0) rc = mdb_txn_commit(txn);
    else if (txn != NULL) mdb_txn_abort(txn);
    if (rc != 0) {
        mdb_env_close(db->env);
        free(db);
        return lm_fail("open", rc);
    }
    *db_out = db;
    return 0;
}

static int lm_thread_open(void *db, const ab_job *job, void **ctx_out)
{
    (void)job; /* one handle serves every job */
    lm_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) return ab_errorf("out of memory");
    ctx->db = db;
    *ctx_out = ctx;
    return 0;
}

static void lm_thread_close(void *ctxp)
{
    lm_ctx *ctx = ctxp;
    if (ctx == NULL) return;
    if (ctx->read_txn != NULL) mdb_txn_abort(ctx->read_txn);
    free(ctx);
}

static int lm_put(void *ctxp, uint64_t key, const void *value, size_t value_size)
{
    lm_ctx *ctx = ctxp;
    unsigned char kb[8];
    ab_key_encode(key, kb);
    MDB_val k = {8, kb}, v = {value_size, (void *)value};
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(ctx->db->env, NULL, 0, &txn);
    if (rc != 0) return lm_fail("txn_begin", rc);
    rc = mdb_put(txn, ctx->db->dbi, &k, &v, 0);
    if (rc != 0) { mdb_txn_abort(txn); return lm_fail("put", rc); }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? 0 : lm_fail("commit", rc);
}

static int read_begin(lm_ctx *ctx)
{
    int rc = ctx->read_txn == NULL ? mdb_txn_begin(ctx->db->env, NULL, MDB_RDONLY, &ctx->read_txn)
                                   : mdb_txn_renew(ctx->read_txn);
    return rc == 0 ? 0 : lm_fail("read txn", rc);
}

static int lm_get(void *ctxp, uint64_t key, void *buf, size_t buf_size, size_t *value_size_out)
{
    lm_ctx *ctx = ctxp;
    if (read_begin(ctx) != 0) return -1;
    unsigned char kb[8];
    ab_key_encode(key, kb);
    MDB_val k = {8, kb}, v = {0, NULL};
    int rc = mdb_get(ctx->read_txn, ctx->db->dbi, &k, &v);
    if (rc == 0) {
        memcpy(buf, v.mv_data, v.mv_size < buf_size ? v.mv_size : buf_size);
        *value_size_out = v.mv_size;
    }
    mdb_txn_reset(ctx->read_txn);
    if (rc == MDB_NOTFOUND) return 1;
    return rc == 0 ? 0 : lm_fail("get", rc);
}

static int lm_scan(void *ctxp, uint64_t start, uint32_t count, ab_scan_visit_fn visit, void *arg,
                   uint32_t *visited_out)
{
    lm_ctx *ctx = ctxp;
    if (read_begin(ctx) != 0) return -1;
    MDB_cursor *cursor = NULL;
    int rc = mdb_cursor_open(ctx->read_txn, ctx->db->dbi, &cursor);
    uint32_t visited = 0;
    int result = 0;
    if (rc == 0) {
        unsigned char kb[8];
        ab_key_encode(start, kb);
        MDB_val k = {8, kb}, v = {0, NULL};
        rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
        while (rc == 0 && visited < count) {
            visited++;
            if (k.mv_size != 8 || visit(arg, ab_key_decode(k.mv_data), v.mv_data, v.mv_size) != 0) {
                result = -1;
                break;
            }
            rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cursor);
    }
    mdb_txn_reset(ctx->read_txn);
    if (result == 0 && rc != 0 && rc != MDB_NOTFOUND) result = lm_fail("cursor", rc);
    *visited_out = visited;
    return result;
}

static int lm_bulk_load(void *dbp, const ab_load *load)
{
    lm_db *db = dbp;
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(db->env, NULL, 0, &txn);
    if (rc != 0) return lm_fail("txn_begin", rc);
    for (uint64_t i = 0; i < load->count && rc == 0; i++) {
        unsigned char kb[8];
        ab_key_encode(load->keys[i], kb);
        MDB_val k = {8, kb}, v = {load->value_sizes[i], (void *)load->values[i]};
        rc = mdb_put(txn, db->dbi, &k, &v, MDB_APPEND);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return lm_fail("put (MDB_APPEND)", rc);
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) return lm_fail("commit", rc);
    rc = mdb_env_sync(db->env, 1);
    return rc == 0 ? 0 : lm_fail("env_sync", rc);
}

/* mdb_stat's fields and mdb_env_info's last page, all levels. Adding one? Also lm_counters. */
static const char *const lm_stat_names[] = {"lmdb.depth", "lmdb.branch_pages", "lmdb.leaf_pages",
                                            "lmdb.overflow_pages", "lmdb.entries", "lmdb.last_pgno"};
#define LM_STAT_COUNT (sizeof(lm_stat_names) / sizeof(lm_stat_names[0]))
_Static_assert(LM_STAT_COUNT <= AB_ENGINE_STAT_COUNT_MAX, "too many lmdb stats");

static void lm_counters(void *dbp, ab_counters *out)
{
    lm_db *db = dbp;
    MDB_txn *txn = NULL;
    MDB_stat st;
    MDB_envinfo info;
    if (mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn) != 0) return;
    int rc = mdb_stat(txn, db->dbi, &st);
    mdb_txn_abort(txn);
    if (rc != 0 || mdb_env_info(db->env, &info) != 0) return;
    const double values[LM_STAT_COUNT] = {(double)st.ms_depth, (double)st.ms_branch_pages, (double)st.ms_leaf_pages,
                                          (double)st.ms_overflow_pages, (double)st.ms_entries,
                                          (double)info.me_last_pgno};
    out->stat_count = LM_STAT_COUNT;
    for (uint32_t i = 0; i < LM_STAT_COUNT; i++) {
        out->stat_names[i] = lm_stat_names[i];
        out->stats[i] = values[i];
        out->stat_level[i] = true;
    }
    out->index_size = (double)st.ms_branch_pages * st.ms_psize;
    out->key_count = (double)st.ms_entries;
    out->leaf_page_count = (double)st.ms_leaf_pages;
}

static int lm_close(void *dbp)
{
    lm_db *db = dbp;
    mdb_env_close(db->env);
    free(db);
    return 0;
}

const bench_engine ab_engine_lmdb = {
    .name = "lmdb",
    .ordered = true,
    .open = lm_open,
    .thread_open = lm_thread_open,
    .thread_close = lm_thread_close,
    .put = lm_put,
    .get = lm_get,
    .scan = lm_scan,
    .counters = lm_counters,
    .close = lm_close,
    .bulk_load = lm_bulk_load,
    .can_recover = true,
};
#endif /* ALEXDB_BENCH_HAVE_LMDB */
