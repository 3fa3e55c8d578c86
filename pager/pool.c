/*
 * pool.c: the buffer pool's frames, page table and eviction, and pinning.
 *
 * HOW IT WORKS
 * Frames are 4 KiB slots in one block of memory from libnuma (interleaved or local;
 * plain mmap where numa_available() < 0). A page table maps page numbers to frames:
 * a power-of-two array of chain heads, chains threaded through the frames, guarded by
 * PAGER_STRIPE_COUNT striped mutexes. A pin takes the stripe lock, finds the frame,
 * raises pin_count and releases the lock: a hit costs one uncontended mutex.
 *
 * A miss claims a frame (free list first, then the clock), inserts it in state
 * READING, and the read goes out with every other miss of the same pager_pin_many()
 * in one submission. Threads that find a READING frame pin it and sleep on its state
 * (futex) until the reader publishes VALID or ERROR.
 *
 * Eviction is GCLOCK: each frame has a usage count 0..PAGER_USAGE_MAX, raised by
 * hits, lowered by the clock hand; the hand evicts an unpinned clean frame at 0 and
 * writes back a dirty one first. Pages read with PAGER_PIN_SCAN enter at 0 and are
 * never raised, and a scan's misses look for a victim at 0 before lowering anyone's
 * count, so a long scan recycles its own frames instead of wiping out the hot set
 * (README, "Eviction"). Invariants P1-P9: pager/README.md.
 */
#include "pager_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <numa.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SCAN_VICTIM_STEPS_MAX 2048u

static uint32_t bucket_of(const pager *p, uint64_t page_no)
{
    uint64_t x = page_no * 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(x >> 32) & p->bucket_mask;
}

static pthread_mutex_t *stripe_of(pager *p, uint32_t bucket)
{
    return &p->stripes[bucket % PAGER_STRIPE_COUNT];
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t expected)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* ---- page table (caller holds the stripe lock) ---- */

static pager_frame *table_find(pager *p, uint32_t bucket, uint64_t page_no)
{
    uint32_t steps = 0;
    for (uint32_t i = p->buckets[bucket]; i != PAGER_CHAIN_END; i = p->frames[i].chain_next) {
        ALEXDB_ASSERT(++steps <= p->frame_count); /* P3: chains are acyclic */
        if (atomic_load_explicit(&p->frames[i].page_no, memory_order_relaxed) == page_no) {
            return &p->frames[i];
        }
    }
    return NULL;
}

static void table_insert(pager *p, uint32_t bucket, pager_frame *f)
{
    f->chain_next = p->buckets[bucket];
    p->buckets[bucket] = f->index;
}

static void table_remove(pager *p, uint32_t bucket, pager_frame *f)
{
    uint32_t *link = &p->buckets[bucket];
    while (*link != f->index) {
        ALEXDB_ASSERT(*link != PAGER_CHAIN_END); /* P3: a frame in state READING/VALID is in the table */
        link = &p->frames[*link].chain_next;
    }
    *link = f->chain_next;
    f->chain_next = PAGER_CHAIN_END;
}

/* ---- free list ---- */

static pager_frame *free_pop(pager *p)
{
    pager_frame *f = NULL;
    pthread_mutex_lock(&p->free_lock);
    if (p->free_count > 0) f = &p->frames[p->free_stack[--p->free_count]];
    pthread_mutex_unlock(&p->free_lock);
    return f;
}

static void free_push(pager *p, pager_frame *f)
{
    ALEXDB_ASSERT(atomic_load(&f->pin_count) == 0);
    ALEXDB_ASSERT(atomic_load(&f->state) == PAGER_FRAME_FREE); /* P2 */
    pthread_mutex_lock(&p->free_lock);
    ALEXDB_ASSERT(p->free_count < p->frame_count);
    p->free_stack[p->free_count++] = f->index;
    pthread_mutex_unlock(&p->free_lock);
}

/* ---- init / destroy ---- */

