/* testutil.c: shared helpers for the cmocka tests (see testutil.h). */
#include "testutil.h"

#include "alexdb.h"

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char templ[512];
    snprintf(templ, sizeof(templ), "%s/alexdb-test-XXXXXX", base != NULL ? base : "/tmp");
    char *dir = mkdtemp(templ);
    assert_non_null(dir);
    return strdup(dir);
}

char *tu_path(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *path = malloc(size);
    assert_non_null(path);
    snprintf(path, size, "%s/%s", dir, name);
    return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmrf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int tu_fixture_setup(void **state)
{
    tu_fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->dir = tu_tmpdir();
    fx->path = tu_path(fx->dir, "file");
    *state = fx;
    return 0;
}

int tu_fixture_teardown(void **state)
{
    tu_fixture *fx = *state;
    tu_rmrf(fx->dir);
    free(fx->path);
    free(fx->dir);
    free(fx);
    return 0;
}

pager_backend tu_backend(void)
{
    const char *name = getenv("ALEXDB_TEST_BACKEND");
    if (name == NULL || strcmp(name, "uring") == 0) return PAGER_BACKEND_URING;
    if (strcmp(name, "posix") == 0) return PAGER_BACKEND_POSIX;
    if (strcmp(name, "fault") == 0) return PAGER_BACKEND_FAULT;
    fprintf(stderr, "unknown ALEXDB_TEST_BACKEND=%s\n", name);
    abort();
}

const char *tu_backend_name(void)
{
    static const char *names[] = {"auto", "uring", "posix", "fault"};
    return names[tu_backend()];
}

void tu_env(pager_env *env)
{
    static pager_fault *domain;
    memset(env, 0, sizeof(*env));
    env->backend = tu_backend();
    if (env->backend == PAGER_BACKEND_FAULT) {
        if (domain == NULL) {
            pager_fault_config config = {.seed = 1};
            assert_int_equal(pager_fault_create(&config, &domain), ALEXDB_OK);
        }
        env->fault = domain;
    }
}

uint64_t tu_seed(void)
{
    static uint64_t seed;
    static int printed;
    if (!printed) {
        const char *s = getenv("ALEXDB_TEST_SEED");
        seed = s != NULL ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        printf("seed: %" PRIu64 " (replay with ALEXDB_TEST_SEED=%" PRIu64 ")\n", seed, seed);
        fflush(stdout);
        printed = 1;
    }
    return seed;
}

uint8_t *tu_aligned(size_t size)
{
    void *p = NULL;
    size_t rounded = (size + PAGER_PAGE_SIZE - 1) / PAGER_PAGE_SIZE * PAGER_PAGE_SIZE;
    assert_int_equal(posix_memalign(&p, PAGER_PAGE_SIZE, rounded ? rounded : PAGER_PAGE_SIZE), 0);
    memset(p, 0, rounded);
    return p;
}

static uint8_t pattern_byte(uint64_t page_no, uint64_t salt, size_t i)
{
    uint64_t x = (page_no * 0x9e3779b97f4a7c15ULL) ^ (salt * 0xbf58476d1ce4e5b9ULL) ^ (i * 31);
    return (uint8_t)(x ^ (x >> 29) ^ (x >> 47));
}

void tu_fill_body(uint8_t *page, uint64_t page_no, uint64_t salt)
{
    for (size_t i = PAGER_HEADER_SIZE; i < PAGER_PAGE_SIZE; i++) {
        page[i] = pattern_byte(page_no, salt, i);
    }
}

int tu_body_matches(const uint8_t *page, uint64_t page_no, uint64_t salt)
{
    for (size_t i = PAGER_HEADER_SIZE; i < PAGER_PAGE_SIZE; i++) {
        if (page[i] != pattern_byte(page_no, salt, i)) return 0;
    }
    return 1;
}

void tu_flip_bit(const char *path, uint64_t offset, int bit)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b = 0;
    assert_int_equal(pread(fd, &b, 1, (off_t)offset), 1);
    b ^= (uint8_t)(1u << bit);
    assert_int_equal(pwrite(fd, &b, 1, (off_t)offset), 1);
    assert_int_equal(fsync(fd), 0);
    close(fd);
}

alexdb *tu_db_open(const char *dir, size_t cache_bytes)
{
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.cache_bytes = cache_bytes;
    opts.sync = 0; /* durability is api_write_test's subject */
    alexdb *db = NULL;
    assert_int_equal(alexdb_open(dir, &opts, &db), ALEXDB_OK);
    return db;
}

void tu_page_read(const char *path, uint64_t page_no, uint8_t *page)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, page, PAGER_PAGE_SIZE, (off_t)(page_no * PAGER_PAGE_SIZE)),
                     (ssize_t)PAGER_PAGE_SIZE);
    close(fd);
}

void tu_page_write(const char *path, uint64_t page_no, const uint8_t *page)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, page, PAGER_PAGE_SIZE, (off_t)(page_no * PAGER_PAGE_SIZE)),
                     (ssize_t)PAGER_PAGE_SIZE);
    assert_int_equal(fsync(fd), 0);
    close(fd);
}
