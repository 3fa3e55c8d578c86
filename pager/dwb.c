/*
 * dwb.c: the double-write file, which makes a checkpoint's in-place writes crash-atomic
 * (README P12; bytes: docs/FORMAT.md 10).
 *
 * A checkpoint writes the images of its live pages (pages the checkpoint in force uses)
 * here first, behind a header that names the checkpoint to come (its superblock
 * generation, LSN, page count and payload) and a checksum over the images,
 * and syncs. Only then does it overwrite those pages in place. If power fails during
 * the in-place writes, pager_dwb_recover() at the next open finds a complete file for
 * generation in-force + 1, writes every image in place again and commits the superblock
 * the checkpoint would have committed. A file that is incomplete (torn, or from an
 * older checkpoint) is ignored: its checkpoint never reached the in-place step.
 *
 * Entry points: pager_dwb_write (writeback.c's checkpoint), pager_dwb_recover
 * (pager_open).
 */
#include "pager_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define DWB_MAGIC 0x57445841u /* bytes "AXDW" */
#define DWB_MAGIC_OFFSET 32u
#define DWB_COUNT_OFFSET 36u
#define DWB_GENERATION_OFFSET 40u
#define DWB_LSN_OFFSET 48u
#define DWB_PAGE_COUNT_OFFSET 56u
#define DWB_DB_ID_OFFSET 64u
#define DWB_PAYLOAD_SIZE_OFFSET 72u
#define DWB_RESERVED_OFFSET 76u
#define DWB_IMAGES_CHECKSUM_OFFSET 80u
#define DWB_PAYLOAD_OFFSET 88u
_Static_assert(DWB_PAYLOAD_OFFSET + PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX <= PAGER_PAGE_SIZE,
               "a superblock payload fits the header page");

/* The checkpoint a header names. */
typedef struct dwb_header {
    uint32_t count;
    uint64_t generation;
    uint64_t lsn;
    uint64_t page_count;
    uint64_t db_id;
    uint32_t payload_size;
    uint64_t images_checksum;
    uint8_t payload[PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX];
} dwb_header;

static void dwb_path(const pager *p, char *out, size_t size)
{
    int n = snprintf(out, size, "%s.dwb", pager_file_path(p->file));
    ALEXDB_ASSERT(n > 0 && (size_t)n < size);
}

/* XXH3 over the images, back to back: binds the set (and its order) to its header. */
static uint64_t images_checksum(const uint8_t *images, uint32_t count)
{
    return common_checksum(images, (size_t)count * PAGER_PAGE_SIZE);
}

static int dwb_open(pager *p, bool create)
{
    if (atomic_load(&p->dwb) != NULL) return ALEXDB_OK;
    char path[PAGER_PATH_SIZE_MAX];
    dwb_path(p, path, sizeof(path));
    pager_file *file = NULL;
    int rc = pager_file_open(&p->config.env, path, create ? PAGER_OPEN_CREATE : 0, &file);
    if (rc == ALEXDB_OK) atomic_store(&p->dwb, file); /* pager_stats_get reads it */
    return rc;
}

