/*
 * main.c: alexdb-crashtest, the crash-injection driver (crashtest/README.md). Parses
 * the options, lays out the cycles (chains of one mode on one database, modes drawn in
 * proportion to the cycles left), prints one line per cycle and a summary, and saves
 * the image and the replay command of a failing cycle.
 *
 *   alexdb-crashtest --seed N            the short mixed run CI uses (>= 500 cycles)
 *   alexdb-crashtest --help              every option
 *
 * Exit status: 0 no violation, 1 a violation (image saved), 2 a usage or setup error.
 */
#include "crashtest.h"
#include "wal_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The default short mixed run: 520 cycles. */
static const uint64_t default_cycles[CT_MODE_COUNT] = {50, 250, 110, 110};
static const uint32_t chain_length[CT_MODE_COUNT] = {3, 4, 3, 1};

typedef struct options {
    uint64_t seed;
    bool seed_given;
    int64_t cycles[CT_MODE_COUNT]; /* -1: not given */
    int64_t total;                 /* --cycles */
    int mode;                      /* -1: mixed */
    uint32_t threads;
    const char *dir;
    bool keep_going, keep, plant_skip_sync, verbose;
    bool free_schedule;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: alexdb-crashtest [--seed N] [--mode mixed|kill|powercut|ioerror|corrupt]\n"
            "                        [--cycles N] [--kill-cycles N] [--powercut-cycles N]\n"
            "                        [--ioerror-cycles N] [--corrupt-cycles N] [--threads N]\n"
            "                        [--schedule seeded|free] [--dir DIR] [--keep-going] [--keep]\n"
            "                        [--plant-skip-sync]\n"
            "With no option but --seed: the short mixed run, %" PRIu64 " kill, %" PRIu64 " powercut, %" PRIu64
            " ioerror and %" PRIu64 " corrupt cycles.\n"
            "--cycles N scales that mix to N cycles (or, with --mode, runs N cycles of it).\n"
            "--schedule seeded (default): threads take turns drawn from the seed, kills land on an I/O\n"
            "  the seed names: the same seed repeats every cycle exactly. free: threads run at once and\n"
            "  kill mode kills by time; more interleavings, but a seed repeats only the plan.\n"
            "--dir: where the work directory and saved failures go (default $TMPDIR, else /tmp).\n"
            "--keep-going: go on after a violation (a fresh database); --keep: keep the work directory.\n"
            "--plant-skip-sync: the planted bug: skip the log's fdatasync (powercut must catch it).\n"
            "Exit status: 0 no violation, 1 a violation (image and replay command saved), 2 usage or setup error.\n",
            default_cycles[0], default_cycles[1], default_cycles[2], default_cycles[3]);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0') return false;
    *out = v;
    return true;
}

static int mode_of(const char *s)
{
    for (int m = 0; m < CT_MODE_COUNT; m++) {
        if (strcmp(s, ct_mode_name((ct_mode)m)) == 0) return m;
    }
    return strcmp(s, "mixed") == 0 ? -1 : -2;
}

static int parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof(*o));
    for (int m = 0; m < CT_MODE_COUNT; m++) o->cycles[m] = -1;
    o->total = -1;
    o->mode = -1;
    o->threads = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        bool takes = true;
        if (strcmp(a, "--keep-going") == 0) o->keep_going = true, takes = false;
        else if (strcmp(a, "--keep") == 0) o->keep = true, takes = false;
        else if (strcmp(a, "--plant-skip-sync") == 0) o->plant_skip_sync = true, takes = false;
        else if (strcmp(a, "--verbose") == 0) o->verbose = true, takes = false;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (!takes) continue;
        if (v == NULL) {
            fprintf(stderr, "alexdb-crashtest: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--dir") == 0) {
            o->dir = v;
            continue;
        }
        if (strcmp(a, "--schedule") == 0) {
            if (strcmp(v, "seeded") != 0 && strcmp(v, "free") != 0) {
                return fprintf(stderr, "alexdb-crashtest: unknown schedule %s\n", v), -1;
            }
            o->free_schedule = strcmp(v, "free") == 0;
            continue;
        }
        if (strcmp(a, "--mode") == 0) {
            o->mode = mode_of(v);
            if (o->mode == -2) return fprintf(stderr, "alexdb-crashtest: unknown mode %s\n", v), -1;
            continue;
        }
        if (!parse_u64(v, &n)) return fprintf(stderr, "alexdb-crashtest: %s: not a number: %s\n", a, v), -1;
        if (strcmp(a, "--seed") == 0) o->seed = n, o->seed_given = true;
        else if (strcmp(a, "--cycles") == 0) o->total = (int64_t)n;
        else if (strcmp(a, "--threads") == 0 && n >= 1 && n <= CT_THREAD_COUNT_MAX) o->threads = (uint32_t)n;
        else if (strcmp(a, "--kill-cycles") == 0) o->cycles[CT_MODE_KILL] = (int64_t)n;
        else if (strcmp(a, "--powercut-cycles") == 0) o->cycles[CT_MODE_POWERCUT] = (int64_t)n;
        else if (strcmp(a, "--ioerror-cycles") == 0) o->cycles[CT_MODE_IOERROR] = (int64_t)n;
        else if (strcmp(a, "--corrupt-cycles") == 0) o->cycles[CT_MODE_CORRUPT] = (int64_t)n;
        else return fprintf(stderr, "alexdb-crashtest: unknown option %s\n", a), -1;
    }
    return 0;
}

