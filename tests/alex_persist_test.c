/*
 * alex_persist_test.c: the inner stream of docs/FORMAT.md 5 (alex/persist.c): the
 * spec's example byte for byte, round trips keep routing bit for bit, and the decoder
 * treats bytes as hostile: every truncation, every single-byte flip (raw, and re-sealed
 * so the structural checks run), random garbage, and one crafted case per "valid iff"
 * rule, each failing with ALEXDB_CORRUPT at the right offset or decoding to an index
 * that validates.
 */
#include "alex_inner_sim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#define STREAM_OFFSET 8192 /* where the tests pretend the stream lives in its file */

typedef struct tile_ctx {
    const alex_inner *inner;
    uint64_t expect_low;
    bool done;
    uint64_t leaves;
} tile_ctx;

static int tile_check(void *ctx, uint64_t page, uint64_t low, uint64_t high)
{
    tile_ctx *t = ctx;
    assert_false(t->done);
    assert_true(low == t->expect_low && low <= high);
    alex_route route;
    alex_inner_route(t->inner, low, &route);
    assert_int_equal(route.leaf_page_no, page);
    uint64_t l = 0, h = 0;
    alex_inner_range(t->inner, &route, &l, &h);
    assert_true(l == low && h == high);
    alex_inner_route(t->inner, high, &route);
    assert_int_equal(route.leaf_page_no, page);
    t->leaves++;
    if (high == UINT64_MAX) t->done = true;
    else t->expect_low = high + 1;
    return 0;
}

/* A decoded index validates: its leaves tile the key space and each range routes home. */
static void validate(const alex_inner *inner)
{
    tile_ctx t = {inner, 0, false, 0};
    assert_int_equal(alex_inner_for_each_leaf(inner, tile_check, &t), 0);
    assert_true(t.done);
    alex_inner_stats stats;
    alex_inner_stats_get(inner, &stats);
    assert_int_equal(t.leaves, stats.leaf_count);
    assert_true(stats.depth_max <= ALEX_DEPTH_MAX);
}

static int decode(const uint8_t *bytes, size_t size, uint64_t page_count, alex_inner **out)
{
    common_errmsg_clear();
    return alex_inner_decode("inner.db", STREAM_OFFSET, bytes, size, page_count, out);
}

/* The error names the file and the absolute offset. */
static void assert_message_offset(uint64_t stream_offset)
{
    char expect[96];
    snprintf(expect, sizeof(expect), "inner.db offset %llu:",
             (unsigned long long)(STREAM_OFFSET + stream_offset));
    if (strstr(common_errmsg(), expect) == NULL) {
        printf("message \"%s\" lacks \"%s\"\n", common_errmsg(), expect);
        fail();
    }
}

/* An index with several node kinds: reversed, extended, scaled and downward-split nodes. */
static void build_mixed(sim *s, uint32_t split_at, uint64_t n)
{
    sim_init(s, split_at);
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 17);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t key;
        switch (i % 4) {
        case 0: key = 1000000000 - i; break;             /* reverse */
        case 1: key = 2000000000 + i; break;             /* sequential */
        case 2: key = common_rng_next(&rng); break;      /* uniform */
        default: key = (i & 4) ? UINT64_MAX - i : i; break; /* extremes */
        }
        assert_int_equal(sim_insert(s, key), ALEXDB_OK);
    }
}

/* Encode, decode: 100 K random keys (and every leaf's bounds) route identically; re-encoding gives the same bytes. */
static void test_round_trip(void **state)
{
    (void)state;
    sim s;
    build_mixed(&s, 24, 60000);
    uint8_t *bytes = NULL;
    size_t size = 0;
    assert_int_equal(alex_inner_encode(s.inner, &bytes, &size), ALEXDB_OK);
    alex_inner *copy = NULL;
    assert_int_equal(decode(bytes, size, s.next_page, &copy), ALEXDB_OK);
    validate(copy);
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 3);
    for (int i = 0; i < 100000; i++) {
        uint64_t key = i % 2 ? common_rng_next(&rng) : common_rng_below(&rng, 3000000000ull);
        alex_route a, b;
        alex_inner_route(s.inner, key, &a);
        alex_inner_route(copy, key, &b);
        assert_int_equal(a.leaf_page_no, b.leaf_page_no);
        assert_int_equal(a.depth, b.depth);
    }
    alex_inner_stats x, y;
    alex_inner_stats_get(s.inner, &x);
    alex_inner_stats_get(copy, &y);
    assert_true(x.node_count == y.node_count && x.slot_count == y.slot_count);
    assert_true(x.leaf_count == y.leaf_count && x.depth_max == y.depth_max);
    uint8_t *again = NULL;
    size_t again_size = 0;
    assert_int_equal(alex_inner_encode(copy, &again, &again_size), ALEXDB_OK);
    assert_true(again_size == size && memcmp(again, bytes, size) == 0);
    printf("  stream: %zu bytes for %" PRIu64 " leaves, %" PRIu64 " nodes\n", size, x.leaf_count,
           x.node_count);
    /* the decoded index keeps working: splits and merges continue on it */
    alex_inner_destroy(s.inner);
    s.inner = copy;
    for (uint64_t i = 0; i < 20000; i++) assert_int_equal(sim_insert(&s, common_rng_next(&rng)), ALEXDB_OK);
    sim_check(&s);
    free(again);
    free(bytes);
    sim_destroy(&s);
}