static int frames_alloc(pager *p)
{
    size_t size = (size_t)p->frame_count * PAGER_PAGE_SIZE;
    p->frame_memory_size = size;
    if (numa_available() >= 0) {
        p->frame_memory = p->config.numa_local ? numa_alloc_local(size) : numa_alloc_interleaved(size);
        p->frame_memory_numa = 1;
    } else {
        void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        p->frame_memory = mem == MAP_FAILED ? NULL : mem;
        p->frame_memory_numa = 0;
    }
    if (p->frame_memory == NULL) {
        return common_error(ALEXDB_NOMEM, "buffer pool: cannot allocate %zu bytes", size);
    }
    /* Huge pages where the kernel allows them: the kernel pins every read's buffer for
     * DMA, and a 2 MiB mapping makes that (and checksumming) walk far fewer page
     * tables. Only advice: failure changes nothing. */
    (void)madvise(p->frame_memory, size, MADV_HUGEPAGE);
    ALEXDB_ASSERT((uintptr_t)p->frame_memory % PAGER_PAGE_SIZE == 0);
    return ALEXDB_OK;
}

int pager_pool_init(pager *p)
{
    ALEXDB_ASSERT(p->frame_count >= PAGER_CACHE_SIZE_MIN / PAGER_PAGE_SIZE);
    uint32_t bucket_count = PAGER_STRIPE_COUNT;
    while (bucket_count < p->frame_count) bucket_count *= 2;
    p->bucket_mask = bucket_count - 1;
    p->frames = calloc(p->frame_count, sizeof(*p->frames));
    p->buckets = malloc(bucket_count * sizeof(*p->buckets));
    p->free_stack = malloc(p->frame_count * sizeof(*p->free_stack));
    p->flush_frames = malloc(p->frame_count * sizeof(*p->flush_frames));
    if (posix_memalign((void **)&p->flush_staging, PAGER_PAGE_SIZE,
                       (size_t)PAGER_WRITE_RUN_PAGES_MAX * PAGER_PAGE_SIZE) != 0) {
        p->flush_staging = NULL;
    }
    if (p->frames == NULL || p->buckets == NULL || p->free_stack == NULL ||
        p->flush_frames == NULL || p->flush_staging == NULL) {
        return common_error(ALEXDB_NOMEM, "buffer pool: out of memory for %u frames", p->frame_count);
    }
    int rc = frames_alloc(p);
    if (rc != ALEXDB_OK) return rc;
    for (uint32_t i = 0; i < bucket_count; i++) p->buckets[i] = PAGER_CHAIN_END;
    for (uint32_t i = 0; i < PAGER_STRIPE_COUNT; i++) pthread_mutex_init(&p->stripes[i], NULL);
    pthread_mutex_init(&p->free_lock, NULL);
    for (uint32_t i = 0; i < p->frame_count; i++) {
        pager_frame *f = &p->frames[i];
        atomic_init(&f->page_no, PAGER_PAGE_NO_NONE);
        f->index = i;
        f->chain_next = PAGER_CHAIN_END;
        f->data = p->frame_memory + (size_t)i * PAGER_PAGE_SIZE;
        pthread_rwlock_init(&f->latch, NULL);
        p->free_stack[p->frame_count - 1 - i] = i;
    }
    p->free_count = p->frame_count;
    return ALEXDB_OK;
}

void pager_pool_destroy(pager *p)
{
    if (p->frames != NULL) {
        for (uint32_t i = 0; i < p->frame_count; i++) {
            ALEXDB_ASSERT(atomic_load(&p->frames[i].pin_count) == 0); /* P1 at close */
            pthread_rwlock_destroy(&p->frames[i].latch);
        }
    }
    if (p->frame_memory != NULL) {
        if (p->frame_memory_numa) numa_free(p->frame_memory, p->frame_memory_size);
        else munmap(p->frame_memory, p->frame_memory_size);
    }
    free(p->frames);
    free(p->buckets);
    free(p->free_stack);
    free(p->flush_frames);
    free(p->flush_staging);
}

/* ---- eviction ---- */

