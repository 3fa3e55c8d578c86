/*
 * write.c: the write path and checkpoints (api/README.md "Writes and durability").
 *
 * api_write(): a change is encoded first (no lock), then applied to the index and
 * appended to the log under write_lock, so LSN order is the order in which changes
 * reached the index; a change that fails is never logged. Then, with options.sync, the
 * caller waits in wal_sync_to() outside every lock, where concurrent committers share
 * one write and one fdatasync (wal/README.md, group commit).
 *
 * api_checkpoint(): under write_lock the checkpoint's content is taken (alex_persist_begin:
 * the dirty pages marked, copied later before their next change, and the encoded index,
 * no I/O) at wal_last_lsn(), so every
 * change up to that LSN is in it and none after; then, with readers and writers going
 * on, it is written (alex_persist_finish) and the log segments it covers are removed. The
 * checkpointer thread (or, on a manual handle, api_background_step) runs it when the cache is 3/4 full of changes
 * (pager P12: they can only leave the cache through a checkpoint) or when the log has
 * grown by API_CHECKPOINT_LOG_BYTES since the last one, which bounds recovery time.
 *
 * Any failure that leaves the index ahead of what the log made durable makes the
 * handle refuse writes (alex_fail), so no later checkpoint can write such a change.
 */
#include "api_int.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

int api_checkpoint(alexdb *db)
{
    pthread_mutex_lock(&db->checkpoint_lock);
    /* The content is fixed under write_lock (no I/O, no page copies); the writes run after. */
    pthread_mutex_lock(&db->write_lock);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t lsn = wal_last_lsn(db->wal);
    wal_stats log;
    wal_stats_get(db->wal, &log);
    alex_persist_job *job = NULL;
    int rc = alex_persist_begin(db->index, lsn, &job);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_mutex_unlock(&db->write_lock);
    /* How long writers (and, for the tree lock, readers) were held up. */
    uint64_t pause_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
    uint64_t seen = atomic_load(&db->checkpoint_pause_max_ns);
    while (seen < pause_ns && !atomic_compare_exchange_weak(&db->checkpoint_pause_max_ns, &seen, pause_ns)) {
    }
    if (rc == ALEXDB_OK) rc = alex_persist_finish(db->index, job);
    if (rc == ALEXDB_OK) {
        atomic_store(&db->checkpoint_log_bytes, log.append_bytes);
        atomic_fetch_add(&db->checkpoint_count, 1);
        rc = wal_release_before(db->wal, lsn);
    }
    if (rc != ALEXDB_OK && rc != ALEXDB_READONLY) alex_fail(db->index, rc);
    pthread_mutex_unlock(&db->checkpoint_lock);
    return rc;
}

int api_make_room(alexdb *db)
{
    if (db->options.read_only) return ALEXDB_FULL;
    return api_checkpoint(db);
}

static void want_checkpoint(alexdb *db)
{
    if (atomic_exchange(&db->checkpoint_wanted, true) || db->manual_background) return;
    pthread_mutex_lock(&db->checkpointer_lock);
    pthread_cond_signal(&db->checkpointer_cond);
    pthread_mutex_unlock(&db->checkpointer_lock);
}

static int apply(alexdb *db, const api_change *change)
{
    switch (change->type) {
    case API_RECORD_PUT: return alex_put(db->index, change->key, change->value, change->size);
    case API_RECORD_DELETE: return alex_delete(db->index, change->key);
    default: return alex_apply(db->index, change->ops, change->count);
    }
}

/*
 * Takes write_lock. If another writer holds it, a put or delete first reads its leaf,
 * outside the lock (D6), so that a cache miss is not taken while every other writer
 * waits; an error there comes again from apply. An uncontended writer takes the lock at
 * once: no one waits behind it, and the early read would cost it a second route and
 * read hold.
 */
static void write_lock_take(alexdb *db, const api_change *change)
{
    if (pthread_mutex_trylock(&db->write_lock) == 0) return;
    if (change->type != API_RECORD_BATCH) (void)alex_warm_leaf(db->index, change->key);
    pthread_mutex_lock(&db->write_lock);
}

