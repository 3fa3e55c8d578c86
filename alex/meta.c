/*
 * meta.c: the index's metadata on disk (docs/FORMAT.md 6-7). The inner nodes and the
 * free list are serialised into one blob, written into a fresh run of pages of kind 5,
 * made durable, and only then named by a superblock commit. The run that held the
 * previous metadata is freed only after that commit, so at every moment the superblock
 * in force names a complete, checksummed blob (A8). At open everything is validated
 * before use: a bad byte anywhere is ALEXDB_CORRUPT naming file and offset.
 */
#include "index_int.h"

#include <inttypes.h>
#include <stdlib.h>

#define META_RUN_INDEX 32u
#define META_RUN_PAGE_COUNT 36u
#define META_BLOB_SIZE 40u
#define META_DATA 48u
#define META_DATA_SIZE (PAGER_PAGE_SIZE - META_DATA)

#define PAYLOAD_MAGIC 0x58444E49u /* "INDX" */
#define PAYLOAD_VERSION 1u
#define PAYLOAD_SIZE 56u

static const char *meta_path(alex_index *index)
{
    return pager_file_path(pager_get_file(index->pager));
}

/* ---- a new, empty index: one leaf covering every key ---- */

static int create_empty(alex_index *index)
{
    if (index->read_only) {
        return common_error(ALEXDB_NOTDB, "%s holds no index yet and is open read-only",
                            meta_path(index));
    }
    uint64_t page_no = 0;
    int rc = alex_pages_alloc(index, 1, &page_no);
    pager_frame *frame = NULL;
    if (rc == ALEXDB_OK) rc = pager_pin_new(index->pager, page_no, PAGER_KIND_LEAF, &frame);
    if (rc != ALEXDB_OK) return rc;
    pager_latch_exclusive(frame);
    alex_leaf_init(pager_frame_data(frame), 0, UINT64_MAX);
    pager_mark_dirty(index->pager, frame, 0);
    pager_unlatch(frame);
    pager_unpin(index->pager, frame);
    return alex_inner_create(page_no, &index->inner);
}

/* ---- store ---- */

/* The free list as it will be once the new metadata is in force: plus the old run. */
static int free_runs_after_commit(alex_index *index, alex_freelist *out)
{
    memset(out, 0, sizeof(*out));
    int rc = ALEXDB_OK;
    for (size_t i = 0; i < index->free.count && rc == ALEXDB_OK; i++) {
        rc = alex_freelist_add(out, index->free.runs[i].first, index->free.runs[i].count);
    }
    for (size_t i = 0; i < index->pending.count && rc == ALEXDB_OK; i++) {
        rc = alex_freelist_add(out, index->pending.runs[i].first, index->pending.runs[i].count);
    }
    if (rc == ALEXDB_OK && index->meta_run.count > 0) {
        rc = alex_freelist_add(out, index->meta_run.first, index->meta_run.count);
    }
    return rc;
}

/* Lays the blob out in pages of kind 5 (FORMAT.md 6). */
static uint8_t *blob_pages(const uint8_t *blob, size_t size, uint32_t page_count)
{
    void *buf = NULL;
    if (posix_memalign(&buf, PAGER_PAGE_SIZE, (size_t)page_count * PAGER_PAGE_SIZE) != 0) return NULL;
    for (uint32_t i = 0; i < page_count; i++) {
        uint8_t *page = (uint8_t *)buf + (size_t)i * PAGER_PAGE_SIZE;
        pager_page_init(page, PAGER_KIND_INNER);
        common_store_u32le(page + META_RUN_INDEX, i);
        common_store_u32le(page + META_RUN_PAGE_COUNT, page_count);
        common_store_u64le(page + META_BLOB_SIZE, size);
        size_t offset = (size_t)i * META_DATA_SIZE;
        if (offset < size) {
            memcpy(page + META_DATA, blob + offset, COMMON_MIN((size_t)META_DATA_SIZE, size - offset));
        }
    }
    return buf;
}

/* blob = u64 inner_size | inner stream | u64 run_count | runs (u64 first, u64 count). */
static uint8_t *blob_encode(const uint8_t *inner, size_t inner_size, const alex_freelist *runs,
                            size_t *size_out)
{
    size_t size = 16 + inner_size + 16 * runs->count;
    uint8_t *blob = malloc(size);
    if (blob == NULL) return NULL;
    common_store_u64le(blob, inner_size);
    memcpy(blob + 8, inner, inner_size);
    uint8_t *p = blob + 8 + inner_size;
    common_store_u64le(p, runs->count);
    for (size_t i = 0; i < runs->count; i++) {
        common_store_u64le(p + 8 + 16 * i, runs->runs[i].first);
        common_store_u64le(p + 16 + 16 * i, runs->runs[i].count);
    }
    *size_out = size;
    return blob;
}

