/*
 * log.c: what alexdb's changes look like in the write-ahead log, and recovery at open.
 *
 * A change is one log record (docs/FORMAT.md 9.4): a put {key, value}, a delete {key},
 * or a whole batch {count, operations} as one record, so a batch is in the log entirely
 * or not at all (wal W-invariants: a record is intact or not there). api_log_encode()
 * turns a change into record parts without copying a put's value; api_log_open() opens
 * the log and replays every record after the index's checkpoint LSN, in windows sorted
 * by key, through alex_apply_sorted (the write path's puts and deletes, a leaf's run of
 * changes at a time). Replay is idempotent per record (a put overwrites,
 * a delete of an absent key is nothing), so records the checkpoint already holds could
 * be replayed again without harm; in fact only later ones are.
 *
 * Adding a record type? Also: enum api_record_type (api_int.h), replay_one() here,
 * docs/FORMAT.md 9.4.
 */
#include "api_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define BATCH_OP_HEADER_SIZE 13u /* kind u8, key u64, size u32 */

int api_log_encode(const api_change *change, api_log_record *record)
{
    memset(record, 0, sizeof(*record));
    record->type = change->type;
    switch (change->type) {
    case API_RECORD_PUT:
        common_store_u64le(record->header, change->key);
        record->parts[0] = (wal_part){record->header, 8};
        record->parts[1] = (wal_part){change->value, change->size};
        record->part_count = 2;
        return ALEXDB_OK;
    case API_RECORD_DELETE:
        common_store_u64le(record->header, change->key);
        record->parts[0] = (wal_part){record->header, 8};
        record->part_count = 1;
        return ALEXDB_OK;
    case API_RECORD_BATCH:
        break;
    default:
        ALEXDB_ASSERT(!"unknown change type");
    }
    if (change->count > UINT32_MAX) {
        return common_error(ALEXDB_TOOBIG, "batch of %zu operations (at most %" PRIu32 ")",
                            change->count, UINT32_MAX);
    }
    size_t size = 4;
    for (size_t i = 0; i < change->count; i++) {
        size += BATCH_OP_HEADER_SIZE + (change->ops[i].is_delete ? 0 : change->ops[i].size);
        if (size > WAL_RECORD_SIZE_MAX) {
            return common_error(ALEXDB_TOOBIG, "batch: its log record would pass %u bytes",
                                WAL_RECORD_SIZE_MAX);
        }
    }
    uint8_t *buf = malloc(size);
    if (buf == NULL) return common_error(ALEXDB_NOMEM, "batch: out of memory for its log record");
    common_store_u32le(buf, (uint32_t)change->count);
    uint8_t *p = buf + 4;
    for (size_t i = 0; i < change->count; i++) {
        const alex_op *op = &change->ops[i];
        size_t value_size = op->is_delete ? 0 : op->size;
        p[0] = op->is_delete ? API_OP_DELETE : API_OP_PUT;
        common_store_u64le(p + 1, op->key);
        common_store_u32le(p + 9, (uint32_t)value_size);
        if (value_size > 0) memcpy(p + BATCH_OP_HEADER_SIZE, op->value, value_size);
        p += BATCH_OP_HEADER_SIZE + value_size;
    }
    record->owned = buf;
    record->parts[0] = (wal_part){buf, size};
    record->part_count = 1;
    return ALEXDB_OK;
}

void api_log_record_free(api_log_record *record)
{
    free(record->owned);
    record->owned = NULL;
}

/* ---- recovery ---------------------------------------------------------------------- */

/*
 * Replay in windows (api/README.md D4): the changes of up to REPLAY_WINDOW_OPS records'
 * operations (or REPLAY_WINDOW_BYTES of their values) are collected, sorted by key with
 * their log order as the tie-break, and applied in key order, each run of keys after a
 * batched read of their leaves (alex_prefetch), a leaf's run at a time (alex_apply_sorted).
 * Changes to one key keep their order (the sort is stable), and
 * changes to different keys commute, so the result is the log's; but the index is then
 * walked once in order instead of at random, and the cold cache is filled by batches
 * of overlapping reads instead of one synchronous read per record. Two windows take
 * turns: while one fills from the log, a thread prefetches the leaves of the one before
 * it (its first chunk), which is applied when the next is full (window_done).
 * Checkpoints happen between windows, at the window's last LSN. One that the cache
 * forces inside a window (ALEXDB_FULL) is taken at the LSN before the window: it holds
 * part of the window, which is harmless because recovery always replays to the end of
 * the log and every change overwrites (D4).
 */
