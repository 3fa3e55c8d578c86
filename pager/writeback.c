/*
 * writeback.c: writing dirty frames back to the page file.
 *
 * pager_flush() collects every dirty frame, sorts by page number and writes runs of
 * adjacent pages as single requests (up to PAGER_WRITE_RUN_PAGES_MAX pages), all the
 * runs that fit the staging buffer going out in one submission; then one fdatasync.
 * Each page is copied to the staging buffer under a shared latch and sealed there, so
 * readers keep reading while the I/O runs and the frame itself is never modified by
 * the flush. A writer that changes a page during its write marks it dirty again (P9),
 * so nothing is lost, at worst written twice.
 *
 * pager_checkpoint() makes that crash-atomic (README P12): pages that are free in the
 * checkpoint in force ("fresh") go in place first and are synced; the others ("live")
 * are copied once, written to the double-write file with a header naming the
 * checkpoint, synced, written in place, synced; then the superblock is committed.
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
    pager_latch_exclusive(f);
    int rc = ALEXDB_OK;
    if (pager_dirty_clear(p, f)) {
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

static int compare_page_no(const void *a, const void *b)
{
    uint64_t x = pager_frame_page_no(*(pager_frame *const *)a);
    uint64_t y = pager_frame_page_no(*(pager_frame *const *)b);
    return x < y ? -1 : x > y;
}

/*
 * Pins every dirty VALID frame into p->flush_frames: the fresh ones first (P12), each
 * group by page number. Returns how many; *fresh_out: how many of them are fresh. Fresh
 * frames fill the array from the front and live ones from the back, then the live ones
 * move up behind the fresh.
 */
static uint32_t collect_dirty(pager *p, uint32_t *fresh_out)
{
    uint32_t fresh = 0, live = 0;
    for (uint32_t i = 0; i < p->frame_count; i++) {
        pager_frame *f = &p->frames[i];
        if (!atomic_load(&f->dirty) || !pager_pool_try_pin(p, f, pager_frame_page_no(f))) continue;
        if (pager_frame_fresh(p, f)) p->flush_frames[fresh++] = f;
        else p->flush_frames[p->frame_count - ++live] = f;
    }
    memmove(p->flush_frames + fresh, p->flush_frames + p->frame_count - live, live * sizeof(pager_frame *));
    qsort(p->flush_frames, fresh, sizeof(pager_frame *), compare_page_no);
    qsort(p->flush_frames + fresh, live, sizeof(pager_frame *), compare_page_no);
    *fresh_out = fresh;
    return fresh + live;
}

/* Copies and seals the frames' pages into images (one page each), clearing dirty bits. */
static void copy_images(pager *p, pager_frame **frames, uint32_t count, uint8_t *images)
{
    for (uint32_t i = 0; i < count; i++) {
        pager_frame *f = frames[i];
        uint8_t *dst = images + (size_t)i * PAGER_PAGE_SIZE;
        pager_latch_shared(f);
        pager_dirty_clear(p, f);
        memcpy(dst, f->data, PAGER_PAGE_SIZE);
        uint64_t lsn = atomic_load(&f->lsn);
        pager_unlatch(f);
        pager_page_seal(dst, pager_frame_page_no(f), lsn);
    }
}

/* Copies frames[0..count) into staging at slot `slot`, sealed, clearing dirty bits. */
static void stage_frames(pager *p, pager_frame **frames, uint32_t count, uint32_t slot)
{
    copy_images(p, frames, count, p->flush_staging + (size_t)slot * PAGER_PAGE_SIZE);
}

/*
 * Writes frames[0..count) (sorted) as runs of adjacent pages, as many runs per
 * submission as fit the staging buffer. Frames of failed runs are marked dirty again.
 */