/* FORMAT.md 5's example, byte for byte: it decodes, routes as the text says, and
 * encodes back to itself. */
static void test_format_example(void **state)
{
    (void)state;
    static const uint8_t example[88] = {
        0x88, 0xf8, 0xf2, 0x62, 0x3b, 0xf0, 0xda, 0x17, 0x41, 0x58, 0x49, 0x4e, 0x01, 0x00, 0x00, 0x00,
        0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x3f,
        0x64, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x0b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    };
    alex_inner *inner = NULL;
    assert_int_equal(decode(example, sizeof(example), 12, &inner), ALEXDB_OK);
    alex_route route;
    alex_inner_route(inner, 99, &route);
    assert_int_equal(route.leaf_page_no, 10);
    alex_inner_route(inner, 100, &route);
    assert_int_equal(route.leaf_page_no, 11);
    uint8_t *bytes = NULL;
    size_t size = 0;
    assert_int_equal(alex_inner_encode(inner, &bytes, &size), ALEXDB_OK);
    assert_int_equal(size, sizeof(example));
    assert_memory_equal(bytes, example, sizeof(example));
    free(bytes);
    alex_inner_destroy(inner);
}

/* An index that is one leaf encodes to the 40-byte header alone and decodes back. */
static void test_round_trip_single_leaf(void **state)
{
    (void)state;
    alex_inner *inner = NULL;
    assert_int_equal(alex_inner_create(77, &inner), ALEXDB_OK);
    uint8_t *bytes = NULL;
    size_t size = 0;
    assert_int_equal(alex_inner_encode(inner, &bytes, &size), ALEXDB_OK);
    assert_int_equal(size, 40);
    alex_inner *copy = NULL;
    assert_int_equal(decode(bytes, size, 78, &copy), ALEXDB_OK);
    alex_route route;
    alex_inner_route(copy, 5, &route);
    assert_true(route.leaf_page_no == 77 && route.depth == 0);
    alex_inner_destroy(copy);
    assert_int_equal(decode(bytes, size, 77, &copy), ALEXDB_CORRUPT); /* page 77 beyond the file */
    assert_message_offset(24);
    free(bytes);
    alex_inner_destroy(inner);
}

/* A small stream of a few nodes of every kind, for the exhaustive corruption tests. */
static void small_stream(uint8_t **bytes, size_t *size, uint64_t *page_count)
{
    sim s;
    build_mixed(&s, 4, 60);
    assert_int_equal(alex_inner_encode(s.inner, bytes, size), ALEXDB_OK);
    *page_count = s.next_page;
    alex_inner_stats stats;
    alex_inner_stats_get(s.inner, &stats);
    assert_true(stats.node_count >= 3);
    bool reversed = false;
    for (uint32_t i = 0; i < s.inner->node_used; i++) reversed |= (s.inner->nodes[i].flags & ALEX_INNER_REVERSED) != 0;
    assert_true(reversed);
    sim_destroy(&s);
}

