/*
 * bulk.c: building an index from sorted keys. The inner nodes choose the cut into leaves
 * (ALEX's fanout tree, inner_bulk.c); here each leaf is built at ALEX's initial density
 * (alex_leaf_build_sorted, straight from the caller's arrays) on page numbers allocated
 * in runs of BULK_RUN_PAGES. Big values are written to their overflow runs first.
 * Runs under the exclusive tree lock on an empty index.
 *
 * Where a leaf is built: around the buffer pool, in staging buffers of one run each.
 * A full run goes to the writer threads, which seal and write it as one write while
 * this thread builds the next run in another buffer (BULK_STAGE_COUNT of them), so
 * building and writing overlap, and with two writers the device always has work. The load touches no frame of the pool: it neither evicts what is
 * cached nor leaves dirty pages for a checkpoint, and memory the process never used
 * (first-touch page faults) is not taken for pages that are written once and not read.
 *
 * Entry point: alex_bulk_load. Semantics and invariants: alex/README.md.
 */
#include "index_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#define BULK_RUN_PAGES PAGER_WRITE_RUN_PAGES_MAX
#define BULK_STAGE_COUNT 8u /* staging buffers: one being built, the rest written or queued */
#define BULK_WRITER_COUNT 2u
#define BULK_WRITE_BATCH 2u /* stages one writer writes in one submission, at most */

/* One staged run: the pages [first, first + count) in a buffer of BULK_RUN_PAGES pages. */
typedef struct bulk_stage {
    uint8_t *pages;
    uint64_t first;
    uint32_t count;
    bool busy; /* queued or being written: the builder may not refill it yet */
} bulk_stage;

/*
 * The writers: BULK_WRITER_COUNT threads, so that one has its writes on the device while
 * the other collects the next. Stages are queued in order; a writer claims every stage
 * queued but not yet claimed (at most BULK_WRITE_BATCH), writes them in one submission,
 * and frees them. The builder refills stage queued % BULK_STAGE_COUNT once it is free.
 * The first write error stops the writers; the builder sees rc at its next run.
 */
typedef struct bulk_writer {
    pager *pager;
    pthread_t threads[BULK_WRITER_COUNT];
    uint32_t started;     /* threads running */
    pthread_mutex_t lock;
    pthread_cond_t cond;  /* any change of the counts, a stage's busy, closing or rc */
    uint64_t queued;      /* stages handed over, ever */
    uint64_t claimed;     /* stages a writer took, ever */
    bool closing;         /* no more stages come */
    int rc;               /* the first write error */
    bulk_stage stages[BULK_STAGE_COUNT];
    uint8_t *buffers;     /* BULK_STAGE_COUNT * BULK_RUN_PAGES pages */
} bulk_writer;

typedef struct bulk_ctx {
    alex_index *index;
    const uint64_t *keys;
    const void *const *data;
    const size_t *sizes;
    const uint64_t *overflow_page_nos; /* first page of values[i]'s run; NULL: all inline */
    uint32_t record_size;              /* every value's heap record size; 0: they differ, */
    const uint32_t *record_prefix;     /* ... then the bytes of values[0..i), modulo 2^32 */
    bulk_writer writer;
    bulk_stage *stage;                 /* the run being built; NULL: none */
    uint32_t run_allocated;            /* pages of the run allocated */
    int rc;
    /* heap_max[c]: the most heap bytes c entries may take in one leaf; -1: none */
    int32_t heap_max[ALEX_LEAF_SLOT_COUNT_MAX];
} bulk_ctx;

