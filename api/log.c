/*
 * log.c: what alexdb's changes look like in the write-ahead log, and recovery at open.
 *
 * A change is one log record (docs/FORMAT.md 9.4): a put {key, value}, a delete {key},
 * or a whole batch {count, operations} as one record, so a batch is in the log entirely
 * or not at all (wal W-invariants: a record is intact or not there). api_log_encode()
 * turns a change into record parts without copying a put's value; api_log_open() opens
 * the log and replays every record after the index's checkpoint LSN through the same
 * alex_* calls the write path uses. Replay is idempotent per record (a put overwrites,
 * a delete of an absent key is nothing), so records the checkpoint already holds could
 * be replayed again without harm; in fact only later ones are.
 *
 * Adding a record type? Also: enum api_record_type (api_int.h), replay_one() here,
 * docs/FORMAT.md 9.4.
 */
#include "api_int.h"

#include <inttypes.h>
#include <stdlib.h>

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

typedef struct replay_ctx {
    alexdb *db;
    const char *dir;
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

static int apply_record(const replay_ctx *ctx, uint64_t lsn, uint8_t type, const uint8_t *payload,
                        uint32_t size, const alex_op *ops, size_t count)
{
    alex_index *index = ctx->db->index;
    switch (type) {
    case API_RECORD_PUT:
        if (size < 8) return bad_record(ctx, lsn, type, "shorter than its key");
        if (size - 8 > ALEXDB_VALUE_SIZE_MAX) return bad_record(ctx, lsn, type, "value too large");
        return alex_put(index, common_load_u64le(payload), payload + 8, size - 8);
    case API_RECORD_DELETE: {
        if (size != 8) return bad_record(ctx, lsn, type, "not one key");
        int rc = alex_delete(index, common_load_u64le(payload));
        return rc == ALEXDB_NOTFOUND ? ALEXDB_OK : rc;
    }
    case API_RECORD_BATCH:
        return count > 0 ? alex_apply(index, ops, count) : ALEXDB_OK;
    default:
        return bad_record(ctx, lsn, type, "unknown record type");
    }
}

/*
 * Replays one record. Replayed changes fill the cache like any others, so replay takes
 * checkpoints as the write path does: when due (at this record's LSN, after applying
 * it) and when a change finds the cache full (at the LSN before it, then again).
 */
static int replay_one(void *arg, uint64_t lsn, uint8_t type, const uint8_t *payload, uint32_t size)
{
    const replay_ctx *ctx = arg;
    alex_index *index = ctx->db->index;
    if (ctx->db->options.read_only) {
        return common_error(ALEXDB_READONLY, "%s: the log holds changes after the last checkpoint "
                            "(from record %" PRIu64 "): the database was not closed cleanly; "
                            "open it read-write once to recover", ctx->dir, lsn);
    }
    alex_op *ops = NULL;
    size_t count = 0;
    int rc = type == API_RECORD_BATCH ? decode_batch(ctx, lsn, payload, size, &ops, &count) : ALEXDB_OK;
    if (rc == ALEXDB_OK && type == API_RECORD_BATCH && count > 0 && alex_needs_checkpoint(index)) {
        rc = alex_persist(index, lsn - 1); /* room first: alex A9 */
    }
    for (uint32_t tries = 0; rc == ALEXDB_OK; tries++) {
        rc = apply_record(ctx, lsn, type, payload, size, ops, count);
        if (rc != ALEXDB_FULL || tries + 1 >= API_WRITE_TRIES_MAX) break;
        rc = alex_persist(index, lsn - 1);
    }
    if (rc == ALEXDB_OK && alex_needs_checkpoint(index)) rc = alex_persist(index, lsn);
    free(ops);
    return rc;
}

int api_log_open(alexdb *db, const char *dir, const pager_env *env)
{
    wal_config config = {
        .env = *env,
        .db_id = alex_db_id(db->index),
        .sync_interval_ms = db->options.sync_interval_ms,
        .salvage = db->options.log_salvage != 0,
        .read_only = db->options.read_only != 0,
    };
    replay_ctx ctx = {.db = db, .dir = dir};
    return wal_open(dir, &config, alex_checkpoint_lsn(db->index), replay_one, &ctx, &db->wal);
}
