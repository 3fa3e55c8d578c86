/*
 * checksum.c: the one checksum of alexdb, XXH3-64 with seed 0, over every page and
 * every log record (docs/FORMAT.md 1.2). Kept behind one function so that the choice
 * is made once.
 */
#include "common.h"

#include <xxhash.h>

uint64_t common_checksum(const void *data, size_t size)
{
    ALEXDB_ASSERT(data != NULL || size == 0);
    return XXH3_64bits(data, size);
}