bool pager_pool_try_pin(pager *p, pager_frame *f, uint64_t page_no)
{
    if (page_no == PAGER_PAGE_NO_NONE) return false;
    pthread_mutex_t *lock = stripe_of(p, bucket_of(p, page_no));
    pthread_mutex_lock(lock);
    bool ok = atomic_load_explicit(&f->page_no, memory_order_relaxed) == page_no &&
              atomic_load(&f->state) == PAGER_FRAME_VALID;
    if (ok) atomic_fetch_add(&f->pin_count, 1);
    pthread_mutex_unlock(lock);
    return ok;
}

/* Takes f out of the table if it is unpinned, clean, VALID and cold. P4. */
static bool try_evict(pager *p, pager_frame *f)
{
    uint64_t page_no = atomic_load_explicit(&f->page_no, memory_order_relaxed);
    if (page_no == PAGER_PAGE_NO_NONE) return false;
    uint32_t bucket = bucket_of(p, page_no);
    pthread_mutex_lock(stripe_of(p, bucket));
    bool ok = atomic_load_explicit(&f->page_no, memory_order_relaxed) == page_no &&
              atomic_load(&f->pin_count) == 0 && atomic_load(&f->state) == PAGER_FRAME_VALID &&
              !atomic_load(&f->dirty) && atomic_load(&f->usage) == 0;
    if (ok) {
        table_remove(p, bucket, f);
        atomic_store_explicit(&f->page_no, PAGER_PAGE_NO_NONE, memory_order_relaxed);
        atomic_store(&f->state, PAGER_FRAME_FREE);
        atomic_store(&f->pin_count, 1);
    }
    pthread_mutex_unlock(stripe_of(p, bucket));
    return ok;
}

/* Writes back a dirty frame the clock found cold, so a later sweep can take it. */
static int clean_victim(pager *p, pager_frame *f)
{
    uint64_t page_no = atomic_load_explicit(&f->page_no, memory_order_relaxed);
    if (!pager_pool_try_pin(p, f, page_no)) return ALEXDB_OK;
    int rc = pager_writeback_frame(p, f);
    pager_unpin(p, f);
    return rc;
}

/*
 * One step of the clock at frame f. Returns 1 if f was taken, 0 to go on, or a
 * negative code if writing back a dirty victim failed.
 */
static int clock_step(pager *p, pager_frame *f, bool lower)
{
    if (atomic_load(&f->pin_count) != 0 || atomic_load(&f->state) != PAGER_FRAME_VALID) return 0;
    uint32_t usage = atomic_load(&f->usage);
    if (usage > 0) {
        if (lower) atomic_compare_exchange_weak(&f->usage, &usage, usage - 1);
        return 0;
    }
    if (atomic_load(&f->dirty)) {
        if (!lower) return 0;
        int rc = clean_victim(p, f);
        return rc == ALEXDB_OK ? 0 : rc;
    }
    return try_evict(p, f) ? 1 : 0;
}

/* Returns a frame the caller owns: out of the table, state FREE, pin_count 1. */
static int frame_acquire(pager *p, bool scan, pager_frame **frame_out)
{
    pager_frame *f = free_pop(p);
    if (f != NULL) {
        atomic_store(&f->pin_count, 1);
        *frame_out = f;
        return ALEXDB_OK;
    }
    uint64_t gentle_steps = scan ? COMMON_MIN(SCAN_VICTIM_STEPS_MAX, p->frame_count) : 0;
    uint64_t limit = gentle_steps + (uint64_t)p->frame_count * (PAGER_USAGE_MAX + 3);
    for (uint64_t step = 0; step < limit; step++) {
        uint64_t hand = atomic_fetch_add_explicit(&p->clock_hand, 1, memory_order_relaxed);
        f = &p->frames[hand % p->frame_count];
        int taken = clock_step(p, f, step >= gentle_steps);
        if (taken < 0) return taken;
        if (taken == 1) {
            atomic_fetch_add_explicit(&p->eviction_count, 1, memory_order_relaxed);
            *frame_out = f;
            return ALEXDB_OK;
        }
    }
    f = free_pop(p);
    if (f != NULL) {
        atomic_store(&f->pin_count, 1);
        *frame_out = f;
        return ALEXDB_OK;
    }
    return common_error(ALEXDB_FULL, "buffer pool of %u frames: every frame is pinned",
                        p->frame_count);
}