#define REPLAY_WINDOW_OPS 65536u
#define REPLAY_WINDOW_BYTES (32u << 20)
#define REPLAY_PREFETCH_OPS 2048u

typedef struct replay_op {
    uint64_t key;
    uint32_t value_offset; /* into the arena */
    uint32_t size;
    uint32_t seq;          /* log order within the window */
    bool is_delete;
} replay_op;

/* A window's arena holds under REPLAY_WINDOW_BYTES plus one record: offsets fit 32 bits. */
_Static_assert((uint64_t)REPLAY_WINDOW_BYTES + WAL_RECORD_SIZE_MAX < UINT32_MAX, "replay_op offsets");
_Static_assert(sizeof(replay_op) == 24, "replay_op: the sort moves it");

/* One window: its changes in log order (then sorted), their values, its LSNs. */
typedef struct replay_window {
    replay_op *ops;
    size_t count, capacity;
    uint8_t *arena;
    size_t arena_used, arena_capacity;
    uint64_t first_lsn, last_lsn; /* of the window's records; first_lsn 0: empty */
} replay_window;

/*
 * Two windows: one filling from the log while the other, full and sorted, waits for its
 * leaves, which a thread prefetches meanwhile (its first chunk; later chunks are read
 * as it is applied).
 */
typedef struct replay_ctx {
    alexdb *db;
    const char *dir;
    replay_window windows[2];
    replay_window *filling;
    replay_window *pending;       /* sorted, not applied yet; NULL: none */
    replay_op *sort_scratch;      /* the radix sort's other buffer */
    size_t sort_capacity;
    alex_op *apply_ops;           /* one chunk of changes as alex_apply_sorted takes them */
    size_t apply_capacity;
    uint64_t *prefetch_keys;      /* the keys of one prefetch's changes */
    size_t prefetch_capacity;
    size_t prefetch_count;
    pthread_t prefetcher;         /* reads pending's first chunk of leaves */
    bool prefetching;
} replay_ctx;

static int bad_record(const replay_ctx *ctx, uint64_t lsn, uint8_t type, const char *what)
{
    return common_error(ALEXDB_CORRUPT, "%s: log record %" PRIu64 " (type %u): %s", ctx->dir, lsn,
                        type, what);
}

/*
 * Decodes a batch payload into ops (pointing into payload). Every length is checked
 * against the payload before it is used: the checksum says the bytes are what was
 * written, not that the writer was this version.
 */
static int decode_batch(const replay_ctx *ctx, uint64_t lsn, const uint8_t *payload, uint32_t size,
                        alex_op **ops_out, size_t *count_out)
{
    if (size < 4) return bad_record(ctx, lsn, API_RECORD_BATCH, "shorter than its count");
    uint32_t count = common_load_u32le(payload);
    if (count > (size - 4) / BATCH_OP_HEADER_SIZE) {
        return bad_record(ctx, lsn, API_RECORD_BATCH, "count larger than the record");
    }
    alex_op *ops = malloc(COMMON_MAX(count, 1u) * sizeof(*ops));
    if (ops == NULL) return common_error(ALEXDB_NOMEM, "replay: out of memory");
    const uint8_t *p = payload + 4, *end = payload + size;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t value_size = (size_t)(end - p) >= BATCH_OP_HEADER_SIZE ? common_load_u32le(p + 9) : 0;
        bool fits = (size_t)(end - p) >= BATCH_OP_HEADER_SIZE &&
                    value_size <= (size_t)(end - p) - BATCH_OP_HEADER_SIZE;
        uint8_t kind = fits ? p[0] : 0;
        if (!fits || (kind != API_OP_PUT && kind != API_OP_DELETE) ||
            (kind == API_OP_DELETE && value_size != 0) || value_size > ALEXDB_VALUE_SIZE_MAX) {
            free(ops);
            return bad_record(ctx, lsn, API_RECORD_BATCH, "bad operation");
        }
        ops[i] = (alex_op){.key = common_load_u64le(p + 1), .value = p + BATCH_OP_HEADER_SIZE,
                           .size = value_size, .is_delete = kind == API_OP_DELETE};
        p += BATCH_OP_HEADER_SIZE + value_size;
    }
    if (p != end) {
        free(ops);
        return bad_record(ctx, lsn, API_RECORD_BATCH, "operations do not fill the record");
    }
    *ops_out = ops;
    *count_out = count;
    return ALEXDB_OK;
}