/* How many cycles of each mode: explicit counts win; else the mix, scaled by --cycles. */
static void plan(const options *o, uint64_t counts[CT_MODE_COUNT])
{
    bool any_explicit = false;
    for (int m = 0; m < CT_MODE_COUNT; m++) any_explicit |= o->cycles[m] >= 0;
    uint64_t sum = 0;
    for (int m = 0; m < CT_MODE_COUNT; m++) sum += default_cycles[m];
    for (int m = 0; m < CT_MODE_COUNT; m++) {
        if (any_explicit) {
            counts[m] = o->cycles[m] >= 0 ? (uint64_t)o->cycles[m] : 0;
        } else if (o->mode >= 0) {
            counts[m] = m == o->mode ? (o->total >= 0 ? (uint64_t)o->total : 100) : 0;
        } else if (o->total >= 0) {
            counts[m] = ((uint64_t)o->total * default_cycles[m] + sum / 2) / sum;
        } else {
            counts[m] = default_cycles[m];
        }
    }
}

/* ---- Failures ------------------------------------------------------------------------ */

static void save_failure(const ct_run *run, const ct_chain *chain, const ct_cycle *cycle, const options *o,
                         int argc, char **argv)
{
    char name[96];
    snprintf(name, sizeof(name), "alexdb-crashtest-fail-%" PRIu64 "-%" PRIu64, run->seed, cycle->number);
    char *dest = ct_path(o->dir, name);
    char *image = ct_path(dest, "image");
    char *recovered = ct_path(dest, "recovered");
    char *readme = ct_path(dest, "REPLAY.txt");
    ct_rmrf(dest);
    bool ok = ct_mkdir(dest) == ALEXDB_OK && ct_copy_dir(chain->image_dir, image) == ALEXDB_OK &&
              ct_copy_dir(chain->db_dir, recovered) == ALEXDB_OK;
    FILE *f = fopen(readme, "w");
    printf("VIOLATION in cycle %" PRIu64 " (%s, cycle seed %#" PRIx64 "): %s\n", cycle->number,
           ct_mode_name(chain->mode), cycle->seed, cycle->problem[0] ? cycle->problem : cycle->verify.problem);
    printf("  replay:");
    for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
    if (!o->seed_given) printf(" --seed %" PRIu64, run->seed);
    printf("\n  image before recovery: %s%s\n  expected state: %s (not kept)\n", image, ok ? "" : " (copy failed)",
           chain->exp_path);
    if (f != NULL) {
        fprintf(f, "cycle %" PRIu64 " mode %s cycle-seed %#" PRIx64 "\nproblem: %s\nreplay:", cycle->number,
                ct_mode_name(chain->mode), cycle->seed, cycle->problem[0] ? cycle->problem : cycle->verify.problem);
        for (int i = 0; i < argc; i++) fprintf(f, " %s", argv[i]);
        if (!o->seed_given) fprintf(f, " --seed %" PRIu64, run->seed);
        fprintf(f, "\nimage/: the database as the crash left it; recovered/: after the verifying open\n");
        fclose(f);
    }
    free(dest);
    free(image);
    free(recovered);
    free(readme);
}

/* ---- Cycles ---------------------------------------------------------------------------- */

