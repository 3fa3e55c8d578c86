/*
 * pool.c: the buffer pool's frames, page table and eviction, and pinning.
 *
 * HOW IT WORKS
 * Frames are 4 KiB slots in one block of memory aligned to 2 MiB and advised to use
 * huge pages (interleaved over NUMA nodes, or local). A page map sends page numbers to
 * frames: one u32 entry per page (frame index + 1), in 2 MiB chunks made on first use.
 * Entries change under PAGER_STRIPE_COUNT striped mutexes; a hit takes none: it reads
 * the entry, pins the frame with a compare-and-swap that a frame being evicted refuses,
 * and checks under the pin that the frame still holds the page (P4). So a warm lookup
 * touches one map entry, one 64-byte frame descriptor and the page.
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
 * (README, "Eviction"). Taking a frame's exclusive latch copies a page a checkpoint
 * marked PENDING into it first (P15). Invariants P1-P15: pager/README.md.
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
#define STALE_PIN_WAIT_ROUNDS_MAX 100000u

static pthread_mutex_t *stripe_of(pager *p, uint64_t page_no)
{
    uint64_t x = page_no * 0x9e3779b97f4a7c15ULL;
    return &p->stripes[(x >> 32) % PAGER_STRIPE_COUNT];
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t expected)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void *huge_alloc(size_t size, bool numa, bool numa_local);

/* ---- the page map (changes under the page's stripe lock, P3) ---- */

/* The map entry of page_no, or NULL if its chunk was never made. Lock-free. */
static _Atomic uint32_t *map_entry(pager *p, uint64_t page_no)
{
    ALEXDB_ASSERT(page_no < PAGER_PAGE_COUNT_MAX);
    _Atomic uint32_t *chunk = atomic_load_explicit(&p->map_chunks[page_no >> PAGER_MAP_CHUNK_SHIFT],
                                                   memory_order_acquire);
    return chunk == NULL ? NULL : &chunk[page_no & (PAGER_MAP_CHUNK_ENTRIES - 1)];
}

/* Makes sure page_no's chunk exists, before any stripe lock is taken. */
static int map_reserve(pager *p, uint64_t page_no)
{
    if (COMMON_LIKELY(map_entry(p, page_no) != NULL)) return ALEXDB_OK;
    int rc = ALEXDB_OK;
    pthread_mutex_lock(&p->map_lock);
    _Atomic(_Atomic uint32_t *) *slot = &p->map_chunks[page_no >> PAGER_MAP_CHUNK_SHIFT];
    if (atomic_load(slot) == NULL) {
        _Atomic uint32_t *chunk = huge_alloc(PAGER_MAP_CHUNK_SIZE, false, false);
        if (chunk == NULL) rc = common_error(ALEXDB_NOMEM, "buffer pool: out of memory for its page map");
        else atomic_store_explicit(slot, chunk, memory_order_release);
    }
    pthread_mutex_unlock(&p->map_lock);
    return rc;
}

static pager_frame *table_find(pager *p, uint64_t page_no)
{
    _Atomic uint32_t *entry = map_entry(p, page_no);
    uint32_t e = entry == NULL ? 0 : atomic_load_explicit(entry, memory_order_relaxed);
    if (e == 0) return NULL;
    pager_frame *f = &p->frames[e - 1];
    ALEXDB_ASSERT(atomic_load_explicit(&f->page_no, memory_order_relaxed) == page_no); /* P3 */
    return f;
}

/* f's pin count, page number and state are set: publish it (release, for pin_fast). */
static void table_insert(pager *p, uint64_t page_no, pager_frame *f)
{
    _Atomic uint32_t *entry = map_entry(p, page_no);
    ALEXDB_ASSERT(entry != NULL && atomic_load_explicit(entry, memory_order_relaxed) == 0); /* P3 */
    atomic_store_explicit(entry, f->index + 1, memory_order_release);
}

static void table_remove(pager *p, uint64_t page_no, pager_frame *f)
{
    _Atomic uint32_t *entry = map_entry(p, page_no);
    ALEXDB_ASSERT(entry != NULL && atomic_load_explicit(entry, memory_order_relaxed) == f->index + 1);
    atomic_store_explicit(entry, 0, memory_order_release);
}

