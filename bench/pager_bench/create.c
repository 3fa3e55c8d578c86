/*
 * create.c: phase 1 of alexdb-pager-bench. It builds the page file through the pager
 * (pager_extend, pager_write_pages in 1 MiB runs, pager_flush, a superblock commit),
 * reopens it without create, so that phase 2 starts with a cold cache and the reopen
 * proves the superblock recorded the page count, and reads a sample back with
 * pager_pin, checking kind, page number and every body byte: a mismatch is an error.
 *
 * Each page's body is derived from its page number alone (pattern_word()), so any page
 * can be checked without keeping a copy, and a page read from the wrong place is caught.
 *
 * Entry points: pager_bench_create_file(), pager_bench_reopen_pager(),
 * pager_bench_verify_sample(). The pattern is written down in bench/README.md.
 */
#include "pager_bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

_Static_assert(PAGER_BODY_SIZE % 8 == 0, "the body pattern is whole 64-bit words");

static void bench_log(void *ctx, int level, const char *message)
{
    FILE *to = ctx;
    fprintf(to, "pager %s: %s\n", level == PAGER_LOG_WARN ? "warning" : "info", message);
}

static void bench_config(bench *b, pager_config *config, int create)
{
    pager_config_init(config);
    config->env.backend = b->opt.backend;
    config->env.log = bench_log;
    config->env.log_ctx = b->out;
    config->cache_bytes = (size_t)b->opt.cache_size;
    config->create = create;
}

static uint64_t pattern_word(uint64_t page_no, uint32_t word_index)
{
    /* Odd multipliers are bijections: no two pages share a word at the same index. */
    return (page_no * BENCH_PATTERN_PAGE_MUL) ^
           ((uint64_t)(word_index + 1u) * BENCH_PATTERN_WORD_MUL);
}

static void pattern_fill(uint8_t *page, uint64_t page_no)
{
    pager_page_init(page, PAGER_KIND_RAW);
    for (uint32_t w = 0; w < PAGER_BODY_SIZE / 8u; w++) {
        common_store_u64le(page + PAGER_HEADER_SIZE + 8u * w, pattern_word(page_no, w));
    }
}

/* Returns the index of the first body word that differs, or -1 if the body is right. */
static int32_t pattern_check(const uint8_t *page, uint64_t page_no)
{
    for (uint32_t w = 0; w < PAGER_BODY_SIZE / 8u; w++) {
        if (common_load_u64le(page + PAGER_HEADER_SIZE + 8u * w) != pattern_word(page_no, w)) {
            return (int32_t)w;
        }
    }
    return -1;
}

static int extend_file(bench *b, pager *pg)
{
    uint64_t have = pager_page_count(pg);
    if (have != BENCH_RESERVED_PAGE_COUNT) {
        return pager_bench_errorf(ALEXDB_INVALID,
                                  "a new page file has %" PRIu64 " pages, expected %u", have,
                                  BENCH_RESERVED_PAGE_COUNT);
    }
    while (have < b->page_count) {
        uint32_t n =
            (uint32_t)COMMON_MIN(b->page_count - have, (uint64_t)BENCH_EXTEND_PAGE_COUNT_MAX);
        uint64_t first = 0;
        int rc = pager_extend(pg, n, &first);
        if (rc != ALEXDB_OK) return pager_bench_fail("pager_extend", rc);
        if (first != have) {
            return pager_bench_errorf(ALEXDB_INVALID,
                                      "pager_extend gave first page %" PRIu64 ", expected %" PRIu64,
                                      first, have);
        }
        have += n;
    }
    return ALEXDB_OK;
}

static int write_pages(bench *b, pager *pg, uint8_t *run_buf)
{
    uint64_t in_pager_ns = 0;
    for (uint64_t first = BENCH_RESERVED_PAGE_COUNT; first < b->page_count;
         first += BENCH_RUN_PAGE_COUNT) {
        uint32_t n = (uint32_t)COMMON_MIN(b->page_count - first, (uint64_t)BENCH_RUN_PAGE_COUNT);
        for (uint32_t i = 0; i < n; i++)
            pattern_fill(run_buf + (size_t)i * PAGER_PAGE_SIZE, first + i);
        uint64_t t0 = common_now_ns();
        int rc = pager_write_pages(pg, first, n, run_buf, 0);
        in_pager_ns += common_now_ns() - t0;
        if (rc != ALEXDB_OK) return pager_bench_fail("pager_write_pages", rc);
    }
    b->create.write_in_pager_s = (double)in_pager_ns / 1e9;
    return ALEXDB_OK;
}

static int create_steps(bench *b, pager *pg)
{
    static const char payload[] = BENCH_NAME;
    uint8_t *run_buf = NULL;
    if (posix_memalign((void **)&run_buf, PAGER_PAGE_SIZE,
                       (size_t)BENCH_RUN_PAGE_COUNT * PAGER_PAGE_SIZE) != 0) {
        return pager_bench_errorf(ALEXDB_NOMEM, "out of memory for a 1 MiB write run");
    }
    uint64_t t0 = common_now_ns();
    int rc = extend_file(b, pg);
    uint64_t t1 = common_now_ns();
    if (rc == ALEXDB_OK) rc = write_pages(b, pg, run_buf);
    uint64_t t2 = common_now_ns();
    if (rc == ALEXDB_OK) {
        rc = pager_flush(pg);
        if (rc != ALEXDB_OK) pager_bench_fail("pager_flush", rc);
    }
    if (rc == ALEXDB_OK) {
        rc = pager_superblock_commit(pg, 0, payload, (uint32_t)sizeof(payload));
        if (rc != ALEXDB_OK) pager_bench_fail("pager_superblock_commit", rc);
    }
    b->create.extend_s = (double)(t1 - t0) / 1e9;
    b->create.write_s = (double)(t2 - t1) / 1e9;
    b->create.flush_s = pager_bench_seconds_since(t2);
    free(run_buf);
    return rc;
}