static void add_totals(ct_run *run, const ct_cycle *c)
{
    const ct_verify_result *v = &c->verify;
    run->acked += c->acked;
    run->lost += v->lost;
    run->resurrected += v->resurrected;
    run->wrong += v->wrong;
    run->holes += v->holes;
    run->torn_batches += v->torn_batches;
    run->read_errors += v->read_errors;
    run->check_failed += v->check_failed;
    run->other += c->other_violations;
    run->unsynced_dropped += v->unsynced_dropped;
    run->pending_present += v->pending_present;
    run->pending_absent += v->pending_absent;
}

static void print_cycle(const ct_chain *chain, const ct_cycle *c, uint64_t total, bool bad)
{
    const ct_verify_result *v = &c->verify;
    printf("cycle %4" PRIu64 "/%" PRIu64 " %-8s seed=%016" PRIx64 " thr=%u sync=%d acked=%-5" PRIu64
           " present=%-5" PRIu64 " pending+/-=%" PRIu64 "/%" PRIu64 " unsynced-gone=%-3" PRIu64
           " state=%08" PRIx64 " recovery=%.1fms time=%.0fms %s %s\n",
           c->number, total, ct_mode_name(chain->mode), c->seed, chain->thread_count, chain->sync, c->acked,
           v->present, v->pending_present, v->pending_absent, v->unsynced_dropped, v->digest >> 32,
           (double)c->recovery_ns / 1e6, (double)c->time_ns / 1e6, c->detail, bad ? "VIOLATION" : "ok");
    if (bad) {
        printf("    lost=%" PRIu64 " resurrected=%" PRIu64 " wrong=%" PRIu64 " holes=%" PRIu64 " torn-batches=%" PRIu64
               " read-errors=%" PRIu64 " check=%" PRIu64 " other=%" PRIu64 ": %s\n",
               v->lost, v->resurrected, v->wrong, v->holes, v->torn_batches, v->read_errors, v->check_failed,
               c->other_violations, c->problem[0] ? c->problem : v->problem);
    }
    fflush(stdout);
}

