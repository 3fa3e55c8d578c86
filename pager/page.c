/*
 * page.c: the self-checking page header every 4 KiB page carries (docs/FORMAT.md 1).
 * A page is sealed just before it is written (page number, LSN, checksum) and checked
 * just after it is read; the checker is asserted after every seal, so the writer and
 * the reader can never disagree about what a valid page is.
 */
#include "pager.h"

#include <inttypes.h>

_Static_assert(PAGER_HEADER_SIZE == PAGER_HDR_LSN + 8, "header fields fill the header");
_Static_assert(PAGER_PAGE_SIZE % PAGER_SECTOR_SIZE == 0, "pages are whole sectors");

static uint64_t page_checksum(const uint8_t *page)
{
    /* Covers every byte after the checksum field itself. */
    return common_checksum(page + PAGER_HDR_MAGIC, PAGER_PAGE_SIZE - PAGER_HDR_MAGIC);
}

void pager_page_init(uint8_t *page, uint8_t kind)
{
    ALEXDB_ASSERT(page != NULL);
    ALEXDB_ASSERT(kind != PAGER_KIND_INVALID && kind < PAGER_KIND_COUNT_MAX);
    memset(page, 0, PAGER_PAGE_SIZE);
    common_store_u32le(page + PAGER_HDR_MAGIC, PAGER_PAGE_MAGIC);
    page[PAGER_HDR_VERSION] = PAGER_FORMAT_VERSION;
    page[PAGER_HDR_KIND] = kind;
}

void pager_page_seal(uint8_t *page, uint64_t page_no, uint64_t lsn)
{
    ALEXDB_ASSERT(page != NULL);
    ALEXDB_ASSERT(page_no != PAGER_PAGE_NO_NONE);
    common_store_u64le(page + PAGER_HDR_PAGE_NO, page_no);
    common_store_u64le(page + PAGER_HDR_LSN, lsn);
    common_store_u64le(page + PAGER_HDR_CHECKSUM, page_checksum(page));
    /* Pair assertion: what we write is exactly what the reader will accept. */
    ALEXDB_ASSERT(common_load_u32le(page + PAGER_HDR_MAGIC) == PAGER_PAGE_MAGIC);
    ALEXDB_ASSERT(page[PAGER_HDR_KIND] != PAGER_KIND_INVALID &&
                  page[PAGER_HDR_KIND] < PAGER_KIND_COUNT_MAX);
}

int pager_page_check(const char *path, const uint8_t *page, uint64_t page_no)
{
    ALEXDB_ASSERT(page != NULL);
    uint64_t offset = page_no * PAGER_PAGE_SIZE;
    uint64_t stored = common_load_u64le(page + PAGER_HDR_CHECKSUM);
    uint64_t computed = page_checksum(page);
    if (stored != computed) {
        return common_corrupt(path, offset,
                              "page %" PRIu64 ": checksum mismatch (stored %016" PRIx64
                              ", computed %016" PRIx64 ")",
                              page_no, stored, computed);
    }
    if (common_load_u32le(page + PAGER_HDR_MAGIC) != PAGER_PAGE_MAGIC) {
        return common_corrupt(path, offset, "page %" PRIu64 ": bad magic", page_no);
    }
    if (page[PAGER_HDR_VERSION] != PAGER_FORMAT_VERSION) {
        return common_error(ALEXDB_VERSION,
                            "%s offset %" PRIu64 ": page %" PRIu64
                            " has format version %u; this build reads version %u",
                            path, offset, page_no, page[PAGER_HDR_VERSION],
                            PAGER_FORMAT_VERSION);
    }
    uint8_t kind = page[PAGER_HDR_KIND];
    if (kind == PAGER_KIND_INVALID || kind >= PAGER_KIND_COUNT_MAX) {
        return common_corrupt(path, offset, "page %" PRIu64 ": unknown kind %u", page_no, kind);
    }
    uint64_t stored_page_no = common_load_u64le(page + PAGER_HDR_PAGE_NO);
    if (stored_page_no != page_no) {
        return common_corrupt(path, offset,
                              "page %" PRIu64 " found where page %" PRIu64 " belongs",
                              stored_page_no, page_no);
    }
    return ALEXDB_OK;
}

uint8_t pager_page_kind(const uint8_t *page)
{
    return page[PAGER_HDR_KIND];
}

uint64_t pager_page_no(const uint8_t *page)
{
    return common_load_u64le(page + PAGER_HDR_PAGE_NO);
}

uint64_t pager_page_lsn(const uint8_t *page)
{
    return common_load_u64le(page + PAGER_HDR_LSN);
}

const char *pager_kind_name(uint8_t kind)
{
    switch (kind) {
    case PAGER_KIND_INVALID: return "invalid";
    case PAGER_KIND_SUPERBLOCK: return "superblock";
    case PAGER_KIND_RAW: return "raw";
    case PAGER_KIND_LEAF: return "leaf";
    case PAGER_KIND_OVERFLOW: return "overflow";
    case PAGER_KIND_INNER: return "inner";
    case PAGER_KIND_FREELIST: return "freelist";
    case PAGER_KIND_COLUMNAR: return "columnar";
    case PAGER_KIND_WAL_SEGMENT: return "wal-segment";
    case PAGER_KIND_DWB: return "double-write header";
    default: return "unknown";
    }
}
