/*
 * pager.c: opening and closing a page file with its buffer pool, allocating pages,
 * uncached multi-page I/O, and stats. The frames and pinning are in pool.c, write-back
 * in writeback.c, the superblock in superblock.c. Design: pager/README.md.
 */
#include "pager_int.h"

#include <inttypes.h>
#include <stdlib.h>

#define EXTEND_CHUNK_PAGES_MIN 256u /* grow the file by at least 1 MiB */

void pager_config_init(pager_config *config)
{
    ALEXDB_ASSERT(config != NULL);
    memset(config, 0, sizeof(*config));
    config->cache_bytes = 64u << 20;
    config->create = 1;
    config->hit_prefetch_lines = 2;
}

static int open_file(pager *p, const char *path)
{
    unsigned flags = p->config.read_only ? PAGER_OPEN_READONLY
                     : p->config.create  ? PAGER_OPEN_CREATE
                                         : 0;
    int rc = pager_file_open(&p->config.env, path, flags, &p->file);
    if (rc != ALEXDB_OK) return rc;
    uint64_t size = 0;
    rc = pager_file_size(p->file, &size);
    if (rc != ALEXDB_OK) return rc;
    if (size == 0 && p->config.create && !p->config.read_only) {
        rc = pager_superblock_create(p);
    } else if (size == 0) {
        rc = common_error(ALEXDB_NOTDB, "%s is empty, not an alexdb file", path);
    } else {
        rc = pager_superblock_load(p);
    }
    if (rc != ALEXDB_OK) return rc;
    if (size == 0) size = 2 * PAGER_PAGE_SIZE;
    atomic_store(&p->page_count, p->superblock.page_count);
    p->file_page_count = size / PAGER_PAGE_SIZE;
    return ALEXDB_OK;
}

int pager_open(const char *path, const pager_config *config, pager **pager_out)
{
    if (path == NULL || pager_out == NULL) {
        return common_error(ALEXDB_INVALID, "pager_open: NULL path or output pointer");
    }
    *pager_out = NULL;
    pager *p = calloc(1, sizeof(*p));
    if (p == NULL) return common_error(ALEXDB_NOMEM, "pager_open: out of memory");
    if (config != NULL) p->config = *config;
    else pager_config_init(&p->config);
    int rc = ALEXDB_OK;
    if (p->config.cache_bytes < PAGER_CACHE_SIZE_MIN ||
        p->config.cache_bytes / PAGER_PAGE_SIZE > UINT32_MAX / 2) {
        rc = common_error(ALEXDB_INVALID, "cache of %zu bytes: must be at least %u bytes",
                          p->config.cache_bytes, PAGER_CACHE_SIZE_MIN);
        goto fail;
    }
    if (p->config.hit_prefetch_lines > PAGER_PAGE_SIZE / 64u) {
        rc = common_error(ALEXDB_INVALID, "hit_prefetch_lines %u: at most %u", p->config.hit_prefetch_lines,
                          PAGER_PAGE_SIZE / 64u);
        goto fail;
    }
    p->frame_count = (uint32_t)(p->config.cache_bytes / PAGER_PAGE_SIZE);
    p->hit_count = common_counter_new();
    if (p->hit_count == NULL) {
        rc = common_error(ALEXDB_NOMEM, "pager_open: out of memory");
        goto fail;
    }
    pthread_mutex_init(&p->extend_lock, NULL);
    pthread_mutex_init(&p->flush_lock, NULL);
    pthread_mutex_init(&p->superblock_lock, NULL);
    rc = open_file(p, path);
    if (rc != ALEXDB_OK) goto fail;
    rc = pager_pool_init(p);
    if (rc == ALEXDB_OK) rc = pager_dwb_recover(p);
    if (rc != ALEXDB_OK) goto fail;
    *pager_out = p;
    return ALEXDB_OK;

fail:
    pager_close(p);
    return rc;
}

void pager_close(pager *p)
{
    if (p == NULL) return;
    pager_pool_destroy(p);
    pager_file_close(atomic_load(&p->dwb));
    pager_file_close(p->file);
    free(p->hit_count);
    free(p);
}

uint64_t pager_page_count(pager *p)
{
    return atomic_load(&p->page_count);
}

/* Makes the file hold at least needed pages (caller holds extend_lock). */
static int file_grow(pager *p, uint64_t needed, uint64_t in_use)
{
    if (needed > PAGER_PAGE_COUNT_MAX) {
        return common_error(ALEXDB_FULL, "%s: %" PRIu64 " pages would pass the limit of %" PRIu64,
                            pager_file_path(p->file), needed, PAGER_PAGE_COUNT_MAX);
    }
    if (needed <= p->file_page_count) return ALEXDB_OK;
    /* Reserved whole (fallocate, else real zeros), not page by page as pages are
     * written; durable with the checkpoint's fdatasync, before its superblock. */
    uint64_t grow = COMMON_MAX(needed - p->file_page_count,
                               COMMON_MAX((uint64_t)EXTEND_CHUNK_PAGES_MIN, in_use / 8));
    int rc = pager_file_allocate(p->file, p->file_page_count * PAGER_PAGE_SIZE,
                                 grow * PAGER_PAGE_SIZE);
    if (rc == ALEXDB_OK) p->file_page_count += grow;
    return rc;
}

