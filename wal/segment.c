/*
 * segment.c: the log's files. A segment is wal-<16 lowercase hex digits of its first
 * LSN>.log in the database directory: a 4 KiB header page (a regular pager page of kind
 * PAGER_KIND_WAL_SEGMENT: db_id, first_lsn, ...) and records from offset 4096, in a file
 * preallocated with real zeros (docs/FORMAT.md 9.1, 9.2).
 *
 * A segment comes into being atomically (W10): it is built under a temporary name
 * (.tmp), header and zeros synced, then renamed into place and the directory synced,
 * so recovery never meets a segment with a half-written header; a leftover .tmp is
 * removed by the next open. Segments are removed only when a checkpoint covers every
 * record in them, and never the newest (W9).
 *
 * Entry points: wal_segment_name / parse_name / path, wal_segment_header_encode /
 * check, wal_segment_list_load, wal_segment_create / open / preallocate / remove, and
 * the public wal_release_before. All device access goes through pager/ (pager.h 2).
 */
#include "wal_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- Names ----------------------------------------------------------------------- */

void wal_segment_name(uint64_t first_lsn, const char *suffix, char *name_out)
{
    ALEXDB_ASSERT(name_out != NULL && suffix != NULL && strlen(suffix) == 4);
    snprintf(name_out, WAL_SEGMENT_NAME_SIZE, "wal-%016" PRIx64 "%s", first_lsn, suffix);
}

