/*
 * workload.c: the random workload. thread_count threads share one handle; thread t
 * owns the keys whose index is t modulo thread_count, so each key has one writer and
 * its expected state is exact while the handle is live (C2). Each thread draws:
 *
 *   48% put  (a new version; size 0 B .. 1 MiB, util.c)
 *   12% delete (of a present key; of an absent one it must say ALEXDB_NOTFOUND)
 *   12% batch of 2..8 of its keys, puts and deletes, one atomic commit
 *   13% get  (must return the newest acknowledged version: checked live)
 *    5% scan of up to 32 keys (order, keys of the workload, its own keys' values)
 *    7% alexdb_sync (sync 0 handles; a put otherwise)
 *  0.5% alexdb_checkpoint
 *
 * Every write is recorded as pending before it is issued and in the key's history with
 * its place in the acknowledgement order after it returns (C1, C2). A thread stops at
 * its first failed write: that write stays pending, so verification accepts it all
 * there or not at all (C7).
 *
 * Seeded schedule (README "Schedules"): the threads take turns, one operation per turn,
 * the next turn drawn from the workload's seed among the threads still running; one
 * turn in eight also takes the handle's background step. The handle is manual (no
 * thread of its own), so every I/O follows from the seed.
 */
#include "crashtest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct worker {
    ct_workload *w;
    uint32_t thread;
    uint32_t owned_count;
    common_rng rng;
    uint8_t *buf;
    alexdb_batch *batch;
} worker;

static uint32_t pick_index(worker *k)
{
    return k->thread + k->w->thread_count * (uint32_t)common_rng_below(&k->rng, k->owned_count);
}

static bool tolerated(const worker *k, int rc)
{
    bool may_fail = k->w->tolerate_read_errors || (k->w->fault != NULL && pager_fault_is_cut(k->w->fault));
    return may_fail && (rc == ALEXDB_IO || rc == ALEXDB_CORRUPT || rc == ALEXDB_NOMEM);
}

/* alexdb_sync, then every op acknowledged before it started is durable (C3). */
static int do_sync(worker *k)
{
    ct_header *hdr = k->w->exp->hdr;
    uint64_t covered = atomic_load(&hdr->ack_counter);
    int rc = alexdb_sync(k->w->db);
    if (rc != ALEXDB_OK) return rc;
    uint64_t old = atomic_load(&hdr->durable_ack);
    while (old < covered && !atomic_compare_exchange_weak(&hdr->durable_ack, &old, covered)) {
    }
    return ALEXDB_OK;
}

/* C2: the oldest visible op of a key is durable, so a sync first if appending would hide it. */
static int ensure_room(worker *k, uint32_t index)
{
    const ct_key *key = &k->w->exp->keys[index];
    uint64_t n = key->hist_next;
    if (n < CT_HISTORY - 1) return ALEXDB_OK;
    const ct_op *oldest_after = &key->hist[(n + 2 - CT_HISTORY) % CT_HISTORY];
    if (ct_op_durable(k->w->exp, oldest_after)) return ALEXDB_OK;
    return do_sync(k);
}

static ct_op new_op(worker *k, uint32_t index, bool del, uint64_t start_seq, uint64_t batch_id)
{
    ct_key *key = &k->w->exp->keys[index];
    uint32_t version = ++key->next_version; /* in the file before the op: never reused */
    ct_op op = {.version = version, .flags = CT_OP_VALID | (del ? CT_OP_DELETE : 0u),
                .start_seq = start_seq, .batch_id = batch_id};
    ct_pending_begin(k->w->exp, index, &op);
    return op;
}

/* C1: one place in the acknowledgement order for the whole operation. */
static void record_ack(worker *k, const uint32_t *indexes, ct_op *ops, uint32_t count)
{
    ct_expected *exp = k->w->exp;
    uint64_t ack = atomic_fetch_add(&exp->hdr->ack_counter, 1);
    for (uint32_t i = 0; i < count; i++) {
        ops[i].ack_seq = ack;
        if (k->w->sync) ops[i].flags |= CT_OP_SYNCED;
        ct_history_append(exp, indexes[i], &ops[i]);
        ct_pending_clear(exp, indexes[i]);
    }
    atomic_fetch_add(&exp->hdr->acked_count, 1);
}