/*
 * Sorts the window by key, keeping log order among equal keys (D4): an LSD radix sort, a
 * byte per pass, between w->ops and the scratch buffer (it is stable, so ties keep the
 * order they were added in). A pass whose byte is the same in every key moves nothing and
 * is skipped. No comparison calls, and at most 8 sequential passes over 24-byte items
 * instead of 16 levels of merging: in the replay's profile the sort fell from about 10 %
 * of the samples (qsort) to under 2 %.
 */
static int sort_window(replay_ctx *ctx, replay_window *w)
{
    size_t n = w->count;
    ALEXDB_ASSERT(n > 0);
    int rc = api_grow((void **)&ctx->sort_scratch, &ctx->sort_capacity, n, sizeof(replay_op));
    if (rc != ALEXDB_OK) return rc;
    static const uint32_t byte_count = 8;
    uint32_t counts[8][256];
    memset(counts, 0, sizeof(counts));
    for (size_t i = 0; i < n; i++) {
        uint64_t key = w->ops[i].key;
        for (uint32_t b = 0; b < byte_count; b++) counts[b][(key >> (8 * b)) & 0xFF]++;
    }
    replay_op *src = w->ops, *dst = ctx->sort_scratch;
    for (uint32_t b = 0; b < byte_count; b++) {
        uint32_t shift = 8 * b;
        if (counts[b][(src[0].key >> shift) & 0xFF] == n) continue; /* one value: no move */
        size_t offsets[256], sum = 0;
        for (uint32_t d = 0; d < 256; d++) {
            offsets[d] = sum;
            sum += counts[b][d];
        }
        for (size_t i = 0; i < n; i++) dst[offsets[(src[i].key >> shift) & 0xFF]++] = src[i];
        replay_op *t = src;
        src = dst;
        dst = t;
    }
    if (src != w->ops) { /* the sorted items are in the scratch buffer: trade buffers */
        size_t capacity = w->capacity;
        ctx->sort_scratch = w->ops;
        w->ops = src;
        w->capacity = ctx->sort_capacity;
        ctx->sort_capacity = capacity;
    }
    for (size_t i = 1; i < n; i++) {
        ALEXDB_ASSERT(w->ops[i - 1].key < w->ops[i].key ||
                      (w->ops[i - 1].key == w->ops[i].key && w->ops[i - 1].seq < w->ops[i].seq));
    }
    return ALEXDB_OK;
}

/*
 * Applies the sorted changes ops[0..n) of window w: as alex_ops (values in the arena) in
 * one alex_apply_sorted, which takes each leaf's run of changes under one pin and latch.
 * A cache full of changes (ALEXDB_FULL) forces a checkpoint at the LSN before the window,
 * and the rest goes on from where it stopped.
 */
static int apply_ops(replay_ctx *ctx, const replay_window *w, const replay_op *ops, size_t n)
{
    int rc = api_grow((void **)&ctx->apply_ops, &ctx->apply_capacity, n, sizeof(*ctx->apply_ops));
    if (rc != ALEXDB_OK) return rc;
    for (size_t i = 0; i < n; i++) {
        /* A window of deletes and empty values has no arena (NULL): no offset into it. */
        const uint8_t *value = ops[i].size > 0 ? w->arena + ops[i].value_offset : (const uint8_t *)"";
        ctx->apply_ops[i] = (alex_op){.key = ops[i].key, .value = value, .size = ops[i].size,
                                      .is_delete = ops[i].is_delete};
    }
    alex_index *index = ctx->db->index;
    size_t done = 0;
    for (uint32_t tries = 0;; tries++) {
        size_t applied = 0;
        rc = alex_apply_sorted(index, ctx->apply_ops + done, n - done, &applied);
        done += applied;
        if (applied > 0) tries = 0;
        if (rc != ALEXDB_FULL || tries + 1 >= API_WRITE_TRIES_MAX) break;
        rc = alex_persist(index, w->first_lsn - 1);
        if (rc != ALEXDB_OK) break;
    }
    ALEXDB_ASSERT(rc != ALEXDB_OK || done == n);
    return rc;
}

