/*
 * superblock.c: pages 0 and 1, two copies of the file's root record (docs/FORMAT.md 2).
 * A commit writes the older slot with generation + 1 and fdatasyncs it; at open the
 * valid copy with the larger generation wins. A torn or corrupt superblock write
 * therefore leaves the previous one in force: no single bad write loses the file (P10).
 */
#include "pager_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#define SB_IDENT "alexdb\0\0"
#define SB_IDENT_OFFSET 32u
#define SB_PAGE_SIZE_OFFSET 40u
#define SB_FLAGS_OFFSET 44u
#define SB_GENERATION_OFFSET 48u
#define SB_PAGE_COUNT_OFFSET 56u
#define SB_DB_ID_OFFSET 64u
#define SB_PAYLOAD_SIZE_OFFSET 72u
#define SB_RESERVED_OFFSET 76u
#define SB_PAYLOAD_OFFSET 80u

_Static_assert(SB_PAYLOAD_OFFSET + PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX <= PAGER_PAGE_SIZE,
               "the payload fits the page");

void pager_superblock_encode(const pager_superblock *sb, uint8_t *page)
{
    ALEXDB_ASSERT(sb->payload_size <= PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX);
    pager_page_init(page, PAGER_KIND_SUPERBLOCK);
    memcpy(page + SB_IDENT_OFFSET, SB_IDENT, 8);
    common_store_u32le(page + SB_PAGE_SIZE_OFFSET, PAGER_PAGE_SIZE);
    common_store_u32le(page + SB_FLAGS_OFFSET, 0);
    common_store_u64le(page + SB_GENERATION_OFFSET, sb->generation);
    common_store_u64le(page + SB_PAGE_COUNT_OFFSET, sb->page_count);
    common_store_u64le(page + SB_DB_ID_OFFSET, sb->db_id);
    common_store_u32le(page + SB_PAYLOAD_SIZE_OFFSET, sb->payload_size);
    common_store_u32le(page + SB_RESERVED_OFFSET, 0);
    memcpy(page + SB_PAYLOAD_OFFSET, sb->payload, sb->payload_size);
}

/* 1 if the page at least claims to be an alexdb superblock (magic and ident). */
static int looks_like_superblock(const uint8_t *page)
{
    return common_load_u32le(page + PAGER_HDR_MAGIC) == PAGER_PAGE_MAGIC &&
           memcmp(page + SB_IDENT_OFFSET, SB_IDENT, 8) == 0;
}

int pager_superblock_decode(const char *path, const uint8_t *page, uint64_t slot,
                            pager_superblock *sb_out)
{
    int rc = pager_page_check(path, page, slot);
    if (rc != ALEXDB_OK) return rc;
    uint64_t offset = slot * PAGER_PAGE_SIZE;
    if (pager_page_kind(page) != PAGER_KIND_SUPERBLOCK || !looks_like_superblock(page)) {
        return common_corrupt(path, offset, "superblock %" PRIu64 ": wrong kind or ident", slot);
    }
    uint32_t page_size = common_load_u32le(page + SB_PAGE_SIZE_OFFSET);
    uint32_t payload_size = common_load_u32le(page + SB_PAYLOAD_SIZE_OFFSET);
    if (page_size != PAGER_PAGE_SIZE || payload_size > PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX ||
        common_load_u32le(page + SB_FLAGS_OFFSET) != 0 ||
        common_load_u32le(page + SB_RESERVED_OFFSET) != 0) {
        return common_corrupt(path, offset, "superblock %" PRIu64 ": bad page size %u, "
                              "payload size %u or nonzero reserved bytes", slot, page_size,
                              payload_size);
    }
    sb_out->generation = common_load_u64le(page + SB_GENERATION_OFFSET);
    sb_out->page_count = common_load_u64le(page + SB_PAGE_COUNT_OFFSET);
    sb_out->db_id = common_load_u64le(page + SB_DB_ID_OFFSET);
    sb_out->lsn = pager_page_lsn(page);
    sb_out->payload_size = payload_size;
    memcpy(sb_out->payload, page + SB_PAYLOAD_OFFSET, payload_size);
    if (sb_out->page_count < 2 || sb_out->page_count > PAGER_PAGE_COUNT_MAX) {
        return common_corrupt(path, offset, "superblock %" PRIu64 ": page count %" PRIu64, slot,
                              sb_out->page_count);
    }
    return ALEXDB_OK;
}

