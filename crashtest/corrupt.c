/*
 * corrupt.c: one cycle of corrupt mode. A database is written (one thread, sync
 * writes), closed cleanly or abandoned (so its log holds records), then damaged while
 * closed: bits flipped, a range zeroed or overwritten with garbage, a file truncated,
 * two pages swapped, in the page file, its double-write file or a log segment. A child
 * process then opens it and reads every key, scans and runs alexdb_check. The engine
 * must answer ALEXDB_CORRUPT (or NOTDB / VERSION at open) or the right data: never a
 * crash, a hang, a wrong value (C10). A child that dies by a signal or outlives
 * CT_CORRUPT_TIMEOUT_S is a violation.
 *
 * What "the right data" is: with only the page file or double-write file damaged, the
 * log still holds every acknowledged record the checkpoint does not, so every
 * acknowledged write must be there. Damage to the log's tail is indistinguishable from
 * a torn write (docs/FORMAT.md 9.5 rule 6: a log has no durable end marker), so with
 * the log damaged the recovered state must still be a prefix of the acknowledged order
 * (C6), but may end early; the records cut off are counted, not failed.
 */
#include "crashtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CT_CORRUPT_TIMEOUT_S 120u
#define CT_DAMAGE_COUNT_MAX 3u

typedef struct corrupt_shared {
    int open_rc;
    int done;
    ct_verify_result res;
    char message[512];
} corrupt_shared;

/* The files of the closed database: [0] the page file, then the rest. */
typedef struct db_files {
    char *names[64];
    uint32_t count;
} db_files;

static void list_files(const char *dir, db_files *files)
{
    files->count = 0;
    files->names[files->count++] = strdup("alexdb.data");
    DIR *d = opendir(dir);
    if (d == NULL) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && files->count < COMMON_ARRAY_COUNT(files->names)) {
        if (strncmp(e->d_name, "wal-", 4) == 0 || strcmp(e->d_name, "alexdb.data.dwb") == 0) {
            files->names[files->count++] = strdup(e->d_name);
        }
    }
    closedir(d);
}

static void free_files(db_files *files)
{
    for (uint32_t i = 0; i < files->count; i++) free(files->names[i]);
    files->count = 0;
}

/* One past the last nonzero byte: where the file's content ends. */
static uint64_t used_end(int fd, uint64_t size)
{
    static uint8_t buf[1u << 16];
    uint64_t end = 0;
    for (uint64_t off = 0; off < size; off += sizeof(buf)) {
        ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);
        if (n <= 0) break;
        for (ssize_t i = n; i > 0; i--) {
            if (buf[i - 1] != 0) {
                end = off + (uint64_t)i;
                break;
            }
        }
    }
    return end;
}

static int write_at(int fd, const uint8_t *buf, size_t size, uint64_t off)
{
    return pwrite(fd, buf, size, (off_t)off) == (ssize_t)size ? 0 : -1;
}

