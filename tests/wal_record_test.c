/*
 * wal_record_test.c: wal/record.c: a record encodes and decodes to the same fields and
 * payload for every size around the padding boundaries; every corruption class is
 * caught: any single bit flipped anywhere in a record, each framing rule broken under a
 * valid checksum, nonzero padding, and an all-zero header reads as the end of the log.
 */
#include "wal_tu.h"

#define BUF_SIZE 1024

static uint8_t *encode(uint64_t lsn, uint64_t group_first_lsn, uint8_t type, uint32_t size)
{
    uint8_t *buf = tu_aligned(BUF_SIZE);
    uint8_t payload[BUF_SIZE];
    for (uint32_t i = 0; i < size; i++) payload[i] = (uint8_t)(i * 7 + lsn);
    /* Three parts, one of them empty, so concatenation is exercised. */
    wal_part parts[3] = {{.data = payload, .size = size / 3},
                         {.data = NULL, .size = 0},
                         {.data = payload + size / 3, .size = size - size / 3}};
    wal_record_encode(buf, lsn, group_first_lsn, type, parts, 3, size);
    return buf;
}

/* Every field and payload byte round-trips; framed size is header + payload padded to 8. */
static void test_round_trip(void **state)
{
    (void)state;
    for (uint32_t size = 0; size <= 70; size++) {
        uint8_t *buf = encode(1000 + size, 990, (uint8_t)(1 + size % 255), size);
        wal_record rec;
        const char *why = NULL;
        assert_int_equal(wal_record_parse(buf, &rec, &why), WAL_RECORD_VALID);
        assert_int_equal(rec.lsn, 1000 + size);
        assert_int_equal(rec.group_first_lsn, 990);
        assert_int_equal(rec.type, 1 + size % 255);
        assert_int_equal(rec.size, size);
        assert_int_equal(rec.framed_size, 32 + (size + 7) / 8 * 8);
        assert_int_equal(rec.framed_size % WAL_RECORD_ALIGN, 0);
        assert_int_equal(wal_record_verify(buf, &rec, &why), WAL_RECORD_VALID);
        assert_ptr_equal(rec.payload, buf + WAL_RECORD_HEADER_SIZE);
        for (uint32_t i = 0; i < size; i++) assert_int_equal(rec.payload[i], (uint8_t)(i * 7 + rec.lsn));
        /* Padding is written as zeros. */
        for (uint64_t i = 32 + size; i < rec.framed_size; i++) assert_int_equal(buf[i], 0);
        free(buf);
    }
    assert_int_equal(wal_record_framed_size(WAL_RECORD_SIZE_MAX), WAL_FRAMED_SIZE_MAX);
}

/* An all-zero header is the end of the log, not a bad record. */
static void test_zero_header_is_end(void **state)
{
    (void)state;
    uint8_t zeros[WAL_RECORD_HEADER_SIZE] = {0};
    wal_record rec;
    const char *why = NULL;
    assert_int_equal(wal_record_parse(zeros, &rec, &why), WAL_RECORD_ZERO);
    assert_null(why);
}

/* Parses and verifies as recovery does: VALID only if both pass. */
static wal_record_status check(const uint8_t *buf, const char **why)
{
    wal_record rec;
    wal_record_status status = wal_record_parse(buf, &rec, why);
    if (status != WAL_RECORD_VALID) return status;
    if (rec.framed_size > BUF_SIZE) {
        *why = "record runs past the end"; /* as recovery says when it passes the segment */
        return WAL_RECORD_BAD;
    }
    return wal_record_verify(buf, &rec, why);
}