bool wal_segment_parse_name(const char *name, const char *suffix, uint64_t *first_lsn_out)
{
    ALEXDB_ASSERT(name != NULL && suffix != NULL && first_lsn_out != NULL);
    if (strlen(name) != WAL_SEGMENT_NAME_SIZE - 1 || strncmp(name, "wal-", 4) != 0 ||
        strcmp(name + 20, suffix) != 0) {
        return false;
    }
    uint64_t value = 0;
    for (uint32_t i = 4; i < 20; i++) {
        char c = name[i];
        uint64_t digit;
        if (c >= '0' && c <= '9') digit = (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f') digit = (uint64_t)(c - 'a' + 10);
        else return false; /* uppercase too: one name per segment */
        value = value << 4 | digit;
    }
    *first_lsn_out = value;
    return true;
}

char *wal_segment_path(const char *dir, uint64_t first_lsn, const char *suffix)
{
    char name[WAL_SEGMENT_NAME_SIZE];
    wal_segment_name(first_lsn, suffix, name);
    size_t size = strlen(dir) + 1 + sizeof(name);
    char *path = malloc(size);
    if (path != NULL) snprintf(path, size, "%s/%s", dir, name);
    return path;
}

/* ---- The header page (FORMAT.md 9.2) ------------------------------------------- */

void wal_segment_header_encode(uint8_t *page, uint64_t db_id, uint64_t first_lsn,
                               uint64_t segment_size)
{
    ALEXDB_ASSERT(first_lsn >= 1);
    ALEXDB_ASSERT(segment_size >= WAL_SEGMENT_SIZE_MIN && segment_size % WAL_BLOCK_SIZE == 0);
    pager_page_init(page, PAGER_KIND_WAL_SEGMENT);
    memcpy(page + WAL_SEG_IDENT, WAL_SEG_IDENT_BYTES, 8);
    common_store_u64le(page + WAL_SEG_DB_ID, db_id);
    common_store_u64le(page + WAL_SEG_FIRST_LSN, first_lsn);
    common_store_u64le(page + WAL_SEG_SEGMENT_SIZE, segment_size);
    common_store_u32le(page + WAL_SEG_BLOCK_SIZE, WAL_BLOCK_SIZE);
    common_store_u32le(page + WAL_SEG_RESERVED, 0);
    pager_page_seal(page, 0, 0);
    /* Pair assertion. */
    ALEXDB_ASSERT(wal_segment_header_check("(new segment)", page, db_id, first_lsn) == ALEXDB_OK);
}

int wal_segment_header_check(const char *path, const uint8_t *page, uint64_t db_id,
                             uint64_t first_lsn)
{
    int rc = pager_page_check(path, page, 0);
    if (rc != ALEXDB_OK) return rc;
    if (pager_page_kind(page) != PAGER_KIND_WAL_SEGMENT) {
        return common_corrupt(path, 0, "a %s page where a log segment header belongs",
                              pager_kind_name(pager_page_kind(page)));
    }
    if (memcmp(page + WAL_SEG_IDENT, WAL_SEG_IDENT_BYTES, 8) != 0) {
        return common_corrupt(path, WAL_SEG_IDENT, "bad segment ident");
    }
    uint64_t stored_db_id = common_load_u64le(page + WAL_SEG_DB_ID);
    if (stored_db_id != db_id) {
        return common_corrupt(path, WAL_SEG_DB_ID,
                              "segment of database %016" PRIx64 " in database %016" PRIx64,
                              stored_db_id, db_id);
    }
    uint64_t stored_first_lsn = common_load_u64le(page + WAL_SEG_FIRST_LSN);
    if (stored_first_lsn != first_lsn) {
        return common_corrupt(path, WAL_SEG_FIRST_LSN,
                              "header says first lsn %" PRIu64 ", the name says %" PRIu64,
                              stored_first_lsn, first_lsn);
    }
    uint64_t segment_size = common_load_u64le(page + WAL_SEG_SEGMENT_SIZE);
    if (segment_size < WAL_SEGMENT_SIZE_MIN || segment_size % WAL_BLOCK_SIZE != 0) {
        return common_corrupt(path, WAL_SEG_SEGMENT_SIZE, "bad segment size %" PRIu64,
                              segment_size);
    }
    if (common_load_u32le(page + WAL_SEG_BLOCK_SIZE) != WAL_BLOCK_SIZE) {
        return common_corrupt(path, WAL_SEG_BLOCK_SIZE, "bad block size");
    }
    if (pager_page_lsn(page) != 0 || common_load_u16le(page + PAGER_HDR_FLAGS) != 0) {
        return common_corrupt(path, PAGER_HDR_FLAGS, "nonzero page flags or lsn");
    }
    for (uint32_t i = WAL_SEG_RESERVED; i < PAGER_PAGE_SIZE; i++) {
        if (page[i] != 0) return common_corrupt(path, i, "nonzero reserved byte");
    }
    return ALEXDB_OK;
}

/* ---- Listing ---------------------------------------------------------------------- */

/* Room for one more entry. */
static int list_reserve(wal_segment_list *list)
{
    if (list->count == WAL_SEGMENT_COUNT_MAX) {
        return common_error(ALEXDB_TOOBIG, "more than %u log segments", WAL_SEGMENT_COUNT_MAX);
    }
    if (list->count == list->capacity) {
        uint32_t capacity = list->capacity == 0 ? 16 : list->capacity * 2;
        uint64_t *grown = realloc(list->first_lsns, capacity * sizeof(*grown));
        if (grown == NULL) return common_error(ALEXDB_NOMEM, "wal: out of memory listing segments");
        list->first_lsns = grown;
        list->capacity = capacity;
    }
    return ALEXDB_OK;
}

int wal_segment_list_push(wal_segment_list *list, uint64_t first_lsn)
{
    ALEXDB_ASSERT(list->count == 0 || list->first_lsns[list->count - 1] < first_lsn); /* W9 */
    int rc = list_reserve(list);
    if (rc == ALEXDB_OK) list->first_lsns[list->count++] = first_lsn;
    return rc;
}

void wal_segment_list_free(wal_segment_list *list)
{
    free(list->first_lsns);
    memset(list, 0, sizeof(*list));
}

typedef struct list_ctx {
    wal_segment_list *list;
    const pager_env *env;
    const char *dir;
    bool read_only;
} list_ctx;

static int list_one(void *arg, const char *name)
{
    list_ctx *ctx = arg;
    uint64_t first_lsn = 0;
    if (wal_segment_parse_name(name, WAL_SEGMENT_TMP_SUFFIX, &first_lsn)) {
        if (ctx->read_only) return ALEXDB_OK;
        /* An interrupted creation (W10): it never held a record anyone was told of. */
        char *path = wal_segment_path(ctx->dir, first_lsn, WAL_SEGMENT_TMP_SUFFIX);
        if (path == NULL) return common_error(ALEXDB_NOMEM, "wal: out of memory");
        int rc = pager_file_remove(ctx->env, path);
        free(path);
        return rc;
    }
    if (!wal_segment_parse_name(name, WAL_SEGMENT_SUFFIX, &first_lsn)) return ALEXDB_OK;
    /* Unsorted for now (the directory's order): sorted once listing is done. */
    int rc = list_reserve(ctx->list);
    if (rc == ALEXDB_OK) ctx->list->first_lsns[ctx->list->count++] = first_lsn;
    return rc;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int wal_segment_list_load(const pager_env *env, const char *dir, bool read_only,
                          wal_segment_list *list)
{
    ALEXDB_ASSERT(dir != NULL && list != NULL);
    list->count = 0;
    list_ctx ctx = {.list = list, .env = env, .dir = dir, .read_only = read_only};
    int rc = pager_dir_list(env, dir, list_one, &ctx);
    if (rc != ALEXDB_OK) return rc;
    if (list->count > 1) qsort(list->first_lsns, list->count, sizeof(uint64_t), compare_u64);
    return ALEXDB_OK;
}

/* ---- Files ------------------------------------------------------------------------- */

int wal_segment_open(const pager_env *env, const char *dir, uint64_t first_lsn, bool read_only,
                     pager_file **file_out)
{
    char *path = wal_segment_path(dir, first_lsn, WAL_SEGMENT_SUFFIX);
    if (path == NULL) return common_error(ALEXDB_NOMEM, "wal: out of memory");
    int rc = pager_file_open(env, path, read_only ? PAGER_OPEN_READONLY : 0, file_out);
    free(path);
    return rc;
}

int wal_segment_preallocate(pager_file *file, uint64_t from, uint64_t to)
{
    ALEXDB_ASSERT(from % WAL_BLOCK_SIZE == 0 && to % WAL_BLOCK_SIZE == 0 && from <= to);
    if (from == to) return ALEXDB_OK;
    int rc = pager_file_zero_extend(file, from, to - from);
    if (rc == ALEXDB_OK) rc = pager_file_sync(file);
    return rc;
}

/* Header page and zeros into the temporary file, synced (the first half of W10). */
static int build_segment(const pager_env *env, const char *tmp_path, uint64_t db_id,
                         uint64_t first_lsn, uint64_t segment_size, uint64_t prealloc_size)
{
    pager_file *file = NULL;
    int rc = pager_file_open(env, tmp_path, PAGER_OPEN_CREATE, &file);
    if (rc != ALEXDB_OK) return rc;
    uint8_t *page = NULL;
    if (posix_memalign((void **)&page, PAGER_PAGE_SIZE, PAGER_PAGE_SIZE) != 0) {
        rc = common_error(ALEXDB_NOMEM, "wal: out of memory");
        goto close_file;
    }
    wal_segment_header_encode(page, db_id, first_lsn, segment_size);
    rc = pager_file_truncate(file, 0);
    if (rc != ALEXDB_OK) goto free_page;
    pager_io_req req = {.buf = page, .offset = 0, .size = PAGER_PAGE_SIZE, .op = PAGER_IO_WRITE};
    rc = pager_file_rw(file, &req, 1);
    if (rc == ALEXDB_OK) rc = wal_segment_preallocate(file, WAL_RECORDS_OFFSET, prealloc_size);
free_page:
    free(page);
close_file:
    pager_file_close(file);
    return rc;
}

int wal_segment_create(const pager_env *env, const char *dir, uint64_t db_id, uint64_t first_lsn,
                       uint64_t segment_size, uint64_t prealloc_size, pager_file **file_out)
{
    ALEXDB_ASSERT(prealloc_size > WAL_RECORDS_OFFSET && prealloc_size % WAL_BLOCK_SIZE == 0);
    ALEXDB_ASSERT(prealloc_size <= segment_size);
    *file_out = NULL;
    char *tmp_path = wal_segment_path(dir, first_lsn, WAL_SEGMENT_TMP_SUFFIX);
    char *path = wal_segment_path(dir, first_lsn, WAL_SEGMENT_SUFFIX);
    int rc = ALEXDB_OK;
    if (tmp_path == NULL || path == NULL) {
        rc = common_error(ALEXDB_NOMEM, "wal: out of memory");
        goto free_paths;
    }
    rc = build_segment(env, tmp_path, db_id, first_lsn, segment_size, prealloc_size);
    if (rc == ALEXDB_OK) rc = pager_file_rename(env, tmp_path, path);
    if (rc != ALEXDB_OK) {
        /* Best effort; a leftover .tmp is removed by the next open anyway. */
        char message[COMMON_ERRMSG_SIZE_MAX];
        snprintf(message, sizeof(message), "%s", common_errmsg());
        int remove_rc = pager_file_remove(env, tmp_path);
        (void)remove_rc;
        common_error(rc, "%s", message);
        goto free_paths;
    }
    rc = pager_dir_sync(env, dir);
    if (rc == ALEXDB_OK) rc = pager_file_open(env, path, 0, file_out);
free_paths:
    free(tmp_path);
    free(path);
    return rc;
}

int wal_segment_remove(const pager_env *env, const char *dir, uint64_t first_lsn)
{
    char *path = wal_segment_path(dir, first_lsn, WAL_SEGMENT_SUFFIX);
    if (path == NULL) return common_error(ALEXDB_NOMEM, "wal: out of memory");
    int rc = pager_file_remove(env, path);
    free(path);
    return rc;
}

/* ---- Checkpoints: wal_release_before ------------------------------------------------ */

/*
 * Takes the oldest segment out of the list if a checkpoint at lsn covers it: every
 * record in it is below the next segment's first LSN. Never the newest (W9).
 */
static bool take_covered(wal *w, uint64_t lsn, uint64_t *first_lsn_out)
{
    pthread_mutex_lock(&w->segments_lock);
    wal_segment_list *list = &w->segments;
    bool covered = list->count >= 2 && list->first_lsns[1] - 1 <= lsn;
    if (covered) {
        *first_lsn_out = list->first_lsns[0];
        memmove(list->first_lsns, list->first_lsns + 1, (list->count - 1) * sizeof(uint64_t));
        list->count--;
    }
    pthread_mutex_unlock(&w->segments_lock);
    return covered;
}

int wal_release_before(wal *w, uint64_t lsn)
{
    if (w == NULL) return common_error(ALEXDB_INVALID, "wal_release_before: NULL log");
    if (w->config.read_only) return common_error(ALEXDB_READONLY, "wal %s is read-only", w->dir);
    int rc = ALEXDB_OK;
    uint32_t removed_count = 0;
    uint64_t first_lsn = 0;
    /* Bounded: each pass takes one segment out of a finite list. */
    while (take_covered(w, lsn, &first_lsn)) {
        int remove_rc = wal_segment_remove(&w->config.env, w->dir, first_lsn);
        if (remove_rc != ALEXDB_OK && rc == ALEXDB_OK) rc = remove_rc;
        removed_count += remove_rc == ALEXDB_OK;
    }
    if (removed_count > 0) {
        int sync_rc = pager_dir_sync(&w->config.env, w->dir);
        if (rc == ALEXDB_OK) rc = sync_rc;
    }
    return rc;
}