/* Applies one random damage to path; describes it in desc. */
static int damage(const char *path, const char *name, common_rng *rng, char *desc, size_t desc_size)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return common_error(ALEXDB_IO, "open %s: %s", path, strerror(errno));
    uint64_t size = (uint64_t)lseek(fd, 0, SEEK_END);
    uint64_t end = used_end(fd, size);
    uint64_t range = common_rng_below(rng, 10) < 7 && end > 0 ? end : COMMON_MAX(size, (uint64_t)1);
    uint64_t off = common_rng_below(rng, range);
    uint8_t buf[16384];
    int err = 0;
    errno = 0;
    switch (common_rng_below(rng, 5)) {
    case 0: { /* flip 1..8 bits in a 512-byte window */
        uint32_t bits = 1 + (uint32_t)common_rng_below(rng, 8);
        for (uint32_t i = 0; i < bits && size > 0 && err == 0; i++) {
            uint64_t at = off + common_rng_below(rng, 512); /* COMMON_MIN evaluates twice */
            at = COMMON_MIN(at, size - 1);
            uint8_t b = 0;
            err = pread(fd, &b, 1, (off_t)at) == 1 ? 0 : -1;
            b ^= (uint8_t)(1u << common_rng_below(rng, 8));
            if (err == 0) err = write_at(fd, &b, 1, at);
        }
        snprintf(desc, desc_size, "%s: %u bits flipped at %" PRIu64, name, bits, off);
        break;
    }
    case 1: { /* zero a range */
        size_t len = 1 + (size_t)common_rng_below(rng, sizeof(buf));
        len = (size_t)COMMON_MIN((uint64_t)len, size > off ? size - off : 0);
        memset(buf, 0, sizeof(buf));
        err = write_at(fd, buf, len, off);
        snprintf(desc, desc_size, "%s: %zu bytes zeroed at %" PRIu64, name, len, off);
        break;
    }
    case 2: { /* garbage over a range */
        size_t len = 1 + (size_t)common_rng_below(rng, 4096);
        len = (size_t)COMMON_MIN((uint64_t)len, size > off ? size - off : 0);
        for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)common_rng_next(rng);
        err = write_at(fd, buf, len, off);
        snprintf(desc, desc_size, "%s: %zu garbage bytes at %" PRIu64, name, len, off);
        break;
    }
    case 3: { /* truncate */
        uint64_t to = common_rng_below(rng, 2) == 0 ? off / PAGER_PAGE_SIZE * PAGER_PAGE_SIZE : off;
        err = ftruncate(fd, (off_t)to);
        snprintf(desc, desc_size, "%s: truncated to %" PRIu64 " of %" PRIu64, name, to, size);
        break;
    }
    default: { /* swap two pages */
        uint64_t pages = size / PAGER_PAGE_SIZE;
        if (pages < 2) {
            snprintf(desc, desc_size, "%s: too small to swap pages", name);
            break;
        }
        uint64_t a = common_rng_below(rng, COMMON_MAX(end / PAGER_PAGE_SIZE, (uint64_t)1));
        uint64_t b = common_rng_below(rng, pages);
        if (a == b) b = (a + 1) % pages;
        err = pread(fd, buf, PAGER_PAGE_SIZE, (off_t)(a * PAGER_PAGE_SIZE)) == PAGER_PAGE_SIZE &&
                      pread(fd, buf + PAGER_PAGE_SIZE, PAGER_PAGE_SIZE, (off_t)(b * PAGER_PAGE_SIZE)) == PAGER_PAGE_SIZE
                  ? 0 : -1;
        if (err == 0) err = write_at(fd, buf, PAGER_PAGE_SIZE, b * PAGER_PAGE_SIZE);
        if (err == 0) err = write_at(fd, buf + PAGER_PAGE_SIZE, PAGER_PAGE_SIZE, a * PAGER_PAGE_SIZE);
        snprintf(desc, desc_size, "%s: pages %" PRIu64 " and %" PRIu64 " swapped", name, a, b);
        break;
    }
    }
    int saved_errno = errno;
    close(fd);
    if (err != 0) {
        /* A damage that could not be applied whole is still a damage: say so, go on. */
        size_t len = strlen(desc);
        snprintf(desc + len, desc_size - len, " (incomplete: %s, size %" PRIu64 ")",
                 saved_errno != 0 ? strerror(saved_errno) : "short transfer", size);
    }
    return ALEXDB_OK;
}

/* The child: open, verify, close. Everything it finds goes to shared. */
static void corrupt_child(ct_chain *chain, corrupt_shared *shared, unsigned flags)
{
    alarm(CT_CORRUPT_TIMEOUT_S + 10);
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.cache_bytes = chain->cache_bytes;
    opts.io_backend = ALEXDB_IO_POSIX;
    opts.sync_interval_ms = 0;
    alexdb *db = NULL;
    shared->open_rc = alexdb_open(chain->db_dir, &opts, &db);
    snprintf(shared->message, sizeof(shared->message), "%s", alexdb_errmsg());
    if (shared->open_rc == ALEXDB_OK) {
        if (ct_verify(db, &chain->exp, flags, &shared->res, NULL) != ALEXDB_OK) _exit(4);
        (void)alexdb_close(db);
    }
    shared->done = 1;
    _exit(0);
}

