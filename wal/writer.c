/*
 * writer.c: appending and group commit. wal_append encodes a record into the fill
 * buffer under one mutex and gives it the next LSN; it does no I/O (unless the buffer
 * is full). wal_sync_to makes a prefix of the log durable with leader/follower group
 * commit:
 *
 *   - durable_lsn >= lsn: return (no lock);
 *   - a leader is writing: sleep on a futex word bumped after every group, then look
 *     again, without the mutex (so a wake-up is not a convoy on it); a sleeper names
 *     the parity of the group its record is in (futex bitsets), so a group wakes only
 *     the committers it made durable, not those waiting for the next one;
 *   - else become the leader: swap the two buffers (appends go on into the other one),
 *     write what was taken, fdatasync, publish durable_lsn, wake the sleepers. While
 *     someone still waits for a later record, the leader goes straight on with the next
 *     group (at most WAL_LEADER_GROUP_COUNT_MAX in a row), so no hand-over sits between
 *     two groups.
 *
 * Every write is made durable before the next write starts (W5): one
 * pager_file_write_durable, on io_uring a single RWF_DSYNC write (one submission, one
 * wait). So a "group" is one write + one fdatasync of one segment, and each record
 * carries the first LSN of the group that first wrote it. Writes are whole 4 KiB
 * blocks at aligned offsets (O_DIRECT): the last partial block is carried into the next
 * buffer and rewritten with the same bytes in front of the new records (W4), so
 * tearing that rewrite at 512-byte sectors cannot damage a record already durable. Segments grow in
 * zero-filled chunks synced before use, so a group's fdatasync changes no metadata.
 *
 * A failed write or fdatasync (or a full disk while growing) is sticky (W8): every
 * later append and sync returns that error, and fdatasync is never retried.
 *
 * Entry points: wal_append, wal_sync_to, wal_last_lsn, wal_durable_lsn, wal_error,
 * wal_stats_get, wal_close; wal_writer_start / wal_writer_free for wal_open.
 * Invariants W1..W12 and the crash argument: wal/README.md.
 */
#include "wal_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

bool wal_test_skip_sync = false;