/* Returns a claimed frame that lost the race for its page to the free list. */
static void frame_release(pager *p, pager_frame *f)
{
    atomic_store(&f->pin_count, 0);
    free_push(p, f);
}

/* ---- pinning ---- */

static void pin_found(pager_frame *f, unsigned flags)
{
    atomic_fetch_add(&f->pin_count, 1);
    if (!(flags & PAGER_PIN_SCAN)) {
        uint32_t usage = atomic_load_explicit(&f->usage, memory_order_relaxed);
        if (usage < PAGER_USAGE_MAX) atomic_store_explicit(&f->usage, usage + 1, memory_order_relaxed);
    }
}

/*
 * Pins page_no if the table has it (any state, or only VALID with valid_only) and counts
 * a hit; NULL otherwise. Pinned under the stripe lock (P4).
 */
static pager_frame *pin_cached(pager *p, uint64_t page_no, unsigned flags, bool valid_only)
{
    uint32_t bucket = bucket_of(p, page_no);
    pthread_mutex_lock(stripe_of(p, bucket));
    pager_frame *f = table_find(p, bucket, page_no);
    if (f != NULL && valid_only && atomic_load(&f->state) != PAGER_FRAME_VALID) f = NULL;
    if (f != NULL) pin_found(f, flags);
    pthread_mutex_unlock(stripe_of(p, bucket));
    if (f != NULL) atomic_fetch_add_explicit(&p->hit_count, 1, memory_order_relaxed);
    return f;
}

/*
 * Pins page_no if it is in the table (hit: *claimed = false), else claims a frame for
 * it in state READING (*claimed = true); the caller then reads it.
 */
static int lookup_or_claim(pager *p, uint64_t page_no, unsigned flags, pager_frame **frame_out,
                           bool *claimed)
{
    *claimed = false;
    pager_frame *f = pin_cached(p, page_no, flags, false);
    if (f != NULL) {
        *frame_out = f;
        return ALEXDB_OK;
    }
    uint32_t bucket = bucket_of(p, page_no);
    pthread_mutex_t *lock = stripe_of(p, bucket);
    pager_frame *victim = NULL;
    int rc = frame_acquire(p, flags & PAGER_PIN_SCAN, &victim);
    if (rc != ALEXDB_OK) return rc;
    pthread_mutex_lock(lock);
    f = table_find(p, bucket, page_no);
    if (f != NULL) {
        pin_found(f, flags); /* another thread read it meanwhile */
    } else {
        f = victim;
        atomic_store_explicit(&f->page_no, page_no, memory_order_relaxed);
        atomic_store(&f->state, PAGER_FRAME_READING);
        atomic_store(&f->usage, 0); /* probation: a page earns usage by its next hit */
        atomic_store(&f->dirty, false);
        atomic_store(&f->lsn, 0);
        table_insert(p, bucket, f);
        *claimed = true;
    }
    pthread_mutex_unlock(lock);
    if (f != victim) frame_release(p, victim);
    atomic_fetch_add_explicit(*claimed ? &p->miss_count : &p->hit_count, 1, memory_order_relaxed);
    *frame_out = f;
    return ALEXDB_OK;
}

static void publish_state(pager_frame *f, uint32_t state)
{
    atomic_store(&f->state, state); /* seq_cst pairs with the waiter's flag (P6) */
    if (atomic_exchange(&f->waiters, 0) != 0) futex_wake_all(&f->state);
}

