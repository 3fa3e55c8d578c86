/*
 * writeback.c: writing dirty frames back to the page file.
 *
 * A checkpoint (README P12, P13, P15) runs in two phases. pager_checkpoint_begin(),
 * while the layer above keeps changes out, pins every dirty frame, gives each a slot in
 * one image buffer and marks it PENDING, and bumps the epoch: no page is copied there,
 * so the pause is a pass over the frames. The content is still fixed at that instant:
 * pager_checkpoint_finish(), while changes go on, first copies each page still PENDING
 * into its slot under the shared latch, and a writer that takes a PENDING frame's
 * exclusive latch before it copies it itself (pager_latch_exclusive ->
 * pager_checkpoint_copy_frame): either way the copy is the begin's page. Whoever
 * copies marks the frame COPIED and drops the job's pin. Then the finish writes the
 * images: pages free in the checkpoint in force ("fresh") in place, then sync; the
 * others ("live") to the double-write file with a header naming the checkpoint, sync,
 * in place, sync; then the superblock. Adjacent pages go out as one request (up to
 * PAGER_WRITE_RUN_PAGES_MAX pages). A change after a page's copy marks it dirty again
 * (P9): it waits for the next checkpoint. The frames stay dirty (COPIED) until their
 * images are in place, so none is evicted and read back stale; only then does the
 * finish mark them clean, unless changed since (P13).
 * pager_checkpoint() is both in a row; pager_flush() one that keeps the superblock's
 * LSN and payload.
 *
 * pager_writeback_frame() is the clock's path for one cold dirty victim, fresh pages
 * only: it seals the frame in place under the exclusive latch and writes it from it.
 */
#include "pager_int.h"

#include <inttypes.h>
#include <stdlib.h>

int pager_writeback_frame(pager *p, pager_frame *f)
{
    ALEXDB_ASSERT(atomic_load(&f->pin_count) > 0); /* P1 */
    pager_latch_exclusive(f); /* P15: a PENDING page is copied into its checkpoint first */
    int rc = ALEXDB_OK;
    /* Only DIRTY and still fresh: a page the checkpoint under way holds (COPIED) or made
     * live since the clock looked is that checkpoint's to write (P12). Under the
     * exclusive latch DIRTY leaves only by this exchange. */
    uint8_t expected = PAGER_DIRTY;
    if (pager_frame_fresh(p, f) && atomic_compare_exchange_strong(&f->dirty, &expected, PAGER_CLEAN)) {
        atomic_fetch_sub_explicit(&p->dirty_count, 1, memory_order_relaxed);
        uint64_t page_no = pager_frame_page_no(f);
        pager_page_seal(f->data, page_no, atomic_load(&f->lsn));
        pager_io_req req = {.buf = f->data, .offset = page_no * PAGER_PAGE_SIZE,
                            .size = PAGER_PAGE_SIZE, .op = PAGER_IO_WRITE};
        rc = pager_file_rw(p->file, &req, 1);
        if (rc != ALEXDB_OK) pager_dirty_set(p, f);
        atomic_fetch_add_explicit(&p->dirty_write_count, 1, memory_order_relaxed);
    }
    pager_unlatch(f);
    return rc;
}

/*
 * Sorts keys[0..count) by their upper 4 bytes (LSD radix, a byte per pass, between keys
 * and scratch; a pass whose byte is the same in every key moves nothing and is skipped).
 * Returns the buffer that holds the result.
 */