static int do_put(worker *k, uint32_t index)
{
    int rc = ensure_room(k, index);
    if (rc != ALEXDB_OK) return rc;
    ct_op op = new_op(k, index, false, atomic_load(&k->w->exp->hdr->ack_counter), 0);
    uint64_t key = ct_key_of(k->w->exp, index);
    size_t size = ct_value_size(key, op.version);
    ct_value_fill(key, op.version, k->buf, size);
    rc = alexdb_put(k->w->db, key, k->buf, size);
    if (rc == ALEXDB_OK) record_ack(k, &index, &op, 1);
    return rc;
}

static int do_delete(worker *k, uint32_t index)
{
    ct_expected *exp = k->w->exp;
    uint64_t key = ct_key_of(exp, index);
    ct_op newest = ct_history_newest(exp, index);
    if (newest.flags & CT_OP_DELETE) {
        int rc = alexdb_delete(k->w->db, key);
        if (rc == ALEXDB_OK) ct_live_problem(exp, "delete of absent key %#" PRIx64 " returned OK", key);
        return rc == ALEXDB_NOTFOUND ? ALEXDB_OK : rc;
    }
    int rc = ensure_room(k, index);
    if (rc != ALEXDB_OK) return rc;
    ct_op op = new_op(k, index, true, atomic_load(&exp->hdr->ack_counter), 0);
    rc = alexdb_delete(k->w->db, key);
    if (rc == ALEXDB_OK) record_ack(k, &index, &op, 1);
    if (rc == ALEXDB_NOTFOUND) {
        ct_live_problem(exp, "delete of key %#" PRIx64 " (version %u present) said NOTFOUND", key,
                        newest.version);
    }
    return rc;
}

static int do_batch(worker *k)
{
    ct_expected *exp = k->w->exp;
    uint32_t want = 2 + (uint32_t)common_rng_below(&k->rng, CT_BATCH_COUNT_MAX - 1);
    uint32_t indexes[CT_BATCH_COUNT_MAX];
    ct_op ops[CT_BATCH_COUNT_MAX];
    uint32_t count = 0;
    for (uint32_t i = 0; i < want; i++) {
        uint32_t index = pick_index(k);
        bool dup = false;
        for (uint32_t j = 0; j < count; j++) dup |= indexes[j] == index;
        if (!dup) indexes[count++] = index;
    }
    for (uint32_t i = 0; i < count; i++) {
        int rc = ensure_room(k, indexes[i]);
        if (rc != ALEXDB_OK) return rc;
    }
    uint64_t start = atomic_load(&exp->hdr->ack_counter);
    uint64_t batch_id = atomic_fetch_add(&exp->hdr->batch_counter, 1) + 1;
    alexdb_batch_clear(k->batch);
    for (uint32_t i = 0; i < count; i++) {
        ct_op newest = ct_history_newest(exp, indexes[i]);
        bool del = !(newest.flags & CT_OP_DELETE) && common_rng_below(&k->rng, 4) == 0;
        ops[i] = new_op(k, indexes[i], del, start, batch_id);
        uint64_t key = ct_key_of(exp, indexes[i]);
        int rc;
        if (del) {
            rc = alexdb_batch_delete(k->batch, key);
        } else {
            size_t size = ct_value_size(key, ops[i].version);
            ct_value_fill(key, ops[i].version, k->buf, size);
            rc = alexdb_batch_put(k->batch, key, k->buf, size);
        }
        ALEXDB_ASSERT(rc == ALEXDB_OK || rc == ALEXDB_NOMEM);
        if (rc != ALEXDB_OK) return rc;
    }
    int rc = alexdb_batch_commit(k->w->db, k->batch);
    if (rc == ALEXDB_OK) record_ack(k, indexes, ops, count);
    return rc;
}