/* A read into a claimed frame failed: out of the table, ERROR, waiters told. */
static void frame_fail(pager *p, pager_frame *f, int rc)
{
    uint64_t page_no = atomic_load_explicit(&f->page_no, memory_order_relaxed);
    uint32_t bucket = bucket_of(p, page_no);
    pthread_mutex_lock(stripe_of(p, bucket));
    table_remove(p, bucket, f);
    f->error = rc;
    publish_state(f, PAGER_FRAME_ERROR);
    pthread_mutex_unlock(stripe_of(p, bucket));
}

static int wait_ready(pager_frame *f)
{
    uint32_t state;
    while ((state = atomic_load(&f->state)) == PAGER_FRAME_READING) {
        atomic_store(&f->waiters, 1);
        if (atomic_load(&f->state) != PAGER_FRAME_READING) break;
        futex_wait(&f->state, PAGER_FRAME_READING);
    }
    state = atomic_load(&f->state);
    if (state == PAGER_FRAME_VALID) return ALEXDB_OK;
    ALEXDB_ASSERT(state == PAGER_FRAME_ERROR); /* P2: a pinned frame is never FREE */
    return common_error(f->error, "page %" PRIu64 ": its read, made by another thread, failed (%s)",
                        atomic_load_explicit(&f->page_no, memory_order_relaxed),
                        alexdb_strerror(f->error));
}

/* A read in flight into a claimed frame (P7). */
typedef struct pending_read {
    pager *p;
    pager_frame *f;
    int rc;    /* the page check's verdict once done */
    bool done;
} pending_read;

/* on_done of a page read: verify and publish at once, while the batch is in flight. */
static void read_done(void *ctx)
{
    pending_read *r = ctx;
    uint64_t page_no = atomic_load_explicit(&r->f->page_no, memory_order_relaxed);
    const char *path = pager_file_path(r->p->file);
    r->rc = pager_page_check(path, r->f->data, page_no);
    if (r->rc == ALEXDB_OK && r->p->config.check_page != NULL) {
        r->rc = r->p->config.check_page(r->p->config.check_ctx, path, r->f->data, page_no);
    }
    r->done = true;
    if (r->rc == ALEXDB_OK) publish_state(r->f, PAGER_FRAME_VALID);
    else frame_fail(r->p, r->f, r->rc);
}

/* Reads the claimed frames in one batch; every one ends VALID or ERROR (P7). */
static int finish_reads(pager *p, pager_io_req *reqs, pending_read *reads, uint32_t count)
{
    if (count == 0) return ALEXDB_OK;
    for (uint32_t r = 0; r < count; r++) {
        reqs[r].on_done = read_done;
        reqs[r].ctx = &reads[r];
    }
    int rc = pager_file_rw(p->file, reqs, count);
    int first = ALEXDB_OK;
    for (uint32_t r = 0; r < count; r++) {
        if (!reads[r].done) {
            reads[r].rc = rc != ALEXDB_OK ? rc : ALEXDB_IO;
            frame_fail(p, reads[r].f, reads[r].rc);
        }
        if (first == ALEXDB_OK) first = reads[r].rc;
    }
    return first;
}

static int check_page_no(pager *p, uint64_t page_no)
{
    uint64_t count = atomic_load(&p->page_count);
    if (COMMON_LIKELY(page_no < count)) return ALEXDB_OK;
    return common_corrupt(pager_file_path(p->file), page_no * PAGER_PAGE_SIZE,
                          "page %" PRIu64 " is beyond the end of the file (%" PRIu64 " pages)",
                          page_no, count);
}