static int run_cycle(ct_chain *chain, ct_cycle *c)
{
    switch (chain->mode) {
    case CT_MODE_KILL: return ct_cycle_kill(chain, c);
    case CT_MODE_POWERCUT: return ct_cycle_powercut(chain, c);
    case CT_MODE_IOERROR: return ct_cycle_ioerror(chain, c);
    default: return ct_cycle_corrupt(chain, c);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(const ct_run *run, double p)
{
    if (run->recovery_count == 0) return 0;
    size_t i = (size_t)(p * (double)(run->recovery_count - 1) + 0.5);
    return (double)run->recovery_ns[i] / 1e6;
}

static void summary(ct_run *run, uint64_t total, double seconds)
{
    qsort(run->recovery_ns, run->recovery_count, sizeof(uint64_t), cmp_u64);
    uint64_t done = 0;
    for (int m = 0; m < CT_MODE_COUNT; m++) done += run->cycles[m];
    printf("\nsummary: seed %" PRIu64 ", %" PRIu64 " of %" PRIu64 " cycles in %.1f s: kill %" PRIu64 ", powercut %" PRIu64
           ", ioerror %" PRIu64 ", corrupt %" PRIu64 "\n",
           run->seed, done, total, seconds, run->cycles[0], run->cycles[1], run->cycles[2], run->cycles[3]);
    printf("  operations acknowledged %" PRIu64 ", lost %" PRIu64 ", resurrected %" PRIu64 ", wrong values %" PRIu64
           ", holes %" PRIu64 ", torn batches %" PRIu64 ", read errors %" PRIu64 ", failed checks %" PRIu64
           ", other %" PRIu64 "\n",
           run->acked, run->lost, run->resurrected, run->wrong, run->holes, run->torn_batches, run->read_errors,
           run->check_failed, run->other);
    printf("  allowed: unsynced ops gone %" PRIu64 ", pending found %" PRIu64 "/absent %" PRIu64
           ", recovery cuts %" PRIu64 ", injected I/O faults %" PRIu64 ", corruption reported cleanly %" PRIu64 "\n",
           run->unsynced_dropped, run->pending_present, run->pending_absent, run->recovery_cuts, run->injected_faults,
           run->clean_errors);
    printf("  recovery time p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu recoveries)\n", percentile_ms(run, 0.5),
           percentile_ms(run, 0.99), percentile_ms(run, 1.0), run->recovery_count);
    printf("result: %s (%" PRIu64 " cycles with violations)\n", run->violation_cycles ? "FAIL" : "PASS",
           run->violation_cycles);
}

/* Runs every cycle; returns 0, 1 (violations) or 2 (setup error). */
static int run_all(ct_run *run, const options *o, const uint64_t counts[CT_MODE_COUNT], int argc, char **argv)
{
    uint64_t left[CT_MODE_COUNT], total = 0, number = 0;
    for (int m = 0; m < CT_MODE_COUNT; m++) total += left[m] = counts[m];
    common_rng rng;
    common_rng_seed(&rng, run->seed);
    uint64_t t0 = common_now_ns();
    int status = 0;
    for (uint64_t chain_no = 0; number < total && status != 2; chain_no++) {
        uint64_t sum = 0, r = common_rng_below(&rng, total - number);
        ct_mode mode = CT_MODE_KILL;
        for (int m = 0; m < CT_MODE_COUNT; m++) {
            sum += left[m];
            if (r < sum) {
                mode = (ct_mode)m;
                break;
            }
        }
        ct_chain chain;
        if (ct_chain_start(run, &chain, mode, ct_mix(run->seed ^ (chain_no << 32) ^ 0xC4A1)) != ALEXDB_OK) {
            fprintf(stderr, "alexdb-crashtest: setting up a database: %s\n", alexdb_errmsg());
            ct_chain_end(&chain);
            return 2;
        }
        uint32_t length = (uint32_t)COMMON_MIN((uint64_t)chain_length[mode], left[mode]);
        for (uint32_t i = 0; i < length; i++) {
            ct_cycle c;
            memset(&c, 0, sizeof(c));
            c.number = ++number;
            c.seed = ct_mix(run->seed + c.number * UINT64_C(0x9E3779B97F4A7C15));
            left[mode]--;
            run->cycles[mode]++;
            uint64_t cycle_t0 = common_now_ns();
            int cycle_rc = run_cycle(&chain, &c);
            c.time_ns = common_now_ns() - cycle_t0;
            if (cycle_rc != ALEXDB_OK) {
                fprintf(stderr, "alexdb-crashtest: cycle %" PRIu64 ": setup error: %s\n", c.number, alexdb_errmsg());
                status = 2;
                break;
            }
            bool bad = ct_verify_violations(&c.verify) + c.other_violations > 0;
            add_totals(run, &c);
            print_cycle(&chain, &c, total, bad);
            if (bad) {
                run->violation_cycles++;
                save_failure(run, &chain, &c, o, argc, argv);
                status = 1;
                break; /* the expected state is not resolved: this database is done */
            }
        }
        ct_chain_end(&chain);
        if (status == 1 && !o->keep_going) break;
    }
    summary(run, total, (double)(common_now_ns() - t0) / 1e9);
    return status;
}

int main(int argc, char **argv)
{
    options o;
    if (parse(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if (!o.seed_given) o.seed = common_now_ns() ^ ((uint64_t)getpid() << 32);
    if (o.dir == NULL) o.dir = getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] != '\0' ? getenv("TMPDIR") : "/tmp";
    wal_test_skip_sync = o.plant_skip_sync;
    uint64_t counts[CT_MODE_COUNT];
    plan(&o, counts);
    ct_run run;
    memset(&run, 0, sizeof(run));
    run.seed = o.seed;
    run.thread_max = o.threads;
    run.keep_going = o.keep_going;
    run.verbose = o.verbose;
    run.seeded = !o.free_schedule;
    run.recovery_io_guess = 40;
    char name[96];
    snprintf(name, sizeof(name), "alexdb-crashtest-%d-%" PRIu64, (int)getpid(), o.seed);
    run.work_dir = ct_path(o.dir, name);
    if (ct_mkdir(run.work_dir) != ALEXDB_OK) {
        fprintf(stderr, "alexdb-crashtest: %s\n", alexdb_errmsg());
        return 2;
    }
    printf("alexdb-crashtest: seed %" PRIu64 ", %s schedule%s, work directory %s\n", o.seed,
           run.seeded ? "seeded" : "free", o.plant_skip_sync ? ", PLANTED BUG: the log's fdatasync is skipped" : "",
           run.work_dir);
    int status = run_all(&run, &o, counts, argc, argv);
    if (!o.keep) ct_rmrf(run.work_dir);
    free(run.work_dir);
    free(run.recovery_ns);
    return status;
}