/* Claims and writes queued stages until closed and every stage is claimed. */
static void *writer_main(void *arg)
{
    bulk_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->claimed == w->queued && !w->closing) pthread_cond_wait(&w->cond, &w->lock);
        if (w->claimed == w->queued) break;
        uint64_t from = w->claimed;
        uint64_t to = COMMON_MIN(w->queued, from + BULK_WRITE_BATCH);
        w->claimed = to;
        int rc = w->rc;
        pthread_mutex_unlock(&w->lock);
        pager_page_run runs[BULK_WRITE_BATCH];
        uint32_t run_count = 0;
        for (uint64_t i = from; i < to; i++) {
            const bulk_stage *stage = &w->stages[i % BULK_STAGE_COUNT];
            runs[run_count++] = (pager_page_run){stage->first, stage->count, stage->pages};
        }
        if (rc == ALEXDB_OK) rc = pager_write_runs(w->pager, runs, run_count, 0);
        pthread_mutex_lock(&w->lock);
        if (w->rc == ALEXDB_OK) w->rc = rc;
        for (uint64_t i = from; i < to; i++) w->stages[i % BULK_STAGE_COUNT].busy = false;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Stops the threads started (after every queued stage is written), frees the rest. */
static int writer_finish(bulk_writer *w)
{
    if (w->buffers == NULL) return ALEXDB_OK;
    pthread_mutex_lock(&w->lock);
    w->closing = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (uint32_t i = 0; i < w->started; i++) pthread_join(w->threads[i], NULL);
    for (uint32_t i = 0; i < BULK_STAGE_COUNT; i++) {
        ALEXDB_ASSERT(w->started == 0 || !w->stages[i].busy); /* every queued stage written */
    }
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w->buffers);
    w->buffers = NULL;
    w->started = 0;
    return w->rc;
}

