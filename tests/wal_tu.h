/*
 * wal_tu.h: what the wal/ tests share (header-only; each test program includes it once):
 * deterministic payloads keyed by a 64-bit tag, a replay callback that collects the
 * records wal_open delivers and checks their payloads, and config helpers.
 */
#ifndef WAL_TU_H
#define WAL_TU_H

#include "testutil.h"
#include "wal_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A payload's size for a tag: 8..263 bytes, so framing and padding vary. */
static inline uint32_t wal_tu_size(uint64_t tag)
{
    return 8u + (uint32_t)((tag * 0x9e3779b97f4a7c15ull) >> 56);
}

/* The payload for tag: the tag itself (8 bytes, little-endian), then a pattern of it. */
static inline void wal_tu_fill(uint64_t tag, uint8_t *buf, uint32_t size)
{
    ALEXDB_ASSERT(size >= 8);
    common_store_u64le(buf, tag);
    uint64_t x = tag ^ 0xd1b54a32d192ed03ull;
    for (uint32_t i = 8; i < size; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(x >> 56);
    }
}

/* True if payload is the one wal_tu_fill makes for the tag stored in its first 8 bytes. */
static inline bool wal_tu_payload_ok(const uint8_t *payload, uint32_t size)
{
    if (size < 8) return false;
    uint64_t tag = common_load_u64le(payload);
    if (size != wal_tu_size(tag)) return false;
    uint8_t expect[300];
    wal_tu_fill(tag, expect, size);
    return memcmp(expect, payload, size) == 0;
}

/* Appends the record for tag (type 1 + tag % 7); returns its LSN, asserting success. */
static inline uint64_t wal_tu_append(wal *w, uint64_t tag)
{
    uint8_t buf[300];
    uint32_t size = wal_tu_size(tag);
    wal_tu_fill(tag, buf, size);
    wal_part part = {.data = buf, .size = size};
    uint64_t lsn = 0;
    int rc = wal_append(w, (uint8_t)(1 + tag % 7), &part, 1, &lsn);
    if (rc != ALEXDB_OK) fail_msg("wal_append: %s (%s)", alexdb_strerror(rc), alexdb_errmsg());
    return lsn;
}

/* What a replay delivered: the tag of each record, in order. */
typedef struct wal_tu_replay {
    uint64_t first_lsn;   /* of the first record delivered; 0 if none */
    uint64_t last_lsn;
    uint64_t *tags;       /* tags[i] is the record at first_lsn + i */
    uint64_t count;
    uint64_t capacity;
    uint64_t bad_count;   /* payload mismatches, wrong types, LSNs out of order */
    int stop_at_lsn_rc;   /* returned at stop_lsn, if nonzero */
    uint64_t stop_lsn;
} wal_tu_replay;

static inline int wal_tu_collect(void *ctx, uint64_t lsn, uint8_t type, const uint8_t *payload,
                                 uint32_t size)
{
    wal_tu_replay *r = ctx;
    if (r->stop_at_lsn_rc != 0 && lsn == r->stop_lsn) return r->stop_at_lsn_rc;
    if (r->count == 0) r->first_lsn = lsn;
    if (r->count > 0 && lsn != r->last_lsn + 1) r->bad_count++;
    r->last_lsn = lsn;
    if (!wal_tu_payload_ok(payload, size)) {
        r->bad_count++;
    } else if (type != (uint8_t)(1 + common_load_u64le(payload) % 7)) {
        r->bad_count++;
    }
    if (r->count == r->capacity) {
        r->capacity = r->capacity == 0 ? 1024 : r->capacity * 2;
        r->tags = realloc(r->tags, r->capacity * sizeof(uint64_t));
        ALEXDB_ASSERT(r->tags != NULL);
    }
    r->tags[r->count++] = size >= 8 ? common_load_u64le(payload) : UINT64_MAX;
    return ALEXDB_OK;
}

static inline void wal_tu_replay_reset(wal_tu_replay *r)
{
    free(r->tags);
    memset(r, 0, sizeof(*r));
}

/* A config for tests: the backend under test, db_id 42, the given segment size. */
static inline wal_config wal_tu_config(uint64_t segment_size)
{
    wal_config config;
    memset(&config, 0, sizeof(config));
    tu_env(&config.env);
    config.db_id = 42;
    config.segment_size = segment_size;
    return config;
}

/* Opens, asserting success, collecting the replay into r (may be NULL). */
static inline wal *wal_tu_open(const char *dir, const wal_config *config, uint64_t from_lsn,
                               wal_tu_replay *r)
{
    wal *w = NULL;
    int rc = wal_open(dir, config, from_lsn, r != NULL ? wal_tu_collect : NULL, r, &w);
    if (rc != ALEXDB_OK) fail_msg("wal_open %s: %s (%s)", dir, alexdb_strerror(rc), alexdb_errmsg());
    return w;
}

static inline void wal_tu_close(wal *w)
{
    int rc = wal_close(w);
    if (rc != ALEXDB_OK) fail_msg("wal_close: %s (%s)", alexdb_strerror(rc), alexdb_errmsg());
}

/* The path of segment first_lsn in dir; the caller frees it. */
static inline char *wal_tu_segment_path(const char *dir, uint64_t first_lsn)
{
    char *path = wal_segment_path(dir, first_lsn, WAL_SEGMENT_SUFFIX);
    ALEXDB_ASSERT(path != NULL);
    return path;
}

/* The segments in dir, in LSN order (the caller frees list.first_lsns). */
static inline wal_segment_list wal_tu_segments(const char *dir)
{
    wal_segment_list list = {0};
    pager_env env = {.backend = PAGER_BACKEND_POSIX};
    assert_int_equal(wal_segment_list_load(&env, dir, true, &list), ALEXDB_OK);
    return list;
}

#endif /* WAL_TU_H */
