/*
 * pager_io_uring_test.c: what is particular to the io_uring backend (pager/io_uring.c)
 * and its choice in file.c: falling back to pread/pwrite when io_uring is unavailable
 * and to buffered I/O when O_DIRECT is refused (each said exactly once), refusing to
 * fall back when io_uring was required, one ring per thread under concurrent batches,
 * and a ring released when its thread exits. Labelled "concurrency": TSan runs it.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE PAGER_PAGE_SIZE
#define THREAD_COUNT 8u
#define THREAD_PAGES 32u
#define THREAD_ROUNDS 4u
#define EXIT_THREAD_COUNT 200u

typedef struct log_capture {
    int count;
    int level;
    char message[COMMON_ERRMSG_SIZE_MAX];
} log_capture;

static void capture_log(void *ctx, int level, const char *message)
{
    log_capture *cap = ctx;
    cap->count++;
    cap->level = level;
    snprintf(cap->message, sizeof(cap->message), "%s", message);
}

/* Writes one page and reads it back through file: the handle really works. */
static void assert_round_trip(pager_file *file, uint64_t page_no)
{
    uint8_t *buf = tu_aligned(PAGE);
    tu_fill_body(buf, page_no, 77);
    pager_io_req req = {.buf = buf, .offset = page_no * PAGE, .size = PAGE, .op = PAGER_IO_WRITE};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    memset(buf, 0, PAGE);
    req = (pager_io_req){.buf = buf, .offset = page_no * PAGE, .size = PAGE, .op = PAGER_IO_READ};
    assert_int_equal(pager_file_rw(file, &req, 1), ALEXDB_OK);
    assert_true(tu_body_matches(buf, page_no, 77));
    free(buf);
}

/* Opens with io_uring required; skips the test on a machine without io_uring. */
static pager_file *open_uring(const char *path)
{
    pager_env env = {.backend = PAGER_BACKEND_URING};
    pager_file *file = NULL;
    int rc = pager_file_open(&env, path, PAGER_OPEN_CREATE, &file);
    if (rc == ALEXDB_NOTSUP) {
        print_message("io_uring unavailable here: %s\n", alexdb_errmsg());
        skip();
    }
    assert_int_equal(rc, ALEXDB_OK);
    assert_string_equal(pager_file_backend_name(file), "io_uring");
    return file;
}

/* AUTO with io_uring refused (EPERM) falls back to posix, says why, and warns exactly once. */
static void test_auto_falls_back_to_posix(void **state)
{
    tu_fixture *fx = *state;
    log_capture cap = {0};
    pager_env env = {.backend = PAGER_BACKEND_AUTO, .buffered = 1, .log = capture_log,
                     .log_ctx = &cap, .test_uring_errno = EPERM};
    pager_file *file = NULL;
    assert_int_equal(pager_file_open(&env, fx->path, PAGER_OPEN_CREATE, &file), ALEXDB_OK);
    assert_string_equal(pager_file_backend_name(file), "posix");
    assert_non_null(strstr(pager_file_fallback_reason(file), "io_uring"));
    assert_int_equal(cap.count, 1);
    assert_int_equal(cap.level, PAGER_LOG_WARN);
    assert_non_null(strstr(cap.message, "io_uring"));
    assert_non_null(strstr(cap.message, fx->path));
    assert_round_trip(file, 3);
    assert_int_equal(pager_file_sync(file), ALEXDB_OK);
    assert_int_equal(cap.count, 1); /* said once, not per I/O */
    pager_file_close(file);
}

/* A filesystem refusing O_DIRECT (EINVAL) gives a buffered file that says why, once, and works. */
static void test_direct_refused_opens_buffered(void **state)
{
    tu_fixture *fx = *state;
    log_capture cap = {0};
    pager_env env = {.backend = PAGER_BACKEND_AUTO, .log = capture_log, .log_ctx = &cap,
                     .test_direct_errno = EINVAL};
    pager_file *file = NULL;
    assert_int_equal(pager_file_open(&env, fx->path, PAGER_OPEN_CREATE, &file), ALEXDB_OK);
    assert_int_equal(pager_file_is_direct(file), 0);
    assert_non_null(strstr(pager_file_fallback_reason(file), "O_DIRECT"));
    assert_int_equal(cap.count, 1);
    assert_int_equal(cap.level, PAGER_LOG_WARN);
    assert_non_null(strstr(cap.message, "O_DIRECT"));
    assert_round_trip(file, 0);
    pager_file_close(file);
}

