/*
 * recovery.c: wal_open. Lists the segments, checks each header page, reads the records
 * in order with large sequential reads, verifies every one and hands those after the
 * checkpoint to the replay callback; then decides what the first break in the log is
 * and leaves the log ready for appends after the last intact record.
 *
 * TORN TAIL OR CORRUPTION (docs/FORMAT.md 9.4). The log stops at the first place where
 * the next record is not an intact record with the expected LSN. Beyond it:
 *   - in the last segment, every 8-byte offset is tried for an intact record with an
 *     LSN above the expected one. One whose group_first_lsn is also above it was
 *     written by a later group, which started only after the group holding the bad
 *     record had completed its fdatasync (W5): the bad record had been durable, so
 *     this is corruption (ALEXDB_CORRUPT naming the segment and offset);
 *   - a later segment existing at all is the same proof: a segment is created only
 *     after every write to the one before it was synced (W5, W10);
 *   - a gap or an overlap between segments that the checkpoint does not cover is
 *     corruption too;
 *   - otherwise it is the torn tail of a group that was never acknowledged: it is cut
 *     off (zeroed and synced), so that its stale bytes can never be read as records
 *     once new records are written over the front of it (W7).
 * With config.salvage, corruption is cut off like a torn tail, with a warning.
 *
 * Entry point: wal_open. Design and invariants: wal/README.md.
 */
#include "wal_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- A sequential reader over one segment -------------------------------------------- */

typedef struct wal_reader {
    pager_file *file;
    const char *path;
    uint64_t file_size;  /* whole blocks */
    uint8_t *buf;        /* block-aligned */
    size_t capacity;
    uint64_t buf_offset; /* file offset of buf[0]; block-aligned */
    size_t buf_size;     /* bytes of buf holding file data */
} wal_reader;

static void reader_attach(wal_reader *r, pager_file *file, uint64_t file_size)
{
    ALEXDB_ASSERT(file_size % WAL_BLOCK_SIZE == 0);
    r->file = file;
    r->path = pager_file_path(file);
    r->file_size = file_size;
    r->buf_offset = 0;
    r->buf_size = 0;
}

/*
 * Points *out at bytes [offset, offset + size) of the segment, reading them if they are
 * not in the window; *out = NULL if they pass the end of the file. The window moves
 * forward by WAL_READ_SIZE at a time and keeps what it already holds.
 */
static int reader_get(wal_reader *r, uint64_t offset, uint64_t size, const uint8_t **out)
{
    ALEXDB_ASSERT(size > 0 && size <= WAL_FRAMED_SIZE_MAX);
    *out = NULL;
    if (offset > r->file_size || size > r->file_size - offset) return ALEXDB_OK;
    if (offset >= r->buf_offset && offset + size <= r->buf_offset + r->buf_size) {
        *out = r->buf + (offset - r->buf_offset);
        return ALEXDB_OK;
    }
    uint64_t start = offset / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
    uint64_t end = (offset + size + WAL_BLOCK_SIZE - 1) / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
    end = COMMON_MIN(r->file_size, COMMON_MAX(end, start + WAL_READ_SIZE));
    size_t keep = 0;
    if (start >= r->buf_offset && start < r->buf_offset + r->buf_size) {
        keep = (size_t)(r->buf_offset + r->buf_size - start);
    }
    if (end - start > r->capacity) {
        uint8_t *grown = NULL;
        if (posix_memalign((void **)&grown, WAL_BLOCK_SIZE, (size_t)(end - start)) != 0) {
            return common_error(ALEXDB_NOMEM, "wal: out of memory reading %s", r->path);
        }
        if (keep > 0) memcpy(grown, r->buf + (start - r->buf_offset), keep);
        free(r->buf);
        r->buf = grown;
        r->capacity = (size_t)(end - start);
    } else if (keep > 0) {
        memmove(r->buf, r->buf + (start - r->buf_offset), keep);
    }
    r->buf_offset = start;
    r->buf_size = keep;
    pager_io_req req = {.buf = r->buf + keep, .offset = start + keep,
                        .size = (uint32_t)(end - start - keep), .op = PAGER_IO_READ};
    int rc = pager_file_rw(r->file, &req, 1);
    if (rc != ALEXDB_OK) return rc;
    r->buf_size = (size_t)(end - start);
    *out = r->buf + (offset - start);
    return ALEXDB_OK;
}

