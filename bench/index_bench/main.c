/*
 * main.c: alexdb-index-bench, the measurement program of issue 3 (the learned index on
 * 4 KiB leaf pages). It measures, through the public API only, the figures the issue
 * sets against the peers measured on this machine (ANCHORS 2): sorted bulk load,
 * random-order fill with sync off, warm uniform point reads, 100-key scans, and cold
 * point reads with a small cache against raw io_uring reads of the same file at the
 * same concurrency; then the index's memory per leaf page. It prints db_bench-style
 * lines and a final table of figure against target.
 *
 * This file holds the errors, the clock, the order of the phases and the exit status:
 * 0 when the run completed (a missed target is reported, not an error), 1 on any error
 * or a wrong value read back, 2 on a bad option. The phases are in warm.c and cold.c.
 *
 * Entry point: main(). How to run it and what each figure means: bench/README.md.
 */
#include "index_bench.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

void index_bench_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, IB_NAME ": assertion failed: %s (%s:%d)\n", cond, file, line);
    abort();
}

int index_bench_fail(const char *what, int rc)
{
    IB_ASSERT(rc != ALEXDB_OK);
    fprintf(stderr, IB_NAME ": error: %s: %s (%s)\n", what, alexdb_strerror(rc), alexdb_errmsg());
    return rc;
}

int index_bench_errorf(int rc, const char *fmt, ...)
{
    IB_ASSERT(rc != ALEXDB_OK);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, IB_NAME ": error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return rc;
}

uint64_t index_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

double index_bench_seconds_since(uint64_t start_ns)
{
    return (double)(index_bench_now_ns() - start_ns) / 1e9;
}

/* Only regular files one level down: a database directory holds nothing else. */
int index_bench_remove_db_dir(const char *path)
{
    DIR *dir = opendir(path);
    if (dir == NULL) {
        if (errno == ENOENT) return ALEXDB_OK;
        return index_bench_errorf(ALEXDB_IO, "opendir %s: %s", path, strerror(errno));
    }
    int rc = ALEXDB_OK;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
        char file[IB_PATH_SIZE_MAX];
        if (snprintf(file, sizeof(file), "%s/%s", path, entry->d_name) >= (int)sizeof(file) ||
            unlink(file) != 0) {
            rc = index_bench_errorf(ALEXDB_IO, "cannot remove %s/%s: %s", path, entry->d_name,
                                    strerror(errno));
            break;
        }
    }
    closedir(dir);
    if (rc == ALEXDB_OK && rmdir(path) != 0 && errno != ENOENT)
        rc = index_bench_errorf(ALEXDB_IO, "rmdir %s: %s", path, strerror(errno));
    return rc;
}

static void print_machine(const ib_bench *b)
{
    struct utsname un;
    if (uname(&un) != 0) snprintf(un.release, sizeof(un.release), "?");
    printf("machine: Linux %s, %ld cpus; alexdb backend and O_DIRECT are reported per phase\n",
           un.release, sysconf(_SC_NPROCESSORS_ONLN));
    if (b->opt.quick) {
        printf("note: --quick is a smoke run; its figures are not comparable with the targets\n");
    }
}

static int bench_run(ib_bench *b)
{
    if (mkdir(b->opt.dir, 0755) != 0 && errno != EEXIST)
        return index_bench_errorf(ALEXDB_IO, "mkdir %s: %s", b->opt.dir, strerror(errno));
    int rc = index_bench_warm_run(b);
    if (rc == ALEXDB_OK && (b->opt.phases & IB_PHASE_COLD)) rc = index_bench_cold_run(b);
    if (rc == ALEXDB_OK && (b->opt.phases & IB_PHASE_DURABLE)) rc = index_bench_durable_run(b);
    if (rc == ALEXDB_OK && (b->opt.phases & IB_PHASE_RECOVER)) rc = index_bench_recover_run(b);
    if (rc == ALEXDB_OK) {
        index_bench_report_table(b);
        printf("done in %.1f s\n", index_bench_seconds_since(b->start_ns));
    }
    return rc;
}

int main(int argc, char **argv)
{
    ib_bench *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        fprintf(stderr, IB_NAME ": out of memory\n");
        return 1;
    }
    int exit_code = index_bench_parse_args(argc, argv, &b->opt);
    if (exit_code != 0) {
        free(b);
        return exit_code == 1 ? 0 : exit_code;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines appear as phases finish, even into a pipe */
    b->start_ns = index_bench_now_ns();
    index_bench_print_command(stdout, &b->opt);
    print_machine(b);
    int rc = bench_run(b);
    index_bench_cold_free(b);
    free(b);
    return rc == ALEXDB_OK ? 0 : 1;
}