static uint8_t *page_buffer(void)
{
    void *buf = NULL;
    return posix_memalign(&buf, PAGER_PAGE_SIZE, 2 * PAGER_PAGE_SIZE) == 0 ? buf : NULL;
}

/* Makes the new file's directory entry durable (the file's own fdatasync does not). */
static int sync_parent_dir(const char *path)
{
    char dir[PAGER_PATH_SIZE_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash != NULL) *slash = '\0';
    else snprintf(dir, sizeof(dir), ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return common_error(ALEXDB_IO, "open directory %s: %s", dir, strerror(errno));
    int ret = fsync(fd);
    close(fd);
    if (ret != 0) return common_error(ALEXDB_IO, "fsync directory %s: %s", dir, strerror(errno));
    return ALEXDB_OK;
}

int pager_superblock_create(pager *p)
{
    uint8_t *buf = page_buffer();
    if (buf == NULL) return common_error(ALEXDB_NOMEM, "superblock: out of memory");
    pager_superblock *sb = &p->superblock;
    memset(sb, 0, sizeof(*sb));
    if (getrandom(&sb->db_id, sizeof(sb->db_id), 0) != sizeof(sb->db_id)) {
        sb->db_id = common_now_ns() ^ ((uint64_t)getpid() << 40);
    }
    sb->page_count = 2;
    for (uint32_t slot = 0; slot < 2; slot++) {
        sb->generation = slot == 0 ? 1 : 0; /* slot 0 current, slot 1 the older copy */
        pager_superblock_encode(sb, buf + slot * PAGER_PAGE_SIZE);
        pager_page_seal(buf + slot * PAGER_PAGE_SIZE, slot, 0);
    }
    sb->generation = 1;
    p->superblock_slot = 0;
    pager_io_req req = {.buf = buf, .offset = 0, .size = 2 * PAGER_PAGE_SIZE, .op = PAGER_IO_WRITE};
    int rc = pager_file_rw(p->file, &req, 1);
    if (rc == ALEXDB_OK) rc = pager_file_sync(p->file);
    if (rc == ALEXDB_OK) rc = sync_parent_dir(pager_file_path(p->file));
    free(buf);
    return rc;
}

/* Reads both slots; picks the valid one with the larger generation. */
static int choose_slot(pager *p, const uint8_t *buf)
{
    const char *path = pager_file_path(p->file);
    pager_superblock copies[2];
    int rcs[2];
    char first_message[COMMON_ERRMSG_SIZE_MAX];
    for (uint32_t slot = 0; slot < 2; slot++) {
        rcs[slot] = pager_superblock_decode(path, buf + slot * PAGER_PAGE_SIZE, slot, &copies[slot]);
        if (slot == 0) snprintf(first_message, sizeof(first_message), "%s", common_errmsg());
    }
    if (rcs[0] != ALEXDB_OK && rcs[1] != ALEXDB_OK) {
        if (!looks_like_superblock(buf) && !looks_like_superblock(buf + PAGER_PAGE_SIZE)) {
            return common_error(ALEXDB_NOTDB, "%s is not an alexdb file", path);
        }
        if (rcs[0] == ALEXDB_VERSION || rcs[1] == ALEXDB_VERSION) {
            return rcs[0] == ALEXDB_VERSION ? common_error(ALEXDB_VERSION, "%s", first_message)
                                            : rcs[1];
        }
        return common_error(ALEXDB_CORRUPT, "%s (and the other superblock copy is bad too)",
                            first_message);
    }
    uint32_t slot = rcs[1] != ALEXDB_OK ? 0
                    : rcs[0] != ALEXDB_OK ? 1
                    : copies[1].generation > copies[0].generation ? 1 : 0;
    p->superblock = copies[slot];
    p->superblock_slot = slot;
    return ALEXDB_OK;
}

int pager_superblock_load(pager *p)
{
    const char *path = pager_file_path(p->file);
    uint64_t size = 0;
    int rc = pager_file_size(p->file, &size);
    if (rc != ALEXDB_OK) return rc;
    uint8_t *buf = page_buffer();
    if (buf == NULL) return common_error(ALEXDB_NOMEM, "superblock: out of memory");
    /*
     * A partial page at the end (past whole pages) is growth that a power cut tore: the
     * zero-filling of pager_file_zero_extend is not synced before the space is used. It
     * is ignored like the rest of the space past page_count (file_page_count rounds it
     * down, and the next growth overwrites it); a file shorter than page_count whole
     * pages is still truncated (below).
     */
    if (size < 2 * PAGER_PAGE_SIZE) {
        /* Tell "not ours" from "ours, truncated" by whatever of page 0 there is. */
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? pread(fd, buf, PAGER_PAGE_SIZE, 0) : -1;
        if (fd >= 0) close(fd);
        rc = n >= (ssize_t)(SB_IDENT_OFFSET + 8) && looks_like_superblock(buf)
                 ? common_corrupt(path, size, "file truncated: %" PRIu64 " bytes is not a "
                                  "whole number of pages (at least 2)", size)
                 : common_error(ALEXDB_NOTDB, "%s is not an alexdb file (%" PRIu64 " bytes)",
                                path, size);
        free(buf);
        return rc;
    }
    pager_io_req req = {.buf = buf, .offset = 0, .size = 2 * PAGER_PAGE_SIZE, .op = PAGER_IO_READ};
    rc = pager_file_rw(p->file, &req, 1);
    if (rc == ALEXDB_OK) rc = choose_slot(p, buf);
    free(buf);
    if (rc == ALEXDB_OK && p->superblock.page_count * PAGER_PAGE_SIZE > size / PAGER_PAGE_SIZE * PAGER_PAGE_SIZE) {
        rc = common_corrupt(path, size, "file truncated: %" PRIu64 " pages, the superblock "
                            "says %" PRIu64, size / PAGER_PAGE_SIZE, p->superblock.page_count);
    }
    return rc;
}

void pager_superblock_get(pager *p, pager_superblock *sb_out)
{
    ALEXDB_ASSERT(p != NULL && sb_out != NULL);
    pthread_mutex_lock(&p->superblock_lock);
    *sb_out = p->superblock;
    pthread_mutex_unlock(&p->superblock_lock);
}

int pager_superblock_commit(pager *p, uint64_t lsn, const void *payload, uint32_t payload_size)
{
    return pager_superblock_commit_at(p, atomic_load(&p->page_count), lsn, payload, payload_size);
}

int pager_superblock_commit_at(pager *p, uint64_t page_count, uint64_t lsn, const void *payload,
                               uint32_t payload_size)
{
    ALEXDB_ASSERT(p != NULL && (payload != NULL || payload_size == 0));
    ALEXDB_ASSERT(page_count >= 2 && page_count <= atomic_load(&p->page_count));
    if (payload_size > PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX) {
        return common_error(ALEXDB_TOOBIG, "superblock payload of %u bytes (at most %u)",
                            payload_size, PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX);
    }
    uint8_t *buf = page_buffer();
    if (buf == NULL) return common_error(ALEXDB_NOMEM, "superblock: out of memory");
    /* Commits are serialised, and readers (pager_superblock_get) see one or the other. */
    pthread_mutex_lock(&p->superblock_lock);
    pager_superblock next = p->superblock;
    next.generation++;
    next.page_count = page_count;
    next.lsn = lsn;
    next.payload_size = payload_size;
    if (payload_size > 0) memcpy(next.payload, payload, payload_size);
    uint32_t slot = 1 - p->superblock_slot; /* P10: never overwrite the copy in force */
    pager_superblock_encode(&next, buf);
    pager_page_seal(buf, slot, lsn);
    pager_io_req req = {.buf = buf, .offset = (uint64_t)slot * PAGER_PAGE_SIZE,
                        .size = PAGER_PAGE_SIZE, .op = PAGER_IO_WRITE};
    int rc = pager_file_rw(p->file, &req, 1);
    if (rc == ALEXDB_OK) rc = pager_file_sync(p->file);
    free(buf);
    if (rc == ALEXDB_OK) {
        p->superblock = next;
        p->superblock_slot = slot;
    }
    pthread_mutex_unlock(&p->superblock_lock);
    return rc;
}