/* ---- State ---------------------------------------------------------------------------- */

typedef struct recovery {
    wal *w;
    uint64_t from_lsn;
    wal_replay_fn replay;
    void *ctx;
    wal_reader reader;
    uint64_t expected;      /* the LSN the next record must have */
    /* Where the intact log stops (set by walk()). */
    uint32_t stop_index;    /* the segment */
    uint64_t stop_offset;   /* where the next record would start */
    bool stop_bad;          /* a bad record there (else zeros or the end of the file) */
    bool stop_forced;       /* corruption whatever the tail holds: gap, overlap, later segment */
    char why[192];
    /* The segment stop_index, open (writable unless read-only), and its last block. */
    pager_file *stop_file;
    uint8_t tail[WAL_BLOCK_SIZE];
    /* What scan_tail() found after the stop. */
    uint64_t nonzero_end;   /* end of the last block with a nonzero byte at or after the stop */
    bool evidence;
    uint64_t evidence_offset, evidence_lsn, evidence_group_first_lsn;
} recovery;

/* Opens segment index, fixes a size that is not whole blocks, checks its header. */
static int open_segment(recovery *r, uint32_t index, pager_file **file_out)
{
    wal *w = r->w;
    uint64_t first_lsn = w->segments.first_lsns[index];
    pager_file *file = NULL;
    int rc = wal_segment_open(&w->config.env, w->dir, first_lsn, w->config.read_only, &file);
    if (rc != ALEXDB_OK) return rc;
    uint64_t size = 0;
    rc = pager_file_size(file, &size);
    if (rc == ALEXDB_OK && size % WAL_BLOCK_SIZE != 0 && !w->config.read_only) {
        /* Not written by us (we write whole blocks): extend with zeros, keep every byte. */
        size = (size + WAL_BLOCK_SIZE - 1) / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
        rc = pager_file_truncate(file, size);
        if (rc == ALEXDB_OK) rc = pager_file_sync(file);
    }
    size = size / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
    const uint8_t *page = NULL;
    if (rc == ALEXDB_OK) {
        reader_attach(&r->reader, file, size);
        rc = reader_get(&r->reader, 0, PAGER_PAGE_SIZE, &page);
    }
    if (rc == ALEXDB_OK && page == NULL) {
        rc = common_corrupt(pager_file_path(file), size, "segment shorter than its header page");
    }
    if (rc == ALEXDB_OK) {
        rc = wal_segment_header_check(pager_file_path(file), page, w->config.db_id, first_lsn);
    }
    if (rc != ALEXDB_OK) {
        pager_file_close(file);
        return rc;
    }
    *file_out = file;
    return ALEXDB_OK;
}

/* ---- Reading records ------------------------------------------------------------------ */

static void stop_at(recovery *r, uint32_t index, uint64_t offset, bool bad, const char *fmt, ...)
    COMMON_PRINTF(5, 6);