/* Any single bit flipped anywhere in a record (header, payload, padding) is caught. */
static void test_every_bit_flip_caught(void **state)
{
    (void)state;
    const uint32_t sizes[] = {0, 1, 13, 100};
    for (uint32_t k = 0; k < COMMON_ARRAY_COUNT(sizes); k++) {
        uint8_t *buf = encode(77, 70, 3, sizes[k]);
        uint64_t framed = wal_record_framed_size(sizes[k]);
        for (uint64_t i = 0; i < framed; i++) {
            for (int bit = 0; bit < 8; bit++) {
                buf[i] ^= (uint8_t)(1u << bit);
                const char *why = NULL;
                wal_record_status status = check(buf, &why);
                if (status != WAL_RECORD_BAD) {
                    fail_msg("size %u: flip of byte %" PRIu64 " bit %d not caught", sizes[k], i, bit);
                }
                assert_non_null(why);
                buf[i] ^= (uint8_t)(1u << bit);
            }
        }
        const char *why = NULL;
        assert_int_equal(check(buf, &why), WAL_RECORD_VALID);
        free(buf);
    }
}

/* Re-seals the checksum after a deliberate change, so only the framing rule is broken. */
static void reseal(uint8_t *buf, uint32_t size)
{
    uint64_t framed = wal_record_framed_size(size);
    common_store_u64le(buf, common_checksum(buf + 8, framed - 8));
}

typedef struct framing_case {
    const char *name;
    uint32_t offset;
    uint64_t value;
    uint32_t width;
    const char *why;
} framing_case;

/* Each framing rule of FORMAT.md 9.3 is enforced even under a valid checksum. */
static void test_framing_rules(void **state)
{
    (void)state;
    const framing_case cases[] = {
        {"type 0", WAL_REC_TYPE, 0, 1, "record type 0"},
        {"flags", WAL_REC_FLAGS, 1, 1, "nonzero record flags"},
        {"reserved", WAL_REC_RESERVED, 0x100, 2, "nonzero reserved field"},
        {"size", WAL_REC_SIZE, WAL_RECORD_SIZE_MAX + 1, 4, "payload size above the maximum"},
        {"lsn 0", WAL_REC_LSN, 0, 8, "lsn 0"},
        {"group 0", WAL_REC_GROUP_FIRST_LSN, 0, 8, "group_first_lsn not in 1..lsn"},
        {"group > lsn", WAL_REC_GROUP_FIRST_LSN, 78, 8, "group_first_lsn not in 1..lsn"},
    };
    for (uint32_t k = 0; k < COMMON_ARRAY_COUNT(cases); k++) {
        uint8_t *buf = encode(77, 70, 3, 13);
        if (cases[k].width == 1) buf[cases[k].offset] = (uint8_t)cases[k].value;
        if (cases[k].width == 2) common_store_u16le(buf + cases[k].offset, (uint16_t)cases[k].value);
        if (cases[k].width == 4) common_store_u32le(buf + cases[k].offset, (uint32_t)cases[k].value);
        if (cases[k].width == 8) common_store_u64le(buf + cases[k].offset, cases[k].value);
        reseal(buf, 13);
        wal_record rec;
        const char *why = NULL;
        assert_int_equal(wal_record_parse(buf, &rec, &why), WAL_RECORD_BAD);
        if (why == NULL || strcmp(why, cases[k].why) != 0) {
            fail_msg("%s: why \"%s\"", cases[k].name, why != NULL ? why : "(null)");
        }
        free(buf);
    }
    /* Nonzero padding under a valid checksum. */
    uint8_t *buf = encode(77, 70, 3, 13);
    buf[WAL_RECORD_HEADER_SIZE + 14] = 1;
    reseal(buf, 13);
    const char *why = NULL;
    assert_int_equal(check(buf, &why), WAL_RECORD_BAD);
    assert_string_equal(why, "nonzero record padding");
    /* The same record with the old checksum: a checksum mismatch. */
    free(buf);
    buf = encode(77, 70, 3, 13);
    buf[WAL_RECORD_HEADER_SIZE + 14] = 1;
    assert_int_equal(check(buf, &why), WAL_RECORD_BAD);
    assert_string_equal(why, "record checksum mismatch");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_zero_header_is_end),
        cmocka_unit_test(test_every_bit_flip_caught),
        cmocka_unit_test(test_framing_rules),
    };
    return cmocka_run_group_tests_name("wal_record", tests, NULL, NULL);
}
