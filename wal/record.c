/*
 * record.c: one log record's bytes (docs/FORMAT.md 9.3). A record is a 32-byte header
 * (checksum, lsn, group_first_lsn, payload size, type, flags, reserved), the payload,
 * and zero padding to a multiple of 8. The checksum (XXH3-64) covers every byte after
 * itself, padding included, so a record is self-validating wherever it is found; that
 * is what lets recovery scan past a bad record for evidence (wal/README.md, W11).
 *
 * Entry points: wal_record_framed_size, wal_record_encode, wal_record_parse (header
 * framing), wal_record_verify (checksum and padding). The encoder pair-asserts the
 * checker (STYLE.md), so writer and reader can never disagree about a valid record.
 */
#include "wal_int.h"

_Static_assert(WAL_REC_RESERVED + 2 == WAL_RECORD_HEADER_SIZE, "header fields fill the header");
_Static_assert(WAL_RECORD_HEADER_SIZE % WAL_RECORD_ALIGN == 0, "payloads start aligned");

uint64_t wal_record_framed_size(uint64_t payload_size)
{
    uint64_t padded = (payload_size + WAL_RECORD_ALIGN - 1) / WAL_RECORD_ALIGN * WAL_RECORD_ALIGN;
    return WAL_RECORD_HEADER_SIZE + padded;
}

static uint64_t record_checksum(const uint8_t *src, uint64_t framed_size)
{
    return common_checksum(src + WAL_REC_LSN, framed_size - WAL_REC_LSN);
}

void wal_record_encode(uint8_t *dst, uint64_t lsn, uint64_t group_first_lsn, uint8_t type,
                       const wal_part *parts, uint32_t part_count, uint32_t payload_size)
{
    ALEXDB_ASSERT(dst != NULL && ((uintptr_t)dst % WAL_RECORD_ALIGN) == 0);
    ALEXDB_ASSERT(lsn >= 1 && group_first_lsn >= 1 && group_first_lsn <= lsn);
    ALEXDB_ASSERT(type != 0 && payload_size <= WAL_RECORD_SIZE_MAX);
    uint64_t framed_size = wal_record_framed_size(payload_size);
    common_store_u64le(dst + WAL_REC_LSN, lsn);
    common_store_u64le(dst + WAL_REC_GROUP_FIRST_LSN, group_first_lsn);
    common_store_u32le(dst + WAL_REC_SIZE, payload_size);
    dst[WAL_REC_TYPE] = type;
    dst[WAL_REC_FLAGS] = 0;
    common_store_u16le(dst + WAL_REC_RESERVED, 0);
    uint8_t *p = dst + WAL_RECORD_HEADER_SIZE;
    uint64_t copied = 0;
    for (uint32_t i = 0; i < part_count; i++) {
        if (parts[i].size == 0) continue;
        memcpy(p + copied, parts[i].data, parts[i].size);
        copied += parts[i].size;
    }
    ALEXDB_ASSERT(copied == payload_size);
    memset(p + copied, 0, framed_size - WAL_RECORD_HEADER_SIZE - copied);
    common_store_u64le(dst + WAL_REC_CHECKSUM, record_checksum(dst, framed_size));

    /* Pair assertion: the reader accepts exactly what was written. */
    wal_record rec;
    const char *why = NULL;
    ALEXDB_ASSERT(wal_record_parse(dst, &rec, &why) == WAL_RECORD_VALID);
    ALEXDB_ASSERT(rec.framed_size == framed_size && rec.lsn == lsn);
    ALEXDB_ASSERT(wal_record_verify(dst, &rec, &why) == WAL_RECORD_VALID);
}

static bool all_zero(const uint8_t *p, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (p[i] != 0) return false;
    }
    return true;
}

/* The end-of-log test runs once per record: four word loads, not 32 byte compares. */
static bool header_is_zero(const uint8_t *src)
{
    return (common_load_u64le(src) | common_load_u64le(src + 8) | common_load_u64le(src + 16) |
            common_load_u64le(src + 24)) == 0;
}

wal_record_status wal_record_parse(const uint8_t *src, wal_record *rec, const char **why_out)
{
    ALEXDB_ASSERT(src != NULL && rec != NULL && why_out != NULL);
    *why_out = NULL;
    memset(rec, 0, sizeof(*rec));
    if (header_is_zero(src)) return WAL_RECORD_ZERO;
    rec->lsn = common_load_u64le(src + WAL_REC_LSN);
    rec->group_first_lsn = common_load_u64le(src + WAL_REC_GROUP_FIRST_LSN);
    rec->size = common_load_u32le(src + WAL_REC_SIZE);
    rec->type = src[WAL_REC_TYPE];
    rec->payload = src + WAL_RECORD_HEADER_SIZE;
    /* Checked in FORMAT.md 9.3's order, so every reader names the same first fault. */
    if (rec->type == 0) *why_out = "record type 0";
    else if (src[WAL_REC_FLAGS] != 0) *why_out = "nonzero record flags";
    else if (common_load_u16le(src + WAL_REC_RESERVED) != 0) *why_out = "nonzero reserved field";
    else if (rec->size > WAL_RECORD_SIZE_MAX) *why_out = "payload size above the maximum";
    else if (rec->lsn == 0) *why_out = "lsn 0";
    else if (rec->group_first_lsn == 0 || rec->group_first_lsn > rec->lsn) {
        *why_out = "group_first_lsn not in 1..lsn";
    }
    if (*why_out != NULL) return WAL_RECORD_BAD;
    rec->framed_size = wal_record_framed_size(rec->size);
    return WAL_RECORD_VALID;
}

wal_record_status wal_record_verify(const uint8_t *src, wal_record *rec, const char **why_out)
{
    ALEXDB_ASSERT(src != NULL && rec != NULL && why_out != NULL);
    ALEXDB_ASSERT(rec->framed_size == wal_record_framed_size(rec->size));
    *why_out = NULL;
    /* The caller may have re-read the record elsewhere since parsing: point at these bytes. */
    rec->payload = src + WAL_RECORD_HEADER_SIZE;
    if (common_load_u64le(src + WAL_REC_CHECKSUM) != record_checksum(src, rec->framed_size)) {
        *why_out = "record checksum mismatch";
        return WAL_RECORD_BAD;
    }
    uint64_t padding = rec->framed_size - WAL_RECORD_HEADER_SIZE - rec->size;
    if (!all_zero(src + WAL_RECORD_HEADER_SIZE + rec->size, padding)) {
        *why_out = "nonzero record padding";
        return WAL_RECORD_BAD;
    }
    return WAL_RECORD_VALID;
}