/* Without a refusal the file is opened O_DIRECT, with no fallback and nothing logged. */
static void test_direct_by_default(void **state)
{
    tu_fixture *fx = *state;
    log_capture cap = {0};
    pager_env env = {.backend = PAGER_BACKEND_AUTO, .log = capture_log, .log_ctx = &cap};
    pager_file *file = NULL;
    assert_int_equal(pager_file_open(&env, fx->path, PAGER_OPEN_CREATE, &file), ALEXDB_OK);
    if (!pager_file_is_direct(file)) {
        pager_file_close(file);
        print_message("the scratch filesystem refuses O_DIRECT\n");
        skip();
    }
    assert_int_equal(cap.count, 0);
    assert_string_equal(pager_file_fallback_reason(file), "");
    assert_round_trip(file, 1);
    pager_file_close(file);
}

/* Any other O_DIRECT open failure is not papered over: the open fails with a code. */
static void test_direct_other_error_fails(void **state)
{
    tu_fixture *fx = *state;
    pager_env env = {.backend = PAGER_BACKEND_AUTO, .test_direct_errno = EIO};
    pager_file *file = (pager_file *)(uintptr_t)1;
    assert_int_equal(pager_file_open(&env, fx->path, PAGER_OPEN_CREATE, &file), ALEXDB_IO);
    assert_null(file);
}

/* With io_uring required and unavailable, the open fails with ALEXDB_NOTSUP and logs nothing. */
static void test_uring_required_is_notsup(void **state)
{
    tu_fixture *fx = *state;
    log_capture cap = {0};
    pager_env env = {.backend = PAGER_BACKEND_URING, .log = capture_log, .log_ctx = &cap,
                     .test_uring_errno = EPERM};
    pager_file *file = (pager_file *)(uintptr_t)1;
    assert_int_equal(pager_file_open(&env, fx->path, PAGER_OPEN_CREATE, &file), ALEXDB_NOTSUP);
    assert_null(file);
    assert_non_null(strstr(alexdb_errmsg(), fx->path));
    assert_int_equal(cap.count, 0);
}

/* Open descriptors of this process (io_uring rings are descriptors). */
static int fd_count(void)
{
    DIR *dir = opendir("/proc/self/fd");
    assert_non_null(dir);
    int count = 0;
    while (readdir(dir) != NULL) count++;
    closedir(dir);
    return count;
}

typedef struct worker {
    pager_file *file;
    uint32_t index;
    uint32_t rounds;
    pthread_barrier_t *barrier; /* NULL: exit at once */
    int rc;                     /* the first failure, ALEXDB_OK if none */
    uint32_t mismatch_count;    /* pages that read back wrong */
} worker;

/* One batch of the worker's pages: write them with salt, or read them back. */
static int worker_batch(worker *w, uint8_t *buf, uint8_t op, uint64_t salt)
{
    pager_io_req reqs[THREAD_PAGES];
    uint64_t first = (uint64_t)w->index * THREAD_PAGES;
    for (uint32_t i = 0; i < THREAD_PAGES; i++) {
        uint8_t *page = buf + (size_t)i * PAGE;
        if (op == PAGER_IO_WRITE) tu_fill_body(page, first + i, salt);
        else memset(page, 0, PAGE);
        reqs[i] = (pager_io_req){.buf = page, .offset = (first + i) * PAGE, .size = PAGE,
                                 .op = op};
    }
    return pager_file_rw(w->file, reqs, THREAD_PAGES);
}