/* Changes per prefetch: as many as the cache can hold the leaves of (each change touches
 * at most one leaf), at least REPLAY_PREFETCH_OPS. */
static size_t prefetch_chunk(const replay_ctx *ctx)
{
    return COMMON_MAX((size_t)alex_prefetch_leaf_max(ctx->db->index), (size_t)REPLAY_PREFETCH_OPS);
}

/* Copies the keys of ops[0..n) into prefetch_keys; false if out of memory. */
static bool prefetch_keys_set(replay_ctx *ctx, const replay_op *ops, size_t n)
{
    if (api_grow((void **)&ctx->prefetch_keys, &ctx->prefetch_capacity, n,
                 sizeof(*ctx->prefetch_keys)) != ALEXDB_OK) {
        return false;
    }
    for (size_t i = 0; i < n; i++) ctx->prefetch_keys[i] = ops[i].key;
    ctx->prefetch_count = n;
    return true;
}

static void *prefetcher_main(void *arg)
{
    replay_ctx *ctx = arg;
    (void)alex_prefetch(ctx->db->index, ctx->prefetch_keys, ctx->prefetch_count); /* a hint */
    return NULL;
}

static void prefetcher_join(replay_ctx *ctx)
{
    if (!ctx->prefetching) return;
    pthread_join(ctx->prefetcher, NULL);
    ctx->prefetching = false;
}

/* Applies the pending window in key order, chunk by chunk after their prefetch (the
 * first by the prefetcher), checkpoints if due, and empties it. */
static int apply_pending(replay_ctx *ctx)
{
    replay_window *w = ctx->pending;
    if (w == NULL) return ALEXDB_OK;
    prefetcher_join(ctx);
    ctx->pending = NULL;
    size_t chunk = prefetch_chunk(ctx);
    int rc = ALEXDB_OK;
    for (size_t done = 0; done < w->count && rc == ALEXDB_OK;) {
        size_t n = COMMON_MIN(w->count - done, chunk);
        if (done > 0 && prefetch_keys_set(ctx, w->ops + done, n)) {
            (void)alex_prefetch(ctx->db->index, ctx->prefetch_keys, n); /* the apply reports errors */
        }
        rc = apply_ops(ctx, w, w->ops + done, n);
        done += n;
    }
    if (rc == ALEXDB_OK && alex_needs_checkpoint(ctx->db->index)) rc = alex_persist(ctx->db->index, w->last_lsn);
    w->count = 0;
    w->arena_used = 0;
    w->first_lsn = 0;
    return rc;
}

/*
 * The filling window is complete (full, or the log's end): the window before it is
 * applied, this one is sorted and becomes the pending one, its first chunk of leaves is
 * prefetched by a thread while the next window fills, and the other window fills next.
 */
static int window_done(replay_ctx *ctx)
{
    int rc = apply_pending(ctx);
    replay_window *w = ctx->filling;
    if (rc != ALEXDB_OK || w->count == 0) return rc;
    rc = sort_window(ctx, w);
    if (rc != ALEXDB_OK) return rc;
    ctx->pending = w;
    ctx->filling = w == &ctx->windows[0] ? &ctx->windows[1] : &ctx->windows[0];
    if (prefetch_keys_set(ctx, w->ops, COMMON_MIN(w->count, prefetch_chunk(ctx)))) {
        if (ctx->db->manual_background) (void)prefetcher_main(ctx); /* no thread: in order */
        else ctx->prefetching = pthread_create(&ctx->prefetcher, NULL, prefetcher_main, ctx) == 0;
    }
    return ALEXDB_OK;
}