static int writer_start(bulk_writer *w, pager *p)
{
    *w = (bulk_writer){.pager = p};
    if (posix_memalign((void **)&w->buffers, PAGER_PAGE_SIZE,
                       (size_t)BULK_STAGE_COUNT * BULK_RUN_PAGES * PAGER_PAGE_SIZE) != 0) {
        w->buffers = NULL;
        return common_error(ALEXDB_NOMEM, "bulk load: out of memory");
    }
    for (uint32_t i = 0; i < BULK_STAGE_COUNT; i++) {
        w->stages[i].pages = w->buffers + (size_t)i * BULK_RUN_PAGES * PAGER_PAGE_SIZE;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    for (; w->started < BULK_WRITER_COUNT; w->started++) {
        if (pthread_create(&w->threads[w->started], NULL, writer_main, w) != 0) {
            (void)writer_finish(w);
            return common_error(ALEXDB_NOMEM, "bulk load: cannot start a writer thread");
        }
    }
    return ALEXDB_OK;
}

/* Waits for the next staging buffer to be free; NULL after a write error (*rc_out). */
static bulk_stage *writer_acquire(bulk_writer *w, int *rc_out)
{
    pthread_mutex_lock(&w->lock);
    bulk_stage *stage = &w->stages[w->queued % BULK_STAGE_COUNT];
    while (stage->busy && w->rc == ALEXDB_OK) pthread_cond_wait(&w->cond, &w->lock);
    int rc = w->rc;
    pthread_mutex_unlock(&w->lock);
    *rc_out = rc;
    return rc == ALEXDB_OK ? stage : NULL;
}

/* Hands the stage writer_acquire gave over to the writer. */
static void writer_queue(bulk_writer *w)
{
    pthread_mutex_lock(&w->lock);
    w->stages[w->queued % BULK_STAGE_COUNT].busy = true;
    w->queued++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}


/*
 * alex_leaf_fits(c, h, ALEX_LEAF_DENSITY_BUILD) as a table over c: more heap bytes leave
 * fewer slots, so for each c the bytes that fit are those up to a bound, found by a
 * binary search. The fanout tree asks fits a few times per candidate leaf and per
 * fanout tried, so the answer must cost a lookup, not a slot-count computation.
 */
static void heap_max_make(bulk_ctx *b)
{
    for (uint32_t c = 0; c < ALEX_LEAF_SLOT_COUNT_MAX; c++) {
        int32_t lo = -1;                     /* fits(c, lo), or lo == -1 */
        int32_t hi = (int32_t)PAGER_PAGE_SIZE + 1; /* !fits(c, hi) */
        while (hi - lo > 1) {
            int32_t mid = lo + (hi - lo) / 2;
            if (alex_leaf_fits(c, (size_t)mid, ALEX_LEAF_DENSITY_BUILD)) lo = mid;
            else hi = mid;
        }
        ALEXDB_ASSERT(lo < 0 || !alex_leaf_fits(c, (size_t)lo + 1, ALEX_LEAF_DENSITY_BUILD));
        b->heap_max[c] = lo;
    }
}

static bool bulk_fits(void *ctx, uint64_t first, uint32_t count)
{
    const bulk_ctx *b = ctx;
    if (count >= ALEX_LEAF_SLOT_COUNT_MAX || b->heap_max[count] < 0) return false;
    /* Exact modulo 2^32: fewer than ALEX_LEAF_SLOT_COUNT_MAX records take far less. */
    uint32_t heap = b->record_size != 0 ? count * b->record_size
                                        : b->record_prefix[first + count] - b->record_prefix[first];
    return heap <= (uint32_t)b->heap_max[count];
}

/* Ends the current run: hands its leaves to the writer, gives back the pages not used. */
static void run_end(bulk_ctx *b)
{
    if (b->stage == NULL) return;
    if (b->run_allocated > b->stage->count) {
        alex_pages_release(b->index, b->stage->first + b->stage->count,
                           b->run_allocated - b->stage->count);
    }
    if (b->stage->count > 0) writer_queue(&b->writer);
    b->stage = NULL;
    b->run_allocated = 0;
}

/* Ends the current run and starts the next in a free staging buffer. */
static int run_next(bulk_ctx *b)
{
    run_end(b);
    int rc = ALEXDB_OK;
    bulk_stage *stage = writer_acquire(&b->writer, &rc);
    if (stage == NULL) return rc;
    rc = alex_pages_alloc(b->index, BULK_RUN_PAGES, &stage->first);
    if (rc != ALEXDB_OK) return rc;
    stage->count = 0;
    b->stage = stage;
    b->run_allocated = BULK_RUN_PAGES;
    /* Written around the cache: no stale copy of a reused page may stay in it. */
    for (uint32_t i = 0; i < BULK_RUN_PAGES; i++) pager_discard(b->index->pager, stage->first + i);
    return ALEXDB_OK;
}

/* The leaf's values as it holds them: inline bytes, or the reference to an overflow run. */
static void values_get(const bulk_ctx *b, uint64_t first, uint32_t count, alex_value *values)
{
    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = first + i;
        uint32_t size = (uint32_t)b->sizes[at];
        values[i] = (alex_value){.size = size, .data = size > 0 ? b->data[at] : NULL};
        if (size > ALEX_INLINE_VALUE_SIZE_MAX) {
            values[i].data = NULL;
            values[i].overflow_page_no = b->overflow_page_nos[at];
        }
    }
}

static int bulk_make_leaf(void *ctx, uint64_t first, uint32_t count, uint64_t low, uint64_t high,
                          uint64_t *page_no_out)
{
    bulk_ctx *b = ctx;
    ALEXDB_ASSERT(count <= ALEX_LEAF_SLOT_COUNT_MAX);
    if (b->stage == NULL || b->stage->count == b->run_allocated) {
        int rc = run_next(b);
        if (rc != ALEXDB_OK) return b->rc = rc;
    }
    alex_value values[ALEX_LEAF_SLOT_COUNT_MAX];
    values_get(b, first, count, values);
    uint8_t *page = b->stage->pages + (size_t)b->stage->count * PAGER_PAGE_SIZE;
    pager_page_init(page, PAGER_KIND_LEAF);
    int rc = alex_leaf_build_sorted(page, b->keys + first, values, count, low, high,
                                    ALEX_LEAF_DENSITY_BUILD);
    ALEXDB_ASSERT(rc == ALEXDB_OK); /* bulk_fits said so */
    *page_no_out = b->stage->first + b->stage->count++;
    return ALEXDB_OK;
}