/* Every proper prefix of a stream, and the stream plus one byte, is ALEXDB_CORRUPT. */
static void test_truncations(void **state)
{
    (void)state;
    uint8_t *bytes = NULL;
    size_t size = 0;
    uint64_t page_count = 0;
    small_stream(&bytes, &size, &page_count);
    alex_inner *inner = NULL;
    for (size_t n = 0; n < size; n++) {
        uint8_t *copy = malloc(n > 0 ? n : 1);
        memcpy(copy, bytes, n);
        assert_int_equal(decode(n > 0 ? copy : NULL, n, page_count, &inner), ALEXDB_CORRUPT);
        /* also with the checksum and size re-sealed, so the structure is what fails */
        if (n >= 40) {
            common_store_u64le(copy + 16, n);
            sim_stream_reseal(copy, n);
            assert_int_equal(decode(copy, n, page_count, &inner), ALEXDB_CORRUPT);
        }
        free(copy);
    }
    uint8_t *longer = calloc(1, size + 1);
    memcpy(longer, bytes, size);
    assert_int_equal(decode(longer, size + 1, page_count, &inner), ALEXDB_CORRUPT);
    common_store_u64le(longer + 16, size + 1);
    sim_stream_reseal(longer, size + 1);
    assert_int_equal(decode(longer, size + 1, page_count, &inner), ALEXDB_CORRUPT);
    assert_message_offset(size);
    free(longer);
    free(bytes);
}

/*
 * Every single-byte change (each bit, and all bits): raw, the checksum catches it;
 * re-sealed, the decoder rejects it or it decodes to an index that validates.
 */
static void test_byte_flips(void **state)
{
    (void)state;
    uint8_t *bytes = NULL;
    size_t size = 0;
    uint64_t page_count = 0;
    small_stream(&bytes, &size, &page_count);
    uint8_t *copy = malloc(size);
    uint64_t accepted = 0, rejected = 0;
    for (size_t offset = 0; offset < size; offset++) {
        for (int variant = 0; variant < 9; variant++) {
            uint8_t mask = variant < 8 ? (uint8_t)(1u << variant) : 0xFF;
            memcpy(copy, bytes, size);
            copy[offset] ^= mask;
            alex_inner *inner = NULL;
            assert_int_equal(decode(copy, size, page_count, &inner), ALEXDB_CORRUPT);
            if (offset < 8) continue; /* the checksum itself: re-sealing undoes the flip */
            sim_stream_reseal(copy, size);
            int rc = decode(copy, size, page_count, &inner);
            if (offset == 12) {
                assert_int_equal(rc, ALEXDB_VERSION);
                continue;
            }
            if (rc == ALEXDB_OK) {
                validate(inner);
                alex_inner_destroy(inner);
                accepted++;
            } else {
                assert_int_equal(rc, ALEXDB_CORRUPT);
                assert_non_null(strstr(common_errmsg(), "inner.db offset "));
                rejected++;
            }
        }
    }
    printf("  %zu-byte stream: %" PRIu64 " re-sealed flips decoded and validated, %" PRIu64
           " rejected\n", size, accepted, rejected);
    assert_true(rejected > accepted);
    free(copy);
    free(bytes);
}

/* 10 K random buffers, half of them behind a plausible re-sealed header: never a crash, never a bad index. */
static void test_garbage(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 11);
    uint8_t buffer[600];
    uint64_t accepted = 0;
    for (int i = 0; i < 10000; i++) {
        size_t size = (size_t)common_rng_below(&rng, sizeof(buffer) + 1);
        for (size_t j = 0; j < size; j++) buffer[j] = (uint8_t)common_rng_next(&rng);
        if (i % 2 == 1 && size >= 40) {
            common_store_u32le(buffer + 8, 0x4E495841u);
            buffer[12] = 1;
            memset(buffer + 13, 0, 3);
            common_store_u64le(buffer + 16, size);
            common_store_u32le(buffer + 24, i % 4 == 1 ? ALEX_REF_INNER : (uint32_t)common_rng_below(&rng, 50));
            common_store_u32le(buffer + 28, (uint32_t)common_rng_below(&rng, 6));
            common_store_u64le(buffer + 32, common_rng_below(&rng, 64));
            for (size_t j = 40; j + 8 <= size; j += 8) { /* plausible node fields now and then */
                if (common_rng_below(&rng, 3) == 0) buffer[j] = (uint8_t)(1 + common_rng_below(&rng, 6));
            }
            sim_stream_reseal(buffer, size);
        }
        alex_inner *inner = NULL;
        int rc = decode(size > 0 ? buffer : NULL, size, 64, &inner);
        if (rc == ALEXDB_OK) {
            validate(inner);
            alex_inner_destroy(inner);
            accepted++;
        } else {
            assert_int_equal(rc, ALEXDB_CORRUPT);
        }
    }
    printf("  garbage: %" PRIu64 " of 10000 decoded (and validated)\n", accepted);
}