int api_write(alexdb *db, const api_change *change)
{
    api_log_record record;
    int rc = api_log_encode(change, &record);
    if (rc != ALEXDB_OK) return rc;
    uint64_t lsn = 0;
    bool logged = false;
    for (uint32_t tries = 0;; tries++) {
        write_lock_take(db, change);
        rc = apply(db, change);
        if (rc == ALEXDB_OK) {
            rc = wal_append(db->wal, record.type, record.parts, record.part_count, &lsn);
            /* The index holds a change the log does not: no checkpoint may write it. */
            if (rc != ALEXDB_OK) alex_fail(db->index, rc);
            logged = rc == ALEXDB_OK;
        }
        pthread_mutex_unlock(&db->write_lock);
        if (rc != ALEXDB_FULL || tries + 1 >= API_WRITE_TRIES_MAX) break;
        rc = api_checkpoint(db); /* the cache is full of changes: make room, try again */
        if (rc != ALEXDB_OK) break;
    }
    api_log_record_free(&record);
    if (!logged) return rc;
    if (alex_needs_checkpoint(db->index)) want_checkpoint(db);
    if (db->options.sync) {
        rc = wal_sync_to(db->wal, lsn);
        if (rc != ALEXDB_OK) alex_fail(db->index, rc);
    }
    return rc;
}

/* ---- the checkpointer thread --------------------------------------------------------- */

static bool log_grown(alexdb *db)
{
    wal_stats log;
    wal_stats_get(db->wal, &log);
    return log.append_bytes - atomic_load(&db->checkpoint_log_bytes) >= API_CHECKPOINT_LOG_BYTES;
}

/* The checkpointer's decision: a checkpoint if one was asked for or is due. */
static int checkpoint_if_due(alexdb *db)
{
    bool wanted = atomic_exchange(&db->checkpoint_wanted, false);
    if (!wanted && !alex_needs_checkpoint(db->index) && !log_grown(db)) return ALEXDB_OK;
    return api_checkpoint(db);
}

static void *checkpointer_main(void *arg)
{
    alexdb *db = arg;
    bool failed = false;
    pthread_mutex_lock(&db->checkpointer_lock);
    while (!db->checkpointer_stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        uint64_t ns = (uint64_t)deadline.tv_nsec + API_CHECKPOINT_POLL_MS * 1000000ull;
        deadline.tv_sec += (time_t)(ns / 1000000000u);
        deadline.tv_nsec = (long)(ns % 1000000000u);
        if (!atomic_load(&db->checkpoint_wanted)) {
            pthread_cond_timedwait(&db->checkpointer_cond, &db->checkpointer_lock, &deadline);
        }
        if (db->checkpointer_stop) break;
        pthread_mutex_unlock(&db->checkpointer_lock);
        if (!failed) {
            int rc = checkpoint_if_due(db);
            /* The handle now refuses writes; its writers report why. */
            failed = rc != ALEXDB_OK;
            if (failed && db->options.log != NULL) {
                char message[COMMON_ERRMSG_SIZE_MAX + 64];
                snprintf(message, sizeof(message), "background checkpoint failed: %s", common_errmsg());
                db->options.log(db->options.log_ctx, 1, message);
            }
        }
        pthread_mutex_lock(&db->checkpointer_lock);
    }
    pthread_mutex_unlock(&db->checkpointer_lock);
    return NULL;
}

int api_background_step(alexdb *db)
{
    ALEXDB_ASSERT(db != NULL && !db->options.read_only);
    int rc = db->options.sync_interval_ms > 0 ? wal_sync_tick(db->wal) : ALEXDB_OK;
    int checkpoint_rc = checkpoint_if_due(db);
    return rc != ALEXDB_OK ? rc : checkpoint_rc;
}

int api_checkpointer_start(alexdb *db)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&db->checkpointer_cond, &attr);
    pthread_condattr_destroy(&attr);
    db->checkpointer_stop = false;
    int err = pthread_create(&db->checkpointer, NULL, checkpointer_main, db);
    if (err != 0) {
        pthread_cond_destroy(&db->checkpointer_cond);
        return common_error(err == EAGAIN ? ALEXDB_NOMEM : ALEXDB_IO,
                            "cannot start the checkpointer thread: %s", strerror(err));
    }
    db->checkpointer_running = true;
    return ALEXDB_OK;
}

void api_checkpointer_stop(alexdb *db)
{
    if (!db->checkpointer_running) return;
    pthread_mutex_lock(&db->checkpointer_lock);
    db->checkpointer_stop = true;
    pthread_cond_signal(&db->checkpointer_cond);
    pthread_mutex_unlock(&db->checkpointer_lock);
    pthread_join(db->checkpointer, NULL);
    pthread_cond_destroy(&db->checkpointer_cond);
    db->checkpointer_running = false;
}