/*
 * Checks all the input before anything is written. *record_size_out: the heap record
 * size all values share, 0 if they differ; *overflow_out: whether any is out of line.
 */
static int validate(const uint64_t *keys, const void *const *data, const size_t *sizes,
                    size_t count, uint32_t *record_size_out, bool *overflow_out)
{
    uint32_t record_size = alex_value_record_size((uint32_t)COMMON_MIN(sizes[0], ALEX_VALUE_SIZE_MAX));
    bool overflow = false;
    bool uniform = true;
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && keys[i] <= keys[i - 1]) {
            return common_error(ALEXDB_INVALID, "bulk load: key %zu (%" PRIu64 ") is not greater "
                                "than the key before it", i, keys[i]);
        }
        if (sizes[i] > ALEX_VALUE_SIZE_MAX || (sizes[i] > 0 && data[i] == NULL)) {
            return common_error(sizes[i] > ALEX_VALUE_SIZE_MAX ? ALEXDB_TOOBIG : ALEXDB_INVALID,
                                "bulk load: value %zu: bad size or NULL data", i);
        }
        overflow |= sizes[i] > ALEX_INLINE_VALUE_SIZE_MAX;
        uniform &= alex_value_record_size((uint32_t)sizes[i]) == record_size;
    }
    *record_size_out = uniform ? record_size : 0;
    *overflow_out = overflow;
    return ALEXDB_OK;
}

/*
 * The prefix sums of the records' sizes, for inputs whose sizes differ: modulo 2^32,
 * since fits only asks for the bytes of runs that could be one leaf, and a 32-bit array
 * is half the memory each fanout tried streams through.
 */
static uint32_t *prefix_make(const size_t *sizes, size_t count)
{
    uint32_t *prefix = malloc((count + 1) * sizeof(*prefix));
    if (prefix == NULL) {
        common_error(ALEXDB_NOMEM, "bulk load: out of memory");
        return NULL;
    }
    prefix[0] = 0;
    for (size_t i = 0; i < count; i++) {
        prefix[i + 1] = prefix[i] + alex_value_record_size((uint32_t)sizes[i]);
    }
    return prefix;
}

/* Frees the overflow runs written for values[0..count) after a failed load. */
static void unwind(alex_index *index, const size_t *sizes, const uint64_t *overflow_page_nos,
                   size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (sizes[i] <= ALEX_INLINE_VALUE_SIZE_MAX) continue;
        alex_value value = {.size = (uint32_t)sizes[i], .overflow_page_no = overflow_page_nos[i]};
        alex_value_unwind(index, &value);
    }
}

/* Writes the out-of-line values to their overflow runs: overflow_page_nos[i] for each. */
static int overflow_write(alex_index *index, const uint64_t *keys, const void *const *data,
                          const size_t *sizes, size_t count, uint64_t *overflow_page_nos)
{
    for (size_t i = 0; i < count; i++) {
        if (sizes[i] <= ALEX_INLINE_VALUE_SIZE_MAX) continue;
        int rc = alex_overflow_write(index, keys[i], data[i], (uint32_t)sizes[i],
                                     &overflow_page_nos[i]);
        if (rc != ALEXDB_OK) {
            unwind(index, sizes, overflow_page_nos, i);
            return rc;
        }
    }
    return ALEXDB_OK;
}

/*
 * The leaf pages a load of count keys will likely take, a little over: a leaf holds its
 * records plus 10 bytes a slot at ALEX_LEAF_DENSITY_BUILD, and the fanout tree's cuts
 * leave leaves about 80 % of full. (The prefix sums are modulo 2^32: past 4 GiB of
 * values this is short, and the file then grows as usual.)
 */