static const uint64_t *sort_by_upper_half(uint64_t *keys, uint64_t *scratch, uint32_t count)
{
    uint64_t *src = keys, *dst = scratch;
    for (uint32_t shift = 32; shift < 64 && count > 0; shift += 8) {
        uint32_t offsets[256] = {0};
        for (uint32_t i = 0; i < count; i++) offsets[(src[i] >> shift) & 0xFF]++;
        if (offsets[(src[0] >> shift) & 0xFF] == count) continue;
        for (uint32_t d = 0, sum = 0; d < 256; d++) {
            uint32_t n = offsets[d];
            offsets[d] = sum;
            sum += n;
        }
        for (uint32_t i = 0; i < count; i++) dst[offsets[(src[i] >> shift) & 0xFF]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* flush_frames[first..) = the frames the sorted (page number, frame index) keys name. */
static void frames_in_order(pager *p, uint64_t *keys, uint64_t *scratch, uint32_t count, uint32_t first)
{
    const uint64_t *sorted = sort_by_upper_half(keys, scratch, count);
    for (uint32_t i = 0; i < count; i++) {
        ALEXDB_ASSERT(i == 0 || sorted[i - 1] >> 32 < sorted[i] >> 32);
        p->flush_frames[first + i] = &p->frames[(uint32_t)sorted[i]];
    }
}

/*
 * Pins every dirty VALID frame into p->flush_frames: the fresh ones first (P12), each
 * group by page number. Returns how many; *fresh_out: how many of them are fresh. Each
 * frame's key is its page number (< 2^32) above its index: fresh keys fill p->flush_keys
 * from the front and live ones from the back, and each group is radix-sorted. (A qsort
 * of frame pointers, comparing through them, took 0.6 ms of a checkpoint's begin, with
 * writers held out, for 12 K dirty frames; this takes 0.2 ms.)
 */
static uint32_t collect_dirty(pager *p, uint32_t *fresh_out)
{
    _Static_assert(PAGER_PAGE_COUNT_MAX <= UINT64_C(1) << 32, "a page number fits 32 bits");
    uint64_t *keys = p->flush_keys, *scratch = p->flush_keys + p->frame_count;
    uint32_t fresh = 0, live = 0;
    for (uint32_t i = 0; i < p->frame_count; i++) {
        pager_frame *f = &p->frames[i];
        uint64_t page_no = pager_frame_page_no(f);
        if (!atomic_load(&f->dirty) || !pager_pool_try_pin(p, f, page_no)) continue;
        uint64_t key = page_no << 32 | i;
        if (pager_frame_fresh(p, f)) keys[fresh++] = key;
        else keys[p->frame_count - ++live] = key;
    }
    frames_in_order(p, keys, scratch, fresh, 0);
    frames_in_order(p, keys + p->frame_count - live, scratch, live, fresh);
    *fresh_out = fresh;
    return fresh + live;
}

void pager_checkpoint_copy_frame(pager_frame *f)
{
    ALEXDB_ASSERT(atomic_load_explicit(&f->latch, memory_order_relaxed) != 0); /* P15 */
    uint8_t *dst = f->image;
    memcpy(dst, f->data, PAGER_PAGE_SIZE);
    /* P15: no change since the begin, so this is the begin's LSN too (P9). */
    pager_page_seal(dst, pager_frame_page_no(f), atomic_load(&f->lsn));
    uint8_t expected = PAGER_DIRTY_PENDING;
    bool copied = atomic_compare_exchange_strong(&f->dirty, &expected, PAGER_DIRTY_COPIED);
    ALEXDB_ASSERT(copied); /* P15: PENDING is left only under the latch */
    uint32_t pins = atomic_fetch_sub(&f->pin_count, 1); /* the job's pin */
    ALEXDB_ASSERT(pins >= 2 && !(pins & PAGER_PIN_LOCKED)); /* P1, P5: the caller's own pin stays */
}

int pager_write_images(pager *p, uint8_t *images, uint32_t count)
{
    _Static_assert(PAGER_IMAGE_WRITE_DEPTH <= PAGER_IO_BATCH_MAX, "one submission per batch");
    pager_io_req reqs[PAGER_IMAGE_WRITE_DEPTH];
    int rc = ALEXDB_OK;
    for (uint32_t next = 0; next < count && rc == ALEXDB_OK;) {
        uint32_t req_count = 0;
        while (next < count && req_count < PAGER_IMAGE_WRITE_DEPTH) {
            uint64_t page_no = pager_page_no(images + (size_t)next * PAGER_PAGE_SIZE);
            uint32_t len = 1;
            while (next + len < count && len < PAGER_WRITE_RUN_PAGES_MAX &&
                   pager_page_no(images + (size_t)(next + len) * PAGER_PAGE_SIZE) == page_no + len) {
                len++;
            }
            reqs[req_count++] = (pager_io_req){.buf = images + (size_t)next * PAGER_PAGE_SIZE,
                                               .offset = page_no * PAGER_PAGE_SIZE,
                                               .size = len * PAGER_PAGE_SIZE, .op = PAGER_IO_WRITE};
            next += len;
        }
        rc = pager_file_rw(p->file, reqs, req_count);
        atomic_fetch_add_explicit(&p->dirty_write_count, req_count, memory_order_relaxed);
    }
    return rc;
}

/*
 * A checkpoint under way (P12, P13, P15): the dirty frames it took (p->flush_frames, the
 * fresh ones first, each group by page number), one image slot each, the page held in
 * each slot, and the allocation high-water mark at the begin. A frame still PENDING is
 * pinned by the job; its copy drops that pin. p->flush_lock is held from begin to finish.
 */
struct pager_checkpoint_job {
    uint32_t count;
    uint32_t fresh;
    uint8_t *images;    /* p->flush_images; slot i: flush_frames[i]'s page, sealed, once copied */
    uint64_t *page_nos; /* slot i's page number, to find its frame again */
    uint64_t page_count;
};

/*
 * Gives each collected frame its slot and marks it PENDING, under its shared latch so
 * that no exclusive holder (the clock sealing a victim) is inside; the job keeps the
 * collect's pin (P15). A frame cleaned since the collect (the clock wrote a fresh page
 * back) is left out and unpinned.
 */
static void pend_frames(pager *p, pager_checkpoint_job *job, uint32_t collected, uint32_t fresh)
{
    uint32_t count = 0;
    job->fresh = 0;
    for (uint32_t i = 0; i < collected; i++) {
        pager_frame *f = p->flush_frames[i];
        pager_latch_shared(f);
        f->image = job->images + (size_t)count * PAGER_PAGE_SIZE;
        bool pended = pager_dirty_pend(p, f);
        pager_unlatch(f);
        if (!pended) {
            pager_unpin(p, f);
            continue;
        }
        job->page_nos[count] = pager_frame_page_no(f);
        p->flush_frames[count++] = f;
        if (i < fresh) job->fresh++;
    }
    job->count = count;
}

int pager_checkpoint_begin(pager *p, pager_checkpoint_job **job_out)
{
    ALEXDB_ASSERT(p != NULL && job_out != NULL);
    *job_out = NULL;
    if (p->config.read_only) return common_error(ALEXDB_READONLY, "checkpoint: read-only");
    pager_checkpoint_job *job = calloc(1, sizeof(*job));
    if (job == NULL) return common_error(ALEXDB_NOMEM, "checkpoint: out of memory");
    pthread_mutex_lock(&p->flush_lock);
    uint32_t fresh = 0;
    uint32_t collected = collect_dirty(p, &fresh);
    if (collected > 0 && p->flush_images == NULL &&
        posix_memalign((void **)&p->flush_images, PAGER_PAGE_SIZE, (size_t)p->frame_count * PAGER_PAGE_SIZE) != 0) {
        p->flush_images = NULL;
    }
    job->images = p->flush_images;
    if (collected > 0 &&
        (p->flush_images == NULL ||
         (job->page_nos = malloc((size_t)collected * sizeof(*job->page_nos))) == NULL)) {
        for (uint32_t i = 0; i < collected; i++) pager_unpin(p, p->flush_frames[i]);
        pthread_mutex_unlock(&p->flush_lock);
        free(job->page_nos);
        free(job);
        return common_error(ALEXDB_NOMEM, "checkpoint: out of memory for %u page images", collected);
    }
    /* P15: no copy here; the pages are copied after the caller lets changes go on. */
    pend_frames(p, job, collected, fresh);
    job->page_count = atomic_load(&p->page_count);
    /* P13: every page cached now belongs to the checkpoint being made; only pages
     * created from here on are fresh (free in both it and the one in force). */
    atomic_fetch_add(&p->epoch, 1);
    *job_out = job;
    return ALEXDB_OK;
}

/*
 * P15: copies every page still PENDING into its slot, under the shared latch. A frame
 * not PENDING was copied already: by an exclusive latcher (a writer, the clock, or
 * pager_discard before it dropped the page), whose copy precedes its move out of PENDING;
 * every later move of the dirty word is a read-modify-write, so the load that sees it
 * also sees the copy (release sequence).
 */
static void copy_pending(pager *p, pager_checkpoint_job *job)
{
    for (uint32_t i = 0; i < job->count; i++) {
        pager_frame *f = p->flush_frames[i];
        if (atomic_load(&f->dirty) != PAGER_DIRTY_PENDING) continue;
        /* Still PENDING, so still pinned by the job and holding its page: this pin holds. */
        bool pinned = pager_pool_try_pin(p, f, job->page_nos[i]);
        ALEXDB_ASSERT(pinned || atomic_load(&f->dirty) != PAGER_DIRTY_PENDING);
        if (!pinned) continue;
        pager_latch_shared(f);
        if (atomic_load_explicit(&f->dirty, memory_order_relaxed) == PAGER_DIRTY_PENDING) {
            pager_checkpoint_copy_frame(f);
        }
        pager_unlatch(f);
        pager_unpin(p, f);
    }
}

void pager_checkpoint_cancel(pager *p, pager_checkpoint_job *job)
{
    ALEXDB_ASSERT(p != NULL && job != NULL);
    for (uint32_t i = 0; i < job->count; i++) {
        pager_frame *f = p->flush_frames[i];
        /* P15: an uncopied page goes back to DIRTY, under the latch, and the job's pin goes
         * (a PENDING frame is pinned by the job and holds its page: the pin holds). */
        if (atomic_load(&f->dirty) == PAGER_DIRTY_PENDING && pager_pool_try_pin(p, f, job->page_nos[i])) {
            pager_latch_shared(f);
            uint8_t expected = PAGER_DIRTY_PENDING;
            if (atomic_compare_exchange_strong(&f->dirty, &expected, PAGER_DIRTY)) pager_unpin(p, f);
            pager_unlatch(f);
            pager_unpin(p, f);
        }
        /* No latcher may copy into the images once the job is gone (the buffer is reused). */
        ALEXDB_ASSERT(atomic_load(&f->dirty) != PAGER_DIRTY_PENDING);
        pager_dirty_unwritten(p, f);
    }
    pthread_mutex_unlock(&p->flush_lock);
    free(job->page_nos);
    free(job);
}

/*
 * The writes of a checkpoint (P12): fresh pages in place, synced; the live pages'
 * images to the double-write file behind a header naming the checkpoint, synced, then
 * in place, synced; then the superblock. A crash in between is rolled forward at the
 * next open from the double-write file, so no live page is ever torn or half new.
 */
int pager_checkpoint_finish(pager *p, pager_checkpoint_job *job, uint64_t lsn, const void *payload,
                            uint32_t payload_size)
{
    ALEXDB_ASSERT(p != NULL && job != NULL && (payload != NULL || payload_size == 0));
    int rc = ALEXDB_OK;
    if (payload_size > PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX) {
        rc = common_error(ALEXDB_TOOBIG, "checkpoint payload of %u bytes (at most %u)", payload_size,
                          PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX);
    }
    if (rc == ALEXDB_OK) copy_pending(p, job);
    uint32_t live_count = job->count - job->fresh;
    uint8_t *live = live_count > 0 ? job->images + (size_t)job->fresh * PAGER_PAGE_SIZE : NULL;
    if (rc == ALEXDB_OK) rc = pager_write_images(p, job->images, job->fresh);
    if (rc == ALEXDB_OK) rc = pager_file_sync(p->file);
    if (rc == ALEXDB_OK && live_count > 0) {
        rc = pager_dwb_write(p, live, live_count, job->page_count, lsn, payload, payload_size);
        if (rc == ALEXDB_OK) rc = pager_write_images(p, live, live_count);
        if (rc == ALEXDB_OK) rc = pager_file_sync(p->file);
    }
    if (rc != ALEXDB_OK) {
        pager_checkpoint_cancel(p, job);
        return rc;
    }
    for (uint32_t i = 0; i < job->count; i++) pager_dirty_written(p, p->flush_frames[i]);
    rc = pager_superblock_commit_at(p, job->page_count, lsn, payload, payload_size);
    pthread_mutex_unlock(&p->flush_lock);
    free(job->page_nos);
    free(job);
    return rc;
}

int pager_checkpoint(pager *p, uint64_t lsn, const void *payload, uint32_t payload_size)
{
    pager_checkpoint_job *job = NULL;
    int rc = pager_checkpoint_begin(p, &job);
    return rc != ALEXDB_OK ? rc : pager_checkpoint_finish(p, job, lsn, payload, payload_size);
}

int pager_flush(pager *p)
{
    ALEXDB_ASSERT(p != NULL);
    if (p->config.read_only) return ALEXDB_OK;
    pager_superblock sb;
    pager_superblock_get(p, &sb);
    return pager_checkpoint(p, sb.lsn, sb.payload, sb.payload_size);
}
