/*
 * batch.c: write batches. A batch is a growable list of operations whose values are
 * copied into one arena; commit logs the list as one record and hands it to alex_apply,
 * which applies it under the exclusive tree lock after reserving every page it could
 * need (alex/README A4), through api_write (write.c).
 */
#include "api_int.h"

#include <stdlib.h>

typedef struct batch_op {
    uint64_t key;
    size_t value_offset; /* into the arena */
    size_t size;
    bool is_delete;
} batch_op;

struct alexdb_batch {
    batch_op *ops;
    size_t count;
    size_t capacity;
    uint8_t *arena;
    size_t arena_used;
    size_t arena_capacity;
};

int alexdb_batch_create(alexdb_batch **batch_out)
{
    if (batch_out == NULL) return common_error(ALEXDB_INVALID, "alexdb_batch_create: NULL output");
    *batch_out = calloc(1, sizeof(**batch_out));
    return *batch_out != NULL ? ALEXDB_OK : common_error(ALEXDB_NOMEM, "batch: out of memory");
}

int api_grow(void **buf, size_t *capacity, size_t needed, size_t unit)
{
    if (needed <= *capacity) return ALEXDB_OK;
    size_t next = COMMON_MAX(*capacity * 2, (size_t)64);
    while (next < needed) next *= 2;
    void *p = realloc(*buf, next * unit);
    if (p == NULL) return common_error(ALEXDB_NOMEM, "out of memory for %zu items of %zu bytes", next, unit);
    *buf = p;
    *capacity = next;
    return ALEXDB_OK;
}

static int add(alexdb_batch *batch, uint64_t key, const void *value, size_t size, bool is_delete)
{
    int rc = api_grow((void **)&batch->ops, &batch->capacity, batch->count + 1, sizeof(batch_op));
    if (rc == ALEXDB_OK) rc = api_grow((void **)&batch->arena, &batch->arena_capacity,
                                   batch->arena_used + size, 1);
    if (rc != ALEXDB_OK) return rc;
    if (size > 0) memcpy(batch->arena + batch->arena_used, value, size);
    batch->ops[batch->count++] = (batch_op){.key = key, .value_offset = batch->arena_used,
                                            .size = size, .is_delete = is_delete};
    batch->arena_used += size;
    return ALEXDB_OK;
}

int alexdb_batch_put(alexdb_batch *batch, uint64_t key, const void *value, size_t value_size)
{
    if (batch == NULL || (value == NULL && value_size > 0)) {
        return common_error(ALEXDB_INVALID, "alexdb_batch_put: NULL batch or value");
    }
    if (value_size > ALEXDB_VALUE_SIZE_MAX) {
        return common_error(ALEXDB_TOOBIG, "alexdb_batch_put: value of %zu bytes", value_size);
    }
    return add(batch, key, value, value_size, false);
}

int alexdb_batch_delete(alexdb_batch *batch, uint64_t key)
{
    if (batch == NULL) return common_error(ALEXDB_INVALID, "alexdb_batch_delete: NULL batch");
    return add(batch, key, NULL, 0, true);
}

size_t alexdb_batch_count(const alexdb_batch *batch)
{
    return batch != NULL ? batch->count : 0;
}

void alexdb_batch_clear(alexdb_batch *batch)
{
    if (batch == NULL) return;
    batch->count = 0;
    batch->arena_used = 0;
}

void alexdb_batch_destroy(alexdb_batch *batch)
{
    if (batch == NULL) return;
    free(batch->ops);
    free(batch->arena);
    free(batch);
}

int alexdb_batch_commit(alexdb *db, const alexdb_batch *batch)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_batch_commit");
    if (rc != ALEXDB_OK) return rc;
    if (batch == NULL) return common_error(ALEXDB_INVALID, "alexdb_batch_commit: NULL batch");
    if (batch->count == 0) return ALEXDB_OK;
    alex_op *ops = malloc(batch->count * sizeof(*ops));
    if (ops == NULL) return common_error(ALEXDB_NOMEM, "batch: out of memory");
    for (size_t i = 0; i < batch->count; i++) {
        const batch_op *op = &batch->ops[i];
        /* No arena yet when every value so far was empty. */
        ops[i] = (alex_op){.key = op->key, .value = op->size > 0 ? batch->arena + op->value_offset : NULL,
                           .size = op->size, .is_delete = op->is_delete};
    }
    /* Room first: a group that runs out of frames half-way fails the handle (alex A9). */
    if (alex_needs_checkpoint(db->index)) rc = api_checkpoint(db);
    if (rc == ALEXDB_OK) rc = api_write(db, &(api_change){.type = API_RECORD_BATCH, .ops = ops, .count = batch->count});
    free(ops);
    return rc;
}
