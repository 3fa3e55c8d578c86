/*
 * freelist.c: the free page runs of a page file, kept sorted by first page and
 * coalesced, so allocation is first fit over few runs. Persisted with the metadata
 * (docs/FORMAT.md 6); at open every run is validated against the file (meta.c).
 */
#include "index_int.h"

#include <stdlib.h>

static int ensure_capacity(alex_freelist *list, size_t needed)
{
    if (needed <= list->capacity) return ALEXDB_OK;
    size_t capacity = COMMON_MAX((size_t)16, list->capacity * 2);
    while (capacity < needed) capacity *= 2;
    alex_run *runs = realloc(list->runs, capacity * sizeof(*runs));
    if (runs == NULL) return common_error(ALEXDB_NOMEM, "free list: out of memory");
    list->runs = runs;
    list->capacity = capacity;
    return ALEXDB_OK;
}

/* Index of the first run whose first page is > page (binary search). */
static size_t upper_bound(const alex_freelist *list, uint64_t page)
{
    size_t lo = 0, hi = list->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (list->runs[mid].first <= page) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

int alex_freelist_add(alex_freelist *list, uint64_t first, uint64_t count)
{
    ALEXDB_ASSERT(list != NULL && count > 0 && first >= 2 && first + count > first);
    size_t i = upper_bound(list, first);
    alex_run *prev = i > 0 ? &list->runs[i - 1] : NULL;
    alex_run *next = i < list->count ? &list->runs[i] : NULL;
    /* A6: a page freed twice. Page numbers can come from disk (an overflow reference), so
     * this is an operating error; the caller reports it as corruption. */
    if ((prev != NULL && prev->first + prev->count > first) ||
        (next != NULL && first + count > next->first)) {
        return ALEXDB_CORRUPT;
    }
    bool join_prev = prev != NULL && prev->first + prev->count == first;
    bool join_next = next != NULL && first + count == next->first;
    list->page_count += count;
    if (join_prev && join_next) {
        prev->count += count + next->count;
        memmove(next, next + 1, (list->count - i - 1) * sizeof(*next));
        list->count--;
    } else if (join_prev) {
        prev->count += count;
    } else if (join_next) {
        next->first = first;
        next->count += count;
    } else {
        int rc = ensure_capacity(list, list->count + 1);
        if (rc != ALEXDB_OK) {
            list->page_count -= count;
            return rc;
        }
        memmove(&list->runs[i + 1], &list->runs[i], (list->count - i) * sizeof(alex_run));
        list->runs[i] = (alex_run){.first = first, .count = count};
        list->count++;
    }
    return ALEXDB_OK;
}

bool alex_freelist_take(alex_freelist *list, uint64_t count, uint64_t *first_out)
{
    ALEXDB_ASSERT(list != NULL && count > 0 && first_out != NULL);
    for (size_t i = 0; i < list->count; i++) {
        alex_run *run = &list->runs[i];
        if (run->count < count) continue;
        *first_out = run->first;
        run->first += count;
        run->count -= count;
        list->page_count -= count;
        if (run->count == 0) {
            memmove(run, run + 1, (list->count - i - 1) * sizeof(*run));
            list->count--;
        }
        return true;
    }
    return false;
}

bool alex_freelist_contains(const alex_freelist *list, uint64_t page)
{
    size_t i = upper_bound(list, page);
    return i > 0 && page < list->runs[i - 1].first + list->runs[i - 1].count;
}

void alex_freelist_destroy(alex_freelist *list)
{
    free(list->runs);
    memset(list, 0, sizeof(*list));
}