int pager_dwb_write(pager *p, const uint8_t *images, uint32_t count, uint64_t page_count,
                    uint64_t lsn, const void *payload, uint32_t payload_size)
{
    ALEXDB_ASSERT(count > 0 && payload_size <= PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX);
    int rc = dwb_open(p, true);
    if (rc != ALEXDB_OK) return rc;
    uint64_t sum = images_checksum(images, count);
    uint8_t *header = NULL;
    if (posix_memalign((void **)&header, PAGER_PAGE_SIZE, PAGER_PAGE_SIZE) != 0) {
        return common_error(ALEXDB_NOMEM, "double-write file: out of memory");
    }
    pager_superblock sb;
    pager_superblock_get(p, &sb);
    pager_page_init(header, PAGER_KIND_DWB);
    common_store_u32le(header + DWB_MAGIC_OFFSET, DWB_MAGIC);
    common_store_u32le(header + DWB_COUNT_OFFSET, count);
    common_store_u64le(header + DWB_GENERATION_OFFSET, sb.generation + 1);
    common_store_u64le(header + DWB_LSN_OFFSET, lsn);
    common_store_u64le(header + DWB_PAGE_COUNT_OFFSET, page_count);
    common_store_u64le(header + DWB_DB_ID_OFFSET, sb.db_id);
    common_store_u32le(header + DWB_PAYLOAD_SIZE_OFFSET, payload_size);
    common_store_u64le(header + DWB_IMAGES_CHECKSUM_OFFSET, sum);
    if (payload_size > 0) memcpy(header + DWB_PAYLOAD_OFFSET, payload, payload_size);
    pager_page_seal(header, 0, lsn);
    _Static_assert(PAGER_DWB_WRITE_DEPTH >= 2 && PAGER_DWB_WRITE_DEPTH <= PAGER_IO_BATCH_MAX,
                   "the header and a run fit the first submission");
    pager_io_req reqs[PAGER_DWB_WRITE_DEPTH];
    uint32_t req_count = 0;
    reqs[req_count++] = (pager_io_req){.buf = header, .offset = 0, .size = PAGER_PAGE_SIZE,
                                       .op = PAGER_IO_WRITE};
    for (uint32_t done = 0; done < count && rc == ALEXDB_OK;) {
        while (done < count && req_count < PAGER_DWB_WRITE_DEPTH) {
            uint32_t len = COMMON_MIN(count - done, PAGER_DWB_RUN_PAGES);
            reqs[req_count++] = (pager_io_req){
                .buf = (uint8_t *)images + (size_t)done * PAGER_PAGE_SIZE,
                .offset = (uint64_t)(done + 1) * PAGER_PAGE_SIZE, .size = len * PAGER_PAGE_SIZE,
                .op = PAGER_IO_WRITE};
            done += len;
        }
        rc = pager_file_rw(p->dwb, reqs, req_count);
        req_count = 0;
    }
    if (rc == ALEXDB_OK) rc = pager_file_sync(p->dwb);
    free(header);
    return rc;
}

/* Decodes a header page; false (and why, in reason) if it names no usable checkpoint. */
static bool header_decode(const pager *p, const char *path, const uint8_t *page, dwb_header *h,
                          const char **reason)
{
    if (pager_page_check(path, page, 0) != ALEXDB_OK || pager_page_kind(page) != PAGER_KIND_DWB ||
        common_load_u32le(page + DWB_MAGIC_OFFSET) != DWB_MAGIC) {
        *reason = "its header page is not intact";
        return false;
    }
    h->count = common_load_u32le(page + DWB_COUNT_OFFSET);
    h->generation = common_load_u64le(page + DWB_GENERATION_OFFSET);
    h->lsn = common_load_u64le(page + DWB_LSN_OFFSET);
    h->page_count = common_load_u64le(page + DWB_PAGE_COUNT_OFFSET);
    h->db_id = common_load_u64le(page + DWB_DB_ID_OFFSET);
    h->payload_size = common_load_u32le(page + DWB_PAYLOAD_SIZE_OFFSET);
    h->images_checksum = common_load_u64le(page + DWB_IMAGES_CHECKSUM_OFFSET);
    if (h->generation != p->superblock.generation + 1) {
        *reason = "it belongs to a checkpoint that completed";
        return false;
    }
    if (h->db_id != p->superblock.db_id || h->count == 0 ||
        h->payload_size > PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX ||
        common_load_u32le(page + DWB_RESERVED_OFFSET) != 0 || h->page_count < 2 ||
        h->page_count > PAGER_PAGE_COUNT_MAX || h->page_count < p->superblock.page_count) {
        *reason = "its header's fields are inconsistent";
        return false;
    }
    memcpy(h->payload, page + DWB_PAYLOAD_OFFSET, h->payload_size);
    return true;
}

/* Every image intact, inside the file, and the set the header names. */
static bool images_valid(const char *path, const uint8_t *images, const dwb_header *h)
{
    for (uint32_t i = 0; i < h->count; i++) {
        const uint8_t *img = images + (size_t)i * PAGER_PAGE_SIZE;
        uint64_t page_no = pager_page_no(img);
        if (page_no < 2 || page_no >= h->page_count || pager_page_check(path, img, page_no) != ALEXDB_OK) {
            return false;
        }
    }
    return images_checksum(images, h->count) == h->images_checksum;
}