/* Adds one change to the filling window, copying its value. */
static int window_add(replay_ctx *ctx, uint64_t key, const uint8_t *value, size_t size, bool is_delete)
{
    replay_window *w = ctx->filling;
    ALEXDB_ASSERT(w->count < UINT32_MAX); /* a window is bounded by its bytes and one record */
    int rc = api_grow((void **)&w->ops, &w->capacity, w->count + 1, sizeof(replay_op));
    if (rc == ALEXDB_OK) rc = api_grow((void **)&w->arena, &w->arena_capacity, w->arena_used + size, 1);
    if (rc != ALEXDB_OK) return rc;
    if (size > 0) memcpy(w->arena + w->arena_used, value, size);
    w->ops[w->count] = (replay_op){.key = key, .seq = (uint32_t)w->count,
                                   .value_offset = (uint32_t)w->arena_used, .size = (uint32_t)size,
                                   .is_delete = is_delete};
    w->count++;
    w->arena_used += size;
    return ALEXDB_OK;
}

/* Checks and decodes one record into the window; applies the window when it is full. */
static int replay_one(void *arg, uint64_t lsn, uint8_t type, const uint8_t *payload, uint32_t size)
{
    replay_ctx *ctx = arg;
    if (ctx->db->options.read_only) {
        return common_error(ALEXDB_READONLY, "%s: the log holds changes after the last checkpoint "
                            "(from record %" PRIu64 "): the database was not closed cleanly; "
                            "open it read-write once to recover", ctx->dir, lsn);
    }
    if (ctx->filling->first_lsn == 0) ctx->filling->first_lsn = lsn;
    ctx->filling->last_lsn = lsn;
    int rc = ALEXDB_OK;
    switch (type) {
    case API_RECORD_PUT:
        if (size < 8) return bad_record(ctx, lsn, type, "shorter than its key");
        if (size - 8 > ALEXDB_VALUE_SIZE_MAX) return bad_record(ctx, lsn, type, "value too large");
        rc = window_add(ctx, common_load_u64le(payload), payload + 8, size - 8, false);
        break;
    case API_RECORD_DELETE:
        if (size != 8) return bad_record(ctx, lsn, type, "not one key");
        rc = window_add(ctx, common_load_u64le(payload), NULL, 0, true);
        break;
    case API_RECORD_BATCH: {
        alex_op *ops = NULL;
        size_t count = 0;
        rc = decode_batch(ctx, lsn, payload, size, &ops, &count);
        for (size_t i = 0; i < count && rc == ALEXDB_OK; i++) {
            rc = window_add(ctx, ops[i].key, ops[i].value, ops[i].size, ops[i].is_delete);
        }
        free(ops);
        break;
    }
    default:
        return bad_record(ctx, lsn, type, "unknown record type");
    }
    if (rc == ALEXDB_OK && (ctx->filling->count >= REPLAY_WINDOW_OPS ||
                            ctx->filling->arena_used >= REPLAY_WINDOW_BYTES)) {
        rc = window_done(ctx);
    }
    return rc;
}

int api_log_open(alexdb *db, const char *dir, const pager_env *env)
{
    wal_config config = {
        .env = *env,
        .db_id = alex_db_id(db->index),
        .sync_interval_ms = db->options.sync_interval_ms,
        .manual_interval = db->manual_background,
        .salvage = db->options.log_salvage != 0,
        .read_only = db->options.read_only != 0,
    };
    replay_ctx ctx = {.db = db, .dir = dir};
    ctx.filling = &ctx.windows[0];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = wal_open(dir, &config, alex_checkpoint_lsn(db->index), replay_one, &ctx, &db->wal);
    if (rc == ALEXDB_OK) rc = window_done(&ctx); /* the last window */
    if (rc == ALEXDB_OK) rc = apply_pending(&ctx);
    prefetcher_join(&ctx); /* after a failure, the thread may still run */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    db->replay_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
    for (int i = 0; i < 2; i++) {
        free(ctx.windows[i].ops);
        free(ctx.windows[i].arena);
    }
    free(ctx.sort_scratch);
    free(ctx.apply_ops);
    free(ctx.prefetch_keys);
    return rc;
}