static void stop_at(recovery *r, uint32_t index, uint64_t offset, bool bad, const char *fmt, ...)
{
    r->stop_index = index;
    r->stop_offset = offset;
    r->stop_bad = bad;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

/*
 * Reads segment index's records from the first, replaying each, until one is not an
 * intact record with the expected LSN (or zeros, or the end of the file); records where
 * the log stops. Bounded (W12): the offset grows with every record, up to the file size.
 */
static int read_records(recovery *r, uint32_t index)
{
    wal *w = r->w;
    uint64_t offset = WAL_RECORDS_OFFSET;
    for (;;) {
        const uint8_t *src = NULL;
        int rc = reader_get(&r->reader, offset, WAL_RECORD_HEADER_SIZE, &src);
        if (rc != ALEXDB_OK) return rc;
        if (src == NULL) {
            stop_at(r, index, offset, false, "the segment ends");
            return ALEXDB_OK;
        }
        wal_record rec;
        const char *why = NULL;
        wal_record_status status = wal_record_parse(src, &rec, &why);
        if (status == WAL_RECORD_ZERO) {
            stop_at(r, index, offset, false, "zeros where record lsn %" PRIu64 " belongs", r->expected);
            return ALEXDB_OK;
        }
        if (status == WAL_RECORD_VALID) {
            rc = reader_get(&r->reader, offset, rec.framed_size, &src);
            if (rc != ALEXDB_OK) return rc;
            if (src == NULL) why = "record runs past the end of the segment";
            else if (wal_record_verify(src, &rec, &why) == WAL_RECORD_VALID && rec.lsn != r->expected) {
                why = "unexpected lsn";
            }
        }
        if (why != NULL) {
            stop_at(r, index, offset, true, "record lsn %" PRIu64 ": %s (found lsn %" PRIu64 ")",
                    r->expected, why, rec.lsn);
            return ALEXDB_OK;
        }
        if (rec.lsn > r->from_lsn && r->replay != NULL) {
            rc = r->replay(r->ctx, rec.lsn, rec.type, rec.payload, rec.size);
            if (rc != ALEXDB_OK) {
                if (rc < 0 && alexdb_errmsg()[0] == '\0') {
                    common_error(rc, "wal: the replay callback failed at lsn %" PRIu64, rec.lsn);
                }
                return rc;
            }
        }
        if (rec.lsn > r->from_lsn) {
            w->replay_count++;
            w->replay_bytes += rec.framed_size;
        }
        r->expected++;
        offset += rec.framed_size;
    }
}

/*
 * Walks the segments in order. A clean end of a segment continues into the next one
 * when that starts at the expected LSN, or after a gap the checkpoint covers. Leaves
 * the segment where the log stops open in r->stop_file, and its last block in r->tail.
 */
static int walk(recovery *r)
{
    wal *w = r->w;
    const uint64_t *first_lsns = w->segments.first_lsns;
    uint32_t count = w->segments.count;
    ALEXDB_ASSERT(count > 0);
    r->expected = first_lsns[0];
    if (first_lsns[0] > r->from_lsn + 1) {
        stop_at(r, 0, 0, false, "the log starts at lsn %" PRIu64 " but the checkpoint is at lsn %" PRIu64
                ": records in between are missing", first_lsns[0], r->from_lsn);
        r->stop_forced = true;
        r->expected = r->from_lsn + 1;
        return ALEXDB_OK;
    }
    for (uint32_t i = 0; i < count; i++) {
        pager_file *file = NULL;
        int rc = open_segment(r, i, &file);
        if (rc == ALEXDB_OK) rc = read_records(r, i);
        if (rc != ALEXDB_OK) {
            pager_file_close(file);
            return rc;
        }
        bool last = i + 1 == count;
        if (!r->stop_bad && !last) {
            uint64_t next = first_lsns[i + 1];
            bool covered = next > r->expected && next <= r->from_lsn + 1;
            if (next == r->expected || covered) {
                if (covered) r->expected = next;
                pager_file_close(file);
                continue;
            }
            stop_at(r, i, r->stop_offset, false,
                    "segment %" PRIu64 " follows a segment whose records end at lsn %" PRIu64,
                    next, r->expected - 1);
        }
        /* A later segment exists only once everything before it was synced (W5, W10). */
        r->stop_forced = !last;
        r->stop_file = file;
        uint64_t block = r->stop_offset / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
        if (r->stop_offset > block) {
            const uint8_t *src = NULL;
            rc = reader_get(&r->reader, block, r->stop_offset - block, &src);
            if (rc != ALEXDB_OK) return rc;
            ALEXDB_ASSERT(src != NULL);
            memcpy(r->tail, src, (size_t)(r->stop_offset - block));
        }
        return ALEXDB_OK;
    }
    ALEXDB_ASSERT(false); /* the last segment always stops the walk */
    return ALEXDB_OK;
}

/* ---- What lies beyond the stop -------------------------------------------------------- */

static bool block_is_zero(const uint8_t *p)
{
    uint64_t acc = 0;
    for (uint32_t i = 0; i < WAL_BLOCK_SIZE; i += 8) acc |= common_load_u64le(p + i);
    return acc == 0;
}

/*
 * Is there an intact record at offset with an LSN above the expected one? Sets
 * *framed_out to its size if there is any intact record there (so the scan can skip
 * it), and records evidence of a later group.
 */
static int try_candidate(recovery *r, uint64_t offset, uint64_t *framed_out)
{
    *framed_out = 0;
    const uint8_t *src = NULL;
    int rc = reader_get(&r->reader, offset, WAL_RECORD_HEADER_SIZE, &src);
    if (rc != ALEXDB_OK || src == NULL) return rc;
    wal_record rec;
    const char *why = NULL;
    if (wal_record_parse(src, &rec, &why) != WAL_RECORD_VALID) return ALEXDB_OK;
    /* Stale records (lsn up to the expected one) are no evidence (W11): skip the checksum. */
    if (rec.lsn <= r->expected) return ALEXDB_OK;
    rc = reader_get(&r->reader, offset, rec.framed_size, &src);
    if (rc != ALEXDB_OK || src == NULL) return rc;
    if (wal_record_verify(src, &rec, &why) != WAL_RECORD_VALID) return ALEXDB_OK;
    *framed_out = rec.framed_size;
    if (rec.group_first_lsn > r->expected && !r->evidence) {
        r->evidence = true;
        r->evidence_offset = offset;
        r->evidence_lsn = rec.lsn;
        r->evidence_group_first_lsn = rec.group_first_lsn;
    }
    return ALEXDB_OK;
}

/*
 * Scans the stop segment from the stop to its end at 8-byte steps (zero blocks at a
 * time) for evidence (W11), and notes where its nonzero bytes end (what a cut zeroes).
 * Bounded (W12): the offset grows by at least 8 per step, up to the file size.
 */
static int scan_tail(recovery *r)
{
    wal_reader *reader = &r->reader;
    uint64_t offset = r->stop_offset;
    r->nonzero_end = r->stop_offset;
    while (offset < reader->file_size) {
        const uint8_t *src = NULL;
        int rc;
        if (offset % WAL_BLOCK_SIZE == 0) {
            rc = reader_get(reader, offset, WAL_BLOCK_SIZE, &src);
            if (rc != ALEXDB_OK) return rc;
            if (block_is_zero(src)) {
                offset += WAL_BLOCK_SIZE;
                continue;
            }
        }
        rc = reader_get(reader, offset, 8, &src);
        if (rc != ALEXDB_OK) return rc;
        if (common_load_u64le(src) == 0) {
            offset += 8;
            continue;
        }
        uint64_t framed = 0;
        rc = try_candidate(r, offset, &framed);
        if (rc != ALEXDB_OK) return rc;
        uint64_t end = offset + COMMON_MAX(framed, (uint64_t)8);
        r->nonzero_end = COMMON_MAX(r->nonzero_end,
                                    (end + WAL_BLOCK_SIZE - 1) / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE);
        offset = end;
    }
    return ALEXDB_OK;
}

/* ---- Cutting ----------------------------------------------------------------------------- */

/* Zeroes the stop segment from the stop to its last nonzero byte and syncs it (W7). */
static int zero_after_stop(recovery *r)
{
    uint64_t block = r->stop_offset / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
    if (r->nonzero_end <= r->stop_offset) return ALEXDB_OK;
    uint8_t *page = NULL;
    if (posix_memalign((void **)&page, WAL_BLOCK_SIZE, WAL_BLOCK_SIZE) != 0) {
        return common_error(ALEXDB_NOMEM, "wal: out of memory");
    }
    /* The intact prefix of the block is rewritten with the same bytes (W4). */
    memset(page, 0, WAL_BLOCK_SIZE);
    memcpy(page, r->tail, (size_t)(r->stop_offset - block));
    pager_io_req req = {.buf = page, .offset = block, .size = WAL_BLOCK_SIZE, .op = PAGER_IO_WRITE};
    int rc = pager_file_rw(r->stop_file, &req, 1);
    free(page);
    if (rc == ALEXDB_OK && r->nonzero_end > block + WAL_BLOCK_SIZE) {
        rc = pager_file_zero_extend(r->stop_file, block + WAL_BLOCK_SIZE,
                                    r->nonzero_end - block - WAL_BLOCK_SIZE);
    }
    if (rc == ALEXDB_OK) rc = pager_file_sync(r->stop_file);
    return rc;
}

/*
 * Cuts the log at the stop: later segments go first (removed, directory synced), then
 * the tail of the stop segment is zeroed; a crash in between leaves the same decision
 * for the next open. keep_count segments remain.
 */
static int cut(recovery *r, uint32_t keep_count)
{
    wal *w = r->w;
    uint32_t count = w->segments.count;
    for (uint32_t i = count; i > keep_count; i--) {
        int rc = wal_segment_remove(&w->config.env, w->dir, w->segments.first_lsns[i - 1]);
        if (rc != ALEXDB_OK) return rc;
        w->segments.count--;
    }
    if (count > keep_count) {
        int rc = pager_dir_sync(&w->config.env, w->dir);
        if (rc != ALEXDB_OK) return rc;
    }
    return keep_count > 0 ? zero_after_stop(r) : ALEXDB_OK;
}

/* Torn tail, corruption, or a clean end: decides, reports, and cuts (unless read-only). */
static int settle(recovery *r)
{
    wal *w = r->w;
    int rc = ALEXDB_OK;
    if (r->stop_file != NULL) rc = scan_tail(r);
    if (rc != ALEXDB_OK) return rc;
    bool corrupt = r->stop_forced || r->evidence;
    bool dirty = r->stop_forced || r->stop_bad || r->nonzero_end > r->stop_offset;
    if (!dirty) return ALEXDB_OK;
    /* The stop segment; for a log that starts too late, the first one. */
    char *first_path = NULL;
    const char *where = r->stop_file != NULL ? pager_file_path(r->stop_file) : NULL;
    if (where == NULL) {
        first_path = wal_segment_path(w->dir, w->segments.first_lsns[0], WAL_SEGMENT_SUFFIX);
        if (first_path == NULL) return common_error(ALEXDB_NOMEM, "wal: out of memory");
        where = first_path;
    }
    if (corrupt) {
        char detail[160] = "";
        if (r->evidence) {
            snprintf(detail, sizeof(detail), "; a record of a later group (lsn %" PRIu64
                     ", group %" PRIu64 ") is intact at offset %" PRIu64,
                     r->evidence_lsn, r->evidence_group_first_lsn, r->evidence_offset);
        } else if (r->stop_forced && r->stop_index + 1 < w->segments.count) {
            snprintf(detail, sizeof(detail), "; the log goes on in a later segment");
        }
        if (!w->config.salvage) {
            rc = common_corrupt(where, r->stop_offset, "%s%s", r->why, detail);
            free(first_path);
            return rc;
        }
        wal_log(w, PAGER_LOG_WARN, "alexdb: wal: salvage: %s offset %" PRIu64 ": %s%s; "
                "keeping the %" PRIu64 " records before it", where, r->stop_offset, r->why,
                detail, r->expected - 1);
    } else {
        wal_log(w, PAGER_LOG_INFO, "alexdb: wal: torn tail at %s offset %" PRIu64 " (%s): cut off",
                where, r->stop_offset, r->why);
    }
    free(first_path);
    if (w->config.read_only) return ALEXDB_OK;
    uint32_t keep_count = r->stop_file != NULL ? r->stop_index + 1 : 0;
    return cut(r, keep_count);
}

/* ---- wal_open ---------------------------------------------------------------------------- */

/*
 * Where appends resume: after the last intact record in the stop segment, or in a new
 * segment when none is left or the checkpoint is ahead of the log (its LSNs must not
 * repeat or leave a gap inside a segment, W1).
 */
static int prepare_start(recovery *r, wal_start *start)
{
    wal *w = r->w;
    memset(start, 0, sizeof(*start));
    start->next_lsn = COMMON_MAX(r->expected, r->from_lsn + 1);
    if (r->stop_file != NULL && start->next_lsn == r->expected) {
        ALEXDB_ASSERT(r->stop_index + 1 == w->segments.count && r->stop_offset >= WAL_RECORDS_OFFSET);
        uint64_t size = 0;
        int rc = pager_file_size(r->stop_file, &size);
        if (rc != ALEXDB_OK) return rc;
        start->file = r->stop_file;
        r->stop_file = NULL;
        start->segment_first_lsn = w->segments.first_lsns[r->stop_index];
        start->end_offset = r->stop_offset;
        start->prealloc_size = size / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
        memcpy(start->tail, r->tail, sizeof(start->tail));
        return ALEXDB_OK;
    }
    pager_file_close(r->stop_file);
    r->stop_file = NULL;
    uint64_t prealloc_size =
        COMMON_MIN(w->config.segment_size, WAL_RECORDS_OFFSET + (uint64_t)WAL_PREALLOC_CHUNK_SIZE);
    int rc = wal_segment_create(&w->config.env, w->dir, w->config.db_id, start->next_lsn,
                                w->config.segment_size, prealloc_size, &start->file);
    if (rc == ALEXDB_OK) rc = wal_segment_list_push(&w->segments, start->next_lsn);
    start->segment_first_lsn = start->next_lsn;
    start->end_offset = WAL_RECORDS_OFFSET;
    start->prealloc_size = prealloc_size;
    return rc;
}

static int check_config(const wal_config *config, wal_config *out)
{
    *out = *config;
    if (out->segment_size == 0) out->segment_size = WAL_SEGMENT_SIZE_DEFAULT;
    if (out->segment_size < WAL_SEGMENT_SIZE_MIN || out->segment_size > (UINT64_C(1) << 40)) {
        return common_error(ALEXDB_INVALID, "wal: segment_size must be in [%u, 2^40]",
                            WAL_SEGMENT_SIZE_MIN);
    }
    out->segment_size = (out->segment_size + WAL_BLOCK_SIZE - 1) / WAL_BLOCK_SIZE * WAL_BLOCK_SIZE;
    return ALEXDB_OK;
}

static wal *wal_new(const char *dir, const wal_config *config)
{
    wal *w = calloc(1, sizeof(*w));
    if (w == NULL) return NULL;
    w->dir = strdup(dir);
    if (w->dir == NULL) {
        free(w);
        return NULL;
    }
    w->config = *config;
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->segments_lock, NULL);
    return w;
}