/* Raises f's pin count unless it is PAGER_PIN_LOCKED (P4). */
static bool pin_unless_locked(pager_frame *f)
{
    uint32_t pins = atomic_load_explicit(&f->pin_count, memory_order_relaxed);
    do {
        if (pins & PAGER_PIN_LOCKED) return false;
    } while (!atomic_compare_exchange_weak(&f->pin_count, &pins, pins + 1));
    return true;
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

/* f is PAGER_PIN_LOCKED, so no fast-path pin can touch it while it is free (P2). */
static void free_push(pager *p, pager_frame *f)
{
    ALEXDB_ASSERT(atomic_load(&f->pin_count) == PAGER_PIN_LOCKED);
    ALEXDB_ASSERT(atomic_load(&f->state) == PAGER_FRAME_FREE); /* P2 */
    pthread_mutex_lock(&p->free_lock);
    ALEXDB_ASSERT(p->free_count < p->frame_count);
    p->free_stack[p->free_count++] = f->index;
    pthread_mutex_unlock(&p->free_lock);
}

/* ---- init / destroy ---- */

#define HUGE_PAGE_SIZE (2u << 20)

/*
 * Zeroed memory aligned to 2 MiB and advised MADV_HUGEPAGE, so the kernel can back it
 * with huge pages: a hit touches a map entry, a frame descriptor and a page, each at a
 * random place in a large array, and with 4 KiB pages each would also cost a TLB miss.
 * The kernel also pins every read's buffer for DMA, which walks fewer page tables.
 * With NUMA, the pages are interleaved over the nodes (or bound to the local one).
 * Advice and placement may fail: that changes nothing but speed.
 */
static void *huge_alloc(size_t size, bool numa, bool numa_local)
{
    size_t span = size + HUGE_PAGE_SIZE;
    uint8_t *mem = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return NULL;
    uint8_t *aligned = (uint8_t *)(((uintptr_t)mem + HUGE_PAGE_SIZE - 1) & ~(uintptr_t)(HUGE_PAGE_SIZE - 1));
    if (aligned > mem) munmap(mem, (size_t)(aligned - mem));
    size_t tail = (size_t)(mem + span - (aligned + size));
    if (tail > 0) munmap(aligned + size, tail);
    (void)madvise(aligned, size, MADV_HUGEPAGE);
    if (numa && numa_local) numa_setlocal_memory(aligned, size);
    else if (numa) numa_interleave_memory(aligned, size, numa_all_nodes_ptr);
    return aligned;
}

static void huge_free(void *mem, size_t size)
{
    if (mem != NULL) munmap(mem, size);
}

static size_t frames_size(const pager *p)
{
    return (size_t)p->frame_count * sizeof(*p->frames);
}

static int frames_alloc(pager *p)
{
    bool numa = numa_available() >= 0;
    p->frame_memory_size = (size_t)p->frame_count * PAGER_PAGE_SIZE;
    p->frame_memory = huge_alloc(p->frame_memory_size, numa, p->config.numa_local);
    p->frames = huge_alloc(frames_size(p), numa, p->config.numa_local);
    if (p->frame_memory == NULL || p->frames == NULL) {
        return common_error(ALEXDB_NOMEM, "buffer pool: cannot allocate %zu bytes",
                            p->frame_memory_size + frames_size(p));
    }
    ALEXDB_ASSERT((uintptr_t)p->frame_memory % PAGER_PAGE_SIZE == 0);
    return ALEXDB_OK;
}

int pager_pool_init(pager *p)
{
    ALEXDB_ASSERT(p->frame_count >= PAGER_CACHE_SIZE_MIN / PAGER_PAGE_SIZE);
    p->map_chunks = calloc(PAGER_MAP_CHUNK_COUNT, sizeof(*p->map_chunks));
    p->free_stack = malloc(p->frame_count * sizeof(*p->free_stack));
    p->flush_frames = malloc(p->frame_count * sizeof(*p->flush_frames));
    p->flush_keys = malloc(2 * (size_t)p->frame_count * sizeof(*p->flush_keys));
    if (p->map_chunks == NULL || p->free_stack == NULL || p->flush_frames == NULL ||
        p->flush_keys == NULL) {
        return common_error(ALEXDB_NOMEM, "buffer pool: out of memory for %u frames", p->frame_count);
    }
    int rc = frames_alloc(p);
    if (rc != ALEXDB_OK) return rc;
    for (uint32_t i = 0; i < PAGER_STRIPE_COUNT; i++) pthread_mutex_init(&p->stripes[i], NULL);
    pthread_mutex_init(&p->free_lock, NULL);
    pthread_mutex_init(&p->prefetch_lock, NULL);
    pthread_mutex_init(&p->map_lock, NULL);
    for (uint32_t i = 0; i < p->frame_count; i++) {
        pager_frame *f = &p->frames[i];
        atomic_init(&f->page_no, PAGER_PAGE_NO_NONE);
        atomic_init(&f->pin_count, PAGER_PIN_LOCKED); /* P2: free */
        f->index = i;
        f->data = p->frame_memory + (size_t)i * PAGER_PAGE_SIZE;
        p->free_stack[p->frame_count - 1 - i] = i;
    }
    p->free_count = p->frame_count;
    atomic_init(&p->epoch, 1); /* frames start at fresh_epoch 0: not fresh */
    return ALEXDB_OK;
}

void pager_pool_destroy(pager *p)
{
    if (p->frames != NULL) {
        for (uint32_t i = 0; i < p->frame_count; i++) {
            uint32_t pins = atomic_load(&p->frames[i].pin_count);
            ALEXDB_ASSERT(pins == 0 || pins == PAGER_PIN_LOCKED); /* P1 at close */
        }
    }
    huge_free(p->frame_memory, p->frame_memory_size);
    huge_free(p->frames, frames_size(p));
    if (p->map_chunks != NULL) {
        for (uint32_t i = 0; i < PAGER_MAP_CHUNK_COUNT; i++) {
            huge_free(atomic_load(&p->map_chunks[i]), PAGER_MAP_CHUNK_SIZE);
        }
    }
    free(p->map_chunks);
    free(p->free_stack);
    free(p->flush_frames);
    free(p->flush_keys);
    free(p->flush_images);
    free(p->prefetch_buf);
}

/* ---- eviction ---- */

bool pager_pool_try_pin(pager *p, pager_frame *f, uint64_t page_no)
{
    if (page_no == PAGER_PAGE_NO_NONE) return false;
    pthread_mutex_t *lock = stripe_of(p, page_no);
    pthread_mutex_lock(lock);
    bool ok = atomic_load_explicit(&f->page_no, memory_order_relaxed) == page_no &&
              atomic_load(&f->state) == PAGER_FRAME_VALID && pin_unless_locked(f);
    pthread_mutex_unlock(lock);
    return ok;
}

/*
 * Takes f out of the table if it is unpinned, clean, VALID and cold (P4). The pin count
 * goes 0 -> LOCKED first, so no pin can slip in; the rest is checked after, because a
 * pinner that already left has made its changes (dirty) visible by its unpin.
 */
static bool try_evict(pager *p, pager_frame *f)
{
    uint64_t page_no = atomic_load_explicit(&f->page_no, memory_order_relaxed);
    if (page_no == PAGER_PAGE_NO_NONE) return false;
    pthread_mutex_lock(stripe_of(p, page_no));
    uint32_t unpinned = 0;
    bool ok = atomic_load_explicit(&f->page_no, memory_order_relaxed) == page_no &&
              atomic_compare_exchange_strong(&f->pin_count, &unpinned, PAGER_PIN_LOCKED);
    if (ok && (atomic_load(&f->latch) != 0 || atomic_load(&f->state) != PAGER_FRAME_VALID ||
               atomic_load(&f->dirty) || atomic_load(&f->usage) != 0)) {
        atomic_store(&f->pin_count, 0); /* no pin could have been added meanwhile */
        ok = false;
    }
    if (ok) {
        table_remove(p, page_no, f);
        atomic_store_explicit(&f->page_no, PAGER_PAGE_NO_NONE, memory_order_relaxed);
        atomic_store(&f->state, PAGER_FRAME_FREE);
    }
    pthread_mutex_unlock(stripe_of(p, page_no));
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
    uint8_t usage = atomic_load(&f->usage);
    if (usage > 0) {
        if (lower) atomic_compare_exchange_weak(&f->usage, &usage, usage - 1);
        return 0;
    }
    if (atomic_load(&f->dirty)) {
        /* P12: a page live in the last checkpoint is written only by the next one. */
        if (!lower || !pager_frame_fresh(p, f)) return 0;
        int rc = clean_victim(p, f);
        return rc == ALEXDB_OK ? 0 : rc;
    }
    return try_evict(p, f) ? 1 : 0;
}

/*
 * Returns a frame the caller owns: out of the table, state FREE, pin count LOCKED. The
 * caller sets the pin count to 1 before it makes the frame visible.
 */
static int frame_acquire(pager *p, bool scan, pager_frame **frame_out)
{
    pager_frame *f = free_pop(p);
    if (f != NULL) {
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
        *frame_out = f;
        return ALEXDB_OK;
    }
    return common_error(ALEXDB_FULL, "buffer pool of %u frames: every frame is pinned or holds "
                        "a change that waits for the next checkpoint", p->frame_count);
}

/* Returns a claimed frame that lost the race for its page to the free list. */
static void frame_release(pager *p, pager_frame *f)
{
    free_push(p, f);
}

/* ---- pinning ---- */

/* A pinned frame was found: its usage rises (unless a scan) and a hit is counted. */
/* Internal pin flag: a pager_prefetch lookup, neither a hit nor a use of the page. */
#define PIN_PREFETCH (1u << 30)

static void pin_found(pager *p, pager_frame *f, unsigned flags)
{
    if (flags & PIN_PREFETCH) return;
    if (!(flags & PAGER_PIN_SCAN)) {
        uint8_t usage = atomic_load_explicit(&f->usage, memory_order_relaxed);
        if (usage < PAGER_USAGE_MAX) atomic_store_explicit(&f->usage, (uint8_t)(usage + 1), memory_order_relaxed);
    }
    common_counter_add(p->hit_count, 1);
}

/*
 * The frame the map names for page_no (NULL if none), its first lines on their way, and
 * PAGER_EARLY_LINES lines from early_offset (PAGER_PAGE_SIZE: none; pager_read_begin).
 */
static pager_frame *map_frame(pager *p, uint64_t page_no, uint32_t early_offset)
{
    _Atomic uint32_t *entry = map_entry(p, page_no);
    uint32_t e = entry == NULL ? 0 : atomic_load_explicit(entry, memory_order_acquire);
    if (e == 0) return NULL;
    const uint8_t *data = p->frame_memory + (size_t)(e - 1) * PAGER_PAGE_SIZE;
    const uint8_t *end = data + 64u * p->config.hit_prefetch_lines;
    for (const uint8_t *line = data; line < end; line += 64) __builtin_prefetch(line);
    if (early_offset < PAGER_PAGE_SIZE) {
        const uint8_t *early = data + (early_offset & ~63u);
        const uint8_t *early_end = COMMON_MIN(early + 64u * PAGER_EARLY_LINES, data + PAGER_PAGE_SIZE);
        for (const uint8_t *line = COMMON_MAX(early, end); line < early_end; line += 64) __builtin_prefetch(line);
    }
    return &p->frames[e - 1];
}

/*
 * The hit path, with no lock: the map names the frame, the pin is a compare-and-swap
 * that fails on a LOCKED frame (being evicted, or free), and the frame's page number and
 * state, read under the pin, say whether it still holds page_no (P4). NULL: take the
 * locked path. The page's first config.hit_prefetch_lines lines are fetched while the
 * descriptor is checked (the caller knows which of its page's lines it reads first).
 */
static pager_frame *pin_fast(pager *p, uint64_t page_no, unsigned flags)
{
    pager_frame *f = map_frame(p, page_no, PAGER_PAGE_SIZE);
    if (f == NULL || !pin_unless_locked(f)) return NULL;
    if (atomic_load_explicit(&f->page_no, memory_order_relaxed) != page_no ||
        atomic_load(&f->state) != PAGER_FRAME_VALID) {
        pager_unpin(p, f); /* the frame moved on to another page meanwhile */
        return NULL;
    }
    pin_found(p, f, flags);
    return f;
}

/*
 * Pins page_no if the table has it (any state, or only VALID with valid_only) and counts
 * a hit; NULL otherwise. Under the stripe lock, so the frame cannot be LOCKED (P4).
 */
static pager_frame *pin_cached(pager *p, uint64_t page_no, unsigned flags, bool valid_only)
{
    pthread_mutex_lock(stripe_of(p, page_no));
    pager_frame *f = table_find(p, page_no);
    if (f != NULL && valid_only && atomic_load(&f->state) != PAGER_FRAME_VALID) f = NULL;
    if (f != NULL) {
        uint32_t old = atomic_fetch_add(&f->pin_count, 1);
        ALEXDB_ASSERT(!(old & PAGER_PIN_LOCKED)); /* P4: a frame in the table is not LOCKED */
    }
    pthread_mutex_unlock(stripe_of(p, page_no));
    if (f != NULL) pin_found(p, f, flags);
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
    pager_frame *f = pin_fast(p, page_no, flags);
    if (f == NULL) f = pin_cached(p, page_no, flags, false);
    if (f != NULL) {
        *frame_out = f;
        return ALEXDB_OK;
    }
    int rc = map_reserve(p, page_no);
    if (rc != ALEXDB_OK) return rc;
    pager_frame *victim = NULL;
    rc = frame_acquire(p, flags & PAGER_PIN_SCAN, &victim);
    if (rc != ALEXDB_OK) return rc;
    pthread_mutex_t *lock = stripe_of(p, page_no);
    pthread_mutex_lock(lock);
    f = table_find(p, page_no);
    if (f != NULL) {
        atomic_fetch_add(&f->pin_count, 1); /* another thread read it meanwhile */
    } else {
        f = victim;
        atomic_store_explicit(&f->page_no, page_no, memory_order_relaxed);
        atomic_store(&f->state, PAGER_FRAME_READING);
        atomic_store(&f->usage, 0); /* probation: a page earns usage by its next hit */
        ALEXDB_ASSERT(!atomic_load(&f->dirty)); /* a free frame is clean */
        atomic_store(&f->fresh_epoch, 0); /* read from disk: live in the checkpoint (P12) */
        atomic_store(&f->lsn, 0);
        atomic_store(&f->pin_count, 1);
        table_insert(p, page_no, f);
        *claimed = true;
    }
    pthread_mutex_unlock(lock);
    if (f != victim) frame_release(p, victim);
    if (*claimed) atomic_fetch_add_explicit(&p->miss_count, 1, memory_order_relaxed);
    else pin_found(p, f, flags);
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
    pthread_mutex_lock(stripe_of(p, page_no));
    table_remove(p, page_no, f);
    f->error = rc;
    publish_state(f, PAGER_FRAME_ERROR);
    pthread_mutex_unlock(stripe_of(p, page_no));
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

/* A claimed frame's bytes have arrived: verify them, publish VALID or fail it (P7). */
static int verify_publish(pager *p, pager_frame *f)
{
    uint64_t page_no = atomic_load_explicit(&f->page_no, memory_order_relaxed);
    const char *path = pager_file_path(p->file);
    int rc = pager_page_check(path, f->data, page_no);
    if (rc == ALEXDB_OK && p->config.check_page != NULL) {
        rc = p->config.check_page(p->config.check_ctx, path, f->data, page_no);
    }
    if (rc == ALEXDB_OK) publish_state(f, PAGER_FRAME_VALID);
    else frame_fail(p, f, rc);
    return rc;
}

/* on_done of a page read: verify and publish at once, while the batch is in flight. */
static void read_done(void *ctx)
{
    pending_read *r = ctx;
    r->rc = verify_publish(r->p, r->f);
    r->done = true;
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
        pager_frame *f = pin_fast(p, page_no, flags);
        if (f != NULL) {
            *frame_out = f;
            return ALEXDB_OK;
        }
    }
    return pager_pin_many(p, &page_no, 1, flags, frame_out);
}

/* ---- prefetch ---- */

/* One read of pager_prefetch: the file's pages [first, first + count) into buf, of which
 * claimed[0..claimed_count) (in page order) get copied into their frames. */
typedef struct prefetch_run {
    pager *p;
    uint64_t first;
    uint32_t count;
    uint8_t *buf;
    pager_frame **claimed;
    uint32_t claimed_count;
    int rc;
    bool done;
} prefetch_run;

static void prefetch_run_done(void *ctx)
{
    prefetch_run *run = ctx;
    for (uint32_t i = 0; i < run->claimed_count; i++) {
        pager_frame *f = run->claimed[i];
        uint64_t page_no = atomic_load_explicit(&f->page_no, memory_order_relaxed);
        memcpy(f->data, run->buf + (size_t)(page_no - run->first) * PAGER_PAGE_SIZE, PAGER_PAGE_SIZE);
        int rc = verify_publish(run->p, f);
        if (run->rc == ALEXDB_OK) run->rc = rc;
    }
    run->done = true;
}

static int compare_page_no(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Reads runs[0..count) in one submission; every claimed frame ends VALID or ERROR (P7). */
static int prefetch_batch(pager *p, prefetch_run *runs, uint32_t count)
{
    pager_io_req reqs[PAGER_PREFETCH_BATCH_RUNS];
    for (uint32_t r = 0; r < count; r++) {
        runs[r].buf = p->prefetch_buf + (size_t)r * PAGER_PREFETCH_RUN_PAGES * PAGER_PAGE_SIZE;
        reqs[r] = (pager_io_req){.buf = runs[r].buf, .offset = runs[r].first * PAGER_PAGE_SIZE,
                                 .size = runs[r].count * PAGER_PAGE_SIZE, .op = PAGER_IO_READ,
                                 .on_done = prefetch_run_done, .ctx = &runs[r]};
    }
    int rc = pager_file_rw(p->file, reqs, count);
    int first = ALEXDB_OK;
    for (uint32_t r = 0; r < count; r++) {
        if (!runs[r].done) {
            runs[r].rc = rc != ALEXDB_OK ? rc : ALEXDB_IO;
            for (uint32_t i = 0; i < runs[r].claimed_count; i++) frame_fail(p, runs[r].claimed[i], runs[r].rc);
        }
        if (first == ALEXDB_OK) first = runs[r].rc;
    }
    return first;
}

/* Claims frames for the pages not cached (sorted, unique), reads them in runs, unpins. */
static int prefetch_sorted(pager *p, const uint64_t *pages, uint32_t count, pager_frame **claimed)
{
    uint32_t claimed_count = 0;
    int rc = ALEXDB_OK;
    for (uint32_t i = 0; i < count && rc == ALEXDB_OK; i++) {
        pager_frame *f = NULL;
        bool mine = false;
        rc = lookup_or_claim(p, pages[i], PIN_PREFETCH, &f, &mine);
        if (rc != ALEXDB_OK) break;
        if (mine) claimed[claimed_count++] = f;
        else pager_unpin(p, f); /* cached, or being read by another thread: no wait */
    }
    /* Even after a failure above, the claimed frames are read: P7. */
    prefetch_run runs[PAGER_PREFETCH_BATCH_RUNS];
    uint32_t run_count = 0;
    for (uint32_t i = 0; i < claimed_count;) {
        uint64_t first = atomic_load_explicit(&claimed[i]->page_no, memory_order_relaxed);
        uint32_t j = i + 1;
        uint64_t last = first;
        for (; j < claimed_count; j++) {
            uint64_t next = atomic_load_explicit(&claimed[j]->page_no, memory_order_relaxed);
            if (next - last > PAGER_PREFETCH_GAP_PAGES + 1 || next - first >= PAGER_PREFETCH_RUN_PAGES) break;
            last = next;
        }
        runs[run_count++] = (prefetch_run){.p = p, .first = first, .count = (uint32_t)(last - first + 1),
                                           .claimed = &claimed[i], .claimed_count = j - i};
        i = j;
        if (run_count == PAGER_PREFETCH_BATCH_RUNS || i == claimed_count) {
            int batch_rc = prefetch_batch(p, runs, run_count);
            if (rc == ALEXDB_OK) rc = batch_rc;
            run_count = 0;
        }
    }
    for (uint32_t i = 0; i < claimed_count; i++) pager_unpin(p, claimed[i]);
    return rc;
}

uint32_t pager_prefetch_page_max(const pager *p)
{
    return COMMON_MAX(p->frame_count / 4u, 1u);
}

int pager_prefetch(pager *p, const uint64_t *page_nos, uint32_t count)
{
    ALEXDB_ASSERT(p != NULL && (page_nos != NULL || count == 0));
    uint64_t page_count = atomic_load(&p->page_count);
    uint32_t cap = pager_prefetch_page_max(p);
    uint64_t *pages = malloc((size_t)COMMON_MAX(count, 1u) * sizeof(*pages));
    pager_frame **claimed = malloc((size_t)COMMON_MAX(COMMON_MIN(count, cap), 1u) * sizeof(*claimed));
    if (pages == NULL || claimed == NULL) {
        free(pages);
        free(claimed);
        return common_error(ALEXDB_NOMEM, "pager_prefetch: out of memory");
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (page_nos[i] >= 2 && page_nos[i] < page_count) pages[n++] = page_nos[i];
    }
    qsort(pages, n, sizeof(*pages), compare_page_no);
    uint32_t unique = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (unique == 0 || pages[unique - 1] != pages[i]) pages[unique++] = pages[i];
    }
    int rc = ALEXDB_OK;
    pthread_mutex_lock(&p->prefetch_lock);
    if (p->prefetch_buf == NULL &&
        posix_memalign((void **)&p->prefetch_buf, PAGER_PAGE_SIZE,
                       (size_t)PAGER_PREFETCH_BATCH_RUNS * PAGER_PREFETCH_RUN_PAGES * PAGER_PAGE_SIZE) != 0) {
        p->prefetch_buf = NULL;
        rc = common_error(ALEXDB_NOMEM, "pager_prefetch: out of memory");
    }
    if (rc == ALEXDB_OK) rc = prefetch_sorted(p, pages, COMMON_MIN(unique, cap), claimed);
    pthread_mutex_unlock(&p->prefetch_lock);
    free(claimed);
    free(pages);
    return rc;
}

/*
 * Takes the cached copy f of page_no for pager_pin_new (caller holds the stripe lock):
 * 0 -> 1 pins. A fast-path pin that is about to find the frame moved on makes the count
 * briefly nonzero, so the caller retries a few times before it calls the page in use.
 */
static bool take_stale_copy(pager_frame *f)
{
    uint32_t unpinned = 0;
    return atomic_load(&f->state) == PAGER_FRAME_VALID &&
           atomic_compare_exchange_strong(&f->pin_count, &unpinned, 1);
}

int pager_pin_new(pager *p, uint64_t page_no, uint8_t kind, pager_frame **frame_out)
{
    ALEXDB_ASSERT(p != NULL && frame_out != NULL);
    if (page_no < 2 || page_no >= atomic_load(&p->page_count)) {
        return common_error(ALEXDB_INVALID, "pager_pin_new: page %" PRIu64 " is not allocated",
                            page_no);
    }
    int rc = map_reserve(p, page_no);
    if (rc != ALEXDB_OK) return rc;
    pager_frame *victim = NULL;
    rc = frame_acquire(p, false, &victim);
    if (rc != ALEXDB_OK) return rc;
    pthread_mutex_t *lock = stripe_of(p, page_no);
    pager_frame *f = NULL;
    for (uint32_t round = 0;; round++) {
        pthread_mutex_lock(lock);
        f = table_find(p, page_no);
        if (f == NULL || take_stale_copy(f)) break;
        pthread_mutex_unlock(lock);
        if (round == STALE_PIN_WAIT_ROUNDS_MAX) {
            frame_release(p, victim);
            return common_error(ALEXDB_INVALID, "pager_pin_new: page %" PRIu64 " is in use",
                                page_no);
        }
        sched_yield();
    }
    if (f == NULL) {
        f = victim;
        atomic_store_explicit(&f->page_no, page_no, memory_order_relaxed);
        atomic_store(&f->state, PAGER_FRAME_VALID);
        atomic_store(&f->pin_count, 1);
        table_insert(p, page_no, f);
    }
    atomic_store(&f->usage, 1);
    atomic_store(&f->lsn, 0);
    pager_page_init(f->data, kind);
    /* P12: the caller allocated it from free space */
    atomic_store(&f->fresh_epoch, atomic_load(&p->epoch));
    pager_dirty_set(p, f);
    pthread_mutex_unlock(lock);
    if (f != victim) frame_release(p, victim);
    *frame_out = f;
    return ALEXDB_OK;
}

/*
 * A compare-and-swap loop, not a decrement: the last holder of a failed read's frame
 * must move it 1 -> LOCKED in one step to recycle it, or a fast-path pin could take the
 * frame between a decrement to 0 and the recycling (P2).
 */
void pager_unpin(pager *p, pager_frame *f)
{
    ALEXDB_ASSERT(p != NULL && f != NULL);
    uint32_t pins = atomic_load_explicit(&f->pin_count, memory_order_relaxed);
    for (;;) {
        ALEXDB_ASSERT(pins > 0 && !(pins & PAGER_PIN_LOCKED)); /* P1 */
        if (pins == 1 && atomic_load(&f->state) == PAGER_FRAME_ERROR) {
            if (!atomic_compare_exchange_weak(&f->pin_count, &pins, PAGER_PIN_LOCKED)) continue;
            atomic_store_explicit(&f->page_no, PAGER_PAGE_NO_NONE, memory_order_relaxed);
            atomic_store(&f->state, PAGER_FRAME_FREE);
            free_push(p, f);
            return;
        }
        if (atomic_compare_exchange_weak(&f->pin_count, &pins, pins - 1)) return;
    }
}

#define DISCARD_WAIT_ROUNDS_MAX 100000u

/* Drops f (pinned once, by the caller) from the table if no one else holds it. */
static bool drop_if_sole_holder(pager *p, pager_frame *f, uint64_t page_no)
{
    pthread_mutex_lock(stripe_of(p, page_no));
    uint32_t sole = 1;
    bool dropped = atomic_compare_exchange_strong(&f->pin_count, &sole, PAGER_PIN_LOCKED);
    if (dropped && atomic_load(&f->latch) != 0) { /* a read hold came first (P14) */
        atomic_store(&f->pin_count, 1);
        dropped = false;
    }
    if (dropped) {
        table_remove(p, page_no, f);
        atomic_store_explicit(&f->page_no, PAGER_PAGE_NO_NONE, memory_order_relaxed);
        atomic_store(&f->state, PAGER_FRAME_FREE);
    }
    pthread_mutex_unlock(stripe_of(p, page_no));
    if (dropped) free_push(p, f);
    return dropped;
}

void pager_discard(pager *p, uint64_t page_no)
{
    ALEXDB_ASSERT(p != NULL);
    pthread_mutex_lock(stripe_of(p, page_no));
    pager_frame *f = table_find(p, page_no);
    bool found = f != NULL && atomic_load(&f->state) == PAGER_FRAME_VALID;
    if (found) atomic_fetch_add(&f->pin_count, 1);
    pthread_mutex_unlock(stripe_of(p, page_no));
    if (!found) return;
    /* The exclusive latch waits out an eviction write-back of this frame (P11); on a
     * PENDING page it copies it into the checkpoint and drops the job's pin (P15). */
    pager_latch_exclusive(f);
    pager_dirty_clear(p, f);
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

bool pager_frame_fresh(pager *p, pager_frame *f)
{
    return atomic_load(&f->fresh_epoch) == atomic_load(&p->epoch);
}

bool pager_dirty_set(pager *p, pager_frame *f)
{
    uint8_t was = atomic_exchange(&f->dirty, PAGER_DIRTY);
    ALEXDB_ASSERT(was != PAGER_DIRTY_PENDING); /* P15: the exclusive latch copied it first */
    if (was == PAGER_CLEAN) atomic_fetch_add_explicit(&p->dirty_count, 1, memory_order_relaxed);
    return was != PAGER_CLEAN;
}

bool pager_dirty_clear(pager *p, pager_frame *f)
{
    uint8_t was = atomic_exchange(&f->dirty, PAGER_CLEAN);
    ALEXDB_ASSERT(was != PAGER_DIRTY_PENDING); /* P15: the exclusive latch copied it first */
    if (was != PAGER_CLEAN) atomic_fetch_sub_explicit(&p->dirty_count, 1, memory_order_relaxed);
    return was != PAGER_CLEAN;
}

bool pager_dirty_pend(pager *p, pager_frame *f)
{
    (void)p;
    ALEXDB_ASSERT(atomic_load(&f->latch) != 0); /* P15: under the shared latch */
    uint8_t expected = PAGER_DIRTY;
    bool pended = atomic_compare_exchange_strong(&f->dirty, &expected, PAGER_DIRTY_PENDING);
    ALEXDB_ASSERT(pended || expected == PAGER_CLEAN); /* one checkpoint at a time */
    return pended;
}

void pager_dirty_written(pager *p, pager_frame *f)
{
    /* Fails if the page changed after its copy (DIRTY: the next checkpoint's), or was
     * freed (pager_discard made it CLEAN; the frame may hold another page by now). */
    uint8_t expected = PAGER_DIRTY_COPIED;
    ALEXDB_ASSERT(atomic_load(&f->dirty) != PAGER_DIRTY_PENDING); /* P15: all copied first */
    if (atomic_compare_exchange_strong(&f->dirty, &expected, PAGER_CLEAN)) {
        atomic_fetch_sub_explicit(&p->dirty_count, 1, memory_order_relaxed);
    }
}

void pager_dirty_unwritten(pager *p, pager_frame *f)
{
    (void)p;
    uint8_t expected = PAGER_DIRTY_COPIED;
    atomic_compare_exchange_strong(&f->dirty, &expected, PAGER_DIRTY);
}

uint32_t pager_dirty_budget(pager *p)
{
    /* README "Write-back": three quarters, but at least PAGER_CLEAN_FRAMES_MIN left over. */
    uint32_t left = COMMON_MAX(p->frame_count / 4, PAGER_CLEAN_FRAMES_MIN);
    return p->frame_count > left ? p->frame_count - left : 0;
}

bool pager_checkpoint_due(pager *p)
{
    return atomic_load_explicit(&p->dirty_count, memory_order_relaxed) > pager_dirty_budget(p);
}

void pager_mark_dirty(pager *p, pager_frame *f, uint64_t lsn)
{
    ALEXDB_ASSERT(atomic_load(&f->pin_count) > 0); /* P1 */
    ALEXDB_ASSERT(atomic_load(&f->state) == PAGER_FRAME_VALID);
    ALEXDB_ASSERT(atomic_load(&f->latch) == PAGER_LATCH_EXCLUSIVE); /* P9 */
    uint64_t cur = atomic_load(&f->lsn);
    while (cur < lsn && !atomic_compare_exchange_weak(&f->lsn, &cur, lsn)) {
    }
    pager_dirty_set(p, f);
}

/*
 * Latches: one word per frame, PAGER_LATCH_EXCLUSIVE or the number of readers, readers
 * first (as glibc's default rwlock, so a reader may nest). A thread that must wait counts
 * itself in latch_sleepers, re-reads the word and sleeps on it; whoever releases reads
 * latch_sleepers after its change and wakes them. Both sides are sequentially consistent,
 * so one of them always sees the other (the same argument as P6).
 */
static void latch_sleep(pager_frame *f, uint32_t seen)
{
    atomic_fetch_add(&f->latch_sleepers, 1);
    if (atomic_load(&f->latch) == seen) futex_wait(&f->latch, seen);
    atomic_fetch_sub(&f->latch_sleepers, 1);
}

void pager_latch_shared(pager_frame *f)
{
    ALEXDB_ASSERT(atomic_load_explicit(&f->pin_count, memory_order_relaxed) > 0); /* P5 */
    uint32_t word = atomic_load_explicit(&f->latch, memory_order_relaxed);
    for (;;) {
        if (word & PAGER_LATCH_EXCLUSIVE) {
            latch_sleep(f, word);
            word = atomic_load_explicit(&f->latch, memory_order_relaxed);
        } else if (atomic_compare_exchange_weak(&f->latch, &word, word + 1)) {
            return;
        }
    }
}

void pager_latch_exclusive(pager_frame *f)
{
    ALEXDB_ASSERT(atomic_load_explicit(&f->pin_count, memory_order_relaxed) > 0); /* P5 */
    uint32_t word = 0;
    while (!atomic_compare_exchange_weak(&f->latch, &word, PAGER_LATCH_EXCLUSIVE)) {
        if (word != 0) {
            latch_sleep(f, word);
            word = 0;
        }
    }
    /* P15: the page is still the checkpoint's begin's (every change is made under this
     * latch, P9): copy it into the checkpoint before the caller changes it. PENDING is
     * set and left only under a latch, so the latch's acquire makes this load exact. */
    if (COMMON_UNLIKELY(atomic_load_explicit(&f->dirty, memory_order_relaxed) == PAGER_DIRTY_PENDING)) {
        pager_checkpoint_copy_frame(f);
    }
}

void pager_unlatch(pager_frame *f)
{
    uint32_t word = atomic_load_explicit(&f->latch, memory_order_relaxed);
    ALEXDB_ASSERT(word != 0); /* P5: unlatch only what you latched */
    if (word & PAGER_LATCH_EXCLUSIVE) atomic_store(&f->latch, 0);
    else atomic_fetch_sub(&f->latch, 1);
    if (atomic_load(&f->latch_sleepers) != 0) futex_wake_all(&f->latch);
}

/* ---- read holds ---- */

static void unlatch_shared(pager_frame *f)
{
    atomic_fetch_sub(&f->latch, 1);
    if (atomic_load(&f->latch_sleepers) != 0) futex_wake_all(&f->latch);
}

/*
 * The hit path of a read hold (P14): the shared latch is taken on the frame the map
 * names, and only then are its pin count, page number and state checked. Eviction moves
 * the pin count to LOCKED and only then checks the latch; both sides are sequentially
 * consistent read-modify-writes followed by loads, so either this check sees LOCKED or
 * the eviction sees the latch. NULL: take the pinned path.
 */
static pager_frame *read_hold_fast(pager *p, uint64_t page_no, unsigned flags, uint32_t early_offset)
{
    pager_frame *f = map_frame(p, page_no, early_offset);
    if (f == NULL) return NULL;
    uint32_t word = atomic_load_explicit(&f->latch, memory_order_relaxed);
    do {
        if (word & PAGER_LATCH_EXCLUSIVE) return NULL; /* a writer: wait pinned, not here */
    } while (!atomic_compare_exchange_weak(&f->latch, &word, word + 1));
    if ((atomic_load(&f->pin_count) & PAGER_PIN_LOCKED) ||
        atomic_load_explicit(&f->page_no, memory_order_relaxed) != page_no ||
        atomic_load(&f->state) != PAGER_FRAME_VALID) {
        unlatch_shared(f); /* the frame is moving on to another page */
        return NULL;
    }
    pin_found(p, f, flags);
    return f;
}

int pager_read_begin(pager *p, uint64_t page_no, unsigned flags, uint32_t early_offset,
                     pager_read *read_out)
{
    ALEXDB_ASSERT(p != NULL && read_out != NULL);
    if (COMMON_LIKELY(page_no < atomic_load_explicit(&p->page_count, memory_order_relaxed))) {
        pager_frame *f = read_hold_fast(p, page_no, flags, early_offset);
        if (f != NULL) {
            *read_out = (pager_read){.frame = f, .pinned = false};
            return ALEXDB_OK;
        }
    }
    pager_frame *f = NULL;
    int rc = pager_pin_many(p, &page_no, 1, flags, &f);
    if (rc != ALEXDB_OK) return rc;
    pager_latch_shared(f);
    *read_out = (pager_read){.frame = f, .pinned = true};
    return ALEXDB_OK;
}

const uint8_t *pager_read_data(const pager_read *read)
{
    ALEXDB_ASSERT(atomic_load_explicit(&read->frame->latch, memory_order_relaxed) != 0); /* P14 */
    return read->frame->data;
}

void pager_read_end(pager *p, pager_read *read)
{
    ALEXDB_ASSERT(p != NULL && read != NULL && read->frame != NULL);
    unlatch_shared(read->frame);
    if (read->pinned) pager_unpin(p, read->frame);
    read->frame = NULL;
}