static void payload_encode(uint8_t *payload, const alex_run *run, size_t blob_size,
                           uint64_t checksum, uint64_t key_count)
{
    memset(payload, 0, PAYLOAD_SIZE);
    common_store_u32le(payload, PAYLOAD_MAGIC);
    common_store_u32le(payload + 4, PAYLOAD_VERSION);
    common_store_u64le(payload + 8, run->first);
    common_store_u64le(payload + 16, run->count);
    common_store_u64le(payload + 24, blob_size);
    common_store_u64le(payload + 32, checksum);
    common_store_u64le(payload + 40, key_count);
}

/*
 * Writes blob into run and makes it durable; the superblock does not name it yet. The
 * run was sized from an upper bound before the blob existed, so it may hold one page
 * more than the blob needs (FORMAT.md 6): that page carries no data.
 */
static int write_blob(alex_index *index, const alex_run *run, const uint8_t *blob, size_t size)
{
    uint8_t *pages = blob_pages(blob, size, (uint32_t)run->count);
    if (pages == NULL) return common_error(ALEXDB_NOMEM, "metadata: out of memory");
    int rc = pager_write_pages(index->pager, run->first, (uint32_t)run->count, pages, 0);
    free(pages);
    if (rc == ALEXDB_OK) rc = pager_file_sync(pager_get_file(index->pager));
    return rc;
}

/* A checkpoint between its begin and its finish (A12). */
struct alex_persist_job {
    pager_checkpoint_job *pages;
    uint64_t lsn;
    alex_run run;               /* the new metadata run */
    uint8_t *blob;
    size_t blob_size;
    uint8_t payload[PAYLOAD_SIZE];
    alex_freelist committing;   /* `pending` at the begin: free once this commits */
};

static void job_free(alex_persist_job *job)
{
    alex_freelist_destroy(&job->committing);
    free(job->blob);
    free(job);
}

/* Adds every run of from to to (A6: a page in both is a bug). */
static void freelist_merge(alex_freelist *to, const alex_freelist *from)
{
    int rc = ALEXDB_OK;
    for (size_t i = 0; i < from->count && rc == ALEXDB_OK; i++) {
        rc = alex_freelist_add(to, from->runs[i].first, from->runs[i].count);
    }
    ALEXDB_ASSERT(rc != ALEXDB_CORRUPT); /* A6 */
    /* Out of memory only leaks the space until the next open. */
}

int alex_meta_store_begin(alex_index *index, uint64_t lsn, alex_persist_job **job_out)
{
    *job_out = NULL;
    alex_persist_job *job = calloc(1, sizeof(*job));
    if (job == NULL) return common_error(ALEXDB_NOMEM, "checkpoint: out of memory");
    job->lsn = lsn;
    uint8_t *inner = NULL;
    size_t inner_size = 0;
    int rc = alex_inner_encode(index->inner, &inner, &inner_size);
    if (rc != ALEXDB_OK) {
        free(job);
        return rc;
    }
    /* The free runs the blob will list, counted after merging (taking the run below
     * changes that count by at most one): the run is then exact or one page more. */
    alex_freelist merged;
    pthread_mutex_lock(&index->free_lock);
    rc = free_runs_after_commit(index, &merged);
    pthread_mutex_unlock(&index->free_lock);
    size_t bound = 16 + inner_size + 16 * (merged.count + 2);
    alex_freelist_destroy(&merged);
    if (rc == ALEXDB_OK) {
        job->run.count = (bound + META_DATA_SIZE - 1) / META_DATA_SIZE;
        rc = alex_pages_alloc(index, job->run.count, &job->run.first);
    }
    if (rc != ALEXDB_OK) {
        free(inner);
        free(job);
        return rc;
    }
    alex_freelist after;
    pthread_mutex_lock(&index->free_lock);
    rc = free_runs_after_commit(index, &after);
    pthread_mutex_unlock(&index->free_lock);
    if (rc == ALEXDB_OK) {
        job->blob = blob_encode(inner, inner_size, &after, &job->blob_size);
        if (job->blob == NULL) rc = common_error(ALEXDB_NOMEM, "metadata: out of memory");
    }
    alex_freelist_destroy(&after);
    free(inner);
    if (rc == ALEXDB_OK) {
        ALEXDB_ASSERT(job->blob_size <= job->run.count * META_DATA_SIZE);
        ALEXDB_ASSERT(job->run.count <= (job->blob_size + META_DATA_SIZE - 1) / META_DATA_SIZE + 1);
        payload_encode(job->payload, &job->run, job->blob_size, common_checksum(job->blob, job->blob_size),
                       atomic_load(&index->key_count));
        rc = pager_checkpoint_begin(index->pager, &job->pages);
    }
    if (rc != ALEXDB_OK) {
        alex_pages_release(index, job->run.first, job->run.count);
        job_free(job);
        return rc;
    }
    /* A12: pages freed from now on are used by this checkpoint: they wait for the next. */
    pthread_mutex_lock(&index->free_lock);
    job->committing = index->pending;
    memset(&index->pending, 0, sizeof(index->pending));
    pthread_mutex_unlock(&index->free_lock);
    *job_out = job;
    return ALEXDB_OK;
}