/* A valid two-leaf stream: root of 2 slots, base 100, slope 0, intercept 1 (keys >= 100 to slot 1). */
static void base_stream(sim_stream *st)
{
    sim_stream_begin(st, ALEX_REF_INNER);
    sim_run runs[2] = {{10, 1}, {11, 1}};
    sim_stream_node(st, 1, 0, 0.0, 1.0, 100, runs, 2);
    sim_stream_end(st);
}

static void expect_corrupt(sim_stream *st, uint64_t offset, uint64_t page_count)
{
    sim_stream_end(st);
    alex_inner *inner = NULL;
    assert_int_equal(decode(st->bytes, st->size, page_count, &inner), ALEXDB_CORRUPT);
    assert_message_offset(offset);
}

/* Each "valid iff" rule of FORMAT.md 5, broken on its own, is ALEXDB_CORRUPT naming its offset. */
static void test_crafted_violations(void **state)
{
    (void)state;
    sim_stream st;
    alex_inner *inner = NULL;
    base_stream(&st);
    assert_int_equal(decode(st.bytes, st.size, 20, &inner), ALEXDB_OK);
    alex_inner_destroy(inner);

    base_stream(&st); /* checksum */
    st.bytes[60] ^= 1;
    assert_int_equal(decode(st.bytes, st.size, 20, &inner), ALEXDB_CORRUPT);
    assert_message_offset(0);
    base_stream(&st); /* magic */
    st.bytes[8] = 'X';
    expect_corrupt(&st, 8, 20);
    base_stream(&st); /* version: ALEXDB_VERSION, not CORRUPT */
    st.bytes[12] = 2;
    sim_stream_end(&st);
    assert_int_equal(decode(st.bytes, st.size, 20, &inner), ALEXDB_VERSION);
    base_stream(&st); /* reserved header bytes */
    st.bytes[14] = 1;
    expect_corrupt(&st, 14, 20);
    base_stream(&st); /* size field */
    sim_stream_end(&st);
    common_store_u64le(st.bytes + 16, st.size + 8);
    sim_stream_reseal(st.bytes, st.size);
    assert_int_equal(decode(st.bytes, st.size, 20, &inner), ALEXDB_CORRUPT);
    assert_message_offset(16);
    base_stream(&st); /* root: a leaf while nodes follow */
    common_store_u32le(st.bytes + 24, 10);
    expect_corrupt(&st, 24, 20);

    /* node fields; the node starts at 40 */
    static const struct { size_t at; uint8_t value; uint64_t offset; } fields[] = {
        {40, 0, 40},  /* slot count log2 0 */
        {40, 21, 40}, /* log2 past the maximum */
        {41, 2, 41},  /* unknown flag */
        {42, 1, 42},  /* reserved */
        {44, 1, 44},  /* one run */
        {44, 3, 44},  /* more runs than slots */
    };
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(fields); i++) {
        base_stream(&st);
        st.bytes[fields[i].at] = fields[i].value;
        expect_corrupt(&st, fields[i].offset, 20);
    }
    const double bad_slopes[] = {-1.0, INFINITY, NAN};
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(bad_slopes); i++) {
        base_stream(&st);
        uint64_t bits;
        memcpy(&bits, &bad_slopes[i], 8);
        common_store_u64le(st.bytes + 48, bits);
        expect_corrupt(&st, 48, 20);
        base_stream(&st);
        common_store_u64le(st.bytes + 56, bits);
        if (i > 0) expect_corrupt(&st, 56, 20); /* a negative intercept is fine */
    }

    /* runs: at 72 (ref, length), 80 */
    base_stream(&st); /* run length 0 */
    common_store_u32le(st.bytes + 76, 0);
    expect_corrupt(&st, 76, 20);
    base_stream(&st); /* lengths cover 3 of 2 slots */
    common_store_u32le(st.bytes + 84, 2);
    expect_corrupt(&st, 84, 20);
    base_stream(&st); /* the same child in two runs */
    common_store_u32le(st.bytes + 80, 10);
    expect_corrupt(&st, 80, 20);
    static const uint32_t bad_pages[] = {0, 1, 20, 0x7FFFFFFFu};
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(bad_pages); i++) {
        base_stream(&st);
        common_store_u32le(st.bytes + 80, bad_pages[i]);
        expect_corrupt(&st, 80, 20);
    }
    base_stream(&st); /* a node referring to itself (a cycle) */
    common_store_u32le(st.bytes + 80, ALEX_REF_INNER | 0);
    expect_corrupt(&st, 80, 20);
    base_stream(&st); /* a node that does not exist */
    common_store_u32le(st.bytes + 80, ALEX_REF_INNER | 1);
    expect_corrupt(&st, 80, 20);

    /* structure across nodes */
    sim_stream_begin(&st, ALEX_REF_INNER); /* node 1 referenced twice */
    sim_run twice[3] = {{ALEX_REF_INNER | 1, 1}, {10, 1}, {ALEX_REF_INNER | 1, 2}};
    sim_stream_node(&st, 2, 0, 0x1p-62, 0.0, 0, twice, 3);
    sim_run leaves[2] = {{11, 1}, {12, 1}};
    sim_stream_node(&st, 1, 0, 0x1p-61, 0.0, 0, leaves, 2);
    expect_corrupt(&st, 40 + 32 + 16, 20);
    sim_stream_begin(&st, ALEX_REF_INNER); /* node 1 never referenced */
    sim_run two[2] = {{10, 1}, {11, 1}};
    sim_stream_node(&st, 1, 0, 0.0, 1.0, 100, two, 2);
    sim_stream_node(&st, 1, 0, 0.0, 1.0, 100, leaves, 2);
    expect_corrupt(&st, 88, 20);
    sim_stream_begin(&st, ALEX_REF_INNER); /* a leaf named twice, in two nodes */
    sim_run a[2] = {{10, 1}, {ALEX_REF_INNER | 1, 1}};
    sim_stream_node(&st, 1, 0, 0.0, 1.0, 100, a, 2);
    sim_run b[2] = {{10, 1}, {12, 1}};
    sim_stream_node(&st, 1, 0, 0.0, 1.0, 200, b, 2);
    expect_corrupt(&st, 40 + 48 + 32, 20);
    sim_stream_begin(&st, ALEX_REF_INNER); /* a child owning no keys: slope 0, all keys in slot 0 */
    sim_run empty[2] = {{10, 1}, {11, 3}};
    sim_stream_node(&st, 2, 0, 0.0, 0.0, 0, empty, 2);
    expect_corrupt(&st, 80, 20);
    sim_stream_begin(&st, ALEX_REF_INNER); /* child 1 of node 1 owns no keys inside node 1's range */
    sim_run outer[2] = {{10, 1}, {ALEX_REF_INNER | 1, 1}};
    sim_stream_node(&st, 1, 0, 0.0, 1.0, 1000, outer, 2);   /* node 1 gets [1000, MAX] */
    sim_run inner_runs[2] = {{11, 1}, {12, 1}};
    sim_stream_node(&st, 1, 0, 0.0, 1.0, 500, inner_runs, 2); /* slot 0 = keys < 500: none */
    expect_corrupt(&st, 88 + 32, 20);
    sim_stream_begin(&st, ALEX_REF_INNER); /* 25 levels */
    for (uint32_t i = 0; i <= ALEX_DEPTH_MAX; i++) {
        sim_run chain[2] = {{100 + i, 1}, {i < ALEX_DEPTH_MAX ? ALEX_REF_INNER | (i + 1) : 99, 1}};
        sim_stream_node(&st, 1, 0, 0.0, 1.0, 1000 * (i + 1ull), chain, 2);
    }
    expect_corrupt(&st, 40 + 48 * (ALEX_DEPTH_MAX - 1) + 40, 200);
    base_stream(&st); /* slot total disagrees */
    sim_stream_end(&st);
    common_store_u64le(st.bytes + 32, 3);
    sim_stream_reseal(st.bytes, st.size);
    assert_int_equal(decode(st.bytes, st.size, 20, &inner), ALEXDB_CORRUPT);
    assert_message_offset(32);
    base_stream(&st); /* node count the bytes cannot hold */
    sim_stream_end(&st);
    common_store_u32le(st.bytes + 28, 2);
    sim_stream_reseal(st.bytes, st.size);
    assert_int_equal(decode(st.bytes, st.size, 20, &inner), ALEXDB_CORRUPT);
    assert_message_offset(28);
}

/* NULL arguments are ALEXDB_INVALID, not a crash. */
static void test_bad_arguments(void **state)
{
    (void)state;
    alex_inner *inner = NULL;
    uint8_t byte = 0;
    assert_int_equal(alex_inner_decode("x", 0, &byte, 1, 10, NULL), ALEXDB_INVALID);
    assert_int_equal(alex_inner_decode("x", 0, NULL, 5, 10, &inner), ALEXDB_INVALID);
    size_t size = 0;
    assert_int_equal(alex_inner_encode(NULL, NULL, &size), ALEXDB_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_single_leaf),
        cmocka_unit_test(test_format_example),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_crafted_violations),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