int pager_pin_many(pager *p, const uint64_t *page_nos, uint32_t count, unsigned flags,
                   pager_frame **frames_out)
{
    ALEXDB_ASSERT(p != NULL && page_nos != NULL && frames_out != NULL);
    if (count > PAGER_PIN_BATCH_MAX) {
        return common_error(ALEXDB_TOOBIG, "pager_pin_many: %u pages (at most %u)", count,
                            PAGER_PIN_BATCH_MAX);
    }
    pager_io_req reqs[PAGER_PIN_BATCH_MAX];
    pending_read claimed[PAGER_PIN_BATCH_MAX];
    bool is_mine[PAGER_PIN_BATCH_MAX];
    uint32_t claimed_count = 0;
    uint32_t pinned = 0;
    int rc = ALEXDB_OK;
    for (; pinned < count; pinned++) {
        rc = check_page_no(p, page_nos[pinned]);
        if (rc == ALEXDB_OK) {
            rc = lookup_or_claim(p, page_nos[pinned], flags, &frames_out[pinned], &is_mine[pinned]);
        }
        if (rc != ALEXDB_OK) break;
        if (is_mine[pinned]) {
            pager_frame *f = frames_out[pinned];
            reqs[claimed_count] = (pager_io_req){.buf = f->data, .size = PAGER_PAGE_SIZE,
                                                 .offset = page_nos[pinned] * PAGER_PAGE_SIZE,
                                                 .op = PAGER_IO_READ};
            claimed[claimed_count++] = (pending_read){.p = p, .f = f};
        }
    }
    /* Even after a failure above, the claimed reads go out: P7, nobody waits forever. */
    int read_rc = finish_reads(p, reqs, claimed, claimed_count);
    if (rc == ALEXDB_OK) rc = read_rc;
    for (uint32_t i = 0; i < pinned && rc == ALEXDB_OK; i++) {
        if (!is_mine[i]) rc = wait_ready(frames_out[i]);
    }
    if (rc != ALEXDB_OK) {
        for (uint32_t i = 0; i < pinned; i++) pager_unpin(p, frames_out[i]);
        for (uint32_t i = 0; i < count; i++) frames_out[i] = NULL;
    }
    return rc;
}

int pager_pin(pager *p, uint64_t page_no, unsigned flags, pager_frame **frame_out)
{
    ALEXDB_ASSERT(p != NULL && frame_out != NULL);
    /* The hit path on its own: no batch arrays (and their stack probes) for one page. */
    if (COMMON_LIKELY(page_no < atomic_load_explicit(&p->page_count, memory_order_relaxed))) {
        pager_frame *f = pin_cached(p, page_no, flags, true);
        if (f != NULL) {
            *frame_out = f;
            return ALEXDB_OK;
        }
    }
    return pager_pin_many(p, &page_no, 1, flags, frame_out);
}

int pager_pin_new(pager *p, uint64_t page_no, uint8_t kind, pager_frame **frame_out)
{
    ALEXDB_ASSERT(p != NULL && frame_out != NULL);
    if (page_no < 2 || page_no >= atomic_load(&p->page_count)) {
        return common_error(ALEXDB_INVALID, "pager_pin_new: page %" PRIu64 " is not allocated",
                            page_no);
    }
    pager_frame *victim = NULL;
    int rc = frame_acquire(p, false, &victim);
    if (rc != ALEXDB_OK) return rc;
    uint32_t bucket = bucket_of(p, page_no);
    pthread_mutex_lock(stripe_of(p, bucket));
    pager_frame *f = table_find(p, bucket, page_no);
    if (f != NULL && (atomic_load(&f->pin_count) != 0 || atomic_load(&f->state) != PAGER_FRAME_VALID)) {
        pthread_mutex_unlock(stripe_of(p, bucket));
        frame_release(p, victim);
        return common_error(ALEXDB_INVALID, "pager_pin_new: page %" PRIu64 " is in use", page_no);
    }
    if (f != NULL) {
        atomic_fetch_add(&f->pin_count, 1); /* a stale cached copy of a reused page */
    } else {
        f = victim;
        atomic_store_explicit(&f->page_no, page_no, memory_order_relaxed);
        atomic_store(&f->state, PAGER_FRAME_VALID);
        table_insert(p, bucket, f);
    }
    atomic_store(&f->usage, 1);
    atomic_store(&f->lsn, 0);
    pager_page_init(f->data, kind);
    atomic_store(&f->dirty, true);
    pthread_mutex_unlock(stripe_of(p, bucket));
    if (f != victim) frame_release(p, victim);
    *frame_out = f;
    return ALEXDB_OK;
}

