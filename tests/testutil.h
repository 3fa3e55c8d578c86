/*
 * testutil.h: what every cmocka test shares: a scratch directory, the backend under
 * test (ALEXDB_TEST_BACKEND=uring|posix|fault), a printed seed (ALEXDB_TEST_SEED
 * replays), and aligned buffers.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "pager.h"

/* A fresh directory under $TMPDIR (default /tmp); the caller frees the string. */
char *tu_tmpdir(void);
/* tu_path(dir, "name"): dir/name in a static buffer per call site is not safe; malloc'd. */
char *tu_path(const char *dir, const char *name);
void tu_rmrf(const char *path);

/* A cmocka fixture: a fresh directory and a path "file" inside it, removed afterwards. */
typedef struct tu_fixture {
    char *dir;
    char *path;
} tu_fixture;

int tu_fixture_setup(void **state);
int tu_fixture_teardown(void **state);

/* The backend this run tests, from ALEXDB_TEST_BACKEND (default: uring). */
pager_backend tu_backend(void);
const char *tu_backend_name(void);
/* An env for tu_backend(); for "fault" it points at a process-wide domain with no faults. */
void tu_env(pager_env *env);

/* ALEXDB_TEST_SEED or a fresh one; printed once as "seed: N" so a failure replays. */
uint64_t tu_seed(void);

/* A 4 KiB-aligned zeroed buffer; free() it. */
uint8_t *tu_aligned(size_t size);

/* Fills a page body with a pattern derived from (page_no, salt). */
void tu_fill_body(uint8_t *page, uint64_t page_no, uint64_t salt);
/* 1 if the body holds the pattern for (page_no, salt). */
int tu_body_matches(const uint8_t *page, uint64_t page_no, uint64_t salt);

/* Opens the database in dir with a cache of cache_bytes and sync off, asserting success. */
struct alexdb;
struct alexdb *tu_db_open(const char *dir, size_t cache_bytes);

/* Reads / writes (and fsyncs) page page_no of the file at path, bypassing alexdb. */
void tu_page_read(const char *path, uint64_t page_no, uint8_t *page);
void tu_page_write(const char *path, uint64_t page_no, const uint8_t *page);

/* Flips bit `bit` of the byte at offset in the file at path. */
void tu_flip_bit(const char *path, uint64_t offset, int bit);

#endif /* TESTUTIL_H */
