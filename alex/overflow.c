/*
 * overflow.c: values larger than ALEX_INLINE_VALUE_SIZE_MAX live out of line, in a run
 * of consecutive pages of kind 4 (docs/FORMAT.md 4), written and read with one I/O
 * each, outside the cache, so big values neither make small-value leaves sparse nor
 * wash the cache. Every page of a run names its key, its index in the run and the
 * value's size, so a wrong or stale reference is detected, not returned.
 */
#include "index_int.h"

#include <inttypes.h>
#include <stdlib.h>

#define OVF_KEY 32u
#define OVF_RUN_INDEX 40u
#define OVF_VALUE_SIZE 44u
#define OVF_DATA 48u

_Static_assert(OVF_DATA + ALEX_OVERFLOW_DATA_SIZE == PAGER_PAGE_SIZE, "FORMAT.md 4");

uint64_t alex_overflow_page_count(uint64_t value_size)
{
    return (value_size + ALEX_OVERFLOW_DATA_SIZE - 1) / ALEX_OVERFLOW_DATA_SIZE;
}

static uint8_t *run_buffer(uint32_t page_count)
{
    void *buf = NULL;
    size_t size = (size_t)page_count * PAGER_PAGE_SIZE;
    return posix_memalign(&buf, PAGER_PAGE_SIZE, size) == 0 ? buf : NULL;
}

int alex_overflow_write(alex_index *index, uint64_t key, const void *data, uint32_t size,
                        uint64_t *first_out)
{
    ALEXDB_ASSERT(size > ALEX_INLINE_VALUE_SIZE_MAX && size <= ALEX_VALUE_SIZE_MAX);
    uint32_t count = (uint32_t)alex_overflow_page_count(size);
    uint8_t *buf = run_buffer(count);
    if (buf == NULL) return common_error(ALEXDB_NOMEM, "overflow value of %u bytes: out of memory", size);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *page = buf + (size_t)i * PAGER_PAGE_SIZE;
        pager_page_init(page, PAGER_KIND_OVERFLOW);
        common_store_u64le(page + OVF_KEY, key);
        common_store_u32le(page + OVF_RUN_INDEX, i);
        common_store_u32le(page + OVF_VALUE_SIZE, size);
        uint32_t offset = i * ALEX_OVERFLOW_DATA_SIZE;
        memcpy(page + OVF_DATA, (const uint8_t *)data + offset,
               COMMON_MIN(ALEX_OVERFLOW_DATA_SIZE, size - offset));
    }
    uint64_t first = 0;
    int rc = alex_pages_alloc(index, count, &first);
    if (rc == ALEXDB_OK) {
        rc = pager_write_pages(index->pager, first, count, buf, 0);
        if (rc != ALEXDB_OK) alex_pages_release(index, first, count);
    }
    free(buf);
    if (rc == ALEXDB_OK) *first_out = first;
    return rc;
}

/* Validates one page of a run beyond the pager's header check (FORMAT.md 4). */
static int check_page(alex_index *index, const uint8_t *page, uint64_t page_no, uint64_t key,
                      uint32_t run_index, uint32_t size)
{
    const char *path = pager_file_path(pager_get_file(index->pager));
    uint64_t offset = page_no * PAGER_PAGE_SIZE;
    if (pager_page_kind(page) != PAGER_KIND_OVERFLOW ||
        common_load_u64le(page + OVF_KEY) != key ||
        common_load_u32le(page + OVF_RUN_INDEX) != run_index ||
        common_load_u32le(page + OVF_VALUE_SIZE) != size) {
        return common_corrupt(path, offset, "overflow page %" PRIu64 " is not page %u of the "
                              "%u-byte value of key %" PRIu64, page_no, run_index, size, key);
    }
    uint32_t used = COMMON_MIN(ALEX_OVERFLOW_DATA_SIZE, size - run_index * ALEX_OVERFLOW_DATA_SIZE);
    for (uint32_t i = OVF_DATA + used; i < PAGER_PAGE_SIZE; i++) {
        if (page[i] != 0) {
            return common_corrupt(path, offset + i, "overflow page %" PRIu64 ": nonzero byte "
                                  "past the value's end", page_no);
        }
    }
    return ALEXDB_OK;
}

/* A reference read from a leaf: its run must lie inside the file, past the superblocks. */
static int check_reference(alex_index *index, uint64_t key, uint64_t first, uint32_t size)
{
    uint64_t count = alex_overflow_page_count(size);
    uint64_t page_count = pager_page_count(index->pager);
    if (size <= ALEX_INLINE_VALUE_SIZE_MAX || size > ALEX_VALUE_SIZE_MAX || first < 2 ||
        first > page_count || count > page_count - first) {
        return common_corrupt(pager_file_path(pager_get_file(index->pager)), first * PAGER_PAGE_SIZE,
                              "key %" PRIu64 ": overflow reference to pages %" PRIu64 "+%" PRIu64
                              " of a %" PRIu64 "-page file", key, first, count, page_count);
    }
    return ALEXDB_OK;
}

int alex_overflow_read(alex_index *index, uint64_t key, uint64_t first, uint32_t size, void *buf,
                       size_t buf_size)
{
    int rc = check_reference(index, key, first, size);
    if (rc != ALEXDB_OK) return rc;
    /* Only the pages that hold the bytes wanted are read; all of them are checked. */
    size_t wanted = COMMON_MIN((size_t)size, buf_size);
    uint32_t count = wanted == 0 ? 1 : (uint32_t)alex_overflow_page_count(wanted);
    uint8_t *run = run_buffer(count);
    if (run == NULL) return common_error(ALEXDB_NOMEM, "overflow read: out of memory");
    rc = pager_read_pages(index->pager, first, count, run);
    for (uint32_t i = 0; i < count && rc == ALEXDB_OK; i++) {
        rc = check_page(index, run + (size_t)i * PAGER_PAGE_SIZE, first + i, key, i, size);
    }
    for (uint32_t i = 0; i < count && rc == ALEXDB_OK; i++) {
        size_t offset = (size_t)i * ALEX_OVERFLOW_DATA_SIZE;
        if (offset >= wanted) break;
        memcpy((uint8_t *)buf + offset, run + (size_t)i * PAGER_PAGE_SIZE + OVF_DATA,
               COMMON_MIN((size_t)ALEX_OVERFLOW_DATA_SIZE, wanted - offset));
    }
    free(run);
    return rc;
}

int alex_overflow_free(alex_index *index, uint64_t key, uint64_t first, uint32_t size)
{
    /* Reading the run's first page proves the reference names this key's run: freeing a
     * page some other structure owns would break A6 for good. */
    uint8_t probe[1] = {0};
    int rc = alex_overflow_read(index, key, first, size, probe, sizeof(probe));
    if (rc == ALEXDB_OK) rc = alex_pages_free(index, first, alex_overflow_page_count(size));
    return rc;
}