void wal_log(const wal *w, int level, const char *fmt, ...)
{
    if (w->config.env.log == NULL) return;
    char message[COMMON_ERRMSG_SIZE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    w->config.env.log(w->config.env.log_ctx, level, message);
}

static uint64_t round_up_block(uint64_t size)
{
    return (size + WAL_BLOCK_SIZE - 1) / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
}

/* ---- Buffers ----------------------------------------------------------------------- */

static int buffer_alloc(wal_buffer *b, size_t capacity)
{
    ALEXDB_ASSERT(capacity % WAL_BLOCK_SIZE == 0 && capacity > 0);
    uint8_t *data = NULL;
    if (posix_memalign((void **)&data, WAL_BLOCK_SIZE, capacity) != 0) {
        return common_error(ALEXDB_NOMEM, "wal: out of memory for a %zu-byte buffer", capacity);
    }
    memset(data, 0, capacity); /* W4 */
    b->data = data;
    b->capacity = capacity;
    return ALEXDB_OK;
}

/* Grows b for a record that does not fit an otherwise empty buffer; bytes are kept. */
static int buffer_grow(wal_buffer *b, size_t capacity)
{
    ALEXDB_ASSERT(capacity > b->capacity);
    wal_buffer grown = *b;
    int rc = buffer_alloc(&grown, capacity);
    if (rc != ALEXDB_OK) return rc;
    memcpy(grown.data, b->data, b->used);
    free(b->data);
    *b = grown;
    return ALEXDB_OK;
}

/* The leader is done with b: zero what it used (W4) and empty it. */
static void buffer_reset(wal_buffer *b)
{
    memset(b->data, 0, round_up_block(b->used));
    b->used = 0;
    b->run_count = 0;
    b->first_lsn = 0;
    b->last_lsn = 0;
    if (b->capacity > WAL_BUFFER_SIZE) {
        /* A big record grew it; give the memory back (keep the big one if that fails). */
        wal_buffer small = {0};
        if (buffer_alloc(&small, WAL_BUFFER_SIZE) == ALEXDB_OK) {
            free(b->data);
            b->data = small.data;
            b->capacity = small.capacity;
        }
    }
}

/*
 * Starts `to` (empty) where `from` ends: its last partial block is copied to the front
 * of `to` as a run of the same segment with no new records, so the next write of that
 * block repeats those bytes exactly (W4).
 */
static void carry_tail(const wal_buffer *from, wal_buffer *to)
{
    ALEXDB_ASSERT(to->used == 0 && to->run_count == 0);
    ALEXDB_ASSERT(from->run_count > 0);
    const wal_run *last = &from->runs[from->run_count - 1];
    uint64_t end = last->file_offset + last->size;
    size_t tail = (size_t)(end % WAL_BLOCK_SIZE);
    ALEXDB_ASSERT(tail <= last->size && last->file_offset % WAL_BLOCK_SIZE == 0);
    memcpy(to->data, from->data + last->buf_offset + last->size - tail, tail);
    to->runs[0] = (wal_run){.segment_first_lsn = last->segment_first_lsn,
                            .segment_size = last->segment_size,
                            .file_offset = end - tail,
                            .buf_offset = 0,
                            .size = tail};
    to->run_count = 1;
    to->used = tail;
}

/* ---- Appending ---------------------------------------------------------------------- */

enum { PLACE_OK = 0, PLACE_FULL = 1 };

/*
 * Makes room for the next record (framed_size bytes, LSN lsn) at the end of the fill
 * buffer: in its last run, or in a new run that starts a new segment (a record never
 * spans segments). Returns PLACE_OK, PLACE_FULL (write the buffer out first) or an
 * error. Under lock.
 */
static int place_record(wal *w, uint64_t framed_size, uint64_t lsn)
{
    wal_buffer *b = w->fill;
    wal_run *run = &b->runs[b->run_count - 1];
    uint64_t record_offset = run->file_offset + run->size;
    bool new_segment = record_offset > WAL_RECORDS_OFFSET &&
                       record_offset + framed_size > w->config.segment_size;
    size_t start = new_segment ? (size_t)round_up_block(b->used) : b->used;
    if (new_segment && b->run_count == WAL_RUN_COUNT_MAX) return PLACE_FULL;
    if (start + framed_size > b->capacity) {
        if (b->first_lsn != 0) return PLACE_FULL;
        /* Only the carried block is here: grow for this one record. */
        int rc = buffer_grow(b, (size_t)round_up_block(start + framed_size));
        if (rc != ALEXDB_OK) return rc;
    }
    if (new_segment) {
        b->used = start; /* the gap is zero (W4) */
        run = &b->runs[b->run_count++];
        *run = (wal_run){.segment_first_lsn = lsn,
                         .segment_size = w->config.segment_size,
                         .file_offset = WAL_RECORDS_OFFSET,
                         .buf_offset = start,
                         .new_segment = true};
        record_offset = WAL_RECORDS_OFFSET;
    }
    /* A record bigger than segment_size gets a segment sized for it. */
    run->segment_size = COMMON_MAX(run->segment_size, round_up_block(record_offset + framed_size));
    return PLACE_OK;
}

/* Encodes the record placed by place_record. Under lock. */
static uint64_t append_placed(wal *w, uint8_t type, const wal_part *parts, uint32_t part_count,
                              uint32_t payload_size, uint64_t framed_size)
{
    wal_buffer *b = w->fill;
    wal_run *run = &b->runs[b->run_count - 1];
    ALEXDB_ASSERT(b->used == run->buf_offset + run->size);
    ALEXDB_ASSERT(b->used + framed_size <= b->capacity);
    uint64_t lsn = atomic_load_explicit(&w->last_lsn, memory_order_relaxed) + 1;
    if (run->first_lsn == 0) run->first_lsn = lsn; /* the run is one group (W5) */
    wal_record_encode(b->data + b->used, lsn, run->first_lsn, type, parts, part_count, payload_size);
    run->size += framed_size;
    run->last_lsn = lsn;
    b->used += framed_size;
    if (b->first_lsn == 0) b->first_lsn = lsn;
    b->last_lsn = lsn;
    atomic_store_explicit(&w->last_lsn, lsn, memory_order_release); /* W1 */
    w->append_count++;
    w->append_bytes += framed_size;
    return lsn;
}

/* The sticky error with its first message (W8). Under lock. */
static int sticky_refusal(const wal *w)
{
    return common_error(atomic_load(&w->sticky_error),
                        "wal %s refuses writes after an earlier failure: %s", w->dir,
                        w->sticky_message);
}

static void lead_groups(wal *w);
static void wait_for_group(wal *w);

int wal_append(wal *w, uint8_t type, const wal_part *parts, uint32_t part_count,
               uint64_t *lsn_out)
{
    if (w == NULL || lsn_out == NULL || (parts == NULL && part_count > 0)) {
        return common_error(ALEXDB_INVALID, "wal_append: NULL argument");
    }
    if (type == 0) return common_error(ALEXDB_INVALID, "wal_append: record type 0 is reserved");
    if (w->config.read_only) return common_error(ALEXDB_READONLY, "wal %s is read-only", w->dir);
    uint64_t payload_size = 0;
    for (uint32_t i = 0; i < part_count; i++) {
        if (parts[i].data == NULL && parts[i].size > 0) {
            return common_error(ALEXDB_INVALID, "wal_append: part %u has no data", i);
        }
        if (parts[i].size > WAL_RECORD_SIZE_MAX - payload_size) { /* no wrap-around */
            return common_error(ALEXDB_TOOBIG, "wal_append: a record holds at most %u bytes",
                                WAL_RECORD_SIZE_MAX);
        }
        payload_size += parts[i].size;
    }
    uint64_t framed_size = wal_record_framed_size(payload_size);
    pthread_mutex_lock(&w->lock);
    int rc;
    /* Each pass places the record, or waits for or makes one group (W12: the buffer empties). */
    for (;;) {
        if (atomic_load(&w->sticky_error) != ALEXDB_OK) {
            rc = sticky_refusal(w);
            break;
        }
        uint64_t lsn = atomic_load_explicit(&w->last_lsn, memory_order_relaxed) + 1;
        rc = place_record(w, framed_size, lsn);
        if (rc == PLACE_OK) {
            *lsn_out = append_placed(w, type, parts, part_count, (uint32_t)payload_size, framed_size);
            break;
        }
        if (rc != PLACE_FULL) break;
        if (atomic_load(&w->leader_active)) {
            wait_for_group(w);
        } else {
            lead_groups(w);
            pthread_mutex_lock(&w->lock);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* ---- Group commit --------------------------------------------------------------------- */

/* Makes the run's segment the active one, creating it durably (W10). Leader only (W3). */
static int switch_segment(wal *w, const wal_run *run)
{
    uint64_t end = WAL_RECORDS_OFFSET + round_up_block(run->size);
    uint64_t prealloc_size = COMMON_MAX(
        end, COMMON_MIN(run->segment_size, WAL_RECORDS_OFFSET + (uint64_t)WAL_PREALLOC_CHUNK_SIZE));
    pager_file *file = NULL;
    int rc = wal_segment_create(&w->config.env, w->dir, w->config.db_id, run->segment_first_lsn,
                                run->segment_size, prealloc_size, &file);
    if (rc != ALEXDB_OK) return rc;
    atomic_fetch_add_explicit(&w->sync_count, 1, memory_order_relaxed);
    pthread_mutex_lock(&w->segments_lock);
    rc = wal_segment_list_push(&w->segments, run->segment_first_lsn);
    pthread_mutex_unlock(&w->segments_lock);
    if (rc != ALEXDB_OK) {
        pager_file_close(file);
        return rc;
    }
    pager_file_close(w->active_file);
    w->active_file = file;
    w->active_first_lsn = run->segment_first_lsn;
    w->active_prealloc_size = prealloc_size;
    return ALEXDB_OK;
}

/* Zero-fills the active segment past end before a write reaches there. Leader only (W3). */
static int ensure_preallocated(wal *w, uint64_t end, uint64_t segment_size)
{
    if (end <= w->active_prealloc_size) return ALEXDB_OK;
    uint64_t target = COMMON_MIN(w->active_prealloc_size + WAL_PREALLOC_CHUNK_SIZE,
                                 COMMON_MAX(segment_size, end));
    target = COMMON_MAX(target, end);
    int rc = wal_segment_preallocate(w->active_file, w->active_prealloc_size, target);
    if (rc != ALEXDB_OK) return rc;
    atomic_fetch_add_explicit(&w->sync_count, 1, memory_order_relaxed);
    w->active_prealloc_size = target;
    return ALEXDB_OK;
}

/* One group: one write of the run's blocks, then its fdatasync (W5). Leader only (W3). */
static int write_run(wal *w, const wal_buffer *b, const wal_run *run)
{
    int rc = ALEXDB_OK;
    if (run->new_segment) rc = switch_segment(w, run);
    if (rc != ALEXDB_OK) return rc;
    ALEXDB_ASSERT(run->segment_first_lsn == w->active_first_lsn);
    uint64_t size = round_up_block(run->size);
    rc = ensure_preallocated(w, run->file_offset + size, run->segment_size);
    if (rc != ALEXDB_OK) return rc;
    pager_io_req req = {.buf = b->data + run->buf_offset, .offset = run->file_offset,
                        .size = (uint32_t)size, .op = PAGER_IO_WRITE};
    if (wal_test_skip_sync) {
        rc = pager_file_rw(w->active_file, &req, 1);
    } else {
        /* Write and fdatasync in one round trip where the backend can; never retried (W8). */
        rc = pager_file_write_durable(w->active_file, &req);
        if (rc == ALEXDB_OK) atomic_fetch_add_explicit(&w->sync_count, 1, memory_order_relaxed);
    }
    if (rc != ALEXDB_OK) return rc;
    atomic_fetch_add_explicit(&w->group_count, 1, memory_order_relaxed);
    return ALEXDB_OK;
}

/* ---- Waking (W6) ------------------------------------------------------------------ */

#define WAKE_ALL 3u                   /* both parity bits */
#define INFLIGHT_PARITY_SHIFT 63u
#define INFLIGHT_LSN_MASK ((UINT64_C(1) << INFLIGHT_PARITY_SHIFT) - 1)

static void futex_wait_bits(_Atomic uint32_t *word, uint32_t expected, uint32_t bits)
{
    syscall(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, expected, NULL, NULL, bits);
}

static void futex_wake_bits(_Atomic uint32_t *word, int count, uint32_t bits)
{
    syscall(SYS_futex, word, FUTEX_WAKE_BITSET_PRIVATE, count, NULL, NULL, bits);
}

/*
 * After a group of a parity in bits (WAKE_ALL after leader_active changed): bump the
 * word, and for each such parity with sleepers wake one of them as the herald, who
 * wakes the rest of that parity (W6). Waking a crowd costs the waker a system call per
 * sleeper and, on few cores, being preempted by them: that is off the leader's path
 * this way, so the next group starts at once. Committers waiting for the group after
 * this one sleep on the other parity and stay asleep. A sleeper counts itself before it
 * sleeps on the value it read, so either it sees the new value (no sleep) or this sees
 * it counted; every counted sleeper runs the herald check of its parities on its way
 * out, so the job is never lost.
 */
static void wake_sleepers(wal *w, uint32_t bits)
{
    atomic_fetch_add(&w->wake_seq, 1);
    for (uint32_t parity = 0; parity < 2; parity++) {
        if ((bits & (1u << parity)) && atomic_load(&w->sleeper_counts[parity]) > 0) {
            atomic_store(&w->herald_pending[parity], true);
            futex_wake_bits(&w->wake_seq, 1, 1u << parity);
        }
    }
}

/*
 * Yields the CPU until the word moves past seq or WAL_YIELD_NS have passed; true if it
 * moved. A futex sleep costs the sleeper little, but its wake-up is slow on a virtual
 * machine whose idle CPUs halt: the waker's system call, the host waking the halted
 * CPU, and the same again for the leader when its write completes. A yielding committer
 * keeps its CPU busy with whoever else is runnable (committers appending, the leader
 * woken by its completion) and usually sees its group published on a later turn, with
 * no futex call on either side (README "Yielding before sleeping").
 */
static bool yield_past(const wal *w, uint32_t seq)
{
    uint64_t start = common_now_ns();
    while (atomic_load(&w->wake_seq) == seq) {
        if (common_now_ns() - start >= WAL_YIELD_NS) return false;
        sched_yield();
    }
    return true;
}

/*
 * Returns once the word has moved past seq (read before the caller checked its
 * condition): after yielding, or woken by a group of a parity in bits. A return after
 * yielding may be for a group the caller does not wait for; the caller looks again.
 */
static void sleep_past(wal *w, uint32_t seq, uint32_t bits)
{
    ALEXDB_ASSERT(bits != 0 && (bits & ~WAKE_ALL) == 0);
    if (yield_past(w, seq)) return;
    for (uint32_t parity = 0; parity < 2; parity++) {
        if (bits & (1u << parity)) atomic_fetch_add(&w->sleeper_counts[parity], 1);
    }
    futex_wait_bits(&w->wake_seq, seq, bits);
    for (uint32_t parity = 0; parity < 2; parity++) {
        if (!(bits & (1u << parity))) continue;
        atomic_fetch_sub(&w->sleeper_counts[parity], 1);
        if (atomic_load(&w->herald_pending[parity]) &&
            atomic_exchange(&w->herald_pending[parity], false)) {
            futex_wake_bits(&w->wake_seq, INT_MAX, 1u << parity);
        }
    }
}

/* Waits for the active leader's next group, whichever it is. Called and returns with lock held. */
static void wait_for_group(wal *w)
{
    uint32_t seq = atomic_load(&w->wake_seq);
    pthread_mutex_unlock(&w->lock);
    sleep_past(w, seq, WAKE_ALL);
    pthread_mutex_lock(&w->lock);
}

/*
 * The leader's turn (W3): takes the fill buffer, writes and syncs it with the lock
 * released, publishes durable_lsn, wakes the sleepers; goes on with the next group
 * while a committer waits for a record not yet durable (bounded). Called with lock held
 * and no leader active; returns with lock released.
 */
static void lead_groups(wal *w)
{
    ALEXDB_ASSERT(!atomic_load(&w->leader_active));
    atomic_store(&w->leader_active, true);
    bool wake_pending = false;
    for (uint32_t group = 0;; group++) {
        wal_buffer *b = w->fill;
        ALEXDB_ASSERT(b->first_lsn != 0 && b->last_lsn == atomic_load(&w->last_lsn));
        wal_buffer *next = b == &w->buffers[0] ? &w->buffers[1] : &w->buffers[0];
        carry_tail(b, next);
        w->fill = next;
        uint32_t parity = (uint32_t)(w->group_seq++ & 1u);
        /* After the previous group's durable_lsn: a sleeper that sees this sees that (W6). */
        atomic_store(&w->inflight, (uint64_t)parity << INFLIGHT_PARITY_SHIFT | b->last_lsn);
        pthread_mutex_unlock(&w->lock);
        /* The previous group's committers go back to work while this one is written. */
        if (wake_pending) wake_sleepers(w, 1u << (parity ^ 1u));

        int rc = ALEXDB_OK;
        for (uint32_t i = 0; i < b->run_count && rc == ALEXDB_OK; i++) {
            if (b->runs[i].first_lsn != 0) rc = write_run(w, b, &b->runs[i]);
        }
        char message[COMMON_ERRMSG_SIZE_MAX] = "";
        if (rc != ALEXDB_OK) snprintf(message, sizeof(message), "%s", common_errmsg());
        uint64_t last_lsn = b->last_lsn;
        buffer_reset(b);

        pthread_mutex_lock(&w->lock);
        if (rc == ALEXDB_OK) {
            ALEXDB_ASSERT(last_lsn > atomic_load(&w->durable_lsn)); /* W2 */
            atomic_store_explicit(&w->durable_lsn, last_lsn, memory_order_release);
        } else if (atomic_load(&w->sticky_error) == ALEXDB_OK) {
            snprintf(w->sticky_message, sizeof(w->sticky_message), "%s", message);
            atomic_store(&w->sticky_error, rc); /* W8 */
            wal_log(w, PAGER_LOG_WARN, "alexdb: wal %s: %s; the log refuses further writes",
                    w->dir, message);
        }
        bool more = rc == ALEXDB_OK && group + 1 < WAL_LEADER_GROUP_COUNT_MAX &&
                    atomic_load(&w->wait_lsn_max) > last_lsn && w->fill->first_lsn != 0;
        if (!more) {
            atomic_store(&w->leader_active, false);
            pthread_mutex_unlock(&w->lock);
            wake_sleepers(w, WAKE_ALL); /* whoever waits for more must come and lead */
            return;
        }
        wake_pending = true;
    }
}

/* Raises wait_lsn_max to lsn: the leader goes on while someone waits past durable_lsn. */
static void note_waiting(wal *w, uint64_t lsn)
{
    uint64_t seen = atomic_load(&w->wait_lsn_max);
    while (seen < lsn && !atomic_compare_exchange_weak(&w->wait_lsn_max, &seen, lsn)) {
    }
}

/* wal_sync_to's body; counted says whether it counts as a commit in the stats. */
static int sync_to(wal *w, uint64_t lsn, bool counted)
{
    lsn = COMMON_MIN(lsn, atomic_load_explicit(&w->last_lsn, memory_order_acquire));
    if (atomic_load_explicit(&w->durable_lsn, memory_order_acquire) >= lsn) return ALEXDB_OK;
    if (counted) atomic_fetch_add_explicit(&w->commit_count, 1, memory_order_relaxed);
    note_waiting(w, lsn);
    /*
     * Each pass sleeps through, or makes, at least one group; durable_lsn only grows
     * (W2). The word is read first: whatever a group publishes after that read wakes us.
     */
    for (;;) {
        uint32_t seq = atomic_load(&w->wake_seq);
        uint64_t inflight = atomic_load(&w->inflight);
        if (atomic_load(&w->durable_lsn) >= lsn) return ALEXDB_OK;
        if (atomic_load(&w->sticky_error) != ALEXDB_OK || !atomic_load(&w->leader_active)) {
            pthread_mutex_lock(&w->lock);
            if (atomic_load(&w->durable_lsn) >= lsn) {
                pthread_mutex_unlock(&w->lock);
                return ALEXDB_OK;
            }
            if (atomic_load(&w->sticky_error) != ALEXDB_OK) {
                int rc = sticky_refusal(w);
                pthread_mutex_unlock(&w->lock);
                return rc;
            }
            if (atomic_load(&w->leader_active)) pthread_mutex_unlock(&w->lock);
            else lead_groups(w); /* unlocks */
            continue;
        }
        /*
         * durable_lsn, read after inflight, covers every group before the one inflight
         * names: lsn is in that group if it is not past its end, else in a later one,
         * and the group after it wakes us at least to look again (W6).
         */
        uint32_t parity = (uint32_t)(inflight >> INFLIGHT_PARITY_SHIFT);
        if (lsn > (inflight & INFLIGHT_LSN_MASK)) parity ^= 1u;
        sleep_past(w, seq, 1u << parity);
    }
}

int wal_sync_to(wal *w, uint64_t lsn)
{
    if (w == NULL) return common_error(ALEXDB_INVALID, "wal_sync_to: NULL log");
    return sync_to(w, lsn, true);
}

uint64_t wal_last_lsn(wal *w)
{
    ALEXDB_ASSERT(w != NULL);
    return atomic_load_explicit(&w->last_lsn, memory_order_acquire);
}

uint64_t wal_durable_lsn(wal *w)
{
    ALEXDB_ASSERT(w != NULL);
    return atomic_load_explicit(&w->durable_lsn, memory_order_acquire);
}

int wal_error(wal *w)
{
    ALEXDB_ASSERT(w != NULL);
    return atomic_load(&w->sticky_error);
}

void wal_stats_get(wal *w, wal_stats *stats_out)
{
    ALEXDB_ASSERT(w != NULL && stats_out != NULL);
    memset(stats_out, 0, sizeof(*stats_out));
    pthread_mutex_lock(&w->lock);
    stats_out->append_count = w->append_count;
    stats_out->append_bytes = w->append_bytes;
    stats_out->replay_count = w->replay_count;
    stats_out->replay_bytes = w->replay_bytes;
    pthread_mutex_unlock(&w->lock);
    stats_out->commit_count = atomic_load_explicit(&w->commit_count, memory_order_relaxed);
    stats_out->sync_count = atomic_load_explicit(&w->sync_count, memory_order_relaxed);
    stats_out->group_count = atomic_load_explicit(&w->group_count, memory_order_relaxed);
    pthread_mutex_lock(&w->segments_lock);
    stats_out->segment_count = w->segments.count;
    pthread_mutex_unlock(&w->segments_lock);
}

/* ---- The sync thread ---------------------------------------------------------------- */

int wal_sync_tick(wal *w)
{
    ALEXDB_ASSERT(w != NULL);
    pthread_mutex_lock(&w->lock);
    uint64_t target = atomic_load(&w->last_lsn);
    bool due = atomic_load(&w->sticky_error) == ALEXDB_OK && atomic_load(&w->durable_lsn) < target;
    pthread_mutex_unlock(&w->lock);
    return due ? sync_to(w, target, false) : ALEXDB_OK;
}

/* Every sync_interval_ms, makes the appends nobody waited for durable. */
static void *sync_thread_main(void *arg)
{
    wal *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        uint64_t ns = (uint64_t)deadline.tv_nsec + (uint64_t)w->config.sync_interval_ms * 1000000u;
        deadline.tv_sec += (time_t)(ns / 1000000000u);
        deadline.tv_nsec = (long)(ns % 1000000000u);
        int wait_rc = 0;
        while (!w->stopping && wait_rc != ETIMEDOUT) {
            wait_rc = pthread_cond_timedwait(&w->stop_cond, &w->lock, &deadline);
        }
        if (w->stopping) break;
        pthread_mutex_unlock(&w->lock);
        int rc = wal_sync_tick(w);
        (void)rc; /* a failure is sticky; callers will see it */
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* ---- Start and stop --------------------------------------------------------------------- */

static int start_sync_thread(wal *w)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) return common_error(ALEXDB_NOMEM, "wal: condattr");
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int err = pthread_cond_init(&w->stop_cond, &attr);
    pthread_condattr_destroy(&attr);
    if (err != 0) return common_error(ALEXDB_NOMEM, "wal: cannot create a condition variable");
    err = pthread_create(&w->sync_thread, NULL, sync_thread_main, w);
    if (err != 0) {
        pthread_cond_destroy(&w->stop_cond);
        return common_error(ALEXDB_NOMEM, "wal: cannot start the sync thread: %s", strerror(err));
    }
    w->sync_thread_running = true;
    return ALEXDB_OK;
}

int wal_writer_start(wal *w, wal_start *start)
{
    ALEXDB_ASSERT(start->next_lsn >= 1 && start->file != NULL);
    ALEXDB_ASSERT(start->end_offset >= WAL_RECORDS_OFFSET);
    ALEXDB_ASSERT(start->end_offset <= start->prealloc_size || start->prealloc_size == 0);
    int rc = buffer_alloc(&w->buffers[0], WAL_BUFFER_SIZE);
    if (rc == ALEXDB_OK) rc = buffer_alloc(&w->buffers[1], WAL_BUFFER_SIZE);
    if (rc != ALEXDB_OK) return rc;
    atomic_store(&w->last_lsn, start->next_lsn - 1);
    atomic_store(&w->durable_lsn, start->next_lsn - 1);
    /* inflight names "group 0" (even, ended at LSN 0): the first group is odd (W6). */
    atomic_store(&w->inflight, 0);
    w->group_seq = 1;
    w->active_file = start->file;
    start->file = NULL;
    w->active_first_lsn = start->segment_first_lsn;
    w->active_prealloc_size = start->prealloc_size / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
    wal_buffer *b = &w->buffers[0];
    size_t tail = (size_t)(start->end_offset % WAL_BLOCK_SIZE);
    memcpy(b->data, start->tail, tail);
    b->runs[0] = (wal_run){.segment_first_lsn = start->segment_first_lsn,
                           .segment_size = w->config.segment_size,
                           .file_offset = start->end_offset - tail,
                           .buf_offset = 0,
                           .size = tail};
    b->run_count = 1;
    b->used = tail;
    w->fill = b;
    if (w->config.sync_interval_ms > 0 && !w->config.manual_interval) rc = start_sync_thread(w);
    return rc;
}

void wal_writer_free(wal *w)
{
    ALEXDB_ASSERT(!w->sync_thread_running);
    pager_file_close(w->active_file);
    w->active_file = NULL;
    free(w->buffers[0].data);
    free(w->buffers[1].data);
    memset(w->buffers, 0, sizeof(w->buffers));
    w->fill = NULL;
}

int wal_close(wal *w)
{
    if (w == NULL) return ALEXDB_OK;
    if (w->sync_thread_running) {
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->stop_cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->sync_thread, NULL);
        pthread_cond_destroy(&w->stop_cond);
        w->sync_thread_running = false;
    }
    int rc = ALEXDB_OK;
    if (!w->config.read_only && w->fill != NULL) {
        rc = sync_to(w, UINT64_MAX, false);
    }
    wal_destroy(w);
    return rc;
}

void wal_destroy(wal *w)
{
    wal_writer_free(w);
    wal_segment_list_free(&w->segments);
    pthread_mutex_destroy(&w->segments_lock);
    pthread_mutex_destroy(&w->lock);
    free(w->dir);
    free(w);
}