/* Writes the images in place and commits the superblock the checkpoint would have. */
static int roll_forward(pager *p, const dwb_header *h, uint8_t *images)
{
    int rc = ALEXDB_OK;
    uint64_t page_count = pager_page_count(p); /* <= h->page_count (header_decode) */
    if (h->page_count > page_count) {
        uint64_t first = 0;
        rc = pager_extend(p, (uint32_t)(h->page_count - page_count), &first);
    }
    if (rc == ALEXDB_OK) rc = pager_write_images(p, images, h->count);
    if (rc == ALEXDB_OK) rc = pager_file_sync(p->file);
    if (rc == ALEXDB_OK) rc = pager_superblock_commit(p, h->lsn, h->payload, h->payload_size);
    return rc;
}

int pager_dwb_recover(pager *p)
{
    char path[PAGER_PATH_SIZE_MAX];
    dwb_path(p, path, sizeof(path));
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return ALEXDB_OK;
        return common_error(ALEXDB_IO, "cannot stat %s: %s", path, strerror(errno));
    }
    if ((uint64_t)st.st_size < 2u * PAGER_PAGE_SIZE) return ALEXDB_OK; /* never completed */
    int rc = dwb_open(p, false);
    if (rc != ALEXDB_OK) return rc;
    uint8_t *page = NULL;
    if (posix_memalign((void **)&page, PAGER_PAGE_SIZE, PAGER_PAGE_SIZE) != 0) {
        return common_error(ALEXDB_NOMEM, "double-write file: out of memory");
    }
    pager_io_req req = {.buf = page, .offset = 0, .size = PAGER_PAGE_SIZE, .op = PAGER_IO_READ};
    rc = pager_file_rw(p->dwb, &req, 1);
    dwb_header *h = malloc(sizeof(*h));
    const char *reason = "";
    bool usable = rc == ALEXDB_OK && h != NULL && header_decode(p, path, page, h, &reason);
    if (usable && (uint64_t)st.st_size < ((uint64_t)h->count + 1) * PAGER_PAGE_SIZE) {
        usable = false;
        reason = "it is shorter than its header says";
    }
    uint8_t *images = NULL;
    if (usable && posix_memalign((void **)&images, PAGER_PAGE_SIZE,
                                 (size_t)h->count * PAGER_PAGE_SIZE) != 0) {
        rc = common_error(ALEXDB_NOMEM, "double-write file: out of memory for %u images", h->count);
        usable = false;
    }
    if (usable) {
        req = (pager_io_req){.buf = images, .offset = PAGER_PAGE_SIZE,
                             .size = h->count * PAGER_PAGE_SIZE, .op = PAGER_IO_READ};
        rc = h->count <= INT32_MAX / PAGER_PAGE_SIZE ? pager_file_rw(p->dwb, &req, 1) : ALEXDB_CORRUPT;
        usable = rc == ALEXDB_OK && images_valid(path, images, h);
        if (rc == ALEXDB_CORRUPT) rc = ALEXDB_OK; /* a short file: its checkpoint never finished */
        if (!usable) reason = "its page images are not the complete set";
    }
    if (usable && p->config.read_only) {
        rc = common_error(ALEXDB_READONLY, "%s: a checkpoint was cut short by a crash; open the "
                          "database read-write once to finish it", pager_file_path(p->file));
    } else if (usable) {
        pager_log(&p->config.env, PAGER_LOG_WARN, "%s: finishing checkpoint %" PRIu64 " cut short by a crash "
                  "(%u pages from %s)", pager_file_path(p->file), h->generation, h->count, path);
        rc = roll_forward(p, h, images);
    } else if (rc == ALEXDB_OK && h != NULL) {
        pager_log(&p->config.env, PAGER_LOG_INFO, "%s: ignored: %s", path, reason);
    } else if (rc == ALEXDB_OK) {
        rc = common_error(ALEXDB_NOMEM, "double-write file: out of memory");
    }
    free(images);
    free(h);
    free(page);
    return rc;
}