/* The newest acknowledged version of an owned key, read back on the live handle. */
static void do_get(worker *k, uint32_t index)
{
    ct_expected *exp = k->w->exp;
    uint64_t key = ct_key_of(exp, index);
    ct_op newest = ct_history_newest(exp, index);
    size_t size = 0;
    int rc = alexdb_get(k->w->db, key, k->buf, CT_VALUE_SIZE_MAX, &size);
    if (tolerated(k, rc)) return;
    if (newest.flags & CT_OP_DELETE) {
        if (rc != ALEXDB_NOTFOUND) ct_live_problem(exp, "live get of deleted key %#" PRIx64 ": %s", key, alexdb_strerror(rc));
    } else if (rc != ALEXDB_OK) {
        ct_live_problem(exp, "live get of key %#" PRIx64 " (version %u): %s", key, newest.version,
                        alexdb_strerror(rc));
    } else if (!ct_value_equal(key, newest.version, k->buf, size)) {
        ct_live_problem(exp, "live get of key %#" PRIx64 ": not version %u (size %zu)", key,
                        newest.version, size);
    }
}

static void scan_check_key(worker *k, alexdb_iter *it, uint64_t key)
{
    ct_expected *exp = k->w->exp;
    int64_t index = ct_index_of(exp, key);
    if (index < 0) {
        ct_live_problem(exp, "live scan: key %#" PRIx64 " was never written", key);
        return;
    }
    if ((uint32_t)index % k->w->thread_count != k->thread) return; /* another thread's */
    ct_op newest = ct_history_newest(exp, (uint32_t)index);
    const void *value = NULL;
    size_t size = 0;
    alexdb_iter_value(it, &value, &size);
    if (newest.flags & CT_OP_DELETE) {
        ct_live_problem(exp, "live scan: deleted key %#" PRIx64 " is there", key);
    } else if (value == NULL && size == 0 && alexdb_iter_status(it) != ALEXDB_OK) {
        if (!tolerated(k, alexdb_iter_status(it))) ct_live_problem(exp, "live scan: value read failed");
    } else if (!ct_value_equal(key, newest.version, value, size)) {
        ct_live_problem(exp, "live scan: key %#" PRIx64 " is not version %u", key, newest.version);
    }
}

static void do_scan(worker *k)
{
    ct_expected *exp = k->w->exp;
    alexdb_iter *it = NULL;
    int rc = alexdb_iter_open(k->w->db, &it);
    if (rc != ALEXDB_OK) {
        if (!tolerated(k, rc)) ct_live_problem(exp, "live scan: iter_open: %s", alexdb_strerror(rc));
        return;
    }
    alexdb_iter_seek(it, ct_key_of(exp, pick_index(k)));
    uint64_t prev = 0;
    for (uint32_t i = 0; i < 32 && alexdb_iter_valid(it); i++) {
        uint64_t key = alexdb_iter_key(it);
        if (i > 0 && key <= prev) ct_live_problem(exp, "live scan: key %#" PRIx64 " after %#" PRIx64, key, prev);
        prev = key;
        scan_check_key(k, it, key);
        alexdb_iter_next(it);
    }
    rc = alexdb_iter_status(it);
    if (rc != ALEXDB_OK && !tolerated(k, rc)) ct_live_problem(exp, "live scan: %s", alexdb_strerror(rc));
    if (alexdb_iter_close(it) != ALEXDB_OK) ct_live_problem(exp, "live scan: iter_close failed");
}

static int one_op(worker *k)
{
    uint64_t r = common_rng_below(&k->rng, 1000);
    if (r < 480) return do_put(k, pick_index(k));
    if (r < 600) return do_delete(k, pick_index(k));
    if (r < 720) return do_batch(k);
    if (r < 850) {
        do_get(k, pick_index(k));
        return ALEXDB_OK;
    }
    if (r < 900) {
        do_scan(k);
        return ALEXDB_OK;
    }
    if (r < 970) return k->w->sync ? do_put(k, pick_index(k)) : do_sync(k);
    if (r < 975) return alexdb_checkpoint(k->w->db);
    return do_put(k, pick_index(k));
}

/* ---- The seeded schedule ------------------------------------------------------------ */

/* Waits for this thread's turn. */
static void turn_wait(worker *k)
{
    ct_workload *w = k->w;
    pthread_mutex_lock(&w->turn_lock);
    while (w->turn != k->thread) pthread_cond_wait(&w->turn_cond, &w->turn_lock);
    pthread_mutex_unlock(&w->turn_lock);
}