int alex_meta_store_finish(alex_index *index, alex_persist_job *job)
{
    /* The run is fresh space (A11): written directly, before the superblock names it. */
    int rc = write_blob(index, &job->run, job->blob, job->blob_size);
    if (rc == ALEXDB_OK) {
        rc = pager_checkpoint_finish(index->pager, job->pages, job->lsn, job->payload, PAYLOAD_SIZE);
    } else {
        pager_checkpoint_cancel(index->pager, job->pages);
    }
    pthread_mutex_lock(&index->free_lock);
    if (rc == ALEXDB_OK) {
        /* A8, A11, A12: the checkpoint in force now lists these as free: reusable from now. */
        alex_run old = index->meta_run;
        index->meta_run = job->run;
        if (old.count > 0) {
            int add_rc = alex_freelist_add(&index->free, old.first, old.count);
            ALEXDB_ASSERT(add_rc != ALEXDB_CORRUPT); /* A6 */
        }
        freelist_merge(&index->free, &job->committing);
    } else {
        /* The checkpoint in force is still the old one: what it freed stays pending. */
        freelist_merge(&index->pending, &job->committing);
    }
    pthread_mutex_unlock(&index->free_lock);
    if (rc != ALEXDB_OK) alex_pages_release(index, job->run.first, job->run.count);
    job_free(job);
    return rc;
}

static int payload_decode(alex_index *index, const pager_superblock *sb, alex_run *run,
                          uint64_t *blob_size, uint64_t *checksum)
{
    const uint8_t *p = sb->payload;
    const char *path = meta_path(index);
    uint64_t offset = 80; /* the payload's offset in the superblock page (FORMAT.md 2) */
    if (sb->payload_size != PAYLOAD_SIZE || common_load_u32le(p) != PAYLOAD_MAGIC) {
        return common_corrupt(path, offset, "superblock payload is not an index record");
    }
    if (common_load_u32le(p + 4) != PAYLOAD_VERSION) {
        return common_error(ALEXDB_VERSION, "%s: index record version %u; this build reads %u",
                            path, common_load_u32le(p + 4), PAYLOAD_VERSION);
    }
    run->first = common_load_u64le(p + 8);
    run->count = common_load_u64le(p + 16);
    *blob_size = common_load_u64le(p + 24);
    *checksum = common_load_u64le(p + 32);
    atomic_store(&index->key_count, common_load_u64le(p + 40));
    uint64_t page_count = pager_page_count(index->pager);
    if (common_load_u64le(p + 48) != 0 || run->first < 2 || run->count == 0 ||
        run->first > page_count || run->count > page_count - run->first || *blob_size < 16 ||
        *blob_size > run->count * META_DATA_SIZE || run->count > UINT32_MAX / PAGER_PAGE_SIZE ||
        run->count > (*blob_size + META_DATA_SIZE - 1) / META_DATA_SIZE + 1) {
        return common_corrupt(path, offset, "index record names an impossible metadata run "
                              "(%" PRIu64 "+%" PRIu64 ", %" PRIu64 " bytes)", run->first,
                              run->count, *blob_size);
    }
    return ALEXDB_OK;
}

/* Reads the run, checks every page's own fields and gathers the blob. */
static int read_blob(alex_index *index, const alex_run *run, uint64_t size, uint8_t *blob)
{
    uint8_t *pages = NULL;
    if (posix_memalign((void **)&pages, PAGER_PAGE_SIZE, run->count * PAGER_PAGE_SIZE) != 0) {
        return common_error(ALEXDB_NOMEM, "metadata: out of memory");
    }
    int rc = pager_read_pages(index->pager, run->first, (uint32_t)run->count, pages);
    for (uint64_t i = 0; i < run->count && rc == ALEXDB_OK; i++) {
        const uint8_t *page = pages + i * PAGER_PAGE_SIZE;
        size_t offset = i * META_DATA_SIZE;
        size_t used = offset < size ? COMMON_MIN((size_t)META_DATA_SIZE, size - offset) : 0;
        bool tail_zero = true;
        for (size_t b = META_DATA + used; b < PAGER_PAGE_SIZE; b++) tail_zero &= page[b] == 0;
        if (pager_page_kind(page) != PAGER_KIND_INNER || common_load_u32le(page + META_RUN_INDEX) != i ||
            common_load_u32le(page + META_RUN_PAGE_COUNT) != run->count ||
            common_load_u64le(page + META_BLOB_SIZE) != size || !tail_zero) {
            rc = common_corrupt(meta_path(index), (run->first + i) * PAGER_PAGE_SIZE,
                                "metadata page %" PRIu64 " does not belong to the run in force",
                                run->first + i);
        } else {
            memcpy(blob + offset, page + META_DATA, used);
        }
    }
    free(pages);
    return rc;
}