static void judge_child(ct_cycle *cycle, pid_t pid, corrupt_shared *shared)
{
    int status = 0;
    bool exited = false;
    for (uint64_t ms = 0; ms < CT_CORRUPT_TIMEOUT_S * 1000u && !exited; ms++) {
        exited = waitpid(pid, &status, WNOHANG) == pid;
        if (!exited) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
            nanosleep(&ts, NULL);
        }
    }
    if (!exited) {
        kill(pid, SIGKILL);
        (void)waitpid(pid, &status, 0);
        ct_cycle_problem(cycle, "hang: no answer in %u s", CT_CORRUPT_TIMEOUT_S);
        return;
    }
    if (WIFSIGNALED(status)) {
        ct_cycle_problem(cycle, "crash: the reader died by signal %d", WTERMSIG(status));
        return;
    }
    if (WEXITSTATUS(status) != 0 || !shared->done) {
        ct_cycle_problem(cycle, "the reader exited with %d (sanitizer report or failed assertion?)",
                         WEXITSTATUS(status));
        return;
    }
    int rc = shared->open_rc;
    if (rc != ALEXDB_OK && rc != ALEXDB_CORRUPT && rc != ALEXDB_NOTDB && rc != ALEXDB_VERSION) {
        ct_cycle_problem(cycle, "open answered %s, not a corruption code: %s", alexdb_strerror(rc), shared->message);
    }
    cycle->verify = shared->res;
}

int ct_cycle_corrupt(ct_chain *chain, ct_cycle *cycle)
{
    common_rng rng;
    common_rng_seed(&rng, cycle->seed);
    alexdb *db = NULL;
    int rc = ct_open(chain, NULL, 1, &db);
    if (rc != ALEXDB_OK) return rc;
    ct_workload w = {.db = db, .exp = &chain->exp, .thread_count = 1, .sync = 1, .seed = cycle->seed,
                     .op_budget = 50 + common_rng_below(&rng, 200), .seeded = chain->run->seeded};
    rc = ct_workload_run(&w);
    bool abandon = common_rng_below(&rng, 2) == 0;
    if (abandon) api_abandon(db);
    else if (alexdb_close(db) != ALEXDB_OK) ct_cycle_problem(cycle, "clean close failed: %s", alexdb_errmsg());
    if (rc != ALEXDB_OK || atomic_load(&w.write_errors) > 0) {
        ct_cycle_problem(cycle, "the workload failed without a fault: %s", alexdb_strerror(atomic_load(&w.first_error)));
    }
    cycle->acked = atomic_load(&chain->exp.hdr->acked_count);
    db_files files;
    list_files(chain->db_dir, &files);
    uint32_t count = 1 + (uint32_t)common_rng_below(&rng, CT_DAMAGE_COUNT_MAX);
    unsigned flags = CT_VERIFY_ERRORS_OK;
    int n = snprintf(cycle->detail, sizeof(cycle->detail), "%s:", abandon ? "abandoned" : "closed");
    for (uint32_t i = 0; i < count && rc == ALEXDB_OK; i++) {
        uint64_t r = common_rng_below(&rng, 100);
        uint32_t f = r < 50 || files.count == 1 ? 0 : 1 + (uint32_t)common_rng_below(&rng, files.count - 1);
        if (strncmp(files.names[f], "wal-", 4) == 0) flags |= CT_VERIFY_NO_DURABILITY;
        char *path = ct_path(chain->db_dir, files.names[f]);
        char desc[160];
        rc = damage(path, files.names[f], &rng, desc, sizeof(desc));
        free(path);
        if (n >= 0 && (size_t)n < sizeof(cycle->detail)) {
            n += snprintf(cycle->detail + n, sizeof(cycle->detail) - (size_t)n, " [%s]", desc);
        }
    }
    free_files(&files);
    if (rc != ALEXDB_OK) return rc;
    rc = ct_copy_dir(chain->db_dir, chain->image_dir);
    if (rc != ALEXDB_OK) return rc;
    corrupt_shared *shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return common_error(ALEXDB_NOMEM, "mmap: %s", strerror(errno));
    memset(shared, 0, sizeof(*shared));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        munmap(shared, sizeof(*shared));
        return common_error(ALEXDB_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) corrupt_child(chain, shared, flags);
    judge_child(cycle, pid, shared);
    chain->run->clean_errors += shared->res.clean_errors + (shared->open_rc != ALEXDB_OK);
    n = (int)strlen(cycle->detail);
    snprintf(cycle->detail + n, sizeof(cycle->detail) - (size_t)n, " -> %s",
             shared->open_rc == ALEXDB_OK ? (shared->res.clean_errors ? "CORRUPT on reads" : "data intact")
                                          : alexdb_strerror(shared->open_rc));
    munmap(shared, sizeof(*shared));
    return ALEXDB_OK;
}