/* Recovers the log: replay, then settle the tail. */
static int recover(recovery *r)
{
    if (r->w->segments.count == 0) {
        r->expected = r->from_lsn + 1;
        return ALEXDB_OK;
    }
    int rc = walk(r);
    if (rc == ALEXDB_OK) rc = settle(r);
    return rc;
}

int wal_open(const char *dir, const wal_config *config, uint64_t from_lsn, wal_replay_fn replay,
             void *ctx, wal **wal_out)
{
    if (dir == NULL || config == NULL || wal_out == NULL) {
        return common_error(ALEXDB_INVALID, "wal_open: NULL argument");
    }
    *wal_out = NULL;
    if (from_lsn == UINT64_MAX) return common_error(ALEXDB_INVALID, "wal_open: from_lsn too large");
    wal_config checked;
    int rc = check_config(config, &checked);
    if (rc != ALEXDB_OK) return rc;
    wal *w = wal_new(dir, &checked);
    if (w == NULL) return common_error(ALEXDB_NOMEM, "wal_open: out of memory");
    recovery *r = calloc(1, sizeof(*r));
    wal_start *start = calloc(1, sizeof(*start));
    if (r == NULL || start == NULL) {
        rc = common_error(ALEXDB_NOMEM, "wal_open: out of memory");
        goto fail;
    }
    *r = (recovery){.w = w, .from_lsn = from_lsn, .replay = replay, .ctx = ctx};
    rc = wal_segment_list_load(&w->config.env, dir, w->config.read_only, &w->segments);
    if (rc == ALEXDB_OK) rc = recover(r);
    if (rc != ALEXDB_OK) goto fail;
    if (w->config.read_only) {
        uint64_t last_lsn = COMMON_MAX(r->expected, from_lsn + 1) - 1;
        atomic_store(&w->last_lsn, last_lsn);
        atomic_store(&w->durable_lsn, last_lsn);
    } else {
        rc = prepare_start(r, start);
        if (rc == ALEXDB_OK) rc = wal_writer_start(w, start);
        if (rc != ALEXDB_OK) goto fail;
    }
    pager_file_close(r->stop_file);
    free(r->reader.buf);
    free(r);
    free(start);
    *wal_out = w;
    return ALEXDB_OK;

fail:
    if (r != NULL) {
        pager_file_close(r->stop_file);
        free(r->reader.buf);
    }
    if (start != NULL) pager_file_close(start->file);
    free(r);
    free(start);
    wal_destroy(w);
    return rc;
}