int pager_bench_create_file(bench *b)
{
    if (unlink(b->path) != 0 && errno != ENOENT) {
        return pager_bench_errorf(ALEXDB_IO, "unlink %s: %s", b->path, strerror(errno));
    }
    pager_config config;
    bench_config(b, &config, 1);
    pager *pg = NULL;
    int rc = pager_open(b->path, &config, &pg);
    if (rc != ALEXDB_OK) return pager_bench_fail("pager_open (create)", rc);
    rc = create_steps(b, pg);
    pager_stats stats;
    pager_stats_get(pg, &stats);
    pager_close(pg);
    if (rc != ALEXDB_OK) return rc;
    create_result *c = &b->create;
    c->page_count = b->page_count - BENCH_RESERVED_PAGE_COUNT;
    c->io = stats.io;
    double mib = (double)c->page_count * PAGER_PAGE_SIZE / (1024.0 * 1024.0);
    fprintf(b->out,
            "create: extended to %" PRIu64 " pages in %.2f s; wrote %" PRIu64
            " pages, %.1f MiB in %.2f s: %.0f MB/s in pager_write_pages (%.2f s of it); "
            "flush + superblock %.3f s\n",
            b->page_count, c->extend_s, c->page_count, mib, c->write_s,
            (double)c->page_count * PAGER_PAGE_SIZE / 1e6 / c->write_in_pager_s,
            c->write_in_pager_s, c->flush_s);
    fprintf(b->out,
            "create: io %" PRIu64 " writes (%.1f MiB, zero-fill included), %" PRIu64
            " submissions, %" PRIu64 " fdatasyncs\n",
            c->io.write_count, (double)c->io.write_bytes / (1024.0 * 1024.0), c->io.submit_count,
            c->io.sync_count);
    return ALEXDB_OK;
}

static int verify_page(bench *b, uint64_t page_no)
{
    pager_frame *frame = NULL;
    int rc = pager_pin(b->pg, page_no, 0, &frame);
    if (rc != ALEXDB_OK) return pager_bench_fail("verify: pager_pin", rc);
    const uint8_t *data = pager_frame_data(frame);
    uint64_t frame_page_no = pager_frame_page_no(frame);
    uint8_t kind = pager_page_kind(data);
    int32_t bad_word = pattern_check(data, page_no);
    pager_unpin(b->pg, frame);
    if (frame_page_no != page_no || kind != PAGER_KIND_RAW || bad_word >= 0) {
        return pager_bench_errorf(
            ALEXDB_CORRUPT,
            "verify: page %" PRIu64 " came back wrong: frame holds page %" PRIu64
            ", kind %u (%s), first bad body word %d",
            page_no, frame_page_no, kind, pager_kind_name(kind), (int)bad_word);
    }
    return ALEXDB_OK;
}

/* Reads back the first and last data pages and a random sample, checking every byte. */
int pager_bench_verify_sample(bench *b)
{
    uint64_t data_page_count = b->page_count - BENCH_RESERVED_PAGE_COUNT;
    uint64_t count = COMMON_MIN(b->opt.verify_page_count, data_page_count);
    common_rng rng;
    common_rng_seed(&rng, b->opt.seed ^ BENCH_VERIFY_SALT);
    uint64_t t0 = common_now_ns();
    for (uint64_t k = 0; k < count; k++) {
        uint64_t page_no = k == 0   ? BENCH_RESERVED_PAGE_COUNT
                           : k == 1 ? b->page_count - 1
                                    : pager_bench_draw_page_no(b, &rng);
        int rc = verify_page(b, page_no);
        if (rc != ALEXDB_OK) return rc;
    }
    b->create.verified_page_count = count;
    b->create.verify_s = pager_bench_seconds_since(t0);
    fprintf(b->out,
            "verify: verified %" PRIu64 " pages (first, last and %" PRIu64
            " random) through pager_pin in %.2f s: kind, page number and every body byte match\n",
            count, count > 2 ? count - 2 : 0, b->create.verify_s);
    return ALEXDB_OK;
}

int pager_bench_reopen_pager(bench *b)
{
    pager_config config;
    bench_config(b, &config, 0);
    int rc = pager_open(b->path, &config, &b->pg);
    if (rc != ALEXDB_OK) return pager_bench_fail("pager_open (reopen)", rc);
    uint64_t have = pager_page_count(b->pg);
    if (have != b->page_count) {
        return pager_bench_errorf(ALEXDB_CORRUPT,
                                  "reopened file has %" PRIu64 " pages, wrote %" PRIu64, have,
                                  b->page_count);
    }
    pager_stats stats;
    pager_stats_get(b->pg, &stats);
    fprintf(
        b->out,
        "pager: reopened cold: backend %s%s%s, %s, %" PRIu64 " frames (%.1f MiB) "
        "for %" PRIu64 " pages: expected hit ratio %.2f%%\n",
        stats.backend, stats.fallback_reason[0] ? " after fallback: " : "", stats.fallback_reason,
        pager_file_is_direct(pager_get_file(b->pg)) ? "O_DIRECT" : "buffered", stats.frame_count,
        (double)stats.frame_count * PAGER_PAGE_SIZE / (1024.0 * 1024.0),
        b->page_count - BENCH_RESERVED_PAGE_COUNT,
        100.0 * (double)stats.frame_count / (double)(b->page_count - BENCH_RESERVED_PAGE_COUNT));
    return ALEXDB_OK;
}
