/*
 * iter.c: the public iterator over an alex cursor. The fixed API reports positioning
 * errors through alexdb_iter_valid() = 0 plus alexdb_iter_status(), as RocksDB's
 * iterators do; a value read on demand (over 1 KiB) that fails sets the status too.
 */
#include "api_int.h"

#include <stdlib.h>

struct alexdb_iter {
    alexdb *db;
    alex_cursor *cursor;
    int status;
    bool valid; /* status is ALEXDB_OK and the cursor stands on an entry: one load per call */
};

int alexdb_iter_open(alexdb *db, alexdb_iter **iter_out)
{
    common_errmsg_clear();
    int rc = api_db_check(db, "alexdb_iter_open");
    if (rc != ALEXDB_OK) return rc;
    if (iter_out == NULL) return common_error(ALEXDB_INVALID, "alexdb_iter_open: NULL output");
    alexdb_iter *it = calloc(1, sizeof(*it));
    if (it == NULL) return common_error(ALEXDB_NOMEM, "iterator: out of memory");
    rc = alex_cursor_open(db->index, &it->cursor);
    if (rc != ALEXDB_OK) {
        free(it);
        return rc;
    }
    it->db = db;
    atomic_fetch_add(&db->iter_count, 1);
    *iter_out = it;
    return ALEXDB_OK;
}

void alexdb_iter_seek(alexdb_iter *it, uint64_t key)
{
    if (it == NULL) return;
    it->status = api_db_check(it->db, "alexdb_iter_seek");
    if (it->status == ALEXDB_OK) it->status = alex_cursor_seek(it->cursor, key);
    it->valid = it->status == ALEXDB_OK && alex_cursor_valid(it->cursor);
}

static inline bool on_entry(const alexdb_iter *it)
{
    return it != NULL && it->valid;
}

int alexdb_iter_valid(const alexdb_iter *it)
{
    return on_entry(it);
}

/* A cursor call failed: the iterator stops, and says why (RocksDB's way). */
static void stop(alexdb_iter *it, int status)
{
    it->status = status;
    it->valid = false;
}

void alexdb_iter_next(alexdb_iter *it)
{
    if (!on_entry(it)) return;
    int rc = alex_cursor_next(it->cursor); /* status was ALEXDB_OK: valid says so */
    if (rc != ALEXDB_OK) stop(it, rc);
    else it->valid = alex_cursor_valid(it->cursor);
}

uint64_t alexdb_iter_key(const alexdb_iter *it)
{
    return on_entry(it) ? alex_cursor_key(it->cursor) : 0;
}

/* alexdb_iter_value with an output left NULL, or off an entry: what the caller asked for. */
__attribute__((noinline)) static void value_partly(alexdb_iter *it, const void **value_out,
                                                   size_t *value_size_out)
{
    const void *data = NULL;
    size_t size = 0;
    if (on_entry(it)) {
        int rc = alex_cursor_value(it->cursor, &data, &size);
        if (rc != ALEXDB_OK) {
            stop(it, rc);
            data = NULL;
            size = 0;
        }
    }
    if (value_out != NULL) *value_out = data;
    if (value_size_out != NULL) *value_size_out = size;
}

void alexdb_iter_value(const alexdb_iter *cit, const void **value_out, size_t *value_size_out)
{
    alexdb_iter *it = (alexdb_iter *)cit; /* reading on demand fills the cursor's buffer */
    if (COMMON_UNLIKELY(!on_entry(it) || value_out == NULL || value_size_out == NULL)) {
        value_partly(it, value_out, value_size_out);
        return;
    }
    int rc = alex_cursor_value(it->cursor, value_out, value_size_out);
    if (COMMON_LIKELY(rc == ALEXDB_OK)) return;
    stop(it, rc);
    *value_out = NULL;
    *value_size_out = 0;
}

int alexdb_iter_status(const alexdb_iter *it)
{
    return it == NULL ? ALEXDB_INVALID : it->status;
}

int alexdb_iter_close(alexdb_iter *it)
{
    if (it == NULL) return common_error(ALEXDB_INVALID, "alexdb_iter_close: NULL iterator");
    atomic_fetch_sub(&it->db->iter_count, 1);
    alex_cursor_close(it->cursor);
    free(it);
    return ALEXDB_OK;
}