/* Draws the next turn among the running threads (done: this one stops running). */
static void turn_pass(ct_workload *w, uint32_t thread, bool done)
{
    pthread_mutex_lock(&w->turn_lock);
    if (done) w->running &= ~(1u << thread);
    w->turn = CT_TURN_NONE;
    if (w->running != 0) {
        uint64_t pick = common_rng_below(&w->turn_rng, (uint64_t)__builtin_popcount(w->running));
        for (uint32_t t = 0; t < w->thread_count; t++) {
            if ((w->running & (1u << t)) && pick-- == 0) {
                w->turn = t;
                break;
            }
        }
    }
    pthread_cond_broadcast(&w->turn_cond);
    pthread_mutex_unlock(&w->turn_lock);
}

static void *worker_main(void *arg)
{
    worker *k = arg;
    ct_workload *w = k->w;
    for (uint64_t n = 0;; n++) {
        if (w->seeded) turn_wait(k);
        bool done = atomic_load(&w->stop) || (w->op_budget != 0 && n >= w->op_budget);
        int rc = done ? ALEXDB_OK : one_op(k);
        /* Where the checkpointer and the log's sync thread would have acted (api/README.md). */
        if (!done && w->seeded && common_rng_below(&w->turn_rng, 8) == 0) {
            int step_rc = api_background_step(w->db);
            (void)step_rc; /* as in the threads: a failure is sticky, the writes report it */
        }
        if (rc != ALEXDB_OK) {
            atomic_fetch_add(&w->write_errors, 1);
            int zero = 0;
            (void)atomic_compare_exchange_strong(&w->first_error, &zero, rc);
            done = true; /* its pending op stays as it is (C7) */
        }
        if (w->seeded) turn_pass(w, k->thread, done);
        if (done) break;
    }
    return NULL;
}

int ct_workload_run(ct_workload *w)
{
    uint32_t key_count = w->exp->hdr->key_count;
    ALEXDB_ASSERT(w->thread_count >= 1 && w->thread_count <= CT_THREAD_COUNT_MAX);
    ALEXDB_ASSERT(key_count >= w->thread_count * 16);
    worker workers[CT_THREAD_COUNT_MAX];
    pthread_t threads[CT_THREAD_COUNT_MAX];
    uint32_t started = 0;
    int rc = ALEXDB_OK;
    if (w->seeded) {
        pthread_mutex_init(&w->turn_lock, NULL);
        pthread_cond_init(&w->turn_cond, NULL);
        common_rng_seed(&w->turn_rng, ct_mix(w->seed ^ 0x7E4Du));
        w->running = (1u << w->thread_count) - 1u;
        w->turn = (uint32_t)common_rng_below(&w->turn_rng, w->thread_count);
    }
    for (uint32_t t = 0; t < w->thread_count; t++) {
        worker *k = &workers[t];
        memset(k, 0, sizeof(*k));
        k->w = w;
        k->thread = t;
        k->owned_count = (key_count - t + w->thread_count - 1) / w->thread_count;
        common_rng_seed(&k->rng, ct_mix(w->seed + t));
        k->buf = malloc(CT_VALUE_SIZE_MAX);
        if (k->buf == NULL || alexdb_batch_create(&k->batch) != ALEXDB_OK) {
            free(k->buf);
            rc = ALEXDB_NOMEM;
            break;
        }
        if (pthread_create(&threads[t], NULL, worker_main, k) != 0) {
            free(k->buf);
            alexdb_batch_destroy(k->batch);
            rc = ALEXDB_NOMEM;
            break;
        }
        started++;
    }
    if (rc != ALEXDB_OK) {
        atomic_store(&w->stop, 1);
        /* Threads never started never take their turn: they are done. */
        for (uint32_t t = started; w->seeded && t < w->thread_count; t++) {
            pthread_mutex_lock(&w->turn_lock);
            w->running &= ~(1u << t);
            bool theirs = w->turn == t;
            pthread_mutex_unlock(&w->turn_lock);
            if (theirs) turn_pass(w, t, true);
        }
    }
    for (uint32_t t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
        free(workers[t].buf);
        alexdb_batch_destroy(workers[t].batch);
    }
    if (w->seeded) {
        pthread_cond_destroy(&w->turn_cond);
        pthread_mutex_destroy(&w->turn_lock);
    }
    return rc;
}