static int write_runs(pager *p, pager_frame **frames, uint32_t count)
{
    pager_io_req reqs[PAGER_WRITE_RUN_PAGES_MAX];
    uint32_t run_start[PAGER_WRITE_RUN_PAGES_MAX];
    int rc = ALEXDB_OK;
    for (uint32_t next = 0; next < count;) {
        uint32_t slot = 0;
        uint32_t req_count = 0;
        while (next < count && slot < PAGER_WRITE_RUN_PAGES_MAX) {
            uint32_t len = 1;
            while (next + len < count && slot + len < PAGER_WRITE_RUN_PAGES_MAX &&
                   pager_frame_page_no(frames[next + len]) ==
                       pager_frame_page_no(frames[next]) + len) {
                len++;
            }
            stage_frames(p, frames + next, len, slot);
            reqs[req_count] = (pager_io_req){
                .buf = p->flush_staging + (size_t)slot * PAGER_PAGE_SIZE,
                .offset = pager_frame_page_no(frames[next]) * PAGER_PAGE_SIZE,
                .size = len * PAGER_PAGE_SIZE, .op = PAGER_IO_WRITE};
            run_start[req_count++] = next;
            slot += len;
            next += len;
        }
        int batch_rc = pager_file_rw(p->file, reqs, req_count);
        atomic_fetch_add_explicit(&p->dirty_write_count, req_count, memory_order_relaxed);
        if (batch_rc == ALEXDB_OK) continue;
        if (rc == ALEXDB_OK) rc = batch_rc;
        for (uint32_t r = 0; r < req_count; r++) {
            if (reqs[r].result == (int32_t)reqs[r].size) continue;
            uint32_t end = r + 1 < req_count ? run_start[r + 1] : next;
            for (uint32_t i = run_start[r]; i < end; i++) pager_dirty_set(p, frames[i]);
        }
    }
    return rc;
}

int pager_write_images(pager *p, uint8_t *images, uint32_t count)
{
    pager_io_req reqs[PAGER_IO_BATCH_MAX];
    int rc = ALEXDB_OK;
    for (uint32_t next = 0; next < count && rc == ALEXDB_OK;) {
        uint32_t req_count = 0;
        while (next < count && req_count < PAGER_IO_BATCH_MAX) {
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
 * The live pages of a checkpoint (P12): images taken once, written to the double-write
 * file and synced, then in place and synced. A crash in between is rolled forward at
 * the next open from the double-write file, so no live page is ever torn or half new.
 */
static int write_live(pager *p, pager_frame **frames, uint32_t count, uint64_t lsn,
                      const void *payload, uint32_t payload_size)
{
    uint8_t *images = NULL;
    if (posix_memalign((void **)&images, PAGER_PAGE_SIZE, (size_t)count * PAGER_PAGE_SIZE) != 0) {
        return common_error(ALEXDB_NOMEM, "checkpoint: out of memory for %u page images", count);
    }
    copy_images(p, frames, count, images);
    int rc = pager_dwb_write(p, images, count, lsn, payload, payload_size);
    if (rc == ALEXDB_OK) rc = pager_write_images(p, images, count);
    if (rc == ALEXDB_OK) rc = pager_file_sync(p->file);
    if (rc != ALEXDB_OK) {
        for (uint32_t i = 0; i < count; i++) pager_dirty_set(p, frames[i]);
    }
    free(images);
    return rc;
}

int pager_checkpoint(pager *p, uint64_t lsn, const void *payload, uint32_t payload_size)
{
    ALEXDB_ASSERT(p != NULL && (payload != NULL || payload_size == 0));
    if (p->config.read_only) return common_error(ALEXDB_READONLY, "checkpoint: read-only");
    if (payload_size > PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX) {
        return common_error(ALEXDB_TOOBIG, "checkpoint payload of %u bytes (at most %u)",
                            payload_size, PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX);
    }
    pthread_mutex_lock(&p->flush_lock);
    uint32_t fresh = 0;
    uint32_t count = collect_dirty(p, &fresh);
    /* Fresh pages first, in place: the checkpoint in force does not use them (P12). */
    int rc = write_runs(p, p->flush_frames, fresh);
    if (rc == ALEXDB_OK) rc = pager_file_sync(p->file);
    if (rc == ALEXDB_OK && count > fresh) {
        rc = write_live(p, p->flush_frames + fresh, count - fresh, lsn, payload, payload_size);
    }
    if (rc == ALEXDB_OK) {
        /* Every cached page is now part of the checkpoint being committed. */
        atomic_fetch_add(&p->epoch, 1);
    }
    for (uint32_t i = 0; i < count; i++) pager_unpin(p, p->flush_frames[i]);
    if (rc == ALEXDB_OK) rc = pager_superblock_commit(p, lsn, payload, payload_size);
    pthread_mutex_unlock(&p->flush_lock);
    return rc;
}

int pager_flush(pager *p)
{
    ALEXDB_ASSERT(p != NULL);
    if (p->config.read_only) return ALEXDB_OK;
    pager_superblock sb;
    pager_superblock_get(p, &sb);
    return pager_checkpoint(p, sb.lsn, sb.payload, sb.payload_size);
}