static uint64_t pages_estimate(const bulk_ctx *b, size_t count)
{
    double heap = b->record_size != 0 ? (double)b->record_size * (double)count
                                      : (double)(b->record_prefix[count] - b->record_prefix[0]);
    double per_key_array = 10.0 / ALEX_LEAF_DENSITY_BUILD;
    double bytes = heap + per_key_array * (double)count;
    return (uint64_t)(bytes / (0.8 * (double)(PAGER_PAGE_SIZE - ALEX_LEAF_FIELD_BITMAP))) + 1u;
}

static int bulk_run(alex_index *index, bulk_ctx *b, size_t count)
{
    alex_route route;
    alex_inner_route(index->inner, 0, &route);
    uint64_t old_root = route.leaf_page_no;
    /* Grow the file once, now: growth waits for the writers' writes in flight. */
    int rc = pager_reserve(index->pager, pages_estimate(b, count));
    if (rc != ALEXDB_OK) return rc;
    rc = writer_start(&b->writer, index->pager);
    if (rc != ALEXDB_OK) return rc;
    rc = alex_inner_bulk_load(index->inner, b->keys, count, bulk_fits, bulk_make_leaf, b);
    if (rc == ALEXDB_OK) rc = b->rc;
    run_end(b);
    int write_rc = writer_finish(&b->writer);
    if (rc == ALEXDB_OK) rc = write_rc;
    if (rc != ALEXDB_OK) {
        int expected = ALEXDB_OK;
        atomic_compare_exchange_strong(&index->failed, &expected, rc);
        return rc;
    }
    alex_pages_release(index, old_root, 1);
    atomic_store(&index->key_count, count);
    return ALEXDB_OK;
}

/* Under the exclusive tree lock, on an index found empty. */
static int bulk_load_locked(alex_index *index, bulk_ctx *b, size_t count)
{
    uint32_t *prefix = NULL;
    uint64_t *overflow_page_nos = NULL;
    bool overflow = false;
    int rc = validate(b->keys, b->data, b->sizes, count, &b->record_size, &overflow);
    if (rc == ALEXDB_OK && b->record_size == 0) {
        prefix = prefix_make(b->sizes, count);
        if (prefix == NULL) rc = ALEXDB_NOMEM;
    }
    if (rc == ALEXDB_OK && overflow) {
        overflow_page_nos = calloc(count, sizeof(*overflow_page_nos));
        rc = overflow_page_nos != NULL ? overflow_write(index, b->keys, b->data, b->sizes, count,
                                                        overflow_page_nos)
                                       : common_error(ALEXDB_NOMEM, "bulk load: out of memory");
    }
    if (rc == ALEXDB_OK) {
        b->record_prefix = prefix;
        b->overflow_page_nos = overflow_page_nos;
        heap_max_make(b);
        rc = bulk_run(index, b, count);
    }
    free(overflow_page_nos);
    free(prefix);
    return rc;
}

int alex_bulk_load(alex_index *index, const uint64_t *keys, const void *const *data,
                   const size_t *sizes, size_t count)
{
    ALEXDB_ASSERT(index != NULL && (count == 0 || (keys != NULL && data != NULL && sizes != NULL)));
    int rc = alex_writable(index);
    if (rc != ALEXDB_OK || count == 0) return rc;
    pthread_rwlock_wrlock(&index->tree_lock);
    alex_inner_stats inner;
    alex_inner_stats_get(index->inner, &inner);
    if (atomic_load(&index->key_count) != 0 || inner.leaf_count != 1) {
        rc = common_error(ALEXDB_INVALID, "bulk load needs an empty database");
    } else {
        bulk_ctx b = {.index = index, .keys = keys, .data = data, .sizes = sizes};
        rc = bulk_load_locked(index, &b, count);
    }
    pthread_rwlock_unlock(&index->tree_lock);
    return rc;
}