/* Validates the free runs of the blob and installs them (A6: sorted, disjoint, in the file,
 * clear of the metadata run). */
static int load_free_runs(alex_index *index, const uint8_t *p, uint64_t size, uint64_t offset)
{
    const char *path = meta_path(index);
    uint64_t count = common_load_u64le(p);
    if (count > (size - 8) / 16 || 8 + 16 * count != size) {
        return common_corrupt(path, offset, "free list of %" PRIu64 " runs in %" PRIu64 " bytes",
                              count, size);
    }
    uint64_t page_count = pager_page_count(index->pager);
    uint64_t prev_end = 2;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t first = common_load_u64le(p + 8 + 16 * i);
        uint64_t n = common_load_u64le(p + 16 + 16 * i);
        bool in_meta = first < index->meta_run.first + index->meta_run.count &&
                       index->meta_run.first < first + n;
        if (n == 0 || first < prev_end || first > page_count || n > page_count - first || in_meta) {
            return common_corrupt(path, offset + 8 + 16 * i, "free run %" PRIu64 "+%" PRIu64
                                  " overlaps another, the metadata or the end of the file", first, n);
        }
        int rc = alex_freelist_add(&index->free, first, n);
        if (rc != ALEXDB_OK) return rc;
        prev_end = first + n;
    }
    return ALEXDB_OK;
}

static int decode_blob(alex_index *index, const uint8_t *blob, uint64_t size)
{
    /* The blob starts at byte 48 of the run's first page (FORMAT.md 6); offsets past that
     * page's 4048 data bytes are reported relative to this base. */
    uint64_t base = index->meta_run.first * PAGER_PAGE_SIZE + META_DATA;
    uint64_t inner_size = common_load_u64le(blob);
    if (inner_size > size - 16) {
        return common_corrupt(meta_path(index), base, "inner stream of %" PRIu64 " bytes in a "
                              "%" PRIu64 "-byte metadata blob", inner_size, size);
    }
    int rc = alex_inner_decode(meta_path(index), base + 8, blob + 8, inner_size,
                               pager_page_count(index->pager), &index->inner);
    if (rc == ALEXDB_OK) rc = load_free_runs(index, blob + 8 + inner_size, size - 8 - inner_size,
                                             base + 8 + inner_size);
    return rc;
}

/* A6 at open: no leaf the inner nodes name is free or part of the metadata run. */
static int leaf_not_free(void *ctx, uint64_t page_no, uint64_t low, uint64_t high)
{
    (void)low;
    (void)high;
    alex_index *index = ctx;
    const alex_run *meta = &index->meta_run;
    bool in_meta = page_no >= meta->first && page_no < meta->first + meta->count;
    if (in_meta || alex_freelist_contains(&index->free, page_no)) {
        return common_corrupt(meta_path(index), page_no * PAGER_PAGE_SIZE, "leaf %" PRIu64
                              " is also listed as %s", page_no, in_meta ? "metadata" : "free");
    }
    return ALEXDB_OK;
}

int alex_meta_load(alex_index *index)
{
    pager_superblock sb;
    pager_superblock_get(index->pager, &sb);
    if (sb.payload_size == 0 && sb.page_count > 2) {
        return common_corrupt(meta_path(index), 80, "the superblock names no index but the "
                              "file has %llu pages", (unsigned long long)sb.page_count);
    }
    if (sb.payload_size == 0) return create_empty(index);
    alex_run run;
    uint64_t size = 0, checksum = 0;
    int rc = payload_decode(index, &sb, &run, &size, &checksum);
    if (rc != ALEXDB_OK) return rc;
    uint8_t *blob = malloc(size);
    if (blob == NULL) return common_error(ALEXDB_NOMEM, "metadata: out of memory");
    rc = read_blob(index, &run, size, blob);
    if (rc == ALEXDB_OK && common_checksum(blob, size) != checksum) {
        rc = common_corrupt(meta_path(index), run.first * PAGER_PAGE_SIZE,
                            "metadata blob checksum mismatch");
    }
    if (rc == ALEXDB_OK) {
        index->meta_run = run;
        rc = decode_blob(index, blob, size);
    }
    if (rc == ALEXDB_OK) rc = alex_inner_for_each_leaf(index->inner, leaf_not_free, index);
    free(blob);
    return rc;
}