int pager_extend(pager *p, uint32_t count, uint64_t *first_page_no_out)
{
    ALEXDB_ASSERT(p != NULL && first_page_no_out != NULL && count > 0);
    if (p->config.read_only) return common_error(ALEXDB_READONLY, "pager_extend: read-only");
    pthread_mutex_lock(&p->extend_lock);
    uint64_t first = atomic_load(&p->page_count);
    int rc = file_grow(p, first + count, first);
    if (rc == ALEXDB_OK) {
        atomic_store(&p->page_count, first + count);
        *first_page_no_out = first;
    }
    pthread_mutex_unlock(&p->extend_lock);
    return rc;
}

int pager_reserve(pager *p, uint64_t count)
{
    ALEXDB_ASSERT(p != NULL);
    if (p->config.read_only) return common_error(ALEXDB_READONLY, "pager_reserve: read-only");
    pthread_mutex_lock(&p->extend_lock);
    uint64_t in_use = atomic_load(&p->page_count);
    int rc = count > PAGER_PAGE_COUNT_MAX - in_use
                 ? common_error(ALEXDB_FULL, "%s: %" PRIu64 " more pages would pass the limit",
                                pager_file_path(p->file), count)
                 : file_grow(p, in_use + count, in_use);
    pthread_mutex_unlock(&p->extend_lock);
    return rc;
}

static int check_run(pager *p, uint64_t first, uint32_t count, const uint8_t *buf)
{
    if (buf == NULL || (uintptr_t)buf % PAGER_PAGE_SIZE != 0 || count == 0 ||
        count > INT32_MAX / PAGER_PAGE_SIZE || first < 2) {
        return common_error(ALEXDB_INVALID, "page run %" PRIu64 "+%u: bad arguments", first, count);
    }
    uint64_t page_count = atomic_load(&p->page_count);
    if (first + count > page_count) {
        return common_corrupt(pager_file_path(p->file), first * PAGER_PAGE_SIZE,
                              "page run %" PRIu64 "+%u beyond the end of the file (%" PRIu64
                              " pages)", first, count, page_count);
    }
    return ALEXDB_OK;
}

int pager_read_pages(pager *p, uint64_t first, uint32_t count, uint8_t *buf)
{
    ALEXDB_ASSERT(p != NULL);
    int rc = check_run(p, first, count, buf);
    if (rc != ALEXDB_OK) return rc;
    pager_io_req req = {.buf = buf, .offset = first * PAGER_PAGE_SIZE,
                        .size = count * PAGER_PAGE_SIZE, .op = PAGER_IO_READ};
    rc = pager_file_rw(p->file, &req, 1);
    for (uint32_t i = 0; i < count && rc == ALEXDB_OK; i++) {
        rc = pager_page_check(pager_file_path(p->file), buf + (size_t)i * PAGER_PAGE_SIZE, first + i);
    }
    return rc;
}

int pager_write_pages(pager *p, uint64_t first, uint32_t count, uint8_t *buf, uint64_t lsn)
{
    pager_page_run run = {.first = first, .count = count, .buf = buf};
    return pager_write_runs(p, &run, 1, lsn);
}

int pager_write_runs(pager *p, const pager_page_run *runs, uint32_t run_count, uint64_t lsn)
{
    ALEXDB_ASSERT(p != NULL && (runs != NULL || run_count == 0));
    if (run_count > PAGER_WRITE_RUNS_MAX) {
        return common_error(ALEXDB_INVALID, "pager_write_runs: %u runs, at most %u", run_count,
                            PAGER_WRITE_RUNS_MAX);
    }
    pager_io_req reqs[PAGER_WRITE_RUNS_MAX];
    for (uint32_t r = 0; r < run_count; r++) {
        const pager_page_run *run = &runs[r];
        int rc = check_run(p, run->first, run->count, run->buf);
        if (rc != ALEXDB_OK) return rc;
        if (p->config.read_only) return common_error(ALEXDB_READONLY, "pager_write_runs: read-only");
        for (uint32_t i = 0; i < run->count; i++) {
            pager_page_seal(run->buf + (size_t)i * PAGER_PAGE_SIZE, run->first + i, lsn);
        }
        reqs[r] = (pager_io_req){.buf = run->buf, .offset = run->first * PAGER_PAGE_SIZE,
                                 .size = run->count * PAGER_PAGE_SIZE, .op = PAGER_IO_WRITE};
    }
    return pager_file_rw(p->file, reqs, run_count);
}

void pager_stats_get(pager *p, pager_stats *stats_out)
{
    ALEXDB_ASSERT(p != NULL && stats_out != NULL);
    pager_file_stats(p->file, &stats_out->io);
    pager_file *dwb = atomic_load(&p->dwb);
    if (dwb != NULL) pager_file_stats(dwb, &stats_out->dwb_io);
    else memset(&stats_out->dwb_io, 0, sizeof(stats_out->dwb_io));
    stats_out->hit_count = common_counter_sum(p->hit_count);
    stats_out->miss_count = atomic_load_explicit(&p->miss_count, memory_order_relaxed);
    stats_out->eviction_count = atomic_load_explicit(&p->eviction_count, memory_order_relaxed);
    stats_out->dirty_write_count = atomic_load_explicit(&p->dirty_write_count, memory_order_relaxed);
    stats_out->dirty_count = atomic_load_explicit(&p->dirty_count, memory_order_relaxed);
    stats_out->frame_count = p->frame_count;
    stats_out->backend = pager_file_backend_name(p->file);
    stats_out->fallback_reason = pager_file_fallback_reason(p->file);
}

pager_file *pager_get_file(pager *p)
{
    return p->file;
}