void pager_unpin(pager *p, pager_frame *f)
{
    ALEXDB_ASSERT(p != NULL && f != NULL);
    uint32_t old = atomic_fetch_sub(&f->pin_count, 1);
    ALEXDB_ASSERT(old > 0); /* P1 */
    if (old == 1 && atomic_load(&f->state) == PAGER_FRAME_ERROR) {
        /* The last holder of a failed read's frame recycles it (P2). */
        atomic_store_explicit(&f->page_no, PAGER_PAGE_NO_NONE, memory_order_relaxed);
        atomic_store(&f->state, PAGER_FRAME_FREE);
        free_push(p, f);
    }
}

#define DISCARD_WAIT_ROUNDS_MAX 100000u

/* Drops f (pinned once, by the caller) from the table if no one else holds it. */
static bool drop_if_sole_holder(pager *p, pager_frame *f, uint64_t page_no)
{
    uint32_t bucket = bucket_of(p, page_no);
    pthread_mutex_lock(stripe_of(p, bucket));
    bool sole = atomic_load(&f->pin_count) == 1;
    if (sole) {
        table_remove(p, bucket, f);
        atomic_store_explicit(&f->page_no, PAGER_PAGE_NO_NONE, memory_order_relaxed);
        atomic_store(&f->state, PAGER_FRAME_FREE);
        atomic_store(&f->pin_count, 0);
    }
    pthread_mutex_unlock(stripe_of(p, bucket));
    if (sole) free_push(p, f);
    return sole;
}

void pager_discard(pager *p, uint64_t page_no)
{
    ALEXDB_ASSERT(p != NULL);
    uint32_t bucket = bucket_of(p, page_no);
    pthread_mutex_lock(stripe_of(p, bucket));
    pager_frame *f = table_find(p, bucket, page_no);
    bool found = f != NULL && atomic_load(&f->state) == PAGER_FRAME_VALID;
    if (found) atomic_fetch_add(&f->pin_count, 1);
    pthread_mutex_unlock(stripe_of(p, bucket));
    if (!found) return;
    /* The exclusive latch waits out an eviction write-back of this frame (P11). */
    pager_latch_exclusive(f);
    atomic_store(&f->dirty, false);
    pager_unlatch(f);
    /* Other holders of a freed page are transient (a write-back finishing its unpin). */
    for (uint32_t round = 0; !drop_if_sole_holder(p, f, page_no); round++) {
        ALEXDB_ASSERT(round < DISCARD_WAIT_ROUNDS_MAX); /* P11: nobody keeps a freed page pinned */
        sched_yield();
    }
}

uint8_t *pager_frame_data(pager_frame *f)
{
    ALEXDB_ASSERT(atomic_load_explicit(&f->pin_count, memory_order_relaxed) > 0); /* P1 */
    return f->data;
}

uint64_t pager_frame_page_no(const pager_frame *f)
{
    return atomic_load_explicit(&((pager_frame *)f)->page_no, memory_order_relaxed);
}

void pager_mark_dirty(pager *p, pager_frame *f, uint64_t lsn)
{
    (void)p;
    ALEXDB_ASSERT(atomic_load(&f->pin_count) > 0); /* P1 */
    ALEXDB_ASSERT(atomic_load(&f->state) == PAGER_FRAME_VALID);
    uint64_t cur = atomic_load(&f->lsn);
    while (cur < lsn && !atomic_compare_exchange_weak(&f->lsn, &cur, lsn)) {
    }
    atomic_store(&f->dirty, true);
}

void pager_latch_shared(pager_frame *f)
{
    ALEXDB_ASSERT(atomic_load(&f->pin_count) > 0); /* P5: latch only what you pinned */
    pthread_rwlock_rdlock(&f->latch);
}

void pager_latch_exclusive(pager_frame *f)
{
    ALEXDB_ASSERT(atomic_load(&f->pin_count) > 0); /* P5 */
    pthread_rwlock_wrlock(&f->latch);
}

void pager_unlatch(pager_frame *f)
{
    pthread_rwlock_unlock(&f->latch);
}