/* Each round writes the worker's own pages as one batch and reads them back as one. */
static void *worker_main(void *arg)
{
    worker *w = arg;
    uint8_t *buf = NULL;
    /* On failure still meet the barrier, or the other threads would wait forever. */
    if (posix_memalign((void **)&buf, PAGE, THREAD_PAGES * PAGE) != 0) w->rc = ALEXDB_NOMEM;
    uint64_t first = (uint64_t)w->index * THREAD_PAGES;
    for (uint32_t round = 0; round < w->rounds && w->rc == ALEXDB_OK; round++) {
        w->rc = worker_batch(w, buf, PAGER_IO_WRITE, round);
        if (w->rc == ALEXDB_OK) w->rc = worker_batch(w, buf, PAGER_IO_READ, round);
        for (uint32_t i = 0; i < THREAD_PAGES && w->rc == ALEXDB_OK; i++) {
            if (!tu_body_matches(buf + (size_t)i * PAGE, first + i, round)) w->mismatch_count++;
        }
    }
    free(buf);
    if (w->barrier != NULL) {
        pthread_barrier_wait(w->barrier); /* I/O done: the main thread counts rings */
        pthread_barrier_wait(w->barrier); /* counted: exit */
    }
    return NULL;
}

/* 8 threads batching reads and writes through one file at once succeed, each on its own ring. */
static void test_threads_share_one_file(void **state)
{
    tu_fixture *fx = *state;
    pager_file *file = open_uring(fx->path);
    int fds_before = fd_count();
    pthread_barrier_t barrier;
    assert_int_equal(pthread_barrier_init(&barrier, NULL, THREAD_COUNT + 1), 0);
    worker workers[THREAD_COUNT];
    pthread_t threads[THREAD_COUNT];
    for (uint32_t t = 0; t < THREAD_COUNT; t++) {
        workers[t] = (worker){.file = file, .index = t, .rounds = THREAD_ROUNDS,
                              .barrier = &barrier};
        assert_int_equal(pthread_create(&threads[t], NULL, worker_main, &workers[t]), 0);
    }
    pthread_barrier_wait(&barrier);
    int fds_running = fd_count();
    pthread_barrier_wait(&barrier);
    for (uint32_t t = 0; t < THREAD_COUNT; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(workers[t].rc, ALEXDB_OK);
        assert_int_equal(workers[t].mismatch_count, 0);
    }
    pthread_barrier_destroy(&barrier);
    assert_int_equal(fds_running - fds_before, THREAD_COUNT); /* one ring per thread */
    pager_io_stats stats;
    pager_file_stats(file, &stats);
    assert_int_equal(stats.write_count, THREAD_COUNT * THREAD_ROUNDS * THREAD_PAGES);
    assert_int_equal(stats.read_count, THREAD_COUNT * THREAD_ROUNDS * THREAD_PAGES);
    pager_file_close(file);
}

/*
 * A thread that exits releases its ring: 200 short-lived I/O threads leave no
 * descriptors behind. One thread at a time: liburing maps and unmaps rings with raw
 * system calls TSan cannot see, so a new ring placed where an exited but not yet
 * joined thread's ring was would be reported as a race on the same memory.
 */
static void test_thread_exit_releases_ring(void **state)
{
    tu_fixture *fx = *state;
    pager_file *file = open_uring(fx->path);
    int fds_before = fd_count();
    for (uint32_t t = 0; t < EXIT_THREAD_COUNT; t++) {
        worker w = {.file = file, .index = t % THREAD_COUNT, .rounds = 1};
        pthread_t thread;
        assert_int_equal(pthread_create(&thread, NULL, worker_main, &w), 0);
        assert_int_equal(pthread_join(thread, NULL), 0);
        assert_int_equal(w.rc, ALEXDB_OK);
        assert_int_equal(w.mismatch_count, 0);
    }
    int fds_after = fd_count();
    assert_true(fds_after - fds_before < 4);
    pager_io_stats stats;
    pager_file_stats(file, &stats);
    assert_int_equal(stats.read_count, EXIT_THREAD_COUNT * THREAD_PAGES);
    pager_file_close(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auto_falls_back_to_posix, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_direct_refused_opens_buffered, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_direct_by_default, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_direct_other_error_fails, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_uring_required_is_notsup, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_one_file, tu_fixture_setup, tu_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_thread_exit_releases_ring, tu_fixture_setup, tu_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
